//! A compact binary form of a parsed [`File`], so that a tree parsed once (the standard
//! library, at build time) is rebuilt without parsing it again.
//!
//! The form is private to one build of jjc: [`decode`] reads what [`encode`] of the same
//! build wrote. Spans are stored without their file, which [`decode`] is given (every span
//! of a parsed file is in that file). Integers are LEB128 varints (signed ones zigzagged),
//! floats their 8 bits, strings and lists their length then their contents.
//!
//! Decoding checks everything it reads: malformed bytes give `None`, never a panic, and
//! no length is trusted beyond the bytes that remain.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::ast::*;
use crate::nesting::MAX_NESTING;
use crate::span::{FileId, Span};

/// The bytes of `file`'s tree (its spans without their file).
pub fn encode(file: &File) -> Vec<u8> {
    let mut w = Writer(Vec::new());
    file.put(&mut w);
    w.0
}

/// The tree [`encode`] wrote, its spans in `file`; `None` if `bytes` are not exactly such
/// a tree.
pub fn decode(bytes: &[u8], file: FileId) -> Option<File> {
    let mut r = Reader {
        bytes,
        pos: 0,
        file,
        depth: 0,
    };
    let tree = File::get(&mut r)?;
    (r.pos == bytes.len()).then_some(tree)
}

/// Expressions nested deeper than this are refused (parsing allows [`MAX_NESTING`]).
const MAX_DEPTH: usize = MAX_NESTING + 8;

struct Writer(Vec<u8>);

impl Writer {
    fn u64(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn tag(&mut self, t: u8) {
        self.0.push(t);
    }

    fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }

    fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.0.extend_from_slice(b);
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    file: FileId,
    /// Expressions entered and not yet left.
    depth: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let b = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(b)
    }

    fn tag(&mut self) -> Option<u8> {
        Some(*self.take(1)?.first()?)
    }

    fn u64(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.tag()?;
            v |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.u64()?).ok()
    }

    /// A length, which cannot exceed the bytes left (every element takes at least one).
    fn len(&mut self) -> Option<usize> {
        let n = usize::try_from(self.u64()?).ok()?;
        (n <= self.bytes.len() - self.pos).then_some(n)
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.len()?;
        self.take(n)
    }
}

