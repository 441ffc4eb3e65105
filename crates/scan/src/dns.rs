//! Anti-phishing posture of the shop's mail domain: SPF (`v=spf1` TXT at
//! the domain), DMARC (`v=DMARC1` TXT at `_dmarc.`) and MTA-STS
//! (`v=STSv1` TXT at `_mta-sts.`), looked up with hickory on the system's
//! resolver or one the user names. When the MTA-STS record is there, the
//! policy it announces is fetched as a sending mail server would (RFC 8461:
//! `https://mta-sts.DOMAIN/.well-known/mta-sts.txt`, a valid certificate,
//! no redirects) and checked: its syntax, its mode and max_age, and
//! whether every MX host of the domain is one the policy names.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::Resolver;

use rustls::pki_types::CertificateDer;

use crate::finding::{Finding, Severity};

/// The mail domain for a shop host: the host without a leading `www.`;
/// `None` for IP addresses and `localhost`.
pub fn mail_domain(host: &str) -> Option<String> {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    if h.parse::<std::net::IpAddr>().is_ok()
        || h.starts_with('[')
        || h == "localhost"
        || h.ends_with(".localhost")
        || !h.contains('.')
    {
        return None;
    }
    Some(h.strip_prefix("www.").unwrap_or(&h).to_string())
}

/// Why the records could not be read.
#[derive(Debug)]
enum Lookup {
    Records(Vec<String>),
    Failed(String),
}

async fn txt(resolver: &Resolver<TokioConnectionProvider>, name: &str) -> Lookup {
    match resolver.txt_lookup(format!("{name}.")).await {
        Ok(answer) => Lookup::Records(
            answer
                .iter()
                .map(|t| {
                    t.txt_data()
                        .iter()
                        .map(|part| String::from_utf8_lossy(part).into_owned())
                        .collect::<String>()
                })
                .collect(),
        ),
        Err(e) if e.is_no_records_found() || e.is_nx_domain() => Lookup::Records(Vec::new()),
        Err(e) => Lookup::Failed(e.to_string()),
    }
}

fn resolver(
    server: Option<SocketAddr>,
    timeout: Duration,
) -> Result<Resolver<TokioConnectionProvider>, String> {
    let mut opts = ResolverOpts::default();
    opts.timeout = timeout;
    opts.attempts = 2;
    match server {
        Some(addr) => {
            let mut config = ResolverConfig::new();
            config.add_name_server(NameServerConfig::new(addr, Protocol::Udp));
            config.add_name_server(NameServerConfig::new(addr, Protocol::Tcp));
            Ok(
                Resolver::builder_with_config(config, TokioConnectionProvider::default())
                    .with_options(opts)
                    .build(),
            )
        }
        None => Resolver::builder_tokio()
            .map(|b| b.with_options(opts).build())
            .map_err(|e| format!("system resolver: {e}")),
    }
}

