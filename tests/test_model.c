/* CenterNet targets and decoding: the Gaussian radius against CenterNet's reference values,
 * target layout, and decode(encode(boxes)) recovering the boxes, through a letterbox. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rethink/model.h"

START_TEST(gaussian_radius_matches_centernet_reference)
{
    /* Values printed by CenterNet's gaussian_radius((h, w), 0.7) in numpy. */
    ck_assert_float_eq_tol(rk_gaussian_radius(10, 10, 0.7f), 2.7332005f, 1e-5f);
    ck_assert_float_eq_tol(rk_gaussian_radius(3, 5, 0.7f), 1.0302338f, 1e-5f);
    ck_assert_float_eq_tol(rk_gaussian_radius(2, 2, 0.7f), 0.5466401f, 1e-5f);
}
END_TEST

START_TEST(encode_puts_a_unit_peak_size_and_offset_at_the_centre_cell)
{
    enum { C = 3, H = 8, W = 8 };
    float heat[C * H * W], reg[4 * H * W], mask[H * W];
    rk_box b = {.x = 2, .y = 8, .w = 44, .h = 40, .cls = 2}; /* centre (24, 28) px */
    rk_centernet_encode(heat, reg, mask, C, H, W, 8, &b, 1);
    int c = 3 * W + 3; /* 28/8 = 3.5 -> row 3, 24/8 = 3 -> col 3 */
    ck_assert_float_eq(heat[2 * H * W + c], 1.0f);
    ck_assert_float_eq(mask[c], 1.0f);
    ck_assert_float_eq_tol(reg[c], 5.5f, 1e-6f);             /* w in cells */
    ck_assert_float_eq_tol(reg[H * W + c], 5.0f, 1e-6f);     /* h in cells */
    ck_assert_float_eq_tol(reg[2 * H * W + c], 0.0f, 1e-6f); /* x offset */
    ck_assert_float_eq_tol(reg[3 * H * W + c], 0.5f, 1e-6f); /* y offset */
    /* radius of a 5 x 6 cell box is 1 (gaussian_radius(5, 6) = 1.49): 3x3 support */
    ck_assert_int_eq((int)rk_gaussian_radius(5, 6, 0.7f), 1);
    float sum = 0;
    for (int i = 0; i < H * W; i++) sum += mask[i];
    ck_assert_float_eq(sum, 1.0f);
    /* other classes untouched; neighbours of the peak are between 0 and 1 */
    for (int i = 0; i < 2 * H * W; i++) ck_assert_float_eq(heat[i], 0.0f);
    float nb = heat[2 * H * W + c + 1], far = heat[2 * H * W + c + 2];
    ck_assert(nb > 0 && nb < 1);
    ck_assert_float_eq(far, 0.0f);
}
END_TEST

START_TEST(overlapping_gaussians_combine_by_max)
{
    enum { C = 1, H = 8, W = 8 };
    float heat[C * H * W], reg[4 * H * W], mask[H * W], one[C * H * W];
    rk_box b[2] = {{8, 8, 24, 24, 0, 1}, {16, 8, 24, 24, 0, 1}};
    rk_centernet_encode(one, reg, mask, C, H, W, 8, b, 1);
    rk_centernet_encode(heat, reg, mask, C, H, W, 8, b, 2);
    for (int i = 0; i < H * W; i++) ck_assert(heat[i] >= one[i]);
    ck_assert_float_eq(heat[2 * W + 2], 1.0f);
    ck_assert_float_eq(heat[2 * W + 3], 1.0f);
}
END_TEST

/* Logits that say exactly what the targets say. */
static void perfect_output(float *out, const float *heat, const float *reg, int C, int HW)
{
    for (int i = 0; i < C * HW; i++) {
        float p = heat[i] > 0.999f ? 0.999f : heat[i] < 1e-4f ? 1e-4f : heat[i];
        out[i] = logf(p / (1 - p));
    }
    memcpy(out + (size_t)C * HW, reg, 4 * (size_t)HW * sizeof(float));
}

