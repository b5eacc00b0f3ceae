//! Running the `.jjf` `test` blocks: hand-made packets straight into a kernel, under any
//! backend.

use std::net::IpAddr;

use jjc_abi::{Direction, FlowView, PacketView, TcpFlags, Value};
use jjc_sema::Program;
use jjc_sema::hir::{GroupId, Test, Value as HirValue};
use jjc_syntax::{FileId, Span};

use crate::kernel::{Exec, Kernel};

/// One hand-made packet, owning its payload; [`OwnedTestPacket::view`] lends a
/// [`PacketView`] of it.
#[derive(Debug, Clone)]
pub struct OwnedTestPacket {
    view: PacketView<'static>,
    payload: Vec<u8>,
}

impl OwnedTestPacket {
    /// The packet as kernels see it.
    pub fn view(&self) -> PacketView<'_> {
        let mut v: PacketView<'_> = self.view;
        v.set_payload(&self.payload);
        v
    }
}

/// The groups defined in `file`, in definition order (a test's kernel runs these).
pub fn groups_of_file(program: &Program, file: FileId) -> Vec<GroupId> {
    program
        .groups
        .iter()
        .enumerate()
        .filter(|(_, g)| g.file == file)
        .map(|(i, _)| GroupId(i as u32))
        .collect()
}

fn ip_bytes(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(a) => {
            let mut b = [0u8; 16];
            b[12..].copy_from_slice(&a.octets());
            b
        }
        IpAddr::V6(a) => a.octets(),
    }
}

/// Builds the flow and packets of a test.
///
/// Defaults: IPv4 when both addresses are IPv4, else IPv6 (an IPv4 address then becomes
/// `::ffff:a.b.c.d`); `payload_len` is the payload's length; `len` is `payload_len` plus the
/// headers: 40 for TCP (20 IP + 20 TCP), 28 for UDP and any other protocol (20 IP + 8), 20
/// more for IPv6; `wire_len` is `len + 14` (Ethernet; `len` for a `link raw` flow, which has
/// no link layer and no MAC addresses) and `cap_len` the captured part of it; TTL 64; the
/// FlowView's `terminated` is set by any FIN or RST.
pub fn test_packets(test: &Test) -> (FlowView, Vec<OwnedTestPacket>) {
    let flow = &test.flow;
    let v6 = flow.src.0.is_ipv6() || flow.dst.0.is_ipv6();
    let addr = |ip: IpAddr| match (v6, ip) {
        (true, IpAddr::V4(a)) => a.to_ipv6_mapped().octets(),
        _ => ip_bytes(ip),
    };
    let (src, dst) = (addr(flow.src.0), addr(flow.dst.0));
    let l4: u32 = match flow.protocol {
        6 => 20,
        _ => 8,
    };
    let ip_hdr: u32 = if v6 { 40 } else { 20 };
    let link: u32 = if flow.raw_ip { 0 } else { 14 };
    let mut packets = Vec::with_capacity(test.packets.len());
    let mut fv = FlowView {
        start_time: test.packets.first().map_or(0.0, |p| p.ts),
        end_time: test.packets.last().map_or(0.0, |p| p.ts),
        duration: 0.0,
        packet_count: 0,
        byte_count: 0,
        packets_fwd: 0,
        packets_bwd: 0,
        bytes_fwd: 0,
        bytes_bwd: 0,
        src_port: i64::from(flow.src.1),
        dst_port: i64::from(flow.dst.1),
        protocol: i64::from(flow.protocol),
        vlan_id: i64::from(flow.vlan.unwrap_or(0)),
        ip_version: if v6 { 6 } else { 4 },
        terminated: 0,
        src_ip: src,
        dst_ip: dst,
    };
    fv.duration = fv.end_time - fv.start_time;
    for p in &test.packets {
        let payload_len = p
            .payload_len
            .unwrap_or(u32::try_from(p.payload.len()).unwrap_or(u32::MAX));
        let len = p.len.unwrap_or(payload_len.saturating_add(ip_hdr + l4));
        let mut v = PacketView::default();
        v.ts = p.ts;
        v.len = len;
        v.payload_len = payload_len;
        v.wire_len = len.saturating_add(link);
        v.protocol = flow.protocol;
        v.ip_version = if v6 { 6 } else { 4 };
        v.ttl = 64;
        v.has_mac = u8::from(!flow.raw_ip);
        v.dir = p.dir;
        let headers = link + ip_hdr + l4;
        v.cap_len = v
            .wire_len
            .min(headers.saturating_add(u32::try_from(p.payload.len()).unwrap_or(u32::MAX)));
        let ((sa, sp), (da, dp)) = match p.dir {
            Direction::Fwd => ((src, flow.src.1), (dst, flow.dst.1)),
            Direction::Bwd => ((dst, flow.dst.1), (src, flow.src.1)),
        };
        v.src_ip = sa;
        v.dst_ip = da;
        if matches!(flow.protocol, 6 | 17 | 132) {
            v.src_port = sp;
            v.dst_port = dp;
        }
        if flow.protocol == 6 {
            v.tcp_flags = p.tcp_flags;
        }
        if let Some(tag) = flow.vlan {
            v.vlans[0] = tag;
            v.vlan_count = 1;
        }
        fv.packet_count += 1;
        fv.byte_count += i64::from(len);
        match p.dir {
            Direction::Fwd => {
                fv.packets_fwd += 1;
                fv.bytes_fwd += i64::from(len);
            }
            Direction::Bwd => {
                fv.packets_bwd += 1;
                fv.bytes_bwd += i64::from(len);
            }
        }
        if p.tcp_flags & (TcpFlags::FIN | TcpFlags::RST) != 0 && flow.protocol == 6 {
            fv.terminated = 1;
        }
        packets.push(OwnedTestPacket {
            view: v,
            payload: p.payload.clone(),
        });
    }
    (fv, packets)
}

