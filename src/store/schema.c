/* The store's schema as an ordered list of migrations. Migration N takes a version N-1
 * database to version N; rk_sq_migrate applies the missing ones in one transaction. Never
 * edit a released migration: append a new one (ALTER TABLE, new tables, data moves), bump
 * RK_STORE_SCHEMA_VERSION, and add a test opening a database of the previous version.
 *
 * A migration also says how a read-only reader (rk_store_open_readonly, which never
 * migrates) sees a database of the version before it as its own: TEMP views named like the
 * tables they change, which SQLite resolves before the file's own (temp is searched first),
 * so every query of the store reads an old file unchanged.
 *
 * Conventions (docs/ARCHITECTURE.md §Store): plain columns so sqlite3 and pandas read the
 * tables directly; times are unix seconds UTC as REAL; an unknown value is NULL. The
 * triggers make the lifecycle invariants hold whoever writes the file:
 *  - a finished detector trial always has its results row (finish writes both in one
 *    transaction; the trigger refuses any other order);
 *  - finished is terminal. */
#include "store_internal.h"

static const char *const schema_v1[] = {
    "CREATE TABLE studies ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  experiment TEXT,"      /* the experiment file's text */
    "  experiment_hash TEXT," /* SHA-256 hex of experiment */
    "  created REAL NOT NULL,"
    "  updated REAL NOT NULL"
    ")",

    "CREATE TABLE trials ("
    "  id INTEGER PRIMARY KEY,"
    "  study_id INTEGER NOT NULL REFERENCES studies(id),"
    "  config_hash TEXT NOT NULL UNIQUE," /* the trial's identity */
    "  config TEXT NOT NULL,"             /* resolved config, JSON */
    "  kind TEXT NOT NULL DEFAULT 'detector',"
    "  arm TEXT, aug TEXT, fraction REAL, seed INTEGER,"
    "  status TEXT NOT NULL DEFAULT 'pending'"
    "    CHECK (status IN ('pending', 'running', 'finished', 'failed')),"
    /* attempts: times acquired, never reset (it is the lease number); the trial is out of
     * attempts when attempts - attempt_base >= max_attempts; retry_failed moves the base. */
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  attempt_base INTEGER NOT NULL DEFAULT 0,"
    "  max_attempts INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),"
    "  heartbeat REAL, worker TEXT, host TEXT, git_rev TEXT,"
    "  created REAL NOT NULL, started REAL, finished REAL,"
    "  wall_s REAL, cpu_s REAL, images INTEGER, flops REAL,"
    "  teacher_cpu_s REAL, pseudo_cpu_s REAL,"
    "  data_hash TEXT, error TEXT"
    ")",

    "CREATE INDEX trials_study_status ON trials(study_id, status)",

    "CREATE INDEX trials_status_heartbeat ON trials(status, heartbeat)",

    "CREATE TABLE trial_deps ("
    "  trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,"
    "  depends_on INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,"
    "  PRIMARY KEY (trial_id, depends_on),"
    "  CHECK (trial_id <> depends_on)"
    ") WITHOUT ROWID",

    "CREATE INDEX trial_deps_depends_on ON trial_deps(depends_on)",

    "CREATE TABLE params ("
    "  trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,"
    "  key TEXT NOT NULL," /* dotted path into the config JSON, e.g. train.lr */
    "  value TEXT,"
    "  PRIMARY KEY (trial_id, key)"
    ") WITHOUT ROWID",

    "CREATE INDEX params_key_value ON params(key, value)",

    "CREATE TABLE metrics ("
    "  trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,"
    "  attempt INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  step INTEGER NOT NULL,"
    "  epoch INTEGER,"
    "  value REAL,"
    "  time REAL NOT NULL,"
    "  PRIMARY KEY (trial_id, attempt, name, step)"
    ") WITHOUT ROWID",

    "CREATE TABLE results ("
    "  trial_id INTEGER PRIMARY KEY REFERENCES trials(id) ON DELETE CASCADE,"
    "  AP REAL, AP50 REAL, AP75 REAL, APs REAL, APm REAL, APl REAL,"
    "  AR1 REAL, AR10 REAL, AR100 REAL, ARs REAL, ARm REAL, ARl REAL"
    ")",

    "CREATE TABLE category_results ("
    "  trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,"
    "  category_id INTEGER NOT NULL,"
    "  name TEXT,"
    "  AP REAL,"
    "  PRIMARY KEY (trial_id, category_id)"
    ") WITHOUT ROWID",

    "CREATE TABLE artifacts ("
    "  hash TEXT PRIMARY KEY," /* content SHA-256 hex */
    "  kind TEXT NOT NULL,"
    "  path TEXT NOT NULL,"
    "  bytes INTEGER,"
    "  trial_id INTEGER REFERENCES trials(id) ON DELETE SET NULL," /* producer */
    "  created REAL NOT NULL"
    ")",

    "CREATE TABLE pseudo_labels ("
    "  artifact_hash TEXT PRIMARY KEY REFERENCES artifacts(hash) ON DELETE CASCADE,"
    "  images INTEGER NOT NULL,"
    "  boxes INTEGER NOT NULL,"
    "  per_class TEXT," /* JSON object: category id -> boxes */
    "  threshold REAL"
    ")",

    "CREATE TABLE claims ("
    "  id INTEGER PRIMARY KEY,"
    "  study_id INTEGER NOT NULL REFERENCES studies(id),"
    "  name TEXT NOT NULL,"
    "  verdict TEXT NOT NULL CHECK (verdict IN ('HOLDS', 'FAILS', 'INCONCLUSIVE')),"
    "  estimate REAL, ci_low REAL, ci_high REAL, n INTEGER,"
    "  details TEXT," /* JSON: cells used, threshold, confidence, ... */
    "  checked REAL NOT NULL"
    ")",

    "CREATE INDEX claims_study_name ON claims(study_id, name, checked)",

    /* invariants */
    "CREATE TRIGGER trials_finished_insert BEFORE INSERT ON trials"
    "  WHEN NEW.status = 'finished' AND NEW.kind = 'detector'"
    "  BEGIN SELECT RAISE(ABORT, 'a finished detector trial needs its results row'); END",

    "CREATE TRIGGER trials_finished_update BEFORE UPDATE OF status ON trials"
    "  WHEN NEW.status = 'finished' AND NEW.kind = 'detector'"
    "   AND NOT EXISTS (SELECT 1 FROM results WHERE trial_id = NEW.id)"
    "  BEGIN SELECT RAISE(ABORT, 'a finished detector trial needs its results row'); END",

    "CREATE TRIGGER trials_finished_terminal BEFORE UPDATE OF status ON trials"
    "  WHEN OLD.status = 'finished' AND NEW.status <> 'finished'"
    "  BEGIN SELECT RAISE(ABORT, 'a finished trial stays finished'); END",

    "CREATE TRIGGER results_kept BEFORE DELETE ON results"
    "  WHEN (SELECT status FROM trials WHERE id = OLD.trial_id) = 'finished'"
    "  BEGIN SELECT RAISE(ABORT, 'results of a finished trial are kept'); END",

    /* read-side conveniences for sqlite3 and pandas */
    "CREATE VIEW trial_results AS"
    "  SELECT s.name AS study, t.id AS trial_id, t.config_hash, t.kind, t.arm, t.aug,"
    "         t.fraction, t.seed, t.attempts, t.wall_s, t.cpu_s, t.images, t.flops,"
    "         t.teacher_cpu_s, t.pseudo_cpu_s, t.data_hash, t.git_rev, t.host, t.finished,"
    "         r.AP, r.AP50, r.AP75, r.APs, r.APm, r.APl,"
    "         r.AR1, r.AR10, r.AR100, r.ARs, r.ARm, r.ARl"
    "  FROM trials t JOIN studies s ON s.id = t.study_id"
    "       JOIN results r ON r.trial_id = t.id"
    "  WHERE t.status = 'finished'",

    "CREATE VIEW claims_latest AS"
    "  SELECT s.name AS study, c.name, c.verdict, c.estimate, c.ci_low, c.ci_high, c.n,"
    "         c.details, c.checked"
    "  FROM claims c JOIN studies s ON s.id = c.study_id"
    "  WHERE c.id = (SELECT c2.id FROM claims c2"
    "                WHERE c2.study_id = c.study_id AND c2.name = c.name"
    "                ORDER BY c2.checked DESC, c2.id DESC LIMIT 1)",

    NULL,
};

