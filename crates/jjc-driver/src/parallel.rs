//! Running one capture on several threads with the same output as one thread.
//!
//! This thread reads and decodes every record (the cheap part) and routes each packet, with its
//! key, key hash and the capture clock at that packet, to the worker that owns the packet's
//! partition (`partition % threads`). Each worker runs a flow table and the feature kernel for
//! its partitions only; since a partition sees exactly the packets, clocks and checkpoints it
//! would see on one thread, it ends the same flows with the same values. At every checkpoint
//! (a fixed packet count) the workers hand back the rows of the flows that ended; this thread
//! puts each checkpoint's rows in (ending-event time, key) order and writes them — the order
//! one thread writes them in.
//!
//! Packets cross threads as views into the memory-mapped capture: no bytes are copied.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

use jjc_abi::{PacketView, Value};
use jjc_capture::{CaptureReader, MappedBytes};
use jjc_decode::{DecodeConfig, Decoder};
use jjc_flow::{FlowKey, FlowTable, partition_hash, partition_of};
use jjc_kernel::Exec;

use crate::error::PipelineError;
use crate::features::{CompiledFeatures, KernelHandler};
use crate::pipeline::{
    CHECKPOINT_PACKETS, PROGRESS_RECORDS, Progress, RowWriter, account_reader, flow_row,
};
use crate::summary::RunSummary;

/// Packets per message to a worker.
const BATCH: usize = 512;
/// Messages waiting per worker before this thread waits for it (bounds memory).
const QUEUE: usize = 64;

/// A packet on its way to a worker.
struct Routed<'m> {
    pkt: PacketView<'m>,
    key: FlowKey,
    hash: u64,
    clock: f64,
}

/// What a worker is told.
enum ToWorker<'m> {
    /// Packets of its partitions, in file order.
    Packets(Vec<Routed<'m>>),
    /// A checkpoint: sweep at this clock and hand back the rows of the flows that ended.
    Checkpoint { seq: u64, clock: f64 },
    /// The end of the capture: end every flow and hand back the rows.
    End { seq: u64, clock: f64 },
}

/// A row with what orders it: the time of the event that ended its flow, its partition and key,
/// and its start time (for `--sort start`).
struct OrderedRow {
    event_time: f64,
    partition: u32,
    key: FlowKey,
    start_time: f64,
    values: Vec<Value>,
}

/// What a worker hands back: the rows of batch `seq`, which is complete once `expected`
/// workers handed theirs back (every worker for a checkpoint; the owner alone for one
/// partition's flows at the end of input).
struct Done {
    seq: u64,
    expected: usize,
    rows: Vec<OrderedRow>,
}

/// The settings of one parallel run.
pub(crate) struct Parallel<'a, F> {
    pub(crate) features: &'a CompiledFeatures,
    pub(crate) flow: &'a jjc_flow::FlowConfig,
    pub(crate) threads: usize,
    pub(crate) make_exec: F,
}

