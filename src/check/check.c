/* Judging claims against a study's results: each claim becomes a list of units (a cell, a
 * step along an axis, a baseline cell and stat), each unit a set of per-seed values whose
 * confidence interval is compared with the claimed region, then corrected for testing k
 * units at once (Holm by default: check.h); then the verdicts go to the store and to JSON.
 *
 * Every comparison between two cells pairs values by seed (rk_seeded_diff): the seed fixes
 * the labelled subset and the initialisation, so pairing removes the part of the noise the
 * two cells share. A cell whose partner is missing, or a pairing with fewer than two seeds,
 * makes its unit inconclusive — never a verdict without an interval. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rethink/check.h"
#include "rethink/config.h"

static int oom(rk_err *err) { return rk_errf(err, RK_ENOMEM, "out of memory"); }

/* A summary of nothing: no values, every number NAN. */
#define NO_SUMMARY                                                                          \
    ((rk_summary){.n = 0, .mean = NAN, .std = NAN, .ci_low = NAN, .ci_high = NAN})

const char *rk_verdict_name(rk_verdict v)
{
    return v == RK_HOLDS ? "HOLDS" : v == RK_FAILS ? "FAILS" : "INCONCLUSIVE";
}

/* Values equal as strings, or as numbers when both are numbers ("0.50" = "0.5"). */
static int value_eq(const char *a, const char *b)
{
    if (!strcmp(a, b)) return 1;
    char *ea, *eb;
    double x = strtod(a, &ea), y = strtod(b, &eb);
    return ea != a && eb != b && !*ea && !*eb && rk_feq(x, y);
}

static const rk_result_trial *first_trial(const rk_results *r, const rk_cell *c)
{
    return &r->t[c->idx[0]];
}

/* t is of the selector's arm and has the config values it names. */
static int trial_match(const rk_result_trial *t, const rk_arm_sel *s)
{
    if (strcmp(t->arm, s->arm)) return 0;
    for (size_t i = 0; i < s->nwhere; i++) {
        const char *v = rk_result_param(t, s->where[i].key);
        if (!v || !value_eq(v, s->where[i].value)) return 0;
    }
    return 1;
}

static int sel_match(const rk_results *r, const rk_cell *c, const rk_arm_sel *s)
{
    return trial_match(first_trial(r, c), s);
}

static int in_slice(const rk_claim_spec *c, const char *aug, double fraction)
{
    int ok = c->naugs == 0;
    for (size_t i = 0; i < c->naugs && !ok; i++) ok = !strcmp(c->augs[i], aug);
    if (!ok) return 0;
    ok = c->nfractions == 0;
    for (size_t i = 0; i < c->nfractions && !ok; i++) ok = rk_feq(c->fractions[i], fraction);
    return ok;
}

static int sel_names(const rk_arm_sel *s, const char *key)
{
    for (size_t i = 0; s && i < s->nwhere; i++)
        if (!strcmp(s->where[i].key, key)) return 1;
    return 0;
}

/* Variants agree on every key both name, except keys the selectors fix (those are what the
 * claim compares: selftrain[normalize=1] against selftrain[normalize=0]). Returns the number
 * of shared keys, -1 if incompatible. */
static int pair_overlap(const rk_variant *va, const rk_variant *vb, const rk_arm_sel *sa,
                        const rk_arm_sel *sb)
{
    int shared = 0;
    for (size_t i = 0; i < va->n; i++) {
        const char *key = va->kv[i].key, *w = rk_variant_value(vb, key);
        if (!w || sel_names(sa, key) || sel_names(sb, key)) continue;
        if (strcmp(va->kv[i].value, w)) return -1;
        shared++;
    }
    return shared;
}

static const rk_cell *find_partner(const rk_results *r, const rk_cell *a, const rk_arm_sel *sa,
                                   const rk_arm_sel *sb)
{
    const rk_cell *best = NULL;
    int best_shared = -1;
    for (size_t i = 0; i < r->ncells; i++) {
        const rk_cell *c = &r->cells[i];
        if (c == a || strcmp(c->aug, a->aug) || !rk_feq(c->fraction, a->fraction) ||
            !sel_match(r, c, sb))
            continue;
        int sh = pair_overlap(a->variant, c->variant, sa, sb);
        if (sh > best_shared) best = c, best_shared = sh;
    }
    return best;
}

/* ---- units under construction ---- */

/* A unit rests on at most four cells: a trend step of a delta compares two pairs. */
#define MAX_REST 4

typedef struct {
    char *label, *note;
    rk_seeded v;         /* per-seed values of the tested quantity */
    const rk_cell *cell; /* the (a) cell, for trends */
    const rk_cell *rest[MAX_REST]; /* the cells its values come from */
    size_t nrest;
    double p, p_adj, mde;
    int budget;          /* rests on a budget-limited cell */
    double estimate;     /* what the verdict is about: s.mean, or a stable claim's diverged
                            trials (its s has only n, the trials seen) */
    int sel;             /* which arm selector it came from (trend lines) */
    char *line, *level;  /* trend: the line it belongs to and its level on the axis */
    double level_num;
    int fixed;           /* verdict already decided (baseline), s and verdict are set */
    rk_verdict verdict;
    rk_summary s;
} unit;

typedef struct {
    unit *u;
    size_t n;
} units;

static void units_free(units *us)
{
    for (size_t i = 0; i < us->n; i++) {
        free(us->u[i].label), free(us->u[i].note), free(us->u[i].line), free(us->u[i].level);
        rk_seeded_free(&us->u[i].v);
    }
    free(us->u);
    memset(us, 0, sizeof *us);
}

static unit *units_add(units *us)
{
    unit *v = realloc(us->u, (us->n + 1) * sizeof *v);
    if (!v) return NULL;
    us->u = v;
    memset(&v[us->n], 0, sizeof *v);
    return &v[us->n++];
}

