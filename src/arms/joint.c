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
