/* The training arms as data: one row per arm (include/rethink/arms.h). What an arm needs —
 * a teacher, the pre-trained backbone — is read from here by the config's identity rules,
 * the trial runner, the sweep's plan and the report, never decided from its name. */
#include <string.h>

#include "rethink/arms.h"

/* Colours: Okabe-Ito, distinguishable with the common colour-vision deficiencies (its
 * seven on white; past them, Paul Tol's "muted" scheme, built on the same principle). Points:
 * filled circle, square, triangle, diamond, inverted triangle, pentagon; the arms of the
 * stronger backbone and of SimCLR add open (unfilled) points in the colours of their
 * supervised-backbone counterparts' families (gnuplot: 4 open square, 6 open circle, 8 open
 * triangle, 10 open inverted triangle, 12 open diamond, 14 open pentagon); a joint-training
 * arm is drawn as its counterpart without the joint task, in the same colour with the open
 * point (the joint task is one more loss on the same recipe). */
const rk_arm_info rk_arms[RK_NARMS] = {
    [RK_ARM_SCRATCH] = {.name = "scratch", .teacher = RK_ARM_NONE, .control = RK_ARM_NONE,
                        .color = "#000000", .point = 7},
    [RK_ARM_PRETRAIN] = {.name = "pretrain", .teacher = RK_ARM_NONE, .backbone = RK_BACKBONE_SUPERVISED,
                         .control = RK_ARM_NONE, .color = "#0072B2", .point = 5},
    [RK_ARM_SELFTRAIN] = {.name = "selftrain", .teacher = RK_ARM_SCRATCH, .pseudo = 1,
                          .control = RK_ARM_CONTINUE, .color = "#D55E00", .point = 9},
    [RK_ARM_PRETRAIN_SELFTRAIN] = {.name = "pretrain+selftrain", .teacher = RK_ARM_PRETRAIN,
                                   .backbone = RK_BACKBONE_SUPERVISED, .pseudo = 1,
                                   .control = RK_ARM_PRETRAIN_CONTINUE, .color = "#009E73",
                                   .point = 13},
    [RK_ARM_CONTINUE] = {.name = "continue", .teacher = RK_ARM_SCRATCH, .control = RK_ARM_NONE,
                         .color = "#CC79A7", .point = 11},
    [RK_ARM_PRETRAIN_CONTINUE] = {.name = "pretrain+continue", .teacher = RK_ARM_PRETRAIN,
                                  .backbone = RK_BACKBONE_SUPERVISED, .control = RK_ARM_NONE, .color = "#56B4E9",
                                  .point = 15},
    [RK_ARM_STRONG] = {.name = "pretrain++", .teacher = RK_ARM_NONE,
                       .backbone = RK_BACKBONE_STRONG, .control = RK_ARM_NONE,
                       .color = "#332288", .point = 4},
    [RK_ARM_STRONG_SELFTRAIN] = {.name = "pretrain+++selftrain", .teacher = RK_ARM_STRONG,
                                 .backbone = RK_BACKBONE_STRONG, .pseudo = 1,
                                 .control = RK_ARM_STRONG_CONTINUE, .color = "#117733",
                                 .point = 12},
    [RK_ARM_STRONG_CONTINUE] = {.name = "pretrain+++continue", .teacher = RK_ARM_STRONG,
                                .backbone = RK_BACKBONE_STRONG, .control = RK_ARM_NONE,
                                .color = "#88CCEE", .point = 14},
    [RK_ARM_SIMCLR] = {.name = "simclr", .teacher = RK_ARM_NONE, .backbone = RK_BACKBONE_SIMCLR,
                       .control = RK_ARM_NONE, .color = "#E69F00", .point = 6},
    [RK_ARM_SIMCLR_SELFTRAIN] = {.name = "simclr+selftrain", .teacher = RK_ARM_SIMCLR,
                                 .backbone = RK_BACKBONE_SIMCLR, .pseudo = 1,
                                 .control = RK_ARM_SIMCLR_CONTINUE, .color = "#882255",
                                 .point = 8},
    [RK_ARM_SIMCLR_CONTINUE] = {.name = "simclr+continue", .teacher = RK_ARM_SIMCLR,
                                .backbone = RK_BACKBONE_SIMCLR, .control = RK_ARM_NONE,
                                .color = "#AA4499", .point = 10},
    [RK_ARM_JOINT] = {.name = "joint", .teacher = RK_ARM_NONE, .joint = 1,
                      .control = RK_ARM_NONE, .color = "#000000", .point = 6},
    [RK_ARM_PRETRAIN_JOINT] = {.name = "pretrain+joint", .teacher = RK_ARM_NONE, .backbone = RK_BACKBONE_SUPERVISED,
                               .joint = 1, .control = RK_ARM_NONE, .color = "#0072B2",
                               .point = 4},
    [RK_ARM_JOINT_SELFTRAIN] = {.name = "joint+selftrain", .teacher = RK_ARM_JOINT, .pseudo = 1,
                                .joint = 1, .control = RK_ARM_JOINT_CONTINUE,
                                .color = "#D55E00", .point = 8},
    [RK_ARM_PRETRAIN_JOINT_SELFTRAIN] = {.name = "pretrain+joint+selftrain",
                                         .teacher = RK_ARM_PRETRAIN_JOINT, .backbone = RK_BACKBONE_SUPERVISED,
                                         .pseudo = 1, .joint = 1,
                                         .control = RK_ARM_PRETRAIN_JOINT_CONTINUE,
                                         .color = "#009E73", .point = 12},
    [RK_ARM_JOINT_CONTINUE] = {.name = "joint+continue", .teacher = RK_ARM_JOINT, .joint = 1,
                               .control = RK_ARM_NONE, .color = "#CC79A7", .point = 10},
    [RK_ARM_PRETRAIN_JOINT_CONTINUE] = {.name = "pretrain+joint+continue",
                                        .teacher = RK_ARM_PRETRAIN_JOINT, .backbone = RK_BACKBONE_SUPERVISED,
                                        .joint = 1, .control = RK_ARM_NONE, .color = "#56B4E9",
                                        .point = 14},
};

const char *rk_backbone_name(rk_backbone b)
{
    static const char *const NAMES[RK_NBACKBONES] = {
        [RK_BACKBONE_NONE] = "none", [RK_BACKBONE_SUPERVISED] = "supervised",
        [RK_BACKBONE_STRONG] = "strong", [RK_BACKBONE_SIMCLR] = "simclr"};
    return b >= 0 && b < RK_NBACKBONES ? NAMES[b] : "?";
}

rk_arm rk_arm_parse(const char *name)
{
    for (int a = 0; name && a < RK_NARMS; a++)
        if (!strcmp(name, rk_arms[a].name)) return (rk_arm)a;
    return RK_ARM_NONE;
}

const char *rk_arm_name(rk_arm a) { return a >= 0 && a < RK_NARMS ? rk_arms[a].name : "?"; }
