/* Semantic-segmentation training (supervised and self-training), inference, mIoU evaluation
 * and per-pixel pseudo-labels: the segment task's version of detector.c and pseudo.c, on the
 * segmenter of src/model/segment.c (the detector's backbone, neck and head with K = classes
 * + 1 class logits).
 *
 * Training reads the labelled subset as the detector does (an endless stream of seeded
 * permutations; element k's epoch keys its augmentation), augments each image with the
 * cell's policy and its label map with the same geometry (rk_augment_labels replays the
 * trace), and takes the per-pixel cross-entropy at input resolution (rk_segment_loss).
 * Self-training adds B_p pseudo-labelled source images to each batch, their labels the
 * teacher's argmax where its probability reaches the threshold and RK_SEG_IGNORE elsewhere,
 * weighted as the paper's Appendix B exactly as detection weights its two halves.
 * Inference letterboxes an image into the input as evaluation does for detection (scale 1,
 * pad bottom/right) and maps each original pixel to the input pixel its centre falls in. */
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "arms_internal.h"

typedef struct {
    int S;
    float *x;       /* (N, 3, S, S) */
    uint8_t *y;     /* (N, S, S) */
    rk_image *slot; /* N augmented images */
    rk_image *lab;  /* N augmented label maps */
    rk_box *sbox;   /* N * maxn */
    size_t maxn;
} seg_batch;

static void seg_batch_free(seg_batch *bt, int N)
{
    for (int b = 0; b < N && bt->slot; b++) rk_image_free(&bt->slot[b]);
    for (int b = 0; b < N && bt->lab; b++) rk_image_free(&bt->lab[b]);
    free(bt->slot), free(bt->lab), free(bt->sbox), free(bt->x), free(bt->y);
}

static int seg_batch_init(seg_batch *bt, int N, int S, size_t maxn, rk_err *err)
{
    memset(bt, 0, sizeof *bt);
    bt->S = S, bt->maxn = maxn ? maxn : 1;
    bt->x = malloc((size_t)N * 3 * S * S * sizeof(float));
    bt->y = malloc((size_t)N * S * S);
    bt->slot = calloc((size_t)N, sizeof *bt->slot);
    bt->lab = calloc((size_t)N, sizeof *bt->lab);
    bt->sbox = malloc((size_t)N * bt->maxn * sizeof *bt->sbox);
    if (!bt->x || !bt->y || !bt->slot || !bt->lab || !bt->sbox)
        return rk_errf(err, RK_ENOMEM, "segmentation: out of memory for a batch of %d", N);
    int rc = RK_OK;
    for (int b = 0; b < N && !rc; b++)
        if (!(rc = rk_image_alloc(&bt->slot[b], S, S, 3, err)))
            rc = rk_image_alloc(&bt->lab[b], S, S, 1, err);
    return rc;
}

static int seg_fill(seg_batch *bt, int b, const rk_policy *pol, const rk_image *im,
                    const rk_image *lab, const rk_box *bx, size_t nb, uint64_t seed, long epoch,
                    size_t index, rk_err *err)
{
    rk_aug_trace tr;
    size_t on = 0;
    int rc = rk_augment(pol, im, bx, nb, seed, (uint64_t)epoch, (uint64_t)index, &bt->slot[b],
                        bt->sbox + (size_t)b * bt->maxn, &on, &tr, err);
    if (!rc) rc = rk_augment_labels(&tr, lab, bx, nb, &bt->lab[b], err);
    if (rc) return rc;
    size_t SS = (size_t)bt->S * bt->S;
    rk_image_to_input(bt->x + (size_t)b * 3 * SS, &bt->slot[b]);
    memcpy(bt->y + (size_t)b * SS, bt->lab[b].px, SS);
    return RK_OK;
}

/* The segmenter's part of the shared loop (loop.c): slots augmented with their label maps,
 * the per-pixel loss at input resolution. */
typedef struct {
    seg_batch bt;
    const rk_policy *pol;
    const rk_dataset *d;
    const rk_image *labels;
    const rk_seg_pseudo *pseudo;
    rk_box_index sb; /* for the ops that move box contents (rk_augment_labels) */
    uint64_t seed, pseed;
    int K, OC, h, w;
    float *scratch;
} seg_task;

static int seg_task_fill(void *ctx, int b, int pseudo, size_t i, long ep, rk_err *err)
{
    seg_task *t = ctx;
    if (!pseudo)
        return seg_fill(&t->bt, b, t->pol, &t->d->images[i], &t->labels[i],
                        t->sb.boxes + t->sb.start[i], t->sb.start[i + 1] - t->sb.start[i],
                        t->seed, ep, i, err);
    return seg_fill(&t->bt, b, t->pol, &t->pseudo->images[i], &t->pseudo->labels[i], NULL, 0,
                    t->pseed, ep, i, err);
}

