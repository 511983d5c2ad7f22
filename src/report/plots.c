/* The report's plots: for each, a data file and a gnuplot script written into the output
 * folder (so a reader can re-run or restyle them), then gnuplot run as a subprocess to draw
 * NAME.png (pngcairo) and NAME.svg from the same script.
 *
 * Plots (docs/ARCHITECTURE.md §Reports and claims):
 *   ap_vs_aug        AP against augmentation strength, a line per arm, a panel per fraction
 *                    (the paper's Fig. 1 and 3), 95 % CI error bars;
 *   ap_vs_fraction   AP against the labelled fraction, a line per arm, a panel per aug
 *                    (Table 3);
 *   delta_vs_scratch ΔAP of every other arm against scratch in every cell, paired by seed;
 *   curves           training loss, val AP and dev AP per epoch of one cell, a line per
 *                    seed (dev AP dashed);
 *   ap_vs_cpu        AP against the CPU seconds a cell cost, per arm (students count their
 *                    teacher and pseudo-labels, pretrained arms the whole backbone);
 *   delta_vs_control ΔAP of every arm that has a control (selftrain: continue) against it,
 *                    when the study has the control's cells;
 *   ap_vs_KEY        AP against each numeric extra grid axis (selftrain.alpha: the α plot).
 * An undefined interval (n = 1) is drawn as a point without a bar, never a made-up bar; AP
 * intervals are clipped to AP's range [0, 100] and AP axes never go below 0.
 *
 * Data-derived text (arm, policy, variant and axis names, read from a database anyone may
 * have edited) never reaches a place where gnuplot substitutes: inside double quotes gnuplot
 * runs `backquoted` text as a shell command (and @name expands a macro outside quotes). Such
 * text is written only as single-quoted strings, in which gnuplot substitutes nothing, made
 * of whitelisted characters (gs), and into data files reduced to the same whitelist
 * (safe_text), where a quote or newline cannot end a field or a line.
 *
 * gnuplot is optional: a plot it cannot draw (missing program, failing script) keeps its
 * data and script, is marked not drawn, and the report says why. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rethink/arms.h"
#include "report_internal.h"

#define PANEL_W 440
#define PANEL_H 360
#define KEY_H 60
#define FONT "sans-serif"

const char *rk_rp_arm_color(const char *arm)
{
    /* the arm table's, else Okabe-Ito's others by a hash of the name */
    static const char *const other[] = {"#CC79A7", "#E69F00", "#56B4E9", "#F0E442"};
    rk_arm a = rk_arm_parse(arm);
    if (a != RK_ARM_NONE) return rk_arms[a].color;
    unsigned h = 0;
    for (const char *p = arm; *p; p++) h = h * 31 + (unsigned char)*p;
    return other[h % (sizeof other / sizeof *other)];
}

int rk_rp_arm_point(const char *arm)
{
    rk_arm a = rk_arm_parse(arm);
    return a != RK_ARM_NONE ? rk_arms[a].point : 11;
}

/* ---- files ---- */

int rk_rp_file_add(rk_report_files *f, const char *name, rk_err *err)
{
    if (!f) return RK_OK;
    char **v = realloc(f->paths, (f->n + 1) * sizeof *v);
    if (!v) return rk_errf(err, RK_ENOMEM, "out of memory");
    f->paths = v;
    if (!(v[f->n] = strdup(name))) return rk_errf(err, RK_ENOMEM, "out of memory");
    f->n++;
    return RK_OK;
}

void rk_report_files_free(rk_report_files *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->n; i++) free(f->paths[i]);
    free(f->paths), free(f->warning);
    memset(f, 0, sizeof *f);
}

int rk_rp_open(FILE **f, const char *dir, const char *name, rk_err *err)
{
    char p[2048];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    *f = fopen(p, "w");
    return *f ? RK_OK : rk_errf(err, RK_EIO, "%s: cannot write: %s", p, strerror(errno));
}

int rk_rp_close(FILE *f, const char *dir, const char *name, rk_err *err)
{
    int bad = ferror(f);
    if (fclose(f) || bad)
        return rk_errf(err, RK_EIO, "%s/%s: write failed: %s", dir, name, strerror(errno));
    return RK_OK;
}

/* ---- series ---- */

int rk_rp_series_list(const rk_results *r, rk_rp_series **out, size_t *n, rk_err *err)
{
    *out = calloc(r->ncells + 1, sizeof **out);
    *n = 0;
    if (!*out) return rk_errf(err, RK_ENOMEM, "out of memory");
    for (size_t i = 0; i < r->ncells; i++) {
        const rk_cell *c = &r->cells[i];
        rk_rp_series *s = *n ? &(*out)[*n - 1] : NULL;
        if (!s || strcmp(s->arm, c->arm) || strcmp(s->variant, c->variant->text)) {
            s = &(*out)[(*n)++];
            s->arm = c->arm, s->variant = c->variant->text, s->first = i;
        }
        s->n++;
    }
    return RK_OK;
}

void rk_rp_series_name(const rk_rp_series *s, char *out, size_t cap)
{
    if (*s->variant) snprintf(out, cap, "%s [%s]", s->arm, s->variant);
    else snprintf(out, cap, "%s", s->arm);
}

/* The characters data-derived text may keep in a script or data file: letters, digits,
 * space, harmless punctuation, and bytes >= 0x80 (UTF-8 names stay readable: no ASCII byte
 * occurs inside a UTF-8 sequence). Not: quotes, backquote, $, @, backslash, controls. */
static int safe_char(unsigned char ch)
{
    return ch >= 0x80 || isalnum(ch) || (ch && strchr(" +-_.,:;=%()[]/#<>*!?|~^{}&", ch));
}

/* s with every character outside the whitelist replaced by '?', into out (cap > 0). */
static void safe_text(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    for (; *s && n + 1 < cap; s++) out[n++] = safe_char((unsigned char)*s) ? *s : '?';
    out[n] = 0;
}

/* s as a gnuplot single-quoted string of whitelisted characters: nothing in it is
 * substituted or escaped. */
static void gs(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) fputc(safe_char((unsigned char)*s) ? *s : '?', f);
    fputc('\'', f);
}

/* Mean and interval ×100 (AP points); an undefined interval collapses onto the mean. With
 * clip (a stat, not a difference), the interval is cut to the metric's range [0, 100]: a
 * t interval knows nothing of AP's floor. */
static void point3(FILE *f, const rk_summary *s, int clip)
{
    double m = 100 * s->mean;
    double lo = 100 * (isfinite(s->ci_low) ? s->ci_low : s->mean);
    double hi = 100 * (isfinite(s->ci_high) ? s->ci_high : s->mean);
    if (clip) lo = fmax(lo, 0), hi = fmin(hi, 100);
    fprintf(f, " %.6g %.6g %.6g", m, lo, hi);
}

/* ---- running gnuplot ---- */

