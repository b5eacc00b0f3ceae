//! Building one IR function: value numbering (hash-consing), constant folding, deferred
//! state stores and dead-code removal.

use std::collections::HashMap;

use crate::inst_key::InstKey;
use crate::ir::{
    FBinOp, FUnOp, FloatCC, Function, FunctionKind, Helper, IBinOp, IUnOp, Inst, IntCC, Load, MTy,
    Reg, f64_to_i64, i64_to_f64,
};

/// A known constant register value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Known {
    I(i64),
    F(f64),
}

/// Builds one function. Pure instructions are numbered: the same instruction on the same
/// operands gives the same register. State stores are kept aside and emitted after every
/// load, so a load always sees the flow's state as it was before this packet.
#[derive(Debug)]
pub(crate) struct Builder {
    f: Function,
    numbered: HashMap<InstKey, Vec<Reg>, foldhash::fast::RandomState>,
    known: HashMap<Reg, Known, foldhash::fast::RandomState>,
    deferred: Vec<Inst>,
    /// The condition every helper call made now is guarded by (`None`: calls are
    /// unconditional): set while an arm of an `if` or the fallback of a `??` is built, so
    /// that the helpers of the arm the flow does not take are not called.
    guard: Option<Reg>,
    /// The `finish` calls made under a guard, by their unguarded form: where each is and
    /// its result, so that the same call asked for unconditionally later drops the guard.
    guarded_calls: HashMap<InstKey, (usize, Reg), foldhash::fast::RandomState>,
}

impl Builder {
    pub(crate) fn new(kind: FunctionKind) -> Builder {
        Builder {
            f: Function::new(kind),
            numbered: HashMap::default(),
            known: HashMap::default(),
            deferred: Vec::new(),
            guard: None,
            guarded_calls: HashMap::default(),
        }
    }

    /// The instruction that defines `r`, if any yet.
    pub(crate) fn defining(&self, r: Reg) -> Option<&Inst> {
        self.f.insts.iter().rev().find(|i| i.defs().contains(&r))
    }

    /// The condition helper calls are guarded by now.
    pub(crate) fn guard(&self) -> Option<Reg> {
        self.guard
    }

    /// Guards the helper calls made from now on by `guard` (a 0/1 value; `None`: calls are
    /// unconditional), and returns the guard it replaces.
    pub(crate) fn set_guard(&mut self, guard: Option<Reg>) -> Option<Reg> {
        std::mem::replace(&mut self.guard, guard)
    }

    fn fresh(&mut self, ty: MTy) -> Reg {
        let r = Reg(self.f.regs.len() as u32);
        self.f.regs.push(ty);
        r
    }

    /// The constant value of a register, if known.
    pub(crate) fn known(&self, r: Reg) -> Option<Known> {
        self.known.get(&r).copied()
    }

    pub(crate) fn known_i(&self, r: Reg) -> Option<i64> {
        match self.known(r) {
            Some(Known::I(v)) => Some(v),
            _ => None,
        }
    }

    fn known_f(&self, r: Reg) -> Option<f64> {
        match self.known(r) {
            Some(Known::F(v)) => Some(v),
            _ => None,
        }
    }

    /// Emits a pure instruction built by `make` from fresh result registers, or reuses the
    /// registers of an identical earlier one.
    fn pure(&mut self, tys: &[MTy], make: impl Fn(&[Reg]) -> Inst) -> Vec<Reg> {
        let placeholder: Vec<Reg> = (0..tys.len()).map(|i| Reg(u32::MAX - i as u32)).collect();
        let key = InstKey(make(&placeholder));
        if let Some(r) = self.numbered.get(&key) {
            return r.clone();
        }
        let regs: Vec<Reg> = tys.iter().map(|t| self.fresh(*t)).collect();
        self.f.insts.push(make(&regs));
        self.numbered.insert(key, regs.clone());
        regs
    }

    fn pure1(&mut self, ty: MTy, make: impl Fn(Reg) -> Inst) -> Reg {
        let r = self.pure(&[ty], |d| make(d.first().copied().unwrap_or(Reg(0))));
        r.first().copied().unwrap_or(Reg(0))
    }

