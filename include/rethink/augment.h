/* rethink augment: the paper's augmentation policies S1..S4 on uint8 RGB images with boxes.
 *
 * A policy (rk_policy) is data, parsed from the key/value pairs of an INI section
 * `[augment.NAME]` (experiments/augment.ini ships S1..S4). Applying it (rk_augment) runs, in
 * the order of the paper's released detection input pipeline:
 *   1. the op policy on the input image: AutoAugment detection `v0` (one of 5 sub-policies
 *      drawn uniformly, each op applied with its probability at its level) or RandAugment
 *      (N ops drawn uniformly with replacement, each at magnitude M), or none;
 *   2. a horizontal flip with probability `flip`;
 *   3. scale jitter: s ~ U(scale_min, scale_max), resize keeping the aspect ratio to fit
 *      s x the output size (bilinear), random crop to the output size, pad bottom/right;
 *   4. the box rule (rk_boxes_filter).
 * Geometric ops move the boxes: a box becomes the axis-aligned box around its 4 transformed
 * corners, clipped to the image (the corner quadrilateral is clipped first, so the box stays
 * tight when an object leaves the image by a corner).
 *
 * Coordinates are continuous pixels: pixel (row i, col j) covers [j, j+1) x [i, i+1), so a
 * box (x, y, w, h) of an object covering pixel columns a..b has x = a, w = b - a + 1.
 *
 * Randomness: every draw comes from rk_rng streams keyed by (seed, epoch, image index) and
 * the pipeline stage, never from shared state, so a trial sees the same images whatever the
 * thread count or batch order, and policies that share a stage (e.g. S1 and S2 share flip and
 * scale parameters) make the same flip/crop decisions for the same key. */
#ifndef RETHINK_AUGMENT_H
#define RETHINK_AUGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "rethink/core.h"
#include "rethink/data.h"

/* ---- boxes (rk_box, data.h) ---- */
/* The box rule: drops boxes whose clipped width or height is < min_size pixels or whose
 * visible fraction `vis` is < min_visible; keeps the order of the rest. Returns the new
 * count. */
size_t rk_boxes_filter(rk_box *b, size_t n, double min_size, double min_visible);

/* ---- ops ---- */
typedef enum rk_op {
    RK_OP_IDENTITY,
    RK_OP_AUTOCONTRAST,
    RK_OP_EQUALIZE,
    RK_OP_ROTATE,
    RK_OP_SOLARIZE,
    RK_OP_COLOR,
    RK_OP_POSTERIZE,
    RK_OP_CONTRAST,
    RK_OP_BRIGHTNESS,
    RK_OP_SHARPNESS,
    RK_OP_SHEAR_X,
    RK_OP_SHEAR_Y,
    RK_OP_TRANSLATE_X,
    RK_OP_TRANSLATE_Y,
    RK_OP_CUTOUT,
    RK_OP_TRANSLATE_Y_ONLY_BBOXES,
    RK_OP_COUNT
} rk_op;

/* The first 14 ops are RandAugment's set, in the RandAugment paper's order. */
#define RK_RANDAUGMENT_OPS 14

const char *rk_op_name(rk_op op);
/* 1 for ops that move pixels and boxes (rotate, shear, translate). */
int rk_op_is_geometric(rk_op op);

/* How a level (0..10, extrapolating above) becomes an op argument.
 *  RK_LEVELS_TF: the released TF code's mappings (autoaugment_utils.py), exactly. Note that
 *    there, level 0 is NOT "no change" for most colour ops (enhance factor 0.1, posterize to 0
 *    bits, solarize at threshold 0 = invert) and the identity enhance factor 1.0 is level 5.
 *  RK_LEVELS_INCREASING: every op with a magnitude is the identity at level 0 and grows with
 *    the level (enhance factor 1 +/- 0.09 level, posterize keeps 8 - 0.4 level bits, solarize
 *    threshold 256 - 25.6 level); geometric ops and Cutout are as RK_LEVELS_TF. */
