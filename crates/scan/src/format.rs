//! Renders a [`Report`]: text for a terminal, JSON for tools, SARIF 2.1.0
//! for code-scanning dashboards, and a self-contained HTML page for
//! people. Rendering only; nothing here decides what is a finding.

use std::str::FromStr;

use maud::{html, Markup, DOCTYPE};
use serde_json::json;

use crate::finding::{Report, Severity};
use crate::history::Diff;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Html,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            "sarif" => Ok(Format::Sarif),
            "html" => Ok(Format::Html),
            _ => Err(format!(
                "unknown format {s:?} (expected text, json, sarif or html)"
            )),
        }
    }
}

/// Renders `report` (and, when known, what changed since the last scan).
pub fn render(report: &Report, diff: Option<&Diff>, format: Format) -> String {
    match format {
        Format::Text => text(report, diff),
        Format::Json => {
            let mut v = serde_json::to_value(report).unwrap_or_default();
            if let (Some(d), Some(obj)) = (diff, v.as_object_mut()) {
                obj.insert("diff".into(), serde_json::to_value(d).unwrap_or_default());
            }
            serde_json::to_string_pretty(&v).unwrap_or_default()
        }
        Format::Sarif => serde_json::to_string_pretty(&sarif(report)).unwrap_or_default(),
        Format::Html => page(report, diff).into_string(),
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

fn text(report: &Report, diff: Option<&Diff>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "Scan of {} ({})", report.target, report.scanner);
    if let Some(g) = &report.headers {
        let _ = writeln!(out, "Security headers: {} (score {})", g.grade, g.score);
        for t in &g.tests {
            let _ = writeln!(out, "  [{:+4}] {:<32} {}", t.modifier, t.test, t.result);
        }
    }
    let _ = writeln!(out, "Pages crawled: {}", report.pages.len());
    let counts: Vec<String> = report
        .counts()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let _ = writeln!(
        out,
        "Findings: {}",
        if counts.is_empty() {
            "none".to_string()
        } else {
            counts.join(", ")
        }
    );
    if let Some(d) = diff {
        let _ = writeln!(
            out,
            "Since the last scan: {} new, {} resolved",
            d.new.len(),
            d.resolved.len()
        );
        for f in &d.resolved {
            let _ = writeln!(out, "  resolved: {} {}", f.id, f.location);
        }
    }
    for f in &report.findings {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<8} {} — {}",
            f.severity.as_str().to_uppercase(),
            f.id,
            one_line(&f.title)
        );
        let _ = writeln!(out, "         at {}", f.location);
        if !f.evidence.is_empty() {
            let _ = writeln!(out, "         evidence: {}", one_line(&f.evidence));
        }
        if !f.remediation.is_empty() {
            let _ = writeln!(out, "         fix: {}", one_line(&f.remediation));
        }
    }
    if !report.payment_scripts.is_empty() {
        let _ = writeln!(out, "\nPayment-page scripts:");
        for s in &report.payment_scripts {
            let _ = writeln!(
                out,
                "  {} {} origin={} sri={}",
                s.page,
                s.src,
                s.origin,
                if s.integrity { "yes" } else { "no" }
            );
        }
    }
    out
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// SARIF 2.1.0: one rule per finding id, one result per finding.
pub fn sarif(report: &Report) -> serde_json::Value {
    let mut rules: Vec<serde_json::Value> = Vec::new();
    let mut rule_ids: Vec<&str> = Vec::new();
    for f in &report.findings {
        if !rule_ids.contains(&f.id.as_str()) {
            rule_ids.push(&f.id);
            rules.push(json!({
                "id": f.id,
                "shortDescription": { "text": one_line(&f.title) },
                "help": { "text": one_line(&f.remediation) },
                "defaultConfiguration": { "level": sarif_level(f.severity) },
                "properties": { "severity": f.severity.as_str() },
            }));
        }
    }
    let results: Vec<serde_json::Value> = report
        .findings
        .iter()
        .map(|f| {
            json!({
                "ruleId": f.id,
                "ruleIndex": rule_ids.iter().position(|r| *r == f.id).unwrap_or(0),
                "level": sarif_level(f.severity),
                "message": { "text": format!("{} Evidence: {}", one_line(&f.title), one_line(&f.evidence)) },
                "locations": [{
                    "physicalLocation": { "artifactLocation": { "uri": f.location } }
                }],
                "properties": { "severity": f.severity.as_str(), "remediation": f.remediation },
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "rampart-scan",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/rampart",
                "rules": rules,
            }},
            "invocations": [{ "executionSuccessful": true, "startTimeUtc": report.started }],
            "results": results,
        }]
    })
}

