//! Running captures through the decoder and the flow table into rows.

use std::path::Path;
use std::sync::Arc;

use jjc_abi::{CellSink, Column, ColumnType, Value};
use jjc_capture::CaptureReader;
use jjc_flow::{EndedFlow, FlowTable};
use jjc_kernel::{Exec, Interpreter};
use jjc_output::RowEncoder;

use crate::at_once::{self, AtOnce};
use crate::columns::{CAPTURE_COLUMN, emit_identity, identity_columns};
use crate::config::{RunConfig, SortOrder};
use crate::error::PipelineError;
use crate::features::{Backend, CompiledFeatures, FlowState, KernelHandler};
use crate::inputs::Input;
use crate::parallel::Parallel;
use crate::scan::{Batches, FlowTableOf, Report, Share, Sharing, scan};
use crate::segments::{SEGMENT_BYTES, Segments};
use crate::summary::RunSummary;
use crate::table::Table;
use crate::warmup::Warmup;

/// Packets between two checkpoints, where idle flows are swept and ended flows written. Fixed,
/// so what is written when depends only on the capture.
pub(crate) const CHECKPOINT_PACKETS: u64 = 4096;

/// Records between two progress reports.
pub(crate) const PROGRESS_RECORDS: u64 = 65_536;

/// Where rows go. `Send`, so that any worker of a parallel run can write them.
pub trait RowSink: Send {
    /// Takes one row (one value per column, in column order).
    fn write_row(&mut self, row: &[Value]) -> Result<(), PipelineError>;

    /// An encoder of this sink's rows that other threads can run, if the sink takes encoded
    /// rows ([`RowSink::write_encoded`]: text, or Parquet's binary cells); the default is
    /// `None`: rows come as values.
    fn encoder(&self) -> Option<RowEncoder> {
        None
    }

    /// Takes `rows` rows encoded by this sink's [`RowSink::encoder`]. Only called on sinks
    /// that have one; the default is an error.
    fn write_encoded(&mut self, bytes: &[u8], rows: u64) -> Result<(), PipelineError> {
        let _ = (bytes, rows);
        Err(PipelineError::Output(jjc_output::OutputError::EncodedRows))
    }
}

impl RowSink for jjc_output::TableWriter {
    fn write_row(&mut self, row: &[Value]) -> Result<(), PipelineError> {
        jjc_output::TableWriter::write_row(self, row).map_err(PipelineError::from)
    }

    fn encoder(&self) -> Option<RowEncoder> {
        Some(jjc_output::TableWriter::encoder(self))
    }

    fn write_encoded(&mut self, bytes: &[u8], rows: u64) -> Result<(), PipelineError> {
        jjc_output::TableWriter::write_encoded(self, bytes, rows).map_err(PipelineError::from)
    }
}

/// Told how far a run is, now and then (a progress bar).
pub trait Progress {
    /// A new capture starts; `total_bytes` is its size when known.
    fn start_capture(&mut self, name: &str, total_bytes: Option<u64>);
    /// `bytes` of the current capture have been read.
    fn advance(&mut self, bytes: u64);
}

/// A configured pipeline: captures in, one row per flow out.
#[derive(Debug, Clone)]
pub struct Pipeline {
    config: RunConfig,
    features: Arc<CompiledFeatures>,
    /// Keeps the other cores awake from the start until a run's workers start.
    warmup: Option<Warmup>,
}

impl Pipeline {
    /// A pipeline with these settings: checks them, loads and checks the feature groups, and
    /// compiles the selected ones into one kernel for the configured backend.
    ///
    /// When its runs may use more than one core, it also starts a short-lived thread per
    /// other core that keeps that core awake until a run's workers start (at most 50 ms, and
    /// no longer than the pipeline lives): on virtual machines a halted core otherwise starts
    /// a worker milliseconds late.
    pub fn new(config: RunConfig) -> Result<Pipeline, PipelineError> {
        config.flow.validate()?;
        let warmup = warmup_for(&config, None);
        let features = CompiledFeatures::load(&config.features, config.backend)?;
        Ok(Pipeline {
            config,
            features: Arc::new(features),
            warmup,
        })
    }

    /// [`Pipeline::new`] for captures already opened: when they are one capture that will
    /// run on several threads, the warm-up thread makes its first segments while this
    /// thread loads the features, which the segments do not need.
    pub fn new_for(
        config: RunConfig,
        captures: &mut OpenCaptures,
    ) -> Result<Pipeline, PipelineError> {
        config.flow.validate()?;
        let head_start = captures.prepare_segments(&config).map(|segments| {
            Box::new(move || segments.make_ahead(HEAD_START_SEGMENTS)) as Box<dyn FnOnce() + Send>
        });
        let warmup = warmup_for(&config, head_start);
        let features = CompiledFeatures::load(&config.features, config.backend)?;
        Ok(Pipeline {
            config,
            features: Arc::new(features),
            warmup,
        })
    }

