/* Options of every command from one table each (cli.h): getopt_long reads argv, the row's
 * kind checks the value, and the same rows print --help. Also the subcommand dispatcher.
 *
 * getopt_long runs with "-:" (RETURN_IN_ORDER, so positional arguments come back in place
 * whatever POSIXLY_CORRECT says and argv is never permuted; ':' tells a missing value from
 * an unknown option) and opterr = 0: every message is ours. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define HELP_COL 28 /* options whose left part is longer start their help 2 spaces after it */
#define VAL_BASE 256 /* getopt value of row i without a short name: VAL_BASE + i */

static int is_end(const cli_opt *o) { return !o->name && !o->short_name && !o->dst && !o->help; }
static int is_text(const cli_opt *o) { return !o->name && !o->short_name && !o->dst; }
static int is_pos(const cli_opt *o) { return !o->name && !o->short_name && o->dst; }
static int takes_value(const cli_opt *o) { return o->kind != CLI_FLAG; }

/* "--db" or "-j" into buf: how the messages name an option. */
static const char *spelled(const cli_opt *o, char *buf, size_t cap)
{
    if (o->name) snprintf(buf, cap, "--%s", o->name);
    else snprintf(buf, cap, "-%c", o->short_name);
    return buf;
}

/* What a good value of o looks like, into buf. */
static const char *expected(const cli_opt *o, char *buf, size_t cap)
{
    switch (o->kind) {
    case CLI_INT: snprintf(buf, cap, "an integer in %.0f..%.0f", o->lo, o->hi); break;
    case CLI_NUM:
        if (o->lo == 0 && o->hi == 0) snprintf(buf, cap, "a number");
        else if (isinf(o->hi))
            snprintf(buf, cap, "a number %s %g", o->open & CLI_OPEN_LO ? ">" : ">=", o->lo);
        else
            snprintf(buf, cap, "a number in %c%g, %g%c", o->open & CLI_OPEN_LO ? '(' : '[', o->lo,
                     o->hi, o->open & CLI_OPEN_HI ? ')' : ']');
        break;
    case CLI_PAIR: snprintf(buf, cap, "MIN,MAX with MIN <= MAX"); break;
    case CLI_CHOICE: {
        size_t m = 0, k = 0;
        buf[0] = 0;
        while (o->choices[k]) k++;
        for (size_t i = 0; i < k && m < cap; i++)
            m += snprintf(buf + m, cap - m, "%s%s", i == 0 ? "" : i + 1 < k ? ", " : " or ",
                          o->choices[i]);
        break;
    }
    case CLI_FN: snprintf(buf, cap, "%s", o->expect ? o->expect : "a valid value"); break;
    default: snprintf(buf, cap, "a value"); break;
    }
    return buf;
}

static int parse_double(const char *v, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(d)) return -1;
    *out = d;
    return 0;
}

/* Stores value v of row o; 0, or -1 when v is not a value of its kind. */
static int store(const cli_opt *o, const char *v)
{
    switch (o->kind) {
    case CLI_FLAG: *(int *)o->dst = 1; return 0;
    case CLI_STR: *(const char **)o->dst = v; return 0;
    case CLI_INT: {
        char *end;
        errno = 0;
        long x = strtol(v, &end, 10);
        if (errno || end == v || *end || x < o->lo || x > o->hi) return -1;
        *(int *)o->dst = (int)x;
        return 0;
    }
    case CLI_NUM: {
        double x;
        if (parse_double(v, &x)) return -1;
        if (o->lo != 0 || o->hi != 0) {
            int lo_ok = o->open & CLI_OPEN_LO ? x > o->lo : x >= o->lo;
            int hi_ok = o->open & CLI_OPEN_HI ? x < o->hi : x <= o->hi;
            if (!lo_ok || !hi_ok) return -1;
        }
        *(double *)o->dst = x;
        return 0;
    }
    case CLI_PAIR: {
        const char *comma = strchr(v, ',');
        char a[64];
        double lo, hi;
        if (!comma || (size_t)(comma - v) >= sizeof a) return -1;
        snprintf(a, sizeof a, "%.*s", (int)(comma - v), v);
        if (parse_double(a, &lo) || parse_double(comma + 1, &hi) || lo > hi) return -1;
        ((double *)o->dst)[0] = lo, ((double *)o->dst)[1] = hi;
        return 0;
    }
    case CLI_CHOICE:
        for (int i = 0; o->choices[i]; i++)
            if (!strcmp(v, o->choices[i])) {
                *(int *)o->dst = i;
                return 0;
            }
        return -1;
    case CLI_LIST: {
        cli_list *l = o->dst;
        l->v[l->n++] = v; /* sized for every argument in cli_parse */
        return 0;
    }
    case CLI_FN: return o->parse(v, o->dst) ? -1 : 0;
    }
    return -1;
}

