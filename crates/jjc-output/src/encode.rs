//! Rows encoded apart from writing them: a [`RowEncoder`] turns rows into bytes on any
//! thread, and [`crate::TableWriter::write_encoded`] takes those bytes. For the text formats
//! the bytes are the rows' text, appended as they are; for Parquet they are the cells' values
//! in a compact binary form ([`RowLayout::Binary`]) that the Parquet writer reads into its
//! columns, so the other threads do the per-cell work and no row is built as values. Both
//! [`crate::TableWriter::write_row`] and the encoder go through the functions here, so a
//! table is byte-for-byte the same whichever thread encoded its rows.

use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;

use jjc_abi::{CellSink, Column, ColumnType, Value};

use crate::OutputError;
use crate::text::{write_csv_field, write_float, write_int, write_json_string};

/// How the encoded rows of one format are laid out.
#[derive(Debug, Clone)]
pub(crate) enum RowLayout {
    /// CSV lines.
    Csv,
    /// JSON objects, one per line; per column, the bytes before its value (`{"name":` for the
    /// first, `,"name":` after).
    JsonLines(Arc<[Box<[u8]>]>),
    /// For Parquet, which reads them back ([`BinaryCells`]): each cell's value, nothing
    /// between cells or rows. A boolean is one byte (0 or 1); an integer or a float is
    /// 8 little-endian bytes (a float's bits); a text, or an address as its text, is its
    /// length in 8 little-endian bytes, then its UTF-8 bytes.
    Binary,
}

impl RowLayout {
    /// The JSON Lines layout of these columns: their escaped keys.
    pub(crate) fn json_lines(columns: &[Column]) -> RowLayout {
        let mut key_prefixes = Vec::with_capacity(columns.len());
        for (i, column) in columns.iter().enumerate() {
            let mut prefix = Vec::with_capacity(column.name.len() + 4);
            prefix.push(if i == 0 { b'{' } else { b',' });
            // Writing into a Vec cannot fail.
            let _ = write_json_string(&mut prefix, &column.name);
            prefix.push(b':');
            key_prefixes.push(prefix.into_boxed_slice());
        }
        RowLayout::JsonLines(key_prefixes.into())
    }
}

/// Encodes rows, cell by cell, into bytes: the one place encoded rows are made.
#[derive(Clone)]
pub(crate) struct RowBytes {
    columns: Arc<[Column]>,
    layout: RowLayout,
}

impl std::fmt::Debug for RowBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowBytes")
            .field("columns", &self.columns.len())
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

impl RowBytes {
    pub(crate) fn new(columns: Arc<[Column]>, layout: RowLayout) -> RowBytes {
        RowBytes { columns, layout }
    }

    /// Appends the row `fill` gives (a text row with its line end). A row that does not fit
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

    /// [`RowBytes::encode_with`] of a row of values.
    pub(crate) fn encode(&mut self, row: &[Value], out: &mut Vec<u8>) -> Result<(), OutputError> {
        self.encode_with(out, |cells| {
            for value in row {
                cells.value(value);
            }
        })
    }
}

/// Writes the cells of one row in its encoding, checking each against its column; made by
/// [`RowEncoder::encode_cells`].
pub struct CellWriter<'a> {
    columns: &'a [Column],
    layout: &'a RowLayout,
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
            RowLayout::Csv => {
                if i > 0 {
                    self.out.push(b',');
                }
            }
            RowLayout::JsonLines(keys) => {
                if let Some(key) = keys.get(i) {
                    self.out.extend_from_slice(key);
                }
            }
            RowLayout::Binary => {}
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
            RowLayout::Csv => self.out.push(b'\n'),
            RowLayout::JsonLines(_) if self.count == 0 => self.out.extend_from_slice(b"{}\n"),
            RowLayout::JsonLines(_) => self.out.extend_from_slice(b"}\n"),
            RowLayout::Binary => {}
        }
        Ok(())
    }

    fn is_json(&self) -> bool {
        matches!(self.layout, RowLayout::JsonLines(_))
    }

    fn is_binary(&self) -> bool {
        matches!(self.layout, RowLayout::Binary)
    }

    /// Appends a binary text cell: its length, then `write`'s bytes.
    fn binary_text(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        let at = self.out.len();
        self.out.extend_from_slice(&[0; 8]);
        write(self.out);
        let len = (self.out.len() - at - 8) as u64;
        if let Some(prefix) = self.out.get_mut(at..at + 8) {
            prefix.copy_from_slice(&len.to_le_bytes());
        }
    }
}

