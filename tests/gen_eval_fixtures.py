#!/usr/bin/python3
"""Writes the COCO evaluation fixtures the C tests compare against (tests/fixtures/eval/).

    /usr/bin/python3 tests/gen_eval_fixtures.py

Each case is a directory with gt.json (COCO instances), dt.json (COCO results) and
expected.json (the 12 stats and per-category AP computed by tests/coco_reference.py, the
independent numpy implementation). Cases are random but seeded, and each stresses what
pycocotools gets subtle about: crowds, score ties (within and across images), GT `area` fields
on and off the w*h of their box and exactly at 32² and 96², boxes on an integer grid (IoU ties
and IoUs exactly at thresholds), more than 100 detections per image, categories with no GT,
with only crowd GT or with nothing at all, ids out of order in the files, and an annotation with
id 0, ground truth partly outside its image (pycocotools scores it unchanged), and more
categories than one numpy summation block holds. The fixtures are committed; the test suite needs neither Python nor numpy."""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from coco_reference import STAT_NAMES, evaluate  # noqa: E402

OUT = os.path.join(HERE, "fixtures", "eval")


def r2(v):
    return float(np.round(v, 2))


def gt_box(rng, W, H, cfg):
    """A box inside a W x H image; sizes log-uniform over all area ranges, sometimes exactly
    32x32 or 96x96; on an integer grid when cfg['grid']."""
    u = rng.random()
    if u < cfg.get("p_boundary", 0.0):
        s = 32 if rng.random() < 0.5 else 96
        w = h = float(min(s, W, H))
    else:
        lo, hi = cfg.get("size", (3.0, 300.0))
        w = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        h = w * float(np.exp(rng.uniform(-0.7, 0.7)))
        w, h = min(max(w, 1.0), W), min(max(h, 1.0), H)
    if cfg.get("grid"):
        w, h = float(max(1, round(w))), float(max(1, round(h)))
        x, y = float(rng.integers(0, int(W - w) + 1)), float(rng.integers(0, int(H - h) + 1))
    else:
        w, h = r2(w), r2(h)
        x, y = r2(rng.uniform(0, W - w)), r2(rng.uniform(0, H - h))
        w, h = min(w, r2(W - x)), min(h, r2(H - y))
    if "p_outside" in cfg and rng.random() < cfg["p_outside"]:
        # partly outside the image, as COCO files in the wild have them (pycocotools does not
        # validate boxes): past the left/top edge or the right/bottom one, still overlapping
        f = rng.uniform(0.1, 0.7)
        if rng.random() < 0.5:
            x = r2(-f * w) if rng.random() < 0.5 else r2(W - (1 - f) * w)
        if rng.random() < 0.5:
            y = r2(-f * h) if rng.random() < 0.5 else r2(H - (1 - f) * h)
    return [x, y, w, h]


def gt_area(rng, box, cfg):
    """COCO's `area` is the mask's: usually below w*h; sometimes exactly 32² or 96²."""
    u = rng.random()
    if u < cfg.get("p_area_boundary", 0.0):
        return float(rng.choice([1024.0, 9216.0]))
    if u < 0.5:
        return box[2] * box[3]
    return r2(box[2] * box[3] * rng.uniform(0.4, 1.0)) or 0.01


def det_near(rng, box, cfg):
    if cfg.get("grid"):
        if rng.random() < 0.3:
            return list(box)  # exact duplicates: IoU 1 and IoU ties between GTs
        j = rng.integers(-3, 4, size=4)
        return [box[0] + j[0], box[1] + j[1], max(0.0, box[2] + j[2]), max(0.0, box[3] + j[3])]
    s = cfg.get("jitter", 0.12)
    return [r2(box[0] + s * box[2] * rng.normal()), r2(box[1] + s * box[3] * rng.normal()),
            r2(max(0.0, box[2] * (1 + s * rng.normal()))),
            r2(max(0.0, box[3] * (1 + s * rng.normal())))]


def det_random(rng, W, H, cfg):
    if cfg.get("grid"):
        w, h = float(rng.integers(0, 40)), float(rng.integers(0, 40))
        return [float(rng.integers(-5, W)), float(rng.integers(-5, H)), w, h]
    w = r2(np.exp(rng.uniform(np.log(2), np.log(350))))
    h = r2(w * np.exp(rng.uniform(-0.7, 0.7)))
    return [r2(rng.uniform(-20, W)), r2(rng.uniform(-20, H)), w, h]


def score(rng, cfg, good):
    q = cfg.get("score_step", 0.001)
    s = rng.uniform(0.3, 1.0) if good else rng.uniform(0.0, 0.8)
    return float(np.round(np.round(s / q) * q, 6))


