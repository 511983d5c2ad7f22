/* The stages of a trial that make artifacts of their own — the pre-trained backbone and a
 * teacher's pseudo-labels — and the precision a trial with train.precision = auto trains in.
 *
 * Each stage reads its settings only from its own config (rk_stage_config, config.h): the
 * typed settings are rk_trial_cfg_from of that config, never of the trial's, so a setting
 * the stage config lacks reads as its default and cannot change what the stage makes
 * without changing its key (the artifact's name). Artifacts are found, or made under a lock
 * and placed without overwriting anything (artifact.c). */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "trial_internal.h"

/* An exclusive lock on path (created if missing), held until lock_drop; -1 when the folder
 * does not allow one (the caller then works without: at worst twice). It dies with its
 * process. */
static int lock_take(const char *path)
{
    int fd = open(path, O_CREAT | O_RDWR, 0644);
    if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void lock_drop(int fd)
{
    if (fd >= 0) close(fd);
}

/* The stage's config, key and typed settings (owned: free *t and the config). */
static int stage_of(const rk_config *c, rk_stage stage, rk_config *sc, char key[65],
                    rk_trial_cfg **t, rk_err *err)
{
    *t = malloc(sizeof **t);
    if (!*t) return rk_errf(err, RK_ENOMEM, "trial: out of memory");
    int rc = rk_stage_config(c, stage, sc, key, err);
    if (!rc && (rc = rk_trial_cfg_from(*t, sc, err))) rk_config_free(sc);
    if (rc) free(*t), *t = NULL;
    return rc;
}

/* A number member of a JSON object text, NAN if absent. */
static double meta_num(const char *meta, const char *name)
{
    cJSON *m = cJSON_Parse(meta);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, name);
    double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    cJSON_Delete(m);
    return x;
}

/* ---- the backbone ---- */
/* Backbones of three kinds (rk_backbone), each the artifact of its own stage: supervised
 * (classification pre-training on the labelled source), strong (the same for
 * strong.epochs_scale times the epochs) and SimCLR (contrastive, on the source images
 * without labels). */

/* The trial's pretrain hook (progress), fed from the classifier's step and epoch hooks. */
typedef struct {
    const rk_trial_hooks *h;
    long total;
} pre_ctx;

static int pre_epoch(void *ctx, const rk_epoch_stats *s)
{
    const pre_ctx *p = ctx; /* rk_classifier_train reports the epoch's accuracy as focal */
    if (p->h && p->h->pretrain)
        p->h->pretrain(p->h->ctx, p->total * s->epoch / (s->epochs ? s->epochs : 1), p->total,
                       s->epoch, s->epochs, s->focal, s->img_per_s);
    return 0;
}

static void pre_step(void *ctx, long step, long steps, double loss)
{
    (void)loss;
    pre_ctx *p = ctx;
    p->total = steps;
    if (p->h && p->h->pretrain) p->h->pretrain(p->h->ctx, step, steps, 0, 0, NAN, NAN);
}

/* SimCLR's epoch hook: the pretrain hook hears the pair accuracy as its accuracy, and the
 * last epoch's loss and accuracy are kept for the artifact's record. */
typedef struct {
    pre_ctx pc; /* first: pre_step reads it */
    double loss, acc;
} ssl_ctx;

static int ssl_epoch(void *ctx, const rk_epoch_stats *s)
{
    ssl_ctx *x = ctx;
    x->loss = s->loss, x->acc = s->focal;
    return pre_epoch(&x->pc, s);
}

/* The stronger backbone's epochs: pretrain.epochs times strong.epochs_scale, rounded. */
static int strong_epochs(const rk_trial_cfg *t)
{
    double e = floor(t->pre.epochs * t->strong_epochs_scale + 0.5);
    return e < 1 ? 1 : e > 1e6 ? 1000000 : (int)e;
}

/* Trains the pre-training classifier of t on the labelled source images and saves it at
 * path: its held-out accuracy (*acc, NAN without a held-out part), held-out images, classes
 * and CPU seconds. The stronger backbone (strong) is the same training for
 * strong.epochs_scale times the epochs. */
