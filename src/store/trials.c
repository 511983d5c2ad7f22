/* Trial lifecycle: register (idempotent by config hash), dependencies, acquire (the lease),
 * heartbeat, finish, fail, stale-trial recovery, and reads (one trial, a list, and a study's
 * detector trials with their results and params for reports).
 *
 * The lease is (id, attempts): acquire increments attempts and every later write of the
 * worker names the attempt it holds. Writes check "status = 'running' AND attempts = ?" in
 * the same transaction as the change, so a worker presumed dead and replaced gets
 * RK_STORE_LOST and writes nothing. Attempt numbers are never reused (retry_failed moves
 * attempt_base instead of resetting attempts), so an old lease can never become valid again.
 *
 * The budget: attempts - attempt_base counts the attempts charged to the trial, the current
 * lease included. Only the trial's own failures are charged (a bad config, divergence); an
 * interrupted attempt (rk_rc_interrupted: out of memory or disk, a signal; or a worker that
 * stopped sending heartbeats) moves attempt_base up by one as it goes back to pending, so
 * kills, full disks and lost workers never use up a trial's attempts.
 *
 * Every state change happens inside BEGIN IMMEDIATE ... COMMIT; the schema's triggers
 * additionally refuse a finished detector trial without results and any change out of
 * finished. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* Trials joined with their study name: the column order read_trial expects (TRIAL_NCOLS
 * columns; a query may select more after them). */
#define TRIAL_COLUMNS                                                                       \
    "SELECT t.id, t.config_hash, s.name, t.config, t.kind, t.arm, t.aug, t.fraction,"       \
    " t.seed, t.status, t.attempts, t.max_attempts, t.worker, t.host, t.git_rev,"           \
    " t.data_hash, t.error, t.created, t.started, t.finished, t.heartbeat, t.wall_s,"       \
    " t.cpu_s, t.flops, t.teacher_cpu_s, t.pseudo_cpu_s, t.images, t.error_code,"           \
    " t.stop_reason, t.steps, t.max_steps, t.precision, t.cpu"
#define TRIAL_NCOLS 33
#define TRIAL_FROM " FROM trials t JOIN studies s ON s.id = t.study_id "
#define TRIAL_COLS TRIAL_COLUMNS TRIAL_FROM

/* "(?N IS NULL OR t.study_id = <id of study ?N>)": NULL study means every study. */
#define STUDY_FILTER(n) \
    "(?" #n " IS NULL OR t.study_id = (SELECT id FROM studies WHERE name = ?" #n "))"
/* "(?N IS NULL OR t.id IN <the ids of JSON array ?N>)": NULL means any trial. */
static rk_trial_status parse_status(const char *v)
{
    if (v && strcmp(v, "running") == 0) return RK_TRIAL_RUNNING;
    if (v && strcmp(v, "finished") == 0) return RK_TRIAL_FINISHED;
    if (v && strcmp(v, "failed") == 0) return RK_TRIAL_FAILED;
    return RK_TRIAL_PENDING;
}

void rk_trial_clear(rk_trial *t)
{
    if (!t) return;
    free(t->study);
    free(t->config_json);
    free(t->kind);
    free(t->arm);
    free(t->aug);
    free(t->worker);
    free(t->host);
    free(t->git_rev);
    free(t->data_hash);
    free(t->error);
    free(t->stop_reason);
    free(t->precision);
    free(t->cpu);
    memset(t, 0, sizeof *t);
}

void rk_trials_free(rk_trial *t, size_t n)
{
    if (!t) return;
    for (size_t i = 0; i < n; i++) rk_trial_clear(&t[i]);
    free(t);
}

/* Fills t from a TRIAL_COLS row; RK_ENOMEM leaves t cleared. */
static int read_trial(rk_store *s, sqlite3_stmt *st, rk_trial *t, rk_err *err)
{
    int oom = 0;
    memset(t, 0, sizeof *t);
    t->id = sqlite3_column_int64(st, 0);
    snprintf(t->config_hash, sizeof t->config_hash, "%s", (const char *)sqlite3_column_text(st, 1));
    t->study = rk_sq_col_dup(st, 2, &oom);
    t->config_json = rk_sq_col_dup(st, 3, &oom);
    t->kind = rk_sq_col_dup(st, 4, &oom);
    t->arm = rk_sq_col_dup(st, 5, &oom);
    t->aug = rk_sq_col_dup(st, 6, &oom);
    t->fraction = rk_sq_col_real(st, 7);
    t->seed = rk_sq_col_int(st, 8, 0);
    t->status = parse_status((const char *)sqlite3_column_text(st, 9));
    t->attempts = (int)sqlite3_column_int(st, 10);
    t->max_attempts = (int)sqlite3_column_int(st, 11);
    t->worker = rk_sq_col_dup(st, 12, &oom);
    t->host = rk_sq_col_dup(st, 13, &oom);
    t->git_rev = rk_sq_col_dup(st, 14, &oom);
    t->data_hash = rk_sq_col_dup(st, 15, &oom);
    t->error = rk_sq_col_dup(st, 16, &oom);
    t->created = rk_sq_col_real(st, 17);
    t->started = rk_sq_col_real(st, 18);
    t->finished = rk_sq_col_real(st, 19);
    t->heartbeat = rk_sq_col_real(st, 20);
    t->wall_s = rk_sq_col_real(st, 21);
    t->cpu_s = rk_sq_col_real(st, 22);
    t->flops = rk_sq_col_real(st, 23);
    t->teacher_cpu_s = rk_sq_col_real(st, 24);
    t->pseudo_cpu_s = rk_sq_col_real(st, 25);
    t->images = rk_sq_col_int(st, 26, -1);
    t->error_code = (int)rk_sq_col_int(st, 27, 0);
    t->stop_reason = rk_sq_col_dup(st, 28, &oom);
    t->steps = rk_sq_col_int(st, 29, -1);
    t->max_steps = rk_sq_col_int(st, 30, -1);
    t->precision = rk_sq_col_dup(st, 31, &oom);
    t->cpu = rk_sq_col_dup(st, 32, &oom);
    if (oom) {
        rk_trial_clear(t);
        return rk_errf(err, RK_ENOMEM, "store %s: out of memory reading a trial", s->path);
    }
    return RK_OK;
}

/* Runs a TRIAL_COLS statement (bound by the caller) expecting at most one row. */
static int one_trial(rk_store *s, sqlite3_stmt *st, rk_trial *t, int *found, rk_err *err)
{
    memset(t, 0, sizeof *t); /* rk_trial_clear is safe whatever the outcome */
    int r = sqlite3_step(st), rc = RK_OK;
    *found = r == SQLITE_ROW;
    if (r == SQLITE_ROW) rc = read_trial(s, st, t, err);
    else if (r != SQLITE_DONE) rc = rk_sq_err(s, err, "reading a trial");
    sqlite3_reset(st);
    if (rc) *found = 0;
    return rc;
}

