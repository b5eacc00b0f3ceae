//! "Did you mean …?": the closest known name by edit distance.

/// Edit distance with adjacent transpositions (optimal string alignment), by characters.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

/// Names longer than this get no suggestion (keeps the work small on absurd input).
const MAX_SUGGESTED_LEN: usize = 64;

/// The candidate closest to `name`, if it is close enough to be a likely typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let len = name.chars().count();
    if len > MAX_SUGGESTED_LEN {
        return None;
    }
    let limit = (len / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| !c.is_empty() && *c != name)
        .map(|c| {
            // A name that extends a known one (`lenght` for `len`) is close too.
            let extends = c.len() >= 3 && (name.starts_with(c) || c.starts_with(name));
            let d = if c.len().abs_diff(name.len()) > limit && !extends {
                usize::MAX
            } else if extends {
                limit.min(distance(name, c))
            } else {
                distance(name, c)
            };
            (d, c)
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// Names users bring from other tools, and ours.
pub const ALIASES: &[(&str, &str)] = &[
    ("avg", "mean"),
    ("average", "mean"),
    ("stdev", "std"),
    ("stddev", "std"),
    ("variance", "var"),
    ("length", "len"),
    ("size", "len"),
    ("p", "percentile"),
    ("quantile", "percentile"),
    ("or_bits", "bit_or"),
    ("lag", "prev"),
];

/// `"did you mean `x`?"` for the closest candidate, if any.
pub fn help<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_close_names_only() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(closest("lenn", ["len", "ts", "payload_len"]), Some("len"));
        assert_eq!(
            closest("payload_ln", ["len", "payload_len"]),
            Some("payload_len")
        );
        assert_eq!(closest("zzz", ["len", "ts"]), None);
        assert_eq!(
            help("mena", ["mean", "max"]).as_deref(),
            Some("did you mean `mean`?")
        );
    }
}
