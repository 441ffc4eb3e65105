//! The one body type that crosses the gateway in both directions: nothing,
//! bytes in hand, or a stream from the other side (optionally after a
//! buffered prefix, optionally capped).
//!
//! Owns: streaming without copying, the request size cap, and buffering a
//! body up to a limit for inspection. Must not: look inside the bytes.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;

/// Errors while streaming a body.
#[derive(Debug)]
pub enum BodyError {
    /// The request body went past the site's `max_request_body_bytes`.
    TooLarge,
    /// The peer broke off or sent something invalid.
    Peer(hyper::Error),
    /// The client sent its request body too slowly (see [`SlowGuard`]).
    TooSlow,
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::TooLarge => f.write_str("body larger than the configured limit"),
            BodyError::Peer(e) => write!(f, "body: {e}"),
            BodyError::TooSlow => f.write_str("request body sent too slowly"),
        }
    }
}

impl std::error::Error for BodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BodyError::TooLarge | BodyError::TooSlow => None,
            BodyError::Peer(e) => Some(e),
        }
    }
}

/// Slow-POST protection for request bodies, as Apache's
/// `mod_reqtimeout` `body=N,MinRate=R`: the body must arrive within
/// `initial`, extended by one second for every `min_rate` bytes received.
/// A client that trickles a body to hold the store's connection is cut.
#[derive(Debug, Clone, Copy)]
pub struct SlowGuard {
    started: tokio::time::Instant,
    received: u64,
    initial: std::time::Duration,
    min_rate: u64,
}

impl SlowGuard {
    pub fn new(initial: std::time::Duration, min_rate: u64) -> Self {
        SlowGuard {
            started: tokio::time::Instant::now(),
            received: 0,
            initial,
            min_rate: min_rate.max(1),
        }
    }

    /// When the body must be complete, given what arrived so far.
    fn deadline(&self) -> tokio::time::Instant {
        let earned =
            std::time::Duration::from_millis(self.received.saturating_mul(1000) / self.min_rate);
        self.started + self.initial + earned
    }

    fn got(&mut self, n: usize) {
        self.received = self.received.saturating_add(n as u64);
    }
}

/// A guard and its timer, for a streaming body.
pub struct Timer {
    guard: SlowGuard,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Timer {
    pub fn new(guard: SlowGuard) -> Self {
        Timer {
            sleep: Box::pin(tokio::time::sleep_until(guard.deadline())),
            guard,
        }
    }
}

/// A request or response body.
pub enum GatewayBody {
    Empty,
    /// Bytes in hand (buffered, or made by the gateway); `None` once sent.
    Full(Option<Bytes>),
    /// A stream from the peer, after an optional buffered prefix, capped at
    /// `remaining` bytes (prefix included) when set.
    Stream {
        prefix: Option<Bytes>,
        inner: Incoming,
        remaining: Option<u64>,
        /// Request bodies: cut when sent too slowly.
        timer: Option<Box<Timer>>,
    },
}

impl fmt::Debug for GatewayBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GatewayBody::Empty => f.write_str("Empty"),
            GatewayBody::Full(b) => write!(f, "Full({} bytes)", b.as_ref().map_or(0, Bytes::len)),
            GatewayBody::Stream { .. } => f.write_str("Stream"),
        }
    }
}

impl GatewayBody {
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let b = bytes.into();
        if b.is_empty() {
            GatewayBody::Empty
        } else {
            GatewayBody::Full(Some(b))
        }
    }

    pub fn stream(inner: Incoming, cap: Option<u64>) -> Self {
        GatewayBody::Stream {
            prefix: None,
            inner,
            remaining: cap,
            timer: None,
        }
    }

    /// A request body from the client: capped and guarded against a
    /// client that sends it too slowly.
    pub fn request(inner: Incoming, cap: Option<u64>, guard: SlowGuard) -> Self {
        GatewayBody::Stream {
            prefix: None,
            inner,
            remaining: cap,
            timer: Some(Box::new(Timer::new(guard))),
        }
    }
}

fn take(remaining: &mut Option<u64>, n: usize) -> Result<(), BodyError> {
    if let Some(r) = remaining {
        match r.checked_sub(n as u64) {
            Some(left) => *r = left,
            None => return Err(BodyError::TooLarge),
        }
    }
    Ok(())
}

