/* Semantic-segmentation labels on disk: one 8-bit gray PNG per image, named as the image
 * with .png for its extension, holding category ids, 0 for background and RK_SEG_IGNORE
 * (255) for pixels nobody scores (include/rethink/data.h). Read into class indices (0
 * background, 1 + the category's index) so that training and evaluation never look ids up.
 * Invariant of what rk_seg_labels_load hands out: every pixel is 0..ncats or RK_SEG_IGNORE,
 * and each map has its image's size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rethink/data.h"

void rk_seg_labels_free(rk_image *labels, size_t n)
{
    if (!labels) return;
    for (size_t i = 0; i < n; i++) rk_image_free(&labels[i]);
    free(labels);
}

/* path of image i's label map: dir/<file_name without its extension>.png */
static void label_path(char *out, size_t cap, const char *dir, const char *file)
{
    const char *dot = strrchr(file, '.'), *slash = strrchr(file, '/');
    int stem = dot && (!slash || dot > slash) ? (int)(dot - file) : (int)strlen(file);
    snprintf(out, cap, "%s/%.*s.png", dir, stem, file);
}

static int load_one(rk_image *lab, const rk_dataset *d, size_t i, const uint8_t map[256],
                    const char *dir, rk_err *err)
{
    const rk_coco_image *ci = &d->coco.images[i];
    char path[4200];
    label_path(path, sizeof path, dir, ci->file_name);
    int rc = rk_label_map_load(lab, path, ci->width, ci->height, err);
    if (rc) return rc;
    for (size_t p = 0; p < (size_t)lab->w * lab->h; p++) {
        uint8_t v = lab->px[p];
        if (map[v] == 0 && v != 0)
            return rk_errf(err, RK_EFORMAT, "%s: pixel (%zu, %zu) is %u: a label is 0 "
                           "(background), %d (ignore) or a category id the model was trained "
                           "on (the train annotations' categories)",
                           path, p % (size_t)lab->w, p / (size_t)lab->w, v, RK_SEG_IGNORE);
        lab->px[p] = v == 0 ? 0 : map[v] == RK_SEG_IGNORE ? RK_SEG_IGNORE : (uint8_t)(map[v] - 1);
    }
    return RK_OK;
}

int rk_seg_labels_load(rk_image **labels, const rk_dataset *d, const rk_coco *classes,
                       const char *dir, int threads, rk_err *err)
{
    *labels = NULL;
    size_t n = d->coco.nimages;
    if (!classes) classes = &d->coco;
    /* category id -> 1 + (1 + its index among classes), so 0 stays "not a label"; ignore ->
     * ignore */
    uint8_t map[256] = {0};
    map[RK_SEG_IGNORE] = RK_SEG_IGNORE;
    if (classes->ncats > 250)
        return rk_errf(err, RK_EINVAL, "%s: %zu categories do not fit 8-bit label maps", dir,
                       classes->ncats);
    for (size_t k = 0; k < classes->ncats; k++) {
        int id = classes->cats[k].id;
        if (id <= 0 || id >= RK_SEG_IGNORE)
            return rk_errf(err, RK_EINVAL, "%s: category id %d cannot be a label (1..254)", dir,
                           id);
        map[id] = (uint8_t)(k + 2);
    }
    rk_image *out = calloc(n + 1, sizeof *out);
    if (!out) return rk_errf(err, RK_ENOMEM, "%s: out of memory", dir);
    long bad = -1;
    rk_err first = {0};
    if (threads < 1) threads = 1;
#pragma omp parallel for schedule(dynamic, 16) num_threads(threads)
    for (size_t i = 0; i < n; i++) {
        rk_err e = {0};
        if (load_one(&out[i], d, i, map, dir, &e)) {
            /* the lowest failing index reports: the error does not depend on scheduling */
#pragma omp critical
            if (bad < 0 || (long)i < bad) bad = (long)i, first = e;
        }
    }
    if (bad >= 0) {
        rk_seg_labels_free(out, n);
        if (err) *err = first;
        return first.rc ? first.rc : RK_EFORMAT;
    }
    *labels = out;
    return RK_OK;
}
