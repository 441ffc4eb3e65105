//! Arbitrary text as SecLang: load it with `RuleSetBuilder::add_text`,
//! build the rule set, and when that succeeds run one small request
//! through it. Load errors are expected; a panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seclang::{Connection, RuleSetBuilder, Transaction};
use std::path::Path;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Directives that read files (Include, @pmFromFile, @ipMatchFromFile
    // and their short names) would let the fuzzer open /dev/zero or the
    // whole file system; they are fuzzed by their own tests, not here.
    let lower = text.to_ascii_lowercase();
    if lower.contains("include") || lower.contains("pmf") || lower.contains("ipmatchf") {
        return;
    }
    let mut builder = RuleSetBuilder::new();
    if builder
        .add_text("fuzz.conf", text, Path::new("/nonexistent-fuzz-dir"))
        .is_err()
    {
        return;
    }
    let Ok(rules) = builder.build() else {
        return;
    };
    let _ = rules.rule_count();
    let mut tx = Transaction::new(Arc::new(rules), Connection::default());
    tx.process_uri(b"POST", b"/a/b.php?x=1&y=%3Cscript%3E", b"1.1");
    tx.add_request_header(b"Host", b"example.com");
    tx.add_request_header(b"Content-Type", b"application/x-www-form-urlencoded");
    tx.add_request_header(b"Cookie", b"s=1; t=2");
    if tx.process_request_headers().is_some() {
        return;
    }
    if tx.wants_request_body() {
        tx.append_request_body(b"a=1&b=select+1+from+t");
    }
    if tx.process_request_body().is_some() {
        return;
    }
    tx.add_response_header(b"Content-Type", b"text/html");
    let _ = tx.process_response_headers(200, b"HTTP/1.1");
    if tx.wants_response_body() {
        tx.append_response_body(b"<html>ok</html>");
    }
    let _ = tx.process_response_body();
    tx.process_logging();
});
