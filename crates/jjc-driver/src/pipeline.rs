//! Running captures through the decoder and the flow table into rows.

use std::path::Path;
use std::sync::Arc;

use jjc_abi::{Column, ColumnType, Value};
use jjc_capture::CaptureReader;
use jjc_decode::{DecodeConfig, Decoder};
use jjc_flow::{EndedFlow, FlowTable};
use jjc_kernel::{Exec, Interpreter};

use crate::columns::{CAPTURE_COLUMN, identity_columns, push_identity};
use crate::config::{RunConfig, SortOrder};
use crate::error::PipelineError;
use crate::features::{Backend, CompiledFeatures, FlowState, KernelHandler};
use crate::inputs::Input;
use crate::parallel::Parallel;
use crate::summary::RunSummary;
use crate::table::Table;

/// Packets between two checkpoints, where idle flows are swept and ended flows written. Fixed,
/// so what is written when depends only on the capture.
pub(crate) const CHECKPOINT_PACKETS: u64 = 4096;

/// Records between two progress reports.
pub(crate) const PROGRESS_RECORDS: u64 = 65_536;

/// Where rows go. `Send`, so a run can write from its own output thread.
pub trait RowSink: Send {
    /// Takes one row (one value per column, in column order).
    fn write_row(&mut self, row: &[Value]) -> Result<(), PipelineError>;
}

impl RowSink for jjc_output::TableWriter {
    fn write_row(&mut self, row: &[Value]) -> Result<(), PipelineError> {
        jjc_output::TableWriter::write_row(self, row).map_err(PipelineError::from)
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
}

impl Pipeline {
    /// A pipeline with these settings: checks them, loads and checks the feature groups, and
    /// compiles the selected ones into one kernel for the configured backend.
    pub fn new(config: RunConfig) -> Result<Pipeline, PipelineError> {
        config.flow.validate()?;
        let features = CompiledFeatures::load(&config.features, config.backend)?;
        Ok(Pipeline {
            config,
            features: Arc::new(features),
        })
    }

    /// A pipeline running already compiled features.
    pub fn with_features(
        config: RunConfig,
        features: Arc<CompiledFeatures>,
    ) -> Result<Pipeline, PipelineError> {
        config.flow.validate()?;
        Ok(Pipeline { config, features })
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
        let mut readers = Vec::with_capacity(inputs.len());
        for input in inputs {
            readers.push(open(input)?);
        }
        let labels = inputs.iter().map(Input::display_name).collect();
        let several = inputs.len() > 1 && !self.config.continuous;
        Ok(OpenCaptures {
            readers,
            labels,
            several,
        })
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
        } = captures;
        let mut summary = RunSummary {
            captures: readers.len(),
            ..RunSummary::default()
        };
        let mut out = RowWriter::new(self.config.sort, sink);
        if self.config.continuous {
            self.run_capture(&mut readers, None, &mut out, &mut summary, &mut progress)?;
        } else {
            for (reader, label) in readers.iter_mut().zip(&labels) {
                let label = several.then_some(label.as_str());
                self.run_capture(
                    std::slice::from_mut(reader),
                    label,
                    &mut out,
                    &mut summary,
                    &mut progress,
                )?;
            }
        }
        summary.flows = out.finish()?;
        Ok(summary)
    }

    /// Runs the readers, in order, as one capture with one flow table, on the configured backend.
    fn run_capture(
        &self,
        readers: &mut [CaptureReader],
        label: Option<&str>,
        out: &mut RowWriter<'_>,
        summary: &mut RunSummary,
        progress: &mut Option<&mut dyn Progress>,
    ) -> Result<(), PipelineError> {
        let kernel = self.features.kernel();
        match (self.config.backend, self.features.native()) {
            (Backend::Jit, Some(native)) => {
                self.run_capture_on(|| native, readers, label, out, summary, progress)
            }
            _ => self.run_capture_on(
                || Interpreter::new(kernel),
                readers,
                label,
                out,
                summary,
                progress,
            ),
        }
    }

    /// Runs the readers as one capture on the backend `make_exec` makes: on several threads when
    /// asked and every input is memory-mapped, else on this one.
    fn run_capture_on<E: Exec + Send>(
        &self,
        make_exec: impl Fn() -> E + Sync,
        readers: &mut [CaptureReader],
        label: Option<&str>,
        out: &mut RowWriter<'_>,
        summary: &mut RunSummary,
        progress: &mut Option<&mut dyn Progress>,
    ) -> Result<(), PipelineError> {
        let threads = self.config.thread_count();
        let maps: Option<Vec<_>> = readers.iter().map(CaptureReader::mapped_bytes).collect();
        match maps {
            Some(maps) if threads > 1 => {
                let parallel = Parallel {
                    features: &self.features,
                    flow: &self.config.flow,
                    threads,
                    make_exec,
                };
                parallel.run_capture(readers, &maps, label, out, summary, progress)
            }
            _ => {
                let handler = KernelHandler::new(&self.features, make_exec());
                self.run_capture_with(handler, readers, label, out, summary, progress)
            }
        }
    }

