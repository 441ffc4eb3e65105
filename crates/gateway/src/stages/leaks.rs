//! Leak prevention: card numbers in the store's responses are masked, or
//! the response withheld, before they reach the client.
//!
//! For a site whose `[site.cards] leaks` is `mask` or `block`, every text
//! response (HTML, JSON, XML, JavaScript, plain text) is scanned for card
//! numbers (`ops::cards`: Luhn-valid, in an issuer range, plain, spaced or
//! dashed). So that a response can be read, the request's
//! `Accept-Encoding` is narrowed to gzip and deflate, which are decoded
//! here (up to [`DECODED_LIMIT`]). A hit raises a critical `cards.leak`
//! event naming the page, never the number, and then:
//!
//! - `mask`: the response is sent decoded, with every card number's digits
//!   but the last four replaced by `*`;
//! - `block`: the response is replaced by an error page.
//!
//! A response longer than [`SCAN_LIMIT`] is scanned over its first
//! [`SCAN_LIMIT`] bytes; a hit there cannot be masked in a response that
//! is already partly streamed, so it is withheld in both modes. A
//! response in an encoding that cannot be read (the store ignored the
//! narrowed `Accept-Encoding`) passes under `mask` and is withheld under
//! `block`, with an event.

use std::io::Read;

use bytes::Bytes;
use http::{header, request, response, HeaderValue, StatusCode};
use ops::Severity;

use crate::config::LeakAction;
use crate::pages::message_page;
use crate::pipeline::{BodyInspection, BufferedBody, Decision, OverLimit, RequestContext, Stage};

/// How much of a response is scanned.
pub const SCAN_LIMIT: usize = 2 << 20;
/// The most a compressed response may inflate to when decoded.
pub const DECODED_LIMIT: usize = 16 << 20;

/// The leak-prevention stage.
#[derive(Debug, Default)]
pub struct LeakPrevention;

/// The request, as the response phases need it (they do not see it).
#[derive(Clone)]
struct Asked {
    method: http::Method,
    path: String,
}

fn textual(content_type: Option<&HeaderValue>) -> bool {
    let Some(ct) = content_type.and_then(|v| v.to_str().ok()) else {
        // Untyped: a browser sniffs it, so it is read.
        return true;
    };
    let e = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    e.starts_with("text/")
        || e.ends_with("+json")
        || e.ends_with("+xml")
        || matches!(
            e.as_str(),
            "application/json"
                | "application/xml"
                | "application/javascript"
                | "application/x-javascript"
                | "application/ecmascript"
                | "application/x-www-form-urlencoded"
                | "application/x-ndjson"
                | "application/csv"
        )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Identity,
    Gzip,
    Deflate,
    Unreadable,
}

fn coding(resp: &response::Parts) -> Coding {
    let mut out = Coding::Identity;
    for v in resp.headers.get_all(header::CONTENT_ENCODING) {
        let Ok(v) = v.to_str() else {
            return Coding::Unreadable;
        };
        for c in v.split(',').map(|c| c.trim().to_ascii_lowercase()) {
            match c.as_str() {
                "" | "identity" => {}
                "gzip" | "x-gzip" if out == Coding::Identity => out = Coding::Gzip,
                "deflate" if out == Coding::Identity => out = Coding::Deflate,
                _ => return Coding::Unreadable,
            }
        }
    }
    out
}

/// `Accept-Encoding` keeping only the codings read here.
fn narrowed(value: &str) -> Option<String> {
    let kept: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|c| {
            let name = c.split(';').next().unwrap_or("").trim();
            ["gzip", "x-gzip", "deflate", "identity"]
                .iter()
                .any(|k| name.eq_ignore_ascii_case(k))
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join(", "))
}

