//! `t:uppercase`: ASCII `a`-`z` become `A`-`Z`; every other byte is kept
//! (C locale `toupper`, no Unicode case folding).
//!
//! ```text
//! SecRule REQUEST_METHOD "@streq TRACE" "id:113,phase:1,t:uppercase,deny"
//! ```
//!
//! Must not: alter bytes >= 0x80.

use std::borrow::Cow;

pub(crate) fn uppercase(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(start) = input.iter().position(u8::is_ascii_lowercase) else {
        return Cow::Borrowed(input);
    };
    let mut out = input.to_vec();
    out[start..].make_ascii_uppercase();
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_only() {
        assert_eq!(&*uppercase(b"Test\0case\xe9"), b"TEST\0CASE\xe9");
        assert!(matches!(uppercase(b"TEST\xe9"), Cow::Borrowed(_)));
    }
}