impl<F, E> Parallel<'_, F>
where
    F: Fn() -> E + Sync,
    E: Exec + Send,
{
    /// Runs `readers` (all memory-mapped, `maps` their mappings) as one capture.
    pub(crate) fn run_capture(
        &self,
        readers: &mut [CaptureReader],
        maps: &[MappedBytes],
        label: Option<&str>,
        out: &mut RowWriter<'_>,
        summary: &mut RunSummary,
        progress: &mut Option<&mut dyn Progress>,
    ) -> Result<(), PipelineError> {
        let partitions = FlowTable::new(self.flow.clone(), jjc_flow::NoFeatures)?.partitions();
        let threads = self.threads.clamp(1, partitions);
        let failed = AtomicBool::new(false);
        let written = AtomicU64::new(0);
        std::thread::scope(|scope| {
            let (done_tx, done_rx) = channel::<Done>();
            let (recycle_tx, recycle_rx) = channel::<Vec<Routed<'_>>>();
            let mut workers = Vec::with_capacity(threads);
            for _ in 0..threads {
                let (tx, rx) = sync_channel::<ToWorker<'_>>(QUEUE);
                let (done_tx, recycle_tx) = (done_tx.clone(), recycle_tx.clone());
                let me = Worker {
                    number: workers.len(),
                    threads,
                    partitions,
                    written: &written,
                };
                scope.spawn(move || self.work(me, rx, done_tx, recycle_tx, label));
                workers.push(tx);
            }
            drop(done_tx);
            let (failed, written_so_far) = (&failed, &written);
            let writer = scope.spawn(move || {
                let written = write_in_order(done_rx, out, written_so_far);
                if written.is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                written
            });
            let mut producer = Producer {
                workers,
                batches: (0..threads).map(|_| Vec::with_capacity(BATCH)).collect(),
                recycle: recycle_rx,
                partitions,
                clock: f64::NEG_INFINITY,
                packets: 0,
                seq: 0,
                failed,
            };
            let read = producer.read(readers, maps, summary, progress);
            drop(producer);
            let written = writer.join().unwrap_or_else(|_| {
                Err(PipelineError::Config(
                    "the output thread stopped unexpectedly".into(),
                ))
            });
            read.and(written)
        })
    }

    /// A worker: a flow table over its partitions, fed by `rx`.
    fn work<'m>(
        &self,
        me: Worker<'_>,
        rx: Receiver<ToWorker<'m>>,
        done: Sender<Done>,
        recycle: Sender<Vec<Routed<'m>>>,
        label: Option<&str>,
    ) {
        let handler = KernelHandler::new(self.features, (self.make_exec)());
        let Ok(mut table) = FlowTable::new(self.flow.clone(), handler) else {
            return;
        };
        let mut ended = Vec::new();
        let mut hand_back =
            |table: &mut FlowTable<KernelHandler<'_, E>>, seq: u64, expected: usize| {
                table.drain_ended(&mut ended);
                let mut rows = Vec::with_capacity(ended.len());
                for mut flow in ended.drain(..) {
                    let mut values = Vec::new();
                    flow_row(&mut flow, label, table.handler_mut(), &mut values);
                    rows.push(OrderedRow {
                        event_time: flow.event_time,
                        partition: flow.partition,
                        key: flow.key,
                        start_time: flow.record.start_time,
                        values,
                    });
                }
                done.send(Done {
                    seq,
                    expected,
                    rows,
                })
                .is_ok()
            };
        for msg in rx {
            match msg {
                ToWorker::Packets(mut batch) => {
                    for r in &mut batch {
                        table.process_routed(&mut r.pkt, &r.key, r.hash, r.clock);
                    }
                    batch.clear();
                    let _ = recycle.send(batch);
                }
                ToWorker::Checkpoint { seq, clock } => {
                    table.advance_clock(clock);
                    table.sweep();
                    if !hand_back(&mut table, seq, me.threads) {
                        return;
                    }
                }
                ToWorker::End { seq, clock } => {
                    // The flows the final clock timed out, then the rest, one partition (and
                    // one batch, `seq + 1 + partition`) at a time.
                    table.advance_clock(clock);
                    table.sweep();
                    if !hand_back(&mut table, seq, me.threads) {
                        return;
                    }
                    for p in (me.number..me.partitions).step_by(me.threads) {
                        // Keep at most one round of partitions ahead of the output, so the
                        // rows of a huge table never all wait in memory.
                        let ready = seq + 1 + p.saturating_sub(me.threads) as u64;
                        while me.written.load(Ordering::Acquire) < ready && !me.failed() {
                            std::thread::sleep(std::time::Duration::from_micros(100));
                        }
                        table.end_partition(p);
                        if !hand_back(&mut table, seq + 1 + p as u64, 1) {
                            return;
                        }
                    }
                    return;
                }
            }
        }
    }
}

/// Which worker a thread is, and how far the output is.
#[derive(Clone, Copy)]
struct Worker<'w> {
    number: usize,
    threads: usize,
    partitions: usize,
    /// Batches written so far (the output thread's `next`; `u64::MAX` if it stopped).
    written: &'w AtomicU64,
}

impl Worker<'_> {
    /// Whether the output thread stopped on an error.
    fn failed(&self) -> bool {
        self.written.load(Ordering::Acquire) == u64::MAX
    }
}

/// Writes the rows the workers hand back: each checkpoint's rows, once every worker has handed
/// them back, in (ending-event time, key) order, checkpoints in order.
fn write_in_order(
    done: Receiver<Done>,
    out: &mut RowWriter<'_>,
    written: &AtomicU64,
) -> Result<(), PipelineError> {
    let result = write_batches(done, out, written);
    if result.is_err() {
        written.store(u64::MAX, Ordering::Release);
    }
    result
}

