//! The WAF stage: runs each request and response through the site's
//! ModSecurity-compatible rule set (the OWASP CRS), phase by phase, and
//! blocks when the rules decide to (in `block` mode).
//!
//! Owns: turning gateway phases into engine calls, the block page, the
//! findings of the audit line. Must not: know rule semantics (`seclang`
//! does) or load rules per request (rule sets are built once per
//! configuration, at start and on reload).
//!
//! Mapping: phase 1 on the request head; phase 2 with the buffered body
//! (or without one); phases 3 and 4 on the response head and the
//! buffered body of the MIME types the rules inspect; phase 5 when the
//! response is decided. The transaction travels in the request context.

use crate::h1_repair::RawTarget;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{header, request, response, HeaderValue, Response, StatusCode};
use ops::Action;
use seclang::crs::CrsOptions;
use seclang::{Connection, Disruption, EngineMode, RuleSet, Transaction};

use crate::config::{Config, WafConfig, WafMode};
use crate::pipeline::{BodyInspection, BufferedBody, Decision, OverLimit, RequestContext, Stage};
use crate::presets::Preset;

/// Where Debian's `modsecurity-crs` package puts the rule set.
pub const SYSTEM_CRS: &str = "/usr/share/modsecurity-crs";

/// Finds the CRS directory for a site: the configured one, else the
/// distribution package's, else the one `rampart rules install` put under
/// the data directory.
pub fn resolve_crs(waf: &WafConfig, data_dir: &Path) -> Result<PathBuf, String> {
    if let Some(dir) = &waf.crs {
        return Ok(dir.clone());
    }
    let candidates = [
        PathBuf::from(SYSTEM_CRS),
        data_dir.join("crs").join("current"),
    ];
    candidates
        .iter()
        .find(|d| d.join("rules").is_dir())
        .cloned()
        .ok_or_else(|| {
            format!(
                "no OWASP CRS found (looked in {} and {}): set [site.waf] crs = \"DIR\" or run `rampart rules install`",
                SYSTEM_CRS,
                candidates[1].display()
            )
        })
}

/// The exclusion file of a site: the configured one, else
/// `DATA_DIR/waf/SITE.exclusions.conf` (what `rampart waf tune --apply`
/// writes).
pub fn exclusions_file(waf: &WafConfig, site: &str, data_dir: &Path) -> PathBuf {
    waf.exclusions
        .clone()
        .unwrap_or_else(|| data_dir.join("waf").join(format!("{site}.exclusions.conf")))
}

/// Loads a site's rule set: the CRS setup, then the platform preset's
/// exclusions, the site's includes and its exclusion file (when it
/// exists), then the rules.
pub fn load_rules(
    waf: &WafConfig,
    preset: Option<&Preset>,
    site: &str,
    data_dir: &Path,
) -> Result<RuleSet, String> {
    let dir = resolve_crs(waf, data_dir)?;
    let mut opts = CrsOptions::new(dir);
    opts.paranoia = Some(waf.paranoia);
    opts.mode = Some(match waf.mode {
        WafMode::Block => EngineMode::On,
        WafMode::Detect => EngineMode::DetectionOnly,
    });
    if let Some(p) = preset {
        opts.extra
            .push((format!("preset {}", p.name), p.exclusions.clone()));
    }
    opts.includes = waf.include.clone();
    opts.plugins = waf.plugins.clone();
    let tuned = exclusions_file(waf, site, data_dir);
    if tuned.is_file() {
        opts.includes.push(tuned);
    }
    seclang::crs::load(&opts).map_err(|e| e.to_string())
}

/// The WAF of every site that has one.
pub struct Waf {
    sites: HashMap<String, Arc<RuleSet>>,
}

impl Waf {
    /// Builds the rule set of every site with `[site.waf]`; `None` when no
    /// site has one. Errors name the rule file, line and column.
    pub fn from_config(config: &Config) -> Result<Option<Waf>, String> {
        let mut sites = HashMap::new();
        for site in &config.sites {
            if let Some(w) = &site.waf {
                let rules = load_rules(
                    w,
                    site.platform.as_ref(),
                    &site.name,
                    &config.server.data_dir,
                )
                .map_err(|e| format!("site {}: WAF rules: {e}", site.name))?;
                sites.insert(site.name.clone(), Arc::new(rules));
            }
        }
        Ok((!sites.is_empty()).then_some(Waf { sites }))
    }

