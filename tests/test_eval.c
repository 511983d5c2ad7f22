/* COCO evaluation (src/eval): one pycocotools rule per test on hand-built ground truth with
 * hand-computed expectations, the results-file reader's errors, and agreement with the
 * independent numpy implementation (tests/coco_reference.py) on the committed random cases
 * under tests/fixtures/eval (written by tests/gen_eval_fixtures.py).
 *
 * Notation in comments: "precision 1" means pycocotools' tp / (fp + tp + eps) with
 * eps = 2.2e-16, i.e. 1 - 2.2e-16; hence the 1e-12 tolerance on hand-computed values. */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "rethink/eval.h"

#define TOL 1e-12

/* ---- building ground truth in memory ---- */
enum { MAX_ANNS = 512 };

/* Images with the given ids (1000x1000 each) and categories with the given ids. */
static void gt_init(rk_coco *c, const int64_t *img_ids, size_t nimg, const int *cat_ids,
                    size_t ncat)
{
    memset(c, 0, sizeof *c);
    c->images = calloc(nimg + 1, sizeof *c->images);
    c->cats = calloc(ncat + 1, sizeof *c->cats);
    c->anns = calloc(MAX_ANNS, sizeof *c->anns);
    ck_assert(c->images && c->cats && c->anns);
    for (size_t i = 0; i < nimg; i++)
        c->images[c->nimages++] =
            (rk_coco_image){.id = img_ids[i], .file_name = strdup("x.jpg"), .width = 1000,
                            .height = 1000};
    for (size_t k = 0; k < ncat; k++)
        c->cats[c->ncats++] = (rk_coco_cat){.id = cat_ids[k], .name = strdup("thing")};
}

/* One image (id 1) and one category (id 1). */
static void gt_init1(rk_coco *c)
{
    const int64_t img = 1;
    const int cat = 1;
    gt_init(c, &img, 1, &cat, 1);
}

static void gt_add(rk_coco *c, int64_t id, int64_t img, int cat, double x, double y, double w,
                   double h, double area, int crowd)
{
    ck_assert(c->nanns < MAX_ANNS);
    c->anns[c->nanns++] = (rk_coco_ann){.id = id, .image_id = img, .category_id = cat,
                                        .bbox = {x, y, w, h}, .area = area, .iscrowd = crowd};
}

/* A box's annotation with area w*h, not crowd. */
static void gt_box(rk_coco *c, int64_t id, int64_t img, int cat, double x, double y, double w,
                   double h)
{
    gt_add(c, id, img, cat, x, y, w, h, w * h, 0);
}

static void gt_done(rk_coco *c)
{
    rk_err err = {0};
    ck_assert_msg(rk_coco_index(c, "test ground truth", &err) == RK_OK, "%s", err.msg);
}

static rk_det det(int64_t img, int cat, double x, double y, double w, double h, double score)
{
    return (rk_det){.image_id = img, .category_id = cat, .bbox = {x, y, w, h}, .score = score};
}

static rk_coco_stats eval_ok(const rk_coco *gt, const rk_det *d, size_t n)
{
    rk_coco_stats s;
    rk_err err = {0};
    ck_assert_msg(rk_coco_eval(&s, gt, d, n, &err) == RK_OK, "%s", err.msg);
    return s;
}

#define NDETS(a) (sizeof(a) / sizeof((a)[0]))
#define STAT_EQ(s, i, v) \
    ck_assert_msg(fabs((s).stats[i] - (v)) <= TOL, "%s = %.17g, expected %.17g", \
                  rk_coco_stat_name(i), (s).stats[i], (double)(v))

/* ---- rules, hand-computed ---- */

START_TEST(perfect_detection_scores_one)
{
    /* One medium GT (40x40 = 1600 px) hit exactly: every AP/AR over ranges that contain a GT
     * is 1; small and large contain no GT, so they are undefined (-1), not 0. */
    rk_coco gt;
    gt_init1(&gt);
    gt_box(&gt, 1, 1, 1, 10, 10, 40, 40);
    gt_done(&gt);
    rk_det d[] = {det(1, 1, 10, 10, 40, 40, 0.9)};
    rk_coco_stats s = eval_ok(&gt, d, NDETS(d));
    const double want[RK_COCO_NSTATS] = {1, 1, 1, -1, 1, -1, 1, 1, 1, -1, 1, -1};
    for (int i = 0; i < RK_COCO_NSTATS; i++) STAT_EQ(s, i, want[i]);
    ck_assert_uint_eq(s.ncats, 1);
    ck_assert_double_eq_tol(s.cat_ap[0], 1, TOL);
    rk_coco_stats_free(&s);
    rk_coco_free(&gt);
}
END_TEST

