//! The order a function's instructions are emitted in, and which state loads may move.
//!
//! The translation emits the common instructions, then each direction region ([`regions`]).
//! Within each, guarded calls that share a guard and follow one another form one
//! [`GuardGroup`], emitted as one block: a packet without TLS tests its parse once, not
//! once per TLS field. What a group's results feed only matters when its guard is not 0:
//! the stores and pushes whose predicate implies the guard, and the instructions that feed
//! only them, run at the end of their region in a block of their own ([`GuardedTail`]), so
//! a packet without TLS skips the TLS features' stores instead of writing back old values.
//!
//! The kernel IR reads the state first and computes after, so a load placed where the IR
//! has it stays live across the helper calls that follow, and is spilled to the stack and
//! read back (the calling convention keeps no float register, and few integer ones, across
//! a call). Cranelift moves a load to where its value is needed only when the load is marked
//! movable (`readonly`, `can_move`), which promises that nothing writes the memory while the
//! function runs. For a state slot that promise is kept when no instruction may write the
//! slot before the last instruction that depends on the load (in emission order): Cranelift
//! then places the load at or before its first use, which is never after such a write. A
//! write that itself depends on the load (`state[s] = state[s] + 1`) is emitted after it.
//! Two movable loads of one slot, which Cranelift may merge, then both read the slot before
//! any write to it.
//!
//! [`regions`]: super::regions

use jjc_kernel::ir as kir;

use super::regions::{Access, DirectionSplit, Region};

/// One step of the emission: an instruction, a group of guarded calls, or the part of a
/// region that runs only when a guard is not 0.
pub(crate) enum Step {
    /// The instruction at this index.
    One(usize),
    /// Guarded calls with one guard, and the instructions moved around them.
    Group(GuardGroup),
    /// Instructions that matter only when a guard is not 0, at the end of their region.
    Tail(GuardedTail),
}

impl Step {
    /// The instructions this step emits, in the order it emits them.
    fn order(&self) -> Vec<usize> {
        match self {
            Step::One(i) => vec![*i],
            Step::Group(g) => g
                .before
                .iter()
                .chain(&g.calls)
                .chain(&g.after)
                .copied()
                .collect(),
            Step::Tail(t) => t.insts.clone(),
        }
    }
}

/// The instructions of a region that matter only when `guard` is not 0, run after the rest
/// of the region, in their order, when it is not.
///
/// A register *implies the guard* when it is the guard, the result of a call guarded by it
/// (0 when the call is skipped), or an `and` with such an operand: when it is not 0, neither
/// is the guard. A sink (a predicated store, or a push) whose predicate implies the guard
/// does nothing when the guard is 0, so it can run under the guard; so can an instruction
/// free of effects that has users and whose every user does, state loads among them. What moves must not
/// touch memory that an instruction after it (in the region, or for the common part in the
/// direction regions) also touches, one of the two writing: such an instruction stays, and
/// the choice is made again until nothing conflicts.
pub(crate) struct GuardedTail {
    /// The guard register.
    pub(crate) guard: kir::Reg,
    /// The instructions (indices), in order.
    pub(crate) insts: Vec<usize>,
}

/// A run of guarded calls with one guard, emitted as one block: the calls in their order,
/// taken when the guard is not 0.
///
/// The run is a window of the instructions in emission order that starts and ends with a
/// call guarded by the same register. Every other instruction in it must be free of effects
/// and of state accesses, so it may move: to before the calls (`before`) when it does not
/// depend on their results, or after them (`after`) when it does. A call whose arguments
/// depend on an earlier call's result ends the run before it, as does anything else.
pub(crate) struct GuardGroup {
    /// The guard register.
    pub(crate) guard: kir::Reg,
    /// The calls (instruction indices), in order.
    pub(crate) calls: Vec<usize>,
    /// Instructions of the window that run before the guard's test.
    pub(crate) before: Vec<usize>,
    /// Instructions of the window that use the calls' results: they run after the join.
    pub(crate) after: Vec<usize>,
}

