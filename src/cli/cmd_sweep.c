/* rethink sweep: every trial of an experiment file's grid, on N worker processes, through
 * the store. The plan — the grid, the teachers it implies, stages and shards, teachers
 * registered first and linked to their students, the next runnable trial — is the library's
 * (include/rethink/sweep.h); this file parses, prints and runs processes:
 *   - workers are forked and take trials under leases with a heartbeat; a worker killed at any
 *     moment leaves its trial 'running' with a dead PID, which the next sweep on this host
 *     returns to pending at start (elsewhere the stale heartbeat does it);
 *   - a failing trial does not stop the sweep; it is retried up to its attempt budget;
 *     an interrupted one (out of disk or memory) goes back to pending uncharged and its
 *     worker stops;
 *   - the parent tracks its children by pid and signals only those it has not reaped (so
 *     never a stranger that reused a pid); SIGINT and SIGTERM are passed on to the workers,
 *     which are waited for before the parent exits (128 + the signal), leaving none behind;
 *     a parent killed with -9 takes them with it (PR_SET_PDEATHSIG).
 * --emit-slurm writes the job-array script that runs the plan's stages as shards and merges
 * them (docs/EXPERIMENTS.md §Clusters).
 * The parent never touches OpenMP (workers are forked; libgomp is not fork-safe), so the
 * default dataset is built, when missing, by a forked child before the workers start.
 * Under mpirun (more than one process) rank 0 registers the plan as above and then
 * coordinates ranks 1..N-1 instead of forking workers (sweep_mpi.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "sweep.h"

static const char *HELP =
    "usage: rethink sweep FILE [-j N] [-s key=value ...] [--db FILE] [--artifacts DIR]\n"
    "                          [--dry-run] [--retry-failed] [--quiet | --json]\n"
    "                          [--stage 1|2 [--shard I/N]]\n"
    "       mpirun --enable-recovery -np N rethink sweep FILE [options] [--rank-timeout S]\n"
    "       rethink sweep FILE --emit-slurm [--shards N] [--array-parallelism K]\n"
    "                          [--out-dir DIR] [-j N] [-s key=value ...] > job.sbatch\n"
    "\n"
    "Runs every trial of the experiment file's grid (docs/EXPERIMENTS.md) on N worker\n"
    "processes, recording each in the store. Trials are identified by the hash of their\n"
    "resolved config: re-running a sweep only runs what is not finished, and a sweep stopped\n"
    "at any point (Ctrl-C, kill -9) resumes where it was. A study is the union of its sweeps:\n"
    "a sweep runs (and can fail) only its own grid's trials; failed ones run again with\n"
    "--retry-failed (docs/EXPERIMENTS.md, A study's life).\n";
static const char *MPI_HELP = /* before --rank-timeout */
    "\nMPI (docs/EXPERIMENTS.md, MPI; a build with Open MPI): under mpirun, rank 0 registers\n"
    "the grid, hands trials to ranks 1..N-1 (N-1 workers; -j is ignored) and is the only\n"
    "process that opens the database; --artifacts and study.data must be on a filesystem\n"
    "every rank sees. Give mpirun --enable-recovery: without it Open MPI ends the whole job\n"
    "when one rank dies (the sweep then resumes when run again); with it the dead rank's\n"
    "trial is re-run on another rank, but mpirun exits 0 whatever the sweep's outcome: read\n"
    "its last line.";

/* --shard I/N into int[2] */
static int parse_shard(const char *v, void *dst)
{
    char *end;
    long si = strtol(v, &end, 10), sn = *end == '/' ? strtol(end + 1, &end, 10) : 0;
    if (*end || sn < 1 || sn > 100000 || si < 0 || si >= sn) return -1;
    ((int *)dst)[0] = (int)si, ((int *)dst)[1] = (int)sn;
    return 0;
}

/* s as one single-quoted shell word */
static void sh_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++)
        if (*s == '\'') fputs("'\\''", f);
        else fputc(*s, f);
    fputc('\'', f);
}

typedef struct {
    int shards, parallelism, jobs;
    const char *out_dir;
} slurm_opts;

/* The job-array script of docs/EXPERIMENTS.md §Clusters. Run without arguments (bash) it
 * submits the three jobs chained by afterok; under sbatch its argument picks the job. Every
 * database lives on node-local disk while written and is copied to the shared folder after,
 * because SQLite's locking is not safe on network filesystems. Paths are made absolute so
 * the tasks do not depend on where sbatch is called from (the experiment's own paths are
 * relative to it; the command line's, to the directory the script was written in). */
