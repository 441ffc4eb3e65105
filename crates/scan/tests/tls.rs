//! Certificates and protocol versions against real TLS servers on
//! loopback: rustls servers with certificates made by rcgen for the test
//! (valid via a private CA, expired, self-signed, wrong name, missing
//! intermediate), and Debian's `openssl s_server` offering TLS 1.0 and
//! an anonymous (weak) suite.

mod fixture;

use std::collections::HashMap;
use std::time::Duration;

use fixture::certs;
use scan::Severity;

const T: Duration = Duration::from_secs(5);

fn ids(r: &scan::tls::TlsReport) -> Vec<&str> {
    r.findings.iter().map(|f| f.id.as_str()).collect()
}

async fn inspect_leaf(
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
    roots: &[rustls::pki_types::CertificateDer<'static>],
) -> scan::tls::TlsReport {
    let server = fixture::serve_tls(HashMap::new(), chain, key).await;
    scan::tls::inspect("localhost", server.addr.port(), roots, T).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_are_judged() {
    let ca = certs::ca("Test Root");
    let roots = vec![ca.der.clone()];

    // Valid through the private CA: no problem, an info line with the facts.
    let good = certs::leaf(&["localhost"], (-1, 90), Some(&ca));
    let r = inspect_leaf(vec![good.der.clone()], good.key(), &roots).await;
    assert!(r.cert_valid, "{:?}", r.findings);
    let info = r
        .findings
        .iter()
        .find(|f| f.id == "tls.certificate")
        .unwrap();
    assert_eq!(info.severity, Severity::Info);
    assert!(
        info.title.contains("89 more days") || info.title.contains("90 more days"),
        "{}",
        info.title
    );
    assert!(
        info.evidence.contains("ecdsa-with-SHA256") && info.evidence.contains("EC key of 256 bits"),
        "{}",
        info.evidence
    );
    assert!(
        !ids(&r)
            .iter()
            .any(|i| i.starts_with("tls.protocol") || *i == "tls.weak-cipher"),
        "{:?}",
        ids(&r)
    );

    // Expired.
    let old = certs::leaf(&["localhost"], (-400, -35), Some(&ca));
    let r = inspect_leaf(vec![old.der.clone()], old.key(), &roots).await;
    assert!(!r.cert_valid);
    let f = r
        .findings
        .iter()
        .find(|f| f.id == "tls.certificate-expired")
        .unwrap();
    assert_eq!(f.severity, Severity::Critical);
    assert!(
        f.evidence.contains("expired 35 days ago") || f.evidence.contains("expired 36 days ago"),
        "{}",
        f.evidence
    );

    // Expiring in 5 days: valid, but high.
    let soon = certs::leaf(&["localhost"], (-80, 5), Some(&ca));
    let r = inspect_leaf(vec![soon.der.clone()], soon.key(), &roots).await;
    assert!(r.cert_valid);
    let f = r
        .findings
        .iter()
        .find(|f| f.id == "tls.certificate-expiring")
        .unwrap();
    assert_eq!(f.severity, Severity::High);

    // Self-signed.
    let selfie = certs::leaf(&["localhost"], (-1, 90), None);
    let r = inspect_leaf(vec![selfie.der.clone()], selfie.key(), &roots).await;
    assert!(!r.cert_valid);
    assert!(ids(&r).contains(&"tls.self-signed"), "{:?}", r.findings);

    // Wrong host name.
    let other = certs::leaf(&["shop.example"], (-1, 90), Some(&ca));
    let r = inspect_leaf(vec![other.der.clone()], other.key(), &roots).await;
    assert!(!r.cert_valid);
    assert!(ids(&r).contains(&"tls.hostname-mismatch"), "{:?}", ids(&r));

    // Leaf from an intermediate the server does not send: chain incomplete;
    // the same leaf with the intermediate sent verifies.
    let mid = certs::intermediate(&ca);
    let leaf = certs::leaf(&["localhost"], (-1, 90), Some(&mid));
    let r = inspect_leaf(vec![leaf.der.clone()], leaf.key(), &roots).await;
    assert!(ids(&r).contains(&"tls.chain-incomplete"), "{:?}", ids(&r));
    let r = inspect_leaf(vec![leaf.der.clone(), mid.der.clone()], leaf.key(), &roots).await;
    assert!(r.cert_valid, "{:?}", ids(&r));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_protocols_and_weak_suites_are_flagged() {
    // TLS 1.0 only, at security level 0.
    let Some(old) = fixture::openssl_server(&["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"]) else {
        return;
    };
    let r = scan::tls::inspect("localhost", old.port, &[], T).await;
    let found = ids(&r);
    assert!(found.contains(&"tls.protocol-tls10"), "{found:?}");
    assert!(!found.contains(&"tls.protocol-tls11"), "{found:?}");
    // rustls (TLS 1.2+) cannot connect at all: said so, not a panic.
    assert!(found.contains(&"tls.handshake-failed"), "{found:?}");
    assert!(!r.cert_valid);
    // A full scan of that server still ends in a report, not an error.
    let target = scan::parse_target(&format!("https://localhost:{}/", old.port)).unwrap();
    let mut o = scan::ScanOptions::default();
    o.limits.timeout = T;
    let report = scan::scan(&target, &o).await.unwrap();
    let found: Vec<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
    assert!(
        found.contains(&"scan.https-unusable") && found.contains(&"tls.protocol-tls10"),
        "{found:?}"
    );

    // TLS 1.2 with anonymous suites only.
    let Some(anon) = fixture::openssl_server(&["-no_tls1_3", "-cipher", "aNULL:@SECLEVEL=0"])
    else {
        return;
    };
    let r = scan::tls::inspect("localhost", anon.port, &[], T).await;
    let weak = r
        .findings
        .iter()
        .find(|f| f.id == "tls.weak-cipher")
        .unwrap();
    assert!(weak.evidence.contains("anon"), "{}", weak.evidence);
    assert!(
        !ids(&r).iter().any(|i| i.starts_with("tls.protocol")),
        "{:?}",
        ids(&r)
    );

    // A modern server offers neither.
    let Some(modern) = fixture::openssl_server(&[]) else {
        return;
    };
    let r = scan::tls::inspect("localhost", modern.port, &[], T).await;
    assert!(
        !ids(&r)
            .iter()
            .any(|i| i.starts_with("tls.protocol") || *i == "tls.weak-cipher"),
        "{:?}",
        ids(&r)
    );
    assert!(ids(&r).contains(&"tls.self-signed"), "{:?}", ids(&r));
}
