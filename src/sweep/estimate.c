/* The dry run's time estimate of a sweep (include/rethink/sweep.h): measured on this machine,
 * not assumed. Each distinct step shape of the trials to run (model, images per step,
 * precision, threads) is timed with rk_refnet_bench on one worker's threads (a shape with
 * train.precision = auto in the precision that times faster by the wall clock, as its trials
 * decide) at the rate it has on cores of its own (rk_trial_step_rate's *own: by CPU time, so
 * that parts already running beside the dry run do not count as its slowness), and a trial
 * takes its images over that rate, divided by TRIAL_SHARE: the part of a trial's CPU time
 * that is training steps. The rest (augmentation, targets, dev evaluations, pseudo-labelling)
 * was 5-17 % of the paper study's trials on two machines (docs/STUDY.md, "Estimating a
 * study's time"). A trial's images are its expected steps (rk_sweep_expect: a plateau
 * schedule's from its cell's finished trials, else its budget, an upper bound) times its
 * images per step. The backbones the trials to run will make are costed at the same kind of
 * rate (cost_backbones). A joint arm's source images (rk_trial_work.joint_images) pass
 * through the classifier, not the detector: they are costed at the detector's rate times
 * joint_cost (the MACs ratio), not timed as a shape of their own. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rethink/sweep.h"

#define TRIAL_SHARE 0.9

static int same_shape(const rk_sweep_shape *a, const rk_trial_work *w, int threads)
{
    return !memcmp(&a->model, &w->model, sizeof w->model) && a->step_images == w->step_images &&
           a->bf16 == w->bf16 && a->bf16_auto == w->bf16_auto && a->threads == threads;
}

/* The step timing of a shape (rk_trial_step_rate): the wall-clock rate, which train.precision
 * = auto decides by, and in *own the rate on cores of the trial's own, which the estimate
 * takes (a dry run beside running parts would otherwise count their load as the trial's). */
static double time_steps(const rk_sweep_shape *s, rk_backend b, double *own, rk_err *err)
{
    return rk_trial_step_rate(&s->model, s->step_images, b, s->threads, own, err);
}

/* Wall seconds of trials taking t[i] seconds each (0: not run) on par workers: the larger
 * of the total spread over the workers and the longest teacher-then-student chain. */
static double wall_of(const double *t, const rk_sweep_plan *p, double par)
{
    double total = 0, chain = 0;
    for (size_t i = 0; i < p->n; i++) {
        int k = p->t[i].teacher;
        double c = t[i] + (k >= 0 ? t[k] : 0);
        total += t[i];
        if (c > chain) chain = c;
    }
    if (!isfinite(total)) return NAN; /* a trial that cannot run here */
    return total / par > chain ? total / par : chain;
}

/* The step shapes of the selected trials to run into e; shape[i]: trial i's, -1 none. */
static int collect(const rk_sweep_plan *p, rk_trial_work *w, int *shape, int *threads_max,
                   rk_sweep_estimate *e, rk_err *err)
{
    for (size_t i = 0; i < p->n; i++) {
        const rk_sweep_trial *s = &p->t[i];
        rk_err ignored = {0};
        shape[i] = -1;
        if (!s->selected || (s->status != RK_TRIAL_PENDING && s->status != RK_TRIAL_RUNNING) ||
            rk_trial_cost(&s->cfg, &w[i], &ignored))
            continue;
        if (s->step_images > 0) w[i].images = s->steps * s->step_images; /* rk_sweep_expect's */
        if (s->bound) e->nbound++, e->images_bound += w[i].images;
        e->images += w[i].images;
        const char *th = rk_config_get(&s->cfg, "study.threads");
        int threads = th && atoi(th) > 0 ? atoi(th) : 1;
        if (threads > *threads_max) *threads_max = threads;
        size_t k = 0;
        while (k < e->nshapes && !same_shape(&e->shape[k], &w[i], threads)) k++;
        if (k == e->nshapes) {
            rk_sweep_shape *ns = realloc(e->shape, (e->nshapes + 1) * sizeof *ns);
            if (!ns) return rk_errf(err, RK_ENOMEM, "sweep: out of memory");
            e->shape = ns;
            e->shape[e->nshapes++] = (rk_sweep_shape){.model = w[i].model,
                                                      .step_images = w[i].step_images,
                                                      .bf16 = w[i].bf16,
                                                      .bf16_auto = w[i].bf16_auto,
                                                      .threads = threads,
                                                      .rate = NAN, .rate_f32 = NAN};
        }
        shape[i] = (int)k;
    }
    return RK_OK;
}

/* The backbones the trials to run make, each once (the first trial in plan order that
 * makes it carries its time, as it does when it runs): their seconds added to t and t32. */
