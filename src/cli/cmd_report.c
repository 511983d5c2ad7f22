/* rethink report: a study's results as a folder of tables and plots (index.html, report.md,
 * cells.csv, deltas.csv, PNG and SVG plots with their gnuplot scripts). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rethink/report.h"

static const char *HELP =
    "usage: rethink report [--db FILE] [--study NAME] --out DIR [--cell ARM,AUG,FRACTION]\n"
    "                      [--confidence C] [--gnuplot PROGRAM] [--shared-y]\n"
    "\n"
    "Writes the study's report into DIR: index.html (one self-contained page: tables and\n"
    "the plots inline), report.md (tables, PNG links), cells.csv (mean, std, n and CI of\n"
    "the 12 COCO stats per cell), deltas.csv (paired by seed, vs scratch and vs an arm's\n"
    "control) and, drawn with gnuplot as PNG and SVG: AP vs augmentation per fraction, AP\n"
    "vs labelled fraction, ΔAP vs scratch (and vs control), training curves of one cell,\n"
    "AP vs CPU seconds, and AP vs each numeric extra grid axis (e.g. selftrain.alpha).\n"
    "Without a working gnuplot the report is written without plots and says why. The\n"
    "latest claims verdicts of `rethink check` are included. Convergence: cells trained\n"
    "with train.schedule = plateau whose trials hit their maximum budget are listed; for\n"
    "fixed budgets with a dev split (train.dev) a table says which cells plateaued (dev AP\n"
    "gained less than 2 % of itself in the last quarter of training) and which were still\n"
    "improving; cells.csv ends with those numbers. The database is only read.\n";
static const char *EXIT_STATUS = /* after the options */
    "\nexit status: 0 written (plots missing if gnuplot failed: a warning says so); 1 a file\n"
    "could not be written; 2 bad input (usage, a missing database or study, no such --cell)";

typedef struct cell {
    char arm[64], aug[64];
    double fraction;
} cell;

/* "ARM,AUG,FRACTION" with a fraction in (0, 1] */
static int parse_cell(const char *v, void *dst)
{
    cell *c = dst;
    const char *c1 = strchr(v, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
    char *end = NULL;
    double fr = c2 ? strtod(c2 + 1, &end) : NAN;
    if (!c2 || c1 == v || c2 == c1 + 1 || (size_t)(c1 - v) >= sizeof c->arm ||
        (size_t)(c2 - c1 - 1) >= sizeof c->aug || !end || *end || end == c2 + 1 ||
        !(fr > 0 && fr <= 1))
        return -1;
    snprintf(c->arm, sizeof c->arm, "%.*s", (int)(c1 - v), v);
    snprintf(c->aug, sizeof c->aug, "%.*s", (int)(c2 - c1 - 1), c1 + 1);
    c->fraction = fr;
    return 0;
}

int cmd_report(int argc, char **argv)
{
    const char *db_path = "results.db", *study = NULL, *out = NULL;
    double confidence = 0.95;
    cell curve = {.fraction = NAN};
    rk_report_opts o = {.curve_fraction = NAN};
    int code;
    const cli_opt opts[] = {
        CLI_OPT_DB(&db_path), CLI_OPT_STUDY(&study),
        {.name = "out", .kind = CLI_STR, .dst = &out, .arg = "DIR", .required = 1,
         .help = "output folder, created if missing (required)"},
        {.name = "cell", .kind = CLI_FN, .dst = &curve, .arg = "ARM,AUG,FRACTION",
         .parse = parse_cell, .expect = "ARM,AUG,FRACTION (e.g. selftrain,S4,0.2)",
         .help = "the cell whose training curves are drawn (default: the\nfirst selftrain cell)"},
        {.name = "confidence", .kind = CLI_NUM, .dst = &confidence, .arg = "C", .lo = 0, .hi = 1,
         .open = CLI_OPEN_LO | CLI_OPEN_HI,
         .help = "confidence level of the intervals (default 0.95)"},
        {.name = "gnuplot", .kind = CLI_STR, .dst = &o.gnuplot, .arg = "PROGRAM",
         .help = "gnuplot to run (default: gnuplot from PATH)"},
        {.name = "shared-y", .kind = CLI_FLAG, .dst = &o.shared_y,
         .help = "one y range for every panel of the AP vs augmentation and\n"
                 "AP vs labelled fraction plots"},
        {.help = EXIT_STATUS},
        {0}};
    if (cli_parse(&(cli_cmd){"report", HELP, opts}, argc, argv, &code)) return code;
    if (!isnan(curve.fraction))
        o.curve_arm = curve.arm, o.curve_aug = curve.aug, o.curve_fraction = curve.fraction;
    o.out_dir = out;
    rk_err err = {0};
    rk_results r;
    if (rk_results_load(&r, db_path, study, confidence, &err)) {
        fprintf(stderr, "rethink report: %s\n", err.msg);
        return 2;
    }
    rk_report_files files = {0};
    int rc = rk_report_write(&r, &o, &files, &err);
    if (rc) {
        fprintf(stderr, "rethink report: %s\n", err.msg);
    } else {
        printf("report of study %s (%zu cells, %zu trials): %zu files in %s\n", r.study, r.ncells,
               r.n, files.n, out);
        for (size_t i = 0; i < files.n; i++) printf("  %s\n", files.paths[i]);
        printf("open %s/index.html in a browser\n", out);
        if (files.warning) fprintf(stderr, "rethink report: warning: plots missing: %s\n", files.warning);
    }
    rk_report_files_free(&files);
    rk_results_free(&r);
    return rc ? (rc == RK_EINVAL ? 2 : 1) : 0;
}
