//! Running a gateway: the data directory, event sinks, listeners and their
//! accept loops, TLS handshakes, certificate hot reload, configuration
//! reload and graceful shutdown.
//!
//! Owns: the life cycle of sockets and connections. Must not: look at
//! requests (see `proxy`) or parse configuration (see `config`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::h1_repair::{RawTargets, RepairTargets};
use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use ops::audit_log::AuditLog;
use ops::event_store::EventStore;
use ops::{Event, EventBus, Severity, Sink};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::acme::AcmeTask;
use crate::config::Config;
use crate::metrics::{Metrics, Sampler};
use crate::pipeline::PipelineBuilder;
use crate::proxy::{self, ConnInfo};
use crate::runtime::{Runtime, Shared};
use crate::tls::{self, CertMap, CertReload, CertResolver};

/// Why a gateway could not start (or reload). One line, for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// The addresses the listeners actually bound (port 0 in the
/// configuration becomes a real port here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundAddresses {
    pub http: Option<SocketAddr>,
    pub https: SocketAddr,
    pub admin: Option<SocketAddr>,
}

impl BoundAddresses {
    /// One machine-readable line, e.g.
    /// `rampart listening https=127.0.0.1:8443 http=127.0.0.1:8080 admin=-`.
    pub fn ready_line(&self) -> String {
        let opt = |a: Option<SocketAddr>| a.map_or_else(|| "-".to_string(), |a| a.to_string());
        format!(
            "rampart listening https={} http={} admin={}",
            self.https,
            opt(self.http),
            opt(self.admin)
        )
    }
}

/// Makes sure `dir` exists and is writable: created if its parent exists.
pub fn prepare_data_dir(dir: &Path) -> Result<(), StartError> {
    if !dir.is_dir() {
        if dir.exists() {
            return Err(StartError(format!(
                "data directory {} is not a directory",
                dir.display()
            )));
        }
        let parent = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return Err(StartError(format!(
                "data directory {} does not exist and neither does its parent {}",
                dir.display(),
                parent.display()
            )));
        }
        std::fs::create_dir(dir).map_err(|e| {
            StartError(format!(
                "cannot create data directory {}: {e}",
                dir.display()
            ))
        })?;
    }
    let probe = dir.join(".rampart-write-test");
    std::fs::write(&probe, b"")
        .and_then(|_| std::fs::remove_file(&probe))
        .map_err(|e| {
            StartError(format!(
                "data directory {} is not writable: {e}",
                dir.display()
            ))
        })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ListenerKind {
    Https,
    Http,
    Admin,
}

struct RunningListener {
    configured: SocketAddr,
    bound: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningListener {
    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

struct Listeners {
    https: RunningListener,
    http: Option<RunningListener>,
    admin: Option<RunningListener>,
}

/// A running gateway.
pub struct Gateway {
    shared: Arc<Shared>,
    acceptor: TlsAcceptor,
    listeners: Mutex<Listeners>,
    graceful: Arc<GracefulShutdown>,
    pipeline: PipelineBuilder,
    data_dir: PathBuf,
    cert_poll: JoinHandle<()>,
    /// The `[[alerts]]` rules in force (a reload replaces them).
    alerts: crate::alerts::Alerts,
    /// Issues and renews the ACME sites' certificates.
    acme: std::sync::OnceLock<AcmeTask>,
    _dispatcher: ops::bus::Dispatcher,
}

async fn bind(addr: SocketAddr, what: &str) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| StartError(format!("cannot listen on {addr} ({what}): {e}")))
}

fn open_sinks(
    data_dir: &Path,
    alerts: &[crate::alerts::AlertRule],
) -> Result<(Vec<Box<dyn Sink>>, crate::alerts::Alerts), StartError> {
    let audit_path = data_dir.join("audit.jsonl");
    let audit = AuditLog::open(&audit_path).map_err(|e| {
        StartError(format!(
            "cannot open audit log {}: {e}",
            audit_path.display()
        ))
    })?;
    let store =
        EventStore::open(&data_dir.join("events.sqlite")).map_err(|e| StartError(e.to_string()))?;
    let (alerts, alert_sink) = crate::alerts::Alerts::start(alerts.to_vec());
    Ok((vec![Box::new(audit), Box::new(store), alert_sink], alerts))
}

