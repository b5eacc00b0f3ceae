//! Test helpers: builders of pcap and pcapng bytes, a stream that yields one byte per read,
//! ways to read every record of a byte fixture through both source kinds, and to read a
//! mapped fixture's records by offset.

use std::io::{self, Cursor, Read, Write};

use crate::mapped::{MappedCapture, RecordAt};
use crate::reader::CaptureReader;

/// A reader returning one byte per `read` call, the worst case for the stream buffer.
pub(crate) struct OneByteAtATime {
    data: Vec<u8>,
    pos: usize,
}

impl OneByteAtATime {
    /// A stream over `data`.
    pub(crate) fn new(data: Vec<u8>) -> OneByteAtATime {
        OneByteAtATime { data, pos: 0 }
    }
}

impl Read for OneByteAtATime {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match (self.data.get(self.pos), buf.first_mut()) {
            (Some(&b), Some(slot)) => {
                *slot = b;
                self.pos += 1;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

/// A record copied out of the reader.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OwnedRecord {
    pub(crate) ts: f64,
    pub(crate) link_type: u32,
    pub(crate) interface: u32,
    pub(crate) data: Vec<u8>,
    pub(crate) orig_len: u32,
    pub(crate) offset: u64,
}

/// Every record the reader delivers, until its end or damage.
pub(crate) fn collect(reader: &mut CaptureReader) -> Vec<OwnedRecord> {
    let mut out = Vec::new();
    while let Some(r) = reader.next_record().unwrap() {
        out.push(OwnedRecord {
            ts: r.ts,
            link_type: r.link_type,
            interface: r.interface,
            data: r.data.to_vec(),
            orig_len: r.orig_len,
            offset: r.offset,
        });
    }
    out
}

/// A record as read by offset or by the reader: time, captured bytes, wire length, link type.
pub(crate) type Bytes = (f64, Vec<u8>, u32, u32);

/// `bytes` written to a temporary file and opened (memory-mapped), with its records by
/// offset if it has them.
pub(crate) fn mapped(
    bytes: &[u8],
) -> (
    tempfile::NamedTempFile,
    CaptureReader,
    Option<MappedCapture>,
) {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(bytes).unwrap();
    file.flush().unwrap();
    let reader = CaptureReader::open(file.path()).unwrap();
    let by_offset = reader.mapped_capture();
    (file, reader, by_offset)
}

/// Every record of `capture` by offset, from its first until the end or an irregular record:
/// the records, their offsets followed by the offset the walk stopped at, and what stopped it.
pub(crate) fn walk_by_offset(capture: &MappedCapture) -> (Vec<Bytes>, Vec<u64>, RecordAt<'_>) {
    let (mut records, mut offsets) = (Vec::new(), Vec::new());
    let mut at = capture.first_record();
    loop {
        offsets.push(at);
        match capture.record_at(at) {
            RecordAt::Record {
                ts,
                data,
                orig_len,
                link_type,
                next,
            } => {
                records.push((ts, data.to_vec(), orig_len, link_type));
                at = next;
            }
            last => return (records, offsets, last),
        }
    }
}

/// Every record the reader reads from where it is, until its end or damage.
pub(crate) fn read_rest(reader: &mut CaptureReader) -> Vec<Bytes> {
    let mut records = Vec::new();
    while let Some(r) = reader.next_record().unwrap() {
        records.push((r.ts, r.data.to_vec(), r.orig_len, r.link_type));
    }
    records
}

/// Reads `bytes` from a memory-mapped temporary file, and again from a one-byte-at-a-time
/// stream; asserts both give the same records, damage and counts, and returns the mapped
/// reader (at its end) with its records.
pub(crate) fn read_both(bytes: &[u8]) -> (CaptureReader, Vec<OwnedRecord>) {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(bytes).unwrap();
    file.flush().unwrap();
    let mut mapped = CaptureReader::open(file.path()).unwrap();
    let records = collect(&mut mapped);
    let mut streamed =
        CaptureReader::from_stream("-", Box::new(OneByteAtATime::new(bytes.to_vec()))).unwrap();
    assert_eq!(
        collect(&mut streamed),
        records,
        "stream and mmap records differ"
    );
    assert_eq!(streamed.damage(), mapped.damage());
    assert_eq!(streamed.stats(), mapped.stats());
    assert_eq!(streamed.interfaces(), mapped.interfaces());
    assert_eq!(streamed.format(), mapped.format());
    (mapped, records)
}

/// A reader over `bytes` from an in-memory stream.
pub(crate) fn stream_reader(bytes: &[u8]) -> CaptureReader {
    CaptureReader::from_stream("fixture", Box::new(Cursor::new(bytes.to_vec()))).unwrap()
}

/// Writes a u16/u32/u64 in a chosen byte order.
fn put(out: &mut Vec<u8>, big: bool, value: u64, width: usize) {
    let le = value.to_le_bytes();
    let mut bytes = le.get(..width).unwrap().to_vec();
    if big {
        bytes.reverse();
    }
    out.extend_from_slice(&bytes);
}

/// Builds a classic pcap file.
pub(crate) struct PcapBuilder {
    bytes: Vec<u8>,
    big: bool,
}

impl PcapBuilder {
    /// A global header: µs or ns magic, byte order, snaplen and network field.
    pub(crate) fn new(nanos: bool, big: bool, snaplen: u32, network: u32) -> PcapBuilder {
        let mut bytes = Vec::new();
        put(
            &mut bytes,
            big,
            if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 },
            4,
        );
        put(&mut bytes, big, 2, 2);
        put(&mut bytes, big, 4, 2);
        put(&mut bytes, big, 0, 4);
        put(&mut bytes, big, 0, 4);
        put(&mut bytes, big, u64::from(snaplen), 4);
        put(&mut bytes, big, u64::from(network), 4);
        PcapBuilder { bytes, big }
    }

