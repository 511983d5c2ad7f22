#!/usr/bin/python3
"""Writes the segmentation fixtures the C tests compare against (tests/fixtures/seg_*.bin),
in tests/gen_fixtures.py's format:
  - seg_head: the segmentation loss as PyTorch computes it — logits at the head's stride,
    F.interpolate(mode='bilinear', align_corners=False) to the input size, then
    F.cross_entropy(ignore_index=255) — with the gradient of the low-resolution logits;
  - seg_miou_*: random label maps (several images of different sizes, ignore pixels, a class
    in neither ground truth nor prediction, a class only predicted) and their mIoU by
    miou_reference below, an independent numpy implementation of PASCAL's protocol written
    from its definition (bincount confusion matrix, nanmean of per-class IoU), not from the C.
Run with Debian's python3-torch: /usr/bin/python3 tests/gen_seg_fixtures.py"""
import numpy as np
import torch
import torch.nn.functional as F

from gen_fixtures import write

IGNORE = 255


def miou_reference(pairs, K):
    """pairs: (gt, pred) integer arrays. Returns (per-class IoU with nan where absent, mIoU)."""
    hist = np.zeros((K, K), dtype=np.int64)
    for gt, pred in pairs:
        keep = gt != IGNORE
        hist += np.bincount(K * gt[keep].astype(np.int64) + pred[keep], minlength=K * K).reshape(K, K)
    tp = np.diag(hist).astype(np.float64)
    union = hist.sum(0) + hist.sum(1) - np.diag(hist)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = tp / union
    return iou, np.nanmean(iou)


def seg_head():
    torch.manual_seed(2024)
    N, K, h, S = 2, 4, 4, 16
    z = (torch.randn(N, K, h, h) * 2).requires_grad_()
    up = F.interpolate(z, size=(S, S), mode="bilinear", align_corners=False)
    labels = torch.randint(0, K, (N, S, S))
    labels[torch.rand(N, S, S) < 0.2] = IGNORE
    loss = F.cross_entropy(up, labels, ignore_index=IGNORE)
    loss.backward()
    dy = torch.randn(N, K, S, S)
    z2 = z.detach().clone().requires_grad_()
    F.interpolate(z2, size=(S, S), mode="bilinear", align_corners=False).backward(dy)
    write("seg_head", {"z": z, "up": up, "labels": labels.float(), "loss": loss, "dz": z.grad,
                       "dy": dy, "dz_up": z2.grad})


def seg_miou(name, rng, K, sizes, agree, drop_class=None, only_pred=None):
    gts, preds = [], []
    for (h, w) in sizes:
        gt = rng.integers(0, K, size=(h, w))
        if drop_class is not None:
            gt[gt == drop_class] = 0
        pred = np.where(rng.random((h, w)) < agree, gt, rng.integers(0, K, size=(h, w)))
        if drop_class is not None:
            pred[pred == drop_class] = 1
        if only_pred is not None:
            gt[gt == only_pred] = 2
        gt[rng.random((h, w)) < 0.1] = IGNORE
        gts.append(gt), preds.append(pred)
    iou, miou = miou_reference(list(zip(gts, preds)), K)
    arr = {"K": np.array([K]), "n": np.array([len(sizes)]), "miou": np.array([miou]),
           "iou": np.nan_to_num(iou, nan=-1.0)}
    for i, (gt, pred) in enumerate(zip(gts, preds)):
        arr[f"gt{i}"] = gt.astype(np.float32)
        arr[f"pred{i}"] = pred.astype(np.float32)
    write(name, {k: torch.as_tensor(np.asarray(v, dtype=np.float32)) for k, v in arr.items()})


def main():
    seg_head()
    rng = np.random.default_rng(7)
    seg_miou("seg_miou_a", rng, 5, [(9, 13), (16, 16), (4, 31)], 0.6)
    seg_miou("seg_miou_b", rng, 11, [(64, 64), (32, 48)], 0.8, drop_class=7, only_pred=9)
    seg_miou("seg_miou_c", rng, 3, [(7, 7)], 0.0)


if __name__ == "__main__":
    main()