    /// A pipeline running already compiled features (with the same warm-up as
    /// [`Pipeline::new`]).
    pub fn with_features(
        config: RunConfig,
        features: Arc<CompiledFeatures>,
    ) -> Result<Pipeline, PipelineError> {
        config.flow.validate()?;
        let warmup = warmup_for(&config, None);
        Ok(Pipeline {
            config,
            features,
            warmup,
        })
    }

    /// The compiled features.
    pub fn features(&self) -> &CompiledFeatures {
        &self.features
    }

    /// The settings.
    pub fn config(&self) -> &RunConfig {
        &self.config
    }

    /// The output columns; `several_inputs` adds the `capture` column after the identity ones.
    pub fn columns(&self, several_inputs: bool) -> Vec<Column> {
        let mut cols = identity_columns();
        if several_inputs {
            cols.push(Column::new(CAPTURE_COLUMN, ColumnType::Str));
        }
        cols.extend(self.features.columns().iter().cloned());
        cols
    }

    /// Reads one capture file and returns its feature table (JoyfulJay's
    /// `Pipeline(config).process_pcap(path)`). A damaged capture gives the rows read before
    /// the damage, unless `strict` is set.
    pub fn process_pcap(&self, path: impl AsRef<Path>) -> Result<Table, PipelineError> {
        let mut table = Table::new(self.columns(false));
        let captures = self.open(&[Input::File(path.as_ref().to_path_buf())])?;
        let summary = self.run(captures, &mut table, None)?;
        if self.config.strict
            && let Some(d) = summary.damage.first()
        {
            return Err(PipelineError::Strict(d.clone()));
        }
        Ok(table)
    }

    /// Opens every input, checking that each is a capture, before anything is read or written.
    pub fn open(&self, inputs: &[Input]) -> Result<OpenCaptures, PipelineError> {
        OpenCaptures::open(&self.config, inputs)
    }

    /// Runs opened captures into `sink`: each input is its own capture with its own flows,
    /// unless the config says `continuous`. Rows match [`Pipeline::columns`] with
    /// [`OpenCaptures::has_capture_column`].
    pub fn run(
        &self,
        captures: OpenCaptures,
        sink: &mut dyn RowSink,
        mut progress: Option<&mut dyn Progress>,
    ) -> Result<RunSummary, PipelineError> {
        let OpenCaptures {
            mut readers,
            labels,
            several,
            segments,
        } = captures;
        let mut segments = segments;
        let mut summary = RunSummary {
            captures: readers.len(),
            ..RunSummary::default()
        };
        let mut out = RowWriter::new(self.config.sort, sink);
        if self.config.continuous {
            let segments = segments.take();
            self.run_capture(
                &mut readers,
                None,
                &mut out,
                &mut summary,
                &mut progress,
                segments,
            )?;
        } else {
            let labels: Vec<Option<&str>> = labels
                .iter()
                .map(|l| several.then_some(l.as_str()))
                .collect();
            let threads = self.config.thread_count();
            let fit: Vec<bool> = readers
                .iter()
                .map(|r| at_once::fits(r.total_bytes()))
                .collect();
            for (range, at_once) in at_once::schedule(&fit, threads) {
                let (readers, labels) = (&mut readers[range.clone()], &labels[range]);
                if at_once {
                    self.run_at_once(
                        readers,
                        labels,
                        threads,
                        &mut out,
                        &mut summary,
                        &mut progress,
                    )?;
                } else {
                    let label = labels.first().copied().flatten();
                    let segments = segments.take();
                    self.run_capture(
                        readers,
                        label,
                        &mut out,
                        &mut summary,
                        &mut progress,
                        segments,
                    )?;
                }
            }
        }
        summary.flows = out.finish()?;
        Ok(summary)
    }

