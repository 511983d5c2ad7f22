/* Errors, invariant failures, counter-based randomness, thread control, clocks, a
 * tolerant comparison of doubles and "did you mean" suggestions, shared by every stage.
 *
 * The generator is SplitMix64 used as a counter-based hash: draw i of key k is
 * mix(k + (i+1)*gamma). A stream is fully determined by (seed, stream, index), so any
 * worker can regenerate any draw without sharing state or depending on scheduling. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rethink/core.h"

int rk_errf(rk_err *err, int rc, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->rc = rc;
    }
    return rc;
}

int rk_rc_interrupted(int rc)
{
    return rc == RK_ENOMEM || rc == RK_ENOSPACE || rc == RK_EINTERRUPTED;
}

int rk_errno_rc(int e)
{
    return e == ENOSPC || e == EDQUOT ? RK_ENOSPACE : e == ENOMEM ? RK_ENOMEM : RK_EIO;
}

void rk_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "rethink: %s:%d: invariant broken: %s\n", file, line, expr);
    abort();
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void rk_rng_init(rk_rng *r, uint64_t seed, uint64_t stream, uint64_t index)
{
    uint64_t k = mix64(seed + 0x9E3779B97F4A7C15ULL);
    k = mix64(k ^ (stream * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL));
    k = mix64(k ^ (index * 0xABC98388FB8FAC03ULL + 0x2545F4914F6CDD1DULL));
    r->key = k;
    r->ctr = 0;
}

uint64_t rk_rng_u64(rk_rng *r)
{
    return mix64(r->key + ++r->ctr * 0x9E3779B97F4A7C15ULL);
}

float rk_rng_uniform(rk_rng *r)
{
    return (float)(rk_rng_u64(r) >> 40) * (1.0f / 16777216.0f); /* 24 bits */
}

float rk_rng_normal(rk_rng *r)
{
    double u1 = ((rk_rng_u64(r) >> 11) + 1.0) * (1.0 / 9007199254740993.0); /* (0, 1] */
    double u2 = (rk_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void rk_set_threads(int threads)
{
    if (threads > 0) omp_set_num_threads(threads);
}

int rk_feq(double a, double b) { return fabs(a - b) <= 1e-9 * (1 + fabs(a)); }

double rk_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

double rk_cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static char cpu_model[128];
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

static void read_cpu_model(void)
{
    snprintf(cpu_model, sizeof cpu_model, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10)) continue;
        const char *v = strchr(line, ':');
        if (!v) continue;
        for (v++; *v == ' ' || *v == '\t'; v++) {}
        size_t n = strcspn(v, "\n");
        if (n >= sizeof cpu_model) n = sizeof cpu_model - 1;
        memcpy(cpu_model, v, n);
        cpu_model[n] = 0;
        break;
    }
    if (f) fclose(f);
}

const char *rk_cpu_model(void)
{
    pthread_once(&cpu_once, read_cpu_model);
    return cpu_model;
}

/* Edit distance between a and b with neighbour swaps counted as one edit (optimal string
 * alignment), case-insensitive, giving up (returning limit + 1) past limit. */
static size_t edits(const char *a, const char *b, size_t limit)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na > 64 || nb > 64) return limit + 1; /* no typo of a word that long is guessed */
    if ((na > nb ? na - nb : nb - na) > limit) return limit + 1;
    size_t d[65][65];
    for (size_t i = 0; i <= na; i++) d[i][0] = i;
    for (size_t j = 0; j <= nb; j++) d[0][j] = j;
    for (size_t i = 1; i <= na; i++)
        for (size_t j = 1; j <= nb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            size_t v = d[i - 1][j - 1] + (ca != cb);
            if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[na][nb];
}

const char *rk_suggest(const char *word, const char *const *cand, size_t n)
{
    if (!word || !*word) return NULL;
    size_t len = strlen(word), limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
    const char *best = NULL;
    size_t best_d = limit + 1;
    int tie = 0;
    for (size_t i = 0; i < n; i++) {
        if (!cand[i] || !strcmp(cand[i], word)) continue;
        size_t d = edits(word, cand[i], limit);
        if (d < best_d) best = cand[i], best_d = d, tie = 0;
        else if (d == best_d && best && strcmp(best, cand[i])) tie = 1;
    }
    return tie ? NULL : best;
}
