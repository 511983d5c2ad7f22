/* Running one trial from its resolved config: the arms composed from the training steps of
 * src/arms, with content-addressed artifacts. See include/rethink/trial.h. */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "trial_internal.h"

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

void rk_trial_note(const rk_trial_hooks *h, const char *fmt, ...)
{
    if (!h || !h->note) return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    h->note(h->ctx, buf);
}

const char *rk_stop_name(rk_stop_reason r) { return r == RK_STOP_PLATEAU ? "plateau" : "budget"; }

void rk_trial_result_free(rk_trial_result *r)
{
    if (!r) return;
    free(r->config_json);
    for (size_t i = 0; r->cats && i < r->stats.ncats; i++) free(r->cats[i].name);
    free(r->cats);
    rk_coco_stats_free(&r->stats);
    memset(r, 0, sizeof *r);
}

int rk_trial_teacher_config(const rk_config *c, rk_config *teacher, rk_err *err)
{
    const char *arm = rk_config_get(c, "trial.arm");
    rk_arm a = rk_arm_parse(arm);
    if (a == RK_ARM_NONE || rk_arms[a].teacher == RK_ARM_NONE)
        return rk_errf(err, RK_EINVAL, "trial.arm = %s: the arm has no teacher", arm ? arm : "");
    int rc = rk_config_copy(teacher, c, err);
    if (rc) return rc;
    return rk_config_put(teacher, "trial.arm", rk_arm_name(rk_arms[a].teacher),
                         "teacher of the cell", 0, err);
}

/* Builds the dataset folder if it has no val annotations yet (and building is allowed). */

int rk_trial_prepare_data(const rk_config *c, void (*say)(void *ctx, const char *msg),
                          void *ctx, rk_err *err)
{
    rk_trial_cfg *t = malloc(sizeof *t);
    if (!t) return rk_errf(err, RK_ENOMEM, "trial: out of memory");
    int rc = rk_trial_cfg_from(t, c, err);
    rk_trial_hooks h = {.note = say, .ctx = ctx};
    long cores = sysconf(_SC_NPROCESSORS_ONLN); /* nothing else runs yet: use every core */
    if (!rc && cores > t->threads) t->threads = (int)cores;
    if (!rc) rc = rk_trial_ensure_data(t, &h, err);
    free(t);
    return rc;
}

/* The files a card lists with their SHA-256 are the files of the folder: a labels.csv cut
 * short, an annotation file edited or replaced, is an error naming it. */
static int card_files_match(const rk_trial_cfg *t, const cJSON *root, const char *card,
                            rk_err *err)
{
    static const char *const FILES[] = {"annotations/instances_train.json",
                                        "annotations/instances_val.json", "source/labels.csv"};
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(root, "sha256");
    int rc = RK_OK;
    for (size_t i = 0; !rc && i < sizeof FILES / sizeof *FILES; i++) {
        const cJSON *want = cJSON_GetObjectItemCaseSensitive(sha, FILES[i]);
        if (!cJSON_IsString(want)) {
            rc = rk_errf(err, RK_EFORMAT, "%s: no sha256 of %s (a card of another tool?)", card,
                         FILES[i]);
            break;
        }
        char p[1300], have[65];
        snprintf(p, sizeof p, "%s/%s", t->data_dir, FILES[i]);
        if ((rc = rk_sha256_file(p, have, err))) break;
        if (strcmp(have, want->valuestring))
            rc = rk_errf(err, RK_EFORMAT, "%s: its SHA-256 is not the one its dataset card %s "
                         "records (cut short by an interrupted build, or edited): delete %s to "
                         "build it again", p, card, t->data_dir);
    }
    return rc;
}

/* A dataset folder built by the generator carries card.json with its recipe and the
 * checksums of its annotation and label files: a folder built from another recipe than the
 * experiment's, or whose files are not the ones built, is an error, never silently other
 * data. A folder the sweep may build (study.build_data = 1) must have its card; a dataset of
 * the user's own (study.build_data = 0) needs none. */