    /// A WAF over ready rule sets, by site name.
    pub fn new(sites: HashMap<String, Arc<RuleSet>>) -> Waf {
        Waf { sites }
    }
}

/// The transaction of one request, kept in the request context.
#[derive(Clone)]
struct WafTx(Arc<Mutex<Transaction>>);

impl WafTx {
    fn lock(&self) -> std::sync::MutexGuard<'_, Transaction> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn version(v: http::Version) -> &'static [u8] {
    match v {
        http::Version::HTTP_09 => b"0.9",
        http::Version::HTTP_10 => b"1.0",
        http::Version::HTTP_2 => b"2.0",
        http::Version::HTTP_3 => b"3.0",
        _ => b"1.1",
    }
}

impl Waf {
    fn tx(&self, ctx: &RequestContext) -> Option<WafTx> {
        ctx.state.get::<WafTx>().cloned()
    }

    /// Runs one phase step on the request's transaction (if any), records
    /// the findings, and finishes the transaction when it answers or when
    /// `last` (the response body, whose decision ends the request).
    fn step(
        &self,
        ctx: &mut RequestContext,
        last: bool,
        f: impl FnOnce(&mut Transaction),
    ) -> Decision<'_> {
        let Some(tx) = self.tx(ctx) else {
            return Decision::Continue;
        };
        let mut t = tx.lock();
        f(&mut t);
        let d = self.decide(ctx, &t);
        drop(t);
        if last || matches!(d, Decision::Respond(_)) {
            self.finish(ctx);
        }
        d
    }

    /// Whether and how to buffer a body, from the transaction's wishes.
    fn inspection(
        &self,
        ctx: &RequestContext,
        wants: impl FnOnce(&Transaction) -> Option<(usize, bool)>,
    ) -> BodyInspection {
        let Some(tx) = self.tx(ctx) else {
            return BodyInspection::Skip;
        };
        let t = tx.lock();
        match wants(&t) {
            None => BodyInspection::Skip,
            Some((limit, reject)) => BodyInspection::Buffer {
                limit,
                over_limit: if reject {
                    OverLimit::Reject
                } else {
                    OverLimit::InspectPrefix
                },
            },
        }
    }

    /// Records what the transaction found, and turns an intervention into
    /// the answer.
    fn decide(&self, ctx: &mut RequestContext, tx: &Transaction) -> Decision<'_> {
        let ids = tx.matched_rule_ids();
        if !ids.is_empty() {
            for id in ids {
                if !ctx.findings.rules.contains(&id) {
                    ctx.findings.rules.push(id);
                }
            }
            for m in tx.matches().iter().filter(|m| m.logged) {
                if !ctx.findings.reports.iter().any(|r| r.id == m.id) {
                    ctx.findings.reports.push(crate::pipeline::RuleReport {
                        id: m.id,
                        msg: m.msg.clone(),
                        data: m.logdata.clone(),
                        severity: m.severity,
                        phase: m.phase.number(),
                        targets: m.matched_var_names.clone(),
                        shapes: m.matched_raw.iter().map(|v| shape(&v.0)).collect(),
                    });
                }
            }
            ctx.findings.anomaly_score = Some(tx.anomaly_score());
            if ctx.findings.action.is_none() && tx.engine_mode() == EngineMode::DetectionOnly {
                ctx.findings.action = Some(Action::Detect);
            }
        }
        let Some(i) = tx.intervention() else {
            return Decision::Continue;
        };
        ctx.findings.action = Some(Action::Block);
        ctx.findings.message = format!("waf: rule {} ({:?})", i.rule_id, i.disruption);
        let status = StatusCode::from_u16(i.status).unwrap_or(StatusCode::FORBIDDEN);
        let mut resp = match &i.disruption {
            Disruption::Redirect(url) => {
                ctx.findings.action = Some(Action::Redirect);
                let mut r = Response::new(Bytes::new());
                *r.status_mut() = status;
                if let Ok(v) = HeaderValue::from_str(url) {
                    r.headers_mut().insert(header::LOCATION, v);
                }
                r
            }
            Disruption::Deny | Disruption::Drop => {
                crate::pages::error_page(status, &ctx.request_id)
            }
        };
        if matches!(i.disruption, Disruption::Drop) {
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        Decision::Respond(resp)
    }

