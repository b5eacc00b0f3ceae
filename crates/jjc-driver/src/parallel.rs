//! Running one capture on several threads with the same output as one thread.
//!
//! Each of the `threads` workers walks the whole capture (a mapped classic pcap or pcapng
//! through the segments the workers decode once, anything else through its own reader over
//! the shared mapping) and
//! keeps the packets of its share of the partitions (see [`crate::scan`]);
//! the calling thread is worker 0, which also reports progress and counts. Workers encode the
//! rows of their ended flows themselves (text, or Parquet's binary cells) and hand them, batch
//! by batch, to the output ([`SharedOutput`]); whichever worker completes a batch puts its rows
//! in (ending-event time, partition, key) order — the order one thread writes them in — and
//! writes them.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use jjc_abi::Value;
use jjc_capture::CaptureReader;
use jjc_flow::{EndedFlow, FlowKey, FlowTable};
use jjc_kernel::Exec;
use jjc_output::RowEncoder;

use crate::error::PipelineError;
use crate::features::{CompiledFeatures, FlowState, KernelHandler};
use crate::pipeline::{RowWriter, discard, format_row};
use crate::read_front::ReadFront;
use crate::scan::{
    Batches, FlowTableOf, ROWS_IN_FLIGHT_BYTES, Report, Share, SharedWalk, Sharing, scan,
    scan_segments,
};
use crate::segments::{SEGMENT_BYTES, Segments, lock};
use crate::warmup::Warmup;

/// The settings of one parallel run.
pub(crate) struct Parallel<'a, F> {
    pub(crate) features: &'a CompiledFeatures,
    pub(crate) flow: &'a jjc_flow::FlowConfig,
    pub(crate) make_exec: F,
    /// Ended once the workers are started.
    pub(crate) warmup: Option<&'a Warmup>,
    /// The capture's segments, made ahead during start-up, if they were.
    pub(crate) segments: Option<Arc<Segments>>,
}

/// A row's cells: bytes an encoder made (a range of its batch part's bytes), or values.
pub(crate) enum Cells {
    Encoded(Range<usize>),
    Values(Vec<Value>),
}

impl Cells {
    /// Writes the row these cells are, started at `start_time` (for `--sort start`); `bytes`
    /// are the encoded bytes the range is in.
    pub(crate) fn write(
        &self,
        start_time: f64,
        bytes: &[u8],
        out: &mut RowWriter<'_>,
    ) -> Result<(), PipelineError> {
        match self {
            Cells::Encoded(range) => {
                out.push_encoded(start_time, bytes.get(range.clone()).unwrap_or_default())
            }
            Cells::Values(values) => out.push(start_time, values),
        }
    }
}

/// About how much memory rows waiting to be written hold, for the bounds on rows in flight:
/// their encoded `bytes`, the rows themselves, and their values' vectors.
pub(crate) fn rows_size<R>(rows: &[R], bytes: &[u8], cells: impl Fn(&R) -> &Cells) -> u64 {
    let values: usize = rows
        .iter()
        .map(|row| match cells(row) {
            Cells::Encoded(_) => 0,
            Cells::Values(values) => values.len() * std::mem::size_of::<Value>(),
        })
        .sum();
    let own = std::mem::size_of_val(rows);
    u64::try_from(bytes.len() + own + values).unwrap_or(u64::MAX)
}

/// Where a thread encodes the rows of its ended flows: the bytes an encoder makes, or values
/// when the sink takes values.
pub(crate) struct EncodedRows<'a> {
    pub(crate) encoder: Option<&'a mut RowEncoder>,
    pub(crate) label: Option<&'a str>,
    pub(crate) bytes: &'a mut Vec<u8>,
    pub(crate) values: &'a mut Vec<Value>,
}

impl EncodedRows<'_> {
    /// Encodes the row of each flow in `ended` (just drained from `table`), in order, and gives
    /// each flow and its cells to `keep`. On an error the flows left are discarded.
    pub(crate) fn encode<E: Exec>(
        &mut self,
        ended: &mut Vec<EndedFlow<FlowState>>,
        table: &mut FlowTableOf<'_, E>,
        mut keep: impl FnMut(&EndedFlow<FlowState>, Cells),
    ) -> Result<(), PipelineError> {
        let mut flows = ended.drain(..);
        for mut flow in flows.by_ref() {
            let start = self.bytes.len();
            let encoded = format_row(
                &mut flow,
                self.label,
                table,
                self.encoder.as_deref_mut(),
                self.bytes,
                self.values,
            );
            let cells = match encoded {
                Ok(true) => Cells::Encoded(start..self.bytes.len()),
                Ok(false) => Cells::Values(std::mem::take(self.values)),
                Err(e) => {
                    discard(flows, table);
                    return Err(e);
                }
            };
            keep(&flow, cells);
        }
        Ok(())
    }
}