/* ---- params: the config JSON flattened to dotted keys ---- */

/* Objects recurse ("train.lr"); arrays and scalars are leaves: strings as themselves,
 * numbers/booleans/arrays as their JSON text, null as SQL NULL. */
static int put_params(rk_store *s, int64_t id, const cJSON *node, char *key, size_t len,
                      size_t cap, rk_err *err)
{
    static const char q[] = "INSERT OR REPLACE INTO params (trial_id, key, value) VALUES (?, ?, ?)";
    if (cJSON_IsObject(node)) {
        for (const cJSON *c = node->child; c; c = c->next) {
            int n = snprintf(key + len, cap - len, "%s%s", len ? "." : "", c->string);
            if (n < 0 || (size_t)n >= cap - len)
                return rk_errf(err, RK_EINVAL, "store %s: config key %s... longer than %zu bytes",
                               s->path, key, cap - 1);
            int rc = put_params(s, id, c, key, len + (size_t)n, cap, err);
            key[len] = '\0';
            if (rc) return rc;
        }
        return RK_OK;
    }
    if (len == 0) return RK_OK; /* a non-object root has nothing to flatten */
    char *text = NULL;
    const char *value = NULL;
    if (cJSON_IsString(node)) value = node->valuestring;
    else if (!cJSON_IsNull(node)) {
        if (!(text = cJSON_PrintUnformatted(node)))
            return rk_errf(err, RK_ENOMEM, "store %s: out of memory", s->path);
        value = text;
    }
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q, &st, err);
    if (!rc) {
        sqlite3_bind_int64(st, 1, id);
        rk_sq_bind_text(st, 2, key);
        rk_sq_bind_text(st, 3, value);
        rc = rk_sq_step_done(s, st, err, "recording params");
    }
    cJSON_free(text);
    return rc;
}

/* ---- register and dependencies ---- */

/* Inside the caller's transaction: a new pending trial of study sid with its params (cfg:
 * spec->config_json parsed); *tid its id. */
static int insert_trial(rk_store *s, int64_t sid, const char *hash, const rk_trial_spec *spec,
                        int max_attempts, const cJSON *cfg, int64_t *tid, rk_err *err)
{
    static const char q_ins[] =
        "INSERT INTO trials (study_id, config_hash, config, kind, arm, aug, fraction, seed,"
        " max_attempts, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q_ins, &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, sid);
    rk_sq_bind_text(st, 2, hash);
    rk_sq_bind_text(st, 3, spec->config_json);
    rk_sq_bind_text(st, 4, spec->kind ? spec->kind : "detector");
    rk_sq_bind_text(st, 5, spec->arm);
    rk_sq_bind_text(st, 6, spec->aug);
    rk_sq_bind_real(st, 7, spec->fraction);
    sqlite3_bind_int64(st, 8, spec->seed);
    sqlite3_bind_int(st, 9, max_attempts);
    sqlite3_bind_double(st, 10, rk_sq_now());
    if ((rc = rk_sq_step_done(s, st, err, "registering a trial"))) return rc;
    *tid = sqlite3_last_insert_rowid(s->db);
    char key[512] = "";
    return put_params(s, *tid, cfg, key, 0, sizeof key, err);
}

int rk_store_trial_register(rk_store *s, const rk_trial_spec *spec, int64_t *id,
                            rk_trial_status *status, int *created, rk_err *err)
{
    static const char q_find[] = "SELECT id, status, config FROM trials WHERE config_hash = ?";
    if (!spec || !spec->study || !*spec->study || !spec->config_json)
        return rk_errf(err, RK_EINVAL, "store %s: a trial needs a study and a config", s->path);
    cJSON *cfg = cJSON_Parse(spec->config_json);
    if (!cfg || !cJSON_IsObject(cfg)) {
        cJSON_Delete(cfg);
        return rk_errf(err, RK_EINVAL, "store %s: trial config is not a JSON object", s->path);
    }
    char hash[65];
    if (spec->config_hash) {
        size_t n = strlen(spec->config_hash);
        if (n == 0 || n > 64) {
            cJSON_Delete(cfg);
            return rk_errf(err, RK_EINVAL, "store %s: config hash must be 1..64 characters",
                           s->path);
        }
        memcpy(hash, spec->config_hash, n + 1);
    } else {
        rk_sha256_hex(spec->config_json, strlen(spec->config_json), hash);
    }
    int max_attempts = spec->max_attempts > 0 ? spec->max_attempts : RK_STORE_MAX_ATTEMPTS;

    int64_t sid, tid = 0;
    rk_trial_status st_now = RK_TRIAL_PENDING;
    int made = 0;
    sqlite3_stmt *st;
    int rc = rk_sq_begin(s, err);
    if (rc) goto out;
    if ((rc = rk_sq_study_id(s, spec->study, 1, &sid, err))) goto fail;
    if ((rc = rk_sq_stmt(s, q_find, &st, err))) goto fail;
    rk_sq_bind_text(st, 1, hash);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        tid = sqlite3_column_int64(st, 0);
        st_now = parse_status((const char *)sqlite3_column_text(st, 1));
        int same = strcmp((const char *)sqlite3_column_text(st, 2), spec->config_json) == 0;
        sqlite3_reset(st);
        if (!same) {
            rc = rk_errf(err, RK_EINVAL,
                         "store %s: trial %s is already registered with a different config "
                         "(configs must be canonical JSON, or the hash collides)", s->path, hash);
            goto fail;
        }
    } else {
        sqlite3_reset(st);
        if (r != SQLITE_DONE) {
            rc = rk_sq_err(s, err, "looking up a trial");
            goto fail;
        }
        if ((rc = insert_trial(s, sid, hash, spec, max_attempts, cfg, &tid, err))) goto fail;
        made = 1;
    }
    if ((rc = rk_sq_commit(s, err))) goto out;
    if (id) *id = tid;
    if (status) *status = st_now;
    if (created) *created = made;
    goto out;
fail:
    rk_sq_rollback(s);
out:
    cJSON_Delete(cfg);
    return rc;
}

