/* The store's connection: opening (pragmas, migrations; or read-only, never migrating), the
 * prepared statement cache,
 * transaction and binding helpers shared by the other store files, studies, and the
 * consistency check.
 *
 * Why these pragmas: WAL lets readers (reports, `rethink ls`) run while workers write and
 * makes a commit one append; synchronous=NORMAL in WAL mode keeps every committed
 * transaction through a process crash (kill -9) — only a power loss may drop the last few
 * commits, and never corrupts the file; foreign_keys is per connection and off by default;
 * the busy timeout is what makes concurrent writers wait rather than fail. */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_internal.h"

void (*rk_store_test_hook)(const char *point);

const char *rk_trial_status_name(rk_trial_status st)
{
    switch (st) {
    case RK_TRIAL_PENDING: return "pending";
    case RK_TRIAL_RUNNING: return "running";
    case RK_TRIAL_FINISHED: return "finished";
    case RK_TRIAL_FAILED: return "failed";
    }
    return "?";
}

/* ---- helpers shared by the store's files ---- */

/* The rc of the connection's last error: a full disk (SQLITE_FULL, or an I/O error whose
 * system errno is ENOSPC) and out of memory are interruptions (core.h), a corrupt file or
 * one that is not a database RK_EFORMAT, the rest RK_EIO. */
static int sq_rc(sqlite3 *db)
{
    int e = sqlite3_extended_errcode(db), sys = sqlite3_system_errno(db);
    switch (e & 0xff) {
    case SQLITE_FULL: return RK_ENOSPACE;
    case SQLITE_NOMEM: return RK_ENOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return RK_EFORMAT;
    case SQLITE_IOERR: return rk_errno_rc(sys);
    default: return RK_EIO;
    }
}

/* What to do about a corrupt file, after SQLite's word for it. */
static const char *sq_advice(sqlite3 *db)
{
    switch (sqlite3_extended_errcode(db) & 0xff) {
    case SQLITE_CORRUPT:
        return " (the file is corrupt: restore it from a copy; `sqlite3 FILE .recover` may "
               "save what is left)";
    case SQLITE_NOTADB: return " (not an SQLite database)";
    default: return "";
    }
}

int rk_sq_err(rk_store *s, rk_err *err, const char *what)
{
    return rk_errf(err, sq_rc(s->db), "store %s: %s: %s%s", s->path, what,
                   sqlite3_errmsg(s->db), sq_advice(s->db));
}

/* Whether a cached statement is active: stepped, neither reset nor run to the end. */
static int any_active(rk_store *s)
{
    for (size_t i = 0; i < s->ncache; i++)
        if (sqlite3_stmt_busy(s->cache[i].st)) return 1;
    return 0;
}

int rk_sq_stmt(rk_store *s, const char *sql, sqlite3_stmt **out, rk_err *err)
{
    *out = NULL;
    for (size_t i = 0; i < s->ncache; i++) {
        if (s->cache[i].sql == sql) {
            sqlite3_stmt *st = s->cache[i].st;
            RK_ASSERT(!sqlite3_stmt_busy(st)); /* the last function to use it reset it */
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            *out = st;
            return RK_OK;
        }
    }
    if (s->ncache == RK_SQ_MAX_STMTS)
        return rk_errf(err, RK_EINVAL, "store %s: more than %d distinct statements "
                       "(raise RK_SQ_MAX_STMTS)", s->path, RK_SQ_MAX_STMTS);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        return rk_sq_err(s, err, "preparing a statement");
    s->cache[s->ncache].sql = sql;
    s->cache[s->ncache].st = st;
    s->ncache++;
    *out = st;
    return RK_OK;
}

int rk_sq_exec(rk_store *s, const char *sql, rk_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = rk_errf(err, sq_rc(s->db), "store %s: %s%s", s->path,
                         msg ? msg : sqlite3_errmsg(s->db), sq_advice(s->db));
        sqlite3_free(msg);
        return rc;
    }
    return RK_OK;
}

