//! The HTTP/1.1 server: accepting connections on the given listener,
//! serving each with hyper, and turning refusals into pages.
//!
//! Owns: connection limits and timeouts, and the shop's request entry
//! point. Must not: know any page (see [`crate::routes`]). Never logs
//! request bodies, query strings or cookies.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::layout::refusal_markup;
use crate::routes;
use crate::shop::Shop;
use crate::store::SessionArea;
use crate::visit::{html, json, Refusal, ShopResponse, Visit};

/// Connections served at once; more wait in the listen backlog.
const MAX_CONNECTIONS: usize = 1024;
/// How long a client may take to send request headers (and how long an
/// idle keep-alive connection stays open).
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Accept connections on `listener` forever, answering each request with
/// `answer`. Dropping the returned future closes every connection.
pub(crate) async fn run<F, Fut>(listener: TcpListener, answer: Arc<F>) -> io::Result<()>
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ShopResponse> + Send + 'static,
{
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept(), if connections.len() < MAX_CONNECTIONS => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(stream, answer.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait, don't spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection<F, Fut>(stream: TcpStream, answer: Arc<F>)
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ShopResponse> + Send + 'static,
{
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| {
        let response = answer(request);
        async move { Ok::<_, Infallible>(response.await) }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(64 * 1024)
        .serve_connection(TokioIo::new(stream), service);
    if let Err(e) = connection.await {
        tracing::debug!(error = %e, "connection closed with an error");
    }
}

/// Answer one request to the shop.
pub(crate) async fn answer(shop: Arc<Shop>, request: Request<Incoming>) -> ShopResponse {
    let mut visit = Visit::new(request);
    let mut response = match routes::dispatch(&shop, &mut visit).await {
        Ok(response) => response,
        Err(refusal) => refusal_response(&shop, &visit, &refusal),
    };
    visit.finish(&mut response);
    response
}

/// The page (or JSON under `/api/`) for a refused request.
pub(crate) fn refusal_response(shop: &Shop, visit: &Visit, refusal: &Refusal) -> ShopResponse {
    if let Refusal::Internal(detail) = refusal {
        tracing::error!(method = %visit.method, path = %visit.path, error = %detail, "request failed");
    }
    let mut response = if visit.is_api() {
        json(
            refusal.status(),
            &serde_json::json!({ "error": refusal.explanation() }),
        )
    } else {
        let chrome = shop.chrome(visit).unwrap_or_default();
        let admin = visit.area == SessionArea::Admin;
        html(refusal.status(), refusal_markup(refusal, &chrome, admin))
    };
    if let Refusal::MethodNotAllowed(allowed) = refusal {
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static(allowed));
    }
    response
}
