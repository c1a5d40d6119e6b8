//! The byte pre-filter alone, on one thread, for measuring changes to it: runs
//! [`Prefilter::decide`] on every line of a plain file (the way a chunk worker does, right
//! after the newline search, so the line is in cache) and prints, per decision, the lines, the
//! bytes and the time spent, next to a newline count of the same bytes in the same run.
//!
//! ```sh
//! cargo build --release --example prefilter
//! target/release/examples/prefilter target/bench-data/audit-1G.log [ROUNDS]
//! ```
//! Each figure is the best of ROUNDS (default 3) passes over the file, read into memory first.

use std::time::{Duration, Instant};

use nodeauthz::scan::prefilter::{Decision, Prefilter};

/// Lines, bytes and time of one kind of decision.
#[derive(Default, Clone, Copy)]
struct Tally {
    lines: u64,
    bytes: u64,
    time: Duration,
}

fn kind(d: &Decision<'_>) -> usize {
    match d {
        Decision::Parse => 0,
        Decision::Skip { .. } => 1,
        Decision::Unparsed { .. } => 2,
        Decision::Blank | Decision::SkipKubelet { .. } => 3,
    }
}

const KINDS: [&str; 4] = ["parse", "skip", "unparsed", "other"];

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: prefilter FILE [ROUNDS]");
        return std::process::ExitCode::from(2);
    };
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(3);
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("prefilter: {path}: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let prefilter = Prefilter::new(true);
    let mut best = [Tally::default(); 4];
    let mut best_count = Duration::MAX;
    for _ in 0..rounds {
        let t = Instant::now();
        let newlines = memchr::memchr_iter(b'\n', &data).count();
        best_count = best_count.min(t.elapsed());
        std::hint::black_box(newlines);

        let mut round = [Tally::default(); 4];
        let mut start = 0;
        while start < data.len() {
            let t = Instant::now();
            let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
            let line = &data[start..end];
            let k = kind(&prefilter.decide(line));
            let tally = &mut round[k];
            tally.time += t.elapsed();
            tally.lines += 1;
            tally.bytes += line.len() as u64 + 1;
            start = end + 1;
        }
        for (b, r) in best.iter_mut().zip(round) {
            if b.lines == 0 || r.time < b.time {
                *b = r;
            }
        }
    }
    let mb = |bytes: u64, t: Duration| bytes as f64 / t.as_secs_f64().max(1e-9) / 1e6;
    let count_rate = mb(data.len() as u64, best_count);
    println!("newline count: {count_rate:.0} MB/s");
    let total = best.iter().fold(Tally::default(), |a, t| Tally {
        lines: a.lines + t.lines,
        bytes: a.bytes + t.bytes,
        time: a.time + t.time,
    });
    for (name, t) in KINDS.iter().zip(best).chain([(&"all", total)]) {
        if t.lines == 0 {
            continue;
        }
        let rate = mb(t.bytes, t.time);
        println!(
            "{name:>8}: {:>9} lines {:>6} MB {:>7.3} s {:>6.0} ns/line {rate:>6.0} MB/s ({:.3}x the newline count)",
            t.lines,
            t.bytes / 1_000_000,
            t.time.as_secs_f64(),
            t.time.as_nanos() as f64 / t.lines as f64,
            rate / count_rate,
        );
    }
    std::process::ExitCode::SUCCESS
}
