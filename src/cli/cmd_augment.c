/* rethink augment show: renders augmented samples of a COCO-format dataset with their boxes
 * and class names into one PNG grid, to look at what a policy does. Sample k is image
 * k mod N of the dataset at epoch k / N, so the grid shows exactly what training with that
 * seed would see; the same arguments give a byte-identical PNG. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli.h"
#include "rethink/augment.h"
#include "rethink/config.h"
#include "rethink/draw.h"

static const char *HELP =
    "usage: rethink augment show --images DIR --ann FILE --policy NAME --out FILE.png [options]\n"
    "\n"
    "Augments samples of a COCO-format dataset with a policy and writes them, with their\n"
    "boxes and class names, as a PNG grid. Each tile's caption: image index, epoch, flip,\n"
    "scale, and the ops applied with their arguments.\n";

int cli_policy(const char *policies, const char *config, const char *name, rk_policy *p,
               const char *cmd)
{
    rk_err err = {0};
    int rc;
    if (config) {
        rk_experiment x;
        if (!(rc = rk_experiment_load(&x, config, NULL, 0, &err))) {
            rc = rk_experiment_policy(&x, name, p, &err);
            rk_experiment_free(&x);
        }
    } else {
        struct stat st;
        if (!policies && stat(RK_DEFAULT_POLICIES, &st) != 0) {
            fprintf(stderr, "rethink %s: the default policies file %s does not exist: give "
                            "--policies FILE or --config EXPERIMENT\n", cmd, RK_DEFAULT_POLICIES);
            return 1;
        }
        rc = rk_policy_load_ini(p, policies ? policies : RK_DEFAULT_POLICIES, name, &err);
    }
    if (rc) fprintf(stderr, "rethink %s: %s\n", cmd, err.msg);
    return rc ? 1 : 0;
}

static const char *USAGE =
    "usage: rethink augment show --images DIR --ann FILE --policy NAME --out FILE.png [options]\n"
    "\n"
    "rethink augment show --help describes its options.\n";

static int show(int argc, char **argv)
{
    const char *images = NULL, *ann = NULL, *policy = NULL, *out = NULL;
    const char *policies = NULL, *config = NULL;
    int n = 16, seed = 1, epoch = 0, size = 64, zoom = 4, cols = 4, code;
    const cli_opt opts[] = {
        CLI_OPT_IMAGES(&images), CLI_OPT_ANN(&ann),
        {.name = "policy", .kind = CLI_STR, .dst = &policy, .arg = "NAME", .required = 1,
         .help = "policy section [augment.NAME], e.g. S1, S2, S3, S4"},
        CLI_OPT_POLICIES(&policies), CLI_OPT_POLICY_CONFIG(&config),
        {.name = "n", .kind = CLI_INT, .dst = &n, .arg = "N", .lo = 1, .hi = 1024,
         .help = "samples (default 16)"},
        {.name = "seed", .kind = CLI_INT, .dst = &seed, .arg = "S", .hi = 2147483647,
         .help = "augmentation seed (default 1)"},
        {.name = "epoch", .kind = CLI_INT, .dst = &epoch, .arg = "E", .hi = 2147483647,
         .help = "first epoch (default 0)"},
        {.name = "size", .kind = CLI_INT, .dst = &size, .arg = "PX", .lo = 8, .hi = 4096,
         .help = "output side, the model's input (default 64)"},
        {.name = "zoom", .kind = CLI_INT, .dst = &zoom, .arg = "K", .lo = 1, .hi = 16,
         .help = "tiles are upscaled K times for legibility (default 4)"},
        {.name = "cols", .kind = CLI_INT, .dst = &cols, .arg = "C", .lo = 1, .hi = 64,
         .help = "grid columns (default 4)"},
        {.name = "out", .kind = CLI_STR, .dst = &out, .arg = "FILE", .required = 1,
         .help = "PNG to write"},
        {0}};
    if (cli_parse(&(cli_cmd){"augment show", HELP, opts}, argc, argv, &code)) return code;
    rk_err err = {0};
    rk_policy pol;
    if (policies && config) {
        fprintf(stderr, "rethink augment show: --policies or --config, not both\n");
        return 2;
    }
    if (cli_policy(policies, config, policy, &pol, "augment show")) return 1;
    rk_coco coco;
    if (rk_coco_load(&coco, ann, &err)) {
        fprintf(stderr, "rethink augment show: %s\n", err.msg);
        return 1;
    }
    if (coco.nimages == 0) {
        fprintf(stderr, "rethink augment show: %s has no images\n", ann);
        rk_coco_free(&coco);
        return 1;
    }
    rk_image *tiles = calloc((size_t)n, sizeof *tiles);
    rk_box *in_b = malloc((coco.nanns + 1) * sizeof *in_b);
    rk_box *out_b = malloc((coco.nanns + 1) * sizeof *out_b);
    rk_image aug = {0}, grid = {0};
    int rc = (!tiles || !in_b || !out_b) ? rk_errf(&err, RK_ENOMEM, "out of memory")
                                         : rk_image_alloc(&aug, size, size, 3, &err);
    for (int k = 0; k < n && !rc; k++) {
        size_t idx = (size_t)k % coco.nimages;
        uint64_t ep = (uint64_t)epoch + (uint64_t)k / coco.nimages;
        const rk_coco_image *ci = &coco.images[idx];
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s", images, ci->file_name) >= (int)sizeof path) {
            rc = rk_errf(&err, RK_EINVAL, "%s/%s: path too long", images, ci->file_name);
            break;
        }
        rk_image im;
        if ((rc = rk_image_load(&im, path, 3, &err))) break;
        size_t nb = cli_image_boxes(&coco, ci->id, in_b), nout = 0;
        rk_aug_trace tr;
        rc = rk_augment(&pol, &im, in_b, nb, (uint64_t)seed, ep, idx, &aug, out_b, &nout, &tr,
                        &err);
        rk_image_free(&im);
        if (rc) break;
        char cap[512];
        int m = snprintf(cap, sizeof cap, "#%zu e%llu %s s%.2f", idx, (unsigned long long)ep,
                         tr.flipped ? "flip" : "-", tr.scale);
        for (int o = 0; o < tr.nops && m < (int)sizeof cap; o++)
            m += snprintf(cap + m, sizeof cap - m, " %s(%.3g)", rk_op_name(tr.ops[o]), tr.args[o]);
        rc = cli_render_tile(&tiles[k], &aug, out_b, nout, &coco, zoom, cap, &err);
    }
    static const uint8_t bg[3] = {40, 40, 40};
    if (!rc) rc = rk_image_tile(&grid, tiles, (size_t)n, cols, 4, bg, &err);
    if (!rc) rc = rk_png_save(&grid, out, &err);
    if (rc)
        fprintf(stderr, "rethink augment show: %s\n", err.msg);
    else
        printf("wrote %s (%d samples, policy %s, seed %d)\n", out, n, policy, seed);
    for (int k = 0; tiles && k < n; k++) rk_image_free(&tiles[k]);
    free(tiles), free(in_b), free(out_b);
    rk_image_free(&aug), rk_image_free(&grid);
    rk_coco_free(&coco);
    return rc ? 1 : 0;
}

int cmd_augment(int argc, char **argv)
{
    static const cli_sub subs[] = {{"show", show}, {0}};
    return cli_dispatch("augment", USAGE, subs, argc, argv);
}
