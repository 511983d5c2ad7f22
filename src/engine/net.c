/* rk_net: graph building, the parameter arena, initialisation, and the REF backend
 * (forward and backward over the reference layer functions in plain NCHW).
 * The oneDNN backend lives in net_dnnl.c and shares net_internal.h. */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

static int fail(rk_net *net, const char *msg)
{
    if (!net->build_error) {
        net->build_error = 1;
        snprintf(net->build_msg, sizeof net->build_msg, "%s", msg);
    }
    return -1;
}

rk_net *rk_net_create(int C, int H, int W)
{
    rk_net *net = calloc(1, sizeof *net);
    if (!net) return NULL;
    net->bn_momentum = 0.1f;
    net->bn_eps = 1e-5f;
    net->threads = 1;
    rk_op *in = &net->ops[net->nops++];
    in->kind = OP_INPUT;
    in->in[0] = in->in[1] = -1;
    in->c = C, in->h = H, in->w = W;
    in->pw = in->pb = in->rm = in->rv = -1;
    if (C <= 0 || H <= 0 || W <= 0) fail(net, "input geometry must be positive");
    return net;
}

static void free_plan(rk_net *net)
{
    rk_dnnl_plan_free(net);
    free(net->act);
    free(net->val);
    free(net->dval);
    free(net->bn_mean);
    free(net->bn_var);
    net->act = net->col = NULL;
    net->val = net->dval = net->bn_mean = net->bn_var = NULL;
    net->planned = 0;
}

void rk_net_free(rk_net *net)
{
    if (!net) return;
    free_plan(net);
    free(net->params);
    free(net);
}

static int add_tensor(rk_net *net, const char *prefix, const char *suffix, int ndim,
                      const int *shape, int trainable, int decay)
{
    if (net->ntensors >= RK_MAX_TENSORS) return fail(net, "too many tensors");
    rk_tensor_info *t = &net->tensors[net->ntensors];
    memset(t, 0, sizeof *t);
    int n = snprintf(t->name, sizeof t->name, "%s.%s", prefix, suffix);
    if (n < 0 || (size_t)n >= sizeof t->name) return fail(net, "tensor name too long");
    for (size_t i = 0; i < net->ntensors; i++)
        if (!strcmp(net->tensors[i].name, t->name)) return fail(net, "duplicate tensor name");
    t->ndim = ndim;
    t->numel = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->numel *= (size_t)shape[i];
    }
    t->trainable = trainable;
    t->decay = decay;
    return (int)net->ntensors++;
}

static rk_op *new_op(rk_net *net, rk_op_kind kind, int a, int b)
{
    if (net->finalized) return fail(net, "net already finalized"), NULL;
    if (net->nops >= RK_MAX_OPS) return fail(net, "too many ops"), NULL;
    if (a < 0 || a >= net->nops || (b != -1 && (b < 0 || b >= net->nops)))
        return fail(net, "op input is not an existing value"), NULL;
    rk_op *o = &net->ops[net->nops];
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->in[0] = a, o->in[1] = b;
    o->pw = o->pb = o->rm = o->rv = -1;
    o->c = net->ops[a].c, o->h = net->ops[a].h, o->w = net->ops[a].w;
    net->ops[a].nconsumers++;
    if (b >= 0) net->ops[b].nconsumers++;
    return o;
}

static int pooled(int H, int k, int s, int p) { return (H + 2 * p - k) / s + 1; }

int rk_net_conv(rk_net *net, int x, const char *name, int oc, int k, int stride, int bias,
                int relu)
{
    rk_op *o = new_op(net, OP_CONV, x, -1);
    if (!o) return -1;
    if (oc <= 0 || k <= 0 || stride <= 0) return fail(net, "bad conv geometry");
    int ic = o->c;
    o->k = k, o->s = stride, o->p = k / 2, o->relu = relu;
    o->c = oc;
    o->h = pooled(o->h, k, stride, o->p);
    o->w = pooled(o->w, k, stride, o->p);
    if (o->h <= 0 || o->w <= 0) return fail(net, "conv output would be empty");
    int ws[4] = {oc, ic, k, k};
    o->pw = add_tensor(net, name, "weight", 4, ws, 1, 1);
    if (bias) o->pb = add_tensor(net, name, "bias", 1, &oc, 1, 0);
    return net->nops++;
}