/// Checks `domain`'s SPF, DMARC and MTA-STS records, and the MTA-STS
/// policy; `extra_roots` are trusted for the policy's HTTPS besides the
/// system's roots.
pub async fn check(
    domain: &str,
    server: Option<SocketAddr>,
    timeout: Duration,
    extra_roots: &[CertificateDer<'static>],
) -> Vec<Finding> {
    let resolver = match resolver(server, timeout) {
        Ok(r) => r,
        Err(e) => {
            return vec![Finding::new(
                "dns.lookup-failed",
                Severity::Info,
                "DNS records could not be checked",
                domain,
            )
            .evidence(e)]
        }
    };
    let (dmarc_name, sts_name) = (format!("_dmarc.{domain}"), format!("_mta-sts.{domain}"));
    let (spf, dmarc, sts) = tokio::join!(
        txt(&resolver, domain),
        txt(&resolver, &dmarc_name),
        txt(&resolver, &sts_name),
    );
    let mut out = Vec::new();
    out.extend(spf_findings(domain, spf));
    out.extend(dmarc_findings(domain, dmarc));
    let (findings, announced) = mta_sts_findings(domain, sts);
    out.extend(findings);
    if announced {
        out.extend(policy_findings(&resolver, domain, timeout, extra_roots).await);
    }
    out
}

fn failed(domain: &str, what: &str, reason: String) -> Finding {
    Finding::new(
        format!("dns.{what}-lookup-failed"),
        Severity::Info,
        format!("The {what} record could not be looked up"),
        domain,
    )
    .evidence(reason)
}

fn spf_findings(domain: &str, l: Lookup) -> Vec<Finding> {
    let records = match l {
        Lookup::Records(r) => r,
        Lookup::Failed(e) => return vec![failed(domain, "spf", e)],
    };
    let spf: Vec<&String> = records
        .iter()
        .filter(|r| r.trim().to_ascii_lowercase().starts_with("v=spf1"))
        .collect();
    let fix = "Publish one TXT record `v=spf1 <your senders> -all` (or ~all while testing).";
    match spf.as_slice() {
        [] => vec![Finding::new(
            "dns.spf-missing",
            Severity::Medium,
            "No SPF record: anyone can send mail as this domain",
            domain,
        )
        .evidence(format!("no v=spf1 TXT record at {domain}"))
        .remediation(fix)],
        [one] => {
            let all = one
                .split_ascii_whitespace()
                .map(str::to_ascii_lowercase)
                .find(|t| {
                    t.ends_with("all") && t.trim_start_matches(['+', '-', '~', '?']) == "all"
                });
            let (id, severity, title) = match all.as_deref() {
                Some("-all") => return vec![],
                Some("~all") => (
                    "dns.spf-softfail",
                    Severity::Low,
                    "SPF ends in ~all: forged mail is only marked, not refused",
                ),
                Some("?all") => (
                    "dns.spf-neutral",
                    Severity::Medium,
                    "SPF ends in ?all: it says nothing about forged mail",
                ),
                Some(_) => (
                    "dns.spf-pass-all",
                    Severity::High,
                    "SPF ends in +all: every server on the internet may send as this domain",
                ),
                None => (
                    "dns.spf-no-all",
                    Severity::Medium,
                    "SPF has no all mechanism: forged mail is neutral",
                ),
            };
            vec![Finding::new(id, severity, title, domain)
                .evidence(one.to_string())
                .remediation(fix)]
        }
        many => vec![Finding::new(
            "dns.spf-multiple",
            Severity::Medium,
            "Several SPF records: receivers treat that as an error (permerror)",
            domain,
        )
        .evidence(
            many.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" | "),
        )
        .remediation("Merge them into one v=spf1 record.")],
    }
}

fn tags(record: &str) -> Vec<(String, String)> {
    record
        .split(';')
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect()
}

