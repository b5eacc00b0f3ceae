//! One synthetic flow: who it is, what application it plays, and the packets it still has
//! to send, produced a phase at a time so memory stays bounded by the active flows.

mod script;

use std::collections::VecDeque;

use crate::endpoints::Endpoints;
use crate::payload::{Content, MsgCtx, Payloads};
use crate::rng::Rng;

/// TCP flag bits.
pub(crate) mod tcp_flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
}
use tcp_flags::{ACK, FIN, SYN};

/// The application a flow plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum App {
    /// HTTP/1.1 on TCP 80.
    Http,
    /// TLS on TCP 443.
    Tls,
    /// SSH on TCP 22: banners, key exchange, then interactive typing.
    Ssh,
    /// SMTP on TCP 25.
    Smtp,
    /// Some other TCP service: binary request/response.
    OtherTcp,
    /// DNS on UDP 53.
    Dns,
    /// NTP on UDP 123.
    Ntp,
    /// QUIC-like traffic on UDP 443.
    Quic,
    /// A Source engine game session on UDP 27015.
    Game,
    /// STUN then voice-like packets on UDP 3478.
    Stun,
    /// ICMP echo.
    Ping,
}

impl App {
    /// Every application with its relative share of flows.
    pub(crate) const MIX: [(App, u32); 11] = [
        (App::Dns, 36),
        (App::Ntp, 3),
        (App::Quic, 6),
        (App::Game, 1),
        (App::Stun, 2),
        (App::Ping, 3),
        (App::Http, 14),
        (App::Tls, 24),
        (App::Ssh, 3),
        (App::Smtp, 3),
        (App::OtherTcp, 8),
    ];

    /// Whether the application runs over TCP.
    pub(crate) fn is_tcp(self) -> bool {
        matches!(
            self,
            App::Http | App::Tls | App::Ssh | App::Smtp | App::OtherTcp
        )
    }

    /// The transport protocol number.
    pub(crate) fn protocol(self) -> u8 {
        match self {
            App::Ping => 1,
            a if a.is_tcp() => 6,
            _ => 17,
        }
    }
}

/// One packet a flow will send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    /// Time since the flow's previous packet, in microseconds.
    pub gap_us: u64,
    /// Sent by the client (the initiator).
    pub from_client: bool,
    /// TCP flags (0 for UDP and ICMP).
    pub flags: u8,
    /// Payload length; `None` for the message's own length.
    pub len: Option<u16>,
    /// What the payload holds.
    pub content: Content,
}

/// Where a flow is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing sent yet.
    Start,
    /// Exchanges (TCP request/response, UDP ticks) still to come.
    Exchange { left: u32 },
    /// Closing (or just falling silent).
    Close,
    /// Finished.
    Done,
}

/// Sequence-number state of a TCP connection, client (0) and server (1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TcpState {
    /// Initial sequence numbers.
    pub isn: [u32; 2],
    /// Next sequence numbers.
    pub next: [u32; 2],
    /// Window fields after the handshake.
    pub window: [u16; 2],
}

impl TcpState {
    /// Sequence and acknowledgment numbers of a segment, advancing the sender's state.
    pub(crate) fn segment(
        &mut self,
        from_client: bool,
        flags: u8,
        payload_len: usize,
    ) -> (u32, u32) {
        let (d, o) = if from_client { (0, 1) } else { (1, 0) };
        let seq = if flags & SYN != 0 {
            self.next[d] = self.isn[d].wrapping_add(1);
            self.isn[d]
        } else {
            let seq = self.next[d];
            self.next[d] = seq
                .wrapping_add(payload_len as u32)
                .wrapping_add(u32::from(flags & FIN != 0));
            seq
        };
        let ack = if flags & ACK != 0 { self.next[o] } else { 0 };
        (seq, ack)
    }
}

/// A live flow.
#[derive(Debug)]
pub(crate) struct Flow {
    /// Its two ends.
    pub ends: Endpoints,
    /// The application it plays.
    pub app: App,
    /// Random value picking names, ids and variants for its payloads.
    pub tag: u64,
    /// TCP state (unused by other transports).
    pub tcp: TcpState,
    /// Maximum segment size of its TCP data.
    pub mss: u16,
    /// Packets queued to send, oldest first.
    pub steps: VecDeque<Step>,
    rtt_us: u64,
    seg_gap_us: u64,
    phase: Phase,
    long_idle: bool,
    count: u32,
}

impl Flow {
    /// A new flow of `app` between `ends`; its packets come from [`Flow::refill`].
    pub(crate) fn new(
        rng: &mut Rng,
        app: App,
        ends: Endpoints,
        long_idle: bool,
        recycled: VecDeque<Step>,
    ) -> Flow {
        let local = crate::endpoints::AddressPool::is_local(&ends);
        let rtt_us = if local {
            rng.range(150, 1500)
        } else {
            rng.log_uniform(4_000, 180_000)
        };
        let mss = if ends.v6 { 1440 } else { 1460 };
        let mut steps = recycled;
        steps.clear();
        Flow {
            ends,
            app,
            tag: rng.next_u64(),
            tcp: TcpState {
                isn: [rng.next_u32(), rng.next_u32()],
                next: [0, 0],
                window: [rng.range(229, 2052) as u16, rng.range(235, 1025) as u16],
            },
            mss,
            steps,
            rtt_us,
            seg_gap_us: rng.log_uniform(12, 400),
            phase: Phase::Start,
            long_idle,
            count: 0,
        }
    }

    /// The round-trip time between capture point and server.
    pub(crate) fn rtt_us(&self) -> u64 {
        self.rtt_us
    }

    /// The facts a payload message may show, at time `ts_us`.
    pub(crate) fn msg_ctx(&self, ts_us: u64) -> MsgCtx {
        MsgCtx {
            tag: self.tag,
            ts_us,
            client_ip: self.ends.client_ip,
            v6: self.ends.v6,
            client_port: self.ends.client_port,
        }
    }

    /// Queues the flow's next phase of packets; false once it has nothing more to send.
    pub(crate) fn refill(&mut self, rng: &mut Rng, payloads: &mut Payloads) -> bool {
        while self.steps.is_empty() {
            if self.phase == Phase::Done {
                return false;
            }
            let mut s = script::Script {
                flow: self,
                rng,
                payloads,
            };
            s.advance();
        }
        true
    }

    fn push(
        &mut self,
        gap_us: u64,
        from_client: bool,
        flags: u8,
        len: Option<usize>,
        content: Content,
    ) {
        self.steps.push_back(Step {
            gap_us,
            from_client,
            flags,
            len: len.map(|l| l.min(usize::from(u16::MAX)) as u16),
            content,
        });
    }
}
