//! Lowering the checked program (HIR) of the selected groups to one kernel.
//!
//! Packet-context expressions go to `update`, flow-context ones to `finish`. Both builders
//! number their values, so equal expressions of different groups become one register, one
//! `prev` slot pair, one accumulator. Accumulators are registered while the features are
//! lowered and their per-packet code is emitted at the end, once every component that
//! `finish` reads is known (a moment accumulator keeps M3/M4 only if skew/kurtosis read them).
//! When a stream whose values an exact percentile keeps also has a mean, variance or standard
//! deviation, the features are lowered a second time, knowing it: those are then numpy's
//! sums over the kept values at the flow's end, and the packets no longer update them.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use jjc_abi::kernel::{flow_offsets as fo, packet_offsets as po};
use jjc_abi::{Column, ColumnType};
use jjc_sema::Program;
use jjc_sema::builtins::{Agg, Field, Func};
use jjc_sema::hir::{
    AggParam, Aggregate, Context, Expr, ExprKind, FeatureId, GroupId, LetId, PatternId, Shape,
    TableId, TableKey, Value,
};
use jjc_sema::types::{Base, Type};
use jjc_syntax::Span;
use jjc_syntax::ast::{BinaryOp, UnaryOp};

use crate::builder::Builder;
use crate::flow_strings::StringPool;
use crate::ir::{
    FBinOp, FUnOp, FloatCC, FunctionKind, Helper, IBinOp, IUnOp, Inst, IntCC, Limits, Load, MTy,
    Reg,
};
use crate::kernel::{DataBlock, Kernel, KernelError, Slot, SlotKind, ip_words};
use crate::runtime::{
    ArrayData, BufferKind, EdgesData, MAX_SET_PATTERNS, RegexSetData, TableData, values_keep,
};
use crate::sketch::PercentileMode;
use crate::tls::TlsField;

/// Tables with at most this many entries are looked up with inline compares.
const INLINE_TABLE: usize = 8;
/// The most strings a `+` of two strings may produce.
const MAX_CONCAT: usize = 4096;

type R<T> = Result<T, KernelError>;

/// Which function an expression is lowered into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Side {
    Update,
    Finish,
}

/// A lowered value: its machine words, its definedness (`None`: always defined) and, for
/// strings, every pool id it can take.
#[derive(Debug, Clone)]
struct Val {
    w: Vec<Reg>,
    def: Option<Reg>,
    strs: Option<Rc<Vec<u32>>>,
}

impl Val {
    fn one(r: Reg) -> Val {
        Val {
            w: vec![r],
            def: None,
            strs: None,
        }
    }

    fn w0(&self) -> R<Reg> {
        self.w.first().copied().ok_or(KernelError::Unchecked {
            span: Span::default(),
        })
    }

    fn w1(&self) -> R<Reg> {
        self.w.get(1).copied().ok_or(KernelError::Unchecked {
            span: Span::default(),
        })
    }
}

/// A `finish` string value chosen between one whose every pool id is known and one that is
/// made at run time (`x ?? "a" + str(n)`, an `if` with one such arm): the select
/// `cond ? (a-arm) : (b-arm)`, kept so that a `+` with known strings can be folded into the
/// known arm and made at run time only in the other ([`Lower::concat`]).
#[derive(Debug, Clone)]
struct Split {
    cond: Reg,
    /// The arm whose pool ids are known.
    known: Val,
    /// The other arm.
    other: Val,
    /// Whether the known arm is the one taken when `cond` is not 0.
    known_when_set: bool,
}

/// What a per-flow accumulator computes; the registers are `update` registers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum AccKey {
    Count {
        pred: Option<Reg>,
    },
    Sum {
        x: Reg,
        pred: Option<Reg>,
    },
    Moments {
        x: Reg,
        pred: Option<Reg>,
    },
    Min {
        x: Reg,
        pred: Option<Reg>,
    },
    Max {
        x: Reg,
        pred: Option<Reg>,
    },
    First {
        w: Vec<Reg>,
        pred: Option<Reg>,
    },
    Last {
        w: Vec<Reg>,
        pred: Option<Reg>,
    },
    Nth {
        w: Vec<Reg>,
        pred: Option<Reg>,
        n: i64,
    },
    Any {
        p: Reg,
    },
    All {
        violated: Reg,
    },
    Runs {
        elem: Option<Reg>,
        x: Reg,
    },
    Mode {
        w: Vec<Reg>,
        pred: Option<Reg>,
    },
    BitOr {
        x: Reg,
        pred: Option<Reg>,
    },
    Seq {
        w: Vec<Reg>,
        pred: Option<Reg>,
        n: u32,
    },
    Hist {
        x: Reg,
        pred: Option<Reg>,
        edges: u32,
        bins: u32,
    },
    Entropy {
        ptr: Reg,
        len: Reg,
        pred: Option<Reg>,
    },
    Values {
        x: Reg,
        pred: Option<Reg>,
    },
}

impl AccKey {
    fn label(&self) -> String {
        let p = |p: &Option<Reg>| p.map(|p| format!(" if {p}")).unwrap_or_default();
        let ws = |w: &[Reg]| {
            w.iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        match self {
            AccKey::Count { pred } => format!("count({})", p(pred).trim_start()),
            AccKey::Sum { x, pred } => format!("sum({x}{})", p(pred)),
            AccKey::Moments { x, pred } => format!("moments({x}{})", p(pred)),
            AccKey::Min { x, pred } => format!("min({x}{})", p(pred)),
            AccKey::Max { x, pred } => format!("max({x}{})", p(pred)),
            AccKey::First { w, pred } => format!("first({}{})", ws(w), p(pred)),
            AccKey::Last { w, pred } => format!("last({}{})", ws(w), p(pred)),
            AccKey::Nth { w, pred, n } => format!("nth({}, {n}{})", ws(w), p(pred)),
            AccKey::Any { p } => format!("any({p})"),
            AccKey::All { violated } => format!("all(not {violated})"),
            AccKey::Runs { elem, x } => format!("runs({x}{})", p(elem)),
            AccKey::Mode { w, pred } => format!("mode({}{})", ws(w), p(pred)),
            AccKey::BitOr { x, pred } => format!("bit_or({x}{})", p(pred)),
            AccKey::Seq { w, pred, n } => format!("seq({}, {n}{})", ws(w), p(pred)),
            AccKey::Hist { x, pred, edges, .. } => format!("hist({x}, d{edges}{})", p(pred)),
            AccKey::Entropy { ptr, len, pred } => format!("entropy({ptr},{len}{})", p(pred)),
            AccKey::Values { x, pred } => format!("values({x}{})", p(pred)),
        }
    }
}

/// One registered accumulator: its key, its named state components, and the count
/// accumulator it relies on (for `n`).
#[derive(Debug)]
struct Acc {
    key: AccKey,
    comps: Vec<(&'static str, u32)>,
    count: Option<usize>,
}

/// Constant data being collected; built into [`DataBlock`]s at the end.
#[derive(Debug)]
enum DataSpec {
    Regex(Vec<String>),
    Table(TableData),
    Array(Vec<i64>),
    Edges(Vec<f64>),
    Bytes(Vec<u8>),
    StrLens,
    StrRanks,
    StrPool,
}

/// Choices made per run that change the code a kernel is lowered to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelOptions {
    /// How `median` and `percentile` are computed: exact (the default) or a sketch of bounded
    /// memory ([`crate::sketch`]).
    pub percentiles: PercentileMode,
}

/// The lowering state for one kernel.
struct Lower<'p> {
    program: &'p Program,
    options: KernelOptions,
    upd: Builder,
    fin: Builder,
    slots: Vec<Slot>,
    accs: Vec<Acc>,
    acc_index: HashMap<AccKey, usize>,
    data: Vec<DataSpec>,
    strings: Vec<String>,
    string_ids: HashMap<String, u32>,
    lets: HashMap<(LetId, Side), Val>,
    features: HashMap<FeatureId, Val>,
    prevs: HashMap<(Vec<Reg>, Option<Reg>, bool), Val>,
    regex_sets: HashMap<(Reg, Reg), Vec<u32>>,
    tables: HashMap<TableId, (Vec<u32>, usize)>,
    str_arrays: HashMap<&'static str, u32>,
    /// The TLS buffer slot of each parsed byte string `(ptr, len)`.
    tls_slots: HashMap<(Reg, Reg), u32>,
    /// The flow's run-time strings slot and the string pool's data block, once needed.
    runtime_strings: Option<(u32, u32)>,
    /// The `finish` selects between a known and a run-time string, by result register.
    splits: HashMap<Reg, Split>,
    columns: Vec<Column>,
    column_cells: Vec<u32>,
    cells: u32,
    /// The value streams whose values are kept anyway (an exact median or percentile of
    /// them), found by a first lowering: their mean, variance and standard deviation are
    /// computed from those values when the flow ends ([`Helper::ValuesMoment`]) instead of
    /// updated with every packet. Keys are [`AccKey::Values`].
    kept_streams: HashSet<AccKey>,
    /// The value streams, kept anyway, whose mode some feature asks (`mode` or `mode_count`
    /// of the int packet field they are the floats of), found by a first lowering: the mode
    /// is taken from the kept values when the flow ends ([`Helper::ValuesMode`]) instead of
    /// counted with every packet. Keys are [`AccKey::Values`].
    mode_streams: HashSet<AccKey>,
    /// The value streams a mode could be taken from, were their values kept: every `mode`
    /// and `mode_count` of an int packet field, as the [`AccKey::Values`] of its floats.
    mode_candidates: HashSet<AccKey>,
}

/// Compiles the selected groups (in output order) of a checked program into one kernel,
/// with the default [`KernelOptions`] (exact percentiles).
pub fn compile(program: &Program, groups: &[GroupId]) -> Result<Kernel, KernelError> {
    compile_with(program, groups, &KernelOptions::default())
}

/// Compiles the selected groups (in output order) of a checked program into one kernel,
/// lowered as `options` say.
pub fn compile_with(
    program: &Program,
    groups: &[GroupId],
    options: &KernelOptions,
) -> Result<Kernel, KernelError> {
    let first = lower_features(program, groups, options, Kept::default())?;
    // The streams a first lowering keeps every value of, and also takes moments of: a
    // second lowering computes those moments from the kept values. The two lowerings make
    // the same update registers, so a stream's key names the same values in both; should
    // they not, the second would keep other streams than the first, and the first is used.
    let moments: HashSet<AccKey> = first
        .accs
        .iter()
        .filter_map(|a| match &a.key {
            AccKey::Moments { x, pred } => Some(AccKey::Values { x: *x, pred: *pred }),
            _ => None,
        })
        .filter(|k| first.acc_index.contains_key(k))
        .collect();
    let modes: HashSet<AccKey> = first
        .mode_candidates
        .iter()
        .filter(|k| first.acc_index.contains_key(k))
        .cloned()
        .collect();
    let kept = Kept { moments, modes };
    let mut l = if kept.is_empty() || options.percentiles != PercentileMode::Exact {
        first
    } else {
        let second = lower_features(program, groups, options, kept)?;
        if second.value_streams() == first.value_streams() {
            second
        } else {
            first
        }
    };
    l.emit_accumulators()?;
    l.into_kernel()
}

/// The value streams a second lowering takes more from than their percentiles
/// ([`AccKey::Values`] keys of the first lowering).
#[derive(Debug, Default)]
struct Kept {
    /// Those whose mean, variance and standard deviation come from their values.
    moments: HashSet<AccKey>,
    /// Those whose mode comes from their values.
    modes: HashSet<AccKey>,
}

impl Kept {
    fn is_empty(&self) -> bool {
        self.moments.is_empty() && self.modes.is_empty()
    }
}

/// Lowers the features of the selected groups (in output order), the moments and modes of
/// the `kept` streams taken from their kept values; the accumulators are not yet emitted.
fn lower_features<'p>(
    program: &'p Program,
    groups: &[GroupId],
    options: &KernelOptions,
    kept: Kept,
) -> Result<Lower<'p>, KernelError> {
    let mut l = Lower {
        program,
        options: *options,
        upd: Builder::new(FunctionKind::Update),
        fin: Builder::new(FunctionKind::Finish),
        slots: Vec::new(),
        accs: Vec::new(),
        acc_index: HashMap::new(),
        data: Vec::new(),
        strings: Vec::new(),
        string_ids: HashMap::new(),
        lets: HashMap::new(),
        features: HashMap::new(),
        prevs: HashMap::new(),
        regex_sets: HashMap::new(),
        tables: HashMap::new(),
        str_arrays: HashMap::new(),
        tls_slots: HashMap::new(),
        runtime_strings: None,
        splits: HashMap::new(),
        columns: Vec::new(),
        column_cells: Vec::new(),
        cells: 0,
        kept_streams: kept.moments,
        mode_streams: kept.modes,
        mode_candidates: HashSet::new(),
    };
    for g in groups {
        let group = program.group(*g).ok_or(KernelError::UnknownGroup(g.0))?;
        for f in &group.features {
            l.output_feature(*f)?;
        }
    }
    Ok(l)
}

fn unchecked(span: Span) -> KernelError {
    KernelError::Unchecked { span }
}

/// The machine words of a value of this base type.
fn words_of(base: Base) -> &'static [MTy] {
    match base {
        Base::Float => &[MTy::F64],
        Base::Bytes | Base::Ip => &[MTy::I64, MTy::I64],
        Base::Nothing => &[],
        _ => &[MTy::I64],
    }
}

impl<'p> Lower<'p> {
    /// The streams whose every value is kept ([`AccKey::Values`]).
    fn value_streams(&self) -> HashSet<&AccKey> {
        self.acc_index
            .keys()
            .filter(|k| matches!(k, AccKey::Values { .. }))
            .collect()
    }

    fn b(&mut self, side: Side) -> &mut Builder {
        match side {
            Side::Update => &mut self.upd,
            Side::Finish => &mut self.fin,
        }
    }

    /// Runs `lower` with the `finish` helper calls it makes guarded by `cond` (a 0/1 value)
    /// as well as by the guard already in force: the arm of an `if`, or the fallback of a
    /// `??`, whose helpers (a string made at run time, a percentile) run only for the flows
    /// that take it. `update` calls stay unconditional.
    fn guarded<T>(&mut self, side: Side, cond: Reg, lower: impl FnOnce(&mut Self) -> R<T>) -> R<T> {
        if side != Side::Finish {
            return lower(self);
        }
        let outer = self.fin.guard();
        let inner = self.and(side, outer, Some(cond));
        self.fin.set_guard(inner);
        let v = lower(self);
        self.fin.set_guard(outer);
        v
    }

