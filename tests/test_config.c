/* Experiment files: grid expansion, overrides, ranges, [when:...] sections, validation
 * errors (among them every file that used to mean something else than it says, issue 25),
 * paths relative to the experiment file, and the trial identity (which keys enter a trial's
 * hash). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
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

/* Each of these loaded without a word and ran something else than the file says (issue
 * 25); each is now an error naming the file, the line and the key. */
START_TEST(a_when_condition_on_an_unknown_key_is_an_error)
{
    char want[800];
    /* [when:agu=S4] matched no trial: its longer budget silently applied to none */
    snprintf(want, sizeof want, "%s:10: section [when:agu=S4]: 'agu' is not a config key (did "
             "you mean 'aug'?)", path);
    char text[1024];
    snprintf(text, sizeof text, "%s[when:agu=S4]\ntrain.steps = 300\n", BASE);
    expect_error(text, NULL, 0, want);
    snprintf(text, sizeof text, "%s[when:train.stesp=100]\ntrain.lr = 0.1\n", BASE);
    expect_error(text, NULL, 0, "did you mean 'train.steps'?");
    snprintf(text, sizeof text, "%s[when:aug]\ntrain.lr = 0.1\n", BASE);
    expect_error(text, NULL, 0, "expected [when:key=value,...]");
    snprintf(text, sizeof text, "%s[when:aug=S4]\ntrain.lr = 0.1\ntrain.lr = 0.2\n", BASE);
    expect_error(text, NULL, 0, "key 'train.lr' given twice in [when:aug=S4] (first at line 10)");
}
END_TEST

