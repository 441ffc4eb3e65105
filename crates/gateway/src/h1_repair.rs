//! Request-target repair for HTTP/1 connections.
//!
//! Attack traffic often carries request targets that browsers would have
//! percent-encoded: `/?q="><script>`, `/?id={if+1}`, `/?a=x|y`. Apache and
//! nginx accept them and hand them to ModSecurity; hyper (through the
//! `http` crate's URI type) refuses them with a bare 400 before any stage
//! runs, so the WAF never sees the attack and the event log never records
//! it. This adaptor sits between the TLS stream and hyper and, in each
//! request line whose target the `http` crate would refuse,
//! percent-encodes the bytes outside RFC 3986's character set (`"` becomes
//! `%22`). The WAF decodes arguments as ModSecurity does, so the rules see
//! the same values; the store gets a target it can parse.
//!
//! To know where each request line starts, the adaptor follows HTTP/1
//! message framing: a single `Content-Length`, or `Transfer-Encoding`
//! ending in `chunked` (with no `Content-Length`). Anything it is not sure
//! of (conflicting or repeated framing headers, folded header lines,
//! upgrades, CONNECT, HTTP versions other than 1.0 and 1.1, a malformed
//! chunk) switches it to pass-through for the rest of the connection: from
//! then on hyper alone parses the bytes, exactly as without the adaptor.
//! The only bytes it ever changes are inside a request target that starts
//! at a message boundary on which both parsers agree, so it cannot make
//! hyper frame a message differently.
//!
//! It works byte by byte and never holds bytes back: a client that sends
//! half a request line and stalls is hyper's to time out, as without it.

use std::io;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Longest header, trailer or chunk-size line the adaptor analyses; a
/// longer one switches it to pass-through (hyper's limits then apply).
const MAX_LINE: usize = 16 * 1024;

