//! Column types and cell values of an output table.

use std::fmt;
use std::net::IpAddr;

/// The type of one output column; every row has a value of this type in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// `true` / `false`.
    Bool,
    /// A signed 64-bit integer.
    Int,
    /// A 64-bit float, written shortest round-trip.
    Float,
    /// UTF-8 text.
    Str,
    /// An IPv4 or IPv6 address, written in its usual text form.
    Ip,
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColumnType::Bool => "bool",
            ColumnType::Int => "int",
            ColumnType::Float => "float",
            ColumnType::Str => "str",
            ColumnType::Ip => "ip",
        })
    }
}

/// One output column: its name and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Column name as written in the header.
    pub name: String,
    /// Type of every value in the column.
    pub ty: ColumnType,
}

impl Column {
    /// A column of the given name and type.
    pub fn new(name: impl Into<String>, ty: ColumnType) -> Self {
        Column {
            name: name.into(),
            ty,
        }
    }
}

/// One cell of an output row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A boolean cell.
    Bool(bool),
    /// An integer cell.
    Int(i64),
    /// A float cell.
    Float(f64),
    /// A text cell.
    Str(String),
    /// An address cell.
    Ip(IpAddr),
}

impl Value {
    /// The column type this value belongs in.
    pub fn column_type(&self) -> ColumnType {
        match self {
            Value::Bool(_) => ColumnType::Bool,
            Value::Int(_) => ColumnType::Int,
            Value::Float(_) => ColumnType::Float,
            Value::Str(_) => ColumnType::Str,
            Value::Ip(_) => ColumnType::Ip,
        }
    }
}

/// Takes the cells of one row, left to right, without building [`Value`]s: the path from a
/// finished flow straight to output text.
pub trait CellSink {
    /// A boolean cell.
    fn bool(&mut self, value: bool);
    /// An integer cell.
    fn int(&mut self, value: i64);
    /// A float cell.
    fn float(&mut self, value: f64);
    /// A text cell.
    fn str(&mut self, value: &str);
    /// An address cell.
    fn ip(&mut self, value: IpAddr);

    /// A cell given as a [`Value`].
    fn value(&mut self, value: &Value) {
        match value {
            Value::Bool(b) => self.bool(*b),
            Value::Int(n) => self.int(*n),
            Value::Float(x) => self.float(*x),
            Value::Str(s) => self.str(s),
            Value::Ip(ip) => self.ip(*ip),
        }
    }
}

/// Collects the cells as values.
impl CellSink for Vec<Value> {
    fn bool(&mut self, value: bool) {
        self.push(Value::Bool(value));
    }
    fn int(&mut self, value: i64) {
        self.push(Value::Int(value));
    }
    fn float(&mut self, value: f64) {
        self.push(Value::Float(value));
    }
    fn str(&mut self, value: &str) {
        self.push(Value::Str(value.to_string()));
    }
    fn ip(&mut self, value: IpAddr) {
        self.push(Value::Ip(value));
    }
}
