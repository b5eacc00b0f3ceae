//! The text formats' writer: a buffered sink and the row layout.
//!
//! - CSV: a header line, then one line per row (RFC 4180 quoting, `\n` line ends).
//! - JSON Lines: one object per row, keys in column order. Integers are JSON integers; floats
//!   always carry a `.` or an exponent (`1.0`, `1e-7`) so readers keep them as floats;
//!   non-finite floats (NaN, ±infinity), which JSON cannot express, are written as `null`.
//!   Addresses are strings. There is no header.

use std::io::{self, BufWriter, Write};
use std::sync::Arc;

use jjc_abi::{Column, Value};

use crate::destination::Sink;
use crate::encode::{RowBytes, RowEncoder, RowLayout};
use crate::text::write_csv_field;

/// Size of the output buffer.
const BUFFER: usize = 256 * 1024;

/// Writes rows of a text format into a buffered sink.
pub(crate) struct TextWriter {
    out: BufWriter<Sink>,
    text: RowBytes,
    /// The row being formatted.
    row: Vec<u8>,
}

impl TextWriter {
    /// Starts a CSV table: writes the header line of column names.
    pub(crate) fn csv(sink: Sink, columns: &Arc<[Column]>) -> io::Result<TextWriter> {
        let mut out = BufWriter::with_capacity(BUFFER, sink);
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            write_csv_field(&mut out, &column.name)?;
        }
        out.write_all(b"\n")?;
        Ok(TextWriter::new(out, columns, RowLayout::Csv))
    }

    /// Starts a JSON Lines table (no header).
    pub(crate) fn json_lines(sink: Sink, columns: &Arc<[Column]>) -> TextWriter {
        let layout = RowLayout::json_lines(columns);
        TextWriter::new(BufWriter::with_capacity(BUFFER, sink), columns, layout)
    }

    fn new(out: BufWriter<Sink>, columns: &Arc<[Column]>, layout: RowLayout) -> TextWriter {
        TextWriter {
            out,
            text: RowBytes::new(columns.clone(), layout),
            row: Vec::new(),
        }
    }

    /// A formatter of this table's rows for other threads.
    pub(crate) fn encoder(&self) -> RowEncoder {
        RowEncoder::new(self.text.clone())
    }

    /// Writes one row (already checked against the columns).
    pub(crate) fn write_row(&mut self, row: &[Value]) -> io::Result<()> {
        self.row.clear();
        // A checked row fits its columns: encoding it cannot fail.
        let _ = self.text.encode(row, &mut self.row);
        self.out.write_all(&self.row)
    }

    /// Writes rows an encoder of this layout formatted.
    pub(crate) fn write_encoded(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    /// Flushes the buffer and hands back the sink.
    pub(crate) fn finish(self) -> io::Result<Sink> {
        self.out
            .into_inner()
            .map_err(io::IntoInnerError::into_error)
    }
}
