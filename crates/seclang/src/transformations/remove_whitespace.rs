//! `t:removeWhitespace`: deletes C-locale whitespace (space, `\t`, `\n`,
//! `\v`, `\f`, `\r`) and the bytes 0xa0 and 0xc2, as libmodsecurity 3
//! does: 0xa0 is Latin-1 NBSP, and 0xc2 0xa0 is NBSP in UTF-8, so *every*
//! 0xc2 byte goes, even when it starts another UTF-8 character.
//!
//! ```text
//! SecRule ARGS "@contains unionselect" "id:125,phase:2,t:lowercase,t:removeWhitespace,deny"
//! ```
//!
//! Must not: remove other bytes (NUL is kept).

use std::borrow::Cow;

use super::c_locale::is_space;

#[inline]
fn removed(b: u8) -> bool {
    is_space(b) || b == 0xa0 || b == 0xc2
}

pub(crate) fn remove_whitespace(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(start) = input.iter().position(|&b| removed(b)) else {
        return Cow::Borrowed(input);
    };
    let mut out = Vec::with_capacity(input.len() - 1);
    out.extend_from_slice(&input[..start]);
    out.extend(input[start..].iter().copied().filter(|&b| !removed(b)));
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_whitespace_and_nbsp() {
        assert_eq!(
            &*remove_whitespace(b"  Test \t\x0b\x0c\r\n Case "),
            b"TestCase"
        );
        assert_eq!(&*remove_whitespace(b"a\xc2\xa0b\xc2\xa9\0"), b"ab\xa9\0");
        assert!(matches!(remove_whitespace(b"a\0b"), Cow::Borrowed(_)));
    }
}