int rk_store_trial_depend(rk_store *s, int64_t trial, int64_t depends_on, rk_err *err)
{
    static const char q_exists[] = "SELECT count(*) FROM trials WHERE id IN (?1, ?2)";
    /* Does depends_on (transitively) depend on trial already? Then trial -> depends_on
     * would close a cycle. */
    static const char q_cycle[] =
        "WITH RECURSIVE up(id) AS (SELECT ?2 UNION SELECT d.depends_on FROM trial_deps d"
        " JOIN up ON d.trial_id = up.id) SELECT 1 FROM up WHERE id = ?1 LIMIT 1";
    static const char q_ins[] = "INSERT OR IGNORE INTO trial_deps VALUES (?, ?)";
    if (trial == depends_on)
        return rk_errf(err, RK_EINVAL, "store %s: trial %lld cannot depend on itself", s->path,
                       (long long)trial);
    int rc = rk_sq_begin(s, err);
    if (rc) return rc;
    sqlite3_stmt *st;
    if ((rc = rk_sq_stmt(s, q_exists, &st, err))) goto fail;
    sqlite3_bind_int64(st, 1, trial);
    sqlite3_bind_int64(st, 2, depends_on);
    int r = sqlite3_step(st);
    int nfound = r == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_reset(st);
    if (nfound < 0) {
        rc = rk_sq_err(s, err, "looking up trials");
        goto fail;
    }
    if (nfound != 2) {
        rc = rk_errf(err, RK_EINVAL, "store %s: dependency %lld -> %lld names a missing trial",
                     s->path, (long long)trial, (long long)depends_on);
        goto fail;
    }
    if ((rc = rk_sq_stmt(s, q_cycle, &st, err))) goto fail;
    sqlite3_bind_int64(st, 1, trial);
    sqlite3_bind_int64(st, 2, depends_on);
    r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r == SQLITE_ROW) {
        rc = rk_errf(err, RK_EINVAL, "store %s: dependency %lld -> %lld would close a cycle",
                     s->path, (long long)trial, (long long)depends_on);
        goto fail;
    }
    if (r != SQLITE_DONE) {
        rc = rk_sq_err(s, err, "checking dependencies");
        goto fail;
    }
    if ((rc = rk_sq_stmt(s, q_ins, &st, err))) goto fail;
    sqlite3_bind_int64(st, 1, trial);
    sqlite3_bind_int64(st, 2, depends_on);
    if ((rc = rk_sq_step_done(s, st, err, "recording a dependency"))) goto fail;
    return rk_sq_commit(s, err);
fail:
    rk_sq_rollback(s);
    return rc;
}

/* ---- recovery steps (run inside the caller's transaction) ---- */

/* Running trials silent since before `cutoff` lost their worker (killed, its machine gone):
 * an interruption, so back to pending without charging the attempt. */
static int expire_stale(rk_store *s, const char *study, double cutoff, size_t *n, rk_err *err)
{
    static const char q[] =
        "UPDATE trials AS t SET status = 'pending', attempt_base = attempt_base + 1,"
        " error = printf('attempt %d: worker %s stopped sending heartbeats (interrupted: not"
        " counted against its attempts)', attempts, coalesce(worker, '?')), error_code = ?2"
        " WHERE status = 'running' AND (heartbeat IS NULL OR heartbeat < ?1)"
        " AND " STUDY_FILTER(3);
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q, &st, err);
    if (rc) return rc;
    sqlite3_bind_double(st, 1, cutoff);
    sqlite3_bind_int(st, 2, RK_EINTERRUPTED);
    rk_sq_bind_text(st, 3, study);
    rc = rk_sq_step_done(s, st, err, "expiring stale trials");
    if (!rc && n) *n = (size_t)sqlite3_changes(s->db);
    return rc;
}

/* Pending trials with a failed dependency can never run: fail them, naming it. Repeated
 * until nothing changes so that failure travels down chains (depth of the DAG). */
static int fail_orphans(rk_store *s, const char *study, rk_err *err)
{
    static const char q[] =
        "UPDATE trials AS t SET status = 'failed', finished = ?1,"
        " error = 'dependency ' || (SELECT u.config_hash FROM trial_deps d JOIN trials u"
        "   ON u.id = d.depends_on WHERE d.trial_id = t.id AND u.status = 'failed'"
        "   ORDER BY u.id LIMIT 1) || ' failed', error_code = NULL"
        " WHERE status = 'pending' AND " STUDY_FILTER(2)
        " AND EXISTS (SELECT 1 FROM trial_deps d JOIN trials u ON u.id = d.depends_on"
        "   WHERE d.trial_id = t.id AND u.status = 'failed')";
    for (;;) {
        sqlite3_stmt *st;
        int rc = rk_sq_stmt(s, q, &st, err);
        if (rc) return rc;
        sqlite3_bind_double(st, 1, rk_sq_now());
        rk_sq_bind_text(st, 2, study);
        if ((rc = rk_sq_step_done(s, st, err, "failing trials whose dependency failed")))
            return rc;
        if (sqlite3_changes(s->db) == 0) return RK_OK;
    }
}

/* ---- acquire ---- */

/* Without taking the write lock: is there a pending trial none of whose dependencies is
 * still pending or running (runnable, or to be failed for a failed dependency), or a stale
 * running trial? Idle workers poll acquire while a long teacher trains; this keeps their
 * polls to WAL reads, which never block the writers doing real work. A hint only: acquire
 * decides again under the lock. */
static int anything_to_do(rk_store *s, const char *study, double cutoff, int *work,
                          rk_err *err)
{
    static const char q[] =
        "SELECT EXISTS (SELECT 1 FROM trials AS t WHERE status = 'pending' AND " STUDY_FILTER(1)
        "   AND NOT EXISTS (SELECT 1 FROM trial_deps d JOIN trials u"
        "     ON u.id = d.depends_on WHERE d.trial_id = t.id"
        "     AND u.status IN ('pending', 'running')))"
        " OR EXISTS (SELECT 1 FROM trials AS t WHERE status = 'running' AND " STUDY_FILTER(1)
        "   AND (heartbeat IS NULL OR heartbeat < ?2))";
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q, &st, err);
    if (rc) return rc;
    rk_sq_bind_text(st, 1, study);
    sqlite3_bind_double(st, 2, cutoff);
    int r = sqlite3_step(st);
    *work = r == SQLITE_ROW && sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    return r == SQLITE_ROW ? RK_OK : rk_sq_err(s, err, "looking for runnable trials");
}

