//! `t:replaceNulls`: replaces every NUL byte with a space
//! (`Test\0Case` -> `Test Case`).
//!
//! ```text
//! SecRule ARGS "@contains <script" "id:127,phase:2,t:replaceNulls,deny"
//! ```
//!
//! Must not: touch any other byte.

use std::borrow::Cow;

pub(crate) fn replace_nulls(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(start) = input.iter().position(|&b| b == 0) else {
        return Cow::Borrowed(input);
    };
    let mut out = input.to_vec();
    for b in &mut out[start..] {
        if *b == 0 {
            *b = b' ';
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_nul() {
        assert_eq!(&*replace_nulls(b"\0Test\0\0Case\0"), b" Test  Case ");
        assert!(matches!(replace_nulls(b"TestCase"), Cow::Borrowed(_)));
    }
}
