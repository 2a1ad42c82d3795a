#!/usr/bin/env bash
# The JavaScript/TypeScript SDK's tests (run by CTest as `js_sdk`): installs the dev dependencies from the committed
# lock file when needed, compiles the SDK and examples/js, then runs `node --test` against real `ironflow serve`
# processes started by the tests (embedded nats-server).
# Usage: scripts/js-sdk-test.sh <path of the ironflow binary>
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SDK="$ROOT/sdk/js"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "js-sdk-test: needs node and npm: run scripts/install-test-deps.sh" >&2
  exit 1
fi
if [ ! -f "$SDK/node_modules/typescript/package.json" ] || [ "$SDK/package-lock.json" -nt "$SDK/node_modules/.package-lock.json" ]; then
  npm ci --prefix "$SDK" --no-audit --no-fund --loglevel=error
fi
cd "$SDK"
node node_modules/typescript/bin/tsc -p tsconfig.json
node node_modules/typescript/bin/tsc -p tsconfig.examples.json
IRONFLOW_BIN="$1" exec node --test test/*.test.mjs
