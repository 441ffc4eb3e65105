//! Store platform presets: what Rampart knows about the store behind a
//! site (`[[site]] platform = "woocommerce"`), so that the CRS never
//! blocks a real customer of that platform and the other stages know
//! where its admin, login, checkout and payment live.
//!
//! Owns: the preset data, which is plain files in the repository
//! (`crates/gateway/presets/NAME.toml` and `NAME.conf`, compiled into the
//! binary), and the route and marker matching that other stages use.
//! Must not: evaluate rules (the `.conf` exclusions are SecLang that the
//! WAF stage loads after the CRS setup) or know any stage.
//!
//! A preset's TOML holds the admin paths to protect, the checkout routes
//! and their card fields (for tokenization), the login-failure and
//! payment-decline markers (for the jails) and the platform's known noisy
//! cookies and arguments. Its `.conf` holds the exclusions, each scoped
//! by rule id, variable and path, each with a comment saying which
//! platform behaviour it covers.

use serde::Deserialize;

/// The presets compiled into the binary: name, TOML, SecLang exclusions.
const BUILT_IN: &[(&str, &str, &str)] = &[
    (
        "demo",
        include_str!("../presets/demo.toml"),
        include_str!("../presets/demo.conf"),
    ),
    (
        "woocommerce",
        include_str!("../presets/woocommerce.toml"),
        include_str!("../presets/woocommerce.conf"),
    ),
    (
        "magento2",
        include_str!("../presets/magento2.toml"),
        include_str!("../presets/magento2.conf"),
    ),
    (
        "prestashop",
        include_str!("../presets/prestashop.toml"),
        include_str!("../presets/prestashop.conf"),
    ),
    (
        "shopware6",
        include_str!("../presets/shopware6.toml"),
        include_str!("../presets/shopware6.conf"),
    ),
];

/// The rule ids a preset's exclusions may use: a hundred per preset, in
/// the order of [`BUILT_IN`] from 1990000 (the ids `rampart waf tune`
/// writes start at 1980000, so neither can collide with the other or the
/// CRS, whose ids stop below 1000000). `None` for `generic` and unknown
/// names.
pub fn id_range(name: &str) -> Option<std::ops::RangeInclusive<u32>> {
    let i = BUILT_IN.iter().position(|(n, _, _)| *n == name)? as u32;
    let first = 1_990_000 + 100 * i;
    Some(first..=first + 99)
}

/// Every accepted `platform` value, `generic` (no preset) included.
pub fn names() -> Vec<&'static str> {
    let mut n: Vec<&str> = BUILT_IN.iter().map(|(n, _, _)| *n).collect();
    n.push("generic");
    n
}