static int cost_backbones(const rk_sweep_plan *p, const int *shape, double *t, double *t32,
                          rk_sweep_estimate *e, rk_err *err)
{
    char (*seen)[65] = calloc(p->n + 1, sizeof *seen);
    rk_backbone_work *rated = calloc(p->n + 1, sizeof *rated);
    double *rate = calloc(p->n + 1, sizeof *rate);
    size_t nseen = 0, nrated = 0;
    int rc = seen && rated && rate ? RK_OK : rk_errf(err, RK_ENOMEM, "sweep: out of memory");
    for (size_t i = 0; i < p->n && !rc; i++) {
        rk_backbone_work w;
        rk_err ignored = {0};
        if (shape[i] < 0 || rk_trial_backbone_cost(&p->t[i].cfg, &w, &ignored) ||
            w.kind == RK_BACKBONE_NONE || w.exists)
            continue;
        size_t k = 0;
        while (k < nseen && strcmp(seen[k], w.key)) k++;
        if (k < nseen) continue;
        snprintf(seen[nseen++], sizeof *seen, "%s", w.key);
        /* timed at most 64 images a step (a SimCLR step of 512 views would take minutes to
         * time); the per-image rate is what counts */
        w.step_images = w.step_images > 64 ? 64 : w.step_images;
        int threads = e->shape[shape[i]].threads;
        size_t r = 0;
        while (r < nrated && !(rated[r].step_images == w.step_images &&
                               !memcmp(&rated[r].model, &w.model, sizeof w.model)))
            r++;
        if (r == nrated) {
            rated[nrated] = w;
            rk_trial_step_rate(&w.model, w.step_images, RK_BACKEND_DNNL, threads,
                               &rate[nrated++], &ignored);
        }
        double s = w.images / (rate[r] * TRIAL_SHARE);
        t[i] += s, t32[i] += s;
        e->train_s += s, e->backbone_s += s;
        e->backbone_images += w.images;
        e->nbackbones++;
    }
    free(seen), free(rated), free(rate);
    return rc;
}

int rk_sweep_estimate_time(const rk_sweep_plan *p, int jobs,
                           void (*note)(void *ctx, const char *msg), void *ctx,
                           rk_sweep_estimate *e, rk_err *err)
{
    memset(e, 0, sizeof *e);
    e->wall_s = e->wall_f32_s = NAN, e->slower = -1, e->par = jobs;
    double *t = calloc(p->n + 1, sizeof *t), *t32 = calloc(p->n + 1, sizeof *t32);
    rk_trial_work *w = calloc(p->n + 1, sizeof *w);
    int *shape = calloc(p->n + 1, sizeof *shape), threads_max = 1;
    int rc = t && t32 && w && shape ? RK_OK : rk_errf(err, RK_ENOMEM, "sweep: out of memory");
    if (!rc) rc = collect(p, w, shape, &threads_max, e, err);
    if (rc || !e->nshapes) goto done; /* nothing to run: nothing to time */
    if (note) {
        char msg[96];
        snprintf(msg, sizeof msg, "timing training steps on this machine (%zu step shape%s)...",
                 e->nshapes, e->nshapes > 1 ? "s" : "");
        note(ctx, msg);
    }
    for (size_t k = 0; k < e->nshapes; k++) {
        rk_sweep_shape *s = &e->shape[k];
        rk_err why = {0};
        double wall32 = time_steps(s, RK_BACKEND_DNNL, &s->rate_f32, &why);
        if (isnan(wall32)) s->rate_f32 = NAN;
        s->rate = s->rate_f32;
        if (s->bf16 && isfinite(wall32) && isnan(time_steps(s, RK_BACKEND_DNNL_BF16, &s->rate, &why)))
            s->rate = NAN;
        if (s->bf16_auto && rk_dnnl_has_bf16()) { /* as rk_trial_precision_auto decides */
            rk_err ignored = {0};
            double own16 = NAN, wall16 = time_steps(s, RK_BACKEND_DNNL_BF16, &own16, &ignored);
            if (wall16 > 1.05 * wall32) s->bf16 = 1, s->rate = own16;
        }
        if (!e->why[0] && why.msg[0]) snprintf(e->why, sizeof e->why, "%s", why.msg);
    }
    for (size_t i = 0; i < p->n; i++) {
        if (shape[i] < 0) continue;
        const rk_sweep_shape *s = &e->shape[shape[i]];
        double per = w[i].step_images + w[i].joint_images;
        double equiv = w[i].images * (w[i].step_images + w[i].joint_images * w[i].joint_cost) / per;
        t[i] = equiv / (s->rate * TRIAL_SHARE);
        t32[i] = equiv / (s->rate_f32 * TRIAL_SHARE);
        if (e->slower < 0 && s->bf16 && s->rate_f32 > 1.1 * s->rate) e->slower = shape[i];
        e->train_s += t[i];
    }
    if ((rc = cost_backbones(p, shape, t, t32, e, err))) goto done;
    /* workers beyond the cores share them */
    e->cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (e->cores > 0 && e->par * threads_max > e->cores)
        e->par = e->cores / threads_max > 1 ? (double)(e->cores / threads_max) : 1;
    e->wall_s = wall_of(t, p, e->par);
    e->wall_f32_s = wall_of(t32, p, e->par);
done:
    free(t), free(t32), free(w), free(shape);
    return rc;
}

void rk_sweep_estimate_free(rk_sweep_estimate *e)
{
    if (!e) return;
    free(e->shape);
    memset(e, 0, sizeof *e);
}
