//! Platform and plugin fingerprinting from what a shop shows anyone:
//! the `generator` meta tag, asset paths and their `?ver=` strings,
//! cookies and headers, and Magento's `/magento_version`. Covers
//! WordPress (and its plugins, WooCommerce first), Magento, PrestaShop,
//! Shopware and OpenCart. Yields [`Installed`] packages (with the names
//! advisory databases use for them) for `advisories` to match.

use std::sync::LazyLock;

use regex::Regex;
use url::Url;

use crate::advisories::Installed;
use crate::html::Page;
use crate::http::{Fetched, Fetcher};

static PLUGIN_VER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"/wp-content/plugins/([a-z0-9_-]+)/[^"'\s>]*\?ver=([0-9][0-9A-Za-z.\-]*)"#)
        .expect("valid regex")
});
static WP_VER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"/wp-includes/[^"'\s>]*\?ver=([0-9][0-9.]*)"#).expect("valid regex")
});
static GENERATOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?i)(WordPress|WooCommerce|PrestaShop|Shopware|OpenCart|Magento)\s*v?([0-9][0-9A-Za-z.\-]*)?")
        .expect("valid regex")
});
static MAGENTO_VERSION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Magento/([0-9][0-9.]*)").expect("valid regex"));

/// Names advisory databases use for a product.
fn names_of(product: &str) -> Vec<String> {
    let list: &[&str] = match product {
        "wordpress" => &["wordpress", "johnpbloch/wordpress-core", "roots/wordpress"],
        "woocommerce" => &[
            "woocommerce",
            "woocommerce/woocommerce",
            "wpackagist-plugin/woocommerce",
        ],
        "magento" => &[
            "magento/magento2-base",
            "magento/community-edition",
            "magento/product-community-edition",
            "magento",
        ],
        "prestashop" => &["prestashop/prestashop", "prestashop"],
        "shopware" => &[
            "shopware/core",
            "shopware/platform",
            "shopware/shopware",
            "shopware",
        ],
        "opencart" => &["opencart/opencart", "opencart"],
        _ => &[],
    };
    list.iter().map(|s| s.to_string()).collect()
}

/// What was recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Software {
    pub product: String,
    pub version: Option<String>,
    pub evidence: String,
}

impl Software {
    /// As a package to match, when the version is known.
    pub fn installed(&self, location: &str) -> Option<Installed> {
        let version = self.version.clone()?;
        let mut names = names_of(&self.product);
        if names.is_empty() {
            // A WordPress plugin by slug.
            names = vec![
                self.product.clone(),
                format!("wpackagist-plugin/{}", self.product),
            ];
        }
        Some(Installed {
            ecosystem: String::new(),
            names,
            version,
            location: location.to_string(),
        })
    }
}

fn push(out: &mut Vec<Software>, product: &str, version: Option<String>, evidence: String) {
    if let Some(existing) = out.iter_mut().find(|s| s.product == product) {
        if existing.version.is_none() && version.is_some() {
            existing.version = version;
            existing.evidence = evidence;
        }
        return;
    }
    out.push(Software {
        product: product.to_string(),
        version,
        evidence,
    });
}

