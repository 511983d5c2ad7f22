/* Experiment files, overrides, grid expansion, the key schema, canonical JSON + hash, and
 * the typed trial. See include/rethink/config.h for the file format. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "rethink/config.h"
#include "rethink/data.h"

/* ---- the schema ---- */
/* T_PATH: a file or folder, relative to the experiment file when set in it (or left at its
 * default), to the current directory when set on the command line; its one value may hold
 * commas, so its axis values are ';'-separated as T_PAIR's.
 * T_FPRINT: computed, never set (data.content): empty, or 64 hex digits.
 * T_CMD: a command line (trainer.command), kept as written; empty means none (the built-in
 * engine), also as a value of its axis, whose values are ';'-separated as T_PATH's. */
typedef enum { T_INT, T_REAL, T_STR, T_PATH, T_BOOL, T_PAIR, T_ARM, T_INIT, T_PREC, T_SCHED,
               T_SRCLAB, T_FPRINT, T_UNLAB, T_CMD, T_FAMILY, T_NECK, T_TASK } ktype;

/* Which arms a key matters to, for the trial's identity: a key outside a trial's arms does
 * not enter its hash (so a selftrain setting never re-runs its scratch teacher). From the arm
 * table: A_PRE keys matter to the arms descended from the pre-trained backbone, A_ST keys to
 * the arms with a teacher (students and their controls: images per step, budget, init),
 * A_PSEUDO keys to the arms that train on pseudo-labels, A_JOINT keys to the arms that train
 * the source classification task jointly (rk_arms[].joint). */
enum { A_NONE = 0, A_ALL = 1, A_PRE = 2, A_ST = 4, A_PSEUDO = 8, A_STRONG = 16, A_SIMCLR = 32,
       A_JOINT = 64 };
/* (A_PRE: the supervised backbones, plain and stronger; A_STRONG: the stronger one only;
 * A_SIMCLR: the contrastive one.) */
/* Flag on top of the arms: the key enters the hash only when it is not at its default. Keys
 * added after results were recorded carry it, so adding one never changes the identity of
 * a trial that was run before it existed (its results stay found, nothing re-runs). */
enum { A_IF_SET = 1 << 8 };

typedef struct {
    const char *key;
    ktype type;
    double lo, hi;
    const char *def;
    int arms; /* A_NONE: never hashed */
    const char *doc;
} kspec;

static const kspec SCHEMA[] = {
    {"study.name", T_STR, 0, 0, "study", A_NONE, "name of the study in the database and reports"},
    {"study.data", T_PATH, 0, 0, "data/fashion-scenes", A_ALL, "dataset folder (train/ val/ source/ annotations/)"},
    {"study.build_data", T_BOOL, 0, 1, "1", A_NONE, "build the default dataset there if missing"},
    {"study.policies", T_PATH, 0, 0, "augment.ini", A_NONE, "INI file with [augment.NAME] policies"},
    {"study.artifacts", T_PATH, 0, 0, "artifacts", A_NONE, "folder for checkpoints, backbones and pseudo-labels"},
    {"study.threads", T_INT, 1, 256, "1", A_NONE, "compute threads per trial"},
    {"study.eval_every", T_INT, 0, 100000, "0", A_NONE, "evaluate on val every N epochs (0: only at the end)"},
    {"data.seed", T_INT, 0, 2147483647, "1", A_ALL, "dataset generator seed"},
    {"data.size", T_INT, 16, 1024, "64", A_ALL, "scene side, px"},
    {"data.train", T_INT, 1, 10000000, "4000", A_ALL, "train scenes"},
    {"data.val", T_INT, 1, 10000000, "1000", A_ALL, "val scenes"},
    {"data.source", T_INT, 1, 10000000, "10000", A_ALL, "source images"},
    {"data.objects", T_PAIR, 1, 50, "2, 5", A_ALL, "objects per scene MIN, MAX"},
    {"data.scale", T_PAIR, 6, 1024, "12, 36", A_ALL, "object side MIN, MAX px"},
    {"data.clutter", T_INT, 0, 100, "6", A_ALL, "background distractors"},
    {"data.occlusion", T_REAL, 0, 0.9, "0.4", A_ALL, "largest covered fraction of an object"},
    {"data.tint", T_REAL, 0, 1, "1", A_ALL, "item colouring"},
    {"data.noise", T_REAL, 0, 64, "6", A_ALL, "pixel noise sigma"},
    {"data.content", T_FPRINT, 0, 0, "", A_ALL | A_IF_SET, "computed, never set: the content fingerprint of a dataset of your own (a study.data folder without rethink's card.json; rk_dataset_fingerprint). Where it is set, a trial's identity holds it in place of the folder's path: an edited dataset makes new trials, a moved one does not"},
    {"data.classes", T_INT, 1, 10, "10", A_ALL | A_IF_SET, "target scenes hold items of classes 0..N-1 only (the source keeps every class): with data.source_labels = other, the transfer gap"},
    {"data.source_labels", T_SRCLAB, 0, 0, "all", A_ALL | A_IF_SET, "which source images are labelled for pre-training: all, or other (only those whose dominant item is of a class the target leaves out; needs data.classes < 10)"},
    {"model.width", T_INT, 1, 1024, "16", A_ALL, "stage-1 channels"},
    {"model.depth", T_INT, 1, 8, "2", A_ALL, "convs per stage"},
    {"model.head_stride", T_INT, 4, 16, "8", A_ALL, "output stride: 4, 8 or 16"},
    {"model.family", T_FAMILY, 0, 0, "plain", A_ALL | A_IF_SET, "backbone family: plain (DESIGN.md's reference: conv3x3 + BN + ReLU, model.depth per stage) or mbconv (EfficientNet-style: a conv3x3 stem, then MBConv blocks: expand 1x1, depthwise 3x3, squeeze-and-excitation, project 1x1, swish, residuals; model.depth blocks per stage, the stem counting as one of stage 1's). Same stage strides and widths, so the neck and head are the same"},
    {"model.neck", T_NECK, 0, 0, "topdown", A_ALL | A_IF_SET, "how stage 4's features reach the head stride: topdown (DESIGN.md's: per level conv1x1 + BN + ReLU to the shallower stage's width, upsample, add that stage) or fpn (lateral conv1x1 + BN + ReLU to the head's width on every stage from 4 down to the head stride, top-down upsample-and-add, conv3x3 + BN + ReLU). The detector's only: pre-trained backbones are shared across necks"},
    {"model.task", T_TASK, 0, 0, "detect", A_ALL | A_IF_SET, "detect: boxes (CenterNet head, COCO AP); segment: semantic segmentation (the same backbone, neck and head with classes + 1 logits at the head's stride, per-pixel cross-entropy at input resolution, mIoU recorded as the primary stat); the pre-trained backbone is shared by both"},
    {"train.epochs", T_INT, 1, 100000, "30", A_ALL, "epochs over the labelled subset"},
    {"train.steps", T_INT, 0, 100000000, "0", A_ALL, "optimizer steps per trial; 0: use train.epochs"},
    {"train.batch", T_INT, 1, 1024, "32", A_ALL, "labelled images per step"},
    {"train.lr", T_REAL, 0, 10, "0.05", A_ALL, "peak learning rate"},
    {"train.warmup_init", T_REAL, 0, 1, "0.01", A_ALL, "warm-up starts at lr times this"},
    {"train.warmup_frac", T_REAL, 0, 1, "0.05", A_ALL, "warm-up fraction of all steps"},
    {"train.momentum", T_REAL, 0, 0.999, "0.9", A_ALL, "SGD momentum"},
    {"train.weight_decay", T_REAL, 0, 1, "1e-4", A_ALL, "weight decay"},
    {"train.decay_all", T_BOOL, 0, 1, "0", A_ALL, "decay BN and biases too"},
    {"train.clip", T_REAL, 0, 1e6, "10", A_ALL, "gradient-norm clip (0 = off)"},
    {"train.w_size", T_REAL, 0, 100, "1", A_ALL, "weight of the size L1 term"},
    {"train.w_off", T_REAL, 0, 100, "1", A_ALL, "weight of the offset L1 term"},
    {"train.dev", T_INT, 0, 10000000, "0", A_ALL, "train scenes held out of every labelled fraction: convergence is watched and the checkpoint chosen on them, never on val (0: none)"},
    {"train.dev_every", T_INT, 1, 100000000, "250", A_ALL, "with train.dev: evaluate on it every N optimizer steps (at the next epoch end) and at the end"},
    {"train.steps_scale", T_REAL, 0.01, 100, "1", A_ALL | A_IF_SET, "multiplies every detector's step budget (train.steps, or train.epochs, [when:] values included; students get selftrain.steps_scale of it): 2 is the doubling test of convergence, as a variant the report and claims can compare"},
    {"train.precision", T_PREC, 0, 0, "f32", A_ALL | A_IF_SET, "detector training arithmetic: f32; bf16 (bf16 activations and weight copies, f32 master weights; needs a CPU with AVX512-BF16 or AMX; evaluation and pre-training stay f32); or auto: bf16 where it trains the trial's steps faster on the machine that runs it, else f32 (trials.precision records which)"},
    /* The defaults of A_IF_SET keys are part of every identity that omits them: never change
     * one (a trial recorded at the old default would be found for the new behaviour). */
    {"train.schedule", T_SCHED, 0, 0, "cosine", A_ALL | A_IF_SET, "cosine: warm-up, then cosine to zero over the step budget (a fixed budget); plateau: warm-up, then the peak lr until dev AP stops improving (window means: train.patience, train.min_delta), then a cosine decay over train.anneal times the steps so far, and stop; the budget is then a maximum (needs train.dev)"},
    {"train.warmup_steps", T_INT, 0, 100000000, "0", A_ALL | A_IF_SET, "warm-up length in steps (0: train.warmup_frac of the budget)"},
    {"train.patience", T_INT, 1, 64, "3", A_ALL | A_IF_SET, "plateau schedule: evaluations per window; the stable phase ends when the mean dev AP of the last window is not above the window before by more than train.min_delta"},
    {"train.min_delta", T_REAL, 0, 1, "0.002", A_ALL | A_IF_SET, "plateau schedule: the least window-mean gain in dev AP (a fraction) that counts as still improving"},
    {"train.anneal", T_REAL, 0.01, 10, "0.25", A_ALL | A_IF_SET, "plateau schedule: the decay phase's length as a fraction of the stable phase's"},
    {"train.topk", T_INT, 1, 1000, "100", A_ALL, "detections per image"},
    {"pretrain.epochs", T_INT, 1, 100000, "10", A_PRE, "pre-training epochs over the source"},
    {"pretrain.batch", T_INT, 1, 1024, "64", A_PRE, "pre-training batch"},
    {"pretrain.lr", T_REAL, 0, 10, "0.1", A_PRE, "pre-training peak learning rate"},
    {"pretrain.warmup_frac", T_REAL, 0, 1, "0.05", A_PRE, "pre-training warm-up fraction"},
    {"pretrain.weight_decay", T_REAL, 0, 1, "1e-4", A_PRE, "pre-training weight decay"},
    {"pretrain.aug", T_STR, 0, 0, "S1", A_PRE, "pre-training augmentation policy"},
    {"pretrain.holdout", T_REAL, 0, 0.9, "0.1", A_PRE, "source fraction held out for accuracy"},
    /* The stronger supervised backbone (arm pretrain++ and its students, issue 23). */
    {"strong.epochs_scale", T_REAL, 1, 100, "3", A_STRONG | A_IF_SET, "the stronger backbone (pretrain++): pre-training as pretrain.*, for this many times pretrain.epochs"},
    /* Contrastive pre-training of the backbone without labels (arm simclr and its students). */
    {"simclr.epochs", T_INT, 1, 100000, "10", A_SIMCLR | A_IF_SET, "SimCLR pre-training epochs over the source images (their labels unused)"},
    {"simclr.batch", T_INT, 2, 2048, "256", A_SIMCLR | A_IF_SET, "SimCLR source images per step (2 views each: the NT-Xent loss sees 2 x batch - 2 negatives per view)"},
    {"simclr.lr", T_REAL, 0, 10, "0.1", A_SIMCLR | A_IF_SET, "SimCLR peak learning rate (SGD with train.momentum, cosine)"},
    {"simclr.warmup_frac", T_REAL, 0, 1, "0.05", A_SIMCLR | A_IF_SET, "SimCLR warm-up fraction"},
    {"simclr.weight_decay", T_REAL, 0, 1, "1e-4", A_SIMCLR | A_IF_SET, "SimCLR weight decay"},
    {"simclr.temperature", T_REAL, 0.01, 10, "0.5", A_SIMCLR | A_IF_SET, "NT-Xent temperature tau"},
    {"simclr.proj_dim", T_INT, 1, 4096, "64", A_SIMCLR | A_IF_SET, "output size of the projection head (an MLP: linear to the backbone's channels, ReLU, linear to this)"},
    {"simclr.aug", T_STR, 0, 0, "S4", A_SIMCLR | A_IF_SET, "augmentation policy of each of the two views"},
    {"selftrain.alpha", T_REAL, 0, 100, "1", A_PSEUDO, "weight of the pseudo-labelled loss"},
    {"selftrain.normalize", T_BOOL, 0, 1, "1", A_PSEUDO, "Appendix B loss normalisation"},
    {"selftrain.ema_decay", T_REAL, 0, 0.999999, "0.99", A_PSEUDO, "decay of the loss moving averages"},
    {"selftrain.threshold", T_REAL, 0, 1, "0.5", A_PSEUDO, "pseudo-box score threshold (model.task = segment: the softmax probability a pixel's argmax class needs to be pseudo-labelled)"},
    {"selftrain.pseudo_batch", T_INT, 1, 1024, "32", A_ST, "pseudo-labelled images per step (a student's control, arm continue, trains on as many more labelled images per step)"},
    {"selftrain.keep_empty", T_BOOL, 0, 1, "0", A_PSEUDO, "1: pseudo batches also draw source images the teacher left without a box (0: only images with at least one pseudo box)"},
    {"selftrain.steps_scale", T_REAL, 0.01, 100, "1", A_ST, "the student's step budget (or epochs) as a multiple of train.steps (train.epochs): a student starts from its trained teacher"},
    {"selftrain.init", T_INIT, 0, 0, "teacher", A_ST, "student init: teacher or random"},
    {"selftrain.source", T_UNLAB, 0, 0, "source", A_PSEUDO | A_IF_SET, "what the teacher pseudo-labels: source (the source images), target (the target's train images outside the labelled fraction and the dev split: the \"COCO unlabelled\" analog) or shifted (an out-of-domain set of the scenes generator with another look, data/.../shifted, built on first use)"},
    {"joint.weight", T_REAL, 0, 100, "1", A_JOINT | A_IF_SET, "joint training: weight w of the source classification loss in L = L_det + w L_cls (the detector's loss is the self-training mix for a joint student)"},
    {"joint.batch", T_INT, 1, 1024, "32", A_JOINT | A_IF_SET, "joint training: labelled source images per step for the classification head (extra images: docs/STUDY.md, joint training)"},
    {"trial.arm", T_ARM, 0, 0, "scratch", A_ALL, "training arm: a name in rk_arms (include/rethink/arms.h)"},
    {"trial.aug", T_STR, 0, 0, "S1", A_ALL, "augmentation policy name"},
    {"trial.fraction", T_REAL, 0, 1, "1", A_ALL, "labelled fraction in (0, 1]"},
    {"trial.seed", T_INT, 0, 2147483647, "1", A_ALL, "trial seed"},
    /* An external trainer (src/sweep/trainer.c): the command is part of what a trial is, the
     * time it may take is not. The empty default keeps every built-in trial's identity. */
    {"trainer.command", T_CMD, 0, 0, "", A_ALL | A_IF_SET, "a program that trains the trial instead of the built-in engine: argv split as written (no shell; '...' or \"...\" quote a word), with {config} (the trial's resolved config as JSON), {out} (its output folder) and {dir} (the experiment file's folder) replaced (README: Use your own trainer)"},
    {"trainer.timeout", T_INT, 0, 100000000, "0", A_NONE, "seconds the trainer may run before it (and its process group) is killed and the trial fails (0: no limit)"},
};
#define NSCHEMA (sizeof SCHEMA / sizeof *SCHEMA)

