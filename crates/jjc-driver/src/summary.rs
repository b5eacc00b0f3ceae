//! What a run did, for the one-line summary on stderr.

use std::fmt;

/// Counts and warnings of a finished run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunSummary {
    /// Captures read.
    pub captures: usize,
    /// Records read from the captures.
    pub records: u64,
    /// IP packets decoded and given to the flow table.
    pub packets: u64,
    /// Frames skipped, by reason (only reasons that occurred), in a fixed order.
    pub skipped: Vec<(&'static str, u64)>,
    /// Flows written.
    pub flows: u64,
    /// Damaged captures: one message per capture, naming the file and byte offset.
    pub damage: Vec<String>,
    /// Other remarks (skipped files in folders, carried time fractions, …).
    pub notes: Vec<String>,
}

impl RunSummary {
    /// Adds `n` frames skipped for `reason`.
    pub(crate) fn add_skipped(&mut self, reason: &'static str, n: u64) {
        if n == 0 {
            return;
        }
        match self.skipped.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, c)) => *c += n,
            None => self.skipped.push((reason, n)),
        }
    }

    /// Adds what one capture of the run read, skipped and found damaged (`part`'s captures
    /// and flows are counted apart), as if it were read after the ones already here.
    pub(crate) fn absorb(&mut self, part: RunSummary) {
        self.records += part.records;
        self.packets += part.packets;
        for (reason, n) in part.skipped {
            self.add_skipped(reason, n);
        }
        self.damage.extend(part.damage);
        self.notes.extend(part.notes);
    }

    /// Total frames skipped.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.iter().map(|(_, n)| n).sum()
    }
}

impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: u64, one: &str, many: &str| {
            format!("{} {}", group_digits(n), if n == 1 { one } else { many })
        };
        write!(
            f,
            "{}, {}, {}",
            plural(self.captures as u64, "capture", "captures"),
            plural(self.packets, "IP packet", "IP packets"),
            plural(self.flows, "flow", "flows"),
        )?;
        if !self.skipped.is_empty() {
            let reasons: Vec<String> = self
                .skipped
                .iter()
                .map(|(r, n)| format!("{} {r}", group_digits(*n)))
                .collect();
            write!(
                f,
                "; {} frames skipped ({})",
                group_digits(self.skipped_total()),
                reasons.join(", ")
            )?;
        }
        Ok(())
    }
}

/// `1234567` → `1,234,567`.
pub(crate) fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_grouped() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(1234567), "1,234,567");
    }

    #[test]
    fn summary_line_names_skip_reasons() {
        let mut s = RunSummary {
            captures: 1,
            packets: 1,
            flows: 2,
            ..Default::default()
        };
        s.add_skipped("non_ip", 3);
        s.add_skipped("non_ip", 2);
        assert_eq!(
            s.to_string(),
            "1 capture, 1 IP packet, 2 flows; 5 frames skipped (5 non_ip)"
        );
    }
}