static void fmt_fraction(char *out, size_t cap, double f) { snprintf(out, cap, "%g%%", 100 * f); }

static void rest_add(unit *u, const rk_cell *c)
{
    for (size_t i = 0; i < u->nrest; i++)
        if (u->rest[i] == c) return;
    if (u->nrest < MAX_REST) u->rest[u->nrest++] = c;
}

/* "S4 20%" (+ " [variant]") with an optional "arm " prefix. */
static char *cell_label(const rk_cell *c, const char *arm_prefix)
{
    char fr[32], buf[1024];
    fmt_fraction(fr, sizeof fr, c->fraction);
    const char *v = c->variant->text;
    snprintf(buf, sizeof buf, "%s%s%s %s%s%s%s", arm_prefix ? arm_prefix : "",
             arm_prefix ? " " : "", c->aug, fr, *v ? " [" : "", v, *v ? "]" : "");
    return strdup(buf);
}

static char *sel_text(const rk_arm_sel *s)
{
    char buf[512];
    size_t u = (size_t)snprintf(buf, sizeof buf, "%s", s->arm);
    for (size_t i = 0; i < s->nwhere && u < sizeof buf; i++)
        u += (size_t)snprintf(buf + u, sizeof buf - u, "%s%s=%s%s", i ? ", " : "[",
                              s->where[i].key, s->where[i].value, i + 1 == s->nwhere ? "]" : "");
    return strdup(buf);
}

/* ---- checks against the data (bad input vs missing data) ---- */

typedef struct {
    int missing; /* data absent: error, or inconclusive with if_missing */
    char msg[1024];
} gap;

static int known_arm(const char *a) { return rk_arm_parse(a) != RK_ARM_NONE; }

static int any_param(const rk_results *r, const char *key)
{
    for (size_t i = 0; i < r->n; i++)
        if (rk_result_param(&r->t[i], key)) return 1;
    return 0;
}

static void list_strings(char *out, size_t cap, char **v, size_t n)
{
    size_t u = 0;
    out[0] = 0;
    for (size_t i = 0; i < n && u < cap; i++)
        u += (size_t)snprintf(out + u, cap - u, "%s%s", i ? ", " : "", v[i]);
}

static int check_sel(const rk_claim_spec *c, const rk_results *r, const rk_arm_sel *s, int line,
                     const char *key, gap *g, rk_err *err)
{
    int in_study = 0;
    for (size_t i = 0; i < r->n && !in_study; i++) in_study = !strcmp(r->t[i].arm, s->arm);
    char list[600];
    list_strings(list, sizeof list, r->arms, r->narms);
    if (!in_study && !known_arm(s->arm)) {
        char arms[512];
        size_t u = 0;
        arms[0] = 0;
        for (int a = 0; a < RK_NARMS && u < sizeof arms; a++)
            u += (size_t)snprintf(arms + u, sizeof arms - u, "%s%s", a ? ", " : "", rk_arms[a].name);
        return rk_errf(err, RK_EINVAL, "%s:%d: [claim.%s] key '%s': unknown arm '%s' (arms: %s; "
                       "study %s has %s)", c->file, line, c->name, key, s->arm, arms, r->study, list);
    }
    for (size_t i = 0; i < s->nwhere; i++)
        if (!any_param(r, s->where[i].key)) {
            if (!c->missing_inconclusive)
                return rk_errf(err, RK_EINVAL, "%s:%d: [claim.%s] key '%s': unknown config key "
                               "'%s' (no trial of study %s has it)", c->file, line, c->name, key,
                               s->where[i].key, r->study);
            if (!g->missing) {
                g->missing = 1;
                snprintf(g->msg, sizeof g->msg, "%s:%d: [claim.%s] key '%s': no trial of study %s "
                         "has config key %s", c->file, line, c->name, key, r->study, s->where[i].key);
            }
        }
    int cells = 0;
    for (size_t i = 0; i < r->ncells && !cells; i++) cells = sel_match(r, &r->cells[i], s);
    if (!cells && !g->missing) {
        char *t = sel_text(s);
        g->missing = 1;
        snprintf(g->msg, sizeof g->msg, "%s:%d: [claim.%s] key '%s': study %s has no finished "
                 "trial of %s (arms with results: %s)", c->file, line, c->name, key, r->study,
                 t ? t : s->arm, list);
        free(t);
    }
    return RK_OK;
}

