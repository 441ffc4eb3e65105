//! ACME (RFC 8555) certificates: the account, orders, the HTTP-01 and
//! TLS-ALPN-01 (RFC 8737) challenge answers, storage under
//! `DATA_DIR/acme/`, and the renewal task.
//!
//! Owns: getting a certificate for each `tls = { acme = ... }` site and
//! keeping it fresh. The protocol itself (JWS, nonces, polling) is
//! instant-acme's. A site without a stored certificate serves a temporary
//! self-signed one (see `tls`) until its first certificate is issued; a
//! failed renewal leaves the old one serving.
//! Must not: log or Debug-print key material (account key, certificate
//! keys, key authorizations).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, BodyWrapper, ChallengeType, Identifier,
    NewAccount, NewOrder, OrderStatus, RetryPolicy,
};
use ops::{Event, Severity};
use rustls::crypto::ring as provider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::{AcmeChallenge, AcmeConfig, SiteConfig, TlsSource};
use crate::runtime::Shared;
use crate::tls::{self, CertError};

/// The ALPN protocol of TLS-ALPN-01 (RFC 8737).
pub(crate) const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// How often each certificate is looked at.
const CHECK_EVERY: Duration = Duration::from_secs(12 * 3600);
/// First wait after a failure; doubled after each further one.
const FIRST_RETRY: Duration = Duration::from_secs(5 * 60);
/// Longest wait between attempts after failures.
const MAX_RETRY: Duration = Duration::from_secs(12 * 3600);
/// One whole issuance (account, order, validation, download) at most.
const ISSUE_TIMEOUT: Duration = Duration::from_secs(300);

/// The challenge answers pending now, read by the listeners.
#[derive(Default)]
pub(crate) struct Challenges {
    /// HTTP-01: token → key authorization.
    http: Mutex<HashMap<String, String>>,
    /// TLS-ALPN-01: host name → a server configuration that presents the
    /// challenge certificate and negotiates `acme-tls/1`.
    tls_alpn: Mutex<HashMap<String, Arc<rustls::ServerConfig>>>,
}

impl std::fmt::Debug for Challenges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Challenges").finish_non_exhaustive()
    }
}

impl Challenges {
    /// The body to answer `GET /.well-known/acme-challenge/TOKEN` with.
    pub(crate) fn http_response(&self, token: &str) -> Option<String> {
        lock(&self.http).get(token).cloned()
    }

    /// The TLS configuration for an `acme-tls/1` handshake for `host`.
    pub(crate) fn tls_alpn_config(&self, host: &str) -> Option<Arc<rustls::ServerConfig>> {
        lock(&self.tls_alpn)
            .get(host.trim_end_matches('.'))
            .cloned()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The answers one order put up; taken down when dropped.
struct Pending {
    challenges: Arc<Challenges>,
    tokens: Vec<String>,
    hosts: Vec<String>,
}

impl Pending {
    fn http(&mut self, token: String, key_authorization: String) {
        lock(&self.challenges.http).insert(token.clone(), key_authorization);
        self.tokens.push(token);
    }

    fn tls_alpn(&mut self, host: String, config: Arc<rustls::ServerConfig>) {
        lock(&self.challenges.tls_alpn).insert(host.clone(), config);
        self.hosts.push(host);
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let mut http = lock(&self.challenges.http);
        for t in &self.tokens {
            http.remove(t);
        }
        drop(http);
        let mut alpn = lock(&self.challenges.tls_alpn);
        for h in &self.hosts {
            alpn.remove(h);
        }
    }
}

/// The TLS-ALPN-01 answer for `host`: a self-signed certificate for the
/// name with the critical acmeIdentifier extension (1.3.6.1.5.5.7.1.31)
/// holding SHA-256 of the key authorization, offered only with
/// `acme-tls/1`.
fn tls_alpn_config(host: &str, digest: &[u8]) -> Result<Arc<rustls::ServerConfig>, String> {
    let (cert, private) = challenge_certificate(host, digest)?;
    let provider = provider::default_provider();
    // Not `with_single_cert`: its check of the certificate refuses the
    // critical extension that is the whole point here.
    let key = provider
        .key_provider
        .load_private_key(private)
        .map_err(|e| format!("challenge key: {e}"))?;
    let certified = Arc::new(CertifiedKey::new(vec![cert], key));
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(ChallengeCert(certified)));
    config.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
    Ok(Arc::new(config))
}

/// Presents the one challenge certificate.
struct ChallengeCert(Arc<CertifiedKey>);

impl std::fmt::Debug for ChallengeCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChallengeCert").finish_non_exhaustive()
    }
}