static int backbone_train(const rk_trial_cfg *t, int strong, const rk_source *src,
                          const char *path, double *acc, size_t *nheld, int *nclasses,
                          double *cpu_s, const rk_trial_hooks *h, rk_err *err)
{
    rk_schedule pre = t->pre;
    if (strong) pre.epochs = strong_epochs(t);
    rk_trial_note(h, "pre-training the %sbackbone on %zu source images (%d epochs)",
                  strong ? "stronger " : "", src->n, pre.epochs);
    /* the source's own classes: its distinct labels, in ascending order */
    int *cls = malloc((src->n + 1) * sizeof *cls), K = 0;
    if (cls) rk_source_classes(src, cls, &K, NULL);
    size_t *train = malloc(src->n * sizeof *train), *hold = malloc(src->n * sizeof *hold);
    size_t ntr = 0, nho = 0;
    rk_refnet_cfg mc = t->det.model;
    mc.num_classes = K > 0 ? K : 1;
    *acc = NAN, *nclasses = K;
    rk_net *net = NULL;
    int rc = K == 0 ? rk_errf(err, RK_EINVAL, "pre-training: the source has no labels.csv")
                    : rk_refnet_classifier(&net, &mc, err);
    if (!rc && (!cls || !train || !hold))
        rc = rk_errf(err, RK_ENOMEM, "pre-training: out of memory");
    if (!rc) {
        /* labels are category ids of the target's categories; a deterministic hash picks the
         * held-out part */
        for (size_t i = 0; i < src->n; i++) {
            if (cls[i] < 0) continue;
            rk_rng r;
            rk_rng_init(&r, t->seed, 0x686f6c64ULL, i);
            if (rk_rng_uniform(&r) < t->pre_holdout)
                hold[nho++] = i;
            else
                train[ntr++] = i;
        }
        if (ntr == 0) rc = rk_errf(err, RK_EINVAL, "pre-training: no labelled source images");
    }
    double c0 = rk_cpu_now();
    if (!rc) {
        rk_refnet_init(net, &mc, t->seed);
        pre_ctx pc = {.h = h};
        rk_train_hooks th = {.epoch_end = pre_epoch, .step = pre_step, .ctx = &pc};
        rc = rk_classifier_train(net, &mc, src, train, ntr, cls, &t->pre_policy, &pre,
                                 t->seed, t->threads, &th, err);
    }
    if (!rc && nho) {
        rc = rk_classifier_accuracy(net, &mc, src, hold, nho, cls, t->pre_policy.pad, t->threads,
                                    acc, err);
        rk_trial_note(h, "backbone: held-out source accuracy %.3f on %zu images", *acc, nho);
    }
    if (!rc) rc = rk_checkpoint_save(net, path, err);
    *cpu_s = rk_cpu_now() - c0;
    *nheld = nho;
    rk_net_free(net);
    free(cls), free(train), free(hold);
    return rc;
}

/* Trains the SimCLR network of t on every source image (labels unread) and saves it at
 * path: its last epoch's NT-Xent loss and pair accuracy, and CPU seconds. */