static int run_gnuplot(const char *prog, const char *dir, const char *script, rk_err *err)
{
    int fd[2];
    if (pipe(fd)) return rk_errf(err, RK_EIO, "pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]), close(fd[1]);
        return rk_errf(err, RK_EIO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        dup2(fd[1], 2);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) dup2(null, 0), dup2(null, 1);
        close(fd[0]), close(fd[1]);
        if (chdir(dir)) {
            fprintf(stderr, "cannot enter %s: %s\n", dir, strerror(errno));
            _exit(126);
        }
        execlp(prog, prog, script, (char *)NULL);
        fprintf(stderr, "%s\n", strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    char msg[4096];
    size_t n = 0;
    ssize_t k;
    while ((k = read(fd[0], msg + n, sizeof msg - 1 - n)) > 0 || (k < 0 && errno == EINTR))
        if (k > 0) n += (size_t)k;
    msg[n] = 0;
    close(fd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return RK_OK;
    /* gnuplot's first error: the line that names the problem, not its echo of the script */
    const char *line = msg;
    const char *e = strstr(msg, "line ");
    if (e) {
        while (e > msg && e[-1] != '\n') e--;
        line = e;
    }
    char first[400];
    snprintf(first, sizeof first, "%.*s", (int)strcspn(line, "\n"), line);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
        return rk_errf(err, RK_EIO, "cannot run '%s' (%s): install gnuplot (Debian: gnuplot-nox) "
                       "or pass --gnuplot PROGRAM", prog, first);
    return rk_errf(err, RK_EIO, "%s/%s: gnuplot failed (%s %d): %s", dir, script,
                   WIFEXITED(st) ? "exit status" : "signal",
                   WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), first);
}

/* ---- one plot: a script drawing the same body twice, to PNG then SVG ---- */

typedef struct {
    const rk_results *r;
    const rk_report_opts *o;
    rk_report_files *files;
    rk_rp_plot *plots;
    size_t nplots;
    rk_rp_series *ser;
    size_t nser;
    char failed[400];    /* the plots gnuplot could not draw, "a, b" */
    char why[600];       /* the first one's error */
} ctx;

typedef void (*body_fn)(FILE *f, const ctx *c, const void *arg);

static void preamble(FILE *f, int svg, int w, int h, const char *name)
{
    if (svg)
        fprintf(f, "set terminal svg size %d,%d noenhanced font \"%s,12\" linewidth 1.3 "
                   "rounded background \"#ffffff\"\n", w, h, FONT);
    else
        fprintf(f, "set terminal pngcairo size %d,%d noenhanced font \"%s,12\" linewidth 1.3 "
                   "rounded background \"#ffffff\"\n", w, h, FONT);
    fprintf(f, "set output \"%s.%s\"\n", name, svg ? "svg" : "png");
    fprintf(f, "reset\n"
               "set border 3 lw 1\nset tics nomirror out\n"
               "set grid ytics lc rgb \"#d8d8d8\" lw 1 dt 1\n"
               "set key below horizontal spacing 1.2 width 1\n"
               "set datafile missing \"?\"\n");
}

static int plot_add(ctx *c, const char *name, const char *title, const char *caption, int w,
                    int h, body_fn body, const void *arg, rk_err *err)
{
    char gp[128], out[2][128], path[2048];
    snprintf(gp, sizeof gp, "%s.gp", name);
    FILE *f;
    int rc = rk_rp_open(&f, c->o->out_dir, gp, err);
    if (rc) return rc;
    fprintf(f, "# %s — written by rethink report; run: gnuplot %s (in this folder) to redraw\n"
               "# %s.png and %s.svg from the data files beside it.\n", title, gp, name, name);
    for (int svg = 0; svg < 2; svg++) {
        preamble(f, svg, w, h, name);
        body(f, c, arg);
        fprintf(f, "unset output\n");
    }
    rc = rk_rp_close(f, c->o->out_dir, gp, err);
    if (!rc) rc = rk_rp_file_add(c->files, gp, err);
    if (rc) return rc;
    /* an image left by an earlier report must not pass for this one's */
    for (int svg = 0; svg < 2; svg++) {
        snprintf(out[svg], sizeof out[svg], "%s.%s", name, svg ? "svg" : "png");
        snprintf(path, sizeof path, "%s/%s", c->o->out_dir, out[svg]);
        remove(path);
    }
    rk_err gerr = {0};
    int drawn = run_gnuplot(c->o->gnuplot ? c->o->gnuplot : "gnuplot", c->o->out_dir, gp,
                            &gerr) == RK_OK;
    if (!drawn) {
        size_t u = strlen(c->failed);
        snprintf(c->failed + u, sizeof c->failed - u, "%s%s", u ? ", " : "", name);
        if (!*c->why) snprintf(c->why, sizeof c->why, "%s", gerr.msg);
    }
    for (int svg = 0; svg < 2 && drawn && !rc; svg++) rc = rk_rp_file_add(c->files, out[svg], err);
    if (rc) return rc;
    rk_rp_plot *v = realloc(c->plots, (c->nplots + 1) * sizeof *v);
    if (!v) return rk_errf(err, RK_ENOMEM, "out of memory");
    c->plots = v;
    rk_rp_plot *p = &v[c->nplots++];
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->title, sizeof p->title, "%s", title);
    snprintf(p->caption, sizeof p->caption, "%s", caption);
    p->drawn = drawn;
    return RK_OK;
}

/* Columns and rows for panels; fixed_cols > 0 imposes the column count. */
static void layout(size_t panels, int fixed_cols, int *cols, int *rows)
{
    /* up to three panels in a row, four as 2 × 2: wider figures shrink below readable text
     * when a browser fits them to the page */
    *cols = fixed_cols > 0 ? fixed_cols : panels == 4 ? 2 : panels < 3 ? (int)panels : 3;
    if (*cols < 1) *cols = 1;
    *rows = (int)((panels + (size_t)*cols - 1) / (size_t)*cols);
    if (*rows < 1) *rows = 1;
}

/* plot-command style of series k: the arm's colour and marker, a dash per variant */
static void series_style(FILE *f, const ctx *c, size_t k)
{
    const rk_rp_series *s = &c->ser[k];
    int dash = 1;
    for (size_t j = 0; j < k; j++)
        if (!strcmp(c->ser[j].arm, s->arm)) dash++;
    fprintf(f, " lc rgb \"%s\" pt %d ps 1.1 lw 1.6 dt %d", rk_rp_arm_color(s->arm),
            rk_rp_arm_point(s->arm), dash);
}

static double dodge(size_t k, size_t m, double step)
{
    return m > 1 ? ((double)k - (double)(m - 1) / 2) * step : 0;
}

/* ---- panels in a grid, one key for all of them ----
 * gnuplot's layout multiplot gives every panel its own key; with the same lines in every
 * panel that repeats the legend and squeezes the plots. Instead the panels are placed by
 * hand above a strip that holds the only key. */

#define TITLE_PX 44
#define KEY_ROW_PX 26
#define KEY_PER_ROW_PX 250

static int key_rows(size_t entries, int width)
{
    size_t per = (size_t)(width / KEY_PER_ROW_PX);
    if (per < 1) per = 1;
    return (int)((entries + per - 1) / per);
}

/* Pixel height of a grid figure of panels with a key of entries. */
static int grid_height(size_t panels, int fixed_cols, size_t entries, int width)
{
    int cols, rows;
    layout(panels, fixed_cols, &cols, &rows);
    return TITLE_PX + rows * PANEL_H + 24 + KEY_ROW_PX * key_rows(entries, width);
}

typedef struct {
    int cols, rows, w, h;
    double top, key; /* screen fractions: title strip, key strip */
} grid;

static void grid_begin(FILE *f, grid *g, size_t panels, int fixed_cols, size_t entries,
                       const char *title)
{
    layout(panels, fixed_cols, &g->cols, &g->rows);
    g->w = PANEL_W * g->cols;
    g->h = grid_height(panels, fixed_cols, entries, g->w);
    g->top = (double)TITLE_PX / g->h;
    g->key = (double)(24 + KEY_ROW_PX * key_rows(entries, g->w)) / g->h;
    fprintf(f, "set multiplot title ");
    gs(f, title);
    fprintf(f, " font \"%s,14\"\nunset key\n", FONT);
}

static void grid_panel(FILE *f, const grid *g, size_t i)
{
    int col = (int)(i % (size_t)g->cols), row = (int)(i / (size_t)g->cols);
    double ph = (1 - g->top - g->key) / g->rows;
    fprintf(f, "set origin %.5f,%.5f\nset size %.5f,%.5f\n", (double)col / g->cols,
            g->key + (g->rows - 1 - row) * ph, 1.0 / g->cols, ph);
}

/* The key strip: an invisible plot whose entries carry the lines' styles. entry(k) prints
 * entry k's plot style ("with ..."), title and colours, as its lines are drawn. */
typedef void (*key_entry_fn)(FILE *f, const ctx *c, const void *arg, size_t k);

static void grid_key(FILE *f, const grid *g, const ctx *c, const void *arg, size_t entries,
                     key_entry_fn entry)
{
    size_t per = (size_t)(g->w / KEY_PER_ROW_PX);
    fprintf(f, "set origin 0,0\nset size 1,%.5f\nunset border\nunset tics\nunset xlabel\n"
               "unset ylabel\nunset title\nunset grid\nunset logscale\n"
               "set xrange [0:1]\nset yrange [0:1]\n"
               "set key center center horizontal maxcols %zu samplen 3 spacing 1.2 width 2\nplot",
            g->key, per < 1 ? (size_t)1 : per);
    for (size_t k = 0; k < entries; k++) {
        fprintf(f, "%s \"+\" using (NaN):(NaN):(NaN):(NaN)", k ? ", \\\n    " : " ");
        entry(f, c, arg, k);
    }
    fprintf(f, "\nunset multiplot\n");
}

/* arg: the plot style ("yerrorbars"); NULL: yerrorlines */
static void series_entry(FILE *f, const ctx *c, const void *arg, size_t k)
{
    char nm[600];
    rk_rp_series_name(&c->ser[k], nm, sizeof nm);
    fprintf(f, " with %s title ", arg ? (const char *)arg : "yerrorlines");
    gs(f, nm);
    series_style(f, c, k);
}

/* The y range of the AP panels: one range for all of them (--shared-y: panels compare at a
 * glance) from every cell's clipped interval, padded; else each panel autoscales, never
 * below AP 0. */
static void ap_yrange(FILE *f, const ctx *c)
{
    const rk_results *r = c->r;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; c->o->shared_y && i < r->ncells; i++) {
        const rk_summary *s = &r->cells[i].stat[0];
        if (!isfinite(s->mean)) continue;
        lo = fmin(lo, isfinite(s->ci_low) ? s->ci_low : s->mean);
        hi = fmax(hi, isfinite(s->ci_high) ? s->ci_high : s->mean);
    }
    if (!(lo <= hi)) {
        fprintf(f, "set yrange [0<*:*<100]\n");
        return;
    }
    lo = fmax(100 * lo, 0), hi = fmin(100 * hi, 100);
    double pad = (hi - lo) * 0.06 + 0.2;
    fprintf(f, "set yrange [%.6g:%.6g]\n", fmax(lo - pad, 0), fmin(hi + pad, 100));
}

