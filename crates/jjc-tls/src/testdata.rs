//! Byte fixtures for the unit tests: builders for TLS vectors, extensions, handshake
//! messages and records, and complete hellos and certificate chains.

/// `bytes` with a one-byte length prefix.
pub(crate) fn v8(bytes: &[u8]) -> Vec<u8> {
    let len = u8::try_from(bytes.len()).expect("fixture vector fits a u8 length");
    [&[len][..], bytes].concat()
}

/// `bytes` with a two-byte length prefix.
pub(crate) fn v16(bytes: &[u8]) -> Vec<u8> {
    let len = u16::try_from(bytes.len()).expect("fixture vector fits a u16 length");
    [&len.to_be_bytes()[..], bytes].concat()
}

/// `bytes` with a three-byte length prefix.
pub(crate) fn v24(bytes: &[u8]) -> Vec<u8> {
    let len = u32::try_from(bytes.len()).expect("fixture vector fits a u24 length");
    [&len.to_be_bytes()[1..], bytes].concat()
}

/// Big-endian 16-bit values, concatenated.
pub(crate) fn u16s(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// One extension: type, length, body.
pub(crate) fn ext(kind: u16, body: &[u8]) -> Vec<u8> {
    [&kind.to_be_bytes()[..], &v16(body)].concat()
}

/// One handshake message: type, 3-byte length, body.
pub(crate) fn handshake(kind: u8, body: &[u8]) -> Vec<u8> {
    [&[kind][..], &v24(body)].concat()
}

/// One record: content type, version, length, fragment.
pub(crate) fn record(content_type: u8, version: u16, fragment: &[u8]) -> Vec<u8> {
    [&[content_type][..], &version.to_be_bytes(), &v16(fragment)].concat()
}

/// A hello's fixed start: version, 32 random bytes, a session id of `session_id_len` bytes.
fn hello_start(version: u16, session_id_len: u8) -> Vec<u8> {
    let mut b = version.to_be_bytes().to_vec();
    b.extend([0x11; 32]);
    b.extend(v8(&vec![0x22; usize::from(session_id_len)]));
    b
}

/// A Chrome-like TLS 1.3 ClientHello (the whole handshake message) with GREASE values in
/// the cipher suites, extensions, groups, key shares and supported versions; SNI
/// `example.com`; ALPN `h2, http/1.1`; session ticket, early data and PSK extensions.
pub(crate) fn chrome_client_hello() -> Vec<u8> {
    let mut key_shares = [&u16s(&[0x2a2a])[..], &v16(&[0])].concat();
    key_shares.extend([&u16s(&[29])[..], &v16(&[0x42; 32])].concat());
    let extensions = [
        ext(0x1a1a, &[]),
        ext(0, &v16(&[&[0][..], &v16(b"example.com")].concat())),
        ext(23, &[]),
        ext(10, &v16(&u16s(&[0x2a2a, 29, 23, 24]))),
        ext(11, &v8(&[0])),
        ext(35, &[]),
        ext(16, &v16(&[v8(b"h2"), v8(b"http/1.1")].concat())),
        ext(51, &v16(&key_shares)),
        ext(43, &v8(&u16s(&[0x3a3a, 0x0304, 0x0303]))),
        ext(45, &v8(&[1])),
        ext(42, &[]),
        ext(41, &[0, 7, 0, 1, 0xaa, 0, 0, 0, 0, 0, 3, 2, 0xbb, 0xcc]),
    ]
    .concat();
    let mut body = hello_start(0x0303, 32);
    body.extend(v16(&u16s(&[
        0x4a4a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f,
    ])));
    body.extend(v8(&[0]));
    body.extend(v16(&extensions));
    handshake(1, &body)
}

/// The JA3 string of [`chrome_client_hello`], worked out by hand.
pub(crate) const CHROME_JA3_STRING: &str =
    "771,4865-4866-4867-49195-49199,0-23-10-11-35-16-51-43-45-42-41,29-23-24,0";

/// The TLS 1.0 ClientHello of the JA3 README's example (no session id, three extensions).
pub(crate) fn ja3_readme_client_hello() -> Vec<u8> {
    let suites = [47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4];
    let extensions = [
        ext(0, &v16(&[&[0][..], &v16(b"a.example")].concat())),
        ext(10, &v16(&u16s(&[23, 24, 25]))),
        ext(11, &v8(&[0])),
    ]
    .concat();
    let mut body = hello_start(0x0301, 0);
    body.extend(v16(&u16s(&suites)));
    body.extend(v8(&[0]));
    body.extend(v16(&extensions));
    handshake(1, &body)
}

/// A TLS 1.2 ServerHello: ECDHE-RSA-AES128-GCM-SHA256, renegotiation_info, point formats,
/// session ticket, ALPN `h2`.
pub(crate) fn tls12_server_hello() -> Vec<u8> {
    let extensions = [
        ext(0xff01, &[0]),
        ext(11, &v8(&[0, 1, 2])),
        ext(35, &[]),
        ext(16, &v16(&v8(b"h2"))),
    ]
    .concat();
    let mut body = hello_start(0x0303, 32);
    body.extend(u16s(&[0xc02f]));
    body.push(0);
    body.extend(v16(&extensions));
    handshake(2, &body)
}

/// A TLS 1.3 ServerHello: TLS_AES_128_GCM_SHA256, supported_versions 1.3, an x25519 key
/// share.
pub(crate) fn tls13_server_hello() -> Vec<u8> {
    let key_share = [&u16s(&[29])[..], &v16(&[0x55; 32])].concat();
    let extensions = [ext(43, &u16s(&[0x0304])), ext(51, &key_share)].concat();
    let mut body = hello_start(0x0303, 32);
    body.extend(u16s(&[0x1301]));
    body.push(0);
    body.extend(v16(&extensions));
    handshake(2, &body)
}

/// A Certificate message with three certificates of 10, 300 and 20,000 bytes (so that it
/// needs two records).
pub(crate) fn three_certificates() -> Vec<u8> {
    let list: Vec<u8> = [10usize, 300, 20_000]
        .iter()
        .flat_map(|&n| v24(&vec![0x30; n]))
        .collect();
    handshake(11, &v24(&list))
}

/// `message` split into handshake records of at most `max` bytes each.
pub(crate) fn records_of(message: &[u8], max: usize) -> Vec<u8> {
    message
        .chunks(max)
        .flat_map(|chunk| record(22, 0x0303, chunk))
        .collect()
}
