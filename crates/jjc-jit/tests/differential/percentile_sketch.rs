//! `--percentiles sketch`: the interpreter and the JIT agree on median/percentile kernels
//! lowered to the memory-bounded helpers, on flows long enough to leave the exact phase, and
//! both stay within α of exact mode on same-sign values.

use jjc_abi::{Direction, FlowView, PacketView, Value};
use jjc_jit::JitKernel;
use jjc_kernel::{Interpreter, Kernel, KernelOptions, PercentileMode, RelativeError};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::harness::{Flow, check, run_both};
use crate::packets::flow;

const PROGRAM: &str = r#"
features sketched "percentiles of every sign" {
    let iat = pkt.ts - prev(pkt.ts)
    len_median: float = median(pkt.len) ?? -1.0
    len_p10: float    = percentile(pkt.len, 10) ?? -1.0
    len_p90: float    = percentile(pkt.len, 90) ?? -1.0
    len_p99: float    = percentile(pkt.len, 99) ?? -1.0
    bwd_median: float = median(pkt.payload_len where pkt.dir == bwd) ?? -1.0
    iat_median: float = median(iat) ?? -1.0
    iat_p25: float    = percentile(iat, 25) ?? -1.0
    iat_p75: float    = percentile(iat, 75) ?? -1.0
    iat_p100: float   = percentile(iat, 100) ?? -1.0
}
"#;

/// Columns over values that are never negative: sketch within α of exact.
const SAME_SIGN: [&str; 5] = ["len_median", "len_p10", "len_p90", "len_p99", "bwd_median"];

fn kernel(mode: PercentileMode) -> Kernel {
    let lib = match check(PROGRAM) {
        Ok(lib) => lib,
        Err(e) => panic!("{e}"),
    };
    let groups = lib.groups_from(&jjc_sema::FileOrigin::File);
    let options = KernelOptions { percentiles: mode };
    match jjc_kernel::compile_with(&lib.program, &groups, &options) {
        Ok(k) => k,
        Err(e) => panic!("{e}"),
    }
}

fn sketch(alpha: f64) -> PercentileMode {
    match RelativeError::new(alpha) {
        Ok(a) => PercentileMode::Sketch(a),
        Err(e) => panic!("{e}"),
    }
}

/// Runs `flow` through both backends of `kernel` (checking they agree) and returns the row.
fn row(kernel: &Kernel, flow: &Flow<'_>) -> Result<Vec<f64>, String> {
    let mut jit = JitKernel::compile(kernel).map_err(|e| e.to_string())?;
    let mut interp = Interpreter::new(kernel);
    let values = run_both(kernel, &mut interp, &mut jit, flow)?;
    Ok(values
        .iter()
        .map(|v| match v {
            Value::Float(x) => *x,
            _ => f64::NAN,
        })
        .collect())
}

/// Same-sign columns of the sketch row are within α of the exact row.
fn within_alpha(
    kernel: &Kernel,
    exact: &[f64],
    sketched: &[f64],
    alpha: f64,
) -> Result<(), String> {
    for (i, col) in kernel.columns().iter().enumerate() {
        let (Some(e), Some(s)) = (exact.get(i), sketched.get(i)) else {
            return Err(format!("missing column {}", col.name));
        };
        if SAME_SIGN.contains(&col.name.as_str()) && (s - e).abs() > alpha * e.abs() * (1.0 + 1e-9)
        {
            return Err(format!("{}: sketch {s}, exact {e}", col.name));
        }
    }
    Ok(())
}

/// A long flow: lengths spread over 40..1540, payload lengths over 0..1460, times with
/// steps from 1 µs to 2 s and a few going backwards (negative IATs).
fn long_flow(n: u32) -> (Vec<PacketView<'static>>, FlowView) {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut ts = 1.7e9;
    let mut packets = Vec::with_capacity(n as usize);
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut p = PacketView::default();
        let u = (x >> 11) as f64 / (1u64 << 53) as f64;
        ts += if i % 97 == 5 {
            -0.25 * u
        } else {
            1e-6 * 2e6f64.powf(u)
        };
        p.ts = ts;
        p.len = 40 + (x % 1501) as u32;
        p.payload_len = ((x >> 20) % 1461) as u32;
        p.dir = if x & 1 == 0 {
            Direction::Fwd
        } else {
            Direction::Bwd
        };
        packets.push(p);
    }
    let view = FlowView {
        start_time: packets.first().map_or(0.0, |p| p.ts),
        end_time: ts,
        packet_count: i64::from(n),
        src_port: 1,
        dst_port: 2,
        protocol: 6,
        ip_version: 4,
        ..FlowView::default()
    };
    (packets, view)
}

#[test]
fn both_backends_agree_on_long_flows_and_stay_within_alpha() {
    let exact = kernel(PercentileMode::Exact);
    for alpha in [0.01, 0.001, 0.1] {
        let k = kernel(sketch(alpha));
        for n in [100, 128, 129, 5_000, 50_000] {
            let (packets, view) = long_flow(n);
            let flow = Flow { packets, view };
            let s = row(&k, &flow).unwrap_or_else(|e| panic!("α={alpha} n={n}: {e}"));
            let e = row(&exact, &flow).unwrap_or_else(|e| panic!("exact n={n}: {e}"));
            if n <= 128 {
                // One buffer per stream; the iat stream has n − 1 values.
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&s), bits(&e), "α={alpha} n={n}: exact phase");
            } else {
                within_alpha(&k, &e, &s, alpha).unwrap_or_else(|m| panic!("α={alpha} n={n}: {m}"));
                assert_ne!(s, e, "α={alpha} n={n}: the sketch estimates");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn both_backends_agree_on_random_long_flows(flows in vec(flow(2500), 1..3)) {
        let exact = kernel(PercentileMode::Exact);
        let alpha = 0.01;
        let k = kernel(sketch(alpha));
        for f in &flows {
            let flow = f.flow();
            let s = row(&k, &flow).map_err(TestCaseError::fail)?;
            let e = row(&exact, &flow).map_err(TestCaseError::fail)?;
            within_alpha(&k, &e, &s, alpha).map_err(TestCaseError::fail)?;
        }
    }
}
