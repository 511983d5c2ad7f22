/* Results from elsewhere (include/rethink/import.h): a CSV or JSON table read row by row
 * into trial configs with the native identity rules, then recorded through the store in one
 * transaction. Nothing here writes until every row of the file has been read and checked. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "rethink/import.h"

void rk_import_row_free(rk_import_row *r)
{
    rk_config_free(&r->cfg);
    free(r->config_json);
    free(r->arm), free(r->aug);
    free(r->metrics), free(r->cats);
    memset(r, 0, sizeof *r);
}

void rk_import_table_free(rk_import_table *t)
{
    for (size_t i = 0; i < t->n; i++) rk_import_row_free(&t->rows[i]);
    free(t->rows);
    memset(t, 0, sizeof *t);
}

/* ---- values ---- */

/* A decimal number as a whole (no hex, inf or nan, which strtod also reads). */
static int decimal(const char *s, double *v)
{
    if (!*s) return 0;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p) && !strchr("+-.eE", *p)) return 0;
    char *end;
    *v = strtod(s, &end);
    return *end == '\0' && isfinite(*v);
}

/* The shortest "%.Ng" that reads back as v: one spelling per number. */
static void shortest(char *out, size_t cap, double v)
{
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(out, cap, "%.*g", digits, v);
        if (strtod(out, NULL) == v) return;
    }
}

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 0;
    return 1;
}

static int col_err(rk_err *err, const rk_import_row *r, const char *col, const char *expect,
                   const char *got)
{
    return rk_errf(err, RK_EINVAL, "%s: column %s: expected %s, got '%.60s'", r->where, col,
                   expect, got);
}

/* ---- columns ---- */

typedef enum { C_ARM, C_AUG, C_FRACTION, C_SEED, C_STAT, C_COMPUTE, C_STATUS, C_IGNORED,
               C_PARAM, C_METRIC } ckind;

static const char *const COMPUTE[] = {"wall_s", "cpu_s", "images", "flops", "teacher_cpu_s",
                                      "pseudo_cpu_s"};
static const char *const IGNORED[] = {"id", "study", "config_hash", "attempts"};
static const char *const SECTIONS[] = {"study.", "data.", "model.", "train.", "pretrain.",
                                       "selftrain.", "augment."};
#define COUNT(a) (sizeof(a) / sizeof *(a))

/* What column name holds; *key: the stat index, compute index, or the param/metric name. */
static ckind classify(const char *name, int *idx, const char **key)
{
    static const char *const cell[] = {"arm", "aug", "fraction", "seed"};
    *idx = 0, *key = name;
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, cell[i]) || (!strncmp(name, "trial.", 6) && !strcmp(name + 6, cell[i])))
            return (ckind)(C_ARM + i);
    for (int i = 0; i < RK_COCO_NSTATS; i++)
        if (!strcmp(name, rk_coco_stat_name(i)) || !strcmp(name, rk_coco_stat_column(i)))
            return *idx = i, C_STAT;
    for (size_t i = 0; i < COUNT(COMPUTE); i++)
        if (!strcmp(name, COMPUTE[i])) return *idx = (int)i, C_COMPUTE;
    if (!strcmp(name, "status")) return C_STATUS;
    for (size_t i = 0; i < COUNT(IGNORED); i++)
        if (!strcmp(name, IGNORED[i])) return C_IGNORED;
    if (!strncmp(name, "param:", 6)) return *key = name + 6, C_PARAM;
    if (!strncmp(name, "metric:", 7)) return *key = name + 7, C_METRIC;
    for (size_t i = 0; i < COUNT(SECTIONS); i++)
        if (!strncmp(name, SECTIONS[i], strlen(SECTIONS[i])) && name[strlen(SECTIONS[i])])
            return C_PARAM;
    return C_METRIC;
}

static int put_compute(rk_import_row *r, int i, double v)
{
    double *slot[] = {&r->wall_s, &r->cpu_s, NULL, &r->flops, &r->teacher_cpu_s, &r->pseudo_cpu_s};
    if (slot[i]) *slot[i] = v;
    else r->images = (long long)v;
    return 0;
}

