/* rethink arms: training and inference of the detector, the classifier and the SimCLR
 * network — the steps every training arm is made of (the arm table below).
 *
 * Data flow of one detector training step: B images of the labelled subset (an epoch is a
 * seeded permutation of it) → rk_augment with the cell's policy, keyed by (seed, epoch,
 * image index) → CenterNet targets → forward, loss, backward, SGD. Self-training steps add
 * B_p pseudo-labelled source images to the same batch and weight the two losses as the
 * paper's Appendix B. Batch assembly runs in parallel over images and depends only on its
 * keys, so a run is bit-reproducible for a fixed thread count. */
#ifndef RETHINK_ARMS_H
#define RETHINK_ARMS_H

#include <stddef.h>
#include <stdint.h>

#include "rethink/augment.h"
#include "rethink/core.h"
#include "rethink/data.h"
#include "rethink/eval.h"
#include "rethink/model.h"

/* ---- the training arms: one row each in rk_arms (adding an arm is adding a row) ----
 * Names are used everywhere: experiment files, the store, reports, plots and claims. */
typedef enum rk_arm {
    RK_ARM_NONE = -1,
    RK_ARM_SCRATCH,
    RK_ARM_PRETRAIN,
    RK_ARM_SELFTRAIN,
    RK_ARM_PRETRAIN_SELFTRAIN,
    RK_ARM_CONTINUE,
    RK_ARM_PRETRAIN_CONTINUE,
    RK_ARM_STRONG,
    RK_ARM_STRONG_SELFTRAIN,
    RK_ARM_STRONG_CONTINUE,
    RK_ARM_SIMCLR,
    RK_ARM_SIMCLR_SELFTRAIN,
    RK_ARM_SIMCLR_CONTINUE,
    RK_ARM_JOINT,
    RK_ARM_PRETRAIN_JOINT,
    RK_ARM_JOINT_SELFTRAIN,
    RK_ARM_PRETRAIN_JOINT_SELFTRAIN,
    RK_ARM_JOINT_CONTINUE,
    RK_ARM_PRETRAIN_JOINT_CONTINUE,
    RK_NARMS
} rk_arm;

/* The kind of backbone an arm's detector starts from (loaded by the arm itself, or by its
 * teacher), each an artifact of its own stage (include/rethink/config.h, rk_stage):
 *   NONE        random init;
 *   SUPERVISED  classification pre-training on the labelled source (the paper's ImageNet
 *               init; the pretrain.* keys);
 *   STRONG      the same pre-training, strong.epochs_scale times longer (the paper's
 *               ImageNet++: a stronger checkpoint of the same network on the same source;
 *               the pretrain.* and strong.* keys);
 *   SIMCLR      contrastive pre-training on the source images without their labels (SimCLR:
 *               two augmented views, a projection head, NT-Xent; the simclr.* keys). */
typedef enum rk_backbone {
    RK_BACKBONE_NONE = 0,
    RK_BACKBONE_SUPERVISED,
    RK_BACKBONE_STRONG,
    RK_BACKBONE_SIMCLR,
    RK_NBACKBONES
} rk_backbone;
/* "none", "supervised", "strong", "simclr"; "?" out of range. */
const char *rk_backbone_name(rk_backbone b);

typedef struct rk_arm_info {
    const char *name;
    /* Self-training: the arm of its teacher, the supervised trial of the same (aug, fraction,
     * seed) cell, which must finish first (its pseudo-labels and initial weights); NONE: the
     * arm trains on labelled data only. */
    rk_arm teacher;
    /* The backbone its detector descends from (loaded by the arm itself, or by its
     * teacher; a student's is its teacher's): that backbone's keys are part of its
     * identity. */
    rk_backbone backbone;
    /* With a teacher: 1, the student trains on the teacher's pseudo-labels (half of each
     * batch); 0, it is the student's control — the same start (the teacher's weights),
     * schedule, stopping rule and images per step, all of them labelled — so that the
     * student's gain over it is the pseudo-labels' own. */
    int pseudo;
    /* The arm whose trials control for this one's extra training (NONE: none): the report
     * shows this arm's delta against it as well as against scratch. */
    rk_arm control;
    /* Joint training (the paper's Table 7): 1, the detector trains together with the source
     * classification task — a classification head on the shared backbone, a batch of
     * labelled source images per step, L = L_det + joint.weight * L_cls (rk_joint); the
     * joint.* keys are part of its identity. A joint student's teacher is a joint arm. */
    int joint;
    const char *color; /* in plots, fixed across them (Okabe-Ito) */
    int point;         /* gnuplot point type in plots */
} rk_arm_info;

