/* Results from elsewhere (include/rethink/import.h, rk_store_trials_import): how a table's
 * rows become trial configs and identities, how bad input is named, and the store's one
 * transaction — a conflict anywhere records nothing, the same rows twice change nothing,
 * and a native trial's identity is untouched by the import's hashing. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "rethink/import.h"

static rk_import_table read_ok(const char *name, const char *text)
{
    char path[512];
    fx_write(name, text);
    fx_path(path, sizeof path, name);
    rk_import_table t;
    rk_err err = {0};
    ck_assert_msg(rk_import_read(&t, path, &err) == RK_OK, "%s", err.msg);
    return t;
}

static void read_fails(const char *name, const char *text, const char *want)
{
    char path[512];
    fx_write(name, text);
    fx_path(path, sizeof path, name);
    rk_import_table t;
    rk_err err = {0};
    ck_assert_int_ne(rk_import_read(&t, path, &err), RK_OK);
    ck_assert_msg(strstr(err.msg, want), "error '%s' lacks '%s'", err.msg, want);
    ck_assert_ptr_null(t.rows);
}

static rk_store *open_db(void)
{
    char path[512];
    fx_path(path, sizeof path, "r.db");
    rk_store *s = NULL;
    rk_err err = {0};
    ck_assert_msg(rk_store_open(&s, path, &err) == RK_OK, "%s", err.msg);
    return s;
}

static size_t ntrials(rk_store *s)
{
    rk_trial_counts c;
    rk_err err = {0};
    ck_assert(rk_store_counts(s, NULL, &c, &err) == RK_OK);
    return c.pending + c.running + c.finished + c.failed;
}

START_TEST(a_row_becomes_canonical_config_of_its_cell_and_parameters)
{
    rk_import_table t = read_ok("a.csv", "arm,aug,fraction,seed,AP,train.lr,param:net\n"
                                         "scratch,S1,0.50,7,0.25,1e-1,r50\n");
    ck_assert_uint_eq(t.n, 1);
    /* numbers in their shortest round-trip spelling: 0.50 -> 0.5, 1e-1 -> 0.1 */
    ck_assert_str_eq(t.rows[0].config_json, "{\"net\":\"r50\",\"train.lr\":\"0.1\","
                     "\"trial.arm\":\"scratch\",\"trial.aug\":\"S1\",\"trial.fraction\":\"0.5\","
                     "\"trial.seed\":\"7\"}");
    char hash[65];
    rk_sha256_hex(t.rows[0].config_json, strlen(t.rows[0].config_json), hash);
    ck_assert_str_eq(t.rows[0].hash, hash);
    ck_assert_double_eq(t.rows[0].stats[RK_AP], 0.25);
    ck_assert(isnan(t.rows[0].stats[RK_AP50])); /* not given */
    rk_import_table_free(&t);
}
END_TEST

START_TEST(csv_and_json_spellings_of_one_trial_have_one_identity)
{
    rk_import_table a = read_ok("a.csv", "seed,arm,fraction,AP,loss\n3,pretrain,1,0.4,\"2.5\"\n");
    rk_import_table b = read_ok("b.json", "[{\"arm\": \"pretrain\", \"seed\": 3.0, "
                                          "\"fraction\": 1.0, \"AP\": 0.4, \"loss\": 2.5}]");
    ck_assert_str_eq(a.rows[0].hash, b.rows[0].hash);
    ck_assert_uint_eq(a.rows[0].nmetrics, 1);
    ck_assert_str_eq(a.rows[0].metrics[0].name, "loss");
    ck_assert_double_eq(b.rows[0].metrics[0].value, 2.5);
    rk_import_table_free(&a), rk_import_table_free(&b);
}
END_TEST

START_TEST(csv_quoting_newlines_in_quotes_and_line_numbers)
{
    /* the quoted field spans lines 2-3 (an ignored column: values may not hold control
     * characters), so the bad row is on line 4 */
    read_fails("q.csv", "arm,seed,AP,study\nscratch,1,0.1,\"a, \"\"b\"\"\nc\"\nscratch,2,1.5,x\n",
               "q.csv:4: column AP: expected a fraction in [0, 1]");
    rk_import_table t = read_ok("r.csv", "arm,seed,AP,param:note\r\nscratch,1,0.1,\"a, \"\"b\"\"\"\r\n");
    ck_assert_str_eq(rk_config_get(&t.rows[0].cfg, "note"), "a, \"b\"");
    rk_import_table_free(&t);
}
END_TEST