    fn run_capture_with<E: Exec>(
        &self,
        handler: KernelHandler<'_, E>,
        readers: &mut [CaptureReader],
        label: Option<&str>,
        out: &mut RowWriter<'_>,
        summary: &mut RunSummary,
        progress: &mut Option<&mut dyn Progress>,
    ) -> Result<(), PipelineError> {
        let mut table = FlowTable::new(self.config.flow.clone(), handler)?;
        let mut decoder = Decoder::new(DecodeConfig::default());
        let mut ended = Vec::new();
        let mut next_checkpoint = CHECKPOINT_PACKETS;
        for reader in readers.iter_mut() {
            if let Some(p) = progress.as_deref_mut() {
                p.start_capture(reader.name(), reader.total_bytes());
            }
            let mut records = 0u64;
            while let Some(rec) = reader.next_record()? {
                records += 1;
                decoder.decode(
                    rec.link_type,
                    rec.ts,
                    rec.data,
                    rec.orig_len,
                    &mut |mut pkt| table.process(&mut pkt),
                );
                if table.packets() >= next_checkpoint {
                    next_checkpoint = table.packets() + CHECKPOINT_PACKETS;
                    table.sweep();
                    table.drain_ended(&mut ended);
                    out.write_flows(&mut ended, label, table.handler_mut())?;
                }
                if records.is_multiple_of(PROGRESS_RECORDS)
                    && let Some(p) = progress.as_deref_mut()
                {
                    p.advance(reader.bytes_read());
                }
            }
            if let Some(p) = progress.as_deref_mut() {
                p.advance(reader.bytes_read());
            }
            account_reader(reader, records, summary);
        }
        decoder.finish(&mut |mut pkt| table.process(&mut pkt));
        // End of input: first the flows the final clock has timed out, then the rest, one
        // partition at a time, so they never all wait at once.
        table.sweep();
        table.drain_ended(&mut ended);
        out.write_flows(&mut ended, label, table.handler_mut())?;
        for p in 0..table.partitions() {
            table.end_partition(p);
            table.drain_ended(&mut ended);
            out.write_flows(&mut ended, label, table.handler_mut())?;
        }
        summary.packets += table.packets();
        for (reason, n) in decoder.stats().iter_skipped() {
            summary.add_skipped(reason, n);
        }
        Ok(())
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

/// Builds the row of an ended flow: identity, the capture label, then the features.
pub(crate) fn flow_row<E: Exec>(
    flow: &mut EndedFlow<FlowState>,
    label: Option<&str>,
    handler: &mut KernelHandler<'_, E>,
    row: &mut Vec<Value>,
) {
    row.clear();
    push_identity(&flow.record, row);
    if let Some(l) = label {
        row.push(Value::Str(l.to_string()));
    }
    handler.finish(&flow.record, &mut flow.state, row);
}

/// Inputs opened and checked, ready to run.
pub struct OpenCaptures {
    readers: Vec<CaptureReader>,
    labels: Vec<String>,
    several: bool,
}

impl OpenCaptures {
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
    row: Vec<Value>,
    held: Vec<(f64, Vec<Value>)>,
    flows: u64,
}

impl<'s> RowWriter<'s> {
    fn new(sort: SortOrder, sink: &'s mut dyn RowSink) -> Self {
        RowWriter {
            sort,
            sink,
            row: Vec::new(),
            held: Vec::new(),
            flows: 0,
        }
    }

    fn write_flows<E: Exec>(
        &mut self,
        ended: &mut Vec<EndedFlow<FlowState>>,
        label: Option<&str>,
        handler: &mut KernelHandler<'_, E>,
    ) -> Result<(), PipelineError> {
        let mut row = std::mem::take(&mut self.row);
        for mut flow in ended.drain(..) {
            flow_row(&mut flow, label, handler, &mut row);
            self.push(flow.record.start_time, &row)?;
        }
        self.row = row;
        Ok(())
    }

    /// Writes one flow's row (or holds it, for `--sort start`).
    pub(crate) fn push(&mut self, start_time: f64, row: &[Value]) -> Result<(), PipelineError> {
        self.flows += 1;
        match self.sort {
            SortOrder::FlowEnd => self.sink.write_row(row),
            SortOrder::Start => {
                self.held.push((start_time, row.to_vec()));
                Ok(())
            }
        }
    }

    /// Writes what was held and returns the number of flows.
    fn finish(mut self) -> Result<u64, PipelineError> {
        self.held.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (_, row) in &self.held {
            self.sink.write_row(row)?;
        }
        Ok(self.flows)
    }
}
