//! The request body and what its processor reported: `REQUEST_BODY` (the
//! raw body, when body access is on and no structured processor consumed
//! it, or when `ctl:forceRequestBodyVariable=On`), `REQUEST_BODY_LENGTH`,
//! `FULL_REQUEST`, `FULL_REQUEST_LENGTH`, `REQBODY_PROCESSOR`,
//! `REQBODY_ERROR` / `REQBODY_PROCESSOR_ERROR` (`0` or `1`) and their
//! `_MSG`, `URLENCODED_ERROR`, `INBOUND_DATA_ERROR`.
//!
//! `SecRule REQBODY_ERROR "!@eq 0" "id:1,phase:2,deny,msg:'%{REQBODY_ERROR_MSG}'"`

use std::borrow::Cow;

use super::{push_single, Var, VarValue};
use crate::transaction::TxView;

fn flag(b: bool) -> Cow<'static, [u8]> {
    Cow::Borrowed(if b { b"1" } else { b"0" })
}

pub(super) fn collect<'a>(view: &TxView<'a, '_>, var: Var, out: &mut Vec<VarValue<'a>>) {
    let req = view.req;
    let body = &req.body_outcome;
    match var {
        Var::RequestBody if body.body_variable => {
            push_single(var, Cow::Borrowed(req.body.as_slice()), out)
        }
        Var::RequestBodyLength if body.body_variable || body.processed => push_single(
            var,
            Cow::Owned(req.body.len().to_string().into_bytes()),
            out,
        ),
        Var::FullRequest | Var::FullRequestLength => {
            let mut full = Vec::new();
            for (k, v) in &req.headers {
                full.extend_from_slice(k);
                full.extend_from_slice(b": ");
                full.extend_from_slice(v);
                full.push(b'\n');
            }
            full.extend_from_slice(b"\n\n");
            full.extend_from_slice(&req.body);
            let value = if var == Var::FullRequest {
                full
            } else {
                full.len().to_string().into_bytes()
            };
            push_single(var, Cow::Owned(value), out)
        }
        Var::ReqbodyProcessor => {
            if let Some(p) = view.state.body_processor {
                push_single(var, Cow::Borrowed(p.name().as_bytes()), out)
            }
        }
        Var::ReqbodyError | Var::ReqbodyProcessorError if body.processed => {
            push_single(var, flag(body.error.is_some()), out)
        }
        Var::ReqbodyErrorMsg | Var::ReqbodyProcessorErrorMsg => {
            if let Some(msg) = &body.error {
                push_single(var, Cow::Borrowed(msg.as_bytes()), out)
            }
        }
        Var::UrlencodedError => push_single(var, flag(req.urlencoded_error), out),
        Var::InboundDataError => push_single(var, flag(req.inbound_data_error), out),
        _ => {}
    }
}
