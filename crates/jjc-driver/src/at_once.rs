//! Several captures of one run at once, one thread each, for runs over many captures (a
//! folder of them, say). Each capture's rows are kept until every capture before it is
//! written, then written in the order one thread writes them: the table is the same for any
//! thread count.
//!
//! Splitting by capture does no work twice and hands nothing between threads but finished
//! rows, so it scales as far as the captures and cores go; the partitioned walk of
//! [`crate::parallel`] serves one capture at a time, and so the captures too large to keep
//! their rows in memory ([`AT_ONCE_BELOW`]).

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::channel;
use std::sync::{Condvar, Mutex};

use jjc_abi::Value;
use jjc_capture::CaptureReader;
use jjc_flow::{EndedFlow, FlowConfig, FlowTable};
use jjc_kernel::Exec;
use jjc_output::RowEncoder;

use crate::error::PipelineError;
use crate::features::{CompiledFeatures, FlowState, KernelHandler};
use crate::parallel::{Cells, EncodedRows};
use crate::pipeline::{Progress, RowWriter, discard};
use crate::scan::{Batches, FlowTableOf, Report, Share, Sharing, scan};
use crate::summary::RunSummary;
use crate::warmup::Warmup;

/// Captures below this size may run at once: each keeps all its rows in memory until its
/// turn to be written, typically a seventh of its size as CSV (several times its size for a
/// capture of nothing but one- and two-packet flows), for at most twice as many captures as
/// threads at a time.
pub(crate) const AT_ONCE_BELOW: u64 = 16 << 20;

/// Whether a capture may run beside others: a file (a stream's size is unknown) below
/// [`AT_ONCE_BELOW`].
pub(crate) fn fits(reader: &CaptureReader) -> bool {
    reader.total_bytes().is_some_and(|b| b < AT_ONCE_BELOW)
}

/// The captures of a run in turns, in order: each a range of them and whether they run at
/// once (two or more captures that [`fits`] each, in a row, with more than one thread), or
/// one capture alone (on all the threads, partitioned, if it is large enough).
pub(crate) fn schedule(fit: &[bool], threads: usize) -> Vec<(Range<usize>, bool)> {
    let mut schedule = Vec::new();
    let mut first = 0;
    while first < fit.len() {
        let end = first + fit[first..].iter().take_while(|&&f| f).count();
        if threads > 1 && end - first > 1 {
            schedule.push((first..end, true));
            first = end;
        } else {
            schedule.push((first..first + 1, false));
            first += 1;
        }
    }
    schedule
}

/// The settings of a run of several captures at once.
pub(crate) struct AtOnce<'a, F> {
    pub(crate) features: &'a CompiledFeatures,
    pub(crate) flow: &'a FlowConfig,
    pub(crate) make_exec: F,
    /// Ended once the threads are started.
    pub(crate) warmup: Option<&'a Warmup>,
    /// Threads to run the captures on.
    pub(crate) threads: usize,
}

/// One capture of the run, as its thread left it.
struct Done {
    /// Its place among the captures.
    index: usize,
    /// Its rows, in the order one thread writes them: start time (for `--sort start`) and
    /// cells.
    rows: Vec<(f64, Cells)>,
    /// The encoded rows' bytes.
    bytes: Vec<u8>,
    /// Its counts and warnings.
    summary: RunSummary,
    /// Bytes of it read.
    bytes_read: u64,
    /// How its walk ended: after an error, `rows` are those of the flows that ended before it.
    result: Result<(), PipelineError>,
}

