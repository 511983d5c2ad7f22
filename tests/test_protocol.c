/* The fair study protocol (issue 18): the plateau rule that decides when a trial has
 * converged, its config keys, and the transfer-gap datasets (the source's labels are not the
 * target's classes). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "rethink/arms.h"
#include "rethink/config.h"
#include "rethink/trial.h"

static rk_schedule rule(int patience, double min_delta, double anneal)
{
    rk_schedule s = rk_schedule_default();
    s.lr = 0.1, s.plateau = 1, s.patience = patience, s.min_delta = min_delta, s.anneal = anneal;
    return s;
}

START_TEST(plateau_compares_the_mean_of_the_last_window_with_the_window_before)
{
    rk_schedule s = rule(3, 0.002, 0.25);
    rk_plateau p;
    rk_plateau_init(&p);
    /* a noisy rise: single evaluations fall below earlier ones, but each window's mean is
     * above the one before (0.10 -> 0.15 -> ...): the stable phase goes on */
    const double rise[] = {0.10, 0.14, 0.06, 0.16, 0.12, 0.17, 0.21, 0.13, 0.20};
    for (int i = 0; i < 9; i++) ck_assert_int_eq(rk_plateau_observe(&p, &s, rise[i], 100 * i), 0);
    ck_assert_double_eq_tol(p.gain, (0.21 + 0.13 + 0.20 - 0.16 - 0.12 - 0.17) / 3, 1e-12);
    ck_assert_int_eq(p.anneal_at, -1);
    /* flat around 0.18: the last window gains 0.001 over the one before: the plateau, and
     * the decay over a quarter of the 1,100 steps so far */
    ck_assert_int_eq(rk_plateau_observe(&p, &s, 0.181, 900), 0);  /* window 0.13 0.20 0.181 */
    ck_assert_int_eq(rk_plateau_observe(&p, &s, 0.175, 1000), 0);
    ck_assert_int_eq(rk_plateau_observe(&p, &s, 0.184, 1100), 1); /* 0.18 vs 0.179 */
    ck_assert_int_eq(p.anneal_at, 1100);
    ck_assert_int_eq(p.anneal_len, 275);
    ck_assert_int_eq(p.capped, 0);
    /* later evaluations change nothing */
    ck_assert_int_eq(rk_plateau_observe(&p, &s, 0.0, 1200), 0);
    ck_assert_int_eq(p.anneal_at, 1100);
}
END_TEST

START_TEST(plateau_lr_is_warm_up_then_the_peak_then_a_cosine_decay_to_the_stop)
{
    rk_schedule s = rule(2, 0.0, 0.5);
    rk_plateau p;
    rk_plateau_init(&p);
    ck_assert_float_eq_tol(rk_plateau_lr(&p, &s, 0, 10, 1000), 0.1f * 0.01f, 1e-7); /* warm-up */
    ck_assert_float_eq(rk_plateau_lr(&p, &s, 10, 10, 1000), 0.1f);
    ck_assert_float_eq(rk_plateau_lr(&p, &s, 400, 10, 1000), 0.1f);
    for (int i = 0; i < 4; i++) rk_plateau_observe(&p, &s, 0.3, 100 * (i + 1)); /* flat */
    ck_assert_int_eq(p.anneal_at, 400);
    ck_assert_int_eq(p.anneal_len, 200);
    ck_assert_float_eq(rk_plateau_lr(&p, &s, 400, 10, 1000), 0.1f);
    ck_assert_float_eq_tol(rk_plateau_lr(&p, &s, 500, 10, 1000), 0.05f, 1e-7); /* half-way */
    ck_assert_int_eq(rk_plateau_done(&p, 599), 0);
    ck_assert_int_eq(rk_plateau_done(&p, 600), 1);
}
END_TEST