static int simclr_make(const rk_trial_cfg *t, const rk_source *src, const char *path,
                       double *loss, double *pair_acc, double *cpu_s, const rk_trial_hooks *h,
                       rk_err *err)
{
    rk_trial_note(h, "SimCLR pre-training of the backbone on %zu source images (%d epochs, "
                  "batch %d, tau %g)", src->n, t->ssl.epochs, t->ssl.batch, t->ssl_temperature);
    size_t *all = malloc((src->n + 1) * sizeof *all);
    for (size_t i = 0; all && i < src->n; i++) all[i] = i;
    rk_net *net = NULL;
    rk_refnet_cfg mc = t->det.model;
    int rc = all ? rk_refnet_simclr(&net, &mc, t->ssl_proj_dim, err)
                 : rk_errf(err, RK_ENOMEM, "SimCLR: out of memory");
    double c0 = rk_cpu_now();
    ssl_ctx sx = {.pc = {.h = h}, .loss = NAN, .acc = NAN};
    if (!rc) {
        rk_net_init_params(net, t->seed);
        rk_train_hooks th = {.epoch_end = ssl_epoch, .step = pre_step, .ctx = &sx};
        rc = rk_simclr_train(net, &mc, t->ssl_proj_dim, src, all, src->n, &t->ssl_policy,
                             &t->ssl, t->ssl_temperature, t->seed, t->threads, &th, err);
    }
    if (!rc) rc = rk_checkpoint_save(net, path, err);
    *cpu_s = rk_cpu_now() - c0;
    *loss = sx.loss, *pair_acc = sx.acc;
    if (!rc)
        rk_trial_note(h, "SimCLR backbone: NT-Xent %.3f, pair accuracy %.3f in the last epoch",
                      sx.loss, sx.acc);
    rk_net_free(net);
    free(all);
    return rc;
}

/* Where a backbone of kind with stage key lives: the plain one keeps the name it always had
 * (backbone-KEY.ckpt), the others say their kind (backbone-KIND-KEY.ckpt). */
static void backbone_path(char *path, size_t n, const char *dir, rk_backbone kind,
                          const char *key)
{
    int plain = kind == RK_BACKBONE_SUPERVISED;
    snprintf(path, n, "%s/backbone-%s%s%.16s.ckpt", dir, plain ? "" : rk_backbone_name(kind),
             plain ? "" : "-", key);
}

int rk_trial_backbone_cost(const rk_config *c, rk_backbone_work *w, rk_err *err)
{
    memset(w, 0, sizeof *w);
    const char *an = rk_config_get(c, "trial.arm");
    rk_arm arm = rk_arm_parse(an ? an : "scratch");
    if (arm == RK_ARM_NONE || rk_arms[arm].teacher != RK_ARM_NONE ||
        rk_arms[arm].backbone == RK_BACKBONE_NONE)
        return RK_OK; /* makes none (a student's is its teacher's) */
    rk_backbone kind = rk_arms[arm].backbone;
    rk_config sc;
    rk_trial_cfg *bt;
    int rc = stage_of(c, rk_backbone_stage(kind), &sc, w->key, &bt, err);
    if (rc) return rc;
    char path[1200];
    backbone_path(path, sizeof path, bt->artifacts, kind, w->key);
    rk_artifact_use a;
    int state = 0;
    rc = rk_artifact_find(path, RK_ARTIFACT_BACKBONE, w->key, &a, &state, NULL, err);
    w->kind = kind, w->exists = state == 1, w->model = bt->det.model;
    double n = bt->data.nsource;
    const rk_schedule *s = kind == RK_BACKBONE_SIMCLR ? &bt->ssl : &bt->pre;
    int B = s->batch > 0 ? s->batch : 1;
    double epochs = s->epochs;
    if (kind == RK_BACKBONE_SIMCLR) {
        B = n < B ? (int)(n > 2 ? n : 2) : B;
        w->step_images = 2 * B;
    } else {
        n = floor(n * (1 - bt->pre_holdout) + 0.5);
        if (kind == RK_BACKBONE_STRONG) epochs = strong_epochs(bt);
        w->step_images = B;
    }
    w->images = ceil((n > 1 ? n : 1) / B) * (epochs > 1 ? epochs : 1) * w->step_images;
    rk_config_free(&sc);
    free(bt);
    return rc;
}

/* A JSON number, or null. */
static void jnum_text(char *out, size_t n, double v)
{
    if (isfinite(v)) snprintf(out, n, "%.17g", v);
    else snprintf(out, n, "null");
}

