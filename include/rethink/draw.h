/* rethink draw: the little drawing figures need — rectangles, short ASCII labels in a
 * built-in 5x7 bitmap font, nearest-neighbour upscaling, and tiling images into a grid.
 * Works on rk_image (uint8 HWC, 1 or 3 channels; colours are RGB, gray images take the
 * first component). Everything clips to the image; nothing fails except allocation. */
#ifndef RETHINK_DRAW_H
#define RETHINK_DRAW_H

#include <stddef.h>
#include <stdint.h>

#include "rethink/data.h"

/* Outline of the pixels x0..x1, y0..y1 (inclusive), `thick` pixels wide, inside. */
void rk_draw_rect(rk_image *im, int x0, int y0, int x1, int y1, int thick, const uint8_t rgb[3]);
/* Filled rectangle x0..x1, y0..y1 inclusive. */
void rk_draw_fill(rk_image *im, int x0, int y0, int x1, int y1, const uint8_t rgb[3]);

/* Glyph cell: 5x7 pixels plus 1 column of spacing, times `scale`. */
#define RK_FONT_W 6
#define RK_FONT_H 8
/* Draws printable ASCII (others show as '?') with its top-left at (x, y); returns the
 * width in pixels (rk_text_width). */
int rk_draw_text(rk_image *im, int x, int y, const char *s, int scale, const uint8_t rgb[3]);
int rk_text_width(const char *s, int scale);

/* dst = src with every pixel repeated k x k times (dst is allocated). */
int rk_image_upscale(rk_image *dst, const rk_image *src, int k, rk_err *err);

/* Tiles n images (any sizes, same channel count) into a grid of `cols` columns, cells as
 * large as the largest image, `pad` pixels of `bg` around and between cells; dst is
 * allocated. */
int rk_image_tile(rk_image *dst, const rk_image *ims, size_t n, int cols, int pad,
                  const uint8_t bg[3], rk_err *err);

#endif
