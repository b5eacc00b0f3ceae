//! Native code for a pair of kernel functions: the JIT module that owns the machine code
//! and the two entry points.

use std::collections::BTreeMap;

use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::UserFuncName;
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::{Context, print_errors, verify_function};
use cranelift_frontend::FunctionBuilderContext;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Linkage, Module, ModuleReloc, default_libcall_names};
use jjc_abi::{FinishFn, UpdateFn};
use jjc_kernel::ir as kir;
use jjc_kernel::runtime;

use crate::JitError;
use crate::target::{function_name, helper_signature, host_isa, kernel_signature};
use crate::translate::{Externals, translate};

/// Compiled `update` and `finish`, and the module whose executable memory holds them.
///
/// The memory is freed on drop, so the function pointers are valid exactly as long as
/// this value lives.
pub(crate) struct NativeCode {
    /// Owns the code; `None` only while dropping.
    module: Option<JITModule>,
    /// `update(state, pkt)`.
    pub(crate) update: UpdateFn,
    /// `finish(state, flow, out)`.
    pub(crate) finish: FinishFn,
}

impl std::fmt::Debug for NativeCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeCode")
            .field("update", &(self.update as *const u8))
            .field("finish", &(self.finish as *const u8))
            .finish_non_exhaustive()
    }
}

impl NativeCode {
    /// Verifies both IR functions against `limits` and compiles them for the host.
    pub(crate) fn compile(
        update: &kir::Function,
        finish: &kir::Function,
        limits: kir::Limits,
    ) -> Result<NativeCode, JitError> {
        check_ir(update, kir::FunctionKind::Update, limits)?;
        check_ir(finish, kir::FunctionKind::Finish, limits)?;
        let isa = host_isa()?;
        let mut builder = JITBuilder::with_isa(isa, default_libcall_names());
        for (name, addr) in runtime::helper_symbols() {
            builder.symbol(name, addr);
        }
        let mut module = JITModule::new(builder);
        match define_both(&mut module, update, finish) {
            Ok((u, f)) => {
                let u = module.get_finalized_function(u);
                let f = module.get_finalized_function(f);
                // SAFETY: `u` and `f` are the finalized code of functions declared with
                // `kernel_signature(Update)` / `(Finish)`: pointer parameters, no result, in
                // the host's default (C) calling convention, which is what `UpdateFn` and
                // `FinishFn` are.
                let (update, finish) = unsafe {
                    (
                        std::mem::transmute::<*const u8, UpdateFn>(u),
                        std::mem::transmute::<*const u8, FinishFn>(f),
                    )
                };
                Ok(NativeCode {
                    module: Some(module),
                    update,
                    finish,
                })
            }
            Err(e) => {
                // SAFETY: no pointer into the module's memory was handed out.
                unsafe { module.free_memory() };
                Err(e)
            }
        }
    }
}

impl Drop for NativeCode {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: the code is only reachable through `self.update`/`self.finish` (and
            // copies handed out by `JitKernel::update_fn`/`finish_fn`, documented as valid
            // only while the kernel lives); `&mut self` means no call is running.
            unsafe { module.free_memory() };
        }
    }
}

/// Checks that `f` is the function of `kind` and well formed.
fn check_ir(
    f: &kir::Function,
    kind: kir::FunctionKind,
    limits: kir::Limits,
) -> Result<(), JitError> {
    let function = function_name(kind);
    if f.kind != kind {
        return Err(JitError::InvalidIr {
            function,
            error: kir::VerifyError {
                inst: 0,
                message: format!("expected the `{function}` function"),
            },
        });
    }
    f.verify(limits)
        .map_err(|error| JitError::InvalidIr { function, error })
}

