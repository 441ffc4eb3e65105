//! `t:trimRight`: removes C-locale whitespace (space, `\t`, `\n`, `\v`,
//! `\f`, `\r`) from the end of the value.
//!
//! ```text
//! SecRule ARGS:file "@endsWith .php" "id:131,phase:2,t:trimRight,deny"
//! ```
//!
//! Must not: touch the start of the value.

use std::borrow::Cow;

use super::trim::trim_ends;

pub(crate) fn trim_right(input: &[u8]) -> Cow<'_, [u8]> {
    trim_ends(input, false, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_end_only() {
        assert_eq!(&*trim_right(b" \t Test \0 Case \r\n"), b" \t Test \0 Case");
        assert!(matches!(trim_right(b" x"), Cow::Borrowed(_)));
    }
}
