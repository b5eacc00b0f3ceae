//! Feature groups: loading `.jjf` sources, selecting groups, compiling them into one kernel,
//! and running it per flow.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use jjc_abi::{CellSink, Column, FinishFn, FlowView, PacketView, UpdateFn, Value};
use jjc_flow::{FlowHandler, FlowRecord};
use jjc_kernel::{Exec, Kernel, KernelOptions, PercentileMode};
use jjc_sema::{Gathered, Library, Selection, Sources, select_groups};

use crate::error::PipelineError;
use crate::lowered::{self, KernelGroup};
use crate::native::{self, FlowFeatures, NativeGroup};

/// Where feature groups come from and which of them run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeatureConfig {
    /// `.jjf` files given with `-f` (their groups run when no group is named).
    pub files: Vec<PathBuf>,
    /// Folders searched for groups (`--features-dir`).
    pub features_dirs: Vec<PathBuf>,
    /// Groups named with `-g` (comma lists allowed); empty: the default profile plus the files' groups.
    pub groups: Vec<String>,
    /// A profile whose groups are added (`--profile`).
    pub profile: Option<String>,
    /// Also search `JJ_FEATURES_PATH` and `$XDG_CONFIG_HOME/jjc/features`.
    pub use_env: bool,
    /// How `median` and `percentile` are computed (`--percentiles`): exact, or a sketch of
    /// bounded memory and stated relative error.
    pub percentiles: PercentileMode,
    /// Where the JIT keeps compiled kernels for later runs of the same features
    /// ([`jjc_jit::KernelCache`]); `None`: compile every time.
    pub kernel_cache: Option<PathBuf>,
}

/// Which backend runs the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// Native code from Cranelift (the fast path).
    #[default]
    Jit,
    /// The reference interpreter over the kernel IR.
    Interp,
}

impl FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "jit" => Ok(Backend::Jit),
            "interp" | "interpreter" => Ok(Backend::Interp),
            other => Err(format!("unknown backend `{other}`: expected jit or interp")),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Jit => "jit",
            Backend::Interp => "interp",
        })
    }
}

/// The selected groups compiled into one kernel, with its native code when the JIT runs it.
pub struct CompiledFeatures {
    // Declared before `kernel`, so it is dropped first: the native code borrows the kernel
    // (its tables, regex sets and strings), which `kernel` keeps at a fixed heap address.
    jit: Option<NativeCode>,
    kernel: Box<Kernel>,
    /// Selected native groups, in selection order.
    natives: Vec<NativeGroup>,
    /// How a row's feature values are laid out: runs of kernel columns and native groups.
    layout: Vec<Part>,
    columns: Vec<Column>,
}

/// JIT-compiled code, shared read-only between the threads of a run.
struct NativeCode(jjc_jit::JitKernel<'static>);

// SAFETY: after `JitKernel::compile` returns, nothing mutates the JIT module: threads only
// copy the two function pointers out of it (`update_fn`/`finish_fn`, `&self` methods) and
// call them; the code is immutable executable memory, and the kernel data it reads is
// immutable too (`Kernel` is `Sync`). Dropping happens once, when no thread uses it.
unsafe impl Sync for NativeCode {}

/// A run of output columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// `len` kernel columns from the kernel's column `start`.
    Kernel { start: usize, len: usize },
    /// Every column of native group `i`.
    Native(usize),
}

impl fmt::Debug for CompiledFeatures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledFeatures")
            .field("columns", &self.kernel.columns().len())
            .field("jit", &self.jit.is_some())
            .finish()
    }
}

