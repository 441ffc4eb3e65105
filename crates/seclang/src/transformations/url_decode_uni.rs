//! `t:urlDecodeUni`: like `t:urlDecode`, and also decodes the IIS
//! `%uHHHH` form, as libmodsecurity 3 does without a `SecUnicodeMapFile`.
//!
//! Exact behaviour:
//! - `%u` or `%U` and four hex digits: the *low byte* of the code unit
//!   (`%u0041` -> `A`, `%u1141` -> `A`). For the full-width ASCII range
//!   `%uff01`..`%uff5e` 0x20 is added, giving the ASCII character
//!   (`%uff1c` -> `<`); `%uff00` gives NUL and `%uff5f` and above give
//!   their low byte unchanged.
//! - `%u` without four hex digits: `%u` is kept as is and decoding goes on
//!   after it (`%u%u0020` -> `%u `).
//! - `%HH`, lenient `%` and `+` exactly as `t:urlDecode`.
//!
//! With a `SecUnicodeMapFile`, ModSecurity would look the code unit up in
//! the map first; Rampart does not load unicode maps, so this is the
//! behaviour of the default configuration.
//!
//! ```text
//! SecRule ARGS "@rx <script" "id:133,phase:2,t:urlDecodeUni,t:lowercase,deny"
//! ```
//!
//! Must not: produce UTF-8; every escape yields exactly one byte.

use std::borrow::Cow;

use super::c_locale::{hex_pair, is_hex};
use super::rewrite::{run_end, Rewrite};

pub(crate) fn url_decode_uni(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(start) = input.iter().position(|&b| b == b'%' || b == b'+') else {
        return Cow::Borrowed(input);
    };
    let len = input.len();
    let mut out = Rewrite::new(input, start);
    let mut i = start;
    while i < len {
        let b = input[i];
        if b == b'+' {
            out.push(b' ');
            i += 1;
        } else if b != b'%' {
            let end = run_end(input, i, |b| b == b'%' || b == b'+');
            out.extend(&input[i..end]);
            i = end;
        } else if i + 1 < len && (input[i + 1] == b'u' || input[i + 1] == b'U') {
            if i + 5 < len && input[i + 2..i + 6].iter().all(|&h| is_hex(h)) {
                let mut c = hex_pair(input[i + 4], input[i + 5]);
                let full_width =
                    matches!(input[i + 2], b'f' | b'F') && matches!(input[i + 3], b'f' | b'F');
                if c > 0x00 && c < 0x5f && full_width {
                    c += 0x20;
                }
                out.push(c);
                i += 6;
            } else {
                out.extend(&input[i..i + 2]);
                i += 2;
            }
        } else if i + 2 < len && is_hex(input[i + 1]) && is_hex(input[i + 2]) {
            out.push(hex_pair(input[i + 1], input[i + 2]));
            i += 3;
        } else {
            out.push(b'%');
            i += 1;
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &[u8]) -> Vec<u8> {
        url_decode_uni(s).into_owned()
    }

    #[test]
    fn percent_u() {
        assert_eq!(
            dec(b"%u0041%U1142%uff1c%uFF5E%uff00%uff5f%uff7f"),
            b"AB<~\0\x5f\x7f"
        );
        assert_eq!(dec(b"%u%u0020%u000g%u0020%u12"), b"%u %u000g %u12");
    }

    #[test]
    fn like_url_decode() {
        assert_eq!(dec(b"a+b%41%%20%g0"), b"a bA% %g0");
        assert!(matches!(url_decode_uni(b"%0%g"), Cow::Borrowed(_)));
    }
}
