/* The segmentation task: labels written with the scenes and read back, labels through
 * augmentation, the head's ops (finite differences in double, and PyTorch fixtures), and mIoU
 * (hand cases, and an independent numpy implementation on random label maps:
 * tests/gen_seg_fixtures.py). */
#include <check.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fixture.h"
#include "model/segment_f64.h"
#include "rethink/arms.h"
#include "rethink/augment.h"
#include "rethink/data.h"
#include "rethink/eval.h"
#include "rethink/model.h"

#define FD_H 1e-5
#define FD_TOL 1e-6

static double *rnd(size_t n, uint64_t seed, double scale)
{
    double *a = calloc(n, sizeof(double));
    rk_rng r;
    rk_rng_init(&r, seed, 91, n);
    for (size_t i = 0; i < n; i++) a[i] = scale * rk_rng_normal(&r);
    return a;
}

/* ---- the head's ops: finite differences in double ---- */

/* L = sum(R * xent(upsample(z))) is what training computes; each op is checked alone. */
START_TEST(bilinear_upsampling_backward_matches_finite_differences)
{
    int NC = 3, H = 3, W = 4, OH = 8, OW = 11; /* non-integer ratios exercise every tap */
    size_t ni = (size_t)NC * H * W, no = (size_t)NC * OH * OW;
    double *x = rnd(ni, 1, 1), *R = rnd(no, 2, 1), *y = calloc(no, sizeof *y);
    double *dx = calloc(ni, sizeof *dx);
    rk_upsample_bilinear_backward_f64(dx, R, NC, H, W, OH, OW);
    for (size_t i = 0; i < ni; i++) {
        double keep = x[i], l[2];
        for (int s = 0; s < 2; s++) {
            x[i] = keep + (s ? -FD_H : FD_H);
            rk_upsample_bilinear_forward_f64(y, x, NC, H, W, OH, OW);
            l[s] = 0;
            for (size_t j = 0; j < no; j++) l[s] += y[j] * R[j];
        }
        x[i] = keep;
        double fd = (l[0] - l[1]) / (2 * FD_H);
        ck_assert_msg(fabs(fd - dx[i]) <= FD_TOL * (1 + fabs(fd)), "dx[%zu]: %.10g vs fd %.10g",
                      i, dx[i], fd);
    }
    free(x), free(R), free(y), free(dx);
}
END_TEST

START_TEST(pixel_cross_entropy_backward_matches_finite_differences_and_skips_ignored_pixels)
{
    int N = 2, K = 4;
    size_t HW = 6, n = (size_t)N * K * HW;
    uint8_t lab[12] = {0, 3, RK_SEG_IGNORE, 1, 2, 2, RK_SEG_IGNORE, 0, 1, 3, RK_SEG_IGNORE, 2};
    double *z = rnd(n, 3, 2), *dz = calloc(n, sizeof *dz), *tmp = calloc(n, sizeof *tmp);
    rk_seg_xent_f64(dz, z, lab, N, K, HW);
    for (size_t i = 0; i < n; i++) {
        double keep = z[i];
        z[i] = keep + FD_H;
        double lp = rk_seg_xent_f64(tmp, z, lab, N, K, HW);
        z[i] = keep - FD_H;
        double lm = rk_seg_xent_f64(tmp, z, lab, N, K, HW);
        z[i] = keep;
        double fd = (lp - lm) / (2 * FD_H);
        ck_assert_msg(fabs(fd - dz[i]) <= FD_TOL * (1 + fabs(fd)), "dz[%zu]: %.10g vs fd %.10g",
                      i, dz[i], fd);
        /* an ignored pixel's logits have no gradient */
        size_t img = i / (K * HW), p = i % HW;
        if (lab[img * HW + p] == RK_SEG_IGNORE) ck_assert(dz[i] == 0);
    }
    /* every pixel ignored: loss 0, gradient 0 (no division by zero) */
    uint8_t all[12];
    memset(all, RK_SEG_IGNORE, sizeof all);
    ck_assert(rk_seg_xent_f64(dz, z, all, N, K, HW) == 0);
    for (size_t i = 0; i < n; i++) ck_assert(dz[i] == 0);
    free(z), free(dz), free(tmp);
}
END_TEST

