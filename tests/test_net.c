/* Networks: the oneDNN backend against the reference backend (forward and backward, per op
 * and for the whole reference model), determinism, checkpoints and their errors, builder
 * errors, the optimizer, the schedule and the generator. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "rethink/model.h"

static float *randn(size_t n, uint64_t seed)
{
    float *a = malloc(n * sizeof(float));
    rk_rng r;
    rk_rng_init(&r, seed, 3, 0);
    for (size_t i = 0; i < n; i++) a[i] = rk_rng_normal(&r);
    return a;
}

static size_t out_numel(const rk_net *net)
{
    int s[4];
    rk_net_output_shape(net, s);
    return (size_t)s[0] * s[1] * s[2] * s[3];
}

static size_t in_numel(int N, int C, int H, int W) { return (size_t)N * C * H * W; }

/* ||a - b|| / ||b||; b NULL: ||a|| */
static double rel_l2(const float *a, const float *b, size_t n)
{
    double e = 0, s = 0;
    for (size_t i = 0; b && i < n; i++) {
        e += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        s += (double)b[i] * b[i];
    }
    for (size_t i = 0; !b && i < n; i++) e += (double)a[i] * a[i];
    return s > 0 ? sqrt(e / s) : sqrt(e);
}

/* Builds the same net twice, runs a train-mode forward and a backward with the same dout
 * on REF and backend `bk`, and compares the output and every parameter gradient. */
typedef rk_net *(*builder)(void);

static void compare_with(rk_backend bk, const char *what, builder build, int N, double out_tol,
                         double grad_tol)
{
    rk_err err = {0};
    rk_net *a = build(), *b = build();
    ck_assert(a && b);
    rk_net_init_params(a, 11);
    rk_net_init_params(b, 11);
    ck_assert_msg(rk_net_plan(a, N, RK_BACKEND_REF, 1, &err) == RK_OK, "%s", err.msg);
    ck_assert_msg(rk_net_plan(b, N, bk, 1, &err) == RK_OK, "%s", err.msg);
    int C, H, W;
    rk_net_input_shape(a, &C, &H, &W);
    size_t nin = in_numel(N, C, H, W), nout = out_numel(a);
    float *x = randn(nin, 5), *dout = randn(nout, 6);
    for (int train = 0; train <= 1; train++) {
        const float *ya = rk_net_forward(a, x, train), *yb = rk_net_forward(b, x, train);
        ck_assert(ya && yb);
        double e = rel_l2(yb, ya, nout);
        ck_assert_msg(e <= out_tol, "%s: %s output differs, rel %.3g", what, train ? "train" : "eval", e);
    }
    rk_net_zero_grad(a);
    rk_net_zero_grad(b);
    ck_assert_int_eq(rk_net_backward(a, dout), RK_OK);
    ck_assert_int_eq(rk_net_backward(b, dout), RK_OK);
    /* A tensor that is zero in exact arithmetic is rounding noise on both sides, so its
     * relative error means nothing. In the MBConv family: a project BN's bias gradient (a
     * per-channel constant the next expand conv carries into a training-mode BN, which
     * removes it) and the next expand BN's running mean (a 1x1 conv of a BN output, whose
     * channel means are the BN's beta, 0 at init). Such a tensor (reference L2 below 1e-4
     * of the largest gradient's, or buffer's) is held to an absolute bound on the other
     * side instead: the same in f32, 1e-2 in bf16 (2^-9 ~ 2e-3 rounding per op). */
    double zero_frac = bk == RK_BACKEND_DNNL_BF16 ? 1e-2 : 1e-4, big[2] = {0, 0};
    for (size_t t = 0; t < rk_net_num_tensors(a); t++) {
        const rk_tensor_info *ti = rk_net_tensor(a, t);
        const float *ga = (ti->trainable ? rk_net_grads(a) : rk_net_params(a)) + ti->offset;
        double n = rel_l2(ga, NULL, ti->numel);
        big[ti->trainable] = n > big[ti->trainable] ? n : big[ti->trainable];
    }
    for (size_t t = 0; t < rk_net_num_tensors(a); t++) {
        const rk_tensor_info *ti = rk_net_tensor(a, t);
        const float *ga = (ti->trainable ? rk_net_grads(a) : rk_net_params(a)) + ti->offset;
        const float *gb = (ti->trainable ? rk_net_grads(b) : rk_net_params(b)) + ti->offset;
        double zero = zero_frac * big[ti->trainable];
        if (rel_l2(ga, NULL, ti->numel) < 1e-4 * big[ti->trainable]) {
            double nb = rel_l2(gb, NULL, ti->numel);
            ck_assert_msg(nb < zero, "%s: %s is zero on REF, %.3g here (bound %.3g)", what,
                          ti->name, nb, zero);
            continue;
        }
        double e = rel_l2(gb, ga, ti->numel);
        ck_assert_msg(e <= grad_tol, "%s: %s %s differs, rel %.3g", what, ti->name,
                      ti->trainable ? "gradient" : "buffer", e);
    }
    free(x), free(dout);
    rk_net_free(a), rk_net_free(b);
}

