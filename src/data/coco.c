/* COCO instances JSON: parse (cJSON) and validate into rk_coco, and write it back.
 *
 * Invariants after a successful rk_coco_load / rk_coco_index: image, annotation and
 * category ids are unique; every annotation's image and category exist; every box has
 * positive size and overlaps its image; area > 0 (defaults to w*h when the file has none).
 * A box partly outside its image is kept as the file has it, as pycocotools does (evaluation
 * scores it unchanged); `noutside` counts them and rk_coco_box_clip gives the part inside,
 * what training learns. On error the rk_coco is left empty. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rethink/data.h"

void rk_text_position(const char *text, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n')
            l++, c = 1;
        else
            c++;
    }
    *line = l, *col = c;
}

void rk_coco_free(rk_coco *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->nimages; i++) free(c->images[i].file_name);
    for (size_t i = 0; i < c->ncats; i++) free(c->cats[i].name);
    free(c->images);
    free(c->anns);
    free(c->cats);
    free(c->img_order);
    free(c->cat_order);
    memset(c, 0, sizeof *c);
}

/* Whether an image's file_name stays inside the images folder it is read from: relative,
 * and no part of it is "..". (A file_name of ../../../../etc/passwd made `data check` open
 * that file and quote its first bytes in the error.) Subfolders are fine. */
static int inside(const char *name)
{
    if (name[0] == '/') return 0;
    for (const char *p = name; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') return 0;
        p += n;
        if (*p) p++;
    }
    return 1;
}

/* ---- id tables ---- */
static const rk_coco *sort_ctx;

static int cmp_img(const void *a, const void *b)
{
    int64_t x = sort_ctx->images[*(const size_t *)a].id, y = sort_ctx->images[*(const size_t *)b].id;
    return (x > y) - (x < y);
}

