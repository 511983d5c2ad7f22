/* A study's results, read through the store on a read-only connection: its detector trials
 * (with their flattened config, compute, 12 COCO stats, why they stopped and, when they
 * trained with a dev split, how far they had converged), the extra grid axes and per-cell
 * settings found in their configs, and the cells the finished trials form.
 *
 * Read-only on purpose: a report or a claims check must never change what it reports on,
 * and may run while a sweep is still writing (WAL readers never block the writer). The
 * store checks the schema version first, so a database from a newer rethink is refused
 * rather than misread. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "rethink/config.h"
#include "rethink/report.h"

/* qsort for any n: an empty list may be a NULL pointer, which qsort must not be given
 * (undefined behaviour; the results-database fuzzer found one). */
static void sort_n(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1) qsort(v, n, size, cmp);
}

static int oom(rk_err *err) { return rk_errf(err, RK_ENOMEM, "out of memory"); }

/* ---- orderings ---- */

static int arm_rank(const char *a)
{
    rk_arm k = rk_arm_parse(a); /* the arm table's order, unknown arms after */
    return k == RK_ARM_NONE ? RK_NARMS : (int)k;
}

static int arm_cmp(const char *a, const char *b)
{
    int ra = arm_rank(a), rb = arm_rank(b);
    return ra != rb ? (ra < rb ? -1 : 1) : strcmp(a, b);
}

/* Natural order: runs of digits compare as numbers, so S2 < S10 (policies are named by
 * strength, and the x axis of the augmentation plots must follow it). */
static int natural_cmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            while (*a == '0') a++;
            while (*b == '0') b++;
            size_t la = 0, lb = 0;
            while (isdigit((unsigned char)a[la])) la++;
            while (isdigit((unsigned char)b[lb])) lb++;
            if (la != lb) return la < lb ? -1 : 1;
            int c = strncmp(a, b, la);
            if (c) return c;
            a += la, b += lb;
        } else {
            if (*a != *b) return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
            a++, b++;
        }
    }
    return *a ? 1 : *b ? -1 : 0;
}

/* Orders pointers to trials by cell (display order), then seed. */
static int trial_cmp(const void *pa, const void *pb)
{
    const rk_result_trial *a = *(const rk_result_trial *const *)pa;
    const rk_result_trial *b = *(const rk_result_trial *const *)pb;
    int c = arm_cmp(a->arm, b->arm);
    if (!c) c = strcmp(a->variant.text, b->variant.text);
    if (!c && !rk_feq(a->fraction, b->fraction)) c = a->fraction < b->fraction ? -1 : 1;
    if (!c) c = natural_cmp(a->aug, b->aug);
    if (!c && a->seed != b->seed) c = a->seed < b->seed ? -1 : 1;
    if (!c && a->id != b->id) c = a->id < b->id ? -1 : 1;
    return c;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}
static int arm_pcmp(const void *a, const void *b)
{
    return arm_cmp(*(char *const *)a, *(char *const *)b);
}
static int natural_pcmp(const void *a, const void *b)
{
    return natural_cmp(*(char *const *)a, *(char *const *)b);
}
static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Appends s to a set of strings (no copy: the set points into the trials). */
static int set_add(char ***v, size_t *n, char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*v)[i], s)) return 0;
    char **q = realloc(*v, (*n + 1) * sizeof *q);
    if (!q) return -1;
    *v = q;
    q[(*n)++] = s;
    return 0;
}

/* ---- variants ---- */

size_t rk_variant_format(const rk_variant *v, const char *skip, char *out, size_t cap)
{
    size_t used = 0;
    if (cap) out[0] = 0;
    for (size_t i = 0; i < v->n; i++) {
        if (skip && !strcmp(v->kv[i].key, skip)) continue;
        int k = snprintf(used < cap ? out + used : NULL, used < cap ? cap - used : 0, "%s%s=%s",
                         used ? ";" : "", v->kv[i].key, v->kv[i].value);
        used += k > 0 ? (size_t)k : 0;
    }
    return used;
}

