/* The training arms as data: one row per arm (include/rethink/arms.h). What an arm needs —
 * a teacher, the pre-trained backbone — is read from here by the config's identity rules,
 * the trial runner, the sweep's plan and the report, never decided from its name. */
#include <string.h>

#include "rethink/arms.h"

/* Colours: Okabe-Ito, distinguishable with the common colour-vision deficiencies. Points:
 * filled circle, square, triangle, diamond, inverted triangle, pentagon. */
const rk_arm_info rk_arms[RK_NARMS] = {
    [RK_ARM_SCRATCH] = {"scratch", RK_ARM_NONE, 0, 0, RK_ARM_NONE, "#000000", 7},
    [RK_ARM_PRETRAIN] = {"pretrain", RK_ARM_NONE, 1, 0, RK_ARM_NONE, "#0072B2", 5},
    [RK_ARM_SELFTRAIN] = {"selftrain", RK_ARM_SCRATCH, 0, 1, RK_ARM_CONTINUE, "#D55E00", 9},
    [RK_ARM_PRETRAIN_SELFTRAIN] = {"pretrain+selftrain", RK_ARM_PRETRAIN, 1, 1,
                                   RK_ARM_PRETRAIN_CONTINUE, "#009E73", 13},
    [RK_ARM_CONTINUE] = {"continue", RK_ARM_SCRATCH, 0, 0, RK_ARM_NONE, "#CC79A7", 11},
    [RK_ARM_PRETRAIN_CONTINUE] = {"pretrain+continue", RK_ARM_PRETRAIN, 1, 0, RK_ARM_NONE,
                                  "#56B4E9", 15},
};

rk_arm rk_arm_parse(const char *name)
{
    for (int a = 0; name && a < RK_NARMS; a++)
        if (!strcmp(name, rk_arms[a].name)) return (rk_arm)a;
    return RK_ARM_NONE;
}

const char *rk_arm_name(rk_arm a) { return a >= 0 && a < RK_NARMS ? rk_arms[a].name : "?"; }
