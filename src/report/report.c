/* The report folder: the plots (plots.c), then the same tables written three ways — cells.csv
 * and deltas.csv for programs, report.md for a repository, index.html for a browser (one
 * self-contained file: styles inline, the SVG plots inlined, no external assets). Besides
 * AP, deltas (against scratch, and against the control of an arm that has one) and compute,
 * a convergence section lists the cells that hit their maximum budget under the plateau
 * schedule and says whether each fixed-budget cell's dev AP had stopped improving within
 * its budget (report.h), or that it was not measured. Plots are optional: without a
 * working gnuplot the tables, CSV and Markdown are written all the same, with a note.
 *
 * Tables are built once as rows of strings (tbl) and rendered to Markdown and HTML, so the
 * two can never disagree. Everything written is a function of the database alone: no
 * timestamps, no absolute paths beyond the database path the caller gave. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rethink/arms.h"
#include "report_internal.h"

static int oom(rk_err *err) { return rk_errf(err, RK_ENOMEM, "out of memory"); }

/* ---- number formatting ---- */

static void fmt_ap(char *out, size_t cap, const rk_summary *s)
{
    if (!s || s->n == 0 || !isfinite(s->mean)) snprintf(out, cap, "—");
    else if (!isfinite(s->ci_low)) snprintf(out, cap, "%.2f (n = 1)", 100 * s->mean);
    else snprintf(out, cap, "%.2f ± %.2f", 100 * s->mean, 100 * (s->ci_high - s->mean));
}

static void fmt_delta(char *out, size_t cap, const rk_summary *s)
{
    if (!s || s->n == 0 || !isfinite(s->mean)) snprintf(out, cap, "—");
    else if (!isfinite(s->ci_low)) snprintf(out, cap, "%+.2f (n = %zu)", 100 * s->mean, s->n);
    else snprintf(out, cap, "%+.2f [%+.2f, %+.2f]", 100 * s->mean, 100 * s->ci_low, 100 * s->ci_high);
}

/* ---- tables ---- */

typedef struct {
    char *title, *caption;
    size_t ncols, nrows; /* nrows excludes the header */
    char **cell;         /* (nrows + 1) × ncols, row 0 the header */
} tbl;

typedef struct {
    tbl *t;
    size_t n;
    int oom;
} tables;

static tbl *tbl_new(tables *ts, const char *title, const char *caption, size_t ncols)
{
    tbl *v = realloc(ts->t, (ts->n + 1) * sizeof *v);
    if (!v) {
        ts->oom = 1;
        return NULL;
    }
    ts->t = v;
    tbl *t = &v[ts->n++];
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    t->title = strdup(title);
    t->caption = strdup(caption ? caption : "");
    t->cell = calloc(ncols, sizeof *t->cell);
    if (!t->title || !t->caption || !t->cell) ts->oom = 1;
    return t;
}

/* Sets column k of the last row (row 0 = header before any tbl_row). */
static void tbl_set(tables *ts, tbl *t, size_t k, const char *s)
{
    if (!t || !t->cell) return;
    char **c = &t->cell[t->nrows * t->ncols + k];
    free(*c);
    if (!(*c = strdup(s))) ts->oom = 1;
}

static void tbl_row(tables *ts, tbl *t)
{
    if (!t || !t->cell) return;
    char **v = realloc(t->cell, (t->nrows + 2) * t->ncols * sizeof *v);
    if (!v) {
        ts->oom = 1;
        return;
    }
    t->cell = v;
    t->nrows++;
    memset(&v[t->nrows * t->ncols], 0, t->ncols * sizeof *v);
}

static void tables_free(tables *ts)
{
    for (size_t i = 0; i < ts->n; i++) {
        tbl *t = &ts->t[i];
        if (t->cell)
            for (size_t k = 0; k < (t->nrows + 1) * t->ncols; k++) free(t->cell[k]);
        free(t->cell), free(t->title), free(t->caption);
    }
    free(ts->t);
    memset(ts, 0, sizeof *ts);
}

static const char *tcell(const tbl *t, size_t row, size_t col)
{
    const char *s = t->cell[row * t->ncols + col];
    return s ? s : "";
}

/* ---- building the tables ---- */

typedef void (*cell_fmt)(const rk_results *r, const rk_cell *c, char *out, size_t cap);

static void ap_of(const rk_results *r, const rk_cell *c, char *out, size_t cap)
{
    (void)r;
    fmt_ap(out, cap, c ? &c->stat[0] : NULL);
}

static void delta_against(const rk_results *r, const rk_cell *c, const rk_cell *b, char *out,
                          size_t cap)
{
    rk_summary d;
    rk_err e = {0};
    if (!b || rk_paired_delta(r, c, b, 0, &d, &e)) fmt_delta(out, cap, NULL);
    else fmt_delta(out, cap, &d);
}

static void delta_of(const rk_results *r, const rk_cell *c, char *out, size_t cap)
{
    delta_against(r, c, c ? rk_results_partner(r, c, "scratch") : NULL, out, cap);
}

static void control_delta_of(const rk_results *r, const rk_cell *c, char *out, size_t cap)
{
    delta_against(r, c, c ? rk_results_control(r, c) : NULL, out, cap);
}

/* Which series a table shows. */
typedef int (*series_keep)(const rk_results *r, const char *arm);

static int keep_all(const rk_results *r, const char *arm) { return (void)r, (void)arm, 1; }
static int keep_not_scratch(const rk_results *r, const char *arm)
{
    return (void)r, strcmp(arm, "scratch") != 0;
}
/* arms whose control the study has (selftrain when it has continue) */
static int keep_controlled(const rk_results *r, const char *arm)
{
    rk_arm a = rk_arm_parse(arm);
    if (a == RK_ARM_NONE || rk_arms[a].control == RK_ARM_NONE) return 0;
    for (size_t i = 0; i < r->narms; i++)
        if (!strcmp(r->arms[i], rk_arm_name(rk_arms[a].control))) return 1;
    return 0;
}

static void cpu_of(const rk_results *r, const rk_cell *c, char *out, size_t cap)
{
    (void)r;
    if (!c || !isfinite(c->cpu.mean)) snprintf(out, cap, "—");
    else snprintf(out, cap, "%.3g s", c->cpu.mean);
}

static void cpu_amortised_of(const rk_results *r, const rk_cell *c, char *out, size_t cap)
{
    (void)r;
    if (!c || !isfinite(c->cpu_amortised.mean)) snprintf(out, cap, "—");
    else snprintf(out, cap, "%.3g s", c->cpu_amortised.mean);
}

/* One table per fraction: a row per series, a column per aug. */
static void by_fraction_tables(tables *ts, const rk_results *r, const rk_rp_series *ser,
                               size_t nser, const char *what, const char *caption, cell_fmt fmt,
                               series_keep keep)
{
    for (size_t fi = 0; fi < r->nfractions; fi++) {
        char title[300];
        snprintf(title, sizeof title, "%s — %g %% of the labelled data", what, 100 * r->fractions[fi]);
        tbl *t = tbl_new(ts, title, caption, r->naugs + 1);
        if (!t) return;
        tbl_set(ts, t, 0, "arm");
        for (size_t a = 0; a < r->naugs; a++) tbl_set(ts, t, a + 1, r->augs[a]);
        for (size_t k = 0; k < nser; k++) {
            if (!keep(r, ser[k].arm)) continue;
            char nm[600], v[128];
            rk_rp_series_name(&ser[k], nm, sizeof nm);
            tbl_row(ts, t);
            tbl_set(ts, t, 0, nm);
            for (size_t a = 0; a < r->naugs; a++) {
                const rk_cell *c = rk_results_cell(r, ser[k].arm, r->augs[a], r->fractions[fi],
                                                   ser[k].variant);
                fmt(r, c, v, sizeof v);
                tbl_set(ts, t, a + 1, v);
            }
        }
    }
}

/* ---- the paper's comparisons ----
 * Its tables as deltas (PAPER.md §2 and §6: COCO AP points of single runs), each row one
 * comparison of two arms at S4, ours beside the paper's: the scales differ (laptop-scale
 * scenes vs COCO), so a reader compares sign and order, not size. */

