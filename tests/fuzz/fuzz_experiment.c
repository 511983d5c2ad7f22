/* libFuzzer: an experiment file (INI through inih, the key schema, [grid], [when:], the
 * policies it names) and the first trials of its grid, resolved and hashed. */
#include "fuzz.h"
#include "rethink/config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    rk_experiment x;
    rk_err err = {0};
    if (rk_experiment_load(&x, fuzz_file("x.ini", data, n), NULL, 0, &err)) return 0;
    size_t size = rk_experiment_size(&x);
    for (size_t i = 0; i < size && i < 8; i++) {
        rk_config c;
        char *json = NULL, hash[65];
        if (rk_experiment_trial(&x, i, &c, &err)) continue;
        if (!rk_config_json(&c, &json, hash, &err)) free(json);
        rk_config_free(&c);
    }
    rk_experiment_free(&x);
    return 0;
}