impl Gateway {
    /// Prepares the data directory, loads certificates, binds every
    /// listener and starts serving. Returns once all listeners accept.
    pub async fn start(config: Config, pipeline: PipelineBuilder) -> Result<Gateway, StartError> {
        let data_dir = config.server.data_dir.clone();
        prepare_data_dir(&data_dir)?;
        let certs = CertMap::load(&config.sites, &data_dir).map_err(|e| StartError(e.0))?;
        let built = pipeline(&config).map_err(|e| StartError(format!("pipeline: {e}")))?;
        let https = bind(config.server.https, "https").await?;
        let http = match config.server.http {
            Some(a) => Some(bind(a, "http").await?),
            None => None,
        };
        let admin = match config.server.admin {
            Some(a) => Some(bind(a, "admin").await?),
            None => None,
        };
        let (sinks, alerts) = open_sinks(&data_dir, &config.alerts)?;
        let (events, dispatcher) = EventBus::start(sinks);
        let resolver = Arc::new(CertResolver::new(certs));
        let acceptor = TlsAcceptor::from(tls::server_config(resolver.clone()));
        let metrics = Metrics::new();
        let https_bound = https.local_addr().map_err(|e| StartError(e.to_string()))?;
        let edge = crate::edge::Edge::start(&config, events.clone()).map_err(StartError)?;
        let runtime = Runtime::build(config.clone(), built, https_bound.port(), &metrics, &edge);
        let shared = Arc::new(Shared {
            edge,
            runtime: ArcSwap::from_pointee(runtime),
            certs: resolver,
            events,
            metrics,
            tls_failures: Sampler::new(5),
            malformed: Sampler::new(5),
            acme: Arc::new(crate::acme::Challenges::default()),
        });
        let graceful = Arc::new(GracefulShutdown::new());
        let cert_poll = tokio::spawn(poll_certificates(shared.clone()));
        let gw_parts = (shared.clone(), acceptor.clone(), graceful.clone());
        let spawn = |listener: TcpListener, configured: SocketAddr, kind: ListenerKind| {
            spawn_listener(
                &gw_parts.0,
                &gw_parts.1,
                &gw_parts.2,
                listener,
                configured,
                kind,
            )
        };
        let listeners = Listeners {
            https: spawn(https, config.server.https, ListenerKind::Https)?,
            http: match (http, config.server.http) {
                (Some(l), Some(a)) => Some(spawn(l, a, ListenerKind::Http)?),
                _ => None,
            },
            admin: match (admin, config.server.admin) {
                (Some(l), Some(a)) => Some(spawn(l, a, ListenerKind::Admin)?),
                _ => None,
            },
        };
        let gw = Gateway {
            shared,
            acceptor,
            listeners: Mutex::new(listeners),
            graceful,
            pipeline,
            data_dir,
            cert_poll,
            alerts,
            acme: std::sync::OnceLock::new(),
            _dispatcher: dispatcher,
        };
        let addrs = gw.addresses().await;
        gw.shared.emit(
            Event::new("gateway.started", Severity::Info)
                .message(format!("gateway started: {}", addrs.ready_line())),
        );
        // Once the listeners answer challenges: issue what is missing.
        let acme = AcmeTask::start(gw.shared.clone(), gw.data_dir.clone(), &config.sites);
        let _ = gw.acme.set(acme);
        Ok(gw)
    }

    /// Where the listeners are bound.
    pub async fn addresses(&self) -> BoundAddresses {
        let l = self.listeners.lock().await;
        BoundAddresses {
            https: l.https.bound,
            http: l.http.as_ref().map(|r| r.bound),
            admin: l.admin.as_ref().map(|r| r.bound),
        }
    }

    /// The event bus (for stages and tests).
    pub fn events(&self) -> &EventBus {
        &self.shared.events
    }

    /// Puts a new configuration in force without dropping requests:
    /// requests in flight finish with the configuration they started with,
    /// new ones use the new one. Listeners whose address did not change keep
    /// running; changed ones are bound first, so a failure changes nothing.
    pub async fn reload(&self, config: Config) -> Result<BoundAddresses, StartError> {
        let result = self.try_reload(config).await;
        match &result {
            Ok(addrs) => self.shared.emit(
                Event::new("config.reloaded", Severity::Notice)
                    .message(format!("configuration reloaded: {}", addrs.ready_line())),
            ),
            Err(e) => {
                self.shared
                    .emit(
                        Event::new("config.reload_failed", Severity::Error).message(format!(
                            "configuration not reloaded, the previous one stays: {e}"
                        )),
                    )
            }
        }
        result
    }

