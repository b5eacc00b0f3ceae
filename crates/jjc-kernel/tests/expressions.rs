//! Expressions: prev, optionals, arithmetic edge cases, bytes, patterns, tables, strings,
//! addresses, flow fields and features that use features.

mod common;

use common::*;
use jjc_abi::Value;

#[test]
fn prev_overall_and_per_direction() {
    let src = r#"
features p "p" {
    let gap = pkt.ts - prev(pkt.ts)
    let gap_dir = pkt.ts - prev(pkt.ts, dir)
    gaps: int = count(gap)
    gaps_dir: int = count(gap_dir)
    sum_gap = sum(gap)
    sum_gap_dir = sum(gap_dir)
    first_bwd_gap = first(gap_dir where pkt.dir == bwd)
    prev_len_first = first(prev(pkt.len)) ?? -1
}
"#;
    let row = run(
        src,
        &[
            pkt(1.0, F).len(11),
            pkt(2.0, B).len(22),
            pkt(4.0, F).len(33),
            pkt(8.0, B).len(44),
            pkt(9.0, B).len(55),
        ],
    );
    assert_eq!(int(&row, "gaps"), 4);
    // Per direction, the first packet of each direction has no previous one.
    assert_eq!(int(&row, "gaps_dir"), 3);
    assert_eq!(float(&row, "sum_gap"), 8.0);
    // fwd: 4-1 = 3; bwd: 8-2 = 6, 9-8 = 1.
    assert_eq!(float(&row, "sum_gap_dir"), 10.0);
    assert_eq!(float(&row, "first_bwd_gap"), 6.0);
    // first(prev(len)) skips the none at the first packet.
    assert_eq!(int(&row, "prev_len_first"), 11);
}

#[test]
fn optionals_defaults_and_none_as_false() {
    let src = r#"
features o "o" {
    let none_int = if flow.packet_count > 100 then 1 else none
    let q = flow.packet_count / (flow.packet_count - flow.packet_count)
    div0 = q
    div0_defined: bool = q != none
    div0_feature_defined: bool = div0 != none
    idiv0: int = flow.packet_count // 0 ?? 77
    rem0: int = flow.packet_count % (flow.packet_count - 2) ?? 78
    not_none: bool = not (none_int > 0)
    and_none: bool = none_int > 0 and true
    or_none: bool = none_int > 0 or true
    if_none: int = if none_int > 0 then 1 else 2
    coalesce: int = none_int ?? 5
    eq_none: bool = none_int == none
    cmp_none_defined: bool = (none_int < 3) != none
    opt_feature: int = none_int
    uses_feature: int = opt_feature + 1
}
"#;
    let row = run(src, &[pkt(0.0, F), pkt(1.0, F)]);
    assert_eq!(float(&row, "div0"), 0.0);
    assert!(!boolean(&row, "div0_defined"));
    // A feature's value is its output value: never none.
    assert!(boolean(&row, "div0_feature_defined"));
    assert_eq!(int(&row, "idiv0"), 77);
    assert_eq!(int(&row, "rem0"), 78);
    assert!(boolean(&row, "not_none"));
    assert!(!boolean(&row, "and_none"));
    assert!(boolean(&row, "or_none"));
    assert_eq!(int(&row, "if_none"), 2);
    assert_eq!(int(&row, "coalesce"), 5);
    assert!(boolean(&row, "eq_none"));
    assert!(!boolean(&row, "cmp_none_defined"));
    // A feature still none at the end is its default; a feature using it sees that.
    assert_eq!(int(&row, "opt_feature"), 0);
    assert_eq!(int(&row, "uses_feature"), 1);
}

