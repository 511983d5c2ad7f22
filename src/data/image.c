/* Images: allocation, decoding of JPEG (libjpeg-turbo's TurboJPEG API) and PNG (libpng),
 * chosen by the file's first bytes and never by its name, JPEG encoding, and PNG writing
 * (zlib) for figures. Decoding validates the whole stream: a truncated or corrupt file is an
 * error naming it, never a half-decoded image; both decoders check the header's size against
 * the annotation's and RK_IMAGE_MAX_* before any pixel is allocated. */
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>
#include <zlib.h>

#include "rethink/data.h"

int rk_image_alloc(rk_image *im, int w, int h, int c, rk_err *err)
{
    memset(im, 0, sizeof *im);
    if (w <= 0 || h <= 0 || (c != 1 && c != 3))
        return rk_errf(err, RK_EINVAL, "image: bad geometry %dx%dx%d", w, h, c);
    im->px = calloc((size_t)w * h * c, 1);
    if (!im->px) return rk_errf(err, RK_ENOMEM, "image: out of memory (%dx%d)", w, h);
    im->w = w, im->h = h, im->c = c;
    return RK_OK;
}

void rk_image_free(rk_image *im)
{
    if (!im) return;
    free(im->px);
    memset(im, 0, sizeof *im);
}

/* The checks of a header's size, before any pixel is allocated: with want_w > 0 the image
 * must be want_w x want_h (the annotation's), and no image is larger than RK_IMAGE_MAX_*. */
static int check_size(int w, int h, int want_w, int want_h, const char *name, rk_err *err)
{
    if (want_w > 0 && (w != want_w || h != want_h))
        return rk_errf(err, RK_EFORMAT, "%s: the image is %dx%d, the annotations say %dx%d",
                       name, w, h, want_w, want_h);
    if (w > RK_IMAGE_MAX_SIDE || h > RK_IMAGE_MAX_SIDE || (int64_t)w * h > RK_IMAGE_MAX_PIXELS)
        return rk_errf(err, RK_EFORMAT, "%s: a %dx%d image is larger than rethink reads (at "
                       "most %d px a side and %d Mpx)", name, w, h, RK_IMAGE_MAX_SIDE,
                       RK_IMAGE_MAX_PIXELS >> 20);
    return RK_OK;
}

/* Decodes the JPEG in buf; with want_w > 0 the header's size must be want_w x want_h. */
static int decode_jpeg(rk_image *im, const unsigned char *buf, size_t n, int want_c, int want_w,
                  int want_h, const char *name, rk_err *err)
{
    memset(im, 0, sizeof *im);
    tjhandle tj = tjInitDecompress();
    if (!tj) return rk_errf(err, RK_ENOMEM, "%s: cannot start JPEG decoder", name);
    /* a header without a frame (SOI, DQT, EOI) passes tjDecompressHeader3 and leaves these
     * as they were: they must start at 0 */
    int w = 0, h = 0, sub = 0, cs = 0, rc = RK_OK;
    if (tjDecompressHeader3(tj, buf, (unsigned long)n, &w, &h, &sub, &cs) != 0) {
        rc = rk_errf(err, RK_EFORMAT, "%s: not a JPEG, or corrupt or truncated (%s)", name,
                     tjGetErrorStr2(tj));
        goto done;
    }
    if (w <= 0 || h <= 0) {
        rc = rk_errf(err, RK_EFORMAT, "%s: a JPEG without an image frame (no size)", name);
        goto done;
    }
    if ((rc = check_size(w, h, want_w, want_h, name, err))) goto done;
    int c = want_c ? want_c : (cs == TJCS_GRAY ? 1 : 3);
    if ((rc = rk_image_alloc(im, w, h, c, err))) goto done;
    /* TJFLAG_STOPONWARNING: a truncated stream (libjpeg's "premature end") is an error. */
    if (tjDecompress2(tj, buf, (unsigned long)n, im->px, w, 0, h, c == 1 ? TJPF_GRAY : TJPF_RGB,
                      TJFLAG_STOPONWARNING | TJFLAG_ACCURATEDCT) != 0) {
        rc = rk_errf(err, RK_EFORMAT, "%s: corrupt or truncated JPEG (%s)", name,
                     tjGetErrorStr2(tj));
        rk_image_free(im);
    }
done:
    tjDestroy(tj);
    return rc;
}

