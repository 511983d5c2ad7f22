/* rethink rm: removes trials from a database — the ones named, a study's failed ones, or a
 * whole study — with everything recorded about them, after showing what goes and only with
 * --yes. The store refuses a trial a live worker holds and a teacher whose student stays
 * (rk_store_trials_remove), so a study never keeps a student without its teacher's link. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *HELP =
    "usage: rethink rm TRIAL... [--db FILE] [--yes]\n"
    "       rethink rm --failed [--study NAME] [--db FILE] [--yes]\n"
    "       rethink rm --study NAME [--db FILE] [--yes]\n"
    "\n"
    "Removes trials with everything recorded about them (params, metrics, results,\n"
    "dependencies): the TRIALs named (an id, or a prefix of the config hash, as rethink ls\n"
    "shows them), a study's failed trials (--failed), or a whole study with its claims\n"
    "verdicts (--study alone). Without --yes it lists what it would remove and removes\n"
    "nothing. A running trial is refused (stop its sweep first), and so is a teacher whose\n"
    "student stays. Files in study.artifacts are left as they are. A removed trial runs\n"
    "again in the next sweep of its grid (to run failed trials again, rethink sweep FILE\n"
    "--retry-failed keeps their history).\n";

/* The study to work on: the one given (it must exist), else the database's only one; NULL
 * (said). */
static char *which_study(rk_store *db, const char *given)
{
    char **names = NULL, *one = NULL;
    size_t n = 0;
    rk_err err = {0};
    if (rk_store_studies_list(db, &names, &n, &err)) {
        fprintf(stderr, "rethink rm: %s\n", err.msg);
    } else if (given) {
        for (size_t i = 0; i < n && !one; i++)
            if (!strcmp(names[i], given)) one = strdup(given);
        if (!one) {
            const char *near = rk_suggest(given, (const char *const *)names, n);
            fprintf(stderr, "rethink rm: no study '%s' in the database%s%s%s\n", given,
                    near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
        }
    } else if (n != 1) {
        fprintf(stderr, "rethink rm: the database holds %zu studies: name one with --study\n", n);
    } else {
        one = strdup(names[0]);
    }
    rk_store_strings_free(names, n);
    return one;
}

static void list(const rk_trial *t)
{
    printf("%5lld  %-9s %-20s %-4s %8g %4lld  %.16s\n", (long long)t->id,
           rk_trial_status_name(t->status), t->arm ? t->arm : "-", t->aug ? t->aug : "-",
           t->fraction, (long long)t->seed, t->config_hash);
}

int cmd_rm(int argc, char **argv)
{
    const char *db_path = "results.db", *study = NULL;
    int failed = 0, yes = 0, code;
    cli_list trials = {0};
    const cli_opt opts[] = {
        {.kind = CLI_LIST, .dst = &trials, .arg = "TRIAL"},
        CLI_OPT_DB(&db_path),
        {.name = "failed", .kind = CLI_FLAG, .dst = &failed,
         .help = "the study's failed trials (the study: --study, or the database's only one)"},
        {.name = "study", .kind = CLI_STR, .dst = &study, .arg = "NAME",
         .help = "with --failed: its failed trials; alone: the whole study"},
        {.name = "yes", .kind = CLI_FLAG, .dst = &yes,
         .help = "remove them (without it: list what would be removed)"},
        {0}};
    if (cli_parse(&(cli_cmd){"rm", HELP, opts}, argc, argv, &code)) return code;
    int modes = (trials.n > 0) + failed + (study && !failed);
    if (modes != 1) {
        fprintf(stderr, "rethink rm: give TRIAL..., --failed or --study NAME (one of them; see "
                        "--help)\n");
        free(trials.v);
        return 2;
    }
    rk_store *db;
    if (cli_open_db(db_path, &db, "rm", 0)) {
        free(trials.v);
        return 1;
    }
    rk_err err = {0};
    rk_trial *t = NULL;
    size_t n = 0;
    char *name = NULL;
    int rc = 0;
    if (trials.n) { /* the ones named, each once */
        t = calloc(trials.n, sizeof *t);
        for (size_t i = 0; t && i < trials.n && !rc; i++) {
            int64_t id;
            int found = 0, dup = 0;
            if ((rc = cli_trial_id(db, trials.v[i], &id, "rm"))) break;
            for (size_t j = 0; j < n; j++) dup |= t[j].id == id;
            if (!dup && !(rc = rk_store_trial_get(db, id, &t[n], &found, &err)) && found) n++;
            if (rc) fprintf(stderr, "rethink rm: %s\n", err.msg), rc = 1;
        }
        if (!t) fprintf(stderr, "rethink rm: out of memory\n"), rc = 1;
    } else if (!(name = which_study(db, study))) {
        rc = 1;
    } else if (rk_store_trials_list(db, name, failed ? RK_TRIAL_FAILED : -1, &t, &n, &err)) {
        fprintf(stderr, "rethink rm: %s\n", err.msg);
        rc = 1;
    }
    if (!rc) {
        const char *what = trials.n ? "trial(s)" : failed ? "failed trial(s) of study" : "trial(s) of study";
        printf("%s %zu %s%s%s%s\n", yes ? "removing" : "would remove", n, what, name ? " '" : "",
               name ? name : "", name ? "'" : "");
        for (size_t i = 0; i < n; i++) list(&t[i]);
    }
    if (!rc && yes) {
        int64_t *ids = malloc((n + 1) * sizeof *ids);
        for (size_t i = 0; ids && i < n; i++) ids[i] = t[i].id;
        if (!ids) rc = rk_errf(&err, RK_ENOMEM, "out of memory");
        else if (!trials.n && !failed) rc = rk_store_study_remove(db, name, NULL, &err);
        else if (n) rc = rk_store_trials_remove(db, ids, n, &err);
        free(ids);
        if (rc) fprintf(stderr, "rethink rm: %s (nothing was removed)\n", err.msg), rc = 1;
        else if (!trials.n && !failed) printf("removed study '%s' and its claims verdicts\n", name);
    } else if (!rc) {
        printf("nothing removed: add --yes to remove %s\n", n == 1 ? "it" : "them");
        rc = n ? 1 : 0;
    }
    rk_trials_free(t, trials.n ? trials.n : n);
    free(name);
    free(trials.v);
    rk_store_close(db);
    return rc;
}