#[test]
fn integer_and_float_arithmetic_edge_cases() {
    let src = r#"
features a "a" {
    let n = flow.packet_count
    fdiv: int = (0 - 7 * n) // 2
    frem: int = (0 - 7 * n) % 2
    nrem: int = (7 * n) % (0 - 2)
    shl: int = n << 62
    shl_far: int = n << (64 * n)
    shr_neg: int = (0 - 8 * n) >> 1
    shr_far: int = (0 - 8 * n) >> (100 * n)
    wrap: int = 9223372036854775807 + n
    float_div: float = n / 2
    float_floor_div: float = (0.0 - 7.5 * n) // 2.0
    float_rem: float = (0.0 - 7.5 * n) % 2.0
    rnd: int = round(2.5 * n)
    rnd_neg: int = round(0.0 - 2.5 * n)
    flo: int = floor(0.0 - 0.5 * n)
    cei: int = ceil(0.5 * n)
    to_int: int = int(0.0 - 2.9 * n)
    big: int = int(1e300 * n)
    nan_int: int = int(0.0 / 0.0 * n ?? 0.0)
    ab: int = abs(0 - 3 * n)
    abf = abs(0.0 - 1.5 * n)
    lst: int = least(3 * n, 2)
    gst = greatest(1.5 * n, 2)
    sq = sqrt(4.0 * n)
    sq_neg_defined: bool = sqrt(0.0 - 1.0 * n) != none
    ln0_defined: bool = ln(0.0 * n) != none
    l2 = log2(8.0 * n)
    e = exp(0.0 * n)
    neg: int = -n
}
"#;
    let row = run(src, &[pkt(0.0, F)]);
    assert_eq!(int(&row, "fdiv"), -4);
    assert_eq!(int(&row, "frem"), 1);
    assert_eq!(int(&row, "nrem"), -1);
    assert_eq!(int(&row, "shl"), 1 << 62);
    assert_eq!(int(&row, "shl_far"), 0);
    assert_eq!(int(&row, "shr_neg"), -4);
    assert_eq!(int(&row, "shr_far"), -1);
    assert_eq!(int(&row, "wrap"), i64::MIN);
    assert_eq!(float(&row, "float_div"), 0.5);
    assert_eq!(float(&row, "float_floor_div"), -4.0);
    assert_eq!(float(&row, "float_rem"), 0.5);
    assert_eq!(int(&row, "rnd"), 3);
    assert_eq!(int(&row, "rnd_neg"), -3);
    assert_eq!(int(&row, "flo"), -1);
    assert_eq!(int(&row, "cei"), 1);
    assert_eq!(int(&row, "to_int"), -2);
    assert_eq!(int(&row, "big"), i64::MAX);
    assert_eq!(int(&row, "nan_int"), 0);
    assert_eq!(int(&row, "ab"), 3);
    assert_eq!(float(&row, "abf"), 1.5);
    assert_eq!(int(&row, "lst"), 2);
    assert_eq!(float(&row, "gst"), 2.0);
    assert_eq!(float(&row, "sq"), 2.0);
    assert!(!boolean(&row, "sq_neg_defined"));
    assert!(!boolean(&row, "ln0_defined"));
    assert_eq!(float(&row, "l2"), 3.0);
    assert_eq!(float(&row, "e"), 1.0);
    assert_eq!(int(&row, "neg"), -1);
}

#[test]
fn bytes_indexing_slicing_and_equality() {
    let src = r#"
features b "b" {
    b0: int = first(pkt.payload[0])
    last_byte: int = first(pkt.payload[-1])
    out_of_range_defined: bool = first(pkt.payload[10]) != none
    before_start_defined: bool = first(pkt.payload[-10]) != none
    tail_len: int = first(len(pkt.payload[-3:]))
    mid_len: int = first(len(pkt.payload[1:3]))
    reversed_len: int = first(len(pkt.payload[4:2]))
    huge_len: int = first(len(pkt.payload[:1000000]))
    tail_first: int = first(pkt.payload[-3:][0])
    equal_get: bool = any(pkt.payload[:4] == b"GET ")
    empty_first: int = first(pkt.payload[0] where len(pkt.payload) == 0) ?? -1
}
"#;
    let row = run(src, &[pkt(0.0, F).payload(b"GET /x")]);
    assert_eq!(int(&row, "b0"), 0x47);
    assert_eq!(int(&row, "last_byte"), i64::from(b'x'));
    assert!(!boolean(&row, "out_of_range_defined"));
    assert!(!boolean(&row, "before_start_defined"));
    assert_eq!(int(&row, "tail_len"), 3);
    assert_eq!(int(&row, "mid_len"), 2);
    assert_eq!(int(&row, "reversed_len"), 0);
    assert_eq!(int(&row, "huge_len"), 6);
    assert_eq!(int(&row, "tail_first"), i64::from(b' '));
    assert!(boolean(&row, "equal_get"));
    assert_eq!(int(&row, "empty_first"), -1);
}

