//! A compiled kernel: its state layout, output columns, constant data and two IR functions.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use jjc_abi::{CellSink, Column, ColumnType, FlowView, PacketView, Value};
use jjc_syntax::Span;

use crate::flow_strings::{StringPool, stored_text};
use crate::ir::{Function, MTy, VerifyError};
use crate::runtime::{ArrayData, BufferKind, EdgesData, RegexSetData, TableData, free_buffer};

/// Why a program could not be compiled to a kernel.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KernelError {
    /// A selected group id is not in the program.
    #[error("no group with id {0}")]
    UnknownGroup(u32),
    /// The program contains something already reported as an error by the checker.
    #[error("the program has errors (at {span:?}); check it first")]
    Unchecked {
        /// Where.
        span: Span,
    },
    /// A construct the kernel compiler cannot compile.
    #[error("{what} is not supported in kernels")]
    Unsupported {
        /// What.
        what: String,
        /// Where.
        span: Span,
    },
    /// A pattern the regex engine refused.
    #[error("pattern `{pattern}`: {message}")]
    Regex {
        /// The regex.
        pattern: String,
        /// The engine's message.
        message: String,
    },
    /// The generated IR is malformed (a compiler bug).
    #[error("internal error in {function}: {error}")]
    Verify {
        /// `update` or `finish`.
        function: &'static str,
        /// What is wrong.
        error: VerifyError,
    },
}

/// What a state slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKind {
    /// A plain value of this type.
    Value(MTy),
    /// A pointer to a heap buffer owned by the state (0 until first used).
    Buffer(BufferKind),
}

/// One slot of the per-flow state.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    /// What it is for (shown by `dump_ir`).
    pub name: String,
    /// Its initial bits.
    pub init: u64,
    /// What it holds.
    pub kind: SlotKind,
}

/// The slots of `slots` that own a heap buffer, and its kind.
pub(crate) fn buffer_slots(slots: &[Slot]) -> Vec<(usize, BufferKind)> {
    slots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s.kind {
            SlotKind::Buffer(k) => Some((i, k)),
            SlotKind::Value(_) => None,
        })
        .collect()
}

/// Kernel-owned constant data, reached by `DataAddr`. Boxed: addresses never move.
#[derive(Debug)]
pub enum DataBlock {
    /// A regex set for [`crate::ir::Helper::RegexSet`].
    Regex(Box<RegexSetData>),
    /// A key table for [`crate::ir::Helper::TableFind`].
    Table(Box<TableData>),
    /// An `i64` array for [`crate::ir::Helper::ArrayGet`].
    Array(Box<ArrayData>),
    /// Histogram edges for [`crate::ir::Helper::HistBin`].
    Edges(Box<EdgesData>),
    /// A byte string (a `bytes` constant); its address is that of the first byte.
    Bytes(Box<[u8]>),
    /// The string pool, for helpers that make run-time strings.
    Strings(Box<StringPool>),
}

impl DataBlock {
    /// The address code receives.
    pub fn addr(&self) -> u64 {
        match self {
            DataBlock::Regex(b) => &**b as *const RegexSetData as u64,
            DataBlock::Table(b) => &**b as *const TableData as u64,
            DataBlock::Array(b) => &**b as *const ArrayData as u64,
            DataBlock::Edges(b) => &**b as *const EdgesData as u64,
            DataBlock::Bytes(b) => b.as_ptr() as u64,
            DataBlock::Strings(b) => &**b as *const StringPool as u64,
        }
    }

    fn describe(&self) -> String {
        match self {
            DataBlock::Regex(r) => format!("regex set {:?}", r.patterns()),
            DataBlock::Table(t) => format!("table of {} entries", t.len()),
            DataBlock::Array(a) => format!("array {:?}", a.values),
            DataBlock::Edges(e) => format!("edges {:?}", e.edges),
            DataBlock::Bytes(b) => format!("bytes b\"{}\"", b.escape_ascii()),
            DataBlock::Strings(p) => format!("string pool of {} strings", p.len()),
        }
    }
}

/// One fused per-flow kernel for a set of feature groups.
#[derive(Debug)]
pub struct Kernel {
    pub(crate) columns: Vec<Column>,
    pub(crate) column_cells: Vec<u32>,
    pub(crate) out_cells: usize,
    pub(crate) slots: Vec<Slot>,
    pub(crate) init: Vec<u64>,
    pub(crate) buffers: Vec<(usize, BufferKind)>,
    pub(crate) strings: Vec<String>,
    pub(crate) data: Vec<DataBlock>,
    pub(crate) update: Function,
    pub(crate) finish: Function,
}

