//! The JSON audit log: `DATA_DIR/audit.jsonl`, one line per request in which
//! a rule matched and per blocked request (ARCHITECTURE.md contract).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::bus::Sink;
use crate::event::Event;

/// Appends audit lines to a file.
pub struct AuditLog {
    path: PathBuf,
    out: BufWriter<File>,
}

impl AuditLog {
    /// Opens (creating) `path` for appending.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
        })
    }
}

impl Sink for AuditLog {
    fn name(&self) -> &'static str {
        "audit-log"
    }

    fn write(&mut self, batch: &[Event]) -> Result<(), String> {
        for e in batch.iter().filter(|e| e.belongs_in_audit_log()) {
            // Every contract field is present on every line, even when
            // empty (the event itself omits empty fields).
            let mut line = serde_json::to_value(e).map_err(|e| e.to_string())?;
            if let Some(obj) = line.as_object_mut() {
                obj.entry("rules").or_insert_with(|| serde_json::json!([]));
                obj.entry("anomaly_score")
                    .or_insert_with(|| serde_json::json!(0));
            }
            serde_json::to_writer(&mut self.out, &line).map_err(|e| e.to_string())?;
            self.out
                .write_all(b"\n")
                .map_err(|e| format!("{}: {e}", self.path.display()))?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        self.out
            .flush()
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Action, Severity};
    use crate::EventBus;

    #[test]
    fn writes_only_matched_or_blocked_requests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let (bus, dispatcher) = EventBus::start(vec![Box::new(AuditLog::open(&path).unwrap())]);
        let mut plain = Event::new("request", Severity::Info);
        plain.request_id = Some("a".into());
        bus.emit(plain);
        let mut matched = Event::new("request", Severity::Warning);
        matched.request_id = Some("b".into());
        matched.rules = vec![942100];
        matched.action = Some(Action::Block);
        matched.status = Some(403);
        matched.anomaly_score = Some(5);
        bus.emit(matched);
        let mut refused = Event::new("request", Severity::Notice);
        refused.request_id = Some("c".into());
        refused.action = Some(Action::Block);
        refused.status = Some(413);
        bus.emit(refused);
        bus.flush();
        drop(bus);
        dispatcher.shutdown();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["request_id"], "b");
        assert_eq!(v["rules"][0], 942100);
        assert_eq!(v["action"], "block");
        assert_eq!(v["status"], 403);
        assert_eq!(v["anomaly_score"], 5);
        assert!(v["time"].as_str().unwrap().contains('T'));
        let v: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(v["rules"], serde_json::json!([]));
        assert_eq!(v["anomaly_score"], 0);
    }
}
