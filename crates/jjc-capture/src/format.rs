//! Capture formats and how to recognise them by their magic number.

use std::fmt;

use crate::byte_order::ByteOrder;

/// The on-disk format of a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaptureFormat {
    /// Classic libpcap format.
    Pcap {
        /// Fractions of a second are nanoseconds (magic `a1b23c4d`) instead of microseconds.
        nanos: bool,
        /// The file is big-endian (its magic number reads swapped in little-endian).
        big_endian: bool,
    },
    /// pcapng; each section has its own byte order.
    PcapNg,
}

impl CaptureFormat {
    /// Byte order of a classic pcap file (`Little` for pcapng, whose sections decide).
    pub(crate) fn pcap_byte_order(self) -> ByteOrder {
        match self {
            CaptureFormat::Pcap {
                big_endian: true, ..
            } => ByteOrder::Big,
            _ => ByteOrder::Little,
        }
    }
}

impl fmt::Display for CaptureFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureFormat::Pcap { nanos, big_endian } => write!(
                f,
                "pcap ({}, {}-endian)",
                if *nanos { "ns" } else { "µs" },
                if *big_endian { "big" } else { "little" }
            ),
            CaptureFormat::PcapNg => f.write_str("pcapng"),
        }
    }
}

/// The pcapng Section Header Block type, the same bytes in both byte orders.
pub(crate) const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// The capture format the first bytes of a file announce, by magic number only; `None` if
/// they are not a pcap or pcapng magic number (or fewer than 4 bytes).
pub fn sniff_format(first_bytes: &[u8]) -> Option<CaptureFormat> {
    let magic: [u8; 4] = first_bytes.get(..4)?.try_into().ok()?;
    let pcap = |nanos, big_endian| Some(CaptureFormat::Pcap { nanos, big_endian });
    match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => pcap(false, false),
        [0xa1, 0xb2, 0xc3, 0xd4] => pcap(false, true),
        [0x4d, 0x3c, 0xb2, 0xa1] => pcap(true, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => pcap(true, true),
        PCAPNG_MAGIC => Some(CaptureFormat::PcapNg),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{CaptureFormat, sniff_format};

    #[test]
    fn sniffs_every_magic() {
        let cases: [(&[u8], Option<CaptureFormat>); 7] = [
            (
                &[0xd4, 0xc3, 0xb2, 0xa1, 2, 0],
                Some(CaptureFormat::Pcap {
                    nanos: false,
                    big_endian: false,
                }),
            ),
            (
                &[0xa1, 0xb2, 0xc3, 0xd4],
                Some(CaptureFormat::Pcap {
                    nanos: false,
                    big_endian: true,
                }),
            ),
            (
                &[0x4d, 0x3c, 0xb2, 0xa1],
                Some(CaptureFormat::Pcap {
                    nanos: true,
                    big_endian: false,
                }),
            ),
            (
                &[0xa1, 0xb2, 0x3c, 0x4d],
                Some(CaptureFormat::Pcap {
                    nanos: true,
                    big_endian: true,
                }),
            ),
            (&[0x0a, 0x0d, 0x0d, 0x0a], Some(CaptureFormat::PcapNg)),
            (b"<!DOCTYPE", None),
            (&[0xd4, 0xc3, 0xb2], None),
        ];
        for (bytes, want) in cases {
            assert_eq!(sniff_format(bytes), want, "{bytes:02x?}");
        }
    }

    #[test]
    fn display_says_unit_and_order() {
        let f = CaptureFormat::Pcap {
            nanos: false,
            big_endian: false,
        };
        assert_eq!(f.to_string(), "pcap (µs, little-endian)");
        let f = CaptureFormat::Pcap {
            nanos: true,
            big_endian: true,
        };
        assert_eq!(f.to_string(), "pcap (ns, big-endian)");
        assert_eq!(CaptureFormat::PcapNg.to_string(), "pcapng");
    }
}
