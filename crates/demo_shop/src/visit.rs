//! One HTTP request as the shop sees it: path, query, cookies, the area's
//! session, a bounded body, and the refusals a page may answer with.
//!
//! Owns: body limits (1 MiB), form and JSON decoding, session cookies and
//! the shape of every response. Must not: decide what a page shows or
//! touch the database (pages and [`crate::shop::Shop`] do).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::store::{Session, SessionArea, StoreError};

/// Largest request body the shop reads.
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;
/// A too-large body up to this size is read and discarded before the 413,
/// so the client sees the answer instead of a reset connection.
const DRAIN_LIMIT_BYTES: usize = 16 * 1024 * 1024;
/// How long a client may take to send its body.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Cookie holding the storefront session id.
pub(crate) const STOREFRONT_COOKIE: &str = "shop_session";
/// Cookie holding the admin-area session id (path `/admin`).
pub(crate) const ADMIN_COOKIE: &str = "shop_admin_session";
/// Form field carrying the CSRF token.
pub(crate) const CSRF_FIELD: &str = "csrf_token";
/// Header carrying the CSRF token on JSON API calls.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// Every response the shop sends.
pub(crate) type ShopResponse = Response<Full<Bytes>>;

/// Why a request is refused; each becomes a clear 4xx/5xx page (or JSON
/// error under `/api/`).
#[derive(Debug)]
pub(crate) enum Refusal {
    /// 400: the request is malformed; the text says what is wrong.
    BadRequest(String),
    /// 403: a form without a valid CSRF token.
    FormExpired,
    /// 404.
    NotFound,
    /// 405, with the methods the path accepts.
    MethodNotAllowed(&'static str),
    /// 413: body above [`MAX_BODY_BYTES`].
    PayloadTooLarge,
    /// 415, with the content type the path expects.
    UnsupportedMediaType(&'static str),
    /// 408: the body did not arrive in time.
    BodyTimeout,
    /// 500: logged, never shown in detail.
    Internal(String),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Internal(e.to_string())
    }
}

impl Refusal {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Refusal::BadRequest(_) => StatusCode::BAD_REQUEST,
            Refusal::FormExpired => StatusCode::FORBIDDEN,
            Refusal::NotFound => StatusCode::NOT_FOUND,
            Refusal::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Refusal::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Refusal::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Refusal::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Page title.
    pub(crate) fn title(&self) -> &'static str {
        match self {
            Refusal::BadRequest(_) => "Something is wrong with that request",
            Refusal::FormExpired => "This form has expired",
            Refusal::NotFound => "Page not found",
            Refusal::MethodNotAllowed(_) => "Method not allowed",
            Refusal::PayloadTooLarge => "Request too large",
            Refusal::UnsupportedMediaType(_) => "Unsupported content type",
            Refusal::BodyTimeout => "Request timed out",
            Refusal::Internal(_) => "Something went wrong on our side",
        }
    }

    /// One line for the shopper.
    pub(crate) fn explanation(&self) -> String {
        match self {
            Refusal::BadRequest(why) => why.clone(),
            Refusal::FormExpired => {
                "The security token of this form is missing or out of date. Go back, reload the page and try again.".into()
            }
            Refusal::NotFound => "We could not find that page. It may have moved, or the product is no longer sold.".into(),
            Refusal::MethodNotAllowed(allowed) => format!("This address only accepts {allowed}."),
            Refusal::PayloadTooLarge => format!(
                "The request body is larger than {} KiB.",
                MAX_BODY_BYTES / 1024
            ),
            Refusal::UnsupportedMediaType(expected) => format!("This address expects {expected}."),
            Refusal::BodyTimeout => "The request body did not arrive in time.".into(),
            Refusal::Internal(_) => "Please try again in a moment.".into(),
        }
    }
}