static int check_data(const rk_claim_spec *c, const rk_results *r, gap *g, rk_err *err)
{
    int rc = RK_OK;
    memset(g, 0, sizeof *g);
    if (c->a.arm && (rc = check_sel(c, r, &c->a, c->line_a, "a", g, err))) return rc;
    if (c->b.arm && (rc = check_sel(c, r, &c->b, c->line_b, "b", g, err))) return rc;
    for (size_t i = 0; i < c->narms; i++)
        if ((rc = check_sel(c, r, &c->arms[i], c->line_arm, "arm", g, err))) return rc;
    char list[600];
    for (size_t i = 0; i < c->naugs && !g->missing; i++) {
        int have = 0;
        for (size_t j = 0; j < r->naugs && !have; j++) have = !strcmp(r->augs[j], c->augs[i]);
        if (!have) {
            list_strings(list, sizeof list, r->augs, r->naugs);
            g->missing = 1;
            snprintf(g->msg, sizeof g->msg, "%s:%d: [claim.%s] key 'aug': study %s has no %s "
                     "(it has %s)", c->file, c->line_aug, c->name, r->study, c->augs[i], list);
        }
    }
    for (size_t i = 0; i < c->nfractions && !g->missing; i++) {
        int have = 0;
        for (size_t j = 0; j < r->nfractions && !have; j++)
            have = rk_feq(r->fractions[j], c->fractions[i]);
        if (!have) {
            size_t u = 0;
            for (size_t j = 0; j < r->nfractions && u < sizeof list; j++)
                u += (size_t)snprintf(list + u, sizeof list - u, "%s%g", j ? ", " : "", r->fractions[j]);
            g->missing = 1;
            snprintf(g->msg, sizeof g->msg, "%s:%d: [claim.%s] key 'fraction': study %s has no "
                     "fraction %g (it has %s)", c->file, c->line_fraction, c->name, r->study,
                     c->fractions[i], list);
        }
    }
    if (c->axis && strcmp(c->axis, "aug") && strcmp(c->axis, "fraction")) {
        int axis = 0;
        for (size_t i = 0; i < r->naxes && !axis; i++) axis = !strcmp(r->axes[i], c->axis);
        if (!axis && !any_param(r, c->axis))
            return rk_errf(err, RK_EINVAL, "%s:%d: [claim.%s] key 'axis': unknown config key "
                           "'%s'", c->file, c->line_axis, c->name, c->axis);
        if (!axis && !g->missing) {
            list_strings(list, sizeof list, r->axes, r->naxes);
            g->missing = 1;
            snprintf(g->msg, sizeof g->msg, "%s:%d: [claim.%s] key 'axis': %s is not a grid axis "
                     "of study %s (axes besides arm, aug, fraction, seed: %s)", c->file,
                     c->line_axis, c->name, c->axis, r->study, r->naxes ? list : "none");
        }
    }
    if (g->missing && !c->missing_inconclusive)
        return rk_errf(err, RK_EINVAL, "%s (or set if_missing = inconclusive)", g->msg);
    return RK_OK;
}

/* ---- building units ---- */

/* The per-seed series of target selector s (or the delta a − b) at cell c. */
static int series_at(const rk_claim_spec *c, const rk_results *r, const rk_cell *cell,
                     unit *u, rk_err *err)
{
    rest_add(u, cell);
    if (!c->a.arm) return rk_cell_values(r, cell, c->stat, &u->v, err);
    const rk_cell *b = find_partner(r, cell, &c->a, &c->b);
    if (!b) {
        char *t = sel_text(&c->b);
        char buf[600];
        snprintf(buf, sizeof buf, "no %s cell to pair with", t ? t : c->b.arm);
        free(t);
        u->note = strdup(buf);
        return u->note ? RK_OK : oom(err);
    }
    rest_add(u, b);
    rk_seeded va, vb;
    int rc = rk_cell_values(r, cell, c->stat, &va, err);
    if (rc) return rc;
    if (!(rc = rk_cell_values(r, b, c->stat, &vb, err))) {
        rc = rk_seeded_diff(&va, &vb, &u->v, err);
        rk_seeded_free(&vb);
    }
    rk_seeded_free(&va);
    return rc;
}

/* Units of delta and value claims, and the points (one per cell) trends are built from. */
static int cell_units(const rk_claim_spec *c, const rk_results *r, units *us, rk_err *err)
{
    for (size_t i = 0; i < r->ncells; i++) {
        const rk_cell *cell = &r->cells[i];
        if (!in_slice(c, cell->aug, cell->fraction)) continue;
        int sel = -1;
        if (c->a.arm) {
            if (sel_match(r, cell, &c->a)) sel = 0;
        } else if (c->narms == 0) {
            sel = 0;
        } else {
            for (size_t k = 0; k < c->narms && sel < 0; k++)
                if (sel_match(r, cell, &c->arms[k])) sel = (int)k;
        }
        if (sel < 0) continue;
        unit *u = units_add(us);
        if (!u) return oom(err);
        u->cell = cell;
        u->sel = sel;
        u->label = cell_label(cell, c->a.arm || c->narms == 1 ? NULL : cell->arm);
        if (!u->label) return oom(err);
        int rc = series_at(c, r, cell, u, err);
        if (rc) return rc;
    }
    return RK_OK;
}

static int aug_rank(const rk_results *r, const char *aug)
{
    for (size_t i = 0; i < r->naugs; i++)
        if (!strcmp(r->augs[i], aug)) return (int)i;
    return -1;
}

typedef struct {
    const rk_results *r;
    int by_aug;
} level_ctx;

/* Points sorted by line, then level. */
static int point_cmp(const unit *a, const unit *b, const level_ctx *x)
{
    int c = strcmp(a->line, b->line);
    if (c) return c;
    if (x->by_aug) {
        int ra = aug_rank(x->r, a->level), rb = aug_rank(x->r, b->level);
        return ra < rb ? -1 : ra > rb;
    }
    if (isfinite(a->level_num) && isfinite(b->level_num))
        return a->level_num < b->level_num ? -1 : a->level_num > b->level_num;
    return strcmp(a->level, b->level);
}

