//! `t:urlDecode`: decodes `%HH` escapes and `+` (as a space), leniently,
//! as libmodsecurity 3 (`urldecode_nonstrict_inplace`).
//!
//! Exact behaviour: a `%` followed by two hex digits becomes that byte;
//! any other `%` (`%g0`, `%0`, a final `%`) is kept as is and decoding
//! goes on at the next byte (`%%20` -> `% `). `+` becomes a space.
//!
//! ```text
//! SecRule REQUEST_URI "@contains <script" "id:132,phase:1,t:urlDecode,deny"
//! ```
//!
//! Must not: decode `%uHHHH` (that is `t:urlDecodeUni`).

use std::borrow::Cow;

use super::c_locale::{hex_pair, is_hex};
use super::rewrite::{run_end, Rewrite};

pub(crate) fn url_decode(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(start) = input.iter().position(|&b| b == b'%' || b == b'+') else {
        return Cow::Borrowed(input);
    };
    let len = input.len();
    let mut out = Rewrite::new(input, start);
    let mut i = start;
    while i < len {
        match input[i] {
            b'%' if i + 2 < len && is_hex(input[i + 1]) && is_hex(input[i + 2]) => {
                out.push(hex_pair(input[i + 1], input[i + 2]));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                let end = run_end(input, i, |b| b == b'%' || b == b'+');
                out.extend(&input[i..end]);
                i = end;
            }
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_decoding() {
        assert_eq!(&*url_decode(b"Test+Case%20%3c%3E"), b"Test Case <>");
        assert_eq!(&*url_decode(b"%%20%0g%20%0%20%"), b"% %0g %0 %");
        assert!(matches!(url_decode(b"%0%1%g0"), Cow::Borrowed(_)));
    }
}
