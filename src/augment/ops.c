/* Augmentation ops on uint8 RGB images (HWC) and their boxes: the colour ops, the geometric
 * ops of AutoAugment/RandAugment, the horizontal flip and the scale-jitter resize/crop.
 *
 * Each op follows the released TF code (tensorflow/tpu autoaugment_utils.py) in what it
 * computes, including its rounding: float blends truncated to uint8, a 3x3 smoothing kernel
 * for Sharpness with the border kept, PIL's equalize LUT. Deviations, each on purpose:
 *  - Contrast blends towards the mean grey level of the image. The TF code divides the
 *    histogram's *count* by 256 (mean = pixels / 256, i.e. white at COCO size and near black
 *    at 64x64); its comment and PIL say "mean pixel value", which is what we compute.
 *  - Geometric ops sample the nearest pixel (as the reference's NEAREST transform) at pixel
 *    centres in continuous coordinates, so the same affine map moves pixels and box corners.
 *  - Boxes take the 4 transformed corners in floating point (the reference truncates them to
 *    integers first); the quadrilateral is clipped to the image before its bounding box is
 *    taken (the reference clips the bounding box), which keeps boxes tight when a rotated or
 *    sheared object leaves the image by a corner. Nothing is dropped here (rk_boxes_filter
 *    does that).
 *  - Translations are rounded to whole pixels (the reference shifts the image by a float and
 *    its boxes by the truncated integer), so pixels and boxes move together.
 *  - The scale-jitter resize samples at half-pixel centres (TF1's resize_images aligned
 *    corners differently and shifted content against its boxes by up to half a pixel).
 *
 * Geometric ops are affine maps p' = A p + t applied to content; pixels are sampled by the
 * inverse map from a copy of the image in the caller's scratch buffer. */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "rethink/augment.h"

static const char *const OP_NAMES[RK_OP_COUNT] = {
    "Identity", "AutoContrast", "Equalize",   "Rotate",     "Solarize",   "Color",
    "Posterize", "Contrast",    "Brightness", "Sharpness",  "ShearX",     "ShearY",
    "TranslateX", "TranslateY", "Cutout",     "TranslateY_Only_BBoxes",
};

const char *rk_op_name(rk_op op) { return op < RK_OP_COUNT ? OP_NAMES[op] : "?"; }

int rk_op_is_geometric(rk_op op)
{
    return op == RK_OP_ROTATE || op == RK_OP_SHEAR_X || op == RK_OP_SHEAR_Y ||
           op == RK_OP_TRANSLATE_X || op == RK_OP_TRANSLATE_Y;
}

static int is_enhance(rk_op op)
{
    return op == RK_OP_COLOR || op == RK_OP_CONTRAST || op == RK_OP_BRIGHTNESS ||
           op == RK_OP_SHARPNESS;
}

int rk_op_signed(rk_op op, rk_levels levels)
{
    return rk_op_is_geometric(op) || op == RK_OP_TRANSLATE_Y_ONLY_BBOXES ||
           (levels == RK_LEVELS_INCREASING && is_enhance(op));
}

size_t rk_op_tmp_size(int w, int h, size_t n)
{
    size_t img = (size_t)w * h * 3, perm = n * sizeof(uint32_t);
    return img > perm ? img : perm;
}

/* floor() of a product that should be an integer, robust to 7.9999999 (e.g. 0.8*100*0.1). */
static int int_of(double v) { return (int)floor(v + 1e-9); }

double rk_op_arg(rk_op op, double level, rk_levels levels, const rk_op_consts *c,
                 double px_scale)
{
    double f = level / 10.0;
    int inc = levels == RK_LEVELS_INCREASING;
    switch (op) {
    case RK_OP_ROTATE: return f * 30.0;
    case RK_OP_SHEAR_X:
    case RK_OP_SHEAR_Y: return f * 0.3;
    /* Translations are whole pixels, so image and box move by exactly the same amount. */
    case RK_OP_TRANSLATE_X:
    case RK_OP_TRANSLATE_Y: return floor(f * c->translate * px_scale + 0.5);
    case RK_OP_TRANSLATE_Y_ONLY_BBOXES: return floor(f * c->translate_bbox * px_scale + 0.5);
    case RK_OP_CUTOUT: return int_of(f * c->cutout * px_scale);
    case RK_OP_COLOR:
    case RK_OP_CONTRAST:
    case RK_OP_BRIGHTNESS:
    case RK_OP_SHARPNESS: return inc ? 1.0 + f * 0.9 : f * 1.8 + 0.1;
    case RK_OP_POSTERIZE: return inc ? 8 - int_of(f * 4) : int_of(f * 4);
    case RK_OP_SOLARIZE: return inc ? 256 - int_of(f * 256) : int_of(f * 256);
    default: return 0;
    }
}

