//! The table writer: checks rows against the columns and hands them to a format.

use std::fmt;
use std::io;
use std::sync::Arc;

use jjc_abi::{Column, Value};

use crate::destination::{Destination, Sink};
use crate::encode::{RowEncoder, check_row};
#[cfg(feature = "parquet")]
use crate::parquet::ParquetWriter;
use crate::text_writer::TextWriter;
use crate::{Format, OutputError};

/// The format-specific half of a [`TableWriter`].
enum Backend {
    Text(Box<TextWriter>),
    #[cfg(feature = "parquet")]
    Parquet(Box<ParquetWriter>),
}

/// Writes one table, row by row, to a [`Destination`] in a [`Format`].
///
/// A file appears (or replaces the previous one) only when [`finish`](Self::finish)
/// succeeds; dropping the writer earlier deletes its temporary file and leaves the
/// destination as it was. Parquet goes to standard output as well: the Parquet writer
/// only appends, so it needs no seeking.
pub struct TableWriter {
    columns: Arc<[Column]>,
    backend: Backend,
    rows: u64,
    target: String,
}

impl fmt::Debug for TableWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TableWriter")
            .field("target", &self.target)
            .field("columns", &self.columns.len())
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl TableWriter {
    /// Starts a table with these columns (a CSV header is written at once; a table that
    /// never gets a row still ends up with its header or Parquet schema).
    pub fn create(
        dest: Destination,
        format: Format,
        columns: Vec<Column>,
    ) -> Result<TableWriter, OutputError> {
        let target = dest.describe();
        let sink = Sink::open(&dest)?;
        let io_err = |source| OutputError::Write {
            target: target.clone(),
            source,
        };
        let columns: Arc<[Column]> = columns.into();
        let backend = match format {
            Format::Csv => {
                Backend::Text(Box::new(TextWriter::csv(sink, &columns).map_err(io_err)?))
            }
            Format::JsonLines => Backend::Text(Box::new(TextWriter::json_lines(sink, &columns))),
            #[cfg(feature = "parquet")]
            Format::Parquet => Backend::Parquet(Box::new(ParquetWriter::new(sink, &columns)?)),
            #[cfg(not(feature = "parquet"))]
            Format::Parquet => return Err(OutputError::ParquetUnavailable),
        };
        Ok(TableWriter {
            columns,
            backend,
            rows: 0,
            target,
        })
    }

    /// Sets how many threads may encode the table: a Parquet batch's columns are encoded on
    /// up to this many (at least one). The default is one per core; the text formats are
    /// written by the calling thread whatever it is.
    pub fn set_threads(&mut self, threads: usize) {
        match &mut self.backend {
            Backend::Text(_) => {}
            #[cfg(feature = "parquet")]
            Backend::Parquet(w) => w.set_threads(threads),
        }
    }

    /// The table's columns.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Writes one row: one value per column, each of its column's type. A row that does
    /// not fit the columns is an error (and nothing of it is written).
    pub fn write_row(&mut self, row: &[Value]) -> Result<(), OutputError> {
        check_row(&self.columns, row)?;
        let result = match &mut self.backend {
            Backend::Text(w) => w.write_row(row),
            #[cfg(feature = "parquet")]
            Backend::Parquet(w) => return w.write_row(row).map(|()| self.rows += 1),
        };
        result.map_err(|e| self.io_error(e))?;
        self.rows += 1;
        Ok(())
    }

    /// An encoder of this table's rows for other threads: their text for CSV and JSON
    /// Lines, their cells in a compact binary form for Parquet.
    pub fn encoder(&self) -> RowEncoder {
        match &self.backend {
            Backend::Text(w) => w.encoder(),
            #[cfg(feature = "parquet")]
            Backend::Parquet(w) => w.encoder(),
        }
    }

    /// Writes `rows` rows that an [`encoder`](Self::encoder) of this writer encoded into
    /// `bytes` (text is appended as it is). Parquet reads the bytes back: bytes another
    /// encoder made are an error there.
    pub fn write_encoded(&mut self, bytes: &[u8], rows: u64) -> Result<(), OutputError> {
        let result = match &mut self.backend {
            Backend::Text(w) => w.write_encoded(bytes),
            #[cfg(feature = "parquet")]
            Backend::Parquet(w) => {
                return w.write_encoded(bytes, rows).map(|()| self.rows += rows);
            }
        };
        result.map_err(|e| self.io_error(e))?;
        self.rows += rows;
        Ok(())
    }

    /// Number of rows written so far.
    pub fn rows_written(&self) -> u64 {
        self.rows
    }

    /// Completes the table: flushes it and, for a file, renames it into place.
    pub fn finish(self) -> Result<(), OutputError> {
        let sink = match self.backend {
            Backend::Text(w) => w.finish(),
            #[cfg(feature = "parquet")]
            Backend::Parquet(w) => return w.finish()?.commit(),
        };
        let target = self.target;
        sink.map_err(|source| OutputError::Write { target, source })?
            .commit()
    }

    fn io_error(&self, source: io::Error) -> OutputError {
        OutputError::Write {
            target: self.target.clone(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::path::{Path, PathBuf};

    use jjc_abi::ColumnType;

    use super::*;

    fn columns() -> Vec<Column> {
        vec![
            Column::new("src_ip", ColumnType::Ip),
            Column::new("dst_port", ColumnType::Int),
            Column::new("duration", ColumnType::Float),
            Column::new("is_tls", ColumnType::Bool),
            Column::new("note", ColumnType::Str),
        ]
    }

    fn ip(s: &str) -> Value {
        Value::Ip(s.parse::<IpAddr>().unwrap())
    }

    fn rows() -> Vec<Vec<Value>> {
        vec![
            vec![
                ip("192.168.1.1"),
                Value::Int(443),
                Value::Float(1.0),
                Value::Bool(true),
                Value::Str("plain".into()),
            ],
            vec![
                ip("2001:db8::1"),
                Value::Int(-7),
                Value::Float(0.1),
                Value::Bool(false),
                Value::Str("a,b \"q\"\nnext".into()),
            ],
            vec![
                ip("::ffff:10.0.0.1"),
                Value::Int(i64::MAX),
                Value::Float(f64::NAN),
                Value::Bool(false),
                Value::Str("tab\there \u{1} ü 😀".into()),
            ],
            vec![
                ip("10.0.0.2"),
                Value::Int(0),
                Value::Float(f64::NEG_INFINITY),
                Value::Bool(true),
                Value::Str(String::new()),
            ],
        ]
    }

    fn write_table(path: &Path, format: Format, rows: &[Vec<Value>]) {
        let mut w = TableWriter::create(Destination::File(path.into()), format, columns()).unwrap();
        assert_eq!(w.columns(), columns().as_slice());
        for row in rows {
            w.write_row(row).unwrap();
        }
        assert_eq!(w.rows_written(), rows.len() as u64);
        w.finish().unwrap();
    }

    fn dir_entries(dir: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn csv_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        write_table(&path, Format::Csv, &rows());
        let text = std::fs::read_to_string(&path).unwrap();
        let want = "src_ip,dst_port,duration,is_tls,note\n\
                    192.168.1.1,443,1.0,true,plain\n\
                    2001:db8::1,-7,0.1,false,\"a,b \"\"q\"\"\nnext\"\n\
                    ::ffff:10.0.0.1,9223372036854775807,nan,false,tab\there \u{1} ü 😀\n\
                    10.0.0.2,0,-inf,true,\n";
        assert_eq!(text, want);
        assert_eq!(
            dir_entries(dir.path()),
            vec![path],
            "no temporary file left"
        );
    }

    /// A named pipe (like `/dev/null`, a device) is written as rows come, not replaced by a
    /// finished file: the reader at its other end gets the table, and the pipe stays a pipe.
    #[cfg(unix)]
    #[test]
    fn a_named_pipe_gets_the_table_and_stays_a_pipe() {
        use std::os::unix::fs::FileTypeExt;

        let dir = tempfile::tempdir().unwrap();
        let pipe = dir.path().join("pipe.csv");
        let made = std::process::Command::new("mkfifo").arg(&pipe).status();
        if !made.is_ok_and(|s| s.success()) {
            return; // no mkfifo here: nothing to test with
        }
        let reader = {
            let pipe = pipe.clone();
            std::thread::spawn(move || std::fs::read_to_string(pipe).unwrap())
        };
        write_table(&pipe, Format::Csv, &rows());
        let kind = std::fs::metadata(&pipe).unwrap().file_type();
        assert!(kind.is_fifo(), "the pipe is still a pipe");
        let text = reader.join().unwrap();
        assert_eq!(
            dir_entries(dir.path()),
            vec![pipe],
            "no temporary file left"
        );
        let file = dir.path().join("file.csv");
        write_table(&file, Format::Csv, &rows());
        assert_eq!(text, std::fs::read_to_string(&file).unwrap());
    }

    #[test]
    fn a_folder_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let err = TableWriter::create(
            Destination::File(dir.path().to_path_buf()),
            Format::Csv,
            columns(),
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("it is a folder"), "{message}");
        assert!(dir_entries(dir.path()).is_empty(), "no temporary file left");
    }

    #[test]
    fn jsonl_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        write_table(&path, Format::JsonLines, &rows());
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[0],
            r#"{"src_ip":"192.168.1.1","dst_port":443,"duration":1.0,"is_tls":true,"note":"plain"}"#
        );
        assert_eq!(
            lines[2],
            r#"{"src_ip":"::ffff:10.0.0.1","dst_port":9223372036854775807,"duration":null,"is_tls":false,"note":"tab\there \u0001 ü 😀"}"#
        );
        for (line, row) in lines.iter().zip(rows()) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
            assert_eq!(keys.len(), 5);
            let Value::Str(note) = &row[4] else { panic!() };
            assert_eq!(v["note"].as_str(), Some(note.as_str()));
            assert!(v["duration"].is_f64() || v["duration"].is_null());
        }
    }

    #[cfg(feature = "parquet")]
    #[test]
    fn parquet_is_the_same_whatever_the_encoding_threads() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<Vec<u8>> = [1, 3, 0]
            .into_iter()
            .map(|threads| {
                let path = dir.path().join(format!("t{threads}.parquet"));
                let mut w = TableWriter::create(
                    Destination::File(path.clone()),
                    Format::Parquet,
                    columns(),
                )
                .unwrap();
                w.set_threads(threads);
                for row in rows() {
                    w.write_row(&row).unwrap();
                }
                w.finish().unwrap();
                std::fs::read(path).unwrap()
            })
            .collect();
        assert_eq!(files[0], files[1]);
        assert_eq!(files[0], files[2], "0 threads means one");
    }

    #[test]
    fn encoded_rows_are_the_bytes_write_row_writes() {
        let dir = tempfile::tempdir().unwrap();
        let formats = [
            Format::Csv,
            Format::JsonLines,
            #[cfg(feature = "parquet")]
            Format::Parquet,
        ];
        for format in formats {
            let direct = dir.path().join(format!("direct.{format}"));
            write_table(&direct, format, &rows());
            let encoded = dir.path().join(format!("encoded.{format}"));
            let mut w =
                TableWriter::create(Destination::File(encoded.clone()), format, columns()).unwrap();
            let mut encoder = w.encoder();
            // Formatted on another thread, as the parallel pipeline does.
            let bytes = std::thread::scope(|s| {
                s.spawn(move || {
                    let mut bytes = Vec::new();
                    for row in rows() {
                        encoder.encode(&row, &mut bytes).unwrap();
                    }
                    bytes
                })
                .join()
                .unwrap()
            });
            w.write_encoded(&bytes, rows().len() as u64).unwrap();
            assert_eq!(w.rows_written(), rows().len() as u64);
            w.finish().unwrap();
            assert_eq!(
                std::fs::read(&encoded).unwrap(),
                std::fs::read(&direct).unwrap(),
                "{format}"
            );
        }
    }

    #[test]
    fn cells_give_the_text_of_their_values() {
        use jjc_abi::CellSink;
        let dir = tempfile::tempdir().unwrap();
        for format in [Format::Csv, Format::JsonLines] {
            let w = TableWriter::create(
                Destination::File(dir.path().join(format!("t.{format}"))),
                format,
                columns(),
            )
            .unwrap();
            let mut encoder = w.encoder();
            for row in rows() {
                let (mut by_values, mut by_cells) = (Vec::new(), Vec::new());
                encoder.encode(&row, &mut by_values).unwrap();
                encoder
                    .encode_cells(&mut by_cells, |cells| {
                        for v in &row {
                            cells.value(v);
                        }
                    })
                    .unwrap();
                assert_eq!(by_cells, by_values, "{format}");
            }
            // One cell short, one too many, a wrong type: errors, and nothing appended.
            let mut out = b"kept".to_vec();
            let short = encoder.encode_cells(&mut out, |c| c.int(1));
            assert!(matches!(
                short,
                Err(OutputError::RowLength {
                    expected: 5,
                    found: 1
                })
            ));
            let long = encoder.encode_cells(&mut out, |c| {
                for v in &rows()[0] {
                    c.value(v);
                }
                c.bool(true);
            });
            assert!(matches!(
                long,
                Err(OutputError::RowLength {
                    expected: 5,
                    found: 6
                })
            ));
            let wrong = encoder.encode_cells(&mut out, |c| {
                c.ip("10.0.0.1".parse().unwrap());
                c.str("not a port");
                c.float(1.0);
                c.bool(true);
                c.str("");
            });
            assert!(
                matches!(&wrong, Err(OutputError::TypeMismatch { column, .. }) if column == "dst_port")
            );
            assert_eq!(out, b"kept");
        }
    }

    #[test]
    fn encoders_check_rows_and_parquet_reads_only_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let w = TableWriter::create(
            Destination::File(dir.path().join("t.csv")),
            Format::Csv,
            columns(),
        )
        .unwrap();
        let mut encoder = w.encoder();
        let mut bytes = Vec::new();
        let short = encoder.encode(&rows()[0][..2], &mut bytes).unwrap_err();
        assert!(matches!(
            short,
            OutputError::RowLength {
                expected: 5,
                found: 2
            }
        ));
        let mut wrong = rows()[0].clone();
        wrong[1] = Value::Float(1.0);
        let mismatch = encoder.encode(&wrong, &mut bytes).unwrap_err();
        assert!(matches!(mismatch, OutputError::TypeMismatch { .. }));
        assert!(bytes.is_empty(), "nothing of a bad row is appended");
        #[cfg(feature = "parquet")]
        {
            let mut p = TableWriter::create(
                Destination::File(dir.path().join("t.parquet")),
                Format::Parquet,
                columns(),
            )
            .unwrap();
            let mut good = Vec::new();
            p.encoder().encode(&rows()[1], &mut good).unwrap();
            // Its last cell is the note: a text whose bytes end the row.
            let mut not_utf8 = good.clone();
            let note = not_utf8.len() - "a,b \"q\"\nnext".len();
            not_utf8[note] = 0xff;
            let mut longer = good.clone();
            longer.push(0);
            // Text, a row cut short, a row with bytes left over, a text that is not UTF-8.
            for bad in [&b"x\n"[..], &good[..good.len() - 1], &longer, &not_utf8] {
                let mut p = TableWriter::create(
                    Destination::File(dir.path().join("bad.parquet")),
                    Format::Parquet,
                    columns(),
                )
                .unwrap();
                assert!(matches!(
                    p.write_encoded(bad, 1),
                    Err(OutputError::EncodedRows)
                ));
            }
            p.write_encoded(&good, 1).unwrap();
            assert_eq!(p.rows_written(), 1);
        }
    }

    #[test]
    fn empty_tables_keep_their_header() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("e.csv");
        write_table(&csv, Format::Csv, &[]);
        assert_eq!(
            std::fs::read_to_string(&csv).unwrap(),
            "src_ip,dst_port,duration,is_tls,note\n"
        );
        let jsonl = dir.path().join("e.jsonl");
        write_table(&jsonl, Format::JsonLines, &[]);
        assert_eq!(std::fs::read(&jsonl).unwrap(), b"");
    }

    #[test]
    fn header_names_are_quoted_when_needed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.csv");
        let cols = vec![
            Column::new("a,b", ColumnType::Int),
            Column::new("c", ColumnType::Int),
        ];
        let w = TableWriter::create(Destination::File(path.clone()), Format::Csv, cols).unwrap();
        w.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "\"a,b\",c\n");
    }

    #[test]
    fn dropped_writer_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("never.csv");
        let mut w =
            TableWriter::create(Destination::File(path.clone()), Format::Csv, columns()).unwrap();
        w.write_row(&rows()[0]).unwrap();
        assert_eq!(dir_entries(dir.path()).len(), 1, "only the temporary file");
        assert!(!path.exists());
        drop(w);
        assert!(dir_entries(dir.path()).is_empty());
    }

    #[test]
    fn existing_destination_is_replaced_only_by_finish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "old\n").unwrap();
        let mut w =
            TableWriter::create(Destination::File(path.clone()), Format::Csv, columns()).unwrap();
        for row in rows() {
            w.write_row(&row).unwrap();
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\n");
        drop(w);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\n");
        assert_eq!(dir_entries(dir.path()), vec![path.clone()]);

        let mut w =
            TableWriter::create(Destination::File(path.clone()), Format::Csv, columns()).unwrap();
        w.write_row(&rows()[0]).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\n");
        w.finish().unwrap();
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .starts_with("src_ip,")
        );
    }

    #[cfg(unix)]
    #[test]
    fn new_files_are_world_readable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        write_table(&path, Format::Csv, &[]);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }

    #[test]
    fn bad_rows_are_errors_and_write_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut w =
            TableWriter::create(Destination::File(path.clone()), Format::Csv, columns()).unwrap();
        let mut row = rows()[0].clone();
        row[1] = Value::Float(443.0);
        match w.write_row(&row) {
            Err(OutputError::TypeMismatch {
                column,
                expected,
                found,
            }) => {
                assert_eq!(column, "dst_port");
                assert_eq!((expected, found), (ColumnType::Int, ColumnType::Float));
            }
            other => panic!("expected a type mismatch, got {other:?}"),
        }
        let err = w.write_row(&rows()[0][..2]).unwrap_err();
        assert!(matches!(
            err,
            OutputError::RowLength {
                expected: 5,
                found: 2
            }
        ));
        assert_eq!(
            err.to_string(),
            "a row has 2 values but the table has 5 columns"
        );
        assert_eq!(w.rows_written(), 0);
        w.write_row(&rows()[0]).unwrap();
        w.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "header and the one good row");
    }

    #[test]
    fn missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/t.csv");
        let err = TableWriter::create(Destination::File(path), Format::Csv, columns()).unwrap_err();
        assert!(matches!(err, OutputError::CreateTemp { .. }), "{err}");
        assert!(err.to_string().contains("no/such/dir/t.csv"));
    }
}