int rk_net_bn(rk_net *net, int x, const char *name, int relu)
{
    rk_op *o = new_op(net, OP_BN, x, -1);
    if (!o) return -1;
    o->relu = relu;
    o->pw = add_tensor(net, name, "weight", 1, &o->c, 1, 0);
    o->pb = add_tensor(net, name, "bias", 1, &o->c, 1, 0);
    o->rm = add_tensor(net, name, "running_mean", 1, &o->c, 0, 0);
    o->rv = add_tensor(net, name, "running_var", 1, &o->c, 0, 0);
    return net->nops++;
}

int rk_net_relu(rk_net *net, int x)
{
    return new_op(net, OP_RELU, x, -1) ? net->nops++ : -1;
}

int rk_net_maxpool(rk_net *net, int x, int k, int stride, int pad)
{
    rk_op *o = new_op(net, OP_MAXPOOL, x, -1);
    if (!o) return -1;
    if (k <= 0 || stride <= 0 || pad < 0 || 2 * pad >= k + 1) return fail(net, "bad maxpool");
    o->k = k, o->s = stride, o->p = pad;
    o->h = pooled(o->h, k, stride, pad);
    o->w = pooled(o->w, k, stride, pad);
    if (o->h <= 0 || o->w <= 0) return fail(net, "maxpool output would be empty");
    return net->nops++;
}

int rk_net_gap(rk_net *net, int x)
{
    rk_op *o = new_op(net, OP_GAP, x, -1);
    if (!o) return -1;
    o->h = o->w = 1;
    return net->nops++;
}

int rk_net_upsample2(rk_net *net, int x)
{
    rk_op *o = new_op(net, OP_UPSAMPLE2, x, -1);
    if (!o) return -1;
    o->h *= 2, o->w *= 2;
    return net->nops++;
}

int rk_net_add(rk_net *net, int a, int b)
{
    rk_op *o = new_op(net, OP_ADD, a, b);
    if (!o) return -1;
    const rk_op *B = &net->ops[b];
    if (B->c != o->c || B->h != o->h || B->w != o->w)
        return fail(net, "add: operand shapes differ");
    return net->nops++;
}

int rk_net_linear(rk_net *net, int x, const char *name, int out)
{
    rk_op *o = new_op(net, OP_LINEAR, x, -1);
    if (!o) return -1;
    if (o->h != 1 || o->w != 1) return fail(net, "linear needs a (C, 1, 1) input (use gap)");
    if (out <= 0) return fail(net, "linear: out must be positive");
    int ws[2] = {out, o->c};
    o->pw = add_tensor(net, name, "weight", 2, ws, 1, 1);
    o->pb = add_tensor(net, name, "bias", 1, &out, 1, 0);
    o->c = out;
    return net->nops++;
}

int rk_net_dwconv(rk_net *net, int x, const char *name, int k, int stride)
{
    rk_op *o = new_op(net, OP_DWCONV, x, -1);
    if (!o) return -1;
    if (k <= 0 || stride <= 0) return fail(net, "bad depthwise conv geometry");
    o->k = k, o->s = stride, o->p = k / 2;
    o->h = pooled(o->h, k, stride, o->p);
    o->w = pooled(o->w, k, stride, o->p);
    if (o->h <= 0 || o->w <= 0) return fail(net, "depthwise conv output would be empty");
    int ws[4] = {o->c, 1, k, k};
    o->pw = add_tensor(net, name, "weight", 4, ws, 1, 1);
    return net->nops++;
}

