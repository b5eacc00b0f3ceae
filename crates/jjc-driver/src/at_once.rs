//! Several captures of one run at once, one thread each, for runs over many captures (a
//! folder of them, say). The rows of the first capture not yet written go to the output as
//! its thread hands them; the others' rows wait until every capture before theirs is written.
//! The table is the one a single thread writes, for any thread count.
//!
//! The calling thread writes the rows, and runs captures too: it writes what the other
//! threads sent whenever it hands rows of its own, and whenever it would wait. A thread that
//! only wrote would take a core from a capture's thread at every message on a machine with as
//! many cores as threads.
//!
//! Splitting by capture does no work twice and hands nothing between threads but finished
//! rows, so it scales as far as the captures and cores go, where the partitioned walk of
//! [`crate::parallel`] makes every thread read every record of one capture. Larger captures
//! keep the partitioned walk ([`fits`]): a capture waiting for its turn must keep all its
//! rows, or its thread must stop and wait.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Condvar, Mutex};

use jjc_abi::Value;
use jjc_capture::CaptureReader;
use jjc_flow::{EndedFlow, FlowConfig, FlowTable};
use jjc_kernel::Exec;
use jjc_output::RowEncoder;

use crate::error::PipelineError;
use crate::features::{CompiledFeatures, FlowState, KernelHandler};
use crate::parallel::{Cells, EncodedRows, rows_size};
use crate::pipeline::{Progress, RowWriter, discard};
use crate::scan::{Batches, FlowTableOf, Report, Share, Sharing, scan};
use crate::summary::RunSummary;
use crate::warmup::Warmup;

/// Captures below this size run beside others. Larger ones are split by partition, one at a
/// time: a capture that runs beside the one being written keeps its rows until its turn, and
/// a large one's rows outgrow [`KEPT_ROWS_BYTES`], after which its thread only waits. Three
/// 29 MB captures of 100,000 short flows each (70 MB of rows each) took 1.17 s at once
/// against 0.95 s split by partition; four of 25–54 MB of ordinary traffic, 76 ms against
/// 86 ms.
const SMALL_CAPTURE: u64 = 16 << 20;

/// Bytes of rows that the captures waiting for their turn to be written may hold in all; a
/// capture's thread that would hold more waits until its capture is the one being written.
const KEPT_ROWS_BYTES: u64 = 64 << 20;

