/* What the tests share: the reader for the binary fixtures written by tests/gen_fixtures.py
 * (named float32 arrays; format, little-endian: "RKFX" u32 count; per array: u32 name_len,
 * name, u32 ndim, i32 dims[ndim], f32 data[prod(dims)]), the one tolerance comparison, and
 * the temporary folder a test works in. */
#ifndef RK_TEST_FIXTURE_H
#define RK_TEST_FIXTURE_H
#include <stddef.h>

typedef struct fx_array {
    char name[96];
    int ndim, dims[6];
    size_t n;
    float *data;
} fx_array;

typedef struct fx_file {
    fx_array *a;
    int count;
} fx_file;

/* Loads RK_FIXTURE_DIR/name; aborts the test (ck_abort) on failure. */
fx_file fx_load(const char *name);
/* The array called name; aborts the test if missing. */
const fx_array *fx_get(const fx_file *f, const char *name);
void fx_free(fx_file *f);

/* Compares with |a-b| <= atol + rtol*|ref|; on failure reports the worst element. */
void fx_assert_close(const char *what, const float *got, const float *ref, size_t n, float atol,
                     float rtol);

/* The one tolerance table for fixture comparisons (float32 vs PyTorch float32). */
#define FX_ATOL 1e-4f
#define FX_RTOL 1e-3f

/* The test's own temporary folder, fx_tmp: a Check fixture,
 * tcase_add_checked_fixture(tc, fx_tmp_setup, fx_tmp_teardown), makes it before each test
 * and removes it with everything in it after. */
extern char fx_tmp[256];
void fx_tmp_setup(void);
void fx_tmp_teardown(void);
/* fx_tmp/name into out. */
void fx_path(char *out, size_t cap, const char *name);
/* Writes text to fx_tmp/name (aborts the test on failure). */
void fx_write(const char *name, const char *text);
/* fx_tmp_setup, then fx_tmp/augment.ini with policy S1 (and S4 if s4), the policies file an
 * experiment written into fx_tmp finds by default. */
void fx_policies_setup(void);
void fx_policies_s4_setup(void);
#endif