/* Indexed by rk_arm, in display order (DESIGN.md's). */
extern const rk_arm_info rk_arms[RK_NARMS];
/* The arm called name; RK_ARM_NONE if none is. */
rk_arm rk_arm_parse(const char *name);
/* Its name; "?" out of range. */
const char *rk_arm_name(rk_arm a);

typedef struct rk_schedule {
    int epochs;           /* passes over the labelled images ... */
    long steps;           /* ... or, when > 0, this many optimizer steps whatever the data
                             size (a fixed budget per cell, as training to convergence does:
                             small fractions get more epochs) */
    int batch;            /* labelled images per step */
    double lr;            /* peak learning rate */
    double warmup_init;   /* warm-up starts at lr * warmup_init ... */
    double warmup_frac;   /* ... and lasts this fraction of all steps */
    double momentum;
    double weight_decay;
    int decay_all;        /* 1: decay BN and biases too; 0: conv/linear weights only */
    double clip;          /* gradient-norm clip, 0 = off */
    int bf16;             /* 1: mixed precision (bf16 activations, f32 master weights) */
    long warmup_steps;    /* > 0: the warm-up's length in steps (else warmup_frac of the budget) */
    /* The plateau rule (plateau = 1), the paper's "until held-out AP stops improving" made a
     * rule, as a warm-up / stable / decay schedule: after warm-up the lr stays at its peak;
     * at each dev evaluation, once there are 2 x patience of them, the mean dev AP of the
     * last `patience` is compared with the mean of the `patience` before them, and a gain of
     * min_delta or less is the plateau: the lr then anneals (cosine, to zero) over `anneal`
     * times the steps trained so far, and training stops. Window means, not single
     * evaluations, keep the noise of dev AP at a high lr from ending a phase that is still
     * rising; the decay phase gives what a cosine schedule's tail gives. The budget (steps or
     * epochs) is a maximum, a safety net: a stable phase that reaches budget / (1 + anneal)
     * anneals over the rest, and the trial is recorded as stopped by its budget.
     * plateau = 0: warm-up, then cosine to zero over the budget (a fixed budget). */
    int plateau;
    int patience;         /* evaluations per window (1..RK_PLATEAU_MAX_PATIENCE) */
    double min_delta;     /* the stable phase goes on while its window mean gains more than
                             this (AP as a fraction) */
    double anneal;        /* the decay phase's length as a fraction of the stable phase's */
} rk_schedule;

rk_schedule rk_schedule_default(void);
/* The backend a schedule trains on: oneDNN, in bf16 when s->bf16. Inference is f32. */
rk_backend rk_schedule_backend(const rk_schedule *s);
/* Multiplies the budget (steps, or epochs when steps is 0) by k, rounding to the nearest and
 * keeping at least one. */
void rk_schedule_scale(rk_schedule *s, double k);

typedef struct rk_detector_cfg {
    rk_refnet_cfg model;
    double w_size, w_off; /* CenterNet loss weights of the size and offset L1 terms */
    int topk;             /* detections kept per image at inference */
} rk_detector_cfg;

rk_detector_cfg rk_detector_default(void);

/* Self-training (the paper's §3.3 and Appendix B). */
typedef struct rk_selftrain_cfg {
    int pseudo_batch;   /* pseudo-labelled images per step (paper: as many as labelled) */
    double alpha;       /* weight of the pseudo loss */
    int normalize;      /* 1: L = (L_h + alpha (Lbar_h / Lbar_p) L_p) / (1 + alpha);
                           0: L = L_h + alpha L_p */
    double ema_decay;   /* decay of the moving averages Lbar */
} rk_selftrain_cfg;

/* Pseudo-labelled images for self-training: the source images with the teacher's boxes. */
typedef struct rk_pseudo {
    const rk_image *images; /* n source images (not owned) */
    size_t n;
    const rk_box *boxes;    /* all boxes, cls = 0-based class, grouped by image */
    const size_t *start;    /* boxes of image i: boxes[start[i] .. start[i+1]) */
    const size_t *use;      /* the images batches draw from: use[0..nuse) (NULL: all n) */
    size_t nuse;
} rk_pseudo;

/* Joint training (the paper's Table 7): the source classification task trained with the
 * detector (src/arms/joint.c). Each step adds `batch` labelled source images, augmented with
 * the detector's policy (no boxes) and keyed by (seed, epoch, image index) on a stream of
 * their own, run through cls — the classifier of the detector's backbone, whose shared
 * tensors the trainer keeps equal to the detector's — and the loss minimised is
 * L = L_det + weight * L_cls (L_det: the detector's loss, the self-training mix for a
 * student; L_cls: softmax cross-entropy, the batch mean). */
