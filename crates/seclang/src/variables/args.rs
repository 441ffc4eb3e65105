//! `ARGS`, `ARGS_GET`, `ARGS_POST`, their `_NAMES` and `ARGS_COMBINED_SIZE`:
//! query-string arguments first, then body arguments (urlencoded,
//! multipart fields or JSON leaves), in the order they arrived.
//!
//! `SecRule ARGS:q "@rx <script" "id:1,phase:2,deny"`

use std::borrow::Cow;

use super::{push_pairs, push_single, Selector, Var, VarValue};
use crate::transaction::TxView;

pub(super) fn collect<'a>(
    view: &TxView<'a, '_>,
    var: Var,
    selector: &Selector,
    out: &mut Vec<VarValue<'a>>,
) {
    let req = view.req;
    match var {
        Var::Args => {
            push_pairs(var, &req.args_get, selector, false, out);
            push_pairs(var, &req.args_post, selector, false, out);
        }
        Var::ArgsGet => push_pairs(var, &req.args_get, selector, false, out),
        Var::ArgsPost => push_pairs(var, &req.args_post, selector, false, out),
        Var::ArgsNames => {
            push_pairs(var, &req.args_get, selector, true, out);
            push_pairs(var, &req.args_post, selector, true, out);
        }
        Var::ArgsGetNames => push_pairs(var, &req.args_get, selector, true, out),
        Var::ArgsPostNames => push_pairs(var, &req.args_post, selector, true, out),
        Var::ArgsCombinedSize => {
            let size: usize = req
                .args_get
                .iter()
                .chain(req.args_post.iter())
                .map(|(k, v)| k.len() + v.len())
                .sum();
            push_single(var, Cow::Owned(size.to_string().into_bytes()), out);
        }
        _ => {}
    }
}
