//! Logging and matching modifiers: `log` / `nolog` (whether a match is
//! reported), `auditlog` / `noauditlog`, `capture` (the operator fills
//! `TX.0`–`TX.9`), `multiMatch` (run the operator after every
//! transformation that changed the value), `xmlns`, and the `sanitise*`
//! family, which Rampart's audit log honours by never recording values at
//! all (they are accepted and have no further effect).
//!
//! `SecRule ARGS "@rx (a)(b)" "id:1,capture,nolog,setvar:tx.x=%{TX.1}"`

use super::{no_argument, required, Action};

pub(super) fn capture(arg: Option<&str>) -> Result<Action, String> {
    no_argument(arg).map(|_| Action::Capture)
}

pub(super) fn multi_match(arg: Option<&str>) -> Result<Action, String> {
    no_argument(arg).map(|_| Action::MultiMatch)
}

pub(super) fn log(arg: Option<&str>) -> Result<Action, String> {
    no_argument(arg).map(|_| Action::Log)
}

pub(super) fn nolog(arg: Option<&str>) -> Result<Action, String> {
    no_argument(arg).map(|_| Action::NoLog)
}

pub(super) fn auditlog(arg: Option<&str>) -> Result<Action, String> {
    no_argument(arg).map(|_| Action::AuditLog)
}

pub(super) fn noauditlog(arg: Option<&str>) -> Result<Action, String> {
    no_argument(arg).map(|_| Action::NoAuditLog)
}

pub(super) fn xmlns(arg: Option<&str>) -> Result<Action, String> {
    Ok(Action::XmlNs(required(arg)?.to_string()))
}

pub(super) fn sanitise_arg(arg: Option<&str>) -> Result<Action, String> {
    required(arg).map(|_| Action::Annotation("sanitiseArg"))
}

pub(super) fn sanitise_matched(arg: Option<&str>) -> Result<Action, String> {
    no_argument(arg).map(|_| Action::Annotation("sanitiseMatched"))
}

pub(super) fn sanitise_matched_bytes(_arg: Option<&str>) -> Result<Action, String> {
    Ok(Action::Annotation("sanitiseMatchedBytes"))
}

pub(super) fn sanitise_request_header(arg: Option<&str>) -> Result<Action, String> {
    required(arg).map(|_| Action::Annotation("sanitiseRequestHeader"))
}

pub(super) fn sanitise_response_header(arg: Option<&str>) -> Result<Action, String> {
    required(arg).map(|_| Action::Annotation("sanitiseResponseHeader"))
}