static rk_net *fin(rk_net *net)
{
    rk_err err;
    if (rk_net_finalize(net, &err)) ck_abort_msg("%s", err.msg);
    return net;
}

/* conv (k3 s1 / s2, k1, bias, fused ReLU), BN with and without ReLU */
static rk_net *b_conv_bn(void)
{
    rk_net *n = rk_net_create(3, 9, 9);
    int x = rk_net_conv(n, 0, "c1", 8, 3, 2, 0, 0);
    x = rk_net_bn(n, x, "b1", 1);
    x = rk_net_conv(n, x, "c2", 16, 3, 1, 1, 1);
    x = rk_net_conv(n, x, "c3", 8, 1, 1, 0, 0);
    x = rk_net_bn(n, x, "b2", 0);
    rk_net_conv(n, x, "c4", 5, 1, 1, 1, 0);
    return fin(n);
}

/* a value read by three consumers, one of them twice (x + x): gradient accumulation */
static rk_net *b_fanout(void)
{
    rk_net *n = rk_net_create(4, 8, 8);
    int x = rk_net_conv(n, 0, "c1", 8, 3, 1, 0, 0);
    x = rk_net_bn(n, x, "b1", 1);
    int y = rk_net_conv(n, x, "c2", 8, 3, 1, 0, 0);
    int z = rk_net_add(n, x, x);
    int u = rk_net_add(n, y, z);
    int w = rk_net_add(n, u, x);
    rk_net_conv(n, w, "c3", 3, 1, 1, 1, 0);
    return fin(n);
}

static rk_net *b_pool_upsample_relu(void)
{
    rk_net *n = rk_net_create(3, 10, 10);
    int x = rk_net_conv(n, 0, "c1", 8, 3, 1, 0, 0);
    x = rk_net_relu(n, x);
    x = rk_net_maxpool(n, x, 3, 2, 1);
    x = rk_net_conv(n, x, "c2", 8, 3, 1, 0, 0);
    x = rk_net_upsample2(n, x);
    x = rk_net_relu(n, x);
    rk_net_conv(n, x, "c3", 4, 3, 1, 1, 0);
    return fin(n);
}

/* The MBConv family's ops: depthwise conv (stride 2 on an odd side, stride 1), swish,
 * sigmoid, a squeeze-and-excitation whose input is also the scaled value (its gradient
 * accumulates over both consumers), a channel scale, a residual add. */
static rk_net *b_mbconv_ops(void)
{
    rk_net *n = rk_net_create(4, 9, 9);
    int x = rk_net_swish(n, rk_net_conv(n, 0, "c1", 16, 3, 1, 0, 0));
    x = rk_net_dwconv(n, x, "d1", 3, 2);
    x = rk_net_swish(n, rk_net_bn(n, x, "b1", 0));
    int g = rk_net_swish(n, rk_net_conv(n, rk_net_gap(n, x), "se1", 4, 1, 1, 1, 0));
    g = rk_net_sigmoid(n, rk_net_conv(n, g, "se2", 16, 1, 1, 1, 0));
    x = rk_net_scale(n, x, g);
    x = rk_net_add(n, rk_net_dwconv(n, x, "d2", 3, 1), x);
    rk_net_conv(n, x, "c2", 5, 1, 1, 1, 0);
    return fin(n);
}

/* The reference detector (classifier: 1) of c; the test fails if it cannot be built. */
static rk_net *refnet(const rk_refnet_cfg *c, int classifier)
{
    rk_err err = {0};
    rk_net *net;
    int rc = classifier ? rk_refnet_classifier(&net, c, &err) : rk_refnet_detector(&net, c, &err);
    ck_assert_msg(rc == RK_OK && net, "%s", err.msg);
    return net;
}

static rk_net *b_classifier(void)
{
    rk_refnet_cfg c = rk_refnet_default();
    c.width = 8;
    c.in_size = 32;
    return refnet(&c, 1);
}

static rk_net *b_detector(void)
{
    rk_refnet_cfg c = rk_refnet_default();
    return refnet(&c, 0);
}

static rk_net *b_mbconv_classifier(void)
{
    rk_refnet_cfg c = rk_refnet_default();
    c.family = RK_FAMILY_MBCONV, c.width = 8, c.in_size = 32;
    return refnet(&c, 1);
}

