//! TLS termination: the rustls server configuration, the certificate store
//! that picks a site's certificate by SNI, self-signed certificates, and
//! hot reload of certificate files.
//!
//! Owns: which certificate a handshake gets and when it changes. Each
//! site's certificate sits behind an atomic pointer, so anything (the file
//! watcher, the ACME task) can swap it while handshakes run.
//! Must not: decide anything about HTTP, or ever log key material.
//!
//! Crypto provider: `ring`. It builds with a C compiler alone, while
//! aws-lc-rs needs cmake (absent here) for its C build.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arc_swap::ArcSwap;
use rustls::crypto::ring as provider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::config::{SiteConfig, TlsSource};

/// A certificate that could not be loaded or made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertError(pub String);

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CertError {}

/// The rustls server configuration: TLS 1.2 and 1.3 only, ALPN `h2` and
/// `http/1.1`, certificates from `resolver`.
pub fn server_config(resolver: Arc<CertResolver>) -> Arc<rustls::ServerConfig> {
    let mut config =
        rustls::ServerConfig::builder_with_provider(Arc::new(provider::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .expect("ring supports TLS 1.2 and 1.3")
            .with_no_client_auth()
            .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    if let Ok(ticketer) = provider::Ticketer::new() {
        config.ticketer = ticketer;
    }
    Arc::new(config)
}

/// One site's certificate: where it comes from and the one in use now.
pub struct SiteCertificate {
    /// The site's name (for events).
    pub site: String,
    source: TlsSource,
    /// Resolved files (for self-signed: the generated files).
    files: Option<(PathBuf, PathBuf)>,
    current: ArcSwap<CertifiedKey>,
    /// Modification stamps of the files that produced `current` (or of the
    /// last attempt), so each change is tried once.
    seen: Mutex<Option<FileStamp>>,
}

type FileStamp = ((Option<SystemTime>, u64), (Option<SystemTime>, u64));

impl fmt::Debug for SiteCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SiteCertificate")
            .field("site", &self.site)
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

/// What a reload poll found.
#[derive(Debug)]
pub enum CertReload {
    /// The files changed and the new certificate is in use.
    Reloaded { site: String, file: PathBuf },
    /// The files changed but could not be used; the old one stays.
    Failed { site: String, error: CertError },
}

impl SiteCertificate {
    /// Loads (or, for `self_signed`, creates under `data_dir/tls`) the
    /// certificate of `site`.
    pub fn load(site: &SiteConfig, data_dir: &Path) -> Result<SiteCertificate, CertError> {
        let files = match &site.tls {
            TlsSource::Files { cert, key } => (cert.clone(), key.clone()),
            TlsSource::SelfSigned => self_signed_files(site, data_dir)?,
            TlsSource::Acme(acme) => {
                if let Some(ca) = &acme.ca {
                    crate::acme::read_roots(ca)
                        .map_err(|e| CertError(format!("site {:?}: {e}", site.name)))?;
                }
                // The stored ACME certificate, or a temporary self-signed
                // one until the first is issued.
                match crate::acme::usable_files(site, acme, data_dir) {
                    Some(files) => files,
                    None => self_signed_files(site, data_dir)?,
                }
            }
        };
        let stamp = stamp(&files.0, &files.1);
        let key = load_pair(&files.0, &files.1)?;
        Ok(SiteCertificate {
            site: site.name.clone(),
            source: site.tls.clone(),
            files: Some(files),
            current: ArcSwap::from_pointee(key),
            seen: Mutex::new(Some(stamp)),
        })
    }

    /// The certificate served now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current.load_full()
    }

    /// Puts `key` in use for every new handshake (ACME issuance and
    /// renewal call this).
    pub fn replace(&self, key: Arc<CertifiedKey>) {
        self.current.store(key);
    }

    /// Reloads the files if they changed since the last look.
    pub fn poll_files(&self) -> Option<CertReload> {
        if !matches!(self.source, TlsSource::Files { .. }) {
            return None;
        }
        let (cert, key) = self.files.as_ref()?;
        let now = stamp(cert, key);
        {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            if seen.as_ref() == Some(&now) {
                return None;
            }
            *seen = Some(now);
        }
        match load_pair(cert, key) {
            Ok(k) => {
                self.replace(Arc::new(k));
                Some(CertReload::Reloaded {
                    site: self.site.clone(),
                    file: cert.clone(),
                })
            }
            Err(error) => Some(CertReload::Failed {
                site: self.site.clone(),
                error,
            }),
        }
    }
}

fn stamp(cert: &Path, key: &Path) -> FileStamp {
    let one = |p: &Path| match std::fs::metadata(p) {
        Ok(m) => (m.modified().ok(), m.len()),
        Err(_) => (None, 0),
    };
    (one(cert), one(key))
}

/// Reads a PEM certificate chain and private key and checks they match.
pub fn load_pair(cert: &Path, key: &Path) -> Result<CertifiedKey, CertError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| CertError(format!("certificate {}: {}", cert.display(), pem_error(e))))?
        .collect::<Result<_, _>>()
        .map_err(|e| CertError(format!("certificate {}: {}", cert.display(), pem_error(e))))?;
    if certs.is_empty() {
        return Err(CertError(format!(
            "certificate {}: no PEM CERTIFICATE block found",
            cert.display()
        )));
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| CertError(format!("private key {}: {}", key.display(), pem_error(e))))?;
    let provider = provider::default_provider();
    CertifiedKey::from_der(certs, private, &provider).map_err(|e| {
        CertError(format!(
            "certificate {} and key {} cannot be used together: {e}",
            cert.display(),
            key.display()
        ))
    })
}

