/* Reports and claims: statistics against hand-computed values, paired deltas, claims that
 * hold, fail and are inconclusive on purpose-built databases (study_db.c), malformed claims
 * files naming file:line and key, data errors (unknown arm, missing axis value), baselines,
 * verdicts recorded in the store, and the report folder (valid PNG and SVG, self-contained
 * HTML, Markdown, CSV; byte-identical when written twice).
 *
 * Each test works in its own temporary folder. Expected t quantiles are from standard tables
 * (e.g. t(0.975, 2) = 4.302653), so a wrong quantile function fails the tests. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "rethink/check.h"
#include "rethink/report.h"
#include "study_db.h"

static void write_file(const char *name, const char *text)
{
    char p[512];
    fx_path(p, sizeof p, name);
    FILE *f = fopen(p, "w");
    ck_assert(f != NULL);
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *path, size_t *len)
{
    char *s = NULL;
    size_t n;
    rk_err err = {0};
    ck_assert_msg(rk_read_file(path, &s, &n, &err) == RK_OK, "%s", err.msg);
    if (len) *len = n;
    return s;
}

static rk_store *open_db(const char *name)
{
    char p[512];
    fx_path(p, sizeof p, name);
    rk_store *s = NULL;
    rk_err err = {0};
    ck_assert_msg(rk_store_open(&s, p, &err) == RK_OK, "%s", err.msg);
    return s;
}

static void add(rk_store *s, const char *arm, const char *aug, double fr, int seed, double ap)
{
    sdb_trial t = {.arm = arm, .aug = aug, .fraction = fr, .seed = seed, .ap = ap};
    ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
}

static void load(rk_results *r, const char *db)
{
    char p[512];
    fx_path(p, sizeof p, db);
    rk_err err = {0};
    ck_assert_msg(rk_results_load(r, p, NULL, 0.95, &err) == RK_OK, "%s", err.msg);
}

#define NEAR(a, b, tol) ck_assert_msg(fabs((a) - (b)) <= (tol), "%s = %.9g, expected %.9g", #a, (double)(a), (double)(b))

/* ---- statistics ---- */

/* A stat is named as pycocotools' summary names it or as the views and exports do. */
START_TEST(stats_are_named_either_way_and_nothing_else)
{
    ck_assert_int_eq(rk_stat_index("AP"), 0);
    ck_assert_int_eq(rk_stat_index("APs"), 3);
    ck_assert_int_eq(rk_stat_index("AP_s"), 3);
    ck_assert_int_eq(rk_stat_index("AR_l"), 11);
    ck_assert_int_eq(rk_stat_index("ap"), -1);
    ck_assert_int_eq(rk_stat_index("AP_x"), -1);
    ck_assert_int_eq(rk_stat_index(NULL), -1);
}
END_TEST

START_TEST(t_quantiles_match_the_tables)
{
    NEAR(rk_t_quantile(0.975, 1), 12.706205, 1e-5);
    NEAR(rk_t_quantile(0.975, 2), 4.302653, 1e-6);
    NEAR(rk_t_quantile(0.975, 3), 3.182446, 1e-6);
    NEAR(rk_t_quantile(0.95, 10), 1.812461, 1e-6);
    NEAR(rk_t_quantile(0.5, 7), 0.0, 1e-12);
    /* outside the domain: NAN rather than GSL's abort */
    ck_assert(isnan(rk_t_quantile(1.0, 3)));
    ck_assert(isnan(rk_t_quantile(0.975, 0)));
}
END_TEST

START_TEST(summary_is_mean_sample_std_and_student_t_interval)
{
    /* x = 1, 2, 3, 4: mean 2.5, s = sqrt(5/3) = 1.2909944, half-width t(0.975, 3) s / 2 */
    double x[] = {1, 2, 3, 4};
    rk_summary s;
    rk_summarize(x, 4, 0.95, &s);
    ck_assert_uint_eq(s.n, 4);
    NEAR(s.mean, 2.5, 1e-12);
    NEAR(s.std, 1.2909944487, 1e-9);
    NEAR(s.ci_low, 2.5 - 3.182446305 * 1.2909944487 / 2, 1e-6);
    NEAR(s.ci_high, 2.5 + 3.182446305 * 1.2909944487 / 2, 1e-6);
    /* a 90 % interval is narrower: t(0.95, 3) = 2.353363 */
    rk_summarize(x, 4, 0.90, &s);
    NEAR(s.ci_high - s.mean, 2.353363 * 1.2909944487 / 2, 1e-5);
}
END_TEST

START_TEST(one_seed_has_no_interval_and_non_finite_values_do_not_count)
{
    double one[] = {0.4};
    rk_summary s;
    rk_summarize(one, 1, 0.95, &s);
    ck_assert_uint_eq(s.n, 1);
    NEAR(s.mean, 0.4, 1e-15);
    ck_assert(isnan(s.std) && isnan(s.ci_low) && isnan(s.ci_high));
    rk_summarize(one, 0, 0.95, &s);
    ck_assert(s.n == 0 && isnan(s.mean));
    double mixed[] = {1, NAN, 3, INFINITY};
    rk_summarize(mixed, 4, 0.95, &s);
    ck_assert_uint_eq(s.n, 2);
    NEAR(s.mean, 2, 1e-15);
}
END_TEST

START_TEST(seeded_difference_pairs_common_seeds_only)
{
    int64_t sa[] = {1, 2, 3}, sb[] = {2, 3, 4};
    double va[] = {10, 20, 30}, vb[] = {1, 2, 3};
    rk_seeded a = {3, sa, va}, b = {3, sb, vb}, d;
    rk_err err = {0};
    ck_assert(rk_seeded_diff(&a, &b, &d, &err) == RK_OK);
    ck_assert_uint_eq(d.n, 2);
    ck_assert(d.seed[0] == 2 && d.seed[1] == 3);
    NEAR(d.v[0], 20 - 1, 0); /* seed 2: a 20, b 1 */
    NEAR(d.v[1], 30 - 2, 0);
    rk_seeded_free(&d);
}
END_TEST

/* scratch and pretrain S1 50 %, seeds 1..3: paired differences 0.03, 0.04, 0.03 */
static void add_three_pairs(rk_store *s)
{
    double scratch[] = {0.30, 0.32, 0.31}, pre[] = {0.33, 0.36, 0.34};
    for (int i = 0; i < 3; i++) {
        add(s, "scratch", "S1", 0.5, i + 1, scratch[i]);
        add(s, "pretrain", "S1", 0.5, i + 1, pre[i]);
    }
}

START_TEST(cells_and_paired_deltas_from_a_store)
{
    rk_store *s = open_db("r.db");
    add_three_pairs(s);
    add(s, "pretrain", "S1", 0.5, 9, 0.5); /* no scratch partner for seed 9: left unpaired */
    rk_store_close(s);
    rk_results r;
    load(&r, "r.db");
    ck_assert_str_eq(r.study, "st");
    ck_assert_uint_eq(r.ncells, 2);
    const rk_cell *a = rk_results_cell(&r, "pretrain", "S1", 0.5, NULL);
    const rk_cell *b = rk_results_cell(&r, "scratch", "S1", 0.5, "");
    ck_assert(a && b && a->n == 4 && b->n == 3);
    NEAR(b->stat[0].mean, 0.31, 1e-12);
    ck_assert(rk_results_partner(&r, a, "scratch") == b);
    rk_summary d;
    rk_err err = {0};
    ck_assert(rk_paired_delta(&r, a, b, 0, &d, &err) == RK_OK);
    /* deltas 0.03, 0.04, 0.03: mean 1/30, s = 0.0057735, t(0.975, 2) = 4.302653 */
    ck_assert_uint_eq(d.n, 3);
    NEAR(d.mean, 0.1 / 3, 1e-12);
    NEAR(d.std, 0.00577350269, 1e-9);
    NEAR(d.ci_high - d.mean, 4.302653 * 0.00577350269 / sqrt(3), 1e-7);
    rk_results_free(&r);
}
END_TEST

/* COCO's -1 is "undefined" (no ground truth in the area range), not a value: cells whose
 * trials all have -1 pair no seeds, instead of a measured difference of 0. */
START_TEST(an_undefined_stat_has_no_paired_delta)
{
    rk_store *s = open_db("u.db");
    for (int i = 1; i <= 3; i++) {
        add(s, "scratch", "S1", 0.5, i, -1);
        add(s, "pretrain", "S1", 0.5, i, -1);
    }
    rk_store_close(s);
    rk_results r;
    load(&r, "u.db");
    const rk_cell *a = rk_results_cell(&r, "pretrain", "S1", 0.5, NULL);
    const rk_cell *b = rk_results_cell(&r, "scratch", "S1", 0.5, NULL);
    ck_assert(a && b && a->n == 3);
    rk_summary d;
    rk_err err = {0};
    ck_assert(rk_paired_delta(&r, a, b, 0, &d, &err) == RK_OK);
    ck_assert_uint_eq(d.n, 0);
    ck_assert(!isfinite(d.mean));
    rk_results_free(&r);
}
END_TEST

START_TEST(a_missing_database_or_study_is_an_error_that_says_so)
{
    rk_results r;
    rk_err err = {0};
    char p[512];
    fx_path(p, sizeof p, "none.db");
    ck_assert(rk_results_load(&r, p, NULL, 0.95, &err) == RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "no such database"), "%s", err.msg);
    ck_assert_msg(access(p, F_OK) != 0, "loading must not create the database");
    rk_store *s = open_db("r.db");
    add(s, "scratch", "S1", 0.5, 1, 0.3);
    rk_store_close(s);
    fx_path(p, sizeof p, "r.db");
    ck_assert(rk_results_load(&r, p, "nope", 0.95, &err) == RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "'nope'") && strstr(err.msg, "st"), "%s", err.msg);
}
END_TEST

START_TEST(extra_axes_become_variants_and_pair_with_the_arm_without_them)
{
    rk_store *s = open_db("r.db");
    for (int seed = 1; seed <= 2; seed++) {
        add(s, "scratch", "S1", 1.0, seed, 0.30);
        sdb_trial t = {.arm = "selftrain", .aug = "S1", .fraction = 1.0, .seed = seed, .ap = 0.33,
                       .extra = "selftrain.alpha=0.5"};
        ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
        t.extra = "selftrain.alpha=2", t.ap = 0.35;
        ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
    }
    rk_store_close(s);
    rk_results r;
    load(&r, "r.db");
    ck_assert_uint_eq(r.naxes, 1);
    ck_assert_str_eq(r.axes[0], "selftrain.alpha");
    ck_assert_uint_eq(r.ncells, 3);
    const rk_cell *a = rk_results_cell(&r, "selftrain", "S1", 1.0, "selftrain.alpha=2");
    ck_assert(a != NULL);
    const rk_cell *b = rk_results_partner(&r, a, "scratch");
    ck_assert(b && b->variant->n == 0 && !strcmp(b->variant->text, ""));
    ck_assert_uint_eq(a->variant->n, 1);
    ck_assert_str_eq(rk_variant_value(a->variant, "selftrain.alpha"), "2");
    ck_assert_ptr_null(rk_variant_value(a->variant, "train.lr"));
    rk_results_free(&r);
}
END_TEST

/* Variants are compared pair by pair, whatever their values hold: a ';' or '=' inside a
 * value does not split it, and the text is only for showing. */
