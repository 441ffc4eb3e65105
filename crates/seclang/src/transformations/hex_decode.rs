//! `t:hexDecode`: decodes a string of hex digit pairs, as libmodsecurity 3.
//!
//! Exact behaviour: the value is read two bytes at a time and each pair
//! becomes one byte through ModSecurity's unchecked `x2c` arithmetic, so
//! non-hex characters are *not* rejected: they yield deterministic
//! garbage (`0z` -> `#`). An odd final byte is dropped (`a` -> ``).
//!
//! ```text
//! SecRule ARGS:h "@contains <script" "id:107,phase:2,t:hexDecode,deny"
//! ```
//!
//! Must not: validate or skip characters; ModSecurity does neither.

use std::borrow::Cow;

use super::c_locale::hex_pair;
use super::rewrite::owned_if_changed;

pub(crate) fn hex_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if input.is_empty() {
        return Cow::Borrowed(input);
    }
    let out = input
        .chunks_exact(2)
        .map(|pair| hex_pair(pair[0], pair[1]))
        .collect();
    owned_if_changed(input, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pairs_unchecked() {
        assert_eq!(&*hex_decode(b"5465737443617365"), b"TestCase");
        assert_eq!(&*hex_decode(b"01234567890a0z"), b"\x01#Eg\x89\x0a#");
        assert_eq!(&*hex_decode(b"a"), b"");
    }
}
