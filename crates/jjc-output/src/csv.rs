//! CSV: a header line, then one line per row (RFC 4180 quoting, `\n` line ends).

use std::io::{self, BufWriter, Write};

use jjc_abi::{Column, Value};

use crate::destination::Sink;
use crate::text::{float_text, write_csv_field};

/// Size of the output buffer.
const BUFFER: usize = 256 * 1024;

/// Writes rows as CSV lines into a buffered sink, formatting numbers in reusable buffers.
pub(crate) struct CsvWriter {
    out: BufWriter<Sink>,
    floats: ryu::Buffer,
    ints: itoa::Buffer,
}

impl CsvWriter {
    /// Starts the table: writes the header line of column names.
    pub(crate) fn new(sink: Sink, columns: &[Column]) -> io::Result<CsvWriter> {
        let mut out = BufWriter::with_capacity(BUFFER, sink);
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            write_csv_field(&mut out, &column.name)?;
        }
        out.write_all(b"\n")?;
        Ok(CsvWriter {
            out,
            floats: ryu::Buffer::new(),
            ints: itoa::Buffer::new(),
        })
    }

    /// Writes one row (already checked against the columns).
    pub(crate) fn write_row(&mut self, row: &[Value]) -> io::Result<()> {
        for (i, value) in row.iter().enumerate() {
            if i > 0 {
                self.out.write_all(b",")?;
            }
            match value {
                Value::Bool(b) => self.out.write_all(if *b { b"true" } else { b"false" })?,
                Value::Int(n) => self.out.write_all(self.ints.format(*n).as_bytes())?,
                Value::Float(x) => self
                    .out
                    .write_all(float_text(*x, &mut self.floats).as_bytes())?,
                Value::Str(s) => write_csv_field(&mut self.out, s)?,
                Value::Ip(ip) => write!(self.out, "{ip}")?,
            }
        }
        self.out.write_all(b"\n")
    }

    /// Flushes the buffer and hands back the sink.
    pub(crate) fn finish(self) -> io::Result<Sink> {
        self.out
            .into_inner()
            .map_err(io::IntoInnerError::into_error)
    }
}
