/* Fashion-MNIST (Debian's dataset-fashion-mnist idx files) and the default datasets built
 * from it: detection scenes in COCO format (the paper's COCO analog) and labelled source
 * images (its ImageNet analog).
 *
 * A scene: a cluttered background (gradient + translucent distractor shapes), several
 * Fashion-MNIST items resized to random sides, tinted and alpha-composited; later items may
 * cover earlier ones by at most `occlusion` of their mask; boxes are tight around each item's
 * VISIBLE mask pixels and `area` counts them (as COCO boxes and areas come from visible
 * segmentations); pixel noise last.
 *
 * Slices (disjoint): target train items from train[0, 30000), source items from
 * train[30000, 60000), val items from the test split (t10k). Every image draws from its own
 * rk_rng keyed by (seed, split, index), so generation is parallel and byte-identical
 * whatever the thread count. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "rethink/data.h"

#define GENERATOR_VERSION 1
#define TRAIN_SLICE_END 30000

const char *const rk_fashion_classes[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                            "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                            "Bag",         "Ankle boot"};

/* ---- idx files ---- */
static int read_gz(const char *path, unsigned char **out, size_t *n, rk_err *err)
{
    gzFile g = gzopen(path, "rb");
    if (!g)
        return rk_errf(err, RK_EIO, "%s: cannot open (install Debian's dataset-fashion-mnist)",
                       path);
    size_t cap = 1 << 20, len = 0;
    unsigned char *p = malloc(cap);
    for (;;) {
        if (!p) {
            gzclose(g);
            return rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
        }
        int got = gzread(g, p + len, (unsigned)(cap - len));
        if (got < 0) {
            free(p);
            gzclose(g);
            return rk_errf(err, RK_EFORMAT, "%s: corrupt gzip stream", path);
        }
        len += (size_t)got;
        if (got == 0) break;
        if (len == cap) {
            cap *= 2;
            unsigned char *q = realloc(p, cap);
            if (!q) free(p);
            p = q;
        }
    }
    gzclose(g);
    *out = p;
    *n = len;
    return RK_OK;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void rk_fashion_free(rk_fashion *f)
{
    if (!f) return;
    free(f->pixels);
    free(f->labels);
    memset(f, 0, sizeof *f);
}

int rk_fashion_load(rk_fashion *f, const char *dir, const char *split, rk_err *err)
{
    memset(f, 0, sizeof *f);
    char ip[1024], lp[1024];
    snprintf(ip, sizeof ip, "%s/%s-images-idx3-ubyte.gz", dir, split);
    snprintf(lp, sizeof lp, "%s/%s-labels-idx1-ubyte.gz", dir, split);
    unsigned char *im = NULL, *lb = NULL;
    size_t ni, nl;
    int rc = read_gz(ip, &im, &ni, err);
    if (!rc) rc = read_gz(lp, &lb, &nl, err);
    if (rc) goto done;
    if (ni < 16 || be32(im) != 0x803) {
        rc = rk_errf(err, RK_EFORMAT, "%s: not an idx3 image file", ip);
        goto done;
    }
    if (nl < 8 || be32(lb) != 0x801) {
        rc = rk_errf(err, RK_EFORMAT, "%s: not an idx1 label file", lp);
        goto done;
    }
    uint32_t n = be32(im + 4), rows = be32(im + 8), cols = be32(im + 12);
    if (rows != 28 || cols != 28 || ni != 16 + (size_t)n * rows * cols || be32(lb + 4) != n ||
        nl != 8 + (size_t)n) {
        rc = rk_errf(err, RK_EFORMAT, "%s: sizes do not match its header or %s", ip, lp);
        goto done;
    }
    f->n = (int)n, f->rows = 28, f->cols = 28;
    f->pixels = malloc((size_t)n * 784);
    f->labels = malloc(n);
    if (!f->pixels || !f->labels) {
        rk_fashion_free(f);
        rc = rk_errf(err, RK_ENOMEM, "fashion-mnist: out of memory");
        goto done;
    }
    memcpy(f->pixels, im + 16, (size_t)n * 784);
    memcpy(f->labels, lb + 8, n);
    for (uint32_t i = 0; i < n; i++)
        if (f->labels[i] > 9) {
            rk_fashion_free(f);
            rc = rk_errf(err, RK_EFORMAT, "%s: label %u of item %u is out of range", lp,
                         (unsigned)lb[8 + i], i);
            goto done;
        }
done:
    free(im);
    free(lb);
    return rc;
}

/* ---- parameters ---- */
rk_scene_params rk_scene_defaults(void)
{
    rk_scene_params p = {
        .seed = 1,
        .size = 64,
        .ntrain = 4000,
        .nval = 1000,
        .nsource = 10000,
        .source_size = 64,
        .min_objects = 2,
        .max_objects = 5,
        .min_scale = 12,
        .max_scale = 36,
        .src_min_scale = 28,
        .src_max_scale = 44,
        .src_extra = 2,
        .clutter = 6,
        .occlusion = 0.4,
        .tint = 1.0,
        .noise = 6.0,
        .quality = 90,
        .classes = 10,
        .source_labels = RK_SOURCE_LABELS_ALL,
    };
    return p;
}

int rk_scene_validate(const rk_scene_params *p, rk_err *err)
{
#define NEED(cond, opt, ...)                                                     \
    if (!(cond)) return rk_errf(err, RK_EINVAL, "--" opt ": " __VA_ARGS__)
    NEED(p->size >= 16 && p->size <= 1024, "size", "must be in 16..1024, got %d", p->size);
    NEED(p->source_size >= 16 && p->source_size <= 1024, "source-size",
         "must be in 16..1024, got %d", p->source_size);
    NEED(p->ntrain >= 1 && p->ntrain <= 10000000, "train", "must be positive, got %d", p->ntrain);
    NEED(p->nval >= 1 && p->nval <= 10000000, "val", "must be positive, got %d", p->nval);
    NEED(p->nsource >= 0 && p->nsource <= 10000000, "source", "must be >= 0, got %d", p->nsource);
    NEED(p->min_objects >= 1 && p->max_objects >= p->min_objects && p->max_objects <= 50,
         "objects", "need 1 <= min <= max <= 50, got %d,%d", p->min_objects, p->max_objects);
    NEED(p->min_scale >= 6 && p->max_scale >= p->min_scale && p->max_scale <= p->size,
         "scale", "need 6 <= min <= max <= size (%d), got %g,%g", p->size, p->min_scale,
         p->max_scale);
    NEED(p->src_min_scale >= 6 && p->src_max_scale >= p->src_min_scale &&
             p->src_max_scale <= p->source_size,
         "source-scale", "need 6 <= min <= max <= source-size (%d), got %g,%g", p->source_size,
         p->src_min_scale, p->src_max_scale);
    NEED(p->src_extra >= 0 && p->src_extra <= 20, "source-extra", "must be in 0..20, got %d",
         p->src_extra);
    NEED(p->clutter >= 0 && p->clutter <= 100, "clutter", "must be in 0..100, got %d", p->clutter);
    NEED(p->occlusion >= 0 && p->occlusion <= 0.9, "occlusion", "must be in 0..0.9, got %g",
         p->occlusion);
    NEED(p->tint >= 0 && p->tint <= 1, "tint", "must be in 0..1, got %g", p->tint);
    NEED(p->noise >= 0 && p->noise <= 64, "noise", "must be in 0..64, got %g", p->noise);
    NEED(p->quality >= 50 && p->quality <= 100, "quality", "must be in 50..100, got %d",
         p->quality);
    NEED(p->classes >= 1 && p->classes <= 10, "classes", "must be in 1..10, got %d", p->classes);
    NEED(p->source_labels == RK_SOURCE_LABELS_ALL || p->source_labels == RK_SOURCE_LABELS_OTHER,
         "source-labels", "must be all or other");
    NEED(p->source_labels == RK_SOURCE_LABELS_ALL || p->classes < 10, "source-labels",
         "'other' needs --classes below 10 (the source's own labels are the classes the target "
         "leaves out)");
#undef NEED
    return RK_OK;
}

/* ---- rendering ---- */
typedef struct {
    int cls;
    int x0, y0, x1, y1; /* tight visible box, inclusive pixel bounds */
    int area;           /* visible mask pixels */
    int full;           /* mask pixels when placed */
} placed;

typedef struct {
    int size;
    float *bg;     /* size*size*3, float for compositing */
    short *owner;  /* size*size, -1 = background */
    uint8_t *fringe; /* size*size: 1 where an item is drawn faintly (alpha in (0, MASK_T])
                        outside every mask: the segmentation label's ignore pixels */
    float *alpha;  /* item alpha, max item side squared */
} canvas;

static double uni(rk_rng *r, double a, double b) { return a + (b - a) * rk_rng_uniform(r); }

static int irange(rk_rng *r, int lo, int hi) /* inclusive */
{
    return lo + (int)(rk_rng_u64(r) % (uint64_t)(hi - lo + 1));
}

static void hsv(double h, double s, double v, float rgb[3])
{
    double c = v * s, x = c * (1 - fabs(fmod(h * 6, 2) - 1)), m = v - c;
    double r = 0, g = 0, b = 0;
    int k = (int)(h * 6) % 6;
    if (k == 0) r = c, g = x;
    else if (k == 1) r = x, g = c;
    else if (k == 2) g = c, b = x;
    else if (k == 3) g = x, b = c;
    else if (k == 4) r = x, b = c;
    else r = c, b = x;
    rgb[0] = (float)(255 * (r + m)), rgb[1] = (float)(255 * (g + m)), rgb[2] = (float)(255 * (b + m));
}

/* stripes: the shifted set's look (rk_scene_shifted): bands of two other colours across
 * the gradient before the distractors */
static void background(canvas *cv, const rk_scene_params *p, int stripes, rk_rng *r)
{
    int S = cv->size;
    float c1[3], c2[3];
    hsv(rk_rng_uniform(r), uni(r, 0.1, 0.6), uni(r, 0.15, 0.75), c1);
    hsv(rk_rng_uniform(r), uni(r, 0.1, 0.6), uni(r, 0.15, 0.75), c2);
    double ang = uni(r, 0, 2 * M_PI), dx = cos(ang), dy = sin(ang);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            double t = 0.5 + ((x - S / 2.0) * dx + (y - S / 2.0) * dy) / (1.5 * S);
            for (int k = 0; k < 3; k++)
                cv->bg[(y * S + x) * 3 + k] = (float)(c1[k] + (c2[k] - c1[k]) * t);
        }
    if (stripes) {
        float s1[3], s2[3];
        hsv(rk_rng_uniform(r), uni(r, 0.5, 1.0), uni(r, 0.2, 0.9), s1);
        hsv(rk_rng_uniform(r), uni(r, 0.5, 1.0), uni(r, 0.2, 0.9), s2);
        double sa = uni(r, 0, M_PI), period = uni(r, 3, 9);
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                double u = x * cos(sa) + y * sin(sa);
                const float *c = fmod(u / period + 64, 2) < 1 ? s1 : s2;
                for (int k = 0; k < 3; k++)
                    cv->bg[(y * S + x) * 3 + k] = 0.4f * cv->bg[(y * S + x) * 3 + k] + 0.6f * c[k];
            }
    }
    /* Distractors: translucent rectangles, ellipses and thick lines. */
    for (int i = 0; i < p->clutter; i++) {
        float col[3];
        hsv(rk_rng_uniform(r), uni(r, 0, 0.8), uni(r, 0.1, 0.9), col);
        float a = (float)uni(r, 0.15, 0.5);
        int kind = irange(r, 0, 2);
        double cx = uni(r, 0, S), cy = uni(r, 0, S), w = uni(r, 3, S / 2.5), h = uni(r, 3, S / 2.5);
        double ca = uni(r, 0, M_PI), sa = sin(ca), cc = cos(ca);
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                double u = x + 0.5 - cx, v = y + 0.5 - cy, in;
                if (kind == 0)
                    in = fabs(u) <= w / 2 && fabs(v) <= h / 2;
                else if (kind == 1)
                    in = (u * u) / (w * w / 4) + (v * v) / (h * h / 4) <= 1;
                else
                    in = fabs(u * sa - v * cc) <= 1.0 && fabs(u * cc + v * sa) <= w;
                if (!in) continue;
                float *px = &cv->bg[(y * S + x) * 3];
                for (int k = 0; k < 3; k++) px[k] = px[k] * (1 - a) + col[k] * a;
            }
    }
}

