/* The store: schema and migrations, the trial lifecycle (register, acquire, heartbeat,
 * finish, fail, stale recovery, dependencies), records (metrics, artifacts, claims), merging
 * shards, and the two guarantees sweeps rely on — concurrent workers never fail with
 * "database is locked" and finish every trial exactly once, and a process killed at any
 * moment (mid-transaction included) leaves a consistent database.
 *
 * Each test works in its own temporary folder. Tests that need several processes fork them
 * explicitly (children _exit, never return into Check), so they behave the same with
 * CK_FORK=no under the sanitizers. Raw SQL through sqlite3 stands in for time passing (an
 * old heartbeat) and for a writer that ignores the API (the schema's triggers). */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "rethink/store.h"
#include "store/store_internal.h"

static rk_store *open_ok(const char *path)
{
    rk_store *s = NULL;
    rk_err err = {0};
    ck_assert_msg(rk_store_open(&s, path, &err) == RK_OK, "%s", err.msg);
    return s;
}

static void check_ok(rk_store *s)
{
    rk_err err = {0};
    ck_assert_msg(rk_store_check(s, &err) == RK_OK, "%s", err.msg);
}

/* ---- raw SQL, bypassing the API ---- */

static sqlite3 *raw_open(const char *path)
{
    sqlite3 *db = NULL;
    ck_assert(sqlite3_open(path, &db) == SQLITE_OK);
    sqlite3_busy_timeout(db, 30000);
    return db;
}

static int raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);
    int r = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return r;
}

static long long raw_int(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *st = NULL;
    ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Every row of every listed query, as text: equal digests = equal contents. */
static char *raw_digest(const char *path, const char *const *queries)
{
    sqlite3 *db = raw_open(path);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    ck_assert(out);
    out[0] = '\0';
    for (; *queries; queries++) {
        sqlite3_stmt *st = NULL;
        ck_assert_msg(sqlite3_prepare_v2(db, *queries, -1, &st, NULL) == SQLITE_OK, "%s",
                      sqlite3_errmsg(db));
        while (sqlite3_step(st) == SQLITE_ROW) {
            for (int c = 0; c < sqlite3_column_count(st); c++) {
                const unsigned char *t = sqlite3_column_text(st, c);
                size_t need = len + (t ? strlen((const char *)t) : 4) + 2;
                while (need >= cap) {
                    cap *= 2;
                    out = realloc(out, cap);
                    ck_assert(out);
                }
                len += (size_t)sprintf(out + len, "%s|", t ? (const char *)t : "NULL");
            }
            out[len++] = '\n';
            out[len] = '\0';
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return out;
}

/* ---- fixtures ---- */

/* Registers trial `i` of a study: a distinct config per (study, arm, i). */
static int64_t reg(rk_store *s, const char *study, const char *arm, int i, int max_attempts)
{
    char cfg[256];
    snprintf(cfg, sizeof cfg,
             "{\"study\":\"%s\",\"arm\":\"%s\",\"aug\":\"S1\",\"fraction\":0.5,\"seed\":%d,"
             "\"train\":{\"lr\":0.1,\"epochs\":3},\"aug_scale\":[0.5,2.0],\"note\":null}",
             study, arm, i);
    rk_trial_spec sp = {.study = study, .config_json = cfg, .arm = arm, .aug = "S1",
                        .fraction = 0.5, .seed = i, .max_attempts = max_attempts};
    int64_t id = 0;
    rk_err err = {0};
    ck_assert_msg(rk_store_trial_register(s, &sp, &id, NULL, NULL, &err) == RK_OK, "%s", err.msg);
    return id;
}

static void stats_for(double *stats, double ap)
{
    for (int i = 0; i < RK_COCO_NSTATS; i++) stats[i] = ap + 0.001 * i;
    stats[5] = -1; /* APl: no large objects, pycocotools' -1 */
}

static int finish(rk_store *s, int64_t id, int attempt, double ap, rk_err *err)
{
    double stats[RK_COCO_NSTATS];
    stats_for(stats, ap);
    rk_category_ap cats[2] = {{.id = 1, .name = "T-shirt/top", .ap = ap},
                              {.id = 2, .name = "Trouser", .ap = ap / 2}};
    rk_trial_outcome o = {.stats = stats, .cats = cats, .ncats = 2, .wall_s = 1.5, .cpu_s = 2.5,
                          .images = 1000, .flops = 3.2e10, .teacher_cpu_s = NAN,
                          .pseudo_cpu_s = NAN, .data_hash = "abc"};
    return rk_store_trial_finish(s, id, attempt, &o, err);
}

static rk_trial acquire_ok(rk_store *s, const char *study, int *got)
{
    rk_trial t = {0};
    rk_err err = {0};
    rk_acquire_opts o = {.study = study, .worker = "test", .host = "h", .git_rev = "r"};
    ck_assert_msg(rk_store_trial_acquire(s, &o, &t, got, &err) == RK_OK, "%s", err.msg);
    return t;
}

/* Makes every running trial's heartbeat 1000 s old: the worker went silent. */
static void age_heartbeats(const char *path)
{
    ck_assert_int_eq(raw_exec(path, "UPDATE trials SET heartbeat = heartbeat - 1000"
                                    " WHERE status = 'running'"), SQLITE_OK);
}

/* ---- schema ---- */

START_TEST(schema_is_created_and_its_version_recorded)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    int v = 0;
    rk_err err = {0};
    ck_assert(rk_store_schema_version(s, &v, &err) == RK_OK);
    ck_assert_int_eq(v, RK_STORE_SCHEMA_VERSION);
    rk_store_close(s);
    static const char *const tables[] = {"studies", "trials", "trial_deps", "params", "metrics",
                                         "results", "category_results", "artifacts",
                                         "pseudo_labels", "claims", "schema_version"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char q[200];
        snprintf(q, sizeof q, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                              " AND name = '%s'", tables[i]);
        ck_assert_msg(raw_int(db, q) == 1, "missing table %s", tables[i]);
    }
    ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM schema_version"), RK_STORE_SCHEMA_VERSION);
    /* WAL is a property of the file: a plain sqlite3 connection sees it too */
    sqlite3 *r = raw_open(db);
    sqlite3_stmt *st;
    ck_assert(sqlite3_prepare_v2(r, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(r);
}
END_TEST

START_TEST(reopening_changes_nothing)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    reg(s, "st", "scratch", 1, 0);
    rk_store_close(s);
    static const char *const q[] = {"SELECT type, name, sql FROM sqlite_master ORDER BY name",
                                    "SELECT version FROM schema_version",
                                    "SELECT * FROM trials", NULL};
    char *before = raw_digest(db, q);
    rk_store_close(open_ok(db));
    char *after = raw_digest(db, q);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
}
END_TEST

START_TEST(a_database_of_a_newer_schema_is_refused)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store_close(open_ok(db));
    ck_assert_int_eq(raw_exec(db, "INSERT INTO schema_version VALUES (99, 0, 'from the future')"),
                     SQLITE_OK);
    rk_store *s = NULL;
    rk_err err = {0};
    ck_assert_int_eq(rk_store_open(&s, db, &err), RK_EFORMAT);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err.msg, "99") && strstr(err.msg, "newer"), "%s", err.msg);
}
END_TEST

/* The migrator on a synthetic two-step history: a version-1 file is upgraded in place by a
 * build that knows version 2, keeping its rows; version-1 code then refuses it. */
START_TEST(an_older_database_is_upgraded_in_place)
{
    static const char *const v1[] = {"CREATE TABLE a (x INTEGER)", NULL};
    static const char *const v2[] = {"ALTER TABLE a ADD COLUMN y TEXT DEFAULT 'new'",
                                     "CREATE TABLE b (z INTEGER)", NULL};
    static const rk_sq_migration m[] = {{.version = 1, .description = "a", .steps = v1},
                                        {.version = 2, .description = "b", .steps = v2}};
    char db[300];
    fx_path(db, sizeof db, "m.db");
    rk_store *s = NULL;
    rk_err err = {0};
    ck_assert_msg(rk_sq_open(&s, db, m, 1, &err) == RK_OK, "%s", err.msg);
    rk_store_close(s);
    ck_assert_int_eq(raw_exec(db, "INSERT INTO a (x) VALUES (7)"), SQLITE_OK);
    ck_assert_msg(rk_sq_open(&s, db, m, 2, &err) == RK_OK, "%s", err.msg);
    int v = 0;
    ck_assert(rk_store_schema_version(s, &v, &err) == RK_OK);
    ck_assert_int_eq(v, 2);
    rk_store_close(s);
    ck_assert_int_eq(raw_int(db, "SELECT x FROM a WHERE y = 'new'"), 7);
    ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM b"), 0);
    ck_assert_int_eq(rk_sq_open(&s, db, m, 1, &err), RK_EFORMAT);
}
END_TEST

/* Eight processes open a file that does not exist yet at the same moment: the schema is
 * created exactly once and nobody fails. */
START_TEST(concurrent_openers_of_a_fresh_file_create_the_schema_once)
{
    char db[300];
    fx_path(db, sizeof db, "fresh.db");
    enum { K = 8 };
    pid_t pid[K];
    for (int i = 0; i < K; i++) {
        pid[i] = fork();
        ck_assert(pid[i] >= 0);
        if (pid[i] == 0) {
            rk_store *s = NULL;
            rk_err err = {0};
            int rc = rk_store_open(&s, db, &err);
            if (rc) fprintf(stderr, "child %d: %s\n", i, err.msg);
            rk_store_close(s);
            _exit(rc ? 1 : 0);
        }
    }
    for (int i = 0; i < K; i++) {
        int st;
        ck_assert(waitpid(pid[i], &st, 0) == pid[i]);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "opener %d failed", i);
    }
    ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM schema_version"), RK_STORE_SCHEMA_VERSION);
}
END_TEST

static void write_junk(const char *path)
{
    FILE *f = fopen(path, "wb");
    ck_assert(f);
    fputs("this is not an SQLite database, just some text long enough to have a header....",
          f);
    fclose(f);
}

START_TEST(a_file_that_is_not_a_database_is_a_clear_error)
{
    char db[300];
    fx_path(db, sizeof db, "junk.db");
    write_junk(db);
    rk_store *s = NULL;
    rk_err err = {0};
    ck_assert_int_ne(rk_store_open(&s, db, &err), RK_OK);
    ck_assert_msg(strstr(err.msg, db) && strstr(err.msg, "not a database"), "%s", err.msg);
}
END_TEST

/* Issue 25: `ls` and `merge` on an SQLite file of another program added rethink's tables to
 * it and switched it to WAL. Opening one for writing is refused before anything is written:
 * the file keeps every byte and its journal mode. An empty file is a new store. */