    async fn try_reload(&self, mut config: Config) -> Result<BoundAddresses, StartError> {
        if config.server.data_dir != self.data_dir {
            tracing::warn!(
                "data_dir changed to {}: takes effect at the next start",
                config.server.data_dir.display()
            );
            config.server.data_dir = self.data_dir.clone();
        }
        let certs = CertMap::load(&config.sites, &self.data_dir).map_err(|e| StartError(e.0))?;
        let built = (self.pipeline)(&config).map_err(|e| StartError(format!("pipeline: {e}")))?;
        let mut listeners = self.listeners.lock().await;
        // Bind what changed before touching anything.
        let https_new = if listeners.https.configured != config.server.https {
            Some(bind(config.server.https, "https").await?)
        } else {
            None
        };
        let changed = |cur: &Option<RunningListener>, want: Option<SocketAddr>| {
            cur.as_ref().map(|r| r.configured) != want
        };
        let http_new = match config.server.http {
            Some(a) if changed(&listeners.http, Some(a)) => Some(bind(a, "http").await?),
            _ => None,
        };
        let admin_new = match config.server.admin {
            Some(a) if changed(&listeners.admin, Some(a)) => Some(bind(a, "admin").await?),
            _ => None,
        };
        let https_port = match &https_new {
            Some(l) => l
                .local_addr()
                .map_err(|e| StartError(e.to_string()))?
                .port(),
            None => listeners.https.bound.port(),
        };
        self.shared.edge.configure(&config).map_err(StartError)?;
        self.shared.certs.replace_map(certs);
        if let Some(acme) = self.acme.get() {
            acme.update(&config.sites);
        }
        let runtime = Runtime::build(
            config.clone(),
            built,
            https_port,
            &self.shared.metrics,
            &self.shared.edge,
        );
        self.shared.runtime.store(Arc::new(runtime));

        let spawn = |l: TcpListener, a: SocketAddr, kind: ListenerKind| {
            spawn_listener(&self.shared, &self.acceptor, &self.graceful, l, a, kind)
        };
        if let Some(l) = https_new {
            let new = spawn(l, config.server.https, ListenerKind::Https)?;
            std::mem::replace(&mut listeners.https, new).stop().await;
        }
        if let (Some(l), Some(a)) = (http_new, config.server.http) {
            if let Some(old) = listeners.http.replace(spawn(l, a, ListenerKind::Http)?) {
                old.stop().await;
            }
        } else if config.server.http.is_none() {
            if let Some(old) = listeners.http.take() {
                old.stop().await;
            }
        }
        if let (Some(l), Some(a)) = (admin_new, config.server.admin) {
            if let Some(old) = listeners.admin.replace(spawn(l, a, ListenerKind::Admin)?) {
                old.stop().await;
            }
        } else if config.server.admin.is_none() {
            if let Some(old) = listeners.admin.take() {
                old.stop().await;
            }
        }
        self.alerts.replace(config.alerts.clone());
        Ok(BoundAddresses {
            https: listeners.https.bound,
            http: listeners.http.as_ref().map(|r| r.bound),
            admin: listeners.admin.as_ref().map(|r| r.bound),
        })
    }

    /// Stops accepting, lets requests in flight finish (at most the
    /// configured drain time), and writes out pending events.
    pub async fn shutdown(self) {
        let drain = self.shared.runtime.load().server.drain_timeout;
        let listeners = self.listeners.into_inner();
        listeners.https.stop().await;
        if let Some(l) = listeners.http {
            l.stop().await;
        }
        if let Some(l) = listeners.admin {
            l.stop().await;
        }
        self.cert_poll.abort();
        if let Some(acme) = self.acme.get() {
            acme.stop();
        }
        // The listeners were the only other holders.
        let mut drained = true;
        if let Ok(g) = Arc::try_unwrap(self.graceful) {
            drained = tokio::time::timeout(drain, g.shutdown()).await.is_ok();
        }
        let message = if drained {
            "gateway stopped; every request in flight finished".to_string()
        } else {
            format!(
                "gateway stopped; requests still running after {} ms were cut",
                drain.as_millis()
            )
        };
        self.shared
            .emit(Event::new("gateway.stopped", Severity::Info).message(message));
        let bus = self.shared.events.clone();
        let _ = tokio::task::spawn_blocking(move || bus.flush()).await;
    }
}

