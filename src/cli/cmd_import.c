/* rethink import: results produced outside rethink recorded as finished trials — a CSV or
 * JSON table (src/sweep/import.c), or one COCO results file scored here with rethink's own
 * evaluator (src/eval) — so that report and check read them as native trials. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rethink/eval.h"
#include "rethink/import.h"

static const char *HELP =
    "usage: rethink import FILE --study NAME [--db FILE] [--dry-run]\n"
    "       rethink import --gt instances.json --dt results.json -s arm=A -s seed=N\n"
    "                      [-s aug=S] [-s fraction=F] [-s KEY=VALUE ...] --study NAME [--db FILE]\n"
    "\n"
    "Records results produced outside rethink as finished trials of a study, which report\n"
    "and check then read as native ones. FILE is a CSV table (a header row) or a JSON array\n"
    "of flat objects, one trial per row; its columns, by name:\n"
    "  arm, aug, fraction, seed    the cell (arm and seed required; fraction 1, aug none\n"
    "                              when absent)\n"
    "  AP AP50 AP75 APs APm APl AR1 AR10 AR100 ARs ARm ARl\n"
    "                              COCO stats as fractions in [0, 1], -1 undefined (AP\n"
    "                              required)\n"
    "  wall_s cpu_s images flops teacher_cpu_s pseudo_cpu_s   compute\n"
    "  status                      rows not 'finished' are skipped (rethink export's)\n"
    "  id study config_hash attempts   ignored (rethink export's bookkeeping)\n"
    "  param:KEY, or a dotted key of rethink's sections (train.lr, model.width, data.*, ...)\n"
    "                              a parameter: part of the trial's config and identity\n"
    "  metric:NAME, or any other column   a metric (a number), recorded at step 0\n"
    "An empty cell (JSON null) is an absent value. The identity is the canonical JSON of\n"
    "the row's config (trial.arm, trial.aug, trial.fraction, trial.seed, the parameters;\n"
    "numbers in their shortest form), hashed as native trials are: importing a file twice\n"
    "changes nothing, and a row whose trial is already finished with other results is a\n"
    "conflict. Every row is checked first and all are recorded in one transaction: one bad\n"
    "row (the error names the file, its line and the column) and nothing is recorded.\n"
    "\n"
    "With --gt and --dt, a COCO results file is scored against the ground truth with\n"
    "rethink eval's evaluator (the 12 stats and per-category AP) and recorded as one trial\n"
    "whose cell and parameters are the -s values (the same column names as a table's).\n";
static const char *EXIT_STATUS =
    "\nexit status: 0 recorded (or nothing new), 1 bad input or a conflict (nothing\n"
    "recorded), 2 usage error.";

/* The -s key=value pairs as columns of one row, scored from gt/dt. */
static int scored_row(rk_import_row *r, const cli_list *set, const char *gt_path,
                      const char *dt_path, rk_err *err)
{
    const char **names = calloc(set->n + 1, sizeof *names), **values = calloc(set->n + 1, sizeof *values);
    char **own = calloc(set->n + 1, sizeof *own);
    int rc = names && values && own ? RK_OK : rk_errf(err, RK_ENOMEM, "out of memory");
    for (size_t i = 0; i < set->n && !rc; i++) {
        const char *eq = strchr(set->v[i], '=');
        if (!eq || eq == set->v[i]) {
            rc = rk_errf(err, RK_EINVAL, "-s %s: expected key=value", set->v[i]);
            break;
        }
        if (!(own[i] = strndup(set->v[i], (size_t)(eq - set->v[i])))) {
            rc = rk_errf(err, RK_ENOMEM, "out of memory");
            break;
        }
        names[i] = own[i], values[i] = eq + 1;
        for (int k = 0; k < RK_COCO_NSTATS && !rc; k++)
            if (!strcmp(own[i], rk_coco_stat_name(k)))
                rc = rk_errf(err, RK_EINVAL, "-s %s: the stats come from scoring --dt", set->v[i]);
    }
    int skip = 0;
    if (!rc) rc = rk_import_row_read(r, names, values, set->n, "-s", 0, 0, &skip, err);
    for (size_t i = 0; own && i < set->n; i++) free(own[i]);
    free(own), free(names), free(values);
    if (!rc && skip) rc = rk_errf(err, RK_EINVAL, "-s status: only a finished trial is recorded");
    if (rc) return rc;
    snprintf(r->where, sizeof r->where, "%s", dt_path);
    rk_coco gt;
    rk_det *dets = NULL;
    size_t n = 0;
    rk_coco_stats st = {0};
    if ((rc = rk_coco_load(&gt, gt_path, err))) goto out;
    if (!(rc = rk_dets_load(&dets, &n, dt_path, &gt, err)) &&
        !(rc = rk_coco_eval(&st, &gt, dets, n, err))) {
        memcpy(r->stats, st.stats, sizeof r->stats);
        r->cats = calloc(st.ncats + 1, sizeof *r->cats);
        if (!r->cats) rc = rk_errf(err, RK_ENOMEM, "out of memory");
        for (size_t k = 0; r->cats && k < st.ncats; k++) {
            r->cats[k] = (rk_category_ap){.id = (int)gt.cats[k].id, .ap = st.cat_ap[k]};
            snprintf(r->cats[k].name, sizeof r->cats[k].name, "%s", gt.cats[k].name);
        }
        r->ncats = r->cats ? st.ncats : 0;
    }
    rk_coco_stats_free(&st);
    free(dets);
    rk_coco_free(&gt);
out:
    if (rc) rk_import_row_free(r);
    return rc;
}

