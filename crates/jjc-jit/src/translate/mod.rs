//! Lowering one kernel IR function to a Cranelift function.
//!
//! The kernel IR is straight-line SSA: every IR register becomes one Cranelift value, in
//! program order, and conditionals stay `select`s. The only blocks are those of guarded
//! calls and, in `update`, one branch on the packet's direction: the instructions that only
//! matter for one direction ([`regions`]) run after the others, in a block of their own.
//! Guarded calls that share a guard and follow one another (the TLS fields of a packet,
//! all guarded by its parse) share one block, and state loads that nothing writes over
//! before their last use are movable, so Cranelift places them where they are needed
//! ([`schedule`]).
//! Every operation keeps the exact, total semantics of its `eval` in `jjc_kernel::ir`
//! (guarded division, masked shifts, Python's `min`/`max`, saturating float → int), and
//! every payload byte is read only after its bounds check.

use std::collections::BTreeMap;

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::{Ieee64, Offset32};
use cranelift_codegen::ir::{
    self as clif, BlockArg, ExtFuncData, ExternalName, FuncRef, GlobalValue, GlobalValueData,
    InstBuilder, InstructionData, MemFlagsData, Opcode, Value, ValueDef, types,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::JITModule;
use cranelift_module::{DataId, FuncId, Module};
use jjc_kernel::ir as kir;

use crate::JitError;
use crate::target::{function_name, helper_signature, mty};

use regions::{DirectionSplit, Region};
use schedule::{GuardGroup, GuardedTail, Schedule, Step};

mod regions;
mod schedule;
#[cfg(test)]
mod test_asm;

/// How a function refers to the world outside it: runtime helpers and kernel-owned data.
pub(crate) enum Externals<'m> {
    /// Native code: helpers are the module's imported functions and data blocks its imported
    /// data objects, so the code refers to both through relocations (and can be kept in the
    /// kernel cache, then linked against another run's addresses).
    Module {
        /// The module the helpers and data blocks are declared in.
        module: &'m mut JITModule,
        /// The declared helpers.
        helpers: &'m BTreeMap<kir::Helper, FuncId>,
        /// The declared data blocks, by number.
        data: &'m BTreeMap<u32, DataId>,
    },
    /// Text for people: helpers and data blocks are named symbols (`%jjc_ln`, `%data0`), so
    /// the CLIF does not depend on where things are in memory.
    Named {
        /// The calling convention of the helpers.
        call_conv: CallConv,
    },
}

/// Lowers `src` into `func`, whose signature must already be the kernel signature of
/// `src.kind` (see [`crate::target::kernel_signature`]).
pub(crate) fn translate(
    src: &kir::Function,
    func: &mut clif::Function,
    fctx: &mut FunctionBuilderContext,
    externals: &mut Externals<'_>,
    config: TargetFrontendConfig,
) -> Result<(), JitError> {
    let mut b = FunctionBuilder::new(func, fctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    // The only block has no predecessors: it can be sealed at once.
    b.seal_block(entry);
    let params = b.block_params(entry).to_vec();
    let (Some(&state), Some(&view)) = (params.first(), params.get(1)) else {
        return Err(internal(
            src.kind,
            "kernel signature without state and view",
        ));
    };
    let mut t = Translator {
        b,
        src,
        values: vec![None; src.regs.len()],
        state,
        view,
        out: params.get(2).copied(),
        externals,
        helper_refs: BTreeMap::new(),
        data_refs: BTreeMap::new(),
    };
    let split = regions::split(src);
    let schedule = schedule::schedule(src, &split);
    t.emit(&schedule, Region::Common)?;
    t.direction_regions(&split, &schedule)?;
    t.b.ins().return_(&[]);
    t.b.finalize(config);
    Ok(())
}

fn internal(kind: kir::FunctionKind, what: &str) -> JitError {
    JitError::Codegen {
        function: function_name(kind),
        message: format!("internal lowering error: {what}"),
    }
}

/// Flags of state-slot and output-cell accesses: 8-byte aligned, always valid.
fn slot_flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// Flags of `PacketView`/`FlowView` field reads: valid, never written while a kernel runs
/// (so movable: Cranelift reads a field where its value is needed), aligned when the offset
/// is a multiple of the width (the structs are 8-byte aligned).
fn view_flags(offset: u32, width: usize) -> MemFlagsData {
    let flags = MemFlagsData::new()
        .with_notrap()
        .with_readonly()
        .with_can_move();
    if width > 0 && (offset as usize).is_multiple_of(width) {
        flags.with_aligned()
    } else {
        flags
    }
}

/// Flags of payload byte reads: valid once bounds-checked; the bytes are never written.
fn byte_flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap().with_readonly()
}

/// The byte offset of slot or cell `index` (8 bytes each), if it fits Cranelift's offsets.
fn slot_offset(kind: kir::FunctionKind, index: u32) -> Result<i32, JitError> {
    i32::try_from(u64::from(index) * 8)
        .map_err(|_| JitError::TooLarge(format!("{}: slot {index}", function_name(kind))))
}

