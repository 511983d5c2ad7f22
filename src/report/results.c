/* A study's results, read from the store's database with a read-only SQLite connection:
 * its detector trials (with their flattened config, compute, 12 COCO stats and, when they
 * trained with a dev split, how far they had converged), the extra grid axes and per-cell
 * settings found in their configs, and the cells the finished trials form.
 *
 * Read-only on purpose: a report or a claims check must never change what it reports on,
 * and may run while a sweep is still writing (WAL readers never block the writer). The
 * schema version is checked first, so a database from a newer rethink is refused rather
 * than misread. */
#include <ctype.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rethink/config.h"
#include "rethink/report.h"

static int oom(rk_err *err) { return rk_errf(err, RK_ENOMEM, "out of memory"); }

static int sql_err(const rk_results *r, rk_err *err, const char *what)
{
    return rk_errf(err, RK_EIO, "%s: %s: %s", r->db_path, what, sqlite3_errmsg(r->db));
}

static char *dup_col(sqlite3_stmt *st, int i, int *bad)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    if (!v) return NULL;
    char *d = strdup((const char *)v);
    if (!d) *bad = 1;
    return d;
}

static double real_col(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

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

static int feq(double a, double b) { return fabs(a - b) <= 1e-9 * (1 + fabs(a)); }

/* Orders pointers to trials by cell (display order), then seed. */
static int trial_cmp(const void *pa, const void *pb)
{
    const rk_result_trial *a = *(const rk_result_trial *const *)pa;
    const rk_result_trial *b = *(const rk_result_trial *const *)pb;
    int c = arm_cmp(a->arm, b->arm);
    if (!c) c = strcmp(a->variant, b->variant);
    if (!c && !feq(a->fraction, b->fraction)) c = a->fraction < b->fraction ? -1 : 1;
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

int rk_variant_get(const char *variant, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    const char *p = variant;
    while (p && *p) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > kl && !strncmp(p, key, kl) && p[kl] == '=') {
            size_t vl = len - kl - 1;
            if (cap) {
                if (vl >= cap) vl = cap - 1;
                memcpy(out, p + kl + 1, vl);
                out[vl] = 0;
            }
            return 1;
        }
        p = end ? end + 1 : NULL;
    }
    return 0;
}

/* Number of keys both variants name, or -1 if one of them has another value. */
static int variant_overlap(const char *va, const char *vb)
{
    int shared = 0;
    const char *p = va;
    while (p && *p) {
        const char *end = strchr(p, ';'), *eq = strchr(p, '=');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (eq && eq < p + len) {
            char key[256], vv[512], wv[512];
            size_t kl = (size_t)(eq - p);
            if (kl >= sizeof key) kl = sizeof key - 1;
            memcpy(key, p, kl);
            key[kl] = 0;
            size_t vl = len - (size_t)(eq - p) - 1;
            if (vl >= sizeof vv) vl = sizeof vv - 1;
            memcpy(vv, eq + 1, vl);
            vv[vl] = 0;
            if (rk_variant_get(vb, key, wv, sizeof wv)) {
                if (strcmp(vv, wv)) return -1;
                shared++;
            }
        }
        p = end ? end + 1 : NULL;
    }
    return shared;
}

int rk_variants_compatible(const char *va, const char *vb) { return variant_overlap(va, vb) >= 0; }

