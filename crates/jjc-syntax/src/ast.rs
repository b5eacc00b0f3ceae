//! The abstract syntax tree of a `.jjf` file; every node keeps its byte span.

use std::net::IpAddr;

use crate::span::Span;

/// A name as written, with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// A string literal after escape processing (doc strings, test names).
#[derive(Debug, Clone, PartialEq)]
pub struct StrLit {
    /// The decoded text.
    pub value: String,
    /// The span of the literal, quotes included.
    pub span: Span,
}

/// One parsed file.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    /// Its items in source order.
    pub items: Vec<Item>,
    /// The whole file.
    pub span: Span,
}

/// A top-level item.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `features NAME "doc" { … }`.
    Group(Group),
    /// `table NAME: K -> V { … }`.
    Table(Table),
    /// `pattern NAME = b"regex"`.
    Pattern(Pattern),
    /// `const NAME = value`.
    Const(Const),
    /// `test "name" { … }`.
    Test(Test),
}

/// A feature group: the unit users select.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Its name.
    pub name: Ident,
    /// Its doc string.
    pub doc: Option<StrLit>,
    /// Lets, uses and features in source order.
    pub members: Vec<Member>,
    /// The whole group.
    pub span: Span,
}

/// A member of a group.
#[derive(Debug, Clone, PartialEq)]
pub enum Member {
    /// `let name = value`.
    Let(Let),
    /// `use group.feature`.
    Use(Use),
    /// `name[: type] = value ["doc"]`.
    Feature(Feature),
}

/// `let name = value`: a named helper whose context is inferred.
#[derive(Debug, Clone, PartialEq)]
pub struct Let {
    /// Its name.
    pub name: Ident,
    /// Its value.
    pub value: Expr,
    /// The whole binding.
    pub span: Span,
}

/// `use group.feature`: brings another group's feature into scope by its bare name.
#[derive(Debug, Clone, PartialEq)]
pub struct Use {
    /// The other group.
    pub group: Ident,
    /// Its feature.
    pub feature: Ident,
    /// The whole declaration.
    pub span: Span,
}

/// A feature: one (or, for `seq`/`hist`, several) output columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// Its name (the column name).
    pub name: Ident,
    /// The declared type, if any.
    pub ty: Option<Ident>,
    /// Its value.
    pub value: Expr,
    /// Its doc string.
    pub doc: Option<StrLit>,
    /// The whole definition.
    pub span: Span,
}

/// A constant map from keys to values.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Its name.
    pub name: Ident,
    /// The key type as written.
    pub key_ty: Ident,
    /// The value type as written.
    pub value_ty: Ident,
    /// Its entries in source order.
    pub entries: Vec<TableEntry>,
    /// The whole table.
    pub span: Span,
}

/// `key => value` in a table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableEntry {
    /// The key or key range.
    pub key: TableKey,
    /// Where the key was written.
    pub key_span: Span,
    /// The value (a constant expression).
    pub value: Expr,
}

/// A table key.
#[derive(Debug, Clone, PartialEq)]
pub enum TableKey {
    /// An exact integer.
    Int(i64),
    /// An integer range: `lo..hi` (hi excluded) or `lo..=hi` (hi included).
    Range {
        /// Lowest key.
        lo: i64,
        /// Upper bound.
        hi: i64,
        /// Whether `hi` itself is in the range.
        inclusive: bool,
    },
    /// A float (never a valid key; kept to report it).
    Float(f64),
    /// An exact string.
    Str(String),
    /// An exact address.
    Ip(IpAddr),
}

/// `pattern NAME = b"regex"`: the regex text is kept verbatim (no escape processing).
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// Its name.
    pub name: Ident,
    /// The regex exactly as written between the quotes.
    pub regex: String,
    /// Where the regex text starts and ends (inside the quotes).
    pub regex_span: Span,
    /// Its doc string.
    pub doc: Option<StrLit>,
    /// The whole item.
    pub span: Span,
}

