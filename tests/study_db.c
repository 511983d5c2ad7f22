/* Purpose-built results databases (study_db.h): trials through the store API, with chosen
 * stats, metrics, compute and teacher links. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rethink/arms.h"
#include "study_db.h"

static double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

/* s as the body of a JSON string (quotes, backslashes and control characters escaped), so
 * that names chosen to be hostile (the injection tests) still make a valid config. */
static void json_text(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    for (; *s && n + 7 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') out[n++] = '\\', out[n++] = (char)ch;
        else if (ch < 0x20) n += (size_t)snprintf(out + n, 7, "\\u%04x", ch);
        else out[n++] = (char)ch;
    }
    out[n] = 0;
}

int sdb_add(rk_store *s, const char *study, const sdb_trial *t, int64_t *id_out)
{
    char cfg[1400], extra[500] = "", arm_j[200], aug_j[200], study_j[200];
    if (t->extra) {
        const char *eq = strchr(t->extra, '=');
        char k0[100], k[200], v[200];
        snprintf(k0, sizeof k0, "%.*s", eq ? (int)(eq - t->extra) : 0, t->extra);
        if (eq) {
            json_text(k, sizeof k, k0);
            json_text(v, sizeof v, eq + 1);
            snprintf(extra, sizeof extra, ",\"%s\":\"%s\"", k, v);
        }
    }
    /* flat dotted keys, values as strings: the shape of a resolved config; a student carries
     * the keys of its pseudo-labels, as a resolved config does (its control does not) */
    rk_arm arm = rk_arm_parse(t->arm);
    int self = arm != RK_ARM_NONE && rk_arms[arm].teacher != RK_ARM_NONE;
    int pseudo = self && rk_arms[arm].pseudo;
    const char *norm = pseudo && !(t->extra && !strncmp(t->extra, "selftrain.normalize=", 20))
                           ? ",\"selftrain.normalize\":\"1\"" : "";
    const char *sched = t->schedule ? ",\"train.schedule\":\"plateau\"" : "";
    const char *task = t->task && !strcmp(t->task, "segment") ? ",\"model.task\":\"segment\"" : "";
    json_text(arm_j, sizeof arm_j, t->arm);
    json_text(aug_j, sizeof aug_j, t->aug);
    json_text(study_j, sizeof study_j, study);
    snprintf(cfg, sizeof cfg,
             "{\"study.name\":\"%s\",\"train.epochs\":\"%d\",\"trial.arm\":\"%s\","
             "\"trial.aug\":\"%s\",\"trial.fraction\":\"%g\",\"trial.seed\":\"%lld\"%s%s%s%s}",
             study_j, t->epochs, arm_j, aug_j, t->fraction, (long long)t->seed, extra, norm, sched,
             task);
    rk_trial_spec sp = {.study = study, .config_json = cfg, .arm = t->arm, .aug = t->aug,
                        .fraction = t->fraction, .seed = t->seed, .max_attempts = 1};
    rk_err err = {0};
    int64_t id = 0;
    int rc = rk_store_trial_register(s, &sp, &id, NULL, NULL, &err);
    rk_trial tr;
    memset(&tr, 0, sizeof tr);
    int got = 0;
    rk_acquire_opts o = {.study = study, .worker = "study_db", .trial = id};
    if (!rc) rc = rk_store_trial_acquire(s, &o, &tr, &got, &err);
    if (!rc && !got) rc = rk_errf(&err, RK_EINVAL, "trial %lld not runnable", (long long)id);
    for (int e = 1; e <= t->epochs && !rc; e++) {
        double wobble = 0.02 * (double)(t->seed % 5);
        rk_metric m[3] = {
            {e, e, RK_METRIC_LOSS, 0.5 + wobble + 2.0 * exp(-0.3 * e)},
            {e, e, RK_METRIC_VAL_AP, t->ap * (1 - exp(-0.5 * e))},
            {e, e, RK_METRIC_LOSS_PSEUDO, pseudo ? 0.3 + wobble + exp(-0.25 * e) : 0},
        };
        rc = rk_store_metrics_add(s, id, tr.attempts, m, 3, &err);
        if (!rc && t->dev_ap && isfinite(t->dev_ap[e - 1])) {
            rk_metric d = {e, e, RK_METRIC_DEV_AP, t->dev_ap[e - 1]};
            rc = rk_store_metrics_add(s, id, tr.attempts, &d, 1, &err);
        }
    }
    if (!rc && t->dev_ap && !t->fail_error) {
        /* the kept checkpoint, as run_record writes it: strictly better replaces */
        int best = 0;
        for (int e = 1; e <= t->epochs; e++)
            if (isfinite(t->dev_ap[e - 1]) && (!best || t->dev_ap[e - 1] > t->dev_ap[best - 1]))
                best = e;
        if (best) {
            rk_metric m[2] = {{best, best, RK_METRIC_SELECT_EPOCH, best},
                              {best, best, RK_METRIC_SELECT_DEV_AP, t->dev_ap[best - 1]}};
            rc = rk_store_metrics_add(s, id, tr.attempts, m, 2, &err);
        }
    }
    if (!rc && t->fail_error) {
        rc = rk_store_trial_fail(s, id, tr.attempts, t->fail_code ? t->fail_code : RK_EINVAL,
                                 t->fail_error, 0, &err);
    } else if (!rc) {
        double a = t->ap;
        double st[RK_COCO_NSTATS] = {a, clamp01(1.6 * a), clamp01(1.05 * a), clamp01(0.6 * a),
                                      clamp01(1.1 * a), clamp01(1.3 * a), clamp01(0.9 * a),
                                      clamp01(1.3 * a), clamp01(1.4 * a), clamp01(0.8 * a),
                                      clamp01(1.4 * a), clamp01(1.6 * a)};
        double cpu = t->cpu_s > 0 ? t->cpu_s : 1;
        rk_trial_outcome out = {.stats = st, .wall_s = cpu, .cpu_s = cpu, .images = 1000,
                                .flops = NAN, .teacher_cpu_s = NAN,
                                .pseudo_cpu_s = pseudo ? 0.1 * cpu : NAN,
                                .stop_reason = t->stop_reason, .steps = t->steps,
                                .max_steps = t->max_steps, .precision = "f32",
                                .cpu = t->cpu ? t->cpu : "Test CPU"};
        rc = rk_store_trial_finish(s, id, tr.attempts, &out, &err);
    }
    rk_trial_clear(&tr);
    if (rc) fprintf(stderr, "study_db: %s\n", err.msg);
    if (id_out) *id_out = id;
    return rc;
}

