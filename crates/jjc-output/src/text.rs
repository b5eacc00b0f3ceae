//! Cell text shared by the text formats: floats, CSV quoting, JSON string escaping.

use std::io::{self, Write};
use std::ptr;

/// Integral floats below this magnitude are written through the integer formatter, which
/// gives the shortest round-trip text too (the integer and `.0`; exponents start at 1e16).
const INTEGRAL_FAST_PATH: f64 = 1e15;

/// Magnitudes from which the shortest text has an exponent with a sign (`1e+16`), which jjc
/// writes without it (`1e16`).
const POSITIVE_EXPONENTS: f64 = 1e16;

/// Reusable buffers for the text of numbers.
#[derive(Default)]
pub(crate) struct NumberBuffers {
    floats: zmij::Buffer,
    ints: itoa::Buffer,
}

/// A clone is fresh buffers: they hold nothing between two numbers.
impl Clone for NumberBuffers {
    fn clone(&self) -> Self {
        NumberBuffers::default()
    }
}

impl NumberBuffers {
    /// Writes an integer.
    #[inline]
    pub(crate) fn write_int(&mut self, out: &mut Vec<u8>, value: i64) {
        append_short(out, self.ints.format(value).as_bytes());
    }

    /// Writes a float as its shortest round-trip text (`0.1`, `1.0`, `1e-7`, `1e16`), or
    /// `nan`, `inf`, `-inf`: Python's `float()` and pandas read every one of them back
    /// exactly. Integral values (counts, lengths and ports kept as floats are common in
    /// feature tables) take a faster path with the same text.
    #[inline]
    pub(crate) fn write_float(&mut self, out: &mut Vec<u8>, value: f64) {
        // `as i64` saturates and maps NaN to 0, so the round trip holds only for integral
        // values in range (and is cheaper than `trunc` on baseline x86_64, which calls libm).
        let whole = value as i64;
        if whole as f64 == value && value.abs() < INTEGRAL_FAST_PATH {
            if whole == 0 && value.is_sign_negative() {
                return out.extend_from_slice(b"-0.0");
            }
            append_short(out, self.ints.format(whole).as_bytes());
            return out.extend_from_slice(b".0");
        }
        if value.is_nan() {
            return out.extend_from_slice(b"nan");
        }
        if value.is_infinite() {
            return out.extend_from_slice(if value > 0.0 { b"inf" } else { b"-inf" });
        }
        let text = self.floats.format_finite(value);
        if value.abs() >= POSITIVE_EXPONENTS
            && let Some((mantissa, exponent)) = text.split_once("e+")
        {
            append_short(out, mantissa.as_bytes());
            out.push(b'e');
            return append_short(out, exponent.as_bytes());
        }
        append_short(out, text.as_bytes())
    }
}

/// Appends `bytes` to `out` as `extend_from_slice` does, but copies the short texts of
/// numbers (a cell's usual 1–24 bytes) with two fixed-size, possibly overlapping moves rather
/// than a call to `memcpy`: numbers are most of a feature table's text, and the call was
/// about a twentieth of a CSV run's time.
#[inline(always)]
pub(crate) fn append_short(out: &mut Vec<u8>, bytes: &[u8]) {
    let n = bytes.len();
    if n > 32 {
        return out.extend_from_slice(bytes);
    }
    out.reserve(n);
    let len = out.len();
    let src = bytes.as_ptr();
    // SAFETY: `reserve` left room for `n` bytes after `len`, and every move below reads
    // inside `bytes` and writes inside `out[len..len + n]`: each pair of chunks of `k`
    // bytes is taken only when `k <= n`, the second starting at `n - k`. The bytes are then
    // all written (the chunks cover `0..n`), so `set_len` exposes no uninitialised byte.
    unsafe {
        let dst = out.as_mut_ptr().add(len);
        if n >= 16 {
            copy_pair::<16>(src, dst, n);
        } else if n >= 8 {
            copy_pair::<8>(src, dst, n);
        } else if n >= 4 {
            copy_pair::<4>(src, dst, n);
        } else {
            for i in 0..n {
                *dst.add(i) = *src.add(i);
            }
        }
        out.set_len(len + n);
    }
}

/// Copies `n` bytes (`K <= n <= 2 * K`) from `src` to `dst` as two moves of `K` bytes, the
/// first at 0 and the second at `n - K`.
///
/// # Safety
///
/// `src` must be readable and `dst` writable for `n` bytes, and the two must not overlap.
#[inline(always)]
unsafe fn copy_pair<const K: usize>(src: *const u8, dst: *mut u8, n: usize) {
    // SAFETY: the caller's contract, with `K <= n`, keeps both moves inside the `n` bytes.
    unsafe {
        let head = ptr::read_unaligned(src.cast::<[u8; K]>());
        let tail = ptr::read_unaligned(src.add(n - K).cast::<[u8; K]>());
        ptr::write_unaligned(dst.cast::<[u8; K]>(), head);
        ptr::write_unaligned(dst.add(n - K).cast::<[u8; K]>(), tail);
    }
}