impl Body for GatewayBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match self.get_mut() {
            GatewayBody::Empty => Poll::Ready(None),
            GatewayBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            GatewayBody::Stream {
                prefix,
                inner,
                remaining,
                timer,
            } => {
                if let Some(p) = prefix.take() {
                    return Poll::Ready(Some(Ok(Frame::data(p))));
                }
                match Pin::new(inner).poll_frame(cx) {
                    Poll::Ready(Some(Ok(frame))) => {
                        if let Some(data) = frame.data_ref() {
                            if let Err(e) = take(remaining, data.len()) {
                                return Poll::Ready(Some(Err(e)));
                            }
                            if let Some(t) = timer {
                                t.guard.got(data.len());
                                let at = t.guard.deadline();
                                t.sleep.as_mut().reset(at);
                            }
                        }
                        Poll::Ready(Some(Ok(frame)))
                    }
                    Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(BodyError::Peer(e)))),
                    Poll::Ready(None) => Poll::Ready(None),
                    Poll::Pending => {
                        if let Some(t) = timer {
                            if std::future::Future::poll(t.sleep.as_mut(), cx).is_ready() {
                                return Poll::Ready(Some(Err(BodyError::TooSlow)));
                            }
                        }
                        Poll::Pending
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            GatewayBody::Empty => true,
            GatewayBody::Full(b) => b.is_none(),
            GatewayBody::Stream { prefix, inner, .. } => prefix.is_none() && inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            GatewayBody::Empty => SizeHint::with_exact(0),
            GatewayBody::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            GatewayBody::Stream { prefix, inner, .. } => {
                let p = prefix.as_ref().map_or(0, |b| b.len() as u64);
                let h = inner.size_hint();
                let mut out = SizeHint::new();
                out.set_lower(h.lower() + p);
                if let Some(u) = h.upper() {
                    out.set_upper(u + p);
                }
                out
            }
        }
    }
}

/// The outcome of buffering a body for inspection.
pub(crate) enum Buffered {
    /// The whole body, at most the limit.
    Complete(Bytes),
    /// The body is longer than the limit: its first bytes (a little more
    /// than the limit, whole frames), the untouched rest, and what is left
    /// of the size cap.
    Prefix(Bytes, Incoming, Option<u64>),
}

/// Reads `body` until its end or until more than `limit` bytes arrived.
/// `cap` is the hard size limit of the whole body (request bodies), and
/// `guard` cuts a client that sends it too slowly (request bodies).
pub(crate) async fn buffer(
    mut body: Incoming,
    limit: usize,
    cap: Option<u64>,
    mut guard: Option<&mut SlowGuard>,
) -> Result<Buffered, BodyError> {
    let mut buf = BytesMut::new();
    let mut remaining = cap;
    loop {
        if buf.len() > limit {
            return Ok(Buffered::Prefix(buf.freeze(), body, remaining));
        }
        let next = match guard.as_deref() {
            Some(g) => tokio::time::timeout_at(g.deadline(), body.frame())
                .await
                .map_err(|_| BodyError::TooSlow)?,
            None => body.frame().await,
        };
        match next {
            None => return Ok(Buffered::Complete(buf.freeze())),
            Some(Err(e)) => return Err(BodyError::Peer(e)),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    take(&mut remaining, data.len())?;
                    if let Some(g) = guard.as_deref_mut() {
                        g.got(data.len());
                    }
                    if buf.is_empty() && data.len() > limit {
                        return Ok(Buffered::Prefix(data, body, remaining));
                    }
                    buf.extend_from_slice(&data);
                }
                // Trailers are dropped when a body is buffered.
            }
        }
    }
}

/// True if `err` (or anything it wraps) is [`BodyError::TooSlow`].
pub(crate) fn is_too_slow(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if matches!(e.downcast_ref::<BodyError>(), Some(BodyError::TooSlow)) {
            return true;
        }
        cur = e.source();
    }
    false
}

/// True if `err` (or anything it wraps) is [`BodyError::TooLarge`].
pub(crate) fn is_too_large(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if matches!(e.downcast_ref::<BodyError>(), Some(BodyError::TooLarge)) {
            return true;
        }
        cur = e.source();
    }
    false
}
