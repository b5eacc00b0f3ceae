//! Flow assembly: packets in, ended flows out.
//!
//! A [`FlowTable`] takes decoded packets in file order and groups them into bidirectional
//! flows (DESIGN.md §2 "Flows"). Each flow carries the engine's [`FlowRecord`] and a
//! per-flow state of the caller's choosing: fixed words kept inline in the table's slab (the
//! feature kernel's slots) and a Rust value, both updated by a [`FlowHandler`] — generic, so
//! the per-packet path has no dynamic dispatch.
//!
//! Flows end on idle timeout, active timeout, TCP end (`--tcp-end`), eviction when a
//! partition is full (`--max-flows`) and end of input. Ended flows wait in the table until
//! the caller drains them; [`FlowTable::drain_ended`] hands them over sorted by the time of
//! their ending event, then key, so the output order depends only on the capture; their inline
//! words stay readable ([`FlowTable::ended_state`]) until the next drain.

#![warn(missing_docs)]

mod config;
mod key;
mod partition;
mod record;
mod table;
mod words;

pub use config::{ConfigError, FlowConfig, TcpEnd};
pub use key::{FlowKey, partition_hash};
pub use record::{EndReason, FlowRecord};
pub use table::{EndedFlow, FlowHandler, FlowTable, MAX_PARTITIONS, NoFeatures, partition_of};

#[cfg(test)]
mod tests;
