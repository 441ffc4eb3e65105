//! `t:lowercase`: ASCII `A`-`Z` become `a`-`z`; every other byte is kept
//! (C locale `tolower`, no Unicode case folding).
//!
//! ```text
//! SecRule REQUEST_METHOD "@streq trace" "id:112,phase:1,t:lowercase,deny"
//! ```
//!
//! Must not: alter bytes >= 0x80.

use std::borrow::Cow;

pub(crate) fn lowercase(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(start) = input.iter().position(u8::is_ascii_uppercase) else {
        return Cow::Borrowed(input);
    };
    let mut out = input.to_vec();
    out[start..].make_ascii_lowercase();
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_only() {
        assert_eq!(&*lowercase(b"Test\0CASE\xc3\x89"), b"test\0case\xc3\x89");
        assert!(matches!(lowercase(b"test\xc9"), Cow::Borrowed(_)));
    }
}
