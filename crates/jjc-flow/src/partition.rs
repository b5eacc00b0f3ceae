//! One partition of the flow table: a hash index over a slab of entries (each with its
//! handler's inline state words in a slab beside it), an LRU list, and FIFO queues for the
//! flows that will end on a known deadline.

use std::collections::VecDeque;
use std::hash::BuildHasher;

use hashbrown::HashTable;
use jjc_abi::{PacketView, TcpFlags};

use crate::config::{FlowConfig, TcpEnd};
use crate::key::FlowKey;
use crate::record::{EndReason, FlowRecord};
use crate::table::{EndedFlow, FlowHandler};
use crate::words::Words;

const NIL: u32 = u32::MAX;

/// A live flow.
struct Entry<S> {
    key: FlowKey,
    hash: u64,
    /// Distinguishes this flow from later flows that reuse its slot.
    serial: u64,
    record: FlowRecord,
    state: S,
    /// Previous (less recently used) entry in the LRU list.
    prev: u32,
    /// Next (more recently used) entry in the LRU list.
    next: u32,
}

/// A flow due to end at a deadline unless something ends it first.
#[derive(Clone, Copy)]
struct Deadline {
    slot: u32,
    serial: u64,
    at: f64,
}

/// Ended flows a partition keeps room for between two hand-overs.
const ENDED_KEPT: usize = 256;

/// A share of the flow table with its own capacity and LRU order.
pub(crate) struct Partition<S> {
    index: HashTable<u32>,
    slots: Vec<Option<Entry<S>>>,
    free: Vec<u32>,
    /// Least recently used live entry.
    head: u32,
    /// Most recently used live entry.
    tail: u32,
    live: usize,
    capacity: Option<usize>,
    next_serial: u64,
    /// Gracefully closing flows, by the end of their grace period.
    closing: VecDeque<Deadline>,
    /// Flows by the time their active timeout expires.
    active: VecDeque<Deadline>,
    /// This run's random seed for the table hash.
    seed: u64,
    /// This partition's number.
    number: u32,
    ended: Vec<EndedFlow<S>>,
    /// The handler's inline state words, per slot.
    words: Words,
    /// Slots of the ended flows the last [`Partition::take_ended`] handed out: their words
    /// are read until the next one, which frees them.
    handed: Vec<u32>,
    /// Whether every flow was ended (end of input): the slab goes once the last is handed.
    closed: bool,
}

impl<S> Partition<S> {
    /// An empty partition holding at most `capacity` flows, with `stride` inline words each.
    pub(crate) fn new(capacity: Option<usize>, number: u32, stride: usize) -> Self {
        Partition {
            index: HashTable::new(),
            slots: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            live: 0,
            capacity,
            next_serial: 0,
            closing: VecDeque::new(),
            active: VecDeque::new(),
            seed: foldhash::fast::RandomState::default().hash_one(0u64),
            number,
            ended: Vec::new(),
            words: Words::new(stride),
            handed: Vec::new(),
            closed: false,
        }
    }

    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// Frees the slots of the flows handed out last time, then moves the ended flows into
    /// `out`, marked as handed out by drain `drain`; their words stay until the next call. A
    /// queue that grew for a burst of ended flows (a whole partition at the end of input,
    /// say) gives its memory back, and so does a closed partition once its last flow is gone.
    pub(crate) fn take_ended(&mut self, out: &mut Vec<EndedFlow<S>>, drain: u64) {
        self.free.append(&mut self.handed);
        for flow in &mut self.ended {
            flow.drain = drain;
            self.handed.push(flow.slot);
        }
        out.append(&mut self.ended);
        if self.ended.capacity() > ENDED_KEPT {
            self.ended = Vec::new();
        }
        if self.closed && self.live == 0 && self.handed.is_empty() {
            // The partition is empty: give back its slab at once, so a huge table shrinks
            // partition by partition as the end of input is written.
            self.slots = Vec::new();
            self.free = Vec::new();
            self.words.clear();
            self.handed = Vec::new();
        }
    }

    /// The inline words of slot `i` (empty if it has none).
    pub(crate) fn words_mut(&mut self, i: u32) -> &mut [u64] {
        self.words.get_mut(i)
    }