int rk_store_trial_acquire(rk_store *s, const rk_acquire_opts *o, rk_trial *t, int *got,
                           rk_err *err)
{
    static const char q_next[] =
        "SELECT id FROM trials AS t WHERE status = 'pending' AND " STUDY_FILTER(1)
        " AND NOT EXISTS (SELECT 1 FROM trial_deps d JOIN trials u ON u.id = d.depends_on"
        "   WHERE d.trial_id = t.id AND u.status <> 'finished')"
        " AND (?2 = 0 OR id = ?2) ORDER BY id LIMIT 1";
    static const char q_take[] =
        "UPDATE trials SET status = 'running', attempts = attempts + 1, heartbeat = ?1,"
        " started = ?1, finished = NULL, worker = ?2, host = ?3, git_rev = ?4 WHERE id = ?5";
    static const char q_get[] = TRIAL_COLS "WHERE t.id = ?";
    static const rk_acquire_opts none;
    if (!o) o = &none;
    *got = 0;
    memset(t, 0, sizeof *t); /* rk_trial_clear is safe whatever the outcome */
    double stale = o->stale_s > 0 ? o->stale_s : RK_STORE_STALE_S;
    double now = rk_sq_now();
    int work, rc = anything_to_do(s, o->study, now - stale, &work, err);
    if (rc || !work) return rc;
    if ((rc = rk_sq_begin(s, err))) return rc;
    now = rk_sq_now(); /* after waiting for the lock: the lease starts now */
    if ((rc = expire_stale(s, o->study, now - stale, NULL, err)) ||
        (rc = fail_orphans(s, o->study, err)))
        goto fail;
    sqlite3_stmt *st;
    if ((rc = rk_sq_stmt(s, q_next, &st, err))) goto fail;
    rk_sq_bind_text(st, 1, o->study);
    sqlite3_bind_int64(st, 2, o->trial);
    int r = sqlite3_step(st);
    int64_t id = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE) {
        rc = rk_sq_err(s, err, "choosing the next trial");
        goto fail;
    }
    if (id == 0) return rk_sq_commit(s, err); /* commits the recovery steps */
    if ((rc = rk_sq_stmt(s, q_take, &st, err))) goto fail;
    sqlite3_bind_double(st, 1, now);
    rk_sq_bind_text(st, 2, o->worker);
    rk_sq_bind_text(st, 3, o->host);
    rk_sq_bind_text(st, 4, o->git_rev);
    sqlite3_bind_int64(st, 5, id);
    if ((rc = rk_sq_step_done(s, st, err, "acquiring a trial"))) goto fail;
    if ((rc = rk_sq_stmt(s, q_get, &st, err))) goto fail;
    sqlite3_bind_int64(st, 1, id);
    int found;
    if ((rc = one_trial(s, st, t, &found, err))) goto fail;
    if ((rc = rk_sq_commit(s, err))) {
        rk_trial_clear(t);
        return rc;
    }
    *got = 1;
    return RK_OK;
fail:
    rk_sq_rollback(s);
    return rc;
}

/* ---- lease holder's writes ---- */

int rk_store_trial_heartbeat(rk_store *s, int64_t id, int attempt, rk_err *err)
{
    /* One UPDATE in autocommit: it takes the write lock in a single step, so it waits on
     * the busy timeout like BEGIN IMMEDIATE does (no read snapshot to upgrade). */
    static const char q[] = "UPDATE trials SET heartbeat = ? WHERE id = ? AND attempts = ?"
                            " AND status = 'running'";
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q, &st, err);
    if (rc) return rc;
    sqlite3_bind_double(st, 1, rk_sq_now());
    sqlite3_bind_int64(st, 2, id);
    sqlite3_bind_int(st, 3, attempt);
    if ((rc = rk_sq_step_done(s, st, err, "recording a heartbeat"))) return rc;
    if (sqlite3_changes(s->db) == 0)
        return rk_errf(err, RK_STORE_LOST, "store %s: trial %lld attempt %d is no longer running "
                       "under this lease", s->path, (long long)id, attempt);
    return RK_OK;
}

int rk_sq_check_lease(rk_store *s, int64_t id, int attempt, char **kind, rk_err *err)
{
    static const char q[] = "SELECT status, attempts, kind FROM trials WHERE id = ?";
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q, &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    int r = sqlite3_step(st);
    if (r != SQLITE_ROW) {
        sqlite3_reset(st);
        return r == SQLITE_DONE ? rk_errf(err, RK_EINVAL, "store %s: no trial %lld", s->path,
                                          (long long)id)
                                : rk_sq_err(s, err, "reading a trial");
    }
    int running = strcmp((const char *)sqlite3_column_text(st, 0), "running") == 0;
    int cur = sqlite3_column_int(st, 1);
    int oom = 0;
    if (kind) *kind = rk_sq_col_dup(st, 2, &oom);
    sqlite3_reset(st);
    if (oom) return rk_errf(err, RK_ENOMEM, "store %s: out of memory", s->path);
    if (!running || cur != attempt) {
        if (kind) {
            free(*kind);
            *kind = NULL;
        }
        return rk_errf(err, RK_STORE_LOST,
                       "store %s: trial %lld attempt %d is no longer running under this lease "
                       "(now attempt %d, %s)", s->path, (long long)id, attempt, cur,
                       running ? "running" : "not running");
    }
    return RK_OK;
}

/* Inside the caller's transaction: trial id's results, per-category AP and compute, its
 * metrics of other attempts than `attempt` dropped, and its status finished (kind: the
 * trial's). */
