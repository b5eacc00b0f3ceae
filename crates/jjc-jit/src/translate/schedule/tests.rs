//! The emission order and the movable loads on hand-built functions.

use jjc_abi::kernel::packet_offsets;
use jjc_kernel::ir::{FunctionKind, Helper, IBinOp, Load, Reg};

use super::super::regions::split;
use super::super::test_asm::Asm;
use super::{Schedule, Step, schedule};

/// The schedule of `a`'s function.
fn schedule_of(a: &Asm) -> Schedule {
    schedule(&a.f, &split(&a.f))
}

/// A step as plain data: an instruction, a group's (before, calls, after), or a tail.
#[derive(Debug, PartialEq)]
enum Shape {
    One(usize),
    Group(Vec<usize>, Vec<usize>, Vec<usize>),
    Tail(Vec<usize>),
}

fn shapes(steps: &[Step]) -> Vec<Shape> {
    steps
        .iter()
        .map(|s| match s {
            Step::One(i) => Shape::One(*i),
            Step::Group(g) => Shape::Group(g.before.clone(), g.calls.clone(), g.after.clone()),
            Step::Tail(t) => Shape::Tail(t.insts.clone()),
        })
        .collect()
}

/// `messages = tls_parse(&state[0], payload)`, the guard of TLS field calls, and the index
/// of the parse.
fn parse(a: &mut Asm) -> (usize, Reg) {
    let (_, ptr) = a.pkt(packet_offsets::PAYLOAD_PTR, Load::Ptr);
    let (_, len) = a.pkt(packet_offsets::PAYLOAD_LEN, Load::U32);
    let (_, tls) = a.slot_addr(0);
    a.call(Helper::TlsParse, vec![tls, ptr, len], None)
}

/// A TLS parse `m`, a constant `k` (7) and the TLS field `r = tls_int(m, k) if m`.
fn tls_field(a: &mut Asm) -> (Reg, Reg, Reg) {
    let (_, m) = parse(a);
    let (_, k) = a.iconst(7);
    let (_, r) = a.call(Helper::TlsInt, vec![m, k], Some(m));
    (m, k, r)
}

#[test]
fn guarded_calls_with_one_guard_form_one_group() {
    let mut a = Asm::new(FunctionKind::Update);
    let (i_parse, m) = parse(&mut a);
    let (i_k1, k1) = a.iconst(1);
    let (c1, r1) = a.call(Helper::TlsInt, vec![m, k1], Some(m));
    // Uses the first result: after the join.
    let (i_and, both) = a.ibin(IBinOp::And, r1, k1);
    // Independent: before the test.
    let (i_k2, k2) = a.iconst(2);
    let (c2, _) = a.call(Helper::TlsInt, vec![m, k2], Some(m));
    // After the last call: not part of the group.
    let (i_k3, _) = a.iconst(3);
    let i_store = a.store(1, both, None);
    let mut want: Vec<Shape> = (0..=i_parse).map(Shape::One).collect();
    want.extend([
        Shape::One(i_k1),
        Shape::Group(vec![i_k2], vec![c1, c2], vec![i_and]),
        Shape::One(i_k3),
        Shape::One(i_store),
    ]);
    assert_eq!(shapes(&schedule_of(&a).common), want);
}

#[test]
fn a_call_on_a_result_another_guard_or_a_store_ends_the_group() {
    let mut a = Asm::new(FunctionKind::Update);
    let (i_parse, m) = parse(&mut a);
    let (_, k1) = a.iconst(1);
    let (c1, r1) = a.call(Helper::TlsInt, vec![m, k1], Some(m));
    // The next call's argument depends on the first call's result.
    let (i_and, both) = a.ibin(IBinOp::And, r1, k1);
    let (c2, r2) = a.call(Helper::TlsInt, vec![m, both], Some(m));
    // Guarded by another register.
    let (c3, _) = a.call(Helper::TlsInt, vec![m, k1], Some(r2));
    let (c4, _) = a.call(Helper::TlsInt, vec![m, k1], Some(m));
    let i_store = a.store(1, k1, None);
    let (c5, _) = a.call(Helper::TlsInt, vec![m, k1], Some(m));
    let tail: Vec<Shape> = shapes(&schedule_of(&a).common)
        .into_iter()
        .skip(i_parse + 2)
        .collect();
    let group = |c| Shape::Group(vec![], vec![c], vec![]);
    assert_eq!(
        tail,
        vec![
            group(c1),
            Shape::One(i_and),
            group(c2),
            group(c3),
            group(c4),
            Shape::One(i_store),
            group(c5),
        ]
    );
}

/// Whether the load at `i` is movable.
fn movable(a: &Asm, i: usize) -> bool {
    schedule_of(a).is_movable_load(i)
}

