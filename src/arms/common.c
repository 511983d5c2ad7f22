/* The arms' shared pieces: image normalisation, the endless permutation stream, the clock. */
#include "arms_internal.h"

/* ImageNet statistics, as every torchvision detector normalises. */
static const float MEAN[3] = {0.485f, 0.456f, 0.406f}, STD[3] = {0.229f, 0.224f, 0.225f};

void rk_image_to_input(float *dst, const rk_image *im)
{
    size_t HW = (size_t)im->w * im->h;
    for (int c = 0; c < 3; c++) {
        float a = 1.0f / (255.0f * STD[c]), b = -MEAN[c] / STD[c];
        float *o = dst + c * HW;
        for (size_t i = 0; i < HW; i++) o[i] = im->px[i * 3 + c] * a + b;
    }
}

static void perm_of(rk_stream *s, long epoch)
{
    if (s->epoch == epoch) return;
    for (size_t i = 0; i < s->n; i++) s->perm[i] = i;
    rk_rng r;
    rk_rng_init(&r, s->seed, 0x73687566ULL /* "shuf" */, (uint64_t)epoch);
    for (size_t i = s->n; i > 1; i--) { /* Fisher-Yates */
        size_t j = (size_t)(rk_rng_u64(&r) % i), t = s->perm[i - 1];
        s->perm[i - 1] = s->perm[j];
        s->perm[j] = t;
    }
    s->epoch = epoch;
}

size_t rk_stream_at(rk_stream *s, size_t k, long *epoch)
{
    *epoch = (long)(k / s->n);
    perm_of(s, *epoch);
    return s->perm[k % s->n];
}