/* "# fraction F, SERIES" above a data block, the name reduced to the whitelist */
static void block_head(FILE *f, const ctx *c, size_t k, double fraction)
{
    char nm[600];
    rk_rp_series_name(&c->ser[k], nm, sizeof nm);
    safe_text(nm, sizeof nm, nm);
    fprintf(f, "# fraction %g, %s\n", fraction, nm);
}

/* The rest of a cell's data line: its AP point (clipped), with n when asked, and its policy
 * as a quoted, whitelisted label. */
static void cell_point(FILE *f, const rk_cell *cell, int with_n)
{
    char aug[200];
    point3(f, &cell->stat[0], 1);
    if (with_n) fprintf(f, " %zu", cell->n);
    safe_text(aug, sizeof aug, cell->aug);
    fprintf(f, " \"%s\"\n", aug);
}

/* ---- AP against augmentation, a panel per fraction ---- */

static int write_dat_aug(const ctx *c, const char *name, rk_err *err)
{
    FILE *f;
    int rc = rk_rp_open(&f, c->o->out_dir, name, err);
    if (rc) return rc;
    const rk_results *r = c->r;
    fprintf(f, "# AP (x100) by augmentation: one block per (fraction, series); columns: aug "
               "index, mean, CI low, CI high, n, aug\n");
    for (size_t fi = 0; fi < r->nfractions; fi++)
        for (size_t k = 0; k < c->nser; k++) {
            block_head(f, c, k, r->fractions[fi]);
            int any = 0;
            for (size_t a = 0; a < r->naugs; a++) {
                const rk_cell *cell = rk_results_cell(r, c->ser[k].arm, r->augs[a], r->fractions[fi],
                                                      c->ser[k].variant);
                if (!cell) continue;
                fprintf(f, "%zu", a);
                cell_point(f, cell, 1);
                any = 1;
            }
            if (!any) fprintf(f, "? ? ? ? 0 \"-\"\n");
            fprintf(f, "\n\n");
        }
    rc = rk_rp_close(f, c->o->out_dir, name, err);
    return rc ? rc : rk_rp_file_add(c->files, name, err);
}

static void body_aug(FILE *f, const ctx *c, const void *arg)
{
    (void)arg;
    const rk_results *r = c->r;
    grid g;
    char title[200];
    snprintf(title, sizeof title, "AP vs augmentation strength (mean over seeds, %g %% CI)",
             100 * r->confidence);
    grid_begin(f, &g, r->nfractions, 0, c->nser, title);
    fprintf(f, "set xtics (");
    for (size_t a = 0; a < r->naugs; a++) {
        fprintf(f, "%s", a ? ", " : "");
        gs(f, r->augs[a]);
        fprintf(f, " %zu", a);
    }
    fprintf(f, ")\nset xrange [-0.4:%g]\n", (double)r->naugs - 0.6);
    fprintf(f, "set xlabel \"augmentation policy (stronger to the right)\"\n"
               "set ylabel \"AP (COCO, ×100)\"\n");
    ap_yrange(f, c);
    for (size_t fi = 0; fi < r->nfractions; fi++) {
        grid_panel(f, &g, fi);
        fprintf(f, "set title \"%g %% of the labelled data\"\nplot", 100 * r->fractions[fi]);
        for (size_t k = 0; k < c->nser; k++) {
            fprintf(f, "%s \"ap_vs_aug.dat\" index %zu using ($1+%g):2:3:4 with yerrorlines notitle",
                    k ? ", \\\n    " : " ", fi * c->nser + k, dodge(k, c->nser, 0.05));
            series_style(f, c, k);
        }
        fprintf(f, "\n");
    }
    grid_key(f, &g, c, NULL, c->nser, series_entry);
}

