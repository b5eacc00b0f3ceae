//! The host machine as Cranelift sees it: ISA, settings and the kernel signatures.

use cranelift_codegen::ir::{AbiParam, Signature, types};
use cranelift_codegen::isa::{CallConv, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use jjc_kernel::ir::FunctionKind;

use crate::JitError;

/// The host ISA with the settings jjc compiles with: optimised for speed, without Cranelift's
/// own verifier pass (jjc verifies each function once before compiling it), absolute (non-PIC) addressing and helper calls through full 64-bit
/// addresses (`cranelift-jit` needs both of those).
pub(crate) fn host_isa() -> Result<OwnedTargetIsa, JitError> {
    let set = |b: &mut settings::Builder, name: &str, value: &str| {
        b.set(name, value)
            .map_err(|e| JitError::UnsupportedIsa(format!("setting {name}={value}: {e}")))
    };
    let mut flags = settings::builder();
    set(&mut flags, "opt_level", "speed")?;
    // Off: every function is verified once, explicitly, before it compiles (`code.rs`).
    set(&mut flags, "enable_verifier", "false")?;
    set(&mut flags, "is_pic", "false")?;
    set(&mut flags, "use_colocated_libcalls", "false")?;
    let isa = cranelift_native::builder()
        .map_err(|e| JitError::UnsupportedIsa(e.to_string()))?
        .finish(settings::Flags::new(flags))
        .map_err(|e| JitError::UnsupportedIsa(e.to_string()))?;
    if isa.pointer_type() != types::I64 {
        return Err(JitError::UnsupportedIsa(format!(
            "kernels need 64-bit pointers, this host has {}",
            isa.pointer_type()
        )));
    }
    Ok(isa)
}

/// The Cranelift signature of a kernel function: `update(state, pkt)` or
/// `finish(state, flow, out)`, all pointers, no result (see `jjc_abi::UpdateFn`/`FinishFn`).
pub(crate) fn kernel_signature(kind: FunctionKind, call_conv: CallConv) -> Signature {
    let params = match kind {
        FunctionKind::Update => 2,
        FunctionKind::Finish => 3,
    };
    let mut sig = Signature::new(call_conv);
    sig.params = vec![AbiParam::new(types::I64); params];
    sig
}

/// The Cranelift signature of a runtime helper, from its IR signature.
pub(crate) fn helper_signature(helper: jjc_kernel::ir::Helper, call_conv: CallConv) -> Signature {
    let (params, ret) = helper.signature();
    let mut sig = Signature::new(call_conv);
    sig.params = params.iter().map(|t| AbiParam::new(mty(*t))).collect();
    sig.returns = ret.iter().map(|t| AbiParam::new(mty(*t))).collect();
    sig
}

/// The Cranelift type of an IR machine type.
pub(crate) fn mty(t: jjc_kernel::ir::MTy) -> types::Type {
    match t {
        jjc_kernel::ir::MTy::I64 => types::I64,
        jjc_kernel::ir::MTy::F64 => types::F64,
    }
}

/// The name of a kernel function, for errors and the CLIF dump.
pub(crate) fn function_name(kind: FunctionKind) -> &'static str {
    match kind {
        FunctionKind::Update => "update",
        FunctionKind::Finish => "finish",
    }
}
