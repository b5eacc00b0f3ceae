//! Decoding literal tokens: numbers (with time units), strings, bytes and addresses.

use std::net::IpAddr;

/// A decoded number literal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// An integer without a unit.
    Int(i64),
    /// A float, or any number with a time unit (converted to seconds).
    Float(f64),
}

/// Why a literal could not be decoded: a byte range inside the token and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiteralError {
    /// Offset of the bad part from the start of the token.
    pub offset: usize,
    /// Its length in bytes (at least 1).
    pub len: usize,
    /// What is wrong.
    pub message: String,
}

fn err(offset: usize, len: usize, message: impl Into<String>) -> LiteralError {
    LiteralError {
        offset,
        len: len.max(1),
        message: message.into(),
    }
}

/// Decodes a number token such as `42`, `0x1F`, `1_000`, `2.5e3`, `50ms`, `-3`.
pub fn number(token: &str) -> Result<Number, LiteralError> {
    let (negative, body) = match token.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, token),
    };
    let sign_len = token.len() - body.len();
    let (digits, scale) = if let Some(d) = body.strip_suffix("ms") {
        (d, Some(1e-3))
    } else if let Some(d) = body.strip_suffix("us") {
        (d, Some(1e-6))
    } else if let Some(d) = body.strip_suffix("ns") {
        (d, Some(1e-9))
    } else if !body.starts_with("0x")
        && let Some(d) = body.strip_suffix('s')
    {
        (d, Some(1.0))
    } else {
        (body, None)
    };
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    let whole = || err(0, token.len(), format!("`{token}` is not a valid number"));
    if let Some(hex) = clean.strip_prefix("0x") {
        let v = u64::from_str_radix(hex, 16).map_err(|_| whole())?;
        let v = i64::try_from(v).map_err(|_| {
            err(
                sign_len,
                digits.len(),
                format!("`{token}` does not fit in a 64-bit signed integer"),
            )
        })?;
        let v = if negative { -v } else { v };
        return Ok(match scale {
            Some(s) => Number::Float(v as f64 * s),
            None => Number::Int(v),
        });
    }
    let is_float = clean.contains(['.', 'e', 'E']);
    if is_float || scale.is_some() {
        let v: f64 = clean.parse().map_err(|_| whole())?;
        if !v.is_finite() {
            return Err(err(
                0,
                token.len(),
                format!("`{token}` is too large for a float"),
            ));
        }
        let v = if negative { -v } else { v };
        return Ok(Number::Float(v * scale.unwrap_or(1.0)));
    }
    let magnitude: u64 = clean.parse().map_err(|_| {
        err(
            sign_len,
            digits.len(),
            format!("`{token}` does not fit in a 64-bit signed integer"),
        )
    })?;
    let value = if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    };
    value.map(Number::Int).ok_or_else(|| {
        err(
            sign_len,
            digits.len(),
            format!("`{token}` does not fit in a 64-bit signed integer"),
        )
    })
}

/// One decoded piece of a quoted literal.
enum Piece {
    Char(char),
    Byte(u8),
}

