/* COCO results files (detections): read, check against ground truth, write.
 *
 * The top-level array is tokenised here and each entry is parsed by cJSON on its own
 * (cJSON_ParseWithLengthOpts stops after one value), so a file of 500,000 detections never
 * becomes one cJSON tree and every entry error can name its line and column.
 *
 * Numbers are written in the shortest form that reads back as the same double.
 *
 * Invariants after a successful rk_dets_load / rk_dets_check with ground truth: every
 * image_id and category_id exists in it, every bbox is 4 finite numbers with w, h >= 0,
 * every score is finite. Those are exactly the preconditions of rk_coco_eval. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rethink/eval.h"

/* Why detection d is unacceptable (written into why), or 0 if it is fine. */
static int check_one(const rk_det *d, const rk_coco *gt, char *why, size_t n)
{
    const double *b = d->bbox;
    if (gt && rk_coco_image_index(gt, d->image_id) < 0) {
        snprintf(why, n, "image_id %lld is not an image of the ground truth",
                 (long long)d->image_id);
        return 1;
    }
    if (gt && rk_coco_cat_index(gt, d->category_id) < 0) {
        snprintf(why, n, "category_id %d is not a category of the ground truth", d->category_id);
        return 1;
    }
    if (!isfinite(b[0]) || !isfinite(b[1]) || !isfinite(b[2]) || !isfinite(b[3])) {
        snprintf(why, n, "bbox [%g, %g, %g, %g] is not finite", b[0], b[1], b[2], b[3]);
        return 1;
    }
    if (b[2] < 0 || b[3] < 0) {
        snprintf(why, n, "bbox [%g, %g, %g, %g] has negative size (expected [x, y, w, h])",
                 b[0], b[1], b[2], b[3]);
        return 1;
    }
    if (!isfinite(d->score)) {
        snprintf(why, n, "score %g is not finite", d->score);
        return 1;
    }
    return 0;
}

int rk_dets_check(const rk_det *dets, size_t n, const rk_coco *gt, const char *what,
                  rk_err *err)
{
    char why[256];
    for (size_t i = 0; i < n; i++)
        if (check_one(&dets[i], gt, why, sizeof why))
            return rk_errf(err, RK_EINVAL, "%s: detection %zu: %s", what, i, why);
    return RK_OK;
}

/* ---- reading ---- */
static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* An integral JSON number within ±2^53 (exact in a double), else -1. */
static int get_integer(const cJSON *o, const char *key, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        fabs(v->valuedouble) > 9007199254740992.0)
        return -1;
    *out = (int64_t)v->valuedouble;
    return 0;
}

/* Fills d from one parsed entry; on failure writes why. */
static int parse_entry(rk_det *d, const cJSON *o, char *why, size_t n)
{
    int64_t v;
    if (!cJSON_IsObject(o)) {
        snprintf(why, n, "is not a JSON object");
        return -1;
    }
    if (get_integer(o, "image_id", &v)) {
        snprintf(why, n, "missing or non-integer 'image_id'");
        return -1;
    }
    d->image_id = v;
    if (get_integer(o, "category_id", &v) || v < -2147483647 || v > 2147483647) {
        snprintf(why, n, "missing or non-integer 'category_id'");
        return -1;
    }
    d->category_id = (int)v;
    const cJSON *bb = cJSON_GetObjectItemCaseSensitive(o, "bbox");
    if (!cJSON_IsArray(bb) || cJSON_GetArraySize(bb) != 4) {
        snprintf(why, n, "'bbox' must be an array [x, y, w, h]");
        return -1;
    }
    for (int k = 0; k < 4; k++) {
        const cJSON *x = cJSON_GetArrayItem(bb, k);
        if (!cJSON_IsNumber(x)) {
            snprintf(why, n, "bbox[%d] is not a number", k);
            return -1;
        }
        d->bbox[k] = x->valuedouble;
    }
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "score");
    if (!cJSON_IsNumber(s)) {
        snprintf(why, n, "missing or non-numeric 'score'");
        return -1;
    }
    d->score = s->valuedouble;
    return 0;
}

