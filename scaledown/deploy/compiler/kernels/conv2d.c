/* CONV_2D, int8 with per-channel quantization, bit-exact with TFLite's reference ConvPerChannel:
 *
 *   acc = bias[oc] + sum_{ky,kx,ic} filter[oc][ky][kx][ic] * (input[iy][ix][ic] - input_zero_point)
 *   out = clamp(multiply_by_quantized_multiplier(acc, multiplier[oc], shift[oc]) + output_zero_point)
 *
 * The zero point term is folded into folded_bias (see kernels.h).
 */
#include "fixedpoint.h"
#include "kernels.h"

/* One output value: acc * M with M = multiplier / 2^31 * 2^shift, rounded as TFLite does, plus the
 * output zero point, clamped to the activation's range. The _fast version gives the same result as
 * sd_multiply_by_quantized_multiplier(acc, p->multiplier[oc], p->shift[oc]) in fewer instructions
 * (fixedpoint.h). */
static inline int8_t requantize(const sd_conv_params *p, int oc, int32_t acc) {
    acc = sd_multiply_by_quantized_multiplier_fast(acc, p->multiplier[oc], p->shift[oc]);
    return (int8_t)sd_clamp(acc + p->output_offset, p->act_min, p->act_max);
}

/* Kept out of line (noinline): inlined into a bigger function, the loops below get fewer registers
 * and the compiler spills their sums to the stack. */
#if defined(__GNUC__)
#define SD_NOINLINE __attribute__((noinline))
#else
#define SD_NOINLINE
#endif
/* Loops not worth the code of unrolling them further (the compiler would otherwise). */
#if defined(__clang__)
#define SD_NO_UNROLL _Pragma("clang loop unroll(disable)")
#else
#define SD_NO_UNROLL
#endif

/* out[oc] = requantize(folded_bias[oc] + sum_i filter[oc][i] * x[i]) for every output channel, where
 * x is n bytes (a window, or one pixel).
 * Two channels per pass: each x[i] is loaded once for two multiply-accumulates, and the two sums
 * stay in registers (register blocking). Used for one pixel alone (an odd count, a last layer);
 * filters_times_two below, two pixels at a time, does most of the work. */
static SD_NOINLINE void filters_times(const sd_conv_params *p, const int8_t *restrict x, int n, int8_t *restrict out) {
    int oc = 0;
    for (; oc + 1 < p->out_c; oc += 2) {
        const int8_t *w0 = p->filter + oc * n, *w1 = w0 + n;
        int32_t acc0 = p->folded_bias[oc], acc1 = p->folded_bias[oc + 1];
        int i = 0;
#ifdef SD_USE_DSP
        for (; i + 3 < n; i += 4) {  /* four taps per SMLAD pair */
            const uint32_t xw = sd_read4(x + i), x_even = sd_sxtb16(xw), x_odd = sd_sxtb16_ror8(xw);
            const uint32_t u = sd_read4(w0 + i), v = sd_read4(w1 + i);
            acc0 = sd_smlad(sd_sxtb16(u), x_even, sd_smlad(sd_sxtb16_ror8(u), x_odd, acc0));
            acc1 = sd_smlad(sd_sxtb16(v), x_even, sd_smlad(sd_sxtb16_ror8(v), x_odd, acc1));
        }
#endif
        SD_NO_UNROLL
        for (; i < n; ++i) {
            const int32_t v = x[i];
            acc0 += w0[i] * v;
            acc1 += w1[i] * v;
        }
        out[oc] = requantize(p, oc, acc0);
        out[oc + 1] = requantize(p, oc + 1, acc1);
    }
    if (oc < p->out_c) {  /* an odd number of channels: the last one alone */
        const int8_t *w = p->filter + oc * n;
        int32_t acc = p->folded_bias[oc];
        SD_NO_UNROLL
        for (int i = 0; i < n; ++i) acc += w[i] * (int32_t)x[i];
        out[oc] = requantize(p, oc, acc);
    }
}