static int emit_slurm(const char *file, const char **ov, size_t nov, const rk_sweep_plan *p,
                      const char *threads, const slurm_opts *o, rk_err *err)
{
    size_t count[RK_NARMS + 2] = {0}, n = p->n; /* by stage */
    const char *study = p->study;
    for (size_t i = 0; i < n; i++) count[p->t[i].stage]++;
    size_t most = count[1] > count[2] ? count[1] : count[2];
    int shards = o->shards > 0 ? o->shards : (int)(most ? most : 1);
    int par = o->parallelism > 0 ? o->parallelism : shards;
    char exp[PATH_MAX], exe[PATH_MAX], cwd[PATH_MAX], out[PATH_MAX + 64];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (el <= 0) return rk_errf(err, RK_EIO, "cannot find this program's path (/proc/self/exe)");
    exe[el] = 0;
    if (!realpath(file, exp)) return rk_errf(err, RK_EIO, "%s: %s", file, strerror(errno));
    if (!getcwd(cwd, sizeof cwd)) return rk_errf(err, RK_EIO, "getcwd: %s", strerror(errno));
    if (o->out_dir && o->out_dir[0] == '/') snprintf(out, sizeof out, "%s", o->out_dir);
    else if (o->out_dir) snprintf(out, sizeof out, "%s/%s", cwd, o->out_dir);
    else snprintf(out, sizeof out, "%s/slurm-%s", cwd, study);
    int cpus = o->jobs * atoi(threads);
    FILE *f = stdout;
    fprintf(f, "#!/bin/bash\n"
               "# Slurm job array for study '%s' (%s), written by `rethink sweep --emit-slurm`.\n"
               "# %zu trials: stage 1 = %zu supervised trials (baselines and teachers), stage 2 =\n"
               "# %zu self-training students; each stage runs as %d array tasks, at most %d at once.\n"
               "#\n"
               "# Submit everything (three jobs chained with afterok):  bash job.sbatch\n"
               "#   stage1  task i runs shard i/N of stage 1 into a database on node-local disk\n"
               "#           and copies it to $OUT/stage1/shard-i.db;\n"
               "#   stage2  task i merges the stage-1 shards into its own local database (its\n"
               "#           students find their teachers finished; their checkpoints are in the\n"
               "#           shared study.artifacts folder), runs shard i/N of stage 2 and copies\n"
               "#           it to $OUT/stage2/shard-i.db;\n"
               "#   merge   folds every shard into $OUT/results.db.\n"
               "# A task run again resumes from its copied shard: finished trials are not re-run.\n"
               "# A task cancelled (scancel) or out of time publishes what it finished first; the\n"
               "# jobs after it are then cancelled: run `bash job.sbatch` again to resume.\n"
               "#SBATCH --job-name=rethink-%s\n"
               "#SBATCH --array=0-%d%%%d\n"
               "#SBATCH --cpus-per-task=%d\n"
               "#SBATCH --output=%s/logs/%%x-%%A_%%a.out\n"
               "set -euo pipefail\n",
            study, exp, n, count[1], count[2], shards, par, study, shards - 1, par, cpus, out);
    fputs("RETHINK=${RETHINK:-", f);
    sh_quote(f, exe);
    fputs("}\nEXP=", f);
    sh_quote(f, exp);
    fputs("\nOUT=", f);
    sh_quote(f, out);
    fputs("\nWORKDIR=", f);
    sh_quote(f, cwd);
    fprintf(f, "\nN=%d\nJOBS=%d\nSTAGE2=%d\nOVERRIDES=(", shards, o->jobs, count[2] > 0);
    for (size_t i = 0; i < nov; i++) {
        fputs(i ? " -s " : "-s ", f);
        sh_quote(f, ov[i]);
    }
    fputs(")\n"
          "LOCAL=${TMPDIR:-/tmp}\n"
          "cd \"$WORKDIR\"  # paths given with -s or --artifacts are relative to it\n"
          "mkdir -p \"$OUT/logs\" \"$OUT/stage1\" \"$OUT/stage2\"\n"
          "\n"
          "shards() {  # the N shard files of stage $1\n"
          "  local k; for ((k = 0; k < N; k++)); do echo \"$OUT/stage$1/shard-$k.db\"; done\n"
          "}\n"
          "publish() {  # copy a local database to the shared folder, the file whole or not at all\n"
          "  # (with its WAL when a killed writer left one: the pair is consistent, a WAL that\n"
          "  # does not match its file is ignored by SQLite)\n"
          "  rm -f \"$2-wal\"\n"
          "  if [ -s \"$1-wal\" ]; then cp \"$1-wal\" \"$2-wal.part\" && mv \"$2-wal.part\" \"$2-wal\"; fi\n"
          "  cp \"$1\" \"$2.part\" && mv \"$2.part\" \"$2\"\n"
          "}\n"
          "run_stage() {  # stage 1|2 of array task $SLURM_ARRAY_TASK_ID\n"
          "  local s=$1 i=${SLURM_ARRAY_TASK_ID:?not an array task} rc=0\n"
          "  local db=\"$LOCAL/rethink-${SLURM_JOB_ID:-local}-s$s-$i.db\"\n"
          "  rm -f \"$db\" \"$db-wal\" \"$db-shm\"\n"
          "  if [ -f \"$OUT/stage$s/shard-$i.db\" ]; then\n"
          "    cp \"$OUT/stage$s/shard-$i.db\" \"$db\"\n"
          "    if [ -s \"$OUT/stage$s/shard-$i.db-wal\" ]; then cp \"$OUT/stage$s/shard-$i.db-wal\" \"$db-wal\"; fi\n"
          "  fi\n"
          "  if [ \"$s\" = 2 ]; then\n"
          "    local -a s1; mapfile -t s1 < <(shards 1)\n"
          "    \"$RETHINK\" merge --quiet \"${s1[@]}\" --db \"$db\"\n"
          "  fi\n"
          "  # scancel (or a time limit) signals every process of the task: the sweep stops its\n"
          "  # trials and exits; the shell, told to carry on, then publishes what finished, so\n"
          "  # that the task run again resumes there\n"
          "  trap 'rc=143' TERM INT\n"
          "  \"$RETHINK\" sweep \"$EXP\" ${OVERRIDES[@]+\"${OVERRIDES[@]}\"} --stage \"$s\" --shard \"$i/$N\" -j \"$JOBS\" \\\n"
          "    --db \"$db\" --quiet || { r=$?; [ \"$rc\" -ne 0 ] || rc=$r; }\n"
          "  trap - TERM INT\n"
          "  publish \"$db\" \"$OUT/stage$s/shard-$i.db\"\n"
          "  rm -f \"$db\" \"$db-wal\" \"$db-shm\"\n"
          "  return $rc\n"
          "}\n"
          "\n"
          "case ${1:-submit} in\n"
          "submit)\n"
          "  if [ -n \"${SLURM_JOB_ID:-}\" ]; then\n"
          "    echo \"submit with 'bash $0', not sbatch (it submits the stages itself)\" >&2; exit 2\n"
          "  fi\n"
          "  # a failed or cancelled task cancels the jobs after it (--kill-on-invalid-dep); run\n"
          "  # `bash job.sbatch` again once its jobs are gone: every task resumes from its shard\n"
          "  j=$(sbatch --parsable \"$0\" stage1); j=${j%%;*}  # --parsable: ID[;CLUSTER]\n"
          "  echo \"stage1: job $j\"\n"
          "  if [ \"$STAGE2\" = 1 ]; then\n"
          "    j=$(sbatch --parsable --kill-on-invalid-dep=yes --dependency=afterok:$j \"$0\" stage2)\n"
          "    j=${j%%;*}\n"
          "    echo \"stage2: job $j\"\n"
          "  fi\n"
          "  j=$(sbatch --parsable --kill-on-invalid-dep=yes --dependency=afterok:$j --array=0 \"$0\" merge)\n"
          "  echo \"merge: job ${j%%;*} ($OUT/results.db)\"\n"
          "  ;;\n"
          "stage1) run_stage 1 ;;\n"
          "stage2) run_stage 2 ;;\n"
          "merge)\n"
          "  db=\"$LOCAL/rethink-${SLURM_JOB_ID:-local}-results.db\"\n"
          "  rm -f \"$db\" \"$db-wal\" \"$db-shm\"\n"
          "  mapfile -t all < <(shards 1; if [ \"$STAGE2\" = 1 ]; then shards 2; fi)\n"
          "  \"$RETHINK\" merge \"${all[@]}\" --db \"$db\"\n"
          "  publish \"$db\" \"$OUT/results.db\"\n"
          "  rm -f \"$db\" \"$db-wal\" \"$db-shm\"\n"
          "  ;;\n"
          "*) echo \"usage: bash $0 [submit|stage1|stage2|merge]\" >&2; exit 2 ;;\n"
          "esac\n", f);
    return fflush(f) ? rk_errf(err, RK_EIO, "writing the script: %s", strerror(errno)) : 0;
}

/* What the command line asked for, once parsed. */
typedef struct sweep_opts {
    const char *db_path;
    const char *history; /* --history: another database whose finished trials inform ETAs */
    int jobs, dry, quiet, json, retry;
    double rank_timeout, every_s;
} sweep_opts;

void sweep_say(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "%s\n", msg);
}

/* ---- the dry run: the plan and its estimated time ---- */

/* The steps column: a fixed budget, "~N" the mean of its cell's finished trials (plateau),
 * "~N*" borrowed from the same arm and fraction at other policies, "<=N" a plateau
 * schedule's budget, an upper bound. */
