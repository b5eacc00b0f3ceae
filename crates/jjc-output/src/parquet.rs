//! Parquet: rows gathered into Arrow column builders, written as Snappy-compressed
//! record batches of at most [`BATCH_ROWS`] rows.
//!
//! A batch's columns are encoded and compressed on several threads at once (each column
//! chunk is independent), then put in the row group in schema order: most of a run's
//! Parquet work comes at its end, when the last batch is written and the other cores have
//! nothing left to do.

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use jjc_abi::{Column, ColumnType, Value};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowLeafColumn, ArrowRowGroupWriterFactory,
    compute_leaves,
};
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;

use crate::OutputError;
use crate::destination::Sink;
use crate::encode::{BinaryCells, RowBytes, RowEncoder, RowLayout, write_ip};

/// Rows per record batch: the builders never hold more than this many rows.
pub(crate) const BATCH_ROWS: usize = 65_536;

/// Encoded bytes after which a row group is closed (checked after each batch), bounding the
/// encoder's memory.
const ROW_GROUP_BYTES: usize = 128 * 1024 * 1024;

/// At most this many threads encode one batch's columns.
const MAX_ENCODING_THREADS: usize = 8;

/// The Arrow type of a column: Bool→Boolean, Int→Int64, Float→Float64, Str/Ip→Utf8.
fn arrow_type(ty: ColumnType) -> DataType {
    match ty {
        ColumnType::Bool => DataType::Boolean,
        ColumnType::Int => DataType::Int64,
        ColumnType::Float => DataType::Float64,
        ColumnType::Str | ColumnType::Ip => DataType::Utf8,
    }
}

/// The values of one column of the batch being gathered.
#[derive(Debug)]
enum ColumnBuilder {
    Bool(BooleanBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Text(StringBuilder),
}

impl ColumnBuilder {
    fn new(ty: ColumnType) -> ColumnBuilder {
        match ty {
            ColumnType::Bool => ColumnBuilder::Bool(BooleanBuilder::with_capacity(BATCH_ROWS)),
            ColumnType::Int => ColumnBuilder::Int(Int64Builder::with_capacity(BATCH_ROWS)),
            ColumnType::Float => ColumnBuilder::Float(Float64Builder::with_capacity(BATCH_ROWS)),
            ColumnType::Str | ColumnType::Ip => {
                ColumnBuilder::Text(StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 16))
            }
        }
    }

    /// Appends a value (already checked to be of the column's type; a value of another
    /// type cannot reach here).
    fn append(&mut self, value: &Value, scratch: &mut Vec<u8>) {
        match (self, value) {
            (ColumnBuilder::Bool(b), Value::Bool(v)) => b.append_value(*v),
            (ColumnBuilder::Int(b), Value::Int(v)) => b.append_value(*v),
            (ColumnBuilder::Float(b), Value::Float(v)) => b.append_value(*v),
            (ColumnBuilder::Text(b), Value::Str(v)) => b.append_value(v),
            (ColumnBuilder::Text(b), Value::Ip(ip)) => {
                scratch.clear();
                write_ip(scratch, *ip);
                // An address's text is ASCII.
                b.append_value(std::str::from_utf8(scratch).unwrap_or_default());
            }
            _ => {}
        }
    }

    /// Appends the next cell of encoded rows ([`RowLayout::Binary`]).
    fn append_binary(&mut self, cells: &mut BinaryCells<'_>) -> Result<(), OutputError> {
        match self {
            ColumnBuilder::Bool(b) => b.append_value(cells.bool()?),
            ColumnBuilder::Int(b) => b.append_value(cells.int()?),
            ColumnBuilder::Float(b) => b.append_value(cells.float()?),
            ColumnBuilder::Text(b) => b.append_value(cells.text()?),
        }
        Ok(())
    }

    /// Takes the gathered values as an array, leaving the builder empty.
    fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Bool(b) => Arc::new(b.finish()),
            ColumnBuilder::Int(b) => Arc::new(b.finish()),
            ColumnBuilder::Float(b) => Arc::new(b.finish()),
            ColumnBuilder::Text(b) => Arc::new(b.finish()),
        }
    }
}