typedef struct {
    const char *label, *a, *b; /* a − b */
    double paper[3];           /* at the table's fractions */
} paper_row;

typedef struct {
    const char *title, *needs; /* needs: an arm the study must have for the table to show */
    double fractions[3];
    size_t ncols, nrows;
    paper_row rows[5];
} paper_table;

static const paper_table PAPER_TABLES[] = {
    {"Table 3 (S4): pre-training, self-training and a stronger backbone", NULL,
     {0.2, 0.5, 1.0}, 3, 5,
     {{"self-training over scratch", "selftrain", "scratch", {3.4, 1.8, 1.3}},
      {"pre-training over scratch", "pretrain", "scratch", {2.6, -0.8, -1.0}},
      {"self-training over pre-training", "pretrain+selftrain", "pretrain", {2.7, 1.7, 1.3}},
      {"the stronger backbone over the plain one (ImageNet++)", "pretrain++", "pretrain",
       {2.6, 1.1, 0.5}},
      {"self-training over the stronger backbone", "pretrain+++selftrain", "pretrain++",
       {1.3, 1.6, 0.8}}}},
    {"Table 4 (S4, 100 %): self-supervised pre-training (SimCLR)", "simclr", {1.0}, 1, 4,
     {{"supervised pre-training over scratch", "pretrain", "scratch", {-0.7}},
      {"SimCLR pre-training over scratch", "simclr", "scratch", {-0.7}},
      {"SimCLR over supervised pre-training", "simclr", "pretrain", {0.0}},
      {"self-training over scratch", "selftrain", "scratch", {0.8}}}},
    {"Table 7 (S4, 20 %): joint training", "joint", {0.2}, 1, 3,
     {{"self-training over scratch", "selftrain", "scratch", {3.4}},
      {"joint training over scratch", "joint", "scratch", {2.9}},
      {"pre-training, joint training and self-training over scratch",
       "pretrain+joint+selftrain", "scratch", {4.4}}}},
};

static int has_arm(const rk_results *r, const char *arm)
{
    for (size_t i = 0; i < r->narms; i++)
        if (!strcmp(r->arms[i], arm)) return 1;
    return 0;
}

/* The tables whose comparisons the study has at S4 (a row per comparison and variant with
 * at least one cell of both arms); none for a segmentation study (the paper's are AP). */
static void paper_tables(tables *ts, const rk_results *r)
{
    if (r->metric && strcmp(r->metric, "AP")) return;
    char cap[600];
    snprintf(cap, sizeof cap, "Ours: ΔAP ×100, the first arm minus the second in the same cell, "
             "paired by seed: mean [%g %% CI]. Paper: its COCO AP points (single runs, no "
             "interval; PAPER.md). The scales differ, so compare sign and order, not size; "
             "the claims files say which of these are tested.", 100 * r->confidence);
    size_t nv = r->nvariants ? r->nvariants : 1;
    for (size_t ti = 0; ti < sizeof PAPER_TABLES / sizeof *PAPER_TABLES; ti++) {
        const paper_table *p = &PAPER_TABLES[ti];
        if (p->needs && !has_arm(r, p->needs)) continue;
        tbl *t = NULL;
        for (size_t ri = 0; ri < p->nrows; ri++)
            for (size_t v = 0; v < nv; v++) {
                const paper_row *pr = &p->rows[ri];
                const char *vt = r->nvariants ? r->variants[v] : NULL;
                const rk_cell *c[3] = {0}, *b[3] = {0};
                int any = 0;
                for (size_t k = 0; k < p->ncols; k++) {
                    c[k] = rk_results_cell(r, pr->a, "S4", p->fractions[k], vt);
                    b[k] = c[k] ? rk_results_partner(r, c[k], pr->b) : NULL;
                    any |= b[k] != NULL;
                }
                if (!any) continue;
                if (!t) {
                    if (!(t = tbl_new(ts, p->title, cap, 1 + 2 * p->ncols))) return;
                    tbl_set(ts, t, 0, "comparison");
                    for (size_t k = 0; k < p->ncols; k++) {
                        char h[64];
                        snprintf(h, sizeof h, "%g %%", 100 * p->fractions[k]);
                        tbl_set(ts, t, 1 + 2 * k, h);
                        snprintf(h, sizeof h, "paper %g %%", 100 * p->fractions[k]);
                        tbl_set(ts, t, 2 + 2 * k, h);
                    }
                }
                char nm[400], val[128];
                snprintf(nm, sizeof nm, "%s: %s − %s%s%s%s", pr->label, pr->a, pr->b,
                         vt && *vt ? " [" : "", vt ? vt : "", vt && *vt ? "]" : "");
                tbl_row(ts, t);
                tbl_set(ts, t, 0, nm);
                for (size_t k = 0; k < p->ncols; k++) {
                    delta_against(r, c[k], b[k], val, sizeof val);
                    tbl_set(ts, t, 1 + 2 * k, val);
                    snprintf(val, sizeof val, "%+.1f", pr->paper[k]);
                    tbl_set(ts, t, 2 + 2 * k, val);
                }
            }
    }
}

static void all_stats_table(tables *ts, const rk_results *r)
{
    tbl *t = tbl_new(ts, "All 12 COCO stats per cell (mean over seeds, ×100)",
                     "Means only; cells.csv has std, n and the intervals of every stat. —: "
                     "undefined (COCO's -1: no ground-truth box in that area range; empty in "
                     "cells.csv and deltas.csv).",
                     5 + RK_COCO_NSTATS);
    if (!t) return;
    const char *h[] = {"arm", "variant", "aug", "fraction", "n"};
    for (size_t k = 0; k < 5; k++) tbl_set(ts, t, k, h[k]);
    for (int s = 0; s < RK_COCO_NSTATS; s++) tbl_set(ts, t, 5 + (size_t)s, rk_coco_stat_name(s));
    for (size_t i = 0; i < r->ncells; i++) {
        const rk_cell *c = &r->cells[i];
        char v[64];
        tbl_row(ts, t);
        tbl_set(ts, t, 0, c->arm);
        tbl_set(ts, t, 1, c->variant->text);
        tbl_set(ts, t, 2, c->aug);
        snprintf(v, sizeof v, "%g %%", 100 * c->fraction);
        tbl_set(ts, t, 3, v);
        snprintf(v, sizeof v, "%zu", c->n);
        tbl_set(ts, t, 4, v);
        for (int s = 0; s < RK_COCO_NSTATS; s++) {
            /* COCO's -1 (no ground truth in the area range) is not an AP of -100 */
            if (isfinite(c->stat[s].mean) && c->stat[s].mean >= 0)
                snprintf(v, sizeof v, "%.2f", 100 * c->stat[s].mean);
            else snprintf(v, sizeof v, "—");
            tbl_set(ts, t, 5 + (size_t)s, v);
        }
    }
}

/* ---- convergence ---- */

static void cell_name(const rk_cell *c, char *out, size_t cap)
{
    snprintf(out, cap, "%s %s %g %%%s%s%s", c->arm, c->aug, 100 * c->fraction,
             *c->variant->text ? " [" : "", c->variant->text, *c->variant->text ? "]" : "");
}

/* A new row's first columns: arm, variant (when the study has axes), aug, fraction; *col is
 * the next column. */
static void cell_cols(tables *ts, tbl *t, const rk_cell *c, int variant, size_t *col)
{
    char v[64];
    tbl_row(ts, t);
    *col = 0;
    tbl_set(ts, t, (*col)++, c->arm);
    if (variant) tbl_set(ts, t, (*col)++, c->variant->text);
    tbl_set(ts, t, (*col)++, c->aug);
    snprintf(v, sizeof v, "%g %%", 100 * c->fraction);
    tbl_set(ts, t, (*col)++, v);
}

/* Any trial of the study trained with the plateau schedule. */
static int any_plateau_schedule(const rk_results *r)
{
    for (size_t i = 0; i < r->ncells; i++)
        if (r->cells[i].plateau_schedule) return 1;
    return 0;
}