/// The lowering state of one function.
struct Translator<'a, 'f, 'm> {
    /// Builds the Cranelift function.
    b: FunctionBuilder<'f>,
    /// The IR function being lowered.
    src: &'a kir::Function,
    /// The Cranelift value of every IR register defined so far.
    values: Vec<Option<Value>>,
    /// The `state` parameter.
    state: Value,
    /// The `pkt` (update) or `flow` (finish) parameter: always a valid pointer, which also
    /// serves as the harmless address an out-of-bounds byte read is redirected to.
    view: Value,
    /// The `out` parameter (finish only).
    out: Option<Value>,
    /// Helpers and data.
    externals: &'a mut Externals<'m>,
    /// Helpers imported into this function so far.
    helper_refs: BTreeMap<kir::Helper, FuncRef>,
    /// Data symbols imported into this function so far.
    data_refs: BTreeMap<u32, GlobalValue>,
}

impl Translator<'_, '_, '_> {
    fn kind(&self) -> kir::FunctionKind {
        self.src.kind
    }

    fn get(&self, r: kir::Reg) -> Result<Value, JitError> {
        self.values
            .get(r.index())
            .copied()
            .flatten()
            .ok_or_else(|| internal(self.kind(), &format!("{r} used before it is defined")))
    }

    fn def(&mut self, r: kir::Reg, v: Value) -> Result<(), JitError> {
        match self.values.get_mut(r.index()) {
            Some(slot) => {
                *slot = Some(v);
                Ok(())
            }
            None => Err(internal(self.kind(), &format!("{r} has no type"))),
        }
    }

    fn reg_type(&self, r: kir::Reg) -> Result<types::Type, JitError> {
        self.src
            .ty(r)
            .map(mty)
            .ok_or_else(|| internal(self.kind(), &format!("{r} has no type")))
    }

    fn iconst(&mut self, v: i64) -> Value {
        self.b.ins().iconst(types::I64, v)
    }

    /// An I8 truth value widened to the IR's I64 0/1.
    fn bool_to_i64(&mut self, c: Value) -> Value {
        self.b.ins().uextend(types::I64, c)
    }

    /// The all-zero-bits value of a type (0 or +0.0).
    fn zero(&mut self, ty: types::Type) -> Value {
        if ty == types::F64 {
            self.b.ins().f64const(Ieee64::with_bits(0))
        } else {
            self.iconst(0)
        }
    }

    /// Runs the instructions of the direction regions: after the common instructions, a
    /// branch on `pkt.dir` into the region of that direction (each in program order; a
    /// direction byte that is neither runs neither), then all join. In a region, the
    /// direction byte and its tests are the constants they are there. Nothing is emitted
    /// when every instruction is common.
    fn direction_regions(
        &mut self,
        split: &DirectionSplit,
        schedule: &Schedule,
    ) -> Result<(), JitError> {
        let has = |want: Region| split.regions.contains(&want);
        if !has(Region::Fwd) && !has(Region::Bwd) {
            return Ok(());
        }
        let dir = self.load_field(jjc_abi::kernel::packet_offsets::DIR as u32, kir::Load::U8);
        let join = self.b.create_block();
        let fwd = has(Region::Fwd).then(|| self.b.create_block());
        let bwd = has(Region::Bwd).then(|| self.b.create_block());
        if let Some(fwd) = fwd {
            let is_fwd = self
                .b
                .ins()
                .icmp_imm_s(IntCC::Equal, dir, jjc_abi::Direction::Fwd as i64);
            let other = if bwd.is_some() {
                self.b.create_block()
            } else {
                join
            };
            self.b.ins().brif(is_fwd, fwd, &[], other, &[]);
            if other != join {
                self.b.switch_to_block(other);
                self.b.seal_block(other);
            }
        }
        if let Some(bwd) = bwd {
            let is_bwd = self
                .b
                .ins()
                .icmp_imm_s(IntCC::Equal, dir, jjc_abi::Direction::Bwd as i64);
            self.b.ins().brif(is_bwd, bwd, &[], join, &[]);
        }
        let src = self.src;
        for (block, region) in [(fwd, Region::Fwd), (bwd, Region::Bwd)] {
            let Some(block) = block else {
                continue;
            };
            self.b.switch_to_block(block);
            self.b.seal_block(block);
            // The tests' common values, replaced by their constants while the region runs.
            let mut saved = Vec::with_capacity(split.tests.len());
            for &(r, test) in &split.tests {
                let known = self.iconst(test.value_in(region));
                if let Some(v) = self.values.get_mut(r.index()) {
                    saved.push((r, v.replace(known)));
                }
            }
            self.emit(schedule, region)?;
            self.b.ins().jump(join, &[]);
            // The region's values exist only in its block.
            let insts = src
                .insts
                .iter()
                .zip(&split.regions)
                .filter(|(_, r)| **r == region);
            for r in insts.flat_map(|(inst, _)| inst.defs()) {
                if let Some(v) = self.values.get_mut(r.index()) {
                    *v = None;
                }
            }
            for (r, old) in saved {
                if let Some(v) = self.values.get_mut(r.index()) {
                    *v = old;
                }
            }
        }
        self.b.switch_to_block(join);
        self.b.seal_block(join);
        Ok(())
    }

    /// Emits the steps of `region`.
    fn emit(&mut self, schedule: &Schedule, region: Region) -> Result<(), JitError> {
        for step in schedule.steps(region) {
            match step {
                Step::One(i) => self.emit_one(schedule, *i)?,
                Step::Group(group) => self.guarded_calls(group)?,
                Step::Tail(tail) => self.guarded_tail(schedule, tail)?,
            }
        }
        Ok(())
    }

    /// Emits instruction `i` (a state load as movable when the schedule says it may be).
    fn emit_one(&mut self, schedule: &Schedule, i: usize) -> Result<(), JitError> {
        let inst = self
            .src
            .insts
            .get(i)
            .ok_or_else(|| internal(self.kind(), "a step past the instructions"))?;
        if let kir::Inst::LoadState { dst, slot } = *inst
            && schedule.is_movable_load(i)
        {
            let ty = self.reg_type(dst)?;
            let off = slot_offset(self.kind(), slot)?;
            let flags = slot_flags().with_readonly().with_can_move();
            let v = self.b.ins().load(ty, flags, self.state, off);
            self.def(dst, v)
        } else {
            self.inst(inst)
        }
    }

    /// Emits a region's guarded tail: its instructions in a block taken when the guard is
    /// not 0. Their values exist only in that block (nothing after it uses them).
    fn guarded_tail(&mut self, schedule: &Schedule, tail: &GuardedTail) -> Result<(), JitError> {
        let g = self.get(tail.guard)?;
        let run = self.b.create_block();
        let join = self.b.create_block();
        self.b.ins().brif(g, run, &[], join, &[]);
        self.b.switch_to_block(run);
        self.b.seal_block(run);
        for &i in &tail.insts {
            self.emit_one(schedule, i)?;
        }
        self.b.ins().jump(join, &[]);
        self.b.switch_to_block(join);
        self.b.seal_block(join);
        let src = self.src;
        for r in tail
            .insts
            .iter()
            .filter_map(|&i| src.insts.get(i))
            .flat_map(kir::Inst::defs)
        {
            if let Some(v) = self.values.get_mut(r.index()) {
                *v = None;
            }
        }
        Ok(())
    }

    /// Emits a group of guarded calls: the independent instructions, one test of the guard,
    /// a block with every call, the join (each result 0 when skipped, as a block parameter),
    /// then the instructions that use the results.
    fn guarded_calls(&mut self, group: &GuardGroup) -> Result<(), JitError> {
        let src = self.src;
        let insts = |list: &[usize]| -> Vec<&kir::Inst> {
            list.iter().filter_map(|&i| src.insts.get(i)).collect()
        };
        for inst in insts(&group.before) {
            self.inst(inst)?;
        }
        let g = self.get(group.guard)?;
        let mut calls = Vec::with_capacity(group.calls.len());
        for inst in insts(&group.calls) {
            let kir::Inst::Call {
                helper,
                ref args,
                dst,
                ..
            } = *inst
            else {
                return Err(internal(self.kind(), "a guard group holds a non-call"));
            };
            let args = args
                .iter()
                .map(|a| self.get(*a))
                .collect::<Result<Vec<_>, _>>()?;
            calls.push((helper, args, dst));
        }
        let call_block = self.b.create_block();
        let after = self.b.create_block();
        // A skipped call's result is all zero bits, of the helper's type.
        let mut skipped = Vec::new();
        let mut results = Vec::new();
        for (helper, _, dst) in &calls {
            if let (Some(d), Some(t)) = (dst, helper.signature().1) {
                let param = self.b.append_block_param(after, mty(t));
                results.push((*d, param));
                skipped.push(BlockArg::Value(self.zero(mty(t))));
            }
        }
        self.b.ins().brif(g, call_block, &[], after, &skipped);
        self.b.switch_to_block(call_block);
        self.b.seal_block(call_block);
        let mut taken = Vec::with_capacity(results.len());
        for (helper, args, dst) in calls {
            let fref = self.helper_ref(helper)?;
            let call = self.b.ins().call(fref, &args);
            if dst.is_some() && helper.signature().1.is_some() {
                let v = self.b.inst_results(call).first().copied().ok_or_else(|| {
                    internal(self.kind(), &format!("{} returns nothing", helper.name()))
                })?;
                taken.push(BlockArg::Value(v));
            }
        }
        self.b.ins().jump(after, &taken);
        self.b.switch_to_block(after);
        self.b.seal_block(after);
        for (d, param) in results {
            self.def(d, param)?;
        }
        for inst in insts(&group.after) {
            self.inst(inst)?;
        }
        Ok(())
    }

    /// The value of `v` when it is an integer constant.
    fn known_const(&self, v: Value) -> Option<i64> {
        let dfg = &self.b.func.dfg;
        match dfg.value_def(v) {
            ValueDef::Result(inst, 0) => match dfg.insts[inst] {
                InstructionData::UnaryImm {
                    opcode: Opcode::Iconst,
                    imm,
                } => Some(imm.bits()),
                _ => None,
            },
            _ => None,
        }
    }

    fn out_ptr(&self) -> Result<Value, JitError> {
        self.out
            .ok_or_else(|| internal(self.kind(), "out used outside finish"))
    }

    fn inst(&mut self, inst: &kir::Inst) -> Result<(), JitError> {
        use kir::Inst as I;
        match *inst {
            I::IConst { dst, value } => {
                let v = self.iconst(value);
                self.def(dst, v)
            }
            I::FConst { dst, value } => {
                let v = self.b.ins().f64const(Ieee64::with_bits(value.to_bits()));
                self.def(dst, v)
            }
            I::DataAddr { dst, data, .. } => {
                let v = self.data_addr(data)?;
                self.def(dst, v)
            }
            I::LoadPkt { dst, offset, load } | I::LoadFlow { dst, offset, load } => {
                let v = self.load_field(offset, load);
                self.def(dst, v)
            }
            I::LoadState { dst, slot } => {
                let ty = self.reg_type(dst)?;
                let off = slot_offset(self.kind(), slot)?;
                let v = self.b.ins().load(ty, slot_flags(), self.state, off);
                self.def(dst, v)
            }
            I::StoreState { slot, value, pred } => {
                let off = slot_offset(self.kind(), slot)?;
                let mut v = self.get(value)?;
                let pred = match pred {
                    Some(p) => {
                        let p = self.get(p)?;
                        match self.known_const(p) {
                            // A constant predicate (a direction test in its region): a
                            // plain store, or none.
                            Some(0) => return Ok(()),
                            Some(_) => None,
                            None => Some(p),
                        }
                    }
                    None => None,
                };
                if let Some(p) = pred {
                    // A predicated store writes back the old value when the predicate is 0.
                    let ty = self.reg_type(value)?;
                    let old = self.b.ins().load(ty, slot_flags(), self.state, off);
                    v = self.b.ins().select(p, v, old);
                }
                self.b.ins().store(slot_flags(), v, self.state, off);
                Ok(())
            }
            I::LoadStateIndexed {
                dst,
                base,
                len,
                index,
            } => {
                let ty = self.reg_type(dst)?;
                let index = self.get(index)?;
                let (inb, addr) = self.indexed_slot(base, len, index)?;
                let loaded = self.b.ins().load(ty, slot_flags(), addr, 0);
                let zero = self.zero(ty);
                let v = self.b.ins().select(inb, loaded, zero);
                self.def(dst, v)
            }
            I::StoreStateIndexed {
                base,
                len,
                index,
                value,
                pred,
            } => {
                let ty = self.reg_type(value)?;
                let index = self.get(index)?;
                let value = self.get(value)?;
                let (inb, addr) = self.indexed_slot(base, len, index)?;
                let cond = match pred {
                    Some(p) => {
                        let p = self.get(p)?;
                        let p = self.b.ins().icmp_imm_s(IntCC::NotEqual, p, 0);
                        self.b.ins().band(inb, p)
                    }
                    None => inb,
                };
                let old = self.b.ins().load(ty, slot_flags(), addr, 0);
                let v = self.b.ins().select(cond, value, old);
                self.b.ins().store(slot_flags(), v, addr, 0);
                Ok(())
            }
            I::SlotAddr { dst, slot } => {
                let off = slot_offset(self.kind(), slot)?;
                let v = self.b.ins().iadd_imm_s(self.state, i64::from(off));
                self.def(dst, v)
            }
            I::IBin { dst, op, a, b } => {
                let (a, b) = (self.get(a)?, self.get(b)?);
                let v = self.int_binary(op, a, b);
                self.def(dst, v)
            }
            I::FBin { dst, op, a, b } => {
                let (a, b) = (self.get(a)?, self.get(b)?);
                let v = self.float_binary(op, a, b);
                self.def(dst, v)
            }
            I::ICmp { dst, cc, a, b } => {
                let (a, b) = (self.get(a)?, self.get(b)?);
                let c = self.b.ins().icmp(int_cc(cc), a, b);
                let v = self.bool_to_i64(c);
                self.def(dst, v)
            }
            I::FCmp { dst, cc, a, b } => {
                let (a, b) = (self.get(a)?, self.get(b)?);
                let c = self.b.ins().fcmp(float_cc(cc), a, b);
                let v = self.bool_to_i64(c);
                self.def(dst, v)
            }
            I::IUn { dst, op, a } => {
                let a = self.get(a)?;
                let v = match op {
                    kir::IUnOp::Neg => self.b.ins().ineg(a),
                    kir::IUnOp::Abs => self.b.ins().iabs(a),
                    kir::IUnOp::Not => self.b.ins().bnot(a),
                };
                self.def(dst, v)
            }
            I::FUn { dst, op, a } => {
                let a = self.get(a)?;
                let v = self.float_unary(op, a);
                self.def(dst, v)
            }
            I::IToF { dst, a } => {
                let a = self.get(a)?;
                let v = self.b.ins().fcvt_from_sint(types::F64, a);
                self.def(dst, v)
            }
            I::FToI { dst, a } => {
                // Saturating, NaN → 0: exactly Rust's `as i64`.
                let a = self.get(a)?;
                let v = self.b.ins().fcvt_to_sint_sat(types::I64, a);
                self.def(dst, v)
            }
            I::Bitcast { dst, a } => {
                let ty = self.reg_type(dst)?;
                let a = self.get(a)?;
                let v = self.b.ins().bitcast(ty, MemFlagsData::new(), a);
                self.def(dst, v)
            }
            I::Select { dst, cond, a, b } => {
                let (c, a, b) = (self.get(cond)?, self.get(a)?, self.get(b)?);
                let v = self.b.ins().select(c, a, b);
                self.def(dst, v)
            }
            I::ByteAt {
                value,
                in_bounds,
                ptr,
                len,
                index,
            } => {
                let (ptr, len, index) = (self.get(ptr)?, self.get(len)?, self.get(index)?);
                let (byte, inb) = self.byte_at(ptr, len, index);
                self.def(value, byte)?;
                self.def(in_bounds, inb)
            }
            I::Slice {
                dst_ptr,
                dst_len,
                ptr,
                len,
                lo,
                hi,
            } => {
                let (ptr, len) = (self.get(ptr)?, self.get(len)?);
                let (lo, hi) = (self.get(lo)?, self.get(hi)?);
                let (p, n) = self.slice(ptr, len, lo, hi);
                self.def(dst_ptr, p)?;
                self.def(dst_len, n)
            }
            I::Call {
                helper,
                ref args,
                dst,
                guard,
            } => {
                if guard.is_some() {
                    // Guarded calls are emitted in groups, by `guarded_calls`.
                    return Err(internal(self.kind(), "a guarded call outside its group"));
                }
                if helper == kir::Helper::ValuesPush
                    && let [slot, value, pred, keep] = args[..]
                {
                    let args = [
                        self.get(slot)?,
                        self.get(value)?,
                        self.get(pred)?,
                        self.get(keep)?,
                    ];
                    return self.values_push(args);
                }
                let fref = self.helper_ref(helper)?;
                let args = args
                    .iter()
                    .map(|a| self.get(*a))
                    .collect::<Result<Vec<_>, _>>()?;
                let call = self.b.ins().call(fref, &args);
                let result = self.b.inst_results(call).first().copied();
                match (dst, result) {
                    (Some(d), Some(v)) => self.def(d, v),
                    (None, _) => Ok(()),
                    (Some(d), None) => Err(internal(
                        self.kind(),
                        &format!("{} returns nothing for {d}", helper.name()),
                    )),
                }
            }
            I::Out { cell, value } => {
                let off = slot_offset(self.kind(), cell)?;
                let v = self.get(value)?;
                let out = self.out_ptr()?;
                self.b.ins().store(slot_flags(), v, out, off);
                Ok(())
            }
        }
    }

    /// Reads a `PacketView` or `FlowView` field with the IR's width and extension.
    fn load_field(&mut self, offset: u32, load: kir::Load) -> Value {
        let flags = view_flags(offset, load.width());
        // Offsets are within the view (checked by the IR verifier), so they fit an i32.
        let off = Offset32::new(offset as i32);
        let view = self.view;
        // Narrow fields are a plain load and a zero extension (which x86 folds into one
        // `movz`): Cranelift moves only plain loads.
        let narrow = |b: &mut FunctionBuilder<'_>, ty: types::Type| {
            let v = b.ins().load(ty, flags, view, off);
            b.ins().uextend(types::I64, v)
        };
        match load {
            kir::Load::U8 => narrow(&mut self.b, types::I8),
            kir::Load::U16 => narrow(&mut self.b, types::I16),
            kir::Load::U32 => narrow(&mut self.b, types::I32),
            kir::Load::I64 | kir::Load::Ptr => self.b.ins().load(types::I64, flags, view, off),
            kir::Load::F64 => self.b.ins().load(types::F64, flags, view, off),
            kir::Load::U64Be => {
                // Cranelift's x86 backend has no big-endian loads: load natively and swap
                // (the JIT always targets the host).
                let v = self.b.ins().load(types::I64, flags, view, off);
                if cfg!(target_endian = "little") {
                    self.b.ins().bswap(v)
                } else {
                    v
                }
            }
        }
    }

    /// For a slot array `state[base..base + len]` and an index: the I8 "in bounds" flag and
    /// the address of the element, or of the array's first slot when out of bounds (so the
    /// address is always inside the state).
    fn indexed_slot(
        &mut self,
        base: u32,
        len: u32,
        index: Value,
    ) -> Result<(Value, Value), JitError> {
        let base_off = slot_offset(self.kind(), base)?;
        let inb = self
            .b
            .ins()
            .icmp_imm_u(IntCC::UnsignedLessThan, index, i64::from(len));
        let zero = self.iconst(0);
        let idx = self.b.ins().select_spectre_guard(inb, index, zero);
        let byte_off = self.b.ins().ishl_imm_u(idx, 3);
        let addr = self.b.ins().iadd(self.state, byte_off);
        let addr = self.b.ins().iadd_imm_s(addr, i64::from(base_off));
        Ok((inb, addr))
    }

    fn int_binary(&mut self, op: kir::IBinOp, a: Value, b: Value) -> Value {
        use kir::IBinOp as Op;
        match op {
            Op::Add => self.b.ins().iadd(a, b),
            Op::Sub => self.b.ins().isub(a, b),
            Op::Mul => self.b.ins().imul(a, b),
            Op::And => self.b.ins().band(a, b),
            Op::Or => self.b.ins().bor(a, b),
            Op::Xor => self.b.ins().bxor(a, b),
            Op::Div | Op::Rem => self.floor_div_rem(op == Op::Rem, a, b),
            Op::Shl => {
                // Cranelift masks the shift amount; the IR wants 0 outside 0..=63.
                let ok = self.b.ins().icmp_imm_u(IntCC::UnsignedLessThan, b, 64);
                let shifted = self.b.ins().ishl(a, b);
                let zero = self.iconst(0);
                self.b.ins().select(ok, shifted, zero)
            }
            Op::Shr => {
                // Amounts above 63 shift by 63; negative amounts give 0.
                let neg = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, b, 0);
                let max = self.iconst(63);
                let amount = self.b.ins().umin(b, max);
                let shifted = self.b.ins().sshr(a, amount);
                let zero = self.iconst(0);
                self.b.ins().select(neg, zero, shifted)
            }
        }
    }

    /// Python's `//` or `%`, total: a zero divisor or `i64::MIN` by -1 gives 0. The divisor
    /// the machine instruction sees is replaced by 1 in those cases, so it never traps.
    fn floor_div_rem(&mut self, rem: bool, a: Value, b: Value) -> Value {
        let b_zero = self.b.ins().icmp_imm_s(IntCC::Equal, b, 0);
        let a_min = self.b.ins().icmp_imm_s(IntCC::Equal, a, i64::MIN);
        let b_minus_one = self.b.ins().icmp_imm_s(IntCC::Equal, b, -1);
        let overflow = self.b.ins().band(a_min, b_minus_one);
        let bad = self.b.ins().bor(b_zero, overflow);
        let one = self.iconst(1);
        let d = self.b.ins().select(bad, one, b);
        let r = self.b.ins().srem(a, d);
        // Truncating division rounds towards zero; floor division differs exactly when the
        // remainder is non-zero and its sign (the dividend's) differs from the divisor's.
        let r_nonzero = self.b.ins().icmp_imm_s(IntCC::NotEqual, r, 0);
        let signs = self.b.ins().bxor(r, d);
        let signs_differ = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, signs, 0);
        let adjust = self.b.ins().band(r_nonzero, signs_differ);
        let result = if rem {
            let r_plus_d = self.b.ins().iadd(r, d);
            self.b.ins().select(adjust, r_plus_d, r)
        } else {
            let q = self.b.ins().sdiv(a, d);
            let adjust = self.bool_to_i64(adjust);
            self.b.ins().isub(q, adjust)
        };
        let zero = self.iconst(0);
        self.b.ins().select(bad, zero, result)
    }

    fn float_binary(&mut self, op: kir::FBinOp, a: Value, b: Value) -> Value {
        use kir::FBinOp as Op;
        match op {
            Op::Add => self.b.ins().fadd(a, b),
            Op::Sub => self.b.ins().fsub(a, b),
            Op::Mul => self.b.ins().fmul(a, b),
            Op::Div => self.b.ins().fdiv(a, b),
            // Python's `min(a, b)`: `b` only when it is smaller (Cranelift's `fmin` differs on
            // NaN and signed zeros).
            Op::Min => {
                let c = self.b.ins().fcmp(FloatCC::LessThan, b, a);
                self.b.ins().select(c, b, a)
            }
            Op::Max => {
                let c = self.b.ins().fcmp(FloatCC::GreaterThan, b, a);
                self.b.ins().select(c, b, a)
            }
        }
    }

    fn float_unary(&mut self, op: kir::FUnOp, a: Value) -> Value {
        use kir::FUnOp as Op;
        match op {
            Op::Neg => self.b.ins().fneg(a),
            Op::Abs => self.b.ins().fabs(a),
            Op::Sqrt => self.b.ins().sqrt(a),
            Op::Floor => self.b.ins().floor(a),
            Op::Ceil => self.b.ins().ceil(a),
            Op::Trunc => self.b.ins().trunc(a),
            Op::Round => {
                // Halves away from zero (Rust's `f64::round`; Cranelift's `nearest` rounds
                // them to even): `t = trunc(a)`, then one step away from zero when the
                // fraction `a - t` (exact) is at least one half.
                let t = self.b.ins().trunc(a);
                let frac = self.b.ins().fsub(a, t);
                let frac = self.b.ins().fabs(frac);
                let half = self.b.ins().f64const(0.5);
                let away = self.b.ins().fcmp(FloatCC::GreaterThanOrEqual, frac, half);
                let one = self.b.ins().f64const(1.0);
                let step = self.b.ins().fcopysign(one, a);
                let stepped = self.b.ins().fadd(t, step);
                self.b.ins().select(away, stepped, t)
            }
        }
    }

    /// The bounds-checked byte read of `ByteAt`: the byte and the I64 0/1 flag.
    ///
    /// The load's address is `ptr + i` only when `0 <= i < len`; otherwise it is the view
    /// pointer (a valid `PacketView`/`FlowView`) and the byte read there is discarded. The
    /// address choice is a `select_spectre_guard`, which the optimiser never rewrites.
    fn byte_at(&mut self, ptr: Value, len: Value, index: Value) -> (Value, Value) {
        let zero = self.iconst(0);
        let len = self.b.ins().smax(len, zero);
        // A negative index counts from the end; `index + len` cannot overflow then.
        let neg = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, index, 0);
        let from_end = self.b.ins().iadd(index, len);
        let i = self.b.ins().select(neg, from_end, index);
        // Unsigned: a still-negative index is huge, hence out of bounds.
        let inb = self.b.ins().icmp(IntCC::UnsignedLessThan, i, len);
        let base = self.b.ins().select_spectre_guard(inb, ptr, self.view);
        let offset = self.b.ins().select_spectre_guard(inb, i, zero);
        let addr = self.b.ins().iadd(base, offset);
        let byte = self.b.ins().uload8(types::I64, byte_flags(), addr, 0);
        let value = self.b.ins().select(inb, byte, zero);
        let inb = self.bool_to_i64(inb);
        (value, inb)
    }

    /// Python's `b[lo:hi]` as `Slice` does it: `(ptr + lo', max(hi' - lo', 0))` with each
    /// bound made non-negative (`+ len` when negative, then at least 0) and at most `len`.
    /// No memory is read.
    fn slice(&mut self, ptr: Value, len: Value, lo: Value, hi: Value) -> (Value, Value) {
        let zero = self.iconst(0);
        let len = self.b.ins().smax(len, zero);
        let lo = self.slice_bound(lo, len, zero);
        let hi = self.slice_bound(hi, len, zero);
        let diff = self.b.ins().isub(hi, lo);
        let n = self.b.ins().smax(diff, zero);
        let p = self.b.ins().iadd(ptr, lo);
        (p, n)
    }

    fn slice_bound(&mut self, bound: Value, len: Value, zero: Value) -> Value {
        let neg = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, bound, 0);
        // Only used when `bound < 0` and `len >= 0`: no overflow.
        let from_end = self.b.ins().iadd(bound, len);
        let from_end = self.b.ins().smax(from_end, zero);
        let capped = self.b.ins().smin(bound, len);
        self.b.ins().select(neg, from_end, capped)
    }

    /// The address of data block `data`.
    fn data_addr(&mut self, data: u32) -> Result<Value, JitError> {
        let gv = match self.data_refs.get(&data) {
            Some(gv) => *gv,
            None => {
                let gv = match self.externals {
                    Externals::Module {
                        module, data: ids, ..
                    } => {
                        let id = ids.get(&data).copied().ok_or_else(|| {
                            internal(self.src.kind, &format!("data block {data} not declared"))
                        })?;
                        module.declare_data_in_func(id, self.b.func)
                    }
                    Externals::Named { .. } => {
                        self.b.create_global_value(GlobalValueData::Symbol {
                            name: ExternalName::testcase(format!("data{data}")),
                            offset: 0.into(),
                            colocated: false,
                            tls: false,
                        })
                    }
                };
                self.data_refs.insert(data, gv);
                gv
            }
        };
        Ok(self.b.ins().symbol_value(types::I64, gv))
    }

    /// A value list push (`Helper::ValuesPush`): inline when the list exists, has room and
    /// the value is not NaN (the store, the count and the two flags, as the helper does:
    /// `jjc_kernel::runtime::values_layout`), else a call of the helper, which makes, grows
    /// or marks the list. A push runs for most packets, and the call cost more than the push.
    fn values_push(&mut self, [slot, value, pred, keep]: [Value; 4]) -> Result<(), JitError> {
        use jjc_kernel::runtime::values_layout as at;
        let fref = self.helper_ref(kir::Helper::ValuesPush)?;
        let [check_block, check_room, fast, slow, done] =
            std::array::from_fn(|_| self.b.create_block());
        let heap = MemFlagsData::trusted();
        self.b.ins().brif(pred, check_block, &[], done, &[]);
        self.b.switch_to_block(check_block);
        self.b.seal_block(check_block);
        let block = self.b.ins().load(types::I64, slot_flags(), slot, 0);
        self.b.ins().brif(block, check_room, &[], slow, &[]);
        self.b.switch_to_block(check_room);
        self.b.seal_block(check_room);
        let len = self.b.ins().load(types::I64, heap, block, at::LEN);
        let cap = self.b.ins().load(types::I64, heap, block, at::CAP);
        let room = self.b.ins().icmp(IntCC::UnsignedLessThan, len, cap);
        let number = self.b.ins().fcmp(FloatCC::Ordered, value, value);
        let both = self.b.ins().band(room, number);
        self.b.ins().brif(both, fast, &[], slow, &[]);
        self.b.switch_to_block(fast);
        self.b.seal_block(fast);
        let offset = self.b.ins().ishl_imm_u(len, 3);
        let place = self.b.ins().iadd(block, offset);
        self.b.ins().store(heap, value, place, at::DATA);
        let next = self.b.ins().iadd_imm_u(len, 1);
        self.b.ins().store(heap, next, block, at::LEN);
        let no = self.b.ins().iconst(types::I8, 0);
        self.b.ins().store(heap, no, block, at::SORTED);
        self.b.ins().store(heap, no, block, at::MOMENTS);
        self.b.ins().jump(done, &[]);
        self.b.switch_to_block(slow);
        self.b.seal_block(slow);
        self.b.ins().call(fref, &[slot, value, pred, keep]);
        self.b.ins().jump(done, &[]);
        self.b.switch_to_block(done);
        self.b.seal_block(done);
        Ok(())
    }

    /// The function reference of a helper, imported on first use.
    fn helper_ref(&mut self, helper: kir::Helper) -> Result<FuncRef, JitError> {
        if let Some(f) = self.helper_refs.get(&helper) {
            return Ok(*f);
        }
        let fref = match self.externals {
            Externals::Module {
                module, helpers, ..
            } => {
                let id = helpers.get(&helper).copied().ok_or_else(|| {
                    internal(
                        self.src.kind,
                        &format!("helper {} not declared", helper.name()),
                    )
                })?;
                module.declare_func_in_func(id, self.b.func)
            }
            Externals::Named { call_conv } => {
                let sig = self
                    .b
                    .import_signature(helper_signature(helper, *call_conv));
                self.b.import_function(ExtFuncData {
                    name: ExternalName::testcase(helper.name()),
                    signature: sig,
                    colocated: false,
                    patchable: false,
                })
            }
        };
        self.helper_refs.insert(helper, fref);
        Ok(fref)
    }
}

