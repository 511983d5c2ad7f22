#!/usr/bin/env bash
# The published study (issue 19) in parts: experiments/paper.ini is run one slice at a time
# (a seed, an augmentation policy and optionally a labelled fraction: every pair a claim
# compares — same cell, same seed — is in one slice, so it runs on one machine), each slice
# into its own database, and the
# finished parts are merged by config hash into reports/paper/results.db, judged and
# reported. A part that is stopped resumes where it stopped; a finished trial never trains
# again.
#
#   scripts/paper.sh plan SEED AUG [FRACTION]   what the part will train and how long
#   scripts/paper.sh part SEED AUG [FRACTION]   runs the part into parts/paper-sSEED-AUG[-F].db
#                                      and logs its command, CPU and times in reports/paper/PARTS.md
#   (PAPER_JOBS=N sets the part's workers, default 2: 1 leaves a core for other work)
#   scripts/paper.sh publish [DB...]   merges the parts (default: parts/*.db) and the
#                                      published database, checks the claims, writes the
#                                      report to reports/paper/ (budget.md: the fixed-budget
#                                      run's deltas beside these, scripts/budget.sh;
#                                      baseline.ini: rethink baseline save of them)
set -euo pipefail
cd "$(dirname "$0")/.."
exp=experiments/paper.ini
pub=reports/paper
usage() { sed -n '10,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
build() {
  scripts/install-deps.sh >/dev/null
  [[ -d build ]] || meson setup build --buildtype=release >/dev/null
  ninja -C build >/dev/null
}
slice() { # SEED AUG [FRACTION]: validated
  [[ $1 =~ ^[0-9]+$ ]] || { echo "paper.sh: seed '$1' is not a number" >&2; exit 2; }
  [[ $2 =~ ^S[1-4]$ ]] || { echo "paper.sh: aug '$2' is not one of S1..S4" >&2; exit 2; }
  [[ -z ${3:-} || $3 =~ ^(0\.2|0\.5|1\.0)$ ]] || { echo "paper.sh: fraction '$3' is not 0.2, 0.5 or 1.0" >&2; exit 2; }
}
cmd=${1:-}
case $cmd in
plan | part)
  [[ $# -eq 3 || $# -eq 4 ]] || usage
  slice "$2" "$3" "${4:-}"
  build
  sel=(-s "seed=$2" -s "aug=$3")
  db=parts/paper-s$2-$3
  if [[ -n ${4:-} ]]; then sel+=(-s "fraction=$4"); db+=-$4; fi
  db+=.db
  mkdir -p parts
  # the published parts inform a new part's estimates of plateau trials (read-only)
  [[ ! -e $pub/results.db ]] || sel+=(--history "$pub/results.db")
  [[ $cmd == part ]] || exec ./build/rethink sweep "$exp" "${sel[@]}" --db "$db" --dry-run
  cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
  start=$(date -u +%FT%TZ) rev=$(git rev-parse --short HEAD)
  ./build/rethink sweep "$exp" "${sel[@]}" --db "$db" -j "${PAPER_JOBS:-2}"
  printf '| `scripts/paper.sh part %s` | %s | %s | %s | %s |\n' "${*:2}" "$cpu" "$start" \
    "$(date -u +%FT%TZ)" "$rev" >>"$pub/PARTS.md"
  echo "part ${*:2} finished: $db (logged in $pub/PARTS.md)"
  ;;
publish)
  shift
  build
  parts=("$@")
  [[ ${#parts[@]} -gt 0 ]] || parts=(parts/*.db)
  [[ -e ${parts[0]} ]] || { echo "paper.sh: no parts to publish (run: scripts/paper.sh part SEED AUG)" >&2; exit 2; }
  for p in "${parts[@]}"; do ./build/rethink merge "$p" --db "$pub/results.db"; done
  rc=0 # check exits 1 when a claim fails and 3 when one is inconclusive: verdicts, not errors
  ./build/rethink check experiments/paper.claims --db "$pub/results.db" --study paper \
    --json >"$pub/claims.txt" || rc=$?
  [[ $rc -eq 0 || $rc -eq 1 || $rc -eq 3 ]] || exit $rc
  ./build/rethink report --db "$pub/results.db" --study paper --out "$pub"
  scripts/budget.sh reports/paper-issue9/deltas.csv "$pub/deltas.csv" >"$pub/budget.md"
  # the regression baseline of what is published (rethink check --baseline, docs/CLAIMS.md)
  ./build/rethink baseline save --db "$pub/results.db" --study paper --out "$pub/baseline.ini" >/dev/null
  # the published copy is one file: compacted, no WAL or index beside it
  sqlite3 "$pub/results.db" 'PRAGMA journal_mode = DELETE; VACUUM;' >/dev/null
  echo "report: $pub/index.html (and report.md, claims.txt)"
  ;;
*) usage ;;
esac
