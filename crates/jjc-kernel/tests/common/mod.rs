//! A small harness: check a `.jjf` text, compile its groups, run hand-made packets through
//! the interpreter, read the row back by column name.

#![allow(dead_code)]

use std::net::IpAddr;

use jjc_abi::{Direction, Value};
use jjc_kernel::testing::test_packets;
use jjc_kernel::{Exec, Interpreter, Kernel, compile};
use jjc_sema::Library;
use jjc_sema::hir::{GroupId, Test, TestFlow, TestPacket};
use jjc_syntax::{FileId, Span};

/// A checked program from one source text (no standard library).
pub fn library(src: &str) -> Library {
    let (lib, diags) = Library::from_texts(&[("test.jjf", src)]);
    let errors: Vec<String> = diags
        .iter()
        .map(|d| jjc_syntax::render_human(d, &lib.sources, false))
        .filter(|t| t.contains("error"))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    lib
}

/// Every group of the program, in definition order.
pub fn all_groups(lib: &Library) -> Vec<GroupId> {
    (0..lib.program.groups.len())
        .map(|i| GroupId(i as u32))
        .collect()
}

/// Compiles the named groups.
pub fn kernel(lib: &Library, groups: &[&str]) -> Kernel {
    let ids: Vec<GroupId> = groups
        .iter()
        .map(|g| match lib.program.group_by_name(g) {
            Some(id) => id,
            None => panic!("no group {g}"),
        })
        .collect();
    match compile(&lib.program, &ids) {
        Ok(k) => k,
        Err(e) => panic!("{e}"),
    }
}

/// A packet to send.
#[derive(Debug, Clone)]
pub struct P(pub TestPacket);

/// A packet at `ts` in direction `dir`, without payload.
pub fn pkt(ts: f64, dir: Direction) -> P {
    P(TestPacket {
        ts,
        dir,
        len: None,
        payload_len: None,
        payload: Vec::new(),
        tcp_flags: 0,
    })
}

impl P {
    pub fn len(mut self, n: u32) -> P {
        self.0.len = Some(n);
        self
    }
    pub fn payload_len(mut self, n: u32) -> P {
        self.0.payload_len = Some(n);
        self
    }
    pub fn payload(mut self, b: &[u8]) -> P {
        self.0.payload = b.to_vec();
        self
    }
    pub fn flags(mut self, f: u16) -> P {
        self.0.tcp_flags = f;
        self
    }
}

/// A UDP flow 10.0.0.1:1000 → 10.0.0.2:2000.
pub fn udp_flow() -> TestFlow {
    flow("10.0.0.1", 1000, "10.0.0.2", 2000, 17)
}

/// A flow.
pub fn flow(src: &str, sport: u16, dst: &str, dport: u16, protocol: u8) -> TestFlow {
    let ip = |s: &str| -> IpAddr {
        match s.parse() {
            Ok(ip) => ip,
            Err(e) => panic!("{s}: {e}"),
        }
    };
    TestFlow {
        src: (ip(src), sport),
        dst: (ip(dst), dport),
        protocol,
        vlan: None,
        raw_ip: false,
    }
}

/// Runs packets through a kernel with the interpreter; returns (column, value) pairs.
pub fn run_kernel(k: &Kernel, f: &TestFlow, packets: &[P]) -> Vec<(String, Value)> {
    let test = Test {
        name: "harness".into(),
        file: FileId(0),
        flow: f.clone(),
        packets: packets.iter().map(|p| p.0.clone()).collect(),
        expects: vec![],
        span: Span::default(),
    };
    let (fv, views) = test_packets(&test);
    let mut interp = Interpreter::new(k);
    let mut state = vec![0u64; k.state_slots()];
    k.init_state(&mut state);
    for p in &views {
        interp.update(&mut state, &p.view());
    }
    let mut cells = vec![0u64; k.out_cells()];
    interp.finish(&mut state, &fv, &mut cells);
    // Run-time strings live in the state: read them before it is dropped (twice: harmless).
    let mut values = Vec::new();
    k.cells_to_values_with_state(&cells, &state, &mut values);
    k.drop_state(&mut state);
    k.drop_state(&mut state);
    k.columns()
        .iter()
        .map(|c| c.name.clone())
        .zip(values)
        .collect()
}

/// Compiles every group of `src` and runs `packets` over a UDP flow.
pub fn run(src: &str, packets: &[P]) -> Vec<(String, Value)> {
    run_on(src, &udp_flow(), packets)
}

/// Compiles every group of `src` and runs `packets` over `f`.
pub fn run_on(src: &str, f: &TestFlow, packets: &[P]) -> Vec<(String, Value)> {
    let lib = library(src);
    let k = match compile(&lib.program, &all_groups(&lib)) {
        Ok(k) => k,
        Err(e) => panic!("{e}"),
    };
    run_kernel(&k, f, packets)
}

/// The value of a column.
pub fn get<'a>(row: &'a [(String, Value)], name: &str) -> &'a Value {
    match row.iter().find(|(n, _)| n == name) {
        Some((_, v)) => v,
        None => panic!("no column {name} in {row:?}"),
    }
}

/// A float column.
pub fn float(row: &[(String, Value)], name: &str) -> f64 {
    match get(row, name) {
        Value::Float(x) => *x,
        other => panic!("{name} is {other:?}"),
    }
}

/// An int column.
pub fn int(row: &[(String, Value)], name: &str) -> i64 {
    match get(row, name) {
        Value::Int(x) => *x,
        other => panic!("{name} is {other:?}"),
    }
}

/// A bool column.
pub fn boolean(row: &[(String, Value)], name: &str) -> bool {
    match get(row, name) {
        Value::Bool(x) => *x,
        other => panic!("{name} is {other:?}"),
    }
}

/// A str column.
pub fn text(row: &[(String, Value)], name: &str) -> String {
    match get(row, name) {
        Value::Str(x) => x.clone(),
        other => panic!("{name} is {other:?}"),
    }
}

/// Asserts `a` and `b` agree to 1e-12 relative.
pub fn assert_close(a: f64, b: f64) {
    assert!(
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-300),
        "{a} != {b}"
    );
}

pub const F: Direction = Direction::Fwd;
pub const B: Direction = Direction::Bwd;
