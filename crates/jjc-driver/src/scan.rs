//! One thread's walk over a capture: every record read and decoded, the packets of the
//! partitions this thread owns run through its flow table, and the flows that ended handed
//! out at fixed checkpoints.
//!
//! One thread owns every partition; with several threads, each walks the whole capture itself
//! (records are cheap to find) and keeps one share of the partitions. A thread sees every
//! record, so it keeps the capture clock and the checkpoints exactly as one thread does, and a
//! partition gets the same packets, clocks and checkpoints whichever thread owns it: the same
//! flows end with the same values. No packet crosses threads.
//!
//! Only the first thread (the leader) decodes and keys every record. It publishes, for each
//! record that was one plain packet, that packet's partition ([`KeyRing`]); another thread
//! that finds a record there, and does not own its partition, passes it without decoding it
//! (its decoder's clock and fragment timeouts advance as decoding would advance them). The
//! leader is given a smaller share of the partitions to make up for decoding everything.
//!
//! A single mapped capture (a classic pcap, or a pcapng from its first enhanced packet block)
//! is walked differently ([`scan_segments`]): its records are read and decoded once, in
//! segments, by whichever thread gets there ([`crate::segments`]), and every thread walks the
//! segments' records, keeping the clock and checkpoints as above. From a record the segments
//! leave to the readers on, the threads share the rest as the leader's ring shares a capture.

use jjc_abi::PacketView;
use jjc_capture::{CaptureReader, Record, RecordAt};
use jjc_decode::{DecodeConfig, Decoder};
use jjc_flow::{FlowKey, FlowTable, partition_hash, partition_of};
use jjc_kernel::Exec;

use crate::error::PipelineError;
use crate::features::KernelHandler;
use crate::key_ring::KeyRing;
use crate::pipeline::{CHECKPOINT_PACKETS, PROGRESS_RECORDS, Progress, account_reader};
use crate::read_front::ReadFront;
use crate::segments::Segments;
use crate::summary::RunSummary;

/// Records between two page releases behind the readers (see [`ReadFront`]): by records, so
/// captures whose frames mostly do not decode release them too.
const RELEASE_RECORDS: u64 = 1024;

/// The flow table of one thread.
pub(crate) type FlowTableOf<'k, E> = FlowTable<KernelHandler<'k, E>>;

/// Which partitions a thread owns: a fixed assignment for each thread count, with the
/// leader (thread 0) owning fewer than the others when there are several (it alone decodes
/// every record).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Share {
    /// This thread's number.
    pub(crate) index: usize,
    /// The number of threads.
    pub(crate) of: usize,
    /// Whether thread 0 leads (decodes every record, so owns fewer partitions); threads
    /// that split the decoding ([`crate::segments`]) own alike.
    pub(crate) lead: bool,
}

/// What decoding and keying a packet costs the leader, relative to what a follower pays for
/// the packets it owns (their features, plus decoding them again). Sets the leader's share:
/// with `n` threads, the leader owns `(1 - w (n - 2)) / (n + w)` of the partitions, which
/// makes its walk plus its share cost what a follower's passing plus its share costs.
/// Measured rather than derived: on the benchmark capture with JJ-CORE on two threads, the
/// follower ended its walk 1.8 ms after the leader (median of 12 runs) when the leader owned
/// 43% of the partitions, 0.8 ms before it at 47% and 4 ms before at 50%; 0.2 gives 45%.
const DECODE_COST: f64 = 0.2;

impl Share {
    /// Every partition: a run on one thread.
    pub(crate) const ALL: Share = Share {
        index: 0,
        of: 1,
        lead: false,
    };

    /// The thread that owns each of `partitions` partitions. Partitions are dealt in order
    /// to the thread furthest below its share, so each thread's partitions are spread evenly.
    fn owners(self, partitions: usize) -> Vec<usize> {
        let threads = self.of.max(1);
        let n = threads as f64;
        let leader = ((1.0 - DECODE_COST * (n - 2.0)) / (n + DECODE_COST)).clamp(0.0, 1.0);
        let weights: Vec<f64> = (0..threads)
            .map(|t| match (threads, t) {
                (1, _) => 1.0,
                _ if !self.lead => 1.0 / n,
                (_, 0) => leader,
                _ => (1.0 - leader) / (n - 1.0),
            })
            .collect();
        let mut dealt = vec![0usize; threads];
        (0..partitions)
            .map(|p| {
                let due = |t: usize| weights[t] * (p + 1) as f64 - dealt[t] as f64;
                let owner = (0..threads)
                    .reduce(|best, t| if due(t) > due(best) { t } else { best })
                    .unwrap_or(0);
                dealt[owner] += 1;
                owner
            })
            .collect()
    }

