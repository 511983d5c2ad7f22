/* Shared by the store's source files (not public): the connection struct, the prepared
 * statement cache, transaction and binding helpers, the migrator, and a test hook.
 *
 * Invariants every store function keeps:
 *  - a statement from rk_sq_stmt is reset before the function returns (an unreset SELECT
 *    would pin a WAL read snapshot and make this connection's next write fail with
 *    SQLITE_BUSY_SNAPSHOT instead of waiting);
 *  - every read-modify-write runs between rk_sq_begin (BEGIN IMMEDIATE: the write lock is
 *    taken first, waiting on the busy timeout) and rk_sq_commit, and every error path after
 *    rk_sq_begin calls rk_sq_rollback.
 * Checked (RK_ASSERT) where the next function starts: rk_sq_stmt finds the statement it
 * hands out reset; rk_sq_begin and rk_store_close find no transaction open and no
 * statement active. */
#ifndef RETHINK_STORE_INTERNAL_H
#define RETHINK_STORE_INTERNAL_H

#include <sqlite3.h>

#include "rethink/store.h"

#define RK_SQ_MAX_STMTS 96

struct rk_store {
    sqlite3 *db;
    char *path;
    /* Prepared once per connection, keyed by the address of the static SQL text. */
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } cache[RK_SQ_MAX_STMTS];
    size_t ncache;
    int readonly;      /* rk_store_open_readonly: rk_sq_begin refuses */
    double busy_since; /* start of the current wait for the lock (busy handler) */
    uint64_t jitter;   /* xorshift state: desynchronises waiters' retries */
};

/* *st = the cached statement for sql (a static array: its address is the key), reset with
 * bindings cleared. */
int rk_sq_stmt(rk_store *s, const char *sql, sqlite3_stmt **st, rk_err *err);
/* RK_EIO "store PATH: what: sqlite message". */
int rk_sq_err(rk_store *s, rk_err *err, const char *what);
int rk_sq_exec(rk_store *s, const char *sql, rk_err *err);
int rk_sq_begin(rk_store *s, rk_err *err);
int rk_sq_commit(rk_store *s, rk_err *err);
void rk_sq_rollback(rk_store *s);
/* Runs a cached statement that returns no rows (or whose rows are ignored) to completion. */
int rk_sq_step_done(rk_store *s, sqlite3_stmt *st, rk_err *err, const char *what);

/* Bind helpers: NULL text and NAN doubles become SQL NULL; column readers map back. */
void rk_sq_bind_text(sqlite3_stmt *st, int i, const char *v);
void rk_sq_bind_real(sqlite3_stmt *st, int i, double v);
double rk_sq_col_real(sqlite3_stmt *st, int i);
int64_t rk_sq_col_int(sqlite3_stmt *st, int i, int64_t if_null);
/* malloc'd copy of a text column, NULL for SQL NULL; *oom set on allocation failure. */
char *rk_sq_col_dup(sqlite3_stmt *st, int i, int *oom);
/* Grows *v (element size sz) so that index k fits: 0, or -1 out of memory (*v kept). */
int rk_sq_grow(void **v, size_t *cap, size_t k, size_t sz);
/* The results table's stat columns, in rk_coco_stat_name order, each prefixed by p ("r.":
 * column names are case-insensitive, so ARm would be ambiguous beside trials.arm). */
#define RK_SQ_STATS(p)                                                                      \
    p "AP, " p "AP50, " p "AP75, " p "APs, " p "APm, " p "APl, " p "AR1, " p "AR10, " p     \
    "AR100, " p "ARs, " p "ARm, " p "ARl"
/* Unix time now, seconds (UTC, fractional). */
double rk_sq_now(void);

/* Inside a transaction: RK_OK if (id, attempt) is the trial's current lease, RK_STORE_LOST
 * if not, RK_EINVAL for no such trial. *kind (may be NULL) gets the trial's kind, malloc'd. */
int rk_sq_check_lease(rk_store *s, int64_t id, int attempt, char **kind, rk_err *err);

/* Inside a transaction: one metric row of (id, attempt) at time now (replacing the same
 * name and step). */
int rk_sq_metric_put(rk_store *s, int64_t id, int attempt, const rk_metric *m, double now,
                     rk_err *err);
/* RK_EINVAL unless every name of m[0..n) is non-empty and terminated. */
int rk_sq_metrics_check(rk_store *s, const rk_metric *m, size_t n, rk_err *err);

/* Id of a study by name; creates it when create != 0, else *id = 0 if missing. */
int rk_sq_study_id(rk_store *s, const char *name, int create, int64_t *id, rk_err *err);

/* ---- schema ---- */
typedef struct rk_sq_migration {
    int version;             /* strictly increasing from 1 */
    const char *description;
    const char *const *steps; /* SQL statements, NULL-terminated */
    /* How a read-only connection sees a database of the previous version as this one,
     * writing nothing to the file: the columns the migration adds, as {table, "expr AS
     * column"} pairs (NULL-terminated), which the opener folds, over every missing migration,
     * into one TEMP view per table named like it (temp is searched before the file); then
     * TEMP statements for anything else (an empty TEMP table for a new table). Both NULL:
     * such a database cannot be read without migrating it first. */
    const char *const (*read_cols)[2];
    const char *const *read_as;
} rk_sq_migration;

extern const rk_sq_migration rk_sq_migrations[];
extern const size_t rk_sq_nmigrations;

/* Applies the migrations newer than the database's version, in one BEGIN IMMEDIATE
 * transaction (so concurrent openers of a fresh file create the schema once); a database
 * newer than the last migration is RK_EFORMAT. */
int rk_sq_migrate(rk_store *s, const rk_sq_migration *m, size_t n, rk_err *err);
/* rk_store_open with a given migration list (rk_store_open passes rk_sq_migrations); tests
 * use it to check upgrades from an older schema. */
int rk_sq_open(rk_store **s, const char *path, const rk_sq_migration *m, size_t n,
               rk_err *err);

/* Tests only: called at named points inside transactions ("finish:results-written") so a
 * test can kill the process mid-transaction. NULL in production. */
extern void (*rk_store_test_hook)(const char *point);

#endif