static const kspec *spec_of(const char *key)
{
    for (size_t i = 0; i < NSCHEMA; i++)
        if (!strcmp(SCHEMA[i].key, key)) return &SCHEMA[i];
    return NULL;
}

static int matters(int arms, rk_arm a)
{
    const rk_arm_info *r = &rk_arms[a];
    int supervised = r->backbone == RK_BACKBONE_SUPERVISED || r->backbone == RK_BACKBONE_STRONG;
    return (arms & A_ALL) || ((arms & A_PRE) && supervised) ||
           ((arms & A_STRONG) && r->backbone == RK_BACKBONE_STRONG) ||
           ((arms & A_SIMCLR) && r->backbone == RK_BACKBONE_SIMCLR) ||
           ((arms & A_ST) && r->teacher != RK_ARM_NONE) || ((arms & A_PSEUDO) && r->pseudo) ||
           ((arms & A_JOINT) && r->joint);
}

/* The key naming the policy an arm's backbone is pre-trained with, NULL for none. */
static const char *backbone_aug_key(rk_arm a)
{
    rk_backbone b = a == RK_ARM_NONE ? RK_BACKBONE_NONE : rk_arms[a].backbone;
    return b == RK_BACKBONE_SIMCLR ? "simclr.aug" : b != RK_BACKBONE_NONE ? "pretrain.aug" : NULL;
}

/* ---- entries ---- */
void rk_config_free(rk_config *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) free(c->e[i].key), free(c->e[i].value), free(c->e[i].file);
    free(c->e);
    memset(c, 0, sizeof *c);
}

static long find(const rk_config *c, const char *key, size_t *pos)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int r = strcmp(c->e[mid].key, key);
        if (!r) return (long)mid;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (pos) *pos = lo;
    return -1;
}

const rk_cfg_entry *rk_config_entry(const rk_config *c, const char *key)
{
    long i = find(c, key, NULL);
    return i < 0 ? NULL : &c->e[i];
}

const char *rk_config_get(const rk_config *c, const char *key)
{
    const rk_cfg_entry *e = rk_config_entry(c, key);
    return e ? e->value : NULL;
}

int rk_config_put(rk_config *c, const char *key, const char *value, const char *file, int line,
                  rk_err *err)
{
    size_t pos = 0;
    long i = find(c, key, &pos);
    char *v = strdup(value), *f = strdup(file ? file : "");
    if (!v || !f) {
        free(v), free(f);
        return rk_errf(err, RK_ENOMEM, "config: out of memory");
    }
    if (i >= 0) {
        free(c->e[i].value), free(c->e[i].file);
        c->e[i].value = v, c->e[i].file = f, c->e[i].line = line;
        return RK_OK;
    }
    char *k = strdup(key);
    rk_cfg_entry *ne = realloc(c->e, (c->n + 1) * sizeof *ne);
    if (!k || !ne) {
        free(k), free(v), free(f);
        if (ne) c->e = ne;
        return rk_errf(err, RK_ENOMEM, "config: out of memory");
    }
    c->e = ne;
    memmove(c->e + pos + 1, c->e + pos, (c->n - pos) * sizeof *c->e);
    c->e[pos] = (rk_cfg_entry){k, v, f, line};
    c->n++;
    return RK_OK;
}

