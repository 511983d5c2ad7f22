/* rethink report: what a study's results say, with their uncertainty — per-cell statistics
 * over seeds, deltas between arms paired by seed, and the report folder (gnuplot plots as
 * PNG and SVG, index.html, report.md, cells.csv, deltas.csv).
 *
 * Terms (docs/ARCHITECTURE.md §Reports and claims):
 *  - a *cell* is (arm, aug, fraction, variant); its trials differ only by seed. The variant
 *    holds the trial's values on the study's extra grid axes — config keys other than
 *    trial.* that take more than one value among the study's trials — as key/value pairs
 *    sorted by key, shown as "selftrain.alpha=0.5;train.lr=0.1" ("" when there are none). A
 *    trial carries only the axes its config has (a scratch trial has no selftrain.alpha),
 *    so its cell has fewer pairs.
 *  - two variants are *compatible* when every key both name has the same value: a
 *    selftrain cell with α = 0.5 pairs with the scratch cell of its (aug, fraction).
 *  - values are paired *by seed*: the same seed gives the same labelled subset and the same
 *    initialisation across arms and augmentations, so a paired difference removes that noise.
 *
 * Statistics: mean, sample standard deviation (n − 1) and the two-sided Student-t confidence
 * interval mean ± t((1 + c)/2, n − 1) · s / √n (quantile from GSL). With n = 1 the standard
 * deviation and the interval are undefined: NAN, never a made-up width.
 *
 * COCO stats are stored as fractions (0.392); tables and plots show them ×100 ("AP points",
 * as the paper does); cells.csv and deltas.csv keep the stored units.
 *
 * Convergence, two ways:
 *  - a trial trained with the plateau schedule (train.schedule = plateau) stops when its dev
 *    AP stops improving, its step budget only a safety net, and records why it stopped
 *    (stop_reason 'plateau' or 'budget'). One that stopped on 'budget' hit that maximum: it
 *    is not converged (budget-limited), and so is a cell holding such a trial;
 *  - a trial with a fixed budget (the cosine schedule) and a dev split (train.dev > 0)
 *    records dev.AP at the epochs it evaluated, select.epoch (the epoch whose checkpoint it
 *    kept: the best dev AP, ties to the earlier) and select.dev.AP, and the report says
 *    whether each cell had stopped improving within its budget: from a trial's epochs T (the
 *    last step of its loss metric), its last-quarter gain is the best dev AP at epochs
 *    e > 0.75 T minus the best at e <= 0.75 T (positive: still improving late), and a cell
 *    has plateaued when its mean gain over seeds is below RK_PLATEAU_REL times its mean kept
 *    dev AP (a threshold relative to the cell's AP: half a point means little at AP 30 and
 *    everything at AP 1).
 * Trials without these facts have no convergence numbers (NAN), never made-up ones.
 *
 * The report reads the database through the store, opened read-only, and never writes it;
 * claims verdicts shown are the store's latest per claim (rethink check writes them). Output
 * is deterministic: the same database gives the same bytes. */
#ifndef RETHINK_REPORT_H
#define RETHINK_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rethink/core.h"
#include "rethink/store.h"

/* ---- statistics ---- */

typedef struct rk_summary {
    size_t n;
    double mean;            /* NAN when n = 0 */
    double std;             /* sample (n − 1); NAN when n < 2 */
    double ci_low, ci_high; /* Student-t interval at the given confidence; NAN when n < 2 */
} rk_summary;

/* The p-quantile of Student's t with df degrees of freedom; NAN unless 0 < p < 1, df > 0. */
double rk_t_quantile(double p, double df);
/* P(T <= x) for Student's t with df degrees of freedom (x may be ±INFINITY); NAN unless
 * df > 0 and x is not NAN. */
double rk_t_cdf(double x, double df);
/* The minimal detectable effect of a mean over s->n values with sample SD s->std: the
 * smallest true distance from a boundary that a two-sided test at level alpha detects with
 * the given power, (t(1 − alpha/2, n − 1) + t(power, n − 1)) · std / √n. NAN when n < 2. */
