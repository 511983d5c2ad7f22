/* rethink models: the reference detector of DESIGN.md (CenterNet-style head on a small
 * FPN-like backbone) and its classifier variant for pre-training. Both name their backbone
 * parameters identically ("stageS.I.conv.weight", "stageS.I.bn.*"), so a pre-trained
 * classifier checkpoint loads into a detector by name (rk_checkpoint_load, non-strict). */
#ifndef RETHINK_MODEL_H
#define RETHINK_MODEL_H

#include "rethink/data.h"
#include "rethink/engine.h"

/* Backbone families (model.family). Both give stages 1..4 at strides 2, 4, 8, 16 with
 * width * 2^(s-1) channels, so the neck and heads read either unchanged. */
typedef enum {
    RK_FAMILY_PLAIN = 0, /* DESIGN.md's reference: depth x (conv3x3 + BN + ReLU) per stage */
    RK_FAMILY_MBCONV = 1 /* EfficientNet-style: MBConv blocks (expand 1x1, depthwise 3x3,
                            squeeze-and-excitation, project 1x1; swish; residuals) */
} rk_family;
#define RK_MBCONV_EXPAND 4

/* Necks (model.neck): how stage 4's features reach the head stride. Both output
 * (hc, in/stride, in/stride), hc = the head stride's stage width, which the heads read. */
typedef enum {
    RK_NECK_TOPDOWN = 0, /* DESIGN.md's: from stage 4, per level conv1x1 + BN + ReLU to the
                            shallower stage's width, upsample x2, add that stage */
    RK_NECK_FPN = 1      /* FPN (Lin et al. 2017): a lateral conv1x1 + BN + ReLU to hc on every
                            stage from 4 down to the head stride, top-down upsample-and-add,
                            then a 3x3 output conv + BN + ReLU */
} rk_neck; /* MBConv expansion ratio (EfficientNet uses 6; 4 at this scale) */

typedef struct rk_refnet_cfg {
    int width;       /* stage-1 channels; stages double it (default 16) */
    int depth;       /* 3x3 convs per stage (default 2) */
    int in_size;     /* square input side in pixels (default 64); a multiple of 16 */
    int in_channels; /* default 3 */
    int head_stride; /* 4, 8 (default) or 16 */
    int num_classes; /* detector heatmaps / classifier outputs (default 10) */
    int family;      /* rk_family (default RK_FAMILY_PLAIN) */
    int neck;        /* rk_neck (default RK_NECK_TOPDOWN) */
} rk_refnet_cfg;

/* "plain" / "mbconv" (NULL for an unknown family) and back (-1 for an unknown name). */
const char *rk_family_name(int family);
int rk_family_parse(const char *name);
/* "topdown" / "fpn" and back, as the families. */
const char *rk_neck_name(int neck);
int rk_neck_parse(const char *name);

/* The defaults above. */
rk_refnet_cfg rk_refnet_default(void);

/* *net = a finalized detector (rk_refnet_init with seed 0), NULL on error. Output
 * (N, num_classes + 4, in/stride, in/stride): heatmap logits, then 2 size and 2 offset
 * channels. */
int rk_refnet_detector(rk_net **net, const rk_refnet_cfg *cfg, rk_err *err);
/* *net = a finalized classifier, NULL on error. Output (N, num_classes): logits after
 * global average pool of stage 4 and a linear layer. */
int rk_refnet_classifier(rk_net **net, const rk_refnet_cfg *cfg, rk_err *err);
/* *net = a finalized SimCLR network, NULL on error: the same backbone (its tensors load
 * into a detector by name), global average pool of stage 4, then the projection head
 * proj.fc1 (linear to stage 4's channels, a 1x1 conv with bias on the pooled map) + ReLU +
 * proj.fc2 (linear to proj_dim). Output
 * (N, proj_dim): the embeddings NT-Xent compares. */
int rk_refnet_simclr(rk_net **net, const rk_refnet_cfg *cfg, int proj_dim, rk_err *err);

/* Initialises parameters from seed: rk_net_init_params, plus CenterNet's heatmap prior on
 * the detector (head.out bias of the class channels = -2.19, i.e. sigmoid = 0.1). */
void rk_refnet_init(rk_net *net, const rk_refnet_cfg *cfg, uint64_t seed);

/* Multiply-accumulates of one forward pass for one image. */
double rk_refnet_macs(const rk_refnet_cfg *cfg, int detector);

/* Training throughput of the detector of cfg: `warmup` untimed then `steps` timed full SGD
 * steps (forward, CenterNet loss, backward, momentum update) of `batch` synthetic images on
 * `backend` with `threads` threads. No data loading or augmentation. */
typedef struct rk_train_bench {
    double img_per_s, seconds, cpu_seconds; /* over the timed steps */
    double gflop_per_s;                     /* counting 3 x 2 x forward MACs per image */
    float final_loss;                       /* a checksum of the arithmetic */
} rk_train_bench;
int rk_refnet_bench(const rk_refnet_cfg *cfg, int batch, rk_backend backend, int threads,
                    int warmup, int steps, rk_train_bench *res, rk_err *err);

