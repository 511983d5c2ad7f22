#!/usr/bin/env bash
# Scale-out without a cluster, end to end on the tiny study (experiments/tiny.ini):
#   1. `rethink merge` of shards from separate runs (seed 1 and seed 2) gives the same finished
#      trials (config hashes), results to the last digit and teacher links as one run of the
#      whole grid; merging the same shards again changes nothing; a conflicting shard is an
#      error naming the hash and leaves the database unchanged;
#   2. `rethink sweep --emit-slurm` writes a job array (#SBATCH --array=0-(N-1)%K) whose
#      submit step chains stage 1, stage 2 and the merge with afterok (checked with a fake
#      sbatch), and whose task command lines, run here as Slurm would run them (concurrently,
#      each with its own TMPDIR), produce a results.db equal to the single-run database;
#   3. stage 2 on a database without its teachers is a clear error, not a hang; a shard run
#      in a database holding other trials runs only its own.
# Trials are deterministic at a fixed thread count, which is what makes "equal" exact.
# Usage: cluster_test.sh RETHINK EXPERIMENTS_DIR
set -u
rethink=$1 experiments=$2
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
q() { sqlite3 "$1" "$2"; }
# what must agree between databases: every trial by hash with its status and 12 stats
# printed exactly, and every teacher link by hashes (ids differ between databases)
summary() {
  q "$1" "select t.config_hash, t.status, printf('%.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g',
            r.AP, r.AP50, r.AP75, r.APs, r.APm, r.APl, r.AR1, r.AR10, r.AR100, r.ARs, r.ARm, r.ARl)
          from trials t left join results r on r.trial_id = t.id order by t.config_hash;
          select s.config_hash || ' <- ' || p.config_hash from trial_deps x
          join trials s on s.id = x.trial_id join trials p on p.id = x.depends_on order by 1;"
}

# each part works in a folder of its own, with a copy of the experiment files (data and
# artifacts are relative to them, so nothing is shared between the parts)
here() { mkdir -p "$1" && cd "$1" && cp "$experiments"/tiny.ini "$experiments"/augment.ini . && exp=$1; }

# the reference: one run of the whole grid
here "$d/ref" || exit 1
"$rethink" sweep "$exp/tiny.ini" -j 2 --db ref.db --quiet >out.txt 2>&1 || { cat out.txt; fail "reference sweep exited $?"; }
[ "$(q ref.db "select count(*) from trials where status = 'finished'")" -eq 32 ] || fail "reference: not 32 finished"
summary ref.db >"$d/ref.txt"

# 1. shards from separate runs (their own folder: nothing shared with the reference)
here "$d/sep" || exit 1
for s in 1 2; do
  "$rethink" sweep "$exp/tiny.ini" -j 2 -s trial.seed=$s --db seed$s.db --quiet >out$s.txt 2>&1 || { cat out$s.txt; fail "seed $s sweep exited $?"; }