    /// Runs phase 5 and records its matches (its decision cannot change
    /// the answer any more).
    fn finish(&self, ctx: &mut RequestContext) {
        if let Some(tx) = self.tx(ctx) {
            let mut t = tx.lock();
            t.process_logging();
            let _ = self.decide(ctx, &t);
        }
    }
}

impl Stage for Waf {
    fn name(&self) -> &'static str {
        "waf"
    }

    fn request_headers(&self, ctx: &mut RequestContext, req: &mut request::Parts) -> Decision<'_> {
        let Some(rules) = self.sites.get(&ctx.site.name) else {
            return Decision::Continue;
        };
        let mut tx = Transaction::new(
            Arc::clone(rules),
            Connection {
                client_ip: ctx.client_addr.ip().to_string(),
                client_port: ctx.client_addr.port(),
                server_ip: ctx.server_addr.ip().to_string(),
                server_port: ctx.server_addr.port(),
                unique_id: ctx.request_id().to_string(),
            },
        );
        // The target as the client sent it when the gateway repaired it or
        // the URI type would show it differently; else from the URI.
        let target = match (req.extensions.get::<RawTarget>(), req.uri.path_and_query()) {
            (Some(raw), _) => raw.0.to_vec(),
            (None, Some(pq)) if req.uri.scheme().is_none() => pq.as_str().as_bytes().to_vec(),
            _ => req.uri.to_string().into_bytes(),
        };
        tx.process_uri(
            req.method.as_str().as_bytes(),
            &target,
            version(req.version),
        );
        let mut buf = [0u8; 64];
        for (name, value) in req.headers.iter() {
            tx.add_request_header(display_name(name.as_str(), &mut buf), value.as_bytes());
        }
        if req.version == http::Version::HTTP_2 && !req.headers.contains_key(header::HOST) {
            if let Some(a) = req.uri.authority() {
                tx.add_request_header(b"Host", a.as_str().as_bytes());
            }
        }
        tx.process_request_headers();
        let decision = self.decide(ctx, &tx);
        let holder = WafTx(Arc::new(Mutex::new(tx)));
        ctx.state.insert(holder);
        if let Decision::Respond(r) = decision {
            self.finish(ctx);
            return Decision::Respond(r);
        }
        Decision::Continue
    }

    fn request_body_inspection(
        &self,
        ctx: &RequestContext,
        _req: &request::Parts,
    ) -> BodyInspection {
        self.inspection(ctx, |t| {
            t.wants_request_body().then(|| t.request_body_limit())
        })
    }

    fn request_body(
        &self,
        ctx: &mut RequestContext,
        _req: &mut request::Parts,
        body: &mut BufferedBody,
    ) -> Decision<'_> {
        self.step(ctx, false, |t| {
            t.append_request_body(&body.bytes);
            t.process_request_body();
        })
    }

    fn request_body_absent(
        &self,
        ctx: &mut RequestContext,
        _req: &mut request::Parts,
    ) -> Decision<'_> {
        self.step(ctx, false, |t| {
            t.process_request_body();
        })
    }

    fn response_headers(
        &self,
        ctx: &mut RequestContext,
        resp: &mut response::Parts,
    ) -> Decision<'_> {
        self.step(ctx, false, |t| {
            for (name, value) in resp.headers.iter() {
                t.add_response_header(name.as_str().as_bytes(), value.as_bytes());
            }
            let proto: &[u8] = match resp.version {
                http::Version::HTTP_2 => b"HTTP/2.0",
                http::Version::HTTP_10 => b"HTTP/1.0",
                _ => b"HTTP/1.1",
            };
            t.process_response_headers(resp.status.as_u16(), proto);
        })
    }

    fn response_body_inspection(
        &self,
        ctx: &RequestContext,
        _resp: &response::Parts,
    ) -> BodyInspection {
        self.inspection(ctx, |t| {
            t.wants_response_body().then(|| t.response_body_limit())
        })
    }

    fn response_body(
        &self,
        ctx: &mut RequestContext,
        _resp: &mut response::Parts,
        body: &mut BufferedBody,
    ) -> Decision<'_> {
        self.step(ctx, true, |t| {
            t.append_response_body(&body.bytes);
            t.process_response_body();
        })
    }

    fn response_body_absent(
        &self,
        ctx: &mut RequestContext,
        _resp: &mut response::Parts,
    ) -> Decision<'_> {
        self.step(ctx, true, |t| {
            t.process_response_body();
        })
    }
}

