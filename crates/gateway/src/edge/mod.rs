//! Edge defenses: what keeps a store up under a flood, a credential
//! stuffing run or a card-testing attack. Configured by `[edge]` (parsed
//! in `config`, see `edge/config.rs`).
//!
//! Owns: the per-address connection cap and the ban and deny checks at
//! accept time (before TLS), the request-time checks for client
//! addresses forwarded by trusted proxies, rate limits per address and
//! route class, the jails that turn failed logins, declined payments,
//! 404 bursts and WAF blocks into bans, and the ban list shared through
//! the database. Must not: parse rules, or know a platform beyond what
//! its preset says (login and payment routes and their failure markers).
//!
//! State that must survive a configuration reload (bans, jail counters,
//! open connections) lives in [`Edge`], held by the gateway's shared
//! state; the settings in force are swapped on reload.

pub mod bans;
pub mod challenge;
pub mod cluster;
mod jails;
mod lists;

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use arc_swap::{ArcSwap, ArcSwapOption};
use bytes::Bytes;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use http::{header, request, response, HeaderValue, Response, StatusCode};
use ipnet::IpNet;
use ops::{Action, Event, EventBus, Severity};
use tokio::sync::mpsc;

use crate::config::{ClusterConfig, Config, EdgeConfig, Jail, JailKind, Limit, RouteClass};
use crate::metrics::Sampler;
use crate::pipeline::{
    BodyInspection, BufferedBody, Decision, OverLimit, Pipeline, QuietEvent, RequestContext, Stage,
};
use crate::presets::{first_segment, MarkedRoute, PathSet};

use bans::{Ban, BanBook};
use cluster::Cluster;
use jails::Jails;
use lists::{canonical, ListFile, NetSet};

pub(crate) fn config_net(s: &str) -> Option<IpNet> {
    crate::config::parse_net(s)
}

/// Search pages of the common platforms, beside `[edge.routes] search`.
const SEARCH_PATHS: &[&str] = &["/search", "/search/*", "/catalogsearch/*", "/suche"];
/// API roots of the common platforms, beside `[edge.routes] api`.
const API_PATHS: &[&str] = &[
    "/api/*",
    "/wp-json/*",
    "/rest/*",
    "/store-api/*",
    "/graphql",
    "/webservice/*",
];
/// Form and JSON fields that name the account in a login.
const ACCOUNT_FIELDS: &[&str] = &[
    "email",
    "username",
    "log",
    "user_login",
    "login[username]",
    "login",
    "email_address",
];

/// The edge's state, shared by every listener and kept across reloads.
pub(crate) struct Edge {
    active: ArcSwapOption<Active>,
    bans: BanBook,
    jails: Jails,
    conns: Mutex<HashMap<IpAddr, u32>>,
    events: EventBus,
    writes: mpsc::UnboundedSender<BanRequest>,
    /// Redis shared with the other nodes, when `[cluster]` is set.
    cluster: ArcSwapOption<Cluster>,
    cluster_config: Mutex<Option<ClusterConfig>>,
    database: Option<String>,
    data_dir: std::path::PathBuf,
    refused: Sampler,
    limited: Sampler,
    capped: Sampler,
    challenged: Sampler,
    /// Signs challenges and passes (secret shared through Redis).
    signer: ArcSwap<challenge::Signer>,
    /// Addresses a jail has counted to half its threshold: until when,
    /// and the jail and key that counted them (an unsolved challenge
    /// counts there too, so a bot that ignores the page is still banned).
    suspicious: Mutex<HashMap<IpAddr, Suspicion>>,
}

/// Why an address is challenged.
#[derive(Clone)]
struct Suspicion {
    until: Instant,
    kind: JailKind,
    key: String,
}

/// The settings in force.
struct Active {
    config: EdgeConfig,
    allow: NetSet,
    deny: NetSet,
    allow_file: Option<ListFile>,
    deny_file: Option<ListFile>,
    limiters: Vec<Limiter>,
    clock: DefaultClock,
    paths: Paths,
}

/// The path patterns the edge checks on every request, compiled.
struct Paths {
    /// Per route class (`[edge.routes]`, and the common search and API
    /// roots).
    login: PathSet,
    checkout: PathSet,
    search: PathSet,
    api: PathSet,
    /// `[edge.challenge] paths`, and what is never challenged (the API
    /// roots and `exempt`).
    challenged: PathSet,
    exempt: PathSet,
}

impl Paths {
    fn new(c: &EdgeConfig) -> Paths {
        let routes = |class: RouteClass, common: &'static [&'static str]| {
            let own = c
                .routes
                .iter()
                .filter(move |(k, _)| *k == class)
                .flat_map(|(_, paths)| paths.iter().map(String::as_str));
            PathSet::new(common.iter().copied().chain(own))
        };
        Paths {
            login: routes(RouteClass::Login, &[]),
            checkout: routes(RouteClass::Checkout, &[]),
            search: routes(RouteClass::Search, SEARCH_PATHS),
            api: routes(RouteClass::Api, API_PATHS),
            challenged: PathSet::new(c.challenge.paths.iter().map(String::as_str)),
            exempt: PathSet::new(
                API_PATHS
                    .iter()
                    .copied()
                    .chain(c.challenge.exempt.iter().map(String::as_str)),
            ),
        }
    }
}

/// Rate-limit buckets by address, in a map keyed by ahash.
type Buckets = RateLimiter<IpAddr, DashMapStateStore<IpAddr, ahash::RandomState>, DefaultClock>;

/// The node's buckets for one rate limit.
#[derive(Clone)]
struct Limiter {
    /// The site whose own limit this is (`[site.limits]`); `None` for
    /// `[edge.limits]`, which every other site shares.
    site: Option<String>,
    class: RouteClass,
    limit: Limit,
    buckets: Arc<Buckets>,
}

/// A ban for the background writer to store.
struct BanRequest {
    net: IpNet,
    reason: String,
    source: String,
    base: Duration,
}

/// Why a connection or request is refused before any work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Denied,
    Banned { until_ms: i64 },
    TooManyConnections,
}

/// One open connection counted against its address; dropping it frees
/// the slot.
pub(crate) struct ConnectionSlot {
    edge: Weak<Edge>,
    ip: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        if let Some(edge) = self.edge.upgrade() {
            let mut c = edge.conns.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(n) = c.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    c.remove(&self.ip);
                }
            }
        }
    }
}

