/* Augmentation: geometric ops keep boxes around their objects, colour ops at their identity
 * arguments change nothing, each policy S1..S4 applies exactly its ops, the box rule,
 * determinism by (seed, epoch, index), policy parsing and its errors, and the drawing
 * helpers.
 *
 * Scenes are solid rectangles of distinct pure colours on black: geometric ops sample the
 * nearest pixel, so an object's pixels keep their exact colour and can be found again. */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rethink/augment.h"
#include "rethink/draw.h"

#define POLICIES RK_SOURCE_DIR "/experiments/augment.ini"

/* Box tolerances, in pixels. A pixel counts as the object's when its centre maps inside the
 * object, so its cell may stick out of the exact transformed box by half a pixel
 * (ENCLOSE_TOL); the box may be looser than the pixels by at most the distance from a
 * sharp transformed corner to the nearest pixel centre inside the object (TIGHT_TOL). */
#define ENCLOSE_TOL 0.5
#define TIGHT_TOL 1.5

static const uint8_t OBJ[3][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}};

typedef struct scene {
    rk_image im;
    rk_box b[3];
    size_t n;
} scene;

/* W x H black image with n solid rectangles (x, y, w, h in whole pixels), colours OBJ[i]. */
static scene make_scene(int W, int H, const int (*r)[4], size_t n)
{
    scene s = {.n = n};
    ck_assert_int_eq(rk_image_alloc(&s.im, W, H, 3, NULL), RK_OK);
    for (size_t i = 0; i < n; i++) {
        for (int y = r[i][1]; y < r[i][1] + r[i][3]; y++)
            for (int x = r[i][0]; x < r[i][0] + r[i][2]; x++)
                memcpy(s.im.px + ((size_t)y * W + x) * 3, OBJ[i], 3);
        s.b[i] = (rk_box){r[i][0], r[i][1], r[i][2], r[i][3], (int)i, 1};
    }
    return s;
}

/* Bounding box (continuous coordinates) of the pixels of exactly `col`; 0 if none. */
static int pixel_box(const rk_image *im, const uint8_t col[3], double out[4])
{
    int x0 = im->w, y0 = im->h, x1 = -1, y1 = -1;
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++)
            if (!memcmp(im->px + ((size_t)y * im->w + x) * 3, col, 3)) {
                x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
                y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
            }
    if (x1 < 0) return 0;
    out[0] = x0, out[1] = y0, out[2] = x1 + 1, out[3] = y1 + 1;
    return 1;
}

/* The box encloses the object's pixels (within enc) and is no looser than tight. */
static void check_box_fits(const rk_image *im, const rk_box *b, const uint8_t col[3],
                           double enc, double tight, const char *what)
{
    double p[4];
    ck_assert_msg(pixel_box(im, col, p), "%s: object vanished", what);
    double bx[4] = {b->x, b->y, b->x + b->w, b->y + b->h};
    ck_assert_msg(bx[0] <= p[0] + enc && bx[1] <= p[1] + enc && bx[2] >= p[2] - enc &&
                      bx[3] >= p[3] - enc,
                  "%s: box (%.2f %.2f %.2f %.2f) does not enclose pixels (%.0f %.0f %.0f %.0f)",
                  what, bx[0], bx[1], bx[2], bx[3], p[0], p[1], p[2], p[3]);
    ck_assert_msg(bx[0] >= p[0] - tight && bx[1] >= p[1] - tight && bx[2] <= p[2] + tight &&
                      bx[3] <= p[3] + tight,
                  "%s: box (%.2f %.2f %.2f %.2f) looser than %.1f px around pixels (%.0f %.0f "
                  "%.0f %.0f)",
                  what, bx[0], bx[1], bx[2], bx[3], tight, p[0], p[1], p[2], p[3]);
}

static void apply(rk_op op, double arg, scene *s)
{
    uint8_t *tmp = malloc(rk_op_tmp_size(s->im.w, s->im.h, s->n));
    rk_rng r;
    rk_rng_init(&r, 1, 2, 3);
    rk_op_apply(op, arg, &s->im, s->b, s->n, 128, 1.0, &r, tmp);
    free(tmp);
}

/* Every geometric op, both signs, at level 10 and 15: boxes still fit their objects. */
static void check_geometric(rk_op op)
{
    static const int rects[3][4] = {{8, 10, 14, 9}, {36, 30, 10, 20}, {14, 54, 20, 8}};
    rk_op_consts c = rk_opset_consts(RK_OPSET_AUTOAUGMENT_V0);
    for (int level = 5; level <= 15; level += 5)
        for (int sign = -1; sign <= 1; sign += 2) {
            scene s = make_scene(64, 64, rects, 3);
            double arg = sign * rk_op_arg(op, level, RK_LEVELS_TF, &c, 64 / 640.0);
            apply(op, arg, &s);
            for (size_t i = 0; i < s.n; i++) {
                char what[96];
                snprintf(what, sizeof what, "%s(%g) object %zu", rk_op_name(op), arg, i);
                double p[4];
                if (!pixel_box(&s.im, OBJ[i], p)) {
                    ck_assert_msg(s.b[i].w * s.b[i].h < 1.0, "%s: no pixels but box kept", what);
                    continue;
                }
                check_box_fits(&s.im, &s.b[i], OBJ[i], ENCLOSE_TOL, TIGHT_TOL, what);
            }
            rk_image_free(&s.im);
        }
}

START_TEST(test_rotate_box_fits_object) { check_geometric(RK_OP_ROTATE); }
END_TEST

START_TEST(test_shear_x_box_fits_object) { check_geometric(RK_OP_SHEAR_X); }
END_TEST

START_TEST(test_shear_y_box_fits_object) { check_geometric(RK_OP_SHEAR_Y); }
END_TEST

START_TEST(test_translate_x_box_fits_object) { check_geometric(RK_OP_TRANSLATE_X); }
END_TEST

START_TEST(test_translate_y_box_fits_object) { check_geometric(RK_OP_TRANSLATE_Y); }
END_TEST

/* An object pushed partly out of the image: the box is clipped to the image, still fits the
 * visible pixels, and its visible fraction says how much is left. */