START_TEST(a_stable_phase_that_reaches_the_budget_decays_over_the_rest_and_is_capped)
{
    /* with anneal 0.25 the stable phase may last 800 of 1,000 steps; at step 800 the decay
     * takes the last 200, and the trial counts as stopped by its budget */
    rk_schedule s = rule(3, 0.002, 0.25);
    rk_plateau p;
    rk_plateau_init(&p);
    ck_assert_float_eq(rk_plateau_lr(&p, &s, 799, 10, 1000), 0.1f);
    ck_assert_int_eq(p.anneal_at, -1);
    ck_assert_float_eq(rk_plateau_lr(&p, &s, 800, 10, 1000), 0.1f);
    ck_assert_int_eq(p.anneal_at, 800);
    ck_assert_int_eq(p.anneal_len, 200);
    ck_assert_int_eq(p.capped, 1);
    ck_assert_int_eq(rk_plateau_done(&p, 1000), 1);
}
END_TEST

/* ---- config ---- */
static char path[300];

static void setup(void)
{
    fx_policies_setup();
    fx_path(path, sizeof path, "x.ini");
}

static int load_trial(const char *text, const char *const *ov, size_t nov, rk_trial_cfg *t,
                      rk_config *c, rk_err *err)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    rk_experiment x;
    int rc = rk_experiment_load(&x, path, ov, nov, err);
    if (rc) return rc;
    rc = rk_experiment_trial(&x, 0, c, err);
    if (!rc && (rc = rk_trial_cfg_from(t, c, err))) rk_config_free(c); /* c: the caller's on 0 */
    rk_experiment_free(&x);
    return rc;
}

START_TEST(plateau_schedule_reads_its_keys_and_needs_a_dev_split)
{
    rk_trial_cfg *t = malloc(sizeof *t);
    rk_config c;
    rk_err err = {0};
    const char *ok[] = {"train.schedule=plateau", "train.dev=10", "train.patience=5",
                        "train.min_delta=0.004", "train.anneal=0.5", "train.warmup_steps=300"};
    ck_assert_msg(load_trial("[study]\nname = t\n[grid]\narm = scratch\n", ok, 6, t, &c, &err) == 0,
                  "%s", err.msg);
    ck_assert_int_eq(t->train.plateau, 1);
    ck_assert_int_eq(t->train.patience, 5);
    ck_assert_double_eq(t->train.min_delta, 0.004);
    ck_assert_double_eq(t->train.anneal, 0.5);
    ck_assert_int_eq(t->train.warmup_steps, 300);
    ck_assert_int_eq(t->pre.plateau, 0); /* pre-training keeps its cosine over epochs */
    rk_config_free(&c);
    const char *no_dev[] = {"train.schedule=plateau"};
    ck_assert_int_ne(load_trial("[study]\nname = t\n[grid]\narm = scratch\n", no_dev, 1, t, &c, &err), 0);
    ck_assert_msg(strstr(err.msg, "train.schedule") && strstr(err.msg, "train.dev"), "%s", err.msg);
    free(t);
}
END_TEST

START_TEST(protocol_keys_at_their_defaults_leave_the_identity_unchanged)
{
    /* A trial recorded before the keys existed keeps its hash when they are written out at
     * their defaults; set to anything else, they are part of it. */
    rk_trial_cfg *t = malloc(sizeof *t);
    rk_config c;
    rk_err err = {0};
    const char *exp = "[study]\nname = t\n[train]\ndev = 10\n[grid]\narm = scratch\n";
    ck_assert(load_trial(exp, NULL, 0, t, &c, &err) == 0);
    char h0[65], h1[65], h2[65], *j = NULL;
    rk_config_json(&c, &j, h0, &err);
    free(j);
    rk_config_free(&c);
    const char *defaults[] = {"train.schedule=cosine", "train.warmup_steps=0",
                              "train.patience=3",      "train.min_delta=0.002",
                              "train.anneal=0.25",
                              "data.classes=10",       "data.source_labels=all"};
    ck_assert_msg(load_trial(exp, defaults, 7, t, &c, &err) == 0, "%s", err.msg);
    rk_config_json(&c, &j, h1, &err);
    free(j);
    rk_config_free(&c);
    ck_assert_str_eq(h0, h1);
    const char *set[] = {"train.schedule=plateau"};
    ck_assert(load_trial(exp, set, 1, t, &c, &err) == 0);
    rk_config_json(&c, &j, h2, &err);
    free(j);
    rk_config_free(&c);
    ck_assert_str_ne(h0, h2);
    free(t);
}
END_TEST

