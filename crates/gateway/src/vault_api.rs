//! The detokenization API (`[vault.api]`): authorised services (a
//! refund worker, a recurring-billing job) read cards back from the vault
//! over HTTPS.
//!
//! `POST /v1/detokenize` with `{"tokens": ["…", …]}` answers
//! `{"cards": [{"token", "number", "expiry", "holder"}, …]}` in the order
//! asked, all or nothing: an unknown token or a damaged record gives no
//! card at all. A caller proves who it is with an API key
//! (`Authorization: Bearer KEY`; the configuration holds only the key's
//! SHA-256, compared in constant time) or with a client certificate issued
//! by `client_ca` for one of the names in `[[vault.api.clients]]`. Only
//! the `payments` role may read cards; other roles are refused. Each caller
//! has its own rate limit, and every call, answered or refused, is an
//! event (the audit trail), which names the caller and the tokens, never a
//! card.
//!
//! Must not: log, put in an event or `Debug`-print a card number or a key.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use governor::{DefaultKeyedRateLimiter, Quota};
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use ops::Severity;
use rustls::pki_types::{CertificateDer, ServerName};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::sync::watch;
use vault::{Token, Vault};

/// The one role that may read cards.
pub const PAYMENTS: &str = "payments";

/// `[vault.api]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetokenizeApiConfig {
    /// Where the API listens (HTTPS only).
    pub listen: SocketAddr,
    /// The API's certificate and key (PEM); without them a self-signed
    /// pair is made once in `DATA/vault-api.pem` and `DATA/vault-api.key`.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// The CA (PEM) that issues the callers' client certificates.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// Callers with an API key.
    #[serde(default)]
    pub keys: Vec<ApiKey>,
    /// Callers with a client certificate from `client_ca`.
    #[serde(default)]
    pub clients: Vec<ApiClient>,
    /// Calls per minute for each caller (default 600).
    #[serde(default)]
    pub rate_per_minute: Option<u32>,
    /// Tokens in one call (default 100).
    #[serde(default)]
    pub max_tokens: Option<usize>,
}

/// A caller known by its API key. Only the key's SHA-256 is configured.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    pub name: String,
    /// Hex SHA-256 of the key (`rampart vault api-key NAME` prints both).
    pub sha256: String,
    #[serde(default = "payments")]
    pub role: String,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("name", &self.name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// A caller known by its client certificate: a DNS name the certificate
/// is valid for.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiClient {
    pub name: String,
    #[serde(default = "payments")]
    pub role: String,
}

fn payments() -> String {
    PAYMENTS.to_string()
}

/// A new API key and the hex SHA-256 that goes in the configuration.
pub fn new_api_key() -> (String, String) {
    let raw: [u8; 32] = rand::random();
    let key = format!(
        "rk_{}",
        raw.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let digest = hex(&Sha256::digest(key.as_bytes()));
    (key, digest)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl DetokenizeApiConfig {
    /// Checks the configuration; errors are one line.
    pub fn validate(&self) -> Result<(), String> {
        if self.keys.is_empty() && self.clients.is_empty() {
            return Err(
                "no callers: add [[vault.api.keys]] (rampart vault api-key NAME) or [[vault.api.clients]]"
                    .into(),
            );
        }
        let mut names: Vec<&str> = Vec::new();
        for k in &self.keys {
            if k.name.trim().is_empty() {
                return Err("a key's name is empty".into());
            }
            if k.sha256.len() != 64 || !k.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "key {:?}: sha256 must be 64 hex digits (rampart vault api-key prints it)",
                    k.name
                ));
            }
            names.push(&k.name);
        }
        for c in &self.clients {
            if ServerName::try_from(c.name.as_str()).is_err() {
                return Err(format!("client {:?}: not a DNS name", c.name));
            }
            names.push(&c.name);
        }
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(format!("caller {n:?} is named twice"));
            }
        }
        match (&self.client_ca, self.clients.is_empty()) {
            (None, false) => {
                return Err(
                    "[[vault.api.clients]] needs client_ca: the CA that issues their certificates"
                        .into(),
                )
            }
            (Some(_), true) => {
                return Err("client_ca is set but no [[vault.api.clients]] names a caller".into())
            }
            _ => {}
        }
        if self.cert_file.is_some() != self.key_file.is_some() {
            return Err("cert_file and key_file go together".into());
        }
        if self.rate_per_minute == Some(0) {
            return Err("rate_per_minute must be at least 1".into());
        }
        if let Some(m) = self.max_tokens {
            if !(1..=10_000).contains(&m) {
                return Err("max_tokens must be between 1 and 10000".into());
            }
        }
        Ok(())
    }

    /// Makes relative file names relative to `base` (the config's folder).
    pub fn resolve_paths(&mut self, resolve: impl Fn(&Path) -> PathBuf) {
        for p in [&mut self.cert_file, &mut self.key_file, &mut self.client_ca]
            .into_iter()
            .flatten()
        {
            *p = resolve(p);
        }
    }
}

