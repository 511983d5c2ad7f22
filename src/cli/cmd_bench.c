/* rethink bench: the benchmarks that back docs/PERFORMANCE.md.
 *   train: training throughput of the reference detector on synthetic input, one full SGD
 *          step (forward, CenterNet loss, backward, momentum update) per batch;
 *          bench/torch_train.py is its PyTorch twin, bench/compare.sh runs both.
 *   eval:  COCO evaluation time on a deterministic synthetic ground truth and detections;
 *          bench/eval_compare.sh runs it beside the numpy reference (tests/coco_reference.py). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "rethink/eval.h"
#include "rethink/model.h"

static const char *USAGE =
    "usage: rethink bench <benchmark> [options]\n"
    "\n"
    "benchmarks:\n"
    "  train   training throughput of the reference detector (img/s)\n"
    "  eval    COCO evaluation time on synthetic detections (seconds)\n"
    "\n"
    "rethink bench <benchmark> --help describes its options.\n";

static const char *HELP =
    "usage: rethink bench train [options]\n"
    "\n"
    "Trains the reference detector (DESIGN.md) on synthetic data and prints images/second.\n"
    "\n"
    "options:\n"
    "  --threads N     compute threads (default 2)\n"
    "  --batch B       batch size (default 32)\n"
    "  --size S        input side in pixels, multiple of 16 (default 64)\n"
    "  --steps K       timed steps (default 100)\n"
    "  --warmup K      untimed steps first (default 10)\n"
    "  --backend B     dnnl (default) or ref (im2col + OpenBLAS reference path)\n"
    "  --json          last line of stdout: one JSON object with img_per_s, threads, batch, size\n";

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int bench_train(int argc, char **argv)
{
    int threads = 2, batch = 32, size = 64, steps = 100, warmup = 10, json = 0;
    rk_backend backend = RK_BACKEND_DNNL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(HELP, stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = 1;
            continue;
        } else if (!strcmp(a, "--threads")) rc = cli_int(a, v, 1, 256, &threads);
        else if (!strcmp(a, "--batch")) rc = cli_int(a, v, 1, 4096, &batch);
        else if (!strcmp(a, "--size")) rc = cli_int(a, v, 16, 1024, &size);
        else if (!strcmp(a, "--steps")) rc = cli_int(a, v, 1, 1000000, &steps);
        else if (!strcmp(a, "--warmup")) rc = cli_int(a, v, 0, 1000000, &warmup);
        else if (!strcmp(a, "--backend")) {
            if (v && !strcmp(v, "dnnl")) backend = RK_BACKEND_DNNL;
            else if (v && !strcmp(v, "ref")) backend = RK_BACKEND_REF;
            else {
                fprintf(stderr, "rethink bench train: --backend: expected dnnl or ref, got '%s'\n",
                        v ? v : "");
                return 2;
            }
        } else {
            fprintf(stderr, "rethink bench train: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        if (rc) return 2;
        i++;
    }
    rk_refnet_cfg cfg = rk_refnet_default();
    cfg.in_size = size;
    rk_err err = {0};
    rk_net *net = rk_refnet_detector(&cfg, &err);
    if (!net || rk_net_plan(net, batch, backend, threads, &err)) {
        fprintf(stderr, "rethink bench train: %s\n", err.msg);
        rk_net_free(net);
        return 1;
    }
    rk_refnet_init(net, &cfg, 1);
    int oshape[4];
    rk_net_output_shape(net, oshape);
    int C = cfg.num_classes, H = oshape[2], W = oshape[3];
    size_t nin = (size_t)batch * 3 * size * size, nout = (size_t)batch * (C + 4) * H * W;
    size_t HW = (size_t)H * W;
    float *x = malloc(nin * sizeof(float)), *dout = malloc(nout * sizeof(float));
    float *heat = malloc((size_t)batch * C * HW * sizeof(float));
    float *reg = malloc((size_t)batch * 4 * HW * sizeof(float));
    float *mask = malloc((size_t)batch * HW * sizeof(float));
    float *scratch = malloc((size_t)(2 * C + 8) * batch * HW * sizeof(float));
    if (!x || !dout || !heat || !reg || !mask || !scratch) {
        fprintf(stderr, "rethink bench train: out of memory\n");
        return 1;
    }
    rk_rng r;
    rk_rng_init(&r, 1, 1, 0);
    for (size_t i = 0; i < nin; i++) x[i] = rk_rng_normal(&r);
    for (size_t i = 0; i < (size_t)batch * C * HW; i++) heat[i] = 0.9f * rk_rng_uniform(&r);
    for (int n = 0; n < batch; n++)
        for (int c = 0; c < C; c++) heat[((size_t)n * C + c) * HW + (H / 2) * W + W / 2] = 1;
    for (size_t i = 0; i < (size_t)batch * 4 * HW; i++) reg[i] = rk_rng_normal(&r);
    for (size_t i = 0; i < (size_t)batch * HW; i++) mask[i] = rk_rng_uniform(&r) < 0.1f;
    rk_sgd opt = {.lr = 0.01f, .momentum = 0.9f, .weight_decay = 1e-4f, .decay_all = 1};
    float loss = 0;
    double t0 = 0, c0 = 0;
    for (int s = 0; s < warmup + steps; s++) {
        if (s == warmup) t0 = now(), c0 = cpu_now();
        const float *out = rk_net_forward(net, x, 1);
        if (!out) {
            fprintf(stderr, "rethink bench train: forward pass failed (oneDNN)\n");
            return 1;
        }
        loss = rk_centernet_loss(dout, out, heat, reg, mask, batch, C, H, W, 0.1f, 1.0f, NULL,
                                 scratch);
        rk_net_zero_grad(net);
        if (rk_net_backward(net, dout)) {
            fprintf(stderr, "rethink bench train: backward pass failed (oneDNN)\n");
            return 1;
        }
        rk_sgd_step(net, &opt);
    }
    double dt = now() - t0, cpu = cpu_now() - c0;
    double ips = (double)steps * batch / dt;
    double gflops = 3 * 2 * rk_refnet_macs(&cfg, 1) * ips * 1e-9;
    printf("rethink %s (%s): %.0f img/s (%d threads, batch %d, %dx%d), ~%.1f GFLOP/s, "
           "final loss %.4f\n",
           RK_VERSION, backend == RK_BACKEND_DNNL ? "dnnl" : "ref", ips, threads, batch, size,
           size, gflops, loss);
    if (json)
        printf("{\"impl\": \"rethink\", \"backend\": \"%s\", \"img_per_s\": %.1f, \"threads\": %d, "
               "\"batch\": %d, \"size\": %d, \"steps\": %d, \"seconds\": %.3f, "
               "\"cpu_seconds\": %.3f, \"gflop_per_s\": %.2f, \"final_loss\": %.6f}\n",
               backend == RK_BACKEND_DNNL ? "dnnl" : "ref", ips, threads, batch, size, steps, dt,
               cpu, gflops, loss);
    free(x), free(dout), free(heat), free(reg), free(mask), free(scratch);
    rk_net_free(net);
    return 0;
}

/* ---- bench eval ---- */
static const char *HELP_EVAL =
    "usage: rethink bench eval [options]\n"
    "\n"
    "Generates a deterministic synthetic COCO ground truth and detections (640x480 images,\n"
    "1-12 objects each, boxes of 4-400 px in all area ranges, 2%% crowds, scores quantised to\n"
    "1e-3 so that ties occur) and times rk_coco_eval on them.\n"
    "\n"
    "options:\n"
    "  --images N          images (default 5000)\n"
    "  --dets-per-image K  detections per image (default 100)\n"
    "  --categories C      categories (default 10)\n"
    "  --seed S            generator seed (default 1)\n"
    "  --repeats R         timed evaluations; the best is reported (default 5)\n"
    "  --write DIR         also write DIR/gt.json and DIR/dt.json (for rethink eval and\n"
    "                      tests/coco_reference.py)\n"
    "  --json              last line of stdout: one JSON object with seconds (best wall),\n"
    "                      cpu_seconds, images, detections, categories and the 12 stats\n";

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

