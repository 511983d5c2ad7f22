/* Looking at results: rethink ls (trials of a study), rethink show TRIAL (one trial's config,
 * results, per-category AP and compute) and rethink export --csv|--json (every trial as one
 * row). Each shows, beside the cell (arm, aug, fraction, seed), the parameters that vary
 * among the trials it lists (show: among its study's), so two trials differing only in
 * train.lr never look the same. Stats are fractions named as the store's views name them; a
 * stat pycocotools leaves undefined (its -1) is empty, null or "-", never -1. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "rethink/eval.h"
#include "rethink/report.h"
#include "rethink/store.h"

static const char *LS_HELP =
    "usage: rethink ls [--db FILE] [--study NAME] [--status pending|running|finished|failed]\n"
    "\n"
    "Lists trials: id, status, arm, aug, fraction, seed, AP, AP50 (fractions; - where\n"
    "undefined), wall seconds, hash, then every parameter whose value differs among the\n"
    "trials listed (a column per dotted key, e.g. train.lr).\n";
static const char *SHOW_HELP =
    "usage: rethink show TRIAL [--db FILE]\n"
    "\n"
    "Shows one trial (by id, or by a prefix of its config hash): cell, the parameters that\n"
    "vary in its study, status, compute, the 12 COCO stats, per-category AP, the resolved\n"
    "config and the error of a failed trial.\n";
static const char *EXPORT_HELP =
    "usage: rethink export --csv|--json [--db FILE] [--study NAME] [--out FILE]\n"
    "\n"
    "Writes every trial as one CSV row, or one JSON object of an array (cell, status,\n"
    "compute, the 12 COCO stats, then the parameters that vary among the trials exported,\n"
    "by dotted key) to FILE or standard output, for spreadsheets and pandas. Stats are\n"
    "fractions named AP AP50 AP75 AP_s AP_m AP_l AR1 AR10 AR100 AR_s AR_m AR_l (as in the\n"
    "store's trial_results view); an undefined one (pycocotools' -1) is empty / null.\n";

/* rk_trial_status_name of RK_TRIAL_PENDING.. in order */
static const char *const STATUSES[] = {"pending", "running", "finished", "failed", NULL};

int cli_open_db(const char *path, rk_store **db, const char *cmd, int readonly)
{
    FILE *f = fopen(path, "r");
    if (!f) { /* opening would create an empty database: say what is missing instead */
        fprintf(stderr, "rethink %s: %s: %s\n", cmd, path,
                errno == ENOENT ? "no such database (run rethink sweep first)" : strerror(errno));
        return 1;
    }
    fclose(f);
    /* read-only: looking never writes (no migration, no WAL switch), works on a read-only
     * mount, and a corrupt file or one of another program is named as such */
    rk_err err = {0};
    if (readonly ? rk_store_open_readonly(db, path, &err) : rk_store_open(db, path, &err)) {
        fprintf(stderr, "rethink %s: %s\n", cmd, err.msg);
        return 1;
    }
    return 0;
}

int cli_trial_id(rk_store *db, const char *spec, int64_t *id, const char *cmd)
{
    rk_err err = {0};
    rk_trial *all = NULL;
    size_t n = 0, hits = 0;
    char *end;
    long long v = strtoll(spec, &end, 10);
    int by_id = !*end && *spec && strlen(spec) < 12, rc = rk_store_trials_list(db, NULL, -1, &all, &n, &err);
    for (size_t i = 0; !rc && i < n; i++)
        if (by_id ? all[i].id == v : !strncmp(all[i].config_hash, spec, strlen(spec)))
            hits++, *id = all[i].id;
    rk_trials_free(all, n);
    if (rc) fprintf(stderr, "rethink %s: %s\n", cmd, err.msg);
    else if (hits > 1) fprintf(stderr, "rethink %s: '%s' matches %zu trials; give more of the hash\n", cmd, spec, hits);
    else if (!hits) fprintf(stderr, "rethink %s: %s: no such trial (see rethink ls)\n", cmd, spec);
    return rc || hits != 1 ? (hits > 1 ? 2 : 1) : 0;
}

static void num(FILE *f, double v, const char *fmt)
{
    if (isfinite(v))
        fprintf(f, fmt, v);
    else
        fputs("", f);
}

/* ---- the parameters that vary among trials ---- */
typedef struct varying {
    rk_param **p; /* p[i]: trial i's params, sorted by key */
    size_t *np;
    size_t ntrials;
    const char **keys; /* the keys whose value differs among the trials (borrowed from p) */
    size_t nkeys;
} varying;

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Already columns of their own. */
static int is_cell_key(const char *k)
{
    return !strcmp(k, "trial.arm") || !strcmp(k, "trial.aug") || !strcmp(k, "trial.fraction") ||
           !strcmp(k, "trial.seed");
}

