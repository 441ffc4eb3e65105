//! `REQUEST_HEADERS`, `REQUEST_HEADERS_NAMES`, `RESPONSE_HEADERS`,
//! `RESPONSE_HEADERS_NAMES`: every header line as received, in order; a
//! header sent twice yields two values. Keys compare without ASCII case.
//!
//! `SecRule REQUEST_HEADERS:User-Agent "@pm sqlmap" "id:1,phase:1,deny"`

use super::{push_pairs, Selector, Var, VarValue};
use crate::transaction::TxView;

pub(super) fn collect<'a>(
    view: &TxView<'a, '_>,
    var: Var,
    selector: &Selector,
    out: &mut Vec<VarValue<'a>>,
) {
    match var {
        Var::RequestHeaders => push_pairs(var, &view.req.headers, selector, false, out),
        Var::RequestHeadersNames => push_pairs(var, &view.req.headers, selector, true, out),
        Var::ResponseHeaders => push_pairs(var, &view.resp.headers, selector, false, out),
        Var::ResponseHeadersNames => push_pairs(var, &view.resp.headers, selector, true, out),
        _ => {}
    }
}
