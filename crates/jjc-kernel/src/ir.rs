//! The kernel IR: two straight-line SSA functions over 64-bit machine values.
//!
//! A kernel is `update(state, pkt)`, run once per packet, and `finish(state, flow, out)`, run
//! once per flow. Each is a [`Function`]: a list of [`Inst`]s in program order, **without any
//! control flow**. Conditionals are [`Inst::Select`]s, predicated state stores and predicate
//! arguments of helper calls. Every operation is total: nothing traps, whatever the values
//! (integer division by zero yields 0, float operations follow IEEE 754, out-of-range byte
//! reads yield 0 and a 0 "in bounds" flag). Optional (`none`) values are tracked by the
//! lowering in separate 0/1 registers; the IR itself has no notion of `none`.
//!
//! # Values
//! There are two machine types ([`MTy`]): `I64` (ints; bools, directions and flags as 0/1;
//! string ids; byte pointers and lengths; 64-bit address halves) and `F64`. Registers
//! ([`Reg`]) are numbered from 0 per function; each is defined by exactly one instruction,
//! before any use, and its type is `Function::regs[reg]`. A `bytes` value is a (ptr, len)
//! pair of `I64` registers; an `ip` value is a (hi, lo) pair holding the 16 address bytes as
//! two big-endian 64-bit words, IPv4 as `::ffff:a.b.c.d` (so `lo = 0x0000_ffff_aabb_ccdd`).
//!
//! # Memory
//! - `state` is the flow's `[u64; state_slots]`, addressed by slot index. Floats are stored
//!   as their bits. A load of a slot sees every store to it earlier in the same function
//!   (program order).
//! - `pkt` is a `*const jjc_abi::PacketView` (update only), `flow` a `*const
//!   jjc_abi::FlowView` (finish only), read at the byte offsets of
//!   [`jjc_abi::kernel::packet_offsets`] / [`jjc_abi::kernel::flow_offsets`].
//! - `out` is the `[u64]` of output cells (finish only), written by [`Inst::Out`].
//! - Payload bytes are read only by [`Inst::ByteAt`] (bounds-checked) and by helpers.
//! - Kernel-owned constant data (regex sets, tables, byte strings) is reached through
//!   [`Inst::DataAddr`], whose address stays valid as long as the `Kernel` lives.
//!
//! # Helpers
//! [`Inst::Call`] calls an `extern "C"` function of `crate::runtime` (see [`Helper`] and
//! `crate::runtime::helper_symbols`). Arguments and results are `i64` (for `I64`) or `f64`
//! (for `F64`) in the C calling convention.
//!
//! The exact semantics of every operation are the `eval` methods in this module
//! ([`IBinOp::eval`], [`FBinOp::eval`], [`IntCC::eval`], [`FloatCC::eval`], [`IUnOp::eval`],
//! [`FUnOp::eval`], [`f64_to_i64`], [`byte_index`], [`slice_bounds`]); the interpreter uses
//! them, and a compiled backend must produce bit-identical results (floats: identical, or
//! both NaN).

use std::fmt;
use std::hash::{Hash, Hasher};

use crate::inst_key::{Addresses, hash_inst};

/// A machine type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MTy {
    /// A 64-bit integer (two's complement).
    I64,
    /// A 64-bit IEEE 754 float.
    F64,
}

impl fmt::Display for MTy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MTy::I64 => "i64",
            MTy::F64 => "f64",
        })
    }
}

/// A virtual register: an SSA value of one function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reg(pub u32);

impl Reg {
    /// The index into [`Function::regs`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// Which of the two kernel functions a [`Function`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunctionKind {
    /// `update(state, pkt)`: may use [`Inst::LoadPkt`], never [`Inst::LoadFlow`] or [`Inst::Out`].
    Update,
    /// `finish(state, flow, out)`: may use [`Inst::LoadFlow`] and [`Inst::Out`], never
    /// [`Inst::LoadPkt`].
    Finish,
}

/// One kernel function: straight-line SSA code.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    /// Update or finish.
    pub kind: FunctionKind,
    /// The type of every register, indexed by [`Reg::index`].
    pub regs: Vec<MTy>,
    /// The instructions, in program order.
    pub insts: Vec<Inst>,
}

/// How [`Inst::LoadPkt`] and [`Inst::LoadFlow`] read memory at their byte offset.
///
/// Every integer load is zero-extended to `I64`; all but [`Load::U64Be`] read in the host's
/// native byte order (the structs are `#[repr(C)]` Rust values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Load {
    /// One byte, zero-extended. Result `I64`.
    U8,
    /// Two bytes (native order), zero-extended. Result `I64`.
    U16,
    /// Four bytes (native order), zero-extended. Result `I64`.
    U32,
    /// Eight bytes (native order) as a signed integer. Result `I64`.
    I64,
    /// Eight bytes (native order) as an `f64`. Result `F64`.
    F64,
    /// A pointer (8 bytes, native order) as an integer. Result `I64`.
    Ptr,
    /// Eight bytes in **big-endian** order (address halves). Result `I64`.
    U64Be,
}

impl Load {
    /// Bytes read.
    pub fn width(self) -> usize {
        match self {
            Load::U8 => 1,
            Load::U16 => 2,
            Load::U32 => 4,
            Load::I64 | Load::F64 | Load::Ptr | Load::U64Be => 8,
        }
    }

    /// The type of the loaded register.
    pub fn ty(self) -> MTy {
        match self {
            Load::F64 => MTy::F64,
            _ => MTy::I64,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Load::U8 => "u8",
            Load::U16 => "u16",
            Load::U32 => "u32",
            Load::I64 => "i64",
            Load::F64 => "f64",
            Load::Ptr => "ptr",
            Load::U64Be => "u64be",
        }
    }
}

/// Integer binary operations (`I64 × I64 → I64`). See [`IBinOp::eval`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IBinOp {
    /// Wrapping addition.
    Add,
    /// Wrapping subtraction.
    Sub,
    /// Wrapping multiplication.
    Mul,
    /// Floor division (Python's `//`): rounds towards negative infinity. `b == 0` → 0;
    /// `i64::MIN / -1` → 0.
    Div,
    /// Remainder with the sign of the divisor (Python's `%`): `a - b * (a // b)`. `b == 0` →
    /// 0; `i64::MIN % -1` → 0.
    Rem,
    /// Bitwise and.
    And,
    /// Bitwise or.
    Or,
    /// Bitwise xor.
    Xor,
    /// Shift left: `b` in `0..=63` → `a << b` (bits shifted out are lost); any other `b` → 0.
    Shl,
    /// Arithmetic shift right: `b` in `0..=63` → `a >> b`; `b > 63` → `a >> 63` (0 or -1);
    /// `b < 0` → 0.
    Shr,
}

