/* rethink check: claims over a study's results, each judged HOLDS, FAILS or INCONCLUSIVE
 * with its evidence (estimate, confidence interval, n, the cells used), for people and CI.
 *
 * A claims file (INI, docs/CLAIMS.md) has one section per claim, [claim.NAME]. A claim is
 * tested in *units* — one per cell of its slice (delta, value), or per step along an axis
 * (trend), or per cell and stat (baseline) — and each unit's quantity is summarised over
 * seeds (paired by seed where two arms or two levels are compared):
 *   HOLDS        the unit's confidence interval lies inside the claimed region,
 *   FAILS        it lies entirely outside, and still does after the claim's correction for
 *                testing k units (below),
 *   INCONCLUSIVE otherwise: it straddles the boundary, n < 2 (no interval), the cell is
 *                missing, it rests on a budget-limited cell (report.h), or it lies outside
 *                only before the correction.
 * A claim holds when every unit holds (an intersection–union test: each unit at confidence
 * c, no correction needed), fails when any unit fails, else is inconclusive. The correction
 * (claim key `correction`) controls the chance of a false FAILS over the k units at 1 − c:
 *   holm (default)  Holm's step-down: unit p-values against the region (rk_region_p),
 *                   adjusted (rk_holm_adjust) over the k units; a unit fails when its
 *                   interval at c lies outside and its adjusted p < 1 − c;
 *   bonferroni      every unit's interval at 1 − (1 − c)/k, for HOLDS as well as FAILS (the
 *                   older, more conservative rule: a claim fails exactly when it fails under
 *                   Holm, and holds less often);
 *   none            each unit at c ("any unit fails": the verdicts before corrections).
 * A claim's reported estimate, interval, n and minimal detectable effect are those of the
 * deciding unit: the first failing one, else the first inconclusive one, else the one
 * closest to the boundary.
 *
 * Baseline units are a regression alarm instead (detectron2's EXPECTED_RESULTS, with seeds):
 * a cell's mean may move from the baseline's by at most
 * max(tolerance, k · std_base · √(1/n_base + 1/n_now)); within is HOLDS, beyond is FAILS,
 * a cell the results lack is INCONCLUSIVE (no correction applies: it is not a test).
 *
 * Errors (RK_EINVAL / RK_EFORMAT) are bad input and name file:line and key: a malformed
 * claims or baseline file, an unknown arm, stat or config key, an aug, fraction or axis the
 * study does not have (unless the claim says if_missing = inconclusive). */
#ifndef RETHINK_CHECK_H
#define RETHINK_CHECK_H

#include <stddef.h>

#include "rethink/core.h"
#include "rethink/report.h"
#include "rethink/store.h"

typedef enum { RK_HOLDS = 0, RK_FAILS = 1, RK_INCONCLUSIVE = 2 } rk_verdict;

/* "HOLDS", "FAILS", "INCONCLUSIVE" (the store's strings). */
const char *rk_verdict_name(rk_verdict v);

/* How a claim over k units controls its false FAILS (see above). */
typedef enum { RK_CORR_HOLM = 0, RK_CORR_BONFERRONI, RK_CORR_NONE } rk_correction;

/* "holm", "bonferroni", "none". */
const char *rk_correction_name(rk_correction c);

/* What a claim does with a unit resting on a budget-limited cell (a plateau-schedule trial
 * that hit its maximum budget: not converged): key budget_limited. */
typedef enum { RK_BUDGET_INCONCLUSIVE = 0, RK_BUDGET_IGNORE } rk_budget_rule;

/* Power at which the minimal detectable effect is stated. */
#define RK_MDE_POWER 0.8

typedef enum {
    RK_CLAIM_DELTA,    /* stat(a) − stat(b), paired by seed, in each cell of the slice */
    RK_CLAIM_VALUE,    /* stat of an arm in each cell of the slice */
    RK_CLAIM_TREND,    /* along an axis, consecutive (or first-to-last) paired differences of
                          an arm's stat or of a delta */
    RK_CLAIM_BASELINE, /* each cell's mean against a baseline file */
    RK_CLAIM_STABLE,   /* no trial of the slice diverged (failed with a non-finite loss) */
} rk_claim_type;

/* An arm with optional config conditions: "selftrain[selftrain.normalize=0]". */
typedef struct rk_arm_sel {
    char *arm;
    rk_param *where;
    size_t nwhere;
} rk_arm_sel;

#define RK_BASELINE_MAX_N 1000000 /* seeds a baseline cell may count */

typedef struct rk_baseline_cell {
    char *arm, *aug, *variant;
    double fraction;
    size_t n;
    double mean[RK_COCO_NSTATS], std[RK_COCO_NSTATS]; /* NAN: absent */
    int line;
} rk_baseline_cell;

typedef struct rk_baseline {
    char *path, *study;
    double k;                     /* std multiplier */
    double tol[RK_COCO_NSTATS];  /* absolute tolerance; NAN: stat not checked */
    rk_baseline_cell *cells;
    size_t ncells;
} rk_baseline;

