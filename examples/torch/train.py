#!/usr/bin/python3
"""An external trainer for rethink in PyTorch (CPU), to copy and adapt: it trains one trial
from the config rethink writes, with the recipe of rethink's built-in engine, and writes what
rethink scores ({out}/detections.json) and records ({out}/metrics.json). README "Use your own
trainer" is the contract; examples/torch/tiny.ini runs a small grid with it.

    [trainer]
    command = /usr/bin/python3 {dir}/train.py --config {config} --out {out}

What it implements, as src/arms and src/model do:
  - the model: bench/torch_refnet.py, the same network as src/model/refnet.c parameter for
    parameter (so a copy of this example takes that file along), initialised as
    rk_refnet_init does (Kaiming normal, fan out; the heatmap bias at -2.19);
  - CenterNet targets (Gaussian heatmaps, sizes and offsets in output cells) and loss
    (focal + train.w_size x size L1 + train.w_off x offset L1), top-k decoding of 3x3 peaks;
  - SGD with momentum, weight decay on convolution weights only (train.decay_all = 0),
    linear warm-up from train.warmup_init then cosine to zero, gradient-norm clipping;
    train.steps, or train.epochs over the labelled subset, at train.batch;
  - augmentation: horizontal flip and scale jitter with the reference's resize-and-crop
    (policies S1 of experiments/augment.ini); a policy with AutoAugment or RandAugment ops is
    refused (exit 2) rather than trained as something else;
  - arms: scratch; pretrain (the backbone pre-trained as a classifier on the source's
    labelled images, pretrain.* and its policy, kept in the trial's backbone_dir for every
    trial of that pre-training config; the detector fine-tunes from it); selftrain and
    pretrain+selftrain (the teacher's checkpoint from its {out}: pseudo-labels on the source
    images at selftrain.threshold, the student starts from the teacher, B labelled +
    selftrain.pseudo_batch pseudo-labelled images per step, Appendix B's loss normalisation,
    selftrain.steps_scale of the budget); continue and pretrain+continue (the controls: as
    the students, with labelled images only);
  - not implemented, refused (exit 2): AutoAugment/RandAugment policies, the dev split and
    the plateau schedule (train.dev, train.schedule = plateau).
Not the same bits: augmentation is bilinear resizing by PIL, not rethink's fixed-point
resampler; the random streams (and so the source hold-out and the initial weights) are
numpy's and PyTorch's; BatchNorm is PyTorch's. Results agree in
distribution, not to the digit (README has both side by side).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
from torch_refnet import RefNet, centernet_loss  # noqa: E402

MEAN = np.array([0.485, 0.456, 0.406], np.float32)  # ImageNet's, as src/arms/common.c
STD = np.array([0.229, 0.224, 0.225], np.float32)


def refuse(msg):
    sys.stderr.write("examples/torch: " + msg + "\n")
    sys.exit(2)


# ---- data ----
def load_coco(path):
    with open(path) as f:
        d = json.load(f)
    cats = sorted(c["id"] for c in d["categories"])
    cls = {c: i for i, c in enumerate(cats)}
    boxes = {im["id"]: [] for im in d["images"]}
    for a in d["annotations"]:
        if not a.get("iscrowd", 0):
            boxes[a["image_id"]].append(list(a["bbox"]) + [cls[a["category_id"]]])
    files = {im["id"]: im["file_name"] for im in d["images"]}
    return files, boxes, cats


def load_image(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8)


def resize_crop(img, boxes, S, s, flip, ux, uy, pad):
    """As rk_aug_jitter_geometry + rk_aug_resize_crop: scale to fit s*S keeping the aspect,
    crop S x S at a random offset where larger, pad the rest; boxes follow."""
    ih, iw = img.shape[:2]
    if flip:
        img = img[:, ::-1]
        boxes = [[iw - x - w, y, w, h, c] for x, y, w, h, c in boxes]
    th, tw = round(s * S), round(s * S)
    sc = min(th / ih, tw / iw)
    rh, rw = max(1, round(ih * sc)), max(1, round(iw * sc))
    oy = int((rh - S) * uy) if rh > S else 0
    ox = int((rw - S) * ux) if rw > S else 0
    r = np.asarray(Image.fromarray(np.ascontiguousarray(img)).resize((rw, rh), Image.BILINEAR))
    out = np.empty((S, S, 3), np.uint8)
    out[:] = np.array(pad, np.uint8)
    part = r[oy:oy + S, ox:ox + S]
    out[:part.shape[0], :part.shape[1]] = part
    fy, fx = rh / ih, rw / iw
    moved = [[x * fx - ox, y * fy - oy, w * fx, h * fy, c] for x, y, w, h, c in boxes]
    return out, moved, (fx, fy)


def clip_boxes(boxes, S, min_size, min_visible):
    kept = []
    for x, y, w, h, c in boxes:
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, S), min(y + h, S)
        if x1 - x0 < min_size or y1 - y0 < min_size:
            continue
        if w * h > 0 and (x1 - x0) * (y1 - y0) / (w * h) < min_visible:
            continue
        kept.append([x0, y0, x1 - x0, y1 - y0, c])
    return kept


def to_input(img):
    return torch.from_numpy(((img.astype(np.float32) / 255 - MEAN) / STD).transpose(2, 0, 1).copy())


# ---- CenterNet targets and decoding (src/model/centernet.c) ----
def gaussian_radius(h, w, o=0.7):
    b1, c1 = h + w, w * h * (1 - o) / (1 + o)
    r1 = (b1 + math.sqrt(b1 * b1 - 4 * c1)) / 2
    b2, c2 = 2 * (h + w), (1 - o) * w * h
    r2 = (b2 + math.sqrt(b2 * b2 - 16 * c2)) / 2
    a3, b3, c3 = 4 * o, -2 * o * (h + w), (o - 1) * w * h
    r3 = (b3 + math.sqrt(b3 * b3 - 4 * a3 * c3)) / 2
    return min(r1, r2, r3)


def encode(boxes, C, H, W, stride):
    heat = np.zeros((C, H, W), np.float32)
    reg = np.zeros((4, H, W), np.float32)
    mask = np.zeros((1, H, W), np.float32)
    for x, y, w, h, c in boxes:
        if not (w > 0 and h > 0):
            continue
        cx, cy = (x + w / 2) / stride, (y + h / 2) / stride
        ix, iy = int(math.floor(cx)), int(math.floor(cy))
        if ix < 0 or iy < 0 or ix >= W or iy >= H:
            continue
        ow, oh = w / stride, h / stride
        r = max(0, int(gaussian_radius(math.ceil(oh), math.ceil(ow))))
        sigma = (2 * r + 1) / 6.0
        ys, xs = np.ogrid[-r:r + 1, -r:r + 1]
        g = np.exp(-(xs * xs + ys * ys) / (2 * sigma * sigma)).astype(np.float32)
        y0, y1, x0, x1 = max(iy - r, 0), min(iy + r + 1, H), max(ix - r, 0), min(ix + r + 1, W)
        sub = g[y0 - (iy - r):y1 - (iy - r), x0 - (ix - r):x1 - (ix - r)]
        heat[c, y0:y1, x0:x1] = np.maximum(heat[c, y0:y1, x0:x1], sub)
        reg[:, iy, ix] = [ow, oh, cx - ix, cy - iy]
        mask[0, iy, ix] = 1
    return heat, reg, mask


def decode(out, C, stride, topk, scale, size):
    """Top-k 3x3 peaks of one image's output (C + 4, H, W) as boxes in image pixels."""
    H, W = out.shape[1:]
    z = out[:C]
    peaks = z == F.max_pool2d(z[None], 3, 1, 1)[0]
    score = torch.where(peaks, torch.sigmoid(z), torch.zeros_like(z)).flatten()
    k = min(topk, int(peaks.sum()))
    val, idx = torch.topk(score, k)
    dets = []
    for v, i in zip(val.tolist(), idx.tolist()):
        c, pos = divmod(i, H * W)
        y, x = divmod(pos, W)
        cx, cy = (x + float(out[C + 2, y, x])) * stride, (y + float(out[C + 3, y, x])) * stride
        w, h = abs(float(out[C, y, x])) * stride, abs(float(out[C + 1, y, x])) * stride
        x0, y0 = max((cx - w / 2) / scale[0], 0), max((cy - h / 2) / scale[1], 0)
        x1, y1 = min((cx + w / 2) / scale[0], size[0]), min((cy + h / 2) / scale[1], size[1])
        dets.append((x0, y0, max(x1 - x0, 0), max(y1 - y0, 0), v, c))
    return dets


