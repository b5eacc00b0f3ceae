//! Writing feature tables: CSV, JSON Lines and Parquet, atomically.
//!
//! A [`TableWriter`] takes the table's [`Column`]s once, then one row of [`Value`]s at a
//! time, and writes them in the chosen [`Format`] to a [`Destination`]. For the text formats
//! its [`RowEncoder`] formats rows on other threads (from values, or cell by cell through a
//! [`CellWriter`]), and [`TableWriter::write_encoded`] appends the text as it is.
//!
//! A file destination is written to a temporary file in the same directory and renamed over
//! the destination only by [`TableWriter::finish`]; a writer dropped without `finish` (because something
//! failed elsewhere) removes its temporary file and leaves the destination untouched.
//!
//! Text formats follow DESIGN.md §2 "Output": booleans `true`/`false`, integers in
//! decimal, floats shortest round-trip (always with a `.` or an exponent, so `1.0`,
//! never `1`), addresses in their usual text form.

#![warn(missing_docs)]

mod destination;
mod encode;
mod error;
mod format;
#[cfg(feature = "parquet")]
mod parquet;
mod text;
mod text_writer;
mod writer;

pub use destination::Destination;
pub use encode::{CellWriter, RowEncoder};
pub use error::OutputError;
pub use format::{Format, UnknownFormat};
pub use writer::TableWriter;

pub use jjc_abi::{Column, ColumnType, Value};
