/* The oneDNN backend of rk_net.
 *
 * Every value (activation) lives in the memory layout its producer chose (oneDNN's blocked
 * nChw8c/nChw16c for convolutions on AVX2/AVX-512), and consumers are created on that
 * layout, so no reorders happen between layers. Only the input (plain NCHW, copied in) and
 * the output (reordered to plain NCHW for the loss) cross layouts. Parameters stay plain in
 * the shared arena (so the optimizer is one loop and checkpoints one write); conv/linear
 * weights are reordered to the primitive's layout each forward, and weight gradients are
 * reordered back with a sum post-op, which is how backward ACCUMULATES into the arena.
 *
 * The MBConv ops: depthwise conv is a grouped convolution (G = C); swish and sigmoid are
 * eltwise primitives; the channel scale is a broadcasting binary mul, its ds a mul plus a
 * sum reduction over H, W.
 *
 * Fusions: conv+ReLU (eltwise post-op; backward masks with the saved output), BN+ReLU
 * (fuse_norm_relu with a workspace).
 *
 * Mixed precision (RK_BACKEND_DNNL_BF16): values and their diffs are bf16, and so are the
 * conv/linear weights the primitives read (the reorders from the arena convert); the arena's
 * parameters, weight and bias gradients, BN scale/shift and statistics stay f32, so the
 * optimizer updates f32 master weights. The input is converted on the way in and the output
 * on the way out, so callers see f32 either way.
 *
 * Gradient accumulation into a value with several consumers: in backward (reverse op
 * order) the first consumer writes the value's diff buffer; later ones write a shared
 * scratch and add it with a reorder carrying a sum post-op. Which is which is decided once
 * at plan time.
 */
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "net_internal.h"

typedef struct dval {
    dnnl_memory_desc_t md;
    float *data, *diff;
    dnnl_memory_t m, dm, dm_scratch; /* data, diff, diff aliasing the shared scratch */
} dval;

typedef struct dop {
    dnnl_primitive_t fwd, fwd_eval, bwd_data, bwd_w, relu_bwd;
    dnnl_primitive_t w_to_fwd, w_to_bwd, dw_to_plain; /* weight reorders (NULL: not needed) */
    dnnl_memory_t w_plain, w_fwd, w_bwd, dw_blk, dw_plain, b, db_tmp;
    dnnl_memory_t gamma, beta, dgamma_tmp, dbeta_tmp, mean, var, rmean, rvar, ws;
    float *dgamma_buf, *dbeta_buf, *mean_buf, *var_buf, *db_buf;
    int acc[2];                      /* input slot i accumulates (not the first writer) */
    dnnl_primitive_t acc_reorder[2]; /* scratch -> input diff, with sum */
    dnnl_primitive_t add_bwd[2];     /* ADD: dout -> input diff (copy or sum) */
    dnnl_primitive_t mul_bwd, reduce; /* SCALE: dy * x -> prod, sum over H, W -> ds */
    dnnl_memory_t prod;
} dop;

struct rk_dnnl_plan {
    dnnl_status_t status; /* first failed execution, reported by forward/backward */
    dnnl_data_type_t dt;  /* values, their diffs and the weights primitives read */
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    dval *v;
    dop *o;
    int nv;
    float *scratch;
    size_t scratch_bytes;
    float *out_plain; /* output as plain NCHW (NULL: the output value is already plain) */
    dnnl_memory_t out_plain_m, dout_plain_m, in_plain_m;
    dnnl_primitive_t out_reorder, dout_reorder, in_reorder; /* in: f32 input -> bf16 */
    void **bufs; /* every buffer we allocated, for free and accounting */
    size_t nbufs, bytes;
    dnnl_primitive_t *prims;
    size_t nprims, cprims;
    dnnl_memory_t *mems;
    size_t nmems, cmems;
};

#define CK(call)                                                                      \
    do {                                                                              \
        dnnl_status_t st_ = (call);                                                   \
        if (st_ != dnnl_success)                                                      \
            return rk_errf(err, RK_EDNNL, "oneDNN: %s failed (status %d) at op %d", #call, \
                           (int)st_, cur_op);                                         \
    } while (0)

/* CK for calls made once a primitive descriptor is held: fails through the function's out:
 * label, which destroys it. */
#define CKO(call)                                                                     \
    do {                                                                              \
        dnnl_status_t st_ = (call);                                                   \
        if (st_ != dnnl_success) {                                                    \
            rc = rk_errf(err, RK_EDNNL, "oneDNN: %s failed (status %d) at op %d", #call, \
                         (int)st_, cur_op);                                           \
            goto out;                                                                 \
        }                                                                             \
    } while (0)

static int cur_op;

