/* Datasets: building the Fashion-MNIST scenes (round trip, determinism), loading any COCO
 * dataset with every bad input producing its error, source folders, nested fractions, and
 * the image codecs (JPEG and PNG, told apart by content). Builds tiny datasets in a temporary folder; needs Debian's
 * dataset-fashion-mnist (scripts/install-deps.sh installs it). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <png.h>
#include <zlib.h>

#include "fixture.h"
#include "rethink/data.h"

static rk_scene_params tiny(void)
{
    rk_scene_params p = rk_scene_defaults();
    p.ntrain = 24, p.nval = 12, p.nsource = 16;
    return p;
}

static void build_tiny(const char *out, int threads)
{
    rk_scene_params p = tiny();
    rk_err err = {0};
    ck_assert_msg(rk_fashion_scenes_build(&p, RK_FASHION_DIR, out, threads, NULL, NULL, &err) == RK_OK,
                  "%s", err.msg);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    ck_assert(f);
    fputs(text, f);
    fclose(f);
}

/* ---- building ---- */
START_TEST(built_annotations_equal_what_was_rendered)
{
    char out[300], ann[400], imgs[400];
    fx_path(out, sizeof out, "fs");
    build_tiny(out, 2);
    snprintf(ann, sizeof ann, "%s/annotations/instances_train.json", out);
    snprintf(imgs, sizeof imgs, "%s/train", out);
    rk_dataset d;
    rk_err err = {0};
    ck_assert_msg(rk_dataset_load(&d, imgs, ann, 2, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(d.coco.nimages, 24);
    ck_assert_int_eq(d.coco.ncats, 10);
    ck_assert_str_eq(d.coco.cats[9].name, "Ankle boot");
    rk_fashion fm;
    ck_assert(rk_fashion_load(&fm, RK_FASHION_DIR, "train", &err) == RK_OK);
    rk_scene_params p = tiny();
    size_t a = 0;
    for (int i = 0; i < 24; i++) {
        rk_image im;
        rk_coco_ann objs[64];
        int n;
        ck_assert(rk_fashion_render(&p, &fm, RK_SPLIT_TRAIN, i, &im, objs, 64, &n, NULL, &err) == RK_OK);
        ck_assert_int_ge(n, 1);
        for (int k = 0; k < n; k++, a++) {
            const rk_coco_ann *g = &d.coco.anns[a];
            ck_assert_int_eq(g->image_id, d.coco.images[i].id);
            ck_assert_int_eq(g->category_id, objs[k].category_id);
            for (int j = 0; j < 4; j++) ck_assert(g->bbox[j] == objs[k].bbox[j]);
            ck_assert(g->area == objs[k].area);
            /* area counts visible mask pixels: at most the box */
            ck_assert(g->area <= g->bbox[2] * g->bbox[3]);
        }
        /* JPEG at quality 90 stays close to the rendered pixels */
        double diff = 0;
        const rk_image *dec = &d.images[i];
        for (size_t j = 0; j < (size_t)im.w * im.h * 3; j++) diff += fabs((double)dec->px[j] - im.px[j]);
        diff /= (double)im.w * im.h * 3;
        ck_assert_msg(diff < 6, "image %d: mean abs difference %g after JPEG", i, diff);
        rk_image_free(&im);
    }
    ck_assert_int_eq(a, d.coco.nanns);
    rk_fashion_free(&fm);
    rk_dataset_free(&d);
}
END_TEST

START_TEST(rendered_boxes_are_tight_around_visible_object_pixels)
{
    /* Without background, clutter and noise, non-black pixels are object pixels; each box must
     * touch object pixels on all four sides. */
    rk_scene_params p = tiny();
    p.clutter = 0, p.noise = 0, p.occlusion = 0;
    rk_fashion fm;
    rk_err err = {0};
    ck_assert(rk_fashion_load(&fm, RK_FASHION_DIR, "train", &err) == RK_OK);
    for (int i = 0; i < 8; i++) {
        rk_image im;
        rk_coco_ann objs[64];
        int n;
        ck_assert(rk_fashion_render(&p, &fm, RK_SPLIT_TRAIN, i, &im, objs, 64, &n, NULL, &err) == RK_OK);
        for (int k = 0; k < n; k++) {
            int x0 = (int)objs[k].bbox[0], y0 = (int)objs[k].bbox[1];
            int x1 = x0 + (int)objs[k].bbox[2] - 1, y1 = y0 + (int)objs[k].bbox[3] - 1;
            ck_assert(x0 >= 0 && y0 >= 0 && x1 < im.w && y1 < im.h);
            ck_assert_msg(objs[k].area >= 4, "object %d of image %d has %g px", k, i, objs[k].area);
        }
        rk_image_free(&im);
    }
    rk_fashion_free(&fm);
}
END_TEST

static void sha_of(const char *path, char out[65])
{
    rk_err err;
    ck_assert_msg(rk_sha256_file(path, out, &err) == RK_OK, "%s", err.msg);
}

/* Each of files[0..n) has the same bytes under folders a and b (built with 1 and 2 threads). */
static void same_files(const char *a, const char *b, const char *const *files, size_t n)
{
    char pa[400], pb[400], ha[65], hb[65];
    for (size_t i = 0; i < n; i++) {
        snprintf(pa, sizeof pa, "%s/%s", a, files[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, files[i]);
        sha_of(pa, ha);
        sha_of(pb, hb);
        ck_assert_msg(!strcmp(ha, hb), "%s differs between 1 and 2 threads", files[i]);
    }
}

START_TEST(same_seed_gives_byte_identical_files_whatever_the_thread_count)
{
    char a[300], b[300], pa[400], pb[400], hb[65];
    fx_path(a, sizeof a, "a");
    fx_path(b, sizeof b, "b");
    build_tiny(a, 1);
    build_tiny(b, 2);
    const char *files[] = {"card.json", "annotations/instances_train.json",
                           "annotations/instances_val.json", "source/labels.csv",
                           "train/000007.jpg", "val/000012.jpg", "source/000016.jpg"};
    same_files(a, b, files, sizeof files / sizeof *files);
    /* and the card records the annotation checksums */
    char *card;
    size_t n;
    rk_err err;
    snprintf(pa, sizeof pa, "%s/card.json", a);
    ck_assert(rk_read_file(pa, &card, &n, &err) == RK_OK);
    snprintf(pb, sizeof pb, "%s/annotations/instances_val.json", a);
    sha_of(pb, hb);
    ck_assert(strstr(card, hb) != NULL);
    ck_assert(strstr(card, "\"seed\": 1") != NULL);
    free(card);
}
END_TEST

/* The shifted set (selftrain.source = shifted) is built like the other splits: the same
 * recipe gives the same bytes whatever the thread count, a set already in place is kept
 * (the cache: the second build writes nothing), and its images are not the source's nor
 * the target's (another look, its own random streams). */
START_TEST(the_shifted_set_is_deterministic_cached_and_another_look)
{
    char a[300], b[300], pa[400];
    rk_scene_params p = tiny();
    rk_err err = {0};
    fx_path(a, sizeof a, "sa");
    fx_path(b, sizeof b, "sb");
    ck_assert_msg(rk_fashion_shifted_build(&p, RK_FASHION_DIR, a, 1, &err) == RK_OK, "%s", err.msg);
    ck_assert_msg(rk_fashion_shifted_build(&p, RK_FASHION_DIR, b, 2, &err) == RK_OK, "%s", err.msg);
    const char *files[] = {"card.json", "000001.jpg", "000009.jpg", "000016.jpg"};
    same_files(a, b, files, sizeof files / sizeof *files);
    snprintf(pa, sizeof pa, "%s/000017.jpg", a);
    ck_assert_msg(access(pa, F_OK) != 0, "more images than data.source");
    /* in place: kept as it is (an image removed stays removed) */
    snprintf(pa, sizeof pa, "%s/000001.jpg", a);
    ck_assert(remove(pa) == 0);
    ck_assert(rk_fashion_shifted_build(&p, RK_FASHION_DIR, a, 1, &err) == RK_OK);
    ck_assert_msg(access(pa, F_OK) != 0, "a set in place was built again");
    /* another look than the target's and the source's renders of the same index */
    rk_fashion fm = {0};
    ck_assert(rk_fashion_load(&fm, RK_FASHION_DIR, "train", &err) == RK_OK);
    rk_image im[3];
    rk_coco_ann anns[64];
    int na, label;
    const int splits[3] = {RK_SPLIT_SHIFTED, RK_SPLIT_TRAIN, RK_SPLIT_SOURCE};
    for (int k = 0; k < 3; k++) {
        ck_assert(rk_fashion_render(&p, &fm, splits[k], 3, &im[k], anns, 64, &na, &label, &err) == RK_OK);
        if (k == 0) ck_assert_int_ge(na, 1); /* a scene of items (unlabelled: never written) */
    }
    ck_assert(memcmp(im[0].px, im[1].px, (size_t)64 * 64 * 3) != 0);
    ck_assert(memcmp(im[0].px, im[2].px, (size_t)64 * 64 * 3) != 0);
    for (int k = 0; k < 3; k++) rk_image_free(&im[k]);
    rk_fashion_free(&fm);
}
END_TEST

static const char *building; /* the folder a build in progress must not show yet */
static int looked;

static void look_mid_build(void *ctx, const char *stage, size_t done, size_t total)
{
    (void)ctx, (void)done, (void)total;
    if (strcmp(stage, "source")) return;
    ck_assert_msg(access(building, F_OK) != 0, "%s is visible before its build finished", building);
    looked = 1;
}

/* Issue 25: the folder counted as built once instances_val.json existed, while labels.csv
 * and card.json were written after it, so a build stopped in between passed for a dataset.
 * The build is renamed into place whole: nothing is at out until everything is. */
START_TEST(a_build_appears_only_when_it_is_complete)
{
    char out[300], card[400];
    fx_path(out, sizeof out, "ds");
    rk_scene_params p = tiny();
    rk_err err = {0};
    building = out, looked = 0;
    ck_assert_msg(rk_fashion_scenes_build(&p, RK_FASHION_DIR, out, 1, look_mid_build, NULL,
                                          &err) == RK_OK, "%s", err.msg);
    ck_assert(looked);
    snprintf(card, sizeof card, "%s/card.json", out);
    ck_assert_int_eq(access(card, F_OK), 0);
    /* a folder that is there already is never built over */
    ck_assert_int_eq(rk_fashion_scenes_build(&p, RK_FASHION_DIR, out, 1, NULL, NULL, &err),
                     RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "already exists"), "%s", err.msg);
    /* a failed build leaves nothing behind (a missing raw folder fails it at once) */
    fx_path(out, sizeof out, "ds2");
    ck_assert_int_ne(rk_fashion_scenes_build(&p, "/nonexistent", out, 1, NULL, NULL, &err),
                     RK_OK);
    ck_assert_int_ne(access(out, F_OK), 0);
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s.tmp-%d", out, (int)getpid());
    ck_assert_int_ne(access(tmp, F_OK), 0);
}
END_TEST

START_TEST(different_seed_gives_different_data)
{
    rk_scene_params p = tiny();
    rk_fashion fm;
    rk_err err = {0};
    ck_assert(rk_fashion_load(&fm, RK_FASHION_DIR, "t10k", &err) == RK_OK);
    rk_image a, b;
    rk_coco_ann o[64];
    int n;
    ck_assert(rk_fashion_render(&p, &fm, RK_SPLIT_VAL, 3, &a, o, 64, &n, NULL, &err) == RK_OK);
    p.seed = 2;
    ck_assert(rk_fashion_render(&p, &fm, RK_SPLIT_VAL, 3, &b, o, 64, &n, NULL, &err) == RK_OK);
    ck_assert(memcmp(a.px, b.px, (size_t)a.w * a.h * 3) != 0);
    rk_image_free(&a), rk_image_free(&b);
    rk_fashion_free(&fm);
}
END_TEST

START_TEST(scene_parameters_out_of_range_name_the_option)
{
    rk_scene_params p = rk_scene_defaults();
    rk_err err = {0};
    p.max_scale = 200;
    ck_assert_int_eq(rk_scene_validate(&p, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "--scale"), "%s", err.msg);
    p = rk_scene_defaults();
    p.occlusion = 1.5;
    ck_assert_int_eq(rk_scene_validate(&p, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "--occlusion"), "%s", err.msg);
    p = rk_scene_defaults();
    p.min_objects = 3, p.max_objects = 2;
    ck_assert_int_eq(rk_scene_validate(&p, &err), RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "--objects"), "%s", err.msg);
    rk_fashion fm;
    ck_assert_int_eq(rk_fashion_load(&fm, "/nonexistent", "train", &err), RK_EIO);
    ck_assert_msg(strstr(err.msg, "dataset-fashion-mnist"), "%s", err.msg);
}
END_TEST

/* ---- loading any COCO dataset: every bad input has its error ---- */
static void make_jpeg(const char *path, int w, int h)
{
    rk_image im;
    rk_err err;
    ck_assert(rk_image_alloc(&im, w, h, 3, &err) == RK_OK);
    for (size_t i = 0; i < (size_t)w * h * 3; i++) im.px[i] = (uint8_t)(i * 7);
    ck_assert(rk_jpeg_save(&im, path, 90, &err) == RK_OK);
    rk_image_free(&im);
}

/* A valid two-image dataset; `edit` replaces its annotations JSON when not NULL. */
static void make_dataset(const char *json)
{
    char p[400];
    fx_path(p, sizeof p, "a.jpg");
    make_jpeg(p, 32, 24);
    fx_path(p, sizeof p, "b.jpg");
    make_jpeg(p, 16, 16);
    fx_path(p, sizeof p, "ann.json");
    write_text(p, json);
}

static const char *GOOD =
    "{\"images\": [{\"id\": 1, \"file_name\": \"a.jpg\", \"width\": 32, \"height\": 24},\n"
    "              {\"id\": 2, \"file_name\": \"b.jpg\", \"width\": 16, \"height\": 16}],\n"
    " \"annotations\": [{\"id\": 10, \"image_id\": 1, \"category_id\": 3, \"bbox\": [1, 2, 10, 5],"
    " \"area\": 40, \"iscrowd\": 0},\n"
    "                   {\"id\": 11, \"image_id\": 2, \"category_id\": 4, \"bbox\": [0, 0, 16, 16],"
    " \"area\": 200}],\n"
    " \"categories\": [{\"id\": 3, \"name\": \"cat\"}, {\"id\": 4, \"name\": \"dog\"}]}\n";

static void expect_error(const char *json, const char *needle1, const char *needle2)
{
    make_dataset(json);
    char ann[400];
    fx_path(ann, sizeof ann, "ann.json");
    rk_dataset d;
    rk_err err = {0};
    ck_assert_msg(rk_dataset_load(&d, fx_tmp, ann, 2, &err) != RK_OK, "expected an error for %s", needle1);
    ck_assert_msg(strstr(err.msg, needle1), "message lacks '%s': %s", needle1, err.msg);
    if (needle2) ck_assert_msg(strstr(err.msg, needle2), "message lacks '%s': %s", needle2, err.msg);
    ck_assert(d.images == NULL && d.coco.nimages == 0); /* nothing half-loaded */
}

static char *replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    ck_assert(at);
    char *out = malloc(strlen(s) + strlen(to) + 1);
    size_t k = (size_t)(at - s);
    memcpy(out, s, k);
    strcpy(out + k, to);
    strcat(out, at + strlen(from));
    return out;
}

