/* Augmentation policies: parsing from key/value pairs and INI sections, the AutoAugment
 * detection policy v0 (the reference's op definitions), and rk_augment, which applies a
 * policy to one image with randomness keyed by (seed, epoch, index).
 *
 * Streams: each pipeline stage draws from its own rk_rng stream, (seed, AUG_TAG ^ (epoch*4 +
 * stage), index), so changing one stage (e.g. adding AutoAugment to S1) leaves the draws of
 * the others (flip, scale) as they were. */
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rethink/augment.h"

/* The released code's policy_v0: 5 sub-policies of 2 (op, probability, level). */
const rk_aa_step rk_autoaugment_v0[RK_AA_V0_SUBPOLICIES][2] = {
    {{RK_OP_TRANSLATE_X, 0.6, 4}, {RK_OP_EQUALIZE, 0.8, 10}},
    {{RK_OP_TRANSLATE_Y_ONLY_BBOXES, 0.2, 2}, {RK_OP_CUTOUT, 0.8, 8}},
    {{RK_OP_SHARPNESS, 0.0, 8}, {RK_OP_SHEAR_X, 0.4, 0}},
    {{RK_OP_SHEAR_Y, 1.0, 2}, {RK_OP_TRANSLATE_Y_ONLY_BBOXES, 0.6, 6}},
    {{RK_OP_ROTATE, 0.6, 10}, {RK_OP_COLOR, 1.0, 6}},
};

rk_op_consts rk_opset_consts(rk_opset s)
{
    /* autoaugment_utils.py's hparams for detection, and RandAugment's (efficientnet /
     * tf-models RandAugment.build_for_detection) defaults. */
    if (s == RK_OPSET_RANDAUGMENT) return (rk_op_consts){100, 120, 40};
    return (rk_op_consts){250, 120, 100};
}

/* ---- parsing ---- */

enum {
    K_FLIP, K_SCALE, K_PAD, K_MIN_SIZE, K_MIN_VISIBLE, K_AUTOAUGMENT, K_RANDAUGMENT, K_LEVELS,
    K_REF_SIZE, K_FILL, K_COUNT
};

static const struct {
    const char *key;
    int required;
    const char *help;
} KEYS[K_COUNT] = {
    {"flip", 1, "flip = P: probability of a horizontal flip, 0..1"},
    {"scale", 1, "scale = MIN, MAX: scale jitter range, 0 < MIN <= MAX <= 10"},
    {"pad", 1, "pad = V or pad = R, G, B: value of pixels the crop leaves uncovered, 0..255"},
    {"min_size", 1, "min_size = PX: drop boxes narrower or lower than PX pixels, 0..1e6"},
    {"min_visible", 1, "min_visible = F: drop boxes with less than F of their area visible, 0..1"},
    {"autoaugment", 0, "autoaugment = v0: AutoAugment detection policy v0"},
    {"randaugment", 0, "randaugment = N, M: N ops (1..8) per image at magnitude M (0..30)"},
    {"levels", 0, "levels = tf | increasing: level to argument mapping"},
    {"ref_size", 0, "ref_size = PX: image side the reference's pixel constants refer to, > 0"},
    {"fill", 0, "fill = V: grey of pixels geometric ops uncover and of Cutout, 0..255"},
};

static int where(char *buf, size_t cap, const rk_kv *kv, const char *name)
{
    if (kv && kv->file && kv->line > 0)
        return snprintf(buf, cap, "%s:%d: [augment.%s]", kv->file, kv->line, name);
    if (kv && kv->file) return snprintf(buf, cap, "%s: [augment.%s]", kv->file, name);
    return snprintf(buf, cap, "[augment.%s]", name);
}

static int bad_value(rk_err *err, const rk_kv *kv, const char *name, int k)
{
    char w[300];
    where(w, sizeof w, kv, name);
    return rk_errf(err, RK_EINVAL, "%s key '%s': bad value '%s' (expected %s)", w, kv->key,
                   kv->value, KEYS[k].help);
}