int rk_dnnl_has_bf16(void)
{
    return (dnnl_get_effective_cpu_isa() & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core;
}

static void *buf(rk_dnnl_plan *pl, size_t bytes)
{
    size_t sz = (bytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, sz ? sz : 64);
    if (!p) return NULL;
    memset(p, 0, sz ? sz : 64);
    void **nb = realloc(pl->bufs, (pl->nbufs + 1) * sizeof *nb);
    if (!nb) {
        free(p);
        return NULL;
    }
    pl->bufs = nb;
    pl->bufs[pl->nbufs++] = p;
    pl->bytes += sz;
    return p;
}

static int track_prim(rk_dnnl_plan *pl, dnnl_primitive_t p)
{
    if (pl->nprims == pl->cprims) {
        size_t c = pl->cprims ? 2 * pl->cprims : 64;
        dnnl_primitive_t *np = realloc(pl->prims, c * sizeof *np);
        if (!np) return -1;
        pl->prims = np, pl->cprims = c;
    }
    pl->prims[pl->nprims++] = p;
    return 0;
}

static int track_mem(rk_dnnl_plan *pl, dnnl_memory_t m)
{
    if (pl->nmems == pl->cmems) {
        size_t c = pl->cmems ? 2 * pl->cmems : 64;
        dnnl_memory_t *nm = realloc(pl->mems, c * sizeof *nm);
        if (!nm) return -1;
        pl->mems = nm, pl->cmems = c;
    }
    pl->mems[pl->nmems++] = m;
    return 0;
}

/* Creates a primitive from an op descriptor; returns its pd in *pd_out (caller destroys)
 * if pd_out != NULL. */
static int make_prim(rk_dnnl_plan *pl, const void *desc, const_dnnl_primitive_attr_t attr,
                     const_dnnl_primitive_desc_t hint, dnnl_primitive_t *prim,
                     dnnl_primitive_desc_t *pd_out, rk_err *err)
{
    dnnl_primitive_desc_t pd;
    CK(dnnl_primitive_desc_create(&pd, desc, attr, pl->eng, hint));
    dnnl_status_t st = dnnl_primitive_create(prim, pd);
    if (st != dnnl_success) {
        dnnl_primitive_desc_destroy(pd);
        return rk_errf(err, RK_EDNNL, "oneDNN: primitive creation failed (status %d) at op %d",
                       (int)st, cur_op);
    }
    if (track_prim(pl, *prim)) {
        dnnl_primitive_destroy(*prim);
        dnnl_primitive_desc_destroy(pd);
        *prim = NULL;
        return rk_errf(err, RK_ENOMEM, "oneDNN plan: out of memory");
    }
    if (pd_out)
        *pd_out = pd;
    else
        dnnl_primitive_desc_destroy(pd);
    return RK_OK;
}

static int make_mem(rk_dnnl_plan *pl, const dnnl_memory_desc_t *md, void *handle,
                    dnnl_memory_t *m, rk_err *err)
{
    CK(dnnl_memory_create(m, md, pl->eng, handle));
    if (track_mem(pl, *m)) return rk_errf(err, RK_ENOMEM, "oneDNN plan: out of memory");
    return RK_OK;
}

/* Memory of md backed by a fresh buffer. */
static int alloc_mem(rk_dnnl_plan *pl, const dnnl_memory_desc_t *md, dnnl_memory_t *m,
                     float **data, rk_err *err)
{
    void *p = buf(pl, dnnl_memory_desc_get_size(md));
    if (!p) return rk_errf(err, RK_ENOMEM, "oneDNN plan: out of memory");
    if (data) *data = p;
    return make_mem(pl, md, p, m, err);
}

/* An attribute with one post-op: ReLU (relu = 1) or sum (accumulate into dst); on failure
 * nothing is left allocated. */
static dnnl_status_t post_op_attr(dnnl_primitive_attr_t *attr, int relu)
{
    dnnl_post_ops_t po = NULL;
    dnnl_status_t st = dnnl_primitive_attr_create(attr);
    if (st == dnnl_success) st = dnnl_post_ops_create(&po);
    if (st == dnnl_success)
        st = relu ? dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0, 0)
                  : dnnl_post_ops_append_sum(po, 1.0f);
    if (st == dnnl_success) st = dnnl_primitive_attr_set_post_ops(*attr, po);
    if (po) dnnl_post_ops_destroy(po);
    if (st != dnnl_success && *attr) dnnl_primitive_attr_destroy(*attr), *attr = NULL;
    return st;
}

/* Reorder src -> dst; sum: accumulate into dst. */
static int make_reorder(rk_dnnl_plan *pl, const dnnl_memory_desc_t *src,
                        const dnnl_memory_desc_t *dst, int sum, dnnl_primitive_t *prim,
                        rk_err *err)
{
    dnnl_primitive_attr_t attr = NULL;
    if (sum) CK(post_op_attr(&attr, 0));
    dnnl_primitive_desc_t pd;
    dnnl_status_t st = dnnl_reorder_primitive_desc_create(&pd, src, pl->eng, dst, pl->eng, attr);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success)
        return rk_errf(err, RK_EDNNL, "oneDNN: reorder pd failed (status %d) at op %d", (int)st,
                       cur_op);
    st = dnnl_primitive_create(prim, pd);
    dnnl_primitive_desc_destroy(pd);
    if (st != dnnl_success)
        return rk_errf(err, RK_EDNNL, "oneDNN: reorder failed (status %d) at op %d", (int)st, cur_op);
    if (track_prim(pl, *prim)) {
        dnnl_primitive_destroy(*prim);
        *prim = NULL;
        return rk_errf(err, RK_ENOMEM, "oneDNN plan: out of memory");
    }
    return RK_OK;
}

static void md_plain(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims)
{
    static const dnnl_format_tag_t tags[6] = {dnnl_format_tag_undef, dnnl_a, dnnl_ab, dnnl_abc,
                                              dnnl_abcd, dnnl_abcde};
    dnnl_memory_desc_init_by_tag(md, ndims, dims, dnnl_f32, tags[ndims]);
}

static void md_any(dnnl_memory_desc_t *md, int ndims, const dnnl_dims_t dims,
                   dnnl_data_type_t dt)
{
    dnnl_memory_desc_init_by_tag(md, ndims, dims, dt, dnnl_format_tag_any);
}

static float *tensor_ptr(rk_net *net, int t) { return net->params + net->tensors[t].offset; }
static float *grad_ptr(rk_net *net, int t) { return net->grads + net->tensors[t].offset; }

/* 1-D memory over a tensor of the arena (BN scale/shift/running stats, biases). */
static int vec_mem(rk_dnnl_plan *pl, float *p, int n, dnnl_memory_t *m, rk_err *err)
{
    dnnl_memory_desc_t md;
    dnnl_dims_t d = {n};
    md_plain(&md, 1, d);
    return make_mem(pl, &md, p, m, err);
}

/* Weight memories of a conv/linear: plain (arena) + the layouts fwd and bwd-data want, and
 * diff weights in bwd-weights' layout reordered back into the arena with sum. */
