//! Every IR operation, compiled, against its `eval` in `jjc_kernel::ir`, on edge values.

use jjc_abi::{FlowView, PacketView};
use jjc_kernel::ir::{
    FBinOp, FUnOp, FloatCC, Function, FunctionKind, Helper, IBinOp, IUnOp, Inst, IntCC, Limits,
    Load, MTy, Reg, byte_index, f64_to_i64, i64_to_f64, slice_bounds,
};
use jjc_kernel::runtime::ArrayData;

use crate::JitError;
use crate::code::NativeCode;

/// Builds an IR function by hand.
struct Asm {
    f: Function,
}

impl Asm {
    fn new(kind: FunctionKind) -> Asm {
        Asm {
            f: Function::new(kind),
        }
    }

    fn reg(&mut self, ty: MTy) -> Reg {
        self.f.regs.push(ty);
        Reg(self.f.regs.len() as u32 - 1)
    }

    fn push(&mut self, inst: Inst) {
        self.f.insts.push(inst);
    }

    fn iconst(&mut self, value: i64) -> Reg {
        let dst = self.reg(MTy::I64);
        self.push(Inst::IConst { dst, value });
        dst
    }

    fn load(&mut self, slot: u32, ty: MTy) -> Reg {
        let dst = self.reg(ty);
        self.push(Inst::LoadState { dst, slot });
        dst
    }

    /// `op(a, b)`, a new integer register.
    fn ibin(&mut self, op: IBinOp, a: Reg, b: Reg) -> Reg {
        let dst = self.reg(MTy::I64);
        self.push(Inst::IBin { dst, op, a, b });
        dst
    }

    /// `op(a, b)`, a new float register.
    fn fbin(&mut self, op: FBinOp, a: Reg, b: Reg) -> Reg {
        let dst = self.reg(MTy::F64);
        self.push(Inst::FBin { dst, op, a, b });
        dst
    }

    /// `array[index]` through the `ArrayGet` helper (run only when `guard` is not 0).
    fn array_get(&mut self, array: &ArrayData, index: Reg, guard: Option<Reg>) -> Reg {
        let data = self.reg(MTy::I64);
        self.push(Inst::DataAddr {
            dst: data,
            data: 0,
            addr: array as *const ArrayData as u64,
        });
        let elem = self.reg(MTy::I64);
        self.push(Inst::Call {
            helper: Helper::ArrayGet,
            args: vec![data, index],
            dst: Some(elem),
            guard,
        });
        elem
    }

    fn store(&mut self, slot: u32, value: Reg) {
        self.push(Inst::StoreState {
            slot,
            value,
            pred: None,
        });
    }

    fn pkt(&mut self, offset: usize, load: Load) -> Reg {
        let dst = self.reg(load.ty());
        self.push(Inst::LoadPkt {
            dst,
            offset: offset as u32,
            load,
        });
        dst
    }
}

/// Compiles `update` with an empty `finish`.
fn compile_update(update: Asm, state_slots: usize) -> NativeCode {
    let limits = Limits {
        state_slots,
        out_cells: 0,
    };
    match NativeCode::compile(
        &update.f,
        &Function::new(FunctionKind::Finish),
        limits,
        None,
    ) {
        Ok((c, _)) => c,
        Err(e) => panic!("{e}"),
    }
}

/// Compiles `finish` with an empty `update`.
fn compile_finish(finish: Asm, state_slots: usize, out_cells: usize) -> NativeCode {
    let limits = Limits {
        state_slots,
        out_cells,
    };
    match NativeCode::compile(
        &Function::new(FunctionKind::Update),
        &finish.f,
        limits,
        None,
    ) {
        Ok((c, _)) => c,
        Err(e) => panic!("{e}"),
    }
}

fn run_update(code: &NativeCode, state: &mut [u64], pkt: &PacketView) {
    // SAFETY: `state` has the slots the function was verified against; `pkt` is valid.
    unsafe { (code.update)(state.as_mut_ptr(), pkt) }
}

const INTS: &[i64] = &[
    0,
    1,
    -1,
    2,
    -2,
    3,
    -3,
    7,
    -7,
    63,
    64,
    65,
    -64,
    100,
    -100,
    255,
    i64::MIN,
    i64::MIN + 1,
    i64::MAX,
    i64::MAX - 1,
    0x1234_5678_9abc_def0,
];

