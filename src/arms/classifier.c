/* Supervised classification pre-training of the backbone on the source images (the paper's
 * ImageNet pre-training analog) and its accuracy. Batches come from the same endless
 * permutation stream as the detector's; augmentation keyed by (seed, epoch, image index). */
#include "arms_internal.h"

int rk_classifier_train(rk_net *net, const rk_refnet_cfg *model, const rk_source *src,
                        const size_t *idx, size_t n, const int *cls, const rk_policy *pol,
                        const rk_schedule *s, uint64_t seed, int threads,
                        const rk_train_hooks *hooks, rk_err *err)
{
    if (n == 0) return rk_errf(err, RK_EINVAL, "pre-training: no labelled source images");
    int B = s->batch, S = model->in_size, K = model->num_classes;
    if (B <= 0 || B > 4096 || s->epochs <= 0)
        return rk_errf(err, RK_EINVAL, "pre-training: bad batch (%d) or epochs (%d)", B, s->epochs);
    for (size_t i = 0; i < n; i++)
        if (cls[idx[i]] < 0 || cls[idx[i]] >= K)
            return rk_errf(err, RK_EINVAL, "pre-training: %s has class %d, the model has %d",
                           src->files[idx[i]], cls[idx[i]], K);
    int rc = rk_net_plan(net, B, rk_schedule_backend(s), threads, err);
    if (rc) return rc;
    rk_stream st = {n, seed, -1, malloc(n * sizeof(size_t))};
    float *x = malloc((size_t)B * 3 * S * S * sizeof(float));
    float *dlog = malloc((size_t)B * K * sizeof(float));
    int *lab = malloc((size_t)B * sizeof(int));
    rk_image *slot = calloc((size_t)B, sizeof *slot);
    size_t *which = malloc((size_t)B * sizeof *which);
    long *ep = malloc((size_t)B * sizeof *ep);
    if (!st.perm || !x || !dlog || !lab || !slot || !which || !ep) {
        rc = rk_errf(err, RK_ENOMEM, "pre-training: out of memory");
        goto done;
    }
    for (int b = 0; b < B; b++)
        if ((rc = rk_image_alloc(&slot[b], S, S, 3, err))) goto done;
    rk_sgd opt = {.lr = (float)s->lr, .momentum = (float)s->momentum,
                  .weight_decay = (float)s->weight_decay, .decay_all = s->decay_all};
    long spe = (long)((n + (size_t)B - 1) / (size_t)B), total = spe * s->epochs;
    long warm = (long)(s->warmup_frac * (double)total), images = 0;
    double t0 = rk_now(), sloss = 0, sacc = 0;
    long nsum = 0;
    for (long step = 0; step < total; step++) {
        for (int b = 0; b < B; b++) which[b] = idx[rk_stream_at(&st, (size_t)step * B + b, &ep[b])];
        int bad = 0;
        rk_err first = {0};
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (int b = 0; b < B; b++) {
            rk_err e = {0};
            size_t i = which[b], on = 0;
            int r = rk_augment(pol, &src->images[i], NULL, 0, seed, (uint64_t)ep[b], i, &slot[b],
                               NULL, &on, NULL, &e);
            if (r) {
#pragma omp critical
                if (!bad) bad = 1, first = e;
                continue;
            }
            rk_image_to_input(x + (size_t)b * 3 * S * S, &slot[b]);
            lab[b] = cls[i];
        }
        if (bad) {
            if (err) *err = first;
            rc = first.rc ? first.rc : RK_EINVAL;
            goto done;
        }
        opt.lr = rk_lr_schedule((float)s->lr, (float)s->warmup_init, warm, step, total);
        const float *out = rk_net_forward(net, x, 1);
        if (!out) {
            rc = rk_errf(err, RK_EDNNL, "pre-training: forward pass failed");
            goto done;
        }
        float loss = rk_softmax_xent(dlog, out, lab, B, K);
        if (!isfinite(loss)) {
            rc = rk_errf(err, RK_EDIVERGED, "pre-training diverged at step %ld", step);
            goto done;
        }
        int correct = 0;
        for (int b = 0; b < B; b++) {
            int arg = 0;
            for (int k = 1; k < K; k++)
                if (out[(size_t)b * K + k] > out[(size_t)b * K + arg]) arg = k;
            correct += arg == lab[b];
        }
        rk_net_zero_grad(net);
        if ((rc = rk_net_backward(net, dlog))) {
            rk_errf(err, rc, "pre-training: backward pass failed");
            goto done;
        }
        if (s->clip > 0) rk_clip_grad_norm(net, (float)s->clip);
        rk_sgd_step(net, &opt);
        images += B;
        sloss += loss, sacc += (double)correct / B, nsum++;
        if (hooks && hooks->step && (step % 8 == 0 || step + 1 == total))
            hooks->step(hooks->ctx, step + 1, total, loss);
        if ((step + 1) % spe == 0) {
            double t = rk_now() - t0;
            rk_epoch_stats es = {.epoch = (int)((step + 1) / spe), .epochs = s->epochs,
                                 .loss = sloss / nsum, .focal = sacc / nsum, .lr = opt.lr,
                                 .img_per_s = images / t, .seconds = t, .images = images};
            sloss = sacc = 0, nsum = 0;
            if (hooks && hooks->epoch_end && hooks->epoch_end(hooks->ctx, &es)) break;
        }
    }
done:
    if (slot)
        for (int b = 0; b < B; b++) rk_image_free(&slot[b]);
    free(slot), free(st.perm), free(x), free(dlog), free(lab), free(which), free(ep);
    return rc;
}

