/* Training throughput of the reference detector on synthetic input: one full step per batch
 * (forward, CenterNet loss, backward, SGD with momentum), as in a trial but without data
 * loading and augmentation. `rethink bench train` prints it (bench/torch_train.py is its
 * PyTorch twin) and `rethink sweep --dry-run` estimates a study's time on this machine from
 * it. The input, targets and initialisation are fixed (seed 1), so the final loss is a
 * checksum of the arithmetic: the same for the same backend and thread count. */
#include <stdlib.h>

#include "rethink/model.h"

int rk_refnet_bench(const rk_refnet_cfg *cfg, int batch, rk_backend backend, int threads,
                    int warmup, int steps, rk_train_bench *res, rk_err *err)
{
    rk_net *net;
    int rc = rk_refnet_detector(&net, cfg, err);
    if (rc) return rc;
    rc = rk_net_plan(net, batch, backend, threads, err);
    if (rc) {
        rk_net_free(net);
        return rc;
    }
    rk_refnet_init(net, cfg, 1);
    int oshape[4];
    rk_net_output_shape(net, oshape);
    int C = cfg->num_classes, H = oshape[2], W = oshape[3], size = cfg->in_size;
    size_t HW = (size_t)H * W, nin = (size_t)batch * cfg->in_channels * size * size;
    float *x = malloc(nin * sizeof(float));
    float *dout = malloc((size_t)batch * (C + 4) * HW * sizeof(float));
    float *heat = malloc((size_t)batch * C * HW * sizeof(float));
    float *reg = malloc((size_t)batch * 4 * HW * sizeof(float));
    float *mask = malloc((size_t)batch * HW * sizeof(float));
    float *scratch = malloc((size_t)(2 * C + 8) * batch * HW * sizeof(float));
    if (!x || !dout || !heat || !reg || !mask || !scratch) {
        rc = rk_errf(err, RK_ENOMEM, "bench: out of memory");
        goto done;
    }
    rk_rng r;
    rk_rng_init(&r, 1, 1, 0);
    for (size_t i = 0; i < nin; i++) x[i] = rk_rng_normal(&r);
    for (size_t i = 0; i < (size_t)batch * C * HW; i++) heat[i] = 0.9f * rk_rng_uniform(&r);
    for (int n = 0; n < batch; n++)
        for (int c = 0; c < C; c++) heat[((size_t)n * C + c) * HW + (H / 2) * W + W / 2] = 1;
    for (size_t i = 0; i < (size_t)batch * 4 * HW; i++) reg[i] = rk_rng_normal(&r);
    for (size_t i = 0; i < (size_t)batch * HW; i++) mask[i] = rk_rng_uniform(&r) < 0.1f;
    rk_sgd opt = {.lr = 0.01f, .momentum = 0.9f, .weight_decay = 1e-4f, .decay_all = 1};
    float loss = 0;
    double t0 = rk_now(), c0 = rk_cpu_now();
    for (int s = 0; s < warmup + steps; s++) {
        if (s == warmup) t0 = rk_now(), c0 = rk_cpu_now();
        const float *out = rk_net_forward(net, x, 1);
        if (!out) {
            rc = rk_errf(err, RK_EDNNL, "bench: forward pass failed (oneDNN)");
            goto done;
        }
        loss = rk_centernet_loss(dout, out, heat, reg, mask, batch, C, H, W, 0.1f, 1.0f, NULL,
                                 scratch);
        rk_net_zero_grad(net);
        if (rk_net_backward(net, dout)) {
            rc = rk_errf(err, RK_EDNNL, "bench: backward pass failed (oneDNN)");
            goto done;
        }
        rk_sgd_step(net, &opt);
    }
    double dt = rk_now() - t0;
    *res = (rk_train_bench){.img_per_s = (double)steps * batch / dt,
                            .seconds = dt,
                            .cpu_seconds = rk_cpu_now() - c0,
                            .final_loss = loss};
    res->gflop_per_s = 3 * 2 * rk_refnet_macs(cfg, 1) * res->img_per_s * 1e-9;
done:
    free(x), free(dout), free(heat), free(reg), free(mask), free(scratch);
    rk_net_free(net);
    return rc;
}
