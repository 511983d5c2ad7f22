/* Command-line helpers shared by the subcommands (the only code that prints and exits). */
#ifndef RETHINK_CLI_H
#define RETHINK_CLI_H

int cmd_bench(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_augment(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_baseline(int argc, char **argv);

int bench_eval(int argc, char **argv);

/* The git revision of this build (git_rev.h), NULL when unknown: stored with every trial. */
const char *cli_git_rev(void);


/* Parses a positive int option value; prints an error naming the option and returns -1. */
int cli_int(const char *opt, const char *val, int lo, int hi, int *out);
/* A finite number. */
int cli_double(const char *opt, const char *val, double *out);
/* "A,B" with A <= B. */
int cli_pair(const char *opt, const char *val, double *lo, double *hi);

/* figures.c */
#include "rethink/data.h"
/* Boxes of one image from the COCO annotations (cls = category id); out has room for all. */
size_t cli_image_boxes(const rk_coco *c, int64_t image_id, rk_box *out);
/* The image zoomed into tile, with boxes, labels and a two-line caption. */
int cli_render_tile(rk_image *tile, const rk_image *im, const rk_box *b, size_t nb,
                    const rk_coco *c, int zoom, const char *caption, rk_err *err);

#endif
