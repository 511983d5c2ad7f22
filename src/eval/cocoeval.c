/* COCO bbox evaluation: pycocotools' COCOeval (evaluate, accumulate, summarize) in C, with its
 * numbers and without its cost.
 *
 * Plan (each step names the pycocotools code it reproduces):
 *  1. Order detections by (category rank, image rank, score descending, input index) and GT
 *     annotations by (category rank, image rank, input index): a stable radix sort on a
 *     descending-score key, then stable counting sorts by image rank and by category rank.
 *     Ranks are positions in ascending id order, i.e. pycocotools' sorted catIds / imgIds.
 *     Each (category, image) cell is then one run in each order, its detections in the order
 *     of np.argsort(-scores, kind='mergesort') and its GTs in file order (getAnnIds).
 *  2. Per cell (computeIoU + evaluateImg for the 4 area ranges): the IoU matrix once, then the
 *     greedy matching per area range and IoU threshold. Each of the cell's first 100
 *     detections leaves one record with, per area range, a bit per threshold for "dtm != 0"
 *     (matched a GT whose id is nonzero) and one for "dtIgnore".
 *  3. Per category (accumulate): the records of all cells, concatenated in image order, are
 *     radix-sorted (stable) by descending score, which is what a stable argsort of the
 *     concatenation gives. The list for maxDets m is the 100-list filtered to in-image rank
 *     < m; filtering keeps a stable sort's relative order, so the one sort serves all three
 *     maxDets and all four area ranges.
 *  4. summarize: the means numpy takes (pairwise summation, in numpy's element order).
 *
 * Cost: O(n) passes for the ordering, O(cell dets x cell GTs x 10 x 4) for the matching,
 * 4 x 3 walks over each category's records; no comparison sort of detections and no
 * quadratic step over them.
 *
 * Arithmetic that decides matches (IoU, thresholds, precision, recall) is written as the same
 * sequence of IEEE double operations as pycocotools / numpy and must not be contracted into
 * FMAs: the build compiles with -ffp-contract=off (meson.build). */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rethink/eval.h"

enum { NT = 10, NR = 101, NA = 4, NM = 3, MAXDET = 100 };

/* Params.areaRng and Params.maxDets (1e5**2 == 1e10 exactly). */
static const double AREA_LO[NA] = {0, 0, 32 * 32, 96 * 96};
static const double AREA_HI[NA] = {1e10, 32 * 32, 96 * 96, 1e10};
static const size_t MAXDETS[NM] = {1, 10, 100};
/* np.spacing(1), numpy's eps in precision = tp / (fp + tp + eps); equals DBL_EPSILON. */
static const double NP_SPACING_1 = 2.220446049250313e-16;

