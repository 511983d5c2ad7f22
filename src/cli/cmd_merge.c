/* rethink merge: folds database shards (one per Slurm array task, or from any separate runs
 * of the same study) into one database, keyed by config hash (rk_store_merge). Each shard is
 * one transaction, so a shard either arrives whole or not at all; merging a shard again
 * changes nothing, and a conflict (one hash finished with different results, or with two
 * configs) stops the merge with that shard left out and the hash named. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "rethink/store.h"

static const char *HELP =
    "usage: rethink merge SHARD... --db FILE\n"
    "\n"
    "Folds the shard databases into FILE (created if missing) by config hash: trials,\n"
    "their params, metrics, results, dependencies, artifacts and pseudo-label statistics.\n"
    "Idempotent: merging a shard twice changes nothing. A trial finished in two databases\n"
    "with different results is a conflict: the merge stops at that shard, names the config\n"
    "hash and exits 1 (shards merged before it stay merged). Claims verdicts are not merged:\n"
    "re-run `rethink check` on the merged database.\n"
    "\n"
    "Keep FILE on local disk (SQLite is not safe on network filesystems); copy it after.\n";

int cmd_merge(int argc, char **argv)
{
    const char *db_path = NULL;
    int quiet = 0, code;
    cli_list sh = {0};
    const cli_opt opts[] = {
        {.kind = CLI_LIST, .dst = &sh, .arg = "SHARD", .required = 1},
        {.name = "db", .kind = CLI_STR, .dst = &db_path, .arg = "FILE", .required = 1,
         .help = "the database to merge into (required)"},
        {.name = "quiet", .kind = CLI_FLAG, .dst = &quiet, .help = "print only errors"},
        {0}};
    if (cli_parse(&(cli_cmd){"merge", HELP, opts}, argc, argv, &code)) return code;
    const char **shards = sh.v;
    size_t ns = sh.n;
    /* a missing shard is a typo or a task that never copied its result back: opening it as a
     * store would silently create an empty one */
    for (size_t i = 0; i < ns; i++)
        if (access(shards[i], R_OK) != 0) {
            fprintf(stderr, "rethink merge: %s: no such readable file (did its task finish?)\n",
                    shards[i]);
            free(shards);
            return 1;
        }
    rk_err err = {0};
    rk_store *db = NULL;
    int rc = rk_store_open(&db, db_path, &err);
    if (rc) {
        fprintf(stderr, "rethink merge: %s\n", err.msg);
        free(shards);
        return 1;
    }
    rk_merge_stats total = {0};
    size_t merged = 0;
    for (size_t i = 0; i < ns && !rc; i++) {
        rk_merge_stats st = {0};
        rc = rk_store_merge(db, shards[i], &st, &err);
        if (rc) {
            fprintf(stderr, "rethink merge: %s: %s\n", shards[i], err.msg);
            if (merged)
                fprintf(stderr, "rethink merge: the %zu shard(s) before it are merged into %s\n",
                        merged, db_path);
            break;
        }
        merged++;
        total.trials_added += st.trials_added;
        total.trials_completed += st.trials_completed;
        total.artifacts_added += st.artifacts_added;
        if (!quiet)
            printf("%s: %zu trial(s) added, %zu completed, %zu artifact(s) added\n", shards[i],
                   st.trials_added, st.trials_completed, st.artifacts_added);
    }
    rk_trial_counts c = {0};
    if (!rc && !quiet && !rk_store_counts(db, NULL, &c, &err))
        printf("merged %zu shard(s) into %s: %zu trial(s) added, %zu completed; now %zu finished, "
               "%zu failed, %zu pending\n",
               merged, db_path, total.trials_added, total.trials_completed, c.finished, c.failed,
               c.pending + c.running);
    rk_store_close(db);
    free(shards);
    return rc ? 1 : 0;
}