// Writing into a Vec cannot fail: the `io::Result`s below are always `Ok`.
impl CellSink for CellWriter<'_> {
    #[inline]
    fn bool(&mut self, value: bool) {
        if self.begin(ColumnType::Bool) {
            if self.is_binary() {
                self.out.push(u8::from(value));
            } else {
                self.out
                    .extend_from_slice(if value { b"true" } else { b"false" });
            }
        }
    }

    #[inline]
    fn int(&mut self, value: i64) {
        if self.begin(ColumnType::Int) {
            if self.is_binary() {
                self.out.extend_from_slice(&value.to_le_bytes());
            } else {
                write_int(self.out, value);
            }
        }
    }

    #[inline]
    fn float(&mut self, value: f64) {
        if self.begin(ColumnType::Float) {
            if self.is_binary() {
                self.out.extend_from_slice(&value.to_bits().to_le_bytes());
            } else if self.is_json() && !value.is_finite() {
                self.out.extend_from_slice(b"null");
            } else {
                write_float(self.out, value);
            }
        }
    }

    fn str(&mut self, value: &str) {
        if self.begin(ColumnType::Str) {
            if self.is_binary() {
                self.binary_text(|out| out.extend_from_slice(value.as_bytes()));
                return;
            }
            let _ = if self.is_json() {
                write_json_string(self.out, value)
            } else {
                write_csv_field(self.out, value)
            };
        }
    }

    fn ip(&mut self, value: IpAddr) {
        if self.begin(ColumnType::Ip) {
            if self.is_binary() {
                self.binary_text(|out| write_ip(out, value));
                return;
            }
            let quoted = self.is_json();
            if quoted {
                self.out.push(b'"');
            }
            write_ip(self.out, value);
            if quoted {
                self.out.push(b'"');
            }
        }
    }
}

/// Writes an address as its `Display` does.
pub(crate) fn write_ip(out: &mut Vec<u8>, value: IpAddr) {
    match value {
        IpAddr::V4(v4) => write_ipv4(out, v4.octets()),
        // RFC 5952's compression rules, as the standard library writes them.
        IpAddr::V6(v6) => {
            let _ = write!(out, "{v6}");
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

/// Encodes rows of one table into the bytes its writer takes, on any thread: the text of
/// a text format, the compact binary cells of Parquet (`RowLayout::Binary`).
///
/// Made by [`crate::TableWriter::encoder`]; cheap to clone, one per thread. The bytes go to
/// [`crate::TableWriter::write_encoded`] of the same writer.
#[derive(Debug, Clone)]
pub struct RowEncoder {
    rows: RowBytes,
}

impl RowEncoder {
    pub(crate) fn new(rows: RowBytes) -> RowEncoder {
        RowEncoder { rows }
    }

    /// Appends one row (a text row with its line end) to `out`. A row that does not fit the
    /// columns is an error, and nothing of it is appended.
    pub fn encode(&mut self, row: &[Value], out: &mut Vec<u8>) -> Result<(), OutputError> {
        self.rows.encode(row, out)
    }

    /// Appends the row whose cells `fill` gives, left to right, to `out`: as
    /// [`RowEncoder::encode`] without building values.
    pub fn encode_cells(
        &mut self,
        out: &mut Vec<u8>,
        fill: impl FnOnce(&mut CellWriter<'_>),
    ) -> Result<(), OutputError> {
        self.rows.encode_with(out, fill)
    }
}

/// Reads the cells of [`RowLayout::Binary`] rows back, in order.
pub(crate) struct BinaryCells<'a> {
    bytes: &'a [u8],
}

impl<'a> BinaryCells<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> BinaryCells<'a> {
        BinaryCells { bytes }
    }

    /// Whether every cell has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The next `n` bytes; an error if fewer are left (bytes this layout did not make).
    fn take(&mut self, n: usize) -> Result<&'a [u8], OutputError> {
        // Not `ok_or(OutputError::EncodedRows)`: that builds the error for every cell and
        // drops it again (1% of a Parquet run, in `drop_in_place::<OutputError>`).
        let Some((head, rest)) = self.bytes.split_at_checked(n) else {
            return Err(OutputError::EncodedRows);
        };
        self.bytes = rest;
        Ok(head)
    }

    fn word(&mut self) -> Result<[u8; 8], OutputError> {
        let mut w = [0; 8];
        w.copy_from_slice(self.take(8)?);
        Ok(w)
    }

    /// A boolean cell.
    pub(crate) fn bool(&mut self) -> Result<bool, OutputError> {
        Ok(self.take(1)? != [0])
    }

    /// An integer cell.
    pub(crate) fn int(&mut self) -> Result<i64, OutputError> {
        Ok(i64::from_le_bytes(self.word()?))
    }

    /// A float cell.
    pub(crate) fn float(&mut self) -> Result<f64, OutputError> {
        Ok(f64::from_bits(u64::from_le_bytes(self.word()?)))
    }

    /// A text or address cell.
    pub(crate) fn text(&mut self) -> Result<&'a str, OutputError> {
        let len = usize::try_from(u64::from_le_bytes(self.word()?))
            .map_err(|_| OutputError::EncodedRows)?;
        std::str::from_utf8(self.take(len)?).map_err(|_| OutputError::EncodedRows)
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
