/* Artifacts in study.artifacts (include/rethink/trial.h): a file named by the key of what
 * makes it, with its record beside it, made once and never overwritten.
 *
 * Invariants: a name, once taken, keeps its content — a maker links its finished temporary
 * file into place (link(2) fails when the name exists, atomically, so two makers racing for
 * one name never replace each other's file) and a different content under a taken name is an
 * error naming both; the record is placed after the file, so a record always describes a
 * file that is there; whoever uses an artifact checks its record's key and kind and the
 * file's SHA-256 first. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "rethink/trial.h"

static void record_path(char *out, size_t cap, const char *path)
{
    snprintf(out, cap, "%s.record.json", path);
}

/* Writes text to a temporary file beside path and links it into place if path is free;
 * *placed: 1 if it was, 0 if path existed (ours is dropped either way). */
static int write_if_absent(const char *path, const char *text, int *placed, rk_err *err)
{
    char tmp[1400];
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return rk_errf(err, RK_EIO, "%s: cannot create: %s", tmp, strerror(errno));
    int ok = fputs(text, f) >= 0;
    ok = fclose(f) == 0 && ok;
    int rc = ok ? RK_OK : rk_errf(err, RK_EIO, "%s: write failed", tmp);
    *placed = 0;
    if (!rc && link(tmp, path) == 0) *placed = 1;
    else if (!rc && errno != EEXIST)
        rc = rk_errf(err, RK_EIO, "%s: cannot place it (link: %s)", path, strerror(errno));
    unlink(tmp);
    return rc;
}

/* The record's text: {"kind", "key", "sha256", "bytes", "cpu_s", "meta", extra...}. */
static char *record_text(const rk_artifact_use *a, const char *key, const char *extra)
{
    char cpu[64];
    if (isfinite(a->cpu_s)) snprintf(cpu, sizeof cpu, "%.17g", a->cpu_s);
    else snprintf(cpu, sizeof cpu, "null");
    size_t cap = strlen(a->meta) + (extra ? strlen(extra) : 0) + 512;
    char *t = malloc(cap);
    if (t)
        snprintf(t, cap, "{\"kind\": \"%s\", \"key\": \"%s\", \"sha256\": \"%s\", \"bytes\": %lld, "
                 "\"cpu_s\": %s, \"meta\": %s%s%s}\n", a->kind, key, a->hash,
                 (long long)a->bytes, cpu, a->meta[0] ? a->meta : "{}", extra ? ", " : "",
                 extra ? extra : "");
    return t;
}

static int file_facts(const char *path, char hash[65], int64_t *bytes, rk_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0) return rk_errf(err, RK_EIO, "%s: %s", path, strerror(errno));
    *bytes = (int64_t)st.st_size;
    return rk_sha256_file(path, hash, err);
}