static const float *seg_input(void *ctx) { return ((seg_task *)ctx)->bt.x; }

static float seg_loss(void *ctx, float *dout, const float *out, int b0, int nb, float terms[3])
{
    seg_task *t = ctx;
    size_t SS = (size_t)t->bt.S * t->bt.S;
    float l = rk_segment_loss(dout, out, t->bt.y + (size_t)b0 * SS, nb, t->K, t->OC, t->h, t->w,
                              t->bt.S, t->scratch);
    terms[0] = l; /* the epoch stats' "focal" column: the one term */
    return l;
}

int rk_segmenter_train(rk_net *net, const rk_refnet_cfg *model, const rk_dataset *d,
                       const rk_image *labels, const size_t *idx, size_t n,
                       const rk_policy *pol, const rk_seg_pseudo *pseudo,
                       const rk_selftrain_cfg *st, const rk_schedule *s, uint64_t seed,
                       int threads, const rk_train_hooks *hooks, rk_err *err)
{
    if (n == 0) return rk_errf(err, RK_EINVAL, "segmentation training: no labelled images");
    if (s->epochs <= 0 || s->batch <= 0)
        return rk_errf(err, RK_EINVAL, "segmentation training: epochs and batch must be positive");
    size_t npool = pseudo ? (pseudo->use ? pseudo->nuse : pseudo->n) : 0;
    int selftrain = pseudo && st && npool > 0 && st->pseudo_batch > 0;
    int B = s->batch, Bp = selftrain ? st->pseudo_batch : 0, N = B + Bp;
    int K = model->num_classes + 1, S = model->in_size;
    if ((size_t)model->num_classes != d->coco.ncats)
        return rk_errf(err, RK_EINVAL, "segmentation training: the model has %d classes, the "
                       "dataset %zu", model->num_classes, d->coco.ncats);
    if (s->plateau && (!hooks || !hooks->plateau || !hooks->epoch_end))
        return rk_errf(err, RK_EINVAL, "segmentation training: a plateau schedule needs dev "
                       "evaluations (train.dev) to decide when to stop");
    int rc = rk_net_plan(net, N, rk_schedule_backend(s), threads, err);
    if (rc) return rc;
    int shape[4];
    rk_net_output_shape(net, shape);
    seg_task t = {.pol = pol, .d = d, .labels = labels, .pseudo = selftrain ? pseudo : NULL,
                  .seed = seed, .pseed = seed ^ 0x9E3779B97F4A7C15ULL, .K = K, .OC = shape[1],
                  .h = shape[2], .w = shape[3],
                  .scratch = malloc(2 * (size_t)N * K * S * S * sizeof(float))};
    if (!t.scratch) {
        rc = rk_errf(err, RK_ENOMEM, "segmentation training: out of memory");
        goto done;
    }
    if ((rc = rk_box_index_build(&t.sb, &d->coco, err)) || (rc = seg_batch_init(&t.bt, N, S, t.sb.maxn, err)))
        goto done;
    rk_task_ops ops = {.ctx = &t, .per = (size_t)t.OC * t.h * t.w, .fill = seg_task_fill,
                       .input = seg_input, .loss = seg_loss};
    rc = rk_train_loop(net, &ops, idx, n, selftrain ? pseudo->use : NULL, npool, B, Bp, st, s,
                       seed, threads, hooks, err);
done:
    seg_batch_free(&t.bt, N);
    free(t.sb.boxes), free(t.sb.start), free(t.scratch);
    return rc;
}

