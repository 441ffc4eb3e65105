//! Persistent collections and the environment: `initcol:ip=%{REMOTE_ADDR}`
//! opens the `IP` collection for that key (likewise `GLOBAL`, `RESOURCE`,
//! `SESSION`, `USER`), `setsid` / `setuid` / `setrsc` open `SESSION`,
//! `USER`, `RESOURCE` and set `SESSIONID` / `USERID`,
//! `expirevar:ip.name=SECONDS` makes a variable expire, and
//! `setenv:NAME=value` sets `ENV:NAME`.
//!
//! `SecAction "id:1,phase:1,nolog,pass,initcol:ip=%{REMOTE_ADDR}"`

use super::{required, Action};
use crate::macros::MacroString;
use crate::variables::Var;

/// A parsed `initcol`.
#[derive(Debug, Clone)]
pub struct InitCol {
    pub collection: Var,
    pub key: MacroString,
}

/// A parsed `expirevar`.
#[derive(Debug, Clone)]
pub struct ExpireVar {
    pub collection: Var,
    pub name: MacroString,
    pub seconds: MacroString,
}

/// A parsed `setenv`.
#[derive(Debug, Clone)]
pub struct SetEnv {
    pub name: MacroString,
    pub value: MacroString,
}

fn persistent(col: &str) -> Result<Var, String> {
    crate::variables::lookup(col.trim())
        .map(|e| e.var)
        .filter(|v| v.is_stored_collection() && *v != Var::Tx)
        .ok_or_else(|| {
            format!("'{col}' is not a persistent collection (IP, GLOBAL, RESOURCE, SESSION, USER)")
        })
}

pub(super) fn initcol(arg: Option<&str>) -> Result<Action, String> {
    let text = required(arg)?;
    let (col, key) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not COLLECTION=key"))?;
    Ok(Action::InitCol(InitCol {
        collection: persistent(col)?,
        key: MacroString::parse(key.trim()),
    }))
}

pub(super) fn setsid(arg: Option<&str>) -> Result<Action, String> {
    Ok(Action::SetSid(MacroString::parse(required(arg)?.trim())))
}

pub(super) fn setuid(arg: Option<&str>) -> Result<Action, String> {
    Ok(Action::SetUid(MacroString::parse(required(arg)?.trim())))
}

pub(super) fn setrsc(arg: Option<&str>) -> Result<Action, String> {
    Ok(Action::SetRsc(MacroString::parse(required(arg)?.trim())))
}

pub(super) fn expirevar(arg: Option<&str>) -> Result<Action, String> {
    let text = required(arg)?;
    let (target, seconds) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not COLLECTION.name=SECONDS"))?;
    let (col, name) = target
        .split_once('.')
        .ok_or_else(|| format!("'{target}' is not COLLECTION.name"))?;
    let collection = crate::variables::lookup(col.trim())
        .map(|e| e.var)
        .filter(|v| v.is_stored_collection())
        .ok_or_else(|| format!("'{col}' is not a stored collection"))?;
    Ok(Action::ExpireVar(ExpireVar {
        collection,
        name: MacroString::parse(name.trim()),
        seconds: MacroString::parse(seconds.trim()),
    }))
}

pub(super) fn setenv(arg: Option<&str>) -> Result<Action, String> {
    let text = required(arg)?;
    let (name, value) = match text.split_once('=') {
        Some((n, v)) => (n, v),
        None => (text, "1"),
    };
    Ok(Action::SetEnv(SetEnv {
        name: MacroString::parse(name.trim()),
        value: MacroString::parse(value),
    }))
}
