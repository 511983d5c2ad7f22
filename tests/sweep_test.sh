#!/usr/bin/env bash
# The sweep's guarantees, end to end on the tiny study (experiments/tiny.ini):
#   1. the grid runs with -j 2 and every trial finishes;
#   2. running it again starts no trial;
#   3. a sweep killed with SIGKILL mid-run resumes: every trial ends finished exactly once
#      and the database passes PRAGMA integrity_check and the store's own checks;
#   4. a bad experiment file is a clear error naming file, line and key.
# Usage: sweep_test.sh RETHINK EXPERIMENTS_DIR
set -u
rethink=$1 exp=$2
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cd "$d" || exit 1
# the experiment files copied here: their data and artifacts (relative to them) too
cp "$exp"/*.ini "$exp"/*.claims . && exp=$d
fail() { echo "FAIL: $*"; exit 1; }
q() { sqlite3 "$1" "$2"; }

"$rethink" sweep "$exp/tiny.ini" -j 2 --db a.db --quiet >out1.txt 2>&1 || { cat out1.txt; fail "sweep exited $?"; }
n=$(q a.db "select count(*) from trials where status = 'finished'")
[ "$n" -eq 32 ] || fail "expected 32 finished trials, got $n"
[ "$(q a.db "select count(*) from results")" -eq 32 ] || fail "results missing"
"$rethink" sweep "$exp/tiny.ini" -j 2 --db a.db >out2.txt 2>&1 || fail "second sweep exited $?"
grep -q "nothing to do" out2.txt || { cat out2.txt; fail "second sweep did not say nothing to do"; }
[ "$(q a.db "select max(attempts) from trials")" -eq 1 ] || fail "a trial ran twice"
# every arm recorded what it is: self-training cells their teacher and pseudo-labelling cost
for arm in scratch pretrain selftrain pretrain+selftrain; do
  [ "$(q a.db "select count(*) from trial_results where arm = '$arm'")" -eq 8 ] || fail "arm $arm rows"
done
[ "$(q a.db "select count(*) from trials where arm like '%selftrain' and pseudo_cpu_s > 0")" -eq 16 ] || fail "pseudo-labelling cost missing"
[ "$(q a.db "select count(*) from trials t join trial_deps d on d.trial_id = t.id")" -eq 16 ] || fail "teacher links missing"
[ "$(q a.db "select count(distinct data_hash) from trials")" -eq 3 ] || fail "expected 3 labelled subsets (a seed per 50 % subset, one 100 % set)"
ls artifacts/backbone-*.ckpt >/dev/null 2>&1 || fail "no pre-trained backbone artifact"
# every artifact is recorded with its cost and linked to the trials that used it: a checkpoint
# per trial (made by it), a backbone per seed (pretrain and pretrain+selftrain link it and
# carry its source accuracy), a teacher and pseudo-labels per student
[ "$(q a.db "select count(*) from artifacts a join trials t on t.id = a.trial_id where a.kind = 'checkpoint' and a.path like '%trial-' || substr(t.config_hash, 1, 16) || '.ckpt'")" -eq 32 ] || fail "checkpoint artifacts"
[ "$(q a.db "select count(*) from artifacts where kind = 'backbone' and cpu_s > 0 and json_extract(meta, '$.source_acc') >= 0")" -eq 2 ] || fail "one backbone per seed, with its CPU seconds and source accuracy"
for role in backbone teacher pseudo; do
  [ "$(q a.db "select count(*) from trial_artifacts where role = '$role'")" -eq 16 ] || fail "$role links: $(q a.db "select role, count(*) from trial_artifacts group by 1")"
done
[ "$(q a.db "select count(*) from trials t join trial_artifacts x on x.trial_id = t.id and x.role = 'backbone' where t.arm like 'pretrain%'")" -eq 16 ] || fail "backbone links of the pretrain arms"
[ "$(q a.db "select count(distinct trial_id) from metrics where name = 'backbone.source_acc'")" -eq 16 ] || fail "source accuracy on every trial descended from a backbone"
[ "$(q a.db "select count(*) from pseudo_labels p join artifacts a on a.hash = p.artifact_hash where a.cpu_s > 0 and p.threshold = 0.05 and p.boxes >= 0")" -eq 16 ] || fail "pseudo-label stats"
for f in $(q a.db "select path from artifacts"); do [ -f "$f" ] && [ -f "$f.record.json" ] || fail "artifact $f or its record missing"; done
# another database on the same artifacts folder: `rethink train` reuses the finished teacher's
# checkpoint (never trains or rewrites it) and a student with another threshold makes its own
# pseudo-labels
teacher="arm = 'scratch' and aug = 'S1' and fraction = 1.0 and seed = 1"
ck=$(q a.db "select a.path from artifacts a join trials t on t.id = a.trial_id where t.$teacher and a.kind = 'checkpoint'")
before=$(stat -c '%i %Y' "$ck"; sha256sum "$ck")
"$rethink" train --config "$exp/tiny.ini" -s arm=selftrain -s aug=S1 -s fraction=1.0 -s seed=1 \
  -s selftrain.threshold=0.5 --db other.db >out7.txt 2>&1 || { cat out7.txt; fail "train in another database exited $?"; }
grep -q "teacher .*: reusing $ck" out7.txt || { cat out7.txt; fail "the teacher was not reused"; }
[ "$(stat -c '%i %Y' "$ck"; sha256sum "$ck")" = "$before" ] || fail "the teacher's checkpoint was rewritten"
[ "$(q other.db "select cpu_s from trials where $teacher")" = "$(q a.db "select cpu_s from trials where $teacher")" ] || fail "the reused teacher's cost is not its record's"
[ "$(q other.db "select count(*) from metrics m join trials t on t.id = m.trial_id where t.arm = 'scratch' and m.name = 'loss'")" -eq 2 ] || fail "the reused teacher's curve"
[ "$(q other.db "select count(*) from artifacts where kind = 'pseudo-labels' and json_extract(meta, '$.threshold') = 0.5")" -eq 1 ] || fail "the student's own pseudo-labels"
[ "$(ls artifacts | grep -c '^pseudo-[0-9a-f]*\.json$')" -eq 17 ] || fail "expected a 17th pseudo-label file"
# every trial records the revision of the build that ran it (what --version prints)
rev=$("$rethink" --version | sed -n 's/^rethink [^ ]* (\(.*\))$/\1/p')
[ -n "$rev" ] || fail "--version names no revision"
if [ "$rev" != unknown ]; then
  [ "$(q a.db "select count(*) from trials where git_rev = '$rev'")" -eq 32 ] || fail "trials do not record git_rev $rev"
fi
# looking at results
[ "$("$rethink" ls --db a.db | wc -l)" -eq 33 ] || fail "rethink ls: expected a header and 32 rows"
"$rethink" show 1 --db a.db | grep -q "Ankle boot" || fail "rethink show: per-category AP names"
h=$(q a.db "select substr(config_hash, 1, 10) from trials where id = 3")
"$rethink" show "$h" --db a.db | grep -q "^trial 3 " || fail "rethink show by hash prefix"
[ "$("$rethink" export --csv --db a.db | wc -l)" -eq 33 ] || fail "rethink export --csv rows"
"$rethink" ls --db nope.db 2>/dev/null && fail "rethink ls on a missing database succeeded"
[ ! -e nope.db ] || fail "rethink ls created a database"

# the dry run times this machine's training steps: one rate per step shape (supervised
# trials step on 8 images, students on 8 labelled + 8 pseudo); its estimate is the training
# time spread over the workers (both printed from one measurement, so comparable), workers
# beyond the cores do not count, and on a finished study there is nothing to time
cores=$(getconf _NPROCESSORS_ONLN)
"$rethink" sweep "$exp/tiny.ini" --dry-run --db dry.db -s train.epochs=20000 -j 2 >dry2.txt 2>&1 || { cat dry2.txt; fail "dry run exited $?"; }
grep -q "img/s (f32, 8 img/step, 1 thread); [0-9]* img/s (f32, 16 img/step, 1 thread)$" dry2.txt || { cat dry2.txt; fail "dry run: expected the rates of two step shapes"; }
est=$(sed -n 's/^estimated \([0-9.]*\) min at -j 2.* (\([0-9.]*\) min of training on one worker.*/\1 \2/p' dry2.txt)
[ -n "$est" ] || { cat dry2.txt; fail "dry run: no estimate line"; }
par=$(( cores < 2 ? 1 : 2 ))
awk -v e="${est% *}" -v t="${est#* }" -v p="$par" 'BEGIN { exit !(e > 0 && (e - t / p) ^ 2 <= (0.01 * e + 1) ^ 2) }' || fail "dry run: estimate '$est' is not the training time over $par workers"
"$rethink" sweep "$exp/tiny.ini" --dry-run --db dry.db -s train.epochs=20000 -j 64 >dry64.txt 2>&1 || fail "dry run -j 64 exited $?"
grep -q "^estimated [0-9.]* min at -j 64 on $cores cores" dry64.txt || { cat dry64.txt; fail "dry run: -j 64 should be limited by the $cores cores"; }
"$rethink" sweep "$exp/tiny.ini" --dry-run --db a.db >dry0.txt 2>&1 || fail "dry run on a finished study exited $?"
grep -q ", 0 to run$" dry0.txt && ! grep -q "estimated" dry0.txt || { cat dry0.txt; fail "dry run on a finished study estimated something"; }