const char *rk_result_param(const rk_result_trial *t, const char *key)
{
    size_t lo = 0, hi = t->nparams;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(t->params[mid].key, key);
        if (!c) return t->params[mid].value;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* ---- loading ---- */

static int open_db(rk_results *r, const char *path, rk_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return rk_errf(err, RK_EINVAL, "%s: no such database (run a sweep first, or pass --db)",
                       path);
    if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return sql_err(r, err, "cannot open");
    sqlite3_busy_timeout(r->db, RK_STORE_BUSY_MS);
    sqlite3_stmt *q = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(r->db, "SELECT max(version) FROM schema_version", -1, &q, NULL) ==
            SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        version = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    if (version < 1)
        return rk_errf(err, RK_EINVAL, "%s: not a rethink results database (no schema_version)",
                       path);
    if (version > RK_STORE_SCHEMA_VERSION)
        return rk_errf(err, RK_EFORMAT, "%s: schema version %d is newer than this rethink's %d",
                       path, version, RK_STORE_SCHEMA_VERSION);
    return RK_OK;
}

/* The study's name: the one asked for (which must exist) or the only one with results. */
static int pick_study(rk_results *r, const char *study, rk_err *err)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(r->db,
                           "SELECT DISTINCT study FROM trial_results WHERE kind = 'detector'"
                           " AND arm IS NOT NULL ORDER BY study", -1, &q, NULL) != SQLITE_OK)
        return sql_err(r, err, "listing studies");
    char list[400] = "";
    size_t n = 0, used = 0;
    int found = 0, bad = 0;
    char *only = NULL;
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(q, 0);
        if (study && !strcmp(s, study)) found = 1;
        if (n == 0) only = dup_col(q, 0, &bad);
        if (used < sizeof list - 64)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", n ? ", " : "", s);
        n++;
    }
    sqlite3_finalize(q);
    if (bad) {
        free(only);
        return oom(err);
    }
    if (study) {
        free(only);
        if (!found)
            return rk_errf(err, RK_EINVAL, "%s: study '%s' has no finished trials (studies with "
                           "results: %s)", r->db_path, study, n ? list : "none");
        r->study = strdup(study);
        return r->study ? RK_OK : oom(err);
    }
    if (n != 1) {
        free(only);
        return n ? rk_errf(err, RK_EINVAL, "%s: %zu studies have results (%s): choose one with "
                           "--study", r->db_path, n, list)
                 : rk_errf(err, RK_EINVAL, "%s: no finished trials yet", r->db_path);
    }
    r->study = only;
    return RK_OK;
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
            qsort(t->params, t->nparams, sizeof *t->params, key_cmp);
        }
    return RK_OK;
}

