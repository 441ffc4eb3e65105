//! TLS posture of an https host: the certificate (validity, days to
//! expiry, hostname, chain to a trusted root, key size, signature
//! algorithm) from a real rustls handshake whose verifier records the
//! verdict instead of aborting, and the protocol versions and cipher
//! suites the server accepts, from raw ClientHellos (rustls, rightly,
//! cannot speak TLS 1.0/1.1 or weak suites, so the probe sends the hello
//! itself and reads only the ServerHello's version and suite; no
//! handshake is completed).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::finding::{Finding, Severity};

/// What the TLS inspection found.
#[derive(Debug, Clone)]
pub struct TlsReport {
    /// The chain verified against the trust anchors for this host name.
    pub cert_valid: bool,
    pub findings: Vec<Finding>,
}

/// Records the verifier's verdict and lets the handshake finish.
#[derive(Debug)]
struct Recorder {
    inner: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    verdict: Mutex<Option<Result<(), rustls::Error>>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = match &self.inner {
            Some(v) => v
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
                .map(|_| ()),
            None => Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            )),
        };
        if let Ok(mut slot) = self.verdict.lock() {
            *slot = Some(verdict);
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Inspects `host:port`.
pub async fn inspect(
    host: &str,
    port: u16,
    extra_roots: &[CertificateDer<'static>],
    timeout: Duration,
) -> TlsReport {
    // URLs bracket IPv6 literals; sockets and SNI do not.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let location = format!("{host}:{port}");
    let mut findings = Vec::new();
    let cert_valid = match certificate(host, port, extra_roots, timeout, &mut findings).await {
        Ok(valid) => valid,
        Err(reason) => {
            findings.push(
                Finding::new(
                    "tls.handshake-failed",
                    Severity::High,
                    "A modern TLS client (TLS 1.2/1.3, strong suites) cannot connect",
                    &location,
                )
                .evidence(reason)
                .remediation(
                    "Enable TLS 1.2 and 1.3 with ECDHE and AES-GCM or ChaCha20 suites \
                     (Rampart's gateway terminates TLS this way).",
                ),
            );
            false
        }
    };
    findings.extend(protocols(host, port, timeout).await);
    TlsReport {
        cert_valid,
        findings,
    }
}

/// A client configuration on ring that accepts any certificate: the HTTP
/// checks must run on shops with broken certificates too, which
/// [`inspect`] reports on its own.
pub fn permissive_client_config() -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(Recorder {
        inner: None,
        provider: provider.clone(),
        verdict: Mutex::new(None),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS client: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A client configuration on ring that checks certificates against the
/// system's roots and `extra`, as a mail server fetching an MTA-STS
/// policy must (RFC 8461 3.3).
pub fn verifying_client_config(
    extra: &[CertificateDer<'static>],
) -> Result<rustls::ClientConfig, String> {
    let store = roots(extra);
    if store.is_empty() {
        return Err("no trusted root certificates (install ca-certificates)".into());
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS client: {e}"))?
    .with_root_certificates(store)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn roots(extra: &[CertificateDer<'static>]) -> RootCertStore {
    let mut store = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    store.add_parsable_certificates(native.certs);
    store.add_parsable_certificates(extra.iter().cloned());
    store
}

async fn certificate(
    host: &str,
    port: u16,
    extra_roots: &[CertificateDer<'static>],
    timeout: Duration,
    findings: &mut Vec<Finding>,
) -> Result<bool, String> {
    let location = format!("{host}:{port}");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let store = roots(extra_roots);
    let inner = if store.is_empty() {
        None
    } else {
        WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
            .build()
            .ok()
    };
    let recorder = Arc::new(Recorder {
        inner,
        provider: provider.clone(),
        verdict: Mutex::new(None),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string()).map_err(|e| format!("{host}: {e}"))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let stream = tokio::time::timeout(timeout, async {
        let tcp = TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("handshake failed: {e}"))
    })
    .await
    .map_err(|_| "timed out".to_string())??;
    let (_, conn) = stream.get_ref();
    let chain: Vec<CertificateDer<'static>> = conn
        .peer_certificates()
        .map(|c| c.iter().map(|d| d.clone().into_owned()).collect())
        .unwrap_or_default();
    let verdict = recorder
        .verdict
        .lock()
        .ok()
        .and_then(|mut v| v.take())
        .unwrap_or(Err(rustls::Error::NoCertificatesPresented));

    let Some(leaf) = chain.first() else {
        findings.push(Finding::new(
            "tls.no-certificate",
            Severity::High,
            "The server presented no certificate",
            &location,
        ));
        return Ok(false);
    };
    let facts = leaf_facts(leaf);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if let Some(f) = &facts {
        let days = (f.not_after - now).div_euclid(86_400);
        if f.not_after < now {
            findings.push(
                Finding::new(
                    "tls.certificate-expired",
                    Severity::Critical,
                    "The certificate has expired",
                    &location,
                )
                .evidence(format!("{}; expired {} days ago", f.subject, -days))
                .remediation("Renew the certificate now, and automate renewal (ACME)."),
            );
        } else if f.not_before > now {
            findings.push(
                Finding::new(
                    "tls.certificate-not-yet-valid",
                    Severity::High,
                    "The certificate is not valid yet",
                    &location,
                )
                .evidence(f.subject.clone())
                .remediation("Check the server clock and the certificate's notBefore date."),
            );
        } else if days < 30 {
            findings.push(
                Finding::new(
                    "tls.certificate-expiring",
                    if days < 7 {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    format!("The certificate expires in {days} days"),
                    &location,
                )
                .evidence(f.subject.clone())
                .remediation("Renew the certificate, and automate renewal (ACME)."),
            );
        } else {
            findings.push(
                Finding::new(
                    "tls.certificate",
                    Severity::Info,
                    format!("Certificate valid for {days} more days"),
                    &location,
                )
                .evidence(format!(
                    "{}; issuer {}; {} key of {} bits; signed with {}; chain of {}",
                    f.subject,
                    f.issuer,
                    f.key_kind,
                    f.key_bits,
                    f.signature,
                    chain.len()
                )),
            );
        }
        let weak_key = match f.key_kind {
            "RSA" => f.key_bits < 2048,
            "EC" => f.key_bits < 256,
            _ => false,
        };
        if weak_key {
            findings.push(
                Finding::new(
                    "tls.weak-key",
                    Severity::High,
                    format!("Weak {} key ({} bits)", f.key_kind, f.key_bits),
                    &location,
                )
                .evidence(f.subject.clone())
                .remediation("Use RSA keys of at least 2048 bits or ECDSA P-256."),
            );
        }
        if f.weak_signature {
            findings.push(
                Finding::new(
                    "tls.weak-signature",
                    Severity::High,
                    "The certificate is signed with a broken hash (MD5 or SHA-1)",
                    &location,
                )
                .evidence(f.signature.clone())
                .remediation("Reissue the certificate with SHA-256 or better."),
            );
        }
    }
    let valid = match verdict {
        Ok(()) => true,
        Err(rustls::Error::InvalidCertificate(e)) => {
            let self_signed = facts.as_ref().is_some_and(|f| f.self_signed);
            let (id, severity, title, fix) = match &e {
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    // Reported above with the dates.
                    return Ok(false);
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => (
                    "tls.hostname-mismatch",
                    Severity::High,
                    "The certificate is not valid for this host name",
                    "Issue a certificate whose subjectAltName covers every host name the shop answers on.",
                ),
                // A self-signed leaf fails however the verifier words it (unknown
                // issuer, or a same-named root whose key does not fit).
                _ if self_signed => (
                    "tls.self-signed",
                    Severity::High,
                    "The certificate is self-signed",
                    "Use a certificate from a public CA (Rampart can obtain one with ACME).",
                ),
                CertificateError::UnknownIssuer => (
                    "tls.chain-incomplete",
                    Severity::High,
                    "The certificate chain does not lead to a trusted root (missing intermediate or unknown CA)",
                    "Serve the full chain (leaf and intermediates) from a public CA.",
                ),
                _ => (
                    "tls.certificate-invalid",
                    Severity::High,
                    "The certificate does not verify",
                    "Replace the certificate with a valid one from a public CA.",
                ),
            };
            findings.push(
                Finding::new(id, severity, title, &location)
                    .evidence(format!(
                        "{}: {e:?}",
                        facts.as_ref().map(|f| f.subject.as_str()).unwrap_or("")
                    ))
                    .remediation(fix),
            );
            false
        }
        Err(other) => {
            findings.push(
                Finding::new(
                    "tls.certificate-invalid",
                    Severity::High,
                    "The certificate does not verify",
                    &location,
                )
                .evidence(other.to_string()),
            );
            false
        }
    };
    Ok(valid)
}

struct LeafFacts {
    subject: String,
    issuer: String,
    not_before: i64,
    not_after: i64,
    self_signed: bool,
    key_kind: &'static str,
    key_bits: usize,
    signature: String,
    weak_signature: bool,
}

fn leaf_facts(der: &CertificateDer<'_>) -> Option<LeafFacts> {
    use x509_parser::prelude::*;
    let (_, cert) = parse_x509_certificate(der.as_ref()).ok()?;
    let (key_kind, key_bits) = match cert.public_key().parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(k)) => ("RSA", k.key_size()),
        Ok(x509_parser::public_key::PublicKey::EC(k)) => ("EC", k.key_size()),
        Ok(other) => ("other", other.key_size()),
        Err(_) => ("unknown", 0),
    };
    let oid = cert.signature_algorithm.algorithm.to_id_string();
    let signature = match oid.as_str() {
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption".to_string(),
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption".to_string(),
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1".to_string(),
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption".to_string(),
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption".to_string(),
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption".to_string(),
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256".to_string(),
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384".to_string(),
        "1.3.101.112" => "Ed25519".to_string(),
        _ => oid.clone(),
    };
    let weak_signature = matches!(
        oid.as_str(),
        "1.2.840.113549.1.1.4" | "1.2.840.113549.1.1.5" | "1.2.840.10045.4.1"
    );
    Some(LeafFacts {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
        key_kind,
        key_bits,
        signature,
        weak_signature,
    })
}

/// A protocol version a ClientHello can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Ssl3,
    Tls10,
    Tls11,
    Tls12,
}

impl Version {
    fn wire(self) -> u16 {
        match self {
            Version::Ssl3 => 0x0300,
            Version::Tls10 => 0x0301,
            Version::Tls11 => 0x0302,
            Version::Tls12 => 0x0303,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Version::Ssl3 => "SSLv3",
            Version::Tls10 => "TLS 1.0",
            Version::Tls11 => "TLS 1.1",
            Version::Tls12 => "TLS 1.2",
        }
    }
}

/// Suites a TLS 1.0–1.2 server commonly accepts (ECDHE and RSA key
/// exchange, AES-GCM and AES-CBC, 3DES).
const COMMON_SUITES: &[u16] = &[
    0xc02b, 0xc02f, 0xc02c, 0xc030, 0xc009, 0xc013, 0xc00a, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
    0x0033, 0x0039, 0x000a,
];

/// Weak suites and their names: RC4, DES, 3DES, export, NULL and
/// anonymous key exchange.
const WEAK_SUITES: &[(u16, &str)] = &[
    (0x0001, "TLS_RSA_WITH_NULL_MD5"),
    (0x0002, "TLS_RSA_WITH_NULL_SHA"),
    (0x003b, "TLS_RSA_WITH_NULL_SHA256"),
    (0xc010, "TLS_ECDHE_RSA_WITH_NULL_SHA"),
    (0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"),
    (0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5"),
    (0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"),
    (0x0004, "TLS_RSA_WITH_RC4_128_MD5"),
    (0x0005, "TLS_RSA_WITH_RC4_128_SHA"),
    (0xc011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"),
    (0xc007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"),
    (0x0009, "TLS_RSA_WITH_DES_CBC_SHA"),
    (0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA"),
    (0x000a, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0xc012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"),
    (0xc008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"),
    (0x0018, "TLS_DH_anon_WITH_RC4_128_MD5"),
    (0x001b, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA"),
    (0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA"),
    (0x003a, "TLS_DH_anon_WITH_AES_256_CBC_SHA"),
    (0xc018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA"),
    (0xc019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA"),
];

/// Builds a ClientHello record.
pub fn client_hello(host: &str, version: Version, suites: &[u16]) -> Vec<u8> {
    let mut random = [0u8; 32];
    let _ = getrandom::fill(&mut random);
    let mut body = Vec::new();
    body.extend_from_slice(&version.wire().to_be_bytes());
    body.extend_from_slice(&random);
    body.push(0); // no session id
    let mut list: Vec<u16> = suites.to_vec();
    list.push(0x00ff); // TLS_EMPTY_RENEGOTIATION_INFO_SCSV
    body.extend_from_slice(&((list.len() * 2) as u16).to_be_bytes());
    for s in &list {
        body.extend_from_slice(&s.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]); // compression: null only
    if version != Version::Ssl3 {
        let mut ext = Vec::new();
        let mut push = |kind: u16, data: &[u8]| {
            ext.extend_from_slice(&kind.to_be_bytes());
            ext.extend_from_slice(&(data.len() as u16).to_be_bytes());
            ext.extend_from_slice(data);
        };
        if host.parse::<std::net::IpAddr>().is_err() && !host.is_empty() {
            let name = host.as_bytes();
            let mut sni = Vec::new();
            sni.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
            sni.push(0);
            sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
            sni.extend_from_slice(name);
            push(0x0000, &sni);
        }
        // supported_groups: x25519, secp256r1, secp384r1
        push(0x000a, &[0, 6, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18]);
        // ec_point_formats: uncompressed
        push(0x000b, &[1, 0]);
        if version == Version::Tls12 {
            let schemes: [u16; 9] = [
                0x0401, 0x0501, 0x0601, 0x0403, 0x0503, 0x0804, 0x0805, 0x0201, 0x0203,
            ];
            let mut sa = Vec::new();
            sa.extend_from_slice(&((schemes.len() * 2) as u16).to_be_bytes());
            for s in schemes {
                sa.extend_from_slice(&s.to_be_bytes());
            }
            push(0x000d, &sa);
        }
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
    }
    let mut hs = vec![1u8];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let record_version: u16 = if version == Version::Ssl3 {
        0x0300
    } else {
        0x0301
    };
    let mut record = vec![0x16];
    record.extend_from_slice(&record_version.to_be_bytes());
    record.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    record.extend_from_slice(&hs);
    record
}

/// Reads a ServerHello's (version, suite) out of the first record, or
/// `None` for an alert, a close or anything else.
pub fn parse_server_hello(bytes: &[u8]) -> Option<(u16, u16)> {
    if bytes.len() < 5 || bytes[0] != 0x16 {
        return None;
    }
    let hs = bytes.get(5..)?;
    if *hs.first()? != 2 {
        return None;
    }
    let body = hs.get(4..)?;
    let version = u16::from_be_bytes([*body.first()?, *body.get(1)?]);
    let sid_len = *body.get(34)? as usize;
    let at = 35 + sid_len;
    let suite = u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]);
    Some((version, suite))
}

/// Sends one hello and returns what the server chose, if it accepted.
pub async fn offer(
    host: &str,
    port: u16,
    version: Version,
    suites: &[u16],
    timeout: Duration,
) -> Option<(u16, u16)> {
    let hello = client_hello(host, version, suites);
    tokio::time::timeout(timeout, async {
        let mut tcp = TcpStream::connect((host, port)).await.ok()?;
        tcp.write_all(&hello).await.ok()?;
        // Enough of the first record to hold a ServerHello's head.
        let mut buf = vec![0u8; 5];
        tcp.read_exact(&mut buf).await.ok()?;
        let len = u16::from_be_bytes([buf[3], buf[4]]) as usize;
        let mut rest = vec![0u8; len.min(16 * 1024 + 256)];
        tcp.read_exact(&mut rest).await.ok()?;
        buf.extend_from_slice(&rest);
        let (v, s) = parse_server_hello(&buf)?;
        (v == version.wire()).then_some((v, s))
    })
    .await
    .ok()
    .flatten()
}

/// Which legacy versions and weak suites the server accepts.
async fn protocols(host: &str, port: u16, timeout: Duration) -> Vec<Finding> {
    let location = format!("{host}:{port}");
    let mut out = Vec::new();
    for (v, sev) in [
        (Version::Ssl3, Severity::Critical),
        (Version::Tls10, Severity::Medium),
        (Version::Tls11, Severity::Medium),
    ] {
        if offer(host, port, v, COMMON_SUITES, timeout).await.is_some() {
            out.push(
                Finding::new(
                    format!("tls.protocol-{}", v.name().to_ascii_lowercase().replace([' ', '.'], "")),
                    sev,
                    format!("The server accepts {}", v.name()),
                    &location,
                )
                .evidence(format!("a {} ClientHello was answered with a ServerHello", v.name()))
                .remediation(
                    "Disable SSLv3, TLS 1.0 and TLS 1.1 (PCI DSS forbids them); offer TLS 1.2 and 1.3 only.",
                ),
            );
        }
    }
    for v in [Version::Tls12, Version::Tls10] {
        let suites: Vec<u16> = WEAK_SUITES.iter().map(|(s, _)| *s).collect();
        if let Some((_, chosen)) = offer(host, port, v, &suites, timeout).await {
            let name = WEAK_SUITES
                .iter()
                .find(|(s, _)| *s == chosen)
                .map(|(_, n)| n.to_string())
                .unwrap_or_else(|| format!("0x{chosen:04x}"));
            out.push(
                Finding::new(
                    "tls.weak-cipher",
                    Severity::High,
                    "The server accepts a weak cipher suite",
                    &location,
                )
                .evidence(format!("{} with {name}", v.name()))
                .remediation(
                    "Remove RC4, DES, 3DES, export, NULL and anonymous suites; keep ECDHE with AES-GCM or ChaCha20.",
                ),
            );
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_hello_is_read() {
        // record header, handshake type 2, length, version 0x0301, random,
        // session id of 2 bytes, suite 0xc013.
        let mut b = vec![0x16, 0x03, 0x01, 0x00, 0x00, 2, 0, 0, 0, 0x03, 0x01];
        b.extend_from_slice(&[7u8; 32]);
        b.extend_from_slice(&[2, 0xaa, 0xbb, 0xc0, 0x13, 0]);
        assert_eq!(parse_server_hello(&b), Some((0x0301, 0xc013)));
        assert_eq!(parse_server_hello(&[0x15, 3, 1, 0, 2, 2, 40]), None);
        assert_eq!(parse_server_hello(&[0x16, 3]), None);
    }

    #[test]
    fn client_hello_lengths_add_up() {
        let h = client_hello("shop.example", Version::Tls10, COMMON_SUITES);
        assert_eq!(h[0], 0x16);
        let record_len = u16::from_be_bytes([h[3], h[4]]) as usize;
        assert_eq!(record_len, h.len() - 5);
        let hs_len = u32::from_be_bytes([0, h[6], h[7], h[8]]) as usize;
        assert_eq!(hs_len, h.len() - 9);
        assert_eq!(&h[9..11], &[3, 1]);
    }
}