START_TEST(test_translate_clips_box_and_tracks_visible_fraction)
{
    static const int rect[1][4] = {{40, 20, 20, 10}};
    scene s = make_scene(64, 64, rect, 1);
    apply(RK_OP_TRANSLATE_X, 14, &s); /* x 40..60 -> 54..74: 10 of 20 columns stay */
    ck_assert_double_eq_tol(s.b[0].x, 54, 1e-9);
    ck_assert_double_eq_tol(s.b[0].w, 10, 1e-9);
    ck_assert_double_eq_tol(s.b[0].vis, 0.5, 1e-9);
    check_box_fits(&s.im, &s.b[0], OBJ[0], 0, 0, "translate 14");
    rk_image_free(&s.im);
}
END_TEST

START_TEST(test_geometric_op_fills_uncovered_pixels_with_grey)
{
    static const int rect[1][4] = {{0, 0, 64, 64}};
    scene s = make_scene(64, 64, rect, 1);
    apply(RK_OP_TRANSLATE_Y, -10, &s); /* content moves up: the bottom 10 rows are uncovered */
    for (int x = 0; x < 64; x++) {
        const uint8_t *p = s.im.px + ((size_t)60 * 64 + x) * 3;
        ck_assert(p[0] == 128 && p[1] == 128 && p[2] == 128);
        ck_assert(!memcmp(s.im.px + ((size_t)50 * 64 + x) * 3, OBJ[0], 3));
    }
    rk_image_free(&s.im);
}
END_TEST

START_TEST(test_flip_twice_is_identity)
{
    static const int rects[2][4] = {{3, 5, 10, 7}, {30, 40, 21, 9}};
    scene s = make_scene(61, 64, rects, 2); /* odd width: the middle column stays */
    rk_image orig;
    rk_image_alloc(&orig, 61, 64, 3, NULL);
    memcpy(orig.px, s.im.px, (size_t)61 * 64 * 3);
    rk_box ob[2] = {s.b[0], s.b[1]};
    rk_aug_hflip(&s.im, s.b, 2);
    ck_assert(memcmp(orig.px, s.im.px, (size_t)61 * 64 * 3) != 0);
    rk_aug_hflip(&s.im, s.b, 2);
    ck_assert(!memcmp(orig.px, s.im.px, (size_t)61 * 64 * 3));
    ck_assert(!memcmp(ob, s.b, sizeof ob));
    rk_image_free(&orig), rk_image_free(&s.im);
}
END_TEST

START_TEST(test_flip_moves_box_with_object)
{
    static const int rect[1][4] = {{3, 5, 10, 7}};
    scene s = make_scene(64, 64, rect, 1);
    rk_aug_hflip(&s.im, s.b, 1);
    ck_assert_double_eq(s.b[0].x, 64 - 13);
    check_box_fits(&s.im, &s.b[0], OBJ[0], 0, 0, "flip");
    rk_image_free(&s.im);
}
END_TEST

/* Resize + crop + pad: white objects on black, pad blue; a pixel belongs to the object when
 * its red channel is at least half lit, i.e. its centre samples mostly object (bilinear
 * blends edge pixels). */
START_TEST(test_scale_jitter_box_fits_object)
{
    static const int rects[1][4] = {{10, 12, 30, 20}};
    static const uint8_t pad[3] = {0, 0, 200};
    const double scales[] = {0.5, 0.8, 1.0, 1.3, 2.0};
    for (size_t k = 0; k < 5; k++)
        for (int u = 0; u < 3; u++) {
            scene s = make_scene(80, 56, rects, 1);
            for (size_t i = 0; i < (size_t)80 * 56 * 3; i++) s.im.px[i] = s.im.px[i] ? 255 : 0;
            rk_image out;
            rk_image_alloc(&out, 64, 64, 3, NULL);
            rk_jitter j = rk_aug_jitter_geometry(80, 56, 64, 64, scales[k], u / 2.5, u / 3.0);
            rk_aug_resize_crop(&s.im, &out, j, pad, s.b, 1);
            for (size_t i = 0; i < (size_t)64 * 64; i++) {
                uint8_t *p = out.px + 3 * i;
                p[0] = p[1] = p[2] = p[0] >= 128 ? 255 : 0;
            }
            static const uint8_t white[3] = {255, 255, 255};
            char what[64];
            snprintf(what, sizeof what, "scale %.1f offset %d", scales[k], u);
            check_box_fits(&out, &s.b[0], white, 1.0, 1.0, what);
            rk_image_free(&out), rk_image_free(&s.im);
        }
}
END_TEST

START_TEST(test_scale_jitter_geometry_follows_reference)
{
    /* 80x56 into 64x64 at s = 1.5: target 96x96, scale min(96/56, 96/80) = 1.2 -> 96x67;
     * offsets floor((96-64) * 0.5) = 16 and floor((67-64) * 0.99) = 2. */
    rk_jitter j = rk_aug_jitter_geometry(80, 56, 64, 64, 1.5, 0.5, 0.99);
    ck_assert_int_eq(j.rw, 96);
    ck_assert_int_eq(j.rh, 67);
    ck_assert_int_eq(j.ox, 16);
    ck_assert_int_eq(j.oy, 2);
    /* smaller than the output: no offset, the rest is padding */
    j = rk_aug_jitter_geometry(64, 64, 64, 64, 0.5, 0.9, 0.9);
    ck_assert_int_eq(j.rw, 32);
    ck_assert_int_eq(j.ox, 0);
}
END_TEST

START_TEST(test_scale_jitter_pads_bottom_right)
{
    static const int rect[1][4] = {{0, 0, 64, 64}};
    static const uint8_t pad[3] = {124, 116, 104};
    scene s = make_scene(64, 64, rect, 1);
    rk_image out;
    rk_image_alloc(&out, 64, 64, 3, NULL);
    rk_aug_resize_crop(&s.im, &out, rk_aug_jitter_geometry(64, 64, 64, 64, 0.5, 0, 0), pad, s.b, 1);
    ck_assert(!memcmp(out.px, OBJ[0], 3));                               /* top-left: image */
    ck_assert(!memcmp(out.px + ((size_t)40 * 64 + 40) * 3, pad, 3));     /* bottom-right: pad */
    ck_assert_double_eq_tol(s.b[0].w, 32, 1e-9);
    rk_image_free(&out), rk_image_free(&s.im);
}
END_TEST

/* A textured image, so that every colour op has something to change. */
static rk_image texture(void)
{
    rk_image im;
    rk_image_alloc(&im, 32, 24, 3, NULL);
    rk_rng r;
    rk_rng_init(&r, 5, 0, 0);
    for (size_t i = 0; i < (size_t)32 * 24 * 3; i++)
        im.px[i] = (uint8_t)(30 + rk_rng_u64(&r) % 180);
    return im;
}

