/* The sweep's plan and schedule (include/rethink/sweep.h): the grid and the teachers it
 * implies, stage and shard selection, registering teachers first with their dependencies,
 * taking the next runnable trial, finishing one, and reclaiming trials of dead workers.
 * Invariants: a trial's stage is one more than its teacher's; registered here, a teacher has
 * a lower id than its students and an edge to each selected one. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rethink/sweep.h"

void rk_sweep_plan_free(rk_sweep_plan *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) rk_config_free(&p->t[i].cfg);
    free(p->t);
    free(p->study);
    memset(p, 0, sizeof *p);
}

int rk_sweep_find(const rk_sweep_plan *p, const char *h)
{
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->t[i].hash, h)) return (int)i;
    return -1;
}

static int config_hash(const rk_config *c, char hash[65], rk_err *err)
{
    char *json = NULL;
    int rc = rk_config_json(c, &json, hash, err);
    free(json);
    return rc;
}

/* Appends cfg (taking it over) unless its hash is there already; *k: its index. */
static int add(rk_sweep_plan *p, size_t *cap, rk_config *cfg, int implied, int *k, rk_err *err)
{
    char h[65];
    int rc = config_hash(cfg, h, err);
    *k = rc ? -1 : rk_sweep_find(p, h);
    if (!rc && *k < 0 && p->n == *cap) {
        rk_sweep_trial *t = realloc(p->t, (*cap * 2 + 8) * sizeof *t);
        if (t) p->t = t, *cap = *cap * 2 + 8;
        else rc = rk_errf(err, RK_ENOMEM, "sweep: out of memory");
    }
    if (rc || *k >= 0) {
        rk_config_free(cfg);
        return rc;
    }
    p->t[p->n] = (rk_sweep_trial){.cfg = *cfg, .teacher = -1, .implied = implied, .stage = 1,
                                  .selected = 1, .needed = 1};
    memcpy(p->t[p->n].hash, h, sizeof h);
    *k = (int)p->n++;
    return RK_OK;
}

int rk_sweep_plan_load(rk_sweep_plan *p, const rk_experiment *x, rk_err *err)
{
    memset(p, 0, sizeof *p);
    size_t ng = rk_experiment_size(x), cap = 0;
    const char *study = rk_config_get(&x->base, "study.name");
    p->study = strdup(study ? study : "");
    p->nshards = 1;
    int rc = p->study ? RK_OK : rk_errf(err, RK_ENOMEM, "sweep: out of memory");
    /* the grid, deduplicated (an axis that does not change an arm's identity) */
    for (size_t i = 0; i < ng && !rc; i++) {
        rk_config c;
        int k;
        if (!(rc = rk_experiment_trial(x, i, &c, err))) rc = add(p, &cap, &c, 0, &k, err);
    }
    p->ngrid = p->n;
    if (!rc && !p->n) rc = rk_errf(err, RK_EINVAL, "%s: the grid has no trials", x->path);
    /* then the teachers it implies, each once; a teacher's stage follows its own */
    for (size_t i = 0; i < p->n && !rc; i++) {
        rk_arm a = rk_arm_parse(rk_config_get(&p->t[i].cfg, "trial.arm"));
        if (a == RK_ARM_NONE || rk_arms[a].teacher == RK_ARM_NONE) continue;
        rk_config tc;
        int k;
        if ((rc = rk_trial_teacher_config(&p->t[i].cfg, &tc, err)) ||
            (rc = add(p, &cap, &tc, 1, &k, err)))
            break;
        p->t[i].teacher = k;
    }
    for (size_t i = 0; i < p->n && !rc; i++) /* (the arm table has no teacher cycles) */
        for (int k = p->t[i].teacher; k >= 0 && p->t[i].stage <= RK_NARMS; k = p->t[k].teacher)
            p->t[i].stage++;
    p->nselected = p->n;
    if (rc) rk_sweep_plan_free(p);
    return rc;
}

int rk_sweep_select(rk_sweep_plan *p, int stage, int shard, int nshards, rk_err *err)
{
    if (stage < 0 || stage > 2)
        return rk_errf(err, RK_EINVAL, "sweep: stage %d: expected 1 or 2 (0: all)", stage);
    if (nshards < 1 || shard < 0 || shard >= nshards)
        return rk_errf(err, RK_EINVAL, "sweep: shard %d/%d: expected I/N with 0 <= I < N",
                       shard, nshards);
    p->stage = stage, p->shard = shard, p->nshards = nshards;
    p->nselected = 0;
    for (size_t i = 0, pos = 0; i < p->n; i++) {
        rk_sweep_trial *t = &p->t[i];
        t->selected = !stage || (t->stage == stage && pos++ % (size_t)nshards == (size_t)shard);
        t->needed = t->selected;
        p->nselected += (size_t)t->selected;
    }
    /* the teachers of the selected, registered and linked too (outside the selection they
     * must be finished already) */
    for (size_t i = 0; i < p->n; i++)
        if (p->t[i].selected && p->t[i].teacher >= 0) p->t[p->t[i].teacher].needed = 1;
    return RK_OK;
}