impl<F, E> AtOnce<'_, F>
where
    F: Fn() -> E + Sync,
    E: Exec,
{
    /// Runs each of `readers` as its own capture (rows labelled by `labels`, if given) and
    /// writes their rows to `out` in the order of `readers`. Stops at the first capture that
    /// fails, after writing the rows it ended before failing, as one thread would.
    pub(crate) fn run(
        &self,
        readers: &mut [CaptureReader],
        labels: &[Option<&str>],
        out: &mut RowWriter<'_>,
        summary: &mut RunSummary,
        progress: &mut Option<&mut dyn Progress>,
    ) -> Result<(), PipelineError> {
        let names: Vec<(String, Option<u64>)> = readers
            .iter()
            .map(|r| (r.name().to_string(), r.total_bytes()))
            .collect();
        let turns = Turns::default();
        let next = AtomicUsize::new(0);
        let captures: Vec<Mutex<Option<&mut CaptureReader>>> =
            readers.iter_mut().map(|r| Mutex::new(Some(r))).collect();
        let ahead = 2 * self.threads;
        let encoder = out.encoder();
        std::thread::scope(|scope| {
            let (done_tx, done_rx) = channel::<Done>();
            let mut threads = Vec::with_capacity(self.threads);
            for _ in 0..self.threads.min(captures.len()) {
                let (done_tx, encoder) = (done_tx.clone(), encoder.clone());
                let (turns, next, captures) = (&turns, &next, &captures);
                threads.push(scope.spawn(move || {
                    let _stop = StopIfPanicking(turns);
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(capture) = captures.get(index) else {
                            return;
                        };
                        if !turns.wait_until_within(index, ahead) {
                            return;
                        }
                        let reader = capture.lock().ok().and_then(|mut r| r.take());
                        let Some(reader) = reader else {
                            return;
                        };
                        let label = labels.get(index).copied().flatten();
                        let done = self.run_one(index, reader, label, encoder.clone(), turns);
                        if done_tx.send(done).is_err() {
                            return;
                        }
                    }
                }));
            }
            drop(done_tx);
            if let Some(w) = self.warmup {
                w.end();
            }
            let result = {
                // Stops the threads however the writing ends (an error, or a panic as it
                // unwinds).
                let _stop = StopOnDrop(&turns);
                let mut waiting = BTreeMap::new();
                let mut written = 0;
                (|| {
                    for done in done_rx {
                        waiting.insert(done.index, done);
                        while let Some(done) = waiting.remove(&written) {
                            if let Some(p) = progress.as_deref_mut()
                                && let Some((name, total)) = names.get(written)
                            {
                                p.start_capture(name, *total);
                                p.advance(done.bytes_read);
                            }
                            summary.absorb(done.summary);
                            write_rows(out, &done.rows, &done.bytes)?;
                            done.result?;
                            written += 1;
                            turns.written(written);
                        }
                    }
                    Ok(written)
                })()
            };
            let stopped = || PipelineError::Config("a worker thread stopped unexpectedly".into());
            let joined = threads.into_iter().all(|t| t.join().is_ok());
            match result {
                Ok(written) if !joined || written < names.len() => Err(stopped()),
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            }
        })
    }

    /// Runs one capture on this thread, keeping its rows.
    fn run_one(
        &self,
        index: usize,
        reader: &mut CaptureReader,
        label: Option<&str>,
        encoder: Option<RowEncoder>,
        turns: &Turns,
    ) -> Done {
        let mut summary = RunSummary::default();
        let mut keep = Keep {
            encoder,
            label,
            turns,
            ended: Vec::new(),
            rows: Vec::new(),
            bytes: Vec::new(),
            values: Vec::new(),
        };
        let handler = KernelHandler::new(self.features, (self.make_exec)());
        let result = FlowTable::new(self.flow.clone(), handler)
            .map_err(PipelineError::from)
            .and_then(|mut table| {
                let mut no_progress = None;
                let report = Report {
                    summary: &mut summary,
                    progress: &mut no_progress,
                };
                let readers = std::slice::from_mut(&mut *reader);
                scan(
                    &mut table,
                    readers,
                    Share::ALL,
                    Sharing::Alone,
                    Some(report),
                    &mut keep,
                )
            });
        Done {
            index,
            rows: keep.rows,
            bytes: keep.bytes,
            summary,
            bytes_read: reader.bytes_read(),
            result,
        }
    }
}

/// Writes one capture's kept rows.
fn write_rows(
    out: &mut RowWriter<'_>,
    rows: &[(f64, Cells)],
    bytes: &[u8],
) -> Result<(), PipelineError> {
    for (start_time, cells) in rows {
        match cells {
            Cells::Encoded(range) => {
                out.push_encoded(*start_time, bytes.get(range.clone()).unwrap_or_default())?
            }
            Cells::Values(values) => out.push(*start_time, values)?,
        }
    }
    Ok(())
}

