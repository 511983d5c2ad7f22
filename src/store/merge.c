/* Merging a shard database into another, keyed by config hash (issue 10's per-shard
 * databases, or any two stores).
 *
 * The shard is ATTACHed as `src` and everything happens in one BEGIN IMMEDIATE transaction
 * on the destination, so a failed merge (a conflict, a full disk, a kill) leaves dst as it
 * was. Trial ids differ between files; a temporary map src id -> dst id (found or created
 * through config_hash) translates every row that points at a trial.
 *
 * What a trial of src does to dst ("take" in the map):
 *   2  new to dst: inserted with its params, metrics and results; finished stays finished,
 *      failed stays failed, pending/running arrive pending (a running shard trial has no
 *      live worker here);
 *   1  finished in src, not finished in dst: dst's partial metrics are replaced by src's
 *      and the trial becomes finished with src's results and compute;
 *   0  anything else: dst keeps what it has (a trial finished in both must agree).
 * Merging the same shard again therefore finds only take 0 and changes nothing. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define SAME_STATS(a, b)                                                                    \
    "(" a ".AP IS " b ".AP AND " a ".AP50 IS " b ".AP50 AND " a ".AP75 IS " b ".AP75 AND "  \
    a ".APs IS " b ".APs AND " a ".APm IS " b ".APm AND " a ".APl IS " b ".APl AND "        \
    a ".AR1 IS " b ".AR1 AND " a ".AR10 IS " b ".AR10 AND " a ".AR100 IS " b ".AR100 AND "  \
    a ".ARs IS " b ".ARs AND " a ".ARm IS " b ".ARm AND " a ".ARl IS " b ".ARl)"

/* Conflicts: the first row's first column is the offending config hash (or artifact). */
static const struct {
    const char *sql, *what;
} conflicts[] = {
    {"SELECT s.config_hash, '' FROM src.trials s JOIN main.trials d"
     " ON d.config_hash = s.config_hash WHERE s.config <> d.config LIMIT 1",
     "has two different configs"},
    {"SELECT s.config_hash, printf(' (AP %s here, %s in the shard)', dr.AP, sr.AP)"
     " FROM src.trials s JOIN main.trials d ON d.config_hash = s.config_hash"
     " LEFT JOIN src.results sr ON sr.trial_id = s.id"
     " LEFT JOIN main.results dr ON dr.trial_id = d.id"
     " WHERE s.status = 'finished' AND d.status = 'finished'"
     " AND NOT " SAME_STATS("sr", "dr") " LIMIT 1",
     "is finished in both with different results"},
    {"SELECT a.hash, printf(' (%s here, %s in the shard)', b.kind, a.kind) FROM src.artifacts a"
     " JOIN main.artifacts b ON b.hash = a.hash WHERE a.kind <> b.kind LIMIT 1",
     "is an artifact of two different kinds"},
};

