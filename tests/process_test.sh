#!/usr/bin/env bash
# rethink sweep's parent and its children when system calls fail as they do on a loaded
# machine (tests/fault_shim.c, preloaded), issue 25's "Process handling":
#   1. the 3rd fork fails (1 = the dataset build's child, 2 = worker 0, 3 = worker 1): the
#      sweep says which worker could not start, stops and reaps worker 0, exits 1, and never
#      signals a pid <= 0 (a failed fork's -1 handed to kill() signals every process the
#      user may signal);
#   2. the dataset build's fork fails: exit 1 naming it, no signal to pid <= 0;
#   3. waitpid fails with ECHILD while the build runs: an error, not a success (exit 1);
#   4. a worker killed with -9 is reaped, and a later SIGTERM to the parent never signals its
#      pid again (a reaped pid may be anyone's by then); the other worker is stopped and
#      waited for, the parent exits 143;
#   5. the same command then resumes: every trial finishes once;
#   6. the parent killed with -9 (it cannot pass anything on): its workers end too (the
#      kernel's parent-death signal) instead of running on as orphans.
# Usage: process_test.sh RETHINK EXPERIMENTS_DIR SHIM.so
set -u
rethink=$1 exp=$2 shim=$3
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cd "$d" || exit 1
# a copy of the experiment files: its data and artifacts folders are relative to it, and so
# are this test's own
cp "$exp"/tiny.ini "$exp"/augment.ini . && exp=$d
fail() { echo "FAIL: $*"; exit 1; }
q() { sqlite3 "$1" "$2"; }
# AddressSanitizer (scripts/test.sh's second build) wants its runtime first in the process;
# here the shim is
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
shimmed() { env LD_PRELOAD="$shim" "$@"; }
no_wild_kill() {  # log: no kill() of a pid <= 0
  ! grep -Eq '^kill (-[0-9]+|0) ' "$1" || { cat "$1"; fail "$1: a signal to a pid <= 0"; }
}
args=("$exp/tiny.ini" -s arm=scratch -s seed=1 -s train.epochs=40 --quiet)

# the dataset, built once beforehand, so that the cases below reach their workers at once
"$rethink" sweep "$exp/tiny.ini" -s arm=scratch -s seed=1 -s fraction=0.5 -s aug=S1 --db warm.db \
  --quiet >warm.txt 2>&1 || { cat warm.txt; fail "warm-up sweep exited $?"; }

# 1.
shimmed RK_SHIM_FAIL_FORK=3 RK_SHIM_LOG="$d/1.log" "$rethink" sweep "${args[@]}" -j 3 --db 1.db \
  >1.txt 2>&1; rc=$?
[ $rc -eq 1 ] || { cat 1.txt; fail "a failed fork: exit status $rc, expected 1"; }
grep -q "cannot start worker 1" 1.txt || { cat 1.txt; fail "the failed fork is not reported"; }
no_wild_kill 1.log
w0=$(sed -n 's/^kill \([0-9]*\) 15$/\1/p' 1.log)
[ "$(echo "$w0" | wc -w)" -eq 1 ] || { cat 1.log; fail "expected one SIGTERM, to worker 0"; }
grep -qx "reaped $w0" 1.log || { cat 1.log; fail "worker 0 ($w0) was not waited for"; }

# 2.
shimmed RK_SHIM_FAIL_FORK=1 RK_SHIM_LOG="$d/2.log" "$rethink" sweep "${args[@]}" --db 2.db \
  >2.txt 2>&1; rc=$?
[ $rc -eq 1 ] && grep -q "starting the dataset build" 2.txt || { cat 2.txt; fail "failed build fork: rc $rc"; }
touch 2.log
no_wild_kill 2.log

# 3.
shimmed RK_SHIM_WAITPID=ECHILD RK_SHIM_LOG="$d/3.log" "$rethink" sweep "${args[@]}" --db 3.db \
  >3.txt 2>&1; rc=$?
[ $rc -eq 1 ] && grep -q "waiting for the dataset build" 3.txt || { cat 3.txt; fail "waitpid ECHILD: rc $rc"; }
touch 3.log
no_wild_kill 3.log

# 4. (the sweep's workers are its children: their pids are in trials.worker, host:pid/slot)
# env execs the sweep (a function would run in a subshell): $! is the sweep's own pid
env LD_PRELOAD="$shim" RK_SHIM_LOG="$d/4.log" "$rethink" sweep "${args[@]}" -j 2 --db 4.db >4.txt 2>&1 &
pid=$!
n=0
while [ "$n" -lt 2 ]; do
  kill -0 "$pid" 2>/dev/null || { cat 4.txt; fail "the sweep ended before two workers held trials"; }
  sleep 0.1
  n=$(q 4.db "select count(*) from trials where status = 'running'" 2>/dev/null || echo 0)
done
victim=$(q 4.db "select worker from trials where status = 'running' order by id limit 1")
victim=${victim#*:} victim=${victim%%/*}
kill -9 "$victim"
until grep -qx "reaped $victim" 4.log 2>/dev/null; do  # the parent polls its children
  kill -0 "$pid" 2>/dev/null || { cat 4.txt; fail "the sweep ended before reaping worker $victim"; }
  sleep 0.1
done
others=$(pgrep -P "$pid")
kill -TERM "$pid"
wait "$pid"; rc=$?
[ $rc -eq 143 ] || { cat 4.txt; fail "SIGTERM: exit status $rc, expected 143"; }
no_wild_kill 4.log
after=$(sed -n "/^reaped $victim\$/,\$p" 4.log)
! echo "$after" | grep -q "^kill $victim " || { cat 4.log; fail "the reaped worker $victim was signalled again"; }
for k in $others; do
  ! kill -0 "$k" 2>/dev/null || fail "worker $k outlived the sweep"
  grep -qx "reaped $k" 4.log || fail "worker $k was not waited for"
done

# 5.
"$rethink" sweep "${args[@]}" -j 2 --db 4.db >5.txt 2>&1 || { cat 5.txt; fail "resumed sweep exited $?"; }
[ "$(q 4.db "select count(*) from trials where status = 'finished'")" -eq 4 ] || fail "not all 4 finished after resume"
[ "$(q 4.db "select count(*) from trials where attempts - attempt_base > 1")" -eq 0 ] || fail "an interrupted attempt was charged"
# 6.
"$rethink" sweep "${args[@]}" -j 2 --db 6.db >6.txt 2>&1 &
pid=$!
n=0
while [ "$n" -lt 2 ]; do
  kill -0 "$pid" 2>/dev/null || { cat 6.txt; fail "the sweep ended before two workers held trials"; }
  sleep 0.1
  n=$(q 6.db "select count(*) from trials where status = 'running'" 2>/dev/null || echo 0)
done
kids=$(pgrep -P "$pid")
kill -9 "$pid"
wait "$pid" 2>/dev/null
for k in $kids; do  # SIGTERM from the kernel as the parent died: gone in moments, not minutes
  for _ in $(seq 1 600); do kill -0 "$k" 2>/dev/null || break; sleep 0.1; done
  ! kill -0 "$k" 2>/dev/null || fail "worker $k outlived its parent's kill -9 by a minute"
done
[ "$(q 6.db "select count(*) from trials where status = 'finished'")" -lt 4 ] || fail "the orphans finished the study"

echo "process: a failed fork, a failed build fork, waitpid ECHILD and a reaped worker never led to a stray signal; SIGTERM stopped and reaped every worker; resumed; a parent's kill -9 took its workers with it"
