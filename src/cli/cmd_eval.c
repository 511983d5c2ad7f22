/* rethink eval: scores a COCO results file against COCO ground truth (src/eval) and prints
 * pycocotools' 12-line summary, optionally per-category AP and one JSON line. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "rethink/eval.h"

static const char *HELP =
    "usage: rethink eval --gt instances.json --dt results.json [--per-category] [--json]\n"
    "\n"
    "Scores detections against ground truth with pycocotools' COCOeval semantics (bbox) and\n"
    "prints its 12-line summary (AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm,\n"
    "ARl). Images and categories are those of the ground truth.\n";
static const char *EXIT_STATUS = /* after the options */
    "\nexit status: 0 success, 1 unreadable or invalid input (the message names the file and\n"
    "the entry), 2 usage error.";

int cmd_eval(int argc, char **argv)
{
    const char *gt_path = NULL, *dt_path = NULL;
    int json = 0, per_cat = 0, code;
    const cli_opt opts[] = {
        {.name = "gt", .kind = CLI_STR, .dst = &gt_path, .arg = "FILE", .required = 1,
         .help = "ground truth: COCO instances JSON (images, annotations, categories)"},
        {.name = "dt", .kind = CLI_STR, .dst = &dt_path, .arg = "FILE", .required = 1,
         .help = "detections: COCO results JSON, an array of\n"
                 "{\"image_id\", \"category_id\", \"bbox\": [x, y, w, h], \"score\"}"},
        {.name = "per-category", .kind = CLI_FLAG, .dst = &per_cat,
         .help = "also print AP@[.50:.95] of every category (-1: no GT)"},
        {.name = "json", .kind = CLI_FLAG, .dst = &json,
         .help = "last line of stdout: one JSON object with keys AP AP50 AP75 APs APm\n"
                 "APl AR1 AR10 AR100 ARs ARm ARl (fractions; -1 where undefined)"},
        {.help = EXIT_STATUS},
        {0}};
    if (cli_parse(&(cli_cmd){"eval", HELP, opts}, argc, argv, &code)) return code;

    rk_err err = {0};
    rk_coco gt;
    if (rk_coco_load(&gt, gt_path, &err)) {
        fprintf(stderr, "rethink eval: %s\n", err.msg);
        return 1;
    }
    rk_det *dets;
    size_t n;
    if (rk_dets_load(&dets, &n, dt_path, &gt, &err)) {
        fprintf(stderr, "rethink eval: %s\n", err.msg);
        rk_coco_free(&gt);
        return 1;
    }
    rk_coco_stats st;
    int rc = rk_coco_eval(&st, &gt, dets, n, &err);
    free(dets);
    if (rc) {
        fprintf(stderr, "rethink eval: %s\n", err.msg);
        rk_coco_free(&gt);
        return 1;
    }
    for (int i = 0; i < RK_COCO_NSTATS; i++)
        printf(" %s = %.3f\n", rk_coco_stat_label(i), st.stats[i]);
    if (per_cat)
        for (size_t k = 0; k < st.ncats; k++)
            printf("category %d (%s): AP = %.3f\n", gt.cats[k].id, gt.cats[k].name, st.cat_ap[k]);
    if (json) {
        fputc('{', stdout);
        for (int i = 0; i < RK_COCO_NSTATS; i++)
            printf("%s\"%s\": %.17g", i ? ", " : "", rk_coco_stat_name(i), st.stats[i]);
        fputs("}\n", stdout);
    }
    rk_coco_stats_free(&st);
    rk_coco_free(&gt);
    return 0;
}
