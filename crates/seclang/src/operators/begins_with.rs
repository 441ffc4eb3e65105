//! `@beginsWith`: matches when the value starts with the argument.
//!
//! Argument: text (case-sensitive), or a macro expanded per evaluation.
//!
//! Example: `SecRule REQUEST_LINE "!@beginsWith GET /" "id:100,phase:1,pass"`
//!
//! Edge cases (as ModSecurity v3): an empty argument matches every value,
//! including the empty one; a value shorter than the argument never matches.
//!
//! Must not: allocate unless the argument is a macro.

use super::argument::Argument;
use super::{BuildContext, OpContext, Operator};

/// The compiled `@beginsWith` operator.
#[derive(Debug, Clone)]
pub struct BeginsWith {
    prefix: Argument,
}

impl BeginsWith {
    /// Keeps the argument (any text is valid).
    pub fn new(param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(BeginsWith {
            prefix: Argument::parse(param),
        })
    }
}

impl Operator for BeginsWith {
    fn evaluate(&self, cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        input.starts_with(&self.prefix.value(cx.macros))
    }
}
