//! `t:phpArgsNames`: rewrites a parameter name the way PHP does before it
//! registers the variable (`php_register_variable_ex`), so rules see the
//! name the application sees. Follows ModSecurity's own implementation
//! and test vectors; note that libmodsecurity 3.0.x releases do not
//! register this transformation (it comes from ModSecurity's v3
//! development line), so rules written for them never use it.
//!
//! Exact behaviour:
//! - A name starting with `[` or `=` becomes empty.
//! - Leading spaces are dropped.
//! - Until the first `[`: space and `.` become `_`.
//! - At the first `[`: if a `]` follows somewhere, the rest is an array
//!   suffix: each `[...]` group is copied as is (`[ ]` becomes `[]`), and
//!   anything after the last group that does not start with `[` is cut
//!   (`a[]b` -> `a[]`). If no `]` follows, the `[` becomes `_` and the
//!   rest is copied unchanged (`a[_b c.` -> `a__b c.`).
//! - A NUL ends the search for `]` (ModSecurity uses `strchr`).
//!
//! ```text
//! SecRule ARGS_NAMES "@streq user_name" "id:121,phase:2,t:phpArgsNames,deny"
//! ```
//!
//! Must not: decode anything; apply `t:urlDecodeUni` first if needed.

use std::borrow::Cow;

use super::rewrite::owned_if_changed;

/// C `strchr(&value[from], ']')`: the index of the first `]` at or after
/// `from`, unless a NUL comes first.
fn close_bracket(value: &[u8], from: usize) -> Option<usize> {
    value
        .get(from..)?
        .iter()
        .position(|&b| b == b']' || b == 0)
        .map(|k| from + k)
        .filter(|&k| value[k] == b']')
}

pub(crate) fn php_args_names(input: &[u8]) -> Cow<'_, [u8]> {
    let needs_work = input.first().is_some_and(|&b| b == b'[' || b == b'=')
        || input.iter().any(|&b| matches!(b, b' ' | b'.' | b'['));
    if !needs_work {
        return Cow::Borrowed(input);
    }
    if matches!(input.first(), Some(b'[' | b'=')) {
        return Cow::Owned(Vec::new());
    }
    let size = input.len();
    let mut out = Vec::with_capacity(size);
    let mut i = input.iter().take_while(|&&b| b == b' ').count();
    let mut is_array = false;
    let mut open_bracket = false;
    while i < size {
        let b = input[i];
        if b == b'[' && !open_bracket {
            if close_bracket(input, i).is_some() {
                is_array = true;
                break;
            }
            out.push(b'_');
            open_bracket = true;
        } else if !open_bracket && (b == b' ' || b == b'.') {
            out.push(b'_');
        } else {
            out.push(b);
        }
        i += 1;
    }
    if is_array {
        // Each pass copies one `[...]` group; input[i] == '[' here.
        while let Some(close) = close_bracket(input, i) {
            let group_end = close + 1;
            if group_end - i == 3 && input[i + 1] == b' ' {
                out.push(b'[');
                i += 2;
            }
            out.extend_from_slice(&input[i..group_end]);
            i = group_end;
            if i >= size || input[i] != b'[' {
                break;
            }
        }
    }
    owned_if_changed(input, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn php(s: &[u8]) -> Vec<u8> {
        php_args_names(s).into_owned()
    }

    #[test]
    fn php_rules() {
        assert_eq!(php(b"a_b.c"), b"a_b_c");
        assert_eq!(php(b"a[_b c."), b"a__b c.");
        assert_eq!(php(b". a_b]c"), b"__a_b]c");
        assert_eq!(php(b"[a_[b][]c d_"), b"");
        assert_eq!(php(b"a_[b][ ]c d_"), b"a_[b][]");
        assert_eq!(php(b"   ] [a][c][f. _ ]"), b"]_[a][c][f. _ ]");
        assert_eq!(php(b"a[]b"), b"a[]");
        assert_eq!(php(b"sc ript._[a[_xss]"), b"sc_ript__[a[_xss]");
        assert!(matches!(php_args_names(b"abc"), Cow::Borrowed(_)));
    }

    #[test]
    fn nul_hides_closing_bracket() {
        assert_eq!(php(b"a[b\0]"), b"a_b\0]");
    }
}