impl GuardGroup {
    /// The run that starts at `order[0]`, a call guarded by `guard`, and how many of
    /// `order`'s entries it spans.
    fn collect(
        src: &kir::Function,
        split: &DirectionSplit,
        order: &[usize],
        guard: kir::Reg,
    ) -> (GuardGroup, usize) {
        let mut group = GuardGroup {
            guard,
            calls: Vec::new(),
            before: Vec::new(),
            after: Vec::new(),
        };
        let mut len = 0;
        // Registers that depend on the calls' results: defined only after the join.
        let mut late = vec![false; src.regs.len()];
        let is_late = |late: &[bool], r: kir::Reg| late.get(r.index()).copied().unwrap_or(true);
        let (mut before, mut after) = (Vec::new(), Vec::new());
        for (k, &i) in order.iter().enumerate() {
            let Some(inst) = src.insts.get(i) else {
                break;
            };
            let uses_late = inst.uses().iter().any(|&r| is_late(&late, r));
            let joins = matches!(inst, kir::Inst::Call { guard: Some(g), .. } if *g == guard);
            if joins {
                if uses_late {
                    break;
                }
                group.calls.push(i);
                group.before.append(&mut before);
                group.after.append(&mut after);
                len = k + 1;
            } else if movable(inst, split.accesses_of(i)) {
                if uses_late {
                    after.push(i);
                } else {
                    before.push(i);
                    continue;
                }
            } else {
                break;
            }
            for r in inst.defs() {
                if let Some(l) = late.get_mut(r.index()) {
                    *l = true;
                }
            }
        }
        (group, len)
    }
}

/// Whether an instruction may be emitted out of order around calls: no effects, no call,
/// no state or buffer access.
fn movable(inst: &kir::Inst, accesses: &[Access]) -> bool {
    !matches!(inst, kir::Inst::Call { .. }) && !inst.has_effects() && accesses.is_empty()
}

/// How a function is emitted.
pub(crate) struct Schedule {
    /// The common instructions' steps.
    pub(crate) common: Vec<Step>,
    /// The forward region's steps.
    pub(crate) fwd: Vec<Step>,
    /// The backward region's steps.
    pub(crate) bwd: Vec<Step>,
    /// For each instruction: a `LoadState` that may be emitted as a movable load.
    pub(crate) movable_load: Vec<bool>,
}

impl Schedule {
    /// The steps of `region`.
    pub(crate) fn steps(&self, region: Region) -> &[Step] {
        match region {
            Region::Common => &self.common,
            Region::Fwd => &self.fwd,
            Region::Bwd => &self.bwd,
        }
    }

    /// Whether instruction `i` is a state load that may be emitted movable.
    pub(crate) fn is_movable_load(&self, i: usize) -> bool {
        self.movable_load.get(i).copied().unwrap_or(false)
    }
}