fn spawn_listener(
    shared: &Arc<Shared>,
    acceptor: &TlsAcceptor,
    graceful: &Arc<GracefulShutdown>,
    listener: TcpListener,
    configured: SocketAddr,
    kind: ListenerKind,
) -> Result<RunningListener, StartError> {
    let bound = listener
        .local_addr()
        .map_err(|e| StartError(format!("listener {configured}: {e}")))?;
    let (stop, mut stopped) = watch::channel(false);
    let shared = shared.clone();
    let acceptor = acceptor.clone();
    let graceful = graceful.clone();
    let task = tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = stopped.changed() => break,
                r = listener.accept() => r,
            };
            let (tcp, client) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: back off briefly.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // Banned and denied addresses, and those over their connection
            // cap, are dropped before any other work (no TLS handshake).
            // Behind a trusted load balancer speaking the PROXY protocol,
            // the client is known only once its header is read.
            let from_proxy = kind != ListenerKind::Admin && {
                let rt = shared.runtime.load();
                rt.server.proxy_protocol
                    && crate::headers::is_trusted(client.ip(), &rt.server.trusted_proxies)
            };
            let slot = if kind == ListenerKind::Admin || from_proxy {
                None
            } else {
                match shared.edge.admit_connection(client.ip()) {
                    Ok(slot) => slot,
                    Err(_) => continue,
                }
            };
            let _ = tcp.set_nodelay(true);
            let mut conn = ConnInfo {
                client,
                server: tcp.local_addr().unwrap_or(bound),
                tls: kind == ListenerKind::Https,
            };
            let shared = shared.clone();
            let watcher = graceful.watcher();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let mut tcp = tcp;
                let mut slot = slot;
                if from_proxy {
                    let timeout = shared.runtime.load().server.tls_handshake_timeout;
                    match crate::proxy_protocol::read(&mut tcp, timeout).await {
                        Ok(crate::proxy_protocol::Origin::Client(addr)) => {
                            conn.client = addr;
                            match shared.edge.admit_connection(addr.ip()) {
                                Ok(s) => slot = s,
                                Err(_) => return,
                            }
                        }
                        Ok(crate::proxy_protocol::Origin::Local) => {}
                        Err(why) => {
                            if let Some(suppressed) = shared.malformed.admit() {
                                let mut e = Event::new("http.proxy_protocol", Severity::Warning)
                                    .message(format!(
                                        "connection from a trusted proxy dropped: {why}"
                                    ));
                                e.client_ip = Some(conn.client.ip());
                                e.data = serde_json::json!({ "suppressed_since_last": suppressed });
                                shared.emit(e);
                            }
                            return;
                        }
                    }
                }
                shared.metrics.active_connections.inc();
                let _open = ConnectionCount(shared.clone());
                let _slot = slot;
                match kind {
                    ListenerKind::Https => serve_tls(shared, acceptor, watcher, tcp, conn).await,
                    ListenerKind::Http => serve_plain(shared, watcher, tcp, conn).await,
                    ListenerKind::Admin => serve_admin(shared, watcher, tcp).await,
                }
            });
        }
    });
    Ok(RunningListener {
        configured,
        bound,
        stop,
        task,
    })
}

struct ConnectionCount(Arc<Shared>);

impl Drop for ConnectionCount {
    fn drop(&mut self) {
        self.0.metrics.active_connections.dec();
    }
}

