/* rethink bench eval: COCO evaluation time on a deterministic synthetic ground truth and
 * detections; bench/eval_compare.sh runs it beside the numpy reference
 * (tests/coco_reference.py). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "rethink/eval.h"

static const char *HELP_EVAL =
    "usage: rethink bench eval [options]\n"
    "\n"
    "Generates a deterministic synthetic COCO ground truth and detections (640x480 images,\n"
    "1-12 objects each, boxes of 4-400 px in all area ranges, 2% crowds, scores quantised to\n"
    "1e-3 so that ties occur) and times rk_coco_eval on them.\n";

static double u01(rk_rng *r) { return (rk_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0); }
static double round2(double v) { return round(v * 100) / 100; }

/* Ground truth: image i draws from rng (seed, 1, i); its detections from (seed, 2, i).
 * Detections: 3 jittered copies of every GT (category kept with probability 0.9), the rest
 * random boxes of random categories. */
static int synth(rk_coco *gt, rk_det **dets_out, size_t *nd, int nimg, int per_img, int ncat,
                 uint64_t seed, rk_err *err)
{
    const int W = 640, H = 480, MAXGT = 12;
    memset(gt, 0, sizeof *gt);
    gt->images = calloc((size_t)nimg + 1, sizeof *gt->images);
    gt->anns = calloc((size_t)nimg * MAXGT + 1, sizeof *gt->anns);
    gt->cats = calloc((size_t)ncat + 1, sizeof *gt->cats);
    rk_det *dets = malloc(((size_t)nimg * per_img + 1) * sizeof *dets);
    if (!gt->images || !gt->anns || !gt->cats || !dets) goto oom;
    for (int c = 0; c < ncat; c++) {
        char name[32];
        snprintf(name, sizeof name, "class%d", c + 1);
        gt->cats[c] = (rk_coco_cat){.id = c + 1, .name = strdup(name)};
        gt->ncats++;
        if (!gt->cats[c].name) goto oom;
    }
    size_t n = 0;
    for (int i = 0; i < nimg; i++) {
        char name[32];
        snprintf(name, sizeof name, "synth/%06d.jpg", i + 1);
        gt->images[i] = (rk_coco_image){.id = i + 1, .file_name = strdup(name), .width = W,
                                        .height = H};
        gt->nimages++;
        if (!gt->images[i].file_name) goto oom;
        rk_rng r;
        rk_rng_init(&r, seed, 1, (uint64_t)i);
        size_t first = gt->nanns;
        int ngt = 1 + (int)(rk_rng_u64(&r) % MAXGT);
        for (int g = 0; g < ngt; g++) {
            double w = round2(fmin(exp(log(4) + u01(&r) * (log(400) - log(4))), W));
            double h = round2(fmin(fmax(w * exp((u01(&r) - 0.5) * 1.4), 1), H));
            double x = round2(u01(&r) * (W - w)), y = round2(u01(&r) * (H - h));
            rk_coco_ann *a = &gt->anns[gt->nanns++];
            *a = (rk_coco_ann){.id = (int64_t)gt->nanns, .image_id = i + 1,
                               .category_id = 1 + (int)(rk_rng_u64(&r) % (uint64_t)ncat),
                               .bbox = {x, y, w, h}, .iscrowd = u01(&r) < 0.02};
            a->area = round2(w * h * (0.5 + 0.5 * u01(&r))); /* a mask covers part of its box */
            if (!(a->area > 0)) a->area = 0.01;
        }
        rk_rng_init(&r, seed, 2, (uint64_t)i);
        for (int j = 0; j < per_img; j++) {
            rk_det *d = &dets[n++];
            d->image_id = i + 1;
            if (j < 3 * ngt) {
                const rk_coco_ann *a = &gt->anns[first + (size_t)(j % ngt)];
                double w = a->bbox[2], h = a->bbox[3];
                d->bbox[0] = round2(a->bbox[0] + 0.1 * w * rk_rng_normal(&r));
                d->bbox[1] = round2(a->bbox[1] + 0.1 * h * rk_rng_normal(&r));
                d->bbox[2] = round2(fmax(w * (1 + 0.15 * rk_rng_normal(&r)), 1));
                d->bbox[3] = round2(fmax(h * (1 + 0.15 * rk_rng_normal(&r)), 1));
                d->category_id = u01(&r) < 0.9 ? a->category_id
                                               : 1 + (int)(rk_rng_u64(&r) % (uint64_t)ncat);
                d->score = round(1000 * (0.3 + 0.7 * u01(&r))) / 1000;
            } else {
                double w = round2(exp(log(4) + u01(&r) * (log(300) - log(4))));
                double h = round2(fmax(w * exp((u01(&r) - 0.5) * 1.4), 1));
                d->bbox[0] = round2(u01(&r) * W - w / 2);
                d->bbox[1] = round2(u01(&r) * H - h / 2);
                d->bbox[2] = w, d->bbox[3] = h;
                d->category_id = 1 + (int)(rk_rng_u64(&r) % (uint64_t)ncat);
                d->score = round(1000 * 0.7 * u01(&r)) / 1000;
            }
        }
    }
    *dets_out = dets;
    *nd = n;
    return rk_coco_index(gt, "synthetic ground truth", err);
oom:
    free(dets);
    return rk_errf(err, RK_ENOMEM, "synthetic data: out of memory");
}