    pub(crate) fn iconst(&mut self, value: i64) -> Reg {
        let r = self.pure1(MTy::I64, |dst| Inst::IConst { dst, value });
        self.known.insert(r, Known::I(value));
        r
    }

    pub(crate) fn fconst(&mut self, value: f64) -> Reg {
        let r = self.pure1(MTy::F64, |dst| Inst::FConst { dst, value });
        self.known.insert(r, Known::F(value));
        r
    }

    fn konst(&mut self, k: Known) -> Reg {
        match k {
            Known::I(v) => self.iconst(v),
            Known::F(v) => self.fconst(v),
        }
    }

    pub(crate) fn ty(&self, r: Reg) -> MTy {
        self.f.ty(r).unwrap_or(MTy::I64)
    }

    /// The address of data block `data` (patched when the kernel is finished).
    pub(crate) fn data_addr(&mut self, data: u32) -> Reg {
        self.pure1(MTy::I64, |dst| Inst::DataAddr { dst, data, addr: 0 })
    }

    pub(crate) fn load_pkt(&mut self, offset: usize, load: Load) -> Reg {
        let offset = offset as u32;
        self.pure1(load.ty(), |dst| Inst::LoadPkt { dst, offset, load })
    }

    pub(crate) fn load_flow(&mut self, offset: usize, load: Load) -> Reg {
        let offset = offset as u32;
        self.pure1(load.ty(), |dst| Inst::LoadFlow { dst, offset, load })
    }

    pub(crate) fn load_state(&mut self, slot: u32, ty: MTy) -> Reg {
        self.pure1(ty, |dst| Inst::LoadState { dst, slot })
    }

    pub(crate) fn load_state_indexed(&mut self, base: u32, len: u32, index: Reg, ty: MTy) -> Reg {
        self.pure1(ty, |dst| Inst::LoadStateIndexed {
            dst,
            base,
            len,
            index,
        })
    }

    pub(crate) fn slot_addr(&mut self, slot: u32) -> Reg {
        self.pure1(MTy::I64, |dst| Inst::SlotAddr { dst, slot })
    }

    /// A state store, emitted after every other instruction (`pred`: store only if non-zero).
    pub(crate) fn store_state(&mut self, slot: u32, value: Reg, pred: Option<Reg>) {
        let pred = match pred.map(|p| (p, self.known_i(p))) {
            Some((_, Some(0))) => return,
            Some((_, Some(_))) | None => None,
            Some((p, None)) => Some(p),
        };
        self.deferred.push(Inst::StoreState { slot, value, pred });
    }

    /// An indexed state store, emitted after every other instruction.
    pub(crate) fn store_state_indexed(
        &mut self,
        base: u32,
        len: u32,
        index: Reg,
        value: Reg,
        pred: Option<Reg>,
    ) {
        if pred.and_then(|p| self.known_i(p)) == Some(0) {
            return;
        }
        self.deferred.push(Inst::StoreStateIndexed {
            base,
            len,
            index,
            value,
            pred,
        });
    }

    pub(crate) fn out(&mut self, cell: u32, value: Reg) {
        self.f.insts.push(Inst::Out { cell, value });
    }

    pub(crate) fn ibin(&mut self, op: IBinOp, a: Reg, b: Reg) -> Reg {
        match (self.known_i(a), self.known_i(b)) {
            (Some(x), Some(y)) => return self.iconst(op.eval(x, y)),
            (Some(0), _) if matches!(op, IBinOp::Add | IBinOp::Or | IBinOp::Xor) => return b,
            (_, Some(0))
                if matches!(
                    op,
                    IBinOp::Add
                        | IBinOp::Sub
                        | IBinOp::Or
                        | IBinOp::Xor
                        | IBinOp::Shl
                        | IBinOp::Shr
                ) =>
            {
                return a;
            }
            (Some(0), _) | (_, Some(0)) if matches!(op, IBinOp::And | IBinOp::Mul) => {
                return self.iconst(0);
            }
            (Some(1), _) if op == IBinOp::Mul => return b,
            (_, Some(1)) if op == IBinOp::Mul => return a,
            _ => {}
        }
        let (a, b) = commute(op.commutes(), a, b);
        self.pure1(MTy::I64, |dst| Inst::IBin { dst, op, a, b })
    }

