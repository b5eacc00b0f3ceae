//! Splitting `update` by the packet's direction.
//!
//! Much of an `update` only matters for one direction: stores and pushes whose predicate
//! is `pkt.dir == fwd` (or `bwd`), possibly `and`-ed with more, and the computations that
//! feed only them. [`split`] marks each instruction as [`Region::Common`],
//! [`Region::Fwd`] or [`Region::Bwd`]; the translation runs the common instructions in
//! their order, then branches once on the direction into the region of that direction
//! (each region's instructions in their order), so a packet skips the other direction's
//! half instead of computing it and writing back old values.
//!
//! The result is exact, not a heuristic:
//! - A *sink* (a predicated state store, or an effectful call whose predicate argument or
//!   guard) whose predicate implies a direction belongs to that direction's region: run only
//!   in the other direction, it would do nothing. "Implies fwd" is `icmp.eq dir, <fwd>` on
//!   the `PacketView::dir` byte, or an `and` with an operand that implies fwd.
//! - Any other instruction belongs to a region only if all of its users do (it has at
//!   least one); so a region's values are used only in that region.
//! - Region instructions run after every common instruction. A region instruction that
//!   accesses a state slot (or a helper's buffer) that a *later* common instruction also
//!   accesses, one of the two writing, stays common, and the analysis runs again until
//!   nothing conflicts. Indexed state accesses, string and TLS helpers, and accesses to
//!   memory that cannot be named (a byte pointer not known to point into the packet or
//!   kernel data) stay common or are treated as touching every slot.

use jjc_abi::Direction;
use jjc_abi::kernel::packet_offsets;
use jjc_kernel::ir::{self as kir, Helper, IBinOp, Inst, IntCC, Load, Reg};

/// Where an instruction of `update` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Region {
    /// For every packet, before the direction branch.
    Common,
    /// Only for forward packets, after the common instructions.
    Fwd,
    /// Only for backward packets, after the common instructions.
    Bwd,
}

/// A register whose value is known inside a region: the direction byte, or a test of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DirTest {
    /// `load.u8 pkt+<dir>`: 0 in [`Region::Fwd`], 1 in [`Region::Bwd`].
    Dir,
    /// `icmp.eq dir, <that direction>`: 1 in its region, 0 in the other.
    Is(Region),
}

impl DirTest {
    /// The value of the register while the instructions of `region` run.
    pub(crate) fn value_in(self, region: Region) -> i64 {
        match self {
            DirTest::Dir if region == Region::Bwd => Direction::Bwd as i64,
            DirTest::Dir => Direction::Fwd as i64,
            DirTest::Is(d) => i64::from(d == region),
        }
    }
}

/// How `update` splits by direction.
pub(crate) struct DirectionSplit {
    /// The region of every instruction (indexed like `f.insts`).
    pub(crate) regions: Vec<Region>,
    /// The direction byte and its tests: their values are constants in either region.
    pub(crate) tests: Vec<(Reg, DirTest)>,
    /// The state memory each instruction accesses (indexed like `f.insts`), which also
    /// tells the translation how far a state load may be delayed.
    pub(crate) accesses: Vec<Vec<Access>>,
    /// Whether each instruction may run in a block of its own at all (see [`split`]).
    pub(crate) movable: Vec<bool>,
    /// The predicate of each sink: a predicated store's, or a push's `pred` argument.
    pub(crate) predicates: Vec<Option<Reg>>,
}

impl DirectionSplit {
    /// The state accesses of instruction `i` (none past the end).
    pub(crate) fn accesses_of(&self, i: usize) -> &[Access] {
        self.accesses.get(i).map_or(&[], Vec::as_slice)
    }

    /// Whether instruction `i` may run in a block of its own.
    pub(crate) fn is_movable(&self, i: usize) -> bool {
        self.movable.get(i).copied().unwrap_or(false)
    }

    /// The predicate of instruction `i`, if it is a predicated sink.
    pub(crate) fn predicate_of(&self, i: usize) -> Option<Reg> {
        self.predicates.get(i).copied().flatten()
    }
}

/// The region of every instruction of `f` and the registers whose values the direction
/// fixes. All [`Region::Common`] when nothing can move (and always for `finish`).
pub(crate) fn split(f: &kir::Function) -> DirectionSplit {
    let facts = Facts::of(f);
    if f.kind != kir::FunctionKind::Update {
        return DirectionSplit {
            regions: vec![Region::Common; f.insts.len()],
            tests: Vec::new(),
            accesses: facts.accesses,
            movable: facts.movable,
            predicates: facts.predicates,
        };
    }
    let mut pinned = vec![false; f.insts.len()];
    loop {
        let regions = facts.assign(f, &pinned);
        let conflicts = facts.conflicts(&regions);
        if conflicts.is_empty() {
            return DirectionSplit {
                regions,
                tests: facts.tests,
                accesses: facts.accesses,
                movable: facts.movable,
                predicates: facts.predicates,
            };
        }
        for i in conflicts {
            if let Some(p) = pinned.get_mut(i) {
                *p = true;
            }
        }
    }
}

