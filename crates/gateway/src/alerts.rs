//! Alerts (`[[alerts]]`): events that someone must see now (a card number
//! in a response, a tampered vault record, a ban storm) are sent to a
//! webhook (Slack, Mattermost, Teams through a connector, PagerDuty's
//! events gateway, or the shop's own endpoint).
//!
//! The sink runs on the event bus's dispatcher thread and only matches;
//! a thread of its own does the sending, so a slow webhook never holds
//! events back from the store. A rule sends its first matching event at
//! once, then at most one message per `every_seconds` with the count and
//! the first events of the window, so a flood is one message a minute, not
//! thousands. Failed sends are retried three times, then logged (the
//! events themselves are in the event store either way).
//!
//! Must not: send a card number (events are masked before they reach any
//! sink) or the webhook URL's secret path to a log.

use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use ops::bus::Sink;
use ops::{Event, Severity};
use serde::Deserialize;

/// Events kept in full in one message; the rest are counted.
const EVENTS_PER_MESSAGE: usize = 20;

/// One `[[alerts]]` rule.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// What the message calls it, e.g. "card leaks".
    pub name: String,
    /// Event kinds; `cards` matches every kind under `cards.`.
    pub kinds: Vec<String>,
    /// The least severity that matches (default: any).
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// Where the message is POSTed (https; http only to a loopback host).
    pub webhook: String,
    /// Least time between two messages of this rule (default 60).
    #[serde(default)]
    pub every_seconds: Option<u64>,
}

impl std::fmt::Debug for AlertRule {
    // The webhook URL often carries a secret token in its path.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertRule")
            .field("name", &self.name)
            .field("kinds", &self.kinds)
            .field("min_severity", &self.min_severity)
            .finish_non_exhaustive()
    }
}

impl AlertRule {
    /// Checks the rule; errors are one line.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("name is empty".into());
        }
        if self.kinds.is_empty() || self.kinds.iter().any(|k| k.trim().is_empty()) {
            return Err(format!(
                "alert {:?}: kinds must name event kinds, e.g. [\"cards.leak\"]",
                self.name
            ));
        }
        let url = url::Url::parse(&self.webhook)
            .map_err(|e| format!("alert {:?}: webhook is not a URL: {e}", self.name))?;
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => {
                return Err(format!(
                    "alert {:?}: webhook must be https:// (http:// only to this machine)",
                    self.name
                ))
            }
        }
        if self.every_seconds == Some(0) {
            return Err(format!(
                "alert {:?}: every_seconds must be at least 1",
                self.name
            ));
        }
        Ok(())
    }

    fn matches(&self, e: &Event) -> bool {
        if self.min_severity.is_some_and(|m| e.severity < m) {
            return false;
        }
        self.kinds.iter().any(|k| {
            e.kind == k.as_str()
                || (e.kind.starts_with(k.as_str()) && e.kind.as_bytes().get(k.len()) == Some(&b'.'))
        })
    }
}

/// The rules in force; [`Alerts::replace`] changes them on reload.
#[derive(Clone)]
pub struct Alerts {
    rules: Arc<ArcSwap<Vec<AlertRule>>>,
}

impl Alerts {
    /// The sink for the event bus, and the handle that changes its rules.
    pub fn start(rules: Vec<AlertRule>) -> (Alerts, Box<dyn Sink>) {
        let rules = Arc::new(ArcSwap::from_pointee(rules));
        let (tx, rx) = mpsc::sync_channel::<(usize, Event)>(4096);
        let for_sender = rules.clone();
        std::thread::Builder::new()
            .name("rampart-alerts".into())
            .spawn(move || send_loop(rx, for_sender))
            .expect("spawn the alert sender thread");
        (
            Alerts {
                rules: rules.clone(),
            },
            Box::new(AlertSink { rules, tx }),
        )
    }

    pub fn replace(&self, rules: Vec<AlertRule>) {
        self.rules.store(Arc::new(rules));
    }
}

struct AlertSink {
    rules: Arc<ArcSwap<Vec<AlertRule>>>,
    tx: SyncSender<(usize, Event)>,
}

impl Sink for AlertSink {
    fn name(&self) -> &'static str {
        "alerts"
    }

    fn write(&mut self, batch: &[Event]) -> Result<(), String> {
        let rules = self.rules.load();
        if rules.is_empty() {
            return Ok(());
        }
        let mut full = 0;
        for e in batch {
            for (i, r) in rules.iter().enumerate() {
                if r.matches(e) && self.tx.try_send((i, e.clone())).is_err() {
                    full += 1;
                }
            }
        }
        if full > 0 {
            return Err(format!(
                "{full} alert event(s) dropped: the sender is behind"
            ));
        }
        Ok(())
    }
}

/// What one rule has waiting.
#[derive(Default)]
struct Pending {
    events: Vec<Event>,
    count: usize,
    last_sent: Option<Instant>,
}

