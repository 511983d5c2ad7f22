#!/usr/bin/env bash
# rethink sweep's parent on SIGTERM (a scheduler's or a service manager's stop): it passes the
# signal on to its own children and waits for them, so that
#   1. during the dataset build: it exits 143 (128 + SIGTERM) and the build child is gone;
#   2. while two workers run trials: it exits 143 with the interrupted closing line, none of
#      its workers is left running (or as a zombie nobody reaps), and the same command then
#      resumes the interrupted trials and finishes every trial once.
# Usage: sweep_signal_test.sh RETHINK EXPERIMENTS_DIR
set -u
rethink=$1 exp=$2
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cd "$d" || exit 1
# the experiment files copied here: their data and artifacts (relative to them) too
cp "$exp"/*.ini "$exp"/*.claims . && exp=$d
fail() { echo "FAIL: $*"; exit 1; }
q() { sqlite3 "$1" "$2"; }
# every pid given still exists (a zombie counts: its parent did not wait for it)
gone() { local k; for k in "$@"; do kill -0 "$k" 2>/dev/null && return 1; done; return 0; }

# 1. a dataset large enough to be still building when the signal comes
"$rethink" sweep "$exp/tiny.ini" -s data.train=100000 -s arm=scratch --db build.db >b.txt 2>&1 &
pid=$!
until grep -q "building the default dataset" b.txt; do  # however long a loaded machine takes
  kill -0 "$pid" 2>/dev/null || { cat b.txt; fail "the sweep ended before its dataset build"; }
  sleep 0.1
done
kids=$(pgrep -P "$pid")
[ -n "$kids" ] || { cat b.txt; fail "no dataset build child"; }
kill -TERM "$pid"
wait "$pid"; rc=$?
[ $rc -eq 143 ] || { cat b.txt; fail "stopped during the build: exit status $rc, expected 143"; }
gone $kids || fail "the dataset build child $kids outlived the sweep"

# 2. stopped while two workers hold trials (one seed of scratch: 4 trials)
args=("$exp/tiny.ini" -s arm=scratch -s seed=1 -s train.epochs=40 -j 2 --db s.db)
"$rethink" sweep "${args[@]}" --quiet >s1.txt 2>&1 &
pid=$!
r=0
while [ "${r:-0}" -lt 2 ]; do
  kill -0 "$pid" 2>/dev/null || { cat s1.txt; fail "two workers never ran trials at once"; }
  sleep 0.2
  r=$(q s.db "select count(*) from trials where status = 'running'" 2>/dev/null || echo 0)
done
kids=$(pgrep -P "$pid")
[ "$(echo $kids | wc -w)" -eq 2 ] || fail "expected 2 workers, found: $kids"
kill -TERM "$pid"
wait "$pid"; rc=$?
[ $rc -eq 143 ] || { cat s1.txt; fail "exit status $rc, expected 143"; }
gone $kids || fail "workers $kids outlived the sweep"
grep -q "^tiny: .* (interrupted: run the same command to resume)$" s1.txt || { cat s1.txt; fail "closing line"; }
running=$(q s.db "select count(*) from trials where status = 'running'")
"$rethink" sweep "${args[@]}" >s2.txt 2>&1 || { cat s2.txt; fail "resumed sweep exited $?"; }
[ "$running" -eq 0 ] || grep -q "resuming: $running trial" s2.txt || { cat s2.txt; fail "resume did not reclaim the $running stopped trial(s)"; }
[ "$(q s.db "select count(*) from trials where status = 'finished'")" -eq 4 ] || fail "not all finished after resume"
[ "$(q s.db "pragma integrity_check")" = ok ] || fail "integrity_check"
echo "sweep: SIGTERM during the build and during trials left no child behind; resumed"
