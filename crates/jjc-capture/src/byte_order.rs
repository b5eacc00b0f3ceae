//! Reading fixed-width integers from byte slices in a capture's byte order, without panics.

/// The byte order of a pcap file or of a pcapng section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ByteOrder {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

impl ByteOrder {
    /// The `N` bytes at `at`, or `None` if the slice is too short.
    fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
        bytes.get(at..at.checked_add(N)?)?.try_into().ok()
    }

    /// The u16 at byte `at`, or `None` if the slice is too short.
    pub(crate) fn u16_at(self, bytes: &[u8], at: usize) -> Option<u16> {
        let b = Self::array::<2>(bytes, at)?;
        Some(match self {
            ByteOrder::Little => u16::from_le_bytes(b),
            ByteOrder::Big => u16::from_be_bytes(b),
        })
    }

    /// The u32 at byte `at`, or `None` if the slice is too short.
    pub(crate) fn u32_at(self, bytes: &[u8], at: usize) -> Option<u32> {
        let b = Self::array::<4>(bytes, at)?;
        Some(match self {
            ByteOrder::Little => u32::from_le_bytes(b),
            ByteOrder::Big => u32::from_be_bytes(b),
        })
    }

    /// The i64 at byte `at`, or `None` if the slice is too short.
    pub(crate) fn i64_at(self, bytes: &[u8], at: usize) -> Option<i64> {
        let b = Self::array::<8>(bytes, at)?;
        Some(match self {
            ByteOrder::Little => i64::from_le_bytes(b),
            ByteOrder::Big => i64::from_be_bytes(b),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::ByteOrder;

    #[test]
    fn reads_both_orders() {
        let b = [1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(ByteOrder::Little.u16_at(&b, 1), Some(0x0302));
        assert_eq!(ByteOrder::Big.u16_at(&b, 1), Some(0x0203));
        assert_eq!(ByteOrder::Little.u32_at(&b, 0), Some(0x0403_0201));
        assert_eq!(ByteOrder::Big.u32_at(&b, 4), Some(0x0506_0708));
        assert_eq!(ByteOrder::Big.i64_at(&b, 0), Some(0x0102_0304_0506_0708));
        assert_eq!(ByteOrder::Little.i64_at(&b, 0), Some(0x0807_0605_0403_0201));
    }

    #[test]
    fn short_slices_are_none() {
        let b = [1, 2, 3];
        assert_eq!(ByteOrder::Little.u32_at(&b, 0), None);
        assert_eq!(ByteOrder::Big.u16_at(&b, 2), None);
        assert_eq!(ByteOrder::Big.u16_at(&b, usize::MAX), None);
        assert_eq!(ByteOrder::Little.i64_at(&b, 0), None);
    }
}