/* Trial i's value of key, or NULL when its config has no such key. */
static const char *param_of(const varying *v, size_t i, const char *key)
{
    size_t lo = 0, hi = v->np[i];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(v->p[i][mid].key, key);
        if (!c) return v->p[i][mid].value;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

static void varying_free(varying *v)
{
    for (size_t i = 0; v->p && i < v->ntrials; i++) rk_params_free(v->p[i], v->np[i]);
    free(v->p), free(v->np), free(v->keys);
    memset(v, 0, sizeof *v);
}

/* v = the params of ids[0..n) and the keys that differ among them (a key some trials lack
 * differs), in key order. */
static int varying_load(varying *v, rk_store *db, const int64_t *ids, size_t n, rk_err *err)
{
    memset(v, 0, sizeof *v);
    v->p = calloc(n + 1, sizeof *v->p);
    v->np = calloc(n + 1, sizeof *v->np);
    if (!v->p || !v->np) return rk_errf(err, RK_ENOMEM, "out of memory");
    v->ntrials = n;
    size_t cap = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = rk_store_params_get(db, ids[i], &v->p[i], &v->np[i], err);
        if (rc) return rc;
        cap += v->np[i];
    }
    if (!(v->keys = malloc((cap + 1) * sizeof *v->keys))) return rk_errf(err, RK_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < v->np[i]; k++) {
            const char *key = v->p[i][k].key, *first = param_of(v, 0, key);
            int differs = 0, seen = 0;
            for (size_t j = 0; j < i && !seen; j++) seen = param_of(v, j, key) != NULL;
            if (seen || is_cell_key(key)) continue; /* counted at its first trial */
            for (size_t j = 0; j < n && !differs; j++) {
                const char *x = param_of(v, j, key);
                differs = !x || !first || strcmp(x, first);
            }
            if (differs) v->keys[v->nkeys++] = key;
        }
    qsort(v->keys, v->nkeys, sizeof *v->keys, cmp_str_ptr);
    return RK_OK;
}

/* Undefined stats (pycocotools' -1, or no results row) are not numbers a user may average. */
static int defined(double x) { return isfinite(x) && x >= 0; }

int cmd_ls(int argc, char **argv)
{
    const char *db_path = "results.db", *study = NULL;
    int st = -1, code;
    const cli_opt opts[] = {
        CLI_OPT_DB(&db_path), CLI_OPT_STUDY(&study),
        {.name = "status", .kind = CLI_CHOICE, .dst = &st, .arg = "S", .choices = STATUSES,
         .help = "only trials in status S: pending, running, finished or failed"},
        {0}};
    if (cli_parse(&(cli_cmd){"ls", LS_HELP, opts}, argc, argv, &code)) return code;
    rk_store *db;
    if (cli_open_db(db_path, &db, "ls", 1)) return 1;
    rk_trial *t = NULL;
    size_t n = 0;
    rk_err err = {0};
    if (rk_store_trials_list(db, study, st, &t, &n, &err)) {
        fprintf(stderr, "rethink ls: %s\n", err.msg);
        rk_store_close(db);
        return 1;
    }
    int64_t *ids = malloc((n + 1) * sizeof *ids);
    varying v = {0};
    int rc = !ids;
    for (size_t i = 0; !rc && i < n; i++) ids[i] = t[i].id;
    if (rc || (rc = varying_load(&v, db, ids, n, &err)))
        fprintf(stderr, "rethink ls: %s\n", rc == 1 ? "out of memory" : err.msg);
    free(ids);
    int *width = calloc(v.nkeys + 1, sizeof *width);
    if (!rc && !width) rc = 1, fprintf(stderr, "rethink ls: out of memory\n");
    for (size_t k = 0; !rc && k < v.nkeys; k++) {
        width[k] = (int)strlen(v.keys[k]);
        for (size_t i = 0; i < n; i++) {
            const char *x = param_of(&v, i, v.keys[k]);
            if (x && (int)strlen(x) > width[k]) width[k] = (int)strlen(x);
        }
    }
    if (!rc) {
        printf("%5s  %-9s %-20s %-4s %8s %4s %7s %7s %8s  %-16s", "id", "status", "arm", "aug",
               "fraction", "seed", "AP", "AP50", "wall s", "hash");
        for (size_t k = 0; k < v.nkeys; k++) printf("  %-*s", width[k], v.keys[k]);
        printf("\n");
    }
    for (size_t i = 0; i < n && !rc; i++) {
        double s[RK_COCO_NSTATS];
        int found = 0;
        if ((rc = rk_store_result_get(db, t[i].id, s, &found, &err))) {
            fprintf(stderr, "rethink ls: %s\n", err.msg);
            break;
        }
        printf("%5lld  %-9s %-20s %-4s %8g %4lld ", (long long)t[i].id,
               rk_trial_status_name(t[i].status), t[i].arm ? t[i].arm : "-",
               t[i].aug ? t[i].aug : "-", t[i].fraction, (long long)t[i].seed);
        for (int k = 0; k < 2; k++)
            if (found && defined(s[k]))
                printf("%7.4f ", s[k]);
            else
                printf("%7s ", "-");
        if (isfinite(t[i].wall_s))
            printf("%8.1f", t[i].wall_s);
        else
            printf("%8s", "-");
        printf("  %-16.16s", t[i].config_hash);
        for (size_t k = 0; k < v.nkeys; k++) {
            const char *x = param_of(&v, i, v.keys[k]);
            printf("  %-*s", width[k], x ? x : "-");
        }
        printf("\n");
    }
    free(width);
    varying_free(&v);
    rk_trials_free(t, n);
    rk_store_close(db);
    return rc ? 1 : 0;
}

