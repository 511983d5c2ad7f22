/* rethink sweep: the plan of a sweep — which trials an experiment file defines, which must
 * run before which — and its schedule through the store. Every way of running trials uses
 * it: `rethink sweep`'s forked workers, its MPI ranks, Slurm shards and `rethink train`.
 *
 * The plan is the grid's trials in grid order, deduplicated by config hash (an axis that does
 * not change an arm's identity gives one trial), then the teachers its self-training trials
 * imply (rk_arms[arm].teacher) that the grid does not hold itself. Every process of a sweep
 * builds the same plan from the same experiment file and overrides, so processes name a
 * trial by its config hash.
 *
 * Teacher before student is decided here and nowhere else: registering puts the teachers in
 * the store first (lower ids: acquire takes the lowest runnable first) and links each student
 * to its teacher (rk_store_trial_depend), so the store never hands out a student whose
 * teacher has not finished. A trial never trains its teacher itself (trial.h).
 *
 * A study is the union of its sweeps: a sweep takes, retries and fails only the trials of
 * its own plan (its selection, and the teachers that selection needs), and leaves the
 * study's other trials — another grid's, pending or failed — as they are.
 *
 * Stages and shards (docs/EXPERIMENTS.md §Clusters): stage 1 is the trials without a teacher
 * (baselines and teachers), stage 2 the self-training students; a shard I/N of a stage is its
 * trials at positions I mod N in plan order. Membership depends only on the plan, never on
 * the database, so a re-run shard takes the same trials and resumes them. */
#ifndef RETHINK_SWEEP_H
#define RETHINK_SWEEP_H

#include "rethink/config.h"
#include "rethink/store.h"
#include "rethink/trial.h"

typedef struct rk_sweep_trial {
    rk_config cfg;          /* resolved */
    char hash[65];          /* its identity */
    int teacher;            /* index of its teacher in the plan, -1: none */
    int implied;            /* a teacher the grid does not hold itself */
    int stage;              /* 1: no teacher; else its teacher's + 1 (students: 2) */
    int selected;           /* this run's (rk_sweep_select) */
    int needed;             /* selected, or the teacher of a selected trial: registered */
    int64_t id;             /* in the store (rk_sweep_register); 0 before, or not in it */
    rk_trial_status status; /* as last read from the store (pending when not in it) */
    /* its cost (rk_sweep_expect): optimizer steps expected of a max_steps budget, at
     * step_images images per step (the joint task's source images included; 0 when its
     * config cannot say). A plateau schedule stops
     * when dev AP does: its steps are the mean over the study's finished trials of the same
     * (arm, aug, fraction) and schedule (history of them); without any, the mean over the
     * finished trials of the same arm and fraction at other policies (history of them,
     * borrowed = 1: stronger augmentation trains longer, so an estimate, not a bound); else
     * its budget, an upper bound (bound = 1). */
    double steps, step_images;
    long max_steps;
    int bound, borrowed;
    size_t history;
} rk_sweep_trial;

typedef struct rk_sweep_plan {
    rk_sweep_trial *t;      /* the grid's ngrid trials, then the implied teachers */
    size_t n, ngrid;
    char *study;            /* study.name */
    int stage, shard, nshards; /* the selection (stage 0: every trial) */
    size_t nselected;
} rk_sweep_plan;

/* The plan of an experiment (loaded with its overrides), every trial selected. */
int rk_sweep_plan_load(rk_sweep_plan *p, const rk_experiment *x, rk_err *err);
void rk_sweep_plan_free(rk_sweep_plan *p);
/* Selects stage (0: all, 1 or 2) and, within it, shard I of N. An out-of-range stage or
 * shard is an RK_EINVAL error naming it. */
int rk_sweep_select(rk_sweep_plan *p, int stage, int shard, int nshards, rk_err *err);
/* Index of the trial with config hash h, -1 if the plan has none. */
int rk_sweep_find(const rk_sweep_plan *p, const char *h);

/* Registers the needed trials (idempotent by hash), teachers first, links each selected
 * student to its teacher, and fills in ids and statuses. */
int rk_sweep_register(rk_store *db, rk_sweep_plan *p, rk_err *err);
/* Reads the needed trials' statuses again; *to_run: selected trials pending or running
 * (failed ones run again only once retried: rk_sweep_retry_failed). */
int rk_sweep_refresh(rk_store *db, rk_sweep_plan *p, size_t *to_run, rk_err *err);
/* What a dry run does instead of registering: finds the needed trials by config hash in db,
 * which may be read-only or NULL (no database yet), and writes nothing; a trial not there
 * gets id 0 and reads pending. *to_run as rk_sweep_refresh's. */
int rk_sweep_lookup(rk_store *db, rk_sweep_plan *p, size_t *to_run, rk_err *err);
/* The selected trials by status (as last read). */
void rk_sweep_counts(const rk_sweep_plan *p, rk_trial_counts *c);
/* The plan's failed trials (selected or needed teachers) go back to pending with a fresh
 * attempt budget; the study's other failed trials stay failed. *n: how many. Refreshes. */
int rk_sweep_retry_failed(rk_store *db, rk_sweep_plan *p, size_t *n, rk_err *err);
/* A needed trial outside the selection that is not finished (a stage-2 run's teacher that
 * must come from stage 1), -1 if none. After rk_sweep_refresh. */
