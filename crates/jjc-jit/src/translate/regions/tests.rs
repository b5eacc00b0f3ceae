//! The direction classification on hand-built `update` functions.

use jjc_abi::kernel::packet_offsets;
use jjc_kernel::ir::{FunctionKind, Helper, IBinOp, Inst, Load, MTy, Reg};

use super::super::test_asm::Asm;
use super::{DirTest, Region, split};

use Region::{Bwd, Common, Fwd};

/// The prologue of a JJ-CORE `update`: the direction byte, `fwd = dir == 0`,
/// `bwd = dir == 1`, and the constants 0 and 1.
struct Dir {
    one: Reg,
    fwd: Reg,
    bwd: Reg,
}

fn prologue(a: &mut Asm) -> Dir {
    let (_, dir) = a.pkt(packet_offsets::DIR, Load::U8);
    let (_, zero) = a.iconst(0);
    let (_, fwd) = a.eq(dir, zero);
    let (_, one) = a.iconst(1);
    // The constant on the left: the comparison is symmetric.
    let (_, bwd) = a.eq(one, dir);
    Dir { one, fwd, bwd }
}

/// The regions of the given instructions.
fn regions_of(a: &Asm, insts: &[usize]) -> Vec<Region> {
    let regions = split(&a.f).regions;
    assert_eq!(regions.len(), a.f.insts.len());
    insts.iter().map(|&i| regions[i]).collect()
}

#[test]
fn counters_of_one_direction_move_with_their_inputs() {
    let mut a = Asm::new(FunctionKind::Update);
    let d = prologue(&mut a);
    let (l0, c0) = a.load(0);
    let (n0, c0p) = a.ibin(IBinOp::Add, c0, d.one);
    let s0 = a.store(0, c0p, Some(d.fwd));
    let (l1, c1) = a.load(1);
    let (n1, c1p) = a.ibin(IBinOp::Add, c1, d.one);
    let s1 = a.store(1, c1p, Some(d.bwd));
    // Unpredicated, or feeding both directions: common.
    let (l2, c2) = a.load(2);
    let (n2, c2p) = a.ibin(IBinOp::Add, c2, d.one);
    let s2 = a.store(2, c2p, None);
    let s3 = a.store(3, c2p, Some(d.fwd));
    let s4 = a.store(4, c2p, Some(d.bwd));
    // The direction byte feeds both tests; each test (and the 0 it compares with) feeds
    // only its direction.
    assert_eq!(
        regions_of(&a, &[0, 1, 2, 3, 4]),
        vec![Common, Fwd, Fwd, Common, Bwd],
    );
    assert_eq!(
        regions_of(&a, &[l0, n0, s0, l1, n1, s1]),
        vec![Fwd, Fwd, Fwd, Bwd, Bwd, Bwd]
    );
    assert_eq!(
        regions_of(&a, &[l2, n2, s2, s3, s4]),
        vec![Common, Common, Common, Fwd, Bwd]
    );
}

#[test]
fn a_chain_of_ands_with_the_direction_implies_it() {
    let mut a = Asm::new(FunctionKind::Update);
    let d = prologue(&mut a);
    let (_, x) = a.load(5);
    let (_, y) = a.load(6);
    let (_, p1) = a.ibin(IBinOp::And, d.fwd, x);
    let (_, p2) = a.ibin(IBinOp::And, y, p1);
    let s0 = a.store(0, d.one, Some(p2));
    // `or` does not imply the direction.
    let (_, q) = a.ibin(IBinOp::Or, d.bwd, x);
    let s1 = a.store(1, d.one, Some(q));
    // Nor does a comparison of the direction with anything else than 0 or 1.
    let (_, dir) = a.pkt(packet_offsets::DIR, Load::U8);
    let (_, two) = a.iconst(2);
    let (_, r) = a.eq(dir, two);
    let s2 = a.store(2, d.one, Some(r));
    // Nor a byte at another offset.
    let (_, other) = a.pkt(packet_offsets::DIR + 1, Load::U8);
    let (_, z) = a.iconst(0);
    let (_, t) = a.eq(other, z);
    let s3 = a.store(3, d.one, Some(t));
    let (_, u) = a.ibin(IBinOp::And, p2, d.bwd);
    let s4 = a.store(4, d.one, Some(u));
    assert_eq!(
        regions_of(&a, &[s0, s1, s2, s3]),
        vec![Fwd, Common, Common, Common]
    );
    // A contradictory predicate (never true) implies either direction.
    assert_ne!(regions_of(&a, &[s4]), vec![Common]);
}

