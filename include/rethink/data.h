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

/* What an image read from a file may be at most: the input bounds every allocation. A
 * side, the pixels (64 Mpx: 192 MB as RGB) and the file's bytes. */
#define RK_IMAGE_MAX_SIDE 32768
#define RK_IMAGE_MAX_PIXELS (1 << 26)
#define RK_IMAGE_MAX_BYTES (256 << 20)

/* Image files: JPEG (libjpeg-turbo) or PNG (libpng), told apart by their first bytes, never
 * by the file's name. load: any size up to the limits above, gray or RGB, converted to
 * `want_c` channels (1 or 3; 0 keeps the file's); a PNG's alpha is dropped and 16-bit
 * samples keep their high byte; the path must be a regular file (a FIFO or a device is
 * refused, never read). load_sized: the image must be want_w x want_h (a COCO image's stated
 * size), checked from the header before any pixel is allocated. decode: the same from
 * memory; rk_jpeg_decode and rk_png_decode accept only their own format.
 * rk_jpeg_save: quality 1..100; deterministic bytes for equal input. */
int rk_image_load(rk_image *im, const char *path, int want_c, rk_err *err);
int rk_image_load_sized(rk_image *im, const char *path, int want_c, int want_w, int want_h,
                        rk_err *err);
int rk_image_decode(rk_image *im, const unsigned char *buf, size_t n, int want_c,
                    const char *name, rk_err *err);
/* A label map: a PNG of want_w x want_h whose samples are read as they are, one channel —
 * an 8-bit (or 1/2/4-bit) gray PNG's values or an indexed PNG's palette indices (PASCAL
 * VOC's format), never a colour's brightness; RGB, alpha, 16-bit PNGs and JPEGs are refused,
 * saying what the file is. */
int rk_label_map_load(rk_image *im, const char *path, int want_w, int want_h, rk_err *err);
/* The same from memory, at any size (the fuzz harness's way in). */
int rk_label_map_decode(rk_image *im, const unsigned char *buf, size_t n, const char *name,
                        rk_err *err);
int rk_jpeg_decode(rk_image *im, const unsigned char *buf, size_t n, int want_c,
                   const char *name, rk_err *err);
int rk_png_decode(rk_image *im, const unsigned char *buf, size_t n, int want_c,
                  const char *name, rk_err *err);
int rk_jpeg_save(const rk_image *im, const char *path, int quality, rk_err *err);
/* PNG (zlib), for figures a person looks at (grids of samples), and read back exactly. */
int rk_png_save(const rk_image *im, const char *path, rk_err *err);

/* ---- boxes: the one box type of every stage from augmentation to decoding ---- */
/* Continuous pixel coordinates: pixel (row i, col j) covers [j, j+1) x [i, i+1), so a box of
 * an object covering pixel columns a..b has x = a, w = b - a + 1. */
typedef struct rk_box {
    double x, y, w, h;
    int cls;    /* augmentation: carried through untouched (a category id); CenterNet
                 * targets: the 0-based class index */
    double vis; /* fraction of the object's box still inside the image: 1 on input; each
                 * geometric op or crop multiplies it by the part of the transformed box's
                 * area that stays inside the image */
} rk_box;

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
    /* annotations whose box extends past its image (more than 1e-3 px): kept as the file
     * has them, as pycocotools does; training clips them (rk_coco_box_clip) */
    size_t noutside;
    /* private: sorted id -> index tables */
    size_t *img_order, *cat_order;
} rk_coco;

/* Parses and validates an instances JSON: required keys and types, unique image /
 * annotation / category ids, annotations referring to known images and categories, boxes
 * with positive size that overlap their image. A box partly outside its image is accepted
 * unchanged, as pycocotools accepts it (c->noutside counts them); one wholly outside is an
 * error naming it. Malformed JSON reports line and column. */
