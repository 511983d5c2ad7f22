/* Reference layer and loss implementations, written once and instantiated twice:
 * in float (the public rk_* functions, used by the REF backend) and in double
 * (rk_*_f64, used only by the finite-difference gradient tests, so that the analytic
 * backward formulas are checked in double precision).
 *
 * The including file defines:
 *   T        element type (float or double)
 *   FN(x)    function name for x (x or x##_f64)
 *   GEMM     cblas_sgemm or cblas_dgemm
 *   MATH(f)  f##f or f (expf / exp ...)
 * Layout is plain NCHW everywhere. Backward functions accumulate.
 */
#include <stdlib.h>

static void FN(im2col)(T *col, const T *im, int C, int H, int W, int k, int s, int p)
{
    int OH = (H + 2 * p - k) / s + 1, OW = (W + 2 * p - k) / s + 1;
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                T *row = col + ((size_t)(c * k + ky) * k + kx) * OH * OW;
                const T *src = im + (size_t)c * H * W;
                for (int oy = 0; oy < OH; oy++) {
                    int iy = oy * s - p + ky;
                    for (int ox = 0; ox < OW; ox++) {
                        int ix = ox * s - p + kx;
                        row[oy * OW + ox] =
                            (iy >= 0 && iy < H && ix >= 0 && ix < W) ? src[iy * W + ix] : 0;
                    }
                }
            }
}

static void FN(col2im_add)(T *im, const T *col, int C, int H, int W, int k, int s, int p)
{
    int OH = (H + 2 * p - k) / s + 1, OW = (W + 2 * p - k) / s + 1;
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                const T *row = col + ((size_t)(c * k + ky) * k + kx) * OH * OW;
                T *dst = im + (size_t)c * H * W;
                for (int oy = 0; oy < OH; oy++) {
                    int iy = oy * s - p + ky;
                    if (iy < 0 || iy >= H) continue;
                    for (int ox = 0; ox < OW; ox++) {
                        int ix = ox * s - p + kx;
                        if (ix >= 0 && ix < W) dst[iy * W + ix] += row[oy * OW + ox];
                    }
                }
            }
}

void FN(rk_conv2d_forward)(T *out, const T *in, const T *w, const T *b, T *col, int N,
                           int C, int H, int W, int OC, int k, int s, int p)
{
    int OH = (H + 2 * p - k) / s + 1, OW = (W + 2 * p - k) / s + 1;
    int K = C * k * k, P = OH * OW;
    for (int n = 0; n < N; n++) {
        FN(im2col)(col, in + (size_t)n * C * H * W, C, H, W, k, s, p);
        T *o = out + (size_t)n * OC * P;
        /* o (OC, P) = w (OC, K) x col (K, P) */
        GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, P, K, 1, w, K, col, P, 0, o, P);
        if (b)
            for (int oc = 0; oc < OC; oc++)
                for (int i = 0; i < P; i++) o[(size_t)oc * P + i] += b[oc];
    }
}

void FN(rk_conv2d_backward)(T *din, T *dw, T *db, const T *dout, const T *in, const T *w,
                            T *col, int N, int C, int H, int W, int OC, int k, int s, int p)
{
    int OH = (H + 2 * p - k) / s + 1, OW = (W + 2 * p - k) / s + 1;
    int K = C * k * k, P = OH * OW;
    for (int n = 0; n < N; n++) {
        const T *d = dout + (size_t)n * OC * P;
        if (db)
            for (int oc = 0; oc < OC; oc++) {
                T acc = 0;
                for (int i = 0; i < P; i++) acc += d[(size_t)oc * P + i];
                db[oc] += acc;
            }
        FN(im2col)(col, in + (size_t)n * C * H * W, C, H, W, k, s, p);
        /* dw (OC, K) += d (OC, P) x col^T (P, K) */
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, OC, K, P, 1, d, P, col, P, 1, dw, K);
        if (din) {
            /* dcol (K, P) = w^T (K, OC) x d (OC, P) */
            GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, OC, 1, w, K, d, P, 0, col, P);
            FN(col2im_add)(din + (size_t)n * C * H * W, col, C, H, W, k, s, p);
        }
    }
}

