//! `t:sha1`: replaces the value with its SHA-1 digest, as 20 raw bytes
//! (not hex), like ModSecurity. Combine with `t:hexEncode` to compare
//! against a hex string.
//!
//! ```text
//! SecRule REQUEST_FILENAME "@pmFromFile blocked-sha1.data" \
//!     "id:115,phase:1,t:sha1,t:hexEncode,deny"
//! ```
//!
//! Must not: be used for anything secret; it is a matching aid only.

use std::borrow::Cow;

use ::sha1::{Digest, Sha1};

use super::rewrite::owned_if_changed;

pub(crate) fn sha1(input: &[u8]) -> Cow<'_, [u8]> {
    owned_if_changed(input, Sha1::digest(input).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_digest() {
        assert_eq!(
            &*sha1(b""),
            b"\xda\x39\xa3\xee\x5e\x6b\x4b\x0d\x32\x55\xbf\xef\x95\x60\x18\x90\xaf\xd8\x07\x09"
        );
    }
}
