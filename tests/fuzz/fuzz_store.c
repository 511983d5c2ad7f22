/* libFuzzer: the results-database reader (rethink report, check, ls: rk_store_open_readonly,
 * then every read a report makes through rk_results_load) on arbitrary file bytes. */
#include "fuzz.h"
#include "rethink/report.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    const char *path = fuzz_file("r.db", data, n);
    char side[340];
    snprintf(side, sizeof side, "%s-wal", path); /* never one left from an earlier input */
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    rk_results r;
    rk_err err = {0};
    if (!rk_results_load(&r, path, NULL, 0.95, &err)) rk_results_free(&r);
    return 0;
}
