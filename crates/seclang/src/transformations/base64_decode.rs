//! `t:base64Decode`: strict Base64 decoding, as libmodsecurity 3 does it
//! through mbed TLS's `mbedtls_base64_decode`.
//!
//! Exact behaviour:
//! - Only the bytes before the first NUL are decoded (ModSecurity passes
//!   `strlen(value)` to mbed TLS).
//! - `\n` and `\r\n` may appear anywhere; runs of spaces are allowed only
//!   right before a line break or at the very end. Any other byte outside
//!   the standard alphabet (`A-Z a-z 0-9 + /`), a space inside a line, a
//!   third `=`, or a digit after `=`, makes the whole input invalid, and
//!   the result is then the empty string.
//! - Output is produced per complete group of four symbols (padding
//!   counts as a symbol); a trailing incomplete group is dropped, so
//!   unpadded input loses its last one or two bytes (`QUJDRA` -> `ABC`).
//!
//! CRS uses it (with `multiMatch`) to look inside Base64-encoded
//! arguments for Node.js and SSRF payloads (rules 934xxx).
//!
//! ```text
//! SecRule REQUEST_HEADERS:Authorization "@rx ^Basic\s+(.+)$" \
//!     "id:100,phase:1,capture,chain,pass"
//!   SecRule TX:1 "@contains <script" "t:base64Decode"
//! ```
//!
//! Must not: accept the URL-safe alphabet or skip invalid bytes; that is
//! `t:base64DecodeExt`.

use std::borrow::Cow;

use super::rewrite::owned_if_changed;

/// Value of a standard-alphabet Base64 symbol, or `None`.
#[inline]
pub(super) const fn symbol_value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// True when mbed TLS's validation pass accepts `data`.
fn is_valid(data: &[u8]) -> bool {
    let len = data.len();
    let mut equals = 0u32;
    let mut i = 0;
    while i < len {
        let mut spaces = false;
        while i < len && data[i] == b' ' {
            i += 1;
            spaces = true;
        }
        if i == len {
            break;
        }
        let b = data[i];
        if (b == b'\r' && data.get(i + 1) == Some(&b'\n')) || b == b'\n' {
            i += 1;
            continue;
        }
        if spaces {
            return false;
        }
        if b == b'=' {
            equals += 1;
            if equals > 2 {
                return false;
            }
        } else if equals != 0 || symbol_value(b).is_none() {
            return false;
        }
        i += 1;
    }
    true
}

pub(crate) fn base64_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if input.is_empty() {
        return Cow::Borrowed(input);
    }
    let end = input.iter().position(|&b| b == 0).unwrap_or(input.len());
    let data = &input[..end];
    if !is_valid(data) {
        return Cow::Owned(Vec::new());
    }
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut symbols = 0;
    let mut equals = 0;
    for &b in data {
        if matches!(b, b'\r' | b'\n' | b' ') {
            continue;
        }
        acc <<= 6;
        match symbol_value(b) {
            Some(v) => acc |= u32::from(v),
            None => equals += 1, // only '=' survives validation
        }
        symbols += 1;
        if symbols == 4 {
            symbols = 0;
            out.push((acc >> 16) as u8);
            if equals <= 1 {
                out.push((acc >> 8) as u8);
            }
            if equals == 0 {
                out.push(acc as u8);
            }
        }
    }
    owned_if_changed(input, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &[u8]) -> Vec<u8> {
        base64_decode(s).into_owned()
    }

    #[test]
    fn decodes_padded_and_drops_incomplete_group() {
        assert_eq!(dec(b"VGVzdENhc2U="), b"TestCase");
        assert_eq!(dec(b"QUJDRA"), b"ABC");
        assert_eq!(dec(b"QUJDRA=="), b"ABCD");
        assert_eq!(dec(b"QQ="), b"");
    }

    #[test]
    fn invalid_input_gives_empty() {
        assert_eq!(dec(b"QU JD"), b"");
        assert_eq!(dec(b"QUJD\r"), b"");
        assert_eq!(dec(b"QQ===="), b"");
        assert_eq!(dec(b"QQ==QUJD"), b"");
        assert_eq!(dec(b"QUJD-_"), b"");
        assert_eq!(dec(&[b'Q', b'U', b'J', b'D', 0xc3]), b"");
    }

    #[test]
    fn line_breaks_and_trailing_spaces_are_allowed() {
        assert_eq!(dec(b"QUJD\r\nQUJD  "), b"ABCABC");
        assert_eq!(dec(b"QUJD  \nQUJD"), b"ABCABC");
    }

    #[test]
    fn stops_at_nul() {
        assert_eq!(dec(b"QUJD\0QUJD"), b"ABC");
        assert_eq!(dec(b"\0QUJD"), b"");
    }
}