/* "3 / 1": trials that stopped on the plateau rule / on the budget */
static void fmt_stops(char *out, size_t cap, const rk_cell *c)
{
    if (!c->stop_plateau && !c->stop_budget) snprintf(out, cap, "—");
    else snprintf(out, cap, "%zu / %zu", c->stop_plateau, c->stop_budget);
}

/* "12400 / 40000": mean steps trained / the largest budget */
static void fmt_steps(char *out, size_t cap, const rk_cell *c)
{
    char mx[32] = "—";
    if (c->max_steps > 0) snprintf(mx, sizeof mx, "%lld", (long long)c->max_steps);
    if (!isfinite(c->steps.mean)) snprintf(out, cap, "— / %s", mx);
    else snprintf(out, cap, "%.0f / %s", c->steps.mean, mx);
}

static void convergence_table(tables *ts, const rk_results *r)
{
    int plateau = any_plateau_schedule(r);
    char cap[1400];
    size_t u = (size_t)snprintf(cap, sizeof cap, "Trials with a held-out dev split (train.dev) keep "
             "their best checkpoint on dev. Dev AP ×100 of that checkpoint; the epoch it was taken "
             "at as a fraction of the trial's epochs (1.00: the last); last-quarter gain: the best "
             "dev AP after 75 %% of the epochs minus the best before, in AP points (positive: "
             "still improving late). Means over the seeds with dev evaluations (n). A "
             "fixed-budget cell has plateaued when its mean gain is below %g %% of its mean kept "
             "dev AP (%.2f points at dev AP 30); undetermined: no dev evaluation before or after "
             "75 %% of the epochs; not measured: no dev split.", 100 * RK_PLATEAU_REL,
             30 * RK_PLATEAU_REL);
    if (plateau && u < sizeof cap)
        snprintf(cap + u, sizeof cap - u, " Stops: trials that stopped on the plateau rule / on "
                 "their maximum (the step budget); steps: mean steps trained / the largest budget. A cell "
                 "trained with the plateau schedule has converged when its trials stopped on "
                 "the rule, and hit the maximum when one of them stopped on the budget, its "
                 "safety net.");
    /* variant and per-cell settings (its budget) columns only when there are some, the
     * stop facts only when a trial trained with the plateau schedule */
    int variant = r->naxes > 0, settings = r->nsettings > 0;
    tbl *t = tbl_new(ts, "Convergence on the dev split", cap,
                     8 + (size_t)(variant + settings) + (size_t)(2 * plateau));
    if (!t) return;
    const char *h[] = {"arm", "variant", "aug", "fraction", "settings", "n", "dev AP (kept)",
                       "kept epoch / epochs", "last-quarter dev gain", "stops: rule / max",
                       "steps: mean / max", "verdict"};
    size_t col = 0;
    for (size_t k = 0; k < 12; k++)
        if ((k != 1 || variant) && (k != 4 || settings) && ((k != 9 && k != 10) || plateau))
            tbl_set(ts, t, col++, h[k]);
    for (size_t i = 0; i < r->ncells; i++) {
        const rk_cell *c = &r->cells[i];
        char v[64];
        cell_cols(ts, t, c, variant, &col);
        if (settings) tbl_set(ts, t, col++, c->settings);
        snprintf(v, sizeof v, "%zu", c->dev_best.n);
        tbl_set(ts, t, col++, v);
        if (isfinite(c->dev_best.mean)) snprintf(v, sizeof v, "%.2f", 100 * c->dev_best.mean);
        else snprintf(v, sizeof v, "—");
        tbl_set(ts, t, col++, v);
        if (isfinite(c->select_frac.mean)) snprintf(v, sizeof v, "%.2f", c->select_frac.mean);
        else snprintf(v, sizeof v, "—");
        tbl_set(ts, t, col++, v);
        if (isfinite(c->dev_gain.mean)) snprintf(v, sizeof v, "%+.2f", 100 * c->dev_gain.mean);
        else snprintf(v, sizeof v, "—");
        tbl_set(ts, t, col++, v);
        if (plateau) {
            fmt_stops(v, sizeof v, c);
            tbl_set(ts, t, col++, v);
            fmt_steps(v, sizeof v, c);
            tbl_set(ts, t, col++, v);
        }
        tbl_set(ts, t, col, rk_convergence_name(c->conv));
    }
}

/* Every cell with a trial that hit the plateau schedule's maximum (issue 18 asks for the
 * list), one row per cell with its stop reasons and steps. Nothing when there is none. */
static void budget_table(tables *ts, const rk_results *r)
{
    size_t nb = 0;
    for (size_t i = 0; i < r->ncells; i++) nb += r->cells[i].budget_limited > 0;
    if (!nb) return;
    int variant = r->naxes > 0;
    tbl *t = tbl_new(ts, "Cells that hit their maximum budget (not converged)",
                     "Trained with train.schedule = plateau, whose step budget is only a safety "
                     "net: in these cells at least one trial stopped on the budget before its dev "
                     "AP stopped improving. Trials: finished seeds; then how many stopped on the "
                     "plateau rule and how many on the maximum; mean steps trained; the budget. "
                     "rethink check treats a claim's units that rest on these cells as "
                     "inconclusive unless the claim says budget_limited = ignore.",
                     8 + (size_t)variant);
    if (!t) return;
    const char *h[] = {"arm", "variant", "aug", "fraction", "trials", "stopped on plateau",
                       "hit the maximum", "mean steps", "maximum steps"};
    size_t col = 0;
    for (size_t k = 0; k < 9; k++)
        if (k != 1 || variant) tbl_set(ts, t, col++, h[k]);
    for (size_t i = 0; i < r->ncells; i++) {
        const rk_cell *c = &r->cells[i];
        if (!c->budget_limited) continue;
        char v[64];
        cell_cols(ts, t, c, variant, &col);
        snprintf(v, sizeof v, "%zu", c->n);
        tbl_set(ts, t, col++, v);
        snprintf(v, sizeof v, "%zu", c->stop_plateau);
        tbl_set(ts, t, col++, v);
        snprintf(v, sizeof v, "%zu", c->budget_limited);
        tbl_set(ts, t, col++, v);
        if (isfinite(c->steps.mean)) snprintf(v, sizeof v, "%.0f", c->steps.mean);
        else snprintf(v, sizeof v, "—");
        tbl_set(ts, t, col++, v);
        if (c->max_steps > 0) snprintf(v, sizeof v, "%lld", (long long)c->max_steps);
        else snprintf(v, sizeof v, "—");
        tbl_set(ts, t, col, v);
    }
}

/* The section's summary: under the plateau schedule, how many cells converged and which hit
 * their maximum; for fixed budgets, how many cells plateaued within their budget, which were
 * still improving (with their gain), which could not be told; malloc'd, NULL when out of
 * memory. */
