//! Playing the suite and judging each test: status, expected and
//! unexpected rule ids, log regexes, response content; then the per-rule
//! failure list and the closing `N passed, N failed, N skipped` line.

use std::collections::BTreeMap;

use crate::ftw::{build_request, Case, Output};
use crate::overrides::OverridesFile;

/// What playing one stage showed.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The status the client got, if it got an answer.
    pub status: Option<u16>,
    /// The request failed at the HTTP layer (no answer, or refused).
    pub error: Option<String>,
    /// Log lines of this request, ModSecurity-style.
    pub log: Vec<String>,
    /// Ids of the rules that matched and report.
    pub rule_ids: Vec<u32>,
    /// The response as the client saw it.
    pub response: Vec<u8>,
}

/// Something that can play raw requests.
pub trait Player {
    fn play(&self, raw: &[u8]) -> Observed;
}

/// ModSecurity-style log lines for a transaction's reported matches.
pub fn log_lines(tx: &seclang::Transaction) -> Vec<String> {
    tx.matches()
        .iter()
        .filter(|m| m.logged)
        .map(|m| format_line(m.id, &m.msg, &m.logdata, m.severity, &m.tags))
        .collect()
}

/// One line in ModSecurity's error-log format.
pub fn format_line(
    id: u32,
    msg: &str,
    data: &str,
    severity: Option<u8>,
    tags: &[String],
) -> String {
    const SEV: [&str; 8] = [
        "EMERGENCY",
        "ALERT",
        "CRITICAL",
        "ERROR",
        "WARNING",
        "NOTICE",
        "INFO",
        "DEBUG",
    ];
    let mut line = format!(
        "ModSecurity: Warning. [id \"{id}\"] [msg \"{}\"] [data \"{}\"]",
        log_escape(msg),
        log_escape(data)
    );
    if let Some(s) = severity {
        line.push_str(&format!(" [severity \"{}\"]", SEV[s.min(7) as usize]));
    }
    for t in tags {
        line.push_str(&format!(" [tag \"{t}\"]"));
    }
    line
}

/// Escapes a value the way ModSecurity writes it to its error log:
/// control and non-ASCII bytes as `\xHH`, quotes and backslashes escaped.
pub fn log_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

/// Why a test failed, if it did.
pub fn judge(output: &Output, seen: &Observed) -> Result<(), String> {
    let mut problems = Vec::new();
    if output.expect_error == Some(true) {
        if seen.error.is_none() {
            problems.push("expected an HTTP-level error".to_string());
        }
        // go-ftw still checks the log when an error is expected.
    } else if let Some(status) = &output.status {
        match seen.status {
            Some(s) if status.accepts(s) => {}
            other => problems.push(format!("status {other:?}, expected {status:?}")),
        }
    }
    let log_text = seen.log.join("\n");
    if let Some(log) = &output.log {
        for id in &log.expect_ids {
            if !seen.rule_ids.contains(id) {
                problems.push(format!("rule {id} did not match"));
            }
        }
        for id in &log.no_expect_ids {
            if seen.rule_ids.contains(id) {
                problems.push(format!("rule {id} matched"));
            }
        }
        if let Some(re) = &log.match_regex {
            match regex::Regex::new(re) {
                Ok(r) if r.is_match(&log_text) => {}
                Ok(_) => problems.push(format!("log does not match /{re}/")),
                Err(e) => problems.push(format!("bad regex in test: {e}")),
            }
        }
        if let Some(re) = &log.no_match_regex {
            if regex::Regex::new(re).is_ok_and(|r| r.is_match(&log_text)) {
                problems.push(format!("log matches /{re}/"));
            }
        }
    }
    if let Some(s) = &output.log_contains {
        if !regex::Regex::new(s).is_ok_and(|r| r.is_match(&log_text)) {
            problems.push(format!("log does not contain /{s}/"));
        }
    }
    if let Some(s) = &output.no_log_contains {
        if regex::Regex::new(s).is_ok_and(|r| r.is_match(&log_text)) {
            problems.push(format!("log contains /{s}/"));
        }
    }
    if let Some(s) = &output.response_contains {
        if !String::from_utf8_lossy(&seen.response).contains(s.as_str()) {
            problems.push(format!("response does not contain {s:?}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        let got = match (&seen.status, &seen.error) {
            (_, Some(e)) => format!("error: {e}"),
            (Some(s), None) => format!("status {s}"),
            (None, None) => "no answer".to_string(),
        };
        Err(format!(
            "{} (matched: {:?}; {got})",
            problems.join("; "),
            seen.rule_ids
        ))
    }
}

/// The outcome of a whole run.
#[derive(Debug, Default)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// rule id → (test id, why) for each failure.
    pub failures: BTreeMap<u32, Vec<(u32, String)>>,
}

impl Summary {
    pub fn pass_rate(&self) -> f64 {
        let run = self.passed + self.failed;
        if run == 0 {
            0.0
        } else {
            self.passed as f64 / run as f64
        }
    }

    /// Per-rule failures and the closing line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (rule, fails) in &self.failures {
            for (test, why) in fails {
                out.push_str(&format!("FAIL {rule}-{test}: {why}\n"));
            }
        }
        out.push_str(&format!(
            "{} passed, {} failed, {} skipped ({:.2}% of run tests pass)\n",
            self.passed,
            self.failed,
            self.skipped,
            self.pass_rate() * 100.0
        ));
        out
    }
}

/// Plays every case; `filter` keeps cases by rule id.
pub fn run(
    cases: &[Case],
    player: &dyn Player,
    overrides: &OverridesFile,
    filter: &dyn Fn(u32) -> bool,
) -> Summary {
    let mut s = Summary::default();
    for case in cases {
        if !filter(case.rule_id) {
            continue;
        }
        let ov = overrides.find(case.rule_id, case.test.test_id);
        if ov.is_some_and(|o| o.output.is_none()) {
            s.skipped += 1;
            continue;
        }
        let mut result = Ok(());
        for stage in &case.test.stages {
            let output = ov.and_then(|o| o.output.as_ref()).unwrap_or(&stage.output);
            let raw = match build_request(&stage.input) {
                Ok(r) => r,
                Err(e) => {
                    result = Err(format!("cannot build request: {e}"));
                    break;
                }
            };
            let mut seen = player.play(&raw);
            let mut verdict = judge(output, &seen);
            if verdict.is_err() && output.retry_once == Some(true) {
                seen = player.play(&raw);
                verdict = judge(output, &seen);
            }
            if let Err(e) = verdict {
                result = Err(e);
                break;
            }
        }
        match result {
            Ok(()) => s.passed += 1,
            Err(why) => {
                s.failed += 1;
                s.failures
                    .entry(case.rule_id)
                    .or_default()
                    .push((case.test.test_id, why));
            }
        }
    }
    s
}
