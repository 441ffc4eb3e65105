//! A read-only view of a transaction: what variables read and what `%{…}`
//! macros expand against.

use std::borrow::Cow;

use super::{RequestData, ResponseData, TxState};
use crate::macros::MacroSource;
use crate::rule::RuleMeta;
use crate::variables::{self, Selector, VarValue};

/// The parts of a transaction that variables read.
pub(crate) struct TxView<'a, 's> {
    pub req: &'a RequestData,
    pub resp: &'a ResponseData,
    pub state: &'s TxState,
    /// The rule being evaluated, for `RULE` and `%{rule.id}`.
    pub rule: Option<&'a RuleMeta>,
    pub web_app_id: &'a str,
}

impl MacroSource for TxView<'_, '_> {
    fn lookup(&self, collection: &str, key: Option<&str>) -> Option<Cow<'_, [u8]>> {
        let entry = variables::lookup(collection)?;
        let selector = match key {
            Some(k)
                if entry.collection && k.len() >= 2 && k.starts_with('/') && k.ends_with('/') =>
            {
                let re = crate::operators::pcre::PcrePattern::new(&format!(
                    "(?i){}",
                    &k[1..k.len() - 1]
                ))
                .ok()?;
                Selector::Regex(std::sync::Arc::new(re))
            }
            Some(k) if entry.collection => Selector::Key(k.to_string()),
            Some(_) => return None,
            None => Selector::All,
        };
        let mut out: Vec<VarValue<'_>> = Vec::new();
        variables::collect(self, entry.var, &selector, &mut out);
        out.into_iter().next().map(|v| v.value)
    }
}
