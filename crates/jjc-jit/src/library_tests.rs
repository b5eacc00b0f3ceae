//! The standard library's `test` blocks and the run-time strings of the TLS built-ins,
//! under the JIT and the interpreter alike.

use jjc_kernel::testing::{groups_of_file, run_test};
use jjc_kernel::{Interpreter, Kernel};
use jjc_sema::{Library, Sources};

use crate::JitKernel;

/// Runs every `test` block of `lib` under both backends; returns the failures.
fn run_all(lib: &Library) -> Vec<String> {
    let mut failures = Vec::new();
    for test in &lib.program.tests {
        let groups = groups_of_file(&lib.program, test.file);
        let kernel: Kernel = match jjc_kernel::compile(&lib.program, &groups) {
            Ok(k) => k,
            Err(e) => {
                failures.push(format!("{}: {e}", test.name));
                continue;
            }
        };
        let by_interp = run_test(&lib.program, &kernel, &mut Interpreter::new(&kernel), test);
        let by_jit = match JitKernel::compile(&kernel) {
            Ok(mut jit) => run_test(&lib.program, &kernel, &mut jit, test),
            Err(e) => {
                failures.push(format!("{}: {e}", test.name));
                continue;
            }
        };
        if !by_interp.passed() {
            failures.push(format!("interp {by_interp:?}"));
        }
        if !by_jit.passed() {
            failures.push(format!("jit {by_jit:?}"));
        }
    }
    failures
}

#[test]
fn every_standard_library_test_passes_under_both_backends() {
    let (lib, diags) = Library::load(&Sources::default());
    assert!(!diags.has_errors(), "{diags:?}");
    let tls = lib
        .program
        .tests
        .iter()
        .filter(|t| t.name.contains("ClientHello"))
        .count();
    assert!(tls >= 3, "the tls group's tests are missing");
    let failures = run_all(&lib);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A TLS record holding a ClientHello that asks for `sni`, as a `.jjf` bytes literal.
fn hello_literal(sni: &str) -> String {
    let name = sni.as_bytes();
    let n = name.len();
    let mut ext = vec![0, 0];
    ext.extend(u16::try_from(n + 5).unwrap_or(0).to_be_bytes());
    ext.extend(u16::try_from(n + 3).unwrap_or(0).to_be_bytes());
    ext.push(0);
    ext.extend(u16::try_from(n).unwrap_or(0).to_be_bytes());
    ext.extend(name);
    let mut body = vec![3, 3];
    body.extend([0x52; 32]);
    body.extend([0, 0, 2, 0x13, 0x01, 1, 0]);
    body.extend(u16::try_from(ext.len()).unwrap_or(0).to_be_bytes());
    body.extend(ext);
    let mut msg = vec![1, 0];
    msg.extend(u16::try_from(body.len()).unwrap_or(0).to_be_bytes());
    msg.extend(body);
    let mut rec = vec![22, 3, 1];
    rec.extend(u16::try_from(msg.len()).unwrap_or(0).to_be_bytes());
    rec.extend(msg);
    let escaped: String = rec.iter().map(|b| format!("\\x{b:02x}")).collect();
    format!("b\"{escaped}\"")
}

#[test]
fn run_time_strings_work_under_both_backends() {
    let packets: String = ["a.example", "c.example", "c.example"]
        .iter()
        .enumerate()
        .map(|(i, sni)| {
            format!(
                "    packet {{ ts {i}.0  dir fwd  payload {}  flags PSH|ACK }}\n",
                hello_literal(sni)
            )
        })
        .collect();
    let text = format!(
        r#"
table known: str -> int {{ "a.example" => 1, "b.example" => 2 }}

features rt "strings from packets" {{
    let ch = tls_client_hello(pkt.payload)
    sni: str = first(ch.sni) ?? ""                  "the first"
    last_sni: str = last(ch.sni) ?? ""              "the last (no constant has it)"
    common: str = mode(ch.sni) ?? ""                "the most frequent"
    sni_len: int = len(last_sni)                    "its length"
    ordered: bool = sni < last_sni                  "sorted"
    same: bool = sni == "a.example"                 "equal to a constant"
    repeated: bool = last_sni == common             "equal to another run-time string"
    joined: str = sni + "|" + last_sni              "joined"
    known_first: int = known[sni] ?? 0              "a table hit"
    known_last: int = known[last_sni] ?? -1         "a table miss"
    names = seq(ch.sni, 3)
}}

test "three hellos" {{
    flow {{ src 10.0.0.1:40000  dst 10.0.0.2:443  tcp }}
{packets}    expect sni == "a.example"
    expect last_sni == "c.example"
    expect common == "c.example"
    expect sni_len == 9
    expect ordered == true
    expect same == true
    expect repeated == true
    expect joined == "a.example|c.example"
    expect known_first == 1
    expect known_last == -1
    expect names_0 == "a.example"
    expect names_1 == "c.example"
    expect names_2 == "c.example"
}}
"#
    );
    let (lib, diags) = Library::from_texts(&[("rt.jjf", &text)]);
    assert!(!diags.has_errors(), "{diags:?}");
    assert_eq!(lib.program.tests.len(), 1);
    let failures = run_all(&lib);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