START_TEST(a_database_of_another_program_is_never_written)
{
    char db[300], empty[300];
    fx_path(db, sizeof db, "foreign.db");
    fx_path(empty, sizeof empty, "empty.db");
    ck_assert_int_eq(raw_exec(db, "CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('x')"),
                     SQLITE_OK);
    char before[65], after[65];
    rk_err err = {0};
    ck_assert(rk_sha256_file(db, before, &err) == RK_OK);
    rk_store *s = NULL;
    ck_assert_int_eq(rk_store_open(&s, db, &err), RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "another program") && strstr(err.msg, "refusing"), "%s",
                  err.msg);
    ck_assert_ptr_null(s);
    ck_assert(rk_sha256_file(db, after, &err) == RK_OK);
    ck_assert_str_eq(before, after);
    char wal[320];
    snprintf(wal, sizeof wal, "%s-wal", db);
    ck_assert_int_ne(access(wal, F_OK), 0);
    /* nor merged into, nor merged from */
    rk_store *dst = open_ok(empty);
    ck_assert_int_eq(rk_store_merge(dst, db, NULL, &err), RK_EFORMAT);
    rk_store_close(dst);
    ck_assert(rk_sha256_file(db, after, &err) == RK_OK);
    ck_assert_str_eq(before, after);
    /* a file of zero bytes is a new database */
    fx_path(empty, sizeof empty, "zero.db");
    FILE *f = fopen(empty, "wb");
    fclose(f);
    ck_assert_msg(rk_store_open(&s, empty, &err) == RK_OK, "%s", err.msg);
    rk_store_close(s);
}
END_TEST

/* The page of a table or index overwritten with garbage, as a bad disk or a copy cut short
 * leaves it: the root page of `what` (from sqlite_master). */
static void corrupt_page_of(const char *db, const char *what)
{
    char q[200];
    snprintf(q, sizeof q, "SELECT rootpage FROM sqlite_master WHERE name = '%s'", what);
    long long page = raw_int(db, q), size = raw_int(db, "PRAGMA page_size");
    ck_assert_int_eq(raw_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)"), SQLITE_OK);
    FILE *f = fopen(db, "r+b");
    ck_assert(f);
    ck_assert_int_eq(fseek(f, (long)((page - 1) * size), SEEK_SET), 0);
    for (long long i = 0; i < size; i++) fputc((int)((i * 131 + 7) & 0xff), f);
    fclose(f);
}

/* Issue 25: a corrupt database read as "no finished trials yet": an index page gone bad
 * answers a query with fewer rows and no error. The read-only opener checks the file. */
START_TEST(a_corrupt_database_says_it_is_corrupt)
{
    char db[300];
    fx_path(db, sizeof db, "c.db");
    rk_store *s = open_ok(db);
    for (int i = 0; i < 50; i++) reg(s, "st", "scratch", i, 0);
    rk_store_close(s);
    corrupt_page_of(db, "trials_study_status");
    rk_err err = {0};
    ck_assert_int_eq(rk_store_open_readonly(&s, db, &err), RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "corrupt") && strstr(err.msg, db), "%s", err.msg);
    ck_assert_ptr_null(s);
    /* a store opened for writing names it too, at the first statement that meets it */
    fx_path(db, sizeof db, "c2.db");
    s = open_ok(db);
    for (int i = 0; i < 50; i++) reg(s, "st", "scratch", i, 0);
    rk_store_close(s);
    corrupt_page_of(db, "trials");
    if (rk_store_open(&s, db, &err) == RK_OK) {
        rk_trial *t = NULL;
        size_t n = 0;
        ck_assert_int_eq(rk_store_trials_list(s, NULL, -1, &t, &n, &err), RK_EFORMAT);
        rk_store_close(s);
    }
    ck_assert_msg(strstr(err.msg, "corrupt"), "%s", err.msg);
}
END_TEST

/* What report and check rely on: a read-only store changes nothing, ever, and says clearly
 * what it cannot read. */
START_TEST(a_read_only_store_never_writes_and_refuses_what_it_cannot_read)
{
    char db[300], missing[300], junk[300];
    fx_path(db, sizeof db, "a.db");
    fx_path(missing, sizeof missing, "missing.db");
    fx_path(junk, sizeof junk, "junk.db");
    rk_store *s = open_ok(db);
    reg(s, "st", "scratch", 1, 0);
    rk_store_close(s);
    static const char *const q[] = {"SELECT type, name, sql FROM sqlite_master ORDER BY name",
                                    "SELECT * FROM trials", "SELECT * FROM params", NULL};
    char *before = raw_digest(db, q);
    rk_err err = {0};
    ck_assert_msg(rk_store_open_readonly(&s, db, &err) == RK_OK, "%s", err.msg);
    int v = 0;
    ck_assert(rk_store_schema_version(s, &v, &err) == RK_OK);
    ck_assert_int_eq(v, RK_STORE_SCHEMA_VERSION);
    ck_assert_int_eq(rk_store_study_put(s, "new", NULL, NULL, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "read-only"), "%s", err.msg);
    rk_claim c = {.study = "st", .name = "x", .verdict = "HOLDS"};
    ck_assert_int_eq(rk_store_claim_put(s, &c, &err), RK_EINVAL);
    rk_store_close(s);
    char *after = raw_digest(db, q);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);

    ck_assert_int_eq(rk_store_open_readonly(&s, missing, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "no such database"), "%s", err.msg);
    ck_assert_int_eq(access(missing, F_OK), -1); /* not created */
    write_junk(junk);
    ck_assert_int_eq(rk_store_open_readonly(&s, junk, &err), RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "not an SQLite database"), "%s", err.msg);
    ck_assert_int_eq(raw_exec(missing, "CREATE TABLE x (a)"), SQLITE_OK);
    ck_assert_int_eq(rk_store_open_readonly(&s, missing, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "not a rethink results database"), "%s", err.msg);
    ck_assert_int_eq(raw_exec(db, "INSERT INTO schema_version VALUES (99, 0, 'from the future')"),
                     SQLITE_OK);
    ck_assert_int_eq(rk_store_open_readonly(&s, db, &err), RK_EFORMAT);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err.msg, "99") && strstr(err.msg, "newer"), "%s", err.msg);
}
END_TEST

/* A version-1 file (before trials.error_code) read without migrating it sees the codes the
 * migration gives it: RK_EDIVERGED where the message said "diverged", else unknown. */
START_TEST(a_version_1_database_reads_as_it_migrates_and_stays_version_1)
{
    char db[300];
    fx_path(db, sizeof db, "v1.db");
    rk_store *s = NULL;
    rk_err err = {0};
    ck_assert_msg(rk_sq_open(&s, db, rk_sq_migrations, 1, &err) == RK_OK, "%s", err.msg);
    int64_t ids[3] = {reg(s, "st", "scratch", 1, 0), reg(s, "st", "scratch", 2, 0),
                      reg(s, "st", "scratch", 3, 0)};
    rk_store_close(s);
    ck_assert_int_eq(raw_exec(db, "UPDATE trials SET status = 'failed', error = CASE seed"
                                  " WHEN 1 THEN 'training diverged at step 3 (loss nan, pseudo 0)'"
                                  " WHEN 2 THEN 'boom' END WHERE seed IN (1, 2)"), SQLITE_OK);
    const int want[3] = {RK_EDIVERGED, 0, 0};
    for (int migrate = 0; migrate < 2; migrate++) {
        if (migrate) rk_store_close(open_ok(db));
        ck_assert_msg(rk_store_open_readonly(&s, db, &err) == RK_OK, "%s", err.msg);
        int v = 0;
        ck_assert(rk_store_schema_version(s, &v, &err) == RK_OK);
        ck_assert_int_eq(v, migrate ? RK_STORE_SCHEMA_VERSION : 1);
        rk_trial_record *t;
        size_t n;
        ck_assert_msg(rk_store_trial_records(s, "st", &t, &n, &err) == RK_OK, "%s", err.msg);
        ck_assert_uint_eq(n, 3);
        for (size_t i = 0; i < n; i++) {
            ck_assert_int_eq(t[i].t.id, ids[i]);
            ck_assert_int_eq(t[i].t.error_code, want[i]);
        }
        rk_trial_records_free(t, n);
        rk_store_close(s);
    }
}
END_TEST

/* Version 3's facts: a finished trial records how long it trained, why it stopped, its
 * precision and CPU; a version-2 file read without migrating shows them unknown (NULL) and
 * an empty trial_artifacts, and migrating keeps what it had. */
START_TEST(protocol_facts_round_trip_and_an_older_file_reads_them_as_unknown)
{
    char db[300];
    fx_path(db, sizeof db, "v2.db");
    rk_store *s = NULL;
    rk_err err = {0};
    ck_assert_msg(rk_sq_open(&s, db, rk_sq_migrations, 2, &err) == RK_OK, "%s", err.msg);
    reg(s, "st", "scratch", 1, 0);
    rk_store_close(s);
    for (int migrate = 0; migrate < 2; migrate++) {
        if (migrate) rk_store_close(open_ok(db));
        ck_assert_msg(rk_store_open_readonly(&s, db, &err) == RK_OK, "%s", err.msg);
        rk_trial t;
        int found;
        ck_assert(rk_store_trial_get(s, 1, &t, &found, &err) == RK_OK && found);
        ck_assert_ptr_null(t.stop_reason);
        ck_assert_ptr_null(t.cpu);
        ck_assert_int_eq(t.steps, -1);
        rk_trial_clear(&t);
        rk_store_close(s);
        /* read-only left the file at version 2; opening it writable migrated it */
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sqlite_master"
                                     " WHERE name = 'trial_artifacts'"), migrate);
    }
    s = open_ok(db);
    int got;
    rk_trial t = acquire_ok(s, "st", &got);
    double stats[RK_COCO_NSTATS];
    stats_for(stats, 0.3);
    rk_trial_outcome o = {.stats = stats, .wall_s = 1, .cpu_s = 1, .images = 10, .flops = NAN,
                          .teacher_cpu_s = NAN, .pseudo_cpu_s = NAN, .stop_reason = "plateau",
                          .steps = 2100, .max_steps = 40000, .precision = "bf16",
                          .cpu = "Some CPU @ 2.0GHz"};
    ck_assert(rk_store_trial_finish(s, t.id, t.attempts, &o, &err) == RK_OK);
    rk_trial_clear(&t);
    int found;
    ck_assert(rk_store_trial_get(s, 1, &t, &found, &err) == RK_OK && found);
    ck_assert_str_eq(t.stop_reason, "plateau");
    ck_assert_int_eq(t.steps, 2100);
    ck_assert_int_eq(t.max_steps, 40000);
    ck_assert_str_eq(t.precision, "bf16");
    ck_assert_str_eq(t.cpu, "Some CPU @ 2.0GHz");
    rk_trial_clear(&t);
    rk_store_close(s);
    ck_assert_int_eq(raw_int(db, "SELECT steps FROM trial_results WHERE stop_reason = 'plateau'"),
                     2100);
    /* the column only takes the two reasons */
    ck_assert_int_ne(raw_exec(db, "UPDATE trials SET stop_reason = 'tired'"), SQLITE_OK);
}
END_TEST

/* Every view's column names, checked pairwise without case (SQLite's own comparison), and
 * for the ":N" suffix SQLite itself gives a name a view repeats (`ARm:1`, what pandas shows);
 * *n gets the number of views seen (main and temp). */