int rk_config_copy(rk_config *dst, const rk_config *src, rk_err *err)
{
    memset(dst, 0, sizeof *dst);
    for (size_t i = 0; i < src->n; i++) {
        int rc = rk_config_put(dst, src->e[i].key, src->e[i].value, src->e[i].file,
                               src->e[i].line, err);
        if (rc) {
            rk_config_free(dst);
            return rc;
        }
    }
    return RK_OK;
}

/* ---- validation ---- */
static int where(char *buf, size_t n, const rk_cfg_entry *e)
{
    if (e->line > 0) return snprintf(buf, n, "%s:%d: key '%s'", e->file, e->line, e->key);
    return snprintf(buf, n, "%s: key '%s'", e->file[0] ? e->file : "config", e->key);
}

/* " (did you mean 'x'?)" into buf when word looks like a typo of a candidate, else "". */
static const char *hint(char *buf, size_t cap, const char *word, const char *const *cand,
                        size_t n)
{
    const char *s = rk_suggest(word, cand, n);
    if (s) snprintf(buf, cap, " (did you mean '%s'?)", s);
    else if (cap) buf[0] = 0;
    return buf;
}

/* The schema's keys and the grid's short names, for suggestions. */
static const char *const SHORTS[4] = {"arm", "aug", "fraction", "seed"};
static const char *key_hint(char *buf, size_t cap, const char *word, int shorts)
{
    const char *cand[NSCHEMA + 4];
    size_t n = 0;
    for (size_t i = 0; i < NSCHEMA; i++) cand[n++] = SCHEMA[i].key;
    for (size_t i = 0; shorts && i < 4; i++) cand[n++] = SHORTS[i];
    return hint(buf, cap, word, cand, n);
}

/* Values are one line of printable text: a control character (a newline above all) would
 * reach the --emit-slurm script's comments and #SBATCH lines, the logs and the reports. */
static int printable(const char *file, int line, const char *key, const char *value,
                     rk_err *err)
{
    for (const unsigned char *q = (const unsigned char *)value; *q; q++)
        if (*q < 0x20 || *q == 0x7f) {
            char w[400];
            if (line > 0) snprintf(w, sizeof w, "%s:%d: key '%s'", file, line, key);
            else snprintf(w, sizeof w, "%s: key '%s'", file && *file ? file : "config", key);
            return rk_errf(err, RK_EINVAL, "%s: control character 0x%02x in the value: values "
                           "are one line of printable text", w, *q);
        }
    return RK_OK;
}

static int parse_num(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    while (isspace((unsigned char)*end)) end++;
    return !errno && end != s && !*end && isfinite(*v) ? 0 : -1;
}

static int check_value(const kspec *k, const rk_cfg_entry *e, rk_err *err)
{
    char w[400];
    where(w, sizeof w, e);
    double v, v2;
    const char *s = e->value;
    switch (k->type) {
    case T_INT:
        if (parse_num(s, &v) || v != floor(v) || v < k->lo || v > k->hi)
            return rk_errf(err, RK_EINVAL, "%s: expected an integer in %.0f..%.0f, got '%s'", w, k->lo,
                           k->hi, s);
        break;
    case T_REAL:
        if (parse_num(s, &v) || v < k->lo || v > k->hi)
            return rk_errf(err, RK_EINVAL, "%s: expected a number in %g..%g, got '%s'", w, k->lo,
                           k->hi, s);
        if (!strcmp(k->key, "trial.fraction") && !(v > 0))
            return rk_errf(err, RK_EINVAL, "%s: a fraction must be > 0, got '%s'", w, s);
        break;
    case T_BOOL:
        if (strcmp(s, "0") && strcmp(s, "1"))
            return rk_errf(err, RK_EINVAL, "%s: expected 0 or 1, got '%s'", w, s);
        break;
    case T_PAIR: {
        char a[64], b[64];
        const char *comma = strchr(s, ',');
        if (!comma || (size_t)(comma - s) >= sizeof a || strlen(comma + 1) >= sizeof b)
            return rk_errf(err, RK_EINVAL, "%s: expected MIN, MAX, got '%s'", w, s);
        memcpy(a, s, (size_t)(comma - s));
        a[comma - s] = 0;
        strcpy(b, comma + 1);
        if (parse_num(a, &v) || parse_num(b, &v2) || v > v2 || v < k->lo || v2 > k->hi)
            return rk_errf(err, RK_EINVAL, "%s: expected MIN, MAX with %g <= MIN <= MAX <= %g, got '%s'",
                           w, k->lo, k->hi, s);
        break;
    }
    case T_ARM:
        if (rk_arm_parse(s) == RK_ARM_NONE) {
            char names[512] = "", h[160];
            const char *cand[RK_NARMS];
            for (int a = 0; a < RK_NARMS; a++) {
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                         a == 0 ? "" : a + 1 < RK_NARMS ? ", " : " or ", rk_arms[a].name);
                cand[a] = rk_arms[a].name;
            }
            return rk_errf(err, RK_EINVAL, "%s: expected %s, got '%s'%s", w, names, s,
                           hint(h, sizeof h, s, cand, RK_NARMS));
        }
        break;
    case T_INIT:
        if (strcmp(s, "teacher") && strcmp(s, "random"))
            return rk_errf(err, RK_EINVAL, "%s: expected teacher or random, got '%s'", w, s);
        break;
    case T_PREC:
        if (strcmp(s, "f32") && strcmp(s, "bf16") && strcmp(s, "auto"))
            return rk_errf(err, RK_EINVAL, "%s: expected f32, bf16 or auto, got '%s'", w, s);
        break;
    case T_SCHED:
        if (strcmp(s, "cosine") && strcmp(s, "plateau"))
            return rk_errf(err, RK_EINVAL, "%s: expected cosine or plateau, got '%s'", w, s);
        break;
    case T_UNLAB:
        if (strcmp(s, "source") && strcmp(s, "target") && strcmp(s, "shifted"))
            return rk_errf(err, RK_EINVAL, "%s: expected source, target or shifted, got '%s'", w, s);
        break;
    case T_SRCLAB:
        if (strcmp(s, "all") && strcmp(s, "other"))
            return rk_errf(err, RK_EINVAL, "%s: expected all or other, got '%s'", w, s);
        break;
    case T_FAMILY:
        if (rk_family_parse(s) < 0)
            return rk_errf(err, RK_EINVAL, "%s: expected plain or mbconv, got '%s'", w, s);
        break;
    case T_NECK:
        if (rk_neck_parse(s) < 0)
            return rk_errf(err, RK_EINVAL, "%s: expected topdown or fpn, got '%s'", w, s);
        break;
    case T_TASK:
        if (strcmp(s, "detect") && strcmp(s, "segment"))
            return rk_errf(err, RK_EINVAL, "%s: expected detect or segment, got '%s'", w, s);
        break;
    case T_STR:
    case T_PATH:
        if (!s[0]) return rk_errf(err, RK_EINVAL, "%s: must not be empty", w);
        break;
    case T_CMD:
        break; /* split and checked where it runs (rk_trainer_argv) */
    case T_FPRINT:
        if (s[0] && (strlen(s) != 64 || strspn(s, "0123456789abcdef") != 64))
            return rk_errf(err, RK_EINVAL, "%s: expected a dataset fingerprint (64 hex digits), "
                           "got '%s'", w, s);
        break;
    }
    return RK_OK;
}

/* The key/value pairs of policy NAME (entries "augment.NAME.key"). */
static int policy_of(const rk_config *c, const char *name, rk_policy *p, rk_err *err)
{
    char prefix[160];
    snprintf(prefix, sizeof prefix, "augment.%s.", name);
    size_t pl = strlen(prefix), k = 0;
    rk_kv *kv = malloc((c->n + 1) * sizeof *kv);
    if (!kv) return rk_errf(err, RK_ENOMEM, "config: out of memory");
    for (size_t i = 0; i < c->n; i++)
        if (!strncmp(c->e[i].key, prefix, pl))
            kv[k++] = (rk_kv){c->e[i].key + pl, c->e[i].value, c->e[i].file, c->e[i].line};
    int rc = k ? rk_policy_parse(p, name, kv, k, err)
               : rk_errf(err, RK_EINVAL, "config: no augmentation policy [augment.%s] (define it "
                         "in the experiment file or its study.policies file)", name);
    free(kv);
    return rc;
}

int rk_config_validate(const rk_config *c, rk_err *err)
{
    for (size_t i = 0; i < c->n; i++) {
        const rk_cfg_entry *e = &c->e[i];
        int rc = printable(e->file, e->line, e->key, e->value, err);
        if (rc) return rc;
        if (!strncmp(e->key, "augment.", 8)) continue; /* checked per policy below */
        const kspec *k = spec_of(e->key);
        if (!k) {
            char w[400], h[160];
            where(w, sizeof w, e);
            return rk_errf(err, RK_EINVAL, "%s: unknown key%s (see docs/EXPERIMENTS.md)", w,
                           key_hint(h, sizeof h, e->key, 0));
        }
        if ((rc = check_value(k, e, err))) return rc;
    }
    /* every policy section parses */
    for (size_t i = 0; i < c->n; i++) {
        const char *key = c->e[i].key;
        if (strncmp(key, "augment.", 8)) continue;
        const char *dot = strchr(key + 8, '.');
        if (!dot) {
            char w[400];
            where(w, sizeof w, &c->e[i]);
            return rk_errf(err, RK_EINVAL, "%s: policy keys live in [augment.NAME] sections", w);
        }
        char name[128];
        size_t nl = (size_t)(dot - key - 8);
        if (nl >= sizeof name) return rk_errf(err, RK_EINVAL, "config: policy name too long");
        memcpy(name, key + 8, nl);
        name[nl] = 0;
        if (i > 0 && !strncmp(c->e[i - 1].key, key, 8 + nl + 1)) continue; /* same section */
        rk_policy p;
        int rc = policy_of(c, name, &p, err);
        if (rc) return rc;
    }
    return RK_OK;
}

