//! The typed program (HIR): what the kernel compiler lowers.
//!
//! Names are resolved to ids, every expression carries its [`Type`] and [`Context`],
//! int-to-float widening is explicit ([`ExprKind::ToFloat`]), constants are evaluated,
//! tables and patterns are validated.

use std::net::IpAddr;

use jjc_abi::{Column, ColumnType, Direction};
use jjc_syntax::ast::{BinaryOp, UnaryOp};
use jjc_syntax::{FileId, Span};

use crate::builtins::{Agg, Field, Func};
use crate::types::{Base, Type};

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);
        impl $name {
            /// The index into the program's list.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    )*};
}

ids! {
    /// A feature group.
    GroupId;
    /// A feature (across all groups).
    FeatureId;
    /// A `let` (across all groups).
    LetId;
    /// A `const`.
    ConstId;
    /// A `table`.
    TableId;
    /// A `pattern`.
    PatternId;
}

/// Where an expression can be evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    /// Known before any packet: literals and constants.
    Const,
    /// Evaluated once per packet.
    Packet,
    /// Evaluated once per flow, when it ends.
    Flow,
    /// Part of an expression already reported as wrong.
    Error,
}

impl Context {
    /// `const`, `packet`, `flow` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Context::Const => "const",
            Context::Packet => "packet",
            Context::Flow => "flow",
            Context::Error => "error",
        }
    }
}

/// A constant value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A bool.
    Bool(bool),
    /// An int.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// Bytes.
    Bytes(Vec<u8>),
    /// An address.
    Ip(IpAddr),
    /// A direction.
    Dir(Direction),
    /// No value.
    None,
}

impl Value {
    /// The type of the value.
    pub fn ty(&self) -> Type {
        match self {
            Value::Bool(_) => Type::BOOL,
            Value::Int(_) => Type::INT,
            Value::Float(_) => Type::FLOAT,
            Value::Str(_) => Type::of(Base::Str),
            Value::Bytes(_) => Type::of(Base::Bytes),
            Value::Ip(_) => Type::of(Base::Ip),
            Value::Dir(_) => Type::of(Base::Dir),
            Value::None => Type::NOTHING,
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Bytes(b) => write!(f, "b\"{}\"", b.escape_ascii()),
            Value::Ip(ip) => write!(f, "{ip}"),
            Value::Dir(Direction::Fwd) => f.write_str("fwd"),
            Value::Dir(Direction::Bwd) => f.write_str("bwd"),
            Value::None => f.write_str("none"),
        }
    }
}

/// A typed expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What it computes.
    pub kind: ExprKind,
    /// Its type.
    pub ty: Type,
    /// Where it can be evaluated.
    pub ctx: Context,
    /// Where it was written.
    pub span: Span,
}

