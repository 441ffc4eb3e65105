//! `@ge`: matches when the value, read as an integer, is greater than or equal to the
//! argument.
//!
//! Argument: an integer, or a macro that expands to one
//! (`%{tx.max_num_args}`), read per evaluation.
//!
//! Example: `SecRule TX:BLOCKING_INBOUND_ANOMALY_SCORE "@ge %{tx.inbound_anomaly_score_threshold}" "id:949110,phase:2,deny"`
//!
//! Edge cases: the value is read like C's `atoll`: leading white space and a
//! sign are accepted, reading stops at the first non-digit, and a value with
//! no leading digits (the empty string, `abc`) is 0. A macro argument is read
//! the same way. A fixed argument that is not an integer is a load error
//! (ModSecurity silently treats it as 0). ModSecurity v3 reads both sides
//! with `atoll`, which is what [`number`](super::number) reproduces.
//!
//! Must not: allocate unless the argument is a macro.

use super::number::{leading_integer, Operand};
use super::{BuildContext, OpContext, Operator};

/// The compiled `@ge` operator.
#[derive(Debug, Clone)]
pub struct Ge {
    operand: Operand,
}

impl Ge {
    /// Reads the argument once; a fixed one must be an integer.
    pub fn new(param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(Ge {
            operand: Operand::parse(param)?,
        })
    }
}

impl Operator for Ge {
    fn evaluate(&self, cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        leading_integer(input) >= self.operand.value(cx.macros)
    }
}