/* ---- loading ---- */
static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

/* "arm" -> "trial.arm" etc. for the grid's short names */
static const char *full_key(const char *k)
{
    static const char *longs[4] = {"trial.arm", "trial.aug", "trial.fraction", "trial.seed"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(k, SHORTS[i])) return longs[i];
    return k;
}

/* Keys whose one value may contain commas: their lists are ';'-separated. */
static int is_list_key(const char *key)
{
    const kspec *k = spec_of(key);
    if (k) return k->type == T_PAIR || k->type == T_PATH || k->type == T_CMD;
    if (!strncmp(key, "augment.", 8)) {
        const char *last = strrchr(key, '.') + 1;
        return !strcmp(last, "scale") || !strcmp(last, "pad") || !strcmp(last, "randaugment");
    }
    return 0;
}

/* "file:line" (or "file" without a line) into buf: where an error points. */
static const char *at(char *buf, size_t cap, const char *file, int line)
{
    if (line > 0) snprintf(buf, cap, "%s:%d", file, line);
    else snprintf(buf, cap, "%s", file);
    return buf;
}

/* A path value set in file: relative to the file's folder, unless it is absolute or the
 * file was named without a folder ("command line", "default", a file in the current
 * directory): then as it is. */
static void resolve(char *out, size_t cap, const char *file, const char *value)
{
    const char *slash = file ? strrchr(file, '/') : NULL;
    if (value[0] == '/' || !slash) snprintf(out, cap, "%s", value);
    else snprintf(out, cap, "%.*s/%s", (int)(slash - file), file, value);
}

static void axis_free(rk_axis *a)
{
    for (size_t i = 0; i < a->n; i++) free(a->values[i]);
    free(a->values), free(a->key), free(a->file);
    memset(a, 0, sizeof *a);
}

static int axis_push(rk_axis *a, const char *v, rk_err *err)
{
    char **nv = realloc(a->values, (a->n + 1) * sizeof *nv);
    if (nv) a->values = nv;
    char *d = nv ? strdup(v) : NULL;
    if (!d) return rk_errf(err, RK_ENOMEM, "config: out of memory");
    a->values[a->n++] = d;
    return RK_OK;
}

static int parse_ll(const char *s, long long *v)
{
    char *end;
    errno = 0;
    *v = strtoll(s, &end, 10);
    while (isspace((unsigned char)*end)) end++;
    return !errno && end != s && !*end ? 0 : -1;
}

/* An integer range: "range(A, B)" or "range(A, B, S)" — A, A+S, ... below B, as Python's —
 * or "A:B" or "A:B:S", A to B inclusive (so 1:4 is range(1, 5)). Returns 1 with the first
 * and last value and the step, 0 when v is no range, -1 when it is a malformed one. */
static int parse_range(const char *v, long long *lo, long long *hi, long long *step)
{
    char buf[128], *part[4];
    int n = 0, python = !strncmp(v, "range(", 6);
    if (!python && !strchr(v, ':')) return 0;
    if (strlen(v) >= sizeof buf) return -1;
    snprintf(buf, sizeof buf, "%s", python ? v + 6 : v);
    if (python) {
        size_t len = strlen(buf);
        if (!len || buf[len - 1] != ')') return -1;
        buf[len - 1] = 0;
    }
    char sep = python ? ',' : ':';
    for (char *s = buf, *next; s && n < 4; s = next) {
        next = strchr(s, sep);
        if (next) *next++ = 0;
        part[n++] = trim(s);
    }
    long long a, b, st = 1;
    if (n < 2 || n > 3 || parse_ll(part[0], &a) || parse_ll(part[1], &b) ||
        (n == 3 && parse_ll(part[2], &st)) || st < 1)
        return -1;
    if (python) b--; /* exclusive end */
    if (a > b || b - a < 0) return -1; /* empty (or overflowing) */
    *lo = a, *hi = b, *step = st;
    return 1;
}

/* The next separator of a list at depth 0 (commas inside range(...) do not separate). */
static char *next_sep(char *s, char sep)
{
    int depth = 0;
    for (; *s; s++) {
        if (*s == '(') depth++;
        else if (*s == ')' && depth) depth--;
        else if (*s == sep && !depth) return s;
    }
    return NULL;
}

/* The axis of key from "v1, v2, ..." (';'-separated for list keys; integer keys also take
 * ranges, expanded here). *ranged: a range was expanded. */
static int parse_axis(rk_axis *a, const char *key, const char *list, const char *file, int line,
                      int *ranged, rk_err *err)
{
    char w[300];
    *a = (rk_axis){.key = strdup(key), .file = strdup(file), .line = line};
    *ranged = 0;
    char *buf = strdup(list);
    int rc = buf && a->key && a->file ? printable(file, line, key, list, err)
                                      : rk_errf(err, RK_ENOMEM, "config: out of memory");
    const kspec *k = spec_of(key);
    char sep = is_list_key(key) ? ';' : ',';
    for (char *s = buf, *next; s && !rc; s = next) {
        next = next_sep(s, sep);
        if (next) *next++ = 0;
        char *v = trim(s);
        long long lo, hi, step;
        int r = k && k->type == T_INT ? parse_range(v, &lo, &hi, &step)
                                      : !strncmp(v, "range(", 6) ? -2 : 0;
        if (!*v && !(k && k->type == T_CMD)) { /* an empty command: the built-in engine */
            rc = rk_errf(err, RK_EINVAL, "%s: grid key '%s' has an empty value", at(w, sizeof w, file, line), key);
        } else if (r == -2) {
            rc = rk_errf(err, RK_EINVAL, "%s: key '%s': '%s': ranges are for integer keys; list "
                         "the values", at(w, sizeof w, file, line), key, v);
        } else if (r < 0) {
            rc = rk_errf(err, RK_EINVAL, "%s: key '%s': expected an integer or a range such as "
                         "range(1, 5) or 1:4 (non-empty, step >= 1), got '%s'",
                         at(w, sizeof w, file, line), key, v);
        } else if (r == 1) {
            *ranged = 1;
            if ((unsigned long long)(hi - lo) / (unsigned long long)step >= RK_GRID_MAX)
                rc = rk_errf(err, RK_EINVAL, "%s: key '%s': '%s' has more than %d values (the "
                             "limit of a grid)", at(w, sizeof w, file, line), key, v, RK_GRID_MAX);
            for (long long x = lo; !rc && x <= hi; x += step) {
                char num[32];
                snprintf(num, sizeof num, "%lld", x);
                rc = axis_push(a, num, err);
                if (x > hi - step) break; /* no overflow past hi */
            }
        } else {
            rc = axis_push(a, v, err);
        }
    }
    free(buf);
    if (rc) axis_free(a);
    return rc;
}

/* Puts axis a (taking it over) into x, replacing an axis of the same key. */
static int add_axis(rk_experiment *x, rk_axis *a, rk_err *err)
{
    for (size_t i = 0; i < x->naxes; i++)
        if (!strcmp(x->axes[i].key, a->key)) {
            axis_free(&x->axes[i]);
            x->axes[i] = *a;
            return RK_OK;
        }
    rk_axis *na = realloc(x->axes, (x->naxes + 1) * sizeof *na);
    if (!na) {
        axis_free(a);
        return rk_errf(err, RK_ENOMEM, "config: out of memory");
    }
    x->axes = na;
    x->axes[x->naxes++] = *a;
    return RK_OK;
}

/* A condition of a [when:] section: "key=value,..." whose every key is a config key (or a
 * grid short name): a misspelled one would match no trial, silently. */
static int check_cond(const char *cond, const char *file, int line, rk_err *err)
{
    char buf[512], w[300], h[160];
    if (strlen(cond) >= sizeof buf)
        return rk_errf(err, RK_EINVAL, "%s: section [when:%.40s...]: condition too long",
                       at(w, sizeof w, file, line), cond);
    snprintf(buf, sizeof buf, "%s", cond);
    for (char *s = buf, *next; s; s = next) {
        next = strchr(s, ',');
        if (next) *next++ = 0;
        char *eq = strchr(s, '=');
        if (eq) *eq = 0;
        const char *k = trim(s), *v = eq ? trim(eq + 1) : "";
        if (!eq || !*k || !*v)
            return rk_errf(err, RK_EINVAL, "%s: section [when:%s]: expected [when:key=value,...]",
                           at(w, sizeof w, file, line), cond);
        if (!spec_of(full_key(k)) && strncmp(k, "augment.", 8))
            return rk_errf(err, RK_EINVAL, "%s: section [when:%s]: '%s' is not a config key%s, "
                           "so the section would match no trial", at(w, sizeof w, file, line),
                           cond, k, key_hint(h, sizeof h, k, 1));
    }
    return RK_OK;
}

