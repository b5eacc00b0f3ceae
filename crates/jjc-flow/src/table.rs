//! The flow table: fixed partitions of live flows, and the flows that have ended.

use jjc_abi::PacketView;

use crate::config::{ConfigError, FlowConfig};
use crate::key::{FlowKey, partition_hash};
use crate::partition::Partition;
use crate::record::FlowRecord;

/// The most partitions a table has. Fewer when `--max-flows` is smaller, so every partition
/// can hold at least one flow.
pub const MAX_PARTITIONS: usize = 64;

/// What runs for every flow: makes its state when it starts and updates it per packet.
///
/// Generic rather than a trait object, so the per-packet call is static. A flow's state has
/// two parts: `inline_words()` words kept in the table itself, in a slab beside the flow's
/// entry (no allocation per flow, no pointer to follow), and a value of type `State`.
pub trait FlowHandler {
    /// The part of a flow's state that is a Rust value (`()` when the words are enough).
    type State;
    /// Words of state every flow keeps inline in the table (fixed for the handler).
    fn inline_words(&self) -> usize {
        0
    }
    /// The state of a flow that starts now (`flow` has no packet counted yet); `words` are
    /// its [`FlowHandler::inline_words`] words, to initialise (they hold an earlier flow's).
    fn start(&mut self, flow: &FlowRecord, words: &mut [u64]) -> Self::State;
    /// Takes one packet of the flow, after the flow record has counted it.
    fn update(
        &mut self,
        state: &mut Self::State,
        words: &mut [u64],
        flow: &FlowRecord,
        pkt: &PacketView<'_>,
    );
}

/// The partition (of `n`) of a key whose [`partition_hash`] is `h`.
#[inline]
pub fn partition_of(h: u64, n: usize) -> usize {
    // The high half, so the partition does not select on the bits the table uses.
    let high = h >> 32;
    if n.is_power_of_two() {
        // The same remainder without a division (the default 64 partitions).
        (high & (n as u64 - 1)) as usize
    } else {
        (high % n as u64) as usize
    }
}

/// A handler with no per-flow state: the engine's flow record only.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFeatures;

impl FlowHandler for NoFeatures {
    type State = ();
    fn start(&mut self, _: &FlowRecord, _: &mut [u64]) {}
    fn update(&mut self, _: &mut (), _: &mut [u64], _: &FlowRecord, _: &PacketView<'_>) {}
}

/// A flow that has ended, with its state, waiting to be written. Its inline words stay in
/// the table, readable through [`FlowTable::ended_state`] until the next
/// [`FlowTable::drain_ended`].
#[derive(Debug, Clone)]
pub struct EndedFlow<S> {
    /// Capture time of the event that ended it (`+inf` for end of input).
    pub event_time: f64,
    /// The partition it lived in.
    pub partition: u32,
    /// Its key.
    pub key: FlowKey,
    /// The engine's record of it.
    pub record: FlowRecord,
    /// The handler's state for it (its inline words stay in the table).
    pub state: S,
    /// Its slot in the partition, where its inline words are.
    pub(crate) slot: u32,
    /// The drain that handed it out (its words are readable during that drain only).
    pub(crate) drain: u64,
}

/// Live flows split over fixed partitions, each with its own share of `--max-flows`.
pub struct FlowTable<H: FlowHandler> {
    config: FlowConfig,
    partitions: Vec<Partition<H::State>>,
    handler: H,
    clock: f64,
    packets: u64,
    /// Calls of [`FlowTable::drain_ended`] so far.
    drains: u64,
}

impl<H: FlowHandler> FlowTable<H> {
    /// An empty table applying `config`, running `handler` on every flow.
    pub fn new(config: FlowConfig, handler: H) -> Result<Self, ConfigError> {
        config.validate()?;
        let n = config.partitions();
        let words = handler.inline_words();
        let partitions = (0..n)
            .map(|i| {
                let cap = config.max_flows.map(|m| m / n + usize::from(i < m % n));
                Partition::new(cap, i as u32, words)
            })
            .collect();
        Ok(FlowTable {
            config,
            partitions,
            handler,
            clock: f64::NEG_INFINITY,
            packets: 0,
            drains: 0,
        })
    }

