//! A bounds-checked reader over handshake bytes that remembers when a declared length ran
//! past the bytes available.

/// Reads big-endian integers and length-prefixed vectors from a byte slice. A read past the
/// end yields `None` and sets [`Reader::truncated`]; a vector whose declared length runs past
/// the end is cut to the bytes present and also sets it. Nothing here can panic.
pub(crate) struct Reader<'a> {
    /// The bytes not read yet.
    rest: &'a [u8],
    /// Whether some read wanted more bytes than were present.
    truncated: bool,
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader {
            rest: bytes,
            truncated: false,
        }
    }

    /// Whether some read wanted more bytes than were present.
    pub(crate) fn truncated(&self) -> bool {
        self.truncated
    }

    /// Whether every byte has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next `n` bytes, or `None` (and truncated) when fewer remain; then nothing is read.
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        match self.rest.split_at_checked(n) {
            Some((head, tail)) => {
                self.rest = tail;
                Some(head)
            }
            None => {
                self.truncated = true;
                None
            }
        }
    }

    /// Skips `n` bytes (all that remain if fewer, then truncated).
    pub(crate) fn skip(&mut self, n: usize) {
        if self.take(n).is_none() {
            self.rest = &[];
        }
    }

    /// One byte.
    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1).and_then(|b| b.first().copied())
    }

    /// A big-endian 16-bit integer.
    pub(crate) fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }

    /// A big-endian 24-bit integer.
    pub(crate) fn u24(&mut self) -> Option<u32> {
        let b = self.take(3)?;
        Some(u32::from_be_bytes([0, *b.first()?, *b.get(1)?, *b.get(2)?]))
    }

    /// `len` bytes, or all that remain when fewer (then truncated).
    fn body(&mut self, len: usize) -> &'a [u8] {
        match self.take(len) {
            Some(b) => b,
            None => std::mem::take(&mut self.rest),
        }
    }

    /// A vector with a one-byte length prefix; `None` when the prefix itself is missing.
    pub(crate) fn vec8(&mut self) -> Option<&'a [u8]> {
        let len = self.u8()?;
        Some(self.body(usize::from(len)))
    }

    /// A vector with a two-byte length prefix; `None` when the prefix itself is missing.
    pub(crate) fn vec16(&mut self) -> Option<&'a [u8]> {
        let len = self.u16()?;
        Some(self.body(usize::from(len)))
    }

    /// A vector with a three-byte length prefix; `None` when the prefix itself is missing.
    pub(crate) fn vec24(&mut self) -> Option<&'a [u8]> {
        let len = self.u24()?;
        Some(self.body(usize::try_from(len).unwrap_or(usize::MAX)))
    }
}

#[cfg(test)]
mod tests {
    use super::Reader;

    #[test]
    fn reads_integers_big_endian() {
        let mut r = Reader::new(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(r.u8(), Some(1));
        assert_eq!(r.u16(), Some(0x0203));
        assert_eq!(r.u24(), Some(0x04_0506));
        assert!(r.is_empty());
        assert!(!r.truncated());
    }

    #[test]
    fn a_short_read_is_none_and_flags_truncation() {
        let mut r = Reader::new(&[1]);
        assert_eq!(r.u16(), None);
        assert!(r.truncated());
        assert_eq!(r.u8(), Some(1), "a failed read consumes nothing");
    }

    #[test]
    fn vectors_are_cut_to_the_bytes_present() {
        let mut r = Reader::new(&[2, 9, 9, 0, 5, 7]);
        assert_eq!(r.vec8(), Some(&[9, 9][..]));
        assert!(!r.truncated());
        assert_eq!(r.vec16(), Some(&[7][..]));
        assert!(r.truncated());
        assert_eq!(r.vec24(), None);
    }

    #[test]
    fn skip_past_the_end_empties_the_reader() {
        let mut r = Reader::new(&[1, 2, 3]);
        r.skip(2);
        assert!(!r.truncated());
        r.skip(5);
        assert!(r.is_empty());
        assert!(r.truncated());
    }
}