int cmd_import(int argc, char **argv)
{
    const char *db_path = "results.db", *study = NULL, *file = NULL, *gt = NULL, *dt = NULL;
    cli_list set = {0};
    int dry = 0, code;
    const cli_opt opts[] = {
        {.kind = CLI_STR, .dst = &file, .arg = "FILE"},
        {.name = "study", .kind = CLI_STR, .dst = &study, .arg = "NAME", .required = 1,
         .help = "the study the trials join (created if missing)"},
        CLI_OPT_DB(&db_path),
        {.name = "gt", .kind = CLI_STR, .dst = &gt, .arg = "FILE",
         .help = "ground truth (COCO instances JSON) to score --dt against"},
        {.name = "dt", .kind = CLI_STR, .dst = &dt, .arg = "FILE",
         .help = "a COCO results file to score and record as one trial"},
        CLI_OPT_OVERRIDE(&set, "with --dt: the trial's arm, seed, aug, fraction, parameters\n"
                               "and metrics (column names as in a table)"),
        {.name = "dry-run", .kind = CLI_FLAG, .dst = &dry,
         .help = "read and check everything, record nothing"},
        {.help = EXIT_STATUS},
        {0}};
    if (cli_parse(&(cli_cmd){"import", HELP, opts}, argc, argv, &code)) return code;
    int scored = gt || dt;
    const char *usage = NULL;
    if (scored && (!gt || !dt)) usage = "--gt and --dt go together";
    else if (scored && file) usage = "give a table FILE or --gt/--dt, not both";
    else if (!scored && !file) usage = "a table FILE, or --gt and --dt, is required";
    else if (!scored && set.n) usage = "-s goes with --gt/--dt (a table names its columns)";
    if (usage) {
        fprintf(stderr, "rethink import: %s (see --help)\n", usage);
        free(set.v);
        return 2;
    }
    rk_err err = {0};
    rk_import_table t = {0};
    rk_import_row one;
    int rc = scored ? scored_row(&one, &set, gt, dt, &err) : rk_import_read(&t, file, &err);
    free(set.v);
    if (rc) {
        fprintf(stderr, "rethink import: %s\n", err.msg);
        return 1;
    }
    if (scored) t.rows = &one, t.n = 1;
    rk_import_stats st = {0};
    rk_store *db = NULL;
    if (!dry) {
        if ((rc = rk_store_open(&db, db_path, &err)) ||
            (rc = rk_import_record(db, t.rows, t.n, study, cli_git_rev(), &st, &err)))
            fprintf(stderr, "rethink import: %s\n", err.msg);
        rk_store_close(db);
    }
    if (!rc) {
        printf("%s: %zu trial%s %s", scored ? dt : file, t.n, t.n == 1 ? "" : "s",
               dry ? "read and checked (nothing recorded: --dry-run)" : "read");
        if (!dry) printf(", %zu recorded in study %s, %zu already there", st.added, study,
                         st.unchanged);
        if (st.elsewhere) printf(" (%zu of them in another study)", st.elsewhere);
        if (t.skipped) printf("; %zu rows skipped (status not finished)", t.skipped);
        printf("\n");
        if (scored) printf("AP = %.3f, AP50 = %.3f\n", one.stats[RK_AP], one.stats[RK_AP50]);
    }
    if (scored) rk_import_row_free(&one);
    else rk_import_table_free(&t);
    return rc ? 1 : 0;
}
