//! Reading capture files: classic pcap and pcapng records with their times, link types and
//! damage reports.
//!
//! [`CaptureReader`] reads a capture from a memory-mapped file (zero-copy) or from any stream
//! (one bounded, reused buffer) and hands out [`Record`]s one at a time, each borrowing the
//! reader until the next call. Times are computed exactly as DESIGN §2 "Time" fixes them, so
//! they match the reference tables bit for bit. A capture that ends inside a record, or whose
//! next record header is impossible, stops there: [`CaptureReader::damage`] says where and why.
//!
//! Link types are reported raw; decoding the frames is another crate's job.

#![warn(missing_docs)]

mod byte_order;
mod damage;
mod error;
mod format;
mod interface;
mod limits;
mod list;
mod mapped;
mod mapped_pcap;
mod mapped_pcapng;
mod parser;
mod pcap;
mod pcapng;
mod reader;
mod record;
mod source;
mod stats;

#[cfg(test)]
mod fixtures;

pub use damage::Damage;
pub use error::CaptureError;
pub use format::{CaptureFormat, sniff_format};
pub use interface::Interface;
pub use limits::{MAX_BUFFERED_BLOCK, MAX_CAPTURED_LEN};
pub use list::list_captures;
pub use mapped::{MappedCapture, RecordAt};
pub use reader::CaptureReader;
pub use record::Record;
pub use stats::ReadStats;