    /// Runs `lower` with no guard on `finish` helper calls: for the values kept and reused
    /// wherever they are referenced (a `let`, a feature), which must hold for every flow.
    fn unguarded<T>(&mut self, lower: impl FnOnce(&mut Self) -> R<T>) -> R<T> {
        let outer = self.fin.set_guard(None);
        let v = lower(self);
        self.fin.set_guard(outer);
        v
    }

    // ---- strings and data -------------------------------------------------------------

    fn intern(&mut self, s: &str) -> u32 {
        if let Some(id) = self.string_ids.get(s) {
            return *id;
        }
        let id = self.strings.len() as u32;
        self.strings.push(s.to_string());
        self.string_ids.insert(s.to_string(), id);
        id
    }

    fn add_data(&mut self, spec: DataSpec) -> u32 {
        self.data.push(spec);
        (self.data.len() - 1) as u32
    }

    fn str_array(&mut self, which: &'static str) -> u32 {
        if let Some(d) = self.str_arrays.get(which) {
            return *d;
        }
        let spec = if which == "lens" {
            DataSpec::StrLens
        } else {
            DataSpec::StrRanks
        };
        let d = self.add_data(spec);
        self.str_arrays.insert(which, d);
        d
    }

    /// The string pool's address and the flow's strings slot address, for helpers that read
    /// or make run-time strings.
    fn runtime_string_args(&mut self, side: Side) -> (Reg, Reg) {
        let (slot, pool) = match self.runtime_strings {
            Some(x) => x,
            None => {
                // A full store falls back to "", so the pool must have it.
                self.intern("");
                let slot = self.new_slot(
                    "strings".to_string(),
                    SlotKind::Buffer(BufferKind::Strings),
                    0,
                );
                let pool = self.add_data(DataSpec::StrPool);
                self.runtime_strings = Some((slot, pool));
                (slot, pool)
            }
        };
        let b = self.b(side);
        (b.data_addr(pool), b.slot_addr(slot))
    }

    // ---- small value helpers ----------------------------------------------------------

    fn and(&mut self, side: Side, a: Option<Reg>, b: Option<Reg>) -> Option<Reg> {
        match (a, b) {
            (None, x) | (x, None) => x,
            (Some(a), Some(b)) => Some(self.b(side).ibin(IBinOp::And, a, b)),
        }
    }

    fn or(&mut self, side: Side, a: Option<Reg>, b: Option<Reg>) -> Option<Reg> {
        match (a, b) {
            (None, _) | (_, None) => None,
            (Some(a), Some(b)) => Some(self.b(side).ibin(IBinOp::Or, a, b)),
        }
    }

    fn not(&mut self, side: Side, a: Reg) -> Reg {
        let one = self.b(side).iconst(1);
        self.b(side).ibin(IBinOp::Xor, a, one)
    }

    fn defined(&mut self, side: Side, v: &Val) -> Reg {
        match v.def {
            Some(d) => d,
            None => self.b(side).iconst(1),
        }
    }

    /// A bool value with none read as false.
    fn truthy(&mut self, side: Side, v: &Val) -> R<Reg> {
        let x = v.w0()?;
        Ok(match v.def {
            Some(d) => self.b(side).ibin(IBinOp::And, d, x),
            None => x,
        })
    }