impl Edge {
    /// The edge for a gateway; its background task (storing bans,
    /// reading other nodes' bans, reloading list files) runs until the
    /// edge is dropped.
    pub fn start(config: &Config, events: EventBus) -> Result<Arc<Edge>, String> {
        let (writes, rx) = mpsc::unbounded_channel();
        let edge = Arc::new(Edge {
            active: ArcSwapOption::empty(),
            bans: BanBook::default(),
            jails: Jails::default(),
            conns: Mutex::new(HashMap::new()),
            events,
            writes,
            cluster: ArcSwapOption::empty(),
            cluster_config: Mutex::new(None),
            database: config.server.database.clone(),
            data_dir: config.server.data_dir.clone(),
            refused: Sampler::new(5),
            limited: Sampler::new(5),
            capped: Sampler::new(5),
            challenged: Sampler::new(5),
            signer: ArcSwap::from_pointee(challenge::Signer::new(&rand::random::<[u8; 32]>())),
            suspicious: Mutex::new(HashMap::new()),
        });
        edge.configure(config)?;
        tokio::spawn(background(Arc::downgrade(&edge), rx));
        Ok(edge)
    }

    /// Takes `config`'s `[edge]` (on start and reload). Rate-limit state
    /// carries over when a limit did not change.
    pub fn configure(&self, config: &Config) -> Result<(), String> {
        {
            let mut current = self
                .cluster_config
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if *current != config.cluster {
                let next = config
                    .cluster
                    .as_ref()
                    .map(|c| Cluster::new(&c.redis, &c.prefix))
                    .transpose()?;
                self.cluster.store(next.map(Arc::new));
                current.clone_from(&config.cluster);
            }
        }
        let Some(c) = &config.edge else {
            self.active.store(None);
            return Ok(());
        };
        let old = self.active.load_full();
        let allow_file = c.allow_file.as_deref().map(ListFile::read).transpose()?;
        let deny_file = c.deny_file.as_deref().map(ListFile::read).transpose()?;
        let wanted =
            c.limits
                .iter()
                .map(|(k, l)| (None, *k, *l))
                .chain(config.sites.iter().flat_map(|site| {
                    site.limits
                        .rates
                        .iter()
                        .map(|(k, l)| (Some(site.name.clone()), *k, *l))
                }));
        let limiters = wanted
            .map(|(site, class, limit)| {
                // Unchanged limits keep their buckets across a reload.
                let reuse = old.as_ref().and_then(|o| {
                    o.limiters
                        .iter()
                        .find(|l| l.site == site && l.class == class && l.limit == limit)
                        .map(|l| l.buckets.clone())
                });
                let buckets = reuse.unwrap_or_else(|| {
                    let per = NonZeroU32::new(limit.per_minute).unwrap_or(NonZeroU32::MIN);
                    let burst = NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN);
                    Arc::new(RateLimiter::dashmap_with_clock_and_hasher(
                        Quota::per_minute(per).allow_burst(burst),
                        DefaultClock::default(),
                        ahash::RandomState::new(),
                    ))
                });
                Limiter {
                    site,
                    class,
                    limit,
                    buckets,
                }
            })
            .collect();
        self.active.store(Some(Arc::new(Active::new(
            c.clone(),
            allow_file,
            deny_file,
            limiters,
        ))));
        Ok(())
    }

    /// A fresh per-connection request budget, when the edge is on.
    pub fn connection_budget(&self) -> Option<governor::DefaultDirectRateLimiter> {
        let active = self.active.load();
        let (per_second, burst) = active.as_ref()?.config.connection_rate;
        let per = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Some(RateLimiter::direct(
            Quota::per_second(per).allow_burst(burst),
        ))
    }

    /// A connection spent its request budget: 429, close (sampled event).
    pub fn connection_over_budget(&self, ip: IpAddr) {
        if let Some(suppressed) = self.limited.admit() {
            let mut e = Event::new("edge.rate_limited", Severity::Notice)
                .message(format!("{ip}: too many requests on one connection"));
            e.client_ip = Some(ip);
            e.action = Some(Action::Block);
            e.status = Some(429);
            e.data = serde_json::json!({
                "class": "connection",
                "suppressed_since_last": suppressed,
            });
            self.events.emit(e);
        }
    }

    pub fn enabled(&self) -> bool {
        self.active.load().is_some()
    }

    /// The check at accept time, before TLS: `Ok` with a slot that holds
    /// the connection's place, or why it is refused (sampled event).
    pub fn admit_connection(
        self: &Arc<Self>,
        ip: IpAddr,
    ) -> Result<Option<ConnectionSlot>, Refusal> {
        let active = self.active.load();
        let Some(active) = active.as_ref() else {
            return Ok(None);
        };
        let ip = canonical(ip);
        if active.allow.contains(ip) {
            return Ok(None);
        }
        let refusal = if active.deny.contains(ip) {
            Some(Refusal::Denied)
        } else {
            self.bans
                .banned(ip, bans::now_ms())
                .map(|until_ms| Refusal::Banned { until_ms })
        };
        if let Some(r) = refusal {
            self.refused_event(ip, r, None);
            return Err(r);
        }
        let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        let n = conns.entry(ip).or_insert(0);
        if *n >= active.config.max_connections_per_ip {
            drop(conns);
            if let Some(suppressed) = self.capped.admit() {
                let mut e = Event::new("edge.connection_limit", Severity::Notice).message(format!(
                    "{ip} holds {} connections: new ones are refused",
                    active.config.max_connections_per_ip
                ));
                e.client_ip = Some(ip);
                e.data = serde_json::json!({ "suppressed_since_last": suppressed });
                self.events.emit(e);
            }
            return Err(Refusal::TooManyConnections);
        }
        *n += 1;
        Ok(Some(ConnectionSlot {
            edge: Arc::downgrade(self),
            ip,
        }))
    }

    fn refused_event(&self, ip: IpAddr, r: Refusal, site: Option<&str>) {
        if let Some(suppressed) = self.refused.admit() {
            let (kind, msg) = match r {
                Refusal::Denied => ("edge.denied", format!("{ip} is on the deny list")),
                Refusal::Banned { until_ms } => (
                    "edge.banned",
                    format!(
                        "{ip} is banned for {} more seconds",
                        (until_ms - bans::now_ms()).max(0) / 1000
                    ),
                ),
                Refusal::TooManyConnections => ("edge.connection_limit", format!("{ip}")),
            };
            let mut e = Event::new(kind, Severity::Notice).message(msg);
            e.client_ip = Some(ip);
            e.site = site.map(str::to_string);
            e.action = Some(Action::Block);
            e.data = serde_json::json!({ "suppressed_since_last": suppressed });
            self.events.emit(e);
        }
    }

    /// Bans `net` now (in memory at once; stored, escalated and announced
    /// by the background task).
    fn ban(&self, net: IpNet, reason: String, source: &str, base: Duration) {
        if let Some(a) = self.active.load().as_ref() {
            if a.allow.contains(net.addr()) {
                return;
            }
        }
        let until = bans::now_ms() + base.as_millis() as i64;
        if self.bans.banned(net.addr(), bans::now_ms()).is_some() {
            return;
        }
        self.bans.insert_local(net, until);
        // The ban supersedes the challenge: once it ends, a clean slate.
        self.suspicious
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|ip, _| !net.contains(ip));
        let _ = self.writes.send(BanRequest {
            net,
            reason,
            source: source.to_string(),
            base,
        });
    }

    /// The shared Redis, when configured, connected and answering.
    fn live_cluster(&self) -> Option<Arc<Cluster>> {
        let cluster = self.cluster.load();
        cluster
            .as_ref()
            .filter(|c| c.connected() && !c.is_down())
            .cloned()
    }

    /// A Redis call failed: the node decides alone until it answers again.
    fn cluster_failed(&self, why: &str) {
        if let Some(c) = self.cluster.load().as_ref() {
            if c.mark(false) {
                self.events.emit(
                    Event::new("edge.cluster_unreachable", Severity::Warning).message(format!(
                        "Redis unreachable ({why}): limits and jails count on this node only, known bans stay in force"
                    )),
                );
            }
        }
    }

    /// An offence by `ip` for `jail`, keyed by `key` (the address itself,
    /// or the account name): counted in Redis when shared, else here.
    fn offend(self: &Arc<Self>, active: &Active, kind: JailKind, key: &str, ip: IpAddr) {
        let Some(jail) = active.config.jails.iter().find(|j| j.kind == kind).copied() else {
            return;
        };
        let Some(cl) = self.live_cluster() else {
            return self.offend_here(&jail, key, ip);
        };
        let edge = self.clone();
        let key = key.to_string();
        tokio::spawn(async move {
            let shared_key = cl.key(&["jail", jail.kind.as_str(), &key]);
            let member = format!("{}|{ip}|{}", bans::now_ms(), rand::random::<u64>());
            match cl
                .offend(&shared_key, jail.window, jail.threshold, &member)
                .await
            {
                Ok(members) if members.len() == 1 && members[0].starts_with('#') => {
                    let count = members[0][1..].parse().unwrap_or(0);
                    edge.count_towards(&jail, &key, ip, count);
                }
                Ok(members) => {
                    let mut who: Vec<&str> =
                        members.iter().filter_map(|m| m.split('|').nth(1)).collect();
                    who.sort_unstable();
                    who.dedup();
                    for w in who {
                        if let Some(net) = config_net(w) {
                            edge.ban(net, reason(&jail, &key, w), jail.kind.as_str(), jail.ban);
                        }
                    }
                }
                Err(e) => {
                    edge.cluster_failed(&e);
                    edge.offend_here(&jail, &key, ip);
                }
            }
        });
    }

    fn offend_here(&self, jail: &Jail, key: &str, ip: IpAddr) {
        match self
            .jails
            .offend(jail, key, &ip.to_string(), Instant::now())
        {
            Ok(count) => self.count_towards(jail, key, ip, count),
            Err(who) => {
                for w in who {
                    if let Some(net) = config_net(&w) {
                        self.ban(net, reason(jail, key, &w), jail.kind.as_str(), jail.ban);
                    }
                }
            }
        }
    }

    /// `count` offences of `jail` so far: from half its threshold, the
    /// address is suspicious (challenged) for the jail's window.
    fn count_towards(&self, jail: &Jail, key: &str, ip: IpAddr, count: usize) {
        if count * 2 >= jail.threshold as usize {
            let mut s = self.suspicious.lock().unwrap_or_else(|e| e.into_inner());
            s.insert(
                ip,
                Suspicion {
                    until: Instant::now() + jail.window,
                    kind: jail.kind,
                    key: key.to_string(),
                },
            );
        }
    }

    fn any_suspicious(&self) -> bool {
        !self
            .suspicious
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    fn suspicion(&self, ip: IpAddr) -> Option<Suspicion> {
        let s = self.suspicious.lock().unwrap_or_else(|e| e.into_inner());
        if s.is_empty() {
            return None;
        }
        s.get(&ip).filter(|x| x.until > Instant::now()).cloned()
    }

    /// What the gateway saw of a finished request: WAF blocks feed the
    /// `waf_blocks` jail.
    pub fn after_request(self: &Arc<Self>, ctx: &RequestContext) {
        let Some(req) = ctx.edge.as_ref() else {
            return;
        };
        if req.allowed {
            return;
        }
        let active = self.active.load();
        let Some(active) = active.as_ref() else {
            return;
        };
        let Some(jail) = active
            .config
            .jails
            .iter()
            .find(|j| j.kind == JailKind::WafBlocks)
        else {
            return;
        };
        let blocked = ctx.findings.action == Some(Action::Block);
        if blocked && ctx.findings.anomaly_score.unwrap_or(0) >= jail.min_score {
            self.offend(active, JailKind::WafBlocks, &req.ip.to_string(), req.ip);
        }
    }
}

