#!/usr/bin/env bash
# The fault campaign of docs/RELIABILITY.md: what a sweep survives, on the tiny study
# (experiments/tiny.ini). Not in CI's default run (its kills land at random moments: a
# campaign, not a test); a few minutes on two cores.
#   scripts/faults.sh [--kills N] [--build DIR] [--keep]
#   1. N rounds of kill -9 at random moments of a sweep (its parent, which takes its workers
#      with it; any one of its processes and then the parent; or all at once), resumed after
#      each: then every trial is finished exactly once (one results row each, no failed trial,
#      no attempt charged), the database passes integrity_check, and the results equal an
#      uninterrupted -j 2 run's bit for bit;
#   2. a full disk (a small tmpfs; root): the artifacts folder full, then the database's
#      folder full: the sweep stops with its trials pending and uncharged, the database
#      intact; with room again the same command finishes every trial;
#   3. two sweeps of the study on one database at once: every trial finished once;
#   4. the same trial killed 5 times: it finishes on attempt 6, charged once, never failed.
# Exit status 0 when everything held; the last line gives the figures.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kills=20 build=$root/build keep=0
while (($#)); do
  case $1 in
  --kills) kills=$2; shift 2 ;;
  --build) build=$(cd "$2" && pwd); shift 2 ;;
  --keep) keep=1; shift ;;
  *) echo "usage: scripts/faults.sh [--kills N] [--build DIR] [--keep]" >&2; exit 2 ;;
  esac
done
rethink=$build/rethink exp=$root/experiments
[[ -x $rethink ]] || { echo "faults: no $rethink (build first)" >&2; exit 2; }
d=$(mktemp -d)
mnts=()
cleanup() {
  local m
  for m in "${mnts[@]}"; do umount "$m" 2>/dev/null; done
  ((keep)) && echo "faults: left $d" || rm -rf "$d"
}
trap cleanup EXIT
cd "$d" || exit 1
fail() { echo "FAULTS FAILED: $*"; exit 1; }
q() { sqlite3 "$1" "$2"; }
say() { echo "faults: $*"; }
summary() {  # every trial by hash: status and 12 stats exactly
  q "$1" "select t.config_hash, t.status, printf('%.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g',
            r.AP, r.AP50, r.AP75, r.APs, r.APm, r.APl, r.AR1, r.AR10, r.AR100, r.ARs, r.ARm, r.ARl)
          from trials t left join results r on r.trial_id = t.id order by t.config_hash"
}
once() {  # db n: n trials finished exactly once, none failed, none charged twice, file intact
  [ "$(q "$1" "select count(*) from trials where status = 'finished'")" -eq "$2" ] || fail "$1: not $2 finished: $(q "$1" "select status, count(*) from trials group by 1")"
  [ "$(q "$1" "select count(*) from results")" -eq "$2" ] || fail "$1: not $2 results rows"
  [ "$(q "$1" "select count(*) from trials where status = 'failed'")" -eq 0 ] || fail "$1: a failed trial"
  [ "$(q "$1" "select count(*) from trials where attempts - attempt_base > 1")" -eq 0 ] || fail "$1: an interruption was charged to a trial"
  [ "$(q "$1" "pragma integrity_check")" = ok ] || fail "$1: integrity_check"
  [ "$(q "$1" "pragma foreign_key_check")" = "" ] || fail "$1: foreign_key_check"
}
tree() { local c; for c in $(pgrep -P "$1"); do tree "$c"; done; echo "$1"; }
tiny=("$exp/tiny.ini" -j 2 --quiet)

# the reference: one uninterrupted run (its dataset is every later run's too)
"$rethink" sweep "${tiny[@]}" --db ref.db >ref.txt 2>&1 || { cat ref.txt; fail "reference sweep exited $?"; }
once ref.db 32
summary ref.db >ref.sum
say "reference: 32 trials"

# 1. random kills
alive() {  # a process that exists and is not a zombie (an orphan's zombie waits for init)
  [ -r "/proc/$1/stat" ] && ! sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^[ZX]'
}
survived=0 interrupted=0
while ((survived < kills)); do
  "$rethink" sweep "${tiny[@]}" --db k.db >>k.txt 2>&1 &
  job=$!
  sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.3 + 2.7 * r / 32767 }')"
  if ! kill -0 "$job" 2>/dev/null; then
    wait "$job" || fail "an unkilled sweep exited $?: $(tail -5 k.txt)"
    [ "$(q k.db "select count(*) from trials where status <> 'finished'")" -eq 0 ] && break
    continue
  fi
  procs=($(tree "$job"))
  case $((RANDOM % 3)) in
  0) victims=("$job") what=parent ;;                          # its workers die with it
  1) victims=("${procs[RANDOM % ${#procs[@]}]}") what=one ;;  # any one, the parent later
  2) victims=("${procs[@]}") what=all ;;
  esac
  kill -9 "${victims[@]}" 2>/dev/null
  if [ $what = one ]; then  # the sweep carries on without it for a moment, then stops
    sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.2 + 1.3 * r / 32767 }')"
    kill -9 "$job" 2>/dev/null
  fi
  wait "$job" 2>/dev/null
  for p in "${procs[@]}"; do while alive "$p"; do sleep 0.1; done; done
  r=$(q k.db "select count(*) from trials where status = 'running'")
  f=$(q k.db "select count(*) from trials where status = 'finished'")
  echo "faults: kill $((survived + 1)) of $what (${#victims[@]} of ${#procs[@]} processes): $f finished, $r running" >>k.txt
  interrupted=$((interrupted + r))
  survived=$((survived + 1))
  [ "$f" -lt 32 ] || break  # (a killed worker's last trial may have been the grid's last)
