/* rethink trial: runs one cell (arm, augmentation, labelled fraction, seed) end to end —
 * data, backbone, the teacher's pseudo-labels, training, evaluation on val — from its resolved
 * config, with content-addressed artifacts in the study's artifacts folder:
 *   data:      the dataset folder is built from the recipe if missing (study.build_data);
 *   backbone:  backbone-<key>.ckpt, the pre-trained classifier, keyed by the config of the
 *              pre-training stage (rk_stage_config: the source, the classifier, pre-training
 *              and the [train] keys it inherits, the seed); made here, under a lock, if
 *              missing;
 *   trial:     trial-<hash>.ckpt, every finished detector (a self-training cell's teacher is
 *              the supervised trial of the same cell, rk_arms[arm].teacher: a trial of its
 *              own, which must have finished first — the sweep's plan sees to it, sweep.h).
 *              A trial whose checkpoint is already there (with its record) is not trained
 *              again: it is loaded, evaluated on val, and its training facts come from the
 *              record (its hooks hear the recorded epochs);
 *   pseudo:    pseudo-<key>.json, the teacher's pseudo-labels in COCO format, keyed by the
 *              pseudo-labelling stage's config (the teacher's identity and
 *              selftrain.threshold); made here, under a lock, if missing, else read.
 * Every artifact has a record beside it and is never overwritten (see below); the result
 * lists what the trial made and used, for the store (rk_store_trial_artifacts_put).
 * Val is used only for the final evaluation (and optional monitoring every study.eval_every
 * epochs, which never selects anything): no model selection on val. With train.dev > 0 that
 * many train scenes are held out of every labelled fraction (the same ones for every trial)
 * and the kept checkpoint is the one with the best dev AP, evaluated every train.dev_every
 * steps: training "until held-out AP stops improving" within the step budget. */
#ifndef RETHINK_TRIAL_H
#define RETHINK_TRIAL_H

#include "rethink/config.h"
#include "rethink/store.h"

/* Why a detector's training stopped: it ran its whole step budget (a fixed cosine budget,
 * or a plateau schedule's maximum, the safety net), or the plateau rule stopped it. */
typedef enum { RK_STOP_BUDGET = 0, RK_STOP_PLATEAU = 1 } rk_stop_reason;
const char *rk_stop_name(rk_stop_reason r); /* "budget", "plateau" */

#define RK_TRIAL_ARTIFACTS 4 /* its checkpoint, backbone, teacher, pseudo-labels */

typedef struct rk_trial_result {
    char hash[65];         /* the trial's identity */
    int segment;           /* model.task = segment: stats.stats[RK_AP] is the val mIoU (the
                              other stats -1) and stats.cat_ap each category's IoU */
    char *config_json;     /* canonical JSON (owned) */
    rk_coco_stats stats;   /* on val (owned) */
    rk_coco_cat *cats;     /* val's categories, in stats.cat_ap order (owned) */
    double wall_s, cpu_s;  /* this trial's own training + evaluation (not pre-training or
                              pseudo-labelling, which are their artifacts' cost) */
    long images;           /* images through forward+backward */
    double flops;          /* estimated: 3 x 2 x MACs x images */
    double pseudo_cpu_s;   /* self-training: pseudo-labelling CPU seconds, else NAN */
    double backbone_cpu_s; /* pre-training CPU seconds if the backbone was trained here (not
                              part of cpu_s: the backbone artifact's), else 0 */
    double source_acc;     /* its backbone's held-out source accuracy (every arm descended
                              from the pre-trained backbone, from the artifact's record),
                              else NAN */
    size_t pseudo_images, pseudo_boxes; /* self-training */
    char teacher_hash[65]; /* self-training: the teacher trial */
    char data_hash[65];    /* the labelled subset's SHA-256 */
    char ckpt[1100];       /* where the trained detector was saved */
    int best_epoch;        /* with a dev split (train.dev): the epoch whose checkpoint was
                              kept (best dev AP); 0 without one */
    double dev_ap;         /* its dev AP, else NAN */
    long steps;            /* optimizer steps trained */
    long max_steps;        /* the budget: all of it for a fixed schedule, the maximum for a
                              plateau schedule */
    rk_stop_reason stop;   /* why training stopped */
    char precision[8];     /* the arithmetic the detector trained in: "f32" or "bf16" */
    char cpu[128];         /* the CPU model it trained on (rk_cpu_model, or the record's) */
    int reused;            /* its checkpoint existed with its record: not trained again; the
                              training facts (cost, steps, curves) are the record's */
    /* the artifacts it made (its checkpoint, a backbone or pseudo-labels it made first) and
     * used (role: backbone, teacher, pseudo) */
    rk_artifact_use art[RK_TRIAL_ARTIFACTS];
    size_t nart;
} rk_trial_result;

