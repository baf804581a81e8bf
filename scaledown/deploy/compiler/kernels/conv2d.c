/* CONV_2D, int8 with per-channel quantization, bit-exact with TFLite's reference ConvPerChannel:
 *
 *   acc = bias[oc] + sum_{ky,kx,ic} filter[oc][ky][kx][ic] * (input[iy][ix][ic] - input_zero_point)
 *   out = clamp(multiply_by_quantized_multiplier(acc, multiplier[oc], shift[oc]) + output_zero_point)
 *
 * The zero point term is folded into folded_bias (see kernels.h).
 */
#include "fixedpoint.h"
#include "kernels.h"

static int8_t requantize(const sd_conv_params *p, int oc, int32_t acc) {
    acc = sd_multiply_by_quantized_multiplier(acc, p->multiplier[oc], p->shift[oc]);
    return (int8_t)sd_clamp(acc + p->output_offset, p->act_min, p->act_max);
}

/* out[oc] = requantize(folded_bias[oc] + sum_i filter[oc][i] * x[i]) for every output channel, where
 * x is n bytes (a window, or one pixel). Two channels per pass: each x[i] is loaded once for both. */
static void filters_times(const sd_conv_params *p, const int8_t *x, int n, int8_t *out) {
    int oc = 0;
    for (; oc + 1 < p->out_c; oc += 2) {
        const int8_t *w0 = p->filter + oc * n, *w1 = w0 + n;
        int32_t acc0 = p->folded_bias[oc], acc1 = p->folded_bias[oc + 1];
        for (int i = 0; i < n; ++i) {
            const int32_t xi = x[i];
            acc0 += w0[i] * xi;
            acc1 += w1[i] * xi;
        }
        out[oc] = requantize(p, oc, acc0);
        out[oc + 1] = requantize(p, oc + 1, acc1);
    }
    if (oc < p->out_c) {  /* an odd number of channels: the last one alone */
        const int8_t *w = p->filter + oc * n;
        int32_t acc = p->folded_bias[oc];
        for (int i = 0; i < n; ++i) acc += w[i] * (int32_t)x[i];
        out[oc] = requantize(p, oc, acc);
    }
}

/* All out_c channels of output pixel (oy, ox), written to out[0 .. out_c).
 * The window is first gathered into `patch` (k_h * k_w * in_c bytes, in the filter's order), with
 * the input zero point (which stands for 0.0) where it hangs over the padding; then every output
 * channel is one dot product of its filter with the patch, and the zero point is always folded. */
static void conv_pixel(const sd_conv_params *p, const int8_t *input, int oy, int ox, int8_t *patch, int8_t *out) {
    const int in_y0 = oy * p->stride_h - p->pad_top;
    const int in_x0 = ox * p->stride_w - p->pad_left;
    const int8_t zero_point = (int8_t)(-p->input_offset);
    int8_t *to = patch;
    for (int ky = 0; ky < p->k_h; ++ky) {
        const int iy = in_y0 + ky * p->dilation_h;
        for (int kx = 0; kx < p->k_w; ++kx) {
            const int ix = in_x0 + kx * p->dilation_w;
            if (iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w) {
                const int8_t *from = input + (iy * p->in_w + ix) * p->in_c;
                for (int ic = 0; ic < p->in_c; ++ic) *to++ = from[ic];
            } else {
                for (int ic = 0; ic < p->in_c; ++ic) *to++ = zero_point;
            }
        }
    }
    filters_times(p, patch, p->k_h * p->k_w * p->in_c, out);
}

int sd_conv2d_is_pointwise(const sd_conv_params *p) {
    return p->k_h == 1 && p->k_w == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_top == 0 && p->pad_left == 0;
}

void sd_conv2d(const sd_conv_params *p, const int8_t *input, int8_t *output, int8_t *patch) {
    if (sd_conv2d_is_pointwise(p)) {  /* a matrix product: pixel i of the output = filters x pixel i of the input */
        for (int i = 0; i < p->out_h * p->out_w; ++i) filters_times(p, input + i * p->in_c, p->in_c, output + i * p->out_c);
        return;
    }
    for (int oy = 0; oy < p->out_h; ++oy) {
        for (int ox = 0; ox < p->out_w; ++ox) {
            conv_pixel(p, input, oy, ox, patch, output + (oy * p->out_w + ox) * p->out_c);
        }
    }
}

/* A 1x1, stride-1 convolution with out_c <= in_c, in place: output pixel i needs only input
 * pixel i, so it is computed into a buffer of out_c bytes, then written at i * out_c, which is
 * at or before i * in_c: no input pixel that is still to be read is overwritten. */
void sd_conv2d_pointwise_in_place(const sd_conv_params *p, int8_t *data, int8_t *pixel_buffer) {
    for (int i = 0; i < p->out_h * p->out_w; ++i) {
        filters_times(p, data + i * p->in_c, p->in_c, pixel_buffer);
        for (int oc = 0; oc < p->out_c; ++oc) data[i * p->out_c + oc] = pixel_buffer[oc];
    }
}