impl CompiledFeatures {
    /// Loads the groups' sources, selects the groups and compiles them for `backend`.
    /// Errors in the `.jjf` sources come back rendered as `jjc check` shows them.
    pub fn load(
        config: &FeatureConfig,
        backend: Backend,
    ) -> Result<CompiledFeatures, PipelineError> {
        let sources = Sources {
            files: config.files.clone(),
            features_dirs: config.features_dirs.clone(),
            use_env: config.use_env,
        };
        let gathered = Library::gather(&sources, &[]);
        let names: Vec<String> = config
            .groups
            .iter()
            .flat_map(|g| g.split(','))
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect();
        let mut natives: Vec<(usize, NativeGroup)> = Vec::new();
        let mut jjf_names = Vec::new();
        for (i, n) in names.iter().enumerate() {
            match native::registered(n) {
                Some(g) => natives.push((i, g)),
                None => jjf_names.push(n.clone()),
            }
        }
        let cache = config
            .kernel_cache
            .as_ref()
            .map(jjc_jit::KernelCache::in_dir);
        let only_native = !names.is_empty() && jjf_names.is_empty() && config.profile.is_none();
        // A kernel an earlier run lowered from the same files, selection and options.
        let key = cache
            .as_ref()
            .and_then(|_| lowered::key(&gathered, &jjf_names, only_native, config));
        let kept = cache
            .as_ref()
            .zip(key.as_ref())
            .and_then(|(cache, key)| cache.load_lowered(key))
            .and_then(|bytes| lowered::decode(&bytes));
        let (kernel, groups) = match kept {
            Some(kept) => kept,
            None => {
                let (kernel, groups) = lower(gathered, jjf_names, only_native, config)?;
                if let (Some(cache), Some(key)) = (&cache, &key) {
                    cache.store_lowered(key, &lowered::encode(&kernel, &groups));
                }
                (kernel, groups)
            }
        };
        let mut layout = Vec::new();
        let mut next = 0;
        let mut start = 0;
        for g in &groups {
            let position = names.iter().position(|n| *n == g.name);
            while let Some(p) = position
                && next < natives.len()
                && natives[next].0 < p
            {
                layout.push(Part::Native(next));
                next += 1;
            }
            layout.push(Part::Kernel {
                start,
                len: g.columns,
            });
            start += g.columns;
        }
        layout.extend((next..natives.len()).map(Part::Native));
        let natives = natives.into_iter().map(|(_, g)| g).collect();
        Self::assemble(Box::new(kernel), natives, layout, backend, cache.as_ref())
    }

    /// Wraps a compiled kernel, compiling it to native code for the JIT backend.
    pub fn from_kernel(
        kernel: Box<Kernel>,
        backend: Backend,
    ) -> Result<CompiledFeatures, PipelineError> {
        let layout = vec![Part::Kernel {
            start: 0,
            len: kernel.columns().len(),
        }];
        Self::assemble(kernel, Vec::new(), layout, backend, None)
    }

    fn assemble(
        kernel: Box<Kernel>,
        natives: Vec<NativeGroup>,
        layout: Vec<Part>,
        backend: Backend,
        cache: Option<&jjc_jit::KernelCache>,
    ) -> Result<CompiledFeatures, PipelineError> {
        let mut columns: Vec<Column> = Vec::new();
        for part in &layout {
            let (from, cols) = match *part {
                Part::Kernel { start, len } => {
                    ("a .jjf group", &kernel.columns()[start..start + len])
                }
                Part::Native(i) => (natives[i].name.as_str(), &natives[i].columns[..]),
            };
            for c in cols {
                if columns.iter().any(|x| x.name == c.name) {
                    return Err(PipelineError::Features(format!(
                        "error: feature `{}` (from {from}) is defined twice among the selected groups; rename one or select only one of them",
                        c.name
                    )));
                }
                columns.push(c.clone());
            }
        }
        // SAFETY: the kernel lives in a Box that `CompiledFeatures` owns and never moves out of
        // or replaces; the heap value stays at its address until `CompiledFeatures` drops, and
        // `jit` (which borrows it) is declared first, so it is dropped before the kernel.
        let kernel_ref: &'static Kernel = unsafe { &*std::ptr::from_ref::<Kernel>(&*kernel) };
        let jit = match backend {
            Backend::Jit => Some(NativeCode(
                jjc_jit::JitKernel::compile_cached(kernel_ref, cache)
                    .map_err(|e| PipelineError::Features(e.to_string()))?,
            )),
            Backend::Interp => None,
        };
        Ok(CompiledFeatures {
            jit,
            kernel,
            natives,
            layout,
            columns,
        })
    }

    /// The feature columns, in output order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The kernel.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// The native functions, when compiled for the JIT.
    pub(crate) fn native(&self) -> Option<NativeExec> {
        self.jit.as_ref().map(|j| NativeExec {
            update: j.0.update_fn(),
            finish: j.0.finish_fn(),
        })
    }
}

/// Checks the gathered files, selects the `.jjf` groups (`jjf_names` and the profile, or
/// the default profile and the files' groups when none is named, or none when every group
/// named is native) and lowers them into one kernel.
fn lower(
    gathered: Gathered,
    jjf_names: Vec<String>,
    only_native: bool,
    config: &FeatureConfig,
) -> Result<(Kernel, Vec<KernelGroup>), PipelineError> {
    let (lib, diags) = gathered.check();
    if diags.has_errors() {
        return Err(features_error(&lib, &diags));
    }
    let groups = if only_native {
        Vec::new()
    } else {
        let selection = Selection {
            groups: jjf_names,
            profile: config.profile.clone(),
        };
        select_groups(&lib, &selection).map_err(|d| features_error(&lib, &d))?
    };
    let options = KernelOptions {
        percentiles: config.percentiles,
    };
    let kernel = jjc_kernel::compile_with(&lib.program, &groups, &options)
        .map_err(|e| PipelineError::Features(e.to_string()))?;
    let groups = groups
        .iter()
        .map(|g| KernelGroup {
            name: lib
                .program
                .group(*g)
                .map(|grp| grp.name.clone())
                .unwrap_or_default(),
            columns: lib.program.columns(&[*g]).len(),
        })
        .collect();
    Ok((kernel, groups))
}