static const char *steps_text(const rk_sweep_trial *t, char *buf, size_t cap)
{
    if (t->step_images <= 0) snprintf(buf, cap, "?");
    else if (t->bound) snprintf(buf, cap, "<=%ld", t->max_steps);
    else if (t->history) snprintf(buf, cap, "~%.0f%s", t->steps, t->borrowed ? "*" : "");
    else snprintf(buf, cap, "%.0f", t->steps);
    return buf;
}

static void print_plan(const rk_sweep_plan *p, size_t to_run, size_t retried)
{
    printf("%-5s %-20s %-4s %-8s %-5s %-10s %-8s %-16s %s\n", "#", "arm", "aug", "fraction",
           "seed", "status", "steps", "hash", "depends on");
    for (size_t i = 0; i < p->n; i++) {
        const rk_sweep_trial *t = &p->t[i];
        if (!t->selected) continue;
        const rk_config *g = &t->cfg;
        char steps[32];
        printf("%-5zu %-20s %-4s %-8s %-5s %-10s %-8s %.16s %s%.16s%s\n", i,
               rk_config_get(g, "trial.arm"), rk_config_get(g, "trial.aug"),
               rk_config_get(g, "trial.fraction"), rk_config_get(g, "trial.seed"),
               t->id ? rk_trial_status_name(t->status) : "new",
               t->status == RK_TRIAL_FINISHED ? "" : steps_text(t, steps, sizeof steps), t->hash,
               t->teacher >= 0 ? "teacher " : "", t->teacher >= 0 ? p->t[t->teacher].hash : "",
               t->implied ? " (implied teacher)" : "");
    }
    rk_trial_counts c;
    rk_sweep_counts(p, &c);
    if (p->stage)
        printf("\nstage %d, shard %d/%d: %zu of the %zu trials\n", p->stage, p->shard, p->nshards,
               p->nselected, p->n);
    size_t borrowed = 0;
    for (size_t i = 0; i < p->n; i++) borrowed += p->t[i].selected && p->t[i].borrowed;
    if (borrowed)
        printf("~N*: %zu trial%s without a finished trial of their own cell expect the mean steps "
               "of the same arm and fraction at other policies (stronger augmentation trains "
               "longer: an estimate, not a bound)\n", borrowed, borrowed > 1 ? "s" : "");
    printf("\n%zu trials (%zu in the grid, %zu implied teachers), %zu to run", p->n, p->ngrid,
           p->n - p->ngrid, to_run);
    if (retried) printf(" (%zu failed, to be retried)", retried);
    else if (c.failed) printf(" (%zu failed: --retry-failed runs them again)", c.failed);
    printf("\n");
    fflush(stdout);
}

static void print_estimate(const rk_sweep_estimate *e, int jobs)
{
    if (!e->nshapes) return; /* nothing to run */
    printf("about %.0f k training images; training steps on this machine:", e->images / 1000);
    for (size_t k = 0; k < e->nshapes; k++) {
        const rk_sweep_shape *s = &e->shape[k];
        printf(k ? ";" : "");
        if (isfinite(s->rate)) printf(" %.0f img/s", s->rate);
        else printf(" cannot run");
        printf(" (%s, %d img/step, %d thread%s)", s->bf16 ? "bf16" : "f32", s->step_images,
               s->threads, s->threads > 1 ? "s" : "");
    }
    printf("\n");
    double wall = e->wall_s, wall32 = e->wall_f32_s, total = e->train_s;
    const char *le = e->nbound ? "at most " : "";
    if (!isfinite(wall)) {
        printf("no time estimate: %s\n", e->why);
        if (isfinite(wall32))
            printf("in f32 (-s train.precision=f32) it would take %s~%.*f min at -j %d\n", le,
                   wall32 < 600, wall32 / 60, jobs);
        return;
    }
    printf("estimated %s%.*f min at -j %d", le, wall < 600, wall / 60, jobs);
    if (e->par < jobs) printf(" on %ld cores", e->cores);
    printf(" (%.*f min of training on one worker; pre-training extra)\n", total < 600,
           total / 60);
    if (e->nbound)
        printf("upper bound: %zu trial%s (steps <=N above, %.0f k of the images) train with the "
               "plateau schedule and no finished trial of their cell yet, so their whole step "
               "budget is counted; they stop when dev AP stops improving\n", e->nbound,
               e->nbound > 1 ? "s" : "", e->images_bound / 1000);
    if (e->slower >= 0 && isfinite(wall32)) {
        const rk_sweep_shape *s = &e->shape[e->slower];
        printf("note: bf16 trains slower than f32 on this CPU (%.0f vs %.0f img/s at %d "
               "img/step): -s train.precision=f32 would take ~%.*f min (other bits, the same "
               "AP within about a point: docs/STUDY.md)\n",
               s->rate, s->rate_f32, s->step_images, wall32 < 600, wall32 / 60);
    }
}

/* ---- workers ---- */

void sweep_label(char *buf, size_t cap, const char *who, const rk_config *cfg)
{
    snprintf(buf, cap, "[%s] %s %s f=%s s=%s", who, rk_config_get(cfg, "trial.arm"),
             rk_config_get(cfg, "trial.aug"), rk_config_get(cfg, "trial.fraction"),
             rk_config_get(cfg, "trial.seed"));
}

/* A worker's events go to the parent through a pipe (one write of a run_event is atomic);
 * if the parent is gone (EPIPE) the worker goes on without telling anyone. */
static void to_parent(void *ctx, const run_event *e)
{
    int *fd = ctx;
    ssize_t w;
    if (*fd < 0) return;
    while ((w = write(*fd, e, sizeof *e)) < 0 && errno == EINTR) {}
    if (w < 0) *fd = -1;
}

