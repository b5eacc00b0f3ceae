//! `jjc-synth`: writes a realistic synthetic pcap capture.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use jjc_synth::{DEFAULT_FLOW_RATE, DEFAULT_START_TIME, SynthConfig, write_capture};

/// Generate a realistic synthetic capture (classic pcap or pcapng, Ethernet, µs timestamps).
///
/// The same options always give the same bytes.
#[derive(Debug, Parser)]
#[command(name = "jjc-synth", version)]
struct Args {
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of packets to write [default: 10000 unless --size is given].
    #[arg(long, conflicts_with = "size")]
    packets: Option<u64>,
    /// Approximate file size: a number with an optional K, M or G suffix (powers of 1024;
    /// `KB`, `MiB`… also accepted), e.g. `100M`.
    #[arg(long, value_parser = parse_size)]
    size: Option<u64>,
    /// Tag no flow with a VLAN.
    #[arg(long)]
    no_vlan: bool,
    /// Churn mode: N flows open at once, each answered 30 s later (one round of 2×N
    /// packets unless --packets or --size asks for more rounds).
    #[arg(long, value_name = "N")]
    concurrent_flows: Option<usize>,
    /// Time of the first packet, seconds since the epoch.
    #[arg(long, default_value_t = DEFAULT_START_TIME)]
    start_time: f64,
    /// New flows per second of capture time.
    #[arg(long, default_value_t = DEFAULT_FLOW_RATE)]
    flow_rate: f64,
    /// Write pcapng (one interface, enhanced packet blocks) instead of classic pcap.
    #[arg(long)]
    pcapng: bool,
    /// Output file (`-` for standard output).
    #[arg(short, long, value_name = "OUT.pcap")]
    output: PathBuf,
}

/// Parses `123`, `64K`, `100M`, `1G`, `100MB`, `2GiB` (powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, suffix) = t.split_at(digits);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as 100M"))?;
    let shift = match suffix.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => return Err(format!("unknown size suffix `{suffix}` (use K, M or G)")),
    };
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = SynthConfig {
        seed: args.seed,
        target_packets: args.packets,
        target_bytes: args.size,
        vlan: !args.no_vlan,
        concurrent_flows: args.concurrent_flows,
        start_time: args.start_time,
        flow_rate: args.flow_rate,
        pcapng: args.pcapng,
    };
    let result = if args.output.as_os_str() == "-" {
        write_capture(&config, io::stdout().lock())
    } else {
        File::create(&args.output).and_then(|f| write_capture(&config, f))
    };
    match result {
        Ok(s) => {
            eprintln!(
                "jjc-synth: packets: {} flows: {} bytes: {} seed: {} -> {}",
                s.packets,
                s.flows,
                s.bytes,
                args.seed,
                args.output.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("jjc-synth: error: {}: {e}", args.output.display());
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("123"), Ok(123));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("100M"), Ok(100 << 20));
        assert_eq!(parse_size("100mb"), Ok(100 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert!(parse_size("12X").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("99999999999G").is_err());
    }

    #[test]
    fn arguments_parse() {
        let a = Args::try_parse_from(["jjc-synth", "--seed", "7", "--size", "1M", "-o", "x.pcap"])
            .unwrap();
        assert_eq!((a.seed, a.size, a.packets), (7, Some(1 << 20), None));
        assert!(
            Args::try_parse_from(["jjc-synth", "--packets", "5", "--size", "1M", "-o", "x"])
                .is_err()
        );
        assert!(
            Args::try_parse_from(["jjc-synth"]).is_err(),
            "-o is required"
        );
    }
}
