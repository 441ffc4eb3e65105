//! One request through the gateway, start to end: the HTTPS handler that
//! runs the stage pipeline and forwards to the store, and the plain-HTTP
//! handler that redirects to HTTPS.
//!
//! Owns: the order of work for a request (see `pipeline` for the stage
//! contract), upstream errors and timeouts, WebSocket tunnels, the
//! request's event and metrics. Must not: parse configuration or accept
//! connections (see `server`).

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::uri::{PathAndQuery, Scheme};
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, Version};
use http_body::Body as _;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use ops::{Action, Event, Severity};

use crate::body::{self, BodyError, Buffered, GatewayBody};
use crate::headers::{self, X_REQUEST_ID};
use crate::pages::error_page;
use crate::pipeline::{BufferedBody, Findings, RequestContext};
use crate::runtime::{Runtime, Shared, Site};

/// Where a connection came from and arrived.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnInfo {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub tls: bool,
}

impl ConnInfo {
    fn client_ip(&self) -> IpAddr {
        match self.client.ip() {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(IpAddr::V4)
                .unwrap_or(self.client.ip()),
            v4 => v4,
        }
    }
}

/// What an event about this request says about it, captured before stages
/// may rewrite the request.
struct Origin {
    method: Method,
    uri: Uri,
}

impl Origin {
    fn event(
        &self,
        kind: &'static str,
        severity: Severity,
        conn: &ConnInfo,
        request_id: &HeaderValue,
    ) -> Event {
        let mut e = Event::new(kind, severity);
        e.request_id = Some(request_id.to_str().unwrap_or("").to_string());
        e.client_ip = Some(conn.client_ip());
        e.method = Some(self.method.as_str().to_string());
        e.uri = Some(
            self.uri
                .path_and_query()
                .map(PathAndQuery::as_str)
                .unwrap_or("/")
                .to_string(),
        );
        e
    }
}

/// The host a request names: the URI authority (HTTP/2, absolute-form)
/// or the single `Host` header. Returns the value as sent and the host
/// name alone (no port, no brackets, no trailing dot).
///
/// A request that names no host (HTTP/1.0 without `Host`, or an empty
/// `Host`, which RFC 9112 allows) gets the empty name: only the default
/// site serves it. HTTP/1.1 without `Host` is an error (RFC 9112 3.2).
fn request_host(
    uri: &Uri,
    headers: &HeaderMap,
    version: Version,
) -> Result<(HeaderValue, String), &'static str> {
    let value = match uri.authority() {
        Some(a) => HeaderValue::from_str(a.as_str()).map_err(|_| "invalid authority")?,
        None => {
            let mut all = headers.get_all(header::HOST).iter();
            let first = match all.next() {
                Some(v) => v,
                None if version < Version::HTTP_11 => {
                    return Ok((HeaderValue::from_static(""), String::new()))
                }
                None => return Err("no Host header"),
            };
            if all.next().is_some() {
                return Err("more than one Host header");
            }
            if first.is_empty() {
                if version >= Version::HTTP_11 {
                    return Err("empty Host header");
                }
                return Ok((HeaderValue::from_static(""), String::new()));
            }
            first.clone()
        }
    };
    let host = host_name(value.as_bytes()).ok_or("invalid Host header")?;
    Ok((value, host))
}

/// Parses `host[:port]` or `[v6][:port]` and returns the lower-case host.
fn host_name(raw: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(raw).ok()?;
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']')?;
        (&rest[..end], &rest[end + 1..])
    } else {
        match s.rfind(':') {
            Some(i) => (&s[..i], &s[i..]),
            None => (s, ""),
        }
    };
    if !port.is_empty() {
        let digits = port.strip_prefix(':')?;
        if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    let ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'));
    if !ok || (host.contains(':') && !s.starts_with('[')) {
        return None;
    }
    Some(host.to_ascii_lowercase())
}

/// Adds what every HTTPS answer carries: security headers, request id.
fn finish_headers(
    headers: &mut HeaderMap,
    security: &crate::headers::SecurityHeaderSet,
    request_id: &HeaderValue,
) {
    security.apply(headers);
    headers.insert(X_REQUEST_ID.clone(), request_id.clone());
}

