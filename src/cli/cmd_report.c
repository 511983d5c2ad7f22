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
    "                      [--confidence C] [--gnuplot PROGRAM]\n"
    "\n"
    "Writes the study's report into DIR: index.html (one self-contained page: tables and\n"
    "the plots inline), report.md (tables, PNG links), cells.csv (mean, std, n and CI of\n"
    "the 12 COCO stats per cell), deltas.csv (paired by seed, vs scratch) and, drawn with\n"
    "gnuplot as PNG and SVG: AP vs augmentation per fraction, AP vs labelled fraction,\n"
    "ΔAP vs scratch, training curves of one cell, AP vs CPU seconds, and AP vs each\n"
    "numeric extra grid axis (e.g. selftrain.alpha). The latest claims verdicts of\n"
    "`rethink check` are included. For trials trained with a dev split (train.dev) a\n"
    "convergence table says which cells plateaued within their budget (dev AP gained\n"
    "less than 0.5 points in the last quarter of training) and which were still\n"
    "improving; cells.csv ends with those numbers. The database is only read.\n"
    "\n"
    "options:\n"
    "  --db FILE                 results database (default results.db)\n"
    "  --study NAME              the study (default: the database's only study)\n"
    "  --out DIR                 output folder, created if missing (required)\n"
    "  --cell ARM,AUG,FRACTION   the cell whose training curves are drawn (default: the\n"
    "                            first selftrain cell)\n"
    "  --confidence C            confidence level of the intervals (default 0.95)\n"
    "  --gnuplot PROGRAM         gnuplot to run (default: gnuplot from PATH)\n"
    "\n"
    "exit status: 0 written; 1 writing or gnuplot failed; 2 bad input (usage, a missing\n"
    "database or study, no such --cell)\n";

int cmd_report(int argc, char **argv)
{
    const char *db_path = "results.db", *study = NULL, *out = NULL, *cell = NULL;
    double confidence = 0.95;
    rk_report_opts o = {0};
    o.curve_fraction = NAN;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(HELP, stdout);
            return 0;
        }
        if (!v || a[0] != '-') {
            fprintf(stderr, v ? "rethink report: unexpected argument '%s' (see --help)\n"
                              : "rethink report: option %s needs a value (see --help)\n", a);
            return 2;
        }
        if (!strcmp(a, "--db")) db_path = v;
        else if (!strcmp(a, "--study")) study = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--cell")) cell = v;
        else if (!strcmp(a, "--gnuplot")) o.gnuplot = v;
        else if (!strcmp(a, "--confidence")) {
            if (cli_double(a, v, &confidence)) return 2;
            if (!(confidence > 0 && confidence < 1)) {
                fprintf(stderr, "rethink report: option --confidence: expected a number in (0, 1), "
                        "got '%s'\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, "rethink report: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        i++;
    }
    if (!out) {
        fprintf(stderr, "rethink report: --out DIR is required (see --help)\n");
        return 2;
    }
    char arm[64], aug[64];
    if (cell) {
        const char *c1 = strchr(cell, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        char *end = NULL;
        double fr = c2 ? strtod(c2 + 1, &end) : NAN;
        if (!c2 || c1 == cell || c2 == c1 + 1 || (size_t)(c1 - cell) >= sizeof arm ||
            (size_t)(c2 - c1 - 1) >= sizeof aug || !end || *end || end == c2 + 1 || !(fr > 0 && fr <= 1)) {
            fprintf(stderr, "rethink report: option --cell: expected ARM,AUG,FRACTION (e.g. "
                    "selftrain,S4,0.2), got '%s'\n", cell);
            return 2;
        }
        snprintf(arm, sizeof arm, "%.*s", (int)(c1 - cell), cell);
        snprintf(aug, sizeof aug, "%.*s", (int)(c2 - c1 - 1), c1 + 1);
        o.curve_arm = arm, o.curve_aug = aug, o.curve_fraction = fr;
    }
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
    }
    rk_report_files_free(&files);
    rk_results_free(&r);
    return rc ? (rc == RK_EINVAL ? 2 : 1) : 0;
}