fn send_loop(rx: mpsc::Receiver<(usize, Event)>, rules: Arc<ArcSwap<Vec<AlertRule>>>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(true)
        .build()
        .into();
    let mut pending: Vec<Pending> = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok((i, e)) => {
                if pending.len() <= i {
                    pending.resize_with(i + 1, Pending::default);
                }
                let p = &mut pending[i];
                p.count += 1;
                if p.events.len() < EVENTS_PER_MESSAGE {
                    p.events.push(e);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let rules = rules.load();
        for (i, p) in pending.iter_mut().enumerate() {
            let Some(rule) = rules.get(i) else {
                p.events.clear();
                p.count = 0;
                continue;
            };
            let every = Duration::from_secs(rule.every_seconds.unwrap_or(60));
            if p.count == 0 || p.last_sent.is_some_and(|t| t.elapsed() < every) {
                continue;
            }
            let body = message(rule, p);
            p.last_sent = Some(Instant::now());
            p.events.clear();
            p.count = 0;
            send(&agent, rule, &body);
        }
    }
}

fn message(rule: &AlertRule, p: &Pending) -> serde_json::Value {
    let first = &p.events[0];
    let text = format!(
        "Rampart alert {:?}: {} event(s){}; first: [{}] {}{}",
        rule.name,
        p.count,
        if p.count > 1 {
            " since the last message"
        } else {
            ""
        },
        first.severity.as_str(),
        first.kind,
        if first.message.is_empty() {
            String::new()
        } else {
            format!(": {}", first.message)
        }
    );
    serde_json::json!({
        "alert": rule.name,
        "count": p.count,
        "text": text,
        "events": p.events,
    })
}

fn send(agent: &ureq::Agent, rule: &AlertRule, body: &serde_json::Value) {
    let mut wait = Duration::from_millis(500);
    for attempt in 1..=3 {
        let sent = agent
            .post(&rule.webhook)
            .header("content-type", "application/json")
            .send(body.to_string());
        match sent {
            Ok(_) => return,
            Err(e) if attempt == 3 => {
                tracing::warn!(alert = %rule.name, "alert not delivered after 3 tries: {}", describe(&e));
            }
            Err(_) => {
                std::thread::sleep(wait);
                wait *= 4;
            }
        }
    }
}

/// A send error without the URL (which may hold a secret).
fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::StatusCode(c) => format!("the webhook answered {c}"),
        ureq::Error::Timeout(_) => "the webhook did not answer in time".into(),
        ureq::Error::Io(io) => format!("connection failed: {}", io.kind()),
        ureq::Error::HostNotFound => "host not found".into(),
        _ => "the request failed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(kinds: &[&str], min: Option<Severity>, webhook: &str) -> AlertRule {
        AlertRule {
            name: "r".into(),
            kinds: kinds.iter().map(|k| k.to_string()).collect(),
            min_severity: min,
            webhook: webhook.into(),
            every_seconds: None,
        }
    }

    #[test]
    fn kinds_match_exactly_or_as_a_dotted_prefix() {
        let r = rule(&["cards", "vault.api_refused"], None, "https://h.example/x");
        assert!(r.matches(&Event::new("cards.leak", Severity::Critical)));
        assert!(r.matches(&Event::new("vault.api_refused", Severity::Warning)));
        assert!(!r.matches(&Event::new("cardsx.leak", Severity::Critical)));
        assert!(!r.matches(&Event::new("vault.api_detokenized", Severity::Notice)));
        let r = rule(&["cards"], Some(Severity::Critical), "https://h.example/x");
        assert!(!r.matches(&Event::new("cards.refused", Severity::Warning)));
        assert!(r.matches(&Event::new("cards.leak", Severity::Critical)));
    }

    #[test]
    fn webhooks_are_https_except_to_this_machine() {
        assert!(rule(&["x"], None, "https://hooks.example/T0/B1")
            .validate()
            .is_ok());
        assert!(rule(&["x"], None, "http://127.0.0.1:9/hook")
            .validate()
            .is_ok());
        let e = rule(&["x"], None, "http://hooks.example/T0")
            .validate()
            .unwrap_err();
        assert!(e.contains("https://"), "{e}");
        assert!(rule(&[], None, "https://h.example/").validate().is_err());
        let secret = rule(&["x"], None, "https://hooks.example/SECRET");
        assert!(!format!("{secret:?}").contains("SECRET"));
    }

    /// A webhook on 127.0.0.1 that hands each request's body to `tx`.
    fn webhook() -> (String, mpsc::Receiver<String>) {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { break };
                let mut reader = BufReader::new(conn);
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let _ = reader.get_mut().write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
                let _ = tx.send(String::from_utf8_lossy(&body).into_owned());
            }
        });
        (url, rx)
    }

    #[test]
    fn a_reload_puts_new_rules_in_force() {
        let (url, got) = webhook();
        let (alerts, mut sink) = Alerts::start(vec![rule(&["old"], None, &url)]);
        let mut new = rule(&["new"], None, &url);
        new.name = "new rule".into();
        alerts.replace(vec![new]);
        sink.write(&[
            Event::new("old.thing", Severity::Critical),
            Event::new("new.thing", Severity::Info),
        ])
        .unwrap();
        let body: serde_json::Value =
            serde_json::from_str(&got.recv_timeout(Duration::from_secs(10)).unwrap()).unwrap();
        assert_eq!(body["alert"], "new rule");
        assert_eq!(body["count"], 1);
        assert_eq!(body["events"][0]["kind"], "new.thing");
        assert!(
            got.recv_timeout(Duration::from_secs(1)).is_err(),
            "the old rule sends nothing"
        );
    }
}
