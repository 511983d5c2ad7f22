/* Shared by the report's source files (not public): series of cells, the plot list that
 * plots.c produces and report.c embeds, and output helpers.
 *
 * A series is one line on a plot: the cells of one (arm, variant), which rk_results keeps
 * contiguous (cells are ordered by arm, variant, fraction, aug). */
#ifndef RETHINK_REPORT_INTERNAL_H
#define RETHINK_REPORT_INTERNAL_H

#include <stdio.h>

#include "rethink/report.h"

typedef struct rk_rp_series {
    const char *arm, *variant;
    size_t first, n; /* cells [first, first + n) */
} rk_rp_series;

/* The series of r in cell order; free(*s). */
int rk_rp_series_list(const rk_results *r, rk_rp_series **s, size_t *n, rk_err *err);
/* "arm" or "arm [variant]" into out. */
void rk_rp_series_name(const rk_rp_series *s, char *out, size_t cap);

typedef struct rk_rp_plot {
    char name[64];     /* files NAME.gp, NAME.png, NAME.svg */
    char title[160];
    char caption[700];
    int drawn;         /* gnuplot drew NAME.png and NAME.svg */
} rk_rp_plot;

/* Writes every plot's data and gnuplot script in o->out_dir and runs gnuplot on each;
 * appends the files written to files and the plots to *plots (free(*plots)). A plot gnuplot
 * could not draw is kept with drawn = 0, and *warning (malloc'd, else NULL) says which and
 * why; only a failure to write a file is an error. */
int rk_rp_plots(const rk_results *r, const rk_report_opts *o, rk_rp_plot **plots, size_t *n,
                rk_report_files *files, char **warning, rk_err *err);

/* Records a written file (relative to the output folder). */
int rk_rp_file_add(rk_report_files *f, const char *name, rk_err *err);
/* *f = fopen of dir/name for writing (NULL on error, which names the path). */
int rk_rp_open(FILE **f, const char *dir, const char *name, rk_err *err);
/* fclose with an error naming the path on a failed write. */
int rk_rp_close(FILE *f, const char *dir, const char *name, rk_err *err);

/* An arm's colour (#rrggbb) and gnuplot point type: the same arm looks the same on every
 * plot. */
const char *rk_rp_arm_color(const char *arm);
int rk_rp_arm_point(const char *arm);

#endif
