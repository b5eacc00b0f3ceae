//! The kernel compiler for `.jjf` feature groups: one fused per-flow kernel for all the
//! selected groups, and the reference interpreter that runs it.
//!
//! ```text
//! Program (HIR) ──► lower (value numbering, shared accumulators, folding) ──► Kernel
//!                                                                             │
//!      update(state, pkt) per packet, finish(state, flow, out) per flow ◄─────┤
//!                                                   Interpreter (here), JIT (jjc-jit)
//! ```
//!
//! [`compile`] lowers the selected groups (and whatever features they use from other
//! groups) to a [`Kernel`]: a flat state layout of 8-byte slots, the output columns, and two
//! straight-line [`ir::Function`]s. Backends implement [`Exec`]; [`Interpreter`] is the
//! reference. [`testing`] runs a file's `test` blocks under any backend. [`compile_with`]
//! takes per-run [`KernelOptions`], such as memory-bounded percentiles ([`PercentileMode`],
//! [`sketch`]).

#![warn(missing_docs)]

mod builder;
pub mod flow_strings;
mod inst_key;
pub mod int_text;
mod interp;
pub mod ir;
mod kernel;
pub mod kernel_codec;
mod lower;
pub mod runtime;
pub mod sketch;
mod small_sort;
pub mod testing;
pub mod tls;

pub use interp::Interpreter;
pub use kernel::{DataBlock, Exec, Kernel, KernelError, Slot, SlotKind, ip_from_words, ip_words};
pub use lower::{KernelOptions, compile, compile_with};
pub use runtime::helper_symbols;
pub use sketch::{PercentileMode, PercentileModeError, RelativeError};