START_TEST(valid_dataset_loads_with_decoded_images)
{
    make_dataset(GOOD);
    char ann[400];
    fx_path(ann, sizeof ann, "ann.json");
    rk_dataset d;
    rk_err err = {0};
    ck_assert_msg(rk_dataset_load(&d, fx_tmp, ann, 1, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(d.coco.nanns, 2);
    ck_assert_int_eq(d.images[0].w, 32);
    ck_assert_int_eq(d.images[0].h, 24);
    ck_assert_int_eq(d.images[0].c, 3);
    ck_assert_int_eq(rk_coco_image_index(&d.coco, 2), 1);
    ck_assert_int_eq(rk_coco_cat_index(&d.coco, 5), -1);
    ck_assert(d.coco.anns[1].iscrowd == 0); /* iscrowd defaults to 0 */
    rk_dataset_free(&d);
}
END_TEST

START_TEST(malformed_json_reports_line_and_column)
{
    char *bad = replace(GOOD, "\"width\": 16,", "\"width\": 16,,");
    expect_error(bad, "ann.json:2:", "malformed JSON");
    free(bad);
}
END_TEST

START_TEST(missing_image_file_names_file_and_id)
{
    char *bad = replace(GOOD, "b.jpg", "zzz.jpg");
    expect_error(bad, "zzz.jpg", "image id 2");
    free(bad);
}
END_TEST

START_TEST(undecodable_and_truncated_jpegs_are_errors)
{
    make_dataset(GOOD);
    char p[400], ann[400];
    fx_path(p, sizeof p, "b.jpg");
    fx_path(ann, sizeof ann, "ann.json");
    write_text(p, "this is not a jpeg");
    rk_dataset d;
    rk_err err = {0};
    ck_assert(rk_dataset_load(&d, fx_tmp, ann, 1, &err) != RK_OK);
    ck_assert_msg(strstr(err.msg, "b.jpg") && strstr(err.msg, "image id 2"), "%s", err.msg);
    /* truncated: a real JPEG cut inside its entropy-coded data (past the headers) */
    make_jpeg(p, 16, 16);
    char *data;
    size_t n;
    ck_assert(rk_read_file(p, &data, &n, &err) == RK_OK);
    FILE *f = fopen(p, "wb");
    fwrite(data, 1, n - 40, f);
    fclose(f);
    free(data);
    ck_assert(rk_dataset_load(&d, fx_tmp, ann, 1, &err) != RK_OK);
    ck_assert_msg(strstr(err.msg, "b.jpg") && strstr(err.msg, "truncated"), "%s", err.msg);
}
END_TEST

/* Issue 25: a COCO file_name of ../../../../etc/passwd made `data check` open a file outside
 * --images and quote its first bytes in the error. */
START_TEST(a_file_name_outside_the_images_folder_is_refused)
{
    const char *names[] = {"../../../../etc/passwd", "/etc/passwd", "sub/../../a.jpg", ".."};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char *bad = replace(GOOD, "\"b.jpg\"", "\"XX\"");
        char *bad2 = replace(bad, "XX", names[i]);
        expect_error(bad2, "image id 2", "leaves the images folder");
        free(bad), free(bad2);
    }
    /* a subfolder is fine (and "..b.jpg" is a name like any other) */
    char *ok = replace(GOOD, "\"b.jpg\"", "\"sub/..b.jpg\"");
    make_dataset(ok);
    char p[400];
    fx_path(p, sizeof p, "sub");
    ck_assert_int_eq(mkdir(p, 0755), 0);
    fx_path(p, sizeof p, "sub/..b.jpg");
    make_jpeg(p, 16, 16);
    char ann[400];
    fx_path(ann, sizeof ann, "ann.json");
    rk_dataset d;
    rk_err err = {0};
    ck_assert_msg(rk_dataset_load(&d, fx_tmp, ann, 1, &err) == RK_OK, "%s", err.msg);
    rk_dataset_free(&d);
    free(ok);
}
END_TEST

/* SOI, a quantisation table, EOI: 73 bytes, no frame, so no size. libFuzzer found that
 * tjDecompressHeader3 accepts it and leaves width and height unset (issue 25). */
static size_t frameless_jpeg(unsigned char *b)
{
    size_t n = 0;
    b[n++] = 0xFF, b[n++] = 0xD8;                             /* SOI */
    b[n++] = 0xFF, b[n++] = 0xDB, b[n++] = 0x00, b[n++] = 0x43; /* DQT, length 67 */
    b[n++] = 0x00;                                            /* 8-bit table 0 */
    for (int i = 0; i < 64; i++) b[n++] = 1;
    b[n++] = 0xFF, b[n++] = 0xD9; /* EOI */
    return n;
}

START_TEST(a_jpeg_without_a_frame_is_an_error)
{
    unsigned char b[80];
    size_t n = frameless_jpeg(b);
    ck_assert_int_eq(n, 73);
    rk_image im;
    rk_err err = {0};
    ck_assert_int_eq(rk_jpeg_decode(&im, b, n, 3, "frameless", &err), RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "without an image frame"), "%s", err.msg);
    ck_assert(im.px == NULL);
}
END_TEST

