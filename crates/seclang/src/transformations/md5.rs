//! `t:md5`: replaces the value with its MD5 digest, as 16 raw bytes (not
//! hex), like ModSecurity. Combine with `t:hexEncode` to compare against
//! a hex string.
//!
//! ```text
//! SecRule ARGS:file "@streq 9e107d9d372bb6826bd81d3542a419d6" \
//!     "id:114,phase:2,t:md5,t:hexEncode,deny"
//! ```
//!
//! Must not: be used for anything secret; it is a matching aid only.

use std::borrow::Cow;

use ::md5::{Digest, Md5};

use super::rewrite::owned_if_changed;

pub(crate) fn md5(input: &[u8]) -> Cow<'_, [u8]> {
    owned_if_changed(input, Md5::digest(input).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_digest() {
        assert_eq!(
            &*md5(b""),
            b"\xd4\x1d\x8c\xd9\x8f\x00\xb2\x04\xe9\x80\x09\x98\xec\xf8\x42\x7e"
        );
    }
}