/// Declares the helpers both functions call, defines both functions and links them.
fn define_both(
    module: &mut JITModule,
    update: &kir::Function,
    finish: &kir::Function,
) -> Result<(FuncId, FuncId), JitError> {
    let call_conv = module.isa().default_call_conv();
    let mut helpers = BTreeMap::new();
    for f in [update, finish] {
        for inst in &f.insts {
            if let kir::Inst::Call { helper, .. } = inst
                && !helpers.contains_key(helper)
            {
                let id = module
                    .declare_function(
                        helper.name(),
                        Linkage::Import,
                        &helper_signature(*helper, call_conv),
                    )
                    .map_err(|e| module_error("module", &e))?;
                helpers.insert(*helper, id);
            }
        }
    }
    let mut fctx = FunctionBuilderContext::new();
    let (u, mut u_ctx) = lower(module, &helpers, &mut fctx, update)?;
    let (f, mut f_ctx) = lower(module, &helpers, &mut fctx, finish)?;
    // The two functions compile at the same time, each on its own thread: compilation is
    // most of a run's start-up.
    let isa = module.isa();
    let (u_done, f_done) = std::thread::scope(|scope| {
        let finishing = scope.spawn(|| compile(isa, &mut f_ctx, finish.kind));
        let updating = compile(isa, &mut u_ctx, update.kind);
        let finishing = finishing.join().unwrap_or_else(|_| {
            Err(JitError::Codegen {
                function: function_name(finish.kind),
                message: "the compiling thread stopped unexpectedly".into(),
            })
        });
        (updating, finishing)
    });
    u_done?;
    f_done?;
    define(module, u, &u_ctx, update.kind)?;
    define(module, f, &f_ctx, finish.kind)?;
    module
        .finalize_definitions()
        .map_err(|e| module_error("module", &e))?;
    Ok((u, f))
}

/// Declares one function and lowers it to Cranelift IR in a fresh context.
fn lower(
    module: &mut JITModule,
    helpers: &BTreeMap<kir::Helper, FuncId>,
    fctx: &mut FunctionBuilderContext,
    src: &kir::Function,
) -> Result<(FuncId, Context), JitError> {
    let function = function_name(src.kind);
    let sig = kernel_signature(src.kind, module.isa().default_call_conv());
    let id = module
        .declare_function(function, Linkage::Local, &sig)
        .map_err(|e| module_error(function, &e))?;
    let mut ctx = module.make_context();
    ctx.func.signature = sig;
    ctx.func.name = UserFuncName::user(0, id.as_u32());
    let config = module.target_config();
    translate(
        src,
        &mut ctx.func,
        fctx,
        &mut Externals::Module { module, helpers },
        config,
    )?;
    Ok((id, ctx))
}

/// Verifies one lowered function and compiles it to machine code (kept in `ctx`).
fn compile(
    isa: &dyn TargetIsa,
    ctx: &mut Context,
    kind: kir::FunctionKind,
) -> Result<(), JitError> {
    let function = function_name(kind);
    if let Err(errors) = verify_function(&ctx.func, isa) {
        return Err(JitError::Verifier {
            function,
            text: print_errors::pretty_verifier_error(&ctx.func, None, errors),
        });
    }
    ctx.compile(isa, &mut ControlPlane::default())
        .map(|_| ())
        .map_err(|e| JitError::Codegen {
            function,
            message: format!("{:?}", e.inner),
        })
}

/// Puts one compiled function's code into the module, with its relocations.
fn define(
    module: &mut JITModule,
    id: FuncId,
    ctx: &Context,
    kind: kir::FunctionKind,
) -> Result<(), JitError> {
    let function = function_name(kind);
    let Some(code) = ctx.compiled_code() else {
        return Err(JitError::Codegen {
            function,
            message: "no compiled code".into(),
        });
    };
    let relocs: Vec<ModuleReloc> = code
        .buffer
        .relocs()
        .iter()
        .map(|r| ModuleReloc::from_mach_reloc(r, &ctx.func, id))
        .collect();
    module
        .define_function_bytes(
            id,
            u64::from(code.buffer.alignment),
            code.code_buffer(),
            &relocs,
        )
        .map_err(|e| module_error(function, &e))
}

fn module_error(function: &'static str, e: &cranelift_module::ModuleError) -> JitError {
    JitError::Codegen {
        function,
        message: e.to_string(),
    }
}