/// A row with what orders it: the time of the event that ended its flow, its partition and
/// key, and its start time (for `--sort start`).
struct OrderedRow {
    event_time: f64,
    partition: u32,
    key: FlowKey,
    start_time: f64,
    cells: Cells,
}

/// One worker's part of batch `seq`, which is complete once `parts` workers handed theirs.
struct Part {
    seq: u64,
    parts: usize,
    rows: Vec<OrderedRow>,
    /// The encoded rows.
    bytes: Vec<u8>,
}

impl Part {
    /// About how much memory the part holds, for [`Written`]'s count of rows in flight.
    fn size(&self) -> u64 {
        rows_size(&self.rows, &self.bytes, |row| &row.cells)
    }
}

impl<F, E> Parallel<'_, F>
where
    F: Fn() -> E + Sync,
    E: Exec + Send,
{
    /// Runs `readers` as one capture: worker 0 on them, the others on `others` (one set of
    /// reopened readers each, so there are `others.len() + 1` workers).
    pub(crate) fn run_capture(
        &self,
        readers: &mut [CaptureReader],
        others: Vec<Vec<CaptureReader>>,
        label: Option<&str>,
        out: &mut RowWriter<'_>,
        report: Report<'_, '_>,
    ) -> Result<(), PipelineError> {
        let threads = others.len() + 1;
        let prepared = self.segments.clone();
        let reading = SharedReading::new(readers, self.flow.partitions(), threads, prepared);
        let lead = matches!(reading, SharedReading::Ring(_));
        let encoder = out.encoder();
        let output = SharedOutput::new(out);
        let result = std::thread::scope(|scope| {
            let output = &output;
            let written = &output.written;
            let reading = &reading;
            let mut workers = Vec::with_capacity(others.len());
            for (i, mut mine) in others.into_iter().enumerate() {
                let mut hand = Handing::new(output, encoder.clone(), label);
                let share = Share {
                    index: i + 1,
                    of: threads,
                    lead,
                };
                workers.push(scope.spawn(move || {
                    let stop_others = StopOthersUnlessDone(written, false);
                    let mut table = self.table()?;
                    let result = match reading {
                        SharedReading::Segments(segments, front) => scan_segments(
                            &mut table, &mut mine, share, segments, front, None, &mut hand,
                        ),
                        SharedReading::Ring(shared) => scan(
                            &mut table,
                            &mut mine,
                            share,
                            Sharing::Follow(shared),
                            None,
                            &mut hand,
                        ),
                    };
                    stop_others.done_if(result.is_ok());
                    result
                }));
            }
            if let Some(w) = self.warmup {
                w.end();
            }
            let mut hand = Handing::new(output, encoder, label);
            let share = Share {
                index: 0,
                of: threads,
                lead,
            };
            let stop_others = StopOthersUnlessDone(written, false);
            let mine = self.table().and_then(|mut table| {
                let report = Some(report);
                match reading {
                    SharedReading::Segments(segments, front) => scan_segments(
                        &mut table, readers, share, segments, front, report, &mut hand,
                    ),
                    SharedReading::Ring(shared) => scan(
                        &mut table,
                        readers,
                        share,
                        Sharing::Lead(shared),
                        report,
                        &mut hand,
                    ),
                }
            });
            stop_others.done_if(mine.is_ok());
            let stopped = || PipelineError::Config("a worker thread stopped unexpectedly".into());
            let mut result = mine;
            for w in workers {
                let theirs = w.join().unwrap_or_else(|_| Err(stopped()));
                result = result.and(theirs);
            }
            result
        });
        // An output error explains why the workers stopped: report it first.
        match output.into_error() {
            Some(e) => Err(e),
            None => result,
        }
    }

    fn table(&self) -> Result<FlowTableOf<'_, E>, PipelineError> {
        let handler = KernelHandler::new(self.features, (self.make_exec)());
        Ok(FlowTable::new(self.flow.clone(), handler)?)
    }
}

