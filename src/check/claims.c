/* Claims files and baseline files: parsing (through rk_ini_read, so every error names
 * path:line and the key) and writing a baseline from a study's results.
 *
 * Parsing checks everything that can be checked without the data: known keys, known
 * values, the keys each claim type needs and refuses. What needs the data (does the study
 * have this arm, this aug, this axis) is checked by rk_check_run, which reports the line
 * recorded here. docs/CLAIMS.md is the schema. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rethink/check.h"

static int oom(rk_err *err) { return rk_errf(err, RK_ENOMEM, "out of memory"); }

/* ---- small parsers ---- */

static int parse_num(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return !errno && end != s && !*end && isfinite(*v) ? 0 : -1;
}

/* "0.2" or "20%" */
static int parse_fraction(const char *s, double *v)
{
    size_t n = strlen(s);
    if (n > 1 && s[n - 1] == '%') {
        char buf[64];
        if (n >= sizeof buf) return -1;
        memcpy(buf, s, n - 1);
        buf[n - 1] = 0;
        if (parse_num(buf, v)) return -1;
        *v /= 100;
    } else if (parse_num(s, v)) {
        return -1;
    }
    return *v > 0 && *v <= 1 ? 0 : -1;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

/* Splits v at commas outside brackets into trimmed, non-empty copies. */
static int split_list(const char *v, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    char *buf = strdup(v);
    if (!buf) return -1;
    int depth = 0, rc = 0;
    char *start = buf;
    for (char *p = buf;; p++) {
        if (*p == '[') depth++;
        if (*p == ']') depth--;
        if ((*p == ',' && depth == 0) || !*p) {
            int last = !*p;
            *p = 0;
            char *item = trim(start);
            char **q = realloc(*out, (*n + 1) * sizeof *q);
            if (!q || !(q[*n] = strdup(item))) {
                if (q) *out = q;
                rc = -1;
                break;
            }
            *out = q;
            (*n)++;
            if (last) break;
            start = p + 1;
        }
    }
    free(buf);
    return rc;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static void sel_free(rk_arm_sel *s)
{
    free(s->arm);
    for (size_t i = 0; i < s->nwhere; i++) free(s->where[i].key), free(s->where[i].value);
    free(s->where);
    memset(s, 0, sizeof *s);
}

/* "arm" or "arm[key=value, key=value]"; returns a message on a syntax error. */
static const char *parse_sel(const char *v, rk_arm_sel *s)
{
    memset(s, 0, sizeof *s);
    const char *br = strchr(v, '[');
    size_t al = br ? (size_t)(br - v) : strlen(v);
    while (al && isspace((unsigned char)v[al - 1])) al--;
    if (!al) return "an arm name";
    for (size_t i = 0; i < al; i++)
        if (!isalnum((unsigned char)v[i]) && !strchr("+-_.", v[i]))
            return "an arm name (letters, digits, + - _ .) optionally followed by [key=value, ...]";
    s->arm = strndup(v, al);
    if (!s->arm) return "memory";
    if (!br) return NULL;
    size_t n = strlen(br);
    if (n < 3 || br[n - 1] != ']') return "ARM[key=value, ...] with a closing ]";
    char *inner = strndup(br + 1, n - 2);
    char **items = NULL;
    size_t ni = 0;
    const char *msg = NULL;
    if (!inner || split_list(inner, &items, &ni)) msg = "memory";
    free(inner);
    if (!msg && !(s->where = calloc(ni + 1, sizeof *s->where))) msg = "memory";
    for (size_t i = 0; i < ni && !msg; i++) {
        char *eq = strchr(items[i], '=');
        if (!eq || eq == items[i] || !eq[1]) {
            msg = "conditions written key=value, e.g. selftrain[selftrain.normalize=0]";
            break;
        }
        *eq = 0;
        s->where[i].key = strdup(trim(items[i]));
        s->where[i].value = strdup(trim(eq + 1));
        s->nwhere++;
        if (!s->where[i].key || !s->where[i].value) msg = "memory";
    }
    free_list(items, ni);
    return msg;
}

/* ---- claims files ---- */

enum {
    K_TYPE, K_DESCRIPTION, K_STAT, K_A, K_B, K_ARM, K_AUG, K_FRACTION, K_SIGN, K_MIN, K_MAX,
    K_AXIS, K_DIRECTION, K_COMPARE, K_CORRECTION, K_IF_MISSING, K_FILE, K_BUDGET, NKEYS
};
static const char *const KEYS[NKEYS] = {
    "type", "description", "stat", "a", "b", "arm", "aug", "fraction", "sign", "min", "max",
    "axis", "direction", "compare", "correction", "if_missing", "file", "budget_limited"};

/* Keys each type accepts (besides type, description, if_missing, correction). A baseline is
 * a regression alarm on whatever was run and a stable claim is about divergence, so neither
 * takes budget_limited. */
static const char *const ALLOWED[] = {
    [RK_CLAIM_DELTA] = "stat a b aug fraction sign min max budget_limited",
    [RK_CLAIM_VALUE] = "stat arm aug fraction sign min max budget_limited",
    [RK_CLAIM_TREND] = "stat a b arm aug fraction min max axis direction compare budget_limited",
    [RK_CLAIM_BASELINE] = "stat arm aug fraction file",
    [RK_CLAIM_STABLE] = "arm aug fraction",
};

static const char *const CORRECTIONS[] = {
    [RK_CORR_HOLM] = "holm", [RK_CORR_BONFERRONI] = "bonferroni", [RK_CORR_NONE] = "none"};

const char *rk_correction_name(rk_correction c)
{
    return c >= RK_CORR_HOLM && c <= RK_CORR_NONE ? CORRECTIONS[c] : "?";
}

static const char *const TYPES[] = {"delta", "value", "trend", "baseline", "stable"};

const char *rk_claim_type_name(rk_claim_type t)
{
    return t >= RK_CLAIM_DELTA && t <= RK_CLAIM_STABLE ? TYPES[t] : "?";
}

static int allowed(rk_claim_type t, const char *key)
{
    if (!strcmp(key, "type") || !strcmp(key, "description") || !strcmp(key, "if_missing") ||
        !strcmp(key, "correction"))
        return 1;
    const char *list = ALLOWED[t];
    size_t kl = strlen(key);
    for (const char *p = list; (p = strstr(p, key)); p += kl)
        if ((p == list || p[-1] == ' ') && (p[kl] == ' ' || !p[kl])) return 1;
    return 0;
}

static void spec_free(rk_claim_spec *c)
{
    free(c->name), free(c->description), free(c->file), free(c->axis);
    sel_free(&c->a), sel_free(&c->b);
    for (size_t i = 0; i < c->narms; i++) sel_free(&c->arms[i]);
    free(c->arms);
    free_list(c->augs, c->naugs);
    free(c->fractions);
    if (c->baseline) rk_baseline_free(c->baseline);
    free(c->baseline);
}

void rk_claimset_free(rk_claimset *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) spec_free(&s->c[i]);
    free(s->c), free(s->path), free(s->study);
    memset(s, 0, sizeof *s);
}

/* The directory part of path ("" for none), for files named relative to the claims file. */
static void dir_of(const char *path, char *out, size_t cap)
{
    const char *sl = strrchr(path, '/');
    size_t n = sl ? (size_t)(sl - path + 1) : 0;
    if (n >= cap) n = cap - 1;
    memcpy(out, path, n);
    out[n] = 0;
}

/* Builds one claim from its section's items. */
static int build_claim(rk_claimset *s, const rk_ini_item *it, size_t n, rk_claim_spec *c,
                       rk_err *err)
{
    const char *P = s->path, *N = c->name;
    const rk_ini_item *k[NKEYS] = {0};
    for (size_t i = 0; i < n; i++) {
        int idx = -1;
        for (int j = 0; j < NKEYS; j++)
            if (!strcmp(it[i].key, KEYS[j])) idx = j;
        if (idx < 0)
            return rk_errf(err, RK_EFORMAT, "%s:%d: [claim.%s] unknown key '%s' (docs/CLAIMS.md "
                           "lists the keys)", P, it[i].line, N, it[i].key);
        if (k[idx])
            return rk_errf(err, RK_EFORMAT, "%s:%d: [claim.%s] key '%s' given twice (first on "
                           "line %d)", P, it[i].line, N, it[i].key, k[idx]->line);
        k[idx] = &it[i];
    }
#define BAD(key, what)                                                                        \
    rk_errf(err, RK_EFORMAT, "%s:%d: [claim.%s] key '%s': expected %s, got '%s'", P,          \
            k[key]->line, N, KEYS[key], what, k[key]->value)
    if (!k[K_TYPE])
        return rk_errf(err, RK_EFORMAT, "%s:%d: [claim.%s] missing key 'type' (delta, value, "
                       "trend, baseline or stable)", P, it[0].line, N);
    int t = -1;
    for (int j = 0; j < 5; j++)
        if (!strcmp(k[K_TYPE]->value, TYPES[j])) t = j;
    if (t < 0) return BAD(K_TYPE, "delta, value, trend, baseline or stable");
    c->type = (rk_claim_type)t;
    for (int j = 0; j < NKEYS; j++)
        if (k[j] && !allowed(c->type, KEYS[j]))
            return rk_errf(err, RK_EFORMAT, "%s:%d: [claim.%s] key '%s' does not apply to type = "
                           "%s (it takes: %s)", P, k[j]->line, N, KEYS[j], TYPES[t], ALLOWED[t]);
    c->line = it[0].line;
    c->min = c->max = NAN;
    if (k[K_DESCRIPTION] && !(c->description = strdup(k[K_DESCRIPTION]->value))) return oom(err);
    c->stat = c->type == RK_CLAIM_BASELINE ? -1 : 0;
    /* mIoU: a segmentation trial records it as its primary stat (the AP column) */
    if (k[K_STAT]) c->line_stat = k[K_STAT]->line, c->miou = !strcmp(k[K_STAT]->value, "mIoU");
    if (k[K_STAT] && (c->stat = c->miou ? RK_AP : rk_stat_index(k[K_STAT]->value)) < 0)
        return BAD(K_STAT, "a COCO stat (AP AP50 AP75 APs APm APl AR1 AR10 AR100 ARs ARm ARl) "
                           "or mIoU (segmentation)");
    const char *msg;
    if (k[K_A]) {
        c->line_a = k[K_A]->line;
        if ((msg = parse_sel(k[K_A]->value, &c->a))) return BAD(K_A, msg);
    }
    if (k[K_B]) {
        c->line_b = k[K_B]->line;
        if ((msg = parse_sel(k[K_B]->value, &c->b))) return BAD(K_B, msg);
    }
    if (k[K_ARM]) {
        c->line_arm = k[K_ARM]->line;
        char **v;
        size_t nv;
        if (split_list(k[K_ARM]->value, &v, &nv)) return oom(err);
        c->arms = calloc(nv + 1, sizeof *c->arms);
        int bad = !c->arms;
        msg = NULL;
        for (size_t i = 0; i < nv && !bad && !msg; i++) {
            if (!strcmp(v[i], "*") && nv == 1) break; /* every arm */
            msg = parse_sel(v[i], &c->arms[c->narms++]);
        }
        free_list(v, nv);
        if (bad) return oom(err);
        if (msg) return BAD(K_ARM, msg);
    }
    if (k[K_AUG]) {
        c->line_aug = k[K_AUG]->line;
        if (split_list(k[K_AUG]->value, &c->augs, &c->naugs)) return oom(err);
        for (size_t i = 0; i < c->naugs; i++)
            if (!*c->augs[i] || (!strcmp(c->augs[i], "*") && c->naugs > 1))
                return BAD(K_AUG, "policy names separated by commas, or *");
        if (c->naugs == 1 && !strcmp(c->augs[0], "*")) {
            free_list(c->augs, c->naugs);
            c->augs = NULL, c->naugs = 0;
        }
    }
    if (k[K_FRACTION]) {
        c->line_fraction = k[K_FRACTION]->line;
        char **v;
        size_t nv;
        if (split_list(k[K_FRACTION]->value, &v, &nv)) return oom(err);
        int star = nv == 1 && !strcmp(v[0], "*"), bad = 0;
        if (!star && !(c->fractions = malloc((nv + 1) * sizeof *c->fractions))) bad = 1;
        for (size_t i = 0; i < nv && !star && !bad; i++)
            if (parse_fraction(v[i], &c->fractions[c->nfractions++])) bad = 2;
        free_list(v, nv);
        if (bad == 1) return oom(err);
        if (bad) return BAD(K_FRACTION, "fractions in (0, 1] (0.2 or 20%) separated by commas, or *");
    }
    if (k[K_SIGN]) {
        if (k[K_MIN] || k[K_MAX])
            return rk_errf(err, RK_EFORMAT, "%s:%d: [claim.%s] key 'sign' cannot be combined with "
                           "min or max (sign = positive means min = 0)", P, k[K_SIGN]->line, N);
        if (!strcmp(k[K_SIGN]->value, "positive")) c->min = 0;
        else if (!strcmp(k[K_SIGN]->value, "negative")) c->max = 0;
        else return BAD(K_SIGN, "positive or negative");
    }
    if (k[K_MIN] && parse_num(k[K_MIN]->value, &c->min)) return BAD(K_MIN, "a number");
    if (k[K_MAX] && parse_num(k[K_MAX]->value, &c->max)) return BAD(K_MAX, "a number");
    if (k[K_MIN] && k[K_MAX] && !(c->min < c->max))
        return rk_errf(err, RK_EFORMAT, "%s:%d: [claim.%s] key 'max': must be greater than min "
                       "(%g), got '%s'", P, k[K_MAX]->line, N, c->min, k[K_MAX]->value);
    if (k[K_AXIS]) {
        c->line_axis = k[K_AXIS]->line;
        const char *v = k[K_AXIS]->value;
        if (strcmp(v, "aug") && strcmp(v, "fraction") && !strchr(v, '.'))
            return BAD(K_AXIS, "aug, fraction or a config key such as selftrain.alpha");
        if (!(c->axis = strdup(v))) return oom(err);
    }
    if (k[K_DIRECTION]) {
        const char *v = k[K_DIRECTION]->value;
        if (!strcmp(v, "increasing")) {
            if (isnan(c->min)) c->min = 0;
        } else if (!strcmp(v, "decreasing")) {
            if (isnan(c->max)) c->max = 0;
        } else {
            return BAD(K_DIRECTION, "increasing or decreasing");
        }
    }
    if (k[K_COMPARE]) {
        const char *v = k[K_COMPARE]->value;
        if (!strcmp(v, "ends")) c->compare_ends = 1;
        else if (strcmp(v, "consecutive")) return BAD(K_COMPARE, "consecutive or ends");
    }
    c->correction = RK_CORR_HOLM;
    if (k[K_CORRECTION]) {
        int found = 0;
        for (int j = RK_CORR_HOLM; j <= RK_CORR_NONE && !found; j++)
            if (!strcmp(k[K_CORRECTION]->value, CORRECTIONS[j]))
                c->correction = (rk_correction)j, found = 1;
        if (!found) return BAD(K_CORRECTION, "holm, bonferroni or none");
    }
    if (k[K_BUDGET]) {
        const char *v = k[K_BUDGET]->value;
        if (!strcmp(v, "ignore")) c->budget = RK_BUDGET_IGNORE;
        else if (strcmp(v, "inconclusive")) return BAD(K_BUDGET, "inconclusive or ignore");
    }
    if (k[K_IF_MISSING]) {
        const char *v = k[K_IF_MISSING]->value;
        if (!strcmp(v, "inconclusive")) c->missing_inconclusive = 1;
        else if (strcmp(v, "error")) return BAD(K_IF_MISSING, "error or inconclusive");
    }
#undef BAD
    /* what each type needs */
    const char *need = NULL;
    switch (c->type) {
    case RK_CLAIM_DELTA:
        need = !k[K_A] ? "a" : !k[K_B] ? "b" : NULL;
        if (!need && isnan(c->min) && isnan(c->max)) need = "sign (or min / max)";
        break;
    case RK_CLAIM_VALUE:
        need = !k[K_ARM] ? "arm" : isnan(c->min) && isnan(c->max) ? "sign (or min / max)" : NULL;
        break;
    case RK_CLAIM_TREND:
        need = !k[K_AXIS] ? "axis" : !k[K_DIRECTION] ? "direction" : NULL;
        if (!need && !k[K_ARM] && !(k[K_A] && k[K_B])) need = "arm (or a and b, for a delta)";
        if (!need && k[K_ARM] && (k[K_A] || k[K_B]))
            return rk_errf(err, RK_EFORMAT, "%s:%d: [claim.%s] key 'arm': a trend follows either "
                           "an arm or a delta a − b, not both", P, k[K_ARM]->line, N);
        if (!need && (!strcmp(c->axis, "aug") ? k[K_AUG] && c->naugs == 1
                      : !strcmp(c->axis, "fraction") ? k[K_FRACTION] && c->nfractions == 1 : 0))
            return rk_errf(err, RK_EFORMAT, "%s:%d: [claim.%s] key 'axis': a trend along %s needs "
                           "at least two of its values in the slice", P, c->line_axis, N, c->axis);
        break;
    case RK_CLAIM_BASELINE:
        need = !k[K_FILE] ? "file" : NULL;
        break;
    case RK_CLAIM_STABLE:
        break;
    }
    if (need)
        return rk_errf(err, RK_EFORMAT, "%s:%d: [claim.%s] missing key '%s' (type = %s needs it)",
                       P, c->line, N, need, TYPES[t]);
    if (k[K_FILE]) {
        char dir[1024], path[2048];
        const char *f = k[K_FILE]->value;
        dir_of(s->path, dir, sizeof dir);
        snprintf(path, sizeof path, "%s%s", f[0] == '/' ? "" : dir, f);
        if (!(c->baseline = calloc(1, sizeof *c->baseline))) return oom(err);
        rk_err e2 = {0};
        if (rk_baseline_load(c->baseline, path, &e2))
            return rk_errf(err, e2.rc, "%s:%d: [claim.%s] key 'file': %s", P, k[K_FILE]->line, N,
                           e2.msg);
        if (c->stat >= 0 && isnan(c->baseline->tol[c->stat]))
            return rk_errf(err, RK_EFORMAT, "%s:%d: [claim.%s] key 'stat': %s has no tolerance in "
                           "%s's [tolerance] section", P, k[K_STAT]->line, N,
                           rk_coco_stat_name(c->stat), path);
    }
    return RK_OK;
}

int rk_claimset_load(rk_claimset *s, const char *path, rk_err *err)
{
    memset(s, 0, sizeof *s);
    s->confidence = NAN;
    rk_ini_item *it = NULL;
    size_t n = 0;
    int rc = rk_ini_read(path, &it, &n, err);
    if (rc) return rc;
    if (!(s->path = strdup(path))) rc = oom(err);
    for (size_t i = 0; i < n && !rc;) {
        const char *sec = it[i].section;
        size_t j = i;
        while (j < n && !strcmp(it[j].section, sec)) j++;
        if (!strcmp(sec, "claims")) {
            for (size_t q = i; q < j && !rc; q++) {
                if (!strcmp(it[q].key, "study")) {
                    free(s->study);
                    if (!(s->study = strdup(it[q].value))) rc = oom(err);
                } else if (!strcmp(it[q].key, "confidence")) {
                    if (parse_num(it[q].value, &s->confidence) || !(s->confidence > 0) ||
                        !(s->confidence < 1))
                        rc = rk_errf(err, RK_EFORMAT, "%s:%d: [claims] key 'confidence': expected "
                                     "a number in (0, 1), got '%s'", path, it[q].line, it[q].value);
                } else {
                    rc = rk_errf(err, RK_EFORMAT, "%s:%d: [claims] unknown key '%s' (study, "
                                 "confidence)", path, it[q].line, it[q].key);
                }
            }
        } else if (!strncmp(sec, "claim.", 6) && sec[6]) {
            for (size_t q = 0; q < s->n && !rc; q++)
                if (!strcmp(s->c[q].name, sec + 6))
                    rc = rk_errf(err, RK_EFORMAT, "%s:%d: [claim.%s] defined twice (first at line "
                                 "%d)", path, it[i].line, sec + 6, s->c[q].line);
            rk_claim_spec *v = rc ? NULL : realloc(s->c, (s->n + 1) * sizeof *v);
            if (!rc && !v) rc = oom(err);
            if (!rc) {
                s->c = v;
                rk_claim_spec *c = &v[s->n++];
                memset(c, 0, sizeof *c);
                c->name = strdup(sec + 6);
                c->file = strdup(path);
                if (!c->name || !c->file) rc = oom(err);
                if (!rc) rc = build_claim(s, it + i, j - i, c, err);
            }
        } else {
            rc = rk_errf(err, RK_EFORMAT, "%s:%d: section [%s]: expected [claims] or "
                         "[claim.NAME]", path, it[i].line, sec);
        }
        i = j;
    }
    if (!rc && s->n == 0)
        rc = rk_errf(err, RK_EFORMAT, "%s: no claims (sections [claim.NAME])", path);
    rk_ini_free(it, n);
    if (rc) rk_claimset_free(s);
    return rc;
}

int rk_claimset_add_baseline(rk_claimset *s, const char *baseline_path, rk_err *err)
{
    rk_claim_spec *v = realloc(s->c, (s->n + 1) * sizeof *v);
    if (!v) return oom(err);
    s->c = v;
    rk_claim_spec *c = &v[s->n];
    memset(c, 0, sizeof *c);
    c->type = RK_CLAIM_BASELINE;
    c->stat = -1;
    c->min = c->max = NAN;
    c->name = strdup("baseline");
    c->file = strdup(baseline_path);
    c->description = strdup("every cell's mean within tolerance of the baseline");
    c->baseline = calloc(1, sizeof *c->baseline);
    s->n++;
    if (!c->name || !c->file || !c->description || !c->baseline) return oom(err);
    for (size_t q = 0; q + 1 < s->n; q++)
        if (!strcmp(s->c[q].name, "baseline"))
            return rk_errf(err, RK_EINVAL, "%s: already has a claim named baseline; --baseline "
                           "adds one", s->path ? s->path : "claims");
    return rk_baseline_load(c->baseline, baseline_path, err);
}

/* ---- baselines ---- */

void rk_baseline_free(rk_baseline *b)
{
    if (!b) return;
    for (size_t i = 0; i < b->ncells; i++)
        free(b->cells[i].arm), free(b->cells[i].aug), free(b->cells[i].variant);
    free(b->cells), free(b->path), free(b->study);
    memset(b, 0, sizeof *b);
}

int rk_baseline_load(rk_baseline *b, const char *path, rk_err *err)
{
    memset(b, 0, sizeof *b);
    b->k = 3;
    for (int i = 0; i < RK_COCO_NSTATS; i++) b->tol[i] = NAN;
    rk_ini_item *it = NULL;
    size_t n = 0;
    int rc = rk_ini_read(path, &it, &n, err);
    if (rc) return rc;
    if (!(b->path = strdup(path))) rc = oom(err);
    const char *cur = NULL;
    for (size_t i = 0; i < n && !rc; i++) {
        const rk_ini_item *x = &it[i];
        double v;
        if (!strcmp(x->section, "baseline")) {
            if (!strcmp(x->key, "study")) {
                free(b->study);
                if (!(b->study = strdup(x->value))) rc = oom(err);
            }
            continue; /* other keys describe the file's origin */
        }
        if (!strcmp(x->section, "tolerance")) {
            int si = rk_stat_index(x->key);
            if (strcmp(x->key, "k") && si < 0)
                rc = rk_errf(err, RK_EFORMAT, "%s:%d: [tolerance] unknown key '%s' (k or a COCO "
                             "stat)", path, x->line, x->key);
            else if (parse_num(x->value, &v) || v < 0)
                rc = rk_errf(err, RK_EFORMAT, "%s:%d: [tolerance] key '%s': expected a number "
                             ">= 0, got '%s'", path, x->line, x->key, x->value);
            else if (si < 0) b->k = v;
            else b->tol[si] = v;
            continue;
        }
        if (strncmp(x->section, "cell.", 5)) {
            rc = rk_errf(err, RK_EFORMAT, "%s:%d: section [%s]: expected [baseline], [tolerance] "
                         "or [cell.N]", path, x->line, x->section);
            break;
        }
        if (!cur || strcmp(cur, x->section)) {
            rk_baseline_cell *q = realloc(b->cells, (b->ncells + 1) * sizeof *q);
            if (!q) {
                rc = oom(err);
                break;
            }
            b->cells = q;
            rk_baseline_cell *c = &q[b->ncells++];
            memset(c, 0, sizeof *c);
            c->fraction = NAN;
            c->line = x->line;
            for (int s = 0; s < RK_COCO_NSTATS; s++) c->mean[s] = c->std[s] = NAN;
            cur = x->section;
        }
        rk_baseline_cell *c = &b->cells[b->ncells - 1];
        char **str = !strcmp(x->key, "arm") ? &c->arm : !strcmp(x->key, "aug") ? &c->aug
                     : !strcmp(x->key, "variant") ? &c->variant : NULL;
        if (str) {
            free(*str);
            if (!(*str = strdup(x->value))) rc = oom(err);
            continue;
        }
        size_t kl = strlen(x->key);
        int is_std = kl > 4 && !strcmp(x->key + kl - 4, ".std");
        char key[32];
        snprintf(key, sizeof key, "%.*s", (int)(is_std ? kl - 4 : kl), x->key);
        int si = rk_stat_index(key);
        int known = si >= 0 || (!is_std && (!strcmp(key, "fraction") || !strcmp(key, "n")));
        if (!known) {
            rc = rk_errf(err, RK_EFORMAT, "%s:%d: [%s] unknown key '%s' (arm, aug, fraction, "
                         "variant, n, STAT, STAT.std)", path, x->line, x->section, x->key);
        } else if (parse_num(x->value, &v)) {
            rc = rk_errf(err, RK_EFORMAT, "%s:%d: [%s] key '%s': expected a number, got '%s'",
                         path, x->line, x->section, x->key, x->value);
        } else if (!strcmp(key, "fraction")) {
            c->fraction = v;
        } else if (!strcmp(key, "n")) {
            /* range first: converting 1e30 or -5 to size_t is undefined behaviour */
            if (!(v >= 1 && v <= RK_BASELINE_MAX_N) || v != floor(v))
                rc = rk_errf(err, RK_EFORMAT, "%s:%d: [%s] key 'n': expected a count of seeds "
                             "from 1 to %d, got '%s'", path, x->line, x->section,
                             RK_BASELINE_MAX_N, x->value);
            else
                c->n = (size_t)v;
        } else if (is_std) {
            c->std[si] = v;
        } else {
            c->mean[si] = v;
        }
    }
    for (size_t i = 0; i < b->ncells && !rc; i++) {
        rk_baseline_cell *c = &b->cells[i];
        if (!c->variant && !(c->variant = strdup(""))) rc = oom(err);
        else if (!c->arm || !c->aug || isnan(c->fraction) || !c->n)
            rc = rk_errf(err, RK_EFORMAT, "%s:%d: a baseline cell needs arm, aug, fraction and n",
                         path, c->line);
    }
    int any = 0;
    for (int s = 0; s < RK_COCO_NSTATS; s++) any |= !isnan(b->tol[s]);
    if (!rc && !any)
        rc = rk_errf(err, RK_EFORMAT, "%s: no [tolerance] for any stat (e.g. AP = 0.005)", path);
    rk_ini_free(it, n);
    if (rc) rk_baseline_free(b);
    return rc;
}

int rk_baseline_save(const rk_results *r, const char *path, rk_err *err)
{
    char tmp[2100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return rk_file_replace(f, tmp, path, err);
    fprintf(f, "; rethink baseline of study '%s': per cell (arm, aug, fraction, variant) the mean,\n"
               "; sample std and number of seeds of the 12 COCO stats (stored units: 0.01 = 1 AP\n"
               "; point). `rethink check --baseline FILE` fails a cell whose mean moved by more\n"
               "; than max(tolerance, k * std * sqrt(1/n_baseline + 1/n_now)); edit [tolerance]\n"
               "; to choose the stats checked and their tolerances (docs/CLAIMS.md).\n\n",
            r->study);
    fprintf(f, "[baseline]\nstudy = %s\ncells = %zu\n\n", r->study, r->ncells);
    fprintf(f, "[tolerance]\nk = 3\nAP = 0.005\nAP50 = 0.01\n");
    for (size_t i = 0; i < r->ncells; i++) {
        const rk_cell *c = &r->cells[i];
        fprintf(f, "\n[cell.%zu]\narm = %s\naug = %s\nfraction = %.9g\nvariant = %s\nn = %zu\n",
                i + 1, c->arm, c->aug, c->fraction, c->variant->text, c->n);
        for (int s = 0; s < RK_COCO_NSTATS; s++) {
            if (!isfinite(c->stat[s].mean)) continue;
            fprintf(f, "%s = %.9g\n", rk_coco_stat_name(s), c->stat[s].mean);
            if (isfinite(c->stat[s].std))
                fprintf(f, "%s.std = %.9g\n", rk_coco_stat_name(s), c->stat[s].std);
        }
    }
    return rk_file_replace(f, tmp, path, err);
}