static int changes_image(rk_op op, double arg)
{
    rk_image a = texture(), b = texture();
    rk_box box = {4, 4, 10, 10, 0, 1};
    uint8_t *tmp = malloc(rk_op_tmp_size(32, 24, 1));
    rk_rng r;
    rk_rng_init(&r, 1, 0, 0);
    rk_op_apply(op, arg, &b, &box, 1, 128, 1.0, &r, tmp);
    int changed = memcmp(a.px, b.px, (size_t)32 * 24 * 3) != 0;
    free(tmp), rk_image_free(&a), rk_image_free(&b);
    return changed;
}

static const rk_op MAGNITUDE_OPS[] = {RK_OP_ROTATE,     RK_OP_SOLARIZE,    RK_OP_COLOR,
                                      RK_OP_POSTERIZE,  RK_OP_CONTRAST,    RK_OP_BRIGHTNESS,
                                      RK_OP_SHARPNESS,  RK_OP_SHEAR_X,     RK_OP_SHEAR_Y,
                                      RK_OP_TRANSLATE_X, RK_OP_TRANSLATE_Y, RK_OP_CUTOUT,
                                      RK_OP_TRANSLATE_Y_ONLY_BBOXES};

START_TEST(test_increasing_levels_magnitude_zero_changes_nothing)
{
    rk_op_consts c = rk_opset_consts(RK_OPSET_RANDAUGMENT);
    for (size_t i = 0; i < sizeof MAGNITUDE_OPS / sizeof *MAGNITUDE_OPS; i++) {
        rk_op op = MAGNITUDE_OPS[i];
        ck_assert_msg(!changes_image(op, rk_op_arg(op, 0, RK_LEVELS_INCREASING, &c, 0.1)),
                      "%s at level 0 changed the image", rk_op_name(op));
        /* ... and the op does something at level 10, so the check above can fail */
        ck_assert_msg(changes_image(op, rk_op_arg(op, 10, RK_LEVELS_INCREASING, &c, 1.0)),
                      "%s at level 10 changed nothing", rk_op_name(op));
    }
}
END_TEST

/* Under the reference's mapping the identity enhance factor is level 5, and level 0 of the
 * geometric ops and Cutout is the identity. */
START_TEST(test_tf_levels_identity_points)
{
    rk_op_consts c = rk_opset_consts(RK_OPSET_AUTOAUGMENT_V0);
    const rk_op enh[] = {RK_OP_COLOR, RK_OP_CONTRAST, RK_OP_BRIGHTNESS, RK_OP_SHARPNESS};
    for (int i = 0; i < 4; i++) {
        ck_assert_double_eq_tol(rk_op_arg(enh[i], 5, RK_LEVELS_TF, &c, 0.1), 1.0, 1e-12);
        ck_assert_msg(!changes_image(enh[i], 1.0), "%s(1.0) changed the image", rk_op_name(enh[i]));
    }
    const rk_op geo[] = {RK_OP_ROTATE, RK_OP_SHEAR_X, RK_OP_SHEAR_Y, RK_OP_TRANSLATE_X,
                         RK_OP_TRANSLATE_Y, RK_OP_CUTOUT, RK_OP_TRANSLATE_Y_ONLY_BBOXES};
    for (int i = 0; i < 7; i++)
        ck_assert_msg(!changes_image(geo[i], rk_op_arg(geo[i], 0, RK_LEVELS_TF, &c, 0.1)),
                      "%s at level 0 changed the image", rk_op_name(geo[i]));
    ck_assert(!changes_image(RK_OP_POSTERIZE, 8));
    ck_assert(!changes_image(RK_OP_SOLARIZE, 256));
    ck_assert(!changes_image(RK_OP_IDENTITY, 0));
}
END_TEST

START_TEST(test_level_mappings_match_reference)
{
    rk_op_consts aa = rk_opset_consts(RK_OPSET_AUTOAUGMENT_V0);
    rk_op_consts ra = rk_opset_consts(RK_OPSET_RANDAUGMENT);
    double s64 = 64 / 640.0;
    ck_assert_double_eq_tol(rk_op_arg(RK_OP_ROTATE, 10, RK_LEVELS_TF, &aa, s64), 30, 1e-12);
    ck_assert_double_eq_tol(rk_op_arg(RK_OP_ROTATE, 15, RK_LEVELS_TF, &aa, s64), 45, 1e-12);
    ck_assert_double_eq_tol(rk_op_arg(RK_OP_SHEAR_X, 10, RK_LEVELS_TF, &aa, s64), 0.3, 1e-12);
    /* TranslateX_BBox level 4: 4/10 * 250 px at 640 -> 100 px -> 10 px at 64 */
    ck_assert_double_eq(rk_op_arg(RK_OP_TRANSLATE_X, 4, RK_LEVELS_TF, &aa, s64), 10);
    ck_assert_double_eq(rk_op_arg(RK_OP_TRANSLATE_X, 4, RK_LEVELS_TF, &aa, 1.0), 100);
    /* TranslateY_Only_BBoxes level 6: 6/10 * 120 = 72 px at 640 -> 7.2 -> 7 px at 64 */
    ck_assert_double_eq(rk_op_arg(RK_OP_TRANSLATE_Y_ONLY_BBOXES, 6, RK_LEVELS_TF, &aa, s64), 7);
    /* Cutout level 8: int(8/10 * 100) = 80 px half-size at 640 -> 8 at 64 */
    ck_assert_double_eq(rk_op_arg(RK_OP_CUTOUT, 8, RK_LEVELS_TF, &aa, s64), 8);
    /* RandAugment translate: 100 px at level 10 at 640 -> 10 px at 64 */
    ck_assert_double_eq(rk_op_arg(RK_OP_TRANSLATE_Y, 10, RK_LEVELS_TF, &ra, s64), 10);
    ck_assert_double_eq_tol(rk_op_arg(RK_OP_COLOR, 6, RK_LEVELS_TF, &aa, s64), 1.18, 1e-12);
    ck_assert_double_eq(rk_op_arg(RK_OP_POSTERIZE, 10, RK_LEVELS_TF, &aa, s64), 4);
    ck_assert_double_eq(rk_op_arg(RK_OP_SOLARIZE, 10, RK_LEVELS_TF, &aa, s64), 256);
    ck_assert_double_eq(rk_op_arg(RK_OP_SOLARIZE, 5, RK_LEVELS_TF, &aa, s64), 128);
}
END_TEST

