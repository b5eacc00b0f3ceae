//! Constants, tables, patterns and tests.

use std::net::{IpAddr, Ipv4Addr};

use jjc_abi::{Direction, TcpFlags};
use jjc_syntax::ast::{self, SettingValue, TestPart};
use jjc_syntax::codes;
use jjc_syntax::{Diagnostic, FileId, Span};

use super::{Checker, Def};
use crate::hir::*;
use crate::suggest;
use crate::types::{Base, Type, base_from_name, unify};

const FLOW_SETTINGS: &[&str] = &[
    "src", "dst", "proto", "vlan", "tcp", "udp", "icmp", "sctp", "link",
];
const PACKET_SETTINGS: &[&str] = &["ts", "dir", "len", "payload_len", "payload", "flags"];
const FLAG_NAMES: &[(&str, u16)] = &[
    ("FIN", TcpFlags::FIN),
    ("SYN", TcpFlags::SYN),
    ("RST", TcpFlags::RST),
    ("PSH", TcpFlags::PSH),
    ("ACK", TcpFlags::ACK),
    ("URG", TcpFlags::URG),
    ("ECE", TcpFlags::ECE),
    ("CWR", TcpFlags::CWR),
    ("NS", TcpFlags::NS),
];

impl Checker<'_> {
    /// Checks and evaluates a constant expression in the current environment.
    fn constant_value(&mut self, e: &ast::Expr, what: &str) -> Option<(Value, Type)> {
        let x = self.expr(e);
        if x.ty.is_error() || x.ctx == Context::Error {
            return None;
        }
        if x.ctx != Context::Const {
            self.error(
                Diagnostic::new(
                    codes::NOT_CONSTANT,
                    format!("{what} must be a constant"),
                    e.span,
                    format!(
                        "this depends on the {}",
                        if x.ctx == Context::Packet {
                            "packet"
                        } else {
                            "flow"
                        }
                    ),
                )
                .with_help("constants are made of literals and other constants"),
            );
            return None;
        }
        match self.eval(&x) {
            Ok(v) => Some((v, x.ty)),
            Err(d) => {
                self.error(*d);
                None
            }
        }
    }

    pub(super) fn check_const(&mut self, def: Def, k: &ast::Const, cyclic: bool) {
        let Def::Const(id) = def else { return };
        if cyclic {
            return;
        }
        let Some((mut value, mut ty)) = self.constant_value(&k.value, "a `const`") else {
            return;
        };
        if let Some(declared) = &k.ty {
            match base_from_name(&declared.name) {
                None => self.unknown_type(declared),
                Some(Base::Float) if ty.base == Base::Int => {
                    if let Value::Int(i) = value {
                        value = Value::Float(i as f64);
                    }
                    ty = Type::FLOAT;
                }
                Some(want) if want != ty.base => {
                    self.error(
                        Diagnostic::new(
                            codes::DECLARED_TYPE,
                            format!(
                                "constant `{}` is declared `{want}` but its value is `{ty}`",
                                k.name.name
                            ),
                            k.value.span,
                            format!("this is `{ty}`"),
                        )
                        .with_secondary(declared.span, format!("declared `{want}` here")),
                    );
                    return;
                }
                Some(_) => {}
            }
        }
        if value == Value::None {
            self.error(Diagnostic::new(
                codes::UNTYPED_NONE,
                format!("constant `{}` is `none`", k.name.name),
                k.value.span,
                "a constant needs a value",
            ));
            return;
        }
        let c = &mut self.program.consts[id.index()];
        c.value = value;
        c.ty = ty;
    }

    pub(super) fn check_table(&mut self, def: Def, t: &ast::Table) {
        let Def::Table(id) = def else { return };
        let key = self.table_type(&t.key_ty, true);
        let value = self.table_type(&t.value_ty, false);
        let mut entries: Vec<(TableKey, Value, Span)> = Vec::new();
        for entry in &t.entries {
            let k = self.table_key(entry, key);
            let v = self.constant_value(&entry.value, "a table value");
            let v = match (v, value) {
                (Some((v, ty)), Some(want)) => {
                    if ty.base == want || (want == Base::Float && ty.base == Base::Int) {
                        Some(match v {
                            Value::Int(i) if want == Base::Float => Value::Float(i as f64),
                            v => v,
                        })
                    } else {
                        self.error(
                            Diagnostic::new(
                                codes::TABLE_ENTRY_TYPE,
                                format!(
                                    "table `{}` has `{want}` values, but this value is `{ty}`",
                                    t.name.name
                                ),
                                entry.value.span,
                                format!("expected `{want}`"),
                            )
                            .with_secondary(t.value_ty.span, "value type declared here"),
                        );
                        None
                    }
                }
                _ => None,
            };
            let (Some(k), Some(v)) = (k, v) else { continue };
            if let Some((_, _, first)) = entries.iter().find(|(other, _, _)| overlaps(other, &k)) {
                self.error(
                    Diagnostic::new(
                        codes::TABLE_OVERLAP,
                        format!("this key of table `{}` is already mapped", t.name.name),
                        entry.key_span,
                        "overlaps an earlier key",
                    )
                    .with_secondary(*first, "earlier key here")
                    .with_help("each key may appear once; remove one of the entries"),
                );
                continue;
            }
            entries.push((k, v, entry.key_span));
        }
        let table = &mut self.program.tables[id.index()];
        table.key = key.unwrap_or(Base::Error);
        table.value = value.unwrap_or(Base::Error);
        table.entries = entries.into_iter().map(|(k, v, _)| (k, v)).collect();
    }

    fn table_type(&mut self, t: &ast::Ident, is_key: bool) -> Option<Base> {
        let Some(b) = base_from_name(&t.name) else {
            self.unknown_type(t);
            return None;
        };
        let ok = if is_key {
            matches!(b, Base::Int | Base::Str | Base::Ip)
        } else {
            Type::of(b).column().is_some()
        };
        if !ok {
            self.error(
                Diagnostic::new(
                    codes::BAD_TABLE_TYPE,
                    format!(
                        "`{b}` cannot be a table {}",
                        if is_key { "key" } else { "value" }
                    ),
                    t.span,
                    "unsupported here",
                )
                .with_help(if is_key {
                    "table keys are int (exact or ranges), str or ip"
                } else {
                    "table values are bool, int, float, str or ip"
                }),
            );
            return None;
        }
        Some(b)
    }

    fn table_key(&mut self, entry: &ast::TableEntry, key: Option<Base>) -> Option<TableKey> {
        let (k, found) = match &entry.key {
            ast::TableKey::Int(i) => (TableKey::Int(*i), Base::Int),
            ast::TableKey::Range { lo, hi, inclusive } => {
                let hi_incl = if *inclusive {
                    Some(*hi)
                } else {
                    hi.checked_sub(1)
                };
                match hi_incl.filter(|h| h >= lo) {
                    Some(h) => (TableKey::Range(*lo, h), Base::Int),
                    None => {
                        self.error(Diagnostic::new(
                            codes::EMPTY_RANGE,
                            format!("the range `{}` is empty", self.text(entry.key_span)),
                            entry.key_span,
                            "contains no key",
                        ).with_help("write `lo..hi` (hi excluded) or `lo..=hi` (hi included) with lo below hi"));
                        return None;
                    }
                }
            }
            ast::TableKey::Float(_) => (TableKey::Int(0), Base::Float),
            ast::TableKey::Str(s) => (TableKey::Str(s.clone()), Base::Str),
            ast::TableKey::Ip(ip) => (TableKey::Ip(*ip), Base::Ip),
        };
        let want = key?;
        if found != want {
            self.error(Diagnostic::new(
                codes::TABLE_ENTRY_TYPE,
                format!("this table has `{want}` keys, but this key is `{found}`"),
                entry.key_span,
                format!("expected `{want}`"),
            ));
            return None;
        }
        Some(k)
    }

    pub(super) fn check_patterns(&mut self, _files: &[(FileId, &ast::File)]) {
        let asts = std::mem::take(&mut self.pattern_asts);
        for p in &asts {
            let parsed = regex_syntax::ParserBuilder::new()
                .unicode(false)
                .utf8(false)
                .build()
                .parse(&p.regex);
            if let Err(e) = parsed {
                let (span, kind) = match &e {
                    regex_syntax::Error::Parse(e) => (Some(*e.span()), e.kind().to_string()),
                    regex_syntax::Error::Translate(e) => (Some(*e.span()), e.kind().to_string()),
                    other => (None, other.to_string()),
                };
                let base = p.regex_span.start as usize;
                let at = match span {
                    Some(s) => Span::new(
                        p.regex_span.file,
                        base + s.start.offset,
                        base + s.end.offset.max(s.start.offset + 1),
                    ),
                    None => p.regex_span,
                };
                let at = Span::new(
                    at.file,
                    at.start as usize,
                    (at.end).min(p.regex_span.end.max(at.start + 1)) as usize,
                );
                self.error(
                    Diagnostic::new(
                        codes::BAD_REGEX,
                        format!("invalid regex in pattern `{}`: {kind}", p.name.name),
                        at,
                        kind,
                    )
                    .with_note(
                        "patterns are byte regexes: `\\d`, `\\s`, `\\w` and `.` match ASCII bytes",
                    ),
                );
            }
        }
        self.pattern_asts = asts;
    }

    pub(super) fn check_tests(&mut self, files: &[(FileId, &ast::File)]) {
        for (file, tree) in files {
            for item in &tree.items {
                if let ast::Item::Test(t) = item {
                    self.check_test(*file, t);
                }
            }
        }
    }

    /// The columns a test of `file` can expect: its groups' and their dependencies'.
    fn test_columns(&self, file: FileId) -> Vec<(String, Base)> {
        let groups: Vec<GroupId> = self
            .program
            .groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.file == file)
            .map(|(i, _)| GroupId(i as u32))
            .collect();
        let mut all = groups.clone();
        all.extend(self.program.dependencies(&groups));
        self.program
            .columns(&all)
            .into_iter()
            .map(|(c, _)| {
                let b = match c.ty {
                    jjc_abi::ColumnType::Bool => Base::Bool,
                    jjc_abi::ColumnType::Int => Base::Int,
                    jjc_abi::ColumnType::Float => Base::Float,
                    jjc_abi::ColumnType::Str => Base::Str,
                    jjc_abi::ColumnType::Ip => Base::Ip,
                };
                (c.name, b)
            })
            .collect()
    }

    fn check_test(&mut self, file: FileId, t: &ast::Test) {
        self.env.file = file;
        self.env.group = None;
        let mut flow: Option<(TestFlow, Span)> = None;
        let mut packets = Vec::new();
        let mut expects = Vec::new();
        let columns = self.test_columns(file);
        for part in &t.parts {
            match part {
                TestPart::Flow(block) => {
                    if let Some((_, first)) = &flow {
                        self.error(
                            Diagnostic::new(
                                codes::TEST_FLOW,
                                "a test has one flow block",
                                block.span,
                                "second flow block",
                            )
                            .with_secondary(*first, "first flow block")
                            .with_help(
                                "one test is one flow; write another `test` for another flow",
                            ),
                        );
                        continue;
                    }
                    flow = Some((self.test_flow(block), block.span));
                }
                TestPart::Packet(block) => packets.push(self.test_packet(block)),
                TestPart::Expect(e) => {
                    let Some((_, ty)) = columns.iter().find(|(c, _)| *c == e.column.name) else {
                        let mut d = Diagnostic::new(
                            codes::TEST_UNKNOWN_COLUMN,
                            format!("no column `{}` in this file's groups", e.column.name),
                            e.column.span,
                            "unknown column",
                        );
                        if let Some(h) =
                            suggest::help(&e.column.name, columns.iter().map(|c| c.0.as_str()))
                        {
                            d = d.with_help(h);
                        }
                        self.error(d);
                        continue;
                    };
                    let ty = *ty;
                    let Some((value, vt)) = self.constant_value(&e.value, "an expected value")
                    else {
                        continue;
                    };
                    if unify(Type::of(ty), vt).is_none_or(|u| u.base != ty) {
                        self.error(Diagnostic::new(
                            codes::TYPE_MISMATCH,
                            format!(
                                "column `{}` is `{ty}`, but the expected value is `{vt}`",
                                e.column.name
                            ),
                            e.value.span,
                            format!("expected `{ty}`"),
                        ));
                        continue;
                    }
                    let value = match value {
                        Value::Int(i) if ty == Base::Float => Value::Float(i as f64),
                        v => v,
                    };
                    expects.push(Expectation {
                        column: e.column.name.clone(),
                        value,
                        span: e.span,
                    });
                }
            }
        }
        if flow.is_none() {
            self.error(
                Diagnostic::new(
                    codes::TEST_FLOW,
                    format!("test \"{}\" has no flow block", t.name.value),
                    t.name.span,
                    "needs `flow { … }`",
                )
                .with_help("add `flow { src 10.0.0.1:1234 dst 10.0.0.2:80 tcp }`"),
            );
        }
        if packets.is_empty() {
            self.error(
                Diagnostic::new(
                    codes::TEST_NO_PACKETS,
                    format!("test \"{}\" has no packets", t.name.value),
                    t.name.span,
                    "needs at least one `packet { … }`",
                )
                .with_help("a flow has at least one packet: add `packet { ts 0.0 dir fwd }`"),
            );
        }
        if let Some((flow, _)) = flow {
            self.program.tests.push(Test {
                name: t.name.value.clone(),
                file,
                flow,
                packets,
                expects,
                span: t.span,
            });
        }
    }

    fn unknown_setting(&mut self, s: &ast::Setting, known: &[&str], block: &str) {
        let mut d = Diagnostic::new(
            codes::TEST_UNKNOWN_SETTING,
            format!("`{}` is not a {block} setting", s.key.name),
            s.key.span,
            "unknown setting",
        );
        d = match suggest::help(&s.key.name, known.iter().copied()) {
            Some(h) => d.with_help(h),
            None => d.with_help(format!("{block} settings are: {}", known.join(", "))),
        };
        self.error(d);
    }

    fn bad_value(&mut self, s: &ast::Setting, want: &str) {
        self.error(Diagnostic::new(
            codes::TEST_BAD_VALUE,
            format!("`{}` expects {want}", s.key.name),
            s.value_span,
            format!("expected {want}"),
        ));
    }

    fn test_flow(&mut self, block: &ast::SettingsBlock) -> TestFlow {
        let mut flow = TestFlow {
            src: (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 1024),
            dst: (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80),
            protocol: 6,
            vlan: None,
            raw_ip: false,
        };
        for s in &block.settings {
            match (s.key.name.as_str(), &s.value) {
                ("tcp", None) => flow.protocol = 6,
                ("udp", None) => flow.protocol = 17,
                ("icmp", None) => flow.protocol = 1,
                ("sctp", None) => flow.protocol = 132,
                ("src" | "dst", Some(SettingValue::Endpoint { ip, port })) => {
                    let Ok(port) = u16::try_from(*port) else {
                        self.bad_value(s, "a port from 0 to 65535");
                        continue;
                    };
                    if s.key.name == "src" {
                        flow.src = (*ip, port);
                    } else {
                        flow.dst = (*ip, port);
                    }
                }
                ("src" | "dst", _) => {
                    self.bad_value(s, "an address and port such as `10.0.0.1:80`")
                }
                ("proto", Some(SettingValue::Int(p))) if (0..=255).contains(p) => {
                    flow.protocol = *p as u8
                }
                ("proto", _) => self.bad_value(s, "a protocol number from 0 to 255"),
                ("vlan", Some(SettingValue::Int(v))) if (0..=4095).contains(v) => {
                    flow.vlan = Some(*v as u16)
                }
                ("vlan", _) => self.bad_value(s, "a VLAN id from 0 to 4095"),
                ("link", Some(SettingValue::Words(w)))
                    if w.len() == 1 && matches!(w[0].name.as_str(), "ethernet" | "raw") =>
                {
                    flow.raw_ip = w[0].name == "raw";
                }
                ("link", _) => self.bad_value(s, "`ethernet` or `raw`"),
                _ => self.unknown_setting(s, FLOW_SETTINGS, "flow"),
            }
        }
        flow
    }

    fn test_packet(&mut self, block: &ast::SettingsBlock) -> TestPacket {
        let mut p = TestPacket {
            ts: 0.0,
            dir: Direction::Fwd,
            len: None,
            payload_len: None,
            payload: Vec::new(),
            tcp_flags: 0,
        };
        for s in &block.settings {
            match (s.key.name.as_str(), &s.value) {
                ("ts", Some(SettingValue::Float(t))) => p.ts = *t,
                ("ts", Some(SettingValue::Int(t))) => p.ts = *t as f64,
                ("ts", _) => self.bad_value(s, "a time in seconds"),
                ("dir", Some(SettingValue::Words(w)))
                    if w.len() == 1 && matches!(w[0].name.as_str(), "fwd" | "bwd") =>
                {
                    p.dir = if w[0].name == "fwd" {
                        Direction::Fwd
                    } else {
                        Direction::Bwd
                    };
                }
                ("dir", _) => self.bad_value(s, "`fwd` or `bwd`"),
                ("len" | "payload_len", Some(SettingValue::Int(n)))
                    if u32::try_from(*n).is_ok() =>
                {
                    let n = *n as u32;
                    if s.key.name == "len" {
                        p.len = Some(n);
                    } else {
                        p.payload_len = Some(n);
                    }
                }
                ("len" | "payload_len", _) => self.bad_value(s, "a length from 0 to 4294967295"),
                ("payload", Some(SettingValue::Bytes(b))) => p.payload = b.clone(),
                ("payload", _) => self.bad_value(s, "a bytes literal such as b\"GET /\""),
                ("flags", Some(SettingValue::Int(n))) if (0..=0x1ff).contains(n) => {
                    p.tcp_flags = *n as u16
                }
                ("flags", Some(SettingValue::Words(words))) => {
                    for w in words {
                        match FLAG_NAMES.iter().find(|(n, _)| *n == w.name) {
                            Some((_, bit)) => p.tcp_flags |= bit,
                            None => {
                                let mut d = Diagnostic::new(
                                    codes::TEST_BAD_VALUE,
                                    format!("`{}` is not a TCP flag", w.name),
                                    w.span,
                                    "unknown flag",
                                );
                                d = match suggest::help(&w.name, FLAG_NAMES.iter().map(|f| f.0)) {
                                    Some(h) => d.with_help(h),
                                    None => d.with_help(
                                        "flags are FIN, SYN, RST, PSH, ACK, URG, ECE, CWR and NS",
                                    ),
                                };
                                self.error(d);
                            }
                        }
                    }
                }
                ("flags", _) => self.bad_value(s, "flags such as `SYN|ACK`"),
                _ => self.unknown_setting(s, PACKET_SETTINGS, "packet"),
            }
        }
        p
    }
}

/// Whether two table keys share a key.
fn overlaps(a: &TableKey, b: &TableKey) -> bool {
    let range = |k: &TableKey| match k {
        TableKey::Int(i) => Some((*i, *i)),
        TableKey::Range(lo, hi) => Some((*lo, *hi)),
        _ => None,
    };
    match (range(a), range(b)) {
        (Some((a0, a1)), Some((b0, b1))) => a0 <= b1 && b0 <= a1,
        _ => a == b,
    }
}
