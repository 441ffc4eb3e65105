//! `t:hexEncode`: every byte becomes two lower-case hex digits.
//!
//! `Test` -> `54657374`; the empty value stays empty.
//!
//! ```text
//! SecRule REQUEST_BODY "@contains 3c736372697074" "id:108,phase:2,t:hexEncode,deny"
//! ```
//!
//! Must not: use upper-case digits (CRS data files are lower-case).

use std::borrow::Cow;

use super::c_locale::LOWER_HEX;
use super::rewrite::owned_if_changed;

pub(crate) fn hex_encode(input: &[u8]) -> Cow<'_, [u8]> {
    if input.is_empty() {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len() * 2);
    for &b in input {
        out.extend_from_slice(&[
            LOWER_HEX[usize::from(b >> 4)],
            LOWER_HEX[usize::from(b & 0x0f)],
        ]);
    }
    owned_if_changed(input, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_lower_case() {
        assert_eq!(&*hex_encode(b"Test\0Case"), b"546573740043617365");
        assert_eq!(&*hex_encode(&[0xab, 0xff]), b"abff");
    }
}