typedef struct rk_joint {
    rk_net *cls;          /* rk_refnet_classifier of the detector's backbone (not owned);
                             num_classes = the source's classes */
    const rk_source *src; /* the source images (not owned) */
    const int *labels;    /* class of source image i, 0..K-1 (rk_source_classes) */
    const size_t *idx;    /* the labelled images batches draw from: idx[0..n) */
    size_t n;
    int batch;            /* source images per step */
    double weight;
} rk_joint;

/* The tensors a detector and its classifier share: the classifier's trainable tensors that
 * the detector has by name (the backbone), as offsets into each net's parameter arena. */
typedef struct rk_joint_shared {
    size_t n;
    size_t *det, *cls, *numel;
} rk_joint_shared;
int rk_joint_shared_init(rk_joint_shared *m, rk_net *det, rk_net *cls, rk_err *err);
void rk_joint_shared_free(rk_joint_shared *m);
/* Copies the shared tensors' values from the detector into the classifier. */
void rk_joint_shared_sync(const rk_joint_shared *m, rk_net *det, rk_net *cls);
/* The classification half of a joint step, after the detector's backward: forward of cls
 * (planned for J images) on x (J, 3, S, S) in training mode, softmax cross-entropy with
 * labels[0..J) over K classes, backward of weight times it (cls's gradients are zeroed
 * first), and the shared tensors' gradients ADDED to the detector's. dlogits: J * K floats
 * of scratch. Returns the unweighted loss, NAN if a pass failed. */
float rk_joint_backward(rk_net *det, rk_net *cls, const rk_joint_shared *m, const float *x,
                        const int *labels, int J, int K, double weight, float *dlogits);
/* Gradient-norm clipping of the joint model: one norm over the detector's gradients and the
 * classifier's own (not shared) ones, both scaled as rk_clip_grad_norm does. Returns the
 * norm before. */
float rk_joint_clip(rk_net *det, rk_net *cls, const rk_joint_shared *m, float max_norm);
/* cls[i] = the class index of source image i (its label's rank among the source's distinct
 * labels, ascending), -1 unlabelled; *nclasses their count. RK_EINVAL without labels. */
int rk_source_classes(const rk_source *src, int *cls, int *nclasses, rk_err *err);

/* Per-epoch report. */
typedef struct rk_epoch_stats {
    int epoch, epochs;
    double loss, focal, size, offset; /* labelled-batch means over the epoch */
    double pseudo_loss;               /* self-training: pseudo-batch mean, else 0 */
    double joint_loss;                /* joint training: source-batch mean, else 0 */
    double lr;                        /* at the end of the epoch */
    double img_per_s;                 /* images (labelled + pseudo + joint) per second */
    double seconds;                   /* since training started */
    long step;                        /* optimizer steps done */
    long images;                      /* images processed so far */
} rk_epoch_stats;

/* The state of the plateau rule (rk_schedule.plateau): whoever evaluates on dev feeds it
 * (rk_plateau_observe) from the epoch hook; the trainer takes every step's lr from it
 * (rk_plateau_lr), which also starts the decay when the budget forces it, and stops when
 * the decay is over. */
#define RK_PLATEAU_MAX_PATIENCE 64
typedef struct rk_plateau {
    double dev[2 * RK_PLATEAU_MAX_PATIENCE]; /* the last 2 x patience dev APs, oldest first */
    int n;          /* how many of them (at most 2 x patience) */
    double gain;    /* the last comparison's window gain (NAN before the first) */
    long anneal_at; /* the step the decay began (-1: still stable) */
    long anneal_len;
    int capped;     /* 1: the budget began the decay, not a plateau */
} rk_plateau;

void rk_plateau_init(rk_plateau *p);
/* One dev evaluation after `step` steps: counts it against the rule; at the plateau the
 * decay begins. Returns 1 if it began it. */
int rk_plateau_observe(rk_plateau *p, const rk_schedule *s, double dev_ap, long step);
/* The lr of step `step` (0-based) of a plateau schedule with `warm` warm-up steps and a
 * budget of `total`; begins the decay if the stable phase reached the budget's share. */
float rk_plateau_lr(rk_plateau *p, const rk_schedule *s, long step, long warm, long total);
/* 1 once `steps` steps are done and the decay is over. */
int rk_plateau_done(const rk_plateau *p, long steps);

