#!/usr/bin/env bash
# Regenerates the published reproduction study (issue 9): runs experiments/paper.ini (192
# trials; under two hours on 2 cores, docs/STUDY.md), judges experiments/paper.claims, and
# writes the report to reports/paper/. Resumable: an interrupted run continues where it
# stopped, and finished trials are never trained again.
#   scripts/paper.sh [--db FILE]      (default results.db)
set -euo pipefail
cd "$(dirname "$0")/.."
db=results.db
if [[ ${1:-} == --db ]]; then db=$2; fi
scripts/install-deps.sh
[[ -d build ]] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
./build/rethink sweep experiments/paper.ini --db "$db"
# check exits 1 when a claim fails and 3 when one is inconclusive: verdicts, not errors
rc=0
./build/rethink check experiments/paper.claims --db "$db" --study paper || rc=$?
[[ $rc -eq 0 || $rc -eq 1 || $rc -eq 3 ]] || exit $rc
./build/rethink report --db "$db" --study paper --out reports/paper
echo "report: reports/paper/index.html (and report.md)"
