/* make_study_db FILE [--study NAME] [--seeds N] [--noise SD] [--alpha A,B,...] [--dev 1]
 *               [--controls 1] [--plateau 1] [--kinds 1|-1] [--joint 1] [--task segment]:
 * writes a results database shaped like the paper's study (4 arms × S1..S4 × 20/50/100 % ×
 * seeds) holding the paper's numbers plus seed noise (--dev 1: and dev-split metrics, S1 and
 * S2 plateaued, S3 and S4 still improving; --controls 1: and the students' controls continue
 * and pretrain+continue; --plateau 1: every trial under the plateau schedule with its stop
 * reason, scratch S4 20 % seed 1 at its maximum; --kinds 1: and the other backbones' arms
 * at S4 with Tables 3 and 4's gains, -1 with those gains reversed; --joint 1: and the
 * joint-training arms of Table 7 at S4 20 %, with their controls under --controls 1;
 * --task segment: every trial a segmentation trial, the same numbers as mIoU), for
 * the CLI tests of report and check and
 * for looking at a report without running a sweep. Deterministic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "study_db.h"

int main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: make_study_db FILE [--study NAME] [--seeds N] [--noise SD] "
                        "[--alpha A,B,...] [--dev 1] [--controls 1] [--plateau 1] [--kinds 1|-1] [--joint 1] [--task segment]\n");
        return 2;
    }
    sdb_paper_opts o = {.noise = -1};
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--study")) o.study = argv[i + 1];
        else if (!strcmp(argv[i], "--seeds")) o.seeds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--noise")) o.noise = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--alpha")) o.alphas = argv[i + 1];
        else if (!strcmp(argv[i], "--dev")) o.dev = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--controls")) o.controls = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--plateau")) o.plateau = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--kinds")) o.kinds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--joint")) o.joint = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--task")) o.task = argv[i + 1];
        else {
            fprintf(stderr, "make_study_db: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    rk_store *s = NULL;
    rk_err err = {0};
    if (rk_store_open(&s, argv[1], &err)) {
        fprintf(stderr, "make_study_db: %s\n", err.msg);
        return 1;
    }
    int rc = sdb_paper(s, &o);
    rk_store_close(s);
    return rc ? 1 : 0;
}