/* The same for two inputs x0 and x1 (two pixels) at once, two channels per pass: each step loads two
 * weights and two inputs for four multiply-accumulates (four sums in registers). The loop over i
 * is unrolled by four, with pointers that step forward, so that most of the instructions are loads
 * and multiply-accumulates. */
static SD_NOINLINE void filters_times_two(const sd_conv_params *p, const int8_t *restrict x0,
                                          const int8_t *restrict x1, int n, int8_t *restrict out0,
                                          int8_t *restrict out1) {
    int oc = 0;
    for (; oc + 1 < p->out_c; oc += 2) {
        const int8_t *w0 = p->filter + oc * n, *w1 = w0 + n, *a = x0, *b = x1;
        int32_t acc00 = p->folded_bias[oc], acc01 = p->folded_bias[oc + 1];  /* acc<pixel><channel> */
        int32_t acc10 = acc00, acc11 = acc01;
        int i = 0;
#ifdef SD_USE_DSP
        for (; i + 3 < n; i += 4, a += 4, b += 4, w0 += 4, w1 += 4) {  /* four taps per SMLAD pair */
            const uint32_t xa = sd_read4(a), a_even = sd_sxtb16(xa), a_odd = sd_sxtb16_ror8(xa);
            const uint32_t xb = sd_read4(b), b_even = sd_sxtb16(xb), b_odd = sd_sxtb16_ror8(xb);
            const uint32_t u = sd_read4(w0), u_even = sd_sxtb16(u), u_odd = sd_sxtb16_ror8(u);
            acc00 = sd_smlad(u_even, a_even, sd_smlad(u_odd, a_odd, acc00));
            acc10 = sd_smlad(u_even, b_even, sd_smlad(u_odd, b_odd, acc10));
            const uint32_t v = sd_read4(w1), v_even = sd_sxtb16(v), v_odd = sd_sxtb16_ror8(v);
            acc01 = sd_smlad(v_even, a_even, sd_smlad(v_odd, a_odd, acc01));
            acc11 = sd_smlad(v_even, b_even, sd_smlad(v_odd, b_odd, acc11));
        }
#endif
        for (; i + 3 < n; i += 4, a += 4, b += 4, w0 += 4, w1 += 4) {
            for (int k = 0; k < 4; ++k) {
                const int32_t u = w0[k], v = w1[k], ak = a[k], bk = b[k];
                acc00 += u * ak;
                acc01 += v * ak;
                acc10 += u * bk;
                acc11 += v * bk;
            }
        }
        SD_NO_UNROLL
        for (int k = 0; k < n - i; ++k) {
            const int32_t u = w0[k], v = w1[k], ak = a[k], bk = b[k];
            acc00 += u * ak;
            acc01 += v * ak;
            acc10 += u * bk;
            acc11 += v * bk;
        }
        out0[oc] = requantize(p, oc, acc00);
        out0[oc + 1] = requantize(p, oc + 1, acc01);
        out1[oc] = requantize(p, oc, acc10);
        out1[oc + 1] = requantize(p, oc + 1, acc11);
    }
    if (oc < p->out_c) {  /* an odd number of channels: the last one alone */
        const int8_t *w = p->filter + oc * n;
        int32_t acc0 = p->folded_bias[oc], acc1 = acc0;
        for (int i = 0; i < n; ++i) {
            acc0 += w[i] * (int32_t)x0[i];
            acc1 += w[i] * (int32_t)x1[i];
        }
        out0[oc] = requantize(p, oc, acc0);
        out1[oc] = requantize(p, oc, acc1);
    }
}

/* Gathers the window of output pixel (oy, ox) into `patch` (k_h * k_w * in_c bytes, in the filter's
 * order), with the input zero point (which stands for 0.0) where it hangs over the padding. Every
 * output channel is then one dot product of its filter with the patch, and the zero point is
 * always folded. */