START_TEST(false_positive_ranked_above_true_positive_halves_precision)
{
    /* Ranking FP (0.9), TP (0.8): at the TP, recall 1 and precision 1/2; the envelope makes
     * every recall point 1/2, so AP = 0.5. AR100 = 1, but AR1 = 0: the single detection
     * allowed per image is the FP. */
    rk_coco gt;
    gt_init1(&gt);
    gt_box(&gt, 1, 1, 1, 10, 10, 40, 40);
    gt_done(&gt);
    rk_det d[] = {det(1, 1, 500, 500, 40, 40, 0.9), det(1, 1, 10, 10, 40, 40, 0.8)};
    rk_coco_stats s = eval_ok(&gt, d, NDETS(d));
    STAT_EQ(s, RK_AP, 0.5);
    STAT_EQ(s, RK_AP50, 0.5);
    STAT_EQ(s, RK_AR100, 1);
    STAT_EQ(s, RK_AR1, 0);
    rk_coco_stats_free(&s);
    rk_coco_free(&gt);
}
END_TEST

START_TEST(false_positive_ranked_below_true_positive_costs_nothing)
{
    /* TP (0.9) then FP (0.8): precision 1 at recall 1, reached before the FP, so AP = 1. */
    rk_coco gt;
    gt_init1(&gt);
    gt_box(&gt, 1, 1, 1, 10, 10, 40, 40);
    gt_done(&gt);
    rk_det d[] = {det(1, 1, 500, 500, 40, 40, 0.8), det(1, 1, 10, 10, 40, 40, 0.9)};
    rk_coco_stats s = eval_ok(&gt, d, NDETS(d));
    STAT_EQ(s, RK_AP, 1);
    STAT_EQ(s, RK_AR1, 1);
    rk_coco_stats_free(&s);
    rk_coco_free(&gt);
}
END_TEST

START_TEST(crowd_gt_absorbs_several_detections)
{
    /* A crowd region (300x300) and one normal GT. Three detections inside the crowd region,
     * all scored above the TP: against a crowd GT the IoU is intersection / detection area =
     * 1, a crowd GT can be matched any number of times, and a match to it is ignored (neither
     * TP nor FP). So AP = 1. Were they FPs, precision at the TP would be 1/4. The crowd GT
     * does not count as a positive either: AR = 1 with one of two GTs found. */
    rk_coco gt;
    gt_init1(&gt);
    gt_box(&gt, 1, 1, 1, 10, 10, 40, 40);
    gt_add(&gt, 2, 1, 1, 200, 200, 300, 300, 90000, 1);
    gt_done(&gt);
    rk_det d[] = {det(1, 1, 210, 210, 20, 20, 0.9), det(1, 1, 300, 300, 50, 50, 0.8),
                  det(1, 1, 400, 400, 90, 90, 0.7), det(1, 1, 10, 10, 40, 40, 0.5)};
    rk_coco_stats s = eval_ok(&gt, d, NDETS(d));
    STAT_EQ(s, RK_AP, 1);
    STAT_EQ(s, RK_AR100, 1);
    rk_coco_stats_free(&s);
    rk_coco_free(&gt);
}
END_TEST

START_TEST(area_exactly_32_squared_is_small_and_medium)
{
    /* Area ranges are closed at both ends: area 1024 lies in [0, 32²] and [32², 96²]. */
    rk_coco gt;
    gt_init1(&gt);
    gt_box(&gt, 1, 1, 1, 10, 10, 32, 32);
    gt_done(&gt);
    rk_det d[] = {det(1, 1, 10, 10, 32, 32, 0.9)};
    rk_coco_stats s = eval_ok(&gt, d, NDETS(d));
    STAT_EQ(s, RK_APS, 1);
    STAT_EQ(s, RK_APM, 1);
    STAT_EQ(s, RK_APL, -1);
    STAT_EQ(s, RK_ARS, 1);
    STAT_EQ(s, RK_ARM, 1);
    rk_coco_stats_free(&s);
    rk_coco_free(&gt);
}
END_TEST

START_TEST(area_exactly_96_squared_is_medium_and_large)
{
    /* Area 9216 lies in [32², 96²] and [96², 1e10]. */
    rk_coco gt;
    gt_init1(&gt);
    gt_box(&gt, 1, 1, 1, 10, 10, 96, 96);
    gt_done(&gt);
    rk_det d[] = {det(1, 1, 10, 10, 96, 96, 0.9)};
    rk_coco_stats s = eval_ok(&gt, d, NDETS(d));
    STAT_EQ(s, RK_APS, -1);
    STAT_EQ(s, RK_APM, 1);
    STAT_EQ(s, RK_APL, 1);
    STAT_EQ(s, RK_ARL, 1);
    rk_coco_stats_free(&s);
    rk_coco_free(&gt);
}
END_TEST

START_TEST(gt_area_field_decides_its_range_and_a_matched_detection_follows_it)
{
    /* A 40x40 box whose annotation area is 500 (a mask smaller than its box): it is a small
     * GT. Its exact detection has w*h = 1600 (medium) but, being matched, is not ignored in
     * the small range: APs = 1. In the medium range the GT is ignored (500 < 1024), so the
     * detection matched to it is ignored too and there is nothing to score: APm = -1. */
    rk_coco gt;
    gt_init1(&gt);
    gt_add(&gt, 1, 1, 1, 10, 10, 40, 40, 500, 0);
    gt_done(&gt);
    rk_det d[] = {det(1, 1, 10, 10, 40, 40, 0.9)};
    rk_coco_stats s = eval_ok(&gt, d, NDETS(d));
    STAT_EQ(s, RK_AP, 1);
    STAT_EQ(s, RK_APS, 1);
    STAT_EQ(s, RK_APM, -1);
    rk_coco_stats_free(&s);
    rk_coco_free(&gt);
}
END_TEST