    pub(crate) fn fbin(&mut self, op: FBinOp, a: Reg, b: Reg) -> Reg {
        if let (Some(x), Some(y)) = (self.known_f(a), self.known_f(b)) {
            return self.fconst(op.eval(x, y));
        }
        let (a, b) = commute(matches!(op, FBinOp::Add | FBinOp::Mul), a, b);
        self.pure1(MTy::F64, |dst| Inst::FBin { dst, op, a, b })
    }

    pub(crate) fn icmp(&mut self, cc: IntCC, a: Reg, b: Reg) -> Reg {
        if let (Some(x), Some(y)) = (self.known_i(a), self.known_i(b)) {
            return self.iconst(cc.eval(x, y));
        }
        if a == b {
            let v = matches!(
                cc,
                IntCC::Eq | IntCC::Sle | IntCC::Sge | IntCC::Ule | IntCC::Uge
            );
            return self.iconst(i64::from(v));
        }
        self.pure1(MTy::I64, |dst| Inst::ICmp { dst, cc, a, b })
    }

    pub(crate) fn fcmp(&mut self, cc: FloatCC, a: Reg, b: Reg) -> Reg {
        if let (Some(x), Some(y)) = (self.known_f(a), self.known_f(b)) {
            return self.iconst(cc.eval(x, y));
        }
        self.pure1(MTy::I64, |dst| Inst::FCmp { dst, cc, a, b })
    }

    pub(crate) fn iun(&mut self, op: IUnOp, a: Reg) -> Reg {
        if let Some(x) = self.known_i(a) {
            return self.iconst(op.eval(x));
        }
        self.pure1(MTy::I64, |dst| Inst::IUn { dst, op, a })
    }

    pub(crate) fn fun(&mut self, op: FUnOp, a: Reg) -> Reg {
        if let Some(x) = self.known_f(a) {
            return self.fconst(op.eval(x));
        }
        self.pure1(MTy::F64, |dst| Inst::FUn { dst, op, a })
    }

    pub(crate) fn itof(&mut self, a: Reg) -> Reg {
        if let Some(x) = self.known_i(a) {
            return self.fconst(i64_to_f64(x));
        }
        self.pure1(MTy::F64, |dst| Inst::IToF { dst, a })
    }

    pub(crate) fn ftoi(&mut self, a: Reg) -> Reg {
        if let Some(x) = self.known_f(a) {
            return self.iconst(f64_to_i64(x));
        }
        self.pure1(MTy::I64, |dst| Inst::FToI { dst, a })
    }

    pub(crate) fn bitcast(&mut self, a: Reg, to: MTy) -> Reg {
        if self.ty(a) == to {
            return a;
        }
        match (self.known(a), to) {
            (Some(Known::I(x)), MTy::F64) => return self.fconst(f64::from_bits(x as u64)),
            (Some(Known::F(x)), MTy::I64) => return self.iconst(x.to_bits() as i64),
            _ => {}
        }
        self.pure1(to, |dst| Inst::Bitcast { dst, a })
    }

    pub(crate) fn select(&mut self, cond: Reg, a: Reg, b: Reg) -> Reg {
        if a == b {
            return a;
        }
        if let Some(c) = self.known_i(cond) {
            return if c != 0 { a } else { b };
        }
        if let (Some(x), Some(y)) = (self.known(a), self.known(b))
            && x == y
        {
            return self.konst(x);
        }
        let ty = self.ty(a);
        self.pure1(ty, |dst| Inst::Select { dst, cond, a, b })
    }

    /// `(value, in_bounds)` of a bounds-checked byte read.
    pub(crate) fn byte_at(&mut self, ptr: Reg, len: Reg, index: Reg) -> (Reg, Reg) {
        if self.known_i(len) == Some(0) {
            let z = self.iconst(0);
            return (z, z);
        }
        let r = self.pure(&[MTy::I64, MTy::I64], |d| Inst::ByteAt {
            value: d.first().copied().unwrap_or(Reg(0)),
            in_bounds: d.get(1).copied().unwrap_or(Reg(0)),
            ptr,
            len,
            index,
        });
        (
            r.first().copied().unwrap_or(Reg(0)),
            r.get(1).copied().unwrap_or(Reg(0)),
        )
    }