static int write_outcome(rk_store *s, int64_t id, int attempt, const char *kind,
                         const rk_trial_outcome *o, rk_err *err)
{
    static const char q_res[] =
        "INSERT OR REPLACE INTO results (trial_id, " RK_SQ_STATS("") ")"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    static const char q_cat_del[] = "DELETE FROM category_results WHERE trial_id = ?";
    static const char q_cat[] =
        "INSERT INTO category_results (trial_id, category_id, name, AP) VALUES (?, ?, ?, ?)";
    static const char q_met[] = "DELETE FROM metrics WHERE trial_id = ? AND attempt <> ?";
    static const char q_done[] =
        "UPDATE trials SET status = 'finished', finished = ?1, heartbeat = ?1, wall_s = ?2,"
        " cpu_s = ?3, images = ?4, flops = ?5, teacher_cpu_s = ?6, pseudo_cpu_s = ?7,"
        " data_hash = coalesce(?8, data_hash), stop_reason = ?10, steps = ?11,"
        " max_steps = ?12, precision = ?13, cpu = ?14 WHERE id = ?9";
    if (!o->stats && strcmp(kind, "detector") == 0)
        return rk_errf(err, RK_EINVAL, "store %s: detector trial %lld finished without COCO stats",
                       s->path, (long long)id);
    sqlite3_stmt *st;
    int rc;
    if (o->stats) {
        if ((rc = rk_sq_stmt(s, q_res, &st, err))) return rc;
        sqlite3_bind_int64(st, 1, id);
        for (int i = 0; i < RK_COCO_NSTATS; i++) rk_sq_bind_real(st, 2 + i, o->stats[i]);
        if ((rc = rk_sq_step_done(s, st, err, "recording results"))) return rc;
    }
    if ((rc = rk_sq_stmt(s, q_cat_del, &st, err))) return rc;
    sqlite3_bind_int64(st, 1, id);
    if ((rc = rk_sq_step_done(s, st, err, "recording per-category results"))) return rc;
    for (size_t i = 0; i < o->ncats; i++) {
        if ((rc = rk_sq_stmt(s, q_cat, &st, err))) return rc;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int(st, 2, o->cats[i].id);
        rk_sq_bind_text(st, 3, o->cats[i].name);
        rk_sq_bind_real(st, 4, o->cats[i].ap);
        if ((rc = rk_sq_step_done(s, st, err, "recording per-category results"))) return rc;
    }
    if (rk_store_test_hook) rk_store_test_hook("finish:results-written");
    if ((rc = rk_sq_stmt(s, q_met, &st, err))) return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, attempt);
    if ((rc = rk_sq_step_done(s, st, err, "dropping metrics of earlier attempts"))) return rc;
    if ((rc = rk_sq_stmt(s, q_done, &st, err))) return rc;
    sqlite3_bind_double(st, 1, rk_sq_now());
    rk_sq_bind_real(st, 2, o->wall_s);
    rk_sq_bind_real(st, 3, o->cpu_s);
    if (o->images >= 0) sqlite3_bind_int64(st, 4, o->images);
    rk_sq_bind_real(st, 5, o->flops);
    rk_sq_bind_real(st, 6, o->teacher_cpu_s);
    rk_sq_bind_real(st, 7, o->pseudo_cpu_s);
    rk_sq_bind_text(st, 8, o->data_hash);
    sqlite3_bind_int64(st, 9, id);
    rk_sq_bind_text(st, 10, o->stop_reason);
    if (o->steps > 0) sqlite3_bind_int64(st, 11, o->steps);
    if (o->max_steps > 0) sqlite3_bind_int64(st, 12, o->max_steps);
    rk_sq_bind_text(st, 13, o->precision);
    rk_sq_bind_text(st, 14, o->cpu);
    return rk_sq_step_done(s, st, err, "marking a trial finished");
}

static int check_cats(rk_store *s, const rk_trial_outcome *o, rk_err *err)
{
    for (size_t i = 0; i < o->ncats; i++)
        if (!memchr(o->cats[i].name, '\0', sizeof o->cats[i].name))
            return rk_errf(err, RK_EINVAL, "store %s: category %d name is not terminated",
                           s->path, o->cats[i].id);
    return RK_OK;
}

int rk_store_trial_finish(rk_store *s, int64_t id, int attempt, const rk_trial_outcome *o,
                          rk_err *err)
{
    if (!o) return rk_errf(err, RK_EINVAL, "store %s: finish needs an outcome", s->path);
    int rc = check_cats(s, o, err);
    if (rc) return rc;
    char *kind = NULL;
    if ((rc = rk_sq_begin(s, err))) return rc;
    if (!(rc = rk_sq_check_lease(s, id, attempt, &kind, err)))
        rc = write_outcome(s, id, attempt, kind, o, err);
    free(kind);
    if (rc) {
        rk_sq_rollback(s);
        return rc;
    }
    return rk_sq_commit(s, err);
}

/* ---- results from elsewhere ---- */

/* 1 if the results row of trial id holds exactly stats (NAN matching NULL). */
static int same_results(rk_store *s, int64_t id, const double *stats, double *was, int *same,
                        rk_err *err)
{
    for (int k = 0; k < RK_COCO_NSTATS; k++) was[k] = NAN;
    int found = 0, rc = rk_store_result_get(s, id, was, &found, err);
    if (rc) return rc;
    *same = found;
    for (int k = 0; k < RK_COCO_NSTATS && *same; k++)
        *same = isnan(was[k]) ? isnan(stats[k]) : was[k] == stats[k];
    return RK_OK;
}

/* Row t against the trial already registered under hash (id tid): the same config, finished
 * with the same results — or a conflict naming both. */
static int import_existing(rk_store *s, const rk_trial_import *t, const char *hash, int64_t tid,
                           const char *config, const char *status, const char *by,
                           rk_err *err)
{
    const char *where = t->where ? t->where : "import";
    if (strcmp(config, t->spec.config_json) != 0)
        return rk_errf(err, RK_EINVAL, "%s: trial %.16s is already registered with a different "
                       "config (the hash collides)", where, hash);
    if (strcmp(status, "finished") != 0)
        return rk_errf(err, RK_EINVAL, "%s: trial %.16s is already in the store, %s: only a "
                       "finished trial can be compared with an imported one (rethink rm it "
                       "first)", where, hash, status);
    double was[RK_COCO_NSTATS];
    int same = 0, rc = same_results(s, tid, t->out.stats, was, &same, err);
    if (rc || same) return rc;
    int k = 0;
    while (k < RK_COCO_NSTATS - 1 &&
           (isnan(was[k]) ? isnan(t->out.stats[k]) : was[k] == t->out.stats[k]))
        k++;
    /* 15 digits unless that hides the difference */
    char a[32], b[32];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(a, sizeof a, "%.*g", digits, was[k]);
        snprintf(b, sizeof b, "%.*g", digits, t->out.stats[k]);
        if (strcmp(a, b)) break;
    }
    return rk_errf(err, RK_EINVAL, "%s: trial %.16s (%s) is already finished with different "
                   "results: %s %s recorded, %s here", where, hash, by ? by : "a sweep",
                   rk_coco_stat_name(k), a, b);
}

