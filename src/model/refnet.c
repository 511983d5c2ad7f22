/* The reference model of DESIGN.md, built on rk_net, and the CenterNet detection loss.
 *
 *   stage s (1..4): depth x [conv3x3 (stride 2 on the first) + BN + ReLU], width*2^(s-1) ch
 *   (model.family = mbconv: stage 1 is a stem conv3x3/2 + BN + swish and depth-1 MBConv
 *   blocks, stages 2..4 depth MBConv blocks, the first of stride 2; see mbconv())
 *   neck: from stage 4 down to the head stride: conv1x1 + BN + ReLU to the shallower
 *         stage's width, nearest upsample x2, add that stage
 *         (model.neck = fpn: laterals conv1x1 + BN + ReLU to the head's width on every
 *         stage from 4 to the head stride, upsample-and-add top-down, conv3x3 + BN + ReLU)
 *   head: conv3x3 (bias) + ReLU, conv1x1 (bias) -> C heatmaps + 2 size + 2 offset
 *   classifier: global average pool on stage 4 + linear.
 *   SimCLR: global average pool on stage 4 + the projection head, linear (stage 4's
 *           channels, as a 1x1 conv with bias) + ReLU + linear (proj_dim). */
#include <stdio.h>
#include <string.h>

#include "rethink/model.h"

rk_refnet_cfg rk_refnet_default(void)
{
    rk_refnet_cfg c = {.width = 16, .depth = 2, .in_size = 64, .in_channels = 3,
                       .head_stride = 8, .num_classes = 10, .family = RK_FAMILY_PLAIN,
                       .neck = RK_NECK_TOPDOWN};
    return c;
}

static int check_cfg(const rk_refnet_cfg *c, rk_err *err)
{
    if (c->width <= 0 || c->width > 1024)
        return rk_errf(err, RK_EINVAL, "model.width must be in 1..1024, got %d", c->width);
    if (c->depth <= 0 || c->depth > 8)
        return rk_errf(err, RK_EINVAL, "model.depth must be in 1..8, got %d", c->depth);
    if (c->in_size < 16 || c->in_size % 16)
        return rk_errf(err, RK_EINVAL, "model.in_size must be a multiple of 16 (>= 16), got %d",
                       c->in_size);
    if (c->in_channels <= 0)
        return rk_errf(err, RK_EINVAL, "model.in_channels must be positive, got %d", c->in_channels);
    if (c->head_stride != 4 && c->head_stride != 8 && c->head_stride != 16)
        return rk_errf(err, RK_EINVAL, "model.head_stride must be 4, 8 or 16, got %d",
                       c->head_stride);
    if (!rk_family_name(c->family))
        return rk_errf(err, RK_EINVAL, "model.family must be plain or mbconv, got %d", c->family);
    if (!rk_neck_name(c->neck))
        return rk_errf(err, RK_EINVAL, "model.neck must be topdown or fpn, got %d", c->neck);
    if (c->num_classes <= 0)
        return rk_errf(err, RK_EINVAL, "model.num_classes must be positive, got %d",
                       c->num_classes);
    return RK_OK;
}

const char *rk_family_name(int family)
{
    return family == RK_FAMILY_PLAIN ? "plain" : family == RK_FAMILY_MBCONV ? "mbconv" : NULL;
}

int rk_family_parse(const char *name)
{
    return !strcmp(name, "plain")    ? RK_FAMILY_PLAIN
           : !strcmp(name, "mbconv") ? RK_FAMILY_MBCONV
                                     : -1;
}

const char *rk_neck_name(int neck)
{
    return neck == RK_NECK_TOPDOWN ? "topdown" : neck == RK_NECK_FPN ? "fpn" : NULL;
}

int rk_neck_parse(const char *name)
{
    return !strcmp(name, "topdown") ? RK_NECK_TOPDOWN : !strcmp(name, "fpn") ? RK_NECK_FPN : -1;
}

/* name = prefix.what; the prefixes here are short ("stageS.I"), so it always fits. */
static void sub(char *name, size_t n, const char *prefix, const char *what)
{
    if (snprintf(name, n, "%s.%s", prefix, what) >= (int)n) name[n - 1] = 0;
}