/* ---- boxes ---- */

size_t rk_boxes_filter(rk_box *b, size_t n, double min_size, double min_visible)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (b[i].w >= min_size && b[i].h >= min_size && b[i].vis >= min_visible) b[k++] = b[i];
    return k;
}

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Sets b to the unclipped box (x0, y0)-(x1, y1) clipped to [0, W] x [0, H], multiplying its
 * visible fraction by the part that survives the clip. */
static void set_clipped(rk_box *b, double x0, double y0, double x1, double y1, int W, int H)
{
    double ua = (x1 - x0) * (y1 - y0);
    double cx0 = clampd(x0, 0, W), cy0 = clampd(y0, 0, H);
    double cx1 = clampd(x1, 0, W), cy1 = clampd(y1, 0, H);
    double ca = (cx1 - cx0) * (cy1 - cy0);
    b->vis = ua > 0 ? b->vis * (ca / ua) : 0;
    b->x = cx0, b->y = cy0, b->w = cx1 - cx0, b->h = cy1 - cy0;
}

/* ---- colour ops (TF semantics) ---- */

static uint8_t clamp_u8f(float v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* blend(a, b, f) = a + f (b - a): f = 0 gives a, f = 1 gives b, truncated to uint8 (and
 * clipped when extrapolating), exactly as the reference's blend(). `a` may be a per-pixel
 * image (stride 3) or a constant (stride 0). */
static void blend(uint8_t *px, const uint8_t *a, size_t astride, size_t n, float f)
{
    if (f == 1.0f) return;
    for (size_t i = 0; i < n; i++) {
        float d = a[i * astride];
        px[i] = f == 0.0f ? a[i * astride] : clamp_u8f(d + f * ((float)px[i] - d));
    }
}

/* TF's rgb_to_grayscale on uint8: weights (0.2989, 0.5870, 0.1140) in float, back to uint8
 * by convert_image_dtype (x / 255 * 255.5, truncated). */
static uint8_t gray_of(const uint8_t *p)
{
    float g = (0.2989f * p[0] + 0.5870f * p[1] + 0.1140f * p[2]) / 255.0f;
    return clamp_u8f(g * 255.5f);
}

static void op_color(rk_image *im, float f, uint8_t *tmp)
{
    size_t np = (size_t)im->w * im->h;
    for (size_t i = 0; i < np; i++)
        tmp[3 * i] = tmp[3 * i + 1] = tmp[3 * i + 2] = gray_of(im->px + 3 * i);
    blend(im->px, tmp, 1, np * 3, f);
}

static void op_contrast(rk_image *im, float f)
{
    size_t np = (size_t)im->w * im->h;
    double sum = 0;
    for (size_t i = 0; i < np; i++) sum += gray_of(im->px + 3 * i);
    uint8_t mean = clamp_u8f((float)(sum / (double)np));
    blend(im->px, &mean, 0, np * 3, f);
}

static void op_brightness(rk_image *im, float f)
{
    uint8_t zero = 0;
    blend(im->px, &zero, 0, (size_t)im->w * im->h * 3, f);
}

/* PIL's SMOOTH kernel [[1,1,1],[1,5,1],[1,1,1]]/13 on interior pixels (border kept), the
 * result truncated to uint8, then blended with the original. */
static void op_sharpness(rk_image *im, float f, uint8_t *tmp)
{
    int W = im->w, H = im->h;
    size_t row = (size_t)W * 3;
    memcpy(tmp, im->px, row * H);
    for (int y = 1; y < H - 1; y++) {
        const uint8_t *p = im->px + y * row;
        uint8_t *o = tmp + y * row;
        /* integer sum / 13 == the reference's float conv truncated (sum <= 13 * 255) */
        for (size_t i = 3; i < row - 3; i++)
            o[i] = (uint8_t)((5u * p[i] + p[i - 3] + p[i + 3] + p[i - row] + p[i + row] +
                              p[i - row - 3] + p[i - row + 3] + p[i + row - 3] + p[i + row + 3]) /
                             13u);
    }
    blend(im->px, tmp, 1, row * H, f);
}

static void op_posterize(rk_image *im, int bits)
{
    if (bits >= 8) return;
    int shift = 8 - (bits < 0 ? 0 : bits);
    size_t n = (size_t)im->w * im->h * 3;
    for (size_t i = 0; i < n; i++)
        im->px[i] = (uint8_t)(shift >= 8 ? 0 : (im->px[i] >> shift) << shift);
}

static void op_solarize(rk_image *im, int thr)
{
    size_t n = (size_t)im->w * im->h * 3;
    for (size_t i = 0; i < n; i++)
        if (im->px[i] >= thr) im->px[i] = (uint8_t)(255 - im->px[i]);
}

static void op_autocontrast(rk_image *im)
{
    size_t np = (size_t)im->w * im->h;
    for (int c = 0; c < 3; c++) {
        uint8_t lo = 255, hi = 0;
        for (size_t i = 0; i < np; i++) {
            uint8_t v = im->px[3 * i + c];
            lo = v < lo ? v : lo, hi = v > hi ? v : hi;
        }
        if (hi <= lo) continue;
        float scale = 255.0f / (float)(hi - lo), off = -(float)lo * scale;
        for (size_t i = 0; i < np; i++)
            im->px[3 * i + c] = clamp_u8f((float)im->px[3 * i + c] * scale + off);
    }
}

/* PIL's equalize per channel: step = (pixels - count of the last non-empty bin) / 255;
 * lut[v] = (pixels below v + step/2) / step; unchanged when step is 0. */
static void op_equalize(rk_image *im)
{
    size_t np = (size_t)im->w * im->h;
    for (int c = 0; c < 3; c++) {
        size_t hist[256] = {0}, last = 0, total = 0;
        for (size_t i = 0; i < np; i++) hist[im->px[3 * i + c]]++;
        for (int v = 0; v < 256; v++)
            if (hist[v]) last = hist[v], total += hist[v];
        size_t step = (total - last) / 255;
        if (step == 0) continue;
        uint8_t lut[256];
        size_t cum = 0;
        for (int v = 0; v < 256; v++) {
            size_t l = (cum + step / 2) / step;
            lut[v] = (uint8_t)(l > 255 ? 255 : l);
            cum += hist[v];
        }
        for (size_t i = 0; i < np; i++) im->px[3 * i + c] = lut[im->px[3 * i + c]];
    }
}

/* Cutout: a (2 pad) x (2 pad) square centred at a uniformly drawn pixel, clipped to the
 * image, filled with `fill`. pad 0 changes nothing. */
static void op_cutout(rk_image *im, int pad, uint8_t fill, rk_rng *r)
{
    int cy = (int)(rk_rng_u64(r) % (uint64_t)im->h), cx = (int)(rk_rng_u64(r) % (uint64_t)im->w);
    int y0 = cy - pad < 0 ? 0 : cy - pad, y1 = cy + pad > im->h ? im->h : cy + pad;
    int x0 = cx - pad < 0 ? 0 : cx - pad, x1 = cx + pad > im->w ? im->w : cx + pad;
    for (int y = y0; y < y1; y++)
        memset(im->px + ((size_t)y * im->w + x0) * 3, fill, (size_t)(x1 - x0) * 3);
}

/* ---- geometric ops ---- */

/* Forward affine map of content: x' = a x + b y + c, y' = d x + e y + f (continuous
 * coordinates). */
typedef struct affine {
    double a, b, c, d, e, f;
} affine;

static void warp(rk_image *im, affine m, uint8_t fill, uint8_t *tmp)
{
    int W = im->w, H = im->h;
    memcpy(tmp, im->px, (size_t)W * H * 3);
    double det = m.a * m.e - m.b * m.d;
    /* inverse: p = A^-1 (p' - t) */
    double ia = m.e / det, ib = -m.b / det, id = -m.d / det, ie = m.a / det;
    for (int y = 0; y < H; y++) {
        double py = y + 0.5 - m.f;
        for (int x = 0; x < W; x++) {
            double px = x + 0.5 - m.c;
            double sx = ia * px + ib * py, sy = id * px + ie * py;
            uint8_t *o = im->px + ((size_t)y * W + x) * 3;
            /* floor() picks the pixel whose cell contains the point: nearest at centres. */
            if (sx >= 0 && sy >= 0 && sx < W && sy < H) {
                const uint8_t *s = tmp + ((size_t)(int)sy * W + (int)sx) * 3;
                o[0] = s[0], o[1] = s[1], o[2] = s[2];
            } else {
                o[0] = o[1] = o[2] = fill;
            }
        }
    }
}

/* Polygon clipping (Sutherland-Hodgman) against one half-plane: keeps points with
 * sign * (coordinate `axis`) >= sign * lim. A convex polygon of n <= 8 points stays <= 8. */
typedef struct pt {
    double x, y;
} pt;

static int clip_half(const pt *in, int n, pt *out, int axis, double lim, double sign)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        pt a = in[i], b = in[(i + 1) % n];
        double da = sign * ((axis ? a.y : a.x) - lim), db = sign * ((axis ? b.y : b.x) - lim);
        if (da >= 0) out[m++] = a;
        if ((da >= 0) != (db >= 0)) {
            double t = da / (da - db);
            out[m++] = (pt){a.x + t * (b.x - a.x), a.y + t * (b.y - a.y)};
        }
    }
    return m;
}