    /// The partitions this thread owns, as a bit per partition (there are at most 64).
    fn mask(self, partitions: usize) -> u64 {
        self.partitions(partitions.min(64))
            .fold(0, |m, p| m | 1 << p)
    }

    /// This thread's partitions, in order.
    fn partitions(self, partitions: usize) -> impl Iterator<Item = usize> {
        let owners = self.owners(partitions);
        (0..partitions).filter(move |&p| owners[p] == self.index)
    }
}

/// How a thread walks records it reads itself.
#[derive(Clone, Copy)]
enum Role<'r> {
    /// Decodes every record: the only thread.
    Alone,
    /// Decodes every record and publishes the partitions of the plain ones.
    Lead(&'r KeyRing),
    /// Passes the records the leader published for others' partitions, decodes the rest.
    Follow(&'r KeyRing),
}

/// What a thread shares of its walk with the others.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sharing<'r> {
    /// A run on one thread: nothing.
    Alone,
    /// The leader: decodes every record and publishes their partitions.
    Lead(&'r SharedWalk),
    /// Another thread: passes the records the leader published for others' partitions.
    Follow(&'r SharedWalk),
}

/// What the threads walking one capture share.
#[derive(Debug)]
pub(crate) struct SharedWalk {
    /// The partitions of the records the leader decoded.
    pub(crate) ring: KeyRing,
    /// How far each thread has read.
    pub(crate) front: ReadFront,
}

impl SharedWalk {
    /// What `threads` threads share.
    pub(crate) fn new(threads: usize) -> SharedWalk {
        SharedWalk {
            ring: KeyRing::default(),
            front: ReadFront::new(threads),
        }
    }
}

/// Batches a thread may hand ahead of the output before it waits (`CHECKPOINT_PACKETS`
/// packets each): keeps the threads, and the rows waiting for the slowest, close together.
const AHEAD_OF_OUTPUT: u64 = 8;

/// Where a thread hands the flows that ended.
///
/// Batches are numbered: one per checkpoint (complete once every thread handed its part),
/// then, at the end of input, one per partition (`seq_end + 1 + partition`, handed by its
/// owner alone).
pub(crate) trait Batches<E: Exec> {
    /// Takes the flows that ended in `table` since the last call, as part of batch `seq`,
    /// which is complete once `parts` threads handed theirs. `false` stops the walk (the
    /// output failed, and says why).
    fn hand(
        &mut self,
        table: &mut FlowTableOf<'_, E>,
        seq: u64,
        parts: usize,
    ) -> Result<bool, PipelineError>;

    /// Waits until the output has written every batch before `seq - behind`, so the rows
    /// of a huge table, or of threads far apart, never all wait in memory. `false` stops the
    /// walk (the run failed).
    fn wait_for_output(&mut self, seq: u64, behind: u64) -> bool;

    /// Before handing batch `seq`: waits while more than [`ROWS_IN_FLIGHT_BYTES`] of handed
    /// rows are unwritten, unless the output has written every batch before `seq - behind`
    /// (then it may be waiting for this thread's batch: waiting for room would never end).
    /// `false` stops the walk (the run failed).
    fn wait_for_room(&mut self, seq: u64, behind: u64) -> bool;
}

/// How many bytes of handed rows may wait for the output while a thread ends its partitions
/// at the end of input. A bound in bytes rather than batches alone: most partitions end with
/// a few rows each (waiting for each would be one round trip through the output per
/// partition), while a table of a million flows ends with megabytes in each.
pub(crate) const ROWS_IN_FLIGHT_BYTES: u64 = 32 << 20;

/// What the thread that reports the run (the first) records as it goes.
pub(crate) struct Report<'r, 'p> {
    /// The run's counts and warnings.
    pub(crate) summary: &'r mut RunSummary,
    /// The progress display, if any.
    pub(crate) progress: &'r mut Option<&'p mut dyn Progress>,
}

/// Walks `readers`, in order, as one capture through `table`, keeping the packets of `share`,
/// and hands the ended flows to `batches`. `report`, given to one thread only, gets the
/// counts, damage and progress.
pub(crate) fn scan<E: Exec>(
    table: &mut FlowTableOf<'_, E>,
    readers: &mut [CaptureReader],
    share: Share,
    sharing: Sharing<'_>,
    mut report: Option<Report<'_, '_>>,
    batches: &mut impl Batches<E>,
) -> Result<(), PipelineError> {
    let mut decoder = Decoder::new(DecodeConfig::default());
    let mut walk = Walk::new(share, table.partitions());
    // Records walked so far over all readers: the leader and the others number them alike.
    let mut index = 0u64;

    let alone;
    let front = match sharing {
        Sharing::Alone => {
            alone = ReadFront::new(1);
            &alone
        }
        Sharing::Lead(shared) | Sharing::Follow(shared) => &shared.front,
    };

    let mut checkpoints = Checkpoints::new();
    for r in 0..readers.len() {
        if let Some(p) = progress_of(&mut report) {
            p.start_capture(readers[r].name(), readers[r].total_bytes());
        }
        let mut records = 0u64;
        let role = match sharing {
            Sharing::Alone => Role::Alone,
            Sharing::Lead(shared) => Role::Lead(&shared.ring),
            Sharing::Follow(shared) => Role::Follow(&shared.ring),
        };
        while let Some(rec) = readers[r].next_record()? {
            records += 1;
            walk.see(role, index, &mut decoder, table, &rec);
            index += 1;
            if !checkpoints.after_record(&walk, table, batches, share)? {
                return Ok(());
            }
            let at = readers[r].bytes_read();
            at_place(records, at, front, share, readers, r, &mut report);
        }
        if let Some(report) = report.as_mut() {
            if let Some(p) = report.progress.as_deref_mut() {
                p.advance(readers[r].bytes_read());
            }
            account_reader(&readers[r], records, report.summary);
        }
        front.advance(share.index, readers, r + 1);
    }
    front.finish(share.index, readers);
    end_of_input(table, walk, decoder, checkpoints, share, report, batches)
}

/// How many plain packets ahead of the one it takes a walker of segments asks for the
/// payload: the packet's view is at hand, its payload is not.
const PAYLOADS_AHEAD: usize = 8;

/// Walks a mapped capture that `segments` decode once ([`crate::segments`]), one of
/// `share.of` threads doing the same: every record in order, keeping the packets of `share`,
/// as [`scan`] walks it. `reader` (this thread's reader of the capture) reads on from a
/// record the segments leave to it (damage, a time to repair, a new pcapng section or
/// interface), the threads sharing the rest through the segments' key ring (thread 0
/// leads). The counts, damage and progress go to `report`, given to one thread only.
pub(crate) fn scan_segments<E: Exec>(
    table: &mut FlowTableOf<'_, E>,
    reader: &mut [CaptureReader],
    share: Share,
    segments: &Segments,
    front: &ReadFront,
    mut report: Option<Report<'_, '_>>,
    batches: &mut impl Batches<E>,
) -> Result<(), PipelineError> {
    /// Abandons the segments unless the walk got to its end: nobody then waits for a
    /// segment this thread would have made.
    struct Leaving<'s>(&'s Segments, bool);
    impl Drop for Leaving<'_> {
        fn drop(&mut self) {
            if !self.1 {
                self.0.abandon();
            }
        }
    }
    let mut leaving = Leaving(segments, false);
    let mut decoder = Decoder::new(DecodeConfig::default());
    let mut walk = Walk::new(share, table.partitions());
    let mut checkpoints = Checkpoints::new();
    if let (Some(p), Some(r)) = (progress_of(&mut report), reader.first()) {
        p.start_capture(r.name(), r.total_bytes());
    }
    let pcap = segments.pcap();
    let mut records = 0u64;
    // Where the next segment's first record is: where the records before it end.
    let mut next_record = pcap.first_record();
    // The time of the last record walked, for a reader that reads on after it.
    let mut last_ts = 0.0;
    let mut read_on = false;
    for k in 0..segments.count() {
        let Some(shared) = segments.get(k) else {
            return Ok(());
        };
        let remade;
        let segment = if shared.start == next_record {
            &*shared
        } else {
            // The segment's maker took something inside a record for its first record.
            remade = segments.make(k, next_record);
            &remade
        };
        let mut plains = 0;
        for entry in segment.entries() {
            records += 1;
            last_ts = entry.ts;
            let plain = entry.partition().map(|p| {
                plains += 1;
                (p, plains - 1)
            });
            match plain {
                Some((p, i)) if decoder.pass_plain(entry.ts) => {
                    if walk.owned >> p & 1 == 0 {
                        walk.pass(entry.ts);
                    } else if let Some((mut view, known)) = segment.plain(i) {
                        // Only from the packets it takes: for the others', reading a packet's
                        // view ahead (often made on the other core) cost more than it saved.
                        segment.prefetch_payload(i + PAYLOADS_AHEAD);
                        walk.take_keyed(table, &mut view, &known.key, known.hash, p);
                    }
                }
                _ => {
                    if let RecordAt::Record {
                        data,
                        orig_len,
                        link_type,
                        ..
                    } = pcap.record_at(entry.offset())
                    {
                        walk.decode(&mut decoder, table, link_type, entry.ts, data, orig_len);
                    }
                }
            }
            if !checkpoints.after_record(&walk, table, batches, share)? {
                return Ok(());
            }
            at_place(
                records,
                entry.offset(),
                front,
                share,
                reader,
                0,
                &mut report,
            );
        }
        next_record = segment.end;
        read_on = segment.irregular;
        segments.walked(k, shared);
        if read_on {
            break;
        }
    }
    leaving.1 = true;
    if reader.is_empty() {
        return Ok(());
    }
    if read_on {
        // The rest as the leader's ring shares a capture: thread 0 decodes every record and
        // the others pass what it publishes.
        reader[0].resume_at(next_record, last_ts);
        let ring = segments.ring();
        let role = if share.index == 0 {
            Role::Lead(ring)
        } else {
            Role::Follow(ring)
        };
        let mut index = 0u64;
        while let Some(rec) = reader[0].next_record()? {
            records += 1;
            walk.see(role, index, &mut decoder, table, &rec);
            index += 1;
            if !checkpoints.after_record(&walk, table, batches, share)? {
                return Ok(());
            }
            let at = reader[0].bytes_read();
            at_place(records, at, front, share, reader, 0, &mut report);
        }
    }
    let r = &reader[0];
    if let Some(report) = report.as_mut() {
        if let Some(p) = report.progress.as_deref_mut() {
            p.advance(if read_on { r.bytes_read() } else { pcap.len() });
        }
        account_reader(r, records, report.summary);
    }
    front.finish(share.index, reader);
    end_of_input(table, walk, decoder, checkpoints, share, report, batches)
}