/* One MBConv block (Tan & Le 2019, EfficientNet) on x (in channels), named prefix.*:
 *   expand conv1x1 (in -> e = in * RK_MBCONV_EXPAND) + BN + swish,
 *   depthwise conv3x3 (stride) + BN + swish,
 *   squeeze-and-excitation: global pool, conv1x1 (e -> max(1, in/4), bias) + swish,
 *       conv1x1 (-> e, bias) + sigmoid, scale the channels,
 *   project conv1x1 (e -> out) + BN (linear: no activation),
 *   + x when stride 1 and in == out. */
static int mbconv(rk_net *net, int x, const char *prefix, int in, int out, int stride)
{
    char name[64];
    int e = in * RK_MBCONV_EXPAND, r = in / 4 > 0 ? in / 4 : 1;
    sub(name, sizeof name, prefix, "expand.conv");
    int h = rk_net_conv(net, x, name, e, 1, 1, 0, 0);
    sub(name, sizeof name, prefix, "expand.bn");
    h = rk_net_swish(net, rk_net_bn(net, h, name, 0));
    sub(name, sizeof name, prefix, "dw.conv");
    h = rk_net_dwconv(net, h, name, 3, stride);
    sub(name, sizeof name, prefix, "dw.bn");
    h = rk_net_swish(net, rk_net_bn(net, h, name, 0));
    sub(name, sizeof name, prefix, "se.reduce");
    int g = rk_net_swish(net, rk_net_conv(net, rk_net_gap(net, h), name, r, 1, 1, 1, 0));
    sub(name, sizeof name, prefix, "se.expand");
    g = rk_net_sigmoid(net, rk_net_conv(net, g, name, e, 1, 1, 1, 0));
    h = rk_net_scale(net, h, g);
    sub(name, sizeof name, prefix, "project.conv");
    h = rk_net_conv(net, h, name, out, 1, 1, 0, 0);
    sub(name, sizeof name, prefix, "project.bn");
    h = rk_net_bn(net, h, name, 0);
    return stride == 1 && in == out ? rk_net_add(net, h, x) : h;
}

static int backbone_mbconv(rk_net *net, const rk_refnet_cfg *c, int stage_out[4])
{
    char name[64];
    int x = rk_net_conv(net, 0, "stage1.0.conv", c->width, 3, 2, 0, 0);
    x = rk_net_swish(net, rk_net_bn(net, x, "stage1.0.bn", 0));
    int in = c->width;
    for (int s = 0; s < 4; s++) {
        int ch = c->width << s;
        for (int i = s == 0 ? 1 : 0; i < c->depth; i++) {
            snprintf(name, sizeof name, "stage%d.%d", s + 1, i);
            x = mbconv(net, x, name, in, ch, i == 0 ? 2 : 1);
            in = ch;
        }
        stage_out[s] = x;
    }
    return x;
}

/* Builds stages 1..4; stage_out[s] receives the value id of stage s+1's output. */
static int backbone(rk_net *net, const rk_refnet_cfg *c, int stage_out[4])
{
    if (c->family == RK_FAMILY_MBCONV) return backbone_mbconv(net, c, stage_out);
    int x = 0;
    char name[64];
    for (int s = 0; s < 4; s++) {
        int ch = c->width << s;
        for (int i = 0; i < c->depth; i++) {
            snprintf(name, sizeof name, "stage%d.%d.conv", s + 1, i);
            x = rk_net_conv(net, x, name, ch, 3, i == 0 ? 2 : 1, 0, 0);
            snprintf(name, sizeof name, "stage%d.%d.bn", s + 1, i);
            x = rk_net_bn(net, x, name, 1);
        }
        stage_out[s] = x;
    }
    return x;
}

/* *net = an empty net for c's input (NULL on error), after checking c. */
static int start(rk_net **net, const rk_refnet_cfg *c, rk_err *err)
{
    *net = NULL;
    int rc = check_cfg(c, err);
    if (rc) return rc;
    *net = rk_net_create(c->in_channels, c->in_size, c->in_size);
    return *net ? RK_OK : rk_errf(err, RK_ENOMEM, "model: out of memory");
}

/* Finalizes *net; on error frees it and sets *net = NULL. */
static int finish(rk_net **net, rk_err *err)
{
    int rc = rk_net_finalize(*net, err);
    if (rc) rk_net_free(*net), *net = NULL;
    return rc;
}

