/* rethink eval: scores a COCO results file against COCO ground truth (src/eval) and prints
 * pycocotools' 12-line summary, optionally per-category AP and one JSON line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rethink/eval.h"

static const char *HELP =
    "usage: rethink eval --gt instances.json --dt results.json [--per-category] [--json]\n"
    "\n"
    "Scores detections against ground truth with pycocotools' COCOeval semantics (bbox) and\n"
    "prints its 12-line summary (AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm,\n"
    "ARl). Images and categories are those of the ground truth.\n"
    "\n"
    "options:\n"
    "  --gt FILE        ground truth: COCO instances JSON (images, annotations, categories)\n"
    "  --dt FILE        detections: COCO results JSON, an array of\n"
    "                   {\"image_id\", \"category_id\", \"bbox\": [x, y, w, h], \"score\"}\n"
    "  --per-category   also print AP@[.50:.95] of every category (-1: no GT)\n"
    "  --json           last line of stdout: one JSON object with keys AP AP50 AP75 APs APm\n"
    "                   APl AR1 AR10 AR100 ARs ARm ARl (fractions; -1 where undefined)\n"
    "\n"
    "exit status: 0 success, 1 unreadable or invalid input (the message names the file and\n"
    "the entry), 2 usage error.\n";

int cmd_eval(int argc, char **argv)
{
    const char *gt_path = NULL, *dt_path = NULL;
    int json = 0, per_cat = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(HELP, stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--per-category")) {
            per_cat = 1;
        } else if (!strcmp(a, "--gt") || !strcmp(a, "--dt")) {
            if (!v) {
                fprintf(stderr, "rethink eval: option %s needs a file name\n", a);
                return 2;
            }
            *(a[2] == 'g' ? &gt_path : &dt_path) = v;
            i++;
        } else {
            fprintf(stderr, "rethink eval: unknown option '%s' (see --help)\n", a);
            return 2;
        }
    }
    if (!gt_path || !dt_path) {
        fprintf(stderr, "rethink eval: %s is required (see --help)\n", !gt_path ? "--gt" : "--dt");
        return 2;
    }

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