fn reason(jail: &Jail, key: &str, who: &str) -> String {
    let what = match jail.kind {
        JailKind::LoginFailures => "failed logins",
        JailKind::AccountFailures => "failed logins for one account",
        JailKind::PaymentDeclines => "declined payments",
        JailKind::SessionDeclines => "declined payments in one store session",
        JailKind::NotFound => "404 answers",
        JailKind::WafBlocks => "requests blocked by the WAF",
    };
    let window = jail.window.as_secs();
    if matches!(
        jail.kind,
        JailKind::AccountFailures | JailKind::SessionDeclines
    ) {
        format!(
            "{}: {} {what} ({key:?}) within {window} s, {who} among them",
            jail.kind.as_str(),
            jail.threshold
        )
    } else {
        format!(
            "{}: {} {what} within {window} s",
            jail.kind.as_str(),
            jail.threshold
        )
    }
}

impl Active {
    fn new(
        config: EdgeConfig,
        allow_file: Option<ListFile>,
        deny_file: Option<ListFile>,
        limiters: Vec<Limiter>,
    ) -> Active {
        let mut allow = NetSet::new(config.allow.iter().copied());
        if let Some(f) = &allow_file {
            allow.extend(f.entries.iter().copied());
        }
        let mut deny = NetSet::new(config.deny.iter().copied());
        if let Some(f) = &deny_file {
            deny.extend(f.entries.iter().copied());
        }
        Active {
            paths: Paths::new(&config),
            config,
            allow,
            deny,
            allow_file,
            deny_file,
            limiters,
            clock: DefaultClock::default(),
        }
    }