#[test]
fn a_load_does_not_move_past_a_later_common_store_to_its_slot() {
    let mut a = Asm::new(FunctionKind::Update);
    let d = prologue(&mut a);
    // state[6] = state[5] + 1 if fwd, then state[5] = 1 for every packet.
    let (l5, x) = a.load(5);
    let (add, y) = a.ibin(IBinOp::Add, x, d.one);
    let s6 = a.store(6, y, Some(d.fwd));
    let s5 = a.store(5, d.one, None);
    // state[7] = 1 if bwd, then state[8] = state[7] for every packet.
    let s7 = a.store(7, d.one, Some(d.bwd));
    let (l7, z) = a.load(7);
    let s8 = a.store(8, z, None);
    // The fwd sum moves (it reads no memory); the load it sums does not, nor does the bwd
    // store that the later common load reads.
    assert_eq!(
        regions_of(&a, &[l5, add, s6, s5, s7, l7, s8]),
        vec![Common, Fwd, Fwd, Common, Common, Common, Common]
    );
}

#[test]
fn conflicts_propagate_until_nothing_conflicts() {
    let mut a = Asm::new(FunctionKind::Update);
    let d = prologue(&mut a);
    // A fwd store to 1 that a later common load reads stays common; so then does the fwd
    // load of 0 that feeds it... which makes the earlier fwd store to 0 common too, since
    // the load (now common) reads it after.
    let s0 = a.store(0, d.one, Some(d.fwd));
    let (l0, x) = a.load(0);
    let s1 = a.store(1, x, Some(d.fwd));
    let (l1, y) = a.load(1);
    let s2 = a.store(2, y, None);
    assert_eq!(regions_of(&a, &[s0, l0, s1, l1, s2]), vec![Common; 5]);
}

#[test]
fn indexed_state_accesses_stay_common_and_conflict_over_their_range() {
    let mut a = Asm::new(FunctionKind::Update);
    let d = prologue(&mut a);
    let (l3, x) = a.load(3);
    let s0 = a.store(0, x, Some(d.fwd));
    let (l20, y) = a.load(20);
    let s1 = a.store(1, y, Some(d.fwd));
    let (_, i) = a.load(9);
    let idx = a.push(Inst::StoreStateIndexed {
        base: 2,
        len: 4,
        index: i,
        value: d.one,
        pred: Some(d.fwd),
    });
    let v = a.reg(MTy::I64);
    let ldx = a.push(Inst::LoadStateIndexed {
        dst: v,
        base: 10,
        len: 2,
        index: i,
    });
    let s2 = a.store(2, v, Some(d.bwd));
    // Slot 3 is in 2..6, written later by common code; slot 20 is in no range.
    assert_eq!(
        regions_of(&a, &[l3, s0, l20, s1, idx, ldx, s2]),
        vec![Common, Fwd, Fwd, Fwd, Common, Common, Bwd]
    );
}

