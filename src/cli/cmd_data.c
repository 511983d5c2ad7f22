/* rethink data: build the default datasets, check (validate + summarise) any COCO dataset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "rethink/data.h"
#include "rethink/draw.h"

static const char *HELP =
    "usage: rethink data <command> [options]\n"
    "\n"
    "commands:\n"
    "  build fashion-scenes   build the default target (detection) and source datasets from\n"
    "                         Debian's dataset-fashion-mnist\n"
    "  check                  validate and summarise a COCO-format dataset\n"
    "  show                   draw images with their boxes and class names into a PNG grid\n"
    "\n"
    "rethink data <command> --help describes its options.\n";

static const char *BUILD_HELP =
    "usage: rethink data build fashion-scenes [options]\n"
    "\n"
    "Detection scenes in COCO format (train/, val/, annotations/) and labelled source images\n"
    "(source/, source/labels.csv) from Fashion-MNIST, plus a dataset card (card.json).\n"
    "Same options and seed give byte-identical files.\n"
    "\n"
    "options (defaults in brackets):\n"
    "  --out DIR             output folder [data/fashion-scenes]\n"
    "  --raw DIR             Fashion-MNIST idx files [" RK_FASHION_DIR "]\n"
    "  --seed S              [1]\n"
    "  --size PX             target scene side [64]\n"
    "  --train N             train scenes [4000]\n"
    "  --val N               val scenes [1000]\n"
    "  --source N            source images [10000]\n"
    "  --source-size PX      source image side [64]\n"
    "  --objects MIN,MAX     objects per scene [2,5]\n"
    "  --scale MIN,MAX       object side in px [12,36]\n"
    "  --source-scale MIN,MAX  dominant source object side in px [28,44]\n"
    "  --source-extra N      at most N small unlabelled objects per source image [2]\n"
    "  --clutter N           background distractor shapes [6]\n"
    "  --occlusion F         largest fraction of an object later ones may cover [0.4]\n"
    "  --tint F              0 grey items .. 1 fully coloured [1]\n"
    "  --noise SIGMA         pixel noise [6]\n"
    "  --quality Q           JPEG quality [90]\n"
    "  --threads N           [2]\n";

static const char *CHECK_HELP =
    "usage: rethink data check --images DIR --ann FILE [--threads N]\n"
    "\n"
    "Validates a COCO-format detection dataset (JSON structure, ids, categories, boxes inside\n"
    "their images, every image present and decodable at its stated size) and prints a\n"
    "summary: images, boxes, per-class counts, COCO small/medium/large box counts.\n"
    "Exit status 1 with one error naming the file and id on the first problem.\n";

static const char *SHOW_HELP =
    "usage: rethink data show --images DIR --ann FILE --out FILE.png [options]\n"
    "\n"
    "Draws images of a COCO-format dataset with their boxes and class names as a PNG grid,\n"
    "for a person to look at. Each caption: image id and file name.\n"
    "\n"
    "options:\n"
    "  --n N         images (default 16): the first N, or N drawn with --seed\n"
    "  --seed S      pick the images at random with this seed (default: the first N)\n"
    "  --zoom K      upscale tiles K times (default 4)\n"
    "  --cols C      grid columns (default 4)\n";

static int tty;

static void progress(void *ctx, const char *stage, size_t done, size_t total)
{
    (void)ctx;
    if (!tty) return;
    fprintf(stderr, "\r  %-7s %7zu / %zu", stage, done, total);
    if (done == total) fputc('\n', stderr);
}

static int build(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "fashion-scenes")) {
        if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
            fputs(BUILD_HELP, stdout);
            return 0;
        }
        fprintf(stderr, "rethink data build: expected 'fashion-scenes' (the only recipe), see --help\n");
        return 2;
    }
    rk_scene_params p = rk_scene_defaults();
    const char *out = "data/fashion-scenes", *raw = RK_FASHION_DIR;
    int threads = 2;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0, seed;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(BUILD_HELP, stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "rethink: option %s needs a value (see --help)\n", a);
            return 2;
        }
        if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--raw")) raw = v;
        else if (!strcmp(a, "--seed")) rc = cli_int(a, v, 0, 2147483647, &seed), p.seed = (uint64_t)seed;
        else if (!strcmp(a, "--size")) rc = cli_int(a, v, 16, 1024, &p.size);
        else if (!strcmp(a, "--train")) rc = cli_int(a, v, 1, 10000000, &p.ntrain);
        else if (!strcmp(a, "--val")) rc = cli_int(a, v, 1, 10000000, &p.nval);
        else if (!strcmp(a, "--source")) rc = cli_int(a, v, 0, 10000000, &p.nsource);
        else if (!strcmp(a, "--source-size")) rc = cli_int(a, v, 16, 1024, &p.source_size);
        else if (!strcmp(a, "--objects")) {
            double lo, hi;
            rc = cli_pair(a, v, &lo, &hi);
            p.min_objects = (int)lo, p.max_objects = (int)hi;
        } else if (!strcmp(a, "--scale")) rc = cli_pair(a, v, &p.min_scale, &p.max_scale);
        else if (!strcmp(a, "--source-scale")) rc = cli_pair(a, v, &p.src_min_scale, &p.src_max_scale);
        else if (!strcmp(a, "--source-extra")) rc = cli_int(a, v, 0, 20, &p.src_extra);
        else if (!strcmp(a, "--clutter")) rc = cli_int(a, v, 0, 100, &p.clutter);
        else if (!strcmp(a, "--occlusion")) rc = cli_double(a, v, &p.occlusion);
        else if (!strcmp(a, "--tint")) rc = cli_double(a, v, &p.tint);
        else if (!strcmp(a, "--noise")) rc = cli_double(a, v, &p.noise);
        else if (!strcmp(a, "--quality")) rc = cli_int(a, v, 50, 100, &p.quality);
        else if (!strcmp(a, "--threads")) rc = cli_int(a, v, 1, 256, &threads);
        else {
            fprintf(stderr, "rethink data build: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        if (rc) return 2;
        i++;
    }
    rk_err err = {0};
    if (rk_scene_validate(&p, &err)) {
        fprintf(stderr, "rethink data build: %s\n", err.msg);
        return 2;
    }
    tty = isatty(2);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (rk_fashion_scenes_build(&p, raw, out, threads, progress, NULL, &err)) {
        fprintf(stderr, "rethink data build: %s\n", err.msg);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("built fashion-scenes in %s: %d train + %d val scenes, %d source images (%.1f s); "
           "card: %s/card.json\n",
           out, p.ntrain, p.nval, p.nsource,
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec), out);
    return 0;
}

static int check(int argc, char **argv)
{
    const char *images = NULL, *ann = NULL;
    int threads = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(CHECK_HELP, stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "rethink: option %s needs a value (see --help)\n", a);
            return 2;
        }
        if (!strcmp(a, "--images")) images = v;
        else if (!strcmp(a, "--ann")) ann = v;
        else if (!strcmp(a, "--threads")) {
            if (cli_int(a, v, 1, 256, &threads)) return 2;
        } else {
            fprintf(stderr, "rethink data check: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        i++;
    }
    if (!images || !ann) {
        fprintf(stderr, "rethink data check: --images DIR and --ann FILE are required\n");
        return 2;
    }
    rk_dataset d;
    rk_err err = {0};
    if (rk_dataset_load(&d, images, ann, threads, &err)) {
        fprintf(stderr, "rethink data check: %s\n", err.msg);
        return 1;
    }
    const rk_coco *c = &d.coco;
    size_t crowd = 0, sizes[3] = {0}, *per = calloc(c->ncats + 1, sizeof *per);
    for (size_t i = 0; i < c->nanns; i++) {
        const rk_coco_ann *a = &c->anns[i];
        crowd += a->iscrowd;
        /* COCO's area ranges (by the annotation's area): small < 32^2 <= medium < 96^2 */
        sizes[a->area < 32 * 32 ? 0 : a->area < 96 * 96 ? 1 : 2]++;
        per[rk_coco_cat_index(c, a->category_id)]++;
    }
    printf("%s: %zu images, %zu boxes (%zu crowd), %zu categories\n", ann, c->nimages, c->nanns,
           crowd, c->ncats);
    printf("boxes by COCO area: small %zu, medium %zu, large %zu\n", sizes[0], sizes[1], sizes[2]);
    printf("per category:\n");
    for (size_t k = 0; k < c->ncats; k++)
        printf("  %4d  %-24s %8zu\n", c->cats[k].id, c->cats[k].name, per[k]);
    printf("ok: every image present and decodable at its stated size\n");
    free(per);
    rk_dataset_free(&d);
    return 0;
}

