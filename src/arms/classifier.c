/* Supervised classification pre-training of the backbone on the source images (the paper's
 * ImageNet pre-training analog) and its accuracy. The loop is the source pre-training loop
 * (source.c): batches from the same endless permutation stream as the detector's,
 * augmentation keyed by (seed, epoch, image index). */
#include "arms_internal.h"

/* Softmax cross-entropy towards each image's class; accuracy: top-1 on the batch. */
typedef struct {
    const int *cls;
    int K;
    int *lab; /* B */
} cls_task;

static float cls_loss(void *ctx, float *dout, const float *out, const size_t *which, int B,
                      double *acc)
{
    cls_task *c = ctx;
    int K = c->K, correct = 0;
    for (int b = 0; b < B; b++) c->lab[b] = c->cls[which[b]];
    float loss = rk_softmax_xent(dout, out, c->lab, B, K);
    for (int b = 0; b < B; b++) {
        int arg = 0;
        for (int k = 1; k < K; k++)
            if (out[(size_t)b * K + k] > out[(size_t)b * K + arg]) arg = k;
        correct += arg == c->lab[b];
    }
    *acc = (double)correct / B;
    return loss;
}

int rk_classifier_train(rk_net *net, const rk_refnet_cfg *model, const rk_source *src,
                        const size_t *idx, size_t n, const int *cls, const rk_policy *pol,
                        const rk_schedule *s, uint64_t seed, int threads,
                        const rk_train_hooks *hooks, rk_err *err)
{
    if (n == 0) return rk_errf(err, RK_EINVAL, "pre-training: no labelled source images");
    int B = s->batch, K = model->num_classes;
    if (B <= 0 || B > 4096 || s->epochs <= 0)
        return rk_errf(err, RK_EINVAL, "pre-training: bad batch (%d) or epochs (%d)", B, s->epochs);
    for (size_t i = 0; i < n; i++)
        if (cls[idx[i]] < 0 || cls[idx[i]] >= K)
            return rk_errf(err, RK_EINVAL, "pre-training: %s has class %d, the model has %d",
                           src->files[idx[i]], cls[idx[i]], K);
    cls_task c = {.cls = cls, .K = K, .lab = malloc((size_t)B * sizeof(int))};
    if (!c.lab) return rk_errf(err, RK_ENOMEM, "pre-training: out of memory");
    rk_source_task task = {.what = "pre-training", .views = 1, .out = K, .loss = cls_loss,
                           .ctx = &c};
    int rc = rk_source_train(net, model, src, idx, n, pol, s, B, &task, seed, threads, hooks, err);
    free(c.lab);
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