static int is_teacher(const rk_sweep_plan *p, size_t i)
{
    for (size_t s = 0; s < p->n; s++)
        if (p->t[s].teacher == (int)i) return 1;
    return 0;
}

static int register_one(rk_store *db, rk_sweep_trial *t, rk_err *err)
{
    char *json = NULL, hash[65];
    int rc = rk_config_json(&t->cfg, &json, hash, err);
    if (rc) return rc;
    const rk_config *c = &t->cfg;
    rk_trial_spec sp = {.study = rk_config_get(c, "study.name"), .config_json = json,
                        .config_hash = hash, .arm = rk_config_get(c, "trial.arm"),
                        .aug = rk_config_get(c, "trial.aug"),
                        .fraction = strtod(rk_config_get(c, "trial.fraction"), NULL),
                        .seed = strtoll(rk_config_get(c, "trial.seed"), NULL, 10)};
    rc = rk_store_trial_register(db, &sp, &t->id, &t->status, NULL, err);
    free(json);
    return rc;
}

int rk_sweep_register(rk_store *db, rk_sweep_plan *p, rk_err *err)
{
    int rc = RK_OK;
    /* teachers first, so they get lower ids (acquire takes the lowest runnable first) */
    for (int pass = 0; pass < 2 && !rc; pass++)
        for (size_t i = 0; i < p->n && !rc; i++)
            if (p->t[i].needed && is_teacher(p, i) == (pass == 0))
                rc = register_one(db, &p->t[i], err);
    for (size_t i = 0; i < p->n && !rc; i++)
        if (p->t[i].selected && p->t[i].teacher >= 0)
            rc = rk_store_trial_depend(db, p->t[i].id, p->t[p->t[i].teacher].id, err);
    return rc;
}

int rk_sweep_refresh(rk_store *db, rk_sweep_plan *p, size_t *to_run, rk_err *err)
{
    *to_run = 0;
    for (size_t i = 0; i < p->n; i++) {
        rk_sweep_trial *s = &p->t[i];
        if (!s->needed) continue;
        rk_trial t;
        int found = 0, rc = rk_store_trial_get(db, s->id, &t, &found, err);
        if (rc) return rc;
        if (found) s->status = t.status;
        rk_trial_clear(&t);
        *to_run += s->selected && s->status != RK_TRIAL_FINISHED;
    }
    return RK_OK;
}

int rk_sweep_missing_teacher(const rk_sweep_plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->t[i].needed && !p->t[i].selected && p->t[i].status != RK_TRIAL_FINISHED)
            return (int)i;
    return -1;
}

int rk_sweep_take(rk_store *db, const rk_sweep_plan *p, const rk_acquire_opts *o, rk_trial *t,
                  int *got, int *k, int *left, rk_err *err)
{
    rk_acquire_opts a = *o;
    *got = 0, *k = -1, *left = 0;
    memset(t, 0, sizeof *t);
    /* only the selection's trials: a study may hold trials of a wider grid (another sweep of
     * it, other -s values), which this sweep must neither run nor fail */
    int64_t *ids = malloc((p->n + 1) * sizeof *ids);
    if (!ids) return rk_errf(err, RK_ENOMEM, "sweep: out of memory");
    size_t m = 0;
    for (size_t i = 0; i < p->n; i++)
        if (p->t[i].selected) ids[m++] = p->t[i].id;
    a.only = ids, a.nonly = m;
    int rc = rk_store_trial_acquire(db, &a, t, got, err);
    if (!rc && *got) *k = rk_sweep_find(p, t->config_hash);
    for (size_t i = 0; !rc && !*got && !*left && i < p->n; i++) {
        if (!p->t[i].selected) continue;
        rk_trial cur;
        int found = 0;
        rc = rk_store_trial_get(db, p->t[i].id, &cur, &found, err);
        *left = !rc && found &&
                (cur.status == RK_TRIAL_PENDING || cur.status == RK_TRIAL_RUNNING);
        rk_trial_clear(&cur);
    }
    free(ids);
    return rc;
}