const char *rk_variant_value(const rk_variant *v, const char *key)
{
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->kv[i].key, key)) return v->kv[i].value;
    return NULL;
}

/* Number of keys both variants name, or -1 if they disagree on one. */
static int variant_overlap(const rk_variant *a, const rk_variant *b)
{
    int shared = 0;
    for (size_t i = 0; i < a->n; i++) {
        const char *w = rk_variant_value(b, a->kv[i].key);
        if (w && strcmp(a->kv[i].value, w)) return -1;
        shared += w != NULL;
    }
    return shared;
}

int rk_variants_compatible(const rk_variant *a, const rk_variant *b)
{
    return variant_overlap(a, b) >= 0;
}

static const rk_param *find_param(const rk_result_trial *t, const char *key)
{
    size_t lo = 0, hi = t->nparams;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(t->params[mid].key, key);
        if (!c) return &t->params[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const char *rk_result_param(const rk_result_trial *t, const char *key)
{
    const rk_param *p = find_param(t, key);
    return p ? p->value : NULL;
}

/* ---- loading ---- */

/* The study's name: the one asked for (which must exist) or the only one with results. */
static int pick_study(rk_results *r, const char *study, rk_err *err)
{
    char **names = NULL, list[400] = "";
    size_t n = 0, used = 0;
    int found = 0, rc = rk_store_studies_with_results(r->db, &names, &n, err);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++) {
        if (study && !strcmp(names[i], study)) found = 1;
        if (used < sizeof list - 64)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                     names[i]);
    }
    if (study && !found)
        rc = rk_errf(err, RK_EINVAL, "%s: study '%s' has no finished trials (studies with "
                     "results: %s)", r->db_path, study, n ? list : "none");
    else if (!study && n != 1)
        rc = n ? rk_errf(err, RK_EINVAL, "%s: %zu studies have results (%s): choose one with "
                         "--study", r->db_path, n, list)
               : rk_errf(err, RK_EINVAL, "%s: no finished trials yet", r->db_path);
    else if (!(r->study = strdup(study ? study : names[0])))
        rc = oom(err);
    rk_store_strings_free(names, n);
    return rc;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(((const rk_param *)a)->key, ((const rk_param *)b)->key);
}

/* A stored config omits a later-added key at its default (rk_config_omitted_key): put the
 * default back, so an f32 trial recorded before train.precision existed and a bf16 one are
 * different cells rather than one. Keeps params sorted by key. */
static int fill_omitted(rk_results *r, rk_err *err)
{
    const char *key, *def;
    for (size_t i = 0; (key = rk_config_omitted_key(i, &def)); i++)
        for (size_t k = 0; k < r->n; k++) {
            rk_result_trial *t = &r->t[k];
            if (rk_result_param(t, key)) continue;
            rk_param *v = realloc(t->params, (t->nparams + 1) * sizeof *v);
            if (!v) return oom(err);
            t->params = v;
            rk_param *p = &t->params[t->nparams];
            if (!(p->key = strdup(key))) return oom(err);
            if (!(p->value = strdup(def))) return free(p->key), oom(err);
            t->nparams++;
            sort_n(t->params, t->nparams, sizeof *t->params, key_cmp);
        }
    return RK_OK;
}

