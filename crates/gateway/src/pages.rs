//! The pages the gateway itself answers with: store down (502), store too
//! slow (504), body too large (413), unknown site (421), bad request (400).
//!
//! Owns: the wording and look of those pages. Must not: reveal internals
//! (upstream addresses, error details) to the client; those go to events.

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};

/// A small branded HTML page for `status`, quoting the request id so a
/// customer can pass it on to the shop.
pub fn error_page(status: StatusCode, request_id: &HeaderValue) -> Response<Bytes> {
    let (title, text) = match status.as_u16() {
        400 => (
            "Bad request",
            "Your browser sent a request this shop could not understand.",
        ),
        403 => (
            "Access blocked",
            "Requests from your address are blocked for a while after suspicious activity. \
             If you think this is a mistake, contact the shop and quote the reference below.",
        ),
        404 => ("Not found", "There is nothing at this address."),
        405 => (
            "Method not allowed",
            "This shop does not accept that kind of request.",
        ),
        413 => (
            "Request too large",
            "What you sent is larger than this shop accepts.",
        ),
        421 => (
            "Unknown site",
            "This server does not host the site you asked for.",
        ),
        429 => (
            "Too many requests",
            "You are sending requests faster than this shop accepts. Please wait a moment and try again.",
        ),
        502 => (
            "The shop is unavailable",
            "The shop could not be reached just now. Please try again in a few minutes.",
        ),
        504 => (
            "The shop is taking too long",
            "The shop did not answer in time. Please try again in a few minutes.",
        ),
        _ => (
            "Request refused",
            "This request was refused for security reasons.",
        ),
    };
    message_page(status, title, text, request_id)
}

/// A page like [`error_page`] with a title and sentence of the caller's
/// (HTML-escaped here).
pub fn message_page(
    status: StatusCode,
    title: &str,
    text: &str,
    request_id: &HeaderValue,
) -> Response<Bytes> {
    let (title, text) = (escape(title), escape(text));
    let id = escape(request_id.to_str().unwrap_or(""));
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{code} {title}</title>\
<style>body{{font-family:system-ui,sans-serif;background:#f5f6f8;color:#1d2433;margin:0}}\
main{{max-width:32rem;margin:12vh auto;padding:2rem;background:#fff;border-radius:12px;\
box-shadow:0 2px 12px rgba(0,0,0,.08)}}h1{{font-size:1.4rem;margin:0 0 .8rem}}\
small{{color:#6b7280}}</style></head>\n<body><main><h1>{title}</h1><p>{text}</p>\
<p><small>Error {code} &middot; reference {id} &middot; protected by Rampart</small></p>\
</main></body></html>\n",
        code = status.as_u16(),
    );
    let mut resp = Response::new(Bytes::from(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::BAD_GATEWAY {
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    }
    resp
}

/// `s` escaped for HTML text and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_names_the_status_and_reference() {
        let r = error_page(StatusCode::BAD_GATEWAY, &HeaderValue::from_static("req-1"));
        assert_eq!(r.status(), 502);
        let body = std::str::from_utf8(r.body()).unwrap();
        assert!(
            body.contains("The shop is unavailable") && body.contains("req-1"),
            "{body}"
        );
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    }
}