static int trend_units(const rk_claim_spec *c, const rk_results *r, units *out, rk_err *err)
{
    units pts = {0};
    int rc = cell_units(c, r, &pts, err);
    int by_aug = !strcmp(c->axis, "aug"), by_fraction = !strcmp(c->axis, "fraction");
    size_t k = 0;
    /* level and line of each point; cells without the axis key drop out */
    for (size_t i = 0; i < pts.n && !rc; i++) {
        unit *p = &pts.u[i];
        const rk_cell *cell = p->cell;
        char level[256], rest[1024], line[1400], fr[32];
        fmt_fraction(fr, sizeof fr, cell->fraction);
        const char *arm = c->a.arm ? "" : cell->arm, *sp = c->a.arm ? "" : " ";
        if (by_aug) {
            snprintf(level, sizeof level, "%s", cell->aug);
            snprintf(rest, sizeof rest, "%s", cell->variant->text);
            snprintf(line, sizeof line, "%s%s%s", arm, sp, fr);
        } else if (by_fraction) {
            snprintf(level, sizeof level, "%s", fr);
            p->level_num = cell->fraction;
            snprintf(rest, sizeof rest, "%s", cell->variant->text);
            snprintf(line, sizeof line, "%s%s%s", arm, sp, cell->aug);
        } else {
            const char *v = rk_result_param(first_trial(r, cell), c->axis);
            if (!v) continue; /* a cell without the axis (scratch has no selftrain.alpha) */
            snprintf(level, sizeof level, "%s", v);
            char *end;
            p->level_num = strtod(v, &end);
            if (end == v || *end) p->level_num = NAN;
            rk_variant_format(cell->variant, c->axis, rest, sizeof rest); /* without the axis */
            snprintf(line, sizeof line, "%s%s%s %s", arm, sp, cell->aug, fr);
        }
        if (*rest) {
            size_t u = strlen(line);
            snprintf(line + u, sizeof line - u, " [%s]", rest);
        }
        p->level = strdup(level);
        p->line = strdup(line);
        if (!p->level || !p->line) rc = oom(err);
    }
    /* drop the points without a level */
    for (size_t i = 0; i < pts.n; i++) {
        if (pts.u[i].level && pts.u[i].line) {
            pts.u[k++] = pts.u[i];
            continue;
        }
        unit *p = &pts.u[i];
        free(p->label), free(p->note), free(p->line), free(p->level);
        rk_seeded_free(&p->v);
    }
    pts.n = k;
    if (rc) {
        units_free(&pts);
        return rc;
    }
    /* insertion sort: a few dozen points, and it keeps equal points in cell order */
    level_ctx x = {.r = r, .by_aug = by_aug};
    for (size_t i = 1; i < pts.n; i++)
        for (size_t j = i; j > 0 && point_cmp(&pts.u[j - 1], &pts.u[j], &x) > 0; j--) {
            unit t = pts.u[j];
            pts.u[j] = pts.u[j - 1];
            pts.u[j - 1] = t;
        }
    for (size_t i = 0; i < pts.n && !rc;) {
        size_t j = i;
        while (j < pts.n && !strcmp(pts.u[j].line, pts.u[i].line)) j++;
        size_t m = j - i;
        for (size_t s = 0; s + 1 < m && !rc; s++) {
            const unit *lo = &pts.u[i + (c->compare_ends ? 0 : s)];
            const unit *hi = &pts.u[i + (c->compare_ends ? m - 1 : s + 1)];
            unit *u = units_add(out);
            if (!u) {
                rc = oom(err);
                break;
            }
            char buf[1700];
            snprintf(buf, sizeof buf, "%s: %s -> %s", lo->line, lo->level, hi->level);
            u->label = strdup(buf);
            if (!u->label) rc = oom(err);
            for (size_t q = 0; q < lo->nrest; q++) rest_add(u, lo->rest[q]);
            for (size_t q = 0; q < hi->nrest; q++) rest_add(u, hi->rest[q]);
            if (!rc && (lo->note || hi->note)) {
                u->note = strdup(lo->note ? lo->note : hi->note);
                if (!u->note) rc = oom(err);
            } else if (!rc) {
                rc = rk_seeded_diff(&hi->v, &lo->v, &u->v, err);
            }
            if (c->compare_ends) break;
        }
        if (m == 1 && !rc) {
            unit *u = units_add(out);
            char buf[1700];
            snprintf(buf, sizeof buf, "%s: only %s", pts.u[i].line, pts.u[i].level);
            if (!u || !(u->label = strdup(buf)) || !(u->note = strdup("one level: nothing to compare")))
                rc = oom(err);
        }
        i = j;
    }
    units_free(&pts);
    return rc;
}

static int baseline_units(const rk_claim_spec *c, const rk_results *r, units *us, rk_err *err)
{
    const rk_baseline *b = c->baseline;
    for (size_t i = 0; i < b->ncells; i++) {
        const rk_baseline_cell *bc = &b->cells[i];
        if (!in_slice(c, bc->aug, bc->fraction)) continue;
        int armok = c->narms == 0;
        for (size_t k = 0; k < c->narms && !armok; k++) armok = !strcmp(c->arms[k].arm, bc->arm);
        if (!armok) continue;
        const rk_cell *cur = rk_results_cell(r, bc->arm, bc->aug, bc->fraction, bc->variant);
        for (int s = 0; s < RK_COCO_NSTATS; s++) {
            if (isnan(b->tol[s]) || (c->stat >= 0 && s != c->stat) || isnan(bc->mean[s])) continue;
            unit *u = units_add(us);
            if (!u) return oom(err);
            char fr[32], buf[1200];
            fmt_fraction(fr, sizeof fr, bc->fraction);
            snprintf(buf, sizeof buf, "%s %s %s%s%s%s %s", bc->arm, bc->aug, fr,
                     *bc->variant ? " [" : "", bc->variant, *bc->variant ? "]" : "",
                     rk_coco_stat_name(s));
            if (!(u->label = strdup(buf))) return oom(err);
            u->fixed = 1;
            if (!cur || !isfinite(cur->stat[s].mean)) {
                u->verdict = RK_INCONCLUSIVE;
                u->s.mean = u->s.std = u->s.ci_low = u->s.ci_high = u->estimate = NAN;
                if (!(u->note = strdup("cell not in the results"))) return oom(err);
                continue;
            }
            const rk_summary *now = &cur->stat[s];
            double d = now->mean - bc->mean[s], tol = b->tol[s];
            if (isfinite(bc->std[s]) && bc->n > 0 && now->n > 0) {
                double t2 = b->k * bc->std[s] * sqrt(1.0 / (double)bc->n + 1.0 / (double)now->n);
                if (t2 > tol) tol = t2;
            }
            u->s = *now;
            u->s.mean = u->estimate = d;
            u->s.ci_low = now->ci_low - bc->mean[s];
            u->s.ci_high = now->ci_high - bc->mean[s];
            u->verdict = fabs(d) <= tol ? RK_HOLDS : RK_FAILS;
            /* COCO stats are fractions: the note speaks AP points, as the report does */
            snprintf(buf, sizeof buf, "moved %+.2f points from %.2f (tolerance %.2f)", 100 * d,
                     100 * bc->mean[s], 100 * tol);
            if (!(u->note = strdup(buf))) return oom(err);
        }
    }
    return RK_OK;
}

