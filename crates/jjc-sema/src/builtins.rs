//! What the language knows without being told: `pkt.*` and `flow.*` fields, functions,
//! aggregates, named constants, identity columns and profiles.

use crate::types::{Base, Record, Type};

/// A field of `pkt` (one packet) or `flow` (the whole flow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Its name after `pkt.` / `flow.`.
    pub name: &'static str,
    /// Its type.
    pub ty: Type,
    /// What it measures.
    pub doc: &'static str,
}

const fn field(name: &'static str, base: Base, doc: &'static str) -> Field {
    Field {
        name,
        ty: Type::of(base),
        doc,
    }
}

/// Every `pkt.*` field, in the order `docs/language.md` lists them.
pub const PKT_FIELDS: &[Field] = &[
    field(
        "ts",
        Base::Float,
        "capture time, seconds since the epoch (float)",
    ),
    field(
        "dir",
        Base::Dir,
        "`fwd` if sent by the flow's initiator, else `bwd`",
    ),
    field(
        "len",
        Base::Int,
        "IP total length of the flow's IP header (IPv6: payload length + 40); wire length, network layer",
    ),
    field(
        "payload_len",
        Base::Int,
        "transport payload length on the wire: IP total length minus IP and TCP/UDP headers; for other protocols the whole IP payload",
    ),
    field(
        "payload",
        Base::Bytes,
        "the captured bytes of the TCP/UDP/SCTP payload (empty for other protocols and what the snaplen cut off)",
    ),
    field(
        "wire_len",
        Base::Int,
        "frame length on the wire, link layer included, as the capture record says",
    ),
    field(
        "cap_len",
        Base::Int,
        "bytes of the frame that were captured, link layer included",
    ),
    field("src_ip", Base::Ip, "source address of the flow's IP header"),
    field(
        "dst_ip",
        Base::Ip,
        "destination address of the flow's IP header",
    ),
    field(
        "src_port",
        Base::Int,
        "transport source port (TCP, UDP, SCTP), else 0",
    ),
    field(
        "dst_port",
        Base::Int,
        "transport destination port (TCP, UDP, SCTP), else 0",
    ),
    field(
        "protocol",
        Base::Int,
        "IP protocol number of the transport (after IPv6 extension headers and IP-in-IP)",
    ),
    field("ip_version", Base::Int, "4 or 6"),
    field("ttl", Base::Int, "IPv4 TTL or IPv6 hop limit"),
    field("tos", Base::Int, "IPv4 TOS byte or IPv6 traffic class"),
    field(
        "ip_id",
        Base::Int,
        "IP identification (IPv4: 16 bits; IPv6: the fragment header's id, else 0)",
    ),
    field("flow_label", Base::Int, "IPv6 flow label (0 for IPv4)"),
    field(
        "is_fragment",
        Base::Bool,
        "whether the packet is an IP fragment (first or later)",
    ),
    field(
        "more_fragments",
        Base::Bool,
        "whether more fragments follow this one",
    ),
    field(
        "frag_offset",
        Base::Int,
        "fragment offset in bytes (0 if not a later fragment)",
    ),
    field(
        "tunnel_depth",
        Base::Int,
        "number of IP-in-IP encapsulations removed",
    ),
    field("vlan_id", Base::Int, "innermost VLAN id, 0 if none"),
    field("vlan_count", Base::Int, "number of VLAN tags on the frame"),
    field(
        "has_mac",
        Base::Bool,
        "whether the link layer had MAC addresses",
    ),
    field(
        "tcp_flags",
        Base::Int,
        "TCP flags bits (FIN 0x01 … CWR 0x80, NS 0x100), 0 if not TCP",
    ),
    field("tcp_seq", Base::Int, "TCP sequence number (0 if not TCP)"),
    field(
        "tcp_ack",
        Base::Int,
        "TCP acknowledgment number (0 if not TCP)",
    ),
    field(
        "tcp_window",
        Base::Int,
        "TCP window field, unscaled (0 if not TCP)",
    ),
    field(
        "tcp_options",
        Base::Bytes,
        "raw TCP options bytes (empty if none)",
    ),
    field("fin", Base::Bool, "TCP FIN flag set"),
    field("syn", Base::Bool, "TCP SYN flag set"),
    field("rst", Base::Bool, "TCP RST flag set"),
    field("psh", Base::Bool, "TCP PSH flag set"),
    field("ack", Base::Bool, "TCP ACK flag set"),
    field("urg", Base::Bool, "TCP URG flag set"),
    field("ece", Base::Bool, "TCP ECE flag set"),
    field("cwr", Base::Bool, "TCP CWR flag set"),
    field("icmp_type", Base::Int, "ICMP/ICMPv6 type (0 if not ICMP)"),
    field("icmp_code", Base::Int, "ICMP/ICMPv6 code (0 if not ICMP)"),
];

