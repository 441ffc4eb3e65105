//! The gateway's configuration file (`rampart.toml`): its TOML shape, the
//! checks that make a file valid, and the validated [`Config`] the rest of
//! the gateway reads.
//!
//! Owns: parsing, defaults, semantic validation with `file:line:col`
//! locations. Must not: open sockets, read certificates or touch the data
//! directory (that happens when a [`Config`] is put to work, in
//! `runtime`). Every table rejects unknown keys, so a typo is an error
//! rather than a silently ignored setting. `docs/config.md` documents every
//! key; keep the two in step.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

#[path = "access_config.rs"]
mod access;
pub use access::{ProtectConfig, StepUp};
#[path = "cards_config.rs"]
mod cards;
pub use cards::{LeakAction, SiteCards, VaultConfig};
#[path = "edge/config.rs"]
mod edge;
#[path = "scan_config.rs"]
mod scan;
pub use edge::{
    parse_net, ChallengeConfig, ClusterConfig, EdgeConfig, Jail, JailKind, Limit, RouteClass,
    SiteLimits,
};
pub use scan::ScanSchedule;

/// A configuration problem, with the place in the file when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or `<input>` for text given directly).
    pub file: String,
    /// 1-based line and column of the offending key or value.
    pub position: Option<(usize, usize)>,
    /// What is wrong, in one line.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, col)) => write!(f, "{}:{line}:{col}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

// ---------------------------------------------------------------------------
// The file as written. Every table denies unknown keys.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    server: Spanned<FileServer>,
    edge: Option<edge::FileEdge>,
    cluster: Option<edge::FileCluster>,
    vault: Option<cards::FileVault>,
    #[serde(default)]
    alerts: Vec<Spanned<crate::alerts::AlertRule>>,
    #[serde(default)]
    scan: Vec<Spanned<scan::FileScan>>,
    #[serde(default)]
    site: Vec<Spanned<FileSite>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileServer {
    http: Option<Spanned<String>>,
    https: Spanned<String>,
    admin: Option<Spanned<String>>,
    data_dir: Option<Spanned<String>>,
    public_https_port: Option<u16>,
    #[serde(default)]
    trusted_proxies: Vec<Spanned<String>>,
    max_header_count: Option<Spanned<usize>>,
    max_header_bytes: Option<Spanned<usize>>,
    header_read_timeout_ms: Option<u64>,
    body_timeout_ms: Option<Spanned<u64>>,
    body_min_rate: Option<Spanned<u64>>,
    tls_handshake_timeout_ms: Option<u64>,
    drain_timeout_ms: Option<u64>,
    inspection_buffer_bytes: Option<usize>,
    database: Option<Spanned<String>>,
    proxy_protocol: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSite {
    name: Option<Spanned<String>>,
    hosts: Spanned<Vec<Spanned<String>>>,
    upstream: Spanned<String>,
    tls: Spanned<FileTls>,
    #[serde(default)]
    headers: FileHeaders,
    connect_timeout_ms: Option<u64>,
    response_timeout_ms: Option<u64>,
    max_request_body_bytes: Option<u64>,
    waf: Option<Spanned<FileWaf>>,
    default: Option<Spanned<bool>>,
    platform: Option<Spanned<String>>,
    #[serde(default)]
    protect: Vec<Spanned<access::FileProtect>>,
    limits: Option<Spanned<edge::FileSiteLimits>>,
    cards: Option<Spanned<cards::FileCards>>,
}

/// `[site.waf]`: the ModSecurity-compatible WAF with the OWASP CRS.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileWaf {
    crs: Option<Spanned<String>>,
    paranoia: Option<Spanned<u8>>,
    mode: Option<Spanned<String>>,
    #[serde(default)]
    include: Vec<Spanned<String>>,
    exclusions: Option<Spanned<String>>,
    plugins: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTls {
    cert: Option<Spanned<String>>,
    key: Option<Spanned<String>>,
    self_signed: Option<Spanned<bool>>,
    acme: Option<Spanned<FileAcme>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAcme {
    directory: Spanned<String>,
    email: Spanned<String>,
    challenge: Option<Spanned<String>>,
    ca: Option<Spanned<String>>,
    renew_days: Option<Spanned<u64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileHeaders {
    hsts: Option<bool>,
    hsts_max_age: Option<u64>,
    hsts_include_subdomains: Option<bool>,
    hsts_preload: Option<bool>,
    nosniff: Option<bool>,
    referrer_policy: Option<Spanned<String>>,
    frame_ancestors: Option<Spanned<String>>,
    override_store: Option<bool>,
}

// ---------------------------------------------------------------------------
// The validated configuration.

/// A validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file it came from, if any; relative paths were resolved against
    /// its directory.
    pub source: Option<PathBuf>,
    pub server: ServerConfig,
    /// `[edge]`: connection caps, rate limits, lists, jails and bans;
    /// `None` when the table is absent or `enabled = false`.
    pub edge: Option<EdgeConfig>,
    /// `[cluster]`: Redis shared by several nodes for the edge's buckets,
    /// jail counters and bans.
    pub cluster: Option<ClusterConfig>,
    /// `[vault]`: the card vault checkout requests are tokenized into.
    pub vault: Option<VaultConfig>,
    /// `[[alerts]]`: events sent to a webhook.
    pub alerts: Vec<crate::alerts::AlertRule>,
    /// `[[scan]]`: scans `rampart serve` runs on a schedule.
    pub scans: Vec<ScanSchedule>,
    pub sites: Vec<SiteConfig>,
}

/// `[server]`: listeners and connection-level limits.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Plain HTTP listener; it only redirects to HTTPS.
    pub http: Option<SocketAddr>,
    /// The HTTPS listener that proxies to the sites.
    pub https: SocketAddr,
    /// Admin listener (`/metrics`, `/healthz`).
    pub admin: Option<SocketAddr>,
    /// Where events, certificates and other state live.
    pub data_dir: PathBuf,
    /// The HTTPS port clients see (when a firewall forwards 443 to the
    /// listener); default: the HTTPS listener's own port.
    pub public_https_port: Option<u16>,
    /// Proxies in front of Rampart whose `X-Forwarded-For`/`Forwarded`
    /// headers are kept and appended to; from anyone else they are replaced.
    pub trusted_proxies: Vec<IpNet>,
    pub max_header_count: usize,
    pub max_header_bytes: usize,
    pub header_read_timeout: Duration,
    /// A request body must arrive within this, plus a second for every
    /// `body_min_rate` bytes received (slow-POST protection).
    pub body_timeout: Duration,
    pub body_min_rate: u64,
    pub tls_handshake_timeout: Duration,
    /// How long shutdown waits for in-flight requests.
    pub drain_timeout: Duration,
    /// Most bytes of a body buffered for stages that inspect bodies.
    pub inspection_buffer_bytes: usize,
    /// Connections from `trusted_proxies` start with a PROXY protocol
    /// header naming the client.
    pub proxy_protocol: bool,
    /// The shared database (`postgres://…`) for staff accounts, sessions
    /// and the vault; `None`: SQLite at `DATA_DIR/rampart.sqlite`.
    pub database: Option<String>,
}

/// One `[[site]]`: a store behind Rampart.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteConfig {
    /// Name used in metrics and events (default: the first host).
    pub name: String,
    /// Lower-case host names or IP addresses, without port.
    pub hosts: Vec<String>,
    /// The store: `http://host:port`.
    pub upstream: Upstream,
    pub tls: TlsSource,
    pub headers: SecurityHeaders,
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
    /// Larger request bodies are refused with 413.
    pub max_request_body_bytes: u64,
    /// The WAF, when the site has a `[site.waf]` table.
    pub waf: Option<WafConfig>,
    /// Serves requests whose Host no site lists (at most one site).
    pub default: bool,
    /// The store platform (`platform = "woocommerce"`); `None` for
    /// `generic` or when not set.
    pub platform: Option<crate::presets::Preset>,
    /// `[[site.protect]]`: areas behind Rampart's staff sign-in.
    pub protect: Vec<ProtectConfig>,
    /// `[site.limits]`: the site's own rate limits and body timeouts.
    pub limits: SiteLimits,
    /// `[site.cards]`: inline tokenization and leak prevention.
    pub cards: SiteCards,
}

