#!/usr/bin/env bash
# Regenerates fixtures/generated/: one small cluster (same seed) recorded under the three
# scenarios of scripts/gen_audit_log.py, with the objects dump, the truth file and a gzip copy.
# Then refresh the expected counts with: scripts/check_fixtures.py --write-expected
set -euo pipefail
cd "$(dirname "$0")/.."
out=fixtures/generated
mkdir -p "$out"
args=(--nodes 3 --pods-per-node 5 --duration 8m --seed 10 --bad-share 0.03 --hidden-share 0.07 --kubelet-share 0.8
      --churn-per-hour 120 --quiet)
for sc in node-rbac rbac-only legacy-binding; do
  mkdir -p "$out/$sc"
  python3 scripts/gen_audit_log.py "${args[@]}" --scenario "$sc" --out "$out/$sc/audit.log" \
    --truth-out "$out/$sc/truth.jsonl" --objects-out "$out/objects.json"
done
python3 scripts/gen_audit_log.py "${args[@]}" --scenario node-rbac --gzip --out "$out/node-rbac/audit.log.gz"