fn dmarc_findings(domain: &str, l: Lookup) -> Vec<Finding> {
    let records = match l {
        Lookup::Records(r) => r,
        Lookup::Failed(e) => return vec![failed(domain, "dmarc", e)],
    };
    let at = format!("_dmarc.{domain}");
    let fix = "Publish `v=DMARC1; p=quarantine; rua=mailto:dmarc@<domain>` at _dmarc, then move to p=reject.";
    let dmarc: Vec<&String> = records
        .iter()
        .filter(|r| r.trim().to_ascii_lowercase().starts_with("v=dmarc1"))
        .collect();
    let [record] = dmarc.as_slice() else {
        let (id, title) = if dmarc.is_empty() {
            (
                "dns.dmarc-missing",
                "No DMARC record: receivers are not told to refuse forged mail",
            )
        } else {
            (
                "dns.dmarc-multiple",
                "Several DMARC records: receivers ignore them all",
            )
        };
        return vec![Finding::new(id, Severity::Medium, title, &at)
            .evidence(format!("{} v=DMARC1 records at {at}", dmarc.len()))
            .remediation(fix)];
    };
    let t = tags(record);
    let get = |k: &str| {
        t.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    let mut out = Vec::new();
    match get("p").as_deref() {
        Some("reject") | Some("quarantine") => {}
        Some("none") => out.push(
            Finding::new(
                "dns.dmarc-monitor-only",
                Severity::Low,
                "DMARC policy is p=none: forged mail is reported, not stopped",
                &at,
            )
            .evidence(record.to_string())
            .remediation(fix),
        ),
        _ => out.push(
            Finding::new(
                "dns.dmarc-invalid",
                Severity::Medium,
                "DMARC record has no valid p= policy",
                &at,
            )
            .evidence(record.to_string())
            .remediation(fix),
        ),
    }
    if let Some(pct) = get("pct").and_then(|p| p.parse::<u32>().ok()) {
        if pct < 100 {
            out.push(
                Finding::new(
                    "dns.dmarc-partial",
                    Severity::Low,
                    format!("DMARC applies to {pct}% of mail only"),
                    &at,
                )
                .evidence(record.to_string())
                .remediation("Raise pct to 100 (or drop it)."),
            );
        }
    }
    out
}

/// The record's findings, and whether it announces a policy to fetch.
fn mta_sts_findings(domain: &str, l: Lookup) -> (Vec<Finding>, bool) {
    let records = match l {
        Lookup::Records(r) => r,
        Lookup::Failed(e) => return (vec![failed(domain, "mta-sts", e)], false),
    };
    let at = format!("_mta-sts.{domain}");
    let sts: Vec<&String> = records
        .iter()
        .filter(|r| r.trim().to_ascii_lowercase().starts_with("v=stsv1"))
        .collect();
    let fix = "Publish `v=STSv1; id=<date>` at _mta-sts and the policy at https://mta-sts.<domain>/.well-known/mta-sts.txt.";
    match sts.as_slice() {
        [] => (
            vec![Finding::new(
                "dns.mta-sts-missing",
                Severity::Low,
                "No MTA-STS: mail to this domain can be downgraded to plain text",
                &at,
            )
            .evidence(format!("no v=STSv1 TXT record at {at}"))
            .remediation(fix)],
            false,
        ),
        [one] if tags(one).iter().any(|(k, v)| k == "id" && !v.is_empty()) => (vec![], true),
        other => (
            vec![Finding::new(
                "dns.mta-sts-invalid",
                Severity::Low,
                "MTA-STS record is invalid (one v=STSv1 record with an id= is required)",
                &at,
            )
            .evidence(
                other
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" | "),
            )
            .remediation(fix)],
            false,
        ),
    }
}

/// The largest policy read; real ones are a few hundred bytes.
const MAX_POLICY: usize = 64 * 1024;
/// RFC 8461 3.2: at most a year.
const MAX_AGE_LIMIT: u64 = 31_557_600;
/// Below a week the policy protects little between two fetches (RFC 8461
/// recommends weeks or more).
const MAX_AGE_SHORT: u64 = 7 * 86_400;

/// An MTA-STS policy as RFC 8461 3.2 defines it.
#[derive(Debug, PartialEq)]
pub struct Policy {
    pub mode: String,
    pub mx: Vec<String>,
    pub max_age: u64,
}

/// Parses a policy file; the error says what is wrong in one line.
pub fn parse_policy(text: &str) -> Result<Policy, String> {
    let (mut version, mut mode, mut max_age) = (None, None, None);
    let mut mx = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(format!("line {line:?} is not key: value"));
        };
        let value = value.trim();
        match key.trim() {
            "version" => version = Some(value.to_string()),
            "mode" => mode = Some(value.to_string()),
            "max_age" => max_age = Some(value.to_string()),
            "mx" => mx.push(value.trim_end_matches('.').to_ascii_lowercase()),
            _ => {} // extensions are ignored (RFC 8461 3.2)
        }
    }
    if version.as_deref() != Some("STSv1") {
        return Err(format!(
            "version is {}, not STSv1",
            version.as_deref().unwrap_or("missing")
        ));
    }
    let mode = match mode.as_deref() {
        Some(m @ ("enforce" | "testing" | "none")) => m.to_string(),
        Some(m) => return Err(format!("mode {m:?} is not enforce, testing or none")),
        None => return Err("mode is missing".into()),
    };
    let max_age = match max_age.as_deref().map(str::parse::<u64>) {
        Some(Ok(n)) if n <= MAX_AGE_LIMIT => n,
        Some(_) => return Err("max_age is not a number of seconds up to 31557600".into()),
        None => return Err("max_age is missing".into()),
    };
    if mode != "none" && mx.is_empty() {
        return Err(format!("mode {mode} without any mx line"));
    }
    Ok(Policy { mode, mx, max_age })
}

