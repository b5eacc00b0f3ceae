//! A compact binary form of a parsed [`File`], so that a tree parsed once (the standard
//! library, at build time) is rebuilt without parsing it again.
//!
//! The form is private to one build of jjc: [`decode`] reads what [`encode`] of the same
//! build wrote. Spans are stored without their file, which [`decode`] is given (every span
//! of a parsed file is in that file). The form's integers, floats, strings and lists are
//! [`crate::binary`]'s, and so is its checking: malformed bytes give `None`, never a panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::ast::*;
use crate::binary::{self, Decode, Encode, Writer};
use crate::nesting::MAX_NESTING;
use crate::span::{FileId, Span};

/// The bytes of `file`'s tree (its spans without their file).
pub fn encode(file: &File) -> Vec<u8> {
    let mut w = Writer::default();
    file.put(&mut w);
    w.0
}

/// The tree [`encode`] wrote, its spans in `file`; `None` if `bytes` are not exactly such
/// a tree.
pub fn decode(bytes: &[u8], file: FileId) -> Option<File> {
    let mut r = Reader::new(bytes, Context { file, depth: 0 });
    let tree = File::get(&mut r)?;
    r.is_at_end().then_some(tree)
}

/// Expressions nested deeper than this are refused (parsing allows [`MAX_NESTING`]).
const MAX_DEPTH: usize = MAX_NESTING + 8;

/// What reading a tree needs besides its bytes.
struct Context {
    /// The file every span is in.
    file: FileId,
    /// Expressions entered and not yet left.
    depth: usize,
}

type Reader<'a> = binary::Reader<'a, Context>;

impl Encode for Span {
    fn put(&self, w: &mut Writer) {
        w.u64(u64::from(self.start));
        w.u64(u64::from(self.end));
    }
}

impl Decode<Context> for Span {
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        Some(Span {
            file: r.context.file,
            start: r.u32()?,
            end: r.u32()?,
        })
    }
}

impl Encode for IpAddr {
    fn put(&self, w: &mut Writer) {
        match self {
            IpAddr::V4(a) => {
                w.tag(4);
                w.0.extend_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                w.tag(6);
                w.0.extend_from_slice(&a.octets());
            }
        }
    }
}

impl Decode<Context> for IpAddr {
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        match r.tag()? {
            4 => {
                let b: [u8; 4] = r.take(4)?.try_into().ok()?;
                Some(IpAddr::V4(Ipv4Addr::from(b)))
            }
            6 => {
                let b: [u8; 16] = r.take(16)?.try_into().ok()?;
                Some(IpAddr::V6(Ipv6Addr::from(b)))
            }
            _ => None,
        }
    }
}

/// Structs: each field in order.
macro_rules! fields {
    ($ty:ident { $($f:ident),* }) => {
        impl Encode for $ty {
            fn put(&self, w: &mut Writer) {
                $(self.$f.put(w);)*
            }
        }

        impl Decode<Context> for $ty {
            fn get(r: &mut Reader<'_>) -> Option<Self> {
                Some($ty { $($f: Decode::get(r)?),* })
            }
        }
    };
}

fields!(Ident { name, span });
fields!(StrLit { value, span });
fields!(File { items, span });
fields!(Group {
    name,
    doc,
    members,
    span
});
fields!(Let { name, value, span });
fields!(Use {
    group,
    feature,
    span
});
fields!(Feature {
    name,
    ty,
    value,
    doc,
    span
});
fields!(Table {
    name,
    key_ty,
    value_ty,
    entries,
    span
});
fields!(TableEntry {
    key,
    key_span,
    value
});
fields!(Pattern {
    name,
    regex,
    regex_span,
    doc,
    span
});
fields!(Const {
    name,
    ty,
    value,
    span
});
fields!(Test { name, parts, span });
fields!(SettingsBlock { settings, span });
fields!(Setting {
    key,
    value,
    value_span
});
fields!(Expect {
    column,
    value,
    span
});

