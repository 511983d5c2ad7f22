/* The segmentation head's two ops, written once over the element type T and compiled twice
 * by segment.c: float for training, double (suffix _f64) so that finite-difference tests
 * check the backward formulas in double precision. FN(name) gives the function's name.
 * Layouts are plain NCHW; labels are one byte per pixel (class index or RK_SEG_IGNORE). */

/* PyTorch's bilinear resize with align_corners = False (F.interpolate's default): output
 * pixel o samples the input at s = max(0, (o + 0.5) * in / out - 0.5) between floor(s) and
 * the next pixel (the last one repeats). */
static void FN(taps)(int o, int in, int out, int *i0, int *i1, T *l)
{
    T s = (T)((o + 0.5) * in / out - 0.5);
    if (s < 0) s = 0;
    *i0 = (int)s;
    if (*i0 > in - 1) *i0 = in - 1;
    *i1 = *i0 + 1 < in ? *i0 + 1 : *i0;
    *l = s - (T)*i0;
}

void FN(rk_upsample_bilinear_forward)(T *out /* (NC, OH, OW) */, const T *in /* (NC, H, W) */,
                                      int NC, int H, int W, int OH, int OW)
{
    for (int c = 0; c < NC; c++) {
        const T *p = in + (size_t)c * H * W;
        T *o = out + (size_t)c * OH * OW;
        for (int y = 0; y < OH; y++) {
            int y0, y1;
            T ly;
            FN(taps)(y, H, OH, &y0, &y1, &ly);
            for (int x = 0; x < OW; x++) {
                int x0, x1;
                T lx;
                FN(taps)(x, W, OW, &x0, &x1, &lx);
                o[(size_t)y * OW + x] =
                    (1 - ly) * ((1 - lx) * p[y0 * W + x0] + lx * p[y0 * W + x1]) +
                    ly * ((1 - lx) * p[y1 * W + x0] + lx * p[y1 * W + x1]);
            }
        }
    }
}

/* Accumulates into din. */
void FN(rk_upsample_bilinear_backward)(T *din /* (NC, H, W) */, const T *dout /* (NC, OH, OW) */,
                                       int NC, int H, int W, int OH, int OW)
{
    for (int c = 0; c < NC; c++) {
        T *d = din + (size_t)c * H * W;
        const T *g = dout + (size_t)c * OH * OW;
        for (int y = 0; y < OH; y++) {
            int y0, y1;
            T ly;
            FN(taps)(y, H, OH, &y0, &y1, &ly);
            for (int x = 0; x < OW; x++) {
                int x0, x1;
                T lx;
                FN(taps)(x, W, OW, &x0, &x1, &lx);
                T v = g[(size_t)y * OW + x];
                d[y0 * W + x0] += (1 - ly) * (1 - lx) * v;
                d[y0 * W + x1] += (1 - ly) * lx * v;
                d[y1 * W + x0] += ly * (1 - lx) * v;
                d[y1 * W + x1] += ly * lx * v;
            }
        }
    }
}

/* Per-pixel softmax cross-entropy over K classes, mean over the pixels whose label is not
 * RK_SEG_IGNORE (PyTorch's F.cross_entropy(ignore_index = 255), reduction 'mean'); 0 with a
 * zero gradient when every pixel is ignored. Writes (does not accumulate) dlogits. A label
 * >= K other than the ignore value is a caller's bug (asserted). */
T FN(rk_seg_xent)(T *dlogits /* (N, K, HW) */, const T *logits /* (N, K, HW) */,
                  const uint8_t *labels /* (N, HW) */, int N, int K, size_t HW)
{
    size_t valid = 0;
    for (size_t i = 0; i < (size_t)N * HW; i++) valid += labels[i] != RK_SEG_IGNORE;
    double loss = 0;
    for (int n = 0; n < N; n++) {
        const T *z = logits + (size_t)n * K * HW;
        T *dz = dlogits + (size_t)n * K * HW;
        for (size_t p = 0; p < HW; p++) {
            int y = labels[(size_t)n * HW + p];
            if (y == RK_SEG_IGNORE) {
                for (int k = 0; k < K; k++) dz[k * HW + p] = 0;
                continue;
            }
            assert(y < K);
            T m = z[p];
            for (int k = 1; k < K; k++) m = z[k * HW + p] > m ? z[k * HW + p] : m;
            double sum = 0;
            for (int k = 0; k < K; k++) sum += exp((double)(z[k * HW + p] - m));
            loss += log(sum) - (double)(z[(size_t)y * HW + p] - m);
            for (int k = 0; k < K; k++)
                dz[k * HW + p] = (T)((exp((double)(z[k * HW + p] - m)) / sum - (k == y)) / valid);
        }
    }
    return valid ? (T)(loss / valid) : 0;
}