static char *convergence_summary(const rk_results *r)
{
    size_t cnt[RK_CONV_BUDGET_LIMITED + 1] = {0};
    for (size_t i = 0; i < r->ncells; i++) cnt[r->cells[i].conv]++;
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    if (!f) return NULL;
    char nm[1100];
    size_t ruled = cnt[RK_CONV_STOPPED] + cnt[RK_CONV_BUDGET_LIMITED];
    if (ruled) {
        fprintf(f, "%zu cell%s trained with the plateau schedule (train.schedule = plateau: a "
                   "trial stops when its dev AP stops improving, its step budget only a safety "
                   "net): %zu converged (their trials stopped on the plateau rule)", ruled,
                ruled == 1 ? "" : "s", cnt[RK_CONV_STOPPED]);
        if (cnt[RK_CONV_BUDGET_LIMITED]) {
            size_t nb = cnt[RK_CONV_BUDGET_LIMITED];
            fprintf(f, ", %zu hit %s maximum budget in at least one seed, so %s not converged:",
                    nb, nb == 1 ? "its" : "their", nb == 1 ? "it is" : "they are");
            for (size_t i = 0, k = 0; i < r->ncells; i++) {
                const rk_cell *c = &r->cells[i];
                if (c->conv != RK_CONV_BUDGET_LIMITED) continue;
                cell_name(c, nm, sizeof nm);
                fprintf(f, "%s %s (%zu of %zu)", k++ ? "," : "", nm, c->budget_limited, c->n);
            }
            fprintf(f, ". rethink check treats claims resting on them as inconclusive "
                       "(budget_limited = ignore judges them anyway)");
        }
        fprintf(f, ".");
    }
    if (!ruled && cnt[RK_CONV_UNMEASURED] == r->ncells) {
        fprintf(f, "Convergence was not measured: no trial of this study trained with a dev "
                   "split (train.dev = 0), so whether each cell's AP had stopped improving within "
                   "its step budget is unknown.");
    }
    size_t told = cnt[RK_CONV_PLATEAUED] + cnt[RK_CONV_IMPROVING];
    if (told) {
        fprintf(f, "%s%zu of %zu cells plateaued within their budget", ruled ? " " : "",
                cnt[RK_CONV_PLATEAUED], told);
        for (size_t i = 0, k = 0; i < r->ncells; i++) {
            const rk_cell *c = &r->cells[i];
            if (c->conv != RK_CONV_IMPROVING) continue;
            cell_name(c, nm, sizeof nm);
            fprintf(f, "%s%s (%+.2f)", k++ ? ", " : "; the others were still improving at the "
                    "end: ", nm, 100 * c->dev_gain.mean);
        }
        fprintf(f, "%s. Plateaued: a mean last-quarter dev gain below %g %% of the cell's mean "
                   "kept dev AP (%.2f AP points at dev AP 30).",
                cnt[RK_CONV_IMPROVING] ? " (last-quarter dev gain, AP points)" : "",
                100 * RK_PLATEAU_REL, 30 * RK_PLATEAU_REL);
    }
    if (cnt[RK_CONV_UNDETERMINED]) {
        fprintf(f, "%s%zu cell%s had no dev evaluation before or after 75 %% of the epochs, so "
                   "could not be told:", told || ruled ? " " : "", cnt[RK_CONV_UNDETERMINED],
                cnt[RK_CONV_UNDETERMINED] == 1 ? "" : "s");
        for (size_t i = 0, k = 0; i < r->ncells; i++) {
            if (r->cells[i].conv != RK_CONV_UNDETERMINED) continue;
            cell_name(&r->cells[i], nm, sizeof nm);
            fprintf(f, "%s %s", k++ ? "," : "", nm);
        }
        fprintf(f, ".");
    }
    if (cnt[RK_CONV_UNMEASURED] && cnt[RK_CONV_UNMEASURED] < r->ncells)
        fprintf(f, " %zu cell%s had no dev split: not measured.", cnt[RK_CONV_UNMEASURED],
                cnt[RK_CONV_UNMEASURED] == 1 ? "" : "s");
    if (fclose(f)) {
        free(s);
        return NULL;
    }
    return s;
}

/* Claims in AP points, as everything else on the page: COCO stats are stored as fractions
 * (a claim's estimate, interval and minimal detectable effect too), so ×100; a stable
 * claim's estimate is a count of diverged trials. The details JSON (rk_check_record) says
 * the type and holds the MDE; verdicts recorded before it had one show —. */
static void claims_table(tables *ts, const rk_claim *cl, size_t n)
{
    tbl *t = tbl_new(ts, "Claims (latest verdicts recorded by rethink check)",
                     "Estimate, interval and MDE in AP points (×100), the deciding unit's "
                     "(a stable claim's estimate: trials that diverged). MDE: the smallest "
                     "effect the unit's seeds and paired spread could detect (two-sided, 80 % "
                     "power); fewer than 2 seeds: none. docs/CLAIMS.md explains the verdicts.", 7);
    if (!t) return;
    const char *h[] = {"claim", "verdict", "estimate", "CI", "n", "MDE", "why"};
    for (size_t k = 0; k < 7; k++) tbl_set(ts, t, k, h[k]);
    for (size_t i = 0; i < n; i++) {
        char v[160];
        cJSON *d = cl[i].details_json ? cJSON_Parse(cl[i].details_json) : NULL;
        const cJSON *desc = cJSON_GetObjectItemCaseSensitive(d, "description");
        const cJSON *why = cJSON_GetObjectItemCaseSensitive(d, "reason");
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(d, "type");
        const cJSON *mde = cJSON_GetObjectItemCaseSensitive(d, "mde");
        int count = cJSON_IsString(type) && !strcmp(type->valuestring, "stable");
        tbl_row(ts, t);
        /* the description under the name: one prose column fewer keeps the table in the page */
        snprintf(v, sizeof v, "%s", cl[i].name);
        if (cJSON_IsString(desc) && *desc->valuestring) {
            size_t need = strlen(cl[i].name) + strlen(desc->valuestring) + 4;
            char *both = malloc(need);
            if (both) snprintf(both, need, "%s: %s", cl[i].name, desc->valuestring);
            tbl_set(ts, t, 0, both ? both : cl[i].name);
            free(both);
        } else {
            tbl_set(ts, t, 0, v);
        }
        tbl_set(ts, t, 1, cl[i].verdict);
        if (!isfinite(cl[i].estimate)) snprintf(v, sizeof v, "—");
        else if (count) snprintf(v, sizeof v, "%.0f diverged", cl[i].estimate);
        else snprintf(v, sizeof v, "%+.2f", 100 * cl[i].estimate);
        tbl_set(ts, t, 2, v);
        if (isfinite(cl[i].ci_low) && !count)
            snprintf(v, sizeof v, "[%+.2f, %+.2f]", 100 * cl[i].ci_low, 100 * cl[i].ci_high);
        else snprintf(v, sizeof v, "—");
        tbl_set(ts, t, 3, v);
        snprintf(v, sizeof v, "%lld", (long long)cl[i].n);
        tbl_set(ts, t, 4, v);
        if (cJSON_IsNumber(mde) && !count) snprintf(v, sizeof v, "%.2f", 100 * mde->valuedouble);
        else snprintf(v, sizeof v, "—");
        tbl_set(ts, t, 5, v);
        tbl_set(ts, t, 6, cJSON_IsString(why) ? why->valuestring : "");
        cJSON_Delete(d);
    }
}

static void failed_table(tables *ts, const rk_results *r)
{
    size_t nf = 0;
    for (size_t i = 0; i < r->n; i++) nf += r->t[i].status == RK_TRIAL_FAILED;
    if (!nf) return;
    tbl *t = tbl_new(ts, "Failed trials", "Left out of every statistic above.", 6);
    if (!t) return;
    const char *h[] = {"trial", "arm", "aug", "fraction", "seed", "error"};
    for (size_t k = 0; k < 6; k++) tbl_set(ts, t, k, h[k]);
    for (size_t i = 0; i < r->n; i++) {
        const rk_result_trial *x = &r->t[i];
        if (x->status != RK_TRIAL_FAILED) continue;
        char v[320];
        tbl_row(ts, t);
        snprintf(v, sizeof v, "%lld", (long long)x->id);
        tbl_set(ts, t, 0, v);
        tbl_set(ts, t, 1, x->arm);
        tbl_set(ts, t, 2, x->aug);
        snprintf(v, sizeof v, "%g %%", 100 * x->fraction);
        tbl_set(ts, t, 3, v);
        snprintf(v, sizeof v, "%lld", (long long)x->seed);
        tbl_set(ts, t, 4, v);
        snprintf(v, sizeof v, "%.300s", x->error ? x->error : "");
        tbl_set(ts, t, 5, v);
    }
}

/* Which machines ran the study's finished trials (issue 19: a study run in parts, on
 * whatever machine each sitting had): a row per CPU model and arithmetic, with its trials,
 * their own CPU hours, and the policies, fractions and seeds they covered. */
/* x finished on the machine (cpu, prec) (NULL: not recorded) */
static int on_machine(const rk_result_trial *x, const char *cpu, const char *prec)
{
    return x->status == RK_TRIAL_FINISHED && !strcmp(x->cpu ? x->cpu : "", cpu ? cpu : "") &&
           !strcmp(x->precision ? x->precision : "", prec ? prec : "");
}

/* The (cell, seed) pairs whose finished trials ran on more than one machine: the pairs a
 * claim compares should not. */
