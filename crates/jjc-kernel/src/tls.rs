//! The runtime of the TLS built-ins (`tls_client_hello`, `tls_server_hello`,
//! `tls_certificates`, `tls_key_exchange`): one parse per byte string and packet, and the
//! fields of what it found.
//!
//! `tls_x(bytes)` lowers to [`Helper::TlsParse`] on the bytes, which parses their TLS
//! records once (with `jjc_tls`) into a per-flow buffer ([`BufferKind::Tls`], one per
//! distinct byte string) and returns its address, then [`Helper::TlsInt`] for the record's
//! presence. A field is [`Helper::TlsInt`] or [`Helper::TlsStr`] on that address; equal calls
//! are merged, so a packet's bytes are parsed once however many fields and records are used.
//! Nothing is read outside the bytes, and nothing is allocated for bytes that do not start
//! with a TLS record.
//!
//! [`Helper::TlsParse`]: crate::ir::Helper::TlsParse
//! [`Helper::TlsInt`]: crate::ir::Helper::TlsInt
//! [`Helper::TlsStr`]: crate::ir::Helper::TlsStr
//! [`BufferKind::Tls`]: crate::runtime::BufferKind::Tls

use jjc_sema::types::Record;
use jjc_tls::{
    Certificates, ClientHello, Handshake, ServerHello, ServerKeyExchange, group_label,
    looks_like_tls, parse_records, version_label,
};

use crate::flow_strings;
use crate::runtime::{buffer_mut, bytes};

/// The first message of each kind in one byte string's TLS records.
#[derive(Debug, Default)]
pub(crate) struct TlsMessages {
    client: Option<ClientHello>,
    server: Option<ServerHello>,
    certificates: Option<Certificates>,
    key_exchange: Option<ServerKeyExchange>,
}

impl TlsMessages {
    /// The first message of each kind in `data`'s records.
    fn parse(data: &[u8]) -> TlsMessages {
        let mut m = TlsMessages::default();
        if !looks_like_tls(data) {
            return m;
        }
        for h in parse_records(data) {
            match h {
                Handshake::ClientHello(c) if m.client.is_none() => m.client = Some(c),
                Handshake::ServerHello(s) if m.server.is_none() => m.server = Some(s),
                Handshake::Certificate(c) if m.certificates.is_none() => m.certificates = Some(c),
                Handshake::ServerKeyExchange(k) if m.key_exchange.is_none() => {
                    m.key_exchange = Some(k)
                }
                _ => {}
            }
        }
        m
    }

    fn is_empty(&self) -> bool {
        self.client.is_none()
            && self.server.is_none()
            && self.certificates.is_none()
            && self.key_exchange.is_none()
    }
}

