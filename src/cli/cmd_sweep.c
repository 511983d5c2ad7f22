/* rethink sweep: every trial of an experiment file's grid, on N worker processes, through
 * the store. Resumable by construction:
 *   - every trial (and the teacher each self-training cell implies) is registered by config
 *     hash and linked to its teacher, so a finished trial is never run again and a student
 *     waits for its teacher;
 *   - workers take trials under leases with a heartbeat; a worker killed at any moment leaves
 *     its trial 'running' with a dead PID, which the next sweep on this host returns to
 *     pending at start (elsewhere the stale heartbeat does it);
 *   - a failing trial does not stop the sweep; it is retried up to its attempt budget.
 * On a cluster the grid is cut into two stages (1: supervised trials, the teachers among
 * them; 2: self-training students) and each stage into shards by position in the grid
 * (--stage S --shard i/N), each run into its own database and folded together by
 * `rethink merge`; --emit-slurm writes the job-array script that does this (docs/EXPERIMENTS.md
 * §Clusters). A shard's membership depends only on the experiment file and overrides, never
 * on database state, so a re-run task takes the same trials and resumes them.
 * The parent never touches OpenMP (workers are forked; libgomp is not fork-safe), so the
 * default dataset is built, when missing, by a forked child before the workers start.
 * Under mpirun (more than one process) rank 0 registers the grid here as above and then
 * coordinates ranks 1..N-1 instead of forking workers (sweep_mpi.c). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* 1: supervised (scratch, pretrain), 2: self-training (needs a finished teacher) */