/* A real trial under the plateau schedule: a rule that sees the plateau at once (a gain of
 * more than 1 AP is required) anneals and stops long before the budget, recording
 * 'plateau'; a rule that can never see it (patience beyond the evaluations) reaches the
 * budget's share, anneals over the rest and records 'budget'. */
START_TEST(a_plateau_trial_stops_by_its_rule_or_by_its_budget_and_says_which)
{
    const char *fmt = "[study]\nname = t\ndata = %s/data\nartifacts = %s/art\n[data]\ntrain = 16\n"
                      "val = 4\nsource = 4\n[train]\nsteps = 200\nbatch = 4\ndev = 4\n"
                      "dev_every = 4\nschedule = plateau\nwarmup_steps = 4\nanneal = 0.5\n"
                      "patience = %d\nmin_delta = %s\n[grid]\narm = scratch\n";
    const struct { int patience; const char *min_delta; rk_stop_reason want; } cases[] = {
        {1, "1", RK_STOP_PLATEAU}, {64, "0", RK_STOP_BUDGET}};
    for (size_t k = 0; k < 2; k++) {
        char text[1024];
        snprintf(text, sizeof text, fmt, fx_tmp, fx_tmp, cases[k].patience, cases[k].min_delta);
        rk_trial_cfg *t = malloc(sizeof *t);
        rk_config c;
        rk_err err = {0};
        ck_assert_msg(load_trial(text, NULL, 0, t, &c, &err) == 0, "%s", err.msg);
        rk_trial_result r;
        ck_assert_msg(rk_trial_run(&c, NULL, &r, &err) == 0, "%s", err.msg);
        ck_assert_int_eq(r.stop, cases[k].want);
        ck_assert_int_eq(r.max_steps, 200);
        if (cases[k].want == RK_STOP_PLATEAU) {
            /* the plateau at the second evaluation (step 8: 3 steps an epoch, so the first
             * epoch end past 8 is 9), then half as many steps of decay */
            ck_assert_int_lt(r.steps, 40);
            ck_assert_int_gt(r.steps, 8);
        } else {
            ck_assert_int_eq(r.steps, 200); /* the stable phase to 134, the decay to the end */
        }
        ck_assert_int_eq(r.images, r.steps * 4);
        rk_trial_result_free(&r);
        rk_config_free(&c);
        free(t);
    }
}
END_TEST

/* ---- the student's control ---- */

/* Hash of trial i of a one-trial-per-arm grid, with overrides. */
static void hash_of(const char *arm, const char *extra, char h[65])
{
    char text[512], *j = NULL;
    snprintf(text, sizeof text, "[study]\nname = t\n[train]\nsteps = 10\n%s[grid]\narm = %s\n",
             extra, arm);
    rk_trial_cfg *t = malloc(sizeof *t);
    rk_config c;
    rk_err err = {0};
    ck_assert_msg(load_trial(text, NULL, 0, t, &c, &err) == 0, "%s", err.msg);
    rk_config_json(&c, &j, h, &err);
    free(j);
    rk_config_free(&c);
    free(t);
}

START_TEST(the_control_arm_shares_the_students_start_and_budget_keys_but_not_the_pseudo_ones)
{
    /* continue controls selftrain: it starts from the same teacher and has its images per
     * step and budget (selftrain.pseudo_batch, steps_scale are its identity), but nothing of
     * the pseudo-labels (alpha, threshold, ...) */
    ck_assert_int_eq(rk_arms[RK_ARM_SELFTRAIN].control, RK_ARM_CONTINUE);
    ck_assert_int_eq(rk_arms[RK_ARM_PRETRAIN_SELFTRAIN].control, RK_ARM_PRETRAIN_CONTINUE);
    ck_assert_int_eq(rk_arms[RK_ARM_CONTINUE].teacher, rk_arms[RK_ARM_SELFTRAIN].teacher);
    ck_assert_int_eq(rk_arms[RK_ARM_PRETRAIN_CONTINUE].teacher,
                     rk_arms[RK_ARM_PRETRAIN_SELFTRAIN].teacher);
    ck_assert_int_eq(rk_arms[RK_ARM_CONTINUE].pseudo, 0);
    char a[65], b[65];
    hash_of("continue", "", a);
    hash_of("continue", "[selftrain]\nalpha = 2\nthreshold = 0.3\nkeep_empty = 1\n", b);
    ck_assert_str_eq(a, b);
    hash_of("continue", "[selftrain]\npseudo_batch = 8\n", b);
    ck_assert_str_ne(a, b);
    hash_of("continue", "[selftrain]\nsteps_scale = 0.5\n", b);
    ck_assert_str_ne(a, b);
    /* the students' identities are as before the control existed */
    hash_of("selftrain", "", a);
    hash_of("selftrain", "[selftrain]\nthreshold = 0.3\n", b);
    ck_assert_str_ne(a, b);
}
END_TEST

