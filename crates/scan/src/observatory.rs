//! Security-header grade, scored with the tests and point values that the
//! MDN HTTP Observatory publishes (its "tests and scoring" methodology):
//! start at 100, subtract the penalties, add the bonuses only when the
//! result is 90 or more, never below 0; the grade is read off the score
//! (100+ A+, 90 A, 85 A-, 80 B+, 70 B, 65 B-, 60 C+, 50 C, 45 C-, 40 D+,
//! 30 D, 25 D-, else F).
//!
//! The ten tests: CSP, cookies, CORS, redirection, Referrer-Policy, HSTS,
//! SRI, X-Content-Type-Options, X-Frame-Options and CORP. Each test yields
//! one named result with its modifier; when several results apply, the
//! one with the lowest modifier wins. Where Rampart differs from the
//! Observatory (no HSTS preload list lookup, no `<meta>` policies), the
//! module docs in `docs/scan.md` say why. This module scores what it is
//! given; it fetches nothing.

use serde::{Deserialize, Serialize};
use url::Url;

/// The outcome of the HTTP→HTTPS redirection probe, decided by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Redirection {
    /// The first redirect goes to https on the same host, the last one ends on https.
    ToHttps,
    /// Nothing answers on plain HTTP.
    NotNeededNoHttp,
    /// The first redirect goes to https on another host.
    OffHostFromHttp,
    /// Ends on https, but the first redirect goes to another http URL.
    NotToHttpsOnInitialRedirection,
    /// Plain HTTP answers without redirecting.
    Missing,
    /// Redirects, but the final URL is not https.
    NotToHttps,
    /// The https end of the redirect chain has an invalid certificate.
    InvalidCert,
}

/// What the grade is computed from: one response (the start page) and the
/// facts about it that the scanner gathered.
#[derive(Debug, Clone)]
pub struct Observed<'a> {
    /// The final URL of the start page.
    pub url: &'a Url,
    /// Its response headers, names in any case; repeated headers repeat.
    pub headers: &'a [(String, String)],
    /// Every `Set-Cookie` seen while fetching it (redirects included).
    pub set_cookies: &'a [String],
    /// The body, when the response is HTML.
    pub html: Option<&'a str>,
    /// Whether the certificate of an https page verified.
    pub cert_valid: bool,
    pub redirection: Redirection,
    /// Headers of the answer to a request sent with a foreign `Origin`
    /// (the CORS probe); the page's own headers when no probe was made.
    pub cors_headers: Option<&'a [(String, String)]>,
}

/// One test's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestResult {
    /// The test, e.g. `content-security-policy`.
    pub test: String,
    /// The Observatory's result name, e.g. `csp-not-implemented`.
    pub result: String,
    pub modifier: i32,
    pub description: String,
}

/// The grade of one page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderGrade {
    pub score: i32,
    pub grade: String,
    pub tests: Vec<TestResult>,
}

const SIX_MONTHS: u64 = 15_768_000;

/// Grades a page.
pub fn grade(o: &Observed<'_>) -> HeaderGrade {
    let hsts = strict_transport_security(o);
    let hsts_on = hsts.1 >= 0 && o.url.scheme() == "https";
    let csp_policy = header_values(o.headers, "content-security-policy");
    let tests = vec![
        content_security_policy(o, &csp_policy),
        cookies(o, hsts_on),
        cors(o),
        redirection(o.redirection),
        referrer_policy(o),
        hsts,
        subresource_integrity(o),
        x_content_type_options(o),
        x_frame_options(o, &csp_policy),
        cross_origin_resource_policy(o),
    ];
    let tests: Vec<TestResult> = tests
        .into_iter()
        .map(|(test, modifier, result, description)| TestResult {
            test: test.to_string(),
            result: result.to_string(),
            modifier,
            description: description.to_string(),
        })
        .collect();
    let score = score_of(tests.iter().map(|t| t.modifier));
    HeaderGrade {
        score,
        grade: grade_of(score).to_string(),
        tests,
    }
}

/// 100 plus the penalties, floored at 0; bonuses only from 90 up.
pub fn score_of(modifiers: impl Iterator<Item = i32> + Clone) -> i32 {
    let penalties: i32 = modifiers.clone().filter(|m| *m < 0).sum();
    let bonuses: i32 = modifiers.filter(|m| *m > 0).sum();
    let base = (100 + penalties).max(0);
    if base >= 90 {
        base + bonuses
    } else {
        base
    }
}