fn features_error(lib: &Library, diags: &jjc_syntax::Diagnostics) -> PipelineError {
    let text: Vec<String> = diags
        .iter()
        .filter(|d| d.severity == jjc_syntax::Severity::Error)
        .map(|d| jjc_syntax::render_human(d, &lib.sources, false))
        .collect();
    PipelineError::Features(text.join("\n"))
}

/// Calls JIT-compiled kernel functions.
#[derive(Clone, Copy)]
pub(crate) struct NativeExec {
    update: UpdateFn,
    finish: FinishFn,
}

impl Exec for NativeExec {
    fn update(&mut self, state: &mut [u64], pkt: &PacketView<'_>) {
        // SAFETY: the functions were compiled for this kernel, whose state has exactly
        // `state.len()` slots; the code stays mapped while the `CompiledFeatures` that made this
        // value lives, which outlives every run that uses it.
        unsafe { (self.update)(state.as_mut_ptr(), pkt) }
    }

    fn finish(&mut self, state: &mut [u64], flow: &FlowView, out: &mut [u64]) {
        // SAFETY: as for `update`; `out` has the kernel's `out_cells()` cells.
        unsafe { (self.finish)(state.as_mut_ptr(), flow, out.as_mut_ptr()) }
    }
}

/// A flow's feature state besides the kernel's slots (which the flow table keeps inline):
/// one state per selected native group.
pub(crate) struct FlowState {
    natives: Vec<Box<dyn FlowFeatures>>,
}

/// Runs the compiled features on every flow: the kernel's state lives inline in the flow
/// table, one slot per word.
pub(crate) struct KernelHandler<'k, E> {
    features: &'k CompiledFeatures,
    exec: E,
    cells: Vec<u64>,
    /// Scratch rows for reordering when native groups are selected.
    kernel_values: Vec<Value>,
    native_values: Vec<Vec<Value>>,
}

impl<'k, E: Exec> KernelHandler<'k, E> {
    pub(crate) fn new(features: &'k CompiledFeatures, exec: E) -> Self {
        KernelHandler {
            features,
            exec,
            cells: vec![0; features.kernel.out_cells()],
            kernel_values: Vec::new(),
            native_values: vec![Vec::new(); features.natives.len()],
        }
    }

    /// Frees the state (its kernel `slots`) of a flow whose row will not be made.
    pub(crate) fn discard(&mut self, slots: &mut [u64]) {
        self.features.kernel.drop_state(slots);
    }

    /// Finishes an ended flow whose kernel state is `slots`: gives `sink` its feature cells
    /// and frees its state.
    pub(crate) fn finish(
        &mut self,
        record: &FlowRecord,
        state: &mut FlowState,
        slots: &mut [u64],
        sink: &mut impl CellSink,
    ) {
        let view = flow_view(record);
        let kernel = &self.features.kernel;
        kernel.prefetch_state(slots);
        self.exec.finish(slots, &view, &mut self.cells);
        if state.natives.is_empty() {
            kernel.emit_cells(&self.cells, slots, sink);
            kernel.drop_state(slots);
            return;
        }
        self.kernel_values.clear();
        kernel.cells_to_values_with_state(&self.cells, slots, &mut self.kernel_values);
        kernel.drop_state(slots);
        for (values, native) in self.native_values.iter_mut().zip(&mut state.natives) {
            values.clear();
            native.finish(&view, values);
        }
        for part in &self.features.layout {
            match *part {
                Part::Kernel { start, len } => {
                    for v in &self.kernel_values[start..start + len] {
                        sink.value(v);
                    }
                }
                Part::Native(i) => {
                    let values = &mut self.native_values[i];
                    values.resize(self.features.natives[i].columns.len(), Value::Int(0));
                    for v in values.iter() {
                        sink.value(v);
                    }
                }
            }
        }
    }
}

impl<E: Exec> FlowHandler for KernelHandler<'_, E> {
    type State = FlowState;

    fn inline_words(&self) -> usize {
        self.features.kernel.state_slots()
    }

    fn start(&mut self, _: &FlowRecord, slots: &mut [u64]) -> FlowState {
        self.features.kernel.init_state(slots);
        let natives = self
            .features
            .natives
            .iter()
            .map(|n| n.extractor.start())
            .collect();
        FlowState { natives }
    }

    #[inline]
    fn update(
        &mut self,
        state: &mut FlowState,
        slots: &mut [u64],
        _: &FlowRecord,
        pkt: &PacketView<'_>,
    ) {
        self.exec.update(slots, pkt);
        for n in &mut state.natives {
            n.update(pkt);
        }
    }
}