int rk_coco_load(rk_coco *c, const char *path, rk_err *err);
/* Writes instances JSON (images, annotations, categories), deterministic formatting. */
int rk_coco_save(const rk_coco *c, const char *path, rk_err *err);
void rk_coco_free(rk_coco *c);
/* Builds the id tables and validates (what rk_coco_load does after parsing); for datasets
 * assembled in memory. `what` names the dataset in messages. */
int rk_coco_index(rk_coco *c, const char *what, rk_err *err);
/* out = the part of box b (x, y, w, h) inside image im; returns 1 if b extends past the
 * image by more than 1e-3 px (out then clipped), else 0 (out = b). What training learns from
 * a box partly outside its image; evaluation scores the box as the file has it. */
int rk_coco_box_clip(const double b[4], const rk_coco_image *im, double out[4]);
/* Index into images[] / cats[] of an id, or -1. */
long rk_coco_image_index(const rk_coco *c, int64_t id);
long rk_coco_cat_index(const rk_coco *c, int id);

/* ---- datasets in memory: annotations + every image decoded once ---- */
typedef struct rk_dataset {
    rk_coco coco;
    rk_image *images; /* images[i] is coco.images[i], decoded RGB */
} rk_dataset;

/* Loads and validates ann_path, then decodes every image of images_dir (threads in
 * parallel) once; a missing, undecodable or truncated image, or one whose size differs from
 * its width/height in the JSON, is an error naming the file and image id. Load a dataset
 * once per process and share it: it is the decode cache. */
int rk_dataset_load(rk_dataset *d, const char *images_dir, const char *ann_path, int threads,
                    rk_err *err);
void rk_dataset_free(rk_dataset *d);

/* A dataset folder's content, for a trial's identity (issue 20): SHA-256 (hex) of a manifest
 * of its annotations/, train/, val/ and source/ folders, then segmentation/train/ and
 * segmentation/val/ where they exist — every file's name, and its bytes' SHA-256 for tables
 * (.json, .csv) and label maps or its size for images — sorted by path. An edited
 * annotation or label file, an image added, removed, renamed or resized gives another
 * fingerprint; the same files in another folder give the same one. An image rewritten with
 * the same size in place is not seen (hashing every image would make each plan read the
 * whole dataset). A folder with none of the four subfolders is an error. */
int rk_dataset_fingerprint(const char *dir, char hex[65], rk_err *err);

/* Source images: every *.jpg, *.jpeg and *.png of a folder (sorted by name; each decoded as
 * its content says), labels optional.
 * labels_path: CSV "file_name,class_id[,class_name]" with a header line; NULL: unlabelled
 * (labels[i] = -1). Every image is decoded once at load. */
typedef struct rk_source {
    size_t n;
    char **files;   /* base names */
    int *labels;    /* class id or -1 */
    rk_image *images;
} rk_source;

int rk_source_load(rk_source *s, const char *dir, const char *labels_path, int threads,
                   rk_err *err);
void rk_source_free(rk_source *s);

/* Labelled fractions: deterministic nested subsets. Images are ranked by a hash of
 * (seed, image id); a fraction takes the first ceil(f * n) of that ranking, so for one seed
 * the 10 % subset is inside the 20 % one, and so on. *idx (malloc'd, sorted ascending) gets
 * indices into c->images; hash (65 chars) the SHA-256 of the chosen ids, sorted, as decimal
 * lines — a trial records it to prove which data it saw. */
int rk_subset(const rk_coco *c, double fraction, uint64_t seed, size_t **idx, size_t *n,
              char hash[65], rk_err *err);
/* The same over a pool of image indices (pool[0..npool), e.g. the train images left after a
 * held-out dev split): a fraction takes the first ceil(f * npool) of the pool's ranking. */
int rk_subset_of(const rk_coco *c, const size_t *pool, size_t npool, double fraction,
                 uint64_t seed, size_t **idx, size_t *n, char hash[65], rk_err *err);
/* A held-out split of k images: the first k of a fixed ranking (seed-independent, so every
 * trial of a study holds out the same images). *dev and *rest (malloc'd, ascending) get the
 * held-out images and the others. */