/// After a walk's `records`-th record of `readers[reader]`, read up to byte `at`: every
/// [`RELEASE_RECORDS`] records, tells `front` (which gives back the pages every thread is
/// past), and every [`PROGRESS_RECORDS`] the progress display, if this thread reports.
#[inline]
fn at_place(
    records: u64,
    at: u64,
    front: &ReadFront,
    share: Share,
    readers: &[CaptureReader],
    reader: usize,
    report: &mut Option<Report<'_, '_>>,
) {
    if records.is_multiple_of(RELEASE_RECORDS) {
        front.advance_to(share.index, readers, reader, at);
    }
    if records.is_multiple_of(PROGRESS_RECORDS)
        && let Some(p) = progress_of(report)
    {
        p.advance(at);
    }
}

/// The checkpoints of a walk: every [`CHECKPOINT_PACKETS`] packets, the flows that ended
/// are handed out as the next batch.
struct Checkpoints {
    /// The next batch's number.
    seq: u64,
    /// The packet count of the next checkpoint.
    next: u64,
}

impl Checkpoints {
    fn new() -> Checkpoints {
        Checkpoints {
            seq: 0,
            next: CHECKPOINT_PACKETS,
        }
    }

    /// After each record: hands out the flows that ended if a checkpoint is due. `false`
    /// stops the walk (the run failed).
    #[inline]
    fn after_record<E: Exec>(
        &mut self,
        walk: &Walk,
        table: &mut FlowTableOf<'_, E>,
        batches: &mut impl Batches<E>,
        share: Share,
    ) -> Result<bool, PipelineError> {
        if walk.packets < self.next {
            return Ok(true);
        }
        self.next = walk.packets + CHECKPOINT_PACKETS;
        table.advance_clock(walk.clock);
        table.sweep();
        if !batches.hand(table, self.seq, share.of)?
            || !batches.wait_for_output(self.seq, AHEAD_OF_OUTPUT)
        {
            return Ok(false);
        }
        self.seq += 1;
        Ok(true)
    }
}

