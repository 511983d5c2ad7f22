/* Detector training (supervised and self-training) and inference.
 *
 * The labelled stream is an endless sequence of seeded permutations of the labelled subset;
 * step s takes its elements [s*B, (s+1)*B), so every batch is full even when the subset is
 * smaller than a batch, and element k belongs to epoch k / n — the epoch that keys its
 * augmentation. The pseudo-labelled stream works the same way over the source images with
 * its own seed, and so does the joint task's source stream (src/arms/joint.c). Batch slots
 * are filled in parallel; each depends only on its keys. */
#include "arms_internal.h"

rk_schedule rk_schedule_default(void)
{
    rk_schedule s = {.epochs = 30, .batch = 32, .lr = 0.05, .warmup_init = 0.01,
                     .warmup_frac = 0.05, .momentum = 0.9, .weight_decay = 1e-4,
                     .decay_all = 0, .clip = 10};
    return s;
}

rk_backend rk_schedule_backend(const rk_schedule *s)
{
    return s->bf16 ? RK_BACKEND_DNNL_BF16 : RK_BACKEND_DNNL;
}

void rk_plateau_init(rk_plateau *p)
{
    *p = (rk_plateau){.gain = NAN, .anneal_at = -1};
}

static void begin_decay(rk_plateau *p, const rk_schedule *s, long step, long total)
{
    long len = lround(s->anneal * (double)step);
    if (total > 0 && step + len > total) len = total - step;
    p->anneal_at = step, p->anneal_len = len > 1 ? len : 1;
}

int rk_plateau_observe(rk_plateau *p, const rk_schedule *s, double dev_ap, long step)
{
    int W = s->patience < 1 ? 1 : s->patience > RK_PLATEAU_MAX_PATIENCE ? RK_PLATEAU_MAX_PATIENCE
                                                                         : s->patience;
    if (p->anneal_at >= 0) return 0;
    if (p->n == 2 * W) memmove(p->dev, p->dev + 1, (size_t)(--p->n) * sizeof *p->dev);
    p->dev[p->n++] = dev_ap;
    if (p->n < 2 * W) return 0;
    double before = 0, recent = 0;
    for (int i = 0; i < W; i++) before += p->dev[i], recent += p->dev[W + i];
    p->gain = (recent - before) / W;
    if (p->gain > s->min_delta) return 0;
    begin_decay(p, s, step, 0);
    return 1;
}

float rk_plateau_lr(rk_plateau *p, const rk_schedule *s, long step, long warm, long total)
{
    if (step < warm) return rk_lr_schedule((float)s->lr, (float)s->warmup_init, warm, step, total);
    /* the stable phase may not outgrow the budget's share: decay over the rest */
    if (p->anneal_at < 0 && (double)step * (1 + s->anneal) >= (double)total) {
        begin_decay(p, s, step, total);
        p->capped = 1;
    }
    if (p->anneal_at < 0) return (float)s->lr;
    double t = (double)(step - p->anneal_at) / (double)p->anneal_len;
    return (float)(0.5 * s->lr * (1 + cos(M_PI * (t > 1 ? 1 : t))));
}

int rk_plateau_done(const rk_plateau *p, long steps)
{
    return p->anneal_at >= 0 && steps >= p->anneal_at + p->anneal_len;
}

void rk_schedule_scale(rk_schedule *s, double k)
{
    if (s->steps > 0) s->steps = lround((double)s->steps * k) > 1 ? lround((double)s->steps * k) : 1;
    else s->epochs = lround((double)s->epochs * k) > 1 ? (int)lround((double)s->epochs * k) : 1;
}

rk_detector_cfg rk_detector_default(void)
{
    /* Sizes are regressed in output cells (1.5-9 for our 64 px scenes at stride 8), about ten
     * times smaller than CenterNet's output pixels, so its w_size = 0.1 becomes 1 here
     * (measured: AP 0.232 -> 0.264 on fashion-scenes, 30 epochs, S1). */
    rk_detector_cfg c = {.model = rk_refnet_default(), .w_size = 1.0, .w_off = 1.0, .topk = 100};
    return c;
}