int rk_store_trials_import(rk_store *s, const char *study, const rk_trial_import *t, size_t n,
                           rk_import_stats *stats, rk_err *err)
{
    static const char q_find[] =
        "SELECT id, status, config, worker, (SELECT name FROM studies WHERE id = study_id)"
        " FROM trials WHERE config_hash = ?";
    static const char q_run[] =
        "UPDATE trials SET status = 'running', attempts = 1, started = ?2, heartbeat = ?2,"
        " worker = ?3, host = ?4, git_rev = ?5 WHERE id = ?1";
    if (!study || !*study) return rk_errf(err, RK_EINVAL, "store %s: import needs a study", s->path);
    rk_import_stats st0 = {0};
    int rc = RK_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        if (!t[i].spec.config_json || !t[i].out.stats)
            rc = rk_errf(err, RK_EINVAL, "%s: an imported trial needs a config and COCO stats",
                         t[i].where ? t[i].where : "import");
        if (!rc) rc = check_cats(s, &t[i].out, err);
        if (!rc) rc = rk_sq_metrics_check(s, t[i].metrics, t[i].nmetrics, err);
    }
    if (rc || (rc = rk_sq_begin(s, err))) return rc;
    int64_t sid;
    double now = rk_sq_now();
    if ((rc = rk_sq_study_id(s, study, 1, &sid, err))) goto fail;
    for (size_t i = 0; i < n; i++) {
        const rk_trial_import *x = &t[i];
        char hash[65];
        rk_sha256_hex(x->spec.config_json, strlen(x->spec.config_json), hash);
        cJSON *cfg = cJSON_Parse(x->spec.config_json);
        if (!cJSON_IsObject(cfg)) {
            cJSON_Delete(cfg);
            rc = rk_errf(err, RK_EINVAL, "%s: the trial's config is not a JSON object",
                         x->where ? x->where : "import");
            goto fail;
        }
        sqlite3_stmt *st;
        if ((rc = rk_sq_stmt(s, q_find, &st, err))) {
            cJSON_Delete(cfg);
            goto fail;
        }
        rk_sq_bind_text(st, 1, hash);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            int64_t tid = sqlite3_column_int64(st, 0);
            const char *by = (const char *)sqlite3_column_text(st, 3);
            const char *other = (const char *)sqlite3_column_text(st, 4);
            rc = import_existing(s, x, hash, tid, (const char *)sqlite3_column_text(st, 2),
                                 (const char *)sqlite3_column_text(st, 1), by, err);
            int elsewhere = other && strcmp(other, study) != 0;
            sqlite3_reset(st);
            cJSON_Delete(cfg);
            if (rc) goto fail;
            st0.unchanged++;
            st0.elsewhere += (size_t)elsewhere;
            continue;
        }
        sqlite3_reset(st);
        if (r != SQLITE_DONE) {
            cJSON_Delete(cfg);
            rc = rk_sq_err(s, err, "looking up a trial");
            goto fail;
        }
        int64_t tid = 0;
        rc = insert_trial(s, sid, hash, &x->spec, 1, cfg, &tid, err);
        cJSON_Delete(cfg);
        if (!rc && !(rc = rk_sq_stmt(s, q_run, &st, err))) {
            sqlite3_bind_int64(st, 1, tid);
            sqlite3_bind_double(st, 2, now);
            rk_sq_bind_text(st, 3, x->worker);
            rk_sq_bind_text(st, 4, x->host);
            rk_sq_bind_text(st, 5, x->git_rev);
            rc = rk_sq_step_done(s, st, err, "recording an imported trial");
        }
        for (size_t k = 0; k < x->nmetrics && !rc; k++)
            rc = rk_sq_metric_put(s, tid, 1, &x->metrics[k], now, err);
        if (!rc) rc = write_outcome(s, tid, 1, x->spec.kind ? x->spec.kind : "detector", &x->out, err);
        if (rc) goto fail;
        st0.added++;
    }
    if ((rc = rk_sq_commit(s, err))) return rc;
    if (stats) *stats = st0;
    return RK_OK;
fail:
    rk_sq_rollback(s);
    return rc;
}

int rk_store_trial_fail(rk_store *s, int64_t id, int attempt, int code, const char *error,
                        int retry, rk_err *err)
{
    /* ?6: interrupted, so pending again and this attempt not charged */
    static const char q[] =
        "UPDATE trials SET"
        " status = CASE WHEN ?6 OR (?1 AND attempts - attempt_base < max_attempts)"
        "          THEN 'pending' ELSE 'failed' END,"
        " finished = CASE WHEN ?6 OR (?1 AND attempts - attempt_base < max_attempts)"
        "            THEN NULL ELSE ?2 END,"
        " attempt_base = attempt_base + ?6,"
        " heartbeat = ?2, error = ?3, error_code = ?5 WHERE id = ?4";
    int rc = rk_sq_begin(s, err);
    if (rc) return rc;
    if ((rc = rk_sq_check_lease(s, id, attempt, NULL, err))) goto fail;
    sqlite3_stmt *st;
    if ((rc = rk_sq_stmt(s, q, &st, err))) goto fail;
    sqlite3_bind_int(st, 1, retry != 0);
    sqlite3_bind_int(st, 6, rk_rc_interrupted(code));
    sqlite3_bind_double(st, 2, rk_sq_now());
    rk_sq_bind_text(st, 3, error ? error : "failed (no message)");
    sqlite3_bind_int64(st, 4, id);
    if (code) sqlite3_bind_int(st, 5, code);
    if ((rc = rk_sq_step_done(s, st, err, "recording a failure"))) goto fail;
    return rk_sq_commit(s, err);
fail:
    rk_sq_rollback(s);
    return rc;
}

/* ---- reads ---- */

int rk_store_trial_get(rk_store *s, int64_t id, rk_trial *t, int *found, rk_err *err)
{
    static const char q[] = TRIAL_COLS "WHERE t.id = ?";
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q, &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    return one_trial(s, st, t, found, err);
}

int rk_store_trial_find(rk_store *s, const char *config_hash, rk_trial *t, int *found,
                        rk_err *err)
{
    static const char q[] = TRIAL_COLS "WHERE t.config_hash = ?";
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q, &st, err);
    if (rc) return rc;
    rk_sq_bind_text(st, 1, config_hash);
    return one_trial(s, st, t, found, err);
}

int rk_store_trials_list(rk_store *s, const char *study, int status, rk_trial **out, size_t *n,
                         rk_err *err)
{
    static const char q[] = TRIAL_COLS "WHERE " STUDY_FILTER(1)
                            " AND (?2 IS NULL OR t.status = ?2) ORDER BY t.id";
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q, &st, err);
    if (rc) return rc;
    rk_sq_bind_text(st, 1, study);
    rk_sq_bind_text(st, 2, status < 0 ? NULL : rk_trial_status_name((rk_trial_status)status));
    rk_trial *v = NULL;
    size_t k = 0, cap = 0;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (rk_sq_grow((void **)&v, &cap, k, sizeof *v)) {
            rc = rk_errf(err, RK_ENOMEM, "store %s: out of memory listing trials", s->path);
            break;
        }
        if ((rc = read_trial(s, st, &v[k], err))) break;
        k++;
    }
    if (!rc && r != SQLITE_DONE) rc = rk_sq_err(s, err, "listing trials");
    sqlite3_reset(st);
    if (rc) {
        rk_trials_free(v, k);
        return rc;
    }
    *out = v;
    *n = k;
    return RK_OK;
}