static rk_result_trial *trial_by_id(rk_results *r, int64_t id)
{
    size_t lo = 0, hi = r->n; /* r->t is in id order (rk_store_trial_records) */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->t[mid].id == id) return &r->t[mid];
        if (r->t[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* A number member of an artifact's meta (a JSON object), NAN if absent. */
static double meta_num(const char *meta, const char *name)
{
    cJSON *m = meta ? cJSON_Parse(meta) : NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, name);
    double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    cJSON_Delete(m);
    return x;
}

/* Compute accounting (docs/ARCHITECTURE.md §Compute per trial): a trial's cpu_s is its own
 * training and evaluation; what it used was made by others and is counted from the
 * artifacts it is linked to — its backbone (every arm descended from it: whole, and
 * amortised over the study's trials that used it), its pseudo-labels and, when no teacher
 * trial is linked, its teacher checkpoint. Trials recorded before artifacts were (schema
 * 2, or no links) count as before: teacher and pseudo-labelling from their trial columns,
 * no backbone. */
static int add_artifacts(rk_results *r, rk_err *err)
{
    rk_artifact_link *l = NULL;
    size_t n = 0;
    int rc = rk_store_artifact_links(r->db, r->study, &l, &n, err);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++) {
        rk_result_trial *t = trial_by_id(r, l[i].trial);
        if (!t) continue;
        const rk_artifact *a = &l[i].a;
        if (!strcmp(l[i].role, RK_ROLE_BACKBONE)) {
            t->backbone_cpu_s = a->cpu_s, t->backbone_users = l[i].users;
            t->source_acc = meta_num(a->meta, "source_acc");
        } else if (!strcmp(l[i].role, RK_ROLE_PSEUDO)) {
            if (isfinite(a->cpu_s)) t->pseudo_cpu_s = a->cpu_s;
            double kept = meta_num(a->meta, "kept"), boxes = meta_num(a->meta, "boxes");
            if (isfinite(kept)) t->pseudo_kept = (int64_t)kept;
            if (isfinite(boxes)) t->pseudo_boxes = (int64_t)boxes;
        } else if (!strcmp(l[i].role, RK_ROLE_TEACHER) && !isfinite(t->teacher_cpu_s)) {
            t->teacher_cpu_s = a->cpu_s;
        }
    }
    rk_artifact_links_free(l, n);
    for (size_t i = 0; i < r->n; i++) {
        rk_result_trial *t = &r->t[i];
        rk_arm arm = rk_arm_parse(t->arm);
        int student = arm != RK_ARM_NONE && rk_arms[arm].teacher != RK_ARM_NONE;
        int pre = arm != RK_ARM_NONE && rk_arms[arm].backbone != RK_BACKBONE_NONE;
        double own = t->cpu_s;
        if (student && isfinite(t->pseudo_cpu_s)) own += t->pseudo_cpu_s;
        if (student && isfinite(t->teacher_cpu_s)) own += t->teacher_cpu_s;
        double bb = pre && isfinite(t->backbone_cpu_s) ? t->backbone_cpu_s : 0;
        if (!pre) t->backbone_cpu_s = 0;
        t->total_cpu_s = own + bb;
        t->total_cpu_amortised_s = own + (t->backbone_users ? bb / (double)t->backbone_users : 0);
    }
    return RK_OK;
}

static int load_trials(rk_results *r, rk_err *err)
{
    rk_trial_record *rec;
    size_t n;
    int rc = rk_store_trial_records(r->db, r->study, &rec, &n, err);
    if (rc) return rc;
    if (!(r->t = calloc(n + 1, sizeof *r->t))) rc = oom(err);
    for (size_t i = 0; i < n && !rc; i++) {
        rk_trial_record *x = &rec[i];
        rk_result_trial *t = &r->t[r->n++];
        /* the strings and params are taken over, not copied */
        t->id = x->t.id, t->seed = x->t.seed, t->fraction = x->t.fraction;
        t->arm = x->t.arm, x->t.arm = NULL;
        t->aug = x->t.aug ? x->t.aug : strdup("-"), x->t.aug = NULL;
        t->status = x->t.status;
        t->error = x->t.error, x->t.error = NULL;
        t->error_code = x->t.error_code;
        t->stop_reason = x->t.stop_reason, x->t.stop_reason = NULL;
        t->cpu = x->t.cpu, x->t.cpu = NULL;
        t->precision = x->t.precision, x->t.precision = NULL;
        t->steps = x->t.steps, t->max_steps = x->t.max_steps;
        t->params = x->params, t->nparams = x->nparams, x->params = NULL, x->nparams = 0;
        t->cpu_s = x->t.cpu_s;
        t->wall_s = x->t.wall_s;
        t->pseudo_cpu_s = x->t.pseudo_cpu_s;
        t->teacher_cpu_s = isfinite(x->t.teacher_cpu_s) ? x->t.teacher_cpu_s : x->deps_cpu_s;
        t->backbone_cpu_s = t->source_acc = NAN; /* add_artifacts */
        t->pseudo_kept = t->pseudo_boxes = -1;
        for (int k = 0; k < RK_COCO_NSTATS; k++)
            t->stats[k] = t->status == RK_TRIAL_FINISHED ? x->stats[k] : NAN;
        t->dev_best = t->dev_gain = t->select_frac = NAN; /* load_convergence */
        if (!t->aug) rc = oom(err);
    }
    rk_trial_records_free(rec, n);
    if (!rc) rc = add_artifacts(r, err);
    return rc ? rc : fill_omitted(r, err);
}

