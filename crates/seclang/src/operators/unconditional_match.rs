//! `@unconditionalMatch`: matches every value.
//!
//! Argument: none (anything given is ignored, as in ModSecurity).
//!
//! Example: `SecRule REMOTE_ADDR "@unconditionalMatch" "id:100,phase:1,pass,nolog,setvar:tx.seen=1"`
//!
//! Edge cases: matches the empty value too; `SecAction` is the same thing
//! without a target.
//!
//! Must not: look at the value.

use super::{BuildContext, OpContext, Operator};

/// The `@unconditionalMatch` operator.
#[derive(Debug, Clone, Default)]
pub struct UnconditionalMatch;

impl UnconditionalMatch {
    /// Accepts any argument.
    pub fn new(_param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(UnconditionalMatch)
    }
}

impl Operator for UnconditionalMatch {
    fn evaluate(&self, _cx: &mut OpContext<'_>, _input: &[u8]) -> bool {
        true
    }
}
