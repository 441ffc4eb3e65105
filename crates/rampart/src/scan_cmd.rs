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
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ScanArgs {
    #[command(subcommand)]
    pub what: Option<ScanWhat>,
    #[command(flatten)]
    pub state: StateArgs,
    /// The store to audit: https://shop.example/ (a bare host means https)
    #[arg(value_name = "URL", required = true)]
    pub url: Option<String>,
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
    /// Skip the SPF, DMARC and MTA-STS lookups
    #[arg(long)]
    pub no_dns: bool,
    /// The DNS server for the mail-domain checks, IP:PORT [default: the
    /// system's resolver]
    #[arg(long, value_name = "IP:PORT")]
    pub resolver: Option<std::net::SocketAddr>,
    /// The mail domain to check [default: the target's host without www.]
    #[arg(long, value_name = "DOMAIN")]
    pub mail_domain: Option<String>,
    /// Do not store the result as an event (and do not diff)
    #[arg(long)]
    pub no_store: bool,
}

#[derive(clap::Subcommand)]
pub enum ScanWhat {
    /// Check lockfiles (composer.lock, package-lock.json, yarn.lock,
    /// Gemfile.lock; a file or a directory holding them) against the
    /// advisories imported with `rampart advisories import`.
    Deps(DepsArgs),
}

#[derive(Args)]
pub struct DepsArgs {
    #[command(flatten)]
    pub state: StateArgs,
    /// A lockfile, or a directory holding lockfiles
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// text, json, sarif (2.1.0) or html
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    pub format: String,
    /// Exit 1 when a finding of this severity or worse exists
    #[arg(long, value_name = "SEVERITY", default_value = "high")]
    pub fail_on: String,
}

#[derive(clap::Subcommand)]
pub enum AdvisoriesCommand {
    /// Import advisories in the OSV JSON format: a file (one advisory or
    /// an array) or a directory of .json files. Advisories with an id
    /// already stored replace it.
    Import {
        #[command(flatten)]
        state: StateArgs,
        #[arg(value_name = "PATH")]
        path: PathBuf,
    },
}

fn data_dir(state: &StateArgs, create: bool) -> Result<Option<PathBuf>, Failure> {
    let located =
        StateLocation::resolve(state.config.as_deref(), state.data.as_deref()).map_err(usage)?;
    if !located.data_dir.is_dir() {
        if !create {
            return Ok(None);
        }
        std::fs::create_dir_all(&located.data_dir).map_err(|e| {
            usage(format!(
                "cannot create the data directory {}: {e}",
                located.data_dir.display()
            ))
        })?;
    }
    Ok(Some(located.data_dir))
}

/// The advisory database: `DATA_DIR/rampart.sqlite`.
pub(crate) async fn advisory_store(
    dir: &std::path::Path,
) -> Result<scan::advisories::AdvisoryStore, Failure> {
    let db = store::Database::open_sqlite(&dir.join("rampart.sqlite"))
        .await
        .map_err(usage)?;
    scan::advisories::AdvisoryStore::open(db)
        .await
        .map_err(usage)
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| usage(format!("cannot start the runtime: {e}")))
}