static rk_net *b_fpn_detector(void)
{
    rk_refnet_cfg c = rk_refnet_default();
    c.neck = RK_NECK_FPN, c.head_stride = 4;
    return refnet(&c, 0);
}

static rk_net *b_mbconv_detector(void)
{
    rk_refnet_cfg c = rk_refnet_default();
    c.family = RK_FAMILY_MBCONV;
    return refnet(&c, 0);
}

/* f32: single ops differ only by float summation order: 1e-5, output and gradients alike.
 * Through a whole model the output stays within 1e-4 (measured ~3e-6 at N=16), but the
 * gradients meet ReLU masks: where a pre-activation lies within rounding of zero, the two
 * backends can disagree on its sign, that one element's gradient passes on one side and not
 * on the other, and the difference propagates to every layer below. Measured in the detector
 * over input seeds 5..19 (x, dout = seed, seed + 1): 6e-6 to 1.1e-5 where no mask flipped,
 * 1e-3 to 3.9e-3 in the 3 of 8 seeds where one did (AMD Zen 3, oneDNN's AVX2 kernels; the
 * same seed 5 flipped nothing on an AVX-512 Xeon). Limit 2e-2: the single-op nets hold the
 * rounding-level check, the whole models catch what composition breaks, which is far larger
 * (a dropped fan-out accumulation: 45 % in the fanout net, 84 % in the detector; below).
 *
 * bf16 keeps 8 significant bits: one rounding is <= 2^-9 relative (~2e-3). Forward, values
 * and weight copies are rounded once per layer and the output stays within 2 % of f32
 * (measured 0.4-1.8 %): limit 3 %. Backward, each layer's input gradient is rounded again
 * and every weight gradient is a sum over the batch with heavy cancellation under a random
 * dout, so the relative error roughly doubles per layer going down: measured at most 7 % in
 * the small nets (limit 15 %) and 56 % in the first layers of the 20-layer detector (38 % in
 * the classifier; limit 80 %), against 2e-6 in f32. What they catch: a zeroed gradient is
 * 100 %, a sign error 200 %; skipping the fan-out accumulation gives 45 % in the fanout net
 * and 84 % in the detector. Whether training in bf16 reaches f32's AP is a trial-level
 * question: docs/STUDY.md measures it. bf16 runs only where the CPU has the kernels
 * (rk_dnnl_has_bf16); elsewhere the suite says it left them out. */
static const struct {
    const char *what;
    builder build;
    int N;
    double out_tol, grad_tol, bf16_tol, bf16_out_tol;
} CASES[] = {
    {"conv_bn", b_conv_bn, 4, 1e-5, 1e-5, 0.15, 0.03},         /* conv k3 s1/s2, k1, bias, ReLU; BN */
    {"fanout", b_fanout, 3, 1e-5, 1e-5, 0.15, 0.03},           /* gradient accumulation over consumers */
    {"pool", b_pool_upsample_relu, 3, 1e-5, 1e-5, 0.15, 0.03}, /* max pool, upsample, ReLU */
    {"classifier", b_classifier, 8, 1e-4, 2e-2, 0.8, 0.03},
    {"detector", b_detector, 16, 1e-4, 2e-2, 0.8, 0.03},
    /* MBConv: ~5 roundings per block where the plain family has 1 per layer (bf16 output
     * measured 3.3 % in the classifier) */
    {"mbconv_ops", b_mbconv_ops, 3, 1e-5, 1e-5, 0.15, 0.03},
    {"mbconv_classifier", b_mbconv_classifier, 8, 1e-4, 2e-2, 0.8, 0.06},
    {"mbconv_detector", b_mbconv_detector, 16, 1e-4, 2e-2, 0.8, 0.06},
    {"fpn_detector", b_fpn_detector, 16, 1e-4, 2e-2, 0.8, 0.03},
};
#define NCASES (int)(sizeof CASES / sizeof *CASES)

START_TEST(dnnl_matches_ref)
{
    compare_with(RK_BACKEND_DNNL, CASES[_i].what, CASES[_i].build, CASES[_i].N, CASES[_i].out_tol,
                 CASES[_i].grad_tol);
}
END_TEST
START_TEST(bf16_matches_ref)
{
    compare_with(RK_BACKEND_DNNL_BF16, CASES[_i].what, CASES[_i].build, CASES[_i].N,
                 CASES[_i].bf16_out_tol, CASES[_i].bf16_tol);
}
END_TEST