START_TEST(unmatched_detection_outside_area_range_is_ignored)
{
    /* Small GT found at score 0.5; a large FP (200x200) at 0.9. Over all areas the FP ranks
     * first: AP = 0.5. In the small range the unmatched FP's area (40000) is outside the range,
     * so it is ignored: APs = 1. */
    rk_coco gt;
    gt_init1(&gt);
    gt_box(&gt, 1, 1, 1, 10, 10, 20, 20);
    gt_done(&gt);
    rk_det d[] = {det(1, 1, 500, 500, 200, 200, 0.9), det(1, 1, 10, 10, 20, 20, 0.5)};
    rk_coco_stats s = eval_ok(&gt, d, NDETS(d));
    STAT_EQ(s, RK_AP, 0.5);
    STAT_EQ(s, RK_APS, 1);
    rk_coco_stats_free(&s);
    rk_coco_free(&gt);
}
END_TEST

START_TEST(no_detections_scores_zero_where_there_is_gt)
{
    /* GT but no detections: recall 0 and precision 0 at every recall point, so AP = AR = 0
     * (defined, since there are positives); ranges without GT stay -1. */
    rk_coco gt;
    gt_init1(&gt);
    gt_box(&gt, 1, 1, 1, 10, 10, 40, 40);
    gt_box(&gt, 2, 1, 1, 100, 100, 50, 50);
    gt_done(&gt);
    rk_coco_stats s = eval_ok(&gt, NULL, 0);
    const double want[RK_COCO_NSTATS] = {0, 0, 0, -1, 0, -1, 0, 0, 0, -1, 0, -1};
    for (int i = 0; i < RK_COCO_NSTATS; i++) STAT_EQ(s, i, want[i]);
    ck_assert_double_eq_tol(s.cat_ap[0], 0, TOL);
    rk_coco_stats_free(&s);
    rk_coco_free(&gt);
}
END_TEST

START_TEST(only_the_first_100_detections_of_an_image_count)
{
    /* 101 GTs (10x10, disjoint) and 101 exact detections, scores falling with j. The 101st is
     * cut at maxDets 100: AR100 = 100/101, AR10 = 10/101, AR1 = 1/101. Precision is 1 up to
     * recall 100/101 = 0.990..., so recall points 0.00..0.99 (100 of 101) get 1 and point 1.00
     * gets 0: AP = 100/101. Without the cut every stat would be 1. */
    rk_coco gt;
    gt_init1(&gt);
    rk_det d[101];
    for (int j = 0; j < 101; j++) {
        double x = 20.0 * (j % 40), y = 20.0 * (j / 40);
        gt_box(&gt, j + 1, 1, 1, x, y, 10, 10);
        d[j] = det(1, 1, x, y, 10, 10, 1.0 - 0.001 * j);
    }
    gt_done(&gt);
    rk_coco_stats s = eval_ok(&gt, d, NDETS(d));
    STAT_EQ(s, RK_AR100, 100.0 / 101);
    STAT_EQ(s, RK_AR10, 10.0 / 101);
    STAT_EQ(s, RK_AR1, 1.0 / 101);
    STAT_EQ(s, RK_AP, 100.0 / 101);
    rk_coco_stats_free(&s);
    rk_coco_free(&gt);
}
END_TEST

START_TEST(category_without_gt_is_minus_one_and_left_out_of_the_mean)
{
    /* Categories 7 (GT found exactly) and 3 (no GT, one detection). Category 3 has no
     * positives: its AP is -1 and it does not enter the mean, so AP = 1, not 0.5. Its
     * detection does not hurt category 7 (categories are scored separately). cat_ap follows
     * the order of gt.cats (7, then 3). */
    rk_coco gt;
    const int64_t img = 1;
    const int cats[] = {7, 3};
    gt_init(&gt, &img, 1, cats, 2);
    gt_box(&gt, 1, 1, 7, 10, 10, 40, 40);
    gt_done(&gt);
    rk_det d[] = {det(1, 3, 10, 10, 40, 40, 0.99), det(1, 7, 10, 10, 40, 40, 0.5)};
    rk_coco_stats s = eval_ok(&gt, d, NDETS(d));
    STAT_EQ(s, RK_AP, 1);
    STAT_EQ(s, RK_AR100, 1);
    ck_assert_uint_eq(s.ncats, 2);
    ck_assert_double_eq_tol(s.cat_ap[0], 1, TOL);
    ck_assert_double_eq(s.cat_ap[1], -1);
    rk_coco_stats_free(&s);
    rk_coco_free(&gt);
}
END_TEST