/// Recognises what the start page shows.
pub fn from_page(start: &Fetched, page: &Page) -> Vec<Software> {
    let body = start.body.as_str();
    let lower = body.to_ascii_lowercase();
    let mut out = Vec::new();
    for g in &page.generators {
        if let Some(c) = GENERATOR.captures(g.trim()) {
            let product = c[1].to_ascii_lowercase();
            let version = c
                .get(2)
                .map(|m| m.as_str().trim_end_matches('.').to_string());
            push(
                &mut out,
                &product,
                version,
                format!("<meta name=generator content=\"{g}\">"),
            );
        }
    }
    if lower.contains("/wp-content/") || lower.contains("/wp-includes/") {
        let version = WP_VER.captures(body).map(|c| c[1].to_string());
        push(
            &mut out,
            "wordpress",
            None,
            "/wp-content/ asset paths".into(),
        );
        if let Some(v) = version {
            push(
                &mut out,
                "wordpress",
                Some(v.clone()),
                format!("wp-includes assets ?ver={v}"),
            );
        }
    }
    for c in PLUGIN_VER.captures_iter(body) {
        let (slug, ver) = (c[1].to_string(), c[2].to_string());
        push(
            &mut out,
            &slug,
            Some(ver.clone()),
            format!("/wp-content/plugins/{slug}/ assets ?ver={ver}"),
        );
    }
    let cookies = start.set_cookies.join("\n").to_ascii_lowercase();
    if lower.contains("text/x-magento-init")
        || lower.contains("mage.cookies")
        || lower.contains("/static/version")
        || start.header("x-magento-vary").is_some()
    {
        push(
            &mut out,
            "magento",
            None,
            "Magento page markers (x-magento-init, static/version)".into(),
        );
    }
    if lower.contains("var prestashop") || cookies.contains("prestashop-") {
        push(
            &mut out,
            "prestashop",
            None,
            "PrestaShop markers (prestashop JS object or cookie)".into(),
        );
    }
    if lower.contains("/bundles/storefront/")
        || start.header("sw-version-id").is_some()
        || start.header("sw-context-token").is_some()
    {
        push(
            &mut out,
            "shopware",
            None,
            "Shopware markers (bundles/storefront, sw-* headers)".into(),
        );
    }
    if lower.contains("catalog/view/theme/")
        || lower.contains("index.php?route=common/home")
        || cookies.contains("ocsessid")
    {
        push(
            &mut out,
            "opencart",
            None,
            "OpenCart markers (catalog/view/theme, OCSESSID)".into(),
        );
    }
    out
}

/// Asks the platform for more where it answers publicly (Magento's
/// `/magento_version`).
pub async fn refine(fetcher: &Fetcher, base: &Url, found: &mut Vec<Software>) {
    if found.iter().any(|s| s.product == "magento") {
        if let Ok(u) = base.join("magento_version") {
            if let Ok(f) = fetcher.get(&u, false).await {
                if f.status == 200 {
                    if let Some(c) = MAGENTO_VERSION.captures(f.body.trim()) {
                        let v = c[1].to_string();
                        push(
                            found,
                            "magento",
                            Some(v.clone()),
                            format!("/magento_version: {}", f.body.trim()),
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetched(body: &str) -> Fetched {
        Fetched {
            url: Url::parse("https://shop.example/").unwrap(),
            status: 200,
            headers: vec![("content-type".into(), "text/html".into())],
            body: body.into(),
            bytes: body.as_bytes().to_vec(),
            set_cookies: vec![],
            chain: vec![],
        }
    }

    #[test]
    fn recognises_wordpress_and_plugins() {
        let body = r#"<meta name="generator" content="WordPress 6.4.2"><meta name="generator" content="WooCommerce 8.0.0">
            <link href="/wp-content/plugins/contact-form-7/includes/css/styles.css?ver=5.7.1">"#;
        let f = fetched(body);
        let found = from_page(&f, &crate::html::parse(body));
        let got: Vec<(String, Option<String>)> = found
            .iter()
            .map(|s| (s.product.clone(), s.version.clone()))
            .collect();
        assert!(
            got.contains(&("wordpress".into(), Some("6.4.2".into()))),
            "{got:?}"
        );
        assert!(
            got.contains(&("woocommerce".into(), Some("8.0.0".into()))),
            "{got:?}"
        );
        assert!(
            got.contains(&("contact-form-7".into(), Some("5.7.1".into()))),
            "{got:?}"
        );
        let body = r#"<script type="text/x-magento-init">{}</script>"#;
        let found = from_page(&fetched(body), &crate::html::parse(body));
        assert_eq!(found[0].product, "magento");
        assert_eq!(found[0].version, None);
        for (body, product) in [
            ("<script>var prestashop = {};</script>", "prestashop"),
            (
                r#"<link href="/bundles/storefront/storefront.css">"#,
                "shopware",
            ),
            (
                r#"<link href="catalog/view/theme/default/stylesheet.css">"#,
                "opencart",
            ),
        ] {
            let found = from_page(&fetched(body), &crate::html::parse(body));
            assert_eq!(found.len(), 1, "{body}");
            assert_eq!(found[0].product, product);
        }
        let plain = "<html><p>Just a shop</p></html>";
        assert!(from_page(&fetched(plain), &crate::html::parse(plain)).is_empty());
    }
}