static int stable_units(const rk_claim_spec *c, const rk_results *r, units *us, rk_err *err)
{
    size_t n = 0, diverged = 0, unfinished = 0, finished = 0;
    const rk_result_trial *first = NULL;
    for (size_t i = 0; i < r->n; i++) {
        const rk_result_trial *t = &r->t[i];
        if (!in_slice(c, t->aug, t->fraction)) continue;
        int armok = c->narms == 0;
        for (size_t k = 0; k < c->narms && !armok; k++) armok = trial_match(t, &c->arms[k]);
        if (!armok) continue;
        n++;
        /* the trainer fails a trial whose loss is not finite with RK_EDIVERGED and the store
         * records the code (for failures older than that: src/store/schema.c, version 2) */
        if (t->status == RK_TRIAL_FAILED && t->error_code == RK_EDIVERGED) {
            if (!diverged++) first = t;
        } else if (t->status == RK_TRIAL_FINISHED) {
            finished++;
        } else {
            unfinished++;
        }
    }
    unit *u = units_add(us);
    if (!u) return oom(err);
    char buf[900];
    snprintf(buf, sizeof buf, "%zu trials", n);
    if (!(u->label = strdup(buf))) return oom(err);
    u->fixed = 1;
    u->s = NO_SUMMARY;
    u->s.n = n;
    u->estimate = (double)diverged;
    if (diverged) {
        u->verdict = RK_FAILS;
        snprintf(buf, sizeof buf, "%zu of %zu diverged, e.g. trial %lld (%s %s %g seed %lld): %.300s",
                 diverged, n, (long long)first->id, first->arm, first->aug, first->fraction,
                 (long long)first->seed, first->error ? first->error : "");
    } else if (!finished || unfinished) {
        u->verdict = RK_INCONCLUSIVE;
        snprintf(buf, sizeof buf, "%zu of %zu trials not finished", n - finished, n);
    } else {
        u->verdict = RK_HOLDS;
        snprintf(buf, sizeof buf, "all %zu finished", n);
    }
    return (u->note = strdup(buf)) ? RK_OK : oom(err);
}

/* ---- judging ---- */

/* How far inside the region the interval is (positive inside, for picking the closest
 * unit of a claim that holds). */
static double margin(const rk_summary *s, double lo, double hi)
{
    double m = INFINITY;
    if (!isnan(lo)) m = fmin(m, s->ci_low - lo);
    if (!isnan(hi)) m = fmin(m, hi - s->ci_high);
    return m;
}

/* "rests on ...: scratch S4 20% (2 of 3 trials hit the maximum of 40000 steps)" for each
 * budget-limited cell u rests on, into out. */
static void budget_note(const unit *u, char *out, size_t cap)
{
    size_t used = (size_t)snprintf(out, cap, "rests on a cell that hit its maximum budget (not "
                                   "converged): ");
    int k = 0;
    for (size_t i = 0; i < u->nrest && used < cap; i++) {
        const rk_cell *c = u->rest[i];
        if (!c->budget_limited) continue;
        char fr[32], steps[48] = "";
        fmt_fraction(fr, sizeof fr, c->fraction);
        if (c->max_steps > 0) snprintf(steps, sizeof steps, " of %lld steps", (long long)c->max_steps);
        used += (size_t)snprintf(out + used, cap - used, "%s%s %s %s%s%s%s (%zu of %zu trials hit "
                                 "the maximum%s)", k++ ? "; " : "", c->arm, c->aug, fr,
                                 *c->variant->text ? " [" : "", c->variant->text,
                                 *c->variant->text ? "]" : "", c->budget_limited, c->n, steps);
    }
}

/* The unit's verdict at confidence conf before any correction, its p-value against the
 * region and its minimal detectable effect. */
static int judge(unit *u, const rk_claim_spec *c, double conf, rk_err *err)
{
    u->p = u->p_adj = u->mde = NAN;
    if (u->fixed) return RK_OK;
    double lo = c->min, hi = c->max;
    rk_summarize(u->v.v, u->v.n, conf, &u->s);
    u->estimate = u->s.mean;
    u->mde = rk_mde(&u->s, 1 - conf, RK_MDE_POWER);
    for (size_t i = 0; i < u->nrest; i++) u->budget |= u->rest[i]->budget_limited > 0;
    char buf[1400];
    if (u->note) {
        u->verdict = RK_INCONCLUSIVE;
        return RK_OK;
    }
    if (u->s.n < 2) {
        u->verdict = RK_INCONCLUSIVE;
        snprintf(buf, sizeof buf, u->s.n ? "n = 1 seed: no interval" : "no seeds to pair");
        return (u->note = strdup(buf)) ? RK_OK : oom(err);
    }
    u->p = rk_region_p(&u->s, lo, hi);
    if (u->budget && c->budget == RK_BUDGET_INCONCLUSIVE) {
        /* not tested: its numbers are shown, but a cell that did not converge decides
         * nothing (and the decision not to test comes from the stop reasons, not the data) */
        u->verdict = RK_INCONCLUSIVE;
        budget_note(u, buf, sizeof buf);
        return (u->note = strdup(buf)) ? RK_OK : oom(err);
    }
    if ((isnan(lo) || u->s.ci_low > lo) && (isnan(hi) || u->s.ci_high < hi)) {
        u->verdict = RK_HOLDS;
        return RK_OK;
    }
    if ((!isnan(lo) && u->s.ci_high < lo) || (!isnan(hi) && u->s.ci_low > hi)) {
        u->verdict = RK_FAILS;
        return RK_OK;
    }
    u->verdict = RK_INCONCLUSIVE;
    /* which end, not its value: the interval is the unit's own numbers */
    double b = !isnan(lo) && u->s.ci_low <= lo ? lo : hi;
    snprintf(buf, sizeof buf, "interval straddles %s", b == 0 ? "0"
             : b == lo ? "the claimed min" : "the claimed max");
    return (u->note = strdup(buf)) ? RK_OK : oom(err);
}

