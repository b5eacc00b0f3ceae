//! Payload bytes: messages that look like real protocols (HTTP, TLS, SSH, SMTP, DNS, NTP,
//! QUIC, Source engine queries, STUN, ping) and filler (random bytes or HTML-like text).

use std::io::Write;

use crate::rng::{Rng, mix64};

/// Size of each filler block; payload slices are cut from it at a rolling offset.
const FILLER_LEN: usize = 64 * 1024;
/// Largest payload ever asked of the filler.
const MAX_PAYLOAD: usize = 1500;

/// What fills a payload beyond (or instead of) its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Filler {
    /// Random bytes, as encrypted or compressed data looks.
    Binary,
    /// HTML-like ASCII text.
    Text,
}

/// A protocol message at the start of a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Message {
    /// Fixed text (SMTP lines and the like).
    Text(&'static str),
    /// The `n`-th HTTP/1.1 request of a connection.
    HttpRequest {
        /// Index of the request in its connection.
        n: u8,
    },
    /// An HTTP/1.1 response head announcing `body_len` bytes of body.
    HttpResponse {
        /// The Content-Length.
        body_len: u32,
        /// Index of the response in its connection.
        n: u8,
    },
    /// A TLS 1.3 ClientHello record (with SNI, ALPN, key share).
    TlsClientHello,
    /// A TLS ServerHello record and a ChangeCipherSpec record.
    TlsServerHello,
    /// A TLS application-data record header.
    TlsAppData,
    /// An SSH identification line.
    SshBanner {
        /// The client's (else the server's).
        client: bool,
    },
    /// An SSH_MSG_KEXINIT binary packet.
    SshKexInit {
        /// The client's (else the server's).
        client: bool,
    },
    /// A DNS query for an A (else AAAA) record.
    DnsQuery {
        /// AAAA instead of A.
        aaaa: bool,
    },
    /// The answer to [`Message::DnsQuery`].
    DnsResponse {
        /// AAAA instead of A.
        aaaa: bool,
    },
    /// An NTPv4 client request.
    NtpRequest,
    /// An NTPv4 server response.
    NtpResponse,
    /// A QUIC v1 long-header packet: Initial (type 0) or Handshake (type 2).
    QuicLong {
        /// Long packet type.
        packet_type: u8,
        /// Sent by the client.
        client: bool,
    },
    /// A QUIC short-header (1-RTT) packet.
    QuicShort,
    /// A Source engine `A2S_INFO` query.
    A2sInfoRequest,
    /// A Source engine `A2S_INFO` answer.
    A2sInfoResponse,
    /// A STUN Binding request.
    StunRequest,
    /// A STUN Binding success response with XOR-MAPPED-ADDRESS.
    StunResponse,
    /// The data of a Linux `ping` echo (timeval then 0x10, 0x11, …).
    PingData {
        /// Echo sequence number.
        seq: u16,
    },
}

/// What a payload holds: filler only, or a message followed by filler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Content {
    /// Only filler.
    Filler(Filler),
    /// A message, then filler up to the payload's length.
    Message(Message, Filler),
}

/// Per-flow facts a message may show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MsgCtx {
    /// The flow's random tag: picks host names, ids, cipher lists.
    pub tag: u64,
    /// Capture time of the packet, in microseconds since the epoch.
    pub ts_us: u64,
    /// The client's address (IPv4 in the first 4 bytes).
    pub client_ip: [u8; 16],
    /// Whether the flow is IPv6.
    pub v6: bool,
    /// The client's port.
    pub client_port: u16,
}

const HTTP_HOSTS: [&str; 8] = [
    "www.example.com",
    "example.org",
    "news.example.net",
    "cdn.example.com",
    "api.example.com",
    "images.example.org",
    "static.example.net",
    "shop.example.com",
];
const HTTP_PATHS: [&str; 10] = [
    "/",
    "/index.html",
    "/css/site.css",
    "/js/app.js",
    "/images/logo.png",
    "/api/v1/items?page=2",
    "/favicon.ico",
    "/news/2023/11/article.html",
    "/search?q=network+flows",
    "/login",
];
const USER_AGENTS: [&str; 5] = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
    "curl/8.4.0",
    "Wget/1.21.4",
    "python-requests/2.31.0",
];
const TLS_HOSTS: [&str; 8] = [
    "www.example.com",
    "login.example.org",
    "api.example.net",
    "video.example.com",
    "mail.example.org",
    "updates.example.net",
    "chat.example.com",
    "telemetry.example.net",
];
const DNS_NAMES: [&str; 12] = [
    "www.example.com",
    "mail.example.org",
    "api.example.net",
    "cdn.example.com",
    "time.example.org",
    "updates.example.net",
    "login.example.com",
    "images.example.org",
    "ocsp.example.com",
    "telemetry.example.net",
    "chat.example.com",
    "static.example.org",
];
const WORDS: [&str; 24] = [
    "network",
    "flow",
    "packet",
    "feature",
    "table",
    "capture",
    "traffic",
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "magna",
];

