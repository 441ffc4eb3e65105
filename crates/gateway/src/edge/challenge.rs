//! The bot challenge: a proof-of-work page, served by Rampart itself (no
//! third-party service), that a browser solves in about a second and a
//! bot flooding the store has to pay for on every address.
//!
//! The page carries a signed challenge bound to the client address and
//! valid for five minutes. Its script finds a counter `n` such that
//! SHA-256(`challenge:n`) starts with `difficulty` zero bits and sends it
//! to `/.rampart/challenge`, which checks the signature, the age, the
//! address and the work, then sets a signed, expiring pass cookie bound to
//! the address and the site, and redirects back. Signatures are
//! HMAC-SHA-256 (ring) with a secret shared through Redis when the nodes
//! have `[cluster]`, else made at start.

use std::net::IpAddr;

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use ring::hmac;
use sha2::{Digest, Sha256};

/// Where the solved challenge is sent (a GET with token, n and next).
pub const PATH: &str = "/.rampart/challenge";
/// The pass cookie (`__Host-`: Secure, Path=/, no Domain).
pub const COOKIE: &str = "__Host-rampart_pass";
/// How long a challenge may take to solve.
const CHALLENGE_TTL_S: i64 = 300;

/// Signs and checks challenges and passes.
pub struct Signer {
    key: hmac::Key,
}

impl Signer {
    pub fn new(secret: &[u8]) -> Signer {
        Signer {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    fn mac(&self, msg: &str) -> String {
        hex(hmac::sign(&self.key, msg.as_bytes()).as_ref())
    }

    fn check(&self, msg: &str, mac_hex: &str) -> bool {
        match unhex(mac_hex) {
            // Constant time: ring's verify.
            Some(tag) => hmac::verify(&self.key, msg.as_bytes(), &tag).is_ok(),
            None => false,
        }
    }

    /// A fresh challenge for `ip`: `v1.EXPIRY.NONCE.MAC`.
    pub fn challenge(&self, ip: IpAddr, now_s: i64) -> String {
        let exp = now_s + CHALLENGE_TTL_S;
        let nonce = hex(&rand::random::<[u8; 16]>());
        let mac = self.mac(&format!("challenge|{exp}|{nonce}|{ip}"));
        format!("v1.{exp}.{nonce}.{mac}")
    }

    /// Whether `token` is a challenge this signer made for `ip`, not
    /// expired, and `n` solves it at `difficulty`.
    pub fn verify_solution(
        &self,
        token: &str,
        n: &str,
        ip: IpAddr,
        difficulty: u8,
        now_s: i64,
    ) -> Result<(), &'static str> {
        let mut parts = token.split('.');
        let (Some("v1"), Some(exp), Some(nonce), Some(mac), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err("malformed challenge");
        };
        let exp: i64 = exp.parse().map_err(|_| "malformed challenge")?;
        if !self.check(&format!("challenge|{exp}|{nonce}|{ip}"), mac) {
            return Err("challenge not made for this address");
        }
        if exp < now_s {
            return Err("challenge expired");
        }
        if n.is_empty() || n.len() > 20 || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err("malformed solution");
        }
        if leading_zero_bits(&Sha256::digest(format!("{token}:{n}").as_bytes())) < difficulty {
            return Err("wrong solution");
        }
        Ok(())
    }

    /// The pass cookie's value for `ip` on `site`, valid until `exp_s`.
    pub fn pass(&self, ip: IpAddr, site: &str, exp_s: i64) -> String {
        let mac = self.mac(&format!("pass|{exp_s}|{ip}|{site}"));
        format!("{exp_s}.{mac}")
    }

    /// Whether the request carries a valid pass for `ip` on `site`.
    pub fn has_pass(&self, headers: &HeaderMap, ip: IpAddr, site: &str, now_s: i64) -> bool {
        cookies(headers, COOKIE).any(|v| {
            let Some((exp, mac)) = v.split_once('.') else {
                return false;
            };
            let Ok(exp) = exp.parse::<i64>() else {
                return false;
            };
            exp >= now_s && self.check(&format!("pass|{exp}|{ip}|{site}"), mac)
        })
    }
}

/// The values of cookie `name` in the request.
fn cookies<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(move |c| {
            let (k, v) = c.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// Removes Rampart's pass cookie before the request goes to the store.
pub fn strip_pass(headers: &mut HeaderMap) {
    let had = headers
        .get_all(header::COOKIE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|s| s.contains(COOKIE)));
    if !had {
        return;
    }
    let kept: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty() && c.split('=').next() != Some(COOKIE))
        .map(str::to_string)
        .collect();
    headers.remove(header::COOKIE);
    if !kept.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&kept.join("; ")) {
            headers.insert(header::COOKIE, v);
        }
    }
}