static void views_have_unique_columns(sqlite3 *db, int *nviews)
{
    sqlite3_stmt *vs = NULL;
    ck_assert(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_temp_master WHERE type = 'view'"
                                     " UNION ALL SELECT name FROM sqlite_master"
                                     " WHERE type = 'view'", -1, &vs, NULL) == SQLITE_OK);
    *nviews = 0;
    while (sqlite3_step(vs) == SQLITE_ROW) {
        char q[200];
        snprintf(q, sizeof q, "SELECT * FROM \"%s\"", (const char *)sqlite3_column_text(vs, 0));
        sqlite3_stmt *st = NULL;
        ck_assert_msg(sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK, "%s: %s", q,
                      sqlite3_errmsg(db));
        int nc = sqlite3_column_count(st);
        ck_assert_int_gt(nc, 2);
        for (int i = 0; i < nc; i++) {
            ck_assert_msg(!strchr(sqlite3_column_name(st, i), ':'),
                          "%s: column %s: SQLite renamed a repeated name", q,
                          sqlite3_column_name(st, i));
            for (int j = i + 1; j < nc; j++)
                ck_assert_msg(sqlite3_stricmp(sqlite3_column_name(st, i),
                                              sqlite3_column_name(st, j)) != 0,
                              "%s: columns %s and %s differ only in case", q,
                              sqlite3_column_name(st, i), sqlite3_column_name(st, j));
        }
        sqlite3_finalize(st);
        (*nviews)++;
    }
    sqlite3_finalize(vs);
}

/* Issue 20 (schema 5): trial_results had both `arm` and `ARm`, one name to SQLite. Every
 * column of every view is unique case-insensitively — in a new file, in a version-4 file read
 * without migrating (its TEMP view) and once it is migrated — ARm is read as AR_m, and an
 * undefined stat (pycocotools' -1) reads as NULL. */
START_TEST(every_view_column_name_is_unique_without_case)
{
    char db[300];
    fx_path(db, sizeof db, "v4.db");
    rk_store *s = NULL;
    rk_err err = {0};
    ck_assert_msg(rk_sq_open(&s, db, rk_sq_migrations, 4, &err) == RK_OK, "%s", err.msg);
    reg(s, "st", "scratch", 1, 0);
    int got;
    rk_trial t = acquire_ok(s, "st", &got);
    ck_assert(got && finish(s, t.id, t.attempts, 0.4, &err) == RK_OK);
    rk_trial_clear(&t);
    rk_store_close(s);
    int n = 0;
    for (int migrate = 0; migrate < 2; migrate++) {
        if (migrate) rk_store_close(open_ok(db));
        ck_assert_msg(rk_store_open_readonly(&s, db, &err) == RK_OK, "%s", err.msg);
        views_have_unique_columns(s->db, &n);
        ck_assert_int_eq(n, migrate ? 2 : 3); /* read-only v4: its TEMP trial_results too */
        sqlite3_stmt *st = NULL;
        ck_assert(sqlite3_prepare_v2(s->db, "SELECT arm, AR_m, AP_l, AP FROM trial_results", -1,
                                     &st, NULL) == SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "scratch");
        ck_assert(fabs(sqlite3_column_double(st, 1) - (0.4 + 0.001 * 10)) < 1e-12); /* ARm */
        ck_assert_int_eq(sqlite3_column_type(st, 2), SQLITE_NULL); /* APl was -1 */
        ck_assert(fabs(sqlite3_column_double(st, 3) - 0.4) < 1e-12);
        sqlite3_finalize(st);
        rk_store_close(s);
    }
    sqlite3 *raw = raw_open(db);
    views_have_unique_columns(raw, &n);
    ck_assert_int_eq(n, 2);
    sqlite3_close(raw);
    /* the table keeps what was recorded */
    ck_assert_int_eq(raw_int(db, "SELECT APl FROM results"), -1);
}
END_TEST

/* ---- lifecycle ---- */

START_TEST(registering_the_same_config_twice_gives_one_trial)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    const char *cfg = "{\"arm\":\"scratch\",\"train\":{\"lr\":0.1,\"warmup\":true},\"seed\":1}";
    rk_trial_spec sp = {.study = "st", .config_json = cfg, .arm = "scratch", .fraction = NAN,
                        .seed = 1};
    int64_t id1, id2;
    int made1, made2;
    rk_trial_status st1, st2;
    rk_err err = {0};
    ck_assert(rk_store_trial_register(s, &sp, &id1, &st1, &made1, &err) == RK_OK);
    ck_assert(rk_store_trial_register(s, &sp, &id2, &st2, &made2, &err) == RK_OK);
    ck_assert_int_eq(id1, id2);
    ck_assert_int_eq(made1, 1);
    ck_assert_int_eq(made2, 0);
    ck_assert_int_eq(st2, RK_TRIAL_PENDING);
    rk_trial_counts c;
    ck_assert(rk_store_counts(s, "st", &c, &err) == RK_OK);
    ck_assert_int_eq(c.pending, 1);
    /* identity is the SHA-256 of the config text; the config is flattened into params */
    rk_trial t;
    int found;
    ck_assert(rk_store_trial_get(s, id1, &t, &found, &err) == RK_OK && found);
    ck_assert_int_eq(strlen(t.config_hash), 64);
    ck_assert(isnan(t.fraction));
    rk_trial_clear(&t);
    rk_store_close(s);
    ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM params WHERE key = 'train.lr'"
                                 " AND value = '0.1'"), 1);
    ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM params WHERE key = 'train.warmup'"
                                 " AND value = 'true'"), 1);
}
END_TEST

START_TEST(one_hash_with_two_configs_is_refused)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    rk_trial_spec a = {.study = "st", .config_json = "{\"x\":1}", .config_hash = "h1"};
    rk_trial_spec b = {.study = "st", .config_json = "{\"x\":2}", .config_hash = "h1"};
    rk_err err = {0};
    ck_assert(rk_store_trial_register(s, &a, NULL, NULL, NULL, &err) == RK_OK);
    ck_assert_int_eq(rk_store_trial_register(s, &b, NULL, NULL, NULL, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "h1"), "%s", err.msg);
    rk_trial_spec bad = {.study = "st", .config_json = "[1, 2]"};
    ck_assert_int_eq(rk_store_trial_register(s, &bad, NULL, NULL, NULL, &err), RK_EINVAL);
    rk_store_close(s);
}
END_TEST

START_TEST(acquire_returns_each_pending_trial_once)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    int64_t ids[3];
    for (int i = 0; i < 3; i++) ids[i] = reg(s, "st", "scratch", i, 0);
    reg(s, "other", "scratch", 0, 0);
    for (int i = 0; i < 3; i++) {
        int got;
        rk_trial t = acquire_ok(s, "st", &got);
        ck_assert_int_eq(got, 1);
        ck_assert_int_eq(t.id, ids[i]); /* registration order */
        ck_assert_int_eq(t.status, RK_TRIAL_RUNNING);
        ck_assert_int_eq(t.attempts, 1);
        ck_assert_str_eq(t.study, "st");
        ck_assert_str_eq(t.worker, "test");
        ck_assert(!isnan(t.heartbeat));
        rk_trial_clear(&t);
    }
    int got;
    rk_trial t = acquire_ok(s, "st", &got);
    ck_assert_int_eq(got, 0);
    t = acquire_ok(s, NULL, &got); /* no study filter: the other study's trial */
    ck_assert_int_eq(got, 1);
    ck_assert_str_eq(t.study, "other");
    rk_trial_clear(&t);
    check_ok(s);
    rk_store_close(s);
}
END_TEST

START_TEST(a_finished_trial_is_never_acquired_again)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    reg(s, "st", "scratch", 1, 0);
    int got;
    rk_trial t = acquire_ok(s, "st", &got);
    rk_err err = {0};
    ck_assert_msg(finish(s, t.id, t.attempts, 0.3, &err) == RK_OK, "%s", err.msg);
    /* not by staleness, not by retrying failures, not by re-registering */
    ck_assert_int_eq(raw_exec(db, "UPDATE trials SET heartbeat = heartbeat - 1e6"), SQLITE_OK);
    size_t n = 9;
    ck_assert(rk_store_reset_stale(s, NULL, 1, &n, &err) == RK_OK);
    ck_assert_int_eq(n, 0);
    ck_assert(rk_store_retry_failed(s, NULL, &n, &err) == RK_OK);
    ck_assert_int_eq(n, 0);
    reg(s, "st", "scratch", 1, 0);
    rk_trial again = acquire_ok(s, "st", &got);
    ck_assert_int_eq(got, 0);
    /* the lease is spent, and the schema refuses a hand-written step back */
    ck_assert_int_eq(rk_store_trial_heartbeat(s, t.id, t.attempts, &err), RK_STORE_LOST);
    ck_assert_int_eq(finish(s, t.id, t.attempts, 0.9, &err), RK_STORE_LOST);
    ck_assert_int_ne(raw_exec(db, "UPDATE trials SET status = 'pending'"), SQLITE_OK);
    double stats[RK_COCO_NSTATS];
    int found;
    ck_assert(rk_store_result_get(s, t.id, stats, &found, &err) == RK_OK && found);
    ck_assert_double_eq_tol(stats[0], 0.3, 1e-12);
    rk_trial_clear(&t);
    rk_trial_clear(&again);
    check_ok(s);
    rk_store_close(s);
}
END_TEST

/* The lease number counts every acquire; the budget only the trial's own failures. */
START_TEST(a_stale_running_trial_is_reclaimed_under_a_new_lease)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    int64_t id = reg(s, "st", "scratch", 1, 3);
    int got;
    rk_trial first = acquire_ok(s, "st", &got);
    ck_assert_int_eq(got, 1);
    rk_trial none = acquire_ok(s, "st", &got); /* fresh heartbeat: still owned */
    ck_assert_int_eq(got, 0);
    age_heartbeats(db);
    rk_trial second = acquire_ok(s, "st", &got);
    ck_assert_int_eq(got, 1);
    ck_assert_int_eq(second.id, id);
    ck_assert_int_eq(second.attempts, 2);
    ck_assert_msg(second.error && strstr(second.error, "heartbeat"), "%s",
                  second.error ? second.error : "(no error)");
    /* the presumed-dead first worker wakes up: every write of its lease is refused */
    rk_err err = {0};
    ck_assert_int_eq(rk_store_trial_heartbeat(s, id, first.attempts, &err), RK_STORE_LOST);
    rk_metric m = {.step = 1, .epoch = 0, .name = "loss", .value = 1};
    ck_assert_int_eq(rk_store_metrics_add(s, id, first.attempts, &m, 1, &err), RK_STORE_LOST);
    ck_assert_int_eq(finish(s, id, first.attempts, 0.1, &err), RK_STORE_LOST);
    ck_assert_int_eq(rk_store_trial_fail(s, id, first.attempts, RK_EINVAL, "x", 0, &err),
                     RK_STORE_LOST);
    ck_assert(rk_store_trial_heartbeat(s, id, second.attempts, &err) == RK_OK);
    ck_assert(finish(s, id, second.attempts, 0.2, &err) == RK_OK);
    rk_trial_clear(&first);
    rk_trial_clear(&none);
    rk_trial_clear(&second);
    check_ok(s);
    rk_store_close(s);
}
END_TEST

