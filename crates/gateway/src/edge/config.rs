//! `[edge]`: the defenses in front of every site (connection caps, rate
//! limits, allow and deny lists, jails and bans). Part of
//! [`crate::config`]: parsing and validation only; `crate::edge` enforces.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

use super::{ConfigError, Validator};
use crate::presets::MarkedRoute;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileEdge {
    enabled: Option<bool>,
    max_connections_per_ip: Option<Spanned<u32>>,
    #[serde(default)]
    allow: Vec<Spanned<String>>,
    #[serde(default)]
    deny: Vec<Spanned<String>>,
    allow_file: Option<Spanned<String>>,
    deny_file: Option<Spanned<String>>,
    #[serde(default)]
    limits: std::collections::BTreeMap<String, Spanned<FileLimit>>,
    #[serde(default)]
    routes: std::collections::BTreeMap<String, Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    jails: std::collections::BTreeMap<String, Spanned<FileJail>>,
    escalation: Option<Spanned<f64>>,
    max_ban_s: Option<Spanned<u64>>,
    ban_poll_ms: Option<Spanned<u64>>,
    challenge: Option<FileChallenge>,
    connection_rate: Option<Spanned<FileConnectionRate>>,
    #[serde(default)]
    login: Vec<Spanned<MarkedRoute>>,
    #[serde(default)]
    payment: Vec<Spanned<MarkedRoute>>,
    session_cookies: Option<Vec<Spanned<String>>>,
}

/// `[site.limits]`: a site's own rate limits and body timeouts.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileSiteLimits {
    all: Option<Spanned<FileLimit>>,
    login: Option<Spanned<FileLimit>>,
    checkout: Option<Spanned<FileLimit>>,
    search: Option<Spanned<FileLimit>>,
    api: Option<Spanned<FileLimit>>,
    body_timeout_ms: Option<Spanned<u64>>,
    body_min_rate: Option<Spanned<u64>>,
}

/// The validated `[site.limits]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SiteLimits {
    /// Rate limits that replace the `[edge.limits]` of the same class for
    /// this site, counted in buckets of the site's own.
    pub rates: Vec<(RouteClass, Limit)>,
    /// Replace `[server] body_timeout_ms` and `body_min_rate`.
    pub body_timeout: Option<Duration>,
    pub body_min_rate: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConnectionRate {
    per_second: Spanned<u32>,
    burst: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileChallenge {
    under_attack: Option<bool>,
    #[serde(default)]
    paths: Vec<Spanned<String>>,
    suspicious: Option<bool>,
    difficulty: Option<Spanned<u8>>,
    pass_ttl_s: Option<Spanned<u64>>,
    #[serde(default)]
    exempt: Vec<Spanned<String>>,
}

/// `[edge.challenge]`: who gets the proof-of-work page.
#[derive(Debug, Clone, PartialEq)]
pub struct ChallengeConfig {
    /// Every browser request of every site (API routes excepted).
    pub under_attack: bool,
    /// Path patterns always challenged.
    pub paths: Vec<String>,
    /// Challenge addresses a jail has counted to half its threshold.
    pub suspicious: bool,
    /// Leading zero bits of SHA-256 the browser must find.
    pub difficulty: u8,
    /// How long a pass lasts.
    pub pass_ttl: Duration,
    /// Path patterns never challenged (beside the API routes).
    pub exempt: Vec<String>,
}

impl Default for ChallengeConfig {
    fn default() -> Self {
        ChallengeConfig {
            under_attack: false,
            paths: Vec::new(),
            suspicious: true,
            difficulty: 16,
            pass_ttl: Duration::from_secs(3600),
            exempt: Vec::new(),
        }
    }
}

/// `[cluster]`: state shared by several gateway nodes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileCluster {
    redis: Spanned<String>,
    prefix: Option<Spanned<String>>,
}

/// The validated `[cluster]` table.
#[derive(Clone, PartialEq)]
pub struct ClusterConfig {
    /// `redis://[user:password@]host:port/db` (or `rediss://`).
    pub redis: String,
    /// Prefix of every key (several deployments can share one Redis).
    pub prefix: String,
}

impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never printed.
        f.debug_struct("ClusterConfig")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimit {
    per_minute: Spanned<u32>,
    burst: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJail {
    enabled: Option<bool>,
    threshold: Option<Spanned<u32>>,
    window_s: Option<Spanned<u64>>,
    ban_s: Option<Spanned<u64>>,
    /// `waf_blocks` only: the inbound anomaly score that counts.
    min_score: Option<Spanned<i64>>,
}

/// The kinds of route a rate limit can apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteClass {
    /// Every request (the per-IP overall limit).
    All,
    Login,
    Checkout,
    Search,
    Api,
}