int rk_artifact_place(const char *tmp, const char *path, const char *kind, const char *key,
                      double cpu_s, const char *meta, const char *extra, rk_artifact_use *a,
                      rk_err *err)
{
    snprintf(a->kind, sizeof a->kind, "%s", kind);
    snprintf(a->path, sizeof a->path, "%s", path);
    snprintf(a->meta, sizeof a->meta, "%s", meta ? meta : "");
    a->cpu_s = cpu_s;
    if (meta && strlen(meta) >= sizeof a->meta)
        return rk_errf(err, RK_EINVAL, "%s: the artifact's facts are too long for its record",
                       path);
    int rc = file_facts(tmp, a->hash, &a->bytes, err);
    if (rc) return rc;
    int ours = link(tmp, path) == 0;
    if (!ours) {
        if (errno != EEXIST)
            return rk_errf(err, RK_EIO, "%s: cannot place %s there (link: %s)", path, tmp,
                           strerror(errno));
        char have[65];
        int64_t hb;
        if ((rc = file_facts(path, have, &hb, err))) return rc;
        if (strcmp(have, a->hash))
            return rk_errf(err, RK_EINVAL, "%s exists with other content (SHA-256 %.16s) than "
                           "the one just made, kept at %s (SHA-256 %.16s): an artifact is never "
                           "overwritten; delete one of them, or point study.artifacts at another "
                           "folder", path, have, tmp, a->hash);
    }
    unlink(tmp); /* linked into place, or the same content was there already */
    char rpath[1300];
    record_path(rpath, sizeof rpath, path);
    char *text = record_text(a, key, extra);
    if (!text) return rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
    int placed = 0;
    rc = write_if_absent(rpath, text, &placed, err);
    if (!rc && !placed && ours) {
        /* a record without its file (the file was deleted by hand): it described nothing
         * that is there, so the new file's record replaces it */
        char rtmp[1400];
        snprintf(rtmp, sizeof rtmp, "%s.%d.tmp", rpath, (int)getpid());
        FILE *f = fopen(rtmp, "wb");
        int ok = f && fputs(text, f) >= 0;
        ok = f && fclose(f) == 0 && ok;
        if (!ok || rename(rtmp, rpath) != 0)
            rc = rk_errf(err, RK_EIO, "%s: cannot write: %s", rpath, strerror(errno));
        placed = !rc;
    }
    free(text);
    if (rc || placed) return rc;
    /* a record was there already, with the file: it must describe this very content */
    rk_artifact_use have = {0};
    int state = 0;
    return rk_artifact_find(path, kind, key, &have, &state, NULL, err);
}

int rk_artifact_find(const char *path, const char *kind, const char *key, rk_artifact_use *a,
                     int *state, char **record, rk_err *err)
{
    *state = 0;
    if (record) *record = NULL;
    struct stat st;
    if (stat(path, &st) != 0) return RK_OK;
    memset(a, 0, sizeof *a);
    snprintf(a->kind, sizeof a->kind, "%s", kind);
    snprintf(a->path, sizeof a->path, "%s", path);
    a->cpu_s = NAN;
    int rc = file_facts(path, a->hash, &a->bytes, err);
    if (rc) return rc;
    char rpath[1300];
    record_path(rpath, sizeof rpath, path);
    if (stat(rpath, &st) != 0) {
        *state = -1;
        return RK_OK;
    }
    char *text = NULL;
    size_t n = 0;
    if ((rc = rk_read_file(rpath, &text, &n, err))) return rc;
    cJSON *r = cJSON_Parse(text);
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(r, "key");
    const cJSON *kd = cJSON_GetObjectItemCaseSensitive(r, "kind");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(r, "sha256");
    const cJSON *cpu = cJSON_GetObjectItemCaseSensitive(r, "cpu_s");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(r, "meta");
    if (!cJSON_IsString(k) || !cJSON_IsString(kd) || !cJSON_IsString(sh))
        rc = rk_errf(err, RK_EFORMAT, "%s: not an artifact record (no key, kind and sha256)",
                     rpath);
    else if (strcmp(k->valuestring, key) || strcmp(kd->valuestring, kind))
        rc = rk_errf(err, RK_EFORMAT, "%s: the record of a %s with key %.16s, expected a %s with "
                     "key %.16s", rpath, kd->valuestring, k->valuestring, kind, key);
    else if (strcmp(sh->valuestring, a->hash))
        rc = rk_errf(err, RK_EFORMAT, "%s has SHA-256 %.16s, its record %s says %.16s: the file "
                     "changed after it was made; delete both to make it again", path, a->hash,
                     rpath, sh->valuestring);
    if (!rc) {
        if (cJSON_IsNumber(cpu)) a->cpu_s = cpu->valuedouble;
        char *m = cJSON_IsObject(meta) ? cJSON_PrintUnformatted(meta) : NULL;
        if (m && strlen(m) < sizeof a->meta) snprintf(a->meta, sizeof a->meta, "%s", m);
        free(m);
        *state = 1;
        if (record) *record = text, text = NULL;
    }
    cJSON_Delete(r);
    free(text);
    return rc;
}