START_TEST(test_equalize_spreads_two_levels_to_extremes)
{
    rk_image im;
    rk_image_alloc(&im, 64, 64, 3, NULL);
    for (size_t i = 0; i < (size_t)64 * 64 * 3; i++) im.px[i] = i < (size_t)64 * 32 * 3 ? 10 : 20;
    uint8_t *tmp = malloc(rk_op_tmp_size(64, 64, 0));
    rk_op_apply(RK_OP_EQUALIZE, 0, &im, NULL, 0, 128, 0, NULL, tmp);
    /* PIL: step = 2048 / 255 = 8; lut[10] = 4 / 8 = 0, lut[20] = (2048 + 4) / 8 -> 255 */
    ck_assert_int_eq(im.px[0], 0);
    ck_assert_int_eq(im.px[(size_t)64 * 64 * 3 - 1], 255);
    free(tmp), rk_image_free(&im);
}
END_TEST

START_TEST(test_autocontrast_stretches_each_channel_to_full_range)
{
    rk_image im = texture(); /* values 30..209 */
    uint8_t *tmp = malloc(rk_op_tmp_size(im.w, im.h, 0));
    rk_op_apply(RK_OP_AUTOCONTRAST, 0, &im, NULL, 0, 128, 0, NULL, tmp);
    for (int c = 0; c < 3; c++) {
        int lo = 255, hi = 0;
        for (size_t i = 0; i < (size_t)im.w * im.h; i++) {
            int v = im.px[3 * i + c];
            lo = v < lo ? v : lo, hi = v > hi ? v : hi;
        }
        ck_assert_int_eq(lo, 0);
        ck_assert_int_eq(hi, 255);
    }
    free(tmp), rk_image_free(&im);
}
END_TEST

/* Contrast blends towards the image's mean grey (PIL; see ops.c on the reference's bug), so
 * factor 0 makes every pixel that mean. */
START_TEST(test_contrast_factor_zero_gives_mean_grey)
{
    rk_image im;
    rk_image_alloc(&im, 16, 16, 3, NULL);
    for (size_t i = 0; i < (size_t)16 * 16 * 3; i++) im.px[i] = (i / 3) % 2 ? 200 : 100;
    uint8_t *tmp = malloc(rk_op_tmp_size(16, 16, 0));
    rk_op_apply(RK_OP_CONTRAST, 0.0, &im, NULL, 0, 128, 0, NULL, tmp);
    for (size_t i = 0; i < (size_t)16 * 16 * 3; i++) ck_assert_int_eq(im.px[i], 150);
    free(tmp), rk_image_free(&im);
}
END_TEST

START_TEST(test_cutout_fills_square_with_grey)
{
    rk_image im;
    rk_image_alloc(&im, 64, 64, 3, NULL);
    uint8_t *tmp = malloc(rk_op_tmp_size(64, 64, 0));
    rk_rng r;
    rk_rng_init(&r, 9, 0, 0);
    rk_op_apply(RK_OP_CUTOUT, 8, &im, NULL, 0, 128, 0, &r, tmp);
    size_t grey = 0;
    for (size_t i = 0; i < (size_t)64 * 64; i++) grey += im.px[3 * i] == 128;
    /* a 16x16 square, less what falls outside the image */
    ck_assert(grey > 0 && grey <= 256);
    free(tmp), rk_image_free(&im);
}
END_TEST

/* TranslateY_Only_BBoxes moves content inside each box only and leaves the boxes where they
 * are. */
START_TEST(test_translate_only_bboxes_moves_content_inside_box_only)
{
    static const int rect[1][4] = {{20, 20, 10, 10}};
    scene s = make_scene(64, 64, rect, 1);
    rk_box big = {16, 16, 20, 24, 0, 1}; /* the object with a margin below it */
    rk_image before;
    rk_image_alloc(&before, 64, 64, 3, NULL);
    memcpy(before.px, s.im.px, (size_t)64 * 64 * 3);
    uint8_t *tmp = malloc(rk_op_tmp_size(64, 64, 1));
    rk_rng r;
    rk_rng_init(&r, 1, 0, 0);
    rk_op_apply(RK_OP_TRANSLATE_Y_ONLY_BBOXES, 5, &s.im, &big, 1, 128, 1.0, &r, tmp);
    double p[4];
    ck_assert(pixel_box(&s.im, OBJ[0], p));
    ck_assert_double_eq(p[1], 25); /* moved down 5 */
    ck_assert_double_eq(p[0], 20);
    ck_assert_double_eq(big.x, 16); /* box unchanged */
    ck_assert_double_eq(big.y, 16);
    /* outside the box nothing changed */
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++)
            if (x < 16 || x >= 36 || y < 16 || y >= 40)
                ck_assert(!memcmp(s.im.px + ((size_t)y * 64 + x) * 3,
                                  before.px + ((size_t)y * 64 + x) * 3, 3));
    /* probability 0: nothing at all */
    memcpy(s.im.px, before.px, (size_t)64 * 64 * 3);
    rk_op_apply(RK_OP_TRANSLATE_Y_ONLY_BBOXES, 5, &s.im, &big, 1, 128, 0.0, &r, tmp);
    ck_assert(!memcmp(s.im.px, before.px, (size_t)64 * 64 * 3));
    free(tmp), rk_image_free(&before), rk_image_free(&s.im);
}
END_TEST

START_TEST(test_box_rule_drops_small_and_mostly_hidden_boxes)
{
    rk_box b[5] = {
        {0, 0, 10, 10, 1, 1.0},  /* kept */
        {0, 0, 0.5, 10, 2, 1.0}, /* too narrow */
        {0, 0, 10, 0.9, 3, 1.0}, /* too low */
        {0, 0, 10, 10, 4, 0.05}, /* 5 % visible */
        {5, 5, 1, 1, 5, 0.1},    /* exactly at both limits: kept */
    };
    size_t n = rk_boxes_filter(b, 5, 1.0, 0.1);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(b[0].cls, 1);
    ck_assert_int_eq(b[1].cls, 5);
}
END_TEST

/* ---- policies ---- */

static rk_policy load(const char *name)
{
    rk_policy p;
    rk_err err = {0};
    ck_assert_msg(rk_policy_load_ini(&p, POLICIES, name, &err) == RK_OK, "%s", err.msg);
    return p;
}

