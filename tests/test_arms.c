/* Training arms, starting with the chain every number depends on: the detector overfits a
 * handful of real scenes, and the real decode -> results JSON -> COCO eval path scores it. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "rethink/arms.h"

/* No augmentation: the images as they are (scale exactly 1, no flip). */
static rk_policy identity_policy(void)
{
    rk_kv kv[] = {{"flip", "0", NULL, 0},
                  {"scale", "1, 1", NULL, 0},
                  {"pad", "124, 116, 104", NULL, 0},
                  {"min_size", "1", NULL, 0},
                  {"min_visible", "0.1", NULL, 0}};
    rk_policy p;
    rk_err err = {0};
    ck_assert_msg(rk_policy_parse(&p, "none", kv, 5, &err) == RK_OK, "%s", err.msg);
    return p;
}

/* Builds n real train scenes (the fashion-scenes generator) in fx_tmp and loads them. */
static void real_scenes(int n, rk_dataset *d)
{
    char out[300], ann[400], imgs[400];
    fx_path(out, sizeof out, "fs");
    rk_scene_params sp = rk_scene_defaults();
    sp.ntrain = n, sp.nval = 1, sp.nsource = 0;
    rk_err err = {0};
    ck_assert_msg(rk_fashion_scenes_build(&sp, RK_FASHION_DIR, out, 2, NULL, NULL, &err) == RK_OK,
                  "%s", err.msg);
    snprintf(ann, sizeof ann, "%s/annotations/instances_train.json", out);
    snprintf(imgs, sizeof imgs, "%s/train", out);
    ck_assert_msg(rk_dataset_load(d, imgs, ann, 2, &err) == RK_OK, "%s", err.msg);
}

START_TEST(detector_overfits_a_few_scenes_and_eval_scores_it_through_results_json)
{
    char res[400];
    rk_err err = {0};
    rk_dataset d;
    real_scenes(8, &d);

    rk_detector_cfg cfg = rk_detector_default();
    rk_net *net;
    ck_assert_msg(rk_refnet_detector(&net, &cfg.model, &err) == RK_OK, "%s", err.msg);
    rk_refnet_init(net, &cfg.model, 1);
    rk_policy pol = identity_policy();
    rk_schedule s = rk_schedule_default();
    s.batch = 8, s.epochs = 400, s.lr = 0.02, s.weight_decay = 0;
    size_t idx[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    ck_assert_msg(rk_detector_train(net, &cfg, &d, idx, 8, &pol, NULL, NULL, &s, 1, 2, NULL, &err) == RK_OK,
                  "%s", err.msg);

    int64_t ids[8];
    int cats[10];
    for (int i = 0; i < 8; i++) ids[i] = d.coco.images[i].id;
    for (int c = 0; c < 10; c++) cats[c] = d.coco.cats[c].id;
    rk_det *dets;
    size_t nd;
    ck_assert_msg(rk_detector_predict(net, &cfg, d.images, ids, 8, cats, pol.pad, 2, &dets, &nd, &err) == RK_OK,
                  "%s", err.msg);
    ck_assert_int_gt(nd, 0);
    /* through the results file, as `rethink eval` would read it */
    fx_path(res, sizeof res, "results.json");
    ck_assert_msg(rk_dets_save(dets, nd, res, &err) == RK_OK, "%s", err.msg);
    free(dets);
    ck_assert_msg(rk_dets_load(&dets, &nd, res, &d.coco, &err) == RK_OK, "%s", err.msg);
    rk_coco_stats st;
    ck_assert_msg(rk_coco_eval(&st, &d.coco, dets, nd, &err) == RK_OK, "%s", err.msg);
    ck_assert_msg(st.stats[RK_AP50] > 0.9, "AP50 on the training images is %g (AP %g)",
                  st.stats[RK_AP50], st.stats[RK_AP]);
    rk_coco_stats_free(&st);
    free(dets);
    rk_net_free(net);
    rk_dataset_free(&d);
}
END_TEST

/* Trains a few self-training steps from seed 1 on d's first two scenes plus pseudo view pv;
 * returns the weights (malloc'd). */
static float *selftrain_weights(const rk_dataset *d, const rk_pseudo *pv, size_t *n)
{
    rk_detector_cfg cfg = rk_detector_default();
    rk_err err = {0};
    rk_net *net;
    ck_assert_msg(rk_refnet_detector(&net, &cfg.model, &err) == RK_OK, "%s", err.msg);
    rk_refnet_init(net, &cfg.model, 1);
    rk_policy pol = identity_policy();
    rk_schedule s = rk_schedule_default();
    s.batch = 2, s.steps = 4, s.lr = 0.02;
    rk_selftrain_cfg st = {.pseudo_batch = 2, .alpha = 1, .normalize = 1, .ema_decay = 0.99};
    size_t idx[2] = {0, 1};
    ck_assert_msg(rk_detector_train(net, &cfg, d, idx, 2, &pol, pv, &st, &s, 1, 1, NULL, &err) == RK_OK,
                  "%s", err.msg);
    *n = rk_net_num_elements(net);
    float *w = malloc(*n * sizeof *w);
    memcpy(w, rk_net_params(net), *n * sizeof *w);
    rk_net_free(net);
    return w;
}

/* Pseudo batches draw only the images listed in `use` (the images the teacher gave boxes):
 * swapping the other images for different ones changes nothing; without `use` it does. */
START_TEST(pseudo_batches_draw_only_the_used_images)
{
    rk_dataset d;
    real_scenes(6, &d);
    /* pseudo images: scenes 2 and 3 with a box each at slots 0 and 2; slots 1 and 3 are
     * box-less and differ between the two sets (scenes 4, 5 vs 5, 4) */
    rk_image a[4] = {d.images[2], d.images[4], d.images[3], d.images[5]};
    rk_image b[4] = {d.images[2], d.images[5], d.images[3], d.images[4]};
    rk_box boxes[2] = {{10, 10, 20, 20, 0, 1}, {30, 20, 16, 24, 3, 1}};
    size_t start[5] = {0, 1, 1, 2, 2}, use[2] = {0, 2};
    rk_pseudo pa = {a, 4, boxes, start, use, 2}, pb = {b, 4, boxes, start, use, 2};
    size_t n;
    float *wa = selftrain_weights(&d, &pa, &n), *wb = selftrain_weights(&d, &pb, &n);
    ck_assert_msg(!memcmp(wa, wb, n * sizeof *wa), "an image outside `use` was drawn");
    pa.use = pb.use = NULL, pa.nuse = pb.nuse = 0;
    float *va = selftrain_weights(&d, &pa, &n), *vb = selftrain_weights(&d, &pb, &n);
    ck_assert_msg(memcmp(va, vb, n * sizeof *va), "without `use` every image is drawn");
    free(wa), free(wb), free(va), free(vb);
    rk_dataset_free(&d);
}
END_TEST

Suite *suite_arms(void)
{
    Suite *s = suite_create("arms");
    TCase *tc = tcase_create("detector");
    tcase_add_checked_fixture(tc, fx_tmp_setup, fx_tmp_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, detector_overfits_a_few_scenes_and_eval_scores_it_through_results_json);
    tcase_add_test(tc, pseudo_batches_draw_only_the_used_images);
    suite_add_tcase(s, tc);
    return s;
}
