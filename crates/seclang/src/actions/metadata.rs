//! Rule metadata: `id`, `msg`, `logdata`, `severity`, `tag`, `ver`, `rev`,
//! `maturity`, `accuracy`. `msg`, `logdata` and `tag` may hold macros,
//! expanded when the rule matches. Severity takes a number 0–7 or a name
//! (`EMERGENCY` … `DEBUG`).
//!
//! `SecRule ARGS "@rx x" "id:1,msg:'x in %{MATCHED_VAR_NAME}',severity:'CRITICAL',tag:'attack'"`

use super::{required, Action};
use crate::macros::MacroString;

pub(super) fn id(arg: Option<&str>) -> Result<Action, String> {
    let a = required(arg)?;
    match a.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(Action::Id(n)),
        _ => Err(format!("'{a}' is not a rule id")),
    }
}

pub(super) fn msg(arg: Option<&str>) -> Result<Action, String> {
    Ok(Action::Msg(MacroString::parse(required(arg)?)))
}

pub(super) fn logdata(arg: Option<&str>) -> Result<Action, String> {
    Ok(Action::LogData(MacroString::parse(required(arg)?)))
}

pub(super) fn tag(arg: Option<&str>) -> Result<Action, String> {
    Ok(Action::Tag(MacroString::parse(required(arg)?)))
}

pub(super) fn ver(arg: Option<&str>) -> Result<Action, String> {
    Ok(Action::Ver(required(arg)?.to_string()))
}

pub(super) fn rev(arg: Option<&str>) -> Result<Action, String> {
    Ok(Action::Rev(required(arg)?.to_string()))
}

/// Severity names, indexed by their number.
pub const SEVERITIES: [&str; 8] = [
    "EMERGENCY",
    "ALERT",
    "CRITICAL",
    "ERROR",
    "WARNING",
    "NOTICE",
    "INFO",
    "DEBUG",
];

pub(super) fn severity(arg: Option<&str>) -> Result<Action, String> {
    let a = required(arg)?.trim();
    if let Ok(n) = a.parse::<u8>() {
        if n < 8 {
            return Ok(Action::Severity(n));
        }
    }
    SEVERITIES
        .iter()
        .position(|s| s.eq_ignore_ascii_case(a))
        .map(|n| Action::Severity(n as u8))
        .ok_or_else(|| format!("'{a}' is not a severity (0-7 or EMERGENCY..DEBUG)"))
}

fn level(arg: Option<&str>) -> Result<u8, String> {
    let a = required(arg)?.trim();
    match a.parse::<u8>() {
        Ok(n) if (1..=9).contains(&n) => Ok(n),
        _ => Err(format!("'{a}' is not a level from 1 to 9")),
    }
}

pub(super) fn maturity(arg: Option<&str>) -> Result<Action, String> {
    level(arg).map(Action::Maturity)
}

pub(super) fn accuracy(arg: Option<&str>) -> Result<Action, String> {
    level(arg).map(Action::Accuracy)
}