/* The merge proper, in order; every statement sees the previous ones' effects. */
static const char *const steps[] = {
    "INSERT INTO main.studies (name, experiment, experiment_hash, created, updated)"
    " SELECT name, experiment, experiment_hash, created, updated FROM src.studies"
    " WHERE name NOT IN (SELECT name FROM main.studies)",

    "CREATE TEMP TABLE merge_map (src_id INTEGER PRIMARY KEY, dst_id INTEGER,"
    " take INTEGER NOT NULL)",
    "INSERT INTO temp.merge_map SELECT s.id, d.id, CASE WHEN d.id IS NULL THEN 2"
    " WHEN s.status = 'finished' AND d.status <> 'finished' THEN 1 ELSE 0 END"
    " FROM src.trials s LEFT JOIN main.trials d ON d.config_hash = s.config_hash",

    /* new trials: inserted not finished (the trigger wants results first) */
    "INSERT INTO main.trials (study_id, config_hash, config, kind, arm, aug, fraction, seed,"
    " status, attempts, attempt_base, max_attempts, heartbeat, worker, host, git_rev, created,"
    " started, finished, wall_s, cpu_s, images, flops, teacher_cpu_s, pseudo_cpu_s, data_hash,"
    " error, error_code, stop_reason, steps, max_steps, precision, cpu)"
    " SELECT (SELECT id FROM main.studies WHERE name = ss.name), s.config_hash, s.config,"
    " s.kind, s.arm, s.aug, s.fraction, s.seed,"
    " CASE s.status WHEN 'failed' THEN 'failed' ELSE 'pending' END, s.attempts,"
    " s.attempt_base, s.max_attempts, s.heartbeat, s.worker, s.host, s.git_rev, s.created,"
    " s.started, s.finished, s.wall_s, s.cpu_s, s.images, s.flops, s.teacher_cpu_s,"
    " s.pseudo_cpu_s, s.data_hash, s.error, s.error_code, s.stop_reason, s.steps, s.max_steps,"
    " s.precision, s.cpu"
    " FROM src.trials s JOIN src.studies ss ON ss.id = s.study_id"
    " JOIN temp.merge_map m ON m.src_id = s.id WHERE m.take = 2 ORDER BY s.id",
    "UPDATE temp.merge_map SET dst_id = (SELECT d.id FROM main.trials d JOIN src.trials s"
    " ON s.config_hash = d.config_hash WHERE s.id = merge_map.src_id) WHERE take = 2",

    /* dst's leftovers of trials src finished */
    "DELETE FROM main.metrics WHERE trial_id IN (SELECT dst_id FROM temp.merge_map"
    " WHERE take = 1)",
    "DELETE FROM main.results WHERE trial_id IN (SELECT dst_id FROM temp.merge_map"
    " WHERE take = 1)",
    "DELETE FROM main.category_results WHERE trial_id IN (SELECT dst_id FROM temp.merge_map"
    " WHERE take = 1)",

    "INSERT OR IGNORE INTO main.params SELECT m.dst_id, p.key, p.value FROM src.params p"
    " JOIN temp.merge_map m ON m.src_id = p.trial_id WHERE m.take = 2",
    "INSERT OR REPLACE INTO main.metrics SELECT m.dst_id, x.attempt, x.name, x.step, x.epoch,"
    " x.value, x.time FROM src.metrics x JOIN temp.merge_map m ON m.src_id = x.trial_id"
    " WHERE m.take IN (1, 2)",
    "INSERT INTO main.results SELECT m.dst_id, r.AP, r.AP50, r.AP75, r.APs, r.APm, r.APl,"
    " r.AR1, r.AR10, r.AR100, r.ARs, r.ARm, r.ARl FROM src.results r"
    " JOIN temp.merge_map m ON m.src_id = r.trial_id WHERE m.take IN (1, 2)",
    "INSERT INTO main.category_results SELECT m.dst_id, c.category_id, c.name, c.AP"
    " FROM src.category_results c JOIN temp.merge_map m ON m.src_id = c.trial_id"
    " WHERE m.take IN (1, 2)",

    /* trials src finished take its finishing attempt's record, then the status */
    "UPDATE main.trials SET (attempts, attempt_base, max_attempts, heartbeat, worker, host,"
    " git_rev, started, finished, wall_s, cpu_s, images, flops, teacher_cpu_s, pseudo_cpu_s,"
    " data_hash, error, error_code, stop_reason, steps, max_steps, precision, cpu) = (SELECT"
    " s.attempts, s.attempt_base, s.max_attempts,"
    " s.heartbeat, s.worker, s.host, s.git_rev, s.started, s.finished, s.wall_s, s.cpu_s,"
    " s.images, s.flops, s.teacher_cpu_s, s.pseudo_cpu_s, s.data_hash, s.error, s.error_code,"
    " s.stop_reason, s.steps, s.max_steps, s.precision, s.cpu"
    " FROM src.trials s"
    " JOIN temp.merge_map m ON m.src_id = s.id WHERE m.dst_id = trials.id)"
    " WHERE id IN (SELECT dst_id FROM temp.merge_map WHERE take = 1)",
    "UPDATE main.trials SET status = 'finished' WHERE id IN (SELECT m.dst_id FROM"
    " temp.merge_map m JOIN src.trials s ON s.id = m.src_id WHERE m.take IN (1, 2)"
    " AND s.status = 'finished')",

    "INSERT OR IGNORE INTO main.trial_deps SELECT a.dst_id, b.dst_id FROM src.trial_deps d"
    " JOIN temp.merge_map a ON a.src_id = d.trial_id"
    " JOIN temp.merge_map b ON b.src_id = d.depends_on",
};

static const char q_count_artifacts[] = "SELECT count(*) FROM main.artifacts";
static const char *const artifact_steps[] = {
    "INSERT OR IGNORE INTO main.artifacts (hash, kind, path, bytes, trial_id, created, cpu_s,"
    " meta) SELECT a.hash, a.kind, a.path, a.bytes, m.dst_id, a.created, a.cpu_s, a.meta"
    " FROM src.artifacts a LEFT JOIN temp.merge_map m ON m.src_id = a.trial_id",
    "INSERT OR IGNORE INTO main.trial_artifacts (trial_id, artifact_hash, role)"
    " SELECT m.dst_id, x.artifact_hash, x.role"
    " FROM src.trial_artifacts x JOIN temp.merge_map m ON m.src_id = x.trial_id"
    " WHERE m.take IN (1, 2)",
    "INSERT OR IGNORE INTO main.pseudo_labels SELECT artifact_hash, images, boxes, per_class,"
    " threshold FROM src.pseudo_labels",
};