/// An access to state slots `lo..hi` (or to the helper buffers they own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Access {
    /// First slot.
    lo: u64,
    /// One past the last slot.
    hi: u64,
    /// Whether it may write.
    write: bool,
}

impl Access {
    fn slot(slot: u32, write: bool) -> Access {
        Access::range(slot, 1, write)
    }

    fn range(base: u32, len: u32, write: bool) -> Access {
        Access {
            lo: u64::from(base),
            hi: u64::from(base) + u64::from(len),
            write,
        }
    }

    /// Memory that cannot be named: it may be any slot's.
    fn anything(write: bool) -> Access {
        Access {
            lo: 0,
            hi: u64::MAX,
            write,
        }
    }

    /// Whether it may write.
    pub(crate) fn writes(self) -> bool {
        self.write
    }

    /// The slots `lo..hi` it accesses (`0..u64::MAX` for memory that cannot be named).
    pub(crate) fn slots(self) -> (u64, u64) {
        (self.lo, self.hi)
    }

    /// Whether the two accesses may not be reordered.
    pub(crate) fn conflicts_with(self, other: Access) -> bool {
        (self.write || other.write) && self.lo < other.hi && other.lo < self.hi
    }
}

/// Which arguments of a helper reach memory, and whether a call may run in a region.
struct HelperMemory {
    /// Slot addresses whose buffer the helper reads or writes.
    slots: &'static [usize],
    /// Byte pointers (packet bytes or kernel data) the helper reads.
    bytes: &'static [usize],
    /// TLS messages (a `TlsParse` result) the helper reads.
    messages: &'static [usize],
    /// The `pred` argument of a push.
    pred: Option<usize>,
    /// Whether a call may be moved into a region. String and TLS helpers may not: they
    /// fill the flow's strings or TLS buffer even when their result ends up unused.
    movable: bool,
}

fn helper_memory(helper: Helper) -> HelperMemory {
    let m = |slots, bytes, messages, pred, movable| HelperMemory {
        slots,
        bytes,
        messages,
        pred,
        movable,
    };
    match helper {
        Helper::RegexSet => m(&[], &[0, 1], &[], None, true),
        Helper::ValuesPush => m(&[0], &[], &[], Some(2), true),
        Helper::SketchPush | Helper::ModePush => m(&[0], &[], &[], Some(3), true),
        Helper::BytesPush => m(&[0], &[1], &[], Some(3), true),
        Helper::ValuesPercentile
        | Helper::ValuesMoment
        | Helper::ValuesMode
        | Helper::SketchPercentile
        | Helper::ModeGet
        | Helper::ModeCount
        | Helper::BytesEntropy => m(&[0], &[], &[], None, true),
        Helper::TlsParse => m(&[0], &[1], &[], None, false),
        Helper::TlsInt => m(&[], &[], &[0], None, false),
        Helper::TlsStr => m(&[3], &[2], &[0], None, false),
        Helper::StrLen | Helper::StrCmp | Helper::StrConcat | Helper::StrInt => {
            m(&[1], &[0], &[], None, false)
        }
        Helper::Ln | Helper::Log2 | Helper::Exp | Helper::Pow | Helper::FRem => {
            m(&[], &[], &[], None, true)
        }
        Helper::TableFind | Helper::ArrayGet | Helper::HistBin => m(&[], &[0], &[], None, true),
        Helper::BytesEq => m(&[], &[0, 2], &[], None, true),
    }
}

/// What the classification needs to know of each instruction, computed once.
struct Facts {
    /// The direction byte's registers and the registers testing it.
    tests: Vec<(Reg, DirTest)>,
    /// The users (instruction indices) of each register.
    users: Vec<Vec<usize>>,
    /// Whether each instruction may run in a region at all.
    movable: Vec<bool>,
    /// For sinks (instructions with effects), the direction their predicate implies.
    sink: Vec<Option<Region>>,
    /// The memory each instruction accesses.
    accesses: Vec<Vec<Access>>,
    /// The predicate register of each predicated sink.
    predicates: Vec<Option<Reg>>,
}