impl RouteClass {
    pub const NAMES: &'static [&'static str] = &["all", "login", "checkout", "search", "api"];

    pub fn parse(s: &str) -> Option<RouteClass> {
        Some(match s {
            "all" => RouteClass::All,
            "login" => RouteClass::Login,
            "checkout" => RouteClass::Checkout,
            "search" => RouteClass::Search,
            "api" => RouteClass::Api,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RouteClass::All => "all",
            RouteClass::Login => "login",
            RouteClass::Checkout => "checkout",
            RouteClass::Search => "search",
            RouteClass::Api => "api",
        }
    }
}

/// What an IPS jail watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JailKind {
    /// Failed logins from one client address.
    LoginFailures,
    /// Failed logins for one account, from any address.
    AccountFailures,
    /// Declined payments from one client address (card testing).
    PaymentDeclines,
    /// Declined payments in one store session, from any address (card
    /// testing spread over many addresses).
    SessionDeclines,
    /// 404 answers from the store to one address (scanning).
    NotFound,
    /// Requests the WAF scored at or over `min_score`.
    WafBlocks,
}

impl JailKind {
    pub const ALL: &'static [JailKind] = &[
        JailKind::LoginFailures,
        JailKind::AccountFailures,
        JailKind::PaymentDeclines,
        JailKind::SessionDeclines,
        JailKind::NotFound,
        JailKind::WafBlocks,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JailKind::LoginFailures => "login_failures",
            JailKind::AccountFailures => "account_failures",
            JailKind::PaymentDeclines => "payment_declines",
            JailKind::SessionDeclines => "session_declines",
            JailKind::NotFound => "not_found",
            JailKind::WafBlocks => "waf_blocks",
        }
    }

    fn parse(s: &str) -> Option<JailKind> {
        JailKind::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// The defaults: (threshold, window, ban).
    fn defaults(self) -> (u32, u64, u64) {
        match self {
            JailKind::LoginFailures => (10, 300, 900),
            JailKind::AccountFailures => (20, 900, 900),
            JailKind::PaymentDeclines => (4, 900, 3600),
            JailKind::SessionDeclines => (6, 3600, 3600),
            JailKind::NotFound => (40, 60, 600),
            JailKind::WafBlocks => (8, 300, 1800),
        }
    }
}

/// One rate limit: a token bucket refilled at `per_minute`, holding at
/// most `burst` requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub per_minute: u32,
    pub burst: u32,
}

/// One jail: `threshold` events within `window` ban the offender for
/// `ban` (times `escalation` for each earlier ban).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Jail {
    pub kind: JailKind,
    pub threshold: u32,
    pub window: Duration,
    pub ban: Duration,
    pub min_score: i64,
}

/// The validated `[edge]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeConfig {
    /// Simultaneous connections one address may hold.
    pub max_connections_per_ip: u32,
    /// Never limited, jailed, banned or challenged.
    pub allow: Vec<IpNet>,
    /// Refused at connection time.
    pub deny: Vec<IpNet>,
    /// Files of addresses and CIDRs, one per line, reloaded when changed.
    pub allow_file: Option<PathBuf>,
    pub deny_file: Option<PathBuf>,
    /// Rate limits by route class (classes not listed are unlimited).
    pub limits: Vec<(RouteClass, Limit)>,
    /// Extra path patterns per class, beside the platform preset's.
    pub routes: Vec<(RouteClass, Vec<String>)>,
    pub jails: Vec<Jail>,
    /// Each repeat ban of the same address lasts this many times longer.
    pub escalation: f64,
    pub max_ban: Duration,
    /// How often bans made elsewhere (another node, `rampart bans`) are
    /// read from the database.
    pub ban_poll: Duration,
    pub challenge: ChallengeConfig,
    /// Requests one connection may send: (per second, burst). Over it,
    /// 429 and the connection is closed (HTTP/2 stream floods included).
    pub connection_rate: (u32, u32),
    /// `[[edge.login]]`: login routes and failure markers of the
    /// operator's own, checked before the platform preset's.
    pub login: Vec<MarkedRoute>,
    /// `[[edge.payment]]`: payment routes and decline markers likewise.
    pub payment: Vec<MarkedRoute>,
    /// Cookie names (a trailing `*` is a prefix) of the store's session,
    /// for the `session_declines` jail; `None`: the preset's.
    pub session_cookies: Option<Vec<String>>,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        EdgeConfig {
            max_connections_per_ip: 256,
            allow: Vec::new(),
            deny: Vec::new(),
            allow_file: None,
            deny_file: None,
            limits: default_limits(),
            routes: Vec::new(),
            jails: JailKind::ALL
                .iter()
                .map(|&kind| {
                    let (threshold, window, ban) = kind.defaults();
                    Jail {
                        kind,
                        threshold,
                        window: Duration::from_secs(window),
                        ban: Duration::from_secs(ban),
                        min_score: 5,
                    }
                })
                .collect(),
            escalation: 2.0,
            max_ban: Duration::from_secs(7 * 24 * 3600),
            ban_poll: Duration::from_millis(500),
            challenge: ChallengeConfig::default(),
            connection_rate: (100, 300),
            login: Vec::new(),
            payment: Vec::new(),
            session_cookies: None,
        }
    }
}