/// The preset called `name`; `None` for `generic` and unknown names
/// (tell them apart with [`names`]).
pub fn get(name: &str) -> Option<Preset> {
    let (name, toml_text, conf) = BUILT_IN.iter().find(|(n, _, _)| *n == name)?;
    // The built-in files are checked by this module's tests, so a parse
    // failure here is a build defect, not bad input.
    let data: PresetFile = toml::from_str(toml_text)
        .unwrap_or_else(|e| panic!("built-in preset {name}: {}", e.message()));
    Some(Preset {
        name: (*name).to_string(),
        title: data.title,
        admin_paths: data.admin_paths,
        admin_exempt: data.admin_exempt,
        noisy_cookies: data.noisy_cookies,
        session_cookies: data.session_cookies,
        noisy_args: data.noisy_args,
        checkout: data.checkout,
        login: data.login,
        payment: data.payment,
        exclusions: (*conf).to_string(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetFile {
    title: String,
    #[serde(default)]
    admin_paths: Vec<String>,
    #[serde(default)]
    admin_exempt: Vec<String>,
    #[serde(default)]
    noisy_cookies: Vec<String>,
    #[serde(default)]
    session_cookies: Vec<String>,
    #[serde(default)]
    noisy_args: Vec<String>,
    #[serde(default)]
    checkout: Vec<CheckoutRoute>,
    #[serde(default)]
    login: Vec<MarkedRoute>,
    #[serde(default)]
    payment: Vec<MarkedRoute>,
}

/// A store platform Rampart knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preset {
    /// `woocommerce`, `magento2`, ...
    pub name: String,
    /// For people: "WordPress + WooCommerce".
    pub title: String,
    /// Path patterns of the admin area (see [`path_matches`]).
    pub admin_paths: Vec<String>,
    /// Paths under the admin patterns that storefront visitors use too
    /// (WordPress's `admin-ajax.php`): not part of the admin area.
    pub admin_exempt: Vec<String>,
    /// Cookie names (a trailing `*` is a prefix) the platform sets with
    /// values that look like attacks to the CRS.
    pub noisy_cookies: Vec<String>,
    /// Cookie names (a trailing `*` is a prefix) that carry the store's
    /// session (for counting declined payments per session).
    pub session_cookies: Vec<String>,
    /// Argument names likewise.
    pub noisy_args: Vec<String>,
    pub checkout: Vec<CheckoutRoute>,
    /// Where staff and customers log in, and how a failure shows.
    pub login: Vec<MarkedRoute>,
    /// Where payments are submitted, and how a decline shows.
    pub payment: Vec<MarkedRoute>,
    /// SecLang exclusions, loaded after the CRS setup.
    pub exclusions: String,
}

impl Preset {
    /// True when `path` is in the admin area.
    pub fn is_admin(&self, path: &str) -> bool {
        self.admin_paths.iter().any(|p| path_matches(p, path))
            && !self.admin_exempt.iter().any(|p| path_matches(p, path))
    }

    /// The checkout route a request goes to, if any.
    pub fn checkout_route(&self, method: &str, path: &str, query: &str) -> Option<&CheckoutRoute> {
        self.checkout
            .iter()
            .find(|r| r.route.applies(method, path, query))
    }

    /// The login route a request goes to, if any.
    pub fn login_route(&self, method: &str, path: &str, query: &str) -> Option<&MarkedRoute> {
        self.login
            .iter()
            .find(|r| r.route.applies(method, path, query))
    }

    /// The payment route a request goes to, if any.
    pub fn payment_route(&self, method: &str, path: &str, query: &str) -> Option<&MarkedRoute> {
        self.payment
            .iter()
            .find(|r| r.route.applies(method, path, query))
    }
}

/// Which requests a route covers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Upper-case method; absent: any.
    #[serde(default)]
    pub method: Option<String>,
    /// A path pattern (see [`path_matches`]).
    pub path: String,
    /// `name=value` pairs the query string must carry (for platforms
    /// that route by argument, like WooCommerce's `wc-ajax=checkout`).
    #[serde(default)]
    pub query: Vec<String>,
}

impl Route {
    /// True when a request with this method, path and raw query string is
    /// on the route.
    pub fn applies(&self, method: &str, path: &str, query: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && path_matches(&self.path, path)
            && self
                .query
                .iter()
                .all(|pair| query.split('&').any(|q| q == pair))
    }
}

/// A checkout route and the form or JSON fields that carry card data.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRoute {
    #[serde(flatten)]
    pub route: Route,
    /// Field names of the card number, expiry, holder and security code
    /// (JSON fields as dotted paths).
    pub card_fields: Vec<String>,
}

/// A route whose outcome is read from the store's response: a failed
/// login, a declined payment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkedRoute {
    #[serde(flatten)]
    pub route: Route,
    /// Statuses a failure answers with; empty: any.
    #[serde(default)]
    pub status: Vec<u16>,
    /// Text in the response body that marks a failure.
    #[serde(default)]
    pub body: Vec<String>,
    /// Text in the `Location` of a redirect that marks a failure.
    #[serde(default)]
    pub location: Vec<String>,
}