/* Train a few SGD steps and return the final parameters. */
static float *train_steps(rk_backend backend, int threads, int steps)
{
    rk_refnet_cfg c = rk_refnet_default();
    c.width = 8;
    c.in_size = 32;
    rk_err err = {0};
    rk_net *net = refnet(&c, 0);
    ck_assert_msg(rk_net_plan(net, 4, backend, threads, &err) == RK_OK, "%s", err.msg);
    rk_refnet_init(net, &c, 42);
    size_t nout = out_numel(net);
    float *x = randn(in_numel(4, 3, 32, 32), 1), *dout = randn(nout, 2);
    rk_sgd opt = {.lr = 0.01f, .momentum = 0.9f, .weight_decay = 1e-4f};
    for (int s = 0; s < steps; s++) {
        ck_assert(rk_net_forward(net, x, 1));
        rk_net_zero_grad(net);
        rk_net_backward(net, dout);
        rk_sgd_step(net, &opt);
    }
    float *p = malloc(rk_net_num_elements(net) * sizeof(float));
    memcpy(p, rk_net_params(net), rk_net_num_elements(net) * sizeof(float));
    free(x), free(dout);
    rk_net_free(net);
    return p;
}

static size_t small_detector_elements(void)
{
    rk_refnet_cfg c = rk_refnet_default();
    c.width = 8;
    c.in_size = 32;
    rk_net *net = refnet(&c, 0);
    size_t n = rk_net_num_elements(net);
    rk_net_free(net);
    return n;
}

static void determinism_case(rk_backend backend, int threads)
{
    float *a = train_steps(backend, threads, 3), *b = train_steps(backend, threads, 3);
    ck_assert_msg(memcmp(a, b, small_detector_elements() * sizeof(float)) == 0,
                  "two runs with the same seed and %d threads differ", threads);
    free(a), free(b);
}

START_TEST(same_seed_same_threads_gives_identical_weights_dnnl_1_thread)
{
    determinism_case(RK_BACKEND_DNNL, 1);
}
END_TEST
START_TEST(same_seed_same_threads_gives_identical_weights_dnnl_2_threads)
{
    determinism_case(RK_BACKEND_DNNL, 2);
}
END_TEST
START_TEST(same_seed_same_threads_gives_identical_weights_bf16_1_thread)
{
    determinism_case(RK_BACKEND_DNNL_BF16, 1);
}
END_TEST
START_TEST(same_seed_same_threads_gives_identical_weights_bf16_2_threads)
{
    determinism_case(RK_BACKEND_DNNL_BF16, 2);
}
END_TEST
START_TEST(same_seed_same_threads_gives_identical_weights_ref_2_threads)
{
    determinism_case(RK_BACKEND_REF, 2);
}
END_TEST

START_TEST(different_init_seeds_give_different_weights)
{
    rk_refnet_cfg c = rk_refnet_default();
    rk_net *a = refnet(&c, 0), *b = refnet(&c, 0);
    rk_refnet_init(b, &c, 1);
    ck_assert(memcmp(rk_net_params(a), rk_net_params(b), rk_net_num_params(a) * sizeof(float)));
    rk_net_free(a), rk_net_free(b);
}
END_TEST

/* ---- checkpoints ---- */
static rk_net *detector_seeded(uint64_t seed)
{
    rk_refnet_cfg c = rk_refnet_default();
    rk_net *net = refnet(&c, 0);
    rk_refnet_init(net, &c, seed);
    /* make running stats non-trivial so they are seen to round-trip */
    for (size_t t = 0; t < rk_net_num_tensors(net); t++) {
        const rk_tensor_info *ti = rk_net_tensor(net, t);
        if (!ti->trainable)
            for (size_t i = 0; i < ti->numel; i++) rk_net_params(net)[ti->offset + i] += 0.5f + i;
    }
    return net;
}

