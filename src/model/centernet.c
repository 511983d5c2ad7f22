/* CenterNet targets (Gaussian heatmaps, size and offset at centre cells) and decoding
 * (3x3 peak extraction, top-k, boxes back in original-image coordinates), following
 * Zhou et al., "Objects as Points" (2019) and its reference code's conventions:
 * size targets in output cells, radius from gaussian_radius(min_overlap = 0.7),
 * sigma = diameter / 6, heatmaps combined by max. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rethink/model.h"

float rk_gaussian_radius(float height, float width, float min_overlap)
{
    /* The three cases of CenterNet's gaussian_radius: the largest corner displacement that
     * keeps IoU >= min_overlap when both corners move, one moves inward, or one outward. */
    double h = height, w = width, o = min_overlap;
    double b1 = h + w, c1 = w * h * (1 - o) / (1 + o);
    double r1 = (b1 + sqrt(b1 * b1 - 4 * c1)) / 2;
    double b2 = 2 * (h + w), c2 = (1 - o) * w * h;
    double r2 = (b2 + sqrt(b2 * b2 - 16 * c2)) / 2;
    double a3 = 4 * o, b3 = -2 * o * (h + w), c3 = (o - 1) * w * h;
    double r3 = (b3 + sqrt(b3 * b3 - 4 * a3 * c3)) / 2;
    double r = r1 < r2 ? r1 : r2;
    return (float)(r < r3 ? r : r3);
}

void rk_centernet_encode(float *heat, float *reg, float *mask, int C, int H, int W, int stride,
                         const rk_box *boxes, int n)
{
    size_t HW = (size_t)H * W;
    memset(heat, 0, (size_t)C * HW * sizeof(float));
    memset(reg, 0, 4 * HW * sizeof(float));
    memset(mask, 0, HW * sizeof(float));
    for (int i = 0; i < n; i++) {
        const rk_box *b = &boxes[i];
        if (b->cls < 0 || b->cls >= C || !(b->w > 0 && b->h > 0)) continue;
        float cx = (float)((b->x + b->w / 2) / stride), cy = (float)((b->y + b->h / 2) / stride);
        int ix = (int)floorf(cx), iy = (int)floorf(cy);
        if (ix < 0 || iy < 0 || ix >= W || iy >= H) continue;
        float ow = (float)(b->w / stride), oh = (float)(b->h / stride);
        int r = (int)rk_gaussian_radius(ceilf(oh), ceilf(ow), 0.7f);
        if (r < 0) r = 0;
        double sigma = (2 * r + 1) / 6.0;
        float *hm = heat + (size_t)b->cls * HW;
        for (int y = iy - r; y <= iy + r; y++)
            for (int x = ix - r; x <= ix + r; x++) {
                if (x < 0 || y < 0 || x >= W || y >= H) continue;
                int dx = x - ix, dy = y - iy;
                float g = (float)exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
                float *h = &hm[(size_t)y * W + x];
                if (g > *h) *h = g;
            }
        size_t c = (size_t)iy * W + ix;
        reg[c] = ow, reg[HW + c] = oh;
        reg[2 * HW + c] = cx - ix, reg[3 * HW + c] = cy - iy;
        mask[c] = 1;
    }
}

typedef struct {
    float score;
    int idx; /* cls * H * W + y * W + x */
} cand;

static int cmp_cand(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

int rk_centernet_decode(rk_detection *dets, int k, const float *out, int C, int H, int W,
                        int stride, const rk_letterbox *lb, int orig_w, int orig_h)
{
    size_t HW = (size_t)H * W;
    cand *c = malloc((size_t)C * HW * sizeof *c);
    if (!c) return 0;
    size_t n = 0;
    for (int cl = 0; cl < C; cl++) {
        const float *z = out + (size_t)cl * HW;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                float v = z[(size_t)y * W + x];
                int peak = 1;
                /* sigmoid is monotone: comparing logits is comparing heats */
                for (int dy = -1; dy <= 1 && peak; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        int yy = y + dy, xx = x + dx;
                        if (yy < 0 || xx < 0 || yy >= H || xx >= W) continue;
                        if (z[(size_t)yy * W + xx] > v) {
                            peak = 0;
                            break;
                        }
                    }
                if (peak) c[n++] = (cand){1.0f / (1.0f + expf(-v)), (int)((size_t)cl * HW + (size_t)y * W + x)};
            }
    }
    qsort(c, n, sizeof *c, cmp_cand);
    int m = (int)(n < (size_t)k ? n : (size_t)k);
    const float *rw = out + (size_t)C * HW, *rh = rw + HW, *ox = rh + HW, *oy = ox + HW;
    for (int i = 0; i < m; i++) {
        size_t pos = (size_t)c[i].idx % HW;
        int y = (int)(pos / W), x = (int)(pos % W);
        double cx = (x + ox[pos]) * stride, cy = (y + oy[pos]) * stride;
        double w = fabs(rw[pos]) * stride, h = fabs(rh[pos]) * stride;
        double x0 = (cx - w / 2 - lb->dx) / lb->sx, y0 = (cy - h / 2 - lb->dy) / lb->sy;
        double x1 = (cx + w / 2 - lb->dx) / lb->sx, y1 = (cy + h / 2 - lb->dy) / lb->sy;
        x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0;
        x1 = x1 > orig_w ? orig_w : x1, y1 = y1 > orig_h ? orig_h : y1;
        dets[i] = (rk_detection){(float)x0, (float)y0, (float)(x1 > x0 ? x1 - x0 : 0),
                                 (float)(y1 > y0 ? y1 - y0 : 0), c[i].score,
                                 (int)((size_t)c[i].idx / HW)};
    }
    free(c);
    return m;
}
