//! Links `jjc` as a position-dependent executable on Linux with the GNU toolchain.
//!
//! A position-independent `jjc` starts with about 27,500 relative relocations for the dynamic
//! loader to apply, which write (and so copy) every page of its 420 KB of relocated read-only
//! data: about half a millisecond of every process, 2% of a 50 MB run (docs/performance.md,
//! "Start-up"). Linked at a fixed address, the same objects (compiled position-independent,
//! as always) need about 100, and those pages are read only where used. The cost is that the
//! executable's own code is not placed at a random address (libraries, stack, heap and the
//! JIT's code still are); `JJC_PIE=1` at build time keeps a position-independent executable.

fn main() {
    println!("cargo:rerun-if-env-changed=JJC_PIE");
    let linux_gnu = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    if linux_gnu && std::env::var_os("JJC_PIE").is_none_or(|v| v.is_empty() || v == "0") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