START_TEST(variants_agree_on_the_keys_both_name_and_show_as_sorted_pairs)
{
    rk_param ab[] = {{"selftrain.alpha", "2"}, {"x.y", "a;b=c"}}, y[] = {{"x.y", "a;b=c"}},
             other[] = {{"selftrain.alpha", "0.5"}}, z[] = {{"x.y", "a"}};
    rk_variant vab = {ab, 2, NULL}, vy = {y, 1, NULL}, vo = {other, 1, NULL}, vz = {z, 1, NULL};
    rk_variant none = {NULL, 0, NULL};
    ck_assert(rk_variants_compatible(&vab, &vy) && rk_variants_compatible(&vy, &vab));
    ck_assert(!rk_variants_compatible(&vab, &vo));
    ck_assert(!rk_variants_compatible(&vab, &vz)); /* "a" is not "a;b=c" */
    ck_assert(rk_variants_compatible(&vab, &none));
    char buf[64];
    ck_assert_uint_eq(rk_variant_format(&vab, NULL, buf, sizeof buf), 27);
    ck_assert_str_eq(buf, "selftrain.alpha=2;x.y=a;b=c");
    rk_variant_format(&vab, "selftrain.alpha", buf, sizeof buf);
    ck_assert_str_eq(buf, "x.y=a;b=c");
    ck_assert_uint_eq(rk_variant_format(&vab, NULL, buf, 10), 27); /* the length it needs */
    ck_assert_str_eq(buf, "selftrain");
    rk_variant_format(&none, NULL, buf, sizeof buf);
    ck_assert_str_eq(buf, "");
}
END_TEST

/* ---- convergence on the dev split ---- */

static rk_metric dev_at(int64_t epoch, double ap)
{
    rk_metric m = {epoch, epoch, "dev.AP", ap};
    return m;
}

START_TEST(last_quarter_gain_splits_the_evaluations_at_three_quarters_of_the_epochs)
{
    /* 8 epochs: 0.75 T = 6, so epoch 6 is early and only epoch 8 is late: 0.30 - 0.30 */
    rk_metric a[] = {dev_at(2, 0.20), dev_at(4, 0.28), dev_at(6, 0.30), dev_at(8, 0.30)};
    NEAR(rk_dev_gain_last_quarter(a, 4, 8), 0.0, 1e-15);
    /* 10 epochs: 0.75 T = 7.5, epoch 7 early, epoch 8 late; the best of each part counts */
    rk_metric b[] = {dev_at(3, 0.45), dev_at(7, 0.40), dev_at(8, 0.50), dev_at(10, 0.48)};
    NEAR(rk_dev_gain_last_quarter(b, 4, 10), 0.05, 1e-15);
    /* worse late (overfitting) is a negative gain; a NAN evaluation does not count */
    rk_metric c[] = {dev_at(2, 0.50), dev_at(9, NAN), dev_at(10, 0.45)};
    NEAR(rk_dev_gain_last_quarter(c, 3, 10), -0.05, 1e-15);
    /* nothing to compare: only the final evaluation, only a NAN late one, or no epochs */
    ck_assert(isnan(rk_dev_gain_last_quarter(b + 3, 1, 10)));
    ck_assert(isnan(rk_dev_gain_last_quarter(c, 2, 10)));
    ck_assert(isnan(rk_dev_gain_last_quarter(a, 4, 0)));
}
END_TEST

/* Dev AP at epochs 1..8 of 8, evaluated every other epoch (NAN: not evaluated). */
static const double PLATEAU[2][8] = {
    {NAN, 0.20, NAN, 0.28, NAN, 0.30, NAN, 0.30},   /* gain 0.30 - 0.30 = 0; kept epoch 6 (tie) */
    {NAN, 0.22, NAN, 0.29, NAN, 0.31, NAN, 0.305}}; /* gain 0.305 - 0.31 = -0.005; kept 6 */
static const double RISING[2][8] = {
    {NAN, 0.10, NAN, 0.15, NAN, 0.20, NAN, 0.26},   /* gain 0.06; kept 8 */
    {NAN, 0.12, NAN, 0.18, NAN, 0.22, NAN, 0.25}};  /* gain 0.03; kept 8 */
static const double FINAL_ONLY[8] = {NAN, NAN, NAN, NAN, NAN, NAN, NAN, 0.33};

/* scratch S1 plateaued, pretrain S1 still rising, selftrain S1 evaluated on dev only at the
 * end (undetermined), scratch S4 without a dev split (not measured); 8 epochs each. */
static void convergence_db(const char *name)
{
    rk_store *s = open_db(name);
    for (int seed = 1; seed <= 2; seed++) {
        sdb_trial t = {.arm = "scratch", .aug = "S1", .fraction = 1.0, .seed = seed, .ap = 0.30,
                       .epochs = 8, .dev_ap = PLATEAU[seed - 1]};
        ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
        t.arm = "pretrain", t.dev_ap = RISING[seed - 1];
        ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
        t.arm = "scratch", t.aug = "S4", t.dev_ap = NULL;
        ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
    }
    sdb_trial t = {.arm = "selftrain", .aug = "S1", .fraction = 1.0, .seed = 1, .ap = 0.33,
                   .epochs = 8, .dev_ap = FINAL_ONLY};
    ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
    rk_store_close(s);
}

START_TEST(convergence_of_trials_and_cells_comes_from_their_dev_metrics)
{
    convergence_db("v.db");
    rk_results r;
    load(&r, "v.db");
    const rk_cell *flat = rk_results_cell(&r, "scratch", "S1", 1.0, NULL);
    const rk_cell *rising = rk_results_cell(&r, "pretrain", "S1", 1.0, NULL);
    const rk_cell *late = rk_results_cell(&r, "selftrain", "S1", 1.0, NULL);
    const rk_cell *none = rk_results_cell(&r, "scratch", "S4", 1.0, NULL);
    ck_assert(flat && rising && late && none);
    /* per trial: seed 2 of the plateaued cell */
    const rk_result_trial *t = &r.t[flat->idx[1]];
    ck_assert_int_eq(t->seed, 2);
    NEAR(t->dev_best, 0.31, 1e-15);
    NEAR(t->dev_gain, -0.005, 1e-12);
    NEAR(t->select_frac, 0.75, 1e-15);
    /* per cell: means over the two seeds */
    ck_assert_uint_eq(flat->dev_best.n, 2);
    NEAR(flat->dev_best.mean, 0.305, 1e-12);
    NEAR(flat->dev_gain.mean, -0.0025, 1e-12);
    NEAR(flat->select_frac.mean, 0.75, 1e-12);
    ck_assert_int_eq(flat->conv, RK_CONV_PLATEAUED);
    NEAR(rising->dev_best.mean, 0.255, 1e-12);
    NEAR(rising->dev_gain.mean, 0.045, 1e-12);
    NEAR(rising->select_frac.mean, 1.0, 1e-12);
    ck_assert_int_eq(rising->conv, RK_CONV_IMPROVING);
    /* one evaluation at the last epoch: a kept checkpoint, but nothing to compare it with */
    ck_assert_uint_eq(late->dev_best.n, 1);
    NEAR(late->dev_best.mean, 0.33, 1e-15);
    ck_assert_uint_eq(late->dev_gain.n, 0);
    ck_assert_int_eq(late->conv, RK_CONV_UNDETERMINED);
    /* no dev split: no numbers at all */
    ck_assert_uint_eq(none->dev_best.n, 0);
    ck_assert(isnan(none->dev_best.mean) && isnan(none->dev_gain.mean) &&
              isnan(none->select_frac.mean) && isnan(r.t[none->idx[0]].dev_gain));
    ck_assert_int_eq(none->conv, RK_CONV_UNMEASURED);
    rk_results_free(&r);
}
END_TEST

/* ---- claims ---- */

/* A study where self-training gains 2 AP points with little noise, pre-training loses 2,
 * and "noisy" gains straddle zero: every verdict on purpose. */
static void claims_db(void)
{
    rk_store *s = open_db("c.db");
    const char *augs[] = {"S1", "S4"};
    double fr[] = {0.2, 1.0};
    double wobble[] = {0.001, -0.001, 0.0005};
    double noisy[] = {0.02, -0.015, 0.001};
    for (int a = 0; a < 2; a++)
        for (int f = 0; f < 2; f++)
            for (int seed = 1; seed <= 3; seed++) {
                double base = 0.30 + 0.02 * a + 0.05 * f + 0.01 * seed;
                add(s, "scratch", augs[a], fr[f], seed, base);
                add(s, "selftrain", augs[a], fr[f], seed, base + 0.02 + wobble[seed - 1]);
                add(s, "pretrain", augs[a], fr[f], seed, base - 0.02 + wobble[seed - 1]);
                add(s, "pretrain+selftrain", augs[a], fr[f], seed, base + noisy[seed - 1]);
            }
    rk_store_close(s);
}

static int run_claims(const char *text, rk_check_result **res, size_t *n, rk_err *err)
{
    write_file("x.claims", text);
    char p[512];
    fx_path(p, sizeof p, "x.claims");
    rk_claimset cs;
    int rc = rk_claimset_load(&cs, p, err);
    if (rc) return rc;
    rk_results r;
    fx_path(p, sizeof p, "c.db");
    rc = rk_results_load(&r, p, NULL, 0.95, err);
    if (!rc) {
        rc = rk_check_run(&cs, &r, res, n, err);
        rk_results_free(&r);
    }
    rk_claimset_free(&cs);
    return rc;
}

static rk_verdict verdict_of(const char *text, int *exit_code)
{
    rk_check_result *res = NULL;
    size_t n = 0;
    rk_err err = {0};
    ck_assert_msg(run_claims(text, &res, &n, &err) == RK_OK, "%s", err.msg);
    ck_assert_uint_eq(n, 1);
    rk_verdict v = res[0].verdict;
    if (exit_code) *exit_code = rk_check_exit_code(res, n);
    rk_check_results_free(res, n);
    return v;
}

START_TEST(a_key_set_per_slice_is_a_cell_setting_not_an_axis)
{
    /* paper.ini's per-slice budgets: train.steps differs between (aug, fraction) slices but
     * is the same for every arm and seed inside one, so the cells stay one per arm, aug and
     * fraction, pair across arms, and a trend can run along aug across budgets */
    rk_store *s = open_db("c.db");
    const char *augs[] = {"S1", "S4"};
    const char *steps[] = {"train.steps=7000", "train.steps=11000"};
    for (int a = 0; a < 2; a++)
        for (int seed = 1; seed <= 3; seed++) {
            double base = 0.30 - 0.05 * a + 0.002 * seed;
            sdb_trial t = {.arm = "scratch", .aug = augs[a], .fraction = 1.0, .seed = seed,
                           .ap = base, .extra = steps[a]};
            ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
            t.arm = "pretrain", t.ap = base + 0.01 + 0.001 * (seed == 2);
            ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
        }
    rk_store_close(s);
    rk_results r;
    load(&r, "c.db");
    ck_assert_uint_eq(r.naxes, 0);
    ck_assert_uint_eq(r.nsettings, 1);
    ck_assert_str_eq(r.settings[0], "train.steps");
    ck_assert_uint_eq(r.ncells, 4);
    const rk_cell *c = rk_results_cell(&r, "pretrain", "S4", 1.0, "");
    ck_assert(c != NULL);
    ck_assert_str_eq(c->settings, "train.steps=11000");
    ck_assert(rk_results_partner(&r, c, "scratch") != NULL);
    rk_results_free(&r);
    ck_assert_int_eq(verdict_of("[claim.t]\ntype = trend\narm = scratch\naxis = aug\n"
                                "direction = decreasing\nfraction = 1.0\n", NULL), RK_HOLDS);
    ck_assert_int_eq(verdict_of("[claim.d]\ntype = delta\na = pretrain\nb = scratch\n"
                                "sign = positive\n", NULL), RK_HOLDS);
    /* the same key swept inside one slice is an axis again */
    s = open_db("c.db");
    sdb_trial t = {.arm = "scratch", .aug = "S1", .fraction = 1.0, .seed = 1, .ap = 0.31,
                   .extra = "train.steps=9000"};
    ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
    rk_store_close(s);
    load(&r, "c.db");
    ck_assert_uint_eq(r.naxes, 1);
    ck_assert_uint_eq(r.nsettings, 0);
    ck_assert_str_eq(r.axes[0], "train.steps");
    rk_results_free(&r);
}
END_TEST

