//! Mutated valid programs never make the checker panic, and every diagnostic it returns
//! points into the file.

use std::path::PathBuf;

use jjc_sema::Library;
use proptest::prelude::*;

fn seeds() -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = Vec::new();
    for dir in ["tests/jjf/valid", "features/examples"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .expect("seed folder")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "jjf"))
            .collect();
        files.sort();
        out.extend(
            files
                .iter()
                .map(|f| std::fs::read_to_string(f).expect("seed")),
        );
    }
    out
}

/// Tokens worth inserting: brackets, operators, keywords, odd characters.
const TOKENS: &[&str] = &[
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    "=",
    "==",
    "??",
    ".",
    ":",
    "~",
    "\"",
    "b\"",
    "#",
    "let ",
    "if ",
    " then ",
    " else ",
    "where ",
    "features ",
    "table ",
    "pattern ",
    "test ",
    "none",
    "pkt.",
    "flow.",
    "mean(",
    "seq(",
    "hist(",
    "prev(",
    "1e999",
    "99999999999999999999",
    "→",
    "\u{0}",
    "é",
    "-",
    "not ",
    "0x",
    "..",
    "=>",
    "\\",
    "'",
];

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Insert(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, t)| Mutation::Insert(at, t)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<&str> = text.split('\n').collect();
    let n = lines.len().max(1);
    match *m {
        Mutation::DeleteLine(i) => {
            if !lines.is_empty() {
                lines.remove(i % n);
            }
            lines.join("\n")
        }
        Mutation::DuplicateLine(i) => {
            if let Some(l) = lines.get(i % n).copied() {
                lines.insert(i % n, l);
            }
            lines.join("\n")
        }
        Mutation::SwapLines(a, b) => {
            if !lines.is_empty() {
                lines.swap(a % n, b % n);
            }
            lines.join("\n")
        }
        Mutation::Insert(at, t) => {
            let mut at = at % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            format!("{}{}{}", &text[..at], TOKENS[t], &text[at..])
        }
        Mutation::Truncate(at) => {
            let mut at = at % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text[..at].to_string()
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn mutated_programs_give_located_diagnostics(
        seed in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let seeds = seeds();
        let mut text = seeds[seed.index(seeds.len())].clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        let (lib, diags) = Library::from_bytes("mutant.jjf", text.clone().into_bytes());
        for d in diags.iter() {
            let span = d.span();
            prop_assert!(span.is_some(), "unlocated: {:?}", d);
            let span = span.unwrap_or_default();
            prop_assert!(lib.sources.get(span.file).is_some());
            prop_assert!(span.start <= span.end && span.end as usize <= text.len(), "{:?} outside {} bytes", d, text.len());
            // Rendering never panics either.
            let _ = jjc_syntax::render_human(d, &lib.sources, false);
            let _ = jjc_syntax::render_json(d, &lib.sources);
        }
    }
}

#[test]
fn hostile_inputs_are_located_diagnostics() {
    let cases: Vec<(&str, String)> = vec![
        (
            "parens",
            format!(
                "features g {{ n = {}1{} }}",
                "(".repeat(10_000),
                ")".repeat(10_000)
            ),
        ),
        (
            "ifs",
            format!(
                "features g {{ n = {}1{} }}",
                "if true then ".repeat(10_000),
                " else 0".repeat(10_000)
            ),
        ),
        (
            "nots",
            format!("features g {{ n = any({}pkt.syn) }}", "not ".repeat(10_000)),
        ),
        (
            "negs",
            format!("features g {{ n = {}count() }}", "- ".repeat(10_000)),
        ),
        (
            "coalesce",
            format!(
                "features g {{ n = {}0 }}",
                "first(pkt.len) ?? ".repeat(5_000)
            ),
        ),
        (
            "long_line",
            format!(
                "features g {{ s = if any(pkt.syn) then \"{}\" else 0 }}",
                "x".repeat(1 << 20)
            ),
        ),
        (
            "long_name",
            format!("features g {{ n = {} }}", "a".repeat(1 << 20)),
        ),
        ("braces", "{".repeat(100_000)),
        ("closers", "}".repeat(100_000)),
        (
            "lets",
            (0..3000)
                .map(|i| format!("let a{} = a{} + 1\n", i + 1, i))
                .collect::<String>(),
        ),
    ];
    for (name, text) in cases {
        let (lib, diags) = Library::from_bytes(name, text.clone().into_bytes());
        assert!(!diags.is_empty(), "{name}: expected a diagnostic");
        for d in diags.iter() {
            let span = d.span().expect("located");
            assert!(span.end as usize <= text.len(), "{name}");
            // Long lines are cut around the annotation, not printed whole.
            let rendered = jjc_syntax::render_human(d, &lib.sources, false);
            assert!(
                rendered.len() < 20_000,
                "{name}: {} bytes rendered",
                rendered.len()
            );
        }
    }
}

#[test]
fn a_long_chain_of_lets_is_checked_without_deep_recursion() {
    let mut text = String::from("features g {\n    let a0 = count()\n");
    for i in 0..5000 {
        text.push_str(&format!("    let a{} = a{} + 1\n", i + 1, i));
    }
    text.push_str("    n = a5000\n}\n");
    let (_, diags) = Library::from_bytes("chain.jjf", text.into_bytes());
    assert!(diags.is_empty(), "{:?}", diags.iter().next());
}
