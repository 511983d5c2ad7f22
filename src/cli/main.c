/* rethink: the command-line front end. Dispatches subcommands; only src/cli prints. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "rethink/engine.h"
#include "git_rev.h"

static const char *USAGE =
    "usage: rethink <command> [options]\n"
    "\n"
    "Controlled pre-training vs self-training experiments (Zoph et al., 2020) at laptop scale.\n"
    "\n"
    "commands:\n"
    "  sweep          run every trial of an experiment file's grid, resumably\n"
    "  merge          fold database shards (cluster tasks, separate runs) into one\n"
    "  train          train and evaluate one trial, recorded in the store\n"
    "  ls             list a study's trials; show TRIAL: one trial; export --csv: all\n"
    "  eval           score COCO results JSON against ground truth (pycocotools' 12 stats)\n"
    "  data           build the default datasets; check or show any COCO dataset\n"
    "  report         tables and plots of a study's results (HTML, Markdown, CSV, PNG, SVG)\n"
    "  check          judge claims (experiments/paper.claims) with confidence intervals\n"
    "  baseline save  write a study's per-cell results as a baseline for check --baseline\n"
    "  augment show   render augmented samples of a dataset with their boxes (PNG grid)\n"
    "  bench          benchmarks: train, data, augment, eval\n"
    "  help           show this help (also: rethink <command> --help)\n"
    "  version        print the version (also: --version)\n";

int cli_int(const char *opt, const char *val, int lo, int hi, int *out)
{
    if (!val) {
        fprintf(stderr, "rethink: option %s needs a value\n", opt);
        return -1;
    }
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (errno || *end || end == val || v < lo || v > hi) {
        fprintf(stderr, "rethink: option %s: expected an integer in %d..%d, got '%s'\n", opt, lo,
                hi, val);
        return -1;
    }
    *out = (int)v;
    return 0;
}

const char *cli_git_rev(void)
{
    return strcmp(RK_GIT_REV, "unknown") && RK_GIT_REV[0] ? RK_GIT_REV : NULL;
}

int cli_double(const char *opt, const char *val, double *out)
{
    char *end;
    errno = 0;
    double v = val ? strtod(val, &end) : 0;
    if (!val || errno || *end || end == val || !isfinite(v)) {
        fprintf(stderr, "rethink: option %s: expected a number, got '%s'\n", opt, val ? val : "");
        return -1;
    }
    *out = v;
    return 0;
}

int cli_pair(const char *opt, const char *val, double *lo, double *hi)
{
    char *end, *end2;
    errno = 0;
    double a = val ? strtod(val, &end) : 0, b = 0;
    int ok = val && end != val && *end == ',' && !errno;
    if (ok) {
        b = strtod(end + 1, &end2);
        ok = end2 != end + 1 && !*end2 && !errno && isfinite(a) && isfinite(b) && a <= b;
    }
    if (!ok) {
        fprintf(stderr, "rethink: option %s: expected MIN,MAX with MIN <= MAX, got '%s'\n", opt,
                val ? val : "");
        return -1;
    }
    *lo = a, *hi = b;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(USAGE, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("rethink %s (%s)\n", RK_VERSION, RK_GIT_REV);
        return 0;
    }
    if (!strcmp(cmd, "bench")) return cmd_bench(argc - 1, argv + 1);
    if (!strcmp(cmd, "data")) return cmd_data(argc - 1, argv + 1);
    if (!strcmp(cmd, "train")) return cmd_train(argc - 1, argv + 1);
    if (!strcmp(cmd, "sweep")) return cmd_sweep(argc - 1, argv + 1);
    if (!strcmp(cmd, "ls")) return cmd_ls(argc - 1, argv + 1);
    if (!strcmp(cmd, "show")) return cmd_show(argc - 1, argv + 1);
    if (!strcmp(cmd, "export")) return cmd_export(argc - 1, argv + 1);
    if (!strcmp(cmd, "merge")) return cmd_merge(argc - 1, argv + 1);
    if (!strcmp(cmd, "augment")) return cmd_augment(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval")) return cmd_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "report")) return cmd_report(argc - 1, argv + 1);
    if (!strcmp(cmd, "check")) return cmd_check(argc - 1, argv + 1);
    if (!strcmp(cmd, "baseline")) return cmd_baseline(argc - 1, argv + 1);
    fprintf(stderr, "rethink: unknown command '%s'\n\n%s", cmd, USAGE);
    return 2;
}
