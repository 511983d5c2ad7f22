/* What trials record besides their state: per-step metrics, final results and per-category
 * AP (reads; finish writes them), content-addressed artifacts with the links of the trials
 * that made and used them, pseudo-label statistics and claims verdicts.
 *
 * Metrics belong to an attempt (metrics.attempt), written only under the current lease, so a
 * replaced worker cannot mix its curve into its successor's; finish drops earlier attempts'
 * rows, so a finished trial's metrics are exactly its finishing attempt's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static int oom_err(rk_store *s, rk_err *err)
{
    return rk_errf(err, RK_ENOMEM, "store %s: out of memory", s->path);
}

/* ---- metrics ---- */

int rk_sq_metric_put(rk_store *s, int64_t id, int attempt, const rk_metric *m, double now,
                     rk_err *err)
{
    static const char q[] = "INSERT OR REPLACE INTO metrics (trial_id, attempt, name, step, epoch,"
                            " value, time) VALUES (?, ?, ?, ?, ?, ?, ?)";
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q, &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, attempt);
    rk_sq_bind_text(st, 3, m->name);
    sqlite3_bind_int64(st, 4, m->step);
    if (m->epoch >= 0) sqlite3_bind_int64(st, 5, m->epoch);
    rk_sq_bind_real(st, 6, m->value);
    sqlite3_bind_double(st, 7, now);
    return rk_sq_step_done(s, st, err, "recording metrics");
}

int rk_sq_metrics_check(rk_store *s, const rk_metric *m, size_t n, rk_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (!memchr(m[i].name, '\0', sizeof m[i].name) || !m[i].name[0])
            return rk_errf(err, RK_EINVAL, "store %s: metric %zu has an empty or unterminated name",
                           s->path, i);
    return RK_OK;
}

int rk_store_metrics_add(rk_store *s, int64_t id, int attempt, const rk_metric *m, size_t n,
                         rk_err *err)
{
    int rc = rk_sq_metrics_check(s, m, n, err);
    if (rc) return rc;
    if ((rc = rk_sq_begin(s, err))) return rc;
    if ((rc = rk_sq_check_lease(s, id, attempt, NULL, err))) goto fail;
    double now = rk_sq_now();
    for (size_t i = 0; i < n && !rc; i++) rc = rk_sq_metric_put(s, id, attempt, &m[i], now, err);
    if (rc) goto fail;
    return rk_sq_commit(s, err);
fail:
    rk_sq_rollback(s);
    return rc;
}

int rk_store_metrics_get(rk_store *s, int64_t id, const char *name, rk_metric **out, size_t *n,
                         rk_err *err)
{
    static const char q[] =
        "SELECT name, step, epoch, value FROM metrics WHERE trial_id = ?1"
        " AND attempt = (SELECT attempts FROM trials WHERE id = ?1)"
        " AND (?2 IS NULL OR name = ?2) ORDER BY name, step";
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q, &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    rk_sq_bind_text(st, 2, name);
    rk_metric *v = NULL;
    size_t k = 0, cap = 0;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (rk_sq_grow((void **)&v, &cap, k, sizeof *v)) {
            rc = oom_err(s, err);
            break;
        }
        snprintf(v[k].name, sizeof v[k].name, "%s", (const char *)sqlite3_column_text(st, 0));
        v[k].step = sqlite3_column_int64(st, 1);
        v[k].epoch = rk_sq_col_int(st, 2, -1);
        v[k].value = rk_sq_col_real(st, 3);
        k++;
    }
    if (!rc && r != SQLITE_DONE) rc = rk_sq_err(s, err, "reading metrics");
    sqlite3_reset(st);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = k;
    return RK_OK;
}

/* ---- results ---- */

int rk_store_result_get(rk_store *s, int64_t id, double *stats, int *found, rk_err *err)
{
    static const char q[] = "SELECT " RK_SQ_STATS("") " FROM results WHERE trial_id = ?";
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q, &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    int r = sqlite3_step(st);
    *found = r == SQLITE_ROW;
    if (*found)
        for (int i = 0; i < RK_COCO_NSTATS; i++) stats[i] = rk_sq_col_real(st, i);
    sqlite3_reset(st);
    return r == SQLITE_ROW || r == SQLITE_DONE ? RK_OK : rk_sq_err(s, err, "reading results");
}

