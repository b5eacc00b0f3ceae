//! Row text for the text formats, separate from writing it: a [`RowEncoder`] formats rows into
//! bytes on any thread, and [`crate::TableWriter::write_encoded`] appends those bytes as they
//! are. Both [`crate::TableWriter::write_row`] and the encoder format with the functions here,
//! so a table is byte-for-byte the same whichever thread formatted its rows.

use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;

use jjc_abi::{CellSink, Column, ColumnType, Value};

use crate::OutputError;
use crate::text::{NumberBuffers, write_csv_field, write_json_string};

/// How rows of one text format are laid out.
#[derive(Debug, Clone)]
pub(crate) enum TextLayout {
    /// CSV lines.
    Csv,
    /// JSON objects, one per line; per column, the bytes before its value (`{"name":` for the
    /// first, `,"name":` after).
    JsonLines(Arc<[Box<[u8]>]>),
}

impl TextLayout {
    /// The JSON Lines layout of these columns: their escaped keys.
    pub(crate) fn json_lines(columns: &[Column]) -> TextLayout {
        let mut key_prefixes = Vec::with_capacity(columns.len());
        for (i, column) in columns.iter().enumerate() {
            let mut prefix = Vec::with_capacity(column.name.len() + 4);
            prefix.push(if i == 0 { b'{' } else { b',' });
            // Writing into a Vec cannot fail.
            let _ = write_json_string(&mut prefix, &column.name);
            prefix.push(b':');
            key_prefixes.push(prefix.into_boxed_slice());
        }
        TextLayout::JsonLines(key_prefixes.into())
    }
}

/// Formats rows, cell by cell, into bytes: the one place text rows are made.
#[derive(Clone)]
pub(crate) struct RowText {
    columns: Arc<[Column]>,
    layout: TextLayout,
    numbers: NumberBuffers,
}

impl std::fmt::Debug for RowText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowText")
            .field("columns", &self.columns.len())
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

impl RowText {
    pub(crate) fn new(columns: Arc<[Column]>, layout: TextLayout) -> RowText {
        RowText {
            columns,
            layout,
            numbers: NumberBuffers::default(),
        }
    }

    /// Appends the text of the row `fill` gives, line end included. A row that does not fit
    /// the columns is an error, and nothing of it is appended.
    pub(crate) fn encode_with(
        &mut self,
        out: &mut Vec<u8>,
        fill: impl FnOnce(&mut CellWriter<'_>),
    ) -> Result<(), OutputError> {
        let start = out.len();
        let mut cells = CellWriter {
            columns: &self.columns,
            layout: &self.layout,
            numbers: &mut self.numbers,
            out,
            count: 0,
            mismatch: None,
        };
        fill(&mut cells);
        let result = cells.finish();
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// [`RowText::encode_with`] of a row of values.
    pub(crate) fn encode(&mut self, row: &[Value], out: &mut Vec<u8>) -> Result<(), OutputError> {
        self.encode_with(out, |cells| {
            for value in row {
                cells.value(value);
            }
        })
    }
}

/// Writes the cells of one row as text, checking each against its column; made by
/// [`RowEncoder::encode_cells`].
pub struct CellWriter<'a> {
    columns: &'a [Column],
    layout: &'a TextLayout,
    numbers: &'a mut NumberBuffers,
    out: &'a mut Vec<u8>,
    /// Cells given so far.
    count: usize,
    /// The first cell whose type was not its column's: (its column, the cell's type).
    mismatch: Option<(usize, ColumnType)>,
}

impl std::fmt::Debug for CellWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CellWriter")
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

impl CellWriter<'_> {
    /// Starts the next cell, of type `ty`: writes what comes before it. `false` (and nothing
    /// written) if the row no longer fits its columns.
    #[inline]
    fn begin(&mut self, ty: ColumnType) -> bool {
        let i = self.count;
        self.count += 1;
        if self.mismatch.is_some() {
            return false;
        }
        match self.columns.get(i) {
            Some(c) if c.ty == ty => {}
            Some(_) => {
                self.mismatch = Some((i, ty));
                return false;
            }
            None => return false,
        }
        match self.layout {
            TextLayout::Csv => {
                if i > 0 {
                    self.out.push(b',');
                }
            }
            TextLayout::JsonLines(keys) => {
                if let Some(key) = keys.get(i) {
                    self.out.extend_from_slice(key);
                }
            }
        }
        true
    }

