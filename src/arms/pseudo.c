/* Pseudo-labels for self-training: the teacher's hard boxes (score >= threshold) on the
 * un-augmented source images, as the paper does (§3.3: no soft labels, no TTA). */
#include <stdio.h>

#include "arms_internal.h"

void rk_pseudo_set_free(rk_pseudo_set *p)
{
    if (!p) return;
    free(p->boxes), free(p->start), free(p->per_class), free(p->labelled);
    memset(p, 0, sizeof *p);
}

int rk_pseudo_label(rk_net *teacher, const rk_detector_cfg *cfg, const rk_source *src,
                    double threshold, const uint8_t pad[3], int threads, rk_pseudo_set *out,
                    rk_err *err)
{
    memset(out, 0, sizeof *out);
    int C = cfg->model.num_classes;
    int64_t *ids = malloc((src->n + 1) * sizeof *ids);
    int *cats = malloc((size_t)C * sizeof *cats);
    if (!ids || !cats) {
        free(ids), free(cats);
        return rk_errf(err, RK_ENOMEM, "pseudo-labels: out of memory");
    }
    for (size_t i = 0; i < src->n; i++) ids[i] = (int64_t)i; /* index, not a COCO id */
    for (int c = 0; c < C; c++) cats[c] = c;
    rk_det *d = NULL;
    size_t nd = 0;
    int rc = rk_detector_predict(teacher, cfg, src->images, ids, src->n, cats, pad, threads, &d,
                                 &nd, err);
    free(ids), free(cats);
    if (rc) return rc;
    out->start = calloc(src->n + 1, sizeof *out->start);
    out->boxes = malloc((nd + 1) * sizeof *out->boxes);
    out->per_class = calloc((size_t)C, sizeof *out->per_class);
    out->labelled = malloc((src->n + 1) * sizeof *out->labelled);
    if (!out->start || !out->boxes || !out->per_class || !out->labelled) {
        free(d);
        rk_pseudo_set_free(out);
        return rk_errf(err, RK_ENOMEM, "pseudo-labels: out of memory");
    }
    /* predict returns detections grouped by image in image order */
    size_t k = 0;
    for (size_t i = 0; i < nd; i++) {
        /* clipped to a sliver at the border: not a usable box */
        if (d[i].score < threshold || d[i].bbox[2] < 1 || d[i].bbox[3] < 1) continue;
        out->boxes[k++] = (rk_box){d[i].bbox[0], d[i].bbox[1], d[i].bbox[2], d[i].bbox[3],
                                   d[i].category_id, 1};
        out->start[d[i].image_id + 1]++;
        out->per_class[d[i].category_id]++;
    }
    for (size_t i = 0; i < src->n; i++) {
        if (out->start[i + 1] > 0) out->labelled[out->nlabelled++] = i;
        out->start[i + 1] += out->start[i];
    }
    free(d);
    out->nboxes = k;
    out->nclasses = C;
    out->threshold = threshold;
    out->view = (rk_pseudo){src->images, src->n, out->boxes, out->start, NULL, 0};
    return RK_OK;
}

int rk_pseudo_save(const rk_pseudo_set *p, const rk_source *src, const rk_coco_cat *cats,
                   const char *path, rk_err *err)
{
    rk_coco c = {0};
    c.nimages = src->n;
    c.images = calloc(src->n + 1, sizeof *c.images);
    c.anns = calloc(p->nboxes + 1, sizeof *c.anns);
    c.cats = (rk_coco_cat *)cats;
    c.ncats = (size_t)p->nclasses;
    if (!c.images || !c.anns) {
        free(c.images), free(c.anns);
        return rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
    }
    for (size_t i = 0; i < src->n; i++) {
        c.images[i] = (rk_coco_image){(int64_t)i + 1, src->files[i], src->images[i].w,
                                      src->images[i].h};
        for (size_t j = p->start[i]; j < p->start[i + 1]; j++) {
            const rk_box *b = &p->boxes[j];
            c.anns[c.nanns] = (rk_coco_ann){(int64_t)c.nanns + 1, (int64_t)i + 1,
                                            cats[b->cls].id, {b->x, b->y, b->w, b->h},
                                            b->w * b->h, 0};
            c.nanns++;
        }
    }
    int rc = rk_coco_save(&c, path, err);
    free(c.images), free(c.anns);
    return rc;
}

int rk_pseudo_load(rk_pseudo_set *p, const char *path, const rk_source *src,
                   const rk_coco_cat *cats, int nclasses, double threshold, rk_err *err)
{
    memset(p, 0, sizeof *p);
    rk_coco c = {0};
    int rc = rk_coco_load(&c, path, err);
    if (rc) return rc;
    if (c.nimages != src->n)
        rc = rk_errf(err, RK_EFORMAT, "%s: pseudo-labels of %zu images, the source has %zu", path,
                     c.nimages, src->n);
    /* image i of the source is image id i + 1 (rk_pseudo_save) */
    for (size_t i = 0; !rc && i < src->n; i++) {
        long k = rk_coco_image_index(&c, (int64_t)i + 1);
        if (k < 0 || strcmp(c.images[k].file_name, src->files[i]))
            rc = rk_errf(err, RK_EFORMAT, "%s: image id %zu is not source image %s", path, i + 1,
                         src->files[i]);
    }
    p->start = calloc(src->n + 1, sizeof *p->start);
    p->boxes = malloc((c.nanns + 1) * sizeof *p->boxes);
    p->per_class = calloc((size_t)nclasses + 1, sizeof *p->per_class);
    p->labelled = malloc((src->n + 1) * sizeof *p->labelled);
    size_t *fill = calloc(src->n + 1, sizeof *fill);
    if (!rc && (!p->start || !p->boxes || !p->per_class || !p->labelled || !fill))
        rc = rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
    int *cls = rc ? NULL : malloc((c.nanns + 1) * sizeof *cls);
    if (!rc && !cls) rc = rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
    for (size_t a = 0; !rc && a < c.nanns; a++) {
        int k = -1;
        for (int j = 0; j < nclasses; j++)
            if (cats[j].id == c.anns[a].category_id) k = j;
        if (k < 0)
            rc = rk_errf(err, RK_EFORMAT, "%s: annotation %lld has category %d, not one of the "
                         "detector's", path, (long long)c.anns[a].id, c.anns[a].category_id);
        cls[a] = k;
        if (!rc) p->start[c.anns[a].image_id]++; /* image id i + 1: counts land at i + 1 */
    }
    for (size_t i = 0; !rc && i < src->n; i++) {
        if (p->start[i + 1] > 0) p->labelled[p->nlabelled++] = i;
        p->start[i + 1] += p->start[i];
    }
    /* boxes grouped by image, each image's in file order, as rk_pseudo_label made them */
    for (size_t a = 0; !rc && a < c.nanns; a++) {
        size_t i = (size_t)c.anns[a].image_id - 1;
        const double *b = c.anns[a].bbox;
        p->boxes[p->start[i] + fill[i]++] = (rk_box){b[0], b[1], b[2], b[3], cls[a], 1};
        p->per_class[cls[a]]++;
    }
    free(fill), free(cls);
    rk_coco_free(&c);
    if (rc) {
        rk_pseudo_set_free(p);
        return rc;
    }
    p->nboxes = p->start[src->n];
    p->nclasses = nclasses;
    p->threshold = threshold;
    p->view = (rk_pseudo){src->images, src->n, p->boxes, p->start, NULL, 0};
    return RK_OK;
}
