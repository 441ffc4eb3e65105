//! Scans over time: a report becomes one `scan.completed` event (the
//! report in its data, with what is new and what was resolved since the
//! previous scan of the same target), and a diff says which findings
//! appeared and which went away. Storing and querying events is the
//! event store's job (`ops`); this module only converts and compares.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::finding::{Finding, Report, Severity};

/// The event kind of a finished scan.
pub const EVENT_KIND: &str = "scan.completed";

/// What changed between two scans of one target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    /// In this scan, not in the previous one.
    pub new: Vec<Finding>,
    /// In the previous scan, gone from this one.
    pub resolved: Vec<Finding>,
}

/// Compares `current` with `previous` (none: every finding is new).
pub fn diff(previous: Option<&Report>, current: &Report) -> Diff {
    let before: HashSet<String> = previous
        .map(|p| p.findings.iter().map(Finding::key).collect())
        .unwrap_or_default();
    let now: HashSet<String> = current.findings.iter().map(Finding::key).collect();
    Diff {
        new: current
            .findings
            .iter()
            .filter(|f| !before.contains(&f.key()))
            .cloned()
            .collect(),
        resolved: previous
            .map(|p| {
                p.findings
                    .iter()
                    .filter(|f| !now.contains(&f.key()))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn event_severity(s: Option<Severity>) -> ops::Severity {
    match s {
        None | Some(Severity::Info) => ops::Severity::Info,
        Some(Severity::Low) => ops::Severity::Notice,
        Some(Severity::Medium) => ops::Severity::Warning,
        Some(Severity::High) => ops::Severity::Error,
        Some(Severity::Critical) => ops::Severity::Critical,
    }
}

/// The event recording a finished scan.
pub fn to_event(report: &Report, diff: &Diff) -> ops::Event {
    let mut e = ops::Event::new(EVENT_KIND, event_severity(report.worst())).message(format!(
        "scan of {}: {} findings ({} new, {} resolved){}",
        report.target,
        report.findings.len(),
        diff.new.len(),
        diff.resolved.len(),
        report
            .headers
            .as_ref()
            .map(|g| format!(", headers {} ({})", g.grade, g.score))
            .unwrap_or_default()
    ));
    e.site = Some(report.target.clone());
    e.data = serde_json::json!({
        "report": report,
        "new": diff.new.iter().map(Finding::key).collect::<Vec<_>>(),
        "resolved": diff.resolved.iter().map(Finding::key).collect::<Vec<_>>(),
    });
    e
}

/// Every event a finished scan produces: `scan.completed`, then one
/// `scan.finding.new` per new finding and one `scan.finding.resolved` per
/// resolved one (what alert rules key on).
pub fn events(report: &Report, diff: &Diff) -> Vec<ops::Event> {
    let mut out = vec![to_event(report, diff)];
    for (kind, list) in [
        ("scan.finding.new", &diff.new),
        ("scan.finding.resolved", &diff.resolved),
    ] {
        for f in list {
            let severity = if kind.ends_with("resolved") {
                ops::Severity::Info
            } else {
                event_severity(Some(f.severity))
            };
            let mut e = ops::Event::new(kind, severity).message(format!(
                "{} {}: {} at {}",
                f.severity, f.id, f.title, f.location
            ));
            e.site = Some(report.target.clone());
            e.data = serde_json::to_value(f).unwrap_or_default();
            out.push(e);
        }
    }
    out
}

/// The report inside a `scan.completed` event.
pub fn from_event(e: &ops::Event) -> Option<Report> {
    if e.kind != EVENT_KIND {
        return None;
    }
    serde_json::from_value(e.data.get("report")?.clone()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(ids: &[&str]) -> Report {
        Report {
            target: "https://shop.example/".into(),
            started: String::new(),
            scanner: String::new(),
            headers: None,
            pages: vec![],
            software: vec![],
            payment_scripts: vec![],
            findings: ids
                .iter()
                .map(|i| Finding::new(*i, Severity::High, *i, "https://shop.example/"))
                .collect(),
        }
    }

    #[test]
    fn diff_names_new_and_resolved() {
        let d = diff(Some(&report(&["a", "b"])), &report(&["b", "c"]));
        assert_eq!(
            d.new.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
            ["c"]
        );
        assert_eq!(
            d.resolved.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
            ["a"]
        );
        let first = diff(None, &report(&["a"]));
        assert_eq!(first.new.len(), 1);
        assert!(first.resolved.is_empty());
    }

    #[test]
    fn event_round_trips() {
        let r = report(&["a"]);
        let e = to_event(&r, &diff(None, &r));
        let back = from_event(&e).unwrap();
        assert_eq!(back.findings, r.findings);
        assert_eq!(e.severity, ops::Severity::Error);
        let all = events(&report(&["b", "c"]), &diff(Some(&r), &report(&["b", "c"])));
        let kinds: Vec<&str> = all.iter().map(|e| e.kind.as_ref()).collect();
        assert_eq!(
            kinds,
            [
                "scan.completed",
                "scan.finding.new",
                "scan.finding.new",
                "scan.finding.resolved"
            ]
        );
    }
}
