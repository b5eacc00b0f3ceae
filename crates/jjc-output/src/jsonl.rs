//! JSON Lines: one object per row, keys in column order.

use std::io::{self, BufWriter, Write};

use jjc_abi::{Column, Value};

use crate::destination::Sink;
use crate::text::{float_text, write_json_string};

/// Size of the output buffer.
const BUFFER: usize = 256 * 1024;

/// Writes rows as JSON objects, one per line.
///
/// Integers are JSON integers; floats always carry a `.` or an exponent (`1.0`, `1e-7`) so
/// readers keep them as floats; non-finite floats (NaN, ±infinity), which JSON cannot
/// express, are written as `null`. Addresses are strings.
pub(crate) struct JsonLinesWriter {
    out: BufWriter<Sink>,
    /// Per column, the bytes before its value: `{"name":` for the first, `,"name":` after.
    key_prefixes: Vec<Box<[u8]>>,
    floats: ryu::Buffer,
    ints: itoa::Buffer,
}

impl JsonLinesWriter {
    /// Prepares the escaped keys; JSON Lines has no header.
    pub(crate) fn new(sink: Sink, columns: &[Column]) -> io::Result<JsonLinesWriter> {
        let mut key_prefixes = Vec::with_capacity(columns.len());
        for (i, column) in columns.iter().enumerate() {
            let mut prefix = Vec::with_capacity(column.name.len() + 4);
            prefix.push(if i == 0 { b'{' } else { b',' });
            write_json_string(&mut prefix, &column.name)?;
            prefix.push(b':');
            key_prefixes.push(prefix.into_boxed_slice());
        }
        Ok(JsonLinesWriter {
            out: BufWriter::with_capacity(BUFFER, sink),
            key_prefixes,
            floats: ryu::Buffer::new(),
            ints: itoa::Buffer::new(),
        })
    }

    /// Writes one row (already checked against the columns).
    pub(crate) fn write_row(&mut self, row: &[Value]) -> io::Result<()> {
        if row.is_empty() {
            return self.out.write_all(b"{}\n");
        }
        for (prefix, value) in self.key_prefixes.iter().zip(row) {
            self.out.write_all(prefix)?;
            match value {
                Value::Bool(b) => self.out.write_all(if *b { b"true" } else { b"false" })?,
                Value::Int(n) => self.out.write_all(self.ints.format(*n).as_bytes())?,
                Value::Float(x) if x.is_finite() => self
                    .out
                    .write_all(float_text(*x, &mut self.floats).as_bytes())?,
                Value::Float(_) => self.out.write_all(b"null")?,
                Value::Str(s) => write_json_string(&mut self.out, s)?,
                Value::Ip(ip) => write!(self.out, "\"{ip}\"")?,
            }
        }
        self.out.write_all(b"}\n")
    }

    /// Flushes the buffer and hands back the sink.
    pub(crate) fn finish(self) -> io::Result<Sink> {
        self.out
            .into_inner()
            .map_err(io::IntoInnerError::into_error)
    }
}
