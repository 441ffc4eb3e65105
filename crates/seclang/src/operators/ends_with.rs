//! `@endsWith`: matches when the value ends with the argument.
//!
//! Argument: text (case-sensitive), or a macro expanded per evaluation.
//!
//! Example: `SecRule REQUEST_HEADERS:Referer "!@endsWith .%{request_headers.host}" "id:100,phase:1,pass"`
//!
//! Edge cases (as ModSecurity v3): an empty argument matches every value,
//! including the empty one; a value shorter than the argument never matches.
//!
//! Must not: allocate unless the argument is a macro.

use super::argument::Argument;
use super::{BuildContext, OpContext, Operator};

/// The compiled `@endsWith` operator.
#[derive(Debug, Clone)]
pub struct EndsWith {
    suffix: Argument,
}

impl EndsWith {
    /// Keeps the argument (any text is valid).
    pub fn new(param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(EndsWith {
            suffix: Argument::parse(param),
        })
    }
}

impl Operator for EndsWith {
    fn evaluate(&self, cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        input.ends_with(&self.suffix.value(cx.macros))
    }
}