/* A trial trained with the plateau schedule stops when dev AP stops improving; its budget is
 * only a safety net, so one that stopped on the budget hit that maximum: not converged. A
 * fixed (cosine) schedule always stops on its budget, which says nothing about convergence.
 * After fill_omitted, so a config without train.schedule reads as its default, cosine. */
static void mark_budget_limited(rk_results *r)
{
    /* the headline metric: a segmentation trial's primary stat is its mIoU */
    size_t seg = 0, fin = 0;
    for (size_t i = 0; i < r->n; i++) {
        const char *task = rk_result_param(&r->t[i], "model.task");
        if (r->t[i].status != RK_TRIAL_FINISHED) continue;
        fin++, seg += task && !strcmp(task, "segment");
    }
    r->metric = seg == 0 || fin == 0 ? "AP" : seg == fin ? "mIoU" : "AP or mIoU";
    for (size_t i = 0; i < r->n; i++) {
        rk_result_trial *t = &r->t[i];
        const char *sched = rk_result_param(t, "train.schedule");
        t->plateau_schedule = sched && !strcmp(sched, "plateau");
        t->budget_limited = t->plateau_schedule && t->status == RK_TRIAL_FINISHED &&
                            t->stop_reason && !strcmp(t->stop_reason, "budget");
    }
}

/* ---- convergence on the dev split ---- */

double rk_dev_gain_last_quarter(const rk_metric *dev, size_t n, int64_t epochs)
{
    if (epochs < 1) return NAN;
    double early = NAN, late = NAN;
    for (size_t i = 0; i < n; i++) {
        double v = dev[i].value;
        if (!isfinite(v)) continue;
        /* e > 0.75 T in integers (4e > 3T), so an evaluation at exactly 0.75 T is early */
        double *best = 4 * dev[i].step > 3 * epochs ? &late : &early;
        if (isnan(*best) || v > *best) *best = v;
    }
    return late - early; /* NAN when either part is empty */
}

const char *rk_convergence_name(rk_convergence c)
{
    switch (c) {
    case RK_CONV_UNDETERMINED: return "undetermined";
    case RK_CONV_PLATEAUED: return "plateaued";
    case RK_CONV_IMPROVING: return "still improving";
    case RK_CONV_STOPPED: return "converged";
    case RK_CONV_BUDGET_LIMITED: return "hit the maximum";
    default: return "not measured";
    }
}

/* The convergence numbers of each finished trial that evaluated on a dev split: its metrics
 * dev.AP (step = epoch), select.epoch, and loss, whose last step is the trial's epochs. */
