#!/usr/bin/env bash
# `make fuzz`: builds every fuzz target with clang's libFuzzer (+ ASan/UBSan) and fuzzes each for N seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-60}"
if ! command -v clang++ >/dev/null || ! dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "install ok installed"; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev
fi
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DIRONFLOW_FUZZ=ON \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" >/dev/null
targets=(secret_record names signature dotenv json_body json_nesting http_request)
cmake --build build-fuzz -j 2 --target "${targets[@]/#/fuzz_}"
status=0
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus-$t"
  echo "== fuzz_$t for ${SECONDS_EACH}s"
  if ! build-fuzz/bin/fuzz_$t -max_total_time="$SECONDS_EACH" -artifact_prefix="build-fuzz/crash-$t-" \
       "build-fuzz/corpus-$t" "fuzz/corpus/$t" 2>&1 | tail -3; then
    status=1
  fi
done
ls build-fuzz/crash-* 2>/dev/null && { echo "crashes found (see above)"; status=1; }
exit $status