static int card_matches(const rk_trial_cfg *t, rk_err *err)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/card.json", t->data_dir);
    if (!exists(p)) {
        if (!t->build_data) return RK_OK; /* the user's own dataset: nothing to compare */
        return rk_errf(err, RK_EFORMAT, "%s: no dataset card (card.json): a build that was "
                       "interrupted, or a dataset not built by rethink. Delete the folder to "
                       "build it again, or for a dataset of your own set study.build_data = 0",
                       t->data_dir);
    }
    char *text = NULL;
    size_t n = 0;
    int rc = rk_read_file(p, &text, &n, err);
    if (rc) return rc;
    cJSON *root = cJSON_Parse(text);
    free(text);
    const cJSON *par = cJSON_GetObjectItemCaseSensitive(root, "params");
    const rk_scene_params *d = &t->data;
    const struct { const char *card, *key; double want; } k[] = {
        {"size", "data.size", d->size},          {"train", "data.train", d->ntrain},
        {"val", "data.val", d->nval},            {"source", "data.source", d->nsource},
        {"clutter", "data.clutter", d->clutter}, {"occlusion", "data.occlusion", d->occlusion},
        {"tint", "data.tint", d->tint},          {"noise", "data.noise", d->noise},
        {"classes", "data.classes", d->classes},
    };
    if (!root || !cJSON_IsObject(par)) {
        rc = rk_errf(err, RK_EINVAL, "%s: not a dataset card (no params object)", p);
    } else {
        const cJSON *seed = cJSON_GetObjectItemCaseSensitive(root, "seed");
        if (cJSON_IsNumber(seed) && seed->valuedouble != (double)d->seed)
            rc = rk_errf(err, RK_EINVAL, "%s: built with seed %.0f, the experiment has data.seed = %llu; "
                         "point study.data at another folder or delete this one", t->data_dir,
                         seed->valuedouble, (unsigned long long)d->seed);
        for (size_t i = 0; !rc && i < sizeof k / sizeof *k; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(par, k[i].card);
            /* a card without "classes" was built before the key: all 10 */
            double have = cJSON_IsNumber(v) ? v->valuedouble : !strcmp(k[i].card, "classes") ? 10 : NAN;
            if (!isnan(have) && fabs(have - k[i].want) > 1e-9 * (1 + fabs(k[i].want)))
                rc = rk_errf(err, RK_EINVAL, "%s: built with %s = %g, the experiment has %s = %g; "
                             "point study.data at another folder or delete this one", t->data_dir,
                             k[i].card, have, k[i].key, k[i].want);
        }
        const cJSON *sl = cJSON_GetObjectItemCaseSensitive(par, "source_labels");
        const char *have_sl = cJSON_IsString(sl) ? sl->valuestring : "all";
        const char *want_sl = d->source_labels == RK_SOURCE_LABELS_OTHER ? "other" : "all";
        if (!rc && strcmp(have_sl, want_sl))
            rc = rk_errf(err, RK_EINVAL, "%s: built with source_labels = %s, the experiment has "
                         "data.source_labels = %s; point study.data at another folder or delete "
                         "this one", t->data_dir, have_sl, want_sl);
        const char *pairs[2][2] = {{"objects", "data.objects"}, {"scale", "data.scale"}};
        double want[2][2] = {{d->min_objects, d->max_objects}, {d->min_scale, d->max_scale}};
        for (int i = 0; !rc && i < 2; i++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(par, pairs[i][0]);
            if (cJSON_GetArraySize(v) != 2) continue;
            double a = cJSON_GetArrayItem(v, 0)->valuedouble, b = cJSON_GetArrayItem(v, 1)->valuedouble;
            if (a != want[i][0] || b != want[i][1])
                rc = rk_errf(err, RK_EINVAL, "%s: built with %s = %g, %g, the experiment has %s = %g, %g; "
                             "point study.data at another folder or delete this one", t->data_dir,
                             pairs[i][0], a, b, pairs[i][1], want[i][0], want[i][1]);
        }
        if (!rc) rc = card_files_match(t, root, p, err);
    }
    cJSON_Delete(root);
    return rc;
}

int rk_trial_ensure_data(const rk_trial_cfg *t, const rk_trial_hooks *h, rk_err *err)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/annotations/instances_val.json", t->data_dir);
    if (exists(p)) {
        int rc = card_matches(t, err);
        char seg[1300];
        snprintf(seg, sizeof seg, "%s/" RK_SEG_DIR, t->data_dir);
        /* a segmentation trial on a dataset rethink built before label maps existed: they
         * are added (the rest of the folder proven unchanged), not a rebuild asked for */
        if (!rc && t->segment && t->build_data && !exists(seg)) {
            rk_trial_note(h, "adding segmentation label maps to %s (built before they existed)",
                          t->data_dir);
            rc = rk_fashion_scenes_add_labels(&t->data, RK_FASHION_DIR, t->data_dir, t->threads,
                                              err);
            if (!rc) rc = card_matches(t, err);
        }
        return rc;
    }
    if (!t->build_data)
        return rk_errf(err, RK_EIO, "%s: dataset missing (and study.build_data = 0)", t->data_dir);
    rk_trial_note(h, "building the default dataset in %s (first use)", t->data_dir);
    /* the build is renamed into place whole (concurrent workers never see half a dataset);
     * when another builder won the race, its dataset is used */
    int rc = rk_fashion_scenes_build(&t->data, RK_FASHION_DIR, t->data_dir, t->threads, NULL,
                                     NULL, err);
    if (rc && exists(p)) rc = RK_OK;
    return rc ? rc : card_matches(t, err);
}

typedef struct {
    const rk_trial_hooks *h;
    const rk_trial_cfg *t;
    rk_net *net;
    const rk_dataset *val;
    const rk_image *val_labels, *dev_labels; /* model.task = segment: the label maps */
    int64_t *ids;
    int *cats;
    /* the dev split (t->dev > 0): evaluated every t->dev_every steps and at the end; the
     * best checkpoint so far is kept at best_path */
    const rk_dataset *dev;
    int64_t *dev_ids;
    long spe, next_dev, total, last_step;
    rk_plateau plateau; /* the plateau schedule's rule, fed every dev evaluation */
    double best_ap;
    int best_epoch, rc;
    char best_path[1300];
    rk_err err;
    cJSON *log; /* what the hooks heard, per epoch: the checkpoint's record keeps it */
} epoch_ctx;

/* An epoch as its record keeps it (and replays it to the hooks of a trial that reuses the
 * checkpoint). */
static cJSON *epoch_json(const rk_epoch_stats *s, double val_ap, double dev_ap)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "epoch", s->epoch);
    cJSON_AddNumberToObject(o, "epochs", s->epochs);
    cJSON_AddNumberToObject(o, "loss", s->loss);
    cJSON_AddNumberToObject(o, "focal", s->focal);
    cJSON_AddNumberToObject(o, "size", s->size);
    cJSON_AddNumberToObject(o, "offset", s->offset);
    cJSON_AddNumberToObject(o, "pseudo_loss", s->pseudo_loss);
    if (s->joint_loss != 0) cJSON_AddNumberToObject(o, "joint_loss", s->joint_loss);
    cJSON_AddNumberToObject(o, "lr", s->lr);
    cJSON_AddNumberToObject(o, "img_per_s", s->img_per_s);
    cJSON_AddNumberToObject(o, "seconds", s->seconds);
    cJSON_AddNumberToObject(o, "step", (double)s->step);
    cJSON_AddNumberToObject(o, "images", (double)s->images);
    cJSON_AddNumberToObject(o, "val_ap", val_ap);
    cJSON_AddNumberToObject(o, "dev_ap", dev_ap);
    return o;
}

