#!/usr/bin/env bash
# A published study in parts (issue 19): experiments/STUDY.ini (STUDY=paper unless the
# environment says otherwise: STUDY=joint, stronger, simclr, generality, segment, ...) is run
# one slice at a time (a seed, an augmentation policy and optionally a labelled fraction:
# every pair a claim compares — same cell, same seed — is in one slice, so it runs on one
# machine), each slice into its own database, and the finished parts are merged by config
# hash into reports/STUDY/results.db, judged by experiments/STUDY.claims and reported. A part
# that is stopped resumes where it stopped; a finished trial never trains again (nor one
# another study trained with the same config: their checkpoints are shared artifacts).
#
#   scripts/paper.sh plan SEED AUG [FRACTION]   what the part will train and how long
#   scripts/paper.sh part SEED AUG [FRACTION]   runs the part into parts/STUDY-sSEED-AUG[-F].db
#                                      and logs its command, CPU and times in reports/STUDY/PARTS.md
#   (PAPER_JOBS=N sets the part's workers, default 2: 1 leaves a core for other work)
#   scripts/paper.sh publish [DB...]   merges the parts (default: parts/STUDY-*.db) and the
#                                      published database, checks the claims, writes the
#                                      report to reports/STUDY/ (for paper, budget.md: the
#                                      fixed-budget run's deltas beside these, scripts/budget.sh;
#                                      baseline.ini: rethink baseline save of them)
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '11,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
study=${STUDY:-paper}
[[ $study =~ ^[A-Za-z0-9_-]+$ ]] || { echo "paper.sh: STUDY '$study' is not a file name" >&2; exit 2; }
exp=experiments/$study.ini claims=experiments/$study.claims pub=reports/$study
for f in "$exp" "$claims"; do
  [[ -f $f ]] || { echo "paper.sh: STUDY=$study: no $f" >&2; exit 2; }
done
# the study's name as the experiment file gives it ([study] name), which its trials carry
name=$(awk -F' *= *' '/^\[/ { sec = $0 } sec == "[study]" && $1 == "name" { print $2; exit }' "$exp")
[[ -n $name ]] || { echo "paper.sh: $exp has no [study] name" >&2; exit 2; }
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
  db=parts/$study-s$2-$3
  if [[ -n ${4:-} ]]; then sel+=(-s "fraction=$4"); db+=-$4; fi
  db+=.db
  mkdir -p parts
  # the published parts inform a new part's estimates of plateau trials (read-only); a
  # study not yet published borrows the paper study's (the same arms' steps)
  hist=$pub/results.db
  [[ -e $hist ]] || hist=reports/paper/results.db
  [[ ! -e $hist ]] || sel+=(--history "$hist")
  [[ $cmd == part ]] || exec ./build/rethink sweep "$exp" "${sel[@]}" --db "$db" --dry-run
  cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
  start=$(date -u +%FT%TZ) rev=$(git rev-parse --short HEAD)
  ./build/rethink sweep "$exp" "${sel[@]}" --db "$db" -j "${PAPER_JOBS:-2}"
  mkdir -p "$pub"
  [[ -e $pub/PARTS.md ]] || printf '%s\n' "# The parts of the published study $name" "" \
    "\`scripts/paper.sh part SEED AUG [FRACTION]\` (with \`STUDY=$study\`) ran each slice of" \
    "\`$exp\` into its own database and added its line here when it finished;" \
    "\`scripts/paper.sh publish\` merged them by config hash into \`results.db\` and wrote this" \
    "folder's report. Every pair a claim compares (same cell, same seed) is inside one part, so" \
    "it ran on one machine; each trial also records its CPU (\`trials.cpu\`)." "" \
    "| part | CPU | started (UTC) | finished (UTC) | commit |" "|---|---|---|---|---|" >"$pub/PARTS.md"
  printf '| `scripts/paper.sh part %s` | %s | %s | %s | %s |\n' "${*:2}" "$cpu" "$start" \
    "$(date -u +%FT%TZ)" "$rev" >>"$pub/PARTS.md"
  echo "part ${*:2} finished: $db (logged in $pub/PARTS.md)"
  ;;
publish)
  shift
  build
  parts=("$@")
  [[ ${#parts[@]} -gt 0 ]] || parts=(parts/"$study"-*.db)
  [[ -e ${parts[0]} ]] || { echo "paper.sh: no parts of $study to publish (run: STUDY=$study scripts/paper.sh part SEED AUG)" >&2; exit 2; }
  mkdir -p "$pub"
  for p in "${parts[@]}"; do ./build/rethink merge "$p" --db "$pub/results.db"; done
  rc=0 # check exits 1 when a claim fails and 3 when one is inconclusive: verdicts, not errors
  ./build/rethink check "$claims" --db "$pub/results.db" --study "$name" \
    --json >"$pub/claims.txt" || rc=$?
  [[ $rc -eq 0 || $rc -eq 1 || $rc -eq 3 ]] || exit $rc
  ./build/rethink report --db "$pub/results.db" --study "$name" --out "$pub"
  [[ $study != paper ]] ||
    scripts/budget.sh reports/paper-issue9/deltas.csv "$pub/deltas.csv" >"$pub/budget.md"
  # the regression baseline of what is published (rethink check --baseline, docs/CLAIMS.md)
  ./build/rethink baseline save --db "$pub/results.db" --study "$name" --out "$pub/baseline.ini" >/dev/null
  # the published copy is one file: compacted, no WAL or index beside it
  sqlite3 "$pub/results.db" 'PRAGMA journal_mode = DELETE; VACUUM;' >/dev/null
  echo "report: $pub/index.html (and report.md, claims.txt)"
  ;;
*) usage ;;
esac
