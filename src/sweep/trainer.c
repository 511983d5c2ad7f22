/* An external trainer: any program trains a trial instead of the built-in engine
 * (trainer.command; README "Use your own trainer" is the contract). This is the trainer
 * boundary: rethink decides what a trial is (its identity, data subset, teacher, order), the
 * program trains it, and rethink scores what it wrote with its own evaluator.
 *
 * A trial of config c runs in its folder {out} = study.artifacts/trial-HASH16/:
 *   1. {out}/config.json: the resolved config (every key), the arm and what it descends from,
 *      the augmentation policies in full, the dataset's paths, the labelled subset and the
 *      dev split as image ids (the harness's, so nesting holds for every trainer), and for a
 *      student its teacher's {out} (finished first: the sweep's plan sees to it);
 *   2. the command, split into argv as written (no shell), with {config}, {out}, {dir}
 *      replaced and RETHINK_CONFIG, RETHINK_OUT set, runs in {out} with stdout and stderr
 *      going to {out}/stdout.txt and {out}/stderr.txt, in a process group of its own;
 *   3. {out}/detections.json (COCO results on the val images) is scored as `rethink eval`
 *      scores it; {out}/metrics.json (optional: {"name": number | [numbers] | [[step,
 *      value], ...]}) goes to the trial's metrics;
 *   4. {out}/rethink.done.json records the scored detections' SHA-256: a later run of the
 *      same trial (its record lost, or its worker killed between scoring and recording)
 *      scores them again instead of training again.
 * A folder left by an interrupted or failed attempt is moved aside (trial-HASH16.prev-N)
 * before the next attempt starts, so {out} only ever holds one attempt's files.
 *
 * Processes: the trainer is killed with its whole group when trainer.timeout passes, when
 * it ends (stragglers it left), and when the process running it gets SIGTERM, SIGINT or
 * SIGHUP (a handler installed only while the trainer runs, which then does what the
 * previous disposition did). A runner killed with -9 takes the trainer with it through the
 * kernel's parent-death signal. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "rethink/eval.h"
#include "trial_internal.h"

extern char **environ;

#define TAIL_LINES 3     /* of stderr, in a failed trial's error */
#define METRICS_CHUNK 256 /* metrics handed to the hooks at once */

int rk_trainer_set(const rk_config *c)
{
    const char *v = rk_config_get(c, "trainer.command");
    return v && v[0];
}

/* ---- argv ---- */
void rk_trainer_argv_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++) free(argv[i]);
    free(argv);
}

/* Appends s[0..n) to the word being built, growing it. */
static int word_add(char **w, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = (*len + n + 1) * 2;
        char *p = realloc(*w, c);
        if (!p) return -1;
        *w = p, *cap = c;
    }
    memcpy(*w + *len, s, n);
    *len += n;
    (*w)[*len] = 0;
    return 0;
}

int rk_trainer_argv(const char *cmd, const char *config, const char *out, const char *dir,
                    char ***argv, rk_err *err)
{
    const struct { const char *name, *value; } sub[] = {
        {"{config}", config}, {"{out}", out}, {"{dir}", dir}};
    size_t n = 0, cap = 8;
    char **v = calloc(cap, sizeof *v);
    char *w = NULL;
    size_t len = 0, wcap = 0;
    int in_word = 0, rc = v ? RK_OK : rk_errf(err, RK_ENOMEM, "trainer: out of memory");
    char quote = 0;
    for (const char *p = cmd; !rc; p++) {
        if (!*p || (!quote && (*p == ' ' || *p == '\t' || *p == '\n'))) {
            if (quote) {
                rc = rk_errf(err, RK_EINVAL, "trainer.command: unterminated %c quote in '%s'",
                             quote, cmd);
                break;
            }
            if (in_word) {
                if (n + 2 > cap) {
                    char **q = realloc(v, (cap *= 2) * sizeof *v);
                    if (!q) {
                        rc = rk_errf(err, RK_ENOMEM, "trainer: out of memory");
                        break;
                    }
                    v = q;
                }
                v[n++] = w ? w : strdup("");
                v[n] = NULL;
                w = NULL, len = wcap = 0, in_word = 0;
            }
            if (!*p) break;
            continue;
        }
        in_word = 1;
        if (quote ? *p == quote : (*p == '\'' || *p == '"')) {
            quote = quote ? 0 : *p;
            if (!w && word_add(&w, &len, &wcap, "", 0)) rc = rk_errf(err, RK_ENOMEM, "trainer: out of memory");
            continue;
        }
        size_t k = 0;
        while (k < sizeof sub / sizeof *sub && strncmp(p, sub[k].name, strlen(sub[k].name))) k++;
        const char *s = k < sizeof sub / sizeof *sub ? sub[k].value : p;
        size_t sn = k < sizeof sub / sizeof *sub ? strlen(s) : 1;
        if (word_add(&w, &len, &wcap, s, sn)) rc = rk_errf(err, RK_ENOMEM, "trainer: out of memory");
        if (k < sizeof sub / sizeof *sub) p += strlen(sub[k].name) - 1;
    }
    free(w);
    if (!rc && n == 0) rc = rk_errf(err, RK_EINVAL, "trainer.command: no program in '%s'", cmd);
    if (rc) {
        rk_trainer_argv_free(v);
        v = NULL;
    }
    *argv = v;
    return rc;
}