double rk_mde(const rk_summary *s, double alpha, double power);
/* Two-sided p-value that the mean of s lies outside the region (lo, hi) (NAN: open end):
 * min over the closed ends of 2 P(T <= (mean − lo)/se) and 2 P(T >= (mean − hi)/se), capped
 * at 1, se = std/√n, df = n − 1. p < alpha exactly when the (1 − alpha) interval lies
 * entirely outside the region. NAN when n < 2. */
double rk_region_p(const rk_summary *s, double lo, double hi);
/* Holm's step-down adjustment of p[0..n): sorted ascending p(1) <= ... <= p(n), the adjusted
 * p(i) is max over j <= i of min(1, (n − j + 1) p(j)); H(i) is rejected at level alpha when
 * its adjusted p is below alpha. A NAN p (no test) sorts last, counts in n and stays NAN. */
void rk_holm_adjust(const double *p, size_t n, double *adj);
/* Summary of x[0..n) (non-finite values are skipped: they do not count in n). */
void rk_summarize(const double *x, size_t n, double confidence, rk_summary *s);
/* Index of a COCO stat name (rk_coco_stat_name: "AP", "AP50", "APs", ..., or its column
 * name in views and exports, rk_coco_stat_column: "AP_s"), -1 if unknown. */
int rk_stat_index(const char *name);

/* Values keyed by seed, sorted by seed (seeds unique). */
typedef struct rk_seeded {
    size_t n;
    int64_t *seed;
    double *v;
} rk_seeded;

void rk_seeded_free(rk_seeded *s);
/* out = a − b on the seeds both have (the pairing); seeds in only one are dropped. */
int rk_seeded_diff(const rk_seeded *a, const rk_seeded *b, rk_seeded *out, rk_err *err);

/* ---- a study's results ---- */

/* A fixed-budget cell has plateaued when its mean last-quarter dev gain is below this
 * fraction of its mean kept dev AP (0.02: 0.6 AP points at dev AP 30). */
#define RK_PLATEAU_REL 0.02

/* Best dev AP at epochs e > 0.75 epochs minus the best at e <= 0.75 epochs, over the dev
 * evaluations dev[0..n) (step = epoch); NAN when either part has no finite evaluation or
 * epochs < 1. */
double rk_dev_gain_last_quarter(const rk_metric *dev, size_t n, int64_t epochs);

/* A trial's values on the extra grid axes (see above). */
typedef struct rk_variant {
    rk_param *kv;         /* (n) sorted by key; the strings are the trial's params' */
    size_t n;
    char *text;           /* rk_variant_format of all pairs: shown, and orders cells */
} rk_variant;

/* Writes "k1=v1;k2=v2" of v's pairs except key `skip` (NULL: none) into out (cap bytes,
 * NUL-terminated, truncated if need be; cap 0: nothing written): the one way a variant is
 * shown. Returns the length of the whole text, as snprintf. */
size_t rk_variant_format(const rk_variant *v, const char *skip, char *out, size_t cap);
/* The value of key in v, or NULL. */
const char *rk_variant_value(const rk_variant *v, const char *key);
/* 1 if the two variants agree on every key both name. */
int rk_variants_compatible(const rk_variant *a, const rk_variant *b);

