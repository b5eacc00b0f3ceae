//! The record layer: finding records in a payload and the handshake messages they carry,
//! including messages split over several records.

use crate::certificate::Certificates;
use crate::client_hello::ClientHello;
use crate::key_exchange::ServerKeyExchange;
use crate::server_hello::ServerHello;

/// ChangeCipherSpec: every record after it is encrypted.
const CHANGE_CIPHER_SPEC: u8 = 20;
/// Handshake.
const HANDSHAKE: u8 = 22;
/// ApplicationData.
const APPLICATION_DATA: u8 = 23;
/// The longest record fragment TLS allows (2^14 plus 2048 bytes of expansion).
const MAX_RECORD_LEN: usize = (1 << 14) + 2048;

/// ClientHello.
const CLIENT_HELLO: u8 = 1;
/// ServerHello.
const SERVER_HELLO: u8 = 2;
/// Certificate.
const CERTIFICATE: u8 = 11;
/// ServerKeyExchange.
const SERVER_KEY_EXCHANGE: u8 = 12;

/// One handshake message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handshake {
    /// A ClientHello (type 1).
    ClientHello(ClientHello),
    /// A ServerHello (type 2), HelloRetryRequest included.
    ServerHello(ServerHello),
    /// A Certificate (type 11).
    Certificate(Certificates),
    /// A ServerKeyExchange (type 12).
    ServerKeyExchange(ServerKeyExchange),
    /// Any other message, by its type.
    Other(u8),
}

/// A record header: content type, version and fragment length.
#[derive(Clone, Copy)]
struct RecordHeader {
    /// The content type (20–23).
    content_type: u8,
    /// The protocol version (0x0300–0x0304).
    version: u16,
    /// The declared fragment length.
    len: usize,
}

/// The record header at the start of `bytes`, if the first five bytes are one: content type
/// 20–23, version 0x0300–0x0304 and a length TLS allows.
fn record_header(bytes: &[u8]) -> Option<RecordHeader> {
    let &[content_type, major, minor, hi, lo, ..] = bytes else {
        return None;
    };
    let version = u16::from_be_bytes([major, minor]);
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    let valid = (CHANGE_CIPHER_SPEC..=APPLICATION_DATA).contains(&content_type)
        && (0x0300..=0x0304).contains(&version)
        && len <= MAX_RECORD_LEN;
    valid.then_some(RecordHeader {
        content_type,
        version,
        len,
    })
}

/// Whether `payload` starts with a TLS record header: content type 20–23 (ChangeCipherSpec,
/// Alert, Handshake, ApplicationData), version 0x0300–0x0304 and a length TLS allows.
pub fn looks_like_tls(payload: &[u8]) -> bool {
    record_header(payload).is_some()
}

/// Every handshake message in the TLS records of `payload`, in order.
///
/// The payload must start at a record boundary; records follow one another from there.
/// Alert and ApplicationData records are stepped over; a ChangeCipherSpec record, bytes that
/// are not a record header, or the end of the payload end the walk (after ChangeCipherSpec
/// the handshake is encrypted). A message split over consecutive handshake records is put
/// back together; a message cut off by the end of the payload (or by a record of another
/// type) is still yielded, parsed as far as its bytes go, with its `truncated` flag set,
/// and ends the walk. Nothing is read out of bounds, and no buffer is larger than the bytes
/// present; only a message split over records is copied.
pub fn parse_records(payload: &[u8]) -> impl Iterator<Item = Handshake> {
    Handshakes {
        payload,
        next_record: 0,
        fragment: &[],
        record_version: 0,
        done: false,
    }
}

/// The iterator behind [`parse_records`].
struct Handshakes<'a> {
    /// The whole payload.
    payload: &'a [u8],
    /// The offset of the next record header (may lie past the payload's end).
    next_record: usize,
    /// The unread bytes of the current handshake record's fragment.
    fragment: &'a [u8],
    /// The version of the current handshake record.
    record_version: u16,
    /// Whether the walk has ended.
    done: bool,
}

