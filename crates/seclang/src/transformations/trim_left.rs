//! `t:trimLeft`: removes C-locale whitespace (space, `\t`, `\n`, `\v`,
//! `\f`, `\r`) from the start of the value.
//!
//! ```text
//! SecRule ARGS:cmd "@beginsWith rm" "id:130,phase:2,t:trimLeft,deny"
//! ```
//!
//! Must not: touch the end of the value.

use std::borrow::Cow;

use super::trim::trim_ends;

pub(crate) fn trim_left(input: &[u8]) -> Cow<'_, [u8]> {
    trim_ends(input, true, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_start_only() {
        assert_eq!(&*trim_left(b" \t Test \0 Case \r\n"), b"Test \0 Case \r\n");
        assert!(matches!(trim_left(b"x "), Cow::Borrowed(_)));
    }
}