/* Parses up to `max` comma-separated numbers; returns how many, or -1 on junk. */
static int parse_numbers(const char *s, double *out, int max)
{
    int n = 0;
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        if (n == max) return -1;
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !isfinite(v)) return -1;
        out[n++] = v;
        p = end;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == 0) return n;
        if (*p != ',') return -1;
        p++;
    }
}

static int is_int(double v) { return v == floor(v); }

static int parse_one(rk_policy *p, int k, const rk_kv *kv, const char *name, rk_err *err)
{
    double v[3];
    int n;
    const char *s = kv->value;
    switch (k) {
    case K_FLIP:
        if (parse_numbers(s, v, 1) != 1 || v[0] < 0 || v[0] > 1) break;
        p->flip = v[0];
        return RK_OK;
    case K_SCALE:
        if (parse_numbers(s, v, 2) != 2 || !(v[0] > 0) || v[0] > v[1] || v[1] > 10) break;
        p->scale_min = v[0], p->scale_max = v[1];
        return RK_OK;
    case K_PAD:
        n = parse_numbers(s, v, 3);
        if (n != 1 && n != 3) break;
        if (n == 1) v[1] = v[2] = v[0];
        if (!is_int(v[0]) || !is_int(v[1]) || !is_int(v[2])) break;
        if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[0] > 255 || v[1] > 255 || v[2] > 255) break;
        for (int c = 0; c < 3; c++) p->pad[c] = (uint8_t)v[c];
        return RK_OK;
    case K_MIN_SIZE:
        if (parse_numbers(s, v, 1) != 1 || v[0] < 0 || v[0] > 1e6) break;
        p->min_size = v[0];
        return RK_OK;
    case K_MIN_VISIBLE:
        if (parse_numbers(s, v, 1) != 1 || v[0] < 0 || v[0] > 1) break;
        p->min_visible = v[0];
        return RK_OK;
    case K_AUTOAUGMENT:
        if (strcmp(s, "v0") != 0) break;
        p->opset = RK_OPSET_AUTOAUGMENT_V0;
        return RK_OK;
    case K_RANDAUGMENT:
        if (parse_numbers(s, v, 2) != 2 || !is_int(v[0]) || v[0] < 1 || v[0] > RK_RA_MAX_N ||
            v[1] < 0 || v[1] > 30)
            break;
        p->opset = RK_OPSET_RANDAUGMENT;
        p->ra_n = (int)v[0], p->ra_m = v[1];
        return RK_OK;
    case K_LEVELS:
        if (!strcmp(s, "tf")) p->levels = RK_LEVELS_TF;
        else if (!strcmp(s, "increasing")) p->levels = RK_LEVELS_INCREASING;
        else break;
        return RK_OK;
    case K_REF_SIZE:
        if (parse_numbers(s, v, 1) != 1 || !(v[0] > 0) || v[0] > 1e5) break;
        p->ref_size = v[0];
        return RK_OK;
    case K_FILL:
        if (parse_numbers(s, v, 1) != 1 || !is_int(v[0]) || v[0] < 0 || v[0] > 255) break;
        p->fill = (uint8_t)v[0];
        return RK_OK;
    }
    return bad_value(err, kv, name, k);
}

