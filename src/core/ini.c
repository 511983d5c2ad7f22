/* INI files through inih, keeping the line of every key so errors can name it. inih reads
 * a line into a fixed buffer and parses what did not fit as a line of its own (so the tail
 * of a long value would silently become a key): the reader below measures every line and a
 * longer one is an error naming it. */
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rethink/core.h"

typedef struct {
    FILE *f;
    int line; /* lines read so far: the line the handler is looking at */
    rk_ini_item *items;
    size_t n, cap;
    int oom;
    int long_line; /* the first line that did not fit inih's buffer, 0: none */
    int max_len;   /* the longest line that fits, in characters */
} ctx;

static char *read_line(char *buf, int size, void *stream)
{
    ctx *c = stream;
    char *s = fgets(buf, size, c->f);
    if (!s) return s;
    c->line++;
    size_t n = strlen(s);
    if (n + 1 < (size_t)size || s[n - 1] == '\n') return s;
    /* the buffer is full without the line's end: exactly full, or too short */
    int ch = getc(c->f);
    c->max_len = size - 1;
    if (ch == '\n' || ch == EOF) return s;
    if (!c->long_line) c->long_line = c->line;
    while (ch != '\n' && ch != EOF) ch = getc(c->f); /* the rest is not a line of its own */
    return s;
}

static int on_pair(void *user, const char *section, const char *key, const char *value)
{
    ctx *c = user;
    if (!key) return 1; /* section header only (INI_CALL_HANDLER_ON_NEW_SECTION builds) */
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 32;
        rk_ini_item *q = realloc(c->items, cap * sizeof *q);
        if (!q) {
            c->oom = 1;
            return 0;
        }
        c->items = q, c->cap = cap;
    }
    rk_ini_item *it = &c->items[c->n];
    it->section = strdup(section), it->key = strdup(key), it->value = strdup(value);
    it->line = c->line;
    if (!it->section || !it->key || !it->value) {
        free(it->section), free(it->key), free(it->value);
        c->oom = 1;
        return 0;
    }
    c->n++;
    return 1;
}

void rk_ini_free(rk_ini_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) free(items[i].section), free(items[i].key), free(items[i].value);
    free(items);
}

int rk_ini_read(const char *path, rk_ini_item **items, size_t *n, rk_err *err)
{
    *items = NULL;
    *n = 0;
    ctx c = {0};
    c.f = fopen(path, "r");
    if (!c.f) return rk_errf(err, RK_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(c.f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(c.f);
        return rk_errf(err, RK_EIO, "%s: is a directory, not an INI file", path);
    }
    int bad = ini_parse_stream(read_line, &c, on_pair, &c);
    int read_err = ferror(c.f) ? errno : 0;
    fclose(c.f);
    if (c.oom || bad || read_err || c.long_line) {
        rk_ini_free(c.items, c.n);
        if (c.oom) return rk_errf(err, RK_ENOMEM, "%s: out of memory", path);
        if (read_err) return rk_errf(err, RK_EIO, "%s: cannot read: %s", path, strerror(read_err));
        if (c.long_line && (!bad || c.long_line <= bad))
            return rk_errf(err, RK_EFORMAT, "%s:%d: line longer than %d characters (the INI "
                           "reader's limit): shorten it", path, c.long_line, c.max_len);
        return rk_errf(err, RK_EFORMAT,
                       "%s:%d: not an INI line (expected [section], key = value or a ; comment)",
                       path, bad);
    }
    *items = c.items;
    *n = c.n;
    return RK_OK;
}
