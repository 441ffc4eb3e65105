//! `@noMatch`: never matches.
//!
//! Argument: none (anything given is ignored, as in ModSecurity).
//!
//! Example: `SecRule REQUEST_URI "@noMatch" "id:100,phase:1,pass,nolog"`
//! (a rule kept for its place in a chain or for later editing).
//!
//! Edge cases: does not match the empty value either.
//!
//! Must not: look at the value.

use super::{BuildContext, OpContext, Operator};

/// The `@noMatch` operator.
#[derive(Debug, Clone, Default)]
pub struct NoMatch;

impl NoMatch {
    /// Accepts any argument.
    pub fn new(_param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(NoMatch)
    }
}

impl Operator for NoMatch {
    fn evaluate(&self, _cx: &mut OpContext<'_>, _input: &[u8]) -> bool {
        false
    }
}
