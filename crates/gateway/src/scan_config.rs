//! `[[scan]]`: stores `rampart serve` audits from the outside on a
//! schedule, as `rampart scan URL` does by hand. Part of
//! [`crate::config`]: parsing and validation only (the `rampart` binary
//! runs the scans, with the `scan` crate).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{ConfigError, Validator};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileScan {
    url: Spanned<String>,
    every_hours: Option<Spanned<i64>>,
    crawl: Option<Spanned<i64>>,
    http_port: Option<Spanned<i64>>,
    ca_file: Option<Spanned<String>>,
    mail_domain: Option<Spanned<String>>,
    resolver: Option<Spanned<String>>,
    exposure: Option<bool>,
    tls: Option<bool>,
    dns: Option<bool>,
    report: Option<Spanned<String>>,
}

/// One scheduled scan.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanSchedule {
    /// The store to audit, `https://shop.example/`.
    pub url: String,
    /// Time between two scans (default 24 h).
    pub every: Duration,
    /// Pages to crawl (default 20).
    pub crawl: usize,
    /// Port of plain HTTP for the redirect check.
    pub http_port: Option<u16>,
    /// Extra trusted CA certificates (PEM).
    pub ca_file: Option<PathBuf>,
    pub mail_domain: Option<String>,
    pub resolver: Option<SocketAddr>,
    pub exposure: bool,
    pub tls: bool,
    pub dns: bool,
    /// Where each run's report is written (the format from the file
    /// name's extension: `.html`, `.json`, `.sarif`, else text).
    pub report: Option<PathBuf>,
}

impl<F: Fn(Option<std::ops::Range<usize>>, String) -> ConfigError> Validator<'_, F> {
    pub(super) fn scan(&self, raw: Spanned<FileScan>) -> Result<ScanSchedule, ConfigError> {
        let raw = raw.into_inner();
        let url = raw.url.get_ref().trim().to_string();
        let parsed = url::Url::parse(&url).ok();
        if !parsed
            .as_ref()
            .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        {
            return self.err(
                raw.url.span(),
                format!("[[scan]] url = {url:?} must be an http:// or https:// URL with a host"),
            );
        }
        let every_hours = match &raw.every_hours {
            Some(h) if !(1..=24 * 31).contains(h.get_ref()) => {
                return self.err(
                    h.span(),
                    format!(
                        "[[scan]] every_hours = {} must be 1 to 744 (a month)",
                        h.get_ref()
                    ),
                )
            }
            Some(h) => *h.get_ref() as u64,
            None => 24,
        };
        let crawl = match &raw.crawl {
            Some(c) if !(1..=1000).contains(c.get_ref()) => {
                return self.err(
                    c.span(),
                    format!("[[scan]] crawl = {} must be 1 to 1000", c.get_ref()),
                )
            }
            Some(c) => *c.get_ref() as usize,
            None => 20,
        };
        let http_port = match &raw.http_port {
            Some(p) => match u16::try_from(*p.get_ref()) {
                Ok(p) if p > 0 => Some(p),
                _ => {
                    return self.err(
                        p.span(),
                        format!("[[scan]] http_port = {} is not a port", p.get_ref()),
                    )
                }
            },
            None => None,
        };
        let ca_file = raw.ca_file.as_ref().map(|p| self.path(p.get_ref()));
        if let (Some(path), Some(raw_path)) = (&ca_file, &raw.ca_file) {
            if !path.is_file() {
                return self.err(
                    raw_path.span(),
                    format!("[[scan]] ca_file {}: no such file", path.display()),
                );
            }
        }
        let resolver = raw
            .resolver
            .as_ref()
            .map(|r| self.addr(r, "[[scan]] resolver"))
            .transpose()?;
        let mail_domain = match &raw.mail_domain {
            Some(d) => {
                let d = d
                    .get_ref()
                    .trim()
                    .trim_end_matches('.')
                    .to_ascii_lowercase();
                if d.is_empty() || d.contains(['/', ' ', ':', '@']) {
                    return self.err(
                        raw.mail_domain
                            .as_ref()
                            .map(|m| m.span())
                            .unwrap_or_default(),
                        format!("[[scan]] mail_domain = {d:?} is not a domain"),
                    );
                }
                Some(d)
            }
            None => None,
        };
        let report = raw.report.as_ref().map(|p| self.path(p.get_ref()));
        Ok(ScanSchedule {
            url,
            every: Duration::from_secs(every_hours * 3600),
            crawl,
            http_port,
            ca_file,
            mail_domain,
            resolver,
            exposure: raw.exposure.unwrap_or(true),
            tls: raw.tls.unwrap_or(true),
            dns: raw.dns.unwrap_or(true),
            report,
        })
    }
}
