//! Decodes every shared real capture and checks it against the tshark reference tables:
//! the same flow keys (addresses, ports, protocol, innermost VLAN; direction-insensitive),
//! and per key the same number of packets and of IP bytes (`len`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use jjc_abi::PacketView;
use jjc_capture::CaptureReader;
use jjc_decode::{DecodeConfig, Decoder};

/// A flow key with its two endpoints in canonical order.
type Key = (IpAddr, u16, IpAddr, u16, u8, u16);

fn key(a: IpAddr, a_port: u16, b: IpAddr, b_port: u16, protocol: u8, vlan: u16) -> Key {
    if (a, a_port) <= (b, b_port) {
        (a, a_port, b, b_port, protocol, vlan)
    } else {
        (b, b_port, a, a_port, protocol, vlan)
    }
}

fn view_key(v: &PacketView<'_>) -> Key {
    key(
        v.src_addr(),
        v.src_port,
        v.dst_addr(),
        v.dst_port,
        v.protocol,
        v.inner_vlan(),
    )
}

/// The shared folder, or `None` (with a notice) when it is absent outside CI.
fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("JJ_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    if dir.join("captures").is_dir() && dir.join("reference/tshark").is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "shared captures missing at {}",
        dir.display()
    );
    eprintln!("notice: no shared captures at {}; skipping", dir.display());
    None
}

/// Packets and IP bytes per flow key.
type Totals = BTreeMap<Key, (u64, u64)>;

fn add(totals: &mut Totals, v: &PacketView<'_>) {
    let t = totals.entry(view_key(v)).or_default();
    t.0 += 1;
    t.1 += u64::from(v.len);
}

/// Per-key totals of a tshark reference table.
fn reference(path: &Path) -> Totals {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let (sip, dip, sp, dp, pr, vl, tp, tb) = (
        col("src_ip"),
        col("dst_ip"),
        col("src_port"),
        col("dst_port"),
        col("protocol"),
        col("vlan_id"),
        col("total_packets"),
        col("total_bytes"),
    );
    let mut totals = Totals::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let num = |i: usize| {
            f[i].trim()
                .parse::<u64>()
                .unwrap_or_else(|e| panic!("{line}: {e}"))
        };
        let ip = |i: usize| {
            f[i].trim()
                .parse::<IpAddr>()
                .unwrap_or_else(|e| panic!("{line}: {e}"))
        };
        let k = key(
            ip(sip),
            num(sp) as u16,
            ip(dip),
            num(dp) as u16,
            num(pr) as u8,
            num(vl) as u16,
        );
        let t = totals.entry(k).or_default();
        t.0 += num(tp);
        t.1 += num(tb);
    }
    totals
}

/// Per-key totals and a stats line of decoding one capture.
fn decode(path: &Path) -> (Totals, String) {
    let mut reader = CaptureReader::open(path).unwrap_or_else(|e| panic!("{e}"));
    let mut decoder = Decoder::new(DecodeConfig::default());
    let mut totals = Totals::new();
    while let Ok(Some(r)) = reader.next_record() {
        decoder.decode(r.link_type, r.ts, r.data, r.orig_len, &mut |v| {
            add(&mut totals, &v)
        });
    }
    decoder.finish(&mut |v| add(&mut totals, &v));
    let s = decoder.stats();
    assert_eq!(
        s.frames,
        s.packets + s.skipped_total(),
        "{}",
        path.display()
    );
    let summary = format!(
        "frames {} packets {} fragments {} held {} orphaned {} skipped {:?} damaged {:?}",
        s.frames,
        s.packets,
        s.fragments,
        s.fragments_held,
        s.fragments_orphaned,
        s.iter_skipped().collect::<Vec<_>>(),
        s.iter_damaged().collect::<Vec<_>>()
    );
    (totals, summary)
}

#[test]
fn decoded_packets_and_flow_keys_match_tshark() {
    let Some(shared) = shared_dir() else {
        return;
    };
    let unreliable: BTreeSet<String> =
        fs::read_to_string(shared.join("reference/UNRELIABLE-TSHARK"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split('\t').next())
            .map(str::to_owned)
            .collect();
    let mut names: Vec<String> = fs::read_dir(shared.join("captures"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| !n.starts_with("README"))
        .collect();
    names.sort();
    let mut checked = 0;
    let mut failures = Vec::new();
    for name in &names {
        let reference_path = shared.join("reference/tshark").join(format!("{name}.csv"));
        if unreliable.contains(name) || !reference_path.is_file() {
            continue;
        }
        let want = reference(&reference_path);
        let (got, summary) = decode(&shared.join("captures").join(name));
        checked += 1;
        let packets = |t: &Totals| t.values().map(|v| v.0).sum::<u64>();
        let differing: Vec<_> = want
            .keys()
            .chain(got.keys())
            .filter(|k| want.get(*k) != got.get(*k))
            .map(|k| format!("{k:?}: tshark {:?}, decoded {:?}", want.get(k), got.get(k)))
            .collect();
        if !differing.is_empty() {
            failures.push(format!(
                "{name}: packets {} (tshark {}); {summary}\n  {}",
                packets(&got),
                packets(&want),
                differing.join("\n  ")
            ));
        } else {
            eprintln!("ok {name}: {summary}");
        }
    }
    assert!(checked >= 50, "only {checked} captures checked");
    assert!(
        failures.is_empty(),
        "{} captures disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
