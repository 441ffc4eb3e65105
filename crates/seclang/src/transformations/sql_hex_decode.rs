//! `t:sqlHexDecode`: decodes SQL hex literals (`0x414243` -> `ABC`) in
//! place, as libmodsecurity 3.
//!
//! Exact behaviour: `0x` or `0X` followed by at least two hex digits
//! starts a literal; hex digit pairs are then decoded while they last. An
//! odd final digit stays as text (`0x4142a` -> `ABa`). Text around
//! literals is kept.
//!
//! ```text
//! SecRule ARGS "@contains union select" "id:128,phase:2,t:sqlHexDecode,t:lowercase,deny"
//! ```
//!
//! Must not: decode literals shorter than one byte (`0x4` stays).

use std::borrow::Cow;

use super::c_locale::{hex_pair, is_hex};
use super::rewrite::Rewrite;

#[inline]
fn literal_at(input: &[u8], i: usize) -> bool {
    i + 3 < input.len()
        && input[i] == b'0'
        && (input[i + 1] | 0x20) == b'x'
        && is_hex(input[i + 2])
        && is_hex(input[i + 3])
}

pub(crate) fn sql_hex_decode(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(start) = (0..input.len()).find(|&i| literal_at(input, i)) else {
        return Cow::Borrowed(input);
    };
    let len = input.len();
    let mut out = Rewrite::new(input, start);
    let mut i = start;
    while i < len {
        if literal_at(input, i) {
            i += 2;
            loop {
                out.push(hex_pair(input[i], input[i + 1]));
                i += 2;
                if !(i + 1 < len && is_hex(input[i]) && is_hex(input[i + 1])) {
                    break;
                }
            }
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
    fn decodes_literals() {
        assert_eq!(&*sql_hex_decode(b"0x414243"), b"ABC");
        assert_eq!(&*sql_hex_decode(b"x=0X4142a,0x4"), b"x=ABa,0x4");
        assert_eq!(&*sql_hex_decode(b"0x0x4141"), b"0xAA");
        assert!(matches!(sql_hex_decode(b"0x4g"), Cow::Borrowed(_)));
    }
}
