/* The semantic-segmentation head on the reference backbone, its loss and its decoding.
 *
 * The head is the detector's own (rk_refnet_detector: backbone, neck down to
 * model.head_stride, conv3x3 + ReLU, conv1x1), asked for at least K = classes + 1 output
 * channels; the first K are per-class logits (background first) at the head's stride. So a
 * segmenter is whatever backbone family and neck the detector is built from, with nothing
 * of its own in the engine, and the pre-trained backbone loads into it by name as into the
 * detector. Channels beyond K (when K < 5, the detector's minimum) get a zero gradient.
 *
 * The loss is computed at full input resolution: the logits are upsampled bilinearly (as
 * PyTorch's F.interpolate(align_corners=False), DeepLab's practice) to the input size and
 * scored per pixel by softmax cross-entropy against the labels, ignoring RK_SEG_IGNORE;
 * the gradient flows back through the upsampling. Downsampling the labels to the head's
 * 8x8 cells instead would erase most of a 12-px object's outline (each cell one label), and
 * evaluation scores full-resolution labels anyway, so training sees what is scored. */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "rethink/model.h"
#include "segment_f64.h"

#define T float
#define FN(name) name
#include "segment_impl.h"
#undef T
#undef FN
#define T double
#define FN(name) name##_f64
#include "segment_impl.h"
#undef T
#undef FN

static int det_classes(int K) { return K - 4 > 1 ? K - 4 : 1; }

int rk_segnet(rk_net **net, const rk_refnet_cfg *cfg, int K, rk_err *err)
{
    *net = NULL;
    if (K < 2 || K > 254)
        return rk_errf(err, RK_EINVAL, "segmentation: %d classes with background (2..254)", K);
    rk_refnet_cfg c = *cfg;
    c.num_classes = det_classes(K);
    int rc = rk_refnet_detector(net, &c, err);
    if (!rc) rk_segnet_init(*net, cfg, 0);
    return rc;
}

void rk_segnet_init(rk_net *net, const rk_refnet_cfg *cfg, uint64_t seed)
{
    rk_refnet_init(net, cfg, seed);
    /* no heatmap prior: a zero bias is the uniform prior over classes */
    const rk_tensor_info *b = rk_net_find(net, "head.out.bias");
    if (b) memset(rk_net_params(net) + b->offset, 0, b->numel * sizeof(float));
}

float rk_segment_loss(float *dout, const float *out, const uint8_t *labels, int N, int K,
                      int OC, int h, int w, int S, float *scratch)
{
    assert(OC >= K);
    size_t hw = (size_t)h * w, SS = (size_t)S * S;
    float *up = scratch, *dup = scratch + (size_t)N * K * SS;
    for (int n = 0; n < N; n++)
        rk_upsample_bilinear_forward(up + (size_t)n * K * SS, out + (size_t)n * OC * hw, K, h, w,
                                     S, S);
    float loss = rk_seg_xent(dup, up, labels, N, K, SS);
    memset(dout, 0, (size_t)N * OC * hw * sizeof(float));
    for (int n = 0; n < N; n++)
        rk_upsample_bilinear_backward(dout + (size_t)n * OC * hw, dup + (size_t)n * K * SS, K, h,
                                      w, S, S);
    return loss;
}

void rk_segment_decode(uint8_t *cls, float *conf, const float *out, int K, int h, int w, int S,
                       float *scratch)
{
    size_t SS = (size_t)S * S;
    rk_upsample_bilinear_forward(scratch, out, K, h, w, S, S);
    for (size_t p = 0; p < SS; p++) {
        int best = 0;
        float m = scratch[p];
        for (int k = 1; k < K; k++)
            if (scratch[k * SS + p] > m) m = scratch[k * SS + p], best = k;
        double sum = 0;
        for (int k = 0; k < K; k++) sum += exp((double)(scratch[k * SS + p] - m));
        cls[p] = (uint8_t)best;
        if (conf) conf[p] = (float)(1 / sum);
    }
}
