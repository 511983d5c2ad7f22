/* PyTorch reference fixtures (tests/gen_fixtures.py): every layer and loss, forward and
 * backward, and one full training step of the reference model plus 10 SGD steps, on both
 * backends. Tolerances: FX_ATOL/FX_RTOL for single layers; the full model has its own row
 * below because gradients pass through 20 layers of float32 (see the comment there). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "rethink/model.h"

static float *zeros(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

static void conv_case(const char *file, int k, int s, int bias)
{
    fx_file f = fx_load(file);
    const fx_array *x = fx_get(&f, "x"), *w = fx_get(&f, "w"), *y = fx_get(&f, "y"),
                   *dy = fx_get(&f, "dy");
    int N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3], OC = w->dims[0];
    int p = k / 2;
    float *col = zeros(rk_conv2d_col_size(C, H, W, k, s, p));
    float *out = zeros(y->n), *dx = zeros(x->n), *dw = zeros(w->n), *db = zeros(OC);
    const float *b = bias ? fx_get(&f, "b")->data : NULL;
    rk_conv2d_forward(out, x->data, w->data, b, col, N, C, H, W, OC, k, s, p);
    fx_assert_close("conv y", out, y->data, y->n, FX_ATOL, FX_RTOL);
    rk_conv2d_backward(dx, dw, bias ? db : NULL, dy->data, x->data, w->data, col, N, C, H, W, OC,
                       k, s, p);
    fx_assert_close("conv dx", dx, fx_get(&f, "dx")->data, x->n, FX_ATOL, FX_RTOL);
    fx_assert_close("conv dw", dw, fx_get(&f, "dw")->data, w->n, FX_ATOL, FX_RTOL);
    if (bias) fx_assert_close("conv db", db, fx_get(&f, "db")->data, OC, FX_ATOL, FX_RTOL);
    free(col), free(out), free(dx), free(dw), free(db);
    fx_free(&f);
}

static void dwconv_case(const char *file, int s)
{
    fx_file f = fx_load(file);
    const fx_array *x = fx_get(&f, "x"), *w = fx_get(&f, "w"), *y = fx_get(&f, "y");
    int N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3], k = w->dims[2];
    float *out = zeros(y->n), *dx = zeros(x->n), *dw = zeros(w->n);
    rk_dwconv2d_forward(out, x->data, w->data, N, C, H, W, k, s, k / 2);
    fx_assert_close("dwconv y", out, y->data, y->n, FX_ATOL, FX_RTOL);
    rk_dwconv2d_backward(dx, dw, fx_get(&f, "dy")->data, x->data, w->data, N, C, H, W, k, s,
                         k / 2);
    fx_assert_close("dwconv dx", dx, fx_get(&f, "dx")->data, x->n, FX_ATOL, FX_RTOL);
    fx_assert_close("dwconv dw", dw, fx_get(&f, "dw")->data, w->n, FX_ATOL, FX_RTOL);
    free(out), free(dx), free(dw);
    fx_free(&f);
}

START_TEST(depthwise_conv_stride1_matches_pytorch) { dwconv_case("dwconv_k3s1.bin", 1); }
END_TEST
START_TEST(depthwise_conv_stride2_odd_input_matches_pytorch) { dwconv_case("dwconv_k3s2.bin", 2); }
END_TEST
START_TEST(depthwise_conv_stride2_even_input_matches_pytorch)
{
    dwconv_case("dwconv_k3s2_even.bin", 2);
}
END_TEST

/* swish (F.silu) and sigmoid: sigmoid's backward reads the output, swish's the input. */
static void act_case(const char *file, int sigmoid)
{
    fx_file f = fx_load(file);
    const fx_array *x = fx_get(&f, "x");
    float *y = zeros(x->n), *dx = zeros(x->n);
    if (sigmoid) rk_sigmoid_forward(y, x->data, x->n);
    else rk_swish_forward(y, x->data, x->n);
    fx_assert_close(file, y, fx_get(&f, "y")->data, x->n, FX_ATOL, FX_RTOL);
    if (sigmoid) rk_sigmoid_backward(dx, fx_get(&f, "dy")->data, y, x->n);
    else rk_swish_backward(dx, fx_get(&f, "dy")->data, x->data, x->n);
    fx_assert_close(file, dx, fx_get(&f, "dx")->data, x->n, FX_ATOL, FX_RTOL);
    free(y), free(dx);
    fx_free(&f);
}

