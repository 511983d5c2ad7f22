/* rethink store: the SQLite database every stage records into and reads from.
 *
 * One file holds studies, trials (identity = config hash), their dependencies, flattened
 * params, per-step metrics, final COCO results (also per category), content-addressed
 * artifacts, pseudo-label statistics and claims verdicts. docs/ARCHITECTURE.md §Store has the
 * schema, the state machine and how to query it with sqlite3 or pandas.
 *
 * Trial lifecycle (the only transitions there are; the schema refuses leaving finished):
 *
 *   (register) ────────────────────────────▶ pending
 *   pending  ──acquire───────────────────────▶ running
 *   running  ──finish────────────────────────▶ finished   terminal
 *   running  ──fail(retry)───────────────────▶ pending    if attempts remain, else failed
 *   running  ──fail──────────────────────────▶ failed
 *   running  ──interrupted / stale heartbeat─▶ pending    always, not charged
 *   pending  ──a dependency failed───────────▶ failed     the error names the dependency
 *   failed   ──retry_failed / trials_retry───▶ pending    with a fresh attempt budget
 *   any but a live running one ──remove──────▶ (gone)     with all it recorded
 *
 * A trial is out of attempts when max_attempts of its attempts since it was registered (or
 * since the last retry_failed) failed by its own fault. An interrupted attempt — a fail whose
 * code rk_rc_interrupted (core.h: a full disk, no memory, stopped from outside), or a worker
 * that stopped sending heartbeats — is never charged: kills, full disks and lost nodes never
 * fail a trial.
 *
 * Leases: acquire increments `attempts` and hands it out; (trial id, attempt) is the lease.
 * heartbeat / metrics / finish / fail succeed only while the trial is still running under
 * that attempt, else they return RK_STORE_LOST and change nothing: a worker that was presumed
 * dead (stale heartbeat) and reclaimed can never overwrite the new owner's work. So every
 * trial is finished exactly once.
 *
 * Concurrency: any number of processes may open the same file. Every write is one
 * transaction that takes the write lock first (BEGIN IMMEDIATE) and waits for it up to
 * RK_STORE_BUSY_MS, so concurrent writers queue instead of failing with "database is
 * locked". An rk_store is one connection:
 * use it from one thread at a time (a heartbeat thread opens its own).
 *
 * Readers that must never change what they read (rethink report, check) open the file with
 * rk_store_open_readonly: no migration and no write, ever, so a report may run beside a
 * sweep that is writing (WAL readers never block the writer). An older file is read as it
 * is, shown as the current schema (see schema.c); a newer one is refused.
 *
 * Times are unix seconds (UTC, fractional) as REAL columns. Absent doubles are NAN in the
 * structs below and NULL in the database; absent integers are -1 / NULL.
 *
 * Errors follow core.h: int rc, message in rk_err; SQLite failures are RK_EIO and name the
 * database file and the step. */
#ifndef RETHINK_STORE_H
#define RETHINK_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "rethink/core.h"
#include "rethink/eval.h"

/* The schema this build writes; a database with a higher version is refused. The results
 * table has a column per COCO stat (rk_coco_stat_name, RK_COCO_NSTATS of them). */
#define RK_STORE_SCHEMA_VERSION 5
#define RK_STORE_MAX_ATTEMPTS 3  /* default per trial */
#define RK_STORE_STALE_S 120.0   /* default: a running trial silent this long is presumed dead */
#define RK_STORE_BUSY_MS 30000   /* how long a writer waits for the lock */

/* rc (beyond core.h's): the caller's lease on a trial is gone (it was reclaimed, finished or
 * failed by someone else); nothing was written. Stop working on the trial. */
enum { RK_STORE_LOST = 16 };

typedef enum rk_trial_status {
    RK_TRIAL_PENDING = 0,
    RK_TRIAL_RUNNING = 1,
    RK_TRIAL_FINISHED = 2,
    RK_TRIAL_FAILED = 3,
} rk_trial_status;