/* Version 2: a failed trial's error code (core.h's rc), so that a claims check counts
 * divergence (RK_EDIVERGED) by its code rather than by its message. NULL is unknown: a
 * failure the store itself declares (a worker that stopped sending heartbeats, a failed
 * dependency), or one recorded before version 2. Of those, version 1 said "diverged" only
 * in the message (the trainer's "training diverged at step N", the backbone's
 * "pre-training diverged at step N"): such rows get RK_EDIVERGED, when migrated and when
 * read without migrating alike. */
#define V1_ERROR_CODE "CASE WHEN instr(error, 'diverged') > 0 THEN 6 END"
_Static_assert(RK_EDIVERGED == 6, "V1_ERROR_CODE writes RK_EDIVERGED as 6");

static const char *const schema_v2[] = {
    "ALTER TABLE trials ADD COLUMN error_code INTEGER",
    "UPDATE trials SET error_code = " V1_ERROR_CODE,
    NULL,
};

static const char *const read_v1_as_v2[][2] = {
    {"trials", V1_ERROR_CODE " AS error_code"},
    {NULL, NULL},
};

/* Version 3: the fair protocol's facts (issue 18). Per trial: how long its detector trained
 * and why it stopped (`stop_reason` 'plateau': the plateau rule ended it; 'budget': its step
 * budget did — a fixed schedule's, or a plateau schedule's maximum, the safety net), the
 * precision it actually trained in and the CPU it ran on. Per artifact: the CPU seconds
 * that made it and facts about it as JSON (a backbone's held-out source accuracy, a
 * pseudo-label file's teacher); and which artifacts each trial used (`trial_artifacts`:
 * role 'backbone', 'teacher', 'pseudo'), so compute can be counted for every arm that needs
 * them. NULL is unknown (trials recorded before version 3). */
