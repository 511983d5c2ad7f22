/* rethink train: one trial (arm, aug, fraction, seed) from an experiment file, trained,
 * evaluated on val and recorded in the store. A self-training cell's teacher is trained
 * first when the store has no finished one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

static const char *HELP =
    "usage: rethink train --config FILE [-s key=value ...] [--db FILE] [--quiet]\n"
    "\n"
    "Trains and evaluates one trial of an experiment file (docs/EXPERIMENTS.md) and records it\n"
    "in the store: config and hash, per-epoch metrics, the 12 COCO stats on val, compute.\n"
    "Grid axes must resolve to one trial: pick values with -s (e.g. -s arm=selftrain\n"
    "-s aug=S2 -s fraction=0.5 -s seed=1). A finished trial is not trained again.\n";

static void summary(const double *st)
{
    for (int i = 0; i < RK_COCO_NSTATS; i++) printf(" %s = %.3f\n", rk_coco_stat_label(i), st[i]);
}

/* Acquires trial `id` for this process (it must be runnable), runs and records it. */
static int run_one(rk_store *db, const char *db_path, int64_t id, const rk_config *cfg,
                   const char *label, int quiet, double *stats, rk_err *err)
{
    char worker[128], host[64] = "";
    gethostname(host, sizeof host - 1);
    snprintf(worker, sizeof worker, "%s:%d", host, (int)getpid());
    rk_acquire_opts o = {.worker = worker, .host = host, .git_rev = cli_git_rev(), .trial = id};
    rk_trial t;
    int got = 0;
    int rc = rk_store_trial_acquire(db, &o, &t, &got, err);
    if (rc) return rc;
    if (!got)
        return rk_errf(err, RK_EINVAL, "trial %lld is not runnable (running elsewhere, or its "
                       "teacher is not finished)", (long long)id);
    rk_trial_result res;
    rc = run_trial(db, db_path, &t, cfg, label, quiet, &res, err);
    if (!rc) {
        rc = run_record(db, &t, &res, err);
        if (!rc && stats) memcpy(stats, res.stats.stats, sizeof(double) * RK_COCO_NSTATS);
        rk_trial_result_free(&res);
    } else {
        rk_err e2 = {0};
        rk_store_trial_fail(db, t.id, t.attempts, err->msg, 0, &e2);
    }
    rk_trial_clear(&t);
    return rc;
}

int cmd_train(int argc, char **argv)
{
    const char *config = NULL, *db_path = "results.db";
    cli_list ovl = {0};
    int quiet = 0, code;
    const cli_opt opts[] = {
        {.name = "config", .kind = CLI_STR, .dst = &config, .arg = "FILE", .required = 1,
         .help = "experiment file (e.g. experiments/quick.ini)"},
        CLI_OPT_OVERRIDE(&ovl, "override a config key (repeatable)"),
        CLI_OPT_DB(&db_path),
        {.name = "quiet", .kind = CLI_FLAG, .dst = &quiet, .help = "no progress output"},
        {0}};
    if (cli_parse(&(cli_cmd){"train", HELP, opts}, argc, argv, &code)) return code;
    const char **ov = ovl.v;
    size_t nov = ovl.n;
    rk_err err = {0};
    rk_experiment x;
    if (rk_experiment_load(&x, config, ov, nov, &err)) {
        fprintf(stderr, "rethink train: %s\n", err.msg);
        free(ov);
        return 2;
    }
    free(ov);
    size_t n = rk_experiment_size(&x);
    if (n != 1) {
        fprintf(stderr, "rethink train: %s has a grid of %zu trials; pick one with -s (e.g. -s "
                        "arm=scratch -s aug=S1 -s fraction=1 -s seed=1) or use rethink sweep\n",
                config, n);
        rk_experiment_free(&x);
        return 2;
    }
    rk_config cfg = {0}, tcfg = {0};
    rk_store *db = NULL;
    int rc = rk_experiment_trial(&x, 0, &cfg, &err);
    if (!rc) rc = rk_store_open(&db, db_path, &err);
    int64_t id = 0, tid = 0;
    rk_trial_status st = RK_TRIAL_PENDING, tst = RK_TRIAL_FINISHED;
    char hash[65], thash[65];
    if (!rc) rc = run_register(db, &cfg, &id, &st, hash, &err);
    const char *arm = rk_config_get(&cfg, "trial.arm");
    int self = !rc && strstr(arm, "selftrain") != NULL;
    if (self) { /* the teacher: the supervised trial of the same cell */
        rc = rk_trial_teacher_config(&cfg, &tcfg, &err);
        if (!rc) rc = run_register(db, &tcfg, &tid, &tst, thash, &err);
        if (!rc) rc = rk_store_trial_depend(db, id, tid, &err);
    }
    double stats[RK_COCO_NSTATS];
    if (!rc && st == RK_TRIAL_FINISHED) {
        int found = 0;
        rc = rk_store_result_get(db, id, stats, &found, &err);
        printf("trial %.16s (%s) already finished; stored results:\n", hash, arm);
        if (!rc && found) summary(stats);
        goto done;
    }
    if (!rc && self && tst != RK_TRIAL_FINISHED) {
        char label[64];
        snprintf(label, sizeof label, "teacher %.8s", thash);
        if (!quiet) fprintf(stderr, "training the teacher of this cell first (%s)\n", rk_config_get(&tcfg, "trial.arm"));
        rc = run_one(db, db_path, tid, &tcfg, label, quiet, NULL, &err);
    }
    if (!rc) {
        char label[64];
        snprintf(label, sizeof label, "%s %.8s", arm, hash);
        rc = run_one(db, db_path, id, &cfg, label, quiet, stats, &err);
        if (!rc) {
            printf("trial %.16s: %s, aug %s, fraction %s, seed %s — COCO on val:\n", hash, arm,
                   rk_config_get(&cfg, "trial.aug"), rk_config_get(&cfg, "trial.fraction"),
                   rk_config_get(&cfg, "trial.seed"));
            summary(stats);
            printf("recorded in %s\n", db_path);
        }
    }
done:
    if (rc) fprintf(stderr, "rethink train: %s\n", err.msg);
    rk_store_close(db);
    rk_config_free(&cfg), rk_config_free(&tcfg);
    rk_experiment_free(&x);
    return rc ? 1 : 0;
}
