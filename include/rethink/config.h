/* rethink config: experiment files (INI) and the resolved configuration of one trial.
 *
 * An experiment file is INI; every key is addressed as "section.key" (policies as
 * "augment.NAME.key"). The [grid] section lists the axes: each of its keys names a config
 * key (arm, aug, fraction, seed are the trial's own; any other "section.key" may be an axis
 * too) and lists its values separated by commas — or by ';' for keys whose single value
 * may contain commas (e.g. augment.S4.scale, data.objects, paths). An integer key also takes
 * ranges: range(1, 5) (Python's: 1 to 4) or 1:4 (inclusive), with an optional step
 * (range(0, 10, 2), 0:8:2). Command-line overrides "-s key=value" replace a base value, or
 * an axis when the key is already one or the value lists several (or is a range). A key
 * given twice in one file, [grid] included, is an error.
 *
 * A section [when:aug=S4] (conditions joined by ',', each on a config key) holds full keys
 * (train.steps = 6000) applied only to the trials whose values match every condition
 * (numbers compared as numbers), after the axes, in file order: per-slice settings such as
 * the paper's longer schedules for stronger augmentation. A key set on the command line is
 * not changed by any [when:] section (the command line wins), and a grid axis may not be set
 * in one.
 *
 * Paths (study.data, study.artifacts, study.policies) set in a file, or left at their
 * defaults, are relative to the experiment file; set with -s, to the current directory.
 * The value as written is what enters a trial's identity, so moving a study's folder keeps
 * its trials.
 *
 * A trial's resolved config is the base entries with one value per axis, validated against
 * the schema (unknown keys, bad types and out-of-range values, control characters, and a
 * policy that no section defines name file, line and key — before any trial is run), and
 * serialised as canonical JSON (keys sorted, values as strings); its SHA-256 is the trial's
 * identity. Keys that do not change results (threads, paths of outputs) are left out of the
 * hash. */
#ifndef RETHINK_CONFIG_H
#define RETHINK_CONFIG_H

#include <stddef.h>

#include "rethink/arms.h"
#include "rethink/core.h"

typedef struct rk_cfg_entry {
    char *key, *value;
    char *file; /* where it was set: a path, or "command line" */
    int line;
} rk_cfg_entry;

typedef struct rk_config {
    rk_cfg_entry *e; /* sorted by key, unique */
    size_t n;
} rk_config;

typedef struct rk_axis {
    char *key;
    char **values;
    size_t n;
    char *file;
    int line;
} rk_axis;

typedef struct rk_experiment {
    char *path;
    rk_config base;
    rk_axis *axes; /* in the order first declared; the last varies fastest */
    size_t naxes;
    /* [when:key=value,...] sections: entries applied to the trials whose resolved values
     * match every condition, in file order, after the axes (e.g. a longer schedule for S4) */
    rk_cfg_entry *when;       /* key, value, file, line of each conditional entry */
    char **when_cond;         /* its section's condition list, "aug=S4,fraction=0.2" */
    size_t nwhen;
    char *policies;           /* the policies file (study.policies as resolved) */
    int policies_read;        /* 0: it is the default and does not exist */
} rk_experiment;

/* The most trials a grid may have (the product of its axes' sizes; larger is an error
 * saying to split it into several sweeps of the study). */
#define RK_GRID_MAX 10000

/* Reads an experiment file (and the policies file it names, study.policies, default
 * "augment.ini" beside it; one named explicitly must exist), applies overrides
 * ("key=value", applied in order) and validates every key and the grid's size. */
int rk_experiment_load(rk_experiment *x, const char *path, const char *const *overrides,
                       size_t noverrides, rk_err *err);
void rk_experiment_free(rk_experiment *x);
/* Number of trials: the product of the axes' sizes (SIZE_MAX if it overflows). */
size_t rk_experiment_size(const rk_experiment *x);
/* The resolved config of trial i (0 <= i < size), validated, its policies defined. */
int rk_experiment_trial(const rk_experiment *x, size_t i, rk_config *out, rk_err *err);
/* Policy NAME as the experiment defines it (its file over its policies file); a missing
 * one is an error listing those there are and naming a missing policies file. */