/* ---- the trainer's process group, and the signal path that kills it ---- */
static volatile sig_atomic_t child_pgid;  /* 0: no trainer running */
static volatile sig_atomic_t stopped_sig; /* the signal that stopped it */
static struct sigaction prev[3];
static const int STOP_SIGS[3] = {SIGTERM, SIGINT, SIGHUP};

void rk_trainer_kill(void)
{
    pid_t g = child_pgid;
    if (g > 0) kill(-g, SIGKILL);
}

static void on_stop(int sig)
{
    rk_trainer_kill();
    stopped_sig = sig;
    for (int i = 0; i < 3; i++) {
        if (STOP_SIGS[i] != sig) continue;
        sigaction(sig, &prev[i], NULL);
        if (prev[i].sa_handler == SIG_DFL) raise(sig); /* delivered once this returns */
        else if (prev[i].sa_handler != SIG_IGN && !(prev[i].sa_flags & SA_SIGINFO))
            prev[i].sa_handler(sig);
    }
}

static void handlers_install(void)
{
    struct sigaction sa = {.sa_handler = on_stop};
    sigemptyset(&sa.sa_mask);
    stopped_sig = 0;
    for (int i = 0; i < 3; i++) sigaction(STOP_SIGS[i], &sa, &prev[i]);
}

static void handlers_restore(void)
{
    child_pgid = 0;
    struct sigaction cur;
    for (int i = 0; i < 3; i++) {
        /* a handler that already ran put the previous disposition back itself */
        if (sigaction(STOP_SIGS[i], NULL, &cur) == 0 && cur.sa_handler == on_stop)
            sigaction(STOP_SIGS[i], &prev[i], NULL);
    }
}

/* The environment with RETHINK_CONFIG and RETHINK_OUT set (malloc'd array of pointers into
 * environ and into the two strings given). */
static char **child_env(char *cfg_var, char *out_var)
{
    size_t n = 0;
    while (environ && environ[n]) n++;
    char **e = malloc((n + 3) * sizeof *e);
    if (!e) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "RETHINK_CONFIG=", 15) && strncmp(environ[i], "RETHINK_OUT=", 12))
            e[k++] = environ[i];
    e[k++] = cfg_var, e[k++] = out_var, e[k] = NULL;
    return e;
}

/* What became of the trainer. */
typedef struct {
    int status;     /* wait status */
    int timed_out;  /* killed at trainer.timeout */
    int stopped;    /* the signal that stopped this process while it ran, else 0 */
    double cpu_s, wall_s;
} run_end;

/* Runs argv in dir (stdout, stderr to files there) in a process group of its own, killed
 * after timeout seconds (0: never), and waits for it. */
