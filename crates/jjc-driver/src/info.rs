//! `jjc info`: what a capture holds, read and decoded but not assembled into flows.

use std::fmt;

use jjc_decode::{DecodeConfig, Decoder, is_supported_link_type, link_type_name};

use crate::error::PipelineError;
use crate::inputs::Input;
use crate::summary::group_digits;

/// One interface of a capture.
#[derive(Debug, Clone, PartialEq)]
pub struct InterfaceInfo {
    /// pcapng section number (0 for classic pcap).
    pub section: u32,
    /// Interface id within its section.
    pub index: u32,
    /// Link type number.
    pub link_type: u32,
    /// Time units per second (1e6 for microseconds).
    pub units_per_second: f64,
    /// Snapshot length (0 if unset).
    pub snaplen: u32,
}

/// What `jjc info` reports about one capture.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureInfo {
    /// The capture's name.
    pub name: String,
    /// Its format, e.g. `pcapng`.
    pub format: String,
    /// Its bytes (file size when known, else bytes read).
    pub bytes: u64,
    /// Its interfaces.
    pub interfaces: Vec<InterfaceInfo>,
    /// Records read.
    pub records: u64,
    /// Records whose captured length is below their length on the wire (snaplen).
    pub truncated_records: u64,
    /// Earliest and latest record time, if any record.
    pub time_span: Option<(f64, f64)>,
    /// IP packets decoded.
    pub packets: u64,
    /// IP fragments among them.
    pub fragments: u64,
    /// Frames skipped, by reason.
    pub skipped: Vec<(&'static str, u64)>,
    /// Where and why reading stopped early.
    pub damage: Option<String>,
}

/// Reads and decodes every record of `input` (the read+decode floor of a run).
pub fn capture_info(input: &Input) -> Result<CaptureInfo, PipelineError> {
    let mut reader = match input {
        Input::File(p) => jjc_capture::CaptureReader::open(p)?,
        Input::Stdin => jjc_capture::CaptureReader::from_stream("-", Box::new(std::io::stdin()))?,
    };
    let mut decoder = Decoder::new(DecodeConfig::default());
    let mut packets = 0u64;
    let (mut records, mut truncated) = (0u64, 0u64);
    let mut span: Option<(f64, f64)> = None;
    while let Some(rec) = reader.next_record()? {
        records += 1;
        if (rec.data.len() as u64) < u64::from(rec.orig_len) {
            truncated += 1;
        }
        span = Some(match span {
            None => (rec.ts, rec.ts),
            Some((lo, hi)) => (lo.min(rec.ts), hi.max(rec.ts)),
        });
        decoder.decode(rec.link_type, rec.ts, rec.data, rec.orig_len, &mut |_| {
            packets += 1
        });
    }
    decoder.finish(&mut |_| packets += 1);
    let interfaces = reader
        .interfaces()
        .iter()
        .map(|i| InterfaceInfo {
            section: i.section,
            index: i.index_in_section,
            link_type: i.link_type,
            units_per_second: i.units_per_second,
            snaplen: i.snaplen,
        })
        .collect();
    Ok(CaptureInfo {
        name: reader.name().to_string(),
        format: reader.format().to_string(),
        bytes: reader.total_bytes().unwrap_or_else(|| reader.bytes_read()),
        interfaces,
        records,
        truncated_records: truncated,
        time_span: span,
        packets,
        fragments: decoder.stats().fragments,
        skipped: decoder.stats().iter_skipped().collect(),
        damage: reader.damage().map(|d| d.to_string()),
    })
}

fn resolution(units: f64) -> String {
    match units {
        1e6 => "µs".into(),
        1e9 => "ns".into(),
        1e3 => "ms".into(),
        1.0 => "s".into(),
        u => format!("1/{u} s"),
    }
}

impl fmt::Display for CaptureInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.name)?;
        writeln!(f, "  format: {}", self.format)?;
        writeln!(f, "  bytes: {}", self.bytes)?;
        writeln!(f, "  interfaces: {}", self.interfaces.len())?;
        for i in &self.interfaces {
            let support = if is_supported_link_type(i.link_type) {
                ""
            } else {
                " (not decoded: skipped)"
            };
            writeln!(
                f,
                "    section {} interface {}: link type {} {}, {} timestamps, snaplen {}{support}",
                i.section,
                i.index,
                i.link_type,
                link_type_name(i.link_type),
                resolution(i.units_per_second),
                i.snaplen
            )?;
        }
        writeln!(f, "  records: {}", self.records)?;
        writeln!(
            f,
            "  truncated records (snaplen): {}",
            self.truncated_records
        )?;
        match self.time_span {
            Some((lo, hi)) => writeln!(f, "  time span: {lo} .. {hi} ({} s)", hi - lo)?,
            None => writeln!(f, "  time span: none (no records)")?,
        }
        writeln!(f, "  packets: {}", self.packets)?;
        writeln!(f, "  fragments: {}", self.fragments)?;
        let skipped: u64 = self.skipped.iter().map(|(_, n)| n).sum();
        write!(f, "  skipped frames: {}", group_digits(skipped))?;
        for (r, n) in &self.skipped {
            write!(f, "\n    {r}: {n}")?;
        }
        if let Some(d) = &self.damage {
            write!(f, "\n  damage: {d}")?;
        }
        Ok(())
    }
}
