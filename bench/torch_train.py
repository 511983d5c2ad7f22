#!/usr/bin/python3
"""PyTorch twin of `rethink bench train`: the reference model of DESIGN.md, one SGD step per
batch (momentum 0.9, wd 1e-4), synthetic input, same loss terms. Prints img/s; with --json the
last line is one JSON object. Run with Debian's python3-torch: /usr/bin/python3 bench/torch_train.py
Not part of the product: it exists so the two are compared side by side on the same machine."""
import argparse, json, time
import torch
import torch.nn as nn
import torch.nn.functional as F


def cbr(ci, co, s):
    return [nn.Conv2d(ci, co, 3, s, 1, bias=False), nn.BatchNorm2d(co), nn.ReLU(inplace=True)]


class RefNet(nn.Module):
    def __init__(self, classes=10, w=16):
        super().__init__()
        self.s1 = nn.Sequential(*cbr(3, w, 2), *cbr(w, w, 1))
        self.s2 = nn.Sequential(*cbr(w, 2 * w, 2), *cbr(2 * w, 2 * w, 1))
        self.s3 = nn.Sequential(*cbr(2 * w, 4 * w, 2), *cbr(4 * w, 4 * w, 1))
        self.s4 = nn.Sequential(*cbr(4 * w, 8 * w, 2), *cbr(8 * w, 8 * w, 1))
        self.lat = nn.Sequential(nn.Conv2d(8 * w, 4 * w, 1, bias=False), nn.BatchNorm2d(4 * w))
        self.h1 = nn.Conv2d(4 * w, 4 * w, 3, 1, 1)
        self.h2 = nn.Conv2d(4 * w, classes + 4, 1)
        self.classes = classes

    def forward(self, x):
        x = self.s1(x); x = self.s2(x); c3 = self.s3(x); c4 = self.s4(c3)
        p = F.interpolate(self.lat(c4), scale_factor=2, mode="nearest") + c3
        return self.h2(F.relu(self.h1(p)))


def focal(logits, gt):
    p = torch.clamp(torch.sigmoid(logits), 1e-4, 1 - 1e-4)
    pos = gt.eq(1).float()
    neg = 1 - pos
    pl = torch.log(p) * (1 - p) ** 2 * pos
    nl = torch.log(1 - p) * p ** 2 * (1 - gt) ** 4 * neg
    npos = pos.sum()
    return -(pl.sum() + nl.sum()) / torch.clamp(npos, min=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    m = RefNet()
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    B, S, C = a.batch, a.size, m.classes
    x = torch.randn(B, 3, S, S)
    hs = S // 8
    gt = torch.rand(B, C, hs, hs) * 0.9
    gt[:, :, hs // 2, hs // 2] = 1
    reg = torch.randn(B, 4, hs, hs)
    mask = (torch.rand(B, 4, hs, hs) < 0.1).float()

    def step():
        out = m(x)
        loss = focal(out[:, :C], gt) + 0.1 * (mask * (out[:, C:] - reg).abs()).sum() / (mask.sum() + 1e-4)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    for _ in range(a.warmup):
        step()
    t = time.perf_counter()
    for _ in range(a.steps):
        step()
    dt = time.perf_counter() - t
    ips = a.steps * B / dt
    print(f"pytorch {torch.__version__}: {ips:.0f} img/s ({a.threads} threads, batch {B}, {S}x{S})")
    if a.json:
        print(json.dumps({"impl": "pytorch", "version": torch.__version__, "img_per_s": round(ips, 1),
                          "threads": a.threads, "batch": B, "size": S}))


if __name__ == "__main__":
    main()