impl IBinOp {
    /// The exact result.
    pub fn eval(self, a: i64, b: i64) -> i64 {
        match self {
            IBinOp::Add => a.wrapping_add(b),
            IBinOp::Sub => a.wrapping_sub(b),
            IBinOp::Mul => a.wrapping_mul(b),
            IBinOp::Div => {
                if b == 0 || (a == i64::MIN && b == -1) {
                    return 0;
                }
                let q = a / b;
                if (a % b != 0) && ((a < 0) != (b < 0)) {
                    q - 1
                } else {
                    q
                }
            }
            IBinOp::Rem => {
                if b == 0 || (a == i64::MIN && b == -1) {
                    return 0;
                }
                let r = a % b;
                if r != 0 && ((r < 0) != (b < 0)) {
                    r + b
                } else {
                    r
                }
            }
            IBinOp::And => a & b,
            IBinOp::Or => a | b,
            IBinOp::Xor => a ^ b,
            IBinOp::Shl => {
                if (0..=63).contains(&b) {
                    a << b
                } else {
                    0
                }
            }
            IBinOp::Shr => {
                if (0..=63).contains(&b) {
                    a >> b
                } else if b > 63 {
                    a >> 63
                } else {
                    0
                }
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            IBinOp::Add => "iadd",
            IBinOp::Sub => "isub",
            IBinOp::Mul => "imul",
            IBinOp::Div => "idiv",
            IBinOp::Rem => "irem",
            IBinOp::And => "and",
            IBinOp::Or => "or",
            IBinOp::Xor => "xor",
            IBinOp::Shl => "shl",
            IBinOp::Shr => "sshr",
        }
    }
}

/// Float binary operations (`F64 × F64 → F64`), IEEE 754 with round-to-nearest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FBinOp {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b` (IEEE: `x / 0` is ±inf or NaN).
    Div,
    /// `if b < a { b } else { a }` (Python's `min(a, b)`: `a` unless `b` is smaller; a NaN
    /// `b` gives `a`, a NaN `a` gives NaN).
    Min,
    /// `if b > a { b } else { a }` (Python's `max(a, b)`).
    Max,
}

impl FBinOp {
    /// The exact result.
    pub fn eval(self, a: f64, b: f64) -> f64 {
        match self {
            FBinOp::Add => a + b,
            FBinOp::Sub => a - b,
            FBinOp::Mul => a * b,
            FBinOp::Div => a / b,
            FBinOp::Min => {
                if b < a {
                    b
                } else {
                    a
                }
            }
            FBinOp::Max => {
                if b > a {
                    b
                } else {
                    a
                }
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            FBinOp::Add => "fadd",
            FBinOp::Sub => "fsub",
            FBinOp::Mul => "fmul",
            FBinOp::Div => "fdiv",
            FBinOp::Min => "fmin",
            FBinOp::Max => "fmax",
        }
    }
}

/// Integer comparisons (`I64 × I64 → I64` 0/1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntCC {
    /// `a == b`.
    Eq,
    /// `a != b`.
    Ne,
    /// Signed `a < b`.
    Slt,
    /// Signed `a <= b`.
    Sle,
    /// Signed `a > b`.
    Sgt,
    /// Signed `a >= b`.
    Sge,
    /// Unsigned `a < b`.
    Ult,
    /// Unsigned `a <= b`.
    Ule,
    /// Unsigned `a > b`.
    Ugt,
    /// Unsigned `a >= b`.
    Uge,
}

impl IntCC {
    /// 1 if the comparison holds, else 0.
    pub fn eval(self, a: i64, b: i64) -> i64 {
        let (ua, ub) = (a as u64, b as u64);
        i64::from(match self {
            IntCC::Eq => a == b,
            IntCC::Ne => a != b,
            IntCC::Slt => a < b,
            IntCC::Sle => a <= b,
            IntCC::Sgt => a > b,
            IntCC::Sge => a >= b,
            IntCC::Ult => ua < ub,
            IntCC::Ule => ua <= ub,
            IntCC::Ugt => ua > ub,
            IntCC::Uge => ua >= ub,
        })
    }

    fn name(self) -> &'static str {
        match self {
            IntCC::Eq => "eq",
            IntCC::Ne => "ne",
            IntCC::Slt => "slt",
            IntCC::Sle => "sle",
            IntCC::Sgt => "sgt",
            IntCC::Sge => "sge",
            IntCC::Ult => "ult",
            IntCC::Ule => "ule",
            IntCC::Ugt => "ugt",
            IntCC::Uge => "uge",
        }
    }
}

/// Float comparisons (`F64 × F64 → I64` 0/1), IEEE: with a NaN operand every comparison is
/// 0 except [`FloatCC::Ne`], which is 1. `-0.0 == 0.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FloatCC {
    /// `a == b` (ordered).
    Eq,
    /// `a != b` (unordered: true with a NaN).
    Ne,
    /// `a < b` (ordered).
    Lt,
    /// `a <= b` (ordered).
    Le,
    /// `a > b` (ordered).
    Gt,
    /// `a >= b` (ordered).
    Ge,
}

impl FloatCC {
    /// 1 if the comparison holds, else 0.
    #[allow(clippy::float_cmp)]
    pub fn eval(self, a: f64, b: f64) -> i64 {
        i64::from(match self {
            FloatCC::Eq => a == b,
            FloatCC::Ne => a != b,
            FloatCC::Lt => a < b,
            FloatCC::Le => a <= b,
            FloatCC::Gt => a > b,
            FloatCC::Ge => a >= b,
        })
    }

    fn name(self) -> &'static str {
        match self {
            FloatCC::Eq => "feq",
            FloatCC::Ne => "fne",
            FloatCC::Lt => "flt",
            FloatCC::Le => "fle",
            FloatCC::Gt => "fgt",
            FloatCC::Ge => "fge",
        }
    }
}

/// Integer unary operations (`I64 → I64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IUnOp {
    /// Wrapping negation (`-i64::MIN == i64::MIN`).
    Neg,
    /// Wrapping absolute value (`abs(i64::MIN) == i64::MIN`).
    Abs,
    /// Bitwise not (`!a`).
    Not,
}

impl IUnOp {
    /// The exact result.
    pub fn eval(self, a: i64) -> i64 {
        match self {
            IUnOp::Neg => a.wrapping_neg(),
            IUnOp::Abs => a.wrapping_abs(),
            IUnOp::Not => !a,
        }
    }

    fn name(self) -> &'static str {
        match self {
            IUnOp::Neg => "ineg",
            IUnOp::Abs => "iabs",
            IUnOp::Not => "bnot",
        }
    }
}