/* Issue 25: three kills of the same trial used up its 3 attempts and left it failed for
 * good. A worker that stops sending heartbeats (killed, its machine gone) is an
 * interruption: the trial goes back to pending however often it happens. */
START_TEST(a_trial_whose_workers_keep_dying_is_never_failed_for_it)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    int64_t id = reg(s, "st", "scratch", 1, 2);
    for (int a = 1; a <= 5; a++) {
        int got;
        rk_trial t = acquire_ok(s, "st", &got);
        ck_assert_int_eq(got, 1);
        ck_assert_int_eq(t.attempts, a); /* the lease number still counts every one */
        if (a > 1) {
            ck_assert_msg(t.error && strstr(t.error, "not counted"), "%s", t.error);
            ck_assert_int_eq(t.error_code, RK_EINTERRUPTED);
        }
        rk_trial_clear(&t);
        age_heartbeats(db);
    }
    rk_err err = {0};
    size_t n = 0;
    ck_assert(rk_store_reset_stale(s, "st", 60, &n, &err) == RK_OK);
    ck_assert_int_eq(n, 1);
    rk_trial t;
    int found;
    ck_assert(rk_store_trial_get(s, id, &t, &found, &err) == RK_OK && found);
    ck_assert_int_eq(t.status, RK_TRIAL_PENDING);
    rk_trial_clear(&t);
    /* its own failures still count: two use the budget of 2 */
    for (int a = 0; a < 2; a++) {
        int got;
        t = acquire_ok(s, "st", &got);
        ck_assert_int_eq(got, 1);
        ck_assert(rk_store_trial_fail(s, id, t.attempts, RK_EINVAL, "bad", 1, &err) == RK_OK);
        rk_trial_clear(&t);
    }
    ck_assert(rk_store_trial_get(s, id, &t, &found, &err) == RK_OK && found);
    ck_assert_int_eq(t.status, RK_TRIAL_FAILED);
    ck_assert_int_eq(t.attempts, 7);
    rk_trial_clear(&t);
    /* retry_failed gives a fresh budget; lease numbers keep counting up */
    ck_assert(rk_store_retry_failed(s, "st", &n, &err) == RK_OK);
    ck_assert_int_eq(n, 1);
    int got;
    t = acquire_ok(s, "st", &got);
    ck_assert_int_eq(got, 1);
    ck_assert_int_eq(t.attempts, 8);
    rk_trial_clear(&t);
    rk_store_close(s);
}
END_TEST

/* Issue 25: a full disk (or memory, or a stop signal) failed trials as if their configs
 * were wrong. An interrupted attempt goes back to pending, with or without retry, and is
 * not charged; its code is recorded. */
START_TEST(an_interrupted_attempt_is_not_charged_to_the_trial)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    int64_t id = reg(s, "st", "scratch", 1, 1);
    rk_err err = {0};
    const int codes[] = {RK_ENOSPACE, RK_ENOMEM, RK_EINTERRUPTED, RK_ENOSPACE};
    for (int i = 0; i < 4; i++) {
        int got;
        rk_trial t = acquire_ok(s, "st", &got);
        ck_assert_int_eq(got, 1);
        ck_assert(rk_store_trial_fail(s, id, t.attempts, codes[i], "No space left on device",
                                      i % 2, &err) == RK_OK);
        rk_trial_clear(&t);
        ck_assert(rk_store_trial_get(s, id, &t, &got, &err) == RK_OK && got);
        ck_assert_int_eq(t.status, RK_TRIAL_PENDING);
        ck_assert_int_eq(t.error_code, codes[i]);
        rk_trial_clear(&t);
    }
    /* one own failure uses the budget of 1 */
    int got;
    rk_trial t = acquire_ok(s, "st", &got);
    ck_assert(rk_store_trial_fail(s, id, t.attempts, RK_EDIVERGED, "loss is NaN", 1, &err) ==
              RK_OK);
    rk_trial_clear(&t);
    ck_assert(rk_store_trial_get(s, id, &t, &got, &err) == RK_OK && got);
    ck_assert_int_eq(t.status, RK_TRIAL_FAILED);
    rk_trial_clear(&t);
    check_ok(s);
    rk_store_close(s);
}
END_TEST

START_TEST(fail_with_retry_returns_to_pending_until_attempts_run_out)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    int64_t id = reg(s, "st", "scratch", 1, 2);
    rk_err err = {0};
    int got;
    rk_trial t = acquire_ok(s, "st", &got);
    ck_assert(rk_store_trial_fail(s, id, t.attempts, RK_EDIVERGED, "loss is NaN", 1, &err) ==
              RK_OK);
    rk_trial_clear(&t);
    t = acquire_ok(s, "st", &got);
    ck_assert_int_eq(got, 1);
    ck_assert_str_eq(t.error, "loss is NaN");
    ck_assert_int_eq(t.error_code, RK_EDIVERGED);
    ck_assert(rk_store_trial_fail(s, id, t.attempts, RK_EIO, "cannot read x", 1, &err) == RK_OK);
    rk_trial_clear(&t);
    t = acquire_ok(s, "st", &got);
    ck_assert_int_eq(got, 0);
    rk_trial_counts c;
    ck_assert(rk_store_counts(s, "st", &c, &err) == RK_OK);
    ck_assert_int_eq(c.failed, 1);
    ck_assert_int_eq(c.pending + c.running + c.finished, 0);
    rk_store_close(s);
}
END_TEST

START_TEST(dependencies_gate_acquiring)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    /* registered student first, so id order alone would pick it */
    int64_t student = reg(s, "st", "selftrain", 1, 0);
    int64_t teacher = reg(s, "st", "scratch", 1, 0);
    rk_err err = {0};
    ck_assert(rk_store_trial_depend(s, student, teacher, &err) == RK_OK);
    ck_assert(rk_store_trial_depend(s, student, teacher, &err) == RK_OK); /* idempotent */
    ck_assert_int_eq(rk_store_trial_depend(s, teacher, student, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "cycle"), "%s", err.msg);
    ck_assert_int_eq(rk_store_trial_depend(s, teacher, teacher, &err), RK_EINVAL);
    int got;
    rk_trial t = acquire_ok(s, "st", &got);
    ck_assert_int_eq(got, 1);
    ck_assert_int_eq(t.id, teacher);
    rk_trial none = acquire_ok(s, "st", &got);
    ck_assert_int_eq(got, 0); /* the student waits while its teacher runs */
    ck_assert(finish(s, t.id, t.attempts, 0.3, &err) == RK_OK);
    rk_trial_clear(&t);
    t = acquire_ok(s, "st", &got);
    ck_assert_int_eq(got, 1);
    ck_assert_int_eq(t.id, student);
    rk_trial_clear(&t);
    rk_trial_clear(&none);
    rk_store_close(s);
}
END_TEST

START_TEST(a_failed_dependency_fails_its_dependents_by_name)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    int64_t teacher = reg(s, "st", "scratch", 1, 1);
    int64_t student = reg(s, "st", "selftrain", 1, 0);
    int64_t grand = reg(s, "st", "selftrain2", 1, 0);
    rk_err err = {0};
    ck_assert(rk_store_trial_depend(s, student, teacher, &err) == RK_OK);
    ck_assert(rk_store_trial_depend(s, grand, student, &err) == RK_OK);
    int got;
    rk_trial t = acquire_ok(s, "st", &got);
    ck_assert(rk_store_trial_fail(s, teacher, t.attempts, RK_EDIVERGED, "diverged", 0, &err) ==
              RK_OK);
    char teacher_hash[65];
    memcpy(teacher_hash, t.config_hash, sizeof teacher_hash);
    rk_trial_clear(&t);
    t = acquire_ok(s, "st", &got);
    ck_assert_int_eq(got, 0);
    int found;
    ck_assert(rk_store_trial_get(s, student, &t, &found, &err) == RK_OK);
    ck_assert_int_eq(t.status, RK_TRIAL_FAILED);
    ck_assert_msg(strstr(t.error, teacher_hash), "%s", t.error);
    ck_assert_int_eq(t.error_code, 0); /* its own failure is not its teacher's divergence */
    rk_trial_clear(&t);
    ck_assert(rk_store_trial_get(s, grand, &t, &found, &err) == RK_OK);
    ck_assert_int_eq(t.status, RK_TRIAL_FAILED); /* down the chain */
    rk_trial_clear(&t);
    size_t n;
    ck_assert(rk_store_retry_failed(s, "st", &n, &err) == RK_OK);
    ck_assert_int_eq(n, 3);
    t = acquire_ok(s, "st", &got);
    ck_assert_int_eq(t.id, teacher);
    rk_trial_clear(&t);
    rk_store_close(s);
}
END_TEST

/* A sweep retries the failures of its own grid only: another grid's failed trial of the
 * same study stays failed, and the retried one gets a fresh attempt budget. */
