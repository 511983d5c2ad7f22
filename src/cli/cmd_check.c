/* rethink check: judge a claims file (and/or a baseline) against a study's results, record
 * the verdicts in the store, print them, and say the overall verdict in the exit code.
 * rethink baseline save: write a study's per-cell results as a baseline file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rethink/check.h"

static const char *HELP =
    "usage: rethink check CLAIMS [--db FILE] [--study NAME] [--confidence C]\n"
    "                     [--baseline FILE] [--json] [--verbose] [--no-record]\n"
    "       rethink check --baseline FILE [--db FILE] [--study NAME] ...\n"
    "\n"
    "Judges each claim of the claims file (docs/CLAIMS.md; the paper's are in\n"
    "experiments/paper.claims) against the study's results: HOLDS when its confidence\n"
    "interval lies inside the claimed region in every cell, FAILS when it lies outside in\n"
    "a cell even after Holm's correction for testing every cell (claim key correction),\n"
    "INCONCLUSIVE otherwise (the interval straddles the boundary, fewer than 2 seeds, a\n"
    "missing cell, a cell that hit its maximum budget under the plateau schedule). MDE is\n"
    "the smallest effect the deciding cell's seeds could detect (80 % power). Verdicts are\n"
    "recorded in the store's claims table (unless --no-record) and printed.\n";
static const char *EXIT_STATUS = /* after the options */
    "\nexit status:\n"
    "  0  every claim holds\n"
    "  1  at least one claim fails\n"
    "  3  none fails, but at least one is inconclusive\n"
    "  2  bad input: usage, a malformed claims or baseline file (file:line and key named),\n"
    "     a missing database or study, an unknown arm, stat, config key or axis value";

static const char *BASELINE_HELP =
    "usage: rethink baseline save [--db FILE] [--study NAME] --out FILE\n"
    "\n"
    "Writes the study's per-cell mean, std and n of the 12 COCO stats as a baseline file\n"
    "(INI) for `rethink check --baseline FILE`, with a [tolerance] section to edit: a cell\n"
    "fails when its mean moves by more than max(tolerance, k * std * sqrt(1/n_base + 1/n_now)).\n";

static const char *BASELINE_USAGE =
    "usage: rethink baseline save [--db FILE] [--study NAME] --out FILE\n"
    "\n"
    "rethink baseline save --help describes it.\n";

static void fmt_signed(char *out, size_t cap, double v)
{
    if (isfinite(v)) snprintf(out, cap, "%+.4f", v);
    else snprintf(out, cap, "-");
}

static void print_table(const rk_results *r, const rk_check_result *res, size_t n, int verbose)
{
    printf("study %s (%s): %zu claims, %g %% confidence per cell\n\n", r->study, r->db_path, n,
           100 * r->confidence);
    int w = 5;
    for (size_t i = 0; i < n; i++)
        if ((int)strlen(res[i].name) > w) w = (int)strlen(res[i].name);
    printf("%-13s %-*s %9s  %-21s %4s  %7s  %s\n", "verdict", w, "claim", "estimate", "CI", "n",
           "MDE", "cells holding");
    int few = 0;
    for (size_t i = 0; i < n; i++) {
        const rk_check_result *c = &res[i];
        char est[32], lo[32], hi[32], ci[80] = "-", mde[32] = "-", nn[32];
        fmt_signed(est, sizeof est, c->estimate);
        fmt_signed(lo, sizeof lo, c->s.ci_low);
        fmt_signed(hi, sizeof hi, c->s.ci_high);
        if (isfinite(c->s.ci_low)) snprintf(ci, sizeof ci, "[%s, %s]", lo, hi);
        if (isfinite(c->mde)) snprintf(mde, sizeof mde, "%.4f", c->mde);
        else if (c->nunits && c->type != RK_CLAIM_STABLE && c->type != RK_CLAIM_BASELINE)
            snprintf(mde, sizeof mde, "n<2"); /* fewer than 2 pairs: it cannot be computed */
        /* '*': the verdict rests on fewer than 4 seeds somewhere (footnote) */
        snprintf(nn, sizeof nn, "%zu%s", c->s.n, c->nmin && c->nmin < 4 ? "*" : "");
        few |= c->nmin && c->nmin < 4;
        size_t h = 0;
        for (size_t j = 0; j < c->nunits; j++) h += c->units[j].verdict == RK_HOLDS;
        printf("%-13s %-*s %9s  %-21s %4s  %7s  %zu/%zu\n", rk_verdict_name(c->verdict), w,
               c->name, est, ci, nn, mde, h, c->nunits);
        if (c->verdict != RK_HOLDS || verbose) printf("%13s   %s\n", "", c->reason);
        for (size_t j = 0; verbose && j < c->nunits; j++) {
            const rk_check_unit *u = &c->units[j];
            fmt_signed(est, sizeof est, u->estimate);
            fmt_signed(lo, sizeof lo, u->s.ci_low);
            fmt_signed(hi, sizeof hi, u->s.ci_high);
            char pv[64] = "";
            if (isfinite(u->p)) snprintf(pv, sizeof pv, " p=%.3g adj=%.3g", u->p, u->p_adjusted);
            printf("%17s %-12s %-40s %9s [%s, %s] n=%zu%s%s%s\n", "", rk_verdict_name(u->verdict),
                   u->label, est, lo, hi, u->s.n, pv, u->note ? "  " : "", u->note ? u->note : "");
        }
    }
    size_t cnt[3] = {0};
    for (size_t i = 0; i < n; i++) cnt[res[i].verdict]++;
    printf("\n%zu hold, %zu fail, %zu inconclusive\n", cnt[RK_HOLDS], cnt[RK_FAILS],
           cnt[RK_INCONCLUSIVE]);
    if (few)
        printf("* fewer than 4 seeds behind the verdict: its interval rests on a rough estimate "
               "of the spread, so read it as indicative\n");
}

