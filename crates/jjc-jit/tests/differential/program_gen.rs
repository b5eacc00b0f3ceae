//! Random well-typed `.jjf` programs, as source text.
//!
//! A program is drawn from a stream of choices (`Vec<u32>` from proptest): each choice picks
//! one production of a small typed grammar, and an exhausted stream picks the first, simplest
//! production. Shrinking the stream therefore shrinks the program.
//!
//! The grammar covers packet-context `let`s over `pkt` fields, `prev`, arithmetic
//! (division and remainder by values that may be zero), comparisons, `if`, `??`, payload
//! slices and bytes, patterns and tables; and flow-context features over every aggregate,
//! with and without `where`, combined with `flow.*` fields, tables and earlier features.
//! Every subexpression is parenthesised, so precedence never matters.

/// The choices a program is drawn from.
pub struct Choices<'a> {
    stream: &'a [u32],
    at: usize,
}

impl<'a> Choices<'a> {
    /// Reads choices from `stream`.
    pub fn new(stream: &'a [u32]) -> Choices<'a> {
        Choices { stream, at: 0 }
    }

    /// A number in `0..n` (0 once the stream is exhausted).
    fn pick(&mut self, n: usize) -> usize {
        let v = self.stream.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        if n == 0 { 0 } else { v as usize % n }
    }

    fn one_of<'s>(&mut self, items: &[&'s str]) -> &'s str {
        items.get(self.pick(items.len())).copied().unwrap_or("")
    }

    fn chance(&mut self, percent: usize) -> bool {
        // Choice 0 (the shrink target) means "no".
        let v = self.pick(100);
        v != 0 && v < percent
    }
}

/// Value types of the generated expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Int,
    Float,
    Bool,
    Bytes,
}

/// Patterns every program declares (unused ones are only warnings).
const PATTERNS: &str = r#"
pattern pat_get = b"^(GET|POST)\s"
pattern pat_http = b"HTTP/\d\.\d"
pattern pat_zero = b"\x00\x00"
pattern pat_digits = b"^\d+"
"#;

/// Tables every program declares.
const TABLES: &str = r#"
table t_port: int -> int { 80 => 1, 443 => 2, 22 => 3, 1024..49152 => 4, -5..=-1 => 5 }
table t_name: int -> str { 6 => "tcp", 17 => "udp", 80 => "http", 443 => "https" }
table t_weight: int -> float { 0 => 0.5, 1 => 1.5, 2 => -2.25, 3..10 => 100.0 }
"#;

const INT_FIELDS: &[&str] = &[
    "pkt.len",
    "pkt.payload_len",
    "pkt.src_port",
    "pkt.dst_port",
    "pkt.tcp_flags",
    "pkt.ttl",
    "pkt.tcp_seq",
    "pkt.tcp_ack",
    "pkt.tcp_window",
    "pkt.ip_id",
    "pkt.wire_len",
    "pkt.cap_len",
    "pkt.protocol",
    "pkt.vlan_id",
    "pkt.tos",
    "pkt.ip_version",
];

const BOOL_FIELDS: &[&str] = &[
    "pkt.syn",
    "pkt.ack",
    "pkt.fin",
    "pkt.rst",
    "pkt.psh",
    "pkt.is_fragment",
    "(pkt.dir == fwd)",
    "(pkt.dir == bwd)",
    "pkt.has_mac",
];

const INT_LITERALS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "7",
    "40",
    "100",
    "1500",
    "65535",
    "(-1)",
    "(-3)",
    "0x7fffffffffffffff",
    "62",
    "63",
    "64",
];

const FLOAT_LITERALS: &[&str] = &[
    "0.0", "0.5", "1.0", "2.5", "(-2.5)", "1e-3", "50ms", "1e300", "(-0.0)", "3.75",
];