/// The schedule of `src`, split as `split` says.
pub(crate) fn schedule(src: &kir::Function, split: &DirectionSplit) -> Schedule {
    let steps_of = |region: Region| {
        let order: Vec<usize> = (0..src.insts.len())
            .filter(|&i| split.regions.get(i) == Some(&region))
            .collect();
        let mut steps = Vec::new();
        let mut k = 0;
        while let Some(&i) = order.get(k) {
            if let Some(kir::Inst::Call {
                guard: Some(guard), ..
            }) = src.insts.get(i)
            {
                let (group, len) =
                    GuardGroup::collect(src, split, order.get(k..).unwrap_or(&[]), *guard);
                if len > 0 {
                    steps.push(Step::Group(group));
                    k += len;
                    continue;
                }
            }
            steps.push(Step::One(i));
            k += 1;
        }
        steps
    };
    let mut common = steps_of(Region::Common);
    let mut fwd = steps_of(Region::Fwd);
    let mut bwd = steps_of(Region::Bwd);
    let guards: Vec<kir::Reg> = [&common, &fwd, &bwd]
        .into_iter()
        .flatten()
        .filter_map(|s| match s {
            Step::Group(g) => Some(g.guard),
            _ => None,
        })
        .fold(Vec::new(), |mut gs, g| {
            if !gs.contains(&g) {
                gs.push(g);
            }
            gs
        });
    if !guards.is_empty() {
        let users = users_of(src);
        // The common part's tail runs before the direction regions: their accesses come
        // after it.
        let regions_after: Vec<Access> = fwd
            .iter()
            .chain(&bwd)
            .flat_map(Step::order)
            .flat_map(|i| split.accesses_of(i).iter().copied())
            .collect();
        for guard in guards {
            let implied = implied_by(src, guard);
            for (steps, after) in [
                (&mut common, &regions_after[..]),
                (&mut fwd, &[][..]),
                (&mut bwd, &[][..]),
            ] {
                let tail = guarded_tail(src, split, &users, &implied, steps, after);
                if !tail.is_empty() {
                    steps.retain(|s| !matches!(s, Step::One(i) if tail.contains(i)));
                    steps.push(Step::Tail(GuardedTail { guard, insts: tail }));
                }
            }
        }
    }
    let order: Vec<usize> = common
        .iter()
        .chain(&fwd)
        .chain(&bwd)
        .flat_map(Step::order)
        .collect();
    let movable_load = movable_loads(src, split, &order);
    Schedule {
        common,
        fwd,
        bwd,
        movable_load,
    }
}

/// The users (instruction indices) of each register.
fn users_of(src: &kir::Function) -> Vec<Vec<usize>> {
    let mut users = vec![Vec::new(); src.regs.len()];
    for (i, inst) in src.insts.iter().enumerate() {
        for r in inst.uses() {
            if let Some(u) = users.get_mut(r.index()) {
                u.push(i);
            }
        }
    }
    users
}

/// For each register, whether it implies `guard` (see [`GuardedTail`]).
fn implied_by(src: &kir::Function, guard: kir::Reg) -> Vec<bool> {
    let mut implied = vec![false; src.regs.len()];
    let at = |implied: &[bool], r: kir::Reg| implied.get(r.index()).copied().unwrap_or(false);
    if let Some(g) = implied.get_mut(guard.index()) {
        *g = true;
    }
    for inst in &src.insts {
        let (dst, yes) = match *inst {
            kir::Inst::Call {
                dst: Some(dst),
                guard: Some(g),
                ..
            } => (dst, g == guard),
            kir::Inst::IBin {
                dst,
                op: kir::IBinOp::And,
                a,
                b,
            } => (dst, at(&implied, a) || at(&implied, b)),
            _ => continue,
        };
        if yes && let Some(d) = implied.get_mut(dst.index()) {
            *d = true;
        }
    }
    implied
}

/// The instructions among `steps` (single instructions only) that can run under the guard
/// `implied` describes, in order; `after` are the accesses of what runs after the steps.
fn guarded_tail(
    src: &kir::Function,
    split: &DirectionSplit,
    users: &[Vec<usize>],
    implied: &[bool],
    steps: &[Step],
    after: &[Access],
) -> Vec<usize> {
    let order: Vec<usize> = steps.iter().flat_map(Step::order).collect();
    let single: Vec<usize> = steps
        .iter()
        .filter_map(|s| match s {
            Step::One(i) => Some(*i),
            _ => None,
        })
        .collect();
    let mut pinned = vec![false; src.insts.len()];
    loop {
        let mut moved = vec![false; src.insts.len()];
        for &i in single.iter().rev() {
            let Some(inst) = src.insts.get(i) else {
                continue;
            };
            if pinned.get(i).copied().unwrap_or(true) || !split.is_movable(i) {
                continue;
            }
            let defs = inst.defs();
            let users_moved = || {
                defs.iter().all(|d| {
                    users
                        .get(d.index())
                        .is_some_and(|us| us.iter().all(|&u| moved.get(u) == Some(&true)))
                })
            };
            let sink = split
                .predicate_of(i)
                .is_some_and(|p| implied.get(p.index()).copied().unwrap_or(false));
            let used = defs
                .iter()
                .any(|d| users.get(d.index()).is_some_and(|us| !us.is_empty()));
            let feeds_only_moved = !inst.has_effects()
                && !matches!(inst, kir::Inst::Call { .. })
                && used
                && users_moved();
            if ((sink && users_moved()) || feeds_only_moved)
                && let Some(m) = moved.get_mut(i)
            {
                *m = true;
            }
        }
        // A moved instruction must not touch what a later one that stays touches.
        let mut conflicts = Vec::new();
        for (k, &i) in order.iter().enumerate() {
            if !moved.get(i).copied().unwrap_or(false) {
                continue;
            }
            let later = order
                .iter()
                .skip(k + 1)
                .filter(|&&j| !moved.get(j).copied().unwrap_or(false))
                .flat_map(|&j| split.accesses_of(j).iter().copied())
                .chain(after.iter().copied());
            let mine = split.accesses_of(i);
            if later
                .clone()
                .any(|b| mine.iter().any(|a| a.conflicts_with(b)))
            {
                conflicts.push(i);
            }
        }
        if conflicts.is_empty() {
            return order
                .into_iter()
                .filter(|&i| moved.get(i).copied().unwrap_or(false))
                .collect();
        }
        for i in conflicts {
            if let Some(p) = pinned.get_mut(i) {
                *p = true;
            }
        }
    }
}

