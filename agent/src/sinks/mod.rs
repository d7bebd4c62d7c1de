//! Sinks: where findings go. Each sink is a pure mapping from a [`crate::run::Report`] to a
//! payload, plus (for remote sinks) a separate transport.

pub mod json;
pub mod prometheus;
pub mod table;