static int load_convergence(rk_results *r, rk_err *err)
{
    int rc = RK_OK;
    for (size_t i = 0; i < r->n && !rc; i++) {
        rk_result_trial *t = &r->t[i];
        if (t->status != RK_TRIAL_FINISHED) continue;
        rk_metric *dev = NULL, *loss = NULL, *sel = NULL;
        size_t ndev = 0, nloss = 0, nsel = 0;
        rk_store *db = r->db;
        rc = rk_store_metrics_get(db, t->id, RK_METRIC_DEV_AP, &dev, &ndev, err);
        if (!rc && ndev) rc = rk_store_metrics_get(db, t->id, RK_METRIC_LOSS, &loss, &nloss, err);
        if (!rc && ndev)
            rc = rk_store_metrics_get(db, t->id, RK_METRIC_SELECT_EPOCH, &sel, &nsel, err);
        if (!rc && ndev) {
            int64_t epochs = nloss ? loss[nloss - 1].step : 0; /* ordered by step */
            for (size_t k = 0; k < ndev; k++)
                if (isfinite(dev[k].value) && (isnan(t->dev_best) || dev[k].value > t->dev_best))
                    t->dev_best = dev[k].value;
            t->dev_gain = rk_dev_gain_last_quarter(dev, ndev, epochs);
            if (nsel && epochs > 0) t->select_frac = sel[0].value / (double)epochs;
        }
        free(dev), free(loss), free(sel);
    }
    return rc;
}

/* Extra axes: keys other than trial.* with two different values inside one (arm, aug,
 * fraction) slice — a key swept over the grid (`-s selftrain.alpha=0.5,1,2`). A key that
 * differs only between slices (`[when:fraction=1.0] train.steps = ...`) is a setting of the
 * cell, not an axis: splitting cells by it would leave every slice its own variant and
 * nothing to compare across. Such keys are listed as per-cell settings. Then each trial's
 * variant string. */
typedef struct param_ref {
    const rk_param *p;
    const rk_result_trial *t;
} param_ref;

static int param_cmp(const void *pa, const void *pb)
{
    const param_ref *a = pa, *b = pb;
    int c = strcmp(a->p->key, b->p->key);
    if (!c) c = strcmp(a->t->arm, b->t->arm);
    if (!c) c = strcmp(a->t->aug, b->t->aug);
    if (!c && !rk_feq(a->t->fraction, b->t->fraction)) c = a->t->fraction < b->t->fraction ? -1 : 1;
    return c ? c : strcmp(a->p->value, b->p->value);
}

/* Appends a copy of key to a list of keys. */
static int key_add(char ***v, size_t *n, const char *key, rk_err *err)
{
    char **q = realloc(*v, (*n + 1) * sizeof *q);
    if (!q) return oom(err);
    *v = q;
    if (!(q[*n] = strdup(key))) return oom(err);
    (*n)++;
    return RK_OK;
}

/* The trial's values on keys (those it has; keys sorted) with their text. */
static int make_variant(const rk_result_trial *t, char *const *keys, size_t nkeys,
                        rk_variant *v, rk_err *err)
{
    if (!(v->kv = malloc((nkeys + 1) * sizeof *v->kv))) return oom(err);
    for (size_t a = 0; a < nkeys; a++) {
        const rk_param *p = find_param(t, keys[a]);
        if (p) v->kv[v->n++] = *p;
    }
    size_t len = rk_variant_format(v, NULL, NULL, 0) + 1;
    if (!(v->text = malloc(len))) return oom(err);
    rk_variant_format(v, NULL, v->text, len);
    return RK_OK;
}