/// Whether the WAF blocks or only records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WafMode {
    Block,
    Detect,
}

/// `[site.waf]`.
#[derive(Debug, Clone, PartialEq)]
pub struct WafConfig {
    /// The CRS directory; `None` looks in the standard places
    /// (`/usr/share/modsecurity-crs`, then `DATA_DIR/crs`).
    pub crs: Option<PathBuf>,
    pub paranoia: u8,
    pub mode: WafMode,
    /// The site's own SecLang files (exclusions), loaded after the CRS
    /// setup and before the rules.
    pub include: Vec<PathBuf>,
    /// The exclusion file `rampart waf tune --apply` writes and the WAF
    /// loads after the preset and the includes, when it exists; `None`:
    /// `DATA_DIR/waf/SITE.exclusions.conf`.
    pub exclusions: Option<PathBuf>,
    /// A CRS plugins directory; `None`: the CRS directory's `plugins/`.
    pub plugins: Option<PathBuf>,
}

/// Where a store listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// `host:port` as written (port filled in).
    pub authority: http::uri::Authority,
}

/// Where a site's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// PEM files, reloaded when they change.
    Files { cert: PathBuf, key: PathBuf },
    /// A certificate generated once and kept under the data directory.
    SelfSigned,
    /// Issued by an ACME CA (RFC 8555), renewed before expiry.
    Acme(AcmeConfig),
}

/// `tls = { acme = { ... } }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeConfig {
    pub directory: String,
    pub email: String,
    pub challenge: AcmeChallenge,
    /// PEM roots trusted for the directory's HTTPS instead of the system's
    /// (a private CA such as step-ca).
    pub ca: Option<PathBuf>,
    /// Renew when fewer days remain; `None`: 30 days, or a third of the
    /// lifetime for certificates shorter-lived than 90 days.
    pub renew_days: Option<u32>,
}

impl AcmeConfig {
    /// The host names an ACME CA can certify: every host but IP addresses
    /// and `localhost` (and names under it), which are returned second.
    pub fn split_hosts(hosts: &[String]) -> (Vec<String>, Vec<String>) {
        hosts.iter().cloned().partition(|h| {
            h.parse::<IpAddr>().is_err() && h != "localhost" && !h.ends_with(".localhost")
        })
    }
}

/// How an ACME CA verifies control of a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcmeChallenge {
    Http01,
    TlsAlpn01,
}

/// Security headers added to every HTTPS response of a site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityHeaders {
    pub hsts: bool,
    pub hsts_max_age: u64,
    pub hsts_include_subdomains: bool,
    pub hsts_preload: bool,
    pub nosniff: bool,
    /// Empty: not sent.
    pub referrer_policy: String,
    /// Sent as `Content-Security-Policy: frame-ancestors VALUE`; empty: not
    /// sent.
    pub frame_ancestors: String,
    /// Replace a header the store already set instead of keeping it.
    pub override_store: bool,
}