static int add_metric(rk_import_row *r, const char *name, double v, rk_err *err)
{
    rk_metric *m = realloc(r->metrics, (r->nmetrics + 1) * sizeof *m);
    if (!m) return rk_errf(err, RK_ENOMEM, "%s: out of memory", r->where);
    r->metrics = m;
    m = &r->metrics[r->nmetrics++];
    *m = (rk_metric){.step = 0, .epoch = -1, .value = v};
    snprintf(m->name, sizeof m->name, "%s", name);
    return RK_OK;
}

/* One cell: checked and stored in r. */
static int read_cell(rk_import_row *r, const char *name, const char *v, rk_err *err)
{
    int idx;
    const char *key;
    ckind k = classify(name, &idx, &key);
    double x;
    char num[32];
    if (k == C_IGNORED || k == C_STATUS) return RK_OK;
    /* `rethink export` writes an unknown number as nan: absent, as an empty cell */
    if ((k == C_STAT || k == C_COMPUTE || k == C_METRIC) && !strcasecmp(v, "nan")) return RK_OK;
    if (!printable(v)) return col_err(err, r, name, "text without control characters", v);
    switch (k) {
    case C_ARM:
    case C_AUG:
        if (strlen(v) > 63 || strchr(v, ','))
            return col_err(err, r, name, "a name of at most 63 characters without commas", v);
        if (!(*(k == C_ARM ? &r->arm : &r->aug) = strdup(v)))
            return rk_errf(err, RK_ENOMEM, "%s: out of memory", r->where);
        return RK_OK;
    case C_FRACTION:
        if (!decimal(v, &x) || !(x > 0 && x <= 1))
            return col_err(err, r, name, "a labelled fraction in (0, 1]", v);
        r->fraction = x;
        return RK_OK;
    case C_SEED:
        if (!decimal(v, &x) || x < 0 || x != floor(x) || x > 9007199254740992.0)
            return col_err(err, r, name, "a seed (an integer >= 0)", v);
        r->seed = (long long)x;
        return RK_OK;
    case C_STAT:
        if (!decimal(v, &x) || !((x >= 0 && x <= 1) || x == -1))
            return col_err(err, r, name, "a fraction in [0, 1] (-1: undefined; AP in points "
                           "is divided by 100 first)", v);
        r->stats[idx] = x;
        return RK_OK;
    case C_COMPUTE:
        if (!decimal(v, &x) || x < 0 || (idx == 2 && x != floor(x)))
            return col_err(err, r, name, idx == 2 ? "an integer >= 0" : "a number >= 0", v);
        return put_compute(r, idx, x);
    case C_PARAM:
        if (!*key || !printable(key)) return col_err(err, r, name, "param:KEY with a key", "");
        if (decimal(v, &x)) shortest(num, sizeof num, x), v = num;
        return rk_config_put(&r->cfg, key, v, r->where, 0, err);
    case C_METRIC:
        if (!*key || strlen(key) > 63)
            return col_err(err, r, name, "a metric name of 1..63 characters", key);
        if (!decimal(v, &x))
            return col_err(err, r, name, "a number (a metric; name the column param:NAME to "
                           "record text as a parameter)", v);
        return add_metric(r, key, x, err);
    default:
        return RK_OK;
    }
}