/* ---- labelled boxes per image (crowd dropped, cls = 0-based class) ---- */
typedef struct {
    rk_box *boxes;
    size_t *start; /* n + 1 */
    size_t maxn;
} box_index;

static int index_boxes(box_index *bi, const rk_coco *c, rk_err *err)
{
    size_t n = c->nimages;
    bi->start = calloc(n + 1, sizeof *bi->start);
    bi->boxes = malloc((c->nanns + 1) * sizeof *bi->boxes);
    size_t *fill = calloc(n + 1, sizeof *fill);
    if (!bi->start || !bi->boxes || !fill) {
        free(fill);
        return rk_errf(err, RK_ENOMEM, "training: out of memory");
    }
    for (size_t i = 0; i < c->nanns; i++)
        if (!c->anns[i].iscrowd) bi->start[rk_coco_image_index(c, c->anns[i].image_id) + 1]++;
    bi->maxn = 0;
    for (size_t i = 0; i < n; i++) {
        if (bi->start[i + 1] > bi->maxn) bi->maxn = bi->start[i + 1];
        bi->start[i + 1] += bi->start[i];
    }
    for (size_t i = 0; i < c->nanns; i++) {
        const rk_coco_ann *a = &c->anns[i];
        if (a->iscrowd) continue;
        size_t im = (size_t)rk_coco_image_index(c, a->image_id);
        double b[4]; /* a box partly outside its image: its part inside (data check counts) */
        rk_coco_box_clip(a->bbox, &c->images[im], b);
        bi->boxes[bi->start[im] + fill[im]++] =
            (rk_box){b[0], b[1], b[2], b[3], (int)rk_coco_cat_index(c, a->category_id), 1};
    }
    free(fill);
    return RK_OK;
}

/* ---- batch assembly ---- */
typedef struct {
    int S, C, H, W, stride;
    float *x;                /* (N, 3, S, S) */
    float *heat, *reg, *mask; /* (N, C, H, W), (N, 4, H, W), (N, 1, H, W) */
    rk_image *slot;          /* N augmented images */
    rk_box *sbox;            /* N * maxn boxes */
    size_t maxn;
} batch;

/* Fills slot b from image im with boxes bx[0..nb), augmented with key (seed, epoch, index). */
static int fill_slot(batch *bt, int b, const rk_policy *pol, const rk_image *im, const rk_box *bx,
                     size_t nb, uint64_t seed, long epoch, size_t index, rk_err *err)
{
    rk_box *ob = bt->sbox + (size_t)b * bt->maxn;
    size_t on = 0;
    int rc = rk_augment(pol, im, bx, nb, seed, (uint64_t)epoch, (uint64_t)index, &bt->slot[b],
                        ob, &on, NULL, err);
    if (rc) return rc;
    size_t HW = (size_t)bt->H * bt->W;
    rk_image_to_input(bt->x + (size_t)b * 3 * bt->S * bt->S, &bt->slot[b]);
    rk_centernet_encode(bt->heat + (size_t)b * bt->C * HW, bt->reg + (size_t)b * 4 * HW,
                        bt->mask + (size_t)b * HW, bt->C, bt->H, bt->W, bt->stride, ob, (int)on);
    return RK_OK;
}

static void batch_free(batch *bt, int N)
{
    if (bt->slot)
        for (int b = 0; b < N; b++) rk_image_free(&bt->slot[b]);
    free(bt->slot), free(bt->sbox), free(bt->x), free(bt->heat), free(bt->reg), free(bt->mask);
}

