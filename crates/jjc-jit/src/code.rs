//! Native code for a pair of kernel functions: the JIT module that owns the machine code
//! and the two entry points.

use std::collections::BTreeMap;

use std::str::FromStr;

use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{LibCall, UserFuncName};
use cranelift_codegen::isa::{OwnedTargetIsa, TargetIsa};
use cranelift_codegen::{Context, print_errors, verify_function};
use cranelift_frontend::FunctionBuilderContext;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{
    DataId, FuncId, FuncOrDataId, Linkage, Module, ModuleReloc, ModuleRelocTarget,
    default_libcall_names,
};
use jjc_abi::{FinishFn, UpdateFn};
use jjc_kernel::ir as kir;
use jjc_kernel::runtime;

use crate::JitError;
use crate::cache::{
    CacheKey, KernelCache, StoredCode, StoredFunction, StoredReloc, reloc_kind_number,
};
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

/// Where a kernel's native code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeOrigin {
    /// Compiled by Cranelift in this run.
    Compiled,
    /// Linked from an entry of the kernel cache.
    Cached,
}

impl NativeCode {
    /// Verifies both IR functions against `limits` and makes their native code for the host:
    /// linked from `cache` when it holds the code of exactly these functions, else compiled
    /// (and then stored in `cache`).
    pub(crate) fn compile(
        update: &kir::Function,
        finish: &kir::Function,
        limits: kir::Limits,
        cache: Option<&KernelCache>,
    ) -> Result<(NativeCode, CodeOrigin), JitError> {
        check_ir(update, kir::FunctionKind::Update, limits)?;
        check_ir(finish, kir::FunctionKind::Finish, limits)?;
        let isa = host_isa()?;
        let cached = cache.and_then(|cache| {
            let key = CacheKey::new(&*isa, update, finish, limits)?;
            Some((cache, key))
        });
        if let Some((cache, key)) = &cached
            && let Some(stored) = cache.load(key)
            && let Ok(code) = link(&isa, update, finish, |module, ids| {
                define_stored(module, ids, &stored)
            })
        {
            return Ok((code, CodeOrigin::Cached));
        }
        let mut stored = None;
        let code = link(&isa, update, finish, |module, ids| {
            stored = compile_both(module, ids, update, finish)?;
            Ok(())
        })?;
        if let (Some((cache, key)), Some(stored)) = (cached, stored) {
            cache.store(&key, &stored);
        }
        Ok((code, CodeOrigin::Compiled))
    }
}

/// What both functions may refer to, declared in a module: helpers and data blocks, and the
/// two functions themselves.
struct Declared {
    helpers: BTreeMap<kir::Helper, FuncId>,
    data: BTreeMap<u32, DataId>,
    update: FuncId,
    finish: FuncId,
}

/// The symbol name of kernel data block `n`.
fn data_symbol(n: u32) -> String {
    format!("jjc_data_{n}")
}