int rk_jpeg_decode(rk_image *im, const unsigned char *buf, size_t n, int want_c,
                   const char *name, rk_err *err)
{
    return decode_jpeg(im, buf, n, want_c, 0, 0, name, err);
}

/* ---- PNG through libpng: errors longjmp back to decode_png with the message kept ---- */
typedef struct png_src {
    const unsigned char *p;
    size_t n, off;
    char msg[160];
} png_src;

static void png_read_mem(png_structp png, png_bytep out, size_t len)
{
    png_src *s = png_get_io_ptr(png);
    if (len > s->n - s->off) png_error(png, "the file ends early (truncated)");
    memcpy(out, s->p + s->off, len);
    s->off += len;
}

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_src *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(png, 1);
}

/* Warnings (an ancillary chunk's bad CRC, a known-incorrect sRGB profile) leave the pixels
 * intact: ignored, as every common reader does. */
static void png_on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

/* want_c for a label map (rk_label_map_load): one channel of raw values, never converted */
#define LABELS (-1)

/* Decodes the PNG in buf to 8-bit gray or RGB: 16-bit samples keep their high byte (as
 * Pillow does), a palette is expanded, an alpha channel or tRNS transparency is dropped (as
 * Pillow's convert('RGB') does); gray to RGB repeats the gray, RGB to gray weighs
 * 0.299/0.587/0.114 (ITU-R 601, the luma of JPEG). want_c = LABELS: a gray PNG's values or
 * an indexed PNG's palette indices (PASCAL VOC's label maps), at most 8 bits and unscaled;
 * any other PNG is refused (its colours are not class ids). The rest of the stream up to
 * IEND is read and its critical CRCs checked. */
static int decode_png(rk_image *im, const unsigned char *buf, size_t n, int want_c, int want_w,
                      int want_h, const char *name, rk_err *err)
{
    memset(im, 0, sizeof *im);
    png_src src = {.p = buf, .n = n};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error,
                                             png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return rk_errf(err, RK_ENOMEM, "%s: cannot start PNG decoder", name);
    }
    /* set before the longjmp target; read after it */
    png_bytep *volatile rows = NULL;
    volatile int rc = RK_OK;
    if (setjmp(png_jmpbuf(png))) {
        if (!rc) rc = rk_errf(err, RK_EFORMAT, "%s: corrupt or truncated PNG (%s)", name, src.msg);
        rk_image_free(im);
        goto done;
    }
    png_set_read_fn(png, &src, png_read_mem);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int type = png_get_color_type(png, info);
    /* libpng refuses more than 1,000,000 px a side (its default user limit): ints hold it */
    if ((rc = check_size((int)w, (int)h, want_w, want_h, name, err))) goto done;
    int file_c = type & PNG_COLOR_MASK_COLOR ? 3 : 1;
    int c = want_c == LABELS ? 1 : want_c ? want_c : file_c;
    if (want_c == LABELS) {
        int depth = png_get_bit_depth(png, info);
        if ((type != PNG_COLOR_TYPE_GRAY && type != PNG_COLOR_TYPE_PALETTE) || depth > 8) {
            rc = rk_errf(err, RK_EFORMAT, "%s: a label map is an 8-bit gray PNG (each value a "
                         "class id) or an indexed one (each palette index a class id, as PASCAL "
                         "VOC's); this is %d-bit %s", name, depth,
                         type == PNG_COLOR_TYPE_GRAY ? "gray" : type == PNG_COLOR_TYPE_GRAY_ALPHA
                         ? "gray with alpha" : type == PNG_COLOR_TYPE_RGB ? "RGB" : "RGBA");
            goto done;
        }
        png_set_packing(png); /* 1, 2 and 4-bit values or indices to bytes, unscaled */
    } else {
        png_set_strip_16(png);
        png_set_strip_alpha(png);
        png_set_palette_to_rgb(png);
        png_set_expand_gray_1_2_4_to_8(png);
        if (c == 3 && file_c == 1) png_set_gray_to_rgb(png);
        if (c == 1 && file_c == 3)
            png_set_rgb_to_gray_fixed(png, PNG_ERROR_ACTION_NONE, 29900, 58700);
    }
    (void)png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_channels(png, info) != c || png_get_rowbytes(png, info) != (size_t)w * c) {
        rc = rk_errf(err, RK_EFORMAT, "%s: a PNG of colour type %d that rethink cannot convert "
                     "to %d channels", name, type, c);
        goto done;
    }
    if ((rc = rk_image_alloc(im, (int)w, (int)h, c, err))) goto done;
    if (!(rows = malloc(h * sizeof *rows))) {
        rc = rk_errf(err, RK_ENOMEM, "%s: out of memory", name);
        rk_image_free(im);
        goto done;
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = im->px + (size_t)y * w * c;
    png_read_image(png, rows);
    png_read_end(png, NULL);
done:
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    return rc;
}