async fn serve_tls(
    shared: Arc<Shared>,
    acceptor: TlsAcceptor,
    watcher: Watcher,
    tcp: TcpStream,
    conn: ConnInfo,
) {
    let timeout = shared.runtime.load().server.tls_handshake_timeout;
    let stream = match tokio::time::timeout(timeout, handshake(&shared, &acceptor, tcp)).await {
        Ok(Ok(Some(s))) => s,
        // A TLS-ALPN-01 validation: done once the handshake is.
        Ok(Ok(None)) => return,
        Ok(Err(e)) => return handshake_failed(&shared, &conn, e.to_string()),
        Err(_) => {
            return handshake_failed(
                &shared,
                &conn,
                format!("no handshake within {} ms", timeout.as_millis()),
            )
        }
    };
    let builder = shared.runtime.load().connection.clone();
    let svc_shared = shared.clone();
    // HTTP/1: request targets hyper would refuse are percent-encoded so
    // the WAF sees (and can stop) the request; the original goes with the
    // request for the WAF. HTTP/2 goes through as is.
    let h1 = stream.get_ref().1.alpn_protocol() != Some(b"h2");
    let raw_targets = RawTargets::default();
    let stream = RepairTargets::new(stream, h1).with_raw_targets(raw_targets.clone());
    let budget = shared.edge.connection_budget().map(Arc::new);
    let svc = service_fn(move |mut req: Request<Incoming>| {
        if let Some(b) = &budget {
            if b.check().is_err() {
                svc_shared.edge.connection_over_budget(conn.client.ip());
                let resp = proxy::connection_over_budget(&svc_shared, &conn, req.headers());
                return futures_util::future::Either::Left(std::future::ready(Ok(resp)));
            }
        }
        if req.version() < http::Version::HTTP_2 {
            let raw = raw_targets
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop_front()
                .flatten();
            if let Some(raw) = raw {
                req.extensions_mut().insert(raw);
            }
        }
        futures_util::future::Either::Right(proxy::handle(svc_shared.clone(), conn, req))
    });
    let connection = builder
        .serve_connection_with_upgrades(TokioIo::new(stream), svc)
        .into_owned();
    if let Err(e) = watcher.watch(connection).await {
        connection_failed(&shared, &conn, e.as_ref());
    }
}

/// The TLS handshake. A ClientHello that offers `acme-tls/1` for a name
/// with a pending TLS-ALPN-01 challenge gets the challenge certificate
/// (RFC 8737) and `None`: the CA closes the connection after it.
async fn handshake(
    shared: &Shared,
    acceptor: &TlsAcceptor,
    tcp: TcpStream,
) -> std::io::Result<Option<tokio_rustls::server::TlsStream<TcpStream>>> {
    let start =
        tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp).await?;
    let hello = start.client_hello();
    let offers_acme = hello
        .alpn()
        .is_some_and(|mut protocols| protocols.any(|p| p == crate::acme::ACME_TLS_ALPN));
    let challenge = if offers_acme {
        hello
            .server_name()
            .and_then(|name| shared.acme.tls_alpn_config(name))
    } else {
        None
    };
    match challenge {
        Some(config) => {
            let mut stream = start.into_stream(config).await?;
            let _ = tokio::io::AsyncWriteExt::shutdown(&mut stream).await;
            Ok(None)
        }
        None => Ok(Some(start.into_stream(acceptor.config().clone()).await?)),
    }
}

async fn serve_plain(shared: Arc<Shared>, watcher: Watcher, tcp: TcpStream, conn: ConnInfo) {
    let builder = shared.runtime.load().connection.clone();
    let svc_shared = shared.clone();
    let svc =
        service_fn(move |req: Request<Incoming>| proxy::redirect(svc_shared.clone(), conn, req));
    let connection = builder
        .serve_connection(TokioIo::new(tcp), svc)
        .into_owned();
    if let Err(e) = watcher.watch(connection).await {
        connection_failed(&shared, &conn, e.as_ref());
    }
}