void FN(rk_batchnorm_forward_train)(T *out, T *mean, T *var, const T *in, const T *gamma,
                                    const T *beta, int N, int C, int HW, T eps)
{
    double M = (double)N * HW;
    for (int c = 0; c < C; c++) {
        double sum = 0, sq = 0;
        for (int n = 0; n < N; n++) {
            const T *x = in + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) sum += x[i];
        }
        double mu = sum / M;
        for (int n = 0; n < N; n++) {
            const T *x = in + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) sq += (x[i] - mu) * (x[i] - mu);
        }
        T is = (T)(1.0 / sqrt(sq / M + eps));
        mean[c] = (T)mu;
        var[c] = (T)(sq / M);
        T a = gamma[c] * is, bb = beta[c] - (T)mu * a;
        for (int n = 0; n < N; n++) {
            const T *x = in + ((size_t)n * C + c) * HW;
            T *y = out + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) y[i] = x[i] * a + bb;
        }
    }
}

void FN(rk_batchnorm_forward_eval)(T *out, const T *in, const T *gamma, const T *beta,
                                   const T *run_mean, const T *run_var, int N, int C, int HW,
                                   T eps)
{
    for (int c = 0; c < C; c++) {
        T a = gamma[c] / MATH(sqrt)(run_var[c] + eps), bb = beta[c] - run_mean[c] * a;
        for (int n = 0; n < N; n++) {
            const T *x = in + ((size_t)n * C + c) * HW;
            T *y = out + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) y[i] = x[i] * a + bb;
        }
    }
}

void FN(rk_batchnorm_backward)(T *din, T *dgamma, T *dbeta, const T *dout, const T *in,
                               const T *mean, const T *var, const T *gamma, int N, int C,
                               int HW, T eps)
{
    double M = (double)N * HW;
    for (int c = 0; c < C; c++) {
        T is = (T)(1.0 / sqrt((double)var[c] + eps));
        double sdy = 0, sdyx = 0;
        for (int n = 0; n < N; n++) {
            const T *x = in + ((size_t)n * C + c) * HW, *dy = dout + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) {
                sdy += dy[i];
                sdyx += dy[i] * (x[i] - mean[c]) * is;
            }
        }
        dgamma[c] += (T)sdyx;
        dbeta[c] += (T)sdy;
        if (!din) continue;
        /* dx = gamma*invstd/M * (M*dy - sum(dy) - xhat*sum(dy*xhat)) */
        T k = gamma[c] * is;
        T mdy = (T)(sdy / M), mdyx = (T)(sdyx / M);
        for (int n = 0; n < N; n++) {
            const T *x = in + ((size_t)n * C + c) * HW, *dy = dout + ((size_t)n * C + c) * HW;
            T *dx = din + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) {
                T xhat = (x[i] - mean[c]) * is;
                dx[i] += k * (dy[i] - mdy - xhat * mdyx);
            }
        }
    }
}

void FN(rk_relu_forward)(T *out, const T *in, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = in[i] > 0 ? in[i] : 0;
}

void FN(rk_relu_backward)(T *din, const T *dout, const T *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (out[i] > 0) din[i] += dout[i];
}

void FN(rk_maxpool_forward)(T *out, const T *in, int N, int C, int H, int W, int k, int s,
                            int p)
{
    int OH = (H + 2 * p - k) / s + 1, OW = (W + 2 * p - k) / s + 1;
    for (size_t nc = 0; nc < (size_t)N * C; nc++) {
        const T *x = in + nc * H * W;
        T *y = out + nc * OH * OW;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                T m = -INFINITY;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        int iy = oy * s - p + ky, ix = ox * s - p + kx;
                        if (iy >= 0 && iy < H && ix >= 0 && ix < W && x[iy * W + ix] > m)
                            m = x[iy * W + ix];
                    }
                y[oy * OW + ox] = m;
            }
    }
}

/* The gradient goes to the first maximum in scan order, as PyTorch's CPU kernel does. */
void FN(rk_maxpool_backward)(T *din, const T *dout, const T *in, int N, int C, int H, int W,
                             int k, int s, int p)
{
    int OH = (H + 2 * p - k) / s + 1, OW = (W + 2 * p - k) / s + 1;
    for (size_t nc = 0; nc < (size_t)N * C; nc++) {
        const T *x = in + nc * H * W;
        const T *dy = dout + nc * OH * OW;
        T *dx = din + nc * H * W;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                T m = -INFINITY;
                int arg = -1;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        int iy = oy * s - p + ky, ix = ox * s - p + kx;
                        if (iy >= 0 && iy < H && ix >= 0 && ix < W && x[iy * W + ix] > m) {
                            m = x[iy * W + ix];
                            arg = iy * W + ix;
                        }
                    }
                if (arg >= 0) dx[arg] += dy[oy * OW + ox];
            }
    }
}