int rk_net_swish(rk_net *net, int x)
{
    return new_op(net, OP_SWISH, x, -1) ? net->nops++ : -1;
}

int rk_net_sigmoid(rk_net *net, int x)
{
    return new_op(net, OP_SIGMOID, x, -1) ? net->nops++ : -1;
}

int rk_net_scale(rk_net *net, int x, int s)
{
    if (x == s) return fail(net, "scale: a value scaled by itself is not an op here");
    rk_op *o = new_op(net, OP_SCALE, x, s);
    if (!o) return -1;
    const rk_op *S = &net->ops[s];
    if (S->c != o->c || S->h != 1 || S->w != 1)
        return fail(net, "scale: the scale must be (C, 1, 1) with the input's C");
    return net->nops++;
}

int rk_net_finalize(rk_net *net, rk_err *err)
{
    if (net->build_error) return rk_errf(err, RK_EINVAL, "net: %s", net->build_msg);
    if (net->finalized) return RK_OK;
    if (net->nops < 2) return rk_errf(err, RK_EINVAL, "net: no layers");
    /* Order tensors trainable first (stable), remapping the ops' indices. */
    rk_tensor_info sorted[RK_MAX_TENSORS];
    int remap[RK_MAX_TENSORS];
    size_t n = 0;
    for (int pass = 1; pass >= 0; pass--)
        for (size_t i = 0; i < net->ntensors; i++)
            if (net->tensors[i].trainable == pass) {
                remap[i] = (int)n;
                sorted[n++] = net->tensors[i];
            }
    memcpy(net->tensors, sorted, n * sizeof *sorted);
    size_t off = 0;
    net->nparams = 0;
    for (size_t i = 0; i < n; i++) {
        net->tensors[i].offset = off;
        off += net->tensors[i].numel;
        if (net->tensors[i].trainable) net->nparams = off;
    }
    net->nelements = off;
    for (size_t i = 0; i < n; i++) /* grads and momentum cover exactly the trainable tensors */
        assert(net->tensors[i].trainable == (net->tensors[i].offset < net->nparams));
    for (int i = 0; i < net->nops; i++) {
        rk_op *o = &net->ops[i];
        int *idx[4] = {&o->pw, &o->pb, &o->rm, &o->rv};
        for (int j = 0; j < 4; j++)
            if (*idx[j] >= 0) *idx[j] = remap[*idx[j]];
        assert(o->in[0] < i && o->in[1] < i); /* topological: forward is a loop up */
    }
    net->params = calloc(net->nelements + 2 * net->nparams, sizeof(float));
    if (!net->params) return rk_errf(err, RK_ENOMEM, "net: out of memory for parameters");
    net->grads = net->params + net->nelements;
    net->momentum = net->grads + net->nparams;
    net->finalized = 1;
    rk_net_init_params(net, 0);
    return RK_OK;
}

void rk_net_init_params(rk_net *net, uint64_t seed)
{
    for (size_t t = 0; t < net->ntensors; t++) {
        const rk_tensor_info *ti = &net->tensors[t];
        float *p = net->params + ti->offset;
        const char *suffix = strrchr(ti->name, '.') + 1;
        if (ti->ndim >= 2) {
            /* Kaiming normal, fan_out, gain sqrt(2) (torchvision's ResNet init). */
            size_t fan_out = ti->shape[0];
            for (int i = 2; i < ti->ndim; i++) fan_out *= ti->shape[i];
            float std = sqrtf(2.0f / (float)fan_out);
            rk_rng r;
            rk_rng_init(&r, seed, 0x7061726dULL, t);
            for (size_t i = 0; i < ti->numel; i++) p[i] = std * rk_rng_normal(&r);
        } else {
            float v = (!strcmp(suffix, "running_var") ||
                       (!strcmp(suffix, "weight")))
                          ? 1.0f
                          : 0.0f;
            for (size_t i = 0; i < ti->numel; i++) p[i] = v;
        }
    }
    memset(net->grads, 0, 2 * net->nparams * sizeof(float));
}

