/* Internals of running a trial (src/sweep/trial.c) shared with the stages that make its
 * artifacts (src/sweep/stages.c). Not installed. */
#ifndef RETHINK_TRIAL_INTERNAL_H
#define RETHINK_TRIAL_INTERNAL_H

#include "rethink/trial.h"

/* A progress line to the trial's hooks (h may be NULL). */
void rk_trial_note(const rk_trial_hooks *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The backbone of trial config c, of its arm's kind (rk_arms[arm].backbone: the stage
 * rk_backbone_stage names; its settings come from the stage's config alone), in
 * backbone-KEY.ckpt (supervised) or backbone-KIND-KEY.ckpt (strong, simclr). Found in study.artifacts, or, with make, made there first — under a
 * lock, so that workers needing one backbone train it once. *state: 1 found or made (a
 * filled, role backbone; a->made 1 if made here; *acc its held-out source accuracy, NAN
 * unknown, always for SimCLR, which has no classifier), -1 a file without its record (not made:
 * a's hash only), 0 not there. An arm without a backbone is RK_EINVAL. */
int rk_stage_backbone(const rk_config *c, int make, const rk_trial_hooks *h, rk_artifact_use *a,
                      double *acc, int *state, rk_err *err);

/* The pseudo-labels of trial config c (a student that trains on pseudo-labels;
 * RK_STAGE_PSEUDO). ps NULL: only looked up (a's *state as above). Else they are read into
 * *ps from study.artifacts, or made there first under a lock (pseudo-labelling every image
 * of src with the teacher's checkpoint): src, the source images (without labels), and cats,
 * the detector's categories (ncats, the train annotations'). *state 1, a filled (role
 * pseudo). A segmentation student (model.task = segment, in its teacher's identity) reads
 * and makes per-pixel labels into *sps instead (pseudo-KEY.labels.gz; ps unused); the
 * lookup-only call then passes sps NULL too. */
int rk_stage_pseudo(const rk_config *c, const rk_source *src, const rk_coco_cat *cats,
                    size_t ncats, const rk_trial_hooks *h, rk_pseudo_set *ps,
                    rk_seg_pseudo_set *sps, rk_artifact_use *a, int *state, rk_err *err);

/* Builds the dataset folder if it has no val annotations yet (and study.build_data allows),
 * and checks its card (trial.c). */
int rk_trial_ensure_data(const rk_trial_cfg *t, const rk_trial_hooks *h, rk_err *err);

/* rk_trial_run for a config with trainer.command set: the external trainer runs the trial
 * (src/sweep/trainer.c). */
int rk_trial_run_external(const rk_config *c, const rk_trial_hooks *h, rk_trial_result *res,
                          rk_err *err);

#endif