macro_rules! fields {
    ($($(#[$doc:meta])* $name:ident = ($record:ident, $text:literal, $kind:ident);)*) => {
        /// A field of a TLS record, as [`crate::ir::Helper::TlsInt`] / `TlsStr` take it (its
        /// number is its position in [`TlsField::ALL`]). `present` fields say whether the
        /// record exists; the others are the fields `.jjf` reads.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum TlsField {
            $($(#[$doc])* $name,)*
        }

        impl TlsField {
            /// Every field, by number.
            pub const ALL: &'static [TlsField] = &[$(TlsField::$name),*];

            /// The record it belongs to.
            pub fn record(self) -> Record {
                match self {
                    $(TlsField::$name => Record::$record,)*
                }
            }

            /// Its name after the `.` (`"present"` for presence).
            pub fn name(self) -> &'static str {
                match self {
                    $(TlsField::$name => $text,)*
                }
            }

            /// Whether its value is a string id (else an `i64`, bools as 0/1).
            pub fn is_str(self) -> bool {
                match self {
                    $(TlsField::$name => FieldKind::$kind == FieldKind::Str,)*
                }
            }
        }
    };
}

/// What a field's helper returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    Int,
    Str,
}

fields! {
    /// Whether there is a ClientHello.
    ClientPresent = (ClientHello, "present", Int);
    /// `.version`.
    ClientVersion = (ClientHello, "version", Int);
    /// `.version_name`.
    ClientVersionName = (ClientHello, "version_name", Str);
    /// `.highest_version`.
    ClientHighestVersion = (ClientHello, "highest_version", Int);
    /// `.cipher_count`.
    ClientCipherCount = (ClientHello, "cipher_count", Int);
    /// `.extension_count`.
    ClientExtensionCount = (ClientHello, "extension_count", Int);
    /// `.sni`.
    ClientSni = (ClientHello, "sni", Str);
    /// `.alpn`.
    ClientAlpn = (ClientHello, "alpn", Str);
    /// `.ja3`.
    ClientJa3 = (ClientHello, "ja3", Str);
    /// `.ja3_string`.
    ClientJa3String = (ClientHello, "ja3_string", Str);
    /// `.session_id_len`.
    ClientSessionIdLen = (ClientHello, "session_id_len", Int);
    /// `.session_ticket`.
    ClientSessionTicket = (ClientHello, "session_ticket", Int);
    /// `.psk`.
    ClientPsk = (ClientHello, "psk", Int);
    /// `.early_data`.
    ClientEarlyData = (ClientHello, "early_data", Int);
    /// `.key_share_group`.
    ClientKeyShareGroup = (ClientHello, "key_share_group", Int);
    /// `.key_share_name`.
    ClientKeyShareName = (ClientHello, "key_share_name", Str);
    /// `.key_share_bits`.
    ClientKeyShareBits = (ClientHello, "key_share_bits", Int);
    /// `.truncated`.
    ClientTruncated = (ClientHello, "truncated", Int);
    /// Whether there is a ServerHello.
    ServerPresent = (ServerHello, "present", Int);
    /// `.version`.
    ServerVersion = (ServerHello, "version", Int);
    /// `.selected_version`.
    ServerSelectedVersion = (ServerHello, "selected_version", Int);
    /// `.cipher_suite`.
    ServerCipherSuite = (ServerHello, "cipher_suite", Int);
    /// `.extension_count`.
    ServerExtensionCount = (ServerHello, "extension_count", Int);
    /// `.ja3s`.
    ServerJa3s = (ServerHello, "ja3s", Str);
    /// `.ja3s_string`.
    ServerJa3sString = (ServerHello, "ja3s_string", Str);
    /// `.session_id_len`.
    ServerSessionIdLen = (ServerHello, "session_id_len", Int);
    /// `.alpn`.
    ServerAlpn = (ServerHello, "alpn", Str);
    /// `.key_share_group`.
    ServerKeyShareGroup = (ServerHello, "key_share_group", Int);
    /// `.truncated`.
    ServerTruncated = (ServerHello, "truncated", Int);
    /// Whether there is a Certificate message.
    CertificatesPresent = (Certificates, "present", Int);
    /// `.count`.
    CertificatesCount = (Certificates, "count", Int);
    /// `.total_length`.
    CertificatesTotalLength = (Certificates, "total_length", Int);
    /// `.first_length`.
    CertificatesFirstLength = (Certificates, "first_length", Int);
    /// `.truncated`.
    CertificatesTruncated = (Certificates, "truncated", Int);
    /// Whether there is a ServerKeyExchange.
    KeyExchangePresent = (KeyExchange, "present", Int);
    /// `.dhe`.
    KeyExchangeDhe = (KeyExchange, "dhe", Int);
    /// `.group`.
    KeyExchangeGroup = (KeyExchange, "group", Int);
    /// `.group_name`.
    KeyExchangeGroupName = (KeyExchange, "group_name", Str);
    /// `.key_bits`.
    KeyExchangeKeyBits = (KeyExchange, "key_bits", Int);
    /// `.truncated`.
    KeyExchangeTruncated = (KeyExchange, "truncated", Int);
}

impl TlsField {
    /// The field `name` of `record` (`"present"` for presence).
    pub fn of(record: Record, name: &str) -> Option<TlsField> {
        TlsField::ALL
            .iter()
            .copied()
            .find(|f| f.record() == record && f.name() == name)
    }

    /// The presence field of `record`.
    pub fn present(record: Record) -> TlsField {
        match record {
            Record::ClientHello => TlsField::ClientPresent,
            Record::ServerHello => TlsField::ServerPresent,
            Record::Certificates => TlsField::CertificatesPresent,
            Record::KeyExchange => TlsField::KeyExchangePresent,
        }
    }

    /// The number the helpers take.
    pub fn code(self) -> i64 {
        TlsField::ALL
            .iter()
            .position(|f| *f == self)
            .map_or(-1, |i| i as i64)
    }

    fn from_code(code: i64) -> Option<TlsField> {
        usize::try_from(code)
            .ok()
            .and_then(|i| TlsField::ALL.get(i))
            .copied()
    }
}

/// The lengths of the certificates with a non-zero length.
fn nonempty(c: &Certificates) -> impl Iterator<Item = u32> + '_ {
    c.lengths.iter().copied().filter(|&l| l > 0)
}

