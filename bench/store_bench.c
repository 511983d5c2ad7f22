/* Store throughput under concurrent workers: W processes run the sweep worker's loop
 * (acquire, heartbeat, metrics batch, heartbeat, finish) on one database until N trials are
 * finished, and the parent reports trials/s, write transactions/s, the slowest single call
 * (how long a writer queued for the lock) and how evenly the trials spread over workers.
 *
 *   build/bench_store [-w WORKERS] [-n TRIALS] [-m METRICS] [-u WORK_US] [-i IDLE] [-d DB]
 *
 * -i adds IDLE more workers that poll acquire every millisecond for a study whose only
 * pending trial waits on a running one (idle workers waiting for a teacher): their polls
 * should cost the working ones nothing.
 *
 * Every call that fails (a "database is locked" included) is counted and makes the exit
 * status 1. Results for this machine are in docs/ARCHITECTURE.md §Store. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rethink/store.h"

typedef struct report {
    int trials, calls, errors;
    double max_call_s, sum_call_s;
} report;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void timed(report *r, double t0)
{
    double dt = now_s() - t0;
    r->calls++;
    r->sum_call_s += dt;
    if (dt > r->max_call_s) r->max_call_s = dt;
}

/* An idle worker: polls until killed; nothing ever becomes runnable for it. */
static void idle(const char *db)
{
    rk_store *s = NULL;
    rk_err err = {0};
    if (rk_store_open(&s, db, &err)) {
        fprintf(stderr, "idle: %s\n", err.msg);
        return;
    }
    for (;;) {
        rk_acquire_opts o = {.study = "idle", .worker = "idle"};
        rk_trial t;
        int got;
        if (rk_store_trial_acquire(s, &o, &t, &got, &err)) {
            fprintf(stderr, "idle: %s\n", err.msg);
            return;
        }
        if (got) {
            fprintf(stderr, "idle: acquired a blocked trial\n");
            return;
        }
        usleep(1000);
    }
}

static report work(const char *db, int slot, int nmetrics, int work_us)
{
    report r = {0};
    rk_store *s = NULL;
    rk_err err = {0};
    char name[32];
    snprintf(name, sizeof name, "bench%d", slot);
    if (rk_store_open(&s, db, &err)) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        r.errors++;
        return r;
    }
    rk_metric m[64];
    for (int k = 0; k < nmetrics; k++) {
        m[k] = (rk_metric){.step = k, .epoch = k, .value = k};
        snprintf(m[k].name, sizeof m[k].name, "loss");
    }
    double stats[RK_COCO_NSTATS] = {0};
    for (;;) {
        rk_acquire_opts o = {.worker = name};
        rk_trial t;
        int got;
        double t0 = now_s();
        if (rk_store_trial_acquire(s, &o, &t, &got, &err)) goto fail;
        timed(&r, t0);
        if (!got) break;
        int bad = 0;
        t0 = now_s();
        bad |= rk_store_trial_heartbeat(s, t.id, t.attempts, &err);
        timed(&r, t0);
        if (work_us) usleep((useconds_t)work_us);
        t0 = now_s();
        bad |= rk_store_metrics_add(s, t.id, t.attempts, m, (size_t)nmetrics, &err);
        timed(&r, t0);
        t0 = now_s();
        bad |= rk_store_trial_heartbeat(s, t.id, t.attempts, &err);
        timed(&r, t0);
        stats[0] = (double)t.id;
        rk_trial_outcome out = {.stats = stats, .wall_s = 1, .cpu_s = 1, .images = 1,
                                .flops = NAN, .teacher_cpu_s = NAN, .pseudo_cpu_s = NAN};
        t0 = now_s();
        bad |= rk_store_trial_finish(s, t.id, t.attempts, &out, &err);
        timed(&r, t0);
        rk_trial_clear(&t);
        if (bad) goto fail;
        r.trials++;
    }
    rk_store_close(s);
    return r;
fail:
    fprintf(stderr, "%s: %s\n", name, err.msg);
    r.errors++;
    rk_store_close(s);
    return r;
}

