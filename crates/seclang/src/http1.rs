//! Feeding a raw HTTP/1.x request (bytes as they came off the wire) into a
//! [`Transaction`]: request line, header lines, and the body framed by
//! `Content-Length` or chunked encoding. Used by `rampart waf eval` and
//! the conformance runner; lenient where servers are lenient, so that odd
//! requests still reach the rules that look for oddities.

use crate::transaction::Transaction;

/// A request split into its parts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawRequest {
    pub method: Vec<u8>,
    pub uri: Vec<u8>,
    /// The version after `HTTP/` (`1.1`), as sent.
    pub version: Vec<u8>,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub body: Vec<u8>,
}

/// Splits a raw request; the error is one line.
pub fn parse(raw: &[u8]) -> Result<RawRequest, String> {
    let head_end = find(raw, b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| find(raw, b"\n\n").map(|i| (i, i + 2)))
        .unwrap_or((raw.len(), raw.len()));
    let head = &raw[..head_end.0];
    let rest = &raw[head_end.1..];
    let mut lines = head
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let line = lines.next().ok_or("empty request")?;
    let line = line.trim_ascii();
    if line.is_empty() {
        return Err("empty request line".into());
    }
    let mut parts = line
        .split(|b| *b == b' ' || *b == b'\t')
        .filter(|p| !p.is_empty());
    let method = parts.next().ok_or("no method")?.to_vec();
    let uri = parts.next().ok_or("no request target")?.to_vec();
    let version = match parts.next() {
        Some(v) => v.strip_prefix(b"HTTP/").unwrap_or(v).to_vec(),
        None => b"0.9".to_vec(),
    };
    let mut headers: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for l in lines {
        if l.is_empty() {
            continue;
        }
        if (l[0] == b' ' || l[0] == b'\t') && !headers.is_empty() {
            // Obsolete line folding: continue the previous header.
            let last = headers.last_mut().expect("checked non-empty");
            last.1.push(b' ');
            last.1.extend_from_slice(l.trim_ascii());
            continue;
        }
        match l.iter().position(|b| *b == b':') {
            Some(i) => headers.push((
                l[..i].trim_ascii_end().to_vec(),
                l[i + 1..].trim_ascii().to_vec(),
            )),
            None => headers.push((l.trim_ascii().to_vec(), Vec::new())),
        }
    }
    let header = |name: &[u8]| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    };
    let chunked = header(b"transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().windows(7).any(|w| w == b"chunked"));
    let body = if chunked {
        dechunk(rest)
    } else if let Some(len) = header(b"content-length")
        .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<usize>().ok())
    {
        rest[..len.min(rest.len())].to_vec()
    } else {
        rest.to_vec()
    };
    Ok(RawRequest {
        method,
        uri,
        version,
        headers,
        body,
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Decodes a chunked body leniently (stops at the first malformed size).
fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = find(data, b"\n") {
        let size_line = data[..eol].strip_suffix(b"\r").unwrap_or(&data[..eol]);
        let size_text = size_line.split(|b| *b == b';').next().unwrap_or(b"");
        let Some(size) = std::str::from_utf8(size_text)
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
        else {
            break;
        };
        data = &data[eol + 1..];
        if size == 0 {
            break;
        }
        let take = size.min(data.len());
        out.extend_from_slice(&data[..take]);
        data = &data[take..];
        data = data
            .strip_prefix(b"\r\n")
            .or_else(|| data.strip_prefix(b"\n"))
            .unwrap_or(data);
    }
    out
}

impl RawRequest {
    /// Runs the request phases (1 and 2) of `tx` over this request.
    pub fn feed(&self, tx: &mut Transaction) {
        tx.process_uri(&self.method, &self.uri, &self.version);
        for (k, v) in &self.headers {
            tx.add_request_header(k, v);
        }
        if tx.process_request_headers().is_some() {
            return;
        }
        if tx.wants_request_body() {
            tx.append_request_body(&self.body);
        }
        tx.process_request_body();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_dechunks() {
        let r = parse(b"POST /a?b=1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nX-Long: a\r\n b\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n").unwrap();
        assert_eq!(r.method, b"POST");
        assert_eq!(r.version, b"1.1");
        assert_eq!(r.body, b"abcde");
        assert_eq!(r.headers[2].1, b"a b");
        let r = parse(b"GET / HTTP/1.0\nContent-Length: 2\n\nhello").unwrap();
        assert_eq!(r.body, b"he");
        assert!(parse(b"\r\n\r\n").is_err());
    }
}