static double jnum(const cJSON *o, const char *name, double otherwise)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : otherwise;
}

/* A segmenter's mIoU as the trial's stats: the primary stat (stats[RK_AP], the results
 * table's AP column and every view's) is the mIoU, the other eleven are undefined (-1,
 * NULL in views) and each val category's "AP" is its IoU (-1 when absent from both ground
 * truth and prediction, or not one of the model's classes); background's IoU counts in the
 * mean but has no category row. The model's classes are cats (the train categories' ids),
 * which val's labels were read as (load_labels). */
static int evaluate_segment(rk_net *net, const rk_trial_cfg *t, const rk_dataset *val,
                            const rk_image *labels, const int *cats, rk_coco_stats *st,
                            rk_err *err)
{
    size_t C = val->coco.ncats, K = (size_t)t->det.model.num_classes;
    memset(st, 0, sizeof *st);
    double *iou = malloc((K + 1) * sizeof *iou), miou = NAN;
    st->cat_ap = malloc((C + 1) * sizeof *st->cat_ap);
    if (!iou || !st->cat_ap) {
        free(iou), rk_coco_stats_free(st);
        return rk_errf(err, RK_ENOMEM, "trial: out of memory");
    }
    int rc = rk_segmenter_eval(net, &t->det.model, val->images, labels, val->coco.nimages,
                               t->policy.pad, t->threads, &miou, iou, err);
    for (int s = 0; s < RK_COCO_NSTATS; s++) st->stats[s] = -1;
    st->stats[RK_AP] = isnan(miou) ? -1 : miou;
    st->ncats = C;
    for (size_t k = 0; k < C && !rc; k++) {
        double v = NAN;
        for (size_t j = 0; j < K; j++)
            if (cats[j] == val->coco.cats[k].id) v = iou[j + 1];
        st->cat_ap[k] = isnan(v) ? -1 : v;
    }
    free(iou);
    if (rc) rk_coco_stats_free(st);
    return rc;
}

static double evaluate(rk_net *net, const rk_trial_cfg *t, const rk_dataset *val,
                       const rk_image *labels, const int64_t *ids, const int *cats,
                       rk_coco_stats *st, rk_err *err)
{
    if (t->segment) return evaluate_segment(net, t, val, labels, cats, st, err);
    rk_det *d = NULL;
    size_t nd = 0;
    int rc = rk_detector_predict(net, &t->det, val->images, ids, val->coco.nimages, cats,
                                 t->policy.pad, t->threads, &d, &nd, err);
    if (!rc) rc = rk_coco_eval(st, &val->coco, d, nd, err);
    free(d);
    return rc;
}

static int on_epoch(void *ctx, const rk_epoch_stats *s)
{
    epoch_ctx *e = ctx;
    double ap = -1, dev_ap = -1;
    int last = s->epoch == s->epochs, evaluated = 0;
    int shape[4]; /* training's batch (labelled + pseudo, as rk_detector_train planned it) */
    rk_net_output_shape(e->net, shape);
    if (e->t->eval_every > 0 && (s->epoch % e->t->eval_every == 0) && !last) {
        rk_coco_stats st;
        rk_err err = {0};
        if (!evaluate(e->net, e->t, e->val, e->val_labels, e->ids, e->cats, &st, &err)) {
            ap = st.stats[RK_AP];
            rk_coco_stats_free(&st);
        }
        evaluated = 1;
    }
    long step = s->step;
    e->last_step = step;
    if (e->dev && (step >= e->next_dev || last)) {
        rk_coco_stats st;
        if ((e->rc = evaluate(e->net, e->t, e->dev, e->dev_labels, e->dev_ids, e->cats, &st,
                              &e->err)))
            return 1;
        dev_ap = st.stats[RK_AP];
        rk_coco_stats_free(&st);
        while (e->next_dev <= step) e->next_dev += e->t->dev_every;
        evaluated = 1;
        /* strictly better: on ties the earlier (cheaper) checkpoint stays */
        if (dev_ap > e->best_ap) {
            e->best_ap = dev_ap, e->best_epoch = s->epoch;
            if ((e->rc = rk_checkpoint_save(e->net, e->best_path, &e->err))) return 1;
        }
        if (e->t->train.plateau) rk_plateau_observe(&e->plateau, &e->t->train, dev_ap, step);
    }
    /* evaluation re-planned the net for inference: back to training's batch and backend */
    if (evaluated && !last &&
        (e->rc = rk_net_plan(e->net, shape[0], rk_schedule_backend(&e->t->train), e->t->threads,
                             &e->err)))
        return 1;
    if (e->log) cJSON_AddItemToArray(e->log, epoch_json(s, ap, dev_ap));
    if (e->h && e->h->epoch) e->h->epoch(e->h->ctx, s, ap, dev_ap);
    return 0;
}

static void on_step(void *ctx, long step, long steps, double loss)
{
    epoch_ctx *e = ctx;
    if (e->h && e->h->step) e->h->step(e->h->ctx, step, steps, loss);
}

static void dataset_paths(const rk_trial_cfg *t, const char *split, char *img, char *ann)
{
    snprintf(img, 1200, "%s/%s", t->data_dir, split);
    snprintf(ann, 1200, "%s/annotations/instances_%s.json", t->data_dir, split);
}

/* The source images (source/ of the data folder), with their labels.csv when labels. */
static int load_source(const rk_trial_cfg *t, int labels, rk_source *src, rk_err *err)
{
    char sdir[1100], slab[1200];
    snprintf(sdir, sizeof sdir, "%s/source", t->data_dir);
    snprintf(slab, sizeof slab, "%s/labels.csv", sdir);
    return rk_source_load(src, sdir, labels ? slab : NULL, t->threads, err);
}

