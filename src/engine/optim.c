/* SGD with momentum and weight decay over the flat parameter arena, the learning-rate
 * schedule, and gradient-norm clipping. Parameters, gradients and momentum share one
 * layout, so each is one loop over contiguous floats (per tensor only to pick decay). */
#include <math.h>

#include "rethink/engine.h"

void rk_sgd_step(rk_net *net, const rk_sgd *o)
{
    float *p = rk_net_params(net), *g = rk_net_grads(net), *v = rk_net_momentum(net);
    for (size_t t = 0; t < rk_net_num_tensors(net); t++) {
        const rk_tensor_info *ti = rk_net_tensor(net, t);
        if (!ti->trainable) continue;
        float wd = (o->decay_all || ti->decay) ? o->weight_decay : 0.0f;
        for (size_t i = ti->offset; i < ti->offset + ti->numel; i++) {
            float d = g[i] + wd * p[i];
            v[i] = o->momentum * v[i] + d;
            p[i] -= o->lr * (o->nesterov ? d + o->momentum * v[i] : v[i]);
        }
    }
}

float rk_lr_schedule(float base, float warmup_init, long warmup, long step, long total)
{
    if (step < warmup) {
        float f = (float)step / (float)warmup;
        return base * (warmup_init + (1 - warmup_init) * f);
    }
    if (total <= warmup) return base;
    double t = (double)(step - warmup) / (double)(total - warmup);
    if (t > 1) t = 1;
    return (float)(0.5 * base * (1 + cos(M_PI * t)));
}

float rk_clip_grad_norm(rk_net *net, float max_norm)
{
    float *g = rk_net_grads(net);
    size_t n = rk_net_num_params(net);
    double sq = 0;
    for (size_t i = 0; i < n; i++) sq += (double)g[i] * g[i];
    float norm = (float)sqrt(sq);
    if (max_norm > 0 && norm > max_norm) {
        float s = max_norm / (norm + 1e-6f);
        for (size_t i = 0; i < n; i++) g[i] *= s;
    }
    return norm;
}
