/* make_synth_coco DIR [--png]: writes a tiny synthetic COCO dataset for CLI tests and for
 * looking at augmentations: DIR/instances.json and DIR/img_K.jpg (with --png DIR/img_K.png,
 * the same pixels losslessly), 6 images (64x64 and one 80x56) of
 * solid coloured rectangles on a dim gradient, with their exact boxes and 3 categories.
 * Deterministic: same output bytes on every run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rethink/data.h"

int main(int argc, char **argv)
{
    int png = argc == 3 && !strcmp(argv[2], "--png");
    if (argc != 2 && !png) {
        fprintf(stderr, "usage: make_synth_coco DIR [--png]\n");
        return 2;
    }
    static const uint8_t colours[3][3] = {{220, 60, 60}, {60, 200, 80}, {70, 110, 230}};
    static char *names[3] = {"shirt", "shoe", "bag"};
    enum { NIMG = 6, PER = 3 };
    rk_coco c = {0};
    rk_coco_image imgs[NIMG];
    rk_coco_ann anns[NIMG * PER];
    rk_coco_cat cats[3];
    char fname[NIMG][32];
    rk_err err = {0};
    rk_rng r;
    rk_rng_init(&r, 42, 0, 0);
    size_t na = 0;
    for (int k = 0; k < NIMG; k++) {
        int W = k == 5 ? 80 : 64, H = k == 5 ? 56 : 64;
        rk_image im;
        if (rk_image_alloc(&im, W, H, 3, &err)) return 1;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int ch = 0; ch < 3; ch++)
                    im.px[(y * W + x) * 3 + ch] = (uint8_t)(20 + (x + y) / 4);
        for (int j = 0; j < PER; j++) {
            int w = 10 + (int)(rk_rng_u64(&r) % 20), h = 10 + (int)(rk_rng_u64(&r) % 20);
            int x0 = (int)(rk_rng_u64(&r) % (uint64_t)(W - w)),
                y0 = (int)(rk_rng_u64(&r) % (uint64_t)(H - h));
            int cls = (k + j) % 3;
            for (int y = y0; y < y0 + h; y++)
                for (int x = x0; x < x0 + w; x++)
                    memcpy(im.px + (y * W + x) * 3, colours[cls], 3);
            anns[na] = (rk_coco_ann){.id = (int64_t)na + 1,
                                     .image_id = k + 1,
                                     .category_id = cls + 1,
                                     .bbox = {x0, y0, w, h},
                                     .area = (double)w * h};
            na++;
        }
        snprintf(fname[k], sizeof fname[k], "img_%d.%s", k, png ? "png" : "jpg");
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[1], fname[k]);
        if (png ? rk_png_save(&im, path, &err) : rk_jpeg_save(&im, path, 95, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        rk_image_free(&im);
        imgs[k] = (rk_coco_image){.id = k + 1, .file_name = fname[k], .width = W, .height = H};
    }
    for (int j = 0; j < 3; j++) cats[j] = (rk_coco_cat){.id = j + 1, .name = names[j]};
    c.images = imgs, c.nimages = NIMG, c.anns = anns, c.nanns = na, c.cats = cats, c.ncats = 3;
    char path[4096];
    snprintf(path, sizeof path, "%s/instances.json", argv[1]);
    if (rk_coco_save(&c, path, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    return 0;
}