    /// The class of a request (other than `All`).
    /// `on_login` and `on_payment`: the request is on a preset's login or
    /// payment route (the stage has looked them up already).
    fn class(
        &self,
        ctx: &RequestContext,
        req: &request::Parts,
        on_login: bool,
        on_payment: bool,
    ) -> Option<RouteClass> {
        let method = req.method.as_str();
        let path = req.uri.path();
        let query = req.uri.query().unwrap_or("");
        let preset = ctx.site.platform.as_ref();
        // One scan of the path for the four sets.
        let first = first_segment(path);
        if on_login || self.paths.login.matches_at(path, first) {
            return Some(RouteClass::Login);
        }
        if on_payment
            || preset.is_some_and(|p| p.checkout_route(method, path, query).is_some())
            || self.paths.checkout.matches_at(path, first)
        {
            return Some(RouteClass::Checkout);
        }
        if self.paths.search.matches_at(path, first) {
            return Some(RouteClass::Search);
        }
        if self.paths.api.matches_at(path, first) {
            return Some(RouteClass::Api);
        }
        None
    }
}

/// What the edge stage keeps about one request.
#[derive(Clone)]
pub(crate) struct EdgeRequest {
    ip: IpAddr,
    allowed: bool,
    login: Option<MarkedRoute>,
    payment: Option<MarkedRoute>,
    account: Option<String>,
    /// The store session of a payment (`site:digest`, never the value).
    session: Option<String>,
}

/// The edge's request-time stage; first in the pipeline.
pub(crate) struct EdgeStage {
    edge: Arc<Edge>,
    trusted: Vec<IpNet>,
}

/// Puts the edge stage first in `pipeline` when `[edge]` is on.
pub(crate) fn with_edge(edge: &Arc<Edge>, config: &Config, pipeline: Pipeline) -> Pipeline {
    if config.edge.is_none() {
        return pipeline;
    }
    let mut stages = vec![Arc::new(EdgeStage {
        edge: edge.clone(),
        trusted: config.server.trusted_proxies.clone(),
    }) as Arc<dyn Stage>];
    stages.extend(pipeline.stages().iter().cloned());
    Pipeline::new(stages)
}

fn refuse(
    status: StatusCode,
    ctx: &mut RequestContext,
    retry_after: Option<u64>,
) -> Response<Bytes> {
    let mut r = crate::pages::error_page(status, &ctx.request_id);
    if let Some(s) = retry_after {
        if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    r
}

impl EdgeStage {
    /// The limits that apply to a request of `class` on `site`: the
    /// overall one, then the class's; the site's own where it has one.
    fn limits_for<'a>(
        active: &'a Active,
        site: &str,
        class: Option<RouteClass>,
    ) -> [Option<&'a Limiter>; 2] {
        let pick = |k: RouteClass| {
            let mut of_class = active.limiters.iter().filter(move |l| l.class == k);
            let own = of_class.clone().find(|l| l.site.as_deref() == Some(site));
            own.or_else(|| of_class.find(|l| l.site.is_none()))
        };
        [pick(RouteClass::All), class.and_then(pick)]
    }

    /// The node's own buckets (alone, or when Redis does not answer).
    fn limit_here(
        &self,
        active: &Active,
        ctx: &mut RequestContext,
        ip: IpAddr,
        class: Option<RouteClass>,
    ) -> Option<Response<Bytes>> {
        let limits = Self::limits_for(active, &ctx.site.name, class);
        let hit = limits.into_iter().flatten().find_map(|l| {
            let not_until = l.buckets.check_key(&ip).err()?;
            Some((l, not_until.wait_time_from(active.clock.now())))
        });
        hit.map(|(l, wait)| self.limited(ctx, ip, l, wait))
    }

    /// The buckets shared through Redis; the node's own when it fails.
    async fn limit_shared(
        &self,
        cl: &Cluster,
        active: &Active,
        ctx: &mut RequestContext,
        ip: IpAddr,
        class: Option<RouteClass>,
    ) -> Option<Response<Bytes>> {
        let who = ip.to_string();
        let limits = Self::limits_for(active, &ctx.site.name, class);
        for l in limits.into_iter().flatten() {
            let key = match &l.site {
                None => cl.key(&["rl", l.class.as_str(), &who]),
                Some(site) => cl.key(&["rl", "site", site, l.class.as_str(), &who]),
            };
            match cl.limit(&key, l.limit.per_minute, l.limit.burst).await {
                Ok(None) => {}
                Ok(Some(wait)) => return Some(self.limited(ctx, ip, l, wait)),
                Err(e) => {
                    self.edge.cluster_failed(&e);
                    return self.limit_here(active, ctx, ip, class);
                }
            }
        }
        None
    }

    /// The 429 for a request over the limit `l`, and its sampled event.
    fn limited(
        &self,
        ctx: &mut RequestContext,
        ip: IpAddr,
        l: &Limiter,
        wait: Duration,
    ) -> Response<Bytes> {
        let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        let k = l.class;
        ctx.findings.action = Some(Action::Block);
        ctx.findings.message = format!(
            "edge: rate limit {}{} ({}/min) exceeded by {ip}",
            k.as_str(),
            if l.site.is_some() { " of the site" } else { "" },
            l.limit.per_minute
        );
        if let Some(suppressed) = self.edge.limited.admit() {
            let mut e = Event::new("edge.rate_limited", Severity::Notice)
                .message(ctx.findings.message.clone());
            e.client_ip = Some(ip);
            e.site = Some(ctx.site.name.clone());
            e.action = Some(Action::Block);
            e.status = Some(429);
            e.request_id = Some(ctx.request_id().to_string());
            e.data = serde_json::json!({
                "class": k.as_str(),
                "site_limit": l.site.is_some(),
                "retry_after_s": secs,
                "suppressed_since_last": suppressed,
            });
            self.edge.events.emit(e);
        }
        // The edge event above stands for this request (sampled).
        ctx.state.insert(QuietEvent);
        refuse(StatusCode::TOO_MANY_REQUESTS, ctx, Some(secs))
    }

    fn marker_failed(&self, ctx: &RequestContext, resp: &response::Parts, body: &[u8]) {
        let Some(req) = ctx.edge.as_ref() else {
            return;
        };
        if req.allowed || (req.login.is_none() && req.payment.is_none()) {
            return;
        }
        let active = self.edge.active.load();
        let Some(active) = active.as_ref() else {
            return;
        };
        let status = resp.status.as_u16();
        let location = resp
            .headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok());
        let ip = req.ip;
        if let Some(m) = &req.login {
            if m.failed(status, location, body) {
                self.edge
                    .offend(active, JailKind::LoginFailures, &ip.to_string(), ip);
                if let Some(account) = &req.account {
                    let key = format!("{}:{}", ctx.site.name, account.to_lowercase());
                    self.edge
                        .offend(active, JailKind::AccountFailures, &key, ip);
                }
            }
        }
        if let Some(m) = &req.payment {
            if m.failed(status, location, body) {
                self.edge
                    .offend(active, JailKind::PaymentDeclines, &ip.to_string(), ip);
                if let Some(session) = &req.session {
                    self.edge
                        .offend(active, JailKind::SessionDeclines, session, ip);
                }
            }
        }
    }
}