/// The gateway answers itself with an error page; one event.
#[allow(clippy::too_many_arguments)]
fn gateway_answer(
    shared: &Shared,
    rt: &Runtime,
    site: Option<&Site>,
    conn: &ConnInfo,
    origin: &Origin,
    request_id: &HeaderValue,
    status: StatusCode,
    why: String,
    findings: Option<&mut Findings>,
) -> Response<GatewayBody> {
    let (kind, severity, action) = match status.as_u16() {
        502 => ("upstream.error", Severity::Error, Action::Error),
        504 => ("upstream.timeout", Severity::Error, Action::Error),
        _ => ("request", Severity::Notice, Action::Block),
    };
    let mut e = origin.event(kind, severity, conn, request_id);
    e.site = site.map(|s| s.config.name.clone());
    e.status = Some(status.as_u16());
    e.action = Some(action);
    e.message = why;
    // What the stages found before the gateway had to answer stays on
    // the record: in this request event, or (store errors) in a request
    // event of its own next to the upstream one.
    if let Some(f) = findings.filter(|f| !f.rules.is_empty()) {
        let mut r = if kind == "request" {
            std::mem::replace(&mut e, Event::new("request", Severity::Notice))
        } else {
            let mut r = origin.event("request", Severity::Notice, conn, request_id);
            r.site = e.site.clone();
            r.status = e.status;
            r.action = Some(f.action.unwrap_or(Action::Pass));
            shared.emit(std::mem::replace(
                &mut e,
                Event::new("request", Severity::Notice),
            ));
            r
        };
        r.rules = std::mem::take(&mut f.rules);
        r.anomaly_score = f.anomaly_score;
        if !f.message.is_empty() {
            r.message = format!("{}; {}", r.message, f.message)
                .trim_start_matches("; ")
                .to_string();
        }
        let reports = std::mem::take(&mut f.reports);
        if !reports.is_empty() {
            r.data = serde_json::json!({ "matches": reports });
        }
        e = r;
    }
    shared.emit(e);
    let (mut parts, bytes) = error_page(status, request_id).into_parts();
    let security = site.map(|s| &s.headers).unwrap_or(&rt.default_headers);
    if conn.tls {
        finish_headers(&mut parts.headers, security, request_id);
    } else {
        parts
            .headers
            .insert(X_REQUEST_ID.clone(), request_id.clone());
    }
    if let Some(s) = site {
        s.metrics.count(status.as_u16());
    }
    Response::from_parts(parts, GatewayBody::full(bytes))
}

/// The answer to a request over its connection's budget: 429, and the
/// connection closes after it (the edge reported it).
pub(crate) fn connection_over_budget(
    shared: &Shared,
    conn: &ConnInfo,
    headers: &HeaderMap,
) -> Response<GatewayBody> {
    let rt = shared.runtime.load();
    let request_id = headers::request_id(headers);
    let (mut parts, bytes) = error_page(StatusCode::TOO_MANY_REQUESTS, &request_id).into_parts();
    if conn.tls {
        finish_headers(&mut parts.headers, &rt.default_headers, &request_id);
    }
    parts
        .headers
        .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    parts
        .headers
        .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    Response::from_parts(parts, GatewayBody::full(bytes))
}

/// A stage answered: send its response with our headers; one event.
fn stage_answer(
    shared: &Shared,
    site: &Site,
    conn: &ConnInfo,
    origin: &Origin,
    ctx: &mut RequestContext,
    resp: Response<Bytes>,
) -> Response<GatewayBody> {
    let (mut parts, bytes) = resp.into_parts();
    let action = *ctx
        .findings
        .action
        .get_or_insert(if parts.status.is_redirection() {
            Action::Redirect
        } else {
            Action::Block
        });
    if action == Action::Block {
        site.metrics.blocked.inc();
    }
    shared.edge.after_request(ctx);
    if ctx.state.get::<crate::pipeline::QuietEvent>().is_none() {
        emit_request_event(shared, site, conn, origin, ctx, parts.status);
    }
    finish_headers(&mut parts.headers, &site.headers, &ctx.request_id);
    site.metrics.count(parts.status.as_u16());
    Response::from_parts(parts, GatewayBody::full(bytes))
}