/// Writes rows as a Parquet file (non-nullable columns, Snappy compression).
pub(crate) struct ParquetWriter {
    columns: Arc<[Column]>,
    file: SerializedFileWriter<Sink>,
    /// Makes the column writers of each row group.
    row_groups: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    /// The column writers of the row group being written, if one is open.
    open: Option<Vec<ArrowColumnWriter>>,
    builders: Vec<ColumnBuilder>,
    pending_rows: usize,
    /// An address's text, for a row given as values.
    scratch: Vec<u8>,
    /// Threads that encode a batch's columns.
    threads: usize,
}

impl std::fmt::Debug for ParquetWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetWriter")
            .field("schema", &self.schema)
            .field("pending_rows", &self.pending_rows)
            .finish_non_exhaustive()
    }
}

impl ParquetWriter {
    /// Starts the file with the columns' schema.
    pub(crate) fn new(sink: Sink, columns: &Arc<[Column]>) -> Result<ParquetWriter, OutputError> {
        let fields: Vec<Field> = columns
            .iter()
            .map(|c| Field::new(c.name.clone(), arrow_type(c.ty), false))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let mut props = WriterProperties::builder().set_compression(Compression::SNAPPY);
        // Float features (means, deviations, times) rarely repeat: a dictionary of them costs
        // time to build and, as it mostly holds every value once, bytes as well. Plain
        // encoding for them (100 MB, JJ-CORE: 124 -> 117 ms, 4.43 -> 4.12 MB).
        for column in columns.iter().filter(|c| c.ty == ColumnType::Float) {
            props = props
                .set_column_dictionary_enabled(ColumnPath::new(vec![column.name.clone()]), false);
        }
        // The Arrow writer makes the file (with the Arrow schema in its metadata); the row
        // groups are written here, column by column.
        let (file, row_groups) =
            ArrowWriter::try_new(sink, Arc::clone(&schema), Some(props.build()))?
                .into_serialized_writer()?;
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, MAX_ENCODING_THREADS);
        Ok(ParquetWriter {
            columns: Arc::clone(columns),
            file,
            row_groups,
            schema,
            open: None,
            builders: columns.iter().map(|c| ColumnBuilder::new(c.ty)).collect(),
            pending_rows: 0,
            scratch: Vec::new(),
            threads,
        })
    }

    /// Adds one row (already checked against the columns); writes a batch when full.
    pub(crate) fn write_row(&mut self, row: &[Value]) -> Result<(), OutputError> {
        for (builder, value) in self.builders.iter_mut().zip(row) {
            builder.append(value, &mut self.scratch);
        }
        self.pending_rows += 1;
        if self.pending_rows >= BATCH_ROWS {
            self.write_batch()?;
        }
        Ok(())
    }

    /// Encodes a batch's columns on up to `threads` threads (at least one).
    pub(crate) fn set_threads(&mut self, threads: usize) {
        self.threads = threads.clamp(1, MAX_ENCODING_THREADS);
    }

    /// An encoder of this table's rows for other threads: their cells in the compact
    /// binary form [`ParquetWriter::write_encoded`] reads.
    pub(crate) fn encoder(&self) -> RowEncoder {
        RowEncoder::new(RowBytes::new(Arc::clone(&self.columns), RowLayout::Binary))
    }

    /// Adds `rows` rows an [`encoder`](Self::encoder) of this writer made. Bytes it did not
    /// make are an error, after which the writer must not be used (the run has failed, and
    /// the file is not kept).
    pub(crate) fn write_encoded(&mut self, bytes: &[u8], rows: u64) -> Result<(), OutputError> {
        let mut cells = BinaryCells::new(bytes);
        for _ in 0..rows {
            for builder in &mut self.builders {
                builder.append_binary(&mut cells)?;
            }
            self.pending_rows += 1;
            if self.pending_rows >= BATCH_ROWS {
                self.write_batch()?;
            }
        }
        if !cells.is_empty() {
            return Err(OutputError::EncodedRows);
        }
        Ok(())
    }

    /// Encodes the gathered rows into the open row group (opening one if none is), and
    /// closes the group once its encoded size reaches [`ROW_GROUP_BYTES`].
    fn write_batch(&mut self) -> Result<(), OutputError> {
        let mut leaves = Vec::with_capacity(self.builders.len());
        for (field, builder) in self.schema.fields().iter().zip(&mut self.builders) {
            leaves.extend(compute_leaves(field, &builder.finish())?);
        }
        self.pending_rows = 0;
        let writers = match self.open.take() {
            Some(w) => w,
            None => self
                .row_groups
                .create_column_writers(self.file.flushed_row_groups().len())?,
        };
        let writers = on_threads(
            self.threads,
            writers.into_iter().zip(leaves).collect(),
            |(mut w, leaf): (ArrowColumnWriter, ArrowLeafColumn)| w.write(&leaf).map(|()| w),
        )?;
        let bytes: usize = writers
            .iter()
            .map(ArrowColumnWriter::get_estimated_total_bytes)
            .sum();
        self.open = Some(writers);
        if bytes >= ROW_GROUP_BYTES {
            self.close_row_group()?;
        }
        Ok(())
    }

    /// Finishes the open row group's column chunks and writes them, in schema order.
    fn close_row_group(&mut self) -> Result<(), OutputError> {
        let Some(writers) = self.open.take() else {
            return Ok(());
        };
        let chunks: Vec<ArrowColumnChunk> =
            on_threads(self.threads, writers, ArrowColumnWriter::close)?;
        let mut group = self.file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut group)?;
        }
        group.close()?;
        Ok(())
    }

    /// Writes the last batch, its row group and the footer, and hands back the sink.
    pub(crate) fn finish(mut self) -> Result<Sink, OutputError> {
        if self.pending_rows > 0 {
            self.write_batch()?;
        }
        self.close_row_group()?;
        Ok(self.file.into_inner()?)
    }
}

