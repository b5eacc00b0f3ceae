//! Runs the same flows through the interpreter and the JIT and compares everything.

use jjc_abi::{FlowView, PacketView, Value};
use jjc_jit::JitKernel;
use jjc_kernel::ir::MTy;
use jjc_kernel::{Exec, Interpreter, Kernel, SlotKind};
use jjc_sema::{FileOrigin, Library};

/// Floats agree when equal to 1e-12 relative (to the larger magnitude), or both NaN.
pub fn close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

/// The first difference between two states, comparing value slots (floats with
/// [`close`]); buffer slots hold pointers to each backend's own buffers and are skipped.
fn state_difference(kernel: &Kernel, interp: &[u64], jit: &[u64]) -> Option<String> {
    for (i, slot) in kernel.slots().iter().enumerate() {
        let (a, b) = (interp.get(i).copied(), jit.get(i).copied());
        let same = match (slot.kind, a, b) {
            (SlotKind::Value(MTy::F64), Some(a), Some(b)) => {
                close(f64::from_bits(a), f64::from_bits(b))
            }
            (SlotKind::Value(MTy::I64), a, b) => a == b,
            (SlotKind::Buffer(_), _, _) => true,
            _ => a == b,
        };
        if !same {
            return Some(format!(
                "state slot {i} ({}): interpreter {a:?}, JIT {b:?}",
                slot.name
            ));
        }
    }
    None
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => close(*x, *y),
        _ => a == b,
    }
}

/// A flow for the kernel: its packets and the `FlowView` the engine would give `finish`.
pub struct Flow<'p> {
    /// The packets, in order.
    pub packets: Vec<PacketView<'p>>,
    /// What `finish` sees.
    pub view: FlowView,
}

/// Runs `flow` through both backends with separate states; compares the states after every
/// packet and after `finish`, and every output column. Returns the output row.
pub fn run_both(
    kernel: &Kernel,
    interp: &mut Interpreter<'_>,
    jit: &mut JitKernel<'_>,
    flow: &Flow<'_>,
) -> Result<Vec<Value>, String> {
    let mut s_interp = vec![0u64; kernel.state_slots()];
    let mut s_jit = vec![0u64; kernel.state_slots()];
    kernel.init_state(&mut s_interp);
    kernel.init_state(&mut s_jit);
    let result = (|| {
        for (n, pkt) in flow.packets.iter().enumerate() {
            interp.update(&mut s_interp, pkt);
            jit.update(&mut s_jit, pkt);
            if let Some(d) = state_difference(kernel, &s_interp, &s_jit) {
                return Err(format!("after packet {n} ({pkt:?}): {d}"));
            }
        }
        let mut o_interp = vec![0u64; kernel.out_cells()];
        let mut o_jit = vec![0u64; kernel.out_cells()];
        interp.finish(&mut s_interp, &flow.view, &mut o_interp);
        jit.finish(&mut s_jit, &flow.view, &mut o_jit);
        if let Some(d) = state_difference(kernel, &s_interp, &s_jit) {
            return Err(format!("after finish: {d}"));
        }
        let (mut v_interp, mut v_jit) = (Vec::new(), Vec::new());
        kernel.cells_to_values_with_state(&o_interp, &s_interp, &mut v_interp);
        kernel.cells_to_values_with_state(&o_jit, &s_jit, &mut v_jit);
        for ((col, a), b) in kernel.columns().iter().zip(&v_interp).zip(&v_jit) {
            if !same_value(a, b) {
                return Err(format!("column {}: interpreter {a:?}, JIT {b:?}", col.name));
            }
        }
        if v_interp.len() != kernel.columns().len() || v_jit.len() != v_interp.len() {
            return Err("missing output values".to_string());
        }
        Ok(v_interp)
    })();
    kernel.drop_state(&mut s_interp);
    kernel.drop_state(&mut s_jit);
    result
}

/// Checks `text` as the only `-f` file: the library, or the rendered errors.
pub fn check(text: &str) -> Result<Library, String> {
    let (lib, diags) = Library::from_texts(&[("gen.jjf", text)]);
    if diags.has_errors() {
        let rendered: Vec<String> = diags
            .0
            .iter()
            .map(|d| jjc_syntax::render_human(d, &lib.sources, false))
            .collect();
        return Err(rendered.join("\n"));
    }
    Ok(lib)
}

/// The kernel of every group of the library's `-f` files.
pub fn kernel_of_files(lib: &Library) -> Result<Kernel, String> {
    let groups = lib.groups_from(&FileOrigin::File);
    jjc_kernel::compile(&lib.program, &groups).map_err(|e| e.to_string())
}