/* Writes text as the experiment file and loads it into x. */
static void load_experiment(const char *text, rk_experiment *x)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    rk_err err = {0};
    ck_assert_msg(rk_experiment_load(x, path, NULL, 0, &err) == 0, "%s", err.msg);
}

/* Runs the first n trials of the experiment text, in grid order, into r[0..n). */
static void run_grid(const char *text, rk_trial_result *r, size_t n)
{
    rk_experiment x;
    rk_err err = {0};
    load_experiment(text, &x);
    for (size_t i = 0; i < n; i++) {
        rk_config c;
        ck_assert(rk_experiment_trial(&x, i, &c, &err) == 0);
        ck_assert_msg(rk_trial_run(&c, NULL, &r[i], &err) == 0, "trial %zu: %s", i, err.msg);
        rk_config_free(&c);
    }
    rk_experiment_free(&x);
}

START_TEST(the_control_trains_the_students_steps_and_images_on_labelled_data)
{
    char text[1024];
    snprintf(text, sizeof text,
             "[study]\nname = t\ndata = %s/data\nartifacts = %s/art\n[data]\ntrain = 12\n"
             "val = 4\nsource = 8\n[train]\nepochs = 2\nbatch = 4\n[selftrain]\n"
             "pseudo_batch = 2\nthreshold = 0.01\nsteps_scale = 1.5\n"
             "[grid]\narm = scratch, selftrain, continue\n", fx_tmp, fx_tmp);
    rk_trial_result r[3];
    run_grid(text, r, 3);
    /* scratch: 3 steps an epoch x 2; the student and its control: 1.5 times that, each
     * step of 4 + 2 images */
    ck_assert_int_eq(r[0].steps, 6);
    ck_assert_int_eq(r[1].steps, 9);
    ck_assert_int_eq(r[2].steps, r[1].steps);
    ck_assert_int_eq(r[2].max_steps, r[1].max_steps);
    ck_assert_int_eq(r[1].images, 9 * 6);
    ck_assert_int_eq(r[2].images, r[1].images);
    ck_assert_str_eq(r[2].teacher_hash, r[1].teacher_hash);
    ck_assert(isnan(r[2].pseudo_cpu_s)); /* no pseudo-labelling */
    ck_assert(!isnan(r[1].pseudo_cpu_s));
    for (size_t i = 0; i < 3; i++) rk_trial_result_free(&r[i]);
}
END_TEST

/* ---- joint training ---- */

/* Every joint arm trains in a tiny study (teachers first, as the sweep's plan orders them):
 * each step trains joint.batch source images besides its detector images, and the trial
 * counts them (images) and costs them at a classifier pass (flops below six detector passes
 * per image); the pre-trained ones link the backbone, the students their teacher (a joint
 * arm) and, self-training, their pseudo-labels. */