impl EdgeStage {
    /// The proof-of-work challenge: checks a solution posted back, lets
    /// a valid pass through (without the cookie), and answers the page to
    /// a client that must solve it and has no pass.
    fn challenge(
        &self,
        active: &Active,
        ctx: &mut RequestContext,
        req: &mut request::Parts,
        ip: IpAddr,
        class: Option<RouteClass>,
    ) -> Option<Response<Bytes>> {
        let cfg = &active.config.challenge;
        let path = req.uri.path();
        // Most requests: no challenge can apply (no attack mode, no
        // challenged paths, no suspicious address); only the pass cookie
        // is kept from the store.
        let may_apply = path == challenge::PATH
            || cfg.under_attack
            || !active.paths.challenged.is_empty()
            || (cfg.suspicious && self.edge.any_suspicious());
        if !may_apply {
            challenge::strip_pass(&mut req.headers);
            return None;
        }
        let now_s = bans::now_ms() / 1000;
        let signer = self.edge.signer.load();
        if path == challenge::PATH {
            let q: HashMap<String, String> =
                form_urlencoded::parse(req.uri.query().unwrap_or("").as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .take(8)
                    .collect();
            let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
            let next = challenge::safe_next(get("next"));
            ctx.state.insert(QuietEvent);
            return Some(
                match signer.verify_solution(get("token"), get("n"), ip, cfg.difficulty, now_s) {
                    Ok(()) => {
                        let exp = now_s + cfg.pass_ttl.as_secs() as i64;
                        let pass = signer.pass(ip, &ctx.site.name, exp);
                        let mut r = Response::new(Bytes::new());
                        *r.status_mut() = StatusCode::SEE_OTHER;
                        let cookie = format!(
                            "{}={pass}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={}",
                            challenge::COOKIE,
                            cfg.pass_ttl.as_secs()
                        );
                        if let (Ok(c), Ok(l)) =
                            (HeaderValue::from_str(&cookie), HeaderValue::from_str(&next))
                        {
                            r.headers_mut().insert(header::SET_COOKIE, c);
                            r.headers_mut().insert(header::LOCATION, l);
                        }
                        r.headers_mut()
                            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                        ctx.findings.action = Some(Action::Pass);
                        self.challenge_event(
                            ctx,
                            ip,
                            "edge.challenge_passed",
                            "solved the challenge",
                        );
                        r
                    }
                    Err(why) => {
                        ctx.findings.action = Some(Action::Block);
                        self.challenge_event(ctx, ip, "edge.challenge_failed", why);
                        challenge::page(
                            &signer.challenge(ip, now_s),
                            &next,
                            cfg.difficulty,
                            &ctx.request_id,
                        )
                    }
                },
            );
        }
        let passed = signer.has_pass(&req.headers, ip, &ctx.site.name, now_s);
        challenge::strip_pass(&mut req.headers);
        if passed || class == Some(RouteClass::Api) {
            return None;
        }
        if active.paths.exempt.matches(path) {
            return None;
        }
        let why = if cfg.under_attack {
            "under attack mode"
        } else if active.paths.challenged.matches(path) {
            "challenged path"
        } else if let Some(why) = cfg.suspicious.then(|| self.edge.suspicion(ip)).flatten() {
            // Not solving it is one more offence for the jail that made
            // the address suspicious.
            self.edge.offend(active, why.kind, &why.key, ip);
            "suspicious address"
        } else {
            return None;
        };
        let next = match req.uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        };
        let next = challenge::safe_next(&next);
        ctx.findings.action = Some(Action::Block);
        ctx.findings.message = format!("edge: proof-of-work challenge for {ip} ({why})");
        ctx.state.insert(QuietEvent);
        self.challenge_event(ctx, ip, "edge.challenge", why);
        Some(challenge::page(
            &signer.challenge(ip, now_s),
            &next,
            cfg.difficulty,
            &ctx.request_id,
        ))
    }

    fn challenge_event(&self, ctx: &RequestContext, ip: IpAddr, kind: &'static str, why: &str) {
        if let Some(suppressed) = self.edge.challenged.admit() {
            let mut e = Event::new(kind, Severity::Notice).message(format!("{ip}: {why}"));
            e.client_ip = Some(ip);
            e.site = Some(ctx.site.name.clone());
            e.request_id = Some(ctx.request_id().to_string());
            e.data = serde_json::json!({ "suppressed_since_last": suppressed });
            self.edge.events.emit(e);
        }
    }
}

/// The key of the store session a request carries: the site and a
/// digest of the first session cookie's value (the value itself is a
/// credential and never leaves the request).
fn session_key(site: &str, headers: &http::HeaderMap, names: &[String]) -> Option<String> {
    if names.is_empty() {
        return None;
    }
    let value = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| {
            !value.is_empty()
                && names.iter().any(|n| match n.strip_suffix('*') {
                    Some(prefix) => name.starts_with(prefix),
                    None => name == n,
                })
        })
        .map(|(_, v)| v)?;
    let digest = ring::digest::digest(&ring::digest::SHA256, value.as_bytes());
    let hex: String = digest.as_ref()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(format!("{site}:session-{hex}"))
}