/// How the threads of one parallel run share the reading of its capture.
enum SharedReading {
    /// One mapped classic pcap or pcapng: decoded once, in segments; the read front says how
    /// far each thread walked.
    Segments(Arc<Segments>, ReadFront),
    /// Anything else: the leader decodes every record and the others pass what it publishes.
    Ring(SharedWalk),
}

impl SharedReading {
    /// The sharing of `readers` (one capture) by `threads` threads over `partitions`, with
    /// the segments made ahead for them if they fit. Only the leader's way makes a key ring
    /// (writing its 256 KB).
    fn new(
        readers: &[CaptureReader],
        partitions: usize,
        threads: usize,
        prepared: Option<Arc<Segments>>,
    ) -> SharedReading {
        if let Some(segments) = prepared.filter(|s| s.fits(partitions, threads)) {
            return SharedReading::Segments(segments, ReadFront::new(threads));
        }
        let pcap = match readers {
            [one] => one.mapped_capture(),
            _ => None,
        };
        match pcap {
            Some(pcap) => SharedReading::Segments(
                Arc::new(Segments::new(pcap, partitions, threads, SEGMENT_BYTES)),
                ReadFront::new(threads),
            ),
            None => SharedReading::Ring(SharedWalk::new(threads)),
        }
    }
}

/// A worker's side of the hand-over: formats the rows of ended flows and hands them to the
/// output, writing what is complete when no other worker is writing.
struct Handing<'h, 'o, 'w> {
    output: &'h SharedOutput<'o, 'w>,
    encoder: Option<RowEncoder>,
    label: Option<&'h str>,
    ended: Vec<EndedFlow<FlowState>>,
}

impl<'h, 'o, 'w> Handing<'h, 'o, 'w> {
    fn new(
        output: &'h SharedOutput<'o, 'w>,
        encoder: Option<RowEncoder>,
        label: Option<&'h str>,
    ) -> Self {
        Handing {
            output,
            encoder,
            label,
            ended: Vec::new(),
        }
    }
}

impl<E: Exec> Batches<E> for Handing<'_, '_, '_> {
    fn hand(
        &mut self,
        table: &mut FlowTableOf<'_, E>,
        seq: u64,
        parts: usize,
    ) -> Result<bool, PipelineError> {
        table.drain_ended(&mut self.ended);
        let written = &self.output.written;
        if written.failed() {
            // Another thread stopped the run: nothing more will be written.
            discard(self.ended.drain(..), table);
            return Ok(false);
        }
        let mut rows = Vec::with_capacity(self.ended.len());
        let mut bytes = Vec::new();
        let mut values = Vec::new();
        let mut rows_of = EncodedRows {
            encoder: self.encoder.as_mut(),
            label: self.label,
            bytes: &mut bytes,
            values: &mut values,
        };
        rows_of.encode(&mut self.ended, table, |flow, cells| {
            rows.push(OrderedRow {
                event_time: flow.event_time,
                partition: flow.partition,
                key: flow.key,
                start_time: flow.record.start_time,
                cells,
            });
        })?;
        let part = Part {
            seq,
            parts,
            rows,
            bytes,
        };
        written.handed(part.size());
        Ok(self.output.hand(part))
    }

    fn wait_for_output(&mut self, seq: u64, behind: u64) -> bool {
        self.output.written.wait_for(seq.saturating_sub(behind))
    }

    fn wait_for_room(&mut self, seq: u64, behind: u64) -> bool {
        self.output
            .written
            .wait_for_room(ROWS_IN_FLIGHT_BYTES, seq.saturating_sub(behind))
    }
}

/// The output of a parallel run, shared by its workers. A worker hands each part to the
/// inbox; if no worker is writing, it becomes the writer and writes every batch that is
/// complete, in order, until the inbox is empty. There is no output thread: on a machine
/// with as many cores as workers, one would take a core from a worker at every batch.
struct SharedOutput<'o, 'w> {
    /// Parts handed and not yet taken by the writer, and whether a worker is writing.
    inbox: Mutex<Inbox>,
    /// The batches being collected and the table they are written to: locked only by the
    /// worker that set [`Inbox::writing`], so never waited for.
    batches: Mutex<BatchWriter<'o, 'w>>,
    /// How far the output is, for workers that wait for it.
    written: Written,
}