static size_t mixed_pairs(const rk_results *r)
{
    size_t mixed = 0;
    for (size_t i = 0; i < r->n; i++) {
        const rk_result_trial *x = &r->t[i];
        int first = 1, other = 0;
        if (x->status != RK_TRIAL_FINISHED) continue;
        for (size_t k = 0; k < r->n && first; k++) /* counted at its pair's first trial */
            first = !(k < i && r->t[k].status == RK_TRIAL_FINISHED && r->t[k].seed == x->seed &&
                      r->t[k].fraction == x->fraction && !strcmp(r->t[k].aug, x->aug));
        for (size_t k = i + 1; k < r->n && first && !other; k++)
            other = r->t[k].seed == x->seed && r->t[k].fraction == x->fraction &&
                    !strcmp(r->t[k].aug, x->aug) && r->t[k].status == RK_TRIAL_FINISHED &&
                    !on_machine(&r->t[k], x->cpu, x->precision);
        mixed += first && other;
    }
    return mixed;
}

static void machines_table(tables *ts, const rk_results *r)
{
    const rk_result_trial **seen = calloc(r->n + 1, sizeof *seen); /* a trial per machine */
    if (!seen) {
        ts->oom = 1;
        return;
    }
    size_t nm = 0;
    for (size_t i = 0; i < r->n; i++) {
        const rk_result_trial *x = &r->t[i];
        if (x->status != RK_TRIAL_FINISHED) continue;
        size_t m = 0;
        while (m < nm && !on_machine(x, seen[m]->cpu, seen[m]->precision)) m++;
        if (m == nm) seen[nm++] = x;
    }
    size_t mixed = mixed_pairs(r);
    char cap[600];
    snprintf(cap, sizeof cap, "The finished trials by the CPU they ran on and the arithmetic "
             "they trained in (trials.cpu, trials.precision): their own CPU hours (training and "
             "evaluation; no teacher, backbone or pseudo-labels), the cells (policy: fractions) "
             "and the seeds they cover. %s",
             mixed ? "" : "Every (cell, seed) ran on one machine, so every pair a claim "
                          "compares was measured on one.");
    if (mixed)
        snprintf(cap + strlen(cap), sizeof cap - strlen(cap), "%zu (cell, seed) pairs ran on "
                 "more than one machine: their paired deltas mix machines.", mixed);
    tbl *t = nm ? tbl_new(ts, "Machines", cap, 6) : NULL;
    const char *h[] = {"CPU", "precision", "trials", "CPU hours", "cells", "seeds"};
    for (size_t k = 0; t && k < 6; k++) tbl_set(ts, t, k, h[k]);
    for (size_t m = 0; t && m < nm; m++) {
        const char *cpu = seen[m]->cpu, *prec = seen[m]->precision;
        size_t n = 0;
        double hours = 0;
        int64_t smin = INT64_MAX, smax = INT64_MIN;
        char cells[600] = "", seeds[400] = "", v[64];
        for (size_t i = 0; i < r->n; i++) {
            const rk_result_trial *x = &r->t[i];
            if (!on_machine(x, cpu, prec)) continue;
            n++;
            if (isfinite(x->cpu_s)) hours += x->cpu_s / 3600;
            if (x->seed < smin) smin = x->seed;
            if (x->seed > smax) smax = x->seed;
        }
        /* per policy, the fractions it ran ("S1: 20/50/100 %; S2: 20 %") */
        for (size_t a = 0; a < r->naugs; a++) {
            char fr[200] = "";
            for (size_t f = 0; f < r->nfractions; f++) {
                int has = 0;
                for (size_t i = 0; i < r->n && !has; i++)
                    has = on_machine(&r->t[i], cpu, prec) && !strcmp(r->t[i].aug, r->augs[a]) &&
                          r->t[i].fraction == r->fractions[f];
                size_t l = strlen(fr);
                if (has) snprintf(fr + l, sizeof fr - l, "%s%g", l ? "/" : "", 100 * r->fractions[f]);
            }
            size_t l = strlen(cells);
            if (fr[0])
                snprintf(cells + l, sizeof cells - l, "%s%s: %s %%", l ? "; " : "", r->augs[a], fr);
        }
        /* the seeds it ran, runs of consecutive ones as FIRST-LAST */
        for (int64_t sd = smin; sd <= smax && smax - smin < 100000; sd++) {
            int has = 0;
            for (size_t i = 0; i < r->n && !has; i++)
                has = r->t[i].seed == sd && on_machine(&r->t[i], cpu, prec);
            if (!has) continue;
            int64_t e = sd;
            for (int more = 1; more;) {
                more = 0;
                for (size_t i = 0; i < r->n && !more; i++)
                    more = r->t[i].seed == e + 1 && on_machine(&r->t[i], cpu, prec);
                e += more;
            }
            size_t l = strlen(seeds);
            if (e > sd) snprintf(seeds + l, sizeof seeds - l, "%s%lld-%lld", l ? ", " : "", (long long)sd, (long long)e);
            else snprintf(seeds + l, sizeof seeds - l, "%s%lld", l ? ", " : "", (long long)sd);
            sd = e;
        }
        tbl_row(ts, t);
        tbl_set(ts, t, 0, cpu ? cpu : "(not recorded)");
        tbl_set(ts, t, 1, prec ? prec : "(not recorded)");
        snprintf(v, sizeof v, "%zu", n);
        tbl_set(ts, t, 2, v);
        snprintf(v, sizeof v, "%.2f", hours);
        tbl_set(ts, t, 3, v);
        tbl_set(ts, t, 4, cells);
        tbl_set(ts, t, 5, seeds);
    }
    free(seen);
}

/* ---- CSV ---- */

void rk_csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_num(FILE *f, double v)
{
    fputc(',', f);
    if (isfinite(v)) fprintf(f, "%.6g", v);
}

static int write_cells_csv(const rk_results *r, const char *dir, rk_err *err)
{
    FILE *f;
    int rc = rk_rp_open(&f, dir, "cells.csv", err);
    if (rc) return rc;
    fprintf(f, "study,arm,aug,fraction,variant,n");
    for (int s = 0; s < RK_COCO_NSTATS; s++) { /* the views' names: unique without case */
        const char *nm = rk_coco_stat_column(s);
        fprintf(f, ",%s_mean,%s_std,%s_ci_low,%s_ci_high", nm, nm, nm, nm);
    }
    /* convergence last (blank without dev metrics): appended, so columns keep their place */
    fprintf(f, ",cpu_s_mean,cpu_s_std,dev_best_mean,dev_gain_last_quarter_mean,"
               "select_frac_mean,settings");
    /* how the trials stopped, appended likewise: counts of stop reasons, trials that hit
     * the plateau schedule's maximum, mean steps trained, the largest budget (blank: unknown) */
    fprintf(f, ",stop_plateau,stop_budget,budget_limited,steps_mean,max_steps\n");
    for (size_t i = 0; i < r->ncells; i++) {
        const rk_cell *c = &r->cells[i];
        rk_csv_field(f, r->study);
        fputc(',', f);
        rk_csv_field(f, c->arm);
        fputc(',', f);
        rk_csv_field(f, c->aug);
        fprintf(f, ",%g,", c->fraction);
        rk_csv_field(f, c->variant->text);
        fprintf(f, ",%zu", c->n);
        for (int s = 0; s < RK_COCO_NSTATS; s++) {
            /* COCO's -1 (no ground truth in the area range) is no value: empty fields */
            const rk_summary *m = &c->stat[s];
            int undef = m->mean < 0;
            csv_num(f, undef ? NAN : m->mean);
            csv_num(f, undef ? NAN : m->std);
            csv_num(f, undef ? NAN : m->ci_low);
            csv_num(f, undef ? NAN : m->ci_high);
        }
        csv_num(f, c->cpu.mean);
        csv_num(f, c->cpu.std);
        csv_num(f, c->dev_best.mean);
        csv_num(f, c->dev_gain.mean);
        csv_num(f, c->select_frac.mean);
        fputc(',', f);
        rk_csv_field(f, c->settings);
        fprintf(f, ",%zu,%zu,%zu", c->stop_plateau, c->stop_budget, c->budget_limited);
        csv_num(f, c->steps.mean);
        fputc(',', f);
        if (c->max_steps > 0) fprintf(f, "%lld", (long long)c->max_steps);
        fputc('\n', f);
    }
    return rk_rp_close(f, dir, "cells.csv", err);
}