/// Picks one of `items` by a hash of `key`.
fn choose<T: Copy>(items: &[T], key: u64) -> Option<T> {
    items
        .get((mix64(key) % items.len().max(1) as u64) as usize)
        .copied()
}

/// Builds payloads into a reusable buffer.
#[derive(Debug)]
pub(crate) struct Payloads {
    binary: Box<[u8]>,
    text: Box<[u8]>,
    cursor: usize,
    buf: Vec<u8>,
}

impl Payloads {
    /// Prepares the filler blocks (always the same bytes).
    pub(crate) fn new() -> Payloads {
        let mut rng = Rng::new(0x6a6a_632d_7379_6e74);
        let mut binary = vec![0u8; FILLER_LEN];
        rng.fill(&mut binary);
        let mut text = Vec::with_capacity(FILLER_LEN + 256);
        text.extend_from_slice(b"<!DOCTYPE html>\n<html><head><title>jjc</title></head><body>\n");
        while text.len() < FILLER_LEN {
            text.extend_from_slice(b"<p>");
            for i in 0..rng.range(8, 40) {
                if i > 0 {
                    text.push(b' ');
                }
                let word = rng.pick(&WORDS).copied().unwrap_or("flow");
                text.extend_from_slice(word.as_bytes());
            }
            text.extend_from_slice(b".</p>\n");
        }
        text.truncate(FILLER_LEN);
        Payloads {
            binary: binary.into_boxed_slice(),
            text: text.into_boxed_slice(),
            cursor: 0,
            buf: Vec::with_capacity(2048),
        }
    }

    /// Builds the payload of `content` for a packet: the message (cut to `len` if longer)
    /// then filler up to `len`; `None` means the message's own length.
    pub(crate) fn build(&mut self, content: Content, ctx: &MsgCtx, len: Option<usize>) -> &[u8] {
        self.buf.clear();
        let filler = match content {
            Content::Filler(f) => f,
            Content::Message(m, f) => {
                write_message(&mut self.buf, m, ctx, len);
                f
            }
        };
        if let Some(len) = len {
            let len = len.min(MAX_PAYLOAD.max(self.buf.len()));
            if self.buf.len() > len {
                self.buf.truncate(len);
            } else {
                let need = len - self.buf.len();
                let block = match filler {
                    Filler::Binary => &self.binary,
                    Filler::Text => &self.text,
                };
                self.cursor = (self.cursor + 1237) % (FILLER_LEN - MAX_PAYLOAD);
                let from = block
                    .get(self.cursor..self.cursor + need)
                    .unwrap_or_default();
                self.buf.extend_from_slice(from);
            }
        }
        &self.buf
    }

    /// The natural length of a message.
    pub(crate) fn measure(&mut self, message: Message, ctx: &MsgCtx) -> usize {
        self.buf.clear();
        write_message(&mut self.buf, message, ctx, None);
        self.buf.len()
    }
}