static int load_trials(rk_results *r, rk_err *err)
{
    static const char q_trials[] =
        "SELECT t.id, t.arm, t.aug, t.fraction, t.seed, t.status, t.error, t.cpu_s, t.wall_s,"
        "       t.teacher_cpu_s, t.pseudo_cpu_s,"
        "       (SELECT sum(d.cpu_s) FROM trial_deps x JOIN trials d ON d.id = x.depends_on"
        "         WHERE x.trial_id = t.id AND d.status = 'finished'),"
        "       r.AP, r.AP50, r.AP75, r.APs, r.APm, r.APl, r.AR1, r.AR10, r.AR100, r.ARs,"
        "       r.ARm, r.ARl"
        " FROM trials t JOIN studies s ON s.id = t.study_id"
        " LEFT JOIN results r ON r.trial_id = t.id"
        " WHERE s.name = ?1 AND t.kind = 'detector' AND t.arm IS NOT NULL ORDER BY t.id";
    static const char q_params[] =
        "SELECT p.trial_id, p.key, p.value FROM params p JOIN trials t ON t.id = p.trial_id"
        " JOIN studies s ON s.id = t.study_id"
        " WHERE s.name = ?1 AND t.kind = 'detector' AND t.arm IS NOT NULL"
        " ORDER BY p.trial_id, p.key";
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(r->db, q_trials, -1, &q, NULL) != SQLITE_OK)
        return sql_err(r, err, "reading trials");
    sqlite3_bind_text(q, 1, r->study, -1, SQLITE_STATIC);
    size_t cap = 0;
    int bad = 0, s;
    while ((s = sqlite3_step(q)) == SQLITE_ROW) {
        if (r->n == cap) {
            cap = cap ? 2 * cap : 64;
            rk_result_trial *v = realloc(r->t, cap * sizeof *v);
            if (!v) {
                bad = 1;
                break;
            }
            r->t = v;
        }
        rk_result_trial *t = &r->t[r->n++];
        memset(t, 0, sizeof *t);
        t->id = sqlite3_column_int64(q, 0);
        t->arm = dup_col(q, 1, &bad);
        t->aug = dup_col(q, 2, &bad);
        if (!t->aug && !bad) t->aug = strdup("-");
        t->fraction = real_col(q, 3);
        t->seed = sqlite3_column_int64(q, 4);
        const char *stname = (const char *)sqlite3_column_text(q, 5);
        t->status = !strcmp(stname, "finished") ? RK_TRIAL_FINISHED
                    : !strcmp(stname, "failed") ? RK_TRIAL_FAILED
                    : !strcmp(stname, "running") ? RK_TRIAL_RUNNING
                                                 : RK_TRIAL_PENDING;
        t->error = dup_col(q, 6, &bad);
        t->cpu_s = real_col(q, 7);
        t->wall_s = real_col(q, 8);
        double teacher = real_col(q, 9), dep = real_col(q, 11);
        t->pseudo_cpu_s = real_col(q, 10);
        /* A trial's cpu_s is its own training and evaluation only (rk_trial_result): a
         * self-training cell's total adds its pseudo-labelling and its teacher — measured in
         * the trial when it trained the teacher itself (teacher_cpu_s), else the teacher's
         * own trial (trial_deps). */
        rk_arm arm = rk_arm_parse(t->arm);
        int self = arm != RK_ARM_NONE && rk_arms[arm].teacher != RK_ARM_NONE;
        t->total_cpu_s = t->cpu_s;
        if (self && isfinite(t->pseudo_cpu_s)) t->total_cpu_s += t->pseudo_cpu_s;
        if (self) t->total_cpu_s += isfinite(teacher) ? teacher : isfinite(dep) ? dep : 0;
        for (int k = 0; k < RK_STORE_NSTATS; k++)
            t->stats[k] = t->status == RK_TRIAL_FINISHED ? real_col(q, 12 + k) : NAN;
        t->dev_best = t->dev_gain = t->select_frac = NAN; /* load_convergence */
        if (!t->arm || !t->aug) bad = 1;
        if (bad) break;
    }
    if (!bad && s != SQLITE_DONE) {
        sqlite3_finalize(q);
        return sql_err(r, err, "reading trials");
    }
    sqlite3_finalize(q);
    if (bad) return oom(err);

    if (sqlite3_prepare_v2(r->db, q_params, -1, &q, NULL) != SQLITE_OK)
        return sql_err(r, err, "reading params");
    sqlite3_bind_text(q, 1, r->study, -1, SQLITE_STATIC);
    size_t k = 0, pcap = 0;
    while (!bad && (s = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(q, 0);
        while (k < r->n && r->t[k].id < id) k++, pcap = 0;
        if (k == r->n) break;
        rk_result_trial *t = &r->t[k];
        if (t->id != id) continue;
        if (t->nparams == pcap) {
            pcap = pcap ? 2 * pcap : 64;
            rk_param *v = realloc(t->params, pcap * sizeof *v);
            if (!v) {
                bad = 1;
                break;
            }
            t->params = v;
        }
        rk_param *p = &t->params[t->nparams++];
        p->key = dup_col(q, 1, &bad);
        p->value = dup_col(q, 2, &bad);
        if (!p->value && !bad) p->value = strdup("");
        if (!p->key || !p->value) bad = 1;
    }
    int ok = bad || s == SQLITE_DONE || s == SQLITE_ROW;
    sqlite3_finalize(q);
    if (bad) return oom(err);
    if (!ok) return sql_err(r, err, "reading params");
    return fill_omitted(r, err);
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
        rc = rk_results_metrics(r, t->id, "dev.AP", &dev, &ndev, err);
        if (!rc && ndev) rc = rk_results_metrics(r, t->id, "loss", &loss, &nloss, err);
        if (!rc && ndev) rc = rk_results_metrics(r, t->id, "select.epoch", &sel, &nsel, err);
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
    if (!c && !feq(a->t->fraction, b->t->fraction)) c = a->t->fraction < b->t->fraction ? -1 : 1;
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

/* "k1=v1;k2=v2" over the keys the trial has (NULL: out of memory). */
static char *join_params(const rk_result_trial *t, char *const *keys, size_t nkeys)
{
    size_t len = 1, used = 0;
    for (size_t a = 0; a < nkeys; a++) {
        const char *v = rk_result_param(t, keys[a]);
        if (v) len += strlen(keys[a]) + strlen(v) + 2;
    }
    char *s = malloc(len);
    if (!s) return NULL;
    s[0] = 0;
    for (size_t a = 0; a < nkeys; a++) {
        const char *v = rk_result_param(t, keys[a]);
        if (v) used += (size_t)snprintf(s + used, len - used, "%s%s=%s", used ? ";" : "", keys[a], v);
    }
    return s;
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
        for (size_t j = 0; j < r->t[i].nparams; j++) all[k++] = (param_ref){&r->t[i].params[j], &r->t[i]};
    qsort(all, total, sizeof *all, param_cmp);
    int rc = RK_OK;
    for (size_t i = 0, end; i < total && !rc; i = end) {
        const char *key = all[i].p->key;
        int axis = 0, varies = 0;
        for (end = i + 1; end < total && !strcmp(all[end].p->key, key); end++) {
            if (!strcmp(all[end].p->value, all[end - 1].p->value)) continue;
            const rk_result_trial *a = all[end - 1].t, *b = all[end].t;
            varies = 1;
            axis |= !strcmp(a->arm, b->arm) && !strcmp(a->aug, b->aug) && feq(a->fraction, b->fraction);
        }
        if (!strncmp(key, "trial.", 6) || !varies) continue;
        rc = axis ? key_add(&r->axes, &r->naxes, key, err)
                  : key_add(&r->settings, &r->nsettings, key, err);
    }
    free(all);
    for (size_t i = 0; i < r->n && !rc; i++) {
        if (!(r->t[i].variant = join_params(&r->t[i], r->axes, r->naxes)) ||
            !(r->t[i].settings = join_params(&r->t[i], r->settings, r->nsettings)))
            rc = oom(err);
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
    qsort(srt, nf, sizeof *srt, trial_cmp);
    for (size_t i = 0; i < nf; i++) ord[i] = (size_t)(srt[i] - r->t);
    free(srt);
    r->fractions = malloc((nf + 1) * sizeof *r->fractions);
    r->cells = calloc(nf + 1, sizeof *r->cells);
    double *vals = malloc((nf + 1) * sizeof *vals);
    int rc = r->fractions && r->cells && vals ? RK_OK : oom(err);
    for (size_t i = 0; i < nf && !rc; i++) {
        rk_result_trial *t = &r->t[ord[i]];
        if (set_add(&r->arms, &r->narms, t->arm) || set_add(&r->augs, &r->naugs, t->aug) ||
            set_add(&r->variants, &r->nvariants, t->variant)) {
            rc = oom(err);
            break;
        }
        int have = 0;
        for (size_t f = 0; f < r->nfractions; f++) have |= feq(r->fractions[f], t->fraction);
        if (!have) r->fractions[r->nfractions++] = t->fraction;
        rk_cell *c = r->ncells ? &r->cells[r->ncells - 1] : NULL;
        if (!c || strcmp(c->arm, t->arm) || strcmp(c->aug, t->aug) || strcmp(c->variant, t->variant) ||
            !feq(c->fraction, t->fraction)) {
            c = &r->cells[r->ncells++];
            c->arm = t->arm, c->aug = t->aug, c->variant = t->variant, c->fraction = t->fraction;
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
        for (int k = 0; k < RK_STORE_NSTATS; k++) {
            for (size_t j = 0; j < c->n; j++) vals[j] = r->t[c->idx[j]].stats[k];
            rk_summarize(vals, c->n, r->confidence, &c->stat[k]);
        }
        for (size_t j = 0; j < c->n; j++) vals[j] = r->t[c->idx[j]].total_cpu_s;
        rk_summarize(vals, c->n, r->confidence, &c->cpu);
        /* rk_summarize skips the NANs of trials without dev metrics: n counts the others */
        for (size_t j = 0; j < c->n; j++) vals[j] = r->t[c->idx[j]].dev_best;
        rk_summarize(vals, c->n, r->confidence, &c->dev_best);
        for (size_t j = 0; j < c->n; j++) vals[j] = r->t[c->idx[j]].dev_gain;
        rk_summarize(vals, c->n, r->confidence, &c->dev_gain);
        for (size_t j = 0; j < c->n; j++) vals[j] = r->t[c->idx[j]].select_frac;
        rk_summarize(vals, c->n, r->confidence, &c->select_frac);
        c->conv = c->dev_best.n == 0   ? RK_CONV_UNMEASURED
                  : c->dev_gain.n == 0 ? RK_CONV_UNDETERMINED
                  : c->dev_gain.mean < RK_PLATEAU_GAIN ? RK_CONV_PLATEAUED
                                                       : RK_CONV_IMPROVING;
    }
    free(vals);
    free(ord);
    if (rc) return rc;
    qsort(r->arms, r->narms, sizeof *r->arms, arm_pcmp);
    qsort(r->augs, r->naugs, sizeof *r->augs, natural_pcmp);
    qsort(r->variants, r->nvariants, sizeof *r->variants, str_cmp);
    qsort(r->fractions, r->nfractions, sizeof *r->fractions, dbl_cmp);
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
    int rc = open_db(r, db_path, err);
    if (!rc) rc = pick_study(r, study, err);
    if (!rc) rc = load_trials(r, err);
    if (!rc) rc = load_convergence(r, err);
    if (!rc) rc = find_axes(r, err);
    if (!rc) rc = build_cells(r, err);
    if (rc) rk_results_free(r);
    return rc;
}

void rk_results_free(rk_results *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) {
        rk_result_trial *t = &r->t[i];
        free(t->arm), free(t->aug), free(t->variant), free(t->settings), free(t->error);
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
    if (r->db) sqlite3_close(r->db);
    free(r->db_path), free(r->study);
    memset(r, 0, sizeof *r);
}

/* ---- lookups ---- */

const rk_cell *rk_results_cell(const rk_results *r, const char *arm, const char *aug,
                               double fraction, const char *variant)
{
    for (size_t i = 0; i < r->ncells; i++) {
        const rk_cell *c = &r->cells[i];
        if (!strcmp(c->arm, arm) && !strcmp(c->aug, aug) && feq(c->fraction, fraction) &&
            !strcmp(c->variant, variant ? variant : ""))
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
        if (c == a || strcmp(c->arm, arm) || strcmp(c->aug, a->aug) || !feq(c->fraction, a->fraction))
            continue;
        int shared = variant_overlap(a->variant, c->variant);
        if (shared > best_shared) best = c, best_shared = shared;
    }
    return best;
}

int rk_cell_values(const rk_results *r, const rk_cell *c, int stat, rk_seeded *out, rk_err *err)
{
    memset(out, 0, sizeof *out);
    if (stat < 0 || stat >= RK_STORE_NSTATS)
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

/* ---- metrics and claims ---- */

int rk_results_metrics(const rk_results *r, int64_t trial, const char *name, rk_metric **m,
                       size_t *n, rk_err *err)
{
    static const char q[] =
        "SELECT step, epoch, value FROM metrics WHERE trial_id = ?1 AND name = ?2"
        " AND attempt = (SELECT attempts FROM trials WHERE id = ?1) ORDER BY step";
    *m = NULL;
    *n = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, q, -1, &st, NULL) != SQLITE_OK)
        return sql_err(r, err, "reading metrics");
    sqlite3_bind_int64(st, 1, trial);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    size_t cap = 0;
    int s, rc = RK_OK;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 32;
            rk_metric *v = realloc(*m, cap * sizeof *v);
            if (!v) {
                rc = oom(err);
                break;
            }
            *m = v;
        }
        rk_metric *x = &(*m)[(*n)++];
        memset(x, 0, sizeof *x);
        x->step = sqlite3_column_int64(st, 0);
        x->epoch = sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 1);
        snprintf(x->name, sizeof x->name, "%s", name);
        x->value = real_col(st, 2);
    }
    if (!rc && s != SQLITE_DONE) rc = sql_err(r, err, "reading metrics");
    sqlite3_finalize(st);
    if (rc) {
        free(*m);
        *m = NULL;
        *n = 0;
    }
    return rc;
}