/// Every `flow.*` field.
pub const FLOW_FIELDS: &[Field] = &[
    field(
        "src_ip",
        Base::Ip,
        "initiator's address (sender of the first packet)",
    ),
    field("dst_ip", Base::Ip, "responder's address"),
    field("src_port", Base::Int, "initiator's port (0 without ports)"),
    field("dst_port", Base::Int, "responder's port (0 without ports)"),
    field("protocol", Base::Int, "IP protocol number"),
    field(
        "vlan_id",
        Base::Int,
        "innermost VLAN id of the key, 0 if none",
    ),
    field("start_time", Base::Float, "time of the flow's first packet"),
    field(
        "end_time",
        Base::Float,
        "time of the flow's last packet (file order)",
    ),
    field("duration", Base::Float, "end_time - start_time"),
    field("packet_count", Base::Int, "number of packets"),
    field("byte_count", Base::Int, "sum of pkt.len over the flow"),
    field("terminated", Base::Bool, "whether a FIN or RST was seen"),
];

/// The identity columns that precede every feature in the output.
pub const IDENTITY_COLUMNS: &[Field] = &[
    field("src_ip", Base::Ip, "initiator's address"),
    field("dst_ip", Base::Ip, "responder's address"),
    field("src_port", Base::Int, "initiator's port"),
    field("dst_port", Base::Int, "responder's port"),
    field("protocol", Base::Int, "IP protocol number"),
    field("vlan_id", Base::Int, "innermost VLAN id, 0 if none"),
    field("start_time", Base::Float, "time of the first packet"),
    field("end_time", Base::Float, "time of the last packet"),
];

/// The fields of a `client_hello` record (`tls_client_hello`).
pub const CLIENT_HELLO_FIELDS: &[Field] = &[
    field(
        "version",
        Base::Int,
        "the hello's own version field (legacy_version: 771 = 0x0303 for a TLS 1.3 client)",
    ),
    field(
        "version_name",
        Base::Str,
        "`version` as JoyfulJay names it: \"TLS 1.2\", \"SSL 3.0\" …, or \"Unknown (0x7f1c)\"",
    ),
    field(
        "highest_version",
        Base::Int,
        "the highest version offered: the largest non-GREASE supported_versions entry, else `version`",
    ),
    field(
        "cipher_count",
        Base::Int,
        "number of cipher suites offered, GREASE included",
    ),
    field(
        "extension_count",
        Base::Int,
        "number of extensions, GREASE included",
    ),
    field(
        "sni",
        Base::Str,
        "the server_name extension's first host name (\"\" without one)",
    ),
    field(
        "alpn",
        Base::Str,
        "the first protocol the ALPN extension offers (\"\" without one)",
    ),
    field(
        "ja3",
        Base::Str,
        "the JA3 fingerprint: MD5 (lower-case hex) of `ja3_string`",
    ),
    field(
        "ja3_string",
        Base::Str,
        "version,ciphers,extensions,groups,point formats in decimal, GREASE left out",
    ),
    field(
        "session_id_len",
        Base::Int,
        "length of the legacy session id",
    ),
    field(
        "session_ticket",
        Base::Bool,
        "whether the session_ticket extension (35) is present",
    ),
    field(
        "psk",
        Base::Bool,
        "whether the pre_shared_key extension (41) is present",
    ),
    field(
        "early_data",
        Base::Bool,
        "whether the early_data extension (42) is present",
    ),
    field(
        "key_share_group",
        Base::Int,
        "the group of the first key_share entry, GREASE included (0 without one)",
    ),
    field(
        "key_share_name",
        Base::Str,
        "that group as JoyfulJay names it: \"x25519\" …, or \"unknown(0x6a6a)\" (\"\" without one)",
    ),
    field(
        "key_share_bits",
        Base::Int,
        "the first key_share entry's key length in bits (0 without one)",
    ),
    field(
        "truncated",
        Base::Bool,
        "whether the message is cut off (by the end of the bytes): the fields hold what is there",
    ),
];

