//! Packs `jjc`'s start-up relocations on Linux with the GNU toolchain.
//!
//! `jjc` is a position-independent executable, so that its code is placed at a random address
//! at every start: it reads hostile captures, and runs unsafe and generated code. The dynamic
//! loader then applies about 27,500 relative relocations, which the default format lists as
//! 24-byte entries: a 650 KB table read at every start. Packed (`DT_RELR`, glibc 2.36 and
//! later) the same relocations take 7 KB (`jjc --version` about 0.1–0.2 ms faster, 40 runs in
//! three rounds; docs/performance.md). Linking at a fixed address would save about 0.2 ms
//! more, but gives up that randomisation; the fourth round rejected it for that reason.
//! `JJC_RELR=0` at build time keeps the default format (for an older C library).

fn main() {
    println!("cargo:rerun-if-env-changed=JJC_RELR");
    let linux_gnu = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    if linux_gnu && std::env::var("JJC_RELR").as_deref() != Ok("0") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
