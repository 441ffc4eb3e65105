//! `setvar`: writes a stored collection. `setvar:tx.name=value` sets,
//! `=+N` adds, `=-N` subtracts (integers, a non-number counting as 0),
//! `setvar:!tx.name` deletes, `setvar:tx.name` sets `1`. Name and value may
//! hold macros (`setvar:'tx.%{rule.id}-%{MATCHED_VAR_NAME}=%{MATCHED_VAR}'`).
//! It runs on every match of the rule, even when a chained rule later fails
//! (ModSecurity's rule).
//!
//! `SecRule ARGS "@rx x" "id:1,pass,setvar:'tx.score=+%{tx.critical_anomaly_score}'"`

use super::{required, Action};
use crate::macros::MacroString;
use crate::variables::Var;

/// What `setvar` does to the variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetVarOp {
    Set,
    Add,
    Subtract,
    Delete,
}

/// A parsed `setvar`.
#[derive(Debug, Clone)]
pub struct SetVar {
    pub collection: Var,
    pub name: MacroString,
    pub op: SetVarOp,
    pub value: MacroString,
}

pub(super) fn parse(arg: Option<&str>) -> Result<Action, String> {
    let text = required(arg)?.trim();
    let (delete, text) = match text.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (target, value) = match text.find('=') {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let (col, name) = target
        .split_once('.')
        .ok_or_else(|| format!("'{target}' is not COLLECTION.name"))?;
    let collection = crate::variables::lookup(col.trim())
        .map(|e| e.var)
        .filter(|v| v.is_stored_collection())
        .ok_or_else(|| format!("'{col}' is not a collection setvar can write (TX, IP, GLOBAL, SESSION, USER, RESOURCE)"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("'{target}' has no variable name"));
    }
    let (op, value) = match (delete, value) {
        (true, Some(_)) => return Err("a deletion (!) takes no value".into()),
        (true, None) => (SetVarOp::Delete, ""),
        (false, None) => (SetVarOp::Set, "1"),
        (false, Some(v)) => match v.as_bytes().first() {
            Some(b'+') => (SetVarOp::Add, &v[1..]),
            Some(b'-') => (SetVarOp::Subtract, &v[1..]),
            _ => (SetVarOp::Set, v),
        },
    };
    Ok(Action::SetVar(SetVar {
        collection,
        name: MacroString::parse(name),
        op,
        value: MacroString::parse(value),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sv(text: &str) -> SetVar {
        match parse(Some(text)).unwrap() {
            Action::SetVar(s) => s,
            _ => unreachable!(),
        }
    }

    #[test]
    fn forms() {
        let s = sv("tx.a=+%{tx.b}");
        assert_eq!((s.collection, s.op), (Var::Tx, SetVarOp::Add));
        assert!(!s.value.is_static());
        assert_eq!(sv("!tx.a").op, SetVarOp::Delete);
        assert_eq!(sv("TX.a").op, SetVarOp::Set);
        assert_eq!(sv("ip.a=-5").op, SetVarOp::Subtract);
        assert!(parse(Some("args.a=1")).is_err());
        assert!(parse(Some("tx=1")).is_err());
    }
}
