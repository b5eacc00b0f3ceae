//! A kernel compiled to native code, runnable as a [`jjc_kernel::Exec`] backend.

use jjc_abi::{FinishFn, FlowView, PacketView, UpdateFn};
use jjc_kernel::ir::Limits;
use jjc_kernel::{Exec, Kernel};

use crate::code::{CodeOrigin, NativeCode};
use crate::{JitError, KernelCache};

/// A [`Kernel`] compiled to native code: owns the executable memory (freed on drop) and the
/// two entry points.
///
/// It borrows the kernel because the code has the addresses of the kernel's constant data
/// (regex sets, tables, byte strings) built in: the kernel must outlive it.
///
/// # Threads
/// `JitKernel` is `Send` (checked by a test), so an engine thread can own one: the code is
/// immutable once compiled and keeps no state of its own; everything a call touches is its
/// arguments (the flow's state, the packet or flow, the output cells), the kernel's constant
/// data (read only) and runtime helpers, which own per-flow buffers through the state and
/// keep only thread-local scratch space. It is not `Sync`: Cranelift's module is not, and
/// sharing is not needed since compiling one per thread is cheap.
#[derive(Debug)]
pub struct JitKernel<'k> {
    /// The kernel the code was compiled from.
    kernel: &'k Kernel,
    /// The machine code.
    code: NativeCode,
    /// Whether it was compiled or came from the kernel cache.
    origin: CodeOrigin,
}

impl<'k> JitKernel<'k> {
    /// Compiles both functions of `kernel` for the host machine.
    ///
    /// Errors are values: a host Cranelift cannot target, malformed kernel IR, or a
    /// Cranelift verifier error (a lowering bug, reported with the function's text).
    pub fn compile(kernel: &'k Kernel) -> Result<JitKernel<'k>, JitError> {
        Self::compile_cached(kernel, None)
    }

    /// As [`JitKernel::compile`], but links the code from `cache` when it holds this
    /// kernel's, and stores it there when it is compiled. The cache never makes this fail:
    /// a missing, foreign or damaged entry, or one that cannot be written, means compiling.
    pub fn compile_cached(
        kernel: &'k Kernel,
        cache: Option<&KernelCache>,
    ) -> Result<JitKernel<'k>, JitError> {
        let limits = Limits {
            state_slots: kernel.state_slots(),
            out_cells: kernel.out_cells(),
        };
        let (code, origin) = NativeCode::compile(
            kernel.update_program(),
            kernel.finish_program(),
            limits,
            cache,
        )?;
        Ok(JitKernel {
            kernel,
            code,
            origin,
        })
    }

    /// Whether the code was compiled in this run or linked from the kernel cache.
    pub fn origin(&self) -> CodeOrigin {
        self.origin
    }

    /// The kernel this code runs.
    pub fn kernel(&self) -> &'k Kernel {
        self.kernel
    }

    /// The native `update(state, pkt)`.
    ///
    /// Calling it is `unsafe`: `state` must point to [`Kernel::state_slots`] slots
    /// initialised by [`Kernel::init_state`], `pkt` to a valid `PacketView`, and the call
    /// must happen while this `JitKernel` (and so its code) is alive.
    pub fn update_fn(&self) -> UpdateFn {
        self.code.update
    }

    /// The native `finish(state, flow, out)`.
    ///
    /// As [`JitKernel::update_fn`], plus `out` must point to [`Kernel::out_cells`] cells.
    pub fn finish_fn(&self) -> FinishFn {
        self.code.finish
    }
}

