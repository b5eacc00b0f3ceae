//! The scripts that write a flow's packets, one phase at a time: TCP handshakes,
//! application dialogues, bulk transfers with slow start and delayed ACKs, teardowns, and
//! the UDP / ICMP patterns.

use super::tcp_flags::{ACK, FIN, PSH, RST, SYN};
use super::{App, Flow, Phase};
use crate::payload::{Content, Filler, Message, MsgCtx, Payloads};
use crate::rng::Rng;

/// A response size: mostly small, sometimes tens of kilobytes, rarely up to 600 kB.
fn response_size(rng: &mut Rng) -> usize {
    let size = match rng.weighted(&[128, 52, 18, 2]) {
        0 => rng.range(40, 1400),
        1 => rng.log_uniform(1_400, 14_000),
        2 => rng.log_uniform(14_000, 64_000),
        _ => rng.log_uniform(64_000, 600_000),
    };
    size as usize
}

/// Writes the next phase of a flow's packets.
pub(super) struct Script<'a> {
    pub(super) flow: &'a mut Flow,
    pub(super) rng: &'a mut Rng,
    pub(super) payloads: &'a mut Payloads,
}

impl Script<'_> {
    /// Queues the packets of the flow's next phase and moves it on.
    pub(super) fn advance(&mut self) {
        let phase = self.flow.phase;
        self.flow.phase = match (phase, self.flow.app) {
            (Phase::Done, _) => Phase::Done,
            (Phase::Start, app) if app.is_tcp() => self.tcp_open(),
            (Phase::Start, _) => self.udp_open(),
            (Phase::Exchange { left: 0 }, _) => Phase::Close,
            (Phase::Exchange { left }, app) if app.is_tcp() => {
                self.tcp_exchange(left);
                Phase::Exchange { left: left - 1 }
            }
            (Phase::Exchange { left }, _) => Phase::Exchange {
                left: self.udp_ticks(left),
            },
            (Phase::Close, app) if app.is_tcp() => {
                self.tcp_close();
                Phase::Done
            }
            (Phase::Close, _) => {
                self.udp_close();
                Phase::Done
            }
        };
    }

    fn ctx(&self) -> MsgCtx {
        self.flow.msg_ctx(0)
    }

    fn measure(&mut self, m: Message) -> usize {
        let ctx = self.ctx();
        self.payloads.measure(m, &ctx)
    }

    /// A server's think time before answering.
    fn server_time(&mut self) -> u64 {
        (self.rng.exp(3_000.0) as u64).min(400_000) + 20
    }

    /// A user's pause between exchanges; in a long-idle flow, once, more than a minute.
    fn think_time(&mut self, mean_us: f64) -> u64 {
        if self.flow.long_idle && self.rng.chance(0.5) {
            self.flow.long_idle = false;
            return self.rng.range(61_000_000, 100_000_000);
        }
        (self.rng.exp(mean_us) as u64).min(20_000_000) + 100
    }

    /// Jittered spacing between back-to-back segments.
    fn seg_gap(&mut self) -> u64 {
        let g = self.flow.seg_gap_us;
        g + self.rng.below(g / 2 + 1)
    }

    /// Queues a client `request` at once and the server's `response` one round trip plus
    /// `min_us`..=2 ms later, both binary messages.
    fn ask_and_answer(&mut self, request: Message, response: Message, min_us: u64) {
        let binary = |m| Content::Message(m, Filler::Binary);
        self.flow.push(0, true, 0, None, binary(request));
        let answer = self.flow.rtt_us + self.rng.range(min_us, 2_000);
        self.flow.push(answer, false, 0, None, binary(response));
    }

    // ---- TCP ----

    fn tcp_open(&mut self) -> Phase {
        let rtt = self.flow.rtt_us;
        self.flow
            .push(0, true, SYN, Some(0), Content::Filler(Filler::Binary));
        match self.rng.weighted(&[94, 3, 3]) {
            1 => {
                // No answer: the client retransmits its SYN, then gives up.
                let mut backoff = 1_000_000;
                for _ in 0..self.rng.range(1, 3) {
                    self.flow
                        .push(backoff, true, SYN, Some(0), Content::Filler(Filler::Binary));
                    backoff *= 2;
                }
                return Phase::Done;
            }
            2 => {
                // Port closed: refused with a RST.
                self.flow.push(
                    rtt,
                    false,
                    RST | ACK,
                    Some(0),
                    Content::Filler(Filler::Binary),
                );
                return Phase::Done;
            }
            _ => {}
        }
        self.flow.push(
            rtt,
            false,
            SYN | ACK,
            Some(0),
            Content::Filler(Filler::Binary),
        );
        let ack_gap = self.rng.range(15, 120);
        self.flow
            .push(ack_gap, true, ACK, Some(0), Content::Filler(Filler::Binary));
        let exchanges = match self.flow.app {
            App::Http => self.rng.weighted(&[50, 25, 12, 8, 5]) as u32 + 1,
            App::Tls => {
                self.tls_handshake();
                self.rng.weighted(&[50, 25, 12, 8, 5]) as u32 + 1
            }
            App::Ssh => {
                self.ssh_handshake();
                self.rng.range(2, 6) as u32
            }
            App::Smtp => {
                self.smtp_session();
                0
            }
            _ => self.rng.range(1, 4) as u32,
        };
        Phase::Exchange { left: exchanges }
    }

    /// Sends `total` bytes from one side: MSS-sized segments in slow-start rounds, the
    /// first one carrying `first`; the client acknowledges every second segment it gets,
    /// the server's acknowledgments of client data arrive a round trip later.
    fn tcp_send(
        &mut self,
        from_client: bool,
        total: usize,
        first: Content,
        rest: Filler,
        first_gap: u64,
    ) {
        let mss = usize::from(self.flow.mss);
        let rtt = self.flow.rtt_us;
        let mut left = total;
        let mut gap = first_gap;
        let mut cwnd = 10usize;
        let mut sent = 0usize;
        if total == 0 {
            self.flow.push(gap, from_client, ACK | PSH, Some(0), first);
            return;
        }
        while left > 0 {
            let group = cwnd.min(left.div_ceil(mss));
            for g in 0..group {
                let seg = left.min(mss);
                left -= seg;
                let flags = if left == 0 { ACK | PSH } else { ACK };
                let content = if sent == 0 {
                    first
                } else {
                    Content::Filler(rest)
                };
                self.flow.push(gap, from_client, flags, Some(seg), content);
                sent += 1;
                gap = self.seg_gap();
                if !from_client && (sent.is_multiple_of(2) || g + 1 == group) {
                    let delay = self.rng.range(4, 60);
                    self.flow
                        .push(delay, true, ACK, Some(0), Content::Filler(Filler::Binary));
                    gap = gap.saturating_sub(delay).max(1);
                }
            }
            if from_client && (left > 0 || group > 2) {
                let mut ack_gap = rtt
                    .saturating_sub(group as u64 * self.flow.seg_gap_us)
                    .max(30);
                for _ in 0..group.div_ceil(2) {
                    self.flow.push(
                        ack_gap,
                        false,
                        ACK,
                        Some(0),
                        Content::Filler(Filler::Binary),
                    );
                    ack_gap = 2 * self.flow.seg_gap_us;
                }
                gap = self.rng.range(10, 80);
            } else if left > 0 {
                gap = rtt
                    .saturating_sub(group as u64 * self.flow.seg_gap_us)
                    .max(50);
            }
            cwnd = (cwnd * 2).min(64);
        }
    }

    fn tls_handshake(&mut self) {
        let rtt = self.flow.rtt_us;
        let hello = self.measure(Message::TlsClientHello);
        let gap = self.rng.range(50, 600);
        self.tcp_send(
            true,
            hello,
            Content::Message(Message::TlsClientHello, Filler::Binary),
            Filler::Binary,
            gap,
        );
        let flight = self.rng.range(2_400, 4_400) as usize;
        let gap = rtt + self.server_time() / 4;
        self.tcp_send(
            false,
            flight,
            Content::Message(Message::TlsServerHello, Filler::Binary),
            Filler::Binary,
            gap,
        );
        let finished = self.rng.range(64, 90) as usize;
        let gap = self.rng.range(200, 3_000);
        self.tcp_send(
            true,
            finished,
            Content::Message(Message::TlsAppData, Filler::Binary),
            Filler::Binary,
            gap,
        );
        if self.rng.chance(0.7) {
            let tickets = self.rng.range(200, 560) as usize;
            let gap = rtt + self.rng.range(100, 2_000);
            self.tcp_send(
                false,
                tickets,
                Content::Message(Message::TlsAppData, Filler::Binary),
                Filler::Binary,
                gap,
            );
        }
    }

    fn ssh_handshake(&mut self) {
        let rtt = self.flow.rtt_us;
        let (banner_c, banner_s) = (
            Message::SshBanner { client: true },
            Message::SshBanner { client: false },
        );
        let len = self.measure(banner_s);
        let gap = rtt / 2 + self.rng.range(200, 3_000);
        self.tcp_send(
            false,
            len,
            Content::Message(banner_s, Filler::Binary),
            Filler::Binary,
            gap,
        );
        let len = self.measure(banner_c);
        let gap = self.rng.range(100, 1_000);
        self.tcp_send(
            true,
            len,
            Content::Message(banner_c, Filler::Binary),
            Filler::Binary,
            gap,
        );
        for client in [true, false] {
            let kex = Message::SshKexInit { client };
            let len = self.measure(kex);
            let gap = if client { self.rng.range(20, 200) } else { rtt };
            self.tcp_send(
                client,
                len,
                Content::Message(kex, Filler::Binary),
                Filler::Binary,
                gap,
            );
        }
        let gap = self.rng.range(200, 2_000);
        self.tcp_send(
            true,
            48,
            Content::Filler(Filler::Binary),
            Filler::Binary,
            gap,
        );
        let reply = self.rng.range(500, 1_600) as usize;
        let gap = rtt + self.server_time() / 2;
        self.tcp_send(
            false,
            reply,
            Content::Filler(Filler::Binary),
            Filler::Binary,
            gap,
        );
        // Authentication round trips.
        for _ in 0..self.rng.range(2, 4) {
            let gap = self.rng.range(300, 40_000);
            let len = self.rng.range(44, 400) as usize;
            self.tcp_send(
                true,
                len,
                Content::Filler(Filler::Binary),
                Filler::Binary,
                gap,
            );
            let gap = rtt + self.server_time();
            let len = self.rng.range(28, 120) as usize;
            self.tcp_send(
                false,
                len,
                Content::Filler(Filler::Binary),
                Filler::Binary,
                gap,
            );
        }
    }

    fn smtp_session(&mut self) {
        const DIALOGUE: [(bool, &str); 12] = [
            (false, "220 mail.example.com ESMTP Postfix (Ubuntu)\r\n"),
            (true, "EHLO client.example.org\r\n"),
            (
                false,
                "250-mail.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            ),
            (true, "MAIL FROM:<alice@example.org>\r\n"),
            (false, "250 2.1.0 Ok\r\n"),
            (true, "RCPT TO:<bob@example.com>\r\n"),
            (false, "250 2.1.5 Ok\r\n"),
            (true, "DATA\r\n"),
            (false, "354 End data with <CR><LF>.<CR><LF>\r\n"),
            (true, ""),
            (false, "250 2.0.0 Ok: queued as 4SVb1X0Yz9z9s\r\n"),
            (true, "QUIT\r\n"),
        ];
        let rtt = self.flow.rtt_us;
        for (client, line) in DIALOGUE {
            let gap = if client {
                self.rng.range(80, 5_000)
            } else {
                rtt + self.server_time()
            };
            if line.is_empty() {
                let body = self.rng.log_uniform(600, 60_000) as usize;
                let head = Message::Text(
                    "From: alice@example.org\r\nTo: bob@example.com\r\nSubject: flows\r\n\r\n",
                );
                self.tcp_send(
                    true,
                    body,
                    Content::Message(head, Filler::Text),
                    Filler::Text,
                    gap,
                );
            } else {
                let m = Message::Text(line);
                self.tcp_send(
                    client,
                    line.len(),
                    Content::Message(m, Filler::Text),
                    Filler::Text,
                    gap,
                );
            }
        }
        let gap = rtt + self.server_time();
        let bye = Message::Text("221 2.0.0 Bye\r\n");
        self.tcp_send(
            false,
            15,
            Content::Message(bye, Filler::Text),
            Filler::Text,
            gap,
        );
    }

    fn tcp_exchange(&mut self, left: u32) {
        let rtt = self.flow.rtt_us;
        let n = self.flow.count.min(255) as u8;
        self.flow.count += 1;
        let first = n == 0;
        match self.flow.app {
            App::Http => {
                let gap = if first {
                    self.rng.range(30, 400)
                } else {
                    self.think_time(1_500_000.0)
                };
                let req = Message::HttpRequest { n };
                let len = self.measure(req);
                self.tcp_send(
                    true,
                    len,
                    Content::Message(req, Filler::Text),
                    Filler::Text,
                    gap,
                );
                let body = response_size(self.rng) as u32;
                let resp = Message::HttpResponse { body_len: body, n };
                let total = self.measure(resp) + body as usize;
                let gap = rtt + self.server_time();
                self.tcp_send(
                    false,
                    total,
                    Content::Message(resp, Filler::Text),
                    Filler::Text,
                    gap,
                );
            }
            App::Tls => {
                let gap = if first {
                    self.rng.range(100, 3_000)
                } else {
                    self.think_time(2_000_000.0)
                };
                let len = self.rng.range(90, 900) as usize;
                let data = Content::Message(Message::TlsAppData, Filler::Binary);
                self.tcp_send(true, len, data, Filler::Binary, gap);
                let total = response_size(self.rng);
                let gap = rtt + self.server_time();
                self.tcp_send(false, total, data, Filler::Binary, gap);
            }
            App::Ssh => {
                // A burst of keystrokes, each echoed, sometimes with command output.
                for _ in 0..self.rng.range(2, 8) {
                    let gap = if self.rng.chance(0.1) {
                        self.think_time(4_000_000.0)
                    } else {
                        self.rng.range(60_000, 400_000)
                    };
                    let key = self.rng.range(36, 52) as usize;
                    self.tcp_send(
                        true,
                        key,
                        Content::Filler(Filler::Binary),
                        Filler::Binary,
                        gap,
                    );
                    let gap = rtt + self.rng.range(50, 500);
                    let echo = if self.rng.chance(0.15) {
                        self.rng.log_uniform(100, 6_000) as usize
                    } else {
                        key
                    };
                    self.tcp_send(
                        false,
                        echo,
                        Content::Filler(Filler::Binary),
                        Filler::Binary,
                        gap,
                    );
                    if echo == key {
                        let delay = self.rng.range(20_000, 40_000);
                        self.flow
                            .push(delay, true, ACK, Some(0), Content::Filler(Filler::Binary));
                    }
                }
            }
            _ => {
                let gap = if first {
                    self.rng.range(30, 2_000)
                } else {
                    self.think_time(800_000.0)
                };
                let len = self.rng.log_uniform(20, 2_000) as usize;
                self.tcp_send(
                    true,
                    len,
                    Content::Filler(Filler::Binary),
                    Filler::Binary,
                    gap,
                );
                let total = if left.is_multiple_of(3) {
                    response_size(self.rng)
                } else {
                    self.rng.range(8, 600) as usize
                };
                let gap = rtt + self.server_time();
                self.tcp_send(
                    false,
                    total,
                    Content::Filler(Filler::Binary),
                    Filler::Binary,
                    gap,
                );
            }
        }
    }

    fn tcp_close(&mut self) {
        let rtt = self.flow.rtt_us;
        let none = Content::Filler(Filler::Binary);
        let gap = self.think_time(500_000.0);
        match self.rng.weighted(&[40, 25, 8, 7, 20]) {
            0 => {
                // The client closes; the server answers with its own FIN.
                self.flow.push(gap, true, FIN | ACK, Some(0), none);
                self.flow.push(rtt, false, FIN | ACK, Some(0), none);
                let d = self.rng.range(10, 80);
                self.flow.push(d, true, ACK, Some(0), none);
            }
            1 => {
                // The server closes first; the client's FIN follows a little later.
                self.flow.push(gap, false, FIN | ACK, Some(0), none);
                let d = self.rng.range(30, 3_000);
                self.flow.push(d, true, FIN | ACK, Some(0), none);
                self.flow.push(rtt, false, ACK, Some(0), none);
            }
            2 => self.flow.push(gap, true, RST | ACK, Some(0), none),
            3 => self.flow.push(gap, false, RST, Some(0), none),
            // Never closed: the flow simply falls silent.
            _ => {}
        }
    }

    // ---- UDP and ICMP ----

    fn udp_open(&mut self) -> Phase {
        let rtt = self.flow.rtt_us;
        let app = self.flow.app;
        match app {
            App::Dns => {
                let q = |aaaa| Content::Message(Message::DnsQuery { aaaa }, Filler::Binary);
                let r = |aaaa| Content::Message(Message::DnsResponse { aaaa }, Filler::Binary);
                let answer = rtt + self.rng.range(30, 30_000);
                match self.rng.weighted(&[58, 18, 10, 10, 4]) {
                    0 => {
                        self.flow.push(0, true, 0, None, q(false));
                        self.flow.push(answer, false, 0, None, r(false));
                    }
                    1 => {
                        let d = self.rng.range(20, 300);
                        self.flow.push(0, true, 0, None, q(false));
                        self.flow.push(d, true, 0, None, q(true));
                        self.flow.push(answer, false, 0, None, r(false));
                        let d = self.rng.range(50, 5_000);
                        self.flow.push(d, false, 0, None, r(true));
                    }
                    2 => {
                        self.flow.push(0, true, 0, None, q(false));
                        self.flow
                            .push(1_000_000 + self.rng.below(5_000), true, 0, None, q(false));
                        self.flow.push(answer, false, 0, None, r(false));
                    }
                    3 => self.flow.push(0, true, 0, None, q(true)),
                    _ => {
                        self.flow.push(0, true, 0, None, q(true));
                        self.flow.push(answer, false, 0, None, r(true));
                        let d = self.rng.range(1_000, 50_000);
                        self.flow.push(d, true, 0, None, q(true));
                        self.flow.push(answer, false, 0, None, r(true));
                    }
                }
                Phase::Done
            }
            App::Ntp => {
                self.ask_and_answer(Message::NtpRequest, Message::NtpResponse, 20);
                Phase::Done
            }
            App::Quic => {
                let long = |packet_type, client| {
                    Content::Message(
                        Message::QuicLong {
                            packet_type,
                            client,
                        },
                        Filler::Binary,
                    )
                };
                self.flow.push(0, true, 0, Some(1252), long(0, true));
                let server = rtt + self.rng.range(200, 3_000);
                self.flow.push(server, false, 0, Some(1252), long(0, false));
                let d = self.seg_gap();
                self.flow.push(d, false, 0, Some(1252), long(2, false));
                let d = self.seg_gap();
                let len = self.rng.range(300, 1100) as usize;
                self.flow.push(d, false, 0, Some(len), long(2, false));
                let d = self.rng.range(100, 1_500);
                self.flow.push(d, true, 0, Some(1252), long(0, true));
                let d = self.rng.range(20, 200);
                self.flow.push(
                    d,
                    true,
                    0,
                    Some(self.rng.range(60, 120) as usize),
                    long(2, true),
                );
                Phase::Exchange {
                    left: self.rng.range(1, 3) as u32,
                }
            }
            App::Game => {
                self.ask_and_answer(Message::A2sInfoRequest, Message::A2sInfoResponse, 100);
                Phase::Exchange {
                    left: self.rng.range(10, 100) as u32,
                }
            }
            App::Stun => {
                self.ask_and_answer(Message::StunRequest, Message::StunResponse, 100);
                let talk = if self.rng.chance(0.4) {
                    self.rng.range(10, 60)
                } else {
                    0
                };
                Phase::Exchange { left: talk as u32 }
            }
            App::Ping => Phase::Exchange {
                left: self.rng.range(1, 5) as u32,
            },
            _ => Phase::Done,
        }
    }

    /// Queues up to a few dozen packets of a UDP/ICMP flow's middle; returns what is left.
    fn udp_ticks(&mut self, left: u32) -> u32 {
        let rtt = self.flow.rtt_us;
        match self.flow.app {
            App::Quic => {
                let short = Content::Message(Message::QuicShort, Filler::Binary);
                let gap = if self.flow.count == 0 {
                    self.rng.range(100, 2_000)
                } else {
                    self.think_time(1_500_000.0)
                };
                self.flow.count += 1;
                let len = self.rng.range(40, 400) as usize;
                self.flow.push(gap, true, 0, Some(len), short);
                let packets = response_size(self.rng).div_ceil(1_200).min(24);
                let mut gap = rtt + self.server_time();
                for i in 0..packets {
                    let len = if i + 1 == packets {
                        self.rng.range(60, 1252) as usize
                    } else {
                        1252
                    };
                    self.flow.push(gap, false, 0, Some(len), short);
                    gap = self.seg_gap();
                    if i % 2 == 1 || i + 1 == packets {
                        let d = self.rng.range(5, 80);
                        self.flow
                            .push(d, true, 0, Some(self.rng.range(36, 48) as usize), short);
                        gap = gap.saturating_sub(d).max(1);
                    }
                }
                left - 1
            }
            App::Game => {
                let batch = left.min(16);
                let interval = 15_000 + (self.flow.tag % 18_000);
                for _ in 0..batch {
                    let jitter = self.rng.below(interval / 5);
                    let c = self.rng.range(40, 140) as usize;
                    self.flow.push(
                        interval - interval / 10 + jitter,
                        true,
                        0,
                        Some(c),
                        Content::Filler(Filler::Binary),
                    );
                    let s = self.rng.range(80, 700) as usize;
                    let d = (rtt / 2).min(interval / 2) + self.rng.below(400);
                    self.flow
                        .push(d, false, 0, Some(s), Content::Filler(Filler::Binary));
                }
                left - batch
            }
            App::Stun => {
                let batch = left.min(16);
                for _ in 0..batch {
                    let d = 20_000 + self.rng.below(600);
                    self.flow
                        .push(d, true, 0, Some(172), Content::Filler(Filler::Binary));
                    let d = self.rng.range(100, 9_000);
                    self.flow
                        .push(d, false, 0, Some(172), Content::Filler(Filler::Binary));
                }
                left - batch
            }
            App::Ping => {
                let seq = self.flow.count.min(u32::from(u16::MAX)) as u16 + 1;
                let gap = if self.flow.count == 0 {
                    0
                } else {
                    1_000_000 + self.rng.below(3_000)
                };
                self.flow.count += 1;
                let data = Content::Message(Message::PingData { seq }, Filler::Binary);
                self.flow.push(gap, true, 0, None, data);
                if self.rng.chance(0.9) {
                    self.flow.push(rtt, false, 0, None, data);
                }
                left - 1
            }
            _ => 0,
        }
    }

    fn udp_close(&mut self) {
        if self.flow.app == App::Quic && self.rng.chance(0.6) {
            let gap = self.think_time(300_000.0);
            let close = Content::Message(Message::QuicShort, Filler::Binary);
            self.flow
                .push(gap, true, 0, Some(self.rng.range(30, 60) as usize), close);
        }
    }
}