/* selftrain.source = target: the train images of the pool (the train split less the dev
 * split) outside the labelled subset idx[0..n) (both ascending), copied into *out with their
 * file names: the teacher pseudo-labels no labelled and no dev image. */
static int target_unlabelled(const rk_dataset *tr, const size_t *pool, size_t npool,
                             const size_t *idx, size_t n, rk_source *out, rk_err *err)
{
    memset(out, 0, sizeof *out);
    size_t m = npool - n;
    if (m == 0)
        return rk_errf(err, RK_EINVAL, "selftrain.source = target: every train image outside "
                       "the dev split is labelled at this fraction, so none is left to "
                       "pseudo-label (use a fraction below 1)");
    out->files = calloc(m, sizeof *out->files);
    out->images = calloc(m, sizeof *out->images);
    out->labels = malloc(m * sizeof *out->labels);
    if (!out->files || !out->images || !out->labels) {
        rk_source_free(out);
        return rk_errf(err, RK_ENOMEM, "trial: out of memory");
    }
    int rc = RK_OK;
    for (size_t i = 0, k = 0; i < npool && !rc; i++) {
        while (k < n && idx[k] < pool[i]) k++;
        if (k < n && idx[k] == pool[i]) continue; /* labelled */
        const rk_image *im = &tr->images[pool[i]];
        size_t j = out->n;
        out->labels[j] = -1;
        out->files[j] = strdup(tr->coco.images[pool[i]].file_name);
        rc = out->files[j] ? rk_image_alloc(&out->images[j], im->w, im->h, im->c, err)
                           : rk_errf(err, RK_ENOMEM, "trial: out of memory");
        out->n++;
        if (!rc) memcpy(out->images[j].px, im->px, (size_t)im->w * im->h * im->c);
    }
    if (rc) rk_source_free(out);
    return rc;
}

/* selftrain.source = shifted: the data folder's shifted/ set, built on first use from the
 * dataset's recipe (only for a dataset the generator builds). */
static int shifted_unlabelled(const rk_trial_cfg *t, const rk_trial_hooks *h, rk_source *out,
                              rk_err *err)
{
    char dir[1100], card[1200];
    snprintf(dir, sizeof dir, "%s/shifted", t->data_dir);
    snprintf(card, sizeof card, "%s/card.json", dir);
    if (!exists(card)) {
        if (!t->build_data)
            return rk_errf(err, RK_EINVAL, "selftrain.source = shifted: %s is missing, and "
                           "the scenes generator builds it only for its own datasets "
                           "(study.build_data = 1)", dir);
        rk_trial_note(h, "building the shifted unlabelled set in %s (first use)", dir);
        int rc = rk_fashion_shifted_build(&t->data, RK_FASHION_DIR, dir, t->threads, err);
        if (rc) return rc;
    }
    return rk_source_load(out, dir, NULL, t->threads, err);
}

/* model.task = segment: the split's label maps (DATA/segmentation/SPLIT/NNNNNN.png). A dataset
 * built before they were is told to be built again. */
static int load_labels(const rk_trial_cfg *t, const rk_dataset *d, const rk_coco *classes,
                       const char *split, rk_image **labels, rk_err *err)
{
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/" RK_SEG_DIR "/%s", t->data_dir, split);
    if (!exists(dir))
        return rk_errf(err, RK_EIO, "%s: no segmentation labels (model.task = segment needs a "
                       "label map per image, datasets/README.md §Segmentation labels)", dir);
    return rk_seg_labels_load(labels, d, classes, dir, t->threads, err);
}

/* The student's budget: its teacher's scaled by selftrain.steps_scale (at least one step). */
static void student_budget(rk_trial_cfg *t) { rk_schedule_scale(&t->train, t->st_steps_scale); }

/* Source images per step of the joint task (0: the arm has none). */
static int joint_images(const rk_trial_cfg *t)
{
    return rk_arms[t->arm].joint ? t->joint_batch : 0;
}

/* Images (labelled + pseudo + joint source, over all steps) of training n labelled images. */
static double train_images(const rk_trial_cfg *t, size_t n)
{
    long spe = (long)((n + (size_t)t->train.batch - 1) / (size_t)t->train.batch);
    long steps = t->train.steps > 0 ? t->train.steps : spe * t->train.epochs;
    int student = rk_arms[t->arm].teacher != RK_ARM_NONE; /* students and their controls */
    return (double)steps * (t->train.batch + (student ? t->st.pseudo_batch : 0) + joint_images(t));
}

/* A source image of the joint task relative to a detector image: the classifier's forward
 * MACs over the detector's (model: the detector's; classes: the source's). */
static double joint_cost(const rk_refnet_cfg *model, int classes)
{
    rk_refnet_cfg c = *model;
    c.num_classes = classes > 0 ? classes : model->num_classes;
    return rk_refnet_macs(&c, 0) / rk_refnet_macs(model, 1);
}

int rk_trial_cost(const rk_config *c, rk_trial_work *w, rk_err *err)
{
    if (rk_trainer_set(c)) /* its steps are the program's own */
        return rk_errf(err, RK_EINVAL, "trainer.command: an external trainer's cost is unknown");
    rk_trial_cfg *t = malloc(sizeof *t);
    if (!t) return rk_errf(err, RK_ENOMEM, "trial: out of memory");
    int rc = rk_trial_cfg_from(t, c, err);
    if (!rc) {
        int student = rk_arms[t->arm].teacher != RK_ARM_NONE;
        if (student) student_budget(t);
        double pool = (double)t->data.ntrain - (double)t->dev;
        size_t n = (size_t)ceil(t->fraction * (pool > 1 ? pool : 1) - 1e-9);
        *w = (rk_trial_work){.images = train_images(t, n ? n : 1),
                             .step_images = t->train.batch + (student ? t->st.pseudo_batch : 0),
                             .joint_images = joint_images(t),
                             .joint_cost = joint_cost(&t->det.model, 0),
                             .bf16 = t->train.bf16, .bf16_auto = t->bf16_auto,
                             .model = t->det.model};
    }
    free(t);
    return rc;
}