typedef enum rk_levels { RK_LEVELS_TF, RK_LEVELS_INCREASING } rk_levels;

/* Pixel constants of the reference, at its image size `ref_size` (640), before scaling:
 * translate: full-image translation at level 10; translate_bbox: the _Only_BBoxes
 * translation at level 10; cutout: Cutout's half-size at level 10. */
typedef struct rk_op_consts {
    double translate, translate_bbox, cutout;
} rk_op_consts;

/* The argument of `op` at `level` with a positive sign (the caller draws the random
 * negation for rotate, shear, translate, and for enhance ops under RK_LEVELS_INCREASING,
 * see rk_op_signed). px_scale multiplies pixel arguments (translate, cutout): our image side
 * over the reference's 640. Units: degrees (rotate), shear factor, pixels (translate),
 * half-size in pixels (cutout), enhance factor, bits kept (posterize), threshold (solarize);
 * 0 for ops without an argument. */
double rk_op_arg(rk_op op, double level, rk_levels levels, const rk_op_consts *c,
                 double px_scale);
/* 1 if the op's argument is negated with probability 0.5 under `levels`. For enhance ops
 * under RK_LEVELS_INCREASING the sign applies to (factor - 1). */
int rk_op_signed(rk_op op, rk_levels levels);

/* Applies `op` with argument `arg` (already signed) to im in place; boxes move with
 * geometric ops. im must be RGB (c == 3). tmp: rk_op_tmp_size() bytes of scratch. fill: the grey
 * level of pixels a geometric op uncovers and of Cutout (128 in the reference). box_prob: for
 * TranslateY_Only_BBoxes, the probability per box (the reference uses the op's probability
 * / 3). r: for ops that draw (Cutout's centre; the per-box coins and the order of boxes). */
void rk_op_apply(rk_op op, double arg, rk_image *im, rk_box *boxes, size_t n, uint8_t fill,
                 double box_prob, rk_rng *r, uint8_t *tmp);
/* Bytes of scratch rk_op_apply needs for a w x h image with n boxes. */
size_t rk_op_tmp_size(int w, int h, size_t n);

/* Mirrors im left-right in place, boxes with it. */
void rk_aug_hflip(rk_image *im, rk_box *boxes, size_t n);

/* The scale-jitter geometry for an input of iw x ih and an output of ow x oh given the
 * draws s (scale, drawn from U(min, max)) and ux, uy in [0, 1) (crop offset fractions):
 * resized size (rw, rh) = round(in * min(round(s*oh)/ih, round(s*ow)/iw)), crop offset
 * (ox, oy) = floor(max(0, resized - out) * u). */
typedef struct rk_jitter {
    int rw, rh, ox, oy;
} rk_jitter;
rk_jitter rk_aug_jitter_geometry(int iw, int ih, int ow, int oh, double s, double ux,
                                 double uy);
/* Resizes src to (j.rw, j.rh) bilinearly (half-pixel centres), crops at (j.ox, j.oy) into
 * dst (its w x h is the output size) and fills the part of dst beyond the resized image
 * (bottom/right) with pad[3]. Boxes are scaled, shifted and clipped. */
void rk_aug_resize_crop(const rk_image *src, rk_image *dst, rk_jitter j, const uint8_t pad[3],
                        rk_box *boxes, size_t n);

/* ---- policies ---- */
typedef enum rk_opset { RK_OPSET_NONE, RK_OPSET_AUTOAUGMENT_V0, RK_OPSET_RANDAUGMENT } rk_opset;

