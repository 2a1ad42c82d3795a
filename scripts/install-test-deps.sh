#!/usr/bin/env bash
# Installs what only the tests need, on top of scripts/install-deps.sh: Debian's Chromium (the dashboard's
# end-to-end test drives it with playwright-core), lintian (the package test) and Node.js/npm when the machine
# has none.
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

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-test-deps: chromium, lintian, node and npm present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-test-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