static int setup_weights(rk_net *net, rk_dnnl_plan *pl, dop *d, const rk_op *o,
                         const dnnl_memory_desc_t *wplain, const_dnnl_primitive_desc_t fwd_pd,
                         const_dnnl_primitive_desc_t bwd_data_pd,
                         const_dnnl_primitive_desc_t bwd_w_pd, rk_err *err)
{
    int rc;
    if ((rc = make_mem(pl, wplain, tensor_ptr(net, o->pw), &d->w_plain, err))) return rc;
    const dnnl_memory_desc_t *wf = dnnl_primitive_desc_query_md(fwd_pd, dnnl_query_weights_md, 0);
    if (dnnl_memory_desc_equal(wf, wplain)) {
        d->w_fwd = d->w_plain;
    } else {
        if ((rc = alloc_mem(pl, wf, &d->w_fwd, NULL, err))) return rc;
        if ((rc = make_reorder(pl, wplain, wf, 0, &d->w_to_fwd, err))) return rc;
    }
    if (bwd_data_pd) {
        const dnnl_memory_desc_t *wb =
            dnnl_primitive_desc_query_md(bwd_data_pd, dnnl_query_weights_md, 0);
        if (dnnl_memory_desc_equal(wb, wf)) {
            d->w_bwd = d->w_fwd;
        } else {
            if ((rc = alloc_mem(pl, wb, &d->w_bwd, NULL, err))) return rc;
            if ((rc = make_reorder(pl, wplain, wb, 0, &d->w_to_bwd, err))) return rc;
        }
    }
    const dnnl_memory_desc_t *dw =
        dnnl_primitive_desc_query_md(bwd_w_pd, dnnl_query_diff_weights_md, 0);
    if ((rc = alloc_mem(pl, dw, &d->dw_blk, NULL, err))) return rc;
    if ((rc = make_mem(pl, wplain, grad_ptr(net, o->pw), &d->dw_plain, err))) return rc;
    if ((rc = make_reorder(pl, dw, wplain, 1, &d->dw_to_plain, err))) return rc;
    if (o->pb >= 0) {
        if ((rc = vec_mem(pl, tensor_ptr(net, o->pb), o->c, &d->b, err))) return rc;
        d->db_buf = buf(pl, o->c * sizeof(float));
        if (!d->db_buf) return rk_errf(err, RK_ENOMEM, "oneDNN plan: out of memory");
        if ((rc = vec_mem(pl, d->db_buf, o->c, &d->db_tmp, err))) return rc;
    }
    return RK_OK;
}

static int plan_conv(rk_net *net, rk_dnnl_plan *pl, int v, rk_err *err)
{
    const rk_op *o = &net->ops[v];
    dop *d = &pl->o[v];
    dval *x = &pl->v[o->in[0]], *y = &pl->v[v];
    int N = net->N, ic = net->ops[o->in[0]].c, rc;
    /* depthwise: grouped weights (G = C, 1, 1, k, k), the same floats as (C, 1, k, k) */
    int dw = o->kind == OP_DWCONV, wn = dw ? 5 : 4;
    dnnl_dims_t wd = {o->c, ic, o->k, o->k}, yd = {N, o->c, o->h, o->w}, bd = {o->c};
    if (dw) wd[1] = 1, wd[2] = 1, wd[3] = o->k, wd[4] = o->k;
    dnnl_dims_t st = {o->s, o->s}, pad = {o->p, o->p};
    /* Right padding so that the output size matches floor division exactly. */
    const rk_op *xi = &net->ops[o->in[0]];
    dnnl_dims_t padr = {(o->h - 1) * o->s + o->k - xi->h - o->p,
                        (o->w - 1) * o->s + o->k - xi->w - o->p};
    dnnl_memory_desc_t wany, dwany, yany, bmd, wplain;
    md_any(&wany, wn, wd, pl->dt);
    md_any(&dwany, wn, wd, dnnl_f32);
    md_any(&yany, 4, yd, pl->dt);
    md_plain(&bmd, 1, bd);
    md_plain(&wplain, wn, wd);
    const dnnl_memory_desc_t *bp = o->pb >= 0 ? &bmd : NULL;

    dnnl_convolution_desc_t cd;
    CK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct,
                                          &x->md, &wany, bp, &yany, st, pad, padr));
    dnnl_primitive_attr_t attr = NULL;
    if (o->relu) CK(post_op_attr(&attr, 1));
    dnnl_primitive_desc_t fpd, dpd = NULL, wpd;
    rc = make_prim(pl, &cd, attr, NULL, &d->fwd, &fpd, err);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (rc) return rc;
    y->md = *dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0);

    if (o->in[0] != 0) {
        dnnl_convolution_desc_t bd_;
        CKO(dnnl_convolution_backward_data_desc_init(&bd_, dnnl_convolution_direct, &x->md, &wany,
                                                    &y->md, st, pad, padr));
        if ((rc = make_prim(pl, &bd_, NULL, fpd, &d->bwd_data, &dpd, err))) goto out;
    }
    dnnl_convolution_desc_t wdsc;
    CKO(dnnl_convolution_backward_weights_desc_init(&wdsc, dnnl_convolution_direct, &x->md,
                                                   &dwany, bp, &y->md, st, pad, padr));
    if ((rc = make_prim(pl, &wdsc, NULL, fpd, &d->bwd_w, &wpd, err))) goto out;
    rc = setup_weights(net, pl, d, o, &wplain, fpd, dpd, wpd, err);
    dnnl_primitive_desc_destroy(wpd);
    if (!rc && o->relu) {
        dnnl_eltwise_desc_t ed;
        CKO(dnnl_eltwise_backward_desc_init(&ed, dnnl_eltwise_relu_use_dst_for_bwd, &y->md,
                                           &y->md, 0.0f, 0.0f));
        dnnl_eltwise_desc_t efd;
        dnnl_primitive_desc_t efpd;
        CKO(dnnl_eltwise_forward_desc_init(&efd, dnnl_forward_training,
                                          dnnl_eltwise_relu_use_dst_for_bwd, &y->md, 0.0f, 0.0f));
        CKO(dnnl_primitive_desc_create(&efpd, &efd, NULL, pl->eng, NULL));
        rc = make_prim(pl, &ed, NULL, efpd, &d->relu_bwd, NULL, err);
        dnnl_primitive_desc_destroy(efpd);
    }
