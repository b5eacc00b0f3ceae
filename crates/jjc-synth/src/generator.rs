//! The realistic mix: flows of many applications starting at a Poisson rate, their
//! packets interleaved in timestamp order through a priority queue.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{self, Write};

use crate::emit::{Emitter, FlowRef};
use crate::endpoints::{AddressPool, ServerKind};
use crate::flow::{App, Flow, Step};
use crate::pcap::PcapWriter;
use crate::rng::Rng;
use crate::{Limits, SynthConfig};

/// Share of flows over IPv6.
const IPV6_SHARE: f64 = 0.2;
/// Share of flows carrying VLAN tags (when VLANs are on).
const VLAN_SHARE: f64 = 0.1;

/// Generates the realistic mix until `limits` are reached; returns the flows started.
pub(crate) fn run<W: Write>(
    config: &SynthConfig,
    start_us: u64,
    limits: Limits,
    pcap: &mut PcapWriter<W>,
) -> io::Result<u64> {
    let mut rng = Rng::new(config.seed);
    let mut pool = AddressPool::new(&mut rng);
    let mut emitter = Emitter::new();
    let mean_gap_us = 1e6 / config.flow_rate;
    let weights: Vec<u32> = App::MIX.iter().map(|&(_, w)| w).collect();

    let mut slots: Vec<Option<Flow>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut spare_queues: Vec<VecDeque<Step>> = Vec::new();
    let mut queue: BinaryHeap<Reverse<(u64, u64, usize)>> = BinaryHeap::new();
    let mut order = 0u64;
    let mut flows = 0u64;
    let mut next_arrival = start_us;

    while !limits.reached(pcap) {
        let next_packet = queue.peek().map(|Reverse((ts, _, _))| *ts);
        if next_packet.is_none_or(|ts| next_arrival <= ts) {
            let app = App::MIX
                .get(rng.weighted(&weights))
                .map_or(App::Dns, |&(a, _)| a);
            let mut flow = new_flow(&mut rng, &mut pool, app, config.vlan, spare_queues.pop());
            if flow.refill(&mut rng, emitter.payloads()) {
                let first = flow.steps.front().map_or(0, |s| s.gap_us);
                let slot = match free.pop() {
                    Some(i) => i,
                    None => {
                        slots.push(None);
                        slots.len() - 1
                    }
                };
                if let Some(s) = slots.get_mut(slot) {
                    *s = Some(flow);
                }
                queue.push(Reverse((next_arrival + first, order, slot)));
                order += 1;
                flows += 1;
            }
            next_arrival += (rng.exp(mean_gap_us) as u64).max(1);
            continue;
        }
        let Some(Reverse((ts, _, slot))) = queue.pop() else {
            break;
        };
        let Some(flow) = slots.get_mut(slot).and_then(Option::as_mut) else {
            continue;
        };
        if let Some(step) = flow.steps.pop_front() {
            let rtt_us = flow.rtt_us();
            let r = FlowRef {
                ends: &mut flow.ends,
                protocol: flow.app.protocol(),
                tag: flow.tag,
                tcp: &mut flow.tcp,
                mss: flow.mss,
                rtt_us,
            };
            emitter.emit(pcap, r, &step, ts)?;
        }
        if flow.refill(&mut rng, emitter.payloads()) {
            let gap = flow.steps.front().map_or(0, |s| s.gap_us);
            queue.push(Reverse((ts + gap, order, slot)));
            order += 1;
        } else if let Some(done) = slots.get_mut(slot).and_then(Option::take) {
            spare_queues.push(done.steps);
            free.push(slot);
        }
    }
    Ok(flows)
}

/// A new flow of `app` with endpoints drawn from the pool.
fn new_flow(
    rng: &mut Rng,
    pool: &mut AddressPool,
    app: App,
    vlans_on: bool,
    queue: Option<VecDeque<Step>>,
) -> Flow {
    let v6 = rng.chance(IPV6_SHARE);
    let vlan = vlans_on && rng.chance(VLAN_SHARE);
    let (server, port) = match app {
        App::Http => (
            ServerKind::Internet,
            if rng.chance(0.1) { 8080 } else { 80 },
        ),
        App::Tls | App::Quic => (ServerKind::Internet, 443),
        App::Ssh => (ServerKind::Internet, 22),
        App::Smtp => (ServerKind::Internet, 25),
        App::OtherTcp => {
            let ports = [3306u16, 5432, 6379, 8443, 9000, 1883, 5222];
            let port = match rng.pick(&ports) {
                Some(&p) if rng.chance(0.7) => p,
                _ => rng.range(1024, 49151) as u16,
            };
            (ServerKind::Internet, port)
        }
        App::Dns => (ServerKind::Resolver, 53),
        App::Ntp => (ServerKind::Internet, 123),
        App::Game => (ServerKind::Internet, 27015),
        App::Stun => (ServerKind::Internet, 3478),
        App::Ping => (ServerKind::Internet, 0),
    };
    let mut ends = pool.endpoints(rng, v6, server, port, vlan);
    if app == App::Ntp && rng.chance(0.5) {
        ends.client_port = 123;
    }
    let long_idle = match app {
        App::Ssh => rng.chance(0.5),
        a if a.is_tcp() => rng.chance(0.1),
        _ => false,
    };
    Flow::new(rng, app, ends, long_idle, queue.unwrap_or_default())
}