static int batch_init(batch *bt, int N, int S, int C, int H, int W, int stride, size_t maxn,
                      rk_err *err)
{
    memset(bt, 0, sizeof *bt);
    bt->S = S, bt->C = C, bt->H = H, bt->W = W, bt->stride = stride, bt->maxn = maxn ? maxn : 1;
    size_t HW = (size_t)H * W;
    bt->x = malloc((size_t)N * 3 * S * S * sizeof(float));
    bt->heat = malloc((size_t)N * C * HW * sizeof(float));
    bt->reg = malloc((size_t)N * 4 * HW * sizeof(float));
    bt->mask = malloc((size_t)N * HW * sizeof(float));
    bt->slot = calloc((size_t)N, sizeof *bt->slot);
    bt->sbox = malloc((size_t)N * bt->maxn * sizeof *bt->sbox);
    if (!bt->x || !bt->heat || !bt->reg || !bt->mask || !bt->slot || !bt->sbox)
        return rk_errf(err, RK_ENOMEM, "training: out of memory for a batch of %d", N);
    int rc = RK_OK;
    for (int b = 0; b < N && !rc; b++) rc = rk_image_alloc(&bt->slot[b], S, S, 3, err);
    return rc;
}

/* ---- the joint task's batches (src/arms/joint.c for the step) ---- */
typedef struct {
    rk_joint_shared shared;
    rk_stream st;     /* over joint->idx */
    uint64_t seed;    /* keys its augmentation */
    int J, S, K;
    float *x;         /* (J, 3, S, S) */
    float *dlog;      /* (J, K) */
    int *lab;         /* (J) */
    rk_image *slot;   /* J augmented images */
    size_t *which;
    long *ep;
} joint_state;

static void joint_free(joint_state *j)
{
    if (j->slot)
        for (int b = 0; b < j->J; b++) rk_image_free(&j->slot[b]);
    rk_joint_shared_free(&j->shared);
    free(j->st.perm), free(j->x), free(j->dlog), free(j->lab), free(j->slot), free(j->which);
    free(j->ep);
    memset(j, 0, sizeof *j);
}

static int joint_init(joint_state *j, rk_net *det, const rk_joint *jt, int S, int threads,
                      const rk_schedule *s, uint64_t seed, rk_err *err)
{
    int shape[4];
    memset(j, 0, sizeof *j);
    j->J = jt->batch, j->S = S, j->seed = seed ^ 0x6a6f696e74ULL /* "joint" */;
    int rc = rk_net_plan(jt->cls, j->J, rk_schedule_backend(s), threads, err);
    if (rc) return rc;
    rk_net_output_shape(jt->cls, shape);
    j->K = shape[1];
    for (size_t i = 0; i < jt->n; i++)
        if (jt->labels[jt->idx[i]] < 0 || jt->labels[jt->idx[i]] >= j->K)
            return rk_errf(err, RK_EINVAL, "joint training: %s has class %d, the head has %d",
                           jt->src->files[jt->idx[i]], jt->labels[jt->idx[i]], j->K);
    j->st = (rk_stream){jt->n, j->seed, -1, malloc(jt->n * sizeof(size_t))};
    j->x = malloc((size_t)j->J * 3 * S * S * sizeof(float));
    j->dlog = malloc((size_t)j->J * j->K * sizeof(float));
    j->lab = malloc((size_t)j->J * sizeof(int));
    j->slot = calloc((size_t)j->J, sizeof *j->slot);
    j->which = malloc((size_t)j->J * sizeof *j->which);
    j->ep = malloc((size_t)j->J * sizeof *j->ep);
    if (!j->st.perm || !j->x || !j->dlog || !j->lab || !j->slot || !j->which || !j->ep)
        rc = rk_errf(err, RK_ENOMEM, "joint training: out of memory");
    for (int b = 0; b < j->J && !rc; b++) rc = rk_image_alloc(&j->slot[b], S, S, 3, err);
    if (!rc) rc = rk_joint_shared_init(&j->shared, det, jt->cls, err);
    if (!rc) rk_joint_shared_sync(&j->shared, det, jt->cls);
    if (rc) joint_free(j);
    return rc;
}

