#!/usr/bin/env python3
"""A stand-in external trainer for tests (plain python3, no torch): it "trains" a trial by
writing detections made from the val ground truth with seeded noise, so a trial's AP is known
to depend on its config (seed, arm) and nothing else, and it misbehaves on request.

    tiny_trainer.py --config CONFIG.json --out DIR [--mode MODE] [--sleep S] [--noise F]

MODE: ok (the default); fail (a message on stderr, exit 3); nodets (exit 0 without
detections.json); malformed (a detections.json that is not COCO results); sleep (sleep S
seconds first, then ok; with a child of its own that sleeps 10 minutes, so a test can see that the
whole process group goes). Every mode writes DIR/pid (its pid and its child's) first.

It checks the contract as it goes: RETHINK_CONFIG and RETHINK_OUT equal the arguments, the
working directory is DIR, and a student's teacher folder holds the teacher's detections.
"""
import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mode", default="ok")
    ap.add_argument("--sleep", type=float, default=0.0)
    ap.add_argument("--noise", type=float, default=0.15)
    a = ap.parse_args()
    pids = [os.getpid()]
    child = None
    if a.sleep > 0:
        child = subprocess.Popen(["sleep", "600"])  # outlives it unless killed
        pids.append(child.pid)
    with open(os.path.join(a.out, "pid"), "w") as f:
        f.write(" ".join(map(str, pids)) + "\n")
    if os.environ.get("RETHINK_CONFIG") != a.config or os.environ.get("RETHINK_OUT") != a.out:
        sys.exit("tiny_trainer: RETHINK_CONFIG / RETHINK_OUT differ from --config / --out")
    if os.path.realpath(os.getcwd()) != os.path.realpath(a.out):
        sys.exit("tiny_trainer: not run in its out folder")
    with open(a.config) as f:
        cfg = json.load(f)
    print("tiny_trainer: %s %s fraction %g seed %d, %d labelled images"
          % (cfg["arm"], cfg["aug"], cfg["fraction"], cfg["seed"], len(cfg["labelled_ids"])))
    if cfg["arm_info"]["teacher_arm"]:
        t = cfg["teacher"]
        if not t or not os.path.exists(os.path.join(t["out"], "detections.json")):
            sys.exit("tiny_trainer: a student without its teacher's detections")
    if a.mode == "sleep":
        time.sleep(a.sleep)
    if a.mode == "fail":
        sys.stderr.write("tiny_trainer: warming up\n")
        sys.stderr.write("tiny_trainer: failing as asked\n")
        sys.exit(3)
    if a.mode == "nodets":
        return
    if a.mode == "malformed":
        with open(os.path.join(a.out, "detections.json"), "w") as f:
            f.write('[{"image_id": 1, "category_id": 1, "bbox": [1, 2]}')
        return
    with open(cfg["data"]["val_annotations"]) as f:
        gt = json.load(f)
    # the noise depends on the trial's identity only: the same trial gives the same AP
    rng = random.Random(int(hashlib.sha256(cfg["hash"].encode()).hexdigest()[:12], 16))
    dets = []
    for g in gt["annotations"]:
        x, y, w, h = g["bbox"]
        n = a.noise
        dets.append({"image_id": g["image_id"], "category_id": g["category_id"],
                     "bbox": [x + rng.gauss(0, n * w), y + rng.gauss(0, n * h),
                              w * (1 + rng.gauss(0, n)) if w > 0 else w,
                              h * (1 + rng.gauss(0, n)) if h > 0 else h],
                     "score": rng.random()})
    for d in dets:
        d["bbox"][2] = max(d["bbox"][2], 0.5)
        d["bbox"][3] = max(d["bbox"][3], 0.5)
    with open(os.path.join(a.out, "detections.json"), "w") as f:
        json.dump(dets, f)
    with open(os.path.join(a.out, "metrics.json"), "w") as f:
        json.dump({"labelled_images": len(cfg["labelled_ids"]),
                   "loss": [1.0, 0.5, 0.25],
                   "dev_AP": [[10, 0.1], [20, 0.2]]}, f)
    if child:
        child.kill()


if __name__ == "__main__":
    main()