/// Whether a capture of `bytes` may run beside others: a file (a stream's size is unknown)
/// below [`SMALL_CAPTURE`].
pub(crate) fn fits(bytes: Option<u64>) -> bool {
    bytes.is_some_and(|b| b < SMALL_CAPTURE)
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

/// What a capture's thread tells the writing thread, in order.
enum Message {
    /// Rows of capture `index`, in the order one thread writes them.
    Rows { index: usize, rows: Rows },
    /// `bytes` of capture `index` are read (for the progress display).
    Read { index: usize, bytes: u64 },
    /// Capture `index` is over; no rows of it follow.
    Done { index: usize, ended: Ended },
}

/// How a capture's walk ended.
struct Ended {
    /// Its counts and warnings.
    summary: RunSummary,
    /// Bytes of it read.
    bytes_read: u64,
    /// Whether it failed: after an error, the rows sent are those of the flows that ended
    /// before it.
    result: Result<(), PipelineError>,
}

/// Rows handed at one checkpoint: start time (for `--sort start`) and cells, and the encoded
/// cells' bytes.
struct Rows {
    rows: Vec<(f64, Cells)>,
    bytes: Vec<u8>,
}

impl Rows {
    /// About how much memory the rows hold, for the count of kept rows.
    fn size(&self) -> u64 {
        rows_size(&self.rows, &self.bytes, |(_, cells)| cells)
    }

    /// Writes the rows.
    fn write(&self, out: &mut RowWriter<'_>) -> Result<(), PipelineError> {
        self.rows
            .iter()
            .try_for_each(|(start_time, cells)| cells.write(*start_time, &self.bytes, out))
    }
}

/// A capture's messages that came before its turn to be written.
#[derive(Default)]
struct Waiting {
    rows: VecDeque<Rows>,
    /// Bytes of it read, as last told.
    read: u64,
    ended: Option<Ended>,
}

/// The writing thread's side: writes each capture's rows in its turn.
struct Writer<'w, 'o, 'p, 'n> {
    out: &'w mut RowWriter<'o>,
    summary: &'w mut RunSummary,
    shown: Shown<'p, 'n>,
    turns: &'w Turns,
    /// Messages of the captures whose turn has not come.
    waiting: BTreeMap<usize, Waiting>,
    /// Captures written: the one being written is number `written`.
    written: usize,
}

impl Writer<'_, '_, '_, '_> {
    /// Takes one message, and writes what the captures' turns then allow: the rows of the
    /// capture being written, and the next captures' once it is over.
    fn take(&mut self, message: Message) -> Result<(), PipelineError> {
        match message {
            Message::Rows { index, rows } => {
                self.waiting.entry(index).or_default().rows.push_back(rows);
            }
            Message::Read { index, bytes } => {
                self.waiting.entry(index).or_default().read = bytes;
                if index == self.written {
                    self.shown.advance(bytes);
                }
            }
            Message::Done { index, ended } => {
                self.waiting.entry(index).or_default().ended = Some(ended);
            }
        }
        while let Some(capture) = self.waiting.get_mut(&self.written) {
            while let Some(rows) = capture.rows.pop_front() {
                rows.write(self.out)?;
                self.turns.wrote(rows.size());
            }
            let Some(ended) = capture.ended.take() else {
                return Ok(());
            };
            self.shown.advance(ended.bytes_read);
            self.summary.absorb(ended.summary);
            ended.result?;
            self.waiting.remove(&self.written);
            self.written += 1;
            self.turns.written(self.written);
            let read = self.waiting.get(&self.written).map_or(0, |c| c.read);
            self.shown.start(self.written, read);
        }
        Ok(())
    }
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
            let (messages, received) = channel::<Message>();
            // This thread runs captures too: one thread fewer to start.
            let others = (self.threads - 1).min(captures.len().saturating_sub(1));
            let mut threads = Vec::with_capacity(others);
            for _ in 0..others {
                let (messages, encoder) = (messages.clone(), encoder.clone());
                let (turns, next, captures) = (&turns, &next, &captures);
                threads.push(scope.spawn(move || {
                    let _stop = StopIfPanicking(turns);
                    let sent = Sent { messages, turns };
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
                        let encoder = encoder.clone();
                        let done = self.run_one(index, reader, label, encoder, &sent, turns);
                        if !sent.deliver(done) {
                            return;
                        }
                    }
                }));
            }
            drop(messages);
            if let Some(w) = self.warmup {
                w.end();
            }
            let stopped = || PipelineError::Config("a worker thread stopped unexpectedly".into());
            let result = {
                // Stops the threads however the writing ends (an error, or a panic as it
                // unwinds).
                let _stop = StopOnDrop(&turns);
                let mut shown = Shown {
                    progress: progress.as_deref_mut(),
                    names: &names,
                };
                shown.start(0, 0);
                let here = Here {
                    writer: RefCell::new(Writer {
                        out,
                        summary,
                        shown,
                        turns: &turns,
                        waiting: BTreeMap::new(),
                        written: 0,
                    }),
                    received: &received,
                    turns: &turns,
                    error: RefCell::new(None),
                };
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(capture) = captures.get(index) else {
                        break;
                    };
                    if !here.write_while(|w| w.too_far_ahead(index, ahead)) {
                        break;
                    }
                    let reader = capture.lock().ok().and_then(|mut r| r.take());
                    let Some(reader) = reader else {
                        break;
                    };
                    let label = labels.get(index).copied().flatten();
                    // A capture that panics here (a native group's bug) fails the run with an
                    // error, as it does on a started thread, whose join reports it.
                    let done = std::panic::catch_unwind(AssertUnwindSafe(|| {
                        self.run_one(index, reader, label, encoder.clone(), &here, &turns)
                    }));
                    let Ok(done) = done else {
                        here.error.borrow_mut().get_or_insert_with(stopped);
                        turns.stop();
                        break;
                    };
                    if !here.deliver(done) {
                        break;
                    }
                }
                // The rest: what the other threads send until they are done.
                while here.error.borrow().is_none() {
                    let Ok(message) = received.recv() else {
                        break;
                    };
                    here.take(message);
                }
                match here.error.into_inner() {
                    Some(e) => Err(e),
                    None => Ok(here.writer.into_inner().written),
                }
            };
            let joined = threads.into_iter().all(|t| t.join().is_ok());
            match result {
                Ok(written) if !joined || written < names.len() => Err(stopped()),
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            }
        })
    }

    /// Runs one capture on this thread, delivering its rows as its flows end; returns the
    /// message that ends it.
    fn run_one<D: Deliver>(
        &self,
        index: usize,
        reader: &mut CaptureReader,
        label: Option<&str>,
        encoder: Option<RowEncoder>,
        deliver: &D,
        turns: &Turns,
    ) -> Message {
        let mut summary = RunSummary::default();
        let mut told = Told { index, deliver };
        let mut sending = Sending {
            index,
            encoder,
            label,
            deliver,
            turns,
            ended: Vec::new(),
            values: Vec::new(),
        };
        let handler = KernelHandler::new(self.features, (self.make_exec)());
        let result = FlowTable::new(self.flow.clone(), handler)
            .map_err(PipelineError::from)
            .and_then(|mut table| {
                let mut progress: Option<&mut dyn Progress> = Some(&mut told);
                let report = Report {
                    summary: &mut summary,
                    progress: &mut progress,
                };
                let readers = std::slice::from_mut(&mut *reader);
                scan(
                    &mut table,
                    readers,
                    Share::ALL,
                    Sharing::Alone,
                    Some(report),
                    &mut sending,
                )
            });
        let bytes_read = reader.bytes_read();
        Message::Done {
            index,
            ended: Ended {
                summary,
                bytes_read,
                result,
            },
        }
    }
}

