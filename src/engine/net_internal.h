/* Internal representation of rk_net, shared by the graph/REF code (net.c) and the oneDNN
 * backend (net_dnnl.c).
 *
 * Invariants:
 *  - op i produces value i; op 0 is the input. Ops are in topological order (builders can
 *    only consume existing values), so forward runs 0..n-1 and backward n-1..1.
 *  - tensors[] are ordered trainable first; params arena = [trainable | buffers]; grads and
 *    momentum cover the trainable prefix with the same offsets.
 *  - After rk_net_finalize the arenas never move (backends keep pointers into them):
 *    rk_net_forward and rk_net_backward RK_ASSERT that params is where the plan saw it.
 * The first two are assert()ed where rk_net_finalize lays the net out.
 */
#ifndef RETHINK_NET_INTERNAL_H
#define RETHINK_NET_INTERNAL_H

#include "rethink/engine.h"

/* MBConv blocks are ~15 ops and ~19 tensors each: room for 4 stages x depth 8. */
#define RK_MAX_OPS 768
#define RK_MAX_TENSORS 1024

typedef enum {
    OP_INPUT,
    OP_CONV,
    OP_BN,
    OP_RELU,
    OP_MAXPOOL,
    OP_GAP,
    OP_UPSAMPLE2,
    OP_ADD,
    OP_LINEAR,
    OP_DWCONV,  /* depthwise conv: groups = channels */
    OP_SWISH,
    OP_SIGMOID,
    OP_SCALE    /* in[0] (N, C, H, W) times in[1] (N, C, 1, 1) */
} rk_op_kind;

typedef struct rk_op {
    rk_op_kind kind;
    int in[2];      /* input values, -1 if unused */
    int c, h, w;    /* output value geometry (per image) */
    int k, s, p;    /* conv / pool geometry */
    int relu;       /* conv, bn: ReLU fused on the output */
    int pw, pb;     /* tensor index: weight/gamma, bias/beta; -1 if none */
    int rm, rv;     /* bn: running mean / var tensor index */
    int nconsumers; /* ops reading this value */
} rk_op;

typedef struct rk_dnnl_plan rk_dnnl_plan;

struct rk_net {
    rk_op ops[RK_MAX_OPS];
    int nops;
    rk_tensor_info tensors[RK_MAX_TENSORS];
    size_t ntensors;
    int build_error; /* a builder failed: finalize reports msg */
    char build_msg[256];
    int finalized;

    float *params, *grads, *momentum; /* one allocation, see invariants */
    const float *planned_params;       /* params when the plan was made */
    size_t nparams, nelements;

    float bn_momentum, bn_eps;

    /* plan */
    int N;
    rk_backend backend;
    int threads;
    int planned;
    int trained_forward; /* last forward was train mode (backward allowed) */

    /* REF activations: per value data and diff, BN stats, conv scratch. */
    float *act;
    size_t act_floats;
    float **val, **dval;
    float **bn_mean, **bn_var;
    float *col;

    rk_dnnl_plan *dnnl;
};

static inline size_t rk_value_numel(const rk_net *net, int v)
{
    const rk_op *o = &net->ops[v];
    return (size_t)net->N * o->c * o->h * o->w;
}

int rk_dnnl_plan_create(rk_net *net, rk_err *err);
void rk_dnnl_plan_free(rk_net *net);
const float *rk_dnnl_forward(rk_net *net, const float *input, int train);
int rk_dnnl_backward(rk_net *net, const float *dout);
size_t rk_dnnl_bytes(const rk_net *net);

#endif
