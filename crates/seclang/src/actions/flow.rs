//! Flow control: `chain` (the next rule must match too), `skip:N` (skip
//! the next N rules of the phase when this rule matches) and
//! `skipAfter:MARKER` (continue after the `SecMarker` of that name, or
//! after the rule with that id).
//!
//! `SecRule TX:paranoia_level "@lt 2" "id:1,phase:1,pass,nolog,skipAfter:END-PL2"`

use super::{no_argument, required, Action};

pub(super) fn chain(arg: Option<&str>) -> Result<Action, String> {
    no_argument(arg).map(|_| Action::Chain)
}

pub(super) fn skip(arg: Option<&str>) -> Result<Action, String> {
    let a = required(arg)?.trim();
    match a.parse::<u32>() {
        Ok(n) if n > 0 => Ok(Action::Skip(n)),
        _ => Err(format!("'{a}' is not a positive number of rules")),
    }
}

pub(super) fn skip_after(arg: Option<&str>) -> Result<Action, String> {
    let a = required(arg)?.trim();
    if a.is_empty() {
        return Err("needs a marker name".into());
    }
    Ok(Action::SkipAfter(a.to_string()))
}
