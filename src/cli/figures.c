/* Figures shared by the commands that draw datasets: a zoomed tile of one image with its
 * boxes, class names and a caption (augment show, data show). CLI-only code. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "rethink/draw.h"

static const uint8_t PALETTE[10][3] = {
    {230, 25, 75},  {60, 180, 75},  {255, 225, 25}, {0, 130, 200},  {245, 130, 48},
    {145, 30, 180}, {70, 240, 240}, {240, 50, 230}, {210, 245, 60}, {250, 190, 190},
};

/* Boxes of one image, from the COCO annotations, as rk_box (cls = category id). */
size_t cli_image_boxes(const rk_coco *c, int64_t image_id, rk_box *out)
{
    size_t k = 0;
    for (size_t i = 0; i < c->nanns; i++) {
        const rk_coco_ann *a = &c->anns[i];
        if (a->image_id != image_id) continue;
        out[k++] = (rk_box){.x = a->bbox[0], .y = a->bbox[1], .w = a->bbox[2], .h = a->bbox[3],
                            .cls = a->category_id, .vis = 1};
    }
    return k;
}

/* Draws the augmented sample `aug` (size x size) zoomed into tile, with boxes, labels and
 * a caption line. */
int cli_render_tile(rk_image *tile, const rk_image *aug, const rk_box *b, size_t nb,
                       const rk_coco *c, int zoom, const char *caption, rk_err *err)
{
    rk_image big;
    int rc = rk_image_upscale(&big, aug, zoom, err);
    if (rc) return rc;
    const int cap_h = RK_FONT_H * 2 + 4;
    rc = rk_image_alloc(tile, big.w, big.h + cap_h, 3, err);
    if (rc) {
        rk_image_free(&big);
        return rc;
    }
    const int bh = big.h;
    memcpy(tile->px, big.px, (size_t)big.w * bh * 3);
    rk_image_free(&big);
    static const uint8_t white[3] = {255, 255, 255}, black[3] = {0, 0, 0};
    for (size_t i = 0; i < nb; i++) {
        long ci = rk_coco_cat_index(c, b[i].cls);
        const uint8_t *col = PALETTE[(ci < 0 ? 0 : ci) % 10];
        int x0 = (int)(b[i].x * zoom), y0 = (int)(b[i].y * zoom);
        int x1 = (int)((b[i].x + b[i].w) * zoom) - 1, y1 = (int)((b[i].y + b[i].h) * zoom) - 1;
        rk_draw_rect(tile, x0, y0, x1, y1 < bh - 1 ? y1 : bh - 1, 2, col);
        const char *name = ci >= 0 ? c->cats[ci].name : "?";
        int ty = y0 >= RK_FONT_H + 1 ? y0 - RK_FONT_H - 1 : y0 + 2;
        rk_draw_fill(tile, x0, ty - 1, x0 + rk_text_width(name, 1), ty + RK_FONT_H - 1, col);
        rk_draw_text(tile, x0 + 1, ty, name, 1, black);
    }
    /* caption: two lines under the image, wrapped at the tile width */
    int per_line = tile->w / RK_FONT_W;
    char line[256];
    size_t len = strlen(caption);
    for (int l = 0; l < 2 && (size_t)(l * per_line) < len; l++) {
        snprintf(line, sizeof line, "%.*s", per_line, caption + l * per_line);
        rk_draw_text(tile, 1, bh + 2 + l * RK_FONT_H, line, 1, white);
    }
    return RK_OK;
}

