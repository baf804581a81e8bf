/* AVERAGE_POOL_2D and MAX_POOL_2D, int8 (TFLite's reference pooling). Input and output share
 * one scale, so no requantization: the average is rounded to nearest, ties away from zero,
 * over the taps inside the input (padding is not counted). */
#include "fixedpoint.h"
#include "kernels.h"

static void pool(const sd_pool_params *p, const int8_t *input, int8_t *output, int average) {
    for (int oy = 0; oy < p->out_h; ++oy) {
        for (int ox = 0; ox < p->out_w; ++ox) {
            const int in_y0 = oy * p->stride_h - p->pad_top, in_x0 = ox * p->stride_w - p->pad_left;
            const int fy_start = in_y0 < 0 ? -in_y0 : 0, fx_start = in_x0 < 0 ? -in_x0 : 0;
            const int fy_end = p->filter_h < p->in_h - in_y0 ? p->filter_h : p->in_h - in_y0;
            const int fx_end = p->filter_w < p->in_w - in_x0 ? p->filter_w : p->in_w - in_x0;
            for (int c = 0; c < p->channels; ++c) {
                int32_t acc = average ? 0 : -128;
                int count = 0;
                for (int fy = fy_start; fy < fy_end; ++fy) {
                    for (int fx = fx_start; fx < fx_end; ++fx) {
                        const int32_t v = input[((in_y0 + fy) * p->in_w + in_x0 + fx) * p->channels + c];
                        if (average) acc += v; else if (v > acc) acc = v;
                        ++count;
                    }
                }
                if (average && count > 0) {
                    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                }
                output[(oy * p->out_w + ox) * p->channels + c] = (int8_t)sd_clamp(acc, p->act_min, p->act_max);
            }
        }
    }
}

void sd_average_pool(const sd_pool_params *p, const int8_t *input, int8_t *output) { pool(p, input, output, 1); }

void sd_max_pool(const sd_pool_params *p, const int8_t *input, int8_t *output) { pool(p, input, output, 0); }