/// End of input: the decoder's last packets, then the flows the final clock has timed out,
/// then the rest, one partition at a time; `report` gets the packet and skip counts.
fn end_of_input<E: Exec>(
    table: &mut FlowTableOf<'_, E>,
    mut walk: Walk,
    mut decoder: Decoder,
    checkpoints: Checkpoints,
    share: Share,
    report: Option<Report<'_, '_>>,
    batches: &mut impl Batches<E>,
) -> Result<(), PipelineError> {
    decoder.finish(&mut |mut pkt| walk.take(table, &mut pkt));
    table.advance_clock(walk.clock);
    table.sweep();
    let seq = checkpoints.seq;
    if !batches.hand(table, seq, share.of)? {
        return Ok(());
    }
    for p in share.partitions(walk.partitions) {
        let batch = seq + 1 + p as u64;
        if !batches.wait_for_room(batch, share.of as u64) {
            return Ok(());
        }
        table.end_partition(p);
        if !batches.hand(table, batch, 1)? {
            return Ok(());
        }
    }
    if let Some(r) = report {
        r.summary.packets += walk.packets;
        for (reason, n) in decoder.stats().iter_skipped() {
            r.summary.add_skipped(reason, n);
        }
    }
    Ok(())
}

/// The capture clock and packet count of a walk, and what it keeps.
struct Walk {
    /// The largest packet time seen so far.
    clock: f64,
    /// Packets seen so far (kept or not).
    packets: u64,
    /// The partitions this thread owns, a bit each.
    owned: u64,
    partitions: usize,
    /// The partition of the last packet taken: what the leader publishes of a plain record.
    last_partition: usize,
}

