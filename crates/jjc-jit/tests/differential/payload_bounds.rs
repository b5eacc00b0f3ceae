//! A feature file cannot make the JIT read outside a packet: extreme indices and slices,
//! empty payloads and a null payload pointer give the IR's values under both backends.

use jjc_abi::{FlowView, PacketView, Value};
use jjc_jit::JitKernel;
use jjc_kernel::Interpreter;

use crate::harness::{Flow, check, kernel_of_files, run_both};

const PROGRAM: &str = r#"
pattern anything = b"."

features bounds "payload reads at the edges" {
    let huge = 0x7fffffffffffffff
    let p = pkt.payload
    b_max: int      = first(p[huge]) ?? -1
    b_min: int      = first(p[(-huge) - 1]) ?? -1
    b_last: int     = first(p[-1]) ?? -1
    b_before: int   = first(p[-1 - len(p)]) ?? -1
    b_len: int      = first(p[len(p)]) ?? -1
    b_runtime: int  = first(p[pkt.tcp_seq * 0x100000000]) ?? -1
    s_all: int      = first(len(p[(-huge) - 1:huge]))
    s_tail: int     = first(len(p[huge:]))
    s_empty: int    = first(len(p[-2:-5]))
    s_neg: int      = first(len(p[-3:]))
    s_byte: int     = first(p[-3:][1]) ?? -1
    s_runtime: int  = first(len(p[pkt.tcp_seq:pkt.tcp_ack]))
    m_tail: bool    = any(p[huge:] ~ anything)
    m_all: bool     = any(p[(-huge) - 1:] ~ anything)
    e_tail: float   = entropy(p[huge:]) ?? -1.0
    e_all: float    = entropy(p[-huge:huge]) ?? -1.0
}
"#;

/// The row of one packet with the given payload (`None`: null pointer, length 0).
fn row(payload: Option<&[u8]>, seq: u32, ack: u32) -> Vec<Value> {
    let lib = match check(PROGRAM) {
        Ok(lib) => lib,
        Err(e) => panic!("{e}"),
    };
    let kernel = match kernel_of_files(&lib) {
        Ok(k) => k,
        Err(e) => panic!("{e}"),
    };
    let mut jit = match JitKernel::compile(&kernel) {
        Ok(j) => j,
        Err(e) => panic!("{e}"),
    };
    let mut interp = Interpreter::new(&kernel);
    let mut pkt = PacketView::default();
    pkt.tcp_seq = seq;
    pkt.tcp_ack = ack;
    if let Some(p) = payload {
        pkt.set_payload(p);
    }
    let flow = Flow {
        packets: vec![pkt],
        view: FlowView {
            packet_count: 1,
            packets_fwd: 1,
            protocol: 6,
            ip_version: 4,
            ..FlowView::default()
        },
    };
    match run_both(&kernel, &mut interp, &mut jit, &flow) {
        Ok(values) => values,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn extreme_indices_and_slices_stay_inside_the_payload() {
    // The payload sits between poison bytes that no result may show.
    let buffer: Vec<u8> = [[0xee; 64].as_slice(), b"abcd", &[0xee; 64]].concat();
    let payload = &buffer[64..68];
    let bits = -((0.25f64).log2() * 4.0 * 0.25);
    let (i, b, f) = (Value::Int, Value::Bool, Value::Float);
    assert_eq!(
        row(Some(payload), 1, 3),
        vec![
            i(-1),
            i(-1),
            i(i64::from(b'd')),
            i(-1),
            i(-1),
            i(-1),
            i(4),
            i(0),
            i(0),
            i(3),
            i(i64::from(b'c')),
            i(2),
            b(false),
            b(true),
            f(-1.0),
            f(bits),
        ]
    );
    for empty in [Some(&buffer[64..64]), None] {
        assert_eq!(
            row(empty, 7, 9),
            vec![
                i(-1),
                i(-1),
                i(-1),
                i(-1),
                i(-1),
                i(-1),
                i(0),
                i(0),
                i(0),
                i(0),
                i(-1),
                i(0),
                b(false),
                b(false),
                f(-1.0),
                f(-1.0),
            ]
        );
    }
}