const BYTES_LITERALS: &[&str] = &[r#"b"GET ""#, r#"b"""#, r#"b"\x00\x00""#, r#"b"HTTP/1.1""#];

const INT_FLOW_FIELDS: &[&str] = &[
    "flow.packet_count",
    "flow.byte_count",
    "flow.src_port",
    "flow.dst_port",
    "flow.protocol",
    "flow.vlan_id",
];

const FLOAT_FLOW_FIELDS: &[&str] = &["flow.duration", "flow.start_time", "flow.end_time"];

/// Names in scope while generating one group.
#[derive(Default)]
struct Scope {
    /// Packet-context `let`s with their types.
    packet_lets: Vec<(String, Ty)>,
    /// Flow-context `let`s and features (int, float or bool) with their types.
    flow_names: Vec<(String, Ty)>,
}

/// The generator of one program.
struct Gen<'c, 'a> {
    c: &'c mut Choices<'a>,
    scope: Scope,
}

/// A random program: patterns, tables and one group `g` with packet lets, flow lets and
/// features (at least one).
pub fn program(stream: &[u32]) -> String {
    let mut c = Choices::new(stream);
    let mut g = Gen {
        c: &mut c,
        scope: Scope::default(),
    };
    let mut body = String::new();
    let packet_lets = 1 + g.c.pick(4);
    for i in 0..packet_lets {
        let ty = g.packet_let_type();
        let e = g.pexpr(ty, 3);
        body.push_str(&format!("    let p{i} = {e}\n"));
        g.scope.packet_lets.push((format!("p{i}"), ty));
    }
    let features = 2 + g.c.pick(7);
    for i in 0..features {
        if g.c.chance(25) {
            let ty = g.scalar_type();
            let e = g.fexpr(ty, 2);
            body.push_str(&format!("    let q{i} = {e}\n"));
            g.scope.flow_names.push((format!("q{i}"), ty));
        }
        let (decl, ty) = g.feature();
        body.push_str(&format!("    f{i}{decl}\n"));
        if let Some(ty) = ty {
            g.scope.flow_names.push((format!("f{i}"), ty));
        }
    }
    format!("{PATTERNS}{TABLES}\nfeatures g \"generated\" {{\n{body}}}\n")
}

impl Gen<'_, '_> {
    fn packet_let_type(&mut self) -> Ty {
        match self.c.pick(5) {
            0 | 1 => Ty::Int,
            2 => Ty::Float,
            3 => Ty::Bool,
            _ => Ty::Bytes,
        }
    }

    fn scalar_type(&mut self) -> Ty {
        match self.c.pick(3) {
            0 => Ty::Int,
            1 => Ty::Float,
            _ => Ty::Bool,
        }
    }

    fn numeric_type(&mut self) -> Ty {
        if self.c.pick(2) == 0 {
            Ty::Int
        } else {
            Ty::Float
        }
    }

    /// A packet `let` of type `ty`, if there is one and the dice say so.
    fn packet_let(&mut self, ty: Ty) -> Option<String> {
        let names: Vec<&String> = self
            .scope
            .packet_lets
            .iter()
            .filter(|(_, t)| *t == ty)
            .map(|(n, _)| n)
            .collect();
        if names.is_empty() || !self.c.chance(40) {
            return None;
        }
        names.get(self.c.pick(names.len())).map(|n| (*n).clone())
    }

    /// A packet-context expression of type `ty`.
    fn pexpr(&mut self, ty: Ty, depth: usize) -> String {
        if let Some(name) = self.packet_let(ty) {
            return name;
        }
        let leaf = depth == 0;
        match ty {
            Ty::Int => self.pint(depth, leaf),
            Ty::Float => self.pfloat(depth, leaf),
            Ty::Bool => self.pbool(depth, leaf),
            Ty::Bytes => self.pbytes(depth, leaf),
        }
    }

    fn pint(&mut self, depth: usize, leaf: bool) -> String {
        let d = depth.saturating_sub(1);
        let choice = if leaf {
            self.c.pick(2)
        } else {
            self.c.pick(25)
        };
        match choice {
            0 => self.c.one_of(INT_FIELDS).to_string(),
            1 => "len(pkt.payload)".to_string(),
            2 => {
                let op = self.c.one_of(&["+", "-", "*", "//", "%", "&", "|", "^"]);
                let a = self.pexpr(Ty::Int, d);
                let b = self.int_operand(d);
                format!("({a} {op} {b})")
            }
            3 => {
                let op = self.c.one_of(&["<<", ">>"]);
                let a = self.pexpr(Ty::Int, d);
                let b = self.int_operand(d);
                format!("({a} {op} {b})")
            }
            4 => format!("(-{})", self.pexpr(Ty::Int, d)),
            5 => format!("abs({})", self.pexpr(Ty::Int, d)),
            6 => {
                let c = self.pexpr(Ty::Bool, d);
                let a = self.pexpr(Ty::Int, d);
                let b = self.pexpr(Ty::Int, d);
                format!("(if {c} then {a} else {b})")
            }
            7 => {
                let a = self.pexpr(Ty::Int, d);
                let b = self.int_operand(d);
                format!("({a} ?? {b})")
            }
            8 => {
                let a = self.pexpr(Ty::Int, d);
                let k = self.c.one_of(INT_LITERALS);
                format!("(prev({a}) ?? {k})")
            }
            9 => {
                let a = self.pexpr(Ty::Int, d);
                format!("prev({a}, dir)")
            }
            10 => {
                let b = self.pexpr(Ty::Bytes, d);
                let i = self.int_operand(d);
                format!("({b}[{i}])")
            }
            11 => {
                let b = self.pexpr(Ty::Bytes, d);
                let i = self.int_operand(d);
                format!("({b}[{i}] ?? 256)")
            }
            12 => {
                let f = self.c.one_of(&["least", "greatest"]);
                let a = self.pexpr(Ty::Int, d);
                let b = self.int_operand(d);
                format!("{f}({a}, {b})")
            }
            13 => {
                let f = self.c.one_of(&["floor", "ceil", "round", "int"]);
                format!("{f}({})", self.pexpr(Ty::Float, d))
            }
            14 => format!("len({})", self.pexpr(Ty::Bytes, d)),
            15 => {
                let a = self.pexpr(Ty::Int, d);
                format!("(t_port[{a}] ?? 0)")
            }
            16 => format!("t_port[{}]", self.pexpr(Ty::Int, d)),
            17 => format!("({} // 0)", self.pexpr(Ty::Int, d)),
            18 => format!("({} % (-1))", self.pexpr(Ty::Int, d)),
            19 => {
                let a = self.pexpr(Ty::Int, d);
                format!("({a} * 0x100000000)")
            }
            // Edges: halves to round, negative and huge shift amounts, NaN to convert.
            20 => format!("round({} / 2)", self.pexpr(Ty::Int, d)),
            21 => {
                let a = self.pexpr(Ty::Int, d);
                let b = self.pexpr(Ty::Int, d);
                let op = self.c.one_of(&["<<", ">>"]);
                format!("(({a} - 1000) {op} ({b} - 64))")
            }
            22 => {
                let f = self.pexpr(Ty::Float, d);
                format!("int(exp({f}) - exp({f}))")
            }
            _ => self.c.one_of(INT_FIELDS).to_string(),
        }
    }

    /// The right operand of an int operator: often a literal, else an expression.
    fn int_operand(&mut self, depth: usize) -> String {
        if self.c.pick(2) == 0 {
            self.c.one_of(INT_LITERALS).to_string()
        } else {
            self.pexpr(Ty::Int, depth)
        }
    }

    fn float_operand(&mut self, depth: usize) -> String {
        if self.c.pick(2) == 0 {
            self.c.one_of(FLOAT_LITERALS).to_string()
        } else {
            let ty = self.numeric_type();
            self.pexpr(ty, depth)
        }
    }

    fn pfloat(&mut self, depth: usize, leaf: bool) -> String {
        let d = depth.saturating_sub(1);
        let choice = if leaf {
            self.c.pick(2)
        } else {
            self.c.pick(17)
        };
        match choice {
            0 => "pkt.ts".to_string(),
            1 => "(pkt.ts - prev(pkt.ts))".to_string(),
            2 => {
                let op = self.c.one_of(&["+", "-", "*", "/", "//", "%"]);
                let a = self.pexpr(Ty::Float, d);
                let b = self.float_operand(d);
                format!("({a} {op} {b})")
            }
            3 => {
                let a = self.pexpr(Ty::Int, d);
                let b = self.int_operand(d);
                format!("({a} / {b})")
            }
            4 => format!("float({})", self.pexpr(Ty::Int, d)),
            5 => {
                let f = self.c.one_of(&["sqrt", "ln", "log2", "exp", "abs"]);
                format!("{f}({})", self.pexpr(Ty::Float, d))
            }
            6 => {
                let c = self.pexpr(Ty::Bool, d);
                let a = self.pexpr(Ty::Float, d);
                let b = self.float_operand(d);
                format!("(if {c} then {a} else {b})")
            }
            7 => {
                let a = self.pexpr(Ty::Float, d);
                let b = self.float_operand(d);
                format!("({a} ?? {b})")
            }
            8 => "(pkt.ts - prev(pkt.ts, dir))".to_string(),
            9 => {
                let f = self.c.one_of(&["least", "greatest"]);
                let a = self.pexpr(Ty::Float, d);
                let b = self.float_operand(d);
                format!("{f}({a}, {b})")
            }
            10 => format!("(-{})", self.pexpr(Ty::Float, d)),
            11 => format!("(t_weight[{}] ?? 0.25)", self.pexpr(Ty::Int, d)),
            12 => self.c.one_of(FLOAT_LITERALS).to_string(),
            // Edges: signed zeros and NaN through Python's min/max, infinities.
            13 => {
                let f = self.c.one_of(&["least", "greatest"]);
                let a = self.pexpr(Ty::Float, d);
                if self.c.pick(2) == 0 {
                    format!("{f}({a}, (-0.0))")
                } else {
                    format!("{f}({a}, (exp({a}) - exp({a})))")
                }
            }
            14 => format!("(exp({a}) - exp({a}))", a = self.pexpr(Ty::Float, d)),
            15 => format!("({} * 1e300 * 1e300)", self.pexpr(Ty::Float, d)),
            _ => "pkt.ts".to_string(),
        }
    }

    fn pbool(&mut self, depth: usize, leaf: bool) -> String {
        let d = depth.saturating_sub(1);
        let choice = if leaf {
            self.c.pick(1)
        } else {
            self.c.pick(12)
        };
        match choice {
            0 => self.c.one_of(BOOL_FIELDS).to_string(),
            1 => {
                let op = self.c.one_of(&["<", "<=", "==", "!=", ">", ">="]);
                let a = self.pexpr(Ty::Int, d);
                let b = self.int_operand(d);
                format!("({a} {op} {b})")
            }
            2 => {
                let op = self.c.one_of(&["<", "<=", "==", "!=", ">", ">="]);
                let a = self.pexpr(Ty::Float, d);
                let b = self.float_operand(d);
                format!("({a} {op} {b})")
            }
            3 => {
                let op = self.c.one_of(&["and", "or"]);
                let a = self.pexpr(Ty::Bool, d);
                let b = self.pexpr(Ty::Bool, d);
                format!("({a} {op} {b})")
            }
            4 => format!("(not {})", self.pexpr(Ty::Bool, d)),
            5 => {
                let ty = self.numeric_type();
                let a = self.pexpr(ty, d);
                let op = self.c.one_of(&["==", "!="]);
                format!("({a} {op} none)")
            }
            6 => {
                let b = self.pexpr(Ty::Bytes, d);
                let p = self
                    .c
                    .one_of(&["pat_get", "pat_http", "pat_zero", "pat_digits"]);
                if self.c.pick(2) == 0 {
                    format!("({b} ~ {p})")
                } else {
                    format!("matches({b}, {p})")
                }
            }
            7 => {
                let b = self.pexpr(Ty::Bytes, d);
                let lit = self.c.one_of(BYTES_LITERALS);
                let op = self.c.one_of(&["==", "!="]);
                format!("({b} {op} {lit})")
            }
            8 => {
                let a = self.pexpr(Ty::Bool, d);
                let b = self.pexpr(Ty::Bool, d);
                format!("({a} ?? {b})")
            }
            9 => {
                let a = self.pexpr(Ty::Bool, d);
                format!("(prev({a}) ?? false)")
            }
            10 => {
                let bits = self.c.one_of(&["SYN", "ACK", "(SYN | ACK)", "FIN", "RST"]);
                format!("((pkt.tcp_flags & {bits}) == {bits})")
            }
            _ => self.c.one_of(BOOL_FIELDS).to_string(),
        }
    }

    fn pbytes(&mut self, depth: usize, leaf: bool) -> String {
        let d = depth.saturating_sub(1);
        let choice = if leaf { self.c.pick(2) } else { self.c.pick(7) };
        match choice {
            0 => "pkt.payload".to_string(),
            1 => "pkt.tcp_options".to_string(),
            2 => {
                let b = self.pexpr(Ty::Bytes, d);
                let lo = self.int_operand(d);
                let hi = self.int_operand(d);
                format!("({b}[{lo}:{hi}])")
            }
            3 => {
                let b = self.pexpr(Ty::Bytes, d);
                let lo = self.int_operand(d);
                format!("({b}[{lo}:])")
            }
            4 => {
                let b = self.pexpr(Ty::Bytes, d);
                let hi = self.int_operand(d);
                format!("({b}[:{hi}])")
            }
            5 => {
                let c = self.pexpr(Ty::Bool, d);
                let a = self.pexpr(Ty::Bytes, d);
                let b = self.pexpr(Ty::Bytes, d);
                format!("(if {c} then {a} else {b})")
            }
            _ => self.c.one_of(BYTES_LITERALS).to_string(),
        }
    }

    /// A flow name (`let` or feature) of type `ty`, if there is one and the dice say so.
    fn flow_name(&mut self, ty: Ty) -> Option<String> {
        let names: Vec<&String> = self
            .scope
            .flow_names
            .iter()
            .filter(|(_, t)| *t == ty)
            .map(|(n, _)| n)
            .collect();
        if names.is_empty() || !self.c.chance(30) {
            return None;
        }
        names.get(self.c.pick(names.len())).map(|n| (*n).clone())
    }

    /// An optional `where` filter.
    fn filter(&mut self) -> String {
        if self.c.chance(35) {
            format!(" where {}", self.pexpr(Ty::Bool, 3))
        } else {
            String::new()
        }
    }

    /// An aggregate whose value has type `ty` (int, float or bool).
    fn aggregate(&mut self, ty: Ty) -> String {
        match ty {
            Ty::Int => match self.c.pick(14) {
                0 => format!("count({})", self.filter().trim_start()),
                13 => {
                    // The mode of a field whose floats a median keeps: taken from the list.
                    let x = self
                        .c
                        .one_of(&["pkt.len", "pkt.payload_len", "pkt.dst_port"]);
                    let f = self.c.one_of(&["mode", "mode_count"]);
                    let w = self.filter();
                    format!(
                        "(({f}({x}{w}) ?? (-7)) + (if (median({x}{w}) ?? 0.0) > 100.0 then 1 else 0))"
                    )
                }
                1 => {
                    let x = self.pexpr(Ty::Bool, 3);
                    format!("count({x}{})", self.filter())
                }
                2 => {
                    let x = self.pexpr(Ty::Int, 3);
                    format!("count({x}{})", self.filter())
                }
                3 => {
                    let x = self.pexpr(Ty::Int, 3);
                    format!("sum({x}{})", self.filter())
                }
                4 => {
                    let f = self.c.one_of(&["min", "max", "first", "last", "mode"]);
                    let x = self.pexpr(Ty::Int, 3);
                    format!("({f}({x}{}) ?? (-7))", self.filter())
                }
                5 => {
                    let x = self.pexpr(Ty::Int, 3);
                    let n = self.c.pick(4);
                    format!("(nth({x}, {n}{}) ?? 0)", self.filter())
                }
                6 | 7 => {
                    let f = self.c.one_of(&["runs", "longest_run"]);
                    let x = self.pexpr(Ty::Bool, 3);
                    format!("{f}({x}{})", self.filter())
                }
                8 => {
                    let x = self.pexpr(Ty::Int, 3);
                    format!("bit_or({x}{})", self.filter())
                }
                9 => {
                    let x = self.pexpr(Ty::Int, 3);
                    format!("max({x}{})", self.filter())
                }
                10 => {
                    let x = self.pexpr(Ty::Int, 3);
                    format!("mode_count({x}{})", self.filter())
                }
                11 => {
                    let f = self
                        .c
                        .one_of(&["cipher_count", "extension_count", "version"]);
                    format!(
                        "(first(tls_client_hello(pkt.payload).{f}{}) ?? (-1))",
                        self.filter()
                    )
                }
                _ => {
                    let x = self.pexpr(Ty::Bytes, 3);
                    format!("(first(len({x}){}) ?? 0)", self.filter())
                }
            },
            Ty::Float => match self.c.pick(8) {
                0..=2 => {
                    let f = self.c.one_of(&[
                        "mean", "var", "std", "skew", "kurtosis", "median", "min", "max",
                    ]);
                    let t = self.numeric_type();
                    let x = self.pexpr(t, 3);
                    format!("({f}(float({x}){}) ?? 0.0)", self.filter())
                }
                3 => {
                    let x = self.pexpr(Ty::Float, 3);
                    let p = self.c.one_of(&["0", "25", "50", "90", "100", "33.3"]);
                    format!("percentile({x}, {p}{})", self.filter())
                }
                4 => {
                    let x = self.pexpr(Ty::Bytes, 3);
                    format!("entropy({x}{})", self.filter())
                }
                5 => {
                    let x = self.pexpr(Ty::Float, 3);
                    format!("sum({x}{})", self.filter())
                }
                6 => {
                    let f = self.c.one_of(&["first", "last", "mode"]);
                    let x = self.pexpr(Ty::Float, 3);
                    format!("{f}({x}{})", self.filter())
                }
                _ => {
                    let x = self.pexpr(Ty::Float, 3);
                    format!("mean({x}{})", self.filter())
                }
            },
            _ => match self.c.pick(4) {
                0 | 1 => {
                    let f = self.c.one_of(&["any", "all"]);
                    let x = self.pexpr(Ty::Bool, 3);
                    format!("{f}({x}{})", self.filter())
                }
                2 => {
                    let f = self.c.one_of(&["first", "last", "mode"]);
                    let x = self.pexpr(Ty::Bool, 3);
                    format!("({f}({x}{}) ?? false)", self.filter())
                }
                _ => {
                    let x = self.pexpr(Ty::Bool, 3);
                    format!("(count({x}{}) > 1)", self.filter())
                }
            },
        }
    }

    /// A flow-context expression of type `ty` (int, float or bool).
    fn fexpr(&mut self, ty: Ty, depth: usize) -> String {
        if let Some(name) = self.flow_name(ty) {
            return name;
        }
        let d = depth.saturating_sub(1);
        if depth == 0 {
            return self.aggregate(ty);
        }
        match (ty, self.c.pick(8)) {
            (_, 0..=2) => self.aggregate(ty),
            (Ty::Int, 3) => self.c.one_of(INT_FLOW_FIELDS).to_string(),
            (Ty::Float, 3) => self.c.one_of(FLOAT_FLOW_FIELDS).to_string(),
            (Ty::Bool, 3) => "flow.terminated".to_string(),
            (Ty::Int, 4) => {
                let op = self.c.one_of(&["+", "-", "*", "//", "%", "|"]);
                let a = self.fexpr(Ty::Int, d);
                let b = self.fexpr(Ty::Int, d);
                format!("({a} {op} {b})")
            }
            (Ty::Float, 4) => {
                let op = self.c.one_of(&["+", "-", "*", "/"]);
                let a = self.fexpr(Ty::Float, d);
                let b = self.fexpr(Ty::Float, d);
                format!("({a} {op} {b})")
            }
            (Ty::Bool, 4) => {
                let op = self.c.one_of(&["<", ">=", "==", "!="]);
                let t = self.numeric_type();
                let a = self.fexpr(t, d);
                let b = self.fexpr(t, d);
                format!("({a} {op} {b})")
            }
            (_, 5) => {
                let c = self.fexpr(Ty::Bool, d);
                let a = self.fexpr(ty, d);
                let b = self.fexpr(ty, d);
                format!("(if {c} then {a} else {b})")
            }
            (Ty::Int, 6) => format!("(t_port[{}] ?? 9)", self.fexpr(Ty::Int, d)),
            (Ty::Int, 7) => format!("len({})", self.fstr()),
            (Ty::Bool, 7) => {
                let op = self.c.one_of(&["<", "<=", "==", "!=", ">", ">="]);
                let a = self.fstr();
                let b = self.fstr();
                format!("({a} {op} {b})")
            }
            (Ty::Float, 6) => {
                let a = self.fexpr(Ty::Int, d);
                let b = self.fexpr(Ty::Int, d);
                format!("(({a} / {b}) ?? 0.0)")
            }
            (Ty::Bool, 6) => {
                let op = self.c.one_of(&["and", "or"]);
                let a = self.fexpr(Ty::Bool, d);
                let b = self.fexpr(Ty::Bool, d);
                format!("({a} {op} {b})")
            }
            (Ty::Float, _) => format!("sqrt({}) ?? 0.0", self.fexpr(Ty::Float, d)),
            _ => self.aggregate(ty),
        }
    }

    /// A flow-context string, from a table or TLS, or a concatenation of those; some with a
    /// fallback made at run time only for the flows that take it.
    fn fstr(&mut self) -> String {
        match self.c.pick(7) {
            5 => {
                let k = self.fexpr(Ty::Int, 1);
                let n = self.fexpr(Ty::Int, 1);
                format!("(t_name[{k}] ?? \"p\" + str({n}))")
            }
            6 => {
                let c = self.fexpr(Ty::Bool, 1);
                let n = self.fexpr(Ty::Int, 1);
                let k = self.fexpr(Ty::Int, 0);
                format!(
                    "((if {c} then \"h-\" else \"\") + (if {c} then str({n}) else (t_name[{k}] ?? \"q\")))"
                )
            }
            0 => format!("(t_name[{}] ?? \"x\")", self.fexpr(Ty::Int, 1)),
            3 => format!("str({})", self.fexpr(Ty::Int, 1)),
            1 => self.c.one_of(&["\"\"", "\"tcp\"", "\"zz\""]).to_string(),
            2 => "(first(tls_client_hello(pkt.payload).sni) ?? \"\")".to_string(),
            _ => {
                let a = format!("(t_name[{}] ?? \"a\")", self.fexpr(Ty::Int, 0));
                format!("({a} + (last(tls_client_hello(pkt.payload).alpn) ?? \"b\"))")
            }
        }
    }

    /// One feature: ` = expr` or `: type = expr`, and its type when later expressions may
    /// refer to it (multi-column and str/ip features are not referred to).
    fn feature(&mut self) -> (String, Option<Ty>) {
        match self.c.pick(10) {
            0..=5 => {
                let ty = self.scalar_type();
                let e = self.fexpr(ty, 2);
                let decl = match (ty, self.c.pick(3)) {
                    (Ty::Int, 0) => ": int",
                    (Ty::Int, 1) => ": float",
                    (Ty::Float, 0) => ": float",
                    (Ty::Bool, 0) => ": bool",
                    _ => "",
                };
                // An int declared float is a float to later expressions.
                let seen = if decl == ": float" { Ty::Float } else { ty };
                (format!("{decl} = {e}"), Some(seen))
            }
            6 => {
                let t = self.scalar_type();
                let x = self.pexpr(t, 3);
                let n = 1 + self.c.pick(4);
                (format!(" = seq({x}, {n}{})", self.filter()), None)
            }
            7 => {
                let t = self.numeric_type();
                let x = self.pexpr(t, 3);
                let edges = self
                    .c
                    .one_of(&["[0, 100, 1500]", "[-1.5, 0, 0.5, 1e9]", "[0, 1]"]);
                (format!(" = hist({x}, {edges}{})", self.filter()), None)
            }
            8 => {
                let e = match self.c.pick(6) {
                    0 => format!("(t_name[{}] ?? \"\")", self.fexpr(Ty::Int, 1)),
                    1 => format!("t_name[{}]", self.fexpr(Ty::Int, 1)),
                    2 => format!(
                        "(first(tls_client_hello(pkt.payload).sni{}) ?? \"-\")",
                        self.filter()
                    ),
                    3 => {
                        let a = self.fstr();
                        let b = self.fstr();
                        format!("({a} + {b})")
                    }
                    4 => format!(
                        "(last(tls_client_hello(pkt.payload).ja3{}) ?? \"\")",
                        self.filter()
                    ),
                    _ => {
                        let x = self.pexpr(Ty::Int, 3);
                        format!("(t_name[first({x})] ?? \"none\")")
                    }
                };
                (format!(": str = {e}"), None)
            }
            _ => {
                let e = match self.c.pick(3) {
                    0 => "flow.src_ip".to_string(),
                    1 => "first(pkt.dst_ip)".to_string(),
                    _ => format!("mode(pkt.src_ip{})", self.filter()),
                };
                (format!(" = {e}"), None)
            }
        }
    }
}
