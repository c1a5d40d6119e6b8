//! The scanner alone, for throughput measurements (`scripts/bench.sh`): reads the inputs the
//! way `nodeauthz analyze` does, counts the kubelet requests handed to the sink, and prints
//! the scan summary as JSON. No authorization model, no output writers.
//!
//! ```sh
//! cargo build --release --example scan
//! target/release/examples/scan [--objects-only|--requests-only] [--threads N] INPUT...
//! ```
//! The default wants both object events and kubelet requests, as the one read of `analyze`
//! does; `--objects-only` wants object events only (as `graph` does), `--requests-only`
//! kubelet requests only.

use nodeauthz::input::InputSpec;

// The allocator of the `nodeauthz` binary, set up as it does, so that the numbers compare.
#[global_allocator]
static GLOBAL: nodeauthz::allocator::MiMalloc = nodeauthz::allocator::MiMalloc;
use nodeauthz::scan::{scan, ScanOptions};

fn main() -> std::process::ExitCode {
    nodeauthz::cli::without_transparent_huge_pages();
    let mut opts = ScanOptions::default();
    let mut inputs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--objects-only" => opts.want_requests = false,
            "--requests-only" => opts.want_object_events = false,
            "--no-prefilter" => opts.prefilter = false,
            "--threads" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => opts.threads = n,
                None => {
                    eprintln!("scan: --threads needs a number");
                    return std::process::ExitCode::from(2);
                }
            },
            _ => inputs.push(InputSpec::parse(&a)),
        }
    }
    let mut handed = 0u64;
    match scan(&inputs, &opts, &mut |batch| {
        handed += batch.len() as u64;
        std::ops::ControlFlow::Continue(())
    }) {
        Ok(s) => {
            let doc = serde_json::json!({
                "handed_to_sink": handed,
                "object_events": s.object_events.len(),
                "pod_sightings": s.pod_sightings.len(),
                "summary": s,
            });
            println!("{doc:#}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("scan: {e}");
            std::process::ExitCode::from(4)
        }
    }
}
