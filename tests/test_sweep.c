/* The sweep's plan and schedule (include/rethink/sweep.h) and the arm table it reads: grid
 * expansion with implied teachers, teachers registered first and linked to their students,
 * stage/shard membership, next-ready order, finishing, and reclaiming a dead worker's trial.
 * A student never trains its teacher itself (rk_trial_run). */
#include <check.h>
#include <signal.h>
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "rethink/sweep.h"

static char path[300], db_path[300];

/* fx_tmp with policy S1, the experiment file's name in path and the database's in db_path */
static void setup(void)
{
    fx_policies_setup();
    fx_path(path, sizeof path, "x.ini");
    fx_path(db_path, sizeof db_path, "x.db");
}

/* Writes the experiment file and loads its plan (every trial selected). */
static void plan_of(const char *text, const char *const *ov, size_t nov, rk_sweep_plan *p)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    rk_experiment x;
    rk_err err = {0};
    ck_assert_msg(rk_experiment_load(&x, path, ov, nov, &err) == RK_OK, "%s", err.msg);
    ck_assert_msg(rk_sweep_plan_load(p, &x, &err) == RK_OK, "%s", err.msg);
    rk_experiment_free(&x);
}

static const char *arm_of(const rk_sweep_plan *p, size_t i)
{
    return rk_config_get(&p->t[i].cfg, "trial.arm");
}

