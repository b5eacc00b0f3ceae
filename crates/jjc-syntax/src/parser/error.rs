//! Turning a pest error into a readable syntax diagnostic.

use std::collections::BTreeSet;

use pest::error::{Error, ErrorVariant, InputLocation};

use super::Rule;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::nesting::{BracketProblem, MAX_NESTING};
use crate::span::{FileId, Span};

/// Literal tokens worth naming in "expected …" (others are parts of words or whitespace).
const PUNCTUATION: &[&str] = &[
    "{", "}", "(", ")", "[", "]", "=", ",", ":", "=>", "->", "==", "..", "..=", "|", ".",
];

/// How a rule is named in "expected …" lists; `None` leaves it out.
fn describe(rule: Rule) -> Option<&'static str> {
    use Rule::*;
    Some(match rule {
        identifier | type_name => "a name",
        number | signed_number => "a number",
        string | doc => "a string",
        bytes => "a bytes literal `b\"…\"`",
        expression | postfixed | paren | list | conditional | call | ipv4 | ip_text | true_lit
        | false_lit | none_lit | neg | not | kw_if => "an expression",
        coalesce | or | and | eq | ne | le | ge | lt | gt | shl | shr | matches_op | bit_or
        | bit_xor | bit_and | add | sub | mul | int_div | div | rem => "an operator",
        field | subscript => "`.` or `[`",
        kw_features | group => "`features`",
        kw_let | let_binding => "`let`",
        kw_use | use_decl => "`use`",
        kw_table | table => "`table`",
        kw_pattern | pattern => "`pattern`",
        kw_const | constant => "`const`",
        kw_test | test => "`test`",
        kw_expect | expectation => "`expect`",
        kw_then => "`then`",
        kw_else => "`else`",
        kw_where | filter => "`where`",
        feature => "a feature definition",
        table_entry | key_range | key_literal => "a table key",
        range_op => "`..` or `..=`",
        flow_block | flow_word => "`flow`",
        packet_block | packet_word => "`packet`",
        flow_setting | packet_setting => "a setting",
        protocol_name => "`tcp`, `udp`, `icmp` or `sctp`",
        setting_value | flag_list => "a value",
        endpoint => "an address and port such as `10.0.0.1:80`",
        ipv6_text => "an IPv6 address",
        colon => "`:`",
        EOI => "end of file",
        file => "an item (`features`, `table`, `pattern`, `const` or `test`)",
        _ => return None,
    })
}

/// A short description of what is at `pos`.
fn found(text: &str, pos: usize) -> String {
    let rest = text.get(pos..).unwrap_or("");
    let Some(c) = rest.chars().next() else {
        return "end of file".to_string();
    };
    if c.is_ascii_alphanumeric() || c == '_' {
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(24)
            .collect();
        format!("`{word}`")
    } else if c == '\n' || c == '\r' {
        "end of line".to_string()
    } else if c.is_control() || !c.is_ascii() {
        format!("character {:?} (U+{:04X})", c, c as u32)
    } else {
        format!("`{c}`")
    }
}

fn join(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

/// Converts a pest error at `file` into an `E0001` (or `E0002`) diagnostic.
pub(super) fn from_pest(
    file: FileId,
    text: &str,
    e: &Error<Rule>,
    brackets: Option<&BracketProblem>,
) -> Diagnostic {
    let pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((a, _)) => a,
    };
    let width = text
        .get(pos..)
        .and_then(|r| r.chars().next())
        .map_or(0, char::len_utf8);
    let span = Span::new(file, pos, pos + width);
    if let ErrorVariant::CustomError { message } = &e.variant {
        if message.contains("limit") {
            return Diagnostic::new(
                codes::TOO_DEEP,
                format!("nesting deeper than {MAX_NESTING} levels"),
                span,
                "nested too deeply here",
            )
            .with_help("split the expression into several `let`s");
        }
        return Diagnostic::new(codes::SYNTAX, message.clone(), span, "here");
    }
    let mut expected: BTreeSet<String> = BTreeSet::new();
    if let ErrorVariant::ParsingError { positives, .. } = &e.variant {
        expected.extend(
            positives
                .iter()
                .filter_map(|r| describe(*r))
                .map(String::from),
        );
    }
    if let Some(attempts) = e.parse_attempts() {
        for t in attempts.expected_tokens() {
            // Only literal tokens (`}`, `=`…) are worth naming; the type is not exported,
            // so tell them apart by their debug form.
            let token = t.to_string();
            if format!("{t:?}").starts_with("Sensitive") && PUNCTUATION.contains(&token.as_str()) {
                expected.insert(format!("`{token}`"));
            }
        }
    }
    // An expression can be followed by an operator or a subscript, and starts with
    // brackets; saying so adds noise.
    if expected.len() > 1 {
        let noisy = expected.contains("an operator") || expected.contains("an expression");
        expected.remove("an operator");
        expected.remove("`.` or `[`");
        if noisy {
            for t in ["`==`", "`|`", "`.`", "`[`", "`(`"] {
                expected.remove(t);
            }
        }
    }

    let expected: Vec<String> = expected.into_iter().collect();
    let found = found(text, pos);
    let message = if expected.is_empty() {
        format!("unexpected {found}")
    } else {
        format!("expected {}, found {found}", join(&expected))
    };
    let label = if expected.is_empty() {
        "unexpected here".to_string()
    } else {
        format!("expected {}", join(&expected))
    };
    let here = text.get(pos..).unwrap_or("");
    let unterminated = (here.starts_with('"') || here.starts_with("b\""))
        && !here
            .get(1..)
            .unwrap_or("")
            .trim_start_matches('"')
            .contains('"');
    let (message, label) = if unterminated {
        (
            "this string is never closed".to_string(),
            "the string starts here".to_string(),
        )
    } else {
        (message, label)
    };
    let mut d = Diagnostic::new(codes::SYNTAX, message, span, label);
    match brackets {
        Some(BracketProblem::Unclosed(opens)) => {
            if let Some(&at) = opens.last() {
                d = d.with_secondary(Span::new(file, at, at + 1), "this bracket is never closed");
            }
        }
        Some(BracketProblem::Mismatched(close, open)) => {
            let close_span = Span::new(file, *close, close + 1);
            d = match open {
                Some(at) => d
                    .with_secondary(Span::new(file, *at, at + 1), "this bracket is opened here")
                    .with_secondary(close_span, "but closed by a different bracket here"),
                None => d.with_secondary(close_span, "this bracket closes nothing"),
            };
        }
        _ => {}
    }
    let before = text.get(pos.saturating_sub(1)..).unwrap_or("");
    if here.starts_with(['\'', '`']) {
        d = d.with_help("strings are written in double quotes: \"text\"");
    } else if ["&&", "||"]
        .iter()
        .any(|op| here.starts_with(op) || before.starts_with(op))
    {
        d = d.with_help("write `and` and `or` for logic");
    } else if unterminated {
        d = d.with_help("add the closing `\"`");
    } else if here.starts_with(|c: char| c.is_ascii_digit())
        && here
            .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.')
            .starts_with(|c: char| c.is_ascii_alphabetic())
    {
        d = d.with_help("a number may end with a time unit: `s`, `ms`, `us` or `ns`");
    }
    d
}