START_TEST(a_grid_key_given_twice_is_an_error)
{
    char want[800];
    /* the second line replaced the first axis: seed 1 was never run */
    snprintf(want, sizeof want, "%s:4: grid key 'trial.seed' given twice (first at line 3)", path);
    expect_error("[grid]\narm = scratch\nseed = 1\nseed = 2\n", NULL, 0, want);
    snprintf(want, sizeof want, "%s:5: grid key 'trial.seed' given twice (first at line 2)", path);
    expect_error("[grid]\nseed = 1\n[train]\nsteps = 1\n[grid]\ntrial.seed = 2\n", NULL, 0,
                 "given twice (first at line 2)");
    /* the command line still replaces an axis on purpose */
    write_exp("[grid]\nseed = 1, 2\n");
    const char *ov[] = {"seed=3"};
    rk_experiment x;
    rk_err err = {0};
    ck_assert_msg(rk_experiment_load(&x, path, ov, 1, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(rk_experiment_size(&x), 1);
    rk_experiment_free(&x);
}
END_TEST

START_TEST(a_line_longer_than_the_ini_reader_takes_is_an_error)
{
    /* inih reads lines into 200 bytes: the rest of a longer one became a "line" of its own,
     * here 'train.lr = 0.1' hidden at the end of a comment */
    char text[1024], want[600];
    int pad = 240;
    snprintf(text, sizeof text, "[study]\nname = t\n; %*s\n[train]\nsteps = 3\n", pad, "lr = 0.1");
    snprintf(want, sizeof want, "%s:3: line longer than 199 characters", path);
    expect_error(text, NULL, 0, want);
    /* the longest line that fits is fine */
    snprintf(text, sizeof text, "[study]\nname = %-192s\n", "t");
    ck_assert_int_eq(strlen(strchr(text, '\n') + 1), 200); /* 199 characters and the newline */
    write_exp(text);
    rk_experiment x;
    rk_err err = {0};
    ck_assert_msg(rk_experiment_load(&x, path, NULL, 0, &err) == RK_OK, "%s", err.msg);
    rk_experiment_free(&x);
}
END_TEST

START_TEST(a_directory_is_not_an_experiment_file)
{
    char dir[400];
    fx_path(dir, sizeof dir, "d.ini");
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    rk_experiment x;
    rk_err err = {0};
    ck_assert_int_ne(rk_experiment_load(&x, dir, NULL, 0, &err), RK_OK); /* was an empty grid */
    ck_assert_msg(strstr(err.msg, "is a directory"), "%s", err.msg);
}
END_TEST

START_TEST(the_policies_file_is_the_one_named_and_must_exist)
{
    /* -s study.policies=other.ini was recorded and ignored: S7 of other.ini was not found */
    fx_write("other.ini", "[augment.S7]\nflip = 0.5\nscale = 0.8, 1.2\npad = 1, 2, 3\n"
                          "min_size = 1\nmin_visible = 0.1\n");
    char other[400], ovp[500];
    fx_path(other, sizeof other, "other.ini");
    snprintf(ovp, sizeof ovp, "study.policies=%s", other);
    write_exp("[study]\nname = t\n[grid]\naug = S7\n");
    const char *ov[] = {ovp};
    rk_experiment x;
    rk_err err = {0};
    ck_assert_msg(rk_experiment_load(&x, path, ov, 1, &err) == RK_OK, "%s", err.msg);
    rk_config c;
    ck_assert_msg(rk_experiment_trial(&x, 0, &c, &err) == RK_OK, "%s", err.msg);
    ck_assert_ptr_null(rk_config_get(&c, "augment.S1.flip")); /* augment.ini was not read */
    rk_config_free(&c);
    rk_experiment_free(&x);
    /* one named in the file is relative to it; named and missing is an error naming it */
    char want[800];
    snprintf(want, sizeof want, "%s:3: key 'study.policies': the policies file %s/nope.ini "
             "does not exist", path, fx_tmp);
    expect_error("[study]\nname = t\npolicies = nope.ini\n", NULL, 0, want);
    const char *missing[] = {"study.policies=/nonexistent/p.ini"};
    expect_error("[study]\nname = t\n", missing, 1, "/nonexistent/p.ini does not exist");
    /* the default one may be missing, but a policy it would define is then named with it */
    char pol[400];
    fx_path(pol, sizeof pol, "augment.ini");
    ck_assert_int_eq(remove(pol), 0);
    write_exp("[study]\nname = t\n");
    ck_assert_msg(rk_experiment_load(&x, path, NULL, 0, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_ne(rk_experiment_trial(&x, 0, &c, &err), RK_OK);
    snprintf(want, sizeof want, "no augmentation policy [augment.S1] (none is defined); the "
             "policies file %s (study.policies) does not exist", pol);
    ck_assert_msg(strstr(err.msg, want), "%s", err.msg);
    rk_experiment_free(&x);
}
END_TEST

START_TEST(an_undefined_policy_is_an_error_of_the_experiment_naming_its_origin)
{
    /* -s aug=S9 loaded, and every trial failed when it ran */
    const char *ov[] = {"aug=S9"};
    write_exp(BASE);
    rk_experiment x;
    rk_err err = {0};
    ck_assert_msg(rk_experiment_load(&x, path, ov, 1, &err) == RK_OK, "%s", err.msg);
    rk_config c;
    ck_assert_int_ne(rk_experiment_trial(&x, 0, &c, &err), RK_OK);
    ck_assert_msg(strstr(err.msg, "command line: key 'trial.aug': no augmentation policy "
                                  "[augment.S9] (defined: S1, S4)"), "%s", err.msg);
    rk_experiment_free(&x);
    const char *typo[] = {"aug=S44"};
    ck_assert(rk_experiment_load(&x, path, typo, 1, &err) == RK_OK);
    ck_assert_int_ne(rk_experiment_trial(&x, 0, &c, &err), RK_OK);
    ck_assert_msg(strstr(err.msg, "[augment.S44] (did you mean 'S4'?)"), "%s", err.msg);
    rk_experiment_free(&x);
    /* a pre-trained arm needs its pre-training policy too */
    const char *pre[] = {"arm=pretrain", "pretrain.aug=S2"};
    ck_assert(rk_experiment_load(&x, path, pre, 2, &err) == RK_OK);
    ck_assert_int_ne(rk_experiment_trial(&x, 0, &c, &err), RK_OK);
    ck_assert_msg(strstr(err.msg, "key 'pretrain.aug': no augmentation policy [augment.S2]"),
                  "%s", err.msg);
    rk_experiment_free(&x);
}
END_TEST

START_TEST(a_comma_in_a_path_is_part_of_the_path)
{
    /* -s study.data=/x,y made two trials, of /x and of y */
    write_exp(BASE);
    const char *ov[] = {"study.data=/x,y"};
    rk_experiment x;
    rk_err err = {0};
    ck_assert_msg(rk_experiment_load(&x, path, ov, 1, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(rk_experiment_size(&x), 8);
    ck_assert_str_eq(rk_config_get(&x.base, "study.data"), "/x,y");
    rk_experiment_free(&x);
    /* two paths are ';'-separated, as the values of other keys that hold commas */
    const char *two[] = {"study.data=/x,y;/z"};
    ck_assert(rk_experiment_load(&x, path, two, 1, &err) == RK_OK);
    ck_assert_int_eq(rk_experiment_size(&x), 16);
    rk_experiment_free(&x);
    const char *name[] = {"study.name=a,b"};
    expect_error(BASE, name, 1, "key 'study.name' cannot be a grid axis");
}
END_TEST

START_TEST(control_characters_in_values_are_refused)
{
    /* a newline in study.name reached the #SBATCH lines of --emit-slurm's script */
    const char *nl[] = {"study.name=x\n#SBATCH --wrap=touch owned"};
    expect_error(BASE, nl, 1, "command line: key 'study.name': control character 0x0a");
    const char *axis[] = {"train.lr=0.1,0.2\r"};
    expect_error(BASE, axis, 1, "key 'train.lr': control character 0x0d");
    const char *pol[] = {"augment.S1.flip=0.5\x1b[2J"};
    expect_error(BASE, pol, 1, "key 'augment.S1.flip': control character 0x1b");
    char text[512];
    snprintf(text, sizeof text, "%s[when:aug=S4]\ntrain.lr = 0.1\x01\n", BASE);
    expect_error(text, NULL, 0, "key 'train.lr': control character 0x01");
}
END_TEST

START_TEST(a_grid_too_large_to_run_is_an_error_not_an_overflow)
{
    /* 64 two-valued axes wrapped the product to 0 ("the grid is empty"); 63 wrapped an
     * allocation of twice the size and wrote past it */
    const int sizes[] = {14, 63, 64};
    const char *trials[] = {"16384", "9223372036854775808", "more than 2^64"};
    for (int k = 0; k < 3; k++) {
        int axes = sizes[k];
        char text[8192] = "[study]\nname = t\n[grid]\n";
        for (int a = 0; a < axes; a++)
            snprintf(text + strlen(text), sizeof text - strlen(text), "augment.S1.k%d = 1, 2\n", a);
        char want[400];
        snprintf(want, sizeof want, "the grid's %d axes make %s trials, more than the limit of "
                 "%d", axes, trials[k], RK_GRID_MAX);
        expect_error(text, NULL, 0, want);
    }
    rk_experiment x = {.naxes = 2, .axes = (rk_axis[]){{.n = SIZE_MAX / 2}, {.n = 3}}};
    ck_assert_uint_eq(rk_experiment_size(&x), SIZE_MAX); /* saturates */
}
END_TEST

START_TEST(integer_axes_take_ranges)
{
    const char *forms[][2] = {{"seed = range(1, 5)", NULL}, {"seed = 1:4", NULL},
                              {"seed = 1", "seed=range(1,5)"}, {"seed = 1", "seed=1:4"},
                              {"seed = 1, 2:3, 4", NULL}, {"seed = 1:7:2", NULL}};
    for (size_t f = 0; f < sizeof forms / sizeof *forms; f++) {
        char text[256];
        snprintf(text, sizeof text, "[study]\nname = t\n[grid]\n%s\n", forms[f][0]);
        write_exp(text);
        rk_experiment x;
        rk_err err = {0};
        ck_assert_msg(rk_experiment_load(&x, path, &forms[f][1], forms[f][1] ? 1 : 0, &err) == RK_OK,
                      "%s: %s", forms[f][0], err.msg);
        ck_assert_int_eq(rk_experiment_size(&x), 4);
        for (size_t i = 0; i < 4; i++) {
            rk_config c;
            ck_assert(rk_experiment_trial(&x, i, &c, &err) == RK_OK);
            char want[8];
            snprintf(want, sizeof want, "%zu", f == 5 ? 2 * i + 1 : i + 1);
            ck_assert_str_eq(rk_config_get(&c, "trial.seed"), want);
            rk_config_free(&c);
        }
        rk_experiment_free(&x);
    }
    expect_error("[grid]\nseed = range(5, 1)\n", NULL, 0, "expected an integer or a range");
    expect_error("[grid]\nseed = 1:x\n", NULL, 0, "expected an integer or a range");
    expect_error("[grid]\ntrain.lr = range(1, 3)\n", NULL, 0, "ranges are for integer keys");
    expect_error("[grid]\nseed = 0:99999\n", NULL, 0, "more than 10000 values");
}
END_TEST

START_TEST(typos_get_a_suggestion)
{
    expect_error("[train]\nepochz = 3\n", NULL, 0, "unknown key (did you mean 'train.epochs'?)");
    expect_error("[grid]\narm = scratch, selftrian\n", NULL, 0, "(did you mean 'selftrain'?)");
    expect_error("[grid]\nfractoin = 0.5\n", NULL, 0, "not a config key (did you mean 'fraction'?)");
    /* no guess when nothing is close, or two are as close */
    expect_error("[train]\nbananas = 3\n", NULL, 0, "unknown key (see");
    const char *cand[] = {"S1", "S4"};
    ck_assert_ptr_null(rk_suggest("S9", cand, 2));
    ck_assert_str_eq(rk_suggest("s4", cand, 2), "S4");
}
END_TEST

START_TEST(paths_in_a_file_are_relative_to_it_and_on_the_command_line_to_the_caller)
{
    char sub[400], exp2[500];
    fx_path(sub, sizeof sub, "sub");
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    snprintf(exp2, sizeof exp2, "%s/x.ini", sub);
    FILE *f = fopen(exp2, "w");
    fputs("[study]\nname = t\ndata = scenes\npolicies = ../augment.ini\n", f);
    fclose(f);
    const char *ov[][1] = {{"study.name=t"}, {"study.data=here"}, {"study.artifacts=/abs/a"}};
    const char *want_data[] = {"scenes", "here", "scenes"};
    char h0[65] = "";
    for (int k = 0; k < 3; k++) {
        rk_experiment x;
        rk_err err = {0};
        ck_assert_msg(rk_experiment_load(&x, exp2, ov[k], 1, &err) == RK_OK, "%s", err.msg);
        rk_config c;
        ck_assert_msg(rk_experiment_trial(&x, 0, &c, &err) == RK_OK, "%s", err.msg);
        rk_trial_cfg t;
        ck_assert_msg(rk_trial_cfg_from(&t, &c, &err) == RK_OK, "%s", err.msg);
        char want[600];
        if (k == 1) snprintf(want, sizeof want, "here");
        else snprintf(want, sizeof want, "%s/%s", sub, want_data[k]);
        ck_assert_str_eq(t.data_dir, want);
        if (k == 2) snprintf(want, sizeof want, "/abs/a");
        else snprintf(want, sizeof want, "%s/artifacts", sub); /* the default, beside the file */
        ck_assert_str_eq(t.artifacts, want);
        /* the identity holds the value as written, wherever the study's folder is */
        char *j, h[65];
        ck_assert(rk_config_json(&c, &j, h, &err) == RK_OK);
        ck_assert_ptr_nonnull(strstr(j, k == 1 ? "\"study.data\":\"here\"" : "\"study.data\":\"scenes\""));
        if (k == 0) memcpy(h0, h, sizeof h0);
        if (k == 2) ck_assert_str_eq(h, h0); /* artifacts is no part of it */
        free(j);
        rk_config_free(&c);
        rk_experiment_free(&x);
    }
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

/* model.task (segmentation) came after results were recorded: every arm of a fixed tiny
 * config keeps the identity it had before the key existed (prefixes recorded with the build
 * before it, main at 697613a: `rethink sweep x.ini --dry-run` beside this augment.ini), at
 * `detect` spelt out too; `segment` gives every arm a new identity. */
START_TEST(the_task_key_keeps_every_detection_identity_and_segment_changes_it)
{
    write_exp("[study]\nname = t\n[train]\nsteps = 100\nbatch = 8\n[selftrain]\npseudo_batch = 8\n"
              "[grid]\narm = scratch, pretrain, selftrain, pretrain+selftrain, continue, "
              "pretrain+continue\naug = S4\nfraction = 0.5\nseed = 3\n");
    static const char *const before[6] = {"9eaa08b9faca2f7e", "bc137e4488ae415e", "db333e698339f3a3",
                                          "311905ac6ef1de66", "2a3a7bc5247599d7", "26ffa4be0e0b27c1"};
    const char *dflt[] = {"study.name=t"}, *det[] = {"model.task=detect"}, *seg[] = {"model.task=segment"};
    const char *const *ovs[3] = {dflt, det, seg};
    for (int v = 0; v < 3; v++) {
        rk_experiment x;
        rk_err err = {0};
        ck_assert_msg(rk_experiment_load(&x, path, ovs[v], 1, &err) == RK_OK, "%s", err.msg);
        ck_assert_int_eq(rk_experiment_size(&x), 6);
        for (size_t i = 0; i < 6; i++) {
            rk_config c;
            char h[65], *j;
            ck_assert(rk_experiment_trial(&x, i, &c, &err) == RK_OK);
            ck_assert(rk_config_json(&c, &j, h, &err) == RK_OK);
            if (v < 2)
                ck_assert_msg(!strncmp(h, before[i], 16), "%s trial %zu (%s): hash %.16s, was %s",
                              ovs[v][0], i, rk_config_get(&c, "trial.arm"), h, before[i]);
            else
                ck_assert_msg(strncmp(h, before[i], 16) && strstr(j, "\"model.task\":\"segment\""),
                              "a segmentation trial kept the detection identity %.16s", h);
            rk_trial_cfg t;
            ck_assert(rk_trial_cfg_from(&t, &c, &err) == RK_OK);
            ck_assert_int_eq(t.segment, v == 2);
            free(j);
            rk_config_free(&c);
        }
        rk_experiment_free(&x);
    }
    /* a misspelt task names the key and the values */
    const char *bad[] = {"model.task=segmentation"};
    rk_experiment x;
    rk_err err = {0};
    ck_assert(rk_experiment_load(&x, path, bad, 1, &err) != RK_OK);
    ck_assert_msg(strstr(err.msg, "model.task") && strstr(err.msg, "detect or segment"), "%s", err.msg);
}
END_TEST

/* A dataset of one's own (no card.json of rethink's generator) is known by its content
 * (issue 20): editing an annotation file or adding an image makes new trials and a new
 * backbone; moving the folder (and pointing study.data at it) does not. A generated dataset
 * (with its card) keeps the identity it always had: its recipe is in the data.* keys. */
static void own_hashes(const char *data, char trial[65], char backbone[65])
{
    char text[200];
    snprintf(text, sizeof text, "[study]\nname = t\ndata = %s\nbuild_data = 0\n", data);
    write_exp(text);
    const char *ov[] = {"arm=pretrain"};
    hash_of(ov, 1, trial);
    rk_experiment x;
    rk_err err = {0};
    ck_assert_msg(rk_experiment_load(&x, path, ov, 1, &err) == RK_OK, "%s", err.msg);
    rk_config c, st;
    ck_assert(rk_experiment_trial(&x, 0, &c, &err) == RK_OK);
    ck_assert_msg(rk_stage_config(&c, RK_STAGE_BACKBONE, &st, backbone, &err) == RK_OK, "%s",
                  err.msg);
    rk_config_free(&st), rk_config_free(&c), rk_experiment_free(&x);
}

START_TEST(a_dataset_of_ones_own_is_known_by_its_content_not_its_path)
{
    char d[300];
    fx_path(d, sizeof d, "own");
    mkdir(d, 0755);
    fx_path(d, sizeof d, "own/annotations"), mkdir(d, 0755);
    fx_path(d, sizeof d, "own/train"), mkdir(d, 0755);
    fx_write("own/annotations/instances_train.json", "{\"images\": []}\n");
    fx_write("own/train/1.jpg", "not really a jpeg");
    char t0[65], b0[65], t1[65], b1[65];
    own_hashes("own", t0, b0);
    /* moved: the same trial, the same backbone */
    char from[300], to[300];
    fx_path(from, sizeof from, "own"), fx_path(to, sizeof to, "moved");
    ck_assert_int_eq(rename(from, to), 0);
    own_hashes("moved", t1, b1);
    ck_assert_str_eq(t0, t1);
    ck_assert_str_eq(b0, b1);
    /* an annotation edited, then an image added: other trials each time */
    fx_write("moved/annotations/instances_train.json", "{\"images\": [ ]}\n");
    own_hashes("moved", t1, b1);
    ck_assert_str_ne(t0, t1);
    ck_assert_str_ne(b0, b1);
    char t2[65], b2[65];
    fx_write("moved/train/2.jpg", "another");
    own_hashes("moved", t2, b2);
    ck_assert_str_ne(t1, t2);
    /* the same folder with the generator's card: known by its path and recipe, as before */
    fx_write("moved/card.json", "{}");
    own_hashes("moved", t1, b1);
    char t3[65], b3[65];
    own_hashes("./moved", t3, b3); /* the path's spelling is in the identity again */
    ck_assert_str_ne(t1, t3);
    ck_assert_str_ne(t0, t1);
    /* it is computed, never set */
    write_exp("[study]\nname = t\n[data]\ncontent = 00\n");
    rk_experiment x;
    rk_err err = {0};
    ck_assert_int_ne(rk_experiment_load(&x, path, NULL, 0, &err), RK_OK);
    ck_assert_msg(strstr(err.msg, "x.ini:4: key 'data.content' is computed"), "%s", err.msg);
}
END_TEST

/* The arms that existed before the new kinds of backbone (issue 23) keep every trial's
 * identity and the name of every stage's artifact: a tiny config's hashes and backbone and
 * pseudo-label keys for each of them, recorded with the build before the change (a988b17). */
START_TEST(new_backbone_kinds_change_no_existing_arms_identity_or_artifact)
{
    write_exp("[study]\nname = tiny\ndata = data/tiny-scenes\n[data]\ntrain = 48\nval = 16\n"
              "source = 48\n[train]\nepochs = 2\nbatch = 8\n[pretrain]\nepochs = 1\nbatch = 16\n"
              "[selftrain]\npseudo_batch = 8\nthreshold = 0.05\n[grid]\naug = S4\n"
              "fraction = 0.5\nseed = 2\n");
    /* the backbone's key is the same for every arm descended from it */
#define BB "c210ed48abe0bf5847188c627679f421869ebf74c6a2500d0dc54ef5b94811a6"
    static const struct {
        const char *arm, *hash, *backbone, *pseudo;
    } WANT[] = {
        {"scratch", "31de4f1572d94178f39abf20802d773fbb86cd6d36e510b0dc05daf09b25e74a", "", ""},
        {"pretrain", "b768a42b30ec972fbf1c542f0961d0e0c8009f626df7efdfba2d051b2ab5bf95", BB, ""},
        {"selftrain", "844a5b1bfc8722056faff79fda2b7beb01ec40cf85a0589b96afc3e050c22791", "",
         "087a49f8521c2eb659b6dbd907b06eeae067b47ad49b644982c50dbf20dfdb68"},
        {"pretrain+selftrain", "7b298a8e8f8b687a03abf88acdff261cb55d24b5357f71ec1ac22f499cff9e37",
         BB, "644859ed90535ef2bc131b2a358e99f27add022d4970713b8524e69009719b4a"},
        {"continue", "5f1d003872dd1230de10c41d1d32a68dda08c4bd06f1c4988165f7cfefed3c36", "", ""},
        {"pretrain+continue", "732a2dd78aab562145235adfd760cb704d5eb47c992161074e81b5f204489379",
         BB, ""},
    };
#undef BB
    for (size_t i = 0; i < sizeof WANT / sizeof *WANT; i++) {
        char ov0[64], h[65], k[65] = "";
        snprintf(ov0, sizeof ov0, "arm=%s", WANT[i].arm);
        const char *ov[] = {ov0};
        hash_of(ov, 1, h);
        rk_experiment x;
        rk_config c, sc;
        rk_err err = {0};
        ck_assert(rk_experiment_load(&x, path, ov, 1, &err) == RK_OK);
        ck_assert(rk_experiment_trial(&x, 0, &c, &err) == RK_OK);
        if (rk_stage_config(&c, RK_STAGE_BACKBONE, &sc, k, &err) == RK_OK) rk_config_free(&sc);
        char kb[65];
        snprintf(kb, sizeof kb, "%s", WANT[i].backbone[0] ? k : "");
        if (rk_stage_config(&c, RK_STAGE_PSEUDO, &sc, k, &err) == RK_OK) rk_config_free(&sc);
        else k[0] = 0;
        ck_assert_msg(!strcmp(h, WANT[i].hash), "%s: trial hash %s", WANT[i].arm, h);
        ck_assert_msg(!strcmp(kb, WANT[i].backbone), "%s: backbone key %s", WANT[i].arm, kb);
        ck_assert_msg(!strcmp(k, WANT[i].pseudo), "%s: pseudo-labels key %s", WANT[i].arm, k);
        rk_config_free(&c);
        rk_experiment_free(&x);
    }
}
END_TEST

/* The arm table grew joint-training rows and the schema joint.* keys (A_JOINT | A_IF_SET)
 * and selftrain.source: the six arms that existed before keep their identities, with the
 * joint keys at their defaults or set, and selftrain.source at its default. The hashes were printed by the commit before the joint arms (a988b17's
 * src/sweep/config.c and src/arms/arm.c linked against this library) for this tiny config. */
START_TEST(the_joint_arms_change_no_existing_arms_identity)
{
    static const char *const PINNED[][2] = {
        {"scratch", "692ce57c26ce280f237e170119b9a8a9f7da7f148d56a4ae164e170fb26fa0ae"},
        {"pretrain", "e282b5a338809b775fa8dec1ccd0e2db445b8e7a39bf0852d3cbec8386746ce9"},
        {"selftrain", "30e41d2cbb02fd27132a2018577d14fcdb04335b0323332ee8a97eb02edecf8b"},
        {"pretrain+selftrain", "16efe61abce53973f635e14c1e2cd4c15d07f148e29c1030e47dad2b566682b5"},
        {"continue", "4632986b2e7b66f63d59886248503be34ccfb74e1abc589193b7fc212da79e7c"},
        {"pretrain+continue", "4f6be521bea06e7c28b97e706481dd38fc0f87ff5243be5f83da06973f8454df"},
    };
    write_exp("[study]\nname = t\n[data]\ntrain = 60\nval = 20\nsource = 80\n[train]\n"
              "steps = 10\nbatch = 4\n");
    for (size_t a = 0; a < sizeof PINNED / sizeof *PINNED; a++) {
        char arm[64], h[65];
        snprintf(arm, sizeof arm, "arm=%s", PINNED[a][0]);
        const char *plain[] = {arm, "aug=S4", "fraction=0.2"};
        const char *joint[] = {arm, "aug=S4", "fraction=0.2", "joint.weight=0.5", "joint.batch=8"};
        const char *dflt[] = {arm, "aug=S4", "fraction=0.2", "selftrain.source=source"};
        hash_of(plain, 3, h);
        ck_assert_msg(!strcmp(h, PINNED[a][1]), "%s: identity changed to %s", PINNED[a][0], h);
        hash_of(joint, 5, h);
        ck_assert_msg(!strcmp(h, PINNED[a][1]), "%s: the joint keys entered its identity",
                      PINNED[a][0]);
        hash_of(dflt, 4, h);
        ck_assert_msg(!strcmp(h, PINNED[a][1]), "%s: selftrain.source at its default entered "
                      "its identity", PINNED[a][0]);
    }
}
END_TEST

/* What the dry run costs for a backbone (rk_trial_backbone_cost): the arm that makes it
 * (not its students), its kind, and its pre-training images — the labelled part of the
 * source times the epochs, strong.epochs_scale times as many for the stronger one, two
 * views per source image for SimCLR. 100 source images, 10 % held out, batch 10, 2 epochs:
 * 9 steps of 10 a epoch, 180 images; the stronger: 6 epochs, 540; SimCLR batch 20, 2
 * epochs: 5 steps of 40 views a epoch, 400. */
START_TEST(the_dry_run_costs_each_kind_of_backbone_by_its_pre_training_images)
{
    write_exp("[study]\nname = t\n[data]\nsource = 100\n[pretrain]\nepochs = 2\nbatch = 10\n"
              "holdout = 0.1\n[strong]\nepochs_scale = 3\n[simclr]\nepochs = 2\nbatch = 20\n"
              "[grid]\naug = S1\n");
    static const struct {
        const char *arm;
        rk_backbone kind;
        double images;
        int step;
    } WANT[] = {{"scratch", RK_BACKBONE_NONE, 0, 0},
                {"pretrain", RK_BACKBONE_SUPERVISED, 180, 10},
                {"pretrain+selftrain", RK_BACKBONE_NONE, 0, 0}, /* its teacher makes it */
                {"pretrain++", RK_BACKBONE_STRONG, 540, 10},
                {"pretrain+++continue", RK_BACKBONE_NONE, 0, 0},
                {"simclr", RK_BACKBONE_SIMCLR, 400, 40}};
    for (size_t i = 0; i < sizeof WANT / sizeof *WANT; i++) {
        char ov0[64];
        snprintf(ov0, sizeof ov0, "arm=%s", WANT[i].arm);
        const char *ov[] = {ov0};
        rk_experiment x;
        rk_config c;
        rk_err err = {0};
        ck_assert(rk_experiment_load(&x, path, ov, 1, &err) == RK_OK);
        ck_assert_msg(rk_experiment_trial(&x, 0, &c, &err) == RK_OK, "%s", err.msg);
        rk_backbone_work w;
        ck_assert_msg(rk_trial_backbone_cost(&c, &w, &err) == RK_OK, "%s", err.msg);
        ck_assert_msg(w.kind == WANT[i].kind, "%s: kind %d", WANT[i].arm, (int)w.kind);
        ck_assert_msg(w.images == WANT[i].images, "%s: %g images", WANT[i].arm, w.images);
        ck_assert_int_eq(w.step_images, WANT[i].step);
        ck_assert_int_eq(w.exists, 0);
        rk_config_free(&c);
        rk_experiment_free(&x);
    }
}
END_TEST

/* A joint arm's identity holds the joint keys once they leave their defaults, and each
 * joint arm is a trial of its own. */
START_TEST(a_joint_arms_identity_holds_the_joint_keys)
{
    write_exp("[study]\nname = t\n");
    const char *arms[] = {"joint", "pretrain+joint", "joint+selftrain", "pretrain+joint+selftrain",
                          "joint+continue", "pretrain+joint+continue", "scratch"};
    char h[7][65], b[65];
    for (int a = 0; a < 7; a++) {
        char arm[64];
        snprintf(arm, sizeof arm, "arm=%s", arms[a]);
        const char *plain[] = {arm}, *dflt[] = {arm, "joint.weight=1.0", "joint.batch=32"};
        const char *w[] = {arm, "joint.weight=0.5"}, *bt[] = {arm, "joint.batch=8"};
        hash_of(plain, 1, h[a]);
        for (int k = 0; k < a; k++) ck_assert_str_ne(h[a], h[k]);
        hash_of(dflt, 3, b);
        ck_assert_str_eq(h[a], b); /* at the defaults the keys are left out */
        if (a == 6) break;
        hash_of(w, 2, b);
        ck_assert_str_ne(h[a], b);
        hash_of(bt, 2, b);
        ck_assert_str_ne(h[a], b);
    }
}
END_TEST

/* The trial hash and the backbone stage's key of the experiment at path with overrides. */
static void identity_of(const char *const *ov, size_t n, char h[65], char backbone[65])
{
    rk_experiment x;
    rk_err err = {0};
    ck_assert_msg(rk_experiment_load(&x, path, ov, n, &err) == RK_OK, "%s", err.msg);
    rk_config c, st;
    ck_assert(rk_experiment_trial(&x, 0, &c, &err) == RK_OK);
    char *j;
    ck_assert(rk_config_json(&c, &j, h, &err) == RK_OK);
    free(j);
    ck_assert_msg(rk_stage_config(&c, RK_STAGE_BACKBONE, &st, backbone, &err) == RK_OK, "%s",
                  err.msg);
    rk_config_free(&st);
    rk_config_free(&c);
    rk_experiment_free(&x);
}

/* model.family came after results were recorded: a fixed tiny pretrain trial keeps the
 * hash and the backbone key it had before the key existed (prefixes recorded with the
 * build before it), at the default in any spelling; mbconv is another trial and another
 * backbone. */
START_TEST(the_backbone_family_changes_identity_only_when_set)
{
    write_exp("[study]\nname = t\n[model]\nwidth = 4\ndepth = 1\n[trial]\narm = pretrain\n");
    char h[65], bb[65], h2[65], bb2[65];
    identity_of(NULL, 0, h, bb);
    ck_assert_msg(!strncmp(h, "0306ae1bc3b0c741", 16), "the tiny trial's hash changed: %s (backbone %s)",
                  h, bb);
    ck_assert_msg(!strncmp(bb, "fd85d56b3404501e", 16), "the tiny backbone's key changed: %s", bb);
    const char *plain[] = {"model.family=plain"}, *mb[] = {"model.family=mbconv"};
    identity_of(plain, 1, h2, bb2);
    ck_assert_str_eq(h, h2);
    ck_assert_str_eq(bb, bb2);
    identity_of(mb, 1, h2, bb2);
    ck_assert_str_ne(h, h2);
    ck_assert_str_ne(bb, bb2);
    /* and the typed trial builds that family */
    rk_experiment x;
    rk_err err = {0};
    ck_assert(rk_experiment_load(&x, path, mb, 1, &err) == RK_OK);
    rk_config c;
    ck_assert(rk_experiment_trial(&x, 0, &c, &err) == RK_OK);
    rk_trial_cfg t;
    ck_assert_msg(rk_trial_cfg_from(&t, &c, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(t.det.model.family, RK_FAMILY_MBCONV);
    rk_config_free(&c);
    rk_experiment_free(&x);
}
END_TEST

/* model.neck is the detector's only: at its default no identity changes, fpn is another
 * trial, and its pre-trained backbone is the same artifact as topdown's. */
START_TEST(the_neck_changes_a_trials_identity_but_not_its_backbones)
{
    write_exp("[study]\nname = t\n[model]\nwidth = 4\ndepth = 1\n[trial]\narm = pretrain\n");
    char h[65], bb[65], h2[65], bb2[65];
    identity_of(NULL, 0, h, bb);
    ck_assert_msg(!strncmp(h, "0306ae1bc3b0c741", 16), "the tiny trial's hash changed: %s", h);
    const char *td[] = {"model.neck=topdown"}, *fpn[] = {"model.neck=fpn"};
    identity_of(td, 1, h2, bb2);
    ck_assert_str_eq(h, h2);
    identity_of(fpn, 1, h2, bb2);
    ck_assert_str_ne(h, h2);
    ck_assert_str_eq(bb, bb2);
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

/* selftrain.source is the identity of the arms that train on pseudo-labels, each value its
 * own trial; the arms without pseudo-labels (the teachers, the controls) ignore it. */
START_TEST(selftrain_source_enters_the_identity_of_the_pseudo_label_arms_only)
{
    write_exp("[study]\nname = t\n");
    const char *arms[] = {"selftrain", "pretrain+selftrain", "joint+selftrain", "scratch",
                          "continue", "joint"};
    for (int a = 0; a < 6; a++) {
        char arm[64], h[3][65];
        snprintf(arm, sizeof arm, "arm=%s", arms[a]);
        const char *vals[] = {"selftrain.source=source", "selftrain.source=target",
                              "selftrain.source=shifted"};
        for (int v = 0; v < 3; v++) {
            const char *ov[] = {arm, vals[v]};
            hash_of(ov, 2, h[v]);
        }
        int pseudo = a < 3;
        ck_assert_int_eq(strcmp(h[0], h[1]) != 0, pseudo);
        ck_assert_int_eq(strcmp(h[0], h[2]) != 0, pseudo);
        ck_assert_int_eq(strcmp(h[1], h[2]) != 0, pseudo);
    }
    rk_experiment x;
    rk_err err = {0};
    const char *bad[] = {"selftrain.source=coco"};
    ck_assert_int_eq(rk_experiment_load(&x, path, bad, 1, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "source, target or shifted") != NULL, "%s", err.msg);
}
END_TEST

/* A joint arm's trials count the source images of its classification task (images and
 * images per step) and cost them at the classifier's share of a detector image: the dry run
 * and the progress ETA see the extra compute. */
START_TEST(a_joint_arm_counts_and_costs_its_source_images)
{
    write_exp("[study]\nname = t\n[train]\nsteps = 100\nbatch = 8\n[selftrain]\n"
              "pseudo_batch = 8\n[joint]\nbatch = 4\n");
    const char *arms[] = {"scratch", "joint", "selftrain", "joint+selftrain", "joint+continue"};
    const double per[] = {8, 12, 16, 20, 20}; /* labelled (+ pseudo or control) + source */
    for (int a = 0; a < 5; a++) {
        char arm[64];
        snprintf(arm, sizeof arm, "arm=%s", arms[a]);
        const char *ov[] = {arm};
        rk_experiment x;
        rk_err err = {0};
        ck_assert_msg(rk_experiment_load(&x, path, ov, 1, &err) == RK_OK, "%s", err.msg);
        rk_config c;
        ck_assert(rk_experiment_trial(&x, 0, &c, &err) == RK_OK);
        rk_trial_work w;
        ck_assert(rk_trial_cost(&c, &w, &err) == RK_OK);
        int joint = a == 1 || a >= 3;
        ck_assert_double_eq(w.images, 100 * per[a]);
        ck_assert_int_eq(w.joint_images, joint ? 4 : 0);
        ck_assert_int_eq(w.step_images + w.joint_images, (int)per[a]);
        /* a classifier pass is the backbone without the neck and head: cheaper */
        ck_assert(w.joint_cost > 0.3 && w.joint_cost < 1);
        rk_config_free(&c);
        rk_experiment_free(&x);
    }
}
END_TEST

/* The tiny study's cell (scratch and selftrain, S1, 50 %, seed 1) as experiments/tiny.ini
 * defined it when the [trainer] keys arrived, its policy inline. */
static const char *TINY = "[study]\nname = tiny\ndata = data/tiny-scenes\n[data]\ntrain = 48\n"
                          "val = 16\nsource = 48\n[train]\nepochs = 2\nbatch = 8\n[pretrain]\n"
                          "epochs = 1\nbatch = 16\n[selftrain]\npseudo_batch = 8\n"
                          "threshold = 0.05\n[augment.S1]\nflip = 0.5\nscale = 0.8, 1.2\n"
                          "pad = 124, 116, 104\nmin_size = 1\nmin_visible = 0.1\n";

static void trial_hash(const char *text, const char *const *ov, size_t nov, size_t i, char h[65])
{
    write_exp(text);
    rk_experiment x;
    rk_config c;
    rk_err err = {0};
    char *json = NULL;
    ck_assert_msg(rk_experiment_load(&x, path, ov, nov, &err) == RK_OK, "%s", err.msg);
    ck_assert_msg(rk_experiment_trial(&x, i, &c, &err) == RK_OK, "%s", err.msg);
    ck_assert_msg(rk_config_json(&c, &json, h, &err) == RK_OK, "%s", err.msg);
    free(json);
    rk_config_free(&c);
    rk_experiment_free(&x);
}

/* The hashes `rethink sweep --dry-run` printed for this file before the [trainer] keys
 * existed (a988b17): the new keys, at their defaults, leave every identity as it was. */
START_TEST(the_trainer_keys_leave_an_existing_trials_identity_unchanged)
{
    char text[2048], h[65];
    snprintf(text, sizeof text, "%s[grid]\narm = scratch, selftrain\naug = S1\nfraction = 0.5\n"
             "seed = 1\n", TINY);
    trial_hash(text, NULL, 0, 0, h);
    ck_assert_str_eq(h, "6375596bc44f28bc78ef3941edc3abe71330a59c0628525f5a3d3b3de0f7ea80");
    trial_hash(text, NULL, 0, 1, h);
    ck_assert_str_eq(h, "0806443c80f116538caf815f3e3007e3fa28ef62d366fe52d61321a537327d78");
}
END_TEST

/* A trial trained by another program is another trial; how long it may take is not part of
 * what it is. */
START_TEST(the_trainer_command_enters_the_identity_and_its_timeout_does_not)
{
    char text[2048], base[65], cmd[65], cmd2[65], slow[65];
    snprintf(text, sizeof text, "%s[grid]\narm = scratch\n", TINY);
    trial_hash(text, NULL, 0, 0, base);
    const char *ov1[] = {"trainer.command=python3 train.py {config} {out}"};
    trial_hash(text, ov1, 1, 0, cmd);
    const char *ov2[] = {"trainer.command=python3 train2.py {config} {out}"};
    trial_hash(text, ov2, 1, 0, cmd2);
    const char *ov3[] = {"trainer.command=python3 train.py {config} {out}", "trainer.timeout=60"};
    trial_hash(text, ov3, 2, 0, slow);
    ck_assert_str_ne(base, cmd);
    ck_assert_str_ne(cmd, cmd2);
    ck_assert_str_eq(cmd, slow);
    const char *ov4[] = {"trainer.timeout=60"};
    trial_hash(text, ov4, 1, 0, slow);
    ck_assert_str_eq(base, slow);
    /* an empty command is the built-in engine, also as a value of a trainer axis (';'
     * separates a command's values: a command may hold commas) */
    const char *ov5[] = {"trainer.command="};
    trial_hash(text, ov5, 1, 0, slow);
    ck_assert_str_eq(base, slow);
    const char *ov6[] = {"trainer.command=;python3 train.py --lrs=1,2 {config} {out}"};
    trial_hash(text, ov6, 1, 0, slow);
    ck_assert_str_eq(base, slow);
    trial_hash(text, ov6, 1, 1, slow);
    ck_assert_str_ne(base, slow);
}
END_TEST

/* No shell: blanks separate words, quotes group them, nothing else is special; the
 * placeholders are replaced anywhere in a word. */
START_TEST(a_trainer_command_splits_as_written_without_a_shell)
{
    char **v = NULL;
    rk_err err = {0};
    ck_assert_msg(rk_trainer_argv("python3  'my dir/train.py' --config={config} \"a  b\" $HOME;x "
                                  "{out}/log {dir}/x ''", "/c.json", "/o", "/d", &v, &err) == RK_OK,
                  "%s", err.msg);
    const char *want[] = {"python3", "my dir/train.py", "--config=/c.json", "a  b", "$HOME;x",
                          "/o/log", "/d/x", ""};
    size_t n = 0;
    while (v[n]) n++;
    ck_assert_uint_eq(n, sizeof want / sizeof *want);
    for (size_t i = 0; i < n; i++) ck_assert_str_eq(v[i], want[i]);
    rk_trainer_argv_free(v);
    ck_assert_int_eq(rk_trainer_argv("python3 'train.py", "c", "o", "d", &v, &err), RK_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.msg, "unterminated"));
    ck_assert_int_eq(rk_trainer_argv("   ", "c", "o", "d", &v, &err), RK_EINVAL);
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
    tcase_add_test(tc, the_task_key_keeps_every_detection_identity_and_segment_changes_it);
    tcase_add_test(tc, a_dataset_of_ones_own_is_known_by_its_content_not_its_path);
    tcase_add_test(tc, new_backbone_kinds_change_no_existing_arms_identity_or_artifact);
    tcase_add_test(tc, the_dry_run_costs_each_kind_of_backbone_by_its_pre_training_images);
    tcase_add_test(tc, the_joint_arms_change_no_existing_arms_identity);
    tcase_add_test(tc, a_joint_arms_identity_holds_the_joint_keys);
    tcase_add_test(tc, a_joint_arm_counts_and_costs_its_source_images);
    tcase_add_test(tc, selftrain_source_enters_the_identity_of_the_pseudo_label_arms_only);
    tcase_add_test(tc, the_backbone_family_changes_identity_only_when_set);
    tcase_add_test(tc, the_neck_changes_a_trials_identity_but_not_its_backbones);
    tcase_add_test(tc, steps_scale_multiplies_every_slices_budget);
    tcase_add_test(tc, a_when_condition_on_an_unknown_key_is_an_error);
    tcase_add_test(tc, a_grid_key_given_twice_is_an_error);
    tcase_add_test(tc, a_line_longer_than_the_ini_reader_takes_is_an_error);
    tcase_add_test(tc, a_directory_is_not_an_experiment_file);
    tcase_add_test(tc, the_policies_file_is_the_one_named_and_must_exist);
    tcase_add_test(tc, an_undefined_policy_is_an_error_of_the_experiment_naming_its_origin);
    tcase_add_test(tc, a_comma_in_a_path_is_part_of_the_path);
    tcase_add_test(tc, control_characters_in_values_are_refused);
    tcase_add_test(tc, a_grid_too_large_to_run_is_an_error_not_an_overflow);
    tcase_add_test(tc, integer_axes_take_ranges);
    tcase_add_test(tc, typos_get_a_suggestion);
    tcase_add_test(tc, paths_in_a_file_are_relative_to_it_and_on_the_command_line_to_the_caller);
    tcase_add_test(tc, the_trainer_keys_leave_an_existing_trials_identity_unchanged);
    tcase_add_test(tc, the_trainer_command_enters_the_identity_and_its_timeout_does_not);
    tcase_add_test(tc, a_trainer_command_splits_as_written_without_a_shell);
    suite_add_tcase(s, tc);
    return s;
}
