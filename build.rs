//! Finds ISA-L (Intel's Intelligent Storage Acceleration Library) for gzip inputs.
//!
//! ISA-L's inflate runs about twice as fast as zlib-rs behind flate2 on this project's logs
//! (`scripts/README.md`), and inflate is what paces a gzip input. It is a system library
//! (Debian: `libisal-dev`), so it is used when its header compiles and links here, the way
//! `libz-sys` picks a system zlib, and flate2 otherwise. `NODEAUTHZ_NO_ISAL=1` builds without
//! it. Which one a binary uses is in `nodeauthz --version`. The library is linked dynamically
//! (Debian ships no static one): a binary built with it needs `libisal2` where it runs.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(nodeauthz_isal)");
    println!("cargo::rerun-if-changed=src/input/isal_shim.c");
    println!("cargo::rerun-if-env-changed=NODEAUTHZ_NO_ISAL");
    if std::env::var_os("NODEAUTHZ_NO_ISAL").is_some_and(|v| !v.is_empty() && v != "0") {
        return;
    }
    // The library first: a compiled shim is linked in (its `rustc-link-lib` printed) even
    // when nothing uses it.
    if links_isal()
        && cc::Build::new()
            .file("src/input/isal_shim.c")
            .warnings(true)
            .cargo_warnings(false)
            .try_compile("nodeauthz_isal_shim")
            .is_ok()
    {
        println!("cargo::rustc-link-lib=dylib=isal");
        println!("cargo::rustc-cfg=nodeauthz_isal");
    }
}

/// Whether `-lisal` links: the header alone (a `-dev` package half removed, a cross build)
/// would otherwise fail the build at its last step instead of falling back to flate2.
fn links_isal() -> bool {
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let probe = out.join("isal_probe.c");
    if std::fs::write(
        &probe,
        "#include <isa-l/igzip_lib.h>\nint main(void) { struct inflate_state s; \
         isal_inflate_init(&s); return 0; }\n",
    )
    .is_err()
    {
        return false;
    }
    let compiler = cc::Build::new().get_compiler();
    compiler
        .to_command()
        .arg(&probe)
        .arg("-o")
        .arg(out.join("isal_probe"))
        .arg("-lisal")
        .output()
        .is_ok_and(|o| o.status.success())
}