/* CenterNet loss on the detector output `out` (N, C+4, H, W):
 *   focal(heat, heat_gt) + w_size * L1(size, reg_gt[0:2]) + w_off * L1(off, reg_gt[2:4])
 * with the L1 terms masked by reg_mask (N, 1, H, W) (1 at object centres).
 * heat_gt is (N, C, H, W), reg_gt (N, 4, H, W). Writes dout (same shape as out) and the
 * three terms to terms[3] if not NULL. scratch: (2*C + 8) * N * H * W floats. */
float rk_centernet_loss(float *dout, const float *out, const float *heat_gt,
                        const float *reg_gt, const float *reg_mask, int N, int C, int H,
                        int W, float w_size, float w_off, float *terms, float *scratch);

/* ---- CenterNet targets and decoding ---- */

/* How an original image maps into the network input: x_in = x * sx + dx, y_in = y * sy + dy
 * (sx and sy differ only by the rounding of the resized size). Identity: {1, 1, 0, 0}. */
typedef struct rk_letterbox {
    double sx, sy, dx, dy;
} rk_letterbox;

/* CenterNet's Gaussian radius for a box of h x w output cells (min_overlap 0.7, the three
 * corner cases of the original code). */
float rk_gaussian_radius(float h, float w, float min_overlap);

/* Writes the targets of one image from boxes in network-input pixels with cls = 0-based
 * class (output H x W cells at `stride` input px per cell):
 * heat (C, H, W): max over objects of a Gaussian (sigma = (2r+1)/6) centred on the object's
 * centre cell, peak 1; reg (4, H, W): at centre cells (w, h) in output cells then the
 * sub-cell offset (dx, dy); mask (1, H, W): 1 at centre cells. Boxes whose centre falls
 * outside the map are skipped. Overwrites all three arrays. */
void rk_centernet_encode(float *heat, float *reg, float *mask, int C, int H, int W, int stride,
                         const rk_box *boxes, int n);

typedef struct rk_detection {
    float x, y, w, h; /* original-image pixels */
    float score;
    int cls;          /* 0-based */
} rk_detection;

/* Decodes one image's head output out (C+4, H, W): sigmoid heatmaps, peaks that equal the
 * 3x3 max of their neighbourhood, the top k by score (ties: lower class, then row-major
 * position first), boxes from the size and offset channels mapped back through lb and
 * clipped to the original image (orig_w x orig_h). Returns the number written (<= k). */
int rk_centernet_decode(rk_detection *dets, int k, const float *out, int C, int H, int W,
                        int stride, const rk_letterbox *lb, int orig_w, int orig_h);

/* ---- semantic segmentation (src/model/segment.c) ----
 * K = classes + 1 (background is class 0). The segmenter is the detector of cfg with at
 * least K output channels; the first K, at the head's stride, are the class logits. */

/* *net = a finalized segmenter (rk_segnet_init with seed 0), NULL on error. Output (N,
 * max(K, 5), in/stride, in/stride). */
int rk_segnet(rk_net **net, const rk_refnet_cfg *cfg, int K, rk_err *err);
/* rk_refnet_init without the heatmap prior (head.out's bias zero: uniform over classes). */
void rk_segnet_init(rk_net *net, const rk_refnet_cfg *cfg, uint64_t seed);

/* Bilinear resize as PyTorch's F.interpolate(mode='bilinear', align_corners=False): NC
 * planes (H, W) -> (OH, OW). Backward accumulates into din. */
void rk_upsample_bilinear_forward(float *out, const float *in, int NC, int H, int W, int OH,
                                  int OW);
void rk_upsample_bilinear_backward(float *din, const float *dout, int NC, int H, int W, int OH,
                                   int OW);
/* Per-pixel softmax cross-entropy, mean over pixels whose label is not RK_SEG_IGNORE
 * (F.cross_entropy(ignore_index=255)); 0 and a zero gradient if all are ignored. logits and
 * dlogits (N, K, HW), labels (N, HW) class indices. Writes dlogits. */
float rk_seg_xent(float *dlogits, const float *logits, const uint8_t *labels, int N, int K,
                  size_t HW);
/* The segmenter's loss on its output out (N, OC, h, w): the first K channels upsampled to
 * S x S, rk_seg_xent against labels (N, S, S). Writes dout (N, OC, h, w; zero beyond K).
 * scratch: 2 * N * K * S * S floats. */
float rk_segment_loss(float *dout, const float *out, const uint8_t *labels, int N, int K,
                      int OC, int h, int w, int S, float *scratch);
/* One image's output (its first K channels, (K, h, w)) -> per input pixel (S x S) the argmax
 * class and, if conf is not NULL, its softmax probability. scratch: K * S * S floats. */
void rk_segment_decode(uint8_t *cls, float *conf, const float *out, int K, int h, int w, int S,
                       float *scratch);

#endif