out:
    dnnl_primitive_desc_destroy(fpd);
    if (dpd) dnnl_primitive_desc_destroy(dpd);
    return rc;
}

static int plan_bn(rk_net *net, rk_dnnl_plan *pl, int v, rk_err *err)
{
    const rk_op *o = &net->ops[v];
    dop *d = &pl->o[v];
    dval *x = &pl->v[o->in[0]], *y = &pl->v[v];
    int rc;
    unsigned flags = dnnl_use_scale | dnnl_use_shift | (o->relu ? dnnl_fuse_norm_relu : 0);
    dnnl_batch_normalization_desc_t bd;
    CK(dnnl_batch_normalization_forward_desc_init(&bd, dnnl_forward_training, &x->md,
                                                  net->bn_eps, flags));
    dnnl_primitive_desc_t fpd;
    if ((rc = make_prim(pl, &bd, NULL, NULL, &d->fwd, &fpd, err))) return rc;
    y->md = *dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0);
    if (o->relu) {
        const dnnl_memory_desc_t *wsmd = dnnl_primitive_desc_query_md(fpd, dnnl_query_workspace_md, 0);
        if ((rc = alloc_mem(pl, wsmd, &d->ws, NULL, err))) goto out;
    }
    dnnl_batch_normalization_desc_t ed;
    CKO(dnnl_batch_normalization_forward_desc_init(&ed, dnnl_forward_inference, &x->md,
                                                  net->bn_eps, flags | dnnl_use_global_stats));
    if ((rc = make_prim(pl, &ed, NULL, NULL, &d->fwd_eval, NULL, err))) goto out;
    dnnl_batch_normalization_desc_t bbd;
    CKO(dnnl_batch_normalization_backward_desc_init(&bbd, dnnl_backward, &y->md, &x->md,
                                                   net->bn_eps, flags));
    if ((rc = make_prim(pl, &bbd, NULL, fpd, &d->bwd_data, NULL, err))) goto out;
    int C = o->c;
    d->mean_buf = buf(pl, C * sizeof(float));
    d->var_buf = buf(pl, C * sizeof(float));
    d->dgamma_buf = buf(pl, C * sizeof(float));
    d->dbeta_buf = buf(pl, C * sizeof(float));
    if (!d->mean_buf || !d->var_buf || !d->dgamma_buf || !d->dbeta_buf) {
        rc = rk_errf(err, RK_ENOMEM, "oneDNN plan: out of memory");
        goto out;
    }
    if ((rc = vec_mem(pl, tensor_ptr(net, o->pw), C, &d->gamma, err)) ||
        (rc = vec_mem(pl, tensor_ptr(net, o->pb), C, &d->beta, err)) ||
        (rc = vec_mem(pl, tensor_ptr(net, o->rm), C, &d->rmean, err)) ||
        (rc = vec_mem(pl, tensor_ptr(net, o->rv), C, &d->rvar, err)) ||
        (rc = vec_mem(pl, d->mean_buf, C, &d->mean, err)) ||
        (rc = vec_mem(pl, d->var_buf, C, &d->var, err)) ||
        (rc = vec_mem(pl, d->dgamma_buf, C, &d->dgamma_tmp, err)) ||
        (rc = vec_mem(pl, d->dbeta_buf, C, &d->dbeta_tmp, err)))
        goto out;
out:
    dnnl_primitive_desc_destroy(fpd);
    return rc;
}