/// Float unary operations (`F64 → F64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FUnOp {
    /// `-a` (flips the sign bit, also of NaN and 0).
    Neg,
    /// `|a|` (clears the sign bit).
    Abs,
    /// IEEE square root (NaN below 0, `sqrt(-0.0) == -0.0`).
    Sqrt,
    /// Round towards negative infinity.
    Floor,
    /// Round towards positive infinity.
    Ceil,
    /// Round towards zero.
    Trunc,
    /// Round to the nearest integer, halves away from zero (Rust's `f64::round`).
    Round,
}

impl FUnOp {
    /// The exact result.
    pub fn eval(self, a: f64) -> f64 {
        match self {
            FUnOp::Neg => -a,
            FUnOp::Abs => a.abs(),
            FUnOp::Sqrt => a.sqrt(),
            FUnOp::Floor => a.floor(),
            FUnOp::Ceil => a.ceil(),
            FUnOp::Trunc => a.trunc(),
            FUnOp::Round => a.round(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            FUnOp::Neg => "fneg",
            FUnOp::Abs => "fabs",
            FUnOp::Sqrt => "sqrt",
            FUnOp::Floor => "floor",
            FUnOp::Ceil => "ceil",
            FUnOp::Trunc => "trunc",
            FUnOp::Round => "round",
        }
    }
}

/// `F64 → I64` as [`Inst::FToI`] does it: towards zero, saturating at `i64::MIN`/`i64::MAX`,
/// NaN → 0 (Rust's `as` cast).
pub fn f64_to_i64(a: f64) -> i64 {
    a as i64
}

/// `I64 → F64` as [`Inst::IToF`] does it: the nearest float (ties to even).
pub fn i64_to_f64(a: i64) -> f64 {
    a as f64
}

/// The byte offset [`Inst::ByteAt`] reads, or `None` when out of bounds.
///
/// A negative index counts from the end (Python's `b[-1]` is the last byte): `index < 0` →
/// `index + len`. The (adjusted) index must then be in `0..len`.
pub fn byte_index(len: i64, index: i64) -> Option<i64> {
    let len = len.max(0);
    let i = if index < 0 {
        index.checked_add(len)?
    } else {
        index
    };
    (0..len).contains(&i).then_some(i)
}

/// The `(start, new_len)` of [`Inst::Slice`]: Python's `b[lo:hi]`.
///
/// Each bound is adjusted as Python does: negative → `+ len`, then clamped to `0..=len`;
/// `hi < lo` gives an empty slice at `lo`. The result is `(lo', max(hi' - lo', 0))`; the new
/// pointer is `ptr + lo'`. A missing bound is written by the lowering as `lo = 0` and
/// `hi = i64::MAX`.
pub fn slice_bounds(len: i64, lo: i64, hi: i64) -> (i64, i64) {
    let len = len.max(0);
    let adjust = |b: i64| -> i64 {
        if b < 0 {
            b.saturating_add(len).max(0)
        } else {
            b.min(len)
        }
    };
    let (lo, hi) = (adjust(lo), adjust(hi));
    (lo, (hi - lo).max(0))
}

/// An `extern "C"` runtime helper (see `crate::runtime`).
///
/// Pointer arguments are `I64`. "Slot address" arguments are `state_ptr + 8 * slot`, made
/// by [`Inst::SlotAddr`]; the helper owns the heap object whose pointer that slot holds (0
/// until the first push; freed by `Kernel::drop_state`). "Data" arguments come from
/// [`Inst::DataAddr`]. A `pred` argument of 0 makes a push do nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Helper {
    /// `(set: data, ptr, len) -> I64`: runs a multi-pattern byte-regex set over the bytes
    /// `ptr[0..len]` (Python `re.search` semantics, `^` at the start of the bytes) and returns
    /// a bitmask with bit `i` set when pattern `i` of the set matches somewhere. `len <= 0` is
    /// the empty input.
    RegexSet,
    /// `(slot_addr, value: F64, pred, keep) -> ()`: appends `value` to the flow's value list
    /// when `pred != 0` (exact median / percentiles). `keep` (`crate::runtime::values_keep`,
    /// read when the list is made) says what the list keeps from its values in push order
    /// before it is first sorted: the moments of [`Helper::ValuesMoment`], the mode of
    /// [`Helper::ValuesMode`].
    ValuesPush,
    /// `(slot_addr, p: F64) -> F64`: the `p`-th percentile (0..=100) of the list with numpy's
    /// linear interpolation; NaN when the list is empty. Sorts the list in place.
    ValuesPercentile,
    /// `(slot_addr, which) -> F64`: of a [`Helper::ValuesPush`] list, in push order, the sum
    /// (`which` 0) or the sum of the squared deviations from the mean (otherwise), each by
    /// numpy's pairwise summation; 0 for an empty list. Kept in the list, so a later
    /// [`Helper::ValuesPercentile`] sort does not change them.
    ValuesMoment,
    /// `(slot_addr, value: F64, alpha: F64, pred) -> ()`: adds `value` to the flow's
    /// memory-bounded value buffer when `pred != 0` (`--percentiles sketch`,
    /// `crate::sketch`): exact up to `crate::sketch::EXACT_LIMIT` values, then a sketch
    /// with relative error `alpha` (a constant, read when the buffer is made).
    SketchPush,
    /// `(slot_addr, p: F64) -> F64`: the `p`-th percentile of a [`Helper::SketchPush`]
    /// buffer, numpy's linear interpolation between the estimated order statistics; NaN when
    /// nothing was pushed or a NaN was.
    SketchPercentile,
    /// `(slot_addr, w0, w1, pred) -> ()`: counts the value `(w0, w1)` (single-word values
    /// pass `w1 = 0`) when `pred != 0` (mode).
    ModePush,
    /// `(slot_addr, word) -> I64`: word `word` (0 or 1) of the most frequent value, the
    /// first seen among equals; 0 when nothing was pushed.
    ModeGet,
    /// `(slot_addr) -> I64`: how many times the most frequent value was pushed; 0 when
    /// nothing was (`mode_count`).
    ModeCount,
    /// `(slot_addr, ptr, len) -> I64`: parses the TLS records that `ptr[0..len]` starts
    /// with into the slot's TLS buffer (created when something is found) and returns the
    /// buffer's address, or 0 when the bytes hold no ClientHello, ServerHello, Certificate
    /// or ServerKeyExchange. Equal calls give equal results, so they may be merged.
    TlsParse,
    /// `(messages, field) -> I64`: an int field (bools 0/1, presence flags included) of the
    /// messages a [`Helper::TlsParse`] of this update returned; 0 for messages 0 or a
    /// missing message (field numbers: `crate::tls::TlsField::code`).
    TlsInt,
    /// `(messages, field, pool: data, strings_slot_addr) -> I64`: a string field, as the
    /// flow's canonical string id (`crate::flow_strings`); `""` for messages 0.
    TlsStr,
    /// `(pool: data, strings_slot_addr, id) -> I64`: the length in bytes of a string that
    /// may be a run-time string.
    StrLen,
    /// `(pool: data, strings_slot_addr, a, b) -> I64`: -1, 0 or 1 as string `a` sorts
    /// before, equal to or after `b` (bytewise).
    StrCmp,
    /// `(pool: data, strings_slot_addr, a, b) -> I64`: the canonical id of `a + b`, stored
    /// in the flow's strings when the pool lacks it.
    StrConcat,
    /// `(pool: data, strings_slot_addr, value) -> I64`: the canonical id of the decimal text
    /// of `value` (`str(x)`), stored in the flow's strings when the pool lacks it.
    StrInt,
    /// `(slot_addr, ptr, len, pred) -> ()`: adds the bytes `ptr[0..len]` to the flow's byte
    /// histogram when `pred != 0` (entropy).
    BytesPush,
    /// `(slot_addr) -> F64`: Shannon entropy in bits of every byte pushed; NaN when none.
    BytesEntropy,
    /// `(a: F64) -> F64`: natural logarithm (IEEE: `ln(0) = -inf`, NaN below 0).
    Ln,
    /// `(a: F64) -> F64`: base-2 logarithm.
    Log2,
    /// `(a: F64) -> F64`: `e^a`.
    Exp,
    /// `(a: F64, b: F64) -> F64`: `a^b` (Rust's `powf`).
    Pow,
    /// `(a: F64, b: F64) -> F64`: Python's float `%`: `fmod(a, b)`, plus `b` when the
    /// result is non-zero and its sign differs from `b`'s. NaN when `b == 0`.
    FRem,
    /// `(table: data, k0, k1) -> I64`: the index of the entry whose key range contains the
    /// key `(k0, k1)` (lexicographic, signed), or -1.
    TableFind,
    /// `(array: data, index) -> I64`: element `index` of a kernel-owned `i64` array, 0 when
    /// out of bounds.
    ArrayGet,
    /// `(edges: data, x: F64) -> I64`: numpy's histogram bin of `x` over the kernel-owned
    /// strictly increasing edges (`[e_i, e_{i+1})`, the last bin closed), -1 outside or NaN.
    HistBin,
    /// `(p1, l1, p2, l2) -> I64`: 1 if the two byte strings are equal, else 0.
    BytesEq,
    /// `(slot_addr, which) -> F64`: of a [`Helper::ValuesPush`] list made to keep its mode,
    /// the most frequent value, the first pushed among equally frequent ones (`which` 0), or
    /// how many times it was pushed (otherwise); 0 for an empty list. Kept in the list, so a
    /// later [`Helper::ValuesPercentile`] sort does not change it.
    ValuesMode,
}