START_TEST(swish_matches_pytorch) { act_case("swish.bin", 0); }
END_TEST
START_TEST(sigmoid_matches_pytorch) { act_case("sigmoid.bin", 1); }
END_TEST

START_TEST(channel_scale_matches_pytorch)
{
    fx_file f = fx_load("chscale.bin");
    const fx_array *x = fx_get(&f, "x"), *sc = fx_get(&f, "s");
    int N = x->dims[0], C = x->dims[1], HW = x->dims[2] * x->dims[3];
    float *y = zeros(x->n), *dx = zeros(x->n), *ds = zeros(sc->n);
    rk_chscale_forward(y, x->data, sc->data, N, C, HW);
    fx_assert_close("scale y", y, fx_get(&f, "y")->data, x->n, FX_ATOL, FX_RTOL);
    rk_chscale_backward(dx, ds, fx_get(&f, "dy")->data, x->data, sc->data, N, C, HW);
    fx_assert_close("scale dx", dx, fx_get(&f, "dx")->data, x->n, FX_ATOL, FX_RTOL);
    fx_assert_close("scale ds", ds, fx_get(&f, "ds")->data, sc->n, FX_ATOL, FX_RTOL);
    free(y), free(dx), free(ds);
    fx_free(&f);
}
END_TEST

START_TEST(conv_k3_stride1_bias_matches_pytorch) { conv_case("conv_k3s1_bias.bin", 3, 1, 1); }
END_TEST
START_TEST(conv_k3_stride2_odd_input_matches_pytorch) { conv_case("conv_k3s2.bin", 3, 2, 0); }
END_TEST
START_TEST(conv_k3_stride2_even_input_matches_pytorch) { conv_case("conv_k3s2_even.bin", 3, 2, 0); }
END_TEST
START_TEST(conv_k1_matches_pytorch) { conv_case("conv_k1s1.bin", 1, 1, 0); }
END_TEST

START_TEST(batchnorm_train_eval_and_running_stats_match_pytorch)
{
    fx_file f = fx_load("bn.bin");
    const fx_array *x = fx_get(&f, "x");
    int N = x->dims[0], C = x->dims[1], HW = x->dims[2] * x->dims[3];
    const float *g = fx_get(&f, "gamma")->data, *b = fx_get(&f, "beta")->data;
    float *y = zeros(x->n), *dx = zeros(x->n), mean[8], var[8], dg[8] = {0}, dbt[8] = {0};
    float rm[8], rv[8];
    memcpy(rm, fx_get(&f, "rm0")->data, C * sizeof(float));
    memcpy(rv, fx_get(&f, "rv0")->data, C * sizeof(float));
    rk_batchnorm_forward_train(y, mean, var, x->data, g, b, N, C, HW, 1e-5f);
    fx_assert_close("bn y", y, fx_get(&f, "y")->data, x->n, FX_ATOL, FX_RTOL);
    rk_batchnorm_update_running(rm, rv, mean, var, C, (size_t)N * HW, 0.1f);
    fx_assert_close("bn running_mean", rm, fx_get(&f, "rm1")->data, C, FX_ATOL, FX_RTOL);
    fx_assert_close("bn running_var", rv, fx_get(&f, "rv1")->data, C, FX_ATOL, FX_RTOL);
    rk_batchnorm_backward(dx, dg, dbt, fx_get(&f, "dy")->data, x->data, mean, var, g, N, C, HW,
                          1e-5f);
    fx_assert_close("bn dx", dx, fx_get(&f, "dx")->data, x->n, FX_ATOL, FX_RTOL);
    fx_assert_close("bn dgamma", dg, fx_get(&f, "dgamma")->data, C, FX_ATOL, FX_RTOL);
    fx_assert_close("bn dbeta", dbt, fx_get(&f, "dbeta")->data, C, FX_ATOL, FX_RTOL);
    rk_batchnorm_forward_eval(y, x->data, g, b, rm, rv, N, C, HW, 1e-5f);
    fx_assert_close("bn eval y", y, fx_get(&f, "y_eval")->data, x->n, FX_ATOL, FX_RTOL);
    free(y), free(dx);
    fx_free(&f);
}
END_TEST