int rk_policy_parse(rk_policy *p, const char *name, const rk_kv *kv, size_t n, rk_err *err)
{
    memset(p, 0, sizeof *p);
    p->levels = RK_LEVELS_TF;
    p->ref_size = 640;
    p->fill = 128;
    if (strlen(name) >= sizeof p->name)
        return rk_errf(err, RK_EINVAL, "augment policy name '%s' is too long (max %zu)", name,
                       sizeof p->name - 1);
    strcpy(p->name, name);
    const rk_kv *seen[K_COUNT] = {0};
    char w[300];
    for (size_t i = 0; i < n; i++) {
        int k = 0;
        while (k < K_COUNT && strcmp(kv[i].key, KEYS[k].key) != 0) k++;
        where(w, sizeof w, &kv[i], name);
        if (k == K_COUNT) {
            char known[400] = "";
            for (int j = 0; j < K_COUNT; j++)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                         j ? ", " : "", KEYS[j].key);
            return rk_errf(err, RK_EINVAL, "%s unknown key '%s' (known keys: %s)", w,
                           kv[i].key, known);
        }
        if (seen[k])
            return rk_errf(err, RK_EINVAL, "%s key '%s' given twice (first at line %d)", w,
                           kv[i].key, seen[k]->line);
        seen[k] = &kv[i];
        int rc = parse_one(p, k, &kv[i], name, err);
        if (rc) return rc;
    }
    if (seen[K_AUTOAUGMENT] && seen[K_RANDAUGMENT]) {
        where(w, sizeof w, seen[K_RANDAUGMENT], name);
        return rk_errf(err, RK_EINVAL, "%s keys 'autoaugment' and 'randaugment' exclude each "
                       "other: a policy has at most one op policy", w);
    }
    for (int k = 0; k < K_COUNT; k++)
        if (KEYS[k].required && !seen[k]) {
            rk_kv at = {.file = n ? kv[0].file : NULL};
            where(w, sizeof w, &at, name);
            return rk_errf(err, RK_EINVAL, "%s missing key '%s' (%s)", w, KEYS[k].key,
                           KEYS[k].help);
        }
    return RK_OK;
}

/* ---- INI files ---- */

int rk_policy_load_ini(rk_policy *p, const char *path, const char *name, rk_err *err)
{
    char section[128];
    if (snprintf(section, sizeof section, "augment.%s", name) >= (int)sizeof section)
        return rk_errf(err, RK_EINVAL, "augment policy name '%s' is too long", name);
    rk_ini_item *it;
    size_t n;
    int rc = rk_ini_read(path, &it, &n, err);
    if (rc) return rc;
    rk_kv *kv = malloc((n ? n : 1) * sizeof *kv);
    char others[256] = "";
    size_t k = 0;
    int found = 0;
    if (!kv) {
        rk_ini_free(it, n);
        return rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
    }
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(it[i].section, section)) {
            found = 1;
            kv[k++] = (rk_kv){it[i].key, it[i].value, path, it[i].line};
        } else if (!strncmp(it[i].section, "augment.", 8) && !strstr(others, it[i].section + 8) &&
                   strlen(others) + strlen(it[i].section) + 3 < sizeof others) {
            snprintf(others + strlen(others), sizeof others - strlen(others), "%s%s",
                     others[0] ? ", " : "", it[i].section + 8);
        }
    }
    if (!found)
        rc = rk_errf(err, RK_EINVAL, "%s: no section [augment.%s] (policies in this file: %s)",
                     path, name, others[0] ? others : "none");
    else
        rc = rk_policy_parse(p, name, kv, k, err);
    free(kv);
    rk_ini_free(it, n);
    return rc;
}

/* ---- applying a policy ---- */

#define AUG_TAG 0x4155474D454E5400ULL /* "AUGMENT" */
enum { STAGE_OPS, STAGE_FLIP, STAGE_SCALE };

static void stage_rng(rk_rng *r, uint64_t seed, uint64_t epoch, uint64_t index, int stage)
{
    rk_rng_init(r, seed, AUG_TAG ^ (epoch * 4 + (uint64_t)stage), index);
}

typedef struct apply_ctx {
    const rk_policy *p;
    rk_op_consts consts;
    double px_scale;
    rk_image *im;
    rk_box *boxes;
    size_t n;
    rk_rng *r;
    uint8_t *tmp;
    rk_aug_trace *trace;
} apply_ctx;

/* Resolves op's argument at `level` (random sign where the op has one) and applies it. */
static void apply_op(apply_ctx *c, rk_op op, double level, double box_prob)
{
    double arg = rk_op_arg(op, level, c->p->levels, &c->consts, c->px_scale);
    if (rk_op_signed(op, c->p->levels) && rk_rng_uniform(c->r) < 0.5f) {
        if (c->p->levels == RK_LEVELS_INCREASING &&
            (op == RK_OP_COLOR || op == RK_OP_CONTRAST || op == RK_OP_BRIGHTNESS ||
             op == RK_OP_SHARPNESS))
            arg = fmax(0.1, 2.0 - arg); /* 1 - (arg - 1), floored as timm does */
        else if (arg != 0)
            arg = -arg; /* never -0: traces print as the argument was */
    }
    rk_op_apply(op, arg, c->im, c->boxes, c->n, c->p->fill, box_prob, c->r, c->tmp);
    if (c->trace && c->trace->nops < 8) {
        c->trace->ops[c->trace->nops] = op;
        c->trace->args[c->trace->nops++] = arg;
    }
}

