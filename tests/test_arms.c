/* Training arms, starting with the chain every number depends on: the detector overfits a
 * handful of real scenes, and the real decode -> results JSON -> COCO eval path scores it. */
#include <check.h>
#include <math.h>
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
    ck_assert_msg(rk_detector_train(net, &cfg, &d, idx, 8, &pol, NULL, NULL, NULL, &s, 1, 2, NULL, &err) == RK_OK,
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
    ck_assert_msg(rk_detector_train(net, &cfg, d, idx, 2, &pol, pv, &st, NULL, &s, 1, 1, NULL, &err) == RK_OK,
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

/* ---- joint training ---- */

/* A detector and its classifier on the reference backend, tiny, with inputs and weights
 * drawn from seeds. */
typedef struct {
    rk_refnet_cfg dm, cm;
    rk_net *det, *cls;
    rk_joint_shared sh;
    int N, J, K, outn;
    float *x, *xc, *R, *dlog;
    int lab[4];
    double w;
} joint_fd;

static void joint_fd_init(joint_fd *f)
{
    rk_err err = {0};
    f->dm = rk_refnet_default();
    f->dm.width = 2, f->dm.depth = 1, f->dm.in_size = 32, f->dm.num_classes = 2;
    f->cm = f->dm, f->cm.num_classes = f->K = 3;
    f->N = 3, f->J = 4, f->w = 3;
    ck_assert_msg(rk_refnet_detector(&f->det, &f->dm, &err) == RK_OK, "%s", err.msg);
    ck_assert_msg(rk_refnet_classifier(&f->cls, &f->cm, &err) == RK_OK, "%s", err.msg);
    rk_refnet_init(f->det, &f->dm, 3);
    rk_refnet_init(f->cls, &f->cm, 4);
    ck_assert(rk_net_plan(f->det, f->N, RK_BACKEND_REF, 1, &err) == RK_OK);
    ck_assert(rk_net_plan(f->cls, f->J, RK_BACKEND_REF, 1, &err) == RK_OK);
    ck_assert_msg(rk_joint_shared_init(&f->sh, f->det, f->cls, &err) == RK_OK, "%s", err.msg);
    rk_joint_shared_sync(&f->sh, f->det, f->cls);
    int shape[4];
    rk_net_output_shape(f->det, shape);
    f->outn = shape[0] * shape[1] * shape[2] * shape[3];
    size_t in = 3 * 32 * 32;
    f->x = malloc(f->N * in * sizeof(float)), f->xc = malloc(f->J * in * sizeof(float));
    f->R = malloc(f->outn * sizeof(float)), f->dlog = malloc(f->J * f->K * sizeof(float));
    rk_rng r;
    rk_rng_init(&r, 9, 1, 0);
    for (size_t i = 0; i < f->N * in; i++) f->x[i] = (float)rk_rng_normal(&r);
    for (size_t i = 0; i < f->J * in; i++) f->xc[i] = (float)rk_rng_normal(&r);
    for (int i = 0; i < f->outn; i++) f->R[i] = 0.1f * (float)rk_rng_normal(&r);
    f->lab[0] = 2, f->lab[1] = 0, f->lab[2] = 1, f->lab[3] = 2;
}

static void joint_fd_free(joint_fd *f)
{
    rk_joint_shared_free(&f->sh);
    rk_net_free(f->det), rk_net_free(f->cls);
    free(f->x), free(f->xc), free(f->R), free(f->dlog);
}

/* The joint objective at the detector's parameters (the classifier's shared tensors synced
 * from them): L = sum(det(x) * R) + w * xent(cls(xc), lab). */
static double joint_loss(joint_fd *f)
{
    rk_joint_shared_sync(&f->sh, f->det, f->cls);
    const float *o = rk_net_forward(f->det, f->x, 1);
    double l = 0;
    for (int i = 0; i < f->outn; i++) l += (double)o[i] * f->R[i];
    const float *c = rk_net_forward(f->cls, f->xc, 1);
    return l + f->w * rk_softmax_xent(f->dlog, c, f->lab, f->J, f->K);
}

/* Which parameters a direction moves: the shared backbone, the detector's own ones, the
 * classifier's own head. */
enum { MOVE_SHARED, MOVE_DET_OWN, MOVE_CLS_OWN };

/* The directional derivative of the joint objective along a random unit direction v over
 * the parameters `which` selects: analytic g . v (gd: the detector's gradients, gc: the
 * classifier's) against the central difference (L(p + h v) - L(p - h v)) / 2h. Along a
 * direction, rather than per element, the float rounding of the nets' outputs is small
 * next to the change (the nets run in float: per-element differences of a ReLU net are
 * dominated by rounding and kinks). */
static void joint_fd_direction(joint_fd *f, int which, const float *gd, const float *gc,
                               double *analytic, double *numeric)
{
    rk_net *net = which == MOVE_CLS_OWN ? f->cls : f->det;
    const float *g = which == MOVE_CLS_OWN ? gc : gd;
    size_t np = rk_net_num_params(net);
    float *p = rk_net_params(net), *keep = malloc(np * sizeof *keep);
    double *v = calloc(np, sizeof *v), norm = 0;
    memcpy(keep, p, np * sizeof *keep);
    rk_rng r;
    rk_rng_init(&r, 11, (uint64_t)which, 0);
    for (size_t t = 0; t < rk_net_num_tensors(net); t++) {
        const rk_tensor_info *ti = rk_net_tensor(net, t);
        int shared = !strncmp(ti->name, "stage", 5);
        if (!ti->trainable || (which == MOVE_SHARED) != shared) continue;
        for (size_t i = 0; i < ti->numel; i++) v[ti->offset + i] = rk_rng_normal(&r);
    }
    for (size_t i = 0; i < np; i++) norm += v[i] * v[i];
    *analytic = 0;
    for (size_t i = 0; i < np; i++) v[i] /= sqrt(norm), *analytic += g[i] * v[i];
    const double h = 1e-3;
    for (size_t i = 0; i < np; i++) p[i] = (float)(keep[i] + h * v[i]);
    double lp = joint_loss(f);
    for (size_t i = 0; i < np; i++) p[i] = (float)(keep[i] - h * v[i]);
    double lm = joint_loss(f);
    memcpy(p, keep, np * sizeof *keep);
    *numeric = (lp - lm) / (2 * h);
    free(keep), free(v);
}

/* The joint objective's gradient (the trainer's path: the detector's backward, then
 * rk_joint_backward adding the weighted classification gradients of the shared backbone)
 * matches finite differences of L = L_det + w L_cls in every kind of parameter: shared
 * backbone tensors, the detector's own head, the classifier's own head. */
START_TEST(joint_objective_gradient_matches_finite_differences)
{
    joint_fd f;
    joint_fd_init(&f);
    rk_net_zero_grad(f.det);
    rk_net_forward(f.det, f.x, 1);
    ck_assert(rk_net_backward(f.det, f.R) == RK_OK);
    float l = rk_joint_backward(f.det, f.cls, &f.sh, f.xc, f.lab, f.J, f.K, f.w, f.dlog);
    ck_assert(isfinite(l));
    size_t np = rk_net_num_params(f.det), nc = rk_net_num_params(f.cls);
    float *gd = malloc(np * sizeof *gd), *gc = malloc(nc * sizeof *gc);
    memcpy(gd, rk_net_grads(f.det), np * sizeof *gd);
    memcpy(gc, rk_net_grads(f.cls), nc * sizeof *gc);
    const char *what[] = {"shared backbone", "detector head", "classifier head"};
    for (int m = MOVE_SHARED; m <= MOVE_CLS_OWN; m++) {
        double a, fd;
        joint_fd_direction(&f, m, gd, gc, &a, &fd);
        ck_assert_msg(fabs(a - fd) <= 0.01 * fabs(fd) + 1e-3, "%s: analytic %.6g, finite "
                      "difference %.6g", what[m], a, fd);
    }
    free(gd), free(gc);
    joint_fd_free(&f);
}
END_TEST

/* Trains 4 steps on two scenes, with a joint task of the given weight on four labelled
 * "source" images (other scenes of the set) or none; returns the detector's weights and
 * the classifier's shared tensors' distance from them (*apart, 0 when they are equal). */
static float *joint_weights(const rk_dataset *d, int joint_on, double weight, size_t *n,
                            double *apart)
{
    rk_detector_cfg cfg = rk_detector_default();
    rk_err err = {0};
    rk_net *net, *cls;
    rk_refnet_cfg cm = cfg.model;
    cm.num_classes = 3;
    ck_assert_msg(rk_refnet_detector(&net, &cfg.model, &err) == RK_OK, "%s", err.msg);
    ck_assert_msg(rk_refnet_classifier(&cls, &cm, &err) == RK_OK, "%s", err.msg);
    rk_refnet_init(net, &cfg.model, 1);
    rk_refnet_init(cls, &cm, 2);
    rk_policy pol = identity_policy();
    rk_schedule s = rk_schedule_default();
    s.batch = 2, s.steps = 4, s.lr = 0.02, s.clip = 0; /* no clip: only the gradient links them */
    size_t idx[2] = {0, 1}, sidx[4] = {0, 1, 2, 3};
    int labels[4] = {0, 2, 1, 2};
    char *files[4] = {"a", "b", "c", "d"};
    rk_source src = {4, files, NULL, d->images + 2};
    rk_joint jt = {.cls = cls, .src = &src, .labels = labels, .idx = sidx, .n = 4, .batch = 2,
                   .weight = weight};
    ck_assert_msg(rk_detector_train(net, &cfg, d, idx, 2, &pol, NULL, NULL, joint_on ? &jt : NULL,
                                    &s, 1, 1, NULL, &err) == RK_OK,
                  "%s", err.msg);
    *n = rk_net_num_elements(net);
    float *w = malloc(*n * sizeof *w);
    memcpy(w, rk_net_params(net), *n * sizeof *w);
    *apart = 0;
    for (size_t t = 0; joint_on && t < rk_net_num_tensors(cls); t++) {
        const rk_tensor_info *c = rk_net_tensor(cls, t), *q = rk_net_find(net, c->name);
        if (!c->trainable || !q) continue;
        for (size_t i = 0; i < c->numel; i++)
            *apart += fabs(rk_net_params(cls)[c->offset + i] - w[q->offset + i]);
    }
    rk_net_free(net), rk_net_free(cls);
    return w;
}

/* The joint task changes the detector through the shared backbone only by its weighted
 * gradient: at weight 0 the detector trains bit for bit as without it, at weight 1 it
 * differs; and after every step the classifier's backbone is the detector's. */
START_TEST(joint_training_moves_the_detector_by_its_weighted_gradient_only)
{
    rk_dataset d;
    real_scenes(6, &d);
    size_t n;
    double apart;
    float *plain = joint_weights(&d, 0, 0, &n, &apart);
    float *zero = joint_weights(&d, 1, 0, &n, &apart);
    ck_assert_msg(!memcmp(plain, zero, n * sizeof *plain), "a joint task of weight 0 changed the "
                  "detector");
    ck_assert(apart == 0);
    float *one = joint_weights(&d, 1, 1, &n, &apart);
    ck_assert_msg(memcmp(plain, one, n * sizeof *plain), "the joint task did not reach the detector");
    ck_assert_msg(apart == 0, "the classifier's backbone drifted from the detector's by %g", apart);
    free(plain), free(zero), free(one);
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
    tc = tcase_create("joint");
    tcase_add_checked_fixture(tc, fx_tmp_setup, fx_tmp_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, joint_objective_gradient_matches_finite_differences);
    tcase_add_test(tc, joint_training_moves_the_detector_by_its_weighted_gradient_only);
    suite_add_tcase(s, tc);
    return s;
}