static int plan_simple(rk_net *net, rk_dnnl_plan *pl, int v, rk_err *err)
{
    const rk_op *o = &net->ops[v];
    dop *d = &pl->o[v];
    dval *x = &pl->v[o->in[0]], *y = &pl->v[v];
    int N = net->N, rc;
    const rk_op *xi = &net->ops[o->in[0]];
    dnnl_dims_t yd = {N, o->c, o->h, o->w};
    dnnl_memory_desc_t yany;
    md_any(&yany, 4, yd, pl->dt);
    dnnl_primitive_desc_t fpd;
    switch (o->kind) {
    case OP_RELU: {
        dnnl_eltwise_desc_t ed, bd;
        CK(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_training,
                                          dnnl_eltwise_relu_use_dst_for_bwd, &x->md, 0, 0));
        if ((rc = make_prim(pl, &ed, NULL, NULL, &d->fwd, &fpd, err))) return rc;
        y->md = *dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0);
        CKO(dnnl_eltwise_backward_desc_init(&bd, dnnl_eltwise_relu_use_dst_for_bwd, &y->md,
                                           &y->md, 0, 0));
        rc = make_prim(pl, &bd, NULL, fpd, &d->bwd_data, NULL, err);
        break;
    }
    case OP_SWISH:
    case OP_SIGMOID: {
        /* swish's backward reads the input, sigmoid's the output */
        dnnl_alg_kind_t alg =
            o->kind == OP_SWISH ? dnnl_eltwise_swish : dnnl_eltwise_logistic_use_dst_for_bwd;
        dnnl_eltwise_desc_t ed, bd;
        CK(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_training, alg, &x->md, 1.0f, 0));
        if ((rc = make_prim(pl, &ed, NULL, NULL, &d->fwd, &fpd, err))) return rc;
        y->md = *dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0);
        CKO(dnnl_eltwise_backward_desc_init(&bd, alg, &y->md,
                                           o->kind == OP_SWISH ? &x->md : &y->md, 1.0f, 0));
        rc = make_prim(pl, &bd, NULL, fpd, &d->bwd_data, NULL, err);
        break;
    }
    case OP_SCALE: {
        /* forward (and dx = dy * s): binary mul broadcasting s over H, W; ds = sum over H, W
         * of dy * x: a mul into a buffer of x's layout, then a sum reduction */
        const dnnl_memory_desc_t *smd = &pl->v[o->in[1]].md;
        dnnl_binary_desc_t bd, md;
        CK(dnnl_binary_desc_init(&bd, dnnl_binary_mul, &x->md, smd, &x->md));
        if ((rc = make_prim(pl, &bd, NULL, NULL, &d->fwd, &fpd, err))) return rc;
        y->md = *dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0);
        if (o->in[1] == 0) break;
        CKO(dnnl_binary_desc_init(&md, dnnl_binary_mul, &y->md, &x->md, &x->md));
        if ((rc = make_prim(pl, &md, NULL, NULL, &d->mul_bwd, NULL, err))) goto out;
        if ((rc = alloc_mem(pl, &x->md, &d->prod, NULL, err))) goto out;
        /* The sum as a global average pool times H*W (an eltwise post-op): oneDNN 2.6's
         * reduction primitive has only its reference kernel on blocked layouts, ~40x
         * slower than the pool here (DNNL_VERBOSE, one MBConv detector step). */
        dnnl_dims_t st = {xi->h, xi->w}, ker = {xi->h, xi->w}, zero = {0, 0};
        dnnl_pooling_desc_t rd;
        CKO(dnnl_pooling_forward_desc_init(&rd, dnnl_forward_inference,
                                          dnnl_pooling_avg_exclude_padding, &x->md, smd, st, ker,
                                          zero, zero));
        dnnl_primitive_attr_t attr = NULL;
        dnnl_post_ops_t po = NULL;
        dnnl_status_t pst = dnnl_primitive_attr_create(&attr);
        if (pst == dnnl_success) pst = dnnl_post_ops_create(&po);
        if (pst == dnnl_success)
            pst = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_linear,
                                               (float)(xi->h * xi->w), 0.0f);
        if (pst == dnnl_success) pst = dnnl_primitive_attr_set_post_ops(attr, po);
        if (po) dnnl_post_ops_destroy(po);
        if (pst == dnnl_success) rc = make_prim(pl, &rd, attr, NULL, &d->reduce, NULL, err);
        else rc = rk_errf(err, RK_EDNNL, "oneDNN: scale's post-op failed (status %d) at op %d",
                          (int)pst, cur_op);
        if (attr) dnnl_primitive_attr_destroy(attr);
        break;
    }
    case OP_MAXPOOL:
    case OP_GAP: {
        int gap = o->kind == OP_GAP;
        dnnl_dims_t st = {gap ? xi->h : o->s, gap ? xi->w : o->s};
        dnnl_dims_t ker = {gap ? xi->h : o->k, gap ? xi->w : o->k};
        dnnl_dims_t pl_ = {gap ? 0 : o->p, gap ? 0 : o->p};
        dnnl_dims_t pr = {(o->h - 1) * st[0] + ker[0] - xi->h - pl_[0],
                          (o->w - 1) * st[1] + ker[1] - xi->w - pl_[1]};
        dnnl_alg_kind_t alg = gap ? dnnl_pooling_avg_exclude_padding : dnnl_pooling_max;
        dnnl_pooling_desc_t pd, bd;
        CK(dnnl_pooling_forward_desc_init(&pd, dnnl_forward_training, alg, &x->md, &yany, st,
                                          ker, pl_, pr));
        if ((rc = make_prim(pl, &pd, NULL, NULL, &d->fwd, &fpd, err))) return rc;
        y->md = *dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0);
        if (!gap) {
            const dnnl_memory_desc_t *wsmd =
                dnnl_primitive_desc_query_md(fpd, dnnl_query_workspace_md, 0);
            if ((rc = alloc_mem(pl, wsmd, &d->ws, NULL, err))) break;
        }
        CKO(dnnl_pooling_backward_desc_init(&bd, alg, &x->md, &y->md, st, ker, pl_, pr));
        rc = make_prim(pl, &bd, NULL, fpd, &d->bwd_data, NULL, err);
        break;
    }
    case OP_UPSAMPLE2: {
        dnnl_resampling_desc_t rd, bd;
        CK(dnnl_resampling_forward_desc_init(&rd, dnnl_forward_training, dnnl_resampling_nearest,
                                             NULL, &x->md, &yany));
        if ((rc = make_prim(pl, &rd, NULL, NULL, &d->fwd, &fpd, err))) return rc;
        y->md = *dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0);
        CKO(dnnl_resampling_backward_desc_init(&bd, dnnl_resampling_nearest, NULL, &x->md,
                                              &y->md));
        rc = make_prim(pl, &bd, NULL, fpd, &d->bwd_data, NULL, err);
        break;
    }
    case OP_ADD: {
        dnnl_binary_desc_t bd;
        CK(dnnl_binary_desc_init(&bd, dnnl_binary_add, &x->md, &pl->v[o->in[1]].md, &x->md));
        if ((rc = make_prim(pl, &bd, NULL, NULL, &d->fwd, &fpd, err))) return rc;
        y->md = *dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0);
        break;
    }
    default: return rk_errf(err, RK_EINVAL, "oneDNN plan: unexpected op %d", v);
    }
out:
    dnnl_primitive_desc_destroy(fpd);
    return rc;
}