/// The letter for a score.
pub fn grade_of(score: i32) -> &'static str {
    const CHART: [(i32, &str); 12] = [
        (100, "A+"),
        (90, "A"),
        (85, "A-"),
        (80, "B+"),
        (70, "B"),
        (65, "B-"),
        (60, "C+"),
        (50, "C"),
        (45, "C-"),
        (40, "D+"),
        (30, "D"),
        (25, "D-"),
    ];
    CHART
        .iter()
        .find(|(min, _)| score >= *min)
        .map(|(_, g)| *g)
        .unwrap_or("F")
}

type Verdict = (&'static str, i32, &'static str, &'static str);

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn header_values(headers: &[(String, String)], name: &str) -> Vec<String> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
        .collect()
}

/// A parsed CSP: directive name (lowercase) → source list (lowercase).
/// Several headers are enforced together; for scoring, a directive takes
/// its first occurrence (as browsers do within one policy).
fn parse_csp(values: &[String]) -> Option<Vec<(String, Vec<String>)>> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for value in values {
        for part in value.split(';') {
            let mut words = part.split_ascii_whitespace();
            let Some(name) = words.next() else { continue };
            let name = name.to_ascii_lowercase();
            if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return None;
            }
            if out.iter().any(|(n, _)| *n == name) {
                continue;
            }
            out.push((name, words.map(str::to_ascii_lowercase).collect()));
        }
    }
    if out.is_empty() {
        None
    } else {
        Some(out)
    }
}

fn directive<'p>(policy: &'p [(String, Vec<String>)], name: &str) -> Option<&'p [String]> {
    policy
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_slice())
}

/// The sources in force for a fetch directive (falling back to default-src).
fn effective<'p>(policy: &'p [(String, Vec<String>)], name: &str) -> Option<&'p [String]> {
    directive(policy, name).or_else(|| directive(policy, "default-src"))
}

fn broad(source: &str) -> bool {
    matches!(
        source,
        "*" | "http:" | "https:" | "data:" | "blob:" | "filesystem:"
    )
}

fn content_security_policy(o: &Observed<'_>, values: &[String]) -> Verdict {
    const T: &str = "content-security-policy";
    if values.is_empty() {
        return (
            T,
            -25,
            "csp-not-implemented",
            "Content Security Policy (CSP) header not implemented",
        );
    }
    let Some(policy) = parse_csp(values) else {
        return (
            T,
            -25,
            "csp-header-invalid",
            "Content Security Policy (CSP) header cannot be parsed successfully",
        );
    };
    let script = effective(&policy, "script-src");
    let object = effective(&policy, "object-src");
    // A nonce, hash or 'strict-dynamic' makes browsers ignore 'unsafe-inline'.
    let script_unsafe_inline = match script {
        None => true,
        Some(s) => {
            let neutralised = s.iter().any(|v| {
                v.starts_with("'nonce-")
                    || v.starts_with("'sha256-")
                    || v.starts_with("'sha384-")
                    || v.starts_with("'sha512-")
                    || v == "'strict-dynamic'"
            });
            (s.iter().any(|v| v == "'unsafe-inline'") && !neutralised) || s.iter().any(|v| broad(v))
        }
    };
    let object_unsafe = match object {
        None => true,
        Some(s) => s.iter().any(|v| broad(v)),
    };
    if script_unsafe_inline || object_unsafe {
        return (
            T,
            -20,
            "csp-implemented-with-unsafe-inline",
            "CSP allows 'unsafe-inline', data: or overly broad sources in script-src or object-src, or does not restrict them",
        );
    }
    let https = o.url.scheme() == "https";
    let insecure = |s: &[String]| s.iter().any(|v| v == "http:" || v.starts_with("http://"));
    if https {
        let passive = ["img-src", "media-src"];
        let active_insecure = policy
            .iter()
            .any(|(n, s)| !passive.contains(&n.as_str()) && insecure(s));
        if active_insecure {
            return (
                T,
                -20,
                "csp-implemented-with-insecure-scheme",
                "CSP implemented, but the secure site allows resources to be loaded over HTTP",
            );
        }
    }
    if script.is_some_and(|s| s.iter().any(|v| v == "'unsafe-eval'")) {
        return (
            T,
            -10,
            "csp-implemented-with-unsafe-eval",
            "CSP implemented, but allows 'unsafe-eval'",
        );
    }
    if https
        && passive_insecure(&policy, "img-src", insecure)
            | passive_insecure(&policy, "media-src", insecure)
    {
        return (
            T,
            -10,
            "csp-implemented-with-insecure-scheme-in-passive-content-only",
            "CSP implemented, but the secure site allows images or media over HTTP",
        );
    }
    let style = effective(&policy, "style-src");
    if style.is_some_and(|s| s.iter().any(|v| v == "'unsafe-inline'" || broad(v))) {
        return (
            T,
            0,
            "csp-implemented-with-unsafe-inline-in-style-src-only",
            "CSP implemented with unsafe sources inside style-src only",
        );
    }
    let default_none = directive(&policy, "default-src").is_some_and(|s| s == ["'none'"]);
    let form_action_locked =
        directive(&policy, "form-action").is_some_and(|s| s == ["'none'"] || s == ["'self'"]);
    if default_none && form_action_locked {
        return (
            T,
            10,
            "csp-implemented-with-no-unsafe-default-src-none",
            "CSP implemented with default-src 'none', no unsafe sources and form-action locked down",
        );
    }
    (
        T,
        5,
        "csp-implemented-with-no-unsafe",
        "CSP implemented without 'unsafe-inline' or 'unsafe-eval'",
    )
}

