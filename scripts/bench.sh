#!/usr/bin/env bash
# End-to-end throughput of `nodeauthz analyze` next to reference tools, on the same generated
# audit log, in the same run (issue 2, "Speed").
#
#   scripts/bench.sh                 # 1 GB log, best of 3
#   BENCH_BYTES=200M scripts/bench.sh
#
# Environment:
#   BENCH_BYTES     size of the generated log (default 1G; cached under target/bench-data/)
#   BENCH_RUNS      runs per measurement, the best one is reported (default 3)
#   BENCH_JQ_BYTES  jq reads only a line-aligned prefix this large (default 200M; jq runs at
#                   about 45 MB/s, the whole 1 GB would take minutes). Its MB/s is computed on
#                   the prefix and the table says so.
#   BENCH_SKIP_BUILD=1  use the existing binary (BENCH_BIN, default target/release/nodeauthz)
#   BENCH_PGO=1     build the profile-guided binary too (scripts/pgo.sh) and time it as
#                   `nodeauthz analyze` (BENCH_BIN, unless set, is then
#                   target/pgo/release/nodeauthz); the scanner rows stay the ordinary build's
#   BENCH_BIG       size of a second, longer log (same cluster, same seed, no time limit, so
#                   every request is distinct) on which peak RSS is measured too, to show that
#                   memory does not grow with the log (default 4G; 0 to skip)
#   BENCH_BIG_RUNS  runs on the big log (default 1)
#   BENCH_PRETTY    size of the log's prefix pretty-printed (one JSON document per event over
#                   many lines), timed mapped, peak RSS on stdin (default 100M; 0 to skip)
#   BENCH_ALTERNATE rounds of DuckDB, `analyze` and `analyze --inventory-only` run in turn on
#                   the main log (default 10; 0 to skip): the table's rows are each measured in
#                   a block of their own, so the host's load drifting between blocks moves
#                   their ratio; in turn, all three see the same host, and the ratios of their
#                   medians are the ones to quote
#   BENCH_FEW       kubelet share of a second log of BENCH_BYTES (same cluster and seed), timed
#                   with DuckDB and `analyze` (default 0.1: a large cluster's log, where
#                   controllers and users write most lines; 0 to skip). The main log's half
#                   is the issue's benchmark, and the hardest case: kubelet lines are the ones
#                   parsed, kept and decided.
#
# Rows: the reference tools; the scanner alone (target/release/examples/scan) wanting object
# events only (as `graph` does, `ScanOptions::want_requests = false`), kubelet requests only, and
# both (the one read of `analyze`); then `nodeauthz analyze` (the read, the spill file, the
# decisions, the summary), and `nodeauthz analyze --inventory-only` (the read and the
# inventory's counts, issue 2's own job). "CPU s" is user+sys of the best run: on a shared machine it says
# more about the work done than the wall time. The load average before and after is printed.
#
# Needs: cargo, python3 (3.11+), gzip, zstd (optional), jq (optional), DuckDB's Python module (optional:
# installed into target/bench-venv with pip when `import duckdb` fails), GNU time (optional,
# /usr/bin/time -v for peak RSS; otherwise RSS is sampled from /proc), hyperfine (optional,
# only used when installed).
set -euo pipefail
cd "$(dirname "$0")/.."

BYTES_SPEC=${BENCH_BYTES:-1G}
RUNS=${BENCH_RUNS:-3}
JQ_SPEC=${BENCH_JQ_BYTES:-200M}
DATA=target/bench-data
mkdir -p "$DATA"