/* ---- finishing ---- */

size_t rk_sweep_final_metrics(const rk_trial_result *res, rk_metric m[RK_SWEEP_FINAL_METRICS])
{
    size_t n = 0;
    if (!isnan(res->dev_ap)) {
        m[n++] = (rk_metric){res->best_epoch, res->best_epoch, RK_METRIC_SELECT_EPOCH, res->best_epoch};
        m[n++] = (rk_metric){res->best_epoch, res->best_epoch, RK_METRIC_SELECT_DEV_AP, res->dev_ap};
    }
    if (!isnan(res->source_acc))
        m[n++] = (rk_metric){0, 0, RK_METRIC_SOURCE_ACC, res->source_acc};
    return n;
}

int rk_sweep_outcome(const rk_trial_result *res, rk_trial_outcome *o, rk_category_ap **cats,
                     rk_err *err)
{
    rk_category_ap *ca = calloc(res->stats.ncats + 1, sizeof *ca);
    *cats = ca;
    if (!ca) return rk_errf(err, RK_ENOMEM, "out of memory");
    for (size_t k = 0; k < res->stats.ncats; k++) {
        ca[k].id = res->cats ? res->cats[k].id : (int)k + 1;
        snprintf(ca[k].name, sizeof ca[k].name, "%s",
                 res->cats && res->cats[k].name ? res->cats[k].name : "");
        ca[k].ap = res->stats.cat_ap[k];
    }
    /* a teacher is a trial of its own (trial_deps), never trained inside its student */
    *o = (rk_trial_outcome){.stats = res->stats.stats, .cats = ca, .ncats = res->stats.ncats,
                            .wall_s = res->wall_s, .cpu_s = res->cpu_s, .images = res->images,
                            .flops = res->flops, .teacher_cpu_s = NAN,
                            .pseudo_cpu_s = res->pseudo_cpu_s, .data_hash = res->data_hash,
                            .stop_reason = rk_stop_name(res->stop), .steps = res->steps,
                            .max_steps = res->max_steps, .precision = res->precision,
                            .cpu = rk_cpu_model()};
    return RK_OK;
}

int rk_sweep_finish(rk_store *db, const rk_trial *t, const rk_trial_result *res, rk_err *err)
{
    rk_trial_outcome o;
    rk_category_ap *ca;
    rk_metric m[RK_SWEEP_FINAL_METRICS];
    size_t n = rk_sweep_final_metrics(res, m);
    int rc = rk_sweep_outcome(res, &o, &ca, err);
    if (!rc && n) rc = rk_store_metrics_add(db, t->id, t->attempts, m, n, err);
    if (!rc) rc = rk_store_trial_finish(db, t->id, t->attempts, &o, err);
    free(ca);
    return rc;
}

/* ---- reclaiming ---- */

/* A process that exists, is not a zombie (an orphaned worker's parent may never reap it, e.g.
 * in a container whose init does not) and is not on its way out: a worker killed a moment
 * ago by kill -9 with its parent can take a while to tear its threads down on a loaded
 * machine, and it will never write again (the kernel's PF_EXITING in the flags field). */
static int alive(pid_t pid)
{
    if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM)) return 0;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *close = strrchr(buf, ')'); /* "pid (comm) S ppid pgrp session tty tpgid flags" */
    char state = 0;
    unsigned flags = 0;
    if (!close || sscanf(close + 1, " %c %*d %*d %*d %*d %*d %u", &state, &flags) != 2) return 1;
    return state != 'Z' && state != 'X' && !(flags & 0x4u /* PF_EXITING */);
}

int rk_sweep_reclaim_dead(rk_store *db, const char *study, size_t *n, rk_err *err)
{
    rk_trial *t = NULL;
    size_t m = 0;
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    *n = 0;
    int rc = rk_store_trials_list(db, study, RK_TRIAL_RUNNING, &t, &m, err);
    if (rc) return rc;
    int all_dead = m > 0;
    size_t hl = strlen(host);
    for (size_t i = 0; i < m && all_dead; i++) {
        const char *w = t[i].worker ? t[i].worker : "";
        if (strncmp(w, host, hl) || w[hl] != ':') all_dead = 0; /* another machine's */
        else if (alive((pid_t)atol(w + hl + 1))) all_dead = 0;
    }
    rk_trials_free(t, m);
    if (all_dead) rc = rk_store_reset_stale(db, study, 1e-9, n, err); /* any heartbeat age */
    return rc;
}
