/* rethink models: the reference detector of DESIGN.md (CenterNet-style head on a small
 * FPN-like backbone) and its classifier variant for pre-training. Both name their backbone
 * parameters identically ("stageS.I.conv.weight", "stageS.I.bn.*"), so a pre-trained
 * classifier checkpoint loads into a detector by name (rk_checkpoint_load, non-strict). */
#ifndef RETHINK_MODEL_H
#define RETHINK_MODEL_H

#include "rethink/engine.h"

typedef struct rk_refnet_cfg {
    int width;       /* stage-1 channels; stages double it (default 16) */
    int depth;       /* 3x3 convs per stage (default 2) */
    int in_size;     /* square input side in pixels (default 64); a multiple of 16 */
    int in_channels; /* default 3 */
    int head_stride; /* 4, 8 (default) or 16 */
    int num_classes; /* detector heatmaps / classifier outputs (default 10) */
} rk_refnet_cfg;

/* The defaults above. */
rk_refnet_cfg rk_refnet_default(void);

/* Output (N, num_classes + 4, in/stride, in/stride): heatmap logits, then 2 size and 2
 * offset channels. Returns a finalized net (rk_refnet_init with seed 0). */
rk_net *rk_refnet_detector(const rk_refnet_cfg *cfg, rk_err *err);
/* Output (N, num_classes): logits after global average pool of stage 4 and a linear layer. */
rk_net *rk_refnet_classifier(const rk_refnet_cfg *cfg, rk_err *err);

/* Initialises parameters from seed: rk_net_init_params, plus CenterNet's heatmap prior on
 * the detector (head.out bias of the class channels = -2.19, i.e. sigmoid = 0.1). */
void rk_refnet_init(rk_net *net, const rk_refnet_cfg *cfg, uint64_t seed);

/* Multiply-accumulates of one forward pass for one image. */
double rk_refnet_macs(const rk_refnet_cfg *cfg, int detector);

/* CenterNet loss on the detector output `out` (N, C+4, H, W):
 *   focal(heat, heat_gt) + w_size * L1(size, reg_gt[0:2]) + w_off * L1(off, reg_gt[2:4])
 * with the L1 terms masked by reg_mask (N, 1, H, W) (1 at object centres).
 * heat_gt is (N, C, H, W), reg_gt (N, 4, H, W). Writes dout (same shape as out) and the
 * three terms to terms[3] if not NULL. scratch: (2*C + 8) * N * H * W floats. */
float rk_centernet_loss(float *dout, const float *out, const float *heat_gt,
                        const float *reg_gt, const float *reg_mask, int N, int C, int H,
                        int W, float w_size, float w_off, float *terms, float *scratch);

#endif