    /// Runs each of `readers` as its own capture, several at once on `threads` threads (see
    /// [`crate::at_once`]), on the configured backend.
    fn run_at_once(
        &self,
        readers: &mut [CaptureReader],
        labels: &[Option<&str>],
        threads: usize,
        out: &mut RowWriter<'_>,
        summary: &mut RunSummary,
        progress: &mut Option<&mut dyn Progress>,
    ) -> Result<(), PipelineError> {
        let kernel = self.features.kernel();
        let warmup = self.warmup.as_ref();
        let (features, flow) = (&*self.features, &self.config.flow);
        match (self.config.backend, self.features.native()) {
            (Backend::Jit, Some(native)) => AtOnce {
                features,
                flow,
                make_exec: || native,
                warmup,
                threads,
            }
            .run(readers, labels, out, summary, progress),
            _ => AtOnce {
                features,
                flow,
                make_exec: || Interpreter::new(kernel),
                warmup,
                threads,
            }
            .run(readers, labels, out, summary, progress),
        }
    }

    /// Runs the readers, in order, as one capture with one flow table, on the configured backend
    /// (with the segments made ahead for them, if any).
    fn run_capture(
        &self,
        readers: &mut [CaptureReader],
        label: Option<&str>,
        out: &mut RowWriter<'_>,
        summary: &mut RunSummary,
        progress: &mut Option<&mut dyn Progress>,
        segments: Option<Arc<Segments>>,
    ) -> Result<(), PipelineError> {
        let kernel = self.features.kernel();
        let at = (readers, label, out, summary, progress, segments);
        match (self.config.backend, self.features.native()) {
            (Backend::Jit, Some(native)) => self.run_capture_on(|| native, at),
            _ => self.run_capture_on(|| Interpreter::new(kernel), at),
        }
    }

    /// Runs the readers as one capture on the backend `make_exec` makes: on several threads when
    /// asked and every input is memory-mapped (each thread reads it whole), else on this one.
    fn run_capture_on<E: Exec + Send>(
        &self,
        make_exec: impl Fn() -> E + Sync,
        (readers, label, out, summary, progress, segments): CaptureRun<'_, '_, '_, '_, '_, '_, '_>,
    ) -> Result<(), PipelineError> {
        let report = Report { summary, progress };
        let partitions = self.config.flow.partitions();
        let bytes = readers
            .iter()
            .map(CaptureReader::total_bytes)
            .try_fold(0u64, |sum, b| Some(sum.saturating_add(b?)));
        let threads = self.config.threads_for(bytes).clamp(1, partitions);
        if threads > 1
            && let Some(others) = reopen(readers, threads - 1)?
        {
            let parallel = Parallel {
                features: &self.features,
                flow: &self.config.flow,
                make_exec,
                warmup: self.warmup.as_ref(),
                segments,
            };
            return parallel.run_capture(readers, others, label, out, report);
        }
        if let Some(w) = &self.warmup {
            w.end();
        }
        let handler = KernelHandler::new(&self.features, make_exec());
        let mut table = FlowTable::new(self.config.flow.clone(), handler)?;
        let mut direct = Direct {
            out,
            label,
            ended: Vec::new(),
        };
        scan(
            &mut table,
            readers,
            Share::ALL,
            Sharing::Alone,
            Some(report),
            &mut direct,
        )
    }
}

/// How many segments the warm-up thread makes ahead ([`Pipeline::new_for`]): about what it
/// can make while the features load from the kernel cache (a segment is about a millisecond
/// of work).
const HEAD_START_SEGMENTS: usize = 2;

/// One capture's run, as [`Pipeline::run_capture`] hands it on: its readers, label, output,
/// summary, progress and the segments made ahead for it.
type CaptureRun<'r, 'l, 'o, 's, 'm, 'p, 'q> = (
    &'r mut [CaptureReader],
    Option<&'l str>,
    &'o mut RowWriter<'s>,
    &'m mut RunSummary,
    &'p mut Option<&'q mut dyn Progress>,
    Option<Arc<Segments>>,
);

/// A warm-up of the cores beyond the first that a run of `config` will use, if any; its first
/// thread runs `head_start` first.
fn warmup_for(config: &RunConfig, head_start: Option<Box<dyn FnOnce() + Send>>) -> Option<Warmup> {
    if config.threads == 1 {
        return None;
    }
    let cores = crate::config::cores();
    let threads = match config.threads {
        0 => cores,
        n => n.min(cores),
    };
    (threads > 1).then(|| Warmup::start(threads - 1, head_start))
}

/// `copies` more sets of readers over the same captures, from their start; `None` when one of
/// them is a stream, which only one thread can read.
fn reopen(
    readers: &[CaptureReader],
    copies: usize,
) -> Result<Option<Vec<Vec<CaptureReader>>>, PipelineError> {
    let mut sets = Vec::with_capacity(copies);
    for _ in 0..copies {
        let mut set = Vec::with_capacity(readers.len());
        for reader in readers {
            match reader.reopen() {
                Some(again) => set.push(again?),
                None => return Ok(None),
            }
        }
        sets.push(set);
    }
    Ok(Some(sets))
}

