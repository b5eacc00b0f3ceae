//! A compact binary form of a compiled [`Kernel`], so that a later run of the same features
//! can skip checking and lowering them (the driver keeps these in the kernel cache).
//!
//! The form is private to one build of jjc: [`decode`] reads what [`encode`] of the same
//! build wrote (the cache key names the build). Its integers, floats, strings and lists are
//! [`jjc_syntax::binary`]'s, field-less enums their discriminant. Data blocks are stored as
//! what builds them (a regex set as its patterns, the string pool not at all: it is the
//! kernel's strings), rebuilt on decoding, and the `DataAddr` instructions patched with the
//! new blocks' addresses.
//!
//! Decoding checks everything it reads: malformed bytes give `None`, never a panic, and the
//! decoded functions must pass [`Function::verify`] as lowering's did.

use jjc_abi::{Column, ColumnType};
use jjc_syntax::binary::{Decode, Encode, Reader, Writer};

use crate::flow_strings::StringPool;
use crate::ir::{
    FBinOp, FUnOp, FloatCC, Function, FunctionKind, Helper, IBinOp, IUnOp, Inst, IntCC, Limits,
    Load, MTy, Reg,
};
use crate::kernel::{DataBlock, Kernel, Slot, SlotKind, buffer_slots};
use crate::runtime::{ArrayData, BufferKind, EdgesData, RegexSetData, TableData};

/// The bytes of `kernel`.
pub fn encode(kernel: &Kernel) -> Vec<u8> {
    let mut w = Writer::default();
    w.length(kernel.columns.len());
    for column in &kernel.columns {
        put_column(column, &mut w);
    }
    kernel.column_cells.put(&mut w);
    kernel.out_cells.put(&mut w);
    kernel.slots.put(&mut w);
    kernel.strings.put(&mut w);
    w.u64(kernel.data.len() as u64);
    for block in &kernel.data {
        put_block(block, &mut w);
    }
    kernel.update.put(&mut w);
    kernel.finish.put(&mut w);
    w.0
}

/// The kernel [`encode`] wrote; `None` if `bytes` are not exactly such a kernel.
pub fn decode(bytes: &[u8]) -> Option<Kernel> {
    let mut r = Reader::new(bytes, ());
    let n = r.length()?;
    let columns = (0..n)
        .map(|_| get_column(&mut r))
        .collect::<Option<Vec<_>>>()?;
    let column_cells = Vec::<u32>::get(&mut r)?;
    let out_cells = usize::get(&mut r)?;
    let slots = Vec::<Slot>::get(&mut r)?;
    let strings = Vec::<String>::get(&mut r)?;
    let n = r.length()?;
    let specs = (0..n)
        .map(|_| DataSpec::get(&mut r))
        .collect::<Option<Vec<_>>>()?;
    let mut update = Function::get(&mut r)?;
    let mut finish = Function::get(&mut r)?;
    if !r.is_at_end()
        || column_cells.len() != columns.len()
        || update.kind != FunctionKind::Update
        || finish.kind != FunctionKind::Finish
    {
        return None;
    }
    let data: Vec<DataBlock> = specs
        .into_iter()
        .map(|spec| spec.build(&strings))
        .collect::<Option<_>>()?;
    let addrs: Vec<u64> = data.iter().map(DataBlock::addr).collect();
    for f in [&mut update, &mut finish] {
        for inst in &mut f.insts {
            if let Inst::DataAddr { data, addr, .. } = inst {
                *addr = *addrs.get(*data as usize)?;
            }
        }
    }
    let limits = Limits {
        state_slots: slots.len(),
        out_cells,
    };
    update.verify(limits).ok()?;
    finish.verify(limits).ok()?;
    Some(Kernel {
        columns,
        column_cells,
        out_cells,
        init: slots.iter().map(|s| s.init).collect(),
        buffers: buffer_slots(&slots),
        slots,
        strings,
        data,
        update,
        finish,
    })
}

impl Encode for Reg {
    fn put(&self, w: &mut Writer) {
        self.0.put(w);
    }
}

impl Decode for Reg {
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        Some(Reg(u32::get(r)?))
    }
}

/// Field-less enums: written as their discriminant, read back through the list of their
/// variants (a variant missing from the list reads as malformed, never as another one).
macro_rules! variants {
    ($($ty:ident: [$($variant:ident),* $(,)?];)*) => {$(
        impl Encode for $ty {
            fn put(&self, w: &mut Writer) {
                w.tag(*self as u8);
            }
        }

        impl Decode for $ty {
            fn get(r: &mut Reader<'_>) -> Option<Self> {
                let code = r.tag()?;
                [$($ty::$variant),*]
                    .into_iter()
                    .find(|v| *v as u8 == code)
            }
        }
    )*};
}

