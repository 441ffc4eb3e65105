//! `scan`: audits a store from the outside, the way an attacker and an
//! auditor would, and reports [`Finding`]s with evidence and a remediation.
//!
//! [`scan`] fetches the start page (following redirects), grades its
//! security headers the way the MDN HTTP Observatory does
//! ([`observatory`]), checks the certificate and protocol versions of an
//! https target ([`tls`]), probes for exposed files ([`exposure`]), crawls
//! up to N same-origin pages (robots.txt respected) for mixed content,
//! forms over HTTP, stack traces and payment-page scripts ([`https`]).
//! Gentle by default (see [`http::Limits`]).
//!
//! This crate does not proxy, store or print: the `rampart` binary renders
//! a [`Report`] with [`format`] and stores it with [`history`].

pub mod advisories;
pub mod deps;
pub mod dns;
pub mod exposure;
pub mod finding;
pub mod fingerprint;
pub mod format;
pub mod history;
pub mod html;
pub mod http;
pub mod https;
pub mod observatory;
pub mod tls;

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use url::Url;

pub use finding::{Finding, PageScript, Report, Severity};

/// The `Origin` the CORS probe claims to come from.
pub const CORS_PROBE_ORIGIN: &str = "https://rampart-cors-probe.invalid";

/// What to scan and how gently.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Pages to fetch while crawling (the start page counts).
    pub crawl: usize,
    pub limits: http::Limits,
    /// Port of plain HTTP for the redirect check [default: 80, or the
    /// target's port when the target is http://].
    pub http_port: Option<u16>,
    /// Extra trust anchors for the certificate check (a private CA).
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// Probe for exposed files.
    pub exposure: bool,
    /// Check certificate and protocol versions of https targets.
    pub tls: bool,
    /// Check SPF, DMARC and MTA-STS of the mail domain.
    pub dns: bool,
    /// The DNS server to ask [default: the system's resolver].
    pub resolver: Option<std::net::SocketAddr>,
    /// The mail domain [default: the target's host without `www.`].
    pub mail_domain: Option<String>,
    /// Advisories to match fingerprinted platforms and plugins against.
    pub advisories: Option<std::sync::Arc<advisories::AdvisoryStore>>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            crawl: 20,
            limits: http::Limits::default(),
            http_port: None,
            extra_roots: Vec::new(),
            exposure: true,
            tls: true,
            dns: true,
            resolver: None,
            mail_domain: None,
            advisories: None,
        }
    }
}

/// Why no scan could be made (a target that answers badly is a finding,
/// not an error).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("invalid target {0}")]
    InvalidTarget(String),
    #[error("target unreachable: {0}")]
    Unreachable(String),
    #[error("{0}")]
    Setup(String),
}

