//! Header rules of a reverse proxy: request ids, hop-by-hop removal,
//! `X-Forwarded-*` and `Forwarded` (RFC 7239), and the security headers on
//! every HTTPS response.
//!
//! Owns: what the gateway adds to or removes from headers on the way
//! through. Must not: decide whether a request is allowed (stages do).

use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use ipnet::IpNet;

use crate::config::SecurityHeaders;

/// `X-Request-Id`.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
static FORWARDED: HeaderName = HeaderName::from_static("forwarded");
static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// A client-supplied request id is used when it is 1–128 characters of
/// `[A-Za-z0-9._:-]`.
pub fn is_valid_request_id(id: &[u8]) -> bool {
    (1..=128).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// The request id: the client's when well-formed, else 128 random bits as
/// 32 hex digits.
pub fn request_id(headers: &HeaderMap) -> HeaderValue {
    if let Some(v) = headers.get(&X_REQUEST_ID) {
        if is_valid_request_id(v.as_bytes()) {
            return v.clone();
        }
    }
    new_request_id()
}

/// A fresh random request id.
pub fn new_request_id() -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let n: u128 = rand::random();
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = HEX[((n >> (124 - 4 * i)) & 0xf) as usize];
    }
    HeaderValue::from_bytes(&out).expect("hex digits are a valid header value")
}

/// True if the request asks to switch to the WebSocket protocol
/// (HTTP/1.1 `Connection: upgrade` + `Upgrade: websocket`).
pub fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    let upgrade = headers
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    upgrade && connection_has(headers, b"upgrade")
}

fn connection_has(headers: &HeaderMap, token: &[u8]) -> bool {
    headers.get_all(header::CONNECTION).iter().any(|v| {
        v.as_bytes()
            .split(|b| *b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
    })
}

/// Removes hop-by-hop headers (RFC 9110 7.6.1): the fixed list and every
/// header the `Connection` header names. With `upgrade`, `Connection:
/// upgrade` and `Upgrade` are kept for a protocol switch.
pub fn strip_hop_by_hop(headers: &mut HeaderMap, upgrade: bool) {
    // One pass over the names finds which hop-by-hop headers are here;
    // only those are removed (most messages carry none, or `Connection`
    // alone).
    let mut present = 0u16;
    for name in headers.keys() {
        if let Some(i) = hop_by_hop_index(name) {
            present |= 1 << i;
        }
    }
    if present == 0 && !upgrade {
        return;
    }
    if present & 1 << CONNECTION_BIT != 0 {
        // Headers the `Connection` header names go too; the fixed ones
        // are counted in `present` when they are here.
        let named: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .flat_map(|v| v.as_bytes().split(|b| *b == b','))
            .filter_map(|t| HeaderName::from_bytes(t.trim_ascii()).ok())
            .filter(|n| hop_by_hop_index(n).is_none())
            .collect();
        for name in named {
            headers.remove(&name);
        }
    }
    for (i, name) in HOP_BY_HOP.iter().enumerate() {
        if present & 1 << i != 0 && !(upgrade && *name == header::UPGRADE) {
            headers.remove(*name);
        }
    }
    if upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
}

/// The fixed hop-by-hop headers (RFC 9110 7.6.1, and the old
/// `Keep-Alive` and `Proxy-Connection`).
static HOP_BY_HOP: [&HeaderName; 9] = [
    &header::CONNECTION,
    &header::TE,
    &header::TRAILER,
    &header::TRANSFER_ENCODING,
    &header::UPGRADE,
    &header::PROXY_AUTHENTICATE,
    &header::PROXY_AUTHORIZATION,
    &KEEP_ALIVE,
    &PROXY_CONNECTION,
];
const CONNECTION_BIT: usize = 0;

fn hop_by_hop_index(name: &HeaderName) -> Option<usize> {
    HOP_BY_HOP.iter().position(|h| *h == name)
}

/// A header value built on the stack: one allocation (in `HeaderValue`)
/// and no formatting machinery, for the values set on every request.
struct ValueBuf {
    buf: [u8; 256],
    len: usize,
    overflow: bool,
}

impl ValueBuf {
    fn new() -> ValueBuf {
        ValueBuf {
            buf: [0; 256],
            len: 0,
            overflow: false,
        }
    }

    fn push(&mut self, bytes: &[u8]) -> &mut Self {
        match self.buf.get_mut(self.len..self.len + bytes.len()) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.len += bytes.len();
            }
            None => self.overflow = true,
        }
        self
    }

    /// An address as `Display` writes it (dotted quad; RFC 5952 for IPv6).
    fn push_ip(&mut self, ip: IpAddr) -> &mut Self {
        match ip {
            IpAddr::V4(v4) => {
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        self.push(b".");
                    }
                    let digits = [
                        b'0' + octet / 100,
                        b'0' + octet / 10 % 10,
                        b'0' + octet % 10,
                    ];
                    let skip = if octet >= 100 {
                        0
                    } else if octet >= 10 {
                        1
                    } else {
                        2
                    };
                    self.push(&digits[skip..]);
                }
                self
            }
            IpAddr::V6(v6) => {
                use std::io::Write;
                let mut rest = &mut self.buf[self.len..];
                let room = rest.len();
                if write!(rest, "{v6}").is_ok() {
                    self.len += room - rest.len();
                } else {
                    self.overflow = true;
                }
                self
            }
        }
    }

    fn value(&self) -> Option<HeaderValue> {
        if self.overflow {
            return None;
        }
        HeaderValue::from_bytes(&self.buf[..self.len]).ok()
    }
}