static int stage_of(const sweep_item *t)
{
    return strstr(rk_config_get(&t->cfg, "trial.arm"), "selftrain") ? 2 : 1;
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
static int emit_slurm(const char *file, const char **ov, size_t nov, const sweep_item *it,
                      size_t n, const char *study, const char *threads, const slurm_opts *o,
                      rk_err *err)
{
    size_t count[3] = {0};
    for (size_t i = 0; i < n; i++) count[stage_of(&it[i])]++;
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
          "publish() {  # copy a finished local database to the shared folder atomically\n"
          "  cp \"$1\" \"$2.part\" && mv \"$2.part\" \"$2\"\n"
          "}\n"
          "run_stage() {  # stage 1|2 of array task $SLURM_ARRAY_TASK_ID\n"
          "  local s=$1 i=${SLURM_ARRAY_TASK_ID:?not an array task} rc=0\n"
          "  local db=\"$LOCAL/rethink-${SLURM_JOB_ID:-local}-s$s-$i.db\"\n"
          "  rm -f \"$db\" \"$db-wal\" \"$db-shm\"\n"
          "  if [ -f \"$OUT/stage$s/shard-$i.db\" ]; then cp \"$OUT/stage$s/shard-$i.db\" \"$db\"; fi\n"
          "  if [ \"$s\" = 2 ]; then\n"
          "    local -a s1; mapfile -t s1 < <(shards 1)\n"
          "    \"$RETHINK\" merge --quiet \"${s1[@]}\" --db \"$db\"\n"
          "  fi\n"
          "  \"$RETHINK\" sweep \"$EXP\" ${OVERRIDES[@]+\"${OVERRIDES[@]}\"} --stage \"$s\" --shard \"$i/$N\" -j \"$JOBS\" \\\n"
          "    --db \"$db\" --quiet || rc=$?\n"
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
          "  j=$(sbatch --parsable \"$0\" stage1); j=${j%%;*}  # --parsable: ID[;CLUSTER]\n"
          "  if [ \"$STAGE2\" = 1 ]; then\n"
          "    j=$(sbatch --parsable --dependency=afterok:$j \"$0\" stage2); j=${j%%;*}\n"
          "  fi\n"
          "  sbatch --parsable --dependency=afterok:$j --array=0 \"$0\" merge\n"
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

/* ---- the dry run's time estimate ----
 * Measured on this machine, not assumed: each distinct step shape of the trials to run
 * (model, images per step, precision) is timed with rk_refnet_bench on one worker's threads,
 * and a trial takes its images over that rate, divided by TRIAL_SHARE: the part of a trial's
 * CPU time that is training steps. The rest (augmentation, targets, dev evaluations,
 * pseudo-labelling) was 5-17 % of the paper study's trials on two machines (docs/STUDY.md,
 * "Estimating a study's time"). */
#define TRIAL_SHARE 0.9

typedef struct step_shape {
    rk_refnet_cfg model;
    int step_images, bf16, threads;
    double rate;      /* training images per second of one worker, NAN if it failed */
    double rate_f32;  /* bf16 shapes: the same steps in f32, for the comparison */
} step_shape;

static int same_shape(const step_shape *a, const rk_trial_work *w, int threads)
{
    return !memcmp(&a->model, &w->model, sizeof w->model) && a->step_images == w->step_images &&
           a->bf16 == w->bf16 && a->threads == threads;
}

/* The best of three short runs (~0.3 s each at the paper study's shapes): this VM's speed
 * wanders by ±15 % from one second to the next, and the best run is the steadiest reading
 * of what the CPU does. NAN if the steps cannot run here (the reason in *err). */
static double time_steps(const step_shape *s, rk_backend b, rk_err *err)
{
    int steps = 256 / s->step_images > 4 ? 256 / s->step_images : 4;
    double best = NAN;
    for (int k = 0; k < 3; k++) {
        rk_train_bench r;
        if (rk_refnet_bench(&s->model, s->step_images, b, s->threads, 3, steps, &r, err))
            return NAN;
        if (!(r.img_per_s <= best)) best = r.img_per_s;
    }
    return best;
}

/* Wall seconds of trials taking t[i] seconds each (0: not run) on par workers: the larger
 * of the total spread over the workers and the longest teacher-then-student chain. */
static double wall_of(const double *t, const sweep_item *it, size_t n, double par)
{
    double total = 0, chain = 0;
    for (size_t i = 0; i < n; i++) {
        int k = it[i].teacher;
        double c = t[i] + (k >= 0 ? t[k] : 0);
        total += t[i];
        if (c > chain) chain = c;
    }
    if (!isfinite(total)) return NAN; /* a trial that cannot run here */
    return total / par > chain ? total / par : chain;
}

static void dry_estimate(const sweep_item *it, size_t n, const char *sel, int jobs, int quiet)
{
    step_shape *sh = NULL;
    size_t nsh = 0;
    double *t = calloc(n, sizeof *t), *t32 = calloc(n, sizeof *t32), images = 0;
    rk_trial_work *w = calloc(n, sizeof *w);
    int *shape = calloc(n, sizeof *shape), threads_max = 1;
    if (!t || !t32 || !w || !shape) goto done;
    for (size_t i = 0; i < n; i++) {
        rk_err err = {0};
        shape[i] = -1;
        if (!sel[i] || it[i].status == RK_TRIAL_FINISHED || rk_trial_cost(&it[i].cfg, &w[i], &err))
            continue;
        images += w[i].images;
        const char *th = rk_config_get(&it[i].cfg, "study.threads");
        int threads = th && atoi(th) > 0 ? atoi(th) : 1;
        if (threads > threads_max) threads_max = threads;
        size_t k = 0;
        while (k < nsh && !same_shape(&sh[k], &w[i], threads)) k++;
        if (k == nsh) {
            step_shape *ns = realloc(sh, (nsh + 1) * sizeof *ns);
            if (!ns) goto done;
            sh = ns;
            sh[nsh++] = (step_shape){w[i].model, w[i].step_images, w[i].bf16, threads, NAN, NAN};
        }
        shape[i] = (int)k;
    }
    if (!nsh) goto done; /* nothing to run */
    if (!quiet)
        fprintf(stderr, "timing training steps on this machine (%zu step shape%s)...\n", nsh,
                nsh > 1 ? "s" : "");
    rk_err why = {0}; /* the first shape that cannot run here */
    for (size_t k = 0; k < nsh; k++) {
        rk_err e = {0};
        sh[k].rate_f32 = time_steps(&sh[k], RK_BACKEND_DNNL, &e);
        sh[k].rate = sh[k].bf16 ? time_steps(&sh[k], RK_BACKEND_DNNL_BF16, &e) : sh[k].rate_f32;
        if (!why.msg[0] && e.msg[0]) why = e;
    }
    int slower = -1; /* a bf16 shape that f32 trains clearly faster */
    for (size_t i = 0; i < n; i++) {
        if (shape[i] < 0) continue;
        const step_shape *s = &sh[shape[i]];
        t[i] = w[i].images / (s->rate * TRIAL_SHARE);
        t32[i] = w[i].images / (s->rate_f32 * TRIAL_SHARE);
        if (slower < 0 && s->bf16 && s->rate_f32 > 1.1 * s->rate) slower = shape[i];
    }
    /* workers beyond the cores share them */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    double par = jobs;
    if (cores > 0 && par * threads_max > cores)
        par = cores / threads_max > 1 ? (double)(cores / threads_max) : 1;
    double wall = wall_of(t, it, n, par), wall32 = wall_of(t32, it, n, par), total = 0;
    for (size_t i = 0; i < n; i++) total += t[i];
    printf("about %.0f k training images; training steps on this machine:", images / 1000);
    for (size_t k = 0; k < nsh; k++) {
        printf(k ? ";" : "");
        if (isfinite(sh[k].rate)) printf(" %.0f img/s", sh[k].rate);
        else printf(" cannot run");
        printf(" (%s, %d img/step, %d thread%s)", sh[k].bf16 ? "bf16" : "f32", sh[k].step_images,
               sh[k].threads, sh[k].threads > 1 ? "s" : "");
    }
    printf("\n");
    if (!isfinite(wall)) {
        printf("no time estimate: %s\n", why.msg);
        if (isfinite(wall32))
            printf("in f32 (-s train.precision=f32) it would take ~%.*f min at -j %d\n",
                   wall32 < 600, wall32 / 60, jobs);
        goto done;
    }
    printf("estimated %.*f min at -j %d", wall < 600, wall / 60, jobs);
    if (par < jobs) printf(" on %ld cores", cores);
    printf(" (%.*f min of training on one worker; pre-training extra)\n", total < 600,
           total / 60);
    if (slower >= 0 && isfinite(wall32))
        printf("note: bf16 trains slower than f32 on this CPU (%.0f vs %.0f img/s at %d "
               "img/step): -s train.precision=f32 would take ~%.*f min (other bits, the same "
               "AP within about a point: docs/STUDY.md)\n",
               sh[slower].rate, sh[slower].rate_f32, sh[slower].step_images, wall32 < 600,
               wall32 / 60);
done:
    free(sh), free(t), free(t32), free(w), free(shape);
}

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) { (void)sig, interrupted = 1; }

int sweep_find_hash(const sweep_item *it, size_t n, const char *h)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(it[i].hash, h)) return (int)i;
    return -1;
}