impl Exec for JitKernel<'_> {
    /// Runs the native `update`. As the interpreter does, it does nothing when `state` has
    /// fewer than [`Kernel::state_slots`] slots (the code would write past it).
    fn update(&mut self, state: &mut [u64], pkt: &PacketView<'_>) {
        if state.len() < self.kernel.state_slots() {
            return;
        }
        // SAFETY: the code was verified to touch only slots below `state_slots`, which
        // `state` has; `pkt` is a valid view; the code lives as long as `self`.
        unsafe { (self.code.update)(state.as_mut_ptr(), pkt) }
    }

    /// Runs the native `finish`. As the interpreter does, it does nothing when `state` or
    /// `out` is shorter than the kernel's state or output cells.
    fn finish(&mut self, state: &mut [u64], flow: &FlowView, out: &mut [u64]) {
        if state.len() < self.kernel.state_slots() || out.len() < self.kernel.out_cells() {
            return;
        }
        // SAFETY: the code touches only slots below `state_slots` and cells below
        // `out_cells`, which the slices have; `flow` is valid; the code lives.
        unsafe { (self.code.finish)(state.as_mut_ptr(), flow, out.as_mut_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use jjc_abi::{FlowView, PacketView};
    use jjc_kernel::{Exec, Interpreter, Kernel};
    use jjc_sema::{FileOrigin, Library};

    use super::JitKernel;

    fn kernel(text: &str) -> Kernel {
        let (lib, diags) = Library::from_texts(&[("t.jjf", text)]);
        assert!(!diags.has_errors(), "{diags:?}");
        match jjc_kernel::compile(&lib.program, &lib.groups_from(&FileOrigin::File)) {
            Ok(k) => k,
            Err(e) => panic!("{e}"),
        }
    }

    fn flow() -> FlowView {
        FlowView {
            end_time: 1.0,
            duration: 1.0,
            packet_count: 2,
            packets_fwd: 2,
            protocol: 6,
            ip_version: 4,
            ..FlowView::default()
        }
    }

    #[test]
    fn a_compiled_kernel_can_move_to_another_thread() {
        fn assert_send<T: Send>(_: &T) {}
        let k = kernel("features g { n = count() }");
        let jit = match JitKernel::compile(&k) {
            Ok(j) => j,
            Err(e) => panic!("{e}"),
        };
        assert_send(&jit);
        let k = &k;
        let cells = std::thread::scope(|s| {
            s.spawn(move || {
                let mut jit = jit;
                let mut state = vec![0u64; k.state_slots()];
                k.init_state(&mut state);
                jit.update(&mut state, &PacketView::default());
                jit.update(&mut state, &PacketView::default());
                let mut out = vec![0u64; k.out_cells()];
                jit.finish(&mut state, &flow(), &mut out);
                out
            })
            .join()
        });
        assert_eq!(cells.ok(), Some(vec![2]));
    }

    #[test]
    fn short_state_or_output_slices_are_left_alone_as_by_the_interpreter() {
        let k = kernel("features g { n = count()\n s = sum(pkt.len) }");
        assert!(k.state_slots() >= 2 && k.out_cells() == 2);
        let mut jit = match JitKernel::compile(&k) {
            Ok(j) => j,
            Err(e) => panic!("{e}"),
        };
        let mut interp = Interpreter::new(&k);
        let mut pkt = PacketView::default();
        pkt.len = 40;
        for exec in [&mut jit as &mut dyn Exec, &mut interp] {
            let mut short = vec![7u64; k.state_slots() - 1];
            exec.update(&mut short, &pkt);
            assert!(short.iter().all(|s| *s == 7));
            let mut state = vec![0u64; k.state_slots()];
            k.init_state(&mut state);
            exec.update(&mut state, &pkt);
            let mut out = [9u64; 1];
            exec.finish(&mut state, &flow(), &mut out);
            assert_eq!(out, [9]);
            let mut out = [9u64; 2];
            exec.finish(&mut state, &flow(), &mut out);
            assert_eq!(out, [1, 40]);
        }
    }

    #[test]
    fn the_native_entry_points_are_the_exec_functions() {
        let k = kernel("features g { s = sum(pkt.len) }");
        let jit = match JitKernel::compile(&k) {
            Ok(j) => j,
            Err(e) => panic!("{e}"),
        };
        let (update, finish) = (jit.update_fn(), jit.finish_fn());
        let mut state = vec![0u64; k.state_slots()];
        k.init_state(&mut state);
        let mut pkt = PacketView::default();
        pkt.len = 1500;
        let mut out = vec![0u64; k.out_cells()];
        // SAFETY: state and out have the kernel's sizes; `jit` is alive.
        unsafe {
            update(state.as_mut_ptr(), &pkt);
            update(state.as_mut_ptr(), &pkt);
            finish(state.as_mut_ptr(), &flow(), out.as_mut_ptr());
        }
        assert_eq!(out, vec![3000]);
        assert!(std::ptr::eq(jit.kernel(), &k));
    }
}
