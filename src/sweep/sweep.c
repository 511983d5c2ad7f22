/* The sweep's plan and schedule (include/rethink/sweep.h): the grid and the teachers it
 * implies, stage and shard selection, registering teachers first with their dependencies
 * (or only looking them up, for a dry run), taking the next runnable trial of the plan,
 * retrying its failures, finishing one, reclaiming trials of dead workers, and each trial's
 * expected cost. Invariants: a trial's stage is one more than its teacher's; registered
 * here, a teacher has a lower id than its students and an edge to each selected one; a
 * sweep takes, fails and retries only trials of its own plan (a study is the union of its
 * sweeps). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

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

/* Selected trials that are pending or running: what a sweep runs. */
static size_t runnable(const rk_sweep_plan *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++)
        n += p->t[i].selected &&
             (p->t[i].status == RK_TRIAL_PENDING || p->t[i].status == RK_TRIAL_RUNNING);
    return n;
}

int rk_sweep_refresh(rk_store *db, rk_sweep_plan *p, size_t *to_run, rk_err *err)
{
    for (size_t i = 0; i < p->n; i++) {
        rk_sweep_trial *s = &p->t[i];
        if (!s->needed) continue;
        rk_trial t;
        int found = 0, rc = rk_store_trial_get(db, s->id, &t, &found, err);
        if (rc) return rc;
        if (found) s->status = t.status;
        rk_trial_clear(&t);
    }
    *to_run = runnable(p);
    return RK_OK;
}

int rk_sweep_lookup(rk_store *db, rk_sweep_plan *p, size_t *to_run, rk_err *err)
{
    for (size_t i = 0; i < p->n; i++) {
        rk_sweep_trial *s = &p->t[i];
        s->id = 0, s->status = RK_TRIAL_PENDING;
        if (!s->needed || !db) continue;
        rk_trial t;
        int found = 0, rc = rk_store_trial_find(db, s->hash, &t, &found, err);
        if (rc) return rc;
        if (found) s->id = t.id, s->status = t.status;
        rk_trial_clear(&t);
    }
    *to_run = runnable(p);
    return RK_OK;
}

void rk_sweep_counts(const rk_sweep_plan *p, rk_trial_counts *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < p->n; i++) {
        if (!p->t[i].selected) continue;
        switch (p->t[i].status) {
        case RK_TRIAL_PENDING: c->pending++; break;
        case RK_TRIAL_RUNNING: c->running++; break;
        case RK_TRIAL_FINISHED: c->finished++; break;
        case RK_TRIAL_FAILED: c->failed++; break;
        }
    }
}

int rk_sweep_retry_failed(rk_store *db, rk_sweep_plan *p, size_t *n, rk_err *err)
{
    int64_t *ids = malloc((p->n + 1) * sizeof *ids);
    size_t k = 0, to_run;
    if (!ids) return rk_errf(err, RK_ENOMEM, "sweep: out of memory");
    for (size_t i = 0; i < p->n; i++)
        if (p->t[i].needed && p->t[i].id > 0 && p->t[i].status == RK_TRIAL_FAILED)
            ids[k++] = p->t[i].id;
    int rc = k ? rk_store_trials_retry(db, ids, k, n, err) : RK_OK;
    free(ids);
    if (!k) *n = 0;
    return rc ? rc : rk_sweep_refresh(db, p, &to_run, err);
}

int rk_sweep_missing_teacher(const rk_sweep_plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->t[i].needed && !p->t[i].selected && p->t[i].status != RK_TRIAL_FINISHED)
            return (int)i;
    return -1;
}

/* The plan's index of the selected trial with store id `id`, -1 if none. */
static int selected_by_id(const rk_sweep_plan *p, int64_t id)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->t[i].selected && p->t[i].id == id) return (int)i;
    return -1;
}

