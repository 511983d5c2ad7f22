#!/usr/bin/python3
"""Writes the PyTorch reference fixtures the C tests compare against (tests/fixtures/*.bin).

Run with Debian's python3-torch (scripts/install-deps.sh --torch):
    /usr/bin/python3 tests/gen_fixtures.py [--only mbconv|fpn]
The fixtures are committed; the test suite never needs PyTorch. Format (little-endian), read
by tests/fixture.c: b"RKFX", u32 count; per array: u32 name_len, name, u32 ndim, i32 dims,
f32 data. Inputs, weights, outputs and every gradient are stored, so a test recomputes from
the same inputs and compares."""
import os
import struct
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bench"))
from torch_refnet import RefNet, centernet_loss, focal_loss, masked_l1  # noqa: E402

OUT = os.path.join(HERE, "fixtures")


def write(name, arrays):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name + ".bin"), "wb") as f:
        f.write(b"RKFX" + struct.pack("<I", len(arrays)))
        for key, t in arrays.items():
            t = torch.as_tensor(t).detach().to(torch.float32).contiguous()
            shape = list(t.shape) or [1]
            f.write(struct.pack("<I", len(key)) + key.encode())
            f.write(struct.pack("<I", len(shape)) + struct.pack(f"<{len(shape)}i", *shape))
            f.write(t.numpy().astype("<f4").tobytes())


def leaf(*shape, scale=1.0):
    return (torch.randn(*shape) * scale).requires_grad_()