const FLOATS: &[f64] = &[
    0.0,
    -0.0,
    0.5,
    -0.5,
    1.0,
    -1.0,
    1.5,
    2.5,
    -2.5,
    0.499_999_999_999_999_94,
    -0.499_999_999_999_999_94,
    4_503_599_627_370_495.5,
    -4_503_599_627_370_495.5,
    9_007_199_254_740_993.0,
    1e300,
    -1e300,
    9.223_372_036_854_775e18,
    i64::MIN as f64,
    i64::MIN as f64 - 2048.0,
    i64::MAX as f64,
    f64::MIN_POSITIVE,
    5e-324,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    -f64::NAN,
    3.7,
    -3.7,
];

const IBIN: &[IBinOp] = &[
    IBinOp::Add,
    IBinOp::Sub,
    IBinOp::Mul,
    IBinOp::Div,
    IBinOp::Rem,
    IBinOp::And,
    IBinOp::Or,
    IBinOp::Xor,
    IBinOp::Shl,
    IBinOp::Shr,
];
const ICC: &[IntCC] = &[
    IntCC::Eq,
    IntCC::Ne,
    IntCC::Slt,
    IntCC::Sle,
    IntCC::Sgt,
    IntCC::Sge,
    IntCC::Ult,
    IntCC::Ule,
    IntCC::Ugt,
    IntCC::Uge,
];
const IUN: &[IUnOp] = &[IUnOp::Neg, IUnOp::Abs, IUnOp::Not];
const FBIN: &[FBinOp] = &[
    FBinOp::Add,
    FBinOp::Sub,
    FBinOp::Mul,
    FBinOp::Div,
    FBinOp::Min,
    FBinOp::Max,
];
const FCC: &[FloatCC] = &[
    FloatCC::Eq,
    FloatCC::Ne,
    FloatCC::Lt,
    FloatCC::Le,
    FloatCC::Gt,
    FloatCC::Ge,
];
const FUN: &[FUnOp] = &[
    FUnOp::Neg,
    FUnOp::Abs,
    FUnOp::Sqrt,
    FUnOp::Floor,
    FUnOp::Ceil,
    FUnOp::Trunc,
    FUnOp::Round,
];