static int add_when(rk_experiment *x, const char *cond, const char *key, const char *value,
                    const char *file, int line, rk_err *err)
{
    char w[300];
    int rc = check_cond(cond, file, line, err);
    if (!rc) rc = printable(file, line, key, value, err);
    for (size_t i = 0; i < x->nwhen && !rc; i++)
        if (!strcmp(x->when_cond[i], cond) && !strcmp(x->when[i].key, key) &&
            !strcmp(x->when[i].file, file))
            rc = rk_errf(err, RK_EINVAL, "%s: key '%s' given twice in [when:%s] (first at line "
                         "%d)", at(w, sizeof w, file, line), key, cond, x->when[i].line);
    if (rc) return rc;
    rk_cfg_entry *ne = realloc(x->when, (x->nwhen + 1) * sizeof *ne);
    if (ne) x->when = ne;
    char **nc = realloc(x->when_cond, (x->nwhen + 1) * sizeof *nc);
    if (nc) x->when_cond = nc;
    if (!ne || !nc) return rk_errf(err, RK_ENOMEM, "config: out of memory");
    x->when[x->nwhen] = (rk_cfg_entry){strdup(key), strdup(value), strdup(file), line};
    x->when_cond[x->nwhen] = strdup(cond);
    x->nwhen++;
    return RK_OK;
}

/* Removes every [when:] entry that sets key: a command-line override wins over the file's
 * per-slice values, as it does over its base values (-s train.steps=2000 on paper.ini trains
 * every trial 2,000 steps; -s train.steps=2000,4000 sweeps both in every slice). */
static void drop_when(rk_experiment *x, const char *key)
{
    size_t k = 0;
    for (size_t i = 0; i < x->nwhen; i++) {
        if (strcmp(x->when[i].key, key)) {
            x->when[k] = x->when[i], x->when_cond[k] = x->when_cond[i], k++;
            continue;
        }
        free(x->when[i].key), free(x->when[i].value), free(x->when[i].file);
        free(x->when_cond[i]);
    }
    x->nwhen = k;
}

/* 1 if every "key=value" of cond matches c (numbers compared numerically). */
static int when_matches(const rk_config *c, const char *cond)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", cond);
    for (char *s = buf, *next; s; s = next) {
        next = strchr(s, ',');
        if (next) *next++ = 0;
        char *eq = strchr(s, '=');
        if (!eq) return 0;
        *eq = 0;
        const char *want = trim(eq + 1), *have = rk_config_get(c, full_key(trim(s)));
        double a, b;
        if (!have) return 0;
        if (!parse_num(have, &a) && !parse_num(want, &b) ? a != b : strcmp(have, want) != 0)
            return 0;
    }
    return 1;
}

static int load_ini(rk_experiment *x, const char *path, int policies_only, rk_err *err)
{
    rk_ini_item *it;
    size_t n;
    int rc = rk_ini_read(path, &it, &n, err);
    if (rc) return rc;
    for (size_t i = 0; i < n && !rc; i++) {
        char key[512];
        if (policies_only && strncmp(it[i].section, "augment.", 8)) continue;
        if (!strcmp(it[i].section, "grid")) {
            const char *k = full_key(it[i].key);
            for (size_t a = 0; a < x->naxes && !rc; a++)
                if (!strcmp(x->axes[a].key, k) && !strcmp(x->axes[a].file, path))
                    rc = rk_errf(err, RK_EINVAL, "%s:%d: grid key '%s' given twice (first at "
                                 "line %d): one [grid] line per axis", path, it[i].line, k,
                                 x->axes[a].line);
            rk_axis ax;
            int ranged;
            if (!rc && !(rc = parse_axis(&ax, k, it[i].value, path, it[i].line, &ranged, err)))
                rc = add_axis(x, &ax, err);
            continue;
        }
        if (!strncmp(it[i].section, "when:", 5)) {
            rc = add_when(x, it[i].section + 5, it[i].key, it[i].value, path, it[i].line, err);
            continue;
        }
        if (!it[i].section[0]) {
            rc = rk_errf(err, RK_EINVAL, "%s:%d: key '%s' outside a [section]", path, it[i].line,
                         it[i].key);
            break;
        }
        snprintf(key, sizeof key, "%s.%s", it[i].section, it[i].key);
        if (rk_config_entry(&x->base, key) && !policies_only) {
            const rk_cfg_entry *e = rk_config_entry(&x->base, key);
            if (!strcmp(e->file, path)) {
                rc = rk_errf(err, RK_EINVAL, "%s:%d: key '%s' given twice (first at line %d)", path,
                             it[i].line, key, e->line);
                break;
            }
        }
        rc = rk_config_put(&x->base, key, it[i].value, path, it[i].line, err);
    }
    rk_ini_free(it, n);
    return rc;
}

void rk_experiment_free(rk_experiment *x)
{
    if (!x) return;
    rk_config_free(&x->base);
    for (size_t i = 0; i < x->nwhen; i++) {
        free(x->when[i].key), free(x->when[i].value), free(x->when[i].file);
        free(x->when_cond[i]);
    }
    free(x->when), free(x->when_cond);
    for (size_t i = 0; i < x->naxes; i++) axis_free(&x->axes[i]);
    free(x->axes);
    free(x->path);
    free(x->policies);
    memset(x, 0, sizeof *x);
}

/* The key of override "key=value" into key (trimmed, short names made full); NULL when it
 * has no '=' or no key. */
static const char *override_key(const char *ov, char *key, size_t cap)
{
    const char *eq = strchr(ov, '=');
    if (!eq || eq == ov) return NULL;
    snprintf(key, cap, "%.*s", (int)(eq - ov), ov);
    return full_key(trim(key));
}

/* The policies file, read into x before the experiment: the last -s study.policies (a path
 * relative to the current directory), else the experiment's study.policies (relative to the
 * experiment file), else augment.ini beside it, which may be missing (the experiment then
 * defines its policies itself). A file named explicitly must exist. */
static int load_policies(rk_experiment *x, const char *path, const char *const *ov, size_t nov,
                         rk_err *err)
{
    rk_experiment tmp = {0};
    int rc = load_ini(&tmp, path, 0, err); /* to learn study.policies */
    const rk_cfg_entry *pe = rc ? NULL : rk_config_entry(&tmp.base, "study.policies");
    const char *cli = NULL;
    char key[512], polpath[2048], w[300];
    for (size_t i = 0; i < nov; i++) {
        const char *k = override_key(ov[i], key, sizeof key);
        if (k && !strcmp(k, "study.policies")) cli = strchr(ov[i], '=') + 1;
    }
    if (cli) snprintf(polpath, sizeof polpath, "%s", cli);
    else resolve(polpath, sizeof polpath, path, pe ? pe->value : "augment.ini");
    x->policies = strdup(polpath);
    if (!rc && !x->policies) rc = rk_errf(err, RK_ENOMEM, "config: out of memory");
    struct stat st;
    int found = !rc && stat(polpath, &st) == 0;
    if (found) {
        rc = load_ini(x, polpath, 1, err);
        x->policies_read = !rc;
    } else if (!rc && (cli || pe)) {
        rc = rk_errf(err, RK_EIO, "%s: key 'study.policies': the policies file %s does not exist%s",
                     cli ? "command line" : at(w, sizeof w, pe->file, pe->line), polpath,
                     cli ? "" : " (a relative path is relative to the experiment file)");
    }
    rk_experiment_free(&tmp);
    return rc;
}

/* data.content for c's dataset: the fingerprint of a folder of the user's own (one without
 * the card.json rethink's generator writes), else empty — a generated dataset is known by
 * its data.* recipe, which its card is checked against before every trial (trial.c), and a
 * folder not built yet has no content to know. */
