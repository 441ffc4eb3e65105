//! The `rampart` command: flag parsing and wiring only. Everything it does
//! lives in the library crates (`gateway`, `ops`); this file turns flags
//! into calls and errors into one line and an exit code.
//!
//! Exit codes: 0 success, 1 findings or failed checks, 2 usage or
//! configuration error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use gateway::{Config, Pipeline, PipelineBuilder, StateLocation};
use ops::event_store::{parse_since, EventStore, Query};

#[derive(Parser)]
#[command(
    name = "rampart",
    about = "Rampart: a security gateway for online stores",
    long_about = "Rampart stands in front of your online store: it answers HTTPS for \
your shop, checks every request, and forwards what is safe to the store.\n\n\
Start with `rampart config check rampart.toml`, then `rampart serve`.",
    disable_version_flag = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where state lives; every command that reads state accepts these.
#[derive(Args, Clone)]
struct StateArgs {
    /// The configuration file [default: ./rampart.toml if present]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The data directory (events, certificates) [default: the
    /// configuration's data_dir, else ./data]
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway in front of your store until stopped (Ctrl-C or
    /// SIGTERM). SIGHUP re-reads the configuration without dropping
    /// requests. Prints one line `rampart listening https=ADDR http=ADDR
    /// admin=ADDR` once it accepts connections.
    Serve(StateArgs),
    /// Check configuration files.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Read security events (blocked requests, store outages, certificate
    /// reloads...).
    #[command(subcommand)]
    Events(EventsCommand),
    /// Print the version.
    Version,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check a configuration file: syntax, unknown keys, addresses, hosts,
    /// upstream URLs and certificate files. Prints FILE:LINE:COL and the
    /// problem, or "ok".
    Check {
        /// The configuration file to check
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[derive(Args)]
struct EventFilter {
    #[command(flatten)]
    state: StateArgs,
    /// Only events this recent: an age (30m, 1h, 2d) or a time
    /// (2026-01-31T12:00:00Z)
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    /// Only events of this kind, or under it (`upstream` selects
    /// `upstream.error` and `upstream.timeout`); repeat for several
    #[arg(long = "kind", value_name = "KIND")]
    kinds: Vec<String>,
    /// One JSON object per line instead of text
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum EventsCommand {
    /// Print stored events, oldest first.
    Query {
        #[command(flatten)]
        filter: EventFilter,
        /// At most this many (the newest)
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },
    /// Print the latest events, then each new one as it arrives (Ctrl-C
    /// stops).
    Tail {
        #[command(flatten)]
        filter: EventFilter,
        /// How many past events to show first
        #[arg(long, value_name = "N", default_value_t = 10)]
        lines: usize,
    },
}

/// A failure: its exit code and one line for the user.
struct Failure(u8, String);

fn usage(msg: impl std::fmt::Display) -> Failure {
    Failure(2, msg.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Version => {
            println!("rampart {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Config(ConfigCommand::Check { file }) => config_check(&file),
        Command::Serve(state) => serve(&state),
        Command::Events(EventsCommand::Query { filter, limit }) => events_query(&filter, limit),
        Command::Events(EventsCommand::Tail { filter, lines }) => events_tail(&filter, lines),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, msg)) => {
            eprintln!("rampart: {msg}");
            ExitCode::from(code)
        }
    }
}

fn config_check(file: &Path) -> Result<(), Failure> {
    let config = Config::load(file).map_err(usage)?;
    gateway::tls::check_certificate_files(&config.sites)
        .map_err(|e| usage(format!("{}: {e}", file.display())))?;
    let names: Vec<&str> = config.sites.iter().map(|s| s.name.as_str()).collect();
    println!(
        "{}: ok ({} site(s): {})",
        file.display(),
        names.len(),
        names.join(", ")
    );
    Ok(())
}

/// The stages every request goes through, in order. The WAF and the other
/// stages are added here as they land.
fn pipeline() -> PipelineBuilder {
    Arc::new(|_config: &Config| Ok(Pipeline::new(Vec::new())))
}

fn serve(state: &StateArgs) -> Result<(), Failure> {
    let located =
        StateLocation::resolve(state.config.as_deref(), state.data.as_deref()).map_err(usage)?;
    let Some(config) = located.config else {
        return Err(usage(
            "no configuration: pass --config FILE or create ./rampart.toml",
        ));
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .init();
    let reload: Option<gateway::ConfigSource> = config.source.clone().map(|file| {
        let data = state.data.clone();
        Box::new(move || {
            let mut c = Config::load(&file).map_err(|e| e.to_string())?;
            if let Some(d) = &data {
                c.server.data_dir = d.clone();
            }
            Ok(c)
        }) as gateway::ConfigSource
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| usage(format!("cannot start the runtime: {e}")))?;
    runtime
        .block_on(gateway::serve(config, pipeline(), reload, |addrs| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", addrs.ready_line());
            let _ = out.flush();
        }))
        .map_err(usage)?;
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

fn open_store(state: &StateArgs) -> Result<EventStore, Failure> {
    let located =
        StateLocation::resolve(state.config.as_deref(), state.data.as_deref()).map_err(usage)?;
    if !located.data_dir.is_dir() {
        return Err(usage(format!(
            "data directory {} does not exist (pass --data DIR or --config FILE)",
            located.data_dir.display()
        )));
    }
    EventStore::open(&located.data_dir.join("events.sqlite")).map_err(usage)
}

fn query_of(filter: &EventFilter) -> Result<Query, Failure> {
    let since = filter
        .since
        .as_deref()
        .map(|s| parse_since(s, time::OffsetDateTime::now_utc()))
        .transpose()
        .map_err(usage)?;
    Ok(Query {
        since,
        kinds: filter.kinds.clone(),
        ..Query::default()
    })
}

/// Prints events; false once stdout is gone (e.g. `| head`).
fn print_events(events: &[(i64, ops::Event)], json: bool) -> bool {
    let mut out = std::io::stdout().lock();
    for (_, e) in events {
        let line = if json {
            serde_json::to_string(e).unwrap_or_default()
        } else {
            e.to_line()
        };
        if writeln!(out, "{line}").is_err() {
            return false;
        }
    }
    out.flush().is_ok()
}

fn events_query(filter: &EventFilter, limit: Option<usize>) -> Result<(), Failure> {
    let store = open_store(&filter.state)?;
    let mut q = query_of(filter)?;
    q.limit = limit;
    let events = store.query(&q).map_err(usage)?;
    print_events(&events, filter.json);
    Ok(())
}

fn events_tail(filter: &EventFilter, lines: usize) -> Result<(), Failure> {
    let store = open_store(&filter.state)?;
    let mut q = query_of(filter)?;
    q.limit = Some(lines);
    let first = store.query(&q).map_err(usage)?;
    let mut last = match first.last() {
        Some((seq, _)) => *seq,
        None => store.last_seq().map_err(usage)?.unwrap_or(0),
    };
    if !print_events(&first, filter.json) {
        return Ok(());
    }
    q.limit = None;
    q.since = None;
    loop {
        std::thread::sleep(Duration::from_millis(250));
        q.after_seq = Some(last);
        let new = store.query(&q).map_err(usage)?;
        if let Some((seq, _)) = new.last() {
            last = *seq;
        }
        if !print_events(&new, filter.json) {
            return Ok(());
        }
    }
}