impl Handshakes<'_> {
    /// Moves to the next record if it is a handshake record (`Some(true)`), steps over it
    /// when it is an Alert or ApplicationData record and `step_over` (`Some(false)`), and
    /// otherwise stays put and returns `None`.
    fn next_record(&mut self, step_over: bool) -> Option<bool> {
        let rest = self.payload.get(self.next_record..)?;
        let header = record_header(rest)?;
        if header.content_type == CHANGE_CIPHER_SPEC
            || (header.content_type != HANDSHAKE && !step_over)
        {
            return None;
        }
        let body = rest.get(5..).unwrap_or_default();
        self.next_record = self.next_record.saturating_add(5 + header.len);
        if header.content_type != HANDSHAKE {
            return Some(false);
        }
        self.fragment = body.get(..header.len).unwrap_or(body);
        self.record_version = header.version;
        Some(true)
    }

    /// The message that starts at the current fragment, gathering the following handshake
    /// records when it runs past this one.
    fn message(&mut self) -> Handshake {
        let record_version = self.record_version;
        if let Some(len) = declared_len(self.fragment)
            && let Some((whole, rest)) = self.fragment.split_at_checked(len)
        {
            self.fragment = rest;
            return parse_message(record_version, whole, false);
        }
        let mut bytes = self.fragment.to_vec();
        self.fragment = &[];
        loop {
            let wanted = declared_len(&bytes).unwrap_or(4);
            if bytes.len() >= wanted {
                return parse_message(record_version, &bytes, false);
            }
            if self.fragment.is_empty() && self.next_record(false) != Some(true) {
                self.done = true;
                return parse_message(record_version, &bytes, true);
            }
            let (taken, rest) = self
                .fragment
                .split_at_checked(wanted - bytes.len())
                .unwrap_or((self.fragment, &[]));
            bytes.extend_from_slice(taken);
            self.fragment = rest;
        }
    }
}

impl Iterator for Handshakes<'_> {
    type Item = Handshake;

    fn next(&mut self) -> Option<Handshake> {
        while !self.done {
            if !self.fragment.is_empty() {
                return Some(self.message());
            }
            if self.next_record(true).is_none() {
                self.done = true;
            }
        }
        None
    }
}

/// The whole length (header included) a handshake message declares, once its 4-byte
/// header is present.
fn declared_len(bytes: &[u8]) -> Option<usize> {
    let &[_, a, b, c, ..] = bytes else {
        return None;
    };
    usize::try_from(u32::from_be_bytes([0, a, b, c]))
        .ok()?
        .checked_add(4)
}

/// Parses one handshake message from its bytes (header first). `cut` says the bytes end
/// before the length the header declares.
fn parse_message(record_version: u16, bytes: &[u8], cut: bool) -> Handshake {
    let kind = bytes.first().copied().unwrap_or_default();
    let body = bytes.get(4..).unwrap_or_default();
    let cut = cut || bytes.len() < 4;
    match kind {
        CLIENT_HELLO => Handshake::ClientHello(ClientHello::parse(record_version, body, cut)),
        SERVER_HELLO => Handshake::ServerHello(ServerHello::parse(record_version, body, cut)),
        CERTIFICATE => Handshake::Certificate(Certificates::parse(body, cut)),
        SERVER_KEY_EXCHANGE => Handshake::ServerKeyExchange(ServerKeyExchange::parse(body, cut)),
        other => Handshake::Other(other),
    }
}

#[cfg(test)]
mod tests {
    use super::{Handshake, looks_like_tls, parse_records};
    use crate::testdata::{
        CHROME_JA3_STRING, chrome_client_hello, handshake, record, records_of, three_certificates,
        tls12_server_hello, tls13_server_hello,
    };