int rk_store_trial_ids(rk_store *s, const char *study, int status, int64_t **ids, size_t *n,
                       rk_err *err)
{
    static const char q[] = "SELECT t.id FROM trials t WHERE " STUDY_FILTER(1)
                            " AND (?2 IS NULL OR t.status = ?2) ORDER BY t.id";
    *ids = NULL;
    *n = 0;
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q, &st, err);
    if (rc) return rc;
    rk_sq_bind_text(st, 1, study);
    rk_sq_bind_text(st, 2, status < 0 ? NULL : rk_trial_status_name((rk_trial_status)status));
    int64_t *v = NULL;
    size_t k = 0, cap = 0;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (rk_sq_grow((void **)&v, &cap, k, sizeof *v)) {
            rc = rk_errf(err, RK_ENOMEM, "store %s: out of memory listing trials", s->path);
            break;
        }
        v[k++] = sqlite3_column_int64(st, 0);
    }
    if (!rc && r != SQLITE_DONE) rc = rk_sq_err(s, err, "listing trial ids");
    sqlite3_reset(st);
    if (rc) {
        free(v);
        return rc;
    }
    *ids = v;
    *n = k;
    return RK_OK;
}

/* ---- a study's detector trials, for reports ---- */

void rk_trial_records_free(rk_trial_record *t, size_t n)
{
    if (!t) return;
    for (size_t i = 0; i < n; i++) {
        rk_trial_clear(&t[i].t);
        rk_params_free(t[i].params, t[i].nparams);
    }
    free(t);
}

/* t->params from the params table. */
static int read_params(rk_store *s, rk_trial_record *t, rk_err *err)
{
    return rk_store_params_get(s, t->t.id, &t->params, &t->nparams, err);
}

void rk_params_free(rk_param *p, size_t n)
{
    for (size_t j = 0; p && j < n; j++) free(p[j].key), free(p[j].value);
    free(p);
}

int rk_store_params_get(rk_store *s, int64_t id, rk_param **out, size_t *n, rk_err *err)
{
    static const char q[] =
        "SELECT key, coalesce(value, '') FROM params WHERE trial_id = ? ORDER BY key";
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q, &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    size_t cap = 0;
    int r = SQLITE_DONE, oom = 0;
    while (!oom && (r = sqlite3_step(st)) == SQLITE_ROW) {
        if (rk_sq_grow((void **)out, &cap, *n, sizeof **out)) {
            oom = 1;
            break;
        }
        rk_param *p = &(*out)[(*n)++];
        p->key = rk_sq_col_dup(st, 0, &oom);
        p->value = rk_sq_col_dup(st, 1, &oom);
    }
    sqlite3_reset(st);
    if (!oom && r == SQLITE_DONE) return RK_OK;
    rk_params_free(*out, *n);
    *out = NULL, *n = 0;
    if (oom) return rk_errf(err, RK_ENOMEM, "store %s: out of memory reading params", s->path);
    return rk_sq_err(s, err, "reading params");
}

/* All in one read transaction: trials, results and params of one snapshot, even while a
 * sweep writes. */
int rk_store_trial_records(rk_store *s, const char *study, rk_trial_record **out, size_t *n,
                           rk_err *err)
{
    static const char q[] =
        TRIAL_COLUMNS ", " RK_SQ_STATS("r.") ", (SELECT sum(d.cpu_s) FROM trial_deps x"
        " JOIN trials d ON d.id = x.depends_on WHERE x.trial_id = t.id"
        " AND d.status = 'finished')" TRIAL_FROM
        "LEFT JOIN results r ON r.trial_id = t.id"
        " WHERE s.name = ?1 AND t.kind = 'detector' AND t.arm IS NOT NULL ORDER BY t.id";
    *out = NULL;
    *n = 0;
    rk_trial_record *v = NULL;
    size_t k = 0, cap = 0;
    sqlite3_stmt *st;
    int rc = rk_sq_exec(s, "BEGIN", err), r = SQLITE_DONE;
    if (!rc) rc = rk_sq_stmt(s, q, &st, err);
    if (rc) goto done;
    rk_sq_bind_text(st, 1, study);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (rk_sq_grow((void **)&v, &cap, k, sizeof *v)) {
            rc = rk_errf(err, RK_ENOMEM, "store %s: out of memory reading trials", s->path);
            break;
        }
        rk_trial_record *x = &v[k];
        memset(x, 0, sizeof *x);
        if ((rc = read_trial(s, st, &x->t, err))) break;
        k++;
        for (int i = 0; i < RK_COCO_NSTATS; i++) x->stats[i] = rk_sq_col_real(st, TRIAL_NCOLS + i);
        x->deps_cpu_s = rk_sq_col_real(st, TRIAL_NCOLS + RK_COCO_NSTATS);
    }
    if (!rc && r != SQLITE_DONE) rc = rk_sq_err(s, err, "reading trials");
    sqlite3_reset(st);
    for (size_t i = 0; i < k && !rc; i++) rc = read_params(s, &v[i], err);
done:
    rk_sq_rollback(s); /* a read: nothing to keep */
    if (rc) {
        rk_trial_records_free(v, k);
        return rc;
    }
    *out = v;
    *n = k;
    return RK_OK;
}

int rk_store_counts(rk_store *s, const char *study, rk_trial_counts *c, rk_err *err)
{
    static const char q[] = "SELECT status, count(*) FROM trials AS t WHERE " STUDY_FILTER(1)
                            " GROUP BY status";
    memset(c, 0, sizeof *c);
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q, &st, err);
    if (rc) return rc;
    rk_sq_bind_text(st, 1, study);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        size_t k = (size_t)sqlite3_column_int64(st, 1);
        switch (parse_status((const char *)sqlite3_column_text(st, 0))) {
        case RK_TRIAL_PENDING: c->pending = k; break;
        case RK_TRIAL_RUNNING: c->running = k; break;
        case RK_TRIAL_FINISHED: c->finished = k; break;
        case RK_TRIAL_FAILED: c->failed = k; break;
        }
    }
    sqlite3_reset(st);
    return r == SQLITE_DONE ? RK_OK : rk_sq_err(s, err, "counting trials");
}

int rk_store_reset_stale(rk_store *s, const char *study, double stale_s, size_t *n, rk_err *err)
{
    double stale = stale_s > 0 ? stale_s : RK_STORE_STALE_S;
    size_t k = 0;
    int rc = rk_sq_begin(s, err);
    if (rc) return rc;
    if ((rc = expire_stale(s, study, rk_sq_now() - stale, &k, err))) {
        rk_sq_rollback(s);
        return rc;
    }
    if ((rc = rk_sq_commit(s, err))) return rc;
    if (n) *n = k;
    return RK_OK;
}

