//! The outbound detokenizing proxy: the store sends its payment-provider
//! calls through Rampart, which puts the card numbers back, only for
//! allowlisted destinations and fields, and forwards over TLS.
//!
//! The store points its HTTP client at this proxy (`HTTPS_PROXY`, PHP
//! curl's `CURLOPT_PROXY`, reqwest's `Proxy::all`) and trusts Rampart's
//! outbound CA (`DATA/outbound-ca.pem`). A `CONNECT host:port` to an
//! allowlisted destination is answered 200 and the TLS inside the tunnel
//! is terminated here with a certificate for that host, issued on the fly
//! by the outbound CA (whose name constraints permit only the allowlisted
//! host names). Each request in the tunnel is then read: in form and JSON
//! bodies, a token in an allowlisted card-number field becomes the card
//! number, and an allowlisted security-code field gets the code held for
//! that card at checkout (taken: it serves one forward). All tokens of a
//! request are read back at once, all or nothing; an unknown token or a
//! damaged record stops the request (502, nothing forwarded). The request
//! goes on to the destination over TLS, verified against the system's
//! roots and `trust`; card numbers in the answer are masked before the
//! store sees them.
//!
//! Destinations that are not allowlisted are refused (403), or with
//! `unlisted = "tunnel"` passed through as a blind tunnel in which nothing
//! is changed. Plain `http://` requests are never proxied: card data only
//! travels over TLS. Only the addresses in `clients` (default: loopback)
//! may use the proxy.
//!
//! Must not: log or put in an event a card number or security code.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use ipnet::IpNet;
use ops::Severity;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde::Deserialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use vault::policy::{Destination, DetokenizePolicy, Refusal};
use vault::{Token, Vault};

use crate::stages::card_fields::{self, Fields};

/// Largest request body read for detokenization.
const MAX_REQUEST: usize = 1 << 20;
/// Largest answer read back from a destination.
const MAX_ANSWER: usize = 8 << 20;

/// `[vault.outbound]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundConfig {
    /// Where the store's HTTP client finds the proxy.
    pub listen: SocketAddr,
    /// Where card data may go, and in which fields.
    #[serde(default)]
    pub destinations: Vec<OutboundDestination>,
    /// What happens to a CONNECT to any other destination.
    #[serde(default)]
    pub unlisted: Unlisted,
    /// Extra root certificates (PEM) trusted for the destinations' TLS,
    /// besides the system's.
    #[serde(default)]
    pub trust: Option<PathBuf>,
    /// Addresses allowed to use the proxy (CIDRs); default loopback.
    #[serde(default)]
    pub clients: Vec<String>,
    /// Connecting to a destination and its answer, each (milliseconds).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

/// One allowlisted destination.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundDestination {
    /// `https://HOST[:PORT][/PATH PREFIX]`.
    pub url: String,
    /// Fields (form names or dotted JSON paths, exact) whose token becomes
    /// the card number.
    pub fields: Vec<String>,
    /// Fields that get the security code held for the request's card.
    #[serde(default)]
    pub cvv_fields: Vec<String>,
}

/// `unlisted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unlisted {
    /// 403 and an event.
    #[default]
    Refuse,
    /// A blind tunnel: nothing swapped, nothing read.
    Tunnel,
}

/// The validated parts of an [`OutboundConfig`].
struct Policy {
    numbers: DetokenizePolicy,
    codes: DetokenizePolicy,
    hosts: Vec<String>,
    clients: Vec<IpNet>,
}

impl OutboundConfig {
    /// Checks the configuration; errors are one line.
    pub fn validate(&self) -> Result<(), String> {
        self.policy().map(|_| ())
    }