    /// Ends the row: its line end, or why it does not fit the columns.
    fn finish(self) -> Result<(), OutputError> {
        if self.count != self.columns.len() {
            return Err(OutputError::RowLength {
                expected: self.columns.len(),
                found: self.count,
            });
        }
        if let Some((i, found)) = self.mismatch {
            let column = self.columns.get(i);
            return Err(OutputError::TypeMismatch {
                column: column.map(|c| c.name.clone()).unwrap_or_default(),
                expected: column.map_or(found, |c| c.ty),
                found,
            });
        }
        match self.layout {
            TextLayout::Csv => self.out.push(b'\n'),
            TextLayout::JsonLines(_) if self.count == 0 => self.out.extend_from_slice(b"{}\n"),
            TextLayout::JsonLines(_) => self.out.extend_from_slice(b"}\n"),
        }
        Ok(())
    }

    fn is_json(&self) -> bool {
        matches!(self.layout, TextLayout::JsonLines(_))
    }
}

// Writing into a Vec cannot fail: the `io::Result`s below are always `Ok`.
impl CellSink for CellWriter<'_> {
    fn bool(&mut self, value: bool) {
        if self.begin(ColumnType::Bool) {
            self.out
                .extend_from_slice(if value { b"true" } else { b"false" });
        }
    }

    fn int(&mut self, value: i64) {
        if self.begin(ColumnType::Int) {
            let _ = self.numbers.write_int(self.out, value);
        }
    }

    fn float(&mut self, value: f64) {
        if self.begin(ColumnType::Float) {
            if self.is_json() && !value.is_finite() {
                self.out.extend_from_slice(b"null");
            } else {
                let _ = self.numbers.write_float(self.out, value);
            }
        }
    }

    fn str(&mut self, value: &str) {
        if self.begin(ColumnType::Str) {
            let _ = if self.is_json() {
                write_json_string(self.out, value)
            } else {
                write_csv_field(self.out, value)
            };
        }
    }

    fn ip(&mut self, value: IpAddr) {
        if self.begin(ColumnType::Ip) {
            let quoted = self.is_json();
            if quoted {
                self.out.push(b'"');
            }
            match value {
                IpAddr::V4(v4) => write_ipv4(self.out, v4.octets()),
                // RFC 5952's compression rules, as the standard library writes them.
                IpAddr::V6(v6) => {
                    let _ = write!(self.out, "{v6}");
                }
            }
            if quoted {
                self.out.push(b'"');
            }
        }
    }
}

/// Writes an IPv4 address in dotted decimal, as its `Display` does, without the formatting
/// machinery (two addresses start every row).
fn write_ipv4(out: &mut Vec<u8>, octets: [u8; 4]) {
    for (i, octet) in octets.into_iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        if octet >= 100 {
            out.push(b'0' + octet / 100);
        }
        if octet >= 10 {
            out.push(b'0' + octet / 10 % 10);
        }
        out.push(b'0' + octet % 10);
    }
}

/// Formats rows of one table into the bytes its text format writes, on any thread.
///
/// Made by [`crate::TableWriter::encoder`]; cheap to clone, one per thread. The bytes go to
/// [`crate::TableWriter::write_encoded`] of the same writer.
#[derive(Debug, Clone)]
pub struct RowEncoder {
    text: RowText,
}

impl RowEncoder {
    pub(crate) fn new(text: RowText) -> RowEncoder {
        RowEncoder { text }
    }

    /// Appends the text of one row, line end included, to `out`. A row that does not fit the
    /// columns is an error, and nothing of it is appended.
    pub fn encode(&mut self, row: &[Value], out: &mut Vec<u8>) -> Result<(), OutputError> {
        self.text.encode(row, out)
    }

    /// Appends the text of the row whose cells `fill` gives, left to right, to `out`: as
    /// [`RowEncoder::encode`] without building values.
    pub fn encode_cells(
        &mut self,
        out: &mut Vec<u8>,
        fill: impl FnOnce(&mut CellWriter<'_>),
    ) -> Result<(), OutputError> {
        self.text.encode_with(out, fill)
    }
}

/// Checks that `row` has one value of each column's type.
pub(crate) fn check_row(columns: &[Column], row: &[Value]) -> Result<(), OutputError> {
    if row.len() != columns.len() {
        return Err(OutputError::RowLength {
            expected: columns.len(),
            found: row.len(),
        });
    }
    for (column, value) in columns.iter().zip(row) {
        let found = value.column_type();
        if found != column.ty {
            return Err(OutputError::TypeMismatch {
                column: column.name.clone(),
                expected: column.ty,
                found,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::write_ipv4;
    use std::net::Ipv4Addr;

    #[test]
    fn ipv4_text_is_what_display_writes() {
        let mut out = Vec::new();
        for a in 0..=255u8 {
            for octets in [
                [a, 0, 0, 0],
                [10, a, 1, a],
                [255, 255, a, 9],
                [1, 22, 133, a],
            ] {
                out.clear();
                write_ipv4(&mut out, octets);
                assert_eq!(out, Ipv4Addr::from(octets).to_string().as_bytes());
            }
        }
    }
}
