//! What actions do when a rule matches: `setvar` and the message on every
//! matched value; `ctl`, `initcol`, `setenv`, `expirevar`, `setsid`,
//! `setuid` once the whole chain matched.

use std::time::Duration;

use super::{RequestData, ResponseData, TxState, TxView};
use crate::actions::{Ctl, SetVar, SetVarOp};
use crate::macros::MacroString;
use crate::rule::{EngineMode, MatchAction, Rule};
use crate::ruleset::RuleSet;
use crate::variables::Var;

/// ModSecurity's integer reading: optional sign and leading digits;
/// anything else counts as 0.
pub(crate) fn to_int(v: &[u8]) -> i64 {
    let s = std::str::from_utf8(v).unwrap_or("").trim();
    let bytes = s.as_bytes();
    let mut end = 0;
    if end < bytes.len() && (bytes[end] == b'-' || bytes[end] == b'+') {
        end += 1;
    }
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        end += 1;
    }
    s[..end].parse::<i64>().unwrap_or(0)
}

pub(super) fn expand(
    m: &MacroString,
    req: &RequestData,
    resp: &ResponseData,
    state: &TxState,
    rule: &Rule,
) -> Vec<u8> {
    if let Some(text) = m.static_text() {
        return text.as_bytes().to_vec();
    }
    let view = TxView {
        req,
        resp,
        state,
        rule: Some(&rule.meta),
        web_app_id: "",
    };
    m.expand(&view).into_owned()
}

/// On every matched value (and once for `SecAction`).
pub(super) fn on_value_match(
    rule: &Rule,
    root: &Rule,
    req: &RequestData,
    resp: &ResponseData,
    state: &mut TxState,
) {
    for sv in &rule.setvars {
        setvar(sv, root, req, resp, state);
    }
}

/// Expands the message of a chain that matched completely: the last
/// `msg` / `logdata` along the chain, with what the whole chain captured.
pub(super) fn message(root: &Rule, req: &RequestData, resp: &ResponseData, state: &mut TxState) {
    let mut msg = None;
    let mut logdata = None;
    let mut link = Some(root);
    while let Some(r) = link {
        msg = r.meta.msg.as_ref().or(msg);
        logdata = r.meta.logdata.as_ref().or(logdata);
        link = r.chained.as_deref();
    }
    let msg_text =
        msg.map(|m| String::from_utf8_lossy(&expand(m, req, resp, state, root)).into_owned());
    if let Some(m) = &msg_text {
        state.debug(9, || format!("Saving msg: {m}"));
    }
    state.current_msg = msg_text;
    state.current_logdata =
        logdata.map(|m| String::from_utf8_lossy(&expand(m, req, resp, state, root)).into_owned());
}

fn setvar(sv: &SetVar, root: &Rule, req: &RequestData, resp: &ResponseData, state: &mut TxState) {
    let name = String::from_utf8_lossy(&expand(&sv.name, req, resp, state, root)).into_owned();
    let value = match sv.op {
        SetVarOp::Delete => Vec::new(),
        _ => expand(&sv.value, req, resp, state, root),
    };
    let Some(col) = state.collection_mut(sv.collection) else {
        state.debug(9, || {
            format!(
                "setvar: collection {} is not initialised",
                sv.collection.name()
            )
        });
        return;
    };
    match sv.op {
        SetVarOp::Set => col.set(&name, value),
        SetVarOp::Delete => col.remove(&name),
        SetVarOp::Add | SetVarOp::Subtract => {
            let current = col.get(&name).map(to_int).unwrap_or(0);
            let delta = to_int(&value);
            let next = if sv.op == SetVarOp::Add {
                current.saturating_add(delta)
            } else {
                current.saturating_sub(delta)
            };
            col.set(&name, next.to_string().into_bytes());
        }
    }
    if state.debug.is_some() {
        let stored = String::from_utf8_lossy(state_value(state, sv.collection, &name)).into_owned();
        state.debug(9, || {
            format!(
                "Saving variable: {}:{} with value: {}",
                sv.collection.name(),
                name,
                stored
            )
        });
    }
}

fn state_value<'s>(state: &'s TxState, var: Var, name: &str) -> &'s [u8] {
    state
        .collection(var)
        .and_then(|c| c.get(name))
        .unwrap_or(b"")
}