    fn policy(&self) -> Result<Policy, String> {
        let mut numbers = Vec::new();
        let mut codes = Vec::new();
        let mut hosts = Vec::new();
        for d in &self.destinations {
            numbers.push(Destination::new(&d.url, d.fields.clone()).map_err(|e| e.to_string())?);
            if !d.cvv_fields.is_empty() {
                codes.push(
                    Destination::new(&d.url, d.cvv_fields.clone()).map_err(|e| e.to_string())?,
                );
            }
            let host = url::Url::parse(&d.url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .ok_or_else(|| format!("destination {:?}: no host", d.url))?;
            if !hosts.contains(&host) {
                hosts.push(host);
            }
        }
        let mut clients = Vec::new();
        for c in &self.clients {
            clients.push(crate::config::parse_net(c).ok_or_else(|| {
                format!("clients: {c:?} is not an IP address or CIDR like \"10.0.0.0/8\"")
            })?);
        }
        if clients.is_empty() {
            clients = vec![
                "127.0.0.0/8".parse().expect("literal"),
                "::1/128".parse().expect("literal"),
            ];
        }
        if let Some(t) = &self.trust {
            load_roots(Some(t))?;
        }
        Ok(Policy {
            numbers: DetokenizePolicy::new(numbers),
            codes: DetokenizePolicy::new(codes),
            hosts,
            clients,
        })
    }
}

/// A running outbound proxy.
pub struct OutboundProxy {
    addr: SocketAddr,
    ca_path: PathBuf,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

struct Shared {
    policy: Policy,
    unlisted: Unlisted,
    vault: Arc<Vault>,
    events: ops::bus::EventBus,
    ca: Ca,
    client_tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
}

impl OutboundProxy {
    /// Binds `config.listen` and serves until [`OutboundProxy::stop`].
    pub async fn start(
        config: &OutboundConfig,
        data_dir: &Path,
        vault: Arc<Vault>,
        events: ops::bus::EventBus,
    ) -> Result<OutboundProxy, String> {
        let policy = config.policy()?;
        let ca = Ca::load_or_create(data_dir, &policy.hosts)?;
        let ca_path = ca.cert_path.clone();
        let roots = load_roots(config.trust.as_deref())?;
        let client_tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("cannot listen on {} (outbound proxy): {e}", config.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let shared = Arc::new(Shared {
            policy,
            unlisted: config.unlisted,
            vault,
            events,
            ca,
            client_tls: Arc::new(client_tls),
            timeout: Duration::from_millis(config.timeout_ms.unwrap_or(20_000)),
        });
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    accepted = listener.accept() => {
                        let Ok((tcp, peer)) = accepted else {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        };
                        let shared = shared.clone();
                        tokio::spawn(serve_client(shared, tcp, peer));
                    }
                }
            }
        });
        Ok(OutboundProxy {
            addr,
            ca_path,
            stop,
            task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA certificate the store must trust.
    pub fn ca_path(&self) -> &Path {
        &self.ca_path
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

fn load_roots(extra: Option<&Path>) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = extra {
        use rustls::pki_types::pem::PemObject;
        let pem = std::fs::read(path).map_err(|e| format!("trust {}: {e}", path.display()))?;
        let mut n = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| format!("trust {}: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("trust {}: {e}", path.display()))?;
            n += 1;
        }
        if n == 0 {
            return Err(format!("trust {}: no certificate in it", path.display()));
        }
    }
    Ok(roots)
}

/// Rampart's outbound CA and the leaf certificates it issued.
struct Ca {
    cert_path: PathBuf,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    leaves: Mutex<HashMap<String, Arc<rustls::ServerConfig>>>,
}

impl Ca {
    /// The CA in `DATA/outbound-ca.pem` and `.key` (mode 0600), made at
    /// the first start, constrained to `hosts`. A CA whose constraints no
    /// longer cover every allowlisted host is made anew.
    fn load_or_create(data_dir: &Path, hosts: &[String]) -> Result<Ca, String> {
        let cert_path = data_dir.join("outbound-ca.pem");
        let key_path = data_dir.join("outbound-ca.key");
        let hosts_path = data_dir.join("outbound-ca.hosts");
        let wanted = hosts.join("\n");
        let existing = (|| {
            let cert = std::fs::read_to_string(&cert_path).ok()?;
            let key = std::fs::read_to_string(&key_path).ok()?;
            let named = std::fs::read_to_string(&hosts_path).ok()?;
            let covered = hosts.iter().all(|h| named.lines().any(|l| l == h));
            covered.then_some((cert, key))
        })();
        let (cert_pem, key_pem) = match existing {
            Some(pair) => pair,
            None => {
                let key = rcgen::KeyPair::generate().map_err(|e| format!("outbound CA: {e}"))?;
                let mut params = ca_params();
                params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
                let permitted: Vec<rcgen::GeneralSubtree> = hosts
                    .iter()
                    .map(|h| match h.parse::<IpAddr>() {
                        Ok(IpAddr::V4(ip)) => rcgen::GeneralSubtree::IpAddress(
                            rcgen::CidrSubnet::V4(ip.octets(), [255; 4]),
                        ),
                        Ok(IpAddr::V6(ip)) => rcgen::GeneralSubtree::IpAddress(
                            rcgen::CidrSubnet::V6(ip.octets(), [255; 16]),
                        ),
                        Err(_) => rcgen::GeneralSubtree::DnsName(h.clone()),
                    })
                    .collect();
                if !permitted.is_empty() {
                    params.name_constraints = Some(rcgen::NameConstraints {
                        permitted_subtrees: permitted,
                        excluded_subtrees: Vec::new(),
                    });
                }
                let now = time::OffsetDateTime::now_utc();
                params.not_before = now - time::Duration::days(1);
                params.not_after = now + time::Duration::days(3650);
                let cert = params
                    .self_signed(&key)
                    .map_err(|e| format!("outbound CA: {e}"))?;
                crate::tls::write_private(&key_path, key.serialize_pem().as_bytes())?;
                std::fs::write(&cert_path, cert.pem())
                    .map_err(|e| format!("{}: {e}", cert_path.display()))?;
                std::fs::write(&hosts_path, &wanted)
                    .map_err(|e| format!("{}: {e}", hosts_path.display()))?;
                (cert.pem(), key.serialize_pem())
            }
        };
        let _ = cert_pem;
        let key = rcgen::KeyPair::from_pem(&key_pem)
            .map_err(|e| format!("{}: {e}", key_path.display()))?;
        // The issuer is the CA's name and key: the same parameters it was
        // made with (the authority key id comes from the key).
        let issuer = rcgen::Issuer::new(ca_params(), key);
        Ok(Ca {
            cert_path,
            issuer,
            leaves: Mutex::new(HashMap::new()),
        })
    }

    /// A TLS server configuration presenting a certificate for `host`.
    fn server_config(&self, host: &str) -> Result<Arc<rustls::ServerConfig>, String> {
        let mut leaves = self.leaves.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = leaves.get(host) {
            return Ok(c.clone());
        }
        let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
        let mut params =
            rcgen::CertificateParams::new(vec![host.to_string()]).map_err(|e| e.to_string())?;
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(30);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(|e| e.to_string())?;
        let der_key = PrivateKeyDer::try_from(key.serialize_der()).map_err(|e| e.to_string())?;
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], der_key)
        .map_err(|e| e.to_string())?;
        let config = Arc::new(config);
        leaves.insert(host.to_string(), config.clone());
        Ok(config)
    }
}

/// The outbound CA's subject and key usages.
fn ca_params() -> rcgen::CertificateParams {
    let mut params = rcgen::CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Rampart outbound proxy CA");
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    params
}

type Answer = Response<Full<Bytes>>;

fn text(status: StatusCode, why: &str) -> Answer {
    let mut r = Response::new(Full::new(Bytes::from(
        serde_json::json!({ "error": why }).to_string(),
    )));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

impl Shared {
    fn event(&self, kind: &'static str, severity: Severity, peer: SocketAddr) -> ops::Event {
        let mut e = ops::Event::new(kind, severity);
        e.client_ip = Some(peer.ip());
        e
    }

    fn refuse(&self, peer: SocketAddr, status: StatusCode, why: String) -> Answer {
        self.events.emit(
            self.event("vault.outbound_refused", Severity::Warning, peer)
                .message(format!("outbound proxy: {why}")),
        );
        text(status, &why)
    }
}

async fn serve_client(shared: Arc<Shared>, tcp: TcpStream, peer: SocketAddr) {
    let ip = match peer.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(peer.ip()),
        v4 => v4,
    };
    if !shared.policy.clients.iter().any(|n| n.contains(&ip)) {
        shared.events.emit(
            shared
                .event("vault.outbound_refused", Severity::Warning, peer)
                .message(format!(
                    "outbound proxy: {ip} is not allowed to use it (clients)"
                )),
        );
        return;
    }
    let _ = tcp.set_nodelay(true);
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let shared = shared.clone();
        async move { Ok::<_, std::convert::Infallible>(front(shared, req, peer).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(tcp), svc)
        .with_upgrades()
        .await;
}

/// A request to the proxy itself: CONNECT, or a refusal.
async fn front(shared: Arc<Shared>, mut req: Request<Incoming>, peer: SocketAddr) -> Answer {
    if req.method() != Method::CONNECT {
        return shared.refuse(
            peer,
            StatusCode::FORBIDDEN,
            format!(
                "{} {}: only CONNECT to an https destination is proxied (card data goes over TLS only)",
                req.method(),
                req.uri()
            ),
        );
    }
    let Some(authority) = req.uri().authority().cloned() else {
        return shared.refuse(
            peer,
            StatusCode::BAD_REQUEST,
            "CONNECT needs host:port".into(),
        );
    };
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let port = authority.port_u16().unwrap_or(443);
    let listed = !matches!(
        shared
            .policy
            .numbers
            .fields_for(&format!("https://{}/", authority_text(&host, port))),
        Err(Refusal::Destination(_)) | Err(Refusal::BadUrl)
    );
    let upgrade = hyper::upgrade::on(&mut req);
    if !listed {
        if shared.unlisted == Unlisted::Refuse {
            return shared.refuse(
                peer,
                StatusCode::FORBIDDEN,
                format!(
                    "{} is not an allowed destination",
                    authority_text(&host, port)
                ),
            );
        }
        let target = authority_text(&host, port);
        let timeout = shared.timeout;
        tokio::spawn(async move {
            let Ok(Ok(mut upstream)) =
                tokio::time::timeout(timeout, TcpStream::connect(target.as_str())).await
            else {
                return;
            };
            if let Ok(up) = upgrade.await {
                let mut client = TokioIo::new(up);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            }
        });
        return Response::new(Full::new(Bytes::new()));
    }
    let config = match shared.ca.server_config(&host) {
        Ok(c) => c,
        Err(e) => {
            return shared.refuse(
                peer,
                StatusCode::BAD_GATEWAY,
                format!("no certificate for {host}: {e}"),
            )
        }
    };
    tokio::spawn(async move {
        let Ok(up) = upgrade.await else { return };
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let Ok(tls) = acceptor.accept(TokioIo::new(up)).await else {
            return;
        };
        let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
            let shared = shared.clone();
            let host = host.clone();
            async move {
                Ok::<_, std::convert::Infallible>(forward(shared, req, &host, port, peer).await)
            }
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(tls), svc)
            .await;
    });
    Response::new(Full::new(Bytes::new()))
}

fn authority_text(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// One request inside a tunnel to an allowlisted destination.
async fn forward(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    host: &str,
    port: u16,
    peer: SocketAddr,
) -> Answer {
    let (mut parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let url = format!("https://{}{path}", authority_text(host, port));
    let body = match Limited::new(body, MAX_REQUEST).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return shared.refuse(
                peer,
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request to {host} is larger than {MAX_REQUEST} bytes"),
            )
        }
    };
    let body = match detokenize(&shared, &parts, body, &url, host, peer).await {
        Ok(b) => b,
        Err(answer) => return answer,
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::TRANSFER_ENCODING);
    parts.headers.remove("proxy-authorization");
    parts.headers.remove("proxy-connection");
    // The answer is scanned for card numbers: it must come uncompressed.
    parts.headers.remove(header::ACCEPT_ENCODING);
    if let Ok(v) = HeaderValue::from_str(&body.len().to_string()) {
        parts.headers.insert(header::CONTENT_LENGTH, v);
    }
    if let Ok(v) = HeaderValue::from_str(&if port == 443 {
        host.to_string()
    } else {
        authority_text(host, port)
    }) {
        parts.headers.insert(header::HOST, v);
    }
    parts.uri = path
        .parse::<Uri>()
        .unwrap_or_else(|_| Uri::from_static("/"));
    parts.version = http::Version::HTTP_11;
    let request = Request::from_parts(parts, Full::new(body));
    match tokio::time::timeout(shared.timeout, send(&shared, host, port, request)).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => shared.refuse(
            peer,
            StatusCode::BAD_GATEWAY,
            format!("{}: {e}", authority_text(host, port)),
        ),
        Err(_) => shared.refuse(
            peer,
            StatusCode::GATEWAY_TIMEOUT,
            format!("{} did not answer in time", authority_text(host, port)),
        ),
    }
}

