//! Cell text shared by the text formats: floats, CSV quoting, JSON string escaping.

use std::io::{self, Write};

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
    pub(crate) fn write_int(&mut self, out: &mut impl Write, value: i64) -> io::Result<()> {
        out.write_all(self.ints.format(value).as_bytes())
    }

    /// Writes a float as its shortest round-trip text (`0.1`, `1.0`, `1e-7`, `1e16`), or
    /// `nan`, `inf`, `-inf`: Python's `float()` and pandas read every one of them back
    /// exactly. Integral values (counts, lengths and ports kept as floats are common in
    /// feature tables) take a faster path with the same text.
    #[inline]
    pub(crate) fn write_float(&mut self, out: &mut impl Write, value: f64) -> io::Result<()> {
        // `as i64` saturates and maps NaN to 0, so the round trip holds only for integral
        // values in range (and is cheaper than `trunc` on baseline x86_64, which calls libm).
        let whole = value as i64;
        if whole as f64 == value && value.abs() < INTEGRAL_FAST_PATH {
            if whole == 0 && value.is_sign_negative() {
                return out.write_all(b"-0.0");
            }
            out.write_all(self.ints.format(whole).as_bytes())?;
            return out.write_all(b".0");
        }
        if value.is_nan() {
            return out.write_all(b"nan");
        }
        if value.is_infinite() {
            return out.write_all(if value > 0.0 { b"inf" } else { b"-inf" });
        }
        let text = self.floats.format_finite(value);
        if value.abs() >= POSITIVE_EXPONENTS
            && let Some((mantissa, exponent)) = text.split_once("e+")
        {
            out.write_all(mantissa.as_bytes())?;
            out.write_all(b"e")?;
            return out.write_all(exponent.as_bytes());
        }
        out.write_all(text.as_bytes())
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
        NumberBuffers::default().write_float(&mut out, v).unwrap();
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
