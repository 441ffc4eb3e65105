//! `t:normalisePath` (alias `t:normalizePath`): removes self references
//! (`/./`), back references (`dir/../`) and repeated slashes from a path,
//! with ModSecurity's exact algorithm (also used by `t:normalisePathWin`).
//!
//! Exact behaviour:
//! - `//` collapses to `/`; `./` segments disappear; `seg/..` removes the
//!   segment, never climbing above the root of an absolute path
//!   (`/../etc` -> `/etc`).
//! - A trailing slash is kept only when the input had one, and that rule
//!   is applied last, so even a lone root goes: `/..` -> `` (empty).
//! - In a relative path, back references that cannot be resolved are kept
//!   (`dir/../../foo` -> `../foo`), and a leading `./` is dropped
//!   (`./..` -> `..`; `.` -> ``).
//! - ModSecurity looks only at the last two bytes of a segment, so any
//!   segment *ending* in `..` is a back reference (`/a/b.../c` -> `/a/c`).
//! - Segments are separated by `/` only; every other byte, NUL included,
//!   is part of a segment name.
//!
//! ```text
//! SecRule REQUEST_FILENAME "@beginsWith /admin" "id:116,phase:1,t:normalizePath,deny"
//! ```
//!
//! Must not: decode `%2e` or other escapes; combine with `t:urlDecodeUni`
//! first.

use std::borrow::Cow;

use super::rewrite::owned_if_changed;

/// ModSecurity's `normalize_path_inplace`. With `windows`, `\` counts as
/// a separator and is rewritten to `/` as the scan meets it.
pub(super) fn normalize(input: &[u8], windows: bool) -> Cow<'_, [u8]> {
    // Without a dot, a doubled separator or (on Windows) a backslash, the
    // algorithm copies every byte: skip the work.
    let mut prev_slash = false;
    let may_change = input.iter().any(|&b| {
        let slash = b == b'/';
        let hit = b == b'.' || (windows && b == b'\\') || (slash && prev_slash);
        prev_slash = slash;
        hit
    });
    if input.is_empty() || !may_change {
        return Cow::Borrowed(input);
    }
    let is_sep = |b: u8| b == b'/' || (windows && b == b'\\');
    let mut buf = input.to_vec();
    let end = buf.len() - 1;
    let relative = !is_sep(buf[0]);
    let trailing = is_sep(buf[end]);
    let mut src = 0usize;
    let mut dst = 0usize;
    let mut hit_root = false;
    let mut done = false;

    while !done && src <= end && dst <= end {
        if windows {
            if buf[src] == b'\\' {
                buf[src] = b'/';
            }
            if src < end && buf[src + 1] == b'\\' {
                buf[src + 1] = b'/';
            }
        }

        // Normalise only at the end of a segment (or of the input).
        let at_segment_end = if src == end {
            done = true;
            true
        } else {
            buf[src + 1] == b'/'
        };

        let mut copy = true;
        if at_segment_end && !(src != end && buf[src] == b'/') {
            if buf[src] == b'.' {
                if dst > 0 && buf[dst - 1] == b'.' {
                    // Back reference.
                    if relative && (hit_root || dst <= 2) {
                        hit_root = true;
                    } else {
                        // Remove the back reference and the previous segment.
                        let mut d = dst as isize - 3;
                        while d > 0 && buf[d as usize] != b'/' {
                            d -= 1;
                        }
                        if d <= 0 {
                            hit_root = true;
                            d = 0;
                            if !relative && src == end {
                                d += 1;
                            }
                        }
                        dst = d as usize;
                        if done {
                            copy = false;
                        } else {
                            src += 1;
                        }
                    }
                } else if dst == 0 {
                    // Relative self reference.
                    if done {
                        copy = false;
                    } else {
                        src += 1;
                    }
                } else if buf[dst - 1] == b'/' {
                    // Self reference.
                    if done {
                        copy = false;
                    } else {
                        dst -= 1;
                        src += 1;
                    }
                }
            } else if dst > 0 {
                hit_root = false;
            }
        }

        if !copy {
            continue;
        }
        if buf[src] == b'/' {
            // Skip to the last of several separators.
            while src < end && is_sep(buf[src + 1]) {
                src += 1;
            }
            // A relative path does not start with a separator.
            if relative && dst == 0 {
                src += 1;
                continue;
            }
        }
        buf[dst] = buf[src];
        dst += 1;
        src += 1;
    }

    if !trailing && dst > 0 && buf[dst - 1] == b'/' {
        dst -= 1;
    }
    buf.truncate(dst);
    owned_if_changed(input, buf)
}

pub(crate) fn normalise_path(input: &[u8]) -> Cow<'_, [u8]> {
    normalize(input, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &[u8]) -> Vec<u8> {
        normalise_path(s).into_owned()
    }

    #[test]
    fn resolves_references() {
        assert_eq!(norm(b"/dir/foo//bar"), b"/dir/foo/bar");
        assert_eq!(norm(b"dir/../../foo"), b"../foo");
        assert_eq!(norm(b"dir/./.././../../foo/bar/."), b"../../foo/bar");
        assert_eq!(
            norm(b"/dir/./subdir/../subsubdir/../subsubsubdir/../"),
            b"/dir/"
        );
        assert_eq!(
            norm(b"/./.././../../../../../../../\0/../etc/./passwd"),
            b"/etc/passwd"
        );
        // The root slash goes too: the input had no trailing slash.
        assert_eq!(norm(b"/.."), b"");
    }

    #[test]
    fn relative_edges() {
        assert_eq!(norm(b"."), b"");
        assert_eq!(norm(b"./"), b"");
        assert_eq!(norm(b"./.."), b"..");
        assert_eq!(norm(b"../."), b"..");
        assert!(matches!(normalise_path(b"../.."), Cow::Borrowed(_)));
        assert!(matches!(normalise_path(b"/a/b\\c"), Cow::Borrowed(_)));
    }
}