/// Parses a target: a URL, or a bare host (taken as https://host/).
pub fn parse_target(target: &str) -> Result<Url, ScanError> {
    let t = target.trim();
    let with_scheme = if t.contains("://") {
        t.to_string()
    } else {
        format!("https://{t}")
    };
    let url = Url::parse(&with_scheme)
        .map_err(|e| ScanError::InvalidTarget(format!("{target:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ScanError::InvalidTarget(format!(
            "{target:?}: only http:// and https:// URLs with a host can be scanned"
        )));
    }
    Ok(url)
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Audits `target`.
pub async fn scan(target: &Url, opts: &ScanOptions) -> Result<Report, ScanError> {
    let fetcher = http::Fetcher::new(&opts.limits).map_err(ScanError::Setup)?;
    let mut report = Report {
        target: target.to_string(),
        started: now_rfc3339(),
        scanner: http::user_agent(),
        headers: None,
        pages: Vec::new(),
        software: Vec::new(),
        payment_scripts: Vec::new(),
        findings: Vec::new(),
    };

    let start = match fetcher.get(target, true).await {
        Ok(start) => start,
        // TCP connects but no modern client gets a page (a TLS 1.0-only or
        // broken TLS server): the TLS inspection says why, as findings.
        Err(e) if target.scheme() == "https" && opts.tls && tcp_open(target, opts).await => {
            let host = target.host_str().unwrap_or_default().to_string();
            let port = target.port_or_known_default().unwrap_or(443);
            let t = tls::inspect(&host, port, &opts.extra_roots, opts.limits.timeout).await;
            report.findings.extend(t.findings);
            report.findings.push(
                Finding::new(
                    "scan.https-unusable",
                    Severity::High,
                    "No page could be fetched over HTTPS with a modern client; only TLS was checked",
                    target.as_str(),
                )
                .evidence(e.to_string())
                .remediation("Fix the TLS findings above; browsers cannot open the shop either."),
            );
            report.normalize();
            return Ok(report);
        }
        Err(e) => return Err(ScanError::Unreachable(e.to_string())),
    };
    let final_url = start.url.clone();
    let base = final_url.join("/").unwrap_or_else(|_| final_url.clone());

    // TLS: certificate and protocol versions of the host that answered.
    let mut cert_valid = true;
    if final_url.scheme() == "https" && opts.tls {
        let host = final_url.host_str().unwrap_or_default().to_string();
        let port = final_url.port_or_known_default().unwrap_or(443);
        let t = tls::inspect(&host, port, &opts.extra_roots, opts.limits.timeout).await;
        cert_valid = t.cert_valid;
        report.findings.extend(t.findings);
    }

    // HTTP → HTTPS redirect of the start page.
    let redirection = if final_url.scheme() == "https" {
        redirect_of(&fetcher, &final_url, opts).await
    } else if start.chain.iter().any(|u| u.scheme() == "https") {
        https::classify_redirect(&start.chain[0], &start.chain, start.status)
    } else {
        https::classify_redirect(target, &start.chain, start.status)
    };
    let redirection = if redirection == observatory::Redirection::ToHttps && !cert_valid {
        observatory::Redirection::InvalidCert
    } else {
        redirection
    };
    if let Some(f) = https::redirect_finding(&final_url, redirection) {
        report.findings.push(f);
    }

    // Security headers, graded.
    let cors = fetcher
        .get_with(&final_url, false, &[("origin", CORS_PROBE_ORIGIN)])
        .await
        .ok();
    let observed = observatory::Observed {
        url: &final_url,
        headers: &start.headers,
        set_cookies: &start.set_cookies,
        html: start.is_html().then_some(start.body.as_str()),
        cert_valid,
        redirection,
        cors_headers: cors.as_ref().map(|c| c.headers.as_slice()),
    };
    let grade = observatory::grade(&observed);
    for t in &grade.tests {
        if t.modifier < 0 && t.test != "redirection" {
            let severity = match t.modifier {
                m if m <= -30 => Severity::High,
                m if m <= -20 => Severity::Medium,
                _ => Severity::Low,
            };
            report.findings.push(
                Finding::new(
                    format!("headers.{}", t.result),
                    severity,
                    t.description.clone(),
                    final_url.as_str(),
                )
                .evidence(format!(
                    "{} test: {} ({:+} points)",
                    t.test, t.result, t.modifier
                ))
                .remediation(header_remediation(&t.test)),
            );
        }
    }
    report.findings.extend(https::hsts_findings(
        &final_url,
        start.header("strict-transport-security"),
    ));
    report.headers = Some(grade);

    // Exposure probes, against a soft-404 baseline.
    let baseline = exposure::Baseline::fetch(&fetcher, &base).await;
    if opts.exposure {
        report
            .findings
            .extend(exposure::probe(&fetcher, &base, &baseline).await);
    }
    if let Some(f) = exposure::verbose_error(&base, &baseline.body) {
        report.findings.push(f);
    }

    // Platform and plugins, matched against the advisories.
    let start_page = html::parse(&start.body);
    let mut software = fingerprint::from_page(&start, &start_page);
    fingerprint::refine(&fetcher, &base, &mut software).await;
    let mut installed = Vec::new();
    for s in &software {
        report.findings.push(
            Finding::new(
                format!("fingerprint.{}", s.product),
                if s.version.is_some() { Severity::Low } else { Severity::Info },
                match &s.version {
                    Some(v) => format!("{} {v} detected (version visible to anyone)", s.product),
                    None => format!("{} detected", s.product),
                },
                final_url.as_str(),
            )
            .evidence(s.evidence.clone())
            .remediation("Keep it updated; hide version strings (generator tags, ?ver= on assets) where the platform allows."),
        );
        installed.extend(s.installed(final_url.as_str()));
    }
    report.software = software
        .iter()
        .map(|s| match &s.version {
            Some(v) => format!("{} {v}", s.product),
            None => s.product.clone(),
        })
        .collect();
    if let Some(store) = &opts.advisories {
        match store.check(&installed).await {
            Ok(found) => report.findings.extend(found),
            Err(e) => return Err(ScanError::Setup(format!("advisory database: {e}"))),
        }
    }

    // Mail domain: SPF, DMARC, MTA-STS.
    if opts.dns {
        let domain = opts
            .mail_domain
            .clone()
            .or_else(|| final_url.host_str().and_then(dns::mail_domain));
        if let Some(domain) = domain {
            report.findings.extend(
                dns::check(
                    &domain,
                    opts.resolver,
                    opts.limits.timeout,
                    &opts.extra_roots,
                )
                .await,
            );
        }
    }

    // Crawl.
    crawl(&fetcher, start, opts, &mut report).await;
    report.normalize();
    Ok(report)
}