/* ---- AP against labelled fraction, a panel per aug ---- */

static int write_dat_fraction(const ctx *c, const char *name, rk_err *err)
{
    FILE *f;
    int rc = rk_rp_open(&f, c->o->out_dir, name, err);
    if (rc) return rc;
    const rk_results *r = c->r;
    fprintf(f, "# AP (x100) by labelled fraction: one block per (aug, series); columns: fraction "
               "(%%), mean, CI low, CI high, n\n");
    for (size_t a = 0; a < r->naugs; a++)
        for (size_t k = 0; k < c->nser; k++) {
            char nm[600], aug[200];
            rk_rp_series_name(&c->ser[k], nm, sizeof nm);
            safe_text(nm, sizeof nm, nm);
            safe_text(aug, sizeof aug, r->augs[a]);
            fprintf(f, "# %s, %s\n", aug, nm);
            int any = 0;
            for (size_t fi = 0; fi < r->nfractions; fi++) {
                const rk_cell *cell = rk_results_cell(r, c->ser[k].arm, r->augs[a], r->fractions[fi],
                                                      c->ser[k].variant);
                if (!cell) continue;
                fprintf(f, "%.6g", 100 * cell->fraction);
                point3(f, &cell->stat[0], 1);
                fprintf(f, " %zu\n", cell->n);
                any = 1;
            }
            if (!any) fprintf(f, "? ? ? ? 0\n");
            fprintf(f, "\n\n");
        }
    rc = rk_rp_close(f, c->o->out_dir, name, err);
    return rc ? rc : rk_rp_file_add(c->files, name, err);
}

static void body_fraction(FILE *f, const ctx *c, const void *arg)
{
    (void)arg;
    const rk_results *r = c->r;
    grid g;
    char title[200];
    snprintf(title, sizeof title, "AP vs labelled data (mean over seeds, %g %% CI)",
             100 * r->confidence);
    grid_begin(f, &g, r->naugs, 0, c->nser, title);
    double lo = 100 * r->fractions[0], hi = 100 * r->fractions[r->nfractions - 1];
    double pad = (hi - lo) * 0.06 + 2;
    fprintf(f, "set xrange [%g:%g]\nset xtics (", lo - pad, hi + pad);
    for (size_t fi = 0; fi < r->nfractions; fi++)
        fprintf(f, "%s\"%g\" %g", fi ? ", " : "", 100 * r->fractions[fi], 100 * r->fractions[fi]);
    fprintf(f, ")\nset xlabel \"labelled fraction of the training set (%%)\"\n"
               "set ylabel \"AP (COCO, ×100)\"\n");
    ap_yrange(f, c);
    for (size_t a = 0; a < r->naugs; a++) {
        grid_panel(f, &g, a);
        char pt[300];
        snprintf(pt, sizeof pt, "augmentation %s", r->augs[a]);
        fprintf(f, "set title ");
        gs(f, pt);
        fprintf(f, "\nplot");
        for (size_t k = 0; k < c->nser; k++) {
            fprintf(f, "%s \"ap_vs_fraction.dat\" index %zu using ($1+%g):2:3:4 with yerrorlines "
                       "notitle", k ? ", \\\n    " : " ", a * c->nser + k,
                    dodge(k, c->nser, (hi - lo) * 0.012 + 0.3));
            series_style(f, c, k);
        }
        fprintf(f, "\n");
    }
    grid_key(f, &g, c, NULL, c->nser, series_entry);
}

/* ---- ΔAP against scratch, and against an arm's control ---- */

typedef struct {
    int control;  /* 0: against scratch; 1: against the arm's control (rk_results_control) */
    const char *file; /* its data file */
    size_t nbars; /* series shown (scratch: every other arm; control: arms with a control) */
    size_t *bar;  /* their series indices */
    size_t npaired; /* cells with a partner that paired seeds */
} delta_arg;

static const rk_cell *delta_base(const rk_results *r, const rk_cell *cell, int control)
{
    if (!cell) return NULL;
    return control ? rk_results_control(r, cell) : rk_results_partner(r, cell, "scratch");
}

static int write_dat_delta(const ctx *c, delta_arg *d, rk_err *err)
{
    const rk_results *r = c->r;
    d->bar = calloc(c->nser + 1, sizeof *d->bar);
    if (!d->bar) return rk_errf(err, RK_ENOMEM, "out of memory");
    for (size_t k = 0; k < c->nser; k++) {
        rk_arm a = rk_arm_parse(c->ser[k].arm);
        if (d->control ? a != RK_ARM_NONE && rk_arms[a].control != RK_ARM_NONE
                       : strcmp(c->ser[k].arm, "scratch") != 0)
            d->bar[d->nbars++] = k;
    }
    FILE *f;
    int rc = rk_rp_open(&f, c->o->out_dir, d->file, err);
    if (rc) return rc;
    fprintf(f, "# AP(arm) - AP(%s) (x100), paired by seed, per cell (fraction, aug).\n"
               "# columns: cell label, then for each arm: mean, CI low, CI high, n\n# arms:",
            d->control ? "its control" : "scratch");
    for (size_t b = 0; b < d->nbars; b++) {
        char nm[600];
        rk_rp_series_name(&c->ser[d->bar[b]], nm, sizeof nm);
        safe_text(nm, sizeof nm, nm);
        fprintf(f, " | %s", nm);
    }
    fprintf(f, "\n");
    for (size_t fi = 0; fi < r->nfractions && !rc; fi++)
        for (size_t a = 0; a < r->naugs && !rc; a++) {
            char aug[200];
            safe_text(aug, sizeof aug, r->augs[a]);
            fprintf(f, "\"%s %g%%\"", aug, 100 * r->fractions[fi]);
            for (size_t b = 0; b < d->nbars && !rc; b++) {
                const rk_rp_series *s = &c->ser[d->bar[b]];
                const rk_cell *cell = rk_results_cell(r, s->arm, r->augs[a], r->fractions[fi], s->variant);
                const rk_cell *base = delta_base(r, cell, d->control);
                rk_summary ds;
                if (!base || (rc = rk_paired_delta(r, cell, base, 0, &ds, err)) || ds.n == 0) {
                    fprintf(f, " ? ? ? 0");
                    continue;
                }
                point3(f, &ds, 0);
                fprintf(f, " %zu", ds.n);
                d->npaired++;
            }
            fprintf(f, "\n");
        }
    if (rc) {
        fclose(f);
        return rc;
    }
    rc = rk_rp_close(f, c->o->out_dir, d->file, err);
    return rc ? rc : rk_rp_file_add(c->files, d->file, err);
}

