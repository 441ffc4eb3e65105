//! `t:jsDecode`: decodes JavaScript escape sequences, as libmodsecurity 3.
//!
//! Exact behaviour, for a backslash followed by:
//! - `u` and four hex digits: the low byte of the code unit; for
//!   full-width ASCII (`\uff01`..`\uff5e`) 0x20 is added, giving the ASCII
//!   character (`\uff1c` -> `<`);
//! - `x` and two hex digits: that byte;
//! - 1 to 3 octal digits: their value; a third digit is only used when
//!   the first is `0`..`3`, so the result fits a byte (`\400` -> ` ` then
//!   `0`);
//! - `a b f n r t v`: the C character;
//! - any other byte: that byte without the backslash (`\u` -> `u`,
//!   `\x` -> `x`, `\\` -> `\`).
//!
//! Only lower-case `u` and `x` introduce code units. A backslash at the
//! very end is kept.
//!
//! ```text
//! SecRule ARGS "@rx <script" "id:110,phase:2,t:jsDecode,t:lowercase,deny"
//! ```
//!
//! Must not: combine surrogate pairs or emit UTF-8.

use std::borrow::Cow;

use super::c_locale::{hex_pair, is_hex, is_octal};
use super::rewrite::{run_end, Rewrite};

pub(crate) fn js_decode(input: &[u8]) -> Cow<'_, [u8]> {
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
        if next == b'u' && i + 5 < len && input[i + 2..i + 6].iter().all(|&b| is_hex(b)) {
            let mut c = hex_pair(input[i + 4], input[i + 5]);
            let full_width =
                matches!(input[i + 2], b'f' | b'F') && matches!(input[i + 3], b'f' | b'F');
            if c > 0x00 && c < 0x5f && full_width {
                c += 0x20;
            }
            out.push(c);
            i += 6;
        } else if next == b'x' && i + 3 < len && is_hex(input[i + 2]) && is_hex(input[i + 3]) {
            out.push(hex_pair(input[i + 2], input[i + 3]));
            i += 4;
        } else if is_octal(next) {
            let mut j = 1;
            while j < 3 && i + 1 + j < len && is_octal(input[i + 1 + j]) {
                j += 1;
            }
            if j == 3 && next > b'3' {
                j = 2;
            }
            let value = input[i + 1..i + 1 + j]
                .iter()
                .fold(0u32, |v, &d| v * 8 + u32::from(d - b'0'));
            out.push(value as u8);
            i += 1 + j;
        } else {
            out.push(match next {
                b'a' => 0x07,
                b'b' => 0x08,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'v' => 0x0b,
                other => other,
            });
            i += 2;
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &[u8]) -> Vec<u8> {
        js_decode(s).into_owned()
    }

    #[test]
    fn decodes_sequences() {
        assert_eq!(
            dec(b"\\\\a\\\\b\\?\\'\\\"\\0\\12\\123\\x00\\xff"),
            b"\\a\\b?'\"\0\nS\0\xff"
        );
        assert_eq!(dec(b"\\u003c\\uff1c\\uFF5e\\uff00\\u0141"), b"<<~\0A");
        assert_eq!(dec(b"\\400\\377"), b" 0\xff");
    }

    #[test]
    fn incomplete_sequences() {
        assert_eq!(dec(b"\\u\\u0\\u01\\u012"), b"uu0u01u012");
        assert_eq!(dec(b"\\x\\x0"), b"xx0");
        assert_eq!(dec(b"\\U0041\\X41"), b"U0041X41");
        assert!(matches!(js_decode(b"a\\"), Cow::Borrowed(_)));
    }
}