int sdb_depend(rk_store *s, int64_t student, int64_t teacher)
{
    rk_err err = {0};
    int rc = rk_store_trial_depend(s, student, teacher, &err);
    if (rc) fprintf(stderr, "study_db: %s\n", err.msg);
    return rc;
}

/* ---- the paper's study ---- */

static const char *const AUGS[4] = {"S1", "S2", "S3", "S4"};
static const double FRACS[3] = {0.2, 0.5, 1.0};
/* Table 2, Rand Init at 100 %; Table 3 scales it for 20 % and 50 % */
static const double SCRATCH100[4] = {39.2, 41.5, 43.9, 44.3};
static const double FRAC_SCALE[3] = {30.7 / 44.3, 39.6 / 44.3, 1.0};
/* Fig. 3: ImageNet Init − Rand Init by (aug, fraction) */
static const double PRETRAIN_GAIN[4][3] = {
    {7.21, 2.08, 0.30}, {4.94, 0.75, -0.80}, {3.20, 0.06, -0.77}, {2.56, -0.71, -0.98}};
/* Tables 2 and 3: self-training's gain over its teacher */
static const double SELF_GAIN[4][3] = {
    {3.4, 1.8, 1.7}, {3.4, 1.8, 1.5}, {3.4, 1.8, 1.5}, {3.4, 1.8, 1.3}};
static const double PRE_SELF_GAIN[3] = {2.7, 1.7, 1.3};
/* Table 9: the best α falls with stronger augmentation */
static const double BEST_ALPHA[4] = {3.0, 2.0, 0.5, 0.5};
/* Table 7 (S4, 20 %, Rand Init 30.7): the joint arms' gains over the cell's scratch, AP
 * points. joint 33.6 (+2.9); pretrain+joint+selftrain 35.1 (+4.4, "all three"). The paper
 * gives no number for pretrain+joint nor joint+selftrain: here +3.5 and +4.0, between their
 * parts and all three. */