/// The `Forwarded` element for one hop (RFC 7239).
fn forwarded_element(client: IpAddr, host: &str, proto: &str) -> Option<HeaderValue> {
    let mut b = ValueBuf::new();
    match client {
        IpAddr::V4(_) => b.push(b"for=").push_ip(client),
        IpAddr::V6(_) => b.push(b"for=\"[").push_ip(client).push(b"]\""),
    };
    b.push(b";host=\"")
        .push(host.as_bytes())
        .push(b"\";proto=")
        .push(proto.as_bytes());
    if b.overflow {
        let v = match client {
            IpAddr::V4(ip) => format!("for={ip};host=\"{host}\";proto={proto}"),
            IpAddr::V6(ip) => format!("for=\"[{ip}]\";host=\"{host}\";proto={proto}"),
        };
        return HeaderValue::from_str(&v).ok();
    }
    b.value()
}

/// True if `ip` is one of the configured trusted proxies.
pub fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    trusted.iter().any(|n| n.contains(&ip))
}

/// Sets `X-Forwarded-For`, `-Proto`, `-Host` and `Forwarded` for a request
/// from `client` to `host`. From an untrusted client, whatever it sent in
/// these headers is discarded first; from a trusted proxy, its values are
/// kept and the client is appended.
pub fn set_forwarded(
    headers: &mut HeaderMap,
    client: IpAddr,
    host: &HeaderValue,
    tls: bool,
    trusted: bool,
) {
    let proto = if tls { "https" } else { "http" };
    let client = match client {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(client),
        v4 => v4,
    };
    let host_str = host.to_str().unwrap_or("");
    let forwarded = forwarded_element(client, host_str, proto);
    if trusted {
        append_list(headers, &X_FORWARDED_FOR, &client.to_string());
        if let Some(f) = &forwarded {
            append_list(headers, &FORWARDED, f.to_str().unwrap_or(""));
        }
        if !headers.contains_key(&X_FORWARDED_PROTO) {
            headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static(proto));
        }
        if !headers.contains_key(&X_FORWARDED_HOST) {
            headers.insert(X_FORWARDED_HOST.clone(), host.clone());
        }
    } else {
        match ValueBuf::new().push_ip(client).value() {
            Some(v) => headers.insert(X_FORWARDED_FOR.clone(), v),
            None => headers.remove(&X_FORWARDED_FOR),
        };
        match forwarded {
            Some(v) => headers.insert(FORWARDED.clone(), v),
            None => headers.remove(&FORWARDED),
        };
        headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static(proto));
        headers.insert(X_FORWARDED_HOST.clone(), host.clone());
    }
}

fn set(headers: &mut HeaderMap, name: &HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name.clone(), v);
    } else {
        headers.remove(name);
    }
}

/// Joins every existing value of `name` and `value` into one list value.
fn append_list(headers: &mut HeaderMap, name: &HeaderName, value: &str) {
    let mut joined = String::new();
    for v in headers.get_all(name) {
        if let Ok(s) = v.to_str() {
            if !joined.is_empty() {
                joined.push_str(", ");
            }
            joined.push_str(s);
        }
    }
    if !joined.is_empty() {
        joined.push_str(", ");
    }
    joined.push_str(value);
    set(headers, name, &joined);
}

/// The security headers of one site, rendered once at configuration time.
#[derive(Debug, Clone)]
pub struct SecurityHeaderSet {
    entries: Vec<(HeaderName, HeaderValue)>,
    override_store: bool,
}

