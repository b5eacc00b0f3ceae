//! Compiling kernel IR to native code with Cranelift.
//!
//! ```text
//! jjc_kernel::Kernel ──► translate (one Cranelift block per function) ──► JIT module
//!        update(state, pkt), finish(state, flow, out) as native `extern "C"` functions
//! ```
//!
//! [`JitKernel::compile`] turns both kernel functions into native code and runs them as a
//! [`jjc_kernel::Exec`] backend, agreeing with the reference [`jjc_kernel::Interpreter`]
//! (the tests compare them on the seed examples and on random programs). [`dump_clif`]
//! shows the Cranelift IR (`jjc dump --clif`). [`JitKernel::compile_cached`] keeps the code
//! in a [`KernelCache`], so that later runs of the same kernel link it instead of compiling.
//!
//! Every operation is total, as the kernel IR defines it: integer division guards its
//! divisor, shifts and float → int conversions saturate, and every payload byte is read only
//! after a bounds check in the generated code, so no feature file can make the code trap or
//! read outside a packet.

#![warn(missing_docs)]

mod cache;
#[cfg(test)]
mod cache_tests;
mod code;
mod dump;
mod error;
mod kernel;
#[cfg(test)]
mod library_tests;
mod target;
mod translate;

pub use cache::{KernelCache, LoweredKey, MAX_ENTRIES};
pub use code::CodeOrigin;
pub use dump::dump_clif;
pub use error::JitError;
pub use kernel::JitKernel;
