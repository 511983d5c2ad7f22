/* rethink predict: runs a finished trial's detector (the checkpoint its artifacts record) on
 * any folder of images and writes COCO results, scored as rethink scores a trial — the same
 * letterbox, padding, top-k and inference code (rk_detector_predict), so on the trial's own
 * val images `rethink eval` gives its recorded AP. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rethink/arms.h"
#include "rethink/engine.h"
#include "rethink/model.h"
#include "rethink/trial.h"

static const char *HELP =
    "usage: rethink predict TRIAL --images DIR [--ann FILE] --out results.json [--db FILE]\n"
    "                       [--checkpoint FILE] [--threads N]\n"
    "\n"
    "Runs a finished trial's detector (TRIAL: an id, or a prefix of its config hash) on a\n"
    "folder of images and writes COCO results JSON: one entry per detection with image_id,\n"
    "category_id, bbox [x, y, w, h] in the image's pixels and score (at most train.topk per\n"
    "image), made exactly as the trial's own evaluation made them.\n"
    "\n"
    "Image ids: with --ann, the annotation file's images (file_name relative to DIR) and\n"
    "ids, and its categories in file order as the detector's classes (their count must be\n"
    "the detector's); without it, every .jpg of DIR sorted by file name (byte order), the\n"
    "i-th (from 1) being image_id i, and the categories the trial recorded, by id.\n"
    "\n"
    "The checkpoint is the one the trial's artifacts record (artifacts.path: relative to\n"
    "where the sweep ran); --checkpoint gives another location of the same file, which is\n"
    "checked against its record (trial key and SHA-256) either way.\n";

/* The trial's detector settings, from its stored config (keys it lacks: their defaults). */
static int trial_settings(const rk_trial *t, rk_trial_cfg *tc, rk_err *err)
{
    char origin[128];
    snprintf(origin, sizeof origin, "trial %lld", (long long)t->id);
    rk_config c;
    int rc = rk_config_from_json(&c, t->config_json, origin, err);
    if (rc) return rc;
    rc = rk_trial_cfg_from(tc, &c, err);
    rk_config_free(&c);
    return rc;
}

static int fail(const char *msg)
{
    fprintf(stderr, "rethink predict: %s\n", msg);
    return 1;
}