fn passive_insecure(
    policy: &[(String, Vec<String>)],
    name: &str,
    insecure: impl Fn(&[String]) -> bool,
) -> bool {
    effective(policy, name).is_some_and(insecure)
}

/// One `Set-Cookie`, as far as grading needs it.
struct Cookie {
    name: String,
    secure: bool,
    http_only: bool,
    same_site: Option<String>,
}

fn parse_cookie(line: &str) -> Option<Cookie> {
    let mut parts = line.split(';');
    let (name, _) = parts.next()?.split_once('=')?;
    let mut c = Cookie {
        name: name.trim().to_string(),
        secure: false,
        http_only: false,
        same_site: None,
    };
    for attr in parts {
        let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
        match k.trim().to_ascii_lowercase().as_str() {
            "secure" => c.secure = true,
            "httponly" => c.http_only = true,
            "samesite" => c.same_site = Some(v.trim().to_ascii_lowercase()),
            _ => {}
        }
    }
    Some(c)
}

fn cookies(o: &Observed<'_>, hsts: bool) -> Verdict {
    const T: &str = "cookies";
    let jar: Vec<Cookie> = o
        .set_cookies
        .iter()
        .filter_map(|c| parse_cookie(c))
        .collect();
    if jar.is_empty() {
        return (T, 0, "cookies-not-found", "No cookies detected");
    }
    let over_http = o.url.scheme() != "https";
    let mut worst: Verdict = (
        T,
        5,
        "cookies-secure-with-httponly-sessions-and-samesite",
        "All cookies use Secure, session cookies use HttpOnly, and SameSite is set",
    );
    let mut consider = |v: Verdict| {
        if v.1 < worst.1 {
            worst = v;
        }
    };
    for c in &jar {
        let lower = c.name.to_ascii_lowercase();
        let session = lower.contains("sess") || lower.contains("login");
        let anticsrf = lower.contains("csrf") || lower.contains("xsrf");
        let secure = c.secure && !over_http;
        match c.same_site.as_deref() {
            Some("strict" | "lax" | "none") => {}
            Some(_) => consider((
                T,
                -20,
                "cookies-samesite-flag-invalid",
                "Cookies use SameSite, but set to something other than Strict, Lax or None",
            )),
            None => {
                if anticsrf {
                    consider((
                        T,
                        -20,
                        "cookies-anticsrf-without-samesite-flag",
                        "Anti-CSRF tokens set without the SameSite flag",
                    ));
                }
                consider((
                    T,
                    0,
                    "cookies-secure-with-httponly-sessions",
                    "All cookies use Secure and session cookies use HttpOnly (SameSite missing)",
                ));
            }
        }
        if !secure {
            match (session, hsts && !over_http) {
                (true, true) => consider((
                    T,
                    -10,
                    "cookies-session-without-secure-flag-but-protected-by-hsts",
                    "Session cookie set without Secure, but HSTS prevents transmission over HTTP",
                )),
                (true, false) => consider((
                    T,
                    -40,
                    "cookies-session-without-secure-flag",
                    "Session cookie set without the Secure flag or set over HTTP",
                )),
                (false, true) => consider((
                    T,
                    -5,
                    "cookies-without-secure-flag-but-protected-by-hsts",
                    "Cookies set without Secure, but HSTS prevents transmission over HTTP",
                )),
                (false, false) => consider((
                    T,
                    -20,
                    "cookies-without-secure-flag",
                    "Cookies set without the Secure flag or set over HTTP",
                )),
            }
        }
        if session && !c.http_only {
            consider((
                T,
                -30,
                "cookies-session-without-httponly-flag",
                "Session cookie set without the HttpOnly flag",
            ));
        }
    }
    worst
}