static int show(int argc, char **argv)
{
    const char *images = NULL, *ann = NULL, *out = NULL;
    int n = 16, zoom = 4, cols = 4, seed = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(SHOW_HELP, stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "rethink: option %s needs a value (see --help)\n", a);
            return 2;
        }
        if (!strcmp(a, "--images")) images = v;
        else if (!strcmp(a, "--ann")) ann = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--n")) rc = cli_int(a, v, 1, 1024, &n);
        else if (!strcmp(a, "--seed")) rc = cli_int(a, v, 0, 2147483647, &seed);
        else if (!strcmp(a, "--zoom")) rc = cli_int(a, v, 1, 16, &zoom);
        else if (!strcmp(a, "--cols")) rc = cli_int(a, v, 1, 64, &cols);
        else {
            fprintf(stderr, "rethink data show: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        if (rc) return 2;
        i++;
    }
    if (!images || !ann || !out) {
        fprintf(stderr, "rethink data show: --images DIR, --ann FILE and --out FILE.png are required\n");
        return 2;
    }
    rk_dataset d;
    rk_err err = {0};
    if (rk_dataset_load(&d, images, ann, 2, &err)) {
        fprintf(stderr, "rethink data show: %s\n", err.msg);
        return 1;
    }
    size_t N = d.coco.nimages, k = (size_t)n < N ? (size_t)n : N;
    size_t *pick = malloc(k * sizeof *pick);
    rk_image *tiles = calloc(k, sizeof *tiles);
    rk_box *boxes = malloc((d.coco.nanns + 1) * sizeof *boxes);
    int rc = !pick || !tiles || !boxes;
    if (rc) rk_errf(&err, RK_ENOMEM, "out of memory");
    if (!rc && seed >= 0) {
        /* the first k of a seeded ranking: rk_subset's, so the picks are reproducible */
        size_t *idx, m;
        char hash[65];
        rc = rk_subset(&d.coco, (double)k / (double)N, (uint64_t)seed, &idx, &m, hash, &err);
        if (!rc) {
            for (size_t i = 0; i < k; i++) pick[i] = idx[i < m ? i : m - 1];
            free(idx);
        }
    } else if (!rc) {
        for (size_t i = 0; i < k; i++) pick[i] = i;
    }
    for (size_t i = 0; i < k && !rc; i++) {
        const rk_coco_image *im = &d.coco.images[pick[i]];
        size_t nb = cli_image_boxes(&d.coco, im->id, boxes);
        char cap[256];
        snprintf(cap, sizeof cap, "id %lld %s, %zu boxes", (long long)im->id, im->file_name, nb);
        rc = cli_render_tile(&tiles[i], &d.images[pick[i]], boxes, nb, &d.coco, zoom, cap, &err);
    }
    rk_image grid = {0};
    static const uint8_t bg[3] = {40, 40, 40};
    if (!rc) rc = rk_image_tile(&grid, tiles, k, cols, 4, bg, &err);
    if (!rc) rc = rk_png_save(&grid, out, &err);
    if (rc)
        fprintf(stderr, "rethink data show: %s\n", err.msg);
    else
        printf("wrote %s (%zu images of %s)\n", out, k, ann);
    for (size_t i = 0; tiles && i < k; i++) rk_image_free(&tiles[i]);
    rk_image_free(&grid);
    free(pick), free(tiles), free(boxes);
    rk_dataset_free(&d);
    return rc ? 1 : 0;
}

int cmd_data(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(HELP, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "build")) return build(argc - 1, argv + 1);
    if (!strcmp(argv[1], "check")) return check(argc - 1, argv + 1);
    if (!strcmp(argv[1], "show")) return show(argc - 1, argv + 1);
    fprintf(stderr, "rethink data: unknown command '%s' (see rethink data --help)\n", argv[1]);
    return 2;
}