/* The claim's correction over its k units: adjusted p-values, and (Holm) units outside the
 * region at c that do not survive the step-down become inconclusive. alpha = 1 − c. */
static int correct(units *us, const rk_claim_spec *c, double alpha, rk_err *err)
{
    size_t k = us->n;
    if (!k || us->u[0].fixed) return RK_OK; /* baseline and stable claims: not tests */
    double *p = malloc(k * sizeof *p), *adj = malloc(k * sizeof *adj);
    if (!p || !adj) {
        free(p), free(adj);
        return oom(err);
    }
    for (size_t i = 0; i < k; i++) {
        const unit *u = &us->u[i];
        /* a unit left untested (budget-limited) keeps its p for the reader, not for Holm */
        p[i] = u->budget && c->budget == RK_BUDGET_INCONCLUSIVE ? NAN : u->p;
    }
    if (c->correction == RK_CORR_HOLM) rk_holm_adjust(p, k, adj);
    for (size_t i = 0; i < k; i++)
        adj[i] = c->correction == RK_CORR_HOLM ? adj[i]
                 : c->correction == RK_CORR_BONFERRONI ? fmin(1, (double)k * p[i]) : p[i];
    int rc = RK_OK;
    for (size_t i = 0; i < k && !rc; i++) {
        unit *u = &us->u[i];
        u->p_adj = adj[i];
        if (c->correction != RK_CORR_HOLM || u->verdict != RK_FAILS || adj[i] < alpha) continue;
        char buf[300];
        snprintf(buf, sizeof buf, "outside the region at %g %% (p = %.3g), but not after Holm's "
                 "correction over %zu units (adjusted p = %.3g)", 100 * (1 - alpha), u->p, k,
                 adj[i]);
        u->verdict = RK_INCONCLUSIVE;
        free(u->note);
        if (!(u->note = strdup(buf))) rc = oom(err);
    }
    free(p), free(adj);
    return rc;
}

static const char *correction_text(rk_correction c)
{
    return c == RK_CORR_HOLM ? " (Holm)" : c == RK_CORR_BONFERRONI ? " (Bonferroni)" : "";
}

static int fill_result(rk_check_result *res, const rk_claim_spec *c, units *us, double conf,
                       rk_err *err)
{
    size_t nh = 0, nf = 0, ni = 0, nb = 0;
    const unit *fail = NULL, *inc = NULL, *close = NULL;
    double best = INFINITY;
    for (size_t i = 0; i < us->n; i++) {
        const unit *u = &us->u[i];
        nb += u->budget;
        if (u->verdict == RK_FAILS && !nf++) fail = u;
        if (u->verdict == RK_INCONCLUSIVE && !ni++) inc = u;
        if (u->verdict == RK_HOLDS) {
            nh++;
            double m = margin(&u->s, c->min, c->max);
            if (!close || m < best) close = u, best = m;
        }
    }
    const unit *d = fail ? fail : inc ? inc : close;
    res->verdict = nf ? RK_FAILS : ni || !us->n ? RK_INCONCLUSIVE : RK_HOLDS;
    res->confidence = conf;
    res->correction = c->correction;
    res->nbudget = nb;
    res->min = c->min;
    res->max = c->max;
    res->s = d ? d->s : NO_SUMMARY;
    res->estimate = d ? d->estimate : NAN;
    res->mde = d ? d->mde : NAN;
    char buf[2000], pv[96] = "";
    size_t used = 0;
    if (d && isfinite(d->p) && c->correction == RK_CORR_NONE)
        snprintf(pv, sizeof pv, ", p = %.3g", d->p);
    else if (d && isfinite(d->p))
        snprintf(pv, sizeof pv, ", p = %.3g, adjusted %.3g", d->p, d->p_adj);
    /* The deciding unit's estimate and interval are the result's own fields (printed beside
     * the reason, in the claim's units); the reason says which unit and why, with no number in
     * a unit, so that a report can show it beside numbers in AP points. */
    if (!us->n)
        used = (size_t)snprintf(buf, sizeof buf, "no cell of the study falls in the claim's slice");
    else if (nf)
        used = (size_t)snprintf(buf, sizeof buf, "fails in %zu of %zu units%s; first: %s (n = %zu%s)"
                                "%s%s", nf, us->n, correction_text(c->correction), d->label, d->s.n,
                                pv, d->note ? ": " : "", d->note ? d->note : "");
    else if (ni)
        used = (size_t)snprintf(buf, sizeof buf, "%zu of %zu units inconclusive; first: %s: %s", ni,
                                us->n, d->label, d->note ? d->note : "");
    else if (us->n == 1 && d->note)
        used = (size_t)snprintf(buf, sizeof buf, "holds: %s: %s", d->label, d->note);
    else if (d->note)
        used = (size_t)snprintf(buf, sizeof buf, "holds in all %zu units; closest: %s: %s", us->n,
                                d->label, d->note);
    else
        used = (size_t)snprintf(buf, sizeof buf, "holds in %s%zu unit%s%s %s (n = %zu)",
                                us->n > 1 ? "all " : "", us->n, us->n > 1 ? "s" : "",
                                us->n > 1 ? "; closest:" : ":", d->label, d->s.n);
    if (used >= sizeof buf) used = sizeof buf - 1;
    if (nb && used < sizeof buf)
        used += (size_t)snprintf(buf + used, sizeof buf - used, c->budget == RK_BUDGET_IGNORE
                                 ? "; judged although %zu of %zu units rest on cells that hit "
                                   "their maximum budget (budget_limited = ignore)"
                                 : "; %zu of %zu units rest on cells that hit their maximum "
                                   "budget: inconclusive there (budget_limited = ignore judges "
                                   "them)", nb, us->n);
    /* few seeds: a t interval on fewer than 4 rests on a rough estimate of the spread, so a
     * verdict drawn from it is stated as indicative, never as decisive */
    size_t nmin = 0;
    for (size_t i = 0; i < us->n; i++) {
        const unit *u = &us->u[i];
        if (u->fixed || u->verdict != res->verdict || res->verdict == RK_INCONCLUSIVE) continue;
        if (!nmin || u->s.n < nmin) nmin = u->s.n;
    }
    res->nmin = nmin;
    if (nmin && nmin < 4 && used < sizeof buf)
        snprintf(buf + used, sizeof buf - used, "; only n = %zu seeds (fewer than 4): indicative",
                 nmin);
    if (!(res->reason = strdup(buf))) return oom(err);
    res->units = calloc(us->n + 1, sizeof *res->units);
    if (!res->units) return oom(err);
    for (size_t i = 0; i < us->n; i++) {
        rk_check_unit *o = &res->units[i];
        unit *u = &us->u[i];
        o->label = u->label, u->label = NULL;
        o->note = u->note, u->note = NULL;
        o->verdict = u->verdict;
        o->s = u->s;
        o->estimate = u->estimate;
        o->p = u->p;
        o->p_adjusted = u->p_adj;
        o->mde = u->mde;
        o->budget_limited = u->budget;
        res->nunits++;
    }
    return RK_OK;
}