int cmd_show(int argc, char **argv)
{
    const char *db_path = "results.db", *trial = NULL;
    int rc, code;
    const cli_opt opts[] = {
        {.kind = CLI_STR, .dst = &trial, .arg = "TRIAL"},
        CLI_OPT_DB(&db_path),
        {0}};
    if (cli_parse(&(cli_cmd){"show", SHOW_HELP, opts}, argc, argv, &code)) return code;
    if (!trial) {
        fprintf(stderr, "rethink show: which TRIAL? (an id or a hash prefix; see rethink ls)\n");
        return 2;
    }
    rk_store *db;
    if (cli_open_db(db_path, &db, "show", 1)) return 1;
    rk_err err = {0};
    rk_trial t = {0};
    int64_t id = 0;
    int found = 0;
    if ((rc = cli_trial_id(db, trial, &id, "show"))) {
        rk_store_close(db);
        return rc;
    }
    if ((rc = rk_store_trial_get(db, id, &t, &found, &err)) || !found) {
        fprintf(stderr, "rethink show: %s\n", rc ? err.msg : "no such trial (see rethink ls)");
        rk_store_close(db);
        return 1;
    }
    printf("trial %lld  %s\n", (long long)t.id, t.config_hash);
    printf("study %s: %s, aug %s, fraction %g, seed %lld — %s (attempt %d)\n", t.study,
           t.arm ? t.arm : "-", t.aug ? t.aug : "-", t.fraction, (long long)t.seed,
           rk_trial_status_name(t.status), t.attempts);
    rk_trial *all = NULL;
    size_t nall = 0;
    int64_t *ids = NULL;
    varying v = {0};
    if (!(rc = rk_store_trials_list(db, t.study, -1, &all, &nall, &err))) {
        if (!(ids = malloc((nall + 1) * sizeof *ids))) rc = rk_errf(&err, RK_ENOMEM, "out of memory");
        for (size_t i = 0; !rc && i < nall; i++) ids[i] = all[i].id;
        if (!rc) rc = varying_load(&v, db, ids, nall, &err);
    }
    for (size_t i = 0; !rc && i < nall; i++)
        if (all[i].id == t.id && v.nkeys) {
            printf("varies in the study:");
            for (size_t k = 0; k < v.nkeys; k++) {
                const char *x = param_of(&v, i, v.keys[k]);
                printf("%s %s = %s", k ? "," : "", v.keys[k], x ? x : "(unset)");
            }
            printf("\n");
        }
    varying_free(&v);
    free(ids);
    rk_trials_free(all, nall);
    if (rc) {
        fprintf(stderr, "rethink show: %s\n", err.msg);
        rk_trial_clear(&t);
        rk_store_close(db);
        return 1;
    }
    if (t.worker) printf("worker %s\n", t.worker);
    if (isfinite(t.wall_s))
        printf("compute: %.1f s wall, %.1f s CPU, %lld images, %.3g FLOPs", t.wall_s, t.cpu_s,
               (long long)t.images, t.flops);
    if (isfinite(t.pseudo_cpu_s)) printf(", pseudo-labelling %.1f s CPU", t.pseudo_cpu_s);
    if (isfinite(t.wall_s)) printf("\n");
    if (t.data_hash) printf("labelled subset sha256 %s\n", t.data_hash);
    if (t.error) printf("error: %s\n", t.error);
    double s[RK_COCO_NSTATS];
    if (!rk_store_result_get(db, t.id, s, &found, &err) && found) {
        printf("COCO on val (fractions):\n");
        for (int i = 0; i < RK_COCO_NSTATS; i++)
            if (defined(s[i]))
                printf(" %s = %.3f\n", rk_coco_stat_label(i), s[i]);
            else if (isnan(s[i])) /* an imported trial that did not give it */
                printf(" %s = not recorded\n", rk_coco_stat_label(i));
            else
                printf(" %s = undefined (no ground truth in this range)\n", rk_coco_stat_label(i));
    }
    rk_category_ap *c = NULL;
    size_t nc = 0;
    if (!rk_store_categories_get(db, t.id, &c, &nc, &err) && nc) {
        printf("per category (AP):");
        for (size_t i = 0; i < nc; i++)
            if (defined(c[i].ap))
                printf("%s %s %.3f", i ? "," : "", c[i].name[0] ? c[i].name : "?", c[i].ap);
            else
                printf("%s %s undefined", i ? "," : "", c[i].name[0] ? c[i].name : "?");
        printf("\n");
    }
    free(c);
    printf("config: %s\n", t.config_json);
    rk_trial_clear(&t);
    rk_store_close(db);
    return 0;
}