/// Enums whose variants each hold one value: a tag, then the value.
macro_rules! variants {
    ($ty:ident { $($tag:literal => $v:ident),* }) => {
        impl Encode for $ty {
            fn put(&self, w: &mut Writer) {
                match self {
                    $($ty::$v(x) => {
                        w.tag($tag);
                        x.put(w);
                    })*
                }
            }
        }

        impl Decode<Context> for $ty {
            fn get(r: &mut Reader<'_>) -> Option<Self> {
                match r.tag()? {
                    $($tag => Some($ty::$v(Decode::get(r)?)),)*
                    _ => None,
                }
            }
        }
    };
}

variants!(Item { 0 => Group, 1 => Table, 2 => Pattern, 3 => Const, 4 => Test });
variants!(Member { 0 => Let, 1 => Use, 2 => Feature });
variants!(TestPart { 0 => Flow, 1 => Packet, 2 => Expect });

impl Encode for TableKey {
    fn put(&self, w: &mut Writer) {
        match self {
            TableKey::Int(v) => {
                w.tag(0);
                v.put(w);
            }
            TableKey::Range { lo, hi, inclusive } => {
                w.tag(1);
                lo.put(w);
                hi.put(w);
                inclusive.put(w);
            }
            TableKey::Float(v) => {
                w.tag(2);
                v.put(w);
            }
            TableKey::Str(s) => {
                w.tag(3);
                s.put(w);
            }
            TableKey::Ip(a) => {
                w.tag(4);
                a.put(w);
            }
        }
    }
}

impl Decode<Context> for TableKey {
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        Some(match r.tag()? {
            0 => TableKey::Int(Decode::get(r)?),
            1 => TableKey::Range {
                lo: Decode::get(r)?,
                hi: Decode::get(r)?,
                inclusive: Decode::get(r)?,
            },
            2 => TableKey::Float(Decode::get(r)?),
            3 => TableKey::Str(Decode::get(r)?),
            4 => TableKey::Ip(Decode::get(r)?),
            _ => return None,
        })
    }
}

impl Encode for SettingValue {
    fn put(&self, w: &mut Writer) {
        match self {
            SettingValue::Endpoint { ip, port } => {
                w.tag(0);
                ip.put(w);
                port.put(w);
            }
            SettingValue::Bytes(b) => {
                w.tag(1);
                w.bytes(b);
            }
            SettingValue::Int(v) => {
                w.tag(2);
                v.put(w);
            }
            SettingValue::Float(v) => {
                w.tag(3);
                v.put(w);
            }
            SettingValue::Words(words) => {
                w.tag(4);
                words.put(w);
            }
        }
    }
}

impl Decode<Context> for SettingValue {
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        Some(match r.tag()? {
            0 => SettingValue::Endpoint {
                ip: Decode::get(r)?,
                port: Decode::get(r)?,
            },
            1 => SettingValue::Bytes(r.bytes()?.to_vec()),
            2 => SettingValue::Int(Decode::get(r)?),
            3 => SettingValue::Float(Decode::get(r)?),
            4 => SettingValue::Words(Decode::get(r)?),
            _ => return None,
        })
    }
}

impl Encode for UnaryOp {
    fn put(&self, w: &mut Writer) {
        w.tag(match self {
            UnaryOp::Neg => 0,
            UnaryOp::Not => 1,
        });
    }
}

impl Decode<Context> for UnaryOp {
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        match r.tag()? {
            0 => Some(UnaryOp::Neg),
            1 => Some(UnaryOp::Not),
            _ => None,
        }
    }
}

/// Every binary operator, in the order of its tag.
const BINARY_OPS: [BinaryOp; 21] = {
    use BinaryOp::*;
    [
        Coalesce, Or, And, Eq, Ne, Lt, Le, Gt, Ge, Match, BitOr, BitXor, BitAnd, Shl, Shr, Add,
        Sub, Mul, Div, IntDiv, Rem,
    ]
};