/* "pending", "running", "finished", "failed" (the strings stored in trials.status). */
const char *rk_trial_status_name(rk_trial_status st);

typedef struct rk_store rk_store;

/* ---- opening ---- */

/* Opens (creating if missing) the database at path: WAL journal, busy timeout, foreign keys,
 * then migrates an older schema to RK_STORE_SCHEMA_VERSION in one transaction. A database of
 * a newer schema is an RK_EFORMAT error naming both versions; an SQLite file of another
 * program (tables, no schema_version) is an RK_EFORMAT error before anything is written. */
int rk_store_open(rk_store **s, const char *path, rk_err *err);
void rk_store_close(rk_store *s);
int rk_store_schema_version(rk_store *s, int *version, rk_err *err);
/* PRAGMA integrity_check and foreign_key_check, plus the store's own invariants (every
 * finished detector trial has results; every running trial has a heartbeat; a finished
 * trial has metrics of its finishing attempt only). RK_EFORMAT with the first problem. */
int rk_store_check(rk_store *s, rk_err *err);

/* ---- studies ---- */

/* Creates the study if missing (experiment: the experiment file's text, may be NULL; its
 * SHA-256 is stored beside it). An existing study keeps its id; a non-NULL experiment text
 * replaces the stored one (the latest file that ran the study). */
int rk_store_study_put(rk_store *s, const char *name, const char *experiment, int64_t *id,
                       rk_err *err);
/* Names of all studies, sorted; free with rk_store_strings_free. */
int rk_store_studies_list(rk_store *s, char ***names, size_t *n, rk_err *err);
void rk_store_strings_free(char **v, size_t n);

/* ---- trials ---- */

typedef struct rk_trial_spec {
    const char *study;       /* study name; created if missing */
    const char *config_json; /* the resolved config, a JSON object (flattened into params) */
    const char *config_hash; /* the identity; NULL: SHA-256 hex of config_json's bytes */
    const char *kind;        /* NULL: "detector" (finished detector trials must have results) */
    const char *arm, *aug;   /* may be NULL */
    double fraction;         /* NAN: none */
    int64_t seed;
    int max_attempts;        /* 0: RK_STORE_MAX_ATTEMPTS */
} rk_trial_spec;

typedef struct rk_trial {
    int64_t id;
    char config_hash[65];
    char *study, *config_json, *kind, *arm, *aug; /* arm, aug may be NULL */
    double fraction;
    int64_t seed;
    rk_trial_status status;
    int attempts, max_attempts; /* attempts: times acquired; the current lease's number */
    char *worker, *host, *git_rev, *data_hash, *error; /* NULL until known */
    int error_code; /* a failure's rc (core.h; RK_EDIVERGED: a non-finite loss); 0 unknown */
    double created, started, finished, heartbeat;     /* unix s; NAN until known */
    double wall_s, cpu_s, flops, teacher_cpu_s, pseudo_cpu_s; /* NAN until finished */
    int64_t images;                                           /* -1 until finished */
    /* how the detector trained (NULL / -1 until finished, or unknown before schema 3):
     * stop_reason "plateau" or "budget", steps trained of max_steps, the precision it ran
     * in ("f32", "bf16") and the CPU model */
    char *stop_reason, *precision, *cpu;
    int64_t steps, max_steps;
} rk_trial;

void rk_trial_clear(rk_trial *t);

/* Registers a trial idempotently by config hash: a new one is pending. *id, *status and
 * *created (1 if this call inserted it) may be NULL. Registering an existing hash with a
 * different config_json is an RK_EINVAL error (a canonicalisation bug or a hash collision). */
int rk_store_trial_register(rk_store *s, const rk_trial_spec *spec, int64_t *id,
                            rk_trial_status *status, int *created, rk_err *err);
/* `trial` may run only after `depends_on` finished (teacher before student). Idempotent;
 * a dependency that would close a cycle is an RK_EINVAL error. */
