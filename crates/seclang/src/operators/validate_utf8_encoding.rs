//! `@validateUtf8Encoding`: matches (reports a violation) when the value is
//! not well-formed UTF-8 by ModSecurity's definition.
//!
//! Argument: none (anything given is ignored, as in ModSecurity).
//!
//! Example: `SecRule ARGS "@validateUtf8Encoding" "id:920250,phase:2,block,t:none"`
//!
//! Edge cases (ModSecurity v3's own checker, reproduced exactly):
//! - a sequence cut short by the end of the value is a violation;
//! - a lead byte that is a continuation byte (0x80-0xBF) or 0xF8-0xFF is a
//!   violation, and so is 0xF5-0xF7 ("restricted": beyond U+10FFFF);
//! - continuation bytes must be 0x80-0xBF;
//! - overlong forms (0xC0/0xC1 leads, 3-byte below U+0800, 4-byte below
//!   U+10000) and UTF-16 surrogates U+D800-U+DFFF are violations;
//! - 0xF4 followed by 0x90-0xBF (U+110000-U+13FFFF) is accepted, because
//!   ModSecurity only rejects lead bytes from 0xF5 on. Rust's own
//!   `str::from_utf8` rejects those, which is why this checker is our own.
//!
//! The empty value is valid. Must not: allocate.

use super::{BuildContext, OpContext, Operator};

/// The `@validateUtf8Encoding` operator.
#[derive(Debug, Clone, Default)]
pub struct ValidateUtf8Encoding;

impl ValidateUtf8Encoding {
    /// Accepts any argument.
    pub fn new(_param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(ValidateUtf8Encoding)
    }
}

impl Operator for ValidateUtf8Encoding {
    fn evaluate(&self, _cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        !is_valid(input)
    }
}

/// True when every character of `input` is valid by ModSecurity's rules.
fn is_valid(input: &[u8]) -> bool {
    let mut i = 0;
    while i < input.len() {
        match character_len(&input[i..]) {
            Some(len) => i += len,
            None => return false,
        }
    }
    true
}

/// The length of the valid character at the start of `bytes`, or `None`.
fn character_len(bytes: &[u8]) -> Option<usize> {
    let lead = bytes[0];
    let (len, initial, minimum) = match lead {
        0x00..=0x7F => return Some(1),
        0xC0..=0xDF => (2, u32::from(lead & 0x1F), 0x80),
        0xE0..=0xEF => (3, u32::from(lead & 0x0F), 0x800),
        0xF0..=0xF4 => (4, u32::from(lead & 0x07), 0x1_0000),
        _ => return None,
    };
    let tail = bytes.get(1..len)?;
    let mut code = initial;
    for &byte in tail {
        if byte & 0xC0 != 0x80 {
            return None;
        }
        code = (code << 6) | u32::from(byte & 0x3F);
    }
    if (0xD800..=0xDFFF).contains(&code) || code < minimum {
        return None;
    }
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::is_valid;

    #[test]
    fn follows_modsecurity() {
        assert!(is_valid(b""));
        assert!(is_valid("h\u{e9}llo \u{20ac} \u{1f600}".as_bytes()));
        assert!(!is_valid(b"\xe4"));
        assert!(!is_valid(b"\xc3"));
        assert!(!is_valid(b"\xc9\x3b"));
        assert!(!is_valid(b"\x80"));
        assert!(!is_valid(b"\xc0\xaf"));
        assert!(!is_valid(b"\xe0\x80\xaf"));
        assert!(!is_valid(b"\xf0\x80\x80\xaf"));
        assert!(!is_valid(b"\xed\xa0\x80"));
        assert!(!is_valid(b"\xf5\x80\x80\x80"));
        assert!(!is_valid(b"\xff"));
        assert!(is_valid(b"\xf4\x90\x80\x80"));
    }
}
