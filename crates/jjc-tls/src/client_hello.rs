//! The ClientHello message and its JA3 fingerprint.

use crate::extension::{self, Extensions};
use crate::fingerprint::{md5_hex, push_decimal, push_joined};
use crate::names::is_grease;
use crate::reader::Reader;

/// What a ClientHello says, as far as its bytes go. Lists keep the wire order and every value
/// sent, GREASE included (JoyfulJay's `tls_cipher_count` and `tls_extension_count` count
/// GREASE; JA3 leaves it out).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHello {
    /// The version in the header of the record the message started in.
    pub record_version: u16,
    /// The hello's own version field (`legacy_version`; 0x0303 for a TLS 1.3 client).
    pub version: u16,
    /// The supported_versions extension (43), in order; empty without it.
    pub supported_versions: Vec<u16>,
    /// The offered cipher suites.
    pub cipher_suites: Vec<u16>,
    /// The extension types, in order (an extension counts once its 4-byte header is present).
    pub extensions: Vec<u16>,
    /// The first complete host_name of the server_name extension (0).
    pub sni: Option<String>,
    /// Every complete protocol name of the ALPN extension (16), in order.
    pub alpn: Vec<String>,
    /// The supported_groups extension (10).
    pub supported_groups: Vec<u16>,
    /// The ec_point_formats extension (11).
    pub ec_point_formats: Vec<u8>,
    /// The key_share entries (51) as `(group, key length in bytes)`, in order.
    pub key_share_groups: Vec<(u16, u16)>,
    /// The length of the legacy session id.
    pub session_id_len: u8,
    /// Whether the session_ticket extension (35) is present.
    pub has_session_ticket: bool,
    /// Whether the pre_shared_key extension (41) is present.
    pub has_psk: bool,
    /// Whether the early_data extension (42) is present.
    pub has_early_data: bool,
    /// Whether some declared length ran past the bytes available: the fields hold what was
    /// present, complete items only (an extension's type counts from its header on).
    pub truncated: bool,
}

impl ClientHello {
    /// Parses a ClientHello body (the bytes after the 4-byte handshake header). `cut` says
    /// that the body is shorter than its header declared.
    pub(crate) fn parse(record_version: u16, body: &[u8], cut: bool) -> Self {
        let mut hello = ClientHello {
            record_version,
            truncated: cut,
            ..ClientHello::default()
        };
        let mut r = Reader::new(body);
        hello.read_fields(&mut r);
        hello.truncated |= r.truncated();
        hello
    }

    /// Reads the fixed fields and the extensions, stopping at the first that is missing.
    fn read_fields(&mut self, r: &mut Reader<'_>) -> Option<()> {
        self.version = r.u16()?;
        r.skip(32);
        self.session_id_len = r.u8()?;
        r.skip(usize::from(self.session_id_len));
        let suites = r.vec16()?;
        self.cipher_suites = extension::u16_list(suites, &mut self.truncated);
        let _compression = r.vec8()?;
        if r.is_empty() {
            return None;
        }
        let mut exts = Extensions::new(r.vec16()?);
        for (kind, body) in &mut exts {
            self.extensions.push(kind);
            self.read_extension(kind, body);
        }
        self.truncated |= exts.truncated();
        Some(())
    }

    /// Records what one extension says.
    fn read_extension(&mut self, kind: u16, body: &[u8]) {
        let t = &mut self.truncated;
        match kind {
            extension::SERVER_NAME if self.sni.is_none() => {
                self.sni = extension::server_name(body, t);
            }
            extension::SUPPORTED_GROUPS => {
                if let Some(list) = extension::list16(body, t) {
                    self.supported_groups = extension::u16_list(list, t);
                }
            }
            extension::EC_POINT_FORMATS => {
                if let Some(list) = extension::list8(body, t) {
                    self.ec_point_formats = list.to_vec();
                }
            }
            extension::ALPN => self.alpn = extension::alpn(body, t),
            extension::SESSION_TICKET => self.has_session_ticket = true,
            extension::PRE_SHARED_KEY => self.has_psk = true,
            extension::EARLY_DATA => self.has_early_data = true,
            extension::SUPPORTED_VERSIONS => {
                if let Some(list) = extension::list8(body, t) {
                    self.supported_versions = extension::u16_list(list, t);
                }
            }
            extension::KEY_SHARE => self.key_share_groups = extension::client_key_shares(body, t),
            _ => {}
        }
    }

    /// The highest version the client offers: the largest non-GREASE supported_versions
    /// entry, else [`ClientHello::version`].
    pub fn highest_version(&self) -> u16 {
        self.supported_versions
            .iter()
            .copied()
            .filter(|&v| !is_grease(v))
            .max()
            .unwrap_or(self.version)
    }