fn needs_body(m: &Option<MarkedRoute>) -> bool {
    m.as_ref().is_some_and(|m| !m.body.is_empty())
}

/// The account named in a login form or JSON body.
fn account_of(req: &request::Parts, body: &[u8]) -> Option<String> {
    let ct = req
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let name = if ct.starts_with("application/json") {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        ACCOUNT_FIELDS.iter().find_map(|f| {
            v.get(*f)
                .and_then(|x| x.as_str())
                .map(str::to_string)
                .or_else(|| {
                    // Magento's `{"username": ...}` and Shopware's
                    // `{"email": ...}` are top level; nested forms use
                    // `login[username]`.
                    let (outer, inner) = f.split_once('[')?;
                    v.get(outer)?
                        .get(inner.trim_end_matches(']'))?
                        .as_str()
                        .map(str::to_string)
                })
        })
    } else {
        let fields: Vec<(String, String)> = form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        ACCOUNT_FIELDS
            .iter()
            .find_map(|f| fields.iter().find(|(k, _)| k == f).map(|(_, v)| v.clone()))
    }?;
    let name = name.trim();
    (!name.is_empty() && name.len() <= 256).then(|| name.to_string())
}

impl Stage for EdgeStage {
    fn name(&self) -> &'static str {
        "edge"
    }

    fn request_headers<'a>(
        &'a self,
        ctx: &'a mut RequestContext,
        req: &'a mut request::Parts,
    ) -> Decision<'a> {
        let active = self.edge.active.load_full();
        let Some(active) = active else {
            return Decision::Continue;
        };
        let peer = canonical(ctx.client_addr.ip());
        let ip = canonical(crate::headers::client_ip(peer, &req.headers, &self.trusted));
        let allowed = !active.allow.is_empty() && active.allow.contains(ip);
        let (login, payment) = {
            let (m, path, q) = (
                req.method.as_str(),
                req.uri.path(),
                req.uri.query().unwrap_or(""),
            );
            let preset = ctx.site.platform.as_ref();
            let own = |list: &[MarkedRoute]| -> Option<MarkedRoute> {
                list.iter().find(|r| r.route.applies(m, path, q)).cloned()
            };
            (
                own(&active.config.login)
                    .or_else(|| preset.and_then(|p| p.login_route(m, path, q)).cloned()),
                own(&active.config.payment)
                    .or_else(|| preset.and_then(|p| p.payment_route(m, path, q)).cloned()),
            )
        };
        let session = payment.as_ref().and_then(|_| {
            let names = match &active.config.session_cookies {
                Some(n) => n.as_slice(),
                None => ctx
                    .site
                    .platform
                    .as_ref()
                    .map_or(&[][..], |p| p.session_cookies.as_slice()),
            };
            session_key(&ctx.site.name, &req.headers, names)
        });
        let (on_login, on_payment) = (login.is_some(), payment.is_some());
        ctx.edge = Some(EdgeRequest {
            ip,
            allowed,
            login,
            payment,
            account: None,
            session,
        });
        if allowed {
            return Decision::Continue;
        }
        let now = bans::now_ms();
        // The peer itself was checked against the deny list at accept.
        let refusal = if ip != peer && active.deny.contains(ip) {
            Some(Refusal::Denied)
        } else {
            self.edge
                .bans
                .banned(ip, now)
                .map(|until_ms| Refusal::Banned { until_ms })
        };
        if let Some(r) = refusal {
            self.edge.refused_event(ip, r, Some(&ctx.site.name));
            ctx.state.insert(QuietEvent);
            ctx.findings.action = Some(Action::Block);
            ctx.findings.message = format!("edge: {ip} is refused ({r:?})");
            let retry = match r {
                Refusal::Banned { until_ms } => Some(((until_ms - now).max(1000) / 1000) as u64),
                _ => None,
            };
            let mut resp = refuse(StatusCode::FORBIDDEN, ctx, retry);
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return Decision::Respond(resp);
        }
        let class = active.class(ctx, req, on_login, on_payment);
        if active.limiters.is_empty() {
            return match self.challenge(&active, ctx, req, ip, class) {
                Some(r) => Decision::Respond(r),
                None => Decision::Continue,
            };
        }
        match self.edge.live_cluster() {
            None => match self
                .limit_here(&active, ctx, ip, class)
                .or_else(|| self.challenge(&active, ctx, req, ip, class))
            {
                Some(r) => Decision::Respond(r),
                None => Decision::Continue,
            },
            Some(cl) => Decision::wait(async move {
                let r = match self.limit_shared(&cl, &active, ctx, ip, class).await {
                    Some(r) => Some(r),
                    None => self.challenge(&active, ctx, req, ip, class),
                };
                match r {
                    Some(r) => Decision::Respond(r),
                    None => Decision::Continue,
                }
            }),
        }
    }

    fn request_body_inspection(
        &self,
        ctx: &RequestContext,
        _req: &request::Parts,
    ) -> BodyInspection {
        // The account name of a login, for the per-account jail. No limit
        // of our own: the smallest limit asked for wins, and the WAF's
        // must not shrink because of us.
        match ctx.edge.as_ref() {
            Some(r) if r.login.is_some() && !r.allowed => BodyInspection::Buffer {
                limit: usize::MAX,
                over_limit: OverLimit::InspectPrefix,
            },
            _ => BodyInspection::Skip,
        }
    }

    fn request_body<'a>(
        &'a self,
        ctx: &'a mut RequestContext,
        req: &'a mut request::Parts,
        body: &'a mut BufferedBody,
    ) -> Decision<'a> {
        let account = account_of(req, &body.bytes);
        if let Some(r) = ctx.edge.as_mut() {
            r.account = account;
        }
        Decision::Continue
    }

    fn response_headers<'a>(
        &'a self,
        ctx: &'a mut RequestContext,
        resp: &'a mut response::Parts,
    ) -> Decision<'a> {
        if resp.status == StatusCode::NOT_FOUND {
            if let Some(req) = ctx.edge.as_ref().filter(|r| !r.allowed) {
                let active = self.edge.active.load();
                if let Some(active) = active.as_ref() {
                    self.edge
                        .offend(active, JailKind::NotFound, &req.ip.to_string(), req.ip);
                }
            }
        }
        Decision::Continue
    }

    fn response_body_inspection(
        &self,
        ctx: &RequestContext,
        _resp: &response::Parts,
    ) -> BodyInspection {
        match ctx.edge.as_ref() {
            Some(r) if !r.allowed && (needs_body(&r.login) || needs_body(&r.payment)) => {
                BodyInspection::Buffer {
                    limit: usize::MAX,
                    over_limit: OverLimit::InspectPrefix,
                }
            }
            _ => BodyInspection::Skip,
        }
    }

    fn response_body<'a>(
        &'a self,
        ctx: &'a mut RequestContext,
        resp: &'a mut response::Parts,
        body: &'a mut BufferedBody,
    ) -> Decision<'a> {
        self.marker_failed(ctx, resp, &body.bytes);
        Decision::Continue
    }

    fn response_body_absent<'a>(
        &'a self,
        ctx: &'a mut RequestContext,
        resp: &'a mut response::Parts,
    ) -> Decision<'a> {
        self.marker_failed(ctx, resp, b"");
        Decision::Continue
    }
}