size_t rk_net_num_tensors(const rk_net *net) { return net->ntensors; }
const rk_tensor_info *rk_net_tensor(const rk_net *net, size_t i) { return &net->tensors[i]; }
float *rk_net_params(rk_net *net) { return net->params; }
float *rk_net_grads(rk_net *net) { return net->grads; }
float *rk_net_momentum(rk_net *net) { return net->momentum; }
size_t rk_net_num_params(const rk_net *net) { return net->nparams; }
size_t rk_net_num_elements(const rk_net *net) { return net->nelements; }

const rk_tensor_info *rk_net_find(const rk_net *net, const char *name)
{
    for (size_t i = 0; i < net->ntensors; i++)
        if (!strcmp(net->tensors[i].name, name)) return &net->tensors[i];
    return NULL;
}

size_t rk_net_activation_bytes(const rk_net *net)
{
    if (!net->planned) return 0;
    return net->backend != RK_BACKEND_REF ? rk_dnnl_bytes(net) : net->act_floats * sizeof(float);
}

void rk_net_output_shape(const rk_net *net, int shape[4])
{
    const rk_op *o = &net->ops[net->nops - 1];
    shape[0] = net->N, shape[1] = o->c, shape[2] = o->h, shape[3] = o->w;
}

void rk_net_input_shape(const rk_net *net, int *C, int *H, int *W)
{
    *C = net->ops[0].c, *H = net->ops[0].h, *W = net->ops[0].w;
}

void rk_net_set_bn(rk_net *net, float momentum, float eps)
{
    net->bn_momentum = momentum;
    net->bn_eps = eps;
}

void rk_net_zero_grad(rk_net *net) { memset(net->grads, 0, net->nparams * sizeof(float)); }

/* ---- REF backend ---- */

static int plan_ref(rk_net *net, rk_err *err)
{
    size_t nv = (size_t)net->nops;
    size_t total = 0, col = 0;
    for (int v = 0; v < (int)nv; v++) {
        total += 2 * rk_value_numel(net, v);
        const rk_op *o = &net->ops[v];
        if (o->kind == OP_BN) total += 2 * (size_t)o->c;
        if (o->kind == OP_CONV) {
            const rk_op *x = &net->ops[o->in[0]];
            size_t cs = rk_conv2d_col_size(x->c, x->h, x->w, o->k, o->s, o->p);
            if (cs > col) col = cs;
        }
    }
    total += col;
    net->act = calloc(total ? total : 1, sizeof(float));
    net->val = calloc((size_t)nv, sizeof(float *));
    net->dval = calloc((size_t)nv, sizeof(float *));
    net->bn_mean = calloc((size_t)nv, sizeof(float *));
    net->bn_var = calloc((size_t)nv, sizeof(float *));
    if (!net->act || !net->val || !net->dval || !net->bn_mean || !net->bn_var)
        return rk_errf(err, RK_ENOMEM, "net: out of memory for activations (%zu floats)", total);
    float *p = net->act;
    for (int v = 0; v < (int)nv; v++) {
        size_t n = rk_value_numel(net, v);
        net->val[v] = p, p += n;
        net->dval[v] = p, p += n;
        if (net->ops[v].kind == OP_BN) {
            net->bn_mean[v] = p, p += net->ops[v].c;
            net->bn_var[v] = p, p += net->ops[v].c;
        }
    }
    net->col = p;
    net->act_floats = total;
    return RK_OK;
}