static int spawn(char **argv, char **envp, const char *dir, long timeout, run_end *r,
                 rk_err *err)
{
    char po[1200], pe[1200];
    snprintf(po, sizeof po, "%s/stdout.txt", dir);
    snprintf(pe, sizeof pe, "%s/stderr.txt", dir);
    int fin = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int fo = open(po, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int fe = open(pe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = RK_OK;
    if (fin < 0 || fo < 0 || fe < 0)
        rc = rk_errf(err, rk_errno_rc(errno), "%s: cannot create the trainer's output files: %s",
                     dir, strerror(errno));
    long maxfd = sysconf(_SC_OPEN_MAX);
    if (maxfd < 0 || maxfd > 65536) maxfd = 65536;
    memset(r, 0, sizeof *r);
    pid_t parent = getpid(), pid = -1;
    double w0 = rk_now();
    if (!rc) {
        handlers_install(); /* before fork: a stop signal never finds the trainer unguarded */
        pid = fork();
        if (pid < 0) rc = rk_errf(err, rk_errno_rc(errno), "trainer: fork: %s", strerror(errno));
    }
    if (pid == 0) {
        /* the child: only async-signal-safe calls until exec (the runner has threads) */
        setpgid(0, 0);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
        const int reset[] = {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT, SIGCHLD};
        for (size_t i = 0; i < sizeof reset / sizeof *reset; i++) signal(reset[i], SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (chdir(dir) != 0 || dup2(fin, 0) < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0) _exit(127);
        for (int fd = 3; fd < maxfd; fd++) close(fd); /* the runner's store, pipes */
        environ = envp;
        execvp(argv[0], argv);
        static const char msg[] = "rethink: cannot run the trainer command's program: ";
        ssize_t ignored = write(2, msg, sizeof msg - 1);
        ignored = write(2, argv[0], strlen(argv[0]));
        ignored = write(2, "\n", 1);
        (void)ignored;
        _exit(127);
    }
    if (pid > 0) {
        setpgid(pid, pid); /* also here: kill(-pid) must work the moment fork returns */
        child_pgid = pid;
        struct rusage ru = {0};
        for (;;) {
            pid_t w = wait4(pid, &r->status, WNOHANG, &ru);
            if (w == pid) break;
            if (w < 0 && errno != EINTR) {
                rc = rk_errf(err, RK_EIO, "trainer: waiting for pid %d: %s", (int)pid,
                             strerror(errno));
                kill(-pid, SIGKILL);
                break;
            }
            if (timeout > 0 && !r->timed_out && rk_now() - w0 > (double)timeout) {
                kill(-pid, SIGKILL);
                r->timed_out = 1;
            }
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        kill(-pid, SIGKILL); /* whatever it left running in its group */
        r->stopped = stopped_sig;
        handlers_restore();
        r->cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
                   (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
    } else if (!rc || pid < 0) {
        handlers_restore();
    }
    r->wall_s = rk_now() - w0;
    if (fin >= 0) close(fin);
    if (fo >= 0) close(fo);
    if (fe >= 0) close(fe);
    return rc;
}

/* The last TAIL_LINES non-empty lines of dir/stderr.txt, joined by " | " (at most cap - 1
 * characters, the end kept). */
static void stderr_tail(const char *dir, char *out, size_t cap)
{
    char p[1200], buf[2048];
    snprintf(p, sizeof p, "%s/stderr.txt", dir);
    out[0] = 0;
    FILE *f = fopen(p, "rb");
    if (!f) return;
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : 0;
    long from = size > (long)sizeof buf - 1 ? size - (long)sizeof buf + 1 : 0;
    fseek(f, from, SEEK_SET);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *line[TAIL_LINES];
    size_t len[TAIL_LINES], k = 0;
    for (size_t end = n; end > 0 && k < TAIL_LINES;) {
        size_t start = end;
        while (start > 0 && buf[start - 1] != '\n') start--;
        size_t e = end;
        while (e > start && (buf[e - 1] == '\n' || buf[e - 1] == '\r' || buf[e - 1] == ' ')) e--;
        if (e > start) line[k] = buf + start, len[k] = e - start, k++;
        end = start > 0 ? start - 1 : 0;
    }
    size_t o = 0;
    for (size_t i = k; i-- > 0 && o + 1 < cap;) {
        int w = snprintf(out + o, cap - o, "%s%.*s", o ? " | " : "", (int)len[i], line[i]);
        if (w < 0) break;
        o += (size_t)w < cap - o ? (size_t)w : cap - o - 1;
    }
    for (char *c = out; *c; c++)
        if ((unsigned char)*c < 0x20) *c = ' ';
}

/* The error of a trainer that did not end well (RK_OK if it exited 0). */
static int judge(const run_end *r, const char *dir, long timeout, rk_err *err)
{
    char tail[240], why[160];
    if (r->stopped)
        return rk_errf(err, RK_EINTERRUPTED, "the trainer was stopped (this process got signal "
                       "%d); its files are in %s", (int)r->stopped, dir);
    if (r->timed_out)
        snprintf(why, sizeof why, "timed out after %ld s (trainer.timeout): killed", timeout);
    else if (WIFSIGNALED(r->status))
        snprintf(why, sizeof why, "killed by signal %d (%s)", WTERMSIG(r->status),
                 strsignal(WTERMSIG(r->status)));
    else if (WIFEXITED(r->status) && WEXITSTATUS(r->status) != 0)
        snprintf(why, sizeof why, "exited with status %d", WEXITSTATUS(r->status));
    else
        return RK_OK;
    stderr_tail(dir, tail, sizeof tail);
    return rk_errf(err, RK_EINVAL, "trainer %s (stdout.txt, stderr.txt in %s)%s%s", why, dir,
                   tail[0] ? "; stderr ends: " : "; stderr is empty", tail);
}

/* ---- the config the trainer reads ---- */
static cJSON *policy_json(const rk_policy *p, const rk_config *c)
{
    static const char *const OPSET[] = {"none", "autoaugment-v0", "randaugment"};
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", p->name);
    cJSON_AddNumberToObject(o, "flip", p->flip);
    cJSON *s = cJSON_AddArrayToObject(o, "scale");
    cJSON_AddItemToArray(s, cJSON_CreateNumber(p->scale_min));
    cJSON_AddItemToArray(s, cJSON_CreateNumber(p->scale_max));
    cJSON *pad = cJSON_AddArrayToObject(o, "pad");
    for (int i = 0; i < 3; i++) cJSON_AddItemToArray(pad, cJSON_CreateNumber(p->pad[i]));
    cJSON_AddNumberToObject(o, "min_size", p->min_size);
    cJSON_AddNumberToObject(o, "min_visible", p->min_visible);
    cJSON_AddStringToObject(o, "ops", OPSET[p->opset]);
    cJSON_AddNumberToObject(o, "randaugment_n", p->ra_n);
    cJSON_AddNumberToObject(o, "randaugment_m", p->ra_m);
    cJSON_AddStringToObject(o, "levels", p->levels == RK_LEVELS_TF ? "tf" : "increasing");
    cJSON_AddNumberToObject(o, "ref_size", p->ref_size);
    cJSON_AddNumberToObject(o, "fill", p->fill);
    /* the section as written, too */
    cJSON *keys = cJSON_AddObjectToObject(o, "keys");
    char prefix[160];
    snprintf(prefix, sizeof prefix, "augment.%s.", p->name);
    for (size_t i = 0; i < c->n; i++)
        if (!strncmp(c->e[i].key, prefix, strlen(prefix)))
            cJSON_AddStringToObject(keys, c->e[i].key + strlen(prefix), c->e[i].value);
    return o;
}

static cJSON *ids_json(const rk_coco *coco, const size_t *idx, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)coco->images[idx[i]].id));
    return a;
}

/* Writes text to path through a temporary file renamed into place. */
static int write_text(const char *path, const char *text, rk_err *err)
{
    char tmp[1300];
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return rk_errf(err, rk_errno_rc(errno), "%s: cannot create: %s", tmp, strerror(errno));
    int ok = fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return rk_errf(err, rk_errno_rc(e), "%s: write failed: %s", path, strerror(e));
    }
    return RK_OK;
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* An absolute form of path (which must exist). */
static int absolute(const char *path, char *out, rk_err *err)
{
    char buf[PATH_MAX];
    if (!realpath(path, buf)) return rk_errf(err, RK_EIO, "%s: %s", path, strerror(errno));
    if (strlen(buf) >= 960) return rk_errf(err, RK_EINVAL, "%s: path too long for a trial", buf);
    memcpy(out, buf, strlen(buf) + 1);
    return RK_OK;
}

/* The folder the command's relative paths are relative to ({dir}): the experiment file's
 * when trainer.command was set in one, else the current directory. */
static int command_dir(const rk_config *c, char *out, rk_err *err)
{
    const rk_cfg_entry *e = rk_config_entry(c, "trainer.command");
    const char *slash = e && e->file ? strrchr(e->file, '/') : NULL;
    char d[1100];
    if (slash && e->line > 0) snprintf(d, sizeof d, "%.*s", (int)(slash - e->file), e->file);
    else snprintf(d, sizeof d, ".");
    return absolute(d[0] ? d : "/", out, err);
}

typedef struct {
    rk_trial_cfg *t;
    const rk_config *c;
    char art[1024], data[1024], out[1100], dir[1024];
    char teacher_out[1100], teacher_sha[65], backbone[1100];
} ext_trial;

static int config_json(const ext_trial *x, rk_trial_result *res, char **text, rk_err *err)
{
    const rk_trial_cfg *t = x->t;
    char p[1200];
    snprintf(p, sizeof p, "%s/annotations/instances_train.json", x->data);
    rk_coco coco;
    int rc = rk_coco_load(&coco, p, err);
    if (rc) return rc;
    size_t *dev = NULL, *pool = NULL, npool = 0, *idx = NULL, n = 0;
    char subset_hash[65];
    if (!(rc = rk_holdout(&coco, t->dev, &dev, &pool, &npool, err)))
        rc = rk_subset_of(&coco, pool, npool, t->fraction, t->seed, &idx, &n, subset_hash, err);
    cJSON *o = rc ? NULL : cJSON_CreateObject();
    if (o) {
        const rk_arm_info *a = &rk_arms[t->arm];
        cJSON_AddNumberToObject(o, "contract", 1);
        cJSON_AddStringToObject(o, "hash", res->hash);
        cJSON_AddStringToObject(o, "study", t->study);
        cJSON_AddStringToObject(o, "arm", a->name);
        cJSON_AddStringToObject(o, "aug", t->aug);
        cJSON_AddNumberToObject(o, "fraction", t->fraction);
        cJSON_AddNumberToObject(o, "seed", (double)t->seed);
        cJSON_AddNumberToObject(o, "threads", t->threads);
        cJSON *ai = cJSON_AddObjectToObject(o, "arm_info");
        cJSON_AddStringToObject(ai, "teacher_arm", a->teacher == RK_ARM_NONE ? "" : rk_arm_name(a->teacher));
        cJSON_AddBoolToObject(ai, "pretrained", a->backbone != RK_BACKBONE_NONE);
        cJSON_AddStringToObject(ai, "backbone", rk_backbone_name(a->backbone));
        cJSON_AddBoolToObject(ai, "joint", a->joint);
        cJSON_AddBoolToObject(ai, "pseudo", a->pseudo);
        cJSON *cfg = cJSON_AddObjectToObject(o, "config");
        for (size_t i = 0; i < x->c->n; i++)
            cJSON_AddStringToObject(cfg, x->c->e[i].key, x->c->e[i].value);
        cJSON_AddItemToObject(o, "policy", policy_json(&t->policy, x->c));
        if (a->backbone != RK_BACKBONE_NONE) cJSON_AddItemToObject(o, "pretrain_policy", policy_json(&t->pre_policy, x->c));
        else cJSON_AddNullToObject(o, "pretrain_policy");
        cJSON *d = cJSON_AddObjectToObject(o, "data");
        const struct { const char *name, *rel; } paths[] = {
            {"dir", ""},
            {"train_images", "/train"},
            {"train_annotations", "/annotations/instances_train.json"},
            {"val_images", "/val"},
            {"val_annotations", "/annotations/instances_val.json"},
            {"source_images", "/source"},
            {"source_labels", "/source/labels.csv"}};
        for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
            snprintf(p, sizeof p, "%s%s", x->data, paths[i].rel);
            cJSON_AddStringToObject(d, paths[i].name, p);
        }
        cJSON_AddItemToObject(o, "labelled_ids", ids_json(&coco, idx, n));
        cJSON_AddItemToObject(o, "dev_ids", ids_json(&coco, dev, t->dev));
        cJSON_AddStringToObject(o, "labelled_sha256", subset_hash);
        snprintf(res->data_hash, sizeof res->data_hash, "%s", subset_hash);
        if (x->teacher_out[0]) {
            cJSON *te = cJSON_AddObjectToObject(o, "teacher");
            cJSON_AddStringToObject(te, "hash", res->teacher_hash);
            cJSON_AddStringToObject(te, "out", x->teacher_out);
        } else {
            cJSON_AddNullToObject(o, "teacher");
        }
        if (x->backbone[0]) cJSON_AddStringToObject(o, "backbone_dir", x->backbone);
        else cJSON_AddNullToObject(o, "backbone_dir");
        cJSON_AddStringToObject(o, "out", x->out);
        *text = cJSON_Print(o);
        if (!*text) rc = rk_errf(err, RK_ENOMEM, "trainer: out of memory");
        cJSON_Delete(o);
    } else if (!rc) {
        rc = rk_errf(err, RK_ENOMEM, "trainer: out of memory");
    }
    free(dev), free(pool), free(idx);
    rk_coco_free(&coco);
    return rc;
}

/* ---- what the trainer wrote ---- */
static int send_metrics(const rk_trial_hooks *h, rk_metric *m, size_t *n, int flush)
{
    if ((*n == METRICS_CHUNK || (flush && *n)) && h && h->metrics) h->metrics(h->ctx, m, *n);
    if (*n == METRICS_CHUNK || flush) *n = 0;
    return 0;
}

/* {out}/metrics.json, if there, to the hooks: a number is a metric at step 0, an array of
 * numbers a curve at steps 0, 1, ..., an array of [step, value] pairs a curve at those
 * steps. Anything else is an error naming the member. */
static int read_metrics(const char *dir, const rk_trial_hooks *h, rk_err *err)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/metrics.json", dir);
    if (!exists(p)) return RK_OK;
    char *text = NULL;
    size_t len = 0;
    int rc = rk_read_file(p, &text, &len, err);
    if (rc) return rc;
    cJSON *o = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return rk_errf(err, RK_EFORMAT, "%s: not a JSON object", p);
    }
    rk_metric m[METRICS_CHUNK];
    size_t n = 0;
    for (const cJSON *v = o->child; v && !rc; v = v->next) {
        rk_metric x = {.epoch = -1};
        snprintf(x.name, sizeof x.name, "%s", v->string);
        if (cJSON_IsNumber(v)) {
            x.value = v->valuedouble;
            m[n++] = x;
            send_metrics(h, m, &n, 0);
            continue;
        }
        const cJSON *e;
        int64_t i = 0;
        if (!cJSON_IsArray(v)) rc = 1;
        cJSON_ArrayForEach(e, v)
        {
            if (rc) break;
            if (cJSON_IsNumber(e)) {
                x.step = i, x.value = e->valuedouble;
            } else if (cJSON_GetArraySize(e) == 2 && cJSON_IsNumber(cJSON_GetArrayItem(e, 0)) &&
                       cJSON_IsNumber(cJSON_GetArrayItem(e, 1))) {
                x.step = (int64_t)cJSON_GetArrayItem(e, 0)->valuedouble;
                x.value = cJSON_GetArrayItem(e, 1)->valuedouble;
            } else {
                rc = 1;
                break;
            }
            m[n++] = x;
            send_metrics(h, m, &n, 0);
            i++;
        }
        if (rc)
            rc = rk_errf(err, RK_EFORMAT, "%s: member \"%s\": expected a number, an array of "
                         "numbers or an array of [step, value] pairs", p, v->string);
    }
    if (!rc) send_metrics(h, m, &n, 1);
    cJSON_Delete(o);
    return rc;
}

