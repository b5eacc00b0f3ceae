//! Checks the parser against JoyfulJay's TLS columns in the shared reference tables
//! (`$JJ_SHARED/reference/core`, else `/work/shared` next to the workspace).
//!
//! JoyfulJay takes, per flow, the first initiator packet whose payload starts with a
//! handshake record holding a ClientHello at byte 5, and the first responder packet holding
//! a ServerHello there, and sees only the first 256 bytes of each. So:
//! - given those 256 bytes, this parser must give JoyfulJay's JA3, JA3S and hello columns
//!   on every flow;
//! - given the whole payload, it must give the same values whenever the hello fits in the
//!   256 bytes, and it does better when it does not (JoyfulJay's JA3 then covers a cut
//!   list of extensions);
//! - flows JoyfulJay marks as TLS whose payload is no TLS record are its false positives.

use std::collections::HashMap;
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use jjc_abi::PacketView;
use jjc_capture::CaptureReader;
use jjc_decode::{DecodeConfig, Decoder};
use jjc_tls::{ClientHello, Handshake, ServerHello, group_label, parse_records, version_label};

/// The payload bytes JoyfulJay keeps per packet.
const JOYFULJAY_PAYLOAD_BYTES: usize = 256;

/// The shared folder, or `None` (after a notice) when it is missing outside CI.
fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("JJ_SHARED").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
        PathBuf::from,
    );
    if dir.join("reference/core").is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the shared folder is missing at {} (set JJ_SHARED)",
        dir.display()
    );
    eprintln!("notice: no shared folder at {}; skipping", dir.display());
    None
}

/// A flow key with its endpoints in canonical order (JoyfulJay's key: no VLAN).
type Key = (IpAddr, u16, IpAddr, u16, u8);

fn key(a: IpAddr, a_port: u16, b: IpAddr, b_port: u16, protocol: u8) -> Key {
    if (a, a_port) <= (b, b_port) {
        (a, a_port, b, b_port, protocol)
    } else {
        (b, b_port, a, a_port, protocol)
    }
}

/// What one flow's packets hold for JoyfulJay's TLS extractor.
#[derive(Default)]
struct FlowPayloads {
    /// The initiator (sender of the first packet).
    initiator: Option<(IpAddr, u16)>,
    /// The first initiator payload JoyfulJay takes for a ClientHello.
    client_hello: Option<Vec<u8>>,
    /// The first responder payload JoyfulJay takes for a ServerHello.
    server_hello: Option<Vec<u8>>,
    /// The responder payloads that start with a handshake record, in order (where
    /// JoyfulJay looks for a Certificate).
    server_handshakes: Vec<Vec<u8>>,
}

/// Whether JoyfulJay takes `payload` for a handshake of type `kind`: byte 0 is 22, byte 5
/// is `kind`, and there are more than 9 bytes.
fn joyfuljay_picks(payload: &[u8], kind: u8) -> bool {
    payload.len() > 9 && payload.first() == Some(&22) && payload.get(5) == Some(&kind)
}

fn add(flows: &mut HashMap<Key, FlowPayloads>, v: &PacketView<'_>) {
    let (src, dst) = ((v.src_addr(), v.src_port), (v.dst_addr(), v.dst_port));
    let flow = flows
        .entry(key(src.0, src.1, dst.0, dst.1, v.protocol))
        .or_default();
    let initiator = *flow.initiator.get_or_insert(src);
    let payload = v.payload();
    if src == initiator {
        if flow.client_hello.is_none() && joyfuljay_picks(payload, 1) {
            flow.client_hello = Some(payload.to_vec());
        }
    } else {
        if flow.server_hello.is_none() && joyfuljay_picks(payload, 2) {
            flow.server_hello = Some(payload.to_vec());
        }
        if payload.first() == Some(&22) {
            flow.server_handshakes.push(payload.to_vec());
        }
    }
}

