/* rethink data: images, COCO-format detection datasets, and their loading.
 *
 * Images are uint8, interleaved (HWC), 1 or 3 channels. A COCO dataset is held as plain
 * arrays of images, annotations and categories in file order; lookups by id go through
 * rk_coco_image_index / rk_coco_cat_index (binary search over sorted id tables built at load).
 * Every loader validates fully before returning: on error nothing half-loaded is handed out
 * and the message names the file and the offending id (or JSON line and column). */
#ifndef RETHINK_DATA_H
#define RETHINK_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "rethink/core.h"

/* ---- images ---- */
typedef struct rk_image {
    int w, h, c;   /* c: 1 (gray) or 3 (RGB) */
    uint8_t *px;   /* h * w * c bytes, row-major, interleaved */
} rk_image;

int rk_image_alloc(rk_image *im, int w, int h, int c, rk_err *err);
void rk_image_free(rk_image *im);

/* JPEG through libjpeg-turbo. load: any size, gray or RGB, converted to `want_c` channels
 * (1 or 3; 0 keeps the file's). save: quality 1..100; deterministic bytes for equal input. */
int rk_jpeg_load(rk_image *im, const char *path, int want_c, rk_err *err);
int rk_jpeg_decode(rk_image *im, const unsigned char *buf, size_t n, int want_c,
                   const char *name, rk_err *err);
int rk_jpeg_save(const rk_image *im, const char *path, int quality, rk_err *err);
/* PNG (zlib), for figures a person looks at (grids of samples). */
int rk_png_save(const rk_image *im, const char *path, rk_err *err);

/* ---- COCO-format detection datasets ---- */
typedef struct rk_coco_image {
    int64_t id;
    char *file_name;
    int width, height;
} rk_coco_image;

typedef struct rk_coco_ann {
    int64_t id, image_id;
    int category_id;
    double bbox[4]; /* x, y, w, h in pixels */
    double area;
    int iscrowd;
} rk_coco_ann;

typedef struct rk_coco_cat {
    int id;
    char *name;
} rk_coco_cat;

typedef struct rk_coco {
    rk_coco_image *images;
    size_t nimages;
    rk_coco_ann *anns;
    size_t nanns;
    rk_coco_cat *cats;
    size_t ncats;
    /* private: sorted id -> index tables */
    size_t *img_order, *cat_order;
} rk_coco;

/* Parses and validates an instances JSON: required keys and types, unique image /
 * annotation / category ids, annotations referring to known images and categories, boxes
 * with positive size inside their image (1e-3 px slack). Malformed JSON reports line and
 * column. */
int rk_coco_load(rk_coco *c, const char *path, rk_err *err);
/* Writes instances JSON (images, annotations, categories), deterministic formatting. */
int rk_coco_save(const rk_coco *c, const char *path, rk_err *err);
void rk_coco_free(rk_coco *c);
/* Builds the id tables and validates (what rk_coco_load does after parsing); for datasets
 * assembled in memory. `what` names the dataset in messages. */
int rk_coco_index(rk_coco *c, const char *what, rk_err *err);
/* Index into images[] / cats[] of an id, or -1. */
long rk_coco_image_index(const rk_coco *c, int64_t id);
long rk_coco_cat_index(const rk_coco *c, int id);

/* Reads a whole file (NUL-terminated); *n gets the length. */
int rk_read_file(const char *path, char **data, size_t *n, rk_err *err);
/* Line and column (1-based) of byte offset `off` in text. */
void rk_text_position(const char *text, size_t off, int *line, int *col);

#endif