/* Bilinear resize of a 28x28 item to side x side alpha in [0, 1]. */
static void resize_item(float *alpha, int side, const uint8_t *item)
{
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++) {
            double sy = (y + 0.5) * 28.0 / side - 0.5, sx = (x + 0.5) * 28.0 / side - 0.5;
            int y0 = (int)floor(sy), x0 = (int)floor(sx);
            double fy = sy - y0, fx = sx - x0, acc = 0;
            for (int j = 0; j < 2; j++)
                for (int i = 0; i < 2; i++) {
                    int yy = y0 + j, xx = x0 + i;
                    double v = (yy < 0 || yy > 27 || xx < 0 || xx > 27) ? 0 : item[yy * 28 + xx];
                    acc += v * (j ? fy : 1 - fy) * (i ? fx : 1 - fx);
                }
            alpha[y * side + x] = (float)(acc / 255.0);
        }
}

#define MASK_T 0.1f /* alpha above this is part of the object's mask */

/* Places one item; returns 1 if placed (objs[k] filled), 0 if no position satisfied the
 * occlusion limit. */
static int place(canvas *cv, placed *objs, int k, const rk_fashion *fm, size_t item,
                 double side_f, const rk_scene_params *p, rk_rng *r)
{
    int S = cv->size, side = (int)lround(side_f);
    if (side > S) side = S;
    resize_item(cv->alpha, side, fm->pixels + item * 784);
    int full = 0;
    for (int i = 0; i < side * side; i++) full += cv->alpha[i] > MASK_T;
    if (full < 4) return 0;
    int covered[64];
    for (int attempt = 0; attempt < 12; attempt++) {
        int x0 = irange(r, 0, S - side), y0 = irange(r, 0, S - side);
        memset(covered, 0, sizeof covered);
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++) {
                if (cv->alpha[y * side + x] <= MASK_T) continue;
                int o = cv->owner[(y0 + y) * S + x0 + x];
                if (o >= 0) covered[o]++;
            }
        int ok = 1;
        for (int j = 0; j < k && ok; j++)
            ok = objs[j].area - covered[j] >= (1 - p->occlusion) * objs[j].full;
        if (!ok) continue;
        float col[3], c[3];
        hsv(rk_rng_uniform(r), uni(r, 0.55, 1.0), uni(r, 0.75, 1.0), col);
        for (int i = 0; i < 3; i++) c[i] = (float)(255 * (1 - p->tint) + col[i] * p->tint);
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++) {
                float a = cv->alpha[y * side + x];
                if (a <= 0) continue;
                int pi = (y0 + y) * S + x0 + x;
                float al = a * 1.6f > 1 ? 1 : a * 1.6f, shade = 0.35f + 0.65f * a;
                for (int i = 0; i < 3; i++)
                    cv->bg[pi * 3 + i] = cv->bg[pi * 3 + i] * (1 - al) + c[i] * shade * al;
                if (a <= MASK_T) cv->fringe[pi] = 1;
                if (a > MASK_T) {
                    int o = cv->owner[pi];
                    if (o >= 0) objs[o].area--;
                    cv->owner[pi] = (short)k;
                }
            }
        objs[k].cls = fm->labels[item];
        objs[k].area = objs[k].full = full;
        return 1;
    }
    return 0;
}

