/* libFuzzer: a detections (results) file against a fixed ground truth (rethink eval --dt),
 * evaluated when it loads. */
#include "fuzz.h"
#include "rethink/data.h"
#include "rethink/eval.h"

static rk_coco gt;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_setup();
    rk_err err = {0};
    if (rk_coco_load(&gt, RK_SOURCE_DIR "/tests/fixtures/eval/basic/gt.json", &err)) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    rk_det *d = NULL;
    size_t nd = 0;
    rk_err err = {0};
    if (rk_dets_load(&d, &nd, fuzz_file("dt.json", data, n), &gt, &err)) return 0;
    rk_coco_stats st;
    if (!rk_coco_eval(&st, &gt, d, nd, &err)) rk_coco_stats_free(&st);
    free(d);
    return 0;
}
