#!/usr/bin/env bash
# Alternated A/B runs of two binaries on the same arguments, for comparisons on a noisy machine:
# each round runs A once and B once (B first in every other round, so that neither always runs
# on the caches and clock the other leaves), and the minimum and median CPU time (perf stat
# task-clock, user + sys of all threads) and wall time of each are printed. Then B against A
# round by round: the median of B's time over A's in the same round, and a 95% bootstrap
# interval of that median. Paired ratios cancel the machine's drift between rounds; an interval
# that holds 0% means the runs could not tell the two apart.
#
#   scripts/ab.sh ROUNDS BIN_A BIN_B -- ARGS...
#   scripts/ab.sh 20 /tmp/before target/release/nodeauthz -- analyze target/bench-data/audit-1G.log --format json
#
# Needs perf (Debian's linux-perf) and python3.
set -euo pipefail
rounds=$1; a=$2; b=$3; shift 4
for ((i = 0; i < rounds; i++)); do
  # By side, not by path, so that A and B may be the same binary (to see the noise alone).
  if ((i % 2 == 0)); then order=(A B); else order=(B A); fi
  for side in "${order[@]}"; do
    if [[ $side == A ]]; then bin=$a; else bin=$b; fi
    start=$(date +%s.%N)
    cpu=$(perf stat -x, -e task-clock "$bin" "$@" 2>&1 >/dev/null | awk -F, '/task-clock/ {print $1}')
    end=$(date +%s.%N)
    echo "$i $side $cpu $start $end"
  done
done | python3 -c '
import collections, random, statistics, sys
names = {"A": sys.argv[1], "B": sys.argv[2]}
runs = collections.defaultdict(dict)
for line in sys.stdin:
    round_, side, cpu, start, end = line.split()
    runs[side][int(round_)] = (float(cpu), float(end) - float(start))
for side, bin in names.items():
    v = runs[side].values()
    cpu = sorted(c for c, _ in v)
    wall = sorted(w for _, w in v)
    print("%-36s CPU ms min %.0f median %.0f | wall s min %.3f median %.3f (n=%d)"
          % (bin, cpu[0], statistics.median(cpu), wall[0], statistics.median(wall), len(v)))
rng = random.Random(0)
def paired(k):
    ratios = [runs["B"][r][k] / runs["A"][r][k] - 1 for r in runs["A"] if r in runs["B"]]
    medians = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(2000))
    return statistics.median(ratios), medians[50], medians[1949]
for k, what in ((0, "CPU"), (1, "wall")):
    m, lo, hi = paired(k)
    print("B against A, %-4s paired median %+.1f%%, 95%% interval [%+.1f%%, %+.1f%%]"
          % (what, 100 * m, 100 * lo, 100 * hi))
' "$a" "$b"