/* ---- PyTorch: F.interpolate(bilinear, align_corners=False) + F.cross_entropy(ignore=255) -- */
START_TEST(segmentation_loss_equals_pytorch_upsample_and_cross_entropy)
{
    fx_file f = fx_load("seg_head.bin");
    const fx_array *z = fx_get(&f, "z"), *up = fx_get(&f, "up"), *lab = fx_get(&f, "labels");
    int N = z->dims[0], K = z->dims[1], h = z->dims[2], S = lab->dims[1];
    size_t SS = (size_t)S * S;
    uint8_t *labels = malloc((size_t)N * SS);
    for (size_t i = 0; i < (size_t)N * SS; i++) labels[i] = (uint8_t)lab->data[i];
    float *got = malloc(up->n * sizeof(float)), *dz = malloc(z->n * sizeof(float));
    float *scratch = malloc(2 * up->n * sizeof(float));
    rk_upsample_bilinear_forward(got, z->data, N * K, h, h, S, S);
    fx_assert_close("upsampled logits", got, up->data, up->n, FX_ATOL, FX_RTOL);
    float loss = rk_segment_loss(dz, z->data, labels, N, K, K, h, h, S, scratch);
    fx_assert_close("loss", &loss, fx_get(&f, "loss")->data, 1, FX_ATOL, FX_RTOL);
    fx_assert_close("dz", dz, fx_get(&f, "dz")->data, z->n, FX_ATOL, FX_RTOL);
    memset(dz, 0, z->n * sizeof(float));
    rk_upsample_bilinear_backward(dz, fx_get(&f, "dy")->data, N * K, h, h, S, S);
    fx_assert_close("upsampling's input gradient", dz, fx_get(&f, "dz_up")->data, z->n, FX_ATOL,
                    FX_RTOL);
    free(labels), free(got), free(dz), free(scratch);
    fx_free(&f);
}
END_TEST

/* A head with more channels than classes (the detector's minimum of 5): the extra channels
 * get no gradient and the K logits the same as alone. */
START_TEST(segmentation_loss_leaves_channels_beyond_the_classes_without_gradient)
{
    int N = 1, K = 3, OC = 5, h = 2, S = 8;
    float out[1 * 5 * 2 * 2], alone[3 * 4], dout[5 * 4], dalone[3 * 4], scratch[2 * 3 * 64];
    for (int i = 0; i < 20; i++) out[i] = (float)sin(i * 1.7);
    memcpy(alone, out, sizeof alone);
    uint8_t lab[64];
    for (int i = 0; i < 64; i++) lab[i] = (uint8_t)(i % 7 == 0 ? RK_SEG_IGNORE : i % 3);
    float l1 = rk_segment_loss(dout, out, lab, N, K, OC, h, h, S, scratch);
    float l2 = rk_segment_loss(dalone, alone, lab, N, K, K, h, h, S, scratch);
    ck_assert(l1 == l2);
    ck_assert(!memcmp(dout, dalone, sizeof dalone));
    for (int i = 12; i < 20; i++) ck_assert(dout[i] == 0);
}
END_TEST

/* ---- mIoU ---- */

/* 2 classes present, 1 absent from both. gt  = [0 0 1 1 ign], pred = [0 1 1 1 2]:
 * class 0: TP 1, FN 1 (gt 0 -> 1), FP 0 -> 1/2; class 1: TP 2, FP 1 -> 2/3; class 2: the
 * ignored pixel's prediction never counts, so it is absent -> NAN, left out;
 * class 3: absent. mIoU = (1/2 + 2/3) / 2. */
START_TEST(miou_averages_the_classes_present_in_ground_truth_or_prediction)
{
    rk_seg_confusion c;
    rk_err err = {0};
    ck_assert(rk_seg_confusion_init(&c, 4, &err) == RK_OK);
    uint8_t gt[5] = {0, 0, 1, 1, RK_SEG_IGNORE}, pred[5] = {0, 1, 1, 1, 2};
    ck_assert(rk_seg_confusion_add(&c, gt, pred, 5, &err) == RK_OK);
    double iou[4];
    double m = rk_seg_miou(&c, iou);
    ck_assert(fabs(iou[0] - 0.5) < 1e-15 && fabs(iou[1] - 2.0 / 3) < 1e-15);
    ck_assert(isnan(iou[2]) && isnan(iou[3]));
    ck_assert(fabs(m - (0.5 + 2.0 / 3) / 2) < 1e-15);
    /* a class only predicted counts (IoU 0): it lowers the mean */
    uint8_t g2[1] = {0}, p2[1] = {3};
    ck_assert(rk_seg_confusion_add(&c, g2, p2, 1, &err) == RK_OK);
    m = rk_seg_miou(&c, iou);
    ck_assert(iou[3] == 0);
    ck_assert(fabs(m - (1.0 / 3 + 2.0 / 3 + 0) / 3) < 1e-15);
    /* a label out of range is an error naming the pixel */
    uint8_t g3[2] = {0, 4};
    ck_assert(rk_seg_confusion_add(&c, g3, g3, 2, &err) == RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "pixel 1"), "%s", err.msg);
    rk_seg_confusion_free(&c);
}
END_TEST