#[test]
fn patterns_anchor_at_the_slice_and_use_ascii_classes() {
    let src = r#"
pattern digits = b"^\d+$"
pattern spaced = b"^a\sb"
pattern word = b"\w{3}"
pattern host = b"Host:"
pattern dot = b"^.$"

features m "m" {
    all_digits: bool = any(pkt.payload ~ digits)
    tail_digits: bool = any(pkt.payload[1:] ~ digits)
    spaced_ab: bool = any(pkt.payload ~ spaced)
    has_word: bool = any(matches(pkt.payload, word))
    host_anywhere: bool = any(pkt.payload ~ host)
    host_in_head: bool = any(pkt.payload[:4] ~ host)
    one_byte: bool = any(pkt.payload ~ dot)
    count_digits: int = count(pkt.payload ~ digits)
}
"#;
    let arabic_three = "\u{663}".as_bytes();
    let mut x_arabic = b"x".to_vec();
    x_arabic.extend_from_slice(arabic_three);
    let row = run(
        src,
        &[
            pkt(0.0, F).payload(&x_arabic),
            pkt(0.1, F).payload(b"a\x0bb"),
            pkt(0.2, F).payload(b"xx Host: y"),
            pkt(0.3, F).payload(b"\xff"),
        ],
    );
    // `\d` does not match a non-ASCII digit; `^` anchors at the slice's start.
    assert!(!boolean(&row, "all_digits"));
    assert!(!boolean(&row, "tail_digits"));
    assert!(boolean(&row, "spaced_ab"));
    assert!(boolean(&row, "has_word"));
    assert!(boolean(&row, "host_anywhere"));
    assert!(!boolean(&row, "host_in_head"));
    assert!(boolean(&row, "one_byte"));
    let row = run(
        src,
        &[pkt(0.0, F).payload(b"x123"), pkt(0.1, F).payload(b"123")],
    );
    assert!(boolean(&row, "all_digits"));
    assert!(boolean(&row, "tail_digits"));
    assert_eq!(int(&row, "count_digits"), 1);
    assert!(boolean(&row, "has_word"));
    let row = run(src, &[pkt(0.0, F).payload(b"a-b-c")]);
    assert!(!boolean(&row, "has_word"));
}

#[test]
fn tables_exact_keys_ranges_misses_and_big_tables() {
    let src = r#"
table small: int -> str {
    22 => "ssh",
    1024..49152 => "registered",
}
table big: int -> float {
    1 => 1.5, 2 => 2.5, 3 => 3.5, 4 => 4.5, 5 => 5.5,
    6 => 6.5, 7 => 7.5, 8 => 8.5, 9 => 9.5, 100..200 => 100.5,
}
table names: str -> int {
    "ssh" => 1,
    "registered" => 2,
}
table hosts: ip -> str {
    ip"10.0.0.2" => "server",
    ip"2001:db8::1" => "v6",
}

features t "t" {
    kind: str = small[flow.dst_port] ?? "other"
    src_kind: str = small[flow.src_port] ?? "other"
    miss: bool = small[flow.dst_port + 100000] == none
    b9 = big[9] ?? 0.0
    b150 = big[flow.dst_port - 1850] ?? 0.0
    b_miss_defined: bool = big[flow.dst_port] != none
    by_name: int = names[small[flow.src_port] ?? ""] ?? 0
    host: str = hosts[flow.dst_ip] ?? "?"
    per_packet: int = count(small[pkt.dst_port] != none)
}
"#;
    let f = flow("10.0.0.1", 2000, "10.0.0.2", 22, 6);
    let row = run_on(src, &f, &[pkt(0.0, F), pkt(0.1, B)]);
    assert_eq!(text(&row, "kind"), "ssh");
    assert_eq!(text(&row, "src_kind"), "registered");
    assert!(boolean(&row, "miss"));
    assert_eq!(float(&row, "b9"), 9.5);
    assert_eq!(float(&row, "b150"), 0.0);
    assert!(!boolean(&row, "b_miss_defined"));
    assert_eq!(int(&row, "by_name"), 2);
    assert_eq!(text(&row, "host"), "server");
    assert_eq!(int(&row, "per_packet"), 2);
    let f = flow("10.0.0.1", 49152, "2001:db8::1", 2000, 6);
    let row = run_on(src, &f, &[pkt(0.0, F)]);
    assert_eq!(text(&row, "kind"), "registered");
    assert_eq!(text(&row, "src_kind"), "other");
    assert_eq!(float(&row, "b150"), 150.5 - 50.0);
    assert_eq!(text(&row, "host"), "v6");
}

