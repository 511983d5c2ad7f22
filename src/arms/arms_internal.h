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

/* The labelled boxes of every image of a dataset (crowd dropped; cls = the 0-based class;
 * a box partly outside its image clipped to it): image i's are boxes[start[i]..start[i+1]),
 * maxn the most of one image. Free boxes and start. */
typedef struct {
    rk_box *boxes;
    size_t *start; /* n + 1 */
    size_t maxn;
} rk_box_index;
int rk_box_index_build(rk_box_index *bi, const rk_coco *c, rk_err *err);

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
} rk_task_ops;

/* The training loop of src/arms/loop.c on a planned net (batch B + Bp): B labelled images
 * per step from idx[0..n), Bp pseudo-labelled ones from use[0..npool) (use NULL: 0..npool),
 * weighted as Appendix B with st. Hooks and the plateau rule as rk_detector_train's. */
int rk_train_loop(rk_net *net, const rk_task_ops *ops, const size_t *idx, size_t n,
                  const size_t *use, size_t npool, int B, int Bp, const rk_selftrain_cfg *st,
                  const rk_schedule *s, uint64_t seed, int threads, const rk_train_hooks *hooks,
                  rk_err *err);

#endif