START_TEST(every_joint_arm_trains_in_a_tiny_study_and_counts_its_source_images)
{
    static const char *const ARMS[] = {"joint", "pretrain+joint", "joint+selftrain",
                                       "pretrain+joint+selftrain", "joint+continue",
                                       "pretrain+joint+continue"};
    char text[1024];
    snprintf(text, sizeof text,
             "[study]\nname = t\ndata = %s/data\nartifacts = %s/art\n[data]\ntrain = 12\n"
             "val = 4\nsource = 8\n[train]\nepochs = 2\nbatch = 4\n[pretrain]\nepochs = 1\n"
             "batch = 4\n[selftrain]\npseudo_batch = 2\nthreshold = 0.01\n[joint]\nbatch = 3\n"
             "weight = 0.5\n[grid]\narm = joint, pretrain+joint, joint+selftrain, "
             "pretrain+joint+selftrain, joint+continue, pretrain+joint+continue\n", fx_tmp, fx_tmp);
    rk_experiment x;
    rk_err err = {0};
    load_experiment(text, &x);
    ck_assert_int_eq(rk_experiment_size(&x), 6);
    rk_trial_result r[6];
    for (size_t i = 0; i < 6; i++) {
        rk_config c;
        ck_assert(rk_experiment_trial(&x, i, &c, &err) == 0);
        ck_assert_str_eq(rk_config_get(&c, "trial.arm"), ARMS[i]);
        ck_assert_msg(rk_trial_run(&c, NULL, &r[i], &err) == 0, "%s: %s", ARMS[i], err.msg);
        rk_arm a = rk_arm_parse(ARMS[i]);
        int student = rk_arms[a].teacher != RK_ARM_NONE;
        /* 3 steps an epoch x 2; 4 labelled (+ 2 pseudo or 2 more labelled) + 3 source each */
        ck_assert_int_eq(r[i].steps, 6);
        ck_assert_int_eq(r[i].images, 6 * (4 + (student ? 2 : 0) + 3));
        rk_refnet_cfg m = rk_refnet_default();
        ck_assert_msg(r[i].flops < 6.0 * rk_refnet_macs(&m, 1) * (double)r[i].images,
                      "%s: the source images were costed as detector images", ARMS[i]);
        ck_assert(r[i].flops > 6.0 * rk_refnet_macs(&m, 1) * (double)(r[i].images - 6 * 3));
        ck_assert_msg(strstr(r[i].config_json, "\"joint.weight\":\"0.5\"") != NULL, "%s",
                      r[i].config_json);
        ck_assert_int_eq(r[i].stats.ncats, 10);
        ck_assert_int_eq(!isnan(r[i].source_acc), rk_arms[a].backbone == RK_BACKBONE_SUPERVISED);
        ck_assert_int_eq(!isnan(r[i].pseudo_cpu_s), rk_arms[a].pseudo);
        if (student) {
            ck_assert_str_eq(r[i].teacher_hash, r[rk_arms[a].teacher - RK_ARM_JOINT].hash);
        }
        rk_config_free(&c);
    }
    for (size_t i = 0; i < 6; i++) rk_trial_result_free(&r[i]);
    rk_experiment_free(&x);
}
END_TEST

/* ---- other unlabelled sources (selftrain.source) ---- */

/* The pseudo-labels artifact of trial result r (fails the test if it has none). */
static const rk_artifact_use *pseudo_of(const rk_trial_result *r)
{
    for (size_t i = 0; i < r->nart && i < RK_TRIAL_ARTIFACTS; i++)
        if (!strcmp(r->art[i].kind, RK_ARTIFACT_PSEUDO)) return &r->art[i];
    ck_abort_msg("the student links no pseudo-labels");
    return NULL;
}

/* A tiny study per value of selftrain.source: the scratch teacher, then its student, which
 * trains and records the value in its identity; the teacher pseudo-labels the source's 8
 * images, the target's 6 train images outside the dev split (4) and the labelled half of
 * the 12 left, or the 8 images of the shifted set (built in the data folder). With `target`
 * not one pseudo-labelled image is a labelled or a dev image: the pseudo-labels file names
 * exactly the train images outside both. */