/// Whether MX host `host` is one `pattern` names: equal, or for
/// `*.example.com` one more label on the left (RFC 8461 4.1).
pub fn mx_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(parent) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == parent),
        None => pattern == host,
    }
}

async fn policy_findings(
    resolver: &Resolver<TokioConnectionProvider>,
    domain: &str,
    timeout: Duration,
    extra_roots: &[CertificateDer<'static>],
) -> Vec<Finding> {
    let url = format!("https://mta-sts.{domain}/.well-known/mta-sts.txt");
    let unreachable = |why: String| {
        vec![Finding::new(
            "dns.mta-sts-policy-unreachable",
            Severity::Low,
            "MTA-STS policy cannot be fetched: sending servers ignore the record, and mail can be downgraded",
            &url,
        )
        .evidence(why)
        .remediation(format!(
            "Serve the policy as text/plain at {url} over HTTPS with a valid certificate for mta-sts.{domain}, without redirects."
        ))]
    };
    let text = match fetch_policy(resolver, domain, &url, timeout, extra_roots).await {
        Ok(t) => t,
        Err(why) => return unreachable(why),
    };
    let policy = match parse_policy(&text) {
        Ok(p) => p,
        Err(why) => {
            return vec![Finding::new(
                "dns.mta-sts-policy-invalid",
                Severity::Low,
                "MTA-STS policy is invalid: sending servers ignore it",
                &url,
            )
            .evidence(why)
            .remediation("Write `version: STSv1`, `mode: enforce`, one `mx:` line per mail server and `max_age: 604800` or more, one per line.")]
        }
    };
    let mut out = Vec::new();
    match policy.mode.as_str() {
        "none" => out.push(
            Finding::new(
                "dns.mta-sts-mode-none",
                Severity::Low,
                "MTA-STS is switched off (mode: none)",
                &url,
            )
            .evidence("mode: none")
            .remediation("Set mode: enforce once TLS-RPT reports show every sender reaches your MX over TLS."),
        ),
        "testing" => out.push(
            Finding::new(
                "dns.mta-sts-testing",
                Severity::Info,
                "MTA-STS is in testing mode: failures are reported, mail is still not protected",
                &url,
            )
            .evidence("mode: testing")
            .remediation("Set mode: enforce once TLS-RPT reports show every sender reaches your MX over TLS."),
        ),
        _ => {}
    }
    if policy.mode != "none" && policy.max_age < MAX_AGE_SHORT {
        out.push(
            Finding::new(
                "dns.mta-sts-max-age-short",
                Severity::Info,
                "MTA-STS max_age is under a week: a sender's cached policy lapses quickly",
                &url,
            )
            .evidence(format!("max_age: {}", policy.max_age))
            .remediation("Use max_age: 604800 (a week) or more; RFC 8461 recommends weeks."),
        );
    }
    if policy.mode != "none" {
        match resolver.mx_lookup(format!("{domain}.")).await {
            Ok(answer) => {
                let uncovered: Vec<String> = answer
                    .iter()
                    .map(|mx| {
                        mx.exchange()
                            .to_ascii()
                            .trim_end_matches('.')
                            .to_ascii_lowercase()
                    })
                    .filter(|h| !h.is_empty() && !policy.mx.iter().any(|p| mx_matches(p, h)))
                    .collect();
                if !uncovered.is_empty() {
                    let enforce = policy.mode == "enforce";
                    out.push(
                        Finding::new(
                            "dns.mta-sts-mx-uncovered",
                            if enforce { Severity::Medium } else { Severity::Low },
                            if enforce {
                                "A mail server of the domain is not in its MTA-STS policy: senders that honour the policy refuse to deliver to it"
                            } else {
                                "A mail server of the domain is not in its MTA-STS policy: enforcing it would stop mail to that server"
                            },
                            &url,
                        )
                        .evidence(format!(
                            "MX {} not matched by mx: {}",
                            uncovered.join(", "),
                            policy.mx.join(", ")
                        ))
                        .remediation("Add an mx: line for every MX host (or a *.domain pattern), then change the id= of the _mta-sts record."),
                    );
                }
            }
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => {}
            Err(e) => out.push(failed(domain, "mx", e.to_string())),
        }
    }
    out
}

/// GETs the policy: `mta-sts.DOMAIN` resolved through the same resolver,
/// the certificate checked, no redirect followed, text/plain only.
async fn fetch_policy(
    resolver: &Resolver<TokioConnectionProvider>,
    domain: &str,
    url: &str,
    timeout: Duration,
    extra_roots: &[CertificateDer<'static>],
) -> Result<String, String> {
    let host = format!("mta-sts.{domain}");
    let addrs: Vec<std::net::IpAddr> = match resolver.lookup_ip(format!("{host}.")).await {
        Ok(a) => a.iter().collect(),
        Err(e) if e.is_no_records_found() || e.is_nx_domain() => Vec::new(),
        Err(e) => return Err(format!("{host}: {e}")),
    };
    if addrs.is_empty() {
        return Err(format!("{host} has no address"));
    }
    let sockets: Vec<SocketAddr> = addrs.iter().map(|ip| SocketAddr::new(*ip, 443)).collect();
    let client = reqwest::Client::builder()
        .user_agent(crate::http::user_agent())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .no_proxy()
        .resolve_to_addrs(&host, &sockets)
        .tls_backend_preconfigured(crate::tls::verifying_client_config(extra_roots)?)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| crate::http::describe(&e))?;
    let status = response.status();
    if !status.is_success() {
        let to = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|l| format!(" (to {l}; redirects are not followed)"))
            .unwrap_or_default();
        return Err(format!("HTTP {}{to}", status.as_u16()));
    }
    let media = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media != "text/plain" {
        return Err(format!(
            "Content-Type is {:?}, not text/plain",
            if media.is_empty() {
                "missing"
            } else {
                media.as_str()
            }
        ));
    }
    let mut response = response;
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| crate::http::describe(&e))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_POLICY {
            return Err(format!("the policy is larger than {MAX_POLICY} bytes"));
        }
    }
    String::from_utf8(body).map_err(|_| "the policy is not UTF-8 text".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_domain_of_hosts() {
        assert_eq!(mail_domain("www.Shop.example"), Some("shop.example".into()));
        assert_eq!(mail_domain("shop.example."), Some("shop.example".into()));
        assert_eq!(mail_domain("127.0.0.1"), None);
        assert_eq!(mail_domain("localhost"), None);
    }

    #[test]
    fn policies_parse_and_bad_ones_say_why() {
        let p = parse_policy("version: STSv1\r\nmode: enforce\r\nmx: mail.shop.example\r\nmx: *.backup.example.\r\nmax_age: 604800\r\n").unwrap();
        assert_eq!(p.mode, "enforce");
        assert_eq!(p.mx, ["mail.shop.example", "*.backup.example"]);
        assert_eq!(p.max_age, 604_800);
        // Extensions are ignored; mode none needs no mx.
        let p = parse_policy("version: STSv1\nmode: none\nmax_age: 86400\nx-ext: 1\n").unwrap();
        assert!(p.mx.is_empty());
        for (text, why) in [
            ("mode: enforce\nmx: a\nmax_age: 1", "version is missing"),
            (
                "version: STSv2\nmode: enforce\nmx: a\nmax_age: 1",
                "not STSv1",
            ),
            (
                "version: STSv1\nmode: strict\nmx: a\nmax_age: 1",
                "not enforce",
            ),
            (
                "version: STSv1\nmode: enforce\nmax_age: 1",
                "without any mx",
            ),
            ("version: STSv1\nmode: enforce\nmx: a", "max_age is missing"),
            (
                "version: STSv1\nmode: enforce\nmx: a\nmax_age: 99999999",
                "up to 31557600",
            ),
            ("<html>", "not key: value"),
        ] {
            let e = parse_policy(text).unwrap_err();
            assert!(e.contains(why), "{text:?}: {e}");
        }
    }

    #[test]
    fn mx_patterns_match_as_rfc_8461_says() {
        assert!(mx_matches("mail.shop.example", "mail.shop.example"));
        assert!(!mx_matches("mail.shop.example", "mx.shop.example"));
        assert!(mx_matches("*.shop.example", "mx1.shop.example"));
        // One label only, and not the parent itself.
        assert!(!mx_matches("*.shop.example", "a.mx.shop.example"));
        assert!(!mx_matches("*.shop.example", "shop.example"));
    }
}
