//! The pieces of JA3/JA3S strings and their MD5 digests.
//!
//! Numbers and digests are written by hand rather than through `write!`: every TLS flow
//! builds two of these strings, and the formatting machinery was most of their cost.

use md5::{Digest, Md5};

use crate::names::is_grease;

/// Appends `values` in decimal, joined by `-`, leaving out GREASE values when `drop_grease`.
pub(crate) fn push_joined<T>(out: &mut String, values: &[T], drop_grease: bool)
where
    T: Copy + Into<u16>,
{
    let mut first = true;
    for &v in values {
        let v: u16 = v.into();
        if drop_grease && is_grease(v) {
            continue;
        }
        if !first {
            out.push('-');
        }
        first = false;
        push_decimal(out, v);
    }
}

/// Appends `value` in decimal.
pub(crate) fn push_decimal(out: &mut String, value: u16) {
    let mut digits = [0u8; 5];
    let mut at = digits.len();
    let mut rest = value;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
}

/// The MD5 digest of `text` in lower-case hex (32 characters).
pub(crate) fn md5_hex(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Md5::digest(text.as_bytes());
    let mut hex = String::with_capacity(32);
    for byte in digest.iter() {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 15)]));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::{md5_hex, push_decimal, push_joined};

    #[test]
    fn decimals_are_written_as_display_writes_them() {
        let mut s = String::new();
        for v in 0..=u16::MAX {
            s.clear();
            push_decimal(&mut s, v);
            assert_eq!(s, v.to_string());
        }
    }

    #[test]
    fn md5_matches_the_rfc_1321_test_suite() {
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex("a"), "0cc175b9c0f1b6a831c399e269772661");
        assert_eq!(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            md5_hex("message digest"),
            "f96b697d7cb7938d525a2f31aaf161d0"
        );
        assert_eq!(
            md5_hex(
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890"
            ),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
    }

    #[test]
    fn joins_in_decimal_and_drops_grease_on_request() {
        let mut s = String::new();
        push_joined(&mut s, &[0x0a0au16, 4865, 0xfafa, 49195], true);
        assert_eq!(s, "4865-49195");
        s.clear();
        push_joined(&mut s, &[0x0a0au16, 29], false);
        assert_eq!(s, "2570-29");
        s.clear();
        push_joined(&mut s, &[0u8, 1, 2], true);
        assert_eq!(s, "0-1-2");
        s.clear();
        push_joined::<u16>(&mut s, &[], true);
        assert_eq!(s, "");
    }
}
