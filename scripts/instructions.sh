#!/usr/bin/env bash
# Instructions executed by one or more binaries on the same arguments, counted by valgrind's
# callgrind: a measure of CPU work that does not move with this machine's noise, for changes
# too small for timed runs to tell apart (timed A/B runs here vary by 10% or more between
# rounds). Instructions are not time (a cache miss costs no instruction), so a change that
# moves memory rather than work still needs `scripts/ab.sh`.
#
#   scripts/instructions.sh BIN... -- ARGS...
#   scripts/instructions.sh /tmp/before target/release/nodeauthz -- \
#       analyze target/bench-data/audit-100M.log --format json --threads 1
#
# The 100 MB log is the one `BENCH_BYTES=100M scripts/bench.sh` writes. Only the counts are
# compared: check that the binaries write the same report separately.
#
# Pass `--threads 1`: with more threads, idle workers' spinning adds a varying count (about
# 1% between runs), where one thread repeats its count to within 0.01%. Under callgrind a run
# is about 50 times slower; the 100 MB log takes some 20 seconds.
#
# Prints each binary's total and its ratio to the first's, and keeps each profile in
# $INSTRUCTIONS_DIR (default target/instructions) for `callgrind_annotate`.
#
# Needs valgrind (Debian's valgrind package).
set -euo pipefail
bins=()
while [[ $# -gt 0 && $1 != -- ]]; do
  bins+=("$1")
  shift
done
if [[ $# -eq 0 || ${#bins[@]} -eq 0 ]]; then
  echo "usage: $0 BIN... -- ARGS..." >&2
  exit 2
fi
shift
dir=${INSTRUCTIONS_DIR:-target/instructions}
mkdir -p "$dir"
first=
for i in "${!bins[@]}"; do
  bin=${bins[$i]}
  out="$dir/callgrind.$i.out"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" "$@" >/dev/null 2>"$dir/valgrind.$i.log" || {
    echo "$bin failed under valgrind; see $dir/valgrind.$i.log" >&2
    exit 1
  }
  total=$(awk '/^summary:/ {print $2}' "$out")
  first=${first:-$total}
  awk -v b="$bin" -v t="$total" -v f="$first" -v o="$out" \
    'BEGIN { printf "%-36s %15.0f instructions  %.4fx  (%s)\n", b, t, t / f, o }'
done