int cmd_predict(int argc, char **argv)
{
    const char *db_path = "results.db", *spec = NULL, *images = NULL, *ann = NULL, *out = NULL,
               *ckpt = NULL;
    int threads = 1, code;
    const cli_opt opts[] = {
        {.kind = CLI_STR, .dst = &spec, .arg = "TRIAL"},
        {.name = "images", .kind = CLI_STR, .dst = &images, .arg = "DIR", .required = 1,
         .help = "the images (with --ann: the folder its file_name entries are relative to)"},
        {.name = "ann", .kind = CLI_STR, .dst = &ann, .arg = "FILE",
         .help = "COCO instances JSON naming the images, their ids and the categories"},
        {.name = "out", .kind = CLI_STR, .dst = &out, .arg = "FILE", .required = 1,
         .help = "where to write the COCO results JSON"},
        CLI_OPT_DB(&db_path),
        {.name = "checkpoint", .kind = CLI_STR, .dst = &ckpt, .arg = "FILE",
         .help = "the trial's checkpoint, if not where its artifact record says"},
        {.name = "threads", .kind = CLI_INT, .dst = &threads, .arg = "N", .lo = 1, .hi = 256,
         .help = "compute threads (default 1, as trials evaluate; another count may\n"
                 "round differently in the last bits)"},
        {0}};
    if (cli_parse(&(cli_cmd){"predict", HELP, opts}, argc, argv, &code)) return code;
    if (!spec) {
        fprintf(stderr, "rethink predict: TRIAL is required (see --help)\n");
        return 2;
    }
    rk_store *db;
    if (cli_open_db(db_path, &db, "predict", 1)) return 1;
    int64_t id;
    if ((code = cli_trial_id(db, spec, &id, "predict"))) {
        rk_store_close(db);
        return 1;
    }
    rk_err err = {0};
    rk_trial t = {0};
    rk_artifact a = {0};
    rk_category_ap *cats_rec = NULL;
    size_t ncats_rec = 0;
    int found = 0, rc = rk_store_trial_get(db, id, &t, &found, &err);
    if (!rc && (t.status != RK_TRIAL_FINISHED || strcmp(t.kind, "detector")))
        rc = rk_errf(&err, RK_EINVAL, "trial %lld is a %s %s trial: only a finished detector "
                     "trial has a checkpoint", (long long)id, rk_trial_status_name(t.status), t.kind);
    if (!rc) rc = rk_store_trial_product(db, id, RK_ARTIFACT_CHECKPOINT, &a, &found, &err);
    if (!rc && !found && !ckpt)
        rc = rk_errf(&err, RK_EINVAL, "trial %lld (%.16s) has no checkpoint recorded (a trial "
                     "imported from elsewhere has none; or give --checkpoint FILE)",
                     (long long)id, t.config_hash);
    if (!rc) rc = rk_store_categories_get(db, id, &cats_rec, &ncats_rec, &err);
    rk_store_close(db);
    char path[1100];
    if (!rc) snprintf(path, sizeof path, "%s", ckpt ? ckpt : a.path);
    /* the file must be the trial's: its record names the trial, its bytes hash to it */
    rk_artifact_use use = {0};
    int state = 0;
    if (!rc) rc = rk_artifact_find(path, RK_ARTIFACT_CHECKPOINT, t.config_hash, &use, &state,
                                   NULL, &err);
    if (!rc && state == 0)
        rc = rk_errf(&err, RK_EINVAL, "%s: no such checkpoint (%s; give --checkpoint FILE)",
                     path, ckpt ? "as given" : "recorded relative to where the sweep ran");
    if (!rc && found && strcmp(use.hash, a.hash))
        rc = rk_errf(&err, RK_EFORMAT, "%s: SHA-256 %.16s, but trial %lld's checkpoint is "
                     "%.16s", path, use.hash, (long long)id, a.hash);
    rk_trial_cfg *tc = calloc(1, sizeof *tc);
    if (!rc && !tc) rc = rk_errf(&err, RK_ENOMEM, "out of memory");
    if (!rc) rc = trial_settings(&t, tc, &err);
    /* a segmenter writes label maps, not COCO detections: not this command's output */
    if (!rc && tc->segment)
        rc = rk_errf(&err, RK_EINVAL, "trial %lld is a segmentation trial (model.task = "
                     "segment): predict writes COCO detections of detector trials only",
                     (long long)t.id);

    /* the images, their ids and the categories (class k is category cats[k]) */
    rk_dataset d = {0};
    rk_source src = {0};
    const rk_image *ims = NULL;
    int64_t *ids = NULL;
    int *cats = NULL;
    size_t n = 0, ncats = 0;
    if (!rc && ann) {
        if (!(rc = rk_dataset_load(&d, images, ann, threads, &err))) {
            ims = d.images, n = d.coco.nimages, ncats = d.coco.ncats;
            ids = malloc((n + 1) * sizeof *ids), cats = malloc((ncats + 1) * sizeof *cats);
            for (size_t i = 0; ids && i < n; i++) ids[i] = d.coco.images[i].id;
            for (size_t k = 0; cats && k < ncats; k++) cats[k] = (int)d.coco.cats[k].id;
        }
    } else if (!rc) {
        if (!(rc = rk_source_load(&src, images, NULL, threads, &err))) {
            ims = src.images, n = src.n, ncats = ncats_rec;
            ids = malloc((n + 1) * sizeof *ids), cats = malloc((ncats + 1) * sizeof *cats);
            for (size_t i = 0; ids && i < n; i++) ids[i] = (int64_t)i + 1;
            for (size_t k = 0; cats && k < ncats; k++) cats[k] = cats_rec[k].id;
        }
        if (!rc && ncats == 0)
            rc = rk_errf(&err, RK_EINVAL, "trial %lld recorded no categories: give --ann FILE "
                         "with them", (long long)id);
    }
    if (!rc && (!ids || !cats)) rc = rk_errf(&err, RK_ENOMEM, "out of memory");

    rk_net *net = NULL;
    rk_det *dets = NULL;
    size_t nd = 0;
    if (!rc) {
        tc->det.model.num_classes = (int)ncats;
        rc = rk_refnet_detector(&net, &tc->det.model, &err);
    }
    if (!rc && (rc = rk_checkpoint_load(net, path, 1, NULL, &err)))
        snprintf(err.msg + strlen(err.msg), sizeof err.msg - strlen(err.msg),
                 " (the detector has %zu classes: %s)", ncats,
                 ann ? "--ann's categories" : "the categories the trial recorded");
    if (!rc) {
        rk_set_threads(threads);
        rc = rk_detector_predict(net, &tc->det, ims, ids, n, cats, tc->policy.pad, threads, &dets,
                                 &nd, &err);
    }
    if (!rc) rc = rk_dets_save(dets, nd, out, &err);
    if (rc) fail(err.msg);
    else
        printf("trial %lld (%s, %s, fraction %g, seed %lld): %zu detections on %zu images -> %s\n",
               (long long)id, t.arm ? t.arm : "-", t.aug ? t.aug : "-", t.fraction,
               (long long)t.seed, nd, n, out);
    free(dets);
    rk_net_free(net);
    free(ids), free(cats), free(cats_rec), free(tc);
    rk_dataset_free(&d);
    rk_source_free(&src);
    rk_artifact_clear(&a);
    rk_trial_clear(&t);
    return rc ? 1 : 0;
}