#[test]
fn pushes_move_unless_a_later_common_call_uses_their_buffer() {
    let mut a = Asm::new(FunctionKind::Update);
    let d = prologue(&mut a);
    let (_, x) = a.load(0);
    let (i2f, xf) = {
        let dst = a.reg(MTy::F64);
        (a.push(Inst::IToF { dst, a: x }), dst)
    };
    // A push with a fwd predicate, and a push guarded by bwd.
    let (sa1, s1) = a.slot_addr(1);
    let (p1, _) = a.call(Helper::ValuesPush, vec![s1, xf, d.fwd], None);
    let (sa2, s2) = a.slot_addr(2);
    let (p2, _) = a.call(Helper::ValuesPush, vec![s2, xf, d.one], Some(d.bwd));
    // A fwd push whose buffer a later common call reads.
    let (sa3, s3) = a.slot_addr(3);
    let (p3, _) = a.call(Helper::ValuesPush, vec![s3, xf, d.fwd], None);
    let (_, half) = {
        let dst = a.reg(MTy::F64);
        (a.push(Inst::FConst { dst, value: 50.0 }), dst)
    };
    let (pct, m) = a.call(Helper::ValuesPercentile, vec![s3, half], None);
    let (_, mi) = {
        let dst = a.reg(MTy::I64);
        (a.push(Inst::FToI { dst, a: m }), dst)
    };
    a.store(4, mi, None);
    // A push with an unrelated predicate.
    let (p5, _) = a.call(Helper::ValuesPush, vec![s1, xf, x], None);
    assert_eq!(
        regions_of(&a, &[i2f, sa1, p1, sa2, p2, sa3, p3, pct, p5]),
        vec![
            Common, Common, Common, Bwd, Bwd, Common, Common, Common, Common
        ],
        "the push to slot 1 stays common: a later common push uses its buffer"
    );
}

#[test]
fn a_push_moves_when_nothing_later_uses_its_buffer() {
    let mut a = Asm::new(FunctionKind::Update);
    let d = prologue(&mut a);
    let (_, x) = a.load(0);
    let dst = a.reg(MTy::F64);
    let i2f = a.push(Inst::IToF { dst, a: x });
    let (sa, s) = a.slot_addr(1);
    let (p, _) = a.call(Helper::ValuesPush, vec![s, dst, d.fwd], None);
    let (l, _) = a.load(0);
    assert_eq!(
        regions_of(&a, &[i2f, sa, p, l]),
        vec![Fwd, Fwd, Fwd, Common]
    );
}

#[test]
fn tls_and_string_calls_stay_common() {
    let mut a = Asm::new(FunctionKind::Update);
    let d = prologue(&mut a);
    let (_, ptr) = a.pkt(packet_offsets::PAYLOAD_PTR, Load::Ptr);
    let (_, len) = a.pkt(packet_offsets::PAYLOAD_CAPLEN, Load::U32);
    let (_, tls_slot) = a.slot_addr(7);
    let (parse, msgs) = a.call(Helper::TlsParse, vec![tls_slot, ptr, len], None);
    let (int, v) = a.call(Helper::TlsInt, vec![msgs, d.one], Some(msgs));
    let s = a.store(0, v, Some(d.fwd));
    // A later common TLS read of slot 7's buffer keeps an earlier fwd load of slot 7 in
    // place; a load of another slot moves.
    let mut b = Asm::new(FunctionKind::Update);
    let e = prologue(&mut b);
    let (l7, x) = b.load(7);
    let (l8, y) = b.load(8);
    let s1 = b.store(1, x, Some(e.fwd));
    let s2 = b.store(2, y, Some(e.fwd));
    let (_, bptr) = b.pkt(packet_offsets::PAYLOAD_PTR, Load::Ptr);
    let (_, blen) = b.pkt(packet_offsets::PAYLOAD_CAPLEN, Load::U32);
    let (_, slot7) = b.slot_addr(7);
    let (_, m) = b.call(Helper::TlsParse, vec![slot7, bptr, blen], None);
    let (_, w) = b.call(Helper::TlsInt, vec![m, e.one], Some(m));
    b.store(3, w, None);
    assert_eq!(regions_of(&a, &[parse, int, s]), vec![Common, Common, Fwd]);
    assert_eq!(
        regions_of(&b, &[l7, l8, s1, s2]),
        vec![Common, Fwd, Fwd, Fwd]
    );
}

