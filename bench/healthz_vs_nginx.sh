#!/usr/bin/env bash
# The HTTP layer's own cost: `wrk -t2 -c10` against GET /healthz of `ironflow serve` and against nginx answering a
# fixed 200 on the same machine, side by side in one run (rounds alternate, so both see the same noise). Prints
# each round and the median requests/s of each, and their ratio (goal: ironflow >= 0.5x nginx).
# Needs nginx and wrk (Debian: apt-get install nginx-light wrk); nginx runs as a private instance in a scratch dir.
# Usage: bench/healthz_vs_nginx.sh [rounds, default 5] [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-5}"
SECONDS_PER_RUN="${2:-10}"
for tool in nginx wrk; do
  command -v "$tool" >/dev/null || { echo "needs $tool: apt-get install nginx-light wrk" >&2; exit 1; }
done
WORK="$(mktemp -d)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
NGINX_PORT=$(free_port)
IRONFLOW_PORT=$(free_port)
mkdir -p "$WORK/nginx/logs"
cat > "$WORK/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { default_type application/json; return 200 '{"status":"ok"}'; }
  }
}
EOF
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf"
build/bin/ironflow serve --port "$IRONFLOW_PORT" --data-dir "$WORK/ironflow" > "$WORK/ironflow.log" 2>&1 &
SERVER=$!
cleanup() {
  kill "$SERVER" 2>/dev/null || true
  nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -s stop 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$IRONFLOW_PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

rps() { wrk -t2 -c10 -d"${SECONDS_PER_RUN}s" "$1" | awk '/^Requests\/sec:/ {print $2}'; }
NGINX=()
IRONFLOW=()
for r in $(seq 1 "$ROUNDS"); do
  n=$(rps "http://127.0.0.1:$NGINX_PORT/healthz")
  i=$(rps "http://127.0.0.1:$IRONFLOW_PORT/healthz")
  NGINX+=("$n")
  IRONFLOW+=("$i")
  printf 'round %d: nginx %10.0f req/s   ironflow /healthz %10.0f req/s   ratio %.2f\n' "$r" "$n" "$i" \
    "$(python3 -c "print($i/$n)")"
done
python3 - "${NGINX[*]}" "${IRONFLOW[*]}" <<'EOF'
import statistics, sys
n = [float(x) for x in sys.argv[1].split()]
i = [float(x) for x in sys.argv[2].split()]
mn, mi = statistics.median(n), statistics.median(i)
print(f"median: nginx {mn:.0f} req/s, ironflow /healthz {mi:.0f} req/s, ratio {mi / mn:.2f} (goal >= 0.50)")
EOF
