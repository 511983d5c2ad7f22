/* Semantic-segmentation evaluation: mIoU as PASCAL VOC's protocol computes it.
 *
 * One K x K confusion matrix accumulated over every pixel of the whole evaluation set whose
 * ground truth is not RK_SEG_IGNORE (rows: ground truth, columns: prediction). Per class,
 * IoU = TP / (TP + FP + FN) from the matrix's totals (never a mean of per-image IoUs). mIoU is
 * the mean over the classes present in the ground truth or the prediction (TP + FP + FN > 0);
 * a class absent from both has no IoU (NAN) and is left out, as the reference
 * implementations' nanmean does. Background is a class, as in PASCAL's 21. Counts are
 * 64-bit integers, so the order of accumulation cannot change the result. */
#include <math.h>
#include <stdlib.h>

#include "rethink/eval.h"

int rk_seg_confusion_init(rk_seg_confusion *c, int K, rk_err *err)
{
    c->K = K;
    c->m = K > 0 && K < 255 ? calloc((size_t)K * K, sizeof *c->m) : NULL;
    if (!c->m) return rk_errf(err, K > 0 && K < 255 ? RK_ENOMEM : RK_EINVAL,
                              "segmentation metric: %d classes (1..254)", K);
    return RK_OK;
}

void rk_seg_confusion_free(rk_seg_confusion *c)
{
    if (c) free(c->m), c->m = NULL;
}

int rk_seg_confusion_add(rk_seg_confusion *c, const uint8_t *gt, const uint8_t *pred, size_t n,
                         rk_err *err)
{
    for (size_t i = 0; i < n; i++) {
        if (gt[i] == RK_SEG_IGNORE) continue;
        if (gt[i] >= c->K || pred[i] >= c->K)
            return rk_errf(err, RK_EINVAL, "segmentation metric: pixel %zu has class %u (ground "
                           "truth) / %u (prediction), expected 0..%d", i, gt[i], pred[i], c->K - 1);
        c->m[(size_t)gt[i] * c->K + pred[i]]++;
    }
    return RK_OK;
}

double rk_seg_miou(const rk_seg_confusion *c, double *iou)
{
    int K = c->K, present = 0;
    double sum = 0;
    for (int k = 0; k < K; k++) {
        uint64_t tp = c->m[(size_t)k * K + k], row = 0, col = 0;
        for (int j = 0; j < K; j++) row += c->m[(size_t)k * K + j], col += c->m[(size_t)j * K + k];
        uint64_t uni = row + col - tp; /* TP + FN + FP */
        double v = uni ? (double)tp / (double)uni : NAN;
        if (iou) iou[k] = v;
        if (uni) sum += v, present++;
    }
    return present ? sum / present : NAN;
}