START_TEST(decode_of_encoded_targets_recovers_the_boxes)
{
    enum { C = 4, H = 16, W = 16, S = 4 };
    float heat[C * H * W], reg[4 * H * W], mask[H * W], out[(C + 4) * H * W];
    rk_box b[3] = {{3, 5, 20, 11, 1, 1}, {30, 30, 8, 20, 3, 1}, {40, 2, 18, 18, 1, 1}};
    rk_centernet_encode(heat, reg, mask, C, H, W, S, b, 3);
    perfect_output(out, heat, reg, C, H * W);
    rk_detection d[10];
    rk_letterbox id = {1, 1, 0, 0};
    int n = rk_centernet_decode(d, 10, out, C, H, W, S, &id, 64, 64);
    ck_assert_int_ge(n, 3);
    for (int i = 0; i < 3; i++) { /* the three peaks come first, in any order */
        int found = 0;
        for (int j = 0; j < 3 && !found; j++)
            found = d[i].cls == b[j].cls && fabs(d[i].x - b[j].x) < 1e-4f &&
                    fabs(d[i].y - b[j].y) < 1e-4f && fabs(d[i].w - b[j].w) < 1e-4f &&
                    fabs(d[i].h - b[j].h) < 1e-4f;
        ck_assert_msg(found, "detection %d (%g %g %g %g cls %d) matches no box", i, d[i].x, d[i].y,
                      d[i].w, d[i].h, d[i].cls);
        ck_assert_float_eq_tol(d[i].score, 0.999f, 1e-5f);
    }
    for (int i = 3; i < n; i++) ck_assert(d[i].score < 0.5f);
}
END_TEST

START_TEST(decode_maps_back_through_the_letterbox_and_clips)
{
    enum { C = 1, H = 8, W = 8, S = 8 };
    float heat[C * H * W], reg[4 * H * W], mask[H * W], out[(C + 4) * H * W];
    /* original 128x96 image shrunk by 0.5 and shifted down 8 px into the 64x64 input */
    rk_box b = {.x = 10, .y = 18, .w = 20, .h = 12, .cls = 0};
    rk_centernet_encode(heat, reg, mask, C, H, W, S, &b, 1);
    perfect_output(out, heat, reg, C, H * W);
    rk_letterbox lb = {0.5, 0.5, 0, 8};
    rk_detection d[1];
    ck_assert_int_eq(rk_centernet_decode(d, 1, out, C, H, W, S, &lb, 128, 96), 1);
    ck_assert_float_eq_tol(d[0].x, 20, 1e-4f);
    ck_assert_float_eq_tol(d[0].y, 20, 1e-4f);
    ck_assert_float_eq_tol(d[0].w, 40, 1e-4f);
    ck_assert_float_eq_tol(d[0].h, 24, 1e-4f);
    /* a box reaching past the original image is clipped to it */
    rk_box e = {.x = 40, .y = 40, .w = 24, .h = 24, .cls = 0};
    rk_centernet_encode(heat, reg, mask, C, H, W, S, &e, 1);
    perfect_output(out, heat, reg, C, H * W);
    ck_assert_int_eq(rk_centernet_decode(d, 1, out, C, H, W, S, &lb, 100, 90), 1);
    ck_assert_float_le(d[0].x + d[0].w, 100.0f + 1e-4f);
    ck_assert_float_le(d[0].y + d[0].h, 90.0f + 1e-4f);
}
END_TEST

START_TEST(decode_keeps_at_most_k_peaks_in_score_order)
{
    enum { C = 2, H = 6, W = 6 };
    float out[(C + 4) * H * W];
    for (int i = 0; i < C * H * W; i++) out[i] = -5.0f + 0.01f * (float)((i * 37) % 101);
    memset(out + C * H * W, 0, 4 * H * W * sizeof(float));
    rk_detection d[100];
    rk_letterbox id = {1, 1, 0, 0};
    int n = rk_centernet_decode(d, 3, out, C, H, W, 8, &id, 48, 48);
    ck_assert_int_eq(n, 3);
    ck_assert(d[0].score >= d[1].score && d[1].score >= d[2].score);
    int all = rk_centernet_decode(d, 100, out, C, H, W, 8, &id, 48, 48);
    ck_assert_int_lt(all, C * H * W); /* non-peaks are suppressed */
}
END_TEST

Suite *suite_model(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("centernet");
    tcase_add_test(tc, gaussian_radius_matches_centernet_reference);
    tcase_add_test(tc, encode_puts_a_unit_peak_size_and_offset_at_the_centre_cell);
    tcase_add_test(tc, overlapping_gaussians_combine_by_max);
    tcase_add_test(tc, decode_of_encoded_targets_recovers_the_boxes);
    tcase_add_test(tc, decode_maps_back_through_the_letterbox_and_clips);
    tcase_add_test(tc, decode_keeps_at_most_k_peaks_in_score_order);
    suite_add_tcase(s, tc);
    return s;
}