/// The progress display of the writing thread: shows the capture being written, with what
/// its thread last told of it.
struct Shown<'p, 'n> {
    progress: Option<&'p mut (dyn Progress + 'n)>,
    names: &'p [(String, Option<u64>)],
}

impl Shown<'_, '_> {
    /// Capture `index` is now the one being written; `read` bytes of it are read so far.
    fn start(&mut self, index: usize, read: u64) {
        if let Some(p) = self.progress.as_deref_mut()
            && let Some((name, total)) = self.names.get(index)
        {
            p.start_capture(name, *total);
            p.advance(read);
        }
    }

    /// `bytes` of the capture being written are read.
    fn advance(&mut self, bytes: u64) {
        if let Some(p) = self.progress.as_deref_mut() {
            p.advance(bytes);
        }
    }
}

/// Where a capture's thread delivers its messages to the writer.
trait Deliver {
    /// Delivers `message`; `false` once the run stopped.
    fn deliver(&self, message: Message) -> bool;

    /// Waits while more rows wait to be written than [`KEPT_ROWS_BYTES`] and capture
    /// `index` is not the one being written; `false` if the run stopped instead.
    fn wait_for_room(&self, index: usize) -> bool;
}

/// A started thread's delivery: over the channel to the writing thread.
struct Sent<'t> {
    messages: Sender<Message>,
    turns: &'t Turns,
}

impl Deliver for Sent<'_> {
    fn deliver(&self, message: Message) -> bool {
        // The writing thread is gone only after an error, which the run reports.
        self.messages.send(message).is_ok()
    }

    fn wait_for_room(&self, index: usize) -> bool {
        self.turns.wait_for_room(index)
    }
}

/// The writing thread's own delivery: it takes its capture's messages straight into the
/// writer, with whatever the other threads sent meanwhile, and where another thread would
/// wait for the writer it writes what they send.
struct Here<'h, 'w, 'o, 'p, 'n> {
    writer: RefCell<Writer<'w, 'o, 'p, 'n>>,
    received: &'h Receiver<Message>,
    turns: &'h Turns,
    /// The first error writing, after which the run stops.
    error: RefCell<Option<PipelineError>>,
}