int rk_stage_backbone(const rk_config *c, int make, const rk_trial_hooks *h, rk_artifact_use *a,
                      double *acc, int *state, rk_err *err)
{
    rk_config sc;
    char key[65], path[1200], lpath[1300], tmp[1300];
    rk_trial_cfg *bt;
    *acc = NAN, *state = 0;
    /* its kind is the arm's (the arm table's): each kind is a stage of its own */
    const char *an = rk_config_get(c, "trial.arm");
    rk_arm arm = rk_arm_parse(an ? an : "scratch");
    rk_backbone kind = arm == RK_ARM_NONE ? RK_BACKBONE_NONE : rk_arms[arm].backbone;
    if (kind == RK_BACKBONE_NONE)
        return rk_errf(err, RK_EINVAL, "trial.arm = %s: the arm descends from no backbone",
                       an ? an : "scratch");
    int rc = stage_of(c, rk_backbone_stage(kind), &sc, key, &bt, err);
    if (rc) return rc;
    backbone_path(path, sizeof path, bt->artifacts, kind, key);
    rc = rk_artifact_find(path, RK_ARTIFACT_BACKBONE, key, a, state, NULL, err);
    if (!rc && *state != 1 && make) {
        /* workers needing the same backbone queue on its lock: the first makes it, the
         * others then find it */
        snprintf(lpath, sizeof lpath, "%s.lock", path);
        int fd = lock_take(lpath);
        rc = rk_artifact_find(path, RK_ARTIFACT_BACKBONE, key, a, state, NULL, err);
        if (!rc && *state != 1) {
            char sdir[1100], slab[1200];
            snprintf(sdir, sizeof sdir, "%s/source", bt->data_dir);
            snprintf(slab, sizeof slab, "%s/labels.csv", sdir);
            rk_source src = {0};
            size_t nho = 0;
            int K = 0, ssl = kind == RK_BACKBONE_SIMCLR;
            double cpu = NAN, loss = NAN, pair = NAN;
            snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
            /* SimCLR never reads the labels */
            rc = rk_source_load(&src, sdir, !ssl && access(slab, R_OK) == 0 ? slab : NULL,
                                bt->threads, err);
            if (!rc && ssl) rc = simclr_make(bt, &src, tmp, &loss, &pair, &cpu, h, err);
            else if (!rc)
                rc = backbone_train(bt, kind == RK_BACKBONE_STRONG, &src, tmp, acc, &nho, &K,
                                    &cpu, h, err);
            rk_source_free(&src);
            char meta[640], accs[32], ls[32], ps[32];
            jnum_text(accs, sizeof accs, *acc);
            jnum_text(ls, sizeof ls, loss);
            jnum_text(ps, sizeof ps, pair);
            if (ssl)
                snprintf(meta, sizeof meta, "{\"key\": \"%s\", \"backbone\": \"simclr\", "
                         "\"source_acc\": null, \"source_images\": %zu, \"ntxent\": %s, "
                         "\"pair_acc\": %s, \"temperature\": %.12g}", key, src.n, ls, ps,
                         bt->ssl_temperature);
            else
                snprintf(meta, sizeof meta, "{\"key\": \"%s\", \"backbone\": \"%s\", "
                         "\"source_acc\": %s, \"held_out\": %zu, \"classes\": %d}", key,
                         rk_backbone_name(kind), accs, nho, K);
            if (!rc) rc = rk_artifact_place(tmp, path, RK_ARTIFACT_BACKBONE, key, cpu, meta, NULL,
                                            a, err);
            if (!rc) *state = 1, a->made = 1;
            else remove(tmp);
            if (!rc) rk_trial_note(h, "backbone %s made (%.1f CPU s)", path, cpu);
        }
        lock_drop(fd);
    }
    if (!rc && *state == 1 && !a->made) *acc = meta_num(a->meta, "source_acc");
    if (!rc && *state) snprintf(a->role, sizeof a->role, "%s", RK_ROLE_BACKBONE);
    rk_config_free(&sc);
    free(bt);
    return rc;
}

/* ---- pseudo-labels ---- */

/* Makes the pseudo-labels of stage settings pt (key) at path: the teacher's checkpoint
 * (teacher hash), un-augmented source images, hard boxes at the threshold. */