/* Every CLI_LIST of c gets room for cap values and the NULL after them; -1 if out of memory. */
static int lists_alloc(const cli_cmd *c, size_t cap)
{
    int rc = 0;
    for (const cli_opt *o = c->opts; !is_end(o); o++)
        if (o->kind == CLI_LIST && !(((cli_list *)o->dst)->v = calloc(cap + 1, sizeof(char *))))
            rc = -1;
    return rc;
}

static void lists_free(const cli_cmd *c)
{
    for (const cli_opt *o = c->opts; !is_end(o); o++)
        if (o->kind == CLI_LIST) {
            cli_list *l = o->dst;
            free(l->v);
            l->v = NULL, l->n = 0;
        }
}

/* The argv element that getopt_long just read the long option from (its value, when
 * separate, is the next one). */
static const char *long_token(char **argv, const cli_opt *o)
{
    int separate = takes_value(o) && optarg && optind >= 2 && optarg == argv[optind - 1];
    return argv[optind - 1 - separate];
}

/* Stores positional argument v in the next positional row after *pos; 0, or 2 (said). */
static int positional(const cli_cmd *c, const cli_opt **pos, const char *v, int *given)
{
    char buf[256];
    while (!is_end(*pos) && !is_pos(*pos)) (*pos)++;
    if (is_end(*pos)) {
        fprintf(stderr, "rethink %s: unexpected argument '%s' (see --help)\n", c->name, v);
        return 2;
    }
    if (store(*pos, v)) {
        fprintf(stderr, "rethink %s: %s: expected %s, got '%s'\n", c->name, (*pos)->arg,
                expected(*pos, buf, sizeof buf), v);
        return 2;
    }
    given[*pos - c->opts] = 1;
    if ((*pos)->kind != CLI_LIST) (*pos)++;
    return 0;
}

/* One getopt_long result ch (not a positional) against the table; 0, or 2 (said). */
static int option(const cli_cmd *c, size_t n, int ch, int li, char **argv, int *given)
{
    const cli_opt *o = NULL;
    int val = ch == ':' || ch == '?' ? optopt : ch;
    for (size_t i = 0; i < n && !o; i++)
        if (val == (c->opts[i].short_name ? c->opts[i].short_name : VAL_BASE + (int)i))
            o = &c->opts[i];
    char name[64], buf[256];
    if (ch == ':') {
        fprintf(stderr, "rethink %s: option %s needs a value (see --help)\n", c->name,
                o ? spelled(o, name, sizeof name) : argv[optind - 1]);
        return 2;
    }
    if (ch == '?' && o) { /* --flag=value */
        fprintf(stderr, "rethink %s: option %s takes no value (see --help)\n", c->name,
                spelled(o, name, sizeof name));
        return 2;
    }
    if (ch == '?' || !o) {
        if (optopt) snprintf(buf, sizeof buf, "-%c", optopt);
        else snprintf(buf, sizeof buf, "%.*s", (int)strcspn(argv[optind - 1], "="),
                      argv[optind - 1]);
        const char *longs[128];
        size_t nl = 0;
        for (size_t i = 0; i < n && nl < sizeof longs / sizeof *longs; i++)
            if (c->opts[i].name) longs[nl++] = c->opts[i].name;
        const char *near = !strncmp(buf, "--", 2) ? rk_suggest(buf + 2, longs, nl) : NULL;
        fprintf(stderr, "rethink %s: unknown option '%s' (%s%s%ssee --help)\n", c->name, buf,
                near ? "did you mean --" : "", near ? near : "", near ? "? " : "");
        return 2;
    }
    if (li >= 0) { /* getopt_long also takes unique prefixes of long names: refuse them */
        const char *tok = long_token(argv, o);
        size_t len = strlen(o->name);
        if (strncmp(tok, "--", 2) || strncmp(tok + 2, o->name, len) ||
            (tok[2 + len] && tok[2 + len] != '=')) {
            fprintf(stderr, "rethink %s: unknown option '%.*s' (did you mean --%s? see --help)\n",
                    c->name, (int)strcspn(tok, "="), tok, o->name);
            return 2;
        }
    }
    if (store(o, optarg)) {
        fprintf(stderr, "rethink %s: option %s: expected %s, got '%s'\n", c->name,
                spelled(o, name, sizeof name), expected(o, buf, sizeof buf), optarg);
        return 2;
    }
    given[o - c->opts] = 1;
    return 0;
}

/* "rethink CMD: --out DIR is required" for the first required row not given; 0, or 2. */
static int required(const cli_cmd *c, size_t n, const int *given)
{
    char name[64];
    for (size_t i = 0; i < n; i++) {
        const cli_opt *o = &c->opts[i];
        if (!o->required || given[i]) continue;
        if (is_pos(o)) {
            fprintf(stderr, "rethink %s: %s is required (see --help)\n", c->name, o->arg);
        } else {
            fprintf(stderr, "rethink %s: %s%s%s is required (see --help)\n", c->name,
                    spelled(o, name, sizeof name), o->arg ? " " : "", o->arg ? o->arg : "");
        }
        return 2;
    }
    return 0;
}

