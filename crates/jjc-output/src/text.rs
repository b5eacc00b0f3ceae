//! Cell text shared by the text formats: floats, CSV quoting, JSON string escaping.

use std::io::{self, Write};
use std::ptr;

/// Integral floats below this magnitude are written through the integer writer, which
/// gives the shortest round-trip text too (the integer and `.0`; exponents start at 1e16).
const INTEGRAL_FAST_PATH: f64 = 1e15;

/// Magnitudes from which the shortest text has an exponent with a sign (`1e+16`), which jjc
/// writes without it (`1e16`).
const POSITIVE_EXPONENTS: f64 = 1e16;

/// The room zmij may write into for one float: its whole buffer.
const FLOAT_ROOM: usize = size_of::<zmij::Buffer>();

// `write_float` lends zmij the vector's spare room as its buffer: that is sound only while
// the buffer is plain bytes, with no alignment (a single `[MaybeUninit<u8>; 24]`).
const _: () = assert!(FLOAT_ROOM == 24 && align_of::<zmij::Buffer>() == 1);

/// The most bytes an `i64`'s text takes (`-9223372036854775808`).
const INT_ROOM: usize = 20;

/// `00`, `01`, … `99`: two digits at a time.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Writes an integer in decimal, straight into `out`'s spare room.
///
/// Numbers are most of a feature table's text. Formatting them in a buffer of their own and
/// copying the text over cost a copy per cell, and the copy's wide loads stalled on the
/// formatter's narrow stores that had just written the same bytes.
#[inline]
pub(crate) fn write_int(out: &mut Vec<u8>, value: i64) {
    let mut rest = value.unsigned_abs();
    let digits = rest.checked_ilog10().map_or(1, |log| log as usize + 1);
    let len = digits + usize::from(value < 0);
    out.reserve(INT_ROOM);
    let at = out.len();
    // SAFETY: `reserve` left at least `INT_ROOM >= len` bytes of room after `at`. The sign
    // goes at `at` and the digits fill `at + len - digits .. at + len`, two at a time from
    // the end: `digits` is the number's exact count of decimal digits, so the last pair or
    // digit lands on the first digit's place and every byte of `at..at + len` is written
    // before `set_len` exposes it.
    unsafe {
        let start = out.as_mut_ptr().add(at);
        *start = b'-';
        let mut end = start.add(len);
        while rest >= 100 {
            let pair = (rest % 100) as usize * 2;
            rest /= 100;
            end = end.sub(2);
            ptr::copy_nonoverlapping(DIGIT_PAIRS.as_ptr().add(pair), end, 2);
        }
        if rest >= 10 {
            ptr::copy_nonoverlapping(DIGIT_PAIRS.as_ptr().add(rest as usize * 2), end.sub(2), 2);
        } else {
            *end.sub(1) = b'0' + rest as u8;
        }
        out.set_len(at + len);
    }
}

/// Writes a float as its shortest round-trip text (`0.1`, `1.0`, `1e-7`, `1e16`), or `nan`,
/// `inf`, `-inf`: Python's `float()` and pandas read every one of them back exactly.
/// Integral values (counts, lengths and ports kept as floats are common in feature tables)
/// take a faster path with the same text.
#[inline]
pub(crate) fn write_float(out: &mut Vec<u8>, value: f64) {
    // `as i64` saturates and maps NaN to 0, so the round trip holds only for integral
    // values in range (and is cheaper than `trunc` on baseline x86_64, which calls libm).
    let whole = value as i64;
    if whole as f64 == value && value.abs() < INTEGRAL_FAST_PATH {
        if whole == 0 && value.is_sign_negative() {
            return out.extend_from_slice(b"-0.0");
        }
        write_int(out, whole);
        return out.extend_from_slice(b".0");
    }
    write_fraction(out, value);
}

/// [`write_float`] of a value that is not an integer in the fast path's range: apart, so that
/// the integral path stays small enough to inline into the loop over a row's cells.
#[inline(never)]
fn write_fraction(out: &mut Vec<u8>, value: f64) {
    if value.is_nan() {
        return out.extend_from_slice(b"nan");
    }
    if value.is_infinite() {
        return out.extend_from_slice(if value > 0.0 { b"inf" } else { b"-inf" });
    }
    out.reserve(FLOAT_ROOM);
    let at = out.len();
    let room = out.spare_capacity_mut().as_mut_ptr().cast::<zmij::Buffer>();
    // SAFETY: the spare room holds at least `FLOAT_ROOM` bytes, and a `zmij::Buffer` is
    // exactly that many bytes that may hold anything, with no alignment (asserted above):
    // the room is a valid buffer, lent to zmij for this one call. The text it returns lies
    // inside the room; it is moved to the room's start if zmij put it elsewhere, so
    // `set_len` exposes only bytes zmij wrote.
    unsafe {
        let text = (*room).format_finite(value);
        let (from, len) = (text.as_ptr(), text.len());
        let to = room.cast::<u8>();
        if from != to.cast_const() {
            ptr::copy(from, to, len);
        }
        out.set_len(at + len);
    }
    if value.abs() >= POSITIVE_EXPONENTS
        && let Some(plus) = out[at..].iter().position(|&b| b == b'+')
    {
        out.remove(at + plus);
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

    /// The text `write_float` appends after a cell already in the row.
    fn float(v: f64) -> String {
        let mut out = b"x,".to_vec();
        write_float(&mut out, v);
        let text = String::from_utf8(out).unwrap();
        text.strip_prefix("x,").unwrap().to_string()
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
    fn integers_are_written_as_display_writes_them() {
        let mut values = vec![
            0,
            1,
            -1,
            9,
            10,
            99,
            100,
            -100,
            101,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ];
        for power in 0..19 {
            let p = 10i64.pow(power);
            values.extend([p - 1, p, p + 1, -p + 1, -p, -p - 1]);
        }
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(x as i64);
            values.push((x >> (x % 64)) as i64);
        }
        let mut out = Vec::new();
        for v in values {
            // Appended after text already in the vector, as a row's cells are.
            out.clear();
            out.extend_from_slice(b"x,");
            write_int(&mut out, v);
            assert_eq!(std::str::from_utf8(&out).unwrap(), format!("x,{v}"));
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