typedef struct rk_result_trial {
    int64_t id, seed;
    char *arm, *aug;
    double fraction;
    rk_variant variant;
    char *settings;       /* its values of the per-cell settings (rk_results.settings), shown
                             as a variant is; never NULL */
    rk_trial_status status;
    char *error;          /* failed trials: why; else NULL */
    int error_code;       /* failed trials: the rc they failed with (core.h), 0 unknown */
    double stats[RK_COCO_NSTATS]; /* NAN unless finished */
    double cpu_s, wall_s; /* the trial's own training and evaluation (NAN unless finished) */
    /* What one trial of the cell cost from nothing (docs/ARCHITECTURE.md §Compute per
     * trial): cpu_s, plus for a student (or its control) its teacher's CPU seconds
     * (trials.teacher_cpu_s when the teacher was trained inside it, else the finished
     * teacher trial's cpu_s through trial_deps, else its teacher artifact's) and its
     * pseudo-labels' (the artifact's CPU seconds, else trials.pseudo_cpu_s), plus for every
     * arm descended from the pre-trained backbone the backbone's whole pre-training
     * (backbone_cpu_s). The plots use it. */
    double total_cpu_s;
    /* The same with the backbone amortised: backbone_cpu_s / backbone_users. */
    double total_cpu_amortised_s;
    double pseudo_cpu_s;  /* self-training: its pseudo-labels' CPU seconds; NAN otherwise */
    double teacher_cpu_s; /* students and controls: their teacher's; NAN otherwise */
    double backbone_cpu_s; /* its backbone's pre-training CPU seconds (whole); 0 without one,
                              NAN unknown */
    size_t backbone_users; /* finished trials of the study that used that backbone */
    double source_acc;    /* its backbone's held-out source accuracy; NAN without one */
    int64_t pseudo_kept, pseudo_boxes; /* its pseudo-labels: images with a box, boxes; -1 */
    /* convergence on the dev split (finished trials with dev.AP metrics; else NAN) */
    double dev_best;      /* max dev.AP: the kept checkpoint's dev AP */
    double dev_gain;      /* rk_dev_gain_last_quarter over its dev.AP and epochs */
    double select_frac;   /* select.epoch / epochs */
    /* how its detector stopped (finished trials recorded by schema 3; else NULL / -1) */
    char *stop_reason;    /* "plateau" or "budget" */
    int64_t steps, max_steps;
    char *cpu, *precision; /* the CPU model it ran on and its arithmetic; NULL unrecorded */
    int plateau_schedule; /* its config says train.schedule = plateau */
    int budget_limited;   /* plateau_schedule and it stopped on "budget": it hit the maximum */
    rk_param *params;     /* the flattened config, sorted by key */
    size_t nparams;
} rk_result_trial;

typedef enum rk_convergence {
    RK_CONV_UNMEASURED,   /* no trial of the cell has dev metrics (no dev split) */
    RK_CONV_UNDETERMINED, /* dev metrics, but no gain: no evaluation in one of the parts */
    RK_CONV_PLATEAUED,    /* mean last-quarter gain < RK_PLATEAU_REL × mean kept dev AP */
    RK_CONV_IMPROVING,    /* still improving at the end of its budget */
    /* plateau schedule: every trial of the cell with a stop reason stopped on the rule */
    RK_CONV_STOPPED,
    /* plateau schedule: at least one trial hit its maximum budget (not converged) */
    RK_CONV_BUDGET_LIMITED
} rk_convergence;

/* "not measured", "undetermined", "plateaued", "still improving", "converged" (the plateau
 * rule stopped it), "hit the maximum". */
const char *rk_convergence_name(rk_convergence c);

typedef struct rk_cell {
    const char *arm, *aug;   /* point into the trials' strings */
    const rk_variant *variant; /* its first trial's */
    const char *settings; /* the per-cell settings ("train.steps=7000") of its first trial */
    double fraction;
    size_t *idx;          /* finished trials of the cell, by seed (indices into t) */
    size_t n;
    rk_summary stat[RK_COCO_NSTATS];
    rk_summary cpu;       /* total_cpu_s (the plots') */
    rk_summary cpu_amortised; /* total_cpu_amortised_s */
    /* convergence: over the trials with dev metrics (dev_best.n = 0: not measured) */
    rk_summary dev_best, dev_gain, select_frac;
    /* how its trials stopped: counts of stop reasons, steps trained (over the trials that
     * recorded them) and the largest budget; budget_limited counts the trials that trained
     * with the plateau schedule and hit its maximum, plateau_schedule those with the
     * schedule at all */
    size_t stop_plateau, stop_budget, budget_limited, plateau_schedule;
    rk_summary steps;
    int64_t max_steps;    /* -1 unknown */
    rk_convergence conv;
} rk_cell;

typedef struct rk_results {
    char *db_path, *study;
    double confidence;
    rk_result_trial *t;   /* every detector trial of the study with an arm, by id */
    size_t n;
    char **axes;          /* extra grid axes: keys with two values in one slice, sorted */
    size_t naxes;
    char **settings;      /* keys that differ only between slices ([when:]), sorted */
    size_t nsettings;
    /* distinct values among finished trials, in display order: arms as in DESIGN.md
     * (scratch, pretrain, selftrain, pretrain+selftrain, then others by name), augs in
     * natural order (S1 < S2 < S10), fractions ascending, variants (their text) by name */
    char **arms, **augs, **variants;
    size_t narms, naugs, nvariants;
    double *fractions;
    size_t nfractions;
    rk_cell *cells;       /* by arm, variant, fraction, aug (display order) */
    size_t ncells;
    rk_store *db;         /* read-only (metrics: rk_store_metrics_get; claims verdicts:
                             rk_store_claims_latest) */
    /* What the primary stat (stats[RK_AP]) is: "AP"; "mIoU" when every finished trial is a
     * segmentation trial (model.task = segment); "AP or mIoU" when the study mixes them
     * (model.task an axis: its cells say which). Static text. */
    const char *metric;
} rk_results;

