/* Finite-difference gradient checks, in double precision, for every layer and loss.
 *
 * Each layer runs through its double instance (layers_f64.h: the same source as the float
 * layers, instantiated with T = double). For a layer y = f(x, w) we take the scalar
 * L = sum(y * R) with a fixed random R, get the analytic gradients from backward(dout = R),
 * and compare every element with the central difference (L(x+h) - L(x-h)) / 2h, h = 1e-5.
 * In double, truncation and rounding errors are ~1e-9, so the bound is tight: 1e-6 relative.
 * Inputs of piecewise functions (ReLU, max pool, the focal clamp) are kept away from their
 * kinks so the derivative exists. The MBConv family's ops (depthwise conv, swish, sigmoid,
 * channel scale) are checked the same way. A last test holds the float instance to the double one. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers_f64.h"
#include "rethink/engine.h"

#define FD_H 1e-5
#define FD_TOL 1e-6

typedef double (*loss_fn)(void *ctx);

static double *rnd(size_t n, uint64_t seed, double scale)
{
    double *a = calloc(n, sizeof(double));
    rk_rng r;
    rk_rng_init(&r, seed, 77, n);
    for (size_t i = 0; i < n; i++) a[i] = scale * rk_rng_normal(&r);
    return a;
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* Checks every element of x against its analytic gradient g. */
static void fd_check(const char *what, loss_fn f, void *ctx, double *x, const double *g,
                     size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double keep = x[i];
        x[i] = keep + FD_H;
        double lp = f(ctx);
        x[i] = keep - FD_H;
        double lm = f(ctx);
        x[i] = keep;
        double fd = (lp - lm) / (2 * FD_H);
        ck_assert_msg(fabs(fd - g[i]) <= FD_TOL * (1 + fabs(fd)),
                      "%s[%zu]: analytic %.10g, finite difference %.10g", what, i, g[i], fd);
    }
}

/* ---- convolution ---- */
typedef struct {
    int N, C, H, W, OC, k, s, p, OH, OW;
    double *x, *w, *b, *R, *y, *col;
} conv_ctx;

static double conv_loss(void *v)
{
    conv_ctx *c = v;
    rk_conv2d_forward_f64(c->y, c->x, c->w, c->b, c->col, c->N, c->C, c->H, c->W, c->OC, c->k,
                          c->s, c->p);
    return dot(c->y, c->R, (size_t)c->N * c->OC * c->OH * c->OW);
}

static void conv_fd(int N, int C, int H, int W, int OC, int k, int s, int bias)
{
    conv_ctx c = {N, C, H, W, OC, k, s, k / 2, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL};
    c.OH = (H + 2 * c.p - k) / s + 1, c.OW = (W + 2 * c.p - k) / s + 1;
    size_t nx = (size_t)N * C * H * W, nw = (size_t)OC * C * k * k, ny = (size_t)N * OC * c.OH * c.OW;
    c.x = rnd(nx, 1, 1), c.w = rnd(nw, 2, 0.5), c.b = bias ? rnd(OC, 3, 1) : NULL;
    c.R = rnd(ny, 4, 1), c.y = calloc(ny, sizeof(double));
    c.col = calloc(rk_conv2d_col_size(C, H, W, k, s, c.p), sizeof(double));
    double *dx = calloc(nx, sizeof(double)), *dw = calloc(nw, sizeof(double)),
           *db = calloc(OC, sizeof(double));
    rk_conv2d_backward_f64(dx, dw, bias ? db : NULL, c.R, c.x, c.w, c.col, N, C, H, W, OC, k, s,
                           c.p);
    fd_check("conv dx", conv_loss, &c, c.x, dx, nx);
    fd_check("conv dw", conv_loss, &c, c.w, dw, nw);
    if (bias) fd_check("conv db", conv_loss, &c, c.b, db, OC);
    free(c.x), free(c.w), free(c.b), free(c.R), free(c.y), free(c.col), free(dx), free(dw), free(db);
}