impl rustls::server::ResolvesServerCert for ChallengeCert {
    fn resolve(&self, _: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

fn challenge_certificate(
    host: &str,
    digest: &[u8],
) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), String> {
    let key = rcgen::KeyPair::generate().map_err(|e| format!("challenge key: {e}"))?;
    let mut params = rcgen::CertificateParams::new(vec![host.to_string()])
        .map_err(|e| format!("challenge certificate for {host}: {e}"))?;
    params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
    let cert = params
        .self_signed(&key)
        .map_err(|e| format!("challenge certificate for {host}: {e}"))?;
    let private =
        PrivateKeyDer::try_from(key.serialize_der()).map_err(|e| format!("challenge key: {e}"))?;
    Ok((cert.der().clone(), private))
}

// ---------------------------------------------------------------------------
// Storage

/// Where a site's ACME certificate and key are kept: one directory per
/// site, CA and set of names, so a change of hosts or CA orders anew.
pub(crate) fn stored_files(
    site: &SiteConfig,
    acme: &AcmeConfig,
    data_dir: &Path,
) -> (PathBuf, PathBuf) {
    let (mut names, _) = AcmeConfig::split_hosts(&site.hosts);
    names.sort();
    let stem = format!(
        "{}-{:016x}",
        site.name,
        tls::fnv1a(format!("{}\n{}", acme.directory, names.join(",")).as_bytes())
    );
    let dir = data_dir.join("acme").join("certs").join(stem);
    (dir.join("cert.pem"), dir.join("key.pem"))
}

fn account_file(acme: &AcmeConfig, data_dir: &Path) -> PathBuf {
    data_dir.join("acme").join("accounts").join(format!(
        "{:016x}.json",
        tls::fnv1a(format!("{}\n{}", acme.directory, acme.email).as_bytes())
    ))
}

/// What the gateway needs to know of a stored certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertInfo {
    pub not_before: i64,
    pub not_after: i64,
    /// Hex, as `openssl x509 -serial` prints it.
    pub serial: String,
}

/// Validity and serial of the first certificate of a PEM chain.
pub(crate) fn cert_info(leaf: &CertificateDer<'_>) -> Result<CertInfo, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let v = cert.validity();
    Ok(CertInfo {
        not_before: v.not_before.timestamp(),
        not_after: v.not_after.timestamp(),
        serial: cert.raw_serial_as_string().replace(':', ""),
    })
}