/* Over the whole set, not per image: two images each perfect for a different class would
 * average 1 per image; the set's confusion gives the same here, so use one where they differ:
 * image A gt [1 1] pred [1 0], image B gt [0] pred [0]. Per set: class 0 TP 1 FP 1 -> 1/2,
 * class 1 TP 1 FN 1 -> 1/2, mIoU 1/2. Per image then averaged: A (0 + 1/2)/2, B 1 -> 5/8. */
START_TEST(miou_accumulates_one_confusion_matrix_over_the_set)
{
    rk_seg_confusion c;
    rk_err err = {0};
    ck_assert(rk_seg_confusion_init(&c, 2, &err) == RK_OK);
    uint8_t ga[2] = {1, 1}, pa[2] = {1, 0}, gb[1] = {0}, pb[1] = {0};
    rk_seg_confusion_add(&c, ga, pa, 2, &err);
    rk_seg_confusion_add(&c, gb, pb, 1, &err);
    ck_assert(fabs(rk_seg_miou(&c, NULL) - 0.5) < 1e-15);
    rk_seg_confusion_free(&c);
}
END_TEST

static void miou_case(const char *name)
{
    fx_file f = fx_load(name);
    int K = (int)fx_get(&f, "K")->data[0], n = (int)fx_get(&f, "n")->data[0];
    rk_seg_confusion c;
    rk_err err = {0};
    ck_assert(rk_seg_confusion_init(&c, K, &err) == RK_OK);
    for (int i = 0; i < n; i++) {
        char gn[16], pn[16];
        snprintf(gn, sizeof gn, "gt%d", i), snprintf(pn, sizeof pn, "pred%d", i);
        const fx_array *g = fx_get(&f, gn), *p = fx_get(&f, pn);
        uint8_t *gt = malloc(g->n), *pr = malloc(p->n);
        for (size_t j = 0; j < g->n; j++) gt[j] = (uint8_t)g->data[j], pr[j] = (uint8_t)p->data[j];
        ck_assert_msg(rk_seg_confusion_add(&c, gt, pr, g->n, &err) == RK_OK, "%s", err.msg);
        free(gt), free(pr);
    }
    double *iou = malloc((size_t)K * sizeof *iou);
    double m = rk_seg_miou(&c, iou);
    const fx_array *ref = fx_get(&f, "iou");
    for (int k = 0; k < K; k++) {
        if (ref->data[k] < 0) ck_assert_msg(isnan(iou[k]), "%s class %d: %g, absent in the reference", name, k, iou[k]);
        else ck_assert_msg(fabs(iou[k] - ref->data[k]) <= 1e-6, "%s class %d: %.9g vs %.9g", name, k, iou[k], ref->data[k]);
    }
    ck_assert_msg(fabs(m - fx_get(&f, "miou")->data[0]) <= 1e-6, "%s: mIoU %.9g vs reference %.9g",
                  name, m, fx_get(&f, "miou")->data[0]);
    free(iou);
    rk_seg_confusion_free(&c);
    fx_free(&f);
}

START_TEST(miou_equals_an_independent_numpy_implementation_on_random_label_maps)
{
    miou_case("seg_miou_a.bin"); /* 5 classes, 3 images of different sizes, ignore pixels */
    miou_case("seg_miou_b.bin"); /* 11 classes: one in neither gt nor prediction, one only predicted */
    miou_case("seg_miou_c.bin"); /* predictions independent of the ground truth */
}
END_TEST

