/* rethink trial: runs one cell (arm, augmentation, labelled fraction, seed) end to end —
 * data, backbone, the teacher's pseudo-labels, training, evaluation on val — from its resolved
 * config, with content-addressed artifacts in the study's artifacts folder:
 *   data:      the dataset folder is built from the recipe if missing (study.build_data);
 *   backbone:  backbone-<hash>.ckpt, the pre-trained classifier, keyed by the pre-training
 *              config, the source and the seed; trained here if missing;
 *   trial:     trial-<hash>.ckpt, every finished detector (a self-training cell's teacher is
 *              the supervised trial of the same cell, rk_arms[arm].teacher: a trial of its
 *              own, which must have finished first — the sweep's plan sees to it, sweep.h);
 *   pseudo:    pseudo-<teacher hash>.json, the teacher's pseudo-labels in COCO format.
 * Val is used only for the final evaluation (and optional monitoring every study.eval_every
 * epochs, which never selects anything): no model selection on val. With train.dev > 0 that
 * many train scenes are held out of every labelled fraction (the same ones for every trial)
 * and the kept checkpoint is the one with the best dev AP, evaluated every train.dev_every
 * steps: training "until held-out AP stops improving" within the step budget. */
#ifndef RETHINK_TRIAL_H
#define RETHINK_TRIAL_H

#include "rethink/config.h"

/* Why a detector's training stopped: it ran its whole step budget (a fixed cosine budget,
 * or a plateau schedule's maximum, the safety net), or the plateau rule stopped it. */
typedef enum { RK_STOP_BUDGET = 0, RK_STOP_PLATEAU = 1 } rk_stop_reason;
const char *rk_stop_name(rk_stop_reason r); /* "budget", "plateau" */

typedef struct rk_trial_result {
    char hash[65];         /* the trial's identity */
    char *config_json;     /* canonical JSON (owned) */
    rk_coco_stats stats;   /* on val (owned) */
    rk_coco_cat *cats;     /* val's categories, in stats.cat_ap order (owned) */
    double wall_s, cpu_s;  /* this trial's own training + evaluation */
    long images;           /* images through forward+backward */
    double flops;          /* estimated: 3 x 2 x MACs x images */
    double pseudo_cpu_s;   /* self-training: pseudo-labelling CPU seconds, else NAN */
    double backbone_cpu_s; /* pre-training CPU seconds if the backbone was trained here */
    double source_acc;     /* pre-trained backbone's held-out source accuracy, else NAN */
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
    void *ctx;
} rk_trial_hooks;

/* Runs the trial of a resolved config. */
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
    int step_images;     /* images per optimizer step: batch (+ pseudo batch for students) */
    int bf16;            /* train.precision = bf16 */
    rk_refnet_cfg model; /* the detector (num_classes: the default until the data is read) */
} rk_trial_work;
int rk_trial_cost(const rk_config *c, rk_trial_work *w, rk_err *err);

/* The config of a self-training cell's teacher: the same cell with the arm's teacher arm
 * (rk_arms[arm].teacher). An arm without a teacher is an RK_EINVAL error. */
int rk_trial_teacher_config(const rk_config *c, rk_config *teacher, rk_err *err);

#endif
