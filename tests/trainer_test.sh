#!/usr/bin/env bash
# An external trainer ([trainer] command, issue 20 §1) through `rethink sweep`, with
# tests/tiny_trainer.py (detections made from the val ground truth with seeded noise):
#   1. a grid of scratch and selftrain (a student after its teacher) at -j 2 finishes; each
#      trial's recorded AP is `rethink eval` of its {out}/detections.json on the val split;
#      metrics.json is recorded as metrics; the student's config names its teacher's {out};
#      stdout and stderr are kept in {out};
#   2. a trainer that exits non-zero, one that outlives trainer.timeout, one that writes
#      malformed detections and one that writes none each give a failed trial whose error
#      names the reason (and, for the exit, the end of its stderr); the timed-out trainer
#      and the child it started are gone;
#   3. the sweep's parent killed with -9 while two trainers run: the trainers and their
#      children end with the workers (nothing runs on as an orphan); the same command
#      resumes and every trial finishes once, AP again that of `rethink eval`;
#   4. a worker killed with -9: its trainer ends too (the kernel's parent-death signal);
#   5. the Slurm flow (--emit-slurm's job script, its array tasks run here at once as
#      cluster_test.sh runs them): stage-1 shards, stage-2 shards whose students find their
#      teachers' {out}, the merge: every trial finished once, AP that of `rethink eval`.
# With MPIRUN, instead: the grid of 1. under mpirun (3 ranks: rank 0 coordinates, ranks 1
# and 2 run the trainers) finishes with the same results as 1.'s -j 2 (tests/mpi_test.sh
# has the flags' reasons).
# Usage: trainer_test.sh RETHINK EXPERIMENTS_DIR TINY_TRAINER [MPIRUN]
set -u
rethink=$1 exp=$2 trainer=$3 mpirun=${4:-}
d=$(mktemp -d)
pid=""
# a failing case leaves no sweep behind (its trainers go with it)
trap '[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; wait; rm -rf "$d"' EXIT
cd "$d" || exit 1
cp "$exp"/augment.ini "$trainer" .
fail() { echo "FAIL: $*"; exit 1; }
q() { sqlite3 "$1" "$2"; }
cat >ext.ini <<'EOF'
[study]
name = ext
data = data/tiny-scenes

[data]
train = 48
val = 16
source = 48

[trainer]
command = python3 {dir}/tiny_trainer.py --config {config} --out {out}

