//! The request body processors over arbitrary bytes. The first byte picks
//! the processor:
//! 0 URLENCODED, 1 JSON, 2 XML (then a few XPath selections),
//! 3 MULTIPART with a boundary taken from the next bytes (length byte,
//! then that many bytes), 4 MULTIPART with the whole `Content-Type` value
//! taken from the input (up to the first newline), 5 XML with the XPath
//! from the input (first line) and the document after it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seclang::body::{json, multipart, urlencoded, xml};

fn check_multipart(content_type: &[u8], body: &[u8], file_limit: usize) {
    let m = multipart::parse(
        content_type,
        body,
        multipart::MultipartLimits { file_limit },
    );
    // `flags.error` is set whenever there is an error message, and any
    // error is a strict error (MULTIPART_STRICT_ERROR).
    if m.error.is_some() {
        assert!(m.flags.error, "multipart error without the error flag");
        assert!(m.flags.strict_error());
    }
    for f in &m.files {
        assert!(
            f.content.len() <= f.size,
            "file content longer than its size"
        );
    }
    let total: usize = m.files.iter().map(|f| f.size).sum();
    assert!(total <= body.len(), "file sizes exceed the body");
    let _ = format!("{m:?}");
}

fn check_xml(body: &[u8], xpaths: &[&str]) {
    if let Ok(doc) = xml::parse(body) {
        for x in xpaths {
            let _ = doc.select(x);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 6 {
        0 => {
            let (pairs, invalid) = urlencoded::parse(rest, b'&');
            if !rest.contains(&b'%') {
                assert!(!invalid, "URLENCODED_ERROR without a %");
            }
            assert!(pairs.len() <= rest.split(|b| *b == b'&').count());
            let (pairs2, _) = urlencoded::parse(rest, b';');
            let _ = pairs2;
        }
        1 => {
            let parsed = json::parse(rest, 10_000);
            // serde_json's own verdict: a body it rejects is an error here.
            if serde_json::from_slice::<serde_json::Value>(rest).is_err() {
                assert!(parsed.is_err(), "invalid JSON accepted");
            }
            // A small depth limit only adds errors.
            let _ = json::parse(rest, 2);
        }
        2 => check_xml(
            rest,
            &[
                "/*",
                "//@*",
                "/a/b",
                "//b",
                "/a/*/c",
                "/a/@id",
                "//b/text()",
                "/a/b/@*",
            ],
        ),
        3 => {
            let Some((&n, tail)) = rest.split_first() else {
                return;
            };
            let n = usize::from(n % 72).min(tail.len());
            let (boundary, body) = tail.split_at(n);
            let mut ct = b"multipart/form-data; boundary=".to_vec();
            ct.extend_from_slice(boundary);
            check_multipart(&ct, body, 2);
        }
        4 => {
            let (ct, body) = match rest.iter().position(|b| *b == b'\n') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &rest[rest.len()..]),
            };
            check_multipart(ct, body, 0);
        }
        _ => {
            let (path, body) = match rest.iter().position(|b| *b == b'\n') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => return,
            };
            if let Ok(path) = std::str::from_utf8(path) {
                check_xml(body, &[path]);
            }
        }
    }
});