fn decode(coding: Coding, bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let limit = DECODED_LIMIT as u64 + 1;
    let read = match coding {
        Coding::Gzip => flate2::read::MultiGzDecoder::new(bytes)
            .take(limit)
            .read_to_end(&mut out),
        Coding::Deflate => {
            // "deflate" is zlib-wrapped by the standard; some servers send
            // it raw.
            let zlib = flate2::read::ZlibDecoder::new(bytes)
                .take(limit)
                .read_to_end(&mut out);
            if zlib.is_err() {
                out.clear();
                flate2::read::DeflateDecoder::new(bytes)
                    .take(limit)
                    .read_to_end(&mut out)
            } else {
                zlib
            }
        }
        Coding::Identity | Coding::Unreadable => return None,
    };
    (read.is_ok() && out.len() <= DECODED_LIMIT).then_some(out)
}

impl LeakPrevention {
    fn event(ctx: &RequestContext, kind: &'static str, severity: Severity) -> ops::Event {
        let mut e = ops::Event::new(kind, severity);
        e.site = Some(ctx.site.name.clone());
        e.request_id = Some(ctx.request_id().to_string());
        e.client_ip = Some(ctx.client_addr.ip());
        if let Some(a) = ctx.state.get::<Asked>() {
            e.method = Some(a.method.as_str().to_string());
            e.uri = Some(a.path.clone());
        }
        e
    }

    fn withhold<'a>(ctx: &mut RequestContext, why: String) -> Decision<'a> {
        let e = Self::event(ctx, "cards.leak", Severity::Critical)
            .message(why)
            .data(serde_json::json!({"action": "blocked"}));
        ctx.events.emit(e);
        let mut page = message_page(
            StatusCode::BAD_GATEWAY,
            "Page withheld",
            "This page was withheld because it contained payment card data. The shop has been told.",
            &ctx.request_id,
        );
        page.headers_mut().remove(header::RETRY_AFTER);
        Decision::Respond(page)
    }
}

impl Stage for LeakPrevention {
    fn name(&self) -> &'static str {
        "leaks"
    }

    fn request_headers<'a>(
        &'a self,
        ctx: &'a mut RequestContext,
        req: &'a mut request::Parts,
    ) -> Decision<'a> {
        if ctx.site.cards.leaks == LeakAction::Off {
            return Decision::Continue;
        }
        ctx.state.insert(Asked {
            method: req.method.clone(),
            path: req.uri.path().to_string(),
        });
        let joined: Option<String> = {
            let values: Vec<&str> = req
                .headers
                .get_all(header::ACCEPT_ENCODING)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            (!values.is_empty()).then(|| values.join(", "))
        };
        if let Some(v) = joined {
            req.headers.remove(header::ACCEPT_ENCODING);
            if let Some(n) = narrowed(&v).and_then(|n| HeaderValue::from_str(&n).ok()) {
                req.headers.insert(header::ACCEPT_ENCODING, n);
            }
        }
        Decision::Continue
    }

    fn response_body_inspection(
        &self,
        ctx: &RequestContext,
        resp: &response::Parts,
    ) -> BodyInspection {
        if ctx.site.cards.leaks == LeakAction::Off
            || !textual(resp.headers.get(header::CONTENT_TYPE))
        {
            return BodyInspection::Skip;
        }
        BodyInspection::Buffer {
            limit: SCAN_LIMIT,
            over_limit: OverLimit::InspectPrefix,
        }
    }

    fn response_body<'a>(
        &'a self,
        ctx: &'a mut RequestContext,
        resp: &'a mut response::Parts,
        body: &'a mut BufferedBody,
    ) -> Decision<'a> {
        let action = ctx.site.cards.leaks;
        let coding = coding(resp);
        let decoded;
        let plain: &[u8] = match coding {
            Coding::Identity => &body.bytes,
            Coding::Unreadable => {
                if action == LeakAction::Block {
                    return Self::withhold(
                        ctx,
                        "a response in an encoding Rampart cannot read was withheld (leaks = \"block\")".into(),
                    );
                }
                let e = Self::event(ctx, "cards.leak_unscanned", Severity::Warning).message(
                    "a response in an encoding Rampart cannot read passed without a card-number scan",
                );
                ctx.events.emit(e);
                return Decision::Continue;
            }
            Coding::Gzip | Coding::Deflate if !body.complete => {
                // Only part of a compressed stream: what decodes is scanned.
                decoded = partial_decode(coding, &body.bytes);
                &decoded
            }
            Coding::Gzip | Coding::Deflate => match decode(coding, &body.bytes) {
                Some(d) => {
                    decoded = d;
                    &decoded
                }
                None => {
                    if action == LeakAction::Block {
                        return Self::withhold(
                            ctx,
                            "a compressed response that does not decode was withheld (leaks = \"block\")".into(),
                        );
                    }
                    return Decision::Continue;
                }
            },
        };
        let (masked, found) = ops::cards::mask_cards_in_bytes(plain);
        if found == 0 {
            return Decision::Continue;
        }
        if action == LeakAction::Block || !body.complete {
            let why = format!(
                "{found} card number(s) in the store's response: the response was withheld{}",
                if body.complete {
                    ""
                } else {
                    " (it was too long to mask)"
                }
            );
            return Self::withhold(ctx, why);
        }
        let masked = Bytes::from(masked.into_owned());
        let e = Self::event(ctx, "cards.leak", Severity::Critical)
            .message(format!(
                "{found} card number(s) in the store's response: masked before it was sent"
            ))
            .data(serde_json::json!({"action": "masked", "cards": found}));
        ctx.events.emit(e);
        if coding != Coding::Identity {
            resp.headers.remove(header::CONTENT_ENCODING);
        }
        body.bytes = masked;
        Decision::Continue
    }
}