    /// `(ptr, len)` of a sub-slice.
    pub(crate) fn slice(&mut self, ptr: Reg, len: Reg, lo: Reg, hi: Reg) -> (Reg, Reg) {
        if self.known_i(lo) == Some(0) && self.known_i(hi) == Some(i64::MAX) {
            return (ptr, len);
        }
        let r = self.pure(&[MTy::I64, MTy::I64], |d| Inst::Slice {
            dst_ptr: d.first().copied().unwrap_or(Reg(0)),
            dst_len: d.get(1).copied().unwrap_or(Reg(0)),
            ptr,
            len,
            lo,
            hi,
        });
        (
            r.first().copied().unwrap_or(Reg(0)),
            r.get(1).copied().unwrap_or(Reg(0)),
        )
    }

    /// A helper call; calls without effects are numbered like pure instructions.
    pub(crate) fn call(&mut self, helper: Helper, args: &[Reg]) -> Option<Reg> {
        self.call_if(helper, args, None)
    }

    /// A helper call made only when `guard` is not 0 and the builder's own guard
    /// ([`Builder::set_guard`]) is not 0 (else its result is 0).
    pub(crate) fn call_if(
        &mut self,
        helper: Helper,
        args: &[Reg],
        guard: Option<Reg>,
    ) -> Option<Reg> {
        let (_, ret) = helper.signature();
        let guard = match (guard, self.guard) {
            (g, None) => g,
            (None, g) => g,
            (Some(g), Some(context)) => {
                let zero = self.iconst(0);
                let set = self.icmp(IntCC::Ne, g, zero);
                Some(self.ibin(IBinOp::And, set, context))
            }
        };
        let guard = match guard.map(|g| (g, self.known_i(g))) {
            // A guard known to be 0: the result is 0 (or nothing for a helper without one).
            Some((_, Some(0))) => {
                return ret.map(|t| match t {
                    MTy::F64 => self.fconst(0.0),
                    MTy::I64 => self.iconst(0),
                });
            }
            Some((_, Some(_))) | None => None,
            Some((g, None)) => Some(g),
        };
        if helper.has_effects() {
            let dst = ret.map(|t| self.fresh(t));
            self.f.insts.push(Inst::Call {
                helper,
                args: args.to_vec(),
                dst,
                guard,
            });
            return dst;
        }
        if guard.is_none()
            && let Some(folded) = self.fold_call(helper, args)
        {
            return Some(folded);
        }
        let tys: Vec<MTy> = ret.into_iter().collect();
        let args = args.to_vec();
        let unguarded = InstKey(Inst::Call {
            helper,
            args: args.clone(),
            dst: ret.map(|_| Reg(u32::MAX)),
            guard: None,
        });
        if let Some(r) = self.numbered.get(&unguarded) {
            // The same call made unconditionally already: its result serves here too.
            return r.first().copied();
        }
        if guard.is_none()
            && let Some(&(at, dst)) = self.guarded_calls.get(&unguarded)
            && let Some(Inst::Call { guard, .. }) = self.f.insts.get_mut(at)
        {
            // Made earlier under a guard only: made unconditionally there instead (its
            // arguments are ready there, and the users under the guard lose nothing).
            *guard = None;
            self.numbered.insert(unguarded, vec![dst]);
            return Some(dst);
        }
        let before = self.f.insts.len();
        let r = self
            .pure(&tys, |d| Inst::Call {
                helper,
                args: args.clone(),
                dst: d.first().copied(),
                guard,
            })
            .first()
            .copied();
        if guard.is_some()
            && self.f.kind == FunctionKind::Finish
            && self.f.insts.len() > before
            && let Some(dst) = r
        {
            self.guarded_calls.entry(unguarded).or_insert((before, dst));
        }
        r
    }

    fn fold_call(&mut self, helper: Helper, args: &[Reg]) -> Option<Reg> {
        let f = |i: usize| args.get(i).and_then(|r| self.known_f(*r));
        let v = match helper {
            Helper::Ln => f(0)?.ln(),
            Helper::Log2 => f(0)?.log2(),
            Helper::Exp => f(0)?.exp(),
            Helper::Pow => f(0)?.powf(f(1)?),
            Helper::FRem => crate::runtime::jjc_frem(f(0)?, f(1)?),
            _ => return None,
        };
        Some(self.fconst(v))
    }