impl Default for SecurityHeaders {
    fn default() -> Self {
        SecurityHeaders {
            hsts: true,
            hsts_max_age: 31_536_000,
            hsts_include_subdomains: false,
            hsts_preload: false,
            nosniff: true,
            referrer_policy: "strict-origin-when-cross-origin".into(),
            frame_ancestors: "'self'".into(),
            override_store: false,
        }
    }
}

impl Config {
    /// Reads and validates `path`. Relative paths inside are resolved
    /// against the file's directory.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            position: None,
            message: format!("cannot read: {e}"),
        })?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let mut config = Config::parse(&text, &path.display().to_string(), &base)?;
        config.source = Some(path.to_path_buf());
        Ok(config)
    }

    /// Parses and validates TOML `text`; `file` names it in errors and
    /// relative paths are resolved against `base`.
    pub fn parse(text: &str, file: &str, base: &Path) -> Result<Config, ConfigError> {
        let at = |span: Option<Range<usize>>, message: String| ConfigError {
            file: file.to_string(),
            position: span.map(|s| line_col(text, s.start)),
            message,
        };
        let raw: FileConfig = toml::from_str(text).map_err(|e| {
            let message = e.message().trim().replace('\n', " ");
            at(e.span(), message)
        })?;
        Validator { at: &at, base }.config(raw)
    }
}

/// Where a command finds its state, from `--config FILE` and `--data DIR`
/// (ARCHITECTURE.md contract): the configuration is `--config`, else
/// `./rampart.toml` when present, else none; the data directory is
/// `--data`, else the configuration's `server.data_dir`, else `./data`.
#[derive(Debug, Clone)]
pub struct StateLocation {
    pub config: Option<Config>,
    pub data_dir: PathBuf,
}

impl StateLocation {
    pub fn resolve(
        config: Option<&Path>,
        data: Option<&Path>,
    ) -> Result<StateLocation, ConfigError> {
        let default_file = Path::new("rampart.toml");
        let file = match config {
            Some(f) => Some(f),
            None if default_file.is_file() => Some(default_file),
            None => None,
        };
        let mut config = file.map(Config::load).transpose()?;
        let data_dir = match (data, &config) {
            (Some(d), _) => d.to_path_buf(),
            (None, Some(c)) => c.server.data_dir.clone(),
            (None, None) => PathBuf::from("data"),
        };
        if let Some(c) = &mut config {
            c.server.data_dir = data_dir.clone();
        }
        Ok(StateLocation { config, data_dir })
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

struct Validator<'a, F: Fn(Option<Range<usize>>, String) -> ConfigError> {
    at: &'a F,
    base: &'a Path,
}

impl<F: Fn(Option<Range<usize>>, String) -> ConfigError> Validator<'_, F> {
    fn err<T>(&self, span: Range<usize>, message: impl Into<String>) -> Result<T, ConfigError> {
        Err((self.at)(Some(span), message.into()))
    }