typedef struct rk_policy {
    char name[64];
    double flip;                 /* probability of a horizontal flip, 0..1 */
    double scale_min, scale_max; /* scale jitter range (x output size), 0 < min <= max */
    uint8_t pad[3];              /* value of the pixels the crop leaves uncovered */
    double min_size;             /* box rule: minimum clipped width and height, pixels */
    double min_visible;          /* box rule: minimum visible fraction, 0..1 */
    rk_opset opset;
    int ra_n;                    /* RandAugment: ops per image */
    double ra_m;                 /* RandAugment: magnitude level, 0..30 */
    rk_levels levels;            /* level -> argument mapping (default RK_LEVELS_TF) */
    double ref_size;             /* the image side the pixel constants refer to (640) */
    uint8_t fill;                /* uncovered pixels of AutoAugment/RandAugment ops (128) */
} rk_policy;

/* One key = value pair with where it came from (file may be NULL, line 0 if unknown). */
typedef struct rk_kv {
    const char *key, *value;
    const char *file;
    int line;
} rk_kv;

/* Parses a policy named `name` from key/value pairs. Required: flip, scale, pad, min_size,
 * min_visible. Optional: autoaugment (v0) or randaugment (N, M) but not both, levels (tf |
 * increasing), ref_size, fill. Unknown or repeated keys and out-of-range values are errors
 * naming file, line, section and key. */
int rk_policy_parse(rk_policy *p, const char *name, const rk_kv *kv, size_t n, rk_err *err);
/* Reads section [augment.NAME] of an INI file (inih) and parses it. */
int rk_policy_load_ini(rk_policy *p, const char *path, const char *name, rk_err *err);

/* AutoAugment detection policy v0 as released: 5 sub-policies of 2 steps. */
typedef struct rk_aa_step {
    rk_op op;
    double prob, level;
} rk_aa_step;
#define RK_AA_V0_SUBPOLICIES 5
extern const rk_aa_step rk_autoaugment_v0[RK_AA_V0_SUBPOLICIES][2];

/* Most RandAugment ops per image a policy may ask for. */
#define RK_RA_MAX_N 8

/* The reference's pixel constants of an opset at 640 px (AutoAugment: translate 250,
 * translate_bbox 120, cutout 100; RandAugment: translate 100, cutout 40). */
rk_op_consts rk_opset_consts(rk_opset s);

/* What rk_augment did to one image (for tests, figures and logs). */
typedef struct rk_aug_trace {
    int subpolicy;              /* AutoAugment: index 0..4 of the sub-policy, else -1 */
    int nops;                   /* ops applied (coin came up), in order */
    rk_op ops[8];
    double args[8];
    int flipped;
    double scale;
    rk_jitter jitter;
} rk_aug_trace;

/* Augments one image. in: RGB; boxes: n input boxes (their vis is ignored and taken as 1).
 * out: allocated by the caller, RGB; its w x h is the output size. out_boxes: room for n
 * boxes; *out_n gets how many survive the box rule, in input order. All randomness is keyed
 * by (seed, epoch, index). trace may be NULL. */
int rk_augment(const rk_policy *p, const rk_image *in, const rk_box *boxes, size_t n,
               uint64_t seed, uint64_t epoch, uint64_t index, rk_image *out, rk_box *out_boxes,
               size_t *out_n, rk_aug_trace *trace, rk_err *err);

/* Segmentation labels through the same augmentation: replays trace (what rk_augment did to
 * the image with boxes[0..n), the image's input boxes) on the label map `in` (1 channel, the
 * input image's size) into `out` (1 channel, allocated by the caller, the output size), so
 * that out's pixel p labels the pixel p of the augmented image. Geometric ops and the resize
 * sample the nearest label; what an op uncovers and the crop's padding become
 * RK_SEG_IGNORE, and so do the boxes' areas where TranslateY_Only_BBoxes ran (its coins are
 * not traced); colour ops and Cutout leave labels alone (src/augment/labels.c says why). */
int rk_augment_labels(const rk_aug_trace *trace, const rk_image *in, const rk_box *boxes,
                      size_t n, rk_image *out, rk_err *err);

#endif