int rk_sq_begin(rk_store *s, rk_err *err)
{
    if (s->readonly)
        return rk_errf(err, RK_EINVAL, "store %s: opened read-only, cannot write", s->path);
    /* the store's invariants, where every write starts: the last function committed or
     * rolled back, and reset its statements */
    RK_ASSERT(sqlite3_get_autocommit(s->db));
    RK_ASSERT(!any_active(s));
    /* IMMEDIATE: take the write lock now, waiting on the busy timeout. A deferred
     * transaction that reads first and writes later cannot wait: upgrading a stale read
     * snapshot fails at once with SQLITE_BUSY, which is Optuna's "database is locked". */
    return rk_sq_exec(s, "BEGIN IMMEDIATE", err);
}

int rk_sq_commit(rk_store *s, rk_err *err)
{
    assert(!sqlite3_get_autocommit(s->db)); /* after rk_sq_begin */
    int rc = rk_sq_exec(s, "COMMIT", err);
    if (rc) rk_sq_rollback(s);
    return rc;
}

void rk_sq_rollback(rk_store *s)
{
    if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int rk_sq_step_done(rk_store *s, sqlite3_stmt *st, rk_err *err, const char *what)
{
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {}
    int rc = r == SQLITE_DONE ? RK_OK : rk_sq_err(s, err, what);
    sqlite3_reset(st);
    return rc;
}

void rk_sq_bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v) sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, i);
}

void rk_sq_bind_real(sqlite3_stmt *st, int i, double v)
{
    if (isnan(v)) sqlite3_bind_null(st, i);
    else sqlite3_bind_double(st, i, v);
}

double rk_sq_col_real(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

int64_t rk_sq_col_int(sqlite3_stmt *st, int i, int64_t if_null)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? if_null : sqlite3_column_int64(st, i);
}

char *rk_sq_col_dup(sqlite3_stmt *st, int i, int *oom)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    if (!v) return NULL;
    char *d = strdup((const char *)v);
    if (!d) *oom = 1;
    return d;
}

int rk_sq_grow(void **v, size_t *cap, size_t k, size_t sz)
{
    if (k < *cap) return 0;
    size_t nc = *cap ? 2 * *cap : 16;
    void *nv = realloc(*v, nc * sz);
    if (!nv) return -1;
    *v = nv;
    *cap = nc;
    return 0;
}

double rk_sq_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- migrations ---- */

/* Whether the file has the schema_version table (*has) and how many other tables, views,
 * indices and triggers (*others). Any error — not an SQLite file, a corrupt one, one that
 * cannot be opened — is reported as what it is, never read as "no such table". */
static int read_objects(rk_store *s, int *has, int *others, rk_err *err)
{
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT (SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                      " AND name = 'schema_version'), (SELECT count(*) FROM sqlite_master"
                      " WHERE name <> 'schema_version' AND name NOT LIKE 'sqlite_%')";
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return rk_sq_err(s, err, "reading the schema");
    int r = sqlite3_step(st);
    *has = r == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
    *others = r == SQLITE_ROW ? sqlite3_column_int(st, 1) : 0;
    sqlite3_finalize(st);
    return r == SQLITE_ROW ? RK_OK : rk_sq_err(s, err, "reading the schema");
}

/* Current version: 0 for a database without the schema_version table. */
static int read_version(rk_store *s, int *version, rk_err *err)
{
    sqlite3_stmt *st = NULL;
    int has, others, rc = read_objects(s, &has, &others, err);
    *version = 0;
    if (rc || !has) return rc;
    if (sqlite3_prepare_v2(s->db, "SELECT coalesce(max(version), 0) FROM schema_version", -1, &st,
                           NULL) != SQLITE_OK)
        return rk_sq_err(s, err, "reading the schema version");
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return r == SQLITE_ROW ? RK_OK : rk_sq_err(s, err, "reading the schema version");
}

int rk_sq_migrate(rk_store *s, const rk_sq_migration *m, size_t n, rk_err *err)
{
    int latest = n ? m[n - 1].version : 0;
    int v, rc = read_version(s, &v, err);
    if (rc) return rc;
    if (v == latest) return RK_OK; /* the common case takes no write lock */
    if ((rc = rk_sq_begin(s, err))) return rc;
    /* Re-read under the lock: another process may have migrated meanwhile. */
    if ((rc = rk_sq_exec(s, "CREATE TABLE IF NOT EXISTS schema_version ("
                            " version INTEGER PRIMARY KEY, applied REAL NOT NULL,"
                            " description TEXT)", err)) ||
        (rc = read_version(s, &v, err)))
        goto fail;
    if (v > latest) {
        rc = rk_errf(err, RK_EFORMAT,
                     "store %s: schema version %d is newer than this rethink's %d: "
                     "open it with a newer rethink", s->path, v, latest);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        if (m[i].version <= v) continue;
        for (const char *const *q = m[i].steps; *q; q++) {
            if (sqlite3_exec(s->db, *q, NULL, NULL, NULL) != SQLITE_OK) {
                rc = rk_errf(err, RK_EIO, "store %s: migration to schema version %d (%s): %s",
                             s->path, m[i].version, m[i].description, sqlite3_errmsg(s->db));
                goto fail;
            }
        }
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(s->db, "INSERT INTO schema_version VALUES (?, ?, ?)", -1, &st,
                               NULL) != SQLITE_OK) {
            rc = rk_sq_err(s, err, "recording the schema version");
            goto fail;
        }
        sqlite3_bind_int(st, 1, m[i].version);
        sqlite3_bind_double(st, 2, rk_sq_now());
        sqlite3_bind_text(st, 3, m[i].description, -1, SQLITE_STATIC);
        int r = sqlite3_step(st);
        sqlite3_finalize(st);
        if (r != SQLITE_DONE) {
            rc = rk_sq_err(s, err, "recording the schema version");
            goto fail;
        }
    }
    return rk_sq_commit(s, err);
fail:
    rk_sq_rollback(s);
    return rc;
}