typedef struct rk_train_hooks {
    /* Called after every epoch; a non-zero return stops training (with RK_OK). */
    int (*epoch_end)(void *ctx, const rk_epoch_stats *s);
    /* Called every few steps for progress displays (may be NULL). */
    void (*step)(void *ctx, long step, long steps, double loss);
    void *ctx;
    /* With a plateau schedule: the rule's state, fed by epoch_end (required then); the last
     * epoch_end comes when the decay is over, with s->epoch == s->epochs. */
    rk_plateau *plateau;
} rk_train_hooks;

/* Trains `net` (a detector of cfg->model, planned or not) on images idx[0..n) of d with
 * policy pol. pseudo and st may be NULL (supervised), joint too (no joint task; with one,
 * the classifier's shared tensors are set from the detector's before the first step). All
 * randomness from seed. */
int rk_detector_train(rk_net *net, const rk_detector_cfg *cfg, const rk_dataset *d,
                      const size_t *idx, size_t n, const rk_policy *pol,
                      const rk_pseudo *pseudo, const rk_selftrain_cfg *st,
                      const rk_joint *joint, const rk_schedule *s, uint64_t seed, int threads,
                      const rk_train_hooks *hooks, rk_err *err);

/* Runs the detector (eval mode) on n images, letterboxed into the model input as the
 * training pipeline's scale jitter does at scale 1 (pad bottom/right with pol->pad), and
 * returns up to topk detections per image with boxes in each original image's pixels.
 * ids[i]: the image id to write; cat_ids[c]: the category id of class c. *dets: malloc'd. */
int rk_detector_predict(rk_net *net, const rk_detector_cfg *cfg, const rk_image *images,
                        const int64_t *ids, size_t n, const int *cat_ids, const uint8_t pad[3],
                        int threads, rk_det **dets, size_t *ndets, rk_err *err);

/* ---- supervised pre-training (the paper's ImageNet pre-training analog) ---- */

/* Trains a classifier (rk_refnet_classifier) on source images idx[0..n) with class indices
 * cls[i] in 0..num_classes-1 (images with cls < 0 are skipped by the caller's idx), policy
 * pol (boxes: none), softmax cross-entropy. Epoch stats: loss, and `focal` holds the
 * training-batch accuracy. */
int rk_classifier_train(rk_net *net, const rk_refnet_cfg *model, const rk_source *src,
                        const size_t *idx, size_t n, const int *cls, const rk_policy *pol,
                        const rk_schedule *s, uint64_t seed, int threads,
                        const rk_train_hooks *hooks, rk_err *err);
/* Top-1 accuracy on idx[0..n) (un-augmented, letterboxed with pad). */
int rk_classifier_accuracy(rk_net *net, const rk_refnet_cfg *model, const rk_source *src,
                           const size_t *idx, size_t n, const int *cls, const uint8_t pad[3],
                           int threads, double *acc, rk_err *err);

/* ---- contrastive pre-training without labels (the paper's SimCLR analog, Table 4) ---- */

/* Trains a SimCLR network (rk_refnet_simclr with proj_dim) on source images idx[0..n) —
 * their labels are never read — with two views of each image per step by policy pol and
 * the NT-Xent loss at temperature tau (rk_nt_xent). The batch is s->batch images (2 x batch
 * views), at most n. Epoch stats: loss, and `focal` holds the fraction of views whose most
 * similar other view in the batch is their pair. */
int rk_simclr_train(rk_net *net, const rk_refnet_cfg *model, int proj_dim, const rk_source *src,
                    const size_t *idx, size_t n, const rk_policy *pol, const rk_schedule *s,
                    double tau, uint64_t seed, int threads, const rk_train_hooks *hooks,
                    rk_err *err);

/* ---- pseudo-labels (self-training) ---- */
typedef struct rk_pseudo_set {
    rk_pseudo view;      /* what rk_detector_train reads */
    rk_box *boxes;       /* owned; cls = 0-based class, original source pixels */
    size_t *start;       /* owned; n + 1 */
    size_t nboxes;       /* boxes kept */
    size_t nlabelled;    /* images with at least one box */
    size_t *per_class;   /* owned; boxes per class (num_classes) */
    size_t *labelled;    /* owned; the nlabelled images with at least one box, ascending */
    int nclasses;
    double threshold;
} rk_pseudo_set;

/* Runs the teacher on every source image (un-augmented: letterboxed as at evaluation) and
 * keeps detections with score >= threshold as hard boxes. */
int rk_pseudo_label(rk_net *teacher, const rk_detector_cfg *cfg, const rk_source *src,
                    double threshold, const uint8_t pad[3], int threads, rk_pseudo_set *out,
                    rk_err *err);
void rk_pseudo_set_free(rk_pseudo_set *p);
/* Writes the pseudo-labels as a COCO instances file (images = source files, categories =
 * cats, which must have nclasses entries), so any COCO tool can read them. */