START_TEST(relu_matches_pytorch)
{
    fx_file f = fx_load("relu.bin");
    const fx_array *x = fx_get(&f, "x");
    float *y = zeros(x->n), *dx = zeros(x->n);
    rk_relu_forward(y, x->data, x->n);
    fx_assert_close("relu y", y, fx_get(&f, "y")->data, x->n, FX_ATOL, FX_RTOL);
    rk_relu_backward(dx, fx_get(&f, "dy")->data, y, x->n);
    fx_assert_close("relu dx", dx, fx_get(&f, "dx")->data, x->n, FX_ATOL, FX_RTOL);
    free(y), free(dx);
    fx_free(&f);
}
END_TEST

START_TEST(maxpool_matches_pytorch)
{
    fx_file f = fx_load("maxpool_k3s2p1.bin");
    const fx_array *x = fx_get(&f, "x"), *yr = fx_get(&f, "y");
    int N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    float *y = zeros(yr->n), *dx = zeros(x->n);
    rk_maxpool_forward(y, x->data, N, C, H, W, 3, 2, 1);
    fx_assert_close("maxpool y", y, yr->data, yr->n, FX_ATOL, FX_RTOL);
    rk_maxpool_backward(dx, fx_get(&f, "dy")->data, x->data, N, C, H, W, 3, 2, 1);
    fx_assert_close("maxpool dx", dx, fx_get(&f, "dx")->data, x->n, FX_ATOL, FX_RTOL);
    free(y), free(dx);
    fx_free(&f);
}
END_TEST

START_TEST(global_avg_pool_matches_pytorch)
{
    fx_file f = fx_load("gap.bin");
    const fx_array *x = fx_get(&f, "x");
    int N = x->dims[0], C = x->dims[1], HW = x->dims[2] * x->dims[3];
    float *y = zeros((size_t)N * C), *dx = zeros(x->n);
    rk_gap_forward(y, x->data, N, C, HW);
    fx_assert_close("gap y", y, fx_get(&f, "y")->data, (size_t)N * C, FX_ATOL, FX_RTOL);
    rk_gap_backward(dx, fx_get(&f, "dy")->data, N, C, HW);
    fx_assert_close("gap dx", dx, fx_get(&f, "dx")->data, x->n, FX_ATOL, FX_RTOL);
    free(y), free(dx);
    fx_free(&f);
}
END_TEST

START_TEST(upsample2_matches_pytorch)
{
    fx_file f = fx_load("upsample2.bin");
    const fx_array *x = fx_get(&f, "x"), *yr = fx_get(&f, "y");
    int N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    float *y = zeros(yr->n), *dx = zeros(x->n);
    rk_upsample2_forward(y, x->data, N, C, H, W);
    fx_assert_close("upsample y", y, yr->data, yr->n, FX_ATOL, FX_RTOL);
    rk_upsample2_backward(dx, fx_get(&f, "dy")->data, N, C, H, W);
    fx_assert_close("upsample dx", dx, fx_get(&f, "dx")->data, x->n, FX_ATOL, FX_RTOL);
    free(y), free(dx);
    fx_free(&f);
}
END_TEST

START_TEST(add_matches_pytorch)
{
    fx_file f = fx_load("add.bin");
    const fx_array *a = fx_get(&f, "a");
    float *y = zeros(a->n), *da = zeros(a->n), *db = zeros(a->n);
    rk_add_forward(y, a->data, fx_get(&f, "b")->data, a->n);
    fx_assert_close("add y", y, fx_get(&f, "y")->data, a->n, FX_ATOL, FX_RTOL);
    rk_add_backward(da, db, fx_get(&f, "dy")->data, a->n);
    fx_assert_close("add da", da, fx_get(&f, "da")->data, a->n, FX_ATOL, FX_RTOL);
    fx_assert_close("add db", db, fx_get(&f, "db")->data, a->n, FX_ATOL, FX_RTOL);
    free(y), free(da), free(db);
    fx_free(&f);
}
END_TEST

START_TEST(linear_matches_pytorch)
{
    fx_file f = fx_load("linear.bin");
    const fx_array *x = fx_get(&f, "x"), *w = fx_get(&f, "w"), *yr = fx_get(&f, "y");
    int N = x->dims[0], I = x->dims[1], O = w->dims[0];
    float *y = zeros(yr->n), *dx = zeros(x->n), *dw = zeros(w->n), *db = zeros(O);
    rk_linear_forward(y, x->data, w->data, fx_get(&f, "b")->data, N, I, O);
    fx_assert_close("linear y", y, yr->data, yr->n, FX_ATOL, FX_RTOL);
    rk_linear_backward(dx, dw, db, fx_get(&f, "dy")->data, x->data, w->data, N, I, O);
    fx_assert_close("linear dx", dx, fx_get(&f, "dx")->data, x->n, FX_ATOL, FX_RTOL);
    fx_assert_close("linear dw", dw, fx_get(&f, "dw")->data, w->n, FX_ATOL, FX_RTOL);
    fx_assert_close("linear db", db, fx_get(&f, "db")->data, O, FX_ATOL, FX_RTOL);
    free(y), free(dx), free(dw), free(db);
    fx_free(&f);
}
END_TEST