int rk_store_trial_depend(rk_store *s, int64_t trial, int64_t depends_on, rk_err *err);

typedef struct rk_acquire_opts {
    const char *study;   /* NULL: any study */
    const char *worker;  /* recorded on the trial, e.g. "host:pid/slot"; may be NULL */
    const char *host, *git_rev; /* may be NULL */
    double stale_s;      /* <= 0: RK_STORE_STALE_S */
    int64_t trial;       /* non-zero: take only this trial (if it is runnable) */
} rk_acquire_opts;

/* Atomically takes the next runnable trial (lowest id first; with o->trial, that one):
 * pending with every dependency finished, after first returning stale running trials
 * (heartbeat older than stale_s) to pending, uncharged, and failing pending trials whose
 * dependency failed. On success *got = 1, t is filled (status running, t->attempts is the
 * lease); *got = 0 when nothing is runnable now. t is always safe to rk_trial_clear. */
int rk_store_trial_acquire(rk_store *s, const rk_acquire_opts *o, rk_trial *t, int *got,
                           rk_err *err);
/* Proves the lease holder alive. RK_STORE_LOST if the lease is gone. */
int rk_store_trial_heartbeat(rk_store *s, int64_t id, int attempt, rk_err *err);

typedef struct rk_category_ap {
    int id;
    char name[64];
    double ap; /* as evaluated (pycocotools gives -1 for a category without ground truth) */
} rk_category_ap;

typedef struct rk_trial_outcome {
    const double *stats;        /* RK_COCO_NSTATS, COCO order; NULL only for non-detector kinds */
    const rk_category_ap *cats; /* per-category AP, may be NULL with ncats 0 */
    size_t ncats;
    double wall_s, cpu_s;       /* this trial's own cost */
    int64_t images;             /* images processed (all epochs, forward+backward); -1 unknown */
    double flops;               /* estimated FLOPs of the whole trial; NAN unknown */
    double teacher_cpu_s;       /* self-training: its teacher's CPU seconds; NAN otherwise */
    double pseudo_cpu_s;        /* self-training: pseudo-labelling CPU seconds; NAN otherwise */
    const char *data_hash;      /* the labelled subset's hash (rk_subset); may be NULL */
    const char *stop_reason;    /* "plateau" or "budget"; NULL: not a detector / unknown */
    int64_t steps, max_steps;   /* optimizer steps trained, and the budget; <= 0 unknown */
    const char *precision;      /* the arithmetic it trained in ("f32", "bf16"); may be NULL */
    const char *cpu;            /* the CPU model it ran on; may be NULL */
} rk_trial_outcome;

/* Records results, per-category AP and compute, and marks the trial finished — all in one
 * transaction, so no reader ever sees a finished trial without its results. Metrics of
 * earlier attempts are dropped: a finished trial's metrics are its finishing attempt's. */
int rk_store_trial_finish(rk_store *s, int64_t id, int attempt, const rk_trial_outcome *o,
                          rk_err *err);
/* Records the failure: code is the rc the work failed with (core.h; 0 unknown), error its
 * message. An interruption (rk_rc_interrupted(code)) goes back to pending and is not
 * charged; otherwise, with retry and attempts left the trial goes back to pending, else it
 * is failed. */
int rk_store_trial_fail(rk_store *s, int64_t id, int attempt, int code, const char *error,
                        int retry, rk_err *err);

int rk_store_trial_get(rk_store *s, int64_t id, rk_trial *t, int *found, rk_err *err);
int rk_store_trial_find(rk_store *s, const char *config_hash, rk_trial *t, int *found,
                        rk_err *err);
/* Trials of a study (NULL: all) in id order; status < 0: any. Free with rk_trials_free. */
int rk_store_trials_list(rk_store *s, const char *study, int status, rk_trial **t, size_t *n,
                         rk_err *err);
