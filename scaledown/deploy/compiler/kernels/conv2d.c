/* CONV_2D, int8 with per-channel quantization, bit-exact with TFLite's reference ConvPerChannel:
 *
 *   acc = bias[oc] + sum_{ky,kx,ic} filter[oc][ky][kx][ic] * (input[iy][ix][ic] - input_zero_point)
 *   out = clamp(multiply_by_quantized_multiplier(acc, multiplier[oc], shift[oc]) + output_zero_point)
 *
 * Taps that fall into the padding are skipped (they would add filter * 0). For windows wholly
 * inside the input the zero point is already in folded_bias (see kernels.h).
 */
#include "fixedpoint.h"
#include "kernels.h"

static int32_t dot(const int8_t *w, const int8_t *x, int n) {
    int32_t acc = 0;
    for (int i = 0; i < n; ++i) acc += (int32_t)w[i] * x[i];
    return acc;
}

/* All out_c channels of output pixel (oy, ox), written to out[0 .. out_c). */
static void conv_pixel(const sd_conv_params *p, const int8_t *input, int oy, int ox, int8_t *out) {
    const int in_y0 = oy * p->stride_h - p->pad_top;
    const int in_x0 = ox * p->stride_w - p->pad_left;
    int ky_start, ky_end, kx_start, kx_end;
    sd_taps_inside(in_y0, p->dilation_h, p->k_h, p->in_h, &ky_start, &ky_end);
    sd_taps_inside(in_x0, p->dilation_w, p->k_w, p->in_w, &kx_start, &kx_end);
    const int inside = ky_start == 0 && ky_end == p->k_h && kx_start == 0 && kx_end == p->k_w;
    /* Inside, with dilation 1, one filter row is k_w * in_c bytes in a row of the input too. */
    const int run = p->dilation_w == 1 ? p->k_w * p->in_c : p->in_c;
    const int runs = p->dilation_w == 1 ? 1 : p->k_w;

    for (int oc = 0; oc < p->out_c; ++oc) {
        const int8_t *filter = p->filter + oc * p->k_h * p->k_w * p->in_c;
        int32_t acc;
        if (inside) {
            acc = p->folded_bias[oc];
            for (int ky = 0; ky < p->k_h; ++ky) {
                const int8_t *row = input + (in_y0 + ky * p->dilation_h) * p->in_w * p->in_c;
                for (int r = 0; r < runs; ++r) {
                    acc += dot(filter + (ky * p->k_w + r) * p->in_c, row + (in_x0 + r * p->dilation_w) * p->in_c, run);
                }
            }
        } else {
            acc = p->bias[oc];
            for (int ky = ky_start; ky < ky_end; ++ky) {
                for (int kx = kx_start; kx < kx_end; ++kx) {
                    const int iy = in_y0 + ky * p->dilation_h, ix = in_x0 + kx * p->dilation_w;
                    const int8_t *in = input + (iy * p->in_w + ix) * p->in_c;
                    const int8_t *w = filter + (ky * p->k_w + kx) * p->in_c;
                    for (int ic = 0; ic < p->in_c; ++ic) acc += (int32_t)w[ic] * ((int32_t)in[ic] + p->input_offset);
                }
            }
        }
        acc = sd_multiply_by_quantized_multiplier(acc, p->multiplier[oc], p->shift[oc]);
        acc += p->output_offset;
        out[oc] = (int8_t)sd_clamp(acc, p->act_min, p->act_max);
    }
}

void sd_conv2d(const sd_conv_params *p, const int8_t *input, int8_t *output) {
    for (int oy = 0; oy < p->out_h; ++oy) {
        for (int ox = 0; ox < p->out_w; ++ox) {
            conv_pixel(p, input, oy, ox, output + (oy * p->out_w + ox) * p->out_c);
        }
    }
}

/* A 1x1, stride-1 convolution with out_c <= in_c, in place: output pixel i needs only input
 * pixel i, so it is computed into a buffer of out_c bytes, then written at i * out_c, which is
 * at or before i * in_c: no input pixel that is still to be read is overwritten. */
void sd_conv2d_pointwise_in_place(const sd_conv_params *p, int8_t *data, int8_t *pixel_buffer) {
    for (int i = 0; i < p->out_h * p->out_w; ++i) {
        conv_pixel(p, data, i / p->out_w, i % p->out_w, pixel_buffer);
        for (int oc = 0; oc < p->out_c; ++oc) data[i * p->out_c + oc] = pixel_buffer[oc];
    }
}