/* A process that exists and is not a zombie (an orphaned worker's parent may never reap it,
 * e.g. in a container whose init does not). */
static int alive(pid_t pid)
{
    if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM)) return 0;
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *close = strrchr(buf, ')'); /* "pid (comm) S ..." */
    return !(close && close[1] == ' ' && close[2] == 'Z');
}

/* Returns running trials of this host whose worker process is gone to pending. */
static int reclaim_dead(rk_store *db, const char *study, size_t *n, rk_err *err)
{
    rk_trial *t = NULL;
    size_t m = 0;
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    int rc = rk_store_trials_list(db, study, RK_TRIAL_RUNNING, &t, &m, err);
    if (rc) return rc;
    int all_dead = m > 0;
    for (size_t i = 0; i < m && all_dead; i++) {
        const char *w = t[i].worker ? t[i].worker : "";
        size_t hl = strlen(host);
        if (strncmp(w, host, hl) || w[hl] != ':') {
            all_dead = 0; /* another machine's worker: leave it to the heartbeat */
            break;
        }
        if (alive((pid_t)atol(w + hl + 1))) all_dead = 0;
    }
    rk_trials_free(t, m);
    *n = 0;
    if (all_dead) rc = rk_store_reset_stale(db, study, 1e-9, n, err); /* any heartbeat age */
    return rc;
}

