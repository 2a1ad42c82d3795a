#!/usr/bin/env bash
# JavaScript pull workers next to the C++ figure, in one session: bench_pull_e2e's single-server rows, then
# bench/js_pull_e2e.mjs (the same load through sdk/js workers). Usage: bench/js_pull_e2e.sh [rounds] (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
(cd sdk/js && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && node node_modules/typescript/bin/tsc -p tsconfig.json)
for r in $(seq 1 "$ROUNDS"); do
  echo "== round $r"
  build/bin/bench_pull_e2e --benchmark_filter='BM_PullEndToEnd/' 2>/dev/null | grep -E "^BM_" | sed -E 's/ +/ /g'
  IRONFLOW_BIN=build/bin/ironflow node bench/js_pull_e2e.mjs
done