impl Facts {
    fn of(f: &kir::Function) -> Facts {
        let n_regs = f.regs.len();
        let mut def_inst: Vec<Option<usize>> = vec![None; n_regs];
        let mut users: Vec<Vec<usize>> = vec![Vec::new(); n_regs];
        let mut implies: Vec<Option<Region>> = vec![None; n_regs];
        let mut is_dir = vec![false; n_regs];
        let mut konst: Vec<Option<i64>> = vec![None; n_regs];
        // Registers known to point into memory nothing writes (packet bytes, kernel data).
        let mut immutable = vec![false; n_regs];
        let mut tests = Vec::new();
        for (i, inst) in f.insts.iter().enumerate() {
            for r in inst.uses() {
                if let Some(u) = users.get_mut(r.index()) {
                    u.push(i);
                }
            }
            for r in inst.defs() {
                set(&mut def_inst, r, Some(i));
            }
            let get = |v: &Vec<bool>, r: Reg| v.get(r.index()).copied().unwrap_or(false);
            match *inst {
                Inst::LoadPkt { dst, offset, load } => {
                    let dir = load == Load::U8 && offset as usize == packet_offsets::DIR;
                    if dir {
                        tests.push((dst, DirTest::Dir));
                    }
                    set(&mut is_dir, dst, dir);
                    set(&mut immutable, dst, load == Load::Ptr);
                }
                Inst::IConst { dst, value } => {
                    set(&mut konst, dst, Some(value));
                    set(&mut immutable, dst, true);
                }
                Inst::DataAddr { dst, .. } => set(&mut immutable, dst, true),
                Inst::Slice { dst_ptr, ptr, .. } => {
                    let p = get(&immutable, ptr);
                    set(&mut immutable, dst_ptr, p);
                }
                Inst::Select { dst, a, b, .. } => {
                    let p = get(&immutable, a) && get(&immutable, b);
                    set(&mut immutable, dst, p);
                }
                Inst::ICmp {
                    dst,
                    cc: IntCC::Eq,
                    a,
                    b,
                } => {
                    let k = |r: Reg| konst.get(r.index()).copied().flatten();
                    let d = match (get(&is_dir, a), get(&is_dir, b)) {
                        (true, _) => k(b),
                        (_, true) => k(a),
                        _ => None,
                    };
                    let dir = match d {
                        Some(c) if c == Direction::Fwd as i64 => Some(Region::Fwd),
                        Some(c) if c == Direction::Bwd as i64 => Some(Region::Bwd),
                        _ => None,
                    };
                    if let Some(d) = dir {
                        tests.push((dst, DirTest::Is(d)));
                    }
                    set(&mut implies, dst, dir);
                }
                Inst::IBin {
                    dst,
                    op: IBinOp::And,
                    a,
                    b,
                } => {
                    // `a & b != 0` needs both non-zero.
                    let at = |r: Reg| implies.get(r.index()).copied().flatten();
                    let dir = at(a).or(at(b));
                    set(&mut implies, dst, dir);
                }
                _ => {}
            }
        }
        let implied = |r: Reg| implies.get(r.index()).copied().flatten();
        let slot_of = |r: Reg| match def_inst.get(r.index()).copied().flatten() {
            Some(d) => match f.insts.get(d) {
                Some(Inst::SlotAddr { slot, .. }) => Some(*slot),
                _ => None,
            },
            None => None,
        };
        let is_immutable = |r: Reg| immutable.get(r.index()).copied().unwrap_or(false);
        let mut movable = Vec::with_capacity(f.insts.len());
        let mut sink = Vec::with_capacity(f.insts.len());
        let mut accesses = Vec::with_capacity(f.insts.len());
        let mut predicates = Vec::with_capacity(f.insts.len());
        for inst in &f.insts {
            predicates.push(match inst {
                Inst::StoreState { pred, .. } => *pred,
                Inst::Call { helper, args, .. } => helper_memory(*helper)
                    .pred
                    .and_then(|k| args.get(k).copied()),
                _ => None,
            });
            let (m, s, a) = match inst {
                Inst::StoreState { slot, pred, .. } => (
                    pred.is_some(),
                    pred.and_then(implied),
                    vec![Access::slot(*slot, true)],
                ),
                Inst::LoadState { slot, .. } => (true, None, vec![Access::slot(*slot, false)]),
                Inst::LoadStateIndexed { base, len, .. } => {
                    (false, None, vec![Access::range(*base, *len, false)])
                }
                Inst::StoreStateIndexed { base, len, .. } => {
                    (false, None, vec![Access::range(*base, *len, true)])
                }
                Inst::ByteAt { ptr, .. } => {
                    let a = if is_immutable(*ptr) {
                        vec![]
                    } else {
                        vec![Access::anything(false)]
                    };
                    (true, None, a)
                }
                Inst::Call {
                    helper,
                    args,
                    guard,
                    ..
                } => {
                    let hm = helper_memory(*helper);
                    let arg = |k: &usize| args.get(*k).copied();
                    let mut a = Vec::new();
                    for r in hm.slots.iter().map(arg) {
                        a.push(match r.and_then(slot_of) {
                            Some(slot) => Access::slot(slot, true),
                            None => Access::anything(true),
                        });
                    }
                    for r in hm.bytes.iter().map(arg) {
                        if !r.is_some_and(is_immutable) {
                            a.push(Access::anything(false));
                        }
                    }
                    for r in hm.messages.iter().map(arg) {
                        a.push(match r.and_then(|r| tls_slot(f, &def_inst, r, slot_of)) {
                            Some(slot) => Access::slot(slot, false),
                            None => Access::anything(false),
                        });
                    }
                    let s = hm
                        .pred
                        .and_then(|k| arg(&k))
                        .and_then(implied)
                        .or(guard.and_then(implied));
                    (hm.movable, s, a)
                }
                Inst::Out { .. } | Inst::LoadFlow { .. } => (false, None, vec![]),
                _ => (true, None, vec![]),
            };
            movable.push(m);
            sink.push(s);
            accesses.push(a);
        }
        Facts {
            tests,
            users,
            movable,
            sink,
            accesses,
            predicates,
        }
    }

