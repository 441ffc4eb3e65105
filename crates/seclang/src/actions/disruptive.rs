//! Disruptive actions — what happens to the request when a rule matches:
//! `deny` (refuse with the status, 403 by default), `drop` (close the
//! connection), `pass` (continue), `allow` (stop inspecting: the whole
//! transaction, `allow:phase` the current phase, `allow:request` the
//! request phases), `redirect:URL` (302 unless `status` says 301/303/307),
//! and `block` (whatever the phase's `SecDefaultAction` says). Also
//! `status:N`. Only the last disruptive action of a rule counts.
//! `proxy` and `pause` are refused: Rampart never proxies or sleeps on a
//! rule's say-so.
//!
//! `SecRule ARGS "@rx x" "id:1,phase:2,deny,status:403"`

use super::{no_argument, required, Action};
use crate::macros::MacroString;

/// How far `allow` reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowScope {
    /// Every remaining phase.
    All,
    /// The rest of the current phase.
    Phase,
    /// The rest of the request phases (1 and 2).
    Request,
}

/// A disruptive action.
#[derive(Debug, Clone)]
pub enum Disruptive {
    Pass,
    Deny,
    Drop,
    Allow(AllowScope),
    Redirect(MacroString),
}

impl Disruptive {
    pub fn name(&self) -> &'static str {
        match self {
            Disruptive::Pass => "pass",
            Disruptive::Deny => "deny",
            Disruptive::Drop => "drop",
            Disruptive::Allow(_) => "allow",
            Disruptive::Redirect(_) => "redirect",
        }
    }
}

pub(super) fn deny(arg: Option<&str>) -> Result<Action, String> {
    no_argument(arg).map(|_| Action::Disruptive(Disruptive::Deny))
}

pub(super) fn drop(arg: Option<&str>) -> Result<Action, String> {
    no_argument(arg).map(|_| Action::Disruptive(Disruptive::Drop))
}

pub(super) fn pass(arg: Option<&str>) -> Result<Action, String> {
    no_argument(arg).map(|_| Action::Disruptive(Disruptive::Pass))
}

pub(super) fn block(arg: Option<&str>) -> Result<Action, String> {
    no_argument(arg).map(|_| Action::Block)
}

pub(super) fn allow(arg: Option<&str>) -> Result<Action, String> {
    let scope = match arg.map(|a| a.trim().to_ascii_lowercase()) {
        None => AllowScope::All,
        Some(a) if a == "phase" => AllowScope::Phase,
        Some(a) if a == "request" => AllowScope::Request,
        Some(a) => return Err(format!("'{a}' is not an allow scope (phase, request)")),
    };
    Ok(Action::Disruptive(Disruptive::Allow(scope)))
}

pub(super) fn redirect(arg: Option<&str>) -> Result<Action, String> {
    Ok(Action::Disruptive(Disruptive::Redirect(
        MacroString::parse(required(arg)?),
    )))
}

pub(super) fn proxy(_: Option<&str>) -> Result<Action, String> {
    Err("is not supported: Rampart does not proxy on a rule's decision".into())
}

pub(super) fn pause(_: Option<&str>) -> Result<Action, String> {
    Err("is not supported: Rampart does not delay responses on a rule's decision".into())
}

pub(super) fn status(arg: Option<&str>) -> Result<Action, String> {
    let a = required(arg)?.trim();
    match a.parse::<u16>() {
        Ok(n) if (100..=999).contains(&n) => Ok(Action::Status(n)),
        _ => Err(format!("'{a}' is not an HTTP status")),
    }
}