START_TEST(a_key_omitted_at_its_default_still_splits_cells)
{
    /* train.precision is left out of a stored config at its default f32 (old trials never
     * had it): trials without it and trials with bf16 are two variants, not one cell */
    rk_store *s = open_db("c.db");
    for (int seed = 1; seed <= 3; seed++) {
        sdb_trial t = {.arm = "scratch", .aug = "S1", .fraction = 1.0, .seed = seed, .ap = 0.30};
        ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
        t.extra = "train.precision=bf16", t.ap = 0.31;
        ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
    }
    rk_store_close(s);
    rk_results r;
    load(&r, "c.db");
    ck_assert_uint_eq(r.naxes, 1);
    ck_assert_str_eq(r.axes[0], "train.precision");
    ck_assert_uint_eq(r.ncells, 2);
    const rk_cell *f = rk_results_cell(&r, "scratch", "S1", 1.0, "train.precision=f32");
    const rk_cell *b = rk_results_cell(&r, "scratch", "S1", 1.0, "train.precision=bf16");
    ck_assert(f && b);
    ck_assert_int_eq(f->n, 3);
    ck_assert_int_eq(b->n, 3);
    rk_results_free(&r);
}
END_TEST

START_TEST(a_claim_that_holds_in_every_cell_holds_and_exits_0)
{
    claims_db();
    int code;
    ck_assert_int_eq(verdict_of("[claim.st]\ntype = delta\na = selftrain\nb = scratch\n"
                                "sign = positive\n", &code), RK_HOLDS);
    ck_assert_int_eq(code, 0);
    /* its size too: at least one point, less than three */
    ck_assert_int_eq(verdict_of("[claim.st]\ntype = delta\na = selftrain\nb = scratch\n"
                                "min = 0.01\nmax = 0.03\n", NULL), RK_HOLDS);
}
END_TEST

START_TEST(a_claim_contradicted_by_the_interval_fails_and_exits_1)
{
    claims_db();
    int code;
    ck_assert_int_eq(verdict_of("[claim.pt]\ntype = delta\na = pretrain\nb = scratch\n"
                                "sign = positive\n", &code), RK_FAILS);
    ck_assert_int_eq(code, 1);
    /* a size claim fails when the whole interval is beyond the bound */
    ck_assert_int_eq(verdict_of("[claim.st]\ntype = delta\na = selftrain\nb = scratch\n"
                                "min = 0.05\n", NULL), RK_FAILS);
}
END_TEST

