/* Purpose-built results databases for the report and claims tests: trials written through
 * the store API exactly as a sweep would (register, acquire, metrics, finish or fail), with
 * the COCO stats the test chooses, so a test controls whether a claim holds, fails or is
 * inconclusive. Also the paper-shaped study of make_study_db (the paper's Table 2/3 and
 * Fig. 3 numbers plus seed noise), for looking at reports. */
#ifndef RETHINK_TESTS_STUDY_DB_H
#define RETHINK_TESTS_STUDY_DB_H

#include <stdint.h>

#include "rethink/store.h"

typedef struct sdb_trial {
    const char *arm, *aug;
    double fraction;
    int64_t seed;
    double ap;              /* stored units (0.392); the other stats follow from it */
    const char *extra;      /* "key=value" added to the config (an extra axis), or NULL */
    const char *fail_error; /* non-NULL: the trial fails with this error instead */
    double cpu_s;           /* 0: 1 s */
    int epochs;             /* metrics: loss (and val.AP) per epoch; 0: none */
    /* a dev split: dev.AP at epochs 1..epochs (NAN: not evaluated that epoch), then
     * select.epoch and select.dev.AP of the best (ties to the earlier), as a trial with
     * train.dev records them; NULL: none */
    const double *dev_ap;
    int fail_code;          /* with fail_error: the rc it fails with (RK_EDIVERGED: a
                               non-finite loss); 0: RK_EINVAL */
    const char *stop_reason; /* "plateau" or "budget" as the trainer records it; NULL: none */
    int64_t steps, max_steps; /* with stop_reason: steps trained of the budget */
    const char *schedule;   /* "plateau": train.schedule = plateau in its config; NULL: the
                               default (cosine), left out as a resolved config leaves it */
    const char *cpu;        /* the CPU model it records; NULL: "Test CPU" */
    const char *task;       /* "segment": model.task = segment in its config (its AP column
                               then holds mIoU, as a segmentation trial records it); NULL:
                               detection, the key left out as a resolved config leaves it */
} sdb_trial;

/* Adds one trial to study; *id (may be NULL) gets its id. 0 on success, else prints the
 * store's message to stderr and returns its rc. */
int sdb_add(rk_store *s, const char *study, const sdb_trial *t, int64_t *id);
/* Links a student to its teacher (trial_deps), as the sweep does for self-training. */
int sdb_depend(rk_store *s, int64_t student, int64_t teacher);

typedef struct sdb_paper_opts {
    const char *study;     /* NULL: "paper" */
    int seeds;             /* 0: 3 */
    double noise;          /* seed-to-seed sd in AP points; < 0: 0.3 */
    const char *alphas;    /* NULL, or values of selftrain.alpha as an extra axis ("0.5,1,2") */
    int dev;               /* 1: dev AP every other epoch, rising more slowly with stronger
                              augmentation (S1, S2 plateau within 10 epochs; S3, S4 do not) */
    int controls;          /* 1: also the students' controls, continue and pretrain+continue
                              (the same teacher, labelled data only), whose AP is the student's
                              without the pseudo-labels' effect (−1.0 AP points here, the sign
                              issue 18 measured) */
    int plateau;           /* 1: every trial trained with train.schedule = plateau and records
                              its stop reason: scratch S4 20 % hits its maximum of 40000 steps
                              in seed 1 (budget-limited), every other trial stops on the rule */
    int kinds;             /* 1: also the arms of the other backbones at S4 (issue 23), after
                              every other value so the study without them keeps its numbers:
                              pretrain++ (Table 3: ImageNet++ − ImageNet +2.6 / +1.1 / +0.5 at
                              20 / 50 / 100 %), pretrain+++selftrain (+1.3 / +1.6 / +0.8 on top),
                              pretrain+++continue (a quarter of the student's gain), and at 100 % simclr
                              (Table 4: as supervised init), simclr+selftrain (+1.3),
                              simclr+continue (a quarter of it); -1: the same arms with every one of
                              those gains reversed (so each claim about them fails) */
    int joint;             /* 1: also the joint-training arms (Table 7) at S4 20 %, their
                              controls with controls (study_db.c: JOINT_GAIN) */
    const char *task;      /* "segment": every trial a segmentation trial (sdb_trial.task),
                              the same numbers read as mIoU; NULL: detection */
} sdb_paper_opts;

/* The paper's grid (4 arms × S1..S4 × 20/50/100 % × seeds, the 2 control arms with
 * controls, the other backbones' arms with kinds, the joint arms at S4 20 % with joint) with
 * its numbers. */
int sdb_paper(rk_store *s, const sdb_paper_opts *o);

#endif
