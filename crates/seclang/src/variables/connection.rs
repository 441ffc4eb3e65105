//! The connection and the host: `REMOTE_ADDR`, `REMOTE_HOST` (the address;
//! no reverse lookups), `REMOTE_PORT`, `REMOTE_USER`, `AUTH_TYPE`,
//! `SERVER_ADDR`, `SERVER_PORT`, `SERVER_NAME` (Host without port),
//! `UNIQUE_ID`.
//!
//! `SecRule REMOTE_ADDR "@ipMatch 10.0.0.0/8" "id:1,phase:1,allow"`

use std::borrow::Cow;

use super::{push_single, Var, VarValue};
use crate::transaction::TxView;

pub(super) fn collect<'a>(view: &TxView<'a, '_>, var: Var, out: &mut Vec<VarValue<'a>>) {
    let c = &view.req.connection;
    let value: Cow<'a, [u8]> = match var {
        Var::RemoteAddr | Var::RemoteHost => Cow::Borrowed(c.client_ip.as_bytes()),
        Var::RemotePort => Cow::Owned(c.client_port.to_string().into_bytes()),
        Var::ServerAddr => Cow::Borrowed(c.server_ip.as_bytes()),
        Var::ServerPort => Cow::Owned(c.server_port.to_string().into_bytes()),
        Var::UniqueId => Cow::Borrowed(c.unique_id.as_bytes()),
        Var::ServerName => match &view.req.server_name {
            Some(n) => Cow::Borrowed(n.as_slice()),
            None => return,
        },
        Var::AuthType => match &view.req.auth_type {
            Some(n) => Cow::Borrowed(n.as_slice()),
            None => return,
        },
        Var::RemoteUser => match &view.req.remote_user {
            Some(n) => Cow::Borrowed(n.as_slice()),
            None => return,
        },
        _ => return,
    };
    push_single(var, value, out);
}