/// When a certificate is due for renewal: `renew_days` before it expires,
/// or by default 30 days before, or a third of its lifetime when that is
/// shorter (short-lived certificates). Never earlier than a third of the
/// way into its life: a window as long as the lifetime would make every
/// new certificate due at once, and the CA would be asked for one at every
/// check until its rate limit refused them.
pub(crate) fn renew_at(info: &CertInfo, renew_days: Option<u32>) -> i64 {
    let lifetime = (info.not_after - info.not_before).max(0);
    let window = match renew_days {
        Some(d) => i64::from(d) * 86_400,
        None => (30 * 86_400).min(lifetime / 3),
    };
    info.not_after - window.min(lifetime * 2 / 3)
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The stored certificate of a site, if there is one that loads and has
/// not expired.
fn stored(
    site: &SiteConfig,
    acme: &AcmeConfig,
    data_dir: &Path,
) -> Option<(CertifiedKey, CertInfo)> {
    let (cert, key) = stored_files(site, acme, data_dir);
    if !cert.exists() || !key.exists() {
        return None;
    }
    let pair = tls::load_pair(&cert, &key).ok()?;
    let info = cert_info(pair.cert.first()?).ok()?;
    (info.not_after > now_unix()).then_some((pair, info))
}

/// For `tls`: the files to serve for an ACME site now, when a usable
/// certificate is stored.
pub(crate) fn usable_files(
    site: &SiteConfig,
    acme: &AcmeConfig,
    data_dir: &Path,
) -> Option<(PathBuf, PathBuf)> {
    stored(site, acme, data_dir).map(|_| stored_files(site, acme, data_dir))
}

/// Checks that `ca` holds at least one PEM certificate.
pub(crate) fn read_roots(ca: &Path) -> Result<Vec<CertificateDer<'static>>, CertError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(ca)
        .and_then(|it| it.collect::<Result<_, _>>())
        .map_err(|e| CertError(format!("acme ca {}: {e}", ca.display())))?;
    if certs.is_empty() {
        return Err(CertError(format!(
            "acme ca {}: no PEM CERTIFICATE block found",
            ca.display()
        )));
    }
    Ok(certs)
}