static int worker(const char *db_path, const rk_sweep_plan *p, int slot, int fd)
{
    rk_store *db = NULL;
    rk_err err = {0};
    run_sink sink = {.fn = to_parent, .ctx = &fd, .slot = slot};
    run_event e;
    if (rk_store_open(&db, db_path, &err)) {
        e = run_event_make(EV_ERROR, slot, NULL);
        snprintf(e.text, sizeof e.text, "worker %d: %s", slot, err.msg);
        to_parent(&fd, &e);
        return 1;
    }
    char host[64] = "", name[128];
    gethostname(host, sizeof host - 1);
    snprintf(name, sizeof name, "%s:%d/%d", host, (int)getpid(), slot);
    int failures = 0, broken = 0;
    for (;;) {
        rk_acquire_opts o = {.study = p->study, .worker = name, .host = host,
                             .git_rev = cli_git_rev()};
        rk_trial t;
        int got = 0, k = -1, left = 0;
        if ((broken = rk_sweep_take(db, p, &o, &t, &got, &k, &left, &err))) {
            e = run_event_make(EV_ERROR, slot, NULL);
            snprintf(e.text, sizeof e.text, "worker %d: %s", slot, err.msg);
            to_parent(&fd, &e);
            break;
        }
        if (!got) {
            if (!left) break;
            sleep(1); /* waiting for a teacher or for trials held by others */
            continue;
        }
        rk_trial_result res;
        char label[96], who[16];
        snprintf(who, sizeof who, "%d", slot);
        sweep_label(label, sizeof label, who, &p->t[k].cfg);
        int rc = run_trial(db, db_path, &t, &p->t[k].cfg, label, &sink, &res, &err);
        if (!rc) {
            if (!(rc = rk_sweep_finish(db, &t, &res, &err))) {
                e = run_done_event(&sink, label, &t, &res);
                to_parent(&fd, &e);
            }
            rk_trial_result_free(&res);
        }
        if (rc && rk_rc_interrupted(rc)) {
            /* not the trial's fault (a full disk, no memory): it goes back to pending
             * uncharged, and this worker stops rather than meet the same wall again */
            rk_err e2 = {0};
            rk_store_trial_fail(db, t.id, t.attempts, rc, err.msg, 1, &e2);
            e = run_event_make(EV_ERROR, slot, NULL);
            snprintf(e.text, sizeof e.text, "worker %d: trial %lld interrupted (attempt %d, not "
                     "counted): %.200s; the worker stops", slot, (long long)t.id, t.attempts,
                     err.msg);
            to_parent(&fd, &e);
            rk_trial_clear(&t);
            broken = 1;
            break;
        }
        if (rc) {
            rk_err e2 = {0};
            rk_trial now = {0};
            int found = 0;
            rk_store_trial_fail(db, t.id, t.attempts, rc, err.msg, 1, &e2);
            int retry = !rk_store_trial_get(db, t.id, &now, &found, &e2) && found &&
                        now.status == RK_TRIAL_PENDING;
            rk_trial_clear(&now);
            e = run_failed_event(&sink, label, &t, err.msg, retry);
            to_parent(&fd, &e);
            failures++;
        }
        rk_trial_clear(&t);
    }
    rk_store_close(db);
    return broken ? 1 : failures ? 3 : 0;
}

static int build_data_child(const rk_config *cfg)
{
    rk_err err = {0};
    if (rk_trial_prepare_data(cfg, sweep_say, NULL, &err)) {
        fprintf(stderr, "rethink sweep: %s\n", err.msg);
        return 1;
    }
    return 0;
}

int sweep_mpi_size(void)
{
    const char *s = getenv("OMPI_COMM_WORLD_SIZE");
    int n = s ? atoi(s) : 1;
    return n > 1 ? n : 1;
}

/* ---- the parent's children: tracked by pid, signalled only until reaped ---- */

static volatile sig_atomic_t stop_sig; /* SIGINT or SIGTERM: stop the sweep */
static void on_stop(int sig) { stop_sig = sig; }

typedef struct child {
    pid_t pid; /* 0: not started */
    int reaped, status;
} child;

/* fork() with SIGINT and SIGTERM held back across it, so that the child, which takes their
 * default actions back before letting them through, never runs the parent's handler. The
 * child gets SIGTERM when the parent dies (a parent killed with -9 cannot pass a signal on:
 * its children would run on as orphans); one whose parent died before that was set ends. */
static pid_t spawn(void)
{
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop, &old);
    pid_t parent = getpid(), pid = fork();
    int e = errno;
    if (pid == 0) {
        signal(SIGINT, SIG_DFL), signal(SIGTERM, SIG_DFL);
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) _exit(1);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return pid;
}

/* Reaps, without waiting, those of the n children that ended. Returns how many still run,
 * or -1 (errno) when waitpid fails: then they cannot be accounted for. */
static int reap(child *k, int n)
{
    int live = 0;
    for (int j = 0; j < n; j++) {
        if (k[j].pid <= 0 || k[j].reaped) continue;
        pid_t r;
        while ((r = waitpid(k[j].pid, &k[j].status, WNOHANG)) < 0 && errno == EINTR) {}
        if (r < 0) return -1;
        if (r == k[j].pid) k[j].reaped = 1;
        else live++;
    }
    return live;
}

/* SIGTERM to the children not reaped yet: until reaped, a pid is still our child's. */
static void stop_children(const child *k, int n)
{
    for (int j = 0; j < n; j++)
        if (k[j].pid > 0 && !k[j].reaped) kill(k[j].pid, SIGTERM);
}

/* How the parent spends its time while children run: reading fd (may be -1) when it has
 * something (on_read), and tick between looks while no stop signal came. */
typedef struct waiter {
    int fd, poll_ms;
    void (*on_read)(void *ctx, int fd);
    void (*tick)(void *ctx);
    void *ctx;
} waiter;

/* Waits for the n children, passing a stop signal on to them once. Returns 0, or -1
 * (errno). */
static int wait_children(child *k, int n, const waiter *w)
{
    int live, passed = 0;
    while ((live = reap(k, n)) > 0) {
        if (stop_sig && !passed) stop_children(k, n), passed = 1;
        if (w->tick && !passed) w->tick(w->ctx);
        struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
        int r = poll(&pfd, w->fd >= 0, passed ? 20 : w->poll_ms); /* EINTR: a signal */
        if (r > 0 && w->on_read) w->on_read(w->ctx, w->fd);
    }
    return live;
}

/* The dataset, before the workers: built by a child (the parent stays free of OpenMP).
 * Returns the exit code. */
static int build_data(const rk_sweep_plan *p)
{
    child b = {.pid = spawn()};
    if (b.pid == 0) _exit(build_data_child(&p->t[0].cfg));
    waiter w = {.fd = -1, .poll_ms = 100};
    if (b.pid < 0 || wait_children(&b, 1, &w)) {
        fprintf(stderr, "rethink sweep: %s the dataset build: %s\n",
                b.pid < 0 ? "starting" : "waiting for", strerror(errno));
        if (b.pid > 0) stop_children(&b, 1);
        return 1;
    }
    if (stop_sig) return 128 + stop_sig;
    if (WIFSIGNALED(b.status))
        fprintf(stderr, "rethink sweep: the dataset build ended by signal %d\n",
                WTERMSIG(b.status));
    return WIFEXITED(b.status) && WEXITSTATUS(b.status) == 0 ? 0 : 1; /* it said why */
}

/* ---- progress and its ETA, from the cost model ---- */

/* j as one line on stdout, then freed (NULL: out of memory, nothing). */
static void json_line(cJSON *j)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    if (s) printf("%s\n", s);
    free(s);
    cJSON_Delete(j);
}


/* The parent's view of a running sweep: its workers' events, the plan's statuses read back
 * every few seconds, and each trial's images trained so far. The ETA is the images left
 * (rk_sweep_expect: steps times images per step, less what running trials trained) over
 * the rate measured since the workers started (every image trained in this run, whatever
 * worker trained it); an upper bound while trials of a plateau schedule have only their
 * budget to go by. */