impl Here<'_, '_, '_, '_, '_> {
    /// Takes one message into the writer; `false` (the run stopped) on an error.
    fn take(&self, message: Message) -> bool {
        let taken = self.writer.borrow_mut().take(message);
        match taken {
            Ok(()) => true,
            Err(e) => {
                self.error.borrow_mut().get_or_insert(e);
                self.turns.stop();
                false
            }
        }
    }

    /// Takes what the other threads sent and has not been taken yet.
    fn take_sent(&self) -> bool {
        while let Ok(message) = self.received.try_recv() {
            if !self.take(message) {
                return false;
            }
        }
        true
    }

    /// Writes what the other threads send while `blocked` holds (only the writing that
    /// takes their messages can end it); `false` if the run stopped instead.
    fn write_while(&self, blocked: impl Fn(&Written) -> bool) -> bool {
        loop {
            if self.turns.stopped() || self.error.borrow().is_some() {
                return false;
            }
            if !self.turns.holds(&blocked) {
                return true;
            }
            let Ok(message) = self.received.recv() else {
                // Every other thread is gone, and nothing else ends the wait.
                return false;
            };
            if !self.take(message) {
                return false;
            }
        }
    }
}

impl Deliver for Here<'_, '_, '_, '_, '_> {
    fn deliver(&self, message: Message) -> bool {
        self.take(message) && self.take_sent() && !self.turns.stopped()
    }

    fn wait_for_room(&self, index: usize) -> bool {
        self.write_while(|w| w.no_room_for(index))
    }
}

/// A capture's thread's progress, told to the writer, which shows it once the capture is
/// the one being written.
struct Told<'d, D> {
    index: usize,
    deliver: &'d D,
}

impl<D: Deliver> Progress for Told<'_, D> {
    fn start_capture(&mut self, _: &str, _: Option<u64>) {}

    fn advance(&mut self, bytes: u64) {
        let index = self.index;
        // A failed delivery stops the run, which its next checkpoint sees.
        let _ = self.deliver.deliver(Message::Read { index, bytes });
    }
}

/// A capture's thread's hand-over: the rows of ended flows, delivered to the writer.
struct Sending<'w, D> {
    index: usize,
    encoder: Option<RowEncoder>,
    label: Option<&'w str>,
    deliver: &'w D,
    turns: &'w Turns,
    ended: Vec<EndedFlow<FlowState>>,
    values: Vec<Value>,
}

impl<E: Exec, D: Deliver> Batches<E> for Sending<'_, D> {
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
        if self.ended.is_empty() {
            return Ok(true);
        }
        let (mut rows, mut bytes) = (Vec::with_capacity(self.ended.len()), Vec::new());
        let mut rows_of = EncodedRows {
            encoder: self.encoder.as_mut(),
            label: self.label,
            bytes: &mut bytes,
            values: &mut self.values,
        };
        rows_of.encode(&mut self.ended, table, |flow, cells| {
            rows.push((flow.record.start_time, cells));
        })?;
        let rows = Rows { rows, bytes };
        self.turns.kept(rows.size());
        let index = self.index;
        Ok(
            self.deliver.deliver(Message::Rows { index, rows })
                && self.deliver.wait_for_room(index),
        )
    }

    fn wait_for_output(&mut self, _: u64, _: u64) -> bool {
        true
    }

    fn wait_for_room(&mut self, _: u64, _: u64) -> bool {
        true
    }
}

/// How many captures are written and how many bytes of rows wait to be, for the threads to
/// wait on, and whether the run stopped.
#[derive(Default)]
struct Turns {
    state: Mutex<Written>,
    more: Condvar,
    stopped: AtomicBool,
}

/// What [`Turns`] guards.
#[derive(Default)]
struct Written {
    /// Captures written.
    captures: usize,
    /// Bytes of rows sent and not yet written ([`Rows::size`]).
    kept: u64,
}

