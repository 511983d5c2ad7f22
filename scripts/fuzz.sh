#!/usr/bin/env bash
# The libFuzzer campaign (tests/fuzz, docs/RELIABILITY.md): builds build-fuzz with clang,
# AddressSanitizer and UndefinedBehaviorSanitizer, replays every committed corpus file (the
# seeds and every crash found so far), then fuzzes each parser of user files for SECONDS.
#   scripts/fuzz.sh [SECONDS] [HARNESS...]    default 30 s each, every harness
#   scripts/fuzz.sh 0                         replay the committed corpora only
# A crash, leak or sanitizer report stops with exit 1 and leaves the input under
# build-fuzz/crashes/: commit it to tests/fuzz/corpus/HARNESS/ with a unit test. Corpus growth
# goes to build-fuzz/corpus/ (not committed). The last line sums up executions per harness.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
shift || true
all=(experiment override claims baseline coco dets jpeg png store)
harnesses=("${@:-${all[@]}}")

if [[ ! -d build-fuzz ]]; then
  CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
    --buildtype=debugoptimized >/dev/null
fi
ninja -C build-fuzz >/dev/null
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
mkdir -p build-fuzz/crashes
summary=()
for h in "${harnesses[@]}"; do
  exe=build-fuzz/tests/fuzz/fuzz_$h seeds=tests/fuzz/corpus/$h work=build-fuzz/corpus/$h
  [[ -x $exe ]] || { echo "fuzz: no harness $h" >&2; exit 2; }
  mkdir -p "$work"
  # every committed input once (a crash found earlier stays fixed)
  "$exe" -runs=0 "$seeds" >"build-fuzz/$h.replay.log" 2>&1 ||
    { tail -40 "build-fuzz/$h.replay.log"; echo "fuzz: $h fails on its committed corpus" >&2; exit 1; }
  if ((secs > 0)); then
    log=build-fuzz/$h.log
    if ! "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
         -print_final_stats=1 -artifact_prefix="build-fuzz/crashes/$h-" "$work" "$seeds" \
         >"$log" 2>&1; then
      tail -60 "$log"
      echo "fuzz: $h found a failure: $(ls -t build-fuzz/crashes/$h-* 2>/dev/null | head -1)" >&2
      exit 1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    summary+=("$h ${runs:-?} runs")
  fi
done
if ((secs > 0)); then
  echo "fuzz: ${#harnesses[@]} harnesses, ${secs} s each, no failure: $(IFS=,; echo "${summary[*]}" | sed 's/,/, /g')"
else
  echo "fuzz: every committed corpus file of ${#harnesses[@]} harnesses replayed, no failure"
fi
