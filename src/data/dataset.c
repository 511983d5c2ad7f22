/* Datasets in memory: a COCO dataset with every image decoded once (the decode cache), a
 * folder of source images (JPEG or PNG) with optional labels, and nested labelled fractions
 * (the chosen ids hashed with rk_sha256_hex). Loading is all-or-nothing: on any error the output is left
 * empty. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "rethink/data.h"

/* Decodes files[i] (under dir) into images[i] for i < n, in parallel; the first error
 * (lowest index) wins so the message does not depend on scheduling. */
static int decode_all(rk_image *images, size_t n, const char *dir, const char *const *files,
                      const int *want_w, const int *want_h, const int64_t *ids, int threads,
                      rk_err *err)
{
    long bad = -1;
    rk_err first = {0};
#pragma omp parallel for schedule(dynamic, 32) num_threads(threads > 0 ? threads : 1)
    for (long i = 0; i < (long)n; i++) {
        char path[4200];
        rk_err e = {0};
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        /* the size checked before decoding: a header claiming 65500 x 65500 allocates
         * nothing */
        int rc = rk_image_load_sized(&images[i], path, 3, want_w ? want_w[i] : 0,
                                    want_h ? want_h[i] : 0, &e);
        if (rc && ids) {
            char msg[sizeof e.msg];
            memcpy(msg, e.msg, sizeof msg);
            rk_errf(&e, rc, "%.400s (image id %lld)", msg, (long long)ids[i]);
        }
        if (rc) {
#pragma omp critical
            if (bad < 0 || i < bad) bad = i, first = e;
        }
    }
    if (bad >= 0) {
        if (err) *err = first;
        return first.rc;
    }
    return RK_OK;
}

void rk_dataset_free(rk_dataset *d)
{
    if (!d) return;
    if (d->images)
        for (size_t i = 0; i < d->coco.nimages; i++) rk_image_free(&d->images[i]);
    free(d->images);
    rk_coco_free(&d->coco);
    memset(d, 0, sizeof *d);
}

int rk_dataset_select(rk_dataset *out, const rk_dataset *d, const size_t *idx, size_t n,
                      rk_err *err)
{
    memset(out, 0, sizeof *out);
    const rk_coco *c = &d->coco;
    rk_coco *o = &out->coco;
    char *keep = calloc(c->nimages + 1, 1);
    o->images = calloc(n + 1, sizeof *o->images);
    out->images = calloc(n + 1, sizeof *out->images);
    o->cats = calloc(c->ncats + 1, sizeof *o->cats);
    o->anns = malloc((c->nanns + 1) * sizeof *o->anns);
    int rc = keep && o->images && out->images && o->cats && o->anns
                 ? RK_OK
                 : rk_errf(err, RK_ENOMEM, "dataset select: out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        const rk_coco_image *ci = &c->images[idx[i]];
        const rk_image *im = &d->images[idx[i]];
        keep[idx[i]] = 1;
        o->images[i] = *ci;
        o->images[i].file_name = strdup(ci->file_name);
        o->nimages++;
        if (!o->images[i].file_name) rc = rk_errf(err, RK_ENOMEM, "dataset select: out of memory");
        if (!rc && !(rc = rk_image_alloc(&out->images[i], im->w, im->h, im->c, err)))
            memcpy(out->images[i].px, im->px, (size_t)im->w * (size_t)im->h * (size_t)im->c);
    }
    for (size_t k = 0; !rc && k < c->ncats; k++) {
        o->cats[k] = (rk_coco_cat){c->cats[k].id, strdup(c->cats[k].name)};
        o->ncats++;
        if (!o->cats[k].name) rc = rk_errf(err, RK_ENOMEM, "dataset select: out of memory");
    }
    for (size_t a = 0; !rc && a < c->nanns; a++) {
        long at = rk_coco_image_index(c, c->anns[a].image_id);
        if (at >= 0 && keep[at]) o->anns[o->nanns++] = c->anns[a];
    }
    if (!rc) rc = rk_coco_index(o, "dataset selection", err);
    free(keep);
    if (rc) rk_dataset_free(out);
    return rc;
}