START_TEST(softmax_xent_matches_pytorch)
{
    fx_file f = fx_load("softmax_xent.bin");
    const fx_array *z = fx_get(&f, "logits"), *lab = fx_get(&f, "labels");
    int N = z->dims[0], K = z->dims[1];
    int labels[16];
    for (int i = 0; i < N; i++) labels[i] = (int)lab->data[i];
    float *dz = zeros(z->n);
    float loss = rk_softmax_xent(dz, z->data, labels, N, K);
    fx_assert_close("xent loss", &loss, fx_get(&f, "loss")->data, 1, FX_ATOL, FX_RTOL);
    fx_assert_close("xent dlogits", dz, fx_get(&f, "dlogits")->data, z->n, FX_ATOL, FX_RTOL);
    free(dz);
    fx_free(&f);
}
END_TEST

/* SimCLR's loss as its reference code writes it in PyTorch (tests/gen_fixtures.py:
 * normalize, cosine over tau, diagonal masked, cross-entropy towards the other view). */
START_TEST(nt_xent_matches_pytorch)
{
    fx_file f = fx_load("nt_xent.bin");
    const fx_array *z = fx_get(&f, "z");
    int M = z->dims[0], D = z->dims[1];
    float *dz = zeros(z->n);
    float loss = rk_nt_xent(dz, z->data, M, D, fx_get(&f, "tau")->data[0]);
    fx_assert_close("nt-xent loss", &loss, fx_get(&f, "loss")->data, 1, FX_ATOL, FX_RTOL);
    fx_assert_close("nt-xent dz", dz, fx_get(&f, "dz")->data, z->n, FX_ATOL, FX_RTOL);
    free(dz);
    fx_free(&f);
}
END_TEST

START_TEST(focal_loss_matches_pytorch_including_clamp)
{
    fx_file f = fx_load("focal.bin");
    const fx_array *z = fx_get(&f, "logits");
    float *dz = zeros(z->n);
    float loss = rk_focal_loss(dz, z->data, fx_get(&f, "gt")->data, z->n);
    fx_assert_close("focal loss", &loss, fx_get(&f, "loss")->data, 1, FX_ATOL, FX_RTOL);
    fx_assert_close("focal dlogits", dz, fx_get(&f, "dlogits")->data, z->n, FX_ATOL, FX_RTOL);
    ck_assert_float_eq(dz[0], 0.0f); /* the fixture clamps element 0 */
    free(dz);
    fx_free(&f);
}
END_TEST

START_TEST(masked_l1_matches_pytorch)
{
    fx_file f = fx_load("masked_l1.bin");
    const fx_array *p = fx_get(&f, "pred");
    float *dp = zeros(p->n);
    float loss = rk_masked_l1(dp, p->data, fx_get(&f, "target")->data, fx_get(&f, "mask")->data,
                              p->n);
    fx_assert_close("l1 loss", &loss, fx_get(&f, "loss")->data, 1, FX_ATOL, FX_RTOL);
    fx_assert_close("l1 dpred", dp, fx_get(&f, "dpred")->data, p->n, FX_ATOL, FX_RTOL);
    free(dp);
    fx_free(&f);
}
END_TEST

/* Full model. Gradients reach stage 1 through ~20 float32 layers, each BN mixing the whole
 * batch, so elementwise agreement is looser than for one layer: atol is a fraction of the
 * tensor's largest reference gradient. Measured (docs/ARCHITECTURE.md): every gradient
 * tensor within 5e-6 relative L2 of PyTorch's, on both backends. */
#define FX_NET_RTOL 2e-3f
#define FX_NET_ATOL_FRAC 2e-3f
/* A gradient that is zero in exact arithmetic is float noise on both sides: in the MBConv
 * family a project BN's bias adds a per-channel constant that the next block's expand conv
 * carries into a training-mode BN, which subtracts it again. Such tensors (reference
 * largest |g| below this) are held to this absolute bound instead. */