int rk_import_row_read(rk_import_row *r, const char *const *names, const char *const *values,
                       size_t n, const char *file, long line, int need_stats, int *skip,
                       rk_err *err)
{
    memset(r, 0, sizeof *r);
    snprintf(r->where, sizeof r->where, "%s:%ld", file, line);
    r->fraction = 1, r->seed = -1, r->images = -1;
    r->wall_s = r->cpu_s = r->flops = r->teacher_cpu_s = r->pseudo_cpu_s = NAN;
    for (int i = 0; i < RK_COCO_NSTATS; i++) r->stats[i] = NAN;
    *skip = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], "status") && values[i] && *values[i] &&
            strcmp(values[i], "finished")) {
            static const char *const other[] = {"pending", "running", "failed"};
            for (size_t k = 0; k < COUNT(other); k++) *skip |= !strcmp(values[i], other[k]);
            return *skip ? RK_OK
                         : col_err(err, r, "status", "finished, pending, running or failed",
                                   values[i]);
        }
    int rc = RK_OK;
    for (size_t i = 0; i < n && !rc; i++)
        if (values[i] && *values[i]) rc = read_cell(r, names[i], values[i], err);
    char num[32];
    if (!rc && !r->arm) rc = col_err(err, r, "arm", "the trial's arm (required)", "");
    if (!rc && r->seed < 0) rc = col_err(err, r, "seed", "the trial's seed (required)", "");
    if (!rc && need_stats && isnan(r->stats[RK_AP]))
        rc = col_err(err, r, "AP", "the trial's AP (required)", "");
    if (!rc) rc = rk_config_put(&r->cfg, "trial.arm", r->arm, r->where, 0, err);
    if (!rc && r->aug) rc = rk_config_put(&r->cfg, "trial.aug", r->aug, r->where, 0, err);
    if (!rc) shortest(num, sizeof num, r->fraction);
    if (!rc) rc = rk_config_put(&r->cfg, "trial.fraction", num, r->where, 0, err);
    if (!rc) snprintf(num, sizeof num, "%lld", r->seed);
    if (!rc) rc = rk_config_put(&r->cfg, "trial.seed", num, r->where, 0, err);
    if (!rc) rc = rk_config_json_all(&r->cfg, &r->config_json, r->hash, err);
    if (rc) rk_import_row_free(r);
    return rc;
}

/* ---- tables ---- */

typedef struct {
    rk_import_table *t;
    size_t cap;
} builder;

static int push(builder *b, rk_import_row *r, rk_err *err)
{
    if (b->t->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        rk_import_row *v = realloc(b->t->rows, cap * sizeof *v);
        if (!v) return rk_errf(err, RK_ENOMEM, "import: out of memory");
        b->t->rows = v, b->cap = cap;
    }
    b->t->rows[b->t->n++] = *r;
    return RK_OK;
}

/* One row of strings into the table (or counted as skipped). */
static int add_row(builder *b, const char *const *names, const char *const *values, size_t n,
                   const char *path, long line, rk_err *err)
{
    rk_import_row r;
    int skip = 0, rc = rk_import_row_read(&r, names, values, n, path, line, 1, &skip, err);
    if (rc) return rc;
    if (skip) {
        b->t->skipped++;
        return RK_OK;
    }
    if ((rc = push(b, &r, err))) rk_import_row_free(&r);
    return rc;
}

/* CSV (RFC 4180): the next record from *p into fields (pointers into the buffer, which is
 * rewritten in place: quotes removed, separators ended); *line advances over its newlines. */
static int csv_record(char **p, char ***fields, size_t *n, size_t *cap, long *line,
                      const char *path, rk_err *err)
{
    char *s = *p, *out = s;
    *n = 0;
    for (;;) {
        if (*n == *cap) {
            size_t c = *cap ? 2 * *cap : 32;
            char **v = realloc(*fields, c * sizeof *v);
            if (!v) return rk_errf(err, RK_ENOMEM, "import: out of memory");
            *fields = v, *cap = c;
        }
        (*fields)[(*n)++] = out;
        if (*s == '"') {
            long open = *line;
            for (s++;; s++) {
                if (!*s)
                    return rk_errf(err, RK_EFORMAT, "%s:%ld: a quoted field is not closed",
                                   path, open);
                if (*s == '"' && s[1] == '"') *out++ = '"', s++;
                else if (*s == '"') break;
                else {
                    if (*s == '\n') (*line)++;
                    *out++ = *s;
                }
            }
            s++;
            if (*s && *s != ',' && *s != '\n' && !(*s == '\r' && s[1] == '\n'))
                return rk_errf(err, RK_EFORMAT, "%s:%ld: text after a quoted field's closing "
                               "quote", path, *line);
        } else {
            while (*s && *s != ',' && *s != '\n' && !(*s == '\r' && s[1] == '\n')) *out++ = *s++;
        }
        /* out may be at s: end the field only after reading the separator */
        char sep = *s;
        size_t skip = sep == ',' || sep == '\n' ? 1 : sep == '\r' ? 2 : 0;
        *out++ = '\0';
        s += skip;
        if (sep == ',') continue;
        if (sep) (*line)++;
        *p = s;
        return RK_OK;
    }
}

