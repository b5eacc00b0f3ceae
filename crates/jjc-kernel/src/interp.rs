//! The reference interpreter: runs a kernel's IR directly, one instruction after another,
//! over a register file allocated once.

use jjc_abi::{FlowView, PacketView};

use crate::flow_strings as fs;
use crate::ir::{Function, Helper, Inst, Load, byte_index, f64_to_i64, i64_to_f64, slice_bounds};
use crate::kernel::{Exec, Kernel};
use crate::runtime as rt;

/// Runs a [`Kernel`] by interpreting its IR. Allocates only when created.
#[derive(Debug)]
pub struct Interpreter<'k> {
    kernel: &'k Kernel,
    regs: Vec<u64>,
}

impl<'k> Interpreter<'k> {
    /// An interpreter for `kernel`.
    pub fn new(kernel: &'k Kernel) -> Self {
        let n = kernel
            .update_program()
            .regs
            .len()
            .max(kernel.finish_program().regs.len());
        Interpreter {
            kernel,
            regs: vec![0; n],
        }
    }
}

impl Exec for Interpreter<'_> {
    fn update(&mut self, state: &mut [u64], pkt: &PacketView<'_>) {
        if state.len() < self.kernel.state_slots() {
            return;
        }
        let base = pkt as *const PacketView<'_> as *const u8;
        run(
            self.kernel.update_program(),
            &mut self.regs,
            state,
            Mem::Packet(base),
            &mut [],
        );
    }

    fn finish(&mut self, state: &mut [u64], flow: &FlowView, out: &mut [u64]) {
        if state.len() < self.kernel.state_slots() || out.len() < self.kernel.out_cells() {
            return;
        }
        let base = flow as *const FlowView as *const u8;
        run(
            self.kernel.finish_program(),
            &mut self.regs,
            state,
            Mem::Flow(base),
            out,
        );
    }
}

/// The struct a function reads fields of.
#[derive(Clone, Copy)]
enum Mem {
    Packet(*const u8),
    Flow(*const u8),
}

/// Reads a field. The kernel was verified: `offset + width` lies inside the struct.
///
/// # Safety
/// `base` points to a live `PacketView` / `FlowView` of at least `offset + load.width()` bytes.
unsafe fn read(base: *const u8, offset: u32, load: Load) -> u64 {
    // SAFETY: per the contract.
    unsafe {
        let p = base.add(offset as usize);
        match load {
            Load::U8 => u64::from(p.read()),
            Load::U16 => u64::from(p.cast::<u16>().read_unaligned()),
            Load::U32 => u64::from(p.cast::<u32>().read_unaligned()),
            Load::I64 | Load::F64 | Load::Ptr => p.cast::<u64>().read_unaligned(),
            Load::U64Be => u64::from_be_bytes(p.cast::<[u8; 8]>().read_unaligned()),
        }
    }
}