int rk_dataset_load(rk_dataset *d, const char *images_dir, const char *ann_path, int threads,
                    rk_err *err)
{
    memset(d, 0, sizeof *d);
    int rc = rk_coco_load(&d->coco, ann_path, err);
    if (rc) return rc;
    size_t n = d->coco.nimages;
    d->images = calloc(n + 1, sizeof *d->images);
    const char **files = malloc((n + 1) * sizeof *files);
    int *w = malloc((n + 1) * sizeof *w), *h = malloc((n + 1) * sizeof *h);
    int64_t *ids = malloc((n + 1) * sizeof *ids);
    if (!d->images || !files || !w || !h || !ids) {
        rc = rk_errf(err, RK_ENOMEM, "%s: out of memory", ann_path);
    } else {
        for (size_t i = 0; i < n; i++) {
            files[i] = d->coco.images[i].file_name;
            w[i] = d->coco.images[i].width, h[i] = d->coco.images[i].height;
            ids[i] = d->coco.images[i].id;
        }
        rc = decode_all(d->images, n, images_dir, files, w, h, ids, threads, err);
    }
    free(files), free(w), free(h), free(ids);
    if (rc) rk_dataset_free(d);
    return rc;
}

void rk_source_free(rk_source *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->files ? s->files[i] : NULL);
        if (s->images) rk_image_free(&s->images[i]);
    }
    free(s->files), free(s->labels), free(s->images);
    memset(s, 0, sizeof *s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Which files of a source folder are its images: by name, since a folder holds other files
 * (labels.csv, card.json); how each is decoded is then told by its content. */
static int is_image_name(const char *n)
{
    size_t l = strlen(n);
    const char *e = l > 4 ? n + l - 4 : "";
    const char *e5 = l > 5 ? n + l - 5 : "";
    return !strcasecmp(e, ".jpg") || !strcasecmp(e, ".png") || !strcasecmp(e5, ".jpeg");
}

static long find_file(const rk_source *s, const char *name)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s->files[mid], name);
        if (!c) return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int read_labels(rk_source *s, const char *path, rk_err *err)
{
    char *text;
    size_t n;
    int rc = rk_read_file(path, &text, &n, err);
    if (rc) return rc;
    int line = 0;
    char *save = NULL;
    for (char *ln = strtok_r(text, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        line++;
        size_t l = strlen(ln);
        if (l && ln[l - 1] == '\r') ln[--l] = 0;
        if (line == 1 && !strncmp(ln, "file_name", 9)) continue; /* header */
        if (!l) continue;
        char *comma = strchr(ln, ',');
        char *end;
        long cls = comma ? strtol(comma + 1, &end, 10) : -1;
        if (!comma || end == comma + 1 || (*end && *end != ',') || cls < 0 || cls > 1000000) {
            rc = rk_errf(err, RK_EFORMAT, "%s:%d: expected 'file_name,class_id[,class_name]'",
                         path, line);
            break;
        }
        *comma = 0;
        long i = find_file(s, ln);
        if (i < 0) {
            rc = rk_errf(err, RK_EFORMAT, "%s:%d: no image '%s' in the source folder", path, line, ln);
            break;
        }
        if (s->labels[i] >= 0) {
            rc = rk_errf(err, RK_EFORMAT, "%s:%d: '%s' is labelled twice", path, line, ln);
            break;
        }
        s->labels[i] = (int)cls;
    }
    free(text);
    return rc;
}

int rk_source_load(rk_source *s, const char *dir, const char *labels_path, int threads,
                   rk_err *err)
{
    memset(s, 0, sizeof *s);
    DIR *d = opendir(dir);
    if (!d) return rk_errf(err, RK_EIO, "%s: cannot open folder: %s", dir, strerror(errno));
    size_t cap = 0;
    int rc = RK_OK;
    for (struct dirent *e; (e = readdir(d));) {
        if (!is_image_name(e->d_name)) continue;
        if (s->n == cap) {
            cap = cap ? 2 * cap : 1024;
            char **f = realloc(s->files, cap * sizeof *f);
            if (!f) {
                rc = rk_errf(err, RK_ENOMEM, "%s: out of memory", dir);
                break;
            }
            s->files = f;
        }
        if (!(s->files[s->n] = strdup(e->d_name))) {
            rc = rk_errf(err, RK_ENOMEM, "%s: out of memory", dir);
            break;
        }
        s->n++;
    }
    closedir(d);
    if (!rc && s->n == 0) rc = rk_errf(err, RK_EFORMAT, "%s: no .jpg or .png images in the folder", dir);
    if (!rc) {
        qsort(s->files, s->n, sizeof *s->files, cmp_str);
        s->labels = malloc(s->n * sizeof *s->labels);
        s->images = calloc(s->n, sizeof *s->images);
        if (!s->labels || !s->images) rc = rk_errf(err, RK_ENOMEM, "%s: out of memory", dir);
    }
    if (!rc) {
        for (size_t i = 0; i < s->n; i++) s->labels[i] = -1;
        if (labels_path) rc = read_labels(s, labels_path, err);
    }
    if (!rc)
        rc = decode_all(s->images, s->n, dir, (const char *const *)s->files, NULL, NULL, NULL,
                        threads, err);
    if (rc) rk_source_free(s);
    return rc;
}

/* ---- a dataset's content fingerprint ---- */
typedef struct {
    char *text;
    size_t n, cap;
} manifest;

static int manifest_add(manifest *m, const char *line, rk_err *err)
{
    size_t l = strlen(line);
    if (m->n + l + 1 > m->cap) {
        size_t cap = (m->n + l + 1) * 2;
        char *t = realloc(m->text, cap);
        if (!t) return rk_errf(err, RK_ENOMEM, "dataset fingerprint: out of memory");
        m->text = t, m->cap = cap;
    }
    memcpy(m->text + m->n, line, l + 1);
    m->n += l;
    return RK_OK;
}

static int is_table_name(const char *n)
{
    size_t l = strlen(n);
    return l > 4 && (!strcasecmp(n + l - 4, ".csv") || (l > 5 && !strcasecmp(n + l - 5, ".json")));
}

/* Adds one line per regular file of dir/sub (sorted): a missing subfolder adds nothing. */
static int manifest_folder(manifest *m, const char *dir, const char *sub, int *found,
                           rk_err *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    DIR *d = opendir(path);
    if (!d) return errno == ENOENT || errno == ENOTDIR
                       ? RK_OK
                       : rk_errf(err, RK_EIO, "%s: cannot open folder: %s", path, strerror(errno));
    *found = 1;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = RK_OK;
    for (struct dirent *e; !rc && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            char **t = realloc(names, cap * sizeof *t);
            if (!t) {
                rc = rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
                break;
            }
            names = t;
        }
        if (!(names[n] = strdup(e->d_name))) rc = rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
        else n++;
    }
    closedir(d);
    if (!rc && n) qsort(names, n, sizeof *names, cmp_str); /* an empty folder: names NULL */
    for (size_t i = 0; i < n && !rc; i++) {
        char f[4500], line[4700], sha[65];
        snprintf(f, sizeof f, "%s/%s", path, names[i]);
        struct stat st;
        if (stat(f, &st)) {
            rc = rk_errf(err, RK_EIO, "%s: %s", f, strerror(errno));
        } else if (!S_ISREG(st.st_mode)) {
            continue;
        } else if (is_table_name(names[i]) || !strncmp(sub, RK_SEG_DIR "/", strlen(RK_SEG_DIR) + 1)) {
            /* segmentation label maps are labels, as the annotation files are: their bytes */
            if (!(rc = rk_sha256_file(f, sha, err)))
                snprintf(line, sizeof line, "%s/%s sha256 %s\n", sub, names[i], sha);
        } else {
            snprintf(line, sizeof line, "%s/%s bytes %lld\n", sub, names[i], (long long)st.st_size);
        }
        if (!rc) rc = manifest_add(m, line, err);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

int rk_dataset_fingerprint(const char *dir, char hex[65], rk_err *err)
{
    static const char *const SUB[] = {"annotations", "source", "train", "val"};
    /* label maps (model.task = segment): a folder that is missing adds nothing, so a dataset
     * without them keeps the fingerprint it had before they existed */
    static const char *const SEG[] = {RK_SEG_DIR "/train", RK_SEG_DIR "/val"};
    manifest m = {0};
    int found = 0, seg = 0, rc = manifest_add(&m, "rethink dataset manifest 1\n", err);
    for (size_t i = 0; i < sizeof SUB / sizeof *SUB && !rc; i++)
        rc = manifest_folder(&m, dir, SUB[i], &found, err);
    for (size_t i = 0; i < sizeof SEG / sizeof *SEG && !rc; i++)
        rc = manifest_folder(&m, dir, SEG[i], &seg, err);
    if (!rc && !found)
        rc = rk_errf(err, RK_EFORMAT, "%s: not a dataset folder (none of annotations/, train/, "
                     "val/, source/)", dir);
    if (!rc) rk_sha256_hex(m.text, m.n, hex);
    free(m.text);
    return rc;
}

/* ---- nested fractions ---- */
typedef struct {
    uint64_t key;
    size_t idx;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

int rk_subset(const rk_coco *c, double fraction, uint64_t seed, size_t **idx, size_t *n,
              char hash[65], rk_err *err)
{
    return rk_subset_of(c, NULL, c->nimages, fraction, seed, idx, n, hash, err);
}

int rk_subset_of(const rk_coco *c, const size_t *pool, size_t npool, double fraction,
                 uint64_t seed, size_t **idx, size_t *n, char hash[65], rk_err *err)
{
    if (!(fraction > 0 && fraction <= 1))
        return rk_errf(err, RK_EINVAL, "fraction must be in (0, 1], got %g", fraction);
    size_t N = npool, k = (size_t)ceil(fraction * (double)N - 1e-9);
    if (k == 0 && N) k = 1;
    ranked *r = malloc((N + 1) * sizeof *r);
    size_t *out = malloc((k + 1) * sizeof *out);
    char *text = malloc(k * 24 + 1);
    if (!r || !out || !text) {
        free(r), free(out), free(text);
        return rk_errf(err, RK_ENOMEM, "subset: out of memory");
    }
    /* The rank key depends only on (seed, image id): adding images to a dataset does not
     * reshuffle the others, and every fraction is a prefix of the same ranking. */
    for (size_t i = 0; i < N; i++) {
        size_t at = pool ? pool[i] : i;
        rk_rng g;
        rk_rng_init(&g, seed, 0x73756273ULL, (uint64_t)c->images[at].id);
        r[i].key = rk_rng_u64(&g);
        r[i].idx = at;
    }
    qsort(r, N, sizeof *r, cmp_ranked);
    for (size_t i = 0; i < k; i++) out[i] = r[i].idx;
    qsort(out, k, sizeof *out, cmp_size);
    /* Hash the chosen ids in ascending id order. */
    int64_t *ids = (int64_t *)r; /* reuse: N >= k int64s fit in N ranked */
    for (size_t i = 0; i < k; i++) ids[i] = c->images[out[i]].id;
    qsort(ids, k, sizeof *ids, cmp_i64);
    size_t len = 0;
    for (size_t i = 0; i < k; i++) len += (size_t)sprintf(text + len, "%lld\n", (long long)ids[i]);
    rk_sha256_hex(text, len, hash);
    free(r), free(text);
    *idx = out;
    *n = k;
    return RK_OK;
}

int rk_holdout(const rk_coco *c, size_t k, size_t **dev, size_t **rest, size_t *nrest,
               rk_err *err)
{
    size_t N = c->nimages;
    if (k >= N)
        return rk_errf(err, RK_EINVAL, "held-out split of %zu images leaves none of %zu to train on",
                       k, N);
    size_t *d = NULL, nd = 0;
    char hash[65];
    /* a fixed seed of its own: the dev split is the same for every trial seed */
    int rc = k ? rk_subset(c, (double)k / (double)N, 0x646576ULL, &d, &nd, hash, err) : RK_OK;
    size_t *o = rc ? NULL : malloc((N - nd + 1) * sizeof *o);
    if (!rc && !o) rc = rk_errf(err, RK_ENOMEM, "holdout: out of memory");
    if (rc) {
        free(d), free(o);
        return rc;
    }
    size_t m = 0;
    for (size_t i = 0, j = 0; i < N; i++) {
        if (j < nd && d[j] == i) {
            j++;
            continue;
        }
        o[m++] = i;
    }
    *dev = d, *rest = o, *nrest = m;
    return RK_OK;
}
