//! `REQUEST_COOKIES` and `REQUEST_COOKIES_NAMES`: the pairs of every
//! `Cookie` header, split on `;` and the first `=`, keys left-trimmed,
//! pairs with an empty key dropped (ModSecurity's v0 cookie parsing).
//!
//! `SecRule REQUEST_COOKIES:/^sess/ "@rx '" "id:1,phase:1,deny"`

use super::{push_pairs, Selector, Var, VarValue};
use crate::transaction::TxView;

pub(super) fn collect<'a>(
    view: &TxView<'a, '_>,
    var: Var,
    selector: &Selector,
    out: &mut Vec<VarValue<'a>>,
) {
    push_pairs(
        var,
        &view.req.cookies,
        selector,
        var == Var::RequestCookiesNames,
        out,
    );
}
