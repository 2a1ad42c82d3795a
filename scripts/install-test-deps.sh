#!/usr/bin/env bash
# Installs what only the tests need, on top of scripts/install-deps.sh: Debian's Chromium (the dashboard's
# end-to-end test drives it with playwright-core), lintian (the package test), promtool (the alert rules' unit
# tests and the /metrics lint) and nginx (the load-balancer test), and Node.js/npm when the machine has none.
# promtool and nginx are only their binaries, taken out of Debian's prometheus and nginx packages (into
# /usr/local/bin/promtool and /usr/local/lib/ironflow-test-tools/nginx): no Prometheus or nginx service is
# installed or started on a developer's machine.
# Idempotent: does nothing when everything is present.
set -euo pipefail

missing=()
dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "install ok installed" || missing+=(chromium)
# The Debian package test (tests/package_test.sh): lintian, dpkg-shlibdeps (CPack's Depends), file, systemd-analyze.
command -v lintian >/dev/null 2>&1 || missing+=(lintian)
command -v dpkg-shlibdeps >/dev/null 2>&1 || missing+=(dpkg-dev)
command -v file >/dev/null 2>&1 || missing+=(file)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

need_promtool=0
command -v promtool >/dev/null 2>&1 || need_promtool=1
NGINX=/usr/local/lib/ironflow-test-tools/nginx
need_nginx=0
[ -x "$NGINX" ] || [ -x /usr/sbin/nginx ] || need_nginx=1

if [ ${#missing[@]} -eq 0 ] && [ $need_promtool -eq 0 ] && [ $need_nginx -eq 0 ]; then
  echo "install-test-deps: chromium, lintian, promtool, nginx, node and npm present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-test-deps: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Installs one file of a Debian package (downloaded, never installed): extract_binary PACKAGE PATH_IN_PACKAGE DEST
extract_binary() {
  local tmp
  tmp=$(mktemp -d)
  chmod 0755 "$tmp"  # apt downloads as _apt
  (cd "$tmp" && apt-get download -qq "$1")
  dpkg-deb --fsys-tarfile "$tmp/$1"_*.deb | tar -x -C "$tmp" ".$2"
  $SUDO install -D -m 0755 "$tmp$2" "$3"
  rm -rf "$tmp"
}
if [ $need_promtool -eq 1 ]; then
  echo "install-test-deps: installing /usr/local/bin/promtool (from Debian's prometheus package)"
  extract_binary prometheus /usr/bin/promtool /usr/local/bin/promtool
fi
if [ $need_nginx -eq 1 ]; then
  echo "install-test-deps: installing $NGINX (from Debian's nginx package)"
  extract_binary nginx /usr/sbin/nginx "$NGINX"
fi