    fn path(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    fn addr(&self, value: &Spanned<String>, key: &str) -> Result<SocketAddr, ConfigError> {
        value.get_ref().parse().or_else(|_| {
            self.err(
                value.span(),
                format!(
                    "{key} = {:?} is not an address like \"127.0.0.1:8443\" or \"[::1]:8443\"",
                    value.get_ref()
                ),
            )
        })
    }

    fn config(&self, raw: FileConfig) -> Result<Config, ConfigError> {
        let server_span = raw.server.span();
        let server = self.server(raw.server.into_inner(), server_span.clone())?;
        let edge = match raw.edge {
            Some(e) => self.edge(e)?,
            None => None,
        };
        let cluster = raw.cluster.map(|c| self.cluster(c)).transpose()?;
        let vault = raw.vault.map(|v| self.vault(v)).transpose()?;
        let mut alerts = Vec::new();
        for a in raw.alerts {
            if let Err(e) = a.get_ref().validate() {
                return self.err(a.span(), format!("[[alerts]]: {e}"));
            }
            alerts.push(a.into_inner());
        }
        let scans = raw
            .scan
            .into_iter()
            .map(|s| self.scan(s))
            .collect::<Result<Vec<_>, _>>()?;
        if raw.site.is_empty() {
            return self.err(
                server_span,
                "no [[site]] configured: add at least one site with hosts, upstream and tls",
            );
        }
        let mut sites = Vec::with_capacity(raw.site.len());
        let mut owner: HashMap<String, String> = HashMap::new();
        let mut names: HashMap<String, ()> = HashMap::new();
        for site in raw.site {
            let site_span = site.span();
            let site = site.into_inner();
            let hosts_span = site.hosts.span();
            let mut hosts = Vec::new();
            for host in site.hosts.into_inner() {
                let h = self.host(&host)?;
                if let Some(other) = owner.get(&h) {
                    return self.err(
                        host.span(),
                        format!("host {h:?} is already served by site {other:?}"),
                    );
                }
                hosts.push(h);
            }
            if hosts.is_empty() {
                return self.err(
                    hosts_span,
                    "hosts is empty: list the names this site answers to",
                );
            }
            let name = match &site.name {
                Some(n) => {
                    let ok = !n.get_ref().is_empty()
                        && n.get_ref().len() <= 64
                        && n.get_ref()
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
                    if !ok {
                        return self.err(
                            n.span(),
                            "name must be 1-64 characters of letters, digits, '.', '_' or '-'",
                        );
                    }
                    n.get_ref().clone()
                }
                None => hosts[0].clone(),
            };
            if names.insert(name.clone(), ()).is_some() {
                let span = site.name.as_ref().map(|n| n.span()).unwrap_or(site_span);
                return self.err(
                    span,
                    format!("two sites are named {name:?}: names must be unique"),
                );
            }
            for h in &hosts {
                owner.insert(h.clone(), name.clone());
            }
            let upstream = self.upstream(&site.upstream)?;
            let tls = self.tls(site.tls, &hosts, server.http.is_some())?;
            let headers = self.headers(site.headers)?;
            let waf = site.waf.map(|w| self.waf(w.into_inner())).transpose()?;
            let platform = match &site.platform {
                None => None,
                Some(p) => match crate::presets::get(p.get_ref()) {
                    Some(preset) => Some(preset),
                    None if p.get_ref() == "generic" => None,
                    None => {
                        return self.err(
                            p.span(),
                            format!(
                                "platform = {:?}: use one of {}",
                                p.get_ref(),
                                crate::presets::names()
                                    .iter()
                                    .map(|n| format!("\"{n}\""))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        )
                    }
                },
            };
            let protect = site
                .protect
                .into_iter()
                .map(|p| self.protect(p))
                .collect::<Result<Vec<_>, _>>()?;
            let limits = site
                .limits
                .map(|l| self.site_limits(l, edge.is_some()))
                .transpose()?
                .unwrap_or_default();
            let cards = self.cards(site.cards, vault.is_some())?;
            let default = match &site.default {
                Some(d) if *d.get_ref() => {
                    if sites.iter().any(|s: &SiteConfig| s.default) {
                        return self.err(d.span(), "only one site can be the default");
                    }
                    true
                }
                _ => false,
            };
            sites.push(SiteConfig {
                name,
                hosts,
                upstream,
                tls,
                headers,
                connect_timeout: Duration::from_millis(site.connect_timeout_ms.unwrap_or(5_000)),
                response_timeout: Duration::from_millis(site.response_timeout_ms.unwrap_or(60_000)),
                max_request_body_bytes: site.max_request_body_bytes.unwrap_or(64 * 1024 * 1024),
                waf,
                default,
                platform,
                protect,
                limits,
                cards,
            });
        }
        Ok(Config {
            source: None,
            server,
            edge,
            cluster,
            vault,
            alerts,
            scans,
            sites,
        })
    }

    fn waf(&self, w: FileWaf) -> Result<WafConfig, ConfigError> {
        let paranoia = match w.paranoia {
            Some(p) if !(1..=4).contains(p.get_ref()) => {
                return self.err(p.span(), "paranoia must be 1, 2, 3 or 4")
            }
            Some(p) => p.into_inner(),
            None => 1,
        };
        let mode = match &w.mode {
            None => WafMode::Block,
            Some(m) => match m.get_ref().as_str() {
                "block" => WafMode::Block,
                "detect" => WafMode::Detect,
                other => {
                    return self.err(
                        m.span(),
                        format!("mode = {other:?}: use \"block\" or \"detect\""),
                    )
                }
            },
        };
        let crs = match &w.crs {
            Some(c) => {
                let dir = self.path(c.get_ref());
                if !dir.join("rules").is_dir() {
                    return self.err(
                        c.span(),
                        format!(
                            "crs = {:?}: {} has no rules/ directory (install one with `rampart rules install`)",
                            c.get_ref(),
                            dir.display()
                        ),
                    );
                }
                Some(dir)
            }
            None => None,
        };
        let mut include = Vec::new();
        for f in &w.include {
            let p = self.path(f.get_ref());
            if !p.is_file() {
                return self.err(f.span(), format!("include: {} does not exist", p.display()));
            }
            include.push(p);
        }
        let exclusions = w.exclusions.as_ref().map(|f| self.path(f.get_ref()));
        let plugins = match &w.plugins {
            Some(d) => {
                let dir = self.path(d.get_ref());
                if !dir.is_dir() {
                    return self.err(
                        d.span(),
                        format!("plugins: {} is not a directory", dir.display()),
                    );
                }
                Some(dir)
            }
            None => None,
        };
        Ok(WafConfig {
            crs,
            paranoia,
            mode,
            include,
            exclusions,
            plugins,
        })
    }

    fn server(&self, s: FileServer, span: Range<usize>) -> Result<ServerConfig, ConfigError> {
        let https = self.addr(&s.https, "https")?;
        let http = s.http.as_ref().map(|a| self.addr(a, "http")).transpose()?;
        let admin = s
            .admin
            .as_ref()
            .map(|a| self.addr(a, "admin"))
            .transpose()?;
        for (key, other) in [("http", &s.http), ("admin", &s.admin)] {
            if let Some(v) = other {
                let a = self.addr(v, key)?;
                if a == https && a.port() != 0 {
                    return self.err(v.span(), format!("{key} uses the same address as https"));
                }
            }
        }
        if let (Some(h), Some(a), Some(v)) = (http, admin, &s.admin) {
            if h == a && a.port() != 0 {
                return self.err(v.span(), "admin uses the same address as http");
            }
        }
        let mut trusted = Vec::new();
        for t in &s.trusted_proxies {
            let v = t.get_ref();
            let net = v
                .parse::<IpNet>()
                .or_else(|_| v.parse::<IpAddr>().map(IpNet::from));
            match net {
                Ok(n) => trusted.push(n),
                Err(_) => {
                    return self.err(
                        t.span(),
                        format!(
                        "trusted_proxies: {v:?} is not an IP address or CIDR like \"10.0.0.0/8\""
                    ),
                    )
                }
            }
        }
        let data_dir = match &s.data_dir {
            Some(d) if d.get_ref().is_empty() => return self.err(d.span(), "data_dir is empty"),
            Some(d) => self.path(d.get_ref()),
            None => self.path("data"),
        };
        let max_header_count = match s.max_header_count {
            Some(n) if !(8..=1000).contains(n.get_ref()) => {
                return self.err(n.span(), "max_header_count must be between 8 and 1000")
            }
            Some(n) => n.into_inner(),
            None => 100,
        };
        let max_header_bytes = match s.max_header_bytes {
            Some(n) if !(8192..=1 << 20).contains(n.get_ref()) => {
                return self.err(
                    n.span(),
                    "max_header_bytes must be between 8192 and 1048576",
                )
            }
            Some(n) => n.into_inner(),
            None => 64 * 1024,
        };
        let _ = span;
        let proxy_protocol = match &s.proxy_protocol {
            Some(p) if *p.get_ref() && trusted.is_empty() => {
                return self.err(
                    p.span(),
                    "proxy_protocol needs trusted_proxies: the load balancers whose PROXY headers count",
                )
            }
            Some(p) => *p.get_ref(),
            None => false,
        };
        let body_timeout = match &s.body_timeout_ms {
            Some(t) if !(100..=3_600_000).contains(t.get_ref()) => {
                return self.err(t.span(), "body_timeout_ms must be between 100 and 3600000")
            }
            Some(t) => Duration::from_millis(*t.get_ref()),
            None => Duration::from_secs(20),
        };
        let body_min_rate = match &s.body_min_rate {
            Some(r) if *r.get_ref() == 0 => {
                return self.err(
                    r.span(),
                    "body_min_rate must be at least 1 (bytes a second)",
                )
            }
            Some(r) => *r.get_ref(),
            None => 500,
        };
        Ok(ServerConfig {
            http,
            https,
            admin,
            data_dir,
            public_https_port: s.public_https_port,
            trusted_proxies: trusted,
            max_header_count,
            max_header_bytes,
            header_read_timeout: Duration::from_millis(s.header_read_timeout_ms.unwrap_or(10_000)),
            body_timeout,
            body_min_rate,
            tls_handshake_timeout: Duration::from_millis(
                s.tls_handshake_timeout_ms.unwrap_or(10_000),
            ),
            drain_timeout: Duration::from_millis(s.drain_timeout_ms.unwrap_or(10_000)),
            inspection_buffer_bytes: s.inspection_buffer_bytes.unwrap_or(1024 * 1024),
            proxy_protocol,
            database: match s.database {
                Some(d)
                    if !(d.get_ref().starts_with("postgres://")
                        || d.get_ref().starts_with("postgresql://")
                        || d.get_ref().starts_with("sqlite:")) =>
                {
                    return self.err(
                        d.span(),
                        "database must be a URL starting with postgres:// or sqlite:",
                    )
                }
                d => d.map(Spanned::into_inner),
            },
        })
    }

    fn host(&self, host: &Spanned<String>) -> Result<String, ConfigError> {
        let h = host.get_ref().trim().to_ascii_lowercase();
        if h.parse::<IpAddr>().is_ok() {
            return Ok(h);
        }
        let valid = !h.is_empty()
            && h.len() <= 253
            && h.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !valid {
            let hint = if h.contains(':') {
                " (write the host without a port or scheme)"
            } else {
                ""
            };
            return self.err(
                host.span(),
                format!(
                    "{:?} is not a host name or IP address{hint}",
                    host.get_ref()
                ),
            );
        }
        Ok(h)
    }

    fn upstream(&self, u: &Spanned<String>) -> Result<Upstream, ConfigError> {
        let bad = |why: &str| self.err(u.span(), format!("upstream {:?}: {why}", u.get_ref()));
        let uri: http::Uri = match u.get_ref().parse() {
            Ok(uri) => uri,
            Err(_) => return bad("not a URL like \"http://127.0.0.1:3000\""),
        };
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return bad("https upstreams are not supported yet: reach the store over http on a private address")
            }
            _ => return bad("must start with http://"),
        }
        let Some(authority) = uri.authority() else {
            return bad("has no host");
        };
        if authority.as_str().contains('@') {
            return bad("must not contain user info");
        }
        if uri.path() != "/" && !uri.path().is_empty() || uri.query().is_some() {
            return bad("must not have a path or query: give only scheme, host and port");
        }
        let port = authority.port_u16().unwrap_or(80);
        if port == 0 {
            return bad("port 0 is not a port a store can listen on");
        }
        let with_port = format!("{}:{port}", authority.host());
        let authority = match with_port.parse() {
            Ok(a) => a,
            Err(_) => return bad("has an invalid host"),
        };
        Ok(Upstream { authority })
    }