/* Scores {out}/detections.json on the val split as `rethink eval` does; *sha its SHA-256. */
static int score(const ext_trial *x, rk_trial_result *res, char sha[65], int64_t *bytes,
                 rk_err *err)
{
    char dt[1200], gt[1200];
    snprintf(dt, sizeof dt, "%s/detections.json", x->out);
    snprintf(gt, sizeof gt, "%s/annotations/instances_val.json", x->data);
    struct stat st;
    if (stat(dt, &st) != 0)
        return rk_errf(err, RK_EFORMAT, "the trainer wrote no detections.json in %s (it exited "
                       "0; see stdout.txt, stderr.txt there)", x->out);
    *bytes = (int64_t)st.st_size;
    rk_coco coco;
    int rc = rk_coco_load(&coco, gt, err);
    if (rc) return rc;
    rk_det *d = NULL;
    size_t n = 0;
    if (!(rc = rk_dets_load(&d, &n, dt, &coco, err))) rc = rk_coco_eval(&res->stats, &coco, d, n, err);
    if (rc) {
        rk_err e = *err;
        rk_errf(err, RK_EFORMAT, "the trainer's detections are not usable: %s", e.msg);
    }
    free(d);
    if (!rc) rc = rk_sha256_file(dt, sha, err);
    if (!rc) {
        res->cats = calloc(coco.ncats + 1, sizeof *res->cats);
        for (size_t k = 0; res->cats && k < coco.ncats; k++)
            res->cats[k] = (rk_coco_cat){coco.cats[k].id, strdup(coco.cats[k].name)};
    }
    rk_coco_free(&coco);
    return rc;
}

