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
use gateway::stages::waf::Waf;
use gateway::{Config, Pipeline, PipelineBuilder, StateLocation};
use ops::event_store::{parse_since, EventStore, Query};

mod access_cmd;
mod bans_cmd;
mod scan_cmd;
mod scan_schedule;
mod vault_cmd;
mod waf_tune;

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
    /// Run the demo: the gateway in front of a small demo shop (a coffee &
    /// tea roaster), with the WAF, on a self-signed certificate. Prints the
    /// addresses to open; runs until Ctrl-C. State goes to --data DIR
    /// (default ./data), so every other command works against it.
    Demo(DemoArgs),
    /// The web application firewall: evaluate requests against rules.
    #[command(subcommand)]
    Waf(WafCommand),
    /// The OWASP Core Rule Set: install or verify a release.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// The card vault: tokenize and detokenize cards, keys and rotation,
    /// purge.
    #[command(subcommand)]
    Vault(vault_cmd::VaultCommand),
    /// Audit a store from the outside: TLS, HTTPS everywhere, security
    /// headers graded like the HTTP Observatory, exposed files, payment-page
    /// scripts. Stores the result as an event and shows what changed since
    /// the previous scan. Exit 1 when a finding reaches --fail-on.
    Scan(Box<scan_cmd::ScanArgs>),
    /// The advisory database (OSV JSON) that `scan` matches platforms,
    /// plugins and lockfiles against.
    #[command(subcommand)]
    Advisories(scan_cmd::AdvisoriesCommand),
    /// Staff accounts for the sign-in Rampart puts in front of the store's
    /// admin areas: add, list, disable (offboarding), roles, passwords,
    /// MFA reset, session revocation.
    #[command(subcommand)]
    Users(access_cmd::UsersCommand),
    /// Staff access reviews (accounts without MFA, unused accounts,
    /// privileged accounts, role changes) with a recorded sign-off.
    #[command(subcommand)]
    Access(access_cmd::AccessCommand),
    /// The tamper-evident staff audit trail: verify its hash chain, show it.
    #[command(subcommand)]
    Audit(access_cmd::AuditCommand),
    /// Bans made by the edge's jails (failed logins, card testing,
    /// scanning, WAF blocks) or by hand: list, add, remove. Every gateway
    /// sharing the database enforces them within a second.
    #[command(subcommand)]
    Bans(bans_cmd::BansCommand),
    /// Print the version.
    Version,
}

#[derive(Args)]
struct DemoArgs {
    /// Where the demo answers HTTPS
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    https: String,
    /// Where plain HTTP answers (redirects to HTTPS)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    http: String,
    /// The data directory (events, audit log, the shop's database)
    #[arg(long, value_name = "DIR", default_value = "data")]
    data: PathBuf,
    /// The OWASP CRS directory [default: the installed one, see `rampart
    /// rules install`]
    #[arg(long, value_name = "DIR", env = "RAMPART_CRS")]
    crs: Option<PathBuf>,
    /// Paranoia level of the WAF (1-4)
    #[arg(long, value_name = "N", default_value_t = 1)]
    paranoia: u8,
    /// `block` attacks or only `detect` them
    #[arg(long, value_name = "MODE", default_value = "block")]
    mode: String,
}