    /// The JA3 string: `version,ciphers,extensions,groups,point_formats`, each list in
    /// decimal joined by `-`, GREASE left out of ciphers, extensions and groups; the version
    /// is the hello's own [`ClientHello::version`] (as JA3 and JoyfulJay use it).
    pub fn ja3_string(&self) -> String {
        let mut s = String::with_capacity(128);
        push_decimal(&mut s, self.version);
        s.push(',');
        push_joined(&mut s, &self.cipher_suites, true);
        s.push(',');
        push_joined(&mut s, &self.extensions, true);
        s.push(',');
        push_joined(&mut s, &self.supported_groups, true);
        s.push(',');
        push_joined(&mut s, &self.ec_point_formats, false);
        s
    }

    /// The JA3 fingerprint: the MD5 of [`ClientHello::ja3_string`] in lower-case hex.
    pub fn ja3(&self) -> String {
        md5_hex(&self.ja3_string())
    }
}

#[cfg(test)]
mod tests {
    use super::ClientHello;
    use crate::testdata::{CHROME_JA3_STRING, chrome_client_hello, ja3_readme_client_hello};

    /// The ClientHello in a handshake message's bytes.
    fn parse(message: &[u8]) -> ClientHello {
        ClientHello::parse(0x0301, message.get(4..).unwrap_or_default(), false)
    }

    #[test]
    fn reads_every_field_of_a_chrome_like_hello() {
        let h = parse(&chrome_client_hello());
        assert_eq!(h.record_version, 0x0301);
        assert_eq!(h.version, 0x0303);
        assert_eq!(h.supported_versions, vec![0x3a3a, 0x0304, 0x0303]);
        assert_eq!(h.highest_version(), 0x0304);
        assert_eq!(
            h.cipher_suites,
            vec![0x4a4a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f]
        );
        assert_eq!(
            h.extensions,
            vec![0x1a1a, 0, 23, 10, 11, 35, 16, 51, 43, 45, 42, 41]
        );
        assert_eq!(h.sni.as_deref(), Some("example.com"));
        assert_eq!(h.alpn, vec!["h2", "http/1.1"]);
        assert_eq!(h.supported_groups, vec![0x2a2a, 29, 23, 24]);
        assert_eq!(h.ec_point_formats, vec![0]);
        assert_eq!(h.key_share_groups, vec![(0x2a2a, 1), (29, 32)]);
        assert_eq!(h.session_id_len, 32);
        assert!(h.has_session_ticket && h.has_psk && h.has_early_data);
        assert!(!h.truncated);
    }

    #[test]
    fn ja3_leaves_grease_out_and_hashes_with_md5() {
        let h = parse(&chrome_client_hello());
        assert_eq!(h.ja3_string(), CHROME_JA3_STRING);
        assert_eq!(h.ja3(), "b5072ca9bacf011916c3941af5ad4a3e");
    }

    #[test]
    fn reproduces_the_ja3_readme_example() {
        let h = parse(&ja3_readme_client_hello());
        assert_eq!(
            h.ja3_string(),
            "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0"
        );
        assert_eq!(h.ja3(), "ada70206e40642a3e4461f35503241d5");
        assert_eq!(
            h.highest_version(),
            0x0301,
            "no supported_versions: legacy version"
        );
        assert!(!h.has_session_ticket && !h.has_psk && !h.has_early_data);
    }

    #[test]
    fn a_hello_without_extensions_is_complete() {
        let mut body = vec![3, 3];
        body.extend([0; 32]);
        body.extend([0, 0, 2, 0, 0x2f, 1, 0]);
        let h = ClientHello::parse(0x0303, &body, false);
        assert_eq!(h.cipher_suites, vec![0x2f]);
        assert!(h.extensions.is_empty());
        assert!(!h.truncated);
        assert_eq!(h.ja3_string(), "771,47,,,");
    }

    #[test]
    fn a_cut_hello_keeps_complete_prefixes_and_is_flagged() {
        let full = parse(&chrome_client_hello());
        let message = chrome_client_hello();
        for end in 4..message.len() {
            let body = message.get(4..end).unwrap_or_default();
            let h = ClientHello::parse(0x0301, body, true);
            assert!(h.truncated, "cut at {end}");
            assert!(
                full.cipher_suites.starts_with(&h.cipher_suites),
                "cut at {end}"
            );
            assert!(full.extensions.starts_with(&h.extensions), "cut at {end}");
            assert!(full.alpn.starts_with(&h.alpn), "cut at {end}");
            assert!(full.supported_groups.starts_with(&h.supported_groups));
            assert!(full.key_share_groups.starts_with(&h.key_share_groups));
            assert!(h.sni.is_none() || h.sni == full.sni, "cut at {end}");
        }
    }

    #[test]
    fn inner_lengths_past_the_message_flag_truncation() {
        let mut body = vec![3, 3];
        body.extend([0; 32]);
        body.extend([0, 0, 9, 0, 0x2f]);
        let h = ClientHello::parse(0x0303, &body, false);
        assert!(h.truncated);
        assert_eq!(h.cipher_suites, vec![0x2f]);
    }
}