static double poly_area(const pt *p, int n)
{
    double a = 0;
    for (int i = 0; i < n; i++) a += p[i].x * p[(i + 1) % n].y - p[(i + 1) % n].x * p[i].y;
    return fabs(a) / 2;
}

/* Each box becomes the bounding box of its transformed corners' quadrilateral clipped to the
 * image (tighter than clipping the quadrilateral's bounding box when a sheared or rotated
 * object leaves the image by a corner); vis is multiplied by the part of the quadrilateral's
 * area inside the image. */
static void warp_boxes(rk_box *b, size_t n, affine m, int W, int H)
{
    for (size_t i = 0; i < n; i++) {
        double xs[4] = {b[i].x, b[i].x + b[i].w, b[i].x + b[i].w, b[i].x};
        double ys[4] = {b[i].y, b[i].y, b[i].y + b[i].h, b[i].y + b[i].h};
        pt q[8], t[8];
        for (int k = 0; k < 4; k++)
            q[k] = (pt){m.a * xs[k] + m.b * ys[k] + m.c, m.d * xs[k] + m.e * ys[k] + m.f};
        double full = poly_area(q, 4);
        int k = clip_half(q, 4, t, 0, 0, 1);
        k = clip_half(t, k, q, 0, W, -1);
        k = clip_half(q, k, t, 1, 0, 1);
        k = clip_half(t, k, q, 1, H, -1);
        if (k < 3 || !(full > 0)) {
            b[i].w = b[i].h = 0, b[i].vis = 0;
            b[i].x = clampd(b[i].x, 0, W), b[i].y = clampd(b[i].y, 0, H);
            continue;
        }
        double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
        for (int j = 0; j < k; j++)
            x0 = fmin(x0, q[j].x), x1 = fmax(x1, q[j].x), y0 = fmin(y0, q[j].y),
            y1 = fmax(y1, q[j].y);
        b[i].vis *= fmin(1.0, poly_area(q, k) / full);
        b[i].x = clampd(x0, 0, W), b[i].y = clampd(y0, 0, H);
        b[i].w = clampd(x1, 0, W) - b[i].x, b[i].h = clampd(y1, 0, H) - b[i].y;
    }
}

