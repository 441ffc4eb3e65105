//! Anti-phishing posture of the shop's mail domain: SPF (`v=spf1` TXT at
//! the domain), DMARC (`v=DMARC1` TXT at `_dmarc.`) and MTA-STS
//! (`v=STSv1` TXT at `_mta-sts.`), looked up with hickory on the system's
//! resolver or one the user names. Reads DNS only; the MTA-STS policy
//! file itself is not fetched.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::Resolver;

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

/// Checks `domain`'s SPF, DMARC and MTA-STS records.
pub async fn check(domain: &str, server: Option<SocketAddr>, timeout: Duration) -> Vec<Finding> {
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
    out.extend(mta_sts_findings(domain, sts));
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

fn mta_sts_findings(domain: &str, l: Lookup) -> Vec<Finding> {
    let records = match l {
        Lookup::Records(r) => r,
        Lookup::Failed(e) => return vec![failed(domain, "mta-sts", e)],
    };
    let at = format!("_mta-sts.{domain}");
    let sts: Vec<&String> = records
        .iter()
        .filter(|r| r.trim().to_ascii_lowercase().starts_with("v=stsv1"))
        .collect();
    let fix = "Publish `v=STSv1; id=<date>` at _mta-sts and the policy at https://mta-sts.<domain>/.well-known/mta-sts.txt.";
    match sts.as_slice() {
        [] => vec![Finding::new(
            "dns.mta-sts-missing",
            Severity::Low,
            "No MTA-STS: mail to this domain can be downgraded to plain text",
            &at,
        )
        .evidence(format!("no v=STSv1 TXT record at {at}"))
        .remediation(fix)],
        [one] if tags(one).iter().any(|(k, v)| k == "id" && !v.is_empty()) => vec![],
        other => vec![Finding::new(
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
    }
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
}
