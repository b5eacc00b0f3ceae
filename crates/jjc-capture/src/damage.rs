//! Where and why reading a damaged capture stopped.

use std::fmt;

/// A capture that ends inside a record, or whose next record header is impossible: reading
/// stopped at `offset`, and every record before it was delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Byte offset in the file of the record (pcap) or block (pcapng) that is damaged.
    pub offset: u64,
    /// What is wrong with it, e.g. "captured length 4194304 exceeds 262144 bytes".
    pub reason: String,
}

impl Damage {
    /// Damage at `offset` for `reason`.
    pub(crate) fn new(offset: u64, reason: String) -> Damage {
        Damage { offset, reason }
    }
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "damaged record at byte {}: {}; stopped reading there",
            self.offset, self.reason
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Damage;

    #[test]
    fn display_names_offset_and_reason() {
        let d = Damage::new(
            5654,
            "captured length 4194304 exceeds 262144 bytes".to_string(),
        );
        assert_eq!(
            d.to_string(),
            "damaged record at byte 5654: captured length 4194304 exceeds 262144 bytes; \
             stopped reading there"
        );
    }
}
