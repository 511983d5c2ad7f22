#!/usr/bin/python3
"""An independent numpy implementation of COCO bbox evaluation, pycocotools' semantics.

It is the yardstick for src/eval/cocoeval.c: tests/gen_eval_fixtures.py runs it on random
ground truth and detections and commits the results as fixtures that the C tests compare
against. It is written from PAPER.md §5 and pycocotools' COCOeval source (evaluate,
evaluateImg, accumulate, summarize; maskApi's bbIou), keeping pycocotools' own structure — a
dict per (image, category), the matching loop literally, accumulate over concatenated arrays
with np.argsort(kind='mergesort'), np.searchsorted, np.mean — and none of the C code's
shortcuts (one sort per category, compressed precision curves, bit sets). pycocotools itself
is not needed (nor installed).

Usage:  /usr/bin/python3 tests/coco_reference.py GT.json DT.json [--json]
prints the 12 stats (and with --json one JSON line with them, the per-category AP and the
time taken)."""
import json
import sys
import time
from collections import defaultdict

import numpy as np

STAT_NAMES = ["AP", "AP50", "AP75", "APs", "APm", "APl",
              "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]

# Params.setDetParams
IOU_THRS = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
REC_THRS = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)
MAX_DETS = [1, 10, 100]
AREA_RNG = [[0 ** 2, 1e5 ** 2], [0 ** 2, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]]
AREA_LBL = ["all", "small", "medium", "large"]


def bbox_iou(dt, gt, iscrowd):
    """maskApi.c bbIou: (D, G) matrix; crowd GT -> intersection over the detection's area.
    Elementwise numpy float64 in the C code's operation order (so the same rounding)."""
    d = np.asarray(dt, dtype=np.float64).reshape(-1, 4)[:, None, :]
    g = np.asarray(gt, dtype=np.float64).reshape(-1, 4)[None, :, :]
    crowd = np.asarray(iscrowd, dtype=bool)[None, :]
    da = d[..., 2] * d[..., 3]
    ga = g[..., 2] * g[..., 3]
    w = np.fmin(d[..., 2] + d[..., 0], g[..., 2] + g[..., 0]) - np.fmax(d[..., 0], g[..., 0])
    h = np.fmin(d[..., 3] + d[..., 1], g[..., 3] + g[..., 1]) - np.fmax(d[..., 1], g[..., 1])
    i = w * h
    u = np.where(crowd, da, da + ga - i)
    with np.errstate(divide="ignore", invalid="ignore"):
        o = i / u
    return np.where((w <= 0) | (h <= 0), 0.0, o)


def load(gt_json, dt_list):
    """COCO() + loadRes(): GT grouped per (image, category) in file order, ignore = iscrowd;
    detections get id = index + 1, area = w * h, iscrowd = 0. Unknown image or category ids
    in the detections are errors (pycocotools asserts on images; we refuse both)."""
    img_ids = sorted(im["id"] for im in gt_json["images"])
    cat_ids = sorted(c["id"] for c in gt_json["categories"])
    known_img, known_cat = set(img_ids), set(cat_ids)
    gts, dts = defaultdict(list), defaultdict(list)
    for a in gt_json["annotations"]:
        g = dict(a)
        g["iscrowd"] = int(g.get("iscrowd", 0))
        g["ignore"] = g["iscrowd"]
        if "area" not in g:
            g["area"] = g["bbox"][2] * g["bbox"][3]
        gts[g["image_id"], g["category_id"]].append(g)
    for n, r in enumerate(dt_list):
        if r["image_id"] not in known_img or r["category_id"] not in known_cat:
            raise ValueError(f"detection {n}: unknown image or category")
        bb = r["bbox"]
        d = {"id": n + 1, "image_id": r["image_id"], "category_id": r["category_id"],
             "bbox": bb, "score": r["score"], "area": bb[2] * bb[3], "iscrowd": 0}
        dts[d["image_id"], d["category_id"]].append(d)
    return img_ids, cat_ids, gts, dts


def compute_iou(gt, dt):
    if len(gt) == 0 and len(dt) == 0:
        return []
    inds = np.argsort([-d["score"] for d in dt], kind="mergesort")
    dt = [dt[i] for i in inds][:MAX_DETS[-1]]
    if len(gt) == 0 or len(dt) == 0:
        return []
    return bbox_iou([d["bbox"] for d in dt], [g["bbox"] for g in gt],
                    [g["iscrowd"] for g in gt])


def evaluate_img(gt, dt, ious, a_rng, max_det):
    if len(gt) == 0 and len(dt) == 0:
        return None
    g_ignore = [1 if (g["ignore"] or g["area"] < a_rng[0] or g["area"] > a_rng[1]) else 0
                for g in gt]
    gtind = np.argsort(g_ignore, kind="mergesort")
    gt = [gt[i] for i in gtind]
    g_ignore = [g_ignore[i] for i in gtind]
    dtind = np.argsort([-d["score"] for d in dt], kind="mergesort")
    dt = [dt[i] for i in dtind[0:max_det]]
    iscrowd = [int(o["iscrowd"]) for o in gt]
    ious = ious[:, gtind] if len(ious) > 0 else ious
    T, G, D = len(IOU_THRS), len(gt), len(dt)
    gtm = np.zeros((T, G))
    dtm = np.zeros((T, D))
    gt_ig = np.array(g_ignore)
    dt_ig = np.zeros((T, D))
    if not len(ious) == 0:
        for tind, t in enumerate(IOU_THRS):
            for dind, d in enumerate(dt):
                iou = min([t, 1 - 1e-10])
                m = -1
                for gind, g in enumerate(gt):
                    if gtm[tind, gind] > 0 and not iscrowd[gind]:
                        continue
                    if m > -1 and gt_ig[m] == 0 and gt_ig[gind] == 1:
                        break
                    if ious[dind, gind] < iou:
                        continue
                    iou = ious[dind, gind]
                    m = gind
                if m == -1:
                    continue
                dt_ig[tind, dind] = gt_ig[m]
                dtm[tind, dind] = gt[m]["id"]
                gtm[tind, m] = d["id"]
    a = np.array([d["area"] < a_rng[0] or d["area"] > a_rng[1] for d in dt]).reshape((1, D))
    dt_ig = np.logical_or(dt_ig, np.logical_and(dtm == 0, np.repeat(a, T, 0)))
    return {"dtMatches": dtm, "dtScores": [d["score"] for d in dt],
            "gtIgnore": gt_ig, "dtIgnore": dt_ig}