static const char *val(const rk_config *c, const char *key);
static int put_content(rk_config *c, rk_err *err)
{
    const rk_cfg_entry *e = rk_config_entry(c, "study.data");
    char dir[1024], card[1100], hex[65] = "";
    resolve(dir, sizeof dir, e ? e->file : NULL, e ? e->value : val(c, "study.data"));
    snprintf(card, sizeof card, "%s/card.json", dir);
    struct stat st;
    int rc = RK_OK;
    if (stat(card, &st) && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        rc = rk_dataset_fingerprint(dir, hex, err);
    return rc ? rc : rk_config_put(c, "data.content", hex, "computed", 0, err);
}

int rk_experiment_load(rk_experiment *x, const char *path, const char *const *ov, size_t nov,
                       rk_err *err)
{
    memset(x, 0, sizeof *x);
    x->path = strdup(path);
    /* 1. the policies, 2. the experiment over them */
    int rc = x->path ? load_policies(x, path, ov, nov, err)
                     : rk_errf(err, RK_ENOMEM, "config: out of memory");
    if (!rc) rc = load_ini(x, path, 0, err);
    /* 3. defaults for every schema key not set; a default path is the experiment file's */
    for (size_t i = 0; i < NSCHEMA && !rc; i++)
        if (!rk_config_entry(&x->base, SCHEMA[i].key))
            rc = rk_config_put(&x->base, SCHEMA[i].key, SCHEMA[i].def,
                               SCHEMA[i].type == T_PATH ? path : "default", 0, err);
    /* 4. overrides: a value, or an axis when the key is one already or the value lists
     * several (or a range) */
    for (size_t i = 0; i < nov && !rc; i++) {
        char key[512];
        const char *k = override_key(ov[i], key, sizeof key), *v = k ? strchr(ov[i], '=') + 1 : "";
        if (!k) {
            rc = rk_errf(err, RK_EINVAL, "override '%s': expected key=value", ov[i]);
            break;
        }
        if ((rc = printable("command line", 0, k, ov[i], err))) break;
        rk_axis a;
        int ranged, axis = 0;
        if ((rc = parse_axis(&a, k, v, "command line", 0, &ranged, err))) break;
        for (size_t j = 0; j < x->naxes; j++) axis |= !strcmp(x->axes[j].key, k);
        if (axis || ranged || a.n > 1) {
            rc = add_axis(x, &a, err);
        } else {
            axis_free(&a);
            rc = rk_config_put(&x->base, k, v, "command line", 0, err);
        }
        drop_when(x, k);
    }
    /* 5. validate the base and every axis value; the dataset's content is computed */
    const rk_cfg_entry *ce = rc ? NULL : rk_config_entry(&x->base, "data.content");
    char cw[300];
    if (ce && strcmp(ce->file, "default"))
        rc = rk_errf(err, RK_EINVAL, "%s: key 'data.content' is computed from the dataset "
                     "folder, never set: remove it", at(cw, sizeof cw, ce->file, ce->line));
    if (!rc) rc = rk_config_validate(&x->base, err);
    if (!rc) rc = put_content(&x->base, err);
    for (size_t a = 0; a < x->naxes && !rc; a++) {
        const rk_axis *ax = &x->axes[a];
        const kspec *k = spec_of(ax->key);
        char w[300], h[160];
        if (!k && strncmp(ax->key, "augment.", 8)) {
            rc = rk_errf(err, RK_EINVAL, "%s: grid key '%s' is not a config key%s",
                         at(w, sizeof w, ax->file, ax->line), ax->key,
                         key_hint(h, sizeof h, ax->key, 1));
            break;
        }
        if (k && (!strcmp(k->key, "study.name") || !strcmp(k->key, "study.policies"))) {
            rc = rk_errf(err, RK_EINVAL, "%s: key '%s' cannot be a grid axis (a sweep has one "
                         "study and one policies file): give it one value",
                         at(w, sizeof w, ax->file, ax->line), ax->key);
            break;
        }
        for (size_t j = 0; j < ax->n && !rc && k; j++) {
            rk_cfg_entry e = {ax->key, ax->values[j], ax->file, ax->line};
            rc = check_value(k, &e, err);
        }
    }
    for (size_t w = 0; w < x->nwhen && !rc; w++) {
        const kspec *k = spec_of(x->when[w].key);
        char h[160];
        if (!k && strncmp(x->when[w].key, "augment.", 8))
            rc = rk_errf(err, RK_EINVAL, "%s:%d: key '%s' in [when:%s] is not a config key%s "
                         "(write the full section.key)", x->when[w].file, x->when[w].line,
                         x->when[w].key, x->when_cond[w], key_hint(h, sizeof h, x->when[w].key, 0));
        else if (k)
            rc = check_value(k, &x->when[w], err);
        /* A slice value of an axis key would replace every value of the axis in that slice,
         * making trials that differ in name only. */
        for (size_t a = 0; a < x->naxes && !rc; a++)
            if (!strcmp(x->axes[a].key, x->when[w].key))
                rc = rk_errf(err, RK_EINVAL, "%s:%d: [when:%s] sets '%s', which is a grid axis "
                             "(%s:%d): a slice value would replace the axis's values; set it "
                             "in [grid] or in [when:], not both", x->when[w].file,
                             x->when[w].line, x->when_cond[w], x->when[w].key, x->axes[a].file,
                             x->axes[a].line);
    }
    /* 6. the grid's size, checked before anything is allocated per trial */
    size_t n = rc ? 0 : rk_experiment_size(x);
    if (!rc && n > RK_GRID_MAX) {
        char size[32] = "more than 2^64";
        if (n != SIZE_MAX) snprintf(size, sizeof size, "%zu", n);
        rc = rk_errf(err, RK_EINVAL, "%s: the grid's %zu axes make %s trials, more than the "
                     "limit of %d: split it into several sweeps of the same study (-s narrows "
                     "an axis)", path, x->naxes, size, RK_GRID_MAX);
    }
    if (rc) rk_experiment_free(x);
    return rc;
}

size_t rk_experiment_size(const rk_experiment *x)
{
    size_t n = 1;
    for (size_t a = 0; a < x->naxes; a++) {
        if (x->axes[a].n && n > SIZE_MAX / x->axes[a].n) return SIZE_MAX; /* saturates */
        n *= x->axes[a].n;
    }
    return n;
}

/* The policy that key (trial.aug, pretrain.aug) names is defined in c: else an error naming
 * where the name was set (w: NULL, the key's origin), the policies there are, and a missing
 * policies file. */
static int policy_defined(const rk_experiment *x, const rk_config *c, const char *key,
                          const char *w, rk_err *err)
{
    const rk_cfg_entry *e = rk_config_entry(c, key);
    char prefix[160], names[400] = "", origin[400], h[160];
    snprintf(prefix, sizeof prefix, "augment.%s.", e->value);
    size_t pos = 0, pl = strlen(prefix), nn = 0;
    find(c, prefix, &pos); /* the first key after the prefix */
    if (pos < c->n && !strncmp(c->e[pos].key, prefix, pl)) return RK_OK;
    const char *cand[64];
    char own[64][64];
    for (size_t i = 0; i < c->n && nn < 64; i++) {
        const char *k = c->e[i].key, *dot = strchr(k + 8, '.');
        if (strncmp(k, "augment.", 8) || !dot || (size_t)(dot - k - 8) >= sizeof own[0]) continue;
        snprintf(own[nn], sizeof own[nn], "%.*s", (int)(dot - k - 8), k + 8);
        if (nn && !strcmp(own[nn - 1], own[nn])) continue; /* sorted: one per policy */
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", nn ? ", " : "",
                 own[nn]);
        cand[nn] = own[nn];
        nn++;
    }
    if (!w) where(origin, sizeof origin, e), w = origin;
    char missing[2200] = "";
    if (!x->policies_read)
        snprintf(missing, sizeof missing, "; the policies file %s (study.policies) does not "
                 "exist", x->policies ? x->policies : "augment.ini");
    return rk_errf(err, RK_EINVAL, "%s: no augmentation policy [augment.%s]%s (%s%s)%s", w,
                   e->value, hint(h, sizeof h, e->value, cand, nn),
                   nn ? "defined: " : "none is defined", names, missing);
}

int rk_experiment_policy(const rk_experiment *x, const char *name, rk_policy *p, rk_err *err)
{
    rk_config c = {0};
    int rc = rk_config_copy(&c, &x->base, err);
    if (!rc) rc = rk_config_put(&c, "trial.aug", name, x->path, 0, err);
    if (!rc) rc = policy_defined(x, &c, "trial.aug", x->path, err);
    if (!rc) rc = policy_of(&c, name, p, err);
    rk_config_free(&c);
    return rc;
}

int rk_experiment_trial(const rk_experiment *x, size_t i, rk_config *out, rk_err *err)
{
    int rc = i < rk_experiment_size(x) ? rk_config_copy(out, &x->base, err)
                                       : rk_errf(err, RK_EINVAL, "config: no trial %zu", i);
    if (rc) return rc;
    for (size_t a = x->naxes; a-- > 0 && !rc;) {
        const rk_axis *ax = &x->axes[a];
        rc = rk_config_put(out, ax->key, ax->values[i % ax->n], ax->file, ax->line, err);
        i /= ax->n;
    }
    for (size_t w = 0; w < x->nwhen && !rc; w++)
        if (when_matches(out, x->when_cond[w]))
            rc = rk_config_put(out, x->when[w].key, x->when[w].value, x->when[w].file,
                               x->when[w].line, err);
    if (!rc) rc = rk_config_validate(out, err);
    /* a dataset of its own (an axis or a slice sets study.data): its content */
    const rk_cfg_entry *d = rc ? NULL : rk_config_entry(out, "study.data"),
                       *bd = rk_config_entry(&x->base, "study.data");
    if (d && bd && (strcmp(d->value, bd->value) || strcmp(d->file, bd->file)))
        rc = put_content(out, err);
    /* the policies it trains with exist (before any trial is registered) */
    rk_arm arm = rc ? RK_ARM_NONE : rk_arm_parse(rk_config_get(out, "trial.arm"));
    if (!rc) rc = policy_defined(x, out, "trial.aug", NULL, err);
    if (!rc && backbone_aug_key(arm))
        rc = policy_defined(x, out, backbone_aug_key(arm), NULL, err);
    if (rc) rk_config_free(out);
    return rc;
}

static const char *val(const rk_config *c, const char *key);

/* ---- canonical JSON and the identity hash ---- */
static int has_content(const rk_config *c)
{
    const char *v = rk_config_get(c, "data.content");
    return v && v[0];
}
static int hashed(const rk_config *c, const char *key, const char *value, rk_arm arm)
{
    if (!strncmp(key, "augment.", 8)) {
        /* only the policies this trial uses: its own, and its backbone's */
        const char *aug = rk_config_get(c, "trial.aug"), *bk = backbone_aug_key(arm);
        /* its default where c omits it (an A_IF_SET name at its default: the pseudo-labels'
         * stage config holds only the teacher's hashed entries) */
        const char *pre = bk ? val(c, bk) : NULL;
        char p1[160], p2[160];
        snprintf(p1, sizeof p1, "augment.%s.", aug ? aug : "");
        snprintf(p2, sizeof p2, "augment.%s.", pre ? pre : "");
        return !strncmp(key, p1, strlen(p1)) || (pre && !strncmp(key, p2, strlen(p2)));
    }
    /* a dataset of the user's own is known by its content, not by where it is */
    if (!strcmp(key, "study.data") && has_content(c)) return 0;
    const kspec *k = spec_of(key);
    double v, d; /* at its default: "1.0" is train.steps_scale's "1" */
    if (k && (k->arms & A_IF_SET) &&
        (!strcmp(value, k->def) || (!parse_num(value, &v) && !parse_num(k->def, &d) && v == d)))
        return 0;
    return k && matters(k->arms, arm);
}

const char *rk_config_omitted_key(size_t i, const char **def)
{
    for (size_t k = 0; k < NSCHEMA; k++)
        if ((SCHEMA[k].arms & A_IF_SET) && i-- == 0) {
            if (def) *def = SCHEMA[k].def;
            return SCHEMA[k].key;
        }
    return NULL;
}