// ---------------------------------------------------------------------------
// The background task.

async fn open_db(edge: &Edge) -> Result<store::Database, String> {
    let db = match &edge.database {
        Some(url) => store::Database::connect(url).await,
        None => store::Database::open_sqlite(&edge.data_dir.join("rampart.sqlite")).await,
    }
    .map_err(|e| e.to_string())?;
    bans::migrate(&db).await.map_err(|e| e.to_string())?;
    Ok(db)
}

async fn background(edge: Weak<Edge>, mut rx: mpsc::UnboundedReceiver<BanRequest>) {
    let mut db: Option<store::Database> = None;
    let mut db_down_reported = false;
    let mut last_poll = Instant::now() - Duration::from_secs(60);
    let mut last_sweep = Instant::now();
    let mut queue: Vec<BanRequest> = Vec::new();
    // The last good view of each source, so that one failing keeps its
    // bans in force: the database's, Redis's, and bans only this node
    // knows (not stored).
    let mut from_db: Vec<Ban> = Vec::new();
    let mut from_redis: Vec<Ban> = Vec::new();
    let mut local: Vec<Ban> = Vec::new();
    let mut secret_shared = false;
    loop {
        let poll = match edge.upgrade() {
            Some(e) => e
                .active
                .load()
                .as_ref()
                .map_or(Duration::from_millis(500), |a| a.config.ban_poll),
            None => return,
        };
        tokio::select! {
            got = rx.recv() => match got {
                Some(b) => queue.push(b),
                None => return,
            },
            _ = tokio::time::sleep(poll.saturating_sub(last_poll.elapsed())) => {}
        }
        let Some(edge) = edge.upgrade() else { return };
        if !edge.enabled() {
            queue.clear();
            continue;
        }
        if db.is_none() {
            match open_db(&edge).await {
                Ok(d) => {
                    if db_down_reported {
                        edge.events.emit(
                            Event::new("edge.database_restored", Severity::Notice)
                                .message("the ban list is stored and shared again"),
                        );
                    }
                    db_down_reported = false;
                    db = Some(d);
                }
                Err(e) => {
                    if !db_down_reported {
                        edge.events.emit(
                            Event::new("edge.database_unreachable", Severity::Warning).message(
                                format!("bans stay in force on this node only until the database is back: {e}"),
                            ),
                        );
                        db_down_reported = true;
                    }
                }
            }
        }
        let active = edge.active.load_full();
        let Some(active) = active else { continue };
        let cluster = edge.cluster.load_full();
        let cluster_up = match &cluster {
            Some(c) => {
                let up = c.ensure().await;
                if !up {
                    edge.cluster_failed("cannot connect");
                } else if !secret_shared {
                    // Every node signs challenges and passes with the
                    // same secret, so a pass from one is good on all.
                    let mine: String = rand::random::<[u8; 32]>()
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect();
                    if let Ok(secret) = c.shared_secret(&mine).await {
                        edge.signer
                            .store(Arc::new(challenge::Signer::new(secret.as_bytes())));
                        secret_shared = true;
                    }
                }
                up
            }
            None => false,
        };
        for b in queue.drain(..) {
            let shared = cluster.as_deref().filter(|_| cluster_up);
            if let Some(ban) = store_ban(&edge, db.as_ref(), shared, &active.config, b).await {
                local.push(ban);
            }
        }
        if last_poll.elapsed() >= poll {
            last_poll = Instant::now();
            let now = bans::now_ms();
            if let Some(d) = &db {
                // Bans that could not be stored when made: again, for
                // what is left of them, so every node and `rampart bans`
                // see them.
                let mut kept = Vec::with_capacity(local.len());
                for b in local.drain(..) {
                    if b.until_ms <= now {
                        continue;
                    }
                    let left = b.until_ms - now;
                    match bans::put(d, &b.target, &b.reason, &b.source, left, 1.0, left).await {
                        Ok(_) => edge.events.emit(
                            Event::new("edge.ban_stored", Severity::Notice)
                                .message(format!("the ban of {} is stored now", b.target))
                                .data(serde_json::json!({"target": b.target, "source": b.source})),
                        ),
                        Err(_) => kept.push(b),
                    }
                }
                local = kept;
                match bans::list(d, now, false).await {
                    Ok(list) => from_db = list,
                    Err(e) => {
                        if !db_down_reported {
                            edge.events.emit(
                                Event::new("edge.database_unreachable", Severity::Warning).message(
                                    format!("cannot read bans, the known ones stay in force: {e}"),
                                ),
                            );
                            db_down_reported = true;
                        }
                    }
                }
            }
            let mut redis_fresh = false;
            match (&cluster, cluster_up) {
                (Some(c), true) => match c.bans(now).await {
                    Ok(list) => {
                        redis_fresh = true;
                        from_redis = list
                            .into_iter()
                            .map(|(target, until_ms)| Ban {
                                target,
                                reason: String::new(),
                                source: "cluster".into(),
                                created_ms: 0,
                                until_ms,
                                offenses: 1,
                            })
                            .collect();
                        if c.mark(true) {
                            edge.events.emit(
                                Event::new("edge.cluster_restored", Severity::Notice).message(
                                    "Redis answers again: limits, jails and bans are shared",
                                ),
                            );
                        }
                    }
                    Err(e) => edge.cluster_failed(&e),
                },
                (None, _) => from_redis.clear(),
                _ => {}
            }
            local.retain(|b| b.until_ms > now);
            // With Redis answering, it is the shared truth (a ban lifted
            // through any node is gone); without it, everything known.
            let stored: &[Ban] = if redis_fresh { &[] } else { &from_db };
            let all: Vec<Ban> = stored
                .iter()
                .chain(&from_redis)
                .chain(&local)
                .cloned()
                .collect();
            edge.bans.replace(&all, now);
        }
        if last_sweep.elapsed() >= Duration::from_secs(1) {
            last_sweep = Instant::now();
            sweep(&edge, &active);
        }
    }
}

