/* Looking at results: rethink ls (trials of a study), rethink show TRIAL (one trial's config,
 * results, per-category AP and compute) and rethink export --csv (every trial as one CSV row). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rethink/eval.h"
#include "rethink/report.h"
#include "rethink/store.h"

static const char *LS_HELP =
    "usage: rethink ls [--db FILE] [--study NAME] [--status pending|running|finished|failed]\n"
    "\n"
    "Lists trials: id, status, arm, aug, fraction, seed, AP, AP50, wall seconds, hash.\n";
static const char *SHOW_HELP =
    "usage: rethink show TRIAL [--db FILE]\n"
    "\n"
    "Shows one trial (by id, or by a prefix of its config hash): cell, status, compute, the\n"
    "12 COCO stats, per-category AP, the resolved config and the error of a failed trial.\n";
static const char *EXPORT_HELP =
    "usage: rethink export --csv [--db FILE] [--study NAME] [--out FILE]\n"
    "\n"
    "Writes every trial as one CSV row (cell, status, compute, the 12 COCO stats) to FILE or\n"
    "standard output, for spreadsheets and pandas.\n";

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
    printf("%5s  %-9s %-20s %-4s %8s %4s %7s %7s %8s  %s\n", "id", "status", "arm", "aug",
           "fraction", "seed", "AP", "AP50", "wall s", "hash");
    int rc = 0;
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
        if (found)
            printf("%7.4f %7.4f ", s[0], s[1]);
        else
            printf("%7s %7s ", "-", "-");
        if (isfinite(t[i].wall_s))
            printf("%8.1f", t[i].wall_s);
        else
            printf("%8s", "-");
        printf("  %.16s\n", t[i].config_hash);
    }
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
        printf("COCO on val:\n");
        for (int i = 0; i < RK_COCO_NSTATS; i++) printf(" %s = %.3f\n", rk_coco_stat_label(i), s[i]);
    }
    rk_category_ap *c = NULL;
    size_t nc = 0;
    if (!rk_store_categories_get(db, t.id, &c, &nc, &err) && nc) {
        printf("per category (AP):");
        for (size_t i = 0; i < nc; i++) printf("%s %s %.3f", i ? "," : "", c[i].name[0] ? c[i].name : "?", c[i].ap);
        printf("\n");
    }
    free(c);
    printf("config: %s\n", t.config_json);
    rk_trial_clear(&t);
    rk_store_close(db);
    return 0;
}

int cmd_export(int argc, char **argv)
{
    const char *db_path = "results.db", *study = NULL, *out = NULL;
    int csv = 0, code;
    const cli_opt opts[] = {
        {.name = "csv", .kind = CLI_FLAG, .dst = &csv, .help = "CSV (the one format; required)"},
        CLI_OPT_DB(&db_path), CLI_OPT_STUDY(&study),
        {.name = "out", .kind = CLI_STR, .dst = &out, .arg = "FILE",
         .help = "where to write (default: standard output)"},
        {0}};
    if (cli_parse(&(cli_cmd){"export", EXPORT_HELP, opts}, argc, argv, &code)) return code;
    if (!csv) {
        fprintf(stderr, "rethink export: --csv is the one format (see --help)\n");
        return 2;
    }
    rk_store *db;
    if (cli_open_db(db_path, &db, "export", 1)) return 1;
    rk_trial *t = NULL;
    size_t n = 0;
    rk_err err = {0};
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f) {
        fprintf(stderr, "rethink export: %s: cannot create\n", out);
        rk_store_close(db);
        return 1;
    }
    if (rk_store_trials_list(db, study, -1, &t, &n, &err)) {
        fprintf(stderr, "rethink export: %s\n", err.msg);
        rk_store_close(db);
        return 1;
    }
    fputs("id,study,config_hash,arm,aug,fraction,seed,status,attempts,wall_s,cpu_s,images,flops,"
          "teacher_cpu_s,pseudo_cpu_s", f);
    for (int i = 0; i < RK_COCO_NSTATS; i++) fprintf(f, ",%s", rk_coco_stat_name(i));
    fputc('\n', f);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        fprintf(f, "%lld,", (long long)t[i].id);
        const char *text[] = {t[i].study, t[i].config_hash, t[i].arm ? t[i].arm : "",
                              t[i].aug ? t[i].aug : ""};
        for (size_t k = 0; k < sizeof text / sizeof *text; k++)
            rk_csv_field(f, text[k]), fputc(',', f);
        fprintf(f, "%.17g,%lld,%s,%d,", t[i].fraction, (long long)t[i].seed,
                rk_trial_status_name(t[i].status), t[i].attempts);
        num(f, t[i].wall_s, "%.17g"), fputc(',', f);
        num(f, t[i].cpu_s, "%.17g"), fputc(',', f);
        if (t[i].images >= 0) fprintf(f, "%lld", (long long)t[i].images);
        fputc(',', f);
        num(f, t[i].flops, "%.17g"), fputc(',', f);
        num(f, t[i].teacher_cpu_s, "%.17g"), fputc(',', f);
        num(f, t[i].pseudo_cpu_s, "%.17g");
        double s[RK_COCO_NSTATS];
        int found = 0;
        if ((rc = rk_store_result_get(db, t[i].id, s, &found, &err))) {
            fprintf(stderr, "rethink export: %s\n", err.msg);
            break;
        }
        for (int k = 0; k < RK_COCO_NSTATS; k++) {
            fputc(',', f);
            if (found) fprintf(f, "%.17g", s[k]);
        }
        fputc('\n', f);
    }
    rk_trials_free(t, n);
    rk_store_close(db);
    if (fflush(f) != 0 || (out && fclose(f) != 0)) {
        fprintf(stderr, "rethink export: %s: write failed: %s\n", out ? out : "standard output",
                strerror(errno));
        return 1;
    }
    return rc ? 1 : 0;
}