void rk_trials_free(rk_trial *t, size_t n);
/* Only their ids, ascending (what a scheduler needs, without reading every config); free. */
int rk_store_trial_ids(rk_store *s, const char *study, int status, int64_t **ids, size_t *n,
                       rk_err *err);

typedef struct rk_trial_counts {
    size_t pending, running, finished, failed;
} rk_trial_counts;

int rk_store_counts(rk_store *s, const char *study, rk_trial_counts *c, rk_err *err);
/* What acquire does first, on its own (a sweep calls it at start): stale running trials go
 * back to pending, uncharged. *n (may be NULL) counts trials changed. */
int rk_store_reset_stale(rk_store *s, const char *study, double stale_s, size_t *n,
                         rk_err *err);
/* Failed trials of a study (NULL: all) go back to pending with a fresh budget of
 * max_attempts (after fixing the cause). Lease numbers keep counting: attempts is never
 * reset, so no old lease becomes valid again. *n may be NULL. */
int rk_store_retry_failed(rk_store *s, const char *study, size_t *n, rk_err *err);
/* The same for the failed trials among ids[0..n) (one sweep's grid); others are left as
 * they are. *changed (may be NULL): how many went back to pending. */
int rk_store_trials_retry(rk_store *s, const int64_t *ids, size_t n, size_t *changed,
                          rk_err *err);

/* ---- removing ---- */

/* Deletes trials ids[0..n) and everything recorded about them (params, metrics, results,
 * per-category AP, dependencies; artifacts keep their rows, no longer linked to a trial;
 * files are not touched), in one transaction. Refused — RK_EINVAL naming the trial, nothing
 * deleted — for an unknown id, a running trial whose heartbeat is fresh (its worker holds
 * the lease: stop the sweep first; one silent for RK_STORE_STALE_S is removable), and a
 * trial that a trial outside the set depends on (a teacher whose student stays). */
int rk_store_trials_remove(rk_store *s, const int64_t *ids, size_t n, rk_err *err);
/* Deletes a study: its trials as rk_store_trials_remove does, its claims verdicts and
 * itself. *ntrials (may be NULL): trials removed. An unknown study is RK_EINVAL. */
int rk_store_study_remove(rk_store *s, const char *name, size_t *ntrials, rk_err *err);

/* ---- metrics ---- */

/* Metric names: what the trainer records (src/cli/run.c) and the report reads. Per epoch
 * (step = epoch): */
#define RK_METRIC_LOSS "loss"               /* mean training loss of the epoch */
#define RK_METRIC_LOSS_FOCAL "loss.focal"   /* its three terms */
#define RK_METRIC_LOSS_SIZE "loss.size"
#define RK_METRIC_LOSS_OFFSET "loss.offset"
#define RK_METRIC_LOSS_PSEUDO "loss.pseudo" /* the pseudo-labelled half's loss (0: none) */
#define RK_METRIC_LOSS_JOINT "loss.joint" /* joint training: the source classification loss
                                            (recorded only for joint arms) */
#define RK_METRIC_LR "lr"
#define RK_METRIC_IMG_PER_S "img_per_s"
#define RK_METRIC_IMAGES "images"           /* images seen so far */
#define RK_METRIC_VAL_AP "val.AP"           /* study.eval_every */
#define RK_METRIC_DEV_AP "dev.AP"           /* train.dev: AP on the held-out dev split */
/* Once per trial: the checkpoint kept (best dev AP, step = its epoch), and the pre-trained
 * backbone's held-out source accuracy (step 0). */
#define RK_METRIC_SELECT_EPOCH "select.epoch"
#define RK_METRIC_SELECT_DEV_AP "select.dev.AP"
#define RK_METRIC_SOURCE_ACC "backbone.source_acc"
/* Once per segmentation trial (model.task = segment, step 0): its val mIoU, which the
 * results table also holds as its primary stat (AP column). dev.AP, val.AP and select.dev.AP
 * of such a trial are mIoU too. */