START_TEST(all_categories_without_gt_give_minus_one_everywhere)
{
    /* Nothing to average anywhere: every stat is -1 (pycocotools' mean of an empty
     * selection). */
    rk_coco gt;
    gt_init1(&gt);
    gt_done(&gt);
    rk_det d[] = {det(1, 1, 10, 10, 40, 40, 0.9)};
    rk_coco_stats s = eval_ok(&gt, d, NDETS(d));
    for (int i = 0; i < RK_COCO_NSTATS; i++) STAT_EQ(s, i, -1);
    rk_coco_stats_free(&s);
    rk_coco_free(&gt);
}
END_TEST

START_TEST(score_ties_keep_input_order)
{
    /* FP and TP with equal scores: the stable sort keeps file order. FP listed first ranks
     * first (AP 0.5, as an FP above a TP); listed second, it ranks after the TP (AP 1). */
    rk_coco gt;
    gt_init1(&gt);
    gt_box(&gt, 1, 1, 1, 10, 10, 40, 40);
    gt_done(&gt);
    rk_det fp_first[] = {det(1, 1, 500, 500, 40, 40, 0.5), det(1, 1, 10, 10, 40, 40, 0.5)};
    rk_det tp_first[] = {fp_first[1], fp_first[0]};
    rk_coco_stats s = eval_ok(&gt, fp_first, 2);
    STAT_EQ(s, RK_AP, 0.5);
    rk_coco_stats_free(&s);
    s = eval_ok(&gt, tp_first, 2);
    STAT_EQ(s, RK_AP, 1);
    rk_coco_stats_free(&s);
    rk_coco_free(&gt);
}
END_TEST

START_TEST(negative_zero_score_ties_with_zero)
{
    /* -0.0 == 0.0, so numpy's stable sort of -scores keeps them in input order: an FP scored
     * -0.0 listed before a TP scored 0.0 ranks first (AP 0.5); a bitwise order would put 0.0
     * first (AP 1). */
    rk_coco gt;
    gt_init1(&gt);
    gt_box(&gt, 1, 1, 1, 10, 10, 40, 40);
    gt_done(&gt);
    rk_det d[] = {det(1, 1, 500, 500, 40, 40, -0.0), det(1, 1, 10, 10, 40, 40, 0.0)};
    rk_coco_stats s = eval_ok(&gt, d, NDETS(d));
    STAT_EQ(s, RK_AP, 0.5);
    rk_coco_stats_free(&s);
    rk_coco_free(&gt);
}
END_TEST

START_TEST(score_ties_across_images_follow_image_id_order)
{
    /* Images 5 (listed first) and 3. accumulate() concatenates images in ascending id, so a
     * tie between images is broken by image id, not by file order. GT and TP in image 3, an FP
     * of equal score in image 5 listed first in the file: image 3 comes first, AP = 1. With
     * the roles of the images swapped, the FP in image 3 wins the tie: AP = 0.5. */
    const int64_t imgs[] = {5, 3};
    const int cat = 1;
    rk_coco gt;
    gt_init(&gt, imgs, 2, &cat, 1);
    gt_box(&gt, 1, 3, 1, 10, 10, 40, 40);
    gt_done(&gt);
    rk_det d[] = {det(5, 1, 10, 10, 40, 40, 0.5), det(3, 1, 10, 10, 40, 40, 0.5)};
    rk_coco_stats s = eval_ok(&gt, d, 2);
    STAT_EQ(s, RK_AP, 1);
    rk_coco_stats_free(&s);
    rk_coco_free(&gt);

    gt_init(&gt, imgs, 2, &cat, 1);
    gt_box(&gt, 1, 5, 1, 10, 10, 40, 40);
    gt_done(&gt);
    s = eval_ok(&gt, d, 2);
    STAT_EQ(s, RK_AP, 0.5);
    rk_coco_stats_free(&s);
    rk_coco_free(&gt);
}
END_TEST

START_TEST(iou_exactly_at_threshold_matches)
{
    /* GT 10x10, detection its top half: IoU = 50 / 100 = 0.5 exactly, which matches at the
     * 0.50 threshold (IoU >= t) and at no other. AP50 = 1, AP75 = 0, AP = 1/10, AR = 1/10. */
    rk_coco gt;
    gt_init1(&gt);
    gt_box(&gt, 1, 1, 1, 0, 0, 10, 10);
    gt_done(&gt);
    rk_det d[] = {det(1, 1, 0, 0, 10, 5, 0.9)};
    rk_coco_stats s = eval_ok(&gt, d, NDETS(d));
    STAT_EQ(s, RK_AP50, 1);
    STAT_EQ(s, RK_AP75, 0);
    STAT_EQ(s, RK_AP, 0.1);
    STAT_EQ(s, RK_AR100, 0.1);
    rk_coco_stats_free(&s);
    rk_coco_free(&gt);
}
END_TEST