/// What decodes of the start of a compressed stream.
fn partial_decode(coding: Coding, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let mut reader: Box<dyn Read> = match coding {
        Coding::Gzip => Box::new(flate2::read::MultiGzDecoder::new(bytes)),
        _ => Box::new(flate2::read::ZlibDecoder::new(bytes)),
    };
    while out.len() < DECODED_LIMIT {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_keeps_what_can_be_read() {
        assert_eq!(
            narrowed("br, gzip;q=0.9, zstd, deflate").as_deref(),
            Some("gzip;q=0.9, deflate")
        );
        assert_eq!(narrowed("br, zstd"), None);
        assert_eq!(narrowed("*"), None);
        assert_eq!(narrowed("identity").as_deref(), Some("identity"));
    }

    #[test]
    fn text_types_are_scanned() {
        let t = |s: &'static str| textual(Some(&HeaderValue::from_static(s)));
        assert!(t("text/html; charset=utf-8"));
        assert!(t("application/json"));
        assert!(t("application/problem+json"));
        assert!(t("application/javascript"));
        assert!(!t("image/png"));
        assert!(!t("application/octet-stream"));
        assert!(textual(None));
    }

    #[test]
    fn gzip_and_deflate_decode_within_the_limit() {
        use std::io::Write;
        let text = b"card 4111 1111 1111 1111 here".repeat(10);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&text).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(decode(Coding::Gzip, &gz).unwrap(), text);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&text).unwrap();
        assert_eq!(decode(Coding::Deflate, &z.finish().unwrap()).unwrap(), text);
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        raw.write_all(&text).unwrap();
        assert_eq!(
            decode(Coding::Deflate, &raw.finish().unwrap()).unwrap(),
            text
        );
        assert!(decode(Coding::Gzip, b"not gzip").is_none());
        // The first half of a long stream yields its beginning.
        let long: Vec<u8> = (0..200_000u32)
            .flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes())
            .collect();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&long).unwrap();
        let gz = gz.finish().unwrap();
        let start = partial_decode(Coding::Gzip, &gz[..gz.len() / 2]);
        assert!(start.len() > 100_000 && long.starts_with(&start));
    }
}