/// Which bytes the `http` crate refuses in a path (`[0]`) and in a query or
/// fragment (`[1]`): asked of the crate itself, so the adaptor changes
/// exactly the bytes hyper would otherwise answer 400 for.
static REFUSED: LazyLock<[[bool; 256]; 2]> = LazyLock::new(|| {
    let mut t = [[false; 256]; 2];
    for b in 0..=255u8 {
        let path = [b'/', b'a', b, b'b'];
        let query = [b'/', b'?', b'a', b, b'b'];
        t[0][b as usize] = http::Uri::try_from(&path[..]).is_err();
        t[1][b as usize] = http::Uri::try_from(&query[..]).is_err();
    }
    t
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a request line (blank lines are skipped by both parsers).
    Start,
    /// In the method.
    Method,
    /// In the target; `query` once past `?` or `#`.
    Target { query: bool },
    /// In the version, after the target.
    Version,
    /// In the header lines.
    Headers,
    /// Inside a body of known length: this many bytes left.
    Body(u64),
    /// Chunked body: in a chunk-size line.
    ChunkSize,
    /// Chunked body: this many data bytes left, then CRLF.
    ChunkData(u64),
    /// Chunked body: the CR (0) or LF (1) after a chunk's data.
    ChunkEnd(u8),
    /// Chunked body: trailer lines up to an empty line.
    Trailers,
    /// Not following the stream any more: bytes go through unchanged.
    Through,
}

/// What the header lines of the current message said about framing.
#[derive(Debug, Default)]
struct Framing {
    http10: bool,
    content_length: Option<u64>,
    chunked: bool,
    transfer_encoding: bool,
    /// Something that makes the adaptor stop following the stream.
    unsure: bool,
}

/// An HTTP/1 server-side stream that repairs request targets.
pub struct RepairTargets<S> {
    inner: S,
    state: State,
    /// The line being analysed (version, header, chunk-size, trailer).
    line: Vec<u8>,
    framing: Framing,
    /// Processed bytes not yet handed to the reader.
    out: Vec<u8>,
    out_pos: usize,
    /// Whether the current target needed repair.
    this_repaired: bool,
    repaired: u64,
    /// The current request target as sent (kept only to be handed on).
    target: Vec<u8>,
    /// Where each request's original target goes, in order, when it was
    /// repaired or is in absolute form (else `None`): the WAF inspects the
    /// target as the client sent it (see [`RawTarget`]).
    raw_targets: Option<RawTargets>,
}

/// The request target exactly as the client sent it, when the gateway had
/// to change it (repair) or `http` would show it differently (absolute
/// form without a path gains a `/`). A request extension.
#[derive(Debug, Clone)]
pub struct RawTarget(pub bytes::Bytes);

/// One connection's original targets, in request order (HTTP/1 serves
/// one request at a time, so the service takes the front entry).
pub type RawTargets =
    std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<Option<RawTarget>>>>;

impl<S> RepairTargets<S> {
    /// Wraps `inner`; with `enabled` false (HTTP/2) bytes pass unchanged.
    pub fn new(inner: S, enabled: bool) -> Self {
        RepairTargets {
            inner,
            state: if enabled {
                State::Start
            } else {
                State::Through
            },
            line: Vec::new(),
            framing: Framing::default(),
            out: Vec::new(),
            out_pos: 0,
            this_repaired: false,
            repaired: 0,
            target: Vec::new(),
            raw_targets: None,
        }
    }

    /// Also hands each request's original target to `queue` (see
    /// [`RawTarget`]).
    pub fn with_raw_targets(mut self, queue: RawTargets) -> Self {
        self.raw_targets = Some(queue);
        self
    }

    /// How many request targets were repaired on this connection.
    pub fn repaired(&self) -> u64 {
        self.repaired
    }

    /// Follows `input`, appending what hyper should read to `out`.
    fn process(&mut self, input: &[u8]) {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                State::Through => {
                    self.out.extend_from_slice(&input[i..]);
                    return;
                }
                State::Body(left) | State::ChunkData(left) => {
                    let n = ((input.len() - i) as u64).min(left) as usize;
                    self.out.extend_from_slice(&input[i..i + n]);
                    i += n;
                    let left = left - n as u64;
                    self.state = match (self.state, left) {
                        (State::Body(_), 0) => State::Start,
                        (State::Body(_), l) => State::Body(l),
                        (_, 0) => State::ChunkEnd(0),
                        (_, l) => State::ChunkData(l),
                    };
                    continue;
                }
                _ => {}
            }
            let b = input[i];
            i += 1;
            self.step(b);
        }
    }

    /// One byte of a head, a chunk-size line or trailers.
    fn step(&mut self, b: u8) {
        match self.state {
            State::Start => {
                if b != b'\r' && b != b'\n' {
                    if !is_token(b) {
                        return self.through(b);
                    }
                    self.framing = Framing::default();
                    self.this_repaired = false;
                    self.target.clear();
                    self.state = State::Method;
                }
                self.out.push(b);
            }
            State::Method => {
                if b == b' ' {
                    self.state = State::Target { query: false };
                } else if !is_token(b) {
                    return self.through(b);
                }
                self.out.push(b);
            }
            State::Target { query } => match b {
                b' ' => {
                    self.line.clear();
                    self.state = State::Version;
                    self.out.push(b);
                }
                b'\r' | b'\n' => self.through(b),
                _ => {
                    if self.raw_targets.is_some() && self.target.len() < MAX_LINE {
                        self.target.push(b);
                    }
                    let query = query || b == b'?' || b == b'#';
                    self.state = State::Target { query };
                    if REFUSED[usize::from(query)][b as usize] && b != b'?' && b != b'#' {
                        if !self.this_repaired {
                            self.this_repaired = true;
                            self.repaired += 1;
                        }
                        self.out
                            .extend_from_slice(&[b'%', hex(b >> 4), hex(b & 15)]);
                    } else {
                        self.out.push(b);
                    }
                }
            },
            State::Version => {
                self.out.push(b);
                if b != b'\n' {
                    self.line.push(b);
                    if self.line.len() > 10 {
                        self.state = State::Through;
                    }
                    return;
                }
                let v = self.line.strip_suffix(b"\r").unwrap_or(&self.line);
                match v {
                    b"HTTP/1.1" => {}
                    b"HTTP/1.0" => self.framing.http10 = true,
                    _ => return self.state = State::Through,
                }
                self.line.clear();
                self.state = State::Headers;
            }
            State::Headers | State::ChunkSize | State::Trailers => {
                self.out.push(b);
                if b != b'\n' {
                    self.line.push(b);
                    if self.line.len() > MAX_LINE {
                        self.state = State::Through;
                    }
                    return;
                }
                let mut line = std::mem::take(&mut self.line);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.state = match self.state {
                    State::Headers if line.is_empty() => {
                        self.hand_on_target();
                        self.body_framing()
                    }
                    State::Headers => {
                        self.header(&line);
                        if self.framing.unsure {
                            State::Through
                        } else {
                            State::Headers
                        }
                    }
                    State::ChunkSize => match chunk_size(&line) {
                        Some(0) => State::Trailers,
                        Some(n) => State::ChunkData(n),
                        None => State::Through,
                    },
                    _ if line.is_empty() => State::Start,
                    _ => State::Trailers,
                };
                line.clear();
                self.line = line;
            }
            State::ChunkEnd(k) => {
                self.out.push(b);
                self.state = match (k, b) {
                    (0, b'\r') => State::ChunkEnd(1),
                    (1, b'\n') => State::ChunkSize,
                    _ => State::Through,
                };
            }
            State::Body(_) | State::ChunkData(_) | State::Through => unreachable!(),
        }
    }

    fn through(&mut self, b: u8) {
        self.state = State::Through;
        self.out.push(b);
    }

    fn header(&mut self, line: &[u8]) {
        let f = &mut self.framing;
        if line[0] == b' ' || line[0] == b'\t' {
            f.unsure = true; // obs-fold
            return;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            f.unsure = true;
            return;
        };
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| is_token(b)) {
            f.unsure = true;
            return;
        }
        let value = trim(&line[colon + 1..]);
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = (f.content_length.is_none() && !value.is_empty() && value.len() <= 18)
                .then_some(value)
                .filter(|v| v.iter().all(u8::is_ascii_digit))
                .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok());
            match n {
                Some(n) => f.content_length = Some(n),
                None => f.unsure = true,
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            let last = value.rsplit(|&b| b == b',').next().map(trim);
            if f.transfer_encoding || !last.is_some_and(|l| l.eq_ignore_ascii_case(b"chunked")) {
                f.unsure = true;
            }
            f.transfer_encoding = true;
            f.chunked = true;
        } else if name.eq_ignore_ascii_case(b"upgrade") {
            f.unsure = true;
        }
    }

    /// Queues this request's original target (or `None`) for the service.
    fn hand_on_target(&mut self) {
        let Some(queue) = &self.raw_targets else {
            return;
        };
        let keep = self.this_repaired || self.target.first().is_some_and(|&b| b != b'/');
        let entry = keep.then(|| RawTarget(bytes::Bytes::copy_from_slice(&self.target)));
        queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(entry);
    }

    /// What follows a head, once its blank line is read.
    fn body_framing(&self) -> State {
        let f = &self.framing;
        match (f.content_length, f.chunked) {
            (Some(_), true) => State::Through,
            (None, true) if f.http10 => State::Through,
            (None, true) => State::ChunkSize,
            (Some(0), false) | (None, false) => State::Start,
            (Some(n), false) => State::Body(n),
        }
    }
}