int rk_segmenter_predict(rk_net *net, const rk_refnet_cfg *model, const rk_image *images,
                         size_t n, const uint8_t pad[3], double threshold, int threads,
                         rk_image *out, rk_err *err)
{
    int K = model->num_classes + 1, S = model->in_size;
    int N = n < 32 ? (int)(n ? n : 1) : 32;
    int rc = rk_net_plan(net, N, RK_BACKEND_DNNL, threads, err);
    if (rc) return rc;
    int shape[4];
    rk_net_output_shape(net, shape);
    int OC = shape[1], h = shape[2], w = shape[3];
    size_t SS = (size_t)S * S;
    float *x = calloc((size_t)N * 3 * SS, sizeof(float));
    float *scratch = malloc((size_t)N * K * SS * sizeof(float));
    float *conf = malloc((size_t)N * SS * sizeof(float));
    uint8_t *cls = malloc((size_t)N * SS);
    rk_image *slot = calloc((size_t)N, sizeof *slot);
    rk_jitter *jit = malloc((size_t)N * sizeof *jit);
    if (!x || !scratch || !conf || !cls || !slot || !jit) {
        rc = rk_errf(err, RK_ENOMEM, "segmentation predict: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n && !rc; i++)
        rc = rk_image_alloc(&out[i], images[i].w, images[i].h, 1, err);
    for (int b = 0; b < N && !rc; b++) rc = rk_image_alloc(&slot[b], S, S, 3, err);
    if (rc) goto done;
    for (size_t at = 0; at < n; at += (size_t)N) {
        int cnt = (int)(n - at < (size_t)N ? n - at : (size_t)N);
#pragma omp parallel for num_threads(threads)
        for (int b = 0; b < cnt; b++) {
            const rk_image *im = &images[at + (size_t)b];
            jit[b] = rk_aug_jitter_geometry(im->w, im->h, S, S, 1.0, 0, 0);
            rk_aug_resize_crop(im, &slot[b], jit[b], pad, NULL, 0);
            rk_image_to_input(x + (size_t)b * 3 * SS, &slot[b]);
        }
        /* a short last chunk's tail keeps old contents: eval-mode BN is per image */
        const float *o = rk_net_forward(net, x, 0);
        if (!o) {
            rc = rk_errf(err, RK_EDNNL, "segmentation predict: forward pass failed");
            goto done;
        }
#pragma omp parallel for num_threads(threads)
        for (int b = 0; b < cnt; b++) {
            uint8_t *c = cls + (size_t)b * SS;
            float *p = conf + (size_t)b * SS;
            rk_segment_decode(c, p, o + (size_t)b * OC * h * w, K, h, w, S,
                              scratch + (size_t)b * K * SS);
            rk_image *lo = &out[at + (size_t)b];
            /* original pixel -> the input pixel its centre falls in */
            for (int y = 0; y < lo->h; y++) {
                int yi = (int)((y + 0.5) * jit[b].rh / lo->h);
                yi = yi < S ? yi : S - 1;
                for (int xx = 0; xx < lo->w; xx++) {
                    int xi = (int)((xx + 0.5) * jit[b].rw / lo->w);
                    xi = xi < S ? xi : S - 1;
                    size_t q = (size_t)yi * S + xi;
                    lo->px[(size_t)y * lo->w + xx] = p[q] >= threshold ? c[q] : RK_SEG_IGNORE;
                }
            }
        }
    }
done:
    if (rc)
        for (size_t i = 0; i < n; i++) rk_image_free(&out[i]);
    for (int b = 0; b < N && slot; b++) rk_image_free(&slot[b]);
    free(x), free(scratch), free(conf), free(cls), free(slot), free(jit);
    return rc;
}

int rk_segmenter_eval(rk_net *net, const rk_refnet_cfg *model, const rk_image *images,
                      const rk_image *labels, size_t n, const uint8_t pad[3], int threads,
                      double *miou, double *iou, rk_err *err)
{
    rk_image *pred = calloc(n + 1, sizeof *pred);
    if (!pred) return rk_errf(err, RK_ENOMEM, "segmentation eval: out of memory");
    rk_seg_confusion c = {0};
    int rc = rk_seg_confusion_init(&c, model->num_classes + 1, err);
    if (!rc) rc = rk_segmenter_predict(net, model, images, n, pad, 0, threads, pred, err);
    for (size_t i = 0; i < n && !rc; i++) {
        /* at threshold 0 only a non-finite output leaves a pixel unlabelled */
        const void *nan = pred[i].px ? memchr(pred[i].px, RK_SEG_IGNORE,
                                              (size_t)pred[i].w * pred[i].h) : NULL;
        if (labels[i].w != pred[i].w || labels[i].h != pred[i].h)
            rc = rk_errf(err, RK_EINVAL, "segmentation eval: image %zu is %dx%d, its labels %dx%d",
                         i, pred[i].w, pred[i].h, labels[i].w, labels[i].h);
        else if (nan)
            rc = rk_errf(err, RK_EDIVERGED, "segmentation eval: image %zu: the segmenter's "
                         "output is not finite (a diverged model)", i);
        else
            rc = rk_seg_confusion_add(&c, labels[i].px, pred[i].px,
                                      (size_t)pred[i].w * pred[i].h, err);
    }
    if (!rc) *miou = rk_seg_miou(&c, iou);
    rk_seg_labels_free(pred, n);
    rk_seg_confusion_free(&c);
    return rc;
}

/* ---- pseudo-labels ---- */

void rk_seg_pseudo_set_free(rk_seg_pseudo_set *p)
{
    if (!p) return;
    rk_seg_labels_free(p->labels, p->view.n);
    free(p->labelled), free(p->per_class);
    memset(p, 0, sizeof *p);
}

/* the view over the labels, the images with a confident pixel, per-class pixel counts */
static int seg_pseudo_index(rk_seg_pseudo_set *p, const rk_source *src, int K, rk_err *err)
{
    p->view = (rk_seg_pseudo){.images = src->images, .labels = p->labels, .n = src->n};
    p->labelled = malloc((src->n + 1) * sizeof *p->labelled);
    p->per_class = calloc((size_t)K, sizeof *p->per_class);
    p->nclasses = K;
    if (!p->labelled || !p->per_class) return rk_errf(err, RK_ENOMEM, "pseudo-labels: out of memory");
    for (size_t i = 0; i < src->n; i++) {
        const rk_image *l = &p->labels[i];
        int any = 0;
        for (size_t q = 0; q < (size_t)l->w * l->h; q++)
            if (l->px[q] != RK_SEG_IGNORE) {
                if (l->px[q] >= K)
                    return rk_errf(err, RK_EFORMAT, "pseudo-labels: image %zu has class %u, "
                                   "expected 0..%d or %d", i, l->px[q], K - 1, RK_SEG_IGNORE);
                p->per_class[l->px[q]]++, p->npixels++, any = 1;
            }
        if (any) p->labelled[p->nlabelled++] = i;
    }
    return RK_OK;
}

int rk_seg_pseudo_label(rk_net *teacher, const rk_refnet_cfg *model, const rk_source *src,
                        double threshold, const uint8_t pad[3], int threads,
                        rk_seg_pseudo_set *out, rk_err *err)
{
    memset(out, 0, sizeof *out);
    out->threshold = threshold;
    out->labels = calloc(src->n + 1, sizeof *out->labels);
    if (!out->labels) return rk_errf(err, RK_ENOMEM, "pseudo-labels: out of memory");
    out->view.n = src->n;
    int rc = rk_segmenter_predict(teacher, model, src->images, src->n, pad, threshold, threads,
                                  out->labels, err);
    if (!rc) rc = seg_pseudo_index(out, src, model->num_classes + 1, err);
    if (rc) rk_seg_pseudo_set_free(out);
    return rc;
}

/* File: gzip of "RKSEGPL1\n", then per image "w h\n" and w*h label bytes (deterministic:
 * zlib's gzip header carries no time). */
#define SEG_MAGIC "RKSEGPL1\n"

int rk_seg_pseudo_save(const rk_seg_pseudo_set *p, const char *path, rk_err *err)
{
    gzFile g = gzopen(path, "wb6");
    if (!g) return rk_errf(err, RK_EIO, "%s: cannot create", path);
    int ok = gzputs(g, SEG_MAGIC) > 0 && gzprintf(g, "%zu\n", p->view.n) > 0;
    for (size_t i = 0; ok && i < p->view.n; i++) {
        const rk_image *l = &p->labels[i];
        unsigned len = (unsigned)((size_t)l->w * l->h);
        ok = gzprintf(g, "%d %d\n", l->w, l->h) > 0 && (unsigned)gzwrite(g, l->px, len) == len;
    }
    if (gzclose(g) != Z_OK) ok = 0;
    return ok ? RK_OK : rk_errf(err, RK_ENOSPACE, "%s: write failed", path);
}

int rk_seg_pseudo_load(rk_seg_pseudo_set *p, const char *path, const rk_source *src, int K,
                       double threshold, rk_err *err)
{
    memset(p, 0, sizeof *p);
    p->threshold = threshold;
    gzFile g = gzopen(path, "rb");
    if (!g) return rk_errf(err, RK_EIO, "%s: cannot open", path);
    char line[64];
    int rc = RK_OK;
    size_t n = 0;
    if (!gzgets(g, line, sizeof line) || strcmp(line, SEG_MAGIC) || !gzgets(g, line, sizeof line) ||
        sscanf(line, "%zu", &n) != 1 || n != src->n) {
        rc = rk_errf(err, RK_EFORMAT, "%s: not segmentation pseudo-labels of these %zu source "
                     "images", path, src->n);
        goto done;
    }
    if (!(p->labels = calloc(n + 1, sizeof *p->labels))) {
        rc = rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    p->view.n = n;
    for (size_t i = 0; i < n && !rc; i++) {
        int w = 0, h = 0;
        if (!gzgets(g, line, sizeof line) || sscanf(line, "%d %d", &w, &h) != 2 ||
            w != src->images[i].w || h != src->images[i].h) {
            rc = rk_errf(err, RK_EFORMAT, "%s: image %zu: expected its size %dx%d", path, i,
                         src->images[i].w, src->images[i].h);
            break;
        }
        if ((rc = rk_image_alloc(&p->labels[i], w, h, 1, err))) break;
        unsigned len = (unsigned)((size_t)w * h);
        if ((unsigned)gzread(g, p->labels[i].px, len) != len)
            rc = rk_errf(err, RK_EFORMAT, "%s: image %zu: cut short", path, i);
    }
    if (!rc) rc = seg_pseudo_index(p, src, K, err);
done:
    gzclose(g);
    if (rc) rk_seg_pseudo_set_free(p);
    return rc;
}