/* ---- labels of the Fashion scenes ---- */
START_TEST(scene_labels_agree_with_the_boxes)
{
    rk_scene_params p = rk_scene_defaults();
    rk_fashion fm;
    rk_err err = {0};
    ck_assert(rk_fashion_load(&fm, RK_FASHION_DIR, "train", &err) == RK_OK);
    int ignored = 0;
    for (int i = 0; i < 20; i++) {
        rk_image im, lab;
        rk_coco_ann objs[64];
        int n;
        ck_assert(rk_fashion_render(&p, &fm, RK_SPLIT_TRAIN, i, &im, objs, 64, &n, NULL, &err) == RK_OK);
        ck_assert(rk_fashion_render_labels(&p, &fm, RK_SPLIT_TRAIN, i, &lab, &err) == RK_OK);
        ck_assert(lab.c == 1 && lab.w == im.w && lab.h == im.h);
        /* every labelled pixel lies in a box of its class; each box's area counts exactly
         * the pixels of its class in it that no other box of that class could claim */
        long pixels[11] = {0}, area[11] = {0};
        for (int k = 0; k < n; k++) area[objs[k].category_id] += (long)objs[k].area;
        for (int y = 0; y < lab.h; y++)
            for (int x = 0; x < lab.w; x++) {
                int v = lab.px[y * lab.w + x];
                if (v == RK_SEG_IGNORE) { ignored++; continue; }
                if (v == 0) continue;
                ck_assert(v >= 1 && v <= 10);
                pixels[v]++;
                int inside = 0;
                for (int k = 0; k < n && !inside; k++) {
                    const double *b = objs[k].bbox;
                    inside = objs[k].category_id == v && x >= b[0] && x < b[0] + b[2] && y >= b[1] &&
                             y < b[1] + b[3];
                }
                ck_assert_msg(inside, "image %d pixel (%d, %d) class %d outside its boxes", i, x, y, v);
            }
        /* a box's area is its visible mask pixels: per class they add up to the labels */
        for (int v = 1; v <= 10; v++) ck_assert_int_eq(pixels[v], area[v]);
        rk_image_free(&im), rk_image_free(&lab);
    }
    ck_assert_msg(ignored > 0, "no fringe pixel in 20 scenes");
    rk_fashion_free(&fm);
}
END_TEST

/* A small default-recipe dataset built into the test's folder name; *p its recipe. */
static void build_small(rk_scene_params *p, char *out, size_t cap, const char *name)
{
    rk_err err = {0};
    *p = rk_scene_defaults();
    p->ntrain = 6, p->nval = 4, p->nsource = 2;
    fx_path(out, cap, name);
    ck_assert_msg(rk_fashion_scenes_build(p, RK_FASHION_DIR, out, 1, NULL, NULL, &err) == RK_OK,
                  "%s", err.msg);
}

START_TEST(built_scenes_carry_label_maps_that_load_as_class_indices)
{
    rk_scene_params p;
    char out[512], dir[600], img[600], ann[600];
    rk_err err = {0};
    build_small(&p, out, sizeof out, "ds");
    snprintf(img, sizeof img, "%s/val", out);
    snprintf(ann, sizeof ann, "%s/annotations/instances_val.json", out);
    snprintf(dir, sizeof dir, "%s/" RK_SEG_DIR "/val", out);
    rk_dataset d;
    ck_assert(rk_dataset_load(&d, img, ann, 1, &err) == RK_OK);
    rk_image *labels;
    ck_assert_msg(rk_seg_labels_load(&labels, &d, NULL, dir, 1, &err) == RK_OK, "%s", err.msg);
    rk_fashion te;
    ck_assert(rk_fashion_load(&te, RK_FASHION_DIR, "t10k", &err) == RK_OK);
    for (int i = 0; i < p.nval; i++) {
        rk_image want;
        ck_assert(rk_fashion_render_labels(&p, &te, RK_SPLIT_VAL, i, &want, &err) == RK_OK);
        /* categories 1..10 are indices 0..9: the class index is the category id */
        ck_assert(!memcmp(want.px, labels[i].px, (size_t)want.w * want.h));
        rk_image_free(&want);
    }
    /* read as another category list's classes (a val split read as its model's, the train
     * split's): the same category ids in reverse order give the reversed indices */
    rk_coco rev = {0};
    rev.ncats = d.coco.ncats;
    rev.cats = calloc(rev.ncats, sizeof *rev.cats);
    ck_assert(rev.cats);
    for (size_t k = 0; k < rev.ncats; k++) rev.cats[k] = d.coco.cats[rev.ncats - 1 - k];
    rk_image *as_rev;
    ck_assert_msg(rk_seg_labels_load(&as_rev, &d, &rev, dir, 1, &err) == RK_OK, "%s", err.msg);
    size_t objects = 0;
    for (int i = 0; i < p.nval; i++)
        for (size_t q = 0; q < (size_t)labels[i].w * labels[i].h; q++) {
            uint8_t v = labels[i].px[q], r = as_rev[i].px[q];
            if (v == 0 || v == RK_SEG_IGNORE) ck_assert_int_eq(r, v);
            else {
                ck_assert_int_eq(r, 11 - v);
                objects++;
            }
        }
    ck_assert(objects > 0);
    rk_seg_labels_free(as_rev, d.coco.nimages);
    /* classes that lack a category the labels use: refused, naming the file and pixel */
    rev.ncats = 0;
    ck_assert(rk_seg_labels_load(&as_rev, &d, &rev, dir, 1, &err) == RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "a category id the model was trained on"), "%s", err.msg);
    free(rev.cats);
    /* a value that is no category is refused, naming the file and the pixel */
    rk_image bad = {0};
    ck_assert(rk_image_alloc(&bad, 64, 64, 1, &err) == RK_OK);
    memset(bad.px, 0, 64 * 64);
    bad.px[64 * 2 + 5] = 42;
    char path[700];
    snprintf(path, sizeof path, "%s/000002.png", dir);
    ck_assert(rk_png_save(&bad, path, &err) == RK_OK);
    rk_seg_labels_free(labels, d.coco.nimages);
    ck_assert(rk_seg_labels_load(&labels, &d, NULL, dir, 1, &err) == RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "000002.png: pixel (5, 2) is 42"), "%s", err.msg);
    ck_assert(labels == NULL);
    rk_image_free(&bad);
    rk_fashion_free(&te);
    rk_dataset_free(&d);
}
END_TEST