/* A real 16x16 JPEG whose frame header claims 65500 x 65500. */
static void make_huge_header(const char *path)
{
    make_jpeg(path, 16, 16);
    char *data;
    size_t n;
    rk_err err;
    ck_assert(rk_read_file(path, &data, &n, &err) == RK_OK);
    int patched = 0;
    for (size_t i = 0; i + 9 < n && !patched; i++)
        if ((unsigned char)data[i] == 0xFF && (unsigned char)data[i + 1] == 0xC0) { /* SOF0 */
            data[i + 5] = (char)0xFF, data[i + 6] = (char)0xDC; /* height 65500 */
            data[i + 7] = (char)0xFF, data[i + 8] = (char)0xDC; /* width */
            patched = 1;
        }
    ck_assert(patched);
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
    free(data);
}

/* Issue 25: a 65500 x 65500 header allocated 12.9 GB before its size was compared with the
 * annotation's. The size is compared first, and no image beyond RK_IMAGE_MAX_PIXELS is
 * allocated at all. */
START_TEST(a_huge_jpeg_header_allocates_nothing)
{
    make_dataset(GOOD);
    char p[400], ann[400];
    fx_path(p, sizeof p, "b.jpg");
    make_huge_header(p);
    fx_path(ann, sizeof ann, "ann.json");
    rk_dataset d;
    rk_err err = {0};
    ck_assert_int_eq(rk_dataset_load(&d, fx_tmp, ann, 1, &err), RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "65500x65500, the annotations say 16x16") &&
                  strstr(err.msg, "image id 2"), "%s", err.msg);
    rk_image im;
    ck_assert_int_eq(rk_image_load(&im, p, 3, &err), RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "larger than rethink reads"), "%s", err.msg);
    ck_assert(im.px == NULL);
}
END_TEST