variants! {
    MTy: [I64, F64];
    FunctionKind: [Update, Finish];
    Load: [U8, U16, U32, I64, F64, Ptr, U64Be];
    IBinOp: [Add, Sub, Mul, Div, Rem, And, Or, Xor, Shl, Shr];
    FBinOp: [Add, Sub, Mul, Div, Min, Max];
    IntCC: [Eq, Ne, Slt, Sle, Sgt, Sge, Ult, Ule, Ugt, Uge];
    FloatCC: [Eq, Ne, Lt, Le, Gt, Ge];
    IUnOp: [Neg, Abs, Not];
    FUnOp: [Neg, Abs, Sqrt, Floor, Ceil, Trunc, Round];
    BufferKind: [Values, Sketch, Mode, Bytes, Strings, Tls];
}

impl Encode for Helper {
    fn put(&self, w: &mut Writer) {
        let i = Helper::ALL.iter().position(|h| h == self);
        // Every helper is in `ALL`; one that were not would be written as an index no helper
        // has, which reads as malformed.
        w.tag(i.map_or(u8::MAX, |i| i as u8));
    }
}

impl Decode for Helper {
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        Helper::ALL.get(usize::from(r.tag()?)).copied()
    }
}

/// Writes a column: its name and type (a function, not [`Encode`]: both are `jjc-abi`'s).
fn put_column(column: &Column, w: &mut Writer) {
    column.name.put(w);
    w.tag(column.ty as u8);
}

/// A column [`put_column`] wrote.
fn get_column(r: &mut Reader<'_>) -> Option<Column> {
    let name = String::get(r)?;
    let code = r.tag()?;
    let ty = [
        ColumnType::Bool,
        ColumnType::Int,
        ColumnType::Float,
        ColumnType::Str,
        ColumnType::Ip,
    ]
    .into_iter()
    .find(|t| *t as u8 == code)?;
    Some(Column::new(name, ty))
}

impl Encode for Slot {
    fn put(&self, w: &mut Writer) {
        self.name.put(w);
        self.init.put(w);
        match self.kind {
            SlotKind::Value(t) => {
                w.tag(0);
                t.put(w);
            }
            SlotKind::Buffer(b) => {
                w.tag(1);
                b.put(w);
            }
        }
    }
}

impl Decode for Slot {
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        let name = String::get(r)?;
        let init = u64::get(r)?;
        let kind = match r.tag()? {
            0 => SlotKind::Value(MTy::get(r)?),
            1 => SlotKind::Buffer(BufferKind::get(r)?),
            _ => return None,
        };
        Some(Slot { name, init, kind })
    }
}

/// What a data block is built from.
enum DataSpec {
    Regex(Vec<String>),
    Table(Vec<[i64; 4]>),
    Array(Vec<i64>),
    Edges(Vec<f64>),
    Bytes(Vec<u8>),
    Strings,
}

impl DataSpec {
    /// The block, its string pool made of the kernel's `strings`.
    fn build(self, strings: &[String]) -> Option<DataBlock> {
        Some(match self {
            DataSpec::Regex(patterns) => {
                DataBlock::Regex(Box::new(RegexSetData::new(&patterns).ok()?))
            }
            DataSpec::Table(entries) => DataBlock::Table(Box::new(TableData::new(entries))),
            DataSpec::Array(values) => DataBlock::Array(Box::new(ArrayData { values })),
            DataSpec::Edges(edges) => DataBlock::Edges(Box::new(EdgesData { edges })),
            DataSpec::Bytes(bytes) => DataBlock::Bytes(bytes.into_boxed_slice()),
            DataSpec::Strings => DataBlock::Strings(Box::new(StringPool::new(strings))),
        })
    }
}

/// Writes `block` as the spec that builds it (read back by [`DataSpec::get`]).
fn put_block(block: &DataBlock, w: &mut Writer) {
    match block {
        DataBlock::Regex(set) => {
            w.tag(0);
            set.patterns().to_vec().put(w);
        }
        DataBlock::Table(table) => {
            w.tag(1);
            w.u64(table.entries().len() as u64);
            for entry in table.entries() {
                for v in entry {
                    v.put(w);
                }
            }
        }
        DataBlock::Array(array) => {
            w.tag(2);
            array.values.put(w);
        }
        DataBlock::Edges(edges) => {
            w.tag(3);
            edges.edges.put(w);
        }
        DataBlock::Bytes(bytes) => {
            w.tag(4);
            w.bytes(bytes);
        }
        DataBlock::Strings(_) => w.tag(5),
    }
}