int rk_results_claims(const rk_results *r, rk_claim **out, size_t *n, rk_err *err)
{
    static const char q[] = "SELECT name, verdict, estimate, ci_low, ci_high, n, details, checked"
                            " FROM claims_latest WHERE study = ? ORDER BY name";
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, q, -1, &st, NULL) != SQLITE_OK)
        return sql_err(r, err, "reading claims");
    sqlite3_bind_text(st, 1, r->study, -1, SQLITE_STATIC);
    rk_claim *v = NULL;
    size_t k = 0, cap = 0;
    int s, bad = 0;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == cap) {
            cap = cap ? 2 * cap : 16;
            rk_claim *w = realloc(v, cap * sizeof *w);
            if (!w) {
                bad = 1;
                break;
            }
            v = w;
        }
        rk_claim *c = &v[k++];
        memset(c, 0, sizeof *c);
        c->study = strdup(r->study);
        c->name = dup_col(st, 0, &bad);
        snprintf(c->verdict, sizeof c->verdict, "%s", (const char *)sqlite3_column_text(st, 1));
        c->estimate = real_col(st, 2);
        c->ci_low = real_col(st, 3);
        c->ci_high = real_col(st, 4);
        c->n = sqlite3_column_int64(st, 5);
        c->details_json = dup_col(st, 6, &bad);
        c->checked = real_col(st, 7);
        if (!c->study || !c->name) bad = 1;
        if (bad) break;
    }
    int rc = bad ? oom(err) : s != SQLITE_DONE ? sql_err(r, err, "reading claims") : RK_OK;
    sqlite3_finalize(st);
    if (rc) {
        rk_claims_free(v, k);
        return rc;
    }
    *out = v;
    *n = k;
    return RK_OK;
}