int rk_store_categories_get(rk_store *s, int64_t id, rk_category_ap **out, size_t *n,
                            rk_err *err)
{
    static const char q[] = "SELECT category_id, name, AP FROM category_results"
                            " WHERE trial_id = ? ORDER BY category_id";
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q, &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    rk_category_ap *v = NULL;
    size_t k = 0, cap = 0;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (rk_sq_grow((void **)&v, &cap, k, sizeof *v)) {
            rc = oom_err(s, err);
            break;
        }
        v[k].id = sqlite3_column_int(st, 0);
        const unsigned char *nm = sqlite3_column_text(st, 1);
        snprintf(v[k].name, sizeof v[k].name, "%s", nm ? (const char *)nm : "");
        v[k].ap = rk_sq_col_real(st, 2);
        k++;
    }
    if (!rc && r != SQLITE_DONE) rc = rk_sq_err(s, err, "reading per-category results");
    sqlite3_reset(st);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = k;
    return RK_OK;
}

/* ---- artifacts ---- */

void rk_artifact_clear(rk_artifact *a)
{
    if (!a) return;
    free(a->path);
    free(a->meta);
    memset(a, 0, sizeof *a);
}

/* The artifact's row, inside the caller's transaction: inserted, or an existing one (same
 * kind, else RK_EINVAL) given the values it lacks. */
static int artifact_upsert(rk_store *s, const rk_artifact *a, rk_err *err)
{
    static const char q_kind[] = "SELECT kind FROM artifacts WHERE hash = ?";
    static const char q_ins[] = "INSERT INTO artifacts (hash, kind, path, bytes, trial_id, created,"
                                " cpu_s, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
    static const char q_fill[] =
        "UPDATE artifacts SET bytes = coalesce(bytes, ?2), trial_id = coalesce(trial_id, ?3),"
        " cpu_s = coalesce(cpu_s, ?4), meta = coalesce(meta, ?5) WHERE hash = ?1";
    if (!*a->hash || !memchr(a->hash, '\0', sizeof a->hash) || !*a->kind ||
        !memchr(a->kind, '\0', sizeof a->kind) || !a->path)
        return rk_errf(err, RK_EINVAL, "store %s: an artifact needs a hash (1..64 chars), a kind "
                       "(1..31 chars) and a path", s->path);
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q_kind, &st, err);
    if (rc) return rc;
    rk_sq_bind_text(st, 1, a->hash);
    int r = sqlite3_step(st);
    int same = r == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), a->kind) == 0;
    sqlite3_reset(st);
    if (r == SQLITE_ROW && !same)
        return rk_errf(err, RK_EINVAL, "store %s: artifact %s is already recorded with another "
                       "kind than %s", s->path, a->hash, a->kind);
    if (r != SQLITE_ROW && r != SQLITE_DONE) return rk_sq_err(s, err, "looking up an artifact");
    if ((rc = rk_sq_stmt(s, r == SQLITE_ROW ? q_fill : q_ins, &st, err))) return rc;
    rk_sq_bind_text(st, 1, a->hash);
    if (r == SQLITE_ROW) { /* content-addressed: the first record stands, gaps are filled */
        if (a->bytes >= 0) sqlite3_bind_int64(st, 2, a->bytes);
        if (a->trial > 0) sqlite3_bind_int64(st, 3, a->trial);
        rk_sq_bind_real(st, 4, a->cpu_s);
        rk_sq_bind_text(st, 5, a->meta);
        return rk_sq_step_done(s, st, err, "recording an artifact");
    }
    rk_sq_bind_text(st, 2, a->kind);
    rk_sq_bind_text(st, 3, a->path);
    if (a->bytes >= 0) sqlite3_bind_int64(st, 4, a->bytes);
    if (a->trial > 0) sqlite3_bind_int64(st, 5, a->trial);
    sqlite3_bind_double(st, 6, rk_sq_now());
    rk_sq_bind_real(st, 7, a->cpu_s);
    rk_sq_bind_text(st, 8, a->meta);
    return rk_sq_step_done(s, st, err, "recording an artifact");
}