/// What [`SharedOutput::inbox`] guards.
#[derive(Default)]
struct Inbox {
    parts: Vec<Part>,
    writing: bool,
}

impl<'o, 'w> SharedOutput<'o, 'w> {
    fn new(out: &'o mut RowWriter<'w>) -> Self {
        SharedOutput {
            inbox: Mutex::new(Inbox::default()),
            batches: Mutex::new(BatchWriter::new(out)),
            written: Written::default(),
        }
    }

    /// Hands `part` to the output, and writes what is complete if no other worker is
    /// writing; `false` once the run failed.
    fn hand(&self, part: Part) -> bool {
        let mut taken = {
            let mut inbox = lock(&self.inbox);
            inbox.parts.push(part);
            if inbox.writing {
                // The writer takes the part before it stops writing.
                return true;
            }
            inbox.writing = true;
            std::mem::take(&mut inbox.parts)
        };
        let mut batches = lock(&self.batches);
        loop {
            for part in taken.drain(..) {
                if let Err(e) = batches.take(part, &self.written) {
                    batches.error.get_or_insert(e);
                    self.written.fail();
                }
            }
            let mut inbox = lock(&self.inbox);
            if inbox.parts.is_empty() {
                inbox.writing = false;
                // What was taken is kept for the next parts.
                std::mem::swap(&mut inbox.parts, &mut taken);
                break;
            }
            std::mem::swap(&mut inbox.parts, &mut taken);
        }
        batches.error.is_none()
    }

    /// The error that stopped the output, if any.
    fn into_error(self) -> Option<PipelineError> {
        self.batches
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
            .error
    }
}

/// Marks the run failed when a thread ends without finishing its work (an error, or a panic
/// as it unwinds): no worker then waits for batches that will never be handed or written, and
/// the workers stop.
struct StopOthersUnlessDone<'w>(&'w Written, bool);

impl StopOthersUnlessDone<'_> {
    /// The walk ended: normally when `ok`.
    fn done_if(mut self, ok: bool) {
        self.1 = ok;
    }
}

impl Drop for StopOthersUnlessDone<'_> {
    fn drop(&mut self) {
        if !self.1 {
            self.0.fail();
        }
    }
}

/// How many batches the output has written and how many bytes of rows wait for it,
/// and a way to wait for either to change.
#[derive(Default)]
struct Written {
    state: Mutex<Output>,
    more: Condvar,
}

/// What [`Written`] guards.
#[derive(Default)]
struct Output {
    /// Batches written, or [`Written::FAILED`].
    count: u64,
    /// Bytes of rows handed to the output and not yet written ([`Part::size`]).
    in_flight: u64,
}

impl Written {
    /// The count once the output failed.
    const FAILED: u64 = u64::MAX;

    /// Sets the count (unless the run already failed, which stays), takes the rows written
    /// (`bytes`) off those in flight, and wakes the waiting workers.
    fn publish(&self, count: u64, bytes: u64) {
        if let Ok(mut out) = self.state.lock() {
            out.in_flight = out.in_flight.saturating_sub(bytes);
            if out.count != Written::FAILED {
                out.count = count;
            }
        }
        self.more.notify_all();
    }

    /// Marks the run failed and wakes the waiting workers.
    fn fail(&self) {
        if let Ok(mut out) = self.state.lock() {
            out.count = Written::FAILED;
        }
        self.more.notify_all();
    }

    /// Counts `bytes` of rows handed to the output.
    fn handed(&self, bytes: u64) {
        if let Ok(mut out) = self.state.lock() {
            out.in_flight = out.in_flight.saturating_add(bytes);
        }
    }

    /// Whether the run failed.
    fn failed(&self) -> bool {
        self.state
            .lock()
            .map_or(true, |out| out.count == Written::FAILED)
    }

    /// Waits until `count` batches are written; `false` if the run failed instead.
    fn wait_for(&self, count: u64) -> bool {
        let Ok(out) = self.state.lock() else {
            return false;
        };
        self.more
            .wait_while(out, |out| out.count < count)
            .is_ok_and(|out| out.count != Written::FAILED)
    }

