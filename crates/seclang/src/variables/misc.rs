//! Single values about the engine and the transaction: `DURATION`
//! (microseconds since the transaction began), `HIGHEST_SEVERITY`,
//! `MODSEC_BUILD`, `SESSIONID`, `USERID`, `WEBAPPID` (set by `setsid`,
//! `setuid`, `SecWebAppId`), `WEBSERVER_ERROR_LOG` (always empty here).
//!
//! `SecRule HIGHEST_SEVERITY "@le 2" "id:1,phase:5,pass"`

use std::borrow::Cow;

use super::{push_single, Var, VarValue};
use crate::transaction::TxView;

/// The ModSecurity build this engine's behaviour follows (3.0.15).
const MODSEC_BUILD: &[u8] = b"030015100";

pub(super) fn collect<'a>(view: &TxView<'a, '_>, var: Var, out: &mut Vec<VarValue<'a>>) {
    let s = view.state;
    let value: Cow<'a, [u8]> = match var {
        Var::Duration => Cow::Owned(s.started.elapsed().as_micros().to_string().into_bytes()),
        Var::HighestSeverity => {
            Cow::Owned(s.highest_severity.unwrap_or(255).to_string().into_bytes())
        }
        Var::ModsecBuild => Cow::Borrowed(MODSEC_BUILD),
        Var::SessionId => match &s.session_id {
            Some(v) => Cow::Owned(v.clone().into_bytes()),
            None => return,
        },
        Var::UserId => match &s.user_id {
            Some(v) => Cow::Owned(v.clone().into_bytes()),
            None => return,
        },
        Var::WebAppId => Cow::Owned(view.web_app_id.as_bytes().to_vec()),
        Var::WebserverErrorLog => return,
        _ => return,
    };
    push_single(var, value, out);
}
