//! Playing requests in-process: the raw bytes go through the same HTTP/1
//! reading the gateway uses for `waf eval`, the engine runs all five
//! phases, and the backend's answer is computed by [`crate::albedo`].

use std::path::Path;
use std::sync::Arc;

use seclang::crs::{self, CrsOptions};
use seclang::{Connection, RuleSet, Transaction};

use crate::albedo;
use crate::report::{Observed, Player};

/// The engine with the CRS test configuration.
pub struct EnginePlayer {
    rules: Arc<RuleSet>,
    /// Print the engine's debug trace of every request to stderr.
    pub trace: bool,
    counter: std::sync::atomic::AtomicU64,
}

impl EnginePlayer {
    /// Loads `crs_dir` configured as the CRS project tests itself.
    pub fn load(crs_dir: &Path) -> Result<EnginePlayer, String> {
        let mut opts = CrsOptions::new(crs_dir);
        opts.extra
            .push(("crs-test-setup.conf".into(), crate::TEST_SETUP.into()));
        let rules = crs::load(&opts).map_err(|e| e.to_string())?;
        Ok(EnginePlayer {
            rules: Arc::new(rules),
            trace: false,
            counter: Default::default(),
        })
    }

    pub fn rules(&self) -> &Arc<RuleSet> {
        &self.rules
    }
}

impl Player for EnginePlayer {
    fn play(&self, raw: &[u8]) -> Observed {
        let req = match seclang::http1::parse(raw) {
            Ok(r) => r,
            Err(e) => {
                return Observed {
                    status: Some(400),
                    error: Some(e),
                    ..Observed::default()
                }
            }
        };
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut tx = Transaction::new(
            Arc::clone(&self.rules),
            Connection {
                client_ip: "127.0.0.1".into(),
                client_port: 40000 + (n % 20000) as u16,
                server_ip: "127.0.0.1".into(),
                server_port: 80,
                unique_id: format!("ftw-{n}"),
            },
        );
        if self.trace {
            tx.enable_debug_log();
        }
        req.feed(&mut tx);
        let mut status = None;
        let mut response = Vec::new();
        if tx.intervention().is_none() {
            let reply = albedo::respond(&req.method, &req.uri, &req.body);
            for (k, v) in &reply.headers {
                tx.add_response_header(k.as_bytes(), v.as_bytes());
            }
            tx.add_response_header(b"Content-Length", reply.body.len().to_string().as_bytes());
            tx.process_response_headers(reply.status, b"HTTP/1.1");
            if tx.intervention().is_none() && tx.wants_response_body() {
                tx.append_response_body(&reply.body);
                tx.process_response_body();
            }
            status = Some(reply.status);
            response = reply.body;
        }
        tx.process_logging();
        if self.trace {
            eprintln!("--- request\n{}", String::from_utf8_lossy(raw));
            for line in tx.debug_log() {
                eprintln!("{line}");
            }
        }
        if let Some(i) = tx.intervention() {
            status = Some(i.status);
        }
        Observed {
            status,
            error: None,
            log: crate::report::log_lines(&tx),
            rule_ids: tx.matched_rule_ids(),
            response,
        }
    }
}
