//! Collections that rules write: `TX` (per transaction), `IP`, `GLOBAL`,
//! `SESSION`, `USER`, `RESOURCE` (persistent, opened by `initcol`,
//! `setsid`, `setuid`), and `ENV` (`setenv`). Values are copied out, since
//! actions may change the collection while the rule runs.
//!
//! `SecRule TX:inbound_anomaly_score "@ge 5" "id:1,phase:2,deny"`

use std::borrow::Cow;

use super::{Selector, Var, VarValue};
use crate::transaction::TxView;

pub(super) fn collect<'a>(
    view: &TxView<'a, '_>,
    var: Var,
    selector: &Selector,
    out: &mut Vec<VarValue<'a>>,
) {
    let Some(col) = view.state.collection(var) else {
        return;
    };
    match selector {
        Selector::Key(k) => {
            if let Some(v) = col.get(k) {
                out.push(VarValue {
                    var,
                    key: Some(Cow::Owned(k.as_bytes().to_vec())),
                    value: Cow::Owned(v.to_vec()),
                });
            }
        }
        _ => {
            for (k, v) in col.iter() {
                if selector.selects(k.as_bytes()) {
                    out.push(VarValue {
                        var,
                        key: Some(Cow::Owned(k.as_bytes().to_vec())),
                        value: Cow::Owned(v.to_vec()),
                    });
                }
            }
        }
    }
}