static int find_axes(rk_results *r, rk_err *err)
{
    /* every (key, slice, value) of every trial, sorted: a key is an axis when a run of
     * entries of one key and slice holds two values, a per-cell setting when only runs of
     * different slices differ */
    size_t total = 0, k = 0;
    for (size_t i = 0; i < r->n; i++) total += r->t[i].nparams;
    param_ref *all = malloc((total + 1) * sizeof *all);
    if (!all) return oom(err);
    for (size_t i = 0; i < r->n; i++)
        for (size_t j = 0; j < r->t[i].nparams; j++)
            all[k++] = (param_ref){.p = &r->t[i].params[j], .t = &r->t[i]};
    sort_n(all, total, sizeof *all, param_cmp);
    int rc = RK_OK;
    for (size_t i = 0, end; i < total && !rc; i = end) {
        const char *key = all[i].p->key;
        int axis = 0, varies = 0;
        for (end = i + 1; end < total && !strcmp(all[end].p->key, key); end++) {
            if (!strcmp(all[end].p->value, all[end - 1].p->value)) continue;
            const rk_result_trial *a = all[end - 1].t, *b = all[end].t;
            varies = 1;
            axis |= !strcmp(a->arm, b->arm) && !strcmp(a->aug, b->aug) &&
                    rk_feq(a->fraction, b->fraction);
        }
        if (!strncmp(key, "trial.", 6) || !varies) continue;
        rc = axis ? key_add(&r->axes, &r->naxes, key, err)
                  : key_add(&r->settings, &r->nsettings, key, err);
    }
    free(all);
    for (size_t i = 0; i < r->n && !rc; i++) {
        rk_result_trial *t = &r->t[i];
        rk_variant set = {0};
        rc = make_variant(t, r->axes, r->naxes, &t->variant, err);
        if (!rc) rc = make_variant(t, r->settings, r->nsettings, &set, err);
        t->settings = set.text; /* shown only */
        free(set.kv);
    }
    return rc;
}

static int build_cells(rk_results *r, rk_err *err)
{
    size_t nf = 0;
    rk_result_trial **srt = malloc((r->n + 1) * sizeof *srt);
    size_t *ord = malloc((r->n + 1) * sizeof *ord);
    if (!srt || !ord) {
        free(srt), free(ord);
        return oom(err);
    }
    for (size_t i = 0; i < r->n; i++)
        if (r->t[i].status == RK_TRIAL_FINISHED) srt[nf++] = &r->t[i];
    sort_n(srt, nf, sizeof *srt, trial_cmp);
    for (size_t i = 0; i < nf; i++) ord[i] = (size_t)(srt[i] - r->t);
    free(srt);
    r->fractions = malloc((nf + 1) * sizeof *r->fractions);
    r->cells = calloc(nf + 1, sizeof *r->cells);
    double *vals = malloc((nf + 1) * sizeof *vals);
    int rc = r->fractions && r->cells && vals ? RK_OK : oom(err);
    for (size_t i = 0; i < nf && !rc; i++) {
        rk_result_trial *t = &r->t[ord[i]];
        if (set_add(&r->arms, &r->narms, t->arm) || set_add(&r->augs, &r->naugs, t->aug) ||
            set_add(&r->variants, &r->nvariants, t->variant.text)) {
            rc = oom(err);
            break;
        }
        int have = 0;
        for (size_t f = 0; f < r->nfractions; f++) have |= rk_feq(r->fractions[f], t->fraction);
        if (!have) r->fractions[r->nfractions++] = t->fraction;
        rk_cell *c = r->ncells ? &r->cells[r->ncells - 1] : NULL;
        if (!c || strcmp(c->arm, t->arm) || strcmp(c->aug, t->aug) ||
            strcmp(c->variant->text, t->variant.text) || !rk_feq(c->fraction, t->fraction)) {
            c = &r->cells[r->ncells++];
            c->arm = t->arm, c->aug = t->aug, c->variant = &t->variant, c->fraction = t->fraction;
            c->settings = t->settings;
            c->idx = malloc((nf + 1) * sizeof *c->idx);
            if (!c->idx) {
                rc = oom(err);
                break;
            }
        }
        c->idx[c->n++] = ord[i];
    }
    for (size_t ci = 0; ci < r->ncells && !rc; ci++) {
        rk_cell *c = &r->cells[ci];
        for (int k = 0; k < RK_COCO_NSTATS; k++) {
            for (size_t j = 0; j < c->n; j++) vals[j] = r->t[c->idx[j]].stats[k];
            rk_summarize(vals, c->n, r->confidence, &c->stat[k]);
        }
        for (size_t j = 0; j < c->n; j++) vals[j] = r->t[c->idx[j]].total_cpu_s;
        rk_summarize(vals, c->n, r->confidence, &c->cpu);
        for (size_t j = 0; j < c->n; j++) vals[j] = r->t[c->idx[j]].total_cpu_amortised_s;
        rk_summarize(vals, c->n, r->confidence, &c->cpu_amortised);
        /* rk_summarize skips the NANs of trials without dev metrics: n counts the others */
        for (size_t j = 0; j < c->n; j++) vals[j] = r->t[c->idx[j]].dev_best;
        rk_summarize(vals, c->n, r->confidence, &c->dev_best);
        for (size_t j = 0; j < c->n; j++) vals[j] = r->t[c->idx[j]].dev_gain;
        rk_summarize(vals, c->n, r->confidence, &c->dev_gain);
        for (size_t j = 0; j < c->n; j++) vals[j] = r->t[c->idx[j]].select_frac;
        rk_summarize(vals, c->n, r->confidence, &c->select_frac);
        c->max_steps = -1;
        for (size_t j = 0; j < c->n; j++) {
            const rk_result_trial *t = &r->t[c->idx[j]];
            const char *why = t->stop_reason;
            c->stop_plateau += why && !strcmp(why, "plateau");
            c->stop_budget += why && !strcmp(why, "budget");
            c->budget_limited += (size_t)t->budget_limited;
            c->plateau_schedule += (size_t)t->plateau_schedule;
            vals[j] = t->steps > 0 ? (double)t->steps : NAN;
            if (t->max_steps > c->max_steps) c->max_steps = t->max_steps;
        }
        rk_summarize(vals, c->n, r->confidence, &c->steps);
        /* the stop reasons decide where the plateau rule ran; else the dev curves, against a
         * threshold relative to the cell's own dev AP */
        c->conv = c->budget_limited                        ? RK_CONV_BUDGET_LIMITED
                  : c->plateau_schedule && c->stop_plateau ? RK_CONV_STOPPED
                  : c->dev_best.n == 0                     ? RK_CONV_UNMEASURED
                  : c->dev_gain.n == 0                     ? RK_CONV_UNDETERMINED
                  : c->dev_gain.mean < RK_PLATEAU_REL * c->dev_best.mean ? RK_CONV_PLATEAUED
                                                                         : RK_CONV_IMPROVING;
    }
    free(vals);
    free(ord);
    if (rc) return rc;
    sort_n(r->arms, r->narms, sizeof *r->arms, arm_pcmp);
    sort_n(r->augs, r->naugs, sizeof *r->augs, natural_pcmp);
    sort_n(r->variants, r->nvariants, sizeof *r->variants, str_cmp);
    sort_n(r->fractions, r->nfractions, sizeof *r->fractions, dbl_cmp);
    return RK_OK;
}

