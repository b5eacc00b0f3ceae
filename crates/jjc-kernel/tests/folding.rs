//! Constant folding agrees with run-time evaluation: random arithmetic over literals
//! (folded when compiling) gives bit-identical results to the same arithmetic over values
//! known only when the flow ends (computed by the interpreter).

mod common;

use common::*;
use proptest::prelude::*;

/// An int expression; `leaf` renders each literal.
#[derive(Debug, Clone)]
enum IntE {
    Lit(i64),
    Bin(&'static str, Box<IntE>, Box<IntE>),
    Div(&'static str, Box<IntE>, Box<IntE>, i64),
    If(Box<IntE>, &'static str, Box<IntE>, Box<IntE>, Box<IntE>),
    Round(Box<FloatE>),
}

/// A float expression.
#[derive(Debug, Clone)]
enum FloatE {
    Lit(f64),
    FromInt(Box<IntE>),
    Bin(&'static str, Box<FloatE>, Box<FloatE>),
    Div(&'static str, Box<FloatE>, Box<FloatE>),
    Fn(&'static str, Box<FloatE>),
}

fn int_render(e: &IntE, run_time: bool) -> String {
    match e {
        IntE::Lit(v) => {
            let lit = if *v == i64::MIN {
                "(-9223372036854775807 - 1)".to_string()
            } else {
                v.to_string()
            };
            if run_time {
                format!("({lit} * flow.packet_count)")
            } else {
                format!("({lit})")
            }
        }
        IntE::Bin(op, a, b) => format!(
            "({} {op} {})",
            int_render(a, run_time),
            int_render(b, run_time)
        ),
        IntE::Div(op, a, b, d) => format!(
            "(({} {op} {}) ?? {d})",
            int_render(a, run_time),
            int_render(b, run_time)
        ),
        IntE::If(a, cmp, b, x, y) => format!(
            "(if {} {cmp} {} then {} else {})",
            int_render(a, run_time),
            int_render(b, run_time),
            int_render(x, run_time),
            int_render(y, run_time)
        ),
        IntE::Round(f) => format!("round({})", float_render(f, run_time)),
    }
}

fn float_render(e: &FloatE, run_time: bool) -> String {
    match e {
        FloatE::Lit(v) => {
            let lit = format!("{v:?}");
            if run_time {
                format!("({lit} * float(flow.packet_count))")
            } else {
                format!("({lit})")
            }
        }
        FloatE::FromInt(i) => format!("float({})", int_render(i, run_time)),
        FloatE::Bin(op, a, b) => format!(
            "({} {op} {})",
            float_render(a, run_time),
            float_render(b, run_time)
        ),
        FloatE::Div(op, a, b) => format!(
            "(({} {op} {}) ?? 0.25)",
            float_render(a, run_time),
            float_render(b, run_time)
        ),
        FloatE::Fn(f, a) => {
            let inner = float_render(a, run_time);
            match *f {
                "sqrt" | "ln" | "log2" => format!("({f}({inner}) ?? 0.5)"),
                _ => format!("{f}({inner})"),
            }
        }
    }
}

fn int_expr() -> impl Strategy<Value = IntE> {
    let leaf = prop_oneof![
        (-20i64..20).prop_map(IntE::Lit),
        prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0), Just(63), Just(64)]
            .prop_map(IntE::Lit),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (
                prop_oneof![
                    Just("+"),
                    Just("-"),
                    Just("*"),
                    Just("&"),
                    Just("|"),
                    Just("^"),
                    Just("<<"),
                    Just(">>")
                ],
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(op, a, b)| IntE::Bin(op, Box::new(a), Box::new(b))),
            (
                prop_oneof![Just("//"), Just("%")],
                inner.clone(),
                inner.clone(),
                -3i64..3
            )
                .prop_map(|(op, a, b, d)| IntE::Div(op, Box::new(a), Box::new(b), d)),
            (
                inner.clone(),
                prop_oneof![Just("<"), Just("<="), Just("=="), Just("!=")],
                inner.clone(),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(a, c, b, x, y)| IntE::If(
                    Box::new(a),
                    c,
                    Box::new(b),
                    Box::new(x),
                    Box::new(y)
                )),
            float_leafish().prop_map(|f| IntE::Round(Box::new(f))),
        ]
    })
}

fn float_leafish() -> impl Strategy<Value = FloatE> {
    prop_oneof![
        (-1e6f64..1e6).prop_map(FloatE::Lit),
        prop_oneof![Just(0.0), Just(-0.0), Just(2.5), Just(-2.5), Just(1e300)]
            .prop_map(FloatE::Lit),
    ]
}

fn float_expr() -> impl Strategy<Value = FloatE> {
    let leaf = prop_oneof![
        float_leafish(),
        (-20i64..20).prop_map(|v| FloatE::FromInt(Box::new(IntE::Lit(v)))),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (
                prop_oneof![Just("+"), Just("-"), Just("*")],
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(op, a, b)| FloatE::Bin(op, Box::new(a), Box::new(b))),
            (
                prop_oneof![Just("/"), Just("//"), Just("%")],
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(op, a, b)| FloatE::Div(op, Box::new(a), Box::new(b))),
            (
                prop_oneof![
                    Just("sqrt"),
                    Just("ln"),
                    Just("log2"),
                    Just("exp"),
                    Just("abs"),
                    Just("float")
                ],
                inner.clone()
            )
                .prop_map(|(f, a)| FloatE::Fn(f, Box::new(a))),
        ]
    })
}

fn cells(src: &str) -> Vec<u64> {
    let lib = library(src);
    let k = kernel(&lib, &["p"]);
    let row = run_kernel(&k, &udp_flow(), &[pkt(0.0, F)]);
    row.iter()
        .map(|(_, v)| match v {
            jjc_abi::Value::Int(i) => *i as u64,
            jjc_abi::Value::Float(x) if x.is_nan() => u64::MAX,
            jjc_abi::Value::Float(x) => x.to_bits(),
            _ => 0,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn folded_and_run_time_arithmetic_agree(i in int_expr(), f in float_expr()) {
        let program = |rt: bool| format!(
            "features p \"p\" {{\n    r: int = {}\n    rf: float = {}\n}}\n",
            int_render(&i, rt),
            float_render(&f, rt)
        );
        let folded = cells(&program(false));
        let computed = cells(&program(true));
        prop_assert_eq!(folded, computed, "{}", program(true));
    }
}