static int bench_eval(int argc, char **argv)
{
    int nimg = 5000, per_img = 100, ncat = 10, seed = 1, repeats = 5, json = 0;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(HELP_EVAL, stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = 1;
            continue;
        } else if (!strcmp(a, "--images")) rc = cli_int(a, v, 1, 10000000, &nimg);
        else if (!strcmp(a, "--dets-per-image")) rc = cli_int(a, v, 0, 100000, &per_img);
        else if (!strcmp(a, "--categories")) rc = cli_int(a, v, 1, 100000, &ncat);
        else if (!strcmp(a, "--seed")) rc = cli_int(a, v, 0, 2147483647, &seed);
        else if (!strcmp(a, "--repeats")) rc = cli_int(a, v, 1, 1000, &repeats);
        else if (!strcmp(a, "--write")) {
            if (!v) {
                fprintf(stderr, "rethink bench eval: option --write needs a directory\n");
                return 2;
            }
            dir = v;
        } else {
            fprintf(stderr, "rethink bench eval: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        if (rc) return 2;
        i++;
    }
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
        double t0 = now(), c0 = cpu_now();
        int rc = rk_coco_eval(&st, &gt, dets, n, &err);
        double dt = now() - t0, dc = cpu_now() - c0;
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

int cmd_bench(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "train")) return bench_train(argc - 1, argv + 1);
    if (!strcmp(argv[1], "eval")) return bench_eval(argc - 1, argv + 1);
    fprintf(stderr, "rethink bench: unknown benchmark '%s' (available: train, eval)\n", argv[1]);
    return 2;
}
