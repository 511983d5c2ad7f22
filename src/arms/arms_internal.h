/* Internals shared by the arms' trainers: the endless permutation stream, timing and
 * image normalisation. */
#ifndef RETHINK_ARMS_INTERNAL_H
#define RETHINK_ARMS_INTERNAL_H

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rethink/arms.h"

/* An endless sequence of seeded permutations of 0..n-1: element k is position k mod n of
 * epoch k / n's permutation. */
typedef struct {
    size_t n;
    uint64_t seed;
    long epoch;  /* epoch whose permutation is in perm, -1 = none */
    size_t *perm;
} rk_stream;

/* Element k; *epoch gets its epoch. k must not decrease between calls by more than the
 * cached epoch (sequential use). */
size_t rk_stream_at(rk_stream *s, size_t k, long *epoch);

/* A pre-training task on source images (rk_source_train): `views` augmented rows per image,
 * `out` outputs per row, and its loss: the batch's loss from the net's output (rows v·B + b
 * = view v of image which[b]) with its gradient written to dout, and *acc its accuracy. */
typedef struct rk_source_task {
    const char *what; /* for messages: "pre-training", "SimCLR" */
    int views, out;
    float (*loss)(void *ctx, float *dout, const float *out, const size_t *which, int B,
                  double *acc);
    void *ctx;
} rk_source_task;

/* Trains net on images idx[0..n) of src for s->epochs epochs of batches of B images (B·views
 * rows), with policy pol (boxes: none); the epoch stats' `focal` holds the task's accuracy.
 * All randomness from seed. */
int rk_source_train(rk_net *net, const rk_refnet_cfg *model, const rk_source *src,
                    const size_t *idx, size_t n, const rk_policy *pol, const rk_schedule *s,
                    int B, const rk_source_task *task, uint64_t seed, int threads,
                    const rk_train_hooks *hooks, rk_err *err);
/* The labelled boxes of every image of a dataset (crowd dropped; cls = the 0-based class;
 * a box partly outside its image clipped to it): image i's are boxes[start[i]..start[i+1]),
 * maxn the most of one image. Free boxes and start. */
typedef struct {
    rk_box *boxes;
    size_t *start; /* n + 1 */
    size_t maxn;
} rk_box_index;
int rk_box_index_build(rk_box_index *bi, const rk_coco *c, rk_err *err);

/* The joint task (src/arms/joint.c) as the shared training loop runs it: its source stream
 * and batch, the classifier planned for `J` rows. */
typedef struct rk_joint_run {
    const rk_joint *jt;
    const rk_policy *pol; /* augments the source images */
    rk_net *det;          /* the trained net, whose backbone the classifier shares */
    rk_joint_shared shared;
    rk_stream st;         /* over jt->idx */
    uint64_t seed;        /* keys its augmentation */
    int J, S, K, threads;
    float *x;             /* (J, 3, S, S) */
    float *dlog;          /* (J, K) */
    int *lab;             /* (J) */
    rk_image *slot;       /* J augmented images */
    size_t *which;
    long *ep;
} rk_joint_run;
/* Plans jt->cls, checks the source labels and syncs the classifier's backbone with det's. */
int rk_joint_run_init(rk_joint_run *j, rk_net *det, const rk_joint *jt, const rk_policy *pol,
                      int S, int threads, const rk_schedule *s, uint64_t seed, rk_err *err);
void rk_joint_run_free(rk_joint_run *j);
/* After det's backward of step `step`: the source batch through the classifier, its shared
 * gradients added to det's, clipping over both nets (clip > 0), the classifier's SGD step
 * with opt; *loss the source classification loss (non-finite: RK_EDIVERGED). */
int rk_joint_run_step(rk_joint_run *j, long step, const rk_sgd *opt, float clip, float *loss,
                      rk_err *err);
/* After det's step: the classifier's backbone copied back from det's. */
void rk_joint_run_sync(rk_joint_run *j);

/* What a task (detection, segmentation) gives the shared training loop. */
typedef struct rk_task_ops {
    void *ctx;
    size_t per; /* output floats per image */
    /* Fills batch slot b with image i (pseudo: of the pseudo-labelled set, else of the
     * labelled dataset) augmented at epoch ep. Called in parallel over slots. */
    int (*fill)(void *ctx, int b, int pseudo, size_t i, long ep, rk_err *err);
    /* The filled batch's network input. */
    const float *(*input)(void *ctx);
    /* The loss of the nb images from slot b0 on: out and dout point at slot b0's output;
     * writes their dout and up to three terms (what the epoch stats report as focal, size,
     * offset). */
    float (*loss)(void *ctx, float *dout, const float *out, int b0, int nb, float terms[3]);
    /* Joint training (NULL: none): each step after the net's backward, rk_joint_run_step
     * (which clips both nets in place of the net's own clipping); after the net's step,
     * rk_joint_run_sync. */
    rk_joint_run *joint;
} rk_task_ops;

/* The training loop of src/arms/loop.c on a planned net (batch B + Bp): B labelled images
 * per step from idx[0..n), Bp pseudo-labelled ones from use[0..npool) (use NULL: 0..npool),
 * weighted as Appendix B with st. Hooks and the plateau rule as rk_detector_train's. */
int rk_train_loop(rk_net *net, const rk_task_ops *ops, const size_t *idx, size_t n,
                  const size_t *use, size_t npool, int B, int Bp, const rk_selftrain_cfg *st,
                  const rk_schedule *s, uint64_t seed, int threads, const rk_train_hooks *hooks,
                  rk_err *err);

#endif