int rk_pseudo_save(const rk_pseudo_set *p, const rk_source *src, const rk_coco_cat *cats,
                   const char *path, rk_err *err);
/* Reads pseudo-labels written by rk_pseudo_save back for the same source images (image i
 * is id i + 1 with src->files[i]) and the detector's categories cats[0..nclasses): the same
 * set rk_pseudo_label made (boxes are written with 17 digits, so they read back exactly). */
int rk_pseudo_load(rk_pseudo_set *p, const char *path, const rk_source *src,
                   const rk_coco_cat *cats, int nclasses, double threshold, rk_err *err);

/* ---- semantic segmentation (src/arms/segmenter.c): the segment task's training steps ----
 * The model is rk_segnet's (K = model->num_classes + 1 logits, background first); labels
 * are class-index maps (rk_seg_labels_load), RK_SEG_IGNORE never scored. */

/* Pseudo-labelled source images for a segmentation student. */
typedef struct rk_seg_pseudo {
    const rk_image *images; /* n source images (not owned) */
    const rk_image *labels; /* n label maps, each its image's size */
    size_t n;
    const size_t *use;      /* the images batches draw from: use[0..nuse) (NULL: all n) */
    size_t nuse;
} rk_seg_pseudo;

/* As rk_detector_train, for the segmenter: each image and its label map are augmented with
 * the same geometry (rk_augment_labels), the loss is rk_segment_loss; a self-training batch
 * adds st->pseudo_batch pseudo-labelled images, the two halves weighted as Appendix B. Epoch
 * stats: loss (and focal) the labelled cross-entropy, pseudo_loss the pseudo one. */
int rk_segmenter_train(rk_net *net, const rk_refnet_cfg *model, const rk_dataset *d,
                       const rk_image *labels, const size_t *idx, size_t n,
                       const rk_policy *pol, const rk_seg_pseudo *pseudo,
                       const rk_selftrain_cfg *st, const rk_schedule *s, uint64_t seed,
                       int threads, const rk_train_hooks *hooks, rk_err *err);
/* Label maps of n images (out[i] allocated here, images[i]'s size): each image letterboxed
 * into the input as detection's evaluation does, the argmax class of the upsampled logits at
 * the input pixel each original pixel's centre falls in, RK_SEG_IGNORE where its softmax
 * probability is below threshold (0: never). */
int rk_segmenter_predict(rk_net *net, const rk_refnet_cfg *model, const rk_image *images,
                         size_t n, const uint8_t pad[3], double threshold, int threads,
                         rk_image *out, rk_err *err);
/* mIoU of the segmenter's predictions on n images against labels (rk_seg_miou's protocol over
 * the whole set); iou (K, may be NULL) per class, NAN where absent. */
int rk_segmenter_eval(rk_net *net, const rk_refnet_cfg *model, const rk_image *images,
                      const rk_image *labels, size_t n, const uint8_t pad[3], int threads,
                      double *miou, double *iou, rk_err *err);

/* Per-pixel pseudo-labels: the teacher's argmax where its probability >= threshold, else
 * RK_SEG_IGNORE, on every source image (un-augmented, letterboxed as at evaluation). */
typedef struct rk_seg_pseudo_set {
    rk_seg_pseudo view;  /* what rk_segmenter_train reads */
    rk_image *labels;    /* owned; view.n label maps */
    size_t *labelled;    /* owned; the nlabelled images with a confident pixel, ascending */
    size_t nlabelled;
    size_t *per_class;   /* owned; confident pixels per class (nclasses) */
    size_t npixels;      /* confident pixels */
    int nclasses;        /* K, background included */
    double threshold;
} rk_seg_pseudo_set;

int rk_seg_pseudo_label(rk_net *teacher, const rk_refnet_cfg *model, const rk_source *src,
                        double threshold, const uint8_t pad[3], int threads,
                        rk_seg_pseudo_set *out, rk_err *err);
void rk_seg_pseudo_set_free(rk_seg_pseudo_set *p);
/* gzip of "RKSEGPL1\n", the image count, then per image "w h\n" and its label bytes; the
 * same bytes for the same labels. load: for the same source images and K classes. */
int rk_seg_pseudo_save(const rk_seg_pseudo_set *p, const char *path, rk_err *err);
int rk_seg_pseudo_load(rk_seg_pseudo_set *p, const char *path, const rk_source *src, int K,
                       double threshold, rk_err *err);

/* Converts an image to the network's float input (3, S, S): (px/255 - mean) / std with the
 * ImageNet statistics. im must be S x S RGB. */
void rk_image_to_input(float *dst, const rk_image *im);

#endif
