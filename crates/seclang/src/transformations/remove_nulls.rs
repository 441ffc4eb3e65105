//! `t:removeNulls`: deletes every NUL byte (`Test\0Case` -> `TestCase`).
//!
//! ```text
//! SecRule ARGS "@contains <script" "id:124,phase:2,t:removeNulls,deny"
//! ```
//!
//! Must not: touch any other byte.

use std::borrow::Cow;

pub(crate) fn remove_nulls(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(start) = input.iter().position(|&b| b == 0) else {
        return Cow::Borrowed(input);
    };
    let mut out = Vec::with_capacity(input.len() - 1);
    out.extend_from_slice(&input[..start]);
    out.extend(input[start..].iter().copied().filter(|&b| b != 0));
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_every_nul() {
        assert_eq!(&*remove_nulls(b"\0Test\0\0Case\0"), b"TestCase");
        assert!(matches!(remove_nulls(b"Test\x01Case"), Cow::Borrowed(_)));
    }
}