static int cmp_cat(const void *a, const void *b)
{
    int x = sort_ctx->cats[*(const size_t *)a].id, y = sort_ctx->cats[*(const size_t *)b].id;
    return (x > y) - (x < y);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

long rk_coco_image_index(const rk_coco *c, int64_t id)
{
    RK_ASSERT(c->img_order || !c->nimages); /* rk_coco_load or rk_coco_index made it */
    size_t lo = 0, hi = c->nimages;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int64_t v = c->images[c->img_order[mid]].id;
        if (v == id) return (long)c->img_order[mid];
        if (v < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

long rk_coco_cat_index(const rk_coco *c, int id)
{
    RK_ASSERT(c->cat_order || !c->ncats);
    size_t lo = 0, hi = c->ncats;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int v = c->cats[c->cat_order[mid]].id;
        if (v == id) return (long)c->cat_order[mid];
        if (v < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

int rk_coco_box_clip(const double b[4], const rk_coco_image *im, double out[4])
{
    /* 1e-3 px of slack: a box ending at 32.0004 in a 32 px image is inside (rounding in the
     * file), and is not counted as clipped */
    const double eps = 1e-3;
    double x0 = b[0], y0 = b[1], x1 = b[0] + b[2], y1 = b[1] + b[3];
    int clipped = x0 < -eps || y0 < -eps || x1 > im->width + eps || y1 > im->height + eps;
    if (clipped) {
        x0 = fmax(x0, 0), y0 = fmax(y0, 0);
        x1 = fmin(x1, im->width), y1 = fmin(y1, im->height);
    }
    out[0] = x0, out[1] = y0, out[2] = x1 - x0, out[3] = y1 - y0;
    return clipped;
}

int rk_coco_index(rk_coco *c, const char *what, rk_err *err)
{
    free(c->img_order);
    free(c->cat_order);
    c->img_order = malloc((c->nimages + 1) * sizeof(size_t));
    c->cat_order = malloc((c->ncats + 1) * sizeof(size_t));
    int64_t *aid = malloc((c->nanns + 1) * sizeof(int64_t));
    size_t noutside = 0;
    int rc = RK_OK;
    if (!c->img_order || !c->cat_order || !aid) {
        rc = rk_errf(err, RK_ENOMEM, "%s: out of memory", what);
        goto done;
    }
    for (size_t i = 0; i < c->nimages; i++) c->img_order[i] = i;
    for (size_t i = 0; i < c->ncats; i++) c->cat_order[i] = i;
    sort_ctx = c;
    qsort(c->img_order, c->nimages, sizeof(size_t), cmp_img);
    qsort(c->cat_order, c->ncats, sizeof(size_t), cmp_cat);
    for (size_t i = 1; i < c->nimages; i++)
        if (c->images[c->img_order[i]].id == c->images[c->img_order[i - 1]].id) {
            rc = rk_errf(err, RK_EFORMAT, "%s: duplicate image id %lld", what,
                         (long long)c->images[c->img_order[i]].id);
            goto done;
        }
    for (size_t i = 1; i < c->ncats; i++)
        if (c->cats[c->cat_order[i]].id == c->cats[c->cat_order[i - 1]].id) {
            rc = rk_errf(err, RK_EFORMAT, "%s: duplicate category id %d", what,
                         c->cats[c->cat_order[i]].id);
            goto done;
        }
    for (size_t i = 0; i < c->nanns; i++) aid[i] = c->anns[i].id;
    qsort(aid, c->nanns, sizeof(int64_t), cmp_i64);
    for (size_t i = 1; i < c->nanns; i++)
        if (aid[i] == aid[i - 1]) {
            rc = rk_errf(err, RK_EFORMAT, "%s: duplicate annotation id %lld", what,
                         (long long)aid[i]);
            goto done;
        }
    for (size_t i = 0; i < c->nanns; i++) {
        rk_coco_ann *a = &c->anns[i];
        long im = rk_coco_image_index(c, a->image_id);
        if (im < 0) {
            rc = rk_errf(err, RK_EFORMAT, "%s: annotation id %lld: unknown image_id %lld", what,
                         (long long)a->id, (long long)a->image_id);
            goto done;
        }
        if (rk_coco_cat_index(c, a->category_id) < 0) {
            rc = rk_errf(err, RK_EFORMAT, "%s: annotation id %lld: unknown category_id %d", what,
                         (long long)a->id, a->category_id);
            goto done;
        }
        const double *b = a->bbox, eps = 1e-3;
        const rk_coco_image *I = &c->images[im];
        if (!(b[2] > 0 && b[3] > 0)) {
            rc = rk_errf(err, RK_EFORMAT,
                         "%s: annotation id %lld: bbox [%g, %g, %g, %g] has non-positive size",
                         what, (long long)a->id, b[0], b[1], b[2], b[3]);
            goto done;
        }
        if (b[0] >= I->width - eps || b[1] >= I->height - eps || b[0] + b[2] <= eps ||
            b[1] + b[3] <= eps) {
            rc = rk_errf(err, RK_EFORMAT,
                         "%s: annotation id %lld: bbox [%g, %g, %g, %g] lies entirely outside "
                         "image id %lld (%dx%d)",
                         what, (long long)a->id, b[0], b[1], b[2], b[3], (long long)I->id,
                         I->width, I->height);
            goto done;
        }
        double in[4];
        noutside += rk_coco_box_clip(b, I, in);
        if (!(a->area > 0)) {
            rc = rk_errf(err, RK_EFORMAT, "%s: annotation id %lld: area must be positive", what,
                         (long long)a->id);
            goto done;
        }
    }
done:
    free(aid);
    c->noutside = rc ? 0 : noutside;
    return rc;
}

/* ---- parsing ---- */
static int get_int(const cJSON *o, const char *key, int64_t *out, int required)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) return required ? -1 : 1;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        fabs(v->valuedouble) > 9007199254740992.0)
        return -2;
    *out = (int64_t)v->valuedouble;
    return 0;
}

/* "what: images[3] (id 7): key 'width' ..." */
static int field_err(rk_err *err, const char *path, const char *arr, size_t i, int64_t id,
                     int have_id, const char *key, int why)
{
    char where[96];
    if (have_id)
        snprintf(where, sizeof where, "%s[%zu] (id %lld)", arr, i, (long long)id);
    else
        snprintf(where, sizeof where, "%s[%zu]", arr, i);
    return rk_errf(err, RK_EFORMAT, "%s: %s: %s '%s'", path, where,
                   why == -1 ? "missing key" : "expected an integer for", key);
}

static int parse(rk_coco *c, const cJSON *root, const char *path, rk_err *err)
{
    if (!cJSON_IsObject(root))
        return rk_errf(err, RK_EFORMAT, "%s: top level must be a JSON object", path);
    const cJSON *imgs = cJSON_GetObjectItemCaseSensitive(root, "images");
    const cJSON *anns = cJSON_GetObjectItemCaseSensitive(root, "annotations");
    const cJSON *cats = cJSON_GetObjectItemCaseSensitive(root, "categories");
    if (!cJSON_IsArray(imgs)) return rk_errf(err, RK_EFORMAT, "%s: missing array 'images'", path);
    if (!cJSON_IsArray(anns))
        return rk_errf(err, RK_EFORMAT, "%s: missing array 'annotations'", path);
    if (!cJSON_IsArray(cats))
        return rk_errf(err, RK_EFORMAT, "%s: missing array 'categories'", path);
    size_t ni = (size_t)cJSON_GetArraySize(imgs), na = (size_t)cJSON_GetArraySize(anns),
           nc = (size_t)cJSON_GetArraySize(cats);
    c->images = calloc(ni + 1, sizeof *c->images);
    c->anns = calloc(na + 1, sizeof *c->anns);
    c->cats = calloc(nc + 1, sizeof *c->cats);
    if (!c->images || !c->anns || !c->cats) return rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
    size_t i = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, imgs)
    {
        rk_coco_image *im = &c->images[i];
        int64_t v;
        int r;
        if (!cJSON_IsObject(o))
            return rk_errf(err, RK_EFORMAT, "%s: images[%zu] is not an object", path, i);
        if ((r = get_int(o, "id", &v, 1))) return field_err(err, path, "images", i, 0, 0, "id", r);
        im->id = v;
        if ((r = get_int(o, "width", &v, 1)) || v <= 0 || v > 1 << 20)
            return r ? field_err(err, path, "images", i, im->id, 1, "width", r)
                     : rk_errf(err, RK_EFORMAT, "%s: image id %lld: width must be positive", path,
                               (long long)im->id);
        im->width = (int)v;
        if ((r = get_int(o, "height", &v, 1)) || v <= 0 || v > 1 << 20)
            return r ? field_err(err, path, "images", i, im->id, 1, "height", r)
                     : rk_errf(err, RK_EFORMAT, "%s: image id %lld: height must be positive",
                               path, (long long)im->id);
        im->height = (int)v;
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(o, "file_name");
        if (!cJSON_IsString(fn) || !fn->valuestring[0])
            return rk_errf(err, RK_EFORMAT, "%s: image id %lld: missing string 'file_name'", path,
                           (long long)im->id);
        if (!inside(fn->valuestring))
            return rk_errf(err, RK_EFORMAT, "%s: image id %lld: file_name '%.200s' leaves the "
                           "images folder (an absolute path or a '..' part): refused", path,
                           (long long)im->id, fn->valuestring);
        im->file_name = strdup(fn->valuestring);
        if (!im->file_name) return rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
        c->nimages = ++i;
    }
    i = 0;
    cJSON_ArrayForEach(o, cats)
    {
        rk_coco_cat *ct = &c->cats[i];
        int64_t v;
        int r;
        if (!cJSON_IsObject(o))
            return rk_errf(err, RK_EFORMAT, "%s: categories[%zu] is not an object", path, i);
        if ((r = get_int(o, "id", &v, 1)) || v < -2147483647 || v > 2147483647)
            return field_err(err, path, "categories", i, 0, 0, "id", r ? r : -2);
        ct->id = (int)v;
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "name");
        ct->name = strdup(cJSON_IsString(nm) ? nm->valuestring : "");
        if (!ct->name) return rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
        c->ncats = ++i;
    }
    i = 0;
    cJSON_ArrayForEach(o, anns)
    {
        rk_coco_ann *a = &c->anns[i];
        int64_t v;
        int r;
        if (!cJSON_IsObject(o))
            return rk_errf(err, RK_EFORMAT, "%s: annotations[%zu] is not an object", path, i);
        if ((r = get_int(o, "id", &v, 1)))
            return field_err(err, path, "annotations", i, 0, 0, "id", r);
        a->id = v;
        if ((r = get_int(o, "image_id", &v, 1)))
            return field_err(err, path, "annotations", i, a->id, 1, "image_id", r);
        a->image_id = v;
        if ((r = get_int(o, "category_id", &v, 1)) || v < -2147483647 || v > 2147483647)
            return field_err(err, path, "annotations", i, a->id, 1, "category_id", r ? r : -2);
        a->category_id = (int)v;
        v = 0;
        if ((r = get_int(o, "iscrowd", &v, 0)) < 0 || v < 0 || v > 1)
            return rk_errf(err, RK_EFORMAT, "%s: annotation id %lld: 'iscrowd' must be 0 or 1",
                           path, (long long)a->id);
        a->iscrowd = (int)v;
        const cJSON *bb = cJSON_GetObjectItemCaseSensitive(o, "bbox");
        if (!cJSON_IsArray(bb) || cJSON_GetArraySize(bb) != 4)
            return rk_errf(err, RK_EFORMAT, "%s: annotation id %lld: 'bbox' must be [x, y, w, h]",
                           path, (long long)a->id);
        for (int k = 0; k < 4; k++) {
            const cJSON *x = cJSON_GetArrayItem(bb, k);
            if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble))
                return rk_errf(err, RK_EFORMAT, "%s: annotation id %lld: bbox[%d] is not a number",
                               path, (long long)a->id, k);
            a->bbox[k] = x->valuedouble;
        }
        const cJSON *ar = cJSON_GetObjectItemCaseSensitive(o, "area");
        if (ar && !cJSON_IsNumber(ar))
            return rk_errf(err, RK_EFORMAT, "%s: annotation id %lld: 'area' is not a number", path,
                           (long long)a->id);
        a->area = ar ? ar->valuedouble : a->bbox[2] * a->bbox[3];
        c->nanns = ++i;
    }
    return rk_coco_index(c, path, err);
}

