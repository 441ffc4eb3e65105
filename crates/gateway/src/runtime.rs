//! The configuration in force: a [`Config`] turned into what the hot path
//! reads (sites by host, their upstream clients, rendered headers, metric
//! handles, the pipeline), swapped atomically on reload.
//!
//! Owns: building a [`Runtime`] from a [`Config`], and the state shared by
//! all connections ([`Shared`]). Must not: open listeners (see `server`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use ops::{Event, EventBus};

use crate::body::GatewayBody;
use crate::config::{Config, SecurityHeaders, ServerConfig, SiteConfig};
use crate::edge::Edge;
use crate::headers::SecurityHeaderSet;
use crate::metrics::{Metrics, Sampler, SiteMetrics};
use crate::pipeline::Pipeline;
use crate::tls::CertResolver;

/// The HTTP client towards one store (keep-alive pool).
pub(crate) type UpstreamClient = Client<HttpConnector, GatewayBody>;

/// One site as the hot path sees it.
pub(crate) struct Site {
    pub config: Arc<SiteConfig>,
    pub client: UpstreamClient,
    pub headers: SecurityHeaderSet,
    pub metrics: SiteMetrics,
}

/// Everything that a reload replaces at once.
pub(crate) struct Runtime {
    pub server: ServerConfig,
    pub by_host: HashMap<String, Arc<Site>>,
    /// The site with `default = true`: serves hosts no site names.
    pub default_site: Option<Arc<Site>>,
    pub pipeline: Pipeline,
    /// The port in redirects to HTTPS (omitted from the URL when 443).
    pub https_port: u16,
    /// Headers for answers that belong to no site (unknown Host).
    pub default_headers: SecurityHeaderSet,
    /// The HTTP/1 + HTTP/2 server settings for new connections.
    pub connection: auto::Builder<TokioExecutor>,
}

impl Runtime {
    pub fn build(
        config: Config,
        pipeline: Pipeline,
        https_bound_port: u16,
        metrics: &Metrics,
        edge: &Arc<Edge>,
    ) -> Runtime {
        let pipeline = crate::stages::access::with_gate(&config, pipeline);
        let pipeline = crate::edge::with_edge(edge, &config, pipeline);
        let mut by_host = HashMap::new();
        let mut default_site = None;
        for site in &config.sites {
            let site_config = Arc::new(site.clone());
            let built = Arc::new(Site {
                client: upstream_client(site.connect_timeout),
                headers: SecurityHeaderSet::new(&site.headers),
                metrics: metrics.site(&site.name),
                config: site_config,
            });
            for h in &site.hosts {
                by_host.insert(h.clone(), built.clone());
            }
            if site.default {
                default_site = Some(built.clone());
            }
        }
        let server = config.server.clone();
        Runtime {
            https_port: server.public_https_port.unwrap_or(https_bound_port),
            connection: connection_builder(&server),
            server,
            by_host,
            default_site,
            pipeline,
            default_headers: SecurityHeaderSet::new(&SecurityHeaders::default()),
        }
    }

    /// The site serving `host` (lower-case, without port).
    pub fn site(&self, host: &str) -> Option<&Arc<Site>> {
        self.by_host.get(host).or(self.default_site.as_ref())
    }
}

fn upstream_client(connect_timeout: Duration) -> UpstreamClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(connect_timeout));
    connector.set_keepalive(Some(Duration::from_secs(60)));
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(1024)
        .set_host(false)
        .build(connector)
}

fn connection_builder(server: &ServerConfig) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(server.header_read_timeout)
        .max_headers(server.max_header_count)
        .max_buf_size(server.max_header_bytes.max(8192))
        .keep_alive(true);
    b.http2()
        .timer(TokioTimer::new())
        .max_header_list_size(server.max_header_bytes.min(u32::MAX as usize) as u32)
        .max_concurrent_streams(256)
        .keep_alive_interval(Some(Duration::from_secs(30)));
    b
}

/// State every connection of every listener shares.
pub(crate) struct Shared {
    pub runtime: ArcSwap<Runtime>,
    pub certs: Arc<CertResolver>,
    pub events: EventBus,
    pub metrics: Metrics,
    pub tls_failures: Sampler,
    pub malformed: Sampler,
    /// Connection caps, bans, limits and jails (kept across reloads).
    pub edge: Arc<Edge>,
    /// ACME challenge answers pending now.
    pub acme: Arc<crate::acme::Challenges>,
}

impl Shared {
    pub fn emit(&self, event: Event) {
        self.events.emit(event);
    }
}