/// Applies `work` to every item on up to `threads` threads (the calling thread one of them)
/// and returns the results in the items' order, or the first error.
fn on_threads<T: Send, R: Send>(
    threads: usize,
    items: Vec<T>,
    work: impl Fn(T) -> Result<R, ParquetError> + Sync,
) -> Result<Vec<R>, ParquetError> {
    let threads = threads.clamp(1, items.len().max(1));
    // Item i goes to thread i % threads: neighbouring columns often cost alike.
    let mut shares: Vec<Vec<(usize, T)>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, item) in items.into_iter().enumerate() {
        if let Some(share) = shares.get_mut(i % threads) {
            share.push((i, item));
        }
    }
    let run = |share: Vec<(usize, T)>| -> Result<Vec<(usize, R)>, ParquetError> {
        share
            .into_iter()
            .map(|(i, item)| work(item).map(|r| (i, r)))
            .collect()
    };
    let mut done: Vec<(usize, R)> = Vec::new();
    std::thread::scope(|scope| -> Result<(), ParquetError> {
        let mut shares = shares.into_iter();
        let mine = shares.next().unwrap_or_default();
        let others: Vec<_> = shares.map(|share| scope.spawn(|| run(share))).collect();
        done.extend(run(mine)?);
        for handle in others {
            let part = handle
                .join()
                .map_err(|_| ParquetError::General("an encoding thread stopped".into()))??;
            done.extend(part);
        }
        Ok(())
    })?;
    done.sort_unstable_by_key(|(i, _)| *i);
    Ok(done.into_iter().map(|(_, r)| r).collect())
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::net::IpAddr;

    use arrow_array::RecordBatch;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::basic::Encoding;

    use crate::{Destination, Format, TableWriter};

    use super::*;

    fn columns() -> Vec<Column> {
        vec![
            Column::new("src_ip", ColumnType::Ip),
            Column::new("packets", ColumnType::Int),
            Column::new("mean", ColumnType::Float),
            Column::new("tls", ColumnType::Bool),
            Column::new("sni", ColumnType::Str),
        ]
    }

    fn row(i: usize) -> Vec<Value> {
        let ip: IpAddr = if i.is_multiple_of(2) {
            format!("10.0.{}.{}", i / 256 % 256, i % 256)
                .parse()
                .unwrap()
        } else {
            format!("2001:db8::{:x}:{:x}", i / 65536, i % 65536)
                .parse()
                .unwrap()
        };
        vec![
            Value::Ip(ip),
            Value::Int(i as i64 - 3),
            Value::Float(i as f64 / 10.0),
            Value::Bool(i.is_multiple_of(3)),
            Value::Str(format!("host-{i}.example.com")),
        ]
    }

    fn read_back(path: &std::path::Path) -> (SchemaRef, Vec<RecordBatch>) {
        let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
        let schema = Arc::clone(builder.schema());
        let batches = builder.build().unwrap().map(Result::unwrap).collect();
        (schema, batches)
    }

    #[test]
    fn parquet_round_trip_over_several_batches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let n = BATCH_ROWS + 1000;
        let mut w =
            TableWriter::create(Destination::File(path.clone()), Format::Parquet, columns())
                .unwrap();
        for i in 0..n {
            w.write_row(&row(i)).unwrap();
        }
        assert!(!path.exists(), "nothing appears before finish");
        w.finish().unwrap();

        let (schema, batches) = read_back(&path);
        let types: Vec<(&str, &DataType, bool)> = schema
            .fields()
            .iter()
            .map(|f| (f.name().as_str(), f.data_type(), f.is_nullable()))
            .collect();
        assert_eq!(
            types,
            vec![
                ("src_ip", &DataType::Utf8, false),
                ("packets", &DataType::Int64, false),
                ("mean", &DataType::Float64, false),
                ("tls", &DataType::Boolean, false),
                ("sni", &DataType::Utf8, false),
            ]
        );
        let mut i = 0;
        for batch in &batches {
            let ips = batch.column(0).as_string::<i32>();
            let packets = batch.column(1).as_primitive::<Int64Type>();
            let means = batch.column(2).as_primitive::<Float64Type>();
            let tls = batch.column(3).as_boolean();
            let sni = batch.column(4).as_string::<i32>();
            for r in 0..batch.num_rows() {
                let want = row(i);
                let Value::Ip(ip) = want[0] else { panic!() };
                assert_eq!(ips.value(r), ip.to_string());
                assert_eq!(want[1], Value::Int(packets.value(r)));
                assert_eq!(want[2], Value::Float(means.value(r)));
                assert_eq!(want[3], Value::Bool(tls.value(r)));
                assert_eq!(want[4], Value::Str(sni.value(r).to_owned()));
                i += 1;
            }
        }
        assert_eq!(i, n);

        let meta =
            parquet::file::reader::SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
        use parquet::file::reader::FileReader;
        let column = meta.metadata().row_group(0).column(0);
        assert_eq!(column.compression(), Compression::SNAPPY);
        // Floats are written plain, the other columns with a dictionary.
        let dictionary = |c: usize| {
            meta.metadata()
                .row_group(0)
                .column(c)
                .encodings()
                .any(|e| matches!(e, Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY))
        };
        assert!(!dictionary(2), "the float column has no dictionary");
        assert!(dictionary(1), "the int column has one");
    }

    #[test]
    fn work_on_threads_comes_back_in_order_or_as_the_first_error() {
        for threads in [1, 2, 3, 8] {
            let squares = on_threads(threads, (0..23u64).collect(), |x| Ok(x * x)).unwrap();
            assert_eq!(squares, (0..23u64).map(|x| x * x).collect::<Vec<_>>());
            let failed = on_threads(threads, (0..23u64).collect(), |x| {
                if x == 17 {
                    Err(ParquetError::General("seventeen".into()))
                } else {
                    Ok(x)
                }
            });
            assert!(matches!(failed, Err(ParquetError::General(m)) if m == "seventeen"));
        }
        assert!(on_threads(2, Vec::<u8>::new(), Ok).unwrap().is_empty());
    }

    #[test]
    fn empty_parquet_has_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.parquet");
        let w = TableWriter::create(Destination::File(path.clone()), Format::Parquet, columns())
            .unwrap();
        w.finish().unwrap();
        let (schema, batches) = read_back(&path);
        assert_eq!(schema.fields().len(), 5);
        assert_eq!(schema.field(1).name(), "packets");
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 0);
    }

    #[test]
    fn dropped_parquet_writer_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let mut w =
            TableWriter::create(Destination::File(path.clone()), Format::Parquet, columns())
                .unwrap();
        w.write_row(&row(1)).unwrap();
        drop(w);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
