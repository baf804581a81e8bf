/* DEPTHWISE_CONV_2D, int8 per-channel, bit-exact with TFLite's reference DepthwiseConvPerChannel.
 *
 * Output channel oc = ic * depth_multiplier + m sees only input channel ic:
 *   acc = bias[oc] + sum_{ky,kx} filter[oc][ky][kx] * (input[iy][ix][ic] - input_zero_point)
 *   out = clamp(multiply_by_quantized_multiplier(acc, multiplier[oc], shift[oc]) + output_zero_point)
 * (The compiler stores the filter channel-first, [oc][ky][kx], so one channel's taps are next to
 * each other; TFLite stores [ky][kx][oc].)
 *
 * One input channel at a time is copied into channel_buffer, padded with the input zero point
 * (which stands for 0.0): every window then lies inside the buffer, no tap needs a bounds check,
 * and the zero point term is folded into folded_bias (see kernels.h).
 *
 * In place (as MCUNet's TinyEngine does): output may be the input itself when depth_multiplier
 * is 1. Output channel c only lands on bytes that held input channel c, which is already copied
 * aside, so the one-channel buffer is all the extra memory needed.
 */
#include "fixedpoint.h"
#include "kernels.h"

/* The padded size of one channel: the rows and columns that the output's windows cover. */
int sd_depthwise_padded_rows(const sd_conv_params *p) {
    return (p->out_h - 1) * p->stride_h + (p->k_h - 1) * p->dilation_h + 1;
}

int sd_depthwise_padded_cols(const sd_conv_params *p) {
    return (p->out_w - 1) * p->stride_w + (p->k_w - 1) * p->dilation_w + 1;
}

static void copy_padded_channel(const sd_conv_params *p, const int8_t *input, int c, int8_t *buffer) {
    const int rows = sd_depthwise_padded_rows(p), cols = sd_depthwise_padded_cols(p);
    for (int i = 0; i < rows * cols; ++i) buffer[i] = (int8_t)(-p->input_offset);  /* the zero point */
    for (int iy = 0; iy < p->in_h && iy + p->pad_top < rows; ++iy) {
        int8_t *to = buffer + (iy + p->pad_top) * cols + p->pad_left;
        const int8_t *from = input + iy * p->in_w * p->in_c + c;
        for (int ix = 0; ix < p->in_w && ix + p->pad_left < cols; ++ix) to[ix] = from[ix * p->in_c];
    }
}

static void depthwise_channel(const sd_conv_params *p, const int8_t *buffer, int oc, int8_t *output) {
    const int cols = sd_depthwise_padded_cols(p);
    const int row = p->dilation_h * cols, tap = p->dilation_w;
    const int8_t *filter = p->filter + oc * p->k_h * p->k_w;
    const int32_t bias = p->folded_bias[oc], multiplier = p->multiplier[oc], shift = p->shift[oc];
    for (int oy = 0; oy < p->out_h; ++oy) {
        for (int ox = 0; ox < p->out_w; ++ox) {
            const int8_t *in = buffer + oy * p->stride_h * cols + ox * p->stride_w;
            int32_t acc = bias;
            for (int ky = 0; ky < p->k_h; ++ky, in += row) {
                for (int kx = 0; kx < p->k_w; ++kx) acc += (int32_t)filter[ky * p->k_w + kx] * in[kx * tap];
            }
            acc = sd_multiply_by_quantized_multiplier(acc, multiplier, shift) + p->output_offset;
            output[(oy * p->out_w + ox) * p->out_c + oc] = (int8_t)sd_clamp(acc, p->act_min, p->act_max);
        }
    }
}

/* The same for the common 3x3 kernel, written out: its 9 weights stay in registers. */
static void depthwise_channel_3x3(const sd_conv_params *p, const int8_t *buffer, int oc, int8_t *output) {
    const int cols = sd_depthwise_padded_cols(p);
    const int row = p->dilation_h * cols, tap = p->dilation_w;
    const int8_t *f = p->filter + oc * 9;
    const int32_t f0 = f[0], f1 = f[1], f2 = f[2], f3 = f[3], f4 = f[4], f5 = f[5], f6 = f[6], f7 = f[7], f8 = f[8];
    const int32_t bias = p->folded_bias[oc], multiplier = p->multiplier[oc], shift = p->shift[oc];
    for (int oy = 0; oy < p->out_h; ++oy) {
        const int8_t *in = buffer + oy * p->stride_h * cols;
        int8_t *out = output + oy * p->out_w * p->out_c + oc;
        for (int ox = 0; ox < p->out_w; ++ox, in += p->stride_w, out += p->out_c) {
            const int8_t *r0 = in, *r1 = in + row, *r2 = in + 2 * row;
            int32_t acc = bias + f0 * r0[0] + f1 * r0[tap] + f2 * r0[2 * tap] + f3 * r1[0] + f4 * r1[tap]
                          + f5 * r1[2 * tap] + f6 * r2[0] + f7 * r2[tap] + f8 * r2[2 * tap];
            acc = sd_multiply_by_quantized_multiplier(acc, multiplier, shift) + p->output_offset;
            *out = (int8_t)sd_clamp(acc, p->act_min, p->act_max);
        }
    }
}

void sd_depthwise_conv2d(const sd_conv_params *p, const int8_t *input, int8_t *output, int8_t *channel_buffer) {
    for (int ic = 0; ic < p->in_c; ++ic) {
        copy_padded_channel(p, input, ic, channel_buffer);
        for (int m = 0; m < p->depth_multiplier; ++m) {
            if (p->k_h == 3 && p->k_w == 3) {
                depthwise_channel_3x3(p, channel_buffer, ic * p->depth_multiplier + m, output);
            } else {
                depthwise_channel(p, channel_buffer, ic * p->depth_multiplier + m, output);
            }
        }
    }
}