static void body_delta(FILE *f, const ctx *c, const void *arg)
{
    const delta_arg *d = arg;
    /* the control's definition on a line of its own: on one line the title is wider than
     * the plot and gnuplot cuts it */
    fprintf(f, "set title \"ΔAP against %s, paired by seed (mean, %g %% CI)%s\" font \"%s,14\"\n",
            d->control ? "the control" : "scratch", 100 * c->r->confidence,
            d->control ? "\\nthe control: the same teacher, labelled data only" : "", FONT);
    fprintf(f, "set style data histogram\nset style histogram errorbars gap 1.5 lw 1.2\n"
               "set style fill solid 0.85 border -1\nset boxwidth 0.9\n"
               "set xzeroaxis lt 1 lc rgb \"#000000\" lw 1.2\n"
               "set xtics scale 0\nset grid noxtics\n"
               "set xlabel \"cell (augmentation, labelled fraction)\"\n"
               "set ylabel \"ΔAP vs %s (AP points)\"\n", d->control ? "control" : "scratch");
    /* a dotted rule between the groups of one labelled fraction */
    for (size_t fi = 1; fi < c->r->nfractions; fi++)
        fprintf(f, "set arrow from %g, graph 0 to %g, graph 1 nohead dt 3 lc rgb \"#888888\"\n",
                (double)(fi * c->r->naugs) - 0.5, (double)(fi * c->r->naugs) - 0.5);
    fprintf(f, "plot");
    for (size_t b = 0; b < d->nbars; b++) {
        const rk_rp_series *s = &c->ser[d->bar[b]];
        char nm[600];
        rk_rp_series_name(s, nm, sizeof nm);
        size_t col = 2 + 4 * b;
        fprintf(f, "%s \"%s\" using %zu:%zu:%zu%s title ", b ? ", \\\n    " : " ", d->file, col,
                col + 1, col + 2, b ? "" : ":xtic(1)");
        gs(f, nm);
        fprintf(f, " lc rgb \"%s\"", rk_rp_arm_color(s->arm));
    }
    fprintf(f, "\n");
}

/* ---- training curves of one cell ---- */

typedef struct {
    const rk_cell *cell;
    int have_val, have_pseudo, have_dev;
} curve_arg;

static int write_dat_curves(const ctx *c, const char *name, curve_arg *a, rk_err *err)
{
    static const char *const names[] = {RK_METRIC_LOSS, RK_METRIC_LOSS_PSEUDO, RK_METRIC_VAL_AP,
                                        RK_METRIC_DEV_AP};
    FILE *f;
    int rc = rk_rp_open(&f, c->o->out_dir, name, err);
    if (rc) return rc;
    char nm[1200];
    snprintf(nm, sizeof nm, "%s %s %g%s%s", a->cell->arm, a->cell->aug, a->cell->fraction,
             *a->cell->variant->text ? " " : "", a->cell->variant->text);
    safe_text(nm, sizeof nm, nm);
    fprintf(f, "# training curves of %s: blocks per (metric, seed) in the order loss, "
               "loss.pseudo, val.AP, dev.AP; columns: step (epoch), value (AP x100)\n", nm);
    for (int m = 0; m < 4 && !rc; m++)
        for (size_t j = 0; j < a->cell->n && !rc; j++) {
            const rk_result_trial *t = &c->r->t[a->cell->idx[j]];
            rk_metric *v = NULL;
            size_t nv = 0;
            if ((rc = rk_store_metrics_get(c->r->db, t->id, names[m], &v, &nv, err))) break;
            fprintf(f, "# %s, seed %lld (trial %lld)\n", names[m], (long long)t->seed, (long long)t->id);
            size_t shown = 0;
            for (size_t i = 0; i < nv; i++) {
                /* the pseudo loss is 0 when a trial has none */
                if (!isfinite(v[i].value) || (m == 1 && v[i].value == 0)) continue;
                fprintf(f, "%lld %.6g\n", (long long)v[i].step, m >= 2 ? 100 * v[i].value : v[i].value);
                shown++;
            }
            if (!shown) fprintf(f, "? ?\n");
            if (m == 1 && shown) a->have_pseudo = 1;
            if (m == 2 && shown) a->have_val = 1;
            if (m == 3 && shown) a->have_dev = 1;
            fprintf(f, "\n\n");
            free(v);
        }
    if (rc) {
        fclose(f);
        return rc;
    }
    rc = rk_rp_close(f, c->o->out_dir, name, err);
    return rc ? rc : rk_rp_file_add(c->files, name, err);
}

static void body_curves(FILE *f, const ctx *c, const void *arg)
{
    const curve_arg *a = arg;
    const rk_cell *cell = a->cell;
    static const char *const seedcol[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00",
                                          "#56B4E9", "#000000"};
    char title[1200];
    snprintf(title, sizeof title, "Training curves: %s, %s, %g %% labelled%s%s", cell->arm,
             cell->aug, 100 * cell->fraction, *cell->variant->text ? ", " : "",
             cell->variant->text);
    fprintf(f, "set multiplot layout 1,2 title ");
    gs(f, title);
    fprintf(f, " font \"%s,14\"\n", FONT);
    /* The key says what every line is: a colour per seed (its solid line), and one grey
     * entry per dashed kind, drawn in grey because it stands for the dashes of every seed
     * (one coloured entry for four dashed lines reads as one line). Headroom above the
     * curves for the key, so it never hides them. */
    fprintf(f, "set key inside top right vertical spacing 1.1 opaque\nset offsets 0, 0, graph 0.35, 0\n"
               "set xlabel \"epoch\"\nset ylabel \"training loss\"\nset title \"loss per epoch\"\n"
               "plot");
    size_t n = cell->n;
    for (size_t j = 0; j < n; j++)
        fprintf(f, "%s \"curves.dat\" index %zu using 1:2 with linespoints lw 1.6 pt 7 ps 0.6 "
                   "lc rgb \"%s\" title \"seed %lld\"", j ? ", \\\n    " : " ", j, seedcol[j % 7],
                (long long)c->r->t[cell->idx[j]].seed);
    if (a->have_pseudo) {
        for (size_t j = 0; j < n; j++)
            fprintf(f, ", \\\n     \"curves.dat\" index %zu using 1:2 with lines lw 1.3 dt 2 "
                       "lc rgb \"%s\" notitle", n + j, seedcol[j % 7]);
        fprintf(f, ", \\\n     NaN with lines lw 1.3 dt 2 lc rgb \"#666666\" title \"dashed: "
                   "pseudo-label loss%s\"", n > 1 ? " (each seed)" : "");
    }
    /* held-out AP: val (monitoring only) solid, dev (which chose the kept checkpoint)
     * dashed in the seed's colour */
    fprintf(f, "\nset offsets 0, 0, 0, 0\nset key inside bottom right\nset ylabel \"AP (COCO, ×100)\"\n"
               "set yrange [0<*:*<100]\nset title \"%s per epoch\"\n",
            a->have_val && a->have_dev ? "val and dev AP (dashed)"
            : a->have_dev ? "dev AP (dashed)" : "held-out AP");
    if (a->have_val || a->have_dev) {
        fprintf(f, "plot");
        for (size_t j = 0; j < n && a->have_val; j++)
            fprintf(f, "%s \"curves.dat\" index %zu using 1:2 with linespoints lw 1.6 pt 7 ps 0.6 "
                       "lc rgb \"%s\" title \"seed %lld\"", j ? ", \\\n    " : " ", 2 * n + j,
                    seedcol[j % 7], (long long)c->r->t[cell->idx[j]].seed);
        for (size_t j = 0; j < n && a->have_dev; j++) {
            fprintf(f, "%s \"curves.dat\" index %zu using 1:2 with linespoints lw 1.4 dt 2 pt 6 "
                       "ps 0.7 lc rgb \"%s\" ", j || a->have_val ? ", \\\n    " : " ", 3 * n + j,
                    seedcol[j % 7]);
            /* alone, the dashed lines are the seeds' own entries */
            if (!a->have_val) fprintf(f, "title \"seed %lld, dev\"", (long long)c->r->t[cell->idx[j]].seed);
            else fprintf(f, "notitle");
        }
        if (a->have_val && a->have_dev)
            fprintf(f, ", \\\n     NaN with linespoints lw 1.4 dt 2 pt 6 ps 0.7 lc rgb \"#666666\" "
                       "title \"dashed: dev AP%s\"", n > 1 ? " (each seed)" : "");
        fprintf(f, "\n");
    } else {
        /* an empty panel that says why, rather than a missing one */
        fprintf(f, "unset key\nunset ylabel\nset xrange [0:1]\nset yrange [0:1]\nunset xtics\n"
                   "unset ytics\nset label 1 \"held-out AP not recorded during training\\n"
                   "(study.eval_every = N: val every N epochs;\\n"
                   "train.dev = N: a dev split of N scenes)\" at 0.5,0.5 center\n"
                   "plot 2 notitle\nunset label 1\n");
    }
    fprintf(f, "unset multiplot\n");
}