START_TEST(test_shipped_policies_match_paper_table)
{
    rk_policy s1 = load("S1"), s2 = load("S2"), s3 = load("S3"), s4 = load("S4");
    ck_assert(s1.opset == RK_OPSET_NONE && s1.scale_min == 0.8 && s1.scale_max == 1.2);
    ck_assert(s2.opset == RK_OPSET_AUTOAUGMENT_V0 && s2.scale_min == 0.8 && s2.scale_max == 1.2);
    ck_assert(s3.opset == RK_OPSET_AUTOAUGMENT_V0 && s3.scale_min == 0.5 && s3.scale_max == 2.0);
    ck_assert(s4.opset == RK_OPSET_RANDAUGMENT && s4.scale_min == 0.5 && s4.scale_max == 2.0);
    ck_assert(s4.ra_n == 2 && s4.ra_m == 10);
    ck_assert(s1.flip == 0.5 && s2.flip == 0.5 && s3.flip == 0.5 && s4.flip == 0.5);
    ck_assert(s4.levels == RK_LEVELS_TF && s4.ref_size == 640 && s4.fill == 128);
}
END_TEST

/* Runs a policy over many images and checks each image's trace with `check`. */
static void over_images(const rk_policy *p, int count, void (*check)(const rk_aug_trace *, void *),
                        void *ctx)
{
    static const int rects[2][4] = {{8, 10, 14, 9}, {36, 30, 10, 20}};
    scene s = make_scene(64, 64, rects, 2);
    rk_image out;
    rk_image_alloc(&out, 64, 64, 3, NULL);
    rk_box ob[2];
    for (int i = 0; i < count; i++) {
        size_t n;
        rk_aug_trace tr;
        rk_err err = {0};
        ck_assert_msg(rk_augment(p, &s.im, s.b, 2, 7, 0, (uint64_t)i, &out, ob, &n, &tr, &err) ==
                          RK_OK, "%s", err.msg);
        check(&tr, ctx);
    }
    rk_image_free(&out), rk_image_free(&s.im);
}

static void no_ops(const rk_aug_trace *tr, void *ctx)
{
    (void)ctx;
    ck_assert_int_eq(tr->nops, 0);
    ck_assert_int_eq(tr->subpolicy, -1);
}

/* S1 applies only the flip and the crop: its output is exactly resize_crop(maybe flip(in)). */
START_TEST(test_s1_applies_only_flip_and_crop)
{
    rk_policy p = load("S1");
    over_images(&p, 50, no_ops, NULL);
    rk_image in = texture(), out, ref, work;
    rk_image_alloc(&out, 64, 64, 3, NULL);
    rk_image_alloc(&ref, 64, 64, 3, NULL);
    rk_image_alloc(&work, in.w, in.h, 3, NULL);
    int flips = 0;
    for (uint64_t i = 0; i < 20; i++) {
        rk_box b = {2, 3, 10, 8, 0, 1}, ob, rb = b;
        size_t n;
        rk_aug_trace tr;
        ck_assert_int_eq(rk_augment(&p, &in, &b, 1, 3, 1, i, &out, &ob, &n, &tr, NULL), RK_OK);
        memcpy(work.px, in.px, (size_t)in.w * in.h * 3);
        if (tr.flipped) rk_aug_hflip(&work, &rb, 1), flips++;
        rk_aug_resize_crop(&work, &ref, tr.jitter, p.pad, &rb, 1);
        ck_assert(!memcmp(out.px, ref.px, (size_t)64 * 64 * 3));
        ck_assert(tr.scale >= 0.8 && tr.scale < 1.2);
    }
    ck_assert(flips > 0 && flips < 20);
    rk_image_free(&in), rk_image_free(&out), rk_image_free(&ref), rk_image_free(&work);
}
END_TEST

typedef struct v0_stats {
    int seen[RK_AA_V0_SUBPOLICIES];
    int sharpness;
} v0_stats;

/* Every applied op belongs to the drawn v0 sub-policy, in its order. */
static void v0_ops(const rk_aug_trace *tr, void *ctx)
{
    v0_stats *st = ctx;
    ck_assert(tr->subpolicy >= 0 && tr->subpolicy < RK_AA_V0_SUBPOLICIES);
    st->seen[tr->subpolicy]++;
    ck_assert(tr->nops <= 2);
    int k = 0;
    for (int o = 0; o < tr->nops; o++) {
        while (k < 2 && rk_autoaugment_v0[tr->subpolicy][k].op != tr->ops[o]) k++;
        ck_assert_msg(k < 2, "op %s is not in sub-policy %d", rk_op_name(tr->ops[o]),
                      tr->subpolicy);
        k++;
        st->sharpness += tr->ops[o] == RK_OP_SHARPNESS;
    }
    /* ShearY_BBox has probability 1.0 and the _Only_BBoxes op always runs */
    if (tr->subpolicy == 3) ck_assert_int_eq(tr->nops, 2);
}

START_TEST(test_s2_s3_choose_among_v0_subpolicies)
{
    const char *names[2] = {"S2", "S3"};
    for (int k = 0; k < 2; k++) {
        rk_policy p = load(names[k]);
        v0_stats st = {0};
        over_images(&p, 300, v0_ops, &st);
        for (int s = 0; s < RK_AA_V0_SUBPOLICIES; s++)
            ck_assert_msg(st.seen[s] > 30, "%s: sub-policy %d drawn %d times in 300", names[k], s,
                          st.seen[s]);
        ck_assert_int_eq(st.sharpness, 0); /* probability 0.0 in v0 */
    }
}
END_TEST

static void ra_ops(const rk_aug_trace *tr, void *ctx)
{
    const rk_policy *p = ctx;
    rk_op_consts c = rk_opset_consts(RK_OPSET_RANDAUGMENT);
    ck_assert_int_eq(tr->subpolicy, -1);
    ck_assert_int_eq(tr->nops, p->ra_n);
    for (int o = 0; o < tr->nops; o++) {
        ck_assert((int)tr->ops[o] < RK_RANDAUGMENT_OPS);
        double want = rk_op_arg(tr->ops[o], p->ra_m, p->levels, &c, 64 / 640.0);
        ck_assert_msg(fabs(fabs(tr->args[o]) - want) < 1e-12, "%s: arg %g, want +-%g",
                      rk_op_name(tr->ops[o]), tr->args[o], want);
    }
}

START_TEST(test_s4_applies_n_randaugment_ops_at_magnitude_m)
{
    rk_policy p = load("S4");
    over_images(&p, 200, ra_ops, &p);
}
END_TEST

