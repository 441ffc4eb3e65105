//! HTTPS everywhere, page by page: mixed content, forms that post over
//! HTTP, password fields on HTTP pages, HSTS preload readiness, the
//! HTTP→HTTPS redirect of each page, and the script inventory of payment
//! pages (origin and SRI of every script, PCI DSS 4.0 6.4.3).

use url::Url;

use crate::finding::{Finding, PageScript, Severity};
use crate::html::Page;
use crate::observatory::{parse_hsts, Redirection};

fn origin(u: &Url) -> String {
    u.origin().ascii_serialization()
}

/// Findings about one page's content.
pub fn page_findings(url: &Url, page: &Page) -> Vec<Finding> {
    let mut out = Vec::new();
    let https = url.scheme() == "https";
    if https {
        for (tag, src) in &page.subresources {
            let Ok(abs) = url.join(src) else { continue };
            if abs.scheme() != "http" {
                continue;
            }
            // Active content (scripts, styles, frames) is blocked by browsers and
            // breaks the page; passive content leaks what the customer sees.
            let active = matches!(
                tag.as_str(),
                "script" | "link" | "iframe" | "object" | "embed"
            );
            out.push(
                Finding::new(
                    if active {
                        "https.mixed-content-active"
                    } else {
                        "https.mixed-content-passive"
                    },
                    if active {
                        Severity::High
                    } else {
                        Severity::Low
                    },
                    format!("Mixed content: <{tag}> loaded over HTTP on an HTTPS page"),
                    url.as_str(),
                )
                .evidence(abs.to_string())
                .remediation("Load every resource over https:// (or use relative URLs)."),
            );
        }
    }
    for form in &page.forms {
        let target = if form.action.trim().is_empty() {
            Some(url.clone())
        } else {
            url.join(form.action.trim()).ok()
        };
        let Some(target) = target else { continue };
        if target.scheme() == "http" && (https || form.has_password || form.has_card_field) {
            let sensitive = form.has_password || form.has_card_field;
            out.push(
                Finding::new(
                    "https.form-posts-over-http",
                    if sensitive {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    if sensitive {
                        "A form with a password or card field submits over plain HTTP"
                    } else {
                        "A form submits over plain HTTP"
                    },
                    url.as_str(),
                )
                .evidence(format!("<form action=\"{}\"> → {target}", form.action))
                .remediation("Point form actions at https:// URLs and redirect HTTP to HTTPS."),
            );
        }
        if !https && form.has_password {
            out.push(
                Finding::new(
                    "https.password-on-http",
                    Severity::High,
                    "Password field on a page served over plain HTTP",
                    url.as_str(),
                )
                .evidence(format!("{url} has <input type=password>"))
                .remediation(
                    "Serve the page over HTTPS only, and redirect HTTP to HTTPS (Rampart does this for every site).",
                ),
            );
        }
    }
    out
}

/// True when the page takes payments: a checkout-like path or a card field.
pub fn is_payment_page(url: &Url, page: &Page) -> bool {
    let path = url.path().to_ascii_lowercase();
    ["checkout", "payment", "/pay", "/cart", "/order"]
        .iter()
        .any(|p| path.contains(p))
        || page.forms.iter().any(|f| f.has_card_field)
}

/// The script inventory of a payment page, and findings for scripts a
/// skimmer could hide in (third-party scripts without SRI).
pub fn payment_scripts(url: &Url, page: &Page) -> (Vec<PageScript>, Vec<Finding>) {
    let mut inventory = Vec::new();
    let mut findings = Vec::new();
    for s in &page.scripts {
        let Some(src) = s.src.as_deref() else {
            inventory.push(PageScript {
                page: url.to_string(),
                src: "inline".into(),
                origin: "inline".into(),
                same_origin: true,
                integrity: false,
            });
            continue;
        };
        let Ok(abs) = url.join(src) else { continue };
        let same = abs.origin() == url.origin();
        inventory.push(PageScript {
            page: url.to_string(),
            src: abs.to_string(),
            origin: origin(&abs),
            same_origin: same,
            integrity: s.integrity,
        });
        if !same && !s.integrity {
            findings.push(
                Finding::new(
                    "payment.third-party-script-without-sri",
                    Severity::Medium,
                    "Third-party script on a payment page without Subresource Integrity",
                    url.as_str(),
                )
                .evidence(abs.to_string())
                .remediation(
                    "Inventory and authorize every payment-page script (PCI DSS 6.4.3): add an \
                     integrity= hash, or serve it from your own origin, and pin it in the CSP.",
                ),
            );
        }
    }
    (inventory, findings)
}

/// Preload readiness of an HSTS header (hstspreload.org's requirements:
/// max-age of at least a year, includeSubDomains, preload).
pub fn hsts_findings(url: &Url, value: Option<&str>) -> Vec<Finding> {
    if url.scheme() != "https" {
        return vec![];
    }
    let Some(value) = value else {
        return vec![];
    };
    let Some(h) = parse_hsts(value) else {
        return vec![];
    };
    let mut missing = Vec::new();
    if h.max_age < 31_536_000 {
        missing.push(format!("max-age {} < 31536000", h.max_age));
    }
    if !h.include_subdomains {
        missing.push("no includeSubDomains".into());
    }
    if !h.preload {
        missing.push("no preload".into());
    }
    if missing.is_empty() {
        return vec![];
    }
    vec![Finding::new(
        "https.hsts-not-preload-ready",
        Severity::Info,
        "HSTS is not ready for the browsers' preload list",
        url.as_str(),
    )
    .evidence(format!(
        "Strict-Transport-Security: {value} ({})",
        missing.join(", ")
    ))
    .remediation(
        "Once every subdomain serves HTTPS, use max-age=63072000; includeSubDomains; preload \
         and submit the domain to the preload list.",
    )]
}

/// Classifies the chain of URLs the plain-HTTP request went through.
pub fn classify_redirect(http_url: &Url, chain: &[Url], final_status: u16) -> Redirection {
    let _ = final_status;
    if chain.len() < 2 {
        return Redirection::Missing;
    }
    let first = &chain[1];
    let last = &chain[chain.len() - 1];
    if last.scheme() != "https" {
        return Redirection::NotToHttps;
    }
    if first.scheme() != "https" {
        return Redirection::NotToHttpsOnInitialRedirection;
    }
    if first.host_str() != http_url.host_str() {
        return Redirection::OffHostFromHttp;
    }
    Redirection::ToHttps
}

/// A finding for a page that does not redirect to HTTPS.
pub fn redirect_finding(page: &Url, r: Redirection) -> Option<Finding> {
    let (severity, title) = match r {
        Redirection::ToHttps | Redirection::NotNeededNoHttp => return None,
        Redirection::OffHostFromHttp => (
            Severity::Low,
            "HTTP redirects to HTTPS on another host first, so HSTS is never set for this one",
        ),
        Redirection::NotToHttpsOnInitialRedirection => (
            Severity::Low,
            "HTTP redirects to another HTTP URL before reaching HTTPS",
        ),
        Redirection::Missing => (
            Severity::Medium,
            "The page is served over plain HTTP without a redirect to HTTPS",
        ),
        Redirection::NotToHttps => (Severity::Medium, "HTTP redirects, but never reaches HTTPS"),
        Redirection::InvalidCert => (
            Severity::Medium,
            "The HTTPS end of the redirect has an invalid certificate",
        ),
    };
    Some(
        Finding::new("https.no-redirect-to-https", severity, title, page.as_str())
            .evidence(format!(
                "plain HTTP for {}: {}",
                page.path(),
                serde_json::to_value(r)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            ))
            .remediation(
                "Answer every plain-HTTP request with a 301 to the same host and path on https://.",
            ),
    )
}