/* ---- AP against compute, a panel per fraction ---- */

static int write_dat_cpu(const ctx *c, const char *name, double *lo, double *hi, rk_err *err)
{
    const rk_results *r = c->r;
    FILE *f;
    int rc = rk_rp_open(&f, c->o->out_dir, name, err);
    if (rc) return rc;
    fprintf(f, "# per cell: mean CPU seconds of a trial from nothing (teacher, pseudo-labels, backbone), AP "
               "(x100) mean, CI low, CI high, its policy (the point's label); one block per "
               "(fraction, series)\n");
    *lo = INFINITY, *hi = 0;
    for (size_t fi = 0; fi < r->nfractions; fi++)
        for (size_t k = 0; k < c->nser; k++) {
            block_head(f, c, k, r->fractions[fi]);
            int any = 0;
            for (size_t i = 0; i < c->ser[k].n; i++) {
                const rk_cell *cell = &r->cells[c->ser[k].first + i];
                if (!isfinite(cell->cpu.mean) || !rk_feq(cell->fraction, r->fractions[fi])) continue;
                fprintf(f, "%.6g", cell->cpu.mean);
                cell_point(f, cell, 0);
                if (cell->cpu.mean > 0) *lo = fmin(*lo, cell->cpu.mean);
                *hi = fmax(*hi, cell->cpu.mean);
                any = 1;
            }
            if (!any) fprintf(f, "? ? ? ? \"-\"\n");
            fprintf(f, "\n\n");
        }
    rc = rk_rp_close(f, c->o->out_dir, name, err);
    return rc ? rc : rk_rp_file_add(c->files, name, err);
}

static void body_cpu(FILE *f, const ctx *c, const void *arg)
{
    const double *range = arg;
    const rk_results *r = c->r;
    grid g;
    char title[200];
    snprintf(title, sizeof title, "AP vs compute per trial (mean over seeds, %g %% CI)",
             100 * r->confidence);
    grid_begin(f, &g, r->nfractions, 0, c->nser, title);
    /* the tic labels slanted: four-digit seconds side by side run into each other */
    fprintf(f, "set xlabel \"CPU seconds per trial, from nothing\"\nset xtics rotate by 30 right\n"
               "set ylabel \"AP (COCO, ×100)\"\nset grid xtics ytics\nset yrange [0<*:*<100]\n"
               "set offsets graph 0.05, graph 0.12, graph 0.05, graph 0.05\n");
    if (range[0] > 0 && range[1] / range[0] > 10) fprintf(f, "set logscale x\n");
    for (size_t fi = 0; fi < r->nfractions; fi++) {
        grid_panel(f, &g, fi);
        fprintf(f, "set title \"%g %% of the labelled data\"\nplot", 100 * r->fractions[fi]);
        for (size_t k = 0; k < c->nser; k++) {
            fprintf(f, "%s \"ap_vs_cpu.dat\" index %zu using 1:2:3:4 with yerrorbars notitle",
                    k ? ", \\\n    " : " ", fi * c->nser + k);
            series_style(f, c, k);
        }
        /* each point's policy beside it, in its arm's colour: the label text comes from the
         * data file, where gnuplot substitutes nothing */
        for (size_t k = 0; k < c->nser; k++)
            fprintf(f, ", \\\n    \"ap_vs_cpu.dat\" index %zu using 1:2:5 with labels left "
                       "offset char 0.6,0.45 font \"%s,9\" tc rgb \"%s\" notitle",
                    fi * c->nser + k, FONT, rk_rp_arm_color(c->ser[k].arm));
        fprintf(f, "\n");
    }
    fprintf(f, "set offsets 0, 0, 0, 0\nunset logscale x\nset xtics norotate autojustify\n");
    grid_key(f, &g, c, "yerrorbars", c->nser, series_entry);
}

/* ---- AP against a numeric extra axis (the α plot for selftrain.alpha) ----
 * A panel per (arm, labelled fraction), a line per augmentation policy coloured from light
 * (weak) to dark (strong): the paper's Table 9 reading — the best α falls as augmentation
 * gets stronger — is then the drift of each line's peak from one colour to the next. */

typedef struct {
    const char *key;
    char file[160];
    size_t ngroups;
    char (*group)[400];  /* "arm [other axes]" of each row of panels */
    int logx;            /* positive values spanning a factor >= 4: log2 axis */
    double lo, hi;
} axis_arg;

/* "arm [the variant without key]" of a cell. */
static void axis_group(const rk_cell *cell, const char *key, char *out, size_t cap)
{
    size_t u = (size_t)snprintf(out, cap, "%s [", cell->arm);
    if (u + 1 >= cap) return;
    size_t k = rk_variant_format(cell->variant, key, out + u, cap - u);
    if (!k) out[u - 2] = 0; /* no other axis: the arm alone */
    else if (u + k + 1 < cap) memcpy(out + u + k, "]", 2);
}

/* Colour of aug a of n, light to dark blue (ColorBrewer Blues, its lightest shades left out:
 * they vanish on white). */
static const char *aug_color(size_t a, size_t n)
{
    static const char *const blues[] = {"#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c",
                                        "#08306b"};
    size_t i = n > 1 ? (a * 5 + (n - 1) / 2) / (n - 1) : 4;
    return blues[i > 5 ? 5 : i];
}

typedef struct {
    double x;
    const rk_cell *cell;
} axis_pt;

