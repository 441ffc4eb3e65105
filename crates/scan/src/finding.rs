//! What a scan found: [`Finding`]s (one weakness each, with evidence and a
//! remediation) gathered in a [`Report`]. This module owns the model only;
//! rendering lives in `format`, checks in their own modules.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::observatory::HeaderGrade;

/// How urgent a finding is, lowest first (so `>=` means "at least as bad").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown severity {s:?} (expected info, low, medium, high or critical)")
            })
    }
}

/// One weakness, in words a retailer can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule id, dotted by family: `exposure.git`, `tls.expired`,
    /// `headers.csp-not-implemented`. Used for SARIF rules and scan diffs.
    pub id: String,
    pub severity: Severity,
    /// One line: what is wrong.
    pub title: String,
    /// What was observed (URL, header value, bytes of a response).
    pub evidence: String,
    /// What to do about it.
    pub remediation: String,
    /// The URL (or host:port) the finding is about.
    pub location: String,
}

impl Finding {
    pub fn new(
        id: impl Into<String>,
        severity: Severity,
        title: impl Into<String>,
        location: impl Into<String>,
    ) -> Self {
        Finding {
            id: id.into(),
            severity,
            title: title.into(),
            evidence: String::new(),
            remediation: String::new(),
            location: location.into(),
        }
    }

    pub fn evidence(mut self, evidence: impl Into<String>) -> Self {
        self.evidence = evidence.into();
        self
    }

    pub fn remediation(mut self, remediation: impl Into<String>) -> Self {
        self.remediation = remediation.into();
        self
    }

    /// What identifies "the same finding" across two scans.
    pub fn key(&self) -> String {
        format!("{}|{}", self.id, self.location)
    }
}

/// A script seen on a payment page (PCI DSS 4.0 6.4.3 inventory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageScript {
    /// The page the script is on.
    pub page: String,
    /// The script's absolute URL, or `inline`.
    pub src: String,
    /// scheme://host[:port] of the script, or `inline`.
    pub origin: String,
    /// True when the script comes from the page's own origin.
    pub same_origin: bool,
    /// True when the tag carries an `integrity` attribute (SRI).
    pub integrity: bool,
}

/// Everything one scan produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The URL the scan was asked to audit.
    pub target: String,
    /// RFC 3339 start time.
    pub started: String,
    pub scanner: String,
    /// The security-header grade of the start page, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<HeaderGrade>,
    /// Pages fetched by the crawl.
    pub pages: Vec<String>,
    /// Platforms and plugins recognised, with versions where visible.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub software: Vec<String>,
    /// Scripts on payment pages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payment_scripts: Vec<PageScript>,
    /// Sorted worst first.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Sorts findings worst first, then by id and location, and drops
    /// exact duplicates.
    pub fn normalize(&mut self) {
        self.findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.id.cmp(&b.id))
                .then_with(|| a.location.cmp(&b.location))
        });
        self.findings
            .dedup_by(|a, b| a.id == b.id && a.location == b.location);
    }

    /// The worst severity found, if any finding exists.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// True when a finding at or above `threshold` exists.
    pub fn fails(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= threshold)
    }

    /// Count per severity, worst first.
    pub fn counts(&self) -> Vec<(Severity, usize)> {
        Severity::ALL
            .into_iter()
            .rev()
            .map(|s| (s, self.findings.iter().filter(|f| f.severity == s).count()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_and_parses() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Low > Severity::Info);
        assert_eq!("HIGH".parse::<Severity>(), Ok(Severity::High));
        assert!("severe".parse::<Severity>().is_err());
    }

    #[test]
    fn report_fails_at_or_above_threshold() {
        let mut r = Report {
            target: "https://shop.example/".into(),
            started: String::new(),
            scanner: String::new(),
            headers: None,
            pages: vec![],
            software: vec![],
            payment_scripts: vec![],
            findings: vec![
                Finding::new("a", Severity::Low, "a", "/"),
                Finding::new("b", Severity::Medium, "b", "/"),
                Finding::new("b", Severity::Medium, "b", "/"),
            ],
        };
        r.normalize();
        assert_eq!(r.findings.len(), 2);
        assert_eq!(r.findings[0].id, "b");
        assert!(r.fails(Severity::Medium));
        assert!(!r.fails(Severity::High));
        assert_eq!(r.worst(), Some(Severity::Medium));
    }
}
