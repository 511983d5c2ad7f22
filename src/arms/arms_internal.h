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

#endif