/// A running detokenization API.
pub struct DetokenizeApi {
    addr: SocketAddr,
    cert_path: PathBuf,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

struct Shared {
    keys: Vec<(ApiKey, [u8; 32])>,
    clients: Vec<ApiClient>,
    vault: Arc<Vault>,
    events: ops::bus::EventBus,
    limiter: DefaultKeyedRateLimiter<String>,
    max_tokens: usize,
}

/// Who is calling, once proven.
struct Caller {
    name: String,
    role: String,
    via: &'static str,
}

impl DetokenizeApi {
    /// Binds `config.listen` and serves until [`DetokenizeApi::stop`].
    pub async fn start(
        config: &DetokenizeApiConfig,
        data_dir: &Path,
        vault: Arc<Vault>,
        events: ops::bus::EventBus,
    ) -> Result<DetokenizeApi, String> {
        config.validate()?;
        let (cert_path, key_path) = match (&config.cert_file, &config.key_file) {
            (Some(c), Some(k)) => (c.clone(), k.clone()),
            _ => self_signed(data_dir, config.listen)?,
        };
        let certified = crate::tls::load_pair(&cert_path, &key_path).map_err(|e| e.to_string())?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let builder = match &config.client_ca {
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                use rustls::pki_types::pem::PemObject;
                let certs = CertificateDer::pem_file_iter(ca)
                    .map_err(|e| format!("client_ca {}: {e}", ca.display()))?;
                for c in certs {
                    let c = c.map_err(|e| format!("client_ca {}: {e}", ca.display()))?;
                    roots
                        .add(c)
                        .map_err(|e| format!("client_ca {}: {e}", ca.display()))?;
                }
                // Optional at the handshake: callers with an API key have
                // no certificate.
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .allow_unauthenticated()
                .build()
                .map_err(|e| format!("client_ca {}: {e}", ca.display()))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut tls = builder
            .with_single_cert(certified.cert.clone(), key_der(&key_path)?)
            .map_err(|e| e.to_string())?;
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));

