//! One packet record of a capture.

/// One packet as the capture stores it: its time, link type and captured bytes.
///
/// Borrows the reader's mapped file or buffer; valid until the next
/// [`crate::CaptureReader::next_record`] call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Record<'a> {
    /// Capture time in seconds since the epoch, computed as DESIGN §2 "Time" fixes it.
    pub ts: f64,
    /// Link type (LINKTYPE_* value) of the record's interface, raw.
    pub link_type: u32,
    /// Index of the record's interface in [`crate::CaptureReader::interfaces`].
    pub interface: u32,
    /// The captured bytes, starting at the link-layer header.
    pub data: &'a [u8],
    /// Length of the frame on the wire, as the record says (may be less than `data.len()`
    /// with some writers).
    pub orig_len: u32,
    /// Byte offset of the record (pcap record header or pcapng block) in the file.
    pub offset: u64,
}
