//! `t:replaceComments`: replaces each C comment (`/* ... */`) with one
//! space; an unterminated comment also becomes one space. A `*/` without
//! an opener is kept. (libmodsecurity 3.)
//!
//! ```text
//! SecRule ARGS "@rx union\s+select" "id:126,phase:2,t:replaceComments,deny"
//! ```
//!
//! Must not: treat `--`, `#` or HTML comments as comments.

use std::borrow::Cow;

use super::rewrite::Rewrite;

pub(crate) fn replace_comments(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(start) = input.windows(2).position(|w| w == b"/*") else {
        return Cow::Borrowed(input);
    };
    let len = input.len();
    let mut out = Rewrite::new(input, start);
    let mut in_comment = false;
    let mut i = start;
    while i < len {
        let pair = |a: u8, b: u8| input[i] == a && i + 1 < len && input[i + 1] == b;
        if !in_comment {
            if pair(b'/', b'*') {
                in_comment = true;
                i += 2;
            } else {
                out.push(input[i]);
                i += 1;
            }
        } else if pair(b'*', b'/') {
            in_comment = false;
            out.push(b' ');
            i += 2;
        } else {
            i += 1;
        }
    }
    if in_comment {
        out.push(b' ');
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_comments() {
        assert_eq!(
            &*replace_comments(b"Before /* TestCase */ After"),
            b"Before   After"
        );
        assert_eq!(&*replace_comments(b"Before/* Test\r\nCase "), b"Before ");
        assert_eq!(&*replace_comments(b"/*/"), b" ");
        assert!(matches!(
            replace_comments(b"Test */After"),
            Cow::Borrowed(_)
        ));
    }
}
