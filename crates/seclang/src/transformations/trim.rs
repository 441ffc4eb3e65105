//! `t:trim`: removes C-locale whitespace (space, `\t`, `\n`, `\v`, `\f`,
//! `\r`) from both ends of the value. Other bytes (NUL, 0xa0) are kept.
//!
//! ```text
//! SecRule ARGS:qty "!@rx ^\d+$" "id:129,phase:2,t:trim,deny"
//! ```
//!
//! Must not: touch whitespace inside the value.

use std::borrow::Cow;

use super::c_locale::is_space;

/// `input` without leading (`left`) and trailing (`right`) whitespace,
/// returned borrowed only when nothing was removed.
pub(super) fn trim_ends(input: &[u8], left: bool, right: bool) -> Cow<'_, [u8]> {
    let mut s = input;
    if left {
        let n = s.iter().take_while(|&&b| is_space(b)).count();
        s = &s[n..];
    }
    if right {
        let n = s.iter().rev().take_while(|&&b| is_space(b)).count();
        s = &s[..s.len() - n];
    }
    if s.len() == input.len() {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(s.to_vec())
    }
}

pub(crate) fn trim(input: &[u8]) -> Cow<'_, [u8]> {
    trim_ends(input, true, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_both_ends() {
        assert_eq!(&*trim(b" \t   Test \0 Case \t \r\n  "), b"Test \0 Case");
        assert_eq!(&*trim(b" \x0b\x0c "), b"");
        assert!(matches!(trim(b"\xa0x\xa0"), Cow::Borrowed(_)));
    }
}