int rk_store_artifact_record(rk_store *s, const rk_artifact *a, rk_err *err)
{
    int rc = rk_sq_begin(s, err);
    if (rc) return rc;
    if ((rc = artifact_upsert(s, a, err))) {
        rk_sq_rollback(s);
        return rc;
    }
    return rk_sq_commit(s, err);
}

int rk_store_artifact_put(rk_store *s, const char *hash, const char *kind, const char *path,
                          int64_t bytes, int64_t trial, rk_err *err)
{
    rk_artifact a = {.path = (char *)path, .bytes = bytes, .trial = trial, .cpu_s = NAN};
    if (!hash || strlen(hash) > 64 || !kind || strlen(kind) >= sizeof a.kind)
        return rk_errf(err, RK_EINVAL, "store %s: an artifact needs a hash (1..64 chars), a kind "
                       "(1..31 chars) and a path", s->path);
    snprintf(a.hash, sizeof a.hash, "%s", hash);
    snprintf(a.kind, sizeof a.kind, "%s", kind);
    return rk_store_artifact_record(s, &a, err);
}

#define ARTIFACT_COLUMNS "a.hash, a.kind, a.path, a.bytes, a.trial_id, a.created, a.cpu_s, a.meta"

/* Reads ARTIFACT_COLUMNS from column col on; *oom set on allocation failure. */
static void read_artifact(sqlite3_stmt *st, int col, rk_artifact *a, int *oom)
{
    snprintf(a->hash, sizeof a->hash, "%s", (const char *)sqlite3_column_text(st, col));
    snprintf(a->kind, sizeof a->kind, "%s", (const char *)sqlite3_column_text(st, col + 1));
    a->path = rk_sq_col_dup(st, col + 2, oom);
    a->bytes = rk_sq_col_int(st, col + 3, -1);
    a->trial = rk_sq_col_int(st, col + 4, 0);
    a->created = rk_sq_col_real(st, col + 5);
    a->cpu_s = rk_sq_col_real(st, col + 6);
    a->meta = rk_sq_col_dup(st, col + 7, oom);
}

int rk_store_artifact_get(rk_store *s, const char *hash, rk_artifact *a, int *found,
                          rk_err *err)
{
    static const char q[] = "SELECT " ARTIFACT_COLUMNS " FROM artifacts a WHERE a.hash = ?";
    memset(a, 0, sizeof *a);
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q, &st, err);
    if (rc) return rc;
    rk_sq_bind_text(st, 1, hash);
    int r = sqlite3_step(st), oom = 0;
    *found = r == SQLITE_ROW;
    if (*found) read_artifact(st, 0, a, &oom);
    sqlite3_reset(st);
    if (oom) {
        *found = 0;
        rk_artifact_clear(a);
        return oom_err(s, err);
    }
    return r == SQLITE_ROW || r == SQLITE_DONE ? RK_OK : rk_sq_err(s, err, "reading an artifact");
}

int rk_store_trial_product(rk_store *s, int64_t trial, const char *kind, rk_artifact *a,
                           int *found, rk_err *err)
{
    /* a checkpoint's meta names the trial it is (its key): a checkpoint an earlier run made
     * has that run's producer, or none */
    static const char q[] =
        "SELECT " ARTIFACT_COLUMNS " FROM artifacts a WHERE a.kind = ?2 AND (a.trial_id = ?1"
        " OR (json_valid(a.meta) AND json_extract(a.meta, '$.key') ="
        "     (SELECT config_hash FROM trials WHERE id = ?1)))"
        " ORDER BY a.trial_id = ?1 DESC, a.created DESC LIMIT 1";
    memset(a, 0, sizeof *a);
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q, &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, trial);
    rk_sq_bind_text(st, 2, kind);
    int r = sqlite3_step(st), oom = 0;
    *found = r == SQLITE_ROW;
    if (*found) read_artifact(st, 0, a, &oom);
    sqlite3_reset(st);
    if (oom) {
        *found = 0;
        rk_artifact_clear(a);
        return oom_err(s, err);
    }
    return r == SQLITE_ROW || r == SQLITE_DONE ? RK_OK : rk_sq_err(s, err, "reading an artifact");
}