impl Helper {
    /// Every helper.
    pub const ALL: &'static [Helper] = &[
        Helper::RegexSet,
        Helper::ValuesPush,
        Helper::ValuesPercentile,
        Helper::SketchPush,
        Helper::SketchPercentile,
        Helper::ModePush,
        Helper::ModeGet,
        Helper::ModeCount,
        Helper::TlsParse,
        Helper::TlsInt,
        Helper::TlsStr,
        Helper::StrLen,
        Helper::StrCmp,
        Helper::StrConcat,
        Helper::StrInt,
        Helper::BytesPush,
        Helper::BytesEntropy,
        Helper::Ln,
        Helper::Log2,
        Helper::Exp,
        Helper::Pow,
        Helper::FRem,
        Helper::TableFind,
        Helper::ArrayGet,
        Helper::HistBin,
        Helper::BytesEq,
        Helper::ValuesMoment,
        Helper::ValuesMode,
    ];

    /// The symbol name (as in `crate::runtime::helper_symbols`).
    pub fn name(self) -> &'static str {
        match self {
            Helper::RegexSet => "jjc_regex_set",
            Helper::ValuesPush => "jjc_values_push",
            Helper::ValuesPercentile => "jjc_values_percentile",
            Helper::ValuesMoment => "jjc_values_moment",
            Helper::ValuesMode => "jjc_values_mode",
            Helper::SketchPush => "jjc_sketch_push",
            Helper::SketchPercentile => "jjc_sketch_percentile",
            Helper::ModePush => "jjc_mode_push",
            Helper::ModeGet => "jjc_mode_get",
            Helper::ModeCount => "jjc_mode_count",
            Helper::TlsParse => "jjc_tls_parse",
            Helper::TlsInt => "jjc_tls_int",
            Helper::TlsStr => "jjc_tls_str",
            Helper::StrLen => "jjc_str_len",
            Helper::StrCmp => "jjc_str_cmp",
            Helper::StrConcat => "jjc_str_concat",
            Helper::StrInt => "jjc_str_int",
            Helper::BytesPush => "jjc_bytes_push",
            Helper::BytesEntropy => "jjc_bytes_entropy",
            Helper::Ln => "jjc_ln",
            Helper::Log2 => "jjc_log2",
            Helper::Exp => "jjc_exp",
            Helper::Pow => "jjc_pow",
            Helper::FRem => "jjc_frem",
            Helper::TableFind => "jjc_table_find",
            Helper::ArrayGet => "jjc_array_get",
            Helper::HistBin => "jjc_hist_bin",
            Helper::BytesEq => "jjc_bytes_eq",
        }
    }

    /// Parameter types and result type.
    pub fn signature(self) -> (&'static [MTy], Option<MTy>) {
        use MTy::{F64, I64};
        match self {
            Helper::RegexSet => (&[I64, I64, I64], Some(I64)),
            Helper::ValuesPush => (&[I64, F64, I64, I64], None),
            Helper::ValuesPercentile | Helper::SketchPercentile => (&[I64, F64], Some(F64)),
            Helper::ValuesMoment | Helper::ValuesMode => (&[I64, I64], Some(F64)),
            Helper::SketchPush => (&[I64, F64, F64, I64], None),
            Helper::ModePush => (&[I64, I64, I64, I64], None),
            Helper::ModeGet => (&[I64, I64], Some(I64)),
            Helper::BytesPush => (&[I64, I64, I64, I64], None),
            Helper::BytesEntropy => (&[I64], Some(F64)),
            Helper::ModeCount => (&[I64], Some(I64)),
            Helper::TlsParse | Helper::StrLen | Helper::StrInt => (&[I64, I64, I64], Some(I64)),
            Helper::TlsInt => (&[I64, I64], Some(I64)),
            Helper::TlsStr | Helper::StrCmp | Helper::StrConcat => {
                (&[I64, I64, I64, I64], Some(I64))
            }
            Helper::Ln | Helper::Log2 | Helper::Exp => (&[F64], Some(F64)),
            Helper::Pow | Helper::FRem => (&[F64, F64], Some(F64)),
            Helper::TableFind => (&[I64, I64, I64], Some(I64)),
            Helper::ArrayGet => (&[I64, I64], Some(I64)),
            Helper::HistBin => (&[I64, F64], Some(I64)),
            Helper::BytesEq => (&[I64, I64, I64, I64], Some(I64)),
        }
    }

    /// Whether the call has effects beyond its result (it writes a flow's buffer). Calls
    /// without effects may be removed when their result is unused, and merged when equal.
    pub fn has_effects(self) -> bool {
        matches!(
            self,
            Helper::ValuesPush | Helper::SketchPush | Helper::ModePush | Helper::BytesPush
        )
    }
}

