/* The progress display of progress.h: workers' states from their events, one status line on
 * a terminal (cleared before any other line and redrawn after it), a plain line every N
 * seconds elsewhere, or JSON lines. The status line is cut to the terminal's width: a line
 * that wrapped could not be cleared with a carriage return. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "progress.h"
#include "rethink/core.h"

typedef struct worker_state {
    int active, pretraining;
    char label[96], note[96];
    long step, steps;
    int epoch, epochs;
    double dev_ap, img_per_s, acc;
} worker_state;

struct progress {
    prog_mode mode;
    int nworkers;
    worker_state *w;
    double every_s, last_plain;
    int shown; /* tty: a status line is on the screen: drawn */
    int notes; /* notes as lines too (progress_show_notes) */
    char summary[256], drawn[2048];
};

void progress_show_notes(progress *g, int on)
{
    if (g) g->notes = on;
}

run_event run_event_make(int kind, int slot, const char *label)
{
    run_event e = {.kind = kind, .slot = slot, .loss = NAN, .dev_ap = NAN, .img_per_s = NAN,
                   .acc = NAN, .ap = NAN, .ap50 = NAN, .wall_s = NAN};
    snprintf(e.label, sizeof e.label, "%s", label ? label : "");
    return e;
}

prog_mode progress_mode(int quiet, int json)
{
    if (json) return PROG_JSON;
    if (quiet) return PROG_QUIET;
    return isatty(STDOUT_FILENO) ? PROG_TTY : PROG_PLAIN;
}

progress *progress_new(prog_mode mode, int nworkers, double every_s)
{
    progress *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->w = calloc((size_t)(nworkers > 0 ? nworkers : 1), sizeof *g->w);
    if (!g->w) {
        free(g);
        return NULL;
    }
    g->mode = mode, g->nworkers = nworkers > 0 ? nworkers : 1, g->every_s = every_s;
    g->last_plain = rk_now();
    return g;
}

prog_mode progress_mode_of(const progress *g) { return g ? g->mode : PROG_QUIET; }

static void clear(progress *g)
{
    if (g->shown) fputs("\r\033[K", stdout), fflush(stdout);
    g->shown = 0;
}

void progress_free(progress *g)
{
    if (!g) return;
    clear(g);
    free(g->w);
    free(g);
}

/* The status text: the summary, then each busy worker's trial and where it is. */
static void compose(const progress *g, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "%s", g->summary);
    for (int i = 0; i < g->nworkers && n < cap; i++) {
        const worker_state *w = &g->w[i];
        if (!w->active) continue;
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? " | " : "", w->label);
        if (n >= cap) break;
        if (w->pretraining) {
            n += (size_t)snprintf(buf + n, cap - n, " pre-training");
            if (w->steps && n < cap)
                n += (size_t)snprintf(buf + n, cap - n, " step %ld/%ld", w->step, w->steps);
            if (w->epochs && n < cap)
                n += (size_t)snprintf(buf + n, cap - n, " epoch %d/%d", w->epoch, w->epochs);
            if (!isnan(w->acc) && n < cap)
                n += (size_t)snprintf(buf + n, cap - n, " acc %.2f", w->acc);
        } else if (w->steps) {
            n += (size_t)snprintf(buf + n, cap - n, " step %ld/%ld", w->step, w->steps);
            if (!isnan(w->dev_ap) && n < cap)
                n += (size_t)snprintf(buf + n, cap - n, " dev AP %.3f", w->dev_ap);
        } else if (w->note[0]) {
            n += (size_t)snprintf(buf + n, cap - n, " %s", w->note);
        }
        if (!isnan(w->img_per_s) && (w->pretraining || w->steps) && n < cap)
            n += (size_t)snprintf(buf + n, cap - n, " %.0f img/s", w->img_per_s);
    }
}

static int columns(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1) return ws.ws_col;
    const char *c = getenv("COLUMNS");
    return c && atoi(c) > 1 ? atoi(c) : 80;
}

static void draw(progress *g)
{
    if (g->mode != PROG_TTY) return;
    char line[2048];
    compose(g, line, sizeof line);
    size_t width = (size_t)columns() - 1; /* the last column would wrap on some terminals */
    if (strlen(line) > width) line[width] = 0;
    if (g->shown && !strcmp(line, g->drawn)) return; /* unchanged */
    snprintf(g->drawn, sizeof g->drawn, "%s", line);
    fputs("\r\033[K", stdout);
    fputs(line, stdout);
    fflush(stdout);
    g->shown = line[0] != 0;
}

void progress_print(progress *g, FILE *f, const char *fmt, ...)
{
    va_list ap;
    if (g && (g->mode == PROG_QUIET || g->mode == PROG_JSON) && f == stdout) return;
    if (g) clear(g);
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fflush(f);
    if (g) draw(g);
}


static const char *const KINDS[] = {"start", "step", "epoch", "pretrain", "note", "done",
                                    "failed", "error"};

static void add_num(cJSON *o, const char *name, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, name, v);
}