int rk_experiment_policy(const rk_experiment *x, const char *name, rk_policy *p, rk_err *err);

void rk_config_free(rk_config *c);
int rk_config_copy(rk_config *dst, const rk_config *src, rk_err *err);
/* Sets key (replacing) with its origin. */
int rk_config_put(rk_config *c, const char *key, const char *value, const char *file, int line,
                  rk_err *err);
const char *rk_config_get(const rk_config *c, const char *key);
const rk_cfg_entry *rk_config_entry(const rk_config *c, const char *key);
/* Checks every key against the schema and every policy section with rk_policy_parse. */
int rk_config_validate(const rk_config *c, rk_err *err);
/* Canonical JSON of the entries that define results, and its SHA-256 (hash may be NULL).
 * *json is malloc'd. */
int rk_config_json(const rk_config *c, char **json, char hash[65], rk_err *err);
/* Canonical JSON of every entry, whatever the arm (only the schema's never-hashed keys, such
 * as study.name and study.threads, are left out), and its SHA-256: the identity of a trial
 * recorded from elsewhere (import.h), whose keys need not be in the schema. Native trials
 * use rk_config_json. */
int rk_config_json_all(const rk_config *c, char **json, char hash[65], rk_err *err);
/* The config a stored trial's JSON holds (a flat object of strings, as rk_config_json
 * writes it); origin names it in errors and becomes every entry's file. */
int rk_config_from_json(rk_config *c, const char *json, const char *origin, rk_err *err);
/* Keys the canonical JSON leaves out when they hold their default (keys added to the schema
 * after results were recorded, so old identities stay valid): the i-th such key and its
 * default, NULL past the last. Readers of stored configs fill them in, so that an old trial
 * and a new one at the default compare equal. */
const char *rk_config_omitted_key(size_t i, const char **def);
/* The i-th key of the schema and its default, NULL past the last (every key an experiment
 * may set outside the [augment.NAME] policies). */
const char *rk_config_schema_key(size_t i, const char **def);

/* ---- the configs of a trial's stages: what names its artifacts ----
 * A stage that makes an artifact of its own (docs/ARCHITECTURE.md §Artifacts) reads a config
 * of its own, built from the trial's by rk_stage_config: exactly the keys the stage reads,
 * with the trial's values (the schema default where the trial has none), plus the settings
 * that change no result (study.threads, study.artifacts). Its canonical JSON — every entry but those, sorted
 * by key — hashes to the stage's key, which names the artifact. The stage's code reads its
 * typed settings only from this config (rk_trial_cfg_from on it: every key it lacks reads
 * as its default, and a policy it does not name is not parsed), so no key can change what
 * a stage makes without changing its key.
 *   RK_STAGE_BACKBONE  pre-training: the source images and labels (study.data, the data.*
 *                      keys that make source/), the classifier (model.width, depth, data.size),
 *                      pretrain.* with its policy augment.<pretrain.aug>.*, the [train] keys
 *                      pre-training inherits (momentum, warmup_init, decay_all, clip) and
 *                      trial.seed;
 *   RK_STAGE_PSEUDO    pseudo-labels: the teacher — every key of the teacher trial's identity
 *                      (rk_arms[arm].teacher of the same cell: its data, model, policy (pad),
 *                      train.topk, and its own backbone's keys) — and selftrain.threshold.
 *                      rk_config_json of this config is the teacher's, so the stage finds the
 *                      teacher's checkpoint from it. selftrain.source too, when it is not
 *                      `source` (left out at its default, as pseudo-labels made before the
 *                      key existed were keyed). Only for arms that train on
 *                      pseudo-labels (rk_arms[arm].pseudo); else RK_EINVAL.
 *   RK_STAGE_BACKBONE_STRONG  the stronger supervised backbone (rk_backbone STRONG): the
 *                      keys of RK_STAGE_BACKBONE and strong.epochs_scale;
 *   RK_STAGE_BACKBONE_SIMCLR  the contrastive backbone (rk_backbone SIMCLR): the source
 *                      images (study.data and the data.* keys that make source/, not the ones
 *                      that make only labels.csv), the backbone (model.width, depth,
 *                      data.size), simclr.* with its policy augment.<simclr.aug>.*, the
 *                      [train] keys pre-training inherits and trial.seed. */