START_TEST(each_unlabelled_source_trains_and_target_never_labels_a_labelled_or_dev_image)
{
    static const char *const VALUES[3] = {"source", "target", "shifted"};
    const double want_images[3] = {8, 6, 8};
    for (int v = 0; v < 3; v++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "[study]\nname = t\ndata = %s/data\nartifacts = %s/art\n[data]\ntrain = 16\n"
                 "val = 4\nsource = 8\n[train]\nepochs = 2\nbatch = 4\ndev = 4\n"
                 "[selftrain]\npseudo_batch = 2\nthreshold = 0.01\nkeep_empty = 1\nsource = %s\n"
                 "[grid]\narm = scratch, selftrain\nfraction = 0.5\n", fx_tmp, fx_tmp, VALUES[v]);
        rk_err err = {0};
        rk_trial_result r[2];
        run_grid(text, r, 2);
        int in_id = strstr(r[1].config_json, "\"selftrain.source\"") != NULL;
        ck_assert_int_eq(in_id, v > 0); /* at its default (source) left out, as before */
        ck_assert_str_eq(r[1].teacher_hash, r[0].hash);
        ck_assert_int_eq(r[1].stats.ncats, 10);
        const rk_artifact_use *pa = pseudo_of(&r[1]);
        char key[64];
        snprintf(key, sizeof key, "\"source_images\": %.0f,", want_images[v]);
        ck_assert_msg(strstr(pa->meta, key) != NULL, "%s: %s", VALUES[v], pa->meta);
        if (v == 1) {
            /* the labelled and dev images, as the trial chose them */
            char ann[400], h[65];
            snprintf(ann, sizeof ann, "%s/data/annotations/instances_train.json", fx_tmp);
            rk_coco tr, ps;
            ck_assert(rk_coco_load(&tr, ann, &err) == 0);
            ck_assert_msg(rk_coco_load(&ps, pa->path, &err) == 0, "%s", err.msg);
            size_t *dev, *pool, npool, *lab, nlab;
            ck_assert(rk_holdout(&tr, 4, &dev, &pool, &npool, &err) == 0);
            ck_assert(rk_subset_of(&tr, pool, npool, 0.5, 1, &lab, &nlab, h, &err) == 0);
            ck_assert_int_eq(ps.nimages, npool - nlab);
            for (size_t i = 0; i < ps.nimages; i++) {
                for (size_t k = 0; k < 4; k++)
                    ck_assert_msg(strcmp(ps.images[i].file_name, tr.images[dev[k]].file_name),
                                  "dev image %s pseudo-labelled", ps.images[i].file_name);
                for (size_t k = 0; k < nlab; k++)
                    ck_assert_msg(strcmp(ps.images[i].file_name, tr.images[lab[k]].file_name),
                                  "labelled image %s pseudo-labelled", ps.images[i].file_name);
            }
            free(dev), free(pool), free(lab);
            rk_coco_free(&tr), rk_coco_free(&ps);
        }
        if (v == 2) {
            char card[400];
            snprintf(card, sizeof card, "%s/data/shifted/card.json", fx_tmp);
            ck_assert_msg(access(card, F_OK) == 0, "no shifted set at %s", card);
        }
        for (size_t i = 0; i < 2; i++) rk_trial_result_free(&r[i]);
    }
}
END_TEST