static long long raw_int(const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    ck_assert(sqlite3_open(db_path, &db) == SQLITE_OK);
    ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static rk_store *open_db(void)
{
    rk_store *s = NULL;
    rk_err err = {0};
    ck_assert_msg(rk_store_open(&s, db_path, &err) == RK_OK, "%s", err.msg);
    return s;
}

/* Three arms over two fractions; selftrain.alpha is an axis that changes only the students,
 * so the grid holds each scratch trial twice (deduplicated to once) and no pretrain trial
 * (pretrain+selftrain's teachers are implied). */
static const char *GRID = "[study]\nname = t\n[train]\nsteps = 10\n[grid]\n"
                          "arm = selftrain, pretrain+selftrain, scratch\nfraction = 0.5, 1.0\n"
                          "selftrain.alpha = 1, 2\n";

/* The dry run's step rate is the trial's on a core of its own: timed while other processes
 * keep every core busy (as when a dry run is made beside running parts), the wall-clock rate
 * falls with the load and the rate the estimate takes does not. */
START_TEST(a_dry_runs_step_rate_is_not_the_machines_load)
{
    rk_refnet_cfg m = rk_refnet_default();
    rk_err err = {0};
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    pid_t burn[64];
    long nb = cores < 64 ? cores : 64;
    for (long i = 0; i < nb; i++)
        if ((burn[i] = fork()) == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives the test (a timeout kills it) */
            for (volatile unsigned long x = 0;; x++) {
            }
        }
    double own = NAN, wall = rk_trial_step_rate(&m, 16, RK_BACKEND_DNNL, 1, &own, &err);
    for (long i = 0; i < nb; i++) kill(burn[i], SIGKILL), waitpid(burn[i], NULL, 0);
    ck_assert_msg(isfinite(wall) && isfinite(own), "%s", err.msg);
    /* one timing thread beside a burner per core has about cores/(cores+1) of a core */
    ck_assert_msg(own > 1.15 * wall, "own %.0f img/s, wall %.0f img/s", own, wall);
}
END_TEST

START_TEST(every_arm_is_one_row_of_the_table)
{
    for (int a = 0; a < RK_NARMS; a++) {
        const rk_arm_info *r = &rk_arms[a];
        ck_assert_int_eq(rk_arm_parse(r->name), a);
        ck_assert_str_eq(rk_arm_name((rk_arm)a), r->name);
        if (r->teacher == RK_ARM_NONE) continue;
        /* a teacher is a supervised arm, and a student descends from the backbone exactly
         * when its teacher does, and trains the joint task exactly when its teacher did */
        ck_assert_int_eq(rk_arms[r->teacher].teacher, RK_ARM_NONE);
        ck_assert_int_eq(rk_arms[r->teacher].backbone, r->backbone);
        ck_assert_int_eq(rk_arms[r->teacher].joint, r->joint); /* and so for the joint task */
    }
    ck_assert_int_eq(rk_arm_parse("selftrain "), RK_ARM_NONE);
    ck_assert_int_eq(rk_arm_parse(NULL), RK_ARM_NONE);
    ck_assert_str_eq(rk_arm_name(RK_NARMS), "?");
    ck_assert_int_eq(rk_arms[RK_ARM_PRETRAIN_SELFTRAIN].teacher, RK_ARM_PRETRAIN);
}
END_TEST

START_TEST(a_plan_is_the_grid_then_the_teachers_it_implies_each_once)
{
    rk_sweep_plan p;
    plan_of(GRID, NULL, 0, &p);
    /* grid: (2 selftrain + 2 pretrain+selftrain + 1 scratch) x 2 fractions */
    ck_assert_int_eq(p.ngrid, 10);
    ck_assert_int_eq(p.n, 12); /* + a pretrain teacher per fraction */
    ck_assert_str_eq(p.study, "t");
    for (size_t i = 0; i < p.n; i++) {
        const rk_sweep_trial *t = &p.t[i];
        ck_assert_int_eq(rk_sweep_find(&p, t->hash), (int)i); /* unique hashes */
        ck_assert_int_eq(t->implied, i >= p.ngrid);
        ck_assert(t->selected && t->needed);
        rk_arm a = rk_arm_parse(arm_of(&p, i));
        if (rk_arms[a].teacher == RK_ARM_NONE) {
            ck_assert_int_eq(t->teacher, -1);
            ck_assert_int_eq(t->stage, 1);
            continue;
        }
        ck_assert_int_eq(t->stage, 2);
        ck_assert_int_ge(t->teacher, 0);
        /* its teacher is the supervised trial of the same cell, by identity */
        rk_config tc;
        char *json = NULL, h[65];
        rk_err err = {0};
        ck_assert(rk_trial_teacher_config(&t->cfg, &tc, &err) == RK_OK);
        ck_assert(rk_config_json(&tc, &json, h, &err) == RK_OK);
        ck_assert_str_eq(p.t[t->teacher].hash, h);
        ck_assert_str_eq(arm_of(&p, (size_t)t->teacher), rk_arm_name(rk_arms[a].teacher));
        ck_assert_int_eq(p.t[t->teacher].implied, rk_arms[a].teacher == RK_ARM_PRETRAIN);
        free(json);
        rk_config_free(&tc);
    }
    rk_sweep_plan_free(&p);
}
END_TEST

START_TEST(teachers_are_registered_before_their_students_and_linked_to_them)
{
    rk_sweep_plan p;
    plan_of(GRID, NULL, 0, &p);
    rk_store *s = open_db();
    rk_err err = {0};
    ck_assert_msg(rk_sweep_register(s, &p, &err) == RK_OK, "%s", err.msg);
    size_t students = 0;
    for (size_t i = 0; i < p.n; i++) {
        ck_assert_int_gt(p.t[i].id, 0);
        ck_assert_int_eq(p.t[i].status, RK_TRIAL_PENDING);
        int k = p.t[i].teacher;
        if (k < 0) continue;
        students++;
        ck_assert_int_lt(p.t[k].id, p.t[i].id); /* acquire takes the lowest id first */
        char q[160];
        snprintf(q, sizeof q, "select count(*) from trial_deps where trial_id = %lld and "
                 "depends_on = %lld", (long long)p.t[i].id, (long long)p.t[k].id);
        ck_assert_int_eq(raw_int(q), 1);
    }
    ck_assert_int_eq(raw_int("select count(*) from trial_deps"), (long long)students);
    ck_assert_int_eq(raw_int("select count(*) from trials"), (long long)p.n);
    /* registering again changes nothing */
    ck_assert(rk_sweep_register(s, &p, &err) == RK_OK);
    ck_assert_int_eq(raw_int("select count(*) from trials"), (long long)p.n);
    ck_assert_int_eq(raw_int("select count(*) from trial_deps"), (long long)students);
    rk_store_close(s);
    rk_sweep_plan_free(&p);
}
END_TEST

/* Acquires trial id for worker (it must be runnable) and finishes it with AP = ap through
 * rk_sweep_finish, as a worker does. */
static void finish(rk_store *s, int64_t id, double ap)
{
    rk_acquire_opts o = {.worker = "test", .trial = id};
    rk_trial t;
    int got = 0;
    rk_err err = {0};
    ck_assert_msg(rk_store_trial_acquire(s, &o, &t, &got, &err) == RK_OK, "%s", err.msg);
    ck_assert_msg(got, "trial %lld is not runnable", (long long)id);
    rk_trial_result res = {.wall_s = 1, .cpu_s = 1, .images = 8, .flops = NAN,
                           .pseudo_cpu_s = NAN, .source_acc = NAN, .dev_ap = NAN};
    for (int k = 0; k < RK_COCO_NSTATS; k++) res.stats.stats[k] = ap;
    ck_assert_msg(rk_sweep_finish(s, &t, &res, &err) == RK_OK, "%s", err.msg);
    rk_trial_clear(&t);
}

/* The 16-digit hashes of stage s, shard i/n, in plan order, each followed by a space. */
static size_t shard_hashes(const char *const *ov, size_t nov, int s, int i, int n, char *out,
                           size_t cap)
{
    rk_sweep_plan p;
    rk_err err = {0};
    plan_of(GRID, ov, nov, &p);
    ck_assert_msg(rk_sweep_select(&p, s, i, n, &err) == RK_OK, "%s", err.msg);
    size_t count = 0;
    out[0] = 0;
    for (size_t k = 0; k < p.n; k++) {
        const rk_sweep_trial *t = &p.t[k];
        if (!t->selected) {
            /* outside the selection only the selection's teachers are needed */
            int teaches = 0;
            for (size_t j = 0; j < p.n; j++)
                teaches |= p.t[j].selected && p.t[j].teacher == (int)k;
            ck_assert_int_eq(t->needed, teaches);
            continue;
        }
        ck_assert_int_eq(t->stage, s);
        ck_assert(t->needed);
        snprintf(out + strlen(out), cap - strlen(out), "%.16s ", t->hash);
        count++;
    }
    ck_assert_int_eq(p.nselected, count);
    rk_sweep_plan_free(&p);
    return count;
}

START_TEST(stage_and_shard_membership_depends_only_on_the_file_and_overrides)
{
    /* stage 2: the 8 students, as shards 0, 1, 2 of 3 by position: 3 + 3 + 2 */
    char a[3][512], all[1536] = "", b[512];
    size_t want[3] = {3, 3, 2};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(shard_hashes(NULL, 0, 2, i, 3, a[i], sizeof a[i]), want[i]);
        strcat(all, a[i]);
    }
    for (const char *h = all; *h; h += 17) { /* disjoint: each hash once over the shards */
        char one[18];
        snprintf(one, sizeof one, "%.17s", h);
        ck_assert_ptr_eq(strstr(all, one), h);
    }
    /* the database's state plays no part: with trials finished and failed, the same shards */
    rk_sweep_plan p;
    rk_err err = {0};
    plan_of(GRID, NULL, 0, &p);
    rk_store *s = open_db();
    ck_assert(rk_sweep_register(s, &p, &err) == RK_OK);
    for (size_t i = 0; i < p.n; i++)
        if (p.t[i].teacher < 0) finish(s, p.t[i].id, 0.25);
    finish(s, p.t[0].id, 0.5);
    rk_acquire_opts o = {.worker = "test", .trial = p.t[1].id};
    rk_trial t;
    int got = 0;
    ck_assert(rk_store_trial_acquire(s, &o, &t, &got, &err) == RK_OK && got);
    ck_assert(rk_store_trial_fail(s, t.id, t.attempts, RK_EINVAL, "broken", 0, &err) == RK_OK);
    rk_trial_clear(&t);
    ck_assert_int_eq(raw_int("select count(*) from trials where status = 'failed'"), 1);
    rk_store_close(s);
    for (int i = 0; i < 3; i++) {
        shard_hashes(NULL, 0, 2, i, 3, b, sizeof b);
        ck_assert_str_eq(b, a[i]);
    }
    /* an override that changes the grid changes them */
    const char *ov[] = {"fraction=0.5"};
    ck_assert_int_eq(shard_hashes(ov, 1, 2, 0, 3, b, sizeof b), 2);
    /* stage 1 whole: the supervised trials, implied teachers included */
    ck_assert_int_eq(shard_hashes(NULL, 0, 1, 0, 1, b, sizeof b), 4);
    ck_assert_int_eq(rk_sweep_select(&p, 3, 0, 1, &err), RK_EINVAL);
    ck_assert_int_eq(rk_sweep_select(&p, 1, 2, 2, &err), RK_EINVAL);
    rk_sweep_plan_free(&p);
}
END_TEST