static const char *const JOINT_ARMS[4] = {"joint", "pretrain+joint", "joint+selftrain",
                                          "pretrain+joint+selftrain"};
static const double JOINT_GAIN[4] = {2.9, 3.5, 4.0, 4.4};
/* dev AP per epoch: rising with time constant DEV_TAU[aug] epochs towards the trial's AP,
 * less 0.4 % per epoch of overfitting, evaluated every other epoch. Over 10 epochs S1 and S2
 * peak early (plateaued) and S3, S4 still gain in the last quarter (still improving). */
static const double DEV_TAU[4] = {0.8, 1.2, 2.3, 2.8};

#define PAPER_EPOCHS 10

/* Under the plateau schedule (sdb_paper_opts.plateau) a trial stops after this many steps
 * of its maximum, more with stronger augmentation; scratch S4 20 % seed 1 hits the maximum. */
#define PAPER_MAX_STEPS 40000

/* sdb_add, with the trial's dev curve when dev is set and its stop facts when plateau is. */
static const char *paper_task; /* sdb_paper_opts.task of the study being written */

static int add_paper(rk_store *s, const char *study, sdb_trial *t, int dev, int plateau,
                     size_t ai, int64_t *id)
{
    t->task = paper_task;
    double curve[PAPER_EPOCHS];
    if (dev)
        for (int e = 1; e <= PAPER_EPOCHS; e++)
            curve[e - 1] = e % 2 ? NAN : t->ap * (1 - exp(-e / DEV_TAU[ai])) * (1 - 0.004 * e);
    t->dev_ap = dev ? curve : NULL;
    if (plateau) {
        int limited = ai == 3 && t->fraction < 0.3 && t->seed == 1 && !strcmp(t->arm, "scratch");
        t->schedule = "plateau";
        t->stop_reason = limited ? "budget" : "plateau";
        t->max_steps = PAPER_MAX_STEPS;
        t->steps = limited ? PAPER_MAX_STEPS : 12000 + 5000 * (int64_t)ai + 100 * t->seed;
    }
    int rc = sdb_add(s, study, t, id);
    t->dev_ap = NULL;
    return rc;
}

/* Tables 3 and 4, as gains: the stronger backbone over the plain one, self-training over
 * it, by fraction; SimCLR over supervised init at 100 % (equal), self-training over it. */
static const double STRONG_GAIN[3] = {35.9 - 33.3, 39.9 - 38.8, 43.8 - 43.3};
static const double STRONG_SELF_GAIN[3] = {1.3, 1.6, 0.8};
#define SIMCLR_GAIN 0.0
#define SIMCLR_SELF_GAIN 1.3

/* The other backbones' arms at S4 (sdb_paper_opts.kinds; sign -1 reverses every gain) of
 * seed sd and fraction fi, from the cell's scratch base as sdb_paper draws it. */
