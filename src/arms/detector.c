/* Detector training (supervised and self-training) and inference. Training is the shared
 * loop of loop.c (the streams of labelled and pseudo-labelled images, Appendix B, the
 * schedule) with the detector's slots (augmented images with their boxes, CenterNet
 * targets) and CenterNet's loss; a joint arm's source classification task (src/arms/joint.c)
 * runs in that loop as its joint hook. */
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
int rk_box_index_build(rk_box_index *bi, const rk_coco *c, rk_err *err)
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

/* The detector's part of the shared loop: slots augmented with their boxes, CenterNet
 * targets, CenterNet's loss. */
typedef struct {
    batch bt;
    const rk_policy *pol;
    const rk_dataset *d;
    const rk_pseudo *pseudo;
    rk_box_index bi;
    uint64_t seed, pseed;
    const rk_detector_cfg *cfg;
    float *scratch;
} det_task;

static int det_fill(void *ctx, int b, int pseudo, size_t i, long ep, rk_err *err)
{
    det_task *t = ctx;
    if (!pseudo)
        return fill_slot(&t->bt, b, t->pol, &t->d->images[i], t->bi.boxes + t->bi.start[i],
                         t->bi.start[i + 1] - t->bi.start[i], t->seed, ep, i, err);
    const rk_pseudo *p = t->pseudo;
    return fill_slot(&t->bt, b, t->pol, &p->images[i], p->boxes + p->start[i],
                     p->start[i + 1] - p->start[i], t->pseed, ep, i, err);
}

static const float *det_input(void *ctx) { return ((det_task *)ctx)->bt.x; }

static float det_loss(void *ctx, float *dout, const float *out, int b0, int nb, float terms[3])
{
    det_task *t = ctx;
    const batch *bt = &t->bt;
    size_t HW = (size_t)bt->H * bt->W;
    return rk_centernet_loss(dout, out, bt->heat + (size_t)b0 * bt->C * HW,
                             bt->reg + (size_t)b0 * 4 * HW, bt->mask + (size_t)b0 * HW, nb, bt->C,
                             bt->H, bt->W, (float)t->cfg->w_size, (float)t->cfg->w_off, terms,
                             t->scratch);
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
    if (s->plateau && (!hooks || !hooks->plateau || !hooks->epoch_end))
        return rk_errf(err, RK_EINVAL, "training: a plateau schedule needs dev evaluations "
                                       "(train.dev) to decide when to stop");
    int rc = rk_net_plan(net, N, rk_schedule_backend(s), threads, err);
    if (rc) return rc;
    rk_joint_run jr = {0};
    if (J && (rc = rk_joint_run_init(&jr, net, joint, pol, S, threads, s, seed, err))) return rc;
    size_t HW = (size_t)H * W;
    det_task t = {.pol = pol, .d = d, .pseudo = selftrain ? pseudo : NULL, .seed = seed,
                  .pseed = seed ^ 0x9E3779B97F4A7C15ULL, .cfg = cfg,
                  .scratch = malloc((size_t)(2 * C + 8) * N * HW * sizeof(float))};
    size_t maxn = 0;
    if ((rc = rk_box_index_build(&t.bi, &d->coco, err))) goto done;
    maxn = t.bi.maxn;
    if (selftrain)
        for (size_t i = 0; i < pseudo->n; i++)
            if (pseudo->start[i + 1] - pseudo->start[i] > maxn)
                maxn = pseudo->start[i + 1] - pseudo->start[i];
    if (!t.scratch) {
        rc = rk_errf(err, RK_ENOMEM, "training: out of memory");
        goto done;
    }
    if ((rc = batch_init(&t.bt, N, S, C, H, W, stride, maxn, err))) goto done;
    rk_task_ops ops = {.ctx = &t, .per = (size_t)(C + 4) * HW, .fill = det_fill,
                       .input = det_input, .loss = det_loss, .joint = J ? &jr : NULL};
    rc = rk_train_loop(net, &ops, idx, n, selftrain ? pseudo->use : NULL, npool, B, Bp, st, s,
                       seed, threads, hooks, err);
done:
    batch_free(&t.bt, N);
    rk_joint_run_free(&jr);
    free(t.bi.boxes), free(t.bi.start), free(t.scratch);
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
