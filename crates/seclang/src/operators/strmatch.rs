//! `@strmatch`: matches when the argument occurs anywhere in the value.
//!
//! Argument: text (case-sensitive), or a macro expanded per evaluation.
//!
//! Example: `SecRule REQUEST_HEADERS:User-Agent "@strmatch WebZIP" "id:100,phase:1,deny"`
//!
//! Edge cases: ModSecurity v2 used a Boyer-Moore-Horspool search; v3 does a
//! plain substring search, so `@strmatch` behaves exactly like `@contains`
//! (an empty argument matches everything) and shares its searcher.
//!
//! Must not: allocate unless the argument is a macro.

use super::contains::Substring;
use super::{BuildContext, OpContext, Operator};

/// The compiled `@strmatch` operator.
#[derive(Debug, Clone)]
pub struct StrMatch {
    needle: Substring,
}

impl StrMatch {
    /// Compiles the argument (any text is valid).
    pub fn new(param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(StrMatch {
            needle: Substring::parse(param),
        })
    }
}

impl Operator for StrMatch {
    fn evaluate(&self, cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        self.needle.is_in(cx, input)
    }
}