/* Stage s+1 has stride 2^(s+1); both necks end at the head stride. */
static int neck_topdown(rk_net *net, const rk_refnet_cfg *c, const int st[4], int p)
{
    char name[64];
    for (int s = 2; s >= 0 && (2 << s) >= c->head_stride; s--) {
        int ch = c->width << s;
        snprintf(name, sizeof name, "neck.lat%d.conv", s + 2);
        p = rk_net_conv(net, p, name, ch, 1, 1, 0, 0);
        snprintf(name, sizeof name, "neck.lat%d.bn", s + 2);
        p = rk_net_bn(net, p, name, 1);
        p = rk_net_upsample2(net, p);
        p = rk_net_add(net, p, st[s]);
    }
    return p;
}

/* conv1x1 + BN + ReLU of stage s+1's output to hc channels, named neck.fpn.in{s+1} */
static int fpn_lateral(rk_net *net, int x, int s, int hc)
{
    char name[64];
    snprintf(name, sizeof name, "neck.fpn.in%d.conv", s + 1);
    x = rk_net_conv(net, x, name, hc, 1, 1, 0, 0);
    snprintf(name, sizeof name, "neck.fpn.in%d.bn", s + 1);
    return rk_net_bn(net, x, name, 1);
}

static int neck_fpn(rk_net *net, const rk_refnet_cfg *c, const int st[4], int hc)
{
    int p = fpn_lateral(net, st[3], 3, hc);
    for (int s = 2; s >= 0 && (2 << s) >= c->head_stride; s--)
        p = rk_net_add(net, rk_net_upsample2(net, p), fpn_lateral(net, st[s], s, hc));
    p = rk_net_conv(net, p, "neck.fpn.out.conv", hc, 3, 1, 0, 0);
    return rk_net_bn(net, p, "neck.fpn.out.bn", 1);
}

int rk_refnet_detector(rk_net **out, const rk_refnet_cfg *c, rk_err *err)
{
    int rc = start(out, c, err);
    if (rc) return rc;
    rk_net *net = *out;
    int st[4];
    int p = backbone(net, c, st);
    int hc = c->width << (c->head_stride == 4 ? 1 : c->head_stride == 8 ? 2 : 3);
    p = c->neck == RK_NECK_FPN ? neck_fpn(net, c, st, hc) : neck_topdown(net, c, st, p);
    p = rk_net_conv(net, p, "head.conv", hc, 3, 1, 1, 1);
    rk_net_conv(net, p, "head.out", c->num_classes + 4, 1, 1, 1, 0);
    if (!(rc = finish(out, err))) rk_refnet_init(net, c, 0);
    return rc;
}

int rk_refnet_classifier(rk_net **out, const rk_refnet_cfg *c, rk_err *err)
{
    int rc = start(out, c, err);
    if (rc) return rc;
    int st[4];
    int x = backbone(*out, c, st);
    x = rk_net_gap(*out, x);
    rk_net_linear(*out, x, "cls.fc", c->num_classes);
    return finish(out, err);
}

int rk_refnet_simclr(rk_net **out, const rk_refnet_cfg *c, int proj_dim, rk_err *err)
{
    if (proj_dim <= 0)
        return *out = NULL, rk_errf(err, RK_EINVAL, "simclr.proj_dim must be positive, got %d",
                                    proj_dim);
    int rc = start(out, c, err);
    if (rc) return rc;
    int st[4];
    int x = rk_net_gap(*out, backbone(*out, c, st));
    /* the hidden layer as a 1x1 conv (bias, fused ReLU) on the pooled 1x1 map: the same
     * linear map, and oneDNN takes a linear layer only as the net's output. SimCLR: hidden
     * width = the backbone's */
    x = rk_net_conv(*out, x, "proj.fc1", c->width << 3, 1, 1, 1, 1);
    rk_net_linear(*out, x, "proj.fc2", proj_dim);
    return finish(out, err);
}

void rk_refnet_init(rk_net *net, const rk_refnet_cfg *c, uint64_t seed)
{
    rk_net_init_params(net, seed);
    const rk_tensor_info *b = rk_net_find(net, "head.out.bias");
    if (b)
        for (int i = 0; i < c->num_classes; i++) rk_net_params(net)[b->offset + i] = -2.19f;
}

/* The backbone's MACs for the MBConv family (as mbconv() builds it); *hw, *cin: the last
 * stage's side and channels. */