#define FX_NET_ZERO 1e-6f

static void load_params(rk_net *net, const fx_file *f)
{
    char key[128];
    for (size_t t = 0; t < rk_net_num_tensors(net); t++) {
        const rk_tensor_info *ti = rk_net_tensor(net, t);
        snprintf(key, sizeof key, "param:%s", ti->name);
        const fx_array *a = fx_get(f, key);
        ck_assert_msg(a->n == ti->numel, "%s: %zu elements, fixture has %zu", ti->name, ti->numel,
                      a->n);
        memcpy(rk_net_params(net) + ti->offset, a->data, a->n * sizeof(float));
    }
}

static float max_abs(const float *a, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++) m = fabsf(a[i]) > m ? fabsf(a[i]) : m;
    return m;
}

/* file: a training_step() of tests/gen_fixtures.py on the detector of cfg, which has
 * ngrads trainable tensors. */
static void step_case(const char *file, const rk_refnet_cfg *model, int ngrads_want,
                      rk_backend backend)
{
    fx_file f = fx_load(file);
    rk_refnet_cfg cfg = *model;
    rk_err err = {0};
    rk_net *net;
    ck_assert_msg(rk_refnet_detector(&net, &cfg, &err) == RK_OK, "%s", err.msg);
    const fx_array *x = fx_get(&f, "x"), *outr = fx_get(&f, "out");
    int N = x->dims[0];
    ck_assert_msg(rk_net_plan(net, N, backend, 2, &err) == RK_OK, "%s", err.msg);
    load_params(net, &f);
    int C = cfg.num_classes, H = outr->dims[2], W = outr->dims[3];
    const float *heat = fx_get(&f, "heat")->data, *reg = fx_get(&f, "reg")->data,
                *mask = fx_get(&f, "mask")->data;
    float *dout = zeros(outr->n), *scratch = zeros((size_t)(2 * C + 8) * N * H * W);

    const float *out = rk_net_forward(net, x->data, 1);
    ck_assert(out != NULL);
    fx_assert_close("refnet out", out, outr->data, outr->n, FX_ATOL, FX_NET_RTOL);
    float loss = rk_centernet_loss(dout, out, heat, reg, mask, N, C, H, W, 0.1f, 1.0f, NULL,
                                   scratch);
    fx_assert_close("refnet loss", &loss, fx_get(&f, "loss")->data, 1, FX_ATOL, FX_RTOL);
    rk_net_zero_grad(net);
    ck_assert_int_eq(rk_net_backward(net, dout), RK_OK);
    char key[128];
    int ngrads = 0;
    for (size_t t = 0; t < rk_net_num_tensors(net); t++) {
        const rk_tensor_info *ti = rk_net_tensor(net, t);
        snprintf(key, sizeof key, ti->trainable ? "grad:%s" : "after:%s", ti->name);
        const fx_array *g = fx_get(&f, key);
        const float *got = (ti->trainable ? rk_net_grads(net) : rk_net_params(net)) + ti->offset;
        float gmax = max_abs(g->data, g->n);
        fx_assert_close(key, got, g->data, g->n,
                        gmax < FX_NET_ZERO ? FX_NET_ZERO : FX_NET_ATOL_FRAC * gmax, FX_NET_RTOL);
        ngrads += ti->trainable;
    }
    ck_assert_int_eq(ngrads, ngrads_want); /* every parameter of the model was compared */

    /* 10 SGD steps from the same start, loss before each update. */
    load_params(net, &f);
    memset(rk_net_momentum(net), 0, rk_net_num_params(net) * sizeof(float));
    rk_sgd opt = {.lr = 0.01f, .momentum = 0.9f, .weight_decay = 1e-4f, .decay_all = 1};
    const fx_array *losses = fx_get(&f, "losses10");
    float got[10];
    for (int s = 0; s < 10; s++) {
        out = rk_net_forward(net, x->data, 1);
        got[s] = rk_centernet_loss(dout, out, heat, reg, mask, N, C, H, W, 0.1f, 1.0f, NULL,
                                   scratch);
        rk_net_zero_grad(net);
        rk_net_backward(net, dout);
        rk_sgd_step(net, &opt);
    }
    fx_assert_close("refnet 10 SGD losses", got, losses->data, 10, FX_ATOL, FX_NET_RTOL);
    free(dout), free(scratch);
    rk_net_free(net);
    fx_free(&f);
}

