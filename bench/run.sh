#!/usr/bin/env bash
# Runs every benchmark with repetitions and prints median throughput and our/raw ratios.
# Usage: bench/run.sh [repetitions]   (default 5). JSON results land in bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS="${1:-5}"
mkdir -p bench/results
for b in bench_aead bench_runtime bench_api bench_stores; do
  echo "== $b (repetitions: $REPS)"
  build/bin/$b --benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=true \
    --benchmark_out=bench/results/$b.json --benchmark_out_format=json >/dev/null
done
python3 bench/summarize.py bench/results/bench_aead.json bench/results/bench_runtime.json bench/results/bench_api.json \
  bench/results/bench_stores.json
echo "== bench_pull_e2e (one run; counters: runs_per_s, p50_ms, p99_ms; raw puts/s alongside)"
build/bin/bench_pull_e2e 2>/dev/null | grep -E "^BM_"