/// For each instruction, whether it is a state load that no instruction may write the slot
/// of before the last instruction that depends on it, everything taken in emission `order`.
fn movable_loads(src: &kir::Function, split: &DirectionSplit, order: &[usize]) -> Vec<bool> {
    let n = src.insts.len();
    let mut pos = vec![usize::MAX; n];
    for (p, &i) in order.iter().enumerate() {
        if let Some(x) = pos.get_mut(i) {
            *x = p;
        }
    }
    // The last position of each register's uses, through every instruction that depends on
    // it: from the end, an instruction reaches as far as the furthest user of its results.
    let mut reach_of_reg = vec![0usize; src.regs.len()];
    let mut reach = vec![0usize; n];
    for (p, &i) in order.iter().enumerate().rev() {
        let Some(inst) = src.insts.get(i) else {
            continue;
        };
        let r = inst
            .defs()
            .iter()
            .map(|d| reach_of_reg.get(d.index()).copied().unwrap_or(usize::MAX))
            .fold(p, usize::max);
        if let Some(x) = reach.get_mut(i) {
            *x = r;
        }
        for u in inst.uses() {
            if let Some(x) = reach_of_reg.get_mut(u.index()) {
                *x = (*x).max(r);
            }
        }
    }
    // The first position at which anything may write each slot.
    let slots = src
        .insts
        .iter()
        .filter_map(|inst| match inst {
            kir::Inst::LoadState { slot, .. } => Some(*slot as usize + 1),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let mut first_write = vec![usize::MAX; slots];
    for (i, accesses) in split.accesses.iter().enumerate() {
        let p = pos.get(i).copied().unwrap_or(usize::MAX);
        for a in accesses.iter().filter(|a| a.writes()) {
            // Slots past every loaded one do not matter; memory that cannot be named is
            // every slot.
            let (lo, hi) = a.slots();
            let lo = usize::try_from(lo).map_or(slots, |lo| lo.min(slots));
            let hi = usize::try_from(hi).map_or(slots, |hi| hi.min(slots));
            for w in first_write.get_mut(lo..hi).into_iter().flatten() {
                *w = (*w).min(p);
            }
        }
    }
    src.insts
        .iter()
        .enumerate()
        .map(|(i, inst)| match inst {
            kir::Inst::LoadState { slot, .. } => {
                let written = first_write
                    .get(*slot as usize)
                    .copied()
                    .unwrap_or(usize::MAX);
                let emitted = pos.get(i).copied().unwrap_or(usize::MAX) != usize::MAX;
                emitted && reach.get(i).is_some_and(|&r| r <= written)
            }
            _ => false,
        })
        .collect()
}

#[cfg(test)]
mod tests;