        let mut keys = Vec::new();
        for k in &config.keys {
            let mut digest = [0u8; 32];
            for (i, d) in digest.iter_mut().enumerate() {
                *d = u8::from_str_radix(&k.sha256[2 * i..2 * i + 2], 16)
                    .map_err(|_| format!("key {:?}: sha256 is not hex", k.name))?;
            }
            keys.push((k.clone(), digest));
        }
        let rate = NonZeroU32::new(config.rate_per_minute.unwrap_or(600))
            .ok_or("rate_per_minute must be at least 1")?;
        let shared = Arc::new(Shared {
            keys,
            clients: config.clients.clone(),
            vault,
            events,
            limiter: governor::RateLimiter::keyed(Quota::per_minute(rate)),
            max_tokens: config.max_tokens.unwrap_or(100),
        });
        let listener = TcpListener::bind(config.listen).await.map_err(|e| {
            format!(
                "cannot listen on {} (detokenization API): {e}",
                config.listen
            )
        })?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
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
                        let acceptor = acceptor.clone();
                        tokio::spawn(async move {
                            let _ = tcp.set_nodelay(true);
                            let Ok(Ok(tls)) = tokio::time::timeout(
                                Duration::from_secs(10),
                                acceptor.accept(tcp),
                            ).await else { return };
                            let cert = tls
                                .get_ref()
                                .1
                                .peer_certificates()
                                .and_then(|c| c.first())
                                .map(|c| c.clone().into_owned());
                            let cert = Arc::new(cert);
                            let svc = hyper::service::service_fn(move |req| {
                                let shared = shared.clone();
                                let cert = cert.clone();
                                async move {
                                    Ok::<_, std::convert::Infallible>(
                                        handle(&shared, req, peer, cert.as_ref().as_ref()).await,
                                    )
                                }
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(tls), svc)
                                .await;
                        });
                    }
                }
            }
        });
        Ok(DetokenizeApi {
            addr,
            cert_path,
            stop,
            task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API's certificate (PEM), which callers trust.
    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

fn key_der(path: &Path) -> Result<rustls::pki_types::PrivateKeyDer<'static>, String> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::PrivateKeyDer::from_pem_file(path)
        .map_err(|e| format!("private key {}: {e}", path.display()))
}

/// `DATA/vault-api.pem` and `.key`, made once for `localhost` and the
/// listening address.
fn self_signed(data_dir: &Path, listen: SocketAddr) -> Result<(PathBuf, PathBuf), String> {
    let cert = data_dir.join("vault-api.pem");
    let key = data_dir.join("vault-api.key");
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    if !listen.ip().is_unspecified() && !listen.ip().is_loopback() {
        names.push(listen.ip().to_string());
    }
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("cannot make the API's certificate: {e}"))?;
    std::fs::create_dir_all(data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
    crate::tls::write_private(&key, made.signing_key.serialize_pem().as_bytes())?;
    std::fs::write(&cert, made.cert.pem()).map_err(|e| format!("{}: {e}", cert.display()))?;
    Ok((cert, key))
}

type Answer = Response<Full<Bytes>>;

fn json(status: StatusCode, value: &serde_json::Value) -> Answer {
    let mut r = Response::new(Full::new(Bytes::from(value.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

impl Shared {
    fn event(&self, kind: &'static str, severity: Severity, peer: SocketAddr) -> ops::Event {
        let mut e = ops::Event::new(kind, severity);
        e.client_ip = Some(peer.ip());
        e
    }

    /// A refusal: an event and a JSON error.
    fn refuse(
        &self,
        peer: SocketAddr,
        caller: Option<&Caller>,
        status: StatusCode,
        why: &str,
    ) -> Answer {
        self.events.emit(
            self.event("vault.api_refused", Severity::Warning, peer)
                .message(format!("detokenization API: {why}"))
                .data(serde_json::json!({
                    "status": status.as_u16(),
                    "caller": caller.map(|c| c.name.as_str()),
                })),
        );
        json(status, &serde_json::json!({ "error": why }))
    }

    /// The caller, by API key or client certificate.
    fn identify(
        &self,
        req: &Request<Incoming>,
        cert: Option<&CertificateDer<'static>>,
    ) -> Option<Caller> {
        if let Some(auth) = req.headers().get(header::AUTHORIZATION) {
            let given = auth.to_str().ok()?.strip_prefix("Bearer ")?.trim();
            let digest = Sha256::digest(given.as_bytes());
            // Every configured key is compared, in constant time.
            let mut found = None;
            for (k, d) in &self.keys {
                if bool::from(d.ct_eq(digest.as_slice())) {
                    found = Some(k);
                }
            }
            return found.map(|k| Caller {
                name: k.name.clone(),
                role: k.role.clone(),
                via: "api_key",
            });
        }
        // The handshake verified the chain against client_ca; the name
        // is checked here.
        let cert = webpki::EndEntityCert::try_from(cert?).ok()?;
        self.clients.iter().find_map(|c| {
            let name = ServerName::try_from(c.name.as_str()).ok()?;
            cert.verify_is_valid_for_subject_name(&name).ok()?;
            Some(Caller {
                name: c.name.clone(),
                role: c.role.clone(),
                via: "certificate",
            })
        })
    }
}

async fn handle(
    shared: &Shared,
    req: Request<Incoming>,
    peer: SocketAddr,
    cert: Option<&CertificateDer<'static>>,
) -> Answer {
    let Some(caller) = shared.identify(&req, cert) else {
        return shared.refuse(
            peer,
            None,
            StatusCode::UNAUTHORIZED,
            "no valid API key or client certificate",
        );
    };
    if req.uri().path() != "/v1/detokenize" {
        return shared.refuse(
            peer,
            Some(&caller),
            StatusCode::NOT_FOUND,
            "no such endpoint: use POST /v1/detokenize",
        );
    }
    if req.method() != Method::POST {
        return shared.refuse(
            peer,
            Some(&caller),
            StatusCode::METHOD_NOT_ALLOWED,
            "use POST",
        );
    }
    if caller.role != PAYMENTS {
        let why = format!(
            "caller {:?} has the role {:?}: only {PAYMENTS:?} may read cards",
            caller.name, caller.role
        );
        return shared.refuse(peer, Some(&caller), StatusCode::FORBIDDEN, &why);
    }
    if shared.limiter.check_key(&caller.name).is_err() {
        let mut r = shared.refuse(
            peer,
            Some(&caller),
            StatusCode::TOO_MANY_REQUESTS,
            "rate limit: too many calls this minute",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return r;
    }
    let body = match Limited::new(req.into_body(), 64 + shared.max_tokens * 64)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return shared.refuse(
                peer,
                Some(&caller),
                StatusCode::PAYLOAD_TOO_LARGE,
                "the body is too long or was cut off",
            )
        }
    };
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Ask {
        tokens: Vec<String>,
    }
    let ask: Ask = match serde_json::from_slice(&body) {
        Ok(a) => a,
        Err(e) => {
            let why = format!("the body must be {{\"tokens\": [...]}}: {e}");
            return shared.refuse(peer, Some(&caller), StatusCode::BAD_REQUEST, &why);
        }
    };
    if ask.tokens.is_empty() || ask.tokens.len() > shared.max_tokens {
        let why = format!("give 1 to {} tokens", shared.max_tokens);
        return shared.refuse(peer, Some(&caller), StatusCode::BAD_REQUEST, &why);
    }
    let mut tokens = Vec::with_capacity(ask.tokens.len());
    for t in &ask.tokens {
        match Token::parse(t) {
            Ok(t) => tokens.push(t),
            Err(e) => {
                return shared.refuse(peer, Some(&caller), StatusCode::BAD_REQUEST, &e.to_string())
            }
        }
    }
    let token_list: Vec<&str> = tokens.iter().map(Token::as_str).collect();
    let cards = match shared.vault.detokenize_batch(&tokens).await {
        Ok(c) => c,
        Err(e) => {
            let status = match e {
                vault::VaultError::UnknownToken(_) | vault::VaultError::InvalidToken(_) => {
                    StatusCode::NOT_FOUND
                }
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            shared.events.emit(
                shared
                    .event("vault.detokenize_failed", Severity::Error, peer)
                    .message(format!(
                        "detokenization API: no card given to {:?}: {e}",
                        caller.name
                    ))
                    .data(serde_json::json!({
                        "caller": caller.name,
                        "via": caller.via,
                        "tokens": token_list,
                    })),
            );
            return json(
                status,
                &serde_json::json!({ "error": format!("no card given: {e}") }),
            );
        }
    };
    let out: Vec<serde_json::Value> = tokens
        .iter()
        .zip(&cards)
        .map(|(t, c)| {
            serde_json::json!({
                "token": t.as_str(),
                "number": c.pan.digits(),
                "expiry": c.expiry.map(|e| e.to_string()),
                "holder": c.holder.as_ref().map(|h| h.as_str()),
            })
        })
        .collect();
    shared.events.emit(
        shared
            .event("vault.api_detokenized", Severity::Notice, peer)
            .message(format!(
                "detokenization API: {} card(s) read by {:?} ({})",
                cards.len(),
                caller.name,
                caller.via
            ))
            .data(serde_json::json!({
                "caller": caller.name,
                "role": caller.role,
                "via": caller.via,
                "tokens": token_list,
            })),
    );
    json(StatusCode::OK, &serde_json::json!({ "cards": out }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Result<DetokenizeApiConfig, String> {
        let c: DetokenizeApiConfig = toml::from_str(&format!("listen = \"127.0.0.1:0\"\n{extra}"))
            .map_err(|e| e.to_string())?;
        c.validate().map(|()| c)
    }

    #[test]
    fn configurations_are_checked() {
        let (_, sha) = new_api_key();
        let key = format!("[[keys]]\nname = \"refunds\"\nsha256 = \"{sha}\"\n");
        let c = config(&key).unwrap();
        assert_eq!(c.keys[0].role, PAYMENTS);
        assert!(
            !format!("{c:?}").contains(&sha),
            "the digest is not printed"
        );
        assert!(config("").unwrap_err().contains("no callers"));
        assert!(config("[[keys]]\nname = \"x\"\nsha256 = \"abc\"\n")
            .unwrap_err()
            .contains("64 hex digits"));
        assert!(config(&format!("{key}{key}"))
            .unwrap_err()
            .contains("named twice"));
        assert!(config("[[clients]]\nname = \"billing.internal\"\n")
            .unwrap_err()
            .contains("needs client_ca"));
        assert!(config(&format!("client_ca = \"ca.pem\"\n{key}"))
            .unwrap_err()
            .contains("no [[vault.api.clients]]"));
        assert!(config(&format!("rate_per_minute = 0\n{key}"))
            .unwrap_err()
            .contains("at least 1"));
        assert!(config(&format!("cert_file = \"a.pem\"\n{key}"))
            .unwrap_err()
            .contains("go together"));
    }

    #[test]
    fn api_keys_are_random_and_their_digest_is_sha256() {
        let (a, da) = new_api_key();
        let (b, _) = new_api_key();
        assert_ne!(a, b);
        assert_eq!(da, hex(&Sha256::digest(a.as_bytes())));
        assert_eq!(a.len(), 3 + 64);
    }
}
