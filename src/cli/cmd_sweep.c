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
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sweep.h"

static const char *HELP =
    "usage: rethink sweep FILE [-j N] [-s key=value ...] [--db FILE] [--artifacts DIR]\n"
    "                          [--dry-run] [--quiet] [--stage 1|2 [--shard I/N]]\n"
    "       mpirun --enable-recovery -np N rethink sweep FILE [options] [--rank-timeout S]\n"
    "       rethink sweep FILE --emit-slurm [--shards N] [--array-parallelism K]\n"
    "                          [--out-dir DIR] [-j N] [-s key=value ...] > job.sbatch\n"
    "\n"
    "Runs every trial of the experiment file's grid (docs/EXPERIMENTS.md) on N worker\n"
    "processes, recording each in the store. Trials are identified by the hash of their\n"
    "resolved config: re-running a sweep only runs what is not finished, and a sweep stopped\n"
    "at any point (Ctrl-C, kill -9) resumes where it was.\n";
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
 * the tasks do not depend on where sbatch is called from. */
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
          "cd \"$WORKDIR\"  # study.data and study.artifacts are relative to it\n"
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
    int jobs, dry, quiet;
    double rank_timeout;
} sweep_opts;

void sweep_say(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "%s\n", msg);
}

/* ---- the dry run: the plan and its estimated time ---- */