    fn tls(
        &self,
        tls: Spanned<FileTls>,
        hosts: &[String],
        http_listener: bool,
    ) -> Result<TlsSource, ConfigError> {
        let span = tls.span();
        let t = tls.into_inner();
        let self_signed = t.self_signed.as_ref().is_some_and(|s| *s.get_ref());
        let chosen = [
            t.cert.is_some() || t.key.is_some(),
            self_signed,
            t.acme.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if chosen != 1 {
            return self.err(
                span,
                "tls must be exactly one of { cert = \"...\", key = \"...\" }, { self_signed = true } or { acme = { directory = \"...\", email = \"...\" } }",
            );
        }
        if let Some(acme) = t.acme {
            let acme_span = acme.span();
            let a = acme.into_inner();
            let dir: Result<http::Uri, _> = a.directory.get_ref().parse();
            match dir {
                Ok(u) if u.scheme_str() == Some("https") && u.host().is_some() => {}
                _ => {
                    return self.err(
                        a.directory.span(),
                        format!(
                            "acme directory {:?} must be an https:// URL",
                            a.directory.get_ref()
                        ),
                    )
                }
            }
            let email = a.email.get_ref();
            let valid_email = email
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
                && !email.chars().any(|c| c.is_whitespace() || c == ',');
            if !valid_email {
                return self.err(
                    a.email.span(),
                    format!("acme email {email:?} is not an e-mail address"),
                );
            }
            let challenge = match a.challenge.as_ref().map(|c| c.get_ref().as_str()) {
                None | Some("http-01") => AcmeChallenge::Http01,
                Some("tls-alpn-01") => AcmeChallenge::TlsAlpn01,
                Some(other) => {
                    return self.err(
                        a.challenge
                            .as_ref()
                            .map(|c| c.span())
                            .unwrap_or(acme_span.clone()),
                        format!("acme challenge {other:?} must be \"http-01\" or \"tls-alpn-01\""),
                    )
                }
            };
            let ca = match &a.ca {
                Some(c) if c.get_ref().is_empty() => {
                    return self.err(
                        c.span(),
                        "acme ca is empty: give a PEM file or leave it out",
                    )
                }
                Some(c) => Some(self.path(c.get_ref())),
                None => None,
            };
            let renew_days = match &a.renew_days {
                Some(d) if !(1..=365).contains(d.get_ref()) => {
                    return self.err(
                        d.span(),
                        format!("acme renew_days = {} must be 1 to 365", d.get_ref()),
                    )
                }
                Some(d) => Some(*d.get_ref() as u32),
                None => None,
            };
            if challenge == AcmeChallenge::Http01 && !http_listener {
                return self.err(
                    acme_span,
                    "acme challenge http-01 needs the plain-HTTP listener ([server] http, port 80 to the outside): add it or use challenge = \"tls-alpn-01\"",
                );
            }
            let (names, _) = AcmeConfig::split_hosts(hosts);
            if names.is_empty() {
                return self.err(
                    acme_span,
                    "acme needs at least one DNS name in hosts: an ACME CA does not certify IP addresses or localhost",
                );
            }
            return Ok(TlsSource::Acme(AcmeConfig {
                directory: a.directory.get_ref().clone(),
                email: email.clone(),
                challenge,
                ca,
                renew_days,
            }));
        }
        if self_signed {
            return Ok(TlsSource::SelfSigned);
        }
        match (t.cert, t.key) {
            (Some(c), Some(k)) => {
                for (what, v) in [("cert", &c), ("key", &k)] {
                    if v.get_ref().is_empty() {
                        return self.err(v.span(), format!("tls {what} is empty"));
                    }
                }
                Ok(TlsSource::Files {
                    cert: self.path(c.get_ref()),
                    key: self.path(k.get_ref()),
                })
            }
            (Some(_), None) => self.err(span, "tls has cert but no key"),
            (None, Some(_)) => self.err(span, "tls has key but no cert"),
            (None, None) => self.err(span, "tls self_signed = false needs cert and key instead"),
        }
    }

    fn headers(&self, h: FileHeaders) -> Result<SecurityHeaders, ConfigError> {
        let d = SecurityHeaders::default();
        let value = |v: Option<Spanned<String>>, default: String, key: &str| match v {
            Some(s) if http::HeaderValue::from_str(s.get_ref()).is_err() => self.err(
                s.span(),
                format!("{key} {:?} is not a valid header value", s.get_ref()),
            ),
            Some(s) => Ok(s.into_inner()),
            None => Ok(default),
        };
        Ok(SecurityHeaders {
            hsts: h.hsts.unwrap_or(d.hsts),
            hsts_max_age: h.hsts_max_age.unwrap_or(d.hsts_max_age),
            hsts_include_subdomains: h
                .hsts_include_subdomains
                .unwrap_or(d.hsts_include_subdomains),
            hsts_preload: h.hsts_preload.unwrap_or(d.hsts_preload),
            nosniff: h.nosniff.unwrap_or(d.nosniff),
            referrer_policy: value(h.referrer_policy, d.referrer_policy, "referrer_policy")?,
            frame_ancestors: value(h.frame_ancestors, d.frame_ancestors, "frame_ancestors")?,
            override_store: h.override_store.unwrap_or(d.override_store),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[server]
http = "127.0.0.1:8080"
https = "127.0.0.1:8443"
admin = "127.0.0.1:9090"
data_dir = "state"

[[site]]
hosts = ["Shop.Example", "localhost", "127.0.0.1"]
upstream = "http://127.0.0.1:3000"
tls = { cert = "cert.pem", key = "/etc/key.pem" }
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, "rampart.toml", Path::new("/etc/rampart"))
    }

    #[test]
    fn parses_the_documented_example_with_defaults() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.server.https, "127.0.0.1:8443".parse().unwrap());
        assert_eq!(c.server.data_dir, PathBuf::from("/etc/rampart/state"));
        let s = &c.sites[0];
        assert_eq!(s.name, "shop.example");
        assert_eq!(s.hosts, ["shop.example", "localhost", "127.0.0.1"]);
        assert_eq!(s.upstream.authority.as_str(), "127.0.0.1:3000");
        assert_eq!(
            s.tls,
            TlsSource::Files {
                cert: "/etc/rampart/cert.pem".into(),
                key: "/etc/key.pem".into()
            }
        );
        assert!(s.headers.hsts && s.headers.nosniff);
        assert_eq!(c.server.max_header_count, 100);
    }