impl SecurityHeaderSet {
    pub fn new(config: &SecurityHeaders) -> Self {
        let mut entries = Vec::new();
        if config.hsts {
            let mut v = format!("max-age={}", config.hsts_max_age);
            if config.hsts_include_subdomains {
                v.push_str("; includeSubDomains");
            }
            if config.hsts_preload {
                v.push_str("; preload");
            }
            entries.push((
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_str(&v).expect("digits and ASCII"),
            ));
        }
        if config.nosniff {
            entries.push((
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ));
        }
        if !config.referrer_policy.is_empty() {
            if let Ok(v) = HeaderValue::from_str(&config.referrer_policy) {
                entries.push((header::REFERRER_POLICY, v));
            }
        }
        if !config.frame_ancestors.is_empty() {
            if let Ok(v) =
                HeaderValue::from_str(&format!("frame-ancestors {}", config.frame_ancestors))
            {
                entries.push((header::CONTENT_SECURITY_POLICY, v));
            }
        }
        SecurityHeaderSet {
            entries,
            override_store: config.override_store,
        }
    }

    /// Adds the headers to a response. A header the store already set is
    /// kept, unless `override_store`: then it is replaced, except
    /// `Content-Security-Policy`, to which ours is added as a second policy
    /// (browsers enforce both, so the store's policy is never weakened).
    pub fn apply(&self, headers: &mut HeaderMap) {
        use http::header::Entry;
        for (name, value) in &self.entries {
            // One lookup per header.
            match headers.entry(name) {
                Entry::Vacant(v) => {
                    v.insert(value.clone());
                }
                Entry::Occupied(mut o) if self.override_store => {
                    if *name == header::CONTENT_SECURITY_POLICY {
                        o.append(value.clone());
                    } else {
                        o.insert(value.clone());
                    }
                }
                Entry::Occupied(_) => {}
            }
        }
    }
}