/* The 12 rows of cell c against cell b (every stat, paired by seed). */
static int delta_rows(FILE *f, const rk_results *r, const rk_cell *c, const rk_cell *b,
                      rk_err *err)
{
    int rc = RK_OK;
    for (int s = 0; s < RK_COCO_NSTATS && !rc; s++) {
        rk_summary d;
        if ((rc = rk_paired_delta(r, c, b, s, &d, err))) break;
        rk_csv_field(f, r->study);
        fputc(',', f);
        rk_csv_field(f, c->arm);
        fputc(',', f);
        rk_csv_field(f, c->variant->text);
        fputc(',', f);
        rk_csv_field(f, c->aug);
        fprintf(f, ",%g,", c->fraction);
        rk_csv_field(f, b->arm);
        fputc(',', f);
        rk_csv_field(f, b->variant->text);
        fprintf(f, ",%s,%zu", rk_coco_stat_column(s), d.n);
        /* a stat COCO left undefined (-1) in either cell has no difference: empty fields */
        int undef = c->stat[s].mean < 0 || b->stat[s].mean < 0;
        csv_num(f, undef ? NAN : d.mean);
        csv_num(f, undef ? NAN : d.std);
        csv_num(f, undef ? NAN : d.ci_low);
        csv_num(f, undef ? NAN : d.ci_high);
        fputc('\n', f);
    }
    return rc;
}

/* Each cell against scratch, then, for an arm with a control (selftrain: continue), against
 * its control: vs_arm says which. */
static int write_deltas_csv(const rk_results *r, const char *dir, rk_err *err)
{
    FILE *f;
    int rc = rk_rp_open(&f, dir, "deltas.csv", err);
    if (rc) return rc;
    fprintf(f, "study,arm,variant,aug,fraction,vs_arm,vs_variant,stat,n,mean,std,ci_low,ci_high\n");
    for (size_t i = 0; i < r->ncells && !rc; i++) {
        const rk_cell *c = &r->cells[i];
        if (!strcmp(c->arm, "scratch")) continue;
        const rk_cell *b = rk_results_partner(r, c, "scratch"), *ctl = rk_results_control(r, c);
        if (b) rc = delta_rows(f, r, c, b, err);
        if (ctl && !rc) rc = delta_rows(f, r, c, ctl, err);
    }
    if (rc) {
        fclose(f);
        return rc;
    }
    return rk_rp_close(f, dir, "deltas.csv", err);
}

/* ---- alignment, for both formats ---- */

/* A number as the tables write it: an optional sign or bracket, then a digit ("+0.0262",
 * "[+0.0055, +0.0469]", "2*", "1/1", "35.35", "−1.2"); "-", "—" and "n<2" stand for a
 * number that is not there. */
static int numeric_cell(const char *v)
{
    if (!strcmp(v, "-") || !strcmp(v, "—") || !strcmp(v, "n<2")) return 1;
    while (*v == '[' || *v == '(' || *v == '+' || *v == '-') v++;
    if (!strncmp(v, "−", strlen("−"))) v += strlen("−");
    return *v >= '0' && *v <= '9';
}

/* Column k reads from the left: the first column (a row's name), names and prose by their
 * header, a column of empty cells, and any column with a cell that is not a number (a CPU's
 * name, a list of cells, a verdict). */
static int text_column(const tbl *t, size_t k)
{
    static const char *const names[] = {"description", "why", "error", "variant", "settings",
                                        "verdict"};
    const char *h = tcell(t, 0, k);
    if (k == 0) return 1;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(h, names[i])) return 1;
    int any = 0;
    for (size_t row = 1; row <= t->nrows; row++) {
        const char *v = tcell(t, row, k);
        if (*v && !numeric_cell(v)) return 1;
        any |= *v != 0;
    }
    return !any;
}

/* ---- Markdown ---- */

static void md_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') fputs("\\|", f);
        else if (*s == '\n') fputc(' ', f);
        else fputc(*s, f);
    }
}

static void md_table(FILE *f, const tbl *t)
{
    fprintf(f, "### %s\n\n", t->title);
    for (size_t row = 0; row <= t->nrows; row++) {
        fputc('|', f);
        for (size_t k = 0; k < t->ncols; k++) {
            fputc(' ', f);
            md_text(f, tcell(t, row, k));
            fputs(" |", f);
        }
        fputc('\n', f);
        if (row == 0) {
            fputc('|', f);
            for (size_t k = 0; k < t->ncols; k++) /* numbers right, names and prose left */
                fputs(text_column(t, k) ? "---|" : "---:|", f);
            fputc('\n', f);
        }
    }
    if (*t->caption) fprintf(f, "\n%s\n", t->caption);
    fputc('\n', f);
}

/* ---- HTML ---- */

