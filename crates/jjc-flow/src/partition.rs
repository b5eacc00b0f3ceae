//! One partition of the flow table: a hash index over a slab of entries, an LRU list, and
//! FIFO queues for the flows that will end on a known deadline.

use std::collections::VecDeque;
use std::hash::BuildHasher;

use hashbrown::HashTable;
use jjc_abi::{PacketView, TcpFlags};

use crate::config::{FlowConfig, TcpEnd};
use crate::key::FlowKey;
use crate::record::{EndReason, FlowRecord};
use crate::table::{EndedFlow, FlowHandler};

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
}

impl<S> Partition<S> {
    pub(crate) fn new(capacity: Option<usize>, number: u32) -> Self {
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
        }
    }

    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// Moves the ended flows into `out`. A queue that grew for a burst of ended flows (a
    /// whole partition at the end of input, say) gives its memory back.
    pub(crate) fn take_ended(&mut self, out: &mut Vec<EndedFlow<S>>) {
        out.append(&mut self.ended);
        if self.ended.capacity() > ENDED_KEPT {
            self.ended = Vec::new();
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
                let state = handler.start(&record);
                let i = self.insert(*key, hash, record, state);
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
        let e = self.entry_mut(i);
        pkt.dir = e.record.direction_of(pkt);
        e.record.count(pkt, clock);
        handler.update(&mut e.state, &e.record, pkt);
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
        // The partition is empty: give back its slab, index and queues at once, so a huge
        // table shrinks partition by partition as the end of input is written.
        self.slots = Vec::new();
        self.free = Vec::new();
        self.index = HashTable::new();
        self.closing = VecDeque::new();
        self.active = VecDeque::new();
    }

    fn insert(&mut self, key: FlowKey, hash: u64, record: FlowRecord, state: S) -> u32 {
        let serial = self.next_serial;
        self.next_serial += 1;
        let entry = Entry {
            key,
            hash,
            serial,
            record,
            state,
            prev: NIL,
            next: NIL,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(entry);
                i
            }
            None => {
                self.slots.push(Some(entry));
                (self.slots.len() - 1) as u32
            }
        };
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
        self.free.push(i);
        self.live -= 1;
        e.record.end_reason = reason;
        self.ended.push(EndedFlow {
            partition: self.number,
            event_time: at,
            key: e.key,
            record: e.record,
            state: e.state,
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

    #[test]
    fn an_ended_partition_gives_its_memory_back() {
        let cfg = FlowConfig::default();
        let mut part: Partition<()> = Partition::new(None, 0);
        for port in 0..5000u16 {
            let mut p = jjc_abi::PacketView::default();
            (p.protocol, p.src_port, p.dst_port) = (17, port, 53);
            let key = FlowKey::of(&p);
            part.process(
                &mut p,
                &key,
                partition_hash(&key),
                0.0,
                &cfg,
                &mut NoFeatures,
            );
        }
        assert_eq!(part.live(), 5000);
        assert!(part.slots.capacity() >= 5000 && part.index.capacity() >= 5000);
        part.end_all(0.0, &cfg);
        let mut out = Vec::new();
        part.take_ended(&mut out);
        assert_eq!(out.len(), 5000);
        assert_eq!(
            (
                part.slots.capacity(),
                part.free.capacity(),
                part.index.capacity(),
                part.ended.capacity()
            ),
            (0, 0, 0, 0),
            "slab, free list, index and ended queue are freed"
        );
    }
}