/* The trial whose record says it was scored: its detections' SHA-256 (the content scored
 * then). *found 0 when there is no record. */
static int done_record(const char *out, char sha[65], double *cpu_s, double *wall_s, int *found,
                       rk_err *err)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/rethink.done.json", out);
    *found = 0;
    if (!exists(p)) return RK_OK;
    char *text = NULL;
    size_t n = 0;
    int rc = rk_read_file(p, &text, &n, err);
    if (rc) return rc;
    cJSON *o = cJSON_Parse(text);
    free(text);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "detections_sha256");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "cpu_s");
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "wall_s");
    if (cJSON_IsString(s) && strlen(s->valuestring) == 64) {
        snprintf(sha, 65, "%s", s->valuestring);
        *cpu_s = cJSON_IsNumber(c) ? c->valuedouble : NAN;
        *wall_s = cJSON_IsNumber(w) ? w->valuedouble : NAN;
        *found = 1;
    } else {
        rc = rk_errf(err, RK_EFORMAT, "%s: not a trial's record (no detections_sha256)", p);
    }
    cJSON_Delete(o);
    return rc;
}

/* Prepares the trial's folders and the dependencies' paths. */
static int prepare(ext_trial *x, rk_trial_result *res, const rk_trial_hooks *h, int *reuse,
                   rk_err *err)
{
    rk_trial_cfg *t = x->t;
    int rc = rk_mkdirs(t->artifacts, err);
    if (!rc) rc = rk_trial_ensure_data(t, h, err);
    if (!rc) rc = absolute(t->artifacts, x->art, err);
    if (!rc) rc = absolute(t->data_dir, x->data, err);
    if (!rc) rc = command_dir(x->c, x->dir, err);
    if (rc) return rc;
    snprintf(x->out, sizeof x->out, "%s/trial-%.16s", x->art, res->hash);
    const rk_arm_info *a = &rk_arms[t->arm];
    if (a->teacher != RK_ARM_NONE) {
        rk_config tc;
        char *tj = NULL;
        double c, w;
        int found = 0;
        if ((rc = rk_trial_teacher_config(x->c, &tc, err))) return rc;
        rc = rk_config_json(&tc, &tj, res->teacher_hash, err);
        free(tj);
        rk_config_free(&tc);
        if (rc) return rc;
        snprintf(x->teacher_out, sizeof x->teacher_out, "%s/trial-%.16s", x->art, res->teacher_hash);
        if ((rc = done_record(x->teacher_out, x->teacher_sha, &c, &w, &found, err))) return rc;
        if (!found)
            return rk_errf(err, RK_EINVAL, "the teacher's folder %s has no finished trial: its "
                           "trial (%.16s) must finish first, and if it did, study.artifacts is "
                           "not the folder it ran in", x->teacher_out, res->teacher_hash);
    }
    if (a->backbone != RK_BACKBONE_NONE) {
        /* the pre-trained backbone is the trainer's to make: a folder shared by the trials
         * of one pre-training config (of the arm's kind) and one command, where it can keep it */
        rk_config bc;
        char key[65], both[65], buf[200];
        if ((rc = rk_stage_config(x->c, rk_backbone_stage(a->backbone), &bc, key, err))) return rc;
        rk_config_free(&bc);
        snprintf(buf, sizeof buf, "%s\n", key);
        char *s = NULL;
        const char *cmd = rk_config_get(x->c, "trainer.command");
        size_t ln = strlen(buf) + strlen(cmd) + 1;
        if (!(s = malloc(ln))) return rk_errf(err, RK_ENOMEM, "trainer: out of memory");
        snprintf(s, ln, "%s%s", buf, cmd);
        rk_sha256_hex(s, strlen(s), both);
        free(s);
        snprintf(x->backbone, sizeof x->backbone, "%s/backbone-%.16s.d", x->art, both);
        if ((rc = rk_mkdirs(x->backbone, err))) return rc;
    }
    double c = NAN, w = NAN;
    char sha[65];
    if ((rc = done_record(x->out, sha, &c, &w, reuse, err))) return rc;
    if (*reuse) {
        res->cpu_s = c, res->wall_s = w, res->reused = 1;
        rk_trial_note(h, "reusing %s (trained before: scored again)", x->out);
        return RK_OK;
    }
    if (exists(x->out)) {
        /* an interrupted or failed attempt's: kept aside, never mixed with this one's */
        char aside[1200];
        int moved = 0;
        for (int k = 1; !moved && k < 10000; k++) {
            snprintf(aside, sizeof aside, "%s.prev-%d", x->out, k);
            if (!exists(aside)) moved = rename(x->out, aside) == 0 ? 1 : -errno;
        }
        if (moved != 1)
            return rk_errf(err, rk_errno_rc(-moved), "%s: cannot move an earlier attempt's "
                           "folder aside: %s", x->out, strerror(moved < 0 ? -moved : EEXIST));
        rk_trial_note(h, "an earlier attempt's folder moved to %s", aside);
    }
    return rk_mkdirs(x->out, err);
}