#[test]
fn bytes_of_unknown_memory_keep_their_reader_before_every_common_write() {
    let mut a = Asm::new(FunctionKind::Update);
    let d = prologue(&mut a);
    // A "pointer" loaded from state: the byte read could see any buffer.
    let (_, ptr) = a.load(0);
    let (_, len) = a.load(1);
    let (value, in_bounds) = (a.reg(MTy::I64), a.reg(MTy::I64));
    let at = a.push(Inst::ByteAt {
        value,
        in_bounds,
        ptr,
        len,
        index: d.one,
    });
    let s2 = a.store(2, value, Some(d.fwd));
    a.store(3, d.one, None);
    // The same read of the payload moves.
    let (_, pptr) = a.pkt(packet_offsets::PAYLOAD_PTR, Load::Ptr);
    let (pv, pin) = (a.reg(MTy::I64), a.reg(MTy::I64));
    let pat = a.push(Inst::ByteAt {
        value: pv,
        in_bounds: pin,
        ptr: pptr,
        len,
        index: d.one,
    });
    let s4 = a.store(4, pv, Some(d.bwd));
    let s5 = a.store(5, pin, Some(d.bwd));
    a.store(6, d.one, None);
    assert_eq!(
        regions_of(&a, &[at, s2, pat, s4, s5]),
        vec![Common, Fwd, Bwd, Bwd, Bwd]
    );
}

#[test]
fn finish_and_updates_without_direction_stay_common() {
    let mut a = Asm::new(FunctionKind::Finish);
    let (_, one) = a.iconst(1);
    a.store(0, one, Some(one));
    assert_eq!(split(&a.f).regions, vec![Common; 2]);
    let mut b = Asm::new(FunctionKind::Update);
    let d = prologue(&mut b);
    b.store(0, d.one, Some(d.one));
    assert!(split(&b.f).regions.iter().all(|r| *r == Common));
}

#[test]
fn values_used_by_both_directions_stay_common() {
    let mut a = Asm::new(FunctionKind::Update);
    let d = prologue(&mut a);
    let (l, x) = a.load(0);
    let s1 = a.store(1, x, Some(d.fwd));
    let s2 = a.store(2, x, Some(d.bwd));
    let (dead, _) = a.load(3);
    assert_eq!(
        regions_of(&a, &[l, s1, s2, dead]),
        vec![Common, Fwd, Bwd, Common]
    );
}

#[test]
fn the_direction_byte_and_its_tests_are_constants_in_each_region() {
    let mut a = Asm::new(FunctionKind::Update);
    let d = prologue(&mut a);
    a.store(0, d.one, Some(d.fwd));
    let s = split(&a.f);
    let dir = Reg(0);
    assert_eq!(
        s.tests,
        vec![
            (dir, DirTest::Dir),
            (d.fwd, DirTest::Is(Fwd)),
            (d.bwd, DirTest::Is(Bwd))
        ]
    );
    let values = |r: Region| {
        s.tests
            .iter()
            .map(|(_, t)| t.value_in(r))
            .collect::<Vec<_>>()
    };
    assert_eq!(values(Fwd), vec![0, 1, 0]);
    assert_eq!(values(Bwd), vec![1, 0, 1]);
}

#[test]
fn a_guarded_call_whose_result_common_code_uses_stays_common() {
    // (No helper with effects returns a value today; the sink rule checks users as well, so
    // one that did would follow the same rule as this pure one.)
    let mut a = Asm::new(FunctionKind::Update);
    let d = prologue(&mut a);
    let (_, x) = a.iconst(3);
    // `ln(x) if fwd`, whose result an unpredicated store uses: it must run before it.
    let (c, y) = a.call(Helper::Ln, vec![x], Some(d.fwd));
    let s = a.store(0, y, None);
    // The same call whose result only a forward store uses moves.
    let (c2, y2) = a.call(Helper::Ln, vec![x], Some(d.fwd));
    let s2 = a.store(1, y2, Some(d.fwd));
    assert_eq!(
        regions_of(&a, &[c, s, c2, s2]),
        vec![Common, Common, Fwd, Fwd]
    );
}