/// True when a TCP connection to the target's host and port succeeds.
async fn tcp_open(target: &Url, opts: &ScanOptions) -> bool {
    let host = target
        .host_str()
        .unwrap_or_default()
        .trim_matches(['[', ']'])
        .to_string();
    let port = target.port_or_known_default().unwrap_or(443);
    matches!(
        tokio::time::timeout(
            opts.limits.timeout,
            tokio::net::TcpStream::connect((host.as_str(), port))
        )
        .await,
        Ok(Ok(_))
    )
}

async fn redirect_of(
    fetcher: &http::Fetcher,
    https_url: &Url,
    opts: &ScanOptions,
) -> observatory::Redirection {
    let mut http_url = https_url.clone();
    if http_url.set_scheme("http").is_err() {
        return observatory::Redirection::Missing;
    }
    let port = opts.http_port.unwrap_or(80);
    if http_url.set_port(Some(port)).is_err() {
        return observatory::Redirection::Missing;
    }
    let http_url = Url::parse(http_url.as_str()).unwrap_or(http_url);
    match fetcher.get(&http_url, true).await {
        Ok(f) => https::classify_redirect(&http_url, &f.chain, f.status),
        Err(_) => observatory::Redirection::NotNeededNoHttp,
    }
}

fn header_remediation(test: &str) -> &'static str {
    match test {
        "content-security-policy" => "Send a Content-Security-Policy without 'unsafe-inline'/'unsafe-eval' in script-src, with object-src 'none' (Rampart's gateway can add one with nonces).",
        "cookies" => "Mark every cookie Secure, session cookies HttpOnly, and set SameSite=Lax or Strict.",
        "cross-origin-resource-sharing" => "Never reflect arbitrary Origins together with Access-Control-Allow-Credentials: true; allow-list the origins that need access.",
        "referrer-policy" => "Send Referrer-Policy: strict-origin-when-cross-origin (or stricter).",
        "strict-transport-security" => "Send Strict-Transport-Security: max-age=63072000; includeSubDomains on every HTTPS response, with a valid certificate.",
        "subresource-integrity" => "Load third-party scripts over https with an integrity= hash, or host them yourself.",
        "x-content-type-options" => "Send X-Content-Type-Options: nosniff.",
        "x-frame-options" => "Send Content-Security-Policy: frame-ancestors 'self' (and X-Frame-Options: SAMEORIGIN for old browsers).",
        "cross-origin-resource-policy" => "Send Cross-Origin-Resource-Policy: same-origin or same-site.",
        _ => "See the Observatory test description.",
    }
}