int rk_coco_load(rk_coco *c, const char *path, rk_err *err)
{
    memset(c, 0, sizeof *c);
    char *text;
    size_t n;
    int rc = rk_read_file(path, &text, &n, err);
    if (rc) return rc;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    if (!root) {
        int line, col;
        size_t off = end ? (size_t)(end - text) : 0;
        if (!end && cJSON_GetErrorPtr()) off = (size_t)(cJSON_GetErrorPtr() - text);
        rk_text_position(text, off, &line, &col);
        free(text);
        return rk_errf(err, RK_EFORMAT, "%s:%d:%d: malformed JSON", path, line, col);
    }
    rc = parse(c, root, path, err);
    cJSON_Delete(root);
    free(text);
    if (rc) rk_coco_free(c);
    return rc;
}

/* ---- writing ---- */
static void put_num(FILE *f, double v)
{
    if (v == floor(v) && fabs(v) < 1e15)
        fprintf(f, "%.0f", v);
    else
        fprintf(f, "%.17g", v);
}

static void put_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

int rk_coco_save(const rk_coco *c, const char *path, rk_err *err)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return rk_errf(err, RK_EINVAL, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return rk_file_replace(f, tmp, path, err);
    fputs("{\"images\": [", f);
    for (size_t i = 0; i < c->nimages; i++) {
        const rk_coco_image *im = &c->images[i];
        fprintf(f, "%s\n  {\"id\": %lld, \"file_name\": ", i ? "," : "", (long long)im->id);
        put_str(f, im->file_name);
        fprintf(f, ", \"width\": %d, \"height\": %d}", im->width, im->height);
    }
    fputs("],\n\"annotations\": [", f);
    for (size_t i = 0; i < c->nanns; i++) {
        const rk_coco_ann *a = &c->anns[i];
        fprintf(f, "%s\n  {\"id\": %lld, \"image_id\": %lld, \"category_id\": %d, \"bbox\": [",
                i ? "," : "", (long long)a->id, (long long)a->image_id, a->category_id);
        for (int k = 0; k < 4; k++) {
            if (k) fputs(", ", f);
            put_num(f, a->bbox[k]);
        }
        fputs("], \"area\": ", f);
        put_num(f, a->area);
        fprintf(f, ", \"iscrowd\": %d}", a->iscrowd);
    }
    fputs("],\n\"categories\": [", f);
    for (size_t i = 0; i < c->ncats; i++) {
        fprintf(f, "%s\n  {\"id\": %d, \"name\": ", i ? "," : "", c->cats[i].id);
        put_str(f, c->cats[i].name);
        fputc('}', f);
    }
    fputs("]}\n", f);
    return rk_file_replace(f, tmp, path, err);
}
