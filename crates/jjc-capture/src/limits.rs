//! Fixed bounds on what a capture may claim, so no length field can make the reader allocate
//! or buffer without limit.

/// The largest captured length a record may have (256 KiB); a larger one is damage.
pub const MAX_CAPTURED_LEN: u32 = 262_144;

/// The largest pcapng block the reader buffers whole (section and interface headers, packet
/// blocks): 256 KiB of packet data plus 64 KiB of headers and options. A larger block of those
/// kinds is damage; blocks of other kinds are skipped by consuming bytes, whatever their size.
pub const MAX_BUFFERED_BLOCK: u32 = MAX_CAPTURED_LEN + 65_536;
