/* Fixture reading, the mixed-tolerance comparison used by every numeric test, and the
 * temporary folder of the tests that write files. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <check.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

fx_file fx_load(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", RK_FIXTURE_DIR, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open fixture %s", path);
    char magic[4];
    unsigned count;
    ck_assert(fread(magic, 1, 4, f) == 4 && !memcmp(magic, "RKFX", 4));
    ck_assert(fread(&count, 4, 1, f) == 1 && count < 10000);
    fx_file fx = {calloc(count, sizeof(fx_array)), (int)count};
    for (unsigned i = 0; i < count; i++) {
        fx_array *a = &fx.a[i];
        unsigned nl, nd;
        ck_assert(fread(&nl, 4, 1, f) == 1 && nl < sizeof a->name);
        ck_assert(fread(a->name, 1, nl, f) == nl);
        ck_assert(fread(&nd, 4, 1, f) == 1 && nd <= 6);
        a->ndim = (int)nd;
        a->n = 1;
        for (unsigned d = 0; d < nd; d++) {
            ck_assert(fread(&a->dims[d], 4, 1, f) == 1);
            a->n *= (size_t)a->dims[d];
        }
        a->data = malloc(a->n * sizeof(float) + 1);
        ck_assert_msg(fread(a->data, sizeof(float), a->n, f) == a->n, "fixture %s truncated", path);
    }
    fclose(f);
    return fx;
}

const fx_array *fx_get(const fx_file *f, const char *name)
{
    for (int i = 0; i < f->count; i++)
        if (!strcmp(f->a[i].name, name)) return &f->a[i];
    ck_abort_msg("fixture array '%s' missing", name);
    return NULL;
}

void fx_free(fx_file *f)
{
    for (int i = 0; i < f->count; i++) free(f->a[i].data);
    free(f->a);
    f->a = NULL;
}

void fx_assert_close(const char *what, const float *got, const float *ref, size_t n, float atol,
                     float rtol)
{
    size_t worst = 0, nbad = 0;
    double worst_excess = -1;
    for (size_t i = 0; i < n; i++) {
        double lim = atol + rtol * fabs(ref[i]), d = fabs((double)got[i] - ref[i]);
        if (!(d <= lim)) nbad++;
        if (!(d - lim <= worst_excess)) worst_excess = d - lim, worst = i;
    }
    ck_assert_msg(nbad == 0, "%s: %zu of %zu elements differ; worst [%zu] got %.8g want %.8g", what,
                  nbad, n, worst, got[worst], ref[worst]);
}

char fx_tmp[256];

void fx_tmp_setup(void)
{
    snprintf(fx_tmp, sizeof fx_tmp, "/tmp/rk_test_XXXXXX");
    ck_assert_msg(mkdtemp(fx_tmp) != NULL, "mkdtemp: cannot make a temporary folder");
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void fx_tmp_teardown(void)
{
    /* depth first (a folder after its contents), not following symbolic links */
    ck_assert_msg(nftw(fx_tmp, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0, "cannot remove %s",
                  fx_tmp);
}

void fx_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", fx_tmp, name);
}

void fx_write(const char *name, const char *text)
{
    char p[512];
    fx_path(p, sizeof p, name);
    FILE *f = fopen(p, "w");
    ck_assert_msg(f != NULL, "cannot write %s", p);
    fputs(text, f);
    ck_assert_msg(fclose(f) == 0, "cannot write %s", p);
}

static const char POLICY_S1[] = "[augment.S1]\nflip = 0.5\nscale = 0.8, 1.2\n"
                                "pad = 124, 116, 104\nmin_size = 1\nmin_visible = 0.1\n";
static const char POLICY_S4[] = "[augment.S4]\nflip = 0.5\nscale = 0.5, 2.0\n"
                                "randaugment = 2, 10\npad = 124, 116, 104\nmin_size = 1\n"
                                "min_visible = 0.1\n";

void fx_policies_setup(void)
{
    fx_tmp_setup();
    fx_write("augment.ini", POLICY_S1);
}

void fx_policies_s4_setup(void)
{
    char both[sizeof POLICY_S1 + sizeof POLICY_S4];
    snprintf(both, sizeof both, "%s%s", POLICY_S1, POLICY_S4);
    fx_tmp_setup();
    fx_write("augment.ini", both);
}