done 2>/dev/null  # (bash's "Killed" notices)
"$rethink" sweep "${tiny[@]}" --db k.db >>k.txt 2>&1 || { tail -20 k.txt; fail "the resumed sweep exited $?"; }
once k.db 32
summary k.db >k.sum
diff ref.sum k.sum >/dev/null || fail "after $survived rounds of kills the results differ from the uninterrupted run"
grep '^faults: kill' k.txt
say "1. $survived rounds of kill -9 ($interrupted trials interrupted mid-run): every trial once, results bit-identical"
# 2. a full disk
full=skipped
mkdir -p small small2
if mount -t tmpfs -o size=2m tmpfs small 2>/dev/null; then
  mnts+=("$d/small")
  # the artifacts folder full (checkpoints fail to write)
  out=$("$rethink" sweep "${tiny[@]}" -s arm=scratch --artifacts small/art --db f.db 2>&1); rc=$?
  [ $rc -ne 0 ] || fail "a sweep into a full artifacts folder exited 0"
  echo "$out" | grep -q "No space left on device" || fail "the full disk was not named: $out"
  [ "$(q f.db "select count(*) from trials where status = 'failed'")" -eq 0 ] || fail "the full disk failed trials"
  [ "$(q f.db "select count(*) from trials where error_code = 7 and attempts - attempt_base = 0")" -ge 1 ] ||
    fail "no trial recorded as interrupted by the full disk: $(q f.db "select status, attempts, attempt_base, error_code from trials")"
  [ "$(q f.db "pragma integrity_check")" = ok ] || fail "f.db: integrity_check"
  mount -o remount,size=200m small || fail "remount"
  "$rethink" sweep "${tiny[@]}" -s arm=scratch --artifacts small/art --db f.db >f2.txt 2>&1 || { cat f2.txt; fail "resumed after the disk full: exit $?"; }
  once f.db 8
  # the database's own folder full: SQLite's writes fail, the file stays intact
  mount -t tmpfs -o size=300k tmpfs small2 || fail "a second tmpfs"
  mnts+=("$d/small2")
  out=$("$rethink" sweep "${tiny[@]}" -s arm=scratch --db small2/g.db 2>&1); rc=$?
  [ $rc -ne 0 ] || fail "a sweep with its database on a full disk exited 0"
  echo "$out" | grep -Eq "full|No space" || fail "the full disk was not named: $out"
  if [ -s small2/g.db ]; then
    [ "$(q small2/g.db "pragma integrity_check")" = ok ] || fail "a full disk left the database damaged"
    [ "$(q small2/g.db "select count(*) from trials where status = 'failed'")" -eq 0 ] || fail "the full disk failed trials"
  fi
  mount -o remount,size=200m small2 || fail "remount"
  "$rethink" sweep "${tiny[@]}" -s arm=scratch --db small2/g.db >g2.txt 2>&1 || { cat g2.txt; fail "resumed with the database's disk free: exit $?"; }
  once small2/g.db 8
  full="held (artifacts and database)"
  say "2. a full disk: trials pending and uncharged, the database intact, resumed to the end"
else
  say "2. skipped: cannot mount a tmpfs here (needs root)"
fi

# 3. two sweeps at once on one database
"$rethink" sweep "$exp/tiny.ini" -j 1 --quiet --db two.db >two1.txt 2>&1 &
a=$!
"$rethink" sweep "$exp/tiny.ini" -j 1 --quiet --db two.db >two2.txt 2>&1 &
b=$!
wait $a || { cat two1.txt; fail "the first of two sweeps exited $?"; }
wait $b || { cat two2.txt; fail "the second of two sweeps exited $?"; }
once two.db 32
[ "$(q two.db "select max(attempts) from trials")" -eq 1 ] || fail "two sweeps ran a trial twice"
[ "$(q two.db "select count(distinct worker) from trials")" -ge 2 ] || fail "only one of the two sweeps ran trials"
summary two.db >two.sum
diff ref.sum two.sum >/dev/null || fail "two sweeps' results differ from one's"
say "3. two sweeps on one database: every trial once, results equal"

# 4. the same trial killed again and again
one=("$exp/tiny.ini" -s arm=scratch -s aug=S1 -s fraction=0.5 -s seed=1 -s train.epochs=200 --quiet)
for k in 1 2 3 4 5; do
  "$rethink" sweep "${one[@]}" --db same.db >>same.txt 2>&1 &
  job=$!
  until [ "$(q same.db "select count(*) from trials where status = 'running' and attempts = $k" 2>/dev/null)" = 1 ]; do
    kill -0 "$job" 2>/dev/null || fail "kill $k: the sweep ended first: $(tail -5 same.txt)"
    sleep 0.1
  done
  kill -9 $(tree "$job")
  wait "$job" 2>/dev/null
done
"$rethink" sweep "${one[@]}" --db same.db >>same.txt 2>&1 || { tail -5 same.txt; fail "the sixth run exited $?"; }
[ "$(q same.db "select status || ' ' || attempts || ' ' || (attempts - attempt_base) from trials")" = "finished 6 1" ] || fail "the trial killed 5 times: $(q same.db "select status, attempts, attempt_base, error from trials")"
say "4. one trial killed 5 times: finished on attempt 6, charged once"

echo "faults: all held: $survived random kill -9 survived ($interrupted trials interrupted), full disk $full, two concurrent sweeps, one trial killed 5 times"