    #[test]
    fn scheduled_scans_parse_with_defaults_and_bad_ones_are_refused() {
        let text = format!(
            "[[scan]]\nurl = \"https://shop.example/\"\n\
             [[scan]]\nurl = \"http://127.0.0.1:3000/\"\nevery_hours = 6\ncrawl = 5\n\
             http_port = 8080\nresolver = \"127.0.0.1:5353\"\nmail_domain = \"Shop.Example.\"\n\
             dns = false\nreport = \"reports/shop.html\"\n{GOOD}"
        );
        let c = parse(&text).unwrap();
        let a = &c.scans[0];
        assert_eq!(a.every, std::time::Duration::from_secs(24 * 3600));
        assert_eq!((a.crawl, a.exposure, a.tls, a.dns), (20, true, true, true));
        assert_eq!((a.http_port, &a.report), (None, &None));
        let b = &c.scans[1];
        assert_eq!(b.every, std::time::Duration::from_secs(6 * 3600));
        assert_eq!((b.crawl, b.http_port, b.dns), (5, Some(8080), false));
        assert_eq!(b.mail_domain.as_deref(), Some("shop.example"));
        assert_eq!(b.resolver, Some("127.0.0.1:5353".parse().unwrap()));
        assert_eq!(
            b.report.as_deref(),
            Some(Path::new("/etc/rampart/reports/shop.html"))
        );
        for (scan, wanted) in [
            ("url = \"ftp://shop.example/\"", "http:// or https://"),
            ("url = \"https://a.example/\"\nevery_hours = 0", "1 to 744"),
            (
                "url = \"https://a.example/\"\nevery_hours = 745",
                "1 to 744",
            ),
            ("url = \"https://a.example/\"\ncrawl = 0", "1 to 1000"),
            (
                "url = \"https://a.example/\"\nhttp_port = 70000",
                "not a port",
            ),
            (
                "url = \"https://a.example/\"\nca_file = \"/nonexistent/ca.pem\"",
                "no such file",
            ),
            (
                "url = \"https://a.example/\"\nmail_domain = \"a b\"",
                "not a domain",
            ),
            ("url = \"https://a.example/\"\nevery = 3", "every"),
            ("every_hours = 3", "url"),
        ] {
            let e = parse(&format!("[[scan]]\n{scan}\n{GOOD}")).unwrap_err();
            assert!(e.message.contains(wanted), "{scan}: {e}");
            assert!(e.position.is_some(), "{scan}: {e}");
        }
    }

