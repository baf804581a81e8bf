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

/* Inlining hints: the 3x3 loop is kept out of line (noinline), where it gets all the registers, and
 * written out once per stride (always_inline), so the compiler sees constant strides. */
#if defined(__GNUC__)
#define SD_NOINLINE __attribute__((noinline))
#define SD_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define SD_NOINLINE
#define SD_ALWAYS_INLINE inline
#endif
/* A loop not worth the code of unrolling it (the compiler would otherwise). */
#if defined(__clang__)
#define SD_NO_UNROLL _Pragma("clang loop unroll(disable)")
#else
#define SD_NO_UNROLL
#endif

static SD_NOINLINE void copy_padded_channel(const sd_conv_params *p, const int8_t *restrict input, int c,
                                            int8_t *restrict buffer) {
    const int rows = sd_depthwise_padded_rows(p), cols = sd_depthwise_padded_cols(p), in_c = p->in_c;
    const int in_h = p->in_h, in_w = p->in_w, top = p->pad_top;
    const int8_t zero_point = (int8_t)(-p->input_offset);
    /* Each row: `left` bytes of padding, `inside` bytes of the channel, then padding to the end. */
    const int left = p->pad_left < cols ? p->pad_left : cols;
    const int inside = in_w < cols - left ? in_w : cols - left;
    int8_t *to = buffer;
    for (int y = 0; y < rows; ++y) {
        const int iy = y - top;
        if (iy < 0 || iy >= in_h) {  /* a row of padding */
            for (int x = 0; x < cols; ++x) *to++ = zero_point;
            continue;
        }
        const int8_t *from = input + iy * in_w * in_c + c;
        for (int x = 0; x < left; ++x) *to++ = zero_point;
        SD_NO_UNROLL
        for (int x = 0; x < inside; ++x, from += in_c) *to++ = *from;
        for (int x = left + inside; x < cols; ++x) *to++ = zero_point;
    }
}

static SD_NOINLINE void depthwise_channel(const sd_conv_params *p, const int8_t *buffer, int oc, int8_t *output) {
    const int cols = sd_depthwise_padded_cols(p);
    const int row = p->dilation_h * cols, tap = p->dilation_w;
    const int8_t *filter = p->filter + oc * p->k_h * p->k_w;
    const int32_t bias = p->folded_bias[oc], multiplier = p->multiplier[oc], shift = p->shift[oc];
    for (int oy = 0; oy < p->out_h; ++oy) {
        for (int ox = 0; ox < p->out_w; ++ox) {
            const int8_t *in = buffer + oy * p->stride_h * cols + ox * p->stride_w;
            int32_t acc = bias;
            for (int ky = 0; ky < p->k_h; ++ky, in += row) {
                SD_NO_UNROLL
                for (int kx = 0; kx < p->k_w; ++kx) acc += (int32_t)filter[ky * p->k_w + kx] * in[kx * tap];
            }
            acc = sd_multiply_by_quantized_multiplier(acc, multiplier, shift) + p->output_offset;
            output[(oy * p->out_w + ox) * p->out_c + oc] = (int8_t)sd_clamp(acc, p->act_min, p->act_max);
        }
    }
}

/* The same for the common 3x3 kernel, written out: two neighbouring outputs are computed per pass,
 * so the input columns they share are loaded once (with stride 1, 12 loads for 18 multiply-
 * accumulates), and each weight is loaded once for both. (Held in registers for the whole channel,
 * the 9 weights leave too few registers for the rest, and the compiler spills to the stack.)
 * `stride` and `tap` are constants where it is called (1 or 2), so the compiler sees which loads
 * are the same. */
static SD_ALWAYS_INLINE void depthwise_3x3_rows(const sd_conv_params *p, const int8_t *restrict buffer, int oc,
                                      int8_t *output, const int stride, const int tap) {
    const int cols = sd_depthwise_padded_cols(p), out_w = p->out_w, out_h = p->out_h, out_c = p->out_c;
    const int row = p->dilation_h * cols, stride_h = p->stride_h;
    const int8_t *f = p->filter + oc * 9;
    const int32_t bias = p->folded_bias[oc], multiplier = p->multiplier[oc], shift = p->shift[oc];
    const int32_t output_offset = p->output_offset, act_min = p->act_min, act_max = p->act_max;
    for (int oy = 0; oy < out_h; ++oy) {
        const int8_t *r0 = buffer + oy * stride_h * cols, *r1 = r0 + row, *r2 = r1 + row;
        int8_t *out = output + oy * out_w * out_c + oc;
        int ox = 0;
        for (; ox + 1 < out_w; ox += 2, r0 += 2 * stride, r1 += 2 * stride, r2 += 2 * stride, out += 2 * out_c) {
            int32_t a = bias + f[0] * r0[0] + f[1] * r0[tap] + f[2] * r0[2 * tap];
            int32_t b = bias + f[0] * r0[stride] + f[1] * r0[stride + tap] + f[2] * r0[stride + 2 * tap];
            a += f[3] * r1[0] + f[4] * r1[tap] + f[5] * r1[2 * tap];
            b += f[3] * r1[stride] + f[4] * r1[stride + tap] + f[5] * r1[stride + 2 * tap];
            a += f[6] * r2[0] + f[7] * r2[tap] + f[8] * r2[2 * tap];
            b += f[6] * r2[stride] + f[7] * r2[stride + tap] + f[8] * r2[stride + 2 * tap];
            a = sd_multiply_by_quantized_multiplier_fast(a, multiplier, shift) + output_offset;
            b = sd_multiply_by_quantized_multiplier_fast(b, multiplier, shift) + output_offset;
            out[0] = (int8_t)sd_clamp(a, act_min, act_max);
            out[out_c] = (int8_t)sd_clamp(b, act_min, act_max);
        }
        if (ox < out_w) {  /* an odd width: the last output alone */
            int32_t a = bias + f[0] * r0[0] + f[1] * r0[tap] + f[2] * r0[2 * tap] + f[3] * r1[0] + f[4] * r1[tap]
                        + f[5] * r1[2 * tap] + f[6] * r2[0] + f[7] * r2[tap] + f[8] * r2[2 * tap];
            a = sd_multiply_by_quantized_multiplier_fast(a, multiplier, shift) + output_offset;
            out[0] = (int8_t)sd_clamp(a, act_min, act_max);
        }
    }
}

static SD_NOINLINE void depthwise_channel_3x3(const sd_conv_params *p, const int8_t *restrict buffer, int oc,
                                              int8_t *output) {
    if (p->stride_w == 1) {
        depthwise_3x3_rows(p, buffer, oc, output, 1, 1);
    } else {
        depthwise_3x3_rows(p, buffer, oc, output, 2, 1);
    }
}

void sd_depthwise_conv2d(const sd_conv_params *p, const int8_t *input, int8_t *output, int8_t *channel_buffer) {
    for (int ic = 0; ic < p->in_c; ++ic) {
        copy_padded_channel(p, input, ic, channel_buffer);
        for (int m = 0; m < p->depth_multiplier; ++m) {
            if (p->k_h == 3 && p->k_w == 3 && p->dilation_w == 1 && (p->stride_w == 1 || p->stride_w == 2)) {
                depthwise_channel_3x3(p, channel_buffer, ic * p->depth_multiplier + m, output);
            } else {
                depthwise_channel(p, channel_buffer, ic * p->depth_multiplier + m, output);
            }
        }
    }
}
