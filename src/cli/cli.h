/* Command-line helpers shared by the subcommands (the only code that prints and exits). */
#ifndef RETHINK_CLI_H
#define RETHINK_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "rethink/store.h"

int cmd_bench(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_augment(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_baseline(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_predict(int argc, char **argv);

int bench_eval(int argc, char **argv);

/* The git revision of this build (git_rev.h), NULL when unknown: stored with every trial. */
const char *cli_git_rev(void);

/* ---- the database, for commands that read what sweeps recorded (cmd_ls.c) ---- */
/* Opens an existing database (readonly: rk_store_open_readonly, for commands that only
 * look); a missing one is said ("rethink CMD: ..."), not created. Returns 0, or 1 (said). */
int cli_open_db(const char *path, rk_store **db, const char *cmd, int readonly);
/* The id of the trial that spec names: an id, or a prefix of its config hash. Returns 0,
 * 1 (no such trial) or 2 (a prefix of several), said. */
int cli_trial_id(rk_store *db, const char *spec, int64_t *id, const char *cmd);

/* ---- options (opts.c) ----
 * Every command describes its options in one table of cli_opt rows; cli_parse reads argv
 * with getopt_long against it and cli_help prints --help from it. So everywhere:
 * `--opt value` and `--opt=value` both work, a long option must be spelled out (no
 * prefixes: a script's `--dry` would break the day a `--dry-x` appears), options and
 * positional arguments mix in any order (`--` ends the options), -h and --help print the
 * help, and every error reads "rethink CMD: option --x: expected ..., got '...'" (exit
 * status 2). */
typedef enum cli_kind {
    CLI_FLAG,   /* no value: *(int *)dst = 1 */
    CLI_STR,    /* *(const char **)dst = the value (it points into argv) */
    CLI_INT,    /* *(int *)dst: an integer in lo..hi */
    CLI_NUM,    /* *(double *)dst: a finite number, within lo..hi unless both are 0 */
    CLI_PAIR,   /* ((double *)dst)[0, 1]: "MIN,MAX" with MIN <= MAX */
    CLI_CHOICE, /* *(int *)dst: the value's index in choices (NULL-terminated) */
    CLI_LIST,   /* repeatable: each value appended to *(cli_list *)dst */
    CLI_FN,     /* parse(value, dst) == 0, else the error says "expected <expect>" */
} cli_kind;

/* cli_opt.open: CLI_NUM's bounds excluded from its range */
enum { CLI_OPEN_LO = 1, CLI_OPEN_HI = 2 };

/* Values of a CLI_LIST: after a successful cli_parse v is allocated with room for n + 1
 * entries (the last NULL) whether or not any value was given; free(v) when done. */
typedef struct cli_list {
    const char **v;
    size_t n;
} cli_list;

/* One row of a command's table (ended by {0}), one of:
 *   an option:     name and/or short_name, with kind and dst;
 *   a positional:  neither name, with arg naming it ("FILE") and dst; rows fill in order,
 *                  a CLI_LIST takes the rest; more arguments than rows are an error;
 *   a text line:   only help, printed as it is among the options in --help. */
typedef struct cli_opt {
    const char *name;  /* long name without the dashes: "db" for --db */
    char short_name;   /* 'j' for -j, 0 for none */
    cli_kind kind;
    void *dst;
    const char *arg;   /* the value in --help and messages ("FILE"); NULL for a flag */
    const char *help;  /* beside the option in --help; each '\n' continues in its column */
    int required;      /* missing: "rethink CMD: --db FILE is required" */
    double lo, hi;     /* CLI_INT, CLI_NUM: the range (inclusive unless open) */
    int open;          /* CLI_OPEN_LO | CLI_OPEN_HI */
    const char *const *choices; /* CLI_CHOICE */
    int (*parse)(const char *value, void *dst); /* CLI_FN: 0 if value is good */
    const char *expect; /* CLI_FN: what a good value looks like, for the error */
} cli_opt;

typedef struct cli_cmd {
    const char *name;    /* "bench train": its messages start "rethink bench train: " */
    const char *usage;   /* --help's text before the options: usage lines and description */
    const cli_opt *opts; /* its table; an "options:" heading is printed unless the first
                          * row is a text line */
} cli_cmd;

/* Parses argv[1..argc) against c's table into the rows' dst (left as they are for options
 * not given: initialise them to the defaults). Returns 0 to go on; otherwise the command
 * returns *status: 0 after printing --help (-h), 2 after a usage error, said on stderr. */
int cli_parse(const cli_cmd *c, int argc, char **argv, int *status);
/* The command's --help: usage, then its table. */
void cli_help(const cli_cmd *c, FILE *f);

/* A command made of subcommands: "rethink bench train", "rethink data build". */
typedef struct cli_sub {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
} cli_sub;
/* Runs the subcommand argv[1] names (subs ends with {0}). Without one, or for help, --help
 * or -h: usage (on stdout with status 0 when asked for, stderr and 2 when missing). who:
 * the command ("bench"; NULL for rethink itself). */
int cli_dispatch(const char *who, const char *usage, const cli_sub *subs, int argc, char **argv);

/* Rows many commands share. */
#define CLI_OPT_DB(var)                                                                   \
    {.name = "db", .kind = CLI_STR, .dst = (var), .arg = "FILE",                         \
     .help = "results database (default results.db)"}
#define CLI_OPT_STUDY(var)                                                                \
    {.name = "study", .kind = CLI_STR, .dst = (var), .arg = "NAME",                      \
     .help = "the study (default: the database's only study)"}
#define CLI_OPT_OVERRIDE(var, text)                                                       \
    {.short_name = 's', .kind = CLI_LIST, .dst = (var), .arg = "key=value", .help = (text)}
#define CLI_OPT_POLICIES(var)                                                             \
    {.name = "policies", .kind = CLI_STR, .dst = (var), .arg = "FILE",                   \
     .help = "INI file with the policies (default: experiments/augment.ini of the\n"     \
             "source tree this rethink was built from)"}
#define CLI_OPT_POLICY_CONFIG(var)                                                        \
    {.name = "config", .kind = CLI_STR, .dst = (var), .arg = "EXPERIMENT",               \
     .help = "the policies an experiment file trains with (its own and its\n"           \
             "study.policies file, found as a sweep finds them)"}
#define CLI_OPT_IMAGES(var)                                                               \
    {.name = "images", .kind = CLI_STR, .dst = (var), .arg = "DIR", .required = 1,       \
     .help = "folder the annotation file's file_name entries are relative to"}
#define CLI_OPT_ANN(var)                                                                  \
    {.name = "ann", .kind = CLI_STR, .dst = (var), .arg = "FILE", .required = 1,         \
     .help = "COCO instances JSON"}

/* Policy name from the policies file (NULL: the default, RK_DEFAULT_POLICIES), or as the
 * experiment file config defines it (config non-NULL). Returns 0, or 1 (said, "rethink
 * CMD: ..."). cmd_augment.c. */
#include "rethink/augment.h"
int cli_policy(const char *policies, const char *config, const char *name, rk_policy *p,
               const char *cmd);

/* figures.c */
#include "rethink/data.h"
/* Boxes of one image from the COCO annotations (cls = category id); out has room for all. */
size_t cli_image_boxes(const rk_coco *c, int64_t image_id, rk_box *out);
/* The image zoomed into tile, with boxes, labels and a two-line caption. */
int cli_render_tile(rk_image *tile, const rk_image *im, const rk_box *b, size_t nb,
                    const rk_coco *c, int zoom, const char *caption, rk_err *err);

#endif