START_TEST(equal_iou_goes_to_the_later_gt_in_file_order)
{
    /* GT A = [0,0,10,10] then GT B = [0,0,20,5], both area 100. The first detection
     * [0,0,10,5] has IoU 50/100 = 0.5 with each; pycocotools replaces its best match on
     * IoU >= best, so the later GT (B) takes it. The second detection is exactly A (IoU 1 with
     * A, 1/3 with B) and takes A: at IoU 0.5 both are TPs, AP50 = 1. With A and B swapped in
     * the file, the first detection takes A, the second finds only B at 1/3 and is an FP:
     * precision 1 up to recall 0.5, i.e. recall points 0.00..0.50, AP50 = 51/101. */
    rk_coco gt;
    gt_init1(&gt);
    gt_box(&gt, 1, 1, 1, 0, 0, 10, 10);
    gt_box(&gt, 2, 1, 1, 0, 0, 20, 5);
    gt_done(&gt);
    rk_det d[] = {det(1, 1, 0, 0, 10, 5, 0.9), det(1, 1, 0, 0, 10, 10, 0.8)};
    rk_coco_stats s = eval_ok(&gt, d, NDETS(d));
    STAT_EQ(s, RK_AP50, 1);
    rk_coco_stats_free(&s);
    rk_coco_ann a = gt.anns[0];
    gt.anns[0] = gt.anns[1], gt.anns[1] = a;
    s = eval_ok(&gt, d, NDETS(d));
    STAT_EQ(s, RK_AP50, 51.0 / 101);
    rk_coco_stats_free(&s);
    rk_coco_free(&gt);
}
END_TEST

START_TEST(recall_points_are_numpy_linspace_values)
{
    /* 10 GTs. Ranking: 7 TPs, 7 FPs, 3 TPs. Recall reaches 7/10 = 0.7 at precision 1, then
     * 0.8, 0.9, 1.0 with the envelope at 10/17. np.linspace(0, 1, 101)[70] is
     * 0.7000000000000001 > 0.7, so recall point 70 takes the precision at recall 0.8, 10/17:
     * AP50 = (70 * 1 + 31 * 10/17) / 101. With a literal 0.70 it would be (71 + 30 * 10/17) /
     * 101. */
    rk_coco gt;
    gt_init1(&gt);
    rk_det d[17];
    for (int j = 0; j < 10; j++) gt_box(&gt, j + 1, 1, 1, 50.0 * j, 0, 40, 40);
    gt_done(&gt);
    for (int j = 0; j < 17; j++) {
        int tp = j < 7 ? j : j >= 14 ? j - 7 : -1;
        d[j] = tp >= 0 ? det(1, 1, 50.0 * tp, 0, 40, 40, 1 - 0.01 * j)
                       : det(1, 1, 50.0 * j, 500, 40, 40, 1 - 0.01 * j);
    }
    rk_coco_stats s = eval_ok(&gt, d, NDETS(d));
    STAT_EQ(s, RK_AP50, (70 + 31 * (10.0 / 17)) / 101);
    rk_coco_stats_free(&s);
    rk_coco_free(&gt);
}
END_TEST

START_TEST(gt_with_id_zero_never_counts_as_matched)
{
    /* pycocotools quirk, reproduced on purpose: dtMatches holds the matched GT's id and is
     * later read as "matched" when nonzero, so a GT with id 0 absorbs its detection as an
     * FP. A perfect detection of GT id 0 scores AP = AR = 0; the same GT with id 1, AP = 1.
     * Datasets should number annotations from 1, as COCO does. */
    rk_coco gt;
    gt_init1(&gt);
    gt_box(&gt, 0, 1, 1, 10, 10, 40, 40);
    gt_done(&gt);
    rk_det d[] = {det(1, 1, 10, 10, 40, 40, 0.9)};
    rk_coco_stats s = eval_ok(&gt, d, NDETS(d));
    STAT_EQ(s, RK_AP, 0);
    STAT_EQ(s, RK_AR100, 0);
    rk_coco_stats_free(&s);
    gt.anns[0].id = 1;
    s = eval_ok(&gt, d, NDETS(d));
    STAT_EQ(s, RK_AP, 1);
    rk_coco_stats_free(&s);
    rk_coco_free(&gt);
}
END_TEST

START_TEST(bbox_iou_follows_mask_api)
{
    /* Plain IoU; a crowd GT divides by the detection's area; touching edges are no overlap. */
    const double gt[] = {0, 0, 100, 100, 0, 0, 100, 100, 100, 0, 10, 10};
    const int crowd[] = {0, 1, 0};
    const double dt[] = {10, 10, 20, 20, 90, 0, 10, 10};
    double o[6];
    rk_bbox_iou(o, dt, 2, gt, 3, crowd);
    ck_assert_double_eq(o[0], 400.0 / 10000); /* 400 / (400 + 10000 - 400) */
    ck_assert_double_eq(o[1], 1);             /* 400 / 400 */
    ck_assert_double_eq(o[2], 0);             /* x 10..30 vs 100..110 */
    ck_assert_double_eq(o[3], 100.0 / 10000);
    ck_assert_double_eq(o[4], 1);
    ck_assert_double_eq(o[5], 0); /* x 90..100 touches 100..110 */
}
END_TEST

