//! Lowered kernels kept in the kernel cache, so that a run of features an earlier run
//! compiled skips checking the library and lowering the groups (about 1.4 ms of start-up).
//!
//! An entry is named by a SHA-256 ([`jjc_jit::LoweredKey`]) of the running executable and of
//! everything the kernel depends on: every loaded file (origin, path, name, text, in load
//! order), the `.jjf` groups and profile asked for, and the kernel options. It holds the kernel
//! ([`jjc_kernel::kernel_codec`]) and, for the row's layout, the name and column count of each
//! selected `.jjf` group. Only a run whose files all read and checked without error stores an
//! entry, so a hit is always a kernel that compiled; the entry's trust and integrity checks
//! are the kernel cache's own.

use jjc_jit::LoweredKey;
use jjc_kernel::{Kernel, kernel_codec};
use jjc_sema::Gathered;
use jjc_syntax::binary::{Decode, Encode, Reader, Writer};

use crate::features::FeatureConfig;

/// A selected `.jjf` group of a kernel: its name and how many of the kernel's columns it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KernelGroup {
    pub(crate) name: String,
    pub(crate) columns: usize,
}

/// The key of the kernel `gathered`'s files make for the `.jjf` groups `jjf_names` (the
/// names not taken by native groups; none selected at all when `only_native`) and `config`,
/// when nothing failed to read (a failure is reported by checking, never cached).
pub(crate) fn key(
    gathered: &Gathered,
    jjf_names: &[String],
    only_native: bool,
    config: &FeatureConfig,
) -> Option<LoweredKey> {
    if gathered.has_errors() {
        return None;
    }
    LoweredKey::new(|field| {
        gathered.fingerprint(field);
        field(if only_native {
            b"native only"
        } else {
            b"groups"
        });
        for name in jjf_names {
            field(name.as_bytes());
        }
        field(b"profile");
        field(config.profile.as_deref().unwrap_or("\0none").as_bytes());
        field(b"percentiles");
        field(format!("{:?}", config.percentiles).as_bytes());
    })
}

/// An entry's bytes: the groups, then the kernel's bytes (`jjc_syntax::binary`'s form).
pub(crate) fn encode(kernel: &Kernel, groups: &[KernelGroup]) -> Vec<u8> {
    let mut w = Writer::default();
    w.length(groups.len());
    for g in groups {
        g.name.put(&mut w);
        g.columns.put(&mut w);
    }
    w.bytes(&kernel_codec::encode(kernel));
    w.0
}

/// The kernel and groups [`encode`] wrote; `None` if `bytes` are not such an entry, or its
/// groups do not account for the kernel's columns.
pub(crate) fn decode(bytes: &[u8]) -> Option<(Kernel, Vec<KernelGroup>)> {
    let mut r = Reader::new(bytes, ());
    let count = r.length()?;
    let mut groups = Vec::new();
    for _ in 0..count {
        let name = String::get(&mut r)?;
        let columns = usize::get(&mut r)?;
        groups.push(KernelGroup { name, columns });
    }
    let kernel = kernel_codec::decode(r.bytes()?)?;
    let total = groups
        .iter()
        .try_fold(0usize, |sum, g| sum.checked_add(g.columns))?;
    (r.is_at_end() && total == kernel.columns().len()).then_some((kernel, groups))
}

#[cfg(test)]
mod tests {
    use jjc_sema::Library;

    use super::*;

    fn kernel() -> (Kernel, Vec<KernelGroup>) {
        let text = "features a \"one\" {\n    x: int = flow.packet_count  \"packets\"\n}\n\
                    features b \"two\" {\n    y: float = flow.duration  \"seconds\"\n    z: int = flow.byte_count  \"bytes\"\n}\n";
        let (lib, diags) = Library::from_texts(&[("t.jjf", text)]);
        assert!(!diags.has_errors(), "{diags:?}");
        let groups: Vec<_> = ["a", "b"]
            .iter()
            .map(|n| lib.program.group_by_name(n).unwrap())
            .collect();
        let kernel = jjc_kernel::compile(&lib.program, &groups).unwrap();
        let groups = vec![
            KernelGroup {
                name: "a".into(),
                columns: 1,
            },
            KernelGroup {
                name: "b".into(),
                columns: 2,
            },
        ];
        (kernel, groups)
    }

    #[test]
    fn an_entry_reads_back_as_written() {
        let (kernel, groups) = kernel();
        let (back, back_groups) = decode(&encode(&kernel, &groups)).unwrap();
        assert_eq!(back_groups, groups);
        assert_eq!(back.dump_ir(), kernel.dump_ir());
    }

    #[test]
    fn a_cut_entry_or_groups_that_miss_columns_are_not_read() {
        let (kernel, groups) = kernel();
        let bytes = encode(&kernel, &groups);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        let mut short = groups.clone();
        short[1].columns = 1;
        assert!(decode(&encode(&kernel, &short)).is_none());
    }
}
