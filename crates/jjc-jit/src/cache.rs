//! The kernel cache: the native code of kernels compiled before, kept in a directory and
//! linked again by later runs of the same kernel, so that those runs skip Cranelift (most of
//! a run's start-up).
//!
//! # What an entry holds, and when it is used
//! An entry is the machine code of `update` and `finish` with their relocations, the targets
//! named by symbol (a runtime helper, a kernel data block `jjc_data_N`, a libcall). The code
//! holds no address of the run that compiled it: helpers and data blocks are reached only
//! through relocations, which the loading run resolves against its own addresses.
//!
//! Its file name is a SHA-256 of everything the code depends on ([`CacheKey`]): the format's
//! version, the running executable (path, size, modification time, inode: a rebuilt or
//! upgraded `jjc` never reads another build's entries), the target and every Cranelift
//! setting, the kernel's limits and both functions' IR ([`jjc_kernel::ir::Function::hash_code`]).
//!
//! # Trust
//! An entry is native code the process will run, so it is read only from a directory and a
//! file that the user running jjc owns and that nobody else may write (as `ssh` treats its
//! keys), and only when the SHA-256 of its contents, stored after them, matches. Anything
//! else (a missing, foreign, truncated or damaged entry) is a miss: the kernel is compiled
//! and the entry written again. Entries are written to a temporary file and renamed, so a
//! reader never sees half of one, and the directory keeps at most [`MAX_ENTRIES`] of them
//! (the least recently used go first). The cache never fails a run: errors reading or
//! writing it only mean compiling.

use std::fs;
use std::hash::Hasher;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use cranelift_codegen::binemit::Reloc;
use cranelift_codegen::isa::TargetIsa;
use jjc_kernel::ir as kir;
use sha2::{Digest, Sha256};

/// The most entries a cache directory keeps; writing one more removes the least recently used.
pub const MAX_ENTRIES: usize = 64;

/// The largest entry read back (a kernel's code is tens of kilobytes).
const MAX_ENTRY_BYTES: u64 = 64 << 20;

/// The first bytes of an entry file: the format and its version.
const MAGIC: &[u8; 8] = b"JJCKRN01";

/// The extension of entry files.
const EXTENSION: &str = "kernel";

/// The first bytes of a lowered kernel's entry file ([`KernelCache::load_lowered`]).
const LOWERED_MAGIC: &[u8; 8] = b"JJCLOW01";

/// The extension of lowered kernels' entry files.
const LOWERED_EXTENSION: &str = "lowered";

/// Relocation kinds an entry can hold, by their number in the file.
const RELOC_KINDS: [Reloc; 7] = [
    Reloc::Abs4,
    Reloc::Abs8,
    Reloc::X86PCRel4,
    Reloc::X86CallPCRel4,
    Reloc::X86CallPLTRel4,
    Reloc::X86GOTPCRel4,
    Reloc::Arm64Call,
];

/// A directory of compiled kernels (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelCache {
    dir: PathBuf,
}

impl KernelCache {
    /// A cache kept in `dir` (created, private to the user, when the first entry is written).
    pub fn in_dir(dir: impl Into<PathBuf>) -> KernelCache {
        KernelCache { dir: dir.into() }
    }