static void run(const rk_policy *p, uint64_t seed, uint64_t epoch, uint64_t index, rk_image *out,
                rk_box *ob, size_t *n)
{
    static const int rects[3][4] = {{8, 10, 14, 9}, {36, 30, 10, 20}, {14, 54, 20, 8}};
    scene s = make_scene(64, 64, rects, 3);
    ck_assert_int_eq(rk_augment(p, &s.im, s.b, 3, seed, epoch, index, out, ob, n, NULL, NULL),
                     RK_OK);
    rk_image_free(&s.im);
}

START_TEST(test_same_key_gives_same_bytes)
{
    const char *names[4] = {"S1", "S2", "S3", "S4"};
    for (int k = 0; k < 4; k++) {
        rk_policy p = load(names[k]);
        rk_image a, b;
        rk_image_alloc(&a, 64, 64, 3, NULL), rk_image_alloc(&b, 64, 64, 3, NULL);
        for (uint64_t i = 0; i < 20; i++) {
            rk_box ba[3], bb[3];
            size_t na, nb;
            run(&p, 11, 2, i, &a, ba, &na);
            run(&p, 11, 2, i, &b, bb, &nb);
            ck_assert(!memcmp(a.px, b.px, (size_t)64 * 64 * 3));
            ck_assert_uint_eq(na, nb);
            ck_assert(!memcmp(ba, bb, na * sizeof *ba));
        }
        rk_image_free(&a), rk_image_free(&b);
    }
}
END_TEST

START_TEST(test_different_index_epoch_or_seed_gives_different_bytes)
{
    rk_policy p = load("S4");
    rk_image a, b;
    rk_image_alloc(&a, 64, 64, 3, NULL), rk_image_alloc(&b, 64, 64, 3, NULL);
    rk_box ba[3], bb[3];
    size_t na, nb;
    run(&p, 11, 2, 5, &a, ba, &na);
    run(&p, 11, 2, 6, &b, bb, &nb);
    ck_assert(memcmp(a.px, b.px, (size_t)64 * 64 * 3) != 0);
    run(&p, 11, 3, 5, &b, bb, &nb);
    ck_assert(memcmp(a.px, b.px, (size_t)64 * 64 * 3) != 0);
    run(&p, 12, 2, 5, &b, bb, &nb);
    ck_assert(memcmp(a.px, b.px, (size_t)64 * 64 * 3) != 0);
    rk_image_free(&a), rk_image_free(&b);
}
END_TEST

/* Augmenting a batch on 2 threads in any order gives what 1 thread gives in order. */
START_TEST(test_result_independent_of_threads_and_order)
{
    rk_policy p = load("S3");
    enum { N = 32 };
    static uint8_t serial[N][64 * 64 * 3], parallel[N][64 * 64 * 3];
    for (int i = 0; i < N; i++) {
        rk_image out = {64, 64, 3, serial[i]};
        rk_box ob[3];
        size_t n;
        run(&p, 5, 1, (uint64_t)i, &out, ob, &n);
    }
#pragma omp parallel for num_threads(2) schedule(dynamic, 1)
    for (int k = 0; k < N; k++) {
        int i = N - 1 - k; /* reverse order */
        rk_image out = {64, 64, 3, parallel[i]};
        rk_box ob[3];
        size_t n;
        static const int rects[3][4] = {{8, 10, 14, 9}, {36, 30, 10, 20}, {14, 54, 20, 8}};
        rk_image in;
        rk_image_alloc(&in, 64, 64, 3, NULL);
        rk_box b[3];
        for (int j = 0; j < 3; j++) {
            for (int y = rects[j][1]; y < rects[j][1] + rects[j][3]; y++)
                for (int x = rects[j][0]; x < rects[j][0] + rects[j][2]; x++)
                    memcpy(in.px + ((size_t)y * 64 + x) * 3, OBJ[j], 3);
            b[j] = (rk_box){rects[j][0], rects[j][1], rects[j][2], rects[j][3], j, 1};
        }
        rk_augment(&p, &in, b, 3, 5, 1, (uint64_t)i, &out, ob, &n, NULL, NULL);
        rk_image_free(&in);
    }
    ck_assert(!memcmp(serial, parallel, sizeof serial));
}
END_TEST

/* Through the whole pipeline, boxes still fit their objects (S3/S4 geometric ops + flip +
 * scale): white objects, lit-pixel test with the resize tolerance. */
START_TEST(test_pipeline_boxes_fit_objects)
{
    const char *names[2] = {"S3", "S4"};
    static const int rects[2][4] = {{8, 10, 14, 12}, {36, 30, 14, 20}};
    for (int k = 0; k < 2; k++) {
        rk_policy p = load(names[k]);
        p.pad[0] = p.pad[1] = p.pad[2] = 0;
        for (uint64_t i = 0; i < 60; i++) {
            scene s = make_scene(64, 64, rects, 1);
            rk_image out;
            rk_image_alloc(&out, 64, 64, 3, NULL);
            rk_box ob[1];
            size_t n;
            rk_aug_trace tr;
            ck_assert_int_eq(rk_augment(&p, &s.im, s.b, 1, 1, 0, i, &out, ob, &n, &tr, NULL),
                             RK_OK);
            /* red object; fill 128 grey and colour ops may tint the rest, so find the object
             * by "red clearly dominant" */
            int any = 0;
            for (size_t j = 0; j < (size_t)64 * 64; j++) {
                uint8_t *q = out.px + 3 * j;
                int red = q[0] >= 128 && q[0] > q[1] + 64 && q[0] > q[2] + 64;
                q[0] = q[1] = q[2] = red ? 255 : 0;
                any |= red;
            }
            static const uint8_t white[3] = {255, 255, 255};
            int colour_op = 0;
            for (int o = 0; o < tr.nops; o++)
                colour_op |= !rk_op_is_geometric(tr.ops[o]) && tr.ops[o] != RK_OP_IDENTITY;
            if (colour_op || !any || n == 0) {
                rk_image_free(&out), rk_image_free(&s.im);
                continue; /* colour ops change what "red" looks like: geometry only here */
            }
            char what[64];
            snprintf(what, sizeof what, "%s image %llu", names[k], (unsigned long long)i);
            check_box_fits(&out, &ob[0], white, 1.5, 2.5, what);
            rk_image_free(&out), rk_image_free(&s.im);
        }
    }
}
END_TEST

