//! `t:utf8toUnicode`: rewrites UTF-8 sequences as `%uHHHH` escapes (hex
//! lower-case, at least four digits), as libmodsecurity 3, so that
//! `t:urlDecodeUni` or rules with `%u` patterns can match them.
//!
//! Exact behaviour, per lead byte:
//! - 0x01..=0x7f: kept. NUL: removed (ModSecurity's output is a C string).
//! - 0xc0..=0xdf, 0xe0..=0xef, 0xf0..=0xf7 with the right number of
//!   continuation bytes (0x80..=0xbf): `%u` and the code point
//!   (`é` -> `%u00e9`, `😀` -> `%u1f600`). Without them the lead byte is
//!   dropped and the next byte is looked at on its own.
//! - Any other byte (a stray continuation byte, 0xf8..=0xff): kept.
//!
//! ModSecurity also keeps some raw bytes *next to* the escape, and this
//! reproduces them: a lead byte 0xf5..=0xf7 is written before it; an
//! overlong form (`c0 80` -> `%u0000` then 0xc0) or a surrogate
//! (`ed a0 80` -> `%ud800` then 0xed) is followed by its lead byte.
//!
//! ```text
//! SecRule ARGS "@contains %u0131" "id:135,phase:2,t:utf8toUnicode,deny"
//! ```
//!
//! Must not: validate UTF-8 beyond the rules above.

use std::borrow::Cow;

use super::c_locale::LOWER_HEX;
use super::rewrite::{owned_if_changed, run_end};

/// Appends `%u` and `code` in lower-case hex, padded to four digits.
fn push_escape(out: &mut Vec<u8>, code: u32) {
    out.extend_from_slice(b"%u");
    let digits = ((32 - code.leading_zeros()).div_ceil(4)).max(4);
    for k in (0..digits).rev() {
        out.push(LOWER_HEX[((code >> (4 * k)) & 0xf) as usize]);
    }
}

#[inline]
fn is_continuation(b: u8) -> bool {
    b & 0xc0 == 0x80
}

pub(crate) fn utf8_to_unicode(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(start) = input
        .iter()
        .position(|&b| b == 0 || (0xc0..=0xf7).contains(&b))
    else {
        return Cow::Borrowed(input);
    };
    // Reads past the end see the C string terminator, never a continuation.
    let at = |i: usize| input.get(i).copied().unwrap_or(0);
    let mut out = Vec::with_capacity(input.len() * 3);
    out.extend_from_slice(&input[..start]);
    let mut i = start;
    while i < input.len() {
        let c = input[i];
        if c != 0 && c < 0x80 {
            let end = run_end(input, i, |b| b == 0 || b >= 0x80);
            out.extend_from_slice(&input[i..end]);
            i = end;
            continue;
        }
        let (seq_len, code) = if c & 0x80 == 0 {
            if c != 0 {
                out.push(c);
            }
            (1, 0)
        } else if c & 0xe0 == 0xc0 {
            if is_continuation(at(i + 1)) {
                let code = (u32::from(c & 0x1f) << 6) | u32::from(at(i + 1) & 0x3f);
                push_escape(&mut out, code);
                (2, code)
            } else {
                (1, 0)
            }
        } else if c & 0xf0 == 0xe0 {
            if is_continuation(at(i + 1)) && is_continuation(at(i + 2)) {
                let code = (u32::from(c & 0x0f) << 12)
                    | (u32::from(at(i + 1) & 0x3f) << 6)
                    | u32::from(at(i + 2) & 0x3f);
                push_escape(&mut out, code);
                (3, code)
            } else {
                (1, 0)
            }
        } else if c & 0xf8 == 0xf0 {
            if c >= 0xf5 {
                out.push(c);
            }
            if is_continuation(at(i + 1))
                && is_continuation(at(i + 2))
                && is_continuation(at(i + 3))
            {
                let code = (u32::from(c & 0x07) << 18)
                    | (u32::from(at(i + 1) & 0x3f) << 12)
                    | (u32::from(at(i + 2) & 0x3f) << 6)
                    | u32::from(at(i + 3) & 0x3f);
                push_escape(&mut out, code);
                (4, code)
            } else {
                (1, 0)
            }
        } else {
            out.push(c);
            (1, 0)
        };
        if (0xd800..=0xdfff).contains(&code) {
            out.push(c);
        }
        let overlong = match seq_len {
            2 => code < 0x80,
            3 => code < 0x800,
            4 => code < 0x1_0000,
            _ => false,
        };
        if overlong {
            out.push(c);
        }
        i += seq_len;
    }
    // A lone 0xf5..=0xf7 lead byte is written back unchanged.
    owned_if_changed(input, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &[u8]) -> Vec<u8> {
        utf8_to_unicode(s).into_owned()
    }

    #[test]
    fn escapes_code_points() {
        assert_eq!(u("aé€😀".as_bytes()), b"a%u00e9%u20ac%u1f600");
        assert_eq!(u(b"\xc4\x80 \xc2\x80"), b"%u0100 %u0080");
    }

    #[test]
    fn invalid_sequences() {
        assert_eq!(u(b"a\0b"), b"ab");
        assert_eq!(u(b"\xc3"), b"");
        assert_eq!(u(b"\xe2\x82x"), b"\x82x");
        assert_eq!(u(b"\x80\xff"), b"\x80\xff");
        assert_eq!(u(b"\xc0\x80"), b"%u0000\xc0");
        assert_eq!(u(b"\xed\xa0\x80"), b"%ud800\xed");
        assert_eq!(u(b"\xf5\x80\x80\x80"), b"\xf5%u140000");
        assert!(matches!(utf8_to_unicode(b"abc\x80"), Cow::Borrowed(_)));
    }
}