int bench_eval(int argc, char **argv)
{
    int nimg = 5000, per_img = 100, ncat = 10, seed = 1, repeats = 5, json = 0, code;
    const char *dir = NULL;
    const cli_opt opts[] = {
        {.name = "images", .kind = CLI_INT, .dst = &nimg, .arg = "N", .lo = 1, .hi = 10000000,
         .help = "images (default 5000)"},
        {.name = "dets-per-image", .kind = CLI_INT, .dst = &per_img, .arg = "K", .hi = 100000,
         .help = "detections per image (default 100)"},
        {.name = "categories", .kind = CLI_INT, .dst = &ncat, .arg = "C", .lo = 1, .hi = 100000,
         .help = "categories (default 10)"},
        {.name = "seed", .kind = CLI_INT, .dst = &seed, .arg = "S", .hi = 2147483647,
         .help = "generator seed (default 1)"},
        {.name = "repeats", .kind = CLI_INT, .dst = &repeats, .arg = "R", .lo = 1, .hi = 1000,
         .help = "timed evaluations; the best is reported (default 5)"},
        {.name = "write", .kind = CLI_STR, .dst = &dir, .arg = "DIR",
         .help = "also write DIR/gt.json and DIR/dt.json (for rethink eval and\n"
                 "tests/coco_reference.py)"},
        {.name = "json", .kind = CLI_FLAG, .dst = &json,
         .help = "last line of stdout: one JSON object with seconds (best wall),\n"
                 "cpu_seconds, images, detections, categories and the 12 stats"},
        {0}};
    if (cli_parse(&(cli_cmd){"bench eval", HELP_EVAL, opts}, argc, argv, &code)) return code;
    rk_err err = {0};
    rk_coco gt;
    rk_det *dets = NULL;
    size_t n = 0;
    if (synth(&gt, &dets, &n, nimg, per_img, ncat, (uint64_t)seed, &err)) {
        fprintf(stderr, "rethink bench eval: %s\n", err.msg);
        rk_coco_free(&gt);
        free(dets);
        return 1;
    }
    if (dir) {
        char gp[4096], dp[4096];
        snprintf(gp, sizeof gp, "%s/gt.json", dir);
        snprintf(dp, sizeof dp, "%s/dt.json", dir);
        if ((mkdir(dir, 0777) && errno != EEXIST) || rk_coco_save(&gt, gp, &err) ||
            rk_dets_save(dets, n, dp, &err)) {
            fprintf(stderr, "rethink bench eval: %s\n", err.msg[0] ? err.msg : strerror(errno));
            rk_coco_free(&gt);
            free(dets);
            return 1;
        }
    }
    rk_coco_stats st = {0};
    double best = 1e300, total = 0, best_cpu = 1e300;
    for (int k = 0; k < repeats; k++) {
        rk_coco_stats_free(&st);
        double t0 = rk_now(), c0 = rk_cpu_now();
        int rc = rk_coco_eval(&st, &gt, dets, n, &err);
        double dt = rk_now() - t0, dc = rk_cpu_now() - c0;
        best_cpu = dc < best_cpu ? dc : best_cpu;
        if (rc) {
            fprintf(stderr, "rethink bench eval: %s\n", err.msg);
            rk_coco_free(&gt);
            free(dets);
            return 1;
        }
        best = dt < best ? dt : best;
        total += dt;
    }
    printf("rethink %s eval: %d images, %zu detections, %zu annotations, %d categories: "
           "%.3f s (best of %d, mean %.3f s, best CPU %.3f s), AP %.3f\n",
           RK_VERSION, nimg, n, gt.nanns, ncat, best, repeats, total / repeats, best_cpu,
           st.stats[RK_AP]);
    if (json) {
        printf("{\"impl\": \"rethink\", \"images\": %d, \"detections\": %zu, "
               "\"annotations\": %zu, \"categories\": %d, \"seconds\": %.6f, "
               "\"seconds_mean\": %.6f, \"cpu_seconds\": %.6f, \"repeats\": %d",
               nimg, n, gt.nanns, ncat, best, total / repeats, best_cpu, repeats);
        for (int i = 0; i < RK_COCO_NSTATS; i++)
            printf(", \"%s\": %.17g", rk_coco_stat_name(i), st.stats[i]);
        fputs("}\n", stdout);
    }
    rk_coco_stats_free(&st);
    rk_coco_free(&gt);
    free(dets);
    return 0;
}
