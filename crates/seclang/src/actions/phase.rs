//! `phase:N`: when a rule runs — 1 request headers, 2 request body,
//! 3 response headers, 4 response body, 5 logging; also `request` (2),
//! `response` (4) and `logging` (5).
//!
//! `SecRule ARGS "@rx x" "id:1,phase:2,deny"`

use super::{required, Action};
use crate::rule::Phase;

pub(super) fn phase(arg: Option<&str>) -> Result<Action, String> {
    let a = required(arg)?.trim();
    let p = match a.to_ascii_lowercase().as_str() {
        "1" => Phase::RequestHeaders,
        "2" | "request" => Phase::RequestBody,
        "3" => Phase::ResponseHeaders,
        "4" | "response" => Phase::ResponseBody,
        "5" | "logging" => Phase::Logging,
        _ => {
            return Err(format!(
                "'{a}' is not a phase (1-5, request, response, logging)"
            ))
        }
    };
    Ok(Action::Phase(p))
}