/* ---- waiting for the lock ---- */

/* SQLite's own busy_timeout handler backs off to 100 ms sleeps, and its locks are not
 * queued: whoever asks when the lock is free gets it. Under a burst of writers a waiter
 * sleeping 100 ms keeps losing to writers that just let go, and can wait for seconds
 * (measured: 1.3 s, one of 8 workers getting nothing; bench/store_bench.c). Retrying every
 * 0.05..1 ms, jittered so waiters don't retry in lock-step, keeps the longest wait near the
 * few milliseconds a transaction takes, at a small CPU cost while waiting. The total wait
 * is still bounded by RK_STORE_BUSY_MS. */
static int busy_wait(void *ctx, int count)
{
    rk_store *s = ctx;
    double now = rk_sq_now();
    if (count == 0) s->busy_since = now;
    if (now - s->busy_since > RK_STORE_BUSY_MS * 1e-3) return 0; /* give up: SQLITE_BUSY */
    s->jitter ^= s->jitter << 13;
    s->jitter ^= s->jitter >> 7;
    s->jitter ^= s->jitter << 17;
    unsigned cap = count < 4 ? 100u << count : 1000u; /* us: 100, 200, 400, 800, 1000 ... */
    usleep((useconds_t)(50 + s->jitter % cap));
    return 1;
}

/* ---- opening ---- */

/* Switches the file to WAL (persistent: later opens find it set and take no lock). The
 * switch needs an exclusive lock, and when several connections race on a fresh file SQLite
 * may answer SQLITE_BUSY without calling the busy handler (it refuses to wait while holding a
 * shared lock, to avoid deadlock) — measured: 1 in ~200 runs of eight simultaneous openers.
 * So the pragma is retried here on the handler's schedule and deadline. */
static int set_wal(rk_store *s, rk_err *err)
{
    for (int count = 0;; count++) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK)
            return rk_sq_err(s, err, "setting WAL mode");
        int r = sqlite3_step(st);
        char mode[16] = "";
        if (r == SQLITE_ROW)
            snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        if (r == SQLITE_ROW) {
            /* the answer is the mode in force; anything but wal (a read-only medium, a
             * filesystem without shared memory) would break the concurrency story */
            if (strcmp(mode, "wal") == 0 ||
                (strcmp(mode, "memory") == 0 && strcmp(s->path, ":memory:") == 0))
                return RK_OK;
            return rk_errf(err, RK_EIO, "store %s: the database cannot use WAL journaling "
                           "(journal mode stays %s: read-only or network filesystem?)", s->path,
                           mode);
        }
        if ((r & 0xff) != SQLITE_BUSY && (r & 0xff) != SQLITE_LOCKED)
            return rk_sq_err(s, err, "setting WAL mode");
        if (!busy_wait(s, count))
            return rk_errf(err, RK_EIO, "store %s: setting WAL mode: database is locked "
                           "(waited %d ms)", s->path, RK_STORE_BUSY_MS);
    }
}

