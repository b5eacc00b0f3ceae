//! The ServerKeyExchange message of TLS 1.2 and earlier (ECDHE and DHE).

use crate::reader::Reader;

/// The key-exchange parameters of a ServerKeyExchange. The message does not say which
/// kind it is (the cipher suite does); as JoyfulJay does, a first byte of 3
/// (`named_curve`) is read as ECDHE and anything else as DHE.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerKeyExchange {
    /// The named curve (ECDHE); `None` for DHE.
    pub group: Option<u16>,
    /// The declared length in bytes of the server's public key (ECDHE) or of the prime
    /// `p` (DHE).
    pub key_length: u16,
    /// Whether the bytes ended before these fields.
    pub truncated: bool,
}

impl ServerKeyExchange {
    /// Parses a ServerKeyExchange body (the bytes after the 4-byte handshake header). `cut`
    /// says that the body is shorter than its header declared.
    pub(crate) fn parse(body: &[u8], cut: bool) -> Self {
        let mut r = Reader::new(body);
        let mut kx = ServerKeyExchange {
            truncated: cut,
            ..ServerKeyExchange::default()
        };
        if body.first() == Some(&3) {
            r.skip(1);
            kx.group = r.u16();
            kx.key_length = r.u8().map_or(0, u16::from);
        } else {
            kx.key_length = r.u16().unwrap_or(0);
        }
        kx.truncated |= r.truncated();
        kx
    }
}

#[cfg(test)]
mod tests {
    use super::ServerKeyExchange;

    #[test]
    fn reads_a_named_curve() {
        let mut body = vec![3, 0, 29, 32];
        body.extend([0x77; 32]);
        body.extend([4, 1, 0, 2, 0xaa, 0xbb]);
        let kx = ServerKeyExchange::parse(&body, false);
        assert_eq!(kx.group, Some(29));
        assert_eq!(kx.key_length, 32);
        assert!(!kx.truncated);
    }

    #[test]
    fn reads_a_finite_field_prime_length() {
        let mut body = vec![1, 0];
        body.extend([0xff; 8]);
        let kx = ServerKeyExchange::parse(&body, true);
        assert_eq!(kx.group, None);
        assert_eq!(kx.key_length, 256);
        assert!(kx.truncated);
    }

    #[test]
    fn missing_fields_are_flagged() {
        let kx = ServerKeyExchange::parse(&[3, 0], true);
        assert_eq!(kx.group, None);
        assert_eq!(kx.key_length, 0);
        assert!(kx.truncated);
        assert!(ServerKeyExchange::parse(&[], false).truncated);
    }
}