/// One instruction. `dst`-like fields are the registers it defines.
#[derive(Debug, Clone, PartialEq)]
pub enum Inst {
    /// `dst: I64 = value`.
    IConst {
        /// Result.
        dst: Reg,
        /// The constant.
        value: i64,
    },
    /// `dst: F64 = value`.
    FConst {
        /// Result.
        dst: Reg,
        /// The constant (any bits, NaN included).
        value: f64,
    },
    /// `dst: I64 = addr`: the address of kernel-owned constant data block number `data`
    /// (a regex set, a table, an array, bytes). The address is valid while the kernel lives;
    /// `data` only names the block for readers of the IR.
    DataAddr {
        /// Result.
        dst: Reg,
        /// Which data block (for display).
        data: u32,
        /// Its address.
        addr: u64,
    },
    /// `dst = *(pkt + offset)` read as `load` (update only).
    LoadPkt {
        /// Result (type `load.ty()`).
        dst: Reg,
        /// Byte offset into `PacketView`.
        offset: u32,
        /// Width, signedness, byte order.
        load: Load,
    },
    /// `dst = *(flow + offset)` read as `load` (finish only).
    LoadFlow {
        /// Result (type `load.ty()`).
        dst: Reg,
        /// Byte offset into `FlowView`.
        offset: u32,
        /// Width, signedness, byte order.
        load: Load,
    },
    /// `dst = state[slot]` (bits reinterpreted as `dst`'s type).
    LoadState {
        /// Result.
        dst: Reg,
        /// Slot index.
        slot: u32,
    },
    /// `if pred.map_or(true, |p| p != 0) { state[slot] = value }` (bits of `value`).
    StoreState {
        /// Slot index.
        slot: u32,
        /// The value (I64 or F64).
        value: Reg,
        /// Store only when this `I64` register is non-zero.
        pred: Option<Reg>,
    },
    /// `dst = if 0 <= index < len { state[base + index] } else { 0 bits }`.
    LoadStateIndexed {
        /// Result.
        dst: Reg,
        /// First slot of the array.
        base: u32,
        /// Number of slots of the array.
        len: u32,
        /// `I64` index into the array.
        index: Reg,
    },
    /// `if pred != 0 && 0 <= index < len { state[base + index] = value }`.
    StoreStateIndexed {
        /// First slot of the array.
        base: u32,
        /// Number of slots of the array.
        len: u32,
        /// `I64` index into the array.
        index: Reg,
        /// The value (I64 or F64).
        value: Reg,
        /// Store only when this `I64` register is non-zero.
        pred: Option<Reg>,
    },
    /// `dst: I64 = state_ptr + 8 * slot` (for helpers that own a slot's buffer).
    SlotAddr {
        /// Result.
        dst: Reg,
        /// Slot index.
        slot: u32,
    },
    /// `dst: I64 = op(a, b)`.
    IBin {
        /// Result.
        dst: Reg,
        /// Operation.
        op: IBinOp,
        /// Left.
        a: Reg,
        /// Right.
        b: Reg,
    },
    /// `dst: F64 = op(a, b)`.
    FBin {
        /// Result.
        dst: Reg,
        /// Operation.
        op: FBinOp,
        /// Left.
        a: Reg,
        /// Right.
        b: Reg,
    },
    /// `dst: I64 = cc(a: I64, b: I64)` as 0/1.
    ICmp {
        /// Result.
        dst: Reg,
        /// Condition.
        cc: IntCC,
        /// Left.
        a: Reg,
        /// Right.
        b: Reg,
    },
    /// `dst: I64 = cc(a: F64, b: F64)` as 0/1.
    FCmp {
        /// Result.
        dst: Reg,
        /// Condition.
        cc: FloatCC,
        /// Left.
        a: Reg,
        /// Right.
        b: Reg,
    },
    /// `dst: I64 = op(a: I64)`.
    IUn {
        /// Result.
        dst: Reg,
        /// Operation.
        op: IUnOp,
        /// Operand.
        a: Reg,
    },
    /// `dst: F64 = op(a: F64)`.
    FUn {
        /// Result.
        dst: Reg,
        /// Operation.
        op: FUnOp,
        /// Operand.
        a: Reg,
    },
    /// `dst: F64 = a: I64` converted ([`i64_to_f64`]).
    IToF {
        /// Result.
        dst: Reg,
        /// Operand.
        a: Reg,
    },
    /// `dst: I64 = a: F64` converted ([`f64_to_i64`]: towards zero, saturating, NaN → 0).
    FToI {
        /// Result.
        dst: Reg,
        /// Operand.
        a: Reg,
    },
    /// `dst = a` with the same 64 bits and the other type (I64 ↔ F64).
    Bitcast {
        /// Result.
        dst: Reg,
        /// Operand.
        a: Reg,
    },
    /// `dst = if cond != 0 { a } else { b }` (`a`, `b`, `dst` of one type; `cond` I64).
    Select {
        /// Result.
        dst: Reg,
        /// Condition.
        cond: Reg,
        /// Value when the condition is non-zero.
        a: Reg,
        /// Value when it is zero.
        b: Reg,
    },
    /// Bounds-checked byte read: with `i = byte_index(len, index)`, `value = ptr[i]` and
    /// `in_bounds = 1` when `i` is `Some`, else `value = 0` and `in_bounds = 0`. The memory is
    /// read **only** in bounds. All `I64`.
    ByteAt {
        /// The byte (0..=255), or 0.
        value: Reg,
        /// 1 if the index was in bounds, else 0.
        in_bounds: Reg,
        /// Start of the bytes.
        ptr: Reg,
        /// Their length.
        len: Reg,
        /// The index (negative counts from the end).
        index: Reg,
    },
    /// Sub-slice without reading memory: `(start, n) = slice_bounds(len, lo, hi)`,
    /// `dst_ptr = ptr + start`, `dst_len = n`. All `I64`.
    Slice {
        /// Start of the result.
        dst_ptr: Reg,
        /// Length of the result.
        dst_len: Reg,
        /// Start of the bytes.
        ptr: Reg,
        /// Their length.
        len: Reg,
        /// Lower bound.
        lo: Reg,
        /// Upper bound (exclusive).
        hi: Reg,
    },
    /// `dst = helper(args…)`; `dst` is `Some` exactly when the helper returns a value. With a
    /// `guard` that holds 0, the helper is not called and `dst` is 0 (the fields of a TLS
    /// message that is not there: most packets skip those calls).
    Call {
        /// Which helper.
        helper: Helper,
        /// Arguments, typed as `helper.signature().0`.
        args: Vec<Reg>,
        /// Result, typed as `helper.signature().1`.
        dst: Option<Reg>,
        /// Calls only when this (an `i64`) is not 0.
        guard: Option<Reg>,
    },
    /// `out[cell] = bits of value` (finish only).
    Out {
        /// Output cell index.
        cell: u32,
        /// The value (I64 or F64).
        value: Reg,
    },
}

