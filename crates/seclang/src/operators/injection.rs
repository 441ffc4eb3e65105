//! The libinjection binding: SQL-injection and XSS detection for
//! `@detectSQLi` and `@detectXSS`.
//!
//! Owns the one place that names the detector library, so that it can be
//! swapped (for instance for a binding to the C reference) by changing this
//! file only. Today it is `libinjectionrs` 0.1, a pure-Rust port of
//! libinjection (BSD-3-Clause): the `libinjection` crate needs a network
//! clone, autotools and libclang at build time, which this project's
//! machines do not offer.
//!
//! Must not: keep state between calls, or log the value it inspects.

/// A libinjection SQLi fingerprint such as `s&sos` (at most 8 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliFingerprint {
    bytes: [u8; 8],
    len: usize,
}

impl SqliFingerprint {
    /// The fingerprint's text.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Runs libinjection's SQLi detector (all quote contexts, ANSI and MySQL
/// flavours, as `libinjection_sqli` does); `Some(fingerprint)` when the
/// value looks like SQL injection.
pub fn detect_sqli(input: &[u8]) -> Option<SqliFingerprint> {
    let result = libinjectionrs::detect_sqli(input);
    if !result.is_injection() {
        return None;
    }
    let mut bytes = [0u8; 8];
    let mut len = 0;
    if let Some(fingerprint) = &result.fingerprint {
        let text = fingerprint.as_str().as_bytes();
        len = text.len().min(bytes.len());
        bytes[..len].copy_from_slice(&text[..len]);
    }
    Some(SqliFingerprint { bytes, len })
}

/// Runs libinjection's XSS detector (every HTML context, as
/// `libinjection_xss` does); true when the value looks like XSS.
pub fn detect_xss(input: &[u8]) -> bool {
    libinjectionrs::detect_xss(input).is_injection()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_classics() {
        let fingerprint = detect_sqli(b"1' OR '1'='1").expect("sqli");
        assert_eq!(fingerprint.as_bytes(), b"s&sos");
        assert!(detect_sqli(b"hello world").is_none());
        assert!(detect_sqli(b"").is_none());
        assert!(detect_xss(b"<script>alert(1)</script>"));
        assert!(!detect_xss(b"just text"));
    }
}