/* Takes the next trial for worker name; returns its plan index, -1 if none (*left says
 * whether one may still come). */
static int take(rk_store *s, const rk_sweep_plan *p, const char *name, int *left)
{
    rk_acquire_opts o = {.study = p->study, .worker = name};
    rk_trial t;
    int got = 0, k = -1;
    rk_err err = {0};
    ck_assert_msg(rk_sweep_take(s, p, &o, &t, &got, &k, left, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(got, k >= 0);
    if (got) ck_assert_str_eq(t.config_hash, p->t[k].hash);
    rk_trial_clear(&t);
    return k;
}

/* One cell's student and its (implied) teacher: the student waits until the teacher
 * finished. */
START_TEST(the_next_trial_waits_for_its_teacher)
{
    static const char *CELL = "[study]\nname = t\n[train]\nsteps = 10\n[grid]\narm = selftrain\n";
    rk_sweep_plan p;
    rk_err err = {0};
    plan_of(CELL, NULL, 0, &p);
    ck_assert_int_eq(p.n, 2);
    rk_store *s = open_db();
    ck_assert(rk_sweep_register(s, &p, &err) == RK_OK);
    int left = 0;
    ck_assert_int_eq(take(s, &p, "w1", &left), 1); /* the teacher, although listed second */
    ck_assert_int_eq(take(s, &p, "w2", &left), -1); /* the student waits for it */
    ck_assert(left);
    rk_trial t;
    int got = 0;
    ck_assert(rk_store_trial_get(s, p.t[1].id, &t, &got, &err) == RK_OK && got);
    rk_trial_result res = {.flops = NAN, .pseudo_cpu_s = NAN, .source_acc = NAN, .dev_ap = NAN};
    ck_assert_msg(rk_sweep_finish(s, &t, &res, &err) == RK_OK, "%s", err.msg);
    rk_trial_clear(&t);
    ck_assert_int_eq(take(s, &p, "w2", &left), 0); /* now the student */
    ck_assert_int_eq(take(s, &p, "w1", &left), -1);
    ck_assert(left); /* it is still running */
    ck_assert(rk_store_trial_get(s, p.t[0].id, &t, &got, &err) == RK_OK && got);
    ck_assert_msg(rk_sweep_finish(s, &t, &res, &err) == RK_OK, "%s", err.msg);
    rk_trial_clear(&t);
    ck_assert_int_eq(take(s, &p, "w1", &left), -1);
    ck_assert(!left); /* all done */
    size_t to_run = 9;
    ck_assert(rk_sweep_refresh(s, &p, &to_run, &err) == RK_OK);
    ck_assert_int_eq(to_run, 0);
    ck_assert_int_eq(p.t[0].status, RK_TRIAL_FINISHED);
    rk_store_close(s);
    rk_sweep_plan_free(&p);
}
END_TEST

/* A study is the union of its sweeps: a sweep of seed 1 never takes (nor, as it did, fails)
 * the seed-2 trials an earlier sweep of the study registered; they stay pending for the
 * sweep that owns them. */
START_TEST(a_sweep_takes_only_its_own_trials)
{
    static const char *TWO = "[study]\nname = t\n[train]\nsteps = 10\n[grid]\nseed = 1, 2\n";
    const char *one[] = {"seed=1"};
    rk_sweep_plan all, mine;
    rk_err err = {0};
    plan_of(TWO, NULL, 0, &all);
    plan_of(TWO, one, 1, &mine);
    rk_store *s = open_db();
    ck_assert(rk_sweep_register(s, &all, &err) == RK_OK);
    ck_assert(rk_sweep_register(s, &mine, &err) == RK_OK);
    ck_assert_int_eq(mine.t[0].id, all.t[0].id);
    int left = 0;
    ck_assert_int_eq(take(s, &mine, "w", &left), 0);
    ck_assert_int_eq(take(s, &mine, "w", &left), -1); /* seed 2 is not this sweep's */
    ck_assert(left);                                   /* its own is running */
    rk_trial t;
    int found = 0;
    ck_assert(rk_store_trial_get(s, mine.t[0].id, &t, &found, &err) == RK_OK && found);
    rk_trial_result res = {.flops = NAN, .pseudo_cpu_s = NAN, .source_acc = NAN, .dev_ap = NAN};
    ck_assert_msg(rk_sweep_finish(s, &t, &res, &err) == RK_OK, "%s", err.msg);
    rk_trial_clear(&t);
    ck_assert_int_eq(take(s, &mine, "w", &left), -1);
    ck_assert(!left);
    ck_assert_int_eq(raw_int("select count(*) from trials where status = 'pending'"), 1);
    ck_assert_int_eq(take(s, &all, "w", &left), 1); /* the full sweep runs it later */
    rk_store_close(s);
    rk_sweep_plan_free(&all);
    rk_sweep_plan_free(&mine);
}
END_TEST

/* Fails trial i of p under a fresh lease, for good (no retry). */
static void fail_for_good(rk_store *s, const rk_sweep_plan *p, size_t i)
{
    rk_acquire_opts o = {.worker = "test", .trial = p->t[i].id};
    rk_trial t;
    int got = 0;
    rk_err err = {0};
    ck_assert(rk_store_trial_acquire(s, &o, &t, &got, &err) == RK_OK && got);
    ck_assert(rk_store_trial_fail(s, t.id, t.attempts, RK_EINVAL, "broken", 0, &err) == RK_OK);
    rk_trial_clear(&t);
}

START_TEST(retrying_a_sweeps_failures_leaves_other_sweeps_failures)
{
    static const char *TWO = "[study]\nname = t\n[train]\nsteps = 10\n[grid]\nseed = 1, 2\n";
    const char *one[] = {"seed=1"}, *two[] = {"seed=2"};
    rk_sweep_plan a, b;
    rk_err err = {0};
    plan_of(TWO, one, 1, &a);
    plan_of(TWO, two, 1, &b);
    rk_store *s = open_db();
    ck_assert(rk_sweep_register(s, &a, &err) == RK_OK);
    ck_assert(rk_sweep_register(s, &b, &err) == RK_OK);
    fail_for_good(s, &a, 0);
    fail_for_good(s, &b, 0);
    size_t to_run = 9, n = 9;
    ck_assert(rk_sweep_refresh(s, &a, &to_run, &err) == RK_OK);
    ck_assert_int_eq(to_run, 0); /* a failed trial runs again only when retried */
    rk_trial_counts c;
    rk_sweep_counts(&a, &c);
    ck_assert_int_eq(c.failed, 1);
    ck_assert_msg(rk_sweep_retry_failed(s, &a, &n, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(a.t[0].status, RK_TRIAL_PENDING);
    ck_assert_int_eq(raw_int("select count(*) from trials where status = 'failed'"), 1);
    ck_assert(rk_sweep_refresh(s, &b, &to_run, &err) == RK_OK);
    ck_assert_int_eq(b.t[0].status, RK_TRIAL_FAILED);
    rk_store_close(s);
    rk_sweep_plan_free(&a);
    rk_sweep_plan_free(&b);
}
END_TEST

/* A dry run reads statuses by config hash and writes nothing: not into a database that
 * exists (read-only), nor a file where none is. */
START_TEST(a_dry_run_finds_trials_without_writing)
{
    rk_sweep_plan p, q;
    rk_err err = {0};
    size_t to_run = 9;
    plan_of(GRID, NULL, 0, &p);
    ck_assert(rk_sweep_lookup(NULL, &p, &to_run, &err) == RK_OK);
    ck_assert_int_eq(to_run, p.n);
    ck_assert_int_ne(access(db_path, F_OK), 0);
    rk_store *s = open_db();
    ck_assert(rk_sweep_register(s, &p, &err) == RK_OK);
    finish(s, p.t[p.n - 1].id, 0.5); /* an implied teacher */
    rk_store_close(s);
    plan_of(GRID, NULL, 0, &q);
    ck_assert(rk_store_open_readonly(&s, db_path, &err) == RK_OK);
    ck_assert_msg(rk_sweep_lookup(s, &q, &to_run, &err) == RK_OK, "%s", err.msg);
    rk_store_close(s);
    ck_assert_int_eq(to_run, q.n - 1);
    for (size_t i = 0; i < q.n; i++) {
        ck_assert_int_eq(q.t[i].id, p.t[i].id);
        ck_assert_int_eq(q.t[i].status, i + 1 == q.n ? RK_TRIAL_FINISHED : RK_TRIAL_PENDING);
    }
    rk_sweep_plan_free(&p);
    rk_sweep_plan_free(&q);
}
END_TEST

/* A plateau schedule stops when dev AP does: its budget is only a maximum. A trial's
 * expected steps are those its cell's finished trials took (mean), else its budget, marked
 * as an upper bound; a fixed schedule's are its budget. */
START_TEST(a_plateau_trials_expected_steps_come_from_its_cells_finished_trials)
{
    static const char *PLATEAU = "[study]\nname = t\n[train]\nsteps = 1000\nbatch = 4\n"
                                 "dev = 2\nschedule = plateau\n[grid]\nfraction = 0.5, 1\n"
                                 "seed = 1, 2, 3\n";
    rk_sweep_plan p;
    rk_err err = {0};
    plan_of(PLATEAU, NULL, 0, &p);
    ck_assert_int_eq(p.n, 6);
    rk_store *s = open_db();
    ck_assert(rk_sweep_register(s, &p, &err) == RK_OK);
    ck_assert(rk_sweep_expect(s, NULL, &p, &err) == RK_OK);
    for (size_t i = 0; i < p.n; i++) {
        ck_assert_int_eq(p.t[i].max_steps, 1000);
        ck_assert_double_eq(p.t[i].steps, 1000);
        ck_assert_double_eq(p.t[i].step_images, 4);
        ck_assert(p.t[i].bound);
    }
    /* fraction 0.5, seeds 1 and 2, stopped at 300 and 500 steps */
    long took[] = {300, 500};
    for (size_t i = 0; i < 2; i++) {
        rk_acquire_opts o = {.worker = "test", .trial = p.t[i].id};
        rk_trial t;
        int got = 0;
        ck_assert(rk_store_trial_acquire(s, &o, &t, &got, &err) == RK_OK && got);
        rk_trial_result res = {.flops = NAN, .pseudo_cpu_s = NAN, .source_acc = NAN,
                               .dev_ap = NAN, .steps = took[i], .max_steps = 1000,
                               .stop = RK_STOP_PLATEAU};
        ck_assert_msg(rk_sweep_finish(s, &t, &res, &err) == RK_OK, "%s", err.msg);
        rk_trial_clear(&t);
    }
    ck_assert(rk_sweep_expect(s, NULL, &p, &err) == RK_OK);
    ck_assert_str_eq(rk_config_get(&p.t[2].cfg, "trial.fraction"), "0.5");
    ck_assert_double_eq(p.t[2].steps, 400); /* seed 3: the mean */
    ck_assert(!p.t[2].bound);
    ck_assert_int_eq(p.t[2].history, 2);
    ck_assert_double_eq(p.t[3].steps, 1000); /* fraction 1: no finished trial of its cell */
    ck_assert(p.t[3].bound);
    /* the same cell under a cosine schedule trains its whole budget */
    const char *cosine[] = {"train.schedule=cosine"};
    rk_sweep_plan c;
    plan_of(PLATEAU, cosine, 1, &c);
    ck_assert(rk_sweep_expect(s, NULL, &c, &err) == RK_OK);
    ck_assert_double_eq(c.t[2].steps, 1000);
    ck_assert(!c.t[2].bound);
    rk_sweep_plan_free(&c);
    rk_store_close(s);
    rk_sweep_plan_free(&p);
}
END_TEST

/* A part of a study whose cells have no finished trial yet (another policy's part did run)
 * expects the steps of the same arm and fraction at the other policies, marked borrowed:
 * an estimate, not the budget's upper bound. Another arm or fraction lends nothing. A part
 * with a database of its own finds them in its history (sweep --history). */
START_TEST(a_cell_without_history_borrows_its_arm_and_fractions_steps_from_other_policies)
{
    static const char *TWO = "[study]\nname = t\n[train]\nsteps = 1000\nbatch = 4\n"
                             "dev = 2\nschedule = plateau\n[grid]\naug = S1, S4\n"
                             "fraction = 0.5, 1\n";
    /* a second policy: S1's entries under the name S4 */
    char pol[300], text[4096] = "";
    fx_path(pol, sizeof pol, "augment.ini");
    FILE *f = fopen(pol, "r");
    ck_assert(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    char *name = strstr(text, "[augment.S1]");
    ck_assert(name);
    f = fopen(pol, "a");
    fprintf(f, "\n[augment.S4]%s", name + strlen("[augment.S1]"));
    fclose(f);
    rk_sweep_plan p;
    rk_err err = {0};
    plan_of(TWO, NULL, 0, &p);
    ck_assert_int_eq(p.n, 4);
    rk_store *s = open_db();
    ck_assert(rk_sweep_register(s, &p, &err) == RK_OK);
    int s1_half = -1;
    for (size_t i = 0; i < p.n; i++)
        if (!strcmp(rk_config_get(&p.t[i].cfg, "trial.aug"), "S1") &&
            !strcmp(rk_config_get(&p.t[i].cfg, "trial.fraction"), "0.5"))
            s1_half = (int)i;
    ck_assert_int_ge(s1_half, 0);
    rk_acquire_opts o = {.worker = "test", .trial = p.t[s1_half].id};
    rk_trial t;
    int got = 0;
    ck_assert(rk_store_trial_acquire(s, &o, &t, &got, &err) == RK_OK && got);
    rk_trial_result res = {.flops = NAN, .pseudo_cpu_s = NAN, .source_acc = NAN, .dev_ap = NAN,
                           .steps = 300, .max_steps = 1000, .stop = RK_STOP_PLATEAU};
    ck_assert_msg(rk_sweep_finish(s, &t, &res, &err) == RK_OK, "%s", err.msg);
    rk_trial_clear(&t);
    ck_assert(rk_sweep_expect(s, NULL, &p, &err) == RK_OK);
    for (size_t i = 0; i < p.n; i++) {
        const char *aug = rk_config_get(&p.t[i].cfg, "trial.aug");
        int half = !strcmp(rk_config_get(&p.t[i].cfg, "trial.fraction"), "0.5");
        if (half) { /* S1: its own cell; S4: borrowed from S1 */
            ck_assert_double_eq(p.t[i].steps, 300);
            ck_assert(!p.t[i].bound);
            ck_assert_int_eq(p.t[i].borrowed, !strcmp(aug, "S4"));
        } else { /* fraction 1: nothing of its fraction finished anywhere */
            ck_assert(p.t[i].bound && !p.t[i].borrowed);
            ck_assert_double_eq(p.t[i].steps, 1000);
        }
    }
    /* a new part runs into a database of its own: alone it knows nothing (upper bounds);
     * with the finished parts as its history, the same estimates as above */
    char part_path[300];
    fx_path(part_path, sizeof part_path, "part.db");
    rk_store *part = NULL;
    ck_assert(rk_store_open(&part, part_path, &err) == RK_OK);
    ck_assert(rk_sweep_expect(part, NULL, &p, &err) == RK_OK);
    for (size_t i = 0; i < p.n; i++) ck_assert(p.t[i].bound);
    ck_assert(rk_sweep_expect(part, s, &p, &err) == RK_OK);
    for (size_t i = 0; i < p.n; i++)
        if (!strcmp(rk_config_get(&p.t[i].cfg, "trial.fraction"), "0.5"))
            ck_assert(!p.t[i].bound && p.t[i].steps == 300);
    rk_store_close(part);
    rk_store_close(s);
    rk_sweep_plan_free(&p);
}
END_TEST

START_TEST(a_stage_two_run_names_a_teacher_that_is_not_finished)
{
    rk_sweep_plan p;
    rk_err err = {0};
    size_t to_run = 0;
    plan_of(GRID, NULL, 0, &p);
    ck_assert(rk_sweep_select(&p, 2, 0, 1, &err) == RK_OK);
    rk_store *s = open_db();
    ck_assert(rk_sweep_register(s, &p, &err) == RK_OK);
    ck_assert(rk_sweep_refresh(s, &p, &to_run, &err) == RK_OK);
    ck_assert_int_eq(to_run, 8);
    int m = rk_sweep_missing_teacher(&p);
    ck_assert_int_ge(m, 0);
    ck_assert_int_eq(p.t[m].stage, 1);
    for (size_t i = 0; i < p.n; i++)
        if (p.t[i].needed && !p.t[i].selected) finish(s, p.t[i].id, 0.25);
    ck_assert(rk_sweep_refresh(s, &p, &to_run, &err) == RK_OK);
    ck_assert_int_eq(rk_sweep_missing_teacher(&p), -1);
    rk_store_close(s);
    rk_sweep_plan_free(&p);
}
END_TEST

/* Takes trial id as worker "HOST:pid/0" of this host. */
static void take_as(rk_store *s, int64_t id, const char *host, pid_t pid)
{
    char name[128];
    snprintf(name, sizeof name, "%s:%d/0", host, (int)pid);
    rk_acquire_opts o = {.worker = name, .host = host, .trial = id};
    rk_trial t;
    int got = 0;
    rk_err err = {0};
    ck_assert(rk_store_trial_acquire(s, &o, &t, &got, &err) == RK_OK && got);
    rk_trial_clear(&t);
}

START_TEST(a_dead_workers_trial_goes_back_to_pending)
{
    rk_sweep_plan p;
    rk_err err = {0};
    plan_of("[study]\nname = t\n[grid]\nseed = 1, 2\n", NULL, 0, &p);
    rk_store *s = open_db();
    ck_assert(rk_sweep_register(s, &p, &err) == RK_OK);
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    /* a pid no process of this host has: one above the kernel's pid_max (a child that
     * exited would do, until the kernel hands its pid to another process: on a busy
     * machine it may) */
    long pid_max = 4194304; /* the largest pid_max there is, if /proc does not say */
    FILE *pm = fopen("/proc/sys/kernel/pid_max", "r");
    if (pm) {
        if (fscanf(pm, "%ld", &pid_max) != 1) pid_max = 4194304;
        fclose(pm);
    }
    pid_t dead = (pid_t)(pid_max + 1);
    ck_assert(kill(dead, 0) != 0 && errno == ESRCH);
    take_as(s, p.t[0].id, host, dead);
    /* while another trial's worker lives (this process), nothing is reclaimed */
    take_as(s, p.t[1].id, host, getpid());
    size_t n = 9;
    ck_assert_msg(rk_sweep_reclaim_dead(s, p.study, &n, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(raw_int("select count(*) from trials where status = 'running'"), 2);
    /* another machine's worker: left to the heartbeat */
    ck_assert(rk_store_trial_fail(s, p.t[1].id, 1, RK_EIO, "stop", 1, &err) == RK_OK);
    take_as(s, p.t[1].id, "elsewhere", dead);
    ck_assert(rk_sweep_reclaim_dead(s, p.study, &n, &err) == RK_OK);
    ck_assert_int_eq(n, 0);
    /* every running trial's worker of this host and gone: all go back to pending */
    ck_assert(rk_store_trial_fail(s, p.t[1].id, 2, RK_EIO, "stop", 1, &err) == RK_OK);
    ck_assert(rk_sweep_reclaim_dead(s, p.study, &n, &err) == RK_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(raw_int("select count(*) from trials where status = 'pending'"), 2);
    char q[96];
    snprintf(q, sizeof q, "select attempts from trials where id = %lld", (long long)p.t[0].id);
    ck_assert_int_eq(raw_int(q), 1); /* its lease stays counted */
    rk_store_close(s);
    rk_sweep_plan_free(&p);
}
END_TEST

/* The self-training student of a tiny real dataset, with no teacher checkpoint: the trial
 * fails naming it, and trains nothing (the teacher is a trial of its own, run first). */
START_TEST(a_student_never_trains_its_teacher)
{
    char text[1024];
    snprintf(text, sizeof text,
             "[study]\nname = t\ndata = %s/data\nartifacts = %s/art\n[data]\ntrain = 6\nval = 2\n"
             "source = 4\n[train]\nsteps = 1\nbatch = 2\n[selftrain]\npseudo_batch = 2\n"
             "[grid]\narm = selftrain\n", fx_tmp, fx_tmp);
    rk_sweep_plan p;
    plan_of(text, NULL, 0, &p);
    rk_trial_result res;
    rk_err err = {0};
    ck_assert_int_ne(rk_trial_run(&p.t[0].cfg, NULL, &res, &err), RK_OK);
    ck_assert_msg(strstr(err.msg, "teacher's checkpoint"), "%s", err.msg);
    char q[400];
    snprintf(q, sizeof q, "%s/art/trial-%.16s.ckpt", fx_tmp, p.t[1].hash);
    ck_assert_msg(strstr(err.msg, q), "%s", err.msg);
    ck_assert_int_ne(access(q, F_OK), 0); /* the teacher was not trained */
    rk_sweep_plan_free(&p);
}
END_TEST

/* Issue 25: a labels.csv cut short by an interrupted build trained a pretrain trial to AP
 * 0.0003, since the folder looked built and a missing card skipped every check. The card's
 * checksums are checked, and a folder the sweep may build must carry its card; a dataset of
 * the user's own (study.build_data = 0) needs none. */
START_TEST(a_dataset_folder_whose_files_are_not_the_built_ones_is_an_error)
{
    char text[1024], p[400];
    snprintf(text, sizeof text,
             "[study]\nname = t\ndata = %s/data\n[data]\ntrain = 6\nval = 2\nsource = 4\n",
             fx_tmp);
    rk_sweep_plan plan;
    plan_of(text, NULL, 0, &plan);
    rk_err err = {0};
    const rk_config *c = &plan.t[0].cfg;
    ck_assert_msg(rk_trial_prepare_data(c, NULL, NULL, &err) == RK_OK, "%s", err.msg);
    ck_assert_msg(rk_trial_prepare_data(c, NULL, NULL, &err) == RK_OK, "%s", err.msg);
    /* labels.csv cut short */
    snprintf(p, sizeof p, "%s/data/source/labels.csv", fx_tmp);
    ck_assert_int_eq(truncate(p, 40), 0);
    ck_assert_int_eq(rk_trial_prepare_data(c, NULL, NULL, &err), RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "labels.csv") && strstr(err.msg, "SHA-256"), "%s", err.msg);
    /* no card at all */
    snprintf(p, sizeof p, "%s/data/card.json", fx_tmp);
    ck_assert_int_eq(unlink(p), 0);
    ck_assert_int_eq(rk_trial_prepare_data(c, NULL, NULL, &err), RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "no dataset card") && strstr(err.msg, "study.build_data = 0"),
                  "%s", err.msg);
    rk_sweep_plan_free(&plan);
    /* the same folder as a dataset of the user's own: no card needed */
    const char *ov[] = {"study.build_data=0"};
    plan_of(text, ov, 1, &plan);
    ck_assert_msg(rk_trial_prepare_data(&plan.t[0].cfg, NULL, NULL, &err) == RK_OK, "%s",
                  err.msg);
    rk_sweep_plan_free(&plan);
}
END_TEST

Suite *suite_sweep(void)
{
    Suite *s = suite_create("sweep");
    TCase *tc = tcase_create("plan");
    tcase_add_checked_fixture(tc, setup, fx_tmp_teardown);
    tcase_add_test(tc, every_arm_is_one_row_of_the_table);
    tcase_add_test(tc, a_plan_is_the_grid_then_the_teachers_it_implies_each_once);
    tcase_add_test(tc, teachers_are_registered_before_their_students_and_linked_to_them);
    tcase_add_test(tc, stage_and_shard_membership_depends_only_on_the_file_and_overrides);
    tcase_add_test(tc, the_next_trial_waits_for_its_teacher);
    tcase_add_test(tc, a_sweep_takes_only_its_own_trials);
    tcase_add_test(tc, retrying_a_sweeps_failures_leaves_other_sweeps_failures);
    tcase_add_test(tc, a_dry_run_finds_trials_without_writing);
    tcase_add_test(tc, a_plateau_trials_expected_steps_come_from_its_cells_finished_trials);
    tcase_add_test(tc, a_cell_without_history_borrows_its_arm_and_fractions_steps_from_other_policies);
    tcase_add_test(tc, a_stage_two_run_names_a_teacher_that_is_not_finished);
    tcase_add_test(tc, a_dead_workers_trial_goes_back_to_pending);
    tcase_add_test(tc, a_student_never_trains_its_teacher);
    tcase_add_test(tc, a_dataset_folder_whose_files_are_not_the_built_ones_is_an_error);
    suite_add_tcase(s, tc);
    TCase *rate = tcase_create("rate"); /* timings under load: seconds, more under ASan */
    tcase_set_timeout(rate, 120);
    tcase_add_test(rate, a_dry_runs_step_rate_is_not_the_machines_load);
    suite_add_tcase(s, rate);
    return s;
}