    /// A record header with any field values, and no data.
    pub(crate) fn header(mut self, sec: u32, frac: u32, caplen: u32, orig: u32) -> PcapBuilder {
        for v in [sec, frac, caplen, orig] {
            put(&mut self.bytes, self.big, u64::from(v), 4);
        }
        self
    }

    /// A whole record.
    pub(crate) fn record(self, sec: u32, frac: u32, data: &[u8], orig: u32) -> PcapBuilder {
        let mut b = self.header(sec, frac, data.len() as u32, orig);
        b.bytes.extend_from_slice(data);
        b
    }

    /// Raw bytes appended as they are.
    pub(crate) fn raw(mut self, bytes: &[u8]) -> PcapBuilder {
        self.bytes.extend_from_slice(bytes);
        self
    }

    /// The file's bytes.
    pub(crate) fn bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Builds a pcapng file block by block; the byte order is the last SHB's.
pub(crate) struct NgBuilder {
    bytes: Vec<u8>,
    big: bool,
}

/// A pcapng option: code and value.
pub(crate) type Opt<'a> = (u16, &'a [u8]);

impl NgBuilder {
    /// An empty file.
    pub(crate) fn new() -> NgBuilder {
        NgBuilder {
            bytes: Vec::new(),
            big: false,
        }
    }

    /// Encoded options, ending with opt_endofopt; nothing if there are none.
    pub(crate) fn options(&self, opts: &[Opt<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        if opts.is_empty() {
            return out;
        }
        for (code, value) in opts {
            put(&mut out, self.big, u64::from(*code), 2);
            put(&mut out, self.big, value.len() as u64, 2);
            out.extend_from_slice(value);
            out.resize(out.len().next_multiple_of(4), 0);
        }
        out.extend_from_slice(&[0; 4]);
        out
    }

    /// A u16/u32/u64 value in the current byte order.
    pub(crate) fn num(&self, value: u64, width: usize) -> Vec<u8> {
        let mut out = Vec::new();
        put(&mut out, self.big, value, width);
        out
    }

    /// A block of any type: the body is padded to 4 bytes and framed by the total length.
    pub(crate) fn block(self, block_type: u32, body: &[u8]) -> NgBuilder {
        let mut body = body.to_vec();
        body.resize(body.len().next_multiple_of(4), 0);
        let total = body.len() as u32 + 12;
        self.framed(block_type, total, &body, total)
    }

    /// A block with explicit leading and trailing total lengths.
    pub(crate) fn framed(
        mut self,
        block_type: u32,
        total: u32,
        body: &[u8],
        trailer: u32,
    ) -> NgBuilder {
        let big = self.big;
        put(&mut self.bytes, big, u64::from(block_type), 4);
        put(&mut self.bytes, big, u64::from(total), 4);
        self.bytes.extend_from_slice(body);
        put(&mut self.bytes, big, u64::from(trailer), 4);
        self
    }

    /// A Section Header Block in the given byte order, starting a section.
    pub(crate) fn shb(mut self, big: bool) -> NgBuilder {
        self.big = big;
        let mut body = self.num(0x1a2b_3c4d, 4);
        body.extend(self.num(1, 2));
        body.extend(self.num(0, 2));
        body.extend(self.num(u64::MAX, 8));
        self.block(0x0a0d_0d0a, &body)
    }

    /// An Interface Description Block.
    pub(crate) fn idb(self, link_type: u16, snaplen: u32, opts: &[Opt<'_>]) -> NgBuilder {
        let mut body = self.num(u64::from(link_type), 2);
        body.extend(self.num(0, 2));
        body.extend(self.num(u64::from(snaplen), 4));
        body.extend(self.options(opts));
        self.block(1, &body)
    }

    /// An Enhanced Packet Block.
    pub(crate) fn epb(self, interface: u32, ts: u64, data: &[u8], orig: u32) -> NgBuilder {
        let mut body = self.num(u64::from(interface), 4);
        body.extend(self.num(ts >> 32, 4));
        body.extend(self.num(ts & 0xffff_ffff, 4));
        body.extend(self.num(data.len() as u64, 4));
        body.extend(self.num(u64::from(orig), 4));
        body.extend_from_slice(data);
        body.resize(body.len().next_multiple_of(4), 0);
        body.extend(self.options(&[(1, b"comment")]));
        self.block(6, &body)
    }

    /// A Simple Packet Block.
    pub(crate) fn spb(self, orig: u32, data: &[u8]) -> NgBuilder {
        let mut body = self.num(u64::from(orig), 4);
        body.extend_from_slice(data);
        self.block(3, &body)
    }

    /// An obsolete Packet Block.
    pub(crate) fn pb(self, interface: u16, ts: u64, data: &[u8]) -> NgBuilder {
        let mut body = self.num(u64::from(interface), 2);
        body.extend(self.num(0, 2));
        body.extend(self.num(ts >> 32, 4));
        body.extend(self.num(ts & 0xffff_ffff, 4));
        body.extend(self.num(data.len() as u64, 4));
        body.extend(self.num(data.len() as u64, 4));
        body.extend_from_slice(data);
        self.block(2, &body)
    }

    /// Raw bytes appended as they are.
    pub(crate) fn raw(mut self, bytes: &[u8]) -> NgBuilder {
        self.bytes.extend_from_slice(bytes);
        self
    }

    /// The file's bytes.
    pub(crate) fn bytes(self) -> Vec<u8> {
        self.bytes
    }
}
