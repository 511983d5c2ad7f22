/* rethink core: what every stage shares — error reporting, invariant checks, counter-based
 * randomness, thread control, files and hashing, and the version.
 *
 * Errors: every fallible function returns an int rc (RK_OK == 0) and fills an rk_err with a
 * message the caller can show (file, line or key, what was expected). A constructor returns
 * its rc too and hands the object out through a pointer, NULL on error (rk_refnet_detector),
 * because err may be NULL: nobody reads the code back from it. Library code never prints or
 * exits, except RK_ASSERT on a broken invariant. */
#ifndef RETHINK_CORE_H
#define RETHINK_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RK_VERSION "0.1.0"

/* ---- errors ---- */
/* RK_EDIVERGED: training stopped on a non-finite loss. The store records a failed trial's
 * code, so a claims check counts divergence by it, never by the message's text.
 * RK_ENOSPACE: a write found the disk (or a quota) full. RK_EINTERRUPTED: the work was
 * stopped from outside (a signal, a worker that stopped sending heartbeats). */
enum { RK_OK = 0, RK_EINVAL = 1, RK_EIO = 2, RK_ENOMEM = 3, RK_EFORMAT = 4, RK_EDNNL = 5,
       RK_EDIVERGED = 6, RK_ENOSPACE = 7, RK_EINTERRUPTED = 8 };

/* Whether rc says the work was interrupted — out of memory, out of disk, stopped from
 * outside — rather than failed by its own fault (a bad config, divergence, unreadable
 * input). The store does not count an interrupted attempt against a trial's budget. */
int rk_rc_interrupted(int rc);
/* The rc for a failed system call's errno: RK_ENOSPACE for ENOSPC and EDQUOT, RK_ENOMEM for
 * ENOMEM, RK_EIO otherwise. */
int rk_errno_rc(int e);

typedef struct rk_err {
    int rc;
    char msg[512];
} rk_err;

/* Sets err (may be NULL) and returns rc. */
int rk_errf(rk_err *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- invariants ----
 * RK_ASSERT(e), always on, checks an invariant where it crosses an API boundary (a net's
 * arena under its plan, a store connection's statements); assert() states the rest inside.
 * A false one is a bug, never bad input: what it guards (a plan into freed memory, a
 * connection whose next write fails for no reason a caller can act on) is not safe to run
 * on nor an rk_err a caller could handle, so it prints file:line and the expression to
 * stderr and aborts, leaving a core where the bug is. What users cause is an rk_err. */
#define RK_ASSERT(e) ((e) ? (void)0 : rk_assert_fail(#e, __FILE__, __LINE__))
_Noreturn void rk_assert_fail(const char *expr, const char *file, int line);

/* ---- randomness: counter-based, keyed by (seed, stream, index); no global state ---- */
typedef struct rk_rng {
    uint64_t key; /* mixes seed, stream and index */
    uint64_t ctr; /* draws so far */
} rk_rng;

void rk_rng_init(rk_rng *r, uint64_t seed, uint64_t stream, uint64_t index);
uint64_t rk_rng_u64(rk_rng *r);
float rk_rng_uniform(rk_rng *r); /* [0, 1) */
float rk_rng_normal(rk_rng *r);  /* N(0, 1), Box-Muller */

/* ---- INI files ---- */
typedef struct rk_ini_item {
    char *section, *key, *value;
    int line;
} rk_ini_item;

/* Every key of an INI file in file order, with its section and line. A malformed line is an
 * error naming path:line. */
int rk_ini_read(const char *path, rk_ini_item **items, size_t *n, rk_err *err);
void rk_ini_free(rk_ini_item *items, size_t n);

/* ---- files and hashing ---- */

/* Creates a folder and its parents (like mkdir -p). */
int rk_mkdirs(const char *path, rk_err *err);
/* Removes a folder and everything in it (like rm -rf, never following a symbolic link out
 * of it); a missing path is no error. */
int rk_remove_tree(const char *path, rk_err *err);
/* Reads a whole file (NUL-terminated); *n gets the length. */
int rk_read_file(const char *path, char **data, size_t *n, rk_err *err);
/* Ends a file written at tmp to stand in for path: flushes and closes f (which may be NULL
 * when opening tmp failed: then errno says why), then renames tmp over path, so a reader
 * sees the old file or the whole new one, never half. On failure tmp is removed and the rc
 * says why (rk_errno_rc: RK_ENOSPACE for a full disk). */
int rk_file_replace(FILE *f, const char *tmp, const char *path, rk_err *err);
/* SHA-256 (nettle) as 64 lowercase hex digits and a NUL. */
void rk_sha256_hex(const void *p, size_t n, char out[65]);
int rk_sha256_file(const char *path, char out[65], rk_err *err);

/* Compute threads for OpenMP (shared by oneDNN and OpenBLAS). */
void rk_set_threads(int threads);

/* "Did you mean ...": the candidate (of n, NULL entries skipped) closest to word if it is
 * close enough to be a typo of it — at most 1 edit for words of up to 4 characters, 2 up to
 * 8, 3 beyond (an edit: a letter inserted, deleted, changed, or two neighbours swapped;
 * case is ignored); NULL when none is, or when several are equally close (S9 is as close
 * to S1 as to S4: no guess). Never word itself. */
const char *rk_suggest(const char *word, const char *const *cand, size_t n);

/* a = b up to 1e-9 relative: fractions and values that went through text. */
int rk_feq(double a, double b);

/* Seconds: monotonic wall clock, and CPU time of the whole process (every thread). */
double rk_now(void);
double rk_cpu_now(void);

/* This machine's CPU model as the kernel names it (/proc/cpuinfo "model name"), read once;
 * "unknown" where it says nothing. Recorded with every trial: compared pairs of trials
 * should come from one machine. */
const char *rk_cpu_model(void);

#endif
