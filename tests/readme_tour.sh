#!/usr/bin/env bash
# The README's CLI tour, run as written against a real server (CTest: readme_cli_tour), so the README cannot drift
# from the CLI. Every `ironflow ...` line of the ```sh blocks under "## A 2-minute CLI tour" runs in order in a
# scratch directory, through the README's own `ironflow() { build/bin/ironflow "$@"; }`; each must exit 0. Lines
# that follow events (`subscribe`, `watch`) must still be running after 3 s. What the script adds and why:
#   - the server it starts itself (the tour's `ironflow serve &` line), on a free port given as IRONFLOW_SERVER_URL;
#   - the files the tour reads (db-url.txt, new-key.txt, .env, token.txt);
#   - the payout_pull example as the function `emit --wait` triggers (the tour points to examples/ for it), and
#     the run id that `emit` printed in place of the tour's `run_...`.
# Optional parts written `[--flag]` are run with the flag. Values never appear in what the CLI prints (checked).
# Usage: tests/readme_tour.sh <ironflow binary> <payout_pull binary> <README.md> <scratch dir>
set -euo pipefail
BIN="$(realpath "$1")"
PAYOUT="$(realpath "$2")"
README="$(realpath "$3")"
WORK="$4"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"

export IRONFLOW_MASTER_KEY="$(openssl rand -hex 32)"
STRIPE_VALUE="sk_live_tour_$(openssl rand -hex 8)"
printf 'postgres://tour:%s@db/app' "$(openssl rand -hex 8)" > db-url.txt
printf 'sk_live_rotated_%s' "$(openssl rand -hex 8)" > new-key.txt
printf 'API_TOKEN=tok_%s\nWEBHOOK_SECRET=whsec_%s\n' "$(openssl rand -hex 8)" "$(openssl rand -hex 8)" > .env
printf 'session-%s' "$(openssl rand -hex 8)" > token.txt
# Secret values (token.txt goes into the KV store, which is readable by design: `kv get` prints it).
VALUES=("$STRIPE_VALUE" "$(cat db-url.txt)" "$(cat new-key.txt)" $(sed 's/^[A-Z_]*=//' .env))

"$BIN" serve --port 0 > server.log 2>&1 &  # any free port: read back from the "listening on" line
SERVER=$!
WORKER=""
cleanup() {
  [ -n "$WORKER" ] && kill "$WORKER" 2>/dev/null || true
  kill "$SERVER" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
PORT=""
for _ in $(seq 1 200); do
  PORT="$(sed -nE 's#.*listening on http://127\.0\.0\.1:([0-9]+).*#\1#p' server.log | head -1)"
  [ -n "$PORT" ] && curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { cat server.log; echo "readme tour: the server did not start" >&2; exit 1; }
  sleep 0.1
done
[ -n "$PORT" ] || { cat server.log; echo "readme tour: the server never said where it listens" >&2; exit 1; }
export IRONFLOW_SERVER_URL="http://127.0.0.1:$PORT"
unset IRONFLOW_MASTER_KEY  # the CLI never needs it

# The tour's lines: inside ```sh blocks only, from the tour heading to the next "## " heading.
# Other blocks there (```ts: the SDK snippet) are prose for readers, not shell lines.
mapfile -t LINES < <(awk '/^## A 2-minute CLI tour/{on=1; next} on && /^## /{exit}
  on && /^```/{ if (block) block=0; else block=($0 ~ /^```sh[[:space:]]*$/); next } on && block' "$README")
[ "${#LINES[@]}" -gt 20 ] || { echo "readme tour: found only ${#LINES[@]} lines in the tour" >&2; exit 1; }

PRELUDE="ironflow() { \"$BIN\" \"\$@\"; }"
OUT="$WORK/cli-output.txt"
RUN_ID=""
ran=0
for raw in "${LINES[@]}"; do
  line="$(sed -E 's/[[:space:]]{2,}#.*$//; s/[[:space:]]+$//' <<<"$raw")"
  case "$line" in
    ""|\#*|export\ *|"build/bin/ironflow serve"*|"ironflow() {"*) continue ;;
  esac
  line="$(sed -E 's/\[([^]]*)\]/\1/g' <<<"$line")"  # [--overwrite] -> --overwrite
  line="${line//sk_live_51H.../$STRIPE_VALUE}"
  if [[ "$line" == *"emit "* && -z "$WORKER" ]]; then
    # The function the tour's emit triggers: the payout example (declares STRIPE_KEY) as a pull worker.
    IRONFLOW_ENV=production IRONFLOW_API_KEY="$(cat .ironflow/bootstrap_key)" "$PAYOUT" > worker.log 2>&1 &
    WORKER=$!
    for _ in $(seq 1 100); do
      "$BIN" function list -e production --json 2>/dev/null | grep -q '"payout"' && break
      sleep 0.1
    done
  fi
  if [[ "$line" == *"run_..."* ]]; then
    [ -n "$RUN_ID" ] || { echo "readme tour: no run id from emit for: $line" >&2; exit 1; }
    line="${line//run_.../$RUN_ID}"
  fi
  echo "+ $raw" >> "$OUT"  # as the README shows it (the substituted value is never written out)
  if [[ "$line" == *"&" || "$line" == *" watch "* || "$line" == *"subscribe "* ]]; then
    # Follows events: must still be running after 3 s (exit 124 from timeout), not fail at once.
    cmd="${line%&}"
    set +e
    timeout 3 bash -c "$PRELUDE; $cmd" >> "$OUT" 2>&1
    rc=$?
    set -e
    if [ "$rc" -ne 124 ]; then
      echo "readme tour: '$line' stopped with exit code $rc instead of following events" >&2
      cat "$OUT" >&2
      exit 1
    fi
  else
    set +e
    output="$(timeout 60 bash -c "$PRELUDE; $line" 2>&1)"
    rc=$?
    set -e
    echo "$output" >> "$OUT"
    if [ "$rc" -ne 0 ]; then
      echo "readme tour: '$line' failed (exit $rc):" >&2
      echo "$output" >&2
      exit 1
    fi
    if [[ "$line" == *"emit "* ]]; then
      RUN_ID="$(grep -oE 'run_[0-9a-f]+' <<<"$output" | head -1 || true)"
    fi
  fi
  ran=$((ran + 1))
done

for v in "${VALUES[@]}"; do
  if grep -qF -- "$v" "$OUT" server.log; then
    echo "readme tour: a secret value appeared in the CLI output or the server log" >&2
    exit 1
  fi
done
echo "readme tour: $ran commands ran as the README shows them"