/// Walks the body of a quoted literal (between the quotes), decoding escapes.
/// `body_offset` is where the body starts within the token, for error offsets.
fn walk(
    body: &str,
    body_offset: usize,
    bytes_mode: bool,
    mut emit: impl FnMut(Piece),
) -> Result<(), LiteralError> {
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            emit(Piece::Char(c));
            continue;
        }
        let at = body_offset + i;
        let Some((_, e)) = chars.next() else {
            return Err(err(at, 1, "a `\\` must be followed by an escape"));
        };
        match e {
            'n' => emit(Piece::Byte(b'\n')),
            't' => emit(Piece::Byte(b'\t')),
            'r' => emit(Piece::Byte(b'\r')),
            '0' => emit(Piece::Byte(0)),
            '\\' => emit(Piece::Byte(b'\\')),
            '"' => emit(Piece::Byte(b'"')),
            '\'' => emit(Piece::Byte(b'\'')),
            'x' => {
                let hi = chars.next().map(|(_, c)| c);
                let lo = chars.next().map(|(_, c)| c);
                let value = match (
                    hi.and_then(|c| c.to_digit(16)),
                    lo.and_then(|c| c.to_digit(16)),
                ) {
                    (Some(h), Some(l)) => (h * 16 + l) as u8,
                    _ => {
                        return Err(err(at, 4, "`\\x` must be followed by two hex digits"));
                    }
                };
                if !bytes_mode && value > 0x7f {
                    return Err(err(
                        at,
                        4,
                        "`\\x` in a string must be ASCII (at most `\\x7f`); use a bytes literal `b\"…\"` for other bytes",
                    ));
                }
                emit(Piece::Byte(value));
            }
            other => {
                return Err(err(
                    at,
                    1 + other.len_utf8(),
                    format!(
                        "unknown escape `\\{other}` (known: \\n \\t \\r \\0 \\\\ \\\" \\' \\xNN)"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Decodes a string token `"…"` (quotes included).
pub fn string(token: &str) -> Result<String, LiteralError> {
    let body = token
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .ok_or_else(|| err(0, token.len(), "unterminated string"))?;
    let mut out = String::with_capacity(body.len());
    walk(body, 1, false, |p| match p {
        Piece::Char(c) => out.push(c),
        Piece::Byte(b) => out.push(char::from(b)),
    })?;
    Ok(out)
}

/// Decodes a bytes token `b"…"` (prefix and quotes included).
pub fn bytes(token: &str) -> Result<Vec<u8>, LiteralError> {
    let body = token
        .strip_prefix("b\"")
        .and_then(|t| t.strip_suffix('"'))
        .ok_or_else(|| err(0, token.len(), "unterminated bytes literal"))?;
    let mut out = Vec::with_capacity(body.len());
    walk(body, 2, true, |p| match p {
        Piece::Char(c) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        Piece::Byte(b) => out.push(b),
    })?;
    Ok(out)
}

/// Decodes an address: `10.0.0.1`, or the text of `ip"…"`.
pub fn ip(text: &str) -> Result<IpAddr, LiteralError> {
    text.parse::<IpAddr>().map_err(|_| {
        err(
            0,
            text.len(),
            format!("`{text}` is not a valid IPv4 or IPv6 address"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_units_and_overflow() {
        assert_eq!(number("42"), Ok(Number::Int(42)));
        assert_eq!(number("-3"), Ok(Number::Int(-3)));
        assert_eq!(number("0x1F"), Ok(Number::Int(31)));
        assert_eq!(number("1_000"), Ok(Number::Int(1000)));
        assert_eq!(number("2.5e3"), Ok(Number::Float(2500.0)));
        assert_eq!(number("50ms"), Ok(Number::Float(0.05)));
        assert_eq!(number("1s"), Ok(Number::Float(1.0)));
        assert_eq!(number("10us"), Ok(Number::Float(10.0 * 1e-6)));
        assert_eq!(number("-9223372036854775808"), Ok(Number::Int(i64::MIN)));
        let e = number("9223372036854775808").unwrap_err();
        assert!(e.message.contains("64-bit"), "{}", e.message);
        assert!(number("1e999").is_err());
    }

    #[test]
    fn strings_and_bytes_decode_escapes() {
        assert_eq!(string(r#""a\tb\"c""#).as_deref(), Ok("a\tb\"c"));
        assert_eq!(string("\"é\"").as_deref(), Ok("é"));
        assert_eq!(bytes(r#"b"\x00\xffA""#), Ok(vec![0, 255, b'A']));
        let e = string(r#""ab\q""#).unwrap_err();
        assert_eq!((e.offset, e.len), (3, 2));
        let e = string(r#""\xff""#).unwrap_err();
        assert!(e.message.contains("ASCII"));
        let e = bytes(r#"b"\x4""#).unwrap_err();
        assert_eq!(e.offset, 2);
    }

    #[test]
    fn addresses() {
        assert_eq!(
            ip("10.0.0.1").map(|a| a.to_string()).as_deref(),
            Ok("10.0.0.1")
        );
        assert!(ip("2001:db8::1").is_ok());
        assert!(ip("300.1.1.1").is_err());
    }
}