/* The content map of each geometric op for argument v:
 *  Rotate: v degrees counter-clockwise on screen, about the image centre;
 *  ShearX: x' = x + v y (about the top-left corner, as the reference); ShearY: y' = y + v x;
 *  TranslateX/Y: content moves by v pixels. */
static affine op_affine(rk_op op, double v, int W, int H)
{
    affine m = {1, 0, 0, 0, 1, 0};
    if (op == RK_OP_ROTATE) {
        double t = v * M_PI / 180.0, cs = cos(t), sn = sin(t), cx = W / 2.0, cy = H / 2.0;
        m = (affine){cs, sn, cx - cs * cx - sn * cy, -sn, cs, cy + sn * cx - cs * cy};
    } else if (op == RK_OP_SHEAR_X) {
        m.b = v;
    } else if (op == RK_OP_SHEAR_Y) {
        m.d = v;
    } else if (op == RK_OP_TRANSLATE_X) {
        m.c = v;
    } else if (op == RK_OP_TRANSLATE_Y) {
        m.f = v;
    }
    return m;
}

/* Shifts the content of each box vertically by t pixels inside the box's pixel cells
 * (columns floor(x)..ceil(x+w)-1, same for rows), filling what the shift uncovers; each box
 * with probability p, boxes visited in a random order (the reference shuffles them, which
 * matters where boxes overlap). Boxes themselves do not move. */