/// A decoded `application/x-www-form-urlencoded` body or query string.
/// May hold card fields: no `Debug`.
pub(crate) struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    pub(crate) fn parse(bytes: &[u8]) -> Form {
        Form {
            fields: form_urlencoded::parse(bytes).into_owned().collect(),
        }
    }

    /// The first value of `name`, untrimmed.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The trimmed value of `name`, or empty.
    pub(crate) fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or("").trim().to_owned()
    }

    /// The trimmed, non-empty value of `name` of at most `max_chars`.
    pub(crate) fn required(
        &self,
        name: &str,
        label: &str,
        max_chars: usize,
    ) -> Result<String, String> {
        let value = self.text(name);
        if value.is_empty() {
            Err(format!("{label} is required."))
        } else if value.chars().count() > max_chars {
            Err(format!(
                "{label} is too long (at most {max_chars} characters)."
            ))
        } else if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            Err(format!("{label} contains control characters."))
        } else {
            Ok(value)
        }
    }

    /// A whole number in `range` from field `name`.
    pub(crate) fn number(
        &self,
        name: &str,
        label: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<i64, String> {
        let raw = self.text(name);
        match raw.parse::<i64>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(format!(
                "{label} must be a whole number from {} to {}.",
                range.start(),
                range.end()
            )),
        }
    }
}

/// One request to the shop.
pub(crate) struct Visit {
    pub method: Method,
    pub path: String,
    query: String,
    headers: HeaderMap,
    body: Option<Incoming>,
    /// Storefront or admin area (decided by the path).
    pub area: SessionArea,
    /// The area's session, when the browser has a live one.
    pub session: Option<Session>,
    set_cookies: Vec<String>,
}

impl Visit {
    pub(crate) fn new(request: hyper::Request<Incoming>) -> Visit {
        let (parts, body) = request.into_parts();
        let path = parts.uri.path().to_owned();
        let area = if path == "/admin" || path.starts_with("/admin/") {
            SessionArea::Admin
        } else {
            SessionArea::Storefront
        };
        Visit {
            method: parts.method,
            query: parts.uri.query().unwrap_or("").to_owned(),
            path,
            headers: parts.headers,
            body: Some(body),
            area,
            session: None,
            set_cookies: Vec::new(),
        }
    }

    /// Whether errors should be answered as JSON.
    pub(crate) fn is_api(&self) -> bool {
        self.path.starts_with("/api/")
    }

    pub(crate) fn query(&self) -> Form {
        Form::parse(self.query.as_bytes())
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The value of cookie `name`, if sent.
    pub(crate) fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.trim_matches('"').to_owned())
    }

    /// The session cookie name and path of this visit's area.
    pub(crate) fn session_cookie(&self) -> (&'static str, &'static str) {
        match self.area {
            SessionArea::Storefront => (STOREFRONT_COOKIE, "/"),
            SessionArea::Admin => (ADMIN_COOKIE, "/admin"),
        }
    }

    /// Whether the browser reached us over HTTPS (through a proxy that
    /// says so); cookies then get `Secure`.
    fn is_https(&self) -> bool {
        self.header("x-forwarded-proto")
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
    }

    /// Send the area's session cookie with the response.
    pub(crate) fn set_session_cookie(&mut self, session_id: &str) {
        let (name, path) = self.session_cookie();
        let max_age = match self.area {
            SessionArea::Storefront => "; Max-Age=1209600",
            SessionArea::Admin => "",
        };
        let secure = if self.is_https() { "; Secure" } else { "" };
        self.set_cookies.push(format!(
            "{name}={session_id}; Path={path}; HttpOnly; SameSite=Lax{max_age}{secure}"
        ));
    }

    /// Tell the browser to forget the area's session cookie.
    pub(crate) fn clear_session_cookie(&mut self) {
        let (name, path) = self.session_cookie();
        self.set_cookies.push(format!(
            "{name}=; Path={path}; HttpOnly; SameSite=Lax; Max-Age=0"
        ));
    }

    /// Attach the cookies this visit set to `response`.
    pub(crate) fn finish(&mut self, response: &mut ShopResponse) {
        for cookie in self.set_cookies.drain(..) {
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
    }

    /// Read the whole body, at most [`MAX_BODY_BYTES`].
    pub(crate) async fn body(&mut self) -> Result<Bytes, Refusal> {
        let Some(mut body) = self.body.take() else {
            return Err(Refusal::Internal("request body read twice".into()));
        };
        let declared = self
            .header("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > DRAIN_LIMIT_BYTES as u64) {
            return Err(Refusal::PayloadTooLarge);
        }
        let read = async {
            let mut buf = BytesMut::new();
            let mut seen = 0usize;
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| {
                    Refusal::BadRequest(format!("could not read the request body: {e}"))
                })?;
                if let Ok(data) = frame.into_data() {
                    seen = seen.saturating_add(data.len());
                    if seen > DRAIN_LIMIT_BYTES {
                        return Err(Refusal::PayloadTooLarge);
                    }
                    if seen <= MAX_BODY_BYTES {
                        buf.extend_from_slice(&data);
                    }
                }
            }
            if seen > MAX_BODY_BYTES {
                Err(Refusal::PayloadTooLarge)
            } else {
                Ok(buf.freeze())
            }
        };
        tokio::time::timeout(BODY_TIMEOUT, read)
            .await
            .unwrap_or(Err(Refusal::BodyTimeout))
    }

    fn content_type_is(&self, expected: &str) -> bool {
        self.header("content-type")
            .and_then(|ct| ct.split(';').next())
            .is_some_and(|ct| ct.trim().eq_ignore_ascii_case(expected))
    }

    /// Read an HTML form post.
    pub(crate) async fn form(&mut self) -> Result<Form, Refusal> {
        let body = self.body().await?;
        if !self.content_type_is("application/x-www-form-urlencoded") {
            return Err(Refusal::UnsupportedMediaType(
                "an HTML form (application/x-www-form-urlencoded)",
            ));
        }
        Ok(Form::parse(&body))
    }

    /// Read a JSON body into `T`.
    pub(crate) async fn json<T: DeserializeOwned>(&mut self) -> Result<T, Refusal> {
        let body = self.body().await?;
        if !self.content_type_is("application/json") {
            return Err(Refusal::UnsupportedMediaType("JSON (application/json)"));
        }
        serde_json::from_slice(&body).map_err(|e| Refusal::BadRequest(format!("invalid JSON: {e}")))
    }
}