/// What a kernel's `finish` sees of a flow.
pub(crate) fn flow_view(r: &FlowRecord) -> FlowView {
    let int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    FlowView {
        start_time: r.start_time,
        end_time: r.end_time,
        duration: r.duration(),
        packet_count: int(r.total_packets()),
        byte_count: int(r.total_bytes()),
        packets_fwd: int(r.packets_fwd),
        packets_bwd: int(r.packets_bwd),
        bytes_fwd: int(r.bytes_fwd),
        bytes_bwd: int(r.bytes_bwd),
        src_port: i64::from(r.src_port),
        dst_port: i64::from(r.dst_port),
        protocol: i64::from(r.protocol),
        vlan_id: i64::from(r.vlan_id()),
        ip_version: i64::from(r.ip_version),
        terminated: i64::from(r.terminated),
        src_ip: r.src_ip,
        dst_ip: r.dst_ip,
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use jjc_kernel::RelativeError;

    use super::*;
    use crate::{Pipeline, RunConfig, Table};

    /// A generated capture of 20,000 packets with few, long flows.
    fn long_flows(dir: &Path) -> PathBuf {
        let path = dir.join("long.pcap");
        let synth = jjc_synth::SynthConfig {
            target_packets: Some(20_000),
            flow_rate: 0.2,
            ..jjc_synth::SynthConfig::default()
        };
        let written = std::fs::File::create(&path)
            .and_then(|f| jjc_synth::write_capture(&synth, std::io::BufWriter::new(f)));
        if let Err(e) = written {
            panic!("{e}");
        }
        path
    }

    fn table(capture: &Path, percentiles: PercentileMode, backend: Backend) -> Table {
        let config = RunConfig {
            features: FeatureConfig {
                percentiles,
                ..FeatureConfig::default()
            },
            backend,
            ..RunConfig::default()
        };
        match Pipeline::new(config).and_then(|p| p.process_pcap(capture)) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn sketch_mode_stays_within_alpha_of_exact_mode_column_by_column() {
        let alpha = 0.01;
        let mode = match RelativeError::new(alpha) {
            Ok(a) => PercentileMode::Sketch(a),
            Err(e) => panic!("{e}"),
        };
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        };
        let capture = long_flows(dir.path());
        let exact = table(&capture, PercentileMode::Exact, Backend::Jit);
        let packets = match exact.column_index("total_packets") {
            Some(i) => i,
            None => panic!("no total_packets column"),
        };
        let long = exact
            .rows
            .iter()
            .filter(|r| matches!(r[packets], Value::Int(n) if n > 128))
            .count();
        println!("{long} of {} flows past the exact limit", exact.rows.len());
        assert!(long >= 3, "{long} flows past the exact limit");
        for backend in [Backend::Jit, Backend::Interp] {
            let sketched = table(&capture, mode, backend);
            assert_eq!(sketched.columns, exact.columns);
            assert_eq!(sketched.rows.len(), exact.rows.len());
            let mut estimated = 0;
            for (e_row, s_row) in exact.rows.iter().zip(&sketched.rows) {
                for (col, (e, s)) in exact.columns.iter().zip(e_row.iter().zip(s_row)) {
                    if e == s {
                        continue;
                    }
                    let percentile = col.name.contains("median")
                        || col.name.rsplit('_').next().is_some_and(|t| {
                            t.strip_prefix('p')
                                .is_some_and(|n| n.parse::<u32>().is_ok())
                        });
                    // Exact runs sum the moments of a stream with a percentile from its
                    // kept values (numpy's pairwise sum), sketched runs packet by packet.
                    let moment = col.name.ends_with("_std")
                        || col.name.ends_with("_mean")
                        || col.name.ends_with("variance")
                        || col.name.starts_with("burstiness_index");
                    match (e, s) {
                        (Value::Float(e), Value::Float(s)) if moment && !percentile => {
                            assert!(
                                (s - e).abs() <= 1e-12 * e.abs().max(s.abs()),
                                "{backend}: {}: sketch {s}, exact {e}",
                                col.name
                            );
                        }
                        (Value::Float(e), Value::Float(s)) if percentile => {
                            assert!(
                                (s - e).abs() <= alpha * e.abs() * (1.0 + 1e-9),
                                "{backend}: {}: sketch {s}, exact {e}",
                                col.name
                            );
                            assert!(
                                matches!(e_row[packets], Value::Int(n) if n > 128),
                                "{}: only flows past the exact limit may differ",
                                col.name
                            );
                            estimated += 1;
                        }
                        _ => panic!("{backend}: {}: sketch {s:?}, exact {e:?}", col.name),
                    }
                }
            }
            assert!(estimated > 0, "{backend}: the sketch estimated something");
        }
    }
}