#[test]
fn strings_concatenate_compare_and_measure() {
    let src = r#"
table svc: int -> str { 80 => "http", 443 => "https" }

features s "s" {
    let name = svc[flow.dst_port] ?? "unknown"
    label: str = name + "/" + (if flow.protocol == 6 then "tcp" else "udp")
    before: bool = name < "https"
    size: int = len(name)
    same: bool = name == "http"
    common: str = mode(svc[pkt.dst_port] ?? "none")
}
"#;
    let f = flow("10.0.0.1", 2000, "10.0.0.2", 80, 6);
    let row = run_on(src, &f, &[pkt(0.0, F), pkt(0.1, B), pkt(0.2, F)]);
    assert_eq!(text(&row, "label"), "http/tcp");
    assert!(boolean(&row, "before"));
    assert_eq!(int(&row, "size"), 4);
    assert!(boolean(&row, "same"));
    // Packets to port 80 (fwd) win 2 to 1 over those to port 2000.
    assert_eq!(text(&row, "common"), "http");
    let f = flow("10.0.0.1", 2000, "10.0.0.2", 9, 17);
    let row = run_on(src, &f, &[pkt(0.0, F)]);
    assert_eq!(text(&row, "label"), "unknown/udp");
    assert!(!boolean(&row, "before"));
    assert_eq!(int(&row, "size"), 7);
}

#[test]
fn str_formats_ints_of_every_context_into_strings() {
    let src = r#"
table names: int -> str { 6 => "TCP", 17 => "UDP" }

features s "s" {
    let l4 = names[flow.protocol] ?? "PROTO" + str(flow.protocol)
    stack: str = (if flow.src_port > 1024 then "hi-" else "lo-") + l4
    first_len: str = first(str(pkt.len))
    commonest: str = mode("len=" + str(pkt.len - 100))
    constant: str = "v" + str(-42)
    none_stays_none: bool = str(first(pkt.len where pkt.len > 5000)) == none
    length: int = len(str(flow.dst_port))
}
"#;
    let f = flow("10.0.0.1", 2000, "10.0.0.2", 8080, 47);
    let packets = [
        pkt(0.0, F).len(60),
        pkt(0.1, B).len(90),
        pkt(0.2, F).len(90),
    ];
    let row = run_on(src, &f, &packets);
    assert_eq!(text(&row, "stack"), "hi-PROTO47");
    assert_eq!(text(&row, "first_len"), "60");
    assert_eq!(text(&row, "commonest"), "len=-10");
    assert_eq!(text(&row, "constant"), "v-42");
    assert!(boolean(&row, "none_stays_none"));
    assert_eq!(int(&row, "length"), 4);
    let f = flow("10.0.0.1", 80, "10.0.0.2", 53, 17);
    let row = run_on(src, &f, &packets);
    assert_eq!(text(&row, "stack"), "lo-UDP");
}