    /// The user's default cache directory: `$XDG_CACHE_HOME/jjc/kernels`, or
    /// `$HOME/.cache/jjc/kernels`; `None` when neither variable is set to an absolute path.
    pub fn default_dir() -> Option<PathBuf> {
        default_dir_from(|var| std::env::var_os(var))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry_path(&self, key: &[u8; 32], kind: EntryKind) -> PathBuf {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut name = String::with_capacity(2 * key.len() + 1 + kind.extension.len());
        for b in key {
            name.push(char::from(HEX[usize::from(b >> 4)]));
            name.push(char::from(HEX[usize::from(b & 15)]));
        }
        name.push('.');
        name.push_str(kind.extension);
        self.dir.join(name)
    }

    /// The native code for `key`, when there is a trustworthy, intact entry.
    pub(crate) fn load(&self, key: &CacheKey) -> Option<StoredCode> {
        decode_code(&self.load_body(&key.0, EntryKind::CODE)?)
    }

    /// Writes the native code for `key`, replacing any; errors are ignored (the next run
    /// compiles).
    pub(crate) fn store(&self, key: &CacheKey, code: &StoredCode) {
        let _ = self.try_store(&key.0, EntryKind::CODE, &encode_code(code));
    }

    /// The bytes of the lowered kernel stored for `key` ([`KernelCache::store_lowered`]),
    /// when there is a trustworthy, intact entry: the same checks as for native code, since
    /// the kernel decides what code runs.
    pub fn load_lowered(&self, key: &LoweredKey) -> Option<Vec<u8>> {
        self.load_body(&key.0, EntryKind::LOWERED)
    }

    /// Keeps the bytes of a lowered kernel (what the caller encoded) for `key`, replacing any;
    /// errors are ignored (the next run lowers the kernel again).
    pub fn store_lowered(&self, key: &LoweredKey, body: &[u8]) {
        let _ = self.try_store(&key.0, EntryKind::LOWERED, body);
    }

    /// The body of the `kind` entry for `key`, when there is a trustworthy, intact one.
    fn load_body(&self, key: &[u8; 32], kind: EntryKind) -> Option<Vec<u8>> {
        if !private_to_user(&fs::metadata(&self.dir).ok()?, true) {
            return None;
        }
        let mut file = fs::File::open(self.entry_path(key, kind)).ok()?;
        let meta = file.metadata().ok()?;
        if !private_to_user(&meta, false) || meta.len() > MAX_ENTRY_BYTES {
            return None;
        }
        // Read through the handle that was checked, not the path again.
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).ok()?);
        file.read_to_end(&mut bytes).ok()?;
        let body = unframe(&bytes, kind.magic, key)?.to_vec();
        // Most recently used: eviction goes by modification time.
        let _ = file.set_modified(SystemTime::now());
        Some(body)
    }

    fn try_store(&self, key: &[u8; 32], kind: EntryKind, body: &[u8]) -> std::io::Result<()> {
        create_private_dir(&self.dir)?;
        if !private_to_user(&fs::metadata(&self.dir)?, true) {
            return Ok(());
        }
        evict(&self.dir, kind.extension, MAX_ENTRIES - 1)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".entry")
            .suffix(".tmp")
            .tempfile_in(&self.dir)?;
        tmp.write_all(&frame(kind.magic, key, body))?;
        tmp.persist(self.entry_path(key, kind))
            .map_err(|e| e.error)?;
        Ok(())
    }
}

/// The two kinds of entry a cache directory holds, each with its own file extension and
/// magic (so one is never read as the other) and its own [`MAX_ENTRIES`].
#[derive(Debug, Clone, Copy)]
struct EntryKind {
    magic: &'static [u8; 8],
    extension: &'static str,
}

impl EntryKind {
    /// Native code ([`StoredCode`]).
    const CODE: EntryKind = EntryKind {
        magic: MAGIC,
        extension: EXTENSION,
    };
    /// A lowered kernel, encoded by the caller.
    const LOWERED: EntryKind = EntryKind {
        magic: LOWERED_MAGIC,
        extension: LOWERED_EXTENSION,
    };
}

/// The name of a lowered kernel's entry: a SHA-256 of the entry format's version, the running
/// executable (as for native code: another build never reads it) and everything the caller
/// feeds, which must be everything the kernel depends on (its sources, selection and options).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoweredKey([u8; 32]);

impl LoweredKey {
    /// The key of what `inputs` feeds, each call one length-prefixed field; `None` when the
    /// running executable cannot be identified (then nothing is cached).
    pub fn new(inputs: impl FnOnce(&mut dyn FnMut(&[u8]))) -> Option<LoweredKey> {
        let mut h = KeyHasher(Sha256::new());
        h.field(LOWERED_MAGIC);
        h.field(env!("CARGO_PKG_VERSION").as_bytes());
        executable_identity(&mut h)?;
        inputs(&mut |bytes| h.field(bytes));
        Some(LoweredKey(h.0.finalize().into()))
    }
}

