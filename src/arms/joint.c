/* Joint training (the paper's Table 7): the detector and the source classification task
 * trained at once on one backbone.
 *
 * The engine's nets have one output each, so the shared backbone is two nets kept equal: the
 * detector (the model that is trained, saved and evaluated) and a classifier of the same
 * backbone (rk_refnet_classifier: the same tensor names, plus gap + cls.fc). A joint step
 * runs the detector's batch through the detector and the source batch through the
 * classifier, adds the classifier's gradients of the shared tensors to the detector's (the
 * gradient of L_det + w L_cls is the sum of the two), takes one optimizer step on each net
 * and copies the detector's shared tensors back into the classifier. Invariant: between
 * steps the classifier's shared tensors equal the detector's, bit for bit; the classifier's
 * own copies of them carry no state (their momentum is never read).
 *
 * What is shared: the trainable backbone tensors (conv weights, BN gamma and beta). What is
 * not: the BN running statistics — each net keeps its own, so the detector is evaluated with
 * the statistics of the target images alone — and the batch statistics, which each batch
 * computes over itself (BatchNorm per task batch). */
#include "arms_internal.h"

int rk_joint_shared_init(rk_joint_shared *m, rk_net *det, rk_net *cls, rk_err *err)
{
    memset(m, 0, sizeof *m);
    size_t nt = rk_net_num_tensors(cls);
    m->det = malloc((nt + 1) * sizeof *m->det);
    m->cls = malloc((nt + 1) * sizeof *m->cls);
    m->numel = malloc((nt + 1) * sizeof *m->numel);
    if (!m->det || !m->cls || !m->numel) {
        rk_joint_shared_free(m);
        return rk_errf(err, RK_ENOMEM, "joint training: out of memory");
    }
    for (size_t i = 0; i < nt; i++) {
        const rk_tensor_info *c = rk_net_tensor(cls, i), *d = rk_net_find(det, c->name);
        if (!c->trainable || !d) continue;
        if (!d->trainable || d->numel != c->numel) {
            rk_joint_shared_free(m);
            return rk_errf(err, RK_EINVAL, "joint training: tensor %s differs between the "
                           "detector and the classifier (%zu vs %zu values)", c->name, d->numel,
                           c->numel);
        }
        m->det[m->n] = d->offset, m->cls[m->n] = c->offset, m->numel[m->n] = c->numel;
        m->n++;
    }
    if (!m->n) {
        rk_joint_shared_free(m);
        return rk_errf(err, RK_EINVAL, "joint training: the classifier shares no tensor with "
                       "the detector");
    }
    return RK_OK;
}

void rk_joint_shared_free(rk_joint_shared *m)
{
    free(m->det), free(m->cls), free(m->numel);
    memset(m, 0, sizeof *m);
}

void rk_joint_shared_sync(const rk_joint_shared *m, rk_net *det, rk_net *cls)
{
    const float *from = rk_net_params(det);
    float *to = rk_net_params(cls);
    for (size_t i = 0; i < m->n; i++)
        memcpy(to + m->cls[i], from + m->det[i], m->numel[i] * sizeof(float));
}

float rk_joint_backward(rk_net *det, rk_net *cls, const rk_joint_shared *m, const float *x,
                        const int *labels, int J, int K, double weight, float *dlogits)
{
    const float *out = rk_net_forward(cls, x, 1);
    if (!out) return NAN;
    float loss = rk_softmax_xent(dlogits, out, labels, J, K);
    for (size_t i = 0; i < (size_t)J * K; i++) dlogits[i] *= (float)weight;
    rk_net_zero_grad(cls);
    if (rk_net_backward(cls, dlogits)) return NAN;
    const float *gc = rk_net_grads(cls);
    float *gd = rk_net_grads(det);
    for (size_t t = 0; t < m->n; t++)
        for (size_t i = 0; i < m->numel[t]; i++) gd[m->det[t] + i] += gc[m->cls[t] + i];
    return loss;
}

/* Whether offset o of the classifier is a shared tensor's. */
static int is_shared(const rk_joint_shared *m, size_t o)
{
    for (size_t t = 0; t < m->n; t++)
        if (o >= m->cls[t] && o < m->cls[t] + m->numel[t]) return 1;
    return 0;
}