/* Issue 25: a symlink to /dev/zero read until memory ran out; a FIFO hung the load. Only
 * regular files are images. */
START_TEST(a_device_a_fifo_or_a_folder_is_not_an_image)
{
    char p[400];
    rk_image im;
    rk_err err = {0};
    fx_path(p, sizeof p, "zero.jpg");
    ck_assert_int_eq(symlink("/dev/zero", p), 0);
    ck_assert_int_eq(rk_image_load(&im, p, 3, &err), RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "not a regular file (a device)"), "%s", err.msg);
    fx_path(p, sizeof p, "fifo.jpg");
    ck_assert_int_eq(mkfifo(p, 0644), 0);
    ck_assert_int_eq(rk_image_load(&im, p, 3, &err), RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "(a FIFO)"), "%s", err.msg);
    ck_assert_int_eq(rk_image_load(&im, fx_tmp, 3, &err), RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "(a folder)"), "%s", err.msg);
}
END_TEST

START_TEST(image_size_differing_from_json_is_an_error)
{
    char *bad = replace(GOOD, "\"width\": 32", "\"width\": 33");
    expect_error(bad, "image id 1", "32x24");
    free(bad);
}
END_TEST

START_TEST(box_wholly_outside_image_or_non_positive_is_an_error)
{
    char *bad = replace(GOOD, "[1, 2, 10, 5]", "[32, 2, 10, 5]");
    expect_error(bad, "annotation id 10", "entirely outside image id 1");
    free(bad);
    bad = replace(GOOD, "[1, 2, 10, 5]", "[-10, 2, 10, 5]");
    expect_error(bad, "annotation id 10", "entirely outside image id 1");
    free(bad);
    bad = replace(GOOD, "[1, 2, 10, 5]", "[1, 2, 0, 5]");
    expect_error(bad, "annotation id 10", "non-positive size");
    free(bad);
    bad = replace(GOOD, "[1, 2, 10, 5]", "[1, 2, 10]");
    expect_error(bad, "annotation id 10", "bbox");
    free(bad);
}
END_TEST

/* Issue 20: COCO files as pycocotools accepts them. A box partly outside its image loads
 * unchanged (evaluation scores it as the file has it) and is counted; rk_coco_box_clip gives
 * what training learns, its part inside; a box within 1e-3 px of the edge is not clipped. */