static void refnet_step_case(rk_backend backend)
{
    rk_refnet_cfg cfg = rk_refnet_default();
    step_case("refnet_step.bin", &cfg, 31, backend);
}

/* The MBConv family at width 8: 7 blocks of 13 trainable tensors (expand, dw and project
 * convs with their BNs' gamma and beta, SE's two convs with biases), the stem's 3, the
 * neck's 3 and the head's 4. */
static void mbconv_step_case(rk_backend backend)
{
    rk_refnet_cfg cfg = rk_refnet_default();
    cfg.family = RK_FAMILY_MBCONV, cfg.width = 8;
    step_case("mbconv_step.bin", &cfg, 7 * 13 + 3 + 3 + 4, backend);
}

/* The FPN neck at head stride 4 (laterals on stages 4, 3 and 2), width 8: the plain
 * backbone's 24 trainable tensors, the neck's 4 conv + BN triples and the head's 4. */
static void fpn_step_case(rk_backend backend)
{
    rk_refnet_cfg cfg = rk_refnet_default();
    cfg.neck = RK_NECK_FPN, cfg.width = 8, cfg.head_stride = 4;
    step_case("fpn_step.bin", &cfg, 24 + 4 * 3 + 4, backend);
}

START_TEST(fpn_training_step_matches_pytorch_ref_backend) { fpn_step_case(RK_BACKEND_REF); }
END_TEST
START_TEST(fpn_training_step_matches_pytorch_dnnl_backend) { fpn_step_case(RK_BACKEND_DNNL); }
END_TEST

START_TEST(refnet_training_step_matches_pytorch_ref_backend) { refnet_step_case(RK_BACKEND_REF); }
END_TEST
START_TEST(refnet_training_step_matches_pytorch_dnnl_backend) { refnet_step_case(RK_BACKEND_DNNL); }
END_TEST
START_TEST(mbconv_training_step_matches_pytorch_ref_backend) { mbconv_step_case(RK_BACKEND_REF); }
END_TEST
START_TEST(mbconv_training_step_matches_pytorch_dnnl_backend)
{
    mbconv_step_case(RK_BACKEND_DNNL);
}
END_TEST

Suite *suite_fixtures(void)
{
    Suite *s = suite_create("fixtures");
    TCase *tc = tcase_create("pytorch");
    tcase_add_test(tc, conv_k3_stride1_bias_matches_pytorch);
    tcase_add_test(tc, conv_k3_stride2_odd_input_matches_pytorch);
    tcase_add_test(tc, conv_k3_stride2_even_input_matches_pytorch);
    tcase_add_test(tc, conv_k1_matches_pytorch);
    tcase_add_test(tc, batchnorm_train_eval_and_running_stats_match_pytorch);
    tcase_add_test(tc, relu_matches_pytorch);
    tcase_add_test(tc, maxpool_matches_pytorch);
    tcase_add_test(tc, global_avg_pool_matches_pytorch);
    tcase_add_test(tc, upsample2_matches_pytorch);
    tcase_add_test(tc, add_matches_pytorch);
    tcase_add_test(tc, linear_matches_pytorch);
    tcase_add_test(tc, softmax_xent_matches_pytorch);
    tcase_add_test(tc, nt_xent_matches_pytorch);
    tcase_add_test(tc, focal_loss_matches_pytorch_including_clamp);
    tcase_add_test(tc, masked_l1_matches_pytorch);
    tcase_add_test(tc, refnet_training_step_matches_pytorch_ref_backend);
    tcase_add_test(tc, refnet_training_step_matches_pytorch_dnnl_backend);
    tcase_add_test(tc, depthwise_conv_stride1_matches_pytorch);
    tcase_add_test(tc, depthwise_conv_stride2_odd_input_matches_pytorch);
    tcase_add_test(tc, depthwise_conv_stride2_even_input_matches_pytorch);
    tcase_add_test(tc, swish_matches_pytorch);
    tcase_add_test(tc, sigmoid_matches_pytorch);
    tcase_add_test(tc, channel_scale_matches_pytorch);
    tcase_add_test(tc, mbconv_training_step_matches_pytorch_ref_backend);
    tcase_add_test(tc, mbconv_training_step_matches_pytorch_dnnl_backend);
    tcase_add_test(tc, fpn_training_step_matches_pytorch_ref_backend);
    tcase_add_test(tc, fpn_training_step_matches_pytorch_dnnl_backend);
    suite_add_tcase(s, tc);
    return s;
}
