#!/usr/bin/env bash
# The cluster path against a real Slurm (issue 25): a one-node cluster started and stopped
# here (munged, slurmctld and slurmd as root, the slurm.conf of docs/EXPERIMENTS.md §Clusters
# with this host as the node and 2 CPUs) runs the job array that `rethink sweep --emit-slurm`
# writes for the tiny study, submitted with `bash job.sbatch`:
#   1. one stage-1 array task is cancelled (scancel) mid-run — it finished a trial, runs
#      another and has more to start — it publishes its shard on the way out, and the jobs
#      after it are cancelled;
#   2. `bash job.sbatch` again: every task resumes from its shard, and no trial finished
#      before the cancel runs again (same start time, one attempt);
#   3. the merged results.db equals a local -j 2 run, trial by trial (hash, status, 12 stats,
#      teacher links).
# Skipped (exit 77, saying why) where the cluster cannot start: not root, slurm-wlm or munge
# missing, or the daemons do not come up.
# Usage: slurm_test.sh RETHINK EXPERIMENTS_DIR
set -u
rethink=$1 exp=$2
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "the one-node cluster's daemons run as root"
for p in munged munge slurmctld slurmd sbatch squeue scancel sinfo sqlite3; do
  command -v "$p" >/dev/null || skip "no $p (Debian: apt-get install slurm-wlm munge sqlite3)"