/// One thread's hand-over: ended flows become rows written at once, in the order the table
/// hands them (ending-event time, partition, key).
struct Direct<'o, 's, 'l> {
    out: &'o mut RowWriter<'s>,
    label: Option<&'l str>,
    ended: Vec<EndedFlow<FlowState>>,
}

impl<E: Exec> Batches<E> for Direct<'_, '_, '_> {
    fn hand(
        &mut self,
        table: &mut FlowTableOf<'_, E>,
        _: u64,
        _: usize,
    ) -> Result<bool, PipelineError> {
        table.drain_ended(&mut self.ended);
        self.out.write_flows(&mut self.ended, self.label, table)?;
        Ok(true)
    }

    fn wait_for_output(&mut self, _: u64, _: u64) -> bool {
        true
    }

    fn wait_for_room(&mut self, _: u64, _: u64) -> bool {
        true
    }
}

/// Adds what a finished reader read, and how it ended, to the summary.
pub(crate) fn account_reader(reader: &CaptureReader, records: u64, summary: &mut RunSummary) {
    summary.records += records;
    if let Some(d) = reader.damage() {
        summary.damage.push(format!("{}: {d}", reader.name()));
    }
    let stats = reader.stats();
    if stats.fractions_carried > 0 {
        summary.notes.push(format!(
            "{}: {} record times had a fraction of a second out of range; it was carried into the seconds",
            reader.name(),
            stats.fractions_carried
        ));
    }
}

/// Gives `sink` the row of an ended flow (just drained from `table`): identity, the capture
/// label, then the features.
pub(crate) fn emit_row<E: Exec>(
    flow: &mut EndedFlow<FlowState>,
    label: Option<&str>,
    table: &mut FlowTableOf<'_, E>,
    sink: &mut impl CellSink,
) {
    emit_identity(&flow.record, sink);
    if let Some(l) = label {
        sink.str(l);
    }
    let (handler, slots) = table.ended_state(flow);
    handler.finish(&flow.record, &mut flow.state, slots, sink);
}

/// The row of an ended flow, as the bytes `encoder` appends to `text` (`true`), or, without an
/// encoder, as values in `values` (cleared first).
pub(crate) fn format_row<E: Exec>(
    flow: &mut EndedFlow<FlowState>,
    label: Option<&str>,
    table: &mut FlowTableOf<'_, E>,
    encoder: Option<&mut RowEncoder>,
    text: &mut Vec<u8>,
    values: &mut Vec<Value>,
) -> Result<bool, PipelineError> {
    match encoder {
        Some(encoder) => {
            encoder.encode_cells(text, |cells| emit_row(flow, label, table, cells))?;
            Ok(true)
        }
        None => {
            values.clear();
            emit_row(flow, label, table, values);
            Ok(false)
        }
    }
}

/// Frees the states of flows just drained from `table` that will not be written (the run
/// stopped).
pub(crate) fn discard<E: Exec>(
    flows: impl IntoIterator<Item = EndedFlow<FlowState>>,
    table: &mut FlowTableOf<'_, E>,
) {
    for flow in flows {
        let (handler, slots) = table.ended_state(&flow);
        handler.discard(slots);
    }
}

/// Inputs opened and checked, ready to run.
pub struct OpenCaptures {
    readers: Vec<CaptureReader>,
    labels: Vec<String>,
    several: bool,
    /// The segments of a lone capture that runs on several threads, once prepared
    /// ([`Pipeline::new_for`]), for the run to walk.
    segments: Option<Arc<Segments>>,
}

impl OpenCaptures {
    /// Opens every input, checking that each is a capture, before anything is read or
    /// written (`config` says whether several inputs are one capture).
    pub fn open(config: &RunConfig, inputs: &[Input]) -> Result<OpenCaptures, PipelineError> {
        let mut readers = Vec::with_capacity(inputs.len());
        for input in inputs {
            readers.push(open(input)?);
        }
        let labels = inputs.iter().map(Input::display_name).collect();
        let several = inputs.len() > 1 && !config.continuous;
        Ok(OpenCaptures {
            readers,
            labels,
            several,
            segments: None,
        })
    }

