/* rethink bench: the benchmarks behind docs/PERFORMANCE.md (eval's is in bench_eval.c).
 *   train:   training throughput of the reference detector on synthetic input, one full SGD
 *            step (forward, CenterNet loss, backward, momentum update) per batch;
 *            bench/torch_train.py is its PyTorch twin, bench/compare.sh runs both;
 *   data:    building and loading the default datasets;
 *   augment: augmentation throughput per op and per policy, one thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "cli.h"
#include "rethink/augment.h"
#include "rethink/data.h"
#include "rethink/model.h"

static const char *HELP =
    "usage: rethink bench train [options]\n"
    "\n"
    "Trains the reference detector (DESIGN.md) on synthetic data and prints images/second.\n";

static const char *USAGE =
    "usage: rethink bench <benchmark> [options]\n"
    "\n"
    "benchmarks:\n"
    "  train     training throughput of the reference detector (img/s)\n"
    "  data      building and loading the default datasets (img/s)\n"
    "  augment   augmentation throughput per op and per policy (img/s)\n"
    "  eval      COCO evaluation time on synthetic detections (seconds)\n"
    "\n"
    "rethink bench <benchmark> --help describes its options.\n";

/* indexed by rk_family */
static const char *const FAMILIES[] = {"plain", "mbconv", NULL};
/* indexed by rk_neck */
static const char *const NECKS[] = {"topdown", "fpn", NULL};

/* indexed by rk_backend */
static const char *const BACKENDS[] = {"ref", "dnnl", "dnnl-bf16", NULL};

#define OPT_THREADS(var)                                                                  \
    {.name = "threads", .kind = CLI_INT, .dst = (var), .arg = "N", .lo = 1, .hi = 256,    \
     .help = "compute threads (default 2)"}
#define OPT_JSON(var, text) {.name = "json", .kind = CLI_FLAG, .dst = (var), .help = (text)}

static int bench_train(int argc, char **argv)
{
    int threads = 2, batch = 32, size = 64, steps = 100, warmup = 10, json = 0, code;
    int backend = RK_BACKEND_DNNL, family = RK_FAMILY_PLAIN, neck = RK_NECK_TOPDOWN;
    const cli_opt opts[] = {
        OPT_THREADS(&threads),
        {.name = "batch", .kind = CLI_INT, .dst = &batch, .arg = "B", .lo = 1, .hi = 4096,
         .help = "batch size (default 32)"},
        {.name = "size", .kind = CLI_INT, .dst = &size, .arg = "S", .lo = 16, .hi = 1024,
         .help = "input side in pixels, multiple of 16 (default 64)"},
        {.name = "steps", .kind = CLI_INT, .dst = &steps, .arg = "K", .lo = 1, .hi = 1000000,
         .help = "timed steps (default 100)"},
        {.name = "warmup", .kind = CLI_INT, .dst = &warmup, .arg = "K", .hi = 1000000,
         .help = "untimed steps first (default 10)"},
        {.name = "backend", .kind = CLI_CHOICE, .dst = &backend, .arg = "B", .choices = BACKENDS,
         .help = "dnnl (default), dnnl-bf16 (bf16 activations and weight copies, f32\n"
                 "master weights; needs AVX512-BF16 or AMX) or ref (im2col + OpenBLAS)"},
        {.name = "family", .kind = CLI_CHOICE, .dst = &family, .arg = "F", .choices = FAMILIES,
         .help = "backbone family (model.family): plain (default, DESIGN.md's reference)\n"
                 "or mbconv (EfficientNet-style MBConv blocks)"},
        {.name = "neck", .kind = CLI_CHOICE, .dst = &neck, .arg = "N", .choices = NECKS,
         .help = "neck (model.neck): topdown (default) or fpn"},
        OPT_JSON(&json,
                 "last line of stdout: one JSON object with img_per_s, threads, batch, size"),
        {0}};
    if (cli_parse(&(cli_cmd){"bench train", HELP, opts}, argc, argv, &code)) return code;
    rk_refnet_cfg cfg = rk_refnet_default();
    cfg.in_size = size;
    cfg.family = family;
    cfg.neck = neck;
    rk_err err = {0};
    rk_train_bench b;
    if (rk_refnet_bench(&cfg, batch, (rk_backend)backend, threads, warmup, steps, &b, &err)) {
        fprintf(stderr, "rethink bench train: %s\n", err.msg);
        return 1;
    }
    printf("rethink %s (%s, %s neck, %s): %.0f img/s (%d threads, batch %d, %dx%d), ~%.1f GFLOP/s, "
           "final loss %.4f\n",
           RK_VERSION, FAMILIES[family], NECKS[neck], BACKENDS[backend], b.img_per_s, threads, batch, size, size, b.gflop_per_s,
           b.final_loss);
    if (json)
        printf("{\"impl\": \"rethink\", \"family\": \"%s\", \"neck\": \"%s\", "
               "\"backend\": \"%s\", "
               "\"img_per_s\": %.1f, \"threads\": %d, "
               "\"batch\": %d, \"size\": %d, \"steps\": %d, \"seconds\": %.3f, "
               "\"cpu_seconds\": %.3f, \"gflop_per_s\": %.2f, \"final_loss\": %.6f}\n",
               FAMILIES[family], NECKS[neck], BACKENDS[backend], b.img_per_s, threads, batch,
               size, steps,
               b.seconds,
               b.cpu_seconds, b.gflop_per_s, b.final_loss);
    return 0;
}