static void event_json(progress *g, const run_event *e)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return;
    cJSON_AddStringToObject(o, "event", KINDS[e->kind]);
    cJSON_AddNumberToObject(o, "worker", e->slot);
    if (e->trial) cJSON_AddNumberToObject(o, "trial", (double)e->trial);
    if (e->label[0]) cJSON_AddStringToObject(o, "label", e->label);
    if (e->kind == EV_START || e->kind == EV_FAILED)
        cJSON_AddNumberToObject(o, "attempt", e->attempt);
    if (e->kind == EV_STEP || e->kind == EV_START || e->kind == EV_DONE ||
        (e->kind == EV_PRETRAIN && e->steps)) {
        if (e->kind != EV_START) cJSON_AddNumberToObject(o, "step", (double)e->step);
        if (e->steps) cJSON_AddNumberToObject(o, "steps", (double)e->steps);
    }
    if (e->kind == EV_EPOCH || e->kind == EV_PRETRAIN) {
        cJSON_AddNumberToObject(o, "epoch", e->epoch);
        cJSON_AddNumberToObject(o, "epochs", e->epochs);
    }
    add_num(o, "loss", e->loss);
    add_num(o, "dev_ap", e->dev_ap);
    add_num(o, "img_per_s", e->img_per_s);
    add_num(o, "accuracy", e->acc);
    add_num(o, e->segment ? "mIoU" : "AP", e->ap);
    if (!e->segment) add_num(o, "AP50", e->ap50);
    add_num(o, "wall_s", e->wall_s);
    if (e->stop[0]) cJSON_AddStringToObject(o, "stop_reason", e->stop);
    if (e->kind == EV_FAILED) cJSON_AddBoolToObject(o, "retry", e->retry);
    if (e->text[0]) cJSON_AddStringToObject(o, e->kind == EV_NOTE ? "note" : "error", e->text);
    char *s = cJSON_PrintUnformatted(o);
    if (s) printf("%s\n", s), fflush(stdout);
    free(s);
    cJSON_Delete(o);
}

void progress_event(progress *g, const run_event *e)
{
    if (!g || e->kind < EV_START || e->kind > EV_ERROR) return;
    if (g->mode == PROG_JSON) event_json(g, e);
    worker_state *w = e->slot >= 0 && e->slot < g->nworkers ? &g->w[e->slot] : NULL;
    switch (e->kind) {
    case EV_START:
        if (w) {
            *w = (worker_state){.active = 1, .dev_ap = NAN, .img_per_s = NAN, .acc = NAN};
            snprintf(w->label, sizeof w->label, "%s", e->label);
            snprintf(w->note, sizeof w->note, "starting");
        }
        break;
    case EV_STEP:
        if (w) w->pretraining = 0, w->step = e->step, w->steps = e->steps;
        break;
    case EV_EPOCH:
        if (w && !isnan(e->dev_ap)) w->dev_ap = e->dev_ap;
        if (w && !isnan(e->img_per_s)) w->img_per_s = e->img_per_s;
        break;
    case EV_PRETRAIN:
        if (w) {
            if (!w->pretraining) w->img_per_s = NAN, w->steps = 0;
            w->pretraining = 1;
            if (e->steps) w->step = e->step, w->steps = e->steps;
            if (e->epochs) w->epoch = e->epoch, w->epochs = e->epochs;
            if (!isnan(e->acc)) w->acc = e->acc;
            if (!isnan(e->img_per_s)) w->img_per_s = e->img_per_s;
        }
        break;
    case EV_NOTE:
        if (g->notes) progress_print(g, stdout, "%s: %s\n", e->label, e->text);
        if (w) {
            snprintf(w->note, sizeof w->note, "%.*s", (int)sizeof w->note - 1, e->text);
            w->pretraining = 0, w->steps = 0, w->img_per_s = NAN;
        }
        break;
    case EV_DONE:
        if (w) w->active = 0;
        if (e->segment && !strcmp(e->stop, "plateau"))
            progress_print(g, stdout, "%s: mIoU %.4f (%.0f s, plateau at step %ld)\n", e->label,
                           e->ap, e->wall_s, e->step);
        else if (e->segment)
            progress_print(g, stdout, "%s: mIoU %.4f (%.0f s)\n", e->label, e->ap, e->wall_s);
        else if (!strcmp(e->stop, "plateau"))
            progress_print(g, stdout, "%s: AP %.4f AP50 %.4f (%.0f s, plateau at step %ld)\n",
                           e->label, e->ap, e->ap50, e->wall_s, e->step);
        else
            progress_print(g, stdout, "%s: AP %.4f AP50 %.4f (%.0f s)\n", e->label, e->ap,
                           e->ap50, e->wall_s);
        return;
    case EV_FAILED:
        if (w) w->active = 0;
        progress_print(g, stderr, "trial %lld failed (attempt %d%s): %s\n", (long long)e->trial,
                       e->attempt, e->retry ? ", will retry" : "", e->text);
        return;
    case EV_ERROR:
        progress_print(g, stderr, "%s\n", e->text);
        return;
    }
    draw(g);
}

void progress_status(progress *g, const char *summary, int force)
{
    if (!g) return;
    snprintf(g->summary, sizeof g->summary, "%s", summary ? summary : "");
    if (g->mode == PROG_TTY) {
        draw(g);
    } else if (g->mode == PROG_PLAIN) {
        double now = rk_now();
        if (!force && now - g->last_plain < g->every_s) return;
        g->last_plain = now;
        char line[2048];
        compose(g, line, sizeof line);
        printf("progress: %s\n", line);
        fflush(stdout);
    }
}
