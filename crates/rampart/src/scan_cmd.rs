//! `rampart scan`: flags in, one scan out (via the `scan` crate), the
//! report rendered, stored as an event and diffed against the previous
//! scan of the same target. Exit 1 when a finding reaches --fail-on,
//! 2 for usage errors and unreachable targets.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use gateway::StateLocation;
use ops::event_store::{EventStore, Query};
use scan::format::Format;
use scan::history;
use scan::Severity;

use crate::{usage, Failure, StateArgs};

#[derive(Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub state: StateArgs,
    /// The store to audit: https://shop.example/ (a bare host means https)
    #[arg(value_name = "URL")]
    pub url: String,
    /// Pages to crawl from the start page (same origin, robots.txt respected)
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub crawl: usize,
    /// text, json, sarif (2.1.0) or html
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    pub format: String,
    /// Exit 1 when a finding of this severity or worse exists (info, low,
    /// medium, high, critical)
    #[arg(long, value_name = "SEVERITY", default_value = "high")]
    pub fail_on: String,
    /// Write the report here instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Requests in flight at once
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,
    /// Requests per second, at most
    #[arg(long, value_name = "N", default_value_t = 10.0)]
    pub rate: f64,
    /// Seconds before a request is given up
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub timeout: u64,
    /// Port of plain HTTP for the HTTP→HTTPS redirect check [default: 80]
    #[arg(long, value_name = "PORT")]
    pub http_port: Option<u16>,
    /// PEM file of extra trusted CA certificates (a private CA)
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Skip the exposed-file probes
    #[arg(long)]
    pub no_exposure: bool,
    /// Skip the certificate and protocol checks
    #[arg(long)]
    pub no_tls: bool,
    /// Do not store the result as an event (and do not diff)
    #[arg(long)]
    pub no_store: bool,
}

fn load_roots(path: &PathBuf) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, Failure> {
    use rustls::pki_types::pem::PemObject;
    let certs: Result<Vec<_>, _> = rustls::pki_types::CertificateDer::pem_file_iter(path)
        .map_err(|e| usage(format!("--ca-file {}: {e}", path.display())))?
        .collect();
    let certs = certs.map_err(|e| usage(format!("--ca-file {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(usage(format!(
            "--ca-file {}: no certificate in the file",
            path.display()
        )));
    }
    Ok(certs)
}

/// The event store, when the data directory exists or was named.
fn event_store(state: &StateArgs) -> Result<Option<EventStore>, Failure> {
    let located =
        StateLocation::resolve(state.config.as_deref(), state.data.as_deref()).map_err(usage)?;
    let explicit = state.data.is_some() || state.config.is_some();
    if !located.data_dir.is_dir() {
        if !explicit {
            return Ok(None);
        }
        std::fs::create_dir_all(&located.data_dir).map_err(|e| {
            usage(format!(
                "cannot create the data directory {}: {e}",
                located.data_dir.display()
            ))
        })?;
    }
    EventStore::open(&located.data_dir.join("events.sqlite"))
        .map(Some)
        .map_err(usage)
}

pub fn run(args: &ScanArgs) -> Result<(), Failure> {
    let format: Format = args.format.parse().map_err(usage)?;
    let fail_on: Severity = args.fail_on.parse().map_err(usage)?;
    let target = scan::parse_target(&args.url).map_err(usage)?;
    if args.concurrency == 0 || !args.rate.is_finite() || args.rate <= 0.0 || args.timeout == 0 {
        return Err(usage(
            "--concurrency, --rate and --timeout must be greater than 0",
        ));
    }
    let extra_roots = match &args.ca_file {
        Some(p) => load_roots(p)?,
        None => Vec::new(),
    };
    let opts = scan::ScanOptions {
        crawl: args.crawl,
        limits: scan::http::Limits {
            concurrency: args.concurrency,
            rate: args.rate,
            timeout: Duration::from_secs(args.timeout),
            ..Default::default()
        },
        http_port: args.http_port,
        extra_roots,
        exposure: !args.no_exposure,
        tls: !args.no_tls,
    };
    let store = if args.no_store {
        None
    } else {
        event_store(&args.state)?
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| usage(format!("cannot start the runtime: {e}")))?;
    let report = runtime
        .block_on(scan::scan(&target, &opts))
        .map_err(usage)?;
    runtime.shutdown_timeout(Duration::from_secs(1));

    let mut diff = None;
    if let Some(mut store) = store {
        let previous = store
            .query(&Query {
                kinds: vec![history::EVENT_KIND.to_string()],
                ..Query::default()
            })
            .map_err(usage)?
            .into_iter()
            .rev()
            .filter(|(_, e)| e.site.as_deref() == Some(report.target.as_str()))
            .find_map(|(_, e)| history::from_event(&e));
        let d = history::diff(previous.as_ref(), &report);
        store
            .append(&[history::to_event(&report, &d)])
            .map_err(usage)?;
        if previous.is_some() {
            diff = Some(d);
        }
    }

    let rendered = scan::format::render(&report, diff.as_ref(), format);
    match &args.output {
        Some(path) => std::fs::write(path, rendered.as_bytes())
            .map_err(|e| usage(format!("cannot write {}: {e}", path.display())))?,
        None => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(rendered.as_bytes());
            if !rendered.ends_with('\n') {
                let _ = out.write_all(b"\n");
            }
            let _ = out.flush();
        }
    }
    if report.fails(fail_on) {
        let worst = report.worst().map(|s| s.as_str()).unwrap_or("none");
        return Err(Failure(
            1,
            format!(
                "{} findings, the worst {worst} (--fail-on {fail_on})",
                report
                    .findings
                    .iter()
                    .filter(|f| f.severity >= fail_on)
                    .count()
            ),
        ));
    }
    Ok(())
}