/// An int field (bools as 0/1); 0 when its record is absent.
fn int_field(m: &TlsMessages, f: TlsField) -> i64 {
    use TlsField::*;
    let b = i64::from;
    let (client, server) = (m.client.as_ref(), m.server.as_ref());
    let (certs, kx) = (m.certificates.as_ref(), m.key_exchange.as_ref());
    let first_share = || client.and_then(|c| c.key_share_groups.first());
    let v = match f {
        ClientPresent => Some(b(client.is_some())),
        ClientVersion => client.map(|c| i64::from(c.version)),
        ClientHighestVersion => client.map(|c| i64::from(c.highest_version())),
        ClientCipherCount => client.map(|c| c.cipher_suites.len() as i64),
        ClientExtensionCount => client.map(|c| c.extensions.len() as i64),
        ClientSessionIdLen => client.map(|c| i64::from(c.session_id_len)),
        ClientSessionTicket => client.map(|c| b(c.has_session_ticket)),
        ClientPsk => client.map(|c| b(c.has_psk)),
        ClientEarlyData => client.map(|c| b(c.has_early_data)),
        ClientKeyShareGroup => first_share().map(|&(g, _)| i64::from(g)),
        ClientKeyShareBits => first_share().map(|&(_, len)| 8 * i64::from(len)),
        ClientTruncated => client.map(|c| b(c.truncated)),
        ServerPresent => Some(b(server.is_some())),
        ServerVersion => server.map(|s| i64::from(s.version)),
        ServerSelectedVersion => server.map(|s| i64::from(s.negotiated_version())),
        ServerCipherSuite => server.map(|s| i64::from(s.cipher_suite)),
        ServerExtensionCount => server.map(|s| s.extensions.len() as i64),
        ServerSessionIdLen => server.map(|s| i64::from(s.session_id_len)),
        ServerKeyShareGroup => server.and_then(|s| s.key_share).map(|(g, _)| i64::from(g)),
        ServerTruncated => server.map(|s| b(s.truncated)),
        CertificatesPresent => Some(b(certs.is_some())),
        CertificatesCount => certs.map(|c| nonempty(c).count() as i64),
        CertificatesTotalLength => certs.map(|c| nonempty(c).map(i64::from).sum()),
        CertificatesFirstLength => certs.and_then(|c| nonempty(c).next()).map(i64::from),
        CertificatesTruncated => certs.map(|c| b(c.truncated)),
        KeyExchangePresent => Some(b(kx.is_some())),
        KeyExchangeDhe => kx.map(|k| b(k.group.is_none())),
        KeyExchangeGroup => kx.and_then(|k| k.group).map(i64::from),
        KeyExchangeKeyBits => kx.map(|k| 8 * i64::from(k.key_length)),
        KeyExchangeTruncated => kx.map(|k| b(k.truncated)),
        ClientVersionName | ClientSni | ClientAlpn | ClientJa3 | ClientJa3String
        | ClientKeyShareName | ServerJa3s | ServerJa3sString | ServerAlpn
        | KeyExchangeGroupName => None,
    };
    v.unwrap_or(0)
}