impl Walk {
    /// A walk that has seen nothing, keeping the partitions `share` owns of `partitions`.
    fn new(share: Share, partitions: usize) -> Walk {
        Walk {
            clock: f64::NEG_INFINITY,
            packets: 0,
            owned: share.mask(partitions),
            partitions,
            last_partition: 0,
        }
    }

    /// Sees one decoded packet; runs it through `table` if its partition is this thread's.
    /// The view comes by reference: passed by value, it was copied with a `memcpy` call per
    /// packet (about 1% of a run).
    #[inline]
    fn take<E: Exec>(&mut self, table: &mut FlowTableOf<'_, E>, pkt: &mut PacketView<'_>) {
        if pkt.ts > self.clock {
            self.clock = pkt.ts;
        }
        self.packets += 1;
        let key = FlowKey::of(pkt);
        let hash = partition_hash(&key);
        let p = partition_of(hash, self.partitions);
        self.last_partition = p;
        if self.owned >> p & 1 == 1 {
            table.process_in(p, pkt, &key, hash, self.clock);
        }
    }

    /// Sees record `index` of the walk as `role` does: decodes it, unless it is a plain
    /// packet of another thread's partition that the leader published; the leader publishes
    /// what it decoded.
    #[inline]
    fn see<E: Exec>(
        &mut self,
        role: Role<'_>,
        index: u64,
        decoder: &mut Decoder,
        table: &mut FlowTableOf<'_, E>,
        rec: &Record<'_>,
    ) {
        if let Role::Follow(ring) = role
            && let Some(p) = ring.partition(index)
            && self.owned >> p & 1 == 0
        {
            decoder.pass(rec.ts);
            self.pass(rec.ts);
            return;
        }
        self.decode(
            decoder,
            table,
            rec.link_type,
            rec.ts,
            rec.data,
            rec.orig_len,
        );
        if let Role::Lead(ring) = role {
            let plain = decoder.last_was_plain();
            ring.publish(index, plain.then_some(self.last_partition));
        }
    }