START_TEST(bad_rows_name_file_line_and_column)
{
    read_fails("s.csv", "arm,seed,AP\nscratch,1,0.1\nscratch,-1,0.1\n", "s.csv:3: column seed");
    read_fails("f.csv", "arm,seed,fraction,AP\nscratch,1,0,0.1\n", "f.csv:2: column fraction");
    read_fails("m.csv", "arm,seed,AP,loss\nscratch,1,0.1,high\n", "m.csv:2: column loss");
    read_fails("a.csv", "arm,seed,AP50\nscratch,1,0.1\n", "a.csv:2: column AP:");
    read_fails("n.csv", "aug,seed,AP\nS1,1,0.1\n", "n.csv:2: column arm:");
    read_fails("w.csv", "arm,seed,AP\nscratch,1\n", "w.csv:2: 2 fields, the header has 3");
    read_fails("d.csv", "arm,seed,AP,arm\n", "d.csv:1: column arm appears twice");
    read_fails("u.csv", "arm,seed,AP\nscratch,1,\"0.1\n", "u.csv:2: a quoted field is not closed");
    read_fails("j.json", "[\n {\"arm\": \"scratch\", \"seed\": 1, \"AP\": 0.1},\n"
                         " {\"arm\": \"scratch\", \"seed\": 2, \"AP\": [1]}\n]\n",
               "j.json:3: column AP: expected a string, a number");
    read_fails("k.json", "[\n {\"arm\": \"scratch\",\n  \"seed\": 1,\n  \"AP\": 2}]",
               "k.json:2: column AP");
    read_fails("x.json", "[{\"arm\": }]", "x.json:1:10: malformed JSON");
}
END_TEST

START_TEST(export_rows_that_are_not_finished_are_skipped_and_nan_is_absent)
{
    rk_import_table t = read_ok("e.csv", "id,study,config_hash,arm,aug,fraction,seed,status,"
                                         "attempts,wall_s,AP,AP75\n"
                                         "1,s,ab,scratch,S1,1,1,finished,2,3.5,0.2,nan\n"
                                         "2,s,cd,scratch,S1,1,2,failed,3,,,\n");
    ck_assert_uint_eq(t.n, 1);
    ck_assert_uint_eq(t.skipped, 1);
    ck_assert_double_eq(t.rows[0].wall_s, 3.5);
    ck_assert(isnan(t.rows[0].stats[RK_AP75]));
    ck_assert(!strstr(t.rows[0].config_json, "ab")); /* bookkeeping is not identity */
    rk_import_table_free(&t);
    read_fails("b.csv", "arm,seed,AP,status\nscratch,1,0.1,done\n", "b.csv:2: column status");
}
END_TEST

START_TEST(import_records_finished_trials_and_twice_changes_nothing)
{
    rk_import_table t = read_ok("a.csv", "arm,aug,fraction,seed,AP,cpu_s,loss\n"
                                         "scratch,S1,1,1,0.2,10,1.5\nselftrain,S1,1,1,0.3,20,1.2\n");
    rk_store *s = open_db();
    rk_err err = {0};
    rk_import_stats st;
    ck_assert_msg(rk_import_record(s, t.rows, t.n, "ext", "rev1", &st, &err) == RK_OK, "%s", err.msg);
    ck_assert_uint_eq(st.added, 2);
    ck_assert_uint_eq(st.unchanged, 0);
    rk_trial tr;
    int found = 0;
    ck_assert(rk_store_trial_find(s, t.rows[1].hash, &tr, &found, &err) == RK_OK && found);
    ck_assert_int_eq(tr.status, RK_TRIAL_FINISHED);
    ck_assert_str_eq(tr.arm, "selftrain");
    ck_assert_double_eq(tr.cpu_s, 20);
    ck_assert(!strncmp(tr.worker, "import ", 7) && strstr(tr.worker, "a.csv:3"));
    rk_metric *m = NULL;
    size_t nm = 0;
    ck_assert(rk_store_metrics_get(s, tr.id, "loss", &m, &nm, &err) == RK_OK);
    ck_assert_uint_eq(nm, 1);
    ck_assert_double_eq(m[0].value, 1.2);
    free(m);
    rk_trial_clear(&tr);
    ck_assert(rk_import_record(s, t.rows, t.n, "ext", NULL, &st, &err) == RK_OK);
    ck_assert_uint_eq(st.added, 0);
    ck_assert_uint_eq(st.unchanged, 2);
    ck_assert_uint_eq(ntrials(s), 2);
    ck_assert_msg(rk_store_check(s, &err) == RK_OK, "%s", err.msg);
    rk_store_close(s);
    rk_import_table_free(&t);
}
END_TEST