/// [`KernelCache::default_dir`] with the environment read through `var`.
fn default_dir_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    let absolute = |name: &str| var(name).map(PathBuf::from).filter(|p| p.is_absolute());
    let base = absolute("XDG_CACHE_HOME").or_else(|| absolute("HOME").map(|h| h.join(".cache")))?;
    Some(base.join("jjc").join("kernels"))
}

/// Removes the least recently used entries with `extension` until at most `keep` are left.
fn evict(dir: &Path, extension: &str, keep: usize) -> std::io::Result<()> {
    let mut entries: Vec<(SystemTime, PathBuf)> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == extension))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if entries.len() <= keep {
        return Ok(());
    }
    entries.sort();
    for (_, path) in &entries[..entries.len() - keep] {
        let _ = fs::remove_file(path);
    }
    Ok(())
}

/// Whether `meta` is of a directory (or a regular file) that the effective user owns and
/// that no one else may write.
#[cfg(unix)]
fn private_to_user(meta: &fs::Metadata, dir: bool) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: `geteuid` has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    let kind = if dir { meta.is_dir() } else { meta.is_file() };
    kind && meta.uid() == euid && meta.mode() & 0o022 == 0
}

/// Elsewhere there is no owner to check: the user's own cache directory is trusted.
#[cfg(not(unix))]
fn private_to_user(meta: &fs::Metadata, dir: bool) -> bool {
    if dir { meta.is_dir() } else { meta.is_file() }
}

/// Creates `dir` and its missing parents, the last one readable by its owner only.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

/// The name of a cache entry: a SHA-256 of everything its code depends on (see the module
/// documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CacheKey([u8; 32]);

impl CacheKey {
    /// The key of the code `isa` makes from `update` and `finish` under `limits`; `None`
    /// when the running executable cannot be identified (then nothing is cached).
    pub(crate) fn new(
        isa: &dyn TargetIsa,
        update: &kir::Function,
        finish: &kir::Function,
        limits: kir::Limits,
    ) -> Option<CacheKey> {
        let mut h = KeyHasher(Sha256::new());
        h.field(MAGIC);
        h.field(env!("CARGO_PKG_VERSION").as_bytes());
        executable_identity(&mut h)?;
        h.field(isa.triple().to_string().as_bytes());
        h.field(isa.flags().to_string().as_bytes());
        for flag in isa.isa_flags() {
            h.field(flag.to_string().as_bytes());
        }
        h.write_usize(limits.state_slots);
        h.write_usize(limits.out_cells);
        update.hash_code(&mut h);
        finish.hash_code(&mut h);
        Some(CacheKey(h.0.finalize().into()))
    }
}

/// Feeds the hasher the running executable's path, size, modification time and (on Unix)
/// device and inode.
fn executable_identity(h: &mut KeyHasher) -> Option<()> {
    let exe = std::env::current_exe().ok()?;
    let meta = fs::metadata(&exe).ok()?;
    let modified = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    h.field(exe.as_os_str().as_encoded_bytes());
    h.write_u64(meta.len());
    h.write_u128(modified.as_nanos());
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        h.write_u64(meta.dev());
        h.write_u64(meta.ino());
    }
    Some(())
}

/// A [`Hasher`] into SHA-256, so that IR can be hashed by its `Hash`-style walk.
struct KeyHasher(Sha256);

impl KeyHasher {
    /// Bytes with their length first, so that consecutive fields cannot run together.
    fn field(&mut self, bytes: &[u8]) {
        self.write_usize(bytes.len());
        self.write(bytes);
    }
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The first eight bytes of the digest so far.
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first)
    }
}

/// The code of both kernel functions as an entry holds it: `[update, finish]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredCode {
    pub(crate) functions: [StoredFunction; 2],
}

/// One function's machine code and relocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredFunction {
    /// The code's alignment in bytes.
    pub(crate) alignment: u64,
    /// The machine code (with its constants).
    pub(crate) bytes: Vec<u8>,
    /// Where the code refers to symbols.
    pub(crate) relocs: Vec<StoredReloc>,
}

/// A relocation whose target is named by symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredReloc {
    /// Offset in the function's code.
    pub(crate) offset: u32,
    /// How the address is written.
    pub(crate) kind: Reloc,
    /// A declared function or data object's name, or `libcall:` and a libcall's name.
    pub(crate) target: String,
    /// Added to the target's address.
    pub(crate) addend: i64,
}