static void finish(canvas *cv, placed *objs, int n, rk_image *out, double noise, rk_rng *r)
{
    int S = cv->size;
    for (int k = 0; k < n; k++) {
        objs[k].x0 = objs[k].y0 = S;
        objs[k].x1 = objs[k].y1 = -1;
    }
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            int o = cv->owner[y * S + x];
            if (o < 0) continue;
            placed *b = &objs[o];
            b->x0 = x < b->x0 ? x : b->x0, b->x1 = x > b->x1 ? x : b->x1;
            b->y0 = y < b->y0 ? y : b->y0, b->y1 = y > b->y1 ? y : b->y1;
        }
    for (int i = 0; i < S * S * 3; i++) {
        double v = cv->bg[i] + (noise > 0 ? noise * rk_rng_normal(r) : 0);
        out->px[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lround(v));
    }
}

static int canvas_init(canvas *cv, int size)
{
    cv->size = size;
    cv->bg = malloc((size_t)size * size * 3 * sizeof(float));
    cv->owner = malloc((size_t)size * size * sizeof(short));
    cv->fringe = malloc((size_t)size * size);
    cv->alpha = malloc((size_t)size * size * sizeof(float));
    return cv->bg && cv->owner && cv->fringe && cv->alpha ? 0 : -1;
}

static void canvas_free(canvas *cv)
{
    free(cv->bg), free(cv->owner), free(cv->fringe), free(cv->alpha);
}

/* The semantic-segmentation labels of a rendered scene (1 channel, the scene's size):
 * category id (class + 1) where an item's visible mask is, RK_SEG_IGNORE on the faint
 * anti-aliased fringe of an item outside every mask (it shows some of the item but is not
 * in its mask: ambiguous), 0 (background) elsewhere. The boxes are tight around the same
 * masks, so labels and boxes agree. */
static void seg_labels(const canvas *cv, const placed *objs, rk_image *lab)
{
    for (int i = 0; i < cv->size * cv->size; i++) {
        int o = cv->owner[i];
        lab->px[i] = o >= 0 ? (uint8_t)(objs[o].cls + 1) : cv->fringe[i] ? RK_SEG_IGNORE : 0;
    }
}

