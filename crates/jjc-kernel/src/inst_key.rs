//! The value-numbering key of an instruction: equal keys are the same computation.
//!
//! Two instructions are the same when every field is equal, floating-point constants by
//! their bits (so `0.0` and `-0.0` differ) with every NaN the same. That is exactly when
//! their `Debug` texts are equal, which is what value numbering compared before it had
//! this key (and what the IR dumps show).

use std::hash::{Hash, Hasher};

use crate::ir::Inst;

/// An instruction as a hash-map key (see the module documentation for its equality).
#[derive(Debug, Clone)]
pub(crate) struct InstKey(pub(crate) Inst);

/// The bits a floating-point constant is compared by: its own, or one NaN for every NaN.
fn float_bits(v: f64) -> u64 {
    if v.is_nan() {
        f64::NAN.to_bits()
    } else {
        v.to_bits()
    }
}

impl PartialEq for InstKey {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Inst::FConst { dst: d1, value: v1 }, Inst::FConst { dst: d2, value: v2 }) => {
                d1 == d2 && float_bits(*v1) == float_bits(*v2)
            }
            // No other instruction holds a float: the derived equality is an equivalence.
            (a, b) => a == b,
        }
    }
}

impl Eq for InstKey {}

impl Hash for InstKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_inst(&self.0, Addresses::Hashed, state);
    }
}

/// Whether [`hash_inst`] feeds a [`Inst::DataAddr`]'s address to the hasher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Addresses {
    /// The address too: the key of one kernel's instruction.
    Hashed,
    /// The block's number only: what native code that reaches blocks by relocation depends on.
    Left,
}

/// Hashes `inst` as [`InstKey`] compares it, the data address included or not.
pub(crate) fn hash_inst<H: Hasher>(inst: &Inst, addresses: Addresses, state: &mut H) {
    std::mem::discriminant(inst).hash(state);
    match inst {
        Inst::IConst { dst, value } => (dst, value).hash(state),
        Inst::FConst { dst, value } => (dst, float_bits(*value)).hash(state),
        Inst::DataAddr { dst, data, addr } => {
            (dst, data).hash(state);
            if addresses == Addresses::Hashed {
                addr.hash(state);
            }
        }
        Inst::LoadPkt { dst, offset, load } | Inst::LoadFlow { dst, offset, load } => {
            (dst, offset, load).hash(state)
        }
        Inst::LoadState { dst, slot } | Inst::SlotAddr { dst, slot } => (dst, slot).hash(state),
        Inst::StoreState { slot, value, pred } => (slot, value, pred).hash(state),
        Inst::LoadStateIndexed {
            dst,
            base,
            len,
            index,
        } => (dst, base, len, index).hash(state),
        Inst::StoreStateIndexed {
            base,
            len,
            index,
            value,
            pred,
        } => (base, len, index, value, pred).hash(state),
        Inst::IBin { dst, op, a, b } => (dst, op, a, b).hash(state),
        Inst::FBin { dst, op, a, b } => (dst, op, a, b).hash(state),
        Inst::ICmp { dst, cc, a, b } => (dst, cc, a, b).hash(state),
        Inst::FCmp { dst, cc, a, b } => (dst, cc, a, b).hash(state),
        Inst::IUn { dst, op, a } => (dst, op, a).hash(state),
        Inst::FUn { dst, op, a } => (dst, op, a).hash(state),
        Inst::IToF { dst, a } | Inst::FToI { dst, a } | Inst::Bitcast { dst, a } => {
            (dst, a).hash(state)
        }
        Inst::Select { dst, cond, a, b } => (dst, cond, a, b).hash(state),
        Inst::ByteAt {
            value,
            in_bounds,
            ptr,
            len,
            index,
        } => (value, in_bounds, ptr, len, index).hash(state),
        Inst::Slice {
            dst_ptr,
            dst_len,
            ptr,
            len,
            lo,
            hi,
        } => (dst_ptr, dst_len, ptr, len, lo, hi).hash(state),
        Inst::Call {
            helper,
            args,
            dst,
            guard,
        } => (helper, args, dst, guard).hash(state),
        Inst::Out { cell, value } => (cell, value).hash(state),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::ir::{IBinOp, Reg};

    fn fconst(value: f64) -> InstKey {
        InstKey(Inst::FConst { dst: Reg(0), value })
    }

    /// The key's equality is the equality of the `Debug` texts, on the cases where they
    /// could differ from the fields' own equality.
    #[test]
    fn keys_are_equal_exactly_when_debug_texts_are() {
        let cases = [
            fconst(0.0),
            fconst(-0.0),
            fconst(f64::NAN),
            fconst(-f64::NAN),
            fconst(f64::from_bits(f64::NAN.to_bits() | 1)),
            fconst(f64::INFINITY),
            fconst(1.5),
            InstKey(Inst::IConst {
                dst: Reg(0),
                value: 0,
            }),
            InstKey(Inst::IBin {
                dst: Reg(0),
                op: IBinOp::Add,
                a: Reg(1),
                b: Reg(2),
            }),
            InstKey(Inst::IBin {
                dst: Reg(0),
                op: IBinOp::Add,
                a: Reg(2),
                b: Reg(1),
            }),
        ];
        for a in &cases {
            for b in &cases {
                let by_text = format!("{:?}", a.0) == format!("{:?}", b.0);
                assert_eq!(a == b, by_text, "{a:?} and {b:?}");
                let set: HashSet<&InstKey> = [a, b].into_iter().collect();
                assert_eq!(set.len() == 1, by_text, "{a:?} and {b:?} hash");
            }
        }
    }
}
