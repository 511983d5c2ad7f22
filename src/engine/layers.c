/* The float instance of the reference layers (see layers_impl.h): the public rk_* layer
 * and loss functions of include/rethink/engine.h. */
#include <cblas.h>
#include <math.h>

#include "rethink/engine.h"

#define T float
#define FN(x) x
#define GEMM cblas_sgemm
#define MATH(fn) fn##f
#include "layers_impl.h"

size_t rk_conv2d_col_size(int C, int H, int W, int k, int s, int p)
{
    size_t OH = (size_t)(H + 2 * p - k) / s + 1, OW = (size_t)(W + 2 * p - k) / s + 1;
    return (size_t)C * k * k * OH * OW;
}

void rk_batchnorm_update_running(float *run_mean, float *run_var, const float *mean,
                                 const float *var, int C, size_t count, float momentum)
{
    for (int c = 0; c < C; c++) {
        double unbiased = count > 1 ? (double)var[c] * count / (count - 1) : var[c];
        run_mean[c] = (1 - momentum) * run_mean[c] + momentum * mean[c];
        run_var[c] = (float)((1 - momentum) * run_var[c] + momentum * unbiased);
    }
}