    #[test]
    fn site_limits_and_custom_failure_rules_parse_and_bad_ones_are_refused() {
        let text = format!(
            "{}[edge]\nsession_cookies = [\"sid\", \"cart_*\"]\n\
             [[edge.login]]\nmethod = \"post\"\npath = \"/signin\"\nstatus = [401]\n\
             [[edge.payment]]\npath = \"/pay\"\nbody = [\"declined\"]\n\
             [[site]]\nname = \"b\"\nhosts = [\"b.example\"]\nupstream = \"http://127.0.0.1:3001\"\n\
             tls = {{ self_signed = true }}\n\
             [site.limits]\nall = {{ per_minute = 90 }}\nbody_timeout_ms = 500\n",
            GOOD.replace("[[site]]", "[[site]]\nname = \"a\"")
        );
        let c = parse(&text).unwrap();
        let e = c.edge.as_ref().unwrap();
        assert_eq!(e.login[0].route.method.as_deref(), Some("POST"));
        assert_eq!(e.login[0].status, [401]);
        assert_eq!(e.payment[0].body, ["declined"]);
        assert_eq!(e.session_cookies.as_deref().unwrap(), ["sid", "cart_*"]);
        assert_eq!(c.sites[0].limits, SiteLimits::default());
        let b = &c.sites[1].limits;
        assert_eq!(
            b.rates,
            [(
                RouteClass::All,
                Limit {
                    per_minute: 90,
                    burst: 15
                }
            )]
        );
        assert_eq!(b.body_timeout, Some(Duration::from_millis(500)));
        assert_eq!(b.body_min_rate, None);

        for (bad, says) in [
            ("[[edge.login]]\npath = \"/x\"\n", "say how a failure shows"),
            (
                "[[edge.login]]\npath = \"x\"\nstatus = [200]\n",
                "starts with '/'",
            ),
            (
                "[[edge.payment]]\npath = \"/p\"\nstatus = [99]\n",
                "not an HTTP status",
            ),
            (
                "[[edge.payment]]\npath = \"/p\"\nbody = [\"\"]\n",
                "a marker is empty",
            ),
            ("session_cookies = [\"a b\"]\n", "not a cookie name"),
        ] {
            let e = parse(&format!("{GOOD}[edge]\n{bad}")).unwrap_err();
            assert!(e.message.contains(says), "{bad}: {e}");
        }
        let e = parse(&format!(
            "{GOOD}[site.limits]\nlogin = {{ per_minute = 5 }}\n"
        ))
        .unwrap_err();
        assert!(e.message.contains("need the edge defenses"), "{e}");
        let e = parse(&format!("{GOOD}[site.limits]\nbody_timeout_ms = 5\n")).unwrap_err();
        assert!(e.message.contains("body_timeout_ms"), "{e}");
        // Body timeouts alone do not need [edge].
        let c = parse(&format!("{GOOD}[site.limits]\nbody_min_rate = 50\n")).unwrap();
        assert_eq!(c.sites[0].limits.body_min_rate, Some(50));
    }

    #[test]
    fn unknown_key_is_an_error_with_position() {
        let text = GOOD.replace("data_dir", "dataa_dir");
        let e = parse(&text).unwrap_err();
        assert_eq!(e.position, Some((6, 1)), "{e}");
        assert!(e.message.contains("dataa_dir"), "{e}");
        assert!(e.to_string().starts_with("rampart.toml:6:1: "), "{e}");
    }

    #[test]
    fn syntax_error_has_position() {
        let e = parse("[server]\nhttps = 127.0.0.1:1\n").unwrap_err();
        assert_eq!(e.position.unwrap().0, 2, "{e}");
    }