START_TEST(retrying_trials_by_id_touches_only_those)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    int64_t mine = reg(s, "st", "scratch", 1, 1), other = reg(s, "st", "scratch", 2, 1);
    rk_err err = {0};
    for (int k = 0; k < 2; k++) {
        int got;
        rk_trial t = acquire_ok(s, "st", &got);
        ck_assert(got);
        ck_assert(rk_store_trial_fail(s, t.id, t.attempts, RK_EINVAL, "bad", 1, &err) == RK_OK);
        rk_trial_clear(&t);
    }
    size_t n = 9;
    int64_t ids[] = {mine, 12345};
    ck_assert_msg(rk_store_trials_retry(s, ids, 2, &n, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(n, 1);
    rk_trial t;
    int found, got;
    ck_assert(rk_store_trial_get(s, other, &t, &found, &err) == RK_OK && found);
    ck_assert_int_eq(t.status, RK_TRIAL_FAILED);
    rk_trial_clear(&t);
    t = acquire_ok(s, "st", &got);
    ck_assert(got);
    ck_assert_int_eq(t.id, mine);
    ck_assert_int_eq(t.attempts, 2); /* the lease number goes on counting */
    rk_trial_clear(&t);
    check_ok(s);
    rk_store_close(s);
}
END_TEST

START_TEST(removing_trials_deletes_what_they_recorded_and_keeps_teachers_of_others)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    int64_t teacher = reg(s, "st", "scratch", 1, 0), student = reg(s, "st", "selftrain", 1, 0);
    int64_t lone = reg(s, "st", "scratch", 2, 0), busy = reg(s, "st", "scratch", 3, 0);
    rk_err err = {0};
    ck_assert(rk_store_trial_depend(s, student, teacher, &err) == RK_OK);
    int got;
    rk_trial t = acquire_ok(s, "st", &got);
    ck_assert_int_eq(t.id, teacher);
    ck_assert(finish(s, t.id, t.attempts, 0.3, &err) == RK_OK); /* finished, with results */
    rk_trial_clear(&t);
    rk_metric m = {.step = 1, .epoch = 1, .name = "loss", .value = 1};
    t = acquire_ok(s, "st", &got);
    ck_assert(rk_store_metrics_add(s, t.id, t.attempts, &m, 1, &err) == RK_OK);
    ck_assert(finish(s, t.id, t.attempts, 0.4, &err) == RK_OK);
    rk_trial_clear(&t);
    /* a teacher whose student stays is refused, and nothing is removed */
    int64_t one[] = {teacher, lone};
    ck_assert_int_eq(rk_store_trials_remove(s, one, 2, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "teacher of trial"), "%s", err.msg);
    ck_assert_int_eq(raw_int(db, "select count(*) from trials"), 4);
    /* so is a trial a live worker holds, until its heartbeat is stale */
    t = acquire_ok(s, "st", &got);
    ck_assert_int_eq(t.id, lone);
    rk_trial_clear(&t);
    int64_t held[] = {lone};
    ck_assert_int_eq(rk_store_trials_remove(s, held, 1, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "is running"), "%s", err.msg);
    age_heartbeats(db);
    ck_assert_msg(rk_store_trials_remove(s, held, 1, &err) == RK_OK, "%s", err.msg);
    /* a finished student with its teacher: both go, with results, metrics and links */
    int64_t pair[] = {student, teacher};
    ck_assert_msg(rk_store_trials_remove(s, pair, 2, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(raw_int(db, "select count(*) from trials"), 1);
    const char *gone[] = {"results", "category_results", "metrics", "params", "trial_deps"};
    for (size_t k = 0; k < 5; k++) {
        char q[128];
        snprintf(q, sizeof q, "select count(*) from %s where trial_id <> %lld", gone[k],
                 (long long)busy);
        ck_assert_msg(raw_int(db, q) == 0, "%s left rows", gone[k]);
    }
    int64_t unknown[] = {999};
    ck_assert_int_eq(rk_store_trials_remove(s, unknown, 1, &err), RK_EINVAL);
    check_ok(s);
    rk_store_close(s);
}
END_TEST

START_TEST(removing_a_study_removes_its_trials_and_claims_only)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    reg(s, "st", "scratch", 1, 0);
    int64_t kept = reg(s, "other", "scratch", 1, 0);
    rk_err err = {0};
    rk_claim c = {.study = "st", .name = "c", .verdict = "HOLDS", .estimate = 1, .n = 1};
    ck_assert(rk_store_claim_put(s, &c, &err) == RK_OK);
    size_t n = 0;
    ck_assert_msg(rk_store_study_remove(s, "st", &n, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(raw_int(db, "select count(*) from claims"), 0);
    ck_assert_int_eq(raw_int(db, "select count(*) from studies where name = 'st'"), 0);
    ck_assert_int_eq(raw_int(db, "select min(id) from trials"), kept);
    ck_assert_int_eq(rk_store_study_remove(s, "st", &n, &err), RK_EINVAL); /* gone */
    check_ok(s);
    rk_store_close(s);
}
END_TEST

/* A full disk is an interruption (RK_ENOSPACE), whoever meets it: the store (SQLite's
 * SQLITE_FULL, here from a page limit on the connection) and a file being written (the
 * checkpoints, pseudo-labels, annotations: rk_file_replace; /dev/full answers ENOSPC). */
START_TEST(a_full_disk_is_an_interruption_wherever_it_is_met)
{
    char db[300], path[300], tmp[310];
    fx_path(db, sizeof db, "full.db");
    rk_store *s = open_ok(db);
    rk_err err = {0};
    ck_assert_int_eq(sqlite3_exec(s->db, "PRAGMA max_page_count = 40", NULL, NULL, NULL),
                     SQLITE_OK);
    int rc = RK_OK;
    char cfg[256];
    for (int i = 0; i < 1000 && !rc; i++) {
        snprintf(cfg, sizeof cfg, "{\"trial\": {\"seed\": %d, \"pad\": \"%0100d\"}}", i, i);
        rk_trial_spec sp = {.study = "st", .config_json = cfg, .arm = "scratch"};
        rc = rk_store_trial_register(s, &sp, NULL, NULL, NULL, &err);
    }
    ck_assert_int_eq(rc, RK_ENOSPACE);
    ck_assert(rk_rc_interrupted(rc));
    rk_store_close(s);
    FILE *f = fopen("/dev/full", "w");
    ck_assert(f);
    for (int i = 0; i < 10000; i++) fputs("a line of a checkpoint\n", f);
    fx_path(path, sizeof path, "x.ckpt");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_eq(rk_file_replace(f, tmp, path, &err), RK_ENOSPACE);
    ck_assert_msg(strstr(err.msg, "No space left"), "%s", err.msg);
    ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

START_TEST(finish_writes_results_compute_and_categories_together)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    int64_t id = reg(s, "st", "selftrain", 1, 0);
    int got;
    rk_trial t = acquire_ok(s, "st", &got);
    double stats[RK_COCO_NSTATS];
    stats_for(stats, 0.25);
    rk_category_ap cats[1] = {{.id = 3, .name = "Pullover", .ap = 0.125}};
    rk_trial_outcome o = {.stats = stats, .cats = cats, .ncats = 1, .wall_s = 10, .cpu_s = 19,
                          .images = 4096, .flops = 6.5e10, .teacher_cpu_s = 7,
                          .pseudo_cpu_s = 1.5, .data_hash = "subset"};
    rk_err err = {0};
    ck_assert_msg(rk_store_trial_finish(s, id, t.attempts, &o, &err) == RK_OK, "%s", err.msg);
    rk_trial_clear(&t);
    int found;
    ck_assert(rk_store_trial_get(s, id, &t, &found, &err) == RK_OK);
    ck_assert_int_eq(t.status, RK_TRIAL_FINISHED);
    ck_assert_double_eq(t.cpu_s, 19);
    ck_assert_double_eq(t.teacher_cpu_s, 7);
    ck_assert_double_eq(t.pseudo_cpu_s, 1.5);
    ck_assert_int_eq(t.images, 4096);
    ck_assert_str_eq(t.data_hash, "subset");
    ck_assert(!isnan(t.finished) && t.finished >= t.started);
    rk_trial_clear(&t);
    double got_stats[RK_COCO_NSTATS];
    ck_assert(rk_store_result_get(s, id, got_stats, &found, &err) == RK_OK && found);
    for (int i = 0; i < RK_COCO_NSTATS; i++) ck_assert_double_eq(got_stats[i], stats[i]);
    rk_category_ap *c;
    size_t n;
    ck_assert(rk_store_categories_get(s, id, &c, &n, &err) == RK_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(c[0].name, "Pullover");
    ck_assert_double_eq(c[0].ap, 0.125);
    free(c);
    rk_store_close(s);
    /* the stats are plain columns under their COCO names (pycocotools' -1 kept), and the
     * view joins them under names unique without case, an undefined stat NULL (schema 5) */
    ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM results WHERE AP = 0.25 AND APl = -1"), 1);
    ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM trial_results WHERE arm = 'selftrain'"
                                 " AND AP = 0.25 AND AP_l IS NULL"), 1);
}
END_TEST

/* Whoever writes the file, the schema refuses a finished detector trial without results. */
START_TEST(the_schema_refuses_a_finished_trial_without_results)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    int64_t id = reg(s, "st", "scratch", 1, 0);
    int got;
    rk_trial t = acquire_ok(s, "st", &got);
    rk_trial_outcome o = {.stats = NULL, .wall_s = 1, .cpu_s = 1, .images = 1};
    rk_err err = {0};
    ck_assert_int_eq(rk_store_trial_finish(s, id, t.attempts, &o, &err), RK_EINVAL);
    ck_assert_int_ne(raw_exec(db, "UPDATE trials SET status = 'finished'"), SQLITE_OK);
    /* a non-detector stage (a pre-trained backbone) may finish without COCO stats */
    rk_trial_spec sp = {.study = "st", .config_json = "{\"stage\":\"backbone\"}",
                        .kind = "backbone", .fraction = NAN};
    int64_t bb;
    ck_assert(rk_store_trial_register(s, &sp, &bb, NULL, NULL, &err) == RK_OK);
    rk_trial_clear(&t);
    t = acquire_ok(s, "st", &got);
    ck_assert_int_eq(t.id, bb);
    ck_assert_msg(rk_store_trial_finish(s, bb, t.attempts, &o, &err) == RK_OK, "%s", err.msg);
    rk_trial_clear(&t);
    check_ok(s);
    rk_store_close(s);
}
END_TEST

START_TEST(counts_and_lists_are_per_study)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    for (int i = 0; i < 4; i++) reg(s, "a", "scratch", i, 0);
    for (int i = 0; i < 2; i++) reg(s, "b", "scratch", i, 0);
    rk_err err = {0};
    ck_assert(rk_store_study_put(s, "a", "[study]\nname = a\n", NULL, &err) == RK_OK);
    int got;
    rk_trial t = acquire_ok(s, "a", &got);
    ck_assert(finish(s, t.id, t.attempts, 0.1, &err) == RK_OK);
    rk_trial_clear(&t);
    t = acquire_ok(s, "a", &got);
    rk_trial_clear(&t);
    rk_trial_counts c;
    ck_assert(rk_store_counts(s, "a", &c, &err) == RK_OK);
    ck_assert_int_eq(c.pending, 2);
    ck_assert_int_eq(c.running, 1);
    ck_assert_int_eq(c.finished, 1);
    ck_assert(rk_store_counts(s, NULL, &c, &err) == RK_OK);
    ck_assert_int_eq(c.pending, 4);
    ck_assert(rk_store_counts(s, "nope", &c, &err) == RK_OK);
    ck_assert_int_eq(c.pending + c.running + c.finished + c.failed, 0);
    rk_trial *v;
    size_t n;
    ck_assert(rk_store_trials_list(s, "a", RK_TRIAL_PENDING, &v, &n, &err) == RK_OK);
    ck_assert_int_eq(n, 2);
    ck_assert(v[0].id < v[1].id);
    rk_trials_free(v, n);
    ck_assert(rk_store_trials_list(s, NULL, -1, &v, &n, &err) == RK_OK);
    ck_assert_int_eq(n, 6);
    rk_trials_free(v, n);
    char **names;
    ck_assert(rk_store_studies_list(s, &names, &n, &err) == RK_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(names[0], "a");
    rk_store_strings_free(names, n);
    rk_store_close(s);
    ck_assert_int_eq(raw_int(db, "SELECT length(experiment_hash) FROM studies WHERE name = 'a'"),
                     64);
}
END_TEST

/* What a report reads: the study's detector trials with an arm, their results row, their
 * teachers' compute and their flattened config (sorted; JSON null reads ""). */
START_TEST(trial_records_are_a_studys_detector_trials_with_results_and_params)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    rk_err err = {0};
    int64_t teacher = reg(s, "st", "scratch", 1, 0);
    int64_t student = reg(s, "st", "selftrain", 1, 0);
    reg(s, "other", "scratch", 1, 0);
    rk_trial_spec bb = {.study = "st", .config_json = "{\"backbone\":1}", .kind = "backbone",
                        .arm = "pretrain", .fraction = NAN};
    rk_trial_spec noarm = {.study = "st", .config_json = "{\"x\":1}", .fraction = NAN};
    ck_assert(rk_store_trial_register(s, &bb, NULL, NULL, NULL, &err) == RK_OK);
    ck_assert(rk_store_trial_register(s, &noarm, NULL, NULL, NULL, &err) == RK_OK);
    ck_assert(rk_store_trial_depend(s, student, teacher, &err) == RK_OK);
    int got;
    rk_trial t = acquire_ok(s, "st", &got);
    ck_assert_int_eq(t.id, teacher);
    ck_assert(finish(s, t.id, t.attempts, 0.3, &err) == RK_OK);
    rk_trial_clear(&t);
    rk_trial_record *r;
    size_t n;
    ck_assert_msg(rk_store_trial_records(s, "st", &r, &n, &err) == RK_OK, "%s", err.msg);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(r[0].t.id, teacher);
    ck_assert_int_eq(r[0].t.status, RK_TRIAL_FINISHED);
    ck_assert_double_eq(r[0].stats[RK_AP], 0.3);
    ck_assert_double_eq(r[0].stats[RK_APL], -1);
    ck_assert(isnan(r[0].deps_cpu_s));
    ck_assert_int_eq(r[1].t.id, student);
    ck_assert_int_eq(r[1].t.status, RK_TRIAL_PENDING);
    ck_assert(isnan(r[1].stats[RK_AP]));
    ck_assert_double_eq(r[1].deps_cpu_s, 2.5); /* its finished teacher's */
    const char *keys[] = {"arm", "aug", "aug_scale", "fraction", "note", "seed", "study",
                          "train.epochs", "train.lr"};
    const char *vals[] = {"selftrain", "S1", "[0.5,2]", "0.5", "", "1", "st", "3", "0.1"};
    ck_assert_uint_eq(r[1].nparams, 9);
    for (size_t i = 0; i < 9; i++) {
        ck_assert_str_eq(r[1].params[i].key, keys[i]);
        ck_assert_str_eq(r[1].params[i].value, vals[i]);
    }
    rk_trial_records_free(r, n);
    rk_store_close(s);
}
END_TEST