def make_case(seed, cfg):
    rng = np.random.default_rng(seed)
    n_img, cat_ids = cfg["images"], list(cfg["cats"])
    gt_cats = cfg.get("gt_cats", cat_ids)        # categories that may get GT
    dt_cats = cfg.get("dt_cats", cat_ids)        # categories that may get detections
    crowd_only = set(cfg.get("crowd_only", []))  # categories whose GT is all crowd
    img_ids = [int(v) for v in rng.choice(np.arange(1, 10 * n_img + 1), n_img, replace=False)]
    images, anns, dets = [], [], []
    for iid in img_ids:
        W = int(rng.integers(*cfg.get("img_w", (200, 700))))
        H = int(rng.integers(*cfg.get("img_h", (150, 600))))
        images.append({"id": iid, "file_name": f"img{iid}.jpg", "width": W, "height": H})
        n_gt = 0 if rng.random() < cfg.get("p_empty", 0.1) else int(rng.integers(*cfg["gt"]))
        boxes = []
        for _ in range(n_gt):
            c = int(rng.choice(gt_cats))
            crowd = c in crowd_only or rng.random() < cfg.get("p_crowd", 0.05)
            b = gt_box(rng, W, H, cfg)
            anns.append({"image_id": iid, "category_id": c, "bbox": b,
                         "area": gt_area(rng, b, cfg), "iscrowd": int(crowd)})
            boxes.append((b, c))
        n_dt = int(rng.integers(*cfg["dt"]))
        if rng.random() < cfg.get("p_many", 0.0):
            n_dt = int(rng.integers(101, 260))
        for j in range(n_dt):
            if boxes and j < cfg.get("near", 2.0) * len(boxes):
                b, c = boxes[j % len(boxes)]
                if c not in dt_cats or rng.random() < 0.1:
                    c = int(rng.choice(dt_cats))
                dets.append({"image_id": iid, "category_id": c, "bbox": det_near(rng, b, cfg),
                             "score": score(rng, cfg, True)})
            else:
                dets.append({"image_id": iid, "category_id": int(rng.choice(dt_cats)),
                             "bbox": det_random(rng, W, H, cfg), "score": score(rng, cfg, False)})
    # File order is not id order: annotations and detections shuffled, ids scattered.
    ann_ids = rng.choice(np.arange(1, 10 * max(1, len(anns)) + 1), len(anns), replace=False)
    for a, i in zip(anns, ann_ids):
        a["id"] = int(i)
    if cfg.get("gt_id_zero"):  # a non-crowd GT that detections overlap
        next(a for a in anns if not a["iscrowd"])["id"] = 0
    anns = [anns[i] for i in rng.permutation(len(anns))]
    dets = [dets[i] for i in rng.permutation(len(dets))]
    cats = [{"id": c, "name": f"cat{c}"} for c in rng.permutation(cat_ids).tolist()]
    images = [images[i] for i in rng.permutation(len(images))]
    return {"images": images, "annotations": anns, "categories": cats}, dets


CASES = {
    "basic": (11, dict(images=30, cats=[1, 2, 3, 4], gt=(1, 8), dt=(0, 30), p_crowd=0.05)),
    "ties_grid": (12, dict(images=25, cats=[3, 1], gt=(1, 10), dt=(0, 40), grid=True,
                           img_w=(40, 90), img_h=(40, 90), size=(4, 40), p_crowd=0.15,
                           score_step=0.1, near=3.0)),
    "dense": (13, dict(images=8, cats=[5, 9], gt=(15, 40), dt=(150, 300), size=(3, 120),
                       score_step=0.01, near=3.0)),
    "areas": (14, dict(images=40, cats=[2, 7, 4], gt=(1, 6), dt=(0, 20), p_boundary=0.4,
                       p_area_boundary=0.3, score_step=0.01)),
    "sparse_missing": (15, dict(images=60, cats=[10, 20, 30, 40, 50, 60], gt_cats=[10, 20, 40],
                                dt_cats=[10, 30, 40, 50], crowd_only=[40], gt=(0, 4), dt=(0, 6),
                                p_empty=0.4, p_crowd=0.1)),
    "many_per_image": (16, dict(images=12, cats=[1, 2, 3], gt=(10, 60), dt=(20, 90),
                                p_many=0.5, size=(3, 100), score_step=0.02, near=2.5)),
    "gt_id_zero": (17, dict(images=6, cats=[1, 2], gt=(2, 6), dt=(2, 10), gt_id_zero=True)),
    # 12 categories: AP averages 10 x 101 x 12 = 12,120 values, more than numpy's 8192-element
    # reduction block, so the blocked pairwise summation is exercised.
    "many_categories": (19, dict(images=40, cats=list(range(1, 13)), gt=(2, 12), dt=(5, 40),
                                 p_crowd=0.03, score_step=0.001)),
    # issue 20: ground truth partly outside its image, accepted and scored unchanged
    "outside_image": (20, dict(images=30, cats=[1, 2, 3], gt=(1, 8), dt=(0, 25), p_crowd=0.05,
                               p_outside=0.4, score_step=0.01)),
    "mixed_large": (18, dict(images=120, cats=[8, 1, 5, 3, 2, 13, 21, 34], gt=(0, 10),
                             dt=(0, 45), p_crowd=0.05, p_boundary=0.05, p_area_boundary=0.05,
                             p_many=0.03, score_step=0.005)),
}


def main():
    for name, (seed, cfg) in CASES.items():
        gt, dets = make_case(seed, cfg)
        stats, cat_ap = evaluate(gt, dets)
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "gt.json"), "w") as f:
            json.dump(gt, f, separators=(",", ":"))
        with open(os.path.join(d, "dt.json"), "w") as f:
            f.write("[\n" + ",\n".join(json.dumps(x, separators=(",", ":")) for x in dets)
                    + "\n]\n")
        with open(os.path.join(d, "expected.json"), "w") as f:
            json.dump({"case": name, "seed": seed, "generator": "tests/gen_eval_fixtures.py",
                       "reference": "tests/coco_reference.py",
                       "stats": dict(zip(STAT_NAMES, stats)),
                       "cat_ap": {str(c): v for c, v in cat_ap.items()}}, f, indent=1)
            f.write("\n")
        n_many = sum(1 for i in gt["images"]
                     if sum(1 for x in dets if x["image_id"] == i["id"]) > 100)
        print(f"{name}: {len(gt['images'])} images, {len(gt['annotations'])} GT "
              f"({sum(a['iscrowd'] for a in gt['annotations'])} crowd), {len(dets)} dets "
              f"({n_many} images with >100), AP {stats[0]:.4f} AP50 {stats[1]:.4f} "
              f"APs {stats[3]:.4f} ARl {stats[11]:.4f}")


if __name__ == "__main__":
    main()