impl Inst {
    /// The registers this instruction defines.
    pub fn defs(&self) -> Vec<Reg> {
        match self {
            Inst::IConst { dst, .. }
            | Inst::FConst { dst, .. }
            | Inst::DataAddr { dst, .. }
            | Inst::LoadPkt { dst, .. }
            | Inst::LoadFlow { dst, .. }
            | Inst::LoadState { dst, .. }
            | Inst::LoadStateIndexed { dst, .. }
            | Inst::SlotAddr { dst, .. }
            | Inst::IBin { dst, .. }
            | Inst::FBin { dst, .. }
            | Inst::ICmp { dst, .. }
            | Inst::FCmp { dst, .. }
            | Inst::IUn { dst, .. }
            | Inst::FUn { dst, .. }
            | Inst::IToF { dst, .. }
            | Inst::FToI { dst, .. }
            | Inst::Bitcast { dst, .. }
            | Inst::Select { dst, .. } => vec![*dst],
            Inst::ByteAt {
                value, in_bounds, ..
            } => vec![*value, *in_bounds],
            Inst::Slice {
                dst_ptr, dst_len, ..
            } => vec![*dst_ptr, *dst_len],
            Inst::Call { dst, .. } => dst.iter().copied().collect(),
            Inst::StoreState { .. } | Inst::StoreStateIndexed { .. } | Inst::Out { .. } => {
                vec![]
            }
        }
    }

    /// The registers this instruction reads.
    pub fn uses(&self) -> Vec<Reg> {
        match self {
            Inst::IConst { .. }
            | Inst::FConst { .. }
            | Inst::DataAddr { .. }
            | Inst::LoadPkt { .. }
            | Inst::LoadFlow { .. }
            | Inst::LoadState { .. }
            | Inst::SlotAddr { .. } => vec![],
            Inst::StoreState { value, pred, .. } => {
                let mut v = vec![*value];
                v.extend(pred);
                v
            }
            Inst::LoadStateIndexed { index, .. } => vec![*index],
            Inst::StoreStateIndexed {
                index, value, pred, ..
            } => {
                let mut v = vec![*index, *value];
                v.extend(pred);
                v
            }
            Inst::IBin { a, b, .. }
            | Inst::FBin { a, b, .. }
            | Inst::ICmp { a, b, .. }
            | Inst::FCmp { a, b, .. } => vec![*a, *b],
            Inst::IUn { a, .. }
            | Inst::FUn { a, .. }
            | Inst::IToF { a, .. }
            | Inst::FToI { a, .. }
            | Inst::Bitcast { a, .. } => vec![*a],
            Inst::Select { cond, a, b, .. } => vec![*cond, *a, *b],
            Inst::ByteAt {
                ptr, len, index, ..
            } => vec![*ptr, *len, *index],
            Inst::Slice {
                ptr, len, lo, hi, ..
            } => vec![*ptr, *len, *lo, *hi],
            Inst::Call { args, guard, .. } => args.iter().chain(guard).copied().collect(),
            Inst::Out { value, .. } => vec![*value],
        }
    }

    /// Whether the instruction writes state or output (or calls a helper that does).
    pub fn has_effects(&self) -> bool {
        match self {
            Inst::StoreState { .. } | Inst::StoreStateIndexed { .. } | Inst::Out { .. } => true,
            Inst::Call { helper, .. } => helper.has_effects(),
            _ => false,
        }
    }
}

/// Why a [`Function`] is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("instruction {inst}: {message}")]
pub struct VerifyError {
    /// Index of the offending instruction.
    pub inst: usize,
    /// What is wrong.
    pub message: String,
}

/// The limits a function is verified against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Number of state slots.
    pub state_slots: usize,
    /// Number of output cells.
    pub out_cells: usize,
}