static void print_plan(const rk_sweep_plan *p, size_t to_run)
{
    printf("%-5s %-20s %-4s %-8s %-5s %-10s %-16s %s\n", "#", "arm", "aug", "fraction", "seed",
           "status", "hash", "depends on");
    for (size_t i = 0; i < p->n; i++) {
        const rk_sweep_trial *t = &p->t[i];
        if (!t->selected) continue;
        const rk_config *g = &t->cfg;
        printf("%-5zu %-20s %-4s %-8s %-5s %-10s %.16s %s%.16s%s\n", i,
               rk_config_get(g, "trial.arm"), rk_config_get(g, "trial.aug"),
               rk_config_get(g, "trial.fraction"), rk_config_get(g, "trial.seed"),
               rk_trial_status_name(t->status), t->hash, t->teacher >= 0 ? "teacher " : "",
               t->teacher >= 0 ? p->t[t->teacher].hash : "", t->implied ? " (implied teacher)" : "");
    }
    if (p->stage)
        printf("\nstage %d, shard %d/%d: %zu of the %zu trials\n", p->stage, p->shard, p->nshards,
               p->nselected, p->n);
    printf("\n%zu trials (%zu in the grid, %zu implied teachers), %zu to run\n", p->n, p->ngrid,
           p->n - p->ngrid, to_run);
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
    if (!isfinite(wall)) {
        printf("no time estimate: %s\n", e->why);
        if (isfinite(wall32))
            printf("in f32 (-s train.precision=f32) it would take ~%.*f min at -j %d\n",
                   wall32 < 600, wall32 / 60, jobs);
        return;
    }
    printf("estimated %.*f min at -j %d", wall < 600, wall / 60, jobs);
    if (e->par < jobs) printf(" on %ld cores", e->cores);
    printf(" (%.*f min of training on one worker; pre-training extra)\n", total < 600,
           total / 60);
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

static int worker(const char *db_path, const rk_sweep_plan *p, int slot, int quiet)
{
    rk_store *db = NULL;
    rk_err err = {0};
    if (rk_store_open(&db, db_path, &err)) {
        fprintf(stderr, "worker %d: %s\n", slot, err.msg);
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
            fprintf(stderr, "worker %d: %s\n", slot, err.msg);
            break;
        }
        if (!got) {
            if (!left) break;
            sleep(1); /* waiting for a teacher or for trials held by others */
            continue;
        }
        rk_trial_result res;
        char label[96];
        int rc;
        RK_ASSERT(k >= 0); /* rk_sweep_take hands out the plan's trials only */
        char who[16];
        snprintf(who, sizeof who, "%d", slot);
        sweep_label(label, sizeof label, who, &p->t[k].cfg);
        rc = run_trial(db, db_path, &t, &p->t[k].cfg, label, 1, &res, &err);
        if (!rc) {
            rc = rk_sweep_finish(db, &t, &res, &err);
            if (!rc && !quiet)
                printf("%s: AP %.4f AP50 %.4f (%.0f s)\n", label, res.stats.stats[RK_AP],
                       res.stats.stats[RK_AP50], res.wall_s);
            fflush(stdout);
            rk_trial_result_free(&res);
        }
        if (rc && rk_rc_interrupted(rc)) {
            /* not the trial's fault (a full disk, no memory): it goes back to pending
             * uncharged, and this worker stops rather than meet the same wall again */
            rk_err e2 = {0};
            fprintf(stderr, "worker %d: trial %lld interrupted (attempt %d, not counted): %s; "
                            "the worker stops\n", slot, (long long)t.id, t.attempts, err.msg);
            rk_store_trial_fail(db, t.id, t.attempts, rc, err.msg, 1, &e2);
            rk_trial_clear(&t);
            broken = 1;
            break;
        }
        if (rc) {
            rk_err e2 = {0};
            fprintf(stderr, "trial %lld failed (attempt %d): %s\n", (long long)t.id, t.attempts,
                    err.msg);
            rk_store_trial_fail(db, t.id, t.attempts, rc, err.msg, 1, &e2);
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

/* Waits for the n children, passing a stop signal on to them once; poll_us between looks.
 * tick (may be NULL) runs between looks while none is stopped. Returns 0, or -1 (errno). */
static int wait_children(child *k, int n, useconds_t poll_us, void (*tick)(void *), void *ctx)
{
    int live, passed = 0;
    while ((live = reap(k, n)) > 0) {
        if (stop_sig && !passed) stop_children(k, n), passed = 1;
        if (tick && !passed) tick(ctx);
        usleep(passed ? 20000 : poll_us);
    }
    return live;
}

/* The dataset, before the workers: built by a child (the parent stays free of OpenMP).
 * Returns the exit code. */
static int build_data(const rk_sweep_plan *p)
{
    child b = {.pid = spawn()};
    if (b.pid == 0) _exit(build_data_child(&p->t[0].cfg));
    if (b.pid < 0 || wait_children(&b, 1, 100000, NULL, NULL)) {
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

typedef struct progress {
    const char *db_path, *study;
    size_t done_before; /* trials finished before this run */
    double t0;
} progress;

static void show_progress(void *ctx)
{
    const progress *g = ctx;
    rk_store *r = NULL;
    rk_trial_counts k;
    rk_err err = {0};
    if (!rk_store_open(&r, g->db_path, &err) && !rk_store_counts(r, g->study, &k, &err)) {
        double el = rk_now() - g->t0;
        size_t done_now = k.finished + k.failed, left = k.pending + k.running;
        size_t ran = done_now > g->done_before ? done_now - g->done_before : 0;
        char eta[32] = "?";
        if (ran) snprintf(eta, sizeof eta, "%.0fs", el / (double)ran * (double)left);
        printf("\r  done %zu  running %zu  failed %zu  left %zu  elapsed %.0fs  ETA %s   ",
               k.finished, k.running, k.failed, left, el, eta);
        fflush(stdout);
    }
    rk_store_close(r);
}

/* Forks o->jobs workers and waits for them; a stop signal is passed on. Returns 0, or 1 if a
 * worker could not be started or waited for (the started ones are stopped and reaped). */
static int run_workers(const sweep_opts *o, const rk_sweep_plan *p, size_t to_run)
{
    child *kids = calloc((size_t)o->jobs, sizeof *kids);
    if (!kids) {
        fprintf(stderr, "rethink sweep: out of memory\n");
        return 1;
    }
    int n = 0, rc = 0;
    for (; n < o->jobs && !stop_sig; n++) {
        kids[n].pid = spawn();
        if (kids[n].pid == 0) _exit(worker(o->db_path, p, n, o->quiet));
        if (kids[n].pid < 0) {
            fprintf(stderr, "rethink sweep: cannot start worker %d: %s\n", n, strerror(errno));
            stop_children(kids, n);
            rc = 1;
            break;
        }
    }
    int tty = isatty(1) && !o->quiet;
    progress g = {.db_path = o->db_path, .study = p->study, .done_before = p->n - to_run,
                  .t0 = rk_now()};
    if (wait_children(kids, n, 500000, tty && !rc ? show_progress : NULL, &g)) {
        fprintf(stderr, "rethink sweep: waiting for the workers: %s\n", strerror(errno));
        stop_children(kids, n);
        rc = 1;
    }
    if (tty) printf("\n");
    for (int j = 0; j < n && !stop_sig; j++)
        if (kids[j].reaped && WIFSIGNALED(kids[j].status))
            fprintf(stderr, "rethink sweep: worker %d (pid %d) ended by signal %d\n", j,
                    (int)kids[j].pid, WTERMSIG(kids[j].status));
    free(kids);
    return rc;
}

/* ---- the sweep ---- */

/* Registers the plan's selection, returns dead workers' trials to pending and reads the
 * statuses: what every sweep does before it runs anything. Returns the exit code. */
static int prepare(const sweep_opts *o, rk_sweep_plan *p, rk_store **db, size_t *to_run)
{
    rk_err err = {0};
    size_t reclaimed = 0;
    int rc = rk_store_open(db, o->db_path, &err);
    if (!rc) rc = rk_sweep_register(*db, p, &err);
    if (!rc) rc = rk_sweep_reclaim_dead(*db, p->study, &reclaimed, &err);
    if (!rc) rc = rk_sweep_refresh(*db, p, to_run, &err);
    if (rc) {
        fprintf(stderr, "rethink sweep: %s\n", err.msg);
        return rc;
    }
    if (reclaimed && !o->quiet)
        printf("resuming: %zu trial(s) interrupted in an earlier run go back to pending\n", reclaimed);
    int m = rk_sweep_missing_teacher(p);
    if (m >= 0) {
        const rk_sweep_trial *t = &p->t[m];
        fprintf(stderr, "rethink sweep: stage %d needs its teachers finished in %s, but "
                        "teacher %.16s (%s, seed %s) is %s: merge the stage-1 shards into it "
                        "first (rethink merge SHARD... --db %s)\n",
                p->stage, o->db_path, t->hash, rk_config_get(&t->cfg, "trial.arm"),
                rk_config_get(&t->cfg, "trial.seed"), rk_trial_status_name(t->status), o->db_path);
        return 1;
    }
    return 0;
}

/* "nothing to do" (returns 0), or the sweep's first line (returns 1). */
static int announce(const sweep_opts *o, const rk_sweep_plan *p, size_t to_run, int workers,
                    const char *what)
{
    if (to_run == 0) {
        printf("nothing to do: all %zu trials%s of study '%s' are finished (in %s)\n",
               p->nselected, p->stage ? " of this stage and shard" : "", p->study, o->db_path);
        return 0;
    }
    if (!o->quiet)
        printf("sweep '%s': %zu trials, %zu to run, %d %s, database %s\n", p->study, p->n, to_run,
               workers, what, o->db_path);
    fflush(stdout);
    return 1;
}

/* The study's closing line, from its counts (*c); lost: MPI ranks presumed dead; stopped:
 * by a signal; resume: say how to resume when trials are left. */
static int closing_line(rk_store *db, const char *study, size_t lost, int stopped, int resume,
                        rk_trial_counts *c, rk_err *err)
{
    int rc = rk_store_counts(db, study, c, err);
    if (rc) return rc;
    size_t left = c->pending + c->running;
    printf("%s: %zu finished, %zu failed, %zu left", study, c->finished, c->failed, left);
    if (lost) printf(" (%zu rank(s) presumed dead)", lost);
    if (stopped) printf(" (interrupted: run the same command to resume)");
    else if (resume && left) printf(" (run the same command to resume)");
    printf("\n");
    return 0;
}

/* On this machine: forked workers. */
static int sweep_local(const sweep_opts *o, rk_sweep_plan *p)
{
    rk_store *db = NULL;
    size_t to_run = 0;
    int rc = prepare(o, p, &db, &to_run);
    if (!rc && o->dry) {
        rk_sweep_estimate e;
        rk_err err = {0};
        print_plan(p, to_run);
        rc = rk_sweep_estimate_time(p, o->jobs, o->quiet ? NULL : sweep_say, NULL, &e, &err);
        if (rc) fprintf(stderr, "rethink sweep: %s\n", err.msg);
        else print_estimate(&e, o->jobs);
        rk_sweep_estimate_free(&e);
        rk_store_close(db);
        return rc;
    }
    /* bf16 trials on a CPU without bf16 kernels would each fail at their first step: say so
     * once, before any starts (MPI ranks may run on other machines; they report per trial) */
    size_t nbf16 = 0;
    int no_bf16 = !rc && !rk_dnnl_has_bf16();
    for (size_t i = 0; no_bf16 && i < p->n; i++)
        nbf16 += p->t[i].selected && p->t[i].status != RK_TRIAL_FINISHED &&
                 !strcmp(rk_config_get(&p->t[i].cfg, "train.precision"), "bf16");
    if (nbf16) {
        fprintf(stderr, "rethink sweep: %zu of the trials to run set train.precision = bf16, but "
                        "this CPU has no bf16 kernels (oneDNN needs AVX-512, and AVX512-BF16 or "
                        "AMX to be fast): run them on such a CPU, or train in f32 with -s "
                        "train.precision=f32 (a different cell: f32 and bf16 trials are not "
                        "pooled)\n", nbf16);
        rc = 2;
    }
    rk_store_close(db);
    if (rc || !announce(o, p, to_run, o->jobs, "workers")) return rc;
    struct sigaction sa = {.sa_handler = on_stop}; /* no SA_RESTART: waits see EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if ((rc = build_data(p))) return rc;
    rc = run_workers(o, p, to_run);
    rk_trial_counts c = {0};
    rk_err err = {0};
    size_t undone = 0; /* of this run's trials: neither finished nor failed (a lost worker's) */
    int rc2 = rk_store_open(&db, o->db_path, &err);
    if (!rc2) rc2 = closing_line(db, p->study, 0, stop_sig != 0, 0, &c, &err);
    if (!rc2) rc2 = rk_sweep_refresh(db, p, &to_run, &err);
    for (size_t i = 0; !rc2 && i < p->n; i++)
        undone += p->t[i].selected && p->t[i].status != RK_TRIAL_FINISHED &&
                  p->t[i].status != RK_TRIAL_FAILED;
    if (rc2) fprintf(stderr, "rethink sweep: %s\n", err.msg);
    rk_store_close(db);
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
    size_t lost = 0, to_run = 0; /* lost: ranks presumed dead */
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
    rc = prepare(o, p, &db, &to_run);
    if (!rc && announce(o, p, to_run, nmpi - 1, "worker ranks")) {
        mp = (sweep_mpi_plan){.db = db, .plan = p, .data = &p->t[0].cfg,
                              .timeout_s = o->rank_timeout, .quiet = o->quiet};
        rc = sweep_mpi_coordinate(&mp, &lost, &err);
        if (rc) fprintf(stderr, "rethink sweep: %s\n", err.msg);
        rk_trial_counts c;
        if (!closing_line(db, p->study, lost, 0, 1, &c, &err) && !rc)
            rc = c.failed ? 3 : c.pending + c.running ? 1 : 0;
    } else {
        sweep_mpi_coordinate(&mp, &lost, &err);
    }
    rk_store_close(db);
    sweep_mpi_finalize(lost > 0);
    return rc;
}
#endif

int cmd_sweep(int argc, char **argv)
{
    const char *file = NULL, *db_path = "results.db";
    int jobs = 0, dry = 0, quiet = 0, stage = 0, shard_of[2] = {0, 1}, emit = 0, code;
    int nmpi = sweep_mpi_size();
    double rank_timeout = 60;
    const char *artifacts_dir = NULL;
    slurm_opts so = {0};
    cli_list ovl = {0};
    const cli_opt opts[] = {
        {.kind = CLI_STR, .dst = &file, .arg = "FILE", .required = 1},
        {.short_name = 'j', .kind = CLI_INT, .dst = &jobs, .arg = "N", .lo = 1, .hi = 256,
         .help = "worker processes (default: one per core, study.threads each)"},
        CLI_OPT_OVERRIDE(&ovl, "override a key or an axis (-s train.lr=0.1,0.05 adds an axis)"),
        CLI_OPT_DB(&db_path),
        {.name = "artifacts", .kind = CLI_STR, .dst = &artifacts_dir, .arg = "DIR",
         .help = "folder for checkpoints, backbones and pseudo-labels (the key\n"
                 "study.artifacts, default artifacts; not part of a trial's identity)"},
        {.name = "dry-run", .kind = CLI_FLAG, .dst = &dry,
         .help = "list the trials and their dependencies, and estimate the time: the\n"
                 "trials' training steps are timed on this machine (a few seconds;\n"
                 "with bf16 also in f32, with a note if f32 is faster here); run nothing"},
        {.name = "quiet", .kind = CLI_FLAG, .dst = &quiet, .help = "no progress display"},
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
    /* a shard of the whole grid would split teachers from their students */
    if (nshards > 1 && !stage) {
        fprintf(stderr, "rethink sweep: --shard needs --stage 1|2 (teachers run in stage 1, "
                        "before their students in stage 2)\n");
        free(ov);
        return 2;
    }
    if (emit && (stage || nshards > 1 || dry)) {
        fprintf(stderr, "rethink sweep: --emit-slurm writes the script for all stages and "
                        "shards; it takes no --stage, --shard or --dry-run\n");
        free(ov);
        return 2;
    }
    if (nmpi > 1 && (emit || dry)) {
        fprintf(stderr, "rethink sweep: --emit-slurm and --dry-run run without mpirun\n");
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
    int rc = rk_experiment_load(&x, file, ov, nov, &err);
    if (rc) {
        fprintf(stderr, "rethink sweep: %s\n", err.msg);
        free(artifacts);
        free(ov);
        return 2;
    }
    sweep_opts o = {.db_path = db_path, .jobs = jobs, .dry = dry, .quiet = quiet,
                    .rank_timeout = rank_timeout};
    rk_sweep_plan p;
    rc = rk_sweep_plan_load(&p, &x, &err);
    if (!rc && (rc = rk_sweep_select(&p, stage, shard, nshards, &err))) rk_sweep_plan_free(&p);
    if (rc) {
        fprintf(stderr, "rethink sweep: %s\n", err.msg);
    } else if (emit) {
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