static int read_csv(builder *b, char *text, const char *path, rk_err *err)
{
    char **hdr = NULL, **f = NULL;
    size_t nh = 0, ch = 0, nf = 0, cf = 0;
    long line = 1;
    char *p = text;
    int rc = csv_record(&p, &hdr, &nh, &ch, &line, path, err);
    for (size_t i = 0; i < nh && !rc; i++) {
        if (!*hdr[i]) rc = rk_errf(err, RK_EFORMAT, "%s:1: column %zu has no name", path, i + 1);
        for (size_t k = 0; k < i && !rc; k++)
            if (!strcmp(hdr[i], hdr[k]))
                rc = rk_errf(err, RK_EFORMAT, "%s:1: column %s appears twice", path, hdr[i]);
    }
    while (!rc && *p) {
        long at = line;
        if (*p == '\n' || (*p == '\r' && p[1] == '\n')) { /* a blank line */
            p += *p == '\r' ? 2 : 1, line++;
            continue;
        }
        if ((rc = csv_record(&p, &f, &nf, &cf, &line, path, err))) break;
        if (nf != nh) {
            rc = rk_errf(err, RK_EFORMAT, "%s:%ld: %zu fields, the header has %zu", path, at, nf,
                         nh);
            break;
        }
        rc = add_row(b, (const char *const *)hdr, (const char *const *)f, nf, path, at, err);
    }
    free(hdr), free(f);
    return rc;
}

/* The line of each top-level element of a JSON array (the text is valid JSON). */
static long *element_lines(const char *s, size_t *n)
{
    size_t cap = 16;
    long *lines = malloc(cap * sizeof *lines), line = 1;
    int depth = 0;
    *n = 0;
    for (; lines && *s; s++) {
        if (*s == '\n') line++;
        else if (*s == '"') {
            for (s++; *s && *s != '"'; s++) {
                if (*s == '\\' && s[1]) s++;
                else if (*s == '\n') line++;
            }
            if (!*s) break;
            if (depth == 1) goto element;
        } else if (*s == '[' || *s == '{') {
            if (depth++ == 1) goto element;
        } else if (*s == ']' || *s == '}') {
            depth--;
        } else if (depth == 1 && !isspace((unsigned char)*s) && *s != ',' &&
                   (s[-1] == ',' || s[-1] == '[' || isspace((unsigned char)s[-1]))) {
            goto element; /* a bare number, true, false or null */
        }
        continue;
    element:
        if (*n == cap) {
            long *v = realloc(lines, 2 * cap * sizeof *v);
            if (!v) break;
            lines = v, cap *= 2;
        }
        lines[(*n)++] = line;
    }
    return lines;
}