static int run_command(const ext_trial *x, rk_trial_result *res, const rk_trial_hooks *h,
                       rk_err *err)
{
    char cfg_path[1200], **argv = NULL;
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", x->out);
    int rc = RK_OK;
    if (!rc) rc = rk_trainer_argv(rk_config_get(x->c, "trainer.command"), cfg_path, x->out,
                                  x->dir, &argv, err);
    if (rc) return rc;
    size_t lc = strlen(cfg_path) + 16, lo = strlen(x->out) + 16;
    char *vc = malloc(lc), *vo = malloc(lo), **envp = NULL;
    if (vc && vo) {
        snprintf(vc, lc, "RETHINK_CONFIG=%s", cfg_path);
        snprintf(vo, lo, "RETHINK_OUT=%s", x->out);
        envp = child_env(vc, vo);
    }
    if (!envp) rc = rk_errf(err, RK_ENOMEM, "trainer: out of memory");
    long timeout = (long)strtol(rk_config_get(x->c, "trainer.timeout") ? rk_config_get(x->c, "trainer.timeout") : "0", NULL, 10);
    run_end r;
    if (!rc) {
        rk_trial_note(h, "running the trainer %s in %s", argv[0], x->out);
        rc = spawn(argv, envp, x->out, timeout, &r, err);
    }
    if (!rc) rc = judge(&r, x->out, timeout, err);
    if (!rc) res->cpu_s = r.cpu_s, res->wall_s = r.wall_s;
    free(envp), free(vc), free(vo);
    rk_trainer_argv_free(argv);
    return rc;
}