const char *rk_config_schema_key(size_t i, const char **def)
{
    if (i >= NSCHEMA) return NULL;
    if (def) *def = SCHEMA[i].def;
    return SCHEMA[i].key;
}

static void json_str(char **p, size_t *n, size_t *cap, const char *s)
{
    for (const char *q = s;; q++) {
        if (*n + 8 > *cap) {
            *cap = *cap * 2 + 64;
            *p = realloc(*p, *cap);
            if (!*p) return;
        }
        if (!*q) break;
        unsigned char ch = (unsigned char)*q;
        if (ch == '"' || ch == '\\') (*p)[(*n)++] = '\\', (*p)[(*n)++] = (char)ch;
        else if (ch < 0x20) *n += (size_t)snprintf(*p + *n, 8, "\\u%04x", ch);
        else (*p)[(*n)++] = (char)ch;
    }
}

/* The canonical JSON of c's entries that define results for arm — or, for RK_ARM_NONE (a
 * stage's config), of every entry but the never-hashed ones — and its SHA-256. */
static int canon_json(const rk_config *c, rk_arm arm, char **json, char hash[65], rk_err *err)
{
    size_t n = 0, cap = 256;
    char *p = malloc(cap);
    if (!p) return rk_errf(err, RK_ENOMEM, "config: out of memory");
    p[n++] = '{';
    int first = 1;
    for (size_t i = 0; i < c->n && p; i++) {
        const kspec *k = spec_of(c->e[i].key);
        if (arm == RK_ARM_NONE ? (k && k->arms == A_NONE) ||
                                     (k && k->type == T_FPRINT && !c->e[i].value[0]) ||
                                     (!strcmp(c->e[i].key, "study.data") && has_content(c))
                               : !hashed(c, c->e[i].key, c->e[i].value, arm))
            continue;
        if (!first) p[n++] = ',';
        first = 0;
        p[n++] = '"';
        json_str(&p, &n, &cap, c->e[i].key);
        if (!p) break;
        p[n++] = '"', p[n++] = ':', p[n++] = '"';
        json_str(&p, &n, &cap, c->e[i].value);
        if (!p) break;
        p[n++] = '"';
    }
    if (!p) return rk_errf(err, RK_ENOMEM, "config: out of memory");
    p[n++] = '}';
    p[n] = 0;
    if (hash) rk_sha256_hex(p, n, hash);
    *json = p;
    return RK_OK;
}

int rk_config_json(const rk_config *c, char **json, char hash[65], rk_err *err)
{
    rk_arm arm = rk_arm_parse(rk_config_get(c, "trial.arm"));
    return canon_json(c, arm == RK_ARM_NONE ? RK_ARM_SCRATCH : arm, json, hash, err);
}

int rk_config_json_all(const rk_config *c, char **json, char hash[65], rk_err *err)
{
    return canon_json(c, RK_ARM_NONE, json, hash, err);
}

int rk_config_from_json(rk_config *c, const char *json, const char *origin, rk_err *err)
{
    memset(c, 0, sizeof *c);
    cJSON *o = cJSON_Parse(json);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return rk_errf(err, RK_EFORMAT, "%s: the config is not a JSON object", origin);
    }
    int rc = RK_OK;
    for (const cJSON *v = o->child; v && !rc; v = v->next)
        rc = cJSON_IsString(v) ? rk_config_put(c, v->string, v->valuestring, origin, 0, err)
                               : rk_errf(err, RK_EFORMAT, "%s: config key %s is not a string",
                                         origin, v->string);
    cJSON_Delete(o);
    if (rc) rk_config_free(c);
    return rc;
}

/* ---- the typed trial ---- */
/* key's value in c, else its schema default: a stage's config (rk_stage_config) holds only
 * the keys the stage reads, and every other setting reads as its default */
static const char *val(const rk_config *c, const char *key)
{
    const char *v = rk_config_get(c, key);
    const kspec *k = v ? NULL : spec_of(key);
    return v ? v : k ? k->def : NULL;
}

static double num(const rk_config *c, const char *key)
{
    const char *v = val(c, key);
    return v ? strtod(v, NULL) : 0;
}

static void pair(const rk_config *c, const char *key, double *a, double *b)
{
    const char *v = val(c, key);
    *a = v ? strtod(v, NULL) : 0;
    const char *comma = v ? strchr(v, ',') : NULL;
    *b = comma ? strtod(comma + 1, NULL) : *a;
}

int rk_trial_cfg_from(rk_trial_cfg *t, const rk_config *c, rk_err *err)
{
    int rc = rk_config_validate(c, err);
    if (rc) return rc;
    memset(t, 0, sizeof *t);
    t->arm = rk_arm_parse(val(c, "trial.arm"));
    snprintf(t->aug, sizeof t->aug, "%s", val(c, "trial.aug"));
    t->fraction = num(c, "trial.fraction");
    t->seed = (unsigned long)num(c, "trial.seed");
    snprintf(t->study, sizeof t->study, "%s", val(c, "study.name"));
    const rk_cfg_entry *pd = rk_config_entry(c, "study.data");
    const rk_cfg_entry *pa = rk_config_entry(c, "study.artifacts");
    resolve(t->data_dir, sizeof t->data_dir, pd ? pd->file : NULL,
            pd ? pd->value : val(c, "study.data"));
    resolve(t->artifacts, sizeof t->artifacts, pa ? pa->file : NULL,
            pa ? pa->value : val(c, "study.artifacts"));
    t->build_data = (int)num(c, "study.build_data");
    t->threads = (int)num(c, "study.threads");
    t->eval_every = (int)num(c, "study.eval_every");
    t->dev = (size_t)num(c, "train.dev");
    t->dev_every = (long)num(c, "train.dev_every");
    rk_scene_params *d = &t->data;
    *d = rk_scene_defaults();
    d->seed = (uint64_t)num(c, "data.seed");
    d->size = d->source_size = (int)num(c, "data.size");
    d->ntrain = (int)num(c, "data.train"), d->nval = (int)num(c, "data.val");
    d->nsource = (int)num(c, "data.source");
    double a, b;
    pair(c, "data.objects", &a, &b);
    d->min_objects = (int)a, d->max_objects = (int)b;
    pair(c, "data.scale", &d->min_scale, &d->max_scale);
    d->clutter = (int)num(c, "data.clutter");
    d->occlusion = num(c, "data.occlusion"), d->tint = num(c, "data.tint");
    d->noise = num(c, "data.noise");
    d->classes = (int)num(c, "data.classes");
    d->source_labels = !strcmp(val(c, "data.source_labels"), "other")
                           ? RK_SOURCE_LABELS_OTHER
                           : RK_SOURCE_LABELS_ALL;
    if ((rc = rk_scene_validate(d, err))) return rc;
    t->det = rk_detector_default();
    t->det.model.width = (int)num(c, "model.width");
    t->det.model.depth = (int)num(c, "model.depth");
    t->det.model.head_stride = (int)num(c, "model.head_stride");
    t->det.model.family = rk_family_parse(val(c, "model.family"));
    t->det.model.neck = rk_neck_parse(val(c, "model.neck"));
    t->det.model.in_size = d->size;
    t->segment = !strcmp(val(c, "model.task"), "segment");
    t->det.w_size = num(c, "train.w_size"), t->det.w_off = num(c, "train.w_off");
    t->det.topk = (int)num(c, "train.topk");
    rk_schedule *s = &t->train;
    *s = rk_schedule_default();
    s->epochs = (int)num(c, "train.epochs"), s->batch = (int)num(c, "train.batch");
    s->steps = (long)num(c, "train.steps");
    s->lr = num(c, "train.lr"), s->warmup_init = num(c, "train.warmup_init");
    s->warmup_frac = num(c, "train.warmup_frac"), s->momentum = num(c, "train.momentum");
    s->weight_decay = num(c, "train.weight_decay"), s->decay_all = (int)num(c, "train.decay_all");
    s->clip = num(c, "train.clip");
    t->pre = *s;
    /* the schedule's shape is the detector's (pre-training keeps its cosine over epochs) */
    s->warmup_steps = (long)num(c, "train.warmup_steps");
    s->plateau = !strcmp(val(c, "train.schedule"), "plateau");
    s->patience = (int)num(c, "train.patience"), s->min_delta = num(c, "train.min_delta");
    s->anneal = num(c, "train.anneal");
    if (s->plateau && t->dev == 0) {
        const rk_cfg_entry *e = rk_config_entry(c, "train.schedule");
        char w[400];
        where(w, sizeof w, e);
        return rk_errf(err, RK_EINVAL, "%s: the plateau schedule stops when dev AP stops "
                       "improving, so it needs a dev split: set train.dev (e.g. 500)", w);
    }
    s->bf16 = !strcmp(val(c, "train.precision"), "bf16"); /* detector training only */
    t->bf16_auto = !strcmp(val(c, "train.precision"), "auto");
    rk_schedule_scale(s, num(c, "train.steps_scale"));             /* so is the budget scale */
    t->pre.epochs = (int)num(c, "pretrain.epochs"), t->pre.batch = (int)num(c, "pretrain.batch");
    t->pre.steps = 0;
    t->pre.lr = num(c, "pretrain.lr"), t->pre.warmup_frac = num(c, "pretrain.warmup_frac");
    t->pre.weight_decay = num(c, "pretrain.weight_decay");
    t->pre_holdout = num(c, "pretrain.holdout");
    t->strong_epochs_scale = num(c, "strong.epochs_scale");
    t->ssl = t->pre; /* the [train] keys pre-training inherits, and its cosine over epochs */
    t->ssl.epochs = (int)num(c, "simclr.epochs"), t->ssl.batch = (int)num(c, "simclr.batch");
    t->ssl.lr = num(c, "simclr.lr"), t->ssl.warmup_frac = num(c, "simclr.warmup_frac");
    t->ssl.weight_decay = num(c, "simclr.weight_decay");
    t->ssl_temperature = num(c, "simclr.temperature");
    t->ssl_proj_dim = (int)num(c, "simclr.proj_dim");
    t->st.alpha = num(c, "selftrain.alpha");
    t->st.normalize = (int)num(c, "selftrain.normalize");
    t->st.ema_decay = num(c, "selftrain.ema_decay");
    t->st.pseudo_batch = (int)num(c, "selftrain.pseudo_batch");
    t->st_threshold = num(c, "selftrain.threshold");
    t->st_steps_scale = num(c, "selftrain.steps_scale");
    t->st_keep_empty = (int)num(c, "selftrain.keep_empty");
    t->st_init_random = !strcmp(val(c, "selftrain.init"), "random");
    t->st_source = !strcmp(val(c, "selftrain.source"), "target")    ? RK_UNLABELLED_TARGET
                   : !strcmp(val(c, "selftrain.source"), "shifted") ? RK_UNLABELLED_SHIFTED
                                                                    : RK_UNLABELLED_SOURCE;
    t->joint_weight = num(c, "joint.weight");
    t->joint_batch = (int)num(c, "joint.batch");
    /* a policy only where its name is set (a stage's config names the ones it reads) */
    if (rk_config_entry(c, "trial.aug") && (rc = policy_of(c, t->aug, &t->policy, err))) return rc;
    /* the views' policy where it is used: a SimCLR arm's trial, or a stage's config (no arm) */
    if (rk_config_entry(c, "simclr.aug") &&
        (!rk_config_entry(c, "trial.arm") || rk_arms[t->arm].backbone == RK_BACKBONE_SIMCLR) &&
        (rc = policy_of(c, val(c, "simclr.aug"), &t->ssl_policy, err)))
        return rc;
    if (!rk_config_entry(c, "pretrain.aug")) return RK_OK;
    return policy_of(c, val(c, "pretrain.aug"), &t->pre_policy, err);
}