/// A string field; `""` when its record is absent.
fn str_field(m: &TlsMessages, f: TlsField) -> String {
    use TlsField::*;
    let (client, server, kx) = (
        m.client.as_ref(),
        m.server.as_ref(),
        m.key_exchange.as_ref(),
    );
    let v = match f {
        ClientVersionName => client.map(|c| version_label(c.version).into_owned()),
        ClientSni => client.and_then(|c| c.sni.clone()),
        ClientAlpn => client.and_then(|c| c.alpn.first().cloned()),
        ClientJa3 => client.map(ClientHello::ja3),
        ClientJa3String => client.map(ClientHello::ja3_string),
        ClientKeyShareName => client
            .and_then(|c| c.key_share_groups.first())
            .map(|&(g, _)| group_label(g).into_owned()),
        ServerJa3s => server.map(ServerHello::ja3s),
        ServerJa3sString => server.map(ServerHello::ja3s_string),
        ServerAlpn => server.and_then(|s| s.alpn.clone()),
        KeyExchangeGroupName => kx.map(|k| match k.group {
            Some(g) => group_label(g).into_owned(),
            None => format!("ffdhe{}", 8 * u32::from(k.key_length)),
        }),
        _ => None,
    };
    v.unwrap_or_default()
}

/// [`crate::ir::Helper::TlsParse`].
///
/// # Safety
/// `slot` is the address of a TLS slot; `ptr[0..len]` is readable.
pub unsafe extern "C" fn jjc_tls_parse(slot: i64, ptr: i64, len: i64) -> i64 {
    // SAFETY: per the contract.
    let data = unsafe { bytes(ptr, len) };
    // Most payloads are not TLS handshakes: answer them before building the (large) result.
    if !looks_like_tls(data) {
        return 0;
    }
    let found = TlsMessages::parse(data);
    if found.is_empty() {
        return 0;
    }
    // SAFETY: per the contract.
    match unsafe { buffer_mut::<TlsMessages>(slot, TlsMessages::default) } {
        Some(m) => {
            *m = found;
            m as *mut TlsMessages as i64
        }
        None => 0,
    }
}

/// [`crate::ir::Helper::TlsInt`].
///
/// # Safety
/// `messages` is 0 or a result of [`jjc_tls_parse`] in this update.
pub unsafe extern "C" fn jjc_tls_int(messages: i64, field: i64) -> i64 {
    // SAFETY: per the contract.
    let m = unsafe { (messages as *const TlsMessages).as_ref() };
    match (m, TlsField::from_code(field)) {
        (Some(m), Some(f)) => int_field(m, f),
        _ => 0,
    }
}