static const char *DATA_HELP =
    "usage: rethink bench data [--out DIR] [--threads N] [--json]\n"
    "\n"
    "Builds the default fashion-scenes dataset (4000 train, 1000 val, 10000 source images) into\n"
    "DIR (default /tmp/rethink-bench-data), then loads and decodes the 10,000 source images\n"
    "and the train set, and prints images/second for each step.\n";

static int bench_data(int argc, char **argv)
{
    const char *out = "/tmp/rethink-bench-data";
    int threads = 2, json = 0, code;
    const cli_opt opts[] = {
        {.name = "out", .kind = CLI_STR, .dst = &out, .arg = "DIR",
         .help = "where to build (default /tmp/rethink-bench-data)"},
        OPT_THREADS(&threads),
        OPT_JSON(&json, "last line of stdout: one JSON object with every measurement"),
        {0}};
    if (cli_parse(&(cli_cmd){"bench data", DATA_HELP, opts}, argc, argv, &code)) return code;
    rk_scene_params p = rk_scene_defaults();
    rk_err err = {0};
    /* a dataset an earlier run built there (it carries a card) is built again from scratch */
    char card[4200];
    snprintf(card, sizeof card, "%s/card.json", out);
    if (access(card, F_OK) == 0 && rk_remove_tree(out, &err)) {
        fprintf(stderr, "rethink bench data: %s\n", err.msg);
        return 1;
    }
    double t0 = rk_now();
    if (rk_fashion_scenes_build(&p, RK_FASHION_DIR, out, threads, NULL, NULL, &err)) {
        fprintf(stderr, "rethink bench data: %s\n", err.msg);
        return 1;
    }
    double t_build = rk_now() - t0;
    int nbuilt = p.ntrain + p.nval + p.nsource;
    char dir[4200], ann[4200];
    snprintf(dir, sizeof dir, "%s/source", out);
    rk_source s;
    t0 = rk_now();
    if (rk_source_load(&s, dir, NULL, threads, &err)) {
        fprintf(stderr, "rethink bench data: %s\n", err.msg);
        return 1;
    }
    double t_src = rk_now() - t0;
    size_t nsrc = s.n;
    rk_source_free(&s);
    snprintf(dir, sizeof dir, "%s/train", out);
    snprintf(ann, sizeof ann, "%s/annotations/instances_train.json", out);
    rk_dataset d;
    t0 = rk_now();
    if (rk_dataset_load(&d, dir, ann, threads, &err)) {
        fprintf(stderr, "rethink bench data: %s\n", err.msg);
        return 1;
    }
    double t_train = rk_now() - t0;
    size_t ntr = d.coco.nimages;
    rk_dataset_free(&d);
    printf("build fashion-scenes: %d images in %.2f s (%.0f img/s)\n", nbuilt, t_build,
           nbuilt / t_build);
    printf("load+decode source:   %zu images in %.3f s (%.0f img/s)\n", nsrc, t_src, nsrc / t_src);
    printf("load+decode train:    %zu images + annotations in %.3f s (%.0f img/s)\n", ntr,
           t_train, ntr / t_train);
    if (json)
        printf("{\"threads\": %d, \"build_images\": %d, \"build_seconds\": %.3f, "
               "\"source_images\": %zu, \"source_load_seconds\": %.4f, \"train_images\": %zu, "
               "\"train_load_seconds\": %.4f}\n",
               threads, nbuilt, t_build, nsrc, t_src, ntr, t_train);
    return 0;
}

static const char *AUG_HELP =
    "usage: rethink bench augment [options]\n"
    "\n"
    "Augmentation throughput on one thread, images/second: each op at level 10 on a\n"
    "synthetic image with 4 boxes, then each policy (rk_augment, including the resize/crop)\n"
    "from the policies file.\n";

/* Runs fn(arg, i) for i = 0, 1, ... until `seconds` have passed; returns calls per second. */
static double rate(void (*fn)(void *, size_t), void *arg, double seconds)
{
    for (size_t i = 0; i < 20; i++) fn(arg, i); /* warm caches and page in buffers */
    size_t n = 0, batch = 64;
    double t0 = rk_now(), t;
    do {
        for (size_t i = 0; i < batch; i++) fn(arg, n + i);
        n += batch;
        t = rk_now() - t0;
    } while (t < seconds);
    return (double)n / t;
}

