//! Flow-table behaviour on hand-made packet sequences.

use jjc_abi::{Direction, PacketView, TcpFlags};

use crate::{EndReason, EndedFlow, FlowConfig, FlowHandler, FlowRecord, FlowTable, TcpEnd};

/// Records the direction and time of every packet a flow sees.
#[derive(Default)]
struct Trace;

impl FlowHandler for Trace {
    type State = Vec<(Direction, f64)>;
    fn start(&mut self, flow: &FlowRecord, _: &mut [u64]) -> Self::State {
        assert_eq!(flow.total_packets(), 0);
        Vec::new()
    }
    fn update(
        &mut self,
        state: &mut Self::State,
        _: &mut [u64],
        flow: &FlowRecord,
        pkt: &PacketView<'_>,
    ) {
        assert_eq!(flow.end_time, pkt.ts);
        state.push((pkt.dir, pkt.ts));
    }
}

const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [10, 0, 0, 2];

fn tcp(ts: f64, from_a: bool, flags: u16) -> PacketView<'static> {
    let mut p = PacketView::default();
    let (s, d, sp, dp) = if from_a {
        (A, B, 40000, 80)
    } else {
        (B, A, 80, 40000)
    };
    p.src_ip[12..].copy_from_slice(&s);
    p.dst_ip[12..].copy_from_slice(&d);
    p.src_port = sp;
    p.dst_port = dp;
    p.protocol = 6;
    p.tcp_flags = flags;
    p.ts = ts;
    p.len = 40;
    p
}

fn udp(ts: f64, port: u16) -> PacketView<'static> {
    let mut p = tcp(ts, true, 0);
    p.protocol = 17;
    p.src_port = port;
    p
}

fn run(cfg: FlowConfig, pkts: &[PacketView<'static>]) -> Vec<EndedFlow<Vec<(Direction, f64)>>> {
    let mut t = FlowTable::new(cfg, Trace).unwrap();
    let mut out = Vec::new();
    for p in pkts {
        let mut p = *p;
        t.process(&mut p);
    }
    t.drain_ended(&mut out);
    t.end_all();
    t.drain_ended(&mut out);
    assert_eq!(t.live_flows(), 0);
    out
}

fn cfg(tcp_end: TcpEnd) -> FlowConfig {
    FlowConfig {
        tcp_end,
        ..FlowConfig::default()
    }
}

const ACK: u16 = TcpFlags::ACK;
const SYN: u16 = TcpFlags::SYN;
const FIN: u16 = TcpFlags::FIN | TcpFlags::ACK;
const RST: u16 = TcpFlags::RST;

#[test]
fn both_directions_make_one_flow_oriented_by_the_first_sender() {
    let out = run(
        cfg(TcpEnd::Never),
        &[
            tcp(1.0, false, SYN),
            tcp(1.5, true, ACK),
            tcp(2.0, false, ACK),
        ],
    );
    assert_eq!(out.len(), 1);
    let r = &out[0].record;
    assert_eq!(r.src_port, 80, "the initiator is whoever sent first");
    assert_eq!(
        (r.packets_fwd, r.packets_bwd, r.bytes_fwd, r.bytes_bwd),
        (2, 1, 80, 40)
    );
    assert_eq!((r.start_time, r.end_time, r.duration()), (1.0, 2.0, 1.0));
    assert_eq!(
        out[0].state.iter().map(|x| x.0).collect::<Vec<_>>(),
        [Direction::Fwd, Direction::Bwd, Direction::Fwd]
    );
    assert_eq!(r.end_reason, EndReason::EndOfInput);
    assert!(out[0].event_time.is_infinite());
}

#[test]
fn idle_timeout_is_strictly_greater() {
    let c = FlowConfig {
        idle_timeout: 10.0,
        ..cfg(TcpEnd::Never)
    };
    let out = run(c.clone(), &[udp(0.0, 1), udp(10.0, 1)]);
    assert_eq!(out.len(), 1, "exactly the timeout does not split");
    let out = run(c, &[udp(0.0, 1), udp(10.5, 1)]);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].record.end_reason, EndReason::IdleTimeout);
    assert_eq!(out[0].event_time, 10.0);
    assert_eq!(out[1].record.start_time, 10.5);
}