fn emit_request_event(
    shared: &Shared,
    site: &Site,
    conn: &ConnInfo,
    origin: &Origin,
    ctx: &mut RequestContext,
    status: StatusCode,
) {
    let severity = match ctx.findings.action {
        Some(Action::Block) => Severity::Warning,
        _ => Severity::Notice,
    };
    let mut e = origin.event("request", severity, conn, &ctx.request_id);
    e.site = Some(site.config.name.clone());
    e.status = Some(status.as_u16());
    e.action = Some(ctx.findings.action.unwrap_or(Action::Pass));
    e.rules = std::mem::take(&mut ctx.findings.rules);
    e.anomaly_score = ctx.findings.anomaly_score;
    e.message = std::mem::take(&mut ctx.findings.message);
    let reports = std::mem::take(&mut ctx.findings.reports);
    if !reports.is_empty() {
        e.data = serde_json::json!({ "matches": reports });
    }
    shared.emit(e);
}

/// The slow-POST bounds for a site: `[site.limits]`, else `[server]`.
fn body_bounds(rt: &Runtime, site: &Site) -> (Duration, u64) {
    let l = &site.config.limits;
    (
        l.body_timeout.unwrap_or(rt.server.body_timeout),
        l.body_min_rate.unwrap_or(rt.server.body_min_rate),
    )
}

fn slow_body((timeout, rate): (Duration, u64)) -> String {
    format!(
        "request body sent too slowly (under {rate} bytes a second after {} ms)",
        timeout.as_millis()
    )
}

/// Reads and discards a refused request body in the background (bounded
/// in bytes and time), so the client, still sending, reads our answer
/// instead of a connection reset (lingering close, as nginx does). Bodies
/// over the bound are not read: the connection closes after the answer.
fn linger(mut incoming: Incoming, declared: u64) {
    const MAX_LINGER_BYTES: u64 = 4 * 1024 * 1024;
    if declared > MAX_LINGER_BYTES {
        return;
    }
    tokio::spawn(async move {
        let drain = async {
            let mut seen = 0u64;
            while let Some(Ok(frame)) = http_body_util::BodyExt::frame(&mut incoming).await {
                seen += frame.data_ref().map_or(0, |d| d.len() as u64);
                if seen > MAX_LINGER_BYTES {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), drain).await;
    });
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse().ok())
}

fn set_content_length(headers: &mut HeaderMap, len: usize) {
    headers.remove(header::TRANSFER_ENCODING);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
}