static const char *const schema_v3[] = {
    "ALTER TABLE trials ADD COLUMN stop_reason TEXT"
    " CHECK (stop_reason IS NULL OR stop_reason IN ('plateau', 'budget'))",
    "ALTER TABLE trials ADD COLUMN steps INTEGER",
    "ALTER TABLE trials ADD COLUMN max_steps INTEGER",
    "ALTER TABLE trials ADD COLUMN precision TEXT",
    "ALTER TABLE trials ADD COLUMN cpu TEXT",
    "ALTER TABLE artifacts ADD COLUMN cpu_s REAL",
    "ALTER TABLE artifacts ADD COLUMN meta TEXT",
    "CREATE TABLE trial_artifacts ("
    "  trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,"
    "  artifact_hash TEXT NOT NULL REFERENCES artifacts(hash),"
    "  role TEXT NOT NULL,"
    "  PRIMARY KEY (trial_id, role)"
    ") WITHOUT ROWID",
    "CREATE INDEX trial_artifacts_hash ON trial_artifacts(artifact_hash)",
    "DROP VIEW trial_results",
    "CREATE VIEW trial_results AS"
    "  SELECT s.name AS study, t.id AS trial_id, t.config_hash, t.kind, t.arm, t.aug,"
    "         t.fraction, t.seed, t.attempts, t.wall_s, t.cpu_s, t.images, t.flops,"
    "         t.teacher_cpu_s, t.pseudo_cpu_s, t.data_hash, t.git_rev, t.host, t.finished,"
    "         t.stop_reason, t.steps, t.max_steps, t.precision, t.cpu,"
    "         r.AP, r.AP50, r.AP75, r.APs, r.APm, r.APl,"
    "         r.AR1, r.AR10, r.AR100, r.ARs, r.ARm, r.ARl"
    "  FROM trials t JOIN studies s ON s.id = t.study_id"
    "       JOIN results r ON r.trial_id = t.id"
    "  WHERE t.status = 'finished'",
    NULL,
};

static const char *const read_v2_as_v3[][2] = {
    {"trials", "NULL AS stop_reason"}, {"trials", "NULL AS steps"},
    {"trials", "NULL AS max_steps"},   {"trials", "NULL AS precision"},
    {"trials", "NULL AS cpu"},         {"artifacts", "NULL AS cpu_s"},
    {"artifacts", "NULL AS meta"},     {NULL, NULL},
};

static const char *const read_v2_as_v3_tables[] = {
    "CREATE TEMP TABLE trial_artifacts (trial_id INTEGER, artifact_hash TEXT, role TEXT)",
    NULL,
};

/* Version 4: trial_artifacts with the columns of its primary key first. SQLite 3.40's
 * integrity_check reports "NULL value in trial_artifacts.artifact_hash" for every row of
 * version 3's table (trial_id, artifact_hash, role), keyed (trial_id, role): a false report
 * it makes for a NOT NULL column between the key's columns of a WITHOUT ROWID table
 * (measured with the sqlite3 3.40.1 of Debian 12; no such report with the key's columns
 * first). Version 3's table was never written to before version 4, but its rows are kept. */