typedef struct watch {
    const sweep_opts *o;
    rk_sweep_plan *p;
    rk_store *db;      /* the parent's read connection (NULL: no statuses) */
    rk_store *history; /* --history, read-only (NULL: none) */
    progress *g;
    double *done;      /* per plan trial: images trained in its current attempt */
    double images;     /* trained by this run's workers */
    double t0, last_read, last_json;
    int dirty;         /* a trial ended: read statuses and expectations again */
    char buf[sizeof(run_event) * 16];
    size_t have;
} watch;

static int index_of(const rk_sweep_plan *p, int64_t id)
{
    for (size_t i = 0; id && i < p->n; i++)
        if (p->t[i].id == id) return (int)i;
    return -1;
}

static void trained(watch *w, int k, double images)
{
    if (k < 0) return;
    if (images > w->done[k]) w->images += images - w->done[k];
    w->done[k] = images;
}

static void on_event(watch *w, const run_event *e)
{
    int k = index_of(w->p, e->trial);
    double per = k >= 0 ? w->p->t[k].step_images : 0;
    if (e->kind == EV_START && k >= 0) w->done[k] = 0; /* a new attempt starts over */
    if (e->kind == EV_STEP || e->kind == EV_DONE) trained(w, k, (double)e->step * per);
    if (e->kind == EV_DONE || e->kind == EV_FAILED) w->dirty = 1;
    if (k >= 0 && e->kind == EV_START) w->p->t[k].status = RK_TRIAL_RUNNING; /* until read */
    if (k >= 0 && e->kind == EV_DONE) w->p->t[k].status = RK_TRIAL_FINISHED;
    if (k >= 0 && e->kind == EV_FAILED)
        w->p->t[k].status = e->retry ? RK_TRIAL_PENDING : RK_TRIAL_FAILED;
    progress_event(w->g, e);
}

static void read_events(void *ctx, int fd)
{
    watch *w = ctx;
    ssize_t r;
    while ((r = read(fd, w->buf + w->have, sizeof w->buf - w->have)) > 0) {
        w->have += (size_t)r;
        size_t used = 0;
        for (; w->have - used >= sizeof(run_event); used += sizeof(run_event)) {
            run_event e;
            memcpy(&e, w->buf + used, sizeof e);
            e.label[sizeof e.label - 1] = e.stop[sizeof e.stop - 1] = e.text[sizeof e.text - 1] = 0;
            on_event(w, &e);
        }
        memmove(w->buf, w->buf + used, w->have - used);
        w->have -= used;
    }
}

/* Seconds left, NAN until something was trained; *bound: an upper bound. */
static double eta(const watch *w, int *bound)
{
    double left = 0, el = rk_now() - w->t0;
    *bound = 0;
    for (size_t i = 0; i < w->p->n; i++) {
        const rk_sweep_trial *t = &w->p->t[i];
        if (!t->selected || (t->status != RK_TRIAL_PENDING && t->status != RK_TRIAL_RUNNING))
            continue;
        double total = t->steps * t->step_images;
        left += total > w->done[i] ? total - w->done[i] : 0;
        *bound |= t->bound;
    }
    return w->images > 0 && el > 1 ? left / (w->images / el) : NAN;
}

static void duration(char *buf, size_t cap, double s)
{
    if (!isfinite(s)) snprintf(buf, cap, "?");
    else if (s < 90) snprintf(buf, cap, "%.0f s", s);
    else if (s < 5400) snprintf(buf, cap, "%.0f min", s / 60);
    else snprintf(buf, cap, "%.1f h", s / 3600);
}

static void tick(void *ctx)
{
    watch *w = ctx;
    double now = rk_now();
    if (w->db && (w->dirty || now - w->last_read >= 2)) {
        size_t to_run;
        rk_err err = {0};
        if (!rk_sweep_refresh(w->db, w->p, &to_run, &err) && w->dirty)
            rk_sweep_expect(w->db, w->history, w->p, &err); /* a finished plateau trial informs the rest */
        w->dirty = 0, w->last_read = now;
    }
    rk_trial_counts c;
    rk_sweep_counts(w->p, &c);
    int bound;
    double s = eta(w, &bound);
    char left[32], line[256];
    duration(left, sizeof left, s);
    int m = snprintf(line, sizeof line, "%zu/%zu done", c.finished, w->p->nselected);
    if (c.failed) m += snprintf(line + m, sizeof line - (size_t)m, ", %zu failed", c.failed);
    snprintf(line + m, sizeof line - (size_t)m, ", ETA %s%s", bound && isfinite(s) ? "<= " : "",
             left);
    progress_status(w->g, line, 0);
    if (progress_mode_of(w->g) == PROG_JSON && now - w->last_json >= w->o->every_s) {
        cJSON *j = cJSON_CreateObject();
        w->last_json = now;
        cJSON_AddStringToObject(j, "event", "progress");
        cJSON_AddNumberToObject(j, "finished", (double)c.finished);
        cJSON_AddNumberToObject(j, "failed", (double)c.failed);
        cJSON_AddNumberToObject(j, "running", (double)c.running);
        cJSON_AddNumberToObject(j, "pending", (double)c.pending);
        if (isfinite(s)) {
            cJSON_AddNumberToObject(j, "eta_s", round(s));
            cJSON_AddBoolToObject(j, "eta_upper_bound", bound);
        }
        json_line(j);
    }
}

/* Forks o->jobs workers and waits for them, showing their progress on g; a stop signal is
 * passed on. Returns 0, or 1 if a worker could not be started or waited for (the started
 * ones are stopped and reaped). */
static int run_workers(const sweep_opts *o, rk_sweep_plan *p, progress *g)
{
    child *kids = calloc((size_t)o->jobs, sizeof *kids);
    watch w = {.o = o, .p = p, .g = g, .done = calloc(p->n + 1, sizeof(double)),
               .t0 = rk_now()};
    int fds[2] = {-1, -1};
    if (!kids || !w.done || pipe(fds) != 0) {
        fprintf(stderr, "rethink sweep: %s\n", kids && w.done ? strerror(errno) : "out of memory");
        free(kids), free(w.done);
        return 1;
    }
    int n = 0, rc = 0;
    for (; n < o->jobs && !stop_sig; n++) {
        kids[n].pid = spawn();
        if (kids[n].pid == 0) {
            close(fds[0]);
            signal(SIGPIPE, SIG_IGN); /* a parent gone is an EPIPE, not a death */
            _exit(worker(o->db_path, p, n, fds[1]));
        }
        if (kids[n].pid < 0) {
            fprintf(stderr, "rethink sweep: cannot start worker %d: %s\n", n, strerror(errno));
            stop_children(kids, n);
            rc = 1;
            break;
        }
    }
    close(fds[1]);
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    rk_err err = {0};
    if (rk_store_open_readonly(&w.db, o->db_path, &err)) w.db = NULL; /* no progress counts */
    if (o->history && rk_store_open_readonly(&w.history, o->history, &err)) w.history = NULL;
    waiter wt = {.fd = fds[0], .poll_ms = 250, .on_read = read_events, .tick = rc ? NULL : tick,
                 .ctx = &w};
    if (wait_children(kids, n, &wt)) {
        fprintf(stderr, "rethink sweep: waiting for the workers: %s\n", strerror(errno));
        stop_children(kids, n);
        rc = 1;
    }
    read_events(&w, fds[0]); /* what they said last */
    close(fds[0]);
    rk_store_close(w.db);
    rk_store_close(w.history);
    for (int j = 0; j < n && !stop_sig; j++)
        if (kids[j].reaped && WIFSIGNALED(kids[j].status))
            progress_print(g, stderr, "rethink sweep: worker %d (pid %d) ended by signal %d\n", j,
                           (int)kids[j].pid, WTERMSIG(kids[j].status));
    free(kids), free(w.done);
    return rc;
}

