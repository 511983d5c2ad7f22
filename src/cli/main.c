/* rethink: the command-line front end. Dispatches subcommands; only src/cli prints. */
#include <stdio.h>
#include <string.h>

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
    "  rm             remove trials, a study's failed trials, or a whole study\n"
    "  train          train and evaluate one trial, recorded in the store\n"
    "  ls             list a study's trials; show TRIAL: one trial; export --csv/--json: all\n"
    "  import         record results from elsewhere (a CSV/JSON table, or a scored COCO\n"
    "                 results file) as finished trials\n"
    "  predict        run a finished trial's detector on a folder of images (COCO results)\n"
    "  eval           score COCO results JSON against ground truth (pycocotools' 12 stats)\n"
    "  data           build the default datasets; check or show any COCO dataset\n"
    "  report         tables and plots of a study's results (HTML, Markdown, CSV, PNG, SVG)\n"
    "  check          judge claims (experiments/paper.claims) with confidence intervals\n"
    "  baseline save  write a study's per-cell results as a baseline for check --baseline\n"
    "  augment show   render augmented samples of a dataset with their boxes (PNG grid)\n"
    "  bench          benchmarks: train, data, augment, eval\n"
    "  help           show this help (also: rethink <command> --help)\n"
    "  version        print the version (also: --version)\n";

const char *cli_git_rev(void)
{
    return strcmp(RK_GIT_REV, "unknown") && RK_GIT_REV[0] ? RK_GIT_REV : NULL;
}

int main(int argc, char **argv)
{
    static const cli_sub cmds[] = {
        {"sweep", cmd_sweep},   {"merge", cmd_merge},     {"rm", cmd_rm},
        {"train", cmd_train},
        {"ls", cmd_ls},         {"show", cmd_show},       {"export", cmd_export},
        {"import", cmd_import}, {"predict", cmd_predict},
        {"eval", cmd_eval},     {"data", cmd_data},       {"report", cmd_report},
        {"check", cmd_check},   {"baseline", cmd_baseline}, {"augment", cmd_augment},
        {"bench", cmd_bench},   {0}};
    if (argc > 1 && (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version"))) {
        printf("rethink %s (%s)\n", RK_VERSION, RK_GIT_REV);
        return 0;
    }
    return cli_dispatch(NULL, USAGE, cmds, argc, argv);
}