static int plan_linear(rk_net *net, rk_dnnl_plan *pl, int v, rk_err *err)
{
    const rk_op *o = &net->ops[v];
    dop *d = &pl->o[v];
    dval *x = &pl->v[o->in[0]], *y = &pl->v[v];
    const rk_op *xi = &net->ops[o->in[0]];
    int rc;
    if (o->nconsumers)
        return rk_errf(err, RK_EINVAL, "oneDNN plan: a linear layer must be the net's output");
    dnnl_dims_t wd = {o->c, xi->c, xi->h, xi->w}, yd = {net->N, o->c}, bd = {o->c};
    dnnl_memory_desc_t wany, dwany, wplain, yany, bmd;
    md_any(&wany, 4, wd, pl->dt);
    md_any(&dwany, 4, wd, dnnl_f32);
    md_plain(&wplain, 4, wd);
    md_any(&yany, 2, yd, pl->dt);
    md_plain(&bmd, 1, bd);
    dnnl_inner_product_desc_t fd, dd, wdsc;
    CK(dnnl_inner_product_forward_desc_init(&fd, dnnl_forward_training, &x->md, &wany, &bmd,
                                            &yany));
    dnnl_primitive_desc_t fpd, dpd = NULL, wpd = NULL;
    if ((rc = make_prim(pl, &fd, NULL, NULL, &d->fwd, &fpd, err))) return rc;
    y->md = *dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0);
    if (o->in[0] != 0) {
        CKO(dnnl_inner_product_backward_data_desc_init(&dd, &x->md, &wany, &y->md));
        if ((rc = make_prim(pl, &dd, NULL, fpd, &d->bwd_data, &dpd, err))) goto out;
    }
    CKO(dnnl_inner_product_backward_weights_desc_init(&wdsc, &x->md, &dwany, &bmd, &y->md));
    if ((rc = make_prim(pl, &wdsc, NULL, fpd, &d->bwd_w, &wpd, err))) goto out;
    rc = setup_weights(net, pl, d, o, &wplain, fpd, dpd, wpd, err);
out:
    dnnl_primitive_desc_destroy(fpd);
    if (dpd) dnnl_primitive_desc_destroy(dpd);
    if (wpd) dnnl_primitive_desc_destroy(wpd);
    return rc;
}

void rk_dnnl_plan_free(rk_net *net)
{
    rk_dnnl_plan *pl = net->dnnl;
    if (!pl) return;
    for (size_t i = 0; i < pl->nprims; i++) dnnl_primitive_destroy(pl->prims[i]);
    for (size_t i = 0; i < pl->nmems; i++) dnnl_memory_destroy(pl->mems[i]);
    for (size_t i = 0; i < pl->nbufs; i++) free(pl->bufs[i]);
    free(pl->prims);
    free(pl->mems);
    free(pl->bufs);
    free(pl->v);
    free(pl->o);
    if (pl->strm) dnnl_stream_destroy(pl->strm);
    if (pl->eng) dnnl_engine_destroy(pl->eng);
    free(pl);
    net->dnnl = NULL;
}

size_t rk_dnnl_bytes(const rk_net *net) { return net->dnnl ? net->dnnl->bytes : 0; }

int rk_dnnl_plan_create(rk_net *net, rk_err *err)
{
    rk_dnnl_plan *pl = calloc(1, sizeof *pl);
    if (!pl) return rk_errf(err, RK_ENOMEM, "oneDNN plan: out of memory");
    net->dnnl = pl;
    int nv = net->nops, rc;
    cur_op = 0;
    pl->nv = nv;
    pl->v = calloc(nv, sizeof *pl->v);
    pl->o = calloc(nv, sizeof *pl->o);
    if (!pl->v || !pl->o) return rk_errf(err, RK_ENOMEM, "oneDNN plan: out of memory");
    CK(dnnl_engine_create(&pl->eng, dnnl_cpu, 0));
    CK(dnnl_stream_create(&pl->strm, pl->eng, dnnl_stream_default_flags));

    pl->dt = net->backend == RK_BACKEND_DNNL_BF16 ? dnnl_bf16 : dnnl_f32;
    const rk_op *in = &net->ops[0];
    dnnl_dims_t xd = {net->N, in->c, in->h, in->w};
    dnnl_memory_desc_t xplain;
    md_plain(&xplain, 4, xd);
    dnnl_memory_desc_init_by_tag(&pl->v[0].md, 4, xd, pl->dt, dnnl_abcd);
    if (pl->dt != dnnl_f32) {
        if ((rc = make_mem(pl, &xplain, NULL, &pl->in_plain_m, err))) return rc;
        if ((rc = make_reorder(pl, &xplain, &pl->v[0].md, 0, &pl->in_reorder, err))) return rc;
    }
    for (int v = 1; v < nv; v++) {
        cur_op = v;
        switch (net->ops[v].kind) {
        case OP_CONV:
        case OP_DWCONV: rc = plan_conv(net, pl, v, err); break;
        case OP_BN: rc = plan_bn(net, pl, v, err); break;
        case OP_LINEAR: rc = plan_linear(net, pl, v, err); break;
        default: rc = plan_simple(net, pl, v, err); break;
        }
        if (rc) return rc;
    }
    /* Value buffers (data and diff share the value's layout) and the shared scratch. */
    size_t maxb = 0;
    for (int v = 0; v < nv; v++) {
        dval *x = &pl->v[v];
        size_t b = dnnl_memory_desc_get_size(&x->md);
        if (b > maxb) maxb = b;
        if ((rc = alloc_mem(pl, &x->md, &x->m, &x->data, err))) return rc;
        if ((rc = alloc_mem(pl, &x->md, &x->dm, &x->diff, err))) return rc;
    }
    pl->scratch = buf(pl, maxb);
    if (!pl->scratch) return rk_errf(err, RK_ENOMEM, "oneDNN plan: out of memory");
    pl->scratch_bytes = maxb;
    for (int v = 0; v < nv; v++)
        if ((rc = make_mem(pl, &pl->v[v].md, pl->scratch, &pl->v[v].dm_scratch, err))) return rc;

    /* Who writes each input diff first in backward order; ADD copies or sums. */
    char *written = calloc(nv, 1);
    if (!written) return rk_errf(err, RK_ENOMEM, "oneDNN plan: out of memory");
    for (int v = nv - 1; v >= 1 && !rc; v--) {
        const rk_op *o = &net->ops[v];
        dop *d = &pl->o[v];
        cur_op = v;
        for (int i = 0; i < 2 && !rc; i++) {
            int a = o->in[i];
            if (a <= 0) continue;
            d->acc[i] = written[a];
            written[a] = 1;
            if (o->kind == OP_ADD)
                rc = make_reorder(pl, &pl->v[v].md, &pl->v[a].md, d->acc[i], &d->add_bwd[i], err);
            else if (d->acc[i])
                rc = make_reorder(pl, &pl->v[a].md, &pl->v[a].md, 1, &d->acc_reorder[i], err);
        }
    }
    free(written);
    if (rc) return rc;

    /* Output <-> plain NCHW. */
    int last = nv - 1;
    const rk_op *lo = &net->ops[last];
    dval *y = &pl->v[last];
    dnnl_memory_desc_t plain;
    if (y->md.ndims == 2) {
        dnnl_dims_t d2 = {net->N, lo->c};
        md_plain(&plain, 2, d2);
    } else {
        dnnl_dims_t d4 = {net->N, lo->c, lo->h, lo->w};
        md_plain(&plain, 4, d4);
    }
    if (!dnnl_memory_desc_equal(&plain, &y->md)) {
        if ((rc = alloc_mem(pl, &plain, &pl->out_plain_m, &pl->out_plain, err))) return rc;
        if ((rc = make_mem(pl, &plain, NULL, &pl->dout_plain_m, err))) return rc;
        if ((rc = make_reorder(pl, &y->md, &plain, 0, &pl->out_reorder, err))) return rc;
        if ((rc = make_reorder(pl, &plain, &y->md, 0, &pl->dout_reorder, err))) return rc;
    }
    return RK_OK;
}