START_TEST(a_box_partly_outside_is_kept_as_is_and_clipped_for_training)
{
    char *a = replace(GOOD, "[1, 2, 10, 5]", "[25, -2, 10, 5]");
    char *b = replace(a, "[0, 0, 16, 16]", "[0, 0, 16.0004, 16]");
    make_dataset(b);
    free(a), free(b);
    char ann[400];
    fx_path(ann, sizeof ann, "ann.json");
    rk_dataset d;
    rk_err err = {0};
    ck_assert_msg(rk_dataset_load(&d, fx_tmp, ann, 1, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(d.coco.noutside, 1);
    const rk_coco_ann *x = &d.coco.anns[0];
    ck_assert(x->bbox[0] == 25 && x->bbox[1] == -2 && x->bbox[2] == 10 && x->bbox[3] == 5);
    double in[4];
    ck_assert_int_eq(rk_coco_box_clip(x->bbox, &d.coco.images[0], in), 1);
    ck_assert(in[0] == 25 && in[1] == 0 && in[2] == 7 && in[3] == 3);
    ck_assert_int_eq(rk_coco_box_clip(d.coco.anns[1].bbox, &d.coco.images[1], in), 0);
    ck_assert(in[2] == 16.0004);
    rk_dataset_free(&d);
}
END_TEST

START_TEST(unknown_category_or_image_is_an_error)
{
    char *bad = replace(GOOD, "\"category_id\": 4", "\"category_id\": 9");
    expect_error(bad, "annotation id 11", "unknown category_id 9");
    free(bad);
    bad = replace(GOOD, "\"image_id\": 2", "\"image_id\": 7");
    expect_error(bad, "annotation id 11", "unknown image_id 7");
    free(bad);
}
END_TEST

START_TEST(duplicate_ids_are_errors)
{
    char *bad = replace(GOOD, "\"id\": 2, \"file_name\"", "\"id\": 1, \"file_name\"");
    expect_error(bad, "duplicate image id 1", NULL);
    free(bad);
    bad = replace(GOOD, "\"id\": 11,", "\"id\": 10,");
    expect_error(bad, "duplicate annotation id 10", NULL);
    free(bad);
    bad = replace(GOOD, "{\"id\": 4, \"name\"", "{\"id\": 3, \"name\"");
    expect_error(bad, "duplicate category id 3", NULL);
    free(bad);
}
END_TEST

START_TEST(missing_keys_and_wrong_types_are_errors)
{
    char *bad = replace(GOOD, "\"categories\"", "\"kategories\"");
    expect_error(bad, "missing array 'categories'", NULL);
    free(bad);
    bad = replace(GOOD, "\"height\": 24", "\"height\": \"24\"");
    expect_error(bad, "images[0] (id 1)", "'height'");
    free(bad);
}
END_TEST

START_TEST(coco_save_then_load_round_trips)
{
    make_dataset(GOOD);
    char ann[400], out[400];
    fx_path(ann, sizeof ann, "ann.json");
    fx_path(out, sizeof out, "out.json");
    rk_coco a, b;
    rk_err err = {0};
    ck_assert(rk_coco_load(&a, ann, &err) == RK_OK);
    ck_assert(rk_coco_save(&a, out, &err) == RK_OK);
    ck_assert_msg(rk_coco_load(&b, out, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(a.nanns, b.nanns);
    for (size_t i = 0; i < a.nanns; i++) {
        ck_assert(a.anns[i].id == b.anns[i].id && a.anns[i].area == b.anns[i].area);
        for (int k = 0; k < 4; k++) ck_assert(a.anns[i].bbox[k] == b.anns[i].bbox[k]);
    }
    ck_assert_str_eq(b.images[1].file_name, "b.jpg");
    ck_assert_str_eq(b.cats[1].name, "dog");
    rk_coco_free(&a), rk_coco_free(&b);
}
END_TEST

/* ---- source folders ---- */
START_TEST(source_folder_loads_with_and_without_labels)
{
    char out[300], dir[400], lab[400];
    fx_path(out, sizeof out, "fs");
    build_tiny(out, 2);
    snprintf(dir, sizeof dir, "%s/source", out);
    snprintf(lab, sizeof lab, "%s/source/labels.csv", out);
    rk_source s;
    rk_err err = {0};
    ck_assert_msg(rk_source_load(&s, dir, lab, 2, &err) == RK_OK, "%s", err.msg);
    ck_assert_int_eq(s.n, 16);
    ck_assert_str_eq(s.files[0], "000001.jpg");
    rk_fashion fm;
    ck_assert(rk_fashion_load(&fm, RK_FASHION_DIR, "train", &err) == RK_OK);
    rk_scene_params p = tiny();
    for (int i = 0; i < 16; i++) {
        rk_image im;
        rk_coco_ann o[64];
        int n, label;
        ck_assert(rk_fashion_render(&p, &fm, RK_SPLIT_SOURCE, i, &im, o, 64, &n, &label, &err) == RK_OK);
        ck_assert_int_eq(s.labels[i], label + 1); /* the file holds class ids (1-based) */
        rk_image_free(&im);
    }
    rk_source_free(&s);
    ck_assert(rk_source_load(&s, dir, NULL, 1, &err) == RK_OK);
    ck_assert_int_eq(s.labels[5], -1);
    ck_assert_int_eq(s.images[5].w, 64);
    rk_source_free(&s);
    rk_fashion_free(&fm);
}
END_TEST

START_TEST(bad_labels_file_and_empty_folder_are_errors)
{
    char out[300], dir[400], lab[400];
    fx_path(out, sizeof out, "fs");
    build_tiny(out, 2);
    snprintf(dir, sizeof dir, "%s/source", out);
    fx_path(lab, sizeof lab, "labels.csv");
    rk_source s;
    rk_err err = {0};
    write_text(lab, "file_name,class_id\n000001.jpg,3\nnope.jpg,2\n");
    ck_assert(rk_source_load(&s, dir, lab, 1, &err) != RK_OK);
    ck_assert_msg(strstr(err.msg, "labels.csv:3") && strstr(err.msg, "nope.jpg"), "%s", err.msg);
    write_text(lab, "file_name,class_id\n000001.jpg,three\n");
    ck_assert(rk_source_load(&s, dir, lab, 1, &err) != RK_OK);
    ck_assert_msg(strstr(err.msg, "labels.csv:2"), "%s", err.msg);
    ck_assert(rk_source_load(&s, fx_tmp, NULL, 1, &err) != RK_OK); /* fx_tmp holds no .jpg */
    ck_assert_msg(strstr(err.msg, "no .jpg"), "%s", err.msg);
}
END_TEST

/* ---- nested fractions ---- */
START_TEST(fractions_are_nested_deterministic_and_hashed)
{
    rk_coco c = {0};
    c.nimages = 101;
    c.images = calloc(c.nimages, sizeof *c.images);
    for (size_t i = 0; i < c.nimages; i++) c.images[i].id = (int64_t)(1000 + 3 * i);
    double fr[4] = {0.1, 0.2, 0.5, 1.0};
    size_t *prev = NULL, nprev = 0;
    char hashes[4][65];
    rk_err err;
    for (int f = 0; f < 4; f++) {
        size_t *idx, n;
        ck_assert(rk_subset(&c, fr[f], 7, &idx, &n, hashes[f], &err) == RK_OK);
        ck_assert_int_eq(n, (size_t)ceil(fr[f] * 101 - 1e-9));
        for (size_t i = 1; i < n; i++) ck_assert(idx[i - 1] < idx[i]);
        for (size_t i = 0; i < nprev; i++) { /* every earlier pick is still chosen */
            int found = 0;
            for (size_t j = 0; j < n && !found; j++) found = idx[j] == prev[i];
            ck_assert_msg(found, "fraction %g lost image %zu of fraction %g", fr[f], prev[i], fr[f - 1]);
        }
        free(prev);
        prev = idx, nprev = n;
    }
    free(prev);
    size_t *idx, n;
    char h[65];
    ck_assert(rk_subset(&c, 0.2, 7, &idx, &n, h, &err) == RK_OK);
    ck_assert_str_eq(h, hashes[1]);
    free(idx);
    ck_assert(rk_subset(&c, 0.2, 8, &idx, &n, h, &err) == RK_OK);
    ck_assert_str_ne(h, hashes[1]);
    free(idx);
    ck_assert_int_eq(rk_subset(&c, 0, 7, &idx, &n, h, &err), RK_EINVAL);
    ck_assert_int_eq(rk_subset(&c, 1.5, 7, &idx, &n, h, &err), RK_EINVAL);
    free(c.images);
}
END_TEST

/* The dev split: fixed across seeds, disjoint from every fraction, which nest inside the
 * rest; the selected dataset carries exactly its images, pixels and annotations. */
START_TEST(dev_split_is_held_out_of_every_fraction)
{
    rk_dataset d = {0};
    rk_coco *c = &d.coco;
    rk_err err = {0};
    c->nimages = 40;
    c->images = calloc(c->nimages, sizeof *c->images);
    d.images = calloc(c->nimages, sizeof *d.images);
    c->anns = calloc(c->nimages, sizeof *c->anns);
    c->cats = calloc(1, sizeof *c->cats);
    c->cats[0] = (rk_coco_cat){7, strdup("shirt")};
    c->ncats = 1;
    for (size_t i = 0; i < c->nimages; i++) {
        char name[32];
        snprintf(name, sizeof name, "%zu.jpg", i);
        c->images[i] = (rk_coco_image){(int64_t)(50 + i), strdup(name), 4, 4};
        ck_assert(rk_image_alloc(&d.images[i], 4, 4, 3, &err) == RK_OK);
        memset(d.images[i].px, (int)i, 48);
        if (i % 2 == 0) /* every other image has one box */
            c->anns[c->nanns++] = (rk_coco_ann){(int64_t)(900 + i), (int64_t)(50 + i), 7, {1, 1, 2, 2}, 4, 0};
    }
    ck_assert(rk_coco_index(c, "test", &err) == RK_OK);
    size_t *dev, *rest, nrest, *dev2, *rest2, nrest2;
    ck_assert(rk_holdout(c, 10, &dev, &rest, &nrest, &err) == RK_OK);
    ck_assert_int_eq(nrest, 30);
    ck_assert(rk_holdout(c, 10, &dev2, &rest2, &nrest2, &err) == RK_OK);
    ck_assert(!memcmp(dev, dev2, 10 * sizeof *dev)); /* deterministic */
    char isdev[40] = {0};
    for (size_t i = 0; i < 10; i++) isdev[dev[i]] = 1;
    for (size_t i = 0; i < nrest; i++) ck_assert(!isdev[rest[i]]);
    for (int seed = 1; seed <= 3; seed++) {
        size_t *small, ns, *all, na;
        char h[65];
        ck_assert(rk_subset_of(c, rest, nrest, 0.2, (uint64_t)seed, &small, &ns, h, &err) == RK_OK);
        ck_assert(rk_subset_of(c, rest, nrest, 1.0, (uint64_t)seed, &all, &na, h, &err) == RK_OK);
        ck_assert_int_eq(ns, 6);
        ck_assert_int_eq(na, 30);
        for (size_t i = 0; i < ns; i++) {
            ck_assert(!isdev[small[i]]);
            int found = 0;
            for (size_t j = 0; j < na; j++) found |= all[j] == small[i];
            ck_assert(found);
        }
        free(small), free(all);
    }
    /* without a pool it is rk_subset */
    size_t *a, na, *b, nb;
    char ha[65], hb[65];
    ck_assert(rk_subset(c, 0.5, 3, &a, &na, ha, &err) == RK_OK);
    ck_assert(rk_subset_of(c, NULL, c->nimages, 0.5, 3, &b, &nb, hb, &err) == RK_OK);
    ck_assert_int_eq(na, nb);
    ck_assert(!memcmp(a, b, na * sizeof *a));
    ck_assert_str_eq(ha, hb);
    free(a), free(b);
    rk_dataset s;
    ck_assert(rk_dataset_select(&s, &d, dev, 10, &err) == RK_OK);
    ck_assert_int_eq(s.coco.nimages, 10);
    size_t boxes = 0;
    for (size_t i = 0; i < 10; i++) {
        ck_assert_int_eq(s.coco.images[i].id, c->images[dev[i]].id);
        ck_assert_int_eq(s.images[i].px[47], (int)dev[i]);
        boxes += dev[i] % 2 == 0;
    }
    ck_assert_int_eq(s.coco.nanns, boxes);
    for (size_t k = 0; k < s.coco.nanns; k++)
        ck_assert(rk_coco_image_index(&s.coco, s.coco.anns[k].image_id) >= 0);
    ck_assert(rk_holdout(c, 40, &dev2, &rest2, &nrest2, &err) == RK_EINVAL);
    ck_assert_msg(strstr(err.msg, "leaves none"), "%s", err.msg);
    rk_dataset_free(&s), rk_dataset_free(&d);
    free(dev), free(rest), free(dev2), free(rest2);
}
END_TEST

/* ---- codecs ---- */
START_TEST(gray_jpeg_loads_as_gray_or_rgb)
{
    char p[400];
    fx_path(p, sizeof p, "g.jpg");
    rk_image g, a, b;
    rk_err err = {0};
    ck_assert(rk_image_alloc(&g, 20, 10, 1, &err) == RK_OK);
    for (int i = 0; i < 200; i++) g.px[i] = (uint8_t)(i % 20 * 12);
    ck_assert(rk_jpeg_save(&g, p, 95, &err) == RK_OK);
    ck_assert(rk_image_load(&a, p, 0, &err) == RK_OK);
    ck_assert_int_eq(a.c, 1);
    ck_assert(rk_image_load(&b, p, 3, &err) == RK_OK);
    ck_assert_int_eq(b.c, 3);
    ck_assert_int_eq(b.px[3 * 57], b.px[3 * 57 + 2]); /* grey stays grey */
    ck_assert(abs((int)a.px[57] - g.px[57]) <= 4);
    rk_image_free(&g), rk_image_free(&a), rk_image_free(&b);
}
END_TEST

START_TEST(png_holds_the_exact_pixels)
{
    char p[400];
    fx_path(p, sizeof p, "x.png");
    rk_image im;
    rk_err err = {0};
    ck_assert(rk_image_alloc(&im, 7, 5, 3, &err) == RK_OK);
    for (int i = 0; i < 105; i++) im.px[i] = (uint8_t)(i * 37);
    ck_assert(rk_png_save(&im, p, &err) == RK_OK);
    char *data;
    size_t n;
    ck_assert(rk_read_file(p, &data, &n, &err) == RK_OK);
    const unsigned char *u = (const unsigned char *)data;
    ck_assert(!memcmp(u, "\x89PNG\r\n\x1a\n", 8) && !memcmp(u + 12, "IHDR", 4));
    ck_assert(u[19] == 7 && u[23] == 5 && u[24] == 8 && u[25] == 2);
    ck_assert(!memcmp(u + 37, "IDAT", 4));
    uint32_t zl = (uint32_t)u[33] << 24 | u[34] << 16 | u[35] << 8 | u[36];
    unsigned char raw[200];
    uLongf rl = sizeof raw;
    ck_assert(uncompress(raw, &rl, u + 41, zl) == Z_OK);
    ck_assert_int_eq(rl, 5 * (7 * 3 + 1));
    for (int y = 0; y < 5; y++) {
        ck_assert_int_eq(raw[y * 22], 0);
        ck_assert(!memcmp(raw + y * 22 + 1, im.px + y * 21, 21));
    }
    free(data);
    rk_image_free(&im);
}
END_TEST

/* ---- PNG input: decoded by content, with the JPEG path's checks ---- */

/* Writes px (w x h, `fmt` one of libpng's simplified formats) as a PNG at path. */
static void write_png(const char *path, const void *px, int w, int h, png_uint_32 fmt)
{
    png_image pi = {.version = PNG_IMAGE_VERSION, .width = (png_uint_32)w,
                    .height = (png_uint_32)h, .format = fmt};
    ck_assert_msg(png_image_write_to_file(&pi, path, 0, px, 0, NULL), "%s", pi.message);
}

/* The twin of make_dataset's JPEG dataset: every image decoded, saved as PNG under `name`
 * (a.png, b.png; or with the JPEG's names, to show the name plays no part). */
static void write_png_twin(const rk_dataset *d, const char *dir, int keep_names)
{
    char p[600];
    ck_assert(mkdir(dir, 0755) == 0);
    for (size_t i = 0; i < d->coco.nimages; i++) {
        const char *fn = d->coco.images[i].file_name;
        snprintf(p, sizeof p, "%s/%.*s%s", dir, (int)(strlen(fn) - 4), fn,
                 keep_names ? ".jpg" : ".png");
        write_png(p, d->images[i].px, d->images[i].w, d->images[i].h, PNG_FORMAT_RGB);
    }
}

/* Issue 20: the same pixels as PNG train identically: a dataset whose images are PNG copies
 * of a JPEG dataset's decoded pixels decodes to identical tensors, whatever the files are
 * called (a PNG named .jpg is still a PNG). */
START_TEST(a_png_dataset_decodes_to_the_pixels_of_its_jpeg_twin)
{
    make_dataset(GOOD);
    char ann[400], png_dir[400], png_ann[400], named_dir[400];
    fx_path(ann, sizeof ann, "ann.json");
    rk_dataset jd, pd, nd;
    rk_err err = {0};
    ck_assert_msg(rk_dataset_load(&jd, fx_tmp, ann, 1, &err) == RK_OK, "%s", err.msg);
    fx_path(png_dir, sizeof png_dir, "png");
    write_png_twin(&jd, png_dir, 0);
    char *pj = replace(GOOD, "a.jpg", "a.png"), *pj2 = replace(pj, "b.jpg", "b.png");
    fx_path(png_ann, sizeof png_ann, "png_ann.json");
    write_text(png_ann, pj2);
    free(pj), free(pj2);
    ck_assert_msg(rk_dataset_load(&pd, png_dir, png_ann, 2, &err) == RK_OK, "%s", err.msg);
    fx_path(named_dir, sizeof named_dir, "named");
    write_png_twin(&jd, named_dir, 1);
    ck_assert_msg(rk_dataset_load(&nd, named_dir, ann, 2, &err) == RK_OK, "%s", err.msg);
    for (size_t i = 0; i < jd.coco.nimages; i++) {
        const rk_image *a = &jd.images[i], *b = &pd.images[i], *c = &nd.images[i];
        ck_assert(a->w == b->w && a->h == b->h && a->c == b->c && b->c == 3);
        ck_assert(c->w == a->w && c->h == a->h && c->c == 3);
        size_t bytes = (size_t)a->w * a->h * 3;
        ck_assert(!memcmp(a->px, b->px, bytes));
        ck_assert(!memcmp(a->px, c->px, bytes));
    }
    rk_dataset_free(&jd), rk_dataset_free(&pd), rk_dataset_free(&nd);
}
END_TEST

/* Gray PNGs load as gray or RGB (gray repeated); RGBA drops its alpha; 16-bit samples keep
 * their high byte; a palette is expanded. */
START_TEST(png_colour_types_load_as_gray_or_rgb)
{
    char p[400];
    fx_path(p, sizeof p, "g.png");
    uint8_t g[6 * 4], rgba[6 * 4 * 4];
    uint16_t g16[6 * 4];
    for (int i = 0; i < 24; i++) {
        g[i] = (uint8_t)(i * 10);
        g16[i] = (uint16_t)(i * 2570 + 7);
        for (int k = 0; k < 3; k++) rgba[4 * i + k] = (uint8_t)(i * 3 + k * 50);
        rgba[4 * i + 3] = (uint8_t)(i * 11);
    }
    rk_image a, b;
    rk_err err = {0};
    write_png(p, g, 6, 4, PNG_FORMAT_GRAY);
    ck_assert_msg(rk_image_load(&a, p, 0, &err) == RK_OK, "%s", err.msg);
    ck_assert(a.c == 1 && a.w == 6 && a.h == 4 && !memcmp(a.px, g, 24));
    ck_assert(rk_image_load(&b, p, 3, &err) == RK_OK);
    ck_assert_int_eq(b.c, 3);
    for (int i = 0; i < 24; i++)
        ck_assert(b.px[3 * i] == g[i] && b.px[3 * i + 1] == g[i] && b.px[3 * i + 2] == g[i]);
    rk_image_free(&a), rk_image_free(&b);
    write_png(p, rgba, 6, 4, PNG_FORMAT_RGBA);
    ck_assert(rk_image_load(&a, p, 0, &err) == RK_OK);
    ck_assert_int_eq(a.c, 3);
    for (int i = 0; i < 24; i++)
        for (int k = 0; k < 3; k++) ck_assert_int_eq(a.px[3 * i + k], rgba[4 * i + k]);
    rk_image_free(&a);
    write_png(p, g16, 6, 4, PNG_FORMAT_LINEAR_Y); /* 16-bit gray */
    ck_assert(rk_image_load(&a, p, 0, &err) == RK_OK);
    ck_assert_int_eq(a.c, 1);
    for (int i = 0; i < 24; i++) ck_assert_int_eq(a.px[i], g16[i] >> 8);
    rk_image_free(&a);
}
END_TEST

/* A PNG cut short, one whose IDAT is corrupt, and a file neither JPEG nor PNG: errors naming
 * the file, nothing half-decoded. */
START_TEST(truncated_or_corrupt_pngs_are_errors_naming_the_file)
{
    char p[400];
    fx_path(p, sizeof p, "t.png");
    uint8_t px[32 * 8 * 3];
    for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)(i * 13 + i / 7);
    write_png(p, px, 32, 8, PNG_FORMAT_RGB);
    char *data;
    size_t n;
    rk_err err = {0};
    ck_assert(rk_read_file(p, &data, &n, &err) == RK_OK);
    rk_image im;
    for (size_t cut = 20; cut < n; cut += 11) { /* every cut, header to IEND */
        ck_assert_int_eq(rk_image_decode(&im, (unsigned char *)data, cut, 3, "t.png", &err),
                         RK_EFORMAT);
        ck_assert_msg(strstr(err.msg, "t.png") && strstr(err.msg, "PNG"), "%s", err.msg);
        ck_assert(im.px == NULL);
    }
    data[n - 20] ^= 0x55; /* inside IDAT: its CRC no longer matches */
    ck_assert_int_eq(rk_png_decode(&im, (unsigned char *)data, n, 3, "t.png", &err), RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "corrupt or truncated PNG"), "%s", err.msg);
    free(data);
    ck_assert_int_eq(rk_image_decode(&im, (const unsigned char *)"GIF89a....", 10, 3, "x.gif",
                                     &err), RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "x.gif: neither a JPEG nor a PNG"), "%s", err.msg);
}
END_TEST

/* As for JPEG (issue 25): a PNG header claiming 65500 x 65500 is compared with the
 * annotation's size, and refused beyond RK_IMAGE_MAX_*, before anything is allocated. */
START_TEST(a_huge_png_header_allocates_nothing)
{
    make_dataset(GOOD);
    char p[400], ann[400];
    fx_path(p, sizeof p, "b.jpg"); /* a PNG under the JPEG's name */
    uint8_t px[16 * 16 * 3] = {0};
    write_png(p, px, 16, 16, PNG_FORMAT_RGB);
    char *data;
    size_t n;
    rk_err err = {0};
    ck_assert(rk_read_file(p, &data, &n, &err) == RK_OK);
    unsigned char *u = (unsigned char *)data;
    ck_assert(!memcmp(u + 12, "IHDR", 4));
    u[18] = u[22] = 0xFF, u[19] = u[23] = 0xDC; /* 65500 x 65500, the CRC made to match */
    uint32_t crc = (uint32_t)crc32(0L, u + 12, 17);
    u[29] = crc >> 24, u[30] = crc >> 16, u[31] = crc >> 8, u[32] = crc;
    FILE *f = fopen(p, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
    free(data);
    fx_path(ann, sizeof ann, "ann.json");
    rk_dataset d;
    ck_assert_int_eq(rk_dataset_load(&d, fx_tmp, ann, 1, &err), RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "65500x65500, the annotations say 16x16") &&
                  strstr(err.msg, "b.jpg") && strstr(err.msg, "image id 2"), "%s", err.msg);
    rk_image im;
    ck_assert_int_eq(rk_image_load(&im, p, 3, &err), RK_EFORMAT);
    ck_assert_msg(strstr(err.msg, "larger than rethink reads"), "%s", err.msg);
    ck_assert(im.px == NULL);
}
END_TEST

Suite *suite_data(void)
{
    Suite *s = suite_create("data");
    TCase *b = tcase_create("build");
    tcase_add_checked_fixture(b, fx_tmp_setup, fx_tmp_teardown);
    tcase_set_timeout(b, 120);
    tcase_add_test(b, built_annotations_equal_what_was_rendered);
    tcase_add_test(b, rendered_boxes_are_tight_around_visible_object_pixels);
    tcase_add_test(b, same_seed_gives_byte_identical_files_whatever_the_thread_count);
    tcase_add_test(b, the_shifted_set_is_deterministic_cached_and_another_look);
    tcase_add_test(b, different_seed_gives_different_data);
    tcase_add_test(b, a_build_appears_only_when_it_is_complete);
    tcase_add_test(b, scene_parameters_out_of_range_name_the_option);
    suite_add_tcase(s, b);
    TCase *l = tcase_create("load");
    tcase_add_checked_fixture(l, fx_tmp_setup, fx_tmp_teardown);
    tcase_add_test(l, valid_dataset_loads_with_decoded_images);
    tcase_add_test(l, malformed_json_reports_line_and_column);
    tcase_add_test(l, missing_image_file_names_file_and_id);
    tcase_add_test(l, undecodable_and_truncated_jpegs_are_errors);
    tcase_add_test(l, image_size_differing_from_json_is_an_error);
    tcase_add_test(l, a_file_name_outside_the_images_folder_is_refused);
    tcase_add_test(l, a_jpeg_without_a_frame_is_an_error);
    tcase_add_test(l, a_huge_jpeg_header_allocates_nothing);
    tcase_add_test(l, a_device_a_fifo_or_a_folder_is_not_an_image);
    tcase_add_test(l, box_wholly_outside_image_or_non_positive_is_an_error);
    tcase_add_test(l, a_box_partly_outside_is_kept_as_is_and_clipped_for_training);
    tcase_add_test(l, unknown_category_or_image_is_an_error);
    tcase_add_test(l, duplicate_ids_are_errors);
    tcase_add_test(l, missing_keys_and_wrong_types_are_errors);
    tcase_add_test(l, coco_save_then_load_round_trips);
    tcase_add_test(l, source_folder_loads_with_and_without_labels);
    tcase_add_test(l, bad_labels_file_and_empty_folder_are_errors);
    tcase_add_test(l, fractions_are_nested_deterministic_and_hashed);
    tcase_add_test(l, dev_split_is_held_out_of_every_fraction);
    tcase_add_test(l, gray_jpeg_loads_as_gray_or_rgb);
    tcase_add_test(l, png_holds_the_exact_pixels);
    tcase_add_test(l, a_png_dataset_decodes_to_the_pixels_of_its_jpeg_twin);
    tcase_add_test(l, png_colour_types_load_as_gray_or_rgb);
    tcase_add_test(l, truncated_or_corrupt_pngs_are_errors_naming_the_file);
    tcase_add_test(l, a_huge_png_header_allocates_nothing);
    suite_add_tcase(s, l);
    return s;
}
