#!/usr/bin/python3
"""PyTorch twin of `rethink bench train`: the reference model (bench/torch_refnet.py, the same
network as src/model/refnet.c), one SGD step per batch (momentum 0.9, wd 1e-4) on synthetic
input with the same CenterNet loss. Prints img/s; with --json the last line is one JSON object.
Run with Debian's python3-torch: /usr/bin/python3 bench/torch_train.py [--threads N]
Not part of the product: it exists so the two are compared side by side on the same machine."""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_refnet import RefNet, centernet_loss  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--channels-last", action="store_true",
                    help="NHWC memory format (PyTorch's faster oneDNN path on some machines)")
    ap.add_argument("--bf16", action="store_true",
                    help="mixed precision: forward and loss under CPU autocast to bfloat16 "
                         "(f32 master weights), the twin of rethink's --backend dnnl-bf16")
    ap.add_argument("--family", choices=["plain", "mbconv"], default="plain",
                    help="backbone family, as rethink bench train --family")
    ap.add_argument("--neck", choices=["topdown", "fpn"], default="topdown",
                    help="neck, as rethink bench train --neck")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    m = RefNet(family=a.family, neck=a.neck)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    m = m.to(memory_format=fmt)
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    B, S, C = a.batch, a.size, m.classes
    hs = S // 8
    x = torch.randn(B, 3, S, S).contiguous(memory_format=fmt)
    heat = torch.rand(B, C, hs, hs) * 0.9
    heat[:, :, hs // 2, hs // 2] = 1
    reg = torch.randn(B, 4, hs, hs)
    mask = (torch.rand(B, 1, hs, hs) < 0.1).float()

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
            out = m(x)
        loss = centernet_loss(out.float(), heat, reg, mask, C)
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
    layout = ("channels_last" if a.channels_last else "nchw") + (", bf16" if a.bf16 else "")
    print(f"pytorch {torch.__version__} ({a.family}, {a.neck} neck, {layout}): {ips:.0f} img/s "
          f"({a.threads} threads, batch {B}, {S}x{S})")
    if a.json:
        print(json.dumps({"impl": "pytorch", "version": torch.__version__, "family": a.family,
                          "neck": a.neck,
                          "layout": layout,
                          "img_per_s": round(ips, 1), "threads": a.threads, "batch": B,
                          "size": S, "steps": a.steps, "seconds": round(dt, 3)}))


if __name__ == "__main__":
    main()