enum { SPLIT_TRAIN = RK_SPLIT_TRAIN, SPLIT_VAL = RK_SPLIT_VAL, SPLIT_SOURCE = RK_SPLIT_SOURCE,
       SPLIT_SHIFTED = RK_SPLIT_SHIFTED };

/* One target scene: nobj in [min, max] items from [lo, hi) of fm (stripes: the shifted
 * look's background). */
static int scene(canvas *cv, placed *objs, rk_image *out, const rk_fashion *fm, size_t lo,
                 size_t hi, const rk_scene_params *p, int stripes, rk_rng *r)
{
    memset(cv->owner, 0xff, (size_t)cv->size * cv->size * sizeof(short));
    memset(cv->fringe, 0, (size_t)cv->size * cv->size);
    background(cv, p, stripes, r);
    int want = irange(r, p->min_objects, p->max_objects), n = 0;
    for (int k = 0; k < want; k++) {
        size_t item = lo + rk_rng_u64(r) % (hi - lo);
        while (fm->labels[item] >= p->classes) item = lo + rk_rng_u64(r) % (hi - lo);
        n += place(cv, objs, n, fm, item, uni(r, p->min_scale, p->max_scale), p, r);
    }
    finish(cv, objs, n, out, p->noise, r);
    return n;
}

/* One source image: a dominant item (its class is the label), then up to src_extra small
 * unlabelled ones. Returns the label. */
static int source_image(canvas *cv, placed *objs, rk_image *out, const rk_fashion *fm,
                        size_t lo, size_t hi, const rk_scene_params *p, rk_rng *r)
{
    memset(cv->owner, 0xff, (size_t)cv->size * cv->size * sizeof(short));
    memset(cv->fringe, 0, (size_t)cv->size * cv->size);
    background(cv, p, 0, r);
    int n = 0;
    while (!n) { /* an item with fewer than 4 mask pixels is redrawn */
        size_t item = lo + rk_rng_u64(r) % (hi - lo);
        n = place(cv, objs, 0, fm, item, uni(r, p->src_min_scale, p->src_max_scale), p, r);
    }
    int label = objs[0].cls, extra = irange(r, 0, p->src_extra);
    double smax = p->src_min_scale / 2 > 6 ? p->src_min_scale / 2 : 6;
    for (int k = 0; k < extra; k++) {
        size_t item = lo + rk_rng_u64(r) % (hi - lo);
        n += place(cv, objs, n, fm, item, uni(r, 6, smax), p, r);
    }
    finish(cv, objs, n, out, p->noise, r);
    return label;
}

/* ---- building ---- */
typedef struct {
    placed objs[64];
    int n;
    int label;
} image_rec;

/* Image `index` of `split`, drawn from its own generator: the one place a dataset image is
 * made, used by the builder and by rk_fashion_render. */
static void render(canvas *cv, const rk_scene_params *p, const rk_fashion *fm, int split,
                   int index, rk_image *im, image_rec *rec, rk_image *lab)
{
    rk_rng r;
    rk_rng_init(&r, p->seed, (uint64_t)split, (uint64_t)index);
    size_t lo = split == SPLIT_SOURCE || split == SPLIT_SHIFTED ? TRAIN_SLICE_END : 0;
    size_t hi = split == SPLIT_TRAIN ? TRAIN_SLICE_END : (size_t)fm->n;
    if (split == SPLIT_SOURCE) {
        rec->label = source_image(cv, rec->objs, im, fm, lo, hi, p, &r);
        rec->n = 0;
    } else if (split == SPLIT_SHIFTED) {
        rk_scene_params q;
        rk_scene_shifted(p, &q);
        rec->n = scene(cv, rec->objs, im, fm, lo, hi, &q, 1, &r);
        rec->label = -1;
    } else {
        rec->n = scene(cv, rec->objs, im, fm, lo, hi, p, 0, &r);
        rec->label = -1;
        if (lab) seg_labels(cv, rec->objs, lab);
    }
}

static void to_ann(const placed *o, rk_coco_ann *a)
{
    a->category_id = o->cls + 1;
    a->bbox[0] = o->x0, a->bbox[1] = o->y0;
    a->bbox[2] = o->x1 - o->x0 + 1, a->bbox[3] = o->y1 - o->y0 + 1;
    a->area = o->area;
    a->iscrowd = 0;
}

int rk_fashion_render(const rk_scene_params *p, const rk_fashion *fm, int split, int index,
                      rk_image *out, rk_coco_ann *anns, int max_anns, int *nanns, int *label,
                      rk_err *err)
{
    int rc = rk_scene_validate(p, err);
    if (rc) return rc;
    if (split < RK_SPLIT_TRAIN || split > RK_SPLIT_SHIFTED || index < 0)
        return rk_errf(err, RK_EINVAL, "fashion render: bad split %d or index %d", split, index);
    if (split != RK_SPLIT_VAL && fm->n < 2 * TRAIN_SLICE_END)
        return rk_errf(err, RK_EINVAL, "fashion render: train and source need the train split");
    int size = split == SPLIT_SOURCE ? p->source_size : p->size;
    canvas cv;
    image_rec *rec = malloc(sizeof *rec);
    if (!rec || canvas_init(&cv, size)) {
        free(rec);
        return rk_errf(err, RK_ENOMEM, "fashion render: out of memory");
    }
    if ((rc = rk_image_alloc(out, size, size, 3, err)) == RK_OK) {
        render(&cv, p, fm, split, index, out, rec, NULL);
        *nanns = rec->n < max_anns ? rec->n : max_anns;
        for (int k = 0; k < *nanns; k++) to_ann(&rec->objs[k], &anns[k]);
        if (label) *label = rec->label;
    }
    canvas_free(&cv);
    free(rec);
    return rc;
}