[grid]
arm = scratch, selftrain
aug = S1
fraction = 0.5, 1.0
seed = 1
EOF
gt=data/tiny-scenes/annotations/instances_val.json
# every finished trial of db: its AP as recorded and as `rethink eval` scores its detections
ap_is_evals() {  # db
  local n=0 h ap want
  while IFS='|' read -r h ap; do
    want=$("$rethink" eval --gt "$gt" --dt "artifacts/trial-${h:0:16}/detections.json" --json |
           tail -1 | python3 -c 'import json, sys; print("%.12g" % json.load(sys.stdin)["AP"])')
    [ "$(printf '%.12g' "$ap")" = "$want" ] || fail "trial $h: recorded AP $ap, rethink eval says $want"
    n=$((n + 1))
  done < <(q "$1" "select config_hash, printf('%.17g', AP) from trial_results")
  [ "$n" -gt 0 ] || fail "$1: no finished trial to compare"
}
alive_any() { local p; for p in "$@"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
# waits up to 20 s for every pid given to be gone
all_gone() { for _ in $(seq 1 200); do alive_any "$@" || return 0; sleep 0.1; done; return 1; }

if [ -n "$mpirun" ]; then
  flags=(--oversubscribe --enable-recovery -np 3)
  [ "$(id -u)" -eq 0 ] && flags=(--allow-run-as-root "${flags[@]}")
  timeout 300 "$mpirun" "${flags[@]}" "$rethink" sweep ext.ini --db m.db >m.txt 2>&1 || { cat m.txt; fail "mpirun sweep exited $?"; }
  grep -q "^ext: 4 finished, 0 failed, 0 left$" m.txt || { cat m.txt; fail "closing line"; }
  ap_is_evals m.db
  [ "$(q m.db "select max(attempts) from trials")" -eq 1 ] || fail "a trial ran twice"
  [ "$(q m.db "select count(*) from trials where worker like '%/rank 1' or worker like '%/rank 2'")" -eq 4 ] ||
    fail "the worker ranks did not run the trials: $(q m.db "select worker from trials")"
  [ "$(q m.db "select count(*) from metrics where name = 'loss'")" -eq 12 ] || fail "the ranks' metrics.json curves did not reach rank 0"
  [ "$(q m.db "select count(*) from trial_artifacts where role = 'teacher'")" -eq 2 ] || fail "the students' teacher links"
  "$rethink" sweep ext.ini -j 2 --db a.db >1.txt 2>&1 || { cat 1.txt; fail "-j 2 sweep exited $?"; }
  same="select config_hash, printf('%.17g %.17g', AP, AR100) from trial_results order by 1"
  [ "$(q m.db "$same")" = "$(q a.db "$same")" ] || fail "3 ranks differ from -j 2"
  echo "trainer under mpirun: 4 trials on 2 ranks, scored as rethink eval scores them, as -j 2"
  exit 0
fi

# 1.
"$rethink" sweep ext.ini -j 2 --db a.db >1.txt 2>&1 || { cat 1.txt; fail "sweep exited $?"; }
[ "$(q a.db "select count(*) from trials where status = 'finished'")" -eq 4 ] || { cat 1.txt; fail "not 4 finished"; }
ap_is_evals a.db
[ "$(q a.db "select count(*) from metrics where name = 'loss'")" -eq 12 ] || fail "metrics.json's loss curve (3 steps x 4 trials) not recorded"
[ "$(q a.db "select count(*) from metrics where name = 'dev_AP' and step = 20 and value = 0.2")" -eq 4 ] || fail "a [step, value] curve not recorded at its steps"
student=$(q a.db "select config_hash from trials where arm = 'selftrain' and fraction = 0.5")
teacher=$(q a.db "select p.config_hash from trial_deps x join trials s on s.id = x.trial_id
                  join trials p on p.id = x.depends_on where s.config_hash = '$student'")
python3 - "artifacts/trial-${student:0:16}/config.json" "$d/artifacts/trial-${teacher:0:16}" <<'EOF' || fail "the student's config.json"
import json, os, sys
c = json.load(open(sys.argv[1]))
assert os.path.realpath(c["teacher"]["out"]) == os.path.realpath(sys.argv[2]), c["teacher"]
assert c["arm"] == "selftrain" and c["fraction"] == 0.5 and c["policy"]["scale"] == [0.8, 1.2]
assert len(c["labelled_ids"]) == 24 and c["config"]["trainer.command"].startswith("python3")
EOF
grep -q "tiny_trainer: selftrain S1" "artifacts/trial-${student:0:16}/stdout.txt" || fail "stdout not kept in {out}"
# run again: nothing to do
"$rethink" sweep ext.ini --db a.db >1b.txt 2>&1 || fail "second sweep exited $?"
[ "$(q a.db "select max(attempts) from trials")" -eq 1 ] || fail "a finished trial ran again"

# 2. one trial each (scratch, 50 %), 3 attempts each
cmd="python3 {dir}/tiny_trainer.py --config {config} --out {out}"
one=(ext.ini -s arm=scratch -s fraction=0.5 --db f.db)
failed_with() {  # mode reason [more trainer arguments] [more sweep arguments]
  local mode=$1 why=$2 more=${3:-}
  shift 3
  "$rethink" sweep "${one[@]}" -s "trainer.command=$cmd --mode $mode$more" "$@" >"f-$mode.txt" 2>&1 &&
    fail "a trainer in mode $mode: the sweep exited 0"
  e=$(q f.db "select error from trials where status = 'failed' and config like '%--mode $mode%'")
  echo "$e" | grep -q "$why" || { cat "f-$mode.txt"; fail "mode $mode: error '$e' does not say '$why'"; }
}
failed_with fail "exited with status 3" ""
echo "$e" | grep -q "stderr ends: tiny_trainer: warming up | tiny_trainer: failing as asked" || fail "the error lacks the end of stderr: $e"
failed_with sleep "timed out after 1 s" " --sleep 30" -s trainer.timeout=1
h=$(q f.db "select config_hash from trials where config like '%--sleep 30%'")
# shellcheck disable=SC2046
all_gone $(cat artifacts/trial-"${h:0:16}"*/pid) || fail "a timed-out trainer or its child still runs"
failed_with malformed "detections are not usable" ""
failed_with nodets "wrote no detections.json" ""

# 3.
slow=(ext.ini -j 2 --db k.db -s "trainer.command=$cmd --mode sleep --sleep 4")
"$rethink" sweep "${slow[@]}" >3.txt 2>&1 &
pid=$!
# the pids of the running trials' trainers and their children (case 2's are long gone)
running_pids() {
  local h
  for h in $(q k.db "select config_hash from trials where status = 'running'" 2>/dev/null); do
    cat "artifacts/trial-${h:0:16}/pid" 2>/dev/null
  done
}
pids=""
for _ in $(seq 1 600); do  # two trainers running, each with its child
  pids=$(running_pids | tr '\n' ' ')
  [ "$(echo $pids | wc -w)" -eq 4 ] && break
  kill -0 "$pid" 2>/dev/null || { cat 3.txt; fail "the sweep ended before two trainers ran"; }
  sleep 0.1
done
[ "$(echo $pids | wc -w)" -eq 4 ] || fail "expected 2 trainers and their 2 children, got: $pids"
kill -9 "$pid"
wait "$pid" 2>/dev/null
# shellcheck disable=SC2086
all_gone $pids || fail "trainers or their children outlived the sweep's kill -9: $(ps -o pid,args -p "$(echo $pids | tr " " ,)" | tail -n +2)"
"$rethink" sweep "${slow[@]}" >3b.txt 2>&1 || { cat 3b.txt; fail "the resumed sweep exited $?"; }
[ "$(q k.db "select count(*) from trials where status = 'finished'")" -eq 4 ] || fail "not 4 finished after resume"
[ "$(q k.db "select count(*) from trials where attempts - attempt_base > 1")" -eq 0 ] || fail "an interrupted attempt was charged"
ls -d artifacts/trial-*.prev-* >/dev/null 2>&1 || fail "the interrupted attempts' folders were not kept aside"
ap_is_evals k.db

# 4.
"$rethink" sweep ext.ini -s arm=scratch -s seed=2 -s "trainer.command=$cmd --mode sleep --sleep 30" \
  --db w.db >4.txt 2>&1 &
pid=$!
w=""
for _ in $(seq 1 600); do
  w=$(q w.db "select worker || '|' || config_hash from trials where status = 'running' limit 1" 2>/dev/null)
  [ -n "$w" ] && [ -s "artifacts/trial-$(echo "${w#*|}" | cut -c1-16)/pid" ] && break
  kill -0 "$pid" 2>/dev/null || { cat 4.txt; fail "the sweep ended before its trainer ran"; }
  sleep 0.1
done
h=${w#*|} worker=${w%%|*} worker=${worker#*:} worker=${worker%%/*}
read -r tpid tchild <"artifacts/trial-${h:0:16}/pid"
kill -9 "$worker"
all_gone "$tpid" || fail "the trainer $tpid outlived its worker's kill -9"
# the child the trainer started itself is orphaned, not killed (no process of rethink's is
# left to do it: README "Use your own trainer"); this test stops what it made
kill "$tchild" 2>/dev/null
kill -TERM "$pid"
wait "$pid" 2>/dev/null

# 5. (seed 3: trials of their own)
"$rethink" sweep ext.ini -s seed=3 --emit-slurm --shards 2 --out-dir shared >job.sbatch 2>5.txt ||
  { cat 5.txt; fail "emit-slurm exited $?"; }
for stage in stage1 stage2; do
  tasks=()
  for i in 0 1; do
    mkdir -p "node$i"
    SLURM_JOB_ID=5 SLURM_ARRAY_TASK_ID=$i TMPDIR="$d/node$i" RETHINK="$rethink" bash job.sbatch $stage \
      >"$stage-$i.txt" 2>&1 &
    tasks+=($!)
  done
  for t in "${tasks[@]}"; do wait "$t" || fail "a $stage task exited non-zero: $(cat $stage-*.txt)"; done
done
SLURM_JOB_ID=5 SLURM_ARRAY_TASK_ID=0 TMPDIR="$d/node0" RETHINK="$rethink" bash job.sbatch merge >merge.txt 2>&1 ||
  { cat merge.txt; fail "the merge task exited $?"; }
[ "$(q shared/results.db "select count(*) from trials where status = 'finished' and seed = 3")" -eq 4 ] ||
  fail "the Slurm flow: not 4 finished: $(q shared/results.db "select arm, fraction, status, error from trials")"
[ "$(q shared/results.db "select max(attempts) from trials")" -eq 1 ] || fail "the Slurm flow ran a trial twice"
ap_is_evals shared/results.db

echo "trainer: a grid at -j 2 scored as rethink eval scores it; exit, timeout, malformed and missing detections failed with their reasons; kill -9 left no trainer behind and resumed; the Slurm flow"