@torch.no_grad()
def predict(model, images, S, stride, C, topk, pad):
    """[(key, image)] -> {key: [(x, y, w, h, score, cls)]}, as rk_detector_predict."""
    model.eval()
    res = {}
    for at in range(0, len(images), 32):
        chunk = images[at:at + 32]
        xs, meta = [], []
        for key, img in chunk:
            crop, _, sc = resize_crop(img, [], S, 1.0, False, 0, 0, pad)
            xs.append(to_input(crop))
            meta.append((key, sc, (img.shape[1], img.shape[0])))
        out = model(torch.stack(xs))
        for o, (key, sc, size) in zip(out, meta):
            res[key] = decode(o, C, stride, topk, sc, size)
    return res


# ---- training (src/arms/detector.c) ----
def lr_at(step, base, warm_init, warm, total):
    if step < warm:
        return base * (warm_init + (1 - warm_init) * step / warm)
    if total <= warm:
        return base
    t = min((step - warm) / (total - warm), 1.0)
    return 0.5 * base * (1 + math.cos(math.pi * t))


class Stream:
    """An endless sequence of seeded permutations: element k is in epoch k // n."""

    def __init__(self, n, seed):
        self.n, self.seed, self.epoch, self.perm = n, seed, -1, None

    def at(self, k):
        e = k // self.n
        if e != self.epoch:
            self.perm = np.random.default_rng([self.seed, e]).permutation(self.n)
            self.epoch = e
        return int(self.perm[k % self.n]), e


