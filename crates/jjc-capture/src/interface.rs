//! Capture interfaces: where records were captured, with their link type and clock.

/// One capture interface: the classic pcap file's single one, or a pcapng Interface
/// Description Block.
#[derive(Debug, Clone, PartialEq)]
pub struct Interface {
    /// Index of the pcapng section the interface belongs to (0 for classic pcap).
    pub section: u32,
    /// The interface id records of its section use to name it.
    pub index_in_section: u32,
    /// Link type (LINKTYPE_* value), raw.
    pub link_type: u32,
    /// Largest number of bytes captured per packet; 0 means no limit.
    pub snaplen: u32,
    /// Timestamp units per second: 1e6 for µs, 1e9 for ns (pcapng `if_tsresol`).
    pub units_per_second: f64,
    /// Seconds added to every timestamp (pcapng `if_tsoffset`; 0 for classic pcap).
    pub ts_offset: i64,
    /// The interface's name (pcapng `if_name`), if the capture gives one.
    pub name: Option<String>,
}

/// Default timestamp resolution of pcapng interfaces and classic µs pcap: 10^-6 s.
pub(crate) const MICROS_PER_SECOND: f64 = 1e6;

/// Timestamp resolution of classic ns pcap: 10^-9 s.
pub(crate) const NANOS_PER_SECOND: f64 = 1e9;

/// Exact powers of ten up to the largest one an f64 holds exactly.
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Units per second an `if_tsresol` option value means: 10^v if its high bit is clear,
/// else 2^(v & 0x7f).
pub(crate) fn units_per_second(tsresol: u8) -> f64 {
    let exponent = tsresol & 0x7f;
    if tsresol & 0x80 == 0 {
        POWERS_OF_TEN
            .get(usize::from(exponent))
            .copied()
            .unwrap_or_else(|| 10f64.powi(i32::from(exponent)))
    } else {
        2f64.powi(i32::from(exponent))
    }
}

#[cfg(test)]
mod tests {
    use super::units_per_second;

    #[test]
    fn tsresol_decodes_powers_of_ten_and_two() {
        assert_eq!(units_per_second(6), 1e6);
        assert_eq!(units_per_second(9), 1e9);
        assert_eq!(units_per_second(0), 1.0);
        assert_eq!(units_per_second(0x80 | 10), 1024.0);
        assert_eq!(units_per_second(0x80 | 20), 1_048_576.0);
        assert_eq!(units_per_second(30), 1e30);
    }
}
