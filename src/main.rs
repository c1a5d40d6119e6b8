//! The `nodeauthz` binary: everything lives in the library ([`nodeauthz::cli`]).

use std::process::ExitCode;

// Rows and requests are built on worker threads and often freed on others; mimalloc handles
// that pattern about 25% faster than glibc's allocator on the 1 GB benchmark log.
#[global_allocator]
static GLOBAL: nodeauthz::allocator::MiMalloc = nodeauthz::allocator::MiMalloc;

fn main() -> ExitCode {
    nodeauthz::cli::without_transparent_huge_pages();
    nodeauthz::cli::main()
}
