/* rethink data: build the default datasets, check (validate + summarise) any COCO dataset. */
#include <stdio.h>
#include <stdlib.h>
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
    "Detection scenes in COCO format (train/, val/, annotations/), their semantic-segmentation\n"
    "label maps (segmentation/train/, segmentation/val/: a PNG per scene, category id per\n"
    "pixel, 0 background, 255 ignore) and labelled source images (source/,\n"
    "source/labels.csv) from Fashion-MNIST, plus a dataset card (card.json).\n"
    "Same options and seed give byte-identical files.\n";

static const char *CHECK_HELP =
    "usage: rethink data check --images DIR --ann FILE [--strict] [--threads N]\n"
    "\n"
    "Validates a COCO-format detection dataset (JSON structure, ids, categories, boxes that\n"
    "overlap their images, every image present and decodable at its stated size; JPEG or\n"
    "PNG, told apart by content) and prints a summary: images, boxes, per-class counts, COCO\n"
    "small/medium/large box counts, and how many boxes extend past their image (accepted as\n"
    "pycocotools accepts them: eval scores them unchanged, training clips them).\n"
    "Exit status 1 with one error naming the file and id on the first problem.\n";

static const char *SHOW_HELP =
    "usage: rethink data show --images DIR --ann FILE --out FILE.png [options]\n"
    "\n"
    "Draws images of a COCO-format dataset with their boxes and class names as a PNG grid,\n"
    "for a person to look at. Each caption: image id and file name.\n";

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
    static const char *const KINDS[] = {"fashion-scenes", NULL};
    rk_scene_params p = rk_scene_defaults();
    const char *out = "data/fashion-scenes", *raw = RK_FASHION_DIR;
    int threads = 2, kind = 0, seed = (int)p.seed, code;
    double objects[2] = {p.min_objects, p.max_objects}, scale[2] = {p.min_scale, p.max_scale};
    double src_scale[2] = {p.src_min_scale, p.src_max_scale};
    const cli_opt opts[] = {
        {.kind = CLI_CHOICE, .dst = &kind, .arg = "KIND", .choices = KINDS, .required = 1},
        {.help = "\noptions (defaults in brackets):"},
        {.name = "out", .kind = CLI_STR, .dst = &out, .arg = "DIR",
         .help = "output folder [data/fashion-scenes]"},
        {.name = "raw", .kind = CLI_STR, .dst = &raw, .arg = "DIR",
         .help = "Fashion-MNIST idx files [" RK_FASHION_DIR "]"},
        {.name = "seed", .kind = CLI_INT, .dst = &seed, .arg = "S", .hi = 2147483647,
         .help = "[1]"},
        {.name = "size", .kind = CLI_INT, .dst = &p.size, .arg = "PX", .lo = 16, .hi = 1024,
         .help = "target scene side [64]"},
        {.name = "train", .kind = CLI_INT, .dst = &p.ntrain, .arg = "N", .lo = 1, .hi = 10000000,
         .help = "train scenes [4000]"},
        {.name = "val", .kind = CLI_INT, .dst = &p.nval, .arg = "N", .lo = 1, .hi = 10000000,
         .help = "val scenes [1000]"},
        {.name = "source", .kind = CLI_INT, .dst = &p.nsource, .arg = "N", .hi = 10000000,
         .help = "source images [10000]"},
        {.name = "source-size", .kind = CLI_INT, .dst = &p.source_size, .arg = "PX", .lo = 16,
         .hi = 1024, .help = "source image side [64]"},
        {.name = "objects", .kind = CLI_PAIR, .dst = objects, .arg = "MIN,MAX",
         .help = "objects per scene [2,5]"},
        {.name = "scale", .kind = CLI_PAIR, .dst = scale, .arg = "MIN,MAX",
         .help = "object side in px [12,36]"},
        {.name = "source-scale", .kind = CLI_PAIR, .dst = src_scale, .arg = "MIN,MAX",
         .help = "dominant source object side in px [28,44]"},
        {.name = "source-extra", .kind = CLI_INT, .dst = &p.src_extra, .arg = "N", .hi = 20,
         .help = "at most N small unlabelled objects per source image [2]"},
        {.name = "clutter", .kind = CLI_INT, .dst = &p.clutter, .arg = "N", .hi = 100,
         .help = "background distractor shapes [6]"},
        {.name = "occlusion", .kind = CLI_NUM, .dst = &p.occlusion, .arg = "F",
         .help = "largest fraction of an object later ones may cover [0.4]"},
        {.name = "tint", .kind = CLI_NUM, .dst = &p.tint, .arg = "F",
         .help = "0 grey items .. 1 fully coloured [1]"},
        {.name = "noise", .kind = CLI_NUM, .dst = &p.noise, .arg = "SIGMA",
         .help = "pixel noise [6]"},
        {.name = "quality", .kind = CLI_INT, .dst = &p.quality, .arg = "Q", .lo = 50, .hi = 100,
         .help = "JPEG quality [90]"},
        {.name = "threads", .kind = CLI_INT, .dst = &threads, .arg = "N", .lo = 1, .hi = 256,
         .help = "[2]"},
        {0}};
    if (cli_parse(&(cli_cmd){"data build", BUILD_HELP, opts}, argc, argv, &code)) return code;
    p.seed = (uint64_t)seed;
    p.min_objects = (int)objects[0], p.max_objects = (int)objects[1];
    p.min_scale = scale[0], p.max_scale = scale[1];
    p.src_min_scale = src_scale[0], p.src_max_scale = src_scale[1];
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
    int threads = 2, strict = 0, code;
    const cli_opt opts[] = {
        CLI_OPT_IMAGES(&images), CLI_OPT_ANN(&ann),
        {.name = "strict", .kind = CLI_FLAG, .dst = &strict,
         .help = "a box extending past its image is an error (exit 1, naming it)"},
        {.name = "threads", .kind = CLI_INT, .dst = &threads, .arg = "N", .lo = 1, .hi = 256,
         .help = "decoding threads (default 2)"},
        {0}};
    if (cli_parse(&(cli_cmd){"data check", CHECK_HELP, opts}, argc, argv, &code)) return code;
    rk_dataset d;
    rk_err err = {0};
    if (rk_dataset_load(&d, images, ann, threads, &err)) {
        fprintf(stderr, "rethink data check: %s\n", err.msg);
        return 1;
    }
    const rk_coco *c = &d.coco;
    if (strict && c->noutside) {
        for (size_t i = 0; i < c->nanns; i++) {
            const rk_coco_ann *a = &c->anns[i];
            const rk_coco_image *im = &c->images[rk_coco_image_index(c, a->image_id)];
            double in[4];
            if (!rk_coco_box_clip(a->bbox, im, in)) continue;
            fprintf(stderr, "rethink data check: %s: annotation id %lld: bbox [%g, %g, %g, %g] "
                    "extends past image id %lld (%dx%d); %zu such box%s (--strict)\n", ann,
                    (long long)a->id, a->bbox[0], a->bbox[1], a->bbox[2], a->bbox[3],
                    (long long)im->id, im->width, im->height, c->noutside,
                    c->noutside == 1 ? "" : "es");
            break;
        }
        rk_dataset_free(&d);
        return 1;
    }
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
    printf("boxes extending past their image: %zu (clipped for training; eval scores them as "
           "they are; --strict makes them errors)\n", c->noutside);
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
    int n = 16, zoom = 4, cols = 4, seed = -1, code;
    const cli_opt opts[] = {
        CLI_OPT_IMAGES(&images), CLI_OPT_ANN(&ann),
        {.name = "out", .kind = CLI_STR, .dst = &out, .arg = "FILE.png", .required = 1,
         .help = "PNG to write"},
        {.name = "n", .kind = CLI_INT, .dst = &n, .arg = "N", .lo = 1, .hi = 1024,
         .help = "images (default 16): the first N, or N drawn with --seed"},
        {.name = "seed", .kind = CLI_INT, .dst = &seed, .arg = "S", .hi = 2147483647,
         .help = "pick the images at random with this seed (default: the first N)"},
        {.name = "zoom", .kind = CLI_INT, .dst = &zoom, .arg = "K", .lo = 1, .hi = 16,
         .help = "upscale tiles K times (default 4)"},
        {.name = "cols", .kind = CLI_INT, .dst = &cols, .arg = "C", .lo = 1, .hi = 64,
         .help = "grid columns (default 4)"},
        {0}};
    if (cli_parse(&(cli_cmd){"data show", SHOW_HELP, opts}, argc, argv, &code)) return code;
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
    static const cli_sub subs[] = {{"build", build}, {"check", check}, {"show", show}, {0}};
    return cli_dispatch("data", HELP, subs, argc, argv);
}