    #[test]
    fn semantic_errors_point_at_the_value() {
        let e = parse(&GOOD.replace("127.0.0.1:8443", "localhost:x")).unwrap_err();
        assert_eq!(e.position, Some((4, 9)), "{e}");
        assert!(e.message.contains("not an address"), "{e}");

        let dup = format!(
            "{GOOD}\n[[site]]\nname = \"two\"\nhosts = [\"other.example\", \"localhost\"]\nupstream = \"http://127.0.0.1:3001\"\ntls = {{ self_signed = true }}\n"
        );
        let e = parse(&dup).unwrap_err();
        assert!(
            e.message
                .contains("already served by site \"shop.example\""),
            "{e}"
        );
        assert_eq!(e.position.unwrap().0, 15, "{e}");

        let e = parse(&GOOD.replace("http://127.0.0.1:3000", "ftp://x")).unwrap_err();
        assert!(e.message.contains("must start with http://"), "{e}");
        let e = parse(&GOOD.replace("http://127.0.0.1:3000", "http://127.0.0.1:3000/shop"))
            .unwrap_err();
        assert!(e.message.contains("path"), "{e}");
        let e = parse(&GOOD.replace("\"localhost\"", "\"localhost:80\"")).unwrap_err();
        assert!(e.message.contains("without a port"), "{e}");
    }

    #[test]
    fn tls_must_be_exactly_one_source() {
        let e = parse(&GOOD.replace(
            "{ cert = \"cert.pem\", key = \"/etc/key.pem\" }",
            "{ cert = \"c\", self_signed = true }",
        ))
        .unwrap_err();
        assert!(e.message.contains("exactly one"), "{e}");
        let e = parse(&GOOD.replace("key = \"/etc/key.pem\"", "")).unwrap_err();
        assert!(e.message.contains("no key"), "{e}");
        let c = parse(&GOOD.replace(
            "{ cert = \"cert.pem\", key = \"/etc/key.pem\" }",
            "{ self_signed = true }",
        ))
        .unwrap();
        assert_eq!(c.sites[0].tls, TlsSource::SelfSigned);
    }

    #[test]
    fn acme_is_validated() {
        let with = |hosts: &str, inner: &str| {
            parse(
                &GOOD
                    .replace(
                        "{ cert = \"cert.pem\", key = \"/etc/key.pem\" }",
                        &format!("{{ acme = {{ {inner} }} }}"),
                    )
                    .replace("\"Shop.Example\", \"localhost\", \"127.0.0.1\"", hosts),
            )
        };
        let all = "\"Shop.Example\", \"localhost\", \"127.0.0.1\"";
        let acme = |inner: &str| with(all, inner).unwrap_err();
        let e = acme("directory = \"http://ca\", email = \"a@b.c\"");
        assert!(e.message.contains("https:// URL"), "{e}");
        let e = acme("directory = \"https://ca.example/dir\", email = \"nobody\"");
        assert!(e.message.contains("not an e-mail"), "{e}");
        let e = acme(
            "directory = \"https://ca.example/dir\", email = \"a@b.c\", challenge = \"dns-01\"",
        );
        assert!(e.message.contains("http-01"), "{e}");
        let e = acme("directory = \"https://ca.example/dir\", mail = \"a@b.c\"");
        assert!(e.message.contains("mail"), "{e}");
        let e = acme("directory = \"https://ca.example/dir\", email = \"a@b.c\", renew_days = 0");
        assert!(e.message.contains("1 to 365"), "{e}");
        let e = acme("directory = \"https://ca.example/dir\", email = \"a@b.c\", ca = \"\"");
        assert!(e.message.contains("ca is empty"), "{e}");
        let e = acme("directory = \"https://ca.example/dir\", email = \"a@b.c\", renew = 3");
        assert!(e.message.contains("renew"), "{e}");
        let e = with(
            "\"localhost\", \"127.0.0.1\", \"::1\"",
            "directory = \"https://ca.example/dir\", email = \"a@b.c\"",
        )
        .unwrap_err();
        assert!(e.message.contains("at least one DNS name"), "{e}");

        let c = with(
            all,
            "directory = \"https://ca.example/dir\", email = \"a@b.c\", challenge = \"tls-alpn-01\", ca = \"ca.pem\", renew_days = 20",
        )
        .unwrap();
        assert_eq!(
            c.sites[0].tls,
            TlsSource::Acme(AcmeConfig {
                directory: "https://ca.example/dir".into(),
                email: "a@b.c".into(),
                challenge: AcmeChallenge::TlsAlpn01,
                ca: Some(PathBuf::from("/etc/rampart/ca.pem")),
                renew_days: Some(20),
            })
        );
        let (names, skipped) = AcmeConfig::split_hosts(&c.sites[0].hosts);
        assert_eq!(names, ["shop.example"]);
        assert_eq!(skipped, ["localhost", "127.0.0.1"]);
        let c = with(
            all,
            "directory = \"https://ca.example/dir\", email = \"a@b.c\"",
        )
        .unwrap();
        let TlsSource::Acme(a) = &c.sites[0].tls else {
            panic!("acme expected")
        };
        assert_eq!(
            (a.challenge, a.ca.as_ref(), a.renew_days),
            (AcmeChallenge::Http01, None, None)
        );
    }

    #[test]
    fn headers_can_be_turned_off() {
        let text = format!(
            "{GOOD}headers = {{ hsts = false, referrer_policy = \"\", frame_ancestors = \"\", override_store = true }}\n"
        );
        let c = parse(&text).unwrap();
        let h = &c.sites[0].headers;
        assert!(!h.hsts && h.referrer_policy.is_empty() && h.frame_ancestors.is_empty());
        assert!(h.override_store && h.nosniff);
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncé d", 6), (2, 3));
        assert_eq!(line_col("ab\ncé d", 5), (2, 2));
        assert_eq!(line_col("", 10), (1, 1));
    }
}