/* A param's text as JSON: itself, verbatim, when it is JSON (numbers, arrays, true), else a
 * string. */
static cJSON *param_json(const char *x)
{
    if (!x) return cJSON_CreateNull();
    cJSON *j = *x ? cJSON_Parse(x) : NULL;
    cJSON_Delete(j);
    return j ? cJSON_CreateRaw(x) : cJSON_CreateString(x);
}

/* %.17g, as the CSV: cJSON's own printing (1.7.15) rounds to 15 digits when that compares
 * equal within an epsilon, so a value would not read back as the same double. */
static cJSON *num_json(double x)
{
    char b[40];
    if (!isfinite(x)) return cJSON_CreateNull();
    snprintf(b, sizeof b, "%.17g", x);
    return cJSON_CreateRaw(b);
}

/* One trial as a JSON object: the CSV's columns, by name. */
static cJSON *trial_json(const rk_trial *t, const double *s, int found, const varying *v, size_t i)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)t->id);
    cJSON_AddStringToObject(o, "study", t->study);
    cJSON_AddStringToObject(o, "config_hash", t->config_hash);
    cJSON_AddItemToObject(o, "arm", t->arm ? cJSON_CreateString(t->arm) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "aug", t->aug ? cJSON_CreateString(t->aug) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "fraction", num_json(t->fraction));
    cJSON_AddNumberToObject(o, "seed", (double)t->seed);
    cJSON_AddStringToObject(o, "status", rk_trial_status_name(t->status));
    cJSON_AddNumberToObject(o, "attempts", t->attempts);
    cJSON_AddItemToObject(o, "wall_s", num_json(t->wall_s));
    cJSON_AddItemToObject(o, "cpu_s", num_json(t->cpu_s));
    cJSON_AddItemToObject(o, "images", t->images >= 0 ? cJSON_CreateNumber((double)t->images)
                                                      : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "flops", num_json(t->flops));
    cJSON_AddItemToObject(o, "teacher_cpu_s", num_json(t->teacher_cpu_s));
    cJSON_AddItemToObject(o, "pseudo_cpu_s", num_json(t->pseudo_cpu_s));
    for (int k = 0; k < RK_COCO_NSTATS; k++)
        cJSON_AddItemToObject(o, rk_coco_stat_column(k), num_json(found && defined(s[k]) ? s[k] : NAN));
    for (size_t k = 0; k < v->nkeys; k++)
        cJSON_AddItemToObject(o, v->keys[k], param_json(param_of(v, i, v->keys[k])));
    return o;
}