int rk_results_load(rk_results *r, const char *db_path, const char *study, double confidence,
                    rk_err *err)
{
    memset(r, 0, sizeof *r);
    if (!(confidence > 0 && confidence < 1))
        return rk_errf(err, RK_EINVAL, "confidence must be in (0, 1), got %g", confidence);
    r->confidence = confidence;
    r->db_path = strdup(db_path);
    if (!r->db_path) return oom(err);
    int rc = rk_store_open_readonly(&r->db, db_path, err);
    if (!rc) rc = pick_study(r, study, err);
    if (!rc) rc = load_trials(r, err);
    if (!rc) mark_budget_limited(r);
    if (!rc) rc = load_convergence(r, err);
    if (!rc) rc = find_axes(r, err);
    if (!rc) rc = build_cells(r, err);
    /* the study had results when it was picked: none now means the file contradicts
     * itself (an index that disagrees with its table: the opener's integrity_check says so
     * first; this stays an error, never an empty report) */
    if (!rc && !r->ncells)
        rc = rk_errf(err, RK_EFORMAT, "%s: study '%s' lists results but none of its trials "
                     "reads as finished: the file contradicts itself (run PRAGMA "
                     "integrity_check on it)", db_path, r->study);
    if (rc) rk_results_free(r);
    return rc;
}