def conv(name, n, c, h, w, oc, k, s, bias):
    x, wt = leaf(n, c, h, w), leaf(oc, c, k, k, scale=0.3)
    b = leaf(oc) if bias else None
    y = F.conv2d(x, wt, b, s, k // 2)
    dy = torch.randn_like(y)
    y.backward(dy)
    arr = {"x": x, "w": wt, "y": y, "dy": dy, "dx": x.grad, "dw": wt.grad}
    if bias:
        arr.update({"b": b, "db": b.grad})
    write(name, arr)


def nt_xent(z, tau):
    """SimCLR's loss as its reference implementations write it: cosine similarities over tau,
    the diagonal excluded, cross-entropy towards the other view."""
    m = z.shape[0]
    u = F.normalize(z, dim=1)
    s = (u @ u.t() / tau).masked_fill(torch.eye(m, dtype=torch.bool), float("-inf"))
    pos = torch.cat([torch.arange(m // 2, m), torch.arange(0, m // 2)])
    return F.cross_entropy(s, pos)


def training_step(name, net, N, S, stride=8):
    """One full training step of net (batch N, S x S input, head stride `stride`), then the
    losses of 10 SGD steps (lr 0.01, momentum 0.9, weight decay 1e-4 on everything)."""
    for mod in net.modules():  # non-trivial BN parameters and statistics
        if isinstance(mod, torch.nn.BatchNorm2d):
            with torch.no_grad():
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.normal_(0, 0.1)
    with torch.no_grad():  # CenterNet's heatmap prior, as rk_refnet_init does
        net.head["out"].bias[:net.classes] = -2.19
    C = net.classes
    hs = S // stride
    x = torch.randn(N, 3, S, S)
    heat = torch.rand(N, C, hs, hs) * 0.9
    for n in range(N):
        heat[n, n % C, (n * 3) % hs, (n * 5) % hs] = 1
    reg = torch.randn(N, 4, hs, hs)
    mask = (torch.rand(N, 1, hs, hs) < 0.15).float()
    state = {k: v.clone() for k, v in net.state_dict().items() if "num_batches" not in k}
    out = net(x)
    loss = centernet_loss(out, heat, reg, mask, C)
    loss.backward()
    # Clone at capture time: the SGD steps below update these tensors in place.
    arr = {"x": x, "heat": heat, "reg": reg, "mask": mask, "out": out.detach().clone(),
           "loss": loss.detach().clone()}
    for k, v in state.items():
        arr["param:" + k] = v
    for k, v in net.named_parameters():
        arr["grad:" + k] = v.grad.clone()
    for k, v in net.state_dict().items():
        if "running" in k:
            arr["after:" + k] = v.clone()
    net.load_state_dict(state, strict=False)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = centernet_loss(net(x), heat, reg, mask, C)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    arr["losses10"] = torch.tensor(losses)
    write(name, arr)


def mbconv_fixtures():
    """The MBConv family's ops (depthwise conv, swish, sigmoid, channel scale) and one training
    step of a small MBConv detector. Seeded on their own, so that writing them leaves the
    other fixtures unchanged (gen_fixtures.py --only mbconv)."""
    torch.manual_seed(4321)
    for name, (n, c, h, w, s) in {"dwconv_k3s1": (2, 4, 7, 7, 1), "dwconv_k3s2": (2, 5, 9, 9, 2),
                                  "dwconv_k3s2_even": (2, 3, 8, 8, 2)}.items():
        x, wt = leaf(n, c, h, w), leaf(c, 1, 3, 3, scale=0.3)
        y = F.conv2d(x, wt, None, s, 1, groups=c)
        dy = torch.randn_like(y)
        y.backward(dy)
        write(name, {"x": x, "w": wt, "y": y, "dy": dy, "dx": x.grad, "dw": wt.grad})
    for name, fn in {"swish": F.silu, "sigmoid": torch.sigmoid}.items():
        x = leaf(2, 3, 4, 5, scale=3.0)
        y = fn(x)
        dy = torch.randn_like(y)
        y.backward(dy)
        write(name, {"x": x, "y": y, "dy": dy, "dx": x.grad})
    x, sc = leaf(2, 3, 4, 5), leaf(2, 3, 1, 1)
    y = x * sc
    dy = torch.randn_like(y)
    y.backward(dy)
    write("chscale", {"x": x, "s": sc, "y": y, "dy": dy, "dx": x.grad, "ds": sc.grad})
    torch.manual_seed(98)
    training_step("mbconv_step", RefNet(width=8, depth=2, family="mbconv"), 8, 64)


def fpn_fixtures():
    """One training step of a small detector with the FPN neck (model.neck = fpn), seeded on
    its own (gen_fixtures.py --only fpn)."""
    torch.manual_seed(97)
    training_step("fpn_step", RefNet(width=8, head_stride=4, neck="fpn"), 8, 64, stride=4)


def main():
    only = {"mbconv": mbconv_fixtures, "fpn": fpn_fixtures}
    if sys.argv[1:2] == ["--only"] and len(sys.argv) == 3 and sys.argv[2] in only:
        only[sys.argv[2]]()
        print(f"wrote the {sys.argv[2]} fixtures to {OUT}")
        return
    torch.manual_seed(1234)
    conv("conv_k3s1_bias", 2, 3, 7, 7, 4, 3, 1, True)
    conv("conv_k3s2", 2, 4, 9, 9, 5, 3, 2, False)
    conv("conv_k3s2_even", 2, 4, 8, 8, 5, 3, 2, False)
    conv("conv_k1s1", 2, 6, 5, 5, 3, 1, 1, False)

    # Batch norm, training mode (batch statistics, running-stat update) and eval mode.
    bn = torch.nn.BatchNorm2d(3)
    with torch.no_grad():
        bn.weight.copy_(torch.rand(3) + 0.5)
        bn.bias.copy_(torch.randn(3))
        bn.running_mean.copy_(torch.randn(3))
        bn.running_var.copy_(torch.rand(3) + 0.5)
    rm0, rv0 = bn.running_mean.clone(), bn.running_var.clone()
    x = leaf(4, 3, 5, 5, scale=2.0)
    y = bn(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    bn.eval()
    ye = bn(x.detach())
    write("bn", {"x": x, "gamma": bn.weight, "beta": bn.bias, "rm0": rm0, "rv0": rv0,
                 "y": y, "dy": dy, "dx": x.grad, "dgamma": bn.weight.grad,
                 "dbeta": bn.bias.grad, "rm1": bn.running_mean, "rv1": bn.running_var,
                 "y_eval": ye})

    x = leaf(2, 3, 4, 5)
    y = F.relu(x)
    dy = torch.randn_like(y)
    y.backward(dy)
    write("relu", {"x": x, "y": y, "dy": dy, "dx": x.grad})

    x = leaf(2, 3, 7, 6)
    y = F.max_pool2d(x, 3, 2, 1)
    dy = torch.randn_like(y)
    y.backward(dy)
    write("maxpool_k3s2p1", {"x": x, "y": y, "dy": dy, "dx": x.grad})

    x = leaf(2, 3, 4, 5)
    y = F.adaptive_avg_pool2d(x, 1)
    dy = torch.randn_like(y)
    y.backward(dy)
    write("gap", {"x": x, "y": y, "dy": dy, "dx": x.grad})

    x = leaf(2, 3, 3, 4)
    y = F.interpolate(x, scale_factor=2, mode="nearest")
    dy = torch.randn_like(y)
    y.backward(dy)
    write("upsample2", {"x": x, "y": y, "dy": dy, "dx": x.grad})

    a, b = leaf(2, 3, 4, 4), leaf(2, 3, 4, 4)
    y = a + b
    dy = torch.randn_like(y)
    y.backward(dy)
    write("add", {"a": a, "b": b, "y": y, "dy": dy, "da": a.grad, "db": b.grad})

    x, wt, bb = leaf(5, 7), leaf(4, 7, scale=0.3), leaf(4)
    y = F.linear(x, wt, bb)
    dy = torch.randn_like(y)
    y.backward(dy)
    write("linear", {"x": x, "w": wt, "b": bb, "y": y, "dy": dy, "dx": x.grad, "dw": wt.grad,
                     "db": bb.grad})

    z = leaf(6, 5, scale=2.0)
    labels = torch.tensor([0, 4, 2, 2, 1, 3])
    loss = F.cross_entropy(z, labels)
    loss.backward()
    write("softmax_xent", {"logits": z, "labels": labels.float(), "loss": loss, "dlogits": z.grad})

    z = leaf(2, 3, 6, 6, scale=3.0)
    gt = torch.rand(2, 3, 6, 6) * 0.95
    gt[0, 1, 2, 3] = gt[1, 0, 4, 4] = gt[1, 2, 0, 5] = 1
    z.data[0, 0, 0, 0] = 12.0  # clamped: sigmoid > 1 - 1e-4, no gradient
    loss = focal_loss(z, gt)
    loss.backward()
    write("focal", {"logits": z, "gt": gt, "loss": loss, "dlogits": z.grad})

    p, t = leaf(2, 4, 5, 5), torch.randn(2, 4, 5, 5)
    m = (torch.rand(2, 4, 5, 5) < 0.3).float()
    loss = masked_l1(p, t, m)
    loss.backward()
    write("masked_l1", {"pred": p, "target": t, "mask": m, "loss": loss, "dpred": p.grad})

    # One full training step of the reference model (default configuration, batch 8), then
    # the losses of 10 SGD steps.
    torch.manual_seed(99)
    training_step("refnet_step", RefNet(), 8, 64)
    mbconv_fixtures()
    fpn_fixtures()

    # NT-Xent (SimCLR, Chen et al. 2020): 2N = 8 embeddings, rows i and i + N the two views
    # of one image; its own generator, so the fixtures above stay byte for byte as they were.
    g = torch.Generator().manual_seed(4321)
    z = (torch.randn(8, 5, generator=g) * 1.5).requires_grad_()
    tau = 0.5
    loss = nt_xent(z, tau)
    loss.backward()
    write("nt_xent", {"z": z, "tau": torch.tensor([tau]), "loss": loss, "dz": z.grad})
    print(f"wrote fixtures to {OUT}")


if __name__ == "__main__":
    main()
