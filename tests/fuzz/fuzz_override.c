/* libFuzzer: command-line overrides (-s key=value, and -s key=a,b axes): each line of the
 * input is one override of experiments/tiny.ini. */
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
    char *text = malloc(n + 1);
    if (!text) return 0;
    memcpy(text, data, n);
    text[n] = 0;
    const char *ov[16];
    size_t nov = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && nov < 16;
         line = strtok_r(NULL, "\n", &save))
        ov[nov++] = line;
    rk_experiment x;
    rk_err err = {0};
    if (!rk_experiment_load(&x, RK_SOURCE_DIR "/experiments/tiny.ini", ov, nov, &err)) {
        size_t size = rk_experiment_size(&x);
        for (size_t i = 0; i < size && i < 4; i++) {
            rk_config c;
            if (!rk_experiment_trial(&x, i, &c, &err)) rk_config_free(&c);
        }
        rk_experiment_free(&x);
    }
    free(text);
    return 0;
}