/* ---- execution ---- */

typedef struct {
    dnnl_exec_arg_t a[12];
    int n;
} args_t;

static void arg(args_t *A, int what, dnnl_memory_t m)
{
    if (!m) return;
    A->a[A->n].arg = what;
    A->a[A->n].memory = m;
    A->n++;
}

static void run(rk_dnnl_plan *pl, dnnl_primitive_t p, args_t *A)
{
    dnnl_status_t st = dnnl_primitive_execute(p, pl->strm, A->n, A->a);
    if (st != dnnl_success && pl->status == dnnl_success) pl->status = st;
    A->n = 0;
}

static void reorder(rk_dnnl_plan *pl, dnnl_primitive_t p, dnnl_memory_t from, dnnl_memory_t to)
{
    args_t A = {.n = 0};
    arg(&A, DNNL_ARG_FROM, from);
    arg(&A, DNNL_ARG_TO, to);
    run(pl, p, &A);
}

static void add_to(float *dst, const float *src, int n)
{
    for (int i = 0; i < n; i++) dst[i] += src[i];
}

const float *rk_dnnl_forward(rk_net *net, const float *input, int train)
{
    rk_dnnl_plan *pl = net->dnnl;
    pl->status = dnnl_success;
    args_t A = {.n = 0};
    if (pl->in_reorder) {
        dnnl_memory_set_data_handle(pl->in_plain_m, (void *)input);
        reorder(pl, pl->in_reorder, pl->in_plain_m, pl->v[0].m);
    } else {
        memcpy(pl->v[0].data, input, rk_value_numel(net, 0) * sizeof(float));
    }
    for (int v = 1; v < pl->nv; v++) {
        const rk_op *o = &net->ops[v];
        dop *d = &pl->o[v];
        dval *x = &pl->v[o->in[0]], *y = &pl->v[v];
        switch (o->kind) {
        case OP_CONV:
        case OP_DWCONV:
        case OP_LINEAR:
            if (d->w_to_fwd) reorder(pl, d->w_to_fwd, d->w_plain, d->w_fwd);
            arg(&A, DNNL_ARG_SRC, x->m);
            arg(&A, DNNL_ARG_WEIGHTS, d->w_fwd);
            arg(&A, DNNL_ARG_BIAS, d->b);
            arg(&A, DNNL_ARG_DST, y->m);
            run(pl, d->fwd, &A);
            break;
        case OP_BN:
            arg(&A, DNNL_ARG_SRC, x->m);
            arg(&A, DNNL_ARG_DST, y->m);
            arg(&A, DNNL_ARG_SCALE, d->gamma);
            arg(&A, DNNL_ARG_SHIFT, d->beta);
            if (train) {
                arg(&A, DNNL_ARG_MEAN, d->mean);
                arg(&A, DNNL_ARG_VARIANCE, d->var);
                arg(&A, DNNL_ARG_WORKSPACE, d->ws);
                run(pl, d->fwd, &A);
                rk_batchnorm_update_running(net->params + net->tensors[o->rm].offset,
                                            net->params + net->tensors[o->rv].offset,
                                            d->mean_buf, d->var_buf, o->c,
                                            (size_t)net->N * o->h * o->w, net->bn_momentum);
            } else {
                arg(&A, DNNL_ARG_MEAN, d->rmean);
                arg(&A, DNNL_ARG_VARIANCE, d->rvar);
                run(pl, d->fwd_eval, &A);
            }
            break;
        case OP_ADD:
        case OP_SCALE:
            arg(&A, DNNL_ARG_SRC_0, x->m);
            arg(&A, DNNL_ARG_SRC_1, pl->v[o->in[1]].m);
            arg(&A, DNNL_ARG_DST, y->m);
            run(pl, d->fwd, &A);
            break;
        default: /* relu, pools, upsample */
            arg(&A, DNNL_ARG_SRC, x->m);
            arg(&A, DNNL_ARG_DST, y->m);
            arg(&A, DNNL_ARG_WORKSPACE, d->ws);
            run(pl, d->fwd, &A);
            break;
        }
    }
    int last = pl->nv - 1;
    if (pl->out_reorder) {
        reorder(pl, pl->out_reorder, pl->v[last].m, pl->out_plain_m);
        dnnl_stream_wait(pl->strm);
        return pl->status == dnnl_success ? pl->out_plain : NULL;
    }
    dnnl_stream_wait(pl->strm);
    return pl->status == dnnl_success ? pl->v[last].data : NULL;
}