impl DataSpec {
    /// A spec [`put_block`] wrote.
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        Some(match r.tag()? {
            0 => DataSpec::Regex(Vec::get(r)?),
            1 => {
                let n = r.length()?;
                let entries = (0..n)
                    .map(|_| Some([i64::get(r)?, i64::get(r)?, i64::get(r)?, i64::get(r)?]))
                    .collect::<Option<_>>()?;
                DataSpec::Table(entries)
            }
            2 => DataSpec::Array(Vec::get(r)?),
            3 => DataSpec::Edges(Vec::get(r)?),
            4 => DataSpec::Bytes(r.bytes()?.to_vec()),
            5 => DataSpec::Strings,
            _ => return None,
        })
    }
}

impl Encode for Function {
    fn put(&self, w: &mut Writer) {
        self.kind.put(w);
        self.regs.put(w);
        self.insts.put(w);
    }
}

impl Decode for Function {
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        let mut f = Function::new(FunctionKind::get(r)?);
        f.regs = Vec::get(r)?;
        f.insts = Vec::get(r)?;
        Some(f)
    }
}

impl Encode for Inst {
    fn put(&self, w: &mut Writer) {
        match self {
            Inst::IConst { dst, value } => {
                w.tag(0);
                dst.put(w);
                value.put(w);
            }
            Inst::FConst { dst, value } => {
                w.tag(1);
                dst.put(w);
                value.put(w);
            }
            // The address is the compiling run's; decoding patches in its own.
            Inst::DataAddr { dst, data, .. } => {
                w.tag(2);
                dst.put(w);
                data.put(w);
            }
            Inst::LoadPkt { dst, offset, load } => {
                w.tag(3);
                dst.put(w);
                offset.put(w);
                load.put(w);
            }
            Inst::LoadFlow { dst, offset, load } => {
                w.tag(4);
                dst.put(w);
                offset.put(w);
                load.put(w);
            }
            Inst::LoadState { dst, slot } => {
                w.tag(5);
                dst.put(w);
                slot.put(w);
            }
            Inst::StoreState { slot, value, pred } => {
                w.tag(6);
                slot.put(w);
                value.put(w);
                pred.put(w);
            }
            Inst::LoadStateIndexed {
                dst,
                base,
                len,
                index,
            } => {
                w.tag(7);
                dst.put(w);
                base.put(w);
                len.put(w);
                index.put(w);
            }
            Inst::StoreStateIndexed {
                base,
                len,
                index,
                value,
                pred,
            } => {
                w.tag(8);
                base.put(w);
                len.put(w);
                index.put(w);
                value.put(w);
                pred.put(w);
            }
            Inst::SlotAddr { dst, slot } => {
                w.tag(9);
                dst.put(w);
                slot.put(w);
            }
            Inst::IBin { dst, op, a, b } => {
                w.tag(10);
                dst.put(w);
                op.put(w);
                a.put(w);
                b.put(w);
            }
            Inst::FBin { dst, op, a, b } => {
                w.tag(11);
                dst.put(w);
                op.put(w);
                a.put(w);
                b.put(w);
            }
            Inst::ICmp { dst, cc, a, b } => {
                w.tag(12);
                dst.put(w);
                cc.put(w);
                a.put(w);
                b.put(w);
            }
            Inst::FCmp { dst, cc, a, b } => {
                w.tag(13);
                dst.put(w);
                cc.put(w);
                a.put(w);
                b.put(w);
            }
            Inst::IUn { dst, op, a } => {
                w.tag(14);
                dst.put(w);
                op.put(w);
                a.put(w);
            }
            Inst::FUn { dst, op, a } => {
                w.tag(15);
                dst.put(w);
                op.put(w);
                a.put(w);
            }
            Inst::IToF { dst, a } => {
                w.tag(16);
                dst.put(w);
                a.put(w);
            }
            Inst::FToI { dst, a } => {
                w.tag(17);
                dst.put(w);
                a.put(w);
            }
            Inst::Bitcast { dst, a } => {
                w.tag(18);
                dst.put(w);
                a.put(w);
            }
            Inst::Select { dst, cond, a, b } => {
                w.tag(19);
                dst.put(w);
                cond.put(w);
                a.put(w);
                b.put(w);
            }
            Inst::ByteAt {
                value,
                in_bounds,
                ptr,
                len,
                index,
            } => {
                w.tag(20);
                value.put(w);
                in_bounds.put(w);
                ptr.put(w);
                len.put(w);
                index.put(w);
            }
            Inst::Slice {
                dst_ptr,
                dst_len,
                ptr,
                len,
                lo,
                hi,
            } => {
                w.tag(21);
                dst_ptr.put(w);
                dst_len.put(w);
                ptr.put(w);
                len.put(w);
                lo.put(w);
                hi.put(w);
            }
            Inst::Call {
                helper,
                args,
                dst,
                guard,
            } => {
                w.tag(22);
                helper.put(w);
                args.put(w);
                dst.put(w);
                guard.put(w);
            }
            Inst::Out { cell, value } => {
                w.tag(23);
                cell.put(w);
                value.put(w);
            }
        }
    }
}