/* ---- the transfer gap ---- */
START_TEST(transfer_gap_target_has_its_classes_and_the_source_labels_the_others)
{
    rk_scene_params p = rk_scene_defaults();
    p.ntrain = 40, p.nval = 10, p.nsource = 60, p.classes = 5;
    p.source_labels = RK_SOURCE_LABELS_OTHER;
    char out[400], ann[500], lab[500];
    fx_path(out, sizeof out, "gap");
    rk_err err = {0};
    ck_assert_msg(rk_fashion_scenes_build(&p, RK_FASHION_DIR, out, 2, NULL, NULL, &err) == 0, "%s",
                  err.msg);
    rk_coco coco;
    snprintf(ann, sizeof ann, "%s/annotations/instances_train.json", out);
    ck_assert_msg(rk_coco_load(&coco, ann, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(coco.ncats, 5);
    ck_assert(coco.nanns > 40);
    for (size_t i = 0; i < coco.nanns; i++) ck_assert_int_le(coco.anns[i].category_id, 5);
    rk_coco_free(&coco);
    /* labels.csv: only classes 6..10 (ids), and not every source image */
    snprintf(lab, sizeof lab, "%s/source/labels.csv", out);
    FILE *f = fopen(lab, "r");
    ck_assert(f != NULL);
    char line[256];
    int rows = 0;
    ck_assert(fgets(line, sizeof line, f) != NULL); /* header */
    while (fgets(line, sizeof line, f)) {
        int id = atoi(strchr(line, ',') + 1);
        ck_assert_int_ge(id, 6);
        ck_assert_int_le(id, 10);
        rows++;
    }
    fclose(f);
    ck_assert_int_gt(rows, 10);
    ck_assert_int_lt(rows, 60); /* the images of target classes stay unlabelled */
    /* 'other' with every class in the target is refused, naming the option */
    p.classes = 10;
    ck_assert_int_ne(rk_scene_validate(&p, &err), 0);
    ck_assert_msg(strstr(err.msg, "source-labels") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(default_scenes_are_byte_identical_to_the_builder_before_the_transfer_gap)
{
    /* SHA-256 of the files `rethink data build fashion-scenes --train 12 --val 6 --source 8
     * --seed 3` wrote at 6fd71f0, before data.classes existed: the matched datasets of every
     * published study must not change */
    rk_scene_params p = rk_scene_defaults();
    p.ntrain = 12, p.nval = 6, p.nsource = 8, p.seed = 3;
    char out[400], f[500], h[65];
    fx_path(out, sizeof out, "fs");
    rk_err err = {0};
    ck_assert_msg(rk_fashion_scenes_build(&p, RK_FASHION_DIR, out, 2, NULL, NULL, &err) == 0, "%s",
                  err.msg);
    const char *files[][2] = {
        {"annotations/instances_train.json",
         "71c0b958143349973d6b1a5395759fb4c853b0e2d6d36b782c79d48794022cb0"},
        {"annotations/instances_val.json",
         "4072c3cc861bc780e9db7412503504d6f6e5385fdad6ee34e02c94aacdae98af"},
        {"source/labels.csv", "0cdf410a59d7f452af6b06977b96a0ac98eb96cbc7587f504df506c0c9a8aacb"},
    };
    for (size_t i = 0; i < 3; i++) {
        snprintf(f, sizeof f, "%s/%s", out, files[i][0]);
        ck_assert_msg(rk_sha256_file(f, h, &err) == 0, "%s", err.msg);
        ck_assert_msg(!strcmp(h, files[i][1]), "%s changed: %s", files[i][0], h);
    }
}
END_TEST

Suite *suite_protocol(void)
{
    Suite *s = suite_create("protocol");
    TCase *tc = tcase_create("plateau");
    tcase_add_test(tc, plateau_compares_the_mean_of_the_last_window_with_the_window_before);
    tcase_add_test(tc, plateau_lr_is_warm_up_then_the_peak_then_a_cosine_decay_to_the_stop);
    tcase_add_test(tc, a_stable_phase_that_reaches_the_budget_decays_over_the_rest_and_is_capped);
    suite_add_tcase(s, tc);
    tc = tcase_create("config");
    tcase_add_checked_fixture(tc, setup, fx_tmp_teardown);
    tcase_add_test(tc, plateau_schedule_reads_its_keys_and_needs_a_dev_split);
    tcase_add_test(tc, protocol_keys_at_their_defaults_leave_the_identity_unchanged);
    tcase_add_test(tc, a_plateau_trial_stops_by_its_rule_or_by_its_budget_and_says_which);
    tcase_add_test(tc, the_control_arm_shares_the_students_start_and_budget_keys_but_not_the_pseudo_ones);
    tcase_add_test(tc, the_control_trains_the_students_steps_and_images_on_labelled_data);
    tcase_add_test(tc, every_joint_arm_trains_in_a_tiny_study_and_counts_its_source_images);
    tcase_add_test(tc, each_unlabelled_source_trains_and_target_never_labels_a_labelled_or_dev_image);
    tcase_add_test(tc, transfer_gap_target_has_its_classes_and_the_source_labels_the_others);
    tcase_add_test(tc, default_scenes_are_byte_identical_to_the_builder_before_the_transfer_gap);
    suite_add_tcase(s, tc);
    return s;
}
