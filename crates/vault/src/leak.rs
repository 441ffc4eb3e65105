//! Leak prevention: find card numbers in text and mask them. The scanner
//! lives in `ops::cards` (the event bus masks every event with it before
//! any sink writes it); re-exported here for the vault's users.

pub use ops::cards::*;