int rk_fashion_render_labels(const rk_scene_params *p, const rk_fashion *fm, int split,
                             int index, rk_image *labels, rk_err *err)
{
    int rc = rk_scene_validate(p, err);
    if (rc) return rc;
    if ((split != RK_SPLIT_TRAIN && split != RK_SPLIT_VAL) || index < 0)
        return rk_errf(err, RK_EINVAL, "fashion labels: bad split %d (train or val) or index %d",
                       split, index);
    if (split == RK_SPLIT_TRAIN && fm->n < 2 * TRAIN_SLICE_END)
        return rk_errf(err, RK_EINVAL, "fashion labels: train needs the train split");
    canvas cv;
    image_rec *rec = malloc(sizeof *rec);
    rk_image im = {0};
    if (!rec || canvas_init(&cv, p->size)) {
        free(rec);
        return rk_errf(err, RK_ENOMEM, "fashion labels: out of memory");
    }
    if ((rc = rk_image_alloc(&im, p->size, p->size, 3, err)) == RK_OK &&
        (rc = rk_image_alloc(labels, p->size, p->size, 1, err)) == RK_OK)
        render(&cv, p, fm, split, index, &im, rec, labels);
    rk_image_free(&im);
    canvas_free(&cv);
    free(rec);
    return rc;
}

/* Renders and writes count images of one split in parallel; recs[i] gets the objects.
 * seg_dir (target splits; NULL for the source): where each scene's label PNG goes. */
static int build_split(const rk_scene_params *p, const rk_fashion *fm, int split,
                       const char *dir, const char *seg_dir, int count, int size,
                       image_rec *recs, int threads, rk_progress_fn progress, void *ctx,
                       const char *stage, rk_err *err)
{
    int failed = 0;
    rk_err first = {0};
    size_t done = 0;
#pragma omp parallel num_threads(threads)
    {
        canvas cv;
        rk_image im = {0}, lab = {0};
        rk_err e = {0};
        int ok = canvas_init(&cv, size) == 0 && rk_image_alloc(&im, size, size, 3, &e) == RK_OK &&
                 (!seg_dir || rk_image_alloc(&lab, size, size, 1, &e) == RK_OK);
#pragma omp for schedule(dynamic, 16)
        for (int i = 0; i < count; i++) {
            int bad;
#pragma omp atomic read
            bad = failed;
            if (bad) continue;
            int rc = RK_OK;
            if (!ok)
                rc = rk_errf(&e, RK_ENOMEM, "dataset build: out of memory");
            else {
                render(&cv, p, fm, split, i, &im, &recs[i], seg_dir ? &lab : NULL);
                char path[4200];
                snprintf(path, sizeof path, "%s/%06d.jpg", dir, i + 1);
                rc = rk_jpeg_save(&im, path, p->quality, &e);
                if (!rc && seg_dir) {
                    snprintf(path, sizeof path, "%s/%06d.png", seg_dir, i + 1);
                    rc = rk_png_save(&lab, path, &e);
                }
            }
            if (rc) {
#pragma omp critical
                if (!failed) failed = 1, first = e;
            }
            size_t d;
#pragma omp atomic capture
            d = ++done;
            if (progress && (d % 256 == 0 || d == (size_t)count)) {
#pragma omp critical
                progress(ctx, stage, d, (size_t)count);
            }
        }
        canvas_free(&cv);
        rk_image_free(&im);
        rk_image_free(&lab);
    }
    if (failed) {
        if (err) *err = first;
        return first.rc ? first.rc : RK_EIO;
    }
    return RK_OK;
}

static int write_coco(const char *path, const image_rec *recs, int count, int size,
                      int classes, int64_t *next_ann, rk_err *err)
{
    rk_coco c = {0};
    size_t nann = 0;
    for (int i = 0; i < count; i++) nann += (size_t)recs[i].n;
    c.images = calloc((size_t)count, sizeof *c.images);
    c.anns = calloc(nann + 1, sizeof *c.anns);
    c.cats = calloc(10, sizeof *c.cats);
    char *names = malloc((size_t)count * 16);
    int rc = RK_OK;
    if (!c.images || !c.anns || !c.cats || !names) {
        rc = rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int i = 0; i < count; i++) {
        char *nm = names + (size_t)i * 16;
        snprintf(nm, 16, "%06d.jpg", i + 1);
        c.images[i] = (rk_coco_image){.id = i + 1, .file_name = nm, .width = size, .height = size};
        for (int k = 0; k < recs[i].n; k++) {
            rk_coco_ann *a = &c.anns[c.nanns++];
            to_ann(&recs[i].objs[k], a);
            a->id = (*next_ann)++;
            a->image_id = i + 1;
        }
    }
    c.nimages = (size_t)count;
    for (int k = 0; k < classes; k++)
        c.cats[k] = (rk_coco_cat){.id = k + 1, .name = (char *)rk_fashion_classes[k]};
    c.ncats = (size_t)classes;
    rc = rk_coco_save(&c, path, err);
done:
    free(c.images), free(c.anns), free(c.cats), free(names);
    return rc;
}

/* source: count the labelled images (those with label >= min_label), else the objects */
static void counts_json(FILE *f, const char *split, const image_rec *recs, int count, int source,
                        int min_label)
{
    long per[10] = {0}, total = 0;
    for (int i = 0; i < count; i++) {
        if (source) {
            if (recs[i].label >= min_label) per[recs[i].label]++, total++;
            continue;
        }
        for (int k = 0; k < recs[i].n; k++) per[recs[i].objs[k].cls]++, total++;
    }
    fprintf(f, "    \"%s\": {\"images\": %d, \"%s\": %ld, \"per_class\": {", split, count,
            source ? "labelled_images" : "objects", total);
    for (int k = 0; k < 10; k++)
        fprintf(f, "%s\"%s\": %ld", k ? ", " : "", rk_fashion_classes[k], per[k]);
    fputs("}}", f);
}