/* An object pushed out of the picture by the scale crop loses its box. */
START_TEST(test_pipeline_drops_box_cut_off_by_crop)
{
    rk_policy p = load("S1");
    p.scale_min = p.scale_max = 2.0; /* 64 -> 128, crop 64: three quarters of the image go */
    static const int rect[1][4] = {{0, 0, 4, 4}};
    scene s = make_scene(64, 64, rect, 1);
    rk_image out;
    rk_image_alloc(&out, 64, 64, 3, NULL);
    int dropped = 0, kept = 0;
    for (uint64_t i = 0; i < 40; i++) {
        rk_box ob[1];
        size_t n;
        rk_aug_trace tr;
        rk_augment(&p, &s.im, s.b, 1, 1, 0, i, &out, ob, &n, &tr, NULL);
        /* the box (8x8 after scaling) survives only if the crop window reaches it */
        double x0 = tr.flipped ? 128 - 8 : 0;
        int inside = x0 + 8 > tr.jitter.ox && x0 < tr.jitter.ox + 64 && 8 > tr.jitter.oy;
        ck_assert_uint_eq(n, (size_t)inside);
        dropped += !inside, kept += inside;
    }
    ck_assert(dropped > 0 && kept > 0);
    rk_image_free(&out), rk_image_free(&s.im);
}
END_TEST

/* ---- policy parsing errors ---- */

static int parse_err(const rk_kv *kv, size_t n, rk_err *err)
{
    rk_policy p;
    return rk_policy_parse(&p, "T", kv, n, err);
}

#define KV(k, v, line) {k, v, "exp.ini", line}
#define BASE KV("flip", "0.5", 2), KV("scale", "0.8, 1.2", 3), KV("pad", "0", 4), \
             KV("min_size", "1", 5), KV("min_visible", "0.1", 6)

START_TEST(test_parse_accepts_complete_policy)
{
    rk_kv kv[] = {BASE, KV("randaugment", "2, 15", 7), KV("levels", "increasing", 8)};
    rk_policy p;
    rk_err err = {0};
    ck_assert_msg(rk_policy_parse(&p, "T", kv, 7, &err) == RK_OK, "%s", err.msg);
    ck_assert(p.ra_n == 2 && p.ra_m == 15 && p.levels == RK_LEVELS_INCREASING);
}
END_TEST

START_TEST(test_parse_unknown_key_names_file_line_and_key)
{
    rk_kv kv[] = {BASE, KV("flipp", "0.5", 9)};
    rk_err err = {0};
    ck_assert_int_eq(parse_err(kv, 6, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "exp.ini:9") && strstr(err.msg, "'flipp'") &&
                      strstr(err.msg, "[augment.T]"),
                  "%s", err.msg);
}
END_TEST

START_TEST(test_parse_missing_key_names_key)
{
    rk_kv kv[] = {KV("flip", "0.5", 2), KV("scale", "0.8, 1.2", 3), KV("pad", "0", 4),
                  KV("min_size", "1", 5)};
    rk_err err = {0};
    ck_assert_int_eq(parse_err(kv, 4, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "missing key 'min_visible'") && strstr(err.msg, "exp.ini"),
                  "%s", err.msg);
}
END_TEST

START_TEST(test_parse_out_of_range_values_name_key_and_line)
{
    const char *bad[][2] = {
        {"flip", "1.5"},         {"scale", "1.2, 0.8"},     {"scale", "0, 1"},
        {"scale", "0.8"},        {"pad", "256"},            {"pad", "1, 2"},
        {"min_visible", "-0.1"}, {"randaugment", "0, 10"},  {"randaugment", "2, 31"},
        {"randaugment", "2.5, 10"}, {"autoaugment", "v1"},  {"levels", "linear"},
        {"fill", "12x"},         {"ref_size", "0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rk_kv kv[] = {BASE, KV(bad[i][0], bad[i][1], 12)};
        /* replace the base key of the same name, if any */
        size_t n = 6;
        for (size_t j = 0; j < 5; j++)
            if (!strcmp(kv[j].key, bad[i][0])) kv[j] = kv[5], n = 5;
        rk_err err = {0};
        ck_assert_int_eq(parse_err(kv, n, &err), RK_EINVAL);
        char want[64];
        snprintf(want, sizeof want, "key '%s'", bad[i][0]);
        ck_assert_msg(strstr(err.msg, want) && strstr(err.msg, "exp.ini:12") &&
                          strstr(err.msg, bad[i][1]),
                      "%s = %s: %s", bad[i][0], bad[i][1], err.msg);
    }
}
END_TEST

START_TEST(test_parse_rejects_repeated_key_and_two_op_policies)
{
    rk_kv kv[] = {BASE, KV("flip", "0.4", 9)};
    rk_err err = {0};
    ck_assert_int_eq(parse_err(kv, 6, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "'flip' given twice") && strstr(err.msg, "line 2"), "%s",
                  err.msg);
    rk_kv kv2[] = {BASE, KV("autoaugment", "v0", 7), KV("randaugment", "2, 10", 8)};
    ck_assert_int_eq(parse_err(kv2, 7, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "autoaugment") && strstr(err.msg, "randaugment"), "%s", err.msg);
}
END_TEST

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/rk_aug_test_%d.ini", (int)getpid());
    FILE *f = fopen(path, "w");
    ck_assert(f != NULL);
    fputs(text, f);
    fclose(f);
    return path;
}

START_TEST(test_ini_error_names_file_line_and_key)
{
    char *path = write_tmp("; comment\n[augment.A]\nflip = 0.5\nscale = 0.8, 1.2\n"
                           "pad = 0\nmin_size = 1\nmin_visible = 2\n[augment.B]\nflip = 0\n");
    rk_policy p;
    rk_err err = {0};
    ck_assert_int_eq(rk_policy_load_ini(&p, path, "A", &err), RK_EINVAL);
    char want[128];
    snprintf(want, sizeof want, "%s:7: [augment.A] key 'min_visible'", path);
    ck_assert_msg(strstr(err.msg, want), "%s", err.msg);
    ck_assert_int_eq(rk_policy_load_ini(&p, path, "C", &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "no section [augment.C]") && strstr(err.msg, "A, B"), "%s",
                  err.msg);
    ck_assert_int_eq(rk_policy_load_ini(&p, "/nonexistent/x.ini", "A", &err), RK_EIO);
    ck_assert_msg(strstr(err.msg, "/nonexistent/x.ini"), "%s", err.msg);
    path = write_tmp("[augment.A]\nthis line is not ini\n");
    ck_assert_int_eq(rk_policy_load_ini(&p, path, "A", &err), RK_EFORMAT);
    snprintf(want, sizeof want, "%s:2:", path);
    ck_assert_msg(strstr(err.msg, want), "%s", err.msg);
    unlink(path);
}
END_TEST