def evaluate(gt_json, dt_list):
    """Returns (stats[12], {category id: AP}) exactly as COCOeval.evaluate/accumulate/
    summarize would for iouType='bbox' with default Params."""
    img_ids, cat_ids, gts, dts = load(gt_json, dt_list)
    ious = {(i, c): compute_iou(gts[i, c], dts[i, c]) for i in img_ids for c in cat_ids}
    eval_imgs = [evaluate_img(gts[i, c], dts[i, c], ious[i, c], a_rng, MAX_DETS[-1])
                 for c in cat_ids for a_rng in AREA_RNG for i in img_ids]

    T, R, K, A, M = len(IOU_THRS), len(REC_THRS), len(cat_ids), len(AREA_RNG), len(MAX_DETS)
    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    I0, A0 = len(img_ids), len(AREA_RNG)
    for k in range(K):
        for a in range(A):
            for m, max_det in enumerate(MAX_DETS):
                E = [eval_imgs[k * A0 * I0 + a * I0 + i] for i in range(I0)]
                E = [e for e in E if e is not None]
                if len(E) == 0:
                    continue
                dt_scores = np.concatenate([e["dtScores"][0:max_det] for e in E])
                inds = np.argsort(-dt_scores, kind="mergesort")
                dtm = np.concatenate([e["dtMatches"][:, 0:max_det] for e in E], axis=1)[:, inds]
                dt_ig = np.concatenate([e["dtIgnore"][:, 0:max_det] for e in E], axis=1)[:, inds]
                gt_ig = np.concatenate([e["gtIgnore"] for e in E])
                npig = np.count_nonzero(gt_ig == 0)
                if npig == 0:
                    continue
                tps = np.logical_and(dtm, np.logical_not(dt_ig))
                fps = np.logical_and(np.logical_not(dtm), np.logical_not(dt_ig))
                tp_sum = np.cumsum(tps, axis=1).astype(dtype=np.float64)
                fp_sum = np.cumsum(fps, axis=1).astype(dtype=np.float64)
                for t, (tp, fp) in enumerate(zip(tp_sum, fp_sum)):
                    nd = len(tp)
                    rc = tp / npig
                    pr = tp / (fp + tp + np.spacing(1))
                    q = np.zeros((R,))
                    recall[t, k, a, m] = rc[-1] if nd else 0
                    pr = pr.tolist()
                    q = q.tolist()
                    for i in range(nd - 1, 0, -1):
                        if pr[i] > pr[i - 1]:
                            pr[i - 1] = pr[i]
                    inds = np.searchsorted(rc, REC_THRS, side="left")
                    try:
                        for ri, pi in enumerate(inds):
                            q[ri] = pr[pi]
                    except IndexError:
                        pass
                    precision[t, :, k, a, m] = np.array(q)

    def summarize(ap, iou_thr=None, area="all", max_dets=100):
        aind = [i for i, lbl in enumerate(AREA_LBL) if lbl == area]
        mind = [i for i, md in enumerate(MAX_DETS) if md == max_dets]
        if ap == 1:
            s = precision
            if iou_thr is not None:
                s = s[np.where(iou_thr == IOU_THRS)[0]]
            s = s[:, :, :, aind, mind]
        else:
            s = recall
            if iou_thr is not None:
                s = s[np.where(iou_thr == IOU_THRS)[0]]
            s = s[:, :, aind, mind]
        return -1.0 if len(s[s > -1]) == 0 else float(np.mean(s[s > -1]))

    stats = [summarize(1), summarize(1, iou_thr=.5), summarize(1, iou_thr=.75),
             summarize(1, area="small"), summarize(1, area="medium"), summarize(1, area="large"),
             summarize(0, max_dets=1), summarize(0, max_dets=10), summarize(0, max_dets=100),
             summarize(0, area="small"), summarize(0, area="medium"), summarize(0, area="large")]
    cat_ap = {}
    for k, c in enumerate(cat_ids):
        p = precision[:, :, k, 0, -1]
        p = p[p > -1]
        cat_ap[c] = float(np.mean(p)) if p.size else -1.0
    return stats, cat_ap


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 2:
        sys.exit(__doc__)
    with open(args[0]) as f:
        gt_json = json.load(f)
    with open(args[1]) as f:
        dt_list = json.load(f)
    t0 = time.perf_counter()
    stats, cat_ap = evaluate(gt_json, dt_list)
    dt = time.perf_counter() - t0
    for name, v in zip(STAT_NAMES, stats):
        print(f"{name:>6} = {v:.3f}")
    print(f"reference eval: {dt:.2f} s")
    if "--json" in sys.argv:
        out = {"impl": "numpy-reference", "seconds": dt}
        out.update({name: v for name, v in zip(STAT_NAMES, stats)})
        out["cat_ap"] = {str(c): v for c, v in cat_ap.items()}
        print(json.dumps(out))


if __name__ == "__main__":
    main()
