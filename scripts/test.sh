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
# Check runs each test in a forked child; CK_FORK=no keeps them in one process so that
# LeakSanitizer sees every allocation when the process exits. The Slurm cluster test ran in
# the release pass: it tests a job script and a scheduler, whose C paths cluster_test.sh
# runs here too.
CK_FORK=no ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --print-errorlogs --verbose --no-suite slurm

# libFuzzer (docs/RELIABILITY.md): every committed corpus file replayed, then 30 s of fuzzing
# per parser of user files (8 harnesses: about 4 min, plus the clang build the first time)
scripts/fuzz.sh 30

# Plain closing line: the Check summaries of both runs (plain build + sanitizers), added up.
passed=0 failed=0
for d in build build-asan; do
  line=$(grep -m1 -E '^[0-9]+%: Checks: ' "$d/meson-logs/testlog.txt")
  n=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
  f=$(sed -E 's/.*Failures: ([0-9]+), Errors: ([0-9]+).*/\1+\2/' <<<"$line")
  passed=$((passed + n - f)) failed=$((failed + f))
done
echo "tests: $passed passed, $failed failed"