    fn default_words(&mut self, side: Side, base: Base) -> Vec<Reg> {
        match base {
            Base::Float => vec![self.b(side).fconst(0.0)],
            Base::Str => {
                let id = self.intern("");
                vec![self.b(side).iconst(i64::from(id))]
            }
            Base::Ip => {
                let (hi, lo) = ip_words(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
                vec![self.b(side).iconst(hi), self.b(side).iconst(lo)]
            }
            Base::Bytes => {
                let z = self.b(side).iconst(0);
                vec![z, z]
            }
            Base::Nothing => vec![],
            _ => vec![self.b(side).iconst(0)],
        }
    }

    fn default_strs(&mut self, base: Base) -> Option<Rc<Vec<u32>>> {
        (base == Base::Str).then(|| Rc::new(vec![self.intern("")]))
    }

    /// Gives a `none` literal (no words) the words of `base`.
    fn coerce(&mut self, side: Side, v: Val, base: Base) -> Val {
        if !v.w.is_empty() || base == Base::Nothing {
            return v;
        }
        let w = self.default_words(side, base);
        let zero = self.b(side).iconst(0);
        Val {
            w,
            def: Some(zero),
            strs: (base == Base::Str).then(|| Rc::new(Vec::new())),
        }
    }

    fn union(a: &Option<Rc<Vec<u32>>>, b: &Option<Rc<Vec<u32>>>) -> Option<Rc<Vec<u32>>> {
        match (a, b) {
            (Some(x), Some(y)) => {
                let mut v: Vec<u32> = x.iter().chain(y.iter()).copied().collect();
                v.sort_unstable();
                v.dedup();
                Some(Rc::new(v))
            }
            _ => None,
        }
    }

    fn select_val(&mut self, side: Side, cond: Reg, a: &Val, b: &Val) -> Val {
        let w =
            a.w.iter()
                .zip(&b.w)
                .map(|(x, y)| self.b(side).select(cond, *x, *y))
                .collect();
        let def = match (a.def, b.def) {
            (None, None) => None,
            (x, y) => {
                let one = self.b(side).iconst(1);
                Some(
                    self.b(side)
                        .select(cond, x.unwrap_or(one), y.unwrap_or(one)),
                )
            }
        };
        let v = Val {
            w,
            def,
            strs: Self::union(&a.strs, &b.strs),
        };
        if side == Side::Finish
            && v.strs.is_none()
            && let Ok(r) = v.w0()
        {
            let split = match (&a.strs, &b.strs) {
                (Some(_), None) => Some((a, b, true)),
                (None, Some(_)) => Some((b, a, false)),
                _ => None,
            };
            if let Some((known, other, known_when_set)) = split {
                self.splits.insert(
                    r,
                    Split {
                        cond,
                        known: known.clone(),
                        other: other.clone(),
                        known_when_set,
                    },
                );
            }
        }
        v
    }

    fn lit(&mut self, side: Side, v: &Value, span: Span) -> R<Val> {
        let b = self.b(side);
        Ok(match v {
            Value::Bool(x) => Val::one(b.iconst(i64::from(*x))),
            Value::Int(x) => Val::one(b.iconst(*x)),
            Value::Float(x) => Val::one(b.fconst(*x)),
            Value::Dir(d) => Val::one(b.iconst(*d as i64)),
            Value::Ip(ip) => {
                let (hi, lo) = ip_words(*ip);
                Val {
                    w: vec![b.iconst(hi), b.iconst(lo)],
                    def: None,
                    strs: None,
                }
            }
            Value::Str(s) => {
                let id = self.intern(s);
                let mut v = Val::one(self.b(side).iconst(i64::from(id)));
                v.strs = Some(Rc::new(vec![id]));
                v
            }
            Value::Bytes(bytes) => {
                if side == Side::Finish {
                    return Err(unchecked(span));
                }
                let d = self.add_data(DataSpec::Bytes(bytes.clone()));
                let ptr = self.upd.data_addr(d);
                let len = self.upd.iconst(bytes.len() as i64);
                Val {
                    w: vec![ptr, len],
                    def: None,
                    strs: None,
                }
            }
            Value::None => Val {
                w: vec![],
                def: Some(b.iconst(0)),
                strs: None,
            },
        })
    }

    // ---- fields -----------------------------------------------------------------------

    fn ip_load(&mut self, side: Side, offset: usize, version: Reg) -> Val {
        let b = self.b(side);
        let (hi, lo) = if side == Side::Update {
            (
                b.load_pkt(offset, Load::U64Be),
                b.load_pkt(offset + 8, Load::U64Be),
            )
        } else {
            (
                b.load_flow(offset, Load::U64Be),
                b.load_flow(offset + 8, Load::U64Be),
            )
        };
        let four = b.iconst(4);
        let is4 = b.icmp(IntCC::Eq, version, four);
        let mapped = b.iconst(0xffff_0000_0000);
        let zero = b.iconst(0);
        let m = b.select(is4, mapped, zero);
        let lo = b.ibin(IBinOp::Or, lo, m);
        Val {
            w: vec![hi, lo],
            def: None,
            strs: None,
        }
    }

    fn pkt_field(&mut self, f: &Field, span: Span) -> R<Val> {
        let b = &mut self.upd;
        let load = |b: &mut Builder, off: usize, l: Load| Val::one(b.load_pkt(off, l));
        let flag = |b: &mut Builder, bit: i64| {
            let flags = b.load_pkt(po::TCP_FLAGS, Load::U16);
            let s = b.iconst(bit);
            let one = b.iconst(1);
            let x = b.ibin(IBinOp::Shr, flags, s);
            Val::one(b.ibin(IBinOp::And, x, one))
        };
        Ok(match f.name {
            "ts" => load(b, po::TS, Load::F64),
            "dir" => load(b, po::DIR, Load::U8),
            "len" => load(b, po::LEN, Load::U32),
            "payload_len" => load(b, po::PAYLOAD_LEN, Load::U32),
            "payload" => Val {
                w: vec![
                    b.load_pkt(po::PAYLOAD_PTR, Load::Ptr),
                    b.load_pkt(po::PAYLOAD_CAPLEN, Load::U32),
                ],
                def: None,
                strs: None,
            },
            "wire_len" => load(b, po::WIRE_LEN, Load::U32),
            "cap_len" => load(b, po::CAP_LEN, Load::U32),
            "src_ip" | "dst_ip" => {
                let v = b.load_pkt(po::IP_VERSION, Load::U8);
                let off = if f.name == "src_ip" {
                    po::SRC_IP
                } else {
                    po::DST_IP
                };
                return Ok(self.ip_load(Side::Update, off, v));
            }
            "src_port" => load(b, po::SRC_PORT, Load::U16),
            "dst_port" => load(b, po::DST_PORT, Load::U16),
            "protocol" => load(b, po::PROTOCOL, Load::U8),
            "ip_version" => load(b, po::IP_VERSION, Load::U8),
            "ttl" => load(b, po::TTL, Load::U8),
            "tos" => load(b, po::TOS, Load::U8),
            "ip_id" => load(b, po::IP_ID, Load::U32),
            "flow_label" => load(b, po::FLOW_LABEL, Load::U32),
            "is_fragment" => load(b, po::IS_FRAGMENT, Load::U8),
            "more_fragments" => load(b, po::MORE_FRAGMENTS, Load::U8),
            "frag_offset" => load(b, po::FRAG_OFFSET, Load::U16),
            "tunnel_depth" => load(b, po::TUNNEL_DEPTH, Load::U8),
            "vlan_id" => {
                // The innermost tag: vlans[vlan_count - 1], 0 without tags.
                let count = b.load_pkt(po::VLAN_COUNT, Load::U8);
                let mut v = b.iconst(0);
                for i in 0..jjc_abi::MAX_VLANS {
                    let tag = b.load_pkt(po::VLANS + 2 * i, Load::U16);
                    let n = b.iconst(i as i64 + 1);
                    let is = if i + 1 == jjc_abi::MAX_VLANS {
                        b.icmp(IntCC::Uge, count, n)
                    } else {
                        b.icmp(IntCC::Eq, count, n)
                    };
                    v = b.select(is, tag, v);
                }
                Val::one(v)
            }
            "vlan_count" => load(b, po::VLAN_COUNT, Load::U8),
            "has_mac" => load(b, po::HAS_MAC, Load::U8),
            "tcp_flags" => load(b, po::TCP_FLAGS, Load::U16),
            "tcp_seq" => load(b, po::TCP_SEQ, Load::U32),
            "tcp_ack" => load(b, po::TCP_ACK, Load::U32),
            "tcp_window" => load(b, po::TCP_WINDOW, Load::U16),
            "tcp_options" => Val {
                w: vec![
                    b.load_pkt(po::TCP_OPTIONS_PTR, Load::Ptr),
                    b.load_pkt(po::TCP_OPTIONS_LEN, Load::U8),
                ],
                def: None,
                strs: None,
            },
            "fin" => flag(b, 0),
            "syn" => flag(b, 1),
            "rst" => flag(b, 2),
            "psh" => flag(b, 3),
            "ack" => flag(b, 4),
            "urg" => flag(b, 5),
            "ece" => flag(b, 6),
            "cwr" => flag(b, 7),
            "icmp_type" => load(b, po::ICMP_TYPE, Load::U8),
            "icmp_code" => load(b, po::ICMP_CODE, Load::U8),
            other => {
                return Err(KernelError::Unsupported {
                    what: format!("packet field `{other}`"),
                    span,
                });
            }
        })
    }

    fn flow_field(&mut self, f: &Field, span: Span) -> R<Val> {
        let b = &mut self.fin;
        let load = |b: &mut Builder, off: usize, l: Load| Val::one(b.load_flow(off, l));
        Ok(match f.name {
            "src_ip" | "dst_ip" => {
                let v = b.load_flow(fo::IP_VERSION, Load::I64);
                let off = if f.name == "src_ip" {
                    fo::SRC_IP
                } else {
                    fo::DST_IP
                };
                return Ok(self.ip_load(Side::Finish, off, v));
            }
            "src_port" => load(b, fo::SRC_PORT, Load::I64),
            "dst_port" => load(b, fo::DST_PORT, Load::I64),
            "protocol" => load(b, fo::PROTOCOL, Load::I64),
            "vlan_id" => load(b, fo::VLAN_ID, Load::I64),
            "start_time" => load(b, fo::START_TIME, Load::F64),
            "end_time" => load(b, fo::END_TIME, Load::F64),
            "duration" => load(b, fo::DURATION, Load::F64),
            "packet_count" => load(b, fo::PACKET_COUNT, Load::I64),
            "byte_count" => load(b, fo::BYTE_COUNT, Load::I64),
            "terminated" => load(b, fo::TERMINATED, Load::I64),
            other => {
                return Err(KernelError::Unsupported {
                    what: format!("flow field `{other}`"),
                    span,
                });
            }
        })
    }

    // ---- expressions ------------------------------------------------------------------

    /// The side an expression of this context is lowered into, given where it is used.
    fn side_of(ctx: Context, here: Side, span: Span) -> R<Side> {
        match ctx {
            Context::Packet => Ok(Side::Update),
            Context::Flow => {
                if here == Side::Update {
                    Err(unchecked(span))
                } else {
                    Ok(Side::Finish)
                }
            }
            Context::Const => Ok(here),
            Context::Error => Err(unchecked(span)),
        }
    }

    fn expr(&mut self, here: Side, e: &Expr) -> R<Val> {
        let side = Self::side_of(e.ctx, here, e.span)?;
        if e.ty.is_error() {
            return Err(unchecked(e.span));
        }
        match &e.kind {
            ExprKind::Lit(v) => self.lit(side, v, e.span),
            ExprKind::Const(id) => {
                let c = self
                    .program
                    .consts
                    .get(id.index())
                    .ok_or(unchecked(e.span))?;
                let v = c.value.clone();
                self.lit(side, &v, e.span)
            }
            ExprKind::Pkt(f) => {
                if side != Side::Update {
                    return Err(unchecked(e.span));
                }
                self.pkt_field(f, e.span)
            }
            ExprKind::Flow(f) => {
                if side != Side::Finish {
                    return Err(unchecked(e.span));
                }
                self.flow_field(f, e.span)
            }
            ExprKind::Let(id) => {
                if let Some(v) = self.lets.get(&(*id, side)) {
                    return Ok(v.clone());
                }
                let l = self.program.lets.get(id.index()).ok_or(unchecked(e.span))?;
                let v = self.unguarded(|s| s.expr(side, &l.expr))?;
                self.lets.insert((*id, side), v.clone());
                Ok(v)
            }
            ExprKind::Feature(id) => self.feature_value(*id, e.span),
            ExprKind::Unary(op, a) => self.unary(side, *op, a, e.ty),
            ExprKind::Binary(op, a, b) => self.binary(side, *op, a, b, e),
            ExprKind::IsDefined(a) => {
                let v = self.expr(side, a)?;
                Ok(Val::one(self.defined(side, &v)))
            }
            ExprKind::ToFloat(a) => {
                let v = self.expr(side, a)?;
                let v = self.coerce(side, v, Base::Int);
                let f = self.b(side).itof(v.w0()?);
                Ok(Val {
                    w: vec![f],
                    def: v.def,
                    strs: None,
                })
            }
            ExprKind::If(c, a, b) => {
                let cv = self.expr(side, c)?;
                let cv = self.coerce(side, cv, Base::Bool);
                let cond = self.truthy(side, &cv)?;
                match self.b(side).known_i(cond) {
                    Some(0) => {
                        let v = self.expr(side, b)?;
                        return Ok(self.coerce(side, v, e.ty.base));
                    }
                    Some(_) => {
                        let v = self.expr(side, a)?;
                        return Ok(self.coerce(side, v, e.ty.base));
                    }
                    None => {}
                }
                let x = self.guarded(side, cond, |s| s.expr(side, a))?;
                let x = self.coerce(side, x, e.ty.base);
                let otherwise = self.not(side, cond);
                let y = self.guarded(side, otherwise, |s| s.expr(side, b))?;
                let y = self.coerce(side, y, e.ty.base);
                Ok(self.select_val(side, cond, &x, &y))
            }
            ExprKind::Lookup(t, key) => self.lookup(side, *t, key, e.span),
            ExprKind::ByteAt(bytes, index) => {
                let b = self.expr(side, bytes)?;
                let i = self.expr(side, index)?;
                let i = self.coerce(side, i, Base::Int);
                let (value, ok) = self.b(side).byte_at(b.w0()?, b.w1()?, i.w0()?);
                let def = self.and(side, b.def, i.def);
                let def = self.and(side, def, Some(ok));
                Ok(Val {
                    w: vec![value],
                    def,
                    strs: None,
                })
            }
            ExprKind::Slice(bytes, lo, hi) => {
                let b = self.expr(side, bytes)?;
                let mut def = b.def;
                let mut bound = |s: &mut Self, x: &Option<Box<Expr>>, dflt: i64| -> R<Reg> {
                    match x {
                        Some(x) => {
                            let v = s.expr(side, x)?;
                            let v = s.coerce(side, v, Base::Int);
                            def = s.and(side, def, v.def);
                            v.w0()
                        }
                        None => Ok(s.b(side).iconst(dflt)),
                    }
                };
                let lo = bound(self, lo, 0)?;
                let hi = bound(self, hi, i64::MAX)?;
                let (p, n) = self.b(side).slice(b.w0()?, b.w1()?, lo, hi);
                Ok(Val {
                    w: vec![p, n],
                    def,
                    strs: None,
                })
            }
            ExprKind::Match(bytes, pat) => self.pattern_match(side, bytes, *pat),
            ExprKind::Call(f, args) => self.call(side, *f, args, e),
            ExprKind::RecordField(record, field) => self.record_field(side, record, field.name),
            ExprKind::Prev {
                value,
                per_direction,
            } => self.prev(value, *per_direction, e.span),
            ExprKind::Aggregate(a) => {
                if side != Side::Finish {
                    return Err(unchecked(e.span));
                }
                self.aggregate(a, e.span)
            }
            ExprKind::Error => Err(unchecked(e.span)),
        }
    }

    fn unary(&mut self, side: Side, op: UnaryOp, a: &Expr, ty: Type) -> R<Val> {
        let v = self.expr(side, a)?;
        match op {
            UnaryOp::Not => {
                let v = self.coerce(side, v, Base::Bool);
                let t = self.truthy(side, &v)?;
                Ok(Val::one(self.not(side, t)))
            }
            UnaryOp::Neg => {
                let v = self.coerce(side, v, ty.base);
                let x = v.w0()?;
                let r = if ty.base == Base::Float {
                    self.b(side).fun(FUnOp::Neg, x)
                } else {
                    self.b(side).iun(IUnOp::Neg, x)
                };
                Ok(Val {
                    w: vec![r],
                    def: v.def,
                    strs: None,
                })
            }
        }
    }

    /// `x ?? y`: `x` where it is defined, else `y`.
    fn coalesce(&mut self, side: Side, x: Val, y: Val, base: Base) -> R<Val> {
        let x = self.coerce(side, x, base);
        let y = self.coerce(side, y, base);
        let Some(dx) = x.def else {
            return Ok(x);
        };
        let mut v = self.select_val(side, dx, &x, &y);
        v.def = self.or(side, x.def, y.def);
        Ok(v)
    }

    fn binary(&mut self, side: Side, op: BinaryOp, a: &Expr, b: &Expr, e: &Expr) -> R<Val> {
        let x = self.expr(side, a)?;
        let base = e.ty.base;
        if op == BinaryOp::Coalesce {
            // The fallback's helpers run only for the flows where `a` is none.
            let missing = x.def.map(|dx| self.not(side, dx));
            let y = match missing {
                Some(m) => self.guarded(side, m, |s| s.expr(side, b))?,
                None => self.expr(side, b)?,
            };
            return self.coalesce(side, x, y, base);
        }
        let y = self.expr(side, b)?;
        match op {
            BinaryOp::Coalesce => self.coalesce(side, x, y, base),
            BinaryOp::And | BinaryOp::Or => {
                let x = self.coerce(side, x, Base::Bool);
                let y = self.coerce(side, y, Base::Bool);
                let (p, q) = (self.truthy(side, &x)?, self.truthy(side, &y)?);
                let iop = if op == BinaryOp::And {
                    IBinOp::And
                } else {
                    IBinOp::Or
                };
                Ok(Val::one(self.b(side).ibin(iop, p, q)))
            }
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => {
                let operand = if a.ty.base == Base::Nothing {
                    b.ty.base
                } else {
                    a.ty.base
                };
                let x = self.coerce(side, x, operand);
                let y = self.coerce(side, y, operand);
                let r = self.compare(side, op, operand, &x, &y)?;
                let def = self.and(side, x.def, y.def);
                Ok(Val {
                    w: vec![r],
                    def,
                    strs: None,
                })
            }
            BinaryOp::Match => Err(unchecked(e.span)),
            _ => {
                let x = self.coerce(side, x, base);
                let y = self.coerce(side, y, base);
                if base == Base::Str {
                    return self.concat(side, &x, &y, e.span);
                }
                let (p, q) = (x.w0()?, y.w0()?);
                let mut def = self.and(side, x.def, y.def);
                let divides = matches!(op, BinaryOp::Div | BinaryOp::IntDiv | BinaryOp::Rem);
                let r = if base == Base::Float {
                    if divides {
                        let zero = self.b(side).fconst(0.0);
                        let nz = self.b(side).fcmp(FloatCC::Ne, q, zero);
                        def = self.and(side, def, Some(nz));
                    }
                    let b = self.b(side);
                    match op {
                        BinaryOp::Add => b.fbin(FBinOp::Add, p, q),
                        BinaryOp::Sub => b.fbin(FBinOp::Sub, p, q),
                        BinaryOp::Mul => b.fbin(FBinOp::Mul, p, q),
                        BinaryOp::Div => b.fbin(FBinOp::Div, p, q),
                        BinaryOp::IntDiv => {
                            let d = b.fbin(FBinOp::Div, p, q);
                            b.fun(FUnOp::Floor, d)
                        }
                        BinaryOp::Rem => b.call(Helper::FRem, &[p, q]).ok_or(unchecked(e.span))?,
                        _ => return Err(unchecked(e.span)),
                    }
                } else {
                    if divides {
                        let zero = self.b(side).iconst(0);
                        let nz = self.b(side).icmp(IntCC::Ne, q, zero);
                        def = self.and(side, def, Some(nz));
                    }
                    let iop = match op {
                        BinaryOp::Add => IBinOp::Add,
                        BinaryOp::Sub => IBinOp::Sub,
                        BinaryOp::Mul => IBinOp::Mul,
                        BinaryOp::IntDiv => IBinOp::Div,
                        BinaryOp::Rem => IBinOp::Rem,
                        BinaryOp::BitAnd => IBinOp::And,
                        BinaryOp::BitOr => IBinOp::Or,
                        BinaryOp::BitXor => IBinOp::Xor,
                        BinaryOp::Shl => IBinOp::Shl,
                        BinaryOp::Shr => IBinOp::Shr,
                        _ => return Err(unchecked(e.span)),
                    };
                    self.b(side).ibin(iop, p, q)
                };
                Ok(Val {
                    w: vec![r],
                    def,
                    strs: None,
                })
            }
        }
    }

    fn compare(&mut self, side: Side, op: BinaryOp, base: Base, x: &Val, y: &Val) -> R<Reg> {
        let eq_like = matches!(op, BinaryOp::Eq | BinaryOp::Ne);
        let r = match base {
            Base::Float => {
                let cc = match op {
                    BinaryOp::Eq => FloatCC::Eq,
                    BinaryOp::Ne => FloatCC::Ne,
                    BinaryOp::Lt => FloatCC::Lt,
                    BinaryOp::Le => FloatCC::Le,
                    BinaryOp::Gt => FloatCC::Gt,
                    _ => FloatCC::Ge,
                };
                return Ok(self.b(side).fcmp(cc, x.w0()?, y.w0()?));
            }
            Base::Bytes => {
                if !eq_like {
                    return Err(unchecked(Span::default()));
                }
                self.b(side)
                    .call(Helper::BytesEq, &[x.w0()?, x.w1()?, y.w0()?, y.w1()?])
                    .ok_or(unchecked(Span::default()))?
            }
            Base::Ip => {
                let b = self.b(side);
                let (xh, xl, yh, yl) = (x.w0()?, x.w1()?, y.w0()?, y.w1()?);
                if eq_like {
                    let h = b.icmp(IntCC::Eq, xh, yh);
                    let l = b.icmp(IntCC::Eq, xl, yl);
                    b.ibin(IBinOp::And, h, l)
                } else {
                    // Lexicographic, unsigned: (hi, lo).
                    let (p, q, strict) = match op {
                        BinaryOp::Lt => ((xh, xl), (yh, yl), true),
                        BinaryOp::Le => ((xh, xl), (yh, yl), false),
                        BinaryOp::Gt => ((yh, yl), (xh, xl), true),
                        _ => ((yh, yl), (xh, xl), false),
                    };
                    let hl = b.icmp(IntCC::Ult, p.0, q.0);
                    let he = b.icmp(IntCC::Eq, p.0, q.0);
                    let lc = b.icmp(if strict { IntCC::Ult } else { IntCC::Ule }, p.1, q.1);
                    let t = b.ibin(IBinOp::And, he, lc);
                    return Ok(b.ibin(IBinOp::Or, hl, t));
                }
            }
            Base::Str if !eq_like && (x.strs.is_none() || y.strs.is_none()) => {
                let (pool, strings) = self.runtime_string_args(side);
                let b = self.b(side);
                let c = b
                    .call(Helper::StrCmp, &[pool, strings, x.w0()?, y.w0()?])
                    .ok_or(unchecked(Span::default()))?;
                let zero = b.iconst(0);
                return Ok(b.icmp(int_cc(op), c, zero));
            }
            Base::Str if !eq_like => {
                let d = self.str_array("ranks");
                let b = self.b(side);
                let arr = b.data_addr(d);
                let rx = b
                    .call(Helper::ArrayGet, &[arr, x.w0()?])
                    .ok_or(unchecked(Span::default()))?;
                let ry = b
                    .call(Helper::ArrayGet, &[arr, y.w0()?])
                    .ok_or(unchecked(Span::default()))?;
                return Ok(b.icmp(int_cc(op), rx, ry));
            }
            _ => {
                let cc = if eq_like { IntCC::Eq } else { int_cc(op) };
                self.b(side).icmp(cc, x.w0()?, y.w0()?)
            }
        };
        Ok(if op == BinaryOp::Ne {
            self.not(side, r)
        } else {
            r
        })
    }

    fn concat(&mut self, side: Side, x: &Val, y: &Val, span: Span) -> R<Val> {
        let known = match (x.strs.clone(), y.strs.clone()) {
            (Some(sx), Some(sy)) if sx.len().saturating_mul(sy.len()) <= MAX_CONCAT => {
                Some((sx, sy))
            }
            _ => None,
        };
        let Some((sx, sy)) = known else {
            if let Some(v) = self.concat_split(side, x, y, span)? {
                return Ok(v);
            }
            // Values not all known when compiling (or too many): join at run time.
            let (pool, strings) = self.runtime_string_args(side);
            let r = self
                .b(side)
                .call(Helper::StrConcat, &[pool, strings, x.w0()?, y.w0()?])
                .ok_or(unchecked(span))?;
            return Ok(Val {
                w: vec![r],
                def: self.and(side, x.def, y.def),
                strs: None,
            });
        };
        let mut keys = Vec::new();
        let mut values = Vec::new();
        let mut results = Vec::new();
        for a in sx.iter() {
            for b in sy.iter() {
                let s = format!(
                    "{}{}",
                    self.strings.get(*a as usize).map_or("", |s| s.as_str()),
                    self.strings.get(*b as usize).map_or("", |s| s.as_str())
                );
                let id = self.intern(&s);
                keys.push([i64::from(*a), i64::from(*b), i64::from(*a), i64::from(*b)]);
                values.push(vec![i64::from(id)]);
                results.push(id);
            }
        }
        results.sort_unstable();
        results.dedup();
        let (w, hit) =
            self.table_words(side, &keys, &values, &[MTy::I64], &[x.w0()?, y.w0()?], None);
        let def = self.and(side, x.def, y.def);
        let def = self.and(side, def, Some(hit));
        Ok(Val {
            w,
            def,
            strs: Some(Rc::new(results)),
        })
    }

    /// `x + y` where one side is known and the other a [`Split`]: folded into the split's
    /// known arm, and joined at run time only in its other arm (under that arm's guard).
    fn concat_split(&mut self, side: Side, x: &Val, y: &Val, span: Span) -> R<Option<Val>> {
        if side != Side::Finish {
            return Ok(None);
        }
        let split_of = |l: &Self, v: &Val| v.w0().ok().and_then(|r| l.splits.get(&r).cloned());
        let (split, split_is_left) = match (&x.strs, &y.strs) {
            (Some(_), None) => match split_of(self, y) {
                Some(sp) => (sp, false),
                None => return Ok(None),
            },
            (None, Some(_)) => match split_of(self, x) {
                Some(sp) => (sp, true),
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        let join = |l: &mut Self, arm: &Val| {
            if split_is_left {
                l.concat(side, arm, y, span)
            } else {
                l.concat(side, x, arm, span)
            }
        };
        let known = join(self, &split.known)?;
        let other_taken = if split.known_when_set {
            self.not(side, split.cond)
        } else {
            split.cond
        };
        let other = self.guarded(side, other_taken, |l| join(l, &split.other))?;
        Ok(Some(if split.known_when_set {
            self.select_val(side, split.cond, &known, &other)
        } else {
            self.select_val(side, split.cond, &other, &known)
        }))
    }

    // ---- tables -----------------------------------------------------------------------

    /// Looks `key` up among `keys` (`[lo0, lo1, hi0, hi1]`); returns the value words and a
    /// hit flag. `cache` names table data already built for these keys.
    fn table_words(
        &mut self,
        side: Side,
        keys: &[[i64; 4]],
        values: &[Vec<i64>],
        tys: &[MTy],
        key: &[Reg],
        cache: Option<TableId>,
    ) -> (Vec<Reg>, Reg) {
        let k0 = key.first().copied();
        let k1 = key.get(1).copied();
        if keys.len() <= INLINE_TABLE {
            let b = self.b(side);
            let zero = b.iconst(0);
            let mut hit = zero;
            let mut out: Vec<Reg> = tys
                .iter()
                .map(|t| match t {
                    MTy::F64 => b.fconst(0.0),
                    MTy::I64 => zero,
                })
                .collect();
            for (k, vals) in keys.iter().zip(values) {
                let mut h: Option<Reg> = None;
                for (i, kr) in [k0, k1].into_iter().enumerate() {
                    let (lo, hi) = (k[i], k[i + 2]);
                    let Some(kr) = kr else {
                        continue;
                    };
                    let c = if lo == hi {
                        let l = b.iconst(lo);
                        b.icmp(IntCC::Eq, kr, l)
                    } else {
                        let (l, u) = (b.iconst(lo), b.iconst(hi));
                        let c1 = b.icmp(IntCC::Sge, kr, l);
                        let c2 = b.icmp(IntCC::Sle, kr, u);
                        b.ibin(IBinOp::And, c1, c2)
                    };
                    h = Some(match h {
                        Some(p) => b.ibin(IBinOp::And, p, c),
                        None => c,
                    });
                }
                let h = h.unwrap_or(zero);
                hit = b.ibin(IBinOp::Or, hit, h);
                for ((o, v), t) in out.iter_mut().zip(vals).zip(tys) {
                    let c = match t {
                        MTy::F64 => b.fconst(f64::from_bits(*v as u64)),
                        MTy::I64 => b.iconst(*v),
                    };
                    *o = b.select(h, c, *o);
                }
            }
            return (out, hit);
        }
        let cached = cache.and_then(|t| self.tables.get(&t).cloned());
        let (arrays, table) = match cached {
            Some(c) => c,
            None => {
                let order = TableData::sort_order(keys);
                let sorted: Vec<[i64; 4]> =
                    order.iter().filter_map(|&i| keys.get(i).copied()).collect();
                let table = self.add_data(DataSpec::Table(TableData::new(sorted))) as usize;
                let arrays: Vec<u32> = (0..tys.len())
                    .map(|w| {
                        let col: Vec<i64> = order
                            .iter()
                            .map(|&i| values.get(i).and_then(|v| v.get(w)).copied().unwrap_or(0))
                            .collect();
                        self.add_data(DataSpec::Array(col))
                    })
                    .collect();
                if let Some(t) = cache {
                    self.tables.insert(t, (arrays.clone(), table));
                }
                (arrays, table)
            }
        };
        let b = self.b(side);
        let t = b.data_addr(table as u32);
        let zero = b.iconst(0);
        let idx = b
            .call(
                Helper::TableFind,
                &[t, k0.unwrap_or(zero), k1.unwrap_or(zero)],
            )
            .unwrap_or(zero);
        let hit = b.icmp(IntCC::Sge, idx, zero);
        let out = arrays
            .iter()
            .zip(tys)
            .map(|(a, ty)| {
                let arr = b.data_addr(*a);
                let v = b.call(Helper::ArrayGet, &[arr, idx]).unwrap_or(zero);
                b.bitcast(v, *ty)
            })
            .collect();
        (out, hit)
    }

    fn value_words(&mut self, v: &Value) -> Vec<i64> {
        match v {
            Value::Bool(b) => vec![i64::from(*b)],
            Value::Int(i) => vec![*i],
            Value::Float(x) => vec![x.to_bits() as i64],
            Value::Str(s) => vec![i64::from(self.intern(s))],
            Value::Ip(ip) => {
                let (h, l) = ip_words(*ip);
                vec![h, l]
            }
            Value::Dir(d) => vec![*d as i64],
            Value::Bytes(_) | Value::None => vec![0],
        }
    }

    fn lookup(&mut self, side: Side, t: TableId, key: &Expr, span: Span) -> R<Val> {
        let table = self.program.tables.get(t.index()).ok_or(unchecked(span))?;
        let k = self.expr(side, key)?;
        let k = self.coerce(side, k, table.key);
        let mut keys = Vec::new();
        let mut values = Vec::new();
        let mut strs = Vec::new();
        for (key, value) in &table.entries {
            keys.push(match key {
                TableKey::Int(i) => [*i, 0, *i, 0],
                TableKey::Range(a, b) => [*a, 0, *b, 0],
                TableKey::Str(s) => {
                    let id = i64::from(self.intern(s));
                    [id, 0, id, 0]
                }
                TableKey::Ip(ip) => {
                    let (h, l) = ip_words(*ip);
                    [h, l, h, l]
                }
            });
            if let Value::Str(s) = value {
                strs.push(self.intern(s));
            }
            values.push(self.value_words(value));
        }
        let tys = words_of(table.value);
        let key_regs = k.w.clone();
        let (w, hit) = self.table_words(side, &keys, &values, tys, &key_regs, Some(t));
        let def = self.and(side, k.def, Some(hit));
        strs.sort_unstable();
        strs.dedup();
        Ok(Val {
            w,
            def,
            strs: (table.value == Base::Str).then(|| Rc::new(strs)),
        })
    }

    // ---- patterns, calls, prev ---------------------------------------------------------

    fn pattern_match(&mut self, side: Side, bytes: &Expr, pat: PatternId) -> R<Val> {
        let b = self.expr(side, bytes)?;
        let regex = self
            .program
            .patterns
            .get(pat.index())
            .ok_or(unchecked(bytes.span))?
            .regex
            .clone();
        let (ptr, len) = (b.w0()?, b.w1()?);
        let sets = self.regex_sets.entry((ptr, len)).or_default().clone();
        let mut found = None;
        for d in &sets {
            if let Some(DataSpec::Regex(p)) = self.data.get(*d as usize)
                && let Some(i) = p.iter().position(|r| *r == regex)
            {
                found = Some((*d, i));
            }
        }
        let (d, bit) = match found {
            Some(x) => x,
            None => {
                let last = sets.last().copied().filter(|d| {
                    matches!(self.data.get(*d as usize), Some(DataSpec::Regex(p)) if p.len() < MAX_SET_PATTERNS)
                });
                let d = match last {
                    Some(d) => d,
                    None => {
                        let d = self.add_data(DataSpec::Regex(Vec::new()));
                        self.regex_sets.entry((ptr, len)).or_default().push(d);
                        d
                    }
                };
                let Some(DataSpec::Regex(p)) = self.data.get_mut(d as usize) else {
                    return Err(unchecked(bytes.span));
                };
                p.push(regex);
                (d, p.len() - 1)
            }
        };
        let bd = self.b(side);
        let set = bd.data_addr(d);
        let mask = bd
            .call(Helper::RegexSet, &[set, ptr, len])
            .ok_or(unchecked(bytes.span))?;
        let shift = bd.iconst(bit as i64);
        let one = bd.iconst(1);
        let s = bd.ibin(IBinOp::Shr, mask, shift);
        let r = bd.ibin(IBinOp::And, s, one);
        Ok(Val {
            w: vec![r],
            def: b.def,
            strs: None,
        })
    }

    fn call(&mut self, side: Side, f: Func, args: &[Expr], e: &Expr) -> R<Val> {
        let span = e.span;
        if let Some(record) = f.record() {
            return self.tls_record(side, record, args, span);
        }
        let mut vals = Vec::new();
        for a in args {
            let v = self.expr(side, a)?;
            let base = if a.ty.base == Base::Nothing {
                e.ty.base
            } else {
                a.ty.base
            };
            vals.push(self.coerce(side, v, base));
        }
        let first = vals.first().cloned().ok_or(unchecked(span))?;
        let arg_base = args.first().map_or(Base::Int, |a| a.ty.base);
        let mut def = first.def;
        let x = first.w0()?;
        let as_float = |s: &mut Self, r: Reg| -> Reg {
            if s.b(side).ty(r) == MTy::F64 {
                r
            } else {
                s.b(side).itof(r)
            }
        };
        let r = match f {
            Func::Len if arg_base == Base::Str && first.strs.is_none() => {
                let (pool, strings) = self.runtime_string_args(side);
                self.b(side)
                    .call(Helper::StrLen, &[pool, strings, x])
                    .ok_or(unchecked(span))?
            }
            Func::Len => {
                if arg_base == Base::Str {
                    let d = self.str_array("lens");
                    let b = self.b(side);
                    let arr = b.data_addr(d);
                    b.call(Helper::ArrayGet, &[arr, x]).ok_or(unchecked(span))?
                } else {
                    first.w1()?
                }
            }
            Func::Abs => {
                if self.b(side).ty(x) == MTy::F64 {
                    self.b(side).fun(FUnOp::Abs, x)
                } else {
                    self.b(side).iun(IUnOp::Abs, x)
                }
            }
            Func::Sqrt | Func::Ln | Func::Log2 => {
                let v = as_float(self, x);
                let b = self.b(side);
                let zero = b.fconst(0.0);
                let ok = if f == Func::Sqrt {
                    b.fcmp(FloatCC::Ge, v, zero)
                } else {
                    b.fcmp(FloatCC::Gt, v, zero)
                };
                let r = match f {
                    Func::Sqrt => b.fun(FUnOp::Sqrt, v),
                    Func::Ln => b.call(Helper::Ln, &[v]).ok_or(unchecked(span))?,
                    _ => b.call(Helper::Log2, &[v]).ok_or(unchecked(span))?,
                };
                def = self.and(side, def, Some(ok));
                r
            }
            Func::Exp => {
                let v = as_float(self, x);
                self.b(side)
                    .call(Helper::Exp, &[v])
                    .ok_or(unchecked(span))?
            }
            Func::Floor | Func::Ceil | Func::Round | Func::ToInt => {
                if self.b(side).ty(x) == MTy::I64 {
                    x
                } else {
                    let op = match f {
                        Func::Floor => Some(FUnOp::Floor),
                        Func::Ceil => Some(FUnOp::Ceil),
                        Func::Round => Some(FUnOp::Round),
                        _ => None,
                    };
                    let b = self.b(side);
                    let y = match op {
                        Some(op) => b.fun(op, x),
                        None => x,
                    };
                    b.ftoi(y)
                }
            }
            Func::ToFloat => as_float(self, x),
            Func::Least | Func::Greatest => {
                let second = vals.get(1).cloned().ok_or(unchecked(span))?;
                let y = second.w0()?;
                def = self.and(side, def, second.def);
                let b = self.b(side);
                if b.ty(x) == MTy::F64 {
                    let op = if f == Func::Least {
                        FBinOp::Min
                    } else {
                        FBinOp::Max
                    };
                    b.fbin(op, x, y)
                } else {
                    let cc = if f == Func::Least {
                        IntCC::Slt
                    } else {
                        IntCC::Sgt
                    };
                    let c = b.icmp(cc, y, x);
                    b.select(c, y, x)
                }
            }
            Func::Str => return self.int_text(side, &first, span),
            Func::Matches
            | Func::Prev
            | Func::TlsClientHello
            | Func::TlsServerHello
            | Func::TlsCertificates
            | Func::TlsKeyExchange => return Err(unchecked(span)),
        };
        Ok(Val {
            w: vec![r],
            def,
            strs: None,
        })
    }

    /// `str(x)`: a constant's text is a pool string; any other int is formatted at run time
    /// into the flow's strings.
    fn int_text(&mut self, side: Side, x: &Val, span: Span) -> R<Val> {
        let r = x.w0()?;
        if let Some(k) = self.b(side).known_i(r) {
            let id = self.intern(&k.to_string());
            let mut v = Val::one(self.b(side).iconst(i64::from(id)));
            v.def = x.def;
            v.strs = Some(Rc::new(vec![id]));
            return Ok(v);
        }
        let (pool, strings) = self.runtime_string_args(side);
        let id = self
            .b(side)
            .call(Helper::StrInt, &[pool, strings, r])
            .ok_or(unchecked(span))?;
        Ok(Val {
            w: vec![id],
            def: x.def,
            strs: None,
        })
    }

    /// A TLS built-in: one parse of the bytes per packet (shared by every record and field
    /// of them), and the record's presence.
    fn tls_record(
        &mut self,
        side: Side,
        record: jjc_sema::types::Record,
        args: &[Expr],
        span: Span,
    ) -> R<Val> {
        if side != Side::Update {
            return Err(unchecked(span));
        }
        let arg = args.first().ok_or(unchecked(span))?;
        let bytes = self.expr(side, arg)?;
        let (ptr, len) = (bytes.w0()?, bytes.w1()?);
        let slot = match self.tls_slots.get(&(ptr, len)) {
            Some(s) => *s,
            None => {
                let s = self.new_slot(
                    format!("tls({ptr},{len})"),
                    SlotKind::Buffer(BufferKind::Tls),
                    0,
                );
                self.tls_slots.insert((ptr, len), s);
                s
            }
        };
        let b = &mut self.upd;
        let addr = b.slot_addr(slot);
        let messages = b
            .call(Helper::TlsParse, &[addr, ptr, len])
            .ok_or(unchecked(span))?;
        let field = b.iconst(TlsField::present(record).code());
        // The parse gives 0 for a payload without TLS messages: the field calls are skipped.
        let present = b
            .call_if(Helper::TlsInt, &[messages, field], Some(messages))
            .ok_or(unchecked(span))?;
        let def = self.and(side, bytes.def, Some(present));
        Ok(Val {
            w: vec![messages],
            def,
            strs: None,
        })
    }

    /// A field of a TLS record: none when the record is.
    fn record_field(&mut self, side: Side, record: &Expr, name: &str) -> R<Val> {
        let span = record.span;
        let Base::Record(kind) = record.ty.base else {
            return Err(unchecked(span));
        };
        let field = TlsField::of(kind, name).ok_or_else(|| KernelError::Unsupported {
            what: format!("field `{name}` of a `{}` record", kind.name()),
            span,
        })?;
        let v = self.expr(side, record)?;
        let messages = v.w0()?;
        let code = self.b(side).iconst(field.code());
        // Without a parsed message (`messages` is 0) the calls are skipped: ints are 0 and
        // strings `""`, as the helpers give.
        let guard = Some(messages);
        let r = if field.is_str() {
            let (pool, strings) = self.runtime_string_args(side);
            let empty = self.intern("");
            let b = self.b(side);
            let empty = b.iconst(i64::from(empty));
            b.call_if(Helper::TlsStr, &[messages, code, pool, strings], guard)
                .map(|r| b.select(messages, r, empty))
        } else {
            self.b(side)
                .call_if(Helper::TlsInt, &[messages, code], guard)
        };
        Ok(Val {
            w: vec![r.ok_or(unchecked(span))?],
            def: v.def,
            strs: None,
        })
    }

    fn new_slot(&mut self, name: String, kind: SlotKind, init: u64) -> u32 {
        self.slots.push(Slot { name, init, kind });
        (self.slots.len() - 1) as u32
    }

    fn prev(&mut self, value: &Expr, per_dir: bool, span: Span) -> R<Val> {
        let v = self.expr(Side::Update, value)?;
        let base = if value.ty.base == Base::Nothing {
            Base::Int
        } else {
            value.ty.base
        };
        if base == Base::Bytes {
            return Err(KernelError::Unsupported {
                what: "`prev` of bytes".into(),
                span,
            });
        }
        let v = self.coerce(Side::Update, v, base);
        let key = (v.w.clone(), v.def, per_dir);
        if let Some(p) = self.prevs.get(&key) {
            return Ok(p.clone());
        }
        let label = format!(
            "prev({}{})",
            v.w.iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(","),
            if per_dir { ", dir" } else { "" }
        );
        let dirs: &[&str] = if per_dir { &["fwd", "bwd"] } else { &[""] };
        let mut olds = Vec::new();
        let dir = self.upd.load_pkt(po::DIR, Load::U8);
        let def_now = self.defined(Side::Update, &v);
        for (di, dname) in dirs.iter().enumerate() {
            let sfx = if dname.is_empty() {
                String::new()
            } else {
                format!(".{dname}")
            };
            let pred = if per_dir {
                let d = self.upd.iconst(di as i64);
                Some(self.upd.icmp(IntCC::Eq, dir, d))
            } else {
                None
            };
            let mut w = Vec::new();
            for (i, r) in v.w.iter().enumerate() {
                let ty = self.upd.ty(*r);
                let s = self.new_slot(format!("{label}{sfx}.w{i}"), SlotKind::Value(ty), 0);
                w.push(self.upd.load_state(s, ty));
                self.upd.store_state(s, *r, pred);
            }
            let ds = self.new_slot(
                format!("{label}{sfx}.defined"),
                SlotKind::Value(MTy::I64),
                0,
            );
            let def = self.upd.load_state(ds, MTy::I64);
            self.upd.store_state(ds, def_now, pred);
            olds.push(Val {
                w,
                def: Some(def),
                strs: v.strs.clone(),
            });
        }
        let out = match olds.as_slice() {
            [one] => one.clone(),
            [fwd, bwd] => {
                let (f, b) = (fwd.clone(), bwd.clone());
                self.select_val(Side::Update, dir, &b, &f)
            }
            _ => return Err(unchecked(span)),
        };
        self.prevs.insert(key, out.clone());
        Ok(out)
    }

    // ---- aggregates --------------------------------------------------------------------

    fn acc(&mut self, key: AccKey) -> usize {
        if let Some(i) = self.acc_index.get(&key) {
            return *i;
        }
        let count = match &key {
            AccKey::Moments { pred, .. }
            | AccKey::Min { pred, .. }
            | AccKey::Max { pred, .. }
            | AccKey::First { pred, .. }
            | AccKey::Last { pred, .. }
            | AccKey::Nth { pred, .. }
            | AccKey::Mode { pred, .. }
            | AccKey::Seq { pred, .. }
            | AccKey::Values { pred, .. } => Some(self.acc(AccKey::Count { pred: *pred })),
            _ => None,
        };
        if let Some(c) = count {
            self.comp(c, "n", SlotKind::Value(MTy::I64), 0);
        }
        self.accs.push(Acc {
            key: key.clone(),
            comps: Vec::new(),
            count,
        });
        let i = self.accs.len() - 1;
        self.acc_index.insert(key, i);
        i
    }

    /// The slot of an accumulator component, allocated on first request.
    fn comp(&mut self, acc: usize, name: &'static str, kind: SlotKind, init: u64) -> u32 {
        if let Some((_, s)) = self
            .accs
            .get(acc)
            .and_then(|a| a.comps.iter().find(|(n, _)| *n == name))
        {
            return *s;
        }
        let label = self
            .accs
            .get(acc)
            .map(|a| a.key.label())
            .unwrap_or_default();
        let s = self.new_slot(format!("{label}.{name}"), kind, init);
        if let Some(a) = self.accs.get_mut(acc) {
            a.comps.push((name, s));
        }
        s
    }

    fn has_comp(&self, acc: usize, name: &str) -> Option<u32> {
        self.accs
            .get(acc)
            .and_then(|a| a.comps.iter().find(|(n, _)| *n == name))
            .map(|(_, s)| *s)
    }

    /// Reads a component in `finish`.
    fn read(&mut self, acc: usize, name: &'static str, ty: MTy, init: u64) -> Reg {
        let s = self.comp(acc, name, SlotKind::Value(ty), init);
        self.fin.load_state(s, ty)
    }

    fn count_of(&mut self, pred: Option<Reg>) -> Reg {
        let a = self.acc(AccKey::Count { pred });
        self.read(a, "n", MTy::I64, 0)
    }

    /// `count > k` in finish.
    fn more_than(&mut self, n: Reg, k: i64) -> Reg {
        let kk = self.fin.iconst(k);
        self.fin.icmp(IntCC::Sgt, n, kk)
    }

    fn aggregate(&mut self, a: &Aggregate, span: Span) -> R<Val> {
        let u = Side::Update;
        let filter = match &a.filter {
            Some(f) => {
                let v = self.expr(u, f)?;
                let v = self.coerce(u, v, Base::Bool);
                Some(self.truthy(u, &v)?)
            }
            None => None,
        };
        let arg = match &a.arg {
            Some(x) => {
                let v = self.expr(u, x)?;
                let base = if x.ty.base == Base::Nothing {
                    Base::Int
                } else {
                    x.ty.base
                };
                Some((self.coerce(u, v, base), base))
            }
            None => None,
        };
        let pred = self.and(u, filter, arg.as_ref().and_then(|(v, _)| v.def));
        let (x, xbase) = match arg {
            Some(v) => v,
            None => {
                let n = self.count_of(pred);
                return Ok(Val::one(n));
            }
        };
        let strs = x.strs.clone();
        let x0 = x.w0()?;
        let fin_f = |s: &mut Self, r: Reg| -> Reg {
            if s.fin.ty(r) == MTy::F64 {
                r
            } else {
                s.fin.itof(r)
            }
        };
        let v = match a.agg {
            Agg::Count => {
                let p = if xbase == Base::Bool {
                    self.and(u, pred, Some(x0))
                } else {
                    pred
                };
                Val::one(self.count_of(p))
            }
            Agg::Sum => {
                let acc = self.acc(AccKey::Sum { x: x0, pred });
                let t = self.upd.ty(x0);
                Val::one(self.read(acc, "sum", t, 0))
            }
            Agg::BitOr => {
                let acc = self.acc(AccKey::BitOr { x: x0, pred });
                Val::one(self.read(acc, "or", MTy::I64, 0))
            }
            Agg::Mean | Agg::Var | Agg::Std
                if self.kept_streams.contains(&AccKey::Values { x: x0, pred }) =>
            {
                // numpy's figures from the values the stream keeps anyway.
                let acc = self.acc(AccKey::Values { x: x0, pred });
                let s = self.comp(acc, "buffer", SlotKind::Buffer(BufferKind::Values), 0);
                let addr = self.fin.slot_addr(s);
                let which = self.fin.iconst(i64::from(a.agg != Agg::Mean));
                let m = self
                    .fin
                    .call(Helper::ValuesMoment, &[addr, which])
                    .ok_or(unchecked(span))?;
                let n = self.count_of(pred);
                let nf = fin_f(self, n);
                let r = self.fin.fbin(FBinOp::Div, m, nf);
                let r = match a.agg {
                    Agg::Std => self.fin.fun(FUnOp::Sqrt, r),
                    _ => r,
                };
                Val {
                    w: vec![r],
                    def: Some(self.more_than(n, 0)),
                    strs: None,
                }
            }
            Agg::Mean | Agg::Var | Agg::Std | Agg::Skew | Agg::Kurtosis => {
                let acc = self.acc(AccKey::Moments { x: x0, pred });
                let n = self.count_of(pred);
                let nf = fin_f(self, n);
                let some = self.more_than(n, 0);
                let f = MTy::F64;
                let (r, def) = match a.agg {
                    Agg::Mean => {
                        let s = self.read(acc, "sum", f, 0);
                        (self.fin.fbin(FBinOp::Div, s, nf), some)
                    }
                    _ => {
                        let m2 = self.read(acc, "m2", f, 0);
                        let var = self.fin.fbin(FBinOp::Div, m2, nf);
                        match a.agg {
                            Agg::Var => (var, some),
                            Agg::Std => (self.fin.fun(FUnOp::Sqrt, var), some),
                            _ => {
                                let zero = self.fin.fconst(0.0);
                                let varies = self.fin.fcmp(FloatCC::Gt, m2, zero);
                                let def = self.fin.ibin(IBinOp::And, some, varies);
                                let r = if a.agg == Agg::Skew {
                                    let m3 = self.read(acc, "m3", f, 0);
                                    let std = self.fin.fun(FUnOp::Sqrt, var);
                                    let s2 = self.fin.fbin(FBinOp::Mul, std, std);
                                    let s3 = self.fin.fbin(FBinOp::Mul, s2, std);
                                    let m3n = self.fin.fbin(FBinOp::Div, m3, nf);
                                    self.fin.fbin(FBinOp::Div, m3n, s3)
                                } else {
                                    let m4 = self.read(acc, "m4", f, 0);
                                    let v2 = self.fin.fbin(FBinOp::Mul, var, var);
                                    let m4n = self.fin.fbin(FBinOp::Div, m4, nf);
                                    let k = self.fin.fbin(FBinOp::Div, m4n, v2);
                                    let three = self.fin.fconst(3.0);
                                    self.fin.fbin(FBinOp::Sub, k, three)
                                };
                                (r, def)
                            }
                        }
                    }
                };
                Val {
                    w: vec![r],
                    def: Some(def),
                    strs: None,
                }
            }
            Agg::Min | Agg::Max => {
                let key = if a.agg == Agg::Min {
                    AccKey::Min { x: x0, pred }
                } else {
                    AccKey::Max { x: x0, pred }
                };
                let acc = self.acc(key);
                let t = self.upd.ty(x0);
                let r = self.read(acc, "value", t, 0);
                let n = self.count_of(pred);
                Val {
                    w: vec![r],
                    def: Some(self.more_than(n, 0)),
                    strs: None,
                }
            }
            Agg::First | Agg::Last | Agg::Nth => {
                let (key, k) = match (a.agg, &a.param) {
                    (Agg::First, _) => (
                        AccKey::First {
                            w: x.w.clone(),
                            pred,
                        },
                        0,
                    ),
                    (Agg::Last, _) => (
                        AccKey::Last {
                            w: x.w.clone(),
                            pred,
                        },
                        0,
                    ),
                    (_, AggParam::Count(n)) => (
                        AccKey::Nth {
                            w: x.w.clone(),
                            pred,
                            n: *n,
                        },
                        *n,
                    ),
                    _ => return Err(unchecked(span)),
                };
                let acc = self.acc(key);
                let w = self.read_words(acc, &x.w);
                let n = self.count_of(pred);
                Val {
                    w,
                    def: Some(self.more_than(n, k)),
                    strs,
                }
            }
            Agg::Any => {
                let p = self.and(u, pred, Some(x0)).unwrap_or(x0);
                let acc = self.acc(AccKey::Any { p });
                Val::one(self.read(acc, "any", MTy::I64, 0))
            }
            Agg::All => {
                let notx = self.not(u, x0);
                let violated = self.and(u, pred, Some(notx)).unwrap_or(notx);
                let acc = self.acc(AccKey::All { violated });
                Val::one(self.read(acc, "all", MTy::I64, 1))
            }
            Agg::Runs | Agg::LongestRun => {
                let acc = self.acc(AccKey::Runs { elem: pred, x: x0 });
                let name = if a.agg == Agg::Runs {
                    "runs"
                } else {
                    "longest"
                };
                Val::one(self.read(acc, name, MTy::I64, 0))
            }
            Agg::Mode | Agg::ModeCount if self.mode_stream(&x, pred).is_some() => {
                // From the values the stream of the field's floats keeps anyway.
                let key = self.mode_stream(&x, pred).ok_or(unchecked(span))?;
                let acc = self.acc(key);
                let s = self.comp(acc, "buffer", SlotKind::Buffer(BufferKind::Values), 0);
                let addr = self.fin.slot_addr(s);
                let which = self.fin.iconst(i64::from(a.agg == Agg::ModeCount));
                let m = self
                    .fin
                    .call(Helper::ValuesMode, &[addr, which])
                    .ok_or(unchecked(span))?;
                let m = self.fin.ftoi(m);
                if a.agg == Agg::ModeCount {
                    Val::one(m)
                } else {
                    let n = self.count_of(pred);
                    Val {
                        w: vec![m],
                        def: Some(self.more_than(n, 0)),
                        strs,
                    }
                }
            }
            Agg::Mode => {
                let w = self.mode_words(&x.w);
                let acc = self.acc(AccKey::Mode { w, pred });
                let s = self.comp(acc, "buffer", SlotKind::Buffer(BufferKind::Mode), 0);
                let addr = self.fin.slot_addr(s);
                let mut out = Vec::new();
                for (i, r) in x.w.iter().enumerate() {
                    let word = self.fin.iconst(i as i64);
                    let g = self
                        .fin
                        .call(Helper::ModeGet, &[addr, word])
                        .ok_or(unchecked(span))?;
                    let t = self.upd.ty(*r);
                    out.push(self.fin.bitcast(g, t));
                }
                let n = self.count_of(pred);
                Val {
                    w: out,
                    def: Some(self.more_than(n, 0)),
                    strs,
                }
            }
            Agg::ModeCount => {
                let w = self.mode_words(&x.w);
                let acc = self.acc(AccKey::Mode { w, pred });
                let s = self.comp(acc, "buffer", SlotKind::Buffer(BufferKind::Mode), 0);
                let addr = self.fin.slot_addr(s);
                let n = self
                    .fin
                    .call(Helper::ModeCount, &[addr])
                    .ok_or(unchecked(span))?;
                Val::one(n)
            }
            Agg::Entropy => {
                let (ptr, len) = (x0, x.w1()?);
                let acc = self.acc(AccKey::Entropy { ptr, len, pred });
                let s = self.comp(acc, "buffer", SlotKind::Buffer(BufferKind::Bytes), 0);
                let addr = self.fin.slot_addr(s);
                let r = self
                    .fin
                    .call(Helper::BytesEntropy, &[addr])
                    .ok_or(unchecked(span))?;
                let total_acc = self.acc(AccKey::Sum { x: len, pred });
                let total = self.read(total_acc, "sum", MTy::I64, 0);
                Val {
                    w: vec![r],
                    def: Some(self.more_than(total, 0)),
                    strs: None,
                }
            }
            Agg::Median | Agg::Percentile => {
                let p = match a.param {
                    AggParam::Percent(p) => p,
                    _ => 50.0,
                };
                let (kind, helper) = match self.options.percentiles {
                    PercentileMode::Exact => (BufferKind::Values, Helper::ValuesPercentile),
                    PercentileMode::Sketch(_) => (BufferKind::Sketch, Helper::SketchPercentile),
                };
                let acc = self.acc(AccKey::Values { x: x0, pred });
                let s = self.comp(acc, "buffer", SlotKind::Buffer(kind), 0);
                let addr = self.fin.slot_addr(s);
                let pr = self.fin.fconst(p);
                let r = self.fin.call(helper, &[addr, pr]).ok_or(unchecked(span))?;
                let n = self.count_of(pred);
                Val {
                    w: vec![r],
                    def: Some(self.more_than(n, 0)),
                    strs: None,
                }
            }
            Agg::Seq | Agg::Hist => {
                return Err(KernelError::Unsupported {
                    what: "`seq`/`hist` inside an expression".into(),
                    span,
                });
            }
        };
        Ok(v)
    }

    /// The words a mode buffer counts: floats normalised (-0.0 → 0.0) and as bits; a
    /// missing second word is 0.
    /// The kept value stream a mode of `x` (where `pred`) is taken from, if the first
    /// lowering found one ([`Lower::mode_streams`]); records the stream it could be taken
    /// from. Only for an int packet field of at most 32 bits: its floats are exact, so equal
    /// floats are equal fields.
    fn mode_stream(&mut self, x: &Val, pred: Option<Reg>) -> Option<AccKey> {
        let [x0] = x.w[..] else {
            return None;
        };
        let narrow = matches!(
            self.upd.defining(x0),
            Some(Inst::LoadPkt {
                load: Load::U8 | Load::U16 | Load::U32,
                ..
            })
        );
        if !narrow {
            return None;
        }
        let f = self.upd.itof(x0);
        let key = AccKey::Values { x: f, pred };
        self.mode_candidates.insert(key.clone());
        self.mode_streams.contains(&key).then_some(key)
    }

    fn mode_words(&mut self, w: &[Reg]) -> Vec<Reg> {
        let mut out: Vec<Reg> = w
            .iter()
            .map(|r| {
                if self.upd.ty(*r) == MTy::F64 {
                    let z = self.upd.fconst(0.0);
                    let n = self.upd.fbin(FBinOp::Add, *r, z);
                    self.upd.bitcast(n, MTy::I64)
                } else {
                    *r
                }
            })
            .collect();
        if out.len() < 2 {
            out.push(self.upd.iconst(0));
        }
        out
    }

    fn read_words(&mut self, acc: usize, w: &[Reg]) -> Vec<Reg> {
        const NAMES: [&str; 2] = ["w0", "w1"];
        w.iter()
            .zip(NAMES)
            .map(|(r, name)| {
                let t = self.upd.ty(*r);
                self.read(acc, name, t, 0)
            })
            .collect()
    }

    /// The columns of a `seq`/`hist` feature.
    fn multi(&mut self, e: &Expr, base: Base) -> R<Vec<Val>> {
        let ExprKind::Aggregate(a) = &e.kind else {
            return Err(unchecked(e.span));
        };
        let u = Side::Update;
        let filter = match &a.filter {
            Some(f) => {
                let v = self.expr(u, f)?;
                let v = self.coerce(u, v, Base::Bool);
                Some(self.truthy(u, &v)?)
            }
            None => None,
        };
        let arg = a.arg.as_ref().ok_or(unchecked(e.span))?;
        let x = self.expr(u, arg)?;
        let x = self.coerce(u, x, base);
        let pred = self.and(u, filter, x.def);
        match (a.agg, &a.param) {
            (Agg::Seq, AggParam::Count(n)) => {
                let n = u32::try_from(*n).map_err(|_| unchecked(e.span))?;
                let acc = self.acc(AccKey::Seq {
                    w: x.w.clone(),
                    pred,
                    n,
                });
                let defaults = self.default_words(Side::Finish, base);
                let mut bases = Vec::new();
                for (i, d) in defaults.iter().enumerate() {
                    let bits = match self.fin.known(*d) {
                        Some(crate::builder::Known::I(v)) => v as u64,
                        Some(crate::builder::Known::F(v)) => v.to_bits(),
                        None => 0,
                    };
                    let t = self.fin.ty(*d);
                    let first = self.slots.len() as u32;
                    for j in 0..n {
                        let label = self
                            .accs
                            .get(acc)
                            .map(|a| a.key.label())
                            .unwrap_or_default();
                        self.new_slot(format!("{label}.w{i}[{j}]"), SlotKind::Value(t), bits);
                    }
                    bases.push((first, t));
                }
                if let Some(a) = self.accs.get_mut(acc) {
                    for (i, (first, _)) in bases.iter().enumerate() {
                        a.comps.push((if i == 0 { "w0" } else { "w1" }, *first));
                    }
                }
                let mut cols = Vec::new();
                for j in 0..n {
                    let w = bases
                        .iter()
                        .map(|(first, t)| self.fin.load_state(first + j, *t))
                        .collect();
                    cols.push(Val {
                        w,
                        def: None,
                        strs: Self::union(&x.strs, &self.default_strs(base)),
                    });
                }
                Ok(cols)
            }
            (Agg::Hist, AggParam::Edges(edges)) => {
                let bins = edges.len().saturating_sub(1) as u32;
                let d = self.add_data(DataSpec::Edges(edges.clone()));
                let x0 = x.w0()?;
                let acc = self.acc(AccKey::Hist {
                    x: x0,
                    pred,
                    edges: d,
                    bins,
                });
                let label = self
                    .accs
                    .get(acc)
                    .map(|a| a.key.label())
                    .unwrap_or_default();
                let first = self.slots.len() as u32;
                for j in 0..bins {
                    self.new_slot(format!("{label}[{j}]"), SlotKind::Value(MTy::I64), 0);
                }
                if let Some(a) = self.accs.get_mut(acc) {
                    a.comps.push(("bins", first));
                }
                Ok((0..bins)
                    .map(|j| Val::one(self.fin.load_state(first + j, MTy::I64)))
                    .collect())
            }
            _ => Err(unchecked(e.span)),
        }
    }

    // ---- features ---------------------------------------------------------------------

    /// A feature's output value: defaulted when none.
    fn feature_value(&mut self, id: FeatureId, span: Span) -> R<Val> {
        if let Some(v) = self.features.get(&id) {
            return Ok(v.clone());
        }
        let f = self.program.feature(id).ok_or(unchecked(span))?;
        if f.shape != Shape::Scalar {
            return Err(unchecked(span));
        }
        let v = self.unguarded(|s| s.expr(Side::Finish, &f.expr))?;
        let v = self.coerce(Side::Finish, v, f.output);
        let v = self.convert(v, f.expr.ty.base, f.output, span)?;
        let out = match v.def {
            None => v,
            Some(d) => {
                let dw = self.default_words(Side::Finish, f.output);
                let dv = Val {
                    w: dw,
                    def: None,
                    strs: self.default_strs(f.output),
                };
                let mut s = self.select_val(Side::Finish, d, &v, &dv);
                s.def = None;
                s
            }
        };
        self.features.insert(id, out.clone());
        Ok(out)
    }

    /// Widens an int value to a float column (declared `float`).
    fn convert(&mut self, v: Val, from: Base, to: Base, span: Span) -> R<Val> {
        if from == Base::Int && to == Base::Float {
            let f = self.fin.itof(v.w0()?);
            return Ok(Val {
                w: vec![f],
                def: v.def,
                strs: None,
            });
        }
        if words_of(from).len() != words_of(to).len() && from != Base::Nothing {
            return Err(unchecked(span));
        }
        Ok(v)
    }

    fn push_column(&mut self, col: Column, w: &[Reg]) {
        self.columns.push(col);
        self.column_cells.push(self.cells);
        for r in w {
            self.fin.out(self.cells, *r);
            self.cells += 1;
        }
    }

    fn output_feature(&mut self, id: FeatureId) -> R<()> {
        let f = self.program.feature(id).ok_or(unchecked(Span::default()))?;
        let columns = f.columns();
        match f.shape {
            Shape::Scalar => {
                let v = self.feature_value(id, f.span)?;
                if let Some(c) = columns.into_iter().next() {
                    let w = self.cell_words(&v, c.ty);
                    self.push_column(c, &w);
                }
            }
            Shape::Seq(_) | Shape::Hist(_) => {
                let base = match f.expr.kind {
                    ExprKind::Aggregate(ref a) => a.arg.as_ref().map_or(Base::Int, |x| x.ty.base),
                    _ => return Err(unchecked(f.span)),
                };
                let cols = self.multi(&f.expr, base)?;
                for (c, v) in columns.into_iter().zip(cols) {
                    let w = self.cell_words(&v, c.ty);
                    self.push_column(c, &w);
                }
            }
        }
        Ok(())
    }

    /// The cells of a column value (an int value in a float column is widened).
    fn cell_words(&mut self, v: &Val, ty: ColumnType) -> Vec<Reg> {
        v.w.iter()
            .map(|r| {
                if ty == ColumnType::Float && self.fin.ty(*r) == MTy::I64 {
                    self.fin.itof(*r)
                } else {
                    *r
                }
            })
            .collect()
    }

    // ---- accumulator code ---------------------------------------------------------------

    fn emit_accumulators(&mut self) -> R<()> {
        for i in 0..self.accs.len() {
            let Some(acc) = self.accs.get(i) else {
                continue;
            };
            let key = acc.key.clone();
            let count = acc.count;
            let n_old = match count {
                Some(c) => {
                    let s = self.comp(c, "n", SlotKind::Value(MTy::I64), 0);
                    Some(self.upd.load_state(s, MTy::I64))
                }
                None => None,
            };
            self.emit_one(i, &key, n_old)?;
        }
        Ok(())
    }

    fn store_comp(&mut self, acc: usize, name: &str, value: Reg, pred: Option<Reg>) {
        if let Some(s) = self.has_comp(acc, name) {
            self.upd.store_state(s, value, pred);
        }
    }

    fn load_comp(&mut self, acc: usize, name: &str, ty: MTy) -> Option<Reg> {
        self.has_comp(acc, name).map(|s| self.upd.load_state(s, ty))
    }

    fn emit_one(&mut self, i: usize, key: &AccKey, n_old: Option<Reg>) -> R<()> {
        let b = &mut self.upd;
        let zero = b.iconst(0);
        let one = b.iconst(1);
        let n_old = n_old.unwrap_or(zero);
        match key {
            AccKey::Count { pred } => {
                if let Some(n) = self.load_comp(i, "n", MTy::I64) {
                    let p = pred.unwrap_or(one);
                    let n1 = self.upd.ibin(IBinOp::Add, n, p);
                    self.store_comp(i, "n", n1, None);
                }
            }
            AccKey::Sum { x, pred } | AccKey::BitOr { x, pred } => {
                let name = if matches!(key, AccKey::Sum { .. }) {
                    "sum"
                } else {
                    "or"
                };
                let t = self.upd.ty(*x);
                if let Some(s) = self.load_comp(i, name, t) {
                    let r = match (key, t) {
                        (AccKey::BitOr { .. }, _) => self.upd.ibin(IBinOp::Or, s, *x),
                        (_, MTy::F64) => self.upd.fbin(FBinOp::Add, s, *x),
                        _ => self.upd.ibin(IBinOp::Add, s, *x),
                    };
                    self.store_comp(i, name, r, *pred);
                }
            }
            AccKey::Moments { x, pred } => self.emit_moments(i, *x, *pred, n_old),
            AccKey::Min { x, pred } | AccKey::Max { x, pred } => {
                let t = self.upd.ty(*x);
                if let Some(cur) = self.load_comp(i, "value", t) {
                    let is_min = matches!(key, AccKey::Min { .. });
                    let b = &mut self.upd;
                    let better = if t == MTy::F64 {
                        b.fcmp(if is_min { FloatCC::Lt } else { FloatCC::Gt }, *x, cur)
                    } else {
                        b.icmp(if is_min { IntCC::Slt } else { IntCC::Sgt }, *x, cur)
                    };
                    let first = b.icmp(IntCC::Eq, n_old, zero);
                    let take = b.ibin(IBinOp::Or, better, first);
                    let p = match pred {
                        Some(p) => b.ibin(IBinOp::And, take, *p),
                        None => take,
                    };
                    self.store_comp(i, "value", *x, Some(p));
                }
            }
            AccKey::First { w, pred } | AccKey::Nth { w, pred, .. } | AccKey::Last { w, pred } => {
                let p = match key {
                    AccKey::Last { .. } => *pred,
                    _ => {
                        let k = match key {
                            AccKey::Nth { n, .. } => *n,
                            _ => 0,
                        };
                        let kk = self.upd.iconst(k);
                        let at = self.upd.icmp(IntCC::Eq, n_old, kk);
                        self.and(Side::Update, *pred, Some(at))
                    }
                };
                for (r, name) in w.iter().zip(["w0", "w1"]) {
                    self.store_comp(i, name, *r, p);
                }
            }
            AccKey::Any { p } => self.store_comp(i, "any", one, Some(*p)),
            AccKey::All { violated } => self.store_comp(i, "all", zero, Some(*violated)),
            AccKey::Runs { elem, x } => {
                let cur_s = self.comp(i, "current", SlotKind::Value(MTy::I64), 0);
                let b = &mut self.upd;
                let cur = b.load_state(cur_s, MTy::I64);
                let elem = elem.unwrap_or(one);
                let t = b.ibin(IBinOp::And, elem, *x);
                let nx = b.ibin(IBinOp::Xor, *x, one);
                let f = b.ibin(IBinOp::And, elem, nx);
                let inc = b.ibin(IBinOp::Add, cur, one);
                let kept = b.select(f, zero, cur);
                let cur1 = b.select(t, inc, kept);
                let was0 = b.icmp(IntCC::Eq, cur, zero);
                let starts = b.ibin(IBinOp::And, t, was0);
                b.store_state(cur_s, cur1, None);
                if let Some(r) = self.load_comp(i, "runs", MTy::I64) {
                    let r1 = self.upd.ibin(IBinOp::Add, r, starts);
                    self.store_comp(i, "runs", r1, None);
                }
                if let Some(l) = self.load_comp(i, "longest", MTy::I64) {
                    let gt = self.upd.icmp(IntCC::Sgt, cur1, l);
                    self.store_comp(i, "longest", cur1, Some(gt));
                }
            }
            AccKey::Mode { w, pred } => {
                if let Some(s) = self.has_comp(i, "buffer") {
                    let addr = self.upd.slot_addr(s);
                    let mut args = vec![addr];
                    args.extend(w.iter().take(2));
                    args.push(pred.unwrap_or(one));
                    self.upd.call(Helper::ModePush, &args);
                }
            }
            AccKey::Seq { w, pred, n } => {
                for (r, name) in w.iter().zip(["w0", "w1"]) {
                    if let Some(base) = self.has_comp(i, name) {
                        self.upd.store_state_indexed(base, *n, n_old, *r, *pred);
                    }
                }
            }
            AccKey::Hist {
                x,
                pred,
                edges,
                bins,
            } => {
                if let Some(base) = self.has_comp(i, "bins") {
                    let b = &mut self.upd;
                    let e = b.data_addr(*edges);
                    let idx = b.call(Helper::HistBin, &[e, *x]).unwrap_or(zero);
                    let old = b.load_state_indexed(base, *bins, idx, MTy::I64);
                    let new = b.ibin(IBinOp::Add, old, one);
                    b.store_state_indexed(base, *bins, idx, new, *pred);
                }
            }
            AccKey::Entropy { ptr, len, pred } => {
                if let Some(s) = self.has_comp(i, "buffer") {
                    let addr = self.upd.slot_addr(s);
                    let p = pred.unwrap_or(one);
                    self.upd.call(Helper::BytesPush, &[addr, *ptr, *len, p]);
                }
            }
            AccKey::Values { x, pred } => {
                if let Some(s) = self.has_comp(i, "buffer") {
                    let addr = self.upd.slot_addr(s);
                    let p = pred.unwrap_or(one);
                    match self.options.percentiles {
                        PercentileMode::Exact => {
                            let mut keep = 0;
                            if self.kept_streams.contains(key) {
                                keep |= values_keep::MOMENTS;
                            }
                            if self.mode_streams.contains(key) {
                                keep |= values_keep::MODE;
                            }
                            let keep = self.upd.iconst(keep);
                            self.upd.call(Helper::ValuesPush, &[addr, *x, p, keep]);
                        }
                        PercentileMode::Sketch(alpha) => {
                            let a = self.upd.fconst(alpha.get());
                            self.upd.call(Helper::SketchPush, &[addr, *x, a, p]);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// One shared single-pass accumulator for mean/var/std/skew/kurtosis (Welford, with
    /// Terriberry's and Pébay's updates for M3 and M4, over values shifted by the first);
    /// the mean is reported as sum/n.
    fn emit_moments(&mut self, i: usize, x: Reg, pred: Option<Reg>, n_old: Reg) {
        let f = MTy::F64;
        if let Some(s) = self.load_comp(i, "sum", f) {
            let s1 = self.upd.fbin(FBinOp::Add, s, x);
            self.store_comp(i, "sum", s1, pred);
        }
        // Higher moments need the lower ones.
        if self.has_comp(i, "m4").is_some() {
            self.comp(i, "m3", SlotKind::Value(f), 0);
        }
        if self.has_comp(i, "m3").is_some() {
            self.comp(i, "m2", SlotKind::Value(f), 0);
        }
        if self.has_comp(i, "m2").is_none() {
            return;
        }
        let mean_s = self.comp(i, "mean", SlotKind::Value(f), 0);
        let shift_s = self.comp(i, "shift", SlotKind::Value(f), 0);
        let m2 = self.load_comp(i, "m2", f);
        let m3 = self.load_comp(i, "m3", f);
        let m4 = self.load_comp(i, "m4", f);
        let b = &mut self.upd;
        // Welford over x - shift, the shift being the stream's first value: the moments do
        // not change, and values far from 0 with a small spread (timestamps) keep their
        // precision.
        let zero = b.iconst(0);
        let is_first = b.icmp(IntCC::Eq, n_old, zero);
        let shift_old = b.load_state(shift_s, f);
        let shift = b.select(is_first, x, shift_old);
        let first_pred = match pred {
            Some(p) => b.ibin(IBinOp::And, p, is_first),
            None => is_first,
        };
        b.store_state(shift_s, x, Some(first_pred));
        let y = b.fbin(FBinOp::Sub, x, shift);
        let mean = b.load_state(mean_s, f);
        let one = b.iconst(1);
        let n1 = b.ibin(IBinOp::Add, n_old, one);
        let n = b.itof(n1);
        let nold_f = b.itof(n_old);
        let delta = b.fbin(FBinOp::Sub, y, mean);
        let dn = b.fbin(FBinOp::Div, delta, n);
        let dn2 = b.fbin(FBinOp::Mul, dn, dn);
        let dd = b.fbin(FBinOp::Mul, delta, dn);
        let term1 = b.fbin(FBinOp::Mul, dd, nold_f);
        let mean1 = b.fbin(FBinOp::Add, mean, dn);
        b.store_state(mean_s, mean1, pred);
        let Some(m2) = m2 else {
            return;
        };
        if let (Some(m3), Some(m4)) = (m3, m4) {
            // M4 += term1 * dn2 * (n² - 3n + 3) + 6 dn2 M2 - 4 dn M3
            let nn = b.fbin(FBinOp::Mul, n, n);
            let three = b.fconst(3.0);
            let n3 = b.fbin(FBinOp::Mul, three, n);
            let a = b.fbin(FBinOp::Sub, nn, n3);
            let poly = b.fbin(FBinOp::Add, a, three);
            let t1 = b.fbin(FBinOp::Mul, term1, dn2);
            let t1 = b.fbin(FBinOp::Mul, t1, poly);
            let six = b.fconst(6.0);
            let t2 = b.fbin(FBinOp::Mul, six, dn2);
            let t2 = b.fbin(FBinOp::Mul, t2, m2);
            let four = b.fconst(4.0);
            let t3 = b.fbin(FBinOp::Mul, four, dn);
            let t3 = b.fbin(FBinOp::Mul, t3, m3);
            let s = b.fbin(FBinOp::Add, m4, t1);
            let s = b.fbin(FBinOp::Add, s, t2);
            let m4n = b.fbin(FBinOp::Sub, s, t3);
            self.store_comp(i, "m4", m4n, pred);
        }
        let b = &mut self.upd;
        if let Some(m3) = m3 {
            // M3 += term1 * dn * (n - 2) - 3 dn M2
            let two = b.fconst(2.0);
            let nm2 = b.fbin(FBinOp::Sub, n, two);
            let t1 = b.fbin(FBinOp::Mul, term1, dn);
            let t1 = b.fbin(FBinOp::Mul, t1, nm2);
            let three = b.fconst(3.0);
            let t2 = b.fbin(FBinOp::Mul, three, dn);
            let t2 = b.fbin(FBinOp::Mul, t2, m2);
            let s = b.fbin(FBinOp::Add, m3, t1);
            let m3n = b.fbin(FBinOp::Sub, s, t2);
            self.store_comp(i, "m3", m3n, pred);
        }
        let m2n = self.upd.fbin(FBinOp::Add, m2, term1);
        self.store_comp(i, "m2", m2n, pred);
    }

    // ---- the kernel ---------------------------------------------------------------------

    fn into_kernel(self) -> R<Kernel> {
        let mut data = Vec::new();
        for spec in self.data {
            data.push(match spec {
                DataSpec::Regex(patterns) => {
                    let set =
                        RegexSetData::new(&patterns).map_err(|message| KernelError::Regex {
                            pattern: patterns.join(" | "),
                            message,
                        })?;
                    DataBlock::Regex(Box::new(set))
                }
                DataSpec::Table(t) => DataBlock::Table(Box::new(t)),
                DataSpec::Array(values) => DataBlock::Array(Box::new(ArrayData { values })),
                DataSpec::Edges(edges) => DataBlock::Edges(Box::new(EdgesData { edges })),
                DataSpec::Bytes(b) => DataBlock::Bytes(b.into_boxed_slice()),
                DataSpec::StrLens => DataBlock::Array(Box::new(ArrayData {
                    values: self.strings.iter().map(|s| s.len() as i64).collect(),
                })),
                DataSpec::StrPool => DataBlock::Strings(Box::new(StringPool::new(&self.strings))),
                DataSpec::StrRanks => {
                    let mut order: Vec<usize> = (0..self.strings.len()).collect();
                    order.sort_by(|a, b| self.strings.get(*a).cmp(&self.strings.get(*b)));
                    let mut ranks = vec![0i64; self.strings.len()];
                    for (rank, i) in order.into_iter().enumerate() {
                        if let Some(r) = ranks.get_mut(i) {
                            *r = rank as i64;
                        }
                    }
                    DataBlock::Array(Box::new(ArrayData { values: ranks }))
                }
            });
        }
        let addrs: Vec<u64> = data.iter().map(DataBlock::addr).collect();
        let patch = |mut f: crate::ir::Function| {
            for inst in &mut f.insts {
                if let crate::ir::Inst::DataAddr { data, addr, .. } = inst {
                    *addr = addrs.get(*data as usize).copied().unwrap_or(0);
                }
            }
            f
        };
        let (update, map) = self.upd.finish();
        let update = patch(update);
        let (finish, _) = self.fin.finish();
        let finish = patch(finish);
        let mut slots = self.slots;
        for s in &mut slots {
            s.name = renumber(&s.name, &map);
        }
        let limits = Limits {
            state_slots: slots.len(),
            out_cells: self.cells as usize,
        };
        update.verify(limits).map_err(|error| KernelError::Verify {
            function: "update",
            error,
        })?;
        finish.verify(limits).map_err(|error| KernelError::Verify {
            function: "finish",
            error,
        })?;
        let buffers = crate::kernel::buffer_slots(&slots);
        Ok(Kernel {
            columns: self.columns,
            column_cells: self.column_cells,
            out_cells: self.cells as usize,
            init: slots.iter().map(|s| s.init).collect(),
            slots,
            buffers,
            strings: self.strings,
            data,
            update,
            finish,
        })
    }
}

/// Rewrites the `vN` register names in a slot label to their numbers after dead-code
/// removal (`v?` for a register that is gone).
fn renumber(label: &str, map: &[Option<Reg>]) -> String {
    let mut out = String::with_capacity(label.len());
    let mut chars = label.char_indices().peekable();
    let mut prev_alnum = false;
    while let Some((i, c)) = chars.next() {
        if c == 'v' && !prev_alnum {
            let digits: String = label
                .get(i + 1..)
                .unwrap_or("")
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse::<usize>() {
                match map.get(n).copied().flatten() {
                    Some(r) => out.push_str(&r.to_string()),
                    None => out.push_str("v?"),
                }
                for _ in 0..digits.len() {
                    chars.next();
                }
                prev_alnum = true;
                continue;
            }
        }
        out.push(c);
        prev_alnum = c.is_ascii_alphanumeric() || c == '_';
    }
    out
}

fn int_cc(op: BinaryOp) -> IntCC {
    match op {
        BinaryOp::Lt => IntCC::Slt,
        BinaryOp::Le => IntCC::Sle,
        BinaryOp::Gt => IntCC::Sgt,
        BinaryOp::Ge => IntCC::Sge,
        BinaryOp::Ne => IntCC::Ne,
        _ => IntCC::Eq,
    }
}

#[cfg(test)]
mod tests {
    use jjc_abi::{FlowView, PacketView, Value};

    use super::*;
    use crate::ir::Inst;
    use crate::kernel::Exec;
    use crate::sketch::RelativeError;

    const PERCENTILES: &str = r#"
features lens "lengths" {
    med: float = median(pkt.len) ?? 0.0
    p90: float = percentile(pkt.len, 90) ?? 0.0
    seq_p25: float = percentile(pkt.len, 25 where pkt.tcp_seq > 5) ?? 0.0
}
"#;

    fn kernel_with(mode: PercentileMode) -> Kernel {
        let (lib, diags) = jjc_sema::Library::from_texts(&[("p.jjf", PERCENTILES)]);
        assert!(!diags.has_errors(), "{diags:?}");
        let groups: Vec<GroupId> = (0..lib.program.groups.len())
            .map(|i| GroupId(i as u32))
            .collect();
        let options = KernelOptions { percentiles: mode };
        match compile_with(&lib.program, &groups, &options) {
            Ok(k) => k,
            Err(e) => panic!("{e}"),
        }
    }

    fn helpers(k: &Kernel) -> Vec<Helper> {
        let mut hs: Vec<Helper> = [k.update_program(), k.finish_program()]
            .iter()
            .flat_map(|f| f.insts.iter())
            .filter_map(|i| match i {
                Inst::Call { helper, .. } => Some(*helper),
                _ => None,
            })
            .collect();
        hs.sort();
        hs.dedup();
        hs
    }

    /// The row of `n` packets of lengths spread over 40..1500, through the interpreter.
    fn row(k: &Kernel, n: u32) -> Vec<f64> {
        let mut interp = crate::Interpreter::new(k);
        let mut state = vec![0u64; k.state_slots()];
        k.init_state(&mut state);
        for i in 0..n {
            let mut p = PacketView::default();
            p.ts = f64::from(i) * 0.001;
            p.len = 40 + (i * 7919) % 1461;
            p.tcp_seq = i % 11;
            interp.update(&mut state, &p);
        }
        let flow = FlowView {
            packet_count: i64::from(n),
            packets_fwd: i64::from(n),
            protocol: 6,
            ip_version: 4,
            ..FlowView::default()
        };
        let mut out = vec![0u64; k.out_cells()];
        interp.finish(&mut state, &flow, &mut out);
        let mut values = Vec::new();
        k.cells_to_values_with_state(&out, &state, &mut values);
        k.drop_state(&mut state);
        values
            .iter()
            .map(|v| match v {
                Value::Float(x) => *x,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn the_percentile_mode_picks_the_helpers_and_buffers() {
        let exact = kernel_with(PercentileMode::Exact);
        let alpha = 0.02;
        let sketch = kernel_with(PercentileMode::Sketch(
            RelativeError::new(alpha).unwrap_or_default(),
        ));
        let hs = helpers(&exact);
        assert!(hs.contains(&Helper::ValuesPush) && hs.contains(&Helper::ValuesPercentile));
        assert!(!hs.contains(&Helper::SketchPush));
        let hs = helpers(&sketch);
        assert!(hs.contains(&Helper::SketchPush) && hs.contains(&Helper::SketchPercentile));
        assert!(!hs.contains(&Helper::ValuesPush) && !hs.contains(&Helper::ValuesPercentile));
        // α is a constant of the update function.
        assert!(
            sketch
                .update_program()
                .insts
                .iter()
                .any(|i| matches!(i, Inst::FConst { value, .. } if *value == alpha))
        );
        let kinds = |k: &Kernel| {
            k.slots()
                .iter()
                .filter_map(|s| match s.kind {
                    SlotKind::Buffer(b) => Some(b),
                    SlotKind::Value(_) => None,
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(kinds(&exact), [BufferKind::Values, BufferKind::Values]);
        assert_eq!(kinds(&sketch), [BufferKind::Sketch, BufferKind::Sketch]);
        // `compile` is `compile_with` the default options: exact.
        let (lib, _) = jjc_sema::Library::from_texts(&[("p.jjf", PERCENTILES)]);
        let default = compile(&lib.program, &[GroupId(0)]).map(|k| helpers(&k));
        assert_eq!(default, Ok(helpers(&exact)));
        // Short flows: bit-identical. Long flows: within α.
        for n in [1, 5, 100, 128] {
            let (a, b) = (row(&exact, n), row(&sketch, n));
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b), "{n} packets");
        }
        for n in [129, 1000, 20_000] {
            let (a, b) = (row(&exact, n), row(&sketch, n));
            for (x, y) in a.iter().zip(&b) {
                assert!(
                    (x - y).abs() <= alpha * x.abs() * (1.0 + 1e-9),
                    "{n}: {x} vs {y}"
                );
            }
            assert_ne!(a, b, "{n} packets: the sketch is an estimate");
        }
    }

    /// Features over the packet lengths (`x`) and the IATs (`g`): the moments of `x`, which
    /// also has a median, come from its kept values; those of `g`, which has none, are
    /// updated with every packet.
    const MOMENTS: &str = "features m \"moments\" {
    x_std: float = std(pkt.len) ?? 0.0
    x_mean: float = mean(pkt.len) ?? 0.0
    x_var: float = var(pkt.len) ?? 0.0
    x_median: float = median(pkt.len) ?? 0.0
    x_skew: float = skew(pkt.len) ?? 0.0
    g_std: float = std(pkt.ts - prev(pkt.ts)) ?? 0.0
}
";

    #[test]
    fn moments_of_a_kept_stream_come_from_its_values() {
        let (lib, diags) = jjc_sema::Library::from_texts(&[("m.jjf", MOMENTS)]);
        assert!(!diags.has_errors(), "{diags:?}");
        let compiled = |mode| {
            let options = KernelOptions { percentiles: mode };
            compile_with(&lib.program, &[GroupId(0)], &options).map_err(|e| e.to_string())
        };
        let Ok(exact) = compiled(PercentileMode::Exact) else {
            panic!("compiles")
        };
        let moment_calls = |k: &Kernel| {
            k.finish_program()
                .insts
                .iter()
                .filter(|i| {
                    matches!(
                        i,
                        Inst::Call {
                            helper: Helper::ValuesMoment,
                            ..
                        }
                    )
                })
                .count()
        };
        // The sum and the squared deviations of `x`, asked once each (mean; var and std).
        assert_eq!(moment_calls(&exact), 2);
        // Welford's moments are kept for `x`'s skew (which needs its M3) and for `g`.
        let welford: Vec<&str> = exact
            .slots()
            .iter()
            .filter(|s| s.name.starts_with("moments(") && s.name.ends_with(".m2"))
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(welford.len(), 2, "{welford:?}");
        // Sketched percentiles keep no list to take moments from.
        let Ok(sketch) = compiled(PercentileMode::Sketch(RelativeError::default())) else {
            panic!("compiles")
        };
        assert_eq!(moment_calls(&sketch), 0);
        // numpy's figures: the lengths' standard deviation, mean and variance, from the
        // values in push order, bit for bit (numpy's pairwise sums over 300 values).
        let cells = row(&exact, 300);
        let lens: Vec<f64> = (0..300u32)
            .map(|i| f64::from(40 + (i * 7919) % 1461))
            .collect();
        let (sum, m2) = crate::runtime::numpy_sum_and_m2(&lens);
        let n = lens.len() as f64;
        let want = [(m2 / n).sqrt(), sum / n, m2 / n];
        assert_eq!(cells[..3], want);
    }

    /// A fallback made at run time, joined to known strings, and arms with helpers.
    const ARMS: &str = r#"
table names: int -> str { 6 => "TCP", 17 => "UDP", 1 => "ICMP" }

features a "arms" {
    let l4 = names[flow.protocol] ?? "PROTO" + str(flow.protocol)
    desc: str = (if flow.src_port > 1024 then "HI-" else "") + l4
    slow: float = if flow.packet_count > 3 then median(pkt.len) ?? 0.0 else 0.0
    med: float = median(pkt.len) ?? 0.0
}
"#;

    #[test]
    fn fallbacks_and_arms_call_their_helpers_only_for_the_flows_that_take_them() {
        let (lib, diags) = jjc_sema::Library::from_texts(&[("a.jjf", ARMS)]);
        assert!(!diags.has_errors(), "{diags:?}");
        let k = match compile(&lib.program, &[GroupId(0)]) {
            Ok(k) => k,
            Err(e) => panic!("{e}"),
        };
        let calls: Vec<(Helper, bool)> = k
            .finish_program()
            .insts
            .iter()
            .filter_map(|i| match i {
                Inst::Call { helper, guard, .. } => Some((*helper, guard.is_some())),
                _ => None,
            })
            .collect();
        // `str`, the "PROTO" join and the join of the prefix with it: only for protocols
        // the table lacks. The known arms are folded when compiling: every `desc` of a
        // known protocol is a constant of the pool.
        let made = |h: Helper| calls.iter().filter(|c| c.0 == h).collect::<Vec<_>>();
        assert_eq!(made(Helper::StrInt), [&(Helper::StrInt, true)], "{calls:?}");
        assert_eq!(made(Helper::StrConcat).len(), 2, "{calls:?}");
        assert!(made(Helper::StrConcat).iter().all(|c| c.1), "{calls:?}");
        assert!(
            k.strings().iter().any(|s| s == "HI-ICMP"),
            "{:?}",
            k.strings()
        );
        // The median of an arm is the one `med` computes for every flow: one call, unguarded.
        assert_eq!(
            made(Helper::ValuesPercentile),
            [&(Helper::ValuesPercentile, false)],
            "{calls:?}"
        );
    }

    /// Modes of a narrow int field whose floats a median keeps, and modes that must count.
    const MODES: &str = r#"
features m "modes" {
    dom: int = mode(pkt.len) ?? 0
    dom_n: int = mode_count(pkt.len)
    med: float = median(pkt.len) ?? 0.0
    port: int = mode(pkt.dst_port) ?? 0
    shifted: int = mode(pkt.len - 1) ?? 0
}
"#;

    #[test]
    fn modes_of_a_kept_field_come_from_its_values() {
        let (lib, diags) = jjc_sema::Library::from_texts(&[("m.jjf", MODES)]);
        assert!(!diags.has_errors(), "{diags:?}");
        let k = match compile(&lib.program, &[GroupId(0)]) {
            Ok(k) => k,
            Err(e) => panic!("{e}"),
        };
        let count = |f: &crate::ir::Function, h: Helper| {
            f.insts
                .iter()
                .filter(|i| matches!(i, Inst::Call { helper, .. } if *helper == h))
                .count()
        };
        // `dom` and `dom_n` from the lengths' list; `port` (no list) and `shifted` (not a
        // field) counted with every packet.
        assert_eq!(count(k.finish_program(), Helper::ValuesMode), 2);
        assert_eq!(count(k.update_program(), Helper::ModePush), 2);
        // The list is made to keep its mode.
        let keeps: Vec<i64> = k
            .update_program()
            .insts
            .iter()
            .filter_map(|i| match i {
                Inst::Call {
                    helper: Helper::ValuesPush,
                    args,
                    ..
                } => args.get(3).copied(),
                _ => None,
            })
            .map(|r| {
                k.update_program()
                    .insts
                    .iter()
                    .find_map(|i| match i {
                        Inst::IConst { dst, value } if *dst == r => Some(*value),
                        _ => None,
                    })
                    .unwrap_or(-1)
            })
            .collect();
        assert_eq!(keeps, [values_keep::MODE]);
        // Lengths 60, 90, 90, 60, 40: 60 and 90 twice each, 60 first.
        let mut interp = crate::Interpreter::new(&k);
        let mut state = vec![0u64; k.state_slots()];
        k.init_state(&mut state);
        for (i, len) in [60, 90, 90, 60, 40].into_iter().enumerate() {
            let mut p = PacketView::default();
            p.ts = i as f64;
            p.len = len;
            p.dst_port = 443;
            interp.update(&mut state, &p);
        }
        let flow = FlowView {
            packet_count: 5,
            ..FlowView::default()
        };
        let mut out = vec![0u64; k.out_cells()];
        interp.finish(&mut state, &flow, &mut out);
        k.drop_state(&mut state);
        let ints: Vec<i64> = out.iter().map(|&c| c as i64).collect();
        assert_eq!(ints[..2], [60, 2]);
        assert_eq!(f64::from_bits(out[2]), 60.0);
        assert_eq!(ints[3..], [443, 59]);
    }

    #[test]
    fn slot_labels_follow_register_renumbering() {
        let map = vec![None, Some(Reg(0)), Some(Reg(7))];
        assert_eq!(
            renumber("moments(v2 if v1).m2", &map),
            "moments(v7 if v0).m2"
        );
        assert_eq!(renumber("prev(v0).w0", &map), "prev(v?).w0");
        assert_eq!(renumber("seq(v1, 3).w0[2]", &map), "seq(v0, 3).w0[2]");
        assert_eq!(renumber("values(v)", &map), "values(v)");
    }
}