START_TEST(test_augment_rejects_gray_input)
{
    rk_policy p = load("S1");
    rk_image g, out;
    rk_image_alloc(&g, 8, 8, 1, NULL), rk_image_alloc(&out, 8, 8, 3, NULL);
    size_t n;
    rk_err err = {0};
    ck_assert_int_eq(rk_augment(&p, &g, NULL, 0, 1, 0, 0, &out, NULL, &n, NULL, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "RGB"), "%s", err.msg);
    rk_image_free(&g), rk_image_free(&out);
}
END_TEST

/* ---- drawing ---- */

START_TEST(test_draw_text_stays_in_its_cell)
{
    rk_image im;
    rk_image_alloc(&im, 40, 20, 3, NULL);
    static const uint8_t white[3] = {255, 255, 255};
    int w = rk_draw_text(&im, 2, 3, "Ab1", 1, white);
    ck_assert_int_eq(w, 3 * RK_FONT_W);
    size_t lit = 0;
    for (int y = 0; y < 20; y++)
        for (int x = 0; x < 40; x++)
            if (im.px[((size_t)y * 40 + x) * 3]) {
                lit++;
                ck_assert(x >= 2 && x < 2 + w && y >= 3 && y < 3 + 7);
            }
    ck_assert(lit > 20);
    rk_image_free(&im);
}
END_TEST

START_TEST(test_tile_places_images_on_grid)
{
    rk_image ims[3];
    for (int i = 0; i < 3; i++) {
        rk_image_alloc(&ims[i], 4, 3, 3, NULL);
        memset(ims[i].px, 50 * (i + 1), 4 * 3 * 3);
    }
    static const uint8_t bg[3] = {1, 1, 1};
    rk_image g;
    ck_assert_int_eq(rk_image_tile(&g, ims, 3, 2, 1, bg, NULL), RK_OK);
    ck_assert_int_eq(g.w, 1 + 2 * (4 + 1));
    ck_assert_int_eq(g.h, 1 + 2 * (3 + 1));
    ck_assert_int_eq(g.px[0], 1);                              /* padding */
    ck_assert_int_eq(g.px[((size_t)1 * g.w + 1) * 3], 50);     /* image 0 at (1, 1) */
    ck_assert_int_eq(g.px[((size_t)1 * g.w + 6) * 3], 100);    /* image 1 at (6, 1) */
    ck_assert_int_eq(g.px[((size_t)5 * g.w + 1) * 3], 150);    /* image 2 at (1, 5) */
    ck_assert_int_eq(g.px[((size_t)5 * g.w + 6) * 3], 1);      /* empty cell */
    for (int i = 0; i < 3; i++) rk_image_free(&ims[i]);
    rk_image_free(&g);
}
END_TEST

Suite *suite_augment(void)
{
    Suite *s = suite_create("augment");
    TCase *t = tcase_create("ops");
    tcase_add_test(t, test_rotate_box_fits_object);
    tcase_add_test(t, test_shear_x_box_fits_object);
    tcase_add_test(t, test_shear_y_box_fits_object);
    tcase_add_test(t, test_translate_x_box_fits_object);
    tcase_add_test(t, test_translate_y_box_fits_object);
    tcase_add_test(t, test_translate_clips_box_and_tracks_visible_fraction);
    tcase_add_test(t, test_geometric_op_fills_uncovered_pixels_with_grey);
    tcase_add_test(t, test_flip_twice_is_identity);
    tcase_add_test(t, test_flip_moves_box_with_object);
    tcase_add_test(t, test_scale_jitter_box_fits_object);
    tcase_add_test(t, test_scale_jitter_geometry_follows_reference);
    tcase_add_test(t, test_scale_jitter_pads_bottom_right);
    tcase_add_test(t, test_increasing_levels_magnitude_zero_changes_nothing);
    tcase_add_test(t, test_tf_levels_identity_points);
    tcase_add_test(t, test_level_mappings_match_reference);
    tcase_add_test(t, test_equalize_spreads_two_levels_to_extremes);
    tcase_add_test(t, test_autocontrast_stretches_each_channel_to_full_range);
    tcase_add_test(t, test_contrast_factor_zero_gives_mean_grey);
    tcase_add_test(t, test_cutout_fills_square_with_grey);
    tcase_add_test(t, test_translate_only_bboxes_moves_content_inside_box_only);
    tcase_add_test(t, test_box_rule_drops_small_and_mostly_hidden_boxes);
    suite_add_tcase(s, t);
    TCase *p = tcase_create("policies");
    tcase_add_test(p, test_shipped_policies_match_paper_table);
    tcase_add_test(p, test_s1_applies_only_flip_and_crop);
    tcase_add_test(p, test_s2_s3_choose_among_v0_subpolicies);
    tcase_add_test(p, test_s4_applies_n_randaugment_ops_at_magnitude_m);
    tcase_add_test(p, test_same_key_gives_same_bytes);
    tcase_add_test(p, test_different_index_epoch_or_seed_gives_different_bytes);
    tcase_add_test(p, test_result_independent_of_threads_and_order);
    tcase_add_test(p, test_pipeline_boxes_fit_objects);
    tcase_add_test(p, test_pipeline_drops_box_cut_off_by_crop);
    tcase_add_test(p, test_parse_accepts_complete_policy);
    tcase_add_test(p, test_parse_unknown_key_names_file_line_and_key);
    tcase_add_test(p, test_parse_missing_key_names_key);
    tcase_add_test(p, test_parse_out_of_range_values_name_key_and_line);
    tcase_add_test(p, test_parse_rejects_repeated_key_and_two_op_policies);
    tcase_add_test(p, test_ini_error_names_file_line_and_key);
    tcase_add_test(p, test_augment_rejects_gray_input);
    suite_add_tcase(s, p);
    TCase *d = tcase_create("draw");
    tcase_add_test(d, test_draw_text_stays_in_its_cell);
    tcase_add_test(d, test_tile_places_images_on_grid);
    suite_add_tcase(s, d);
    return s;
}