/* ---- the sweep ---- */

/* What every sweep does before it runs anything: registers the plan's selection, returns
 * dead workers' trials to pending, re-queues its failed trials when asked, and reads the
 * statuses and the trials' expected cost. A dry run does none of the writing: it only
 * looks the trials up in the database, if there is one (opened read-only), and counts
 * failed trials as retried when asked. *db: open (read-write; NULL for a dry run). Returns
 * the exit code. */
static int prepare(const sweep_opts *o, rk_sweep_plan *p, rk_store **db, size_t *to_run,
                   size_t *retried)
{
    rk_err err = {0};
    size_t reclaimed = 0;
    int rc;
    *db = NULL, *retried = 0;
    rk_store *hist = NULL;
    rc = o->history ? rk_store_open_readonly(&hist, o->history, &err) : RK_OK;
    if (rc) {
        fprintf(stderr, "rethink sweep: --history: %s\n", err.msg);
        return rc;
    } else if (o->dry) {
        struct stat st;
        rk_store *ro = NULL;
        rc = stat(o->db_path, &st) == 0 ? rk_store_open_readonly(&ro, o->db_path, &err) : 0;
        if (!rc) rc = rk_sweep_lookup(ro, p, to_run, &err);
        for (size_t i = 0; !rc && o->retry && i < p->n; i++)
            if (p->t[i].needed && p->t[i].status == RK_TRIAL_FAILED)
                p->t[i].status = RK_TRIAL_PENDING, ++*retried, *to_run += p->t[i].selected;
        if (!rc) rc = rk_sweep_expect(ro, hist, p, &err);
        rk_store_close(ro);
    } else {
        rc = rk_store_open(db, o->db_path, &err);
        if (!rc) rc = rk_sweep_register(*db, p, &err);
        if (!rc) rc = rk_sweep_reclaim_dead(*db, p->study, &reclaimed, &err);
        if (!rc) rc = rk_sweep_refresh(*db, p, to_run, &err);
        if (!rc && o->retry && !(rc = rk_sweep_retry_failed(*db, p, retried, &err)))
            rc = rk_sweep_refresh(*db, p, to_run, &err);
        if (!rc) rc = rk_sweep_expect(*db, hist, p, &err);
    }
    rk_store_close(hist);
    if (rc) {
        fprintf(stderr, "rethink sweep: %s\n", err.msg);
        rk_store_close(*db);
        *db = NULL;
        return rc;
    }
    if (reclaimed && !o->quiet && !o->json)
        printf("resuming: %zu trial(s) interrupted in an earlier run go back to pending\n", reclaimed);
    if (*retried && !o->dry && !o->quiet && !o->json)
        printf("retrying: %zu failed trial(s) of this grid go back to pending\n", *retried);
    int m = rk_sweep_missing_teacher(p);
    if (m >= 0) {
        const rk_sweep_trial *t = &p->t[m];
        fprintf(stderr, "rethink sweep: stage %d needs its teachers finished in %s, but "
                        "teacher %.16s (%s, seed %s) is %s: merge the stage-1 shards into it "
                        "first (rethink merge SHARD... --db %s)\n",
                p->stage, o->db_path, t->hash, rk_config_get(&t->cfg, "trial.arm"),
                rk_config_get(&t->cfg, "trial.seed"), rk_trial_status_name(t->status), o->db_path);
        rk_store_close(*db);
        *db = NULL;
        return 1;
    }
    return 0;
}

/* --json's last event: the plan's trials by outcome, the study's others. */
static void json_end(const char *study, const rk_trial_counts *c, size_t left, size_t others,
                     int stopped)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "event", "end");
    cJSON_AddStringToObject(j, "study", study);
    cJSON_AddNumberToObject(j, "finished", (double)c->finished);
    cJSON_AddNumberToObject(j, "failed", (double)c->failed);
    cJSON_AddNumberToObject(j, "left", (double)left);
    cJSON_AddNumberToObject(j, "other_trials", (double)others);
    if (stopped) cJSON_AddBoolToObject(j, "interrupted", 1);
    json_line(j);
}

/* "nothing to do" (returns 0), or the sweep's first line (returns 1). */
static int announce(const sweep_opts *o, const rk_sweep_plan *p, size_t to_run, int workers,
                    const char *what)
{
    if (to_run == 0) {
        rk_trial_counts c;
        rk_sweep_counts(p, &c);
        const char *which = p->stage ? " of this stage and shard" : "";
        if (o->json) json_end(p->study, &c, 0, 0, 0); /* the end, at once */
        else if (c.failed)
            printf("nothing to run: of the %zu trials%s of study '%s', %zu finished and %zu "
                   "failed (in %s): the same command with --retry-failed runs the failed ones "
                   "again\n", p->nselected, which, p->study, c.finished, c.failed, o->db_path);
        else
            printf("nothing to do: all %zu trials%s of study '%s' are finished (in %s)\n",
                   p->nselected, which, p->study, o->db_path);
        return 0;
    }
    if (o->json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "event", "sweep");
        cJSON_AddStringToObject(j, "study", p->study);
        cJSON_AddNumberToObject(j, "trials", (double)p->nselected);
        cJSON_AddNumberToObject(j, "to_run", (double)to_run);
        cJSON_AddNumberToObject(j, "workers", workers);
        json_line(j);
    } else if (!o->quiet)
        printf("sweep '%s': %zu trials, %zu to run, %d %s%s, database %s\n", p->study, p->n,
               to_run, workers, what, workers == 1 ? "" : "s", o->db_path);
    fflush(stdout);
    return 1;
}

/* The sweep's closing line, from this plan's statuses (*c: its selected trials by status)
 * and the study's other trials (other sweeps' grids, left as they were); lost: MPI ranks
 * presumed dead; stopped: by a signal; resume: say how to resume when trials are left. */
static int closing_line(rk_store *db, const sweep_opts *o, rk_sweep_plan *p, size_t lost,
                        int stopped, int resume, rk_trial_counts *c, rk_err *err)
{
    rk_trial_counts s;
    size_t to_run, mine = 0;
    int rc = rk_sweep_refresh(db, p, &to_run, err);
    if (!rc) rc = rk_store_counts(db, p->study, &s, err);
    if (rc) return rc;
    rk_sweep_counts(p, c);
    for (size_t i = 0; i < p->n; i++) mine += p->t[i].needed;
    size_t left = c->pending + c->running, all = s.pending + s.running + s.finished + s.failed;
    size_t others = all > mine ? all - mine : 0;
    if (o->json) {
        json_end(p->study, c, left, others, stopped);
        return 0;
    }
    printf("%s: %zu finished, %zu failed, %zu left", p->study, c->finished, c->failed, left);
    if (lost) printf(" (%zu rank(s) presumed dead)", lost);
    if (stopped) printf(" (interrupted: run the same command to resume)");
    else if (resume && left) printf(" (run the same command to resume)");
    if (c->failed && !stopped) printf(" (--retry-failed runs the failed ones again)");
    if (others) printf("; %zu other trial(s) of the study, not in this grid, left as they are", others);
    printf("\n");
    return 0;
}