impl Function {
    /// Feeds `state` everything that native code compiled from this function depends on: its
    /// kind, its registers' types and its instructions. A data block counts by its number, not
    /// its address: compiled code reaches blocks through relocations, and their addresses
    /// change from run to run. Float constants count by their bits, every NaN alike, as value
    /// numbering compares them.
    pub fn hash_code<H: Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        self.regs.hash(state);
        self.insts.len().hash(state);
        for inst in &self.insts {
            hash_inst(inst, Addresses::Left, state);
        }
    }

    /// An empty function.
    pub fn new(kind: FunctionKind) -> Function {
        Function {
            kind,
            regs: Vec::new(),
            insts: Vec::new(),
        }
    }

    /// The type of a register.
    pub fn ty(&self, r: Reg) -> Option<MTy> {
        self.regs.get(r.index()).copied()
    }

    /// Checks that the function is well formed: every register defined once before its
    /// uses, with the right types; loads within `PacketView`/`FlowView` and allowed in this
    /// function; slots and cells within `limits`.
    pub fn verify(&self, limits: Limits) -> Result<(), VerifyError> {
        let mut defined = vec![false; self.regs.len()];
        for (i, inst) in self.insts.iter().enumerate() {
            let err = |message: String| VerifyError { inst: i, message };
            for u in inst.uses() {
                if !defined.get(u.index()).copied().unwrap_or(false) {
                    return Err(err(format!("{u} used before it is defined")));
                }
            }
            let ty = |r: Reg| self.ty(r);
            let want = |r: Reg, t: MTy| -> Result<(), VerifyError> {
                if ty(r) == Some(t) {
                    Ok(())
                } else {
                    Err(err(format!("{r} should be {t}")))
                }
            };
            let slot_ok = |s: u64| -> Result<(), VerifyError> {
                if (s as usize) < limits.state_slots {
                    Ok(())
                } else {
                    Err(err(format!("slot {s} out of range")))
                }
            };
            match inst {
                Inst::IConst { dst, .. } | Inst::DataAddr { dst, .. } => want(*dst, MTy::I64)?,
                Inst::FConst { dst, .. } => want(*dst, MTy::F64)?,
                Inst::LoadPkt { dst, offset, load } | Inst::LoadFlow { dst, offset, load } => {
                    let (size, allowed) = match inst {
                        Inst::LoadPkt { .. } => (
                            std::mem::size_of::<jjc_abi::PacketView<'static>>(),
                            self.kind == FunctionKind::Update,
                        ),
                        _ => (
                            std::mem::size_of::<jjc_abi::FlowView>(),
                            self.kind == FunctionKind::Finish,
                        ),
                    };
                    if !allowed {
                        return Err(err("load not allowed in this function".into()));
                    }
                    if *offset as usize + load.width() > size {
                        return Err(err(format!("load at {offset} out of bounds")));
                    }
                    want(*dst, load.ty())?;
                }
                Inst::LoadState { slot, .. } | Inst::StoreState { slot, .. } => {
                    slot_ok(u64::from(*slot))?;
                }
                Inst::SlotAddr { dst, slot } => {
                    slot_ok(u64::from(*slot))?;
                    want(*dst, MTy::I64)?;
                }
                Inst::LoadStateIndexed {
                    base, len, index, ..
                }
                | Inst::StoreStateIndexed {
                    base, len, index, ..
                } => {
                    if *len == 0 {
                        return Err(err("empty slot array".into()));
                    }
                    slot_ok(u64::from(*base) + u64::from(*len) - 1)?;
                    want(*index, MTy::I64)?;
                }
                Inst::IBin { dst, a, b, .. } => {
                    want(*dst, MTy::I64)?;
                    want(*a, MTy::I64)?;
                    want(*b, MTy::I64)?;
                }
                Inst::FBin { dst, a, b, .. } => {
                    want(*dst, MTy::F64)?;
                    want(*a, MTy::F64)?;
                    want(*b, MTy::F64)?;
                }
                Inst::ICmp { dst, a, b, .. } => {
                    want(*dst, MTy::I64)?;
                    want(*a, MTy::I64)?;
                    want(*b, MTy::I64)?;
                }
                Inst::FCmp { dst, a, b, .. } => {
                    want(*dst, MTy::I64)?;
                    want(*a, MTy::F64)?;
                    want(*b, MTy::F64)?;
                }
                Inst::IUn { dst, a, .. } | Inst::FToI { dst, a } => {
                    want(*dst, MTy::I64)?;
                    want(
                        *a,
                        if matches!(inst, Inst::FToI { .. }) {
                            MTy::F64
                        } else {
                            MTy::I64
                        },
                    )?;
                }
                Inst::FUn { dst, a, .. } => {
                    want(*dst, MTy::F64)?;
                    want(*a, MTy::F64)?;
                }
                Inst::IToF { dst, a } => {
                    want(*dst, MTy::F64)?;
                    want(*a, MTy::I64)?;
                }
                Inst::Bitcast { dst, a } => {
                    if ty(*dst) == ty(*a) {
                        return Err(err("bitcast to the same type".into()));
                    }
                }
                Inst::Select { dst, cond, a, b } => {
                    want(*cond, MTy::I64)?;
                    let t = ty(*dst).ok_or_else(|| err("unknown register".into()))?;
                    want(*a, t)?;
                    want(*b, t)?;
                }
                Inst::ByteAt { .. } | Inst::Slice { .. } => {
                    for r in inst.defs().into_iter().chain(inst.uses()) {
                        want(r, MTy::I64)?;
                    }
                }
                Inst::Call {
                    helper,
                    args,
                    dst,
                    guard,
                } => {
                    if let Some(g) = guard {
                        want(*g, MTy::I64)?;
                    }
                    let (params, ret) = helper.signature();
                    if params.len() != args.len() {
                        return Err(err(format!(
                            "{} takes {} arguments",
                            helper.name(),
                            params.len()
                        )));
                    }
                    for (a, t) in args.iter().zip(params) {
                        want(*a, *t)?;
                    }
                    match (dst, ret) {
                        (None, None) => {}
                        (Some(d), Some(t)) => want(*d, t)?,
                        _ => return Err(err("call result does not match the helper".into())),
                    }
                }
                Inst::Out { cell, .. } => {
                    if self.kind != FunctionKind::Finish {
                        return Err(err("out in update".into()));
                    }
                    if *cell as usize >= limits.out_cells {
                        return Err(err(format!("cell {cell} out of range")));
                    }
                }
            }
            for d in inst.defs() {
                match defined.get_mut(d.index()) {
                    Some(slot) if !*slot => *slot = true,
                    Some(_) => return Err(err(format!("{d} defined twice"))),
                    None => return Err(err(format!("{d} has no type"))),
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for Inst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pred = |p: &Option<Reg>| p.map(|p| format!(" if {p}")).unwrap_or_default();
        match self {
            Inst::IConst { dst, value } => write!(f, "{dst} = iconst {value}"),
            Inst::FConst { dst, value } => write!(f, "{dst} = fconst {value:?}"),
            Inst::DataAddr { dst, data, .. } => write!(f, "{dst} = data d{data}"),
            Inst::LoadPkt { dst, offset, load } => {
                write!(f, "{dst} = load.{} pkt+{offset}", load.name())
            }
            Inst::LoadFlow { dst, offset, load } => {
                write!(f, "{dst} = load.{} flow+{offset}", load.name())
            }
            Inst::LoadState { dst, slot } => write!(f, "{dst} = state[{slot}]"),
            Inst::StoreState {
                slot,
                value,
                pred: p,
            } => {
                write!(f, "state[{slot}] = {value}{}", pred(p))
            }
            Inst::LoadStateIndexed {
                dst,
                base,
                len,
                index,
            } => write!(f, "{dst} = state[{base}..+{len}][{index}]"),
            Inst::StoreStateIndexed {
                base,
                len,
                index,
                value,
                pred: p,
            } => write!(f, "state[{base}..+{len}][{index}] = {value}{}", pred(p)),
            Inst::SlotAddr { dst, slot } => write!(f, "{dst} = &state[{slot}]"),
            Inst::IBin { dst, op, a, b } => write!(f, "{dst} = {} {a}, {b}", op.name()),
            Inst::FBin { dst, op, a, b } => write!(f, "{dst} = {} {a}, {b}", op.name()),
            Inst::ICmp { dst, cc, a, b } => write!(f, "{dst} = icmp.{} {a}, {b}", cc.name()),
            Inst::FCmp { dst, cc, a, b } => write!(f, "{dst} = {} {a}, {b}", cc.name()),
            Inst::IUn { dst, op, a } => write!(f, "{dst} = {} {a}", op.name()),
            Inst::FUn { dst, op, a } => write!(f, "{dst} = {} {a}", op.name()),
            Inst::IToF { dst, a } => write!(f, "{dst} = itof {a}"),
            Inst::FToI { dst, a } => write!(f, "{dst} = ftoi {a}"),
            Inst::Bitcast { dst, a } => write!(f, "{dst} = bitcast {a}"),
            Inst::Select { dst, cond, a, b } => write!(f, "{dst} = select {cond}, {a}, {b}"),
            Inst::ByteAt {
                value,
                in_bounds,
                ptr,
                len,
                index,
            } => write!(f, "{value}, {in_bounds} = byte_at ({ptr}, {len}), {index}"),
            Inst::Slice {
                dst_ptr,
                dst_len,
                ptr,
                len,
                lo,
                hi,
            } => write!(f, "{dst_ptr}, {dst_len} = slice ({ptr}, {len}), {lo}, {hi}"),
            Inst::Call {
                helper,
                args,
                dst,
                guard,
            } => {
                if let Some(d) = dst {
                    write!(f, "{d} = ")?;
                }
                write!(f, "call {}(", helper.name())?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")?;
                match guard {
                    Some(g) => write!(f, " if {g}"),
                    None => Ok(()),
                }
            }
            Inst::Out { cell, value } => write!(f, "out[{cell}] = {value}"),
        }
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.kind {
            FunctionKind::Update => "update(state, pkt)",
            FunctionKind::Finish => "finish(state, flow, out)",
        };
        writeln!(f, "fn {name} {{")?;
        for inst in &self.insts {
            let defs = inst.defs();
            let types: Vec<String> = defs
                .iter()
                .filter_map(|d| self.ty(*d).map(|t| t.to_string()))
                .collect();
            if types.is_empty() {
                writeln!(f, "    {inst}")?;
            } else {
                writeln!(f, "    {inst}    ; {}", types.join(", "))?;
            }
        }
        writeln!(f, "}}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_division_is_floor_division_and_total() {
        assert_eq!(IBinOp::Div.eval(7, 2), 3);
        assert_eq!(IBinOp::Div.eval(-7, 2), -4);
        assert_eq!(IBinOp::Div.eval(7, -2), -4);
        assert_eq!(IBinOp::Div.eval(-7, -2), 3);
        assert_eq!(IBinOp::Rem.eval(-7, 2), 1);
        assert_eq!(IBinOp::Rem.eval(7, -2), -1);
        assert_eq!(IBinOp::Rem.eval(-7, -2), -1);
        assert_eq!(IBinOp::Div.eval(5, 0), 0);
        assert_eq!(IBinOp::Rem.eval(5, 0), 0);
        assert_eq!(IBinOp::Div.eval(i64::MIN, -1), 0);
        assert_eq!(IBinOp::Rem.eval(i64::MIN, -1), 0);
        assert_eq!(IBinOp::Add.eval(i64::MAX, 1), i64::MIN);
    }

    #[test]
    fn shifts_are_total() {
        assert_eq!(IBinOp::Shl.eval(1, 3), 8);
        assert_eq!(IBinOp::Shl.eval(1, 64), 0);
        assert_eq!(IBinOp::Shl.eval(1, -1), 0);
        assert_eq!(IBinOp::Shr.eval(-8, 1), -4);
        assert_eq!(IBinOp::Shr.eval(-8, 100), -1);
        assert_eq!(IBinOp::Shr.eval(8, 100), 0);
        assert_eq!(IBinOp::Shr.eval(8, -3), 0);
    }

    #[test]
    fn float_ops_follow_ieee_and_python() {
        assert_eq!(FloatCC::Eq.eval(f64::NAN, f64::NAN), 0);
        assert_eq!(FloatCC::Ne.eval(f64::NAN, 1.0), 1);
        assert_eq!(FloatCC::Lt.eval(f64::NAN, 1.0), 0);
        assert_eq!(FloatCC::Eq.eval(-0.0, 0.0), 1);
        assert_eq!(FBinOp::Min.eval(1.0, f64::NAN), 1.0);
        assert!(FBinOp::Min.eval(f64::NAN, 1.0).is_nan());
        assert_eq!(FBinOp::Max.eval(1.0, 2.0), 2.0);
        assert_eq!(FUnOp::Round.eval(2.5), 3.0);
        assert_eq!(FUnOp::Round.eval(-2.5), -3.0);
        assert_eq!(f64_to_i64(f64::NAN), 0);
        assert_eq!(f64_to_i64(1e300), i64::MAX);
        assert_eq!(f64_to_i64(-1e300), i64::MIN);
        assert_eq!(f64_to_i64(-2.9), -2);
    }

    #[test]
    fn byte_indexes_and_slices_follow_python() {
        assert_eq!(byte_index(4, 0), Some(0));
        assert_eq!(byte_index(4, 3), Some(3));
        assert_eq!(byte_index(4, 4), None);
        assert_eq!(byte_index(4, -1), Some(3));
        assert_eq!(byte_index(4, -4), Some(0));
        assert_eq!(byte_index(4, -5), None);
        assert_eq!(byte_index(0, 0), None);
        assert_eq!(byte_index(4, i64::MIN), None);
        assert_eq!(slice_bounds(10, 0, i64::MAX), (0, 10));
        assert_eq!(slice_bounds(10, 0, 100), (0, 10));
        assert_eq!(slice_bounds(10, 2, 5), (2, 3));
        assert_eq!(slice_bounds(10, -3, i64::MAX), (7, 3));
        assert_eq!(slice_bounds(10, 5, 2), (5, 0));
        assert_eq!(slice_bounds(10, -100, -8), (0, 2));
        assert_eq!(slice_bounds(10, 20, 30), (10, 0));
        assert_eq!(slice_bounds(10, i64::MIN, i64::MIN), (0, 0));
    }

    #[test]
    fn verify_catches_use_before_definition_and_bad_types() {
        let mut f = Function::new(FunctionKind::Update);
        f.regs = vec![MTy::I64, MTy::F64];
        f.insts = vec![
            Inst::IConst {
                dst: Reg(0),
                value: 1,
            },
            Inst::IBin {
                dst: Reg(0),
                op: IBinOp::Add,
                a: Reg(0),
                b: Reg(1),
            },
        ];
        let limits = Limits {
            state_slots: 0,
            out_cells: 0,
        };
        assert!(f.verify(limits).is_err());
        f.insts.truncate(1);
        assert_eq!(f.verify(limits), Ok(()));
        f.insts.push(Inst::Out {
            cell: 0,
            value: Reg(0),
        });
        assert!(f.verify(limits).is_err());
    }
}
