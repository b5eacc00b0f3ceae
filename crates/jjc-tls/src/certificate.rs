//! The Certificate message: how many certificates, and how long.

use crate::reader::Reader;

/// The certificate chain of a Certificate message (TLS 1.2 and earlier layout: a 3-byte
/// list length, then each certificate with a 3-byte length; TLS 1.3 sends this message
/// encrypted).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Certificates {
    /// The declared length of each certificate whose 3-byte length is present, in order
    /// (the last one's bytes may be cut off).
    pub lengths: Vec<u32>,
    /// The sum of [`Certificates::lengths`].
    pub total_length: u64,
    /// Whether some declared length ran past the bytes available, so that later
    /// certificates may be missing from [`Certificates::lengths`].
    pub truncated: bool,
}

impl Certificates {
    /// Parses a Certificate body (the bytes after the 4-byte handshake header). `cut` says
    /// that the body is shorter than its header declared.
    pub(crate) fn parse(body: &[u8], cut: bool) -> Self {
        let mut outer = Reader::new(body);
        let mut certs = Certificates {
            truncated: cut,
            ..Certificates::default()
        };
        if let Some(list) = outer.vec24() {
            let mut list = Reader::new(list);
            while !list.is_empty() {
                let Some(len) = list.u24() else { break };
                list.skip(usize::try_from(len).unwrap_or(usize::MAX));
                certs.lengths.push(len);
                certs.total_length += u64::from(len);
            }
            certs.truncated |= list.truncated();
        }
        certs.truncated |= outer.truncated();
        certs
    }
}

#[cfg(test)]
mod tests {
    use super::Certificates;
    use crate::testdata::three_certificates;

    #[test]
    fn lists_every_certificate_length() {
        let message = three_certificates();
        let c = Certificates::parse(message.get(4..).unwrap_or_default(), false);
        assert_eq!(c.lengths, vec![10, 300, 20_000]);
        assert_eq!(c.total_length, 20_310);
        assert!(!c.truncated);
    }

    #[test]
    fn a_cut_chain_keeps_the_lengths_seen() {
        let message = three_certificates();
        // The first certificate's length, and the second's, are present; the second's
        // bytes are not all there.
        let c = Certificates::parse(message.get(4..40).unwrap_or_default(), true);
        assert_eq!(c.lengths, vec![10, 300]);
        assert_eq!(c.total_length, 310);
        assert!(c.truncated);
        let c = Certificates::parse(message.get(4..9).unwrap_or_default(), true);
        assert!(c.lengths.is_empty());
        assert!(c.truncated);
    }

    #[test]
    fn an_empty_chain_is_complete() {
        let c = Certificates::parse(&[0, 0, 0], false);
        assert!(c.lengths.is_empty());
        assert_eq!(c.total_length, 0);
        assert!(!c.truncated);
    }
}