int rk_png_decode(rk_image *im, const unsigned char *buf, size_t n, int want_c,
                  const char *name, rk_err *err)
{
    return decode_png(im, buf, n, want_c, 0, 0, name, err);
}

static const unsigned char PNG_MAGIC[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

/* The format by content: PNG's 8-byte signature, or JPEG's SOI marker (FF D8 FF). */
static int decode(rk_image *im, const unsigned char *buf, size_t n, int want_c, int want_w,
                  int want_h, const char *name, rk_err *err)
{
    if (n >= 8 && !memcmp(buf, PNG_MAGIC, 8))
        return decode_png(im, buf, n, want_c, want_w, want_h, name, err);
    if (want_c == LABELS) {
        memset(im, 0, sizeof *im);
        return rk_errf(err, RK_EFORMAT, "%s: a label map is a PNG (by its first bytes this is "
                       "not one; a JPEG's lossy values are no class ids)", name);
    }
    if (n >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF)
        return decode_jpeg(im, buf, n, want_c, want_w, want_h, name, err);
    memset(im, 0, sizeof *im);
    return rk_errf(err, RK_EFORMAT, "%s: neither a JPEG nor a PNG (by its first bytes%s): "
                   "rethink reads those two", name, n ? "" : "; the file is empty");
}

int rk_image_decode(rk_image *im, const unsigned char *buf, size_t n, int want_c,
                    const char *name, rk_err *err)
{
    return decode(im, buf, n, want_c, 0, 0, name, err);
}

/* An image file's bytes: a regular file of at most RK_IMAGE_MAX_BYTES. A FIFO is opened
 * without waiting for a writer and refused, as are devices (/dev/zero would be read until
 * memory runs out) and folders. */
static int read_image_file(const char *path, char **data, size_t *n, rk_err *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return rk_errf(err, RK_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int rc = RK_OK;
    char *p = NULL;
    if (fstat(fd, &st) != 0) {
        rc = rk_errf(err, RK_EIO, "%s: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        rc = rk_errf(err, RK_EFORMAT, "%s: not a regular file (a %s): refused as an image", path,
                     S_ISDIR(st.st_mode) ? "folder" : S_ISFIFO(st.st_mode) ? "FIFO"
                     : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "device" : "socket");
    } else if (st.st_size > RK_IMAGE_MAX_BYTES) {
        rc = rk_errf(err, RK_EFORMAT, "%s: %lld bytes, more than an image file may have (%d MB)",
                     path, (long long)st.st_size, RK_IMAGE_MAX_BYTES >> 20);
    } else if (!(p = malloc((size_t)st.st_size + 1))) {
        rc = rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
    } else {
        size_t got = 0, want = (size_t)st.st_size;
        while (got < want) { /* a file that shrank meanwhile reads short: corrupt below */
            ssize_t r = read(fd, p + got, want - got);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) {
                rc = rk_errf(err, RK_EIO, "%s: read error: %s", path, strerror(errno));
                break;
            }
            if (r == 0) break;
            got += (size_t)r;
        }
        p[got] = 0;
        *n = got;
    }
    close(fd);
    if (rc) free(p);
    else *data = p;
    return rc;
}

int rk_label_map_load(rk_image *im, const char *path, int want_w, int want_h, rk_err *err)
{
    return rk_image_load_sized(im, path, LABELS, want_w, want_h, err);
}

int rk_label_map_decode(rk_image *im, const unsigned char *buf, size_t n, const char *name,
                        rk_err *err)
{
    return decode(im, buf, n, LABELS, 0, 0, name, err);
}

int rk_image_load_sized(rk_image *im, const char *path, int want_c, int want_w, int want_h,
                        rk_err *err)
{
    char *data = NULL;
    size_t n = 0;
    int rc = read_image_file(path, &data, &n, err);
    if (rc) {
        memset(im, 0, sizeof *im);
        return rc;
    }
    rc = decode(im, (const unsigned char *)data, n, want_c, want_w, want_h, path, err);
    free(data);
    return rc;
}

int rk_image_load(rk_image *im, const char *path, int want_c, rk_err *err)
{
    return rk_image_load_sized(im, path, want_c, 0, 0, err);
}

static int write_all(const char *path, const void *p, size_t n, rk_err *err)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return rk_errf(err, RK_EINVAL, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (f) fwrite(p, 1, n, f);
    return rk_file_replace(f, tmp, path, err);
}

int rk_jpeg_save(const rk_image *im, const char *path, int quality, rk_err *err)
{
    tjhandle tj = tjInitCompress();
    if (!tj) return rk_errf(err, RK_ENOMEM, "%s: cannot start JPEG encoder", path);
    unsigned char *out = NULL;
    unsigned long n = 0;
    int rc = RK_OK;
    if (tjCompress2(tj, im->px, im->w, 0, im->h, im->c == 1 ? TJPF_GRAY : TJPF_RGB, &out, &n,
                    im->c == 1 ? TJSAMP_GRAY : TJSAMP_444, quality, TJFLAG_ACCURATEDCT) != 0)
        rc = rk_errf(err, RK_EIO, "%s: JPEG encoding failed (%s)", path, tjGetErrorStr2(tj));
    else
        rc = write_all(path, out, n, err);
    tjFree(out);
    tjDestroy(tj);
    return rc;
}

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
}

