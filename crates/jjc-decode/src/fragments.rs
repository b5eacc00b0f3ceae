//! IP fragment attribution: later fragments get the ports of their datagram's first fragment.
//!
//! Two bounded tables, both amortised (they grow to their cap and are reused):
//! - datagrams whose first fragment was seen → its ports and transport protocol, oldest
//!   forgotten first (after the timeout or when the table is full);
//! - later fragments that arrived before their first fragment, in file order, released with
//!   ports when it comes, or port-less ("orphaned") after the timeout, when the buffer is
//!   full (oldest first), or at the end of input.

use std::collections::{HashMap, VecDeque};

use jjc_abi::{IpBytes, PacketView};

use crate::ip::proto;
use crate::stats::DecodeStats;

/// Identifies the datagram a fragment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct DatagramKey {
    src: IpBytes,
    dst: IpBytes,
    id: u32,
    protocol: u8,
    version: u8,
}

impl DatagramKey {
    /// The key of the datagram `view` is a fragment of, whose fragmenting header (IPv4
    /// header, IPv6 fragment header) names `protocol`.
    pub(crate) fn of(view: &PacketView<'_>, protocol: u8) -> Self {
        DatagramKey {
            src: view.src_ip,
            dst: view.dst_ip,
            id: view.ip_id,
            protocol,
            version: view.ip_version,
        }
    }

    /// Whether the datagram may carry ports: a port protocol, or an extension header that
    /// may lead to one. Later fragments of other datagrams need not wait.
    fn may_have_ports(&self) -> bool {
        matches!(
            self.protocol,
            proto::TCP
                | proto::UDP
                | proto::SCTP
                | proto::HOP_BY_HOP
                | proto::ROUTING
                | proto::DEST_OPTS
                | proto::AUTH
                | proto::MOBILITY
                | proto::HIP
                | proto::SHIM6
        )
    }
}

/// What a first fragment told about its datagram.
#[derive(Debug, Clone, Copy)]
struct Datagram {
    src_port: u16,
    dst_port: u16,
    protocol: u8,
}

impl Datagram {
    /// Gives a later fragment its datagram's ports and transport protocol.
    fn attribute(&self, view: &mut PacketView<'_>) {
        view.src_port = self.src_port;
        view.dst_port = self.dst_port;
        view.protocol = self.protocol;
    }
}

/// A later fragment waiting for its first fragment.
struct Held {
    key: DatagramKey,
    view: PacketView<'static>,
}

/// The fragment tables of one decoder.
pub(crate) struct FragmentTracker {
    timeout: f64,
    max_datagrams: usize,
    max_held: usize,
    datagrams: HashMap<DatagramKey, Datagram>,
    /// Keys of `datagrams` with the time their first fragment was seen, oldest first;
    /// exactly one entry per key.
    datagram_order: VecDeque<(DatagramKey, f64)>,
    held: VecDeque<Held>,
    held_per_key: HashMap<DatagramKey, u32>,
}

impl FragmentTracker {
    /// Empty tables with the given bounds (`timeout` in seconds of capture time).
    pub(crate) fn new(timeout: f64, max_datagrams: usize, max_held: usize) -> Self {
        FragmentTracker {
            timeout,
            max_datagrams,
            max_held,
            datagrams: HashMap::new(),
            datagram_order: VecDeque::new(),
            held: VecDeque::new(),
            held_per_key: HashMap::new(),
        }
    }

    /// Whether [`FragmentTracker::expire`] at `clock` would release a held fragment.
    pub(crate) fn would_release(&self, clock: f64) -> bool {
        self.held
            .front()
            .is_some_and(|front| front.view.ts + self.timeout < clock)
    }

    /// Forgets datagrams and orphans held fragments older than the timeout at `clock`.
    pub(crate) fn expire<'a>(
        &mut self,
        clock: f64,
        stats: &mut DecodeStats,
        emit: &mut impl FnMut(PacketView<'a>),
    ) {
        while let Some(&(key, seen)) = self.datagram_order.front() {
            if seen + self.timeout >= clock {
                break;
            }
            self.datagram_order.pop_front();
            self.datagrams.remove(&key);
        }
        while let Some(front) = self.held.front() {
            if front.view.ts + self.timeout >= clock {
                break;
            }
            self.orphan_oldest(stats, emit);
        }
    }

    /// A first fragment (`view`, already decoded): remembers its datagram and emits the held
    /// later fragments of that datagram, in file order, with its ports. The caller emits
    /// the first fragment itself afterwards.
    pub(crate) fn first<'a>(
        &mut self,
        key: DatagramKey,
        ts: f64,
        view: &PacketView<'_>,
        stats: &mut DecodeStats,
        emit: &mut impl FnMut(PacketView<'a>),
    ) {
        let datagram = Datagram {
            src_port: view.src_port,
            dst_port: view.dst_port,
            protocol: view.protocol,
        };
        if let Some(known) = self.datagrams.get_mut(&key) {
            *known = datagram;
        } else if self.max_datagrams > 0 {
            if self.datagrams.len() >= self.max_datagrams
                && let Some((oldest, _)) = self.datagram_order.pop_front()
            {
                self.datagrams.remove(&oldest);
            }
            self.datagrams.insert(key, datagram);
            self.datagram_order.push_back((key, ts));
        }
        if self.held_per_key.remove(&key).is_some() {
            self.held.retain(|h| {
                if h.key != key {
                    return true;
                }
                let mut released = h.view;
                datagram.attribute(&mut released);
                stats.packets += 1;
                emit(released);
                false
            });
        }
    }

    /// A later fragment: emitted at once with its datagram's ports if the first fragment
    /// was seen, or at once port-less if its datagram cannot have ports, else held.
    pub(crate) fn later<'a>(
        &mut self,
        key: DatagramKey,
        mut view: PacketView<'a>,
        stats: &mut DecodeStats,
        emit: &mut impl FnMut(PacketView<'a>),
    ) {
        if let Some(datagram) = self.datagrams.get(&key) {
            datagram.attribute(&mut view);
        } else if key.may_have_ports() {
            if self.max_held == 0 {
                stats.fragments_orphaned += 1;
            } else {
                while self.held.len() >= self.max_held {
                    self.orphan_oldest(stats, emit);
                }
                stats.fragments_held += 1;
                *self.held_per_key.entry(key).or_insert(0) += 1;
                self.held.push_back(Held {
                    key,
                    view: view.without_bytes(),
                });
                return;
            }
        }
        stats.packets += 1;
        emit(view);
    }

    /// End of input: orphans every held fragment (file order) and forgets all datagrams.
    pub(crate) fn finish(
        &mut self,
        stats: &mut DecodeStats,
        emit: &mut impl FnMut(PacketView<'static>),
    ) {
        while !self.held.is_empty() {
            self.orphan_oldest(stats, emit);
        }
        self.datagrams.clear();
        self.datagram_order.clear();
    }

    /// Emits the oldest held fragment port-less.
    fn orphan_oldest<'a>(
        &mut self,
        stats: &mut DecodeStats,
        emit: &mut impl FnMut(PacketView<'a>),
    ) {
        let Some(h) = self.held.pop_front() else {
            return;
        };
        if let Some(n) = self.held_per_key.get_mut(&h.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.held_per_key.remove(&h.key);
            }
        }
        stats.fragments_orphaned += 1;
        stats.packets += 1;
        emit(h.view);
    }
}