/// The kinds of typed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A constant.
    Lit(Value),
    /// A `pkt.*` field.
    Pkt(&'static Field),
    /// A `flow.*` field.
    Flow(&'static Field),
    /// A `let`.
    Let(LetId),
    /// A feature's output value (already defaulted, never none).
    Feature(FeatureId),
    /// A `const`.
    Const(ConstId),
    /// A prefix operator (`not` treats none as false).
    Unary(UnaryOp, Box<Expr>),
    /// An infix operator; `and`/`or` treat none as false; `/` is float division.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `x != none` (`x == none` is `not` of it).
    IsDefined(Box<Expr>),
    /// An int widened to float.
    ToFloat(Box<Expr>),
    /// `if c then a else b` (a none condition is false).
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `table[key]`: none when the key is missing.
    Lookup(TableId, Box<Expr>),
    /// `bytes[i]`: the byte at `i`, none outside.
    ByteAt(Box<Expr>, Box<Expr>),
    /// `bytes[lo:hi]`, bounds clamped to the length.
    Slice(Box<Expr>, Option<Box<Expr>>, Option<Box<Expr>>),
    /// `bytes ~ pattern`.
    Match(Box<Expr>, PatternId),
    /// A scalar function.
    Call(Func, Vec<Expr>),
    /// A field of a record (`tls_client_hello(pkt.payload).sni`): none when the record is.
    RecordField(Box<Expr>, &'static Field),
    /// `prev(x)` or `prev(x, dir)`.
    Prev {
        /// The packet value.
        value: Box<Expr>,
        /// Within the packet's direction.
        per_direction: bool,
    },
    /// An aggregate over the flow's packets.
    Aggregate(Box<Aggregate>),
    /// Something already reported as wrong.
    Error,
}

/// An aggregate call.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// Which aggregate.
    pub agg: Agg,
    /// Its per-packet argument (`None` for `count()`).
    pub arg: Option<Expr>,
    /// Its constant parameter.
    pub param: AggParam,
    /// Its `where` filter.
    pub filter: Option<Expr>,
}

/// The constant parameter of an aggregate.
#[derive(Debug, Clone, PartialEq)]
pub enum AggParam {
    /// None.
    None,
    /// `nth` index or `seq` length.
    Count(i64),
    /// `percentile` p, in 0..=100.
    Percent(f64),
    /// `hist` bin edges, strictly increasing.
    Edges(Vec<f64>),
}

/// How many columns a feature produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One column.
    Scalar,
    /// `seq(x, n)`: n columns `name_0 … name_{n-1}`.
    Seq(usize),
    /// `hist(x, edges)`: one column per bin.
    Hist(usize),
}

/// A feature group.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Its name.
    pub name: String,
    /// Its doc string.
    pub doc: String,
    /// Its file.
    pub file: FileId,
    /// Where its name is written.
    pub name_span: Span,
    /// The whole group.
    pub span: Span,
    /// Its features, in output order.
    pub features: Vec<FeatureId>,
    /// Its lets.
    pub lets: Vec<LetId>,
    /// Other groups it uses features of.
    pub uses_groups: Vec<GroupId>,
}

/// A feature.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// Its name.
    pub name: String,
    /// Its group.
    pub group: GroupId,
    /// Its doc string.
    pub doc: String,
    /// The type of its value (may be optional).
    pub ty: Type,
    /// The column type (optional values get this type's default).
    pub output: Base,
    /// One or several columns.
    pub shape: Shape,
    /// Its value.
    pub expr: Expr,
    /// Where its name is written.
    pub name_span: Span,
    /// The whole definition.
    pub span: Span,
}

impl Feature {
    /// The output columns of this feature, in order.
    pub fn columns(&self) -> Vec<Column> {
        let ty = match self.shape {
            Shape::Hist(_) => ColumnType::Int,
            _ => Type::of(self.output).column().unwrap_or(ColumnType::Float),
        };
        match self.shape {
            Shape::Scalar => vec![Column::new(self.name.clone(), ty)],
            Shape::Seq(n) | Shape::Hist(n) => (0..n)
                .map(|i| Column::new(format!("{}_{i}", self.name), ty))
                .collect(),
        }
    }
}

/// A `let`.
#[derive(Debug, Clone, PartialEq)]
pub struct Let {
    /// Its name.
    pub name: String,
    /// Its group.
    pub group: GroupId,
    /// Its value (its context is the let's context).
    pub expr: Expr,
    /// Where its name is written.
    pub name_span: Span,
}

/// A `const`.
#[derive(Debug, Clone, PartialEq)]
pub struct Const {
    /// Its name.
    pub name: String,
    /// Its file.
    pub file: FileId,
    /// Its value (`None` if it could not be evaluated).
    pub value: Value,
    /// Its type.
    pub ty: Type,
    /// Where its name is written.
    pub name_span: Span,
}

/// A table key.
#[derive(Debug, Clone, PartialEq)]
pub enum TableKey {
    /// An exact int.
    Int(i64),
    /// An inclusive int range.
    Range(i64, i64),
    /// An exact string.
    Str(String),
    /// An exact address.
    Ip(IpAddr),
}

/// A constant table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// Its file.
    pub file: FileId,
    /// The key type.
    pub key: Base,
    /// The value type.
    pub value: Base,
    /// Entries in source order (keys never overlap).
    pub entries: Vec<(TableKey, Value)>,
    /// Where its name is written.
    pub name_span: Span,
}