/* A w x h PNG of the given colour type and depth whose row y is rows + y * stride (libpng's
 * own writer, so the files are what other tools write), with a 3-colour palette for
 * PNG_COLOR_TYPE_PALETTE. */
static void write_png(const char *path, int w, int h, int type, int depth,
                      const unsigned char *rows, size_t stride)
{
    FILE *f = fopen(path, "wb");
    ck_assert(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    ck_assert(png && info && !setjmp(png_jmpbuf(png)));
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_color pal[3] = {{0, 0, 0}, {128, 0, 0}, {0, 128, 0}}; /* VOC's first colours */
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_PLTE(png, info, pal, 3);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) png_write_row(png, rows + (size_t)y * stride);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

/* Label maps as other tools write them: an indexed PNG (PASCAL VOC's) is read by palette
 * index, a 4-bit gray one by value unscaled; RGB, gray+alpha, 16-bit and JPEG maps are
 * refused, saying what the file is — never a colour's brightness taken for a class. */
START_TEST(label_maps_are_read_by_index_or_value_and_colour_ones_refused)
{
    char path[600];
    rk_err err = {0};
    rk_image im;
    /* indexed, 8-bit: indices 0, 1, 2 (VOC's black, dark red, green) */
    unsigned char idx[2 * 4] = {0, 1, 2, 1, 2, 2, 0, 1};
    fx_path(path, sizeof path, "pal.png");
    write_png(path, 4, 2, PNG_COLOR_TYPE_PALETTE, 8, idx, 4);
    ck_assert_msg(rk_label_map_load(&im, path, 4, 2, &err) == RK_OK, "%s", err.msg);
    ck_assert(im.c == 1 && !memcmp(im.px, idx, 8));
    rk_image_free(&im);
    /* indexed at 2 bits a pixel, packed four to a byte: unpacked to the same indices */
    unsigned char packed[1] = {0x99}; /* 10 01 10 01: indices 2, 1, 2, 1 */
    fx_path(path, sizeof path, "pal2.png");
    write_png(path, 4, 1, PNG_COLOR_TYPE_PALETTE, 2, packed, 1);
    ck_assert_msg(rk_label_map_load(&im, path, 4, 1, &err) == RK_OK, "%s", err.msg);
    ck_assert(im.px[0] == 2 && im.px[1] == 1 && im.px[2] == 2 && im.px[3] == 1);
    rk_image_free(&im);
    /* gray at 4 bits: 3 stays 3 (an image loader would scale it to 51) */
    unsigned char g4[1] = {0x30}; /* 3, 0 */
    fx_path(path, sizeof path, "g4.png");
    write_png(path, 2, 1, PNG_COLOR_TYPE_GRAY, 4, g4, 1);
    ck_assert_msg(rk_label_map_load(&im, path, 2, 1, &err) == RK_OK, "%s", err.msg);
    ck_assert(im.px[0] == 3 && im.px[1] == 0);
    rk_image_free(&im);
    /* colour, alpha and 16-bit maps: refused, saying what they are */
    unsigned char rgb[3 * 2] = {128, 0, 0, 0, 128, 0}, ga[4] = {1, 255, 2, 255},
                  g16[4] = {0, 1, 0, 2};
    const struct { int type, depth; const unsigned char *px; size_t stride;
                   const char *says; } bad[] = {
        {PNG_COLOR_TYPE_RGB, 8, rgb, 6, "this is 8-bit RGB"},
        {PNG_COLOR_TYPE_GRAY_ALPHA, 8, ga, 4, "this is 8-bit gray with alpha"},
        {PNG_COLOR_TYPE_GRAY, 16, g16, 4, "this is 16-bit gray"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fx_path(path, sizeof path, "bad.png");
        write_png(path, 2, 1, bad[i].type, bad[i].depth, bad[i].px, bad[i].stride);
        ck_assert(rk_label_map_load(&im, path, 2, 1, &err) == RK_EFORMAT);
        ck_assert_msg(strstr(err.msg, bad[i].says), "%s", err.msg);
        ck_assert(im.px == NULL);
    }
    /* a JPEG: lossy, no class ids */
    rk_image j = {0};
    ck_assert(rk_image_alloc(&j, 8, 8, 1, &err) == RK_OK);
    memset(j.px, 1, 64);
    fx_path(path, sizeof path, "map.jpg");
    ck_assert(rk_jpeg_save(&j, path, 95, &err) == RK_OK);
    ck_assert(rk_label_map_load(&im, path, 8, 8, &err) == RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "a label map is a PNG"), "%s", err.msg);
    rk_image_free(&j);
}
END_TEST

/* A segmenter whose output is not finite is said to have diverged at evaluation, not taken
 * for a metric's bad input ("prediction 255"). */
START_TEST(a_non_finite_segmenter_is_a_diverged_model_at_evaluation)
{
    rk_refnet_cfg m = rk_refnet_default();
    m.num_classes = 3;
    rk_net *net = NULL;
    rk_err err = {0};
    ck_assert_msg(rk_segnet(&net, &m, m.num_classes + 1, &err) == RK_OK, "%s", err.msg);
    float *w = rk_net_params(net);
    for (size_t i = 0; i < rk_net_num_elements(net); i++) w[i] = NAN;
    rk_image im[1] = {{0}}, lab[1] = {{0}};
    ck_assert(rk_image_alloc(&im[0], 40, 30, 3, &err) == RK_OK);
    ck_assert(rk_image_alloc(&lab[0], 40, 30, 1, &err) == RK_OK);
    memset(im[0].px, 90, 40 * 30 * 3);
    memset(lab[0].px, 0, 40 * 30);
    const uint8_t pad[3] = {124, 116, 104};
    double miou = 0;
    ck_assert_int_eq(rk_segmenter_eval(net, &m, im, lab, 1, pad, 1, &miou, NULL, &err),
                     RK_EDIVERGED);
    ck_assert_msg(strstr(err.msg, "not finite"), "%s", err.msg);
    rk_image_free(&im[0]), rk_image_free(&lab[0]);
    rk_net_free(net);
}
END_TEST

/* A dataset rethink built before label maps existed gets them in place: the rest of the
 * folder must be what the recipe builds (proven file by file), the maps are the builder's
 * own, nothing else moves; a folder whose files differ is left as it was, the file named. */
START_TEST(label_maps_are_added_in_place_to_a_dataset_built_before_them)
{
    rk_scene_params p;
    char out[512], seg[700], map[800], img[800];
    rk_err err = {0};
    build_small(&p, out, sizeof out, "old");
    snprintf(seg, sizeof seg, "%s/" RK_SEG_DIR, out);
    snprintf(map, sizeof map, "%s/val/000003.png", seg);
    char *want = NULL, *got = NULL;
    size_t nw = 0, ng = 0;
    ck_assert(rk_read_file(map, &want, &nw, &err) == RK_OK);
    ck_assert(rk_remove_tree(seg, &err) == RK_OK);
    ck_assert_msg(rk_fashion_scenes_add_labels(&p, RK_FASHION_DIR, out, 1, &err) == RK_OK, "%s",
                  err.msg);
    ck_assert(rk_read_file(map, &got, &ng, &err) == RK_OK);
    ck_assert(ng == nw && !memcmp(got, want, nw));
    free(got);
    /* present: nothing to do */
    ck_assert(rk_fashion_scenes_add_labels(&p, RK_FASHION_DIR, out, 1, &err) == RK_OK);
    /* a train image that is not the recipe's: refused, named, the folder as it was */
    ck_assert(rk_remove_tree(seg, &err) == RK_OK);
    snprintf(img, sizeof img, "%s/train/000002.jpg", out);
    FILE *f = fopen(img, "ab");
    ck_assert(f && fputc(0, f) == 0 && fclose(f) == 0);
    ck_assert(rk_fashion_scenes_add_labels(&p, RK_FASHION_DIR, out, 1, &err) == RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "train/000002.jpg is not what this rethink builds"), "%s",
                  err.msg);
    struct stat st;
    ck_assert(stat(seg, &st) != 0);
    free(want);
}
END_TEST