/* The dataset, written into the folder out (which the caller renames into place). */
static int build_into(const rk_scene_params *p, const char *raw_dir, const char *out,
                      int threads, rk_progress_fn progress, void *ctx, rk_err *err)
{
    int rc = rk_scene_validate(p, err);
    if (rc) return rc;
    if (threads < 1) threads = 1;
    rk_fashion tr = {0}, te = {0};
    image_rec *rtrain = NULL, *rval = NULL, *rsrc = NULL;
    char path[4200], dtrain[4200], dval[4200], dsrc[4200], strain[4200], sval[4200];
    if ((rc = rk_fashion_load(&tr, raw_dir, "train", err)) ||
        (rc = rk_fashion_load(&te, raw_dir, "t10k", err)))
        goto done;
    if (tr.n < 2 * TRAIN_SLICE_END) {
        rc = rk_errf(err, RK_EFORMAT, "%s: the train split has %d items, expected 60000", raw_dir,
                     tr.n);
        goto done;
    }
    snprintf(dtrain, sizeof dtrain, "%s/train", out);
    snprintf(dval, sizeof dval, "%s/val", out);
    snprintf(dsrc, sizeof dsrc, "%s/source", out);
    snprintf(strain, sizeof strain, "%s/" RK_SEG_DIR "/train", out);
    snprintf(sval, sizeof sval, "%s/" RK_SEG_DIR "/val", out);
    snprintf(path, sizeof path, "%s/annotations", out);
    if ((rc = rk_mkdirs(dtrain, err)) || (rc = rk_mkdirs(dval, err)) || (rc = rk_mkdirs(dsrc, err)) ||
        (rc = rk_mkdirs(path, err)) || (rc = rk_mkdirs(strain, err)) || (rc = rk_mkdirs(sval, err)))
        goto done;
    rtrain = calloc((size_t)p->ntrain, sizeof *rtrain);
    rval = calloc((size_t)p->nval, sizeof *rval);
    rsrc = calloc((size_t)p->nsource + 1, sizeof *rsrc);
    if (!rtrain || !rval || !rsrc) {
        rc = rk_errf(err, RK_ENOMEM, "dataset build: out of memory");
        goto done;
    }
    if ((rc = build_split(p, &tr, SPLIT_TRAIN, dtrain, strain, p->ntrain, p->size, rtrain,
                          threads, progress, ctx, "train", err)) ||
        (rc = build_split(p, &te, SPLIT_VAL, dval, sval, p->nval, p->size, rval, threads,
                          progress, ctx, "val", err)) ||
        (rc = build_split(p, &tr, SPLIT_SOURCE, dsrc, NULL, p->nsource, p->source_size, rsrc,
                          threads, progress, ctx, "source", err)))
        goto done;

    int64_t next_ann = 1;
    char ptrain[4200], pval[4200], plab[4200];
    snprintf(ptrain, sizeof ptrain, "%s/annotations/instances_train.json", out);
    snprintf(pval, sizeof pval, "%s/annotations/instances_val.json", out);
    snprintf(plab, sizeof plab, "%s/source/labels.csv", out);
    if ((rc = write_coco(ptrain, rtrain, p->ntrain, p->size, p->classes, &next_ann, err)) ||
        (rc = write_coco(pval, rval, p->nval, p->size, p->classes, &next_ann, err)))
        goto done;
    FILE *f = fopen(plab, "wb");
    if (!f) {
        rc = rk_errf(err, rk_errno_rc(errno), "%s: cannot create: %s", plab, strerror(errno));
        goto done;
    }
    fputs("file_name,class_id,class_name\n", f);
    for (int i = 0; i < p->nsource; i++)
        if (p->source_labels == RK_SOURCE_LABELS_ALL || rsrc[i].label >= p->classes)
            fprintf(f, "%06d.jpg,%d,%s\n", i + 1, rsrc[i].label + 1,
                    rk_fashion_classes[rsrc[i].label]);
    if (ferror(f) | fclose(f)) {
        rc = rk_errf(err, rk_errno_rc(errno), "%s: write failed: %s", plab, strerror(errno));
        goto done;
    }

    /* The dataset card. */
    char htrain[65], hval[65], hlab[65];
    if ((rc = rk_sha256_file(ptrain, htrain, err)) || (rc = rk_sha256_file(pval, hval, err)) ||
        (rc = rk_sha256_file(plab, hlab, err)))
        goto done;
    snprintf(path, sizeof path, "%s/card.json", out);
    f = fopen(path, "wb");
    if (!f) {
        rc = rk_errf(err, rk_errno_rc(errno), "%s: cannot create: %s", path, strerror(errno));
        goto done;
    }
    fprintf(f,
            "{\n  \"dataset\": \"fashion-scenes\",\n  \"generator\": \"rethink data build "
            "fashion-scenes\",\n  \"generator_version\": %d,\n  \"rethink_version\": \"%s\",\n"
            "  \"seed\": %llu,\n",
            GENERATOR_VERSION, RK_VERSION, (unsigned long long)p->seed);
    fprintf(f,
            "  \"params\": {\"size\": %d, \"train\": %d, \"val\": %d, \"source\": %d, "
            "\"source_size\": %d, \"objects\": [%d, %d], \"scale\": [%g, %g], "
            "\"source_scale\": [%g, %g], \"source_extra\": %d, \"clutter\": %d, "
            "\"occlusion\": %g, \"tint\": %g, \"noise\": %g, \"quality\": %d",
            p->size, p->ntrain, p->nval, p->nsource, p->source_size, p->min_objects,
            p->max_objects, p->min_scale, p->max_scale, p->src_min_scale, p->src_max_scale,
            p->src_extra, p->clutter, p->occlusion, p->tint, p->noise, p->quality);
    /* the transfer gap only where set, so that default cards stay as they were (a reader
     * takes a missing key as the default) */
    if (p->classes != 10 || p->source_labels != RK_SOURCE_LABELS_ALL)
        fprintf(f, ", \"classes\": %d, \"source_labels\": \"%s\"", p->classes,
                p->source_labels == RK_SOURCE_LABELS_OTHER ? "other" : "all");
    fputs("},\n", f);
    fprintf(f,
            "  \"raw\": {\"source\": \"Debian dataset-fashion-mnist\", \"dir\": \"%s\", "
            "\"train_objects\": \"train[0:%d]\", \"val_objects\": \"t10k[0:%d]\", "
            "\"source_objects\": \"train[%d:%d]\"},\n",
            raw_dir, TRAIN_SLICE_END, te.n, TRAIN_SLICE_END, tr.n);
    fputs("  \"categories\": [", f);
    for (int k = 0; k < p->classes; k++) fprintf(f, "%s\"%s\"", k ? ", " : "", rk_fashion_classes[k]);
    fputs("],\n", f);
    fprintf(f, "  \"segmentation\": {\"train\": \"" RK_SEG_DIR "/train\", \"val\": \"" RK_SEG_DIR
               "/val\", \"background\": 0, \"ignore\": %d, \"classes\": \"category id\"},\n",
            RK_SEG_IGNORE);
    fputs("  \"counts\": {\n", f);
    counts_json(f, "train", rtrain, p->ntrain, 0, 0);
    fputs(",\n", f);
    counts_json(f, "val", rval, p->nval, 0, 0);
    fputs(",\n", f);
    counts_json(f, "source", rsrc, p->nsource, 1,
                p->source_labels == RK_SOURCE_LABELS_OTHER ? p->classes : 0);
    fprintf(f,
            "\n  },\n  \"sha256\": {\"annotations/instances_train.json\": \"%s\", "
            "\"annotations/instances_val.json\": \"%s\", \"source/labels.csv\": \"%s\"}\n}\n",
            htrain, hval, hlab);
    if (ferror(f) | fclose(f))
        rc = rk_errf(err, rk_errno_rc(errno), "%s: write failed: %s", path, strerror(errno));
done:
    rk_fashion_free(&tr);
    rk_fashion_free(&te);
    free(rtrain), free(rval), free(rsrc);
    return rc;
}

