#!/usr/bin/env bash
# The published study re-checks itself (issue 19): from the committed per-trial database
# reports/paper/results.db, `rethink check` and `rethink report` (the commands of
# `scripts/paper.sh publish`) must give back the committed claims.txt, report.md, cells.csv
# and deltas.csv byte for byte, and scripts/budget.sh the committed budget.md (the fixed-budget
# run's deltas beside the converged ones), and baseline.ini (which holds against the data). A change in the statistics, report or claims code that moves
# a published number fails here; the published verdicts are always the code's.
#   published_test.sh RETHINK SOURCE_ROOT
# Runs on a copy (check records its verdicts in the database); skipped (77) while nothing
# is published.
set -u
rethink=$1 root=$2
pub=reports/paper
[ -f "$root/$pub/results.db" ] || { echo "no published database ($pub/results.db): skipped"; exit 77; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$d/$pub" "$d/out"
cp "$root/$pub/results.db" "$d/$pub/"
cp -r "$root/experiments" "$d/"
cd "$d" || exit 1
# the same paths as scripts/paper.sh publish, so the report names the same database
rc=0
"$rethink" check experiments/paper.claims --db "$pub/results.db" --study paper --json \
  >out/claims.txt 2>out/check.err || rc=$?
[ $rc -eq 0 ] || [ $rc -eq 1 ] || [ $rc -eq 3 ] || { cat out/check.err; fail "check exited $rc"; }
"$rethink" report --db "$pub/results.db" --study paper --out out >out/report.txt 2>&1 ||
  { cat out/report.txt; fail "report exited $?"; }
"$rethink" baseline save --db "$pub/results.db" --study paper --out out/baseline.ini >/dev/null ||
  fail "baseline save exited $?"
# the published baseline holds against the published data
"$rethink" check --baseline "$root/$pub/baseline.ini" --db "$pub/results.db" --study paper \
  >out/baseline.txt 2>&1 || { cat out/baseline.txt; fail "check --baseline $pub/baseline.ini fails on its own data"; }
bash "$root/scripts/budget.sh" "$root/reports/paper-issue9/deltas.csv" out/deltas.csv >out/budget.md ||
  fail "scripts/budget.sh exited $?"
for f in claims.txt report.md cells.csv deltas.csv budget.md baseline.ini; do
  [ -f "$root/$pub/$f" ] || fail "$pub/$f is not committed"
  cmp -s "$root/$pub/$f" "out/$f" || {
    diff "$root/$pub/$f" "out/$f" | head -20
    fail "$pub/$f differs from what the code makes of $pub/results.db (re-run scripts/paper.sh publish)"
  }
done
echo "published: claims.txt, report.md, cells.csv, deltas.csv, budget.md and baseline.ini regenerate from $pub/results.db"