async fn serve_admin(shared: Arc<Shared>, watcher: Watcher, tcp: TcpStream) {
    let svc_shared = shared.clone();
    let svc = service_fn(move |req: Request<Incoming>| {
        let shared = svc_shared.clone();
        async move { Ok::<_, std::convert::Infallible>(admin_page(&shared, &req)) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .serve_connection(TokioIo::new(tcp), svc);
    let _ = watcher.watch(connection).await;
}

fn admin_page(shared: &Shared, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match req.uri().path() {
        "/metrics" => (
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            shared.metrics.render(shared.events.dropped()),
        ),
        "/healthz" => (
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "ok\n".to_string(),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found: try /metrics or /healthz\n".to_string(),
        ),
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn handshake_failed(shared: &Shared, conn: &ConnInfo, why: String) {
    shared.metrics.tls_handshake_failures.inc();
    if let Some(suppressed) = shared.tls_failures.admit() {
        let mut e = Event::new("tls.handshake_failed", Severity::Notice)
            .message(format!("TLS handshake failed: {why}"));
        e.client_ip = Some(conn.client.ip());
        if suppressed > 0 {
            e.data = serde_json::json!({ "suppressed_since_last": suppressed });
        }
        shared.emit(e);
    }
}

fn connection_failed(shared: &Shared, conn: &ConnInfo, err: &(dyn std::error::Error + 'static)) {
    let Some(h) = err.downcast_ref::<hyper::Error>() else {
        return;
    };
    let kind = if h.is_parse() || h.is_parse_too_large() || h.is_parse_status() {
        "http.malformed"
    } else if h.is_timeout() {
        "http.header_timeout"
    } else {
        return;
    };
    if let Some(suppressed) = shared.malformed.admit() {
        let mut e = Event::new(kind, Severity::Notice).message(format!("connection closed: {h}"));
        e.client_ip = Some(conn.client.ip());
        if suppressed > 0 {
            e.data = serde_json::json!({ "suppressed_since_last": suppressed });
        }
        shared.emit(e);
    }
}

/// Every second, reloads certificate files that changed.
async fn poll_certificates(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let certs = shared.certs.clone();
        let Ok(reloads) = tokio::task::spawn_blocking(move || certs.poll_files()).await else {
            continue;
        };
        for r in reloads {
            let e = match r {
                CertReload::Reloaded { site, file } => {
                    let mut e = Event::new("tls.cert_reloaded", Severity::Notice)
                        .message(format!("new certificate from {} in use", file.display()));
                    e.site = Some(site);
                    e
                }
                CertReload::Failed { site, error } => {
                    let mut e = Event::new("tls.cert_reload_failed", Severity::Error).message(
                        format!("certificate not reloaded, the previous one stays: {error}"),
                    );
                    e.site = Some(site);
                    e
                }
            };
            shared.emit(e);
        }
    }
}

/// The SecLang files of the configuration's sites that a change to
/// triggers a reload: each WAF site's includes and exclusion file.
fn rule_files(config: &Config) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for site in &config.sites {
        if let Some(waf) = &site.waf {
            files.extend(waf.include.iter().cloned());
            files.push(crate::stages::waf::exclusions_file(
                waf,
                &site.name,
                &config.server.data_dir,
            ));
        }
    }
    files
}

/// Modification time and length of each file (`None` when absent).
fn fingerprint(files: &[std::path::PathBuf]) -> Vec<Option<(Option<std::time::SystemTime>, u64)>> {
    files
        .iter()
        .map(|f| {
            std::fs::metadata(f)
                .ok()
                .map(|m| (m.modified().ok(), m.len()))
        })
        .collect()
}

/// Where a reload gets its new configuration (usually: read the file
/// again).
pub type ConfigSource = Box<dyn Fn() -> Result<Config, String> + Send + Sync>;

/// Runs a gateway from `config` until SIGTERM or SIGINT; SIGHUP reloads
/// from `reload` (when given). `on_ready` is called once every listener
/// accepts, with the bound addresses. This is what `rampart serve` (and
/// `rampart demo`) run.
pub async fn serve(
    config: Config,
    pipeline: PipelineBuilder,
    reload: Option<ConfigSource>,
    on_ready: impl FnOnce(&BoundAddresses),
) -> Result<(), StartError> {
    use tokio::signal::unix::{signal, SignalKind};
    let sig = |kind: SignalKind| {
        signal(kind).map_err(|e| StartError(format!("cannot handle signals: {e}")))
    };
    let mut term = sig(SignalKind::terminate())?;
    let mut int = sig(SignalKind::interrupt())?;
    let mut hup = sig(SignalKind::hangup())?;
    let mut watched = rule_files(&config);
    let mut seen = fingerprint(&watched);
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let gw = Gateway::start(config, pipeline).await?;
    on_ready(&gw.addresses().await);
    loop {
        let changed_rules = tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => false,
            _ = tick.tick() => {
                // A site's exclusion file or include changed (as `rampart
                // waf tune --apply` does): reload as SIGHUP would.
                let now = fingerprint(&watched);
                if now == seen || reload.is_none() {
                    continue;
                }
                seen = now;
                true
            }
        };
        let Some(load) = &reload else { continue };
        if changed_rules {
            tracing::info!("a WAF rule file changed: reloading");
        }
        match load() {
            Ok(c) => {
                watched = rule_files(&c);
                seen = fingerprint(&watched);
                match gw.reload(c).await {
                    Ok(addrs) => {
                        tracing::info!("configuration reloaded: {}", addrs.ready_line())
                    }
                    Err(e) => tracing::error!("configuration not reloaded: {e}"),
                }
            }
            Err(e) => {
                tracing::error!("configuration not reloaded: {e}");
                gw.events()
                    .emit(
                        Event::new("config.reload_failed", Severity::Error).message(format!(
                            "configuration not reloaded, the previous one stays: {e}"
                        )),
                    );
            }
        }
    }
    gw.shutdown().await;
    Ok(())
}
