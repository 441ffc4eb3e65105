//! A full scan of an https shop on loopback (rustls, certificate from a
//! private CA made by rcgen) with its plain-HTTP side on another port:
//! mixed content, a form posting over HTTP, a short HSTS, the redirect.

mod fixture;

use std::collections::HashMap;
use std::time::Duration;

use fixture::{certs, serve, serve_tls, Answer};

fn page() -> Answer {
    Answer::html(
        r#"<!doctype html><html><head><title>Secure Beans</title>
        <script src="http://cdn.example/widget.js"></script>
        <link rel="stylesheet" href="/style.css"></head><body>
        <img src="http://img.example/bean.png">
        <form action="http://search.example/find" method="get"><input name="q"></form>
        <a href="/account">Account</a></body></html>"#,
    )
    .header("strict-transport-security", "max-age=300")
    .header("x-content-type-options", "nosniff")
    .header("x-frame-options", "DENY")
    .header("set-cookie", "sessionid=1; Secure; HttpOnly; SameSite=Lax")
}

async fn shop(
    redirect: bool,
) -> (
    fixture::Fixture,
    fixture::Fixture,
    Vec<rustls::pki_types::CertificateDer<'static>>,
) {
    let ca = certs::ca("Test Root");
    let leaf = certs::leaf(&["localhost"], (-1, 200), Some(&ca));
    let mut routes = HashMap::new();
    routes.insert("/".to_string(), page());
    routes.insert(
        "/account".to_string(),
        Answer::html("<html><form method=post><input type=password name=pw></form></html>"),
    );
    let tls = serve_tls(routes, vec![leaf.der.clone()], leaf.key()).await;
    // Plain HTTP answers every path: a redirect to https, or the page itself.
    let fallback = if redirect {
        Answer::html("").status(301).header(
            "location",
            &format!("https://localhost:{}/", tls.addr.port()),
        )
    } else {
        Answer::html("<html>plain</html>")
    };
    let http = serve(HashMap::new(), Some(fallback), Duration::ZERO).await;
    (tls, http, vec![ca.der.clone()])
}

fn options(
    http_port: u16,
    roots: Vec<rustls::pki_types::CertificateDer<'static>>,
) -> scan::ScanOptions {
    let mut o = scan::ScanOptions::default();
    o.limits.rate = 500.0;
    o.limits.timeout = Duration::from_secs(5);
    o.http_port = Some(http_port);
    o.extra_roots = roots;
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_shop_findings() {
    let (tls, http, roots) = shop(true).await;
    let target = scan::parse_target(&format!("https://localhost:{}/", tls.addr.port())).unwrap();
    let report = scan::scan(&target, &options(http.addr.port(), roots))
        .await
        .unwrap();
    let ids: Vec<&str> = report.findings.iter().map(|f| f.id.as_str()).collect();
    for id in [
        "https.mixed-content-active",
        "https.mixed-content-passive",
        "https.form-posts-over-http",
        "https.hsts-not-preload-ready",
        "headers.hsts-implemented-max-age-less-than-six-months",
        "headers.csp-not-implemented",
        "tls.certificate",
    ] {
        assert!(ids.contains(&id), "missing {id} in {ids:?}");
    }
    for absent in [
        "https.no-redirect-to-https",
        "https.password-on-http",
        "tls.self-signed",
        "tls.chain-incomplete",
        "headers.cookies-session-without-secure-flag",
    ] {
        assert!(!ids.contains(&absent), "unexpected {absent} in {ids:?}");
    }
    let mixed = report
        .findings
        .iter()
        .find(|f| f.id == "https.mixed-content-active")
        .unwrap();
    assert_eq!(mixed.evidence, "http://cdn.example/widget.js");
    let grade = report.headers.as_ref().unwrap();
    let result = |test: &str| {
        grade
            .tests
            .iter()
            .find(|t| t.test == test)
            .map(|t| t.result.clone())
            .unwrap()
    };
    assert_eq!(result("redirection"), "redirection-to-https");
    assert_eq!(
        result("cookies"),
        "cookies-secure-with-httponly-sessions-and-samesite"
    );
    // SRI: an http:// external script without integrity.
    assert_eq!(
        result("subresource-integrity"),
        "sri-not-implemented-and-external-scripts-not-loaded-securely"
    );
    // CSP -25, HSTS short -10, SRI -50 → 15, F.
    assert_eq!((grade.score, grade.grade.as_str()), (15, "F"));
    assert!(report.pages.iter().any(|p| p.ends_with("/account")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_without_redirect_is_flagged() {
    let (tls, http, roots) = shop(false).await;
    let target = scan::parse_target(&format!("https://localhost:{}/", tls.addr.port())).unwrap();
    let report = scan::scan(&target, &options(http.addr.port(), roots))
        .await
        .unwrap();
    let f = report
        .findings
        .iter()
        .find(|f| f.id == "https.no-redirect-to-https")
        .expect("no redirect finding");
    assert_eq!(f.severity, scan::Severity::Medium);
    // Every crawled page is checked, not only the start page.
    let pages: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.id == "https.no-redirect-to-https")
        .map(|f| f.location.as_str())
        .collect();
    assert!(pages.iter().any(|p| p.ends_with("/account")), "{pages:?}");
    assert!(http.seen.paths().contains(&"/account".to_string()));
    let grade = report.headers.as_ref().unwrap();
    assert!(grade
        .tests
        .iter()
        .any(|t| t.result == "redirection-missing" && t.modifier == -20));
}