/// The fields of a `server_hello` record (`tls_server_hello`).
pub const SERVER_HELLO_FIELDS: &[Field] = &[
    field(
        "version",
        Base::Int,
        "the hello's own version field (legacy_version: 771 = 0x0303 for TLS 1.3)",
    ),
    field(
        "selected_version",
        Base::Int,
        "the version chosen: the supported_versions extension's, else `version`",
    ),
    field("cipher_suite", Base::Int, "the chosen cipher suite"),
    field(
        "extension_count",
        Base::Int,
        "number of extensions, GREASE included",
    ),
    field(
        "ja3s",
        Base::Str,
        "the JA3S fingerprint: MD5 (lower-case hex) of `ja3s_string`",
    ),
    field(
        "ja3s_string",
        Base::Str,
        "version,cipher,extensions in decimal, GREASE left out",
    ),
    field(
        "session_id_len",
        Base::Int,
        "length of the legacy session id",
    ),
    field(
        "alpn",
        Base::Str,
        "the protocol the ALPN extension chose (\"\" without one)",
    ),
    field(
        "key_share_group",
        Base::Int,
        "the group of the key_share extension (0 without one)",
    ),
    field(
        "truncated",
        Base::Bool,
        "whether the message is cut off (by the end of the bytes): the fields hold what is there",
    ),
];

/// The fields of a `certificates` record (`tls_certificates`).
pub const CERTIFICATES_FIELDS: &[Field] = &[
    field(
        "count",
        Base::Int,
        "certificates of non-zero length whose 3-byte length is present",
    ),
    field(
        "total_length",
        Base::Int,
        "the sum of their declared lengths in bytes",
    ),
    field(
        "first_length",
        Base::Int,
        "the first one's declared length in bytes (0 without one)",
    ),
    field(
        "truncated",
        Base::Bool,
        "whether the message is cut off, so that later certificates may be missing",
    ),
];

/// The fields of a `key_exchange` record (`tls_key_exchange`).
pub const KEY_EXCHANGE_FIELDS: &[Field] = &[
    field(
        "dhe",
        Base::Bool,
        "whether it is finite-field Diffie-Hellman (the first byte is not 3, named_curve)",
    ),
    field(
        "group",
        Base::Int,
        "the named curve (ECDHE); 0 for finite-field DH",
    ),
    field(
        "group_name",
        Base::Str,
        "the curve as JoyfulJay names it (\"x25519\" …, \"unknown(0x…)\"), or \"ffdhe\" and the prime's bits for finite-field DH",
    ),
    field(
        "key_bits",
        Base::Int,
        "the length in bits of the server's public key (ECDHE) or of the prime (DHE)",
    ),
    field(
        "truncated",
        Base::Bool,
        "whether the message is cut off before these fields",
    ),
];

/// The fields of a record kind, in the order `docs/language.md` lists them.
pub fn record_fields(r: Record) -> &'static [Field] {
    match r {
        Record::ClientHello => CLIENT_HELLO_FIELDS,
        Record::ServerHello => SERVER_HELLO_FIELDS,
        Record::Certificates => CERTIFICATES_FIELDS,
        Record::KeyExchange => KEY_EXCHANGE_FIELDS,
    }
}

/// Looks up a field of a record kind.
pub fn record_field(r: Record, name: &str) -> Option<&'static Field> {
    record_fields(r).iter().find(|f| f.name == name)
}

/// Every record kind.
pub const RECORDS: &[Record] = &[
    Record::ClientHello,
    Record::ServerHello,
    Record::Certificates,
    Record::KeyExchange,
];

/// Looks up a `pkt.*` field.
pub fn pkt_field(name: &str) -> Option<(usize, &'static Field)> {
    PKT_FIELDS.iter().enumerate().find(|(_, f)| f.name == name)
}

