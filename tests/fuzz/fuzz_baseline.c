/* libFuzzer: a baseline file (rethink check --baseline FILE). */
#include "fuzz.h"
#include "rethink/check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    rk_claimset cs = {0};
    rk_err err = {0};
    rk_claimset_add_baseline(&cs, fuzz_file("baseline.ini", data, n), &err);
    rk_claimset_free(&cs);
    return 0;
}
