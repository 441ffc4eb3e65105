//! `t:name`: adds a transformation to the rule's chain; `t:none` drops
//! every transformation before it, including the phase default's.
//!
//! `SecRule ARGS "@rx select" "id:1,t:none,t:urlDecodeUni,t:lowercase"`

use super::{required, Action};

pub(super) fn parse(arg: Option<&str>) -> Result<Action, String> {
    let name = required(arg)?.trim();
    if name.eq_ignore_ascii_case("none") {
        return Ok(Action::Transform(None));
    }
    crate::transformations::lookup(name)
        .map(|t| Action::Transform(Some(t)))
        .ok_or_else(|| format!("unknown transformation '{name}'"))
}