int main(int argc, char **argv)
{
    int workers = 8, trials = 2000, nmetrics = 10, work_us = 0, nidle = 0;
    char db[512] = "";
    int opt;
    while ((opt = getopt(argc, argv, "w:n:m:u:i:d:")) != -1) {
        switch (opt) {
        case 'w': workers = atoi(optarg); break;
        case 'n': trials = atoi(optarg); break;
        case 'm': nmetrics = atoi(optarg); break;
        case 'u': work_us = atoi(optarg); break;
        case 'i': nidle = atoi(optarg); break;
        case 'd': snprintf(db, sizeof db, "%s", optarg); break;
        default:
            fprintf(stderr, "usage: %s [-w WORKERS] [-n TRIALS] [-m METRICS] [-u WORK_US] [-i IDLE] [-d DB]\n",
                    argv[0]);
            return 2;
        }
    }
    if (workers < 1 || workers > 256 || trials < 1 || nmetrics < 0 || nmetrics > 64 ||
        nidle < 0 || nidle > 256) {
        fprintf(stderr, "bench_store: -w 1..256, -n >= 1, -m 0..64, -i 0..256\n");
        return 2;
    }
    char dir[] = "/tmp/rk_store_bench_XXXXXX";
    int own_db = !db[0];
    if (own_db) {
        if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
        snprintf(db, sizeof db, "%s/bench.db", dir);
    }
    rk_store *s;
    rk_err err = {0};
    if (rk_store_open(&s, db, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
    for (int i = 0; i < trials; i++) {
        char cfg[96];
        snprintf(cfg, sizeof cfg, "{\"arm\":\"scratch\",\"seed\":%d}", i);
        rk_trial_spec sp = {.study = "bench", .config_json = cfg, .arm = "scratch",
                            .fraction = 1, .seed = i};
        if (rk_store_trial_register(s, &sp, NULL, NULL, NULL, &err))
            return fprintf(stderr, "%s\n", err.msg), 1;
    }
    /* the idle study: b waits for a, which stays running (acquired here, never finished) */
    rk_trial_spec a = {.study = "idle", .config_json = "{\"idle\":\"a\"}", .fraction = NAN};
    rk_trial_spec b = {.study = "idle", .config_json = "{\"idle\":\"b\"}", .fraction = NAN};
    int64_t ia, ib;
    rk_acquire_opts ao = {.study = "idle", .worker = "teacher"};
    rk_trial ta;
    int got;
    if (rk_store_trial_register(s, &a, &ia, NULL, NULL, &err) ||
        rk_store_trial_register(s, &b, &ib, NULL, NULL, &err) ||
        rk_store_trial_depend(s, ib, ia, &err) || rk_store_trial_acquire(s, &ao, &ta, &got, &err))
        return fprintf(stderr, "%s\n", err.msg), 1;
    rk_trial_clear(&ta);
    rk_store_close(s);

    pid_t *idlers = calloc((size_t)nidle + 1, sizeof *idlers);
    for (int i = 0; i < nidle; i++) {
        if ((idlers[i] = fork()) == 0) {
            idle(db);
            _exit(1);
        }
    }

    int res[2], gate[2];
    if (pipe(res) || pipe(gate)) return perror("pipe"), 1;
    pid_t *pid = calloc((size_t)workers, sizeof *pid);
    for (int i = 0; i < workers; i++) {
        if ((pid[i] = fork()) == 0) {
            char c;
            close(gate[1]);
            (void)!read(gate[0], &c, 1);
            report r = work(db, i, nmetrics, work_us);
            (void)!write(res[1], &r, sizeof r);
            _exit(0);
        }
    }
    close(gate[0]);
    double t0 = now_s();
    close(gate[1]);
    for (int i = 0; i < workers; i++) waitpid(pid[i], NULL, 0);
    double wall = now_s() - t0;
    int idle_failed = 0;
    for (int i = 0; i < nidle; i++) {
        int st;
        if (waitpid(idlers[i], &st, WNOHANG) == idlers[i]) idle_failed++; /* it stopped: error */
        else {
            kill(idlers[i], SIGKILL);
            waitpid(idlers[i], NULL, 0);
        }
    }
    free(idlers);
    close(res[1]);
    report r, sum = {0};
    int min_trials = trials, max_trials = 0;
    while (read(res[0], &r, sizeof r) == (ssize_t)sizeof r) {
        sum.trials += r.trials;
        sum.calls += r.calls;
        sum.errors += r.errors;
        sum.sum_call_s += r.sum_call_s;
        if (r.max_call_s > sum.max_call_s) sum.max_call_s = r.max_call_s;
        if (r.trials < min_trials) min_trials = r.trials;
        if (r.trials > max_trials) max_trials = r.trials;
    }
    sum.errors += idle_failed;
    printf("workers %d (+%d idle)  trials %d  metrics/trial %d  work %d us  wall %.2f s  "
           "trials/s %.0f  write txns/s %.0f  mean call %.2f ms  max call %.0f ms  "
           "trials per worker %d..%d  errors %d\n",
           workers, nidle, sum.trials, nmetrics, work_us, wall, sum.trials / wall,
           sum.calls / wall, 1e3 * sum.sum_call_s / (sum.calls ? sum.calls : 1),
           1e3 * sum.max_call_s, min_trials, max_trials, sum.errors);
    free(pid);
    if (own_db) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) return 1;
    }
    return sum.errors || sum.trials != trials ? 1 : 0;
}