typedef struct rk_claim_spec {
    char *name, *description;
    char *file;
    int line;                     /* the section's first key */
    rk_claim_type type;
    int stat;                     /* a COCO stat (rk_coco_stat_name); -1: baseline's own */
    int miou;                     /* stat = mIoU: the primary stat (stat = RK_AP) of
                                     segmentation trials (model.task = segment) */
    int line_stat;                /* where stat was set (0: not set) */
    rk_arm_sel a, b;              /* delta; trend of a delta */
    rk_arm_sel *arms;             /* value, trend, stable, baseline; none: every arm */
    size_t narms;
    char **augs;                  /* none: every aug of the study */
    size_t naugs;
    double *fractions;            /* none: every fraction */
    size_t nfractions;
    double min, max;              /* the claimed region (min, max); NAN: unbounded */
    char *axis;                   /* trend: "aug", "fraction" or a config key */
    int compare_ends;             /* trend: first vs last level instead of each step */
    rk_correction correction;     /* key correction (default holm) */
    rk_budget_rule budget;        /* key budget_limited (default inconclusive) */
    int missing_inconclusive;     /* if_missing = inconclusive */
    rk_baseline *baseline;        /* baseline claims */
    int line_arm, line_aug, line_fraction, line_axis, line_a, line_b; /* for errors found
                                                                         against the data */
} rk_claim_spec;

typedef struct rk_claimset {
    char *path;
    char *study;                  /* [claims] study, or NULL */
    double confidence;            /* [claims] confidence, or NAN */
    rk_claim_spec *c;
    size_t n;
} rk_claimset;

/* Parses a claims file; every error names path:line and the key. */
int rk_claimset_load(rk_claimset *s, const char *path, rk_err *err);
/* Reads a baseline file (as rk_baseline_save writes it) and appends the claim "baseline"
 * checking every stat its [tolerance] section names over every cell. */
int rk_claimset_add_baseline(rk_claimset *s, const char *baseline_path, rk_err *err);
void rk_claimset_free(rk_claimset *s);

int rk_baseline_load(rk_baseline *b, const char *path, rk_err *err);
void rk_baseline_free(rk_baseline *b);
/* Writes the study's per-cell means, std and n of the 12 stats as a baseline file, with a
 * default [tolerance] section (AP, AP50; k = 3) to edit. Deterministic. */
int rk_baseline_save(const rk_results *r, const char *path, rk_err *err);

typedef struct rk_check_unit {
    char *label;                  /* e.g. "S4 20%", "scratch 100%: S1 -> S2" */
    rk_verdict verdict;
    rk_summary s;                 /* the tested quantity over seeds (stable: only n, the
                                     trials seen) */
    double estimate;              /* what the verdict is about: s.mean, or for a stable
                                     claim the number of diverged trials */
    char *note;                   /* why it is inconclusive, or NULL */
    double p;                     /* rk_region_p of s against the region; NAN: not tested */
    double p_adjusted;            /* after the claim's correction (holm: Holm's; bonferroni:
                                     min(1, k p); none: p); NAN: not tested */
    double mde;                   /* rk_mde at the level its interval used, RK_MDE_POWER;
                                     NAN when n < 2 */
    int budget_limited;           /* rests on a budget-limited cell */
} rk_check_unit;

typedef struct rk_check_result {
    char *name, *description;
    rk_claim_type type;
    rk_verdict verdict;
    rk_summary s;                 /* the deciding unit's */
    double estimate;              /* the deciding unit's */
    double min, max;              /* the claimed region (NAN: unbounded) */
    double confidence;            /* of the units' intervals (bonferroni: corrected) */
    rk_correction correction;
    double mde;                   /* the deciding unit's minimal detectable effect (NAN: none,
                                     n < 2 or a baseline / stable claim) */
    size_t nbudget;               /* units resting on budget-limited cells */
    size_t nmin;                  /* HOLDS / FAILS: the fewest seeds among the units behind the
                                     verdict (below 4 it is stated as indicative); else 0 */
    char *reason;                 /* one line: why this verdict */
    rk_check_unit *units;
    size_t nunits;
} rk_check_result;

const char *rk_claim_type_name(rk_claim_type t);

/* Judges every claim against the results (at r->confidence). Bad input is an error and no
 * result is returned. */
int rk_check_run(const rk_claimset *s, const rk_results *r, rk_check_result **out, size_t *n,
                 rk_err *err);
void rk_check_results_free(rk_check_result *res, size_t n);
/* Appends each verdict to the store's claims table (details: JSON with the units). */
int rk_check_record(rk_store *db, const char *study, const rk_check_result *res, size_t n,
                    rk_err *err);
/* 0 every claim holds (or none), 1 at least one fails, 3 none fails but some are
 * inconclusive: the exit code of rethink check. */
int rk_check_exit_code(const rk_check_result *res, size_t n);
/* One line of JSON: {"study", "confidence", "exit", "holds", "fails", "inconclusive",
 * "claims": [{"name", "type", "verdict", "estimate", "ci", "n", "n_min", "mde", "correction",
 * "budget_limited_units", "reason", "units": [{"cell", "verdict", "estimate", "ci", "n",
 * "p", "p_adjusted", "mde", "budget_limited", "note"}]}]}; malloc'd. */
char *rk_check_json(const char *study, double confidence, const rk_check_result *res,
                    size_t n);

#endif
