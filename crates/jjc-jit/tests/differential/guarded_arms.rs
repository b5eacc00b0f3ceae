//! The helpers of an `if` arm or a `??` fallback run only for the flows that take it, and
//! give the same row under both backends as if every arm ran: for each arm taken, for a
//! `let` first met inside an arm and used outside it too, and for nested arms.

use jjc_abi::{FlowView, PacketView, Value};
use jjc_jit::JitKernel;
use jjc_kernel::Interpreter;

use crate::harness::{Flow, check, kernel_of_files, run_both};

const PROGRAM: &str = r#"
table names: int -> str { 6 => "TCP", 17 => "UDP" }

features arms "arms with helpers" {
    let s = "x" + str(flow.protocol)
    let m = median(pkt.len) ?? 0.0
    in_arm: str    = if flow.src_port > 1024 then s else "lo"
    m_in_arm: float = if flow.src_port > 1024 then m else -1.0
    s_after: str   = s
    m_after: float = m
    nested: str    = names[flow.protocol] ?? (if flow.dst_port == 9 then "nine-" + str(flow.dst_port) else "p" + str(flow.protocol))
    joined: str    = (if flow.dst_port == 9 then "N-" else "") + (names[flow.protocol] ?? "P" + str(flow.protocol))
}
"#;

/// The row of three packets of lengths 60, 90 and 90 on a flow of these ports and protocol.
fn row(src_port: i64, dst_port: i64, protocol: i64) -> Vec<(String, Value)> {
    let lib = match check(PROGRAM) {
        Ok(lib) => lib,
        Err(e) => panic!("{e}"),
    };
    let kernel = match kernel_of_files(&lib) {
        Ok(k) => k,
        Err(e) => panic!("{e}"),
    };
    let mut jit = match JitKernel::compile(&kernel) {
        Ok(j) => j,
        Err(e) => panic!("{e}"),
    };
    let mut interp = Interpreter::new(&kernel);
    let packets = [60, 90, 90]
        .into_iter()
        .enumerate()
        .map(|(i, len)| {
            let mut p = PacketView::default();
            p.ts = i as f64;
            p.len = len;
            p
        })
        .collect();
    let flow = Flow {
        packets,
        view: FlowView {
            packet_count: 3,
            packets_fwd: 3,
            src_port,
            dst_port,
            protocol,
            ip_version: 4,
            ..FlowView::default()
        },
    };
    match run_both(&kernel, &mut interp, &mut jit, &flow) {
        Ok(values) => kernel
            .columns()
            .iter()
            .map(|c| c.name.clone())
            .zip(values)
            .collect(),
        Err(e) => panic!("{e}"),
    }
}

fn text(row: &[(String, Value)], name: &str) -> String {
    match row.iter().find(|(n, _)| n == name) {
        Some((_, Value::Str(s))) => s.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

fn float(row: &[(String, Value)], name: &str) -> f64 {
    match row.iter().find(|(n, _)| n == name) {
        Some((_, Value::Float(x))) => *x,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn arms_not_taken_leave_every_other_use_of_their_values_whole() {
    // The arms that read `s` and `m` are not taken; their later uses still see them.
    let r = row(80, 10, 47);
    assert_eq!(text(&r, "in_arm"), "lo");
    assert_eq!(float(&r, "m_in_arm"), -1.0);
    assert_eq!(text(&r, "s_after"), "x47");
    assert_eq!(float(&r, "m_after"), 90.0);
    assert_eq!(text(&r, "nested"), "p47");
    assert_eq!(text(&r, "joined"), "P47");
}

#[test]
fn each_arm_taken_gives_its_own_value() {
    let r = row(2000, 9, 47);
    assert_eq!(text(&r, "in_arm"), "x47");
    assert_eq!(float(&r, "m_in_arm"), 90.0);
    assert_eq!(text(&r, "nested"), "nine-9");
    assert_eq!(text(&r, "joined"), "N-P47");
    let r = row(2000, 9, 17);
    assert_eq!(text(&r, "nested"), "UDP");
    assert_eq!(text(&r, "joined"), "N-UDP");
    assert_eq!(text(&r, "s_after"), "x17");
    let r = row(80, 10, 6);
    assert_eq!(text(&r, "joined"), "TCP");
}