static int pseudo_make(const rk_trial_cfg *pt, const char *key, const char *teacher,
                       const char *path, const rk_source *src, const rk_coco_cat *cats,
                       size_t ncats, const rk_trial_hooks *h, rk_pseudo_set *ps,
                       rk_seg_pseudo_set *sps, rk_artifact_use *a, rk_err *err)
{
    char tpath[1200], tmp[1300];
    snprintf(tpath, sizeof tpath, "%s/trial-%.16s.ckpt", pt->artifacts, teacher);
    rk_artifact_use ta;
    int tstate = 0;
    int rc = rk_artifact_find(tpath, RK_ARTIFACT_CHECKPOINT, teacher, &ta, &tstate, NULL, err);
    if (!rc && !tstate)
        rc = rk_errf(err, RK_EINVAL, "the teacher's checkpoint %s is missing: its trial (%.16s) "
                     "must finish first", tpath, teacher);
    rk_detector_cfg det = pt->det;
    det.model.num_classes = (int)ncats;
    rk_net *net = NULL;
    if (!rc) rc = pt->segment ? rk_segnet(&net, &det.model, (int)ncats + 1, err)
                              : rk_refnet_detector(&net, &det.model, err);
    if (!rc) rc = rk_checkpoint_load(net, tpath, 1, NULL, err);
    rk_trial_note(h, "pseudo-labelling %zu source images with teacher %.16s", src->n, teacher);
    double p0 = rk_cpu_now();
    if (!rc && pt->segment)
        rc = rk_seg_pseudo_label(net, &det.model, src, pt->st_threshold, pt->policy.pad,
                                 pt->threads, sps, err);
    else if (!rc)
        rc = rk_pseudo_label(net, &det, src, pt->st_threshold, pt->policy.pad, pt->threads, ps,
                             err);
    double cpu = rk_cpu_now() - p0;
    rk_net_free(net);
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
    if (!rc) rc = pt->segment ? rk_seg_pseudo_save(sps, tmp, err) : rk_pseudo_save(ps, src, cats, tmp, err);
    char meta[1024];
    size_t n = 0;
    /* segmentation: "kept" images with a confident pixel, "pixels" for boxes, per class the
     * confident pixels (background under "0") */
    size_t kept = pt->segment ? sps->nlabelled : ps->nlabelled;
    if (!rc) {
        n += (size_t)snprintf(meta, sizeof meta,
                              "{\"key\": \"%s\", \"teacher\": \"%s\", \"teacher_sha256\": \"%s\", "
                              "\"threshold\": %.12g, \"source_images\": %zu, \"kept\": %zu, "
                              "\"%s\": %zu, \"per_class\": {", key, teacher, ta.hash,
                              pt->st_threshold, src->n, kept, pt->segment ? "pixels" : "boxes",
                              pt->segment ? sps->npixels : ps->nboxes);
        if (pt->segment) n += (size_t)snprintf(meta + n, sizeof meta - n, "\"0\": %zu, ", sps->per_class[0]);
        for (size_t k = 0; k < ncats && n < sizeof meta; k++)
            n += (size_t)snprintf(meta + n, sizeof meta - n, "%s\"%d\": %zu", k ? ", " : "",
                                  cats[k].id, pt->segment ? sps->per_class[k + 1] : ps->per_class[k]);
        if (n < sizeof meta) n += (size_t)snprintf(meta + n, sizeof meta - n, "}}");
        if (n >= sizeof meta)
            rc = rk_errf(err, RK_EINVAL, "%s: too many categories for the record", path);
    }
    if (!rc) rc = rk_artifact_place(tmp, path, RK_ARTIFACT_PSEUDO, key, cpu, meta, NULL, a, err);
    if (rc) {
        remove(tmp);
        if (pt->segment) rk_seg_pseudo_set_free(sps);
        else rk_pseudo_set_free(ps);
    }
    return rc;
}