    /// Finishes the function: deferred stores last, then dead instructions removed and
    /// registers renumbered densely. Also returns the new number of each old register.
    pub(crate) fn finish(mut self) -> (Function, Vec<Option<Reg>>) {
        let deferred = std::mem::take(&mut self.deferred);
        self.f.insts.extend(deferred);
        eliminate_dead_code(self.f)
    }
}

fn commute(commutes: bool, a: Reg, b: Reg) -> (Reg, Reg) {
    if commutes && b < a { (b, a) } else { (a, b) }
}

impl IBinOp {
    fn commutes(self) -> bool {
        matches!(
            self,
            IBinOp::Add | IBinOp::Mul | IBinOp::And | IBinOp::Or | IBinOp::Xor
        )
    }
}

/// Removes instructions whose results are unused and that have no effects; renumbers the
/// registers in order of definition (the map gives each old register's new number).
pub(crate) fn eliminate_dead_code(f: Function) -> (Function, Vec<Option<Reg>>) {
    let mut live = vec![false; f.regs.len()];
    let mut keep = vec![false; f.insts.len()];
    for (i, inst) in f.insts.iter().enumerate().rev() {
        let needed = inst.has_effects()
            || inst
                .defs()
                .iter()
                .any(|d| live.get(d.index()).copied().unwrap_or(false));
        if needed {
            if let Some(k) = keep.get_mut(i) {
                *k = true;
            }
            for u in inst.uses() {
                if let Some(l) = live.get_mut(u.index()) {
                    *l = true;
                }
            }
        }
    }
    let mut map: Vec<Option<Reg>> = vec![None; f.regs.len()];
    let mut regs = Vec::new();
    let mut insts = Vec::new();
    for (inst, k) in f.insts.into_iter().zip(keep) {
        if !k {
            continue;
        }
        for d in inst.defs() {
            if let Some(m) = map.get_mut(d.index()) {
                *m = Some(Reg(regs.len() as u32));
                regs.push(f.regs.get(d.index()).copied().unwrap_or(MTy::I64));
            }
        }
        insts.push(rename(inst, &map));
    }
    (
        Function {
            kind: f.kind,
            regs,
            insts,
        },
        map,
    )
}