/// A header name as clients write it (`user-agent` becomes `User-Agent`).
/// hyper lower-cases names; ModSecurity shows them as sent, and rules and
/// log readers expect that spelling (`REQUEST_HEADERS:Referer`). Lookups
/// are case-insensitive either way.
fn display_name<'a>(name: &'a str, buf: &'a mut [u8; 64]) -> &'a [u8] {
    let bytes = name.as_bytes();
    if bytes.len() > buf.len() {
        return bytes;
    }
    let out = &mut buf[..bytes.len()];
    let mut upper = true;
    for (o, &b) in out.iter_mut().zip(bytes) {
        *o = if upper { b.to_ascii_uppercase() } else { b };
        upper = b == b'-';
    }
    out
}

/// The characters of a variable's value as a `@validateByteRange` list
/// (`32,39,48-57,65-90,97-122`), taken over the value as sent and once
/// URL-decoded (as the CRS reads cookies): any letter stands for all of
/// `A-Za-z`, any digit for `0-9`, any byte above 127 for `128-255`; every
/// other byte is listed itself. Coarse on purpose: it says what kind of
/// text a field holds, not what it held.
pub fn shape(raw: &[u8]) -> String {
    let mut seen = [false; 256];
    let decode = seclang::transformations::lookup("urlDecodeUni").map(|t| t.apply);
    let decoded = decode.map(|f| f(raw));
    for &b in raw.iter().chain(decoded.iter().flat_map(|d| d.iter())) {
        let class: &[std::ops::RangeInclusive<u8>] = if b.is_ascii_alphabetic() {
            &[b'A'..=b'Z', b'a'..=b'z']
        } else if b.is_ascii_digit() {
            &[b'0'..=b'9']
        } else if b >= 128 {
            &[128..=255]
        } else {
            seen[b as usize] = true;
            &[]
        };
        for r in class {
            for c in r.clone() {
                seen[c as usize] = true;
            }
        }
    }
    let mut out = String::new();
    let mut i = 0usize;
    while i < 256 {
        if !seen[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i + 1 < 256 && seen[i + 1] {
            i += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == i {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}-{i}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod display_name_tests {
    use super::display_name;

    #[test]
    fn names_are_title_cased() {
        let mut buf = [0u8; 64];
        assert_eq!(display_name("user-agent", &mut buf), b"User-Agent");
        assert_eq!(
            display_name("x-forwarded-for", &mut buf),
            b"X-Forwarded-For"
        );
        assert_eq!(display_name("te", &mut buf), b"Te");
        let long = "a".repeat(80);
        assert_eq!(display_name(&long, &mut buf), long.as_bytes());
    }
}

#[cfg(test)]
mod shape_tests {
    use super::shape;

    #[test]
    fn classes_not_values() {
        assert_eq!(shape(b"abc"), "65-90,97-122");
        assert_eq!(shape(b"42"), "48-57");
        // Magento's section cookie, as sent: % and the decoded {":,}.
        assert_eq!(
            shape(b"%7B%22cart%22%3A1%7D"),
            "34,37,48-58,65-90,97-123,125"
        );
        assert_eq!(
            shape("Müller 1'".as_bytes()),
            "32,39,48-57,65-90,97-122,128-255"
        );
        // `+` is a space once decoded.
        assert_eq!(shape(b"a+b"), "32,43,65-90,97-122");
        assert_eq!(shape(b""), "");
    }
}