int rk_holdout(const rk_coco *c, size_t k, size_t **dev, size_t **rest, size_t *nrest,
               rk_err *err);
/* A new dataset of images idx[0..n) of d and their annotations (pixels copied). */
int rk_dataset_select(rk_dataset *out, const rk_dataset *d, const size_t *idx, size_t n,
                      rk_err *err);

/* ---- semantic-segmentation labels ----
 * One 8-bit gray PNG per image, named as the image with .png for its extension, in a folder
 * beside the images (the Fashion scenes: OUT/segmentation/{train,val}). A pixel holds the
 * category id of its class (as the COCO categories number them), 0 for background, or
 * RK_SEG_IGNORE for a pixel no loss and no metric counts (PASCAL VOC's convention). */
#define RK_SEG_IGNORE 255
#define RK_SEG_DIR "segmentation"

/* Reads the label map of every image of d from dir, as class indices: 0 background,
 * 1 + the category id's index among classes' categories (the model's: the train split's,
 * so that a val split listing its categories in another order, or fewer of them, scores the
 * same classes; NULL: d's own) for an object, RK_SEG_IGNORE kept. *labels (n =
 * d->coco.nimages, 1 channel, each its image's size) is allocated here; free with
 * rk_seg_labels_free. A missing or undecodable file, a size other than its image's, or a
 * value that is neither 0, RK_SEG_IGNORE nor a category id of classes, is an error naming
 * the file (and the pixel). */
int rk_seg_labels_load(rk_image **labels, const rk_dataset *d, const rk_coco *classes,
                       const char *dir, int threads, rk_err *err);
void rk_seg_labels_free(rk_image *labels, size_t n);

/* ---- Fashion-MNIST and the default datasets ---- */
#define RK_FASHION_DIR "/usr/share/datasets/fashion-mnist"
extern const char *const rk_fashion_classes[10];

typedef struct rk_fashion {
    int n, rows, cols;
    uint8_t *pixels; /* n * rows * cols, 0 = background */
    uint8_t *labels; /* n, 0..9 */
} rk_fashion;

/* split: "train" or "t10k" (the test split). */
int rk_fashion_load(rk_fashion *f, const char *dir, const char *split, rk_err *err);
void rk_fashion_free(rk_fashion *f);

typedef struct rk_scene_params {
    uint64_t seed;
    int size;                     /* target scene side, px */
    int ntrain, nval, nsource;    /* image counts */
    int source_size;              /* source image side, px */
    int min_objects, max_objects; /* per target scene */
    double min_scale, max_scale;  /* object side, px (the 28x28 item is resized to it) */
    double src_min_scale, src_max_scale; /* the source image's dominant object */
    int src_extra;                /* at most this many small unlabelled objects per source image */
    int clutter;                  /* background distractor shapes per image */
    double occlusion;             /* largest fraction of an object later ones may cover */
    double tint;                  /* 0: grey items, 1: fully coloured */
    double noise;                 /* pixel noise sigma (0..255 scale) */
    int quality;                  /* JPEG quality */
    /* The transfer gap (pre-training's source against the target, as ImageNet against COCO):
     * target scenes (train, val) hold items of classes 0..classes-1 only; source images hold
     * items of every class (self-training's unlabelled pool, as ImageNet photos show COCO
     * objects), and with source_labels = RK_SOURCE_LABELS_OTHER labels.csv lists only the
     * images whose dominant item is of another class (>= classes): the pre-trained classifier
     * learns other labels than the detector, so its features may transfer, its labels cannot.
     * Defaults (10, all) build the matched datasets of earlier versions byte for byte. */
    int classes;
    int source_labels;
} rk_scene_params;

enum { RK_SOURCE_LABELS_ALL = 0, RK_SOURCE_LABELS_OTHER = 1 };

rk_scene_params rk_scene_defaults(void);
/* Checks ranges; the message names the parameter (its command-line option). */
int rk_scene_validate(const rk_scene_params *p, rk_err *err);

