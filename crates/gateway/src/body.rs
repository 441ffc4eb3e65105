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
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::TooLarge => f.write_str("body larger than the configured limit"),
            BodyError::Peer(e) => write!(f, "body: {e}"),
        }
    }
}

impl std::error::Error for BodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BodyError::TooLarge => None,
            BodyError::Peer(e) => Some(e),
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
                        }
                        Poll::Ready(Some(Ok(frame)))
                    }
                    Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(BodyError::Peer(e)))),
                    Poll::Ready(None) => Poll::Ready(None),
                    Poll::Pending => Poll::Pending,
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
/// `cap` is the hard size limit of the whole body (request bodies).
pub(crate) async fn buffer(
    mut body: Incoming,
    limit: usize,
    cap: Option<u64>,
) -> Result<Buffered, BodyError> {
    let mut buf = BytesMut::new();
    let mut remaining = cap;
    loop {
        if buf.len() > limit {
            return Ok(Buffered::Prefix(buf.freeze(), body, remaining));
        }
        match body.frame().await {
            None => return Ok(Buffered::Complete(buf.freeze())),
            Some(Err(e)) => return Err(BodyError::Peer(e)),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    take(&mut remaining, data.len())?;
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
