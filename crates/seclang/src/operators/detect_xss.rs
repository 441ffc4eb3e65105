//! `@detectXSS`: matches when libinjection recognises cross-site scripting
//! in the value.
//!
//! Argument: none (anything given is ignored, as in ModSecurity).
//!
//! Example: `SecRule ARGS "@detectXSS" "id:941100,phase:2,block,t:none,t:utf8toUnicode,t:urlDecodeUni,t:htmlEntityDecode,t:jsDecode,t:cssDecode,t:removeNulls"`
//!
//! Captures: `TX.0` is the whole value (libinjection's XSS detector has no
//! fingerprint), as ModSecurity stores it.
//!
//! Edge cases: the empty value never matches. The detector is behind
//! [`injection`] so it can be swapped.
//!
//! Must not: allocate unless it captures.

use super::injection;
use super::{BuildContext, OpContext, Operator};

/// The `@detectXSS` operator.
#[derive(Debug, Clone, Default)]
pub struct DetectXss;

impl DetectXss {
    /// Accepts any argument.
    pub fn new(_param: &str, _cx: &BuildContext) -> Result<Self, String> {
        Ok(DetectXss)
    }
}

impl Operator for DetectXss {
    fn evaluate(&self, cx: &mut OpContext<'_>, input: &[u8]) -> bool {
        if !injection::detect_xss(input) {
            return false;
        }
        if let Some(captures) = cx.captures.as_deref_mut() {
            captures.set_single(input);
        }
        true
    }
}
