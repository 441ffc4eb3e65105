//! The request line and what is derived from it: `REQUEST_LINE`,
//! `REQUEST_METHOD`, `REQUEST_PROTOCOL`, `REQUEST_URI_RAW` (as sent),
//! `REQUEST_URI` (percent-decoded; path of an absolute-form URI),
//! `REQUEST_FILENAME` and `PATH_INFO` (decoded path before `?`),
//! `REQUEST_BASENAME` (after the last `/` or `\`), `QUERY_STRING` (raw,
//! after the first `?`). Values that do not exist yield nothing.
//!
//! `SecRule REQUEST_FILENAME "@endsWith .bak" "id:1,phase:1,deny"`

use std::borrow::Cow;

use super::{push_single, Var, VarValue};
use crate::transaction::TxView;

pub(super) fn collect<'a>(view: &TxView<'a, '_>, var: Var, out: &mut Vec<VarValue<'a>>) {
    let req = view.req;
    if !req.line_seen {
        return;
    }
    let value: &'a [u8] = match var {
        Var::RequestLine => &req.line,
        Var::RequestMethod => &req.method,
        Var::RequestProtocol => &req.protocol,
        Var::RequestUri => &req.uri,
        Var::RequestUriRaw => &req.uri_raw,
        Var::RequestFilename | Var::PathInfo => &req.filename,
        Var::RequestBasename => match &req.basename {
            Some(b) => b,
            None => return,
        },
        Var::QueryString => match &req.query {
            Some(q) => q,
            None => return,
        },
        _ => return,
    };
    push_single(var, Cow::Borrowed(value), out);
}