/// Looks up a `flow.*` field.
pub fn flow_field(name: &str) -> Option<(usize, &'static Field)> {
    FLOW_FIELDS.iter().enumerate().find(|(_, f)| f.name == name)
}

/// A built-in constant name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NamedConst {
    /// The name.
    pub name: &'static str,
    /// Its value.
    pub value: NamedValue,
}

/// The value of a built-in constant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NamedValue {
    /// A direction.
    Dir(jjc_abi::Direction),
    /// An integer (TCP flag bits).
    Int(i64),
}

/// `fwd`, `bwd` and the TCP flag bits.
pub const NAMED_CONSTS: &[NamedConst] = &[
    NamedConst {
        name: "fwd",
        value: NamedValue::Dir(jjc_abi::Direction::Fwd),
    },
    NamedConst {
        name: "bwd",
        value: NamedValue::Dir(jjc_abi::Direction::Bwd),
    },
    NamedConst {
        name: "FIN",
        value: NamedValue::Int(jjc_abi::TcpFlags::FIN as i64),
    },
    NamedConst {
        name: "SYN",
        value: NamedValue::Int(jjc_abi::TcpFlags::SYN as i64),
    },
    NamedConst {
        name: "RST",
        value: NamedValue::Int(jjc_abi::TcpFlags::RST as i64),
    },
    NamedConst {
        name: "PSH",
        value: NamedValue::Int(jjc_abi::TcpFlags::PSH as i64),
    },
    NamedConst {
        name: "ACK",
        value: NamedValue::Int(jjc_abi::TcpFlags::ACK as i64),
    },
    NamedConst {
        name: "URG",
        value: NamedValue::Int(jjc_abi::TcpFlags::URG as i64),
    },
    NamedConst {
        name: "ECE",
        value: NamedValue::Int(jjc_abi::TcpFlags::ECE as i64),
    },
    NamedConst {
        name: "CWR",
        value: NamedValue::Int(jjc_abi::TcpFlags::CWR as i64),
    },
    NamedConst {
        name: "NS",
        value: NamedValue::Int(jjc_abi::TcpFlags::NS as i64),
    },
];

/// Scalar functions (evaluated where their arguments are).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Func {
    /// `len(bytes|str)` → int.
    Len,
    /// `abs(x)`.
    Abs,
    /// `sqrt(x)` → float? (none below 0).
    Sqrt,
    /// `ln(x)` → float? (none at or below 0).
    Ln,
    /// `log2(x)` → float? (none at or below 0).
    Log2,
    /// `exp(x)` → float.
    Exp,
    /// `floor(x)` → int.
    Floor,
    /// `ceil(x)` → int.
    Ceil,
    /// `round(x)` → int (half away from zero).
    Round,
    /// `float(x)` → float.
    ToFloat,
    /// `int(x)` → int (towards zero, saturating; NaN is 0).
    ToInt,
    /// `least(a, b)`: the smaller.
    Least,
    /// `greatest(a, b)`: the larger.
    Greatest,
    /// `str(x)`: the decimal text of an int (`-12` → `"-12"`) → str.
    Str,
    /// `matches(bytes, pattern)` → bool, the same as `bytes ~ pattern`.
    Matches,
    /// `prev(x)` / `prev(x, dir)`: the value at the previous packet (of the same
    /// direction with `dir`), none at the first.
    Prev,
    /// `tls_client_hello(bytes)` → client_hello?: the first ClientHello in the TLS records
    /// the bytes start with.
    TlsClientHello,
    /// `tls_server_hello(bytes)` → server_hello?: the first ServerHello there.
    TlsServerHello,
    /// `tls_certificates(bytes)` → certificates?: the first Certificate message there.
    TlsCertificates,
    /// `tls_key_exchange(bytes)` → key_exchange?: the first ServerKeyExchange there.
    TlsKeyExchange,
}

impl Func {
    /// The record a TLS built-in returns, `None` for other functions.
    pub fn record(self) -> Option<Record> {
        Some(match self {
            Func::TlsClientHello => Record::ClientHello,
            Func::TlsServerHello => Record::ServerHello,
            Func::TlsCertificates => Record::Certificates,
            Func::TlsKeyExchange => Record::KeyExchange,
            _ => return None,
        })
    }
}