/* The invariant "a statement is reset before its function returns", broken on purpose
 * through the internal API: the next write stops the process (RK_ASSERT) rather than fail
 * later with SQLITE_BUSY_SNAPSHOT for a reason no caller could act on. */
START_TEST(a_statement_left_active_stops_the_next_write)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    reg(s, "st", "scratch", 1, 3);
    static const char q[] = "SELECT id FROM trials";
    sqlite3_stmt *st;
    rk_err err = {0};
    ck_assert_int_eq(rk_sq_stmt(s, q, &st, &err), RK_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW); /* active: a row read, not reset */
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        (void)!freopen("/dev/null", "w", stderr); /* the expected "invariant broken" line */
        rk_store_trial_fail(s, 1, 1, RK_EINVAL, "x", 0, &err);
        _exit(0);
    }
    int ws;
    ck_assert(waitpid(pid, &ws, 0) == pid);
    ck_assert_msg(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGABRT, "the write went on");
    sqlite3_reset(st);
    rk_store_close(s);
}
END_TEST

/* ---- records ---- */

START_TEST(metrics_are_batched_per_attempt_and_a_finished_trial_keeps_its_last_attempts)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    int64_t id = reg(s, "st", "scratch", 1, 0);
    rk_err err = {0};
    int got;
    rk_trial t = acquire_ok(s, "st", &got);
    rk_metric m[3] = {{.step = 1, .epoch = 0, .name = "loss", .value = 9},
                      {.step = 2, .epoch = 0, .name = "loss", .value = 8},
                      {.step = 2, .epoch = -1, .name = "lr", .value = 0.1}};
    ck_assert(rk_store_metrics_add(s, id, t.attempts, m, 3, &err) == RK_OK);
    rk_trial_clear(&t);
    age_heartbeats(db); /* attempt 1 dies; attempt 2 logs a shorter curve */
    t = acquire_ok(s, "st", &got);
    ck_assert_int_eq(t.attempts, 2);
    rk_metric m2[2] = {{.step = 1, .epoch = 0, .name = "loss", .value = 7},
                       {.step = 1, .epoch = 0, .name = "loss", .value = 6}}; /* same step: replaced */
    ck_assert(rk_store_metrics_add(s, id, t.attempts, m2, 2, &err) == RK_OK);
    ck_assert(finish(s, id, t.attempts, 0.3, &err) == RK_OK);
    rk_trial_clear(&t);
    rk_metric *out;
    size_t n;
    ck_assert(rk_store_metrics_get(s, id, NULL, &out, &n, &err) == RK_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(out[0].name, "loss");
    ck_assert_double_eq(out[0].value, 6);
    free(out);
    rk_metric bad = {.step = 1, .name = ""};
    ck_assert_int_eq(rk_store_metrics_add(s, id, 2, &bad, 1, &err), RK_EINVAL);
    check_ok(s);
    rk_store_close(s);
    ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM metrics"), 1);
}
END_TEST

START_TEST(artifacts_are_idempotent_by_content_hash)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    int64_t id = reg(s, "st", "scratch", 1, 0);
    rk_err err = {0};
    ck_assert(rk_store_artifact_put(s, "h1", "teacher", "/a/t.ckpt", 123, id, &err) == RK_OK);
    ck_assert(rk_store_artifact_put(s, "h1", "teacher", "/b/t.ckpt", 123, id, &err) == RK_OK);
    ck_assert_int_eq(rk_store_artifact_put(s, "h1", "backbone", "/a/t.ckpt", 1, 0, &err),
                     RK_EINVAL);
    rk_artifact a;
    int found;
    ck_assert(rk_store_artifact_get(s, "h1", &a, &found, &err) == RK_OK && found);
    ck_assert_str_eq(a.path, "/a/t.ckpt"); /* the first record stands */
    ck_assert_int_eq(a.trial, id);
    ck_assert_int_eq(a.bytes, 123);
    rk_artifact_clear(&a);
    ck_assert(rk_store_artifact_get(s, "h2", &a, &found, &err) == RK_OK);
    ck_assert_int_eq(found, 0);
    /* pseudo-label stats hang off a recorded artifact */
    ck_assert_int_eq(rk_store_pseudo_put(s, "h3", 10, 40, "{}", 0.5, &err), RK_EINVAL);
    ck_assert(rk_store_artifact_put(s, "h3", "pseudo-labels", "/p.json", -1, id, &err) == RK_OK);
    ck_assert(rk_store_pseudo_put(s, "h3", 100, 412, "{\"1\":40,\"2\":372}", 0.5, &err) == RK_OK);
    rk_pseudo_stats p;
    ck_assert(rk_store_pseudo_get(s, "h3", &p, &found, &err) == RK_OK && found);
    ck_assert_int_eq(p.boxes, 412);
    ck_assert_double_eq(p.threshold, 0.5);
    ck_assert_str_eq(p.per_class_json, "{\"1\":40,\"2\":372}");
    free(p.per_class_json);
    rk_store_close(s);
}
END_TEST

