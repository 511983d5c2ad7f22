#!/usr/bin/env bash
# A sweep's life as users live it (issue 21), end to end on the tiny study
# (experiments/tiny.ini) cut to one cell, so that each trial takes a second:
#   1. --dry-run writes nothing: the database's bytes and mtime stay the same, and a missing
#      database is not created;
#   2. a study is the union of its sweeps: a -s seed=1 sweep leaves the seed-2 trials an
#      earlier run registered pending, and a later full sweep runs them;
#   3. --retry-failed runs a failed trial of this grid once more; rethink rm lists, and with
#      --yes removes, trials, a study's failed trials or a whole study;
#   4. an undefined policy (-s aug=S9) is an error before anything is registered;
#   5. progress: under a pseudo-terminal one status line, cleared before every other line
#      (no status text glued to a result); --json: every stdout line one JSON event; off a
#      terminal: plain progress lines;
#   6. the dry run's estimate under the plateau schedule: an upper bound until a cell has a
#      finished trial, then that trial's steps.
# Usage: lifecycle_test.sh RETHINK EXPERIMENTS_DIR
set -u
rethink=$1 exp=$2
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cd "$d" || exit 1
cp "$exp"/tiny.ini "$exp"/augment.ini . || exit 1
fail() { echo "FAIL: $*"; exit 1; }
q() { sqlite3 "$1" "$2"; }
cell=(-s arm=selftrain -s aug=S1 -s fraction=1.0) # a student and its (implied) teacher

# 1. the dry run reads the database and writes nothing
"$rethink" sweep tiny.ini "${cell[@]}" -s seed=1 --db a.db --quiet >a.txt 2>&1 || { cat a.txt; fail "sweep exited $?"; }
before="$(sha256sum a.db) $(stat -c %y a.db)"
"$rethink" sweep tiny.ini "${cell[@]}" -s seed=1,2 --dry-run --db a.db >dry.txt 2>&1 || { cat dry.txt; fail "dry run exited $?"; }
[ "$before" = "$(sha256sum a.db) $(stat -c %y a.db)" ] || fail "the dry run changed a.db"
[ "$(grep -c ' finished ' dry.txt)" -eq 2 ] && [ "$(grep -c ' new ' dry.txt)" -eq 2 ] || { cat dry.txt; fail "dry run statuses"; }
grep -q ", 2 to run$" dry.txt || { cat dry.txt; fail "dry run: 2 to run"; }
"$rethink" sweep tiny.ini "${cell[@]}" --dry-run --db none.db >/dev/null 2>&1 || fail "dry run without a database exited $?"
[ ! -e none.db ] || fail "the dry run created none.db"

# 2. a narrower sweep of a study leaves the study's other trials as they are. A stage-2 run
# registers the students of seeds 1 and 2 and their teachers, then refuses to start.
"$rethink" sweep tiny.ini "${cell[@]}" -s seed=1,2 --stage 2 --db u.db >/dev/null 2>&1; [ $? -eq 1 ] || fail "stage 2 without teachers"
[ "$(q u.db "select count(*) from trials where status = 'pending'")" -eq 4 ] || fail "4 trials registered"
"$rethink" sweep tiny.ini "${cell[@]}" -s seed=1 --db u.db >u1.txt 2>&1 || { cat u1.txt; fail "seed-1 sweep exited $?"; }
[ "$(q u.db "select group_concat(status, ' ') from trials where seed = 2")" = "pending pending" ] || { q u.db "select seed, status, error from trials"; fail "the seed-1 sweep touched seed 2"; }
grep -q "^tiny: 2 finished, 0 failed, 0 left; 2 other trial(s) of the study, not in this grid, left as they are$" u1.txt || { cat u1.txt; fail "closing line"; }
"$rethink" sweep tiny.ini "${cell[@]}" -s seed=1,2 --db u.db --quiet >u2.txt 2>&1 || { cat u2.txt; fail "full sweep exited $?"; }
[ "$(q u.db "select count(*) from trials where status = 'finished' and attempts = 1")" -eq 4 ] || fail "the full sweep did not run seed 2 once"

# 3. a failed trial: not run again by a plain re-run, once more with --retry-failed
one=(-s arm=scratch -s aug=S1 -s fraction=1.0 -s seed=1)
touch blocker
"$rethink" sweep tiny.ini "${one[@]}" --artifacts blocker/x --db r.db >r1.txt 2>&1; [ $? -eq 3 ] || { cat r1.txt; fail "a failing sweep should exit 3"; }
[ "$(q r.db "select status || ' ' || attempts from trials")" = "failed 3" ] || fail "3 attempts, then failed"
"$rethink" sweep tiny.ini "${one[@]}" --db r.db >r2.txt 2>&1; [ $? -eq 3 ] || { cat r2.txt; fail "a failed grid should exit 3"; }
grep -q "^nothing to run: .* 1 failed .*--retry-failed" r2.txt || { cat r2.txt; fail "no hint at --retry-failed"; }
"$rethink" sweep tiny.ini "${one[@]}" --db r.db --retry-failed >r3.txt 2>&1 || { cat r3.txt; fail "--retry-failed exited $?"; }
[ "$(q r.db "select status || ' ' || attempts from trials")" = "finished 4" ] || fail "retried once: $(q r.db "select status, attempts from trials")"
# rm: a teacher without its student is refused; nothing goes without --yes
teacher=$(q u.db "select id from trials where arm = 'scratch' and seed = 2")
out=$("$rethink" rm "$teacher" --db u.db --yes 2>&1); [ $? -eq 1 ] && echo "$out" | grep -q "teacher of trial" || fail "rm of a teacher alone: $out"
"$rethink" rm --study tiny --db u.db >rm1.txt 2>&1; [ $? -eq 1 ] && grep -q "^would remove 4 trial(s) of study 'tiny'" rm1.txt || { cat rm1.txt; fail "rm without --yes"; }
[ "$(q u.db "select count(*) from trials")" -eq 4 ] || fail "rm without --yes removed something"
student=$(q u.db "select id from trials where arm = 'selftrain' and seed = 2")
"$rethink" rm "$teacher" "$student" --db=u.db --yes >/dev/null || fail "rm of a teacher with its student"
[ "$(q u.db "select count(*) from trials where seed = 2")" -eq 0 ] || fail "rm TRIAL TRIAL"
"$rethink" sweep tiny.ini "${one[@]}" -s seed=2 --artifacts blocker/x --db u.db --quiet >/dev/null 2>&1
"$rethink" rm --failed --db u.db --yes >/dev/null || fail "rm --failed"
[ "$(q u.db "select count(*) from trials where status = 'failed'")" -eq 0 ] || fail "rm --failed left failed trials"
"$rethink" rm --study tiny --db u.db --yes >/dev/null || fail "rm --study"
[ "$(q u.db "select count(*) from trials") $(q u.db "select count(*) from studies")" = "0 0" ] || fail "rm --study left rows"