# kill -9 the whole sweep (parent and workers) mid-run, then resume
"$rethink" sweep "$exp/tiny.ini" -j 2 --db b.db -s train.epochs=40 --quiet >out3.txt 2>&1 &
pid=$!
# waits for the moment (a trial running, two finished), however long a loaded machine takes
while :; do
  kill -0 "$pid" 2>/dev/null || { cat out3.txt; fail "the sweep ended before the moment to kill it"; }
  sleep 0.2
  r=$(q b.db "select count(*) from trials where status = 'running'" 2>/dev/null || echo 0)
  f=$(q b.db "select count(*) from trials where status = 'finished'" 2>/dev/null || echo 0)
  [ "${r:-0}" -gt 0 ] && [ "${f:-0}" -ge 2 ] && break
done
kill -9 $(pgrep -P "$pid") "$pid" 2>/dev/null  # the sweep and its workers, mid-trial
wait "$pid" 2>/dev/null
before=$(q b.db "select count(*) from trials where status = 'finished'")
killed=$(q b.db "select count(*) from trials where status = 'running'")
[ "$before" -lt 32 ] || fail "the sweep finished before it could be killed (make the trials longer)"
"$rethink" sweep "$exp/tiny.ini" -j 2 --db b.db -s train.epochs=40 >out4.txt 2>&1 || { cat out4.txt; fail "resumed sweep exited $?"; }
[ "$killed" -eq 0 ] || grep -q "resuming: $killed trial" out4.txt || { cat out4.txt; fail "resume did not reclaim the $killed killed trial(s)"; }
[ "$(q b.db "select count(*) from trials where status = 'finished'")" -eq 32 ] || fail "not all finished after resume"
[ "$(q b.db "pragma integrity_check")" = ok ] || fail "integrity_check"
[ "$(q b.db "select count(*) from trials t left join results r on r.trial_id = t.id where t.status = 'finished' and r.trial_id is null")" -eq 0 ] || fail "a finished trial without results"