/// A byte-regex pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// Its name.
    pub name: String,
    /// Its file.
    pub file: FileId,
    /// The regex (bytes mode, ASCII classes), verbatim.
    pub regex: String,
    /// Where its name is written.
    pub name_span: Span,
}

/// The flow of a test.
#[derive(Debug, Clone, PartialEq)]
pub struct TestFlow {
    /// Initiator address and port.
    pub src: (IpAddr, u16),
    /// Responder address and port.
    pub dst: (IpAddr, u16),
    /// IP protocol number.
    pub protocol: u8,
    /// VLAN id, if tagged.
    pub vlan: Option<u16>,
    /// `link raw`: a raw-IP capture, with no link layer and no MAC addresses
    /// (`pkt.has_mac` is false); `link ethernet` (the default) has them.
    pub raw_ip: bool,
}

/// One hand-made packet of a test.
#[derive(Debug, Clone, PartialEq)]
pub struct TestPacket {
    /// Capture time.
    pub ts: f64,
    /// Direction.
    pub dir: Direction,
    /// `pkt.len`; default: payload length plus 40 (IPv4 + TCP) or 28 (UDP) headers.
    pub len: Option<u32>,
    /// `pkt.payload_len`; default: the payload's length.
    pub payload_len: Option<u32>,
    /// The payload bytes.
    pub payload: Vec<u8>,
    /// TCP flag bits.
    pub tcp_flags: u16,
}

/// `expect column == value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// The column.
    pub column: String,
    /// The expected value.
    pub value: Value,
    /// Where it was written.
    pub span: Span,
}

/// A `test` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    /// Its name.
    pub name: String,
    /// Its file (the test runs the file's groups).
    pub file: FileId,
    /// The flow key.
    pub flow: TestFlow,
    /// The packets, in order.
    pub packets: Vec<TestPacket>,
    /// What must hold at the end.
    pub expects: Vec<Expectation>,
    /// The whole test.
    pub span: Span,
}

/// A checked program: everything every loaded file defines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Program {
    /// All groups.
    pub groups: Vec<Group>,
    /// All features.
    pub features: Vec<Feature>,
    /// All lets.
    pub lets: Vec<Let>,
    /// All constants.
    pub consts: Vec<Const>,
    /// All tables.
    pub tables: Vec<Table>,
    /// All patterns.
    pub patterns: Vec<Pattern>,
    /// All tests.
    pub tests: Vec<Test>,
}

impl Program {
    /// A group by id.
    pub fn group(&self, id: GroupId) -> Option<&Group> {
        self.groups.get(id.index())
    }

    /// A feature by id.
    pub fn feature(&self, id: FeatureId) -> Option<&Feature> {
        self.features.get(id.index())
    }

    /// The first group of this name.
    pub fn group_by_name(&self, name: &str) -> Option<GroupId> {
        self.groups
            .iter()
            .position(|g| g.name == name)
            .map(|i| GroupId(i as u32))
    }

    /// The output columns of the given groups, in order.
    pub fn columns(&self, groups: &[GroupId]) -> Vec<(Column, FeatureId)> {
        let mut out = Vec::new();
        for g in groups.iter().filter_map(|g| self.group(*g)) {
            for f in &g.features {
                if let Some(feat) = self.feature(*f) {
                    out.extend(feat.columns().into_iter().map(|c| (c, *f)));
                }
            }
        }
        out
    }

    /// The groups `groups` use, directly or not, that are not in `groups`.
    pub fn dependencies(&self, groups: &[GroupId]) -> Vec<GroupId> {
        let mut seen: Vec<GroupId> = groups.to_vec();
        let mut out = Vec::new();
        let mut work: Vec<GroupId> = groups.to_vec();
        while let Some(g) = work.pop() {
            for u in self.group(g).map_or(&[][..], |g| &g.uses_groups) {
                if !seen.contains(u) {
                    seen.push(*u);
                    out.push(*u);
                    work.push(*u);
                }
            }
        }
        out.sort();
        out
    }
}
