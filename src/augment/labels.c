/* Segmentation labels through an augmentation: the label map follows the image's geometry
 * exactly by replaying what rk_augment did (its rk_aug_trace) on the labels.
 *
 * Each step, and why it is the image's geometry:
 *  - rotate, shear, translate: rk_op_apply on the labels (in all three channels of an RGB
 *    scratch image) with the traced signed argument. Geometric ops sample the nearest pixel
 *    and draw nothing from the rng, so the label of output pixel p is the label of the input
 *    pixel whose colour p shows; what an op uncovers becomes RK_SEG_IGNORE;
 *  - TranslateY_Only_BBoxes moves the content of boxes chosen by coins the trace does not
 *    keep: every box's area (boxes moved along with the replay) becomes RK_SEG_IGNORE, so
 *    the loss never learns a label the pixels may no longer show;
 *  - colour ops and Cutout change pixel values only: labels unchanged (an object under a
 *    Cutout square keeps its label, as occlusion does);
 *  - the flip mirrors the labels;
 *  - scale jitter: nearest sampling at the centres the bilinear resize interpolates around
 *    (source pixel floor((o + 0.5) * in / resized)), the crop at the same offset, and the
 *    padded border RK_SEG_IGNORE. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rethink/augment.h"

static void ignore_boxes(rk_image *im, const rk_box *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int x0 = (int)floor(b[i].x), y0 = (int)floor(b[i].y);
        int x1 = (int)ceil(b[i].x + b[i].w), y1 = (int)ceil(b[i].y + b[i].h);
        for (int y = y0 < 0 ? 0 : y0; y < y1 && y < im->h; y++)
            for (int x = x0 < 0 ? 0 : x0; x < x1 && x < im->w; x++)
                memset(im->px + ((size_t)y * im->w + x) * 3, RK_SEG_IGNORE, 3);
    }
}

static int nearest(int o, double f, int n)
{
    int s = (int)floor((o + 0.5) * f);
    return s < 0 ? 0 : s >= n ? n - 1 : s;
}

int rk_augment_labels(const rk_aug_trace *t, const rk_image *in, const rk_box *boxes, size_t n,
                      rk_image *out, rk_err *err)
{
    if (!in->px || in->c != 1 || !out->px || out->c != 1)
        return rk_errf(err, RK_EINVAL, "augment labels: label maps must be 1 channel");
    size_t np = (size_t)in->w * in->h;
    rk_image work = {in->w, in->h, 3, malloc(np * 3)};
    rk_box *bx = malloc((n + 1) * sizeof *bx);
    uint8_t *tmp = malloc(rk_op_tmp_size(in->w, in->h, n));
    if (!work.px || !bx || !tmp) {
        free(work.px), free(bx), free(tmp);
        return rk_errf(err, RK_ENOMEM, "augment labels: out of memory (%dx%d)", in->w, in->h);
    }
    for (size_t i = 0; i < np; i++) memset(work.px + 3 * i, in->px[i], 3);
    for (size_t i = 0; i < n; i++) bx[i] = boxes[i], bx[i].vis = 1;
    for (int k = 0; k < t->nops; k++) {
        rk_op op = t->ops[k];
        if (op == RK_OP_TRANSLATE_Y_ONLY_BBOXES)
            ignore_boxes(&work, bx, n);
        else if (rk_op_is_geometric(op))
            rk_op_apply(op, t->args[k], &work, bx, n, RK_SEG_IGNORE, 0, NULL, tmp);
    }
    if (t->flipped) rk_aug_hflip(&work, bx, n);
    rk_jitter j = t->jitter;
    double fx = (double)in->w / j.rw, fy = (double)in->h / j.rh;
    for (int y = 0; y < out->h; y++)
        for (int x = 0; x < out->w; x++) {
            int xr = x + j.ox, yr = y + j.oy;
            out->px[(size_t)y * out->w + x] =
                xr >= j.rw || yr >= j.rh
                    ? RK_SEG_IGNORE
                    : work.px[((size_t)nearest(yr, fy, in->h) * in->w + nearest(xr, fx, in->w)) * 3];
        }
    free(work.px), free(bx), free(tmp);
    return RK_OK;
}