impl Kernel {
    /// The output columns in order (seq/hist expanded; identity columns not included).
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Per-flow state size: the state is `[u64; state_slots]`.
    pub fn state_slots(&self) -> usize {
        self.slots.len()
    }

    /// The state layout.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// Writes the initial state (`state.len()` must be [`Kernel::state_slots`]; extra slots
    /// are left alone, missing ones skipped).
    pub fn init_state(&self, state: &mut [u64]) {
        for (s, v) in state.iter_mut().zip(&self.init) {
            *s = *v;
        }
    }

    /// Frees the heap buffers the state owns and zeroes their slots (safe to call twice, or
    /// on a fresh state).
    ///
    /// The state must have been initialised by [`Kernel::init_state`] of this kernel, and run
    /// only by this kernel's backends; never copy a state that owns buffers.
    pub fn drop_state(&self, state: &mut [u64]) {
        for (slot, kind) in &self.buffers {
            if let Some(s) = state.get_mut(*slot) {
                // SAFETY: buffer slots hold 0 or a pointer made by the push helper of this
                // kind (the contract above), and are zeroed after freeing.
                unsafe { free_buffer(*kind, *s) };
                *s = 0;
            }
        }
    }

    /// Asks the CPU to bring a flow's state and the first bytes of its buffers (value lists,
    /// mode counts, strings) into its cache, so that `finish`, which reads them all, waits for
    /// memory about once instead of once per buffer: a flow that ended long after its last
    /// packet (an idle timeout, the end of a capture with many flows) finds them all cold.
    /// Reads only the state's buffer slots; does nothing on other architectures.
    pub fn prefetch_state(&self, state: &[u64]) {
        for line in state.chunks(8) {
            crate::runtime::prefetch(line.as_ptr().cast());
        }
        for (slot, _) in &self.buffers {
            if let Some(&bits) = state.get(*slot)
                && bits != 0
            {
                crate::runtime::prefetch(bits as *const u8);
            }
        }
    }

    /// Output cells `finish` writes: one per column, two per `ip` column.
    pub fn out_cells(&self) -> usize {
        self.out_cells
    }

    /// The string pool: a `str` value is an index into it.
    pub fn strings(&self) -> &[String] {
        &self.strings
    }

    /// The kernel-owned constant data blocks (`DataAddr` number `i` is block `i`).
    pub fn data(&self) -> &[DataBlock] {
        &self.data
    }

    /// Appends one [`Value`] per column from the cells `finish` wrote, for a kernel without
    /// run-time strings or after its state is gone: a run-time string (an SNI, a JA3 hash)
    /// reads as `""`. [`Kernel::cells_to_values_with_state`] resolves them.
    pub fn cells_to_values(&self, cells: &[u64], out: &mut Vec<Value>) {
        self.emit(cells, 0, out);
    }

    /// Appends one [`Value`] per column from the cells `finish` wrote, resolving run-time
    /// strings in the flow's `state` (call it before [`Kernel::drop_state`]).
    ///
    /// The state must have been initialised by [`Kernel::init_state`] of this kernel and run
    /// only by this kernel's backends (as for [`Kernel::drop_state`]).
    pub fn cells_to_values_with_state(&self, cells: &[u64], state: &[u64], out: &mut Vec<Value>) {
        self.emit_cells(cells, state, out);
    }

    /// Gives `sink` one cell per column from the cells `finish` wrote, run-time strings
    /// resolved in the flow's `state` (call it before [`Kernel::drop_state`]): as
    /// [`Kernel::cells_to_values_with_state`] without building values.
    ///
    /// The state must have been initialised by [`Kernel::init_state`] of this kernel and run
    /// only by this kernel's backends (as for [`Kernel::drop_state`]).
    pub fn emit_cells(&self, cells: &[u64], state: &[u64], sink: &mut impl CellSink) {
        let strings = self
            .buffers
            .iter()
            .find(|(_, k)| *k == BufferKind::Strings)
            .and_then(|(slot, _)| state.get(*slot))
            .copied()
            .unwrap_or(0);
        self.emit(cells, strings, sink);
    }