/* A connection to path (sqlite3_open_v2's flags) with the store's busy handler. */
static int store_connect(rk_store **out, const char *path, int flags, rk_err *err)
{
    *out = NULL;
    if (!path || !*path) return rk_errf(err, RK_EINVAL, "store: no database path given");
    rk_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return rk_errf(err, RK_ENOMEM, "store %s: out of memory", path);
    }
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        int rc = rk_errf(err, RK_EIO, "store %s: cannot open: %s", path,
                         s->db ? sqlite3_errmsg(s->db) : "out of memory");
        rk_store_close(s);
        return rc;
    }
    sqlite3_extended_result_codes(s->db, 1);
    /* first: the pragmas that follow may wait too */
    s->jitter = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)getpid() << 17) ^ (uint64_t)(uintptr_t)s;
    sqlite3_busy_handler(s->db, busy_wait, s);
    *out = s;
    return RK_OK;
}

int rk_sq_open(rk_store **out, const char *path, const rk_sq_migration *m, size_t n,
               rk_err *err)
{
    rk_store *s;
    int rc = store_connect(&s, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err);
    if (rc) return rc;
    /* before anything writes (WAL is a write): a file of another program is never made a
     * store, only a new (or empty) one or a store already */
    int has, others;
    if ((rc = read_objects(s, &has, &others, err))) goto fail;
    if (!has && others) {
        rc = rk_errf(err, RK_EFORMAT, "%s: an SQLite database of another program (%d tables, "
                     "views or indices, no rethink schema_version): refusing to add rethink's "
                     "tables to it; give --db a new file", path, others);
        goto fail;
    }
    if ((rc = rk_sq_exec(s, "PRAGMA foreign_keys = ON", err))) goto fail;
    if ((rc = set_wal(s, err))) goto fail;
    if ((rc = rk_sq_exec(s, "PRAGMA synchronous = NORMAL", err))) goto fail;
    if ((rc = rk_sq_migrate(s, m, n, err))) goto fail;
    *out = s;
    return RK_OK;
fail:
    rk_store_close(s);
    return rc;
}

int rk_store_open(rk_store **s, const char *path, rk_err *err)
{
    return rk_sq_open(s, path, rk_sq_migrations, rk_sq_nmigrations, err);
}

/* The TEMP views and tables that show a version-v database as the latest: per table, one
 * view adding the columns of every migration after v (in order), then their other
 * statements. */
static int read_as_latest(rk_store *s, const rk_sq_migration *m, size_t n, int v, rk_err *err)
{
    const char *done[32]; /* tables whose view is made */
    size_t ndone = 0;
    int rc = RK_OK;
    for (size_t i = 0; i < n && !rc; i++)
        for (const char *const(*c)[2] = m[i].read_cols; m[i].version > v && !rc && c && (*c)[0]; c++) {
            const char *table = (*c)[0];
            size_t k = 0;
            while (k < ndone && strcmp(done[k], table)) k++;
            if (k < ndone) continue;
            RK_ASSERT(ndone < sizeof done / sizeof *done);
            done[ndone++] = table;
            size_t cap = 64 + 2 * strlen(table), len;
            for (size_t j = i; j < n; j++)
                for (const char *const(*d)[2] = m[j].read_cols; d && (*d)[0]; d++) cap += strlen((*d)[1]) + 2;
            char *q = malloc(cap);
            if (!q) return rk_errf(err, RK_ENOMEM, "store %s: out of memory", s->path);
            len = (size_t)sprintf(q, "CREATE TEMP VIEW %s AS SELECT *", table);
            for (size_t j = i; j < n; j++)
                for (const char *const(*d)[2] = m[j].read_cols; d && (*d)[0]; d++)
                    if (!strcmp((*d)[0], table)) len += (size_t)sprintf(q + len, ", %s", (*d)[1]);
            sprintf(q + len, " FROM main.%s", table);
            rc = rk_sq_exec(s, q, err);
            free(q);
        }
    for (size_t i = 0; i < n && !rc; i++)
        for (const char *const *q = m[i].read_as; m[i].version > v && !rc && q && *q; q++)
            rc = rk_sq_exec(s, *q, err);
    return rc;
}