START_TEST(claims_keep_history_and_read_the_latest_verdict)
{
    char db[300];
    fx_path(db, sizeof db, "a.db");
    rk_store *s = open_ok(db);
    rk_err err = {0};
    rk_claim c = {.study = "st", .name = "selftrain_beats_scratch", .verdict = "INCONCLUSIVE",
                  .estimate = 0.4, .ci_low = -0.1, .ci_high = 0.9, .n = 2,
                  .details_json = "{\"cells\":4}"};
    ck_assert(rk_store_claim_put(s, &c, &err) == RK_OK);
    snprintf(c.verdict, sizeof c.verdict, "HOLDS");
    c.ci_low = 0.1;
    c.n = 5;
    ck_assert(rk_store_claim_put(s, &c, &err) == RK_OK);
    rk_claim d = {.study = "st", .name = "pretrain_hurts_at_S4", .verdict = "FAILS", .n = 3};
    ck_assert(rk_store_claim_put(s, &d, &err) == RK_OK);
    snprintf(d.verdict, sizeof d.verdict, "MAYBE");
    ck_assert_int_eq(rk_store_claim_put(s, &d, &err), RK_EINVAL);
    rk_claim *v;
    size_t n;
    ck_assert(rk_store_claims_latest(s, "st", &v, &n, &err) == RK_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(v[0].name, "pretrain_hurts_at_S4");
    ck_assert_ptr_null(v[0].details_json);
    ck_assert_str_eq(v[1].verdict, "HOLDS");
    ck_assert_int_eq(v[1].n, 5);
    ck_assert_str_eq(v[1].details_json, "{\"cells\":4}");
    rk_claims_free(v, n);
    rk_store_close(s);
    ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM claims"), 3);
}
END_TEST

/* ---- merge ---- */

/* A shard like a Slurm task writes: two finished trials (teacher -> student), one pending,
 * one failed, an artifact with pseudo-label stats, metrics. */
static void build_shard(const char *path, double ap_shift)
{
    rk_store *s = open_ok(path);
    rk_err err = {0};
    int64_t teacher = reg(s, "st", "scratch", 1, 1);
    int64_t student = reg(s, "st", "selftrain", 1, 1);
    int64_t bad = reg(s, "st", "pretrain", 1, 1);
    reg(s, "st", "scratch", 2, 1); /* stays pending */
    ck_assert(rk_store_trial_depend(s, student, teacher, &err) == RK_OK);
    /* acquired in id order: teacher, student (its teacher done), then bad */
    for (int k = 0; k < 3; k++) {
        int got;
        rk_trial t = acquire_ok(s, "st", &got);
        ck_assert_int_eq(got, 1);
        if (t.id == bad) {
            ck_assert(rk_store_trial_fail(s, t.id, t.attempts, RK_EINVAL, "boom", 0, &err) ==
                      RK_OK);
            rk_trial_clear(&t);
            continue;
        }
        rk_metric m = {.step = 1, .epoch = 0, .name = "loss", .value = 2.0 + k};
        ck_assert(rk_store_metrics_add(s, t.id, t.attempts, &m, 1, &err) == RK_OK);
        ck_assert_msg(finish(s, t.id, t.attempts, 0.2 + 0.1 * k + ap_shift, &err) == RK_OK, "%s",
                      err.msg);
        if (t.id == teacher) {
            ck_assert(rk_store_artifact_put(s, "pl1", "pseudo-labels", "/shared/pl1.json", 77,
                                            teacher, &err) == RK_OK);
            ck_assert(rk_store_pseudo_put(s, "pl1", 16, 40, "{\"1\":40}", 0.5, &err) == RK_OK);
        }
        rk_trial_clear(&t);
    }
    rk_store_close(s);
}

/* What a merged database must agree on, independent of row ids. */
static const char *const by_hash[] = {
    "SELECT s.name, t.config_hash, t.config, t.status, t.arm, t.cpu_s, t.images, t.error,"
    " t.error_code"
    " FROM trials t JOIN studies s ON s.id = t.study_id ORDER BY t.config_hash",
    "SELECT t.config_hash, r.AP, r.AP50, r.APl, r.ARl FROM results r JOIN trials t"
    " ON t.id = r.trial_id ORDER BY t.config_hash",
    "SELECT t.config_hash, c.category_id, c.AP FROM category_results c JOIN trials t"
    " ON t.id = c.trial_id ORDER BY 1, 2",
    "SELECT t.config_hash, m.attempt, m.name, m.step, m.value FROM metrics m JOIN trials t"
    " ON t.id = m.trial_id ORDER BY 1, 2, 3, 4",
    "SELECT a.config_hash, b.config_hash FROM trial_deps d JOIN trials a ON a.id = d.trial_id"
    " JOIN trials b ON b.id = d.depends_on ORDER BY 1, 2",
    "SELECT t.config_hash, p.key, p.value FROM params p JOIN trials t ON t.id = p.trial_id"
    " ORDER BY 1, 2",
    "SELECT a.hash, a.kind, t.config_hash FROM artifacts a LEFT JOIN trials t"
    " ON t.id = a.trial_id ORDER BY 1",
    "SELECT * FROM pseudo_labels ORDER BY 1",
    NULL,
};

START_TEST(merge_brings_trials_results_metrics_and_artifacts)
{
    char shard[300], dst[300];
    fx_path(shard, sizeof shard, "shard.db");
    fx_path(dst, sizeof dst, "dst.db");
    build_shard(shard, 0);
    rk_store *d = open_ok(dst);
    reg(d, "other", "scratch", 9, 0); /* dst's own trials stay */
    rk_merge_stats ms;
    rk_err err = {0};
    ck_assert_msg(rk_store_merge(d, shard, &ms, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(ms.trials_added, 4);
    ck_assert_int_eq(ms.trials_completed, 0);
    ck_assert_int_eq(ms.artifacts_added, 1);
    rk_trial_counts c;
    ck_assert(rk_store_counts(d, "st", &c, &err) == RK_OK);
    ck_assert_int_eq(c.finished, 2);
    ck_assert_int_eq(c.pending, 1);
    ck_assert_int_eq(c.failed, 1);
    check_ok(d);
    rk_store_close(d);
    /* trial for trial, the shard's contents are in dst */
    ck_assert_int_eq(raw_exec(dst, "DELETE FROM trials WHERE config_hash IN (SELECT t.config_hash"
                                   " FROM trials t JOIN studies s ON s.id = t.study_id"
                                   " WHERE s.name = 'other')"), SQLITE_OK);
    char *a = raw_digest(shard, by_hash), *b = raw_digest(dst, by_hash);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
}
END_TEST

START_TEST(merging_the_same_shard_twice_changes_nothing)
{
    char shard[300], dst[300];
    fx_path(shard, sizeof shard, "shard.db");
    fx_path(dst, sizeof dst, "dst.db");
    build_shard(shard, 0);
    rk_store *d = open_ok(dst);
    rk_err err = {0};
    rk_merge_stats ms;
    ck_assert(rk_store_merge(d, shard, &ms, &err) == RK_OK);
    static const char *const all[] = {
        "SELECT * FROM studies ORDER BY id", "SELECT * FROM trials ORDER BY id",
        "SELECT * FROM params ORDER BY 1, 2", "SELECT * FROM metrics ORDER BY 1, 2, 3, 4",
        "SELECT * FROM results ORDER BY 1", "SELECT * FROM category_results ORDER BY 1, 2",
        "SELECT * FROM trial_deps ORDER BY 1, 2", "SELECT * FROM artifacts ORDER BY 1",
        "SELECT * FROM pseudo_labels ORDER BY 1", NULL};
    char *before = raw_digest(dst, all);
    ck_assert_msg(rk_store_merge(d, shard, &ms, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(ms.trials_added + ms.trials_completed + ms.artifacts_added, 0);
    char *after = raw_digest(dst, all);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
    ck_assert_int_eq(rk_store_merge(d, dst, &ms, &err), RK_EINVAL); /* into itself */
    rk_store_close(d);
}
END_TEST

START_TEST(a_merge_conflict_names_the_config_hash_and_changes_nothing)
{
    char a[300], b[300];
    fx_path(a, sizeof a, "a.db");
    fx_path(b, sizeof b, "b.db");
    build_shard(a, 0);
    build_shard(b, 0.05); /* same trials, different AP: not deterministic, or a bug */
    static const char *const all[] = {"SELECT * FROM trials ORDER BY id",
                                      "SELECT * FROM results ORDER BY 1", NULL};
    char *before = raw_digest(a, all);
    rk_store *d = open_ok(a);
    rk_err err = {0};
    rk_trial *v;
    size_t n;
    ck_assert(rk_store_trials_list(d, "st", RK_TRIAL_FINISHED, &v, &n, &err) == RK_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(rk_store_merge(d, b, NULL, &err), RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, v[0].config_hash) || strstr(err.msg, v[1].config_hash), "%s",
                  err.msg);
    ck_assert_msg(strstr(err.msg, "different results"), "%s", err.msg);
    rk_trials_free(v, n);
    rk_store_close(d);
    char *after = raw_digest(a, all);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
}
END_TEST

START_TEST(merge_completes_trials_the_destination_has_not_finished)
{
    char shard[300], dst[300];
    fx_path(shard, sizeof shard, "shard.db");
    fx_path(dst, sizeof dst, "dst.db");
    build_shard(shard, 0);
    rk_store *d = open_ok(dst);
    int64_t teacher = reg(d, "st", "scratch", 1, 5);
    rk_err err = {0};
    int got;
    rk_trial t = acquire_ok(d, "st", &got); /* dst's worker is midway through the teacher */
    rk_metric m = {.step = 5, .epoch = 1, .name = "loss", .value = 42};
    ck_assert(rk_store_metrics_add(d, teacher, t.attempts, &m, 1, &err) == RK_OK);
    rk_merge_stats ms;
    ck_assert_msg(rk_store_merge(d, shard, &ms, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(ms.trials_completed, 1);
    ck_assert_int_eq(ms.trials_added, 3);
    double stats[RK_COCO_NSTATS];
    int found;
    ck_assert(rk_store_result_get(d, teacher, stats, &found, &err) == RK_OK && found);
    rk_metric *out;
    size_t n;
    ck_assert(rk_store_metrics_get(d, teacher, NULL, &out, &n, &err) == RK_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_double_eq(out[0].value, 2.0); /* the shard's finishing attempt, not dst's partial */
    free(out);
    /* dst's worker comes back to a trial that is done */
    ck_assert_int_eq(finish(d, teacher, t.attempts, 0.9, &err), RK_STORE_LOST);
    rk_trial_clear(&t);
    check_ok(d);
    rk_store_close(d);
}
END_TEST

/* ---- concurrency and crashes ---- */

typedef struct worker_cfg {
    const char *db;
    double stale_s;
    int metrics_per_trial;
    int work_us;       /* "training" between the writes of a trial */
    double deadline_s; /* give up after this long */
    int held_fd;       /* > 0: after its first trial's first heartbeat the worker writes a
                          byte here and waits for one on hold_fd, holding its trial: a kill
                          (or the test's next step) then lands at a known moment */
    int hold_fd;
} worker_cfg;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A sweep worker's loop: acquire, heartbeat, log metrics, heartbeat, finish; until nothing
 * is pending or running. Returns trials finished, or -1 after printing the error. */
static int worker_loop(const worker_cfg *w, int slot, const int *gate)
{
    rk_store *s = NULL;
    rk_err err = {0};
    char name[32];
    snprintf(name, sizeof name, "w%d:%d", slot, (int)getpid());
    if (rk_store_open(&s, w->db, &err)) goto fail;
    if (gate) { /* opened: now wait for the others */
        char c;
        close(gate[1]);
        (void)!read(gate[0], &c, 1);
    }
    int done = 0;
    double t0 = now_s();
    while (now_s() - t0 < w->deadline_s) {
        rk_acquire_opts o = {.worker = name, .host = "localhost", .stale_s = w->stale_s};
        rk_trial t;
        int got;
        if (rk_store_trial_acquire(s, &o, &t, &got, &err)) goto fail;
        if (!got) {
            rk_trial_counts c;
            if (rk_store_counts(s, NULL, &c, &err)) goto fail;
            if (c.pending + c.running == 0) {
                rk_store_close(s);
                return done;
            }
            usleep(500);
            continue;
        }
        if (rk_store_trial_heartbeat(s, t.id, t.attempts, &err)) goto fail_t;
        if (w->held_fd > 0 && done == 0) {
            char c = 'h';
            (void)!write(w->held_fd, &c, 1);
            (void)!read(w->hold_fd, &c, 1);
        }
        rk_metric m[16];
        for (int k = 0; k < w->metrics_per_trial && k < 16; k++) {
            m[k] = (rk_metric){.step = k, .epoch = k / 4, .value = 1.0 / (k + 1)};
            snprintf(m[k].name, sizeof m[k].name, "loss");
        }
        if (w->work_us) usleep((useconds_t)w->work_us);
        if (rk_store_metrics_add(s, t.id, t.attempts, m, (size_t)w->metrics_per_trial, &err))
            goto fail_t;
        if (rk_store_trial_heartbeat(s, t.id, t.attempts, &err)) goto fail_t;
        if (finish(s, t.id, t.attempts, (double)t.id / 1000, &err)) goto fail_t;
        rk_trial_clear(&t);
        done++;
        continue;
    fail_t:
        rk_trial_clear(&t);
        goto fail;
    }
    fprintf(stderr, "worker %s: deadline passed\n", name);
    rk_store_close(s);
    return -1;
fail:
    fprintf(stderr, "worker %s: %s\n", name, err.msg);
    rk_store_close(s);
    return -1;
}

/* Forks a worker whose exit status is 0 and which writes its finished count to fd. With a
 * gate pipe it opens the store, then waits for the parent to close the pipe, so all workers
 * start together.
 * A worker dies with the test process (a timed-out test leaves no orphans). */
static pid_t spawn_worker(const worker_cfg *w, int slot, int fd, const int *gate)
{
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int done = worker_loop(w, slot, gate);
        if (fd >= 0 && done >= 0) (void)!write(fd, &done, sizeof done);
        _exit(done < 0 ? 1 : 0);
    }
    return pid;
}

static void register_grid(const char *db, int n, int max_attempts)
{
    rk_store *s = open_ok(db);
    rk_err err = {0};
    int64_t prev = 0;
    for (int i = 0; i < n; i++) {
        int64_t id = reg(s, "c", i % 2 ? "selftrain" : "scratch", i, max_attempts);
        /* each odd trial is the student of the even one before it */
        if (i % 2) ck_assert(rk_store_trial_depend(s, id, prev, &err) == RK_OK);
        prev = id;
    }
    rk_store_close(s);
}

/* Every trial finished exactly once: one lease each (attempts = 1 when nobody died), one
 * results row each, and the database consistent. */
static void assert_all_finished(const char *db, int n, int single_attempt)
{
    rk_store *s = open_ok(db);
    rk_trial_counts c;
    rk_err err = {0};
    ck_assert(rk_store_counts(s, NULL, &c, &err) == RK_OK);
    ck_assert_int_eq(c.finished, n);
    check_ok(s);
    rk_store_close(s);
    ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM results"), n);
    if (single_attempt)
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM trials WHERE attempts <> 1"), 0);
}

START_TEST(eight_workers_never_see_a_locked_database_and_finish_each_trial_once)
{
    enum { N = 240, W = 8 };
    char db[300];
    fx_path(db, sizeof db, "c.db");
    register_grid(db, N, 3);
    int fds[2], gate[2];
    ck_assert(pipe(fds) == 0 && pipe(gate) == 0);
    /* 1 ms of "training" per trial: real workers spend their time outside the database,
     * which is what lets every one of them in (a tight loop of writes lets SQLite's busy
     * handler, which backs off to 100 ms sleeps, starve some workers — slow, never failing). */
    /* each worker holds its first trial until all eight hold one: that all took part is then
     * a fact of the test, not of the machine's scheduling (a worker descheduled for the
     * whole run on a loaded machine would otherwise get none) */
    int held[2], hold[2];
    ck_assert(pipe(held) == 0 && pipe(hold) == 0);
    worker_cfg w = {.db = db, .stale_s = 60, .metrics_per_trial = 8, .work_us = 1000,
                    .deadline_s = 60, .held_fd = held[1], .hold_fd = hold[0]};
    pid_t pid[W];
    for (int i = 0; i < W; i++) pid[i] = spawn_worker(&w, i, fds[1], gate);
    close(fds[1]);
    close(gate[0]);
    close(gate[1]); /* go */
    char c;
    for (int i = 0; i < W; i++) ck_assert_int_eq(read(held[0], &c, 1), 1);
    for (int i = 0; i < W; i++) ck_assert_int_eq(write(hold[1], "g", 1), 1);
    close(held[0]), close(held[1]), close(hold[0]), close(hold[1]);
    int total = 0;
    for (int i = 0; i < W; i++) {
        int st;
        ck_assert(waitpid(pid[i], &st, 0) == pid[i]);
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "worker %d failed (see stderr)", i);
    }
    int k;
    while (read(fds[0], &k, sizeof k) == (ssize_t)sizeof k) total += k;
    close(fds[0]);
    ck_assert_int_eq(total, N); /* no finish was reported twice or lost */
    assert_all_finished(db, N, 1);
    ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM metrics"), N * 8);
    /* all eight held a lease at once, and took part */
    ck_assert_int_eq(raw_int(db, "SELECT count(DISTINCT worker) FROM trials"), W);
}
END_TEST

static int hook_fd = -1;

/* In the child: announce we are inside finish's transaction (results written, status not
 * yet), then wait to be killed. */
static void stop_mid_finish(const char *point)
{
    if (strcmp(point, "finish:results-written") != 0) return;
    (void)!write(hook_fd, "x", 1);
    for (;;) pause();
}

START_TEST(sigkill_mid_finish_leaves_the_trial_unfinished_and_the_database_consistent)
{
    char db[300];
    fx_path(db, sizeof db, "k.db");
    register_grid(db, 2, 3);
    int fds[2];
    ck_assert(pipe(fds) == 0);
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        hook_fd = fds[1];
        rk_store_test_hook = stop_mid_finish;
        rk_store *s = NULL;
        rk_err err = {0};
        rk_acquire_opts o = {.worker = "doomed"};
        rk_trial t;
        int got;
        if (rk_store_open(&s, db, &err) || rk_store_trial_acquire(s, &o, &t, &got, &err) || !got)
            _exit(1);
        finish(s, t.id, t.attempts, 0.5, &err);
        _exit(2); /* unreachable: the hook never returns */
    }
    close(fds[1]);
    char c;
    ck_assert_int_eq(read(fds[0], &c, 1), 1); /* the child holds the write lock now */
    close(fds[0]);
    ck_assert(kill(pid, SIGKILL) == 0);
    int st;
    ck_assert(waitpid(pid, &st, 0) == pid);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    /* the half-written results vanished with the transaction */
    ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM results"), 0);
    ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM category_results"), 0);
    ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM trials WHERE status = 'running'"), 1);
    rk_store *s = open_ok(db);
    check_ok(s);
    /* the lock died with the process: the next worker recovers the trial at once */
    age_heartbeats(db);
    int got;
    rk_trial t = acquire_ok(s, NULL, &got);
    ck_assert_int_eq(got, 1);
    ck_assert_int_eq(t.attempts, 2);
    rk_err err = {0};
    ck_assert(finish(s, t.id, t.attempts, 0.5, &err) == RK_OK);
    rk_trial_clear(&t);
    check_ok(s);
    rk_store_close(s);
}
END_TEST

/* kill -9 workers at arbitrary moments, again and again; then recover stale trials and
 * finish the rest: every trial ends finished exactly once. */
START_TEST(workers_killed_at_random_moments_lose_nothing)
{
    enum { N = 80, W = 4, KILLS = 12 };
    char db[300];
    fx_path(db, sizeof db, "r.db");
    register_grid(db, N, 100);
    worker_cfg w = {.db = db, .stale_s = 60, .metrics_per_trial = 4, .deadline_s = 60};
    pid_t pid[W];
    /* the first worker signals when it holds a trial and keeps it: its kill interrupts a
     * trial whatever the machine's load (a timed first kill could land before any worker
     * held one); the others are killed at arbitrary moments */
    int held[2], hold[2];
    ck_assert(pipe(held) == 0 && pipe(hold) == 0);
    worker_cfg w0 = w;
    w0.held_fd = held[1], w0.hold_fd = hold[0];
    pid[0] = spawn_worker(&w0, 0, -1, NULL);
    for (int i = 1; i < W; i++) pid[i] = spawn_worker(&w, i, -1, NULL);
    char c;
    ck_assert_int_eq(read(held[0], &c, 1), 1);
    for (int k = 0; k < KILLS; k++) {
        if (k) usleep(3000 + 2500 * (useconds_t)(k % 5)); /* spread over the worker's steps */
        int i = k % W;
        kill(pid[i], SIGKILL);
        int st;
        ck_assert(waitpid(pid[i], &st, 0) == pid[i]);
        ck_assert_msg(WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 0),
                      "worker failed before being killed");
        pid[i] = spawn_worker(&w, i, -1, NULL);
    }
    for (int i = 0; i < W; i++) kill(pid[i], SIGKILL);
    for (int i = 0; i < W; i++) waitpid(pid[i], NULL, 0);
    close(held[0]), close(held[1]), close(hold[0]), close(hold[1]);
    rk_store *s = open_ok(db);
    check_ok(s);
    rk_err err = {0};
    size_t n;
    ck_assert(rk_store_reset_stale(s, NULL, 1e-9, &n, &err) == RK_OK); /* nobody is alive */
    rk_store_close(s);
    w.stale_s = 60;
    ck_assert_int_ge(worker_loop(&w, 99, NULL), 0);
    assert_all_finished(db, N, 0);
    /* the kills did interrupt trials (else this test proves nothing) */
    ck_assert_int_ge(raw_int(db, "SELECT count(*) FROM trials WHERE attempts >= 2"), 1);
}
END_TEST

Suite *suite_store(void)
{
    Suite *s = suite_create("store");
    TCase *sc = tcase_create("schema");
    tcase_add_checked_fixture(sc, fx_tmp_setup, fx_tmp_teardown);
    tcase_add_test(sc, schema_is_created_and_its_version_recorded);
    tcase_add_test(sc, reopening_changes_nothing);
    tcase_add_test(sc, a_database_of_a_newer_schema_is_refused);
    tcase_add_test(sc, an_older_database_is_upgraded_in_place);
    tcase_add_test(sc, concurrent_openers_of_a_fresh_file_create_the_schema_once);
    tcase_add_test(sc, a_file_that_is_not_a_database_is_a_clear_error);
    tcase_add_test(sc, a_read_only_store_never_writes_and_refuses_what_it_cannot_read);
    tcase_add_test(sc, a_database_of_another_program_is_never_written);
    tcase_add_test(sc, a_corrupt_database_says_it_is_corrupt);
    tcase_add_test(sc, a_version_1_database_reads_as_it_migrates_and_stays_version_1);
    tcase_add_test(sc, protocol_facts_round_trip_and_an_older_file_reads_them_as_unknown);
    tcase_add_test(sc, every_view_column_name_is_unique_without_case);
    suite_add_tcase(s, sc);
    TCase *lc = tcase_create("lifecycle");
    tcase_add_checked_fixture(lc, fx_tmp_setup, fx_tmp_teardown);
    tcase_add_test(lc, registering_the_same_config_twice_gives_one_trial);
    tcase_add_test(lc, one_hash_with_two_configs_is_refused);
    tcase_add_test(lc, acquire_returns_each_pending_trial_once);
    tcase_add_test(lc, a_finished_trial_is_never_acquired_again);
    tcase_add_test(lc, a_stale_running_trial_is_reclaimed_under_a_new_lease);
    tcase_add_test(lc, a_trial_whose_workers_keep_dying_is_never_failed_for_it);
    tcase_add_test(lc, an_interrupted_attempt_is_not_charged_to_the_trial);
    tcase_add_test(lc, a_full_disk_is_an_interruption_wherever_it_is_met);
    tcase_add_test(lc, fail_with_retry_returns_to_pending_until_attempts_run_out);
    tcase_add_test(lc, dependencies_gate_acquiring);
    tcase_add_test(lc, a_failed_dependency_fails_its_dependents_by_name);
    tcase_add_test(lc, retrying_trials_by_id_touches_only_those);
    tcase_add_test(lc, removing_trials_deletes_what_they_recorded_and_keeps_teachers_of_others);
    tcase_add_test(lc, removing_a_study_removes_its_trials_and_claims_only);
    tcase_add_test(lc, finish_writes_results_compute_and_categories_together);
    tcase_add_test(lc, the_schema_refuses_a_finished_trial_without_results);
    tcase_add_test(lc, counts_and_lists_are_per_study);
    tcase_add_test(lc, trial_records_are_a_studys_detector_trials_with_results_and_params);
    tcase_add_test(lc, a_statement_left_active_stops_the_next_write);
    suite_add_tcase(s, lc);
    TCase *rc = tcase_create("records");
    tcase_add_checked_fixture(rc, fx_tmp_setup, fx_tmp_teardown);
    tcase_add_test(rc, metrics_are_batched_per_attempt_and_a_finished_trial_keeps_its_last_attempts);
    tcase_add_test(rc, artifacts_are_idempotent_by_content_hash);
    tcase_add_test(rc, claims_keep_history_and_read_the_latest_verdict);
    suite_add_tcase(s, rc);
    TCase *mc = tcase_create("merge");
    tcase_add_checked_fixture(mc, fx_tmp_setup, fx_tmp_teardown);
    tcase_add_test(mc, merge_brings_trials_results_metrics_and_artifacts);
    tcase_add_test(mc, merging_the_same_shard_twice_changes_nothing);
    tcase_add_test(mc, a_merge_conflict_names_the_config_hash_and_changes_nothing);
    tcase_add_test(mc, merge_completes_trials_the_destination_has_not_finished);
    suite_add_tcase(s, mc);
    TCase *cc = tcase_create("concurrency");
    tcase_add_checked_fixture(cc, fx_tmp_setup, fx_tmp_teardown);
    tcase_set_timeout(cc, 120);
    tcase_add_test(cc, eight_workers_never_see_a_locked_database_and_finish_each_trial_once);
    tcase_add_test(cc, sigkill_mid_finish_leaves_the_trial_unfinished_and_the_database_consistent);
    tcase_add_test(cc, workers_killed_at_random_moments_lose_nothing);
    suite_add_tcase(s, cc);
    return s;
}