/* RK_SPLIT_SHIFTED: the out-of-domain unlabelled set (rk_fashion_shifted_build). */
enum { RK_SPLIT_TRAIN = 1, RK_SPLIT_VAL = 2, RK_SPLIT_SOURCE = 3, RK_SPLIT_SHIFTED = 4 };

/* Renders image `index` (0-based; file NNNNNN.jpg is index+1) of a split exactly as the
 * builder does, before JPEG encoding: pixels into out (allocated here), objects into
 * anns[0..*nanns) (category_id, bbox, area; ids left 0), the source label (class id - 1)
 * into *label. fm: the train split for RK_SPLIT_TRAIN, RK_SPLIT_SOURCE and RK_SPLIT_SHIFTED
 * (which renders with rk_scene_shifted(p)'s look), t10k for VAL. */
int rk_fashion_render(const rk_scene_params *p, const rk_fashion *fm, int split, int index,
                      rk_image *out, rk_coco_ann *anns, int max_anns, int *nanns, int *label,
                      rk_err *err);

/* The scene's semantic-segmentation labels (1 channel, p->size square; values in
 * rk_seg_labels_load's file convention: 0 background, the category id on an item's visible
 * mask, RK_SEG_IGNORE on the faint fringe of an item outside every mask), exactly as the
 * builder writes them. Target splits only (RK_SPLIT_TRAIN, RK_SPLIT_VAL). */
int rk_fashion_render_labels(const rk_scene_params *p, const rk_fashion *fm, int split,
                             int index, rk_image *labels, rk_err *err);

typedef void (*rk_progress_fn)(void *ctx, const char *stage, size_t done, size_t total);

/* Writes OUT/{train,val,source}/NNNNNN.jpg, OUT/annotations/instances_{train,val}.json,
 * OUT/segmentation/{train,val}/NNNNNN.png (rk_fashion_render_labels), OUT/source/labels.csv
 * and the dataset card OUT/card.json. Same parameters and seed give byte-identical files
 * (whatever the thread count). */
int rk_fashion_scenes_build(const rk_scene_params *p, const char *raw_dir, const char *out_dir,
                            int threads, rk_progress_fn progress, void *ctx, rk_err *err);
/* Adds OUT/segmentation/ (and the card that lists it) to a dataset built from recipe p before
 * label maps existed, in place: the dataset is built again beside it, and only when every file
 * of OUT's annotations/, train/, val/ and source/ is byte-identical to that build's are its
 * label maps and card renamed into OUT (nothing else in OUT changes, so trials that use it
 * meanwhile read the same data); else OUT is left as it was and the error names the first
 * file that differs. Nothing to do when OUT/segmentation exists. */
int rk_fashion_scenes_add_labels(const rk_scene_params *p, const char *raw_dir, const char *out,
                                 int threads, rk_err *err);

/* The out-of-domain unlabelled set of a recipe (selftrain.source = shifted; the paper's
 * "other unlabelled sources"): scenes of the source's item slice (every class) with another
 * look than the target's — striped backgrounds under heavier clutter, more and smaller items,
 * pale colours, more noise. *q gets its recipe: p's seed, count (nsource), size and
 * quality, with the shifted look. */
void rk_scene_shifted(const rk_scene_params *p, rk_scene_params *q);
/* Writes OUT/NNNNNN.jpg (p->nsource images of p->size px, rendered as split
 * RK_SPLIT_SHIFTED with rk_scene_shifted(p)'s recipe) and OUT/card.json, built beside OUT and
 * renamed into place; byte-identical whatever the thread count. OUT existing already with
 * its card (another builder won the race) is success. */
int rk_fashion_shifted_build(const rk_scene_params *p, const char *raw_dir, const char *out_dir,
                             int threads, rk_err *err);

/* Line and column (1-based) of byte offset `off` in text. */
void rk_text_position(const char *text, size_t off, int *line, int *col);

#endif
