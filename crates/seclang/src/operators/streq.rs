//! `@streq`: matches when the value equals the argument, byte for byte.
//!
//! Argument: text (case-sensitive), or a macro expanded per evaluation.
//!
//! Example: `SecRule REQUEST_METHOD "@streq POST" "id:100,phase:1,pass,nolog"`
//!
//! Edge cases (as ModSecurity v3): an empty argument matches only the empty
//! value; comparison is exact (no case folding, no trimming).
//!
//! Must not: allocate unless the argument is a macro.

use super::argument::Argument;
use super::{BuildContext, OpContext, Operator};

/// The compiled `@streq` operator.
#[derive(Debug, Clone)]
pub struct StrEq {
    expected: Argument,
}

impl StrEq {
    /// Keeps the argument (any text is valid).
    pub fn new(param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(StrEq {
            expected: Argument::parse(param),
        })
    }
}

impl Operator for StrEq {
    fn evaluate(&self, cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        input == &*self.expected.value(cx.macros)
    }
}