    /// The live entry in slot `i` and its inline words.
    fn entry_and_words(&mut self, i: u32) -> (&mut Entry<S>, &mut [u64]) {
        let words = self.words.get_mut(i);
        match &mut self.slots[i as usize] {
            Some(e) => (e, words),
            None => unreachable!("slot {i} is linked but empty"),
        }
    }

    fn entry(&self, slot: u32) -> &Entry<S> {
        match &self.slots[slot as usize] {
            Some(e) => e,
            None => unreachable!("slot {slot} is linked but empty"),
        }
    }

    fn entry_mut(&mut self, slot: u32) -> &mut Entry<S> {
        match &mut self.slots[slot as usize] {
            Some(e) => e,
            None => unreachable!("slot {slot} is linked but empty"),
        }
    }

    /// Takes one packet: finds or starts its flow, counts it, runs the handler, applies the
    /// TCP end rule. `clock` is the capture clock including this packet.
    pub(crate) fn process<H: FlowHandler<State = S>>(
        &mut self,
        pkt: &mut PacketView<'_>,
        key: &FlowKey,
        key_hash: u64,
        clock: f64,
        cfg: &FlowConfig,
        handler: &mut H,
    ) {
        self.sweep(clock, cfg);
        let hash = crate::key::seeded(key_hash, self.seed);
        let slots = &self.slots;
        let found = self.index.find(hash, |&i| match &slots[i as usize] {
            Some(e) => e.key == *key,
            None => false,
        });
        let mut slot = found.copied();
        if let Some(i) = slot
            && let Some((reason, at)) = Self::ends_before(&self.entry(i).record, pkt, clock, cfg)
        {
            self.end(i, reason, at);
            slot = None;
        }
        let i = match slot {
            Some(i) => {
                self.unlink(i);
                i
            }
            None => {
                if self.capacity.is_some_and(|c| self.live >= c) && self.head != NIL {
                    self.end(self.head, EndReason::Evicted, clock);
                }
                let record = FlowRecord::first(pkt, clock);
                let i = self.insert(*key, hash, record, handler);
                if let Some(a) = cfg.active_timeout {
                    let serial = self.entry(i).serial;
                    self.active.push_back(Deadline {
                        slot: i,
                        serial,
                        at: clock + a,
                    });
                }
                i
            }
        };
        self.link_tail(i);
        let (e, words) = self.entry_and_words(i);
        pkt.dir = e.record.direction_of(pkt);
        e.record.count(pkt, clock);
        handler.update(&mut e.state, words, &e.record, pkt);
        if pkt.protocol == 6 {
            self.apply_tcp_end(i, pkt, clock, cfg);
        }
    }

    /// Whether the flow of `record` has ended by the time `pkt` arrives, and if so why and when.
    fn ends_before(
        record: &FlowRecord,
        pkt: &PacketView<'_>,
        clock: f64,
        cfg: &FlowConfig,
    ) -> Option<(EndReason, f64)> {
        if let Some(since) = record.closing_since {
            if clock - since > cfg.tcp_grace {
                return Some((EndReason::TcpEnd, since + cfg.tcp_grace));
            }
            let syn_only = pkt.protocol == 6
                && pkt.tcp_flags & (TcpFlags::SYN | TcpFlags::ACK) == TcpFlags::SYN;
            if syn_only {
                return Some((EndReason::TcpEnd, clock));
            }
        }
        if clock - record.last_clock > cfg.idle_timeout {
            return Some((EndReason::IdleTimeout, record.last_clock + cfg.idle_timeout));
        }
        if let Some(a) = cfg.active_timeout
            && clock - record.start_clock > a
        {
            return Some((EndReason::ActiveTimeout, record.start_clock + a));
        }
        None
    }

    fn apply_tcp_end(&mut self, i: u32, pkt: &PacketView<'_>, clock: f64, cfg: &FlowConfig) {
        let fin = pkt.tcp_flags & TcpFlags::FIN != 0;
        let rst = pkt.tcp_flags & TcpFlags::RST != 0;
        if !(fin || rst) {
            return;
        }
        let e = self.entry_mut(i);
        let r = &mut e.record;
        r.terminated = true;
        match cfg.tcp_end {
            TcpEnd::Never => {}
            TcpEnd::FirstFinRst => {
                if r.total_packets() > 1 {
                    self.end(i, EndReason::TcpEnd, clock);
                }
            }
            TcpEnd::Graceful => {
                if r.closing_since.is_some() {
                    return;
                }
                match pkt.dir {
                    jjc_abi::Direction::Fwd => r.fin_fwd |= fin,
                    jjc_abi::Direction::Bwd => r.fin_bwd |= fin,
                }
                if rst || (r.fin_fwd && r.fin_bwd) {
                    r.closing_since = Some(clock);
                    let serial = e.serial;
                    self.closing.push_back(Deadline {
                        slot: i,
                        serial,
                        at: clock + cfg.tcp_grace,
                    });
                }
            }
        }
    }

