//! `RULE`: the metadata of the rule being evaluated (`RULE:id`, `RULE:msg`,
//! `RULE:rev`, `RULE:severity`, `RULE:ver`, `RULE:phase`, `RULE:logdata`),
//! as `%{rule.id}` in macros uses it.
//!
//! `SecRule ARGS "@rx a" "id:7,msg:'rule %{rule.id}'"`

use std::borrow::Cow;

use super::{Selector, Var, VarValue};
use crate::transaction::TxView;

pub(super) fn collect<'a>(view: &TxView<'a, '_>, selector: &Selector, out: &mut Vec<VarValue<'a>>) {
    let Some(rule) = view.rule else {
        return;
    };
    let fields: [(&'static str, Option<String>); 7] = [
        ("id", Some(rule.id.to_string())),
        ("rev", rule.rev.clone()),
        ("severity", rule.severity.map(|s| s.to_string())),
        ("ver", rule.ver.clone()),
        ("phase", Some(rule.phase.number().to_string())),
        (
            "msg",
            view.state
                .current_msg
                .clone()
                .or_else(|| written(view, &rule.msg)),
        ),
        (
            "logdata",
            view.state
                .current_logdata
                .clone()
                .or_else(|| written(view, &rule.logdata)),
        ),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            if selector.selects(key.as_bytes()) {
                out.push(VarValue {
                    var: Var::Rule,
                    key: Some(Cow::Borrowed(key.as_bytes())),
                    value: Cow::Owned(value.into_bytes()),
                });
            }
        }
    }
}

/// `msg` / `logdata` of a rule that has not matched yet (its targets are
/// being read): ModSecurity expands the rule's text at that point. The
/// expansion cannot refer to `RULE` again (no recursion through
/// `%{rule.msg}`).
fn written(view: &TxView<'_, '_>, m: &Option<crate::macros::MacroString>) -> Option<String> {
    let m = m.as_ref()?;
    let plain = TxView {
        req: view.req,
        resp: view.resp,
        state: view.state,
        rule: None,
        web_app_id: view.web_app_id,
    };
    Some(String::from_utf8_lossy(&m.expand(&plain)).into_owned())
}