/// Floats agree when their bits are equal or both are NaN.
fn same_float(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

#[test]
fn integer_operations_match_the_ir() {
    // state[0], state[1]: operands; then one result slot per operation.
    let mut a = Asm::new(FunctionKind::Update);
    let x = a.load(0, MTy::I64);
    let y = a.load(1, MTy::I64);
    let mut slot = 2;
    for op in IBIN {
        let dst = a.ibin(*op, x, y);
        a.store(slot, dst);
        slot += 1;
    }
    for cc in ICC {
        let dst = a.reg(MTy::I64);
        a.push(Inst::ICmp {
            dst,
            cc: *cc,
            a: x,
            b: y,
        });
        a.store(slot, dst);
        slot += 1;
    }
    for op in IUN {
        let dst = a.reg(MTy::I64);
        a.push(Inst::IUn { dst, op: *op, a: x });
        a.store(slot, dst);
        slot += 1;
    }
    let f = a.reg(MTy::F64);
    a.push(Inst::IToF { dst: f, a: x });
    a.store(slot, f);
    let sel = a.reg(MTy::I64);
    a.push(Inst::Select {
        dst: sel,
        cond: y,
        a: x,
        b: y,
    });
    a.store(slot + 1, sel);
    let slots = slot as usize + 2;
    let code = compile_update(a, slots);
    let pkt = PacketView::default();
    for &x in INTS {
        for &y in INTS {
            let mut state = vec![0u64; slots];
            state[0] = x as u64;
            state[1] = y as u64;
            run_update(&code, &mut state, &pkt);
            let mut want: Vec<i64> = IBIN.iter().map(|op| op.eval(x, y)).collect();
            want.extend(ICC.iter().map(|cc| cc.eval(x, y)));
            want.extend(IUN.iter().map(|op| op.eval(x)));
            let got: Vec<i64> = state[2..slot as usize].iter().map(|v| *v as i64).collect();
            assert_eq!(got, want, "x = {x}, y = {y}");
            assert_eq!(state[slot as usize], i64_to_f64(x).to_bits(), "itof {x}");
            assert_eq!(
                state[slot as usize + 1] as i64,
                if y != 0 { x } else { y },
                "select"
            );
        }
    }
}

#[test]
fn float_operations_match_the_ir() {
    let mut a = Asm::new(FunctionKind::Update);
    let x = a.load(0, MTy::F64);
    let y = a.load(1, MTy::F64);
    let mut slot = 2;
    for op in FBIN {
        let dst = a.fbin(*op, x, y);
        a.store(slot, dst);
        slot += 1;
    }
    for cc in FCC {
        let dst = a.reg(MTy::I64);
        a.push(Inst::FCmp {
            dst,
            cc: *cc,
            a: x,
            b: y,
        });
        a.store(slot, dst);
        slot += 1;
    }
    for op in FUN {
        let dst = a.reg(MTy::F64);
        a.push(Inst::FUn { dst, op: *op, a: x });
        a.store(slot, dst);
        slot += 1;
    }
    let i = a.reg(MTy::I64);
    a.push(Inst::FToI { dst: i, a: x });
    a.store(slot, i);
    let bits = a.reg(MTy::I64);
    a.push(Inst::Bitcast { dst: bits, a: y });
    a.store(slot + 1, bits);
    let back = a.reg(MTy::F64);
    a.push(Inst::Bitcast { dst: back, a: bits });
    let c = a.iconst(0);
    let sel = a.reg(MTy::F64);
    a.push(Inst::Select {
        dst: sel,
        cond: c,
        a: x,
        b: back,
    });
    a.store(slot + 2, sel);
    let slots = slot as usize + 3;
    let code = compile_update(a, slots);
    let pkt = PacketView::default();
    let fbin = FBIN.len() as u32;
    let fcc = FCC.len() as u32;
    for &x in FLOATS {
        for &y in FLOATS {
            let mut state = vec![0u64; slots];
            state[0] = x.to_bits();
            state[1] = y.to_bits();
            run_update(&code, &mut state, &pkt);
            let f = |s: u32| f64::from_bits(state[s as usize]);
            for (k, op) in FBIN.iter().enumerate() {
                let (got, want) = (f(2 + k as u32), op.eval(x, y));
                assert!(
                    same_float(got, want),
                    "{op:?}({x}, {y}) = {got}, not {want}"
                );
            }
            for (k, cc) in FCC.iter().enumerate() {
                let got = state[(2 + fbin) as usize + k] as i64;
                assert_eq!(got, cc.eval(x, y), "{cc:?}({x}, {y})");
            }
            for (k, op) in FUN.iter().enumerate() {
                let (got, want) = (f(2 + fbin + fcc + k as u32), op.eval(x));
                assert!(same_float(got, want), "{op:?}({x}) = {got}, not {want}");
            }
            assert_eq!(state[slot as usize] as i64, f64_to_i64(x), "ftoi {x}");
            assert_eq!(state[slot as usize + 1], y.to_bits(), "bitcast {y}");
            assert_eq!(state[slot as usize + 2], y.to_bits(), "select {y}");
        }
    }
}

#[test]
fn packet_fields_are_read_with_their_width() {
    use jjc_abi::kernel::packet_offsets as o;
    let fields: &[(usize, Load)] = &[
        (o::TS, Load::F64),
        (o::LEN, Load::U32),
        (o::TCP_SEQ, Load::U32),
        (o::SRC_PORT, Load::U16),
        (o::TCP_FLAGS, Load::U16),
        (o::TTL, Load::U8),
        (o::DIR, Load::U8),
        (o::PAYLOAD_CAPLEN, Load::U32),
        (o::PAYLOAD_PTR, Load::Ptr),
        (o::SRC_IP, Load::U64Be),
        (o::SRC_IP + 8, Load::U64Be),
        (o::TS, Load::I64),
    ];
    let mut a = Asm::new(FunctionKind::Update);
    for (k, (offset, load)) in fields.iter().enumerate() {
        let r = a.pkt(*offset, *load);
        a.store(k as u32, r);
    }
    let code = compile_update(a, fields.len());
    let payload = b"abc".to_vec();
    let mut pkt = PacketView::default();
    pkt.ts = 1234.5;
    pkt.len = 0xfedc_ba98;
    pkt.tcp_seq = 0x8000_0001;
    pkt.src_port = 0xffff;
    pkt.tcp_flags = 0x112;
    pkt.ttl = 200;
    pkt.dir = jjc_abi::Direction::Bwd;
    pkt.src_ip = [
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0xc0, 0xa8, 0x01, 0xff,
    ];
    pkt.set_payload(&payload);
    let mut state = vec![0u64; fields.len()];
    run_update(&code, &mut state, &pkt);
    assert_eq!(
        state,
        vec![
            1234.5f64.to_bits(),
            0xfedc_ba98,
            0x8000_0001,
            0xffff,
            0x112,
            200,
            1,
            3,
            payload.as_ptr() as u64,
            0x0102_0304_0506_0708,
            0x090a_0b0c_c0a8_01ff,
            1234.5f64.to_bits(),
        ]
    );
}

/// `update` storing, for indexes in state[0] and slice bounds in state[1], state[2]:
/// the payload byte and in-bounds flag, the slice's offset and length, and the first and
/// last byte of the slice.
fn payload_probe() -> NativeCode {
    use jjc_abi::kernel::packet_offsets as o;
    let mut a = Asm::new(FunctionKind::Update);
    let ptr = a.pkt(o::PAYLOAD_PTR, Load::Ptr);
    let len = a.pkt(o::PAYLOAD_CAPLEN, Load::U32);
    let index = a.load(0, MTy::I64);
    let (value, in_bounds) = (a.reg(MTy::I64), a.reg(MTy::I64));
    a.push(Inst::ByteAt {
        value,
        in_bounds,
        ptr,
        len,
        index,
    });
    a.store(3, value);
    a.store(4, in_bounds);
    let lo = a.load(1, MTy::I64);
    let hi = a.load(2, MTy::I64);
    let (sp, sl) = (a.reg(MTy::I64), a.reg(MTy::I64));
    a.push(Inst::Slice {
        dst_ptr: sp,
        dst_len: sl,
        ptr,
        len,
        lo,
        hi,
    });
    let offset = a.ibin(IBinOp::Sub, sp, ptr);
    a.store(5, offset);
    a.store(6, sl);
    for (k, i) in [0, -1].into_iter().enumerate() {
        let i = a.iconst(i);
        let (v, ib) = (a.reg(MTy::I64), a.reg(MTy::I64));
        a.push(Inst::ByteAt {
            value: v,
            in_bounds: ib,
            ptr: sp,
            len: sl,
            index: i,
        });
        let minus_one = a.iconst(-1);
        let marked = a.reg(MTy::I64);
        a.push(Inst::Select {
            dst: marked,
            cond: ib,
            a: v,
            b: minus_one,
        });
        a.store(7 + k as u32, marked);
    }
    compile_update(a, 9)
}

const INDEXES: &[i64] = &[
    0,
    1,
    2,
    3,
    4,
    5,
    100,
    -1,
    -2,
    -4,
    -5,
    -6,
    -100,
    i64::MAX,
    i64::MIN,
    i64::MIN + 1,
    u32::MAX as i64,
    -(u32::MAX as i64),
];

fn check_payload(code: &NativeCode, payload: &[u8], pkt: &PacketView) {
    let len = payload.len() as i64;
    for &index in INDEXES {
        for &lo in INDEXES {
            for &hi in INDEXES {
                let mut state = [index as u64, lo as u64, hi as u64, 0, 0, 0, 0, 0, 0];
                run_update(code, &mut state, pkt);
                let want = byte_index(len, index).and_then(|i| payload.get(i as usize));
                assert_eq!(state[3], want.map_or(0, |b| u64::from(*b)), "byte {index}");
                assert_eq!(state[4], u64::from(want.is_some()), "in bounds {index}");
                let (start, n) = slice_bounds(len, lo, hi);
                assert_eq!(
                    (state[5] as i64, state[6] as i64),
                    (start, n),
                    "[{lo}:{hi}]"
                );
                let slice = &payload[start as usize..(start + n) as usize];
                let first = slice.first().map_or(-1, |b| i64::from(*b));
                let last = slice.last().map_or(-1, |b| i64::from(*b));
                assert_eq!((state[7] as i64, state[8] as i64), (first, last));
            }
        }
    }
}

#[test]
fn payload_reads_never_leave_the_payload() {
    let code = payload_probe();
    // The payload sits inside a larger buffer whose other bytes are poison: any read
    // outside it would show up as 0xee.
    let buffer: Vec<u8> = [[0xee; 16].as_slice(), b"wxyz", &[0xee; 16]].concat();
    let payload = &buffer[16..20];
    let mut pkt = PacketView::default();
    pkt.set_payload(payload);
    check_payload(&code, payload, &pkt);
    // An empty payload inside the buffer, and the default view: null pointer, length 0.
    pkt.set_payload(&buffer[16..16]);
    check_payload(&code, &[], &pkt);
    check_payload(&code, &[], &PacketView::default());
}

#[test]
fn predicated_and_indexed_state_accesses_stay_in_their_slots() {
    // state[0]: index, state[1]: predicate, state[2]: value; array at state[4..7];
    // state[3] and state[7] are sentinels that must never change.
    let mut a = Asm::new(FunctionKind::Update);
    let index = a.load(0, MTy::I64);
    let pred = a.load(1, MTy::I64);
    let value = a.load(2, MTy::I64);
    let old = a.reg(MTy::I64);
    a.push(Inst::LoadStateIndexed {
        dst: old,
        base: 4,
        len: 3,
        index,
    });
    a.push(Inst::StoreStateIndexed {
        base: 4,
        len: 3,
        index,
        value,
        pred: Some(pred),
    });
    a.push(Inst::StoreState {
        slot: 8,
        value: old,
        pred: None,
    });
    a.push(Inst::StoreState {
        slot: 9,
        value,
        pred: Some(pred),
    });
    let code = compile_update(a, 10);
    let pkt = PacketView::default();
    for &index in &[0i64, 1, 2, 3, -1, i64::MIN, i64::MAX, 4] {
        for pred in [0u64, 1, 2] {
            let mut state = [index as u64, pred, 77, 0xaa, 10, 11, 12, 0xbb, 0, 5];
            run_update(&code, &mut state, &pkt);
            let inb = (0..3).contains(&index);
            let mut want = [index as u64, pred, 77, 0xaa, 10, 11, 12, 0xbb, 0, 5];
            want[8] = if inb { 10 + index as u64 } else { 0 };
            if pred != 0 {
                want[9] = 77;
                if inb {
                    want[4 + index as usize] = 77;
                }
            }
            assert_eq!(state, want, "index {index}, pred {pred}");
        }
    }
}

#[test]
fn finish_reads_the_flow_writes_cells_and_calls_helpers() {
    use jjc_abi::kernel::flow_offsets as o;
    let array = ArrayData {
        values: vec![5, 6, 7],
    };
    let mut a = Asm::new(FunctionKind::Finish);
    let dur = a.reg(MTy::F64);
    a.push(Inst::LoadFlow {
        dst: dur,
        offset: o::DURATION as u32,
        load: Load::F64,
    });
    let ln = a.reg(MTy::F64);
    a.push(Inst::Call {
        helper: Helper::Ln,
        args: vec![dur],
        dst: Some(ln),
        guard: None,
    });
    a.push(Inst::Out { cell: 0, value: ln });
    let port = a.reg(MTy::I64);
    a.push(Inst::LoadFlow {
        dst: port,
        offset: o::DST_PORT as u32,
        load: Load::I64,
    });
    let elem = a.array_get(&array, port, None);
    a.push(Inst::Out {
        cell: 1,
        value: elem,
    });
    let slot = a.reg(MTy::I64);
    a.push(Inst::SlotAddr { dst: slot, slot: 1 });
    let base = a.reg(MTy::I64);
    a.push(Inst::SlotAddr { dst: base, slot: 0 });
    let diff = a.ibin(IBinOp::Sub, slot, base);
    a.push(Inst::Out {
        cell: 2,
        value: diff,
    });
    let code = compile_finish(a, 2, 3);
    let flow = FlowView {
        start_time: 1.0,
        end_time: 1.0 + std::f64::consts::E,
        duration: std::f64::consts::E,
        packet_count: 2,
        byte_count: 100,
        packets_fwd: 1,
        packets_bwd: 1,
        bytes_fwd: 50,
        bytes_bwd: 50,
        src_port: 1000,
        dst_port: 2,
        protocol: 6,
        ip_version: 4,
        ..FlowView::default()
    };
    let mut state = [0u64; 2];
    let mut out = [0u64; 3];
    // SAFETY: state and out have the verified sizes; `array` outlives the call.
    unsafe { (code.finish)(state.as_mut_ptr(), &flow, out.as_mut_ptr()) };
    assert_eq!(f64::from_bits(out[0]), std::f64::consts::E.ln());
    assert_eq!(out[1], 7);
    assert_eq!(out[2], 8);
}

#[test]
fn invalid_ir_is_an_error_value() {
    let mut a = Asm::new(FunctionKind::Update);
    let r = a.load(5, MTy::I64);
    a.store(0, r);
    let limits = Limits {
        state_slots: 1,
        out_cells: 0,
    };
    let err = NativeCode::compile(&a.f, &Function::new(FunctionKind::Finish), limits, None);
    assert!(
        matches!(
            err,
            Err(JitError::InvalidIr {
                function: "update",
                ..
            })
        ),
        "{err:?}"
    );
    let swapped = NativeCode::compile(
        &Function::new(FunctionKind::Finish),
        &Function::new(FunctionKind::Finish),
        limits,
        None,
    );
    assert!(matches!(swapped, Err(JitError::InvalidIr { .. })));
}

#[test]
fn guarded_calls_run_only_when_their_guard_is_not_zero() {
    use jjc_abi::kernel::flow_offsets as o;
    // out[0] = ln(duration) if dst_port, out[1] = the same unguarded, out[2] = ln(duration)
    // if src_port: the skipped call gives 0, the taken one the helper's value.
    let mut a = Asm::new(FunctionKind::Finish);
    let dur = a.reg(MTy::F64);
    a.push(Inst::LoadFlow {
        dst: dur,
        offset: o::DURATION as u32,
        load: Load::F64,
    });
    let port = |a: &mut Asm, offset: usize| {
        let r = a.reg(MTy::I64);
        a.push(Inst::LoadFlow {
            dst: r,
            offset: offset as u32,
            load: Load::I64,
        });
        r
    };
    let dst_port = port(&mut a, o::DST_PORT);
    let src_port = port(&mut a, o::SRC_PORT);
    for (cell, guard) in [(0, Some(dst_port)), (1, None), (2, Some(src_port))] {
        let ln = a.reg(MTy::F64);
        a.push(Inst::Call {
            helper: Helper::Ln,
            args: vec![dur],
            dst: Some(ln),
            guard,
        });
        a.push(Inst::Out { cell, value: ln });
    }
    let code = compile_finish(a, 1, 3);
    for (src, dst) in [(0i64, 0i64), (0, 443), (1000, 0), (1000, 443)] {
        let flow = FlowView {
            end_time: 2.0,
            duration: 2.0,
            packet_count: 1,
            byte_count: 1,
            packets_fwd: 1,
            bytes_fwd: 1,
            src_port: src,
            dst_port: dst,
            protocol: 6,
            ip_version: 4,
            ..FlowView::default()
        };
        let mut state = [0u64; 1];
        let mut out = [u64::MAX; 3];
        // SAFETY: state and out have the verified sizes.
        unsafe { (code.finish)(state.as_mut_ptr(), &flow, out.as_mut_ptr()) };
        let ln2 = 2f64.ln().to_bits();
        let want = [
            if dst != 0 { ln2 } else { 0 },
            ln2,
            if src != 0 { ln2 } else { 0 },
        ];
        assert_eq!(out, want, "src {src} dst {dst}");
    }
}

/// An `update` split by direction: each direction's counters move into its region, the
/// direction's tests there are constants, and the common code still runs for every packet.
#[test]
fn direction_regions_run_only_for_their_direction() {
    use jjc_abi::Direction;
    use jjc_abi::kernel::packet_offsets as o;
    let mut a = Asm::new(FunctionKind::Update);
    let dir = a.pkt(o::DIR, Load::U8);
    let zero = a.iconst(0);
    let one = a.iconst(1);
    let test = |a: &mut Asm, k: Reg| {
        let dst = a.reg(MTy::I64);
        a.push(Inst::ICmp {
            dst,
            cc: IntCC::Eq,
            a: dir,
            b: k,
        });
        dst
    };
    let fwd = test(&mut a, zero);
    let bwd = test(&mut a, one);
    let bump = |a: &mut Asm, slot: u32, by: i64, pred: Option<Reg>| {
        let old = a.load(slot, MTy::I64);
        let by = a.iconst(by);
        let new = a.ibin(IBinOp::Add, old, by);
        a.push(Inst::StoreState {
            slot,
            value: new,
            pred,
        });
    };
    bump(&mut a, 0, 1, Some(fwd));
    bump(&mut a, 1, 10, Some(bwd));
    bump(&mut a, 2, 100, None);
    // In the fwd region: `fwd & bwd` (0) and the direction byte (0) plus `fwd` (1).
    let both = a.ibin(IBinOp::And, fwd, bwd);
    let sum = a.ibin(IBinOp::Add, dir, fwd);
    let sum = a.ibin(IBinOp::Add, sum, both);
    a.push(Inst::StoreState {
        slot: 3,
        value: sum,
        pred: Some(fwd),
    });
    // In the bwd region: the direction byte (1) plus `bwd` (1).
    let sum_b = a.ibin(IBinOp::Add, dir, bwd);
    a.push(Inst::StoreState {
        slot: 4,
        value: sum_b,
        pred: Some(bwd),
    });
    let regions = super::regions::split(&a.f).regions;
    assert!(regions.contains(&super::Region::Fwd) && regions.contains(&super::Region::Bwd));
    let code = compile_update(a, 5);
    let mut state = vec![0u64; 5];
    let mut pkt = PacketView::default();
    for d in [Direction::Fwd, Direction::Fwd, Direction::Bwd] {
        pkt.dir = d;
        run_update(&code, &mut state, &pkt);
    }
    assert_eq!(state, vec![2, 10, 300, 1, 2]);
}

/// Guarded calls with one guard run as one group: the constant between them runs whatever
/// the guard, the sum of a result is 0 + 0 when skipped, and a call with another guard in
/// between starts a group of its own.
#[test]
fn grouped_guarded_calls_give_each_result_or_zero() {
    use jjc_abi::kernel::flow_offsets as o;
    let mut a = Asm::new(FunctionKind::Finish);
    let flow = |a: &mut Asm, offset: usize, load: Load| {
        let r = a.reg(load.ty());
        a.push(Inst::LoadFlow {
            dst: r,
            offset: offset as u32,
            load,
        });
        r
    };
    let dur = flow(&mut a, o::DURATION, Load::F64);
    let dst_port = flow(&mut a, o::DST_PORT, Load::I64);
    let src_port = flow(&mut a, o::SRC_PORT, Load::I64);
    let ln = |a: &mut Asm, guard: Reg| {
        let r = a.reg(MTy::F64);
        a.push(Inst::Call {
            helper: Helper::Ln,
            args: vec![dur],
            dst: Some(r),
            guard: Some(guard),
        });
        r
    };
    let first = ln(&mut a, dst_port);
    let twice = a.fbin(FBinOp::Add, first, first);
    let three = a.reg(MTy::F64);
    a.push(Inst::FConst {
        dst: three,
        value: 3.0,
    });
    let second = ln(&mut a, dst_port);
    let other = ln(&mut a, src_port);
    let third = ln(&mut a, dst_port);
    for (cell, value) in [(0, twice), (1, three), (2, second), (3, other), (4, third)] {
        a.push(Inst::Out { cell, value });
    }
    let code = compile_finish(a, 1, 5);
    for (src, dst) in [(0i64, 0i64), (0, 443), (1000, 0), (1000, 443)] {
        let flow = FlowView {
            duration: 2.0,
            src_port: src,
            dst_port: dst,
            ..FlowView::default()
        };
        let mut state = [0u64; 1];
        let mut out = [u64::MAX; 5];
        // SAFETY: state and out have the verified sizes.
        unsafe { (code.finish)(state.as_mut_ptr(), &flow, out.as_mut_ptr()) };
        let ln2 = 2f64.ln();
        let by = |guard: i64, v: f64| if guard != 0 { v } else { 0.0 };
        let want = [
            by(dst, 2.0 * ln2),
            3.0,
            by(dst, ln2),
            by(src, ln2),
            by(dst, ln2),
        ]
        .map(f64::to_bits);
        assert_eq!(out, want, "src {src} dst {dst}");
    }
}

/// A state load whose slot is written before its value's last use reads the old value,
/// wherever Cranelift would have liked to place it; one used only before any write moves.
#[test]
fn state_loads_read_the_slot_before_it_is_written() {
    let mut a = Asm::new(FunctionKind::Update);
    // s0 is written (7) before the old value is stored to s1; the push between keeps the
    // old value live across a call.
    let old = a.load(0, MTy::I64);
    let seven = a.iconst(7);
    a.store(0, seven);
    let addr = a.reg(MTy::I64);
    a.push(Inst::SlotAddr { dst: addr, slot: 4 });
    let one = a.iconst(1);
    let x = a.reg(MTy::F64);
    a.push(Inst::IToF { dst: x, a: one });
    a.push(Inst::Call {
        helper: Helper::ValuesPush,
        args: vec![addr, x, one, one],
        dst: None,
        guard: None,
    });
    let plus = a.ibin(IBinOp::Add, old, one);
    a.store(1, plus);
    // s2 += 1: written only by the store that depends on it.
    let count = a.load(2, MTy::I64);
    let next = a.ibin(IBinOp::Add, count, one);
    a.store(2, next);
    let code = compile_update(a, 5);
    let mut state = [40u64, 0, 5, 0, 0];
    run_update(&code, &mut state, &PacketView::default());
    run_update(&code, &mut state, &PacketView::default());
    assert_eq!(&state[..3], &[7, 8, 7]);
    // SAFETY: slot 4 holds the list the pushes made, freed once.
    unsafe { jjc_kernel::runtime::free_buffer(jjc_kernel::runtime::BufferKind::Values, state[4]) };
}

/// A store whose predicate needs a guarded call's result runs in the guard's tail: when the
/// guard is 0 the slot keeps its value, otherwise it gets the result.
#[test]
fn stores_under_a_guard_keep_or_take_their_value() {
    use jjc_abi::kernel::packet_offsets as o;
    let array = ArrayData {
        values: vec![0, 11, 12, 13],
    };
    let mut a = Asm::new(FunctionKind::Update);
    let port = a.pkt(o::DST_PORT, Load::U16);
    let elem = a.array_get(&array, port, Some(port));
    let both = a.ibin(IBinOp::And, elem, port);
    a.push(Inst::StoreState {
        slot: 0,
        value: elem,
        pred: Some(both),
    });
    let seven = a.iconst(7);
    a.store(1, seven);
    let code = compile_update(a, 2);
    for (port, want) in [(0u16, 99u64), (1, 11), (2, 99), (3, 13)] {
        let mut state = [99u64, 0];
        let mut pkt = PacketView::default();
        pkt.dst_port = port;
        run_update(&code, &mut state, &pkt);
        // `11 & 1` and `13 & 3` are not 0; `12 & 2` is.
        assert_eq!(state, [want, 7], "port {port}");
    }
}

/// The inline push and the helper's own push make the same list: made by the first push,
/// grown by the helper when full, marked by a NaN, and unsorted again (its moments and mode
/// stale) after a push that follows a percentile; a push with a false predicate does nothing.
#[test]
fn inline_value_pushes_make_the_list_the_helper_makes() {
    use jjc_abi::kernel::packet_offsets as o;
    use jjc_kernel::runtime::{
        BufferKind, free_buffer, jjc_values_mode, jjc_values_moment, jjc_values_percentile,
        jjc_values_push, values_keep,
    };
    let mut a = Asm::new(FunctionKind::Update);
    let ts = a.pkt(o::TS, Load::F64);
    let port = a.pkt(o::DST_PORT, Load::U16);
    let addr = a.reg(MTy::I64);
    a.push(Inst::SlotAddr { dst: addr, slot: 0 });
    let keep = a.reg(MTy::I64);
    let keep_all = values_keep::MOMENTS | values_keep::MODE;
    a.push(Inst::IConst {
        dst: keep,
        value: keep_all,
    });
    a.push(Inst::Call {
        helper: Helper::ValuesPush,
        args: vec![addr, ts, port, keep],
        dst: None,
        guard: None,
    });
    let code = compile_update(a, 1);
    let mut jit = [0u64; 1];
    let mut helper = [0u64; 1];
    let pct = |slot: &mut [u64; 1], p: f64| {
        // SAFETY: the slot holds a values list or 0.
        unsafe { jjc_values_percentile(slot.as_mut_ptr() as i64, p) }.to_bits()
    };
    let sum = |slot: &mut [u64; 1]| {
        // SAFETY: as above.
        unsafe { jjc_values_moment(slot.as_mut_ptr() as i64, 0) }.to_bits()
    };
    let mode = |slot: &mut [u64; 1]| {
        // SAFETY: as above.
        unsafe {
            (
                jjc_values_mode(slot.as_mut_ptr() as i64, 0).to_bits(),
                jjc_values_mode(slot.as_mut_ptr() as i64, 1).to_bits(),
            )
        }
    };
    let push = |jit: &mut [u64; 1], helper: &mut [u64; 1], ts: f64, port: u16| {
        let mut pkt = PacketView::default();
        pkt.ts = ts;
        pkt.dst_port = port;
        run_update(&code, jit, &pkt);
        // SAFETY: the slot holds a values list or 0.
        unsafe { jjc_values_push(helper.as_mut_ptr() as i64, ts, i64::from(port), keep_all) };
    };
    for i in 0..40u16 {
        // Every third packet's predicate is false. Asked after every push, so that most
        // pushes follow a sort and a sum: the push must mark the list unsorted, its sum stale.
        push(&mut jit, &mut helper, f64::from((40 - i) % 7) * 0.25, i % 3);
        if i % 2 == 0 {
            assert_eq!(sum(&mut jit), sum(&mut helper), "push {i}");
            assert_eq!(mode(&mut jit), mode(&mut helper), "push {i}");
        }
        assert_eq!(pct(&mut jit, 50.0), pct(&mut helper, 50.0), "push {i}");
        assert_eq!(sum(&mut jit), sum(&mut helper), "push {i}");
    }
    assert_ne!(jit[0], 0);
    for p in [0.0, 25.0, 50.0, 90.0, 100.0] {
        assert_eq!(pct(&mut jit, p), pct(&mut helper, p), "p{p}");
    }
    assert_eq!(sum(&mut jit), sum(&mut helper));
    assert_eq!(mode(&mut jit), mode(&mut helper));
    push(&mut jit, &mut helper, f64::NAN, 1);
    assert!(f64::from_bits(pct(&mut jit, 50.0)).is_nan());
    // SAFETY: both slots hold lists the pushes made, each freed once.
    unsafe {
        free_buffer(BufferKind::Values, jit[0]);
        free_buffer(BufferKind::Values, helper[0]);
    }
}