fn cors(o: &Observed<'_>) -> Verdict {
    const T: &str = "cross-origin-resource-sharing";
    let headers = o.cors_headers.unwrap_or(o.headers);
    let Some(acao) = header(headers, "access-control-allow-origin").map(str::trim) else {
        return (
            T,
            0,
            "cross-origin-resource-sharing-not-implemented",
            "Content is not visible via CORS headers",
        );
    };
    let credentials = header(headers, "access-control-allow-credentials")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if acao == "*" {
        return (
            T,
            0,
            "cross-origin-resource-sharing-implemented-with-public-access",
            "Public content is visible via Access-Control-Allow-Origin: *",
        );
    }
    if o.cors_headers.is_some()
        && acao.eq_ignore_ascii_case(crate::CORS_PROBE_ORIGIN)
        && credentials
    {
        return (
            T,
            -50,
            "cross-origin-resource-sharing-implemented-with-universal-access",
            "Any origin is reflected into Access-Control-Allow-Origin, with credentials",
        );
    }
    (
        T,
        0,
        "cross-origin-resource-sharing-implemented-with-restricted-access",
        "Content is visible via CORS, restricted to specific origins",
    )
}

fn redirection(r: Redirection) -> Verdict {
    const T: &str = "redirection";
    match r {
        Redirection::ToHttps => (
            T,
            0,
            "redirection-to-https",
            "Initial redirection is to HTTPS on the same host, final destination is HTTPS",
        ),
        Redirection::NotNeededNoHttp => (
            T,
            0,
            "redirection-not-needed-no-http",
            "Not able to connect via HTTP, so no redirection necessary",
        ),
        Redirection::OffHostFromHttp => (
            T,
            -5,
            "redirection-off-host-from-http",
            "Initial redirection from HTTP to HTTPS is to a different host, preventing HSTS",
        ),
        Redirection::NotToHttpsOnInitialRedirection => (
            T,
            -10,
            "redirection-not-to-https-on-initial-redirection",
            "Redirects to HTTPS eventually, but the initial redirection is to another HTTP URL",
        ),
        Redirection::Missing => (
            T,
            -20,
            "redirection-missing",
            "Does not redirect to an HTTPS site",
        ),
        Redirection::NotToHttps => (
            T,
            -20,
            "redirection-not-to-https",
            "Redirects, but the final destination is not an HTTPS URL",
        ),
        Redirection::InvalidCert => (
            T,
            -20,
            "redirection-invalid-cert",
            "Invalid certificate chain encountered during redirection",
        ),
    }
}

fn referrer_policy(o: &Observed<'_>) -> Verdict {
    const T: &str = "referrer-policy";
    let values = header_values(o.headers, "referrer-policy");
    if values.is_empty() {
        return (
            T,
            0,
            "referrer-policy-not-implemented",
            "Referrer-Policy header not implemented",
        );
    }
    const PRIVATE: [&str; 4] = [
        "no-referrer",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
    ];
    const UNSAFE: [&str; 4] = [
        "origin",
        "origin-when-cross-origin",
        "unsafe-url",
        "no-referrer-when-downgrade",
    ];
    // Browsers use the last token they recognise.
    let last = values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .rfind(|t| PRIVATE.contains(&t.as_str()) || UNSAFE.contains(&t.as_str()));
    match last {
        Some(t) if PRIVATE.contains(&t.as_str()) => (
            T,
            5,
            "referrer-policy-private",
            "Referrer-Policy set to no-referrer, same-origin, strict-origin or strict-origin-when-cross-origin",
        ),
        Some(_) => (
            T,
            -5,
            "referrer-policy-unsafe",
            "Referrer-Policy set unsafely to origin, origin-when-cross-origin, unsafe-url or no-referrer-when-downgrade",
        ),
        None => (
            T,
            -5,
            "referrer-policy-header-invalid",
            "Referrer-Policy header cannot be recognized",
        ),
    }
}