/// The HTTPS handler: pipeline, then the store.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    conn: ConnInfo,
    mut req: Request<Incoming>,
) -> Result<Response<GatewayBody>, Infallible> {
    let started = Instant::now();
    let rt = shared.runtime.load_full();
    let request_id = headers::request_id(req.headers());
    let origin = Origin {
        method: req.method().clone(),
        uri: req.uri().clone(),
    };
    let (host_value, host) = match request_host(req.uri(), req.headers(), req.version()) {
        Ok(h) => h,
        Err(why) => {
            let r = gateway_answer(
                &shared,
                &rt,
                None,
                &conn,
                &origin,
                &request_id,
                StatusCode::BAD_REQUEST,
                why.into(),
                None,
            );
            return Ok(r);
        }
    };
    let Some(site) = rt.site(&host).cloned() else {
        let why = format!("no site serves host {host:?}");
        let r = gateway_answer(
            &shared,
            &rt,
            None,
            &conn,
            &origin,
            &request_id,
            StatusCode::MISDIRECTED_REQUEST,
            why,
            None,
        );
        return Ok(r);
    };
    if req.method() == Method::CONNECT {
        // A store is not a forward proxy: tunnels are refused.
        let why = "CONNECT is not allowed".to_string();
        let r = gateway_answer(
            &shared,
            &rt,
            Some(&site),
            &conn,
            &origin,
            &request_id,
            StatusCode::METHOD_NOT_ALLOWED,
            why,
            None,
        );
        return Ok(r);
    }
    let upgrade = req.version() == Version::HTTP_11 && headers::is_websocket_upgrade(req.headers());
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
    let (mut parts, incoming) = req.into_parts();
    let mut ctx = RequestContext {
        request_id,
        client_addr: conn.client,
        server_addr: conn.server,
        tls: conn.tls,
        site: site.config.clone(),
        started,
        findings: Default::default(),
        state: http::Extensions::new(),
        edge: None,
        events: shared.events.clone(),
    };
    let answer = |status: StatusCode, why: String, ctx: &mut RequestContext| {
        gateway_answer(
            &shared,
            &rt,
            Some(&site),
            &conn,
            &origin,
            &ctx.request_id,
            status,
            why,
            Some(&mut ctx.findings),
        )
    };

    // Phase 1: request headers.
    if let Some(r) = rt.pipeline.request_headers(&mut ctx, &mut parts).await {
        return Ok(stage_answer(&shared, &site, &conn, &origin, &mut ctx, r));
    }

    // Phase 2: request body (buffered only if a stage asked).
    let cap = site.config.max_request_body_bytes;
    if let Some(declared) = content_length(&parts.headers).filter(|n| *n > cap) {
        linger(incoming, declared);
        return Ok(answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body over {cap} bytes"),
            &mut ctx,
        ));
    }
    let mut served: Vec<usize> = Vec::new();
    let body = if incoming.is_end_stream() {
        GatewayBody::Empty
    } else {
        let need = rt
            .pipeline
            .body_need(|s| s.request_body_inspection(&ctx, &parts));
        if let Some(n) = &need {
            served = n.stages.clone();
        }
        let (timeout, rate) = body_bounds(&rt, &site);
        let mut guard = body::SlowGuard::new(timeout, rate);
        match need {
            None => GatewayBody::request(incoming, Some(cap), guard),
            Some(need) => {
                let limit = need.limit.min(rt.server.inspection_buffer_bytes);
                match body::buffer(incoming, limit, Some(cap), Some(&mut guard)).await {
                    Err(BodyError::TooLarge) => {
                        let why = format!("request body over {cap} bytes");
                        return Ok(answer(StatusCode::PAYLOAD_TOO_LARGE, why, &mut ctx));
                    }
                    Err(BodyError::Peer(e)) => {
                        let why = format!("client broke off the request body: {e}");
                        return Ok(answer(StatusCode::BAD_REQUEST, why, &mut ctx));
                    }
                    Err(BodyError::TooSlow) => {
                        let why = slow_body(body_bounds(&rt, &site));
                        return Ok(answer(StatusCode::REQUEST_TIMEOUT, why, &mut ctx));
                    }
                    Ok(Buffered::Complete(bytes)) => {
                        let mut b = BufferedBody {
                            bytes,
                            complete: true,
                        };
                        if let Some(r) = rt
                            .pipeline
                            .request_body(&need, &mut ctx, &mut parts, &mut b)
                            .await
                        {
                            return Ok(stage_answer(&shared, &site, &conn, &origin, &mut ctx, r));
                        }
                        set_content_length(&mut parts.headers, b.bytes.len());
                        GatewayBody::full(b.bytes)
                    }
                    Ok(Buffered::Prefix(prefix, rest, remaining)) => {
                        if need.reject_over_limit {
                            let why =
                                format!("request body over the inspection limit of {limit} bytes");
                            return Ok(answer(StatusCode::PAYLOAD_TOO_LARGE, why, &mut ctx));
                        }
                        let mut b = BufferedBody {
                            bytes: prefix,
                            complete: false,
                        };
                        if let Some(r) = rt
                            .pipeline
                            .request_body(&need, &mut ctx, &mut parts, &mut b)
                            .await
                        {
                            return Ok(stage_answer(&shared, &site, &conn, &origin, &mut ctx, r));
                        }
                        GatewayBody::Stream {
                            prefix: Some(b.bytes),
                            inner: rest,
                            remaining,
                            timer: Some(Box::new(body::Timer::new(guard))),
                        }
                    }
                }
            }
        }
    };

    if let Some(r) = rt
        .pipeline
        .request_body_absent(&served, &mut ctx, &mut parts)
        .await
    {
        return Ok(stage_answer(&shared, &site, &conn, &origin, &mut ctx, r));
    }

    // To the store.
    let upstream_req = upstream_request(&rt, &site, &ctx, &host_value, parts, body, upgrade);
    let sent = Instant::now();
    let result = tokio::time::timeout(
        site.config.response_timeout,
        site.client.request(upstream_req),
    )
    .await;
    let mut resp = match result {
        Ok(Ok(resp)) => resp,
        Err(_) => {
            let why = format!(
                "store {} sent no response within {} ms",
                site.config.upstream.authority,
                site.config.response_timeout.as_millis()
            );
            return Ok(answer(StatusCode::GATEWAY_TIMEOUT, why, &mut ctx));
        }
        Ok(Err(e)) => {
            if body::is_too_large(&e) {
                let why = format!("request body over {cap} bytes");
                return Ok(answer(StatusCode::PAYLOAD_TOO_LARGE, why, &mut ctx));
            }
            if body::is_too_slow(&e) {
                return Ok(answer(
                    StatusCode::REQUEST_TIMEOUT,
                    slow_body(body_bounds(&rt, &site)),
                    &mut ctx,
                ));
            }
            let status = if is_timeout(&e) {
                StatusCode::GATEWAY_TIMEOUT
            } else {
                StatusCode::BAD_GATEWAY
            };
            let why = format!(
                "store {}: {}",
                site.config.upstream.authority,
                error_chain(&e)
            );
            return Ok(answer(status, why, &mut ctx));
        }
    };
    site.metrics
        .upstream_latency
        .observe(sent.elapsed().as_secs_f64());

    // A WebSocket handshake the store accepted: tunnel bytes both ways.
    let tunnel = match client_upgrade {
        Some(on_client) if resp.status() == StatusCode::SWITCHING_PROTOCOLS => {
            let on_store = hyper::upgrade::on(&mut resp);
            tokio::spawn(async move {
                if let (Ok(client), Ok(store)) = tokio::join!(on_client, on_store) {
                    let mut client = TokioIo::new(client);
                    let mut store = TokioIo::new(store);
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut store).await;
                }
            });
            true
        }
        _ => false,
    };

    let (mut rparts, rbody) = resp.into_parts();
    headers::strip_hop_by_hop(&mut rparts.headers, tunnel);

    // Phase 3: response headers.
    if let Some(r) = rt.pipeline.response_headers(&mut ctx, &mut rparts).await {
        return Ok(stage_answer(&shared, &site, &conn, &origin, &mut ctx, r));
    }

    // Phase 4: response body (buffered only if a stage asked).
    let need = if tunnel || rbody.is_end_stream() {
        None
    } else {
        rt.pipeline
            .body_need(|s| s.response_body_inspection(&ctx, &rparts))
    };
    let served: Vec<usize> = need.as_ref().map(|n| n.stages.clone()).unwrap_or_default();
    let body = match need {
        None => GatewayBody::stream(rbody, None),
        Some(need) => {
            let limit = need.limit.min(rt.server.inspection_buffer_bytes);
            match body::buffer(rbody, limit, None, None).await {
                Err(e) => {
                    let why = format!(
                        "store {} broke off its response: {e}",
                        site.config.upstream.authority
                    );
                    return Ok(answer(StatusCode::BAD_GATEWAY, why, &mut ctx));
                }
                Ok(Buffered::Complete(bytes)) => {
                    let mut b = BufferedBody {
                        bytes,
                        complete: true,
                    };
                    if let Some(r) = rt
                        .pipeline
                        .response_body(&need, &mut ctx, &mut rparts, &mut b)
                        .await
                    {
                        return Ok(stage_answer(&shared, &site, &conn, &origin, &mut ctx, r));
                    }
                    set_content_length(&mut rparts.headers, b.bytes.len());
                    GatewayBody::full(b.bytes)
                }
                Ok(Buffered::Prefix(prefix, rest, _)) => {
                    if need.reject_over_limit {
                        let why =
                            format!("response body over the inspection limit of {limit} bytes");
                        return Ok(answer(StatusCode::BAD_GATEWAY, why, &mut ctx));
                    }
                    let mut b = BufferedBody {
                        bytes: prefix,
                        complete: false,
                    };
                    if let Some(r) = rt
                        .pipeline
                        .response_body(&need, &mut ctx, &mut rparts, &mut b)
                        .await
                    {
                        return Ok(stage_answer(&shared, &site, &conn, &origin, &mut ctx, r));
                    }
                    GatewayBody::Stream {
                        prefix: Some(b.bytes),
                        inner: rest,
                        remaining: None,
                        timer: None,
                    }
                }
            }
        }
    };

    if let Some(r) = rt
        .pipeline
        .response_body_absent(&served, &mut ctx, &mut rparts)
        .await
    {
        return Ok(stage_answer(&shared, &site, &conn, &origin, &mut ctx, r));
    }

    finish_headers(&mut rparts.headers, &site.headers, &ctx.request_id);
    site.metrics.count(rparts.status.as_u16());
    shared.edge.after_request(&ctx);
    if !ctx.findings.rules.is_empty() || ctx.findings.action.is_some_and(|a| a != Action::Pass) {
        emit_request_event(&shared, &site, &conn, &origin, &mut ctx, rparts.status);
    }
    Ok(Response::from_parts(rparts, body))
}

