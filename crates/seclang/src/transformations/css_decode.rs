//! `t:cssDecode`: decodes CSS 2 escapes (`\` + 1 to 6 hex digits, or `\`
//! + any other byte), as libmodsecurity 3 does.
//!
//! Exact behaviour, for a backslash followed by:
//! - 1 to 6 hex digits (longer runs stop at 6): one byte is produced. With
//!   one digit it is that digit's value; otherwise the *last two* digits
//!   form the byte. With 4 digits, or 5 starting with `0`, or 6 starting
//!   with `00`, the full-width rule applies: when the two digits before
//!   the last two are `ff` (any case) and the byte is 0x01..=0x5e, 0x20 is
//!   added (`\ff01` -> `!`). One whitespace byte right after the digits is
//!   consumed.
//! - a newline: both are removed (line continuation).
//! - any other byte (NUL included): that byte, without the backslash.
//! - nothing (backslash at the end): the backslash is removed.
//!
//! ```text
//! SecRule ARGS "@rx expression\s*\(" "id:105,phase:2,t:cssDecode,t:lowercase,deny"
//! ```
//!
//! Must not: decode code points to UTF-8; only one byte is ever produced.

use std::borrow::Cow;

use super::c_locale::{hex_nibble, hex_pair, is_hex, is_space};
use super::rewrite::{run_end, Rewrite};

#[inline]
fn is_f(b: u8) -> bool {
    b == b'f' || b == b'F'
}

pub(crate) fn css_decode(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(start) = input.iter().position(|&b| b == b'\\') else {
        return Cow::Borrowed(input);
    };
    let len = input.len();
    let mut out = Rewrite::new(input, start);
    let mut i = start;
    while i < len {
        if input[i] != b'\\' {
            let end = run_end(input, i, |b| b == b'\\');
            out.extend(&input[i..end]);
            i = end;
            continue;
        }
        if i + 1 >= len {
            // Backslash at the end: continuation to nothing.
            i += 1;
            continue;
        }
        i += 1; // past the backslash
        let mut j = 0;
        while j < 6 && i + j < len && is_hex(input[i + j]) {
            j += 1;
        }
        if j > 0 {
            let last_two = |k: usize| hex_pair(input[i + k - 2], input[i + k - 1]);
            let full_width_check = match j {
                1 => {
                    out.push(hex_nibble(input[i]));
                    None
                }
                2 | 3 => {
                    out.push(last_two(j));
                    None
                }
                4 => Some(last_two(j)),
                5 if input[i] == b'0' => Some(last_two(j)),
                6 if input[i] == b'0' && input[i + 1] == b'0' => Some(last_two(j)),
                _ => {
                    out.push(last_two(j));
                    None
                }
            };
            if let Some(mut c) = full_width_check {
                if c > 0x00 && c < 0x5f && is_f(input[i + j - 3]) && is_f(input[i + j - 4]) {
                    c += 0x20;
                }
                out.push(c);
            }
            // A single whitespace after a hex escape is part of it.
            if i + j < len && is_space(input[i + j]) {
                j += 1;
            }
            i += j;
        } else if input[i] == b'\n' {
            i += 1;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_hex_escapes() {
        assert_eq!(
            &*css_decode(b"\\1A\\1 A\\1234567\\123456 7\\1x\\1 x"),
            b"\x1a\x01AV7V7\x01x\x01x"
        );
        assert_eq!(&*css_decode(b"\\ff01\\0ff5e\\00ff3c"), b"!~\\");
        assert_eq!(&*css_decode(b"\\1ff01"), b"\x01");
    }

    #[test]
    fn other_escapes() {
        assert_eq!(&*css_decode(b"a\\\nb\\x\\"), b"abx");
        assert_eq!(&*css_decode(b"test\\"), b"test");
        assert!(matches!(css_decode(b"plain"), Cow::Borrowed(_)));
    }
}
