#!/usr/bin/env bash
# Alternated A/B runs of two binaries on the same arguments, for comparisons on a noisy machine:
# each round runs A once and B once, and the minimum and median CPU time (perf stat task-clock,
# user + sys of all threads) and wall time of each are printed.
#
#   scripts/ab.sh ROUNDS BIN_A BIN_B -- ARGS...
#   scripts/ab.sh 6 /tmp/before target/release/nodeauthz -- analyze target/bench-data/audit-1G.log --format json
#
# Needs perf (Debian's linux-perf) and python3.
set -euo pipefail
rounds=$1; a=$2; b=$3; shift 4
for ((i = 0; i < rounds; i++)); do
  for bin in "$a" "$b"; do
    start=$(date +%s.%N)
    cpu=$(perf stat -x, -e task-clock "$bin" "$@" 2>&1 >/dev/null | awk -F, '/task-clock/ {print $1}')
    end=$(date +%s.%N)
    echo "$bin $cpu $start $end"
  done
done | python3 -c '
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in sys.stdin:
    bin, cpu, start, end = line.split()
    runs[bin].append((float(cpu), float(end) - float(start)))
for bin, v in runs.items():
    cpu = sorted(c for c, _ in v)
    wall = sorted(w for _, w in v)
    print("%-36s CPU ms min %.0f median %.0f | wall s min %.3f median %.3f (n=%d)"
          % (bin, cpu[0], statistics.median(cpu), wall[0], statistics.median(wall), len(v)))
'