float rk_joint_clip(rk_net *det, rk_net *cls, const rk_joint_shared *m, float max_norm)
{
    /* one norm over every parameter of the joint model: the detector's (shared ones with the
     * summed gradients) and the classifier's own (cls.fc) */
    float *gd = rk_net_grads(det), *gc = rk_net_grads(cls);
    size_t nd = rk_net_num_params(det), nc = rk_net_num_params(cls);
    double sq = 0;
    for (size_t i = 0; i < nd; i++) sq += (double)gd[i] * gd[i];
    for (size_t i = 0; i < nc; i++)
        if (!is_shared(m, i)) sq += (double)gc[i] * gc[i];
    float norm = (float)sqrt(sq);
    if (max_norm > 0 && norm > max_norm) { /* as rk_clip_grad_norm scales */
        float s = max_norm / (norm + 1e-6f);
        for (size_t i = 0; i < nd; i++) gd[i] *= s;
        for (size_t i = 0; i < nc; i++) gc[i] *= s;
    }
    return norm;
}

int rk_source_classes(const rk_source *src, int *cls, int *nclasses, rk_err *err)
{
    int maxl = -1, K = 0;
    for (size_t i = 0; i < src->n; i++) maxl = src->labels[i] > maxl ? src->labels[i] : maxl;
    *nclasses = 0;
    if (maxl < 0) return rk_errf(err, RK_EINVAL, "the source has no labels (labels.csv)");
    int *map = malloc(((size_t)maxl + 1) * sizeof *map);
    if (!map) return rk_errf(err, RK_ENOMEM, "source classes: out of memory");
    for (int l = 0; l <= maxl; l++) map[l] = -1;
    for (size_t i = 0; i < src->n; i++)
        if (src->labels[i] >= 0) map[src->labels[i]] = 0;
    for (int l = 0; l <= maxl; l++)
        if (map[l] == 0) map[l] = K++;
    for (size_t i = 0; i < src->n; i++) cls[i] = src->labels[i] >= 0 ? map[src->labels[i]] : -1;
    free(map);
    *nclasses = K;
    return RK_OK;
}

/* ---- the joint task inside the shared training loop (src/arms/loop.c) ---- */

void rk_joint_run_free(rk_joint_run *j)
{
    if (j->slot)
        for (int b = 0; b < j->J; b++) rk_image_free(&j->slot[b]);
    rk_joint_shared_free(&j->shared);
    free(j->st.perm), free(j->x), free(j->dlog), free(j->lab), free(j->slot), free(j->which);
    free(j->ep);
    memset(j, 0, sizeof *j);
}

int rk_joint_run_init(rk_joint_run *j, rk_net *det, const rk_joint *jt, const rk_policy *pol,
                      int S, int threads, const rk_schedule *s, uint64_t seed, rk_err *err)
{
    int shape[4];
    memset(j, 0, sizeof *j);
    j->jt = jt, j->pol = pol, j->det = det, j->threads = threads;
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
    if (rc) rk_joint_run_free(j);
    return rc;
}

/* Step `step`'s source batch into j->x and j->lab. */
static int joint_batch(rk_joint_run *j, long step, rk_err *err)
{
    const rk_joint *jt = j->jt;
    for (int b = 0; b < j->J; b++)
        j->which[b] = jt->idx[rk_stream_at(&j->st, (size_t)step * j->J + b, &j->ep[b])];
    int bad = 0;
    rk_err first = {0};
#pragma omp parallel for schedule(dynamic, 1) num_threads(j->threads)
    for (int b = 0; b < j->J; b++) {
        rk_err e = {0};
        size_t i = j->which[b], on = 0;
        int r = rk_augment(j->pol, &jt->src->images[i], NULL, 0, j->seed, (uint64_t)j->ep[b], i,
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

int rk_joint_run_step(rk_joint_run *j, long step, const rk_sgd *opt, float clip, float *loss,
                      rk_err *err)
{
    int rc = joint_batch(j, step, err);
    if (rc) return rc;
    const rk_joint *jt = j->jt;
    float lj = rk_joint_backward(j->det, jt->cls, &j->shared, j->x, j->lab, j->J, j->K,
                                 jt->weight, j->dlog);
    if (!isfinite(lj))
        return rk_errf(err, RK_EDIVERGED, "joint training diverged at step %ld (source "
                       "classification loss %g)", step, lj);
    if (clip > 0) rk_joint_clip(j->det, jt->cls, &j->shared, clip);
    rk_sgd_step(jt->cls, opt);
    *loss = lj;
    return RK_OK;
}

void rk_joint_run_sync(rk_joint_run *j)
{
    rk_joint_shared_sync(&j->shared, j->det, j->jt->cls);
}