/// The number of `kind` in the file, when entries can hold it.
pub(crate) fn reloc_kind_number(kind: Reloc) -> Option<u8> {
    RELOC_KINDS
        .iter()
        .position(|k| *k == kind)
        .and_then(|i| u8::try_from(i).ok())
}

/// An entry file: magic, key, the body's length and bytes, its SHA-256.
fn frame(magic: &[u8; 8], key: &[u8; 32], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(magic.len() + 32 + 8 + body.len() + 32);
    out.extend_from_slice(magic);
    out.extend_from_slice(key);
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&Sha256::digest(body));
    out
}

/// The body of an entry file, when the file is one of `magic`, for `key`, and intact.
fn unframe<'a>(bytes: &'a [u8], magic: &[u8; 8], key: &[u8; 32]) -> Option<&'a [u8]> {
    let mut r = Reader(bytes);
    if r.take(magic.len())? != magic || r.take(32)? != key {
        return None;
    }
    let len = usize::try_from(r.word()?).ok()?;
    let body = r.take(len)?;
    if r.take(32)? != Sha256::digest(body).as_slice() || !r.0.is_empty() {
        return None;
    }
    Some(body)
}

/// The body of a native-code entry.
fn encode_code(code: &StoredCode) -> Vec<u8> {
    let mut body = Vec::new();
    for f in &code.functions {
        body.extend_from_slice(&f.alignment.to_le_bytes());
        body.extend_from_slice(&(f.bytes.len() as u64).to_le_bytes());
        body.extend_from_slice(&f.bytes);
        body.extend_from_slice(&(f.relocs.len() as u64).to_le_bytes());
        for r in &f.relocs {
            body.extend_from_slice(&r.offset.to_le_bytes());
            // Only kinds with a number are stored (the compiler checks before storing).
            body.push(reloc_kind_number(r.kind).unwrap_or(u8::MAX));
            body.extend_from_slice(&r.addend.to_le_bytes());
            body.extend_from_slice(&(r.target.len() as u64).to_le_bytes());
            body.extend_from_slice(r.target.as_bytes());
        }
    }
    body
}

/// The code in a native-code entry's body.
fn decode_code(body: &[u8]) -> Option<StoredCode> {
    let mut r = Reader(body);
    let mut function = || -> Option<StoredFunction> {
        let alignment = r.word()?;
        let len = usize::try_from(r.word()?).ok()?;
        let bytes = r.take(len)?.to_vec();
        let count = r.word()?;
        let mut relocs = Vec::new();
        for _ in 0..count {
            let offset = u32::from_le_bytes(r.take(4)?.try_into().ok()?);
            let kind = *RELOC_KINDS.get(usize::from(*r.take(1)?.first()?))?;
            let addend = i64::from_le_bytes(r.take(8)?.try_into().ok()?);
            let len = usize::try_from(r.word()?).ok()?;
            let target = std::str::from_utf8(r.take(len)?).ok()?.to_owned();
            relocs.push(StoredReloc {
                offset,
                kind,
                target,
                addend,
            });
        }
        Some(StoredFunction {
            alignment,
            bytes,
            relocs,
        })
    };
    let update = function()?;
    let finish = function()?;
    r.0.is_empty().then_some(StoredCode {
        functions: [update, finish],
    })
}