impl Decode for Inst {
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        let reg = |r: &mut Reader<'_>| Reg::get(r);
        Some(match r.tag()? {
            0 => Inst::IConst {
                dst: reg(r)?,
                value: i64::get(r)?,
            },
            1 => Inst::FConst {
                dst: reg(r)?,
                value: f64::get(r)?,
            },
            2 => Inst::DataAddr {
                dst: reg(r)?,
                data: u32::get(r)?,
                addr: 0,
            },
            3 => Inst::LoadPkt {
                dst: reg(r)?,
                offset: u32::get(r)?,
                load: Load::get(r)?,
            },
            4 => Inst::LoadFlow {
                dst: reg(r)?,
                offset: u32::get(r)?,
                load: Load::get(r)?,
            },
            5 => Inst::LoadState {
                dst: reg(r)?,
                slot: u32::get(r)?,
            },
            6 => Inst::StoreState {
                slot: u32::get(r)?,
                value: reg(r)?,
                pred: Option::get(r)?,
            },
            7 => Inst::LoadStateIndexed {
                dst: reg(r)?,
                base: u32::get(r)?,
                len: u32::get(r)?,
                index: reg(r)?,
            },
            8 => Inst::StoreStateIndexed {
                base: u32::get(r)?,
                len: u32::get(r)?,
                index: reg(r)?,
                value: reg(r)?,
                pred: Option::get(r)?,
            },
            9 => Inst::SlotAddr {
                dst: reg(r)?,
                slot: u32::get(r)?,
            },
            10 => Inst::IBin {
                dst: reg(r)?,
                op: IBinOp::get(r)?,
                a: reg(r)?,
                b: reg(r)?,
            },
            11 => Inst::FBin {
                dst: reg(r)?,
                op: FBinOp::get(r)?,
                a: reg(r)?,
                b: reg(r)?,
            },
            12 => Inst::ICmp {
                dst: reg(r)?,
                cc: IntCC::get(r)?,
                a: reg(r)?,
                b: reg(r)?,
            },
            13 => Inst::FCmp {
                dst: reg(r)?,
                cc: FloatCC::get(r)?,
                a: reg(r)?,
                b: reg(r)?,
            },
            14 => Inst::IUn {
                dst: reg(r)?,
                op: IUnOp::get(r)?,
                a: reg(r)?,
            },
            15 => Inst::FUn {
                dst: reg(r)?,
                op: FUnOp::get(r)?,
                a: reg(r)?,
            },
            16 => Inst::IToF {
                dst: reg(r)?,
                a: reg(r)?,
            },
            17 => Inst::FToI {
                dst: reg(r)?,
                a: reg(r)?,
            },
            18 => Inst::Bitcast {
                dst: reg(r)?,
                a: reg(r)?,
            },
            19 => Inst::Select {
                dst: reg(r)?,
                cond: reg(r)?,
                a: reg(r)?,
                b: reg(r)?,
            },
            20 => Inst::ByteAt {
                value: reg(r)?,
                in_bounds: reg(r)?,
                ptr: reg(r)?,
                len: reg(r)?,
                index: reg(r)?,
            },
            21 => Inst::Slice {
                dst_ptr: reg(r)?,
                dst_len: reg(r)?,
                ptr: reg(r)?,
                len: reg(r)?,
                lo: reg(r)?,
                hi: reg(r)?,
            },
            22 => Inst::Call {
                helper: Helper::get(r)?,
                args: Vec::get(r)?,
                dst: Option::get(r)?,
                guard: Option::get(r)?,
            },
            23 => Inst::Out {
                cell: u32::get(r)?,
                value: reg(r)?,
            },
            _ => return None,
        })
    }
}