static void csv_row(FILE *f, const rk_trial *t, const double *s, int found, const varying *v,
                    size_t i)
{
    fprintf(f, "%lld,", (long long)t->id);
    const char *text[] = {t->study, t->config_hash, t->arm ? t->arm : "", t->aug ? t->aug : ""};
    for (size_t k = 0; k < sizeof text / sizeof *text; k++) rk_csv_field(f, text[k]), fputc(',', f);
    fprintf(f, "%.17g,%lld,%s,%d,", t->fraction, (long long)t->seed,
            rk_trial_status_name(t->status), t->attempts);
    num(f, t->wall_s, "%.17g"), fputc(',', f);
    num(f, t->cpu_s, "%.17g"), fputc(',', f);
    if (t->images >= 0) fprintf(f, "%lld", (long long)t->images);
    fputc(',', f);
    num(f, t->flops, "%.17g"), fputc(',', f);
    num(f, t->teacher_cpu_s, "%.17g"), fputc(',', f);
    num(f, t->pseudo_cpu_s, "%.17g");
    for (int k = 0; k < RK_COCO_NSTATS; k++) {
        fputc(',', f);
        if (found && defined(s[k])) fprintf(f, "%.17g", s[k]);
    }
    for (size_t k = 0; k < v->nkeys; k++) {
        const char *x = param_of(v, i, v->keys[k]);
        fputc(',', f);
        if (x) rk_csv_field(f, x);
    }
    fputc('\n', f);
}

int cmd_export(int argc, char **argv)
{
    const char *db_path = "results.db", *study = NULL, *out = NULL;
    int csv = 0, json = 0, code;
    const cli_opt opts[] = {
        {.name = "csv", .kind = CLI_FLAG, .dst = &csv, .help = "CSV, a header line and a row a trial"},
        {.name = "json", .kind = CLI_FLAG, .dst = &json,
         .help = "JSON: an array of one object a trial, keyed as the CSV's columns"},
        CLI_OPT_DB(&db_path), CLI_OPT_STUDY(&study),
        {.name = "out", .kind = CLI_STR, .dst = &out, .arg = "FILE",
         .help = "where to write (default: standard output)"},
        {0}};
    if (cli_parse(&(cli_cmd){"export", EXPORT_HELP, opts}, argc, argv, &code)) return code;
    if (csv == json) {
        fprintf(stderr, "rethink export: give one format, --csv or --json (see --help)\n");
        return 2;
    }
    rk_store *db;
    if (cli_open_db(db_path, &db, "export", 1)) return 1;
    rk_trial *t = NULL;
    size_t n = 0;
    rk_err err = {0};
    varying v = {0};
    int64_t *ids = NULL;
    int rc = rk_store_trials_list(db, study, -1, &t, &n, &err);
    if (!rc && !(ids = malloc((n + 1) * sizeof *ids))) rc = rk_errf(&err, RK_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < n; i++) ids[i] = t[i].id;
    if (!rc) rc = varying_load(&v, db, ids, n, &err);
    free(ids);
    FILE *f = NULL;
    if (!rc && !(f = out ? fopen(out, "w") : stdout))
        rc = rk_errf(&err, RK_EIO, "%s: cannot create: %s", out, strerror(errno));
    if (rc) {
        fprintf(stderr, "rethink export: %s\n", err.msg);
        varying_free(&v);
        rk_trials_free(t, n);
        rk_store_close(db);
        return 1;
    }
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    if (csv) {
        fputs("id,study,config_hash,arm,aug,fraction,seed,status,attempts,wall_s,cpu_s,images,"
              "flops,teacher_cpu_s,pseudo_cpu_s", f);
        for (int i = 0; i < RK_COCO_NSTATS; i++) fprintf(f, ",%s", rk_coco_stat_column(i));
        for (size_t k = 0; k < v.nkeys; k++) fputc(',', f), rk_csv_field(f, v.keys[k]);
        fputc('\n', f);
    }
    for (size_t i = 0; i < n && !rc; i++) {
        double s[RK_COCO_NSTATS];
        int found = 0;
        if ((rc = rk_store_result_get(db, t[i].id, s, &found, &err))) {
            fprintf(stderr, "rethink export: %s\n", err.msg);
            break;
        }
        if (csv)
            csv_row(f, &t[i], s, found, &v, i);
        else
            cJSON_AddItemToArray(arr, trial_json(&t[i], s, found, &v, i));
    }
    if (json && !rc) {
        char *text = cJSON_Print(arr);
        if (text) fputs(text, f), fputc('\n', f);
        else rc = 1, fprintf(stderr, "rethink export: out of memory\n");
        cJSON_free(text);
    }
    cJSON_Delete(arr);
    varying_free(&v);
    rk_trials_free(t, n);
    rk_store_close(db);
    if (fflush(f) != 0 || (out && fclose(f) != 0)) {
        fprintf(stderr, "rethink export: %s: write failed: %s\n", out ? out : "standard output",
                strerror(errno));
        return 1;
    }
    return rc ? 1 : 0;
}
