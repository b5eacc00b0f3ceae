//! What can go wrong while writing a table.

use std::io;
use std::path::PathBuf;

use jjc_abi::ColumnType;

/// An error while creating, writing or finishing a table.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The destination cannot be written: a folder, or a device or pipe that does not open.
    #[error("cannot write the table to {}: {source}", path.display())]
    Create {
        /// The destination.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The temporary file next to the destination could not be created.
    #[error("cannot create a temporary file next to {}: {source}", path.display())]
    CreateTemp {
        /// The destination the temporary file was for.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Writing to the destination (or its temporary file) failed.
    #[error("cannot write {target}: {source}")]
    Write {
        /// `standard output` or the destination path.
        target: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The finished temporary file could not be renamed onto the destination.
    #[error("cannot move the finished table onto {}: {source}", path.display())]
    Persist {
        /// The destination.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A row did not have one value per column (a bug in the caller).
    #[error("a row has {found} values but the table has {expected} columns")]
    RowLength {
        /// Number of columns of the table.
        expected: usize,
        /// Number of values in the row.
        found: usize,
    },
    /// A value did not have its column's type (a bug in the caller).
    #[error("column `{column}` holds {expected} values but the row gives a {found}")]
    TypeMismatch {
        /// Name of the column.
        column: String,
        /// The column's type.
        expected: ColumnType,
        /// The type of the value given.
        found: ColumnType,
    },
    /// Encoded rows the table cannot read: not made by its own [`crate::RowEncoder`], or
    /// given to a sink that takes values only (a bug in the caller).
    #[error("encoded rows that this table's encoder did not make were given to it")]
    EncodedRows,
    /// Parquet output was asked of a build without the `parquet` cargo feature.
    #[error("this build has no Parquet support (cargo feature `parquet`)")]
    ParquetUnavailable,
    /// The Parquet encoder failed.
    #[cfg(feature = "parquet")]
    #[error("cannot write Parquet: {0}")]
    Parquet(#[from] ::parquet::errors::ParquetError),
    /// Building an Arrow record batch failed.
    #[cfg(feature = "parquet")]
    #[error("cannot build an Arrow batch: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}
