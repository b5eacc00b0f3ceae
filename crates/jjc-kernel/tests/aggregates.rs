//! Every aggregate, with filters, none skipping and empty flows, against values computed by
//! hand (numpy's where numpy defines them).

mod common;

use common::*;

/// Two-pass population moments, as JoyfulJay's Python computes them.
fn two_pass(v: &[f64]) -> (f64, f64, f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let std = var.sqrt();
    let skew = v.iter().map(|x| ((x - mean) / std).powi(3)).sum::<f64>() / n;
    let kurt = v.iter().map(|x| ((x - mean) / std).powi(4)).sum::<f64>() / n - 3.0;
    (mean, var, skew, kurt)
}

const STATS: &str = r#"
features s "stats" {
    n_all: int = count()
    n_fwd: int = count(where pkt.dir == fwd)
    n_syn: int = count(pkt.syn)
    total: int = sum(pkt.len)
    total_f: float = sum(pkt.ts)
    mean_len = mean(pkt.len)
    var_len = var(pkt.len)
    std_len = std(pkt.len)
    skew_len = skew(pkt.len)
    kurt_len = kurtosis(pkt.len)
    min_len = min(pkt.len)
    max_len = max(pkt.len)
    min_ts = min(pkt.ts where pkt.dir == bwd)
    first_len = first(pkt.len)
    last_len = last(pkt.len)
    second_len = nth(pkt.len, 1)
    tenth_len = nth(pkt.len, 10)
    first_bwd_ts = first(pkt.ts where pkt.dir == bwd)
    any_big: bool = any(pkt.len > 350)
    all_big: bool = all(pkt.len > 50)
    flags_or: int = bit_or(pkt.tcp_flags)
    mean_fwd = mean(pkt.len where pkt.dir == fwd)
}
"#;

fn stats_packets() -> Vec<P> {
    vec![
        pkt(0.0, F).len(100).flags(0x02),
        pkt(0.5, B).len(400).flags(0x12),
        pkt(1.25, F).len(60).flags(0x10),
        pkt(2.0, B).len(333).flags(0x18),
        pkt(3.0, F).len(200).flags(0x11),
    ]
}

#[test]
fn counts_sums_moments_extremes_and_positions() {
    let f = flow("10.0.0.1", 1000, "10.0.0.2", 80, 6);
    let row = run_on(STATS, &f, &stats_packets());
    assert_eq!(int(&row, "n_all"), 5);
    assert_eq!(int(&row, "n_fwd"), 3);
    assert_eq!(int(&row, "n_syn"), 2);
    assert_eq!(int(&row, "total"), 1093);
    assert_close(float(&row, "total_f"), 6.75);
    let lens = [100.0, 400.0, 60.0, 333.0, 200.0];
    let (mean, var, skew, kurt) = two_pass(&lens);
    assert_close(float(&row, "mean_len"), mean);
    assert!((float(&row, "var_len") - var).abs() <= 1e-9 * var);
    assert!((float(&row, "std_len") - var.sqrt()).abs() <= 1e-9 * var.sqrt());
    assert!((float(&row, "skew_len") - skew).abs() <= 1e-9);
    assert!((float(&row, "kurt_len") - kurt).abs() <= 1e-9);
    assert_eq!(int(&row, "min_len"), 60);
    assert_eq!(int(&row, "max_len"), 400);
    assert_close(float(&row, "min_ts"), 0.5);
    assert_eq!(int(&row, "first_len"), 100);
    assert_eq!(int(&row, "last_len"), 200);
    assert_eq!(int(&row, "second_len"), 400);
    assert_eq!(int(&row, "tenth_len"), 0);
    assert_close(float(&row, "first_bwd_ts"), 0.5);
    assert!(boolean(&row, "any_big"));
    assert!(boolean(&row, "all_big"));
    assert_eq!(int(&row, "flags_or"), 0x1b);
    assert_close(float(&row, "mean_fwd"), 120.0);
}

#[test]
fn one_packet_and_one_direction_flows_give_identities_and_defaults() {
    let row = run(STATS, &[pkt(7.0, F).len(40)]);
    assert_eq!(int(&row, "n_all"), 1);
    assert_eq!(int(&row, "n_fwd"), 1);
    assert_eq!(int(&row, "n_syn"), 0);
    assert_close(float(&row, "mean_len"), 40.0);
    assert_eq!(float(&row, "var_len"), 0.0);
    // Zero variance: skew and kurtosis are none, output as 0.0.
    assert_eq!(float(&row, "skew_len"), 0.0);
    assert_eq!(float(&row, "kurt_len"), 0.0);
    // No backward packet: min/first over nothing are none → 0.0.
    assert_eq!(float(&row, "min_ts"), 0.0);
    assert_eq!(float(&row, "first_bwd_ts"), 0.0);
    assert_eq!(int(&row, "second_len"), 0);
    assert!(!boolean(&row, "any_big"));
    assert!(!boolean(&row, "all_big"));
}

