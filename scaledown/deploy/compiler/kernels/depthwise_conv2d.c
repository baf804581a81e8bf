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
    for (int oy = 0; oy < p->out_h; ++oy) {
        for (int ox = 0; ox < p->out_w; ++ox) {
            const int8_t *in = buffer + oy * p->stride_h * cols + ox * p->stride_w;
            int32_t acc = p->folded_bias[oc];
            if (p->k_h == 3 && p->k_w == 3) {   /* the common case, written out: 9 multiply-accumulates */
                acc += filter[0] * in[0] + filter[1] * in[tap] + filter[2] * in[2 * tap];
                in += row;
                acc += filter[3] * in[0] + filter[4] * in[tap] + filter[5] * in[2 * tap];
                in += row;
                acc += filter[6] * in[0] + filter[7] * in[tap] + filter[8] * in[2 * tap];
            } else {
                for (int ky = 0; ky < p->k_h; ++ky, in += row) {
                    for (int kx = 0; kx < p->k_w; ++kx) acc += (int32_t)filter[ky * p->k_w + kx] * in[kx * tap];
                }
            }
            acc = sd_multiply_by_quantized_multiplier(acc, p->multiplier[oc], p->shift[oc]);
            acc += p->output_offset;
            output[(oy * p->out_w + ox) * p->out_c + oc] = (int8_t)sd_clamp(acc, p->act_min, p->act_max);
        }
    }
}

void sd_depthwise_conv2d(const sd_conv_params *p, const int8_t *input, int8_t *output, int8_t *channel_buffer) {
    for (int ic = 0; ic < p->in_c; ++ic) {
        copy_padded_channel(p, input, ic, channel_buffer);
        for (int m = 0; m < p->depth_multiplier; ++m) {
            depthwise_channel(p, channel_buffer, ic * p->depth_multiplier + m, output);
        }
    }
}