    /// Decodes one frame with `decoder` and sees the packets it gives ([`Walk::take`]).
    #[inline]
    fn decode<E: Exec>(
        &mut self,
        decoder: &mut Decoder,
        table: &mut FlowTableOf<'_, E>,
        link_type: u32,
        ts: f64,
        frame: &[u8],
        wire_len: u32,
    ) {
        decoder.decode(link_type, ts, frame, wire_len, &mut |mut pkt| {
            self.take(table, &mut pkt)
        });
    }

    /// Sees one packet of partition `p`, this thread's, that another thread decoded and
    /// keyed (`key`, `hash`), and runs it through `table`.
    #[inline]
    fn take_keyed<E: Exec>(
        &mut self,
        table: &mut FlowTableOf<'_, E>,
        pkt: &mut PacketView<'_>,
        key: &FlowKey,
        hash: u64,
        p: usize,
    ) {
        if pkt.ts > self.clock {
            self.clock = pkt.ts;
        }
        self.packets += 1;
        self.last_partition = p;
        table.process_in(p, pkt, key, hash, self.clock);
    }

    /// Sees a packet of another thread's partition at `ts` without decoding it.
    #[inline]
    fn pass(&mut self, ts: f64) {
        if ts > self.clock {
            self.clock = ts;
        }
        self.packets += 1;
    }
}