impl Written {
    /// Whether capture `index` is `ahead` captures or more past the ones written: it must
    /// not start yet, so that at most `ahead` captures are under way at once.
    fn too_far_ahead(&self, index: usize, ahead: usize) -> bool {
        index >= self.captures.saturating_add(ahead)
    }

    /// Whether capture `index` must wait before keeping more rows: more than
    /// [`KEPT_ROWS_BYTES`] wait to be written, and it is not the one being written (whose
    /// rows go out as they come, so it never waits).
    fn no_room_for(&self, index: usize) -> bool {
        self.kept > KEPT_ROWS_BYTES && self.captures < index
    }
}

impl Turns {
    /// Waits until capture `index` is fewer than `ahead` captures past the ones written, so
    /// that at most `ahead` captures are under way at once; `false` if the run stopped
    /// instead.
    fn wait_until_within(&self, index: usize, ahead: usize) -> bool {
        self.wait_while(|w| w.too_far_ahead(index, ahead))
    }

    /// Waits while more than [`KEPT_ROWS_BYTES`] of rows wait to be written and capture
    /// `index` is not the one being written (whose rows go out as they come, so it never
    /// waits); `false` if the run stopped instead.
    fn wait_for_room(&self, index: usize) -> bool {
        self.wait_while(|w| w.no_room_for(index))
    }

    /// Whether `condition` holds now (false if the state was poisoned).
    fn holds(&self, condition: impl Fn(&Written) -> bool) -> bool {
        self.state.lock().is_ok_and(|w| condition(&w))
    }

    /// Waits while `blocked` holds and the run goes on; `false` if it stopped.
    fn wait_while(&self, blocked: impl Fn(&Written) -> bool) -> bool {
        let Ok(state) = self.state.lock() else {
            return false;
        };
        let waited = self
            .more
            .wait_while(state, |w| blocked(w) && !self.stopped());
        waited.is_ok() && !self.stopped()
    }

    /// `bytes` more of rows were sent.
    fn kept(&self, bytes: u64) {
        if let Ok(mut state) = self.state.lock() {
            state.kept = state.kept.saturating_add(bytes);
        }
    }

    /// `bytes` of the rows sent were written.
    fn wrote(&self, bytes: u64) {
        if let Ok(mut state) = self.state.lock() {
            state.kept = state.kept.saturating_sub(bytes);
        }
        self.more.notify_all();
    }

    /// `count` captures are written.
    fn written(&self, count: usize) {
        if let Ok(mut state) = self.state.lock() {
            state.captures = count;
        }
        self.more.notify_all();
    }

    /// Stops the run: no thread starts another capture, and running ones stop at their next
    /// checkpoint.
    fn stop(&self) {
        // Taken so that a thread between its check and its wait cannot miss the wake-up.
        let _state = self.state.lock();
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
    use super::{KEPT_ROWS_BYTES, SMALL_CAPTURE, Turns, fits, schedule};

    #[test]
    fn small_files_fit() {
        assert!(fits(Some(1000)));
        assert!(fits(Some(SMALL_CAPTURE - 1)));
        assert!(!fits(Some(SMALL_CAPTURE)));
        assert!(!fits(None), "a stream");
    }

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

    #[test]
    fn a_capture_waits_for_room_unless_it_is_the_one_being_written() {
        let turns = Turns::default();
        turns.kept(KEPT_ROWS_BYTES);
        assert!(turns.wait_for_room(3), "at the bound: room enough");
        turns.kept(1);
        assert!(
            turns.wait_for_room(0),
            "the capture being written never waits"
        );
        std::thread::scope(|s| {
            let waiter = s.spawn(|| turns.wait_for_room(1));
            turns.wrote(1);
            assert!(waiter.join().unwrap(), "room once rows are written");
        });
        turns.kept(1);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| turns.wait_for_room(2));
            turns.written(2);
            assert!(waiter.join().unwrap(), "its turn came");
        });
        turns.kept(KEPT_ROWS_BYTES);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| turns.wait_for_room(5));
            turns.stop();
            assert!(!waiter.join().unwrap(), "a stopped run");
        });
    }
}