#define RK_METRIC_VAL_MIOU "val.mIoU"

typedef struct rk_metric {
    int64_t step;  /* the x axis: optimizer step (or epoch when logging per epoch) */
    int64_t epoch; /* -1: none */
    char name[64]; /* RK_METRIC_*, e.g. "loss", "val.AP" */
    double value;
} rk_metric;

/* Appends n metrics in one transaction (a row with the same (name, step) in this attempt is
 * replaced). RK_STORE_LOST if the lease is gone. */
int rk_store_metrics_add(rk_store *s, int64_t id, int attempt, const rk_metric *m, size_t n,
                         rk_err *err);
/* Metrics of the trial's current attempt, by name (NULL: all) then step; free(*m). */
int rk_store_metrics_get(rk_store *s, int64_t id, const char *name, rk_metric **m, size_t *n,
                         rk_err *err);

/* ---- results from elsewhere (rethink import) ---- */

/* A trial run outside rethink, recorded as finished. */
typedef struct rk_trial_import {
    rk_trial_spec spec;         /* config_json is the identity (its SHA-256; config_hash and
                                   max_attempts are ignored, study is the call's) */
    rk_trial_outcome out;       /* out.stats required (NAN: unknown, stored as NULL) */
    const rk_metric *metrics;   /* recorded as attempt 1's; may be NULL with nmetrics 0 */
    size_t nmetrics;
    const char *worker, *host, *git_rev; /* recorded as the trial's (who imported it); may be
                                            NULL */
    const char *where;          /* names the row in errors ("results.csv:3") */
} rk_trial_import;

typedef struct rk_import_stats {
    size_t added;     /* new finished trials */
    size_t unchanged; /* already finished with the same results: nothing written */
    size_t elsewhere; /* of those, trials that belong to another study */
} rk_import_stats;

/* Records t[0..n) as finished trials of study (created if missing) — each registered, with
 * its params, metrics and results, attempt 1, in ONE transaction: all rows or none. A row
 * whose config hash is already finished with the same 12 stats changes nothing (so the same
 * import twice is a no-op); with different stats, or one registered but not finished, or
 * with another config, it is an RK_EINVAL conflict naming the row (t->where) and the hash,
 * and nothing is recorded. st may be NULL. */
int rk_store_trials_import(rk_store *s, const char *study, const rk_trial_import *t, size_t n,
                           rk_import_stats *st, rk_err *err);

/* ---- results ---- */

/* stats[RK_COCO_NSTATS] of a trial; *found = 0 if it has none. */
int rk_store_result_get(rk_store *s, int64_t id, double *stats, int *found, rk_err *err);
/* Per-category AP by category id; free(*c). */
int rk_store_categories_get(rk_store *s, int64_t id, rk_category_ap **c, size_t *n,
                            rk_err *err);

/* ---- artifacts (content-addressed) ----
 * Files a trial makes or uses (docs/ARCHITECTURE.md §Artifacts), identified by the SHA-256
 * of their content. Kinds: */
#define RK_ARTIFACT_BACKBONE "backbone"     /* a pre-trained classifier (backbone-KEY.ckpt) */
#define RK_ARTIFACT_CHECKPOINT "checkpoint" /* a trial's detector (trial-HASH.ckpt) */
#define RK_ARTIFACT_PSEUDO "pseudo-labels"  /* a teacher's pseudo-labels (pseudo-KEY.json) */
#define RK_ARTIFACT_DETECTIONS "detections" /* an external trainer's val results (trial-HASH/) */
/* How a trial used one (trial_artifacts.role): */
#define RK_ROLE_BACKBONE "backbone" /* its detector descends from it (loaded by it or its teacher) */
#define RK_ROLE_TEACHER "teacher"   /* it started from this checkpoint (students, controls) */
#define RK_ROLE_PSEUDO "pseudo"     /* it trained on these pseudo-labels */