#[test]
fn aggregates_over_nothing_are_none_or_their_identity() {
    let src = r#"
features e "empty" {
    c: int = count(where pkt.len > 1000)
    s: int = sum(pkt.len where pkt.len > 1000)
    m_defined: bool = mean(pkt.len where pkt.len > 1000) != none
    mn_defined: bool = min(pkt.len where pkt.len > 1000) != none
    med_defined: bool = median(pkt.len where pkt.len > 1000) != none
    mode_defined: bool = mode(pkt.len where pkt.len > 1000) != none
    ent_defined: bool = entropy(pkt.payload where pkt.len > 1000) != none
    a: bool = any(pkt.len > 0 where pkt.len > 1000)
    al: bool = all(pkt.len > 5000 where pkt.len > 1000)
    r: int = runs(pkt.len > 0 where pkt.len > 1000)
    b: int = bit_or(pkt.len where pkt.len > 1000)
    mean_or = mean(pkt.len where pkt.len > 1000) ?? -1.0
}
"#;
    let row = run(src, &[pkt(0.0, F).len(60), pkt(1.0, B).len(70)]);
    assert_eq!(int(&row, "c"), 0);
    assert_eq!(int(&row, "s"), 0);
    assert!(!boolean(&row, "m_defined"));
    assert!(!boolean(&row, "mn_defined"));
    assert!(!boolean(&row, "med_defined"));
    assert!(!boolean(&row, "mode_defined"));
    assert!(!boolean(&row, "ent_defined"));
    assert!(!boolean(&row, "a"));
    assert!(boolean(&row, "al"));
    assert_eq!(int(&row, "r"), 0);
    assert_eq!(int(&row, "b"), 0);
    assert_eq!(float(&row, "mean_or"), -1.0);
}

#[test]
fn aggregates_skip_none_and_count_x_counts_defined_true_values() {
    let src = r#"
features g "gaps" {
    let iat = pkt.ts - prev(pkt.ts)
    gaps: int = count(iat)
    mean_gap = mean(iat)
    first_gap = first(iat)
    short: int = count(iat < 0.6)
    b: int = count(pkt.payload[0] == 0x41)
    defined_bytes: int = count(pkt.payload[0])
}
"#;
    let row = run(
        src,
        &[
            pkt(1.0, F).payload(b"A"),
            pkt(1.5, B).payload(b"B"),
            pkt(2.5, F),
            pkt(2.75, F).payload(b"AA"),
        ],
    );
    assert_eq!(int(&row, "gaps"), 3);
    assert_close(float(&row, "mean_gap"), 1.75 / 3.0);
    assert_close(float(&row, "first_gap"), 0.5);
    assert_eq!(int(&row, "short"), 2);
    assert_eq!(int(&row, "b"), 2);
    assert_eq!(int(&row, "defined_bytes"), 3);
}

#[test]
fn skew_and_kurtosis_match_the_two_pass_formulas_on_awkward_data() {
    // Large offset, small spread: the case that breaks naive power sums.
    let ts: Vec<f64> = (0..50)
        .map(|i| 1.7e9 + f64::from(i) * 0.013 + f64::from(i * i % 7) * 1e-4)
        .collect();
    let src = r#"
features t "t" {
    let iat = pkt.ts - prev(pkt.ts)
    m = mean(iat)
    v = var(iat)
    sk = skew(iat)
    ku = kurtosis(iat)
    mt = mean(pkt.ts)
    st = std(pkt.ts)
}
"#;
    let packets: Vec<P> = ts.iter().map(|t| pkt(*t, F)).collect();
    let row = run(src, &packets);
    let iats: Vec<f64> = ts.windows(2).map(|w| w[1] - w[0]).collect();
    let (mean, var, skew, kurt) = two_pass(&iats);
    let tol = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
    assert!(tol(float(&row, "m"), mean));
    assert!((float(&row, "v") - var).abs() <= 1e-9 * var);
    assert!(tol(float(&row, "sk"), skew), "{} {skew}", float(&row, "sk"));
    assert!(tol(float(&row, "ku"), kurt), "{} {kurt}", float(&row, "ku"));
    // Timestamps near 1.7e9: the mean is sum/n; the spread is compared with a two-pass over
    // values shifted by the first one (exact by Sterbenz's lemma), which loses nothing.
    let (mt, _, _, _) = two_pass(&ts);
    assert!(tol(float(&row, "mt"), mt));
    let shifted: Vec<f64> = ts.iter().map(|t| t - ts[0]).collect();
    let (_, vt, _, _) = two_pass(&shifted);
    assert!(
        (float(&row, "st") - vt.sqrt()).abs() <= 1e-9 * vt.sqrt(),
        "{} {}",
        float(&row, "st"),
        vt.sqrt()
    );
}