/* bf16 trials on a CPU without bf16 kernels would each fail at their first step: said
 * once, before any starts (MPI ranks may run on other machines; they report per trial).
 * Returns the exit code. */
static int bf16_here(const rk_sweep_plan *p)
{
    size_t nbf16 = 0;
    for (size_t i = 0; !rk_dnnl_has_bf16() && i < p->n; i++)
        nbf16 += p->t[i].selected &&
                 (p->t[i].status == RK_TRIAL_PENDING || p->t[i].status == RK_TRIAL_RUNNING) &&
                 !strcmp(rk_config_get(&p->t[i].cfg, "train.precision"), "bf16");
    if (!nbf16) return 0;
    fprintf(stderr, "rethink sweep: %zu of the trials to run set train.precision = bf16, but "
                    "this CPU has no bf16 kernels (oneDNN needs AVX-512, and AVX512-BF16 or "
                    "AMX to be fast): run them on such a CPU, or train in f32 with -s "
                    "train.precision=f32 (a different cell: f32 and bf16 trials are not "
                    "pooled)\n", nbf16);
    return 2;
}

/* On this machine: forked workers. */
static int sweep_local(const sweep_opts *o, rk_sweep_plan *p)
{
    rk_store *db = NULL;
    size_t to_run = 0, retried = 0;
    int rc = prepare(o, p, &db, &to_run, &retried);
    if (!rc && o->dry) {
        rk_sweep_estimate e;
        rk_err err = {0};
        print_plan(p, to_run, retried);
        rc = rk_sweep_estimate_time(p, o->jobs, o->quiet ? NULL : sweep_say, NULL, &e, &err);
        if (rc) fprintf(stderr, "rethink sweep: %s\n", err.msg);
        else print_estimate(&e, o->jobs);
        rk_sweep_estimate_free(&e);
        return rc;
    }
    if (!rc) rc = bf16_here(p);
    rk_store_close(db);
    if (rc) return rc;
    if (!announce(o, p, to_run, o->jobs, "worker")) {
        rk_trial_counts c;
        rk_sweep_counts(p, &c);
        return c.failed ? 3 : 0;
    }
    struct sigaction sa = {.sa_handler = on_stop}; /* no SA_RESTART: waits see EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if ((rc = build_data(p))) return rc;
    progress *g = progress_new(progress_mode(o->quiet, o->json), o->jobs, o->every_s);
    if (!g) {
        fprintf(stderr, "rethink sweep: out of memory\n");
        return 1;
    }
    rc = run_workers(o, p, g);
    progress_free(g); /* clears the status line */
    rk_trial_counts c = {0};
    rk_err err = {0};
    int rc2 = rk_store_open(&db, o->db_path, &err);
    if (!rc2) rc2 = closing_line(db, o, p, 0, stop_sig != 0, 0, &c, &err);
    if (rc2) fprintf(stderr, "rethink sweep: %s\n", err.msg);
    rk_store_close(db);
    size_t undone = c.pending + c.running; /* of this run's trials: a lost worker's */
    if (stop_sig) return 128 + stop_sig; /* as a shell reports a process ended by it */
    if (rc || rc2) return 1;
    if (c.failed) return 3;
    if (undone)
        fprintf(stderr, "rethink sweep: %zu trial(s) left undone (run the same command to "
                        "resume)\n", undone);
    return undone ? 1 : 0;
}

#ifdef RK_HAVE_MPI
/* Under mpirun: rank 0 registers and coordinates, the other ranks run trials. */
static int sweep_mpi(const sweep_opts *o, rk_sweep_plan *p, int nmpi)
{
    int rank = 0, rc;
    size_t lost = 0, to_run = 0, retried = 0; /* lost: ranks presumed dead */
    rk_err err = {0};
    if ((rc = sweep_mpi_init(&rank, &err))) {
        fprintf(stderr, "rethink sweep: %s\n", err.msg);
        return rc;
    }
    if (rank > 0) { /* ranks >= 1 only run trials (they never open the database) */
        int died = 0;
        rc = sweep_mpi_worker(p, o->rank_timeout, &died);
        sweep_mpi_finalize(died);
        return rc;
    }
    rk_store *db = NULL;
    sweep_mpi_plan mp = {.timeout_s = o->rank_timeout}; /* no db: every rank is told to stop */
    rc = prepare(o, p, &db, &to_run, &retried);
    if (!rc && announce(o, p, to_run, nmpi - 1, "worker rank")) {
        mp = (sweep_mpi_plan){.db = db, .plan = p, .data = &p->t[0].cfg,
                              .timeout_s = o->rank_timeout, .quiet = o->quiet};
        rc = sweep_mpi_coordinate(&mp, &lost, &err);
        if (rc) fprintf(stderr, "rethink sweep: %s\n", err.msg);
        rk_trial_counts c;
        if (!closing_line(db, o, p, lost, 0, 1, &c, &err) && !rc)
            rc = c.failed ? 3 : c.pending + c.running ? 1 : 0;
    } else {
        if (!rc) {
            rk_trial_counts c;
            rk_sweep_counts(p, &c);
            rc = c.failed ? 3 : 0;
        }
        sweep_mpi_coordinate(&mp, &lost, &err);
    }
    rk_store_close(db);
    sweep_mpi_finalize(lost > 0);
    return rc;
}
#endif