START_TEST(a_straddling_interval_or_one_seed_is_inconclusive_and_exits_3)
{
    claims_db();
    int code;
    ck_assert_int_eq(verdict_of("[claim.noisy]\ntype = delta\na = pretrain+selftrain\n"
                                "b = scratch\nsign = positive\n", &code), RK_INCONCLUSIVE);
    ck_assert_int_eq(code, 3);
    /* one more seed in one cell only: that cell pairs a single seed more, still n = 3; a cell
     * with one seed has no interval at all */
    rk_store *s = open_db("c.db");
    add(s, "scratch", "S9", 1.0, 1, 0.3);
    add(s, "selftrain", "S9", 1.0, 1, 0.5);
    rk_store_close(s);
    rk_check_result *res = NULL;
    size_t n = 0;
    rk_err err = {0};
    ck_assert_msg(run_claims("[claim.one]\ntype = delta\na = selftrain\nb = scratch\naug = S9\n"
                             "sign = positive\n", &res, &n, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(res[0].verdict, RK_INCONCLUSIVE);
    ck_assert_uint_eq(res[0].s.n, 1);
    ck_assert(isnan(res[0].s.ci_low));
    ck_assert_msg(strstr(res[0].reason, "n = 1"), "%s", res[0].reason);
    rk_check_results_free(res, n);
}
END_TEST

START_TEST(every_cell_claims_fail_on_one_failing_cell_and_exit_codes_combine)
{
    claims_db();
    /* a holding claim with an inconclusive one exits 3; adding a failing one exits 1 */
    rk_check_result *res = NULL;
    size_t n = 0;
    rk_err err = {0};
    ck_assert_msg(run_claims("[claim.a]\ntype = delta\na = selftrain\nb = scratch\nsign = positive\n"
                             "[claim.b]\ntype = delta\na = pretrain+selftrain\nb = scratch\n"
                             "sign = positive\n",
                             &res, &n, &err) == RK_OK, "%s", err.msg);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(res[0].nunits, 4); /* 2 augs × 2 fractions */
    ck_assert_int_eq(rk_check_exit_code(res, n), 3); /* holds + inconclusive */
    rk_check_results_free(res, n);
    ck_assert_msg(run_claims("[claim.a]\ntype = delta\na = selftrain\nb = scratch\nsign = positive\n"
                             "[claim.b]\ntype = delta\na = pretrain+selftrain\nb = scratch\n"
                             "sign = positive\n[claim.c]\ntype = delta\na = pretrain\nb = scratch\n"
                             "sign = positive\n",
                             &res, &n, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(rk_check_exit_code(res, n), 1); /* any failure wins */
    rk_check_results_free(res, n);
    /* scratch's mean AP is 0.32 / 0.34 / 0.37 / 0.39 in its four cells, each ± 0.025: below
     * 0.36 holds in the first, straddles in the middle two and fails in the last (each unit
     * at 95 %, no correction: the last fails only before Holm's, see the Holm test) */
    ck_assert_msg(run_claims("[claim.v]\ntype = value\narm = scratch\nmax = 0.36\n"
                             "correction = none\n", &res, &n, &err) == RK_OK, "%s", err.msg);
    size_t cnt[3] = {0};
    for (size_t i = 0; i < res[0].nunits; i++) cnt[res[0].units[i].verdict]++;
    ck_assert(cnt[RK_HOLDS] == 1 && cnt[RK_INCONCLUSIVE] == 2 && cnt[RK_FAILS] == 1);
    ck_assert_int_eq(res[0].verdict, RK_FAILS);
    NEAR(res[0].s.mean, 0.39, 1e-9); /* the deciding unit: the failing cell */
    rk_check_results_free(res, n);
}
END_TEST

START_TEST(trends_compare_paired_steps_along_an_axis)
{
    claims_db();
    /* scratch is 2 points better at S4 than S1 in every fraction, for every seed */
    ck_assert_int_eq(verdict_of("[claim.t]\ntype = trend\narm = scratch\naxis = aug\n"
                                "direction = increasing\n", NULL), RK_HOLDS);
    ck_assert_int_eq(verdict_of("[claim.t]\ntype = trend\narm = scratch\naxis = aug\n"
                                "direction = decreasing\n", NULL), RK_FAILS);
    /* the gain of self-training is the same at every fraction: no trend either way */
    ck_assert_int_eq(verdict_of("[claim.t]\ntype = trend\na = selftrain\nb = scratch\n"
                                "axis = fraction\ndirection = decreasing\ncompare = ends\n", NULL),
                     RK_INCONCLUSIVE);
}
END_TEST

START_TEST(a_diverged_trial_fails_a_stability_claim)
{
    claims_db();
    const char *claim = "[claim.s]\ntype = stable\narm = selftrain\n";
    ck_assert_int_eq(verdict_of(claim, NULL), RK_HOLDS);
    rk_store *s = open_db("c.db");
    sdb_trial t = {.arm = "selftrain", .aug = "S1", .fraction = 1.0, .seed = 7,
                   .fail_error = "loss is not finite at step 12", .fail_code = RK_EDIVERGED};
    ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
    rk_store_close(s);
    rk_check_result *res;
    size_t n;
    rk_err err = {0};
    ck_assert_msg(run_claims(claim, &res, &n, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(res[0].verdict, RK_FAILS);
    /* its own numbers: one trial of the 13 diverged, and no mean pretending to be that */
    NEAR(res[0].estimate, 1, 0);
    ck_assert_uint_eq(res[0].s.n, 13);
    ck_assert(isnan(res[0].s.mean));
    rk_check_results_free(res, n);
}
END_TEST

/* Divergence is the error code the trainer failed with, not words in its message: a trial
 * that failed otherwise is unfinished (inconclusive), whatever its message says. */
START_TEST(divergence_is_read_from_the_error_code_not_the_message)
{
    claims_db();
    rk_store *s = open_db("c.db");
    sdb_trial t = {.arm = "selftrain", .aug = "S1", .fraction = 1.0, .seed = 7,
                   .fail_error = "diverged from the plan: no disk", .fail_code = RK_EIO};
    ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
    rk_store_close(s);
    ck_assert_int_eq(verdict_of("[claim.s]\ntype = stable\narm = selftrain\n", NULL),
                     RK_INCONCLUSIVE);
}
END_TEST

/* path:line and the key, in every malformed case */
static void expect_bad(const char *text, const char *line, const char *needle)
{
    rk_claimset cs;
    rk_err err = {0};
    write_file("bad.claims", text);
    char p[512], want[600];
    fx_path(p, sizeof p, "bad.claims");
    ck_assert_msg(rk_claimset_load(&cs, p, &err) != RK_OK, "accepted: %s", text);
    snprintf(want, sizeof want, "%s:%s:", p, line);
    ck_assert_msg(strstr(err.msg, want), "'%s' does not name %s", err.msg, want);
    ck_assert_msg(strstr(err.msg, needle), "'%s' does not name %s", err.msg, needle);
}

START_TEST(malformed_claims_files_name_file_line_and_key)
{
    expect_bad("[claim.x]\ntype = delta\na = pretrain\nb = scratch\nsgn = positive\n", "5", "'sgn'");
    expect_bad("[claim.x]\ntype = delta\na = pretrain\nb = scratch\nsign = up\n", "5", "'sign'");
    expect_bad("[claim.x]\ntype = guess\n", "2", "'type'");
    expect_bad("[claim.x]\ndescription = no type\n", "2", "'type'");
    expect_bad("[claim.x]\ntype = delta\na = pretrain\nsign = positive\n", "2", "'b'");
    expect_bad("[claim.x]\ntype = delta\na = pretrain\nb = scratch\nsign = positive\nmin = 0.1\n",
               "5", "'sign'");
    expect_bad("[claim.x]\ntype = delta\na = pretrain\nb = scratch\nmin = 0.2\nmax = 0.1\n", "6", "'max'");
    expect_bad("[claim.x]\ntype = value\narm = scratch\nstat = mAP\nmin = 0\n", "4", "'stat'");
    expect_bad("[claim.x]\ntype = value\narm = scratch\nfraction = 2\nmin = 0\n", "4", "'fraction'");
    expect_bad("[claim.x]\ntype = delta\na = pretrain[x]\nb = scratch\nsign = positive\n", "3", "'a'");
    expect_bad("[claim.x]\ntype = delta\na = pretrain\nb = scratch\naxis = aug\nsign = positive\n",
               "5", "'axis'");
    expect_bad("[claim.x]\ntype = trend\narm = scratch\naxis = aug\n", "2", "'direction'");
    expect_bad("[claims]\nconfidence = 95\n[claim.x]\ntype = stable\n", "2", "'confidence'");
    expect_bad("[other]\nx = 1\n", "2", "[other]");
    expect_bad("[claim.x]\ntype = stable\n[claim.x]\ntype = stable\n", "4", "twice");
    expect_bad("[claim.x]\ntype = stable\nthis is not ini\n", "3", "INI");
}
END_TEST

static void expect_data_error(const char *text, const char *needle)
{
    rk_check_result *res = NULL;
    size_t n = 0;
    rk_err err = {0};
    ck_assert_msg(run_claims(text, &res, &n, &err) != RK_OK, "accepted: %s", text);
    ck_assert_msg(strstr(err.msg, "x.claims:") && strstr(err.msg, needle), "%s", err.msg);
}

START_TEST(unknown_arms_and_axis_values_are_bad_input)
{
    claims_db();
    expect_data_error("[claim.x]\ntype = delta\na = scrach\nb = pretrain\nsign = positive\n",
                      "unknown arm 'scrach'");
    expect_data_error("[claim.x]\ntype = delta\na = selftrain\nb = scratch\naug = S3\n"
                      "sign = positive\n", "key 'aug'");
    expect_data_error("[claim.x]\ntype = delta\na = selftrain\nb = scratch\nfraction = 0.5\n"
                      "sign = positive\n", "key 'fraction'");
    expect_data_error("[claim.x]\ntype = trend\narm = scratch\naxis = selftrain.alpha\n"
                      "direction = increasing\n", "key 'axis'");
    expect_data_error("[claim.x]\ntype = delta\na = selftrain[no.such=1]\nb = scratch\n"
                      "sign = positive\n", "unknown config key");
    /* a known arm the study lacks is missing data: an error, or inconclusive on request */
    expect_data_error("[claim.x]\ntype = delta\na = selftrain\nb = scratch\naug = S3\n"
                      "sign = positive\n", "if_missing");
    ck_assert_int_eq(verdict_of("[claim.x]\ntype = delta\na = selftrain\nb = scratch\naug = S3\n"
                                "sign = positive\nif_missing = inconclusive\n", NULL),
                     RK_INCONCLUSIVE);
}
END_TEST

START_TEST(verdicts_are_recorded_in_the_store_and_json_is_one_line)
{
    claims_db();
    rk_check_result *res = NULL;
    size_t n = 0;
    rk_err err = {0};
    ck_assert_msg(run_claims("[claim.gain]\ntype = delta\na = selftrain\nb = scratch\n"
                             "sign = positive\ndescription = self-training helps\n",
                             &res, &n, &err) == RK_OK, "%s", err.msg);
    rk_store *s = open_db("c.db");
    ck_assert_msg(rk_check_record(s, "st", res, n, &err) == RK_OK, "%s", err.msg);
    rk_claim *c = NULL;
    size_t nc = 0;
    ck_assert(rk_store_claims_latest(s, "st", &c, &nc, &err) == RK_OK);
    ck_assert_uint_eq(nc, 1);
    ck_assert_str_eq(c[0].name, "gain");
    ck_assert_str_eq(c[0].verdict, "HOLDS");
    ck_assert_int_eq(c[0].n, 3);
    ck_assert(c[0].details_json && strstr(c[0].details_json, "\"units\""));
    rk_claims_free(c, nc);
    rk_store_close(s);
    char *j = rk_check_json("st", 0.95, res, n);
    ck_assert(j && !strchr(j, '\n') && strstr(j, "\"verdict\":\"HOLDS\"") && strstr(j, "\"exit\":0"));
    free(j);
    rk_check_results_free(res, n);
}
END_TEST

START_TEST(a_baseline_holds_against_itself_and_fails_after_a_regression)
{
    claims_db();
    rk_results r;
    load(&r, "c.db");
    char bl[512], p[512];
    fx_path(bl, sizeof bl, "base.ini");
    rk_err err = {0};
    ck_assert_msg(rk_baseline_save(&r, bl, &err) == RK_OK, "%s", err.msg);
    rk_claimset cs = {0};
    ck_assert_msg(rk_claimset_add_baseline(&cs, bl, &err) == RK_OK, "%s", err.msg);
    rk_check_result *res = NULL;
    size_t n = 0;
    ck_assert_msg(rk_check_run(&cs, &r, &res, &n, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(res[0].verdict, RK_HOLDS);
    ck_assert_uint_eq(res[0].nunits, 2 * r.ncells); /* AP and AP50 in every cell */
    rk_check_results_free(res, n);
    rk_results_free(&r);
    /* a study whose scratch cells lost 3 points: those cells fail */
    rk_store *s = open_db("d.db");
    for (int seed = 1; seed <= 3; seed++) add(s, "scratch", "S1", 0.2, seed, 0.30 + 0.01 * seed - 0.03);
    rk_store_close(s);
    fx_path(p, sizeof p, "d.db");
    ck_assert(rk_results_load(&r, p, NULL, 0.95, &err) == RK_OK);
    ck_assert(rk_check_run(&cs, &r, &res, &n, &err) == RK_OK);
    ck_assert_int_eq(res[0].verdict, RK_FAILS);
    rk_check_results_free(res, n);
    rk_results_free(&r);
    rk_claimset_free(&cs);
    /* a malformed baseline names its line */
    write_file("bad.ini", "[tolerance]\nAP = lots\n");
    fx_path(p, sizeof p, "bad.ini");
    ck_assert(rk_claimset_add_baseline(&cs, p, &err) != RK_OK);
    ck_assert_msg(strstr(err.msg, "bad.ini:2:") && strstr(err.msg, "'AP'"), "%s", err.msg);
    rk_claimset_free(&cs);
}
END_TEST

/* ---- corrections, minimal detectable effect, budget-limited cells ---- */

START_TEST(holm_adjusts_p_values_step_down_as_by_hand)
{
    /* k = 4: sorted 0.01, 0.03, 0.04 and an untested unit; 4 × 0.01 = 0.04, 3 × 0.03 = 0.09,
     * 2 × 0.04 = 0.08 raised to the running maximum 0.09; the untested one stays NAN */
    double p[] = {0.01, 0.04, 0.03, NAN}, adj[4];
    rk_holm_adjust(p, 4, adj);
    NEAR(adj[0], 0.04, 1e-15);
    NEAR(adj[1], 0.09, 1e-15);
    NEAR(adj[2], 0.09, 1e-15);
    ck_assert(isnan(adj[3]));
    /* capped at 1 */
    double q[] = {0.6, 0.2}, qa[2];
    rk_holm_adjust(q, 2, qa);
    NEAR(qa[1], 0.4, 1e-15);
    NEAR(qa[0], 0.6, 1e-15);
    /* P(T <= t(0.975, 2)) = 0.975 (the quantile's inverse), and the region p-value is below
     * 1 − c exactly when the interval at c lies outside: n = 3, mean −0.03, s = 0.01 has the
     * 95 % interval −0.03 ± 4.302653 × 0.01/√3 = [−0.0548, −0.0052], outside (0, ∞) */
    NEAR(rk_t_cdf(4.302653, 2), 0.975, 1e-6);
    rk_summary s = {.n = 3, .mean = -0.03, .std = 0.01};
    double pv = rk_region_p(&s, 0, NAN);
    NEAR(pv, 2 * rk_t_cdf(-0.03 / (0.01 / sqrt(3)), 2), 1e-15);
    ck_assert_msg(pv < 0.05 && pv > 0.02, "p = %g", pv);
    s.mean = -0.005; /* [−0.0298, +0.0198]: straddles 0 */
    ck_assert(rk_region_p(&s, 0, NAN) > 0.05);
    s.mean = 0.01; /* inside the region */
    NEAR(rk_region_p(&s, 0, NAN), 1, 0);
    s.n = 1;
    ck_assert(isnan(rk_region_p(&s, 0, NAN)));
}
END_TEST

/* Issue 18: "any unit fails at 95 %" lets false FAILs grow with the number of units. The
 * value claim of claims_db has four units, one of them outside the region at 95 % with
 * p = 0.035: uncorrected it fails the claim, under Holm (4 × 0.035 > 0.05) it does not. */
START_TEST(holm_leaves_inconclusive_a_claim_that_any_unit_at_95_percent_fails)
{
    claims_db();
    const char *claim = "[claim.v]\ntype = value\narm = scratch\nmax = 0.36\n";
    char text[200];
    ck_assert_int_eq(verdict_of(claim, NULL), RK_INCONCLUSIVE); /* Holm: the default */
    snprintf(text, sizeof text, "%scorrection = holm\n", claim);
    ck_assert_int_eq(verdict_of(text, NULL), RK_INCONCLUSIVE);
    snprintf(text, sizeof text, "%scorrection = none\n", claim);
    ck_assert_int_eq(verdict_of(text, NULL), RK_FAILS);
    snprintf(text, sizeof text, "%scorrection = bonferroni\n", claim);
    ck_assert_int_eq(verdict_of(text, NULL), RK_INCONCLUSIVE);
    /* the failing cell's numbers: mean 0.39, s = 0.01, n = 3, t = −5.196 */
    rk_check_result *res = NULL;
    size_t n = 0;
    rk_err err = {0};
    ck_assert_msg(run_claims(claim, &res, &n, &err) == RK_OK, "%s", err.msg);
    const rk_check_unit *u = NULL;
    for (size_t i = 0; i < res[0].nunits; i++)
        if (fabs(res[0].units[i].estimate - 0.39) < 1e-9) u = &res[0].units[i];
    ck_assert(u != NULL);
    double p = 2 * rk_t_cdf(-0.03 / (0.01 / sqrt(3)), 2);
    NEAR(u->p, p, 1e-12);
    NEAR(u->p_adjusted, 4 * p, 1e-12); /* the smallest p of the four: Holm's first step */
    ck_assert_int_eq(u->verdict, RK_INCONCLUSIVE);
    ck_assert_msg(u->note && strstr(u->note, "not after Holm's correction over 4 units"), "%s",
                  u->note ? u->note : "");
    char *j = rk_check_json("st", 0.95, res, n);
    ck_assert_msg(strstr(j, "\"correction\":\"holm\"") && strstr(j, "\"p_adjusted\":"), "%s", j);
    free(j);
    rk_check_results_free(res, n);
}
END_TEST

/* Two cells of pretrain − scratch with paired differences (seeds 1..3):
 *   S1: −0.050, −0.045, −0.055  (mean −0.05, s = 0.005: p = 0.0033)
 *   S4: −0.00667, −0.010, −0.01333 (mean −0.01, s = 0.00333: p = 0.035)
 * Holm rejects both (2 × 0.0033, then 1 × 0.035); Bonferroni only S1 (2 × 0.035 > 0.05). */
static void two_unit_db(void)
{
    rk_store *s = open_db("c.db");
    const double d1[] = {-0.050, -0.045, -0.055}, d4[] = {-0.01 + 0.01 / 3, -0.010, -0.01 - 0.01 / 3};
    for (int seed = 1; seed <= 3; seed++) {
        double base = 0.30 + 0.01 * seed;
        add(s, "scratch", "S1", 1.0, seed, base);
        add(s, "pretrain", "S1", 1.0, seed, base + d1[seed - 1]);
        add(s, "scratch", "S4", 1.0, seed, base);
        add(s, "pretrain", "S4", 1.0, seed, base + d4[seed - 1]);
    }
    rk_store_close(s);
}

static size_t failing_units(const char *text)
{
    rk_check_result *res = NULL;
    size_t n = 0, k = 0;
    rk_err err = {0};
    ck_assert_msg(run_claims(text, &res, &n, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(res[0].verdict, RK_FAILS);
    for (size_t i = 0; i < res[0].nunits; i++) k += res[0].units[i].verdict == RK_FAILS;
    rk_check_results_free(res, n);
    return k;
}

START_TEST(holm_steps_down_where_bonferroni_stops)
{
    two_unit_db();
    const char *claim = "[claim.d]\ntype = delta\na = pretrain\nb = scratch\nsign = positive\n";
    char text[200];
    ck_assert_uint_eq(failing_units(claim), 2);
    snprintf(text, sizeof text, "%scorrection = bonferroni\n", claim);
    ck_assert_uint_eq(failing_units(text), 1);
    snprintf(text, sizeof text, "%scorrection = none\n", claim);
    ck_assert_uint_eq(failing_units(text), 2);
}
END_TEST

START_TEST(the_minimal_detectable_effect_matches_a_hand_computation)
{
    /* paired differences 0.03, 0.04, 0.03: s = 0.0057735, n = 3; at 95 % two-sided and 80 %
     * power (t(0.975, 2) + t(0.8, 2)) s/√3 = (4.302653 + 1.060660) × 0.0033333 = 0.0178777 */
    rk_store *s = open_db("c.db");
    add_three_pairs(s);
    add(s, "scratch", "S2", 0.5, 1, 0.30); /* one pair only: no MDE */
    add(s, "pretrain", "S2", 0.5, 1, 0.33);
    rk_store_close(s);
    rk_summary d = {.n = 3, .std = 0.00577350269};
    NEAR(rk_mde(&d, 0.05, 0.8), 0.0178777, 2e-7);
    rk_check_result *res = NULL;
    size_t n = 0;
    rk_err err = {0};
    ck_assert_msg(run_claims("[claim.d]\ntype = delta\na = pretrain\nb = scratch\naug = S1\n"
                             "sign = positive\n[claim.one]\ntype = delta\na = pretrain\n"
                             "b = scratch\naug = S2\nsign = positive\n", &res, &n, &err) == RK_OK,
                  "%s", err.msg);
    NEAR(res[0].mde, 0.0178777, 2e-7);
    NEAR(res[0].units[0].mde, res[0].mde, 0);
    ck_assert(isnan(res[1].mde) && res[1].s.n == 1);
    /* the JSON and the store's row carry it; null where it cannot be computed */
    char *j = rk_check_json("st", 0.95, res, n);
    ck_assert_msg(strstr(j, "\"mde\":0.0178") && strstr(j, "\"mde\":null"), "%s", j);
    free(j);
    s = open_db("c.db");
    ck_assert(rk_check_record(s, "st", res, n, &err) == RK_OK);
    rk_claim *c = NULL;
    size_t nc = 0;
    ck_assert(rk_store_claims_latest(s, "st", &c, &nc, &err) == RK_OK);
    ck_assert(nc == 2 && strstr(c[0].details_json, "\"mde\":0.0178"));
    rk_claims_free(c, nc);
    rk_store_close(s);
    rk_check_results_free(res, n);
    /* a Bonferroni claim's intervals are at 1 − 0.05/k, and so is its MDE: one unit here */
    ck_assert_msg(run_claims("[claim.d]\ntype = delta\na = pretrain\nb = scratch\naug = S1\n"
                             "sign = positive\ncorrection = bonferroni\n", &res, &n, &err) == RK_OK,
                  "%s", err.msg);
    NEAR(res[0].mde, 0.0178777, 2e-7);
    rk_check_results_free(res, n);
}
END_TEST

/* Issue 18: no verdict on fewer than 4 seeds is stated as more than indicative. */
START_TEST(verdicts_on_fewer_than_four_seeds_are_stated_as_indicative)
{
    claims_db(); /* 3 seeds */
    rk_check_result *res = NULL;
    size_t n = 0;
    rk_err err = {0};
    ck_assert_msg(run_claims("[claim.st]\ntype = delta\na = selftrain\nb = scratch\n"
                             "sign = positive\n", &res, &n, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(res[0].verdict, RK_HOLDS);
    ck_assert_uint_eq(res[0].nmin, 3);
    ck_assert_msg(strstr(res[0].reason, "only n = 3 seeds (fewer than 4): indicative"), "%s",
                  res[0].reason);
    ck_assert(!strstr(res[0].reason, "decisive"));
    rk_check_results_free(res, n);
    /* a fourth seed everywhere: no caveat */
    rk_store *s = open_db("c.db");
    const char *augs[] = {"S1", "S4"};
    double fr[] = {0.2, 1.0};
    for (int a = 0; a < 2; a++)
        for (int f = 0; f < 2; f++) {
            double base = 0.30 + 0.02 * a + 0.05 * f + 0.04;
            add(s, "scratch", augs[a], fr[f], 4, base);
            add(s, "selftrain", augs[a], fr[f], 4, base + 0.0205);
        }
    rk_store_close(s);
    ck_assert_msg(run_claims("[claim.st]\ntype = delta\na = selftrain\nb = scratch\n"
                             "sign = positive\n", &res, &n, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(res[0].verdict, RK_HOLDS);
    ck_assert_uint_eq(res[0].nmin, 4);
    ck_assert_msg(!strstr(res[0].reason, "indicative"), "%s", res[0].reason);
    rk_check_results_free(res, n);
}
END_TEST

/* scratch and pretrain S1 100 %, 3 seeds each, pretrain 2 points better; every trial under
 * the plateau schedule (schedule = plateau: 1) or the fixed one (0), all stopped on the
 * plateau rule except pretrain seed 2, which stopped on its budget of 9000 steps. */
static void budget_db(const char *name, int plateau)
{
    rk_store *s = open_db(name);
    for (int seed = 1; seed <= 3; seed++) {
        double base = 0.30 + 0.01 * seed;
        sdb_trial t = {.arm = "scratch", .aug = "S1", .fraction = 1.0, .seed = seed, .ap = base,
                       .schedule = plateau ? "plateau" : NULL, .stop_reason = "plateau",
                       .steps = 4000 + 1000 * seed, .max_steps = 9000};
        if (!plateau) t.stop_reason = "budget", t.steps = 9000;
        ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
        t.arm = "pretrain", t.ap = base + 0.02 + 0.001 * seed;
        if (seed == 2) t.stop_reason = "budget", t.steps = 9000;
        ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
    }
    rk_store_close(s);
}

START_TEST(a_claim_resting_on_a_budget_limited_cell_is_inconclusive_unless_told_to_ignore)
{
    const char *claim = "[claim.d]\ntype = delta\na = pretrain\nb = scratch\nsign = positive\n";
    budget_db("c.db", 1);
    rk_results r;
    load(&r, "c.db");
    const rk_cell *pre = rk_results_cell(&r, "pretrain", "S1", 1.0, NULL);
    ck_assert(pre && pre->budget_limited == 1 && pre->stop_plateau == 2 && pre->stop_budget == 1);
    ck_assert_int_eq(pre->conv, RK_CONV_BUDGET_LIMITED);
    ck_assert_int_eq(rk_results_cell(&r, "scratch", "S1", 1.0, NULL)->conv, RK_CONV_STOPPED);
    rk_results_free(&r);
    rk_check_result *res = NULL;
    size_t n = 0;
    rk_err err = {0};
    ck_assert_msg(run_claims(claim, &res, &n, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(res[0].verdict, RK_INCONCLUSIVE);
    ck_assert_uint_eq(res[0].nbudget, 1);
    ck_assert(res[0].units[0].budget_limited);
    ck_assert_msg(strstr(res[0].reason, "pretrain S1 100% (1 of 3 trials hit the maximum of 9000 "
                                        "steps)") && strstr(res[0].reason, "budget_limited = ignore"),
                  "%s", res[0].reason);
    rk_check_results_free(res, n);
    char text[300];
    snprintf(text, sizeof text, "%sbudget_limited = ignore\n", claim);
    ck_assert_int_eq(verdict_of(text, NULL), RK_HOLDS);
    snprintf(text, sizeof text, "%sbudget_limited = inconclusive\n", claim);
    ck_assert_int_eq(verdict_of(text, NULL), RK_INCONCLUSIVE);
    /* a bad value names its line; the key does not apply to a stability claim */
    expect_bad("[claim.x]\ntype = delta\na = pretrain\nb = scratch\nsign = positive\n"
               "budget_limited = maybe\n", "6", "'budget_limited'");
    expect_bad("[claim.x]\ntype = stable\nbudget_limited = ignore\n", "3", "does not apply");
}
END_TEST

/* A fixed (cosine) budget always stops on 'budget': that says nothing about convergence. */
START_TEST(a_fixed_budget_stopping_on_its_budget_is_not_budget_limited)
{
    budget_db("c.db", 0);
    ck_assert_int_eq(verdict_of("[claim.d]\ntype = delta\na = pretrain\nb = scratch\n"
                                "sign = positive\n", NULL), RK_HOLDS);
    rk_results r;
    load(&r, "c.db");
    const rk_cell *pre = rk_results_cell(&r, "pretrain", "S1", 1.0, NULL);
    ck_assert(pre && pre->budget_limited == 0 && pre->stop_budget == 3);
    ck_assert_int_eq(pre->conv, RK_CONV_UNMEASURED);
    rk_results_free(&r);
}
END_TEST

/* Issue 25: `n = 1e30` or `n = -5` was converted to size_t before its range was checked
 * (undefined behaviour, caught by UBSan). Every such count is an error naming file:line. */
START_TEST(a_baseline_count_out_of_range_is_an_error)
{
    const char *bad[] = {"1e30", "-5", "0", "2.5", "1e6.5", "inf", "nan", "1000001"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char text[256], p[512];
        snprintf(text, sizeof text, "[tolerance]\nAP = 0.01\n[cell.1]\narm = scratch\naug = S1\n"
                 "fraction = 0.5\nn = %s\nAP = 0.3\n", bad[i]);
        write_file("n.ini", text);
        fx_path(p, sizeof p, "n.ini");
        rk_claimset cs = {0};
        rk_err err = {0};
        ck_assert_msg(rk_claimset_add_baseline(&cs, p, &err) != RK_OK, "n = %s accepted", bad[i]);
        ck_assert_msg(strstr(err.msg, "n.ini:7:") && (strstr(err.msg, "'n'") ||
                      strstr(err.msg, "expected a number")), "n = %s: %s", bad[i], err.msg);
        rk_claimset_free(&cs);
    }
}
END_TEST

/* Found by the results-database fuzzer (tests/fuzz/corpus/store/crash-index-disagrees.db):
 * three bytes changed a study's name in its table but not in its index, so the study was
 * found by one and its trials not by the other; the report sorted the empty lists through
 * NULL pointers (undefined behaviour, UBSan) and drew nothing. The opener's integrity check
 * names the file corrupt. */
START_TEST(a_database_whose_index_disagrees_with_its_table_is_named_corrupt)
{
    char db[512];
    fx_path(db, sizeof db, "crash.db");
    FILE *in = fopen(RK_SOURCE_DIR "/tests/fuzz/corpus/store/crash-index-disagrees.db", "rb");
    FILE *out = fopen(db, "wb");
    ck_assert(in && out);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
    fclose(in), fclose(out);
    rk_results r;
    rk_err err = {0};
    ck_assert_int_eq(rk_results_load(&r, db, NULL, 0.95, &err), RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "corrupt") && strstr(err.msg, "index"), "%s", err.msg);
}
END_TEST

/* ---- the report folder ---- */

static void write_report(const char *dir, rk_report_files *files, const char *gnuplot, int *rc,
                         rk_err *err)
{
    rk_results r;
    load(&r, "p.db");
    char out[512];
    fx_path(out, sizeof out, dir);
    rk_report_opts o = {.out_dir = out, .curve_fraction = NAN, .gnuplot = gnuplot};
    *rc = rk_report_write(&r, &o, files, err);
    rk_results_free(&r);
}

START_TEST(the_report_writes_valid_png_svg_html_markdown_and_csv_deterministically)
{
    rk_store *s = open_db("p.db");
    sdb_paper_opts po = {.study = "st", .seeds = 2, .noise = 0.3, .dev = 1}; /* with dev splits: the convergence table too */
    ck_assert_int_eq(sdb_paper(s, &po), 0);
    rk_store_close(s);
    rk_report_files f1 = {0}, f2 = {0};
    rk_err err = {0};
    int rc;
    write_report("a", &f1, NULL, &rc, &err);
    ck_assert_msg(rc == RK_OK, "%s", err.msg);
    write_report("b", &f2, NULL, &rc, &err);
    ck_assert_msg(rc == RK_OK, "%s", err.msg);
    ck_assert_uint_eq(f1.n, f2.n);
    size_t png = 0, svg = 0;
    for (size_t i = 0; i < f1.n; i++) {
        char pa[700], pb[700];
        snprintf(pa, sizeof pa, "%s/a/%s", fx_tmp, f1.paths[i]);
        snprintf(pb, sizeof pb, "%s/b/%s", fx_tmp, f1.paths[i]);
        size_t la, lb;
        char *a = read_file(pa, &la), *b = read_file(pb, &lb);
        ck_assert_msg(la == lb && !memcmp(a, b, la), "%s differs between two runs", f1.paths[i]);
        const char *ext = strrchr(f1.paths[i], '.');
        if (!strcmp(ext, ".png")) {
            ck_assert_msg(la > 1000 && !memcmp(a, "\x89PNG\r\n\x1a\n", 8), "%s is not a PNG", pa);
            png++;
        }
        if (!strcmp(ext, ".svg")) {
            ck_assert_msg(strstr(a, "<svg") && strstr(a, "</svg>"), "%s is not an SVG", pa);
            svg++;
        }
        free(a), free(b);
    }
    ck_assert_uint_eq(png, 5); /* aug, fraction, delta, curves, cpu */
    ck_assert_uint_eq(svg, 5);
    char p[600];
    fx_path(p, sizeof p, "a/index.html");
    char *html = read_file(p, NULL);
    ck_assert(!strncmp(html, "<!DOCTYPE html>", 15));
    size_t inline_svgs = 0;
    for (const char *q = html; (q = strstr(q, "<svg")); q++) inline_svgs++;
    ck_assert_uint_eq(inline_svgs, 5);
    ck_assert_msg(!strstr(html, "<?xml") && !strstr(html, "src=\"http") && !strstr(html, "<link"),
                  "index.html must be self-contained");
    ck_assert(strstr(html, "id='p0_gpPt0'") || strstr(html, "id=\"p0_"));
    ck_assert(strstr(html, "</html>"));
    free(html);
    fx_path(p, sizeof p, "a/report.md");
    char *md = read_file(p, NULL);
    ck_assert(strstr(md, "![AP vs augmentation strength](ap_vs_aug.png)") && strstr(md, "| scratch |"));
    free(md);
    fx_path(p, sizeof p, "a/cells.csv");
    char *csv = read_file(p, NULL);
    size_t lines = 0;
    for (const char *q = csv; *q; q++) lines += *q == '\n';
    ck_assert_uint_eq(lines, 1 + 48); /* header + 4 arms × 4 augs × 3 fractions */
    const char *head = "study,arm,aug,fraction,variant,n,AP_mean,AP_std,AP_ci_low,AP_ci_high,";
    ck_assert(!strncmp(csv, head, strlen(head)));
    free(csv);
    rk_report_files_free(&f1);
    rk_report_files_free(&f2);
}
END_TEST

/* The report of db into folder dir, its training curves drawn for (arm, aug, 100 %). */
static void report_of(const char *db, const char *dir, const char *arm, const char *aug)
{
    rk_results r;
    load(&r, db);
    char out[512];
    fx_path(out, sizeof out, dir);
    rk_report_opts o = {.out_dir = out, .curve_arm = arm, .curve_aug = aug, .curve_fraction = 1.0};
    rk_err err = {0};
    int rc = rk_report_write(&r, &o, NULL, &err);
    ck_assert_msg(rc == RK_OK, "%s", err.msg);
    rk_results_free(&r);
}

static char *report_file(const char *dir, const char *name)
{
    char p[700];
    snprintf(p, sizeof p, "%s/%s/%s", fx_tmp, dir, name);
    return read_file(p, NULL);
}

/* The line of a CSV text starting with prefix, ends with suffix. */
static void csv_line_ends(const char *csv, const char *prefix, const char *suffix)
{
    const char *l = strstr(csv, prefix);
    ck_assert_msg(l && (l == csv || l[-1] == '\n'), "no line starts with %s", prefix);
    size_t len = strcspn(l, "\n"), sl = strlen(suffix);
    ck_assert_msg(len >= sl && !strncmp(l + len - sl, suffix, sl), "%.*s does not end with %s",
                  (int)len, l, suffix);
}

START_TEST(the_convergence_section_gives_each_cell_its_numbers_and_verdict)
{
    convergence_db("p.db");
    report_of("p.db", "a", "pretrain", "S1");
    char *md = report_file("a", "report.md");
    /* the hand-computed means of convergence_db, ×100 for AP; n counts seeds with dev */
    const char *rows[] = {
        "| scratch | S1 | 100 % | 2 | 30.50 | 0.75 | -0.25 | plateaued |\n",
        "| scratch | S4 | 100 % | 0 | — | — | — | not measured |\n",
        "| pretrain | S1 | 100 % | 2 | 25.50 | 1.00 | +4.50 | still improving |\n",
        "| selftrain | S1 | 100 % | 1 | 33.00 | 1.00 | — | undetermined |\n"};
    const char *at = strstr(md, "## Convergence\n");
    ck_assert_msg(at && strstr(at, "### Convergence on the dev split"), "no convergence table");
    for (size_t i = 0; i < 4; i++) {
        const char *row = strstr(at, rows[i]);
        ck_assert_msg(row, "report.md lacks the row %s", rows[i]);
        at = row; /* in cell order */
    }
    ck_assert_msg(strstr(md, "1 of 2 cells plateaued within their budget; the others were still "
                             "improving at the end: pretrain S1 100 % (+4.50)"), "summary sentence");
    ck_assert_msg(strstr(md, "below 2 % of the cell's mean kept dev AP"), "the threshold is not stated");
    ck_assert_msg(strstr(md, "could not be told: selftrain S1 100 %."), "undetermined cells");
    ck_assert_msg(strstr(md, "1 cell had no dev split: not measured."), "unmeasured cells");
    free(md);
    char *html = report_file("a", "index.html");
    ck_assert(strstr(html, "<h2>Convergence</h2>\n<p>1 of 2 cells plateaued within their budget"));
    ck_assert(strstr(html, "<td>+4.50</td><td class=\"inc\">still improving</td>"));
    ck_assert(strstr(html, "<td>-0.25</td><td class=\"holds\">plateaued</td>"));
    free(html);
    /* cells.csv: the three means near the end of each row in stored units, blank when unknown,
     * then the per-cell settings (none here), then the stop facts (none recorded: 0 plateau,
     * 0 budget, 0 budget-limited, no steps, no budget) */
    char *csv = report_file("a", "cells.csv");
    ck_assert(strstr(csv, ",cpu_s_mean,cpu_s_std,dev_best_mean,dev_gain_last_quarter_mean,"
                          "select_frac_mean,settings,stop_plateau,stop_budget,budget_limited,"
                          "steps_mean,max_steps\n"));
    csv_line_ends(csv, "st,scratch,S1,", ",0.305,-0.0025,0.75,,0,0,0,,");
    csv_line_ends(csv, "st,pretrain,S1,", ",0.255,0.045,1,,0,0,0,,");
    csv_line_ends(csv, "st,selftrain,S1,", ",0.33,,1,,0,0,0,,");
    csv_line_ends(csv, "st,scratch,S4,", ",1,0,,,,,0,0,0,,");
    free(csv);
    /* the curves of pretrain S1 draw its dev AP (×100) as a series of its own */
    char *dat = report_file("a", "curves.dat");
    const char *dev = strstr(dat, "# dev.AP, seed 1 ");
    ck_assert_msg(dev && strstr(dev, ")\n2 10\n4 15\n6 20\n8 26\n\n"), "dev.AP block of seed 1");
    free(dat);
    char *gp = report_file("a", "curves.gp");
    /* dashed in each seed's colour, named once in the key by a grey entry that stands for
     * all of them (a coloured one would read as a single line) */
    ck_assert_msg(strstr(gp, "dt 2 pt 6 ps 0.7 lc rgb \"#0072B2\" notitle"), "dev series");
    ck_assert_msg(strstr(gp, "lc rgb \"#666666\" title \"dashed: dev AP (each seed)\""), "dev key");
    ck_assert(strstr(gp, "set title \"val and dev AP (dashed) per epoch\""));
    free(gp);
}
END_TEST

START_TEST(without_a_dev_split_convergence_is_said_to_be_unmeasured)
{
    rk_store *s = open_db("p.db");
    sdb_trial t = {.arm = "scratch", .aug = "S1", .fraction = 1.0, .seed = 1, .ap = 0.3,
                   .epochs = 4};
    ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
    rk_store_close(s);
    report_of("p.db", "a", "scratch", "S1");
    char *md = report_file("a", "report.md");
    ck_assert(strstr(md, "## Convergence\n\nConvergence was not measured: no trial of this study "
                         "trained with a dev split"));
    ck_assert_msg(!strstr(md, "Convergence on the dev split"), "a table of nothing");
    free(md);
    char *csv = report_file("a", "cells.csv");
    csv_line_ends(csv, "st,scratch,S1,", ",1,,,,,,0,0,0,,"); /* cpu 1 s, one seed: no std */
    free(csv);
}
END_TEST

/* Issue 21: without gnuplot (or with a failing one) the tables, CSV and Markdown are still
 * written, and the report says why the plots are missing. */
START_TEST(without_gnuplot_the_report_still_writes_its_tables_csv_and_says_why)
{
    rk_store *s = open_db("p.db");
    for (int seed = 1; seed <= 2; seed++) {
        add(s, "scratch", "S1", 1.0, seed, 0.30 + 0.01 * seed);
        add(s, "pretrain", "S1", 1.0, seed, 0.33 + 0.01 * seed);
    }
    rk_store_close(s);
    rk_report_files f = {0};
    rk_err err = {0};
    int rc;
    write_report("a", &f, "/nonexistent/gnuplot", &rc, &err);
    ck_assert_msg(rc == RK_OK, "%s", err.msg);
    ck_assert_msg(f.warning && strstr(f.warning, "gnuplot-nox") && strstr(f.warning, "no plot"),
                  "%s", f.warning ? f.warning : "(no warning)");
    int md = 0, cells = 0, deltas = 0, html = 0;
    for (size_t i = 0; i < f.n; i++) {
        const char *ext = strrchr(f.paths[i], '.');
        ck_assert_msg(strcmp(ext, ".png") && strcmp(ext, ".svg"), "%s listed", f.paths[i]);
        md |= !strcmp(f.paths[i], "report.md"), html |= !strcmp(f.paths[i], "index.html");
        cells |= !strcmp(f.paths[i], "cells.csv"), deltas |= !strcmp(f.paths[i], "deltas.csv");
    }
    ck_assert(md && cells && deltas && html);
    char *text = report_file("a", "report.md");
    ck_assert_msg(strstr(text, "Plots missing: gnuplot drew no plot: cannot run "
                               "'/nonexistent/gnuplot'"), "report.md does not say why");
    ck_assert(strstr(text, "| scratch |") && strstr(text, "Not drawn (see above): [script](curves.gp)"));
    free(text);
    text = report_file("a", "index.html");
    ck_assert(strstr(text, "<p class=\"note\">Plots missing: ") && !strstr(text, "<svg"));
    free(text);
    text = report_file("a", "deltas.csv");
    ck_assert(strstr(text, "st,pretrain,,S1,1,scratch,,AP,2,0.03,"));
    free(text);
    rk_report_files_free(&f);
}
END_TEST

/* Issue 18: the report lists every cell whose trials hit the plateau schedule's maximum, with
 * its stop reasons counted and its mean steps; its convergence section uses those facts. */
START_TEST(the_report_lists_the_cells_that_hit_their_maximum_budget)
{
    budget_db("p.db", 1);
    report_of("p.db", "a", "scratch", "S1");
    char *md = report_file("a", "report.md");
    const char *at = strstr(md, "## Convergence\n\n2 cells trained with the plateau schedule");
    ck_assert_msg(at, "convergence summary");
    ck_assert_msg(strstr(at, "1 converged (their trials stopped on the plateau rule), 1 hit its "
                             "maximum budget in at least one seed, so it is not converged: "
                             "pretrain S1 100 % (1 of 3)."), "summary sentence");
    /* the list: trials 3, 2 on the rule, 1 at the maximum, mean steps (5000+9000+7000)/3 */
    ck_assert_msg(strstr(at, "### Cells that hit their maximum budget (not converged)\n\n"
                             "| arm | aug | fraction | trials | stopped on plateau | hit the maximum "
                             "| mean steps | maximum steps |\n"), "the list's header");
    ck_assert_msg(strstr(at, "| pretrain | S1 | 100 % | 3 | 2 | 1 | 7000 | 9000 |\n"), "its row");
    ck_assert_msg(!strstr(at, "| scratch | S1 | 100 % | 3 | 3 | 0 |"), "a converged cell listed");
    /* the convergence table has the stop columns and the verdicts from them */
    ck_assert(strstr(at, "| 3 / 0 | 6000 / 9000 | converged |"));
    ck_assert(strstr(at, "| 2 / 1 | 7000 / 9000 | hit the maximum |"));
    free(md);
    char *csv = report_file("a", "cells.csv");
    csv_line_ends(csv, "st,pretrain,S1,", ",2,1,1,7000,9000");
    csv_line_ends(csv, "st,scratch,S1,", ",3,0,0,6000,9000");
    free(csv);
    /* a fixed-budget study keeps its old convergence section: no list, no stop columns */
    budget_db("q.db", 0);
    report_of("q.db", "b", "scratch", "S1");
    md = report_file("b", "report.md");
    ck_assert(strstr(md, "## Convergence\n\nConvergence was not measured"));
    ck_assert(!strstr(md, "maximum budget") && !strstr(md, "stops: rule / max"));
    free(md);
}
END_TEST

/* Issue 19: the report says which machines ran what — a row per CPU and precision with its
 * trials, CPU hours, cells and seeds — and whether any (cell, seed) pair mixes machines. */
START_TEST(the_report_says_which_machine_ran_which_cells_and_seeds)
{
    rk_store *s = open_db("m.db");
    for (int seed = 1; seed <= 4; seed++)
        for (int a = 0; a < 2; a++) {
            /* seeds 1-2 on machine A, 3-4 on B; S4 only on A, seed 1 */
            sdb_trial t = {.arm = a ? "pretrain" : "scratch", .aug = "S1", .fraction = 1.0,
                           .seed = seed, .ap = 0.3 + 0.01 * a, .cpu_s = 1800,
                           .cpu = seed <= 2 ? "CPU A" : "CPU B"};
            ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
            if (seed == 1) {
                t.aug = "S4", t.fraction = 0.2;
                ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
            }
        }
    rk_store_close(s);
    report_of("m.db", "m", "scratch", "S1");
    char *md = report_file("m", "report.md");
    ck_assert_msg(strstr(md, "### Machines\n\n| CPU | precision | trials | CPU hours | cells | "
                             "seeds |\n|---|---|---:|---:|---|---:|\n"),
                  "the machines table, its names and lists of cells left, its numbers right");
    ck_assert_msg(strstr(md, "| CPU A | f32 | 6 | 3.00 | S1: 100 %; S4: 20 % | 1-2 |\n"), "A");
    char *html = report_file("m", "index.html");
    ck_assert_msg(strstr(html, "<td class=\"l\">S1: 100 %; S4: 20 %</td>"), "cells left in HTML");
    ck_assert_msg(strstr(html, "<td>3.00</td>"), "numbers right in HTML");
    free(html);
    ck_assert_msg(strstr(md, "| CPU B | f32 | 4 | 2.00 | S1: 100 % | 3-4 |\n"), "B");
    ck_assert(strstr(md, "Every (cell, seed) ran on one machine"));
    free(md);
    /* seed 2's pretrain trial of S1 100 % again, on a third machine: one pair mixes */
    s = open_db("n.db");
    for (int seed = 1; seed <= 2; seed++)
        for (int a = 0; a < 2; a++) {
            sdb_trial t = {.arm = a ? "pretrain" : "scratch", .aug = "S1", .fraction = 1.0,
                           .seed = seed, .ap = 0.3, .cpu = seed == 2 && a ? "CPU C" : "CPU A"};
            ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
        }
    rk_store_close(s);
    report_of("n.db", "n", "scratch", "S1");
    md = report_file("n", "report.md");
    ck_assert(strstr(md, "| CPU A | f32 | 3 |") && strstr(md, "| CPU C | f32 | 1 |"));
    ck_assert_msg(strstr(md, "1 (cell, seed) pairs ran on more than one machine"), "mixed pair");
    ck_assert(!strstr(md, "Every (cell, seed) ran on one machine"));
    free(md);
}
END_TEST

/* Issue 21: the plateau threshold is relative to the cell's AP. At AP 1 point a last-quarter
 * gain of 0.3 points (30 %) is still improving, though it is below the old absolute 0.5. */
START_TEST(the_plateau_threshold_is_relative_to_the_cells_ap)
{
    static const double LOW[8] = {NAN, 0.005, NAN, 0.007, NAN, 0.008, NAN, 0.011};
    static const double HIGH[8] = {NAN, 0.30, NAN, 0.40, NAN, 0.45, NAN, 0.457};
    rk_store *s = open_db("p.db");
    for (int seed = 1; seed <= 2; seed++) {
        sdb_trial t = {.arm = "scratch", .aug = "S1", .fraction = 1.0, .seed = seed, .ap = 0.01,
                       .epochs = 8, .dev_ap = LOW};
        ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
        /* gain 0.7 points at dev AP 45.7: 1.5 % of it, plateaued (2 % is 0.91) */
        t.arm = "pretrain", t.ap = 0.45, t.dev_ap = HIGH;
        ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
    }
    rk_store_close(s);
    rk_results r;
    load(&r, "p.db");
    ck_assert_int_eq(rk_results_cell(&r, "scratch", "S1", 1.0, NULL)->conv, RK_CONV_IMPROVING);
    ck_assert_int_eq(rk_results_cell(&r, "pretrain", "S1", 1.0, NULL)->conv, RK_CONV_PLATEAUED);
    rk_results_free(&r);
}
END_TEST

/* Issue 18: an arm with a control (selftrain: continue) is compared with it as well as with
 * scratch, in deltas.csv, the tables and a plot of its own. */
START_TEST(control_deltas_appear_in_deltas_csv_tables_and_plots)
{
    rk_store *s = open_db("p.db");
    for (int seed = 1; seed <= 3; seed++) {
        double base = 0.30 + 0.01 * seed;
        add(s, "scratch", "S1", 1.0, seed, base);
        add(s, "selftrain", "S1", 1.0, seed, base + 0.02);
        add(s, "continue", "S1", 1.0, seed, base + 0.03 + 0.001 * seed); /* −0.012 .. −0.008 */
    }
    rk_store_close(s);
    report_of("p.db", "a", "selftrain", "S1");
    char *csv = report_file("a", "deltas.csv");
    /* selftrain − continue: −0.011, −0.012, −0.013 → mean −0.012, s = 0.001 */
    const char *row = strstr(csv, "st,selftrain,,S1,1,continue,,AP,3,-0.012,0.001,");
    ck_assert_msg(row, "%s", csv);
    ck_assert(strstr(csv, "st,selftrain,,S1,1,scratch,,AP,3,0.02,"));
    ck_assert(strstr(csv, "st,continue,,S1,1,scratch,,AP,3,"));
    ck_assert_msg(!strstr(csv, "st,continue,,S1,1,continue,"), "continue has no control");
    free(csv);
    char *md = report_file("a", "report.md");
    const char *at = strstr(md, "## Paired deltas against the control\n");
    ck_assert_msg(at && strstr(at, "| selftrain | -1.20 ["), "control table");
    ck_assert(strstr(md, "![ΔAP vs control](delta_vs_control.png)"));
    free(md);
    char *dat = report_file("a", "delta_vs_control.dat");
    ck_assert_msg(strstr(dat, "\"S1 100%\" -1.2 "), "%s", dat);
    free(dat);
    /* no control in the study: no such section or plot */
    s = open_db("q.db");
    add(s, "scratch", "S1", 1.0, 1, 0.3);
    add(s, "selftrain", "S1", 1.0, 1, 0.32);
    rk_store_close(s);
    report_of("q.db", "b", "selftrain", "S1");
    md = report_file("b", "report.md");
    ck_assert(!strstr(md, "against the control") && !strstr(md, "delta_vs_control"));
    free(md);
}
END_TEST

/* Issue 21: AP intervals never go below 0; --shared-y gives the AP panels one y range. */
START_TEST(ap_intervals_are_clipped_and_panels_can_share_one_y_range)
{
    rk_store *s = open_db("p.db");
    double low[] = {0.001, 0.02, 0.0}; /* 95 % interval [−2.1, +2.8] AP points */
    for (int seed = 1; seed <= 3; seed++) {
        add(s, "scratch", "S1", 0.5, seed, low[seed - 1]);
        add(s, "scratch", "S1", 1.0, seed, 0.30 + 0.01 * seed);
    }
    rk_store_close(s);
    report_of("p.db", "a", "scratch", "S1");
    char *dat = report_file("a", "ap_vs_aug.dat");
    ck_assert_msg(strstr(dat, "\n0 0.7 0 "), "%s", dat); /* mean 0.7, interval cut at 0 */
    ck_assert(!strstr(dat, " -"));
    free(dat);
    char *gp = report_file("a", "ap_vs_aug.gp");
    ck_assert(strstr(gp, "set yrange [0<*:*<100]\n"));
    free(gp);
    rk_results r;
    load(&r, "p.db");
    char out[512];
    fx_path(out, sizeof out, "b");
    rk_report_opts o = {.out_dir = out, .curve_fraction = NAN, .shared_y = 1};
    rk_err err = {0};
    ck_assert_msg(rk_report_write(&r, &o, NULL, &err) == RK_OK, "%s", err.msg);
    rk_results_free(&r);
    gp = report_file("b", "ap_vs_aug.gp");
    /* from 0 (the clipped low interval) up: one range for every panel, numbers rather than
     * autoscale, in both drawings (PNG and SVG) */
    size_t ranges = 0;
    for (size_t i = 0; gp[i]; i++) /* the key strip's own [0:1] aside */
        ranges += !strncmp(gp + i, "set yrange [0:", 14) && strncmp(gp + i, "set yrange [0:1]", 16);
    int autoscale = strstr(gp, "[0<*") != NULL;
    free(gp);
    ck_assert_uint_eq(ranges, 2);
    ck_assert(!autoscale);
}
END_TEST

/* needle occurs in text after the first marker. Not inlined: inlined into a test, GCC 12
 * takes text for a pointer to read_file's local and warns (-Wdangling-pointer), wrongly. */
__attribute__((noinline)) static int after(const char *text, const char *marker,
                                           const char *needle)
{
    const char *m = strstr(text, marker);
    return m && strstr(m, needle) != NULL;
}

/* Issue 23: the report sets its deltas beside the paper's tables 3, 4 and 7 — each table only
 * when the study has its arms (Table 4 needs simclr, Table 7 joint), a row per comparison the
 * study can make, the paper's number beside ours. */
START_TEST(the_report_sets_its_deltas_beside_the_papers_tables)
{
    rk_store *s = open_db("k.db");
    sdb_paper_opts po = {.study = "st", .seeds = 3, .noise = 0.3, .controls = 1, .kinds = 1,
                         .joint = 1};
    ck_assert_int_eq(sdb_paper(s, &po), 0);
    rk_store_close(s);
    report_of("k.db", "k", "selftrain", "S4");
    char *md = report_file("k", "report.md");
    const char *sec = "## The paper's comparisons\n\n### Table 3 (S4)";
    ck_assert_msg(strstr(md, sec), "the section, Table 3 first");
    ck_assert(after(md, sec, "| comparison | 20 % | paper 20 % | 50 % | paper 50 % | 100 % | "
                             "paper 100 % |\n"));
    /* make_study_db draws the stronger backbone's gain from the paper's +2.6 / +1.1 / +0.5 */
    const char *row = "| the stronger backbone over the plain one (ImageNet++): pretrain++ − "
                      "pretrain | +";
    ck_assert_msg(after(md, sec, row), "the stronger backbone's row");
    ck_assert(after(md, row, "| +2.6 |") && after(md, row, "| +0.5 |\n"));
    ck_assert(after(md, sec, "### Table 4 (S4, 100 %): self-supervised pre-training (SimCLR)"));
    ck_assert(after(md, sec, "| SimCLR over supervised pre-training: simclr − pretrain | "));
    ck_assert(after(md, "simclr − pretrain | ", " | +0.0 |\n"));
    ck_assert(after(md, sec, "### Table 7 (S4, 20 %): joint training"));
    ck_assert(after(md, sec, "| joint training over scratch: joint − scratch | +2."));
    ck_assert(after(md, "### Table 7", "| +2.9 |\n"));
    ck_assert(after(md, sec, "## Convergence"));
    free(md);
    char *html = report_file("k", "index.html");
    ck_assert(strstr(html, "<h2>The paper's comparisons</h2>"));
    free(html);
    /* the main grid only: Table 3's first three rows, no Table 4 or 7 */
    s = open_db("m.db");
    sdb_paper_opts pm = {.study = "st", .seeds = 2, .noise = 0.3};
    ck_assert_int_eq(sdb_paper(s, &pm), 0);
    rk_store_close(s);
    report_of("m.db", "mm", "selftrain", "S4");
    char *main_md = report_file("mm", "report.md");
    ck_assert(strstr(main_md, "| self-training over pre-training: pretrain+selftrain − pretrain |"));
    ck_assert(!strstr(main_md, "pretrain++ − pretrain"));
    ck_assert(!strstr(main_md, "### Table 4") && !strstr(main_md, "### Table 7"));
    free(main_md);
    /* a study without S4 has none of them */
    s = open_db("n.db");
    for (int seed = 1; seed <= 2; seed++)
        for (int a = 0; a < 2; a++) {
            sdb_trial t = {.arm = a ? "selftrain" : "scratch", .aug = "S1", .fraction = 1.0,
                           .seed = seed, .ap = 0.3 + 0.01 * a};
            ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
        }
    rk_store_close(s);
    report_of("n.db", "nn", "scratch", "S1");
    char *no_s4 = report_file("nn", "report.md");
    ck_assert(!strstr(no_s4, "The paper's comparisons"));
    free(no_s4);
}
END_TEST

/* Issue 21: ap_vs_cpu names each point's cell; the curves' key matches their lines. */
START_TEST(ap_vs_cpu_labels_its_points)
{
    rk_store *s = open_db("p.db");
    sdb_paper_opts po = {.study = "st", .seeds = 2, .noise = 0.3};
    ck_assert_int_eq(sdb_paper(s, &po), 0);
    rk_store_close(s);
    report_of("p.db", "a", "selftrain", "S1");
    char *dat = report_file("a", "ap_vs_cpu.dat");
    ck_assert_msg(strstr(dat, "# fraction 0.2, scratch\n60 "), "%s", dat);
    ck_assert(strstr(dat, " \"S4\"\n"));
    free(dat);
    char *gp = report_file("a", "ap_vs_cpu.gp");
    ck_assert(strstr(gp, "\"ap_vs_cpu.dat\" index 0 using 1:2:5 with labels"));
    ck_assert(strstr(gp, "set title \"20 % of the labelled data\""));
    free(gp);
    gp = report_file("a", "curves.gp");
    /* pseudo-label losses: every seed's dashed line untitled, one grey key entry for them */
    ck_assert(strstr(gp, "with lines lw 1.3 dt 2 lc rgb \"#D55E00\" notitle"));
    ck_assert(strstr(gp, "lc rgb \"#666666\" title \"dashed: pseudo-label loss (each seed)\""));
    free(gp);
}
END_TEST

/* Issue 25: text from a database reaches gnuplot only where it substitutes nothing. Every
 * name that reaches a plot — arm, policy, variant key and value, the numeric axis's key —
 * carries a backquoted command, a $(...) one, a macro, quotes, a backslash and a newline;
 * rendering the report must run none of them (the files they would touch must not exist)
 * and draw every plot. */
START_TEST(names_from_a_database_never_run_as_commands_in_gnuplot)
{
    char pw[300], arm[1000], aug[1000], aug2[1000], axis[1000], value[1000];
    snprintf(pw, sizeof pw, "%s/pwned", fx_tmp);
    snprintf(arm, sizeof arm, "evil`touch %s_arm`$(touch %s_arm2)'\"\\\nx", pw, pw);
    snprintf(aug, sizeof aug, "S1`touch %s_aug`@aug'\"\nset output 'x'", pw);
    snprintf(aug2, sizeof aug2, "S2$(touch %s_aug2)\\", pw);
    snprintf(axis, sizeof axis, "x`touch %s_axis`.y=", pw);
    snprintf(value, sizeof value, "train.note=a`touch %s_value`\"'\nb", pw);
    rk_store *s = open_db("p.db");
    for (int seed = 1; seed <= 2; seed++)
        for (int k = 0; k < 2; k++) {
            const char *a = k ? aug2 : aug;
            char ax[1100];
            sdb_trial t = {.arm = "scratch", .aug = a, .fraction = 1.0, .seed = seed,
                           .ap = 0.3 + 0.01 * seed, .epochs = 2};
            ck_assert_int_eq(sdb_add(s, "st", &t, NULL), 0);
            /* the hostile arm on a numeric axis with a hostile key (ap_vs_KEY plot) */
            for (int v = 1; v <= 2; v++) {
                snprintf(ax, sizeof ax, "%s%d", axis, v);
                sdb_trial e = {.arm = arm, .aug = a, .fraction = 1.0, .seed = seed,
                               .ap = 0.31 + 0.01 * v, .extra = ax, .epochs = 2};
                ck_assert_int_eq(sdb_add(s, "st", &e, NULL), 0);
            }
            /* a hostile value on a text axis: part of the series names */
            sdb_trial p = {.arm = "pretrain", .aug = a, .fraction = 1.0, .seed = seed,
                           .ap = 0.33, .extra = value, .epochs = 2};
            ck_assert_int_eq(sdb_add(s, "st", &p, NULL), 0);
            snprintf(ax, sizeof ax, "train.note=plain");
            p.extra = ax, p.ap = 0.34;
            ck_assert_int_eq(sdb_add(s, "st", &p, NULL), 0);
        }
    rk_store_close(s);
    rk_results r;
    load(&r, "p.db");
    ck_assert_uint_eq(r.naxes, 2);
    char out[512];
    fx_path(out, sizeof out, "rep");
    rk_report_opts o = {.out_dir = out, .curve_arm = arm, .curve_aug = aug, .curve_fraction = 1.0};
    rk_report_files f = {0};
    rk_err err = {0};
    int rc = rk_report_write(&r, &o, &f, &err);
    rk_results_free(&r);
    const char *what[] = {"arm", "arm2", "aug", "aug2", "axis", "value"};
    for (size_t i = 0; i < 6; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s_%s", pw, what[i]);
        ck_assert_msg(access(p, F_OK) != 0, "gnuplot ran the command in the %s name", what[i]);
    }
    ck_assert_msg(rc == RK_OK, "%s", err.msg);
    ck_assert_msg(!f.warning, "a plot failed: %s", f.warning);
    size_t png = 0;
    for (size_t i = 0; i < f.n; i++) png += strstr(f.paths[i], ".png") != NULL;
    ck_assert_uint_eq(png, 6); /* aug, fraction, delta, curves, cpu, the numeric axis */
    rk_report_files_free(&f);
    /* no script holds a backquote, a double-quoted name or a line the names broke */
    char *gp = report_file("rep", "ap_vs_aug.gp");
    ck_assert(!strchr(gp, '`') && !strstr(gp, "$(") && !strstr(gp, "set output 'x'"));
    ck_assert_msg(strstr(gp, "'S1?touch "), "the name is shown, reduced to safe characters");
    free(gp);
}
END_TEST

Suite *suite_report(void);

Suite *suite_report(void)
{
    Suite *s = suite_create("report");
    TCase *st = tcase_create("statistics");
    tcase_add_checked_fixture(st, fx_tmp_setup, fx_tmp_teardown);
    tcase_add_test(st, t_quantiles_match_the_tables);
    tcase_add_test(st, summary_is_mean_sample_std_and_student_t_interval);
    tcase_add_test(st, one_seed_has_no_interval_and_non_finite_values_do_not_count);
    tcase_add_test(st, seeded_difference_pairs_common_seeds_only);
    tcase_add_test(st, cells_and_paired_deltas_from_a_store);
    tcase_add_test(st, an_undefined_stat_has_no_paired_delta);
    tcase_add_test(st, a_missing_database_or_study_is_an_error_that_says_so);
    tcase_add_test(st, extra_axes_become_variants_and_pair_with_the_arm_without_them);
    tcase_add_test(st, variants_agree_on_the_keys_both_name_and_show_as_sorted_pairs);
    tcase_add_test(st, last_quarter_gain_splits_the_evaluations_at_three_quarters_of_the_epochs);
    tcase_add_test(st, convergence_of_trials_and_cells_comes_from_their_dev_metrics);
    suite_add_tcase(s, st);
    TCase *cl = tcase_create("claims");
    tcase_add_checked_fixture(cl, fx_tmp_setup, fx_tmp_teardown);
    tcase_add_test(cl, a_claim_that_holds_in_every_cell_holds_and_exits_0);
    tcase_add_test(cl, a_claim_contradicted_by_the_interval_fails_and_exits_1);
    tcase_add_test(cl, a_straddling_interval_or_one_seed_is_inconclusive_and_exits_3);
    tcase_add_test(cl, every_cell_claims_fail_on_one_failing_cell_and_exit_codes_combine);
    tcase_add_test(cl, trends_compare_paired_steps_along_an_axis);
    tcase_add_test(cl, a_key_set_per_slice_is_a_cell_setting_not_an_axis);
    tcase_add_test(cl, a_key_omitted_at_its_default_still_splits_cells);
    tcase_add_test(cl, a_diverged_trial_fails_a_stability_claim);
    tcase_add_test(cl, divergence_is_read_from_the_error_code_not_the_message);
    tcase_add_test(cl, malformed_claims_files_name_file_line_and_key);
    tcase_add_test(cl, unknown_arms_and_axis_values_are_bad_input);
    tcase_add_test(cl, verdicts_are_recorded_in_the_store_and_json_is_one_line);
    tcase_add_test(cl, a_baseline_holds_against_itself_and_fails_after_a_regression);
    tcase_add_test(cl, holm_adjusts_p_values_step_down_as_by_hand);
    tcase_add_test(cl, holm_leaves_inconclusive_a_claim_that_any_unit_at_95_percent_fails);
    tcase_add_test(cl, holm_steps_down_where_bonferroni_stops);
    tcase_add_test(cl, the_minimal_detectable_effect_matches_a_hand_computation);
    tcase_add_test(cl, verdicts_on_fewer_than_four_seeds_are_stated_as_indicative);
    tcase_add_test(cl, a_claim_resting_on_a_budget_limited_cell_is_inconclusive_unless_told_to_ignore);
    tcase_add_test(cl, a_fixed_budget_stopping_on_its_budget_is_not_budget_limited);
    tcase_add_test(cl, a_baseline_count_out_of_range_is_an_error);
    tcase_add_test(cl, a_database_whose_index_disagrees_with_its_table_is_named_corrupt);
    suite_add_tcase(s, cl);
    TCase *rp = tcase_create("folder");
    tcase_add_checked_fixture(rp, fx_tmp_setup, fx_tmp_teardown);
    tcase_set_timeout(rp, 120);
    tcase_add_test(rp, the_report_writes_valid_png_svg_html_markdown_and_csv_deterministically);
    tcase_add_test(rp, the_convergence_section_gives_each_cell_its_numbers_and_verdict);
    tcase_add_test(rp, without_a_dev_split_convergence_is_said_to_be_unmeasured);
    tcase_add_test(rp, without_gnuplot_the_report_still_writes_its_tables_csv_and_says_why);
    tcase_add_test(rp, the_report_lists_the_cells_that_hit_their_maximum_budget);
    tcase_add_test(rp, the_report_says_which_machine_ran_which_cells_and_seeds);
    tcase_add_test(rp, stats_are_named_either_way_and_nothing_else);
    tcase_add_test(rp, the_plateau_threshold_is_relative_to_the_cells_ap);
    tcase_add_test(rp, control_deltas_appear_in_deltas_csv_tables_and_plots);
    tcase_add_test(rp, ap_intervals_are_clipped_and_panels_can_share_one_y_range);
    tcase_add_test(rp, ap_vs_cpu_labels_its_points);
    tcase_add_test(rp, the_report_sets_its_deltas_beside_the_papers_tables);
    tcase_add_test(rp, names_from_a_database_never_run_as_commands_in_gnuplot);
    suite_add_tcase(s, rp);
    return s;
}
