//! `XML:<xpath>`: values from the request body parsed by the XML processor.
//! The XPath subset that rule sets use is supported: `/*` (the text of the
//! whole document), `//@*` (every attribute value), absolute and `//`
//! paths of element names or `*`, ending optionally in `@name`, `@*` or
//! `text()`. Without a parsed document, nothing.
//!
//! `SecRule XML:/* "@rx <script" "id:1,phase:2,deny"`

use std::borrow::Cow;

use super::{Selector, Var, VarValue};
use crate::transaction::TxView;

pub(super) fn collect<'a>(view: &TxView<'a, '_>, selector: &Selector, out: &mut Vec<VarValue<'a>>) {
    let Some(doc) = &view.req.xml else {
        return;
    };
    let path = match selector {
        Selector::Key(k) => k.as_str(),
        Selector::All => "/*",
        Selector::Regex(_) => return,
    };
    for value in doc.select(path) {
        out.push(VarValue {
            var: Var::Xml,
            key: Some(Cow::Owned(path.as_bytes().to_vec())),
            value: Cow::Owned(value),
        });
    }
}
