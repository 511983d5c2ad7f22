/* Files and hashing that every stage needs: mkdir -p, whole-file reads, SHA-256 (nettle).
 * The store hashes configs and experiments with it, data hashes subsets and datasets, and
 * the report creates its folder; none of them should need data.h for that. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <ftw.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rethink/core.h"

int rk_mkdirs(const char *path, rk_err *err)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof buf) return rk_errf(err, RK_EINVAL, "%s: path too long", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++)
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return rk_errf(err, rk_errno_rc(errno), "%s: cannot create directory: %s", buf,
                               strerror(errno));
            buf[i] = c;
        }
    return RK_OK;
}

static int remove_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)ftw;
    return (flag == FTW_DP ? rmdir(p) : unlink(p)) != 0 && errno != ENOENT ? -1 : 0;
}

int rk_remove_tree(const char *path, rk_err *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? RK_OK : rk_errf(err, RK_EIO, "%s: %s", path, strerror(errno));
    if (nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return rk_errf(err, RK_EIO, "%s: cannot remove: %s", path, strerror(errno));
    return RK_OK;
}

int rk_read_file(const char *path, char **data, size_t *n, rk_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return rk_errf(err, RK_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *p = malloc(cap + 1);
    for (;;) {
        if (!p) {
            fclose(f);
            return rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
        }
        size_t got = fread(p + len, 1, cap - len, f);
        len += got;
        if (len < cap) break;
        cap *= 2;
        char *q = realloc(p, cap + 1);
        if (!q) free(p);
        p = q;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(p);
        return rk_errf(err, RK_EIO, "%s: read error", path);
    }
    p[len] = 0;
    *data = p;
    *n = len;
    return RK_OK;
}

int rk_file_replace(FILE *f, const char *tmp, const char *path, rk_err *err)
{
    if (!f) return rk_errf(err, rk_errno_rc(errno), "%s: cannot create: %s", tmp, strerror(errno));
    int e = 0;
    if (ferror(f) || fflush(f) != 0) e = errno ? errno : EIO;
    if (fclose(f) != 0 && !e) e = errno;
    if (!e && rename(tmp, path) != 0) e = errno;
    if (!e) return RK_OK;
    remove(tmp);
    return rk_errf(err, rk_errno_rc(e), "%s: write failed: %s", path, strerror(e));
}

void rk_sha256_hex(const void *p, size_t n, char out[65])
{
    struct sha256_ctx c;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&c);
    sha256_update(&c, n, p);
    sha256_digest(&c, sizeof d, d);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

int rk_sha256_file(const char *path, char out[65], rk_err *err)
{
    char *data;
    size_t n;
    int rc = rk_read_file(path, &data, &n, err);
    if (rc) return rc;
    rk_sha256_hex(data, n, out);
    free(data);
    return RK_OK;
}
