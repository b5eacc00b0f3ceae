//! The CLIF text of a kernel (`jjc dump --clif`).

use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{Function, UserFuncName};
use cranelift_codegen::{Context, verify_function};
use cranelift_frontend::FunctionBuilderContext;
use jjc_kernel::Kernel;
use jjc_kernel::ir::Limits;

use crate::JitError;
use crate::target::{function_name, host_isa, kernel_signature};
use crate::translate::{Externals, translate};

/// The Cranelift IR of both kernel functions, `update` then `finish`, as Cranelift compiles
/// it: after its optimisations (value numbering, constant folding), before machine lowering.
///
/// The text does not depend on memory addresses: helpers appear by name (`%jjc_ln`) and
/// kernel data blocks as symbols (`%data0` is block 0 of `jjc dump --ir`) where the
/// compiled code has their addresses as constants.
pub fn dump_clif(kernel: &Kernel) -> Result<String, JitError> {
    let isa = host_isa()?;
    let call_conv = isa.default_call_conv();
    let limits = Limits {
        state_slots: kernel.state_slots(),
        out_cells: kernel.out_cells(),
    };
    let mut fctx = FunctionBuilderContext::new();
    let mut text = String::new();
    for src in [kernel.update_program(), kernel.finish_program()] {
        let name = function_name(src.kind);
        src.verify(limits).map_err(|error| JitError::InvalidIr {
            function: name,
            error,
        })?;
        let mut func = Function::with_name_signature(
            UserFuncName::testcase(name),
            kernel_signature(src.kind, call_conv),
        );
        translate(
            src,
            &mut func,
            &mut fctx,
            &mut Externals::Named { call_conv },
            isa.frontend_config(),
        )?;
        if let Err(errors) = verify_function(&func, &*isa) {
            return Err(JitError::Verifier {
                function: name,
                text: cranelift_codegen::print_errors::pretty_verifier_error(&func, None, errors),
            });
        }
        let mut ctx = Context::for_function(func);
        ctx.optimize(&*isa, &mut ControlPlane::default())
            .map_err(|e| JitError::Codegen {
                function: name,
                message: e.to_string(),
            })?;
        text.push_str(&ctx.func.display().to_string());
    }
    Ok(text)
}