/// Private pages must not be cached by the browser or a proxy.
fn no_store(response: &mut ShopResponse) {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// An HTML page.
pub(crate) fn html(status: StatusCode, markup: maud::Markup) -> ShopResponse {
    let mut response = Response::new(Full::new(Bytes::from(markup.into_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    no_store(&mut response);
    response
}

/// `303 See Other` to a path on this site.
pub(crate) fn see_other(location: &str) -> ShopResponse {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SEE_OTHER;
    let location = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/"));
    response.headers_mut().insert(header::LOCATION, location);
    no_store(&mut response);
    response
}

/// A JSON document.
pub(crate) fn json<T: Serialize>(status: StatusCode, value: &T) -> ShopResponse {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    no_store(&mut response);
    response
}

/// A body of any type, cacheable when `max_age` is given.
pub(crate) fn content(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
    max_age: Option<u32>,
) -> ShopResponse {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    match max_age {
        Some(secs) => {
            if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={secs}")) {
                response.headers_mut().insert(header::CACHE_CONTROL, v);
            }
        }
        None => no_store(&mut response),
    }
    response
}

/// A path on this site that is safe to redirect to after sign-in (no
/// other host, no scheme).
pub(crate) fn local_path(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 512
        && !next.chars().any(|c| c.is_control() || c == '\\');
    ok.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_path_refuses_other_hosts() {
        assert_eq!(local_path("/account"), Some("/account"));
        assert_eq!(local_path("//evil.example/"), None);
        assert_eq!(local_path("/\\evil.example"), None);
        assert_eq!(local_path("https://evil.example/"), None);
        assert_eq!(local_path("/a\r\nSet-Cookie: x=1"), None);
    }

    #[test]
    fn form_fields_are_validated() {
        let form = Form::parse(b"name=+Alice+&rating=7&empty=&ctl=a%00b");
        assert_eq!(form.required("name", "Name", 10).as_deref(), Ok("Alice"));
        assert!(form.required("empty", "Empty", 10).is_err());
        assert!(form.required("name", "Name", 3).is_err());
        assert!(form.required("ctl", "Ctl", 10).is_err());
        assert!(form.number("rating", "Rating", 1..=5).is_err());
        assert_eq!(Form::parse(b"r=3").number("r", "R", 1..=5), Ok(3));
    }
}