    fn all(payload: &[u8]) -> Vec<Handshake> {
        parse_records(payload).collect()
    }

    /// Whether a parsed message says it was cut off.
    fn truncated(h: &Handshake) -> bool {
        match h {
            Handshake::ClientHello(m) => m.truncated,
            Handshake::ServerHello(m) => m.truncated,
            Handshake::Certificate(m) => m.truncated,
            Handshake::ServerKeyExchange(m) => m.truncated,
            Handshake::Other(_) => false,
        }
    }

    /// The server's first flight of a TLS 1.2 handshake: ServerHello, Certificate (over two
    /// records), ServerKeyExchange and ServerHelloDone, then ChangeCipherSpec and an
    /// encrypted Finished that must not be read.
    fn server_flight() -> Vec<u8> {
        let mut kx = vec![3, 0, 23, 65];
        kx.extend([4; 65]);
        let mut p = record(22, 0x0303, &tls12_server_hello());
        p.extend(records_of(&three_certificates(), 1 << 14));
        p.extend(record(
            22,
            0x0303,
            &[handshake(12, &kx), handshake(14, &[])].concat(),
        ));
        p.extend(record(20, 0x0303, &[1]));
        p.extend(record(22, 0x0303, &[0x01, 0x9c, 0x44, 0x10, 0x55, 0x66]));
        p
    }

    #[test]
    fn looks_like_tls_checks_type_version_and_length() {
        assert!(looks_like_tls(&[22, 3, 1, 0, 5]));
        assert!(looks_like_tls(&[23, 3, 4, 0x48, 0]));
        assert!(!looks_like_tls(&[22, 3, 1, 0]), "a header needs five bytes");
        assert!(!looks_like_tls(&[24, 3, 3, 0, 5]));
        assert!(!looks_like_tls(&[19, 3, 3, 0, 5]));
        assert!(!looks_like_tls(&[22, 4, 0, 0, 5]));
        assert!(!looks_like_tls(&[22, 3, 5, 0, 5]));
        assert!(!looks_like_tls(&[22, 2, 0, 0, 5]));
        assert!(
            !looks_like_tls(&[22, 3, 3, 0x48, 1]),
            "longer than TLS allows"
        );
        assert!(!looks_like_tls(b"GET / HTTP/1.1\r\n"));
        assert!(!looks_like_tls(&[]));
    }

    #[test]
    fn a_client_hello_record_gives_its_hello() {
        let msgs = all(&record(22, 0x0301, &chrome_client_hello()));
        let [Handshake::ClientHello(h)] = msgs.as_slice() else {
            panic!("{msgs:?}")
        };
        assert_eq!(h.record_version, 0x0301);
        assert_eq!(h.ja3_string(), CHROME_JA3_STRING);
        assert!(!h.truncated);
    }

    #[test]
    fn walks_several_records_and_stops_at_change_cipher_spec() {
        let msgs = all(&server_flight());
        let [
            Handshake::ServerHello(sh),
            Handshake::Certificate(certs),
            Handshake::ServerKeyExchange(kx),
            Handshake::Other(14),
        ] = msgs.as_slice()
        else {
            panic!("{msgs:?}")
        };
        assert_eq!(sh.cipher_suite, 0xc02f);
        assert_eq!(certs.lengths, vec![10, 300, 20_000]);
        assert!(!certs.truncated);
        assert_eq!((kx.group, kx.key_length), (Some(23), 65));
    }

    #[test]
    fn several_messages_in_one_record() {
        let p = record(
            22,
            0x0303,
            &[tls13_server_hello(), handshake(14, &[]), handshake(0, &[])].concat(),
        );
        let msgs = all(&p);
        assert_eq!(msgs.len(), 3);
        assert!(
            matches!(&msgs[0], Handshake::ServerHello(h) if h.selected_version == Some(0x0304))
        );
        assert_eq!(msgs[1..], [Handshake::Other(14), Handshake::Other(0)]);
    }