START_TEST(checkpoint_round_trips_every_tensor_bit_exactly)
{
    char path[512];
    fx_path(path, sizeof path, "a.ckpt");
    rk_err err = {0};
    rk_net *a = detector_seeded(3), *b = detector_seeded(4);
    ck_assert_msg(rk_checkpoint_save(a, path, &err) == RK_OK, "%s", err.msg);
    int loaded = 0;
    ck_assert_msg(rk_checkpoint_load(b, path, 1, &loaded, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(loaded, (int)rk_net_num_tensors(a));
    ck_assert(!memcmp(rk_net_params(a), rk_net_params(b), rk_net_num_elements(a) * sizeof(float)));
    rk_net_free(a), rk_net_free(b);
}
END_TEST

static void write_bytes(const char *path, const unsigned char *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert(f);
    ck_assert(fwrite(p, 1, n, f) == n);
    fclose(f);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc(*n);
    ck_assert(fread(p, 1, *n, f) == *n);
    fclose(f);
    return p;
}

/* Loading fails with `rc`, names the file and says `needle`, and leaves the net unchanged. */
static void expect_load_error(rk_net *net, const char *path, int strict, int rc, const char *needle)
{
    size_t n = rk_net_num_elements(net) * sizeof(float);
    float *before = malloc(n);
    memcpy(before, rk_net_params(net), n);
    rk_err err = {0};
    ck_assert_int_eq(rk_checkpoint_load(net, path, strict, NULL, &err), rc);
    ck_assert_msg(strstr(err.msg, path) != NULL, "message does not name the file: %s", err.msg);
    ck_assert_msg(strstr(err.msg, needle) != NULL, "message lacks '%s': %s", needle, err.msg);
    ck_assert_msg(!memcmp(before, rk_net_params(net), n), "a failed load changed the parameters");
    free(before);
}

START_TEST(truncated_checkpoint_is_a_clear_error)
{
    char path[512], bad[512];
    fx_path(path, sizeof path, "a.ckpt");
    fx_path(bad, sizeof bad, "truncated.ckpt");
    rk_net *a = detector_seeded(3);
    rk_err err;
    ck_assert(rk_checkpoint_save(a, path, &err) == RK_OK);
    size_t n;
    unsigned char *p = read_bytes(path, &n);
    write_bytes(bad, p, n / 2);
    expect_load_error(a, bad, 1, RK_EFORMAT, "truncated or corrupted");
    write_bytes(bad, p, 10);
    expect_load_error(a, bad, 1, RK_EFORMAT, "too short");
    free(p);
    rk_net_free(a);
}
END_TEST

START_TEST(corrupted_checkpoint_byte_is_detected_by_checksum)
{
    char path[512];
    fx_path(path, sizeof path, "a.ckpt");
    rk_net *a = detector_seeded(3);
    rk_err err;
    ck_assert(rk_checkpoint_save(a, path, &err) == RK_OK);
    size_t n;
    unsigned char *p = read_bytes(path, &n);
    p[n / 3] ^= 0x10;
    write_bytes(path, p, n);
    expect_load_error(a, path, 1, RK_EFORMAT, "checksum");
    free(p);
    rk_net_free(a);
}
END_TEST

START_TEST(checkpoint_of_another_shape_is_rejected_naming_the_tensor)
{
    char path[512];
    fx_path(path, sizeof path, "wide.ckpt");
    rk_refnet_cfg c = rk_refnet_default();
    c.width = 8;
    rk_err err;
    rk_net *narrow = refnet(&c, 0), *det = detector_seeded(1);
    ck_assert(rk_checkpoint_save(narrow, path, &err) == RK_OK);
    expect_load_error(det, path, 0, RK_EINVAL, "stage1.0.conv.weight");
    expect_load_error(det, path, 0, RK_EINVAL, "8x3x3x3");
    rk_net_free(narrow), rk_net_free(det);
}
END_TEST

START_TEST(missing_checkpoint_and_non_checkpoint_files_are_errors)
{
    char path[512];
    fx_path(path, sizeof path, "nope.ckpt");
    rk_net *a = detector_seeded(1);
    expect_load_error(a, path, 1, RK_EIO, "cannot open");
    write_bytes(path, (const unsigned char *)"hello, this is not a checkpoint file", 36);
    expect_load_error(a, path, 1, RK_EFORMAT, "not a rethink checkpoint");
    rk_net_free(a);
}
END_TEST

/* The MBConv family pre-trains like the plain one: its classifier's backbone (stem 5
 * tensors, 7 blocks of 19: three convs and their BNs' 4, SE's 2 weights and 2 biases) loads
 * into its detector. Into a plain detector only the stem would load (stage1.0.conv has the
 * same name and shape in both): backbone artifacts are keyed by model.family
 * (rk_stage_config), so a sweep never offers one family's backbone to the other. */
START_TEST(mbconv_classifier_backbone_loads_into_mbconv_detector_by_name)
{
    char path[512];
    fx_path(path, sizeof path, "cls.ckpt");
    rk_refnet_cfg c = rk_refnet_default();
    c.family = RK_FAMILY_MBCONV;
    rk_err err = {0};
    rk_net *cls = refnet(&c, 1), *det = refnet(&c, 0);
    rk_net_init_params(cls, 77);
    ck_assert(rk_checkpoint_save(cls, path, &err) == RK_OK);
    int loaded = 0;
    ck_assert_msg(rk_checkpoint_load(det, path, 0, &loaded, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(loaded, 5 + 7 * 19);
    const rk_tensor_info *a = rk_net_find(cls, "stage4.1.dw.conv.weight"),
                         *b = rk_net_find(det, "stage4.1.dw.conv.weight");
    ck_assert(a && b);
    ck_assert(!memcmp(rk_net_params(cls) + a->offset, rk_net_params(det) + b->offset,
                      a->numel * sizeof(float)));
    c.family = RK_FAMILY_PLAIN;
    rk_net *plain = refnet(&c, 0);
    ck_assert_msg(rk_checkpoint_load(plain, path, 0, &loaded, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(loaded, 5);
    rk_net_free(cls), rk_net_free(det), rk_net_free(plain);
}
END_TEST

START_TEST(classifier_backbone_loads_into_detector_by_name)
{
    char path[512];
    fx_path(path, sizeof path, "cls.ckpt");
    rk_refnet_cfg c = rk_refnet_default();
    rk_err err = {0};
    rk_net *cls = refnet(&c, 1), *det = refnet(&c, 0);
    rk_net_init_params(cls, 77);
    ck_assert(rk_checkpoint_save(cls, path, &err) == RK_OK);
    /* strict loading refuses: the classifier has cls.fc, the detector a neck and head */
    expect_load_error(det, path, 1, RK_EINVAL, "cls.fc");
    int loaded = 0;
    ck_assert_msg(rk_checkpoint_load(det, path, 0, &loaded, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(loaded, 8 * 5); /* 8 convs: weight + BN weight, bias, mean, var */
    const rk_tensor_info *a = rk_net_find(cls, "stage4.1.conv.weight"),
                         *b = rk_net_find(det, "stage4.1.conv.weight");
    ck_assert(!memcmp(rk_net_params(cls) + a->offset, rk_net_params(det) + b->offset,
                      a->numel * sizeof(float)));
    rk_net_free(cls), rk_net_free(det);
}
END_TEST

START_TEST(checkpoint_save_to_unwritable_path_is_an_error)
{
    rk_net *a = detector_seeded(1);
    rk_err err = {0};
    ck_assert_int_eq(rk_checkpoint_save(a, "/nonexistent-dir/x.ckpt", &err), RK_EIO);
    ck_assert(strstr(err.msg, "/nonexistent-dir/x.ckpt") != NULL);
    rk_net_free(a);
}
END_TEST

/* ---- builder errors ---- */
START_TEST(builder_errors_are_reported_by_finalize)
{
    rk_err err = {0};
    rk_net *n = rk_net_create(3, 8, 8);
    int x = rk_net_conv(n, 0, "c1", 4, 3, 2, 0, 0);
    rk_net_add(n, x, 0); /* 4x4x4 + 3x8x8 */
    ck_assert_int_eq(rk_net_finalize(n, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "shapes differ"), "%s", err.msg);
    rk_net_free(n);

    n = rk_net_create(3, 8, 8);
    rk_net_linear(n, 0, "fc", 4);
    ck_assert_int_eq(rk_net_finalize(n, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "gap"), "%s", err.msg);
    rk_net_free(n);

    n = rk_net_create(3, 8, 8);
    x = rk_net_conv(n, 0, "c1", 4, 3, 1, 0, 0);
    rk_net_conv(n, x, "c1", 4, 3, 1, 0, 0);
    ck_assert_int_eq(rk_net_finalize(n, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "duplicate"), "%s", err.msg);
    rk_net_free(n);

    /* a channel scale needs a (C, 1, 1) scale of x's channels, and another value than x */
    n = rk_net_create(3, 8, 8);
    x = rk_net_conv(n, 0, "c1", 4, 3, 1, 0, 0);
    rk_net_scale(n, x, rk_net_gap(n, 0)); /* 3 channels for 4 */
    ck_assert_int_eq(rk_net_finalize(n, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "scale"), "%s", err.msg);
    rk_net_free(n);
    n = rk_net_create(3, 1, 1);
    rk_net_scale(n, 0, 0);
    ck_assert_int_eq(rk_net_finalize(n, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "by itself"), "%s", err.msg);
    rk_net_free(n);

    rk_refnet_cfg c = rk_refnet_default();
    c.in_size = 60;
    rk_net *det = (rk_net *)&c; /* set to NULL on error */
    ck_assert_int_eq(rk_refnet_detector(&det, &c, &err), RK_EINVAL);
    ck_assert_ptr_null(det);
    ck_assert_msg(strstr(err.msg, "model.in_size"), "%s", err.msg);
    /* the code is the return value, so a caller without a message still gets it */
    ck_assert_int_eq(rk_refnet_classifier(&det, &c, NULL), RK_EINVAL);
    ck_assert_ptr_null(det);
}
END_TEST

START_TEST(backward_without_training_forward_is_refused)
{
    rk_refnet_cfg c = rk_refnet_default();
    rk_err err;
    rk_net *n = refnet(&c, 0);
    ck_assert(rk_net_plan(n, 2, RK_BACKEND_DNNL, 1, &err) == RK_OK);
    float *x = randn(in_numel(2, 3, 64, 64), 1), *d = randn(out_numel(n), 2);
    ck_assert_int_eq(rk_net_backward(n, d), RK_EINVAL);
    ck_assert(rk_net_forward(n, x, 0));
    ck_assert_int_eq(rk_net_backward(n, d), RK_EINVAL);
    ck_assert_int_eq(rk_net_plan(n, 0, RK_BACKEND_DNNL, 1, &err), RK_EINVAL);
    free(x), free(d);
    rk_net_free(n);
}
END_TEST

START_TEST(detector_head_stride_and_size_are_parameters)
{
    rk_refnet_cfg c = rk_refnet_default();
    rk_err err = {0};
    int strides[3] = {4, 8, 16};
    for (int i = 0; i < 3; i++) {
        c.head_stride = strides[i];
        c.in_size = 96;
        c.num_classes = 3;
        rk_net *n = refnet(&c, 0);
        ck_assert_msg(rk_net_plan(n, 2, RK_BACKEND_DNNL, 1, &err) == RK_OK, "%s", err.msg);
        int s[4];
        rk_net_output_shape(n, s);
        ck_assert_int_eq(s[1], 3 + 4);
        ck_assert_int_eq(s[2], 96 / strides[i]);
        ck_assert_int_eq(s[3], 96 / strides[i]);
        rk_net_free(n);
    }
    /* DESIGN.md: about 16 M MACs per 64x64 image for the default detector */
    double macs = rk_refnet_macs(&(rk_refnet_cfg){16, 2, 64, 3, 8, 10, RK_FAMILY_PLAIN, RK_NECK_TOPDOWN}, 1);
    ck_assert_msg(macs > 15e6 && macs < 17e6, "%g MACs", macs);
}
END_TEST

/* ---- optimizer, schedule, clipping ---- */
START_TEST(sgd_step_follows_pytorch_semantics_and_decay_exclusion)
{
    rk_net *n = rk_net_create(1, 1, 1);
    rk_net_conv(n, 0, "c", 1, 1, 1, 1, 0); /* weight (decay) and bias (no decay) */
    rk_err err;
    ck_assert(rk_net_finalize(n, &err) == RK_OK);
    float *p = rk_net_params(n), *g = rk_net_grads(n);
    const rk_tensor_info *w = rk_net_find(n, "c.weight"), *b = rk_net_find(n, "c.bias");
    p[w->offset] = 2, p[b->offset] = 2;
    rk_sgd o = {.lr = 0.5f, .momentum = 0.9f, .weight_decay = 0.1f, .decay_all = 0};
    g[w->offset] = 1, g[b->offset] = 1;
    rk_sgd_step(n, &o);
    /* w: d = 1 + 0.1*2 = 1.2, v = 1.2, w = 2 - 0.6 = 1.4; b: no decay, v = 1, b = 1.5 */
    ck_assert_float_eq_tol(p[w->offset], 1.4f, 1e-6f);
    ck_assert_float_eq_tol(p[b->offset], 1.5f, 1e-6f);
    rk_sgd_step(n, &o);
    /* w: d = 1 + 0.14 = 1.14, v = 0.9*1.2 + 1.14 = 2.22, w = 1.4 - 1.11 = 0.29 */
    ck_assert_float_eq_tol(p[w->offset], 0.29f, 1e-6f);
    ck_assert_float_eq_tol(p[b->offset], 1.5f - 0.5f * 1.9f, 1e-6f);
    rk_net_free(n);
}
END_TEST

START_TEST(lr_schedule_warms_up_linearly_then_decays_by_cosine)
{
    ck_assert_float_eq_tol(rk_lr_schedule(1.0f, 0.01f, 100, 0, 1100), 0.01f, 1e-7f);
    ck_assert_float_eq_tol(rk_lr_schedule(1.0f, 0.01f, 100, 50, 1100), 0.505f, 1e-6f);
    ck_assert_float_eq_tol(rk_lr_schedule(1.0f, 0.01f, 100, 100, 1100), 1.0f, 1e-6f);
    ck_assert_float_eq_tol(rk_lr_schedule(1.0f, 0.01f, 100, 600, 1100), 0.5f, 1e-6f);
    ck_assert_float_eq_tol(rk_lr_schedule(1.0f, 0.01f, 100, 1100, 1100), 0.0f, 1e-6f);
}
END_TEST

START_TEST(gradient_clipping_scales_to_max_norm)
{
    rk_net *n = rk_net_create(1, 1, 1);
    rk_net_conv(n, 0, "c", 2, 1, 1, 0, 0);
    rk_err err;
    ck_assert(rk_net_finalize(n, &err) == RK_OK);
    float *g = rk_net_grads(n);
    g[0] = 3, g[1] = 4;
    ck_assert_float_eq_tol(rk_clip_grad_norm(n, 10.0f), 5.0f, 1e-6f);
    ck_assert_float_eq(g[0], 3.0f); /* below the bound: untouched */
    ck_assert_float_eq_tol(rk_clip_grad_norm(n, 1.0f), 5.0f, 1e-6f);
    ck_assert_float_eq_tol(g[0], 0.6f, 1e-5f);
    ck_assert_float_eq_tol(g[1], 0.8f, 1e-5f);
    rk_net_free(n);
}
END_TEST

START_TEST(rng_is_a_pure_function_of_seed_stream_index)
{
    rk_rng a, b, c;
    rk_rng_init(&a, 1, 2, 3);
    rk_rng_init(&b, 1, 2, 3);
    rk_rng_init(&c, 1, 2, 4);
    int same_c = 1;
    double sum = 0, sq = 0;
    for (int i = 0; i < 20000; i++) {
        uint64_t x = rk_rng_u64(&a);
        ck_assert(x == rk_rng_u64(&b));
        same_c &= x == rk_rng_u64(&c);
        float n = rk_rng_normal(&a);
        rk_rng_normal(&b);
        sum += n, sq += (double)n * n;
    }
    ck_assert(!same_c);
    ck_assert_msg(fabs(sum / 20000) < 0.03 && fabs(sq / 20000 - 1) < 0.05, "normal: mean %g var %g",
                  sum / 20000, sq / 20000);
}
END_TEST

Suite *suite_net(void)
{
    Suite *s = suite_create("net");
    TCase *tc = tcase_create("backends");
    tcase_add_loop_test(tc, dnnl_matches_ref, 0, NCASES);
    tcase_add_test(tc, same_seed_same_threads_gives_identical_weights_dnnl_1_thread);
    tcase_add_test(tc, same_seed_same_threads_gives_identical_weights_dnnl_2_threads);
    tcase_add_test(tc, same_seed_same_threads_gives_identical_weights_ref_2_threads);
    if (rk_dnnl_has_bf16()) {
        tcase_add_loop_test(tc, bf16_matches_ref, 0, NCASES);
        tcase_add_test(tc, same_seed_same_threads_gives_identical_weights_bf16_1_thread);
        tcase_add_test(tc, same_seed_same_threads_gives_identical_weights_bf16_2_threads);
    } else {
        fprintf(stderr, "net: this CPU has no bf16 kernels (no AVX-512): the %d bf16 tests are "
                        "left out\n", NCASES + 2);
    }
    tcase_add_test(tc, different_init_seeds_give_different_weights);
    tcase_add_test(tc, builder_errors_are_reported_by_finalize);
    tcase_add_test(tc, backward_without_training_forward_is_refused);
    tcase_add_test(tc, detector_head_stride_and_size_are_parameters);
    suite_add_tcase(s, tc);

    TCase *ck = tcase_create("checkpoint");
    tcase_add_checked_fixture(ck, fx_tmp_setup, fx_tmp_teardown);
    tcase_add_test(ck, checkpoint_round_trips_every_tensor_bit_exactly);
    tcase_add_test(ck, truncated_checkpoint_is_a_clear_error);
    tcase_add_test(ck, corrupted_checkpoint_byte_is_detected_by_checksum);
    tcase_add_test(ck, checkpoint_of_another_shape_is_rejected_naming_the_tensor);
    tcase_add_test(ck, missing_checkpoint_and_non_checkpoint_files_are_errors);
    tcase_add_test(ck, classifier_backbone_loads_into_detector_by_name);
    tcase_add_test(ck, mbconv_classifier_backbone_loads_into_mbconv_detector_by_name);
    tcase_add_test(ck, checkpoint_save_to_unwritable_path_is_an_error);
    suite_add_tcase(s, ck);

    TCase *op = tcase_create("optim");
    tcase_add_test(op, sgd_step_follows_pytorch_semantics_and_decay_exclusion);
    tcase_add_test(op, lr_schedule_warms_up_linearly_then_decays_by_cosine);
    tcase_add_test(op, gradient_clipping_scales_to_max_norm);
    tcase_add_test(op, rng_is_a_pure_function_of_seed_stream_index);
    suite_add_tcase(s, op);
    return s;
}