/// Aggregates: a packet stream to one flow value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Agg {
    /// `count()` packets, or `count(x)` where x is defined (and true, for bools) → int.
    Count,
    /// `sum(x)` → int or float (0 over nothing).
    Sum,
    /// `mean(x)` → float?.
    Mean,
    /// `var(x)` population variance → float?.
    Var,
    /// `std(x)` population standard deviation → float?.
    Std,
    /// `min(x)` → same type, optional.
    Min,
    /// `max(x)` → same type, optional.
    Max,
    /// `skew(x)` population skewness → float? (none at zero variance).
    Skew,
    /// `kurtosis(x)` population excess kurtosis → float? (none at zero variance).
    Kurtosis,
    /// `first(x)` → optional.
    First,
    /// `last(x)` → optional.
    Last,
    /// `nth(x, n)`: the n-th value, 0-based → optional.
    Nth,
    /// `any(cond)` → bool (false over nothing).
    Any,
    /// `all(cond)` → bool (true over nothing).
    All,
    /// `runs(cond)`: number of maximal runs of consecutive true → int.
    Runs,
    /// `longest_run(cond)`: length of the longest run of consecutive true → int.
    LongestRun,
    /// `mode(x)`: most frequent value, first seen wins ties → optional.
    Mode,
    /// `mode_count(x)`: how many times the most frequent value occurs → int (0 over nothing).
    ModeCount,
    /// `bit_or(x)`: bitwise or of every value → int.
    BitOr,
    /// `seq(x, n)`: the first n values as columns `name_0…` padded with the default.
    Seq,
    /// `hist(x, [edges])`: counts per bin (numpy's rule), a column per bin.
    Hist,
    /// `entropy(bytes)`: Shannon entropy (base 2) of every byte seen → float?.
    Entropy,
    /// `median(x)` → float? (exact).
    Median,
    /// `percentile(x, p)` → float? (exact, numpy's linear interpolation).
    Percentile,
}

/// Something callable by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Callable {
    /// A scalar function.
    Func(Func),
    /// An aggregate.
    Agg(Agg),
}

