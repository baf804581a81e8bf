/* DEPTHWISE_CONV_2D, int8 per-channel (TFLite's reference DepthwiseConvPerChannel).
 *
 * Output channel oc = ic * depth_multiplier + m sees only input channel ic:
 *   acc = bias[oc] + sum_{ky,kx} filter[ky][kx][oc] * (input[iy][ix][ic] - input_zero_point)
 * then the same requantization as CONV_2D.
 */
#include "fixedpoint.h"
#include "kernels.h"

/* One output channel from one input channel; the input channel is read with a stride of in_stride bytes. */
static void depthwise_channel(const sd_conv_params *p, const int8_t *input, int in_stride, int oc, int8_t *output) {
    for (int oy = 0; oy < p->out_h; ++oy) {
        for (int ox = 0; ox < p->out_w; ++ox) {
            const int in_y0 = oy * p->stride_h - p->pad_top;
            const int in_x0 = ox * p->stride_w - p->pad_left;
            int32_t acc = 0;
            for (int ky = 0; ky < p->k_h; ++ky) {
                const int iy = in_y0 + ky * p->dilation_h;
                if (iy < 0 || iy >= p->in_h) continue;
                for (int kx = 0; kx < p->k_w; ++kx) {
                    const int ix = in_x0 + kx * p->dilation_w;
                    if (ix < 0 || ix >= p->in_w) continue;
                    const int32_t w = p->filter[(ky * p->k_w + kx) * p->out_c + oc];
                    acc += w * ((int32_t)input[(iy * p->in_w + ix) * in_stride] + p->input_offset);
                }
            }
            if (p->bias) acc += p->bias[oc];
            acc = sd_multiply_by_quantized_multiplier(acc, p->multiplier[oc], p->shift[oc]);
            acc += p->output_offset;
            output[(oy * p->out_w + ox) * p->out_c + oc] = (int8_t)sd_clamp(acc, p->act_min, p->act_max);
        }
    }
}

void sd_depthwise_conv2d(const sd_conv_params *p, const int8_t *input, int8_t *output) {
    for (int ic = 0; ic < p->in_c; ++ic) {
        for (int m = 0; m < p->depth_multiplier; ++m) {
            depthwise_channel(p, input + ic, p->in_c, ic * p->depth_multiplier + m, output);
        }
    }
}

/* In place (as MCUNet's TinyEngine does): the output overwrites the input. Channel c of the
 * output only lands on bytes that held channel c of the input, so copying that one channel
 * aside first (in_h * in_w bytes) is all the extra memory needed. depth_multiplier must be 1. */
void sd_depthwise_conv2d_in_place(const sd_conv_params *p, int8_t *data, int8_t *channel_buffer) {
    const int pixels = p->in_h * p->in_w;
    for (int c = 0; c < p->in_c; ++c) {
        for (int i = 0; i < pixels; ++i) channel_buffer[i] = data[i * p->in_c + c];
        depthwise_channel(p, channel_buffer, 1, c, data);
    }
}