static SD_NOINLINE void gather_window(const sd_conv_params *p, const int8_t *restrict input, int oy, int ox,
                                      int8_t *restrict patch) {
    const int in_y0 = oy * p->stride_h - p->pad_top;
    const int in_x0 = ox * p->stride_w - p->pad_left;
    const int8_t zero_point = (int8_t)(-p->input_offset);
    /* Whether each row of the window is k_w * in_c bytes in a row of the input (no padding left or right). */
    const int whole_rows = p->dilation_w == 1 && in_x0 >= 0 && in_x0 + p->k_w <= p->in_w;
    int8_t *to = patch;
    for (int ky = 0; ky < p->k_h; ++ky) {
        const int iy = in_y0 + ky * p->dilation_h;
        if (whole_rows && iy >= 0 && iy < p->in_h) {
            const int8_t *from = input + (iy * p->in_w + in_x0) * p->in_c;
            SD_NO_UNROLL
            for (int i = 0; i < p->k_w * p->in_c; ++i) *to++ = from[i];
            continue;
        }
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
}

/* Small windows (a first layer on 1 or 3 channels) are gathered two at a time, the second on the
 * stack, so that each weight is loaded once for two pixels, as in the 1x1 case. */
enum { SD_STACK_WINDOW = 64 };

int sd_conv2d_is_pointwise(const sd_conv_params *p) {
    return p->k_h == 1 && p->k_w == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_top == 0 && p->pad_left == 0;
}

void sd_conv2d(const sd_conv_params *p, const int8_t *input, int8_t *output, int8_t *patch) {
    if (sd_conv2d_is_pointwise(p)) {  /* a matrix product: pixel i of the output = filters x pixel i of the input */
        const int pixels = p->out_h * p->out_w, n = p->in_c, m = p->out_c;
        int i = 0;
        for (; i + 1 < pixels; i += 2) {  /* two pixels at a time: each weight loaded once for both */
            filters_times_two(p, input + i * n, input + (i + 1) * n, n, output + i * m, output + (i + 1) * m);
        }
        if (i < pixels) filters_times(p, input + i * n, n, output + i * m);
        return;
    }
    const int n = p->k_h * p->k_w * p->in_c, pixels = p->out_h * p->out_w, m = p->out_c;
    int i = 0;
    if (n <= SD_STACK_WINDOW) {
        int8_t second[SD_STACK_WINDOW];
        for (; i + 1 < pixels; i += 2) {
            gather_window(p, input, i / p->out_w, i % p->out_w, patch);
            gather_window(p, input, (i + 1) / p->out_w, (i + 1) % p->out_w, second);
            filters_times_two(p, patch, second, n, output + i * m, output + (i + 1) * m);
        }
    }
    for (; i < pixels; ++i) {
        gather_window(p, input, i / p->out_w, i % p->out_w, patch);
        filters_times(p, patch, n, output + i * m);
    }
}

/* A 1x1, stride-1 convolution with out_c <= in_c, in place: output pixel i needs only input
 * pixel i, so it is computed into a buffer of out_c bytes, then written at i * out_c, which is
 * at or before i * in_c: no input pixel that is still to be read is overwritten.
 * Two pixels at a time when out_c is small (<= SD_STACK_PIXEL): the second pixel's outputs wait in
 * a buffer on the stack, and each weight is loaded once for both pixels. */
enum { SD_STACK_PIXEL = 256 };

void sd_conv2d_pointwise_in_place(const sd_conv_params *p, int8_t *data, int8_t *pixel_buffer) {
    const int pixels = p->out_h * p->out_w, n = p->in_c, m = p->out_c;
    int i = 0;
    if (m <= SD_STACK_PIXEL) {
        int8_t second[SD_STACK_PIXEL];
        for (; i + 1 < pixels; i += 2) {
            filters_times_two(p, data + i * n, data + (i + 1) * n, n, pixel_buffer, second);
            sd_copy(data + i * m, pixel_buffer, m);
            sd_copy(data + (i + 1) * m, second, m);
        }
    }
    for (; i < pixels; ++i) {
        filters_times(p, data + i * n, n, pixel_buffer);
        sd_copy(data + i * m, pixel_buffer, m);
    }
}