/* Removes out.tmp-PID folders that builds stopped from outside left behind (their PID is
 * gone); a live builder's is left alone. */
static void remove_stale_builds(const char *out)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", out);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : out;
    if (slash) *slash = 0;
    DIR *d = opendir(slash ? (*dir ? dir : "/") : ".");
    if (!d) return;
    size_t bl = strlen(base);
    for (struct dirent *e; (e = readdir(d));) {
        char *end;
        if (strncmp(e->d_name, base, bl) || strncmp(e->d_name + bl, ".tmp-", 5)) continue;
        long pid = strtol(e->d_name + bl + 5, &end, 10);
        if (*end || pid <= 0 || pid > INT_MAX || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char path[8200];
        snprintf(path, sizeof path, "%s/%s", slash ? (*dir ? dir : "") : ".", e->d_name);
        rk_remove_tree(path, NULL);
    }
    closedir(d);
}

/* Every file of folder a/sub is in b/sub with the same bytes, and b/sub has no other: the
 * first that differs is the error. */
static int same_folder(const char *a, const char *b, const char *sub, rk_err *err)
{
    char da[4200], db[4200];
    if (snprintf(da, sizeof da, "%s/%s", a, sub) >= (int)sizeof da ||
        snprintf(db, sizeof db, "%s/%s", b, sub) >= (int)sizeof db)
        return rk_errf(err, RK_EINVAL, "%s: path too long", a);
    long na = 0, nb = 0;
    int rc = RK_OK;
    DIR *d = opendir(db);
    if (!d) return rk_errf(err, rk_errno_rc(errno), "%s: %s", db, strerror(errno));
    for (struct dirent *e; (e = readdir(d));) nb += e->d_name[0] != '.';
    closedir(d);
    if (!(d = opendir(da))) return rk_errf(err, rk_errno_rc(errno), "%s: %s", da, strerror(errno));
    for (struct dirent *e; !rc && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        na++;
        char pa[4500], pb[4500], *x = NULL, *y = NULL;
        size_t nx = 0, ny = 0;
        snprintf(pa, sizeof pa, "%s/%s", da, e->d_name);
        snprintf(pb, sizeof pb, "%s/%s", db, e->d_name);
        rk_err ignore = {0};
        if ((rc = rk_read_file(pa, &x, &nx, err))) break;
        if (rk_read_file(pb, &y, &ny, &ignore) || nx != ny || memcmp(x, y, nx))
            rc = rk_errf(err, RK_EFORMAT, "%s is not what this rethink builds from the dataset's "
                         "recipe: delete %s to build it again", pa, a);
        free(x), free(y);
    }
    closedir(d);
    if (!rc && na != nb)
        rc = rk_errf(err, RK_EFORMAT, "%s holds %ld files, a build of its recipe %ld: delete %s "
                     "to build it again", da, na, nb, a);
    return rc;
}

int rk_fashion_scenes_add_labels(const rk_scene_params *p, const char *raw_dir, const char *out,
                                 int threads, rk_err *err)
{
    char seg[4200], tmp[4200], from[4400], card[4400], tcard[4400];
    struct stat st;
    snprintf(seg, sizeof seg, "%s/" RK_SEG_DIR, out);
    if (stat(seg, &st) == 0) return RK_OK;
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%d", out, (int)getpid()) >= (int)sizeof tmp)
        return rk_errf(err, RK_EINVAL, "%s: path too long", out);
    remove_stale_builds(out);
    int rc = rk_remove_tree(tmp, err);
    if (!rc) rc = build_into(p, raw_dir, tmp, threads, NULL, NULL, err);
    static const char *const parts[] = {"annotations", "train", "val", "source"};
    for (size_t i = 0; !rc && i < sizeof parts / sizeof *parts; i++)
        rc = same_folder(out, tmp, parts[i], err);
    snprintf(from, sizeof from, "%s/" RK_SEG_DIR, tmp);
    /* another worker that added them first: theirs are the same files */
    if (!rc && rename(from, seg) != 0 && stat(seg, &st) != 0)
        rc = rk_errf(err, rk_errno_rc(errno), "%s: cannot move the label maps into place: %s", seg,
                     strerror(errno));
    snprintf(tcard, sizeof tcard, "%s/card.json", tmp);
    snprintf(card, sizeof card, "%s/card.json", out);
    if (!rc && rename(tcard, card) != 0)
        rc = rk_errf(err, rk_errno_rc(errno), "%s: cannot replace the card: %s", card,
                     strerror(errno));
    rk_remove_tree(tmp, NULL);
    return rc;
}

