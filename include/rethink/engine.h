/* rethink engine: fp32 tensors, layers (forward and backward), losses, SGD, networks.
 *
 * Two levels:
 *  - Layer functions (rk_<layer>_forward / rk_<layer>_backward): pure functions of pointers
 *    and sizes on plain NCHW float arrays. They are the readable reference implementation.
 *    Backward functions ACCUMULATE into every gradient they write (llm.c convention); the
 *    caller zeroes explicitly.
 *  - rk_net: a small graph of those layers with named parameters in one arena (parameters,
 *    gradients and momentum share one layout) and activations in a second arena sized once
 *    per batch geometry. A net runs on one of two backends: RK_BACKEND_REF (the layer
 *    functions above, convolution as im2col + cblas_sgemm) or RK_BACKEND_DNNL (oneDNN
 *    primitives, activations kept in oneDNN's blocked layouts between layers, BN+ReLU and
 *    conv+ReLU fused). Tests hold the two equal.
 *
 * Errors and randomness come from core.h.
 */
#ifndef RETHINK_ENGINE_H
#define RETHINK_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "rethink/core.h"

/* ---- layer functions: plain NCHW, reference implementation ---- */

/* Convolution, square kernel k, stride s, symmetric zero padding p. Output size
 * OH = (H + 2p - k)/s + 1. col is scratch of rk_conv2d_col_size() floats. */
size_t rk_conv2d_col_size(int C, int H, int W, int k, int s, int p);
void rk_conv2d_forward(float *out,       /* (N, OC, OH, OW) */
                       const float *in,  /* (N, C, H, W) */
                       const float *w,   /* (OC, C, k, k) */
                       const float *b,   /* (OC) or NULL */
                       float *col, int N, int C, int H, int W, int OC, int k, int s, int p);
void rk_conv2d_backward(float *din,        /* (N, C, H, W) or NULL: accumulated */
                        float *dw,         /* (OC, C, k, k): accumulated */
                        float *db,         /* (OC) or NULL: accumulated */
                        const float *dout, /* (N, OC, OH, OW) */
                        const float *in, const float *w, float *col, int N, int C, int H,
                        int W, int OC, int k, int s, int p);

/* Batch norm over (N, H, W) per channel. Training mode uses batch statistics and writes
 * mean and biased variance (C each) for backward; eval mode uses the running statistics. */
void rk_batchnorm_forward_train(float *out, float *mean, float *var, const float *in,
                                const float *gamma, const float *beta, int N, int C, int HW,
                                float eps);
void rk_batchnorm_forward_eval(float *out, const float *in, const float *gamma,
                               const float *beta, const float *run_mean, const float *run_var,
                               int N, int C, int HW, float eps);
/* running = (1-momentum)*running + momentum*batch, with the unbiased batch variance as
 * PyTorch does. */
void rk_batchnorm_update_running(float *run_mean, float *run_var, const float *mean,
                                 const float *var, int C, size_t count, float momentum);
void rk_batchnorm_backward(float *din, float *dgamma, float *dbeta, const float *dout,
                           const float *in, const float *mean, const float *var,
                           const float *gamma, int N, int C, int HW, float eps);

void rk_relu_forward(float *out, const float *in, size_t n);
/* Uses the forward OUTPUT (relu(x) > 0 iff x > 0), so in-place forward is allowed. */
void rk_relu_backward(float *din, const float *dout, const float *out, size_t n);

void rk_maxpool_forward(float *out, const float *in, int N, int C, int H, int W, int k,
                        int s, int p);
void rk_maxpool_backward(float *din, const float *dout, const float *in, int N, int C, int H,
                         int W, int k, int s, int p);

void rk_gap_forward(float *out /* (N, C) */, const float *in, int N, int C, int HW);
void rk_gap_backward(float *din, const float *dout, int N, int C, int HW);

void rk_upsample2_forward(float *out /* (N, C, 2H, 2W) */, const float *in, int N, int C,
                          int H, int W);
void rk_upsample2_backward(float *din, const float *dout, int N, int C, int H, int W);

void rk_add_forward(float *out, const float *a, const float *b, size_t n);
void rk_add_backward(float *da, float *db, const float *dout, size_t n);

void rk_linear_forward(float *out /* (N, OUT) */, const float *in /* (N, IN) */,
                       const float *w /* (OUT, IN) */, const float *b /* (OUT) or NULL */, int N,
                       int IN, int OUT);
void rk_linear_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                        const float *w, int N, int IN, int OUT);