int rk_sweep_missing_teacher(const rk_sweep_plan *p);

/* Takes the next runnable trial for the worker of o (its study, worker, host, git_rev):
 * the selected trial of lowest id the store hands out (dependencies, leases, attempts are
 * the store's). Other trials of the study — another sweep's grid, other -s values — are
 * never taken, so they are neither run nor charged a failed attempt here. *got: t holds it,
 * *k its index in the plan. *left: whether any selected trial is still pending or
 * running. */
int rk_sweep_take(rk_store *db, const rk_sweep_plan *p, const rk_acquire_opts *o, rk_trial *t,
                  int *got, int *k, int *left, rk_err *err);

/* What finishing a trial writes, for a caller that forwards it (an MPI rank): the metrics
 * added under the lease just before the outcome (the checkpoint kept on dev, the backbone's
 * source accuracy, a segmentation trial's val mIoU), up to RK_SWEEP_FINAL_METRICS, returning
 * how many; the artifacts
 * (res->art[0..res->nart)), recorded next; and the outcome, which points into res and into
 * *cats (per-category AP, allocated here: free it, also on error). */
#define RK_SWEEP_FINAL_METRICS 4
size_t rk_sweep_final_metrics(const rk_trial_result *res, rk_metric m[RK_SWEEP_FINAL_METRICS]);
int rk_sweep_outcome(const rk_trial_result *res, rk_trial_outcome *o, rk_category_ap **cats,
                     rk_err *err);
/* Finishes t (held under its lease t->attempts) with res: final metrics and the artifacts it
 * made and used (rk_store_trial_artifacts_put), then the results, per-category AP and
 * compute atomically (rk_store_trial_finish). */
int rk_sweep_finish(rk_store *db, const rk_trial *t, const rk_trial_result *res, rk_err *err);

/* Running trials of the study whose worker ("host:pid...") ran on this host and is gone
 * (no such process, or a zombie) go back to pending — all of them at once, and only when
 * every running trial of the study is such (another machine's are left to the heartbeat).
 * *n: how many. A sweep calls it at start. */
int rk_sweep_reclaim_dead(rk_store *db, const char *study, size_t *n, rk_err *err);

/* Each trial's expected cost (rk_sweep_trial.steps ...), from its config and, for a
 * plateau schedule, the study's finished trials in db and in history (either may be NULL:
 * none; history is another database of the study, e.g. the finished parts a new part's
 * empty database knows nothing of). A sweep calls it again as trials finish, so its
 * estimate of what is left follows what they took. */
int rk_sweep_expect(rk_store *db, rk_store *history, rk_sweep_plan *p, rk_err *err);

/* ---- the dry run's time estimate, measured on this machine ---- */
typedef struct rk_sweep_shape {
    rk_refnet_cfg model;
    int step_images, bf16, threads;
    int bf16_auto;   /* train.precision = auto: bf16 is set when it timed faster here */
    double rate;     /* training images per second of one worker, NAN if it cannot run here */
    double rate_f32; /* bf16 shapes: the same steps in f32, for the comparison */
} rk_sweep_shape;

typedef struct rk_sweep_estimate {
    rk_sweep_shape *shape;   /* the distinct step shapes of the trials to run (owned) */
    size_t nshapes;          /* 0: nothing to run, nothing timed */
    double images;           /* training images of the trials to run */
    size_t nbound;           /* of them, trials whose steps are an upper bound (a plateau
                                schedule without a finished trial of its cell) */
    double images_bound;     /* their images */
    double train_s;          /* their training seconds on one worker */
    double wall_s, wall_f32_s; /* on the workers (in f32); NAN if a shape cannot run here */
    double par;              /* workers running at once: jobs, or fewer when cores run out */
    long cores;
    int slower;              /* a bf16 shape that f32 trains clearly faster, -1 */
    size_t nbackbones;       /* backbones the trials to run will make (missing from
                                study.artifacts; rk_trial_backbone_cost), each counted once */
    double backbone_images;  /* their pre-training images */
    double backbone_s;       /* their seconds on one worker (in train_s and the walls) */
    char why[512];           /* the first shape that cannot run here: why */
} rk_sweep_estimate;

/* Times each distinct step shape of the selected trials to run (pending or running;
 * rk_trial_cost) with rk_refnet_bench — the best of three short runs, a few seconds in all —
 * and estimates the wall time on jobs workers: the larger of the training spread over the
 * workers and the longest teacher-then-student chain. The backbones they will make (each
 * once, in the first trial that needs it) are costed too: their pre-training images at the
 * f32 rate of the detector's steps of at most 64 images of their step's size — an upper
 * bound, as a classifier's or SimCLR network's step is the detector's without its neck and
 * head. A trial's images are its expected
 * steps times its images per step when rk_sweep_expect ran, else its budget's. note (may be
 * NULL) hears before the timing starts. After rk_sweep_refresh or rk_sweep_lookup. */
int rk_sweep_estimate_time(const rk_sweep_plan *p, int jobs,
                           void (*note)(void *ctx, const char *msg), void *ctx,
                           rk_sweep_estimate *e, rk_err *err);
void rk_sweep_estimate_free(rk_sweep_estimate *e);

#endif