# a dev split: held out of the labelled subset, evaluated every train.dev_every steps, the best
# checkpoint kept; a different subset from the same seed without one
"$rethink" train --config "$exp/tiny.ini" -s arm=scratch -s aug=S1 -s fraction=1.0 -s seed=1 \
  -s train.dev=12 -s train.dev_every=10 -s train.epochs=4 \
  --db a.db --quiet >out5.txt 2>&1 || { cat out5.txt; fail "train with a dev split exited $?"; }
dev_trial="(select id from trials where config like '%\"train.dev\":\"12\"%')"
# 36 images at batch 8: 5 steps an epoch; dev at steps 10 and 20 (epochs 2 and 4)
[ "$(q a.db "select group_concat(step) from metrics where trial_id = $dev_trial and name = 'dev.AP'")" = "2,4" ] || fail "dev evaluations at epochs 2,4"
[ "$(q a.db "select count(*) from metrics where trial_id = $dev_trial and name = 'select.epoch' and value in (2, 4)")" -eq 1 ] || fail "selected epoch missing"
[ "$(q a.db "select count(distinct data_hash) from trials where seed = 1 and fraction = 1.0")" -eq 2 ] || fail "the dev split did not change the labelled subset"

# a student's budget is selftrain.steps_scale times its teacher's
"$rethink" train --config "$exp/tiny.ini" -s arm=selftrain -s aug=S1 -s fraction=1.0 -s seed=2 \
  -s train.epochs=4 -s selftrain.steps_scale=0.5 --db a.db --quiet >out6.txt 2>&1 || { cat out6.txt; fail "scaled student exited $?"; }