fn run(f: &Function, regs: &mut [u64], state: &mut [u64], mem: Mem, out: &mut [u64]) {
    let get = |regs: &[u64], r: crate::ir::Reg| regs.get(r.index()).copied().unwrap_or(0);
    let fl = |regs: &[u64], r: crate::ir::Reg| f64::from_bits(get(regs, r));
    for inst in &f.insts {
        let (dst, v): (crate::ir::Reg, u64) = match inst {
            Inst::IConst { dst, value } => (*dst, *value as u64),
            Inst::FConst { dst, value } => (*dst, value.to_bits()),
            Inst::DataAddr { dst, addr, .. } => (*dst, *addr),
            Inst::LoadPkt { dst, offset, load } => match mem {
                // SAFETY: verified offsets inside a live PacketView.
                Mem::Packet(p) => (*dst, unsafe { read(p, *offset, *load) }),
                Mem::Flow(_) => (*dst, 0),
            },
            Inst::LoadFlow { dst, offset, load } => match mem {
                // SAFETY: verified offsets inside a live FlowView.
                Mem::Flow(p) => (*dst, unsafe { read(p, *offset, *load) }),
                Mem::Packet(_) => (*dst, 0),
            },
            Inst::LoadState { dst, slot } => {
                (*dst, state.get(*slot as usize).copied().unwrap_or(0))
            }
            Inst::StoreState { slot, value, pred } => {
                if pred.is_none_or(|p| get(regs, p) != 0)
                    && let Some(s) = state.get_mut(*slot as usize)
                {
                    *s = get(regs, *value);
                }
                continue;
            }
            Inst::LoadStateIndexed {
                dst,
                base,
                len,
                index,
            } => {
                let i = get(regs, *index) as i64;
                let v = if (0..i64::from(*len)).contains(&i) {
                    state.get(*base as usize + i as usize).copied().unwrap_or(0)
                } else {
                    0
                };
                (*dst, v)
            }
            Inst::StoreStateIndexed {
                base,
                len,
                index,
                value,
                pred,
            } => {
                let i = get(regs, *index) as i64;
                if pred.is_none_or(|p| get(regs, p) != 0)
                    && (0..i64::from(*len)).contains(&i)
                    && let Some(s) = state.get_mut(*base as usize + i as usize)
                {
                    *s = get(regs, *value);
                }
                continue;
            }
            Inst::SlotAddr { dst, slot } => {
                let p = state
                    .get_mut(*slot as usize)
                    .map_or(0, |s| s as *mut u64 as u64);
                (*dst, p)
            }
            Inst::IBin { dst, op, a, b } => (
                *dst,
                op.eval(get(regs, *a) as i64, get(regs, *b) as i64) as u64,
            ),
            Inst::FBin { dst, op, a, b } => (*dst, op.eval(fl(regs, *a), fl(regs, *b)).to_bits()),
            Inst::ICmp { dst, cc, a, b } => (
                *dst,
                cc.eval(get(regs, *a) as i64, get(regs, *b) as i64) as u64,
            ),
            Inst::FCmp { dst, cc, a, b } => (*dst, cc.eval(fl(regs, *a), fl(regs, *b)) as u64),
            Inst::IUn { dst, op, a } => (*dst, op.eval(get(regs, *a) as i64) as u64),
            Inst::FUn { dst, op, a } => (*dst, op.eval(fl(regs, *a)).to_bits()),
            Inst::IToF { dst, a } => (*dst, i64_to_f64(get(regs, *a) as i64).to_bits()),
            Inst::FToI { dst, a } => (*dst, f64_to_i64(fl(regs, *a)) as u64),
            Inst::Bitcast { dst, a } => (*dst, get(regs, *a)),
            Inst::Select { dst, cond, a, b } => {
                let v = if get(regs, *cond) != 0 {
                    get(regs, *a)
                } else {
                    get(regs, *b)
                };
                (*dst, v)
            }
            Inst::ByteAt {
                value,
                in_bounds,
                ptr,
                len,
                index,
            } => {
                let (p, n, i) = (get(regs, *ptr), get(regs, *len) as i64, get(regs, *index));
                let (v, ok) = match byte_index(n, i as i64) {
                    // SAFETY: (ptr, len) are packet bytes and `i` is within them.
                    Some(i) if p != 0 => (
                        u64::from(unsafe { (p as *const u8).add(i as usize).read() }),
                        1,
                    ),
                    _ => (0, 0),
                };
                set(regs, *value, v);
                set(regs, *in_bounds, ok);
                continue;
            }
            Inst::Slice {
                dst_ptr,
                dst_len,
                ptr,
                len,
                lo,
                hi,
            } => {
                let (start, n) = slice_bounds(
                    get(regs, *len) as i64,
                    get(regs, *lo) as i64,
                    get(regs, *hi) as i64,
                );
                set(regs, *dst_ptr, get(regs, *ptr).wrapping_add(start as u64));
                set(regs, *dst_len, n as u64);
                continue;
            }
            Inst::Call {
                helper,
                args,
                dst,
                guard,
            } => {
                if let Some(g) = guard
                    && get(regs, *g) == 0
                {
                    if let Some(d) = dst {
                        set(regs, *d, 0);
                    }
                    continue;
                }
                let a = |i: usize| args.get(i).map_or(0, |r| get(regs, *r));
                let i = |k: usize| a(k) as i64;
                let x = |k: usize| f64::from_bits(a(k));
                // SAFETY: the arguments were produced by the kernel's own IR for these
                // helpers (slot addresses of live state, kernel data, packet bytes).
                let r: Option<u64> = unsafe {
                    match helper {
                        Helper::RegexSet => Some(rt::jjc_regex_set(i(0), i(1), i(2)) as u64),
                        Helper::ValuesPush => {
                            rt::jjc_values_push(i(0), x(1), i(2), i(3));
                            None
                        }
                        Helper::ValuesPercentile => {
                            Some(rt::jjc_values_percentile(i(0), x(1)).to_bits())
                        }
                        Helper::ValuesMoment => Some(rt::jjc_values_moment(i(0), i(1)).to_bits()),
                        Helper::ValuesMode => Some(rt::jjc_values_mode(i(0), i(1)).to_bits()),
                        Helper::SketchPush => {
                            crate::sketch::jjc_sketch_push(i(0), x(1), x(2), i(3));
                            None
                        }
                        Helper::SketchPercentile => {
                            Some(crate::sketch::jjc_sketch_percentile(i(0), x(1)).to_bits())
                        }
                        Helper::ModePush => {
                            rt::jjc_mode_push(i(0), i(1), i(2), i(3));
                            None
                        }
                        Helper::ModeGet => Some(rt::jjc_mode_get(i(0), i(1)) as u64),
                        Helper::ModeCount => Some(rt::jjc_mode_count(i(0)) as u64),
                        Helper::TlsParse => {
                            Some(crate::tls::jjc_tls_parse(i(0), i(1), i(2)) as u64)
                        }
                        Helper::TlsInt => Some(crate::tls::jjc_tls_int(i(0), i(1)) as u64),
                        Helper::TlsStr => {
                            Some(crate::tls::jjc_tls_str(i(0), i(1), i(2), i(3)) as u64)
                        }
                        Helper::StrLen => Some(fs::jjc_str_len(i(0), i(1), i(2)) as u64),
                        Helper::StrCmp => Some(fs::jjc_str_cmp(i(0), i(1), i(2), i(3)) as u64),
                        Helper::StrConcat => {
                            Some(fs::jjc_str_concat(i(0), i(1), i(2), i(3)) as u64)
                        }
                        Helper::StrInt => {
                            Some(crate::int_text::jjc_str_int(i(0), i(1), i(2)) as u64)
                        }
                        Helper::BytesPush => {
                            rt::jjc_bytes_push(i(0), i(1), i(2), i(3));
                            None
                        }
                        Helper::BytesEntropy => Some(rt::jjc_bytes_entropy(i(0)).to_bits()),
                        Helper::Ln => Some(rt::jjc_ln(x(0)).to_bits()),
                        Helper::Log2 => Some(rt::jjc_log2(x(0)).to_bits()),
                        Helper::Exp => Some(rt::jjc_exp(x(0)).to_bits()),
                        Helper::Pow => Some(rt::jjc_pow(x(0), x(1)).to_bits()),
                        Helper::FRem => Some(rt::jjc_frem(x(0), x(1)).to_bits()),
                        Helper::TableFind => Some(rt::jjc_table_find(i(0), i(1), i(2)) as u64),
                        Helper::ArrayGet => Some(rt::jjc_array_get(i(0), i(1)) as u64),
                        Helper::HistBin => Some(rt::jjc_hist_bin(i(0), x(1)) as u64),
                        Helper::BytesEq => Some(rt::jjc_bytes_eq(i(0), i(1), i(2), i(3)) as u64),
                    }
                };
                match (dst, r) {
                    (Some(d), Some(v)) => (*d, v),
                    _ => continue,
                }
            }
            Inst::Out { cell, value } => {
                if let Some(o) = out.get_mut(*cell as usize) {
                    *o = get(regs, *value);
                }
                continue;
            }
        };
        set(regs, dst, v);
    }
}

fn set(regs: &mut [u64], r: crate::ir::Reg, v: u64) {
    if let Some(x) = regs.get_mut(r.index()) {
        *x = v;
    }
}
