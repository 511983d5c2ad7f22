/* Running trials for the command line: one trial under a store lease (with a heartbeat
 * thread), its per-epoch metrics, results and compute recorded, and a progress line on a
 * terminal. Shared by `rethink train`, the sweep's workers and its MPI ranks (which hand
 * metrics and outcome to rank 0 instead of the store: run_trial_with, run_outcome). */
#include <math.h>
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
    const char *names[] = {"loss", "loss.focal", "loss.size", "loss.offset", "loss.pseudo", "lr",
                           "img_per_s", "images"};
    double vals[] = {s->loss, s->focal, s->size, s->offset, s->pseudo_loss, s->lr, s->img_per_s,
                     (double)s->images};
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++)
        m[n++] = metric(s->epoch, names[i], vals[i]);
    if (val_ap >= 0) m[n++] = metric(s->epoch, "val.AP", val_ap);
    if (dev_ap >= 0) m[n++] = metric(s->epoch, "dev.AP", dev_ap);
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

int run_outcome(const rk_trial_result *res, rk_trial_outcome *o, rk_category_ap **cats,
                rk_err *err)
{
    rk_category_ap *ca = calloc(res->stats.ncats + 1, sizeof *ca);
    *cats = ca;
    if (!ca) return rk_errf(err, RK_ENOMEM, "out of memory");
    for (size_t k = 0; k < res->stats.ncats; k++) {
        ca[k].id = res->cats ? res->cats[k].id : (int)k + 1;
        snprintf(ca[k].name, sizeof ca[k].name, "%s",
                 res->cats && res->cats[k].name ? res->cats[k].name : "");
        ca[k].ap = res->stats.cat_ap[k];
    }
    *o = (rk_trial_outcome){.stats = res->stats.stats, .cats = ca, .ncats = res->stats.ncats,
                            .wall_s = res->wall_s, .cpu_s = res->cpu_s, .images = res->images,
                            .flops = res->flops, .teacher_cpu_s = res->teacher_cpu_s,
                            .pseudo_cpu_s = res->pseudo_cpu_s, .data_hash = res->data_hash};
    return 0;
}

size_t run_final_metrics(const rk_trial_result *res, rk_metric m[RUN_FINAL_METRICS])
{
    size_t n = 0;
    if (!isnan(res->dev_ap)) {
        m[n++] = metric(res->best_epoch, "select.epoch", res->best_epoch);
        m[n++] = metric(res->best_epoch, "select.dev.AP", res->dev_ap);
    }
    if (!isnan(res->source_acc))
        m[n++] = metric(0, "backbone.source_acc", res->source_acc);
    return n;
}

int run_record(rk_store *db, const rk_trial *t, const rk_trial_result *res, rk_err *err)
{
    rk_trial_outcome o;
    rk_category_ap *ca;
    rk_metric m[RUN_FINAL_METRICS];
    size_t n = run_final_metrics(res, m);
    int rc = run_outcome(res, &o, &ca, err);
    if (!rc && n) rc = rk_store_metrics_add(db, t->id, t->attempts, m, n, err);
    if (!rc) rc = rk_store_trial_finish(db, t->id, t->attempts, &o, err);
    free(ca);
    return rc;
}

int run_register(rk_store *db, const rk_config *cfg, int64_t *id, rk_trial_status *st,
                 char hash[65], rk_err *err)
{
    char *json = NULL;
    int rc = rk_config_json(cfg, &json, hash, err);
    if (rc) return rc;
    rk_trial_spec sp = {.study = rk_config_get(cfg, "study.name"), .config_json = json,
                        .config_hash = hash, .arm = rk_config_get(cfg, "trial.arm"),
                        .aug = rk_config_get(cfg, "trial.aug"),
                        .fraction = strtod(rk_config_get(cfg, "trial.fraction"), NULL),
                        .seed = strtoll(rk_config_get(cfg, "trial.seed"), NULL, 10)};
    rc = rk_store_trial_register(db, &sp, id, st, NULL, err);
    free(json);
    return rc;
}