fn json_files(path: &std::path::Path, out: &mut Vec<PathBuf>) -> Result<(), Failure> {
    if path.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let entries = std::fs::read_dir(path).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            json_files(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
    Ok(())
}

pub fn advisories(cmd: &AdvisoriesCommand) -> Result<(), Failure> {
    let AdvisoriesCommand::Import { state, path } = cmd;
    if !path.exists() {
        return Err(usage(format!(
            "{}: no such file or directory",
            path.display()
        )));
    }
    let mut files = Vec::new();
    json_files(path, &mut files)?;
    files.sort();
    let mut all = Vec::new();
    for f in &files {
        let text =
            std::fs::read_to_string(f).map_err(|e| usage(format!("{}: {e}", f.display())))?;
        let parsed = scan::advisories::parse(&text)
            .map_err(|e| usage(format!("{}: not OSV JSON: {e}", f.display())))?;
        all.extend(parsed);
    }
    if all.is_empty() {
        return Err(usage(format!("{}: no advisory found", path.display())));
    }
    let dir = data_dir(state, true)?.unwrap_or_default();
    let rt = runtime()?;
    let (imported, total) = rt.block_on(async {
        let store = advisory_store(&dir).await?;
        let n = store.import(&all).await.map_err(usage)?;
        let total = store.count().await.map_err(usage)?;
        Ok::<_, Failure>((n, total))
    })?;
    println!(
        "imported {imported} advisories from {} files ({total} stored)",
        files.len()
    );
    Ok(())
}

fn deps(args: &DepsArgs) -> Result<(), Failure> {
    let format: Format = args.format.parse().map_err(usage)?;
    let fail_on: Severity = args.fail_on.parse().map_err(usage)?;
    let files = scan::deps::find(&args.path).map_err(usage)?;
    let mut installed = Vec::new();
    for f in &files {
        installed.extend(scan::deps::read(f).map_err(usage)?);
    }
    let Some(dir) = data_dir(&args.state, false)? else {
        return Err(usage(
            "no advisories imported yet (run `rampart advisories import PATH` first)",
        ));
    };
    let rt = runtime()?;
    let findings = rt.block_on(async {
        let store = advisory_store(&dir).await?;
        if store.count().await.map_err(usage)? == 0 {
            return Err(usage(
                "no advisories imported yet (run `rampart advisories import PATH` first)",
            ));
        }
        store.check(&installed).await.map_err(usage)
    })?;
    let mut report = scan::Report {
        target: args.path.display().to_string(),
        started: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        scanner: scan::http::user_agent(),
        headers: None,
        pages: files.iter().map(|f| f.display().to_string()).collect(),
        software: installed
            .iter()
            .map(|i| format!("{} {} {}", i.ecosystem, i.names.join("|"), i.version))
            .collect(),
        payment_scripts: Vec::new(),
        findings,
    };
    report.normalize();
    finish(&report, None, format, None, fail_on)
}

fn finish(
    report: &scan::Report,
    diff: Option<&history::Diff>,
    format: Format,
    output: Option<&PathBuf>,
    fail_on: Severity,
) -> Result<(), Failure> {
    let rendered = scan::format::render(report, diff, format);
    match output {
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

pub(crate) fn load_roots(
    path: &std::path::Path,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, Failure> {
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

/// The newest stored scan of `target`, to diff a new one against.
pub(crate) fn previous_report(
    store: &EventStore,
    target: &str,
) -> Result<Option<scan::Report>, ops::event_store::StoreError> {
    Ok(store
        .query(&Query {
            kinds: vec![history::EVENT_KIND.to_string()],
            ..Query::default()
        })?
        .into_iter()
        .rev()
        .filter(|(_, e)| e.site.as_deref() == Some(target))
        .find_map(|(_, e)| history::from_event(&e)))
}

/// The event store, when the data directory exists or was named.
fn event_store(state: &StateArgs) -> Result<Option<EventStore>, Failure> {
    let explicit = state.data.is_some() || state.config.is_some();
    let Some(dir) = data_dir(state, explicit)? else {
        return Ok(None);
    };
    EventStore::open(&dir.join("events.sqlite"))
        .map(Some)
        .map_err(usage)
}

pub fn run(args: &ScanArgs) -> Result<(), Failure> {
    if let Some(ScanWhat::Deps(d)) = &args.what {
        return deps(d);
    }
    let format: Format = args.format.parse().map_err(usage)?;
    let fail_on: Severity = args.fail_on.parse().map_err(usage)?;
    let url = args.url.as_deref().unwrap_or_default();
    let target = scan::parse_target(url).map_err(usage)?;
    if args.concurrency == 0 || !args.rate.is_finite() || args.rate <= 0.0 || args.timeout == 0 {
        return Err(usage(
            "--concurrency, --rate and --timeout must be greater than 0",
        ));
    }
    let extra_roots = match &args.ca_file {
        Some(p) => load_roots(p)?,
        None => Vec::new(),
    };
    let mut opts = scan::ScanOptions {
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
        dns: !args.no_dns,
        resolver: args.resolver,
        mail_domain: args.mail_domain.clone(),
        advisories: None,
    };
    let store = if args.no_store {
        None
    } else {
        event_store(&args.state)?
    };
    let runtime = runtime()?;
    // Fingerprints are matched against the advisories when some were imported.
    if let Some(dir) = data_dir(&args.state, false)? {
        if dir.join("rampart.sqlite").is_file() {
            let store = runtime.block_on(advisory_store(&dir))?;
            opts.advisories = Some(std::sync::Arc::new(store));
        }
    }
    let report = runtime
        .block_on(scan::scan(&target, &opts))
        .map_err(usage)?;
    runtime.shutdown_timeout(Duration::from_secs(1));

    let mut diff = None;
    if let Some(mut store) = store {
        let previous = previous_report(&store, &report.target).map_err(usage)?;
        let d = history::diff(previous.as_ref(), &report);
        store.append(&history::events(&report, &d)).map_err(usage)?;
        if previous.is_some() {
            diff = Some(d);
        }
    }

    finish(
        &report,
        diff.as_ref(),
        format,
        args.output.as_ref(),
        fail_on,
    )
}