typedef struct aug_bench {
    rk_image src, im, out;
    rk_box boxes[4], work[4];
    uint8_t *tmp;
    rk_op op;
    double arg;
    const rk_policy *pol;
    rk_rng r;
} aug_bench;

static void run_op(void *p, size_t i)
{
    aug_bench *b = p;
    (void)i;
    memcpy(b->im.px, b->src.px, (size_t)b->src.w * b->src.h * 3);
    memcpy(b->work, b->boxes, sizeof b->boxes);
    rk_op_apply(b->op, b->arg, &b->im, b->work, 4, 128, 1.0, &b->r, b->tmp);
}

static void run_policy(void *p, size_t i)
{
    aug_bench *b = p;
    size_t nout;
    rk_augment(b->pol, &b->src, b->boxes, 4, 1, 0, i, &b->out, b->work, &nout, NULL, NULL);
}

static int bench_augment(int argc, char **argv)
{
    int size = 64, json = 0, code;
    double seconds = 0.3;
    const char *policies = NULL, *config = NULL;
    const cli_opt opts[] = {
        {.name = "size", .kind = CLI_INT, .dst = &size, .arg = "S", .lo = 16, .hi = 4096,
         .help = "input and output side in pixels (default 64)"},
        {.name = "seconds", .kind = CLI_NUM, .dst = &seconds, .arg = "T", .lo = 0, .hi = 600,
         .open = CLI_OPEN_LO, .help = "time per measurement (default 0.3)"},
        CLI_OPT_POLICIES(&policies), CLI_OPT_POLICY_CONFIG(&config),
        OPT_JSON(&json, "last line of stdout: one JSON object with every measurement"),
        {0}};
    if (cli_parse(&(cli_cmd){"bench augment", AUG_HELP, opts}, argc, argv, &code)) return code;
    if (policies && config) {
        fprintf(stderr, "rethink bench augment: --policies or --config, not both\n");
        return 2;
    }
    rk_err err = {0};
    aug_bench b = {0};
    if (rk_image_alloc(&b.src, size, size, 3, &err) || rk_image_alloc(&b.im, size, size, 3, &err) ||
        rk_image_alloc(&b.out, size, size, 3, &err) ||
        !(b.tmp = malloc(rk_op_tmp_size(size, size, 4)))) {
        fprintf(stderr, "rethink bench augment: out of memory\n");
        return 1;
    }
    /* A textured image (so equalize/autocontrast do real work) with 4 boxes. */
    rk_rng_init(&b.r, 7, 0, 0);
    for (size_t i = 0; i < (size_t)size * size * 3; i++)
        b.src.px[i] = (uint8_t)(rk_rng_u64(&b.r) % 200 + (i / 3 % size) / 2);
    for (int k = 0; k < 4; k++)
        b.boxes[k] = (rk_box){.x = size * (0.1 + 0.2 * k), .y = size * 0.2, .w = size * 0.25,
                              .h = size * 0.4, .cls = k, .vis = 1};
    rk_op_consts consts = rk_opset_consts(RK_OPSET_RANDAUGMENT);
    double scale = size / 640.0;
    char js[4096];
    int m = snprintf(js, sizeof js, "{\"bench\": \"augment\", \"size\": %d, \"threads\": 1, "
                     "\"ops\": {", size);
    printf("rethink %s bench augment: %dx%d, 1 thread, images/second\n", RK_VERSION, size, size);
    for (int op = 0; op < RK_OP_COUNT; op++) {
        b.op = (rk_op)op;
        b.arg = rk_op_arg(b.op, 10, RK_LEVELS_TF, &consts, scale);
        double ips = rate(run_op, &b, seconds);
        printf("  op %-24s %10.0f\n", rk_op_name(b.op), ips);
        m += snprintf(js + m, sizeof js - m, "%s\"%s\": %.0f", op ? ", " : "",
                      rk_op_name(b.op), ips);
    }
    m += snprintf(js + m, sizeof js - m, "}, \"policies\": {");
    static const char *const names[] = {"S1", "S2", "S3", "S4"};
    for (int k = 0; k < 4; k++) {
        rk_policy pol;
        if (cli_policy(policies, config, names[k], &pol, "bench augment")) return 1;
        b.pol = &pol;
        double ips = rate(run_policy, &b, seconds);
        printf("  policy %-20s %10.0f\n", names[k], ips);
        m += snprintf(js + m, sizeof js - m, "%s\"%s\": %.0f", k ? ", " : "", names[k], ips);
    }
    snprintf(js + m, sizeof js - m, "}}");
    if (json) printf("%s\n", js);
    rk_image_free(&b.src), rk_image_free(&b.im), rk_image_free(&b.out);
    free(b.tmp);
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    static const cli_sub subs[] = {{"train", bench_train}, {"eval", bench_eval},
                                   {"data", bench_data}, {"augment", bench_augment}, {0}};
    return cli_dispatch("bench", USAGE, subs, argc, argv);
}