/// Reads an entry front to back; every read is bounds-checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn word(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_code() -> StoredCode {
        let function = |bytes: &[u8], target: &str| StoredFunction {
            alignment: 16,
            bytes: bytes.to_vec(),
            relocs: vec![
                StoredReloc {
                    offset: 2,
                    kind: Reloc::Abs8,
                    target: target.into(),
                    addend: -4,
                },
                StoredReloc {
                    offset: 1,
                    kind: Reloc::X86CallPCRel4,
                    target: "libcall:CeilF64".into(),
                    addend: 0,
                },
            ],
        };
        StoredCode {
            functions: [
                function(&[0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xc3], "jjc_data_0"),
                function(&[0xc3], "jjc_ln"),
            ],
        }
    }

    fn encode_entry(key: &CacheKey, code: &StoredCode) -> Vec<u8> {
        frame(MAGIC, &key.0, &encode_code(code))
    }

    fn decode_entry(bytes: &[u8], key: &CacheKey) -> Option<StoredCode> {
        decode_code(unframe(bytes, MAGIC, &key.0)?)
    }

    #[test]
    fn an_entry_reads_back_as_written() {
        let key = CacheKey([7; 32]);
        let code = sample_code();
        assert_eq!(decode_entry(&encode_entry(&key, &code), &key), Some(code));
    }

    #[test]
    fn a_truncated_damaged_foreign_or_extended_entry_is_not_read() {
        let key = CacheKey([7; 32]);
        let bytes = encode_entry(&key, &sample_code());
        for len in 0..bytes.len() {
            assert_eq!(decode_entry(&bytes[..len], &key), None, "cut at {len}");
        }
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x20;
            assert_eq!(decode_entry(&damaged, &key), None, "byte {i} changed");
        }
        assert_eq!(decode_entry(&bytes, &CacheKey([8; 32])), None);
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode_entry(&longer, &key), None);
        // A lowered kernel's entry is never read as native code, nor the other way round.
        let lowered = frame(LOWERED_MAGIC, &key.0, &encode_code(&sample_code()));
        assert_eq!(decode_entry(&lowered, &key), None);
        assert_eq!(unframe(&bytes, LOWERED_MAGIC, &key.0), None);
    }

    #[test]
    fn lowered_kernels_are_stored_and_read_back_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let cache = KernelCache::in_dir(dir.path().join("kernels"));
        let key = |text: &[u8]| LoweredKey::new(|feed| feed(text)).unwrap();
        assert_eq!(cache.load_lowered(&key(b"a")), None);
        cache.store_lowered(&key(b"a"), b"kernel a");
        cache.store_lowered(&key(b"b"), b"kernel b");
        assert_eq!(
            cache.load_lowered(&key(b"a")).as_deref(),
            Some(&b"kernel a"[..])
        );
        assert_eq!(
            cache.load_lowered(&key(b"b")).as_deref(),
            Some(&b"kernel b"[..])
        );
        // Fields are length-prefixed: the same bytes split otherwise are another key.
        let split = LoweredKey::new(|feed| {
            feed(b"ker");
            feed(b"nel");
        });
        let whole = LoweredKey::new(|feed| feed(b"kernel"));
        assert_ne!(split, whole);
    }

    #[test]
    fn only_known_relocation_kinds_have_numbers() {
        for kind in RELOC_KINDS {
            let n = reloc_kind_number(kind).map(usize::from);
            assert_eq!(n.and_then(|n| RELOC_KINDS.get(n)), Some(&kind));
        }
        assert_eq!(reloc_kind_number(Reloc::X86SecRel), None);
    }

    #[test]
    fn eviction_keeps_the_most_recently_used_entries_and_nothing_else_is_touched() {
        let dir = tempfile::tempdir().unwrap();
        let start = SystemTime::now() - std::time::Duration::from_secs(3600);
        for i in 0..10u64 {
            let path = dir.path().join(format!("{i:02}.{EXTENSION}"));
            let file = fs::File::create(&path).unwrap();
            file.set_modified(start + std::time::Duration::from_secs(i))
                .unwrap();
        }
        fs::write(dir.path().join("notes.txt"), "kept").unwrap();
        fs::write(dir.path().join("00.lowered"), "kept").unwrap();
        evict(dir.path(), EXTENSION, 4).unwrap();
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "00.lowered",
                "06.kernel",
                "07.kernel",
                "08.kernel",
                "09.kernel",
                "notes.txt"
            ]
        );
    }

    #[test]
    fn the_default_directory_follows_xdg_then_home_and_ignores_relative_paths() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        assert_eq!(
            default_dir_from(env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")])),
            Some(PathBuf::from("/x/jjc/kernels"))
        );
        assert_eq!(
            default_dir_from(env(&[("XDG_CACHE_HOME", "rel"), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.cache/jjc/kernels"))
        );
        assert_eq!(default_dir_from(env(&[("HOME", "h")])), None);
        assert_eq!(default_dir_from(env(&[])), None);
    }
}