/// The request as the store receives it.
fn upstream_request(
    rt: &Runtime,
    site: &Site,
    ctx: &RequestContext,
    host: &HeaderValue,
    mut parts: http::request::Parts,
    body: GatewayBody,
    upgrade: bool,
) -> Request<GatewayBody> {
    headers::strip_hop_by_hop(&mut parts.headers, upgrade);
    let trusted = !rt.server.trusted_proxies.is_empty()
        && headers::is_trusted(ctx.client_addr.ip(), &rt.server.trusted_proxies);
    headers::set_forwarded(
        &mut parts.headers,
        ctx.client_addr.ip(),
        host,
        ctx.tls,
        trusted,
    );
    parts
        .headers
        .insert(X_REQUEST_ID.clone(), ctx.request_id.clone());
    if !parts.headers.contains_key(header::HOST) {
        parts.headers.insert(header::HOST, host.clone());
    }
    let mut uri = http::uri::Parts::default();
    uri.scheme = Some(Scheme::HTTP);
    uri.authority = Some(site.config.upstream.authority.clone());
    uri.path_and_query = Some(
        parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/")),
    );
    if let Ok(u) = Uri::from_parts(uri) {
        parts.uri = u;
    }
    parts.version = Version::HTTP_11;
    Request::from_parts(parts, body)
}

