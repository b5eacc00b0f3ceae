//! Extension numbers and the parsers for the extension bodies both hellos share.

use crate::reader::Reader;

/// server_name (SNI).
pub(crate) const SERVER_NAME: u16 = 0;
/// supported_groups (formerly elliptic_curves).
pub(crate) const SUPPORTED_GROUPS: u16 = 10;
/// ec_point_formats.
pub(crate) const EC_POINT_FORMATS: u16 = 11;
/// application_layer_protocol_negotiation (ALPN).
pub(crate) const ALPN: u16 = 16;
/// session_ticket.
pub(crate) const SESSION_TICKET: u16 = 35;
/// pre_shared_key.
pub(crate) const PRE_SHARED_KEY: u16 = 41;
/// early_data.
pub(crate) const EARLY_DATA: u16 = 42;
/// supported_versions.
pub(crate) const SUPPORTED_VERSIONS: u16 = 43;
/// key_share.
pub(crate) const KEY_SHARE: u16 = 51;

/// The extensions of a hello, as `(type, body)`. An extension is yielded as soon as its
/// four-byte header is present; its body is cut to the bytes present.
pub(crate) struct Extensions<'a> {
    /// The unread part of the extensions block.
    reader: Reader<'a>,
}

impl<'a> Extensions<'a> {
    /// The extensions in an extensions block (the bytes after its two-byte length).
    pub(crate) fn new(block: &'a [u8]) -> Self {
        Extensions {
            reader: Reader::new(block),
        }
    }

    /// Whether some extension header or body ran past the block.
    pub(crate) fn truncated(&self) -> bool {
        self.reader.truncated()
    }
}

impl<'a> Iterator for Extensions<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.reader.is_empty() {
            return None;
        }
        let kind = self.reader.u16()?;
        let body = self.reader.vec16()?;
        Some((kind, body))
    }
}

/// Consecutive big-endian 16-bit values; an odd byte at the end sets `truncated`.
pub(crate) fn u16_list(bytes: &[u8], truncated: &mut bool) -> Vec<u16> {
    let pairs = bytes.chunks_exact(2);
    *truncated |= !pairs.remainder().is_empty();
    pairs
        .filter_map(|p| Some(u16::from_be_bytes([*p.first()?, *p.get(1)?])))
        .collect()
}

/// The list an extension body holds behind its two-byte length, cut to the bytes present;
/// `None` when the length itself is missing. Either shortfall sets `truncated`.
pub(crate) fn list16<'a>(body: &'a [u8], truncated: &mut bool) -> Option<&'a [u8]> {
    let mut r = Reader::new(body);
    let list = r.vec16();
    *truncated |= r.truncated();
    list
}

/// The list an extension body holds behind its one-byte length, as [`list16`].
pub(crate) fn list8<'a>(body: &'a [u8], truncated: &mut bool) -> Option<&'a [u8]> {
    let mut r = Reader::new(body);
    let list = r.vec8();
    *truncated |= r.truncated();
    list
}

/// A name from the wire as text (invalid UTF-8 replaced by U+FFFD).
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The first complete host_name of a server_name extension body.
pub(crate) fn server_name(body: &[u8], truncated: &mut bool) -> Option<String> {
    let mut outer = Reader::new(body);
    let mut list = Reader::new(outer.vec16()?);
    let mut found = None;
    while found.is_none() && !list.is_empty() {
        let Some(kind) = list.u8() else { break };
        let before = list.truncated();
        let Some(name) = list.vec16() else { break };
        if kind == 0 && list.truncated() == before {
            found = Some(text(name));
        }
    }
    *truncated |= outer.truncated() || list.truncated();
    found
}

/// Every complete protocol name of an ALPN extension body, in order.
pub(crate) fn alpn(body: &[u8], truncated: &mut bool) -> Vec<String> {
    let mut protocols = Vec::new();
    if let Some(list) = list16(body, truncated) {
        let mut list = Reader::new(list);
        while !list.is_empty() {
            let before = list.truncated();
            let Some(name) = list.vec8() else { break };
            if list.truncated() == before {
                protocols.push(text(name));
            }
        }
        *truncated |= list.truncated();
    }
    protocols
}

/// One KeyShareEntry: the group and the declared length of its key, when both are present.
pub(crate) fn key_share_entry(reader: &mut Reader<'_>) -> Option<(u16, u16)> {
    let group = reader.u16()?;
    let len = reader.u16()?;
    reader.skip(usize::from(len));
    Some((group, len))
}

/// The entries of a ClientHello key_share body, as `(group, key length)`.
pub(crate) fn client_key_shares(body: &[u8], truncated: &mut bool) -> Vec<(u16, u16)> {
    let mut shares = Vec::new();
    if let Some(list) = list16(body, truncated) {
        let mut list = Reader::new(list);
        while !list.is_empty() {
            let Some(entry) = key_share_entry(&mut list) else {
                break;
            };
            shares.push(entry);
        }
        *truncated |= list.truncated();
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::{Extensions, alpn, client_key_shares, server_name, u16_list};

    #[test]
    fn extensions_are_yielded_from_their_headers() {
        let block = [0, 0, 0, 1, 9, 0, 23, 0, 0, 0, 16, 0, 5, 1];
        let mut exts = Extensions::new(&block);
        assert_eq!(exts.next(), Some((0, &[9][..])));
        assert_eq!(exts.next(), Some((23, &[][..])));
        assert!(!exts.truncated());
        assert_eq!(
            exts.next(),
            Some((16, &[1][..])),
            "a cut body is still yielded"
        );
        assert_eq!(exts.next(), None);
        assert!(exts.truncated());
    }

    #[test]
    fn u16_lists_flag_an_odd_byte() {
        let mut t = false;
        assert_eq!(u16_list(&[0, 29, 0, 23], &mut t), vec![29, 23]);
        assert!(!t);
        assert_eq!(u16_list(&[0, 29, 0], &mut t), vec![29]);
        assert!(t);
    }

    #[test]
    fn server_name_takes_the_first_complete_host_name() {
        let mut t = false;
        let body = [0, 10, 1, 0, 1, b'x', 0, 0, 3, b'a', b'.', b'b'];
        assert_eq!(server_name(&body, &mut t).as_deref(), Some("a.b"));
        assert!(!t);
        let cut = [0, 6, 0, 0, 3, b'a', b'.'];
        assert_eq!(server_name(&cut, &mut t), None);
        assert!(t);
    }

    #[test]
    fn alpn_keeps_every_complete_protocol() {
        let mut t = false;
        let body = [
            0, 12, 2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1',
        ];
        assert_eq!(alpn(&body, &mut t), vec!["h2", "http/1.1"]);
        assert!(!t);
        assert_eq!(alpn(body.get(..8).unwrap_or_default(), &mut t), vec!["h2"]);
        assert!(t);
    }

    #[test]
    fn key_shares_keep_declared_lengths_of_cut_keys() {
        let mut t = false;
        let body = [0, 10, 0x6a, 0x6a, 0, 1, 0, 0, 29, 0, 32, 7];
        assert_eq!(
            client_key_shares(&body, &mut t),
            vec![(0x6a6a, 1), (29, 32)]
        );
        assert!(t);
    }
}