/// Stores and announces a ban; returns it when it could not be stored
/// (then this node alone keeps it).
async fn store_ban(
    edge: &Edge,
    db: Option<&store::Database>,
    cluster: Option<&Cluster>,
    config: &EdgeConfig,
    b: BanRequest,
) -> Option<Ban> {
    let target = if b.net.prefix_len() == b.net.max_prefix_len() {
        b.net.addr().to_string()
    } else {
        b.net.to_string()
    };
    let base_ms = b.base.as_millis() as i64;
    let stored = match db {
        Some(d) => bans::put(
            d,
            &target,
            &b.reason,
            &b.source,
            base_ms,
            config.escalation,
            config.max_ban.as_millis() as i64,
        )
        .await
        .map_err(|e| e.to_string()),
        None => Err("no database".to_string()),
    };
    let mut e = Event::new("edge.ban", Severity::Warning);
    e.action = Some(Action::Block);
    e.client_ip = Some(b.net.addr());
    let (until, kept) = match stored {
        Ok(ban) => {
            edge.bans.stored(b.net, Some(ban.until_ms));
            let secs = (ban.until_ms - ban.created_ms) / 1000;
            e.message = format!("{target} banned for {secs} s: {}", b.reason);
            e.data = serde_json::json!({
                "target": target, "source": b.source, "seconds": secs,
                "offenses": ban.offenses, "until_ms": ban.until_ms,
            });
            (ban.until_ms, None)
        }
        Err(why) => {
            let now = bans::now_ms();
            let until = now + base_ms;
            edge.bans.stored(b.net, Some(until));
            e.message = format!(
                "{target} banned for {} s, not stored ({why}): {}",
                b.base.as_secs(),
                b.reason
            );
            e.data = serde_json::json!({
                "target": target, "source": b.source, "seconds": b.base.as_secs(), "stored": false,
            });
            let ban = Ban {
                target: target.clone(),
                reason: b.reason.clone(),
                source: b.source.clone(),
                created_ms: now,
                until_ms: until,
                offenses: 1,
            };
            (until, Some(ban))
        }
    };
    if let Some(c) = cluster {
        if let Err(why) = c.put_ban(&target, until).await {
            edge.cluster_failed(&why);
        }
    }
    edge.events.emit(e);
    kept
}

fn sweep(edge: &Arc<Edge>, active: &Arc<Active>) {
    let longest = active
        .config
        .jails
        .iter()
        .map(|j| j.window)
        .max()
        .unwrap_or(Duration::from_secs(60));
    edge.jails.sweep(longest, Instant::now());
    {
        let now = Instant::now();
        let mut s = edge.suspicious.lock().unwrap_or_else(|e| e.into_inner());
        s.retain(|_, x| x.until > now);
    }
    edge.bans.expire(bans::now_ms());
    for l in &active.limiters {
        l.buckets.retain_recent();
        l.buckets.shrink_to_fit();
    }
    // List files changed on disk: read them again; a bad file keeps the
    // list in force and says why.
    let changed = active.allow_file.as_ref().is_some_and(ListFile::changed)
        || active.deny_file.as_ref().is_some_and(ListFile::changed);
    if !changed {
        return;
    }
    let read = |f: &Option<ListFile>| -> Result<Option<ListFile>, String> {
        match f {
            Some(f) if f.changed() => ListFile::read(&f.path).map(Some),
            other => Ok(other.clone()),
        }
    };
    match (read(&active.allow_file), read(&active.deny_file)) {
        (Ok(allow), Ok(deny)) => {
            let sizes = (
                allow.as_ref().map_or(0, |f| f.entries.len()),
                deny.as_ref().map_or(0, |f| f.entries.len()),
            );
            let next = Active::new(active.config.clone(), allow, deny, active.limiters.clone());
            edge.active.store(Some(Arc::new(next)));
            edge.events.emit(
                Event::new("edge.lists_reloaded", Severity::Info).message(format!(
                    "allow and deny files read again: {} and {} entries",
                    sizes.0, sizes.1
                )),
            );
        }
        (Err(e), _) | (_, Err(e)) => {
            // Remember the bad version so the error is said once.
            let mark = |f: &Option<ListFile>| {
                f.as_ref().map(|f| {
                    let mut f = f.clone();
                    if let Ok(m) = std::fs::metadata(&f.path) {
                        f.modified = m.modified().ok();
                        f.len = m.len();
                    }
                    f
                })
            };
            let next = Active::new(
                active.config.clone(),
                mark(&active.allow_file),
                mark(&active.deny_file),
                active.limiters.clone(),
            );
            edge.active.store(Some(Arc::new(next)));
            edge.events.emit(
                Event::new("edge.list_error", Severity::Warning).message(format!(
                    "list file not applied, the previous list stays: {e}"
                )),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(ct: &str) -> request::Parts {
        let (p, _) = http::Request::builder()
            .method("POST")
            .uri("/account/login")
            .header("content-type", ct)
            .body(())
            .unwrap()
            .into_parts();
        p
    }

    #[test]
    fn account_names_come_from_forms_and_json() {
        let form = parts("application/x-www-form-urlencoded");
        assert_eq!(
            account_of(&form, b"csrf=x&email=Alice%40example.com&password=p"),
            Some("Alice@example.com".into())
        );
        assert_eq!(account_of(&form, b"log=admin&pwd=x"), Some("admin".into()));
        assert_eq!(
            account_of(&form, b"login%5Busername%5D=bob&login%5Bpassword%5D=x"),
            Some("bob".into())
        );
        assert_eq!(account_of(&form, b"password=x"), None);
        let json = parts("application/json");
        assert_eq!(
            account_of(&json, br#"{"username":"carol","password":"x"}"#),
            Some("carol".into())
        );
        assert_eq!(account_of(&json, b"not json"), None);
    }
}
