//! Parsing TLS handshakes (ClientHello, ServerHello, Certificate) and computing JA3/JA3S.
//!
//! [`parse_records`] walks the TLS records of one payload from its first byte and yields
//! every handshake message in them, putting back together a message split over several
//! records of the payload. Cut-off bytes give partial messages flagged `truncated`; nothing
//! is read out of bounds and no buffer is sized by a length read from the data. Check
//! [`looks_like_tls`] first: it costs five byte comparisons, while parsing allocates the
//! lists of the messages it returns.
//!
//! JoyfulJay's `tls` columns map onto the parsed fields as follows (JoyfulJay takes the
//! first ClientHello from the initiator and the first ServerHello from the responder):
//! `tls_version` = [`ClientHello::version`] (named by [`version_label`]);
//! `tls_cipher_count` / `tls_extension_count` = the lengths of
//! [`ClientHello::cipher_suites`] / [`ClientHello::extensions`] (GREASE included);
//! `tls_sni`; `tls_alpn` = the first of [`ClientHello::alpn`]; `ja3_hash` =
//! [`ClientHello::ja3`]; `tls_session_id_len`, `tls_session_ticket_ext`, `tls_psk_ext`,
//! `tls_early_data_ext` from the ClientHello; `tls_key_exchange_group` and
//! `tls_key_exchange_length` (in bits, 8 × bytes) = the first of
//! [`ClientHello::key_share_groups`], GREASE included, replaced by a
//! [`ServerKeyExchange`] when one is seen (named by [`group_label`]);
//! `tls_cipher_suite` = [`ServerHello::cipher_suite`]; `ja3s_hash` = [`ServerHello::ja3s`];
//! `tls_cert_*` from the first [`Certificates`] of the responder.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod certificate;
mod client_hello;
mod extension;
mod fingerprint;
mod key_exchange;
mod names;
mod reader;
mod record;
mod server_hello;
#[cfg(test)]
mod testdata;

pub use certificate::Certificates;
pub use client_hello::ClientHello;
pub use key_exchange::ServerKeyExchange;
pub use names::{group_label, group_name, is_grease, version_label, version_name};
pub use record::{Handshake, looks_like_tls, parse_records};
pub use server_hello::ServerHello;