int rk_dnnl_backward(rk_net *net, const float *dout)
{
    rk_dnnl_plan *pl = net->dnnl;
    pl->status = dnnl_success;
    args_t A = {.n = 0};
    int last = pl->nv - 1;
    dval *yl = &pl->v[last];
    if (pl->dout_reorder) {
        dnnl_memory_set_data_handle(pl->dout_plain_m, (void *)dout);
        reorder(pl, pl->dout_reorder, pl->dout_plain_m, yl->dm);
    } else {
        memcpy(yl->diff, dout, rk_value_numel(net, last) * sizeof(float));
    }
    /* Values nobody consumes (other than the output) get no gradient: make it zero. */
    for (int v = 1; v < last; v++)
        if (!net->ops[v].nconsumers)
            memset(pl->v[v].diff, 0, dnnl_memory_desc_get_size(&pl->v[v].md));
    for (int v = last; v >= 1; v--) {
        const rk_op *o = &net->ops[v];
        dop *d = &pl->o[v];
        dval *x = &pl->v[o->in[0]], *y = &pl->v[v];
        int a = o->in[0];
        dnnl_memory_t dx = a == 0 ? NULL : (d->acc[0] ? x->dm_scratch : x->dm);
        switch (o->kind) {
        case OP_CONV:
        case OP_DWCONV:
        case OP_LINEAR:
            if (d->relu_bwd) { /* mask in place with the saved output */
                arg(&A, DNNL_ARG_DST, y->m);
                arg(&A, DNNL_ARG_DIFF_DST, y->dm);
                arg(&A, DNNL_ARG_DIFF_SRC, y->dm);
                run(pl, d->relu_bwd, &A);
            }
            if (dx) {
                if (d->w_to_bwd) reorder(pl, d->w_to_bwd, d->w_plain, d->w_bwd);
                arg(&A, DNNL_ARG_DIFF_DST, y->dm);
                arg(&A, DNNL_ARG_WEIGHTS, d->w_bwd);
                arg(&A, DNNL_ARG_DIFF_SRC, dx);
                run(pl, d->bwd_data, &A);
            }
            arg(&A, DNNL_ARG_SRC, x->m);
            arg(&A, DNNL_ARG_DIFF_DST, y->dm);
            arg(&A, DNNL_ARG_DIFF_WEIGHTS, d->dw_blk);
            arg(&A, DNNL_ARG_DIFF_BIAS, d->db_tmp);
            run(pl, d->bwd_w, &A);
            reorder(pl, d->dw_to_plain, d->dw_blk, d->dw_plain);
            if (o->pb >= 0) add_to(grad_ptr(net, o->pb), d->db_buf, o->c);
            break;
        case OP_BN:
            arg(&A, DNNL_ARG_SRC, x->m);
            arg(&A, DNNL_ARG_MEAN, d->mean);
            arg(&A, DNNL_ARG_VARIANCE, d->var);
            arg(&A, DNNL_ARG_DIFF_DST, y->dm);
            arg(&A, DNNL_ARG_SCALE, d->gamma);
            arg(&A, DNNL_ARG_SHIFT, d->beta);
            arg(&A, DNNL_ARG_WORKSPACE, d->ws);
            /* BN on the raw input: diff_src goes to the scratch and is dropped. */
            arg(&A, DNNL_ARG_DIFF_SRC, dx ? dx : x->dm_scratch);
            arg(&A, DNNL_ARG_DIFF_SCALE, d->dgamma_tmp);
            arg(&A, DNNL_ARG_DIFF_SHIFT, d->dbeta_tmp);
            run(pl, d->bwd_data, &A);
            add_to(grad_ptr(net, o->pw), d->dgamma_buf, o->c);
            add_to(grad_ptr(net, o->pb), d->dbeta_buf, o->c);
            break;
        case OP_ADD:
            for (int i = 0; i < 2; i++)
                if (d->add_bwd[i]) reorder(pl, d->add_bwd[i], y->dm, pl->v[o->in[i]].dm);
            dx = NULL; /* accumulation done by the reorders */
            break;
        case OP_SWISH:
            if (!dx) break;
            arg(&A, DNNL_ARG_SRC, x->m);
            arg(&A, DNNL_ARG_DIFF_DST, y->dm);
            arg(&A, DNNL_ARG_DIFF_SRC, dx);
            run(pl, d->bwd_data, &A);
            break;
        case OP_SCALE: {
            dval *sv = &pl->v[o->in[1]];
            if (d->reduce) { /* ds first: the shared scratch is free again afterwards */
                arg(&A, DNNL_ARG_SRC_0, y->dm);
                arg(&A, DNNL_ARG_SRC_1, x->m);
                arg(&A, DNNL_ARG_DST, d->prod);
                run(pl, d->mul_bwd, &A);
                arg(&A, DNNL_ARG_SRC, d->prod);
                arg(&A, DNNL_ARG_DST, d->acc[1] ? sv->dm_scratch : sv->dm);
                run(pl, d->reduce, &A);
                if (d->acc[1]) reorder(pl, d->acc_reorder[1], sv->dm_scratch, sv->dm);
            }
            if (!dx) break;
            arg(&A, DNNL_ARG_SRC_0, y->dm);
            arg(&A, DNNL_ARG_SRC_1, sv->m);
            arg(&A, DNNL_ARG_DST, dx);
            run(pl, d->fwd, &A);
            break;
        }
        case OP_RELU:
        case OP_SIGMOID:
            if (!dx) break;
            arg(&A, DNNL_ARG_DST, y->m);
            arg(&A, DNNL_ARG_DIFF_DST, y->dm);
            arg(&A, DNNL_ARG_DIFF_SRC, dx);
            run(pl, d->bwd_data, &A);
            break;
        default: /* pools, upsample */
            if (!dx) break;
            arg(&A, DNNL_ARG_DIFF_DST, y->dm);
            arg(&A, DNNL_ARG_DIFF_SRC, dx);
            arg(&A, DNNL_ARG_WORKSPACE, d->ws);
            run(pl, d->bwd_data, &A);
            break;
        }
        if (dx && d->acc[0]) reorder(pl, d->acc_reorder[0], x->dm_scratch, x->dm);
    }
    dnnl_stream_wait(pl->strm);
    return pl->status == dnnl_success ? RK_OK : RK_EDNNL;
}
