#!/usr/bin/env bash
# The other kinds of backbone (issue 23) from the command line:
#   1. on databases shaped like the paper's Tables 3 and 4 (make_study_db --kinds 1), every
#      claim of experiments/stronger.claims and experiments/simclr.claims — one or more per
#      new arm — HOLDS (exit 0); with every gain of the new arms reversed (--kinds -1) every
#      claim about a new arm FAILS (exit 1), so each can fail;
#   2. the report shows the new arms, in the arm table's colours and points;
#   3. with --sweep: every new arm trains in the tiny experiment (a copy of
#      experiments/tiny.ini): its trials finish, each links a backbone of its kind (the
#      artifact's meta says which, with its CPU seconds), the students and controls their
#      teacher; the dry run costs the backbones' pre-training.
# Usage: kinds_test.sh RETHINK MAKE_STUDY_DB EXPERIMENTS_DIR [--sweep]
set -u
rethink=$1 mkdb=$2 exp=$3 sweep=${4:-}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cd "$d" || exit 1
cp "$exp"/*.ini "$exp"/*.claims . && exp=$d
fail() { echo "FAIL: $*"; exit 1; }
q() { sqlite3 "$1" "$2"; }

if [ "$sweep" != "--sweep" ]; then
  for st in stronger simclr; do
    "$mkdb" k.db --study $st --seeds 8 --kinds 1 --controls 1 >/dev/null || fail "make_study_db $st"
    "$mkdb" r.db --study $st --seeds 8 --kinds -1 --controls 1 >/dev/null || fail "make_study_db $st reversed"
  done
  # claim -> the new arm(s) it judges
  for c in stronger simclr; do
    "$rethink" check $c.claims --db k.db >out.txt 2>&1; rc=$?
    [ $rc -eq 0 ] || { cat out.txt; fail "$c.claims on the paper's numbers exited $rc, expected 0"; }
    "$rethink" check $c.claims --db r.db >rev.txt 2>&1; rc=$?
    [ $rc -eq 1 ] || { cat rev.txt; fail "$c.claims on reversed numbers exited $rc, expected 1"; }
  done
  for claim in stronger_backbone_beats_plain_at_20 selftrain_helps_on_stronger_backbone \
               stronger_pseudo_labels_beat_their_control simclr_no_better_than_supervised_at_100 \
               simclr_hurts_at_100 selftrain_helps_on_simclr simclr_pseudo_labels_beat_their_control; do
    [ "$(q k.db "select verdict from claims_latest where name = '$claim'")" = HOLDS ] || fail "$claim does not hold on the paper's numbers"
    [ "$(q r.db "select verdict from claims_latest where name = '$claim'")" = FAILS ] || fail "$claim does not fail on reversed numbers"
  done
  # every new arm is judged by a claim of its study's file
  for arm in 'pretrain++' 'pretrain+++selftrain' 'pretrain+++continue' simclr simclr+selftrain simclr+continue; do
    grep -qE "^[ab] = $(printf '%s' "$arm" | sed 's/+/\\+/g')\$" stronger.claims simclr.claims || fail "no claim about $arm"
  done
  # the report: the new arms in their rows, colours and points
  "$rethink" report --db k.db --study stronger --out rep >rep.txt 2>&1 || { cat rep.txt; fail "report exited $?"; }
  for arm in 'pretrain++' 'pretrain+++selftrain' 'pretrain+++continue'; do
    grep -qF "| $arm |" rep/report.md || fail "report.md has no row of $arm"
  done
  if command -v gnuplot >/dev/null; then
    grep -q '"#332288" pt 4 ' rep/ap_vs_fraction.gp || fail "pretrain++ not in its colour and point"
    "$rethink" report --db k.db --study simclr --out reps >rep.txt 2>&1 || fail "simclr report"
    grep -q '"#E69F00" pt 6 ' reps/ap_vs_aug.gp || fail "simclr not in its colour and point"
  fi
  exit 0
fi

# --sweep: each new arm on the tiny experiment (one cell), with its teachers in the grid
arms='pretrain++,pretrain+++selftrain,pretrain+++continue,simclr,simclr+selftrain,simclr+continue'
"$rethink" sweep tiny.ini --dry-run --db dry.db -s arm=$arms -s aug=S1 -s fraction=1.0 -s seed=1 >dry.txt 2>&1 || { cat dry.txt; fail "dry run exited $?"; }
grep -Eq 'of it [0-9.]+ min pre-training 2 backbones' dry.txt || { cat dry.txt; fail "the dry run does not cost the 2 backbones"; }
"$rethink" sweep tiny.ini --db a.db --quiet -s arm=$arms -s aug=S1 -s fraction=1.0 -s seed=1 >out.txt 2>&1 || { cat out.txt; fail "sweep exited $?"; }
[ "$(q a.db "select count(*) from trials where status = 'finished'")" -eq 6 ] || fail "expected 6 finished trials"
for kind in strong simclr; do
  [ "$(q a.db "select count(*) from artifacts where kind = 'backbone' and json_extract(meta, '$.backbone') = '$kind' and cpu_s > 0 and path like '%/backbone-$kind-%'")" -eq 1 ] || fail "no $kind backbone with its cost"
  [ "$(q a.db "select count(*) from trial_artifacts x join artifacts a on a.hash = x.artifact_hash where x.role = 'backbone' and json_extract(a.meta, '$.backbone') = '$kind'")" -eq 3 ] || fail "$kind backbone links"
done
[ "$(q a.db "select count(*) from trial_artifacts where role = 'teacher'")" -eq 4 ] || fail "teacher links"
[ "$(q a.db "select count(*) from trials where arm like '%+selftrain' and pseudo_cpu_s > 0")" -eq 2 ] || fail "pseudo-labelling"
ls artifacts/backbone-*.ckpt 2>/dev/null | grep -qv -- '-strong-\|-simclr-' && fail "a plain backbone was made for no plain arm"
exit 0
