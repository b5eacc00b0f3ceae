//! The seed guide's four extractors written by hand in Rust, as a baseline for the compiled
//! `.jjf` kernels: the same features, the same semantics, no language in between.

use jjc_abi::{PacketView, Value};
use jjc_flow::{FlowHandler, FlowRecord};
use regex_automata::meta::Regex;
use regex_automata::util::syntax;

/// Per-flow state of the hand-written seed features.
#[derive(Debug, Default, Clone)]
pub struct SeedState {
    patterns: u8,
    first_payload: i64,
    last_ts: Option<f64>,
    // Moments of the inter-arrival times (Welford / Terriberry).
    n: f64,
    sum: f64,
    mean: f64,
    m2: f64,
    m3: f64,
    m4: f64,
    bursts: i64,
    // Moments of the payload lengths.
    pn: f64,
    psum: f64,
    pmean: f64,
    pm2: f64,
}

/// The hand-written seed features.
pub struct HandSeed {
    patterns: [Regex; 4],
}

impl Default for HandSeed {
    fn default() -> Self {
        let re = |p: &str| {
            Regex::builder()
                .syntax(syntax::Config::new().unicode(false).utf8(false))
                .build(p)
                .expect("a valid pattern")
        };
        HandSeed {
            patterns: [
                re(r"^(GET|POST|PUT|DELETE|HEAD)\s"),
                re(r"^HTTP/\d\.\d\s\d{3}"),
                re(r"^SSH-\d\.\d"),
                re(r"^220\s"),
            ],
        }
    }
}

fn game(port: u16) -> Option<&'static str> {
    match port {
        27015 => Some("source_engine"),
        3478 => Some("stun"),
        3074 => Some("xbox_live"),
        3658 => Some("playstation"),
        _ => None,
    }
}

impl FlowHandler for HandSeed {
    type State = SeedState;

    fn start(&mut self, _: &FlowRecord, _: &mut [u64]) -> SeedState {
        SeedState::default()
    }

    #[inline]
    fn update(&mut self, s: &mut SeedState, _: &mut [u64], _: &FlowRecord, pkt: &PacketView<'_>) {
        let payload = pkt.payload();
        if !payload.is_empty() {
            if s.first_payload == 0 {
                s.first_payload = payload.len() as i64;
            }
            let head = &payload[..payload.len().min(100)];
            for (i, re) in self.patterns.iter().enumerate() {
                if s.patterns & (1 << i) == 0 && re.is_match(head) {
                    s.patterns |= 1 << i;
                }
            }
        }
        if let Some(prev) = s.last_ts {
            let x = pkt.ts - prev;
            let n1 = s.n;
            s.n += 1.0;
            s.sum += x;
            let delta = x - s.mean;
            let dn = delta / s.n;
            let dn2 = dn * dn;
            let t1 = delta * dn * n1;
            s.mean += dn;
            s.m4 += t1 * dn2 * (s.n * s.n - 3.0 * s.n + 3.0) + 6.0 * dn2 * s.m2 - 4.0 * dn * s.m3;
            s.m3 += t1 * dn * (s.n - 2.0) - 3.0 * dn * s.m2;
            s.m2 += t1;
            if x < 0.05 {
                s.bursts += 1;
            }
        }
        s.last_ts = Some(pkt.ts);
        let p = f64::from(pkt.payload_len);
        s.pn += 1.0;
        s.psum += p;
        let d = p - s.pmean;
        s.pmean += d / s.pn;
        s.pm2 += d * (p - s.pmean);
    }
}

impl HandSeed {
    /// Appends the 19 seed feature values of a finished flow to `row`.
    pub fn finish(&self, s: &SeedState, r: &FlowRecord, row: &mut Vec<Value>) {
        let gaps = s.n;
        let mean = if gaps > 0.0 { s.sum / gaps } else { 0.0 };
        let var = if gaps > 0.0 { s.m2 / gaps } else { 0.0 };
        let std = var.sqrt();
        let skew = if gaps < 3.0 || var == 0.0 {
            0.0
        } else {
            (s.m3 / gaps) / var.powf(1.5)
        };
        let kurt = if gaps < 4.0 || var == 0.0 {
            0.0
        } else {
            (s.m4 / gaps) / (var * var) - 3.0
        };
        let g = game(r.dst_port).or_else(|| game(r.src_port));
        let is_game = g.is_some();
        let pmean = if s.pn > 0.0 { s.psum / s.pn } else { 0.0 };
        row.extend([
            Value::Int(r.total_packets() as i64),
            Value::Int(r.total_bytes() as i64),
            Value::Float(r.duration()),
            Value::Bool(s.patterns & 1 != 0),
            Value::Bool(s.patterns & 2 != 0),
            Value::Bool(s.patterns & 4 != 0),
            Value::Bool(s.patterns & 8 != 0),
            Value::Int(s.first_payload),
            Value::Float(mean),
            Value::Float(std),
            Value::Float(skew),
            Value::Float(kurt),
            Value::Int(s.bursts),
            Value::Float(if gaps > 0.0 {
                s.bursts as f64 / gaps
            } else {
                0.0
            }),
            Value::Bool(is_game),
            Value::Str(g.unwrap_or("").to_string()),
            Value::Float(if is_game && mean > 0.0 {
                1.0 / mean
            } else {
                0.0
            }),
            Value::Float(if is_game { pmean } else { 0.0 }),
            Value::Float(if is_game && s.pn > 0.0 {
                s.pm2 / s.pn
            } else {
                0.0
            }),
        ]);
    }
}