static void op_translate_y_only_bboxes(rk_image *im, rk_box *b, size_t n, int t, uint8_t fill,
                                       double p, rk_rng *r, uint8_t *tmp)
{
    uint32_t *order = (uint32_t *)(void *)tmp;
    for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(rk_rng_u64(r) % i);
        uint32_t s = order[i - 1];
        order[i - 1] = order[j], order[j] = s;
    }
    size_t row = (size_t)im->w * 3;
    for (size_t k = 0; k < n; k++) {
        const rk_box *bx = &b[order[k]];
        if (!(rk_rng_uniform(r) < p)) continue;
        int x0 = (int)floor(bx->x), x1 = (int)ceil(bx->x + bx->w);
        int y0 = (int)floor(bx->y), y1 = (int)ceil(bx->y + bx->h);
        x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0;
        x1 = x1 > im->w ? im->w : x1, y1 = y1 > im->h ? im->h : y1;
        if (x1 <= x0 || y1 <= y0 || t == 0) continue;
        size_t len = (size_t)(x1 - x0) * 3;
        /* In place: moving down, write bottom-up so each source row is read before it is
         * overwritten; moving up, top-down. */
        for (int i = 0; i < y1 - y0; i++) {
            int y = t > 0 ? y1 - 1 - i : y0 + i, sy = y - t;
            uint8_t *d = im->px + y * row + x0 * 3;
            if (sy >= y0 && sy < y1)
                memmove(d, im->px + sy * row + x0 * 3, len);
            else
                memset(d, fill, len);
        }
    }
}

void rk_op_apply(rk_op op, double arg, rk_image *im, rk_box *boxes, size_t n, uint8_t fill,
                 double box_prob, rk_rng *r, uint8_t *tmp)
{
    assert(im->c == 3);
    float f = (float)arg;
    switch (op) {
    case RK_OP_IDENTITY: break;
    case RK_OP_AUTOCONTRAST: op_autocontrast(im); break;
    case RK_OP_EQUALIZE: op_equalize(im); break;
    case RK_OP_SOLARIZE: op_solarize(im, (int)arg); break;
    case RK_OP_POSTERIZE: op_posterize(im, (int)arg); break;
    case RK_OP_COLOR: op_color(im, f, tmp); break;
    case RK_OP_CONTRAST: op_contrast(im, f); break;
    case RK_OP_BRIGHTNESS: op_brightness(im, f); break;
    case RK_OP_SHARPNESS: op_sharpness(im, f, tmp); break;
    case RK_OP_CUTOUT: op_cutout(im, (int)arg, fill, r); break;
    case RK_OP_TRANSLATE_Y_ONLY_BBOXES:
        op_translate_y_only_bboxes(im, boxes, n, (int)arg, fill, box_prob, r, tmp);
        break;
    case RK_OP_ROTATE:
    case RK_OP_SHEAR_X:
    case RK_OP_SHEAR_Y:
    case RK_OP_TRANSLATE_X:
    case RK_OP_TRANSLATE_Y: {
        if (arg == 0) break; /* exactly the identity: skip the resampling */
        affine m = op_affine(op, arg, im->w, im->h);
        warp(im, m, fill, tmp);
        warp_boxes(boxes, n, m, im->w, im->h);
        break;
    }
    default: assert(0 && "unknown op");
    }
}

/* ---- flip and scale jitter ---- */

void rk_aug_hflip(rk_image *im, rk_box *boxes, size_t n)
{
    int W = im->w, C = im->c;
    for (int y = 0; y < im->h; y++) {
        uint8_t *p = im->px + (size_t)y * W * C;
        for (int x = 0; x < W / 2; x++)
            for (int c = 0; c < C; c++) {
                uint8_t t = p[x * C + c];
                p[x * C + c] = p[(W - 1 - x) * C + c];
                p[(W - 1 - x) * C + c] = t;
            }
    }
    for (size_t i = 0; i < n; i++) boxes[i].x = W - (boxes[i].x + boxes[i].w);
}

