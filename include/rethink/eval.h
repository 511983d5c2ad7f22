/* rethink eval: COCO detection metrics with pycocotools' exact bbox semantics.
 *
 * What "exact" means here (PAPER.md §5 is the specification; pycocotools' COCOeval with
 * iouType='bbox' and default Params is the reference):
 *   - IoU thresholds np.linspace(.5, .95, 10) and recall points np.linspace(0, 1, 101),
 *     reproduced bit for bit; maxDets 1, 10, 100; areas all / small / medium / large =
 *     [0, 1e10] / [0, 32²] / [32², 96²] / [96², 1e10], both ends inclusive.
 *   - bbox IoU as maskApi's bbIou, in double, unfused (crowd GT: union = detection area).
 *   - per image and category: detections stably sorted by score (ties keep input order), cut
 *     at 100; GTs ignored if crowd or their annotation `area` is outside the range; greedy
 *     matching in score order; unmatched detections whose w*h is outside the range ignored.
 *   - per category, area and maxDets: images concatenated in ascending image id, re-sorted
 *     stably by score, precision made monotone and sampled at the recall points.
 *   - every mean is numpy's (pairwise summation), so results agree to the last bit.
 * Categories and images are those of the ground truth; a category without GT in a range is
 * -1 there and left out of that stat's mean; a stat with nothing to average is -1. */
#ifndef RETHINK_EVAL_H
#define RETHINK_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "rethink/core.h"
#include "rethink/data.h"

/* One detection, as in a COCO results file. */
typedef struct rk_det {
    int64_t image_id;
    int category_id;
    double bbox[4]; /* x, y, w, h in pixels; w, h >= 0 and finite */
    double score;   /* finite; higher ranks first */
} rk_det;

/* The 12 stats in pycocotools' order (COCOeval.stats). */
enum {
    RK_AP, RK_AP50, RK_AP75, RK_APS, RK_APM, RK_APL,
    RK_AR1, RK_AR10, RK_AR100, RK_ARS, RK_ARM, RK_ARL,
    RK_COCO_NSTATS
};

typedef struct rk_coco_stats {
    double stats[RK_COCO_NSTATS]; /* fractions in [0, 1]; -1 where undefined */
    double *cat_ap;  /* (ncats) AP@[.50:.95], area all, 100 dets, in gt->cats order; -1 for a
                        category without (non-crowd) GT. Owned: rk_coco_stats_free. */
    size_t ncats;
} rk_coco_stats;

/* Reads a COCO results file: a JSON array of {"image_id", "category_id", "bbox": [x, y, w, h],
 * "score"} (other keys ignored), in file order. Every entry is checked against `gt`: unknown
 * image or category ids, a bbox that is not 4 finite numbers, negative w or h, a non-finite
 * score are errors naming the file, the entry's index and its line:column; malformed JSON
 * names line:column. On success *dets (free() it) holds *n entries; on error *dets is NULL. */
int rk_dets_load(rk_det **dets, size_t *n, const char *path, const rk_coco *gt, rk_err *err);
/* Writes a results file that rk_dets_load reads back bit-exactly (numbers as %.17g). */
int rk_dets_save(const rk_det *dets, size_t n, const char *path, rk_err *err);
/* The checks of rk_dets_load for detections built in memory; `gt` may be NULL (then only
 * the numbers are checked). `what` names the detections in messages. */
int rk_dets_check(const rk_det *dets, size_t n, const rk_coco *gt, const char *what,
                  rk_err *err);

/* Evaluates detections against ground truth. Checks dets as rk_dets_check; on success fills
 * *out (release with rk_coco_stats_free), on error leaves it empty. */
int rk_coco_eval(rk_coco_stats *out, const rk_coco *gt, const rk_det *dets, size_t n,
                 rk_err *err);
void rk_coco_stats_free(rk_coco_stats *s);

/* "AP", "AP50", ... "ARl" (the keys of `rethink eval --json`); NULL outside 0..11. */
const char *rk_coco_stat_name(int i);
/* The same stats' column names in the store's views and in exports (schema 5): AP AP50 AP75
 * AP_s AP_m AP_l AR1 AR10 AR100 AR_s AR_m AR_l, unique without case beside `arm`. */
const char *rk_coco_stat_column(int i);
/* pycocotools' summary text without the value, e.g.
 * "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]"; print it as
 * " %s = %.3f" to get pycocotools' line. NULL outside 0..11. */
const char *rk_coco_stat_label(int i);

/* IoU matrix of maskUtils.iou for boxes: o[d * ngt + g] for dt[d] against gt[g] (boxes x, y,
 * w, h); a crowd GT's union is the detection's area; no overlap (or touching edges) is 0. */
void rk_bbox_iou(double *o, const double *dt, size_t ndt, const double *gt, size_t ngt,
                 const int *iscrowd);
/* The 10 IoU thresholds and 101 recall points, equal to pycocotools' np.linspace values. */
void rk_coco_thresholds(double iou[10], double recall[101]);

/* ---- semantic segmentation: mIoU (src/eval/segeval.c) ----
 * PASCAL VOC's protocol: one confusion matrix over every non-ignored pixel of the whole set
 * (rows ground truth, columns prediction); per class IoU = TP / (TP + FP + FN); mIoU = the
 * mean over the classes present in the ground truth or the prediction (a class in neither
 * has no IoU: NAN, left out). Background (class 0) is a class. */
typedef struct rk_seg_confusion {
    int K;
    uint64_t *m; /* (K, K): m[gt * K + pred] */
} rk_seg_confusion;

int rk_seg_confusion_init(rk_seg_confusion *c, int K, rk_err *err);
void rk_seg_confusion_free(rk_seg_confusion *c);
/* Counts n pixels: gt and pred class indices, gt == RK_SEG_IGNORE skipped; any other value
 * >= K is an error naming the pixel. */
int rk_seg_confusion_add(rk_seg_confusion *c, const uint8_t *gt, const uint8_t *pred, size_t n,
                         rk_err *err);
/* mIoU (a fraction; NAN if no class is present); iou (K, may be NULL) per class, NAN where
 * absent. */
double rk_seg_miou(const rk_seg_confusion *c, double *iou);

#endif