/* A read-only connection that can read the file. A WAL database whose -shm index cannot be
 * created (a read-only mount, a folder without write permission) cannot be read normally;
 * when it has no -wal file with unfinished writes, every committed page is in the main file
 * and SQLite may read it as immutable. */
static int connect_readonly(rk_store **out, const char *path, rk_err *err)
{
    int has, others, rc = store_connect(out, path, SQLITE_OPEN_READONLY, err);
    if (rc) return rc;
    (*out)->readonly = 1;
    if (!(rc = read_objects(*out, &has, &others, err))) return RK_OK;
    if ((sqlite3_extended_errcode((*out)->db) & 0xff) != SQLITE_CANTOPEN) goto fail;
    char wal[4200];
    struct stat sb;
    snprintf(wal, sizeof wal, "%s-wal", path);
    if (stat(wal, &sb) == 0 && sb.st_size > 0) {
        rc = rk_errf(err, RK_EIO, "%s: a WAL database in a read-only folder, with writes not yet "
                     "in the main file (%s): copy both files to a writable folder to read it",
                     path, wal);
        goto fail;
    }
    rk_store_close(*out);
    *out = NULL;
    /* file:PATH?immutable=1, with the characters a URI gives meaning to escaped */
    char uri[12800] = "file:";
    size_t n = strlen(uri);
    for (const char *c = path; *c && n + 4 < sizeof uri; c++)
        n += (size_t)(*c == '?' || *c == '#' || *c == '%'
                          ? snprintf(uri + n, sizeof uri - n, "%%%02X", (unsigned char)*c)
                          : snprintf(uri + n, sizeof uri - n, "%c", *c));
    snprintf(uri + n, sizeof uri - n, "?immutable=1");
    if ((rc = store_connect(out, uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, err))) return rc;
    (*out)->readonly = 1;
    free((*out)->path); /* messages name the file, not the URI */
    if (!((*out)->path = strdup(path))) {
        rc = rk_errf(err, RK_ENOMEM, "store %s: out of memory", path);
        goto fail;
    }
    if (!(rc = read_objects(*out, &has, &others, err))) return RK_OK;
fail:
    rk_store_close(*out);
    *out = NULL;
    return rc;
}

/* PRAGMA integrity_check: a corrupt page, or an index that disagrees with its table, is an
 * error here, before a query that meets it answers with fewer rows and no error ("no
 * finished trials yet"). quick_check would not compare indices with their tables (the
 * results-database fuzzer made one that read as no trials); a whole check costs about a
 * second per 100 MB. One report is not corruption: SQLite 3.40 says "NULL value in
 * trial_artifacts.artifact_hash" for every row of schema version 3's trial_artifacts (a
 * NOT NULL column between the key's columns of a WITHOUT ROWID table; schema.c, migration
 * 4), so a version-3 file is read past it. */
static int check_file(rk_store *s, rk_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check(100)", -1, &st, NULL) != SQLITE_OK)
        return rk_sq_err(s, err, "checking the file");
    int r = SQLITE_DONE, rc = RK_OK, rows = 0;
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        rows++;
        if (t && (!strcmp(t, "ok") || strstr(t, "NULL value in trial_artifacts.artifact_hash")))
            continue;
        rc = rk_errf(err, RK_EFORMAT, "store %s: the file is corrupt (%.200s): restore it from "
                     "a copy; `sqlite3 FILE .recover` may save what is left", s->path,
                     t ? t : "?");
    }
    if (!rc && (r != SQLITE_DONE || !rows)) rc = rk_sq_err(s, err, "checking the file");
    sqlite3_finalize(st);
    return rc;
}

/* No pragma here: WAL is a property of the file (its writers set it), and a read-only
 * connection can neither set it nor needs foreign keys. */