int rk_classifier_accuracy(rk_net *net, const rk_refnet_cfg *model, const rk_source *src,
                           const size_t *idx, size_t n, const int *cls, const uint8_t pad[3],
                           int threads, double *acc, rk_err *err)
{
    int S = model->in_size, K = model->num_classes, N = n < 64 ? (int)(n ? n : 1) : 64;
    int rc = rk_net_plan(net, N, RK_BACKEND_DNNL, threads, err);
    if (rc) return rc;
    float *x = calloc((size_t)N * 3 * S * S, sizeof(float));
    rk_image *slot = calloc((size_t)N, sizeof *slot);
    size_t correct = 0;
    if (!x || !slot) {
        rc = rk_errf(err, RK_ENOMEM, "accuracy: out of memory");
        goto done;
    }
    for (int b = 0; b < N; b++)
        if ((rc = rk_image_alloc(&slot[b], S, S, 3, err))) goto done;
    for (size_t at = 0; at < n; at += (size_t)N) {
        int cnt = (int)(n - at < (size_t)N ? n - at : (size_t)N);
#pragma omp parallel for num_threads(threads)
        for (int b = 0; b < cnt; b++) {
            const rk_image *im = &src->images[idx[at + (size_t)b]];
            rk_jitter j = rk_aug_jitter_geometry(im->w, im->h, S, S, 1.0, 0, 0);
            rk_aug_resize_crop(im, &slot[b], j, pad, NULL, 0);
            rk_image_to_input(x + (size_t)b * 3 * S * S, &slot[b]);
        }
        const float *o = rk_net_forward(net, x, 0);
        if (!o) {
            rc = rk_errf(err, RK_EDNNL, "accuracy: forward pass failed");
            goto done;
        }
        for (int b = 0; b < cnt; b++) {
            int arg = 0;
            for (int k = 1; k < K; k++)
                if (o[(size_t)b * K + k] > o[(size_t)b * K + arg]) arg = k;
            correct += arg == cls[idx[at + (size_t)b]];
        }
    }
    *acc = n ? (double)correct / (double)n : 0;
done:
    if (slot)
        for (int b = 0; b < N; b++) rk_image_free(&slot[b]);
    free(slot), free(x);
    return rc;
}