to_bytes() { python3 -c 'import sys
s=sys.argv[1].upper().rstrip("B"); m={"K":10**3,"M":10**6,"G":10**9}
print(int(float(s[:-1])*m[s[-1]]) if s[-1] in m else int(s))' "$1"; }
BYTES=$(to_bytes "$BYTES_SPEC")
JQ_BYTES=$(to_bytes "$JQ_SPEC")

# ---- build ------------------------------------------------------------------------------------
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  echo "== cargo build --release" >&2
  cargo build --release --quiet --bin nodeauthz --example scan
fi
SCAN=target/release/examples/scan
if [[ "${BENCH_PGO:-0}" == 1 ]]; then
  if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
    echo "== scripts/pgo.sh" >&2
    scripts/pgo.sh
  fi
  BIN=${BENCH_BIN:-target/pgo/release/nodeauthz}
else
  BIN=${BENCH_BIN:-target/release/nodeauthz}
fi
[[ -x $BIN ]] || { echo "missing $BIN" >&2; exit 1; }

# ---- data (cached; regenerated when the generator or the parameters change) -------------------
GEN_ARGS=(--nodes 150 --pods-per-node 30 --duration 6h --target-bytes "$BYTES" --seed 1
          --kubelet-share 0.5 --bad-share 0.02 --churn-per-hour 60 --quiet)
# The stamp holds the generator's parameters; a newer generator does not throw away a cached
# log (that takes minutes and changes the numbers) unless BENCH_REGEN=1.
STAMP="${GEN_ARGS[*]}"
LOG=$DATA/audit-$BYTES_SPEC.log
stamp_ok() { [[ "$(cat "$1.stamp" 2>/dev/null)" == *"$2" && "${BENCH_REGEN:-0}" != 1 ]]; }
if [[ ! -s $LOG || ! -s $LOG.gz ]] || ! stamp_ok "$LOG" "$STAMP"; then
  echo "== generating $LOG ($BYTES_SPEC)" >&2
  t0=$(date +%s.%N)
  python3 scripts/gen_audit_log.py "${GEN_ARGS[@]}" --out "$LOG" \
    --objects-out "$DATA/objects-$BYTES_SPEC.json" --truth-out "$DATA/truth-$BYTES_SPEC.jsonl"
  t1=$(date +%s.%N)
  python3 -c 'import sys,os; b=os.path.getsize(sys.argv[1]); t=float(sys.argv[3])-float(sys.argv[2])
print("generator: %.1f MB in %.1f s = %.1f MB/s" % (b/1e6, t, b/1e6/t))' "$LOG" "$t0" "$t1" >&2
  echo "== gzip -6 copy" >&2
  gzip -6 -c "$LOG" > "$LOG.gz.tmp" && mv "$LOG.gz.tmp" "$LOG.gz"
  echo "$STAMP" > "$LOG.stamp"
fi
# cached_log FILE LABEL ARGS...: generates FILE with the generator's ARGS, unless it exists and
# its stamp holds the same ARGS.
cached_log() {
  local file=$1 label=$2
  shift 2
  if [[ ! -s $file ]] || ! stamp_ok "$file" "$*"; then
    echo "== generating $file ($label)" >&2
    python3 scripts/gen_audit_log.py "$@" --out "$file"
    echo "$*" > "$file.stamp"
  fi
}
[[ scripts/gen_audit_log.py -nt $LOG ]] && echo "note: $LOG is older than the generator (BENCH_REGEN=1 to regenerate)" >&2
SIZE=$(stat -c %s "$LOG")
GZSIZE=$(stat -c %s "$LOG.gz")

# jq prefix: whole lines up to JQ_BYTES.
JQ_IN=$LOG
if (( SIZE > JQ_BYTES )); then
  JQ_IN=$DATA/jq-prefix-$JQ_SPEC.log
  if [[ ! -s $JQ_IN || $JQ_IN -ot $LOG ]]; then
    head -c "$JQ_BYTES" "$LOG" | python3 -c 'import sys
d=sys.stdin.buffer.read(); sys.stdout.buffer.write(d[:d.rfind(b"\n")+1])' > "$JQ_IN"
  fi
fi
JQ_SIZE=$(stat -c %s "$JQ_IN")

# DuckDB: system module, else a venv under target/.
PY=python3
if ! $PY -c 'import duckdb' 2>/dev/null; then
  if [[ ! -x target/bench-venv/bin/python ]]; then
    echo "== installing duckdb into target/bench-venv" >&2
    python3 -m venv target/bench-venv
    target/bench-venv/bin/pip install --quiet duckdb
  fi
  PY=target/bench-venv/bin/python
fi
# DUCKDB SQL: runs one query and prints its rows (every DuckDB timing runs this).
DUCKDB=("$PY" -c "import duckdb,sys; print(duckdb.sql(sys.argv[1]).fetchall())")

# Page cache: every tool reads a cached file.
cat "$LOG" "$LOG.gz" "$JQ_IN" > /dev/null

# ---- measuring --------------------------------------------------------------------------------
# peaks PID FIELD...: samples /proc/PID/status every 20 ms until PID ends; prints the peak of
# each field (KiB), in order.
peaks() {
  local pid=$1; shift
  local fields="$*"
  while kill -0 "$pid" 2>/dev/null; do
    awk -v f="$fields" 'BEGIN {n = split(f, k)} {for (i = 1; i <= n; i++) if ($1 == k[i] ":") v[i] = $2}
      END {for (i = 1; i <= n; i++) printf "%d ", v[i] + 0; print ""}' "/proc/$pid/status" 2>/dev/null
    sleep 0.02
  done | awk -v n="$#" '{for (i = 1; i <= n; i++) if ($i + 0 > m[i]) m[i] = $i + 0}
    END {for (i = 1; i <= n; i++) printf "%d%s", m[i] + 0, (i < n ? " " : "\n")}'
}

# measure NAME INPUT_BYTES CMD...: best wall time of RUNS runs and the peak RSS (KiB) of that
# run; prints "seconds rss_kib status".
HAVE_GNU_TIME=0
if /usr/bin/time -v true 2>/dev/null; then HAVE_GNU_TIME=1; fi
measure() {
  local best="" best_rss=0 best_cpu=- status=0 out err
  out=$(mktemp); err=$(mktemp)
  for ((i = 0; i < RUNS; i++)); do
    local t0 t1 rss=0 cpu=-
    t0=$(date +%s.%N)
    if (( HAVE_GNU_TIME )); then
      if /usr/bin/time -v -o "$err.time" "$@" > "$out" 2> "$err"; then status=0; else status=$?; fi
      rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$err.time")
      cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' "$err.time")
    else
      "$@" > "$out" 2> "$err" &
      local pid=$!
      rss=$(peaks "$pid" VmHWM)
      if wait "$pid"; then status=0; else status=$?; fi
    fi
    t1=$(date +%s.%N)
    local dt
    dt=$(python3 -c 'import sys; print("%.4f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$t0" "$t1")
    if [[ -z $best ]] || python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)' "$dt" "$best"; then
      best=$dt; best_rss=$rss; best_cpu=$cpu
    fi
    (( status == 0 )) || break
  done
  # measure runs in a command substitution: hand the output over through files.
  head -c 10000000 "$out" > "$DATA/.last.out"
  tail -c 600 "$err" > "$DATA/.last.err"
  rm -f "$out" "$err" "$err.time"
  echo "$best $best_rss $status $best_cpu"
}

# rss_split CMD...: runs CMD once and prints the peaks of RssAnon (heap and stacks) and
# RssFile (mapped pages: the binary and the log) in MiB, or how it failed. Peak RSS alone hides
# which of the two grows with the log.
rss_split() {
  "$@" > /dev/null 2>&1 &
  local pid=$! anon file status=0
  read -r anon file < <(peaks "$pid" RssAnon RssFile)
  wait "$pid" || status=$?
  if (( status != 0 )); then
    echo "failed (exit $status)"
  else
    echo "RssAnon $((anon / 1024)), RssFile $((file / 1024))"
  fi
}
MEM=()

ROWS=()
row() {  # row NAME INPUT_DESC BYTES "seconds rss status" NOTE
  ROWS+=("$1|$2|$3|$4|$5")
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== measuring (best of $RUNS); load average $LOAD_BEFORE; $("$BIN" --version | tail -1)" >&2
row "wc -l" "plain" "$SIZE" "$(measure wc -l "$LOG")" ""
if command -v jq > /dev/null; then
  note=""
  (( JQ_SIZE < SIZE )) && note="prefix of $JQ_SIZE bytes"
  row "jq select(system:node:)" "plain" "$JQ_SIZE" \
    "$(measure jq -c 'select(.user.username|startswith("system:node:"))' "$JQ_IN")" "$note"
else
  row "jq" "plain" "$SIZE" "- - 127" "jq not installed"
fi
DUCK_SQL="select count(*) from read_json('$LOG', format='newline_delimited', columns={'auditID': 'VARCHAR', 'verb': 'VARCHAR', 'user': 'STRUCT(username VARCHAR)'}) where starts_with(\"user\".username, 'system:node:')"
row "duckdb read_json (3 columns)" "plain" "$SIZE" \
  "$(measure "${DUCKDB[@]}" "$DUCK_SQL")" \
  "duckdb $($PY -c 'import duckdb; print(duckdb.__version__)')"
DUCK_OUT=$(cat "$DATA/.last.out")
if command -v hyperfine > /dev/null; then
  echo "== hyperfine (cross-check of wc -l)" >&2
  hyperfine --warmup 1 --runs "$RUNS" "wc -l $LOG" >&2 || true
fi
row "scan only, object events" "plain" "$SIZE" "$(measure "$SCAN" --objects-only "$LOG")" "want_requests=false (graph command)"
row "scan only, kubelet requests" "plain" "$SIZE" "$(measure "$SCAN" --requests-only "$LOG")" "want_object_events=false"
row "scan only, both" "plain" "$SIZE" "$(measure "$SCAN" "$LOG")" "the read of analyze"
row "scan only, both" "gzip" "$SIZE" "$(measure "$SCAN" "$LOG.gz")" \
  "one gzip stream; MB/s of uncompressed bytes"
# Inflate alone, for reference: GNU gzip's, and ISA-L's (what `analyze` uses when its build
# found the library: `nodeauthz --version`).
row "gzip -t (inflate only)" "gzip" "$SIZE" "$(measure gzip -t "$LOG.gz")" "GNU gzip $(gzip --version | head -1 | awk '{print $2}')"
if command -v igzip > /dev/null; then
  row "igzip -t (inflate only)" "gzip" "$SIZE" "$(measure igzip -t "$LOG.gz")" "ISA-L's CLI"
fi
row "nodeauthz analyze --format json" "plain" "$SIZE" "$(measure "$BIN" analyze "$LOG" --format json)" "one read + spill file + decisions"
cp "$DATA/.last.out" "$DATA/.na-plain.out"; NA_ERR=$(cat "$DATA/.last.err")
MEM+=("$BYTES_SPEC log: $(rss_split "$BIN" analyze "$LOG" --format json)")
row "nodeauthz analyze --format json" "gzip" "$SIZE" "$(measure "$BIN" analyze "$LOG.gz" --format json)" \
  "MB/s of uncompressed bytes; .gz is $GZSIZE bytes"
cp "$DATA/.last.out" "$DATA/.na-gz.out"; NAGZ_ERR=$(cat "$DATA/.last.err")
# The inventory alone: the one read, each request counted as it is read; no graph, spill
# file or verdict.
row "nodeauthz analyze --inventory-only --format json" "plain" "$SIZE" \
  "$(measure "$BIN" analyze "$LOG" --inventory-only --format json)" "one read + counts (no graph, no decisions)"
cp "$DATA/.last.out" "$DATA/.na-inv-plain.out"
MEM+=("$BYTES_SPEC log, --inventory-only: $(rss_split "$BIN" analyze "$LOG" --inventory-only --format json)")
row "nodeauthz analyze --inventory-only --format json" "gzip" "$SIZE" \
  "$(measure "$BIN" analyze "$LOG.gz" --inventory-only --format json)" "MB/s of uncompressed bytes"
cp "$DATA/.last.out" "$DATA/.na-inv-gz.out"
# zstd, when the tool is installed: decoding is about twice as fast as gzip's.
if command -v zstd > /dev/null; then
  if [[ ! -s $LOG.zst || $LOG.zst -ot $LOG ]]; then
    echo "== zstd -3 copy" >&2
    zstd -q -3 -T0 -f -o "$LOG.zst" "$LOG"
  fi
  cat "$LOG.zst" > /dev/null
  row "nodeauthz analyze --format json" "zstd" "$SIZE" "$(measure "$BIN" analyze "$LOG.zst" --format json)" \
    "MB/s of uncompressed bytes; .zst is $(stat -c %s "$LOG.zst") bytes"
  cp "$DATA/.last.out" "$DATA/.na-zstd.out"
fi

# ---- a log of mostly non-kubelet lines: same cluster and seed, a tenth of the lines kubelets' --
FEW_SHARE=${BENCH_FEW:-0.1}
if [[ $FEW_SHARE != 0 ]]; then
  FEW_ARGS=("${GEN_ARGS[@]}")
  for i in "${!FEW_ARGS[@]}"; do
    [[ ${FEW_ARGS[$i]} == --kubelet-share ]] && FEW_ARGS[$((i + 1))]=$FEW_SHARE
  done
  FEW=$DATA/audit-$BYTES_SPEC-kubelet-$FEW_SHARE.log
  cached_log "$FEW" "kubelet share $FEW_SHARE" "${FEW_ARGS[@]}"
  FEW_SIZE=$(stat -c %s "$FEW")
  FEW_INPUT="plain, $FEW_SHARE kubelet"
  cat "$FEW" > /dev/null
  FEW_SQL=${DUCK_SQL//$LOG/$FEW}
  row "duckdb read_json (3 columns)" "$FEW_INPUT" "$FEW_SIZE" \
    "$(measure "${DUCKDB[@]}" "$FEW_SQL")" ""
  row "nodeauthz analyze --format json" "$FEW_INPUT" "$FEW_SIZE" "$(measure "$BIN" analyze "$FEW" --format json)" \
    "the same cluster, $FEW_SHARE of the lines kubelets'"
  cp "$DATA/.last.out" "$DATA/.na-few.out"
  MEM+=("$BYTES_SPEC log, kubelet share $FEW_SHARE: $(rss_split "$BIN" analyze "$FEW" --format json)")
fi

# ---- pretty-printed documents: cut between documents, parsed in parallel, never held whole ----
PRETTY_SPEC=${BENCH_PRETTY:-100M}
if [[ $PRETTY_SPEC != 0 ]]; then
  PRETTY=$DATA/pretty-$PRETTY_SPEC.json
  if [[ ! -s $PRETTY || $PRETTY -ot $LOG ]]; then
    echo "== pretty-printing the first $PRETTY_SPEC of $LOG" >&2
    # The log's bad lines (and the line head cuts) are left out.
    head -c "$(to_bytes "$PRETTY_SPEC")" "$LOG" | python3 -c 'import json, sys
for line in sys.stdin:
    try:
        v = json.loads(line)
    except ValueError:
        continue
    sys.stdout.write(json.dumps(v, indent=2) + "\n")' > "$PRETTY.tmp" && mv "$PRETTY.tmp" "$PRETTY"
  fi
  PRETTY_SIZE=$(stat -c %s "$PRETTY")
  cat "$PRETTY" > /dev/null
  row "nodeauthz analyze --format json" "pretty" "$PRETTY_SIZE" \
    "$(measure "$BIN" analyze "$PRETTY" --format json)" "pretty-printed copy of the first $PRETTY_SPEC"
  MEM+=("pretty-printed $PRETTY_SPEC on stdin: $(rss_split bash -c 'exec "$0" analyze - --format json < "$1"' "$BIN" "$PRETTY")")
fi

# ---- the big log: memory must not grow with the size ----------------------------------------
BIG_SPEC=${BENCH_BIG:-4G}
if [[ $BIG_SPEC != 0 ]]; then
  BIG_BYTES=$(to_bytes "$BIG_SPEC")
  BIG=$DATA/audit-$BIG_SPEC.log
  BIG_ARGS=(--nodes 150 --pods-per-node 30 --duration 0 --target-bytes "$BIG_BYTES" --seed 1
            --kubelet-share 0.5 --bad-share 0.02 --churn-per-hour 60 --quiet)
  cached_log "$BIG" "$BIG_SPEC" "${BIG_ARGS[@]}"
  BIG_SIZE=$(stat -c %s "$BIG")
  cat "$BIG" > /dev/null
  SAVED_RUNS=$RUNS; RUNS=${BENCH_BIG_RUNS:-1}
  row "scan only, both" "plain $BIG_SPEC" "$BIG_SIZE" "$(measure "$SCAN" "$BIG")" "memory check: holds every object event"
  row "nodeauthz analyze --format json" "plain $BIG_SPEC" "$BIG_SIZE" "$(measure "$BIN" analyze "$BIG" --format json)" "memory check"
  MEM+=("$BIG_SPEC log: $(rss_split "$BIN" analyze "$BIG" --format json)")
  # Standard input cannot be mapped or read twice: it is read in blocks, and its requests wait
  # in the spill file like any others.
  MEM+=("$BIG_SPEC log on stdin: $(rss_split bash -c 'exec "$0" analyze - --format json < "$1"' "$BIN" "$BIG")")
  RUNS=$SAVED_RUNS
fi
# ---- DuckDB and analyze in turn ---------------------------------------------------------------
ALTERNATE=${BENCH_ALTERNATE:-10}
ALTERNATED=""
if (( ALTERNATE > 0 )); then
  echo "== $ALTERNATE rounds of DuckDB, analyze and analyze --inventory-only in turn" >&2
  # Each run's exit status goes with its times: a failed run (which may end early) is left
  # out of the medians and counted, as `measure` reports a failed row.
  ALTERNATED=$(for ((i = 0; i < ALTERNATE; i++)); do
    t0=$(date +%s.%N)
    s1=0
    "${DUCKDB[@]}" "$DUCK_SQL" > /dev/null || s1=$?
    t1=$(date +%s.%N)
    s2=0
    "$BIN" analyze "$LOG" --format json > /dev/null 2>&1 || s2=$?
    t2=$(date +%s.%N)
    s3=0
    "$BIN" analyze "$LOG" --inventory-only --format json > /dev/null 2>&1 || s3=$?
    t3=$(date +%s.%N)
    echo "$t0 $t1 $t2 $t3 $s1 $s2 $s3"
  done | python3 -c 'import statistics, sys
size = int(sys.argv[1])
duck, ours, inventory, failed = [], [], [], 0
for line in sys.stdin:
    t0, t1, t2, t3, s1, s2, s3 = line.split()
    if s1 != "0" or s2 != "0" or s3 != "0":
        failed += 1
        continue
    duck.append(float(t1) - float(t0))
    ours.append(float(t2) - float(t1))
    inventory.append(float(t3) - float(t2))
if not duck:
    print("DuckDB and analyze in turn: every round failed (%d)" % failed)
    sys.exit()
md, mo, mi = statistics.median(duck), statistics.median(ours), statistics.median(inventory)
print("%d rounds in turn on the main log%s, wall s min / median: DuckDB %.3f / %.3f (%.0f MB/s at the "
      "median), nodeauthz analyze %.3f / %.3f (%.0f MB/s); the speed of analyze over that of DuckDB by "
      "the medians: %.2fx, by the minima: %.2fx"
      % (len(duck), " (and %d that failed, left out)" % failed if failed else "", min(duck), md,
         size / 1e6 / md, min(ours), mo, size / 1e6 / mo, md / mo, min(duck) / min(ours)))
print("in the same rounds, nodeauthz analyze --inventory-only %.3f / %.3f (%.0f MB/s); over DuckDB by "
      "the medians: %.2fx, by the minima: %.2fx"
      % (min(inventory), mi, size / 1e6 / mi, md / mi, min(duck) / min(inventory)))' "$SIZE")
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report -----------------------------------------------------------------------------------
TRUTH_ROWS=$(wc -l < "$DATA/truth-$BYTES_SPEC.jsonl")
python3 - "$SIZE" "$TRUTH_ROWS" "$DUCK_OUT" "$DATA" "$NA_ERR" "$NAGZ_ERR" "$(nproc)" "$LOAD_BEFORE" "$LOAD_AFTER" "${ROWS[@]}" <<'EOF'
import json, sys
size, truth_rows, duck_out, data, na_err, nagz_err, cores, load_before, load_after = sys.argv[1:10]
na_out = {}
for inp in ("plain", "gz", "zstd", "few", "inv-plain", "inv-gz"):
    try:
        na_out[inp] = open("%s/.na-%s.out" % (data, inp)).read()
    except OSError:
        na_out[inp] = ""


def valid(inp):
    """A nodeauthz run counts only when it printed the JSON summary (else it did no work)."""
    try:
        return "kubelet_requests" in json.loads(na_out[inp])
    except ValueError:
        return False


rows = []
for r in sys.argv[10:]:
    name, inp, nbytes, meas, note = r.split("|")
    parts = meas.split()
    secs, rss, status = parts[:3]
    cpu = parts[3] if len(parts) > 3 else "-"
    ok = status == "0" and secs != "-"
    out = {"gzip": "gz", "zstd": "zstd"}.get(inp, "few" if "kubelet" in inp else "plain")
    if "--inventory-only" in name:
        out = "inv-" + out
    if ok and name.startswith("nodeauthz") and not valid(out):
        status, ok = "0, no JSON summary printed", False
    mbs = int(nbytes) / 1e6 / float(secs) if ok and float(secs) > 0 else None
    rows.append((name, inp, int(nbytes), secs, mbs, rss, status, note, cpu))
ours = next((r[4] for r in rows if r[0].startswith("nodeauthz") and r[1] == "plain"), None)
# The second log's rows compare with `analyze` on that log; every other row, with the main one.
ours_few = {r[1]: r[4] for r in rows if r[0].startswith("nodeauthz") and "kubelet" in r[1]}
print("\n### nodeauthz throughput, %.2f GB generated audit log (%s cores, page cache warm)\n" % (int(size) / 1e9, cores))
print("| tool | input | bytes read | best s | MB/s | CPU s | nodeauthz analyze ÷ this | peak RSS MiB | note |")
print("|---|---|---:|---:|---:|---:|---:|---:|---|")
for name, inp, nbytes, secs, mbs, rss, status, note, cpu in rows:
    if mbs is None:
        print("| %s | %s | %d | - | failed (exit %s) | - | - | - | %s |" % (name, inp, nbytes, status, note))
        continue
    mine = ours_few.get(inp, ours)
    ratio = "%.2fx" % (mine / mbs) if mine else "-"
    rss_mib = "%.0f" % (int(rss) / 1024) if rss.isdigit() and int(rss) > 0 else "-"
    print("| %s | %s | %d | %s | %.0f | %s | %s | %s | %s |" % (name, inp, nbytes, secs, mbs, cpu, ratio, rss_mib, note))
print()
print("Load average before: %s; after: %s (other jobs share the cores)." % (load_before, load_after))
print("DuckDB kubelet lines (both stages): %s" % duck_out.strip())
na_plain = na_out["plain"]
try:
    doc = json.loads(na_plain)
    kr = doc.get("kubelet_requests")
    print("nodeauthz kubelet_requests = %s; generator truth rows = %s%s" % (
        kr, truth_rows.strip(), "" if str(kr) == truth_rows.strip() else "  <-- MISMATCH"))
except ValueError:
    print("nodeauthz output is not JSON (first bytes: %r); stderr: %r" % (na_plain[:200], na_err[-300:]))
if nagz_err.strip():
    print("nodeauthz .gz stderr (tail): %r" % nagz_err[-300:])
EOF
echo "nodeauthz analyze: $BIN"
[[ -n $ALTERNATED ]] && echo && echo "$ALTERNATED"
echo
echo "Peak RssAnon / RssFile MiB of nodeauthz analyze (one run each, sampled every 20 ms):"
for m in "${MEM[@]}"; do
  echo "- $m"
done