done
d=$(mktemp -d)
c=$d/cluster
cleanup() {
  local f p
  if [ -s "$c/slurmctld.pid" ]; then  # no job of this cluster outlives it (a failed test)
    scancel --full $(squeue -h -o %i 2>/dev/null) 2>/dev/null
    for _ in $(seq 1 30); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 1; done
  fi
  for f in "$c/slurmd.pid" "$c/slurmctld.pid" "$c/munged.pid"; do
    [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
  done
  sleep 1
  for f in "$c/slurmd.pid" "$c/slurmctld.pid" "$c/munged.pid"; do
    [ -s "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
  done
  for p in $(pgrep -x slurmstepd); do  # a step daemon of this cluster (its log is ours)
    ls -l "/proc/$p/fd" 2>/dev/null | grep -qF "$c/" && kill -9 "$p"
  done
  rm -rf "$d"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for l in "$c"/log/*.log; do echo "== $l"; tail -5 "$l"; done; exit 1; }
q() { sqlite3 "$1" "$2"; }
summary() {
  q "$1" "select t.config_hash, t.status, printf('%.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g',
            r.AP, r.AP50, r.AP75, r.APs, r.APm, r.APl, r.AR1, r.AR10, r.AR100, r.ARs, r.ARm, r.ARl)
          from trials t left join results r on r.trial_id = t.id order by t.config_hash;
          select s.config_hash || ' <- ' || p.config_hash from trial_deps x
          join trials s on s.id = x.trial_id join trials p on p.id = x.depends_on order by 1;"
}
# waits (however long a loaded machine takes, up to an hour) until the queue is empty
drain() {
  local t=0
  while [ -n "$(squeue -h 2>/dev/null)" ]; do
    sleep 2; t=$((t + 2))
    [ $t -lt 3600 ] || fail "the queue did not drain: $(squeue)"
  done
}

# the cluster: the one-node setup of docs/EXPERIMENTS.md §Clusters, on ports of its own
host=$(hostname -s)
port=$((20000 + RANDOM % 20000))
mkdir -p "$c/state" "$c/spool" "$c/log"
dd if=/dev/urandom of="$c/munge.key" bs=1024 count=1 2>/dev/null
chmod 400 "$c/munge.key"
munged -f --socket="$c/munge.sock" --key-file="$c/munge.key" --pid-file="$c/munged.pid" \
  --log-file="$c/log/munged.log" --seed-file="$c/munge.seed" 2>"$c/log/munged.err" ||
  skip "munged does not start: $(cat "$c/log/munged.err")"
cat >"$c/slurm.conf" <<EOF
ClusterName=rethink
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$c/munge.sock
CredType=cred/munge
StateSaveLocation=$c/state
SlurmdSpoolDir=$c/spool
SlurmctldPidFile=$c/slurmctld.pid
SlurmdPidFile=$c/slurmd.pid
SlurmctldLogFile=$c/log/slurmctld.log
SlurmdLogFile=$c/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$c/slurm.conf
slurmctld -f "$SLURM_CONF" -i 2>"$c/log/slurmctld.err" || skip "slurmctld does not start: $(cat "$c/log/slurmctld.err")"
slurmd -f "$SLURM_CONF" 2>"$c/log/slurmd.err" || skip "slurmd does not start: $(cat "$c/log/slurmd.err")"
for _ in $(seq 1 60); do
  [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break
  sleep 1
done
[ "$(sinfo -h -o %T 2>/dev/null)" = idle ] || skip "the node never became idle: $(sinfo 2>&1; tail -3 "$c/log/slurmctld.log")"

# the reference, in a folder of its own (its checkpoints are not the tasks' to find); the
# Slurm run's folder gets a copy of its dataset only (the same bytes a build would make)
# (each with a copy of the experiment files: data and artifacts are relative to them)
mkdir -p "$d/ref" "$d/slurm"
for f in "$d/ref" "$d/slurm"; do cp "$exp"/tiny.ini "$exp"/augment.ini "$f/"; done
cd "$d/ref" || exit 1
ov=(-s train.epochs=6)
"$rethink" sweep "$d/ref/tiny.ini" "${ov[@]}" -j 2 --db ref.db --quiet >ref.txt 2>&1 || { cat ref.txt; fail "the local sweep exited $?"; }
summary ref.db >"$d/ref.sum"
cp -r data "$d/slurm/"
cd "$d/slurm" || exit 1
"$rethink" sweep "$d/slurm/tiny.ini" "${ov[@]}" --emit-slurm --shards 3 --array-parallelism 2 \
  --out-dir shared >job.sbatch 2>emit.txt || { cat emit.txt; fail "emit-slurm exited $?"; }

# 1. submitted; stage-1 task 1 cancelled once it finished a trial, runs another and has one
# still to start (so the cancel lands mid-run however long the running trial has left)
export TMPDIR=$d/node  # the node-local disk the tasks keep their databases on
mkdir -p "$TMPDIR"
bash job.sbatch >submit1.txt 2>&1 || { cat submit1.txt; fail "bash job.sbatch exited $?"; }
j1=$(sed -n 's/^stage1: job //p' submit1.txt)
[ -n "$j1" ] || fail "no job id: $(cat submit1.txt)"
local1=
for _ in $(seq 1 1800); do
  local1=$(ls "$TMPDIR"/rethink-*-s1-1.db 2>/dev/null | head -1)
  if [ -n "$local1" ] &&
     [ "$(q "$local1" "select count(*) from trials where status = 'finished'" 2>/dev/null || echo 0)" -ge 1 ] &&
     [ "$(q "$local1" "select count(*) from trials where status = 'running'" 2>/dev/null || echo 0)" -ge 1 ] &&
     [ "$(q "$local1" "select count(*) from trials where status = 'pending'" 2>/dev/null || echo 0)" -ge 1 ]; then
    break
  fi
  local1=
  sleep 1
done
[ -n "$local1" ] || fail "stage-1 task 1 never ran its second trial: $(squeue; ls "$TMPDIR")"
scancel "${j1}_1" 2>scancel.txt && [ ! -s scancel.txt ] || fail "scancel ${j1}_1: $(cat scancel.txt)"
drain
shard1=shared/stage1/shard-1.db
[ -f "$shard1" ] || fail "the cancelled task published no shard: $(cat shared/logs/*_1.out 2>/dev/null)"
done_before=$(q "$shard1" "select config_hash || ' ' || started from trials where status = 'finished' order by 1")
running=$(q "$shard1" "select config_hash from trials where status = 'running'")
left=$(q "$shard1" "select count(*) from trials where status <> 'finished'")
[ -n "$done_before" ] && [ "$left" -ge 1 ] ||
  fail "the cancelled task's shard: $(q "$shard1" "select status, count(*) from trials group by 1"); its log: $(cat shared/logs/*_1.out 2>/dev/null)"
[ ! -f shared/results.db ] || fail "the merge ran although a task was cancelled"

# 2. resubmitted
bash job.sbatch >submit2.txt 2>&1 || { cat submit2.txt; fail "the second bash job.sbatch exited $?"; }
drain
[ -f shared/results.db ] || fail "no results.db after the resubmission: $(tail -3 shared/logs/*.out)"
after=$(q "$shard1" "select config_hash || ' ' || started from trials where status = 'finished' order by 1")
while read -r line; do
  echo "$after" | grep -qxF "$line" || fail "a trial finished before the cancel ran again: $line"
done <<<"$done_before"
for h in $running; do
  [ "$(q "$shard1" "select status || ' ' || (attempts - attempt_base) from trials where config_hash = '$h'")" = "finished 1" ] ||
    fail "the interrupted trial $h: $(q "$shard1" "select status, attempts, attempt_base from trials where config_hash = '$h'")"
done

# 3.
summary shared/results.db >slurm.sum
diff "$d/ref.sum" slurm.sum >/dev/null || { diff "$d/ref.sum" slurm.sum | head; fail "the Slurm run's results.db differs from the local -j 2 run"; }
echo "slurm: the tiny study's job array ran on a one-node Slurm; a task cancelled mid-run resumed without re-running its $(echo "$done_before" | wc -l) finished trial(s); results.db equals a local -j 2 run"