int rk_store_open_readonly(rk_store **out, const char *path, rk_err *err)
{
    const rk_sq_migration *m = rk_sq_migrations;
    size_t n = rk_sq_nmigrations;
    struct stat sb;
    *out = NULL;
    if (path && *path && stat(path, &sb) != 0)
        return rk_errf(err, RK_EINVAL, "%s: no such database (run a sweep first, or pass --db)",
                       path);
    rk_store *s;
    int v = 0, latest = n ? m[n - 1].version : 0;
    int rc = connect_readonly(&s, path, err);
    if (rc) return rc;
    if ((rc = read_version(s, &v, err))) {
        /* said as it is: corrupt, not a database, unreadable */
    } else if (v < 1) {
        rc = rk_errf(err, RK_EINVAL, "%s: not a rethink results database (an SQLite file "
                     "without rethink's schema_version table)", path);
    } else if (v > latest) {
        rc = rk_errf(err, RK_EFORMAT, "%s: schema version %d is newer than this rethink's %d",
                     path, v, latest);
    }
    for (size_t i = 0; i < n && !rc; i++)
        if (m[i].version > v && !m[i].read_cols && !m[i].read_as)
            rc = rk_errf(err, RK_EFORMAT, "%s: schema version %d cannot be read without "
                         "upgrading it: run a sweep or a merge on it with this rethink", path, v);
    if (!rc) rc = check_file(s, err);
    if (!rc) rc = read_as_latest(s, m, n, v, err);
    if (rc) {
        rk_store_close(s);
        return rc;
    }
    *out = s;
    return RK_OK;
}

void rk_store_close(rk_store *s)
{
    if (!s) return;
    RK_ASSERT(sqlite3_get_autocommit(s->db) && !any_active(s));
    for (size_t i = 0; i < s->ncache; i++) sqlite3_finalize(s->cache[i].st);
    /* close_v2 would defer; every statement is finalized, so close succeeds. */
    if (s->db) sqlite3_close(s->db);
    free(s->path);
    free(s);
}

int rk_store_schema_version(rk_store *s, int *version, rk_err *err)
{
    return read_version(s, version, err);
}

/* ---- studies ---- */

int rk_sq_study_id(rk_store *s, const char *name, int create, int64_t *id, rk_err *err)
{
    static const char q_get[] = "SELECT id FROM studies WHERE name = ?";
    static const char q_ins[] = "INSERT INTO studies (name, created, updated) VALUES (?, ?, ?)";
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q_get, &st, err);
    if (rc) return rc;
    rk_sq_bind_text(st, 1, name);
    int r = sqlite3_step(st);
    *id = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE) return rk_sq_err(s, err, "looking up a study");
    if (*id || !create) return RK_OK;
    if ((rc = rk_sq_stmt(s, q_ins, &st, err))) return rc;
    double now = rk_sq_now();
    rk_sq_bind_text(st, 1, name);
    sqlite3_bind_double(st, 2, now);
    sqlite3_bind_double(st, 3, now);
    rc = rk_sq_step_done(s, st, err, "creating a study");
    if (!rc) *id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int rk_store_study_put(rk_store *s, const char *name, const char *experiment, int64_t *id,
                       rk_err *err)
{
    static const char q_upd[] = "UPDATE studies SET experiment = ?, experiment_hash = ?,"
                                " updated = ? WHERE id = ?";
    if (!name || !*name) return rk_errf(err, RK_EINVAL, "store %s: a study needs a name", s->path);
    int64_t sid;
    int rc = rk_sq_begin(s, err);
    if (rc) return rc;
    if ((rc = rk_sq_study_id(s, name, 1, &sid, err))) goto fail;
    if (experiment) {
        char hash[65];
        rk_sha256_hex(experiment, strlen(experiment), hash);
        sqlite3_stmt *st;
        if ((rc = rk_sq_stmt(s, q_upd, &st, err))) goto fail;
        rk_sq_bind_text(st, 1, experiment);
        rk_sq_bind_text(st, 2, hash);
        sqlite3_bind_double(st, 3, rk_sq_now());
        sqlite3_bind_int64(st, 4, sid);
        if ((rc = rk_sq_step_done(s, st, err, "recording a study's experiment"))) goto fail;
    }
    if ((rc = rk_sq_commit(s, err))) return rc;
    if (id) *id = sid;
    return RK_OK;
fail:
    rk_sq_rollback(s);
    return rc;
}