/* Depthwise convolution: groups = C, one k x k filter per channel (w (C, 1, k, k)), no
 * bias, symmetric zero padding p; OH as rk_conv2d. */
void rk_dwconv2d_forward(float *out /* (N, C, OH, OW) */, const float *in /* (N, C, H, W) */,
                         const float *w /* (C, 1, k, k) */, int N, int C, int H, int W, int k,
                         int s, int p);
void rk_dwconv2d_backward(float *din /* or NULL: accumulated */, float *dw /* accumulated */,
                          const float *dout, const float *in, const float *w, int N, int C,
                          int H, int W, int k, int s, int p);

/* swish(x) = x * sigmoid(x) (SiLU). Backward reads the forward INPUT. */
void rk_swish_forward(float *out, const float *in, size_t n);
void rk_swish_backward(float *din, const float *dout, const float *in, size_t n);
/* Backward reads the forward OUTPUT. */
void rk_sigmoid_forward(float *out, const float *in, size_t n);
void rk_sigmoid_backward(float *din, const float *dout, const float *out, size_t n);

/* Channel scale, squeeze-and-excitation's excite: out[n,c,i] = in[n,c,i] * s[n,c]. */
void rk_chscale_forward(float *out /* (N, C, HW) */, const float *in /* (N, C, HW) */,
                        const float *s /* (N, C) */, int N, int C, int HW);
void rk_chscale_backward(float *din /* or NULL */, float *ds /* (N, C) or NULL */,
                         const float *dout, const float *in, const float *s, int N, int C,
                         int HW);

/* ---- losses: return the loss and write (not accumulate) dlogits/dpred ---- */

/* Mean over the batch of -log softmax(logits)[label]. */
float rk_softmax_xent(float *dlogits, const float *logits /* (N, K) */, const int *labels,
                      int N, int K);
/* CenterNet penalty-reduced focal loss on sigmoid heatmaps (alpha = 2, beta = 4):
 * p = clamp(sigmoid(x), 1e-4, 1-1e-4); positives where gt == 1;
 * L = -(sum_pos (1-p)^2 log p + sum_neg (1-gt)^4 p^2 log(1-p)) / max(npos, 1).
 * The clamp passes no gradient where it is active, as in CenterNet. */
float rk_focal_loss(float *dlogits, const float *logits, const float *gt, size_t n);
/* L = sum(mask * |pred - target|) / (sum(mask) + 1e-4). */
float rk_masked_l1(float *dpred, const float *pred, const float *target, const float *mask,
                   size_t n);

/* NT-Xent, SimCLR's contrastive loss (Chen et al. 2020, eq. 1), over M = 2N embeddings
 * where rows i and i + N are the two views of one image: with u = z / |z| and
 * s_ij = u_i . u_j / tau, L = (1/M) sum_i -log(exp(s_i,pos(i)) / sum_{j != i} exp(s_ij)).
 * Writes dz (may be NULL) through the normalisation. NAN for M odd or < 2, tau <= 0, or no
 * memory for its M x M scratch. */
float rk_nt_xent(float *dz, const float *z /* (M, D) */, int M, int D, float tau);

/* ---- networks ---- */
/* RK_BACKEND_DNNL_BF16: oneDNN with bf16 activations, activation gradients and weight copies
 * (f32 master weights, gradients, BN statistics); for CPUs with AVX512-BF16 or AMX. */
typedef enum { RK_BACKEND_REF = 0, RK_BACKEND_DNNL = 1, RK_BACKEND_DNNL_BF16 = 2 } rk_backend;
/* 1 if oneDNN has bf16 convolutions on this CPU, so that RK_BACKEND_DNNL_BF16 can plan
 * (AVX-512 at least; native bf16 units make them fast, without them oneDNN emulates bf16). */
int rk_dnnl_has_bf16(void);

typedef struct rk_tensor_info {
    char name[64];
    int ndim;
    int shape[4];
    size_t offset; /* into rk_net_params() */
    size_t numel;
    int trainable; /* 0: buffer (BN running statistics) */
    int decay;     /* weight decay applies (conv/linear weights; not BN or bias) */
} rk_tensor_info;

typedef struct rk_net rk_net;

rk_net *rk_net_create(int C, int H, int W); /* input geometry (without batch) */
void rk_net_free(rk_net *net);

/* Graph builders: return the new value's id (>= 0), or -1 after setting an error that
 * rk_net_finalize() reports. Value 0 is the input. Names prefix parameter names. */
int rk_net_conv(rk_net *net, int x, const char *name, int oc, int k, int stride, int bias,
                int relu);
