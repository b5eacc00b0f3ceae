//! Types shared by the two halves of jjc.
//!
//! The capture side (reading → decoding → flows → output) and the language side
//! (syntax → semantics → kernel IR → interpreter / JIT) never depend on each other.
//! They meet here: the [`PacketView`] that the decoder builds and kernels read, the
//! [`Direction`] a flow assigns to a packet, the [`FlowView`] and function types of a compiled
//! kernel, and the column types of an output table.

mod table;

pub mod kernel;
pub mod packet;
pub use kernel::{FinishFn, FlowView, UpdateFn};
pub use packet::{Direction, IpBytes, MAX_VLANS, PacketView, TcpFlags};
pub use table::{CellSink, Column, ColumnType, Value};
