#!/usr/bin/env bash
# The README's test command (and CI's): install dependencies, build with warnings fatal, run
# the whole test suite, then again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

[[ -d build ]] || meson setup build --buildtype=release -Dwerror=true >/dev/null
meson configure build -Dwerror=true
ninja -C build
meson test -C build --print-errorlogs --verbose

[[ -d build-asan ]] || meson setup build-asan --buildtype=debugoptimized -Dwerror=true \
  -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C build-asan
# oneDNN's JIT and libgomp's thread pool keep allocations alive until exit: leak detection
# reports those, not ours. halt_on_error makes any real finding fail the run.
ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --print-errorlogs --verbose