fn rename(inst: Inst, map: &[Option<Reg>]) -> Inst {
    let m = |r: Reg| map.get(r.index()).copied().flatten().unwrap_or(r);
    let mo = |r: Option<Reg>| r.map(m);
    match inst {
        Inst::IConst { dst, value } => Inst::IConst { dst: m(dst), value },
        Inst::FConst { dst, value } => Inst::FConst { dst: m(dst), value },
        Inst::DataAddr { dst, data, addr } => Inst::DataAddr {
            dst: m(dst),
            data,
            addr,
        },
        Inst::LoadPkt { dst, offset, load } => Inst::LoadPkt {
            dst: m(dst),
            offset,
            load,
        },
        Inst::LoadFlow { dst, offset, load } => Inst::LoadFlow {
            dst: m(dst),
            offset,
            load,
        },
        Inst::LoadState { dst, slot } => Inst::LoadState { dst: m(dst), slot },
        Inst::StoreState { slot, value, pred } => Inst::StoreState {
            slot,
            value: m(value),
            pred: mo(pred),
        },
        Inst::LoadStateIndexed {
            dst,
            base,
            len,
            index,
        } => Inst::LoadStateIndexed {
            dst: m(dst),
            base,
            len,
            index: m(index),
        },
        Inst::StoreStateIndexed {
            base,
            len,
            index,
            value,
            pred,
        } => Inst::StoreStateIndexed {
            base,
            len,
            index: m(index),
            value: m(value),
            pred: mo(pred),
        },
        Inst::SlotAddr { dst, slot } => Inst::SlotAddr { dst: m(dst), slot },
        Inst::IBin { dst, op, a, b } => Inst::IBin {
            dst: m(dst),
            op,
            a: m(a),
            b: m(b),
        },
        Inst::FBin { dst, op, a, b } => Inst::FBin {
            dst: m(dst),
            op,
            a: m(a),
            b: m(b),
        },
        Inst::ICmp { dst, cc, a, b } => Inst::ICmp {
            dst: m(dst),
            cc,
            a: m(a),
            b: m(b),
        },
        Inst::FCmp { dst, cc, a, b } => Inst::FCmp {
            dst: m(dst),
            cc,
            a: m(a),
            b: m(b),
        },
        Inst::IUn { dst, op, a } => Inst::IUn {
            dst: m(dst),
            op,
            a: m(a),
        },
        Inst::FUn { dst, op, a } => Inst::FUn {
            dst: m(dst),
            op,
            a: m(a),
        },
        Inst::IToF { dst, a } => Inst::IToF {
            dst: m(dst),
            a: m(a),
        },
        Inst::FToI { dst, a } => Inst::FToI {
            dst: m(dst),
            a: m(a),
        },
        Inst::Bitcast { dst, a } => Inst::Bitcast {
            dst: m(dst),
            a: m(a),
        },
        Inst::Select { dst, cond, a, b } => Inst::Select {
            dst: m(dst),
            cond: m(cond),
            a: m(a),
            b: m(b),
        },
        Inst::ByteAt {
            value,
            in_bounds,
            ptr,
            len,
            index,
        } => Inst::ByteAt {
            value: m(value),
            in_bounds: m(in_bounds),
            ptr: m(ptr),
            len: m(len),
            index: m(index),
        },
        Inst::Slice {
            dst_ptr,
            dst_len,
            ptr,
            len,
            lo,
            hi,
        } => Inst::Slice {
            dst_ptr: m(dst_ptr),
            dst_len: m(dst_len),
            ptr: m(ptr),
            len: m(len),
            lo: m(lo),
            hi: m(hi),
        },
        Inst::Call {
            helper,
            args,
            dst,
            guard,
        } => Inst::Call {
            helper,
            args: args.into_iter().map(m).collect(),
            dst: mo(dst),
            guard: mo(guard),
        },
        Inst::Out { cell, value } => Inst::Out {
            cell,
            value: m(value),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_instructions_share_a_register_and_constants_fold() {
        let mut b = Builder::new(FunctionKind::Update);
        let ts = b.load_pkt(0, Load::F64);
        let ts2 = b.load_pkt(0, Load::F64);
        assert_eq!(ts, ts2);
        let one = b.fconst(1.0);
        let x = b.fbin(FBinOp::Add, ts, one);
        let y = b.fbin(FBinOp::Add, one, ts);
        assert_eq!(x, y);
        let two = b.iconst(2);
        let three = b.iconst(3);
        let five = b.ibin(IBinOp::Add, two, three);
        assert_eq!(b.known_i(five), Some(5));
        let c = b.icmp(IntCC::Slt, two, three);
        let s = b.select(c, two, three);
        assert_eq!(s, two);
        let (f, _) = b.finish();
        // Only effects keep code alive: nothing here is stored, so all of it goes.
        assert!(f.insts.is_empty());
    }

    #[test]
    fn dead_code_goes_and_registers_are_renumbered() {
        let mut b = Builder::new(FunctionKind::Update);
        let unused = b.load_pkt(8, Load::U32);
        let _ = b.iun(IUnOp::Neg, unused);
        let len = b.load_pkt(24, Load::U32);
        b.store_state(0, len, None);
        let (f, _) = b.finish();
        assert_eq!(f.insts.len(), 2);
        assert_eq!(f.regs.len(), 1);
        assert_eq!(
            f.insts[1],
            Inst::StoreState {
                slot: 0,
                value: Reg(0),
                pred: None
            }
        );
    }

    #[test]
    fn stores_come_after_every_load() {
        let mut b = Builder::new(FunctionKind::Update);
        let x = b.load_state(0, MTy::I64);
        let one = b.iconst(1);
        let y = b.ibin(IBinOp::Add, x, one);
        b.store_state(0, y, None);
        let z = b.load_state(0, MTy::I64);
        b.store_state(1, z, None);
        let (f, _) = b.finish();
        let last_load = f
            .insts
            .iter()
            .rposition(|i| matches!(i, Inst::LoadState { .. }));
        let first_store = f
            .insts
            .iter()
            .position(|i| matches!(i, Inst::StoreState { .. }));
        assert!(last_load < first_store);
        // The second load of slot 0 is the first one.
        assert_eq!(x, z);
    }
}
