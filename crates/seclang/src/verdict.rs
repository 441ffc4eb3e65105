//! One raw request through a rule set, summed up as the verdict that
//! `rampart waf eval` prints: which rules matched, the anomaly score, and
//! whether the request would pass or be blocked (and with what status).
//!
//! Only the request is evaluated (phases 1 and 2, then logging): there is
//! no response.

use std::sync::Arc;

use serde::Serialize;

use crate::ruleset::RuleSet;
use crate::transaction::{Connection, Transaction};

/// The outcome for one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Ids of the rules that matched and report, in order.
    pub rules: Vec<u32>,
    pub anomaly_score: i64,
    /// `pass` or `block`.
    pub action: &'static str,
    /// The status the client would get (200 when passed).
    pub status: u16,
}

/// Evaluates one raw HTTP/1.x request. A request that cannot be read at
/// all is blocked with 400, as the gateway would answer it.
pub fn evaluate(rules: &Arc<RuleSet>, raw: &[u8], connection: Connection) -> Verdict {
    let req = match crate::http1::parse(raw) {
        Ok(r) => r,
        Err(_) => {
            return Verdict {
                rules: Vec::new(),
                anomaly_score: 0,
                action: "block",
                status: 400,
            }
        }
    };
    let mut tx = Transaction::new(Arc::clone(rules), connection);
    req.feed(&mut tx);
    tx.process_logging();
    match tx.intervention() {
        Some(i) => Verdict {
            rules: tx.matched_rule_ids(),
            anomaly_score: tx.anomaly_score(),
            action: "block",
            status: i.status,
        },
        None => Verdict {
            rules: tx.matched_rule_ids(),
            anomaly_score: tx.anomaly_score(),
            action: "pass",
            status: 200,
        },
    }
}