int rk_trial_run_external(const rk_config *c, const rk_trial_hooks *h, rk_trial_result *res,
                          rk_err *err)
{
    memset(res, 0, sizeof *res);
    res->pseudo_cpu_s = res->source_acc = res->dev_ap = res->flops = NAN;
    res->cpu_s = res->wall_s = NAN;
    ext_trial *x = calloc(1, sizeof *x);
    rk_trial_cfg *t = malloc(sizeof *t);
    int rc = x && t ? rk_trial_cfg_from(t, c, err) : rk_errf(err, RK_ENOMEM, "trainer: out of memory");
    if (!rc) rc = rk_config_json(c, &res->config_json, res->hash, err);
    int reuse = 0;
    if (!rc) {
        x->t = t, x->c = c;
        snprintf(res->cpu, sizeof res->cpu, "%s", rk_cpu_model());
        rc = prepare(x, res, h, &reuse, err);
    }
    char *text = NULL, cfg_path[1200];
    if (!rc) rc = config_json(x, res, &text, err); /* also the labelled subset's hash */
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", x ? x->out : "");
    if (!rc && !reuse) rc = write_text(cfg_path, text, err);
    free(text);
    if (!rc && !reuse) rc = run_command(x, res, h, err);
    char sha[65] = "";
    int64_t bytes = 0;
    if (!rc) rc = score(x, res, sha, &bytes, err);
    if (!rc && reuse) {
        double cs, ws;
        char want[65];
        int found = 0;
        if (!(rc = done_record(x->out, want, &cs, &ws, &found, err)) && strcmp(want, sha))
            rc = rk_errf(err, RK_EFORMAT, "%s/detections.json: its SHA-256 is not the one "
                         "rethink.done.json records (edited since it was scored): delete %s to "
                         "train the trial again", x->out, x->out);
    }
    if (!rc) rc = read_metrics(x->out, h, err);
    if (!rc && !reuse) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "hash", res->hash);
        cJSON_AddStringToObject(o, "detections_sha256", sha);
        cJSON_AddNumberToObject(o, "cpu_s", res->cpu_s);
        cJSON_AddNumberToObject(o, "wall_s", res->wall_s);
        char *done = cJSON_Print(o), p[1200];
        cJSON_Delete(o);
        snprintf(p, sizeof p, "%s/rethink.done.json", x->out);
        rc = done ? write_text(p, done, err) : rk_errf(err, RK_ENOMEM, "trainer: out of memory");
        free(done);
    }
    if (!rc) {
        /* its product, and its teacher's */
        rk_artifact_use own = {.made = !reuse, .bytes = bytes, .cpu_s = res->cpu_s};
        snprintf(own.kind, sizeof own.kind, "%s", RK_ARTIFACT_DETECTIONS);
        snprintf(own.hash, sizeof own.hash, "%s", sha);
        snprintf(own.path, sizeof own.path, "%.990s/detections.json", x->out);
        snprintf(own.meta, sizeof own.meta, "{\"key\": \"%s\"}", res->hash);
        res->art[res->nart++] = own;
        if (x->teacher_out[0]) {
            rk_artifact_use ta = {.bytes = -1, .cpu_s = NAN};
            snprintf(ta.role, sizeof ta.role, "%s", RK_ROLE_TEACHER);
            snprintf(ta.kind, sizeof ta.kind, "%s", RK_ARTIFACT_DETECTIONS);
            snprintf(ta.hash, sizeof ta.hash, "%s", x->teacher_sha);
            snprintf(ta.path, sizeof ta.path, "%.990s/detections.json", x->teacher_out);
            snprintf(ta.meta, sizeof ta.meta, "{\"key\": \"%s\"}", res->teacher_hash);
            res->art[res->nart++] = ta;
        }
        res->stop = RK_STOP_BUDGET;
        res->images = 0;
        snprintf(res->precision, sizeof res->precision, "%s", "ext");
    }
    if (rc) rk_trial_result_free(res);
    free(x), free(t);
    return rc;
}