int rk_fashion_scenes_build(const rk_scene_params *p, const char *raw_dir, const char *out,
                            int threads, rk_progress_fn progress, void *ctx, rk_err *err)
{
    /* built beside out and renamed into place at the end: a build stopped at any moment
     * (a kill, a full disk) leaves no folder at out that could pass for a dataset */
    char tmp[4096];
    struct stat st;
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%d", out, (int)getpid()) >= (int)sizeof tmp)
        return rk_errf(err, RK_EINVAL, "%s: path too long", out);
    if (stat(out, &st) == 0)
        return rk_errf(err, RK_EINVAL, "%s already exists: delete it to build the dataset again, "
                       "or choose another folder", out);
    remove_stale_builds(out);
    int rc = rk_remove_tree(tmp, err);
    if (!rc) rc = build_into(p, raw_dir, tmp, threads, progress, ctx, err);
    if (!rc && rename(tmp, out) != 0)
        rc = rk_errf(err, errno == EEXIST || errno == ENOTEMPTY ? RK_EINVAL : rk_errno_rc(errno),
                     "%s: cannot move the built dataset into place: %s", out, strerror(errno));
    if (rc) rk_remove_tree(tmp, NULL);
    return rc;
}

/* ---- the shifted set (selftrain.source = shifted) ---- */

void rk_scene_shifted(const rk_scene_params *p, rk_scene_params *q)
{
    *q = *p;
    /* smaller and more items, heavier clutter, pale colours, more noise; every class (the
     * source's item slice, as the source shows them) */
    q->min_scale = p->min_scale * 0.5 > 6 ? p->min_scale * 0.5 : 6;
    q->max_scale = p->max_scale * 0.6 > q->min_scale ? p->max_scale * 0.6 : q->min_scale;
    q->min_objects = p->max_objects, q->max_objects = 2 * p->max_objects;
    if (q->max_objects > 50) q->max_objects = 50;
    if (q->min_objects > q->max_objects) q->min_objects = q->max_objects;
    q->clutter = 3 * p->clutter + 6 > 100 ? 100 : 3 * p->clutter + 6;
    q->tint = 0.35 * p->tint;
    q->noise = 2 * p->noise > 64 ? 64 : 2 * p->noise;
    q->classes = 10;
    q->source_labels = RK_SOURCE_LABELS_ALL;
}

static int shifted_into(const rk_scene_params *p, const char *raw_dir, const char *out,
                        int threads, rk_err *err)
{
    rk_fashion tr = {0};
    image_rec *recs = NULL;
    rk_scene_params q;
    rk_scene_shifted(p, &q);
    int rc = rk_scene_validate(p, err);
    if (!rc) rc = rk_fashion_load(&tr, raw_dir, "train", err);
    if (!rc && tr.n < 2 * TRAIN_SLICE_END)
        rc = rk_errf(err, RK_EFORMAT, "%s: the train split has %d items, expected 60000", raw_dir,
                     tr.n);
    if (!rc) rc = rk_mkdirs(out, err);
    if (!rc && !(recs = calloc((size_t)p->nsource + 1, sizeof *recs)))
        rc = rk_errf(err, RK_ENOMEM, "shifted set: out of memory");
    if (!rc)
        rc = build_split(p, &tr, SPLIT_SHIFTED, out, NULL, p->nsource, p->size, recs,
                         threads < 1 ? 1 : threads, NULL, NULL, "shifted", err);
    char path[4200];
    snprintf(path, sizeof path, "%s/card.json", out);
    FILE *f = rc ? NULL : fopen(path, "wb");
    if (!rc && !f) rc = rk_errf(err, rk_errno_rc(errno), "%s: cannot create: %s", path, strerror(errno));
    if (f) {
        fprintf(f,
                "{\n  \"dataset\": \"fashion-shifted\",\n  \"generator_version\": %d,\n"
                "  \"rethink_version\": \"%s\",\n  \"seed\": %llu,\n  \"images\": %d,\n"
                "  \"params\": {\"size\": %d, \"objects\": [%d, %d], \"scale\": [%g, %g], "
                "\"clutter\": %d, \"occlusion\": %g, \"tint\": %g, \"noise\": %g, "
                "\"quality\": %d, \"background\": \"stripes\"},\n"
                "  \"raw\": {\"objects\": \"train[%d:%d]\"}\n}\n",
                GENERATOR_VERSION, RK_VERSION, (unsigned long long)q.seed, q.nsource, q.size,
                q.min_objects, q.max_objects, q.min_scale, q.max_scale, q.clutter, q.occlusion,
                q.tint, q.noise, q.quality, TRAIN_SLICE_END, tr.n);
        if (ferror(f) | fclose(f))
            rc = rk_errf(err, rk_errno_rc(errno), "%s: write failed: %s", path, strerror(errno));
    }
    rk_fashion_free(&tr);
    free(recs);
    return rc;
}

int rk_fashion_shifted_build(const rk_scene_params *p, const char *raw_dir, const char *out,
                             int threads, rk_err *err)
{
    char tmp[4096], card[4200];
    struct stat st;
    snprintf(card, sizeof card, "%s/card.json", out);
    if (stat(card, &st) == 0) return RK_OK;
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%d", out, (int)getpid()) >= (int)sizeof tmp)
        return rk_errf(err, RK_EINVAL, "%s: path too long", out);
    remove_stale_builds(out);
    int rc = rk_remove_tree(tmp, err);
    if (!rc) rc = shifted_into(p, raw_dir, tmp, threads, err);
    if (!rc && rename(tmp, out) != 0) {
        /* another builder won the race: its set (the same bytes) is used */
        if (stat(card, &st) != 0)
            rc = rk_errf(err, rk_errno_rc(errno), "%s: cannot move the built set into place: %s",
                         out, strerror(errno));
        rk_remove_tree(tmp, NULL);
    }
    if (rc) rk_remove_tree(tmp, NULL);
    return rc;
}
