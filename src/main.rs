//! The `nodeauthz` binary: everything lives in the library ([`nodeauthz::cli`]).

use std::process::ExitCode;

// Rows and requests are built on worker threads and often freed on others; mimalloc handles
// that pattern about 25% faster than glibc's allocator on the 1 GB benchmark log.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    without_transparent_huge_pages();
    nodeauthz::cli::main()
}

/// mimalloc asks for transparent huge pages for its arenas, and the kernel then clears 2 MiB
/// at the first touch of any byte of one, used or not. On the 1 GB benchmark log that was 40
/// MiB of peak RSS in pages nothing used (152-169 MiB against 111-129, six runs each), and
/// clearing fresh pages was a tenth of the run's samples on the VM it is measured on (30
/// alternated rounds: CPU time median 2561 against 2473 ms). Only the huge pages go: the
/// system's setting for other processes is left alone. A hint: if it fails, only memory use
/// is higher.
fn without_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: `PR_SET_THP_DISABLE` takes integer arguments only and changes no memory the
    // program can see; it sets a flag the kernel reads at later page faults.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