static int add_kinds(rk_store *s, const char *study, int sd, size_t fi, double noise, int sign,
                     int dev, int plateau)
{
    const size_t ai = 3; /* S4 */
    rk_rng g;
    rk_rng_init(&g, (uint64_t)sd, 0x73746479ULL, ai * 3 + fi);
    double base = SCRATCH100[ai] * FRAC_SCALE[fi] + noise * rk_rng_normal(&g);
    double pre = base + PRETRAIN_GAIN[ai][fi];
    rk_rng_init(&g, (uint64_t)sd, 0x6b696e64ULL /* "kind" */, fi); /* its own draws */
    double cost = 60 * 1.3;
    int64_t tid, id;
    sdb_trial t = {.arm = "pretrain++", .aug = "S4", .fraction = FRACS[fi], .seed = sd,
                   .cpu_s = cost, .epochs = PAPER_EPOCHS};
    double strong = pre + sign * STRONG_GAIN[fi], st = strong + sign * STRONG_SELF_GAIN[fi];
    t.ap = (strong + noise * 0.5 * rk_rng_normal(&g)) / 100;
    if (add_paper(s, study, &t, dev, plateau, ai, &tid)) return 1;
    t.arm = "pretrain+++selftrain", t.ap = (st + noise * 0.5 * rk_rng_normal(&g)) / 100;
    if (add_paper(s, study, &t, dev, plateau, ai, &id) || sdb_depend(s, id, tid)) return 1;
    t.arm = "pretrain+++continue";
    t.ap = (strong + sign * 0.25 * STRONG_SELF_GAIN[fi] + noise * 0.5 * rk_rng_normal(&g)) / 100;
    if (add_paper(s, study, &t, dev, plateau, ai, &id) || sdb_depend(s, id, tid)) return 1;
    if (FRACS[fi] < 1) return 0;
    /* SimCLR: Table 4's 100 % cell; reversed, 2 AP points better than supervised init */
    double ssl = pre + (sign > 0 ? SIMCLR_GAIN : 2.0);
    t.arm = "simclr", t.ap = (ssl + noise * 0.5 * rk_rng_normal(&g)) / 100;
    if (add_paper(s, study, &t, dev, plateau, ai, &tid)) return 1;
    t.arm = "simclr+selftrain";
    t.ap = (ssl + sign * SIMCLR_SELF_GAIN + noise * 0.5 * rk_rng_normal(&g)) / 100;
    if (add_paper(s, study, &t, dev, plateau, ai, &id) || sdb_depend(s, id, tid)) return 1;
    t.arm = "simclr+continue";
    t.ap = (ssl + sign * 0.25 * SIMCLR_SELF_GAIN + noise * 0.5 * rk_rng_normal(&g)) / 100;
    return add_paper(s, study, &t, dev, plateau, ai, &id) || sdb_depend(s, id, tid);
}

/* The joint arms of one seed of a cell (the students linked to their joint teachers), drawn
 * from g after the cell's other values; with controls, the joint students' controls, 1.0 AP
 * point above their students as the other controls are. */
static int add_joint(rk_store *s, const char *study, const char *aug, int sd, double base,
                     double cost, double noise, int controls, rk_rng *g)
{
    int64_t id[4];
    for (int k = 0; k < 4; k++) {
        sdb_trial t = {.arm = JOINT_ARMS[k], .aug = aug, .fraction = 0.2, .seed = sd,
                       .task = paper_task,
                       .ap = (base + JOINT_GAIN[k] + noise * 0.5 * rk_rng_normal(g)) / 100,
                       .cpu_s = (k < 2 ? 1.3 : 2.6) * cost, .epochs = PAPER_EPOCHS};
        if (sdb_add(s, study, &t, &id[k]) || (k >= 2 && sdb_depend(s, id[k], id[k - 2])))
            return 1;
    }
    for (int k = 0; controls && k < 2; k++) {
        int64_t cid;
        sdb_trial t = {.arm = k ? "pretrain+joint+continue" : "joint+continue", .aug = aug,
                       .task = paper_task,
                       .fraction = 0.2, .seed = sd, .cpu_s = 2.4 * cost, .epochs = PAPER_EPOCHS,
                       .ap = (base + JOINT_GAIN[2 + k] + 1.0 + noise * 0.5 * rk_rng_normal(g)) / 100};
        if (sdb_add(s, study, &t, &cid) || sdb_depend(s, cid, id[k])) return 1;
    }
    return 0;
}

