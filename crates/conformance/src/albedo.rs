//! The backend the CRS suite expects (`albedo`, specified in
//! `albedo-capabilities.yaml`): any path answers 200 with no body;
//! `POST /reflect` answers with the status, headers and body that the
//! request's JSON asks for. [`respond`] computes the answer; the socket
//! server in the binary serves it over HTTP/1.1.

use base64::Engine as _;
use serde::Deserialize;

/// What the backend answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Deserialize, Default)]
struct Reflection {
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default, rename = "encodedBody")]
    encoded_body: Option<String>,
}

/// The answer to `method path` with `body`.
pub fn respond(method: &[u8], path: &[u8], body: &[u8]) -> Reply {
    let path_only = path.split(|b| *b == b'?').next().unwrap_or(path);
    if method == b"POST" && path_only == b"/reflect" {
        let spec: Reflection = match serde_json::from_slice(body) {
            Ok(s) => s,
            Err(e) => {
                return Reply {
                    status: 400,
                    headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
                    body: format!("invalid reflection spec: {e}").into_bytes(),
                }
            }
        };
        let body = match (&spec.encoded_body, &spec.body) {
            (Some(enc), _) => base64::engine::general_purpose::STANDARD
                .decode(enc.trim())
                .unwrap_or_default(),
            (None, Some(b)) => b.clone().into_bytes(),
            (None, None) => Vec::new(),
        };
        let status = spec
            .status
            .filter(|s| (100..=599).contains(s))
            .unwrap_or(200);
        let mut headers: Vec<(String, String)> = spec
            .headers
            .into_iter()
            .filter(|(k, v)| {
                valid_name(k) && !v.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
            })
            .collect();
        if !body.is_empty()
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            headers.push(("Content-Type".into(), sniff(&body).into()));
        }
        return Reply {
            status,
            headers,
            body,
        };
    }
    Reply {
        status: 200,
        headers: Vec::new(),
        body: Vec::new(),
    }
}

fn valid_name(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A reduced version of the content sniffing Go's HTTP server applies
/// when a handler sets no Content-Type.
pub fn sniff(body: &[u8]) -> &'static str {
    let start = body
        .iter()
        .position(|b| !b" \t\r\n\x0c".contains(b))
        .unwrap_or(body.len());
    let head = body[start..]
        .iter()
        .take(512)
        .copied()
        .collect::<Vec<u8>>()
        .to_ascii_lowercase();
    const HTML: &[&[u8]] = &[
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<script",
        b"<iframe",
        b"<h1",
        b"<div",
        b"<font",
        b"<table",
        b"<a",
        b"<style",
        b"<title",
        b"<b",
        b"<body",
        b"<br",
        b"<p",
        b"<!--",
    ];
    for sig in HTML {
        if head.starts_with(sig)
            && head
                .get(sig.len())
                .is_some_and(|c| *c == b' ' || *c == b'>')
        {
            return "text/html; charset=utf-8";
        }
    }
    if head.starts_with(b"<?xml") {
        return "text/xml; charset=utf-8";
    }
    if head.starts_with(b"%pdf-") {
        return "application/pdf";
    }
    let binary = body
        .iter()
        .take(512)
        .any(|b| matches!(b, 0..=8 | 0x0b | 0x0e..=0x1a | 0x1c..=0x1f));
    if binary {
        "application/octet-stream"
    } else {
        "text/plain; charset=utf-8"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflects() {
        let r = respond(
            b"POST",
            b"/reflect",
            br#"{"status":503,"headers":{"X-A":"1","Bad Name":"x"},"body":"ORA-00001"}"#,
        );
        assert_eq!(r.status, 503);
        assert_eq!(r.body, b"ORA-00001");
        assert!(r.headers.contains(&("X-A".into(), "1".into())));
        assert!(r
            .headers
            .iter()
            .any(|(k, v)| k == "Content-Type" && v.starts_with("text/plain")));
        assert!(!r.headers.iter().any(|(k, _)| k == "Bad Name"));
        let r = respond(b"GET", b"/anything?x", b"");
        assert_eq!((r.status, r.body.len()), (200, 0));
        assert_eq!(sniff(b"<html><body>x"), "text/html; charset=utf-8");
    }
}