def make_batch(items, stream, start, n, policy, S, C, stride, seed):
    xs, hs, rs, ms = [], [], [], []
    for k in range(start, start + n):
        i, epoch = stream.at(k)
        img, boxes = items[i]
        rng = np.random.default_rng([seed, epoch, i])
        s = rng.uniform(policy["scale"][0], policy["scale"][1])
        flip = rng.random() < policy["flip"]
        crop, moved, _ = resize_crop(img, boxes, S, s, flip, rng.random(), rng.random(),
                                     policy["pad"])
        kept = clip_boxes(moved, S, policy["min_size"], policy["min_visible"])
        h, r, m = encode(kept, C, S // stride, S // stride, stride)
        xs.append(to_input(crop))
        hs.append(torch.from_numpy(h)), rs.append(torch.from_numpy(r)), ms.append(torch.from_numpy(m))
    return torch.stack(xs), torch.stack(hs), torch.stack(rs), torch.stack(ms)


def train(model, labelled, pseudo, t, log):
    B, Bp = t["batch"], (t["pseudo_batch"] if pseudo else 0)
    S, C, stride = t["size"], t["classes"], t["stride"]
    decay = [p for p in model.parameters() if p.dim() > 1 or t["decay_all"]]
    rest = [p for p in model.parameters() if not (p.dim() > 1 or t["decay_all"])]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": t["weight_decay"]},
                           {"params": rest, "weight_decay": 0.0}],
                          lr=t["lr"], momentum=t["momentum"])
    spe = (len(labelled) + t["batch_labelled"] - 1) // t["batch_labelled"]
    total = t["steps"] if t["steps"] > 0 else spe * t["epochs"]
    warm = int(t["warmup_frac"] * total)
    lab = Stream(len(labelled), t["seed"])
    pst = Stream(len(pseudo), t["seed"] ^ 0x7073657564) if pseudo else None
    ema_h = ema_p = 0.0
    sums, t0 = [], time.time()
    model.train()
    for step in range(total):
        x, h, r, m = make_batch(labelled, lab, step * B, B, t["policy"], S, C, stride, t["seed"])
        if Bp:
            xp, hp, rp, mp = make_batch(pseudo, pst, step * Bp, Bp, t["policy"], S, C, stride,
                                        t["seed"] ^ 0x9E3779B97F4A7C15)
            x = torch.cat([x, xp])
        for g in opt.param_groups:
            g["lr"] = lr_at(step, t["lr"], t["warmup_init"], warm, total)
        out = model(x)
        lh = centernet_loss(out[:B], h, r, m, C, t["w_size"], t["w_off"])
        loss = lh
        if Bp:
            lp = centernet_loss(out[B:], hp, rp, mp, C, t["w_size"], t["w_off"])
            d = t["ema_decay"]
            ema_h = lh.item() if step == 0 else d * ema_h + (1 - d) * lh.item()
            ema_p = lp.item() if step == 0 else d * ema_p + (1 - d) * lp.item()
            a = t["alpha"]
            if t["normalize"]:
                loss = (lh + a * (ema_h / ema_p if ema_p > 0 else 1) * lp) / (1 + a)
            else:
                loss = lh + a * lp
        if not torch.isfinite(loss):
            sys.exit("examples/torch: training diverged at step %d" % step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if t["clip"] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), t["clip"])
        opt.step()
        sums.append(lh.item())
        if (step + 1) % spe == 0 or step + 1 == total:
            log["loss"].append([step + 1, sum(sums) / len(sums)])
            print("step %d/%d loss %.4f (%.1f img/s)" % (step + 1, total, sum(sums) / len(sums),
                  (step + 1) * (B + Bp) / (time.time() - t0)), flush=True)
            sums = []
    return total