int rk_sweep_take(rk_store *db, const rk_sweep_plan *p, const rk_acquire_opts *o, rk_trial *t,
                  int *got, int *k, int *left, rk_err *err)
{
    rk_acquire_opts a = *o;
    *got = 0, *k = -1, *left = 0;
    memset(t, 0, sizeof *t);
    /* the study's pending and running trials, in id order (teachers first): those of this
     * plan are candidates, the others belong to other sweeps of the study */
    int64_t *pend = NULL, *run = NULL;
    size_t np = 0, nr = 0;
    int rc = rk_store_trial_ids(db, p->study, RK_TRIAL_PENDING, &pend, &np, err);
    if (!rc) rc = rk_store_trial_ids(db, p->study, RK_TRIAL_RUNNING, &run, &nr, err);
    for (size_t i = 0; i < nr && !rc && !*left; i++) *left = selected_by_id(p, run[i]) >= 0;
    for (size_t i = 0; i < np && !rc && !*got; i++) {
        int j = selected_by_id(p, pend[i]);
        if (j < 0) continue;
        *left = 1;
        /* a teacher of the plan still pending or running: the store would not hand the
         * student out now (skipping it saves a write transaction) */
        int teacher = p->t[j].teacher, waits = 0;
        for (size_t q = 0; teacher >= 0 && q < np + nr && !waits; q++)
            waits = (q < np ? pend[q] : run[q - np]) == p->t[teacher].id;
        if (waits) continue;
        a.trial = p->t[j].id;
        if (!(rc = rk_store_trial_acquire(db, &a, t, got, err)) && *got) *k = j;
    }
    free(pend);
    free(run);
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
    if (res->segment) m[n++] = (rk_metric){0, 0, RK_METRIC_VAL_MIOU, res->stats.stats[RK_AP]};
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
                            .cpu = res->cpu[0] ? res->cpu : rk_cpu_model()};
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
    if (!rc) rc = rk_store_trial_artifacts_put(db, t->id, t->attempts, res->art, res->nart, err);
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

/* ---- expected cost ---- */

/* "plateau" when the stored config trained with the plateau schedule ("cosine" is the
 * default, which the canonical JSON leaves out). */
static int stored_plateau(const char *json)
{
    cJSON *root = cJSON_Parse(json ? json : "");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "train.schedule");
    int plateau = cJSON_IsString(v) && !strcmp(v->valuestring, "plateau");
    cJSON_Delete(root);
    return plateau;
}

int rk_sweep_expect(rk_store *db, rk_store *history, rk_sweep_plan *p, rk_err *err)
{
    rk_trial *done = NULL, *more = NULL;
    size_t nd = 0, nm = 0;
    int rc = db ? rk_store_trials_list(db, p->study, RK_TRIAL_FINISHED, &done, &nd, err) : RK_OK;
    if (!rc && history)
        rc = rk_store_trials_list(history, p->study, RK_TRIAL_FINISHED, &more, &nm, err);
    if (!rc && nm) { /* one list: the history's trials after db's */
        rk_trial *all = realloc(done, (nd + nm) * sizeof *all);
        if (!all) {
            rc = rk_errf(err, RK_ENOMEM, "sweep: out of memory");
        } else {
            memcpy(all + nd, more, nm * sizeof *all);
            done = all, nd += nm;
            free(more), more = NULL, nm = 0;
        }
    }
    rk_trials_free(more, nm);
    int *plateau = rc ? NULL : calloc(nd + 1, sizeof *plateau);
    if (!rc && !plateau) rc = rk_errf(err, RK_ENOMEM, "sweep: out of memory");
    for (size_t d = 0; d < nd && !rc; d++) plateau[d] = stored_plateau(done[d].config_json);
    for (size_t i = 0; i < p->n && !rc; i++) {
        rk_sweep_trial *s = &p->t[i];
        rk_trial_work w;
        rk_err ignored = {0};
        s->steps = s->step_images = 0, s->max_steps = 0, s->bound = 0, s->history = 0;
        s->borrowed = 0;
        if (rk_trial_cost(&s->cfg, &w, &ignored) || w.step_images <= 0) continue;
        s->step_images = w.step_images + w.joint_images; /* every image a step trains */
        s->max_steps = (long)llround(w.images / s->step_images);
        s->steps = (double)s->max_steps;
        if (strcmp(rk_config_get(&s->cfg, "train.schedule"), "plateau")) continue;
        /* a plateau schedule stops when dev AP does: its budget is only a maximum */
        const char *arm = rk_config_get(&s->cfg, "trial.arm"), *aug = rk_config_get(&s->cfg, "trial.aug");
        double frac = strtod(rk_config_get(&s->cfg, "trial.fraction"), NULL), sum = 0;
        /* its own cell's finished trials; else, borrowed, the same arm and fraction's at
         * other policies */
        for (int pass = 0; pass < 2 && !s->history; pass++)
            for (size_t d = 0; d < nd; d++)
                if (plateau[d] && done[d].steps > 0 && done[d].arm &&
                    !strcmp(done[d].arm, arm) && rk_feq(done[d].fraction, frac) &&
                    (pass || (done[d].aug && !strcmp(done[d].aug, aug))))
                    sum += (double)done[d].steps, s->history++, s->borrowed = pass;
        if (s->history) s->steps = fmin(sum / s->history, (double)s->max_steps);
        else s->bound = 1;
    }
    free(plateau);
    rk_trials_free(done, nd);
    return rc;
}
