//! What earlier matches left behind: `MATCHED_VAR` and `MATCHED_VAR_NAME`
//! (the latest match), `MATCHED_VARS` and `MATCHED_VARS_NAMES` (every match
//! since the last rule that did not match, keyed by the full variable name,
//! e.g. `ARGS:q`).
//!
//! `SecRule ARGS "@rx a" "id:1,chain" SecRule MATCHED_VARS "@rx b"`

use std::borrow::Cow;

use super::{push_single, Selector, Var, VarValue};
use crate::transaction::TxView;

pub(super) fn collect<'a>(
    view: &TxView<'a, '_>,
    var: Var,
    selector: &Selector,
    out: &mut Vec<VarValue<'a>>,
) {
    let m = &view.state.matched;
    match var {
        Var::MatchedVar => {
            if let Some((_, value)) = &m.last {
                push_single(var, Cow::Owned(value.clone()), out)
            }
        }
        Var::MatchedVarName => {
            if let Some((name, _)) = &m.last {
                push_single(var, Cow::Owned(name.clone()), out)
            }
        }
        Var::MatchedVars | Var::MatchedVarsNames => {
            for (name, value) in &m.all {
                if selector.selects(name) {
                    out.push(VarValue {
                        var,
                        key: Some(Cow::Owned(name.clone())),
                        value: Cow::Owned(if var == Var::MatchedVars {
                            value.clone()
                        } else {
                            name.clone()
                        }),
                    });
                }
            }
        }
        _ => {}
    }
}