impl Encode for BinaryOp {
    fn put(&self, w: &mut Writer) {
        let tag = BINARY_OPS.iter().position(|op| op == self).unwrap_or(0);
        w.tag(tag as u8);
    }
}

impl Decode<Context> for BinaryOp {
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        BINARY_OPS.get(usize::from(r.tag()?)).copied()
    }
}

impl Encode for Expr {
    fn put(&self, w: &mut Writer) {
        self.kind.put(w);
        self.span.put(w);
    }
}

impl Decode<Context> for Expr {
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        r.context.depth += 1;
        if r.context.depth > MAX_DEPTH {
            return None;
        }
        let kind = ExprKind::get(r)?;
        let span = Span::get(r)?;
        r.context.depth -= 1;
        Some(Expr { kind, span })
    }
}

impl Encode for ExprKind {
    fn put(&self, w: &mut Writer) {
        match self {
            ExprKind::Int(v) => {
                w.tag(0);
                v.put(w);
            }
            ExprKind::Float(v) => {
                w.tag(1);
                v.put(w);
            }
            ExprKind::Str(s) => {
                w.tag(2);
                s.put(w);
            }
            ExprKind::Bytes(b) => {
                w.tag(3);
                w.bytes(b);
            }
            ExprKind::Bool(b) => {
                w.tag(4);
                b.put(w);
            }
            ExprKind::None => w.tag(5),
            ExprKind::Ip(a) => {
                w.tag(6);
                a.put(w);
            }
            ExprKind::Name(n) => {
                w.tag(7);
                n.put(w);
            }
            ExprKind::Field(e, name) => {
                w.tag(8);
                e.put(w);
                name.put(w);
            }
            ExprKind::Index(e, i) => {
                w.tag(9);
                e.put(w);
                i.put(w);
            }
            ExprKind::Slice(e, lo, hi) => {
                w.tag(10);
                e.put(w);
                lo.put(w);
                hi.put(w);
            }
            ExprKind::Unary(op, e) => {
                w.tag(11);
                op.put(w);
                e.put(w);
            }
            ExprKind::Binary(op, a, b) => {
                w.tag(12);
                op.put(w);
                a.put(w);
                b.put(w);
            }
            ExprKind::If(c, a, b) => {
                w.tag(13);
                c.put(w);
                a.put(w);
                b.put(w);
            }
            ExprKind::Call { func, args, filter } => {
                w.tag(14);
                func.put(w);
                args.put(w);
                filter.put(w);
            }
            ExprKind::List(items) => {
                w.tag(15);
                items.put(w);
            }
            ExprKind::Error => w.tag(16),
        }
    }
}

