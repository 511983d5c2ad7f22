#!/usr/bin/env bash
# rethink import and rethink predict, end to end (issue 20 §2 and §3):
#   1. a small CSV table imports as finished trials; report and a claims check read them as
#      native ones; the same table again, and the same trials as JSON (numbers spelled
#      differently), change nothing;
#   2. a conflicting row (same trial, other AP), a bad cell, and a conflict after good rows:
#      exit 1 naming file, line and column, and nothing recorded (one transaction);
#   3. on a real trial of the tiny study (a COPY of experiments/tiny.ini): predict on its
#      val images writes COCO results that `rethink eval` scores to the trial's 12 recorded
#      stats exactly, with and without --ann (the same file); import --gt/--dt records
#      the same stats; `rethink export --csv` of the study imports and re-exports the same
#      rows (round trip).
# Usage: import_test.sh RETHINK EXPERIMENTS_DIR
set -u
rethink=$1 exp=$2
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cd "$d" || exit 1
cp "$exp"/tiny.ini "$exp"/augment.ini . || exit 1
fail() { echo "FAIL: $*"; exit 1; }
expect() { # expect CODE CMD...: runs CMD, checks its exit status
  local want=$1; shift
  "$@" >out.txt 2>err.txt; local got=$?
  [ "$got" -eq "$want" ] || { cat out.txt err.txt; fail "'$*' exited $got, expected $want"; }
}
ntrials() { sqlite3 "$1" "select count(*) from trials"; }

# ---- 1. a table from elsewhere
cat > ext.csv <<'EOF'
arm,aug,fraction,seed,AP,AP50,train.lr,param:backbone,train_loss
scratch,S1,0.5,1,0.300,0.50,0.1,resnet,1.5
scratch,S1,0.5,2,0.310,0.52,0.1,resnet,1.4
scratch,S1,0.5,3,0.290,0.49,0.1,resnet,1.6
selftrain,S1,0.5,1,0.330,0.55,0.1,resnet,1.2
selftrain,S1,0.5,2,0.341,0.56,0.1,resnet,1.1
selftrain,S1,0.5,3,0.319,0.53,0.1,resnet,1.3
EOF
expect 0 "$rethink" import ext.csv --study ext --db e.db
grep -q "6 recorded in study ext, 0 already there" out.txt || { cat out.txt; fail "import count"; }
[ "$(sqlite3 e.db "select count(*) from trial_results where study = 'ext'")" = 6 ] || fail "not 6 finished trials"
[ "$(sqlite3 e.db "select value from params p join trials t on t.id = p.trial_id where t.seed = 2 and t.arm = 'scratch' and key = 'backbone'")" = resnet ] ||
  fail "param:backbone not a parameter"
[ "$(sqlite3 e.db "select value from metrics m join trials t on t.id = m.trial_id where t.seed = 3 and t.arm = 'selftrain' and name = 'train_loss'")" = 1.3 ] ||
  fail "train_loss not a metric"
sqlite3 e.db "select worker from trials where seed = 1 and arm = 'scratch'" | grep -qx "import ext.csv:2" || fail "worker names file and line"
id=$(sqlite3 e.db "select id from trials where seed = 1 and arm = 'scratch'")
expect 0 "$rethink" show "$id" --db e.db
grep -q "(AP) @\[ IoU=0.75 .* = not recorded" out.txt || { cat out.txt; fail "show: a stat the table did not give is not 'not recorded'"; }
before=$("$rethink" export --csv --db e.db | sha256sum)
expect 0 "$rethink" import ext.csv --study ext --db e.db
grep -q "0 recorded in study ext, 6 already there" out.txt || { cat out.txt; fail "second import changed something"; }
cat > ext.json <<'EOF'
[
  {"arm": "scratch", "aug": "S1", "fraction": 5e-1, "seed": 1, "AP": 0.3, "AP50": 0.5,
   "train.lr": 0.10, "param:backbone": "resnet", "train_loss": 1.5},
  {"arm": "selftrain", "aug": "S1", "fraction": "0.50", "seed": 3, "AP": 0.319, "AP50": 0.53,
   "train.lr": "1e-1", "param:backbone": "resnet", "train_loss": null}
]
EOF
expect 0 "$rethink" import ext.json --study ext --db e.db
grep -q "0 recorded in study ext, 2 already there" out.txt || { cat out.txt; fail "JSON rows are other trials than the CSV's"; }
[ "$("$rethink" export --csv --db e.db | sha256sum)" = "$before" ] || fail "re-importing changed the database"
printf '[claim.st]\ntype = delta\na = selftrain\nb = scratch\nsign = positive\n' > st.claims
expect 0 "$rethink" check st.claims --db e.db --study ext
grep -q "^HOLDS *st " out.txt || { cat out.txt; fail "claim on imported trials"; }
expect 0 "$rethink" report --db e.db --study ext --out rep
grep -q "selftrain" rep/report.md && grep -q "| scratch | 30.00 ± " rep/report.md || { cat rep/report.md; fail "report of imported trials"; }

