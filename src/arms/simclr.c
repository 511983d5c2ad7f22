/* SimCLR-style contrastive pre-training of the backbone on the source images without their
 * labels (Chen et al. 2020; the paper's Table 4): each step takes B source images, makes two
 * views of each with the policy (view v of image i at epoch e is rk_augment keyed by
 * (seed, 2e + v, i), so the two views differ and any view is reproducible from its key),
 * runs both through the backbone and projection head (rk_refnet_simclr) as one batch of 2B,
 * rows b and B + b the two views of image b, and minimises NT-Xent (rk_nt_xent): every view
 * must pick its pair out of the 2B - 1 others. The loop is the classifier's (source.c). */
#include "arms_internal.h"

/* The fraction of the M = 2N views whose most similar other view (cosine) is their pair:
 * the contrastive task's own accuracy. */
static double pair_accuracy(const float *z, int M, int D)
{
    int N = M / 2, hit = 0;
    double *nrm = malloc((size_t)M * sizeof *nrm);
    if (!nrm) return NAN;
    for (int i = 0; i < M; i++) {
        double ss = 0;
        for (int d = 0; d < D; d++) ss += (double)z[(size_t)i * D + d] * z[(size_t)i * D + d];
        nrm[i] = ss > 0 ? sqrt(ss) : 1;
    }
    for (int i = 0; i < M; i++) {
        int best = -1;
        double bs = -INFINITY;
        for (int j = 0; j < M; j++) {
            if (j == i) continue;
            double s = 0;
            for (int d = 0; d < D; d++) s += (double)z[(size_t)i * D + d] * z[(size_t)j * D + d];
            s /= nrm[i] * nrm[j];
            if (s > bs) bs = s, best = j;
        }
        hit += best == (i + N) % M;
    }
    free(nrm);
    return (double)hit / M;
}

typedef struct {
    int D;
    double tau;
} ssl_task;

/* NT-Xent over the 2B views; accuracy: how often a view's nearest other view is its pair. */
static float ssl_loss(void *ctx, float *dout, const float *out, const size_t *which, int B,
                      double *acc)
{
    (void)which; /* the pairs are by position: rows b and B + b */
    const ssl_task *t = ctx;
    *acc = pair_accuracy(out, 2 * B, t->D);
    return rk_nt_xent(dout, out, 2 * B, t->D, (float)t->tau);
}

int rk_simclr_train(rk_net *net, const rk_refnet_cfg *model, int proj_dim, const rk_source *src,
                    const size_t *idx, size_t n, const rk_policy *pol, const rk_schedule *s,
                    double tau, uint64_t seed, int threads, const rk_train_hooks *hooks,
                    rk_err *err)
{
    if (n < 2) return rk_errf(err, RK_EINVAL, "SimCLR: needs at least 2 source images, got %zu", n);
    /* no image twice in a batch: its other copies would be negatives of itself */
    int B = s->batch < 0 || (size_t)s->batch > n ? (int)n : s->batch;
    if (B < 2 || B > 4096 || s->epochs <= 0 || proj_dim <= 0 || !(tau > 0))
        return rk_errf(err, RK_EINVAL, "SimCLR: bad batch (%d), epochs (%d), simclr.proj_dim "
                       "(%d) or simclr.temperature (%g)", B, s->epochs, proj_dim, tau);
    ssl_task t = {.D = proj_dim, .tau = tau};
    /* a non-finite loss is divergence, or no memory for NT-Xent's 2B x 2B similarities */
    rk_source_task task = {.what = "SimCLR pre-training", .views = 2, .out = proj_dim,
                           .loss = ssl_loss, .ctx = &t};
    return rk_source_train(net, model, src, idx, n, pol, s, B, &task, seed, threads, hooks, err);
}
