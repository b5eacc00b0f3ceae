//! The kernel cache end to end: a kernel's code is linked from the cache by a later compile of
//! the same kernel, runs with that kernel's own data, and a damaged or foreign entry is
//! compiled again.

use std::path::Path;

use jjc_kernel::testing::{groups_of_file, run_test};
use jjc_kernel::{Interpreter, Kernel};
use jjc_sema::Library;

use crate::{CodeOrigin, JitKernel, KernelCache};

/// A program whose one feature searches payloads for `pattern` (a regex set, kernel data
/// reached by relocation) and counts well-known ports (a table, more data), with a test
/// that a flow carrying `payload` matches exactly when `expect`.
fn program(pattern: &str, payload: &str, expect: bool) -> Library {
    let text = format!(
        r#"
pattern p = b"{pattern}"
table web: int -> int {{ 80 => 1, 443 => 2 }}

features cached "a pattern and a table" {{
    hit: bool = any(pkt.payload ~ p)        "a payload matches"
    kind: int = web[flow.dst_port] ?? 0     "the port's kind"
}}

test "one payload" {{
    flow {{ src 10.0.0.1:40000  dst 10.0.0.2:443  tcp }}
    packet {{ ts 0.0  dir fwd  payload b"{payload}" }}
    expect hit == {expect}
    expect kind == 2
}}
"#
    );
    let (lib, diags) = Library::from_texts(&[("cached.jjf", &text)]);
    assert!(!diags.has_errors(), "{diags:?}");
    lib
}

fn kernel(lib: &Library) -> Kernel {
    let test = &lib.program.tests[0];
    match jjc_kernel::compile(&lib.program, &groups_of_file(&lib.program, test.file)) {
        Ok(k) => k,
        Err(e) => panic!("{e}"),
    }
}

/// Compiles `lib`'s kernel through `cache`, checks that its test passes under the code and
/// under the interpreter, and returns where the code came from.
fn compile_and_test(lib: &Library, cache: &KernelCache) -> CodeOrigin {
    let kernel = kernel(lib);
    let test = &lib.program.tests[0];
    let mut jit = match JitKernel::compile_cached(&kernel, Some(cache)) {
        Ok(j) => j,
        Err(e) => panic!("{e}"),
    };
    let by_jit = run_test(&lib.program, &kernel, &mut jit, test);
    assert!(by_jit.passed(), "jit {by_jit:?}");
    let by_interp = run_test(&lib.program, &kernel, &mut Interpreter::new(&kernel), test);
    assert!(by_interp.passed(), "interp {by_interp:?}");
    jit.origin()
}

fn entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    found.sort();
    found
}

#[test]
fn a_later_compile_links_the_cached_code_and_runs_it_with_its_own_data() {
    let dir = tempfile::tempdir().unwrap();
    let cache = KernelCache::in_dir(dir.path().join("kernels"));
    let abc = program("abc", "xxabcxx", true);
    assert_eq!(compile_and_test(&abc, &cache), CodeOrigin::Compiled);
    assert_eq!(entries(cache.dir()).len(), 1);
    // A hit makes the entry the most recently used (eviction goes by modification time).
    let entry = entries(cache.dir()).remove(0);
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let file = std::fs::File::options().write(true).open(&entry).unwrap();
    file.set_modified(hour_ago).unwrap();
    assert_eq!(compile_and_test(&abc, &cache), CodeOrigin::Cached);
    assert!(std::fs::metadata(&entry).unwrap().modified().unwrap() > hour_ago);
    // Another pattern is other data, not other code: the entry is linked, and the code
    // must search this kernel's regex set (it would find "abc" with the first one's).
    let xyz = program("xyz", "xxabcxx", false);
    assert_eq!(compile_and_test(&xyz, &cache), CodeOrigin::Cached);
    let xyz_hit = program("xyz", "_xyz_", true);
    assert_eq!(compile_and_test(&xyz_hit, &cache), CodeOrigin::Cached);
    assert_eq!(entries(cache.dir()).len(), 1);
    // Other code is another entry, even when only `update` differs.
    let all = counting("", 2);
    assert_eq!(compile_and_test(&all, &cache), CodeOrigin::Compiled);
    assert_eq!(compile_and_test(&all, &cache), CodeOrigin::Cached);
    let forward = counting("where pkt.dir == fwd", 1);
    assert_eq!(compile_and_test(&forward, &cache), CodeOrigin::Compiled);
    assert_eq!(compile_and_test(&forward, &cache), CodeOrigin::Cached);
    assert_eq!(entries(cache.dir()).len(), 3);
}

/// A program counting the packets `filter` keeps, tested on a flow of two packets (one
/// each way) where the count is `expect`.
fn counting(filter: &str, expect: i64) -> Library {
    let text = format!(
        r#"
features counted "a count" {{
    n: int = count({filter})    "packets"
}}

test "two packets" {{
    flow {{ src 10.0.0.1:1  dst 10.0.0.2:2  udp }}
    packet {{ ts 0.0  dir fwd }}
    packet {{ ts 1.0  dir bwd }}
    expect n == {expect}
}}
"#
    );
    let (lib, diags) = Library::from_texts(&[("counted.jjf", &text)]);
    assert!(!diags.has_errors(), "{diags:?}");
    lib
}

#[test]
fn a_damaged_entry_is_compiled_again_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let cache = KernelCache::in_dir(dir.path());
    let lib = program("abc", "abc", true);
    assert_eq!(compile_and_test(&lib, &cache), CodeOrigin::Compiled);
    let entry = entries(dir.path()).remove(0);
    let bytes = std::fs::read(&entry).unwrap();
    let mut damaged = bytes.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 1;
    std::fs::write(&entry, &damaged).unwrap();
    assert_eq!(compile_and_test(&lib, &cache), CodeOrigin::Compiled);
    assert_eq!(std::fs::read(&entry).unwrap(), bytes, "rewritten");
    std::fs::write(&entry, &bytes[..bytes.len() - 1]).unwrap();
    assert_eq!(compile_and_test(&lib, &cache), CodeOrigin::Compiled);
    assert_eq!(compile_and_test(&lib, &cache), CodeOrigin::Cached);
}

#[cfg(unix)]
#[test]
fn an_entry_or_directory_others_may_write_is_not_trusted() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cache = KernelCache::in_dir(dir.path().join("kernels"));
    let lib = program("abc", "abc", true);
    assert_eq!(compile_and_test(&lib, &cache), CodeOrigin::Compiled);
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(cache.dir()), 0o700, "the directory is made private");
    let entry = entries(cache.dir()).remove(0);
    assert_eq!(mode(&entry) & 0o022, 0);
    let set = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    set(&entry, 0o662);
    assert_eq!(compile_and_test(&lib, &cache), CodeOrigin::Compiled);
    // The entry was replaced by a private one.
    assert_eq!(mode(&entry) & 0o022, 0);
    assert_eq!(compile_and_test(&lib, &cache), CodeOrigin::Cached);
    set(cache.dir(), 0o770);
    assert_eq!(compile_and_test(&lib, &cache), CodeOrigin::Compiled);
    set(cache.dir(), 0o700);
    assert_eq!(compile_and_test(&lib, &cache), CodeOrigin::Cached);
}

#[test]
fn libcall_names_read_back() {
    use std::str::FromStr;

    use cranelift_codegen::ir::LibCall;
    for libcall in [LibCall::CeilF64, LibCall::FloorF64, LibCall::FmaF64] {
        assert_eq!(LibCall::from_str(&libcall.to_string()), Ok(libcall));
    }
}
