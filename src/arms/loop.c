/* The training loop the detector and the segmenter share (rk_train_loop): which images a
 * step sees (the labelled stream and, for self-training, the pseudo-labelled one), the
 * batch filled in parallel by the task, forward, the task's loss on each half, the paper's
 * Appendix B weighting of the two halves, backward, clipping, SGD with the schedule's lr
 * (warm-up + cosine, or the plateau rule), progress and per-epoch hooks. A task supplies
 * only how a slot is filled and how a half is scored (rk_task_ops).
 *
 * The labelled stream is an endless sequence of seeded permutations of the labelled subset;
 * step s takes its elements [s*B, (s+1)*B), so every batch is full even when the subset is
 * smaller than a batch, and element k belongs to epoch k / n — the epoch that keys its
 * augmentation. The pseudo-labelled stream works the same way over the source images with
 * its own seed, and so does the joint task's source stream (src/arms/joint.c), which runs
 * after the net's backward when the task has one. Each slot depends only on its keys, so a
 * run is bit-reproducible for a fixed thread count. */
#include "arms_internal.h"

int rk_train_loop(rk_net *net, const rk_task_ops *ops, const size_t *idx, size_t n,
                  const size_t *use, size_t npool, int B, int Bp, const rk_selftrain_cfg *st,
                  const rk_schedule *s, uint64_t seed, int threads, const rk_train_hooks *hooks,
                  rk_err *err)
{
    int N = B + Bp;
    if (N > 1024) return rk_errf(err, RK_EINVAL, "training: batch of %d exceeds 1024", N);
    rk_plateau *plateau = hooks ? hooks->plateau : NULL;
    int rc = RK_OK;
    rk_stream lab = {n, seed, -1, malloc(n * sizeof(size_t))};
    rk_stream pst = {Bp ? npool : 1, seed ^ 0x7073657564ULL, -1,
                     malloc((Bp ? npool : 1) * sizeof(size_t))};
    float *dout = malloc((size_t)N * ops->per * sizeof(float));
    if (!lab.perm || !pst.perm || !dout) {
        rc = rk_errf(err, RK_ENOMEM, "training: out of memory");
        goto done;
    }
    rk_sgd opt = {.lr = (float)s->lr, .momentum = (float)s->momentum,
                  .weight_decay = (float)s->weight_decay, .decay_all = s->decay_all};
    long steps_per_epoch = (long)((n + (size_t)B - 1) / (size_t)B);
    long total = s->steps > 0 ? s->steps : steps_per_epoch * s->epochs;
    long warm = s->warmup_steps > 0 ? s->warmup_steps : (long)(s->warmup_frac * (double)total);
    int epochs = (int)((total + steps_per_epoch - 1) / steps_per_epoch);
    double t0 = rk_now(), ema_h = 0, ema_p = 0;
    long images = 0;
    double sum[6] = {0};
    long nsum = 0;
    size_t per = ops->per;
    for (long step = 0; step < total; step++) {
        /* Which images this step sees: decided serially (the streams are sequential). */
        size_t which[1024];
        long ep[1024];
        for (int b = 0; b < B; b++) which[b] = idx[rk_stream_at(&lab, (size_t)step * B + b, &ep[b])];
        for (int b = 0; b < Bp; b++) {
            size_t k = rk_stream_at(&pst, (size_t)step * Bp + b, &ep[B + b]);
            which[B + b] = use ? use[k] : k;
        }
        int bad = 0;
        rk_err first = {0};
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (int b = 0; b < N; b++) {
            rk_err e = {0};
            if (ops->fill(ops->ctx, b, b >= B, which[b], ep[b], &e)) {
#pragma omp critical
                if (!bad) bad = 1, first = e;
            }
        }
        if (bad) {
            if (err) *err = first;
            rc = first.rc ? first.rc : RK_EINVAL;
            goto done;
        }
        opt.lr = s->plateau ? rk_plateau_lr(plateau, s, step, warm, total)
                            : rk_lr_schedule((float)s->lr, (float)s->warmup_init, warm, step, total);
        const float *out = rk_net_forward(net, ops->input(ops->ctx), 1);
        if (!out) {
            rc = rk_errf(err, RK_EDNNL, "training: forward pass failed");
            goto done;
        }
        float terms[3] = {0}, pterms[3] = {0};
        float lh = ops->loss(ops->ctx, dout, out, 0, B, terms);
        float lp = 0;
        if (Bp) {
            lp = ops->loss(ops->ctx, dout + B * per, out + B * per, B, Bp, pterms);
            /* Appendix B: L = (L_h + a (Lbar_h / Lbar_p) L_p) / (1 + a), Lbar moving averages
             * (taken as constants in the gradient, as the paper's stop-gradient ratio). */
            ema_h = step == 0 ? lh : st->ema_decay * ema_h + (1 - st->ema_decay) * lh;
            /* Lbar_p starts at its first positive loss and skips a zero one: a pseudo batch
             * with every pixel ignored (segmentation) has no loss, and averaging in its 0
             * would inflate Lbar_h / Lbar_p for tens of steps. A detector's pseudo loss is
             * never 0, so its average is what it always was. */
            if (lp > 0)
                ema_p = ema_p > 0 ? st->ema_decay * ema_p + (1 - st->ema_decay) * lp : lp;
            double wh, wp;
            if (st->normalize) {
                wh = 1 / (1 + st->alpha);
                wp = st->alpha * (ema_p > 0 ? ema_h / ema_p : 1) / (1 + st->alpha);
            } else {
                wh = 1, wp = st->alpha;
            }
            for (size_t i = 0; i < (size_t)B * per; i++) dout[i] *= (float)wh;
            for (size_t i = (size_t)B * per; i < (size_t)N * per; i++) dout[i] *= (float)wp;
        }
        if (!isfinite(lh) || !isfinite(lp)) {
            rc = rk_errf(err, RK_EDIVERGED, "training diverged at step %ld (loss %g, pseudo %g)",
                         step, lh, lp);
            goto done;
        }
        rk_net_zero_grad(net);
        if ((rc = rk_net_backward(net, dout))) {
            rk_errf(err, rc, "training: backward pass failed");
            goto done;
        }
        float lj = 0;
        if (ops->joint) { /* the joint task: L += weight * L_cls, its shared gradients added */
            if ((rc = rk_joint_run_step(ops->joint, step, &opt, (float)s->clip, &lj, err)))
                goto done;
        } else if (s->clip > 0) {
            rk_clip_grad_norm(net, (float)s->clip);
        }
        rk_sgd_step(net, &opt);
        if (ops->joint) rk_joint_run_sync(ops->joint);
        images += N + (ops->joint ? ops->joint->J : 0);
        sum[0] += lh, sum[1] += terms[0], sum[2] += terms[1], sum[3] += terms[2], sum[4] += lp;
        sum[5] += lj;
        nsum++;
        if (hooks && hooks->step && (step % 8 == 0 || step + 1 == total))
            hooks->step(hooks->ctx, step + 1, total, lh);
        int decayed = s->plateau && rk_plateau_done(plateau, step + 1);
        if ((step + 1) % steps_per_epoch == 0 || step + 1 == total || decayed) {
            double t = rk_now() - t0;
            rk_epoch_stats es = {.epoch = (int)((step + steps_per_epoch) / steps_per_epoch),
                                 .epochs = epochs,
                                 .loss = sum[0] / nsum,
                                 .focal = sum[1] / nsum,
                                 .size = sum[2] / nsum,
                                 .offset = sum[3] / nsum,
                                 .pseudo_loss = sum[4] / nsum,
                                 .joint_loss = sum[5] / nsum,
                                 .lr = opt.lr,
                                 .img_per_s = images / t,
                                 .seconds = t,
                                 .step = step + 1,
                                 .images = images};
            if (decayed) es.epochs = es.epoch; /* the last epoch */
            memset(sum, 0, sizeof sum);
            nsum = 0;
            if (hooks && hooks->epoch_end && hooks->epoch_end(hooks->ctx, &es)) break;
            if (decayed) break;
        }
    }
done:
    free(lab.perm), free(pst.perm), free(dout);
    return rc;
}
