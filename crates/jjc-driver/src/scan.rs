//! One thread's walk over a capture: every record read and decoded, the packets of the
//! partitions this thread owns run through its flow table, and the flows that ended handed
//! out at fixed checkpoints.
//!
//! One thread owns every partition; with several threads, each walks the whole capture itself
//! (records are cheap to find and decode) and keeps one share of the partitions. A thread sees
//! every packet, so it keeps the capture clock and the checkpoints exactly as one thread does,
//! and a partition gets the same packets, clocks and checkpoints whichever thread owns it:
//! the same flows end with the same values. No packet crosses threads.

use jjc_abi::PacketView;
use jjc_capture::CaptureReader;
use jjc_decode::{DecodeConfig, Decoder};
use jjc_flow::{FlowKey, FlowTable, partition_hash, partition_of};
use jjc_kernel::Exec;

use crate::error::PipelineError;
use crate::features::KernelHandler;
use crate::pipeline::{CHECKPOINT_PACKETS, PROGRESS_RECORDS, Progress, account_reader};
use crate::summary::RunSummary;

/// Records between two page releases behind the reader (see `CaptureReader::release_behind`):
/// by records, so captures whose frames mostly do not decode release them too.
const RELEASE_RECORDS: u64 = 4096;

/// The flow table of one thread.
pub(crate) type FlowTableOf<'k, E> = FlowTable<KernelHandler<'k, E>>;

/// Which partitions a thread owns: those equal to `index` modulo `of`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Share {
    /// This thread's number.
    pub(crate) index: usize,
    /// The number of threads.
    pub(crate) of: usize,
}

impl Share {
    /// Every partition: a run on one thread.
    pub(crate) const ALL: Share = Share { index: 0, of: 1 };

    /// The partitions this thread owns, as a bit per partition (there are at most 64).
    fn mask(self, partitions: usize) -> u64 {
        (0..partitions.min(64))
            .filter(|p| p % self.of.max(1) == self.index)
            .fold(0, |m, p| m | 1 << p)
    }

    /// This thread's partitions, in order.
    fn partitions(self, partitions: usize) -> impl Iterator<Item = usize> {
        (self.index..partitions).step_by(self.of.max(1))
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
/// a few rows each (waiting for each would be one round trip through the output thread per
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
    mut report: Option<Report<'_, '_>>,
    batches: &mut impl Batches<E>,
) -> Result<(), PipelineError> {
    let partitions = table.partitions();
    let mut decoder = Decoder::new(DecodeConfig::default());
    let mut walk = Walk {
        clock: f64::NEG_INFINITY,
        packets: 0,
        owned: share.mask(partitions),
        partitions,
    };
    let mut seq = 0u64;
    let mut next_checkpoint = CHECKPOINT_PACKETS;
    for reader in readers.iter_mut() {
        if let Some(p) = progress_of(&mut report) {
            p.start_capture(reader.name(), reader.total_bytes());
        }
        let mut records = 0u64;
        while let Some(rec) = reader.next_record()? {
            records += 1;
            decoder.decode(rec.link_type, rec.ts, rec.data, rec.orig_len, &mut |pkt| {
                walk.take(table, pkt)
            });
            if walk.packets >= next_checkpoint {
                next_checkpoint = walk.packets + CHECKPOINT_PACKETS;
                table.advance_clock(walk.clock);
                table.sweep();
                if !batches.hand(table, seq, share.of)?
                    || !batches.wait_for_output(seq, AHEAD_OF_OUTPUT)
                {
                    return Ok(());
                }
                seq += 1;
            }
            if records.is_multiple_of(RELEASE_RECORDS) {
                reader.release_behind();
            }
            if records.is_multiple_of(PROGRESS_RECORDS)
                && let Some(p) = progress_of(&mut report)
            {
                p.advance(reader.bytes_read());
            }
        }
        if let Some(r) = report.as_mut() {
            if let Some(p) = r.progress.as_deref_mut() {
                p.advance(reader.bytes_read());
            }
            account_reader(reader, records, r.summary);
        }
    }
    decoder.finish(&mut |pkt| walk.take(table, pkt));
    // End of input: first the flows the final clock has timed out, then the rest, one
    // partition at a time.
    table.advance_clock(walk.clock);
    table.sweep();
    if !batches.hand(table, seq, share.of)? {
        return Ok(());
    }
    for p in share.partitions(partitions) {
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
}

impl Walk {
    /// Sees one decoded packet; runs it through `table` if its partition is this thread's.
    #[inline]
    fn take<E: Exec>(&mut self, table: &mut FlowTableOf<'_, E>, mut pkt: PacketView<'_>) {
        if pkt.ts > self.clock {
            self.clock = pkt.ts;
        }
        self.packets += 1;
        let key = FlowKey::of(&pkt);
        let hash = partition_hash(&key);
        let p = partition_of(hash, self.partitions);
        if self.owned >> p & 1 == 1 {
            table.process_in(p, &mut pkt, &key, hash, self.clock);
        }
    }
}

fn progress_of<'a, 'p: 'a>(
    report: &'a mut Option<Report<'_, 'p>>,
) -> Option<&'a mut (dyn Progress + 'p)> {
    report.as_mut().and_then(|r| r.progress.as_deref_mut())
}
