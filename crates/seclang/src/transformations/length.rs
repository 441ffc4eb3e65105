//! `t:length`: replaces the value with its length in bytes, in decimal.
//!
//! `Test\0Case` -> `9`; the empty value -> `0`.
//!
//! ```text
//! SecRule ARGS "@gt 400" "id:111,phase:2,t:length,deny"
//! ```
//!
//! Must not: count characters; the length is in bytes.

use std::borrow::Cow;

use super::rewrite::owned_if_changed;

pub(crate) fn length(input: &[u8]) -> Cow<'_, [u8]> {
    owned_if_changed(input, input.len().to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_length() {
        assert_eq!(&*length(b""), b"0");
        assert_eq!(&*length(b"0123456789\tabcdef"), b"17");
        // A value that already is its own length is unchanged.
        assert!(matches!(length(b"1"), Cow::Borrowed(_)));
    }
}