static const char *const NAMES[RK_COCO_NSTATS] = {"AP",  "AP50", "AP75",  "APs", "APm", "APl",
                                                  "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};
static const char *const LABELS[RK_COCO_NSTATS] = {
    "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]",
    "Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ]",
    "Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ]",
    "Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ]",
    "Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ]",
    "Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ]",
    "Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ]",
    "Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ]",
    "Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]",
    "Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ]",
    "Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ]",
    "Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ]",
};

/* The names of views and exports: unique without case beside a trial's `arm` (SQLite and
 * pandas compare column names without case; ARm was the arm). */
static const char *const COLUMNS[RK_COCO_NSTATS] = {"AP",  "AP50", "AP75",  "AP_s", "AP_m", "AP_l",
                                                    "AR1", "AR10", "AR100", "AR_s", "AR_m", "AR_l"};

const char *rk_coco_stat_name(int i) { return i >= 0 && i < RK_COCO_NSTATS ? NAMES[i] : NULL; }
const char *rk_coco_stat_column(int i) { return i >= 0 && i < RK_COCO_NSTATS ? COLUMNS[i] : NULL; }
const char *rk_coco_stat_label(int i) { return i >= 0 && i < RK_COCO_NSTATS ? LABELS[i] : NULL; }

void rk_coco_thresholds(double iou[10], double recall[101])
{
    /* np.linspace(start, stop, num) computes i * ((stop - start) / (num - 1)) + start and then
     * sets the last element to stop; np.arange would accumulate error instead. */
    double step = (0.95 - 0.5) / 9;
    for (int i = 0; i < 9; i++) iou[i] = i * step + 0.5;
    iou[9] = 0.95;
    step = (1.0 - 0.0) / 100;
    for (int i = 0; i < 100; i++) recall[i] = i * step + 0.0;
    recall[100] = 1.0;
}

void rk_bbox_iou(double *o, const double *dt, size_t ndt, const double *gt, size_t ngt,
                 const int *iscrowd)
{
    /* maskApi.c bbIou, operation for operation: intersection extents as fmin(w + x) - fmax(x),
     * union da + ga - i left to right, or da for a crowd GT (intersection over detection). */
    for (size_t g = 0; g < ngt; g++) {
        const double *G = gt + 4 * g;
        double ga = G[2] * G[3];
        int crowd = iscrowd && iscrowd[g];
        for (size_t d = 0; d < ndt; d++) {
            const double *D = dt + 4 * d;
            double da = D[2] * D[3];
            o[d * ngt + g] = 0;
            double w = fmin(D[2] + D[0], G[2] + G[0]) - fmax(D[0], G[0]);
            if (w <= 0) continue;
            double h = fmin(D[3] + D[1], G[3] + G[1]) - fmax(D[1], G[1]);
            if (h <= 0) continue;
            double i = w * h;
            double u = crowd ? da : da + ga - i;
            o[d * ngt + g] = i / u;
        }
    }
}

/* ---- numpy's sum ---- */

/* numpy's pairwise_sum for float64: plain loop below 8 elements, 8 accumulators up to 128,
 * otherwise split at half rounded down to a multiple of 8. */
static double pairwise_sum(const double *a, size_t n)
{
    if (n < 8) {
        double res = 0.;
        for (size_t i = 0; i < n; i++) res += a[i];
        return res;
    }
    if (n <= 128) {
        double r[8];
        size_t i;
        for (int j = 0; j < 8; j++) r[j] = a[j];
        for (i = 8; i < n - n % 8; i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

/* np.add.reduce of a contiguous float64 array: the reduction loop receives blocks of at most
 * 8192 elements (the iterator's buffer size), each summed pairwise into the identity 0.
 * Checked against numpy 1.24 (tests/coco_reference.py computes every mean with np.mean). */
static double np_sum(const double *a, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i += 8192) s += pairwise_sum(a + i, n - i < 8192 ? n - i : 8192);
    return s;
}

/* ---- ordering ---- */

typedef struct kv {
    uint64_t key;
    size_t idx;
} kv;

/* An unsigned key whose ascending order is descending score (IEEE order: flip all bits of
 * negatives, the sign bit of the rest; then invert). -0.0 and 0.0 get one key: they compare
 * equal, so numpy's stable sort of -scores leaves them in input order. */
static uint64_t desc_key(double s)
{
    uint64_t b;
    if (s == 0) s = 0;
    memcpy(&b, &s, sizeof b);
    b = (b >> 63) ? ~b : b | 0x8000000000000000ull; /* now ascending in s */
    return ~b;
}

/* Stable LSD radix sort of a[0..n) by key, one byte per pass; a pass in which all keys share
 * the byte is skipped. tmp: n entries. Returns whichever of a and tmp holds the result. */
static kv *radix_sort(kv *a, kv *tmp, size_t n)
{
    size_t cnt[8][256] = {{0}};
    for (size_t j = 0; j < n; j++)
        for (int p = 0; p < 8; p++) cnt[p][(a[j].key >> (8 * p)) & 255]++;
    for (int p = 0; p < 8; p++) {
        if (n == 0 || cnt[p][(a[0].key >> (8 * p)) & 255] == n) continue;
        size_t sum = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = cnt[p][b];
            cnt[p][b] = sum;
            sum += c;
        }
        for (size_t j = 0; j < n; j++) tmp[cnt[p][(a[j].key >> (8 * p)) & 255]++] = a[j];
        kv *x = a;
        a = tmp, tmp = x;
    }
    return a;
}

/* Stable counting sort: out = in ordered by key[in[j]] (in 0..nkeys-1). cnt: nkeys + 1. */
static void counting_sort(size_t *out, const size_t *in, size_t n, const size_t *key,
                          size_t nkeys, size_t *cnt)
{
    memset(cnt, 0, (nkeys + 1) * sizeof *cnt);
    for (size_t j = 0; j < n; j++) cnt[key[in[j]] + 1]++;
    for (size_t b = 0; b < nkeys; b++) cnt[b + 1] += cnt[b];
    for (size_t j = 0; j < n; j++) out[cnt[key[in[j]]]++] = in[j];
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Rank of each element (by index) in ascending order of ids; ids are unique (rk_coco). */
static int id_ranks(size_t *rank, const int64_t *ids, size_t n)
{
    int64_t *sorted = malloc((n + 1) * sizeof *sorted);
    if (!sorted) return -1;
    memcpy(sorted, ids, n * sizeof *ids);
    qsort(sorted, n, sizeof *sorted, cmp_i64);
    for (size_t j = 0; j < n; j++) {
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (sorted[mid] < ids[j])
                lo = mid + 1;
            else
                hi = mid;
        }
        rank[j] = lo;
    }
    free(sorted);
    return 0;
}

/* ---- per-cell evaluation (computeIoU + evaluateImg) ---- */

/* One kept detection of a cell, as accumulate sees it. */
typedef struct drec {
    double score;
    unsigned rank;    /* rank in its cell, < MAXDET */
    uint16_t hit[NA]; /* bit t: dtMatches != 0 at threshold t */
    uint16_t ign[NA]; /* bit t: dtIgnore at threshold t */
} drec;

/* Scratch for one cell, grown as needed: G GTs, D <= MAXDET detections. */
typedef struct cell_buf {
    size_t gcap;
    double *gbox, *garea, *iou; /* (G, 4), (G), (MAXDET, G) */
    int *crowd, *gign, *gmatched; /* (G) each */
    int64_t *gid;                 /* (G) */
    size_t *perm;                 /* (G) GT order for one area range: non-ignored first */
    double dbox[MAXDET * 4], darea[MAXDET];
} cell_buf;

static int cell_reserve(cell_buf *c, size_t G)
{
    if (G <= c->gcap) return 0;
    size_t cap = G > 2 * c->gcap ? G : 2 * c->gcap;
    free(c->gbox), free(c->garea), free(c->iou), free(c->crowd), free(c->gign);
    free(c->gmatched), free(c->gid), free(c->perm);
    c->gbox = malloc(cap * 4 * sizeof(double));
    c->garea = malloc(cap * sizeof(double));
    c->iou = malloc(cap * MAXDET * sizeof(double));
    c->crowd = malloc(cap * sizeof(int));
    c->gign = malloc(cap * sizeof(int));
    c->gmatched = malloc(cap * sizeof(int));
    c->gid = malloc(cap * sizeof(int64_t));
    c->perm = malloc(cap * sizeof(size_t));
    c->gcap = cap;
    if (!c->gbox || !c->garea || !c->iou || !c->crowd || !c->gign || !c->gmatched || !c->gid ||
        !c->perm) {
        c->gcap = 0;
        return -1;
    }
    return 0;
}

static void cell_free(cell_buf *c)
{
    free(c->gbox), free(c->garea), free(c->iou), free(c->crowd), free(c->gign);
    free(c->gmatched), free(c->gid), free(c->perm);
}

/* Evaluates one cell for all area ranges: writes D records to rec and adds each range's count
 * of non-ignored GTs to npig. di: indices into dets of the cell's detections in score order
 * (already cut to D <= MAXDET); gi: indices into gt->anns of its GTs in file order. */
static void eval_cell(drec *rec, size_t npig[NA], cell_buf *c, const rk_coco *gt,
                      const rk_det *dets, const size_t *di, size_t D, const size_t *gi, size_t G,
                      const double thr[NT])
{
    for (size_t g = 0; g < G; g++) {
        const rk_coco_ann *a = &gt->anns[gi[g]];
        memcpy(c->gbox + 4 * g, a->bbox, 4 * sizeof(double));
        c->garea[g] = a->area;
        c->crowd[g] = a->iscrowd;
        c->gid[g] = a->id;
    }
    for (size_t d = 0; d < D; d++) {
        const rk_det *x = &dets[di[d]];
        memcpy(c->dbox + 4 * d, x->bbox, 4 * sizeof(double));
        c->darea[d] = x->bbox[2] * x->bbox[3]; /* loadRes: area = w * h */
        rec[d] = (drec){.score = x->score, .rank = (unsigned)d};
    }
    if (D && G) rk_bbox_iou(c->iou, c->dbox, D, c->gbox, G, c->crowd);

    for (int a = 0; a < NA; a++) {
        /* GT ignore flag, and the stable order with ignored GTs last. */
        size_t np = 0;
        for (size_t g = 0; g < G; g++) {
            c->gign[g] = c->crowd[g] || c->garea[g] < AREA_LO[a] || c->garea[g] > AREA_HI[a];
            if (!c->gign[g]) c->perm[np++] = g;
        }
        npig[a] += np;
        for (size_t g = 0, q = np; g < G; g++)
            if (c->gign[g]) c->perm[q++] = g;

        for (int t = 0; t < NT && D && G; t++) {
            uint16_t bit = (uint16_t)(1u << t);
            memset(c->gmatched, 0, G * sizeof(int));
            for (size_t d = 0; d < D; d++) {
                /* The best unmatched GT so far: crowd GTs stay available; once a non-ignored
                 * GT is matched, stop at the first ignored one; a later GT with equal IoU
                 * replaces an earlier one (the comparison is '<', not '<='). */
                double best = thr[t] < 1 - 1e-10 ? thr[t] : 1 - 1e-10;
                long m = -1;
                for (size_t p = 0; p < G; p++) {
                    size_t g = c->perm[p];
                    if (c->gmatched[p] && !c->crowd[g]) continue;
                    if (m > -1 && !c->gign[c->perm[m]] && c->gign[g]) break;
                    if (c->iou[d * G + g] < best) continue;
                    best = c->iou[d * G + g];
                    m = (long)p;
                }
                if (m == -1) continue;
                size_t g = c->perm[m];
                c->gmatched[m] = 1;
                if (c->gign[g]) rec[d].ign[a] |= bit;
                /* pycocotools stores the GT's id in dtMatches and later tests it for nonzero:
                 * a match to a GT with id 0 counts as no match (but still uses up the GT). */
                if (c->gid[g] != 0) rec[d].hit[a] |= bit;
            }
        }
        /* Unmatched detections outside the area range are ignored. */
        for (size_t d = 0; d < D; d++)
            if (c->darea[d] < AREA_LO[a] || c->darea[d] > AREA_HI[a])
                rec[d].ign[a] |= (uint16_t)(~rec[d].hit[a] & ((1u << NT) - 1));
    }
}

/* ---- accumulate, one category ---- */

/* Fills prec[t][r][k][a][m] and recall[t][k][a][m] for category rank k from its records in
 * ranking order; cells with npig == 0 stay -1. pr, rc: scratch of NT * (nrec + 1).
 *
 * pycocotools builds, per threshold, precision and recall after every detection, makes
 * precision monotone from the right and samples it at the first index reaching each recall
 * point. Only true positives matter there: an ignored detection or a false positive never
 * raises recall, and precision after a false positive is below the precision at the true
 * positive before it (or 0 before any), so neither the first index reaching a recall point
 * (always a true positive, or index 0 for recall point 0) nor any right-to-left maximum
 * changes when those entries are dropped. So values are computed at true positives only,
 * with the same operations as numpy: tp / npig and tp / ((fp + tp) + np.spacing(1)). */
static void accumulate(double *prec, double *recall, size_t K, size_t k, const drec *recs,
                       size_t nrec, const size_t npig[NA], const double rthr[NR], double *pr,
                       double *rc)
{
    const unsigned ALL = (1u << NT) - 1;
    const size_t stride = nrec + 1;
    for (int a = 0; a < NA; a++) {
        if (!npig[a]) continue;
        const double np = (double)npig[a];
        for (int m = 0; m < NM; m++) {
            size_t tp[NT] = {0}, fp[NT] = {0};
            for (size_t j = 0; j < nrec; j++) {
                const drec *x = &recs[j];
                if (x->rank >= MAXDETS[m]) continue;
                unsigned live = ~(unsigned)x->ign[a] & ALL, hit = x->hit[a] & live;
                if (!live) continue;
                for (int t = 0; t < NT; t++) {
                    if (!((live >> t) & 1)) continue;
                    if (!((hit >> t) & 1)) {
                        fp[t]++;
                        continue;
                    }
                    double n_tp = (double)++tp[t];
                    rc[t * stride + tp[t] - 1] = n_tp / np;
                    pr[t * stride + tp[t] - 1] = n_tp / ((double)fp[t] + n_tp + NP_SPACING_1);
                }
            }
            for (int t = 0; t < NT; t++) {
                double *p = pr + t * stride, *c = rc + t * stride;
                size_t ne = tp[t];
                for (size_t j = ne; j-- > 1;)
                    if (p[j] > p[j - 1]) p[j - 1] = p[j];
                /* np.searchsorted(rc, recThrs, side='left'), precision 0 beyond the last. */
                size_t j = 0;
                for (int r = 0; r < NR; r++) {
                    while (j < ne && c[j] < rthr[r]) j++;
                    prec[(((size_t)t * NR + r) * K + k) * NA * NM + a * NM + m] =
                        j < ne ? p[j] : 0;
                }
                recall[((size_t)t * K + k) * NA * NM + a * NM + m] = (double)tp[t] / np;
            }
        }
    }
}

/* ---- summarize ---- */

/* Mean of the entries > -1 of precision[t0:t1, :, :, a, m] in numpy's (t, r, k) order, or -1. */
static double mean_precision(const double *prec, size_t K, int t0, int t1, int a, int m,
                             double *buf)
{
    size_t n = 0;
    for (int t = t0; t < t1; t++)
        for (int r = 0; r < NR; r++)
            for (size_t k = 0; k < K; k++) {
                double v = prec[(((size_t)t * NR + r) * K + k) * NA * NM + a * NM + m];
                if (v > -1) buf[n++] = v;
            }
    return n ? np_sum(buf, n) / (double)n : -1;
}

/* Mean of the entries > -1 of recall[:, :, a, m] in (t, k) order, or -1. */
static double mean_recall(const double *recall, size_t K, int a, int m, double *buf)
{
    size_t n = 0;
    for (int t = 0; t < NT; t++)
        for (size_t k = 0; k < K; k++) {
            double v = recall[((size_t)t * K + k) * NA * NM + a * NM + m];
            if (v > -1) buf[n++] = v;
        }
    return n ? np_sum(buf, n) / (double)n : -1;
}

void rk_coco_stats_free(rk_coco_stats *s)
{
    if (!s) return;
    free(s->cat_ap);
    memset(s, 0, sizeof *s);
}

/* Does detection d pass rk_dets_check? (Only called to decide; the message comes from there.) */
static int det_ok(const rk_det *d)
{
    return isfinite(d->bbox[0]) && isfinite(d->bbox[1]) && isfinite(d->bbox[2]) &&
           isfinite(d->bbox[3]) && d->bbox[2] >= 0 && d->bbox[3] >= 0 && isfinite(d->score);
}

int rk_coco_eval(rk_coco_stats *out, const rk_coco *gt, const rk_det *dets, size_t n,
                 rk_err *err)
{
    memset(out, 0, sizeof *out);
    const size_t K = gt->ncats, I = gt->nimages, NG = gt->nanns;
    double thr[NT], rthr[NR];
    rk_coco_thresholds(thr, rthr);
    int rc = RK_ENOMEM;

    size_t *krank = malloc((K + 1) * sizeof *krank), *irank = malloc((I + 1) * sizeof *irank);
    size_t *kidx = malloc((K + 1) * sizeof *kidx); /* rank -> index into gt->cats */
    size_t *cnt = malloc(((K > I ? K : I) + 1) * sizeof *cnt);
    int64_t *ids = malloc(((K > I ? K : I) + 1) * sizeof *ids);
    size_t *dcat = malloc((n + 1) * sizeof *dcat), *dimg = malloc((n + 1) * sizeof *dimg);
    size_t *dord = malloc((n + 1) * sizeof *dord), *tmp = malloc((n + NG + 1) * sizeof *tmp);
    size_t *gcat = malloc((NG + 1) * sizeof *gcat), *gimg = malloc((NG + 1) * sizeof *gimg);
    size_t *gord = malloc((NG + 1) * sizeof *gord);
    kv *kva = malloc((n + 1) * sizeof *kva), *kvb = malloc((n + 1) * sizeof *kvb);
    double *prec = malloc(((size_t)NT * NR * K * NA * NM + 1) * sizeof *prec);
    double *recall = malloc(((size_t)NT * K * NA * NM + 1) * sizeof *recall);
    double *buf = malloc(((size_t)NT * NR * K + 1) * sizeof *buf);
    out->cat_ap = malloc((K + 1) * sizeof *out->cat_ap);
    drec *recs = NULL, *sorted = NULL;
    double *pr = NULL, *rcv = NULL;
    cell_buf cell = {0};
    if (!krank || !irank || !kidx || !cnt || !ids || !dcat || !dimg || !dord || !tmp || !gcat ||
        !gimg || !gord || !kva || !kvb || !prec || !recall || !buf || !out->cat_ap)
        goto done;
    out->ncats = K;

    for (size_t j = 0; j < K; j++) ids[j] = gt->cats[j].id;
    if (id_ranks(krank, ids, K)) goto done;
    for (size_t j = 0; j < K; j++) kidx[krank[j]] = j;
    for (size_t j = 0; j < I; j++) ids[j] = gt->images[j].id;
    if (id_ranks(irank, ids, I)) goto done;

    /* Every detection's category and image rank; one it cannot have (or bad numbers) means
     * rk_dets_check refuses the input, with the message naming the first bad entry. */
    for (size_t j = 0; j < n; j++) {
        long ki = rk_coco_cat_index(gt, dets[j].category_id);
        long ii = rk_coco_image_index(gt, dets[j].image_id);
        if (ki < 0 || ii < 0 || !det_ok(&dets[j])) {
            rc = rk_dets_check(dets, n, gt, "detections", err);
            if (!rc) rc = rk_errf(err, RK_EINVAL, "detections: detection %zu is invalid", j);
            goto fail;
        }
        dcat[j] = krank[ki], dimg[j] = irank[ii];
        kva[j] = (kv){.key = desc_key(dets[j].score), .idx = j};
    }
    const kv *byscore = radix_sort(kva, kvb, n);
    for (size_t j = 0; j < n; j++) dord[j] = byscore[j].idx;
    counting_sort(tmp, dord, n, dimg, I, cnt);
    counting_sort(dord, tmp, n, dcat, K, cnt);
    for (size_t j = 0; j < NG; j++) {
        long ki = rk_coco_cat_index(gt, gt->anns[j].category_id);
        long ii = rk_coco_image_index(gt, gt->anns[j].image_id);
        assert(ki >= 0 && ii >= 0); /* rk_coco_load's invariants: they exist */
        gcat[j] = krank[ki], gimg[j] = irank[ii];
        gord[j] = j;
    }
    counting_sort(tmp, gord, NG, gimg, I, cnt);
    counting_sort(gord, tmp, NG, gcat, K, cnt);

    /* Scratch for the largest category (at most all its detections are kept). */
    size_t maxrec = 0;
    for (size_t j = 0, run = 0; j < n; j++) {
        run = (j && dcat[dord[j]] == dcat[dord[j - 1]]) ? run + 1 : 1;
        if (run > maxrec) maxrec = run;
    }
    recs = malloc((maxrec + 1) * sizeof *recs);
    sorted = malloc((maxrec + 1) * sizeof *sorted);
    pr = malloc((maxrec + 1) * NT * sizeof *pr);
    rcv = malloc((maxrec + 1) * NT * sizeof *rcv);
    if (!recs || !sorted || !pr || !rcv) goto done;
    for (size_t j = 0; j < (size_t)NT * NR * K * NA * NM; j++) prec[j] = -1;
    for (size_t j = 0; j < (size_t)NT * K * NA * NM; j++) recall[j] = -1;

    /* Categories in id order; within one, the cells in image id order (pycocotools' evalImgs
     * order), each cell's kept detections appended to the category's concatenation. */
    size_t dp = 0, gp = 0;
    for (size_t k = 0; k < K; k++) {
        size_t nrec = 0, npig[NA] = {0};
        for (;;) {
            int dmore = dp < n && dcat[dord[dp]] == k, gmore = gp < NG && gcat[gord[gp]] == k;
            if (!dmore && !gmore) break;
            size_t i = dmore ? dimg[dord[dp]] : gimg[gord[gp]];
            if (gmore && gimg[gord[gp]] < i) i = gimg[gord[gp]];
            size_t d1 = dp, g1 = gp;
            while (d1 < n && dcat[dord[d1]] == k && dimg[dord[d1]] == i) d1++;
            while (g1 < NG && gcat[gord[g1]] == k && gimg[gord[g1]] == i) g1++;
            size_t D = d1 - dp < MAXDET ? d1 - dp : MAXDET, G = g1 - gp;
            if (cell_reserve(&cell, G)) goto done;
            eval_cell(recs + nrec, npig, &cell, gt, dets, dord + dp, D, gord + gp, G, thr);
            nrec += D;
            dp = d1, gp = g1;
        }
        /* accumulate's stable argsort of the concatenation by -score. */
        for (size_t j = 0; j < nrec; j++) kva[j] = (kv){.key = desc_key(recs[j].score), .idx = j};
        byscore = radix_sort(kva, kvb, nrec);
        for (size_t j = 0; j < nrec; j++) sorted[j] = recs[byscore[j].idx];
        accumulate(prec, recall, K, k, sorted, nrec, npig, rthr, pr, rcv);
    }

    /* summarize(): iouThr picks thresholds by exact equality, as np.where(iouThr == iouThrs). */
    int t50 = -1, t75 = -1;
    for (int t = 0; t < NT; t++) {
        if (thr[t] == 0.5) t50 = t;
        if (thr[t] == 0.75) t75 = t;
    }
    double *s = out->stats;
    s[RK_AP] = mean_precision(prec, K, 0, NT, 0, 2, buf);
    s[RK_AP50] = t50 < 0 ? -1 : mean_precision(prec, K, t50, t50 + 1, 0, 2, buf);
    s[RK_AP75] = t75 < 0 ? -1 : mean_precision(prec, K, t75, t75 + 1, 0, 2, buf);
    for (int a = 1; a < NA; a++) {
        s[RK_APS + a - 1] = mean_precision(prec, K, 0, NT, a, 2, buf);
        s[RK_ARS + a - 1] = mean_recall(recall, K, a, 2, buf);
    }
    for (int m = 0; m < NM; m++) s[RK_AR1 + m] = mean_recall(recall, K, 0, m, buf);
    /* Per category, as detectron2 and others take it from COCOeval: the mean of
     * precision[:, :, k, area all, maxDets 100] over its entries > -1. */
    for (size_t k = 0; k < K; k++) {
        size_t nv = 0;
        for (int t = 0; t < NT; t++)
            for (int r = 0; r < NR; r++) {
                double v = prec[(((size_t)t * NR + r) * K + k) * NA * NM + 0 * NM + 2];
                if (v > -1) buf[nv++] = v;
            }
        out->cat_ap[kidx[k]] = nv ? np_sum(buf, nv) / (double)nv : -1;
    }
    rc = RK_OK;
done:
    if (rc) rk_errf(err, rc, "detections: out of memory evaluating %zu detections", n);
fail:
    if (rc) rk_coco_stats_free(out);
    free(krank), free(irank), free(kidx), free(cnt), free(ids), free(dcat), free(dimg);
    free(dord), free(tmp), free(gcat), free(gimg), free(gord), free(kva), free(kvb);
    free(prec), free(recall), free(buf), free(recs), free(sorted), free(pr), free(rcv);
    cell_free(&cell);
    return rc;
}
