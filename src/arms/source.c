/* The pre-training loop on source images that the classifier (classifier.c) and SimCLR
 * (simclr.c) share: batches of B images from the endless permutation stream, each image
 * augmented into `views` rows of the batch (row v·B + b is view v of image b, keyed by
 * (seed, views·epoch + v, image index), so one view is keyed exactly as the classifier
 * always keyed it), then forward, the task's loss, backward, clipping and an SGD step with
 * warm-up + cosine over the epochs. */
#include "arms_internal.h"

int rk_source_train(rk_net *net, const rk_refnet_cfg *model, const rk_source *src,
                    const size_t *idx, size_t n, const rk_policy *pol, const rk_schedule *s,
                    int B, const rk_source_task *task, uint64_t seed, int threads,
                    const rk_train_hooks *hooks, rk_err *err)
{
    int S = model->in_size, V = task->views, M = B * V;
    int rc = rk_net_plan(net, M, rk_schedule_backend(s), threads, err);
    if (rc) return rc;
    rk_stream st = {n, seed, -1, malloc(n * sizeof(size_t))};
    float *x = malloc((size_t)M * 3 * S * S * sizeof(float));
    float *dout = malloc((size_t)M * task->out * sizeof(float));
    rk_image *slot = calloc((size_t)M, sizeof *slot);
    size_t *which = malloc((size_t)B * sizeof *which);
    long *ep = malloc((size_t)B * sizeof *ep);
    if (!st.perm || !x || !dout || !slot || !which || !ep) {
        rc = rk_errf(err, RK_ENOMEM, "%s: out of memory", task->what);
        goto done;
    }
    for (int b = 0; b < M; b++)
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
        for (int r = 0; r < M; r++) {
            rk_err e = {0};
            int b = r % B;
            size_t i = which[b], on = 0;
            uint64_t key = (uint64_t)V * (uint64_t)ep[b] + (uint64_t)(r / B);
            int rr = rk_augment(pol, &src->images[i], NULL, 0, seed, key, i, &slot[r], NULL, &on,
                                NULL, &e);
            if (rr) {
#pragma omp critical
                if (!bad) bad = 1, first = e;
                continue;
            }
            rk_image_to_input(x + (size_t)r * 3 * S * S, &slot[r]);
        }
        if (bad) {
            if (err) *err = first;
            rc = first.rc ? first.rc : RK_EINVAL;
            goto done;
        }
        opt.lr = rk_lr_schedule((float)s->lr, (float)s->warmup_init, warm, step, total);
        const float *out = rk_net_forward(net, x, 1);
        if (!out) {
            rc = rk_errf(err, RK_EDNNL, "%s: forward pass failed", task->what);
            goto done;
        }
        double acc = NAN;
        float loss = task->loss(task->ctx, dout, out, which, B, &acc);
        if (!isfinite(loss)) {
            rc = rk_errf(err, RK_EDIVERGED, "%s diverged at step %ld", task->what, step);
            goto done;
        }
        rk_net_zero_grad(net);
        if ((rc = rk_net_backward(net, dout))) {
            rk_errf(err, rc, "%s: backward pass failed", task->what);
            goto done;
        }
        if (s->clip > 0) rk_clip_grad_norm(net, (float)s->clip);
        rk_sgd_step(net, &opt);
        images += M;
        sloss += loss, sacc += acc, nsum++;
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
        for (int b = 0; b < M; b++) rk_image_free(&slot[b]);
    free(slot), free(st.perm), free(x), free(dout), free(which), free(ep);
    return rc;
}