/// After the chain from `rule` onwards matched.
pub(super) fn on_full_match(
    rules: &RuleSet,
    rule: &Rule,
    root: &Rule,
    req: &RequestData,
    resp: &ResponseData,
    state: &mut TxState,
) {
    for a in &rule.match_actions {
        match a {
            MatchAction::Ctl(c) => ctl(c, state),
            MatchAction::InitCol(i) => {
                let key =
                    String::from_utf8_lossy(&expand(&i.key, req, resp, state, root)).into_owned();
                open_collection(rules, i.collection, key, state);
            }
            MatchAction::SetSid(k) => {
                let key = String::from_utf8_lossy(&expand(k, req, resp, state, root)).into_owned();
                state.session_id = Some(key.clone());
                open_collection(rules, Var::Session, key, state);
            }
            MatchAction::SetUid(k) => {
                let key = String::from_utf8_lossy(&expand(k, req, resp, state, root)).into_owned();
                state.user_id = Some(key.clone());
                open_collection(rules, Var::User, key, state);
            }
            MatchAction::SetRsc(k) => {
                let key = String::from_utf8_lossy(&expand(k, req, resp, state, root)).into_owned();
                open_collection(rules, Var::Resource, key, state);
            }
            MatchAction::ExpireVar(e) => {
                let name =
                    String::from_utf8_lossy(&expand(&e.name, req, resp, state, root)).into_owned();
                let secs = to_int(&expand(&e.seconds, req, resp, state, root)).max(0) as u64;
                if let Some(col) = state.collection_mut(e.collection) {
                    col.expire(&name, Duration::from_secs(secs));
                }
            }
            MatchAction::SetEnv(e) => {
                let name =
                    String::from_utf8_lossy(&expand(&e.name, req, resp, state, root)).into_owned();
                let value = expand(&e.value, req, resp, state, root);
                state.debug(9, || {
                    format!(
                        "Setting environment variable: {name} to {}",
                        String::from_utf8_lossy(&value)
                    )
                });
                state.env.set(&name, value);
            }
        }
    }
}

/// Opens a persistent collection record; it is written back at logging.
fn open_collection(rules: &RuleSet, var: Var, key: String, state: &mut TxState) {
    if state.persistent.iter().any(|(v, _, _)| *v == var) {
        return;
    }
    let record = rules.store.load(var, &key);
    state.persistent.push((var, key, record));
}

fn ctl(c: &Ctl, state: &mut TxState) {
    match c {
        Ctl::RuleEngine(m) => {
            state.mode = *m;
            let name = match m {
                EngineMode::On => "Enabled",
                EngineMode::Off => "Disabled",
                EngineMode::DetectionOnly => "DetectionOnly",
            };
            state.debug(8, || {
                format!("Setting SecRuleEngine to {name} as requested by a ctl:ruleEngine action")
            });
        }
        Ctl::RuleRemoveById(ids) => state.removed_ids.extend(ids.iter().copied()),
        Ctl::RuleRemoveByTag(t) => state.removed_tags.push(t.clone()),
        Ctl::RuleRemoveByMsg(m) => state.removed_msgs.push(m.clone()),
        Ctl::RuleRemoveTargetById(ids, t) => {
            state.removed_targets_by_id.push((ids.clone(), t.clone()))
        }
        Ctl::RuleRemoveTargetByTag(tag, t) => {
            state.removed_targets_by_tag.push((tag.clone(), t.clone()))
        }
        Ctl::RequestBodyProcessor(p) => state.body_processor = Some(*p),
        Ctl::RequestBodyAccess(b) => state.request_body_access = Some(*b),
        Ctl::ForceRequestBodyVariable(b) => state.force_body_variable = *b,
        Ctl::ResponseBodyAccess(b) => state.response_body_access = Some(*b),
        Ctl::Audit => {}
    }
}

#[cfg(test)]
mod tests {
    use super::to_int;

    #[test]
    fn integers_like_modsecurity() {
        assert_eq!(to_int(b"5"), 5);
        assert_eq!(to_int(b" -3x"), -3);
        assert_eq!(to_int(b"abc"), 0);
        assert_eq!(to_int(b""), 0);
    }
}
