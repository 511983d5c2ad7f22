/* Double-precision twins of the segmentation head's ops (src/model/segment_impl.h), for
 * gradient tests only (not installed, not part of the public API). */
#ifndef RETHINK_SEGMENT_F64_H
#define RETHINK_SEGMENT_F64_H
#include <stddef.h>
#include <stdint.h>

void rk_upsample_bilinear_forward_f64(double *out, const double *in, int NC, int H, int W,
                                      int OH, int OW);
void rk_upsample_bilinear_backward_f64(double *din, const double *dout, int NC, int H, int W,
                                       int OH, int OW);
double rk_seg_xent_f64(double *dlogits, const double *logits, const uint8_t *labels, int N,
                       int K, size_t HW);

#endif