fn default_limits() -> Vec<(RouteClass, Limit)> {
    vec![
        (
            RouteClass::All,
            Limit {
                per_minute: 1200,
                burst: 200,
            },
        ),
        (
            RouteClass::Login,
            Limit {
                per_minute: 20,
                burst: 10,
            },
        ),
        (
            RouteClass::Checkout,
            Limit {
                per_minute: 30,
                burst: 10,
            },
        ),
        (
            RouteClass::Search,
            Limit {
                per_minute: 120,
                burst: 30,
            },
        ),
        (
            RouteClass::Api,
            Limit {
                per_minute: 600,
                burst: 100,
            },
        ),
    ]
}

/// Parses `v` as an address or CIDR.
pub fn parse_net(v: &str) -> Option<IpNet> {
    v.parse::<IpNet>()
        .ok()
        .or_else(|| v.parse::<IpAddr>().ok().map(IpNet::from))
        .map(|n| n.trunc())
}

impl<F: Fn(Option<std::ops::Range<usize>>, String) -> ConfigError> Validator<'_, F> {
    pub(super) fn cluster(&self, c: FileCluster) -> Result<ClusterConfig, ConfigError> {
        let url = c.redis.get_ref();
        if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
            return self.err(
                c.redis.span(),
                "redis must be a URL like \"redis://127.0.0.1:6379/\" (or rediss:// for TLS)",
            );
        }
        let prefix = match c.prefix {
            Some(p) => {
                let ok = !p.get_ref().is_empty()
                    && p.get_ref().len() <= 64
                    && p.get_ref()
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-:".contains(&b));
                if !ok {
                    return self.err(
                        p.span(),
                        "prefix must be 1-64 characters of letters, digits, '.', '_', '-' or ':'",
                    );
                }
                p.into_inner()
            }
            None => "rampart".to_string(),
        };
        Ok(ClusterConfig {
            redis: url.clone(),
            prefix,
        })
    }

    fn limit(&self, l: &FileLimit) -> Result<Limit, ConfigError> {
        let per_minute = *l.per_minute.get_ref();
        if per_minute == 0 {
            return self.err(
                l.per_minute.span(),
                "per_minute must be at least 1 (remove the limit to turn it off)",
            );
        }
        let burst = match &l.burst {
            Some(b) if *b.get_ref() == 0 => return self.err(b.span(), "burst must be at least 1"),
            Some(b) => *b.get_ref(),
            None => per_minute.div_ceil(6).max(1),
        };
        Ok(Limit { per_minute, burst })
    }

    /// `[site.limits]`; `edge_on`: whether `[edge]` is on (rate limits
    /// need it).
    pub(super) fn site_limits(
        &self,
        l: Spanned<FileSiteLimits>,
        edge_on: bool,
    ) -> Result<SiteLimits, ConfigError> {
        let span = l.span();
        let l = l.into_inner();
        let mut out = SiteLimits::default();
        for (class, limit) in [
            (RouteClass::All, &l.all),
            (RouteClass::Login, &l.login),
            (RouteClass::Checkout, &l.checkout),
            (RouteClass::Search, &l.search),
            (RouteClass::Api, &l.api),
        ] {
            if let Some(limit) = limit {
                out.rates.push((class, self.limit(limit.get_ref())?));
            }
        }
        if !out.rates.is_empty() && !edge_on {
            return self.err(
                span,
                "rate limits in [site.limits] need the edge defenses: add an [edge] table",
            );
        }
        if let Some(t) = &l.body_timeout_ms {
            if !(100..=3_600_000).contains(t.get_ref()) {
                return self.err(t.span(), "body_timeout_ms must be between 100 and 3600000");
            }
            out.body_timeout = Some(Duration::from_millis(*t.get_ref()));
        }
        if let Some(r) = &l.body_min_rate {
            if *r.get_ref() == 0 {
                return self.err(
                    r.span(),
                    "body_min_rate must be at least 1 (bytes a second)",
                );
            }
            out.body_min_rate = Some(*r.get_ref());
        }
        Ok(out)
    }

    /// `[[edge.login]]` or `[[edge.payment]]` (`what`).
    fn marked_routes(
        &self,
        list: Vec<Spanned<MarkedRoute>>,
        what: &str,
    ) -> Result<Vec<MarkedRoute>, ConfigError> {
        list.into_iter()
            .map(|m| {
                let span = m.span();
                let mut r = m.into_inner();
                if !r.route.path.starts_with('/') {
                    return self.err(
                        span,
                        format!("[[edge.{what}]] path {:?}: a path starts with '/'", r.route.path),
                    );
                }
                if let Some(method) = &mut r.route.method {
                    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
                        return self.err(
                            span,
                            format!("[[edge.{what}]] method {method:?}: use a method like \"POST\""),
                        );
                    }
                    method.make_ascii_uppercase();
                }
                if let Some(s) = r.status.iter().find(|s| !(100..=599).contains(*s)) {
                    return self.err(span, format!("[[edge.{what}]] status {s}: not an HTTP status"));
                }
                if r.status.is_empty() && r.body.is_empty() && r.location.is_empty() {
                    return self.err(
                        span,
                        format!("[[edge.{what}]] {}: say how a failure shows (status, body or location)", r.route.path),
                    );
                }
                if r.body.iter().chain(&r.location).any(|m| m.is_empty()) {
                    return self.err(span, format!("[[edge.{what}]] {}: a marker is empty", r.route.path));
                }
                Ok(r)
            })
            .collect()
    }

    pub(super) fn edge(&self, e: FileEdge) -> Result<Option<EdgeConfig>, ConfigError> {
        if e.enabled == Some(false) {
            return Ok(None);
        }
        let mut c = EdgeConfig::default();
        if let Some(n) = e.max_connections_per_ip {
            if *n.get_ref() == 0 {
                return self.err(n.span(), "max_connections_per_ip must be at least 1");
            }
            c.max_connections_per_ip = n.into_inner();
        }
        let nets = |list: &[Spanned<String>], key: &str| -> Result<Vec<IpNet>, ConfigError> {
            list.iter()
                .map(|v| {
                    parse_net(v.get_ref()).map_or_else(
                        || {
                            self.err(
                                v.span(),
                                format!(
                                    "{key}: {:?} is not an IP address or CIDR like \"203.0.113.0/24\"",
                                    v.get_ref()
                                ),
                            )
                        },
                        Ok,
                    )
                })
                .collect()
        };
        c.allow = nets(&e.allow, "allow")?;
        c.deny = nets(&e.deny, "deny")?;
        c.allow_file = e.allow_file.map(|f| self.path(f.get_ref()));
        c.deny_file = e.deny_file.map(|f| self.path(f.get_ref()));
        for (name, limit) in &e.limits {
            let Some(class) = RouteClass::parse(name) else {
                return self.err(
                    limit.span(),
                    format!(
                        "limits.{name}: the route classes are {}",
                        RouteClass::NAMES.join(", ")
                    ),
                );
            };
            let l = self.limit(limit.get_ref())?;
            c.limits.retain(|(k, _)| *k != class);
            c.limits.push((class, l));
        }
        c.limits.sort_by_key(|(k, _)| *k);
        for (name, paths) in &e.routes {
            let class = match RouteClass::parse(name) {
                Some(RouteClass::All) | None => {
                    return self.err(
                        paths.span(),
                        format!("routes.{name}: the route classes with paths are login, checkout, search, api"),
                    )
                }
                Some(c) => c,
            };
            let mut list = Vec::new();
            for p in paths.get_ref() {
                if !p.get_ref().starts_with('/') {
                    return self.err(
                        p.span(),
                        format!("{:?}: a path starts with '/'", p.get_ref()),
                    );
                }
                list.push(p.get_ref().clone());
            }
            c.routes.push((class, list));
        }
        for (name, jail) in &e.jails {
            let Some(kind) = JailKind::parse(name) else {
                return self.err(
                    jail.span(),
                    format!(
                        "jails.{name}: the jails are {}",
                        JailKind::ALL
                            .iter()
                            .map(|k| k.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            };
            let j = jail.get_ref();
            let slot = c
                .jails
                .iter()
                .position(|x| x.kind == kind)
                .expect("every kind has a default");
            if j.enabled == Some(false) {
                c.jails.remove(slot);
                continue;
            }
            let cur = &mut c.jails[slot];
            if let Some(t) = &j.threshold {
                if *t.get_ref() == 0 {
                    return self.err(t.span(), "threshold must be at least 1");
                }
                cur.threshold = *t.get_ref();
            }
            if let Some(w) = &j.window_s {
                if *w.get_ref() == 0 {
                    return self.err(w.span(), "window_s must be at least 1");
                }
                cur.window = Duration::from_secs(*w.get_ref());
            }
            if let Some(b) = &j.ban_s {
                if *b.get_ref() == 0 {
                    return self.err(b.span(), "ban_s must be at least 1");
                }
                cur.ban = Duration::from_secs(*b.get_ref());
            }
            if let Some(s) = &j.min_score {
                if kind != JailKind::WafBlocks {
                    return self.err(s.span(), "min_score applies to the waf_blocks jail only");
                }
                if *s.get_ref() < 1 {
                    return self.err(s.span(), "min_score must be at least 1");
                }
                cur.min_score = *s.get_ref();
            }
        }
        if let Some(x) = e.escalation {
            if !(1.0..=100.0).contains(x.get_ref()) {
                return self.err(x.span(), "escalation must be between 1.0 and 100.0");
            }
            c.escalation = *x.get_ref();
        }
        if let Some(m) = e.max_ban_s {
            if *m.get_ref() == 0 {
                return self.err(m.span(), "max_ban_s must be at least 1");
            }
            c.max_ban = Duration::from_secs(*m.get_ref());
        }
        if let Some(p) = e.ban_poll_ms {
            if !(50..=60_000).contains(p.get_ref()) {
                return self.err(p.span(), "ban_poll_ms must be between 50 and 60000");
            }
            c.ban_poll = Duration::from_millis(*p.get_ref());
        }
        if let Some(r) = e.connection_rate {
            let r = r.into_inner();
            if *r.per_second.get_ref() == 0 {
                return self.err(r.per_second.span(), "per_second must be at least 1");
            }
            let burst = match r.burst {
                Some(b) if *b.get_ref() == 0 => {
                    return self.err(b.span(), "burst must be at least 1")
                }
                Some(b) => *b.get_ref(),
                None => r.per_second.get_ref().saturating_mul(3),
            };
            c.connection_rate = (*r.per_second.get_ref(), burst);
        }
        c.login = self.marked_routes(e.login, "login")?;
        c.payment = self.marked_routes(e.payment, "payment")?;
        if let Some(list) = e.session_cookies {
            let mut names = Vec::new();
            for n in list {
                let ok = !n.get_ref().is_empty()
                    && n.get_ref()
                        .trim_end_matches('*')
                        .bytes()
                        .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}*".contains(&b));
                if !ok {
                    return self.err(
                        n.span(),
                        format!("session_cookies: {:?} is not a cookie name (a trailing '*' matches a prefix)", n.get_ref()),
                    );
                }
                names.push(n.into_inner());
            }
            c.session_cookies = Some(names);
        }
        if let Some(ch) = e.challenge {
            let paths = |list: &[Spanned<String>]| -> Result<Vec<String>, ConfigError> {
                list.iter()
                    .map(|p| {
                        if p.get_ref().starts_with('/') {
                            Ok(p.get_ref().clone())
                        } else {
                            self.err(
                                p.span(),
                                format!("{:?}: a path starts with '/'", p.get_ref()),
                            )
                        }
                    })
                    .collect()
            };
            let cc = &mut c.challenge;
            cc.under_attack = ch.under_attack.unwrap_or(false);
            cc.suspicious = ch.suspicious.unwrap_or(true);
            cc.paths = paths(&ch.paths)?;
            cc.exempt = paths(&ch.exempt)?;
            if let Some(d) = ch.difficulty {
                if !(8..=24).contains(d.get_ref()) {
                    return self.err(
                        d.span(),
                        "difficulty must be 8-24 bits (16 takes a browser about a second)",
                    );
                }
                cc.difficulty = *d.get_ref();
            }
            if let Some(t) = ch.pass_ttl_s {
                if !(60..=7 * 86_400).contains(t.get_ref()) {
                    return self.err(t.span(), "pass_ttl_s must be between 60 and 604800");
                }
                cc.pass_ttl = Duration::from_secs(*t.get_ref());
            }
        }
        Ok(Some(c))
    }
}
