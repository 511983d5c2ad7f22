/* rethink import: results produced outside rethink, recorded as finished trials so that
 * report and check treat them as native ones (`rethink import`, docs/EXPERIMENTS.md §Results
 * from elsewhere).
 *
 * A table is CSV (a header row, RFC 4180 quoting) or JSON (an array of flat objects), told
 * apart by its first byte ('[': JSON). Each row is one trial; its columns are read by name:
 *   arm, aug, fraction, seed     the cell (also as trial.arm, ...); arm and seed required,
 *                                fraction defaults to 1, aug to none;
 *   AP, AP50, ... ARl            the 12 COCO stats (rk_coco_stat_name) as fractions in
 *                                [0, 1], -1 where undefined (pycocotools); AP required;
 *   wall_s, cpu_s, images, flops, teacher_cpu_s, pseudo_cpu_s   compute, as the store keeps it;
 *   status                       `rethink export`'s: a row that is not "finished" is skipped;
 *   id, study, config_hash, attempts   `rethink export`'s bookkeeping: ignored;
 *   param:KEY, or a dotted key of rethink's config sections (train.lr, model.width, data.*,
 *                                study.*, pretrain.*, selftrain.*, augment.*)   a parameter;
 *   metric:NAME, or any other column   a metric (a number), recorded at step 0.
 * An empty cell (JSON null) is an absent value.
 *
 * Identity: the row's config — trial.arm, trial.aug, trial.fraction, trial.seed and the
 * parameters, numbers written in their shortest round-trip form (0.50 and 5e-1 are "0.5") —
 * as canonical JSON (rk_config_json_all), whose SHA-256 is the config hash, exactly as a
 * native trial's (which always holds the dataset's and model's keys, so the two never
 * collide). Importing a file twice changes nothing; a row whose trial is already finished
 * with other results is a conflict (rk_store_trials_import). */
#ifndef RETHINK_IMPORT_H
#define RETHINK_IMPORT_H

#include <stddef.h>

#include "rethink/config.h"
#include "rethink/store.h"

typedef struct rk_import_row {
    char where[1100];              /* "FILE:LINE" of the row */
    rk_config cfg;                 /* trial.* and the parameters */
    char *config_json;             /* canonical (owned) */
    char hash[65];                 /* its SHA-256: the identity */
    char *arm, *aug;               /* aug may be NULL */
    double fraction;
    long long seed;
    double stats[RK_COCO_NSTATS];  /* NAN: not given */
    double wall_s, cpu_s, flops, teacher_cpu_s, pseudo_cpu_s; /* NAN: not given */
    long long images;              /* -1: not given */
    rk_metric *metrics;
    size_t nmetrics;
    rk_category_ap *cats;          /* per-category AP (a scored results file), may be NULL */
    size_t ncats;
} rk_import_row;

void rk_import_row_free(rk_import_row *r);

/* Reads one row from its columns names[i] = values[i] (values[i] NULL or "": absent), as the
 * header above says; with need_stats 0 the stats may all be absent (the caller fills them).
 * *skip = 1 for a row whose status is not "finished" (nothing else is read). Errors are
 * RK_EINVAL "FILE:LINE: column NAME: expected ..., got '...'". */
int rk_import_row_read(rk_import_row *r, const char *const *names, const char *const *values,
                       size_t n, const char *file, long line, int need_stats, int *skip,
                       rk_err *err);

typedef struct rk_import_table {
    rk_import_row *rows;
    size_t n;
    size_t skipped; /* rows whose status was not "finished" */
} rk_import_table;

/* Reads a CSV or JSON table (see above): every row checked before anything is recorded; the
 * first bad row is the error, naming the file, its line and the column. */
int rk_import_read(rk_import_table *t, const char *path, rk_err *err);
void rk_import_table_free(rk_import_table *t);

/* Records rows[0..n) in study, in one transaction (rk_store_trials_import): each trial's
 * worker reads "import FILE:LINE"; git_rev (may be NULL) is the importing build's. */
int rk_import_record(rk_store *db, const rk_import_row *rows, size_t n, const char *study,
                     const char *git_rev, rk_import_stats *st, rk_err *err);

#endif