#[test]
fn median_and_percentiles_match_numpy() {
    let src = r#"
features p "p" {
    med = median(pkt.len)
    p0 = percentile(pkt.len, 0)
    p25 = percentile(pkt.len, 25)
    p90 = percentile(pkt.len, 90)
    p99 = percentile(pkt.len, 99.5)
    p100 = percentile(pkt.len, 100)
    med_bwd = median(pkt.len where pkt.dir == bwd)
}
"#;
    // lens 10, 40, 20, 30, 50 → sorted 10 20 30 40 50
    let row = run(
        src,
        &[
            pkt(0.0, F).len(10),
            pkt(0.1, B).len(40),
            pkt(0.2, F).len(20),
            pkt(0.3, B).len(30),
            pkt(0.4, F).len(50),
        ],
    );
    // numpy.percentile([10, 20, 30, 40, 50], [50, 0, 25, 90, 99.5, 100])
    assert_eq!(float(&row, "med"), 30.0);
    assert_eq!(float(&row, "p0"), 10.0);
    assert_eq!(float(&row, "p25"), 20.0);
    assert_close(float(&row, "p90"), 46.0);
    assert_close(float(&row, "p99"), 49.8);
    assert_eq!(float(&row, "p100"), 50.0);
    // numpy.median([40, 30]) == 35.0
    assert_eq!(float(&row, "med_bwd"), 35.0);
}

#[test]
fn mode_breaks_ties_by_first_appearance() {
    let src = r#"
features m "m" {
    ml = mode(pkt.len)
    mb = mode(pkt.len where pkt.dir == bwd)
    mf = mode(pkt.ts - pkt.ts)
    md: bool = mode(pkt.dir) == bwd
    cl = mode_count(pkt.len)
    cb = mode_count(pkt.len where pkt.dir == bwd)
    cn = mode_count(pkt.len where pkt.len > 1000)
    cd = mode_count(pkt.dir)
}
"#;
    let row = run(
        src,
        &[
            pkt(0.0, F).len(70),
            pkt(0.1, B).len(90),
            pkt(0.2, B).len(80),
            pkt(0.3, F).len(90),
            pkt(0.4, B).len(80),
            pkt(0.5, F).len(70),
        ],
    );
    // 70, 90 and 80 appear twice each: 70 came first.
    assert_eq!(int(&row, "ml"), 70);
    // Backward: 90 once, 80 twice.
    assert_eq!(int(&row, "mb"), 80);
    assert_eq!(float(&row, "mf"), 0.0);
    assert!(!boolean(&row, "md"));
    // `mode_count`: how often the mode occurs, shared with `mode`'s counts; 0 over nothing.
    assert_eq!(int(&row, "cl"), 2);
    assert_eq!(int(&row, "cb"), 2);
    assert_eq!(int(&row, "cn"), 0);
    assert_eq!(int(&row, "cd"), 3);
}