fn pem_error(e: rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::Io(io) => format!("cannot read: {io}"),
        Error::NoItemsFound => "no PEM block of the expected kind found".into(),
        other => format!("not valid PEM: {other:?}"),
    }
}

/// The files of a site's self-signed certificate: generated on first use,
/// reused afterwards. The name includes a hash of the hosts so that changing
/// the hosts makes a new certificate.
fn self_signed_files(site: &SiteConfig, data_dir: &Path) -> Result<(PathBuf, PathBuf), CertError> {
    let dir = data_dir.join("tls");
    let mut hosts = site.hosts.clone();
    hosts.sort();
    let stem = format!(
        "self-signed-{}-{:016x}",
        site.name,
        fnv1a(hosts.join(",").as_bytes())
    );
    let cert = dir.join(format!("{stem}.crt"));
    let key = dir.join(format!("{stem}.key"));
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| CertError(format!("cannot create {}: {e}", dir.display())))?;
    let made = rcgen::generate_simple_self_signed(site.hosts.clone()).map_err(|e| {
        CertError(format!(
            "site {:?}: cannot make a self-signed certificate: {e}",
            site.name
        ))
    })?;
    write_private(&key, made.signing_key.serialize_pem().as_bytes()).map_err(CertError)?;
    std::fs::write(&cert, made.cert.pem())
        .map_err(|e| CertError(format!("cannot write {}: {e}", cert.display())))?;
    Ok((cert, key))
}

/// Writes a private key: mode 0600 from the start, synced, then renamed
/// into place (no reader sees half a key).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("key.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

pub(crate) fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Checks that every certificate given as files loads, and every ACME
/// `ca` file (for `rampart config check`); self-signed and ACME
/// certificates are made at start and not checked.
pub fn check_certificate_files(sites: &[SiteConfig]) -> Result<(), CertError> {
    for site in sites {
        match &site.tls {
            TlsSource::Files { cert, key } => {
                load_pair(cert, key)
                    .map_err(|e| CertError(format!("site {:?}: {e}", site.name)))?;
            }
            TlsSource::Acme(acme) => {
                if let Some(ca) = &acme.ca {
                    crate::acme::read_roots(ca)
                        .map_err(|e| CertError(format!("site {:?}: {e}", site.name)))?;
                }
            }
            TlsSource::SelfSigned => {}
        }
    }
    Ok(())
}

/// The certificates of all sites, by host name.
#[derive(Debug, Default)]
pub struct CertMap {
    by_host: HashMap<String, Arc<SiteCertificate>>,
    /// Served when SNI is absent (clients connecting to an IP address) or
    /// names no site: the first site's certificate.
    fallback: Option<Arc<SiteCertificate>>,
    all: Vec<Arc<SiteCertificate>>,
}

impl CertMap {
    /// Loads the certificates of `sites`, in order.
    pub fn load(sites: &[SiteConfig], data_dir: &Path) -> Result<CertMap, CertError> {
        let mut map = CertMap::default();
        for site in sites {
            let cert = Arc::new(SiteCertificate::load(site, data_dir)?);
            for h in &site.hosts {
                map.by_host.insert(h.clone(), cert.clone());
            }
            if map.fallback.is_none() {
                map.fallback = Some(cert.clone());
            }
            map.all.push(cert);
        }
        Ok(map)
    }

    /// Every site's certificate.
    pub fn certificates(&self) -> &[Arc<SiteCertificate>] {
        &self.all
    }

    /// The certificate for `host`.
    pub fn for_host(&self, host: &str) -> Option<&Arc<SiteCertificate>> {
        self.by_host.get(host)
    }
}

/// Picks the certificate for a handshake by SNI; the map can be replaced
/// at any time (config reload).
#[derive(Debug)]
pub struct CertResolver {
    map: ArcSwap<CertMap>,
}

impl CertResolver {
    pub fn new(map: CertMap) -> Self {
        CertResolver {
            map: ArcSwap::from_pointee(map),
        }
    }