/// Parsed `Strict-Transport-Security`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hsts {
    pub max_age: u64,
    pub include_subdomains: bool,
    pub preload: bool,
}

/// Parses the first `Strict-Transport-Security` header; `None` when it
/// has no valid `max-age` or repeats a directive.
pub fn parse_hsts(value: &str) -> Option<Hsts> {
    let mut max_age = None;
    let mut include_subdomains = false;
    let mut preload = false;
    let mut seen: Vec<String> = Vec::new();
    for part in value.split(';') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let k = k.trim().to_ascii_lowercase();
        if seen.contains(&k) {
            return None;
        }
        seen.push(k.clone());
        match k.as_str() {
            "max-age" => max_age = Some(v.trim().trim_matches('"').parse::<u64>().ok()?),
            "includesubdomains" => include_subdomains = true,
            "preload" => preload = true,
            _ => {}
        }
    }
    Some(Hsts {
        max_age: max_age?,
        include_subdomains,
        preload,
    })
}

fn strict_transport_security(o: &Observed<'_>) -> Verdict {
    const T: &str = "strict-transport-security";
    if o.url.scheme() != "https" {
        return (
            T,
            -20,
            "hsts-not-implemented-no-https",
            "HSTS cannot be set for sites not available over HTTPS",
        );
    }
    if !o.cert_valid {
        return (
            T,
            -20,
            "hsts-invalid-cert",
            "HSTS cannot take effect: the certificate chain is invalid",
        );
    }
    let Some(value) = header(o.headers, "strict-transport-security") else {
        return (
            T,
            -20,
            "hsts-not-implemented",
            "Strict-Transport-Security header not implemented",
        );
    };
    match parse_hsts(value) {
        None => (
            T,
            -20,
            "hsts-header-invalid",
            "Strict-Transport-Security header cannot be recognized",
        ),
        Some(h) if h.max_age < SIX_MONTHS => (
            T,
            -10,
            "hsts-implemented-max-age-less-than-six-months",
            "Strict-Transport-Security max-age is less than six months (15768000)",
        ),
        Some(_) => (
            T,
            0,
            "hsts-implemented-max-age-at-least-six-months",
            "Strict-Transport-Security max-age is at least six months (15768000)",
        ),
    }
}

/// A `<script src>` tag on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptTag {
    pub src: Option<String>,
    pub integrity: bool,
}

fn is_html(o: &Observed<'_>) -> bool {
    header(o.headers, "content-type").is_some_and(|v| v.to_ascii_lowercase().contains("html"))
        && o.html.is_some()
}

fn subresource_integrity(o: &Observed<'_>) -> Verdict {
    const T: &str = "subresource-integrity";
    if !is_html(o) {
        return (
            T,
            0,
            "sri-not-implemented-response-not-html",
            "SRI is only needed for HTML resources",
        );
    }
    let scripts: Vec<ScriptTag> = crate::html::scripts(o.html.unwrap_or_default())
        .into_iter()
        .filter(|s| s.src.is_some())
        .collect();
    if scripts.is_empty() {
        return (
            T,
            0,
            "sri-not-implemented-but-no-scripts-loaded",
            "SRI is not needed since the page loads no scripts",
        );
    }
    let mut worst: Option<Verdict> = None;
    let mut all_sri = true;
    let mut any_external = false;
    for s in &scripts {
        let raw = s.src.as_deref().unwrap_or_default().trim();
        all_sri &= s.integrity;
        let protocol_relative = raw.starts_with("//");
        let Ok(abs) = o.url.join(raw) else { continue };
        let same_origin = !protocol_relative
            && abs.scheme() == o.url.scheme()
            && abs.host_str() == o.url.host_str()
            && abs.port_or_known_default() == o.url.port_or_known_default();
        if same_origin {
            continue;
        }
        any_external = true;
        let secure = !protocol_relative && abs.scheme() == "https";
        let v: Verdict = match (s.integrity, secure) {
            (true, true) => (
                T,
                5,
                "sri-implemented-and-external-scripts-loaded-securely",
                "SRI is implemented and all scripts are loaded securely",
            ),
            (false, true) => (
                T,
                -5,
                "sri-not-implemented-but-external-scripts-loaded-securely",
                "SRI not implemented, but all external scripts are loaded over HTTPS",
            ),
            (true, false) => (
                T,
                -20,
                "sri-implemented-but-external-scripts-not-loaded-securely",
                "SRI implemented, but external scripts are loaded over HTTP or protocol-relative URLs",
            ),
            (false, false) => (
                T,
                -50,
                "sri-not-implemented-and-external-scripts-not-loaded-securely",
                "SRI not implemented, and external scripts are loaded over HTTP or protocol-relative URLs",
            ),
        };
        if worst.is_none_or(|w| v.1 < w.1) {
            worst = Some(v);
        }
    }
    match worst {
        Some(v) => v,
        None if all_sri && !any_external => (
            T,
            5,
            "sri-implemented-and-all-scripts-loaded-securely",
            "SRI is implemented and all scripts are loaded from the same origin",
        ),
        None => (
            T,
            0,
            "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
            "SRI not implemented, but all scripts are loaded from the same origin",
        ),
    }
}