int cmd_check(int argc, char **argv)
{
    const char *claims = NULL, *db_path = "results.db", *study = NULL, *baseline = NULL;
    double confidence = NAN;
    int json = 0, verbose = 0, no_record = 0, code;
    const cli_opt opts[] = {
        {.kind = CLI_STR, .dst = &claims, .arg = "CLAIMS"},
        CLI_OPT_DB(&db_path),
        {.name = "study", .kind = CLI_STR, .dst = &study, .arg = "NAME",
         .help = "the study (default: the claims file's [claims] study, else the\n"
                 "database's only study)"},
        {.name = "confidence", .kind = CLI_NUM, .dst = &confidence, .arg = "C", .lo = 0, .hi = 1,
         .open = CLI_OPEN_LO | CLI_OPEN_HI,
         .help = "confidence level of the intervals (default: the claims file's,\nelse 0.95)"},
        {.name = "baseline", .kind = CLI_STR, .dst = &baseline, .arg = "FILE",
         .help = "also check every cell against a baseline written by\n"
                 "`rethink baseline save` (claim 'baseline')"},
        {.name = "json", .kind = CLI_FLAG, .dst = &json,
         .help = "the last line of stdout is one JSON object with every verdict"},
        {.name = "verbose", .short_name = 'v', .kind = CLI_FLAG, .dst = &verbose,
         .help = "print every cell (unit) of every claim"},
        {.name = "no-record", .kind = CLI_FLAG, .dst = &no_record,
         .help = "judge without writing: the database is opened read-only and left\n"
                 "byte for byte as it was (a published or someone else's database)"},
        {.help = EXIT_STATUS},
        {0}};
    if (cli_parse(&(cli_cmd){"check", HELP, opts}, argc, argv, &code)) return code;
    if (!claims && !baseline) {
        fprintf(stderr, "rethink check: a CLAIMS file or --baseline FILE is required (see --help)\n");
        return 2;
    }
    rk_err err = {0};
    rk_claimset cs = {0};
    cs.confidence = NAN;
    int rc = claims ? rk_claimset_load(&cs, claims, &err) : RK_OK;
    if (!rc && baseline) rc = rk_claimset_add_baseline(&cs, baseline, &err);
    if (rc) {
        fprintf(stderr, "rethink check: %s\n", err.msg);
        rk_claimset_free(&cs);
        return 2;
    }
    if (isnan(confidence)) confidence = isnan(cs.confidence) ? 0.95 : cs.confidence;
    if (!study) study = cs.study;
    rk_results r;
    rk_check_result *res = NULL;
    size_t n = 0;
    rk_store *db = NULL;
    if ((rc = rk_results_load(&r, db_path, study, confidence, &err))) goto fail;
    if ((rc = rk_check_run(&cs, &r, &res, &n, &err))) goto fail_results;
    /* verdicts that cannot be recorded (a read-only mount) are still verdicts: said, and the
     * exit code is theirs */
    if (!no_record &&
        (rk_store_open(&db, db_path, &err) || rk_check_record(db, r.study, res, n, &err)))
        fprintf(stderr, "rethink check: the verdicts are not recorded: %s\n", err.msg);
    print_table(&r, res, n, verbose);
    code = rk_check_exit_code(res, n);
    if (json) {
        char *j = rk_check_json(r.study, confidence, res, n);
        if (j) printf("%s\n", j);
        free(j);
    }
    rk_store_close(db);
    rk_check_results_free(res, n);
    rk_results_free(&r);
    rk_claimset_free(&cs);
    return code;
fail_results:
    rk_store_close(db);
    rk_check_results_free(res, n);
    rk_results_free(&r);
fail:
    fprintf(stderr, "rethink check: %s\n", err.msg);
    rk_claimset_free(&cs);
    return 2;
}

static int baseline_save(int argc, char **argv)
{
    const char *db_path = "results.db", *study = NULL, *out = NULL;
    int code;
    const cli_opt opts[] = {
        CLI_OPT_DB(&db_path), CLI_OPT_STUDY(&study),
        {.name = "out", .kind = CLI_STR, .dst = &out, .arg = "FILE", .required = 1,
         .help = "where to write the baseline (required)"},
        {0}};
    if (cli_parse(&(cli_cmd){"baseline save", BASELINE_HELP, opts}, argc, argv, &code)) return code;
    rk_err err = {0};
    rk_results r;
    if (rk_results_load(&r, db_path, study, 0.95, &err)) {
        fprintf(stderr, "rethink baseline save: %s\n", err.msg);
        return 2;
    }
    int rc = rk_baseline_save(&r, out, &err);
    if (rc) fprintf(stderr, "rethink baseline save: %s\n", err.msg);
    else printf("baseline of study %s (%zu cells) written to %s\n", r.study, r.ncells, out);
    rk_results_free(&r);
    return rc ? 1 : 0;
}

int cmd_baseline(int argc, char **argv)
{
    static const cli_sub subs[] = {{"save", baseline_save}, {0}};
    return cli_dispatch("baseline", BASELINE_USAGE, subs, argc, argv);
}
