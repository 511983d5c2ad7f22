/* Running trials for the command line: one trial under a store lease (with a heartbeat
 * thread), its per-epoch metrics recorded, and what it does as run_events (progress.h) for
 * whoever shows them: the sweep's parent, through a pipe, or `rethink train`'s own display.
 * Shared by `rethink train`, the sweep's workers and its MPI ranks (which hand metrics to
 * rank 0 instead of the store: run_trial_with). Finishing is the library's rk_sweep_finish.
 *
 * A trial with a dev split (train.dev > 0) records its training metrics only at the epochs
 * that evaluated on dev or val (the last epoch always does): a converged trial runs hundreds
 * of short epochs, and its loss every dev_every steps is the curve that is read, while a
 * study's database stays small enough to publish. Without a dev split every epoch is kept. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

#define STEP_EVERY_S 0.5 /* least interval between two step events */

typedef struct {
    run_metrics_fn metrics; /* NULL: metrics are not recorded */
    void *mctx;
    int64_t id;
    int attempt;
    const char *label;
    run_sink sink;
    double last_step; /* rk_now() of the last step event sent */
    int lost;
    int sparse; /* a dev split: metrics only at evaluated epochs */
} run_ctx;

static void emit(run_ctx *r, run_event *e)
{
    e->trial = r->id, e->attempt = r->attempt;
    if (r->sink.fn) r->sink.fn(r->sink.ctx, e);
}

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
    rk_metric m[12];
    size_t n = 0;
    const char *names[] = {RK_METRIC_LOSS,        RK_METRIC_LOSS_FOCAL, RK_METRIC_LOSS_SIZE,
                           RK_METRIC_LOSS_OFFSET, RK_METRIC_LOSS_PSEUDO, RK_METRIC_LR,
                           RK_METRIC_IMG_PER_S,   RK_METRIC_IMAGES};
    double vals[] = {s->loss, s->focal, s->size, s->offset, s->pseudo_loss, s->lr, s->img_per_s,
                     (double)s->images};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++)
        m[n++] = metric(s->epoch, names[i], vals[i]);
    if (s->joint_loss != 0) m[n++] = metric(s->epoch, RK_METRIC_LOSS_JOINT, s->joint_loss);
    if (val_ap >= 0) m[n++] = metric(s->epoch, RK_METRIC_VAL_AP, val_ap);
    if (dev_ap >= 0) m[n++] = metric(s->epoch, RK_METRIC_DEV_AP, dev_ap);
    rk_err err = {0};
    int keep = !r->sparse || val_ap >= 0 || dev_ap >= 0;
    if (keep && r->metrics && !r->lost && r->metrics(r->mctx, r->id, r->attempt, m, n, &err) == RK_STORE_LOST)
        r->lost = 1;
    run_event e = run_event_make(EV_EPOCH, r->sink.slot, r->label);
    e.epoch = s->epoch, e.epochs = s->epochs, e.loss = s->loss, e.img_per_s = s->img_per_s;
    if (dev_ap >= 0) e.dev_ap = dev_ap;
    emit(r, &e);
}

static void on_step(void *ctx, long step, long steps, double loss)
{
    run_ctx *r = ctx;
    double now = rk_now();
    if (now - r->last_step < STEP_EVERY_S && step != steps) return;
    r->last_step = now;
    run_event e = run_event_make(EV_STEP, r->sink.slot, r->label);
    e.step = step, e.steps = steps, e.loss = loss;
    emit(r, &e);
}

static void on_pretrain(void *ctx, long step, long steps, int epoch, int epochs, double acc,
                        double img_per_s)
{
    run_ctx *r = ctx;
    double now = rk_now();
    if (!epoch && now - r->last_step < STEP_EVERY_S) return;
    r->last_step = now;
    run_event e = run_event_make(EV_PRETRAIN, r->sink.slot, r->label);
    e.step = step, e.steps = steps, e.epoch = epoch, e.epochs = epochs, e.acc = acc;
    e.img_per_s = img_per_s;
    emit(r, &e);
}

/* An external trainer's metrics (metrics.json), under the lease as the epochs' are. */
static void on_metrics(void *ctx, const rk_metric *m, size_t n)
{
    run_ctx *r = ctx;
    rk_err err = {0};
    if (r->metrics && !r->lost && r->metrics(r->mctx, r->id, r->attempt, m, n, &err) == RK_STORE_LOST)
        r->lost = 1;
}

static void on_note(void *ctx, const char *msg)
{
    run_ctx *r = ctx;
    run_event e = run_event_make(EV_NOTE, r->sink.slot, r->label);
    snprintf(e.text, sizeof e.text, "%s", msg);
    emit(r, &e);
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
               const rk_config *cfg, const char *label, const run_sink *sink,
               rk_trial_result *res, rk_err *err)
{
    run_ctx r = {.metrics = metrics, .mctx = mctx, .id = t->id, .attempt = t->attempts,
                 .label = label, .sink = sink ? *sink : (run_sink){0}};
    const char *dev = rk_config_get(cfg, "train.dev");
    r.sparse = dev && atol(dev) > 0;
    beat b = {.path = db_path, .id = t->id, .attempt = t->attempts,
              .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    run_event start = run_event_make(EV_START, r.sink.slot, label);
    emit(&r, &start);
    pthread_t th;
    int have_beat = db_path && pthread_create(&th, NULL, beat_main, &b) == 0;
    rk_trial_hooks h = {.epoch = on_epoch, .note = on_note, .step = on_step,
                        .pretrain = on_pretrain, .metrics = on_metrics, .ctx = &r};
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
              const char *label, const run_sink *sink, rk_trial_result *res, rk_err *err)
{
    return run(db ? store_metrics : NULL, db, db_path, t, cfg, label, sink, res, err);
}

int run_trial_with(run_metrics_fn metrics, void *ctx, const rk_trial *t, const rk_config *cfg,
                   const char *label, const run_sink *sink, rk_trial_result *res, rk_err *err)
{
    return run(metrics, ctx, NULL, t, cfg, label, sink, res, err);
}

run_event run_done_event(const run_sink *sink, const char *label, const rk_trial *t,
                         const rk_trial_result *res)
{
    run_event e = run_event_make(EV_DONE, sink ? sink->slot : 0, label);
    e.trial = t->id, e.attempt = t->attempts;
    e.ap = res->stats.stats[RK_AP], e.ap50 = res->stats.stats[RK_AP50], e.wall_s = res->wall_s;
    e.segment = res->segment; /* e.ap is then the mIoU */
    e.step = res->steps, e.steps = res->max_steps;
    snprintf(e.stop, sizeof e.stop, "%s", rk_stop_name(res->stop));
    return e;
}

run_event run_failed_event(const run_sink *sink, const char *label, const rk_trial *t,
                           const char *msg, int retry)
{
    run_event e = run_event_make(EV_FAILED, sink ? sink->slot : 0, label);
    e.trial = t->id, e.attempt = t->attempts, e.retry = retry;
    snprintf(e.text, sizeof e.text, "%s", msg);
    return e;
}