int cli_parse(const cli_cmd *c, int argc, char **argv, int *status)
{
    size_t n = 0;
    while (!is_end(&c->opts[n])) n++;
    struct option *lo = calloc(n + 2, sizeof *lo);
    char *shorts = malloc(2 * n + 4);
    int *given = calloc(n + 1, sizeof *given); /* row i was given */
    int oom = lists_alloc(c, (size_t)argc) || !lo || !shorts || !given;
    if (oom) fprintf(stderr, "rethink %s: out of memory\n", c->name);
    size_t nl = 0, ns = 0;
    if (!oom) shorts[ns++] = '-', shorts[ns++] = ':', shorts[ns++] = 'h';
    for (size_t i = 0; i < n && !oom; i++) {
        const cli_opt *o = &c->opts[i];
        int val = o->short_name ? o->short_name : VAL_BASE + (int)i;
        if (o->name)
            lo[nl++] = (struct option){o->name, takes_value(o) ? required_argument : no_argument,
                                       NULL, val};
        if (o->short_name) {
            shorts[ns++] = o->short_name;
            if (takes_value(o)) shorts[ns++] = ':';
        }
    }
    if (!oom) lo[nl] = (struct option){"help", no_argument, NULL, 'h'}, shorts[ns] = 0;

    const cli_opt *pos = c->opts; /* where the next positional row is looked for */
    int rc = oom ? 2 : 0, help = 0, ch, li;
    opterr = 0;
    optind = 0; /* glibc: start afresh */
    while (!rc && !help && (li = -1, ch = getopt_long(argc, argv, shorts, lo, &li)) != -1) {
        if (ch == 1) rc = positional(c, &pos, optarg, given); /* in place */
        else if (ch == 'h') help = 1;
        else rc = option(c, n, ch, li, argv, given);
    }
    for (; !rc && !help && optind > 0 && optind < argc; optind++) /* after "--" */
        rc = positional(c, &pos, argv[optind], given);
    if (!rc && !help) rc = required(c, n, given);
    free(lo), free(shorts), free(given);
    if (help) cli_help(c, stdout);
    if (!rc && !help) return 0;
    lists_free(c);
    *status = rc;
    return 1;
}

/* The left column of o in --help ("  -s key=value", "  -v, --verbose"); returns its width. */
static int left_of(const cli_opt *o, char *buf, size_t cap)
{
    int w;
    if (is_pos(o)) return snprintf(buf, cap, "  %s", o->arg);
    if (o->name && o->short_name) w = snprintf(buf, cap, "  -%c, --%s", o->short_name, o->name);
    else if (o->name) w = snprintf(buf, cap, "  --%s", o->name);
    else w = snprintf(buf, cap, "  -%c", o->short_name);
    if (o->arg && w > 0 && (size_t)w < cap) w += snprintf(buf + w, cap - (size_t)w, " %s", o->arg);
    return w;
}

void cli_help(const cli_cmd *c, FILE *f)
{
    fputs(c->usage, f);
    int col = 0;
    char left[128];
    for (const cli_opt *o = c->opts; !is_end(o); o++) {
        int w = is_text(o) || (is_pos(o) && !o->help) ? 0 : left_of(o, left, sizeof left);
        if (w <= HELP_COL - 2 && w + 2 > col) col = w + 2;
    }
    const cli_opt *first = c->opts; /* the first row shown */
    while (is_pos(first) && !first->help) first++;
    if (!is_text(first)) fputs("\noptions:\n", f);
    for (const cli_opt *o = c->opts; !is_end(o); o++) {
        if (is_text(o)) {
            fprintf(f, "%s\n", o->help);
            continue;
        }
        if (is_pos(o) && !o->help) continue;
        int w = left_of(o, left, sizeof left);
        fprintf(f, "%s%*s", left, w + 2 > col ? 2 : col - w, "");
        for (const char *h = o->help ? o->help : "", *nl; h; h = nl ? nl + 1 : NULL) {
            nl = strchr(h, '\n');
            fprintf(f, "%.*s\n", nl ? (int)(nl - h) : (int)strlen(h), h);
            if (nl) fprintf(f, "%*s", col, "");
        }
    }
}

int cli_dispatch(const char *who, const char *usage, const cli_sub *subs, int argc, char **argv)
{
    const char *a = argc > 1 ? argv[1] : NULL;
    if (!a || !strcmp(a, "help") || !strcmp(a, "--help") || !strcmp(a, "-h")) {
        fputs(usage, a ? stdout : stderr);
        return a ? 0 : 2;
    }
    const char *names[64];
    size_t n = 0;
    for (const cli_sub *s = subs; s->name; s++) {
        if (!strcmp(a, s->name)) return s->run(argc - 1, argv + 1);
        if (n < sizeof names / sizeof *names) names[n++] = s->name;
    }
    const char *near = rk_suggest(a, names, n);
    fprintf(stderr, "rethink%s%s: unknown command '%s'%s%s%s (see rethink%s%s --help)\n",
            who ? " " : "", who ? who : "", a, near ? ", did you mean '" : "", near ? near : "",
            near ? "'?" : "", who ? " " : "", who ? who : "");
    return 2;
}