/// [`write_in_order`], publishing in `written` how many batches are out.
fn write_batches(
    done: Receiver<Done>,
    out: &mut RowWriter<'_>,
    written: &AtomicU64,
) -> Result<(), PipelineError> {
    let mut pending: BTreeMap<u64, (usize, usize, Vec<OrderedRow>)> = BTreeMap::new();
    let mut next = 0u64;
    for d in done {
        let entry = pending
            .entry(d.seq)
            .or_insert_with(|| (0, d.expected, Vec::new()));
        entry.0 += 1;
        entry.2.extend(d.rows);
        while pending
            .get(&next)
            .is_some_and(|(count, expected, _)| count == expected)
        {
            let Some((_, _, mut rows)) = pending.remove(&next) else {
                break;
            };
            rows.sort_by(|a, b| {
                a.event_time
                    .total_cmp(&b.event_time)
                    .then(a.partition.cmp(&b.partition))
                    .then(a.key.cmp(&b.key))
            });
            for r in &rows {
                out.push(r.start_time, &r.values)?;
            }
            next += 1;
            written.store(next, Ordering::Release);
        }
    }
    Ok(())
}

/// This thread's side: reads, decodes and routes packets to the workers.
struct Producer<'m, 'f> {
    workers: Vec<SyncSender<ToWorker<'m>>>,
    batches: Vec<Vec<Routed<'m>>>,
    recycle: Receiver<Vec<Routed<'m>>>,
    partitions: usize,
    clock: f64,
    packets: u64,
    seq: u64,
    /// Set by the output thread when writing failed: stop reading.
    failed: &'f AtomicBool,
}

impl<'m> Producer<'m, '_> {
    fn read(
        &mut self,
        readers: &mut [CaptureReader],
        maps: &'m [MappedBytes],
        summary: &mut RunSummary,
        progress: &mut Option<&mut dyn Progress>,
    ) -> Result<(), PipelineError> {
        let mut decoder = Decoder::new(DecodeConfig::default());
        let mut next_checkpoint = CHECKPOINT_PACKETS;
        for (reader, map) in readers.iter_mut().zip(maps) {
            if let Some(p) = progress.as_deref_mut() {
                p.start_capture(reader.name(), reader.total_bytes());
            }
            let mut records = 0u64;
            while let Some(rec) = reader.next_record()? {
                records += 1;
                let Some(frame) = map.rebase(rec.data) else {
                    continue;
                };
                decoder.decode(rec.link_type, rec.ts, frame, rec.orig_len, &mut |pkt| {
                    self.route(pkt)
                });
                if self.packets >= next_checkpoint {
                    next_checkpoint = self.packets + CHECKPOINT_PACKETS;
                    self.broadcast(|seq, clock| ToWorker::Checkpoint { seq, clock });
                    if self.failed.load(Ordering::Relaxed) {
                        return Ok(());
                    }
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
        decoder.finish(&mut |pkt| self.route(pkt));
        self.broadcast(|seq, clock| ToWorker::End { seq, clock });
        self.workers.clear();
        summary.packets += self.packets;
        for (reason, n) in decoder.stats().iter_skipped() {
            summary.add_skipped(reason, n);
        }
        Ok(())
    }

    /// Sends one packet towards the worker of its partition.
    #[inline]
    fn route(&mut self, pkt: PacketView<'m>) {
        if pkt.ts > self.clock {
            self.clock = pkt.ts;
        }
        self.packets += 1;
        let key = FlowKey::of(&pkt);
        let hash = partition_hash(&key);
        let w = partition_of(hash, self.partitions) % self.batches.len();
        self.batches[w].push(Routed {
            pkt,
            key,
            hash,
            clock: self.clock,
        });
        if self.batches[w].len() >= BATCH {
            let fresh = self
                .recycle
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(BATCH));
            let full = std::mem::replace(&mut self.batches[w], fresh);
            // A worker that is gone has stopped on an error that the join reports.
            let _ = self.workers[w].send(ToWorker::Packets(full));
        }
    }

    /// Flushes every batch, then sends every worker the message `make` builds for the next
    /// checkpoint.
    fn broadcast(&mut self, make: impl Fn(u64, f64) -> ToWorker<'m>) {
        for (w, tx) in self.workers.iter().enumerate() {
            if !self.batches[w].is_empty() {
                let full = std::mem::replace(&mut self.batches[w], Vec::with_capacity(BATCH));
                let _ = tx.send(ToWorker::Packets(full));
            }
            let _ = tx.send(make(self.seq, self.clock));
        }
        self.seq += 1;
    }
}