fn write_public(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("pem.tmp");
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| format!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------
// Talking to the CA

/// instant-acme's hyper client with our roots (the `ca` file, else the
/// system's) on ring.
fn http_client(acme: &AcmeConfig) -> Result<Box<dyn instant_acme::HttpClient>, String> {
    let mut roots = rustls::RootCertStore::empty();
    match &acme.ca {
        Some(ca) => {
            for c in read_roots(ca).map_err(|e| e.0)? {
                roots
                    .add(c)
                    .map_err(|e| format!("acme ca {}: {e}", ca.display()))?;
            }
        }
        None => {
            for c in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(c);
            }
            if roots.is_empty() {
                return Err("no system root certificates to check the ACME directory with: install ca-certificates or set acme ca".into());
            }
        }
    }
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(provider::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .enable_http2()
        .build();
    let client: hyper_util::client::legacy::Client<_, BodyWrapper<Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(https);
    Ok(Box::new(client))
}

/// The ACME account: restored from `DATA_DIR/acme/accounts/`, or made and
/// stored (0600) on first use.
async fn account(acme: &AcmeConfig, data_dir: &Path, fresh: bool) -> Result<Account, String> {
    let file = account_file(acme, data_dir);
    if !fresh {
        if let Ok(bytes) = std::fs::read(&file) {
            let creds: AccountCredentials = serde_json::from_slice(&bytes)
                .map_err(|e| format!("account file {} is damaged: {e}", file.display()))?;
            return Account::builder_with_http(http_client(acme)?)
                .from_credentials(creds)
                .await
                .map_err(|e| format!("ACME directory {}: {e}", acme.directory));
        }
    }
    let contact = format!("mailto:{}", acme.email);
    let (account, creds) = Account::builder_with_http(http_client(acme)?)
        .create(
            &NewAccount {
                contact: &[&contact],
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            acme.directory.clone(),
            None,
        )
        .await
        .map_err(|e| format!("ACME account at {}: {e}", acme.directory))?;
    let json = serde_json::to_vec(&creds).map_err(|e| e.to_string())?;
    let dir = file.parent().unwrap_or(data_dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    tls::write_private(&file, &json)?;
    Ok(account)
}

/// An order's failure, as the CA explains it.
enum OrderError {
    /// The stored account is unknown to the CA (it was reset).
    NoAccount(String),
    Other(String),
}

impl From<String> for OrderError {
    fn from(s: String) -> Self {
        OrderError::Other(s)
    }
}

fn acme_error(what: &str, e: instant_acme::Error) -> OrderError {
    if let instant_acme::Error::Api(p) = &e {
        if p.r#type.as_deref() == Some("urn:ietf:params:acme:error:accountDoesNotExist") {
            return OrderError::NoAccount(format!("{what}: {e}"));
        }
    }
    OrderError::Other(format!("{what}: {e}"))
}

/// The PEM chain and PEM private key of a new certificate for `names`.
async fn order(
    challenges: &Arc<Challenges>,
    account: &Account,
    names: &[String],
    kind: AcmeChallenge,
) -> Result<(String, String), OrderError> {
    let ids: Vec<Identifier> = names.iter().map(|n| Identifier::Dns(n.clone())).collect();
    let mut order = account
        .new_order(&NewOrder::new(&ids))
        .await
        .map_err(|e| acme_error("new order", e))?;
    let mut pending = Pending {
        challenges: challenges.clone(),
        tokens: Vec::new(),
        hosts: Vec::new(),
    };
    let (ty, ty_name) = match kind {
        AcmeChallenge::Http01 => (ChallengeType::Http01, "http-01"),
        AcmeChallenge::TlsAlpn01 => (ChallengeType::TlsAlpn01, "tls-alpn-01"),
    };
    {
        let mut authorizations = order.authorizations();
        while let Some(authz) = authorizations.next().await {
            let mut authz = authz.map_err(|e| acme_error("authorization", e))?;
            let host = authz.identifier().to_string();
            match authz.status {
                AuthorizationStatus::Pending => {}
                AuthorizationStatus::Valid => continue,
                other => {
                    return Err(OrderError::Other(format!(
                        "authorization for {host} is {other:?}"
                    )))
                }
            }
            let Some(mut challenge) = authz.challenge(ty.clone()) else {
                return Err(OrderError::Other(format!(
                    "the CA offers no {ty_name} challenge for {host}"
                )));
            };
            let key_authorization = challenge.key_authorization();
            match kind {
                AcmeChallenge::Http01 => pending.http(
                    challenge.token.clone(),
                    key_authorization.as_str().to_string(),
                ),
                AcmeChallenge::TlsAlpn01 => pending.tls_alpn(
                    host.clone(),
                    tls_alpn_config(&host, key_authorization.digest().as_ref())?,
                ),
            }
            challenge
                .set_ready()
                .await
                .map_err(|e| acme_error(&format!("{ty_name} challenge for {host}"), e))?;
        }
    }
    let poll = RetryPolicy::new()
        .initial_delay(Duration::from_millis(250))
        .backoff(1.5)
        .timeout(Duration::from_secs(120));
    let ready = order.poll_ready(&poll).await;
    if !matches!(ready, Ok(OrderStatus::Ready)) {
        let why = validation_errors(&mut order).await;
        let status = match ready {
            Ok(s) => format!("order is {s:?}"),
            Err(e) => e.to_string(),
        };
        return Err(OrderError::Other(if why.is_empty() {
            format!("{ty_name} validation failed: {status}")
        } else {
            format!("{ty_name} validation failed: {why}")
        }));
    }
    drop(pending);
    let key = rcgen::KeyPair::generate().map_err(|e| format!("certificate key: {e}"))?;
    let mut params = rcgen::CertificateParams::new(names.to_vec())
        .map_err(|e| format!("certificate request: {e}"))?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params
        .serialize_request(&key)
        .map_err(|e| format!("certificate request: {e}"))?;
    order
        .finalize_csr(csr.der())
        .await
        .map_err(|e| acme_error("finalize", e))?;
    let chain = order
        .poll_certificate(&poll)
        .await
        .map_err(|e| acme_error("certificate download", e))?;
    Ok((chain, key.serialize_pem()))
}

/// What the CA said about each failed challenge of an order.
async fn validation_errors(order: &mut instant_acme::Order) -> String {
    let mut out = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(Ok(mut authz)) = authorizations.next().await {
        let host = authz.identifier().to_string();
        let Ok(state) = authz.refresh().await else {
            continue;
        };
        for c in &state.challenges {
            if let Some(p) = &c.error {
                let detail = p.detail.clone().unwrap_or_else(|| p.to_string());
                out.push(format!("{host}: {detail}"));
            }
        }
    }
    out.join("; ")
}

// ---------------------------------------------------------------------------
// The renewal task

/// What one look at a site did.
#[derive(Debug)]
enum Outcome {
    /// The stored certificate is good for now.
    Fresh,
    Issued(CertInfo),
    Renewed {
        old: CertInfo,
        new: CertInfo,
    },
}

/// Runs the ACME sites: issues missing certificates at once, renews due
/// ones, every 12 hours and whenever the configuration is reloaded.
pub(crate) struct AcmeTask {
    sites: watch::Sender<Vec<SiteConfig>>,
    task: JoinHandle<()>,
}

impl AcmeTask {
    pub(crate) fn start(shared: Arc<Shared>, data_dir: PathBuf, sites: &[SiteConfig]) -> AcmeTask {
        let (tx, rx) = watch::channel(acme_sites(sites));
        let task = tokio::spawn(run(shared, data_dir, rx));
        AcmeTask { sites: tx, task }
    }

    /// The sites of a reloaded configuration (after its certificates are
    /// in the resolver).
    pub(crate) fn update(&self, sites: &[SiteConfig]) {
        self.sites.send_replace(acme_sites(sites));
    }

    pub(crate) fn stop(&self) {
        self.task.abort();
    }
}

fn acme_sites(sites: &[SiteConfig]) -> Vec<SiteConfig> {
    sites
        .iter()
        .filter(|s| matches!(s.tls, TlsSource::Acme(_)))
        .cloned()
        .collect()
}

#[derive(Default)]
struct SiteState {
    next: Option<Instant>,
    failures: u32,
}

fn retry_delay(failures: u32) -> Duration {
    let factor = 1u32 << failures.saturating_sub(1).min(16);
    FIRST_RETRY.saturating_mul(factor).min(MAX_RETRY)
}

async fn run(shared: Arc<Shared>, data_dir: PathBuf, mut rx: watch::Receiver<Vec<SiteConfig>>) {
    let mut states: HashMap<PathBuf, SiteState> = HashMap::new();
    loop {
        let sites = rx.borrow_and_update().clone();
        let mut wake = Instant::now() + CHECK_EVERY;
        for site in &sites {
            let TlsSource::Acme(acme) = &site.tls else {
                continue;
            };
            // A reload loaded the certificates anew: make sure the newest
            // stored one is the one served.
            install_stored(&shared, site, acme, &data_dir);
            let state = states
                .entry(stored_files(site, acme, &data_dir).0)
                .or_default();
            let now = Instant::now();
            if let Some(next) = state.next.filter(|n| *n > now) {
                wake = wake.min(next);
                continue;
            }
            let result =
                tokio::time::timeout(ISSUE_TIMEOUT, ensure(&shared, site, acme, &data_dir))
                    .await
                    .unwrap_or_else(|_| {
                        Err(format!(
                            "no certificate within {} s",
                            ISSUE_TIMEOUT.as_secs()
                        ))
                    });
            let next = match result {
                Ok(outcome) => {
                    state.failures = 0;
                    report(&shared, site, acme, outcome);
                    Instant::now() + CHECK_EVERY
                }
                Err(why) => {
                    state.failures += 1;
                    let delay = retry_delay(state.failures);
                    failed(&shared, site, &why, state.failures, delay);
                    Instant::now() + delay
                }
            };
            state.next = Some(next);
            wake = wake.min(next);
        }
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            changed = rx.changed() => if changed.is_err() { return },
        }
    }
}

/// Issues or renews the certificate of `site` when needed.
async fn ensure(
    shared: &Arc<Shared>,
    site: &SiteConfig,
    acme: &AcmeConfig,
    data_dir: &Path,
) -> Result<Outcome, String> {
    let old = stored(site, acme, data_dir).map(|(_, info)| info);
    if let Some(info) = &old {
        if now_unix() < renew_at(info, acme.renew_days) {
            return Ok(Outcome::Fresh);
        }
    }
    let (mut names, _) = AcmeConfig::split_hosts(&site.hosts);
    names.sort();
    let mut account_ = account(acme, data_dir, false).await?;
    let got = match order(&shared.acme, &account_, &names, acme.challenge).await {
        Err(OrderError::NoAccount(_)) => {
            // The CA forgot the account (a test CA restarted, or it was
            // deactivated): register anew, once.
            account_ = account(acme, data_dir, true).await?;
            order(&shared.acme, &account_, &names, acme.challenge).await
        }
        other => other,
    };
    let (chain, key) = match got {
        Ok(x) => x,
        Err(OrderError::NoAccount(e) | OrderError::Other(e)) => return Err(e),
    };
    let (cert_file, key_file) = stored_files(site, acme, data_dir);
    let dir = cert_file.parent().unwrap_or(data_dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // Checked before anything is replaced on disk.
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("the CA sent a bad certificate chain: {e:?}"))?;
    let leaf = certs
        .first()
        .ok_or("the CA sent an empty certificate chain")?;
    let info = cert_info(leaf)?;
    let private = PrivateKeyDer::from_pem_slice(key.as_bytes()).map_err(|e| format!("{e:?}"))?;
    let certified = CertifiedKey::from_der(certs, private, &provider::default_provider())
        .map_err(|e| format!("the CA's certificate does not fit our key: {e}"))?;
    tls::write_private(&key_file, key.as_bytes())?;
    write_public(&cert_file, chain.as_bytes())?;
    install(shared, site, Arc::new(certified));
    Ok(match old {
        Some(old) => Outcome::Renewed { old, new: info },
        None => Outcome::Issued(info),
    })
}

/// Puts `key` in use for every new handshake of `site`.
fn install(shared: &Shared, site: &SiteConfig, key: Arc<CertifiedKey>) {
    let map = shared.certs.map();
    for c in map.certificates() {
        if c.site == site.name {
            c.replace(key.clone());
        }
    }
}

fn install_stored(shared: &Shared, site: &SiteConfig, acme: &AcmeConfig, data_dir: &Path) {
    let Some((pair, _)) = stored(site, acme, data_dir) else {
        return;
    };
    let map = shared.certs.map();
    let serving = map
        .certificates()
        .iter()
        .find(|c| c.site == site.name)
        .map(|c| c.current());
    if serving.is_some_and(|s| s.cert.first() != pair.cert.first()) {
        install(shared, site, Arc::new(pair));
    }
}

fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

fn report(shared: &Shared, site: &SiteConfig, acme: &AcmeConfig, outcome: Outcome) {
    let (names, skipped) = AcmeConfig::split_hosts(&site.hosts);
    let mut e = match &outcome {
        Outcome::Fresh => return,
        Outcome::Issued(info) => {
            let mut e = Event::new("tls.acme_issued", Severity::Notice).message(format!(
                "ACME certificate for {} issued and in use, valid until {}",
                names.join(", "),
                rfc3339(info.not_after)
            ));
            e.data = serde_json::json!({
                "names": names,
                "serial": info.serial,
                "not_after": rfc3339(info.not_after),
            });
            e
        }
        Outcome::Renewed { old, new } => {
            let mut e = Event::new("tls.acme_renewed", Severity::Notice).message(format!(
                "ACME certificate for {} renewed and in use, valid until {}",
                names.join(", "),
                rfc3339(new.not_after)
            ));
            e.data = serde_json::json!({
                "names": names,
                "serial": new.serial,
                "previous_serial": old.serial,
                "not_after": rfc3339(new.not_after),
            });
            e
        }
    };
    if !skipped.is_empty() {
        e.data["not_in_certificate"] = serde_json::json!(skipped);
    }
    e.data["directory"] = serde_json::json!(acme.directory);
    e.site = Some(site.name.clone());
    shared.emit(e);
}

fn failed(shared: &Shared, site: &SiteConfig, why: &str, failures: u32, retry: Duration) {
    tracing::warn!(site = %site.name, "ACME certificate not obtained: {why}");
    let mut e = Event::new("tls.acme_failed", Severity::Error).message(format!(
        "ACME certificate not obtained, the current one stays; next try in {} min: {why}",
        retry.as_secs() / 60
    ));
    e.site = Some(site.name.clone());
    e.data = serde_json::json!({
        "error": why,
        "failures": failures,
        "retry_in_seconds": retry.as_secs(),
    });
    shared.emit(e);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(not_before: i64, not_after: i64) -> CertInfo {
        CertInfo {
            not_before,
            not_after,
            serial: "01".into(),
        }
    }

    #[test]
    fn renewal_window() {
        let day = 86_400;
        // 90 days: 30 days before expiry.
        assert_eq!(renew_at(&info(0, 90 * day), None), 60 * day);
        // A year: still 30 days.
        assert_eq!(renew_at(&info(0, 365 * day), None), 335 * day);
        // Six days (short-lived): a third of the lifetime.
        assert_eq!(renew_at(&info(0, 6 * day), None), 4 * day);
        // Configured: that many days.
        assert_eq!(renew_at(&info(0, 90 * day), Some(7)), 83 * day);
        assert_eq!(renew_at(&info(0, 45 * day), Some(30)), 15 * day);
        // A window as long as the lifetime or longer: a third of the way
        // in, not at once (which would renew at every check).
        assert_eq!(renew_at(&info(0, 9 * day), Some(20)), 3 * day);
        assert_eq!(renew_at(&info(0, 90 * day), Some(90)), 30 * day);
    }

    #[test]
    fn retries_back_off_to_a_limit() {
        assert_eq!(retry_delay(1), FIRST_RETRY);
        assert_eq!(retry_delay(2), FIRST_RETRY * 2);
        assert_eq!(retry_delay(4), FIRST_RETRY * 8);
        assert_eq!(retry_delay(40), MAX_RETRY);
    }

    #[test]
    fn challenge_answers_come_down_with_their_order() {
        let challenges = Arc::new(Challenges::default());
        {
            let mut p = Pending {
                challenges: challenges.clone(),
                tokens: Vec::new(),
                hosts: Vec::new(),
            };
            p.http("tok".into(), "tok.thumb".into());
            let config = tls_alpn_config("shop.example", &[7; 32]).unwrap();
            assert_eq!(config.alpn_protocols, [ACME_TLS_ALPN.to_vec()]);
            p.tls_alpn("shop.example".into(), config);
            assert_eq!(
                challenges.http_response("tok").as_deref(),
                Some("tok.thumb")
            );
            assert!(challenges.http_response("other").is_none());
            assert!(challenges.tls_alpn_config("shop.example.").is_some());
            assert!(challenges.tls_alpn_config("other.example").is_none());
        }
        assert!(challenges.http_response("tok").is_none());
        assert!(challenges.tls_alpn_config("shop.example").is_none());
    }

    #[test]
    fn the_challenge_certificate_carries_the_digest() {
        let digest = [0x5a; 32];
        let (cert, _) = challenge_certificate("shop.example", &digest).unwrap();
        let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).unwrap();
        let ext = parsed
            .extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == "1.3.6.1.5.5.7.1.31")
            .expect("acmeIdentifier extension");
        assert!(ext.critical);
        // OCTET STRING of 32 bytes.
        assert_eq!(&ext.value[..2], &[0x04, 32]);
        assert_eq!(&ext.value[2..], &digest);
    }
}
