/* What a running trial reports (run_event, from the trial's hooks in run.c) and how the
 * command line shows it (CLI-only). One display per process that owns the terminal: the
 * parent of a sweep (its workers send their events through a pipe), or `rethink train`.
 *
 *   tty:   one status line, redrawn in place; every other line (a result, an error) clears
 *          it first and redraws it after, so no output is ever glued to it;
 *   plain: off a terminal (CI, logs), the same status as a plain line at most every N
 *          seconds, and the same result lines;
 *   json:  every event as one JSON object per line on stdout (for tools), nothing else
 *          there;
 *   quiet: results and status not shown; errors still go to stderr. */
#ifndef RETHINK_CLI_PROGRESS_H
#define RETHINK_CLI_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef enum ev_kind {
    EV_START,    /* a trial starts: label, trial, attempt, steps (its step budget) */
    EV_STEP,     /* detector training: step of steps, loss; at most a few per second */
    EV_EPOCH,    /* an epoch of it ended: epoch of epochs, dev_ap (NAN: not evaluated), img/s */
    EV_PRETRAIN, /* pre-training: epoch of epochs, training accuracy (acc), img/s; step of
                    steps between epochs */
    EV_NOTE,     /* what the trial is doing now (text) */
    EV_DONE,     /* finished: ap, ap50, wall_s, step (steps trained), stop (why it stopped) */
    EV_FAILED,   /* text: the error; retry: it goes back to pending */
    EV_ERROR,    /* a worker's own error (text), not a trial's */
} ev_kind;

/* Fixed size (below PIPE_BUF), so that a worker's write of one is atomic on a shared pipe. */
typedef struct run_event {
    int kind, slot;           /* ev_kind; the worker that sent it */
    int64_t trial;            /* store id, 0: none */
    int attempt, retry;
    long step, steps;
    int epoch, epochs;
    double loss, dev_ap, img_per_s, acc, ap, ap50, wall_s; /* NAN: unknown */
    int segment;              /* EV_DONE of a segmentation trial: ap is its mIoU */
    char label[96];           /* "[0] scratch S4 f=0.5 s=1" */
    char stop[16];            /* "plateau", "budget" */
    char text[560];
} run_event;

/* Where a trial's events go (NULL fn: nowhere). */
typedef struct run_sink {
    void (*fn)(void *ctx, const run_event *e);
    void *ctx;
    int slot;
} run_sink;

/* A run_event with every number unknown (NAN) and its kind, slot and label set. */
run_event run_event_make(int kind, int slot, const char *label);

typedef enum prog_mode { PROG_QUIET, PROG_PLAIN, PROG_TTY, PROG_JSON } prog_mode;

/* tty if stdout is a terminal, else plain; quiet and json as asked. */
prog_mode progress_mode(int quiet, int json);

typedef struct progress progress;

/* A display for nworkers workers; every_s: plain mode's least interval between lines. */
progress *progress_new(prog_mode mode, int nworkers, double every_s);
/* Clears the status line and frees the display (NULL: nothing). */
void progress_free(progress *g);
prog_mode progress_mode_of(const progress *g);
/* Notes (reusing a checkpoint, a backbone made, pseudo-label counts) as lines of their own
 * too, not only on the status line: for `train`, whose one trial the user is watching. */
void progress_show_notes(progress *g, int on);
/* A line of output on f (stdout or stderr): the status line cleared first and redrawn
 * after. Quiet and json show stdout lines not at all, stderr ones as they are. */
void progress_print(progress *g, FILE *f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An event: the worker's state for the status line; results and failures as lines (json:
 * the event as JSON). */
void progress_event(progress *g, const run_event *e);
/* The summary before the workers on the status line ("3/16 done, ETA 4 min"), shown now
 * (tty), or as a plain line when every_s passed since the last (force: now). */
void progress_status(progress *g, const char *summary, int force);

#endif
