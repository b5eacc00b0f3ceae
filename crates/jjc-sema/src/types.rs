//! The static types of `.jjf` values.

use std::fmt;

use jjc_abi::ColumnType;

/// A type without its optionality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Base {
    /// `true`/`false`.
    Bool,
    /// 64-bit signed integer.
    Int,
    /// 64-bit float.
    Float,
    /// Text.
    Str,
    /// Bytes (packet context only; never a column).
    Bytes,
    /// An IPv4 or IPv6 address.
    Ip,
    /// A packet direction, `fwd` or `bwd` (never a column).
    Dir,
    /// A record made by a built-in such as `tls_client_hello` (packet values only; never a
    /// column): read its fields with `.name`.
    Record(Record),
    /// The type of the `none` literal: fits any optional.
    Nothing,
    /// The type of something already reported as wrong; fits anything silently.
    Error,
}

/// The kinds of record the built-ins return. A record is a packet value with typed fields
/// (`.sni`, `.cipher_count`, …, see [`crate::builtins::record_fields`]); it cannot be a
/// column, compared, given to `prev` or aggregated other than by `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Record {
    /// A TLS ClientHello (`tls_client_hello`).
    ClientHello,
    /// A TLS ServerHello (`tls_server_hello`).
    ServerHello,
    /// A TLS Certificate message (`tls_certificates`).
    Certificates,
    /// A TLS ServerKeyExchange message (`tls_key_exchange`).
    KeyExchange,
}

impl Record {
    /// The name of the record type, as written in messages and docs.
    pub fn name(self) -> &'static str {
        match self {
            Record::ClientHello => "client_hello",
            Record::ServerHello => "server_hello",
            Record::Certificates => "certificates",
            Record::KeyExchange => "key_exchange",
        }
    }
}

/// A type: a base and whether the value may be missing (`none`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Type {
    /// The kind of value.
    pub base: Base,
    /// Whether the value may be `none`.
    pub optional: bool,
}

impl Type {
    /// A value that is always present.
    pub const fn of(base: Base) -> Type {
        Type {
            base,
            optional: false,
        }
    }

    /// A value that may be `none`.
    pub const fn optional(base: Base) -> Type {
        Type {
            base,
            optional: true,
        }
    }

    /// `bool`.
    pub const BOOL: Type = Type::of(Base::Bool);
    /// `int`.
    pub const INT: Type = Type::of(Base::Int);
    /// `float`.
    pub const FLOAT: Type = Type::of(Base::Float);
    /// The error type.
    pub const ERROR: Type = Type::of(Base::Error);
    /// The type of `none`.
    pub const NOTHING: Type = Type::optional(Base::Nothing);

    /// The same base, optional if either is.
    pub fn or_optional(self, optional: bool) -> Type {
        Type {
            base: self.base,
            optional: self.optional || optional,
        }
    }

    /// Whether this is the error type.
    pub fn is_error(self) -> bool {
        self.base == Base::Error
    }

    /// Whether it is `int` or `float`.
    pub fn is_numeric(self) -> bool {
        matches!(self.base, Base::Int | Base::Float | Base::Error)
    }

    /// The output column type, if values of this type can be a column.
    pub fn column(self) -> Option<ColumnType> {
        Some(match self.base {
            Base::Bool => ColumnType::Bool,
            Base::Int => ColumnType::Int,
            Base::Float => ColumnType::Float,
            Base::Str => ColumnType::Str,
            Base::Ip => ColumnType::Ip,
            _ => return None,
        })
    }
}

impl fmt::Display for Base {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Base::Bool => "bool",
            Base::Int => "int",
            Base::Float => "float",
            Base::Str => "str",
            Base::Bytes => "bytes",
            Base::Ip => "ip",
            Base::Dir => "dir",
            Base::Record(r) => r.name(),
            Base::Nothing => "none",
            Base::Error => "{unknown}",
        })
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.base == Base::Nothing {
            return f.write_str("none");
        }
        write!(f, "{}{}", self.base, if self.optional { "?" } else { "" })
    }
}

/// Parses a type name as written in a declaration.
pub fn base_from_name(name: &str) -> Option<Base> {
    Some(match name {
        "bool" => Base::Bool,
        "int" => Base::Int,
        "float" => Base::Float,
        "str" => Base::Str,
        "bytes" => Base::Bytes,
        "ip" => Base::Ip,
        "dir" => Base::Dir,
        _ => return None,
    })
}

/// The type names a user may write.
pub const TYPE_NAMES: &[&str] = &["bool", "int", "float", "str", "bytes", "ip", "dir"];

/// The common type of two branches: equal bases, or int and float (float); `none`
/// fits any type and makes it optional. `None` if they do not fit.
pub fn unify(a: Type, b: Type) -> Option<Type> {
    let optional = a.optional || b.optional;
    let base = match (a.base, b.base) {
        (Base::Error, _) | (_, Base::Error) => Base::Error,
        (Base::Nothing, x) | (x, Base::Nothing) => x,
        (x, y) if x == y => x,
        (Base::Int, Base::Float) | (Base::Float, Base::Int) => Base::Float,
        _ => return None,
    };
    Some(Type { base, optional })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unify_widens_and_propagates_none() {
        assert_eq!(unify(Type::INT, Type::FLOAT), Some(Type::FLOAT));
        assert_eq!(
            unify(Type::NOTHING, Type::of(Base::Str)),
            Some(Type::optional(Base::Str))
        );
        assert_eq!(unify(Type::BOOL, Type::INT), None);
        assert_eq!(Type::optional(Base::Float).to_string(), "float?");
        assert_eq!(Type::NOTHING.to_string(), "none");
        assert_eq!(Type::of(Base::Bytes).column(), None);
        assert_eq!(base_from_name("ip"), Some(Base::Ip));
    }
}