/* Runs a one-off query; *found and the first two columns of its first row. */
static int query_row(rk_store *s, const char *sql, char *a, size_t na, char *b, size_t nb,
                     int *found, rk_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return rk_sq_err(s, err, "merging");
    int r = sqlite3_step(st);
    *found = r == SQLITE_ROW;
    if (*found) {
        const unsigned char *x = sqlite3_column_text(st, 0);
        snprintf(a, na, "%s", x ? (const char *)x : "");
        if (b) {
            const unsigned char *y = sqlite3_column_text(st, 1);
            snprintf(b, nb, "%s", y ? (const char *)y : "");
        }
    }
    sqlite3_finalize(st);
    return r == SQLITE_ROW || r == SQLITE_DONE ? RK_OK : rk_sq_err(s, err, "merging");
}

static int count_of(rk_store *s, const char *sql, size_t *n, rk_err *err)
{
    char buf[32];
    int found, rc = query_row(s, sql, buf, sizeof buf, NULL, 0, &found, err);
    *n = rc == RK_OK && found ? (size_t)strtoull(buf, NULL, 10) : 0;
    return rc;
}

int rk_store_merge(rk_store *dst, const char *src_path, rk_merge_stats *stats, rk_err *err)
{
    rk_merge_stats zero = {0};
    if (stats) *stats = zero;
    if (!src_path || !*src_path)
        return rk_errf(err, RK_EINVAL, "store %s: merge needs a source database", dst->path);
    char real_src[PATH_MAX];
    if (!realpath(src_path, real_src))
        return rk_errf(err, RK_EIO, "store %s: merge source %s does not exist", dst->path,
                       src_path);
    const char *real_dst = sqlite3_db_filename(dst->db, "main");
    if (real_dst && strcmp(real_dst, real_src) == 0)
        return rk_errf(err, RK_EINVAL, "store %s: cannot merge a database into itself",
                       dst->path);
    /* Open it as a store first: refuses a newer schema, upgrades an older one, and checks
     * it is a store at all, before anything touches dst. */
    rk_store *src;
    int rc = rk_store_open(&src, src_path, err);
    if (rc) return rc;
    rk_store_close(src);

    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(dst->db, "ATTACH ? AS src", -1, &st, NULL) != SQLITE_OK)
        return rk_sq_err(dst, err, "attaching the merge source");
    sqlite3_bind_text(st, 1, src_path, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(st);
    sqlite3_finalize(st);
    if (r != SQLITE_DONE) return rk_sq_err(dst, err, "attaching the merge source");

    size_t n_added = 0, n_completed = 0, art_before = 0, art_after = 0;
    if ((rc = rk_sq_begin(dst, err))) goto detach;
    for (size_t i = 0; i < sizeof conflicts / sizeof conflicts[0]; i++) {
        char key[80], extra[160];
        int found;
        if ((rc = query_row(dst, conflicts[i].sql, key, sizeof key, extra, sizeof extra, &found,
                            err)))
            goto fail;
        if (found) {
            rc = rk_errf(err, RK_EFORMAT, "store %s: merging %s: %s %s%s", dst->path, src_path,
                         key, conflicts[i].what, extra);
            goto fail;
        }
    }
    if ((rc = count_of(dst, q_count_artifacts, &art_before, err))) goto fail;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if ((rc = rk_sq_exec(dst, steps[i], err))) goto fail;
    for (size_t i = 0; i < sizeof artifact_steps / sizeof artifact_steps[0]; i++)
        if ((rc = rk_sq_exec(dst, artifact_steps[i], err))) goto fail;
    if ((rc = count_of(dst, "SELECT count(*) FROM temp.merge_map WHERE take = 2", &n_added,
                       err)) ||
        (rc = count_of(dst, "SELECT count(*) FROM temp.merge_map WHERE take = 1", &n_completed,
                       err)) ||
        (rc = count_of(dst, q_count_artifacts, &art_after, err)) ||
        (rc = rk_sq_exec(dst, "DROP TABLE temp.merge_map", err)))
        goto fail;
    if ((rc = rk_sq_commit(dst, err))) goto detach;
    if (stats) {
        stats->trials_added = n_added;
        stats->trials_completed = n_completed;
        stats->artifacts_added = art_after - art_before;
    }
    goto detach;
fail:
    rk_sq_rollback(dst);
detach:
    /* The rollback also undid the temp table; DETACH needs no transaction open. */
    sqlite3_exec(dst->db, "DETACH src", NULL, NULL, NULL);
    return rc;
}