/// One failed expectation.
#[derive(Debug, Clone, PartialEq)]
pub struct TestFailure {
    /// The column.
    pub column: String,
    /// What the test expected.
    pub expected: String,
    /// What the kernel computed (or why there is nothing to compare).
    pub got: String,
    /// Where the `expect` is written.
    pub span: Span,
}

/// The result of one test.
#[derive(Debug, Clone, PartialEq)]
pub struct TestOutcome {
    /// The test's name.
    pub name: String,
    /// Where the test is written.
    pub span: Span,
    /// Failed expectations; empty when the test passed.
    pub failures: Vec<TestFailure>,
}

impl TestOutcome {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Floats are equal within 1e-9 relative to the larger magnitude (at least 1), or both NaN.
fn same(expected: &HirValue, got: &Value) -> bool {
    match (expected, got) {
        (HirValue::Bool(a), Value::Bool(b)) => a == b,
        (HirValue::Int(a), Value::Int(b)) => a == b,
        (HirValue::Int(a), Value::Float(b)) => close(*a as f64, *b),
        (HirValue::Float(a), Value::Float(b)) => close(*a, *b),
        (HirValue::Str(a), Value::Str(b)) => a == b,
        (HirValue::Ip(a), Value::Ip(b)) => a == b,
        _ => false,
    }
}

fn close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn show(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(x) => format!("{x:?}"),
        Value::Str(s) => format!("{s:?}"),
        Value::Ip(ip) => ip.to_string(),
    }
}

/// Runs one test: its packets through `exec` (a backend of `kernel`), then compares every
/// `expect` (floats within 1e-9 relative). `program` is the program the test belongs to.
pub fn run_test(
    program: &Program,
    kernel: &Kernel,
    exec: &mut dyn Exec,
    test: &Test,
) -> TestOutcome {
    let (flow, packets) = test_packets(test);
    let mut state = vec![0u64; kernel.state_slots()];
    kernel.init_state(&mut state);
    for p in &packets {
        exec.update(&mut state, &p.view());
    }
    let mut cells = vec![0u64; kernel.out_cells()];
    exec.finish(&mut state, &flow, &mut cells);
    let mut values = Vec::with_capacity(kernel.columns().len());
    kernel.cells_to_values_with_state(&cells, &state, &mut values);
    kernel.drop_state(&mut state);
    let mut failures = Vec::new();
    for e in &test.expects {
        let found = kernel
            .columns()
            .iter()
            .position(|c| c.name == e.column)
            .and_then(|i| values.get(i));
        match found {
            Some(v) if same(&e.value, v) => {}
            Some(v) => failures.push(TestFailure {
                column: e.column.clone(),
                expected: e.value.to_string(),
                got: show(v),
                span: e.span,
            }),
            None => {
                let groups: Vec<&str> = groups_of_file(program, test.file)
                    .iter()
                    .filter_map(|g| program.group(*g).map(|g| g.name.as_str()))
                    .collect();
                failures.push(TestFailure {
                    column: e.column.clone(),
                    expected: e.value.to_string(),
                    got: format!(
                        "no such column in the kernel (the file's groups: {})",
                        groups.join(", ")
                    ),
                    span: e.span,
                });
            }
        }
    }
    TestOutcome {
        name: test.name.clone(),
        span: test.span,
        failures,
    }
}