/// Every flow of a capture with the payloads JoyfulJay's TLS extractor would take.
fn flows(path: &Path) -> HashMap<Key, FlowPayloads> {
    let mut reader = CaptureReader::open(path).unwrap_or_else(|e| panic!("{e}"));
    let mut decoder = Decoder::new(DecodeConfig::default());
    let mut flows = HashMap::new();
    while let Ok(Some(r)) = reader.next_record() {
        decoder.decode(r.link_type, r.ts, r.data, r.orig_len, &mut |v| {
            add(&mut flows, &v)
        });
    }
    decoder.finish(&mut |v| add(&mut flows, &v));
    flows
}

/// One row of a reference table, by column name.
type Row = HashMap<String, String>;

fn rows(path: &Path) -> Vec<Row> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            header
                .iter()
                .zip(l.split(','))
                .map(|(h, v)| ((*h).to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

fn row_key(row: &Row) -> Key {
    let ip = |c: &str| {
        row[c]
            .parse::<IpAddr>()
            .unwrap_or_else(|e| panic!("{c}: {e}"))
    };
    let num = |c: &str| row[c].parse::<u16>().unwrap_or_else(|e| panic!("{c}: {e}"));
    let protocol = u8::try_from(num("protocol")).unwrap_or_else(|e| panic!("{e}"));
    key(
        ip("src_ip"),
        num("src_port"),
        ip("dst_ip"),
        num("dst_port"),
        protocol,
    )
}

/// The first ClientHello / ServerHello in the records of `payload`.
fn client_hello(payload: &[u8]) -> Option<ClientHello> {
    parse_records(payload).find_map(|h| match h {
        Handshake::ClientHello(c) => Some(c),
        _ => None,
    })
}

fn server_hello(payload: &[u8]) -> Option<ServerHello> {
    parse_records(payload).find_map(|h| match h {
        Handshake::ServerHello(s) => Some(s),
        _ => None,
    })
}

/// JoyfulJay's view of a payload.
fn first_256(payload: &[u8]) -> &[u8] {
    payload.get(..JOYFULJAY_PAYLOAD_BYTES).unwrap_or(payload)
}

/// Whether the first handshake message of `payload` (at byte 5) ends within JoyfulJay's
/// 256 bytes.
fn hello_fits(payload: &[u8]) -> bool {
    let len = |i: usize| usize::from(payload.get(i).copied().unwrap_or(0xff));
    let end = 9 + (len(6) << 16 | len(7) << 8 | len(8));
    end <= JOYFULJAY_PAYLOAD_BYTES.min(payload.len())
}

/// JoyfulJay's ClientHello columns, as it writes them, from a parsed hello.
fn client_columns(c: &ClientHello) -> Vec<(&'static str, String)> {
    let (group, bits, name) = match c.key_share_groups.first() {
        Some(&(g, len)) => (g, u32::from(len) * 8, group_label(g).into_owned()),
        None => (0, 0, String::new()),
    };
    let py_bool = |b: bool| if b { "True" } else { "False" }.to_owned();
    vec![
        ("ja3_hash", c.ja3()),
        ("tls_version", c.version.to_string()),
        ("tls_version_str", version_label(c.version).into_owned()),
        ("tls_cipher_count", c.cipher_suites.len().to_string()),
        ("tls_extension_count", c.extensions.len().to_string()),
        ("tls_sni", c.sni.clone().unwrap_or_default()),
        ("tls_alpn", c.alpn.first().cloned().unwrap_or_default()),
        ("tls_session_id_len", c.session_id_len.to_string()),
        ("tls_session_ticket_ext", py_bool(c.has_session_ticket)),
        ("tls_psk_ext", py_bool(c.has_psk)),
        ("tls_early_data_ext", py_bool(c.has_early_data)),
        ("tls_key_exchange_group", group.to_string()),
        ("tls_key_exchange_group_name", name),
        ("tls_key_exchange_length", bits.to_string()),
    ]
}

/// The columns of `row` that differ from `want`, as `name: reference vs parsed`.
fn differences(row: &Row, want: &[(&'static str, String)]) -> Vec<String> {
    want.iter()
        .filter(|(col, v)| row[*col] != *v)
        .map(|(col, v)| format!("{col}: JoyfulJay {:?}, parsed {v:?}", row[*col]))
        .collect()
}

/// Tallies of one run over the reference tables.
#[derive(Default, Debug, PartialEq, Eq)]
struct Tally {
    /// ClientHellos JoyfulJay saw whole: every ClientHello column reproduced from the
    /// whole payload.
    hello_whole: usize,
    /// ClientHellos JoyfulJay saw cut inside the last extension's body only: its JA3 is
    /// still right.
    hello_cut_ja3_right: usize,
    /// ClientHellos JoyfulJay saw cut earlier: its JA3 (and extension count) is wrong.
    hello_cut_ja3_wrong: usize,
    /// Flows JoyfulJay marks as TLS whose "ClientHello" payload is no TLS record.
    false_positives: usize,
    /// ServerHellos whose JA3S and cipher suite are reproduced from the whole payload.
    server_hello_right: usize,
    /// ServerHellos without extensions that JoyfulJay reads past, taking the next record's
    /// header for extensions.
    server_hello_overread: usize,
    /// Flows whose certificate columns (non-zero) are reproduced.
    certificates_right: usize,
    /// Flows where JoyfulJay has no certificate although a Certificate message starts
    /// within its 256 bytes, after another record (its message walk does not step over
    /// record headers).
    certificates_missed_walk: usize,
    /// Flows where JoyfulJay has no certificate because the Certificate message starts
    /// past its 256 bytes.
    certificates_missed_256: usize,
}

#[test]
fn reproduces_joyfuljay_tls_columns_on_the_reference_captures() {
    let Some(shared) = shared_dir() else {
        return;
    };
    let core = shared.join("reference/core");
    let mut names: Vec<String> = fs::read_dir(&core)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".csv").map(str::to_owned))
        .collect();
    names.sort();
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for name in &names {
        let tls_rows: Vec<Row> = rows(&core.join(format!("{name}.csv")))
            .into_iter()
            .filter(|r| r["tls_detected"] == "True" || !r["ja3s_hash"].is_empty())
            .collect();
        if tls_rows.is_empty() {
            continue;
        }
        let flows = flows(&shared.join("captures").join(name));
        for row in &tls_rows {
            let what = format!("{name} {}:{}", row["src_ip"], row["src_port"]);
            let Some(flow) = flows.get(&row_key(row)) else {
                failures.push(format!("{what}: flow not found"));
                continue;
            };
            if row["tls_detected"] == "True" {
                check_client(row, flow, &what, &mut tally, &mut failures);
            }
            if !row["ja3s_hash"].is_empty() {
                check_server(row, flow, &what, &mut tally, &mut failures);
            }
            check_certificates(row, flow, &what, &mut tally, &mut failures);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        tally,
        Tally {
            hello_whole: 9,
            hello_cut_ja3_right: 7,
            hello_cut_ja3_wrong: 67,
            false_positives: 2,
            server_hello_right: 83,
            server_hello_overread: 1,
            certificates_right: 7,
            certificates_missed_walk: 18,
            certificates_missed_256: 0,
        }
    );
}

/// Checks the ClientHello columns of one flow JoyfulJay marks as TLS.
fn check_client(
    row: &Row,
    flow: &FlowPayloads,
    what: &str,
    tally: &mut Tally,
    failures: &mut Vec<String>,
) {
    let Some(payload) = &flow.client_hello else {
        failures.push(format!("{what}: no ClientHello payload"));
        return;
    };
    let Some(seen) = client_hello(first_256(payload)) else {
        // JoyfulJay's test is only byte 0 = 22 and byte 5 = 1; this is no record header.
        if row["ja3_hash"].is_empty() {
            tally.false_positives += 1;
        } else {
            failures.push(format!("{what}: no ClientHello parsed"));
        }
        return;
    };
    let diff = differences(row, &client_columns(&seen));
    if !diff.is_empty() {
        failures.push(format!("{what} (first 256 bytes): {}", diff.join("; ")));
    }
    let Some(whole) = client_hello(payload) else {
        failures.push(format!("{what}: no ClientHello in the whole payload"));
        return;
    };
    if whole.truncated {
        failures.push(format!("{what}: the whole ClientHello is cut"));
    } else if hello_fits(payload) {
        let diff = differences(row, &client_columns(&whole));
        if !diff.is_empty() || seen.truncated {
            failures.push(format!("{what} (whole): {}", diff.join("; ")));
        }
        tally.hello_whole += 1;
    } else if !seen.truncated {
        failures.push(format!(
            "{what}: JoyfulJay's 256 bytes should give a cut hello"
        ));
    } else if whole.ja3() == row["ja3_hash"] {
        tally.hello_cut_ja3_right += 1;
    } else {
        tally.hello_cut_ja3_wrong += 1;
    }
}

/// Whether the ServerHello at byte 5 of `payload` has no extensions block and is followed
/// by more bytes within JoyfulJay's 256, which it then reads as the extensions.
fn joyfuljay_overreads(payload: &[u8], hello: &ServerHello) -> bool {
    let len = |i: usize| usize::from(payload.get(i).copied().unwrap_or(0));
    let body_len = len(6) << 16 | len(7) << 8 | len(8);
    let no_extensions = body_len == 38 + usize::from(hello.session_id_len);
    no_extensions && 9 + body_len + 2 <= first_256(payload).len()
}

/// Checks the ServerHello columns of one flow JoyfulJay gives a JA3S.
fn check_server(
    row: &Row,
    flow: &FlowPayloads,
    what: &str,
    tally: &mut Tally,
    failures: &mut Vec<String>,
) {
    let Some(payload) = &flow.server_hello else {
        failures.push(format!("{what}: no ServerHello payload"));
        return;
    };
    let (Some(seen), Some(whole)) = (server_hello(first_256(payload)), server_hello(payload))
    else {
        failures.push(format!("{what}: no ServerHello parsed"));
        return;
    };
    let columns = |s: &ServerHello| {
        vec![
            ("ja3s_hash", s.ja3s()),
            ("tls_cipher_suite", s.cipher_suite.to_string()),
        ]
    };
    if whole.truncated || seen != whole {
        failures.push(format!("{what}: the ServerHello is cut"));
    } else if joyfuljay_overreads(payload, &whole) {
        // JoyfulJay's JA3S then lists the next record's header as an extension.
        if row["ja3s_hash"] == whole.ja3s() || !whole.extensions.is_empty() {
            failures.push(format!("{what}: expected JoyfulJay's over-read"));
        }
        tally.server_hello_overread += 1;
    } else {
        let diff = differences(row, &columns(&whole));
        if diff.is_empty() {
            tally.server_hello_right += 1;
        } else {
            failures.push(format!("{what} (ServerHello): {}", diff.join("; ")));
        }
    }
}

/// Checks the certificate columns of one flow against the first Certificate message found
/// in a responder payload that starts with a handshake record.
fn check_certificates(
    row: &Row,
    flow: &FlowPayloads,
    what: &str,
    tally: &mut Tally,
    failures: &mut Vec<String>,
) {
    let certificates_in = |p: &[u8]| {
        parse_records(p).find_map(|h| match h {
            Handshake::Certificate(c) => Some(c),
            _ => None,
        })
    };
    let certificates = flow
        .server_handshakes
        .iter()
        .find_map(|p| certificates_in(p));
    let within_256 = flow
        .server_handshakes
        .iter()
        .any(|p| certificates_in(first_256(p)).is_some());
    let count: usize = row["tls_cert_count"]
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    match (count, certificates) {
        (0, None) => {}
        (0, Some(_)) if within_256 => tally.certificates_missed_walk += 1,
        (0, Some(_)) => tally.certificates_missed_256 += 1,
        (_, None) => failures.push(format!("{what}: no Certificate parsed")),
        (_, Some(c)) => {
            let nonzero: Vec<u32> = c.lengths.iter().copied().filter(|&l| l > 0).collect();
            let want = vec![
                ("tls_cert_count", nonzero.len().to_string()),
                ("tls_cert_total_length", c.total_length.to_string()),
                (
                    "tls_cert_first_length",
                    nonzero.first().copied().unwrap_or(0).to_string(),
                ),
                ("tls_cert_chain_length", nonzero.len().to_string()),
            ];
            let diff = differences(row, &want);
            if diff.is_empty() {
                tally.certificates_right += 1;
            } else {
                failures.push(format!("{what} (Certificate): {}", diff.join("; ")));
            }
        }
    }
}
