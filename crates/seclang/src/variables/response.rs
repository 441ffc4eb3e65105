//! The response: `RESPONSE_STATUS` (alias `STATUS`), `RESPONSE_PROTOCOL`,
//! `STATUS_LINE`, `RESPONSE_CONTENT_TYPE` (without parameters),
//! `RESPONSE_BODY` and `RESPONSE_CONTENT_LENGTH` (only when the body was
//! inspected), `OUTBOUND_DATA_ERROR`.
//!
//! `SecRule RESPONSE_BODY "@rx ORA-[0-9]{5}" "id:1,phase:4,deny"`

use std::borrow::Cow;

use super::{push_single, Var, VarValue};
use crate::transaction::TxView;

pub(super) fn collect<'a>(view: &TxView<'a, '_>, var: Var, out: &mut Vec<VarValue<'a>>) {
    let resp = view.resp;
    match var {
        Var::ResponseStatus => {
            if let Some(s) = resp.status {
                push_single(var, Cow::Owned(s.to_string().into_bytes()), out)
            }
        }
        Var::ResponseProtocol if resp.status.is_some() => {
            push_single(var, Cow::Borrowed(resp.protocol.as_slice()), out)
        }
        Var::StatusLine => {
            if let Some(s) = resp.status {
                let mut line = resp.protocol.clone();
                line.extend_from_slice(format!(" {s}").as_bytes());
                push_single(var, Cow::Owned(line), out)
            }
        }
        Var::ResponseContentType => {
            if let Some(ct) = &resp.content_type {
                push_single(var, Cow::Borrowed(ct.as_slice()), out)
            }
        }
        Var::ResponseBody if resp.body_inspected => {
            push_single(var, Cow::Borrowed(resp.body.as_slice()), out)
        }
        Var::ResponseContentLength if resp.body_inspected => push_single(
            var,
            Cow::Owned(resp.body.len().to_string().into_bytes()),
            out,
        ),
        Var::OutboundDataError if resp.body_inspected => push_single(
            var,
            Cow::Borrowed(if resp.outbound_data_error { b"1" } else { b"0" }),
            out,
        ),
        _ => {}
    }
}