static void html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void html_table(FILE *f, const tbl *t)
{
    fputs("<h3>", f);
    html_text(f, t->title);
    fputs("</h3>\n<div class=\"scroll\"><table>\n<thead><tr>", f);
    for (size_t k = 0; k < t->ncols; k++) {
        const char *h = tcell(t, 0, k);
        fputs(!strcmp(h, "why") || !strcmp(h, "error") ? "<th class=\"text\">"
              : text_column(t, k) ? "<th class=\"l\">" : "<th>", f);
        html_text(f, h);
        fputs("</th>", f);
    }
    fputs("</tr></thead>\n<tbody>\n", f);
    for (size_t row = 1; row <= t->nrows; row++) {
        fputs("<tr>", f);
        for (size_t k = 0; k < t->ncols; k++) {
            const char *v = tcell(t, row, k), *h = tcell(t, 0, k);
            /* prose (a claim's description, why it got its verdict, an error) wraps, and a
             * short "why" reads as the long ones do, from the left */
            const char *cls = !strcmp(v, "HOLDS") || !strcmp(v, "plateaued") ||
                              !strcmp(v, "converged") ? " class=\"holds\""
                              : !strcmp(v, "FAILS") || !strcmp(v, "hit the maximum")
                              ? " class=\"fails\""
                              : !strcmp(v, "INCONCLUSIVE") || !strcmp(v, "still improving")
                              ? " class=\"inc\""
                              : strlen(v) > 40 || !strcmp(h, "why") ? " class=\"text\""
                              : text_column(t, k) ? " class=\"l\"" : "";
            fprintf(f, "<td%s>", cls);
            html_text(f, v);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</tbody>\n</table></div>\n", f);
    if (*t->caption) {
        fputs("<p class=\"caption\">", f);
        html_text(f, t->caption);
        fputs("</p>\n", f);
    }
}

/* Copies an SVG file into the page: without its XML prolog, with its element ids prefixed
 * (every gnuplot SVG defines the same ids, and ids must be unique in one document). */
static int inline_svg(FILE *out, const char *dir, const char *name, const char *prefix,
                      const char *title, rk_err *err)
{
    char p[2048], *s;
    size_t len;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int rc = rk_read_file(p, &s, &len, err);
    if (rc) return rc;
    const char *q = strstr(s, "<svg");
    if (!q) {
        free(s);
        return rk_errf(err, RK_EFORMAT, "%s: not an SVG file", p);
    }
    static const char *const pats[] = {"id='", "id=\"", "href='#", "href=\"#"};
    while (*q) {
        if (!strncmp(q, "<title>", 7)) {
            const char *e = strstr(q, "</title>");
            if (e) {
                fputs("<title>", out);
                html_text(out, title);
                fputs("</title>", out);
                q = e + 8;
                continue;
            }
        }
        int hit = 0;
        for (size_t k = 0; k < 4 && !hit; k++) {
            size_t pl = strlen(pats[k]);
            if (!strncmp(q, pats[k], pl)) {
                fwrite(q, 1, pl, out);
                fputs(prefix, out);
                q += pl;
                hit = 1;
            }
        }
        if (!hit) fputc(*q++, out);
    }
    free(s);
    return RK_OK;
}

static const char *CSS =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
    "max-width:1200px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}"
    "h1{font-size:1.7em}h2{margin-top:2em;border-bottom:1px solid #ccc}h3{font-size:1.05em}"
    "table{border-collapse:collapse;margin:.5em 0;font-size:.92em}"
    "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right;white-space:nowrap}"
    "th:first-child,td:first-child,th.text,th.l,td.l{text-align:left}"
    "th{background:#f2f2f2;white-space:normal;vertical-align:bottom}"
    "td.text{white-space:normal;text-align:left;min-width:14em;max-width:26em;"
    "overflow-wrap:anywhere}.scroll{overflow-x:auto}"
    "td.holds{background:#dff0d8}td.fails{background:#f2dede}td.inc{background:#fcf8e3}"
    ".caption{color:#555;font-size:.9em;max-width:60em}"
    "figure{margin:1.5em 0}figure svg{max-width:100%;height:auto}"
    "figcaption{color:#555;font-size:.9em;max-width:60em}"
    "code{background:#f4f4f4;padding:0 .2em}"
    ".note{background:#fcf8e3;border-left:4px solid #e0c060;padding:.4em .8em;max-width:60em}";

/* ---- the whole report ---- */

/* "TITLE key, key, ..." into a summary line. */
static void key_list_line(char line[400], const char *title, char *const *keys, size_t n)
{
    size_t u = (size_t)snprintf(line, 400, "%s", title);
    for (size_t a = 0; a < n && u < 400; a++)
        u += (size_t)snprintf(line + u, 400 - u, "%s%s", a ? ", " : "", keys[a]);
}

static void summary_lines(const rk_results *r, char lines[][400], size_t *n)
{
    size_t fin = 0, fail = 0, other = 0, nmin = (size_t)-1, nmax = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->t[i].status == RK_TRIAL_FINISHED) fin++;
        else if (r->t[i].status == RK_TRIAL_FAILED) fail++;
        else other++;
    }
    for (size_t i = 0; i < r->ncells; i++) {
        if (r->cells[i].n < nmin) nmin = r->cells[i].n;
        if (r->cells[i].n > nmax) nmax = r->cells[i].n;
    }
    *n = 0;
    snprintf(lines[(*n)++], 400, "database: %s", r->db_path);
    snprintf(lines[(*n)++], 400, "trials: %zu finished, %zu failed, %zu pending or running", fin,
             fail, other);
    if (nmin == nmax)
        snprintf(lines[(*n)++], 400, "cells: %zu (arm × augmentation × labelled fraction%s), %zu "
                 "seed%s each", r->ncells, r->naxes ? " × extra axes" : "", nmax, nmax == 1 ? "" : "s");
    else
        snprintf(lines[(*n)++], 400, "cells: %zu (arm × augmentation × labelled fraction%s), "
                 "%zu to %zu seeds each", r->ncells, r->naxes ? " × extra axes" : "", nmin, nmax);
    if (r->naxes) key_list_line(lines[(*n)++], "extra grid axes: ", r->axes, r->naxes);
    if (r->nsettings)
        key_list_line(lines[(*n)++], "settings that differ between cells (set per slice, not "
                      "axes; cells.csv has them): ", r->settings, r->nsettings);
    const char *M = r->metric ? r->metric : "AP";
    snprintf(lines[(*n)++], 400, "statistics: mean over seeds ± half-width of the %g %% Student-t "
             "interval; Δ%s paired by seed; %s shown ×100 (%s points)", 100 * r->confidence, M, M,
             M);
    if (strcmp(M, "AP"))
        snprintf(lines[(*n)++], 400, "metric: segmentation trials (model.task = segment) record "
                 "their val mIoU as the primary stat, so where the plots, the claims table and "
                 "the stats table say AP they mean %s", M);
    /* the wording rule: on fewer than 4 seeds nothing here is more than indicative */
    if (nmin < 4)
        snprintf(lines[(*n)++], 400, "few seeds: %s%zu per cell (fewer than 4), so every interval "
                 "rests on a rough estimate of the spread: read the differences as indicative",
                 nmin == nmax ? "" : "as few as ", nmin);
}

/* report.md's plot entries: the figure, or why it is missing */
static void md_plots(FILE *f, const rk_rp_plot *plots, size_t n, const char *warning)
{
    if (warning)
        fprintf(f, "Plots missing: %s. Each plot's gnuplot script and data are in this folder; "
                   "run `gnuplot NAME.gp` there to draw NAME.png and NAME.svg.\n\n", warning);
    for (size_t i = 0; i < n; i++) {
        if (plots[i].drawn) {
            fprintf(f, "### %s\n\n![%s](%s.png)\n\n", plots[i].title, plots[i].title,
                    plots[i].name);
            md_text(f, plots[i].caption); /* it names a cell: data, one line */
            fprintf(f, " ([SVG](%s.svg), [script](%s.gp))\n\n", plots[i].name, plots[i].name);
        }
        else
            fprintf(f, "### %s\n\nNot drawn (see above): [script](%s.gp).\n\n", plots[i].title,
                    plots[i].name);
    }
}

/* index.html's figures: the SVG inlined, or why it is missing */
static int html_plots(FILE *f, const char *dir, const rk_rp_plot *plots, size_t n,
                      const char *warning, rk_err *err)
{
    int rc = RK_OK;
    if (warning) {
        fputs("<p class=\"note\">Plots missing: ", f);
        html_text(f, warning);
        fputs(". Each plot's gnuplot script and data are in this folder; run <code>gnuplot "
              "NAME.gp</code> there to draw NAME.png and NAME.svg.</p>\n", f);
    }
    for (size_t i = 0; i < n && !rc; i++) {
        char svg[96], prefix[32];
        snprintf(svg, sizeof svg, "%s.svg", plots[i].name);
        snprintf(prefix, sizeof prefix, "p%zu_", i);
        fprintf(f, "<figure id=\"%s\">\n<h3>", plots[i].name);
        html_text(f, plots[i].title);
        fputs("</h3>\n", f);
        if (!plots[i].drawn) {
            fprintf(f, "<p class=\"note\">Not drawn (see above): <a href=\"%s.gp\">gnuplot "
                       "script</a>.</p>\n</figure>\n", plots[i].name);
            continue;
        }
        rc = inline_svg(f, dir, svg, prefix, plots[i].title, err);
        fputs("\n<figcaption>", f);
        html_text(f, plots[i].caption);
        fprintf(f, " (<a href=\"%s.png\">PNG</a>, <a href=\"%s.gp\">gnuplot script</a>)"
                   "</figcaption>\n</figure>\n", plots[i].name, plots[i].name);
    }
    return rc;
}

