//! The compact binary form jjc's codecs share ([`Encode`], [`Decode`]): [`crate::ast_codec`] for syntax trees, and
//! `jjc_kernel::kernel_codec` for lowered kernels.
//!
//! Integers are LEB128 varints (signed ones zigzagged), floats their 8 bits, strings and
//! lists their length then their contents. Reading checks everything it reads: malformed
//! bytes give `None`, never a panic, and no length is trusted beyond the bytes that remain.
//! A form is private to one build of jjc; nothing here says which build wrote it.

/// Bytes being written.
#[derive(Debug, Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    /// An unsigned integer, as a varint.
    pub fn u64(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    /// One byte: a variant's tag.
    pub fn tag(&mut self, t: u8) {
        self.0.push(t);
    }

    /// A length.
    pub fn length(&mut self, n: usize) {
        self.u64(n as u64);
    }

    /// Bytes, their length first.
    pub fn bytes(&mut self, b: &[u8]) {
        self.length(b.len());
        self.0.extend_from_slice(b);
    }
}

/// Bytes being read, front to back, with what the reading codec needs besides them
/// (`context`: the syntax trees' file and depth, nothing for kernels).
#[derive(Debug)]
pub struct Reader<'a, C = ()> {
    bytes: &'a [u8],
    pos: usize,
    /// The codec's own state.
    pub context: C,
}

impl<'a, C> Reader<'a, C> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8], context: C) -> Self {
        Reader {
            bytes,
            pos: 0,
            context,
        }
    }

    /// Whether every byte has been read.
    pub fn is_at_end(&self) -> bool {
        self.pos == self.bytes.len()
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let b = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(b)
    }

    /// One byte: a variant's tag.
    pub fn tag(&mut self) -> Option<u8> {
        Some(*self.take(1)?.first()?)
    }

    /// An unsigned integer.
    pub fn u64(&mut self) -> Option<u64> {
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

    /// An unsigned integer that fits 32 bits.
    pub fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.u64()?).ok()
    }

    /// A length, which cannot exceed the bytes left (every element takes at least one).
    pub fn length(&mut self) -> Option<usize> {
        let n = usize::try_from(self.u64()?).ok()?;
        (n <= self.bytes.len() - self.pos).then_some(n)
    }

    /// Bytes written with their length first.
    pub fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.length()?;
        self.take(n)
    }
}

/// A value with a binary form: writing it.
pub trait Encode {
    /// Writes the value.
    fn put(&self, w: &mut Writer);
}

/// A value with a binary form: reading it, with a codec's context `C`.
pub trait Decode<C = ()>: Sized {
    /// Reads a value [`Encode::put`] wrote; `None` if the bytes are not one.
    fn get(r: &mut Reader<'_, C>) -> Option<Self>;
}

impl Encode for u64 {
    fn put(&self, w: &mut Writer) {
        w.u64(*self);
    }
}

impl<C> Decode<C> for u64 {
    fn get(r: &mut Reader<'_, C>) -> Option<Self> {
        r.u64()
    }
}

impl Encode for u32 {
    fn put(&self, w: &mut Writer) {
        w.u64(u64::from(*self));
    }
}

impl<C> Decode<C> for u32 {
    fn get(r: &mut Reader<'_, C>) -> Option<Self> {
        r.u32()
    }
}

impl Encode for usize {
    fn put(&self, w: &mut Writer) {
        w.length(*self);
    }
}

impl<C> Decode<C> for usize {
    fn get(r: &mut Reader<'_, C>) -> Option<Self> {
        usize::try_from(r.u64()?).ok()
    }
}

impl Encode for i64 {
    fn put(&self, w: &mut Writer) {
        w.u64(((self << 1) ^ (self >> 63)) as u64);
    }
}

impl<C> Decode<C> for i64 {
    fn get(r: &mut Reader<'_, C>) -> Option<Self> {
        let v = r.u64()?;
        Some(((v >> 1) as i64) ^ -((v & 1) as i64))
    }
}

impl Encode for f64 {
    fn put(&self, w: &mut Writer) {
        w.0.extend_from_slice(&self.to_bits().to_le_bytes());
    }
}

impl<C> Decode<C> for f64 {
    fn get(r: &mut Reader<'_, C>) -> Option<Self> {
        let b: [u8; 8] = r.take(8)?.try_into().ok()?;
        Some(f64::from_bits(u64::from_le_bytes(b)))
    }
}

impl Encode for bool {
    fn put(&self, w: &mut Writer) {
        w.tag(u8::from(*self));
    }
}

impl<C> Decode<C> for bool {
    fn get(r: &mut Reader<'_, C>) -> Option<Self> {
        match r.tag()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
}

impl Encode for String {
    fn put(&self, w: &mut Writer) {
        w.bytes(self.as_bytes());
    }
}

impl<C> Decode<C> for String {
    fn get(r: &mut Reader<'_, C>) -> Option<Self> {
        std::str::from_utf8(r.bytes()?).ok().map(str::to_string)
    }
}

impl<T: Encode> Encode for Vec<T> {
    fn put(&self, w: &mut Writer) {
        w.length(self.len());
        for x in self {
            x.put(w);
        }
    }
}

impl<C, T: Decode<C>> Decode<C> for Vec<T> {
    fn get(r: &mut Reader<'_, C>) -> Option<Self> {
        let n = r.length()?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(T::get(r)?);
        }
        Some(v)
    }
}

impl<T: Encode> Encode for Option<T> {
    fn put(&self, w: &mut Writer) {
        match self {
            None => w.tag(0),
            Some(x) => {
                w.tag(1);
                x.put(w);
            }
        }
    }
}

impl<C, T: Decode<C>> Decode<C> for Option<T> {
    fn get(r: &mut Reader<'_, C>) -> Option<Self> {
        match r.tag()? {
            0 => Some(None),
            1 => Some(Some(T::get(r)?)),
            _ => None,
        }
    }
}

impl<T: Encode> Encode for Box<T> {
    fn put(&self, w: &mut Writer) {
        (**self).put(w);
    }
}

impl<C, T: Decode<C>> Decode<C> for Box<T> {
    fn get(r: &mut Reader<'_, C>) -> Option<Self> {
        T::get(r).map(Box::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_keep_their_bits() {
        let mut w = Writer::default();
        for v in [-0.0, f64::INFINITY, 1e-300, f64::MIN_POSITIVE] {
            v.put(&mut w);
        }
        let mut r = Reader::new(&w.0, ());
        for v in [-0.0f64, f64::INFINITY, 1e-300, f64::MIN_POSITIVE] {
            assert_eq!(f64::get(&mut r).map(f64::to_bits), Some(v.to_bits()));
        }
        assert!(r.is_at_end());
    }

    #[test]
    fn integers_round_trip_at_their_limits() {
        let mut w = Writer::default();
        let values = [0, 1, -1, 63, -64, 64, i64::MAX, i64::MIN];
        for v in values {
            v.put(&mut w);
        }
        u64::MAX.put(&mut w);
        let mut r = Reader::new(&w.0, ());
        for v in values {
            assert_eq!(i64::get(&mut r), Some(v));
        }
        assert_eq!(u64::get(&mut r), Some(u64::MAX));
        assert!(r.is_at_end());
    }

    #[test]
    fn a_length_beyond_the_bytes_left_is_refused() {
        let mut w = Writer::default();
        w.length(5);
        w.0.extend_from_slice(b"abcd");
        assert_eq!(Reader::new(&w.0, ()).bytes(), None);
        assert_eq!(<Vec<u64>>::get(&mut Reader::new(&[0xff; 12], ())), None);
    }
}
