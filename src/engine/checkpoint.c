/* Checkpoints: every tensor of a net (trainable and buffers), by name.
 *
 * Format (little-endian):
 *   "RKCKPT\0\0"  u32 version (1)  u32 ntensors
 *   per tensor:  u32 name_len, name bytes, u32 ndim, i32 dims[ndim], f32 data[numel]
 *   u32 CRC-32 (zlib) of every byte before it.
 * Written to PATH.tmp then renamed, so a crash never leaves a half-written checkpoint under
 * the real name. Loading validates everything before touching the net. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "net_internal.h"

#define MAGIC "RKCKPT\0\0"
#define VERSION 1u

typedef struct {
    unsigned char *p;
    size_t n, cap;
} wbuf;

static int put(wbuf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        size_t c = b->cap ? b->cap : 4096;
        while (c < b->n + n) c *= 2;
        unsigned char *q = realloc(b->p, c);
        if (!q) return -1;
        b->p = q, b->cap = c;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
    return 0;
}

static int put_u32(wbuf *b, uint32_t v) { return put(b, &v, 4); }

int rk_checkpoint_save(const rk_net *net, const char *path, rk_err *err)
{
    wbuf b = {0};
    int bad = put(&b, MAGIC, 8) || put_u32(&b, VERSION) || put_u32(&b, (uint32_t)net->ntensors);
    for (size_t i = 0; i < net->ntensors && !bad; i++) {
        const rk_tensor_info *t = &net->tensors[i];
        uint32_t nl = (uint32_t)strlen(t->name);
        bad = put_u32(&b, nl) || put(&b, t->name, nl) || put_u32(&b, (uint32_t)t->ndim) ||
              put(&b, t->shape, sizeof(int) * t->ndim) ||
              put(&b, net->params + t->offset, t->numel * sizeof(float));
    }
    if (!bad) bad = put_u32(&b, (uint32_t)crc32(0L, b.p, (uInt)b.n));
    if (bad) {
        free(b.p);
        return rk_errf(err, RK_ENOMEM, "%s: out of memory writing checkpoint", path);
    }
    size_t tl = strlen(path) + 5;
    char *tmp = malloc(tl);
    if (!tmp) {
        free(b.p);
        return rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
    }
    snprintf(tmp, tl, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (f) fwrite(b.p, 1, b.n, f); /* a short write sets the error flag rk_file_replace reads */
    int rc = rk_file_replace(f, tmp, path, err);
    free(tmp);
    free(b.p);
    return rc;
}

typedef struct {
    const unsigned char *p;
    size_t n, at;
} rbuf;

static int get(rbuf *r, void *dst, size_t n)
{
    if (r->n - r->at < n) return -1;
    memcpy(dst, r->p + r->at, n);
    r->at += n;
    return 0;
}

int rk_checkpoint_load(rk_net *net, const char *path, int strict, int *loaded, rk_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return rk_errf(err, RK_EIO, "%s: cannot open checkpoint: %s", path, strerror(errno));
    unsigned char *data = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 1 << 16;
            unsigned char *q = realloc(data, cap);
            if (!q) {
                free(data);
                fclose(f);
                return rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
            }
            data = q;
        }
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int ioerr = ferror(f);
    fclose(f);
    int rc = RK_OK;
    float *staged = NULL;
    char *seen = NULL;
    if (ioerr) {
        rc = rk_errf(err, RK_EIO, "%s: read error", path);
        goto done;
    }
    if (n < 20 || memcmp(data, MAGIC, 8) != 0) {
        rc = rk_errf(err, RK_EFORMAT, "%s: not a rethink checkpoint (bad magic or too short)", path);
        goto done;
    }
    uint32_t crc_file;
    memcpy(&crc_file, data + n - 4, 4);
    if ((uint32_t)crc32(0L, data, (uInt)(n - 4)) != crc_file) {
        rc = rk_errf(err, RK_EFORMAT,
                     "%s: checksum mismatch (file truncated or corrupted, %zu bytes)", path, n);
        goto done;
    }
    rbuf r = {data, n - 4, 8};
    uint32_t version, nt;
    get(&r, &version, 4);
    get(&r, &nt, 4);
    if (version != VERSION) {
        rc = rk_errf(err, RK_EFORMAT, "%s: checkpoint version %u, this build reads version %u",
                     path, version, VERSION);
        goto done;
    }
    staged = malloc(net->nelements * sizeof(float) + 1);
    seen = calloc(net->ntensors + 1, 1);
    if (!staged || !seen) {
        rc = rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    memcpy(staged, net->params, net->nelements * sizeof(float));
    int count = 0;
    for (uint32_t i = 0; i < nt; i++) {
        uint32_t nl, ndim;
        char name[sizeof net->tensors[0].name];
        int dims[4];
        if (get(&r, &nl, 4) || nl == 0 || nl >= sizeof name || get(&r, name, nl)) {
            rc = rk_errf(err, RK_EFORMAT, "%s: tensor %u: bad name", path, i);
            goto done;
        }
        name[nl] = 0;
        if (get(&r, &ndim, 4) || ndim > 4 || get(&r, dims, 4 * ndim)) {
            rc = rk_errf(err, RK_EFORMAT, "%s: tensor '%s': bad shape", path, name);
            goto done;
        }
        size_t numel = 1;
        for (uint32_t d = 0; d < ndim; d++) {
            if (dims[d] <= 0) {
                rc = rk_errf(err, RK_EFORMAT, "%s: tensor '%s': bad dimension", path, name);
                goto done;
            }
            numel *= (size_t)dims[d];
        }
        if (r.n - r.at < numel * sizeof(float)) {
            rc = rk_errf(err, RK_EFORMAT, "%s: tensor '%s': data runs past the end", path, name);
            goto done;
        }
        const rk_tensor_info *t = rk_net_find(net, name);
        if (!t) {
            if (strict) {
                rc = rk_errf(err, RK_EINVAL, "%s: tensor '%s' is not in this model", path, name);
                goto done;
            }
            r.at += numel * sizeof(float);
            continue;
        }
        int same = (uint32_t)t->ndim == ndim;
        for (uint32_t d = 0; same && d < ndim; d++) same = t->shape[d] == dims[d];
        if (!same) {
            char a[64] = "", b[64] = "";
            for (int d = 0; d < t->ndim; d++)
                snprintf(a + strlen(a), sizeof a - strlen(a), "%s%d", d ? "x" : "", t->shape[d]);
            for (uint32_t d = 0; d < ndim; d++)
                snprintf(b + strlen(b), sizeof b - strlen(b), "%s%d", d ? "x" : "", dims[d]);
            rc = rk_errf(err, RK_EINVAL, "%s: tensor '%s' has shape %s, the model expects %s",
                         path, name, b, a);
            goto done;
        }
        get(&r, staged + t->offset, numel * sizeof(float));
        seen[t - net->tensors] = 1;
        count++;
    }
    if (r.at != r.n) {
        rc = rk_errf(err, RK_EFORMAT, "%s: %zu unexpected bytes after the last tensor", path,
                     r.n - r.at);
        goto done;
    }
    if (strict)
        for (size_t i = 0; i < net->ntensors; i++)
            if (!seen[i]) {
                rc = rk_errf(err, RK_EINVAL, "%s: tensor '%s' of the model is missing", path,
                             net->tensors[i].name);
                goto done;
            }
    memcpy(net->params, staged, net->nelements * sizeof(float));
    if (loaded) *loaded = count;
done:
    free(staged);
    free(seen);
    free(data);
    return rc;
}
