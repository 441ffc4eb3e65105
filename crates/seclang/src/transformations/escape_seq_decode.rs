//! `t:escapeSeqDecode`: decodes ANSI C escape sequences, as
//! libmodsecurity 3 does.
//!
//! Exact behaviour, for a backslash followed by:
//! - `a b f n r t v \ ? ' "`: the C character;
//! - `x` or `X` and two hex digits: that byte;
//! - 1 to 3 octal digits: their value, truncated to a byte (`\666` ->
//!   0xb6);
//! - anything else (including `x` without two hex digits): that byte,
//!   without the backslash (`\8` -> `8`, `\x` -> `x`).
//!
//! A backslash at the very end is kept.
//!
//! ```text
//! SecRule ARGS "@contains /etc/passwd" "id:106,phase:2,t:escapeSeqDecode,deny"
//! ```
//!
//! Must not: decode `\u` sequences (that is `t:jsDecode`).

use std::borrow::Cow;

use super::c_locale::{hex_pair, is_hex, is_octal};
use super::rewrite::{run_end, Rewrite};

pub(crate) fn escape_seq_decode(input: &[u8]) -> Cow<'_, [u8]> {
    let len = input.len();
    let Some(start) = input
        .iter()
        .enumerate()
        .position(|(i, &b)| b == b'\\' && i + 1 < len)
    else {
        return Cow::Borrowed(input);
    };
    let mut out = Rewrite::new(input, start);
    let mut i = start;
    while i < len {
        if input[i] != b'\\' || i + 1 >= len {
            let end = run_end(input, i, |b| b == b'\\');
            out.extend(&input[i..end]);
            i = end;
            continue;
        }
        let next = input[i + 1];
        let simple = match next {
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(0x0b),
            b'\\' | b'?' | b'\'' | b'"' => Some(next),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            i += 2;
        } else if next == b'x' || next == b'X' {
            if i + 3 < len && is_hex(input[i + 2]) && is_hex(input[i + 3]) {
                out.push(hex_pair(input[i + 2], input[i + 3]));
                i += 4;
            } else {
                out.push(next);
                i += 2;
            }
        } else if is_octal(next) {
            let mut j = 1;
            while j < 3 && i + 1 + j < len && is_octal(input[i + 1 + j]) {
                j += 1;
            }
            let value = input[i + 1..i + 1 + j]
                .iter()
                .fold(0u32, |v, &d| v * 8 + u32::from(d - b'0'));
            out.push(value as u8);
            i += 1 + j;
        } else {
            out.push(next);
            i += 2;
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_sequences() {
        assert_eq!(
            &*escape_seq_decode(b"\\a\\b\\f\\n\\r\\t\\v\\?\\'\\\"\\0\\12\\123\\x00\\xff"),
            b"\x07\x08\x0c\n\r\t\x0b?'\"\0\nS\0\xff"
        );
        assert_eq!(&*escape_seq_decode(b"\\8\\9\\666\\0123"), b"89\xb6\n3");
        assert_eq!(&*escape_seq_decode(b"\\x\\x0\\xg1"), b"xx0xg1");
        assert_eq!(&*escape_seq_decode(b"\\"), b"\\");
        assert!(matches!(escape_seq_decode(b"ab\\"), Cow::Borrowed(_)));
    }
}
