//! The one event type.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How serious an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Debug,
    #[default]
    Info,
    Notice,
    Warning,
    Error,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Debug => "debug",
            Severity::Info => "info",
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }
}

/// What a stage decided about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Forwarded to the store.
    #[default]
    Pass,
    /// Refused with an error status.
    Block,
    /// Answered with a redirect.
    Redirect,
    /// Answered with a bot challenge.
    Challenge,
    /// Matched, but only recorded (detection-only mode).
    Detect,
    /// Answered with an error page because the store failed.
    Error,
}

/// One security-relevant fact. Request fields are flat so that an audit-log
/// line is one JSON object with the fields of the ARCHITECTURE.md contract.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// Dotted kind, e.g. `request`, `waf.match`, `upstream.error`,
    /// `tls.handshake_failed`, `config.reloaded`.
    pub kind: Cow<'static, str>,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// Ids of the WAF rules that matched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly_score: Option<i64>,
    /// A sentence for a person.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Anything else, kind-specific.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub data: serde_json::Value,
}

impl Event {
    /// A new event of `kind` at the current time.
    pub fn new(kind: impl Into<Cow<'static, str>>, severity: Severity) -> Self {
        Event {
            time: OffsetDateTime::now_utc(),
            kind: kind.into(),
            severity,
            site: None,
            request_id: None,
            client_ip: None,
            method: None,
            uri: None,
            status: None,
            action: None,
            rules: Vec::new(),
            anomaly_score: None,
            message: String::new(),
            data: serde_json::Value::Null,
        }
    }

    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    pub fn data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }

    /// True for events that describe one HTTP request (they carry a
    /// request id).
    pub fn is_request(&self) -> bool {
        self.request_id.is_some()
    }

    /// The audit-log contract: a request event in which a rule matched, or
    /// which was blocked.
    pub fn belongs_in_audit_log(&self) -> bool {
        self.is_request() && (!self.rules.is_empty() || self.action == Some(Action::Block))
    }
}