fn progress_of<'a, 'p: 'a>(
    report: &'a mut Option<Report<'_, 'p>>,
) -> Option<&'a mut (dyn Progress + 'p)> {
    report.as_mut().and_then(|r| r.progress.as_deref_mut())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use jjc_flow::{EndedFlow, FlowConfig};
    use jjc_kernel::Interpreter;

    use super::*;
    use crate::features::{Backend, CompiledFeatures, FeatureConfig, FlowState};
    use crate::pipeline::format_row;

    /// A row handed: its batch, what orders it within the batch (event time, partition,
    /// key), and its values as text.
    type Row = (u64, f64, u32, FlowKey, String);

    /// Every row handed.
    #[derive(Default)]
    struct Collect {
        rows: Vec<Row>,
        ended: Vec<EndedFlow<FlowState>>,
    }

    impl<E: Exec> Batches<E> for Collect {
        fn hand(
            &mut self,
            table: &mut FlowTableOf<'_, E>,
            seq: u64,
            _: usize,
        ) -> Result<bool, PipelineError> {
            table.drain_ended(&mut self.ended);
            let (mut text, mut values) = (Vec::new(), Vec::new());
            for mut flow in self.ended.drain(..) {
                format_row(&mut flow, None, table, None, &mut text, &mut values)?;
                let row = format!("{values:?}");
                self.rows
                    .push((seq, flow.event_time, flow.partition, flow.key, row));
            }
            Ok(true)
        }

        fn wait_for_output(&mut self, _: u64, _: u64) -> bool {
            true
        }

        fn wait_for_room(&mut self, _: u64, _: u64) -> bool {
            true
        }
    }

    /// A thread's flow table for the tests' walks, on the interpreter: flows end at many
    /// checkpoints, not only at the end of input.
    fn table(features: &CompiledFeatures) -> Option<FlowTableOf<'_, Interpreter<'_>>> {
        let flow = FlowConfig {
            idle_timeout: 0.5,
            ..FlowConfig::default()
        };
        let handler = KernelHandler::new(features, Interpreter::new(features.kernel()));
        FlowTable::new(flow, handler).ok()
    }

    /// The rows of `capture` walked by one thread with `share` and `sharing`, in the order the
    /// output writes them; `None` if the capture does not open or ends in an error.
    fn rows(
        features: &CompiledFeatures,
        capture: &Path,
        share: Share,
        sharing: Sharing<'_>,
    ) -> Option<Vec<Row>> {
        let mut table = table(features)?;
        let mut readers = vec![CaptureReader::open(capture).ok()?];
        let mut collect = Collect::default();
        scan(&mut table, &mut readers, share, sharing, None, &mut collect).ok()?;
        let mut rows = collect.rows;
        sort(&mut rows);
        Some(rows)
    }

    /// Puts rows in output order: by batch, then as the output orders a batch.
    fn sort(rows: &mut [Row]) {
        rows.sort_by(|a, b| {
            (a.0.cmp(&b.0))
                .then(a.1.total_cmp(&b.1))
                .then(a.2.cmp(&b.2))
                .then(a.3.cmp(&b.3))
        });
    }

    /// A generated capture of several checkpoints' packets (VLAN tags included), as pcap and
    /// as pcapng, the repository's sample capture, and the shared captures when they are
    /// there.
    fn captures(dir: &Path) -> Vec<PathBuf> {
        let generated = dir.join("synth.pcap");
        let synth = jjc_synth::SynthConfig {
            seed: 7,
            target_packets: Some(5 * CHECKPOINT_PACKETS),
            vlan: true,
            ..jjc_synth::SynthConfig::default()
        };
        let file = std::fs::File::create(&generated).expect("a temporary file");
        jjc_synth::write_capture(&synth, file).expect("a synthetic capture");
        let generated_ng = dir.join("synth.pcapng");
        let synth = jjc_synth::SynthConfig {
            pcapng: true,
            ..synth
        };
        let file = std::fs::File::create(&generated_ng).expect("a temporary file");
        jjc_synth::write_capture(&synth, file).expect("a synthetic capture");
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut found = vec![
            generated,
            generated_ng,
            manifest.join("../../tests/data/sample.pcap"),
        ];
        let shared = std::env::var_os("JJ_SHARED")
            .map(PathBuf::from)
            .unwrap_or_else(|| manifest.join("../../../shared"));
        if let Ok(dir) = std::fs::read_dir(shared.join("captures")) {
            let mut shared: Vec<PathBuf> = dir.filter_map(|e| Some(e.ok()?.path())).collect();
            shared.sort();
            found.extend(shared.into_iter().filter(|p| p.is_file()));
        }
        found
    }

    /// Whether `capture` is a pcapng.
    fn is_pcapng(capture: &Path) -> bool {
        CaptureReader::open(capture).is_ok_and(|r| r.format() == jjc_capture::CaptureFormat::PcapNg)
    }

    /// How the segments of a test walk are made besides by their walkers.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Making {
        /// Only by the walkers.
        Walkers,
        /// Segment 1 planted as made from a wrong first record.
        Planted,
        /// The first three made ahead, as during start-up, and asked for again once the
        /// first thread has walked (which must make nothing and not wait).
        Ahead,
    }

    /// The rows of `capture`, a classic pcap or a pcapng, walked by `threads` threads through segments
    /// of `segment_bytes` (one after the other: each finds the segments the ones before
    /// made), in output order, the segments made as `making` says.
    fn segment_rows(
        features: &CompiledFeatures,
        capture: &Path,
        threads: usize,
        segment_bytes: u64,
        making: Making,
    ) -> Option<Vec<Row>> {
        let pcap = CaptureReader::open(capture).ok()?.mapped_capture()?;
        let first_record = pcap.first_record();
        let segments = Segments::new(pcap, 64, threads, segment_bytes);
        match making {
            Making::Planted => segments.plant(1, first_record + segment_bytes + 1),
            Making::Ahead => segments.make_ahead(3),
            Making::Walkers => {}
        }
        let front = ReadFront::new(threads);
        let mut all = Vec::new();
        for index in 0..threads {
            let mut table = table(features)?;
            let mut reader = vec![CaptureReader::open(capture).ok()?];
            let mut collect = Collect::default();
            let share = Share {
                index,
                of: threads,
                lead: false,
            };
            scan_segments(
                &mut table,
                &mut reader,
                share,
                &segments,
                &front,
                None,
                &mut collect,
            )
            .ok()?;
            all.extend(collect.rows);
            if making == Making::Ahead {
                segments.make_ahead(3);
            }
        }
        sort(&mut all);
        Some(all)
    }

    /// Threads walking a capture decoded once in segments hand exactly the rows one thread
    /// hands, whatever the segments' size, also when a segment's maker took bytes inside a
    /// record for its first record, and when the first segments were made ahead.
    #[test]
    fn threads_walking_segments_hand_the_rows_of_one_thread() {
        let features = CompiledFeatures::load(&FeatureConfig::default(), Backend::Interp)
            .expect("the standard library compiles");
        let dir = tempfile::tempdir().expect("a temporary folder");
        let (mut walked, mut pcapngs) = (0, 0);
        for capture in captures(dir.path()) {
            let Some(alone) = rows(&features, &capture, Share::ALL, Sharing::Alone) else {
                continue;
            };
            for (threads, segment_bytes, making) in [
                (2, 4096, Making::Walkers),
                (3, 777, Making::Walkers),
                (2, 2048, Making::Planted),
                (2, 1024, Making::Ahead),
            ] {
                let Some(split) = segment_rows(&features, &capture, threads, segment_bytes, making)
                else {
                    continue;
                };
                walked += 1;
                pcapngs += usize::from(is_pcapng(&capture));
                assert!(
                    split == alone,
                    "{}: {threads} threads, segments of {segment_bytes} bytes, {making:?}: rows differ",
                    capture.display()
                );
            }
        }
        assert!(walked >= 9, "captures walked in segments: {walked}");
        assert!(pcapngs >= 3, "pcapngs walked in segments: {pcapngs}");
    }

    #[test]
    fn the_leader_owns_fewer_partitions_and_every_partition_has_one_owner() {
        assert_eq!(Share::ALL.partitions(64).count(), 64);
        for threads in 2..=9 {
            let owned: Vec<Vec<usize>> = (0..threads)
                .map(|index| {
                    Share {
                        index,
                        of: threads,
                        lead: true,
                    }
                    .partitions(64)
                    .collect()
                })
                .collect();
            let mut all: Vec<usize> = owned.iter().flatten().copied().collect();
            all.sort_unstable();
            assert_eq!(all, (0..64).collect::<Vec<_>>(), "{threads} threads");
            let (leader, followers) = (owned[0].len(), &owned[1..]);
            assert!(followers.iter().all(|f| f.len() >= leader), "{owned:?}");
            let sizes: Vec<usize> = followers.iter().map(Vec::len).collect();
            let spread = sizes.iter().max().unwrap_or(&0) - sizes.iter().min().unwrap_or(&0);
            assert!(spread <= 1, "followers share alike: {sizes:?}");
        }
        assert_eq!(
            Share {
                index: 0,
                of: 2,
                lead: true
            }
            .partitions(64)
            .count(),
            29
        );
    }

    /// A follower that finds every record published (the leader ran first) passes the
    /// leader's records, yet the two together hand exactly the rows one thread hands.
    #[test]
    fn a_follower_passing_the_leader_s_records_hands_the_same_rows() {
        let features = CompiledFeatures::load(&FeatureConfig::default(), Backend::Interp)
            .expect("the standard library compiles");
        let (lead, follow) = (
            Share {
                index: 0,
                of: 2,
                lead: true,
            },
            Share {
                index: 1,
                of: 2,
                lead: true,
            },
        );
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut passed_somewhere = false;
        for capture in captures(dir.path()) {
            let Some(alone) = rows(&features, &capture, Share::ALL, Sharing::Alone) else {
                continue;
            };
            let shared = SharedWalk::new(2);
            let led = rows(&features, &capture, lead, Sharing::Lead(&shared));
            let followed = rows(&features, &capture, follow, Sharing::Follow(&shared));
            let (Some(led), Some(followed)) = (led, followed) else {
                panic!("{}: a shared walk failed", capture.display());
            };
            let mut together: Vec<_> = led.into_iter().chain(followed).collect();
            sort(&mut together);
            assert!(together == alone, "{}: rows differ", capture.display());
            let follower_owns = follow.mask(64);
            passed_somewhere |= (0..1 << 16)
                .filter_map(|i| shared.ring.partition(i))
                .any(|p| follower_owns >> p & 1 == 0);
        }
        assert!(passed_somewhere, "the follower passed no record");
    }
}