#[test]
fn the_capture_clock_ends_idle_flows_and_orders_them() {
    let c = FlowConfig {
        idle_timeout: 5.0,
        ..cfg(TcpEnd::Never)
    };
    let mut t = FlowTable::new(c, Trace).unwrap();
    for mut p in [udp(0.0, 1), udp(1.0, 2), udp(3.0, 3), udp(9.0, 4)] {
        t.process(&mut p);
    }
    t.sweep();
    let mut out = Vec::new();
    t.drain_ended(&mut out);
    let ports: Vec<u16> = out.iter().map(|f| f.record.src_port).collect();
    assert_eq!(
        ports,
        [1, 2, 3],
        "ended by the clock, in the order they went idle"
    );
    assert_eq!(
        out.iter().map(|f| f.event_time).collect::<Vec<_>>(),
        [5.0, 6.0, 8.0]
    );
    assert_eq!(t.live_flows(), 1);
}

#[test]
fn a_late_packet_against_the_clock_starts_a_new_flow() {
    // Port 1 is last seen at 0; the clock reaches 20 through port 2; a packet of port 1 stamped
    // 5 (time went backwards) arrives after the flow should have been swept.
    let c = FlowConfig {
        idle_timeout: 10.0,
        ..cfg(TcpEnd::Never)
    };
    let out = run(c, &[udp(0.0, 1), udp(20.0, 2), udp(5.0, 1)]);
    assert_eq!(out.iter().filter(|f| f.record.src_port == 1).count(), 2);
}

#[test]
fn after_a_jump_back_in_time_flows_continue_on_the_clock() {
    // Merged captures jump back by hours; packets of the past must not each become a flow.
    let c = FlowConfig {
        idle_timeout: 10.0,
        ..cfg(TcpEnd::Never)
    };
    let out = run(
        c,
        &[
            udp(100_000.0, 2),
            udp(0.0, 1),
            udp(5.0, 1),
            udp(9.0, 1),
            udp(30.0, 1),
        ],
    );
    let port1: Vec<u64> = out
        .iter()
        .filter(|f| f.record.src_port == 1)
        .map(|f| f.record.total_packets())
        .collect();
    assert_eq!(port1, [4]);
}

#[test]
fn end_of_input_ends_idle_flows_as_idle() {
    let c = FlowConfig {
        idle_timeout: 10.0,
        ..cfg(TcpEnd::Never)
    };
    let out = run(c, &[udp(0.0, 1), udp(50.0, 2)]);
    assert_eq!(out[0].record.end_reason, EndReason::IdleTimeout);
    assert_eq!(out[0].event_time, 10.0);
    assert_eq!(out[1].record.end_reason, EndReason::EndOfInput);
}

#[test]
fn time_going_backwards_never_ends_a_flow() {
    let out = run(
        cfg(TcpEnd::Never),
        &[udp(10.0, 1), udp(4.0, 1), udp(11.0, 1)],
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].record.end_time, 11.0);
    assert_eq!(
        out[0].state.iter().map(|x| x.1).collect::<Vec<_>>(),
        [10.0, 4.0, 11.0]
    );
}

#[test]
fn first_fin_rst_ends_after_the_fin_but_not_on_the_first_packet() {
    let pkts = [
        tcp(0.0, true, FIN),
        tcp(1.0, false, ACK),
        tcp(2.0, true, FIN),
        tcp(3.0, false, FIN),
        tcp(4.0, true, ACK),
    ];
    let out = run(cfg(TcpEnd::FirstFinRst), &pkts);
    let sizes: Vec<u64> = out.iter().map(|f| f.record.total_packets()).collect();
    assert_eq!(
        sizes,
        [3, 2],
        "FIN on the first packet keeps the flow; the next FIN ends it"
    );
    assert_eq!(out[0].record.end_reason, EndReason::TcpEnd);
    assert_eq!(out[0].event_time, 2.0);
    assert_eq!(
        out[1].record.src_port, 80,
        "the tail flow's initiator is whoever sent next"
    );
    assert!(out[1].record.terminated);
}

