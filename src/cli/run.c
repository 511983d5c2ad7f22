/* Running trials for the command line: one trial under a store lease (with a heartbeat
 * thread), its per-epoch metrics recorded, and a progress line on a terminal. Shared by
 * `rethink train`, the sweep's workers and its MPI ranks (which hand metrics to rank 0
 * instead of the store: run_trial_with). Finishing is the library's rk_sweep_finish. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

typedef struct {
    run_metrics_fn metrics; /* NULL: metrics are not recorded */
    void *mctx;
    int64_t id;
    int attempt;
    const char *label;
    int tty, quiet;
    double t0;
    int lost;
} run_ctx;

/* A metric at step = epoch = e. */
static rk_metric metric(int64_t e, const char *name, double value)
{
    rk_metric m = {.step = e, .epoch = e, .value = value};
    snprintf(m.name, sizeof m.name, "%s", name);
    return m;
}

static void on_epoch(void *ctx, const rk_epoch_stats *s, double val_ap, double dev_ap)
{
    run_ctx *r = ctx;
    rk_metric m[10];
    size_t n = 0;
    const char *names[] = {RK_METRIC_LOSS,        RK_METRIC_LOSS_FOCAL, RK_METRIC_LOSS_SIZE,
                           RK_METRIC_LOSS_OFFSET, RK_METRIC_LOSS_PSEUDO, RK_METRIC_LR,
                           RK_METRIC_IMG_PER_S,   RK_METRIC_IMAGES};
    double vals[] = {s->loss, s->focal, s->size, s->offset, s->pseudo_loss, s->lr, s->img_per_s,
                     (double)s->images};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++)
        m[n++] = metric(s->epoch, names[i], vals[i]);
    if (val_ap >= 0) m[n++] = metric(s->epoch, RK_METRIC_VAL_AP, val_ap);
    if (dev_ap >= 0) m[n++] = metric(s->epoch, RK_METRIC_DEV_AP, dev_ap);
    rk_err err = {0};
    if (r->metrics && !r->lost && r->metrics(r->mctx, r->id, r->attempt, m, n, &err) == RK_STORE_LOST)
        r->lost = 1;
    if (!r->quiet && !r->tty) {
        char ev[64] = "";
        if (val_ap >= 0) snprintf(ev, sizeof ev, " val AP %.3f", val_ap);
        if (dev_ap >= 0) snprintf(ev + strlen(ev), sizeof ev - strlen(ev), " dev AP %.3f", dev_ap);
        printf("%s: epoch %d/%d loss %.4f lr %.4f %.0f img/s%s\n", r->label, s->epoch, s->epochs,
               s->loss, s->lr, s->img_per_s, ev);
    }
}

static void on_step(void *ctx, long step, long steps, double loss)
{
    run_ctx *r = ctx;
    if (!r->tty || r->quiet) return;
    double el = rk_now() - r->t0, eta = step > 0 ? el * (double)(steps - step) / (double)step : 0;
    int w = 24, f = (int)(w * (double)step / (double)steps);
    char bar[32];
    for (int i = 0; i < w; i++) bar[i] = i < f ? '#' : '.';
    bar[w] = 0;
    fprintf(stderr, "\r%s [%s] %ld/%ld loss %.3f  %.0fs left ", r->label, bar, step, steps, loss, eta);
    if (step == steps) fputc('\n', stderr);
}

static void on_note(void *ctx, const char *msg)
{
    run_ctx *r = ctx;
    if (!r->quiet) fprintf(stderr, "%s: %s\n", r->label, msg);
}

/* ---- heartbeat ---- */
typedef struct {
    const char *path;
    int64_t id;
    int attempt;
    int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} beat;

static void *beat_main(void *p)
{
    beat *b = p;
    rk_store *db = NULL;
    rk_err err = {0};
    if (rk_store_open(&db, b->path, &err)) return NULL;
    pthread_mutex_lock(&b->mu);
    while (!b->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += RUN_HEARTBEAT_S;
        pthread_cond_timedwait(&b->cv, &b->mu, &ts);
        if (b->stop) break;
        pthread_mutex_unlock(&b->mu);
        rk_store_trial_heartbeat(db, b->id, b->attempt, &err);
        pthread_mutex_lock(&b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    rk_store_close(db);
    return NULL;
}

static int store_metrics(void *db, int64_t id, int attempt, const rk_metric *m, size_t n,
                         rk_err *err)
{
    return rk_store_metrics_add(db, id, attempt, m, n, err);
}

/* db_path non-NULL: a heartbeat thread on its own connection to it while the trial runs */
static int run(run_metrics_fn metrics, void *mctx, const char *db_path, const rk_trial *t,
               const rk_config *cfg, const char *label, int quiet, rk_trial_result *res,
               rk_err *err)
{
    run_ctx r = {.metrics = metrics, .mctx = mctx, .id = t->id, .attempt = t->attempts,
                 .label = label, .tty = isatty(2), .quiet = quiet, .t0 = rk_now()};
    beat b = {.path = db_path, .id = t->id, .attempt = t->attempts,
              .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    pthread_t th;
    int have_beat = db_path && pthread_create(&th, NULL, beat_main, &b) == 0;
    rk_trial_hooks h = {.epoch = on_epoch, .note = on_note, .step = on_step, .ctx = &r};
    int rc = rk_trial_run(cfg, &h, res, err);
    if (have_beat) {
        pthread_mutex_lock(&b.mu);
        b.stop = 1;
        pthread_cond_signal(&b.cv);
        pthread_mutex_unlock(&b.mu);
        pthread_join(th, NULL);
    }
    if (r.lost && !rc) rc = rk_errf(err, RK_STORE_LOST, "the trial's lease was lost (reclaimed)");
    return rc;
}

int run_trial(rk_store *db, const char *db_path, const rk_trial *t, const rk_config *cfg,
              const char *label, int quiet, rk_trial_result *res, rk_err *err)
{
    return run(db ? store_metrics : NULL, db, db_path, t, cfg, label, quiet, res, err);
}

int run_trial_with(run_metrics_fn metrics, void *ctx, const rk_trial *t, const rk_config *cfg,
                   const char *label, int quiet, rk_trial_result *res, rk_err *err)
{
    return run(metrics, ctx, NULL, t, cfg, label, quiet, res, err);
}