done
[ "$(q seed1.db "select count(*) from trials")" -eq 16 ] || fail "a seed shard should hold half the grid"
"$rethink" merge seed1.db seed2.db --db m.db >merge1.txt 2>&1 || { cat merge1.txt; fail "merge exited $?"; }
grep -q "now 32 finished, 0 failed, 0 pending" merge1.txt || { cat merge1.txt; fail "merge summary"; }
summary m.db >m.txt
diff "$d/ref.txt" m.txt >/dev/null || { diff "$d/ref.txt" m.txt | head; fail "merged shards differ from the single-run database"; }
q m.db .dump >dump1.txt
"$rethink" merge seed1.db seed2.db --db m.db >merge2.txt 2>&1 || fail "second merge exited $?"
grep -q "0 trial(s) added, 0 completed" merge2.txt || { cat merge2.txt; fail "second merge added something"; }
q m.db .dump >dump2.txt
cmp -s dump1.txt dump2.txt || fail "merging the same shards twice changed the database"
# a shard whose trial finished with another AP: exit 1, the hash named, nothing changed
cp seed1.db bad.db
h=$(q bad.db "select config_hash from trials order by id limit 1")
q bad.db "update results set AP = AP + 0.125 where trial_id = (select id from trials where config_hash = '$h')"
out=$("$rethink" merge bad.db --db m.db 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "$h" || fail "conflict: rc $rc: $out"
q m.db .dump >dump3.txt
cmp -s dump1.txt dump3.txt || fail "a conflicting merge changed the database"
out=$("$rethink" merge missing.db --db m.db 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "missing.db" || fail "missing shard: rc $rc: $out"

# 2. the Slurm script: content, submission chain, and its tasks run locally
here "$d/slurm" && mkdir -p bin || exit 1
"$rethink" sweep "$exp/tiny.ini" --emit-slurm --shards 3 --array-parallelism 2 --out-dir shared >job.sbatch 2>err.txt || { cat err.txt; fail "emit-slurm exited $?"; }
bash -n job.sbatch || fail "the script is not valid bash"
grep -qx '#SBATCH --array=0-2%2' job.sbatch || fail "no '#SBATCH --array=0-2%2'"
grep -q -- '--stage "$s" --shard "$i/$N"' job.sbatch || fail "task command line"
grep -q 'merge .*--db' job.sbatch || fail "no merge"
cat >bin/sbatch <<'SB'
#!/bin/sh
echo "$*" >>"$SBATCH_LOG"; n=$(wc -l <"$SBATCH_LOG"); echo $((100 + n))
SB
chmod +x bin/sbatch
PATH="$d/slurm/bin:$PATH" SBATCH_LOG="$d/slurm/sbatch.log" bash job.sbatch >submit.txt 2>&1 || { cat submit.txt; fail "submit exited $?"; }
[ "$(sed -n 1p sbatch.log)" = "--parsable job.sbatch stage1" ] &&
  [ "$(sed -n 2p sbatch.log)" = "--parsable --kill-on-invalid-dep=yes --dependency=afterok:101 job.sbatch stage2" ] &&
  [ "$(sed -n 3p sbatch.log)" = "--parsable --kill-on-invalid-dep=yes --dependency=afterok:102 --array=0 job.sbatch merge" ] ||
  { cat sbatch.log; fail "submission chain"; }
# the array tasks of a stage run at once, each with its own node-local TMPDIR
task() {  # stage job_id task_id
  mkdir -p "node$3"
  SLURM_JOB_ID=$2 SLURM_ARRAY_TASK_ID=$3 TMPDIR="$d/slurm/node$3" bash job.sbatch "$1" >"$1-$3.txt" 2>&1
}
for stage in stage1 stage2; do
  pids=()
  for i in 0 1 2; do task $stage 7 $i & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || fail "a $stage task exited non-zero: $(cat $stage-*.txt)"; done
done
# 3. before the merge: stage 2 on a database without the teachers refuses clearly
out=$("$rethink" sweep "$exp/tiny.ini" --stage 2 --shard 0/3 --db empty.db 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "merge the stage-1 shards" || fail "stage 2 without teachers: rc $rc: $out"
# a shard run in a database holding the whole grid (registered by a stage-2 run, which
# registers its students and their teachers and then refuses to start) runs only its own
# trials: stage 1 has 16, so shard 0/3 is positions 0, 3, ..., 15
"$rethink" sweep "$exp/tiny.ini" --stage 2 --db all.db >/dev/null 2>&1; [ $? -eq 1 ] || fail "stage 2 on all.db"
[ "$(q all.db "select count(*) from trials")" -eq 32 ] || fail "the whole grid is not registered"
"$rethink" sweep "$exp/tiny.ini" --stage 1 --shard 0/3 -j 2 --db all.db --quiet >shard.txt 2>&1 || { cat shard.txt; fail "shard sweep exited $?"; }
[ "$(q all.db "select count(*) from trials where status = 'finished'")" -eq 6 ] &&
  [ "$(q all.db "select count(*) from trials where status = 'pending'")" -eq 26 ] ||
  fail "shard 0/3 of stage 1 should finish 6 trials and leave 26 pending: $(q all.db "select status, count(*) from trials group by 1")"
SLURM_JOB_ID=8 SLURM_ARRAY_TASK_ID=0 TMPDIR="$d/slurm/node0" bash job.sbatch merge >merge.txt 2>&1 || { cat merge.txt; fail "merge job exited $?"; }
[ "$(ls node0 node1 node2)" = "$(printf 'node0:\n\nnode1:\n\nnode2:')" ] || fail "tasks left files on local disk"
summary shared/results.db >slurm.txt
diff "$d/ref.txt" slurm.txt >/dev/null || { diff "$d/ref.txt" slurm.txt | head; fail "the Slurm flow's results.db differs from the single-run database"; }
# a task run again (requeued) resumes from its copied shard: it starts nothing
task stage2 9 1 || fail "re-run stage2 task"
grep -q "nothing to do" stage2-1.txt || { cat stage2-1.txt; fail "a re-run task ran trials again"; }
echo "cluster: 2 separate runs and a 3-shard two-stage Slurm flow both merge into the single-run database"
