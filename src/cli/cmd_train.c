/* rethink train: one trial (arm, aug, fraction, seed) from an experiment file, trained,
 * evaluated on val and recorded in the store. It runs the sweep's plan of that one trial
 * (include/rethink/sweep.h): a self-training cell's teacher is registered with it, linked,
 * and run first as a trial of its own when the store has no finished one. */
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

/* The trial's events on the display, and off a terminal a progress line now and then. */
static void to_display(void *g, const run_event *e)
{
    progress_event(g, e);
    progress_status(g, "", 0);
}

/* Takes the plan's next runnable trial (a teacher before its student), runs and records it,
 * showing its progress on g; *k: which one. stats: the trial's 12 COCO stats. */
static int run_next(rk_store *db, const char *db_path, const rk_sweep_plan *p, progress *g,
                    int *k, double *stats, rk_err *err)
{
    char worker[128], host[64] = "";
    gethostname(host, sizeof host - 1);
    snprintf(worker, sizeof worker, "%s:%d", host, (int)getpid());
    rk_acquire_opts o = {.worker = worker, .host = host, .git_rev = cli_git_rev()};
    rk_trial t;
    int got = 0, left = 0;
    int rc = rk_sweep_take(db, p, &o, &t, &got, k, &left, err);
    if (rc) return rc;
    if (!got)
        return rk_errf(err, RK_EINVAL, "trial %lld is not runnable (running elsewhere, or its "
                       "teacher is not finished)", (long long)p->t[0].id);
    const rk_sweep_trial *s = &p->t[*k];
    const char *arm = rk_config_get(&s->cfg, "trial.arm");
    char label[64];
    if (*k == 0) {
        snprintf(label, sizeof label, "%s %.8s", arm, s->hash);
    } else {
        snprintf(label, sizeof label, "teacher %.8s", s->hash);
        progress_print(g, stderr, "training the teacher of this cell first (%s)\n", arm);
    }
    rk_trial_result res;
    run_sink sink = {.fn = to_display, .ctx = g};
    rc = run_trial(db, db_path, &t, &s->cfg, label, &sink, &res, err);
    if (!rc) {
        rc = rk_sweep_finish(db, &t, &res, err);
        if (!rc) memcpy(stats, res.stats.stats, sizeof(double) * RK_COCO_NSTATS);
        run_event e = run_done_event(&sink, label, &t, &res);
        if (!rc) progress_event(g, &e);
        rk_trial_result_free(&res);
    } else {
        rk_err e2 = {0};
        rk_store_trial_fail(db, t.id, t.attempts, rc, err->msg, 0, &e2);
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
    rk_sweep_plan p;
    rk_store *db = NULL;
    /* the trial, then the teacher it implies: a plan takes only its own trials */
    int rc = rk_sweep_plan_load(&p, &x, &err);
    if (!rc) rc = rk_store_open(&db, db_path, &err);
    if (!rc) rc = rk_sweep_register(db, &p, &err);
    const rk_sweep_trial *me = rc ? NULL : &p.t[0];
    const char *arm = me ? rk_config_get(&me->cfg, "trial.arm") : NULL;
    double stats[RK_COCO_NSTATS];
    const char *task = me ? rk_config_get(&me->cfg, "model.task") : NULL;
    int segment = task && !strcmp(task, "segment");
    if (me && me->status == RK_TRIAL_FINISHED) {
        int found = 0;
        rc = rk_store_result_get(db, me->id, stats, &found, &err);
        printf("trial %.16s (%s) already finished; stored results:\n", me->hash, arm);
        if (!rc && found && segment) printf("mIoU = %.4f\n", stats[RK_AP]);
        else if (!rc && found) summary(stats);
    } else if (me) {
        int k = -1; /* in the store's order: an unfinished teacher first, then this trial (0) */
        progress *g = progress_new(progress_mode(quiet, 0), 1, 30);
        progress_show_notes(g, 1);
        while (!rc && k != 0) rc = run_next(db, db_path, &p, g, &k, stats, &err);
        progress_free(g); /* clears its status line */
        if (!rc) {
            printf("trial %.16s: %s, aug %s, fraction %s, seed %s — %s on val:\n", me->hash, arm,
                   rk_config_get(&me->cfg, "trial.aug"), rk_config_get(&me->cfg, "trial.fraction"),
                   rk_config_get(&me->cfg, "trial.seed"), segment ? "segmentation" : "COCO");
            if (segment) printf("mIoU = %.4f\n", stats[RK_AP]);
            else summary(stats);
            printf("recorded in %s\n", db_path);
        }
    }
    if (rc) fprintf(stderr, "rethink train: %s\n", err.msg);
    rk_store_close(db);
    rk_sweep_plan_free(&p);
    rk_experiment_free(&x);
    return rc ? 1 : 0;
}
