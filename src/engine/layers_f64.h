/* Double-precision twins of the reference layers, for gradient tests only (not installed,
 * not part of the public API). Same arguments and semantics as engine.h's float versions. */
#ifndef RETHINK_LAYERS_F64_H
#define RETHINK_LAYERS_F64_H
#include <stddef.h>

void rk_conv2d_forward_f64(double *out, const double *in, const double *w, const double *b,
                           double *col, int N, int C, int H, int W, int OC, int k, int s, int p);
void rk_conv2d_backward_f64(double *din, double *dw, double *db, const double *dout,
                            const double *in, const double *w, double *col, int N, int C,
                            int H, int W, int OC, int k, int s, int p);
void rk_batchnorm_forward_train_f64(double *out, double *mean, double *var,
                                    const double *in, const double *gamma, const double *beta,
                                    int N, int C, int HW, double eps);
void rk_batchnorm_forward_eval_f64(double *out, const double *in, const double *gamma,
                                   const double *beta, const double *run_mean,
                                   const double *run_var, int N, int C, int HW, double eps);
void rk_batchnorm_backward_f64(double *din, double *dgamma, double *dbeta, const double *dout,
                               const double *in, const double *mean, const double *var,
                               const double *gamma, int N, int C, int HW, double eps);
void rk_relu_forward_f64(double *out, const double *in, size_t n);
void rk_relu_backward_f64(double *din, const double *dout, const double *out, size_t n);
void rk_maxpool_forward_f64(double *out, const double *in, int N, int C, int H, int W, int k,
                            int s, int p);
void rk_maxpool_backward_f64(double *din, const double *dout, const double *in, int N, int C,
                             int H, int W, int k, int s, int p);
void rk_gap_forward_f64(double *out, const double *in, int N, int C, int HW);
void rk_gap_backward_f64(double *din, const double *dout, int N, int C, int HW);
void rk_upsample2_forward_f64(double *out, const double *in, int N, int C, int H, int W);
void rk_upsample2_backward_f64(double *din, const double *dout, int N, int C, int H, int W);
void rk_add_forward_f64(double *out, const double *a, const double *b, size_t n);
void rk_add_backward_f64(double *da, double *db, const double *dout, size_t n);
void rk_linear_forward_f64(double *out, const double *in, const double *w, const double *b,
                           int N, int IN, int OUT);
void rk_linear_backward_f64(double *din, double *dw, double *db, const double *dout,
                            const double *in, const double *w, int N, int IN, int OUT);
double rk_softmax_xent_f64(double *dlogits, const double *logits, const int *labels, int N,
                           int K);
double rk_focal_loss_f64(double *dlogits, const double *logits, const double *gt, size_t n);
double rk_masked_l1_f64(double *dpred, const double *pred, const double *target,
                        const double *mask, size_t n);
double rk_nt_xent_f64(double *dz, const double *z, int M, int D, double tau);
void rk_dwconv2d_forward_f64(double *out, const double *in, const double *w, int N, int C,
                             int H, int W, int k, int s, int p);
void rk_dwconv2d_backward_f64(double *din, double *dw, const double *dout, const double *in,
                              const double *w, int N, int C, int H, int W, int k, int s, int p);
void rk_swish_forward_f64(double *out, const double *in, size_t n);
void rk_swish_backward_f64(double *din, const double *dout, const double *in, size_t n);
void rk_sigmoid_forward_f64(double *out, const double *in, size_t n);
void rk_sigmoid_backward_f64(double *din, const double *dout, const double *out, size_t n);
void rk_chscale_forward_f64(double *out, const double *in, const double *s, int N, int C,
                            int HW);
void rk_chscale_backward_f64(double *din, double *ds, const double *dout, const double *in,
                             const double *s, int N, int C, int HW);
#endif