void sweep_label(char *buf, size_t cap, const char *who, const rk_config *cfg)
{
    snprintf(buf, cap, "[%s] %s %s f=%s s=%s", who, rk_config_get(cfg, "trial.arm"),
             rk_config_get(cfg, "trial.aug"), rk_config_get(cfg, "trial.fraction"),
             rk_config_get(cfg, "trial.seed"));
}

int sweep_take(rk_store *db, rk_acquire_opts *o, const sweep_item *it, size_t n, const char *sel,
               rk_trial *t, int *got, int *left, rk_err *err)
{
    *got = 0, *left = 0;
    if (!sel) {
        int rc = rk_store_trial_acquire(db, o, t, got, err);
        rk_trial_counts c;
        if (!rc && !*got && !(rc = rk_store_counts(db, o->study, &c, err)))
            *left = c.pending > 0 || c.running > 0;
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        if (!sel[i]) continue;
        rk_trial cur = {0};
        int found = 0, rc = rk_store_trial_get(db, it[i].id, &cur, &found, err);
        if (rc) return rc;
        rk_trial_status st = found ? cur.status : RK_TRIAL_FAILED;
        rk_trial_clear(&cur);
        if (st == RK_TRIAL_RUNNING) *left = 1;
        if (st != RK_TRIAL_PENDING) continue;
        *left = 1;
        o->trial = it[i].id;
        rc = rk_store_trial_acquire(db, o, t, got, err);
        if (rc || *got) return rc;
    }
    return 0;
}

static int worker(const char *db_path, const char *study, sweep_item *it, size_t n,
                  const char *sel, int slot, int quiet)
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
    int failures = 0;
    for (;;) {
        rk_acquire_opts o = {.study = study, .worker = name, .host = host, .git_rev = cli_git_rev()};
        rk_trial t;
        int got = 0, left = 0;
        if (sweep_take(db, &o, it, n, sel, &t, &got, &left, &err)) {
            fprintf(stderr, "worker %d: %s\n", slot, err.msg);
            break;
        }
        if (!got) {
            if (!left) break;
            sleep(1); /* waiting for a teacher or for trials held by others */
            continue;
        }
        int k = sweep_find_hash(it, n, t.config_hash);
        rk_trial_result res;
        char label[96];
        int rc;
        if (k < 0) {
            rc = rk_errf(&err, RK_EINVAL, "trial %lld is not in this experiment's grid (another "
                         "sweep of the same study?)", (long long)t.id);
        } else {
            char who[16];
            snprintf(who, sizeof who, "%d", slot);
            sweep_label(label, sizeof label, who, &it[k].cfg);
            rc = run_trial(db, db_path, &t, &it[k].cfg, label, 1, &res, &err);
            if (!rc) {
                rc = run_record(db, &t, &res, &err);
                if (!rc && !quiet)
                    printf("%s: AP %.4f AP50 %.4f (%.0f s)\n", label, res.stats.stats[RK_AP],
                           res.stats.stats[RK_AP50], res.wall_s);
                fflush(stdout);
                rk_trial_result_free(&res);
            }
        }
        if (rc) {
            rk_err e2 = {0};
            fprintf(stderr, "trial %lld failed (attempt %d): %s\n", (long long)t.id, t.attempts,
                    err.msg);
            rk_store_trial_fail(db, t.id, t.attempts, err.msg, 1, &e2);
            failures++;
        }
        rk_trial_clear(&t);
    }
    rk_store_close(db);
    return failures ? 3 : 0;
}

static void say(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "%s\n", msg);
}

