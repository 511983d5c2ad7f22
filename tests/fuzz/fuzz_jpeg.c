/* libFuzzer: JPEG decoding (every image a dataset or source folder holds). The project
 * writes PNG (figures) and never reads it, so JPEG is the one image decoder. */
#include "fuzz.h"
#include "rethink/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    rk_image im;
    rk_err err = {0};
    if (!rk_jpeg_decode(&im, data, n, 0, "input", &err)) rk_image_free(&im);
    return 0;
}