typedef enum rk_stage {
    RK_STAGE_BACKBONE = 1,
    RK_STAGE_PSEUDO = 2,
    RK_STAGE_BACKBONE_STRONG = 3,
    RK_STAGE_BACKBONE_SIMCLR = 4
} rk_stage;
/* The stage that makes a backbone of kind b (0 for RK_BACKBONE_NONE). */
rk_stage rk_backbone_stage(rk_backbone b);
int rk_stage_config(const rk_config *c, rk_stage stage, rk_config *out, char key[65],
                    rk_err *err);

/* ---- a trial, typed ---- */
/* selftrain.source: the images the teacher pseudo-labels — the source images; the target's
 * train images outside the labelled fraction and the dev split; the shifted set
 * (rk_fashion_shifted_build, in the data folder's shifted/). */
enum { RK_UNLABELLED_SOURCE = 0, RK_UNLABELLED_TARGET = 1, RK_UNLABELLED_SHIFTED = 2 };

typedef struct rk_trial_cfg {
    rk_arm arm;
    char aug[64];
    double fraction;
    unsigned long seed;
    char study[128];
    char data_dir[1024];   /* fashion-scenes layout: train/, val/, source/, annotations/ (a path
                              resolved as config.h says: relative to the experiment file) */
    int build_data;        /* build the default dataset there if it is missing */
    rk_scene_params data;  /* its recipe */
    char artifacts[1024];  /* checkpoints, pseudo-labels, backbones (resolved the same way) */
    int threads;
    rk_detector_cfg det;
    int segment;           /* model.task = segment: det.model is the segmenter's (rk_segnet) */
    rk_schedule train;
    rk_policy policy;      /* the cell's augmentation */
    rk_schedule pre;       /* pre-training */
    rk_policy pre_policy;
    double pre_holdout;    /* fraction of source images held out to measure accuracy */
    double strong_epochs_scale; /* the stronger backbone: pre.epochs times this */
    rk_schedule ssl;       /* SimCLR pre-training (epochs, batch, lr, warm-up, decay) */
    rk_policy ssl_policy;  /* each view's augmentation */
    double ssl_temperature; /* NT-Xent's tau */
    int ssl_proj_dim;      /* the projection head's output size */
    rk_selftrain_cfg st;
    double st_threshold;
    int st_init_random;    /* student from random init instead of the teacher */
    double st_steps_scale; /* the student's budget: this times train.steps (or epochs) */
    int bf16_auto;         /* train.precision = auto: train.bf16 is decided where it runs */
    int st_keep_empty;     /* pseudo batches draw images without pseudo boxes too */
    int st_source;         /* what the teacher pseudo-labels: RK_UNLABELLED_* */
    double joint_weight;   /* joint arms: L = L_det + joint_weight * L_cls */
    int joint_batch;       /* joint arms: labelled source images per step */
    int eval_every;        /* evaluate on val every this many epochs (0: only at the end) */
    size_t dev;            /* train images held out as the dev split (0: none) */
    long dev_every;        /* evaluate on dev every this many steps (at the next epoch end) */
} rk_trial_cfg;

/* Reads the typed trial from a resolved config (validated or not: errors name the key). A
 * key c lacks reads as its schema default, and a policy whose name key (trial.aug,
 * pretrain.aug, simclr.aug) c lacks is not parsed: so it reads a stage's config too (rk_stage_config). */
int rk_trial_cfg_from(rk_trial_cfg *t, const rk_config *c, rk_err *err);

#endif