/* Appends an artifact the trial made or used to its result. */
static void art_add(rk_trial_result *res, const rk_artifact_use *a)
{
    if (res->nart < RK_TRIAL_ARTIFACTS) res->art[res->nart++] = *a;
}

/* The facts of a trained detector that its checkpoint's record keeps (meta: compact, for the
 * store; the record adds the epochs). malloc'd. */
static char *ckpt_meta(const rk_trial_result *res)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "key", res->hash);
    cJSON_AddNumberToObject(o, "steps", (double)res->steps);
    cJSON_AddNumberToObject(o, "max_steps", (double)res->max_steps);
    cJSON_AddStringToObject(o, "stop", rk_stop_name(res->stop));
    cJSON_AddStringToObject(o, "precision", res->precision);
    cJSON_AddStringToObject(o, "cpu", res->cpu);
    cJSON_AddNumberToObject(o, "images", (double)res->images);
    cJSON_AddNumberToObject(o, "flops", res->flops);
    cJSON_AddNumberToObject(o, "wall_s", res->wall_s);
    cJSON_AddNumberToObject(o, "best_epoch", res->best_epoch);
    cJSON_AddNumberToObject(o, "dev_ap", res->dev_ap);
    char *m = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return m;
}

/* A trial whose checkpoint an earlier run made (record: its record's text): the training
 * facts are the record's, and the hooks hear its epochs as the training reported them. */
static int adopt(const char *record, const char *path, rk_trial_result *res,
                 const rk_trial_hooks *h, rk_err *err)
{
    cJSON *r = cJSON_Parse(record);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(r, "meta");
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(r, "epochs");
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(m, "stop");
    const cJSON *prec = cJSON_GetObjectItemCaseSensitive(m, "precision");
    const cJSON *cpu = cJSON_GetObjectItemCaseSensitive(m, "cpu");
    if (!cJSON_IsObject(m) || !cJSON_IsArray(ep) || !cJSON_IsString(stop) || !cJSON_IsString(prec)) {
        cJSON_Delete(r);
        return rk_errf(err, RK_EFORMAT, "%s.record.json: not a trial checkpoint's record (no "
                       "meta with stop and precision, or no epochs)", path);
    }
    res->reused = 1;
    res->cpu_s = jnum(r, "cpu_s", NAN);
    res->wall_s = jnum(m, "wall_s", NAN);
    res->steps = (long)jnum(m, "steps", 0), res->max_steps = (long)jnum(m, "max_steps", 0);
    res->stop = !strcmp(stop->valuestring, "plateau") ? RK_STOP_PLATEAU : RK_STOP_BUDGET;
    snprintf(res->precision, sizeof res->precision, "%s", prec->valuestring);
    snprintf(res->cpu, sizeof res->cpu, "%s", cJSON_IsString(cpu) ? cpu->valuestring : "");
    res->images = (long)jnum(m, "images", -1);
    res->flops = jnum(m, "flops", NAN);
    res->best_epoch = (int)jnum(m, "best_epoch", 0);
    res->dev_ap = jnum(m, "dev_ap", NAN);
    rk_trial_note(h, "reusing %s (trained before: its record's cost, %d epochs replayed)", path,
         cJSON_GetArraySize(ep));
    const cJSON *e;
    cJSON_ArrayForEach(e, ep)
    {
        rk_epoch_stats s = {.epoch = (int)jnum(e, "epoch", 0), .epochs = (int)jnum(e, "epochs", 0),
                            .loss = jnum(e, "loss", NAN), .focal = jnum(e, "focal", NAN),
                            .size = jnum(e, "size", NAN), .offset = jnum(e, "offset", NAN),
                            .pseudo_loss = jnum(e, "pseudo_loss", 0),
                            .joint_loss = jnum(e, "joint_loss", 0), .lr = jnum(e, "lr", NAN),
                            .img_per_s = jnum(e, "img_per_s", NAN),
                            .seconds = jnum(e, "seconds", NAN), .step = (long)jnum(e, "step", 0),
                            .images = (long)jnum(e, "images", 0)};
        if (h && h->epoch) h->epoch(h->ctx, &s, jnum(e, "val_ap", -1), jnum(e, "dev_ap", -1));
    }
    cJSON_Delete(r);
    return RK_OK;
}