fn hex(n: u8) -> u8 {
    b"0123456789ABCDEF"[n as usize]
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |e| e + 1);
    &v[start..end]
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The size of a chunk-size line (`1a;ext=v`), without its line end.
fn chunk_size(line: &[u8]) -> Option<u64> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 15 {
        return None;
    }
    let rest = trim(&line[digits..]);
    if !(rest.is_empty() || rest[0] == b';') {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(&line[..digits]).ok()?, 16).ok()
}

impl<S: AsyncRead + Unpin> AsyncRead for RepairTargets<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.out_pos < this.out.len() {
                let n = (this.out.len() - this.out_pos).min(buf.remaining());
                buf.put_slice(&this.out[this.out_pos..this.out_pos + n]);
                this.out_pos += n;
                if this.out_pos == this.out.len() {
                    this.out.clear();
                    this.out_pos = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.state == State::Through {
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            let mut chunk = [0u8; 8192];
            let mut rb = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut rb))?;
            let n = rb.filled().len();
            if n == 0 {
                return Poll::Ready(Ok(())); // end of stream
            }
            this.process(&chunk[..n]);
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for RepairTargets<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// Feeds `input` in pieces of `step` bytes and returns what comes out.
    async fn run(input: &[u8], step: usize) -> (Vec<u8>, u64) {
        let (mut client, server) = tokio::io::duplex(64);
        let data = input.to_vec();
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            for piece in data.chunks(step) {
                client.write_all(piece).await.unwrap();
            }
            client.shutdown().await.unwrap();
        });
        let mut r = RepairTargets::new(server, true);
        let mut out = Vec::new();
        r.read_to_end(&mut out).await.unwrap();
        writer.await.unwrap();
        (out, r.repaired())
    }

    #[tokio::test]
    async fn valid_targets_pass_unchanged() {
        let req = b"GET /a?b=c HTTP/1.1\r\nHost: x\r\n\r\nPOST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n";
        for step in [1, 3, 64] {
            assert_eq!(run(req, step).await, (req.to_vec(), 0));
        }
    }

    #[tokio::test]
    async fn refused_characters_are_encoded() {
        let req = b"GET /get?x=\"<a>{|} HTTP/1.1\r\nHost: x\r\n\r\n";
        let (out, n) = run(req, 5).await;
        assert_eq!(n, 1);
        // Exactly the bytes the http crate refuses change.
        let mut want = b"GET /get?x=".to_vec();
        for &b in b"\"<a>{|}" {
            if REFUSED[1][b as usize] {
                want.extend_from_slice(format!("%{b:02X}").as_bytes());
            } else {
                want.push(b);
            }
        }
        want.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            String::from_utf8(want).unwrap()
        );
        assert!(http::Uri::try_from("/get?x=%22%3Ca%3E").is_ok());
    }

    #[tokio::test]
    async fn bodies_are_never_rewritten() {
        // A body that looks like a request line is body: left alone.
        let body = b"GET /x?\"y\" HTTP/1.1\r\n\r\n";
        let mut req = format!(
            "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(body);
        req.extend_from_slice(b"GET /b?\"c\" HTTP/1.1\r\nHost: x\r\n\r\n");
        let (out, n) = run(&req, 7).await;
        assert_eq!(n, 1);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("GET /x?\"y\" HTTP/1.1"), "{text}");
        assert!(
            text.ends_with("GET /b?%22c%22 HTTP/1.1\r\nHost: x\r\n\r\n"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn chunked_bodies_are_followed() {
        let req = b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nGET /\r\n0\r\nT: v\r\n\r\nGET /?\"q\" HTTP/1.1\r\n\r\n";
        let (out, n) = run(req, 2).await;
        assert_eq!(n, 1);
        assert!(out.ends_with(b"GET /?%22q%22 HTTP/1.1\r\n\r\n"));
    }

    #[tokio::test]
    async fn anything_unusual_switches_to_pass_through() {
        for req in [
            // Both framings: hyper decides, nothing after is touched.
            &b"POST /a HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /?\"q\" HTTP/1.1\r\n\r\n"[..],
            b"POST /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabcGET /?\"q\" HTTP/1.1\r\n\r\n",
            b"POST /a HTTP/1.1\r\nContent-Length: +3\r\n\r\nabcGET /?\"q\" HTTP/1.1\r\n\r\n",
            b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\nGET /?\"q\" HTTP/1.1\r\n\r\n",
            b"GET /a HTTP/1.1\r\nX: a\r\n b\r\n\r\nGET /?\"q\" HTTP/1.1\r\n\r\n",
            b"GET /a HTTP/1.1\r\nUpgrade: websocket\r\n\r\nGET /?\"q\" HTTP/1.1\r\n\r\n",
            b"GET / HTTP/4.0\r\n\r\nGET /?\"q\" HTTP/1.1\r\n\r\n",
            b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nGET /?\"q\" HTTP/1.1\r\n\r\n",
        ] {
            let (out, n) = run(req, 3).await;
            assert_eq!((out.as_slice(), n), (req, 0), "{}", String::from_utf8_lossy(req));
        }
    }

    #[tokio::test]
    async fn a_stalled_request_line_is_passed_on_at_once() {
        // Nothing is held back: hyper sees the partial line (and can time
        // the client out).
        let (mut client, server) = tokio::io::duplex(64);
        use tokio::io::AsyncWriteExt;
        client.write_all(b"GET /?\"a").await.unwrap();
        let mut r = RepairTargets::new(server, true);
        let mut got = Vec::new();
        while got.len() < 10 {
            let mut b = [0u8; 64];
            let n = r.read(&mut b).await.unwrap();
            got.extend_from_slice(&b[..n]);
        }
        assert_eq!(got, b"GET /?%22a");
    }

    #[tokio::test]
    async fn original_targets_are_handed_on_in_order() {
        let queue = RawTargets::default();
        let (mut client, server) = tokio::io::duplex(256);
        use tokio::io::AsyncWriteExt;
        client
            .write_all(b"GET /a HTTP/1.1\r\n\r\nGET /?q=\"x\" HTTP/1.1\r\n\r\nGET http://h HTTP/1.1\r\n\r\n")
            .await
            .unwrap();
        client.shutdown().await.unwrap();
        let mut r = RepairTargets::new(server, true).with_raw_targets(queue.clone());
        let mut out = Vec::new();
        r.read_to_end(&mut out).await.unwrap();
        let got: Vec<Option<Vec<u8>>> = queue
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.as_ref().map(|t| t.0.to_vec()))
            .collect();
        assert_eq!(
            got,
            vec![
                None,
                Some(b"/?q=\"x\"".to_vec()),
                Some(b"http://h".to_vec())
            ]
        );
    }

    #[test]
    fn the_refused_bytes_are_the_http_crates() {
        assert!(REFUSED[1][b'"' as usize] && REFUSED[1][b'<' as usize]);
        assert!(REFUSED[0][b'<' as usize] && REFUSED[1][0x80] && REFUSED[0][b' ' as usize]);
        assert!(!REFUSED[0][b'a' as usize] && !REFUSED[1][b'%' as usize]);
    }
}
