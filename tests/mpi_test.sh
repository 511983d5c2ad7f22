#!/usr/bin/env bash
# rethink sweep under mpirun, end to end on the tiny study (experiments/tiny.ini), 3 ranks
# (rank 0 coordinates, ranks 1 and 2 run trials):
#   1. the grid finishes with the same trials (config hashes), the same 12 COCO stats,
#      per-category AP and per-epoch metrics to the last digit, and the same teacher links as
#      `-j 1`; both worker ranks took part, no trial ran twice, and running it again starts
#      nothing;
#   2. kill -9 of a worker rank mid-trial: the sweep still finishes (mpirun exits 0), every
#      trial finished exactly once (the killed one in its second attempt), integrity ok;
#   3. kill -9 of rank 0 mid-sweep: the worker ranks notice its silence and exit, so the job
#      ends; the same command again reclaims the interrupted trials and finishes the rest,
#      each exactly once.
# Trials are deterministic at a fixed thread count, which is what makes "same" exact.
# mpirun's flags for this machine stay here: --allow-run-as-root (CI runs as root) and
# --oversubscribe (3 ranks on 2 cores); --enable-recovery is the product's (docs/EXPERIMENTS.md
# §MPI): without it Open MPI ends the whole job when a rank dies. With it mpirun exits 0
# whatever the ranks return (Open MPI 4.1.4), so rank 0's closing line is what is checked.
# Usage: mpi_test.sh RETHINK EXPERIMENTS_DIR MPIRUN
set -u
rethink=$1 exp=$2 mpirun=$3
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cd "$d" || exit 1
# the experiment files copied here: their data and artifacts (relative to them) too
cp "$exp"/*.ini "$exp"/*.claims . && exp=$d
fail() { echo "FAIL: $*"; exit 1; }
q() { sqlite3 "$1" "$2"; }
flags=(--oversubscribe --enable-recovery -np 3)
[ "$(id -u)" -eq 0 ] && flags=(--allow-run-as-root "${flags[@]}")
# a hang fails the test instead of stalling the suite
mpi_sweep() { timeout 300 "$mpirun" "${flags[@]}" "$rethink" sweep "$exp/tiny.ini" "$@"; }
# under ASan/UBSan (scripts/test.sh) a rank's report does not reach mpirun's exit status
clean() { ! grep -q "Sanitizer\|runtime error:" "$1" || { cat "$1"; fail "$1: sanitizer report"; }; }
summary() {
  q "$1" "select t.config_hash, t.status, printf('%.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g',
            r.AP, r.AP50, r.AP75, r.APs, r.APm, r.APl, r.AR1, r.AR10, r.AR100, r.ARs, r.ARm, r.ARl)
          from trials t left join results r on r.trial_id = t.id order by t.config_hash;
          select t.config_hash, c.category_id, printf('%.17g', c.AP) from category_results c
          join trials t on t.id = c.trial_id order by 1, 2;
          select s.config_hash || ' <- ' || p.config_hash from trial_deps x
          join trials s on s.id = x.trial_id join trials p on p.id = x.depends_on order by 1;"
}
# every trial of the study finished exactly once: n finished, n results, integrity ok
all_once() {  # db n
  [ "$(q "$1" "select count(*) from trials where status = 'finished'")" -eq "$2" ] || fail "$1: not $2 finished: $(q "$1" "select status, count(*) from trials group by 1")"
  [ "$(q "$1" "select count(*) from results")" -eq "$2" ] || fail "$1: not $2 results rows"
  [ "$(q "$1" "select count(*) from trials t left join results r on r.trial_id = t.id where r.trial_id is null")" -eq 0 ] || fail "$1: a trial without results"
  [ "$(q "$1" "pragma integrity_check")" = ok ] || fail "$1: integrity_check"
}
# a process and all its descendants (the background job -> timeout -> mpirun -> ranks)
tree() { local c; for c in $(pgrep -P "$1"); do tree "$c"; done; echo "$1"; }
# waits until some trial of rank $2 is running in db $1 and at least $3 trials finished,
# while the job $job runs (however long a loaded machine takes)
wait_running() {
  while kill -0 "$job" 2>/dev/null; do
    sleep 0.2
    w=$(q "$1" "select worker from trials where status = 'running' and worker like '%/rank $2'" 2>/dev/null)
    f=$(q "$1" "select count(*) from trials where status = 'finished'" 2>/dev/null)
    [ -n "$w" ] && [ "${f:-0}" -ge "$3" ] && return 0
  done
  return 1
}

# 1. -j 1 and 3 ranks (artifacts apart, so the ranks pre-train their own backbone)
"$rethink" sweep "$exp/tiny.ini" -j 1 --db ref.db --quiet >ref.txt 2>&1 || { cat ref.txt; fail "-j 1 sweep exited $?"; }
all_once ref.db 32
mpi_sweep --db mpi.db --artifacts art-mpi >mpi.txt 2>&1 || { cat mpi.txt; fail "mpirun sweep exited $?"; }
clean mpi.txt
grep -q "^tiny: 32 finished, 0 failed, 0 left$" mpi.txt || { cat mpi.txt; fail "closing line"; }
all_once mpi.db 32
ls art-mpi/backbone-*.ckpt >/dev/null 2>&1 || fail "--artifacts: no backbone in art-mpi"
summary ref.db >ref.sum
summary mpi.db >mpi.sum
diff ref.sum mpi.sum >/dev/null || { diff ref.sum mpi.sum | head; fail "3 ranks differ from -j 1"; }
[ "$(q mpi.db "select max(attempts) from trials")" -eq 1 ] || fail "a trial ran twice"
[ "$(q mpi.db "select count(distinct worker) from trials where worker like '%/rank 1' or worker like '%/rank 2'")" -eq 2 ] || fail "both worker ranks should have run trials: $(q mpi.db "select worker, count(*) from trials group by 1")"
# the metrics the ranks sent: every trial's curves exactly (but the speed), and the backbones'
# source accuracy (recorded on every trial descended from a backbone)
curves="select t.config_hash, m.name, m.step, printf('%.17g', m.value) from metrics m join trials t on t.id = m.trial_id
        where m.name not in ('img_per_s', 'backbone.source_acc') order by 1, 2, 3;
        select printf('%.17g', value) from metrics where name = 'backbone.source_acc' order by 1"
[ "$(q ref.db "$curves")" = "$(q mpi.db "$curves")" ] || fail "metrics differ from -j 1"
[ "$(q mpi.db "select count(*) from metrics where name = 'loss'")" -eq 64 ] || fail "expected 2 epochs of loss per trial"
# rank 0 recorded what the ranks made and used: the same artifacts (by content) and links as -j 1
arts="select t.config_hash, x.role, a.kind, a.hash, a.cpu_s > 0 from trial_artifacts x join trials t on t.id = x.trial_id
      join artifacts a on a.hash = x.artifact_hash order by 1, 2;
      select a.kind, a.hash, t.config_hash from artifacts a join trials t on t.id = a.trial_id
      where a.kind <> 'backbone' order by 2" # a backbone's maker: whichever of its seed's came first
[ "$(q mpi.db "select count(*) from trial_artifacts")" -eq 48 ] || fail "expected 48 links (backbone, teacher, pseudo of 16 trials each)"
[ "$(q ref.db "$arts")" = "$(q mpi.db "$arts")" ] || fail "artifacts differ from -j 1"
mpi_sweep --db mpi.db --artifacts art-mpi >mpi2.txt 2>&1 || { cat mpi2.txt; fail "second mpirun sweep exited $?"; }
clean mpi2.txt
grep -q "nothing to do" mpi2.txt || { cat mpi2.txt; fail "second mpirun sweep did not say nothing to do"; }
[ "$(q mpi.db "select max(attempts) from trials")" -eq 1 ] || fail "the second sweep ran a trial"

# 2. kill -9 the highest rank mid-trial (the case where Open MPI 4.1's MPI_Finalize hangs);
# 5 s of silence and rank 0 gives its trial to rank 1
mpi_sweep --db kill.db -s trial.seed=1 -s train.epochs=20 --rank-timeout 5 >kill.txt 2>&1 &
job=$!
wait_running kill.db 2 2 || { kill -9 $(tree $job); fail "rank 2 never ran a trial: $(cat kill.txt)"; }
victim=$(q kill.db "select id || ' ' || worker from trials where status = 'running' and worker like '%/rank 2'")
pid=${victim#*:} pid=${pid%%/*} tid=${victim%% *}
kill -9 "$pid" || fail "could not kill rank 2 ($victim)"
wait $job || { cat kill.txt; fail "the sweep with a killed rank exited $?"; }
clean kill.txt
grep -q "rank 2 .*presumed dead; its trial $tid (attempt 1) goes back to pending" kill.txt || { cat kill.txt; fail "rank 2's death not reported"; }
grep -q "^tiny: 16 finished, 0 failed, 0 left (1 rank(s) presumed dead)$" kill.txt || { cat kill.txt; fail "closing line"; }
all_once kill.db 16
[ "$(q kill.db "select attempts from trials where id = $tid")" -eq 2 ] || fail "the killed trial should have finished in attempt 2"
[ "$(q kill.db "select count(*) from trials where attempts > 1")" -eq 1 ] || fail "only the killed trial should run twice"
[ "$(q kill.db "select worker from trials where id = $tid")" != "${victim#* }" ] || fail "the killed trial was not re-run elsewhere"

# 3. rank 0 killed mid-sweep: the job ends by itself; then resumed by the same command
mpi_sweep --db stop.db -s trial.seed=1 -s train.epochs=20 --rank-timeout 5 >stop1.txt 2>&1 &
job=$!
wait_running stop.db 1 2 || { kill -9 $(tree $job); fail "no trial running to interrupt: $(cat stop1.txt)"; }
for p in $(tree $job); do
  tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=0 && rank0=$p
done
kill -9 "${rank0:?rank 0 not found}"
wait $job  # hangs (until timeout 300) if the ranks do not notice
[ "$(grep -c "nothing from rank 0 for .* presumed dead" stop1.txt)" -eq 2 ] || { cat stop1.txt; fail "both worker ranks should stop when rank 0 is gone"; }
before=$(q stop.db "select count(*) from trials where status = 'finished'")
killed=$(q stop.db "select count(*) from trials where status = 'running'")
[ "$before" -lt 16 ] && [ "$killed" -gt 0 ] || fail "the job was not interrupted mid-sweep ($before finished, $killed running)"
mpi_sweep --db stop.db -s trial.seed=1 -s train.epochs=20 >stop2.txt 2>&1 || { cat stop2.txt; fail "resumed sweep exited $?"; }
clean stop2.txt
grep -q "^tiny: 16 finished, 0 failed, 0 left$" stop2.txt || { cat stop2.txt; fail "closing line"; }
grep -q "resuming: $killed trial" stop2.txt || { cat stop2.txt; fail "resume did not reclaim the $killed interrupted trial(s)"; }
all_once stop.db 16
[ "$(q stop.db "select count(*) from trials where attempts > 1")" -eq "$killed" ] || fail "only the interrupted trials should run twice"
echo "mpi: 3 ranks equal -j 1 on 32 trials; a killed rank's trial re-ran on another rank; a job whose rank 0 was killed ($before of 16 finished, $killed running) ended and resumed"
