//! `t:normalisePathWin` (alias `t:normalizePathWin`): like
//! `t:normalisePath`, but `\` is also a separator and every separator in
//! the result is `/` (`\dir\..\foo` -> `/foo`).
//!
//! The algorithm is ModSecurity's: backslashes are rewritten to `/` as the
//! scan reaches them, and a run of separators collapses to its last one.
//! In a run of three or more mixed separators ModSecurity may therefore
//! leave one `\` in place (`a\\\b` -> `a\b`); this reproduces that.
//!
//! ```text
//! SecRule REQUEST_FILENAME "@contains /windows/system32" \
//!     "id:117,phase:1,t:lowercase,t:normalizePathWin,deny"
//! ```
//!
//! Must not: interpret drive letters or UNC prefixes (ModSecurity doesn't).

use std::borrow::Cow;

use super::normalise_path::normalize;

pub(crate) fn normalise_path_win(input: &[u8]) -> Cow<'_, [u8]> {
    normalize(input, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &[u8]) -> Vec<u8> {
        normalise_path_win(s).into_owned()
    }

    #[test]
    fn backslashes_are_separators() {
        assert_eq!(norm(b"\\foo\\bar\\baz"), b"/foo/bar/baz");
        assert_eq!(norm(b"..\\"), b"../");
        assert_eq!(norm(b"dir\\\\.\\\\..\\\\foo"), b"foo");
        assert_eq!(norm(b"a\\\\\\b"), b"a\\b");
    }
}