int rk_stage_pseudo(const rk_config *c, const rk_source *src, const rk_coco_cat *cats,
                    size_t ncats, const rk_trial_hooks *h, rk_pseudo_set *ps,
                    rk_seg_pseudo_set *sps, rk_artifact_use *a, int *state, rk_err *err)
{
    rk_config sc;
    char key[65], teacher[65], path[1200], lpath[1300];
    rk_trial_cfg *pt;
    *state = 0;
    int rc = stage_of(c, RK_STAGE_PSEUDO, &sc, key, &pt, err);
    if (rc) return rc;
    char *json = NULL; /* the stage's config is the teacher's identity (config.h) */
    rc = rk_config_json(&sc, &json, teacher, err);
    free(json);
    /* segmentation's are label maps (rk_seg_pseudo_save), detection's COCO boxes */
    snprintf(path, sizeof path, "%s/pseudo-%.16s.%s", pt->artifacts, key,
             pt->segment ? "labels.gz" : "json");
    if (!rc) rc = rk_artifact_find(path, RK_ARTIFACT_PSEUDO, key, a, state, NULL, err);
    if (!rc && (pt->segment ? sps != NULL : ps != NULL)) {
        /* students needing the same pseudo-labels queue on their lock: the first makes them */
        snprintf(lpath, sizeof lpath, "%s.lock", path);
        int fd = *state == 1 ? -1 : lock_take(lpath);
        if (*state != 1) rc = rk_artifact_find(path, RK_ARTIFACT_PSEUDO, key, a, state, NULL, err);
        if (!rc && *state == 1) {
            rc = pt->segment ? rk_seg_pseudo_load(sps, path, src, (int)ncats + 1, pt->st_threshold, err)
                             : rk_pseudo_load(ps, path, src, cats, (int)ncats, pt->st_threshold, err);
        } else if (!rc) {
            rc = pseudo_make(pt, key, teacher, path, src, cats, ncats, h, ps, sps, a, err);
            if (!rc) *state = 1, a->made = 1;
        }
        lock_drop(fd);
        if (!rc && pt->segment)
            rk_trial_note(h, "pseudo-labels %s (%s): %zu confident pixels on %zu of %zu images "
                          "(probability >= %g)", path, a->made ? "made" : "read", sps->npixels,
                          sps->nlabelled, src->n, pt->st_threshold);
        else if (!rc)
            rk_trial_note(h, "pseudo-labels %s (%s): %zu boxes on %zu of %zu images (score >= %g)",
                          path, a->made ? "made" : "read", ps->nboxes, ps->nlabelled, src->n,
                          pt->st_threshold);
    }
    if (!rc && *state) snprintf(a->role, sizeof a->role, "%s", RK_ROLE_PSEUDO);
    rk_config_free(&sc);
    free(pt);
    return rc;
}

/* ---- precision ---- */

double rk_trial_step_rate(const rk_refnet_cfg *model, int step_images, rk_backend b,
                          int threads, double *own, rk_err *err)
{
    int steps = 256 / step_images > 4 ? 256 / step_images : 4;
    double best = NAN, best_own = NAN;
    if (own) *own = NAN;
    for (int k = 0; k < 3; k++) {
        rk_train_bench r;
        if (rk_refnet_bench(model, step_images, b, threads, 3, steps, &r, err)) return NAN;
        if (!(r.img_per_s <= best)) best = r.img_per_s;
        /* threads that wait spin or sleep: CPU time per thread is never below the wall's
         * share of it on an idle machine, so the better of the two is the idle reading */
        double cpu = r.cpu_seconds > 0 ? (double)steps * step_images * threads / r.cpu_seconds
                                        : 0;
        double o = cpu > r.img_per_s ? cpu : r.img_per_s;
        if (!(o <= best_own)) best_own = o;
    }
    if (own) *own = best_own;
    return best;
}

