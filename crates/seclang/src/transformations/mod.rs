//! Transformations (`t:name`): pure functions over bytes, registered by name.
//!
//! Each transformation lives in its own file with a doc comment (what it
//! does, an example) and one registry line below.

use std::borrow::Cow;

/// A transformation function. Returns the input borrowed when unchanged.
pub type TransformFn = fn(&[u8]) -> Cow<'_, [u8]>;

/// A named transformation.
#[derive(Clone, Copy)]
pub struct Transformation {
    pub name: &'static str,
    pub apply: TransformFn,
}

impl std::fmt::Debug for Transformation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "t:{}", self.name)
    }
}

/// Looks up a transformation by its SecLang name (`none` is handled by the
/// rule parser, not here).
pub fn lookup(name: &str) -> Option<Transformation> {
    REGISTRY
        .iter()
        .find(|t| t.name.eq_ignore_ascii_case(name))
        .copied()
}

/// Every registered transformation.
pub static REGISTRY: &[Transformation] = &[];