/// The body with tokens in allowlisted fields swapped back; `Err` is the
/// answer when that cannot be done in full.
async fn detokenize(
    shared: &Shared,
    parts: &http::request::Parts,
    body: Bytes,
    url: &str,
    host: &str,
    peer: SocketAddr,
) -> Result<Bytes, Answer> {
    let number_fields = shared.policy.numbers.fields_for(url).unwrap_or_default();
    let code_fields = shared.policy.codes.fields_for(url).unwrap_or_default();
    if number_fields.is_empty() && code_fields.is_empty() {
        return Ok(body);
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let slots = match card_fields::parse(content_type, &body) {
        Fields::Parsed(s) => s,
        Fields::Malformed(_) | Fields::Other => return Ok(body),
    };
    let mut numbers = Vec::new();
    let mut tokens = Vec::new();
    for (i, s) in slots.iter().enumerate() {
        if number_fields.contains(&s.name.as_str()) {
            if let Ok(t) = Token::parse(&s.value) {
                numbers.push(i);
                tokens.push(t);
            }
        }
    }
    if tokens.is_empty() {
        return Ok(body);
    }
    let cards = match shared.vault.detokenize_batch(&tokens).await {
        Ok(c) => c,
        Err(e) => {
            let status = match e {
                vault::VaultError::UnknownToken(_) | vault::VaultError::InvalidToken(_) => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                _ => StatusCode::BAD_GATEWAY,
            };
            shared.events.emit(
                shared
                    .event("vault.detokenize_failed", Severity::Error, peer)
                    .message(format!(
                        "outbound proxy: the request to {host} was not forwarded: {e}"
                    ))
                    .data(serde_json::json!({ "destination": host })),
            );
            return Err(text(status, &format!("not forwarded: {e}")));
        }
    };
    let mut edits = Vec::new();
    for (&i, card) in numbers.iter().zip(&cards) {
        edits.push((slots[i].range.clone(), slots[i].encode(card.pan.digits())));
    }
    let mut code_given = false;
    let mut code_missing = false;
    let code = shared.vault.take_cvv(&tokens[0]);
    for s in &slots {
        if code_fields.contains(&s.name.as_str()) {
            match &code {
                Some(c) => {
                    edits.push((s.range.clone(), s.encode(c.digits())));
                    code_given = true;
                }
                None => code_missing = true,
            }
        }
    }
    let out = Bytes::from(card_fields::splice(&body, edits));
    shared.events.emit(
        shared
            .event("vault.detokenized", Severity::Notice, peer)
            .message(format!(
                "outbound proxy: {} card number(s) put back for {host}{}",
                cards.len(),
                if code_given {
                    ", with the held security code"
                } else if code_missing {
                    " (no security code was held for it)"
                } else {
                    ""
                }
            ))
            .data(serde_json::json!({
                "destination": host,
                "path": parts.uri.path(),
                "fields": numbers.len(),
                "tokens": tokens.iter().map(Token::as_str).collect::<Vec<_>>(),
                "cvv": code_given,
            })),
    );
    Ok(out)
}

async fn send(
    shared: &Shared,
    host: &str,
    port: u16,
    request: Request<Full<Bytes>>,
) -> Result<Answer, String> {
    let tcp = TcpStream::connect(authority_text(host, port))
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
    let tls = tokio_rustls::TlsConnector::from(shared.client_tls.clone())
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let resp = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let (mut parts, body) = resp.into_parts();
    let bytes = Limited::new(body, MAX_ANSWER)
        .collect()
        .await
        .map_err(|e| format!("the answer: {e}"))?
        .to_bytes();
    let (masked, found) = ops::cards::mask_cards_in_bytes(&bytes);
    let bytes = if found > 0 {
        shared.events.emit(
            ops::Event::new("cards.leak", Severity::Critical)
                .message(format!(
                    "outbound proxy: {found} card number(s) in the answer from {host}: masked before the store got it"
                ))
                .data(serde_json::json!({"action": "masked", "cards": found, "destination": host})),
        );
        Bytes::from(masked.into_owned())
    } else {
        bytes
    };
    parts.headers.remove(header::TRANSFER_ENCODING);
    parts.headers.remove(header::CONNECTION);
    if let Ok(v) = HeaderValue::from_str(&bytes.len().to_string()) {
        parts.headers.insert(header::CONTENT_LENGTH, v);
    }
    Ok(Response::from_parts(parts, Full::new(bytes)))
}