static int build_data_child(const rk_config *cfg)
{
    rk_err err = {0};
    if (rk_trial_prepare_data(cfg, say, NULL, &err)) {
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

int cmd_sweep(int argc, char **argv)
{
    const char *file = NULL, *db_path = "results.db";
    int jobs = 0, dry = 0, quiet = 0, stage = 0, shard_of[2] = {0, 1}, emit = 0, code;
    int nmpi = sweep_mpi_size(), mpi = 0, rank = 0, served = 0; /* mpi: MPI initialised */
    size_t lost = 0; /* MPI ranks presumed dead */
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
    size_t ng = rk_experiment_size(&x), n = 0;
    sweep_item *it = calloc(2 * ng, sizeof *it);
    rk_store *db = NULL;
    if (!it) rc = rk_errf(&err, RK_ENOMEM, "out of memory");
    /* the grid, then the teachers it implies (deduplicated by hash) */
    for (size_t i = 0; i < ng && !rc; i++) {
        rc = rk_experiment_trial(&x, i, &it[n].cfg, &err);
        char *j = NULL;
        if (!rc) rc = rk_config_json(&it[n].cfg, &j, it[n].hash, &err);
        free(j);
        it[n].teacher = -1;
        if (!rc && sweep_find_hash(it, n, it[n].hash) >= 0) {
            rk_config_free(&it[n].cfg); /* duplicate (an axis that does not change this arm) */
            continue;
        }
        if (!rc) n++;
    }
    size_t ngrid = n;
    for (size_t i = 0; i < ngrid && !rc; i++) {
        if (!strstr(rk_config_get(&it[i].cfg, "trial.arm"), "selftrain")) continue;
        rk_config tc;
        char th[65], *j = NULL;
        rc = rk_trial_teacher_config(&it[i].cfg, &tc, &err);
        if (!rc) rc = rk_config_json(&tc, &j, th, &err);
        free(j);
        if (rc) break;
        int k = sweep_find_hash(it, n, th);
        if (k < 0) {
            it[n].cfg = tc;
            memcpy(it[n].hash, th, 65);
            it[n].teacher = -1;
            it[n].implied = 1;
            k = (int)n++;
        } else {
            rk_config_free(&tc);
        }
        it[i].teacher = k;
    }
    const char *study = rc ? NULL : rk_config_get(&x.base, "study.name");
    char *sel = NULL, *need = NULL;
    size_t nsel = 0;
    if (!rc && emit) {
        so.jobs = jobs_set ? jobs : 1;
        rc = emit_slurm(file, ov, nov, it, n, study, rk_config_get(&x.base, "study.threads"), &so,
                        &err);
        if (rc) fprintf(stderr, "rethink sweep: %s\n", err.msg);
        goto done;
    }
    /* sel: this run's trials (all, or this stage's shard); need: sel and their teachers,
     * which are registered and linked but, outside sel, must be finished already */
    sel = calloc(n + 1, 1), need = calloc(n + 1, 1);
    if (!rc && (!sel || !need)) rc = rk_errf(&err, RK_ENOMEM, "out of memory");
    for (size_t i = 0, pos = 0; i < n && !rc; i++) {
        if (stage && stage_of(&it[i]) != stage) continue;
        sel[i] = need[i] = !stage || (int)(pos++ % (size_t)nshards) == shard;
        nsel += sel[i];
    }
    for (size_t i = 0; i < n && !rc; i++)
        if (sel[i] && it[i].teacher >= 0) need[it[i].teacher] = 1;
    /* MPI: ranks >= 1 only run trials (they never open the database); rank 0 goes on */
#ifdef RK_HAVE_MPI
    if (!rc && nmpi > 1) {
        rc = sweep_mpi_init(&rank, &err);
        if (rc) {
            fprintf(stderr, "rethink sweep: %s\n", err.msg);
            goto done;
        }
        mpi = 1;
        if (rank > 0) {
            int died = 0;
            rc = sweep_mpi_worker(it, n, rank_timeout, &died);
            lost = (size_t)died;
            goto done;
        }
    }
#endif
    if (!rc) rc = rk_store_open(&db, db_path, &err);
    /* register teachers first so they get lower ids (acquire takes the lowest runnable) */
    for (int pass = 0; pass < 2 && !rc; pass++)
        for (size_t i = 0; i < n && !rc; i++) {
            if (!need[i]) continue;
            int is_teacher = 0;
            for (size_t s = 0; s < n; s++) is_teacher |= it[s].teacher == (int)i;
            if (is_teacher != (pass == 0)) continue;
            char h[65];
            rc = run_register(db, &it[i].cfg, &it[i].id, &it[i].status, h, &err);
        }
    for (size_t i = 0; i < n && !rc; i++)
        if (sel[i] && it[i].teacher >= 0)
            rc = rk_store_trial_depend(db, it[i].id, it[it[i].teacher].id, &err);
    size_t reclaimed = 0;
    if (!rc) rc = reclaim_dead(db, study, &reclaimed, &err);
    rk_trial_counts c = {0};
    if (!rc) rc = rk_store_counts(db, study, &c, &err);
    if (rc) {
        fprintf(stderr, "rethink sweep: %s\n", err.msg);
        goto done;
    }
    if (reclaimed && !quiet)
        printf("resuming: %zu trial(s) interrupted in an earlier run go back to pending\n", reclaimed);
    size_t to_run = 0;
    for (size_t i = 0; i < n; i++) {
        if (!need[i]) continue;
        rk_trial t;
        int found = 0;
        if (!rk_store_trial_get(db, it[i].id, &t, &found, &err) && found) {
            it[i].status = t.status;
            rk_trial_clear(&t);
        }
        to_run += sel[i] && it[i].status != RK_TRIAL_FINISHED;
    }
    for (size_t i = 0; i < n; i++)
        if (need[i] && !sel[i] && it[i].status != RK_TRIAL_FINISHED) {
            fprintf(stderr, "rethink sweep: stage %d needs its teachers finished in %s, but "
                            "teacher %.16s (%s, seed %s) is %s: merge the stage-1 shards into it "
                            "first (rethink merge SHARD... --db %s)\n",
                    stage, db_path, it[i].hash, rk_config_get(&it[i].cfg, "trial.arm"),
                    rk_config_get(&it[i].cfg, "trial.seed"), rk_trial_status_name(it[i].status),
                    db_path);
            rc = 1;
            goto done;
        }
    if (dry) {
        printf("%-5s %-20s %-4s %-8s %-5s %-10s %-16s %s\n", "#", "arm", "aug", "fraction", "seed",
               "status", "hash", "depends on");
        for (size_t i = 0; i < n; i++) {
            if (!sel[i]) continue;
            const rk_config *g = &it[i].cfg;
            printf("%-5zu %-20s %-4s %-8s %-5s %-10s %.16s %s%.16s%s\n", i,
                   rk_config_get(g, "trial.arm"), rk_config_get(g, "trial.aug"),
                   rk_config_get(g, "trial.fraction"), rk_config_get(g, "trial.seed"),
                   rk_trial_status_name(it[i].status), it[i].hash,
                   it[i].teacher >= 0 ? "teacher " : "", it[i].teacher >= 0 ? it[it[i].teacher].hash : "",
                   it[i].implied ? " (implied teacher)" : "");
        }
        if (stage) printf("\nstage %d, shard %d/%d: %zu of the %zu trials\n", stage, shard, nshards,
                          nsel, n);
        printf("\n%zu trials (%zu in the grid, %zu implied teachers), %zu to run\n", n, ngrid,
               n - ngrid, to_run);
        fflush(stdout);
        dry_estimate(it, n, sel, jobs, quiet);
        goto done;
    }
    /* bf16 trials on a CPU without bf16 kernels would each fail at their first step: say so
     * once, before any starts (MPI ranks may run on other machines; they report per trial) */
    size_t nbf16 = 0;
    if (!mpi && !rk_dnnl_has_bf16())
        for (size_t i = 0; i < n; i++)
            nbf16 += sel[i] && it[i].status != RK_TRIAL_FINISHED &&
                     !strcmp(rk_config_get(&it[i].cfg, "train.precision"), "bf16");
    if (nbf16) {
        fprintf(stderr, "rethink sweep: %zu of the trials to run set train.precision = bf16, but "
                        "this CPU has no bf16 kernels (oneDNN needs AVX-512, and AVX512-BF16 or "
                        "AMX to be fast): run them on such a CPU, or train in f32 with -s "
                        "train.precision=f32 (a different cell: f32 and bf16 trials are not "
                        "pooled)\n", nbf16);
        rc = 2;
        goto done;
    }
    if (to_run == 0) {
        printf("nothing to do: all %zu trials%s of study '%s' are finished (in %s)\n", nsel,
               stage ? " of this stage and shard" : "", study, db_path);
        goto done;
    }
    if (!quiet)
        printf("sweep '%s': %zu trials, %zu to run, %d %s, database %s\n", study, n, to_run,
               mpi ? nmpi - 1 : jobs, mpi ? "worker ranks" : "workers", db_path);
    fflush(stdout);
#ifdef RK_HAVE_MPI
    if (mpi) {
        sweep_mpi_plan p = {db, study, it, n, stage ? sel : NULL, &it[0].cfg, rank_timeout, quiet};
        served = 1;
        rc = sweep_mpi_coordinate(&p, &lost, &err);
        if (rc) fprintf(stderr, "rethink sweep: %s\n", err.msg);
        if (!rk_store_counts(db, study, &c, &err)) {
            size_t left = c.pending + c.running;
            printf("%s: %zu finished, %zu failed, %zu left", study, c.finished, c.failed, left);
            if (lost) printf(" (%zu rank(s) presumed dead)", lost);
            printf("%s\n", left ? " (run the same command to resume)" : "");
            if (!rc) rc = c.failed ? 3 : left ? 1 : 0;
        }
        goto done;
    }
#endif
    /* the dataset, before the workers: built by a child (the parent stays free of OpenMP) */
    pid_t b = fork();
    if (b == 0) _exit(build_data_child(&it[0].cfg));
    int bst = 0;
    waitpid(b, &bst, 0);
    if (!WIFEXITED(bst) || WEXITSTATUS(bst)) {
        rc = 1;
        goto done;
    }
    rk_store_close(db);
    db = NULL;
    signal(SIGINT, on_sigint);
    pid_t *kids = calloc((size_t)jobs, sizeof *kids);
    for (int j = 0; j < jobs && kids; j++) {
        kids[j] = fork();
        if (kids[j] == 0) {
            signal(SIGINT, SIG_DFL);
            _exit(worker(db_path, study, it, n, stage ? sel : NULL, j, quiet));
        }
    }
    double t0 = rk_now();
    int alive = jobs, tty = isatty(1) && !quiet;
    while (alive > 0) {
        int status;
        pid_t p = waitpid(-1, &status, WNOHANG);
        if (p > 0) {
            alive--;
            continue;
        }
        if (p < 0 && errno != EINTR) break;
        if (interrupted) {
            for (int j = 0; j < jobs; j++) kill(kids[j], SIGTERM);
            while (waitpid(-1, &status, 0) > 0) {}
            break;
        }
        if (tty) {
            rk_store *r = NULL;
            rk_trial_counts k;
            if (!rk_store_open(&r, db_path, &err) && !rk_store_counts(r, study, &k, &err)) {
                double el = rk_now() - t0;
                size_t done_now = k.finished + k.failed, left = k.pending + k.running;
                size_t ran = done_now > (n - to_run) ? done_now - (n - to_run) : 0;
                char eta[32] = "?";
                if (ran) snprintf(eta, sizeof eta, "%.0fs", el / (double)ran * (double)left);
                printf("\r  done %zu  running %zu  failed %zu  left %zu  elapsed %.0fs  ETA %s   ",
                       k.finished, k.running, k.failed, left, el, eta);
                fflush(stdout);
            }
            rk_store_close(r);
        }
        usleep(500000);
    }
    free(kids);
    if (tty) printf("\n");
    if (!rk_store_open(&db, db_path, &err) && !rk_store_counts(db, study, &c, &err))
        printf("%s: %zu finished, %zu failed, %zu left%s\n", study, c.finished, c.failed,
               c.pending + c.running, interrupted ? " (interrupted: run the same command to resume)" : "");
    rc = interrupted ? 130 : c.failed ? 3 : 0;
done:
#ifdef RK_HAVE_MPI
    if (mpi && rank == 0 && !served) { /* stopped before running anything: release the ranks */
        sweep_mpi_plan p = {.timeout_s = rank_timeout};
        sweep_mpi_coordinate(&p, &lost, &err);
    }
    if (mpi) sweep_mpi_finalize(lost > 0);
#else
    (void)rank, (void)served, (void)rank_timeout, (void)lost;
#endif
    rk_store_close(db);
    free(sel);
    free(need);
    free(artifacts);
    free(ov);
    for (size_t i = 0; i < n; i++) rk_config_free(&it[i].cfg);
    free(it);
    rk_experiment_free(&x);
    return rc;
}
