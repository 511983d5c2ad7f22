#!/usr/bin/env bash
# Does a change keep training bit-identical? Runs one fixed set of tiny trials (the plateau
# schedule with a dev split for all six arms at S4 100 %, and the fixed budget for three arms
# at S1 50 %) with each of two rethink binaries, on copies of experiments/tiny.ini, and
# compares every trial's AP and AP50 and every recorded loss, pseudo-loss and dev AP to the
# last digit. Used before merging a change to the training code into a study that is running.
# Both builds read the OLD build's experiment files (OLD_RETHINK's ../experiments when it
# sits in a checkout's build/, else this checkout's): keys added since are defaulted by the
# new build, not refused by the old one.
#   scripts/same-bits.sh OLD_RETHINK NEW_RETHINK     (a few minutes each; exit 1 if they differ)
set -euo pipefail
[[ $# -eq 2 ]] || { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
exps=$root/experiments
old_exps=$(cd "$(dirname "$(realpath "$1")")/.." && pwd)/experiments
[[ -f $old_exps/tiny.ini && -f $old_exps/augment.ini ]] && exps=$old_exps
echo "experiment files from $exps" >&2
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
run() { # run RETHINK OUT: the fixed trials' numbers, one line each
  local w="$d/$2"
  mkdir -p "$w" && cp "$exps/tiny.ini" "$exps/augment.ini" "$w/"
  (cd "$w" &&
    "$1" sweep tiny.ini -s arm=scratch,pretrain,selftrain,continue,pretrain+selftrain,pretrain+continue \
      -s aug=S4 -s fraction=1.0 -s seed=1 -s train.dev=8 -s train.schedule=plateau -s train.steps=60 \
      -s train.dev_every=10 -s train.patience=2 --db r.db -j 1 --quiet >/dev/null &&
    "$1" sweep tiny.ini -s arm=scratch,selftrain,pretrain+selftrain -s aug=S1 -s fraction=0.5 \
      -s seed=2 --db r.db -j 1 --quiet >/dev/null &&
    sqlite3 r.db "select arm, aug, seed, printf('%.17g', AP), printf('%.17g', AP50) from trial_results order by arm, aug, seed" &&
    sqlite3 r.db "select t.arm, t.aug, t.seed, m.name, m.step, printf('%.17g', m.value) from metrics m join trials t on t.id = m.trial_id where m.name in ('loss', 'loss.pseudo', 'dev.AP', 'select.dev.AP') order by t.arm, t.aug, t.seed, m.name, m.step") >"$d/$2.txt"
}
run "$(realpath "$1")" old
run "$(realpath "$2")" new
if cmp -s "$d/old.txt" "$d/new.txt"; then
  echo "same bits: $(wc -l <"$d/old.txt") numbers of 9 trials"
else
  diff "$d/old.txt" "$d/new.txt" | head -20
  echo "DIFFERENT: the two builds do not train the same bits" >&2
  exit 1
fi