typedef struct rk_artifact {
    char hash[65];
    char kind[32];   /* RK_ARTIFACT_* (or any other name) */
    char *path;
    int64_t bytes;   /* -1 unknown */
    int64_t trial;   /* producing trial id; 0 none */
    double created;
    double cpu_s;    /* CPU seconds that made it; NAN unknown */
    char *meta;      /* facts about it, a JSON object; NULL none */
} rk_artifact;

void rk_artifact_clear(rk_artifact *a);
/* Records hash -> (kind, path, bytes, producing trial or 0). Idempotent: an existing hash
 * keeps its row; one recorded with a different kind is an RK_EINVAL error. */
int rk_store_artifact_put(rk_store *s, const char *hash, const char *kind, const char *path,
                          int64_t bytes, int64_t trial, rk_err *err);
/* The same with every column (a->created is ignored: now). An existing hash keeps its
 * values and gets only the ones it lacks (a producer, CPU seconds, meta, bytes): one content
 * is one artifact, whoever recorded it first. */
int rk_store_artifact_record(rk_store *s, const rk_artifact *a, rk_err *err);
int rk_store_artifact_get(rk_store *s, const char *hash, rk_artifact *a, int *found,
                          rk_err *err);

/* The newest artifact of kind that trial made (its producer) or, for a checkpoint, that
 * names the trial as its key in meta (one an earlier run made); *found = 0 if none. */
int rk_store_trial_product(rk_store *s, int64_t trial, const char *kind, rk_artifact *a,
                           int *found, rk_err *err);

/* An artifact as the trial runner reports it, flat (fixed-size strings), so that an MPI
 * rank can send it to rank 0 as bytes. */
typedef struct rk_artifact_use {
    char role[16];   /* RK_ROLE_*: how the trial used it; "": its own product, not linked */
    int made;        /* 1: this trial made it (recorded as its producer); 0: made earlier */
    char kind[32];   /* RK_ARTIFACT_* */
    char hash[65];   /* content SHA-256 */
    char path[1024];
    int64_t bytes;
    double cpu_s;    /* what making it cost; NAN unknown */
    char meta[1024]; /* JSON object: a pseudo-labels artifact's has "kept" (images with a
                        box), "boxes", "per_class" ({"category id": boxes}) and "threshold",
                        which fill its pseudo_labels row */
} rk_artifact_use;

/* Records, under trial id's lease (RK_STORE_LOST if it is gone: nothing written), in one
 * transaction: every artifact of a (rk_store_artifact_record; a made one with the trial as
 * its producer), the trial's link to each one with a role (trial_artifacts, replacing the
 * trial's previous link of that role), and the pseudo_labels row of pseudo-label
 * artifacts. */
int rk_store_trial_artifacts_put(rk_store *s, int64_t id, int attempt, const rk_artifact_use *a,
                                 size_t n, rk_err *err);

/* A trial's link to an artifact, as a report reads it. */
typedef struct rk_artifact_link {
    int64_t trial;   /* the trial that used it */
    char role[16];   /* RK_ROLE_* */
    rk_artifact a;
    size_t users;    /* finished trials of the study linked to it (any role) */
} rk_artifact_link;

/* Every link of the study's finished trials, by trial id then role; free with
 * rk_artifact_links_free. */
int rk_store_artifact_links(rk_store *s, const char *study, rk_artifact_link **l, size_t *n,
                            rk_err *err);
void rk_artifact_links_free(rk_artifact_link *l, size_t n);

typedef struct rk_pseudo_stats {
    int64_t images, boxes;
    double threshold;     /* score threshold used to keep boxes */
    char *per_class_json; /* e.g. {"1": 40, "2": 13}; malloc'd by get, free with the struct */
} rk_pseudo_stats;

/* Statistics of a pseudo-label artifact (which must be recorded first). Idempotent. */
int rk_store_pseudo_put(rk_store *s, const char *artifact_hash, int64_t images, int64_t boxes,
                        const char *per_class_json, double threshold, rk_err *err);
