/* libFuzzer: COCO ground truth (instances JSON: rethink data check, eval --gt, every
 * dataset a trial loads). */
#include "fuzz.h"
#include "rethink/data.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    rk_coco c;
    rk_err err = {0};
    if (!rk_coco_load(&c, fuzz_file("gt.json", data, n), &err)) rk_coco_free(&c);
    return 0;
}