fn leading_zero_bits(digest: &[u8]) -> u8 {
    let mut bits = 0u8;
    for b in digest {
        if *b == 0 {
            bits += 8;
        } else {
            bits += b.leading_zeros() as u8;
            break;
        }
    }
    bits
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.len() > 128 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A path safe to redirect to after the challenge: same site, absolute
/// path, no scheme-relative `//`.
pub fn safe_next(next: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 2048
        && next.bytes().all(|b| (0x21..0x7f).contains(&b));
    if ok {
        next.to_string()
    } else {
        "/".to_string()
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The challenge page.
pub fn page(token: &str, next: &str, difficulty: u8, request_id: &HeaderValue) -> Response<Bytes> {
    let id = request_id.to_str().unwrap_or("");
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"robots\" content=\"noindex\">\
<title>One moment, please</title>\
<style>body{{font-family:system-ui,sans-serif;background:#f5f6f8;color:#1d2433;margin:0}}\
main{{max-width:32rem;margin:12vh auto;padding:2rem;background:#fff;border-radius:12px;\
box-shadow:0 2px 12px rgba(0,0,0,.08)}}h1{{font-size:1.4rem;margin:0 0 .8rem}}\
small{{color:#6b7280}}</style></head>\n<body><main><h1>One moment, please</h1>\
<p id=\"status\">Your browser is checking that it is not a bot. This takes about a second.</p>\
<noscript><p>Please turn on JavaScript to continue to the shop.</p></noscript>\
<form id=\"rampart-challenge\" method=\"get\" action=\"{PATH}\">\
<input type=\"hidden\" name=\"token\" value=\"{token}\">\
<input type=\"hidden\" name=\"n\" value=\"\">\
<input type=\"hidden\" name=\"next\" value=\"{next}\"></form>\
<p><small>Reference {id} &middot; protected by Rampart</small></p></main>\n\
<script>\n\
(async function () {{\n\
  const form = document.getElementById('rampart-challenge');\n\
  const token = form.elements.token.value, need = {difficulty}, enc = new TextEncoder();\n\
  const zeros = function (buf) {{\n\
    let z = 0;\n\
    for (const b of new Uint8Array(buf)) {{ if (b === 0) {{ z += 8; continue; }} z += Math.clz32(b) - 24; break; }}\n\
    return z;\n\
  }};\n\
  for (let base = 0; ; base += 256) {{\n\
    const work = [];\n\
    for (let i = 0; i < 256; i++) work.push(crypto.subtle.digest('SHA-256', enc.encode(token + ':' + (base + i))));\n\
    const digests = await Promise.all(work);\n\
    for (let i = 0; i < 256; i++) {{\n\
      if (zeros(digests[i]) >= need) {{ form.elements.n.value = String(base + i); form.submit(); return; }}\n\
    }}\n\
  }}\n\
}})();\n\
</script></body></html>\n",
        token = html_escape(token),
        next = html_escape(next),
    );
    let mut resp = Response::new(Bytes::from(body));
    *resp.status_mut() = StatusCode::FORBIDDEN;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "x-rampart-challenge",
        HeaderValue::from_static("proof-of-work"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solve(token: &str, difficulty: u8) -> String {
        (0u64..)
            .find(|n| {
                leading_zero_bits(&Sha256::digest(format!("{token}:{n}").as_bytes())) >= difficulty
            })
            .unwrap()
            .to_string()
    }

    #[test]
    fn a_solved_challenge_verifies_only_for_its_address_and_in_time() {
        let s = Signer::new(b"secret-one");
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let t = s.challenge(ip, 1000);
        let n = solve(&t, 8);
        assert_eq!(s.verify_solution(&t, &n, ip, 8, 1000), Ok(()));
        let other: IpAddr = "203.0.113.8".parse().unwrap();
        assert!(s.verify_solution(&t, &n, other, 8, 1000).is_err());
        assert_eq!(
            s.verify_solution(&t, &n, ip, 8, 1000 + CHALLENGE_TTL_S + 1),
            Err("challenge expired")
        );
        // Another signer's challenge, a wrong counter, junk.
        assert!(Signer::new(b"secret-two")
            .verify_solution(&t, &n, ip, 8, 1000)
            .is_err());
        let wrong = (0u64..)
            .map(|k| k.to_string())
            .find(|k| leading_zero_bits(&Sha256::digest(format!("{t}:{k}").as_bytes())) < 8)
            .unwrap();
        assert_eq!(
            s.verify_solution(&t, &wrong, ip, 8, 1000),
            Err("wrong solution")
        );
        assert!(s.verify_solution("v1.x.y.z", "1", ip, 8, 1000).is_err());
        assert!(s.verify_solution(&t, "-1", ip, 8, 1000).is_err());
    }

    #[test]
    fn passes_are_bound_to_address_site_and_time() {
        let s = Signer::new(b"k");
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        let v = s.pass(ip, "shop", 5000);
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            format!("a=1; {COOKIE}={v}; b=2").parse().unwrap(),
        );
        assert!(s.has_pass(&h, ip, "shop", 4000));
        assert!(!s.has_pass(&h, ip, "other-site", 4000));
        assert!(!s.has_pass(&h, "2001:db8::2".parse().unwrap(), "shop", 4000));
        assert!(!s.has_pass(&h, ip, "shop", 5001));
        strip_pass(&mut h);
        assert_eq!(h[header::COOKIE], "a=1; b=2");
    }

    #[test]
    fn redirects_stay_on_the_site() {
        assert_eq!(safe_next("/checkout?x=1"), "/checkout?x=1");
        assert_eq!(safe_next("//evil.example/"), "/");
        assert_eq!(safe_next("https://evil.example/"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next("/a b"), "/");
    }
}
