//! A builder of kernel IR functions for the translation's unit tests.

use jjc_kernel::ir::{Function, FunctionKind, Helper, IBinOp, Inst, IntCC, Load, MTy, Reg};

/// Builds an IR function by hand; every builder method returns the instruction's index
/// with its result.
pub(crate) struct Asm {
    /// The function built so far.
    pub(crate) f: Function,
}

impl Asm {
    pub(crate) fn new(kind: FunctionKind) -> Asm {
        Asm {
            f: Function::new(kind),
        }
    }

    pub(crate) fn reg(&mut self, ty: MTy) -> Reg {
        self.f.regs.push(ty);
        Reg(self.f.regs.len() as u32 - 1)
    }

    /// Appends `inst`, returning its index.
    pub(crate) fn push(&mut self, inst: Inst) -> usize {
        self.f.insts.push(inst);
        self.f.insts.len() - 1
    }

    pub(crate) fn iconst(&mut self, value: i64) -> (usize, Reg) {
        let dst = self.reg(MTy::I64);
        (self.push(Inst::IConst { dst, value }), dst)
    }

    pub(crate) fn pkt(&mut self, offset: usize, load: Load) -> (usize, Reg) {
        let dst = self.reg(load.ty());
        let i = self.push(Inst::LoadPkt {
            dst,
            offset: offset as u32,
            load,
        });
        (i, dst)
    }

    pub(crate) fn load(&mut self, slot: u32) -> (usize, Reg) {
        let dst = self.reg(MTy::I64);
        (self.push(Inst::LoadState { dst, slot }), dst)
    }

    pub(crate) fn store(&mut self, slot: u32, value: Reg, pred: Option<Reg>) -> usize {
        self.push(Inst::StoreState { slot, value, pred })
    }

    pub(crate) fn ibin(&mut self, op: IBinOp, a: Reg, b: Reg) -> (usize, Reg) {
        let dst = self.reg(MTy::I64);
        (self.push(Inst::IBin { dst, op, a, b }), dst)
    }

    pub(crate) fn eq(&mut self, a: Reg, b: Reg) -> (usize, Reg) {
        let dst = self.reg(MTy::I64);
        let i = self.push(Inst::ICmp {
            dst,
            cc: IntCC::Eq,
            a,
            b,
        });
        (i, dst)
    }

    pub(crate) fn slot_addr(&mut self, slot: u32) -> (usize, Reg) {
        let dst = self.reg(MTy::I64);
        (self.push(Inst::SlotAddr { dst, slot }), dst)
    }

    pub(crate) fn call(
        &mut self,
        helper: Helper,
        args: Vec<Reg>,
        guard: Option<Reg>,
    ) -> (usize, Reg) {
        let dst = helper.signature().1.map(|t| self.reg(t));
        let i = self.push(Inst::Call {
            helper,
            args,
            dst,
            guard,
        });
        (i, dst.unwrap_or(Reg(u32::MAX)))
    }
}