#[test]
fn a_load_moves_when_no_write_comes_before_its_last_use() {
    // s0 += 1: the write is the load's last use.
    let mut a = Asm::new(FunctionKind::Update);
    let (load, x) = a.load(0);
    let (_, one) = a.iconst(1);
    let (_, y) = a.ibin(IBinOp::Add, x, one);
    a.store(0, y, None);
    assert!(movable(&a, load));

    // The old value is used after the write.
    let mut a = Asm::new(FunctionKind::Update);
    let (load, x) = a.load(0);
    let (_, one) = a.iconst(1);
    a.store(0, one, None);
    a.store(1, x, None);
    assert!(!movable(&a, load));

    // Written before the load.
    let mut a = Asm::new(FunctionKind::Update);
    let (_, one) = a.iconst(1);
    a.store(0, one, None);
    let (load, x) = a.load(0);
    a.store(1, x, None);
    assert!(!movable(&a, load));

    // Another slot's write does not matter.
    let mut a = Asm::new(FunctionKind::Update);
    let (load, x) = a.load(0);
    let (_, one) = a.iconst(1);
    a.store(2, one, None);
    a.store(1, x, None);
    assert!(movable(&a, load));
}

#[test]
fn a_call_that_may_write_the_slot_keeps_the_load() {
    // A push to slot 0's buffer writes slot 0 (its pointer).
    let mut a = Asm::new(FunctionKind::Update);
    let (load, x) = a.load(0);
    let (_, addr) = a.slot_addr(0);
    let (_, one) = a.iconst(1);
    a.call(Helper::ValuesPush, vec![addr, one, one], None);
    a.store(1, x, None);
    assert!(!movable(&a, load));

    // A push through an address that is not a slot's may write any slot.
    let mut a = Asm::new(FunctionKind::Update);
    let (load, x) = a.load(3);
    let (_, one) = a.iconst(1);
    let (_, addr) = a.ibin(IBinOp::Add, one, one);
    a.call(Helper::ValuesPush, vec![addr, one, one], None);
    a.store(1, x, None);
    assert!(!movable(&a, load));
}

#[test]
fn a_use_in_a_region_comes_after_every_common_write() {
    // `state[1] = old s0 if fwd` runs in the forward region, after the common `s0 = 1`.
    let mut a = Asm::new(FunctionKind::Update);
    let (_, dir) = a.pkt(packet_offsets::DIR, Load::U8);
    let (_, zero) = a.iconst(0);
    let (_, fwd) = a.eq(dir, zero);
    let (load, x) = a.load(0);
    let (_, one) = a.iconst(1);
    let i_store = a.store(1, x, Some(fwd));
    a.store(0, one, None);
    assert!(!movable(&a, load));
    // Without the common write it moves.
    a.f.insts.pop();
    assert_eq!(a.f.insts.len(), i_store + 1);
    assert!(movable(&a, load));
}

/// The tail of the common steps, if any: its guard and instructions.
fn common_tail(a: &Asm) -> Option<(Reg, Vec<usize>)> {
    schedule_of(a).common.iter().find_map(|s| match s {
        Step::Tail(t) => Some((t.guard, t.insts.clone())),
        _ => None,
    })
}

#[test]
fn stores_that_need_the_guard_run_at_the_end_under_it() {
    let mut a = Asm::new(FunctionKind::Update);
    let (m, k, r) = tls_field(&mut a);
    // `r & one` implies the guard: the store and the `and` feeding only it move.
    let (_, one) = a.iconst(1);
    let (i_and, p) = a.ibin(IBinOp::And, r, one);
    let i_store = a.store(1, r, Some(p));
    // Not implied by the guard (`one` alone): stays.
    let i_other = a.store(2, k, Some(one));
    assert_eq!(common_tail(&a), Some((m, vec![i_and, i_store])));
    let steps = schedule_of(&a).common;
    let last_two: Vec<bool> = steps
        .iter()
        .rev()
        .take(2)
        .map(|s| matches!(s, Step::Tail(_)))
        .collect();
    assert_eq!(last_two, vec![true, false], "the tail ends the steps");
    assert!(
        steps
            .iter()
            .any(|s| matches!(s, Step::One(i) if *i == i_other)),
        "a store the guard does not imply stays"
    );
}

#[test]
fn what_a_later_instruction_touches_stays_out_of_the_tail() {
    let mut a = Asm::new(FunctionKind::Update);
    let (_, _, r) = tls_field(&mut a);
    a.store(1, r, Some(r));
    // A later load of slot 1 must see the store: it stays where it is.
    let (_, x) = a.load(1);
    a.store(3, x, None);
    assert_eq!(common_tail(&a), None);

    // A common tail also stays out of a slot the direction regions use.
    let mut a = Asm::new(FunctionKind::Update);
    let (m, k, r) = tls_field(&mut a);
    let i_store = a.store(1, r, Some(r));
    let (_, dir) = a.pkt(packet_offsets::DIR, Load::U8);
    let (_, zero) = a.iconst(0);
    let (_, fwd) = a.eq(dir, zero);
    let (_, x) = a.load(4);
    a.store(5, x, Some(fwd));
    assert_eq!(common_tail(&a), Some((m, vec![i_store])));
    a.store(1, k, Some(fwd));
    assert_eq!(common_tail(&a), None);
}