void FN(rk_gap_forward)(T *out, const T *in, int N, int C, int HW)
{
    for (size_t nc = 0; nc < (size_t)N * C; nc++) {
        T acc = 0;
        for (int i = 0; i < HW; i++) acc += in[nc * HW + i];
        out[nc] = acc / HW;
    }
}

void FN(rk_gap_backward)(T *din, const T *dout, int N, int C, int HW)
{
    for (size_t nc = 0; nc < (size_t)N * C; nc++)
        for (int i = 0; i < HW; i++) din[nc * HW + i] += dout[nc] / HW;
}

void FN(rk_upsample2_forward)(T *out, const T *in, int N, int C, int H, int W)
{
    for (size_t nc = 0; nc < (size_t)N * C; nc++)
        for (int y = 0; y < 2 * H; y++)
            for (int x = 0; x < 2 * W; x++)
                out[(nc * 2 * H + y) * 2 * W + x] = in[(nc * H + y / 2) * W + x / 2];
}

void FN(rk_upsample2_backward)(T *din, const T *dout, int N, int C, int H, int W)
{
    for (size_t nc = 0; nc < (size_t)N * C; nc++)
        for (int y = 0; y < 2 * H; y++)
            for (int x = 0; x < 2 * W; x++)
                din[(nc * H + y / 2) * W + x / 2] += dout[(nc * 2 * H + y) * 2 * W + x];
}

void FN(rk_add_forward)(T *out, const T *a, const T *b, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void FN(rk_add_backward)(T *da, T *db, const T *dout, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        da[i] += dout[i];
        db[i] += dout[i];
    }
}

void FN(rk_linear_forward)(T *out, const T *in, const T *w, const T *b, int N, int IN, int OUT)
{
    /* out (N, OUT) = in (N, IN) x w^T (IN, OUT) */
    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, N, OUT, IN, 1, in, IN, w, IN, 0, out, OUT);
    if (b)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OUT; o++) out[(size_t)n * OUT + o] += b[o];
}

void FN(rk_linear_backward)(T *din, T *dw, T *db, const T *dout, const T *in, const T *w,
                            int N, int IN, int OUT)
{
    /* dw (OUT, IN) += dout^T (OUT, N) x in (N, IN); din (N, IN) += dout (N, OUT) x w (OUT, IN) */
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, OUT, IN, N, 1, dout, OUT, in, IN, 1, dw, IN);
    if (din) GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, IN, OUT, 1, dout, OUT, w, IN, 1, din, IN);
    if (db)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < OUT; o++) db[o] += dout[(size_t)n * OUT + o];
}

T FN(rk_softmax_xent)(T *dlogits, const T *logits, const int *labels, int N, int K)
{
    double loss = 0;
    for (int n = 0; n < N; n++) {
        const T *z = logits + (size_t)n * K;
        T m = z[0];
        for (int k = 1; k < K; k++) m = z[k] > m ? z[k] : m;
        double se = 0;
        for (int k = 0; k < K; k++) se += MATH(exp)(z[k] - m);
        loss += log(se) + m - z[labels[n]];
        if (dlogits)
            for (int k = 0; k < K; k++)
                dlogits[(size_t)n * K + k] =
                    (T)((MATH(exp)(z[k] - m) / se - (k == labels[n])) / N);
    }
    return (T)(loss / N);
}

