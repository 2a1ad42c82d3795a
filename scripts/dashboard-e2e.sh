#!/usr/bin/env bash
# The dashboard's end-to-end test (run by CTest as `dashboard_e2e`): installs playwright-core from the committed
# lock file when needed, then drives Debian's Chromium against a real `ironflow serve`.
# Usage: scripts/dashboard-e2e.sh <path of the ironflow binary> <artifacts dir for screenshots>
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$1"
ARTIFACTS="$2"
E2E="$ROOT/dashboard/e2e"
if ! command -v node >/dev/null || ! command -v npm >/dev/null || [ ! -x /usr/bin/chromium ]; then
  echo "dashboard-e2e: needs node, npm and /usr/bin/chromium: run scripts/install-test-deps.sh" >&2
  exit 1
fi
if [ ! -f "$E2E/node_modules/playwright-core/package.json" ] || [ "$E2E/package-lock.json" -nt "$E2E/node_modules/.package-lock.json" ]; then
  npm ci --prefix "$E2E" --no-audit --no-fund --loglevel=error
fi
exec node "$E2E/dashboard.e2e.mjs" "$BIN" "$ARTIFACTS"