/* A dataset of one's own is known by its content (rk_dataset_fingerprint): its label maps are
 * part of it, byte for byte as annotation files are, and a folder without them keeps the
 * fingerprint it had before they existed. */
START_TEST(label_maps_are_part_of_a_datasets_fingerprint)
{
    char dir[300], a[65], b[65], c[65], d[65];
    rk_err err = {0};
    fx_path(dir, sizeof dir, "own");
    mkdir(dir, 0755);
    fx_path(dir, sizeof dir, "own/annotations"), mkdir(dir, 0755);
    fx_write("own/annotations/instances_val.json", "{}\n");
    fx_path(dir, sizeof dir, "own");
    ck_assert(rk_dataset_fingerprint(dir, a, &err) == RK_OK);
    fx_path(dir, sizeof dir, "own/" RK_SEG_DIR), mkdir(dir, 0755);
    fx_path(dir, sizeof dir, "own/" RK_SEG_DIR "/val"), mkdir(dir, 0755);
    fx_path(dir, sizeof dir, "own");
    ck_assert(rk_dataset_fingerprint(dir, b, &err) == RK_OK);
    ck_assert_str_eq(a, b); /* empty label folders: nothing added */
    fx_write("own/" RK_SEG_DIR "/val/000001.png", "labels 1");
    ck_assert(rk_dataset_fingerprint(dir, c, &err) == RK_OK);
    ck_assert_str_ne(b, c);
    fx_write("own/" RK_SEG_DIR "/val/000001.png", "labels 2"); /* same size, other labels */
    ck_assert(rk_dataset_fingerprint(dir, d, &err) == RK_OK);
    ck_assert_str_ne(c, d);
}
END_TEST