/// The client's address: the peer's, or, when the peer is a trusted
/// proxy, the nearest untrusted hop of `X-Forwarded-For` (a malformed
/// header counts as none: the peer is then the client).
pub(crate) fn client_ip(
    peer: std::net::IpAddr,
    headers: &http::HeaderMap,
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    if trusted.is_empty() || !is_trusted(peer, trusted) {
        return peer;
    }
    let mut hops: Vec<std::net::IpAddr> = Vec::new();
    for v in headers.get_all("x-forwarded-for") {
        let Ok(s) = v.to_str() else {
            return peer;
        };
        for part in s.split(',') {
            match part.trim().parse() {
                Ok(ip) => hops.push(ip),
                Err(_) => return peer,
            }
        }
    }
    hops.into_iter()
        .rev()
        .find(|ip| !is_trusted(*ip, trusted))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids() {
        assert!(is_valid_request_id(b"abc-123_x.y:z"));
        assert!(!is_valid_request_id(b""));
        assert!(!is_valid_request_id(&[b'a'; 129]));
        assert!(is_valid_request_id(&[b'a'; 128]));
        assert!(!is_valid_request_id(b"a b"));
        assert!(!is_valid_request_id(b"a/b"));
        let mut h = HeaderMap::new();
        h.insert(&X_REQUEST_ID, HeaderValue::from_static("given-1"));
        assert_eq!(request_id(&h), "given-1");
        h.insert(&X_REQUEST_ID, HeaderValue::from_static("bad id"));
        let id = request_id(&h);
        assert_eq!(id.len(), 32);
        assert!(id.as_bytes().iter().all(u8::is_ascii_hexdigit));
        assert_ne!(new_request_id(), new_request_id());
    }

    #[test]
    fn hop_by_hop_headers_go() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, X-Secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(header::TE, HeaderValue::from_static("trailers"));
        h.insert(header::UPGRADE, HeaderValue::from_static("h2c"));
        h.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        strip_hop_by_hop(&mut h, false);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h.contains_key(header::ACCEPT));

        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        assert!(is_websocket_upgrade(&h));
        strip_hop_by_hop(&mut h, true);
        assert_eq!(h[header::UPGRADE], "websocket");
        assert_eq!(h[header::CONNECTION], "upgrade");
    }

    #[test]
    fn every_fixed_hop_by_hop_header_goes_and_others_stay() {
        let mut h = HeaderMap::new();
        for name in HOP_BY_HOP {
            h.append((*name).clone(), HeaderValue::from_static("x"));
            h.append((*name).clone(), HeaderValue::from_static("y"));
        }
        h.insert(header::CONNECTION, HeaderValue::from_static("close"));
        h.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h, false);
        let mut left: Vec<_> = h.keys().map(|k| k.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["accept", "x-kept"]);
        // Connection alone (the usual store response).
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("3"));
        strip_hop_by_hop(&mut h, false);
        assert_eq!(h.len(), 1);
        // An upgrade with no hop-by-hop header still says so.
        let mut h = HeaderMap::new();
        strip_hop_by_hop(&mut h, true);
        assert_eq!(h[header::CONNECTION], "upgrade");
    }

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        let mut ips: Vec<IpAddr> = vec![
            "0.0.0.0".parse().unwrap(),
            "255.255.255.255".parse().unwrap(),
            "::".parse().unwrap(),
            "2001:db8::1".parse().unwrap(),
            "fe80::1:2:3:4".parse().unwrap(),
            "::ffff:1.2.3.4".parse().unwrap(),
        ];
        for a in [0u8, 1, 9, 10, 42, 99, 100, 101, 199, 200, 250, 255] {
            ips.push(IpAddr::from([a, 255 - a, a / 3, 7]));
        }
        for ip in ips {
            let v = ValueBuf::new().push_ip(ip).value().unwrap();
            assert_eq!(v.to_str().unwrap(), ip.to_string());
        }
        // A host too long for the stack buffer is formatted on the heap.
        let host = "h".repeat(300);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let v = forwarded_element(ip, &host, "https").unwrap();
        assert_eq!(
            v.to_str().unwrap(),
            format!("for=10.0.0.1;host=\"{host}\";proto=https")
        );
        let ip: IpAddr = "2001:db8::2".parse().unwrap();
        let v = forwarded_element(ip, "s.example", "http").unwrap();
        assert_eq!(v, "for=\"[2001:db8::2]\";host=\"s.example\";proto=http");
    }

    #[test]
    fn forwarded_headers_replace_untrusted_and_append_trusted() {
        let host = HeaderValue::from_static("shop.example:8443");
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
        h.insert("forwarded", HeaderValue::from_static("for=6.6.6.6"));
        set_forwarded(&mut h, "10.1.2.3".parse().unwrap(), &host, true, false);
        assert_eq!(h["x-forwarded-for"], "10.1.2.3");
        assert_eq!(h["x-forwarded-proto"], "https");
        assert_eq!(h["x-forwarded-host"], "shop.example:8443");
        assert_eq!(
            h["forwarded"],
            "for=10.1.2.3;host=\"shop.example:8443\";proto=https"
        );

        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("1.1.1.1"));
        set_forwarded(&mut h, "::1".parse().unwrap(), &host, true, true);
        assert_eq!(h["x-forwarded-for"], "1.1.1.1, ::1");
        assert_eq!(
            h["forwarded"],
            "for=\"[::1]\";host=\"shop.example:8443\";proto=https"
        );
        let long = "a".repeat(300);
        let mut h = HeaderMap::new();
        set_forwarded(
            &mut h,
            "10.1.2.3".parse().unwrap(),
            &HeaderValue::from_str(&long).unwrap(),
            false,
            false,
        );
        assert_eq!(
            h["forwarded"],
            format!("for=10.1.2.3;host=\"{long}\";proto=http").as_str()
        );
        let nets: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert!(is_trusted("10.9.9.9".parse().unwrap(), &nets));
        assert!(is_trusted("::ffff:10.9.9.9".parse().unwrap(), &nets));
        assert!(!is_trusted("11.0.0.1".parse().unwrap(), &nets));
    }

    #[test]
    fn security_headers_keep_or_override_the_stores() {
        let mut config = SecurityHeaders {
            hsts_include_subdomains: true,
            hsts_preload: true,
            ..SecurityHeaders::default()
        };
        let set = SecurityHeaderSet::new(&config);
        let mut h = HeaderMap::new();
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        set.apply(&mut h);
        assert_eq!(
            h[header::STRICT_TRANSPORT_SECURITY],
            "max-age=31536000; includeSubDomains; preload"
        );
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], "frame-ancestors 'self'");

        config.override_store = true;
        config.nosniff = false;
        let set = SecurityHeaderSet::new(&config);
        let mut h = HeaderMap::new();
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'"),
        );
        set.apply(&mut h);
        assert_eq!(
            h[header::REFERRER_POLICY],
            "strict-origin-when-cross-origin"
        );
        assert_eq!(h.get_all(header::CONTENT_SECURITY_POLICY).iter().count(), 2);
        assert!(!h.contains_key(header::X_CONTENT_TYPE_OPTIONS));
    }
}