static const char *const schema_v4[] = {
    "CREATE TABLE trial_artifacts_v4 ("
    "  trial_id INTEGER NOT NULL REFERENCES trials(id) ON DELETE CASCADE,"
    "  role TEXT NOT NULL," /* 'backbone', 'teacher', 'pseudo' (store.h RK_ROLE_*) */
    "  artifact_hash TEXT NOT NULL REFERENCES artifacts(hash),"
    "  PRIMARY KEY (trial_id, role)"
    ") WITHOUT ROWID",
    "INSERT INTO trial_artifacts_v4 (trial_id, role, artifact_hash)"
    " SELECT trial_id, role, artifact_hash FROM trial_artifacts",
    "DROP TABLE trial_artifacts",
    "ALTER TABLE trial_artifacts_v4 RENAME TO trial_artifacts",
    "CREATE INDEX trial_artifacts_hash ON trial_artifacts(artifact_hash)",
    NULL,
};

/* a version 3 file reads as version 4 unchanged (the same columns, by name) */
static const char *const read_v3_as_v4[] = {NULL};

/* Version 5: views only. Every column name of every view is unique case-insensitively:
 * SQLite compares names without case, so version 1's trial_results had both `arm` (the
 * trial's) and `ARm` (a COCO stat) and `SELECT ARm FROM trial_results` returned the arm
 * (pandas renamed one `ARm:1`). The stats of a size range are named with an underscore,
 * AP_s AP_m AP_l AR_s AR_m AR_l (AP AP50 AP75 AR1 AR10 AR100 as they were); the results
 * table keeps its names (it has no arm). And a stat pycocotools leaves undefined (its -1:
 * no ground truth in the range) reads as NULL, never as a -1 someone averages. Fractions,
 * as stored. A read-only reader of an older file sees the same view as a TEMP view over
 * that file's tables (temp is searched first). */
#define V5_TRIAL_RESULTS                                                                   \
    "VIEW trial_results AS"                                                                \
    "  SELECT s.name AS study, t.id AS trial_id, t.config_hash, t.kind, t.arm, t.aug,"     \
    "         t.fraction, t.seed, t.attempts, t.wall_s, t.cpu_s, t.images, t.flops,"       \
    "         t.teacher_cpu_s, t.pseudo_cpu_s, t.data_hash, t.git_rev, t.host, t.finished," \
    "         t.stop_reason, t.steps, t.max_steps, t.precision, t.cpu,"                    \
    "         NULLIF(r.AP, -1) AS AP, NULLIF(r.AP50, -1) AS AP50,"                         \
    "         NULLIF(r.AP75, -1) AS AP75, NULLIF(r.APs, -1) AS AP_s,"                      \
    "         NULLIF(r.APm, -1) AS AP_m, NULLIF(r.APl, -1) AS AP_l,"                       \
    "         NULLIF(r.AR1, -1) AS AR1, NULLIF(r.AR10, -1) AS AR10,"                       \
    "         NULLIF(r.AR100, -1) AS AR100, NULLIF(r.ARs, -1) AS AR_s,"                    \
    "         NULLIF(r.ARm, -1) AS AR_m, NULLIF(r.ARl, -1) AS AR_l"                        \
    "  FROM trials t JOIN studies s ON s.id = t.study_id"                                  \
    "       JOIN results r ON r.trial_id = t.id"                                           \
    "  WHERE t.status = 'finished'"

static const char *const schema_v5[] = {
    "DROP VIEW trial_results",
    "CREATE " V5_TRIAL_RESULTS,
    NULL,
};

static const char *const read_v4_as_v5[] = {"CREATE TEMP " V5_TRIAL_RESULTS, NULL};

const rk_sq_migration rk_sq_migrations[] = {
    {1, "initial schema", schema_v1, NULL, NULL},
    {2, "trials.error_code", schema_v2, read_v1_as_v2, NULL},
    {3, "stop reason, steps, precision, cpu; artifact compute; trial_artifacts", schema_v3,
     read_v2_as_v3, read_v2_as_v3_tables},
    {4, "trial_artifacts keyed columns first", schema_v4, NULL, read_v3_as_v4},
    {5, "view columns unique without case; undefined stats NULL", schema_v5, NULL,
     read_v4_as_v5},
};
const size_t rk_sq_nmigrations = sizeof rk_sq_migrations / sizeof rk_sq_migrations[0];

_Static_assert(sizeof rk_sq_migrations / sizeof rk_sq_migrations[0] == RK_STORE_SCHEMA_VERSION,
               "RK_STORE_SCHEMA_VERSION must equal the number of migrations");