    /// Ends the flows whose deadline the clock has passed: closing flows after their grace
    /// period, flows past their active timeout, and idle flows from the LRU end.
    pub(crate) fn sweep(&mut self, clock: f64, cfg: &FlowConfig) {
        while let Some(d) = self.closing.front().copied() {
            if !self.holds(d) {
                self.closing.pop_front();
            } else if clock > d.at {
                self.closing.pop_front();
                self.end(d.slot, EndReason::TcpEnd, d.at);
            } else {
                break;
            }
        }
        while let Some(d) = self.active.front().copied() {
            if !self.holds(d) {
                self.active.pop_front();
            } else if clock > d.at {
                self.active.pop_front();
                self.end(d.slot, EndReason::ActiveTimeout, d.at);
            } else {
                break;
            }
        }
        while self.head != NIL {
            let last = self.entry(self.head).record.last_clock;
            if clock - last > cfg.idle_timeout {
                self.end(self.head, EndReason::IdleTimeout, last + cfg.idle_timeout);
            } else {
                break;
            }
        }
    }

    /// Whether a deadline still refers to the live flow it was made for.
    fn holds(&self, d: Deadline) -> bool {
        matches!(&self.slots[d.slot as usize], Some(e) if e.serial == d.serial)
    }

    /// Ends every live flow (end of input): first those whose deadline the final clock has
    /// passed, for their own reason and time, then the rest.
    pub(crate) fn end_all(&mut self, clock: f64, cfg: &FlowConfig) {
        self.sweep(clock, cfg);
        while self.head != NIL {
            self.end(self.head, EndReason::EndOfInput, f64::INFINITY);
        }
        // The partition is empty: give back its index and queues at once; the slab goes once
        // the ended flows' words are read (`take_ended`).
        self.index = HashTable::new();
        self.closing = VecDeque::new();
        self.active = VecDeque::new();
        self.closed = true;
    }