int rk_store_retry_failed(rk_store *s, const char *study, size_t *n, rk_err *err)
{
    static const char q[] = "UPDATE trials AS t SET status = 'pending', attempt_base = attempts,"
                            " finished = NULL WHERE status = 'failed' AND " STUDY_FILTER(1);
    int rc = rk_sq_begin(s, err);
    if (rc) return rc;
    sqlite3_stmt *st;
    if ((rc = rk_sq_stmt(s, q, &st, err))) {
        rk_sq_rollback(s);
        return rc;
    }
    rk_sq_bind_text(st, 1, study);
    if ((rc = rk_sq_step_done(s, st, err, "retrying failed trials"))) {
        rk_sq_rollback(s);
        return rc;
    }
    size_t k = (size_t)sqlite3_changes(s->db);
    if ((rc = rk_sq_commit(s, err))) return rc;
    if (n) *n = k;
    return RK_OK;
}

/* Sorted copy of ids[0..n) for membership tests; NULL when out of memory. */
static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t *sorted_ids(const int64_t *ids, size_t n)
{
    int64_t *v = malloc((n + 1) * sizeof *v);
    if (!v) return NULL;
    memcpy(v, ids, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_id);
    return v;
}

int rk_store_trials_retry(rk_store *s, const int64_t *ids, size_t n, size_t *changed,
                          rk_err *err)
{
    static const char q[] = "UPDATE trials SET status = 'pending', attempt_base = attempts,"
                            " finished = NULL WHERE status = 'failed' AND id = ?";
    size_t k = 0;
    int rc = rk_sq_begin(s, err);
    for (size_t i = 0; i < n && !rc; i++) {
        sqlite3_stmt *st;
        if ((rc = rk_sq_stmt(s, q, &st, err))) break;
        sqlite3_bind_int64(st, 1, ids[i]);
        if (!(rc = rk_sq_step_done(s, st, err, "retrying a failed trial")))
            k += (size_t)sqlite3_changes(s->db);
    }
    if (rc) {
        if (sqlite3_get_autocommit(s->db) == 0) rk_sq_rollback(s);
        return rc;
    }
    if ((rc = rk_sq_commit(s, err))) return rc;
    if (changed) *changed = k;
    return RK_OK;
}

/* Inside a transaction: deletes trials ids[0..n) (sorted), refusing a live running one and
 * one another trial outside the set depends on. */
static int remove_sorted(rk_store *s, const int64_t *ids, size_t n, rk_err *err)
{
    static const char q_get[] = "SELECT status, heartbeat, worker FROM trials WHERE id = ?";
    static const char q_deps[] = "SELECT trial_id FROM trial_deps WHERE depends_on = ?"
                                 " ORDER BY trial_id";
    static const char q_del[] = "DELETE FROM trials WHERE id = ?";
    double live_after = rk_sq_now() - RK_STORE_STALE_S;
    int rc = RK_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        sqlite3_stmt *st;
        if ((rc = rk_sq_stmt(s, q_get, &st, err))) break;
        sqlite3_bind_int64(st, 1, ids[i]);
        int r = sqlite3_step(st);
        int running = r == SQLITE_ROW && parse_status((const char *)sqlite3_column_text(st, 0)) ==
                                             RK_TRIAL_RUNNING;
        double beat = r == SQLITE_ROW ? rk_sq_col_real(st, 1) : NAN;
        char worker[128] = "";
        if (r == SQLITE_ROW && sqlite3_column_text(st, 2))
            snprintf(worker, sizeof worker, "%s", (const char *)sqlite3_column_text(st, 2));
        sqlite3_reset(st);
        if (r == SQLITE_DONE) {
            rc = rk_errf(err, RK_EINVAL, "store %s: no trial %lld", s->path, (long long)ids[i]);
            break;
        }
        if (r != SQLITE_ROW) {
            rc = rk_sq_err(s, err, "reading a trial to remove");
            break;
        }
        if (running && !(beat < live_after)) {
            rc = rk_errf(err, RK_EINVAL, "trial %lld is running (worker %s): stop its sweep "
                         "first", (long long)ids[i], worker[0] ? worker : "?");
            break;
        }
        if ((rc = rk_sq_stmt(s, q_deps, &st, err))) break;
        sqlite3_bind_int64(st, 1, ids[i]);
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t d = sqlite3_column_int64(st, 0);
            if (!bsearch(&d, ids, n, sizeof *ids, cmp_id)) {
                rc = rk_errf(err, RK_EINVAL, "trial %lld is the teacher of trial %lld, which "
                             "is not removed with it: remove both", (long long)ids[i],
                             (long long)d);
                break;
            }
        }
        sqlite3_reset(st);
        if (!rc && r != SQLITE_DONE && r != SQLITE_ROW) rc = rk_sq_err(s, err, "reading dependents");
        if (rc) break;
        if ((rc = rk_sq_stmt(s, q_del, &st, err))) break;
        sqlite3_bind_int64(st, 1, ids[i]);
        rc = rk_sq_step_done(s, st, err, "removing a trial");
    }
    return rc;
}

int rk_store_trials_remove(rk_store *s, const int64_t *ids, size_t n, rk_err *err)
{
    int64_t *v = sorted_ids(ids, n);
    if (!v) return rk_errf(err, RK_ENOMEM, "store %s: out of memory", s->path);
    int rc = rk_sq_begin(s, err);
    if (!rc && (rc = remove_sorted(s, v, n, err))) rk_sq_rollback(s);
    else if (!rc) rc = rk_sq_commit(s, err);
    free(v);
    return rc;
}

int rk_store_study_remove(rk_store *s, const char *name, size_t *ntrials, rk_err *err)
{
    static const char q_claims[] = "DELETE FROM claims WHERE study_id = ?";
    static const char q_study[] = "DELETE FROM studies WHERE id = ?";
    int64_t sid = 0, *ids = NULL;
    size_t n = 0;
    int rc = rk_sq_begin(s, err);
    if (rc) return rc;
    if (!(rc = rk_sq_study_id(s, name, 0, &sid, err)) && !sid)
        rc = rk_errf(err, RK_EINVAL, "store %s: no study '%s'", s->path, name);
    if (!rc) rc = rk_store_trial_ids(s, name, -1, &ids, &n, err);
    if (!rc) rc = remove_sorted(s, ids, n, err); /* in id order: sorted */
    sqlite3_stmt *st;
    const char *const q[] = {q_claims, q_study};
    for (int k = 0; k < 2 && !rc; k++)
        if (!(rc = rk_sq_stmt(s, q[k], &st, err))) {
            sqlite3_bind_int64(st, 1, sid);
            rc = rk_sq_step_done(s, st, err, "removing a study");
        }
    free(ids);
    if (rc) {
        rk_sq_rollback(s);
        return rc;
    }
    if ((rc = rk_sq_commit(s, err))) return rc;
    if (ntrials) *ntrials = n;
    return RK_OK;
}
