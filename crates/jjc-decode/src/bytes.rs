//! Bounds-checked reads of big- and little-endian integers from captured bytes.

/// The byte at `at`, if captured.
#[inline]
pub(crate) fn u8_at(b: &[u8], at: usize) -> Option<u8> {
    b.get(at).copied()
}

/// The big-endian `u16` at `at`, if its two bytes were captured.
#[inline]
pub(crate) fn be16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..)?
        .first_chunk::<2>()
        .map(|c| u16::from_be_bytes(*c))
}

/// The big-endian `u32` at `at`, if its four bytes were captured.
#[inline]
pub(crate) fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..)?
        .first_chunk::<4>()
        .map(|c| u32::from_be_bytes(*c))
}

/// The little-endian `u16` at `at`, if its two bytes were captured.
#[inline]
pub(crate) fn le16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..)?
        .first_chunk::<2>()
        .map(|c| u16::from_le_bytes(*c))
}

/// The little-endian `u32` at `at`, if its four bytes were captured.
#[inline]
pub(crate) fn le32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..)?
        .first_chunk::<4>()
        .map(|c| u32::from_le_bytes(*c))
}

/// A length as `u32`, saturating (captured lengths never come near 4 GiB).
#[inline]
pub(crate) fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_in_both_orders_and_refuses_short_input() {
        let b = [0x12, 0x34, 0x56, 0x78, 0x9a];
        assert_eq!(u8_at(&b, 4), Some(0x9a));
        assert_eq!(u8_at(&b, 5), None);
        assert_eq!(be16(&b, 0), Some(0x1234));
        assert_eq!(le16(&b, 0), Some(0x3412));
        assert_eq!(be32(&b, 1), Some(0x3456_789a));
        assert_eq!(le32(&b, 0), Some(0x7856_3412));
        assert_eq!(be16(&b, 4), None);
        assert_eq!(be32(&b, 2), None);
        assert_eq!(le32(&b, usize::MAX), None);
        assert_eq!(len_u32(7), 7);
    }
}