int rk_store_trial_artifacts_put(rk_store *s, int64_t id, int attempt, const rk_artifact_use *a,
                                 size_t n, rk_err *err)
{
    static const char q_link[] = "INSERT OR REPLACE INTO trial_artifacts (trial_id, artifact_hash,"
                                 " role) VALUES (?, ?, ?)";
    /* the pseudo-label statistics the trial runner writes into the artifact's meta */
    static const char q_pseudo[] =
        "INSERT OR IGNORE INTO pseudo_labels (artifact_hash, images, boxes, per_class, threshold)"
        " SELECT ?1, json_extract(?2, '$.kept'), json_extract(?2, '$.boxes'),"
        " json_extract(?2, '$.per_class'), json_extract(?2, '$.threshold')"
        " WHERE json_valid(?2) AND json_extract(?2, '$.kept') IS NOT NULL"
        " AND json_extract(?2, '$.boxes') IS NOT NULL";
    for (size_t i = 0; i < n; i++)
        if (!memchr(a[i].role, '\0', sizeof a[i].role) || !memchr(a[i].path, '\0', sizeof a[i].path) ||
            !memchr(a[i].meta, '\0', sizeof a[i].meta))
            return rk_errf(err, RK_EINVAL, "store %s: artifact %zu of trial %lld has an "
                           "unterminated role, path or meta", s->path, i, (long long)id);
    int rc = rk_sq_begin(s, err);
    if (rc) return rc;
    if ((rc = rk_sq_check_lease(s, id, attempt, NULL, err))) goto fail;
    for (size_t i = 0; i < n; i++) {
        const rk_artifact_use *u = &a[i];
        rk_artifact r = {.bytes = u->bytes, .trial = u->made ? id : 0, .cpu_s = u->cpu_s,
                         .path = (char *)u->path, .meta = u->meta[0] ? (char *)u->meta : NULL};
        memcpy(r.hash, u->hash, sizeof r.hash);
        memcpy(r.kind, u->kind, sizeof r.kind);
        if ((rc = artifact_upsert(s, &r, err))) goto fail;
        sqlite3_stmt *st;
        if (u->role[0]) {
            if ((rc = rk_sq_stmt(s, q_link, &st, err))) goto fail;
            sqlite3_bind_int64(st, 1, id);
            rk_sq_bind_text(st, 2, u->hash);
            rk_sq_bind_text(st, 3, u->role);
            if ((rc = rk_sq_step_done(s, st, err, "linking a trial to an artifact"))) goto fail;
        }
        if (!strcmp(u->kind, RK_ARTIFACT_PSEUDO) && u->meta[0]) {
            if ((rc = rk_sq_stmt(s, q_pseudo, &st, err))) goto fail;
            rk_sq_bind_text(st, 1, u->hash);
            rk_sq_bind_text(st, 2, u->meta);
            if ((rc = rk_sq_step_done(s, st, err, "recording pseudo-label stats"))) goto fail;
        }
    }
    return rk_sq_commit(s, err);
fail:
    rk_sq_rollback(s);
    return rc;
}

void rk_artifact_links_free(rk_artifact_link *l, size_t n)
{
    for (size_t i = 0; l && i < n; i++) rk_artifact_clear(&l[i].a);
    free(l);
}