/// A capture's thread's hand-over: the rows of ended flows, kept.
struct Keep<'w> {
    encoder: Option<RowEncoder>,
    label: Option<&'w str>,
    turns: &'w Turns,
    ended: Vec<EndedFlow<FlowState>>,
    rows: Vec<(f64, Cells)>,
    bytes: Vec<u8>,
    values: Vec<Value>,
}

impl<E: Exec> Batches<E> for Keep<'_> {
    fn hand(
        &mut self,
        table: &mut FlowTableOf<'_, E>,
        _: u64,
        _: usize,
    ) -> Result<bool, PipelineError> {
        table.drain_ended(&mut self.ended);
        if self.turns.stopped() {
            // The run failed: nothing more will be written.
            discard(self.ended.drain(..), table);
            return Ok(false);
        }
        let rows = &mut self.rows;
        let mut rows_of = EncodedRows {
            encoder: self.encoder.as_mut(),
            label: self.label,
            bytes: &mut self.bytes,
            values: &mut self.values,
        };
        rows_of.encode(&mut self.ended, table, |flow, cells| {
            rows.push((flow.record.start_time, cells));
        })?;
        Ok(true)
    }

    fn wait_for_output(&mut self, _: u64, _: u64) -> bool {
        true
    }

    fn wait_for_room(&mut self, _: u64, _: u64) -> bool {
        true
    }
}

/// How many captures are written, for the threads to wait on, and whether the run stopped.
#[derive(Default)]
struct Turns {
    written: Mutex<usize>,
    more: Condvar,
    stopped: AtomicBool,
}

impl Turns {
    /// Waits until capture `index` is fewer than `ahead` captures past the ones written, so
    /// that the kept rows of at most `ahead` captures wait in memory; `false` if the run
    /// stopped instead.
    fn wait_until_within(&self, index: usize, ahead: usize) -> bool {
        let Ok(written) = self.written.lock() else {
            return false;
        };
        let waited = self.more.wait_while(written, |written| {
            index >= written.saturating_add(ahead) && !self.stopped()
        });
        waited.is_ok() && !self.stopped()
    }

    /// `count` captures are written.
    fn written(&self, count: usize) {
        if let Ok(mut written) = self.written.lock() {
            *written = count;
        }
        self.more.notify_all();
    }

    /// Stops the run: no thread starts another capture, and running ones stop at their next
    /// checkpoint.
    fn stop(&self) {
        // Taken so that a thread between its check and its wait cannot miss the wake-up.
        let _written = self.written.lock();
        self.stopped.store(true, Ordering::Relaxed);
        self.more.notify_all();
    }

    fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }
}

/// Stops the run's threads when dropped: the writing thread ends, normally or not.
struct StopOnDrop<'t>(&'t Turns);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// Stops the run if dropped by a panic: a capture's thread that dies leaves its capture
/// unwritten, so the others must not wait for it to be written.
struct StopIfPanicking<'t>(&'t Turns);

impl Drop for StopIfPanicking<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Turns, schedule};

    #[test]
    fn captures_that_fit_run_at_once_in_rows_of_two_or_more() {
        let (f, t) = (false, true);
        assert_eq!(schedule(&[], 2), vec![]);
        assert_eq!(schedule(&[t, t, t], 2), vec![(0..3, true)]);
        assert_eq!(
            schedule(&[t, t, t], 1),
            vec![(0..1, false), (1..2, false), (2..3, false)],
            "one thread: one capture at a time"
        );
        assert_eq!(
            schedule(&[t, f, t, t, f, f, t], 4),
            vec![
                (0..1, false),
                (1..2, false),
                (2..4, true),
                (4..5, false),
                (5..6, false),
                (6..7, false),
            ]
        );
    }

    #[test]
    fn a_capture_waits_until_it_is_close_enough_to_the_written_ones() {
        let turns = Turns::default();
        assert!(turns.wait_until_within(3, 4), "3 is within 4 of 0");
        std::thread::scope(|s| {
            let waiter = s.spawn(|| turns.wait_until_within(5, 4));
            turns.written(2);
            assert!(waiter.join().unwrap(), "5 is within 4 of 2");
        });
        std::thread::scope(|s| {
            let waiter = s.spawn(|| turns.wait_until_within(9, 4));
            turns.stop();
            assert!(!waiter.join().unwrap(), "a stopped run starts nothing more");
        });
        assert!(turns.stopped());
        assert!(!turns.wait_until_within(0, 4));
    }
}