void rk_trial_result_free(rk_trial_result *r);

typedef struct rk_trial_hooks {
    /* per epoch of the detector training (metrics; val_ap, dev_ap < 0 when not evaluated) */
    void (*epoch)(void *ctx, const rk_epoch_stats *s, double val_ap, double dev_ap);
    /* progress lines ("pre-training backbone ...", "pseudo-labelling ...") */
    void (*note)(void *ctx, const char *msg);
    void (*step)(void *ctx, long step, long steps, double loss);
    /* pre-training the backbone (when this trial trains it): every few steps (epochs 0,
     * acc and img_per_s NAN), and at each epoch's end with its training accuracy */
    void (*pretrain)(void *ctx, long step, long steps, int epoch, int epochs, double acc,
                     double img_per_s);
    /* metrics an external trainer reported ({out}/metrics.json), n at a time */
    void (*metrics)(void *ctx, const rk_metric *m, size_t n);
    void *ctx;
} rk_trial_hooks;

/* Runs the trial of a resolved config: with the built-in engine, or with the program
 * trainer.command names when it is set (below). */
int rk_trial_run(const rk_config *c, const rk_trial_hooks *hooks, rk_trial_result *res,
                 rk_err *err);

/* Builds the trial's dataset folder from its recipe if it is missing (and study.build_data
 * allows); note (may be NULL) hears about it. Safe against concurrent builders: each builds
 * into its own temporary folder and renames it into place. */
int rk_trial_prepare_data(const rk_config *c, void (*note)(void *ctx, const char *msg),
                          void *ctx, rk_err *err);

/* What the trial of a resolved config will train: its images (labelled + pseudo, over all
 * steps) and the shape of a step, so that `rethink sweep --dry-run` can time such steps on
 * this machine (rk_refnet_bench) and estimate the study's duration. */
typedef struct rk_trial_work {
    double images;
    int step_images;     /* detector images per optimizer step: batch (+ pseudo batch for
                            students) */
    int joint_images;    /* joint arms: source images per step through the classifier (in
                            images too) */
    double joint_cost;   /* one of those relative to a detector image: the classifier's MACs
                            over the detector's (forward and backward scale alike) */
    int bf16;            /* train.precision = bf16 */
    int bf16_auto;       /* train.precision = auto (bf16 only where faster: decided where it
                            runs, rk_trial_precision_auto) */
    rk_refnet_cfg model; /* the detector (num_classes: the default until the data is read) */
} rk_trial_work;
/* An external trainer's trial (trainer.command) has no known cost: RK_EINVAL (the dry run
 * leaves it out of its estimate). */
int rk_trial_cost(const rk_config *c, rk_trial_work *w, rk_err *err);

/* The backbone a trial makes when it is missing — an arm with a backbone and no teacher
 * (pretrain, pretrain++, simclr; rk_arms[arm].backbone) — so that the dry run can cost its
 * pre-training: its kind and stage key (the artifact's name), whether study.artifacts has it
 * already (exists), and the work of making it: images through the network over all steps
 * (supervised: the labelled part of the source, data.source less pretrain.holdout, times
 * the epochs, strong.epochs_scale times more for the stronger one; SimCLR: 2 views of every
 * source image per epoch), images per step and the network's backbone (model). kind NONE
 * and the rest zero for an arm that makes none. */
typedef struct rk_backbone_work {
    rk_backbone kind;
    char key[65];
    int exists;
    double images;
    int step_images;
    rk_refnet_cfg model;
} rk_backbone_work;
int rk_trial_backbone_cost(const rk_config *c, rk_backbone_work *w, rk_err *err);

/* Training images per second of steps of shape (model, step_images) on backend b with
 * threads: the best of three short rk_refnet_bench runs (this VM's speed wanders by ±15 %
 * from one second to the next; the best run is the steadiest reading), by the wall clock.
 * *own (may be NULL): the same steps' rate on cores of their own — each run's better of its
 * wall-clock rate and its images over its CPU seconds per thread — which other work on the
 * machine does not slow (a dry run is often made beside a running part). NAN if the steps
 * cannot run here (why in *err). */