static int chunk(unsigned char **buf, size_t *n, size_t *cap, const char *type,
                 const unsigned char *data, size_t len)
{
    size_t need = *n + len + 12;
    if (need > *cap) {
        size_t c = *cap ? *cap : 1024;
        while (c < need) c *= 2;
        unsigned char *q = realloc(*buf, c);
        if (!q) return -1;
        *buf = q, *cap = c;
    }
    unsigned char *p = *buf + *n;
    be32(p, (uint32_t)len);
    memcpy(p + 4, type, 4);
    if (len) memcpy(p + 8, data, len);
    be32(p + 8 + len, (uint32_t)crc32(0L, p + 4, (uInt)(len + 4)));
    *n = need;
    return 0;
}

int rk_png_save(const rk_image *im, const char *path, rk_err *err)
{
    size_t row = (size_t)im->w * im->c, raw_n = (row + 1) * im->h;
    unsigned char *raw = malloc(raw_n);
    uLongf zn = compressBound((uLong)raw_n);
    unsigned char *z = malloc(zn);
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = RK_OK;
    if (!raw || !z) {
        rc = rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int y = 0; y < im->h; y++) {
        raw[y * (row + 1)] = 0; /* filter: none */
        memcpy(raw + y * (row + 1) + 1, im->px + y * row, row);
    }
    if (compress2(z, &zn, raw, (uLong)raw_n, 6) != Z_OK) {
        rc = rk_errf(err, RK_EIO, "%s: PNG compression failed", path);
        goto done;
    }
    unsigned char ihdr[13];
    be32(ihdr, (uint32_t)im->w);
    be32(ihdr + 4, (uint32_t)im->h);
    ihdr[8] = 8, ihdr[9] = im->c == 1 ? 0 : 2, ihdr[10] = ihdr[11] = ihdr[12] = 0;
    buf = malloc(8);
    if (!buf) {
        rc = rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    memcpy(buf, PNG_MAGIC, 8);
    n = cap = 8;
    if (chunk(&buf, &n, &cap, "IHDR", ihdr, 13) || chunk(&buf, &n, &cap, "IDAT", z, zn) ||
        chunk(&buf, &n, &cap, "IEND", NULL, 0)) {
        rc = rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    rc = write_all(path, buf, n, err);
done:
    free(raw), free(z), free(buf);
    return rc;
}