START_TEST(thresholds_are_numpy_linspace_bit_for_bit)
{
    /* Values printed by numpy 1.24 for np.linspace(.5, .95, 10) and np.linspace(0, 1, 101)
     * where they differ from the decimal literal; all others equal it. */
    double iou[10], rec[101];
    rk_coco_thresholds(iou, rec);
    for (int i = 0; i < 10; i++) {
        char lit[8];
        snprintf(lit, sizeof lit, "%.2f", 0.5 + 0.05 * i);
        if (i == 8)
            ck_assert_double_eq(iou[i], 0.8999999999999999);
        else
            ck_assert_msg(iou[i] == strtod(lit, NULL), "IoU threshold %d = %.17g", i, iou[i]);
    }
    const int odd[] = {35, 41, 47, 57, 69, 70, 82, 83, 94, 95};
    const double odd_v[] = {0.35000000000000003, 0.41000000000000003, 0.47000000000000003,
                            0.5700000000000001,  0.6900000000000001,  0.7000000000000001,
                            0.8200000000000001,  0.8300000000000001,  0.9400000000000001,
                            0.9500000000000001};
    for (int i = 0, j = 0; i <= 100; i++) {
        char lit[8];
        snprintf(lit, sizeof lit, "%.2f", i / 100.0);
        if (j < 10 && i == odd[j])
            ck_assert_double_eq(rec[i], odd_v[j++]);
        else
            ck_assert_msg(rec[i] == strtod(lit, NULL), "recall point %d = %.17g", i, rec[i]);
    }
}
END_TEST

START_TEST(summary_labels_are_pycocotools_text)
{
    ck_assert_str_eq(rk_coco_stat_label(RK_AP),
                     "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]");
    ck_assert_str_eq(rk_coco_stat_label(RK_AP75),
                     "Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ]");
    ck_assert_str_eq(rk_coco_stat_label(RK_AR1),
                     "Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ]");
    ck_assert_str_eq(rk_coco_stat_label(RK_ARM),
                     "Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ]");
    ck_assert_str_eq(rk_coco_stat_name(RK_AR100), "AR100");
    ck_assert_ptr_null(rk_coco_stat_name(RK_COCO_NSTATS));
}
END_TEST

/* ---- results files ---- */
/* Writes text to fx_tmp/dt.json and returns the path (static buffer). */
static const char *write_dt(const char *text)
{
    static char path[300];
    fx_path(path, sizeof path, "dt.json");
    FILE *f = fopen(path, "w");
    ck_assert(f != NULL);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Loads text as results against a one-image, one-category GT; returns rc, message in err. */
static int load_text(const char *text, rk_err *err, size_t *n)
{
    rk_coco gt;
    gt_init1(&gt);
    gt_done(&gt);
    rk_det *d = NULL;
    int rc = rk_dets_load(&d, n, write_dt(text), &gt, err);
    if (rc) ck_assert_ptr_null(d);
    free(d);
    rk_coco_free(&gt);
    return rc;
}

#define ENTRY "{\"image_id\": 1, \"category_id\": 1, \"bbox\": [1, 2, 3, 4], \"score\": 0.5}"

START_TEST(results_file_round_trips_bit_exactly)
{
    rk_det d[] = {det(1, 1, 0.1 + 0.2, 1.0 / 3, 1e-7, 123456.789, 0.1 + 0.7),
                  det(1, 1, -5, 0, 0, 7, -0.25)};
    char path[300];
    fx_path(path, sizeof path, "rt.json");
    rk_err err = {0};
    ck_assert_msg(rk_dets_save(d, 2, path, &err) == RK_OK, "%s", err.msg);
    rk_coco gt;
    gt_init1(&gt);
    gt_done(&gt);
    rk_det *back;
    size_t n;
    ck_assert_msg(rk_dets_load(&back, &n, path, &gt, &err) == RK_OK, "%s", err.msg);
    ck_assert_uint_eq(n, 2);
    for (size_t i = 0; i < 2; i++) {
        ck_assert(back[i].image_id == d[i].image_id && back[i].category_id == d[i].category_id);
        ck_assert(back[i].score == d[i].score);
        for (int k = 0; k < 4; k++) ck_assert(back[i].bbox[k] == d[i].bbox[k]);
    }
    free(back);
    rk_coco_free(&gt);
}
END_TEST

START_TEST(empty_results_array_is_no_detections)
{
    rk_err err = {0};
    size_t n = 99;
    ck_assert_msg(load_text(" [ ] \n", &err, &n) == RK_OK, "%s", err.msg);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(malformed_results_json_names_line_and_column)
{
    /* The stray comma is on line 3, column 16; the column is cJSON's error position, which
     * is the offending character or the one after it (here 17). */
    rk_err err = {0};
    size_t n;
    ck_assert_int_eq(load_text("[\n" ENTRY ",\n{\"image_id\": 1,, \"score\": 1}\n]", &err, &n),
                     RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "dt.json:3:16: malformed JSON") ||
                      strstr(err.msg, "dt.json:3:17: malformed JSON"),
                  "%s", err.msg);
    ck_assert_int_eq(load_text("[\n" ENTRY ",\n" ENTRY ",\n  {\"score\": nul}]", &err, &n),
                     RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "dt.json:4:") && strstr(err.msg, "malformed JSON"), "%s",
                  err.msg);
    ck_assert_int_eq(load_text("[" ENTRY " " ENTRY "]", &err, &n), RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "dt.json:1:") && strstr(err.msg, "expected ','"), "%s",
                  err.msg);
    ck_assert_int_eq(load_text("{\"annotations\": []}", &err, &n), RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "dt.json:1:1:") && strstr(err.msg, "JSON array"), "%s",
                  err.msg);
}
END_TEST