int rk_store_artifact_links(rk_store *s, const char *study, rk_artifact_link **out, size_t *n,
                            rk_err *err)
{
    static const char q[] =
        "SELECT x.trial_id, x.role, " ARTIFACT_COLUMNS ", (SELECT count(DISTINCT y.trial_id)"
        "  FROM trial_artifacts y JOIN trials u ON u.id = y.trial_id"
        "  WHERE y.artifact_hash = a.hash AND u.study_id = t.study_id AND u.status = 'finished')"
        " FROM trial_artifacts x JOIN trials t ON t.id = x.trial_id"
        " JOIN studies st ON st.id = t.study_id JOIN artifacts a ON a.hash = x.artifact_hash"
        " WHERE st.name = ?1 AND t.status = 'finished' ORDER BY x.trial_id, x.role";
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q, &st, err);
    if (rc) return rc;
    rk_sq_bind_text(st, 1, study);
    rk_artifact_link *v = NULL;
    size_t k = 0, cap = 0;
    int r, oom = 0;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (rk_sq_grow((void **)&v, &cap, k, sizeof *v)) {
            oom = 1;
            break;
        }
        rk_artifact_link *l = &v[k++];
        memset(l, 0, sizeof *l);
        l->trial = sqlite3_column_int64(st, 0);
        snprintf(l->role, sizeof l->role, "%s", (const char *)sqlite3_column_text(st, 1));
        read_artifact(st, 2, &l->a, &oom);
        l->users = (size_t)sqlite3_column_int64(st, 10);
        if (oom) break;
    }
    if (oom) rc = oom_err(s, err);
    else if (r != SQLITE_DONE) rc = rk_sq_err(s, err, "reading a study's artifacts");
    sqlite3_reset(st);
    if (rc) {
        rk_artifact_links_free(v, k);
        return rc;
    }
    *out = v;
    *n = k;
    return RK_OK;
}

/* ---- pseudo-labels ---- */

int rk_store_pseudo_put(rk_store *s, const char *artifact_hash, int64_t images, int64_t boxes,
                        const char *per_class_json, double threshold, rk_err *err)
{
    static const char q_art[] = "SELECT 1 FROM artifacts WHERE hash = ?";
    static const char q_ins[] = "INSERT OR IGNORE INTO pseudo_labels (artifact_hash, images, boxes,"
                                " per_class, threshold) VALUES (?, ?, ?, ?, ?)";
    int rc = rk_sq_begin(s, err);
    if (rc) return rc;
    sqlite3_stmt *st;
    if ((rc = rk_sq_stmt(s, q_art, &st, err))) goto fail;
    rk_sq_bind_text(st, 1, artifact_hash);
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_ROW) {
        rc = r == SQLITE_DONE
                 ? rk_errf(err, RK_EINVAL, "store %s: pseudo-label stats for artifact %s, which is "
                           "not recorded (rk_store_artifact_put first)", s->path,
                           artifact_hash ? artifact_hash : "(null)")
                 : rk_sq_err(s, err, "looking up an artifact");
        goto fail;
    }
    if ((rc = rk_sq_stmt(s, q_ins, &st, err))) goto fail;
    rk_sq_bind_text(st, 1, artifact_hash);
    sqlite3_bind_int64(st, 2, images);
    sqlite3_bind_int64(st, 3, boxes);
    rk_sq_bind_text(st, 4, per_class_json);
    rk_sq_bind_real(st, 5, threshold);
    if ((rc = rk_sq_step_done(s, st, err, "recording pseudo-label stats"))) goto fail;
    return rk_sq_commit(s, err);
fail:
    rk_sq_rollback(s);
    return rc;
}

int rk_store_pseudo_get(rk_store *s, const char *artifact_hash, rk_pseudo_stats *p, int *found,
                        rk_err *err)
{
    static const char q[] = "SELECT images, boxes, threshold, per_class FROM pseudo_labels"
                            " WHERE artifact_hash = ?";
    memset(p, 0, sizeof *p);
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q, &st, err);
    if (rc) return rc;
    rk_sq_bind_text(st, 1, artifact_hash);
    int r = sqlite3_step(st), oom = 0;
    *found = r == SQLITE_ROW;
    if (*found) {
        p->images = sqlite3_column_int64(st, 0);
        p->boxes = sqlite3_column_int64(st, 1);
        p->threshold = rk_sq_col_real(st, 2);
        p->per_class_json = rk_sq_col_dup(st, 3, &oom);
    }
    sqlite3_reset(st);
    if (oom) {
        *found = 0;
        return oom_err(s, err);
    }
    return r == SQLITE_ROW || r == SQLITE_DONE ? RK_OK
                                               : rk_sq_err(s, err, "reading pseudo-label stats");
}