fn x_content_type_options(o: &Observed<'_>) -> Verdict {
    const T: &str = "x-content-type-options";
    match header(o.headers, "x-content-type-options") {
        None => (
            T,
            -5,
            "x-content-type-options-not-implemented",
            "X-Content-Type-Options header not implemented",
        ),
        Some(v) if v.trim().eq_ignore_ascii_case("nosniff") => (
            T,
            0,
            "x-content-type-options-nosniff",
            "X-Content-Type-Options header set to nosniff",
        ),
        Some(_) => (
            T,
            -5,
            "x-content-type-options-header-invalid",
            "X-Content-Type-Options header cannot be recognized",
        ),
    }
}

fn x_frame_options(o: &Observed<'_>, csp: &[String]) -> Verdict {
    const T: &str = "x-frame-options";
    if parse_csp(csp).is_some_and(|p| directive(&p, "frame-ancestors").is_some()) {
        return (
            T,
            5,
            "x-frame-options-implemented-via-csp",
            "Framing restricted via the CSP frame-ancestors directive",
        );
    }
    match header(o.headers, "x-frame-options").map(|v| v.trim().to_ascii_lowercase()) {
        None => (
            T,
            -20,
            "x-frame-options-not-implemented",
            "X-Frame-Options header not implemented",
        ),
        Some(v) if v == "deny" || v == "sameorigin" => (
            T,
            0,
            "x-frame-options-sameorigin-or-deny",
            "X-Frame-Options header set to SAMEORIGIN or DENY",
        ),
        Some(v) if v.starts_with("allow-from ") => (
            T,
            0,
            "x-frame-options-allow-from-origin",
            "X-Frame-Options header uses ALLOW-FROM",
        ),
        Some(_) => (
            T,
            -20,
            "x-frame-options-header-invalid",
            "X-Frame-Options header cannot be recognized",
        ),
    }
}

fn cross_origin_resource_policy(o: &Observed<'_>) -> Verdict {
    const T: &str = "cross-origin-resource-policy";
    match header(o.headers, "cross-origin-resource-policy").map(|v| v.trim().to_ascii_lowercase()) {
        None => (
            T,
            0,
            "corp-not-implemented",
            "Cross-Origin-Resource-Policy not implemented (defaults to cross-origin)",
        ),
        Some(v) if v == "same-origin" => (
            T,
            10,
            "corp-implemented-with-same-origin",
            "Cross-Origin-Resource-Policy prevents leaks into cross-origin contexts",
        ),
        Some(v) if v == "same-site" => (
            T,
            10,
            "corp-implemented-with-same-site",
            "Cross-Origin-Resource-Policy prevents leaks into cross-site contexts",
        ),
        Some(v) if v == "cross-origin" => (
            T,
            0,
            "corp-implemented-with-cross-origin",
            "Cross-Origin-Resource-Policy allows cross-origin use",
        ),
        Some(_) => (
            T,
            -5,
            "corp-header-invalid",
            "Cross-Origin-Resource-Policy header cannot be recognized",
        ),
    }
}