    #[test]
    fn a_message_split_anywhere_over_two_records_is_put_back_together() {
        let message = chrome_client_hello();
        let whole = all(&record(22, 0x0301, &message));
        for split in 1..message.len() {
            let (a, b) = message.split_at(split);
            let p = [record(22, 0x0301, a), record(22, 0x0301, b)].concat();
            assert_eq!(all(&p), whole, "split at {split}");
        }
    }

    #[test]
    fn a_message_split_over_many_small_records_is_put_back_together() {
        let message = tls12_server_hello();
        assert_eq!(
            all(&records_of(&message, 7)),
            all(&record(22, 0x0303, &message))
        );
    }

    #[test]
    fn alerts_and_application_data_are_stepped_over() {
        let p = [
            record(23, 0x0303, &[9; 20]),
            record(21, 0x0303, &[1, 0]),
            record(22, 0x0303, &tls12_server_hello()),
        ]
        .concat();
        let msgs = all(&p);
        assert!(matches!(msgs.as_slice(), [Handshake::ServerHello(h)] if !h.truncated));
    }

    #[test]
    fn a_record_of_another_type_cuts_a_split_message() {
        let message = tls12_server_hello();
        let (a, b) = message.split_at(30);
        let p = [
            record(22, 0x0303, a),
            record(21, 0x0303, &[1, 0]),
            record(22, 0x0303, b),
        ]
        .concat();
        let msgs = all(&p);
        assert_eq!(msgs.len(), 1, "{msgs:?}");
        assert!(truncated(&msgs[0]));
    }

    #[test]
    fn bytes_that_are_not_records_give_nothing() {
        assert!(all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").is_empty());
        assert!(all(&[]).is_empty());
        assert!(all(&record(20, 0x0303, &[1])).is_empty());
        // A valid record followed by junk: the record's messages only.
        let p = [record(22, 0x0303, &handshake(14, &[])), b"junk".to_vec()].concat();
        assert_eq!(all(&p), [Handshake::Other(14)]);
    }

    #[test]
    fn every_prefix_of_every_fixture_parses_and_flags_truncation() {
        let fixtures = [
            record(22, 0x0301, &chrome_client_hello()),
            record(22, 0x0303, &tls12_server_hello()),
            record(22, 0x0303, &tls13_server_hello()),
            records_of(&three_certificates(), 1 << 14),
            server_flight(),
        ];
        for fixture in &fixtures {
            let whole = all(fixture);
            assert!(!whole.is_empty());
            assert!(whole.iter().all(|h| !truncated(h)), "{whole:?}");
            for end in 0..fixture.len() {
                let prefix = fixture.get(..end).unwrap_or_default();
                let msgs = all(prefix);
                assert!(msgs.len() <= whole.len(), "prefix {end}");
                // Every message but the last is whole; the last is cut unless it ended
                // exactly at a message boundary.
                let (last, before) = match msgs.split_last() {
                    Some(split) => split,
                    None => continue,
                };
                assert_eq!(before, &whole[..before.len()], "prefix {end}");
                let same_as_whole = whole.get(before.len()) == Some(last);
                assert!(
                    same_as_whole != truncated(last) || matches!(last, Handshake::Other(_)),
                    "prefix {end}: {last:?}"
                );
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = usize::try_from(next() % 300).unwrap_or(0);
            let mut bytes: Vec<u8> = (0..len).map(|_| next().to_le_bytes()[0]).collect();
            // Mostly valid record headers, so that the message parsers see the bytes.
            if let Some(head) = bytes.get_mut(..3)
                && next() % 4 != 0
            {
                head.copy_from_slice(&[22, 3, 3]);
            }
            if let Some(kind) = bytes.get_mut(5) {
                *kind = [1, 2, 11, 12][usize::try_from(next() % 4).unwrap_or(0)];
            }
            let _ = all(&bytes).len();
        }
    }
}