/* ---- claims ---- */

void rk_claims_free(rk_claim *c, size_t n)
{
    if (!c) return;
    for (size_t i = 0; i < n; i++) {
        free(c[i].study);
        free(c[i].name);
        free(c[i].details_json);
    }
    free(c);
}

int rk_store_claim_put(rk_store *s, const rk_claim *c, rk_err *err)
{
    static const char q[] = "INSERT INTO claims (study_id, name, verdict, estimate, ci_low,"
                            " ci_high, n, details, checked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
    if (!c || !c->study || !*c->study || !c->name || !*c->name)
        return rk_errf(err, RK_EINVAL, "store %s: a claim needs a study and a name", s->path);
    if (strcmp(c->verdict, "HOLDS") && strcmp(c->verdict, "FAILS") &&
        strcmp(c->verdict, "INCONCLUSIVE"))
        return rk_errf(err, RK_EINVAL, "store %s: claim %s: verdict must be HOLDS, FAILS or "
                       "INCONCLUSIVE", s->path, c->name);
    int64_t sid;
    int rc = rk_sq_begin(s, err);
    if (rc) return rc;
    if ((rc = rk_sq_study_id(s, c->study, 1, &sid, err))) goto fail;
    sqlite3_stmt *st;
    if ((rc = rk_sq_stmt(s, q, &st, err))) goto fail;
    sqlite3_bind_int64(st, 1, sid);
    rk_sq_bind_text(st, 2, c->name);
    rk_sq_bind_text(st, 3, c->verdict);
    rk_sq_bind_real(st, 4, c->estimate);
    rk_sq_bind_real(st, 5, c->ci_low);
    rk_sq_bind_real(st, 6, c->ci_high);
    sqlite3_bind_int64(st, 7, c->n);
    rk_sq_bind_text(st, 8, c->details_json);
    sqlite3_bind_double(st, 9, rk_sq_now());
    if ((rc = rk_sq_step_done(s, st, err, "recording a claim verdict"))) goto fail;
    return rk_sq_commit(s, err);
fail:
    rk_sq_rollback(s);
    return rc;
}

int rk_store_claims_latest(rk_store *s, const char *study, rk_claim **out, size_t *n,
                           rk_err *err)
{
    static const char q[] = "SELECT study, name, verdict, estimate, ci_low, ci_high, n, details,"
                            " checked FROM claims_latest WHERE study = ? ORDER BY name";
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    int rc = rk_sq_stmt(s, q, &st, err);
    if (rc) return rc;
    rk_sq_bind_text(st, 1, study);
    rk_claim *v = NULL;
    size_t k = 0, cap = 0;
    int r, oom = 0;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (rk_sq_grow((void **)&v, &cap, k, sizeof *v)) {
            oom = 1;
            break;
        }
        rk_claim *c = &v[k++];
        memset(c, 0, sizeof *c);
        c->study = rk_sq_col_dup(st, 0, &oom);
        c->name = rk_sq_col_dup(st, 1, &oom);
        snprintf(c->verdict, sizeof c->verdict, "%s", (const char *)sqlite3_column_text(st, 2));
        c->estimate = rk_sq_col_real(st, 3);
        c->ci_low = rk_sq_col_real(st, 4);
        c->ci_high = rk_sq_col_real(st, 5);
        c->n = rk_sq_col_int(st, 6, 0);
        c->details_json = rk_sq_col_dup(st, 7, &oom);
        c->checked = rk_sq_col_real(st, 8);
        if (oom) break;
    }
    if (oom) rc = oom_err(s, err);
    else if (r != SQLITE_DONE) rc = rk_sq_err(s, err, "reading claims");
    sqlite3_reset(st);
    if (rc) {
        rk_claims_free(v, k);
        return rc;
    }
    *out = v;
    *n = k;
    return RK_OK;
}