int rk_report_write(const rk_results *r, const rk_report_opts *o, rk_report_files *files,
                    rk_err *err)
{
    if (!o || !o->out_dir || !*o->out_dir)
        return rk_errf(err, RK_EINVAL, "report: an output folder is required");
    const char *dir = o->out_dir;
    int rc = rk_mkdirs(dir, err);
    if (rc) return rc;
    rk_rp_plot *plots = NULL;
    size_t nplots = 0;
    rk_rp_series *ser = NULL;
    size_t nser = 0;
    rk_claim *cl = NULL;
    size_t ncl = 0;
    tables ts = {0};
    char *conv = NULL, *warning = NULL;
    /* plots first: their .dat and .gp files always, the images when gnuplot draws them */
    if ((rc = rk_rp_plots(r, o, &plots, &nplots, files, &warning, err))) goto done;
    if ((rc = write_cells_csv(r, dir, err)) || (rc = rk_rp_file_add(files, "cells.csv", err))) goto done;
    if ((rc = write_deltas_csv(r, dir, err)) || (rc = rk_rp_file_add(files, "deltas.csv", err)))
        goto done;
    if ((rc = rk_rp_series_list(r, &ser, &nser, err))) goto done;
    if ((rc = rk_store_claims_latest(r->db, r->study, &cl, &ncl, err))) goto done;

    char cap[400], title[64];
    const char *M = r->metric ? r->metric : "AP"; /* mIoU for a segmentation study */
    snprintf(cap, sizeof cap, "%s ×100: mean over seeds ± half-width of the %g %% Student-t "
             "interval; (n = 1): one seed, no interval.", M, 100 * r->confidence);
    by_fraction_tables(&ts, r, ser, nser, M, cap, ap_of, keep_all);
    size_t n_ap = ts.n;
    snprintf(cap, sizeof cap, "%s(arm) − %s(scratch) ×100 in the same cell, paired by seed: mean "
             "[%g %% CI]. Positive: the arm beats training from scratch.", M, M, 100 * r->confidence);
    snprintf(title, sizeof title, "Δ%s vs scratch", M);
    by_fraction_tables(&ts, r, ser, nser, title, cap, delta_of, keep_not_scratch);
    size_t n_delta = ts.n;
    /* against the control only where the study has one: the pseudo-labels' own effect */
    int controls = 0;
    for (size_t i = 0; i < r->narms && !controls; i++) controls = keep_controlled(r, r->arms[i]);
    if (controls) {
        snprintf(cap, sizeof cap, "%s(arm) − %s(its control) ×100 in the same cell, paired by "
                 "seed: mean [%g %% CI]. The control starts from the same teacher and trains as "
                 "long on labelled data only, so this is the pseudo-labels' own effect.", M, M,
                 100 * r->confidence);
        snprintf(title, sizeof title, "Δ%s vs control", M);
        by_fraction_tables(&ts, r, ser, nser, title, cap, control_delta_of, keep_controlled);
    }
    size_t n_control = ts.n;
    paper_tables(&ts, r);
    size_t n_paper = ts.n;
    by_fraction_tables(&ts, r, ser, nser, "CPU seconds per trial",
                       "Mean over seeds of what one trial cost from nothing (the plots use it): "
                       "its own training and evaluation; a student or control adds its "
                       "teacher's training and its pseudo-labelling; an arm descended from the "
                       "pre-trained backbone adds the backbone's whole pre-training (one per "
                       "seed).", cpu_of, keep_all);
    by_fraction_tables(&ts, r, ser, nser, "CPU seconds per trial, backbone amortised",
                       "As above, with the backbone's pre-training divided among the study's "
                       "trials that used it.", cpu_amortised_of, keep_all);
    machines_table(&ts, r);
    size_t n_cpu = ts.n;
    all_stats_table(&ts, r);
    failed_table(&ts, r);
    size_t n_failed = ts.n;
    if (ncl) claims_table(&ts, cl, ncl);
    /* the budget-limited cells, then the convergence table where something was measured;
     * the summary always */
    size_t n_conv = ts.n;
    budget_table(&ts, r);
    int measured = 0;
    for (size_t i = 0; i < r->ncells; i++) measured |= r->cells[i].conv != RK_CONV_UNMEASURED;
    if (measured) convergence_table(&ts, r);
    if (ts.oom || !(conv = convergence_summary(r))) {
        rc = oom(err);
        goto done;
    }
    char summary[10][400];
    size_t nsum;
    summary_lines(r, summary, &nsum);
    if (warning) snprintf(summary[nsum++], 400, "plots: missing (%.300s)", warning);

    /* report.md */
    FILE *f;
    if ((rc = rk_rp_open(&f, dir, "report.md", err))) goto done;
    fprintf(f, "# Study %s — rethink report\n\n", r->study);
    for (size_t i = 0; i < nsum; i++) fprintf(f, "- %s\n", summary[i]);
    fprintf(f, "- data: [cells.csv](cells.csv) (every stat and convergence per cell), "
               "[deltas.csv](deltas.csv) (paired deltas vs scratch%s); each plot's gnuplot "
               "script and data are beside it\n\n", controls ? " and vs control" : "");
    if (ncl) {
        fprintf(f, "## Claims\n\n");
        md_table(f, &ts.t[n_failed]);
    }
    fprintf(f, "## %s by cell\n\n", M);
    for (size_t i = 0; i < n_ap; i++) md_table(f, &ts.t[i]);
    fprintf(f, "## Paired deltas against scratch\n\n");
    for (size_t i = n_ap; i < n_delta; i++) md_table(f, &ts.t[i]);
    if (controls) {
        fprintf(f, "## Paired deltas against the control\n\n");
        for (size_t i = n_delta; i < n_control; i++) md_table(f, &ts.t[i]);
    }
    if (n_paper > n_control) {
        fprintf(f, "## The paper's comparisons\n\n");
        for (size_t i = n_control; i < n_paper; i++) md_table(f, &ts.t[i]);
    }
    fprintf(f, "## Convergence\n\n");
    md_text(f, conv);
    fprintf(f, "\n\n");
    for (size_t i = n_conv; i < ts.n; i++) md_table(f, &ts.t[i]);
    fprintf(f, "## Plots\n\n");
    md_plots(f, plots, nplots, warning);
    fprintf(f, "## Compute\n\n");
    for (size_t i = n_paper; i < n_cpu; i++) md_table(f, &ts.t[i]);
    fprintf(f, "## Every stat\n\n");
    for (size_t i = n_cpu; i < n_failed; i++) md_table(f, &ts.t[i]);
    if ((rc = rk_rp_close(f, dir, "report.md", err)) || (rc = rk_rp_file_add(files, "report.md", err)))
        goto done;

    /* index.html */
    if ((rc = rk_rp_open(&f, dir, "index.html", err))) goto done;
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    html_text(f, r->study);
    fprintf(f, " — rethink report</title>\n<style>%s</style>\n</head>\n<body>\n<h1>Study ", CSS);
    html_text(f, r->study);
    fputs(" — rethink report</h1>\n<ul>\n", f);
    for (size_t i = 0; i < nsum; i++) {
        fputs("<li>", f);
        html_text(f, summary[i]);
        fputs("</li>\n", f);
    }
    fputs("<li>data: <a href=\"cells.csv\">cells.csv</a>, <a href=\"deltas.csv\">deltas.csv</a>, "
          "<a href=\"report.md\">report.md</a></li>\n</ul>\n", f);
    if (ncl) {
        fputs("<h2>Claims</h2>\n", f);
        html_table(f, &ts.t[n_failed]);
    }
    fprintf(f, "<h2>%s by cell</h2>\n", M);
    for (size_t i = 0; i < n_ap; i++) html_table(f, &ts.t[i]);
    fputs("<h2>Paired deltas against scratch</h2>\n", f);
    for (size_t i = n_ap; i < n_delta; i++) html_table(f, &ts.t[i]);
    if (controls) {
        fputs("<h2>Paired deltas against the control</h2>\n", f);
        for (size_t i = n_delta; i < n_control; i++) html_table(f, &ts.t[i]);
    }
    if (n_paper > n_control) {
        fputs("<h2>The paper's comparisons</h2>\n", f);
        for (size_t i = n_control; i < n_paper; i++) html_table(f, &ts.t[i]);
    }
    fputs("<h2>Convergence</h2>\n<p>", f);
    html_text(f, conv);
    fputs("</p>\n", f);
    for (size_t i = n_conv; i < ts.n; i++) html_table(f, &ts.t[i]);
    fputs("<h2>Plots</h2>\n", f);
    if ((rc = html_plots(f, dir, plots, nplots, warning, err))) {
        fclose(f);
        goto done;
    }
    fputs("<h2>Compute</h2>\n", f);
    for (size_t i = n_paper; i < n_cpu; i++) html_table(f, &ts.t[i]);
    fputs("<h2>Every stat</h2>\n", f);
    for (size_t i = n_cpu; i < n_failed; i++) html_table(f, &ts.t[i]);
    fputs("</body>\n</html>\n", f);
    if ((rc = rk_rp_close(f, dir, "index.html", err))) goto done;
    rc = rk_rp_file_add(files, "index.html", err);
done:
    if (!rc && files && warning) files->warning = warning, warning = NULL;
    free(warning);
    free(conv);
    tables_free(&ts);
    rk_claims_free(cl, ncl);
    free(ser);
    free(plots);
    return rc;
}