fn page(report: &Report, diff: Option<&Diff>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "Rampart scan of " (report.target) }
                style { "body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}
                    table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3em;text-align:left;vertical-align:top}
                    .critical{background:#fdd}.high{background:#fec}.medium{background:#ffd}.low{background:#eef}.info{background:#f6f6f6}" }
            }
            body {
                h1 { "Scan of " (report.target) }
                p { "Started " (report.started) " by " (report.scanner) ". Pages crawled: " (report.pages.len()) "." }
                @if let Some(g) = &report.headers {
                    h2 { "Security headers: " (g.grade) " (" (g.score) ")" }
                    table {
                        tr { th { "Test" } th { "Result" } th { "Points" } }
                        @for t in &g.tests {
                            tr { td { (t.test) } td { (t.description) } td { (format!("{:+}", t.modifier)) } }
                        }
                    }
                }
                @if let Some(d) = diff {
                    p { "Since the last scan: " (d.new.len()) " new, " (d.resolved.len()) " resolved." }
                }
                h2 { "Findings (" (report.findings.len()) ")" }
                table {
                    tr { th { "Severity" } th { "Finding" } th { "Where" } th { "Evidence" } th { "Fix" } }
                    @for f in &report.findings {
                        tr class=(f.severity.as_str()) {
                            td { (f.severity.as_str()) }
                            td { strong { (f.title) } br; code { (f.id) } }
                            td { (f.location) }
                            td { code { (f.evidence) } }
                            td { (f.remediation) }
                        }
                    }
                }
                @if !report.payment_scripts.is_empty() {
                    h2 { "Payment-page scripts" }
                    table {
                        tr { th { "Page" } th { "Script" } th { "Origin" } th { "SRI" } }
                        @for s in &report.payment_scripts {
                            tr { td { (s.page) } td { (s.src) } td { (s.origin) } td { (if s.integrity { "yes" } else { "no" }) } }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Finding;

    fn report() -> Report {
        Report {
            target: "https://shop.example/".into(),
            started: "2026-01-01T00:00:00Z".into(),
            scanner: "Rampart-Scanner/0".into(),
            headers: None,
            pages: vec![],
            software: vec![],
            payment_scripts: vec![],
            findings: vec![
                Finding::new(
                    "exposure.git",
                    Severity::Critical,
                    "Git <exposed>",
                    "https://shop.example/.git/HEAD",
                )
                .evidence("ref: refs/heads/main"),
                Finding::new("headers.x", Severity::Low, "x", "https://shop.example/"),
            ],
        }
    }

    #[test]
    fn sarif_has_rules_and_levels() {
        let v = sarif(&report());
        assert_eq!(v["version"], "2.1.0");
        let run = &v["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 2);
        assert_eq!(run["results"][0]["level"], "error");
        assert_eq!(run["results"][1]["level"], "note");
        assert_eq!(run["results"][1]["ruleIndex"], 1);
        assert_eq!(
            run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "https://shop.example/.git/HEAD"
        );
    }

    #[test]
    fn html_escapes() {
        let h = render(&report(), None, Format::Html);
        assert!(h.contains("Git &lt;exposed&gt;"));
        assert!(!h.contains("Git <exposed>"));
    }
}
