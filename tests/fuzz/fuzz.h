/* What every libFuzzer harness of tests/fuzz shares: the loaders under test read files, so
 * each input is written to a file of its own process's scratch folder first (in /dev/shm
 * when there is one: a write there is a memory copy). FUZZ_DIR is that folder, made by
 * fuzz_setup from LLVMFuzzerInitialize, with the experiments' policies file beside the
 * inputs (an experiment file names it). */
#ifndef RETHINK_FUZZ_H
#define RETHINK_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[256]; /* (unused by harnesses that read no file) */

static inline void fuzz_copy(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    char buf[4096];
    size_t n;
    while (a && b && (n = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, n, b);
    if (a) fclose(a);
    if (b) fclose(b);
}

static inline void fuzz_setup(void)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/rethink-fuzz-XXXXXX", base);
    if (!mkdtemp(fuzz_dir)) abort();
    char to[300];
    snprintf(to, sizeof to, "%s/augment.ini", fuzz_dir);
    fuzz_copy(RK_SOURCE_DIR "/experiments/augment.ini", to);
}

/* The input as the file FUZZ_DIR/name; returns its path (static storage). */
static inline const char *fuzz_file(const char *name, const uint8_t *data, size_t n)
{
    static char path[320];
    snprintf(path, sizeof path, "%s/%s", fuzz_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(data, 1, n, f) != n) abort();
    fclose(f);
    return path;
}

#endif
