/* DEPTHWISE_CONV_2D, int8 per-channel, bit-exact with TFLite's reference DepthwiseConvPerChannel.
 *
 * Output channel oc = ic * depth_multiplier + m sees only input channel ic:
 *   acc = bias[oc] + sum_{ky,kx} filter[oc][ky][kx] * (input[iy][ix][ic] - input_zero_point)
 * then the same requantization as CONV_2D. (The compiler stores the filter channel-first,
 * [oc][ky][kx], so one channel's taps are next to each other; TFLite stores [ky][kx][oc].)
 */
#include "fixedpoint.h"
#include "kernels.h"

/* One output channel from one input channel; pixel (y, x) of that channel is at input[(y * in_w + x) * in_stride]. */
static void depthwise_channel(const sd_conv_params *p, const int8_t *input, int in_stride, int oc, int8_t *output) {
    const int8_t *filter = p->filter + oc * p->k_h * p->k_w;
    for (int oy = 0; oy < p->out_h; ++oy) {
        const int in_y0 = oy * p->stride_h - p->pad_top;
        int ky_start, ky_end;
        sd_taps_inside(in_y0, p->dilation_h, p->k_h, p->in_h, &ky_start, &ky_end);
        for (int ox = 0; ox < p->out_w; ++ox) {
            const int in_x0 = ox * p->stride_w - p->pad_left;
            int kx_start, kx_end;
            sd_taps_inside(in_x0, p->dilation_w, p->k_w, p->in_w, &kx_start, &kx_end);
            int32_t acc;
            if (ky_start == 0 && ky_end == p->k_h && kx_start == 0 && kx_end == p->k_w) {
                acc = p->folded_bias[oc];   /* the window is inside: the zero point is folded in */
                const int8_t *in = input + (in_y0 * p->in_w + in_x0) * in_stride;
                const int row = p->dilation_h * p->in_w * in_stride, tap = p->dilation_w * in_stride;
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
            } else {
                acc = p->bias[oc];
                for (int ky = ky_start; ky < ky_end; ++ky) {
                    for (int kx = kx_start; kx < kx_end; ++kx) {
                        const int iy = in_y0 + ky * p->dilation_h, ix = in_x0 + kx * p->dilation_w;
                        acc += (int32_t)filter[ky * p->k_w + kx] * ((int32_t)input[(iy * p->in_w + ix) * in_stride]
                                                                    + p->input_offset);
                    }
                }
            }
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

/* The padded size of one channel: every window of the output lies inside it. */
static int padded_rows(const sd_conv_params *p) { return (p->out_h - 1) * p->stride_h + (p->k_h - 1) * p->dilation_h + 1; }
static int padded_cols(const sd_conv_params *p) { return (p->out_w - 1) * p->stride_w + (p->k_w - 1) * p->dilation_w + 1; }

/* In place (as MCUNet's TinyEngine does): the output overwrites the input. Channel c of the
 * output only lands on bytes that held channel c of the input, so copying that one channel
 * aside first is all the extra memory needed. depth_multiplier must be 1.
 *
 * The copy is padded with the input zero point (which stands for 0.0): then every window lies
 * inside it, the zero point is always folded into the bias, and no tap needs a bounds check.
 * channel_buffer holds padded_rows x padded_cols bytes. */
void sd_depthwise_conv2d_in_place(const sd_conv_params *p, int8_t *data, int8_t *channel_buffer) {
    const int rows = padded_rows(p), cols = padded_cols(p);
    const int8_t zero_point = (int8_t)(-p->input_offset);
    for (int c = 0; c < p->in_c; ++c) {
        for (int i = 0; i < rows * cols; ++i) channel_buffer[i] = zero_point;
        for (int iy = 0; iy < p->in_h && iy + p->pad_top < rows; ++iy) {
            int8_t *to = channel_buffer + (iy + p->pad_top) * cols + p->pad_left;
            const int8_t *from = data + iy * p->in_w * p->in_c + c;
            for (int ix = 0; ix < p->in_w && ix + p->pad_left < cols; ++ix) to[ix] = from[ix * p->in_c];
        }
        const int8_t *filter = p->filter + c * p->k_h * p->k_w;
        const int row = p->dilation_h * cols, tap = p->dilation_w;
        for (int oy = 0; oy < p->out_h; ++oy) {
            for (int ox = 0; ox < p->out_w; ++ox) {
                const int8_t *in = channel_buffer + oy * p->stride_h * cols + ox * p->stride_w;
                int32_t acc = p->folded_bias[c];
                if (p->k_h == 3 && p->k_w == 3) {
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
                acc = sd_multiply_by_quantized_multiplier(acc, p->multiplier[c], p->shift[c]);
                acc += p->output_offset;
                data[(oy * p->out_w + ox) * p->out_c + c] = (int8_t)sd_clamp(acc, p->act_min, p->act_max);
            }
        }
    }
}