void rk_results_free(rk_results *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) {
        rk_result_trial *t = &r->t[i];
        free(t->arm), free(t->aug), free(t->variant.kv), free(t->variant.text);
        free(t->settings), free(t->error), free(t->stop_reason);
        free(t->cpu), free(t->precision);
        for (size_t j = 0; j < t->nparams; j++) free(t->params[j].key), free(t->params[j].value);
        free(t->params);
    }
    free(r->t);
    for (size_t a = 0; a < r->naxes; a++) free(r->axes[a]);
    free(r->axes);
    for (size_t a = 0; a < r->nsettings; a++) free(r->settings[a]);
    free(r->settings);
    free(r->arms), free(r->augs), free(r->variants), free(r->fractions);
    for (size_t c = 0; c < r->ncells; c++) free(r->cells[c].idx);
    free(r->cells);
    rk_store_close(r->db);
    free(r->db_path), free(r->study);
    memset(r, 0, sizeof *r);
}

/* ---- lookups ---- */

const rk_cell *rk_results_cell(const rk_results *r, const char *arm, const char *aug,
                               double fraction, const char *variant)
{
    for (size_t i = 0; i < r->ncells; i++) {
        const rk_cell *c = &r->cells[i];
        if (!strcmp(c->arm, arm) && !strcmp(c->aug, aug) && rk_feq(c->fraction, fraction) &&
            !strcmp(c->variant->text, variant ? variant : ""))
            return c;
    }
    return NULL;
}

const rk_cell *rk_results_partner(const rk_results *r, const rk_cell *a, const char *arm)
{
    const rk_cell *best = NULL;
    int best_shared = -1;
    for (size_t i = 0; i < r->ncells; i++) {
        const rk_cell *c = &r->cells[i];
        if (c == a || strcmp(c->arm, arm) || strcmp(c->aug, a->aug) ||
            !rk_feq(c->fraction, a->fraction))
            continue;
        int shared = variant_overlap(a->variant, c->variant);
        if (shared > best_shared) best = c, best_shared = shared;
    }
    return best;
}

const rk_cell *rk_results_control(const rk_results *r, const rk_cell *c)
{
    rk_arm a = rk_arm_parse(c->arm);
    if (a == RK_ARM_NONE || rk_arms[a].control == RK_ARM_NONE) return NULL;
    return rk_results_partner(r, c, rk_arm_name(rk_arms[a].control));
}

int rk_cell_values(const rk_results *r, const rk_cell *c, int stat, rk_seeded *out, rk_err *err)
{
    memset(out, 0, sizeof *out);
    if (stat < 0 || stat >= RK_COCO_NSTATS)
        return rk_errf(err, RK_EINVAL, "stat index %d out of range", stat);
    out->seed = malloc((c->n + 1) * sizeof *out->seed);
    out->v = malloc((c->n + 1) * sizeof *out->v);
    if (!out->seed || !out->v) {
        rk_seeded_free(out);
        return oom(err);
    }
    for (size_t j = 0; j < c->n; j++) {
        const rk_result_trial *t = &r->t[c->idx[j]];
        /* COCO's -1 (no ground truth in the area range) is no value: a delta or a claim on
         * it has nothing to compare, not a difference of 0 */
        if (!isfinite(t->stats[stat]) || t->stats[stat] < 0) continue;
        out->seed[out->n] = t->seed;
        out->v[out->n++] = t->stats[stat];
    }
    return RK_OK;
}

int rk_paired_delta(const rk_results *r, const rk_cell *a, const rk_cell *b, int stat,
                    rk_summary *out, rk_err *err)
{
    rk_seeded va, vb, d;
    memset(out, 0, sizeof *out);
    int rc = rk_cell_values(r, a, stat, &va, err);
    if (rc) return rc;
    rc = rk_cell_values(r, b, stat, &vb, err);
    if (!rc) rc = rk_seeded_diff(&va, &vb, &d, err);
    if (!rc) {
        rk_summarize(d.v, d.n, r->confidence, out);
        rk_seeded_free(&d);
    }
    rk_seeded_free(&va);
    rk_seeded_free(&vb);
    return rc;
}
