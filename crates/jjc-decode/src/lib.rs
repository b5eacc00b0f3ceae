//! Decoding captured frames into [`PacketView`](jjc_abi::PacketView)s.
//!
//! Link layers (Ethernet with 802.1Q/QinQ and PPPoE, Linux SLL/SLL2, raw IP, BSD NULL and
//! LOOP, PPI wrapping any of these), IPv4 and IPv6 with extension headers, IP-in-IP
//! decapsulation, TCP/UDP/SCTP ports, TCP fields, ICMP type/code, and attribution of IP
//! fragments to their datagram's flow. Frames that are not usable IP packets are counted by
//! [`SkipReason`]; nothing panics on any input bytes and nothing is allocated per packet
//! (the fragment tables are bounded and amortised).

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod bytes;
mod decoder;
mod fragments;
mod frame;
mod ip;
pub mod link;
mod stats;
mod transport;

pub use decoder::{DecodeConfig, Decoder};
pub use link::{is_supported_link_type, link_type_name};
pub use stats::{DecodeStats, SkipReason};
