//! The output formats and how they are named.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// The format of an output table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// Comma-separated values with a header line (RFC 4180 quoting, `\n` line ends);
    /// non-finite floats are written `nan`, `inf` and `-inf`, as Python reads them.
    #[default]
    Csv,
    /// One JSON object per line, keys in column order; floats always carry a `.` or an
    /// exponent, and non-finite floats (which JSON cannot express) are written `null`.
    JsonLines,
    /// Apache Parquet, Snappy-compressed (needs the `parquet` cargo feature).
    Parquet,
}

/// A format name that is none of `csv`, `jsonl`/`json`/`ndjson`, `parquet`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown output format `{0}` (expected csv, jsonl or parquet)")]
pub struct UnknownFormat(pub String);

impl Format {
    /// The format a file name's extension implies: `.csv`, `.jsonl`/`.json`/`.ndjson`,
    /// `.parquet` (case-insensitive); `None` for anything else.
    pub fn from_extension(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?;
        Format::from_name(ext)
    }

    fn from_name(name: &str) -> Option<Format> {
        const NAMES: [(&str, Format); 5] = [
            ("csv", Format::Csv),
            ("jsonl", Format::JsonLines),
            ("json", Format::JsonLines),
            ("ndjson", Format::JsonLines),
            ("parquet", Format::Parquet),
        ];
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, f)| f)
    }
}

impl FromStr for Format {
    type Err = UnknownFormat;

    /// Parses `csv`, `jsonl`, `json`, `ndjson` or `parquet` (case-insensitive).
    fn from_str(s: &str) -> Result<Format, UnknownFormat> {
        Format::from_name(s).ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Csv => "csv",
            Format::JsonLines => "jsonl",
            Format::Parquet => "parquet",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print() {
        assert_eq!("csv".parse::<Format>(), Ok(Format::Csv));
        assert_eq!("JSON".parse::<Format>(), Ok(Format::JsonLines));
        assert_eq!("ndjson".parse::<Format>(), Ok(Format::JsonLines));
        assert_eq!("jsonl".parse::<Format>(), Ok(Format::JsonLines));
        assert_eq!("parquet".parse::<Format>(), Ok(Format::Parquet));
        assert_eq!("xlsx".parse::<Format>(), Err(UnknownFormat("xlsx".into())));
        for f in [Format::Csv, Format::JsonLines, Format::Parquet] {
            assert_eq!(f.to_string().parse::<Format>(), Ok(f));
        }
        assert_eq!(Format::JsonLines.to_string(), "jsonl");
    }

    #[test]
    fn extensions() {
        let ext = |p: &str| Format::from_extension(Path::new(p));
        assert_eq!(ext("out/flows.csv"), Some(Format::Csv));
        assert_eq!(ext("flows.CSV"), Some(Format::Csv));
        assert_eq!(ext("flows.jsonl"), Some(Format::JsonLines));
        assert_eq!(ext("flows.json"), Some(Format::JsonLines));
        assert_eq!(ext("flows.ndjson"), Some(Format::JsonLines));
        assert_eq!(ext("flows.parquet"), Some(Format::Parquet));
        assert_eq!(ext("flows.txt"), None);
        assert_eq!(ext("flows"), None);
        assert_eq!(ext("csv"), None);
    }
}
