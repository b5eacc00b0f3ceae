//! Row text for the text formats, separate from writing it: a [`RowEncoder`] formats rows into
//! bytes on any thread, and [`crate::TableWriter::write_encoded`] appends those bytes as they
//! are. Both [`crate::TableWriter::write_row`] and the encoder format with the functions here,
//! so a table is byte-for-byte the same whichever thread formatted its rows.

use std::io::{self, Write};
use std::sync::Arc;

use jjc_abi::{Column, Value};

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

/// Reusable number-formatting buffers.
#[derive(Default)]
pub(crate) struct NumberText(NumberBuffers);

impl std::fmt::Debug for NumberText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NumberText")
    }
}

impl NumberText {
    /// Writes one row (already checked against the columns) in `layout`, line end included.
    pub(crate) fn write_row(
        &mut self,
        layout: &TextLayout,
        row: &[Value],
        out: &mut impl Write,
    ) -> io::Result<()> {
        match layout {
            TextLayout::Csv => self.write_csv_row(row, out),
            TextLayout::JsonLines(keys) => self.write_json_row(keys, row, out),
        }
    }

    fn write_csv_row(&mut self, row: &[Value], out: &mut impl Write) -> io::Result<()> {
        for (i, value) in row.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            match value {
                Value::Bool(b) => out.write_all(if *b { b"true" } else { b"false" })?,
                Value::Int(n) => self.0.write_int(out, *n)?,
                Value::Float(x) => self.0.write_float(out, *x)?,
                Value::Str(s) => write_csv_field(out, s)?,
                Value::Ip(ip) => write!(out, "{ip}")?,
            }
        }
        out.write_all(b"\n")
    }

    fn write_json_row(
        &mut self,
        keys: &[Box<[u8]>],
        row: &[Value],
        out: &mut impl Write,
    ) -> io::Result<()> {
        if row.is_empty() {
            return out.write_all(b"{}\n");
        }
        for (prefix, value) in keys.iter().zip(row) {
            out.write_all(prefix)?;
            match value {
                Value::Bool(b) => out.write_all(if *b { b"true" } else { b"false" })?,
                Value::Int(n) => self.0.write_int(out, *n)?,
                Value::Float(x) if x.is_finite() => self.0.write_float(out, *x)?,
                Value::Float(_) => out.write_all(b"null")?,
                Value::Str(s) => write_json_string(out, s)?,
                Value::Ip(ip) => write!(out, "\"{ip}\"")?,
            }
        }
        out.write_all(b"}\n")
    }
}

/// Formats rows of one table into the bytes its text format writes, on any thread.
///
/// Made by [`crate::TableWriter::encoder`]; cheap to clone, one per thread. The bytes go to
/// [`crate::TableWriter::write_encoded`] of the same writer.
#[derive(Debug, Clone)]
pub struct RowEncoder {
    columns: Arc<[Column]>,
    layout: TextLayout,
    numbers: NumberTextCell,
}

/// [`NumberText`] that clones as fresh buffers (they hold no state between rows).
#[derive(Debug, Default)]
struct NumberTextCell(NumberText);

impl Clone for NumberTextCell {
    fn clone(&self) -> Self {
        NumberTextCell::default()
    }
}

impl RowEncoder {
    pub(crate) fn new(columns: Arc<[Column]>, layout: TextLayout) -> RowEncoder {
        RowEncoder {
            columns,
            layout,
            numbers: NumberTextCell::default(),
        }
    }

    /// Appends the text of one row, line end included, to `out`. A row that does not fit the
    /// columns is an error, and nothing of it is appended.
    pub fn encode(&mut self, row: &[Value], out: &mut Vec<u8>) -> Result<(), OutputError> {
        check_row(&self.columns, row)?;
        // Writing into a Vec cannot fail.
        let _ = self.numbers.0.write_row(&self.layout, row, out);
        Ok(())
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
