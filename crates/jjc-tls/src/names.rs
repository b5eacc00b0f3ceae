//! GREASE values and the names JoyfulJay gives to protocol versions and key-exchange groups.

use std::borrow::Cow;

/// Whether `v` is a GREASE value (RFC 8701): both bytes equal and of the form `0x?a`, i.e.
/// one of `0x0a0a, 0x1a1a, …, 0xfafa`. (JoyfulJay tests only `v & 0x0f0f == 0x0a0a`, which
/// also matches values such as `0x0a1a` that are not GREASE; no registered cipher suite,
/// extension or group has that form.)
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// The name of a protocol version as JoyfulJay writes it (`"SSL 3.0"`, `"TLS 1.0"` …
/// `"TLS 1.3"`), or `"Unknown"` for any other value; [`version_label`] gives JoyfulJay's
/// full text for those.
pub fn version_name(v: u16) -> &'static str {
    match v {
        0x0300 => "SSL 3.0",
        0x0301 => "TLS 1.0",
        0x0302 => "TLS 1.1",
        0x0303 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        _ => "Unknown",
    }
}

/// JoyfulJay's `tls_version_str` for a version: [`version_name`], or `"Unknown (0x0400)"`
/// (four lower-case hex digits) for a value it does not name.
pub fn version_label(v: u16) -> Cow<'static, str> {
    match version_name(v) {
        "Unknown" => Cow::Owned(format!("Unknown (0x{v:04x})")),
        name => Cow::Borrowed(name),
    }
}

/// The name of a key-exchange group as JoyfulJay writes it (`"x25519"`, `"secp256r1"`,
/// `"ffdhe2048"` …), or `"unknown"` for a group it does not name; [`group_label`] gives
/// JoyfulJay's full text for those.
pub fn group_name(g: u16) -> &'static str {
    match g {
        0x0017 => "secp256r1",
        0x0018 => "secp384r1",
        0x0019 => "secp521r1",
        0x001d => "x25519",
        0x001e => "x448",
        0x0100 => "ffdhe2048",
        0x0101 => "ffdhe3072",
        0x0102 => "ffdhe4096",
        0x0103 => "ffdhe6144",
        0x0104 => "ffdhe8192",
        0x6399 => "X25519Kyber768Draft00",
        0x0200 => "secp256r1_kyber768",
        _ => "unknown",
    }
}

/// JoyfulJay's `tls_key_exchange_group_name` for a group: [`group_name`], or
/// `"unknown(0x6a6a)"` (four lower-case hex digits) for a group it does not name.
pub fn group_label(g: u16) -> Cow<'static, str> {
    match group_name(g) {
        "unknown" => Cow::Owned(format!("unknown(0x{g:04x})")),
        name => Cow::Borrowed(name),
    }
}

#[cfg(test)]
mod tests {
    use super::{group_label, group_name, is_grease, version_label, version_name};

    #[test]
    fn grease_is_exactly_the_sixteen_rfc_8701_values() {
        let grease: Vec<u16> = (0..=u16::MAX).filter(|&v| is_grease(v)).collect();
        let want: Vec<u16> = (0..16u16).map(|i| 0x0a0a | (i << 12) | (i << 4)).collect();
        assert_eq!(grease, want);
        assert!(is_grease(0x6a6a) && is_grease(0xfafa));
        assert!(!is_grease(0x0a1a) && !is_grease(0x1301));
    }

    #[test]
    fn versions_are_named_as_joyfuljay_does() {
        assert_eq!(version_name(0x0303), "TLS 1.2");
        assert_eq!(version_name(0x0300), "SSL 3.0");
        assert_eq!(version_name(0x0304), "TLS 1.3");
        assert_eq!(version_name(0x7f1c), "Unknown");
        assert_eq!(version_label(0x0301), "TLS 1.0");
        assert_eq!(version_label(0x0400), "Unknown (0x0400)");
        assert_eq!(version_label(0), "Unknown (0x0000)");
    }

    #[test]
    fn groups_are_named_as_joyfuljay_does() {
        assert_eq!(group_name(29), "x25519");
        assert_eq!(group_name(23), "secp256r1");
        assert_eq!(group_name(0x0100), "ffdhe2048");
        assert_eq!(group_name(0x11ec), "unknown");
        assert_eq!(group_label(0x001d), "x25519");
        assert_eq!(group_label(0x6a6a), "unknown(0x6a6a)");
    }
}
