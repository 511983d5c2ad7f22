/* libFuzzer: image decoding by content (rk_image_decode), the path every dataset and source
 * image takes: the signature check, then libpng for a PNG (this harness's seeds) or
 * TurboJPEG for a JPEG (fuzz_jpeg covers that decoder on its own); and a segmentation label
 * map's (rk_label_map_decode: gray values or palette indices, unpacked, never converted). */
#include "fuzz.h"
#include "rethink/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    rk_image im;
    rk_err err = {0};
    if (!rk_image_decode(&im, data, n, 0, "input", &err)) rk_image_free(&im);
    if (!rk_image_decode(&im, data, n, 3, "input", &err)) rk_image_free(&im);
    if (!rk_label_map_decode(&im, data, n, "input", &err)) rk_image_free(&im);
    return 0;
}
