/* Experiment files: grid expansion, overrides, [when:...] sections, validation errors, and
 * the trial identity (which keys enter a trial's hash). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "rethink/config.h"
#include "rethink/trial.h"

static char path[300];

/* fx_tmp with the policies S1 and S4 beside the experiment file (path) */
static void setup(void)
{
    fx_policies_s4_setup();
    fx_path(path, sizeof path, "x.ini");
}

static void write_exp(const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static const char *BASE = "[study]\nname = t\n[train]\nsteps = 100\n[grid]\narm = scratch, selftrain\n"
                          "aug = S1, S4\nfraction = 0.5, 1.0\n";

START_TEST(grid_expands_with_the_last_axis_fastest)
{
    write_exp(BASE);
    rk_experiment x;
    rk_err err = {0};
    ck_assert_msg(rk_experiment_load(&x, path, NULL, 0, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(rk_experiment_size(&x), 8);
    rk_config c;
    ck_assert(rk_experiment_trial(&x, 1, &c, &err) == RK_OK);
    ck_assert_str_eq(rk_config_get(&c, "trial.arm"), "scratch");
    ck_assert_str_eq(rk_config_get(&c, "trial.aug"), "S1");
    ck_assert_str_eq(rk_config_get(&c, "trial.fraction"), "1.0");
    ck_assert_str_eq(rk_config_get(&c, "train.steps"), "100");
    ck_assert_str_eq(rk_config_get(&c, "train.batch"), "32"); /* default */
    rk_config_free(&c);
    rk_experiment_free(&x);
}
END_TEST

START_TEST(when_sections_apply_only_to_matching_trials)
{
    char text[1024];
    snprintf(text, sizeof text, "%s[when:aug=S4]\ntrain.steps = 300\n[when:aug=S4,fraction=0.5]\n"
                                "train.lr = 0.1\n", BASE);
    write_exp(text);
    rk_experiment x;
    rk_err err = {0};
    ck_assert_msg(rk_experiment_load(&x, path, NULL, 0, &err) == RK_OK, "%s", err.msg);
    for (size_t i = 0; i < rk_experiment_size(&x); i++) {
        rk_config c;
        ck_assert(rk_experiment_trial(&x, i, &c, &err) == RK_OK);
        int s4 = !strcmp(rk_config_get(&c, "trial.aug"), "S4");
        int half = !strcmp(rk_config_get(&c, "trial.fraction"), "0.5");
        ck_assert_str_eq(rk_config_get(&c, "train.steps"), s4 ? "300" : "100");
        ck_assert_str_eq(rk_config_get(&c, "train.lr"), s4 && half ? "0.1" : "0.05");
        rk_config_free(&c);
    }
    rk_experiment_free(&x);
}
END_TEST

START_TEST(overrides_replace_values_and_add_or_replace_axes)
{
    write_exp(BASE);
    const char *ov[] = {"train.lr=0.1,0.05", "arm=selftrain", "train.steps=7"};
    rk_experiment x;
    rk_err err = {0};
    ck_assert_msg(rk_experiment_load(&x, path, ov, 3, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(rk_experiment_size(&x), 1 * 2 * 2 * 2); /* arm now one value, lr an axis */
    rk_config c;
    ck_assert(rk_experiment_trial(&x, 0, &c, &err) == RK_OK);
    ck_assert_str_eq(rk_config_get(&c, "trial.arm"), "selftrain");
    ck_assert_str_eq(rk_config_get(&c, "train.steps"), "7");
    ck_assert_str_eq(rk_config_entry(&c, "train.steps")->file, "command line");
    rk_config_free(&c);
    rk_experiment_free(&x);
}
END_TEST

/* The command line wins over the file's per-slice values as it does over its base values:
 * -s train.steps=7 on a file with [when:aug=S4] train.steps = 300 trains every trial 7
 * steps, and -s train.steps=7,8 sweeps both values in every slice (before, the slice value
 * replaced both, leaving two trials of one identity). */
START_TEST(command_line_overrides_win_over_when_sections)
{
    char text[1024];
    snprintf(text, sizeof text, "%s[when:aug=S4]\ntrain.steps = 300\ntrain.lr = 0.1\n", BASE);
    write_exp(text);
    const char *scalar[] = {"train.steps=7"}, *axis[] = {"train.steps=7,8"};
    for (int k = 0; k < 2; k++) {
        rk_experiment x;
        rk_err err = {0};
        ck_assert_msg(rk_experiment_load(&x, path, k ? axis : scalar, 1, &err) == RK_OK, "%s",
                      err.msg);
        size_t n = rk_experiment_size(&x), s4 = 0;
        ck_assert_int_eq(n, k ? 16 : 8);
        for (size_t i = 0; i < n; i++) {
            rk_config c;
            ck_assert(rk_experiment_trial(&x, i, &c, &err) == RK_OK);
            int is_s4 = !strcmp(rk_config_get(&c, "trial.aug"), "S4");
            const char *want = k && i % 2 ? "8" : "7"; /* the new axis varies fastest */
            ck_assert_str_eq(rk_config_get(&c, "train.steps"), want);
            /* the slice's other keys still apply */
            ck_assert_str_eq(rk_config_get(&c, "train.lr"), is_s4 ? "0.1" : "0.05");
            s4 += is_s4;
            rk_config_free(&c);
        }
        ck_assert_int_eq(s4, n / 2);
        rk_experiment_free(&x);
    }
}
END_TEST

static void expect_error(const char *text, const char *const *ov, size_t nov, const char *needle)
{
    write_exp(text);
    rk_experiment x;
    rk_err err = {0};
    ck_assert_int_ne(rk_experiment_load(&x, path, ov, nov, &err), RK_OK);
    ck_assert_msg(strstr(err.msg, needle), "message lacks '%s': %s", needle, err.msg);
}

START_TEST(bad_files_name_file_line_and_key)
{
    char want[800];
    snprintf(want, sizeof want, "%s:4: key 'train.stepz': unknown key", path);
    expect_error("[study]\nname = t\n[train]\nstepz = 3\n", NULL, 0, want);
    snprintf(want, sizeof want, "%s:2: key 'train.lr'", path);
    expect_error("[train]\nlr = fast\n", NULL, 0, want);
    expect_error("[train]\nlr = 0.1\nlr = 0.2\n", NULL, 0, "given twice (first at line 2)");
    expect_error("[grid]\narm = scratch, nope\n", NULL, 0, "key 'trial.arm'");
    expect_error("[grid]\nfraction = 0.5,\n", NULL, 0, "empty value");
    expect_error("[when:aug=S4]\nsteps = 3\n", NULL, 0, "write the full section.key");
    /* a slice value of an axis would turn the axis's trials into copies of one trial */
    snprintf(want, sizeof want, "%s:2: [when:aug=S4] sets 'train.lr', which is a grid axis (%s:6)",
             path, path);
    expect_error("[when:aug=S4]\ntrain.lr = 0.1\n[grid]\naug = S1, S4\n\ntrain.lr = 0.1, 0.2\n",
                 NULL, 0, want);
    const char *ov[] = {"train.batch"};
    expect_error("[study]\nname = t\n", ov, 1, "expected key=value");
    expect_error("[study]\nname = t\n[augment.S9]\nflip = 2\n", NULL, 0, "augment.S9");
}
END_TEST

static void hash_of(const char *const *ov, size_t n, char h[65])
{
    rk_experiment x;
    rk_err err = {0};
    ck_assert_msg(rk_experiment_load(&x, path, ov, n, &err) == RK_OK, "%s", err.msg);
    rk_config c;
    ck_assert(rk_experiment_trial(&x, 0, &c, &err) == RK_OK);
    char *j;
    ck_assert(rk_config_json(&c, &j, h, &err) == RK_OK);
    free(j);
    rk_config_free(&c);
    rk_experiment_free(&x);
}

START_TEST(a_trials_identity_depends_only_on_what_its_arm_uses)
{
    write_exp("[study]\nname = t\n");
    char a[65], b[65];
    const char *s1[] = {"arm=scratch"}, *s2[] = {"arm=scratch", "selftrain.alpha=3", "study.name=u",
                                                "study.threads=2", "pretrain.epochs=50"};
    hash_of(s1, 1, a);
    hash_of(s2, 5, b);
    ck_assert_str_eq(a, b); /* a scratch trial ignores selftrain, pretrain and bookkeeping keys */
    const char *t1[] = {"arm=selftrain"}, *t2[] = {"arm=selftrain", "selftrain.alpha=3"};
    hash_of(t1, 1, a);
    hash_of(t2, 2, b);
    ck_assert_str_ne(a, b);
    const char *u1[] = {"arm=scratch", "train.lr=0.1"};
    hash_of(s1, 1, a);
    hash_of(u1, 2, b);
    ck_assert_str_ne(a, b);
}
END_TEST

/* Keys added to the schema after results were recorded count only when not at their
 * default: the default scratch trial keeps the hash it had before train.precision existed
 * (prefix recorded with the build before it: `rethink sweep --dry-run` beside this augment.ini). */
START_TEST(a_key_added_later_changes_no_existing_identity)
{
    write_exp("[study]\nname = t\n");
    char a[65], b[65];
    hash_of(NULL, 0, a);
    ck_assert_msg(!strncmp(a, "956e48daf75ff142", 16), "default trial's hash changed: %s", a);
    const char *f32[] = {"train.precision=f32"}, *bf16[] = {"train.precision=bf16"};
    hash_of(f32, 1, b);
    ck_assert_str_eq(a, b);
    hash_of(bf16, 1, b);
    ck_assert_str_ne(a, b);
    /* at its default in any spelling, a numeric key is left out too */
    const char *one[] = {"train.steps_scale=1.0"}, *two[] = {"train.steps_scale=2"};
    hash_of(one, 1, b);
    ck_assert_str_eq(a, b);
    hash_of(two, 1, b);
    ck_assert_str_ne(a, b);
}
END_TEST

/* train.steps_scale multiplies the detector budget a trial resolves to, the per-slice
 * [when:] budgets included, and leaves pre-training alone; a student gets its
 * selftrain.steps_scale share of the scaled budget (what rk_trial_cost counts). */
START_TEST(steps_scale_multiplies_every_slices_budget)
{
    char text[1024];
    snprintf(text, sizeof text, "%s[when:aug=S4]\ntrain.steps = 300\n[train]\nbatch = 8\n"
                                "[selftrain]\npseudo_batch = 8\nsteps_scale = 0.5\n", BASE);
    write_exp(text);
    const char *ov[] = {"train.steps_scale=2"};
    rk_experiment x;
    rk_err err = {0};
    ck_assert_msg(rk_experiment_load(&x, path, ov, 1, &err) == RK_OK, "%s", err.msg);
    for (size_t i = 0; i < rk_experiment_size(&x); i++) {
        rk_config c;
        ck_assert(rk_experiment_trial(&x, i, &c, &err) == RK_OK);
        rk_trial_cfg t;
        ck_assert_msg(rk_trial_cfg_from(&t, &c, &err) == RK_OK, "%s", err.msg);
        int s4 = !strcmp(rk_config_get(&c, "trial.aug"), "S4");
        int self = !strcmp(rk_config_get(&c, "trial.arm"), "selftrain");
        ck_assert_int_eq(t.train.steps, s4 ? 600 : 200);
        ck_assert_int_eq(t.pre.epochs, 10); /* pretrain.epochs' default, unscaled */
        rk_trial_work w;
        ck_assert(rk_trial_cost(&c, &w, &err) == RK_OK);
        /* a student: half the doubled steps, 8 labelled + 8 pseudo images each */
        ck_assert_double_eq(w.images, self ? (s4 ? 300 : 100) * 16.0 : (s4 ? 600 : 200) * 8.0);
        rk_config_free(&c);
    }
    rk_experiment_free(&x);
}
END_TEST

Suite *suite_config(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("experiment");
    tcase_add_checked_fixture(tc, setup, fx_tmp_teardown);
    tcase_add_test(tc, grid_expands_with_the_last_axis_fastest);
    tcase_add_test(tc, when_sections_apply_only_to_matching_trials);
    tcase_add_test(tc, overrides_replace_values_and_add_or_replace_axes);
    tcase_add_test(tc, command_line_overrides_win_over_when_sections);
    tcase_add_test(tc, bad_files_name_file_line_and_key);
    tcase_add_test(tc, a_trials_identity_depends_only_on_what_its_arm_uses);
    tcase_add_test(tc, a_key_added_later_changes_no_existing_identity);
    tcase_add_test(tc, steps_scale_multiplies_every_slices_budget);
    suite_add_tcase(s, tc);
    return s;
}