/// Same scheme, host and port.
fn same_origin(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin()
}

async fn crawl(
    fetcher: &http::Fetcher,
    start: http::Fetched,
    opts: &ScanOptions,
    report: &mut Report,
) {
    let origin_url = start.url.clone();
    let robots = match origin_url.join("/robots.txt") {
        Ok(u) => fetcher.get(&u, true).await.ok().and_then(|r| {
            (r.status == 200)
                .then(|| texting_robots::Robot::new("Rampart-Scanner", &r.bytes).ok())
                .flatten()
        }),
        Err(_) => None,
    };
    if let Some(delay) = robots.as_ref().and_then(|r| r.delay) {
        if delay.is_finite() && delay > 0.0 {
            fetcher
                .slow_to(Duration::from_secs_f32(delay.min(10.0)))
                .await;
        }
    }
    let allowed = |u: &Url| robots.as_ref().is_none_or(|r| r.allowed(u.as_str()));

    let mut seen: HashSet<String> = HashSet::new();
    let mut queue: VecDeque<Url> = VecDeque::new();
    seen.insert(strip(&origin_url));
    let mut pending = Some(start);
    let mut fetched = 0usize;
    let mut redirect_unusable = false;
    loop {
        let page = match pending.take() {
            Some(p) => p,
            None => {
                let Some(next) = queue.pop_front() else { break };
                if fetched >= opts.crawl.max(1) {
                    break;
                }
                match fetcher.get(&next, true).await {
                    Ok(p) if same_origin(&p.url, &origin_url) => p,
                    Ok(_) => continue,
                    Err(e) => {
                        report.findings.push(
                            Finding::new(
                                "scan.page-unreachable",
                                Severity::Info,
                                "A linked page could not be fetched",
                                next.as_str(),
                            )
                            .evidence(e.to_string()),
                        );
                        continue;
                    }
                }
            }
        };
        fetched += 1;
        report.pages.push(page.url.to_string());
        // Every page, not only the start page, must redirect from HTTP.
        if fetched > 1 && page.url.scheme() == "https" && !redirect_unusable {
            let r = redirect_of(fetcher, &page.url, opts).await;
            if r == observatory::Redirection::NotNeededNoHttp {
                // Plain HTTP does not answer at all: no need to ask per page.
                redirect_unusable = true;
            } else if let Some(f) = https::redirect_finding(&page.url, r) {
                report.findings.push(f);
            }
        }
        if let Some(f) = exposure::verbose_error(&page.url, &page.body) {
            report.findings.push(f);
        }
        if !page.is_html() {
            continue;
        }
        if let Some(f) = exposure::directory_listing(&page.url, &page.body) {
            report.findings.push(f);
        }
        let parsed = html::parse(&page.body);
        report
            .findings
            .extend(https::page_findings(&page.url, &parsed));
        if https::is_payment_page(&page.url, &parsed) {
            let (inventory, findings) = https::payment_scripts(&page.url, &parsed);
            report.payment_scripts.extend(inventory);
            report.findings.extend(findings);
        }
        for link in &parsed.links {
            let Ok(mut u) = page.url.join(link) else {
                continue;
            };
            u.set_fragment(None);
            if !same_origin(&u, &origin_url) || !allowed(&u) {
                continue;
            }
            if seen.insert(strip(&u)) {
                queue.push_back(u);
            }
        }
    }
}

fn strip(u: &Url) -> String {
    let mut u = u.clone();
    u.set_fragment(None);
    u.to_string()
}