/// Every callable name with its meaning and a one-line signature for docs and help.
pub const CALLABLES: &[(&str, Callable, &str)] = &[
    ("len", Callable::Func(Func::Len), "len(bytes|str) -> int"),
    ("abs", Callable::Func(Func::Abs), "abs(number) -> number"),
    ("sqrt", Callable::Func(Func::Sqrt), "sqrt(number) -> float?"),
    ("ln", Callable::Func(Func::Ln), "ln(number) -> float?"),
    ("log2", Callable::Func(Func::Log2), "log2(number) -> float?"),
    ("exp", Callable::Func(Func::Exp), "exp(number) -> float"),
    ("floor", Callable::Func(Func::Floor), "floor(number) -> int"),
    ("ceil", Callable::Func(Func::Ceil), "ceil(number) -> int"),
    ("round", Callable::Func(Func::Round), "round(number) -> int"),
    (
        "float",
        Callable::Func(Func::ToFloat),
        "float(number) -> float",
    ),
    ("int", Callable::Func(Func::ToInt), "int(number) -> int"),
    (
        "least",
        Callable::Func(Func::Least),
        "least(a, b) -> number",
    ),
    (
        "greatest",
        Callable::Func(Func::Greatest),
        "greatest(a, b) -> number",
    ),
    ("str", Callable::Func(Func::Str), "str(int) -> str"),
    (
        "matches",
        Callable::Func(Func::Matches),
        "matches(bytes, pattern) -> bool",
    ),
    (
        "prev",
        Callable::Func(Func::Prev),
        "prev(x) or prev(x, dir) -> x?",
    ),
    (
        "tls_client_hello",
        Callable::Func(Func::TlsClientHello),
        "tls_client_hello(bytes) -> client_hello?",
    ),
    (
        "tls_server_hello",
        Callable::Func(Func::TlsServerHello),
        "tls_server_hello(bytes) -> server_hello?",
    ),
    (
        "tls_certificates",
        Callable::Func(Func::TlsCertificates),
        "tls_certificates(bytes) -> certificates?",
    ),
    (
        "tls_key_exchange",
        Callable::Func(Func::TlsKeyExchange),
        "tls_key_exchange(bytes) -> key_exchange?",
    ),
    (
        "count",
        Callable::Agg(Agg::Count),
        "count() or count(x) -> int",
    ),
    ("sum", Callable::Agg(Agg::Sum), "sum(number) -> number"),
    ("mean", Callable::Agg(Agg::Mean), "mean(number) -> float?"),
    ("var", Callable::Agg(Agg::Var), "var(number) -> float?"),
    ("std", Callable::Agg(Agg::Std), "std(number) -> float?"),
    ("min", Callable::Agg(Agg::Min), "min(number) -> number?"),
    ("max", Callable::Agg(Agg::Max), "max(number) -> number?"),
    ("skew", Callable::Agg(Agg::Skew), "skew(number) -> float?"),
    (
        "kurtosis",
        Callable::Agg(Agg::Kurtosis),
        "kurtosis(number) -> float?",
    ),
    ("first", Callable::Agg(Agg::First), "first(x) -> x?"),
    ("last", Callable::Agg(Agg::Last), "last(x) -> x?"),
    ("nth", Callable::Agg(Agg::Nth), "nth(x, n) -> x?"),
    ("any", Callable::Agg(Agg::Any), "any(bool) -> bool"),
    ("all", Callable::Agg(Agg::All), "all(bool) -> bool"),
    ("runs", Callable::Agg(Agg::Runs), "runs(bool) -> int"),
    (
        "longest_run",
        Callable::Agg(Agg::LongestRun),
        "longest_run(bool) -> int",
    ),
    ("mode", Callable::Agg(Agg::Mode), "mode(x) -> x?"),
    (
        "mode_count",
        Callable::Agg(Agg::ModeCount),
        "mode_count(x) -> int",
    ),
    ("bit_or", Callable::Agg(Agg::BitOr), "bit_or(int) -> int"),
    ("seq", Callable::Agg(Agg::Seq), "seq(x, n) -> n columns"),
    (
        "hist",
        Callable::Agg(Agg::Hist),
        "hist(number, [edges]) -> a column per bin",
    ),
    (
        "entropy",
        Callable::Agg(Agg::Entropy),
        "entropy(bytes) -> float?",
    ),
    (
        "median",
        Callable::Agg(Agg::Median),
        "median(number) -> float?",
    ),
    (
        "percentile",
        Callable::Agg(Agg::Percentile),
        "percentile(number, p) -> float?",
    ),
];

/// Looks up a callable by name.
pub fn callable(name: &str) -> Option<(Callable, &'static str)> {
    CALLABLES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, c, sig)| (*c, *sig))
}

/// The most columns one `seq`/`hist` feature may expand to.
pub const MAX_COLUMNS_PER_FEATURE: i64 = 1024;

/// A named set of groups, selectable with `--profile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// Its name.
    pub name: &'static str,
    /// What it is for.
    pub doc: &'static str,
    /// Its groups, in output order. Groups the library does not have are skipped.
    pub groups: &'static [&'static str],
}

/// The profile used when no `-g`/`--profile` is given.
pub const DEFAULT_PROFILE: &str = "JJ-CORE";

/// Every profile.
pub const PROFILES: &[Profile] = &[Profile {
    name: "JJ-CORE",
    doc: "JoyfulJay's core groups",
    groups: &["flow_meta", "timing", "size", "tcp", "tls"],
}];

/// Looks up a profile, ignoring case.
pub fn profile(name: &str) -> Option<&'static Profile> {
    PROFILES.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(pkt_field("len").map(|(_, f)| f.ty), Some(Type::INT));
        assert!(pkt_field("lenn").is_none());
        assert_eq!(flow_field("duration").map(|(_, f)| f.ty), Some(Type::FLOAT));
        assert_eq!(
            callable("mean").map(|c| c.0),
            Some(Callable::Agg(Agg::Mean))
        );
        assert_eq!(profile("jj-core").map(|p| p.groups.len()), Some(5));
        let mut names: Vec<&str> = CALLABLES.iter().map(|c| c.0).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), CALLABLES.len());
    }
}