impl Decode<Context> for ExprKind {
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        Some(match r.tag()? {
            0 => ExprKind::Int(Decode::get(r)?),
            1 => ExprKind::Float(Decode::get(r)?),
            2 => ExprKind::Str(Decode::get(r)?),
            3 => ExprKind::Bytes(r.bytes()?.to_vec()),
            4 => ExprKind::Bool(Decode::get(r)?),
            5 => ExprKind::None,
            6 => ExprKind::Ip(Decode::get(r)?),
            7 => ExprKind::Name(Decode::get(r)?),
            8 => ExprKind::Field(Decode::get(r)?, Decode::get(r)?),
            9 => ExprKind::Index(Decode::get(r)?, Decode::get(r)?),
            10 => ExprKind::Slice(Decode::get(r)?, Decode::get(r)?, Decode::get(r)?),
            11 => ExprKind::Unary(Decode::get(r)?, Decode::get(r)?),
            12 => ExprKind::Binary(Decode::get(r)?, Decode::get(r)?, Decode::get(r)?),
            13 => ExprKind::If(Decode::get(r)?, Decode::get(r)?, Decode::get(r)?),
            14 => ExprKind::Call {
                func: Decode::get(r)?,
                args: Decode::get(r)?,
                filter: Decode::get(r)?,
            },
            15 => ExprKind::List(Decode::get(r)?),
            16 => ExprKind::Error,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    /// Every kind of item, test part, table key, setting value and expression.
    const EVERY_FORM: &str = r#"
        # a comment
        features g "the group" {
            let a = -3 + 2.5e3 * 0x1F // 7 % 2 - -9223372036854775807
            use other.x
            n: int = count(pkt.len where pkt.dir == fwd and not (pkt.syn or false))
            s = if a >= 1 then "text\n" else none
            b = b"\x00\xffab" ~ pat ?? 1.5
            i = ip"2001:db8::1" != 10.0.0.1 | 1 ^ 2 & 3 << 4 >> 5
            l = [1, 2.0, "x"][0] + x[1:] + y[:2] + z[1:2] + w[:] < 3 <= 4 > 5
            f = first(pkt.payload)[-1] / 2 "doc"
        }
        table t: int -> str { 1 => "a", -2..=5 => "b", 6..9 => "c", "k" => "d", ip"::1" => "f", }
        table u: float -> int { 1.5 => 1 }
        pattern p = b"GET /" "a pattern"
        const C: int = 42
        const D = 1.0
        test "a test" {
            flow { src 10.0.0.1:5000 dst [2001:db8::2]:53 udp }
            packet { ts 0.5 len -3 flags SYN|ACK payload b"hi" dir fwd }
            expect n == 3
        }
    "#;

    #[test]
    fn every_form_decodes_to_the_tree_that_was_encoded() {
        let parsed = parse(FileId(3), EVERY_FORM);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let Some(tree) = parsed.file else {
            panic!("the text parses");
        };
        let shown = format!("{tree:?}");
        for form in [
            "Slice(",
            "Index(",
            "If(",
            "Call {",
            "List(",
            "Bytes(",
            "Ip(",
            "Unary(",
            "Float(",
            "Bool(",
            "None,",
            "Field(",
            "Range {",
            "Endpoint {",
            "Words(",
            "Pattern(",
            "Const(",
            "Expect(",
            "Use(",
        ] {
            assert!(shown.contains(form), "the text has no {form}");
        }
        let bytes = encode(&tree);
        assert_eq!(decode(&bytes, FileId(3)), Some(tree.clone()));
        // Spans take the file they are decoded into.
        let moved = decode(&bytes, FileId(7)).map(|f| f.span);
        assert_eq!(
            moved,
            Some(Span {
                file: FileId(7),
                ..tree.span
            })
        );
    }

    #[test]
    fn damaged_bytes_are_refused_not_a_panic() {
        let Some(tree) = parse(FileId(0), EVERY_FORM).file else {
            panic!("the text parses");
        };
        let bytes = encode(&tree);
        // Every truncation, and one extra byte.
        for n in 0..bytes.len() {
            assert_eq!(decode(&bytes[..n], FileId(0)), None, "{n} bytes");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode(&longer, FileId(0)), None);
        // Every byte changed: never a panic (some changes still decode, to another tree).
        for i in 0..bytes.len() {
            let mut changed = bytes.clone();
            changed[i] ^= 0xA5;
            let _ = decode(&changed, FileId(0));
        }
        // A huge length is refused before anything is allocated for it.
        assert_eq!(decode(&[0xff; 12], FileId(0)), None);
    }

    #[test]
    fn nesting_beyond_the_parser_limit_is_refused() {
        let mut w = Writer(Vec::new());
        for _ in 0..=MAX_DEPTH {
            w.tag(11); // Unary
            UnaryOp::Neg.put(&mut w);
        }
        let mut r = Reader::new(
            &w.0,
            Context {
                file: FileId(0),
                depth: 0,
            },
        );
        assert_eq!(Expr::get(&mut r), None);
    }
}