/* ---- the configs of a trial's stages (config.h) ---- */

/* The keys pre-training reads. Source images depend on data.seed, size, source, clutter,
 * occlusion, tint and noise (src/data/fashion.c: data.train, val, objects and scale shape
 * only the target scenes), labels.csv on data.classes and source_labels; the classifier is
 * the backbone (model.width, depth; head_stride shapes only the detector's neck); `t->pre`
 * starts as a copy of the [train] schedule (rk_trial_cfg_from), so pre-training inherits
 * train.momentum, warmup_init, decay_all and clip. */
static const char *const BACKBONE_KEYS[] = {
    "study.data",       "data.seed",      "data.size",         "data.source",
    "data.clutter",     "data.occlusion", "data.tint",         "data.noise",
    "data.classes",     "data.source_labels", "model.width",   "model.depth",
    "pretrain.epochs",  "pretrain.batch", "pretrain.lr",       "pretrain.warmup_frac",
    "pretrain.weight_decay", "pretrain.aug", "pretrain.holdout", "train.momentum",
    "train.warmup_init", "train.decay_all", "train.clip",      "trial.seed",
};
/* The stronger backbone: the plain one's keys (BACKBONE_KEYS) and how much longer. */
static const char *const STRONG_KEYS[] = {"strong.epochs_scale"};
/* SimCLR reads the source images but not their labels (so not data.classes or
 * data.source_labels, which make only labels.csv), the backbone, simclr.* with its policy,
 * the [train] keys pre-training inherits, and the seed. */
static const char *const SIMCLR_KEYS[] = {
    "study.data",         "data.seed",         "data.size",         "data.source",
    "data.clutter",       "data.occlusion",    "data.tint",         "data.noise",
    "model.width",        "model.depth",       "simclr.epochs",     "simclr.batch",
    "simclr.lr",          "simclr.warmup_frac", "simclr.weight_decay", "simclr.temperature",
    "simclr.proj_dim",    "simclr.aug",        "train.momentum",    "train.warmup_init",
    "train.decay_all",    "train.clip",        "trial.seed",
};
/* Backbone keys added after backbones were recorded: in the stage's key only when not at
 * their default, so every backbone recorded before them keeps its key (and is reused). */
static const char *const BACKBONE_KEYS_IF_SET[] = {"model.family"};
/* Settings a stage needs that change none of its results (never in its key): its threads,
 * and the folder its artifact goes to. */
static const char *const RUNTIME_KEYS[] = {"study.threads", "study.artifacts"};

/* Sets key in out to its value in c (with where it was set: a path is relative to its file),
 * else its schema default. */
static int stage_put(rk_config *out, const rk_config *c, const char *key, rk_err *err)
{
    const rk_cfg_entry *e = rk_config_entry(c, key);
    if (e) return rk_config_put(out, key, e->value, e->file, e->line, err);
    const char *v = val(c, key);
    return v ? rk_config_put(out, key, v, "stage", 0, err)
             : rk_errf(err, RK_EINVAL, "stage config: '%s' is not a config key", key);
}

/* Copies the entries of policy name (augment.NAME.*) from c. */
static int stage_policy(rk_config *out, const rk_config *c, const char *name, rk_err *err)
{
    char prefix[160];
    snprintf(prefix, sizeof prefix, "augment.%s.", name);
    int rc = RK_OK;
    for (size_t i = 0; i < c->n && !rc; i++)
        if (!strncmp(c->e[i].key, prefix, strlen(prefix)))
            rc = rk_config_put(out, c->e[i].key, c->e[i].value, "stage", 0, err);
    return rc;
}

rk_stage rk_backbone_stage(rk_backbone b)
{
    return b == RK_BACKBONE_SUPERVISED ? RK_STAGE_BACKBONE
           : b == RK_BACKBONE_STRONG   ? RK_STAGE_BACKBONE_STRONG
           : b == RK_BACKBONE_SIMCLR   ? RK_STAGE_BACKBONE_SIMCLR
                                       : (rk_stage)0;
}

int rk_stage_config(const rk_config *c, rk_stage stage, rk_config *out, char key[65],
                    rk_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = RK_OK;
    if (stage == RK_STAGE_BACKBONE || stage == RK_STAGE_BACKBONE_STRONG) {
        for (size_t i = 0; i < sizeof BACKBONE_KEYS / sizeof *BACKBONE_KEYS && !rc; i++)
            rc = stage_put(out, c, BACKBONE_KEYS[i], err);
        if (!rc && has_content(c)) rc = stage_put(out, c, "data.content", err);
        for (size_t i = 0; stage == RK_STAGE_BACKBONE_STRONG && i < 1 && !rc; i++)
            rc = stage_put(out, c, STRONG_KEYS[i], err);
        for (size_t i = 0; i < sizeof BACKBONE_KEYS_IF_SET / sizeof *BACKBONE_KEYS_IF_SET && !rc;
             i++) {
            const kspec *k = spec_of(BACKBONE_KEYS_IF_SET[i]);
            if (strcmp(val(c, k->key), k->def)) rc = stage_put(out, c, k->key, err);
        }
        if (!rc) rc = stage_policy(out, c, val(c, "pretrain.aug"), err);
    } else if (stage == RK_STAGE_BACKBONE_SIMCLR) {
        for (size_t i = 0; i < sizeof SIMCLR_KEYS / sizeof *SIMCLR_KEYS && !rc; i++)
            rc = stage_put(out, c, SIMCLR_KEYS[i], err);
        if (!rc && has_content(c)) rc = stage_put(out, c, "data.content", err);
        if (!rc) rc = stage_policy(out, c, val(c, "simclr.aug"), err);
    } else if (stage == RK_STAGE_PSEUDO) {
        const char *an = val(c, "trial.arm");
        rk_arm a = rk_arm_parse(an);
        if (a == RK_ARM_NONE || rk_arms[a].teacher == RK_ARM_NONE || !rk_arms[a].pseudo)
            return rk_errf(err, RK_EINVAL, "trial.arm = %s: the arm trains on no pseudo-labels",
                           an ? an : "");
        /* the teacher's identity: the cell's entries its arm hashes (rk_config_json) */
        rk_arm ta = rk_arms[a].teacher;
        rk_config tc;
        rc = rk_config_copy(&tc, c, err);
        if (!rc) rc = rk_config_put(&tc, "trial.arm", rk_arm_name(ta), "stage", 0, err);
        for (size_t i = 0; i < tc.n && !rc; i++)
            if (hashed(&tc, tc.e[i].key, tc.e[i].value, ta))
                rc = rk_config_put(out, tc.e[i].key, tc.e[i].value, tc.e[i].file,
                                   tc.e[i].line, err);
        rk_config_free(&tc);
        if (!rc) rc = stage_put(out, c, "selftrain.threshold", err);
        /* where the data is (in the key only when data.content is not set) */
        if (!rc) rc = stage_put(out, c, "study.data", err);
        /* what they label: only when not the source images, so that the keys of pseudo-labels
         * made before the key existed stay theirs */
        const char *us = val(c, "selftrain.source");
        if (!rc && strcmp(us, "source")) rc = stage_put(out, c, "selftrain.source", err);
    } else {
        return rk_errf(err, RK_EINVAL, "stage config: unknown stage %d", (int)stage);
    }
    for (size_t i = 0; i < sizeof RUNTIME_KEYS / sizeof *RUNTIME_KEYS && !rc; i++)
        rc = stage_put(out, c, RUNTIME_KEYS[i], err);
    /* the key: every entry but the runtime settings, in key order */
    char *json = NULL;
    if (!rc) rc = canon_json(out, RK_ARM_NONE, &json, key, err);
    free(json);
    if (rc) rk_config_free(out);
    return rc;
}