int rk_net_bn(rk_net *net, int x, const char *name, int relu);
int rk_net_relu(rk_net *net, int x);
int rk_net_maxpool(rk_net *net, int x, int k, int stride, int pad);
int rk_net_gap(rk_net *net, int x);
int rk_net_upsample2(rk_net *net, int x);
int rk_net_add(rk_net *net, int a, int b);
int rk_net_linear(rk_net *net, int x, const char *name, int out);
/* The MBConv family's ops. dwconv: depthwise k x k (padding k/2, no bias; weight
 * "name.weight" (C, 1, k, k)). scale: a (N, C, H, W) times s (N, C, 1, 1) per channel. */
int rk_net_dwconv(rk_net *net, int x, const char *name, int k, int stride);
int rk_net_swish(rk_net *net, int x);
int rk_net_sigmoid(rk_net *net, int x);
int rk_net_scale(rk_net *net, int x, int s);

/* Allocates the parameter arena. The last value added is the output. */
int rk_net_finalize(rk_net *net, rk_err *err);
/* Sizes the activation arena for batch N and builds backend plans. May be called again
 * with another N or backend. threads: compute threads (OpenMP, shared by oneDNN and
 * OpenBLAS). */
int rk_net_plan(rk_net *net, int N, rk_backend backend, int threads, rk_err *err);

/* Kaiming-normal (fan_out, ReLU gain) conv/linear weights, zero biases, BN gamma 1 beta 0,
 * running mean 0 var 1. Deterministic in seed. */
void rk_net_init_params(rk_net *net, uint64_t seed);

size_t rk_net_num_tensors(const rk_net *net);
const rk_tensor_info *rk_net_tensor(const rk_net *net, size_t i);
const rk_tensor_info *rk_net_find(const rk_net *net, const char *name);
float *rk_net_params(rk_net *net);   /* all tensors, trainable first */
float *rk_net_grads(rk_net *net);    /* same layout, trainable part only */
float *rk_net_momentum(rk_net *net); /* same layout, trainable part only */
size_t rk_net_num_params(const rk_net *net);    /* trainable floats */
size_t rk_net_num_elements(const rk_net *net);  /* all floats (with buffers) */
size_t rk_net_activation_bytes(const rk_net *net);
void rk_net_output_shape(const rk_net *net, int shape[4]); /* (N, C, H, W) */
void rk_net_input_shape(const rk_net *net, int *C, int *H, int *W);

/* Forward on input (N, C, H, W) plain NCHW; returns the output as plain NCHW (owned by the
 * net, valid until the next call), or NULL if the net is not planned or a oneDNN primitive
 * failed. train: batch statistics (and running-stat update) for BN. */
const float *rk_net_forward(rk_net *net, const float *input, int train);
void rk_net_zero_grad(rk_net *net);
/* Backward from dout (plain NCHW, output shape) after a train-mode forward; accumulates
 * parameter gradients. RK_EINVAL without a preceding train-mode forward, RK_EDNNL if a
 * primitive failed. */
int rk_net_backward(rk_net *net, const float *dout);
/* BN running-stat momentum (default 0.1, PyTorch's) and eps (default 1e-5). */
void rk_net_set_bn(rk_net *net, float momentum, float eps);

/* ---- optimizer ---- */
typedef struct rk_sgd {
    float lr;
    float momentum;
    float weight_decay;
    int decay_all; /* 1: weight decay on every trainable tensor (PyTorch default);
                      0: exclude BN and biases */
    int nesterov;
} rk_sgd;

/* PyTorch SGD semantics: g += wd*p; v = mu*v + g; p -= lr*v. */
void rk_sgd_step(rk_net *net, const rk_sgd *opt);
/* Linear warm-up from warmup_init*base to base over warmup steps, then cosine to 0. */
float rk_lr_schedule(float base, float warmup_init, long warmup, long step, long total);
/* Scales gradients so their global L2 norm is <= max_norm; returns the norm before. */
float rk_clip_grad_norm(rk_net *net, float max_norm);

/* ---- checkpoints ---- */
/* Versioned header, tensor names and shapes, CRC-32 of the whole file. */
int rk_checkpoint_save(const rk_net *net, const char *path, rk_err *err);
/* strict: every tensor of the net must be in the file and every tensor of the file in the
 * net. Non-strict (loading a backbone into a detector): tensors are matched by name, those
 * missing on either side are skipped; *loaded (may be NULL) gets the count. Shape
 * mismatches are always errors. On error the net's parameters are unchanged. */
int rk_checkpoint_load(rk_net *net, const char *path, int strict, int *loaded, rk_err *err);

#endif
