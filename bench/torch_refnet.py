"""The reference model of DESIGN.md in PyTorch (both backbone families, model.family = plain
or mbconv), parameter for parameter the same as
src/model/refnet.c (same names, same order of operations), plus the CenterNet loss as
rk_centernet_loss computes it. Used by bench/torch_train.py (speed) and
tests/gen_fixtures.py (gradient fixtures). Not part of the product."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class ConvBN(nn.Module):
    def __init__(self, ci, co, k, s):
        super().__init__()
        self.conv = nn.Conv2d(ci, co, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(co)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Stem(nn.Module):
    """MBConv family's first layer: conv3x3/2 + BN + swish."""
    def __init__(self, ci, co):
        super().__init__()
        self.conv = nn.Conv2d(ci, co, 3, 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(co)

    def forward(self, x):
        return F.silu(self.bn(self.conv(x)))


class ConvBNAct(nn.Module):
    """conv (bias-free, optionally depthwise) + BN + swish (or nothing when act is False)."""
    def __init__(self, ci, co, k, s, groups=1, act=True):
        super().__init__()
        self.conv = nn.Conv2d(ci, co, k, s, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(co)
        self.act = act

    def forward(self, x):
        y = self.bn(self.conv(x))
        return F.silu(y) if self.act else y


class SE(nn.Module):
    def __init__(self, c, r):
        super().__init__()
        self.reduce = nn.Conv2d(c, r, 1)
        self.expand = nn.Conv2d(r, c, 1)

    def forward(self, x):
        g = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.expand(F.silu(self.reduce(g))))


class MBConv(nn.Module):
    """src/model/refnet.c's mbconv(): expand 1x1, depthwise 3x3, SE, project 1x1, residual."""
    EXPAND = 4  # RK_MBCONV_EXPAND

    def __init__(self, ci, co, stride):
        super().__init__()
        e = ci * self.EXPAND
        self.expand = ConvBNAct(ci, e, 1, 1)
        self.dw = ConvBNAct(e, e, 3, stride, groups=e)
        self.se = SE(e, max(1, ci // 4))
        self.project = ConvBNAct(e, co, 1, 1, act=False)
        self.residual = stride == 1 and ci == co

    def forward(self, x):
        y = self.project(self.se(self.dw(self.expand(x))))
        return y + x if self.residual else y


class RefNet(nn.Module):
    def __init__(self, classes=10, width=16, depth=2, head_stride=8, in_channels=3,
                 family="plain", neck="topdown"):
        super().__init__()
        self.classes = classes
        ci = in_channels
        for s in range(4):
            ch = width << s
            blocks = []
            for i in range(depth):
                if family == "plain":
                    blocks.append(ConvBN(ci, ch, 3, 2 if i == 0 else 1))
                elif s == 0 and i == 0:
                    blocks.append(Stem(ci, ch))
                else:
                    blocks.append(MBConv(ci, ch, 2 if i == 0 else 1))
                ci = ch
            setattr(self, f"stage{s + 1}", nn.Sequential(*blocks))
        self.neck = nn.ModuleDict()
        self.fpn = neck == "fpn"
        hc = width << {4: 1, 8: 2, 16: 3}[head_stride]
        levels = [s for s in (2, 1, 0) if (2 << s) >= head_stride]
        if self.fpn:  # src/model/refnet.c's neck_fpn(): parameters neck.fpn.in{s+1}, out
            fpn = nn.ModuleDict({f"in{s + 1}": ConvBN(width << s, hc, 1, 1) for s in [3] + levels})
            fpn["out"] = ConvBN(hc, hc, 3, 1)
            self.neck["fpn"] = fpn
            ci = hc
        for s in levels if not self.fpn else []:
            self.neck[f"lat{s + 2}"] = ConvBN(ci, width << s, 1, 1)
            ci = width << s
        self.head = nn.ModuleDict({"conv": nn.Conv2d(ci, ci, 3, 1, 1),
                                   "out": nn.Conv2d(ci, classes + 4, 1)})

    def forward(self, x):
        feats = []
        for s in range(4):
            x = getattr(self, f"stage{s + 1}")(x)
            feats.append(x)
        if self.fpn:
            fpn = self.neck["fpn"]
            p = fpn["in4"](x)
            for s in (2, 1, 0):
                if f"in{s + 1}" in fpn:
                    p = F.interpolate(p, scale_factor=2, mode="nearest") + fpn[f"in{s + 1}"](feats[s])
            return self.head["out"](F.relu(self.head["conv"](fpn["out"](p))))
        p = x
        for name, lat in self.neck.items():
            s = int(name[3:]) - 2
            p = F.interpolate(lat(p), scale_factor=2, mode="nearest") + feats[s]
        return self.head["out"](F.relu(self.head["conv"](p)))


def focal_loss(logits, gt):
    p = torch.clamp(torch.sigmoid(logits), 1e-4, 1 - 1e-4)
    pos = gt.eq(1).float()
    pl = (torch.log(p) * (1 - p) ** 2 * pos).sum()
    nl = (torch.log(1 - p) * p ** 2 * (1 - gt) ** 4 * (1 - pos)).sum()
    return -(pl + nl) / torch.clamp(pos.sum(), min=1)


def masked_l1(pred, target, mask):
    return (mask * (pred - target).abs()).sum() / (mask.sum() + 1e-4)


def centernet_loss(out, heat_gt, reg_gt, reg_mask, classes, w_size=0.1, w_off=1.0):
    m = reg_mask.expand(-1, 2, -1, -1)
    size = masked_l1(out[:, classes:classes + 2], reg_gt[:, 0:2], m)
    off = masked_l1(out[:, classes + 2:classes + 4], reg_gt[:, 2:4], m)
    return focal_loss(out[:, :classes], heat_gt) + w_size * size + w_off * off