int rk_store_pseudo_get(rk_store *s, const char *artifact_hash, rk_pseudo_stats *p,
                        int *found, rk_err *err);

/* ---- claims verdicts ---- */

typedef struct rk_claim {
    char *study, *name;
    char verdict[16];   /* "HOLDS", "FAILS" or "INCONCLUSIVE" */
    double estimate, ci_low, ci_high;
    int64_t n;
    char *details_json; /* may be NULL */
    double checked;     /* set by put */
} rk_claim;

/* Appends a verdict (history is kept; reads return the latest per claim name). The study is
 * created if missing. */
int rk_store_claim_put(rk_store *s, const rk_claim *c, rk_err *err);
/* The latest verdict of each claim of a study, by name; free with rk_claims_free. */
int rk_store_claims_latest(rk_store *s, const char *study, rk_claim **c, size_t *n,
                           rk_err *err);
void rk_claims_free(rk_claim *c, size_t n);

/* ---- reading a study (rethink report and check) ---- */

/* Opens an existing database read-only: the schema version is checked (a newer one is an
 * RK_EFORMAT error naming both; a file that is not a rethink database, or a missing one, is
 * RK_EINVAL; one that is not an SQLite file, or is corrupt (PRAGMA integrity_check), RK_EFORMAT
 * saying so) and never migrated. A WAL database on a read-only mount is read as immutable
 * when no -wal file holds writes the main file lacks. Every write function fails on it. An older schema is read
 * as the current one, the columns added since filled as their migration fills them
 * (schema.c), without writing the file. */
int rk_store_open_readonly(rk_store **s, const char *path, rk_err *err);

/* Names of the studies that have a finished detector trial with an arm (what a report can
 * show), sorted; free with rk_store_strings_free. */
int rk_store_studies_with_results(rk_store *s, char ***names, size_t *n, rk_err *err);

/* One key of a trial's flattened config ("train.lr") and its value as text. */
typedef struct rk_param {
    char *key, *value;
} rk_param;

/* A trial's flattened config, sorted by key (*p malloc'd; free with rk_params_free). */
int rk_store_params_get(rk_store *s, int64_t id, rk_param **p, size_t *n, rk_err *err);
void rk_params_free(rk_param *p, size_t n);

/* A detector trial as a report reads it. */
typedef struct rk_trial_record {
    rk_trial t;
    double stats[RK_COCO_NSTATS]; /* its results row; NAN without one */
    double deps_cpu_s;            /* cpu_s of the finished trials it depends on (a student's
                                     teacher), summed; NAN if none */
    rk_param *params;             /* its flattened config, sorted by key; NULL values read "" */
    size_t nparams;
} rk_trial_record;

/* The study's detector trials that have an arm, in id order; free with
 * rk_trial_records_free. */
int rk_store_trial_records(rk_store *s, const char *study, rk_trial_record **t, size_t *n,
                           rk_err *err);
void rk_trial_records_free(rk_trial_record *t, size_t n);

/* ---- merging shards (scale-out) ---- */

typedef struct rk_merge_stats {
    size_t trials_added;     /* trials new to dst */
    size_t trials_completed; /* dst trials not finished that src had finished */
    size_t artifacts_added;
} rk_merge_stats;

/* Folds the database at src_path into dst by config hash, in one transaction: new studies,
 * trials (with params, metrics, results, categories, dependencies), finished results for
 * trials dst has not finished, artifacts and pseudo-label stats. A trial src has pending or
 * running arrives pending. Claims verdicts are not merged (re-check after merging).
 * Idempotent. A trial finished in both with different results, or one hash with two configs,
 * is an RK_EFORMAT conflict naming the config hash; dst is then unchanged. src is first
 * opened as a store (so an older shard is upgraded in place). st may be NULL. */
int rk_store_merge(rk_store *dst, const char *src_path, rk_merge_stats *st, rk_err *err);

#endif