/* Step `step`'s source batch into j->x and j->lab. */
static int joint_batch(joint_state *j, const rk_joint *jt, const rk_policy *pol, long step,
                       int threads, rk_err *err)
{
    for (int b = 0; b < j->J; b++)
        j->which[b] = jt->idx[rk_stream_at(&j->st, (size_t)step * j->J + b, &j->ep[b])];
    int bad = 0;
    rk_err first = {0};
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int b = 0; b < j->J; b++) {
        rk_err e = {0};
        size_t i = j->which[b], on = 0;
        int r = rk_augment(pol, &jt->src->images[i], NULL, 0, j->seed, (uint64_t)j->ep[b], i,
                           &j->slot[b], NULL, &on, NULL, &e);
        if (r) {
#pragma omp critical
            if (!bad) bad = 1, first = e;
            continue;
        }
        rk_image_to_input(j->x + (size_t)b * 3 * j->S * j->S, &j->slot[b]);
        j->lab[b] = jt->labels[i];
    }
    if (!bad) return RK_OK;
    if (err) *err = first;
    return first.rc ? first.rc : RK_EINVAL;
}

int rk_detector_train(rk_net *net, const rk_detector_cfg *cfg, const rk_dataset *d,
                      const size_t *idx, size_t n, const rk_policy *pol,
                      const rk_pseudo *pseudo, const rk_selftrain_cfg *st,
                      const rk_joint *joint, const rk_schedule *s, uint64_t seed, int threads,
                      const rk_train_hooks *hooks, rk_err *err)
{
    if (n == 0) return rk_errf(err, RK_EINVAL, "training: no labelled images");
    if (s->epochs <= 0 || s->batch <= 0)
        return rk_errf(err, RK_EINVAL, "training: epochs and batch must be positive");
    size_t npool = pseudo ? (pseudo->use ? pseudo->nuse : pseudo->n) : 0;
    int selftrain = pseudo && st && npool > 0 && st->pseudo_batch > 0;
    int B = s->batch, Bp = selftrain ? st->pseudo_batch : 0, N = B + Bp;
    int J = joint && joint->n > 0 ? joint->batch : 0;
    if (joint && (J <= 0 || J > 4096 || !joint->cls))
        return rk_errf(err, RK_EINVAL, "joint training: bad source batch (%d), no source "
                       "images (%zu) or no classifier", joint->batch, joint->n);
    int C = cfg->model.num_classes, S = cfg->model.in_size, stride = cfg->model.head_stride;
    int H = S / stride, W = S / stride;
    if ((size_t)C != d->coco.ncats)
        return rk_errf(err, RK_EINVAL, "training: the model has %d classes, the dataset %zu", C,
                       d->coco.ncats);
    rk_plateau *plateau = hooks ? hooks->plateau : NULL;
    if (s->plateau && (!plateau || !hooks->epoch_end))
        return rk_errf(err, RK_EINVAL, "training: a plateau schedule needs dev evaluations "
                                       "(train.dev) to decide when to stop");
    int rc = rk_net_plan(net, N, rk_schedule_backend(s), threads, err);
    if (rc) return rc;
    joint_state js = {0};
    if (J && (rc = joint_init(&js, net, joint, S, threads, s, seed, err))) return rc;
    box_index bi = {0};
    batch bt = {0};
    rk_stream lab = {n, seed, -1, malloc(n * sizeof(size_t))};
    rk_stream pst = {selftrain ? npool : 1, seed ^ 0x7073657564ULL, -1,
                  malloc((selftrain ? npool : 1) * sizeof(size_t))};
    size_t HW = (size_t)H * W;
    float *dout = malloc((size_t)N * (C + 4) * HW * sizeof(float));
    float *scratch = malloc((size_t)(2 * C + 8) * N * HW * sizeof(float));
    size_t maxn = 0;
    if ((rc = index_boxes(&bi, &d->coco, err))) goto done;
    maxn = bi.maxn;
    if (selftrain)
        for (size_t i = 0; i < pseudo->n; i++)
            if (pseudo->start[i + 1] - pseudo->start[i] > maxn)
                maxn = pseudo->start[i + 1] - pseudo->start[i];
    if (!lab.perm || !pst.perm || !dout || !scratch) {
        rc = rk_errf(err, RK_ENOMEM, "training: out of memory");
        goto done;
    }
    if ((rc = batch_init(&bt, N, S, C, H, W, stride, maxn, err))) goto done;

    rk_sgd opt = {.lr = (float)s->lr, .momentum = (float)s->momentum,
                  .weight_decay = (float)s->weight_decay, .decay_all = s->decay_all};
    long steps_per_epoch = (long)((n + (size_t)B - 1) / (size_t)B);
    long total = s->steps > 0 ? s->steps : steps_per_epoch * s->epochs;
    long warm = s->warmup_steps > 0 ? s->warmup_steps : (long)(s->warmup_frac * (double)total);
    int epochs = (int)((total + steps_per_epoch - 1) / steps_per_epoch);
    uint64_t pseed = seed ^ 0x9E3779B97F4A7C15ULL;
    double t0 = rk_now(), ema_h = 0, ema_p = 0;
    long images = 0;
    double sum[6] = {0};
    long nsum = 0;
    for (long step = 0; step < total; step++) {
        /* Which images this step sees: decided serially (the streams are sequential). */
        size_t which[1024];
        long ep[1024];
        if (N > 1024) {
            rc = rk_errf(err, RK_EINVAL, "training: batch of %d exceeds 1024", N);
            goto done;
        }
        for (int b = 0; b < B; b++) which[b] = idx[rk_stream_at(&lab, (size_t)step * B + b, &ep[b])];
        for (int b = 0; b < Bp; b++) {
            size_t k = rk_stream_at(&pst, (size_t)step * Bp + b, &ep[B + b]);
            which[B + b] = pseudo->use ? pseudo->use[k] : k;
        }
        int bad = 0;
        rk_err first = {0};
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (int b = 0; b < N; b++) {
            rk_err e = {0};
            int r;
            size_t i = which[b];
            if (b < B)
                r = fill_slot(&bt, b, pol, &d->images[i], bi.boxes + bi.start[i],
                              bi.start[i + 1] - bi.start[i], seed, ep[b], i, &e);
            else
                r = fill_slot(&bt, b, pol, &pseudo->images[i], pseudo->boxes + pseudo->start[i],
                              pseudo->start[i + 1] - pseudo->start[i], pseed, ep[b], i, &e);
            if (r) {
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
        const float *out = rk_net_forward(net, bt.x, 1);
        if (!out) {
            rc = rk_errf(err, RK_EDNNL, "training: forward pass failed");
            goto done;
        }
        float terms[3], pterms[3];
        size_t per = (size_t)(C + 4) * HW;
        float lh = rk_centernet_loss(dout, out, bt.heat, bt.reg, bt.mask, B, C, H, W,
                                     (float)cfg->w_size, (float)cfg->w_off, terms, scratch);
        float lp = 0;
        if (Bp) {
            lp = rk_centernet_loss(dout + B * per, out + B * per, bt.heat + (size_t)B * C * HW,
                                   bt.reg + (size_t)B * 4 * HW, bt.mask + (size_t)B * HW, Bp, C,
                                   H, W, (float)cfg->w_size, (float)cfg->w_off, pterms, scratch);
            /* Appendix B: L = (L_h + a (Lbar_h / Lbar_p) L_p) / (1 + a), Lbar moving averages
             * (taken as constants in the gradient, as the paper's stop-gradient ratio). */
            ema_h = step == 0 ? lh : st->ema_decay * ema_h + (1 - st->ema_decay) * lh;
            ema_p = step == 0 ? lp : st->ema_decay * ema_p + (1 - st->ema_decay) * lp;
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
        if (J) { /* the joint task: L += weight * L_cls, its shared gradients added */
            if ((rc = joint_batch(&js, joint, pol, step, threads, err))) goto done;
            lj = rk_joint_backward(net, joint->cls, &js.shared, js.x, js.lab, J, js.K,
                                   joint->weight, js.dlog);
            if (!isfinite(lj)) {
                rc = rk_errf(err, RK_EDIVERGED, "joint training diverged at step %ld (source "
                             "classification loss %g)", step, lj);
                goto done;
            }
            if (s->clip > 0) rk_joint_clip(net, joint->cls, &js.shared, (float)s->clip);
            rk_sgd_step(joint->cls, &opt);
        } else if (s->clip > 0) {
            rk_clip_grad_norm(net, (float)s->clip);
        }
        rk_sgd_step(net, &opt);
        if (J) rk_joint_shared_sync(&js.shared, net, joint->cls);
        images += N + J;
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
    batch_free(&bt, N);
    joint_free(&js);
    free(bi.boxes), free(bi.start), free(lab.perm), free(pst.perm), free(dout), free(scratch);
    return rc;
}

int rk_detector_predict(rk_net *net, const rk_detector_cfg *cfg, const rk_image *images,
                        const int64_t *ids, size_t n, const int *cat_ids, const uint8_t pad[3],
                        int threads, rk_det **dets, size_t *ndets, rk_err *err)
{
    *dets = NULL;
    *ndets = 0;
    int C = cfg->model.num_classes, S = cfg->model.in_size, stride = cfg->model.head_stride;
    int H = S / stride, W = S / stride, K = cfg->topk;
    int N = n < 32 ? (int)(n ? n : 1) : 32;
    int rc = rk_net_plan(net, N, RK_BACKEND_DNNL, threads, err);
    if (rc) return rc;
    float *x = calloc((size_t)N * 3 * S * S, sizeof(float));
    rk_detection *tmp = malloc((size_t)N * K * sizeof *tmp);
    rk_det *out = malloc((n * (size_t)K + 1) * sizeof *out);
    rk_letterbox *lb = malloc((size_t)N * sizeof *lb);
    rk_image *slot = calloc((size_t)N, sizeof *slot);
    size_t m = 0;
    if (!x || !tmp || !out || !lb || !slot) {
        rc = rk_errf(err, RK_ENOMEM, "predict: out of memory");
        goto done;
    }
    for (int b = 0; b < N; b++)
        if ((rc = rk_image_alloc(&slot[b], S, S, 3, err))) goto done;
    int nd[64];
    for (size_t at = 0; at < n; at += (size_t)N) {
        int cnt = (int)(n - at < (size_t)N ? n - at : (size_t)N);
#pragma omp parallel for num_threads(threads)
        for (int b = 0; b < cnt; b++) {
            const rk_image *im = &images[at + (size_t)b];
            rk_jitter j = rk_aug_jitter_geometry(im->w, im->h, S, S, 1.0, 0, 0);
            rk_aug_resize_crop(im, &slot[b], j, pad, NULL, 0);
            lb[b] = (rk_letterbox){(double)j.rw / im->w, (double)j.rh / im->h, 0, 0};
            rk_image_to_input(x + (size_t)b * 3 * S * S, &slot[b]);
        }
        /* the tail of a short last chunk keeps its previous contents: eval-mode BN is per
         * image, so they cannot affect the real ones, and their outputs are dropped */
        const float *o = rk_net_forward(net, x, 0);
        if (!o) {
            rc = rk_errf(err, RK_EDNNL, "predict: forward pass failed");
            goto done;
        }
#pragma omp parallel for num_threads(threads)
        for (int b = 0; b < cnt; b++) {
            const rk_image *im = &images[at + (size_t)b];
            nd[b] = rk_centernet_decode(tmp + (size_t)b * K, K, o + (size_t)b * (C + 4) * H * W,
                                        C, H, W, stride, &lb[b], im->w, im->h);
        }
        for (int b = 0; b < cnt; b++)
            for (int k = 0; k < nd[b]; k++) {
                const rk_detection *t = &tmp[(size_t)b * K + k];
                out[m++] = (rk_det){ids[at + (size_t)b], cat_ids[t->cls],
                                    {t->x, t->y, t->w, t->h}, t->score};
            }
    }
    *dets = out;
    *ndets = m;
    out = NULL;
done:
    if (slot)
        for (int b = 0; b < N; b++) rk_image_free(&slot[b]);
    free(slot), free(x), free(tmp), free(out), free(lb);
    return rc;
}