# 4. an undefined policy is the experiment's error: nothing registered, nothing created
out=$("$rethink" sweep tiny.ini -s aug=S9 --db e.db 2>&1); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q "command line: key 'trial.aug': no augmentation policy \[augment.S9\] (defined: S1, S2, S3, S4)" || fail "aug=S9: rc $rc: $out"
[ ! -e e.db ] || fail "aug=S9 created e.db"

# 5. progress. Under a pseudo-terminal: drawn, and every other line starts on a cleared line
# (what follows a line's last carriage return is what the terminal shows)
if command -v script >/dev/null; then
  script -qfec "'$rethink' sweep tiny.ini -s arm=scratch,pretrain -s aug=S1 -s seed=3 -s train.epochs=8 -j 2 --db p.db" /dev/null >pty.txt 2>&1 || { cat -A pty.txt | tail; fail "sweep under a pty exited $?"; }
  grep -q "done, ETA" pty.txt || fail "no status line under a pty"
  tr -d '\000' <pty.txt | sed 's/\r$//; s/.*\r//; s/^\x1b\[K//' >shown.txt
  [ "$(grep -c ': AP [0-9.]* AP50' shown.txt)" -eq 4 ] || { cat -A pty.txt | tail; fail "4 result lines"; }
  if grep ': AP [0-9.]* AP50' shown.txt | grep -v '^\[[01]\] [a-z]* S1 f=[0-9.]* s=3: AP'; then
    fail "status text glued to a result line"
  fi
  grep -q "^tiny: 4 finished, 0 failed, 0 left" shown.txt || { cat shown.txt; fail "closing line glued"; }
else
  echo "no script(1): the pseudo-terminal check is skipped"
fi
"$rethink" sweep tiny.ini -s arm=scratch -s aug=S4 -s seed=3 -j 2 --db p.db --json >j.txt 2>&1 || fail "--json exited $?"
[ "$(grep -vc '^{"event":"[a-z]*",.*}$' j.txt)" -eq 0 ] || { cat j.txt; fail "a stdout line of --json is not a JSON event"; }
[ "$(grep -c '^{"event":"done",' j.txt)" -eq 2 ] && tail -n1 j.txt | grep -q '^{"event":"end","study":"tiny","finished":2,' || { cat j.txt; fail "--json events"; }
"$rethink" sweep tiny.ini -s arm=scratch -s aug=S4 -s seed=4 -s train.epochs=30 -j 2 --db p.db --progress-every 0.2 >plain.txt 2>&1 || fail "plain sweep exited $?"
grep -q "^progress: [0-9]*/2 done, ETA .* | \[[01]\] scratch S4 f=[0-9.]* s=4 step [0-9]*/[0-9]*" plain.txt || { cat plain.txt; fail "no plain progress line"; }
! grep -q $'\r\|\x1b' plain.txt || fail "terminal control characters off a terminal"

# 6. the plateau schedule's steps are unknown before a trial of the cell finishes
plateau=(-s arm=scratch -s aug=S1 -s fraction=1.0 -s train.schedule=plateau -s train.dev=8
         -s train.dev_every=1 -s train.patience=1 -s train.anneal=0.01 -s train.epochs=20)
"$rethink" sweep tiny.ini "${plateau[@]}" -s seed=1,2 --dry-run --db pl.db >pl1.txt 2>&1 || { cat pl1.txt; fail "plateau dry run exited $?"; }
[ "$(grep -c ' new *<=100 ' pl1.txt)" -eq 2 ] && grep -q "^estimated at most " pl1.txt && grep -q "^upper bound: 2 trials " pl1.txt || { cat pl1.txt; fail "plateau: an upper bound without finished trials"; }
"$rethink" sweep tiny.ini "${plateau[@]}" -s seed=1 --db pl.db --quiet >/dev/null 2>&1 || fail "plateau sweep exited $?"
steps=$(q pl.db "select steps from trials")
"$rethink" sweep tiny.ini "${plateau[@]}" -s seed=1,2 --dry-run --db pl.db >pl2.txt 2>&1 || fail "second plateau dry run exited $?"
grep -q " new *~$steps " pl2.txt && ! grep -q "upper bound" pl2.txt || { cat pl2.txt; fail "plateau: seed 2 expected at seed 1's $steps steps"; }
echo "lifecycle: dry run, union of sweeps, retry, rm, early config errors, progress and the plateau estimate hold"
