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

#endif