/// Makes a module for `update` and `finish`, has `define` put both functions' code in it,
/// and links them: helpers resolve to the runtime's functions, `jjc_data_N` to the kernel's
/// data blocks.
fn link(
    isa: &OwnedTargetIsa,
    update: &kir::Function,
    finish: &kir::Function,
    define: impl FnOnce(&mut JITModule, &Declared) -> Result<(), JitError>,
) -> Result<NativeCode, JitError> {
    let mut builder = JITBuilder::with_isa(isa.clone(), default_libcall_names());
    for (name, addr) in runtime::helper_symbols() {
        builder.symbol(name, addr);
    }
    let mut data = BTreeMap::new();
    for f in [update, finish] {
        for inst in &f.insts {
            if let kir::Inst::DataAddr { data: n, addr, .. } = *inst {
                data.insert(n, addr);
            }
        }
    }
    for (&n, &addr) in &data {
        builder.symbol(data_symbol(n), addr as *const u8);
    }
    let mut module = JITModule::new(builder);
    let linked = declare(&mut module, update, finish, &data)
        .and_then(|declared| {
            define(&mut module, &declared)?;
            Ok(declared)
        })
        .and_then(|declared| {
            module
                .finalize_definitions()
                .map_err(|e| module_error("module", &e))?;
            Ok(declared)
        });
    match linked {
        Ok(declared) => {
            let u = module.get_finalized_function(declared.update);
            let f = module.get_finalized_function(declared.finish);
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

/// Declares the helpers and data blocks both functions use (data blocks `data`, by number),
/// and the two functions.
fn declare(
    module: &mut JITModule,
    update: &kir::Function,
    finish: &kir::Function,
    data: &BTreeMap<u32, u64>,
) -> Result<Declared, JitError> {
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
    let mut data_ids = BTreeMap::new();
    for &n in data.keys() {
        let id = module
            .declare_data(&data_symbol(n), Linkage::Import, false, false)
            .map_err(|e| module_error("module", &e))?;
        data_ids.insert(n, id);
    }
    let mut function = |kind| {
        let name = function_name(kind);
        module
            .declare_function(name, Linkage::Local, &kernel_signature(kind, call_conv))
            .map_err(|e| module_error(name, &e))
    };
    Ok(Declared {
        update: function(update.kind)?,
        finish: function(finish.kind)?,
        helpers,
        data: data_ids,
    })
}

/// Lowers and compiles both functions and puts their code in the module; returns the code
/// as a cache entry holds it, unless a relocation could not be stored.
fn compile_both(
    module: &mut JITModule,
    ids: &Declared,
    update: &kir::Function,
    finish: &kir::Function,
) -> Result<Option<StoredCode>, JitError> {
    let mut fctx = FunctionBuilderContext::new();
    let mut u_ctx = lower(module, ids, ids.update, &mut fctx, update)?;
    let mut f_ctx = lower(module, ids, ids.finish, &mut fctx, finish)?;
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
    let u = define(module, ids.update, &u_ctx, update.kind)?;
    let f = define(module, ids.finish, &f_ctx, finish.kind)?;
    Ok(u.zip(f).map(|(u, f)| StoredCode { functions: [u, f] }))
}

/// Puts an entry's code in the module, its relocations' symbols resolved to the module's
/// declarations.
fn define_stored(
    module: &mut JITModule,
    ids: &Declared,
    stored: &StoredCode,
) -> Result<(), JitError> {
    let [u, f] = &stored.functions;
    for (id, code, name) in [(ids.update, u, "update"), (ids.finish, f, "finish")] {
        let relocs = code
            .relocs
            .iter()
            .map(|r| {
                let name = resolve(module, &r.target).ok_or_else(|| JitError::Codegen {
                    function: name,
                    message: format!("cached code refers to unknown symbol `{}`", r.target),
                })?;
                Ok(ModuleReloc {
                    offset: r.offset,
                    kind: r.kind,
                    name,
                    addend: r.addend,
                })
            })
            .collect::<Result<Vec<_>, JitError>>()?;
        module
            .define_function_bytes(id, code.alignment, &code.bytes, &relocs)
            .map_err(|e| module_error(name, &e))?;
    }
    Ok(())
}

/// The relocation target a stored symbol name stands for in `module`.
fn resolve(module: &JITModule, target: &str) -> Option<ModuleRelocTarget> {
    if let Some(libcall) = target.strip_prefix(LIBCALL_PREFIX) {
        return LibCall::from_str(libcall)
            .ok()
            .map(ModuleRelocTarget::LibCall);
    }
    Some(match module.declarations().get_name(target)? {
        FuncOrDataId::Func(id) => id.into(),
        FuncOrDataId::Data(id) => id.into(),
    })
}

/// How a libcall target is named in a cache entry.
const LIBCALL_PREFIX: &str = "libcall:";

/// The name a cache entry gives a relocation target, when it can hold one.
fn target_name(module: &JITModule, target: &ModuleRelocTarget) -> Option<String> {
    let decls = module.declarations();
    match target {
        ModuleRelocTarget::User { namespace: 0, .. } => decls
            .get_function_decl(FuncId::from_name(target))
            .name
            .clone(),
        ModuleRelocTarget::User { namespace: 1, .. } => {
            decls.get_data_decl(DataId::from_name(target)).name.clone()
        }
        ModuleRelocTarget::LibCall(libcall) => Some(format!("{LIBCALL_PREFIX}{libcall}")),
        _ => None,
    }
}

/// Lowers one declared function (`id`) to Cranelift IR in a fresh context.
fn lower(
    module: &mut JITModule,
    ids: &Declared,
    id: FuncId,
    fctx: &mut FunctionBuilderContext,
    src: &kir::Function,
) -> Result<Context, JitError> {
    let sig = kernel_signature(src.kind, module.isa().default_call_conv());
    let mut ctx = module.make_context();
    ctx.func.signature = sig;
    ctx.func.name = UserFuncName::user(0, id.as_u32());
    let config = module.target_config();
    translate(
        src,
        &mut ctx.func,
        fctx,
        &mut Externals::Module {
            module,
            helpers: &ids.helpers,
            data: &ids.data,
        },
        config,
    )?;
    Ok(ctx)
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

/// Puts one compiled function's code into the module, with its relocations; returns the
/// code as a cache entry holds it, unless a relocation could not be stored.
fn define(
    module: &mut JITModule,
    id: FuncId,
    ctx: &Context,
    kind: kir::FunctionKind,
) -> Result<Option<StoredFunction>, JitError> {
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
    let alignment = u64::from(code.buffer.alignment);
    module
        .define_function_bytes(id, alignment, code.code_buffer(), &relocs)
        .map_err(|e| module_error(function, &e))?;
    let stored = relocs
        .iter()
        .map(|r| {
            reloc_kind_number(r.kind)?;
            Some(StoredReloc {
                offset: r.offset,
                kind: r.kind,
                target: target_name(module, &r.name)?,
                addend: r.addend,
            })
        })
        .collect::<Option<Vec<_>>>()
        .map(|relocs| StoredFunction {
            alignment,
            bytes: code.code_buffer().to_vec(),
            relocs,
        });
    Ok(stored)
}

fn module_error(function: &'static str, e: &cranelift_module::ModuleError) -> JitError {
    JitError::Codegen {
        function,
        message: e.to_string(),
    }
}
