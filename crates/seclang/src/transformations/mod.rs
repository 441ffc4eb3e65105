//! Transformations (`t:name`): pure functions over bytes, registered by name.
//!
//! Each transformation lives in its own file with a doc comment (what it
//! does, its exact edge-case behaviour, a SecRule example) and one registry
//! line below. Semantics are libmodsecurity 3's, byte for byte; where
//! ModSecurity's C code has quirks (reading its string terminator,
//! unchecked hex arithmetic), the file says so and reproduces them.
//!
//! Contract of every [`TransformFn`]: it is total (no panic on any bytes)
//! and returns `Cow::Borrowed(input)` exactly when the output is
//! byte-identical to the input, and `Cow::Owned` otherwise. The engine may
//! rely on that to skip work (and for `multiMatch`). Implementations scan
//! first and allocate only at the first byte that changes, build no tables
//! per call and use no regular expressions.
//!
//! This module must not do I/O or know about rules: `none` and the order
//! of transformations are the rule parser's and engine's business.

use std::borrow::Cow;

mod c_locale;
mod rewrite;

mod base64_decode;
mod base64_decode_ext;
mod base64_encode;
mod cmd_line;
mod compress_whitespace;
mod css_decode;
mod escape_seq_decode;
mod hex_decode;
mod hex_encode;
mod html_entity_decode;
mod js_decode;
mod length;
mod lowercase;
mod md5;
mod normalise_path;
mod normalise_path_win;
mod parity_even_7bit;
mod parity_odd_7bit;
mod parity_zero_7bit;
mod php_args_names;
mod remove_comments;
mod remove_comments_char;
mod remove_nulls;
mod remove_whitespace;
mod replace_comments;
mod replace_nulls;
mod sha1;
mod sql_hex_decode;
mod trim;
mod trim_left;
mod trim_right;
mod uppercase;
mod url_decode;
mod url_decode_uni;
mod url_encode;
mod utf8_to_unicode;

/// A transformation function. Returns the input borrowed when unchanged.
pub type TransformFn = fn(&[u8]) -> Cow<'_, [u8]>;

/// A named transformation.
#[derive(Clone, Copy)]
pub struct Transformation {
    pub name: &'static str,
    pub apply: TransformFn,
}

impl std::fmt::Debug for Transformation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "t:{}", self.name)
    }
}

/// Looks up a transformation by its SecLang name, ignoring ASCII case
/// (`none` is handled by the rule parser, not here).
pub fn lookup(name: &str) -> Option<Transformation> {
    REGISTRY
        .iter()
        .find(|t| t.name.eq_ignore_ascii_case(name))
        .copied()
}

const fn entry(name: &'static str, apply: TransformFn) -> Transformation {
    Transformation { name, apply }
}

/// Every registered transformation. Aliases (`normalizePath`,
/// `normalizePathWin`) are entries of their own with the same function, so
/// a rule's own spelling is what `Debug` shows.
pub static REGISTRY: &[Transformation] = &[
    entry("base64Decode", base64_decode::base64_decode),
    entry("base64DecodeExt", base64_decode_ext::base64_decode_ext),
    entry("base64Encode", base64_encode::base64_encode),
    entry("cmdLine", cmd_line::cmd_line),
    entry(
        "compressWhitespace",
        compress_whitespace::compress_whitespace,
    ),
    entry("cssDecode", css_decode::css_decode),
    entry("escapeSeqDecode", escape_seq_decode::escape_seq_decode),
    entry("hexDecode", hex_decode::hex_decode),
    entry("hexEncode", hex_encode::hex_encode),
    entry("htmlEntityDecode", html_entity_decode::html_entity_decode),
    entry("jsDecode", js_decode::js_decode),
    entry("length", length::length),
    entry("lowercase", lowercase::lowercase),
    entry("md5", md5::md5),
    entry("normalisePath", normalise_path::normalise_path),
    entry("normalizePath", normalise_path::normalise_path),
    entry("normalisePathWin", normalise_path_win::normalise_path_win),
    entry("normalizePathWin", normalise_path_win::normalise_path_win),
    entry("parityEven7bit", parity_even_7bit::parity_even_7bit),
    entry("parityOdd7bit", parity_odd_7bit::parity_odd_7bit),
    entry("parityZero7bit", parity_zero_7bit::parity_zero_7bit),
    entry("phpArgsNames", php_args_names::php_args_names),
    entry("removeComments", remove_comments::remove_comments),
    entry(
        "removeCommentsChar",
        remove_comments_char::remove_comments_char,
    ),
    entry("removeNulls", remove_nulls::remove_nulls),
    entry("removeWhitespace", remove_whitespace::remove_whitespace),
    entry("replaceComments", replace_comments::replace_comments),
    entry("replaceNulls", replace_nulls::replace_nulls),
    entry("sha1", sha1::sha1),
    entry("sqlHexDecode", sql_hex_decode::sql_hex_decode),
    entry("trim", trim::trim),
    entry("trimLeft", trim_left::trim_left),
    entry("trimRight", trim_right::trim_right),
    entry("uppercase", uppercase::uppercase),
    entry("urlDecode", url_decode::url_decode),
    entry("urlDecodeUni", url_decode_uni::url_decode_uni),
    entry("urlEncode", url_encode::url_encode),
    entry("utf8toUnicode", utf8_to_unicode::utf8_to_unicode),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_ignores_case_and_knows_aliases() {
        assert_eq!(lookup("URLDECODEUNI").map(|t| t.name), Some("urlDecodeUni"));
        assert_eq!(
            lookup("normalizePath").map(|t| t.name),
            Some("normalizePath")
        );
        assert_eq!(
            lookup("normalisepathwin").map(|t| t.name),
            Some("normalisePathWin")
        );
        assert!(lookup("none").is_none());
        assert!(lookup("cmd_line").is_none());
        assert!(lookup("").is_none());
    }

    #[test]
    fn names_are_unique() {
        for (i, a) in REGISTRY.iter().enumerate() {
            for b in &REGISTRY[i + 1..] {
                assert!(
                    !a.name.eq_ignore_ascii_case(b.name),
                    "{} registered twice",
                    a.name
                );
            }
        }
    }
}