fn int_cc(cc: kir::IntCC) -> IntCC {
    match cc {
        kir::IntCC::Eq => IntCC::Equal,
        kir::IntCC::Ne => IntCC::NotEqual,
        kir::IntCC::Slt => IntCC::SignedLessThan,
        kir::IntCC::Sle => IntCC::SignedLessThanOrEqual,
        kir::IntCC::Sgt => IntCC::SignedGreaterThan,
        kir::IntCC::Sge => IntCC::SignedGreaterThanOrEqual,
        kir::IntCC::Ult => IntCC::UnsignedLessThan,
        kir::IntCC::Ule => IntCC::UnsignedLessThanOrEqual,
        kir::IntCC::Ugt => IntCC::UnsignedGreaterThan,
        kir::IntCC::Uge => IntCC::UnsignedGreaterThanOrEqual,
    }
}

/// Ordered comparisons, except `Ne`, which is true with a NaN (Cranelift's `ne` is
/// "unordered or not equal").
fn float_cc(cc: kir::FloatCC) -> FloatCC {
    match cc {
        kir::FloatCC::Eq => FloatCC::Equal,
        kir::FloatCC::Ne => FloatCC::NotEqual,
        kir::FloatCC::Lt => FloatCC::LessThan,
        kir::FloatCC::Le => FloatCC::LessThanOrEqual,
        kir::FloatCC::Gt => FloatCC::GreaterThan,
        kir::FloatCC::Ge => FloatCC::GreaterThanOrEqual,
    }
}

#[cfg(test)]
mod tests;
