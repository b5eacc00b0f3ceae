//! The ServerHello message and its JA3S fingerprint.

use crate::extension::{self, Extensions};
use crate::fingerprint::{md5_hex, push_decimal, push_joined};
use crate::reader::Reader;

/// What a ServerHello says, as far as its bytes go.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerHello {
    /// The version in the header of the record the message started in.
    pub record_version: u16,
    /// The hello's own version field (`legacy_version`; 0x0303 for TLS 1.3).
    pub version: u16,
    /// The version chosen in the supported_versions extension (43), if present.
    pub selected_version: Option<u16>,
    /// The chosen cipher suite.
    pub cipher_suite: u16,
    /// The extension types, in order (an extension counts once its 4-byte header is present).
    pub extensions: Vec<u16>,
    /// The key_share extension (51) as `(group, key length in bytes)`; in a
    /// HelloRetryRequest it names only the group, and the length is 0.
    pub key_share: Option<(u16, u16)>,
    /// The length of the legacy session id.
    pub session_id_len: u8,
    /// The protocol chosen in the ALPN extension (16), if complete.
    pub alpn: Option<String>,
    /// Whether some declared length ran past the bytes available: the fields hold what was
    /// present, complete items only (an extension's type counts from its header on).
    pub truncated: bool,
}

impl ServerHello {
    /// Parses a ServerHello body (the bytes after the 4-byte handshake header). `cut` says
    /// that the body is shorter than its header declared.
    pub(crate) fn parse(record_version: u16, body: &[u8], cut: bool) -> Self {
        let mut hello = ServerHello {
            record_version,
            truncated: cut,
            ..ServerHello::default()
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
        self.cipher_suite = r.u16()?;
        let _compression = r.u8()?;
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
        let mut r = Reader::new(body);
        match kind {
            extension::SUPPORTED_VERSIONS => self.selected_version = r.u16(),
            extension::KEY_SHARE => {
                self.key_share = if body.len() == 2 {
                    r.u16().map(|group| (group, 0))
                } else {
                    extension::key_share_entry(&mut r)
                };
            }
            extension::ALPN => {
                let mut cut = false;
                self.alpn = extension::alpn(body, &mut cut).into_iter().next();
                self.truncated |= cut;
            }
            _ => {}
        }
        self.truncated |= r.truncated();
    }

    /// The version the server chose: [`ServerHello::selected_version`] (TLS 1.3), else
    /// [`ServerHello::version`].
    pub fn negotiated_version(&self) -> u16 {
        self.selected_version.unwrap_or(self.version)
    }

    /// The JA3S string: `version,cipher,extensions` in decimal, extensions joined by `-`
    /// without GREASE; the version is the hello's own [`ServerHello::version`].
    pub fn ja3s_string(&self) -> String {
        let mut s = String::with_capacity(64);
        push_decimal(&mut s, self.version);
        s.push(',');
        push_decimal(&mut s, self.cipher_suite);
        s.push(',');
        push_joined(&mut s, &self.extensions, true);
        s
    }

    /// The JA3S fingerprint: the MD5 of [`ServerHello::ja3s_string`] in lower-case hex.
    pub fn ja3s(&self) -> String {
        md5_hex(&self.ja3s_string())
    }
}

#[cfg(test)]
mod tests {
    use super::ServerHello;
    use crate::testdata::{ext, handshake, tls12_server_hello, tls13_server_hello, u16s, v16};

    /// The ServerHello in a handshake message's bytes.
    fn parse(message: &[u8]) -> ServerHello {
        ServerHello::parse(0x0303, message.get(4..).unwrap_or_default(), false)
    }

    #[test]
    fn reads_a_tls_1_2_server_hello() {
        let h = parse(&tls12_server_hello());
        assert_eq!(h.version, 0x0303);
        assert_eq!(h.selected_version, None);
        assert_eq!(h.negotiated_version(), 0x0303);
        assert_eq!(h.cipher_suite, 0xc02f);
        assert_eq!(h.extensions, vec![0xff01, 11, 35, 16]);
        assert_eq!(h.alpn.as_deref(), Some("h2"));
        assert_eq!(h.key_share, None);
        assert_eq!(h.session_id_len, 32);
        assert!(!h.truncated);
        assert_eq!(h.ja3s_string(), "771,49199,65281-11-35-16");
        // The same JA3S as JoyfulJay's for presence.fuze.com in ndpi_sites.pcapng.
        assert_eq!(h.ja3s(), "8d2a028aa94425f76ced7826b1f39039");
    }

    #[test]
    fn reads_a_tls_1_3_server_hello() {
        let h = parse(&tls13_server_hello());
        assert_eq!(h.version, 0x0303);
        assert_eq!(h.selected_version, Some(0x0304));
        assert_eq!(h.negotiated_version(), 0x0304);
        assert_eq!(h.cipher_suite, 0x1301);
        assert_eq!(h.key_share, Some((29, 32)));
        assert_eq!(h.alpn, None);
        assert!(!h.truncated);
        assert_eq!(h.ja3s_string(), "771,4865,43-51");
        assert_eq!(h.ja3s(), "f4febc55ea12b31ae17cfb7e614afda8");
    }

    #[test]
    fn a_hello_retry_request_key_share_names_only_the_group() {
        let mut body = vec![3, 3];
        body.extend([0xcf; 32]);
        body.extend([0, 0x13, 0x02, 0]);
        body.extend(v16(
            &[ext(43, &u16s(&[0x0304])), ext(51, &u16s(&[23]))].concat()
        ));
        let h = parse(&handshake(2, &body));
        assert_eq!(h.key_share, Some((23, 0)));
        assert!(!h.truncated);
    }

    #[test]
    fn grease_extensions_are_left_out_of_ja3s() {
        let mut body = vec![3, 3];
        body.extend([0; 32]);
        body.extend([0, 0, 0x2f, 0]);
        body.extend(v16(&[ext(0x0a0a, &[]), ext(23, &[])].concat()));
        let h = parse(&handshake(2, &body));
        assert_eq!(h.extensions, vec![0x0a0a, 23]);
        assert_eq!(h.ja3s_string(), "771,47,23");
    }

    #[test]
    fn a_cut_hello_keeps_complete_prefixes_and_is_flagged() {
        let message = tls12_server_hello();
        let full = parse(&message);
        for end in 4..message.len() {
            let h = ServerHello::parse(0x0303, message.get(4..end).unwrap_or_default(), true);
            assert!(h.truncated, "cut at {end}");
            assert!(full.extensions.starts_with(&h.extensions), "cut at {end}");
            assert!(h.alpn.is_none() || h.alpn == full.alpn, "cut at {end}");
        }
    }
}