static int is_number(const char *s)
{
    char *e;
    if (!s || !*s) return 0;
    strtod(s, &e);
    return !*e;
}

static int axis_pt_cmp(const void *a, const void *b)
{
    double x = ((const axis_pt *)a)->x, y = ((const axis_pt *)b)->x;
    return x < y ? -1 : x > y;
}

static int write_dat_axis(const ctx *c, axis_arg *x, rk_err *err)
{
    const rk_results *r = c->r;
    x->group = calloc(r->ncells + 1, sizeof *x->group);
    axis_pt *pts = calloc(r->ncells + 1, sizeof *pts);
    if (!x->group || !pts) {
        free(pts);
        return rk_errf(err, RK_ENOMEM, "out of memory");
    }
    x->lo = INFINITY, x->hi = -INFINITY;
    for (size_t i = 0; i < r->ncells; i++) {
        const rk_cell *cell = &r->cells[i];
        const char *v = rk_variant_value(cell->variant, x->key);
        char g[400];
        if (!v) continue;
        double xv = strtod(v, NULL);
        x->lo = fmin(x->lo, xv), x->hi = fmax(x->hi, xv);
        axis_group(cell, x->key, g, sizeof g);
        size_t k = 0;
        while (k < x->ngroups && strcmp(x->group[k], g)) k++;
        if (k == x->ngroups) snprintf(x->group[x->ngroups++], sizeof x->group[0], "%s", g);
    }
    x->logx = x->lo > 0 && x->hi / x->lo >= 4;
    FILE *f;
    int rc = rk_rp_open(&f, c->o->out_dir, x->file, err);
    if (rc) {
        free(pts);
        return rc;
    }
    char key[200];
    safe_text(key, sizeof key, x->key);
    fprintf(f, "# AP (x100) against %s: one block per (arm group, fraction, aug); columns: %s, "
               "mean, CI low, CI high, n\n", key, key);
    for (size_t g = 0; g < x->ngroups; g++)
        for (size_t fi = 0; fi < r->nfractions; fi++)
            for (size_t a = 0; a < r->naugs; a++) {
                size_t np = 0;
                for (size_t i = 0; i < r->ncells; i++) {
                    const rk_cell *cell = &r->cells[i];
                    const char *v = rk_variant_value(cell->variant, x->key);
                    char gr[400];
                    if (!v || !rk_feq(cell->fraction, r->fractions[fi]) ||
                        strcmp(cell->aug, r->augs[a]))
                        continue;
                    axis_group(cell, x->key, gr, sizeof gr);
                    if (strcmp(gr, x->group[g])) continue;
                    pts[np].x = strtod(v, NULL);
                    pts[np++].cell = cell;
                }
                qsort(pts, np, sizeof *pts, axis_pt_cmp);
                char gr[400], aug[200];
                safe_text(gr, sizeof gr, x->group[g]);
                safe_text(aug, sizeof aug, r->augs[a]);
                fprintf(f, "# %s, fraction %g, %s\n", gr, r->fractions[fi], aug);
                for (size_t i = 0; i < np; i++) {
                    fprintf(f, "%.6g", pts[i].x);
                    point3(f, &pts[i].cell->stat[0], 1);
                    fprintf(f, " %zu\n", pts[i].cell->n);
                }
                if (!np) fprintf(f, "? ? ? ? 0\n");
                fprintf(f, "\n\n");
            }
    free(pts);
    rc = rk_rp_close(f, c->o->out_dir, x->file, err);
    return rc ? rc : rk_rp_file_add(c->files, x->file, err);
}

static void axis_entry(FILE *f, const ctx *c, const void *arg, size_t a)
{
    (void)arg;
    fprintf(f, " with yerrorlines title ");
    gs(f, c->r->augs[a]);
    fprintf(f, " lc rgb \"%s\" pt 7 ps 1 lw 1.8", aug_color(a, c->r->naugs));
}

static void body_axis(FILE *f, const ctx *c, const void *arg)
{
    const axis_arg *x = arg;
    const rk_results *r = c->r;
    int alpha = !strcmp(x->key, "selftrain.alpha");
    grid g;
    char title[300];
    snprintf(title, sizeof title, "AP vs %s, a line per augmentation (mean over seeds, %g %% CI)",
             alpha ? "α, the weight of the pseudo-label loss" : x->key, 100 * r->confidence);
    grid_begin(f, &g, x->ngroups * r->nfractions, (int)r->nfractions, r->naugs, title);
    fprintf(f, "set xlabel ");
    gs(f, alpha ? "α (selftrain.alpha)" : x->key);
    fprintf(f, "\nset ylabel \"AP (COCO, ×100)\"\nset yrange [0<*:*<100]\n");
    if (x->logx)
        fprintf(f, "set logscale x 2\nset xrange [%g:%g]\n", x->lo / 1.3, x->hi * 1.3);
    else
        fprintf(f, "set offsets graph 0.05, graph 0.05, 0, 0\n");
    for (size_t gi = 0; gi < x->ngroups; gi++)
        for (size_t fi = 0; fi < r->nfractions; fi++) {
            grid_panel(f, &g, gi * r->nfractions + fi);
            char pt[500];
            snprintf(pt, sizeof pt, "%s, %g %% labelled", x->group[gi], 100 * r->fractions[fi]);
            fprintf(f, "set title ");
            gs(f, pt);
            fprintf(f, "\nplot");
            for (size_t a = 0; a < r->naugs; a++) {
                fprintf(f, "%s \"%s\" index %zu using 1:2:3:4 with yerrorlines notitle lc rgb \"%s\" "
                           "pt 7 ps 1 lw 1.8", a ? ", \\\n    " : " ", x->file,
                        (gi * r->nfractions + fi) * r->naugs + a, aug_color(a, r->naugs));
            }
            fprintf(f, "\n");
        }
    fprintf(f, "set offsets 0, 0, 0, 0\nunset logscale x\n");
    grid_key(f, &g, c, x, r->naugs, axis_entry);
}

/* ---- all plots ---- */

/* *cc = the cell whose training curves are drawn (NULL on error). */
static int curve_cell(const rk_cell **cc, const rk_results *r, const rk_report_opts *o,
                      rk_err *err)
{
    *cc = NULL;
    if (o->curve_arm) {
        for (size_t i = 0; i < r->ncells && !*cc; i++) {
            const rk_cell *c = &r->cells[i];
            if (!strcmp(c->arm, o->curve_arm) && !strcmp(c->aug, o->curve_aug) &&
                rk_feq(c->fraction, o->curve_fraction))
                *cc = c;
        }
        if (*cc) return RK_OK;
        return rk_errf(err, RK_EINVAL, "--cell %s,%s,%g: study %s has no such cell (finished)",
                       o->curve_arm, o->curve_aug, o->curve_fraction, r->study);
    }
    for (size_t i = 0; i < r->ncells && !*cc; i++)
        if (rk_arm_parse(r->cells[i].arm) == RK_ARM_SELFTRAIN) *cc = &r->cells[i];
    if (!*cc) *cc = &r->cells[0];
    return RK_OK;
}