T FN(rk_focal_loss)(T *dlogits, const T *logits, const T *gt, size_t n)
{
    const T lo = (T)1e-4, hi = (T)(1 - 1e-4);
    double pos = 0, neg = 0;
    size_t npos = 0;
    for (size_t i = 0; i < n; i++) npos += gt[i] == 1;
    T norm = (T)(npos > 0 ? npos : 1);
    for (size_t i = 0; i < n; i++) {
        T s = 1 / (1 + MATH(exp)(-logits[i]));
        T p = s < lo ? lo : (s > hi ? hi : s);
        T dp; /* d loss_i / d p */
        if (gt[i] == 1) {
            pos += MATH(log)(p) * (1 - p) * (1 - p);
            dp = -(2 * (p - 1) * MATH(log)(p) + (1 - p) * (1 - p) / p);
        } else {
            T om = 1 - gt[i], w = om * om * om * om;
            neg += MATH(log)(1 - p) * p * p * w;
            dp = -w * (2 * p * MATH(log)(1 - p) - p * p / (1 - p));
        }
        if (dlogits) dlogits[i] = (s >= lo && s <= hi) ? dp * s * (1 - s) / norm : 0;
    }
    return (T)(-(pos + neg) / norm);
}

T FN(rk_masked_l1)(T *dpred, const T *pred, const T *target, const T *mask, size_t n)
{
    double msum = 0, acc = 0;
    for (size_t i = 0; i < n; i++) msum += mask[i];
    T norm = (T)(msum + 1e-4);
    for (size_t i = 0; i < n; i++) {
        T d = pred[i] - target[i];
        acc += mask[i] * MATH(fabs)(d);
        if (dpred) dpred[i] = mask[i] * (T)((d > 0) - (d < 0)) / norm;
    }
    return (T)(acc / norm);
}

/* NT-Xent: row i's positive is row (i + M/2) mod M (the other view of the same image); the
 * similarities are cosines over tau, computed in double whatever T is. */
T FN(rk_nt_xent)(T *dz, const T *z, int M, int D, T tau)
{
    if (M < 2 || M % 2 || D < 1 || !(tau > 0)) return (T)NAN;
    int N = M / 2;
    double *u = malloc((size_t)M * D * sizeof *u), *nrm = malloc((size_t)M * sizeof *nrm);
    double *p = malloc((size_t)M * M * sizeof *p), *du = malloc((size_t)D * sizeof *du);
    double loss = NAN;
    if (!u || !nrm || !p || !du) goto done;
    /* u_i = z_i / max(|z_i|, 1e-12), as torch.nn.functional.normalize */
    for (int i = 0; i < M; i++) {
        double ss = 0;
        for (int d = 0; d < D; d++) ss += (double)z[(size_t)i * D + d] * z[(size_t)i * D + d];
        nrm[i] = sqrt(ss) > 1e-12 ? sqrt(ss) : 1e-12;
        for (int d = 0; d < D; d++) u[(size_t)i * D + d] = z[(size_t)i * D + d] / nrm[i];
    }
    /* p_ij = softmax over j != i of s_ij = u_i . u_j / tau; l_i = -log p_i,pos(i) */
    loss = 0;
    for (int i = 0; i < M; i++) {
        double *row = p + (size_t)i * M, m = -INFINITY, se = 0;
        for (int j = 0; j < M; j++) {
            double s = 0;
            for (int d = 0; d < D; d++) s += u[(size_t)i * D + d] * u[(size_t)j * D + d];
            row[j] = s / tau;
            if (j != i && row[j] > m) m = row[j];
        }
        for (int j = 0; j < M; j++) se += j == i ? 0 : exp(row[j] - m);
        loss += log(se) + m - row[(i + N) % M];
        for (int j = 0; j < M; j++) row[j] = j == i ? 0 : exp(row[j] - m) / se;
    }
    loss /= M;
    if (!dz) goto done;
    /* G_ij = dL/ds_ij = (p_ij - [j = pos(i)]) / M; dL/du_i = sum_j (G_ij + G_ji) u_j / tau;
     * dz_i = (du_i - u_i (u_i . du_i)) / |z_i| (the normalisation's Jacobian; below the
     * 1e-12 floor the norm is a constant and only the division remains) */
    for (int i = 0; i < M; i++) {
        for (int d = 0; d < D; d++) du[d] = 0;
        for (int j = 0; j < M; j++) {
            double g = (p[(size_t)i * M + j] - (j == (i + N) % M)) +
                       (p[(size_t)j * M + i] - (i == (j + N) % M));
            g /= (double)M * tau;
            for (int d = 0; d < D; d++) du[d] += g * u[(size_t)j * D + d];
        }
        double proj = 0;
        if (nrm[i] > 1e-12)
            for (int d = 0; d < D; d++) proj += u[(size_t)i * D + d] * du[d];
        for (int d = 0; d < D; d++)
            dz[(size_t)i * D + d] = (T)((du[d] - u[(size_t)i * D + d] * proj) / nrm[i]);
    }
done:
    free(u), free(nrm), free(p), free(du);
    return (T)loss;
}