    /// The segments a run of `config` will walk, made now and kept for the run: when the
    /// inputs are one mapped capture that runs on several threads (as
    /// `Pipeline::run_capture_on` decides), else `None`.
    fn prepare_segments(&mut self, config: &RunConfig) -> Option<Arc<Segments>> {
        let [one] = &self.readers[..] else {
            return None;
        };
        let partitions = config.flow.partitions();
        let threads = config.threads_for(one.total_bytes()).clamp(1, partitions);
        if threads < 2 {
            return None;
        }
        let pcap = one.mapped_capture()?;
        let segments = Arc::new(Segments::new(pcap, partitions, threads, SEGMENT_BYTES));
        self.segments = Some(Arc::clone(&segments));
        Some(segments)
    }

    /// Whether the run's rows have a `capture` column: several inputs that are each their own
    /// capture (with `continuous` they are one capture).
    pub fn has_capture_column(&self) -> bool {
        self.several
    }
}

/// Opens one input, checking that it is a capture.
fn open(input: &Input) -> Result<CaptureReader, PipelineError> {
    Ok(match input {
        Input::File(p) => CaptureReader::open(p)?,
        Input::Stdin => CaptureReader::from_stream("-", Box::new(std::io::stdin()))?,
    })
}

/// Turns ended flows into rows, in flow-end order or held for sorting by start.
pub(crate) struct RowWriter<'s> {
    sort: SortOrder,
    sink: &'s mut dyn RowSink,
    /// The sink's row encoder, when it takes encoded rows.
    encoder: Option<RowEncoder>,
    /// The row being built: as values, or encoded.
    row: Vec<Value>,
    text: Vec<u8>,
    held: Vec<(f64, Held)>,
    flows: u64,
}

/// A row held for `--sort start`: as values, or as the bytes an encoder made.
enum Held {
    Values(Vec<Value>),
    Encoded(Vec<u8>),
}

impl<'s> RowWriter<'s> {
    pub(crate) fn new(sort: SortOrder, sink: &'s mut dyn RowSink) -> Self {
        RowWriter {
            sort,
            encoder: sink.encoder(),
            sink,
            row: Vec::new(),
            text: Vec::new(),
            held: Vec::new(),
            flows: 0,
        }
    }

    /// Writes the rows of flows just drained from `table`, in order.
    fn write_flows<E: Exec>(
        &mut self,
        ended: &mut Vec<EndedFlow<FlowState>>,
        label: Option<&str>,
        table: &mut FlowTableOf<'_, E>,
    ) -> Result<(), PipelineError> {
        let mut flows = ended.drain(..);
        let mut result = Ok(());
        for mut flow in flows.by_ref() {
            let start = flow.record.start_time;
            self.text.clear();
            result = format_row(
                &mut flow,
                label,
                table,
                self.encoder.as_mut(),
                &mut self.text,
                &mut self.row,
            )
            .and_then(|encoded| {
                if encoded {
                    let text = std::mem::take(&mut self.text);
                    let written = self.push_encoded(start, &text);
                    self.text = text;
                    written
                } else {
                    let row = std::mem::take(&mut self.row);
                    let written = self.push(start, &row);
                    self.row = row;
                    written
                }
            });
            if result.is_err() {
                break;
            }
        }
        discard(flows, table);
        result
    }

    /// Writes one flow's row (or holds it, for `--sort start`).
    pub(crate) fn push(&mut self, start_time: f64, row: &[Value]) -> Result<(), PipelineError> {
        self.flows += 1;
        match self.sort {
            SortOrder::FlowEnd => self.sink.write_row(row),
            SortOrder::Start => {
                self.held.push((start_time, Held::Values(row.to_vec())));
                Ok(())
            }
        }
    }

    /// The sink's row encoder for other threads, if it takes encoded rows.
    pub(crate) fn encoder(&self) -> Option<RowEncoder> {
        self.encoder.clone()
    }

    /// Writes one flow's row as encoded by [`RowWriter::encoder`] (or holds it).
    pub(crate) fn push_encoded(
        &mut self,
        start_time: f64,
        text: &[u8],
    ) -> Result<(), PipelineError> {
        self.flows += 1;
        match self.sort {
            SortOrder::FlowEnd => self.sink.write_encoded(text, 1),
            SortOrder::Start => {
                self.held.push((start_time, Held::Encoded(text.to_vec())));
                Ok(())
            }
        }
    }

    /// Writes what was held and returns the number of flows.
    fn finish(mut self) -> Result<u64, PipelineError> {
        self.held.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (_, row) in &self.held {
            match row {
                Held::Values(values) => self.sink.write_row(values)?,
                Held::Encoded(text) => self.sink.write_encoded(text, 1)?,
            }
        }
        Ok(self.flows)
    }
}