impl MarkedRoute {
    /// True when the store's answer says the attempt failed: its status is
    /// one of the failure statuses (when any are listed) and, when body or
    /// location markers are listed, one of them is present.
    pub fn failed(&self, status: u16, location: Option<&str>, body: &[u8]) -> bool {
        if !self.status.is_empty() && !self.status.contains(&status) {
            return false;
        }
        if self.body.is_empty() && self.location.is_empty() {
            return !self.status.is_empty();
        }
        let in_body = self.body.iter().any(|m| contains(body, m.as_bytes()));
        let in_location = location.is_some_and(|l| self.location.iter().any(|m| l.contains(m)));
        in_body || in_location
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Matches a path pattern: segments compare literally, except that `*`
/// in a segment matches any run of characters within it (`admin*`
/// matches `admin4f2c`); a pattern whose last segment is `*` (as
/// `/wp-admin/*`) matches its parent and everything below it. A trailing
/// slash is not significant: `/admin` matches `/admin` and `/admin/`.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let pat = pattern.trim_end_matches('/');
    let p = path.trim_end_matches('/');
    let mut pat_segs = pat.split('/').peekable();
    let mut path_segs = p.split('/');
    while let Some(seg) = pat_segs.next() {
        if seg == "*" && pat_segs.peek().is_none() {
            return true;
        }
        match path_segs.next() {
            Some(s) if glob(seg, s) => {}
            _ => return false,
        }
    }
    path_segs.next().is_none()
}

/// Path patterns compiled once, for the checks made on every request:
/// the same matches as [`path_matches`], with the patterns whose first
/// segment is literal skipped unless the path's first segment is that
/// literal (most paths are then decided by one comparison per pattern).
#[derive(Debug, Clone, Default)]
pub struct PathSet {
    patterns: Vec<(Option<String>, String)>,
}

/// The first segment of a path or pattern (`"search"` of `/search/x?q`):
/// what lies between the first `/` and the next one, once the query,
/// the fragment and trailing slashes are cut; `None` for `/` and for text
/// without a `/`. Runs once per request for every route check, so it
/// scans bytes instead of splitting.
pub fn first_segment(path: &str) -> Option<&str> {
    let b = path.as_bytes();
    let mut end = b
        .iter()
        .position(|&c| c == b'?' || c == b'#')
        .unwrap_or(b.len());
    while end > 0 && b[end - 1] == b'/' {
        end -= 1;
    }
    let start = b[..end].iter().position(|&c| c == b'/')? + 1;
    let stop = b[start..end]
        .iter()
        .position(|&c| c == b'/')
        .map_or(end, |i| start + i);
    // Every index is at an ASCII byte, so a character boundary.
    path.get(start..stop)
}

impl PathSet {
    pub fn new<'a>(patterns: impl IntoIterator<Item = &'a str>) -> PathSet {
        PathSet {
            patterns: patterns
                .into_iter()
                .map(|p| {
                    let literal = first_segment(p)
                        .filter(|s| !s.contains('*'))
                        .map(str::to_string);
                    (literal, p.to_string())
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// True when one of the patterns matches `path`.
    pub fn matches(&self, path: &str) -> bool {
        !self.patterns.is_empty() && self.matches_at(path, first_segment(path))
    }

    /// [`PathSet::matches`] with `first`, the [`first_segment`] of `path`,
    /// worked out once by a caller that checks several sets.
    pub fn matches_at(&self, path: &str, first: Option<&str>) -> bool {
        self.patterns.iter().any(|(literal, pattern)| {
            literal.as_deref().is_none_or(|l| first == Some(l)) && path_matches(pattern, path)
        })
    }
}

/// Matches `text` against `pattern`, where `*` matches any run of
/// characters (case-sensitive, as URL paths and field names are).
pub fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_and_has_commented_exclusions() {
        for name in names() {
            if name == "generic" {
                assert!(get(name).is_none());
                continue;
            }
            let p = get(name).unwrap();
            assert!(!p.title.is_empty(), "{name}");
            assert!(!p.admin_paths.is_empty(), "{name}: admin paths");
            assert!(!p.checkout.is_empty(), "{name}: checkout routes");
            assert!(!p.login.is_empty(), "{name}: login routes");
            // Every exclusion rule is preceded by a comment saying why.
            let mut commented = false;
            for line in p.exclusions.lines() {
                let l = line.trim();
                if l.starts_with('#') {
                    commented = true;
                } else if l.starts_with("SecRule") || l.starts_with("SecAction") {
                    assert!(commented, "{name}: uncommented exclusion {l}");
                    commented = false;
                } else if l.is_empty() {
                    // A blank line ends a comment's reach only if a rule
                    // did not follow; keep the flag.
                }
            }
        }
    }

    #[test]
    fn each_preset_keeps_to_its_own_rule_ids() {
        let mut seen = std::collections::BTreeSet::new();
        for name in names().into_iter().filter(|n| *n != "generic") {
            let range = id_range(name).unwrap();
            let p = get(name).unwrap();
            let ids: Vec<u32> = p
                .exclusions
                .split("id:")
                .skip(1)
                .map(|t| {
                    let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse().unwrap()
                })
                .collect();
            assert!(!ids.is_empty(), "{name}: no exclusion rules");
            for id in ids {
                assert!(range.contains(&id), "{name}: id {id} outside {range:?}");
                assert!(seen.insert(id), "{name}: id {id} used twice");
            }
        }
        assert_eq!(id_range("demo"), Some(1_990_000..=1_990_099));
        assert_eq!(id_range("generic"), None);
    }

    #[test]
    fn paths() {
        assert!(path_matches("/wp-admin/*", "/wp-admin/"));
        // A compiled set decides as the patterns one by one do.
        let patterns = [
            "/wp-admin/*",
            "/admin",
            "/order/*/pay",
            "/checkout",
            "/admin*/*",
            "/*",
            "/",
            "/a/*/b*/*",
        ];
        let set_of = |p: &str| PathSet::new([p]);
        for path in [
            "/",
            "",
            "/wp-admin",
            "/wp-admin/x",
            "/admin/",
            "/admin/orders",
            "/order/1/pay",
            "/checkout?x=1",
            "/admin4f/i.php",
            "/a/q/bee/c",
            "/a/q/c",
            "/x#frag",
            "/search/",
        ] {
            for p in patterns {
                assert_eq!(set_of(p).matches(path), path_matches(p, path), "{p} {path}");
            }
            let all = PathSet::new(patterns);
            assert_eq!(
                all.matches(path),
                patterns.iter().any(|p| path_matches(p, path)),
                "{path}"
            );
        }
        assert!(!PathSet::default().matches("/"));
        // first_segment scans bytes; it agrees with the plain definition.
        let by_split = |p: &str| {
            let p = p.split(['?', '#']).next().unwrap_or("");
            p.trim_end_matches('/')
                .split('/')
                .nth(1)
                .map(str::to_string)
        };
        for p in [
            "",
            "/",
            "//",
            "/a",
            "/a/",
            "/a/b",
            "a/b",
            "a",
            "/a?x/y",
            "/?q",
            "/#f/x",
            "/a//b",
            "///",
            "/search/x?q=1#f",
            "/é/ü",
        ] {
            assert_eq!(first_segment(p).map(str::to_string), by_split(p), "{p:?}");
        }
        assert!(path_matches("/wp-admin/*", "/wp-admin"));
        assert!(path_matches("/wp-admin/*", "/wp-admin/post.php"));
        assert!(path_matches("/wp-admin/*", "/wp-admin/a/b"));
        assert!(!path_matches("/wp-admin/*", "/wp-adminx"));
        assert!(path_matches("/admin", "/admin/"));
        assert!(!path_matches("/admin", "/admin/orders"));
        assert!(path_matches("/order/*/pay", "/order/12/pay"));
        assert!(!path_matches("/order/*/pay", "/order/12/pay/x"));
        assert!(path_matches("/checkout", "/checkout?x=1"));
        assert!(path_matches("/admin*/*", "/admin4f2c/index.php"));
        assert!(!path_matches("/admin*/*", "/shop/admin"));
        assert!(path_matches(
            "/rest/*/V1/carts/mine/payment-information",
            "/rest/default/V1/carts/mine/payment-information"
        ));
    }

    #[test]
    fn globs() {
        assert!(glob("wordpress_logged_in_*", "wordpress_logged_in_3f2a"));
        assert!(glob("*-card-number", "wc-stripe-card-number"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exactly"));
        assert!(!glob("ab*ba", "aba"));
    }

    #[test]
    fn routes_by_query_and_method() {
        let r = Route {
            method: Some("POST".into()),
            path: "/".into(),
            query: vec!["wc-ajax=checkout".into()],
        };
        assert!(r.applies("POST", "/", "wc-ajax=checkout"));
        assert!(r.applies("post", "/", "a=1&wc-ajax=checkout"));
        assert!(!r.applies("GET", "/", "wc-ajax=checkout"));
        assert!(!r.applies("POST", "/", "wc-ajax=checkout_x"));
    }

    #[test]
    fn markers() {
        let m = MarkedRoute {
            route: Route {
                method: None,
                path: "/login".into(),
                query: vec![],
            },
            status: vec![200, 302],
            body: vec!["Invalid password".into()],
            location: vec!["login_failed".into()],
        };
        assert!(m.failed(200, None, b"<p>Invalid password</p>"));
        assert!(m.failed(302, Some("/login?login_failed=1"), b""));
        assert!(!m.failed(302, Some("/account"), b""));
        assert!(!m.failed(500, None, b"Invalid password"));
        let status_only = MarkedRoute {
            status: vec![401],
            body: vec![],
            location: vec![],
            ..m
        };
        assert!(status_only.failed(401, None, b""));
        assert!(!status_only.failed(200, None, b""));
    }

    #[test]
    fn admin_area_with_exemptions() {
        let p = get("woocommerce").unwrap();
        assert!(p.is_admin("/wp-admin/options.php"));
        assert!(!p.is_admin("/wp-admin/admin-ajax.php"));
        assert!(!p.is_admin("/shop/"));
        let d = get("demo").unwrap();
        assert!(d.is_admin("/admin/orders"));
        assert!(d.checkout_route("POST", "/checkout", "").is_some());
    }
}