START_TEST(unknown_image_is_an_error_naming_the_entry)
{
    rk_err err = {0};
    size_t n;
    ck_assert_int_eq(load_text("[" ENTRY ",\n {\"image_id\": 77, \"category_id\": 1, \"bbox\": "
                               "[1, 2, 3, 4], \"score\": 0.5}]",
                               &err, &n),
                     RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "dt.json:2:2: detection 1: image_id 77 is not an image") != NULL,
                  "%s", err.msg);
}
END_TEST

START_TEST(unknown_category_is_an_error_naming_the_entry)
{
    rk_err err = {0};
    size_t n;
    ck_assert_int_eq(load_text("[{\"image_id\": 1, \"category_id\": 9, \"bbox\": [1, 2, 3, 4], "
                               "\"score\": 0.5}]",
                               &err, &n),
                     RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "detection 0: category_id 9 is not a category") != NULL, "%s",
                  err.msg);
}
END_TEST

START_TEST(negative_box_size_is_an_error)
{
    rk_err err = {0};
    size_t n;
    ck_assert_int_eq(load_text("[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [1, 2, -3, 4], "
                               "\"score\": 0.5}]",
                               &err, &n),
                     RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "detection 0: bbox [1, 2, -3, 4] has negative size") != NULL,
                  "%s", err.msg);
}
END_TEST

START_TEST(non_finite_or_missing_fields_are_errors)
{
    rk_err err = {0};
    size_t n;
    ck_assert_int_eq(load_text("[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [1, 2, 3, 4], "
                               "\"score\": 1e999}]",
                               &err, &n),
                     RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "score inf is not finite") != NULL, "%s", err.msg);
    ck_assert_int_eq(load_text("[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [1, 2, 3]}]",
                               &err, &n),
                     RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "'bbox' must be an array [x, y, w, h]") != NULL, "%s", err.msg);
    ck_assert_int_eq(load_text("[{\"image_id\": 1.5, \"category_id\": 1, \"bbox\": [1, 2, 3, 4], "
                               "\"score\": 0.5}]",
                               &err, &n),
                     RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "non-integer 'image_id'") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(missing_results_file_is_an_io_error)
{
    rk_coco gt;
    gt_init1(&gt);
    gt_done(&gt);
    rk_det *d;
    size_t n;
    rk_err err = {0};
    ck_assert_int_eq(rk_dets_load(&d, &n, "/nonexistent/dt.json", &gt, &err), RK_EIO);
    ck_assert_msg(strstr(err.msg, "/nonexistent/dt.json") != NULL, "%s", err.msg);
    rk_coco_free(&gt);
}
END_TEST

START_TEST(eval_rejects_detections_outside_the_ground_truth)
{
    /* rk_coco_eval checks its input like the loader: in-memory detections too. */
    rk_coco gt;
    gt_init1(&gt);
    gt_done(&gt);
    rk_det d[] = {det(1, 1, 0, 0, 1, 1, 0.5), det(1, 2, 0, 0, 1, 1, 0.5)};
    rk_coco_stats s;
    rk_err err = {0};
    ck_assert_int_eq(rk_coco_eval(&s, &gt, d, 2, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "detection 1: category_id 2") != NULL, "%s", err.msg);
    ck_assert_ptr_null(s.cat_ap);
    rk_coco_free(&gt);
}
END_TEST

/* ---- agreement with the numpy reference on random cases ---- */
/* Evaluates fixture case `name` and compares with its expected.json: every stat and every
 * category's AP within tol (tol 0: the same double). */
static void check_case(const char *name, double tol)
{
    char gp[512], dp[512], ep[512];
    snprintf(gp, sizeof gp, "%s/eval/%s/gt.json", RK_FIXTURE_DIR, name);
    snprintf(dp, sizeof dp, "%s/eval/%s/dt.json", RK_FIXTURE_DIR, name);
    snprintf(ep, sizeof ep, "%s/eval/%s/expected.json", RK_FIXTURE_DIR, name);
    rk_err err = {0};
    rk_coco gt;
    ck_assert_msg(rk_coco_load(&gt, gp, &err) == RK_OK, "%s", err.msg);
    rk_det *d;
    size_t n;
    ck_assert_msg(rk_dets_load(&d, &n, dp, &gt, &err) == RK_OK, "%s", err.msg);
    rk_coco_stats s = eval_ok(&gt, d, n);
    char *text;
    size_t len;
    ck_assert_msg(rk_read_file(ep, &text, &len, &err) == RK_OK, "%s", err.msg);
    cJSON *exp = cJSON_Parse(text);
    ck_assert_msg(exp != NULL, "%s: bad JSON", ep);
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(exp, "stats");
    const cJSON *ca = cJSON_GetObjectItemCaseSensitive(exp, "cat_ap");
    for (int i = 0; i < RK_COCO_NSTATS; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(st, rk_coco_stat_name(i));
        ck_assert_msg(cJSON_IsNumber(v), "%s: no %s", ep, rk_coco_stat_name(i));
        ck_assert_msg(fabs(s.stats[i] - v->valuedouble) <= tol,
                      "%s: %s = %.17g, reference %.17g", name, rk_coco_stat_name(i), s.stats[i],
                      v->valuedouble);
    }
    ck_assert_int_eq(cJSON_GetArraySize(ca), (int)gt.ncats);
    for (size_t k = 0; k < gt.ncats; k++) {
        char key[16];
        snprintf(key, sizeof key, "%d", gt.cats[k].id);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(ca, key);
        ck_assert_msg(cJSON_IsNumber(v), "%s: no cat_ap %s", ep, key);
        ck_assert_msg(fabs(s.cat_ap[k] - v->valuedouble) <= tol,
                      "%s: category %s AP = %.17g, reference %.17g", name, key, s.cat_ap[k],
                      v->valuedouble);
    }
    cJSON_Delete(exp);
    free(text);
    free(d);
    rk_coco_stats_free(&s);
    rk_coco_free(&gt);
}

