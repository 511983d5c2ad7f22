#!/usr/bin/env bash
# The published study (issue 19) in parts: experiments/paper.ini is run one slice at a time
# (a seed and an augmentation policy: every pair a claim compares — same cell, same seed —
# is in one slice, so it runs on one machine), each slice into its own database, and the
# finished parts are merged by config hash into reports/paper/results.db, judged and
# reported. A part that is stopped resumes where it stopped; a finished trial never trains
# again.
#
#   scripts/paper.sh plan SEED AUG     what the part will train and how long (a dry run)
#   scripts/paper.sh part SEED AUG     runs the part into parts/paper-sSEED-AUG.db and logs
#                                      its command, CPU and time in reports/paper/PARTS.md
#   scripts/paper.sh publish [DB...]   merges the parts (default: parts/*.db) and the
#                                      published database, checks the claims, writes the
#                                      report to reports/paper/
set -euo pipefail
cd "$(dirname "$0")/.."
exp=experiments/paper.ini
pub=reports/paper
usage() { sed -n '9,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
build() {
  scripts/install-deps.sh >/dev/null
  [[ -d build ]] || meson setup build --buildtype=release >/dev/null
  ninja -C build >/dev/null
}
slice() { # SEED AUG: validated, as the sweep's overrides
  [[ $1 =~ ^[0-9]+$ ]] || { echo "paper.sh: seed '$1' is not a number" >&2; exit 2; }
  [[ $2 =~ ^S[1-4]$ ]] || { echo "paper.sh: aug '$2' is not one of S1..S4" >&2; exit 2; }
}
cmd=${1:-}
case $cmd in
plan | part)
  [[ $# -eq 3 ]] || usage
  slice "$2" "$3"
  build
  db=parts/paper-s$2-$3.db
  mkdir -p parts
  if [[ $cmd == plan ]]; then
    exec ./build/rethink sweep "$exp" -s "seed=$2" -s "aug=$3" --db "$db" --dry-run
  fi
  cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
  start=$(date -u +%FT%TZ)
  ./build/rethink sweep "$exp" -s "seed=$2" -s "aug=$3" --db "$db" -j 2
  printf '| seed %s, %s | `scripts/paper.sh part %s %s` | %s | %s | %s | %s |\n' "$2" "$3" "$2" \
    "$3" "$cpu" "$start" "$(date -u +%FT%TZ)" "$(git rev-parse --short HEAD)" >>"$pub/PARTS.md"
  echo "part seed $2 $3 finished: $db (logged in $pub/PARTS.md)"
  ;;
publish)
  shift
  build
  parts=("$@")
  [[ ${#parts[@]} -gt 0 ]] || parts=(parts/*.db)
  [[ -e ${parts[0]} ]] || { echo "paper.sh: no parts to publish (run: scripts/paper.sh part SEED AUG)" >&2; exit 2; }
  for p in "${parts[@]}"; do ./build/rethink merge "$p" --db "$pub/results.db"; done
  # the published copy carries the trials only: compacted, no WAL beside it
  sqlite3 "$pub/results.db" 'PRAGMA journal_mode = DELETE; VACUUM;' >/dev/null
  rc=0 # check exits 1 when a claim fails and 3 when one is inconclusive: verdicts, not errors
  ./build/rethink check experiments/paper.claims --db "$pub/results.db" --study paper \
    --json >"$pub/claims.txt" || rc=$?
  [[ $rc -eq 0 || $rc -eq 1 || $rc -eq 3 ]] || exit $rc
  ./build/rethink report --db "$pub/results.db" --study paper --out "$pub"
  echo "report: $pub/index.html (and report.md, claims.txt)"
  ;;
*) usage ;;
esac