/* ---- labels through augmentation ---- */

/* An image whose colour is its label (label * 20 in every channel), augmented by rk_augment
 * with a policy of geometry only (flip, scale jitter): wherever the label is uniform around
 * a pixel, the augmented image shows that pixel's label. "Around" is 3 output pixels: the
 * bilinear taps lie within 1 source pixel, which is at most 1 / 0.375 output pixels when
 * 48 px are scaled up to as much as 128. */
START_TEST(labels_follow_the_images_flip_and_scale_jitter)
{
    rk_policy pol;
    rk_err err = {0};
    ck_assert(rk_policy_load_ini(&pol, RK_SOURCE_DIR "/experiments/augment.ini", "S3", &err) == RK_OK);
    pol.opset = RK_OPSET_NONE; /* S3's scale range (0.5, 2) without its colour ops */
    rk_image lab = {0}, im = {0}, oi = {0}, ol = {0};
    rk_image_alloc(&lab, 48, 40, 1, &err), rk_image_alloc(&im, 48, 40, 3, &err);
    rk_image_alloc(&oi, 64, 64, 3, &err), rk_image_alloc(&ol, 64, 64, 1, &err);
    for (int y = 0; y < 40; y++)
        for (int x = 0; x < 48; x++) {
            int v = (x / 8 + 2 * (y / 10)) % 7;
            lab.px[y * 48 + x] = (uint8_t)v;
            memset(im.px + (y * 48 + x) * 3, v * 20, 3);
        }
    int checked = 0, padded = 0;
    for (int key = 0; key < 12; key++) {
        rk_aug_trace tr;
        size_t on;
        ck_assert(rk_augment(&pol, &im, NULL, 0, 5, 0, (uint64_t)key, &oi, NULL, &on, &tr, &err) == RK_OK);
        ck_assert(rk_augment_labels(&tr, &lab, NULL, 0, &ol, &err) == RK_OK);
        for (int y = 3; y < 61; y++)
            for (int x = 3; x < 61; x++) {
                int v = ol.px[y * 64 + x], uniform = 1;
                if (v == RK_SEG_IGNORE) {
                    padded++;
                    ck_assert(oi.px[(y * 64 + x) * 3] == pol.pad[0]);
                    continue;
                }
                for (int dy = -3; dy <= 3; dy++)
                    for (int dx = -3; dx <= 3; dx++) uniform &= ol.px[(y + dy) * 64 + x + dx] == v;
                if (!uniform) continue;
                ck_assert_msg(abs(oi.px[(y * 64 + x) * 3] - v * 20) <= 1,
                              "key %d (%d, %d): image %d, label %d", key, x, y, oi.px[(y * 64 + x) * 3], v);
                checked++;
            }
    }
    ck_assert_msg(checked > 5000 && padded > 0, "checked %d, padded %d", checked, padded);
    rk_image_free(&lab), rk_image_free(&im), rk_image_free(&oi), rk_image_free(&ol);
}
END_TEST