    /// The settings in force.
    pub fn config(&self) -> &FlowConfig {
        &self.config
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// The handler, to finish ended flows with.
    pub fn handler_mut(&mut self) -> &mut H {
        &mut self.handler
    }

    /// The capture clock: the largest packet time seen so far.
    pub fn clock(&self) -> f64 {
        self.clock
    }

    /// Packets taken so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Flows live now.
    pub fn live_flows(&self) -> usize {
        self.partitions.iter().map(Partition::live).sum()
    }

    /// Takes one packet in file order: sets its direction, adds it to its flow (starting or
    /// ending flows as the rules say) and runs the handler on it.
    #[inline]
    pub fn process(&mut self, pkt: &mut PacketView<'_>) {
        if pkt.ts > self.clock {
            self.clock = pkt.ts;
        }
        self.packets += 1;
        let key = FlowKey::of(pkt);
        let h = partition_hash(&key);
        let p = partition_of(h, self.partitions.len());
        self.partitions[p].process(pkt, &key, h, self.clock, &self.config, &mut self.handler);
    }

    /// The number of partitions (fixed for a configuration, whatever the thread count).
    pub fn partitions(&self) -> usize {
        self.partitions.len()
    }

    /// Takes one packet already keyed: as [`FlowTable::process`], with the key, its
    /// [`partition_hash`], its partition ([`partition_of`] the hash) and the capture clock of
    /// the whole capture at this packet. A table that takes only some partitions' packets this
    /// way behaves, on those partitions, exactly as one that takes every packet.
    #[inline]
    pub fn process_in(
        &mut self,
        partition: usize,
        pkt: &mut PacketView<'_>,
        key: &FlowKey,
        hash: u64,
        clock: f64,
    ) {
        self.advance_clock(clock);
        self.packets += 1;
        if let Some(p) = self.partitions.get_mut(partition) {
            p.process(pkt, key, hash, self.clock, &self.config, &mut self.handler);
        }
    }

    /// Moves the capture clock forward to `clock` (the clock of the whole capture, when this
    /// table only sees some of its packets).
    #[inline]
    pub fn advance_clock(&mut self, clock: f64) {
        if clock > self.clock {
            self.clock = clock;
        }
    }

    /// Ends, in every partition, the flows whose deadline the capture clock has passed.
    pub fn sweep(&mut self) {
        for p in &mut self.partitions {
            p.sweep(self.clock, &self.config);
        }
    }

    /// Ends every live flow (end of input).
    pub fn end_all(&mut self) {
        for p in &mut self.partitions {
            p.end_all(self.clock, &self.config);
        }
    }

    /// Ends every live flow of partition `p` (end of input, one partition at a time, so the
    /// ended flows of a huge table never wait all at once).
    pub fn end_partition(&mut self, p: usize) {
        if let Some(part) = self.partitions.get_mut(p) {
            part.end_all(self.clock, &self.config);
        }
    }

    /// Moves the flows that ended since the last call into `out`, sorted by the time of their
    /// ending event, then partition, then key.
    ///
    /// Their inline words stay in the table, readable through [`FlowTable::ended_state`],
    /// until the next call, which frees their slots: nothing of a flow is copied on the way out.
    pub fn drain_ended(&mut self, out: &mut Vec<EndedFlow<H::State>>) {
        self.drains += 1;
        let start = out.len();
        for p in &mut self.partitions {
            p.take_ended(out, self.drains);
        }
        out[start..].sort_by(|a, b| {
            a.event_time
                .total_cmp(&b.event_time)
                .then(a.partition.cmp(&b.partition))
                .then(a.key.cmp(&b.key))
        });
    }

    /// The handler and the inline words of a flow the last [`FlowTable::drain_ended`] handed
    /// out, to finish it with. Words of a flow from an earlier drain are gone: the slice is
    /// then empty.
    pub fn ended_state(&mut self, flow: &EndedFlow<H::State>) -> (&mut H, &mut [u64]) {
        let words = match self.partitions.get_mut(flow.partition as usize) {
            Some(p) if flow.drain == self.drains => p.words_mut(flow.slot),
            _ => &mut [],
        };
        (&mut self.handler, words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_the_remainder_of_the_hash_s_high_half() {
        let mut h: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..10_000 {
            h ^= h << 13;
            h ^= h >> 7;
            h ^= h << 17;
            for n in 1..=MAX_PARTITIONS {
                assert_eq!(
                    partition_of(h, n),
                    ((h >> 32) % n as u64) as usize,
                    "{h:#x} of {n}"
                );
            }
        }
    }
}