START_TEST(conv_k3_s1_gradients_match_finite_differences) { conv_fd(2, 3, 5, 6, 4, 3, 1, 1); }
END_TEST
START_TEST(conv_k3_s2_gradients_match_finite_differences) { conv_fd(2, 3, 7, 6, 2, 3, 2, 0); }
END_TEST
START_TEST(conv_k1_gradients_match_finite_differences) { conv_fd(2, 4, 3, 3, 3, 1, 1, 1); }
END_TEST

/* ---- batch norm (training mode: the statistics depend on x) ---- */
typedef struct {
    int N, C, HW;
    double *x, *g, *b, *R, *y, *mean, *var;
} bn_ctx;

static double bn_loss(void *v)
{
    bn_ctx *c = v;
    rk_batchnorm_forward_train_f64(c->y, c->mean, c->var, c->x, c->g, c->b, c->N, c->C, c->HW, 1e-5);
    return dot(c->y, c->R, (size_t)c->N * c->C * c->HW);
}

START_TEST(batchnorm_gradients_match_finite_differences)
{
    bn_ctx c = {3, 2, 5, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    size_t n = (size_t)c.N * c.C * c.HW;
    c.x = rnd(n, 1, 2), c.g = rnd(c.C, 2, 1), c.b = rnd(c.C, 3, 1), c.R = rnd(n, 4, 1);
    c.y = calloc(n, sizeof(double)), c.mean = calloc(c.C, sizeof(double));
    c.var = calloc(c.C, sizeof(double));
    double *dx = calloc(n, sizeof(double)), *dg = calloc(c.C, sizeof(double)),
           *db = calloc(c.C, sizeof(double));
    bn_loss(&c);
    rk_batchnorm_backward_f64(dx, dg, db, c.R, c.x, c.mean, c.var, c.g, c.N, c.C, c.HW, 1e-5);
    fd_check("bn dx", bn_loss, &c, c.x, dx, n);
    fd_check("bn dgamma", bn_loss, &c, c.g, dg, c.C);
    fd_check("bn dbeta", bn_loss, &c, c.b, db, c.C);
    free(c.x), free(c.g), free(c.b), free(c.R), free(c.y), free(c.mean), free(c.var);
    free(dx), free(dg), free(db);
}
END_TEST

/* ---- one-input layers without parameters ---- */
typedef enum { L_RELU, L_MAXPOOL, L_GAP, L_UPSAMPLE } simple_kind;
typedef struct {
    simple_kind kind;
    int N, C, H, W;
    size_t ny;
    double *x, *R, *y;
} simple_ctx;

static double simple_loss(void *v)
{
    simple_ctx *c = v;
    size_t nx = (size_t)c->N * c->C * c->H * c->W;
    switch (c->kind) {
    case L_RELU: rk_relu_forward_f64(c->y, c->x, nx); break;
    case L_MAXPOOL: rk_maxpool_forward_f64(c->y, c->x, c->N, c->C, c->H, c->W, 3, 2, 1); break;
    case L_GAP: rk_gap_forward_f64(c->y, c->x, c->N, c->C, c->H * c->W); break;
    case L_UPSAMPLE: rk_upsample2_forward_f64(c->y, c->x, c->N, c->C, c->H, c->W); break;
    }
    return dot(c->y, c->R, c->ny);
}

static void simple_fd(simple_kind kind, const char *what)
{
    simple_ctx c = {kind, 2, 3, 5, 4, 0, NULL, NULL, NULL};
    size_t nx = (size_t)c.N * c.C * c.H * c.W;
    c.ny = kind == L_RELU ? nx
           : kind == L_MAXPOOL ? (size_t)c.N * c.C * 3 * 2
           : kind == L_GAP ? (size_t)c.N * c.C
                           : 4 * nx;
    /* Distinct values at least 0.01 apart and away from 0: no ties, no kinks within h. */
    c.x = calloc(nx, sizeof(double));
    for (size_t i = 0; i < nx; i++) {
        size_t j = (i * 37) % nx;
        c.x[i] = (double)(j + 1) * 0.01 * (j % 2 ? 1 : -1);
    }
    c.R = rnd(c.ny, 4, 1), c.y = calloc(c.ny, sizeof(double));
    double *dx = calloc(nx, sizeof(double));
    simple_loss(&c);
    switch (kind) {
    case L_RELU: rk_relu_backward_f64(dx, c.R, c.y, nx); break;
    case L_MAXPOOL: rk_maxpool_backward_f64(dx, c.R, c.x, c.N, c.C, c.H, c.W, 3, 2, 1); break;
    case L_GAP: rk_gap_backward_f64(dx, c.R, c.N, c.C, c.H * c.W); break;
    case L_UPSAMPLE: rk_upsample2_backward_f64(dx, c.R, c.N, c.C, c.H, c.W); break;
    }
    fd_check(what, simple_loss, &c, c.x, dx, nx);
    free(c.x), free(c.R), free(c.y), free(dx);
}

START_TEST(relu_gradient_matches_finite_differences) { simple_fd(L_RELU, "relu dx"); }
END_TEST
START_TEST(maxpool_gradient_matches_finite_differences) { simple_fd(L_MAXPOOL, "maxpool dx"); }
END_TEST
START_TEST(gap_gradient_matches_finite_differences) { simple_fd(L_GAP, "gap dx"); }
END_TEST
START_TEST(upsample2_gradient_matches_finite_differences) { simple_fd(L_UPSAMPLE, "upsample dx"); }
END_TEST

typedef struct {
    size_t n;
    double *a, *b, *R, *y;
} add_ctx;

static double add_loss(void *v)
{
    add_ctx *c = v;
    rk_add_forward_f64(c->y, c->a, c->b, c->n);
    return dot(c->y, c->R, c->n);
}

START_TEST(add_gradients_match_finite_differences)
{
    add_ctx c = {24, rnd(24, 1, 1), rnd(24, 2, 1), rnd(24, 3, 1), calloc(24, sizeof(double))};
    double *da = calloc(24, sizeof(double)), *db = calloc(24, sizeof(double));
    rk_add_backward_f64(da, db, c.R, 24);
    fd_check("add da", add_loss, &c, c.a, da, 24);
    fd_check("add db", add_loss, &c, c.b, db, 24);
    free(c.a), free(c.b), free(c.R), free(c.y), free(da), free(db);
}
END_TEST

typedef struct {
    int N, I, O;
    double *x, *w, *b, *R, *y;
} lin_ctx;

static double lin_loss(void *v)
{
    lin_ctx *c = v;
    rk_linear_forward_f64(c->y, c->x, c->w, c->b, c->N, c->I, c->O);
    return dot(c->y, c->R, (size_t)c->N * c->O);
}

START_TEST(linear_gradients_match_finite_differences)
{
    lin_ctx c = {3, 5, 4, rnd(15, 1, 1), rnd(20, 2, 1), rnd(4, 3, 1), rnd(12, 4, 1),
                 calloc(12, sizeof(double))};
    double *dx = calloc(15, sizeof(double)), *dw = calloc(20, sizeof(double)),
           *db = calloc(4, sizeof(double));
    rk_linear_backward_f64(dx, dw, db, c.R, c.x, c.w, c.N, c.I, c.O);
    fd_check("linear dx", lin_loss, &c, c.x, dx, 15);
    fd_check("linear dw", lin_loss, &c, c.w, dw, 20);
    fd_check("linear db", lin_loss, &c, c.b, db, 4);
    free(c.x), free(c.w), free(c.b), free(c.R), free(c.y), free(dx), free(dw), free(db);
}
END_TEST

/* ---- the MBConv family's ops ---- */
typedef struct {
    int N, C, H, W, k, s, p, OH, OW;
    double *x, *w, *R, *y;
} dw_ctx;

static double dw_loss(void *v)
{
    dw_ctx *c = v;
    rk_dwconv2d_forward_f64(c->y, c->x, c->w, c->N, c->C, c->H, c->W, c->k, c->s, c->p);
    return dot(c->y, c->R, (size_t)c->N * c->C * c->OH * c->OW);
}

static void dwconv_fd(int N, int C, int H, int W, int k, int s)
{
    dw_ctx c = {.N = N, .C = C, .H = H, .W = W, .k = k, .s = s, .p = k / 2};
    c.OH = (H + 2 * c.p - k) / s + 1, c.OW = (W + 2 * c.p - k) / s + 1;
    size_t nx = (size_t)N * C * H * W, nw = (size_t)C * k * k, ny = (size_t)N * C * c.OH * c.OW;
    c.x = rnd(nx, 1, 1), c.w = rnd(nw, 2, 0.5), c.R = rnd(ny, 4, 1);
    c.y = calloc(ny, sizeof(double));
    double *dx = calloc(nx, sizeof(double)), *dw = calloc(nw, sizeof(double));
    rk_dwconv2d_backward_f64(dx, dw, c.R, c.x, c.w, N, C, H, W, k, s, c.p);
    fd_check("dwconv dx", dw_loss, &c, c.x, dx, nx);
    fd_check("dwconv dw", dw_loss, &c, c.w, dw, nw);
    free(c.x), free(c.w), free(c.R), free(c.y), free(dx), free(dw);
}

START_TEST(depthwise_conv_s1_gradients_match_finite_differences) { dwconv_fd(2, 3, 5, 6, 3, 1); }
END_TEST
START_TEST(depthwise_conv_s2_gradients_match_finite_differences) { dwconv_fd(2, 4, 7, 6, 3, 2); }
END_TEST

typedef struct {
    int sigmoid;
    size_t n;
    double *x, *R, *y;
} act_ctx;

static double act_loss(void *v)
{
    act_ctx *c = v;
    if (c->sigmoid) rk_sigmoid_forward_f64(c->y, c->x, c->n);
    else rk_swish_forward_f64(c->y, c->x, c->n);
    return dot(c->y, c->R, c->n);
}

/* Smooth everywhere: any inputs will do, spread over the curved part (|x| up to ~6). */
static void act_fd(int sigmoid, const char *what)
{
    act_ctx c = {sigmoid, 40, rnd(40, 1, 3), rnd(40, 2, 1), calloc(40, sizeof(double))};
    double *dx = calloc(c.n, sizeof(double));
    act_loss(&c);
    if (sigmoid) rk_sigmoid_backward_f64(dx, c.R, c.y, c.n);
    else rk_swish_backward_f64(dx, c.R, c.x, c.n);
    fd_check(what, act_loss, &c, c.x, dx, c.n);
    free(c.x), free(c.R), free(c.y), free(dx);
}

START_TEST(swish_gradient_matches_finite_differences) { act_fd(0, "swish dx"); }
END_TEST
START_TEST(sigmoid_gradient_matches_finite_differences) { act_fd(1, "sigmoid dx"); }
END_TEST

typedef struct {
    int N, C, HW;
    double *x, *s, *R, *y;
} chs_ctx;

static double chs_loss(void *v)
{
    chs_ctx *c = v;
    rk_chscale_forward_f64(c->y, c->x, c->s, c->N, c->C, c->HW);
    return dot(c->y, c->R, (size_t)c->N * c->C * c->HW);
}

START_TEST(channel_scale_gradients_match_finite_differences)
{
    chs_ctx c = {2, 3, 5, rnd(30, 1, 1), rnd(6, 2, 1), rnd(30, 3, 1), calloc(30, sizeof(double))};
    double *dx = calloc(30, sizeof(double)), *ds = calloc(6, sizeof(double));
    rk_chscale_backward_f64(dx, ds, c.R, c.x, c.s, c.N, c.C, c.HW);
    fd_check("scale dx", chs_loss, &c, c.x, dx, 30);
    fd_check("scale ds", chs_loss, &c, c.s, ds, 6);
    free(c.x), free(c.s), free(c.R), free(c.y), free(dx), free(ds);
}
END_TEST

/* ---- losses: the loss itself is the scalar ---- */
typedef struct {
    int kind; /* 0 xent, 1 focal, 2 l1, 3 nt-xent (N rows of K dims, aux[0] = tau) */
    size_t n;
    int N, K;
    int *labels;
    double *z, *aux, *mask;
} loss_ctx;

static double loss_loss(void *v)
{
    loss_ctx *c = v;
    if (c->kind == 0) return rk_softmax_xent_f64(NULL, c->z, c->labels, c->N, c->K);
    if (c->kind == 1) return rk_focal_loss_f64(NULL, c->z, c->aux, c->n);
    if (c->kind == 3) return rk_nt_xent_f64(NULL, c->z, c->N, c->K, c->aux[0]);
    return rk_masked_l1_f64(NULL, c->z, c->aux, c->mask, c->n);
}

START_TEST(softmax_xent_gradient_matches_finite_differences)
{
    int labels[4] = {2, 0, 4, 4};
    loss_ctx c = {0, 20, 4, 5, labels, rnd(20, 1, 2), NULL, NULL};
    double *dz = calloc(20, sizeof(double));
    rk_softmax_xent_f64(dz, c.z, labels, 4, 5);
    fd_check("xent dlogits", loss_loss, &c, c.z, dz, 20);
    free(c.z), free(dz);
}
END_TEST

START_TEST(focal_loss_gradient_matches_finite_differences)
{
    size_t n = 40;
    loss_ctx c = {1, n, 0, 0, NULL, rnd(n, 1, 2), calloc(n, sizeof(double)), NULL};
    rk_rng r;
    rk_rng_init(&r, 5, 5, 5);
    for (size_t i = 0; i < n; i++) c.aux[i] = i % 7 == 0 ? 1.0 : 0.95 * rk_rng_uniform(&r);
    double *dz = calloc(n, sizeof(double));
    rk_focal_loss_f64(dz, c.z, c.aux, n);
    fd_check("focal dlogits", loss_loss, &c, c.z, dz, n);
    free(c.z), free(c.aux), free(dz);
}
END_TEST

START_TEST(masked_l1_gradient_matches_finite_differences)
{
    size_t n = 30;
    loss_ctx c = {2, n, 0, 0, NULL, rnd(n, 1, 1), rnd(n, 2, 1), calloc(n, sizeof(double))};
    for (size_t i = 0; i < n; i++) c.mask[i] = i % 3 != 0;
    double *dz = calloc(n, sizeof(double));
    rk_masked_l1_f64(dz, c.z, c.aux, c.mask, n);
    fd_check("l1 dpred", loss_loss, &c, c.z, dz, n);
    free(c.z), free(c.aux), free(c.mask), free(dz);
}
END_TEST

/* Every element of z, at two temperatures: the positive pair's term, the softmax over the
 * other 2N - 2 rows, and the normalisation's Jacobian (rows of different norms). */
START_TEST(nt_xent_gradient_matches_finite_differences)
{
    const double taus[2] = {0.5, 0.1};
    for (int k = 0; k < 2; k++) {
        double tau = taus[k];
        loss_ctx c = {3, 0, 6, 4, NULL, rnd(24, 7 + (uint64_t)k, 1.5), &tau, NULL};
        double *dz = calloc(24, sizeof(double));
        double loss = rk_nt_xent_f64(dz, c.z, 6, 4, tau);
        ck_assert(isfinite(loss) && loss > 0);
        fd_check("nt-xent dz", loss_loss, &c, c.z, dz, 24);
        free(c.z), free(dz);
    }
}
END_TEST

/* Its value where it is known: with every view equal to its pair and orthogonal to every
 * other, s_pos = 1/tau and the other 2N - 2 similarities are 0, so
 * L = log(exp(1/tau) + 2N - 2) - 1/tau; an odd row count is refused. */
START_TEST(nt_xent_of_orthogonal_pairs_is_the_closed_form)
{
    double z[4 * 4] = {0}, dz[16];
    for (int i = 0; i < 4; i++) z[i * 4 + i % 2] = 2.0 + i; /* rows 0, 2 along e0; 1, 3 along e1 */
    /* pairs (0, 2) and (1, 3): pair members equal in direction, others orthogonal */
    double tau = 0.5, want = log(exp(1 / tau) + 4 - 2) - 1 / tau;
    ck_assert_double_eq_tol(rk_nt_xent_f64(dz, z, 4, 4, tau), want, 1e-12);
    ck_assert(isnan(rk_nt_xent_f64(NULL, z, 3, 4, tau)));
    ck_assert(isnan(rk_nt_xent(NULL, (const float[8]){0}, 2, 4, 0.0f)));
}
END_TEST

/* The float instance computes what the double one does (same source, float rounding). */
START_TEST(float_layers_agree_with_double_layers)
{
    int N = 2, C = 3, H = 6, W = 6, OC = 4;
    size_t nx = (size_t)N * C * H * W, nw = (size_t)OC * C * 9, ny = (size_t)N * OC * H * W;
    double *xd = rnd(nx, 1, 1), *wd = rnd(nw, 2, 0.5), *yd = calloc(ny, sizeof(double));
    double *cold = calloc(rk_conv2d_col_size(C, H, W, 3, 1, 1), sizeof(double));
    float *xf = malloc(nx * sizeof(float)), *wf = malloc(nw * sizeof(float)),
          *yf = malloc(ny * sizeof(float));
    float *colf = malloc(rk_conv2d_col_size(C, H, W, 3, 1, 1) * sizeof(float));
    for (size_t i = 0; i < nx; i++) xf[i] = (float)xd[i];
    for (size_t i = 0; i < nw; i++) wf[i] = (float)wd[i];
    rk_conv2d_forward_f64(yd, xd, wd, NULL, cold, N, C, H, W, OC, 3, 1, 1);
    rk_conv2d_forward(yf, xf, wf, NULL, colf, N, C, H, W, OC, 3, 1, 1);
    for (size_t i = 0; i < ny; i++)
        ck_assert_msg(fabs(yf[i] - yd[i]) <= 1e-5 * (1 + fabs(yd[i])), "conv[%zu] %g vs %g", i,
                      yf[i], yd[i]);
    free(xd), free(wd), free(yd), free(cold), free(xf), free(wf), free(yf), free(colf);
}
END_TEST

Suite *suite_layers(void)
{
    Suite *s = suite_create("layers");
    TCase *tc = tcase_create("finite_differences");
    tcase_add_test(tc, conv_k3_s1_gradients_match_finite_differences);
    tcase_add_test(tc, conv_k3_s2_gradients_match_finite_differences);
    tcase_add_test(tc, conv_k1_gradients_match_finite_differences);
    tcase_add_test(tc, batchnorm_gradients_match_finite_differences);
    tcase_add_test(tc, relu_gradient_matches_finite_differences);
    tcase_add_test(tc, maxpool_gradient_matches_finite_differences);
    tcase_add_test(tc, gap_gradient_matches_finite_differences);
    tcase_add_test(tc, upsample2_gradient_matches_finite_differences);
    tcase_add_test(tc, add_gradients_match_finite_differences);
    tcase_add_test(tc, linear_gradients_match_finite_differences);
    tcase_add_test(tc, depthwise_conv_s1_gradients_match_finite_differences);
    tcase_add_test(tc, depthwise_conv_s2_gradients_match_finite_differences);
    tcase_add_test(tc, swish_gradient_matches_finite_differences);
    tcase_add_test(tc, sigmoid_gradient_matches_finite_differences);
    tcase_add_test(tc, channel_scale_gradients_match_finite_differences);
    tcase_add_test(tc, softmax_xent_gradient_matches_finite_differences);
    tcase_add_test(tc, focal_loss_gradient_matches_finite_differences);
    tcase_add_test(tc, masked_l1_gradient_matches_finite_differences);
    tcase_add_test(tc, nt_xent_gradient_matches_finite_differences);
    tcase_add_test(tc, nt_xent_of_orthogonal_pairs_is_the_closed_form);
    tcase_add_test(tc, float_layers_agree_with_double_layers);
    suite_add_tcase(s, tc);
    return s;
}