int cmd_sweep(int argc, char **argv)
{
    const char *file = NULL, *db_path = "results.db", *history = NULL;
    int jobs = 0, dry = 0, quiet = 0, json = 0, retry = 0, stage = 0, shard_of[2] = {0, 1};
    int emit = 0, code;
    int nmpi = sweep_mpi_size();
    double rank_timeout = 60, every = 30;
    const char *artifacts_dir = NULL;
    slurm_opts so = {0};
    cli_list ovl = {0};
    const cli_opt opts[] = {
        {.kind = CLI_STR, .dst = &file, .arg = "FILE", .required = 1},
        {.short_name = 'j', .kind = CLI_INT, .dst = &jobs, .arg = "N", .lo = 1, .hi = 256,
         .help = "worker processes (default: one per core, study.threads each)"},
        CLI_OPT_OVERRIDE(&ovl, "override a key or an axis: -s train.lr=0.1,0.05 adds an axis,\n"
                               "-s seed=1:4 or -s seed=range(1,5) an integer range"),
        CLI_OPT_DB(&db_path),
        {.name = "history", .kind = CLI_STR, .dst = &history, .arg = "FILE",
         .help = "another results database of the study (read-only): its finished\n"
                 "trials also inform the expected steps of plateau trials (e.g. the\n"
                 "parts run so far, when this part has a database of its own)"},
        {.name = "artifacts", .kind = CLI_STR, .dst = &artifacts_dir, .arg = "DIR",
         .help = "folder for checkpoints, backbones and pseudo-labels (the key\n"
                 "study.artifacts, default artifacts beside the experiment file; not\n"
                 "part of a trial's identity)"},
        {.name = "dry-run", .kind = CLI_FLAG, .dst = &dry,
         .help = "list the trials and their dependencies, and estimate the time: the\n"
                 "trials' training steps are timed on this machine (a few seconds;\n"
                 "with bf16 also in f32, with a note if f32 is faster here); run\n"
                 "nothing and write nothing (the database is only read)"},
        {.name = "retry-failed", .kind = CLI_FLAG, .dst = &retry,
         .help = "run this grid's failed trials again, each with a fresh attempt\n"
                 "budget (other grids' trials of the study are left as they are)"},
        {.name = "quiet", .kind = CLI_FLAG, .dst = &quiet,
         .help = "no progress and no result lines (errors and the closing line only)"},
        {.name = "json", .kind = CLI_FLAG, .dst = &json,
         .help = "events as JSON, one object per line on stdout (sweep, start, step,\n"
                 "epoch, pretrain, note, done, failed, progress, end)"},
        {.name = "progress-every", .kind = CLI_NUM, .dst = &every, .arg = "S", .lo = 0,
         .hi = INFINITY, .open = CLI_OPEN_LO,
         .help = "off a terminal (and with --json), a progress line every S seconds\n"
                 "(default 30); on a terminal one status line is kept up to date"},
        {.name = "stage", .kind = CLI_INT, .dst = &stage, .arg = "S", .lo = 1, .hi = 2,
         .help = "only stage 1 (supervised trials: baselines and teachers) or stage 2\n"
                 "(self-training students; their teachers must be finished in --db,\n"
                 "e.g. merged there from the stage-1 shards)"},
        {.name = "shard", .kind = CLI_FN, .dst = shard_of, .arg = "I/N", .parse = parse_shard,
         .expect = "I/N with 0 <= I < N",
         .help = "with --stage: only the stage's trials whose position in it is I mod N"},
        {.help = "\ncluster (docs/EXPERIMENTS.md, Clusters):"},
        {.name = "emit-slurm", .kind = CLI_FLAG, .dst = &emit,
         .help = "print a Slurm job-array script running the study as N shards per stage\n"
                 "and merging them; submit it with `bash job.sbatch`"},
        {.name = "shards", .kind = CLI_INT, .dst = &so.shards, .arg = "N", .lo = 1, .hi = 100000,
         .help = "array tasks per stage (default: one trial per task)"},
        {.name = "array-parallelism", .kind = CLI_INT, .dst = &so.parallelism, .arg = "K",
         .lo = 1, .hi = 100000, .help = "at most K tasks at once (default: N)"},
        {.name = "out-dir", .kind = CLI_STR, .dst = &so.out_dir, .arg = "DIR",
         .help = "shared folder for shards, logs and results.db (default slurm-STUDY)"},
        {.help = MPI_HELP},
        {.name = "rank-timeout", .kind = CLI_NUM, .dst = &rank_timeout, .arg = "S", .lo = 0,
         .hi = INFINITY, .open = CLI_OPEN_LO,
         .help = "a rank silent for S seconds is presumed dead (default 60)"},
        {0}};
    if (cli_parse(&(cli_cmd){"sweep", HELP, opts}, argc, argv, &code)) return code;
    const char **ov = ovl.v; /* room for one more: --artifacts */
    size_t nov = ovl.n;
    int jobs_set = jobs > 0, shard = shard_of[0], nshards = shard_of[1];
    if (!jobs_set) jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (jobs < 1) jobs = 1;
    const char *usage = NULL;
    /* a shard of the whole grid would split teachers from their students */
    if (nshards > 1 && !stage)
        usage = "--shard needs --stage 1|2 (teachers run in stage 1, before their students in "
                "stage 2)";
    else if (emit && (stage || nshards > 1 || dry || retry || json))
        usage = "--emit-slurm writes the script for all stages and shards; it takes no --stage, "
                "--shard, --dry-run, --retry-failed or --json";
    else if (nmpi > 1 && (emit || dry || json))
        usage = "--emit-slurm, --dry-run and --json run without mpirun";
    else if (dry && json)
        usage = "--json shows a running sweep; --dry-run prints its plan as a table";
    else if (json && quiet)
        usage = "--json and --quiet: choose one";
    if (usage) {
        fprintf(stderr, "rethink sweep: %s\n", usage);
        free(ov);
        return 2;
    }
#ifndef RK_HAVE_MPI
    if (nmpi > 1) {
        fprintf(stderr, "rethink sweep: started by mpirun as one of %d processes, but this "
                        "rethink was built without MPI (install libopenmpi-dev and rebuild)\n",
                nmpi);
        free(ov);
        return 2;
    }
#endif
    char *artifacts = NULL; /* --artifacts DIR as an override, after (so over) any -s */
    if (artifacts_dir && (artifacts = malloc(strlen(artifacts_dir) + 32)))
        sprintf(artifacts, "study.artifacts=%s", artifacts_dir), ov[nov++] = artifacts;
    rk_err err = {0};
    rk_experiment x;
    rk_sweep_plan p;
    /* every trial's config is resolved and checked (keys, values, policies) before the
     * database is touched: a bad experiment registers nothing */
    int rc = rk_experiment_load(&x, file, ov, nov, &err);
    if (!rc && (rc = rk_sweep_plan_load(&p, &x, &err))) rk_experiment_free(&x);
    if (!rc && (rc = rk_sweep_select(&p, stage, shard, nshards, &err))) {
        rk_sweep_plan_free(&p);
        rk_experiment_free(&x);
    }
    if (rc) {
        fprintf(stderr, "rethink sweep: %s\n", err.msg);
        free(artifacts);
        free(ov);
        return 2;
    }
    sweep_opts o = {.db_path = db_path, .history = history, .jobs = jobs, .dry = dry, .quiet = quiet,
                    .json = json, .retry = retry, .rank_timeout = rank_timeout, .every_s = every};
    if (emit) {
        so.jobs = jobs_set ? jobs : 1;
        rc = emit_slurm(file, ov, nov, &p, rk_config_get(&x.base, "study.threads"), &so, &err);
        if (rc) fprintf(stderr, "rethink sweep: %s\n", err.msg);
    } else {
#ifdef RK_HAVE_MPI
        rc = nmpi > 1 ? sweep_mpi(&o, &p, nmpi) : sweep_local(&o, &p);
#else
        rc = sweep_local(&o, &p);
#endif
    }
    rk_sweep_plan_free(&p);
    free(artifacts);
    free(ov);
    rk_experiment_free(&x);
    return rc;
}