    /// Regions by the users rule, with the `pinned` instructions kept common.
    fn assign(&self, f: &kir::Function, pinned: &[bool]) -> Vec<Region> {
        let n = f.insts.len();
        let mut regions = vec![Region::Common; n];
        for i in (0..n).rev() {
            let Some(inst) = f.insts.get(i) else {
                continue;
            };
            let fixed = pinned.get(i).copied().unwrap_or(true)
                || !self.movable.get(i).copied().unwrap_or(false);
            let region = if fixed {
                Region::Common
            } else if inst.has_effects() {
                // A sink moves to its direction's region, unless its result (a guarded
                // call's, say) is used outside that region.
                match self.sink.get(i).copied().flatten() {
                    Some(r) if self.results_unused_or_in(inst, r, &regions) => r,
                    _ => Region::Common,
                }
            } else {
                self.users_region(inst, &regions)
            };
            if let Some(r) = regions.get_mut(i) {
                *r = region;
            }
        }
        regions
    }

    /// Whether every user of `inst`'s results (if any) is in `region`.
    fn results_unused_or_in(&self, inst: &Inst, region: Region, regions: &[Region]) -> bool {
        inst.defs().iter().all(|r| {
            self.users
                .get(r.index())
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .all(|&u| regions.get(u).copied() == Some(region))
        })
    }

    /// The one region of all users of `inst`'s results, or common.
    fn users_region(&self, inst: &Inst, regions: &[Region]) -> Region {
        let mut found = None;
        for r in inst.defs() {
            for &u in self.users.get(r.index()).map_or(&[][..], Vec::as_slice) {
                let ur = regions.get(u).copied().unwrap_or(Region::Common);
                if ur == Region::Common || found.is_some_and(|f| f != ur) {
                    return Region::Common;
                }
                found = Some(ur);
            }
        }
        found.unwrap_or(Region::Common)
    }

    /// The region instructions that access memory a later common instruction accesses.
    fn conflicts(&self, regions: &[Region]) -> Vec<usize> {
        let common: Vec<(usize, Access)> = regions
            .iter()
            .enumerate()
            .filter(|(_, r)| **r == Region::Common)
            .flat_map(|(i, _)| {
                self.accesses
                    .get(i)
                    .into_iter()
                    .flatten()
                    .map(move |a| (i, *a))
            })
            .collect();
        regions
            .iter()
            .enumerate()
            .filter(|(i, r)| {
                **r != Region::Common
                    && self
                        .accesses
                        .get(*i)
                        .into_iter()
                        .flatten()
                        .any(|a| common.iter().any(|(j, c)| j > i && a.conflicts_with(*c)))
            })
            .map(|(i, _)| i)
            .collect()
    }
}

/// Sets register `r`'s entry of a per-register table.
fn set<T>(table: &mut [T], r: Reg, x: T) {
    if let Some(slot) = table.get_mut(r.index()) {
        *slot = x;
    }
}

/// The slot whose TLS buffer `messages` (a `TlsParse` result) points into.
fn tls_slot(
    f: &kir::Function,
    def_inst: &[Option<usize>],
    messages: Reg,
    slot_of: impl Fn(Reg) -> Option<u32>,
) -> Option<u32> {
    let d = def_inst.get(messages.index()).copied().flatten()?;
    match f.insts.get(d)? {
        Inst::Call {
            helper: Helper::TlsParse,
            args,
            ..
        } => slot_of(*args.first()?),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