    /// Replaces every site's certificate at once.
    pub fn replace_map(&self, map: CertMap) {
        self.map.store(Arc::new(map));
    }

    /// The map in use.
    pub fn map(&self) -> Arc<CertMap> {
        self.map.load_full()
    }

    /// Reloads every changed certificate file.
    pub fn poll_files(&self) -> Vec<CertReload> {
        self.map
            .load()
            .all
            .iter()
            .filter_map(|c| c.poll_files())
            .collect()
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let map = self.map.load();
        let by_name = hello.server_name().and_then(|name| {
            // rustls hands over SNI already lower-cased and validated.
            map.by_host.get(name.trim_end_matches('.'))
        });
        by_name.or(map.fallback.as_ref()).map(|c| c.current())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SecurityHeaders, Upstream};
    use std::time::Duration;

    fn site(name: &str, hosts: &[&str], tls: TlsSource) -> SiteConfig {
        SiteConfig {
            name: name.into(),
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            upstream: Upstream {
                authority: "127.0.0.1:1".parse().unwrap(),
            },
            tls,
            headers: SecurityHeaders::default(),
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(1),
            max_request_body_bytes: 1,
            waf: None,
            default: false,
            platform: None,
            protect: Vec::new(),
            limits: Default::default(),
            cards: Default::default(),
        }
    }

    #[test]
    fn self_signed_is_generated_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let s = site(
            "shop",
            &["shop.example", "127.0.0.1"],
            TlsSource::SelfSigned,
        );
        let a = SiteCertificate::load(&s, dir.path()).unwrap();
        let b = SiteCertificate::load(&s, dir.path()).unwrap();
        assert_eq!(a.current().cert, b.current().cert);
        let files: Vec<_> = std::fs::read_dir(dir.path().join("tls")).unwrap().collect();
        assert_eq!(files.len(), 2);
        use std::os::unix::fs::PermissionsExt;
        let key = a.files.as_ref().unwrap().1.clone();
        assert_eq!(
            std::fs::metadata(key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let other = site("shop", &["other.example"], TlsSource::SelfSigned);
        let c = SiteCertificate::load(&other, dir.path()).unwrap();
        assert_ne!(a.current().cert, c.current().cert);
    }

    #[test]
    fn file_reload_keeps_old_certificate_when_new_file_is_bad() {
        let dir = tempfile::tempdir().unwrap();
        // Make two self-signed pairs, then serve them as plain files.
        let one = SiteCertificate::load(
            &site("a", &["a.example"], TlsSource::SelfSigned),
            dir.path(),
        )
        .unwrap();
        let two = SiteCertificate::load(
            &site("b", &["b.example"], TlsSource::SelfSigned),
            dir.path(),
        )
        .unwrap();
        let (c1, k1) = one.files.clone().unwrap();
        let (c2, k2) = two.files.clone().unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::copy(&c1, &cert).unwrap();
        std::fs::copy(&k1, &key).unwrap();
        let s = site(
            "shop",
            &["a.example"],
            TlsSource::Files {
                cert: cert.clone(),
                key: key.clone(),
            },
        );
        let served = SiteCertificate::load(&s, dir.path()).unwrap();
        assert!(served.poll_files().is_none());
        let first = served.current();

        std::fs::write(&cert, "garbage, not PEM, and longer than before").unwrap();
        match served.poll_files() {
            Some(CertReload::Failed { error, .. }) => {
                assert!(error.0.contains("cert.pem"), "{error}")
            }
            other => panic!("expected a failed reload, got {other:?}"),
        }
        assert_eq!(served.current().cert, first.cert);
        assert!(
            served.poll_files().is_none(),
            "a failure is reported once per change"
        );

        std::fs::copy(&c2, &cert).unwrap();
        std::fs::copy(&k2, &key).unwrap();
        match served.poll_files() {
            Some(CertReload::Reloaded { .. }) => {}
            other => panic!("expected a reload, got {other:?}"),
        }
        assert_eq!(served.current().cert, two.current().cert);
    }

    #[test]
    fn mismatched_key_and_missing_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let one = SiteCertificate::load(
            &site("a", &["a.example"], TlsSource::SelfSigned),
            dir.path(),
        )
        .unwrap();
        let two = SiteCertificate::load(
            &site("b", &["b.example"], TlsSource::SelfSigned),
            dir.path(),
        )
        .unwrap();
        let e = load_pair(
            &one.files.as_ref().unwrap().0,
            &two.files.as_ref().unwrap().1,
        )
        .unwrap_err();
        assert!(e.0.contains("cannot be used together"), "{e}");
        let e = load_pair(
            Path::new("/nonexistent/c.pem"),
            Path::new("/nonexistent/k.pem"),
        )
        .unwrap_err();
        assert!(
            e.0.starts_with("certificate /nonexistent/c.pem: cannot read"),
            "{e}"
        );
    }
}