static int json_error(rk_err *err, const char *path, const char *text, const char *at,
                      const char *what)
{
    int line, col;
    rk_text_position(text, (size_t)(at - text), &line, &col);
    return rk_errf(err, RK_EFORMAT, "%s:%d:%d: %s", path, line, col, what);
}

int rk_dets_load(rk_det **dets, size_t *n, const char *path, const rk_coco *gt, rk_err *err)
{
    *dets = NULL;
    *n = 0;
    char *text;
    size_t len;
    int rc = rk_read_file(path, &text, &len, err);
    if (rc) return rc;
    const char *p = text, *end = text + len;
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3; /* UTF-8 byte order mark */
    p = skip_ws(p, end);
    if (p == end || *p != '[') {
        rc = json_error(err, path, text, p, "malformed results: expected a JSON array '[' of "
                                            "detections");
        free(text);
        return rc;
    }
    p = skip_ws(p + 1, end);
    size_t cap = 1024, cnt = 0;
    rk_det *out = malloc(cap * sizeof *out);
    if (!out) {
        free(text);
        return rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
    }
    int empty = p < end && *p == ']';
    if (empty) p++;
    while (!empty) {
        const char *start = skip_ws(p, end), *stop = NULL;
        cJSON *o = cJSON_ParseWithLengthOpts(start, (size_t)(end - start), &stop, 0);
        if (!o) {
            rc = json_error(err, path, text, stop ? stop : start, "malformed JSON");
            goto fail;
        }
        if (cnt == cap) {
            rk_det *q = realloc(out, 2 * cap * sizeof *out);
            if (!q) {
                cJSON_Delete(o);
                rc = rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
                goto fail;
            }
            out = q, cap *= 2;
        }
        char why[256];
        int bad = parse_entry(&out[cnt], o, why, sizeof why) ||
                  check_one(&out[cnt], gt, why, sizeof why);
        cJSON_Delete(o);
        if (bad) {
            int line, col;
            rk_text_position(text, (size_t)(start - text), &line, &col);
            rc = rk_errf(err, RK_EFORMAT, "%s:%d:%d: detection %zu: %s", path, line, col, cnt,
                         why);
            goto fail;
        }
        cnt++;
        p = skip_ws(stop, end);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == ']') {
            p++;
            break;
        }
        rc = json_error(err, path, text, p, "malformed JSON: expected ',' or ']' after a "
                                            "detection");
        goto fail;
    }
    p = skip_ws(p, end);
    if (p != end) {
        rc = json_error(err, path, text, p, "malformed JSON: text after the closing ']'");
        goto fail;
    }
    free(text);
    *dets = out;
    *n = cnt;
    return RK_OK;
fail:
    free(text);
    free(out);
    return rc;
}

/* ---- writing ---- */

/* The shortest of %.15g, %.16g, %.17g that reads back as v (so 123.45 is written "123.45",
 * not "123.45000000000000284"): files stay small and load bit-exactly. */
static void put_num(FILE *f, double v)
{
    char s[32];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, v);
        if (strtod(s, NULL) == v) break;
    }
    fputs(s, f);
}

int rk_dets_save(const rk_det *dets, size_t n, const char *path, rk_err *err)
{
    /* JSON has no inf/nan, and a negative size would not load back. */
    int rc = rk_dets_check(dets, n, NULL, path, err);
    if (rc) return rc;
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return rk_errf(err, RK_EINVAL, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return rk_file_replace(f, tmp, path, err);
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        const rk_det *d = &dets[i];
        fprintf(f, "%s\n{\"image_id\": %lld, \"category_id\": %d, \"bbox\": [", i ? "," : "",
                (long long)d->image_id, d->category_id);
        for (int k = 0; k < 4; k++) {
            if (k) fputs(", ", f);
            put_num(f, d->bbox[k]);
        }
        fputs("], \"score\": ", f);
        put_num(f, d->score);
        fputc('}', f);
    }
    fputs("\n]\n", f);
    return rk_file_replace(f, tmp, path, err);
}
