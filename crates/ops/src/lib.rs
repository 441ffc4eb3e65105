//! `ops`: security events and what consumes them.
//!
//! Every decision a gateway stage makes is an [`Event`]. Stages hand events
//! to the [`EventBus`]; the bus fans them out to sinks (the JSON audit log,
//! the SQLite event store, and later the IPS jails and alert rules). No
//! stage talks to a sink directly. This crate does no proxying.

pub mod audit_log;
pub mod bus;
pub mod cards;
pub mod event;
pub mod event_store;

pub use bus::{EventBus, Sink};
pub use event::{Action, Event, Severity};