/* A traced rotation (and flip) replayed on the labels moves them as it moved the image: the
 * image is transformed with the same calls, label = colour. */
START_TEST(labels_follow_a_traced_rotation_and_uncovered_pixels_are_ignored)
{
    rk_err err = {0};
    rk_image lab = {0}, im = {0}, oi = {0}, ol = {0};
    rk_image_alloc(&lab, 32, 32, 1, &err), rk_image_alloc(&im, 32, 32, 3, &err);
    rk_image_alloc(&oi, 32, 32, 3, &err), rk_image_alloc(&ol, 32, 32, 1, &err);
    for (int i = 0; i < 32 * 32; i++) {
        lab.px[i] = (uint8_t)((i % 32) / 5 + (i / 32) / 9);
        memset(im.px + 3 * i, lab.px[i] * 20, 3);
    }
    rk_aug_trace tr = {.subpolicy = -1, .nops = 2, .ops = {RK_OP_ROTATE, RK_OP_COLOR},
                       .args = {23.0, 1.9}, .flipped = 1,
                       .jitter = rk_aug_jitter_geometry(32, 32, 32, 32, 1.0, 0, 0)};
    uint8_t *tmp = malloc(rk_op_tmp_size(32, 32, 0));
    rk_op_apply(RK_OP_ROTATE, 23.0, &im, NULL, 0, 128, 0, NULL, tmp);
    rk_aug_hflip(&im, NULL, 0);
    uint8_t pad[3] = {0, 0, 0};
    rk_aug_resize_crop(&im, &oi, tr.jitter, pad, NULL, 0);
    ck_assert(rk_augment_labels(&tr, &lab, NULL, 0, &ol, &err) == RK_OK);
    int ignored = 0;
    for (int i = 0; i < 32 * 32; i++) {
        if (ol.px[i] == RK_SEG_IGNORE) {
            ck_assert(oi.px[3 * i] == 128); /* what the rotation uncovered */
            ignored++;
        } else {
            ck_assert_int_eq(oi.px[3 * i], ol.px[i] * 20);
        }
    }
    ck_assert(ignored > 0);
    free(tmp);
    rk_image_free(&lab), rk_image_free(&im), rk_image_free(&oi), rk_image_free(&ol);
}
END_TEST

Suite *suite_segment(void)
{
    Suite *s = suite_create("segment");
    TCase *tc = tcase_create("segment");
    tcase_set_timeout(tc, 120); /* dataset builds: seconds each on a loaded machine, more under ASan */
    tcase_add_checked_fixture(tc, fx_tmp_setup, fx_tmp_teardown);
    tcase_add_test(tc, bilinear_upsampling_backward_matches_finite_differences);
    tcase_add_test(tc, label_maps_are_read_by_index_or_value_and_colour_ones_refused);
    tcase_add_test(tc, a_non_finite_segmenter_is_a_diverged_model_at_evaluation);
    tcase_add_test(tc, label_maps_are_added_in_place_to_a_dataset_built_before_them);
    tcase_add_test(tc, pixel_cross_entropy_backward_matches_finite_differences_and_skips_ignored_pixels);
    tcase_add_test(tc, segmentation_loss_equals_pytorch_upsample_and_cross_entropy);
    tcase_add_test(tc, segmentation_loss_leaves_channels_beyond_the_classes_without_gradient);
    tcase_add_test(tc, miou_averages_the_classes_present_in_ground_truth_or_prediction);
    tcase_add_test(tc, miou_accumulates_one_confusion_matrix_over_the_set);
    tcase_add_test(tc, miou_equals_an_independent_numpy_implementation_on_random_label_maps);
    tcase_add_test(tc, scene_labels_agree_with_the_boxes);
    tcase_add_test(tc, built_scenes_carry_label_maps_that_load_as_class_indices);
    tcase_add_test(tc, label_maps_are_part_of_a_datasets_fingerprint);
    tcase_add_test(tc, labels_follow_the_images_flip_and_scale_jitter);
    tcase_add_test(tc, labels_follow_a_traced_rotation_and_uncovered_pixels_are_ignored);
    suite_add_tcase(s, tc);
    return s;
}