    /// Waits until at most `limit` bytes of rows are in flight or `count` batches are
    /// written; `false` if the run failed.
    fn wait_for_room(&self, limit: u64, count: u64) -> bool {
        let Ok(out) = self.state.lock() else {
            return false;
        };
        self.more
            .wait_while(out, |out| out.in_flight > limit && out.count < count)
            .is_ok_and(|out| out.count != Written::FAILED)
    }
}

/// A batch being collected: how many parts came, of how many, and the parts.
struct Pending {
    came: usize,
    expected: usize,
    parts: Vec<Part>,
}

/// Writes the workers' rows: each batch, once complete, in (ending-event time, partition, key)
/// order, batches in order.
struct BatchWriter<'o, 'w> {
    out: &'o mut RowWriter<'w>,
    pending: BTreeMap<u64, Pending>,
    /// The next batch to write.
    next: u64,
    /// Each row of the batch being written, as (part, row), sorted.
    order: Vec<(usize, usize)>,
    /// The first error writing, after which nothing more is written.
    error: Option<PipelineError>,
}

impl<'o, 'w> BatchWriter<'o, 'w> {
    fn new(out: &'o mut RowWriter<'w>) -> Self {
        BatchWriter {
            out,
            pending: BTreeMap::new(),
            next: 0,
            order: Vec::new(),
            error: None,
        }
    }

