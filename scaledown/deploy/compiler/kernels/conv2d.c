/* CONV_2D, int8 with per-channel quantization (TFLite's reference ConvPerChannel).
 *
 *   acc = bias[oc] + sum_{ky,kx,ic} filter[oc][ky][kx][ic] * (input[iy][ix][ic] - input_zero_point)
 *   out = clamp(multiply_by_quantized_multiplier(acc, multiplier[oc], shift[oc]) + output_zero_point)
 *
 * Taps that fall into the padding are skipped (they would add filter * 0).
 */
#include "fixedpoint.h"
#include "kernels.h"

void sd_conv2d(const sd_conv_params *p, const int8_t *input, int8_t *output) {
    for (int oy = 0; oy < p->out_h; ++oy) {
        for (int ox = 0; ox < p->out_w; ++ox) {
            const int in_y0 = oy * p->stride_h - p->pad_top;
            const int in_x0 = ox * p->stride_w - p->pad_left;
            for (int oc = 0; oc < p->out_c; ++oc) {
                int32_t acc = 0;
                for (int ky = 0; ky < p->k_h; ++ky) {
                    const int iy = in_y0 + ky * p->dilation_h;
                    if (iy < 0 || iy >= p->in_h) continue;
                    for (int kx = 0; kx < p->k_w; ++kx) {
                        const int ix = in_x0 + kx * p->dilation_w;
                        if (ix < 0 || ix >= p->in_w) continue;
                        const int8_t *in = input + (iy * p->in_w + ix) * p->in_c;
                        const int8_t *w = p->filter + ((oc * p->k_h + ky) * p->k_w + kx) * p->in_c;
                        for (int ic = 0; ic < p->in_c; ++ic) {
                            acc += (int32_t)w[ic] * ((int32_t)in[ic] + p->input_offset);
                        }
                    }
                }
                if (p->bias) acc += p->bias[oc];
                acc = sd_multiply_by_quantized_multiplier(acc, p->multiplier[oc], p->shift[oc]);
                acc += p->output_offset;
                output[(oy * p->out_w + ox) * p->out_c + oc] = (int8_t)sd_clamp(acc, p->act_min, p->act_max);
            }
        }
    }
}