int rk_trial_precision_auto(const rk_trial_work *w, int threads, const char *dir, int *bf16,
                            char *why, rk_err *err)
{
    *bf16 = 0;
    if (!rk_dnnl_has_bf16()) {
        if (why) snprintf(why, 256, "precision auto: f32 (no bf16 kernels on this CPU)");
        return RK_OK;
    }
    /* the decision's key: this CPU model and the step's shape */
    const rk_refnet_cfg *m = &w->model;
    char text[512], key[65], path[1300], lpath[1400];
    int n = snprintf(text, sizeof text, "cpu=%s;width=%d;depth=%d;in=%d;channels=%d;stride=%d;"
                     "classes=%d;images=%d;threads=%d", rk_cpu_model(), m->width, m->depth,
                     m->in_size, m->in_channels, m->head_stride, m->num_classes, w->step_images,
                     threads);
    /* another family or neck another shape (the defaults' keys stay what they were) */
    if (m->family != RK_FAMILY_PLAIN && n > 0 && (size_t)n < sizeof text)
        n += snprintf(text + n, sizeof text - (size_t)n, ";family=%s", rk_family_name(m->family));
    if (m->neck != RK_NECK_TOPDOWN && n > 0 && (size_t)n < sizeof text)
        n += snprintf(text + n, sizeof text - (size_t)n, ";neck=%s", rk_neck_name(m->neck));
    rk_sha256_hex(text, (size_t)n, key);
    snprintf(path, sizeof path, "%s/precision-%.16s.json", dir, key);
    snprintf(lpath, sizeof lpath, "%s.lock", path);
    int fd = access(path, R_OK) == 0 ? -1 : lock_take(lpath);
    int rc = RK_OK;
    double r32 = NAN, r16 = NAN;
    if (access(path, R_OK) != 0) {
        /* the first process to need it times both under the lock; the others wait, then read */
        rk_err why16 = {0};
        r32 = rk_trial_step_rate(m, w->step_images, RK_BACKEND_DNNL, threads, NULL, err);
        r16 = isfinite(r32) ? rk_trial_step_rate(m, w->step_images, RK_BACKEND_DNNL_BF16,
                                                 threads, NULL, &why16)
                            : NAN;
        if (!isfinite(r32)) rc = err && err->rc ? err->rc : RK_EDNNL;
        char rec[1024], tmp[1400];
        snprintf(rec, sizeof rec, "{\"cpu\": \"%s\", \"shape\": \"%s\", \"f32_img_s\": %.1f, "
                 "\"bf16_img_s\": %.1f, \"precision\": \"%s\"}\n", rk_cpu_model(), text,
                 isfinite(r32) ? r32 : 0, isfinite(r16) ? r16 : 0,
                 isfinite(r16) && r16 > 1.05 * r32 ? "bf16" : "f32");
        snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
        FILE *f = rc ? NULL : fopen(tmp, "w");
        if (!rc && !f) rc = rk_errf(err, RK_EIO, "%s: cannot create", tmp);
        if (f) {
            int ok = fputs(rec, f) >= 0;
            ok = fclose(f) == 0 && ok;
            if (!ok || (link(tmp, path) != 0 && access(path, R_OK) != 0))
                rc = rk_errf(err, RK_EIO, "%s: cannot write", path);
            unlink(tmp);
        }
    }
    lock_drop(fd);
    char *t = NULL;
    size_t len = 0;
    if (!rc) rc = rk_read_file(path, &t, &len, err);
    cJSON *d = rc ? NULL : cJSON_Parse(t);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(d, "precision");
    if (!rc && !cJSON_IsString(p))
        rc = rk_errf(err, RK_EFORMAT, "%s: no \"precision\" (delete it to measure again)", path);
    if (!rc) {
        *bf16 = !strcmp(p->valuestring, "bf16");
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(d, "f32_img_s");
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(d, "bf16_img_s");
        if (why)
            snprintf(why, 256, "precision auto: %s (%s %.0f img/s in f32, %.0f in bf16: %.40s)",
                     p->valuestring, isfinite(r32) ? "timed" : "as timed before,",
                     cJSON_IsNumber(a) ? a->valuedouble : NAN,
                     cJSON_IsNumber(b) ? b->valuedouble : NAN, strrchr(path, '/') + 1);
    }
    cJSON_Delete(d);
    free(t);
    return rc;
}