static double macs_mbconv(const rk_refnet_cfg *c, int *hw_out, int *cin_out)
{
    int hw = c->in_size / 2, cin = c->width;
    double macs = (double)hw * hw * cin * c->in_channels * 9;
    for (int s = 0; s < 4; s++) {
        int ch = c->width << s;
        for (int i = s == 0 ? 1 : 0; i < c->depth; i++) {
            int e = cin * RK_MBCONV_EXPAND, r = cin / 4 > 0 ? cin / 4 : 1;
            macs += (double)hw * hw * cin * e; /* expand, at the input side */
            if (i == 0) hw /= 2;
            macs += (double)hw * hw * e * 9 + 2.0 * e * r + (double)hw * hw * e * ch;
            cin = ch;
        }
    }
    *hw_out = hw, *cin_out = cin;
    return macs;
}

double rk_refnet_macs(const rk_refnet_cfg *c, int detector)
{
    double macs = 0;
    int hw = c->in_size, cin = c->in_channels;
    if (c->family == RK_FAMILY_MBCONV) {
        macs = macs_mbconv(c, &hw, &cin);
    } else {
        for (int s = 0; s < 4; s++) {
            int ch = c->width << s;
            for (int i = 0; i < c->depth; i++) {
                if (i == 0) hw /= 2;
                macs += (double)hw * hw * ch * cin * 9;
                cin = ch;
            }
        }
    }
    if (!detector) return macs + (double)cin * c->num_classes;
    if (c->neck == RK_NECK_FPN) {
        int hc = c->width << (c->head_stride == 4 ? 1 : c->head_stride == 8 ? 2 : 3);
        macs += (double)hw * hw * cin * hc; /* stage 4's lateral */
        for (int s = 2; s >= 0 && (2 << s) >= c->head_stride; s--) {
            hw *= 2;
            macs += (double)hw * hw * (c->width << s) * hc;
        }
        macs += (double)hw * hw * hc * hc * 9; /* the output conv */
        cin = hc;
    } else {
        for (int s = 2; s >= 0 && (2 << s) >= c->head_stride; s--) {
            macs += (double)hw * hw * cin * (c->width << s);
            hw *= 2;
            cin = c->width << s;
        }
    }
    macs += (double)hw * hw * cin * cin * 9 + (double)hw * hw * cin * (c->num_classes + 4);
    return macs;
}

float rk_centernet_loss(float *dout, const float *out, const float *heat_gt,
                        const float *reg_gt, const float *reg_mask, int N, int C, int H,
                        int W, float w_size, float w_off, float *terms, float *scratch)
{
    size_t HW = (size_t)H * W, K = (size_t)C + 4;
    size_t nh = (size_t)N * C * HW, nr = (size_t)N * 2 * HW;
    /* Gather the heat channels and each pair of regression channels contiguously. */
    float *heat = scratch, *dheat = scratch + nh;
    float *reg = scratch + 2 * nh; /* size pred, off pred, size tgt, off tgt, masks, grads */
    for (int n = 0; n < N; n++)
        memcpy(heat + (size_t)n * C * HW, out + n * K * HW, C * HW * sizeof(float));
    float focal = rk_focal_loss(dheat, heat, heat_gt, nh);
    float l1[2];
    for (int j = 0; j < 2; j++) { /* 0: size, 1: offset */
        float *pred = reg, *tgt = reg + nr, *mask = reg + 2 * nr, *dpred = reg + 3 * nr;
        for (int n = 0; n < N; n++)
            for (int ch = 0; ch < 2; ch++) {
                memcpy(pred + ((size_t)n * 2 + ch) * HW, out + (n * K + C + 2 * j + ch) * HW,
                       HW * sizeof(float));
                memcpy(tgt + ((size_t)n * 2 + ch) * HW, reg_gt + ((size_t)n * 4 + 2 * j + ch) * HW,
                       HW * sizeof(float));
                memcpy(mask + ((size_t)n * 2 + ch) * HW, reg_mask + (size_t)n * HW,
                       HW * sizeof(float));
            }
        l1[j] = rk_masked_l1(dpred, pred, tgt, mask, nr);
        float w = j == 0 ? w_size : w_off;
        for (int n = 0; n < N; n++)
            for (int ch = 0; ch < 2; ch++) {
                float *d = dout + (n * K + C + 2 * j + ch) * HW;
                const float *s = dpred + ((size_t)n * 2 + ch) * HW;
                for (size_t i = 0; i < HW; i++) d[i] = w * s[i];
            }
    }
    for (int n = 0; n < N; n++)
        memcpy(dout + n * K * HW, dheat + (size_t)n * C * HW, C * HW * sizeof(float));
    if (terms) terms[0] = focal, terms[1] = l1[0], terms[2] = l1[1];
    return focal + w_size * l1[0] + w_off * l1[1];
}