    /// [`Kernel::emit_cells`] with the strings slot's value.
    fn emit(&self, cells: &[u64], strings: u64, sink: &mut impl CellSink) {
        for (col, first) in self.columns.iter().zip(&self.column_cells) {
            let cell = |i: u32| cells.get((first + i) as usize).copied().unwrap_or(0);
            match col.ty {
                ColumnType::Bool => sink.bool(cell(0) != 0),
                ColumnType::Int => sink.int(cell(0) as i64),
                ColumnType::Float => sink.float(f64::from_bits(cell(0))),
                ColumnType::Str => {
                    let id = cell(0);
                    match usize::try_from(id).ok().and_then(|i| self.strings.get(i)) {
                        Some(s) => sink.str(s),
                        // SAFETY: `strings` is 0 or the strings slot of a live state of this
                        // kernel (the contract of `emit_cells`).
                        None => sink.str(unsafe { stored_text(strings, id as i64) }.unwrap_or("")),
                    }
                }
                ColumnType::Ip => sink.ip(ip_from_words(cell(0), cell(1))),
            }
        }
    }

    /// The update program: `update(state, pkt)`.
    pub fn update_program(&self) -> &Function {
        &self.update
    }

    /// The finish program: `finish(state, flow, out)`.
    pub fn finish_program(&self) -> &Function {
        &self.finish
    }

    /// A readable text of the layout, data and both programs (`jjc dump --ir`).
    pub fn dump_ir(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "columns:");
        for (c, cell) in self.columns.iter().zip(&self.column_cells) {
            let _ = writeln!(s, "    out[{cell}] {}: {}", c.name, c.ty);
        }
        let _ = writeln!(s, "state ({} slots):", self.slots.len());
        for (i, slot) in self.slots.iter().enumerate() {
            let kind = match slot.kind {
                SlotKind::Value(t) => t.to_string(),
                SlotKind::Buffer(b) => format!("{b:?} buffer"),
            };
            let init = match slot.kind {
                SlotKind::Value(MTy::F64) => format!("{:?}", f64::from_bits(slot.init)),
                _ => (slot.init as i64).to_string(),
            };
            let _ = writeln!(s, "    [{i}] {}: {kind} = {init}", slot.name);
        }
        if !self.strings.is_empty() {
            let _ = writeln!(s, "strings:");
            for (i, t) in self.strings.iter().enumerate() {
                let _ = writeln!(s, "    s{i} = {t:?}");
            }
        }
        if !self.data.is_empty() {
            let _ = writeln!(s, "data:");
            for (i, d) in self.data.iter().enumerate() {
                let _ = writeln!(s, "    d{i} = {}", d.describe());
            }
        }
        let _ = write!(s, "{}", self.update);
        let _ = write!(s, "{}", self.finish);
        s
    }
}

/// An address from the two words of an `ip` value (`::ffff:a.b.c.d` is IPv4).
pub fn ip_from_words(hi: u64, lo: u64) -> IpAddr {
    if hi == 0 && lo >> 32 == 0xffff {
        IpAddr::V4(Ipv4Addr::from((lo & 0xffff_ffff) as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from((u128::from(hi) << 64) | u128::from(lo)))
    }
}

/// The two words of an `ip` value (IPv4 as `::ffff:a.b.c.d`).
pub fn ip_words(ip: IpAddr) -> (i64, i64) {
    let v = match ip {
        IpAddr::V4(a) => u128::from(a.to_ipv6_mapped()),
        IpAddr::V6(a) => u128::from(a),
    };
    ((v >> 64) as u64 as i64, v as u64 as i64)
}

/// A backend running a kernel (the interpreter or compiled code).
pub trait Exec {
    /// Runs `update` for one packet.
    fn update(&mut self, state: &mut [u64], pkt: &PacketView<'_>);
    /// Runs `finish` at the flow's end, writing `out` ([`Kernel::out_cells`] cells).
    fn finish(&mut self, state: &mut [u64], flow: &FlowView, out: &mut [u64]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_can_be_shared_across_threads() {
        fn shared<T: Send + Sync>() {}
        fn sent<T: Send>() {}
        shared::<Kernel>();
        sent::<crate::Interpreter<'static>>();
    }

    #[test]
    fn ip_words_round_trip() {
        for text in [
            "10.0.0.1",
            "0.0.0.0",
            "2001:db8::1",
            "::",
            "255.255.255.255",
        ] {
            let ip: IpAddr = match text.parse() {
                Ok(ip) => ip,
                Err(e) => panic!("{e}"),
            };
            let (hi, lo) = ip_words(ip);
            assert_eq!(ip_from_words(hi as u64, lo as u64), ip);
        }
        assert_eq!(
            ip_words(
                "1.2.3.4"
                    .parse()
                    .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
            ),
            (0, 0x0000_ffff_0102_0304)
        );
    }
}
