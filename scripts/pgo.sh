#!/usr/bin/env bash
# A profile-guided build of `nodeauthz`: built once with instrumentation, run on training logs,
# and built again with what those runs counted (which branches are taken, which functions are
# hot), so that the compiler lays the hot paths out straight and inlines where the runs went.
#
#   scripts/pgo.sh                 # writes target/pgo/release/nodeauthz
#   BENCH_BIN=target/pgo/release/nodeauthz scripts/bench.sh
#
# The training logs are generated with other seeds, sizes and shapes than the benchmark's
# (seed 1, 150 nodes, half of the lines from kubelets), and one is recorded under RBAC only,
# so that the profile is of the program's work, not of the benchmark's log. The runs also read
# a gzip input, write Parquet, and decide the incident fixture.
#
# Needs rustup's llvm-tools (`rustup component add llvm-tools`, for `llvm-profdata` of the
# compiler's own LLVM) and python3 (the generator). Each of the two builds takes about as long
# as `cargo build --release`; they use target directories of their own (target/pgo-gen and
# target/pgo), so the ordinary build is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

profdata=$(find "$(rustc --print sysroot)" -name llvm-profdata -type f | head -n 1)
if [[ ! -x $profdata ]]; then
  echo "pgo.sh: llvm-profdata not found; run: rustup component add llvm-tools" >&2
  exit 1
fi

train=target/pgo-train
mkdir -p "$train"
# gen FILE ARGS...: FILE from the generator, unless it was made with the same ARGS before.
gen() {
  local out=$1
  shift
  if [[ ! -s $out || "$(cat "$out.stamp" 2>/dev/null)" != "$*" ]]; then
    python3 scripts/gen_audit_log.py "$@" --quiet --out "$out"
    echo "$*" > "$out.stamp"
  fi
}
gen "$train/train-a.log" --nodes 60 --pods-per-node 20 --duration 3h --target-bytes 150M \
  --seed 7 --kubelet-share 0.4 --bad-share 0.05 --churn-per-hour 40
gen "$train/train-b.log" --nodes 20 --pods-per-node 10 --duration 1h --target-bytes 40M \
  --seed 8 --scenario rbac-only --kubelet-share 0.6
if [[ ! "$train/train-b.log.gz" -nt "$train/train-b.log" ]]; then
  gzip -c "$train/train-b.log" > "$train/train-b.log.gz"
fi

# A fixed directory for the counts, so that the instrumented build is rebuilt only when the
# code changes (its flags, this path among them, are part of what cargo compares).
counts=$PWD/$train/counts
rm -rf "$counts"
RUSTFLAGS="-Cprofile-generate=$counts" \
  cargo build --release --bin nodeauthz --target-dir target/pgo-gen
instrumented=target/pgo-gen/release/nodeauthz
"$instrumented" analyze "$train/train-a.log" --format json > /dev/null
"$instrumented" analyze "$train/train-b.log.gz" --format json > /dev/null
"$instrumented" analyze "$train/train-a.log" --inventory-only --format json > /dev/null
rm -rf "$train/out"
"$instrumented" analyze "$train/train-b.log" --out "$train/out" > /dev/null
"$instrumented" analyze fixtures/incident-1.19/audit.log \
  --objects fixtures/incident-1.19/objects.json > /dev/null

"$profdata" merge -o "$train/merged.profdata" "$counts"
# Named by its content: cargo does not look into the file a flag names, so a new profile under
# the old name would leave the build as it was.
profile=$PWD/$train/merged-$(sha256sum "$train/merged.profdata" | cut -c1-16).profdata
rm -f "$train"/merged-*.profdata
mv "$train/merged.profdata" "$profile"
RUSTFLAGS="-Cprofile-use=$profile" \
  cargo build --release --bin nodeauthz --target-dir target/pgo
echo "pgo.sh: target/pgo/release/nodeauthz" >&2