    /// Starts a flow in a free slot (or a new one), its state made by `handler`.
    fn insert<H: FlowHandler<State = S>>(
        &mut self,
        key: FlowKey,
        hash: u64,
        record: FlowRecord,
        handler: &mut H,
    ) -> u32 {
        self.closed = false;
        let serial = self.next_serial;
        self.next_serial += 1;
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(None);
                self.words.ensure(self.slots.len());
                (self.slots.len() - 1) as u32
            }
        };
        let state = handler.start(&record, self.words_mut(i));
        self.slots[i as usize] = Some(Entry {
            key,
            hash,
            serial,
            record,
            state,
            prev: NIL,
            next: NIL,
        });
        let slots = &self.slots;
        self.index
            .insert_unique(hash, i, |&j| match &slots[j as usize] {
                Some(e) => e.hash,
                None => 0,
            });
        self.live += 1;
        i
    }

    /// Removes flow `i` from the table and queues it as ended.
    fn end(&mut self, i: u32, reason: EndReason, at: f64) {
        let hash = self.entry(i).hash;
        if let Ok(found) = self.index.find_entry(hash, |&j| j == i) {
            found.remove();
        }
        self.unlink(i);
        let Some(mut e) = self.slots[i as usize].take() else {
            return;
        };
        // The slot is freed once the flow is handed out and read (`take_ended`).
        self.live -= 1;
        e.record.end_reason = reason;
        self.ended.push(EndedFlow {
            partition: self.number,
            event_time: at,
            key: e.key,
            record: e.record,
            state: e.state,
            slot: i,
            drain: 0,
        });
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next) = {
            let e = self.entry(i);
            (e.prev, e.next)
        };
        if prev != NIL {
            self.entry_mut(prev).next = next;
        } else if self.head == i {
            self.head = next;
        }
        if next != NIL {
            self.entry_mut(next).prev = prev;
        } else if self.tail == i {
            self.tail = prev;
        }
        let e = self.entry_mut(i);
        e.prev = NIL;
        e.next = NIL;
    }

    fn link_tail(&mut self, i: u32) {
        let tail = self.tail;
        {
            let e = self.entry_mut(i);
            e.prev = tail;
            e.next = NIL;
        }
        if tail != NIL {
            self.entry_mut(tail).next = i;
        } else {
            self.head = i;
        }
        self.tail = i;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FlowKey, NoFeatures, partition_hash};

    /// Gives every flow its own number in its first inline word.
    struct Numbered(u64);

    impl FlowHandler for Numbered {
        type State = ();
        fn inline_words(&self) -> usize {
            3
        }
        fn start(&mut self, _: &FlowRecord, words: &mut [u64]) {
            self.0 += 1;
            words.fill(0);
            words[0] = self.0;
        }
        fn update(&mut self, _: &mut (), words: &mut [u64], _: &FlowRecord, _: &PacketView<'_>) {
            words[1] += 1;
        }
    }

    fn udp(port: u16) -> PacketView<'static> {
        let mut p = PacketView::default();
        (p.protocol, p.src_port, p.dst_port) = (17, port, 53);
        p
    }

    fn take<S, H: FlowHandler<State = S>>(
        part: &mut Partition<S>,
        handler: &mut H,
        port: u16,
        clock: f64,
        cfg: &FlowConfig,
    ) {
        let mut p = udp(port);
        p.ts = clock;
        let key = FlowKey::of(&p);
        part.process(&mut p, &key, partition_hash(&key), clock, cfg, handler);
    }

    #[test]
    fn an_ended_partition_gives_its_memory_back() {
        let cfg = FlowConfig::default();
        let mut part: Partition<()> = Partition::new(None, 0, 0);
        for port in 0..5000u16 {
            take(&mut part, &mut NoFeatures, port, 0.0, &cfg);
        }
        assert_eq!(part.live(), 5000);
        assert!(part.slots.capacity() >= 5000 && part.index.capacity() >= 5000);
        part.end_all(0.0, &cfg);
        let mut out = Vec::new();
        part.take_ended(&mut out, 1);
        assert_eq!(out.len(), 5000);
        assert_eq!(part.index.capacity(), 0, "the index goes at once");
        assert!(
            part.slots.len() == 5000,
            "the slab stays while the flows are read"
        );
        part.take_ended(&mut out, 2);
        assert_eq!(out.len(), 5000);
        assert_eq!(
            (
                part.slots.capacity(),
                part.free.capacity(),
                part.index.capacity(),
                part.ended.capacity(),
                part.handed.capacity(),
            ),
            (0, 0, 0, 0, 0),
            "slab, free list, index and queues are freed"
        );
    }

    #[test]
    fn inline_words_stay_until_the_next_hand_over_then_their_slot_is_reused() {
        let cfg = FlowConfig {
            idle_timeout: 1.0,
            ..FlowConfig::default()
        };
        let mut h = Numbered(0);
        let mut part: Partition<()> = Partition::new(None, 0, h.inline_words());
        take(&mut part, &mut h, 1, 0.0, &cfg);
        take(&mut part, &mut h, 1, 0.5, &cfg);
        take(&mut part, &mut h, 2, 1.0, &cfg);
        // Port 1 times out; port 3 starts while its words are still to be read.
        take(&mut part, &mut h, 3, 1.7, &cfg);
        let mut out = Vec::new();
        part.take_ended(&mut out, 1);
        let ended: Vec<(u16, u32)> = out.iter().map(|f| (f.record.src_port, f.slot)).collect();
        assert_eq!(ended, [(1, 0)]);
        assert_eq!(part.words_mut(0), [1, 2, 0], "flow 1's number and packets");
        assert_eq!(part.words_mut(2), [3, 1, 0], "port 3 took a new slot");
        take(&mut part, &mut h, 4, 1.7, &cfg);
        assert_eq!(
            part.words_mut(0),
            [1, 2, 0],
            "not reused before the next hand-over"
        );
        part.take_ended(&mut out, 2);
        take(&mut part, &mut h, 5, 1.7, &cfg);
        assert_eq!(
            part.words_mut(0),
            [5, 1, 0],
            "reused, and initialised by start"
        );
        assert_eq!(part.slots.len(), 4);
    }
}