/* A claim's stat fits the study's task: mIoU needs segmentation trials (model.task =
 * segment; their mIoU is the primary stat), and a study of segmentation trials only has no
 * COCO stat to claim about (a mixed study, task an axis, is left to the claim's slice). */
static int check_task(const rk_claim_spec *c, const rk_results *r, rk_err *err)
{
    if (c->type == RK_CLAIM_STABLE || c->stat < 0) return RK_OK;
    size_t seg = 0, fin = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->t[i].status != RK_TRIAL_FINISHED) continue;
        const char *task = rk_result_param(&r->t[i], "model.task");
        fin++, seg += task && !strcmp(task, "segment");
    }
    if (c->miou && seg == 0)
        return rk_errf(err, RK_EINVAL, "%s:%d: [claim.%s] stat = mIoU: study %s has no "
                       "segmentation trials (model.task = segment)", c->file, c->line_stat,
                       c->name, r->study);
    if (!c->miou && fin > 0 && seg == fin)
        return rk_errf(err, RK_EINVAL, "%s:%d: [claim.%s] stat = %s: study %s holds segmentation "
                       "trials only (model.task = segment), whose metric is mIoU: set stat = mIoU",
                       c->file, c->line_stat ? c->line_stat : c->line, c->name,
                       rk_coco_stat_name(c->stat), r->study);
    return RK_OK;
}

static int run_one(const rk_claim_spec *c, const rk_results *r, rk_check_result *res, rk_err *err)
{
    memset(res, 0, sizeof *res);
    res->type = c->type;
    res->s = NO_SUMMARY;
    res->estimate = res->mde = NAN;
    res->correction = c->correction;
    if (!(res->name = strdup(c->name))) return oom(err);
    if (c->description && !(res->description = strdup(c->description))) return oom(err);
    gap g;
    int rc = check_task(c, r, err);
    if (!rc && c->type != RK_CLAIM_BASELINE && c->type != RK_CLAIM_STABLE)
        rc = check_data(c, r, &g, err);
    if (c->type == RK_CLAIM_BASELINE || c->type == RK_CLAIM_STABLE) {
        memset(&g, 0, sizeof g);
        for (size_t i = 0; i < c->narms && !rc; i++)
            rc = check_sel(c, r, &c->arms[i], c->line_arm, "arm", &g, err);
        if (!rc && g.missing && !c->missing_inconclusive)
            rc = rk_errf(err, RK_EINVAL, "%s (or set if_missing = inconclusive)", g.msg);
    }
    if (rc) return rc;
    if (g.missing) {
        res->verdict = RK_INCONCLUSIVE;
        res->confidence = r->confidence;
        res->min = c->min, res->max = c->max;
        char buf[1100];
        snprintf(buf, sizeof buf, "missing data: %s", g.msg);
        return (res->reason = strdup(buf)) ? RK_OK : oom(err);
    }
    units us = {0};
    switch (c->type) {
    case RK_CLAIM_DELTA:
    case RK_CLAIM_VALUE: rc = cell_units(c, r, &us, err); break;
    case RK_CLAIM_TREND: rc = trend_units(c, r, &us, err); break;
    case RK_CLAIM_BASELINE: rc = baseline_units(c, r, &us, err); break;
    case RK_CLAIM_STABLE: rc = stable_units(c, r, &us, err); break;
    }
    double conf = r->confidence;
    if (c->correction == RK_CORR_BONFERRONI && us.n > 1) conf = 1 - (1 - conf) / (double)us.n;
    for (size_t i = 0; i < us.n && !rc; i++) rc = judge(&us.u[i], c, conf, err);
    if (!rc) rc = correct(&us, c, 1 - r->confidence, err);
    if (!rc) rc = fill_result(res, c, &us, conf, err);
    units_free(&us);
    return rc;
}