/// A value with a binary form.
trait Codec: Sized {
    fn put(&self, w: &mut Writer);
    fn get(r: &mut Reader<'_>) -> Option<Self>;
}

impl Codec for u64 {
    fn put(&self, w: &mut Writer) {
        w.u64(*self);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        r.u64()
    }
}

impl Codec for i64 {
    fn put(&self, w: &mut Writer) {
        w.u64(((self << 1) ^ (self >> 63)) as u64);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        let v = r.u64()?;
        Some(((v >> 1) as i64) ^ -((v & 1) as i64))
    }
}

impl Codec for f64 {
    fn put(&self, w: &mut Writer) {
        w.0.extend_from_slice(&self.to_bits().to_le_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        let b: [u8; 8] = r.take(8)?.try_into().ok()?;
        Some(f64::from_bits(u64::from_le_bytes(b)))
    }
}

impl Codec for bool {
    fn put(&self, w: &mut Writer) {
        w.tag(u8::from(*self));
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        match r.tag()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
}

impl Codec for String {
    fn put(&self, w: &mut Writer) {
        w.bytes(self.as_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        std::str::from_utf8(r.bytes()?).ok().map(str::to_string)
    }
}

impl<T: Codec> Codec for Vec<T> {
    fn put(&self, w: &mut Writer) {
        w.len(self.len());
        for x in self {
            x.put(w);
        }
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        let n = r.len()?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(T::get(r)?);
        }
        Some(v)
    }
}

impl<T: Codec> Codec for Option<T> {
    fn put(&self, w: &mut Writer) {
        match self {
            None => w.tag(0),
            Some(x) => {
                w.tag(1);
                x.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        match r.tag()? {
            0 => Some(None),
            1 => Some(Some(T::get(r)?)),
            _ => None,
        }
    }
}

impl<T: Codec> Codec for Box<T> {
    fn put(&self, w: &mut Writer) {
        (**self).put(w);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        T::get(r).map(Box::new)
    }
}

impl Codec for Span {
    fn put(&self, w: &mut Writer) {
        w.u64(u64::from(self.start));
        w.u64(u64::from(self.end));
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        Some(Span {
            file: r.file,
            start: r.u32()?,
            end: r.u32()?,
        })
    }
}

impl Codec for IpAddr {
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
        impl Codec for $ty {
            fn put(&self, w: &mut Writer) {
                $(self.$f.put(w);)*
            }
            fn get(r: &mut Reader<'_>) -> Option<Self> {
                Some($ty { $($f: Codec::get(r)?),* })
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
        impl Codec for $ty {
            fn put(&self, w: &mut Writer) {
                match self {
                    $($ty::$v(x) => {
                        w.tag($tag);
                        x.put(w);
                    })*
                }
            }
            fn get(r: &mut Reader<'_>) -> Option<Self> {
                match r.tag()? {
                    $($tag => Some($ty::$v(Codec::get(r)?)),)*
                    _ => None,
                }
            }
        }
    };
}

variants!(Item { 0 => Group, 1 => Table, 2 => Pattern, 3 => Const, 4 => Test });
variants!(Member { 0 => Let, 1 => Use, 2 => Feature });
variants!(TestPart { 0 => Flow, 1 => Packet, 2 => Expect });

impl Codec for TableKey {
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
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        Some(match r.tag()? {
            0 => TableKey::Int(Codec::get(r)?),
            1 => TableKey::Range {
                lo: Codec::get(r)?,
                hi: Codec::get(r)?,
                inclusive: Codec::get(r)?,
            },
            2 => TableKey::Float(Codec::get(r)?),
            3 => TableKey::Str(Codec::get(r)?),
            4 => TableKey::Ip(Codec::get(r)?),
            _ => return None,
        })
    }
}

impl Codec for SettingValue {
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
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        Some(match r.tag()? {
            0 => SettingValue::Endpoint {
                ip: Codec::get(r)?,
                port: Codec::get(r)?,
            },
            1 => SettingValue::Bytes(r.bytes()?.to_vec()),
            2 => SettingValue::Int(Codec::get(r)?),
            3 => SettingValue::Float(Codec::get(r)?),
            4 => SettingValue::Words(Codec::get(r)?),
            _ => return None,
        })
    }
}

impl Codec for UnaryOp {
    fn put(&self, w: &mut Writer) {
        w.tag(match self {
            UnaryOp::Neg => 0,
            UnaryOp::Not => 1,
        });
    }
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

impl Codec for BinaryOp {
    fn put(&self, w: &mut Writer) {
        let tag = BINARY_OPS.iter().position(|op| op == self).unwrap_or(0);
        w.tag(tag as u8);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        BINARY_OPS.get(usize::from(r.tag()?)).copied()
    }
}

impl Codec for Expr {
    fn put(&self, w: &mut Writer) {
        self.kind.put(w);
        self.span.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        r.depth += 1;
        if r.depth > MAX_DEPTH {
            return None;
        }
        let kind = ExprKind::get(r)?;
        let span = Span::get(r)?;
        r.depth -= 1;
        Some(Expr { kind, span })
    }
}

impl Codec for ExprKind {
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
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        Some(match r.tag()? {
            0 => ExprKind::Int(Codec::get(r)?),
            1 => ExprKind::Float(Codec::get(r)?),
            2 => ExprKind::Str(Codec::get(r)?),
            3 => ExprKind::Bytes(r.bytes()?.to_vec()),
            4 => ExprKind::Bool(Codec::get(r)?),
            5 => ExprKind::None,
            6 => ExprKind::Ip(Codec::get(r)?),
            7 => ExprKind::Name(Codec::get(r)?),
            8 => ExprKind::Field(Codec::get(r)?, Codec::get(r)?),
            9 => ExprKind::Index(Codec::get(r)?, Codec::get(r)?),
            10 => ExprKind::Slice(Codec::get(r)?, Codec::get(r)?, Codec::get(r)?),
            11 => ExprKind::Unary(Codec::get(r)?, Codec::get(r)?),
            12 => ExprKind::Binary(Codec::get(r)?, Codec::get(r)?, Codec::get(r)?),
            13 => ExprKind::If(Codec::get(r)?, Codec::get(r)?, Codec::get(r)?),
            14 => ExprKind::Call {
                func: Codec::get(r)?,
                args: Codec::get(r)?,
                filter: Codec::get(r)?,
            },
            15 => ExprKind::List(Codec::get(r)?),
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
    fn floats_keep_their_bits() {
        let mut w = Writer(Vec::new());
        for v in [-0.0, f64::INFINITY, 1e-300, f64::MIN_POSITIVE] {
            v.put(&mut w);
        }
        let mut r = Reader {
            bytes: &w.0,
            pos: 0,
            file: FileId(0),
            depth: 0,
        };
        for v in [-0.0f64, f64::INFINITY, 1e-300, f64::MIN_POSITIVE] {
            assert_eq!(f64::get(&mut r).map(f64::to_bits), Some(v.to_bits()));
        }
    }

    #[test]
    fn integers_round_trip_at_their_limits() {
        let mut w = Writer(Vec::new());
        let values = [0, 1, -1, 63, -64, 64, i64::MAX, i64::MIN];
        for v in values {
            v.put(&mut w);
        }
        u64::MAX.put(&mut w);
        let mut r = Reader {
            bytes: &w.0,
            pos: 0,
            file: FileId(0),
            depth: 0,
        };
        for v in values {
            assert_eq!(i64::get(&mut r), Some(v));
        }
        assert_eq!(u64::get(&mut r), Some(u64::MAX));
        assert_eq!(r.pos, w.0.len());
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
        let mut r = Reader {
            bytes: &w.0,
            pos: 0,
            file: FileId(0),
            depth: 0,
        };
        assert_eq!(Expr::get(&mut r), None);
    }
}