/// Writes `s` as a CSV field: as is, or quoted with inner quotes doubled when it contains
/// a comma, a quote, CR or LF (RFC 4180).
pub(crate) fn write_csv_field(out: &mut impl Write, s: &str) -> io::Result<()> {
    let bytes = s.as_bytes();
    if !bytes
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
    {
        return out.write_all(bytes);
    }
    out.write_all(b"\"")?;
    let mut pieces = bytes.split(|&b| b == b'"');
    if let Some(first) = pieces.next() {
        out.write_all(first)?;
    }
    for piece in pieces {
        out.write_all(b"\"\"")?;
        out.write_all(piece)?;
    }
    out.write_all(b"\"")
}

/// Writes `s` as a JSON string, quotes included: `"` and `\` escaped, control characters
/// as `\n`, `\r`, `\t`, `\b`, `\f` or `\u00XX`, everything else (all of Unicode) as UTF-8.
pub(crate) fn write_json_string(out: &mut impl Write, s: &str) -> io::Result<()> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    out.write_all(b"\"")?;
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.write_all(bytes.get(start..i).unwrap_or_default())?;
        if short.is_empty() {
            let hex = [
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ];
            out.write_all(&hex)?;
        } else {
            out.write_all(short)?;
        }
        start = i + 1;
    }
    out.write_all(bytes.get(start..).unwrap_or_default())?;
    out.write_all(b"\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(s: &str) -> String {
        let mut out = Vec::new();
        write_csv_field(&mut out, s).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn json(s: &str) -> String {
        let mut out = Vec::new();
        write_json_string(&mut out, s).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn float(v: f64) -> String {
        let mut out = Vec::new();
        NumberBuffers::default().write_float(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_are_shortest_round_trip_and_python_readable() {
        let cases: [(f64, &str); 17] = [
            (0.1, "0.1"),
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1e-7, "1e-7"),
            (1e16, "1e16"),
            (-1.2345678901234568e16, "-1.2345678901234568e16"),
            (1.5e300, "1.5e300"),
            (123456789.0, "123456789.0"),
            (1e15, "1000000000000000.0"),
            (0.30000000000000004, "0.30000000000000004"),
            (1_700_000_000.123456, "1700000000.123456"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (5e-324, "5e-324"),
            (0.00001, "0.00001"),
        ];
        for (v, want) in cases {
            let got = float(v);
            assert_eq!(got, want, "{v:?}");
            // Every text reads back to the same float (as Python's float() would).
            let back: f64 = got.parse().unwrap();
            assert!(back == v || (v.is_nan() && back.is_nan()), "{got}");
        }
    }

    /// ryu's text, the format jjc's tables have always had.
    fn ryu_text(v: f64) -> String {
        match v {
            v if v.is_nan() => "nan".into(),
            f64::INFINITY => "inf".into(),
            f64::NEG_INFINITY => "-inf".into(),
            v => ryu::Buffer::new().format_finite(v).to_string(),
        }
    }

    #[test]
    fn float_text_is_ryus_on_integers_and_any_bit_pattern() {
        let mut values = vec![
            0.0, -0.0, 1.0, -1.0, 60.0, 1500.0, 65535.0, 1e14, 1e15, 1e16,
        ];
        values.extend([999_999_999_999_999.0, -999_999_999_999_999.0, 2f64.powi(49)]);
        values.extend((0..2000i64).map(|i| (i * i * 7919) as f64));
        values.extend([
            0.5,
            -2.5,
            1e15 + 0.5,
            f64::NAN,
            f64::INFINITY,
            1e300,
            5e-324,
        ]);
        // xorshift over raw bit patterns: every exponent and sign.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(f64::from_bits(x));
            values.push((x >> 11) as f64 / (1u64 << 53) as f64 * 1500.0);
        }
        for v in values {
            assert_eq!(float(v), ryu_text(v), "{v:?} ({:#x})", v.to_bits());
        }
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        assert_eq!(csv("plain text"), "plain text");
        assert_eq!(csv(""), "");
        assert_eq!(csv("a,b"), "\"a,b\"");
        assert_eq!(csv("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv("\""), "\"\"\"\"");
        assert_eq!(csv("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv("cr\rhere"), "\"cr\rhere\"");
        assert_eq!(csv("héllo wörld"), "héllo wörld");
    }

    #[test]
    fn json_escapes_controls_and_keeps_unicode() {
        assert_eq!(json("abc"), r#""abc""#);
        assert_eq!(json("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(json("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#);
        assert_eq!(json("\u{0}\u{1f}x"), r#""\u0000\u001fx""#);
        assert_eq!(json("héllo → 世界 😀"), "\"héllo → 世界 😀\"");
        assert_eq!(json("\u{7f}"), "\"\u{7f}\"");
        for s in ["\u{0}\u{1}\u{2}tail", "ü\"\\\n😀", ""] {
            let back: String = serde_json::from_str(&json(s)).unwrap();
            assert_eq!(back, s);
        }
    }
}