int rk_net_plan(rk_net *net, int N, rk_backend backend, int threads, rk_err *err)
{
    if (!net->finalized) return rk_errf(err, RK_EINVAL, "net: plan before finalize");
    if (N <= 0) return rk_errf(err, RK_EINVAL, "net: batch size must be positive, got %d", N);
    free_plan(net);
    net->N = N;
    net->backend = backend;
    net->threads = threads > 0 ? threads : 1;
    rk_set_threads(net->threads);
    int rc = backend != RK_BACKEND_REF ? rk_dnnl_plan_create(net, err) : plan_ref(net, err);
    if (rc == RK_EDNNL && backend == RK_BACKEND_DNNL_BF16 && err) {
        char m[sizeof err->msg];
        snprintf(m, sizeof m, "%s", err->msg);
        if (!rk_dnnl_has_bf16())
            rk_errf(err, rc, "bf16 training: oneDNN has no bf16 kernel for this CPU (it needs "
                    "AVX-512, and AVX512-BF16 or AMX to be fast); train in f32 instead "
                    "(train.precision = f32). %s", m);
        else
            rk_errf(err, rc, "bf16 training: %s", m);
    }
    if (rc) {
        free_plan(net);
        return rc;
    }
    net->planned = 1;
    net->planned_params = net->params;
    return RK_OK;
}

static const float *P(const rk_net *net, int t) { return t >= 0 ? net->params + net->tensors[t].offset : NULL; }
static float *G(rk_net *net, int t) { return t >= 0 ? net->grads + net->tensors[t].offset : NULL; }

static const float *forward_ref(rk_net *net, const float *input, int train)
{
    int N = net->N;
    memcpy(net->val[0], input, rk_value_numel(net, 0) * sizeof(float));
    for (int v = 1; v < net->nops; v++) {
        const rk_op *o = &net->ops[v], *x = &net->ops[o->in[0]];
        float *y = net->val[v];
        const float *a = net->val[o->in[0]];
        size_t n = rk_value_numel(net, v);
        switch (o->kind) {
        case OP_CONV:
            rk_conv2d_forward(y, a, P(net, o->pw), P(net, o->pb), net->col, N, x->c, x->h, x->w,
                              o->c, o->k, o->s, o->p);
            if (o->relu) rk_relu_forward(y, y, n);
            break;
        case OP_BN: {
            float *rm = net->params + net->tensors[o->rm].offset;
            float *rv = net->params + net->tensors[o->rv].offset;
            if (train) {
                rk_batchnorm_forward_train(y, net->bn_mean[v], net->bn_var[v], a, P(net, o->pw),
                                           P(net, o->pb), N, o->c, o->h * o->w, net->bn_eps);
                rk_batchnorm_update_running(rm, rv, net->bn_mean[v], net->bn_var[v], o->c,
                                            (size_t)N * o->h * o->w, net->bn_momentum);
            } else {
                rk_batchnorm_forward_eval(y, a, P(net, o->pw), P(net, o->pb), rm, rv, N, o->c,
                                          o->h * o->w, net->bn_eps);
            }
            if (o->relu) rk_relu_forward(y, y, n);
            break;
        }
        case OP_RELU: rk_relu_forward(y, a, n); break;
        case OP_MAXPOOL:
            rk_maxpool_forward(y, a, N, x->c, x->h, x->w, o->k, o->s, o->p);
            break;
        case OP_GAP: rk_gap_forward(y, a, N, x->c, x->h * x->w); break;
        case OP_UPSAMPLE2: rk_upsample2_forward(y, a, N, x->c, x->h, x->w); break;
        case OP_ADD: rk_add_forward(y, a, net->val[o->in[1]], n); break;
        case OP_LINEAR:
            rk_linear_forward(y, a, P(net, o->pw), P(net, o->pb), N, x->c, o->c);
            break;
        case OP_DWCONV:
            rk_dwconv2d_forward(y, a, P(net, o->pw), N, x->c, x->h, x->w, o->k, o->s, o->p);
            break;
        case OP_SWISH: rk_swish_forward(y, a, n); break;
        case OP_SIGMOID: rk_sigmoid_forward(y, a, n); break;
        case OP_SCALE:
            rk_chscale_forward(y, a, net->val[o->in[1]], N, o->c, o->h * o->w);
            break;
        case OP_INPUT: break;
        }
    }
    return net->val[net->nops - 1];
}