void rk_store_strings_free(char **v, size_t n)
{
    if (!v) return;
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* The first column of every row of the (cached) statement q, as strings. */
static int names_query(rk_store *s, const char *q, char ***names, size_t *n, rk_err *err)
{
    *names = NULL;
    *n = 0;
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q, &st, err);
    if (rc) return rc;
    char **v = NULL;
    size_t k = 0, cap = 0;
    int r, oom = 0;
    while ((r = sqlite3_step(st)) == SQLITE_ROW && !oom) {
        if (rk_sq_grow((void **)&v, &cap, k, sizeof *v)) {
            oom = 1;
            break;
        }
        if (!(v[k] = rk_sq_col_dup(st, 0, &oom))) oom = 1;
        else k++;
    }
    sqlite3_reset(st);
    if (oom || (r != SQLITE_DONE && r != SQLITE_ROW)) {
        rk_store_strings_free(v, k);
        return oom ? rk_errf(err, RK_ENOMEM, "store %s: out of memory", s->path)
                   : rk_sq_err(s, err, "listing studies");
    }
    *names = v;
    *n = k;
    return RK_OK;
}

int rk_store_studies_list(rk_store *s, char ***names, size_t *n, rk_err *err)
{
    static const char q[] = "SELECT name FROM studies ORDER BY name";
    return names_query(s, q, names, n, err);
}

int rk_store_studies_with_results(rk_store *s, char ***names, size_t *n, rk_err *err)
{
    static const char q[] =
        "SELECT DISTINCT s.name FROM trials t JOIN studies s ON s.id = t.study_id"
        " JOIN results r ON r.trial_id = t.id WHERE t.status = 'finished'"
        " AND t.kind = 'detector' AND t.arm IS NOT NULL ORDER BY s.name";
    return names_query(s, q, names, n, err);
}

/* ---- consistency ---- */

/* First text cell of the first row of sql, or *found = 0. Copies into buf. */
static int first_text(rk_store *s, const char *sql, char *buf, size_t cap, int *found,
                      rk_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return rk_sq_err(s, err, "checking consistency");
    int r = sqlite3_step(st);
    *found = r == SQLITE_ROW;
    if (*found) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(buf, cap, "%s", t ? (const char *)t : "NULL");
    }
    sqlite3_finalize(st);
    return r == SQLITE_ROW || r == SQLITE_DONE ? RK_OK : rk_sq_err(s, err, "checking consistency");
}

int rk_store_check(rk_store *s, rk_err *err)
{
    static const struct {
        const char *sql, *problem;
        int ok_if_found; /* integrity_check answers "ok"; the others answer nothing */
    } checks[] = {
        {"PRAGMA integrity_check", "integrity_check", 1},
        {"PRAGMA foreign_key_check", "foreign key violation in table", 0},
        {"SELECT config_hash FROM trials t WHERE status = 'finished' AND kind = 'detector'"
         " AND NOT EXISTS (SELECT 1 FROM results r WHERE r.trial_id = t.id)",
         "finished trial without results", 0},
        {"SELECT config_hash FROM trials WHERE status = 'running' AND heartbeat IS NULL",
         "running trial without heartbeat", 0},
        {"SELECT config_hash FROM trials t WHERE status = 'finished' AND EXISTS (SELECT 1"
         " FROM metrics m WHERE m.trial_id = t.id AND m.attempt <> t.attempts)",
         "finished trial with metrics of an earlier attempt", 0},
    };
    /* One read transaction: every check sees the same snapshot. */
    int rc = rk_sq_exec(s, "BEGIN", err);
    if (rc) return rc;
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        char buf[256];
        int found;
        if ((rc = first_text(s, checks[i].sql, buf, sizeof buf, &found, err))) break;
        int bad = checks[i].ok_if_found ? (!found || strcmp(buf, "ok") != 0) : found;
        if (bad) {
            rc = rk_errf(err, RK_EFORMAT, "store %s: %s: %s", s->path, checks[i].problem,
                         found ? buf : "no answer");
            break;
        }
    }
    rk_sq_rollback(s);
    return rc;
}