START_TEST(a_conflict_anywhere_records_nothing)
{
    rk_import_table a = read_ok("a.csv", "arm,seed,AP\nscratch,1,0.2\n");
    /* a new trial first, then the conflicting one: the new one must not stay */
    rk_import_table b = read_ok("b.csv", "arm,seed,AP\nscratch,2,0.1\nscratch,1,0.25\n");
    rk_store *s = open_db();
    rk_err err = {0};
    ck_assert(rk_import_record(s, a.rows, a.n, "ext", NULL, NULL, &err) == RK_OK);
    ck_assert_int_eq(rk_import_record(s, b.rows, b.n, "ext", NULL, NULL, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "b.csv:3: trial ") &&
                  strstr(err.msg, "a.csv:2) is already finished with different results: AP 0.2 "
                                  "recorded, 0.25 here"), "%s", err.msg);
    ck_assert_uint_eq(ntrials(s), 1);
    rk_store_close(s);
    rk_import_table_free(&a), rk_import_table_free(&b);
}
END_TEST

START_TEST(a_row_of_a_trial_that_is_not_finished_is_a_conflict)
{
    rk_import_table a = read_ok("a.csv", "arm,seed,AP\nscratch,1,0.2\n");
    rk_store *s = open_db();
    rk_err err = {0};
    rk_trial_spec sp = {.study = "ext", .config_json = a.rows[0].config_json, .arm = "scratch",
                        .fraction = 1, .seed = 1};
    ck_assert(rk_store_trial_register(s, &sp, NULL, NULL, NULL, &err) == RK_OK);
    ck_assert_int_eq(rk_import_record(s, a.rows, a.n, "ext", NULL, NULL, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "already in the store, pending"), "%s", err.msg);
    rk_store_close(s);
    rk_import_table_free(&a);
}
END_TEST

/* A native config's identity through rk_config_json is what it was; rk_config_json_all is a
 * different function (it keeps keys outside the arm's and the schema). */
START_TEST(native_identity_is_unchanged_by_the_import_hash)
{
    rk_config c = {0};
    rk_err err = {0};
    ck_assert(rk_config_put(&c, "trial.arm", "scratch", "t", 0, &err) == RK_OK);
    ck_assert(rk_config_put(&c, "selftrain.alpha", "2", "t", 0, &err) == RK_OK);
    ck_assert(rk_config_put(&c, "study.name", "x", "t", 0, &err) == RK_OK);
    ck_assert(rk_config_put(&c, "my.key", "v", "t", 0, &err) == RK_OK);
    char *native = NULL, *all = NULL;
    ck_assert(rk_config_json(&c, &native, NULL, &err) == RK_OK);
    ck_assert(rk_config_json_all(&c, &all, NULL, &err) == RK_OK);
    /* scratch does not hash selftrain keys, nor keys outside the schema */
    ck_assert_str_eq(native, "{\"trial.arm\":\"scratch\"}");
    ck_assert_str_eq(all, "{\"my.key\":\"v\",\"selftrain.alpha\":\"2\",\"trial.arm\":\"scratch\"}");
    rk_config back;
    ck_assert(rk_config_from_json(&back, all, "stored", &err) == RK_OK);
    ck_assert_uint_eq(back.n, 3);
    ck_assert_str_eq(rk_config_get(&back, "my.key"), "v");
    free(native), free(all);
    rk_config_free(&c), rk_config_free(&back);
}
END_TEST

Suite *suite_import(void)
{
    Suite *s = suite_create("import");
    TCase *tc = tcase_create("import");
    tcase_add_checked_fixture(tc, fx_tmp_setup, fx_tmp_teardown);
    tcase_add_test(tc, a_row_becomes_canonical_config_of_its_cell_and_parameters);
    tcase_add_test(tc, csv_and_json_spellings_of_one_trial_have_one_identity);
    tcase_add_test(tc, csv_quoting_newlines_in_quotes_and_line_numbers);
    tcase_add_test(tc, bad_rows_name_file_line_and_column);
    tcase_add_test(tc, export_rows_that_are_not_finished_are_skipped_and_nan_is_absent);
    tcase_add_test(tc, import_records_finished_trials_and_twice_changes_nothing);
    tcase_add_test(tc, a_conflict_anywhere_records_nothing);
    tcase_add_test(tc, a_row_of_a_trial_that_is_not_finished_is_a_conflict);
    tcase_add_test(tc, native_identity_is_unchanged_by_the_import_hash);
    suite_add_tcase(s, tc);
    return s;
}
