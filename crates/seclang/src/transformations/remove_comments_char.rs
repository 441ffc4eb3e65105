//! `t:removeCommentsChar`: deletes the comment markers `/*`, `*/`, `<!--`,
//! `-->`, `--` and `#`, keeping the text between them (libmodsecurity 3).
//!
//! Markers are matched left to right, longest first where they overlap
//! (`-->` before `--`): `/* a */` -> ` a `, `x--y` -> `xy`.
//!
//! ```text
//! SecRule ARGS "@rx union\s+select" "id:123,phase:2,t:removeCommentsChar,deny"
//! ```
//!
//! Must not: remove the commented text itself (that is `t:removeComments`).

use std::borrow::Cow;

use super::rewrite::Rewrite;

/// Length of the comment marker at `input[i..]`, or 0.
#[inline]
fn marker_len(input: &[u8], i: usize) -> usize {
    let rest = &input[i..];
    match rest[0] {
        b'#' => 1,
        b'/' if rest.get(1) == Some(&b'*') => 2,
        b'*' if rest.get(1) == Some(&b'/') => 2,
        b'<' if rest.starts_with(b"<!--") => 4,
        b'-' if rest.starts_with(b"-->") => 3,
        b'-' if rest.get(1) == Some(&b'-') => 2,
        _ => 0,
    }
}

pub(crate) fn remove_comments_char(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(start) = (0..input.len()).find(|&i| marker_len(input, i) > 0) else {
        return Cow::Borrowed(input);
    };
    let mut out = Rewrite::new(input, start);
    let mut i = start;
    while i < input.len() {
        match marker_len(input, i) {
            0 => {
                out.push(input[i]);
                i += 1;
            }
            n => i += n,
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_markers() {
        assert_eq!(
            &*remove_comments_char(b"Before/* TestCase */After"),
            b"Before TestCase After"
        );
        assert_eq!(&*remove_comments_char(b"<!--x-->y--z#"), b"xyz");
        assert_eq!(&*remove_comments_char(b"a-b<!-"), b"a-b<!-");
    }
}