# ---- 2. bad input records nothing
sed 's/^selftrain,S1,0.5,2,0.341/selftrain,S1,0.5,2,0.342/' ext.csv > conflict.csv
expect 1 "$rethink" import conflict.csv --study ext --db e.db
grep -q "conflict.csv:6: trial .* (import ext.csv:6) is already finished with different results: AP 0.341 recorded, 0.342 here" err.txt ||
  { cat err.txt; fail "conflict not named"; }
printf 'arm,aug,fraction,seed,AP\nscratch,S4,1.0,1,0.4\nscratch,S4,1.0,x,0.4\n' > bad.csv
expect 1 "$rethink" import bad.csv --study ext --db e.db
grep -q "bad.csv:3: column seed: expected a seed" err.txt || { cat err.txt; fail "bad cell not named"; }
printf 'arm,aug,fraction,seed,AP,train.lr,param:backbone\nscratch,S4,1.0,1,0.4,0.1,resnet\nscratch,S1,0.5,1,0.9,0.1,resnet\n' > late.csv
expect 1 "$rethink" import late.csv --study ext --db e.db
grep -q "late.csv:3: trial .* different results: AP 0.3 recorded, 0.9 here" err.txt || { cat err.txt; fail "late conflict not named"; }
printf 'arm,aug,fraction,seed,AP\nscratch,S4,1.0,1,45.2\n' > points.csv
expect 1 "$rethink" import points.csv --study ext --db e.db
grep -q "points.csv:2: column AP: expected a fraction in \[0, 1\]" err.txt || { cat err.txt; fail "AP in points not refused"; }
[ "$(ntrials e.db)" = 6 ] || fail "a failed import recorded something"
[ "$("$rethink" export --csv --db e.db | sha256sum)" = "$before" ] || fail "a failed import changed the database"
expect 2 "$rethink" import ext.csv --db e.db
grep -q -- "--study" err.txt || fail "--study required"
expect 2 "$rethink" import --gt x.json --study ext --db e.db

# ---- 3. a real trial: predict, eval, import --gt/--dt, export round trip
expect 0 "$rethink" train --config tiny.ini -s arm=scratch -s aug=S1 -s fraction=1.0 -s seed=1 --db t.db
val=data/tiny-scenes/val ann=data/tiny-scenes/annotations/instances_val.json
recorded=$(sqlite3 t.db "select printf('%.17g', AP) from results")
expect 0 "$rethink" predict 1 --db t.db --images $val --ann $ann --out p.json
grep -q "detections on 16 images -> p.json" out.txt || { cat out.txt; fail "predict's summary"; }
expect 0 "$rethink" predict 1 --db t.db --images $val --out q.json
cmp -s p.json q.json || fail "without --ann, image ids from the sorted file list should be val's"
expect 0 "$rethink" eval --gt $ann --dt p.json --json
# all 12 stats, as the store has them (both printed %.17g by C; an undefined stat, eval's -1,
# is an empty field in the export)
tail -n1 out.txt | python3 -c 'import json,sys; print(",".join("" if v == -1 else "%.17g" % v for v in json.load(sys.stdin).values()))' > pred.txt
"$rethink" export --csv --db t.db | tail -n1 | cut -d, -f16- > stored.txt
cmp -s pred.txt stored.txt || { cat pred.txt stored.txt; fail "predict's results do not score to the trial's recorded stats"; }
expect 0 "$rethink" import --gt $ann --dt p.json -s arm=scratch -s aug=S1 -s fraction=1.0 -s seed=1 --study scored --db t.db
[ "$(sqlite3 t.db "select printf('%.17g', AP) from trial_results where study = 'scored'")" = "$recorded" ] || fail "import --dt AP"
[ "$(sqlite3 t.db "select count(*) from category_results c join trial_results t on t.trial_id = c.trial_id where study = 'scored'")" = 10 ] ||
  fail "import --dt per-category AP"
expect 2 "$rethink" predict 1 --db t.db --images $val
grep -q -- "--out" err.txt || fail "predict --out required"
expect 1 "$rethink" predict 1 --db e.db --images $val --out z.json
grep -q "no checkpoint recorded" err.txt || { cat err.txt; fail "an imported trial has no checkpoint"; }
# round trip: export the tiny study, import it into a new database, export again
"$rethink" export --csv --db t.db --study tiny > a.csv || fail "export"
expect 0 "$rethink" import a.csv --study tiny --db r.db
"$rethink" export --csv --db r.db --study tiny > b.csv || fail "export of the imported study"
# the same rows but for the bookkeeping: id, config_hash, attempts
cut -d, -f2,4-8,10- a.csv > a.cut && cut -d, -f2,4-8,10- b.csv > b.cut
cmp -s a.cut b.cut || { diff a.cut b.cut; fail "export -> import -> export is not the same table"; }
echo "import and predict: ok"