# ---- pre-training the backbone on the source (src/arms/classifier.c, stages.c) ----
class Classifier(torch.nn.Module):
    """The detector's backbone (stage1..4, the same parameter names) + global average pool
    + linear: rk_refnet_classifier."""

    def __init__(self, det, classes):
        super().__init__()
        for s in range(4):
            setattr(self, "stage%d" % (s + 1), getattr(det, "stage%d" % (s + 1)))
        self.fc = torch.nn.Linear(getattr(det, "stage4")[-1].conv.out_channels, classes)

    def forward(self, x):
        for s in range(4):
            x = getattr(self, "stage%d" % (s + 1))(x)
        return self.fc(x.mean(dim=(2, 3)))


def backbone(cfg, num, make_model, S, seed):
    """The pre-trained backbone's state dict (stage* parameters): read from the trial's
    backbone_dir, or trained on the source's labelled images first and placed there without
    ever replacing a file another trial placed (trials of one pre-training config share it)."""
    path = os.path.join(cfg["backbone_dir"], "backbone.pt")
    if os.path.exists(path):
        print("backbone: %s (trained before)" % path, flush=True)
        return torch.load(path)
    d = cfg["data"]
    rows = [ln.split(",") for ln in open(d["source_labels"]).read().splitlines()[1:]]
    rows = [(r[0], int(r[1])) for r in rows if len(r) > 1 and r[1].strip()]
    classes = sorted({c for _, c in rows})
    cls = {c: i for i, c in enumerate(classes)}
    rng = np.random.default_rng([seed, 0x686f6c64])
    held = rng.random(len(rows)) < num("pretrain.holdout")
    items = [(load_image(os.path.join(d["source_images"], n)), []) for n, _ in rows]
    labels = [cls[c] for _, c in rows]
    train_i = [i for i in range(len(rows)) if not held[i]]
    net = Classifier(make_model(), len(classes))
    with torch.no_grad():  # rk_net_init_params: the linear layer as every weight, bias 0
        torch.nn.init.kaiming_normal_(net.fc.weight, mode="fan_out", nonlinearity="relu")
        net.fc.bias.zero_()
    pol = cfg["pretrain_policy"]
    B, epochs, lr = int(num("pretrain.batch")), int(num("pretrain.epochs")), num("pretrain.lr")
    decay = [p for p in net.parameters() if p.dim() > 1 or int(num("train.decay_all"))]
    rest = [p for p in net.parameters() if not (p.dim() > 1 or int(num("train.decay_all")))]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": num("pretrain.weight_decay")},
                           {"params": rest, "weight_decay": 0.0}],
                          lr=lr, momentum=num("train.momentum"))
    spe = (len(train_i) + B - 1) // B
    total = spe * epochs
    warm = int(num("pretrain.warmup_frac") * total)
    stream = Stream(len(train_i), seed)
    net.train()
    for step in range(total):
        xs, ys = [], []
        for k in range(step * B, step * B + B):
            j, epoch = stream.at(k)
            i = train_i[j]
            r = np.random.default_rng([seed, epoch, i])
            crop, _, _ = resize_crop(items[i][0], [], S, r.uniform(*pol["scale"]),
                                     r.random() < pol["flip"], r.random(), r.random(), pol["pad"])
            xs.append(to_input(crop))
            ys.append(labels[i])
        for g in opt.param_groups:
            g["lr"] = lr_at(step, lr, num("train.warmup_init"), warm, total)
        loss = F.cross_entropy(net(torch.stack(xs)), torch.tensor(ys))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if num("train.clip") > 0:
            torch.nn.utils.clip_grad_norm_(net.parameters(), num("train.clip"))
        opt.step()
        if (step + 1) % spe == 0:
            print("pre-training epoch %d/%d loss %.4f" % ((step + 1) // spe, epochs, loss.item()),
                  flush=True)
    net.eval()
    test = [i for i in range(len(rows)) if held[i]]
    with torch.no_grad():
        hits = sum(int(net(to_input(resize_crop(items[i][0], [], S, 1.0, False, 0, 0,
                                                pol["pad"])[0])[None]).argmax()) == labels[i]
                   for i in test)
    acc = hits / len(test) if test else float("nan")
    state = {k: v for k, v in net.state_dict().items() if k.startswith("stage")}
    tmp = "%s.%d.tmp" % (path, os.getpid())
    torch.save(state, tmp)
    try:
        os.link(tmp, path)  # never replaces: a backbone another trial placed first stays
    except FileExistsError:
        state = torch.load(path)
    os.remove(tmp)
    with open(os.path.join(cfg["backbone_dir"], "accuracy.%d.json" % os.getpid()), "w") as f:
        json.dump({"source_acc": acc, "held_out": len(test)}, f)
    print("backbone: held-out source accuracy %.3f on %d images" % (acc, len(test)), flush=True)
    return state


def init_as_rethink(model, classes):
    """rk_refnet_init: Kaiming normal (fan out, gain sqrt 2) for every weight of 2+
    dimensions, BatchNorm weights 1, biases 0, and the heatmap channels' bias -2.19
    (CenterNet's prior: sigmoid(-2.19) = 0.1)."""
    for name, p in model.named_parameters():
        with torch.no_grad():
            if p.dim() >= 2:
                torch.nn.init.kaiming_normal_(p, mode="fan_out", nonlinearity="relu")
            else:
                p.fill_(1.0 if name.endswith("weight") else 0.0)
    if hasattr(model, "head"):
        with torch.no_grad():
            model.head["out"].bias[:classes] = -2.19


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(a.config) as f:
        cfg = json.load(f)
    c = cfg["config"]
    num = lambda k: float(c[k])  # noqa: E731
    info = cfg["arm_info"]
    for p in [cfg["policy"]] + ([cfg["pretrain_policy"]] if info["pretrained"] else []):
        if p["ops"] != "none":
            refuse("policy %s uses %s ops; this example implements flip and scale jitter "
                   "only" % (p["name"], p["ops"]))
    if c.get("train.schedule", "cosine") != "cosine" or int(num("train.dev")) > 0:
        refuse("only the fixed cosine schedule without a dev split is implemented")
    seed = int(cfg["seed"])
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, int(cfg["threads"])))
    d = cfg["data"]
    files, boxes, cats = load_coco(d["train_annotations"])
    labelled = [(load_image(os.path.join(d["train_images"], files[i])), boxes[i])
                for i in cfg["labelled_ids"]]
    S, C = int(num("data.size")), len(cats)
    stride = int(num("model.head_stride"))
    def make_model():
        m = RefNet(classes=C, width=int(num("model.width")), depth=int(num("model.depth")),
                   head_stride=stride)
        init_as_rethink(m, C)
        return m
    model = make_model()
    if info["pretrained"] and not info["teacher_arm"]:
        # the pretrain arm fine-tunes from the backbone; its students start from it (their
        # teacher), so they need no backbone of their own
        missing, _ = model.load_state_dict(backbone(cfg, num, make_model, S, seed), strict=False)
        print("fine-tuning from the backbone (%d tensors not in it)" % len(missing), flush=True)
    t = {"size": S, "classes": C, "stride": stride, "seed": seed, "policy": cfg["policy"],
         "batch": int(num("train.batch")), "epochs": int(num("train.epochs")),
         "steps": int(num("train.steps")), "lr": num("train.lr"),
         "warmup_init": num("train.warmup_init"), "warmup_frac": num("train.warmup_frac"),
         "momentum": num("train.momentum"), "weight_decay": num("train.weight_decay"),
         "decay_all": int(num("train.decay_all")), "clip": num("train.clip"),
         "w_size": num("train.w_size"), "w_off": num("train.w_off"),
         "pseudo_batch": int(num("selftrain.pseudo_batch")), "alpha": num("selftrain.alpha"),
         "normalize": int(num("selftrain.normalize")), "ema_decay": num("selftrain.ema_decay")}
    t["batch_labelled"] = t["batch"]
    scale = num("train.steps_scale") if "train.steps_scale" in c else 1.0
    key = "steps" if t["steps"] > 0 else "epochs"
    t[key] = max(1, round(t[key] * scale))
    pseudo = None
    log = {"loss": []}
    if info["teacher_arm"]:
        # a student (or its control): the teacher's budget times selftrain.steps_scale, from
        # the teacher's weights unless selftrain.init = random
        t[key] = max(1, round(t[key] * num("selftrain.steps_scale")))
        teacher = make_model()
        teacher.load_state_dict(torch.load(os.path.join(cfg["teacher"]["out"], "model.pt")))
        if c.get("selftrain.init", "teacher") == "teacher":
            model.load_state_dict(teacher.state_dict())
        if info["pseudo"]:
            names = [ln.split(",")[0] for ln in open(d["source_labels"]).read().splitlines()[1:]]
            src = [(n, load_image(os.path.join(d["source_images"], n))) for n in names]
            got = predict(teacher, src, S, stride, C, int(num("train.topk")), cfg["policy"]["pad"])
            thr = num("selftrain.threshold")
            keep_empty = int(num("selftrain.keep_empty"))
            pseudo = []
            for n, img in src:
                bx = [[x, y, w, h, cl] for x, y, w, h, s, cl in got[n] if s >= thr and w > 0 and h > 0]
                if bx or keep_empty:
                    pseudo.append((img, bx))
            log["pseudo_images"] = len(pseudo)
            log["pseudo_boxes"] = sum(len(b) for _, b in pseudo)
            print("pseudo-labels: %d of %d source images kept, %d boxes"
                  % (len(pseudo), len(src), log["pseudo_boxes"]), flush=True)
            if not pseudo:
                pseudo = None
        else:
            # the control: as many images per step as its student, all labelled, same steps
            if t["steps"] <= 0:
                t["steps"] = ((len(labelled) + t["batch"] - 1) // t["batch"]) * t["epochs"]
            t["batch"] += t["pseudo_batch"]
    t0 = time.process_time()
    steps = train(model, labelled, pseudo, t, log)
    torch.save(model.state_dict(), os.path.join(a.out, "model.pt"))
    vfiles, _, vcats = load_coco(d["val_annotations"])
    val = [(i, load_image(os.path.join(d["val_images"], f))) for i, f in vfiles.items()]
    got = predict(model, val, S, stride, C, int(num("train.topk")), cfg["policy"]["pad"])
    dets = [{"image_id": i, "category_id": vcats[cl], "bbox": [x, y, w, h], "score": s}
            for i, ds in got.items() for x, y, w, h, s, cl in ds]
    with open(os.path.join(a.out, "detections.json"), "w") as f:
        json.dump(dets, f)
    log["steps"] = steps
    log["train_cpu_s"] = time.process_time() - t0
    with open(os.path.join(a.out, "metrics.json"), "w") as f:
        json.dump(log, f)


if __name__ == "__main__":
    main()