/* Loads a study's trials and builds its cells. study NULL: the database's only study with
 * finished trials (an error listing them if there are several). A missing database file,
 * a missing study or one without finished trials is RK_EINVAL with a message saying so. */
int rk_results_load(rk_results *r, const char *db_path, const char *study, double confidence,
                    rk_err *err);
void rk_results_free(rk_results *r);

/* The cell with exactly these coordinates (variant: its text; NULL: ""), or NULL. */
const rk_cell *rk_results_cell(const rk_results *r, const char *arm, const char *aug,
                               double fraction, const char *variant);
/* The cell of arm at a's (aug, fraction) whose variant is compatible with a's, preferring
 * the one with the most shared keys; NULL if none. */
const rk_cell *rk_results_partner(const rk_results *r, const rk_cell *a, const char *arm);
/* A trial's config value for key, or NULL. */
const char *rk_result_param(const rk_result_trial *t, const char *key);

/* stat of each finished trial of the cell, by seed; COCO's -1 (undefined: no ground truth in
 * the area range) is left out, so deltas and claims on it have no values. */
int rk_cell_values(const rk_results *r, const rk_cell *c, int stat, rk_seeded *out,
                   rk_err *err);
/* stat(a) − stat(b) paired by seed, summarised at r->confidence (out->n: seeds paired). */
int rk_paired_delta(const rk_results *r, const rk_cell *a, const rk_cell *b, int stat,
                    rk_summary *out, rk_err *err);

/* The control of a cell: the cell of its arm's control arm (rk_arms[].control: selftrain →
 * continue) at its (aug, fraction) with a compatible variant, or NULL (no control arm, or
 * the study lacks its cell). */
const rk_cell *rk_results_control(const rk_results *r, const rk_cell *c);

/* ---- the report folder ---- */

typedef struct rk_report_opts {
    const char *out_dir;  /* created if missing */
    /* the cell whose training curves are drawn; arm NULL: the first selftrain cell (else
     * the first cell) */
    const char *curve_arm, *curve_aug;
    double curve_fraction;
    const char *gnuplot;  /* program to run; NULL: "gnuplot" from PATH */
    int shared_y;         /* 1: every panel of ap_vs_aug and ap_vs_fraction on one y range */
} rk_report_opts;

/* What rk_report_write wrote, for the caller to list. */
typedef struct rk_report_files {
    char **paths;         /* relative to out_dir */
    size_t n;
    /* NULL, or why some plots were not drawn (gnuplot missing or failing): the report was
     * written without them and says so; malloc'd */
    char *warning;
} rk_report_files;

void rk_report_files_free(rk_report_files *f);

/* Writes the report folder: cells.csv, deltas.csv, report.md and index.html always; for
 * every plot NAME.gp (gnuplot script) and NAME*.dat, and NAME.png (pngcairo) and NAME.svg
 * when gnuplot draws them. gnuplot runs as a subprocess in out_dir; when it is missing or a
 * script fails, the report is written without those plots, says why (in report.md,
 * index.html and files->warning) and the call succeeds. Text from the data (arm, policy and
 * variant names) reaches a gnuplot script only in single-quoted strings reduced to a
 * whitelist of characters, never where gnuplot substitutes (backquotes, macros). files may
 * be NULL. */
int rk_report_write(const rk_results *r, const rk_report_opts *o, rk_report_files *files,
                    rk_err *err);

/* One CSV field (RFC 4180): as it is, or quoted with its quotes doubled when it holds a
 * comma, a quote or a line break (a study named "a,b" must not shift the columns after it). */
void rk_csv_field(FILE *f, const char *s);

#endif