/// Appends `message` to `out`; `len` (the payload's length, if fixed) sizes the length
/// fields of messages that announce the rest of the payload.
fn write_message(out: &mut Vec<u8>, message: Message, ctx: &MsgCtx, len: Option<usize>) {
    let tag = ctx.tag;
    // Writing into a Vec cannot fail.
    let _ = match message {
        Message::Text(text) => out.write_all(text.as_bytes()),
        Message::HttpRequest { n } => write!(
            out,
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\nAccept: */*\r\n\
             Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n",
            choose(&HTTP_PATHS, tag ^ u64::from(n)).unwrap_or("/"),
            choose(&HTTP_HOSTS, tag).unwrap_or("example.com"),
            choose(&USER_AGENTS, tag >> 8).unwrap_or("curl/8.4.0"),
        ),
        Message::HttpResponse { body_len, n } => {
            let status = match mix64(tag ^ u64::from(n) ^ 0x5157) % 50 {
                0..=2 => "404 Not Found",
                3 => "301 Moved Permanently",
                _ => "200 OK",
            };
            let (server, kind) = match tag % 3 {
                0 => ("nginx/1.24.0", "text/html; charset=utf-8"),
                1 => ("Apache/2.4.58 (Ubuntu)", "text/html"),
                _ => ("cloudflare", "application/json"),
            };
            write!(
                out,
                "HTTP/1.1 {status}\r\nServer: {server}\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\n\
                 Content-Type: {kind}\r\nContent-Length: {body_len}\r\nConnection: keep-alive\r\n\r\n"
            )
        }
        Message::TlsClientHello => {
            tls_client_hello(out, tag);
            Ok(())
        }
        Message::TlsServerHello => {
            tls_server_hello(out, tag);
            Ok(())
        }
        Message::TlsAppData => {
            let body = len.unwrap_or(5).saturating_sub(5).min(16_640) as u16;
            out.extend_from_slice(&[0x17, 0x03, 0x03]);
            out.write_all(&body.to_be_bytes())
        }
        Message::SshBanner { client: true } => out.write_all(match tag % 3 {
            0 => b"SSH-2.0-OpenSSH_9.6\r\n".as_slice(),
            1 => b"SSH-2.0-PuTTY_Release_0.80\r\n",
            _ => b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n",
        }),
        Message::SshBanner { client: false } => {
            out.write_all(b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n")
        }
        Message::SshKexInit { client } => {
            ssh_kexinit(out, tag, client);
            Ok(())
        }
        Message::DnsQuery { aaaa } => {
            dns(out, tag, aaaa, false);
            Ok(())
        }
        Message::DnsResponse { aaaa } => {
            dns(out, tag, aaaa, true);
            Ok(())
        }
        Message::NtpRequest => {
            ntp(out, ctx, false);
            Ok(())
        }
        Message::NtpResponse => {
            ntp(out, ctx, true);
            Ok(())
        }
        Message::QuicLong {
            packet_type,
            client,
        } => {
            quic_long(out, tag, packet_type, client, len.unwrap_or(64));
            Ok(())
        }
        Message::QuicShort => {
            out.push(0x41 | ((mix64(tag ^ ctx.ts_us) & 0x04) as u8));
            out.write_all(&mix64(tag ^ 2).to_be_bytes())
        }
        Message::A2sInfoRequest => out.write_all(b"\xff\xff\xff\xffTSource Engine Query\0"),
        Message::A2sInfoResponse => {
            out.extend_from_slice(b"\xff\xff\xff\xffI\x11");
            let _ = write!(out, "jjc test server #{}\0", tag % 100);
            out.extend_from_slice(b"de_dust2\0csgo\0Counter-Strike: Global Offensive\0");
            out.extend_from_slice(&730u16.to_le_bytes());
            out.extend_from_slice(&[(tag % 20) as u8, 24, 0, b'd', b'l', 0, 1]);
            out.write_all(b"1.38.7.9\0")
        }
        Message::StunRequest => {
            stun(out, ctx, false);
            Ok(())
        }
        Message::StunResponse => {
            stun(out, ctx, true);
            Ok(())
        }
        Message::PingData { seq } => {
            let sent = 1_700_000_000 + (tag % 1_000_000) + u64::from(seq);
            out.extend_from_slice(&sent.to_le_bytes());
            out.extend_from_slice(&(mix64(tag) % 1_000_000).to_le_bytes());
            out.extend(0x10u8..0x38);
            Ok(())
        }
    };
}

/// Appends a 16-bit length placeholder and returns where it is.
fn len16_at(out: &mut Vec<u8>) -> usize {
    out.extend_from_slice(&[0, 0]);
    out.len() - 2
}

/// Fills a 16-bit length placeholder with the bytes written after it.
fn patch16(out: &mut [u8], at: usize) {
    let n = out.len().saturating_sub(at + 2).min(usize::from(u16::MAX)) as u16;
    if let Some(field) = out.get_mut(at..at + 2) {
        field.copy_from_slice(&n.to_be_bytes());
    }
}

/// Appends `n` bytes derived from `key`.
fn pseudo_bytes(out: &mut Vec<u8>, key: u64, n: usize) {
    let mut state = key;
    let mut left = n;
    while left > 0 {
        let word = crate::rng::splitmix64(&mut state).to_be_bytes();
        let take = left.min(8);
        out.extend_from_slice(&word[..take]);
        left -= take;
    }
}

fn tls_client_hello(out: &mut Vec<u8>, tag: u64) {
    const CHROME: [u16; 16] = [
        0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
        0x009c, 0x009d, 0x002f, 0x0035, 0x000a,
    ];
    const FIREFOX: [u16; 17] = [
        0x1301, 0x1303, 0x1302, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc02c, 0xc030, 0xc00a, 0xc009,
        0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
    ];
    let host = choose(&TLS_HOSTS, tag).unwrap_or("example.com");
    out.extend_from_slice(&[0x16, 0x03, 0x01]);
    let record = len16_at(out);
    out.extend_from_slice(&[0x01, 0, 0, 0]);
    let body = out.len();
    out.extend_from_slice(&[0x03, 0x03]);
    pseudo_bytes(out, tag ^ 0xc1, 32);
    out.push(32);
    pseudo_bytes(out, tag ^ 0x51d, 32);
    let suites: &[u16] = if tag.is_multiple_of(2) {
        &CHROME
    } else {
        &FIREFOX
    };
    out.extend_from_slice(&((suites.len() * 2) as u16).to_be_bytes());
    for s in suites {
        out.extend_from_slice(&s.to_be_bytes());
    }
    out.extend_from_slice(&[0x01, 0x00]);
    let extensions = len16_at(out);
    // server_name
    out.extend_from_slice(&[0x00, 0x00]);
    let ext = len16_at(out);
    let list = len16_at(out);
    out.push(0);
    out.extend_from_slice(&(host.len() as u16).to_be_bytes());
    out.extend_from_slice(host.as_bytes());
    patch16(out, list);
    patch16(out, ext);
    // extended_master_secret, renegotiation_info
    out.extend_from_slice(&[0x00, 0x17, 0x00, 0x00, 0xff, 0x01, 0x00, 0x01, 0x00]);
    // supported_groups: x25519, secp256r1, secp384r1, secp521r1
    out.extend_from_slice(&[0x00, 0x0a, 0x00, 0x0a, 0x00, 0x08]);
    out.extend_from_slice(&[0x00, 0x1d, 0x00, 0x17, 0x00, 0x18, 0x00, 0x19]);
    // ec_point_formats, session_ticket
    out.extend_from_slice(&[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, 0x00, 0x23, 0x00, 0x00]);
    // ALPN: h2, http/1.1
    out.extend_from_slice(&[0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, b'h', b'2', 0x08]);
    out.extend_from_slice(b"http/1.1");
    // status_request
    out.extend_from_slice(&[0x00, 0x05, 0x00, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00]);
    // signature_algorithms
    out.extend_from_slice(&[0x00, 0x0d, 0x00, 0x12, 0x00, 0x10]);
    for alg in [
        0x0403u16, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
    ] {
        out.extend_from_slice(&alg.to_be_bytes());
    }
    // supported_versions: TLS 1.3, 1.2; psk_key_exchange_modes
    out.extend_from_slice(&[0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03]);
    out.extend_from_slice(&[0x00, 0x2d, 0x00, 0x02, 0x01, 0x01]);
    // key_share: one x25519 key
    out.extend_from_slice(&[0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20]);
    pseudo_bytes(out, tag ^ 0x4e7, 32);
    patch16(out, extensions);
    let body_len = (out.len() - body) as u32;
    if let Some(field) = out.get_mut(body - 3..body) {
        field.copy_from_slice(&body_len.to_be_bytes()[1..]);
    }
    patch16(out, record);
}

fn tls_server_hello(out: &mut Vec<u8>, tag: u64) {
    out.extend_from_slice(&[0x16, 0x03, 0x03]);
    let record = len16_at(out);
    out.extend_from_slice(&[0x02, 0, 0, 0]);
    let body = out.len();
    out.extend_from_slice(&[0x03, 0x03]);
    pseudo_bytes(out, tag ^ 0x5e, 32);
    out.push(32);
    pseudo_bytes(out, tag ^ 0x51d, 32);
    out.extend_from_slice(&[0x13, 0x01, 0x00]);
    out.extend_from_slice(&[0x00, 0x2e, 0x00, 0x2b, 0x00, 0x02, 0x03, 0x04]);
    out.extend_from_slice(&[0x00, 0x33, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20]);
    pseudo_bytes(out, tag ^ 0x5e7, 32);
    let body_len = (out.len() - body) as u32;
    if let Some(field) = out.get_mut(body - 3..body) {
        field.copy_from_slice(&body_len.to_be_bytes()[1..]);
    }
    patch16(out, record);
    out.extend_from_slice(&[0x14, 0x03, 0x03, 0x00, 0x01, 0x01]);
}

fn ssh_kexinit(out: &mut Vec<u8>, tag: u64, client: bool) {
    let kex = if client {
        "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,diffie-hellman-group14-sha256,ext-info-c"
    } else {
        "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,diffie-hellman-group14-sha256"
    };
    let lists = [
        kex,
        "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256",
        "chacha20-poly1305@openssh.com,aes128-ctr,aes256-gcm@openssh.com",
        "chacha20-poly1305@openssh.com,aes128-ctr,aes256-gcm@openssh.com",
        "umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
        "umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-256",
        "none,zlib@openssh.com",
        "none,zlib@openssh.com",
        "",
        "",
    ];
    let start = out.len();
    out.extend_from_slice(&[0, 0, 0, 0, 0]);
    out.push(20);
    pseudo_bytes(out, tag ^ u64::from(client), 16);
    for list in lists {
        out.extend_from_slice(&(list.len() as u32).to_be_bytes());
        out.extend_from_slice(list.as_bytes());
    }
    out.extend_from_slice(&[0, 0, 0, 0, 0]);
    // Padding: at least 4 bytes, total a multiple of 8.
    let unpadded = out.len() - start;
    let padding = 4 + (8 - (unpadded + 4) % 8) % 8;
    out.extend(std::iter::repeat_n(0u8, padding));
    let packet_len = (out.len() - start - 4) as u32;
    if let Some(field) = out.get_mut(start..start + 5) {
        field[..4].copy_from_slice(&packet_len.to_be_bytes());
        field[4] = padding as u8;
    }
}

fn dns(out: &mut Vec<u8>, tag: u64, aaaa: bool, response: bool) {
    let id = (tag as u16) ^ u16::from(aaaa);
    let name = choose(&DNS_NAMES, tag).unwrap_or("example.com");
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(if response {
        &[0x81, 0x80]
    } else {
        &[0x01, 0x00]
    });
    out.extend_from_slice(&[0, 1, 0, u8::from(response), 0, 0, 0, 0]);
    for label in name.split('.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    let qtype: u16 = if aaaa { 28 } else { 1 };
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&[0, 1]);
    if response {
        out.extend_from_slice(&[0xc0, 0x0c]);
        out.extend_from_slice(&qtype.to_be_bytes());
        out.extend_from_slice(&[0, 1]);
        out.extend_from_slice(&(60 + (tag % 3540) as u32).to_be_bytes());
        let addr = mix64(tag ^ 0xd45).to_be_bytes();
        if aaaa {
            out.extend_from_slice(&[0, 16, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0]);
            out.extend_from_slice(&addr);
        } else {
            out.extend_from_slice(&[0, 4, 203, 0, 113]);
            out.push(addr[0]);
        }
    }
}

fn ntp(out: &mut Vec<u8>, ctx: &MsgCtx, response: bool) {
    // NTP time: seconds since 1900 and a 32-bit fraction.
    let ntp_ts = |us: u64| {
        let secs = us / 1_000_000 + 2_208_988_800;
        let frac = ((us % 1_000_000) << 32) / 1_000_000;
        ((secs & 0xffff_ffff) << 32) | frac
    };
    let sent = ntp_ts(ctx.ts_us);
    if response {
        out.extend_from_slice(&[0x24, 2, 6, 0xe7]);
        out.extend_from_slice(&0x0000_012cu32.to_be_bytes());
        out.extend_from_slice(&0x0000_0301u32.to_be_bytes());
        out.extend_from_slice(&[192, 0, 2, (ctx.tag % 250) as u8]);
        out.extend_from_slice(&ntp_ts(ctx.ts_us.saturating_sub(500_000_000)).to_be_bytes());
        out.extend_from_slice(&ntp_ts(ctx.ts_us.saturating_sub(20_000)).to_be_bytes());
        out.extend_from_slice(&ntp_ts(ctx.ts_us.saturating_sub(200)).to_be_bytes());
        out.extend_from_slice(&sent.to_be_bytes());
    } else {
        out.extend_from_slice(&[0x23, 0, 6, 0xe9]);
        out.extend_from_slice(&[0; 36]);
        out.extend_from_slice(&sent.to_be_bytes());
    }
}

fn quic_long(out: &mut Vec<u8>, tag: u64, packet_type: u8, client: bool, len: usize) {
    let start = out.len();
    out.push(0xc0 | ((packet_type & 3) << 4) | 0x03);
    out.extend_from_slice(&1u32.to_be_bytes());
    let (client_cid, server_cid) = (mix64(tag ^ 1), mix64(tag ^ 2));
    let (dcid, scid) = if client {
        (client_cid, server_cid)
    } else {
        (server_cid, client_cid)
    };
    out.push(8);
    out.extend_from_slice(&dcid.to_be_bytes());
    out.push(8);
    out.extend_from_slice(&scid.to_be_bytes());
    if packet_type == 0 {
        out.push(0); // token length
    }
    // Length (2-byte varint) of packet number + payload: the rest of the datagram.
    let rest = len.saturating_sub(out.len() - start + 2).min(0x3fff) as u16;
    out.extend_from_slice(&(0x4000 | rest).to_be_bytes());
    out.extend_from_slice(&((mix64(tag ^ 3) as u32) & 0xff).to_be_bytes());
}

fn stun(out: &mut Vec<u8>, ctx: &MsgCtx, response: bool) {
    const MAGIC: u32 = 0x2112_a442;
    out.extend_from_slice(if response {
        &[0x01, 0x01]
    } else {
        &[0x00, 0x01]
    });
    let len_at = len16_at(out);
    out.extend_from_slice(&MAGIC.to_be_bytes());
    let txid_start = out.len();
    pseudo_bytes(out, ctx.tag ^ 0x57, 12);
    if response {
        let mut key = [0u8; 16];
        key[..4].copy_from_slice(&MAGIC.to_be_bytes());
        if let Some(txid) = out.get(txid_start..txid_start + 12) {
            key[4..].copy_from_slice(txid);
        }
        let (family, addr_len) = if ctx.v6 { (2u8, 16) } else { (1u8, 4) };
        out.extend_from_slice(&[0x00, 0x20, 0x00, 4 + addr_len as u8, 0, family]);
        out.extend_from_slice(&(ctx.client_port ^ (MAGIC >> 16) as u16).to_be_bytes());
        let addr = ctx.client_ip.iter().zip(key).take(addr_len);
        out.extend(addr.map(|(a, k)| a ^ k));
    }
    patch16(out, len_at);
    if let Some(field) = out.get_mut(len_at..len_at + 2) {
        let n = u16::from_be_bytes([field[0], field[1]]).saturating_sub(16);
        field.copy_from_slice(&n.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> MsgCtx {
        MsgCtx {
            tag: 42,
            ts_us: 1_700_000_000_000_000,
            client_ip: [192, 168, 1, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            v6: false,
            client_port: 50000,
        }
    }

    fn build(m: Message, len: Option<usize>) -> Vec<u8> {
        Payloads::new()
            .build(Content::Message(m, Filler::Binary), &ctx(), len)
            .to_vec()
    }

    #[test]
    fn http_messages_look_like_http() {
        let req = build(Message::HttpRequest { n: 0 }, None);
        assert!(req.starts_with(b"GET /"));
        assert!(req.ends_with(b"\r\n\r\n"));
        assert!(req.windows(6).any(|w| w == b"Host: "));
        let resp = build(
            Message::HttpResponse {
                body_len: 1234,
                n: 0,
            },
            Some(1460),
        );
        assert!(resp.starts_with(b"HTTP/1.1 "));
        assert!(resp.windows(20).any(|w| w == b"Content-Length: 1234"));
        assert_eq!(resp.len(), 1460);
    }

    #[test]
    fn tls_client_hello_lengths_are_consistent() {
        let hello = build(Message::TlsClientHello, None);
        assert_eq!(&hello[..3], &[0x16, 0x03, 0x01]);
        let record_len = usize::from(u16::from_be_bytes([hello[3], hello[4]]));
        assert_eq!(record_len, hello.len() - 5);
        assert_eq!(hello[5], 1, "ClientHello");
        let body_len = u32::from_be_bytes([0, hello[6], hello[7], hello[8]]) as usize;
        assert_eq!(body_len, hello.len() - 9);
        let sni = TLS_HOSTS
            .iter()
            .find(|h| hello.windows(h.len()).any(|w| w == h.as_bytes()));
        assert!(sni.is_some(), "SNI host name present");
        let server = build(Message::TlsServerHello, Some(1000));
        assert_eq!(&server[..3], &[0x16, 0x03, 0x03]);
        assert_eq!(server.len(), 1000);
        let data = build(Message::TlsAppData, Some(300));
        assert_eq!(&data[..5], &[0x17, 0x03, 0x03, 0x01, 0x27]);
    }

    #[test]
    fn ssh_and_dns_and_ntp_and_stun() {
        assert!(
            build(Message::SshBanner { client: false }, None).starts_with(b"SSH-2.0-OpenSSH_8.9")
        );
        let kex = build(Message::SshKexInit { client: true }, None);
        let packet_len = u32::from_be_bytes([kex[0], kex[1], kex[2], kex[3]]) as usize;
        assert_eq!(packet_len + 4, kex.len());
        assert_eq!(kex.len() % 8, 0);
        assert_eq!(kex[5], 20);

        let q = build(Message::DnsQuery { aaaa: false }, None);
        let r = build(Message::DnsResponse { aaaa: false }, None);
        assert_eq!(&q[..2], &r[..2], "same transaction id");
        assert_eq!(&q[2..4], &[0x01, 0x00]);
        assert_eq!(&r[6..8], &[0, 1], "one answer");
        assert_eq!(r.len(), q.len() + 16);

        let ntp = build(Message::NtpRequest, None);
        assert_eq!((ntp.len(), ntp[0]), (48, 0x23));
        assert_eq!(build(Message::NtpResponse, None).len(), 48);

        let stun = build(Message::StunResponse, None);
        assert_eq!(&stun[..2], &[0x01, 0x01]);
        assert_eq!(
            usize::from(u16::from_be_bytes([stun[2], stun[3]])),
            stun.len() - 20
        );
        assert_eq!(&stun[4..8], &[0x21, 0x12, 0xa4, 0x42]);
        let xport = u16::from_be_bytes([stun[26], stun[27]]) ^ 0x2112;
        assert_eq!(xport, 50000);
        assert_eq!(stun[28] ^ 0x21, 192);
    }

    #[test]
    fn quic_and_game_and_ping() {
        let initial = build(
            Message::QuicLong {
                packet_type: 0,
                client: true,
            },
            Some(1200),
        );
        assert_eq!(initial.len(), 1200);
        assert_eq!(initial[0] & 0xf0, 0xc0);
        assert_eq!(&initial[1..5], &[0, 0, 0, 1]);
        let length = usize::from(u16::from_be_bytes([initial[24], initial[25]]) & 0x3fff);
        assert_eq!(length, 1200 - 26);
        assert!(build(Message::A2sInfoRequest, None).starts_with(b"\xff\xff\xff\xffTSource"));
        assert_eq!(build(Message::PingData { seq: 1 }, None).len(), 56);
    }

    #[test]
    fn filler_fills_and_truncates() {
        let mut p = Payloads::new();
        let c = ctx();
        assert_eq!(
            p.build(Content::Filler(Filler::Text), &c, Some(700)).len(),
            700
        );
        assert!(
            p.build(Content::Filler(Filler::Text), &c, Some(100))
                .is_ascii()
        );
        assert_eq!(
            p.build(Content::Filler(Filler::Binary), &c, Some(0)).len(),
            0
        );
        let cut = p.build(
            Content::Message(Message::HttpRequest { n: 1 }, Filler::Text),
            &c,
            Some(10),
        );
        assert_eq!(cut.len(), 10);
        assert!(cut.starts_with(b"GET /"));
        let query = Message::DnsQuery { aaaa: true };
        let built = p
            .build(Content::Message(query, Filler::Binary), &c, None)
            .len();
        assert_eq!(p.measure(query, &c), built);
    }
}