fn is_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(err) = cur {
        let s = err.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = err.source();
    }
    out
}

/// The plain-HTTP handler: every request is redirected to the same host
/// and path on HTTPS (301 for GET/HEAD, 308 otherwise, so the method and
/// body are kept), except ACME HTTP-01 challenges.
pub(crate) async fn redirect(
    shared: Arc<Shared>,
    conn: ConnInfo,
    req: Request<Incoming>,
) -> Result<Response<GatewayBody>, Infallible> {
    let rt = shared.runtime.load_full();
    let request_id = headers::request_id(req.headers());
    let origin = Origin {
        method: req.method().clone(),
        uri: req.uri().clone(),
    };
    if let Some(token) = req
        .uri()
        .path()
        .strip_prefix("/.well-known/acme-challenge/")
    {
        // HTTP-01 (RFC 8555 8.3): the key authorization of a pending
        // challenge, whatever the Host; anything else is not found.
        if let Some(answer) = shared.acme.http_response(token) {
            let mut resp = Response::new(GatewayBody::full(Bytes::from(answer)));
            resp.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain"),
            );
            resp.headers_mut().insert(X_REQUEST_ID.clone(), request_id);
            return Ok(resp);
        }
        let (mut parts, bytes) = error_page(StatusCode::NOT_FOUND, &request_id).into_parts();
        parts.headers.insert(X_REQUEST_ID.clone(), request_id);
        return Ok(Response::from_parts(parts, GatewayBody::full(bytes)));
    }
    let host = match request_host(req.uri(), req.headers(), req.version()) {
        Ok((_, host)) => host,
        Err(why) => {
            let r = gateway_answer(
                &shared,
                &rt,
                None,
                &conn,
                &origin,
                &request_id,
                StatusCode::BAD_REQUEST,
                why.into(),
                None,
            );
            return Ok(r);
        }
    };
    let Some(site) = rt.site(&host) else {
        let why = format!("no site serves host {host:?}");
        let r = gateway_answer(
            &shared,
            &rt,
            None,
            &conn,
            &origin,
            &request_id,
            StatusCode::MISDIRECTED_REQUEST,
            why,
            None,
        );
        return Ok(r);
    };
    let host_part = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    let port = if rt.https_port == 443 {
        String::new()
    } else {
        format!(":{}", rt.https_port)
    };
    let pq = req
        .uri()
        .path_and_query()
        .map(PathAndQuery::as_str)
        .unwrap_or("/");
    let location = format!("https://{host_part}{port}{pq}");
    let status = if req.method() == Method::GET || req.method() == Method::HEAD {
        StatusCode::MOVED_PERMANENTLY
    } else {
        StatusCode::PERMANENT_REDIRECT
    };
    site.metrics.count(status.as_u16());
    let mut resp = Response::new(GatewayBody::Empty);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    match HeaderValue::from_str(&location) {
        Ok(v) => {
            h.insert(header::LOCATION, v);
        }
        Err(_) => {
            *resp.status_mut() = StatusCode::BAD_REQUEST;
        }
    }
    resp.headers_mut().insert(X_REQUEST_ID.clone(), request_id);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_parse() {
        assert_eq!(
            host_name(b"Shop.Example:8443").as_deref(),
            Some("shop.example")
        );
        assert_eq!(host_name(b"shop.example.").as_deref(), Some("shop.example"));
        assert_eq!(host_name(b"127.0.0.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(host_name(b"[::1]:443").as_deref(), Some("::1"));
        assert_eq!(host_name(b"::1"), None);
        assert_eq!(host_name(b"a:b"), None);
        assert_eq!(host_name(b"a:"), None);
        assert_eq!(host_name(b"user@a"), None);
        assert_eq!(host_name(b""), None);
        assert_eq!(host_name(b"a b"), None);
        assert_eq!(host_name(b"a:123456"), None);
    }

    #[test]
    fn host_comes_from_authority_or_single_host_header() {
        let v11 = Version::HTTP_11;
        let mut h = HeaderMap::new();
        assert_eq!(
            request_host(&Uri::from_static("/"), &h, v11),
            Err("no Host header")
        );
        // HTTP/1.0 may omit Host: only the default site answers.
        assert_eq!(
            request_host(&Uri::from_static("/"), &h, Version::HTTP_10)
                .unwrap()
                .1,
            ""
        );
        h.append(header::HOST, HeaderValue::from_static("a.example"));
        assert_eq!(
            request_host(&Uri::from_static("/"), &h, v11).unwrap().1,
            "a.example"
        );
        h.append(header::HOST, HeaderValue::from_static("b.example"));
        assert_eq!(
            request_host(&Uri::from_static("/"), &h, v11),
            Err("more than one Host header")
        );
        let uri = Uri::from_static("https://c.example:8443/x");
        assert_eq!(request_host(&uri, &h, v11).unwrap().1, "c.example");
        let mut empty = HeaderMap::new();
        empty.append(header::HOST, HeaderValue::from_static(""));
        assert_eq!(
            request_host(&Uri::from_static("/"), &empty, v11),
            Err("empty Host header")
        );
        assert_eq!(
            request_host(&Uri::from_static("/"), &empty, Version::HTTP_10)
                .unwrap()
                .1,
            ""
        );
    }
}