st="(select id from trials where config like '%\"selftrain.steps_scale\":\"0.5\"%')"
[ "$(q a.db "select max(step) from metrics where trial_id = $st and name = 'loss'")" = 2 ] || fail "student epochs with steps_scale 0.5"
[ "$(q a.db "select max(m.step) from metrics m join trial_deps d on d.depends_on = m.trial_id where d.trial_id = $st and m.name = 'loss'")" = 4 ] || fail "teacher epochs"

# a student whose teacher left no pseudo box (keep_empty = 0) trains on labelled images only;
# after each dev evaluation it must be re-planned for that batch, not labelled + pseudo
"$rethink" sweep "$exp/tiny.ini" -s arm=selftrain -s aug=S1 -s fraction=1.0 -s seed=1 \
  -s selftrain.threshold=1 -s selftrain.keep_empty=0 -s train.dev=8 -s train.dev_every=1 \
  -s train.epochs=3 --db e.db --quiet >out5.txt 2>&1 || { cat out5.txt; fail "empty pseudo pool sweep exited $?"; }
[ "$(q e.db "select count(*) from trials where attempts = 1 and error is null and status = 'finished'")" -eq 2 ] \
  || { q e.db "select arm, attempts, error from trials"; fail "student without pseudo boxes"; }

# train.precision = auto: decided once for this CPU and step shape (timed by the first worker
# that needs it, under a lock), so both workers train every trial in the same precision
"$rethink" sweep "$exp/tiny.ini" -s arm=scratch -s fraction=1.0 -s train.precision=auto -j 2 \
  --db p.db --artifacts art-p --quiet >out8.txt 2>&1 || { cat out8.txt; fail "auto precision sweep exited $?"; }
[ "$(q p.db "select count(*) || ' ' || count(distinct precision) from trials where precision in ('f32', 'bf16')")" = "4 1" ] \
  || { q p.db "select worker, precision from trials"; fail "the workers did not agree on one precision"; }
[ "$(ls art-p/precision-*.json | wc -l)" -eq 1 ] || fail "one precision decision"
[ "$(q p.db "select precision from trials limit 1")" = "$(sed -n 's/.*"precision": "\([a-z0-9]*\)".*/\1/p' art-p/precision-*.json)" ] || fail "the trials' precision is not the decision's"

# a dataset folder built from another recipe is an error naming the key, never other data
out=$("$rethink" sweep "$exp/tiny.ini" -s data.noise=3 --db d.db 2>&1); rc=$?
[ $rc -ne 0 ] && echo "$out" | grep -q "built with noise = 6, the experiment has data.noise = 3" || fail "recipe mismatch: rc $rc: $out"

printf '[study]\nname = x\n[train]\nepochz = 3\n' > bad.ini
out=$("$rethink" sweep bad.ini --db c.db 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "bad.ini:4: key 'train.epochz': unknown key" || fail "bad key: rc $rc: $out"
printf '[study]\nname = x\n[grid]\narm = scratch, nope\n' > bad2.ini
out=$("$rethink" sweep bad2.ini --db c.db 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "bad2.ini:4: key 'trial.arm'" || fail "bad grid value: rc $rc: $out"
echo "sweep: killed with $before of 32 finished and $killed running; resumed; all guarantees hold"