int sdb_paper(rk_store *s, const sdb_paper_opts *o)
{
    const char *study = o && o->study ? o->study : "paper";
    int seeds = o && o->seeds > 0 ? o->seeds : 3;
    double noise = o && o->noise >= 0 ? o->noise : 0.3;
    int dev = o && o->dev, plateau = o && o->plateau, controls = o && o->controls;
    paper_task = o ? o->task : NULL;
    double alphas[8];
    size_t nal = 0;
    for (const char *p = o ? o->alphas : NULL; p && *p && nal < 8;) {
        char *end;
        alphas[nal++] = strtod(p, &end);
        p = *end == ',' ? end + 1 : NULL;
    }
    for (size_t ai = 0; ai < 4; ai++)
        for (size_t fi = 0; fi < 3; fi++)
            for (int sd = 1; sd <= seeds; sd++) {
                rk_rng g;
                rk_rng_init(&g, (uint64_t)sd, 0x73746479ULL, ai * 3 + fi);
                double shared = noise * rk_rng_normal(&g); /* the seed's subset and init */
                double base = SCRATCH100[ai] * FRAC_SCALE[fi] + shared;
                double pre = base + PRETRAIN_GAIN[ai][fi];
                double cost = 60 * (1 + 0.1 * (double)ai);
                char aug[8];
                snprintf(aug, sizeof aug, "%s", AUGS[ai]);
                int64_t tid, pid;
                sdb_trial t = {.arm = "scratch", .aug = aug, .fraction = FRACS[fi], .seed = sd,
                               .ap = (base + noise * 0.5 * rk_rng_normal(&g)) / 100, .cpu_s = cost,
                               .epochs = PAPER_EPOCHS};
                if (add_paper(s, study, &t, dev, plateau, ai, &tid)) return 1;
                t.arm = "pretrain", t.ap = (pre + noise * 0.5 * rk_rng_normal(&g)) / 100;
                t.cpu_s = 0.9 * cost;
                if (add_paper(s, study, &t, dev, plateau, ai, &pid)) return 1;
                for (size_t k = 0; k < (nal ? nal : 1); k++) {
                    char extra[64];
                    double fit = 1;
                    if (nal) {
                        snprintf(extra, sizeof extra, "selftrain.alpha=%g", alphas[k]);
                        double l = log2(alphas[k] / BEST_ALPHA[ai]);
                        fit = 1 - 0.12 * l * l;
                    }
                    int64_t sid;
                    double ap = base + fit * SELF_GAIN[ai][fi] + noise * 0.5 * rk_rng_normal(&g);
                    sdb_trial st = {.arm = "selftrain", .aug = aug, .fraction = FRACS[fi],
                                    .seed = sd, .ap = ap / 100, .extra = nal ? extra : NULL,
                                    .cpu_s = 2.2 * cost, .epochs = PAPER_EPOCHS};
                    if (add_paper(s, study, &st, dev, plateau, ai, &sid) || sdb_depend(s, sid, tid)) return 1;
                    st.arm = "pretrain+selftrain";
                    st.ap = (pre + fit * PRE_SELF_GAIN[fi] + noise * 0.5 * rk_rng_normal(&g)) / 100;
                    st.cpu_s = 2.0 * cost;
                    if (add_paper(s, study, &st, dev, plateau, ai, &sid) || sdb_depend(s, sid, pid)) return 1;
                }
                if (o && o->joint && ai == 3 && fi == 0 &&
                    add_joint(s, study, aug, sd, base, cost, noise, controls, &g))
                    return 1;
                if (!controls) continue;
                /* the controls: the student's start and training without pseudo-labels, which
                 * here cost the student 1.0 AP point (drawn after every other value of the
                 * seed, so the study without controls keeps its numbers) */
                int64_t cid;
                sdb_trial ct = {.arm = "continue", .aug = aug, .fraction = FRACS[fi], .seed = sd,
                                .cpu_s = 2.0 * cost, .epochs = PAPER_EPOCHS};
                ct.ap = (base + SELF_GAIN[ai][fi] + 1.0 + noise * 0.5 * rk_rng_normal(&g)) / 100;
                if (add_paper(s, study, &ct, dev, plateau, ai, &cid) || sdb_depend(s, cid, tid)) return 1;
                ct.arm = "pretrain+continue";
                ct.ap = (pre + PRE_SELF_GAIN[fi] + 1.0 + noise * 0.5 * rk_rng_normal(&g)) / 100;
                ct.cpu_s = 1.8 * cost;
                if (add_paper(s, study, &ct, dev, plateau, ai, &cid) || sdb_depend(s, cid, pid)) return 1;
            }
    int kinds = o ? o->kinds : 0;
    for (size_t fi = 0; kinds && fi < 3; fi++)
        for (int sd = 1; sd <= seeds; sd++)
            if (add_kinds(s, study, sd, fi, noise, kinds > 0 ? 1 : -1, dev, plateau)) return 1;
    return 0;
}