#[derive(Subcommand)]
enum WafCommand {
    /// Read one raw HTTP/1.1 request on stdin and print the verdict as
    /// JSON: {"rules":[ids],"anomaly_score":N,"action":"pass|block","status":N}.
    /// With --batch, stdin carries one JSON object per line
    /// {"id":"…","request":"<base64 raw request>"} and each output line
    /// adds the same id.
    Eval {
        /// The CRS directory (holds crs-setup.conf(.example) and rules/)
        #[arg(long, value_name = "DIR")]
        rules: PathBuf,
        /// Paranoia level (1-4)
        #[arg(long, value_name = "N", default_value_t = 1)]
        paranoia: u8,
        /// SecLang files loaded after the setup file, before the rules
        #[arg(long, value_name = "FILE")]
        include: Vec<PathBuf>,
        /// Many requests, one JSON object per line
        #[arg(long)]
        batch: bool,
        /// Load a store platform preset's exclusions too (demo,
        /// woocommerce, magento2, prestashop, shopware6)
        #[arg(long, value_name = "NAME")]
        platform: Option<String>,
    },
    /// List the noisiest rule/variable/route combinations the WAF recorded
    /// (best in detect mode, on legitimate traffic) with the narrowest
    /// exclusion for each; --apply writes the chosen ones to the site's
    /// exclusion file after showing them. A rule is removed from a whole
    /// site only with --remove-rule ID.
    Tune(waf_tune::TuneArgs),
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Install an OWASP CRS release under the data directory
    /// (DATA_DIR/crs/current), verified by SHA-256 before it replaces the
    /// installed one. Without --from, downloads the pinned release.
    Install {
        #[command(flatten)]
        state: StateArgs,
        /// A CRS directory, a release .tar.gz, or an https:// URL
        #[arg(long, value_name = "PATH|URL")]
        from: Option<String>,
        /// The SHA-256 of the tarball, for a release Rampart has not pinned
        #[arg(long, value_name = "HEX")]
        sha256: Option<String>,
    },
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
pub(crate) struct Failure(u8, String);

pub(crate) fn usage(msg: impl std::fmt::Display) -> Failure {
    Failure(2, msg.to_string())
}

/// Small, short-lived allocations dominate a WAF request (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // One TLS provider for the whole process (ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Version => {
            println!("rampart {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Config(ConfigCommand::Check { file }) => config_check(&file),
        Command::Demo(args) => demo(&args),
        Command::Waf(WafCommand::Eval {
            rules,
            paranoia,
            include,
            batch,
            platform,
        }) => waf_eval(&rules, paranoia, &include, batch, platform.as_deref()),
        Command::Waf(WafCommand::Tune(args)) => waf_tune::run(&args),
        Command::Rules(RulesCommand::Install {
            state,
            from,
            sha256,
        }) => rules_install(&state, from.as_deref(), sha256.as_deref()),
        Command::Serve(state) => serve(&state),
        Command::Scan(args) => scan_cmd::run(&args),
        Command::Advisories(cmd) => scan_cmd::advisories(&cmd),
        Command::Events(EventsCommand::Query { filter, limit }) => events_query(&filter, limit),
        Command::Events(EventsCommand::Tail { filter, lines }) => events_tail(&filter, lines),
        Command::Vault(command) => vault_cmd::run(command),
        Command::Users(command) => access_cmd::users(command),
        Command::Access(command) => access_cmd::access(command),
        Command::Audit(command) => access_cmd::audit(command),
        Command::Bans(command) => bans_cmd::run(command),
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

/// The card vault a gateway tokenizes into, opened once at start.
struct Cards {
    /// The `[vault]` it was opened with: a reload that changes it is
    /// refused (it takes a restart).
    config: Option<gateway::config::VaultConfig>,
    vault: Option<(Arc<vault::Vault>, vault::Tokenizer)>,
    /// The outbound proxy (`[vault.outbound]`), the API and their events,
    /// kept alive as long as the pipeline builder (the gateway) is.
    outbound: Option<gateway::outbound::OutboundProxy>,
    /// The detokenization API (`[vault.api]`).
    api: Option<gateway::vault_api::DetokenizeApi>,
}

/// What runs beside the gateway with an event bus of its own (the event
/// store and the `[[alerts]]` rules, as the gateway's own events have):
/// the outbound proxy, the detokenization API, the scheduled scans.
struct Side {
    bus: ops::bus::EventBus,
    alerts: gateway::alerts::Alerts,
    scans: Option<scan_schedule::Scheduler>,
    /// Dropped last: it delivers what the others emitted.
    _dispatcher: ops::bus::Dispatcher,
}

impl Side {
    fn open(config: &Config) -> Result<Side, Failure> {
        let data = &config.server.data_dir;
        gateway::server::prepare_data_dir(data).map_err(|e| usage(e.0))?;
        let store =
            ops::event_store::EventStore::open(&data.join("events.sqlite")).map_err(usage)?;
        let (alerts, sink) = gateway::alerts::Alerts::start(config.alerts.clone());
        let (bus, dispatcher) = ops::bus::EventBus::start(vec![Box::new(store), sink]);
        Ok(Side {
            bus,
            alerts,
            scans: None,
            _dispatcher: dispatcher,
        })
    }

    /// Starts the scheduled scans (inside the runtime).
    fn start_scans(&mut self, config: &Config) {
        let bus = self.bus.clone();
        self.scans = Some(scan_schedule::Scheduler::start(
            config.scans.clone(),
            config.server.data_dir.clone(),
            move |e| bus.emit(e),
        ));
    }

    /// A reloaded configuration's alert rules and scans.
    fn reload(&self, config: &Config) {
        self.alerts.replace(config.alerts.clone());
        if let Some(s) = &self.scans {
            s.replace(&config.scans);
        }
    }
}

impl Cards {
    /// ` outbound=ADDR` and ` api=ADDR` for the ready line, for what runs.
    fn ready_suffix(&self) -> String {
        let mut out = String::new();
        if let Some(o) = &self.outbound {
            out.push_str(&format!(" outbound={}", o.local_addr()));
        }
        if let Some(a) = &self.api {
            out.push_str(&format!(" api={}", a.local_addr()));
        }
        out
    }
}

impl Cards {
    /// Opens `[vault]`, if configured (inside the runtime: the tokenizer
    /// is a task).
    async fn open(config: &Config, side: &Side) -> Result<Cards, Failure> {
        let vault = gateway::stages::tokenize::open_vault(config)
            .await
            .map_err(usage)?
            .map(|v| (v.clone(), vault::Tokenizer::spawn(v, 256)));
        let wanted = config.vault.as_ref();
        let wanted = (
            wanted.and_then(|v| v.outbound.as_ref()),
            wanted.and_then(|v| v.api.as_ref()),
        );
        let (mut outbound, mut api) = (None, None);
        if let Some((v, _)) = &vault {
            let data = &config.server.data_dir;
            if let Some(o) = wanted.0 {
                let proxy =
                    gateway::outbound::OutboundProxy::start(o, data, v.clone(), side.bus.clone())
                        .await
                        .map_err(|e| usage(format!("[vault.outbound]: {e}")))?;
                outbound = Some(proxy);
            }
            if let Some(a) = wanted.1 {
                let started =
                    gateway::vault_api::DetokenizeApi::start(a, data, v.clone(), side.bus.clone())
                        .await
                        .map_err(|e| usage(format!("[vault.api]: {e}")))?;
                api = Some(started);
            }
        }
        Ok(Cards {
            config: config.vault.clone(),
            vault,
            outbound,
            api,
        })
    }
}

/// The stages every request goes through, in order: inline tokenization
/// (so the WAF and its audit trail only see tokens), the WAF, and leak
/// prevention (its response phase after the WAF's). The gateway puts the
/// edge and the access gate in front.
fn pipeline(cards: Cards, side: Side) -> PipelineBuilder {
    // One Arc for the whole: the closure must own the outbound proxy too
    // (it captures what it names, and the proxy stops when dropped).
    let cards = Arc::new((cards, side));
    Arc::new(move |config: &Config| {
        let (cards, side) = &*cards;
        if config.vault != cards.config {
            return Err(
                "the [vault] table changed: restart Rampart to put it in force".to_string(),
            );
        }
        side.reload(config);
        let mut stages: Vec<Arc<dyn gateway::Stage>> = Vec::new();
        if let Some((vault, tokenizer)) = &cards.vault {
            stages.push(Arc::new(gateway::stages::tokenize::Tokenization::new(
                vault.clone(),
                tokenizer.clone(),
            )));
        }
        if let Some(waf) = Waf::from_config(config)? {
            stages.push(Arc::new(waf));
        }
        if config
            .sites
            .iter()
            .any(|s| s.cards.leaks != gateway::config::LeakAction::Off)
        {
            stages.push(Arc::new(gateway::stages::leaks::LeakPrevention));
        }
        Ok(Pipeline::new(stages))
    })
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
    runtime.block_on(async {
        let mut side = Side::open(&config)?;
        side.start_scans(&config);
        let cards = Cards::open(&config, &side).await?;
        let suffix = cards.ready_suffix();
        gateway::serve(config, pipeline(cards, side), reload, move |addrs| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}{suffix}", addrs.ready_line());
            let _ = out.flush();
        })
        .await
        .map_err(usage)
    })?;
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

/// The demo's first staff account: created on the first run, with a
/// generated password, an authenticator and recovery codes, all shown
/// once (the banner text); `None` when accounts exist already.
async fn demo_staff(data: &Path) -> Result<Option<String>, Failure> {
    let db = store::Database::open_sqlite(&data.join("rampart.sqlite"))
        .await
        .map_err(usage)?;
    let auth = auth::Auth::open(db, auth::Settings::default())
        .await
        .map_err(|e| usage(format!("staff database: {e}")))?;
    if auth
        .has_users()
        .await
        .map_err(|e| usage(format!("staff database: {e}")))?
    {
        return Ok(None);
    }
    let account = auth
        .add_user("owner", None, "owner", true, "rampart demo")
        .await
        .map_err(|e| usage(format!("creating the demo's staff account: {e}")))?;
    let mut s = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(s, "       user:     owner");
    if let Some(p) = &account.generated_password {
        let _ = writeln!(s, "       password: {}   (shown once)", p.expose());
    }
    if let Some(e) = &account.enrollment {
        let _ = writeln!(
            s,
            "       authenticator secret: {}\n       (or the link {})",
            e.totp_secret.expose(),
            e.otpauth_uri.expose()
        );
        if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            if let Ok(qr) = auth::totp::qr_text(e.otpauth_uri.expose()) {
                let _ = writeln!(s, "{qr}");
            }
        }
        let codes: Vec<&str> = e.recovery_codes.iter().map(|c| c.expose()).collect();
        let _ = writeln!(
            s,
            "       recovery codes (each works once): {}",
            codes.join(" ")
        );
    }
    Ok(Some(s))
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

fn waf_eval(
    dir: &Path,
    paranoia: u8,
    include: &[PathBuf],
    batch: bool,
    platform: Option<&str>,
) -> Result<(), Failure> {
    use std::io::{BufRead, Read};
    if !(1..=4).contains(&paranoia) {
        return Err(usage(format!("--paranoia {paranoia}: use 1, 2, 3 or 4")));
    }
    let mut opts = seclang::crs::CrsOptions::new(dir);
    opts.paranoia = Some(paranoia);
    opts.mode = Some(seclang::EngineMode::On);
    opts.includes = include.to_vec();
    if let Some(name) = platform {
        match gateway::presets::get(name) {
            Some(p) => opts.extra.push((format!("preset {name}"), p.exclusions)),
            None if name == "generic" => {}
            None => {
                return Err(usage(format!(
                    "--platform {name:?}: use one of {}",
                    gateway::presets::names().join(", ")
                )))
            }
        }
    }
    let rules = Arc::new(seclang::crs::load(&opts).map_err(usage)?);
    let connection = || seclang::Connection {
        client_ip: "127.0.0.1".into(),
        client_port: 50000,
        server_ip: "127.0.0.1".into(),
        server_port: 443,
        unique_id: "waf-eval".into(),
    };
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    if !batch {
        let mut raw = Vec::new();
        stdin
            .lock()
            .read_to_end(&mut raw)
            .map_err(|e| usage(format!("reading stdin: {e}")))?;
        let v = seclang::verdict::evaluate(&rules, &raw, connection());
        writeln!(out, "{}", serde_json::to_string(&v).unwrap_or_default())
            .map_err(|e| usage(format!("writing stdout: {e}")))?;
        return Ok(());
    }
    #[derive(serde::Deserialize)]
    struct Line {
        id: serde_json::Value,
        request: String,
    }
    for (n, line) in stdin.lock().lines().enumerate() {
        let line = line.map_err(|e| usage(format!("reading stdin: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let item: Line = serde_json::from_str(&line).map_err(|e| {
            usage(format!(
                "stdin line {}: not {{\"id\",\"request\"}} JSON: {e}",
                n + 1
            ))
        })?;
        let raw = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            item.request.trim(),
        )
        .map_err(|e| usage(format!("stdin line {}: request is not base64: {e}", n + 1)))?;
        let v = seclang::verdict::evaluate(&rules, &raw, connection());
        let mut obj = serde_json::to_value(&v).unwrap_or_default();
        obj["id"] = item.id;
        writeln!(out, "{obj}").map_err(|e| usage(format!("writing stdout: {e}")))?;
    }
    out.flush()
        .map_err(|e| usage(format!("writing stdout: {e}")))
}

fn rules_install(
    state: &StateArgs,
    from: Option<&str>,
    sha256: Option<&str>,
) -> Result<(), Failure> {
    let located =
        StateLocation::resolve(state.config.as_deref(), state.data.as_deref()).map_err(usage)?;
    std::fs::create_dir_all(&located.data_dir)
        .map_err(|e| usage(format!("{}: {e}", located.data_dir.display())))?;
    let release = gateway::crs_install::default_release();
    let from = from.unwrap_or(release.url);
    let installed = gateway::crs_install::install(&located.data_dir, from, sha256)
        .map_err(|e| Failure(1, format!("rules install: {e}")))?;
    println!(
        "installed OWASP CRS {} in {} (content SHA-256 {})",
        installed.version.unwrap_or("(unpinned, tarball verified)"),
        installed.dir.display(),
        installed.content_sha256
    );
    Ok(())
}

fn demo(args: &DemoArgs) -> Result<(), Failure> {
    let https: std::net::SocketAddr = args.https.parse().map_err(|_| {
        usage(format!(
            "--https {:?} is not an address like 127.0.0.1:8443",
            args.https
        ))
    })?;
    let http: std::net::SocketAddr = args.http.parse().map_err(|_| {
        usage(format!(
            "--http {:?} is not an address like 127.0.0.1:8080",
            args.http
        ))
    })?;
    if !(1..=4).contains(&args.paranoia) {
        return Err(usage(format!(
            "--paranoia {}: use 1, 2, 3 or 4",
            args.paranoia
        )));
    }
    if args.mode != "block" && args.mode != "detect" {
        return Err(usage(format!(
            "--mode {:?}: use block or detect",
            args.mode
        )));
    }
    std::fs::create_dir_all(&args.data)
        .map_err(|e| usage(format!("data directory {}: {e}", args.data.display())))?;
    let data = std::fs::canonicalize(&args.data)
        .map_err(|e| usage(format!("data directory {}: {e}", args.data.display())))?;
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .init();

    // The rule set: as configured, else installed, else fetched now.
    let probe = gateway::WafConfig {
        crs: args.crs.clone(),
        paranoia: args.paranoia,
        mode: gateway::WafMode::Block,
        include: Vec::new(),
        exclusions: None,
        plugins: None,
    };
    let crs = match gateway::stages::waf::resolve_crs(&probe, &data) {
        Ok(dir) => Some(dir),
        Err(_) => {
            eprintln!("rampart demo: no OWASP CRS installed; fetching the pinned release…");
            let release = gateway::crs_install::default_release();
            match gateway::crs_install::install(&data, release.url, None) {
                Ok(i) => Some(i.dir),
                Err(e) => {
                    eprintln!(
                        "rampart demo: WARNING: the WAF is OFF: no rule set ({e}). Install one with \
                         `rampart rules install --from PATH` or pass --crs DIR."
                    );
                    None
                }
            }
        }
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| usage(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let shop_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| usage(format!("cannot open a port for the demo shop: {e}")))?;
        let shop_addr = shop_listener
            .local_addr()
            .map_err(|e| usage(format!("demo shop: {e}")))?;
        let shop_dir = data.join("demo-shop");
        std::fs::create_dir_all(&shop_dir).map_err(|e| usage(format!("{}: {e}", shop_dir.display())))?;
        // The shop's payment provider: the simulated processor as a
        // separate HTTPS service, reached through Rampart's outbound proxy
        // (which puts the card numbers back that the checkout tokenized).
        let (provider_cert, provider_key) =
            demo_shop::simulated_provider_certificate("localhost").map_err(usage)?;
        let provider_ca = data.join("demo-provider.pem");
        std::fs::write(&provider_ca, &provider_cert)
            .map_err(|e| usage(format!("{}: {e}", provider_ca.display())))?;
        let provider_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| usage(format!("cannot open a port for the payment provider: {e}")))?;
        let provider_port = provider_listener
            .local_addr()
            .map_err(|e| usage(format!("payment provider: {e}")))?
            .port();
        let provider = tokio::spawn(async move {
            demo_shop::serve_simulated_provider_tls(provider_listener, &provider_cert, &provider_key).await
        });
        let keys = data.join("vault.keys");
        if !keys.exists() {
            vault::keygen(&keys).map_err(|e| usage(format!("demo vault keys: {e}")))?;
        }
        let staff = demo_staff(&data).await?;

        let waf = match &crs {
            Some(dir) => format!(
                "\n[site.waf]\ncrs = {:?}\nparanoia = {}\nmode = {:?}\n",
                dir.display().to_string(),
                args.paranoia,
                args.mode
            ),
            None => String::new(),
        };
        let text = format!(
            "# Written by `rampart demo`: the demo's configuration.\n\
             [server]\nhttps = {:?}\nhttp = {:?}\ndata_dir = {:?}\n\n\
             # Edge defenses on their defaults: per-address connection cap and rate\n\
             # limits, jails for failed logins, card testing, 404 scans and WAF blocks,\n\
             # bans (see `rampart bans list`).\n\
             [edge]\n\n\
             # The card vault: checkout card numbers become tokens before the shop\n\
             # sees them; the shop's calls to its payment provider go through the\n\
             # outbound proxy, which puts them back for that destination only.\n\
             [vault]\nkey_file = {keys:?}\n\n\
             [vault.outbound]\nlisten = \"127.0.0.1:0\"\ntrust = {provider_ca:?}\n\n\
             [[vault.outbound.destinations]]\nurl = \"https://localhost:{provider_port}/v1/charges\"\n\
             fields = [\"card.number\"]\ncvv_fields = [\"card.cvc\"]\n\n\
             [[site]]\nname = \"demo-shop\"\nhosts = [\"localhost\", \"127.0.0.1\", \"shop.localhost\"]\n\
             upstream = \"http://{shop_addr}\"\ntls = {{ self_signed = true }}\nplatform = \"demo\"\n\n\
             # The shop's back office, behind Rampart's staff sign-in (password + TOTP).\n\
             [[site.protect]]\npaths = [\"/admin\"]\n{waf}",
            https.to_string(),
            http.to_string(),
            data.display().to_string(),
            keys = keys.display().to_string(),
            provider_ca = provider_ca.display().to_string(),
        );
        let file = data.join("rampart-demo.toml");
        std::fs::write(&file, &text).map_err(|e| usage(format!("{}: {e}", file.display())))?;
        let config = Config::load(&file).map_err(usage)?;
        let mut side = Side::open(&config)?;
        side.start_scans(&config);
        let cards = Cards::open(&config, &side).await?;
        let mut shop_config = demo_shop::ShopConfig::new(&shop_dir);
        if let Some(o) = &cards.outbound {
            shop_config.payment_provider = demo_shop::PaymentProvider::Remote {
                url: format!("https://localhost:{provider_port}/v1/charges"),
                proxy: Some(format!("http://{}", o.local_addr())),
                ca_file: Some(o.ca_path().to_path_buf()),
            };
        }
        let shop = tokio::spawn(demo_shop::serve(shop_listener, shop_config));
        let reload: Option<gateway::ConfigSource> = Some(Box::new(move || {
            Config::load(&file).map_err(|e| e.to_string())
        }));
        let with_waf = crs.is_some();
        let mode = args.mode.clone();
        let data_text = data.display().to_string();
        let staff = staff.unwrap_or_else(|| {
            format!(
                "       user owner (its password and authenticator secret were shown on the first run;\n\
                        \x20      new ones: rampart users set-password owner --data {data_text}\n\
                        \x20                rampart users reset-mfa owner --data {data_text})\n"
            )
        });
        let suffix = cards.ready_suffix();
        let result = gateway::serve(config, pipeline(cards, side), reload, move |addrs| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}{suffix}", addrs.ready_line());
            let port = addrs.https.port();
            let _ = writeln!(
                out,
                "\nRampart demo: the Ember & Leaf shop behind Rampart\n\
                 \n  Shop:        https://localhost:{port}/   (self-signed certificate: accept it in the browser)\n\
                 \n  Plain HTTP:  http://localhost:{}/   (redirects to HTTPS)\n\
                 \n  WAF:         {}\n\
                 \n  Try an attack: https://localhost:{port}/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E\n\
                 \n  Card data:   checkout card numbers become tokens before the shop sees them\n\
                 \x20              (test card 4242 4242 4242 4242; 4000 0000 0000 0002 is declined)\n\
                 \n  Customer login: {} / {}\n\
                 \n  Shop admin:     https://localhost:{port}/admin\n\
                 \n    1. Rampart staff sign-in (password, then the code from your authenticator app):\n{staff}\
                 \n    2. then the shop's own admin login: {} / {}\n\
                 \n  Events:  rampart events tail --data {}\n\
                 \nCtrl-C stops the demo.",
                addrs.http.map(|a| a.port()).unwrap_or(0),
                if with_waf {
                    format!("OWASP CRS, paranoia {}, {mode} mode", args.paranoia)
                } else {
                    "OFF (no rule set installed)".to_string()
                },
                demo_shop::DEMO_CUSTOMER_EMAIL,
                demo_shop::DEMO_CUSTOMER_PASSWORD,
                demo_shop::DEMO_STAFF_USERNAME,
                demo_shop::DEMO_STAFF_PASSWORD,
                data.display()
            );
            let _ = out.flush();
        })
        .await
        .map_err(usage);
        shop.abort();
        provider.abort();
        result
    })?;
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}
