/* Errors, invariant failures, counter-based randomness, thread control, clocks and a
 * tolerant comparison of doubles, shared by every stage.
 *
 * The generator is SplitMix64 used as a counter-based hash: draw i of key k is
 * mix(k + (i+1)*gamma). A stream is fully determined by (seed, stream, index), so any
 * worker can regenerate any draw without sharing state or depending on scheduling. */
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