/// [`crate::ir::Helper::TlsStr`].
///
/// # Safety
/// `messages` as for [`jjc_tls_int`]; `pool` points to the kernel's string pool and `slot`
/// is the flow's strings slot.
pub unsafe extern "C" fn jjc_tls_str(messages: i64, field: i64, pool: i64, slot: i64) -> i64 {
    // SAFETY: per the contract.
    let m = unsafe { (messages as *const TlsMessages).as_ref() };
    let text = match (m, TlsField::from_code(field)) {
        (Some(m), Some(f)) => str_field(m, f),
        _ => String::new(),
    };
    // SAFETY: per the contract.
    unsafe { flow_strings::intern(pool, slot, &text) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow_strings::{RUNTIME_STRING_BASE, StringPool, stored_text};
    use crate::runtime::{BufferKind, free_buffer};
    use jjc_sema::builtins::{RECORDS, record_fields};
    use jjc_sema::types::Base;

    /// A TLS record of content type 22 around handshake messages.
    fn record(body: &[u8]) -> Vec<u8> {
        let len = u16::try_from(body.len()).unwrap_or(0).to_be_bytes();
        [&[22, 3, 1, len[0], len[1]][..], body].concat()
    }

    /// A handshake message.
    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let len = u32::try_from(body.len()).unwrap_or(0).to_be_bytes();
        [&[kind, len[1], len[2], len[3]][..], body].concat()
    }

    /// A ClientHello with SNI "a.example", ALPN h2 and one x25519 key share.
    fn client_hello() -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend([7; 32]);
        b.extend([0, 0, 4, 0x13, 0x01, 0x0a, 0x0a, 1, 0]);
        let sni = [&[0, 12, 0, 0, 9][..], b"a.example"].concat();
        let alpn = [&[0, 3, 2][..], b"h2"].concat();
        let mut share = vec![0, 36, 0, 29, 0, 32];
        share.extend([1; 32]);
        let mut exts = Vec::new();
        for (kind, body) in [(0u16, sni), (16, alpn), (51, share), (35, vec![])] {
            exts.extend(kind.to_be_bytes());
            exts.extend(u16::try_from(body.len()).unwrap_or(0).to_be_bytes());
            exts.extend(body);
        }
        b.extend(u16::try_from(exts.len()).unwrap_or(0).to_be_bytes());
        b.extend(exts);
        record(&message(1, &b))
    }

    #[test]
    fn every_record_field_of_the_language_has_a_helper_field() {
        for r in RECORDS {
            for f in record_fields(*r) {
                let t = TlsField::of(*r, f.name).unwrap_or_else(|| panic!("{}", f.name));
                assert_eq!(t.is_str(), f.ty.base == Base::Str, "{}", f.name);
                assert_eq!(TlsField::from_code(t.code()), Some(t));
            }
            assert_eq!(TlsField::of(*r, "present"), Some(TlsField::present(*r)));
        }
        let named: usize = RECORDS.iter().map(|r| record_fields(*r).len()).sum();
        assert_eq!(TlsField::ALL.len(), named + RECORDS.len());
    }

    #[test]
    fn parses_once_into_the_slot_and_reads_fields() {
        let hello = client_hello();
        let pool = StringPool::new(&["".to_string(), "h2".to_string()]);
        let p = &pool as *const StringPool as i64;
        let (mut tls, mut strings) = (0u64, 0u64);
        let t = &mut tls as *mut u64 as i64;
        let s = &mut strings as *mut u64 as i64;
        // SAFETY: slots on the stack, freed below; readable bytes; a live pool.
        unsafe {
            let h = jjc_tls_parse(t, hello.as_ptr() as i64, hello.len() as i64);
            assert_eq!(h as u64, tls, "the handle is the slot's buffer");
            let int = |f: TlsField| jjc_tls_int(h, f.code());
            assert_eq!(int(TlsField::ClientPresent), 1);
            assert_eq!(int(TlsField::ServerPresent), 0);
            assert_eq!(int(TlsField::ClientVersion), 0x0303);
            assert_eq!(int(TlsField::ClientCipherCount), 2);
            assert_eq!(int(TlsField::ClientExtensionCount), 4);
            assert_eq!(int(TlsField::ClientSessionTicket), 1);
            assert_eq!(int(TlsField::ClientPsk), 0);
            assert_eq!(int(TlsField::ClientKeyShareGroup), 29);
            assert_eq!(int(TlsField::ClientKeyShareBits), 256);
            assert_eq!(int(TlsField::ServerCipherSuite), 0);
            let text = |f: TlsField| {
                let id = jjc_tls_str(h, f.code(), p, s);
                if id >= RUNTIME_STRING_BASE {
                    stored_text(strings, id).unwrap_or("?").to_string()
                } else {
                    ["", "h2"][usize::try_from(id).unwrap_or(0)].to_string()
                }
            };
            assert_eq!(text(TlsField::ClientSni), "a.example");
            assert_eq!(jjc_tls_str(h, TlsField::ClientAlpn.code(), p, s), 1);
            assert_eq!(text(TlsField::ClientVersionName), "TLS 1.2");
            assert_eq!(text(TlsField::ClientKeyShareName), "x25519");
            assert_eq!(text(TlsField::ClientJa3String), "771,4865,0-16-51-35,,");
            assert_eq!(text(TlsField::ClientJa3).len(), 32);
            assert_eq!(jjc_tls_str(h, TlsField::ServerJa3s.code(), p, s), 0);
            // Bytes without TLS: no handle, and the slot's buffer is left alone.
            let http = b"GET / HTTP/1.1\r\n";
            assert_eq!(jjc_tls_parse(t, http.as_ptr() as i64, http.len() as i64), 0);
            assert_eq!(jjc_tls_int(0, TlsField::ClientPresent.code()), 0);
            assert_eq!(jjc_tls_str(0, TlsField::ClientSni.code(), p, s), 0);
            assert_eq!(jjc_tls_int(h, 9999), 0);
            free_buffer(BufferKind::Tls, tls);
            free_buffer(BufferKind::Strings, strings);
        }
    }

    #[test]
    fn no_allocation_for_bytes_that_are_not_tls() {
        let mut tls = 0u64;
        let t = &mut tls as *mut u64 as i64;
        // SAFETY: a slot on the stack; readable bytes.
        unsafe {
            for data in [
                &b""[..],
                b"\x16\x03",
                b"\x17\x03\x03\x00\x02ab",
                b"\x16\x03\x03\x00\x01\x0e",
            ] {
                assert_eq!(jjc_tls_parse(t, data.as_ptr() as i64, data.len() as i64), 0);
            }
        }
        assert_eq!(tls, 0);
    }

    #[test]
    fn every_prefix_of_a_hello_parses_within_its_bytes() {
        let hello = client_hello();
        let mut tls = 0u64;
        let t = &mut tls as *mut u64 as i64;
        for end in 0..=hello.len() {
            // An exact-size copy: reading past it would be caught by Miri / ASan.
            let part: Vec<u8> = hello.get(..end).unwrap_or_default().to_vec();
            // SAFETY: a slot on the stack; readable bytes.
            let h = unsafe { jjc_tls_parse(t, part.as_ptr() as i64, part.len() as i64) };
            // SAFETY: `h` came from the parse above.
            let cut = unsafe { jjc_tls_int(h, TlsField::ClientTruncated.code()) };
            if h != 0 {
                assert_eq!(cut, i64::from(end < hello.len()), "prefix {end}");
            }
        }
        // SAFETY: the slot holds a TLS buffer or 0.
        unsafe { free_buffer(BufferKind::Tls, tls) };
    }

    #[test]
    fn key_exchange_and_certificate_fields() {
        let mut kx = vec![3, 0, 23, 65];
        kx.extend([4; 65]);
        let mut dh = vec![1, 0];
        dh.extend([0xff; 256]);
        let certs = [&[0, 0, 13, 0, 0, 0, 0, 0, 7][..], &[9; 7]].concat();
        let p = [
            record(&message(11, &certs)),
            record(&message(12, &kx)),
            record(&message(12, &dh)),
        ]
        .concat();
        let m = TlsMessages::parse(&p);
        assert_eq!(int_field(&m, TlsField::CertificatesCount), 1);
        assert_eq!(int_field(&m, TlsField::CertificatesFirstLength), 7);
        assert_eq!(int_field(&m, TlsField::CertificatesTotalLength), 7);
        assert_eq!(int_field(&m, TlsField::KeyExchangeGroup), 23);
        assert_eq!(int_field(&m, TlsField::KeyExchangeDhe), 0);
        assert_eq!(int_field(&m, TlsField::KeyExchangeKeyBits), 520);
        assert_eq!(str_field(&m, TlsField::KeyExchangeGroupName), "secp256r1");
        let m = TlsMessages::parse(&record(&message(12, &dh)));
        assert_eq!(int_field(&m, TlsField::KeyExchangeDhe), 1);
        assert_eq!(int_field(&m, TlsField::KeyExchangeGroup), 0);
        assert_eq!(int_field(&m, TlsField::KeyExchangeKeyBits), 2048);
        assert_eq!(str_field(&m, TlsField::KeyExchangeGroupName), "ffdhe2048");
    }
}