int rk_rp_plots(const rk_results *r, const rk_report_opts *o, rk_rp_plot **plots, size_t *n,
                rk_report_files *files, char **warning, rk_err *err)
{
    ctx c = {.r = r, .o = o, .files = files};
    *plots = NULL;
    *n = 0;
    *warning = NULL;
    const rk_cell *cc;
    int rc = curve_cell(&cc, r, o, err);
    if (!rc) rc = rk_rp_series_list(r, &c.ser, &c.nser, err);
    int cols, rows;
    char cap[700];
    if (!rc) rc = write_dat_aug(&c, "ap_vs_aug.dat", err);
    if (!rc) {
        layout(r->nfractions, 0, &cols, &rows);
        snprintf(cap, sizeof cap, "COCO AP (×100) against augmentation policy, one panel per "
                 "labelled fraction, one line per arm (the paper's Fig. 1 and 3). Points are means "
                 "over seeds; bars are %g %% Student-t intervals (none where a cell has one seed), "
                 "clipped to AP >= 0.%s", 100 * r->confidence,
                 o->shared_y ? " Every panel has the same y range." : "");
        rc = plot_add(&c, "ap_vs_aug", "AP vs augmentation strength", cap, PANEL_W * cols,
                      grid_height(r->nfractions, 0, c.nser, PANEL_W * cols), body_aug, NULL, err);
    }
    if (!rc) rc = write_dat_fraction(&c, "ap_vs_fraction.dat", err);
    if (!rc) {
        layout(r->naugs, 0, &cols, &rows);
        snprintf(cap, sizeof cap, "COCO AP (×100) against the labelled fraction, one panel per "
                 "augmentation policy, one line per arm (the paper's Table 3). Bars: %g %% CI.%s",
                 100 * r->confidence, o->shared_y ? " Every panel has the same y range." : "");
        rc = plot_add(&c, "ap_vs_fraction", "AP vs labelled fraction", cap, PANEL_W * cols,
                      grid_height(r->naugs, 0, c.nser, PANEL_W * cols), body_fraction, NULL, err);
    }
    for (int control = 0; control < 2 && !rc; control++) {
        delta_arg d = {.control = control,
                       .file = control ? "delta_vs_control.dat" : "delta_vs_scratch.dat"};
        /* against the control only when the study has one: no empty plot otherwise */
        rc = write_dat_delta(&c, &d, err);
        if (!rc && d.nbars && (!control || d.npaired)) {
            int w = (int)(r->nfractions * r->naugs * (d.nbars * 20 + 30)) + 200;
            if (control)
                snprintf(cap, sizeof cap, "AP of each arm that has a control minus AP of that "
                         "control in the same cell, paired by seed: the control (continue, "
                         "pretrain+continue) starts from the same teacher and trains as long with "
                         "as many images per step, on labelled data only, so this is the "
                         "pseudo-labels' own effect. Bars are means, whiskers %g %% CI.",
                         100 * r->confidence);
            else
                snprintf(cap, sizeof cap, "AP of each arm minus AP of scratch in the same cell, "
                         "paired by seed (same labelled subset and initialisation); bars are means, "
                         "whiskers %g %% CI. Above zero: the arm helps.", 100 * r->confidence);
            rc = plot_add(&c, control ? "delta_vs_control" : "delta_vs_scratch",
                          control ? "ΔAP vs control" : "ΔAP vs scratch", cap,
                          w < 760 ? 760 : w > 1600 ? 1600 : w, 520, body_delta, &d, err);
        }
        free(d.bar);
    }
    curve_arg ca = {.cell = cc};
    if (!rc) rc = write_dat_curves(&c, "curves.dat", &ca, err);
    if (!rc) {
        snprintf(cap, sizeof cap, "Training loss, and validation AP and dev AP (dashed: the "
                 "held-out split that chose the kept checkpoint) where recorded, per epoch of the "
                 "cell %s, %s, %g %% labelled%s%s, one line per seed (rethink report --cell "
                 "ARM,AUG,FRACTION picks another).", cc->arm, cc->aug, 100 * cc->fraction,
                 *cc->variant->text ? ", " : "", cc->variant->text);
        rc = plot_add(&c, "curves", "Training curves", cap, 2 * PANEL_W, PANEL_H + KEY_H,
                      body_curves, &ca, err);
    }
    double range[2] = {0, 0};
    if (!rc) rc = write_dat_cpu(&c, "ap_vs_cpu.dat", &range[0], &range[1], err);
    if (!rc) {
        layout(r->nfractions, 0, &cols, &rows);
        snprintf(cap, sizeof cap, "AP (×100) against the CPU seconds one trial of the cell cost "
                 "from nothing, a panel per labelled fraction, a point per cell labelled with its "
                 "augmentation policy: a student or control counts its teacher's training and its "
                 "pseudo-labelling, an arm descended from the pre-trained backbone the backbone's "
                 "whole pre-training (amortised: the report's table). Bars: %g %% CI of AP.",
                 100 * r->confidence);
        rc = plot_add(&c, "ap_vs_cpu", "AP vs compute", cap, PANEL_W * cols,
                      grid_height(r->nfractions, 0, c.nser, PANEL_W * cols), body_cpu, range, err);
    }
    for (size_t a = 0; a < r->naxes && !rc; a++) {
        int numeric = 1, have = 0;
        for (size_t i = 0; i < r->n && numeric; i++) {
            const char *v = rk_result_param(&r->t[i], r->axes[a]);
            if (v) numeric = is_number(v), have = 1;
        }
        if (!numeric || !have) continue;
        axis_arg x = {.key = r->axes[a]};
        char name[64];
        snprintf(name, sizeof name, "ap_vs_%.50s", r->axes[a]);
        for (char *p = name; *p; p++)
            if (!isalnum((unsigned char)*p)) *p = '_';
        snprintf(x.file, sizeof x.file, "%s.dat", name);
        rc = write_dat_axis(&c, &x, err);
        snprintf(cap, sizeof cap, "AP (×100) against the grid axis %s: a panel per arm and "
                 "labelled fraction, a line per augmentation policy from light (weak) to dark "
                 "(strong). Bars: %g %% CI.", r->axes[a], 100 * r->confidence);
        int w = PANEL_W * (int)r->nfractions;
        if (!rc)
            rc = plot_add(&c, name, !strcmp(r->axes[a], "selftrain.alpha") ? "AP vs α" : name, cap,
                          w, grid_height(x.ngroups * r->nfractions, (int)r->nfractions, r->naugs, w),
                          body_axis, &x, err);
        free(x.group);
    }
    free(c.ser);
    if (!rc && *c.failed) {
        size_t drawn = 0, len = strlen(c.failed) + strlen(c.why) + 40;
        for (size_t i = 0; i < c.nplots; i++) drawn += (size_t)c.plots[i].drawn;
        if (!(*warning = malloc(len))) rc = rk_errf(err, RK_ENOMEM, "out of memory");
        else if (!drawn) snprintf(*warning, len, "gnuplot drew no plot: %s", c.why);
        else snprintf(*warning, len, "gnuplot did not draw %s: %s", c.failed, c.why);
    }
    if (rc) {
        free(c.plots);
        return rc;
    }
    *plots = c.plots;
    *n = c.nplots;
    return RK_OK;
}