rk_jitter rk_aug_jitter_geometry(int iw, int ih, int ow, int oh, double s, double ux, double uy)
{
    /* As the reference's resize_and_crop_image: the jittered target, the largest
     * aspect-preserving size inside it, a random offset where that is larger than the
     * output. */
    double th = round(s * oh), tw = round(s * ow);
    double sc = fmin(th / ih, tw / iw);
    rk_jitter j;
    j.rh = (int)round(ih * sc), j.rw = (int)round(iw * sc);
    j.rh = j.rh < 1 ? 1 : j.rh, j.rw = j.rw < 1 ? 1 : j.rw;
    j.oy = j.rh > oh ? (int)((j.rh - oh) * uy) : 0;
    j.ox = j.rw > ow ? (int)((j.rw - ow) * ux) : 0;
    return j;
}

/* Bilinear taps of one output coordinate: source pixels i0, i1 and the weight of i1 in
 * 1/2048ths (fixed point keeps the result exact and identical on every machine). */
typedef struct tap {
    int i0, i1, w;
} tap;

static tap tap_of(int o, double f, int n)
{
    double s = clampd((o + 0.5) * f - 0.5, 0, n - 1);
    tap t = {(int)s, 0, (int)floor((s - (int)s) * 2048 + 0.5)};
    t.i1 = t.i0 + 1 < n ? t.i0 + 1 : t.i0;
    return t;
}

void rk_aug_resize_crop(const rk_image *src, rk_image *dst, rk_jitter j, const uint8_t pad[3],
                        rk_box *boxes, size_t n)
{
    int iw = src->w, ih = src->h, ow = dst->w, oh = dst->h;
    double fx = (double)iw / j.rw, fy = (double)ih / j.rh;
    /* Output columns in strips, so the column taps are computed once per strip on the stack
     * whatever the width. */
    enum { STRIP = 256 };
    tap cols[STRIP];
    for (int xs = 0; xs < ow; xs += STRIP) {
        int xe = xs + STRIP < ow ? xs + STRIP : ow;
        for (int x = xs; x < xe; x++) cols[x - xs] = tap_of(x + j.ox, fx, iw);
        for (int y = 0; y < oh; y++) {
            int yr = y + j.oy;
            tap ty = tap_of(yr, fy, ih);
            const uint8_t *r0 = src->px + (size_t)ty.i0 * iw * 3,
                          *r1 = src->px + (size_t)ty.i1 * iw * 3;
            uint32_t wy = (uint32_t)ty.w, vy = 2048 - wy;
            for (int x = xs; x < xe; x++) {
                uint8_t *o = dst->px + ((size_t)y * ow + x) * 3;
                if (x + j.ox >= j.rw || yr >= j.rh) {
                    o[0] = pad[0], o[1] = pad[1], o[2] = pad[2];
                    continue;
                }
                const tap *tx = &cols[x - xs];
                uint32_t wx = (uint32_t)tx->w, vx = 2048 - wx;
                const uint8_t *p00 = r0 + tx->i0 * 3, *p01 = r0 + tx->i1 * 3;
                const uint8_t *p10 = r1 + tx->i0 * 3, *p11 = r1 + tx->i1 * 3;
                for (int c = 0; c < 3; c++) {
                    uint32_t top = p00[c] * vx + p01[c] * wx, bot = p10[c] * vx + p11[c] * wx;
                    o[c] = (uint8_t)((top * vy + bot * wy + (1u << 21)) >> 22);
                }
            }
        }
    }
    double sx = (double)j.rw / iw, sy = (double)j.rh / ih;
    /* Content exists only inside the resized image: clip boxes to it and to the output. */
    int cw = j.rw - j.ox < ow ? j.rw - j.ox : ow, ch = j.rh - j.oy < oh ? j.rh - j.oy : oh;
    for (size_t i = 0; i < n; i++) {
        rk_box *b = &boxes[i];
        double x0 = b->x * sx - j.ox, y0 = b->y * sy - j.oy;
        set_clipped(b, x0, y0, x0 + b->w * sx, y0 + b->h * sy, cw, ch);
    }
}