void rk_check_results_free(rk_check_result *res, size_t n)
{
    if (!res) return;
    for (size_t i = 0; i < n; i++) {
        free(res[i].name), free(res[i].description), free(res[i].reason);
        for (size_t j = 0; j < res[i].nunits; j++) free(res[i].units[j].label), free(res[i].units[j].note);
        free(res[i].units);
    }
    free(res);
}

int rk_check_run(const rk_claimset *s, const rk_results *r, rk_check_result **out, size_t *n,
                 rk_err *err)
{
    *out = NULL;
    *n = 0;
    rk_check_result *res = calloc(s->n + 1, sizeof *res);
    if (!res) return oom(err);
    int rc = RK_OK;
    size_t k = 0;
    for (; k < s->n && !rc; k++) rc = run_one(&s->c[k], r, &res[k], err);
    if (rc) {
        rk_check_results_free(res, k);
        return rc;
    }
    *out = res;
    *n = s->n;
    return RK_OK;
}

int rk_check_exit_code(const rk_check_result *res, size_t n)
{
    int inc = 0;
    for (size_t i = 0; i < n; i++) {
        if (res[i].verdict == RK_FAILS) return 1;
        inc |= res[i].verdict == RK_INCONCLUSIVE;
    }
    return inc ? 3 : 0;
}

/* ---- JSON ---- */

static void add_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

static cJSON *num_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static cJSON *result_json(const rk_check_result *c, int with_description)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", c->name);
    cJSON_AddStringToObject(o, "type", rk_claim_type_name(c->type));
    if (with_description && c->description) cJSON_AddStringToObject(o, "description", c->description);
    cJSON_AddStringToObject(o, "verdict", rk_verdict_name(c->verdict));
    add_num(o, "estimate", c->estimate);
    cJSON *ci = cJSON_AddArrayToObject(o, "ci");
    cJSON_AddItemToArray(ci, num_or_null(c->s.ci_low));
    cJSON_AddItemToArray(ci, num_or_null(c->s.ci_high));
    cJSON_AddNumberToObject(o, "n", (double)c->s.n);
    cJSON_AddNumberToObject(o, "n_min", (double)c->nmin);
    add_num(o, "mde", c->mde);
    add_num(o, "min", c->min);
    add_num(o, "max", c->max);
    add_num(o, "confidence", c->confidence);
    cJSON_AddStringToObject(o, "correction", rk_correction_name(c->correction));
    cJSON_AddNumberToObject(o, "budget_limited_units", (double)c->nbudget);
    cJSON_AddStringToObject(o, "reason", c->reason ? c->reason : "");
    cJSON *us = cJSON_AddArrayToObject(o, "units");
    for (size_t i = 0; i < c->nunits; i++) {
        const rk_check_unit *u = &c->units[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "cell", u->label);
        cJSON_AddStringToObject(x, "verdict", rk_verdict_name(u->verdict));
        add_num(x, "estimate", u->estimate);
        cJSON *uci = cJSON_AddArrayToObject(x, "ci");
        cJSON_AddItemToArray(uci, num_or_null(u->s.ci_low));
        cJSON_AddItemToArray(uci, num_or_null(u->s.ci_high));
        cJSON_AddNumberToObject(x, "n", (double)u->s.n);
        add_num(x, "p", u->p);
        add_num(x, "p_adjusted", u->p_adjusted);
        add_num(x, "mde", u->mde);
        if (u->budget_limited) cJSON_AddTrueToObject(x, "budget_limited");
        if (u->note) cJSON_AddStringToObject(x, "note", u->note);
        cJSON_AddItemToArray(us, x);
    }
    return o;
}

char *rk_check_json(const char *study, double confidence, const rk_check_result *res, size_t n)
{
    cJSON *o = cJSON_CreateObject();
    size_t cnt[3] = {0};
    for (size_t i = 0; i < n; i++) cnt[res[i].verdict]++;
    cJSON_AddStringToObject(o, "study", study);
    cJSON_AddNumberToObject(o, "confidence", confidence);
    cJSON_AddNumberToObject(o, "exit", rk_check_exit_code(res, n));
    cJSON_AddNumberToObject(o, "holds", (double)cnt[RK_HOLDS]);
    cJSON_AddNumberToObject(o, "fails", (double)cnt[RK_FAILS]);
    cJSON_AddNumberToObject(o, "inconclusive", (double)cnt[RK_INCONCLUSIVE]);
    cJSON *a = cJSON_AddArrayToObject(o, "claims");
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(a, result_json(&res[i], 0));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

int rk_check_record(rk_store *db, const char *study, const rk_check_result *res, size_t n,
                    rk_err *err)
{
    for (size_t i = 0; i < n; i++) {
        cJSON *d = result_json(&res[i], 1);
        char *details = d ? cJSON_PrintUnformatted(d) : NULL;
        cJSON_Delete(d);
        if (!details) return oom(err);
        rk_claim c = {.study = (char *)study, .name = res[i].name, .estimate = res[i].estimate,
                      .ci_low = res[i].s.ci_low, .ci_high = res[i].s.ci_high,
                      .n = (int64_t)res[i].s.n, .details_json = details};
        snprintf(c.verdict, sizeof c.verdict, "%s", rk_verdict_name(res[i].verdict));
        int rc = rk_store_claim_put(db, &c, err);
        free(details);
        if (rc) return rc;
    }
    return RK_OK;
}
