//! A pre-scan of bracket nesting, run before the parser so that absurd nesting is a
//! diagnostic instead of a deep recursion.

/// The deepest bracket nesting (and expression depth) a program may have.
pub const MAX_NESTING: usize = 256;

/// What the pre-scan found wrong with the brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BracketProblem {
    /// Nesting passed [`MAX_NESTING`] at this byte offset.
    TooDeep(usize),
    /// These opening brackets (offsets) are never closed.
    Unclosed(Vec<usize>),
    /// A closing bracket at the first offset does not match the opening one at the
    /// second (or closes nothing, when the second is `None`).
    Mismatched(usize, Option<usize>),
}

/// Scans `text` for brackets outside strings and comments.
///
/// Returns the first problem, if any. Linear time, no recursion.
pub fn scan(text: &str) -> Option<BracketProblem> {
    let bytes = text.as_bytes();
    let mut open: Vec<(u8, usize)> = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'#' => {
                while bytes.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
                continue;
            }
            b'"' => {
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    if c == b'\\' {
                        i += 2;
                        continue;
                    }
                    if c == b'"' {
                        break;
                    }
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => {
                open.push((b, i));
                if open.len() > MAX_NESTING {
                    return Some(BracketProblem::TooDeep(i));
                }
            }
            b')' | b']' | b'}' => {
                let want = match b {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                match open.pop() {
                    Some((o, _)) if o == want => {}
                    Some((_, at)) => return Some(BracketProblem::Mismatched(i, Some(at))),
                    None => return Some(BracketProblem::Mismatched(i, None)),
                }
            }
            _ => {}
        }
        i += 1;
    }
    if open.is_empty() {
        None
    } else {
        Some(BracketProblem::Unclosed(
            open.into_iter().map(|(_, at)| at).collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_text_passes_and_strings_are_skipped() {
        assert_eq!(scan("a { b(c[1]) } \"(\" # ({[\n"), None);
    }

    #[test]
    fn finds_depth_unclosed_and_mismatched() {
        let deep = "(".repeat(10_000);
        assert_eq!(scan(&deep), Some(BracketProblem::TooDeep(MAX_NESTING)));
        assert_eq!(scan("a { (b"), Some(BracketProblem::Unclosed(vec![2, 4])));
        assert_eq!(scan("{ ( }"), Some(BracketProblem::Mismatched(4, Some(2))));
        assert_eq!(scan("x }"), Some(BracketProblem::Mismatched(2, None)));
    }
}