double rk_trial_step_rate(const rk_refnet_cfg *model, int step_images, rk_backend b,
                          int threads, double *own, rk_err *err);

/* train.precision = auto: whether steps of w's shape train in bf16 on this machine (*bf16).
 * f32 without bf16 kernels (rk_dnnl_has_bf16); else bf16 only when it trains more than 5 %
 * faster (rk_trial_step_rate of both). Decided once per CPU model, shape and thread count:
 * the first process that needs it times the steps under a lock and writes the decision to
 * dir/precision-KEY.json, which every later one reads (all workers of a sweep agree, and so
 * do later sweeps on this CPU model using the folder); why (may be NULL, 256 bytes) says
 * what decided it. */
int rk_trial_precision_auto(const rk_trial_work *w, int threads, const char *dir, int *bf16,
                            char *why, rk_err *err);

/* ---- artifacts: study.artifacts (docs/ARCHITECTURE.md §Artifacts) ----
 * A file named by the key of what makes it — backbone-KEY.ckpt and pseudo-KEY.json
 * (rk_stage_config), trial-HASH.ckpt (a trial's identity) — with its record beside it,
 * NAME.record.json: {"kind", "key", "sha256", "bytes", "cpu_s", "meta": {...}} and, for a
 * trial's checkpoint, "epochs" (what its training hooks heard). An artifact is made once and
 * never overwritten: its maker writes a temporary file and links it into place only if the
 * name is free; whoever finds it checks the record's key and kind and the file's SHA-256
 * against the record before using it. */

/* Places the finished file tmp at path without ever replacing a file there (link(2)), and
 * its record (extra: more members of the record as JSON text "\"name\": value, ...", or
 * NULL). Fills a (kind, hash, path, bytes, cpu_s, meta; role and made are the caller's).
 * A file already at path with the same content: tmp is dropped (and a missing record
 * written). A different one: RK_EINVAL naming both files and hashes; tmp is kept. */
int rk_artifact_place(const char *tmp, const char *path, const char *kind, const char *key,
                      double cpu_s, const char *meta, const char *extra, rk_artifact_use *a,
                      rk_err *err);
/* Looks for the artifact at path: *state 0 when there is no file; 1 when it is there with its
 * record, checked (a filled; *record, if not NULL, gets the record's text, malloc'd); -1 when
 * the file has no record (an older rethink's, or its maker stopped between the two: a->hash
 * is the file's). A record naming another key or kind, or a file whose SHA-256 differs from
 * its record's, is RK_EFORMAT naming both. */
int rk_artifact_find(const char *path, const char *kind, const char *key, rk_artifact_use *a,
                     int *state, char **record, rk_err *err);

/* The config of a self-training cell's teacher: the same cell with the arm's teacher arm
 * (rk_arms[arm].teacher). An arm without a teacher is an RK_EINVAL error. */
int rk_trial_teacher_config(const rk_config *c, rk_config *teacher, rk_err *err);

/* ---- an external trainer: trainer.command (src/sweep/trainer.c; README "Use your own
 * trainer" is the contract) ----
 * Such a trial runs in study.artifacts/trial-HASH16/ ({out}): its config as JSON in
 * {out}/config.json, the command run there (stdout.txt, stderr.txt), {out}/detections.json
 * scored on val as `rethink eval` scores it, {out}/metrics.json recorded as metrics. A
 * non-zero exit, a signal, trainer.timeout, or missing or malformed detections fail the
 * trial (RK_EINVAL, RK_EFORMAT) with the reason and the end of its stderr. */

/* Whether c's trials run an external trainer (trainer.command is set). */
int rk_trainer_set(const rk_config *c);
/* Splits command cmd into a NULL-terminated argv as written: words separated by blanks,
 * '...' and "..." quote (no escapes, no expansion: no shell); {config}, {out} and {dir} are
 * replaced by the strings given, anywhere in a word. Free with rk_trainer_argv_free. No word
 * or an unterminated quote is RK_EINVAL naming the command. */
int rk_trainer_argv(const char *cmd, const char *config, const char *out, const char *dir,
                    char ***argv, rk_err *err);
void rk_trainer_argv_free(char **argv);
/* Kills the running trainer's process group, if any (async-signal-safe: for a signal
 * handler). rk_trial_run installs its own for SIGTERM, SIGINT and SIGHUP while a trainer
 * runs; this is for callers with other ways to die. */
void rk_trainer_kill(void);

#endif