    /// Takes in `part`, and writes every batch that is then complete and next, publishing in
    /// `written` how many batches are out.
    fn take(&mut self, part: Part, written: &Written) -> Result<(), PipelineError> {
        if self.error.is_some() {
            return Ok(());
        }
        let entry = self.pending.entry(part.seq).or_insert_with(|| Pending {
            came: 0,
            expected: part.parts,
            parts: Vec::new(),
        });
        entry.came += 1;
        entry.parts.push(part);
        while self
            .pending
            .get(&self.next)
            .is_some_and(|batch| batch.came == batch.expected)
        {
            let Some(batch) = self.pending.remove(&self.next) else {
                break;
            };
            let size = batch.parts.iter().map(Part::size).sum();
            self.order.clear();
            for (p, part) in batch.parts.iter().enumerate() {
                self.order.extend((0..part.rows.len()).map(|r| (p, r)));
            }
            let row = |&(p, r): &(usize, usize)| &batch.parts[p].rows[r];
            self.order.sort_by(|a, b| {
                let (a, b) = (row(a), row(b));
                a.event_time
                    .total_cmp(&b.event_time)
                    .then(a.partition.cmp(&b.partition))
                    .then(a.key.cmp(&b.key))
            });
            for &(p, r) in &self.order {
                let part = &batch.parts[p];
                let row = &part.rows[r];
                row.cells.write(row.start_time, &part.bytes, self.out)?;
            }
            self.next += 1;
            written.publish(self.next, size);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use jjc_abi::{MAX_VLANS, Value};
    use jjc_flow::FlowKey;

    use super::{Cells, OrderedRow, Part, SharedOutput, StopOthersUnlessDone, Written};
    use crate::config::SortOrder;
    use crate::error::PipelineError;
    use crate::pipeline::{RowSink, RowWriter};
    use crate::table::Table;

    /// A key told apart by its port.
    fn key(port: u16) -> FlowKey {
        FlowKey {
            lo_ip: [0; 16],
            hi_ip: [0; 16],
            lo_port: port,
            hi_port: 0,
            protocol: 6,
            ip_version: 4,
            vlan_count: 0,
            vlans: [0; MAX_VLANS],
        }
    }

    /// Worker `worker`'s part of batch `seq` of `parts`: a few rows, each with its batch,
    /// event time, partition (the worker) and key (its row number) as values, at event times
    /// that interleave with the other workers' rows.
    fn part(seq: u64, worker: usize, parts: usize) -> Part {
        let rows = (0..(seq as usize + worker) % 4)
            .map(|r| {
                let event_time = ((seq * 7 + worker as u64 * 13 + r as u64 * 5) % 17) as f64;
                OrderedRow {
                    event_time,
                    partition: worker as u32,
                    key: key(r as u16),
                    start_time: 0.0,
                    cells: Cells::Values(vec![
                        Value::Int(seq as i64),
                        Value::Float(event_time),
                        Value::Int(worker as i64),
                        Value::Int(r as i64),
                    ]),
                }
            })
            .collect();
        Part {
            seq,
            parts,
            rows,
            bytes: Vec::new(),
        }
    }

    #[test]
    fn workers_handing_at_once_write_every_row_once_batch_by_batch_in_order() {
        const WORKERS: usize = 4;
        const BATCHES: u64 = 400;
        let mut table = Table::default();
        let mut out = RowWriter::new(SortOrder::FlowEnd, &mut table);
        let output = SharedOutput::new(&mut out);
        std::thread::scope(|s| {
            for worker in 0..WORKERS {
                let output = &output;
                s.spawn(move || {
                    for seq in 0..BATCHES {
                        assert!(output.hand(part(seq, worker, WORKERS)));
                    }
                });
            }
        });
        assert!(output.into_error().is_none());
        let expected: Vec<Vec<Value>> = (0..BATCHES)
            .flat_map(|seq| {
                let mut rows: Vec<OrderedRow> = (0..WORKERS)
                    .flat_map(|w| part(seq, w, WORKERS).rows)
                    .collect();
                rows.sort_by(|a, b| {
                    a.event_time
                        .total_cmp(&b.event_time)
                        .then(a.partition.cmp(&b.partition))
                        .then(a.key.cmp(&b.key))
                });
                rows.into_iter().map(|row| match row.cells {
                    Cells::Values(values) => values,
                    Cells::Encoded(_) => unreachable!("values only"),
                })
            })
            .collect();
        assert!(expected.len() > 1000);
        assert_eq!(table.rows, expected);
    }

    /// A sink whose `fail_at`-th row fails.
    struct Failing {
        rows: usize,
        fail_at: usize,
    }

    impl RowSink for Failing {
        fn write_row(&mut self, _: &[Value]) -> Result<(), PipelineError> {
            self.rows += 1;
            if self.rows == self.fail_at {
                return Err(PipelineError::Config("disk full".into()));
            }
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_stops_the_output_and_is_reported() {
        let mut sink = Failing {
            rows: 0,
            fail_at: 5,
        };
        let mut out = RowWriter::new(SortOrder::FlowEnd, &mut sink);
        let output = SharedOutput::new(&mut out);
        let handed: Vec<bool> = (0..20).map(|seq| output.hand(part(seq, 0, 1))).collect();
        assert!(handed[0], "the first rows are written");
        assert!(!handed[19], "the output stops: {handed:?}");
        assert!(output.written.failed());
        let error = output.into_error().map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains("disk full")));
        assert_eq!(sink.rows, 5, "nothing is written after the failure");
    }

    #[test]
    fn a_worker_that_stops_early_releases_the_waiting_ones() {
        let written = Written::default();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| written.wait_for(5));
            // A worker ends on an error: its guard is dropped without `done_if(true)`.
            drop(StopOthersUnlessDone(&written, false));
            assert!(
                !waiter.join().unwrap(),
                "the waiter stops instead of waiting"
            );
        });
        // The failure stays, whatever the output publishes after it.
        written.publish(7, 0);
        assert!(!written.wait_for(3));
        assert!(!written.wait_for_room(0, 3));
    }

    #[test]
    fn a_worker_that_finishes_changes_nothing() {
        let written = Written::default();
        StopOthersUnlessDone(&written, false).done_if(true);
        written.publish(2, 0);
        assert!(written.wait_for(2));
    }

    #[test]
    fn a_worker_waits_for_room_until_the_output_writes_enough() {
        let written = Written::default();
        written.handed(300);
        written.handed(200);
        assert!(
            written.wait_for_room(500, 9),
            "500 bytes in flight fit a 500-byte bound"
        );
        std::thread::scope(|s| {
            let waiter = s.spawn(|| written.wait_for_room(250, 9));
            // Writing the first 300 bytes leaves 200 in flight: room enough.
            written.publish(1, 300);
            assert!(waiter.join().unwrap());
        });
        // Over the bound, a worker whose earlier batches are all written does not wait: the
        // output may be waiting for its next one.
        written.handed(1000);
        assert!(written.wait_for_room(250, 1));
        std::thread::scope(|s| {
            let waiter = s.spawn(|| written.wait_for_room(250, 2));
            written.publish(2, 0);
            assert!(waiter.join().unwrap(), "released once batch 2 is written");
        });
        std::thread::scope(|s| {
            let waiter = s.spawn(|| written.wait_for_room(250, 9));
            // A failed run releases a worker waiting for room, which then stops.
            written.fail();
            assert!(!waiter.join().unwrap());
        });
    }
}