/* Depthwise convolution (groups = C, one k x k filter per channel, no bias): the MBConv
 * family's spatial op. Direct loops: the reference, not the fast path. */
void FN(rk_dwconv2d_forward)(T *out, const T *in, const T *w, int N, int C, int H, int W,
                             int k, int s, int p)
{
    int OH = (H + 2 * p - k) / s + 1, OW = (W + 2 * p - k) / s + 1;
    for (size_t nc = 0; nc < (size_t)N * C; nc++) {
        const T *x = in + nc * H * W, *f = w + (nc % C) * k * k;
        T *y = out + nc * OH * OW;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                T acc = 0;
                for (int ky = 0; ky < k; ky++) {
                    int iy = oy * s - p + ky;
                    if (iy < 0 || iy >= H) continue;
                    for (int kx = 0; kx < k; kx++) {
                        int ix = ox * s - p + kx;
                        if (ix >= 0 && ix < W) acc += f[ky * k + kx] * x[iy * W + ix];
                    }
                }
                y[oy * OW + ox] = acc;
            }
    }
}

void FN(rk_dwconv2d_backward)(T *din, T *dw, const T *dout, const T *in, const T *w, int N,
                              int C, int H, int W, int k, int s, int p)
{
    int OH = (H + 2 * p - k) / s + 1, OW = (W + 2 * p - k) / s + 1;
    for (size_t nc = 0; nc < (size_t)N * C; nc++) {
        const T *x = in + nc * H * W, *f = w + (nc % C) * k * k, *dy = dout + nc * OH * OW;
        T *df = dw + (nc % C) * k * k, *dx = din ? din + nc * H * W : NULL;
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                T g = dy[oy * OW + ox];
                for (int ky = 0; ky < k; ky++) {
                    int iy = oy * s - p + ky;
                    if (iy < 0 || iy >= H) continue;
                    for (int kx = 0; kx < k; kx++) {
                        int ix = ox * s - p + kx;
                        if (ix < 0 || ix >= W) continue;
                        df[ky * k + kx] += g * x[iy * W + ix];
                        if (dx) dx[iy * W + ix] += g * f[ky * k + kx];
                    }
                }
            }
    }
}

/* swish(x) = x * sigmoid(x) (SiLU); backward needs the input. */
void FN(rk_swish_forward)(T *out, const T *in, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = in[i] / (1 + MATH(exp)(-in[i]));
}

void FN(rk_swish_backward)(T *din, const T *dout, const T *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        T sg = 1 / (1 + MATH(exp)(-in[i]));
        din[i] += dout[i] * sg * (1 + in[i] * (1 - sg));
    }
}

/* sigmoid; backward uses the forward OUTPUT, so in-place forward is allowed. */
void FN(rk_sigmoid_forward)(T *out, const T *in, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = 1 / (1 + MATH(exp)(-in[i]));
}

void FN(rk_sigmoid_backward)(T *din, const T *dout, const T *out, size_t n)
{
    for (size_t i = 0; i < n; i++) din[i] += dout[i] * out[i] * (1 - out[i]);
}

/* Channel scale (squeeze-and-excitation's excite): out[n,c,:] = in[n,c,:] * s[n,c]. */
void FN(rk_chscale_forward)(T *out, const T *in, const T *s, int N, int C, int HW)
{
    for (size_t nc = 0; nc < (size_t)N * C; nc++)
        for (int i = 0; i < HW; i++) out[nc * HW + i] = in[nc * HW + i] * s[nc];
}

void FN(rk_chscale_backward)(T *din, T *ds, const T *dout, const T *in, const T *s, int N,
                             int C, int HW)
{
    for (size_t nc = 0; nc < (size_t)N * C; nc++) {
        double acc = 0;
        for (int i = 0; i < HW; i++) {
            acc += (double)dout[nc * HW + i] * in[nc * HW + i];
            if (din) din[nc * HW + i] += dout[nc * HW + i] * s[nc];
        }
        if (ds) ds[nc] += (T)acc;
    }
}
