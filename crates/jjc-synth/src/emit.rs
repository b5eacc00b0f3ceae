//! Turning a flow's next step into a frame and a pcap record.

use std::io::{self, Write};

use crate::endpoints::Endpoints;
use crate::flow::tcp_flags::{ACK, SYN};
use crate::flow::{Step, TcpState};
use crate::frame::{Transport, build_frame};
use crate::payload::{Content, Message, MsgCtx, Payloads};
use crate::pcap::PcapWriter;

/// What the emitter needs to know about a packet's flow.
#[derive(Debug)]
pub(crate) struct FlowRef<'a> {
    /// The flow's ends (their IP ids advance).
    pub ends: &'a mut Endpoints,
    /// IP protocol: 6, 17 or 1 (ICMP / ICMPv6 by the IP version).
    pub protocol: u8,
    /// The flow's tag.
    pub tag: u64,
    /// TCP sequence state (advances on TCP packets).
    pub tcp: &'a mut TcpState,
    /// The flow's maximum segment size (announced on SYNs).
    pub mss: u16,
    /// Round-trip time, for the echoed TCP timestamp of a SYN-ACK.
    pub rtt_us: u64,
}

/// Reusable buffers for building frames.
#[derive(Debug)]
pub(crate) struct Emitter {
    payloads: Payloads,
    frame: Vec<u8>,
}

impl Emitter {
    /// Empty buffers and the filler blocks.
    pub(crate) fn new() -> Emitter {
        Emitter {
            payloads: Payloads::new(),
            frame: Vec::with_capacity(2048),
        }
    }

    /// The payload builder, for scripts that measure messages.
    pub(crate) fn payloads(&mut self) -> &mut Payloads {
        &mut self.payloads
    }

    /// Builds the frame of `step` at `ts_us` and writes it as a record.
    pub(crate) fn emit<W: Write>(
        &mut self,
        pcap: &mut PcapWriter<W>,
        flow: FlowRef<'_>,
        step: &Step,
        ts_us: u64,
    ) -> io::Result<()> {
        let ends = flow.ends;
        let ctx = MsgCtx {
            tag: flow.tag,
            ts_us,
            client_ip: ends.client_ip,
            v6: ends.v6,
            client_port: ends.client_port,
        };
        let payload = self
            .payloads
            .build(step.content, &ctx, step.len.map(usize::from));
        let from_client = step.from_client;
        let link = ends.link(from_client);
        let ip = ends.next_ip(from_client, flow.protocol == 6);
        let (src_port, dst_port) = if from_client {
            (ends.client_port, ends.server_port)
        } else {
            (ends.server_port, ends.client_port)
        };
        let mut options = [0u8; 20];
        let transport = match flow.protocol {
            6 => {
                let (seq, ack) = flow.tcp.segment(from_client, step.flags, payload.len());
                let syn = step.flags & SYN != 0;
                let window = match (syn, from_client) {
                    (true, true) => 64_240,
                    (true, false) => 65_160,
                    (false, true) => flow.tcp.window[0],
                    (false, false) => flow.tcp.window[1],
                };
                let options: &[u8] = if syn {
                    let ms = |us: u64| ((us / 1_000) as u32).wrapping_add(flow.tag as u32);
                    let (tsval, tsecr) = if step.flags & ACK != 0 {
                        (
                            ms(ts_us) ^ 0x5a5a_0000,
                            ms(ts_us.saturating_sub(flow.rtt_us)),
                        )
                    } else {
                        (ms(ts_us), 0)
                    };
                    syn_options(&mut options, flow.mss, tsval, tsecr);
                    &options
                } else {
                    &[]
                };
                Transport::Tcp {
                    src_port,
                    dst_port,
                    seq,
                    ack,
                    flags: step.flags,
                    window,
                    options,
                }
            }
            17 => Transport::Udp { src_port, dst_port },
            _ => {
                let seq = match step.content {
                    Content::Message(Message::PingData { seq }, _) => seq,
                    _ => 0,
                };
                let icmp_type = match (ends.v6, from_client) {
                    (false, true) => 8,
                    (false, false) => 0,
                    (true, true) => 128,
                    (true, false) => 129,
                };
                Transport::IcmpEcho {
                    icmp_type,
                    id: flow.tag as u16,
                    seq,
                }
            }
        };
        // Frames the client receives were padded by the sender's NIC when short.
        build_frame(
            &mut self.frame,
            &link,
            &ip,
            &transport,
            payload,
            !from_client,
        );
        pcap.write(ts_us, &self.frame)
    }
}

/// The options of a Linux SYN / SYN-ACK: MSS, SACK permitted, timestamps, NOP, window
/// scale 7 (20 bytes).
fn syn_options(out: &mut [u8; 20], mss: u16, tsval: u32, tsecr: u32) {
    let m = mss.to_be_bytes();
    let v = tsval.to_be_bytes();
    let e = tsecr.to_be_bytes();
    *out = [
        2, 4, m[0], m[1], 4, 2, 8, 10, v[0], v[1], v[2], v[3], e[0], e[1], e[2], e[3], 1, 3, 3, 7,
    ];
}
