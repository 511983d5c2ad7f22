/* Running and recording trials for `rethink train` and `rethink sweep` (CLI-only). */
#ifndef RETHINK_CLI_RUN_H
#define RETHINK_CLI_RUN_H

#include "cli.h"
#include "progress.h"
#include "rethink/sweep.h"

#define RUN_HEARTBEAT_S 10

/* Runs trial t (already acquired: t->attempts is the lease) with a heartbeat thread on its
 * own connection to db_path, logging per-epoch metrics under the lease. Its events (start,
 * steps, epochs, pre-training, notes) go to sink (may be NULL); the caller sends the end
 * (run_done_event, run_failed_event) once it recorded it. */
int run_trial(rk_store *db, const char *db_path, const rk_trial *t, const rk_config *cfg,
              const char *label, const run_sink *sink, rk_trial_result *res, rk_err *err);

/* Where a trial's per-epoch metrics go (for rk_store_metrics_add's lease semantics: return
 * RK_STORE_LOST when the lease is gone, and no more are sent). */
typedef int (*run_metrics_fn)(void *ctx, int64_t id, int attempt, const rk_metric *m, size_t n,
                              rk_err *err);
/* run_trial without a store: metrics go to fn (NULL: dropped), no heartbeat thread (an MPI
 * rank sends both to rank 0, which records them). */
int run_trial_with(run_metrics_fn fn, void *ctx, const rk_trial *t, const rk_config *cfg,
                   const char *label, const run_sink *sink, rk_trial_result *res, rk_err *err);
/* The events that end a trial: finished with res, or failed with msg (retry: it goes back
 * to pending). */
run_event run_done_event(const run_sink *sink, const char *label, const rk_trial *t,
                         const rk_trial_result *res);
run_event run_failed_event(const run_sink *sink, const char *label, const rk_trial *t,
                           const char *msg, int retry);

#endif