#[test]
fn addresses_fields_and_flow_values() {
    let src = r#"
features f "f" {
    src: ip = flow.src_ip
    dst: ip = flow.dst_ip
    first_src: ip = first(pkt.src_ip)
    last_src: ip = last(pkt.src_ip)
    src_lower: bool = flow.src_ip < flow.dst_ip
    is_server: bool = flow.dst_ip == 10.0.0.2
    bwd_from_server: bool = all(pkt.src_ip == 10.0.0.2 where pkt.dir == bwd)
    ports: int = flow.src_port * 100000 + flow.dst_port
    proto: int = flow.protocol
    dur = flow.duration
    start = flow.start_time
    bytes: int = flow.byte_count
    pkts: int = flow.packet_count
    ended: bool = flow.terminated
    syns: int = count(pkt.syn)
    fins: int = count(pkt.tcp_flags & FIN != 0)
    ttl: int = max(pkt.ttl)
    version: int = first(pkt.ip_version)
    dst_port_fwd: int = first(pkt.dst_port)
    vlan: int = max(pkt.vlan_id)
}
"#;
    let f = flow("10.0.0.1", 1234, "10.0.0.2", 80, 6);
    let row = run_on(
        src,
        &f,
        &[
            pkt(1.0, F).flags(0x02).payload_len(0),
            pkt(1.5, B).flags(0x12),
            pkt(2.0, F).flags(0x11).payload(b"abc"),
        ],
    );
    let ip = |s: &str| Value::Ip(s.parse().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into()));
    assert_eq!(get(&row, "src"), &ip("10.0.0.1"));
    assert_eq!(get(&row, "dst"), &ip("10.0.0.2"));
    assert_eq!(get(&row, "first_src"), &ip("10.0.0.1"));
    assert_eq!(get(&row, "last_src"), &ip("10.0.0.1"));
    assert!(boolean(&row, "src_lower"));
    assert!(boolean(&row, "is_server"));
    assert!(boolean(&row, "bwd_from_server"));
    assert_eq!(int(&row, "ports"), 123_400_080);
    assert_eq!(int(&row, "proto"), 6);
    assert_eq!(float(&row, "dur"), 1.0);
    assert_eq!(float(&row, "start"), 1.0);
    // lens: 40, 40, 43 (TCP over IPv4: payload + 40).
    assert_eq!(int(&row, "bytes"), 123);
    assert_eq!(int(&row, "pkts"), 3);
    assert!(boolean(&row, "ended"));
    assert_eq!(int(&row, "syns"), 2);
    assert_eq!(int(&row, "fins"), 1);
    assert_eq!(int(&row, "ttl"), 64);
    assert_eq!(int(&row, "version"), 4);
    assert_eq!(int(&row, "dst_port_fwd"), 80);
    assert_eq!(int(&row, "vlan"), 0);
    let f6 = flow("2001:db8::5", 1, "2001:db8::1", 2, 17);
    let row = run_on(src, &f6, &[pkt(0.0, F).payload(b"xy")]);
    assert_eq!(get(&row, "src"), &ip("2001:db8::5"));
    assert!(!boolean(&row, "src_lower"));
    assert!(!boolean(&row, "is_server"));
    assert_eq!(int(&row, "version"), 6);
    // UDP over IPv6: 2 + 8 + 40.
    assert_eq!(int(&row, "bytes"), 50);
}

#[test]
fn vlan_id_is_the_innermost_tag() {
    let src = r#"
features v "v" {
    vlan: int = max(pkt.vlan_id)
    tags: int = max(pkt.vlan_count)
    key_vlan: int = flow.vlan_id
}
"#;
    let mut f = udp_flow();
    f.vlan = Some(42);
    let row = run_on(src, &f, &[pkt(0.0, F)]);
    assert_eq!(int(&row, "vlan"), 42);
    assert_eq!(int(&row, "tags"), 1);
    assert_eq!(int(&row, "key_vlan"), 42);
}

#[test]
fn features_of_other_groups_are_computed_but_only_selected_ones_are_columns() {
    let src = r#"
features base "base" {
    mean_len = mean(pkt.len)
    unused_elsewhere = max(pkt.ttl)
}
features top "top" {
    doubled = base.mean_len * 2
}
"#;
    let lib = library(src);
    let k = kernel(&lib, &["top"]);
    let names: Vec<&str> = k.columns().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["doubled"]);
    let row = run_kernel(&k, &udp_flow(), &[pkt(0.0, F).len(10), pkt(1.0, B).len(30)]);
    assert_eq!(float(&row, "doubled"), 40.0);
    // `unused_elsewhere` is not computed: no max slot exists.
    assert!(k.slots().iter().all(|s| !s.name.starts_with("max(")));
}