static int read_json(builder *b, const char *text, const char *path, rk_err *err)
{
    cJSON *root = cJSON_Parse(text);
    if (!root) {
        const char *e = cJSON_GetErrorPtr();
        long line = 1, col = 1;
        for (const char *q = text; e && q < e; q++) col = *q == '\n' ? (line++, 1) : col + 1;
        return rk_errf(err, RK_EFORMAT, "%s:%ld:%ld: malformed JSON", path, line, col);
    }
    size_t nl = 0;
    long *lines = element_lines(text, &nl);
    int rc = lines ? RK_OK : rk_errf(err, RK_ENOMEM, "import: out of memory");
    if (!rc && !cJSON_IsArray(root))
        rc = rk_errf(err, RK_EFORMAT, "%s: expected an array of objects, one per trial", path);
    size_t i = 0, cap = 0;
    const char **names = NULL, **values = NULL;
    char (*nums)[32] = NULL;
    for (const cJSON *o = root->child; o && !rc; o = o->next, i++) {
        long line = i < nl ? lines[i] : 0;
        if (!cJSON_IsObject(o)) {
            rc = rk_errf(err, RK_EFORMAT, "%s:%ld: row %zu: expected an object", path, line, i + 1);
            break;
        }
        size_t n = (size_t)cJSON_GetArraySize(o), k = 0;
        if (n > cap) {
            cap = n;
            free(names), free(values), free(nums);
            names = malloc(cap * sizeof *names), values = malloc(cap * sizeof *values);
            nums = malloc(cap * sizeof *nums);
            if (!names || !values || !nums) {
                rc = rk_errf(err, RK_ENOMEM, "import: out of memory");
                break;
            }
        }
        for (const cJSON *v = o->child; v && !rc; v = v->next, k++) {
            for (size_t j = 0; j < k && !rc; j++)
                if (!strcmp(names[j], v->string))
                    rc = rk_errf(err, RK_EFORMAT, "%s:%ld: column %s appears twice", path, line,
                                 v->string);
            names[k] = v->string, values[k] = NULL;
            if (cJSON_IsString(v)) values[k] = v->valuestring;
            else if (cJSON_IsNumber(v)) shortest(nums[k], sizeof nums[k], v->valuedouble), values[k] = nums[k];
            else if (cJSON_IsBool(v)) values[k] = cJSON_IsTrue(v) ? "true" : "false";
            else if (!cJSON_IsNull(v))
                rc = rk_errf(err, RK_EFORMAT, "%s:%ld: column %s: expected a string, a number, "
                             "a boolean or null, got an %s", path, line, v->string,
                             cJSON_IsArray(v) ? "array" : "object");
        }
        if (!rc) rc = add_row(b, names, values, n, path, line, err);
    }
    free(names), free(values), free(nums), free(lines);
    cJSON_Delete(root);
    return rc;
}

int rk_import_read(rk_import_table *t, const char *path, rk_err *err)
{
    memset(t, 0, sizeof *t);
    char *text = NULL;
    size_t len = 0;
    int rc = rk_read_file(path, &text, &len, err);
    if (rc) return rc;
    if (strlen(text) != len) {
        free(text);
        return rk_errf(err, RK_EFORMAT, "%s: a NUL byte: not a CSV or JSON table", path);
    }
    char *s = text;
    if (!strncmp(s, "\xef\xbb\xbf", 3)) s += 3; /* a UTF-8 byte order mark */
    const char *first = s + strspn(s, " \t\r\n");
    builder b = {.t = t};
    if (!*first) rc = rk_errf(err, RK_EFORMAT, "%s: empty: expected a CSV or JSON table", path);
    else if (*first == '[') rc = read_json(&b, s, path, err);
    else rc = read_csv(&b, s, path, err);
    if (!rc && t->n == 0 && t->skipped == 0)
        rc = rk_errf(err, RK_EFORMAT, "%s: no rows", path);
    free(text);
    if (rc) rk_import_table_free(t);
    return rc;
}

int rk_import_record(rk_store *db, const rk_import_row *rows, size_t n, const char *study,
                     const char *git_rev, rk_import_stats *st, rk_err *err)
{
    rk_trial_import *t = calloc(n + 1, sizeof *t);
    char (*who)[1200] = calloc(n + 1, sizeof *who);
    int rc = t && who ? RK_OK : rk_errf(err, RK_ENOMEM, "import: out of memory");
    for (size_t i = 0; i < n && !rc; i++) {
        const rk_import_row *r = &rows[i];
        snprintf(who[i], sizeof who[i], "import %s", r->where);
        t[i] = (rk_trial_import){
            .spec = {.study = study, .config_json = r->config_json, .arm = r->arm,
                     .aug = r->aug, .fraction = r->fraction, .seed = r->seed},
            .out = {.stats = r->stats, .cats = r->cats, .ncats = r->ncats, .wall_s = r->wall_s,
                    .cpu_s = r->cpu_s, .images = r->images, .flops = r->flops,
                    .teacher_cpu_s = r->teacher_cpu_s, .pseudo_cpu_s = r->pseudo_cpu_s},
            .metrics = r->metrics, .nmetrics = r->nmetrics,
            .worker = who[i], .git_rev = git_rev, .where = r->where};
    }
    if (!rc) rc = rk_store_trials_import(db, study, t, n, st, err);
    free(t), free(who);
    return rc;
}