int rk_augment(const rk_policy *p, const rk_image *in, const rk_box *boxes, size_t n,
               uint64_t seed, uint64_t epoch, uint64_t index, rk_image *out, rk_box *out_boxes,
               size_t *out_n, rk_aug_trace *trace, rk_err *err)
{
    if (!in->px || in->c != 3)
        return rk_errf(err, RK_EINVAL, "augment: input image must be RGB (got %d channels)", in->c);
    if (!out->px || out->c != 3)
        return rk_errf(err, RK_EINVAL, "augment: output image must be allocated RGB");
    rk_image work = {in->w, in->h, 3, malloc((size_t)in->w * in->h * 3)};
    uint8_t *tmp = malloc(rk_op_tmp_size(in->w, in->h, n));
    if (!work.px || !tmp) {
        free(work.px), free(tmp);
        return rk_errf(err, RK_ENOMEM, "augment: out of memory (%dx%d image)", in->w, in->h);
    }
    memcpy(work.px, in->px, (size_t)in->w * in->h * 3);
    for (size_t i = 0; i < n; i++) {
        out_boxes[i] = boxes[i];
        out_boxes[i].vis = 1;
    }
    rk_aug_trace tr = {.subpolicy = -1};
    rk_rng r;

    /* 1. op policy, on the input image as the reference does (before flip and resize);
     * pixel constants scale with the image's longer side over ref_size. */
    stage_rng(&r, seed, epoch, index, STAGE_OPS);
    apply_ctx c = {p, rk_opset_consts(p->opset), fmax(in->w, in->h) / p->ref_size, &work,
                   out_boxes, n, &r, tmp, &tr};
    if (p->opset == RK_OPSET_AUTOAUGMENT_V0) {
        tr.subpolicy = (int)(rk_rng_u64(&r) % RK_AA_V0_SUBPOLICIES);
        for (int k = 0; k < 2; k++) {
            const rk_aa_step *s = &rk_autoaugment_v0[tr.subpolicy][k];
            /* _Only_BBoxes ops always run; each box gets its own coin at prob / 3. */
            if (s->op == RK_OP_TRANSLATE_Y_ONLY_BBOXES)
                apply_op(&c, s->op, s->level, s->prob / 3.0);
            else if (rk_rng_uniform(&r) < s->prob)
                apply_op(&c, s->op, s->level, 0);
        }
    } else if (p->opset == RK_OPSET_RANDAUGMENT) {
        for (int k = 0; k < p->ra_n; k++) {
            rk_op op = (rk_op)(rk_rng_u64(&r) % RK_RANDAUGMENT_OPS);
            apply_op(&c, op, p->ra_m, 0);
        }
    }

    /* 2. horizontal flip */
    stage_rng(&r, seed, epoch, index, STAGE_FLIP);
    if (rk_rng_uniform(&r) < p->flip) {
        rk_aug_hflip(&work, out_boxes, n);
        tr.flipped = 1;
    }

    /* 3. scale jitter: resize, crop, pad */
    stage_rng(&r, seed, epoch, index, STAGE_SCALE);
    double s = p->scale_min + (p->scale_max - p->scale_min) * rk_rng_uniform(&r);
    double ux = rk_rng_uniform(&r), uy = rk_rng_uniform(&r);
    tr.scale = s;
    tr.jitter = rk_aug_jitter_geometry(in->w, in->h, out->w, out->h, s, ux, uy);
    rk_aug_resize_crop(&work, out, tr.jitter, p->pad, out_boxes, n);

    /* 4. the box rule */
    *out_n = rk_boxes_filter(out_boxes, n, p->min_size, p->min_visible);
    if (trace) *trace = tr;
    free(work.px);
    free(tmp);
    return RK_OK;
}