#[test]
fn hist_follows_numpy_edges_and_seq_pads_with_defaults() {
    let src = r#"
features h "h" {
    bins = hist(pkt.len, [0, 100, 200, 300])
    lens = seq(pkt.len, 4)
    dirs = seq(pkt.dir == fwd, 3)
    ts_bwd = seq(pkt.ts, 2 where pkt.dir == bwd)
    srcs = seq(pkt.src_ip, 2)
}
"#;
    let row = run(
        src,
        &[
            pkt(0.0, F).len(0),
            pkt(0.5, B).len(100),
            pkt(1.0, F).len(300),
            pkt(1.5, F).len(301),
            pkt(2.0, F).len(99),
        ],
    );
    assert_eq!(int(&row, "bins_0"), 2);
    assert_eq!(int(&row, "bins_1"), 1);
    assert_eq!(int(&row, "bins_2"), 1);
    assert_eq!(
        row.iter().filter(|(n, _)| n.starts_with("bins_")).count(),
        3
    );
    assert_eq!(int(&row, "lens_0"), 0);
    assert_eq!(int(&row, "lens_1"), 100);
    assert_eq!(int(&row, "lens_3"), 301);
    assert!(boolean(&row, "dirs_0"));
    assert!(!boolean(&row, "dirs_1"));
    assert_eq!(float(&row, "ts_bwd_0"), 0.5);
    assert_eq!(float(&row, "ts_bwd_1"), 0.0);
    assert_eq!(
        get(&row, "srcs_0"),
        &jjc_abi::Value::Ip(
            "10.0.0.1"
                .parse()
                .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into())
        )
    );
    assert_eq!(
        get(&row, "srcs_1"),
        &jjc_abi::Value::Ip(
            "10.0.0.2"
                .parse()
                .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into())
        )
    );
    let short = run(src, &[pkt(0.0, F).len(5)]);
    assert_eq!(int(&short, "lens_0"), 5);
    assert_eq!(int(&short, "lens_1"), 0);
    assert_eq!(
        get(&short, "srcs_1"),
        &jjc_abi::Value::Ip(std::net::Ipv4Addr::UNSPECIFIED.into())
    );
}

#[test]
fn entropy_of_known_payloads() {
    let src = r#"
features e "e" {
    h = entropy(pkt.payload)
    h_fwd = entropy(pkt.payload where pkt.dir == fwd)
    h_head = entropy(pkt.payload[:2])
}
"#;
    let row = run(
        src,
        &[
            pkt(0.0, F).payload(b"aaaa"),
            pkt(0.1, B).payload(b"bbbb"),
            pkt(0.2, F),
        ],
    );
    assert_eq!(float(&row, "h"), 1.0);
    assert_eq!(float(&row, "h_fwd"), 0.0);
    assert_eq!(float(&row, "h_head"), 1.0);
    let all: Vec<u8> = (0..=255).collect();
    let row = run(src, &[pkt(0.0, F).payload(&all)]);
    assert_close(float(&row, "h"), 8.0);
}

#[test]
fn runs_and_longest_run_skip_filtered_packets() {
    let src = r#"
features r "r" {
    runs_big: int = runs(pkt.len > 100)
    longest_big: int = longest_run(pkt.len > 100)
    runs_fwd: int = runs(pkt.len > 100 where pkt.dir == fwd)
    longest_fwd: int = longest_run(pkt.len > 100 where pkt.dir == fwd)
}
"#;
    // lens: 200 F, 300 B, 50 F, 400 F, 500 B, 600 F, 10 B, 700 F
    let lens = [
        (200, F),
        (300, B),
        (50, F),
        (400, F),
        (500, B),
        (600, F),
        (10, B),
        (700, F),
    ];
    let packets: Vec<P> = lens
        .iter()
        .enumerate()
        .map(|(i, (l, d))| pkt(i as f64, *d).len(*l))
        .collect();
    let row = run(src, &packets);
    // big: T T F T T T F T → runs 3, longest 3
    assert_eq!(int(&row, "runs_big"), 3);
    assert_eq!(int(&row, "longest_big"), 3);
    // fwd only: 200 50 400 600 700 → T F T T T → runs 2, longest 3
    assert_eq!(int(&row, "runs_fwd"), 2);
    assert_eq!(int(&row, "longest_fwd"), 3);
}

#[test]
fn nan_values_propagate_through_moments_and_min_keeps_python_order() {
    let src = r#"
features n "n" {
    let x = if pkt.len > 100 then 0.0 / 0.0 ?? 1.0 else float(pkt.len)
    let y = sqrt(-1.0 * pkt.len) ?? 0.0
    m = mean(float(pkt.len) * 0.0 + (if pkt.len == 7 then 1.0 else 2.0))
    nan_count: int = count(x != x)
    lo = min(pkt.ts)
    y_sum = sum(y)
}
"#;
    let row = run(src, &[pkt(3.0, F).len(7), pkt(1.0, F).len(8)]);
    assert_close(float(&row, "m"), 1.5);
    assert_eq!(int(&row, "nan_count"), 0);
    assert_eq!(float(&row, "lo"), 1.0);
    assert_eq!(float(&row, "y_sum"), 0.0);
}