#[test]
fn graceful_close_takes_the_last_ack_then_ends() {
    let pkts = [
        tcp(0.0, true, SYN),
        tcp(0.1, false, SYN | ACK),
        tcp(0.2, true, FIN),
        tcp(0.3, false, FIN),
        tcp(0.4, true, ACK),
        tcp(5.0, true, ACK),
    ];
    let out = run(cfg(TcpEnd::Graceful), &pkts);
    assert_eq!(
        out.iter()
            .map(|f| f.record.total_packets())
            .collect::<Vec<_>>(),
        [5, 1]
    );
    assert_eq!(out[0].record.end_reason, EndReason::TcpEnd);
    assert!((out[0].event_time - 1.3).abs() < 1e-12);
}

#[test]
fn graceful_close_after_rst_and_syn_reuse() {
    let pkts = [
        tcp(0.0, true, SYN),
        tcp(0.1, false, RST),
        tcp(0.2, true, SYN),
        tcp(0.3, false, SYN | ACK),
    ];
    let out = run(cfg(TcpEnd::Graceful), &pkts);
    assert_eq!(
        out.iter()
            .map(|f| f.record.total_packets())
            .collect::<Vec<_>>(),
        [2, 2],
        "a SYN on a closing key starts a new flow"
    );
    let pkts = [
        tcp(0.0, true, SYN),
        tcp(0.1, false, RST),
        tcp(0.2, true, ACK),
    ];
    let out = run(cfg(TcpEnd::Graceful), &pkts);
    assert_eq!(
        out.len(),
        1,
        "a stray ACK within the grace period joins the closing flow"
    );
}

#[test]
fn one_fin_is_not_a_graceful_close() {
    let pkts = [
        tcp(0.0, true, SYN),
        tcp(0.2, true, FIN),
        tcp(3.0, false, ACK),
    ];
    assert_eq!(run(cfg(TcpEnd::Graceful), &pkts).len(), 1);
}

#[test]
fn never_ignores_flags() {
    let pkts = [
        tcp(0.0, true, SYN),
        tcp(0.1, false, RST),
        tcp(0.2, true, FIN),
        tcp(9.0, false, FIN),
    ];
    assert_eq!(run(cfg(TcpEnd::Never), &pkts).len(), 1);
}

#[test]
fn active_timeout_splits_long_flows() {
    let c = FlowConfig {
        active_timeout: Some(10.0),
        ..cfg(TcpEnd::Never)
    };
    let pkts: Vec<_> = (0..25).map(|i| udp(f64::from(i), 1)).collect();
    let out = run(c, &pkts);
    assert_eq!(
        out.iter()
            .map(|f| f.record.total_packets())
            .collect::<Vec<_>>(),
        [11, 11, 3]
    );
    assert_eq!(out[0].record.end_reason, EndReason::ActiveTimeout);
    assert_eq!(out[0].event_time, 10.0);
}

#[test]
fn max_flows_evicts_the_least_recently_used() {
    let c = FlowConfig {
        max_flows: Some(1),
        ..cfg(TcpEnd::Never)
    };
    let out = run(c, &[udp(0.0, 1), udp(1.0, 2), udp(2.0, 1)]);
    assert_eq!(out.len(), 3);
    assert_eq!(out[0].record.end_reason, EndReason::Evicted);
    assert_eq!(out[0].record.src_port, 1);
    assert_eq!(out[1].record.src_port, 2);
}

#[test]
fn max_flows_bounds_live_flows() {
    let c = FlowConfig {
        max_flows: Some(100),
        ..cfg(TcpEnd::Never)
    };
    let mut t = FlowTable::new(c, Trace).unwrap();
    for i in 0..10_000u16 {
        let mut p = udp(f64::from(i), i);
        t.process(&mut p);
        assert!(t.live_flows() <= 100);
    }
}

#[test]
fn eviction_is_reproducible() {
    let c = FlowConfig {
        max_flows: Some(7),
        ..cfg(TcpEnd::Never)
    };
    let pkts: Vec<_> = (0..500u16)
        .map(|i| udp(f64::from(i) * 0.01, i % 23))
        .collect();
    let a: Vec<_> = run(c.clone(), &pkts)
        .iter()
        .map(|f| (f.record.src_port, f.record.total_packets()))
        .collect();
    let b: Vec<_> = run(c, &pkts)
        .iter()
        .map(|f| (f.record.src_port, f.record.total_packets()))
        .collect();
    assert_eq!(a, b);
}