static const char *const CASES[] = {"basic", "ties_grid", "dense", "areas", "sparse_missing",
                                    "many_per_image", "gt_id_zero", "many_categories",
                                    "mixed_large", "outside_image"};

START_TEST(matches_numpy_reference_on_random_cases)
{
    /* The criterion: every stat within 1e-6 of the independent implementation. */
    check_case(CASES[_i], 1e-6);
}
END_TEST

START_TEST(matches_numpy_reference_bit_for_bit)
{
    /* Stronger, and what the implementation claims: the same doubles, which holds only if
     * precision's eps, the threshold values and numpy's pairwise summation order (numpy 1.24
     * wrote the fixtures) are all reproduced. */
    check_case(CASES[_i], 0);
}
END_TEST

Suite *suite_eval(void)
{
    Suite *s = suite_create("eval");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, perfect_detection_scores_one);
    tcase_add_test(tc, false_positive_ranked_above_true_positive_halves_precision);
    tcase_add_test(tc, false_positive_ranked_below_true_positive_costs_nothing);
    tcase_add_test(tc, crowd_gt_absorbs_several_detections);
    tcase_add_test(tc, area_exactly_32_squared_is_small_and_medium);
    tcase_add_test(tc, area_exactly_96_squared_is_medium_and_large);
    tcase_add_test(tc, gt_area_field_decides_its_range_and_a_matched_detection_follows_it);
    tcase_add_test(tc, unmatched_detection_outside_area_range_is_ignored);
    tcase_add_test(tc, no_detections_scores_zero_where_there_is_gt);
    tcase_add_test(tc, only_the_first_100_detections_of_an_image_count);
    tcase_add_test(tc, category_without_gt_is_minus_one_and_left_out_of_the_mean);
    tcase_add_test(tc, all_categories_without_gt_give_minus_one_everywhere);
    tcase_add_test(tc, score_ties_keep_input_order);
    tcase_add_test(tc, negative_zero_score_ties_with_zero);
    tcase_add_test(tc, score_ties_across_images_follow_image_id_order);
    tcase_add_test(tc, iou_exactly_at_threshold_matches);
    tcase_add_test(tc, equal_iou_goes_to_the_later_gt_in_file_order);
    tcase_add_test(tc, recall_points_are_numpy_linspace_values);
    tcase_add_test(tc, gt_with_id_zero_never_counts_as_matched);
    tcase_add_test(tc, bbox_iou_follows_mask_api);
    tcase_add_test(tc, thresholds_are_numpy_linspace_bit_for_bit);
    tcase_add_test(tc, summary_labels_are_pycocotools_text);
    suite_add_tcase(s, tc);

    TCase *io = tcase_create("results");
    tcase_add_checked_fixture(io, fx_tmp_setup, fx_tmp_teardown);
    tcase_add_test(io, results_file_round_trips_bit_exactly);
    tcase_add_test(io, empty_results_array_is_no_detections);
    tcase_add_test(io, malformed_results_json_names_line_and_column);
    tcase_add_test(io, unknown_image_is_an_error_naming_the_entry);
    tcase_add_test(io, unknown_category_is_an_error_naming_the_entry);
    tcase_add_test(io, negative_box_size_is_an_error);
    tcase_add_test(io, non_finite_or_missing_fields_are_errors);
    tcase_add_test(io, missing_results_file_is_an_io_error);
    tcase_add_test(io, eval_rejects_detections_outside_the_ground_truth);
    suite_add_tcase(s, io);

    TCase *ref = tcase_create("reference");
    tcase_add_loop_test(ref, matches_numpy_reference_on_random_cases, 0,
                        (int)(sizeof CASES / sizeof CASES[0]));
    tcase_add_loop_test(ref, matches_numpy_reference_bit_for_bit, 0,
                        (int)(sizeof CASES / sizeof CASES[0]));
    suite_add_tcase(s, ref);
    return s;
}
