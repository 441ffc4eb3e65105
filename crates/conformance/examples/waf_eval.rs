//! `waf_eval`: the `rampart waf eval` contract (ARCHITECTURE.md) as a
//! development stand-in until the `rampart` binary has the subcommand.
//! The differential harness (`tests/differential`) drives it; nothing else
//! should depend on it. It owns argument reading and the JSON lines only:
//! the verdict itself is `seclang::verdict::evaluate`, with the rule set
//! from `seclang::crs::load`.
//!
//! ```text
//! waf_eval --rules DIR [--paranoia N] [--include FILE]... [--batch]
//! ```
//! Without `--batch`, one raw HTTP/1.1 request on stdin gives one JSON
//! object `{"rules":[…],"anomaly_score":N,"action":"pass|block","status":N}`.
//! With `--batch`, stdin holds one `{"id":"…","request":"<base64>"}` per
//! line and stdout gets one result per line, in order, with the `id`
//! added; a line that cannot be read gets `{"id":…,"error":"…"}`.
//! `--trace` (single request only) also prints the engine's debug log and
//! each match (rule, variable, logdata) to stderr, for diagnosing.
//! Exit status 2 with a one-line reason on a usage or rule-loading error.

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use base64::Engine as _;
use seclang::crs::{self, CrsOptions};
use seclang::verdict::{evaluate, Verdict};
use seclang::{Connection, RuleSet};

fn main() -> ExitCode {
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("waf_eval: {e}");
            ExitCode::from(2)
        }
    }
}

const USAGE: &str =
    "usage: waf_eval --rules DIR [--paranoia N] [--include FILE]... [--batch | --trace]";

struct Args {
    rules: PathBuf,
    paranoia: Option<u8>,
    includes: Vec<PathBuf>,
    batch: bool,
    trace: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut rules = None;
    let mut paranoia = None;
    let mut includes = Vec::new();
    let mut batch = false;
    let mut trace = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rules" => rules = Some(args.next().ok_or("--rules needs a directory")?.into()),
            "--paranoia" => {
                let v = args.next().ok_or("--paranoia needs a level")?;
                paranoia = Some(
                    v.parse::<u8>()
                        .map_err(|_| format!("--paranoia '{v}' is not a number 1-4"))?,
                );
            }
            "--include" => includes.push(args.next().ok_or("--include needs a file")?.into()),
            "--batch" => batch = true,
            "--trace" => trace = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument '{other}' (see --help)")),
        }
    }
    Ok(Args {
        rules: rules.ok_or("--rules DIR is required")?,
        paranoia,
        includes,
        batch,
        trace,
    })
}

/// The connection every evaluated request is given (a local client).
fn connection(n: u64) -> Connection {
    Connection {
        client_ip: "127.0.0.1".into(),
        client_port: 40000,
        server_ip: "127.0.0.1".into(),
        server_port: 80,
        unique_id: format!("waf-eval-{n}"),
    }
}

fn verdict_json(v: &Verdict, id: Option<serde_json::Value>) -> serde_json::Value {
    let mut obj = serde_json::Map::new();
    if let Some(id) = id {
        obj.insert("id".into(), id);
    }
    obj.insert("rules".into(), serde_json::json!(v.rules));
    obj.insert("anomaly_score".into(), serde_json::json!(v.anomaly_score));
    obj.insert("action".into(), serde_json::json!(v.action));
    obj.insert("status".into(), serde_json::json!(v.status));
    serde_json::Value::Object(obj)
}

/// One batch line to its result line.
fn batch_line(rules: &Arc<RuleSet>, line: &str, n: u64) -> serde_json::Value {
    let parsed: serde_json::Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => {
            return serde_json::json!({"id": null, "error": format!("line {n}: not JSON: {e}")})
        }
    };
    let id = parsed.get("id").cloned().unwrap_or(serde_json::Value::Null);
    let Some(b64) = parsed.get("request").and_then(|r| r.as_str()) else {
        return serde_json::json!({"id": id, "error": format!("line {n}: no \"request\" string")});
    };
    match base64::engine::general_purpose::STANDARD.decode(b64) {
        Ok(raw) => verdict_json(&evaluate(rules, &raw, connection(n)), Some(id)),
        Err(e) => {
            serde_json::json!({"id": id, "error": format!("line {n}: request is not base64: {e}")})
        }
    }
}

/// The debug log and matches of one request, on stderr.
fn trace(rules: &Arc<RuleSet>, raw: &[u8]) {
    let req = match seclang::http1::parse(raw) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("unreadable request: {e}");
            return;
        }
    };
    let mut tx = seclang::Transaction::new(Arc::clone(rules), connection(0));
    tx.enable_debug_log();
    req.feed(&mut tx);
    tx.process_logging();
    for line in tx.debug_log() {
        eprintln!("{line}");
    }
    for m in tx.matches() {
        eprintln!(
            "match {} logged={} var={} logdata={}",
            m.id, m.logged, m.matched_var_name, m.logdata
        );
    }
}

fn real_main() -> Result<(), String> {
    let args = parse_args()?;
    let mut opts = CrsOptions::new(&args.rules);
    opts.paranoia = args.paranoia;
    opts.includes = args.includes;
    let rules = Arc::new(crs::load(&opts).map_err(|e| e.to_string())?);
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if !args.batch {
        let mut raw = Vec::new();
        stdin
            .lock()
            .read_to_end(&mut raw)
            .map_err(|e| format!("reading stdin: {e}"))?;
        if args.trace {
            trace(&rules, &raw);
        }
        let v = verdict_json(&evaluate(&rules, &raw, connection(0)), None);
        writeln!(out, "{v}").map_err(|e| format!("writing stdout: {e}"))?;
        return out.flush().map_err(|e| format!("writing stdout: {e}"));
    }
    for (n, line) in stdin.lock().lines().enumerate() {
        let line = line.map_err(|e| format!("reading stdin: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let v = batch_line(&rules, &line, n as u64 + 1);
        writeln!(out, "{v}").map_err(|e| format!("writing stdout: {e}"))?;
    }
    out.flush().map_err(|e| format!("writing stdout: {e}"))
}
