/* libFuzzer: JPEG decoding through TurboJPEG alone (rk_jpeg_decode); fuzz_png covers the
 * decoding by content that datasets use, and libpng. */
#include "fuzz.h"
#include "rethink/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    rk_image im;
    rk_err err = {0};
    if (!rk_jpeg_decode(&im, data, n, 0, "input", &err)) rk_image_free(&im);
    return 0;
}