int rk_trial_run(const rk_config *c, const rk_trial_hooks *h, rk_trial_result *res, rk_err *err)
{
    const char *task = rk_config_get(c, "model.task");
    if (rk_trainer_set(c) && task && !strcmp(task, "segment"))
        return rk_errf(err, RK_EINVAL, "trainer.command with model.task = segment: an external "
                       "trainer's results are COCO detections (docs/ARCHITECTURE.md, the "
                       "trainer boundary), so it trains the detection task only");
    if (rk_trainer_set(c)) return rk_trial_run_external(c, h, res, err); /* trainer.c */
    memset(res, 0, sizeof *res);
    res->pseudo_cpu_s = res->source_acc = res->dev_ap = NAN;
    rk_trial_cfg *t = malloc(sizeof *t);
    if (!t) return rk_errf(err, RK_ENOMEM, "trial: out of memory");
    int rc = rk_trial_cfg_from(t, c, err);
    rk_dataset tr = {0}, va = {0}, dv = {0};
    size_t *devi = NULL, *pool = NULL, npool = 0;
    int64_t *dev_ids = NULL;
    rk_source src = {0}, other = {0}; /* other: a pseudo-label pool not the source's */
    rk_net *net = NULL;
    rk_pseudo_set ps = {0};
    rk_net *cls = NULL; /* joint arms: the classifier of the detector's backbone */
    rk_joint jt = {0};
    int *scls = NULL, jk = 0;
    size_t *sidx = NULL;
    rk_seg_pseudo_set sps = {0};
    rk_image *tr_lab = NULL, *va_lab = NULL, *dv_lab = NULL; /* model.task = segment */
    size_t *idx = NULL, n = 0;
    int64_t *ids = NULL;
    int *cats = NULL;
    char *record = NULL, tmp[1300] = "";
    cJSON *log = NULL;
    if (rc) goto done;
    if ((rc = rk_config_json(c, &res->config_json, res->hash, err))) goto done;
    res->segment = t->segment;
    if (t->segment && rk_arms[t->arm].joint) {
        rc = rk_errf(err, RK_EINVAL, "trial.arm = %s with model.task = segment: joint training "
                     "trains the detector only (use a detection study, or another arm)",
                     rk_arms[t->arm].name);
        goto done;
    }
    if ((rc = rk_mkdirs(t->artifacts, err)) || (rc = rk_trial_ensure_data(t, h, err))) goto done;
    char img[1200], ann[1200];
    dataset_paths(t, "train", img, ann);
    if ((rc = rk_dataset_load(&tr, img, ann, t->threads, err))) goto done;
    dataset_paths(t, "val", img, ann);
    if ((rc = rk_dataset_load(&va, img, ann, t->threads, err))) goto done;
    /* both splits' labels as the train categories' class indices: the model's classes */
    if (t->segment && ((rc = load_labels(t, &tr, &tr.coco, "train", &tr_lab, err)) ||
                       (rc = load_labels(t, &va, &tr.coco, "val", &va_lab, err))))
        goto done;
    t->det.model.num_classes = (int)tr.coco.ncats;
    snprintf(res->cpu, sizeof res->cpu, "%s", rk_cpu_model());
    /* student: starts from its teacher (self-training, or its control); pseudo: trains on
     * the teacher's pseudo-labels; pre: loads the pre-trained backbone itself (its students
     * descend from it through their teacher) */
    const rk_arm_info *arm = &rk_arms[t->arm];
    int student = arm->teacher != RK_ARM_NONE, pseudo = arm->pseudo;
    int pre = arm->backbone != RK_BACKBONE_NONE && !student;
    /* its own checkpoint: one an earlier run made (with its record) is used, never retrained
     * nor overwritten */
    snprintf(res->ckpt, sizeof res->ckpt, "%s/trial-%.16s.ckpt", t->artifacts, res->hash);
    rk_artifact_use own = {0};
    int own_state = 0;
    if ((rc = rk_artifact_find(res->ckpt, RK_ARTIFACT_CHECKPOINT, res->hash, &own, &own_state,
                               &record, err)))
        goto done;
    int reuse = own_state == 1;
    /* the dev split comes out of train before any labelled fraction is taken */
    if ((rc = rk_holdout(&tr.coco, t->dev, &devi, &pool, &npool, err)) ||
        (rc = rk_subset_of(&tr.coco, pool, npool, t->fraction, t->seed, &idx, &n, res->data_hash,
                           err)))
        goto done;
    if (t->dev) {
        if ((rc = rk_dataset_select(&dv, &tr, devi, t->dev, err))) goto done;
        if (!(dev_ids = malloc(t->dev * sizeof *dev_ids))) {
            rc = rk_errf(err, RK_ENOMEM, "trial: out of memory");
            goto done;
        }
        for (size_t i = 0; i < t->dev; i++) dev_ids[i] = dv.coco.images[i].id;
        /* the dev images' label maps: views of train's (the pixels stay tr_lab's) */
        if (t->segment && !(dv_lab = malloc(t->dev * sizeof *dv_lab))) {
            rc = rk_errf(err, RK_ENOMEM, "trial: out of memory");
            goto done;
        }
        for (size_t i = 0; t->segment && i < t->dev; i++) dv_lab[i] = tr_lab[devi[i]];
    }
    ids = malloc((va.coco.nimages + 1) * sizeof *ids);
    cats = malloc((tr.coco.ncats + 1) * sizeof *cats);
    if (!ids || !cats) {
        rc = rk_errf(err, RK_ENOMEM, "trial: out of memory");
        goto done;
    }
    for (size_t i = 0; i < va.coco.nimages; i++) ids[i] = va.coco.images[i].id;
    for (size_t k = 0; k < tr.coco.ncats; k++) cats[k] = tr.coco.cats[k].id;

    if (t->segment) {
        if ((rc = rk_segnet(&net, &t->det.model, t->det.model.num_classes + 1, err))) goto done;
        rk_segnet_init(net, &t->det.model, t->seed);
    } else {
        if ((rc = rk_refnet_detector(&net, &t->det.model, err))) goto done;
        rk_refnet_init(net, &t->det.model, t->seed);
    }
    if (arm->backbone != RK_BACKBONE_NONE) {
        /* every arm descended from a backbone links it (and its source accuracy); the arm
         * without a teacher (pretrain, pretrain++, simclr) makes it when missing and loads
         * it: its kind (the arm table's) decides which stage makes it */
        rk_artifact_use b = {0};
        int bs = 0;
        if ((rc = rk_stage_backbone(c, pre && !reuse, h, &b, &res->source_acc, &bs, err)))
            goto done;
        if (bs) art_add(res, &b);
        if (b.made) res->backbone_cpu_s = b.cpu_s;
        if (pre && !reuse) {
            int loaded = 0;
            if ((rc = rk_checkpoint_load(net, b.path, 0, &loaded, err))) goto done;
            rk_trial_note(h, "fine-tuning from backbone %s (%d tensors)", b.path, loaded);
        }
    }
    if (student) {
        /* the teacher: the supervised trial of the same cell, a trial of its own that the
         * sweep's plan ran first (include/rethink/sweep.h) */
        rk_config tc;
        if ((rc = rk_trial_teacher_config(c, &tc, err))) goto done;
        char *tj = NULL;
        rc = rk_config_json(&tc, &tj, res->teacher_hash, err);
        free(tj);
        rk_config_free(&tc);
        if (rc) goto done;
        char tpath[1200];
        snprintf(tpath, sizeof tpath, "%s/trial-%.16s.ckpt", t->artifacts, res->teacher_hash);
        rk_artifact_use ta = {0};
        int ts = 0;
        if ((rc = rk_artifact_find(tpath, RK_ARTIFACT_CHECKPOINT, res->teacher_hash, &ta, &ts,
                                   NULL, err)))
            goto done;
        if (!ts && !reuse) {
            rc = rk_errf(err, RK_EINVAL, "the teacher's checkpoint %s is missing: its trial "
                         "(%.16s) must finish first, and if it did, study.artifacts is not the "
                         "folder it was saved in", tpath, res->teacher_hash);
            goto done;
        }
        snprintf(ta.role, sizeof ta.role, "%s", RK_ROLE_TEACHER);
        if (ts) art_add(res, &ta);
        if (pseudo) {
            /* what the teacher labels (selftrain.source); self-training ignores the source's
             * labels (a joint arm's task reads them) */
            rk_source *unl = t->st_source == RK_UNLABELLED_SOURCE ? &src : &other;
            if (!reuse && t->st_source == RK_UNLABELLED_SOURCE)
                rc = load_source(t, arm->joint, &src, err);
            else if (!reuse && t->st_source == RK_UNLABELLED_TARGET)
                rc = target_unlabelled(&tr, pool, npool, idx, n, &other, err);
            else if (!reuse)
                rc = shifted_unlabelled(t, h, &other, err);
            if (rc) goto done;
            rk_artifact_use pa = {0};
            int pst = 0;
            if ((rc = rk_stage_pseudo(c, unl, tr.coco.cats, tr.coco.ncats, h,
                                      reuse || t->segment ? NULL : &ps,
                                      reuse || !t->segment ? NULL : &sps, &pa, &pst, err)))
                goto done;
            if (pst) {
                art_add(res, &pa);
                res->pseudo_cpu_s = pa.cpu_s; /* what its pseudo-labels cost, made here or not */
                cJSON *m = cJSON_Parse(pa.meta);
                res->pseudo_images = (size_t)jnum(m, "kept", 0);
                res->pseudo_boxes = (size_t)jnum(m, t->segment ? "pixels" : "boxes", 0);
                cJSON_Delete(m);
            }
            if (!reuse && !t->st_keep_empty && t->segment) {
                sps.view.use = sps.labelled, sps.view.nuse = sps.nlabelled;
                if (!sps.nlabelled)
                    rk_trial_note(h, "the teacher was confident of no pixel: the student trains "
                                     "on the labelled images only");
            } else if (!reuse && !t->st_keep_empty) {
                ps.view.use = ps.labelled, ps.view.nuse = ps.nlabelled;
                if (!ps.nlabelled)
                    rk_trial_note(h, "the teacher kept no box: the student trains on the labelled images only");
            }
        }
        if (!reuse && !t->st_init_random &&
            (rc = rk_checkpoint_load(net, tpath, 1, NULL, err))) /* student from the teacher */
            goto done;
    }
    if (arm->joint && !reuse) {
        /* the source classification task: every labelled source image, the source's classes */
        if (!src.n && (rc = load_source(t, 1, &src, err))) goto done;
        scls = malloc((src.n + 1) * sizeof *scls);
        sidx = malloc((src.n + 1) * sizeof *sidx);
        if (!scls || !sidx) {
            rc = rk_errf(err, RK_ENOMEM, "trial: out of memory");
            goto done;
        }
        if (rk_source_classes(&src, scls, &jk, NULL) || jk == 0) {
            rc = rk_errf(err, RK_EINVAL, "trial.arm = %s trains the source classification task, "
                         "but %s/source has no labelled image (labels.csv)", arm->name,
                         t->data_dir);
            goto done;
        }
        size_t ns = 0;
        for (size_t i = 0; i < src.n; i++)
            if (scls[i] >= 0) sidx[ns++] = i;
        rk_refnet_cfg mc = t->det.model;
        mc.num_classes = jk;
        if ((rc = rk_refnet_classifier(&cls, &mc, err))) goto done;
        rk_refnet_init(cls, &mc, t->seed); /* its backbone is the detector's from step 0 */
        jt = (rk_joint){.cls = cls, .src = &src, .labels = scls, .idx = sidx, .n = ns,
                        .batch = t->joint_batch, .weight = t->joint_weight};
        rk_trial_note(h, "joint training: %d source images per step from %zu labelled (%d "
                      "classes), L = L_det + %g L_cls", jt.batch, ns, jk, jt.weight);
    }
    if (reuse) {
        own.made = 1; /* the trial whose identity made it */
        art_add(res, &own);
        if ((rc = rk_checkpoint_load(net, res->ckpt, 1, NULL, err)) ||
            (rc = adopt(record, res->ckpt, res, h, err)))
            goto done;
        rc = evaluate(net, t, &va, va_lab, ids, cats, &res->stats, err);
        goto evaluated;
    }
    if (student) student_budget(t); /* its teacher trained the full one */
    if (t->bf16_auto) {
        int student_images = student ? t->st.pseudo_batch : 0, bf16 = 0;
        rk_trial_work w = {.step_images = t->train.batch + student_images, .model = t->det.model};
        char why[256];
        if ((rc = rk_trial_precision_auto(&w, t->threads, t->artifacts, &bf16, why, err))) goto done;
        t->train.bf16 = bf16;
        rk_trial_note(h, "%s", why);
    }
    /* a control trains on as many images per step as its student, all of them labelled */
    rk_schedule sched = t->train;
    if (student && !pseudo) {
        /* the same steps too: an epoch budget counts its student's epochs of B images */
        if (sched.steps <= 0)
            sched.steps = (long)((n + (size_t)sched.batch - 1) / (size_t)sched.batch) * sched.epochs;
        sched.batch += t->st.pseudo_batch;
    }
    double c0 = rk_cpu_now(), w0 = rk_now(); /* the trial's own cost starts here */
    res->images = (long)train_images(t, n);
    log = cJSON_CreateArray();
    epoch_ctx ec = {.h = h, .t = t, .net = net, .val = &va, .ids = ids, .cats = cats,
                    .val_labels = va_lab, .dev_labels = dv_lab,
                    .dev = t->dev ? &dv : NULL, .dev_ids = dev_ids,
                    .next_dev = t->dev_every, .best_ap = -INFINITY, .log = log,
                    .spe = (long)((n + (size_t)sched.batch - 1) / (size_t)sched.batch)};
    snprintf(ec.best_path, sizeof ec.best_path, "%s/trial-%.16s.best.%d", t->artifacts, res->hash,
             (int)getpid());
    long spe = ec.spe;
    ec.total = sched.steps > 0 ? sched.steps : spe * sched.epochs;
    rk_plateau_init(&ec.plateau);
    rk_train_hooks th = {.epoch_end = on_epoch, .step = on_step, .ctx = &ec,
                         .plateau = &ec.plateau};
    if (t->segment)
        rc = rk_segmenter_train(net, &t->det.model, &tr, tr_lab, idx, n, &t->policy,
                                pseudo ? &sps.view : NULL, pseudo ? &t->st : NULL, &sched, t->seed,
                                t->threads, &th, err);
    else
        rc = rk_detector_train(net, &t->det, &tr, idx, n, &t->policy, pseudo ? &ps.view : NULL,
                               pseudo ? &t->st : NULL, arm->joint ? &jt : NULL, &sched, t->seed,
                               t->threads, &th, err);
    if (!rc && ec.rc) {
        rc = ec.rc;
        if (err) *err = ec.err;
    }
    /* the result is the checkpoint that did best on dev (the last one without a dev split) */
    if (!rc && t->dev) {
        rc = rk_checkpoint_load(net, ec.best_path, 1, NULL, err);
        res->best_epoch = ec.best_epoch, res->dev_ap = ec.best_ap;
    }
    if (t->dev) remove(ec.best_path);
    if (rc) goto done;
    res->steps = ec.last_step, res->max_steps = ec.total;
    /* plateau: the rule ended the stable phase (a fixed schedule, or a stable phase the
     * budget ended, is the budget's) */
    res->stop = t->train.plateau && ec.plateau.anneal_at >= 0 && !ec.plateau.capped
                    ? RK_STOP_PLATEAU
                    : RK_STOP_BUDGET;
    snprintf(res->precision, sizeof res->precision, "%s", t->train.bf16 ? "bf16" : "f32");
    /* the images actually trained (a plateau schedule may stop before its maximum) */
    res->images = (long)((double)res->images * (double)res->steps / (double)(ec.total ? ec.total : 1));
    /* the joint task's source images cost a classifier pass each, the rest a detector's */
    double per_step = (double)sched.batch + (pseudo ? t->st.pseudo_batch : 0) + jt.batch;
    double src_share = jt.batch / per_step;
    res->flops = 6.0 * (double)res->images *
                 ((1 - src_share) * rk_refnet_macs(&t->det.model, 1) +
                  src_share * (jt.batch ? joint_cost(&t->det.model, jk) : 0) *
                      rk_refnet_macs(&t->det.model, 1));
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", res->ckpt, (int)getpid());
    if ((rc = rk_checkpoint_save(net, tmp, err))) goto done;
    rc = evaluate(net, t, &va, va_lab, ids, cats, &res->stats, err);
    res->cpu_s = rk_cpu_now() - c0;
    res->wall_s = rk_now() - w0;
    if (!rc) {
        /* in place only now, evaluated: a student or a later run reusing it finds its record
         * complete */
        char *meta = ckpt_meta(res), *epochs = cJSON_PrintUnformatted(log);
        size_t xn = epochs ? strlen(epochs) + 16 : 0;
        char *extra = epochs ? malloc(xn) : NULL;
        if (extra) snprintf(extra, xn, "\"epochs\": %s", epochs);
        rc = meta && extra ? rk_artifact_place(tmp, res->ckpt, RK_ARTIFACT_CHECKPOINT, res->hash,
                                               res->cpu_s, meta, extra, &own, err)
                           : rk_errf(err, RK_ENOMEM, "trial: out of memory");
        free(meta), free(epochs), free(extra);
        own.made = 1;
        if (!rc) art_add(res, &own), tmp[0] = 0;
    }
evaluated:
    if (!rc) {
        res->cats = calloc(va.coco.ncats + 1, sizeof *res->cats);
        for (size_t k = 0; res->cats && k < va.coco.ncats; k++)
            res->cats[k] = (rk_coco_cat){va.coco.cats[k].id, strdup(va.coco.cats[k].name)};
    }
done:
    if (rc) rk_trial_result_free(res);
    if (tmp[0]) remove(tmp);
    cJSON_Delete(log);
    free(record);
    rk_pseudo_set_free(&ps);
    rk_net_free(cls);
    free(scls), free(sidx);
    rk_seg_pseudo_set_free(&sps);
    rk_seg_labels_free(tr_lab, tr.coco.nimages);
    rk_seg_labels_free(va_lab, va.coco.nimages);
    free(dv_lab);
    rk_net_free(net);
    rk_dataset_free(&tr), rk_dataset_free(&va), rk_dataset_free(&dv);
    free(devi), free(pool), free(dev_ids);
    rk_source_free(&src), rk_source_free(&other);
    free(idx), free(ids), free(cats), free(t);
    return rc;
}