/// `const NAME[: type] = value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Const {
    /// Its name.
    pub name: Ident,
    /// The declared type, if any.
    pub ty: Option<Ident>,
    /// Its value.
    pub value: Expr,
    /// The whole item.
    pub span: Span,
}

/// `test "name" { flow {…} packet {…}… expect…}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    /// Its name.
    pub name: StrLit,
    /// Its parts in source order.
    pub parts: Vec<TestPart>,
    /// The whole test.
    pub span: Span,
}

/// A part of a test.
#[derive(Debug, Clone, PartialEq)]
pub enum TestPart {
    /// `flow { … }`: the flow key.
    Flow(SettingsBlock),
    /// `packet { … }`: one packet.
    Packet(SettingsBlock),
    /// `expect column == value`.
    Expect(Expect),
}

/// The settings of a `flow` or `packet` block.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsBlock {
    /// The settings in source order.
    pub settings: Vec<Setting>,
    /// The whole block.
    pub span: Span,
}

/// `key value`, or a bare key such as `udp`.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    /// The key.
    pub key: Ident,
    /// The value, if one was written.
    pub value: Option<SettingValue>,
    /// Where the value was written (the key's span if none).
    pub value_span: Span,
}

/// The value of a test setting.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingValue {
    /// `IP:PORT` or `[IPv6]:PORT`.
    Endpoint {
        /// The address.
        ip: IpAddr,
        /// The port as written.
        port: i64,
    },
    /// `b"..."`.
    Bytes(Vec<u8>),
    /// An integer.
    Int(i64),
    /// A float (or a number with a time unit).
    Float(f64),
    /// `A|B|C` (a single word, such as `fwd`, is a list of one).
    Words(Vec<Ident>),
}

/// `expect column == value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    /// The column.
    pub column: Ident,
    /// The expected value (a constant expression).
    pub value: Expr,
    /// The whole expectation.
    pub span: Span,
}

/// An expression with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where it was written.
    pub span: Span,
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// An integer literal.
    Int(i64),
    /// A float literal; numbers with a time unit are floats in seconds.
    Float(f64),
    /// A string literal.
    Str(String),
    /// A bytes literal.
    Bytes(Vec<u8>),
    /// `true` or `false`.
    Bool(bool),
    /// `none`.
    None,
    /// An address literal.
    Ip(IpAddr),
    /// A bare name.
    Name(String),
    /// `base.field`.
    Field(Box<Expr>, Ident),
    /// `base[index]`.
    Index(Box<Expr>, Box<Expr>),
    /// `base[lo:hi]`, either bound optional.
    Slice(Box<Expr>, Option<Box<Expr>>, Option<Box<Expr>>),
    /// A prefix operator.
    Unary(UnaryOp, Box<Expr>),
    /// An infix operator.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `if c then a else b`.
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `name(args… [where cond])`.
    Call {
        /// The function or aggregate.
        func: Ident,
        /// Its arguments.
        args: Vec<Expr>,
        /// The `where` filter.
        filter: Option<Box<Expr>>,
    },
    /// `[a, b, …]`.
    List(Vec<Expr>),
    /// Stands in for a malformed expression that was already reported.
    Error,
}

/// Prefix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `not x`.
    Not,
}

/// Infix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `a ?? b`.
    Coalesce,
    /// `a or b`.
    Or,
    /// `a and b`.
    And,
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `bytes ~ pattern`.
    Match,
    /// `|`.
    BitOr,
    /// `^`.
    BitXor,
    /// `&`.
    BitAnd,
    /// `<<`.
    Shl,
    /// `>>`.
    Shr,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/` (always float division).
    Div,
    /// `//` (integer division for integers).
    IntDiv,
    /// `%`.
    Rem,
}

impl BinaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Coalesce => "??",
            Or => "or",
            And => "and",
            Eq => "==",
            Ne => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            Match => "~",
            BitOr => "|",
            BitXor => "^",
            BitAnd => "&",
            Shl => "<<",
            Shr => ">>",
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            IntDiv => "//",
            Rem => "%",
        }
    }
}