static void backward_ref(rk_net *net, const float *dout)
{
    int N = net->N, last = net->nops - 1;
    for (int v = 0; v < net->nops; v++) memset(net->dval[v], 0, rk_value_numel(net, v) * sizeof(float));
    memcpy(net->dval[last], dout, rk_value_numel(net, last) * sizeof(float));
    for (int v = last; v >= 1; v--) {
        const rk_op *o = &net->ops[v], *x = &net->ops[o->in[0]];
        float *dy = net->dval[v];
        const float *y = net->val[v], *a = net->val[o->in[0]];
        /* The input value needs no gradient. */
        float *da = o->in[0] == 0 ? NULL : net->dval[o->in[0]];
        size_t n = rk_value_numel(net, v);
        if (o->relu) /* fused ReLU: mask in place (dy is only read by this op) */
            for (size_t i = 0; i < n; i++)
                if (!(y[i] > 0)) dy[i] = 0;
        switch (o->kind) {
        case OP_CONV:
            rk_conv2d_backward(da, G(net, o->pw), G(net, o->pb), dy, a, P(net, o->pw), net->col,
                               N, x->c, x->h, x->w, o->c, o->k, o->s, o->p);
            break;
        case OP_BN:
            rk_batchnorm_backward(da, G(net, o->pw), G(net, o->pb), dy, a, net->bn_mean[v],
                                  net->bn_var[v], P(net, o->pw), N, o->c, o->h * o->w,
                                  net->bn_eps);
            break;
        case OP_RELU:
            if (da) rk_relu_backward(da, dy, y, n);
            break;
        case OP_MAXPOOL:
            if (da) rk_maxpool_backward(da, dy, a, N, x->c, x->h, x->w, o->k, o->s, o->p);
            break;
        case OP_GAP:
            if (da) rk_gap_backward(da, dy, N, x->c, x->h * x->w);
            break;
        case OP_UPSAMPLE2:
            if (da) rk_upsample2_backward(da, dy, N, x->c, x->h, x->w);
            break;
        case OP_ADD: {
            float *db = o->in[1] == 0 ? NULL : net->dval[o->in[1]];
            for (size_t i = 0; i < n; i++) {
                if (da) da[i] += dy[i];
                if (db) db[i] += dy[i];
            }
            break;
        }
        case OP_LINEAR:
            rk_linear_backward(da, G(net, o->pw), G(net, o->pb), dy, a, P(net, o->pw), N, x->c,
                               o->c);
            break;
        case OP_DWCONV:
            rk_dwconv2d_backward(da, G(net, o->pw), dy, a, P(net, o->pw), N, x->c, x->h, x->w,
                                 o->k, o->s, o->p);
            break;
        case OP_SWISH:
            if (da) rk_swish_backward(da, dy, a, n);
            break;
        case OP_SIGMOID:
            if (da) rk_sigmoid_backward(da, dy, y, n);
            break;
        case OP_SCALE: {
            float *ds = o->in[1] == 0 ? NULL : net->dval[o->in[1]];
            rk_chscale_backward(da, ds, dy, a, net->val[o->in[1]], N, o->c, o->h * o->w);
            break;
        }
        case OP_INPUT: break;
        }
    }
}

const float *rk_net_forward(rk_net *net, const float *input, int train)
{
    if (!net->planned) return NULL;
    RK_ASSERT(net->params == net->planned_params); /* the plan points into the arena */
    rk_set_threads(net->threads);
    net->trained_forward = train;
    return net->backend != RK_BACKEND_REF ? rk_dnnl_forward(net, input, train)
                                           : forward_ref(net, input, train);
}

int rk_net_backward(rk_net *net, const float *dout)
{
    if (!net->planned || !net->trained_forward) return RK_EINVAL;
    RK_ASSERT(net->params == net->planned_params);
    rk_set_threads(net->threads);
    if (net->backend != RK_BACKEND_REF) return rk_dnnl_backward(net, dout);
    backward_ref(net, dout);
    return RK_OK;
}
