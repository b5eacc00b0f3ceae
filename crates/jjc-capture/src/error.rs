//! Errors of opening and reading a capture.

use std::io;
use std::path::PathBuf;

/// Why a capture could not be opened or read.
///
/// Damage inside a capture is not an error: see [`crate::Damage`].
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The input is not a pcap or pcapng file (unknown magic number, or shorter than a header).
    #[error("{}: not a pcap or pcapng file: {found}", path.display())]
    NotACapture {
        /// The file (or stream name) that was read.
        path: PathBuf,
        /// What was found instead, e.g. "first bytes 3c 21 44 4f".
        found: String,
    },
    /// Opening, mapping or reading the input failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file (or stream name) that was read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl CaptureError {
    /// An I/O error while reading `name`.
    pub(crate) fn io(name: &str, source: io::Error) -> CaptureError {
        CaptureError::Io {
            path: PathBuf::from(name),
            source,
        }
    }
}
