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

    /// One line for a person: time, severity, kind, then whichever request
    /// fields are set, then the message.
    pub fn to_line(&self) -> String {
        use std::fmt::Write;
        let time = self
            .time
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| self.time.to_string());
        let mut line = format!("{time} {:<8} {}", self.severity.as_str(), self.kind);
        if let Some(site) = &self.site {
            let _ = write!(line, " site={site}");
        }
        if let Some(id) = &self.request_id {
            let _ = write!(line, " request_id={id}");
        }
        if let Some(ip) = &self.client_ip {
            let _ = write!(line, " client={ip}");
        }
        if let (Some(m), Some(u)) = (&self.method, &self.uri) {
            let _ = write!(line, " \"{m} {u}\"");
        }
        if let Some(status) = self.status {
            let _ = write!(line, " status={status}");
        }
        if let Some(action) = self.action {
            let _ = write!(
                line,
                " action={}",
                serde_json::to_value(action)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            );
        }
        if !self.rules.is_empty() {
            let ids: Vec<String> = self.rules.iter().map(u32::to_string).collect();
            let _ = write!(line, " rules={}", ids.join(","));
        }
        if let Some(score) = self.anomaly_score {
            let _ = write!(line, " score={score}");
        }
        if !self.message.is_empty() {
            let _ = write!(line, " - {}", self.message.replace(['\n', '\r'], " "));
        }
        line
    }

    /// Replaces the digits of every card number in the event's text (all
    /// but the last four) with `*`; returns how many were masked.
    pub fn mask_card_numbers(&mut self) -> usize {
        fn mask(s: &mut String) -> usize {
            let (masked, n) = crate::cards::mask_cards(s);
            if n > 0 {
                *s = masked.into_owned();
            }
            n
        }
        fn mask_value(v: &mut serde_json::Value) -> usize {
            match v {
                serde_json::Value::String(s) => mask(s),
                serde_json::Value::Array(a) => a.iter_mut().map(mask_value).sum(),
                serde_json::Value::Object(o) => o.values_mut().map(mask_value).sum(),
                _ => 0,
            }
        }
        let mut n = mask(&mut self.message);
        if let Some(u) = &mut self.uri {
            n += mask(u);
        }
        n + mask_value(&mut self.data)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_are_masked_everywhere() {
        let mut e = Event::new("request", Severity::Notice).message("card 4111 1111 1111 1111");
        e.uri = Some("/pay?pan=4111111111111111&order=12345678901234".into());
        e.data = serde_json::json!({"matches": [{"data": "Matched Data: 5555-5555-5555-4444"}]});
        assert_eq!(e.mask_card_numbers(), 3);
        assert_eq!(e.message, "card **** **** **** 1111");
        assert_eq!(
            e.uri.as_deref(),
            Some("/pay?pan=************1111&order=12345678901234")
        );
        assert_eq!(
            e.data["matches"][0]["data"],
            "Matched Data: ****-****-****-4444"
        );
    }

    #[test]
    fn line_shows_the_set_fields() {
        let mut e = Event::new("upstream.error", Severity::Error).message("store down\nnow");
        e.site = Some("shop".into());
        e.request_id = Some("r1".into());
        e.method = Some("GET".into());
        e.uri = Some("/x?a=1".into());
        e.status = Some(502);
        e.action = Some(Action::Error);
        let line = e.to_line();
        assert!(line.contains(" error    upstream.error site=shop request_id=r1 \"GET /x?a=1\" status=502 action=error - store down now"), "{line}");
    }
}
