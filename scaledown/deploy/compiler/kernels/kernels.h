/* The int8 kernels the compiled model calls; one parameter struct per kind of op.
 * Shapes are NHWC with batch 1; weights, biases, multipliers and shifts live in flash (const).
 *
 * The zero point trick: sum w * (x - zp) = sum w * x - zp * sum w. The second term is a constant
 * per output channel, folded into the bias when compiling (folded_bias), so the inner loop is a
 * plain multiply-accumulate of int8 bytes. Where a window hangs over the padding, the kernels
 * read the zero point there (it stands for 0.0, so w * (zp - zp) = 0, as TFLite skips those taps). */
#ifndef SD_KERNELS_H
#define SD_KERNELS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int in_h, in_w, in_c;            /* input  [in_h][in_w][in_c] */
    int out_h, out_w, out_c;         /* output [out_h][out_w][out_c] */
    int k_h, k_w;                    /* filter [out_c][k_h][k_w][in_c] (depthwise: [out_c][k_h][k_w]) */
    int stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    int depth_multiplier;            /* depthwise only: out_c = in_c * depth_multiplier */
    int32_t input_offset;            /* -input zero point */
    int32_t output_offset;           /* +output zero point */
    int32_t act_min, act_max;        /* the fused activation, as an int8 clamp */
    const int8_t *filter;
    const int32_t *folded_bias;      /* bias[oc] + input_offset * sum(filter of oc), computed when compiling */
    const int32_t *multiplier;       /* per output channel, Q31 */
    const int8_t *shift;             /* per output channel, power of two */
} sd_conv_params;

typedef struct {
    int batches, in_depth, out_depth;  /* input [batches][in_depth], filter [out_depth][in_depth] */
    int32_t output_offset, act_min, act_max;
    const int8_t *filter;
    const int32_t *folded_bias;      /* bias[o] + input_offset * sum(filter[o]) */
    const int32_t *multiplier;
    const int8_t *shift;
} sd_fully_connected_params;

typedef struct {
    int size;
    int32_t input1_offset, input2_offset, output_offset;
    int left_shift;                  /* 20: both inputs are scaled up before they are rescaled */
    int32_t input1_multiplier, input2_multiplier, output_multiplier;
    int input1_shift, input2_shift, output_shift;
    int32_t act_min, act_max;
} sd_add_params;

typedef struct {
    int in_h, in_w, channels, out_h, out_w;
    int filter_h, filter_w, stride_h, stride_w, pad_top, pad_left;
    int32_t act_min, act_max;
} sd_pool_params;

typedef struct {
    int outer, reduced, inner;       /* input viewed as [outer][reduced][inner]; output [outer][inner] */
    int32_t input_zero_point, output_zero_point, multiplier;
    int shift;
} sd_mean_params;

typedef struct {
    int rows, depth;                 /* softmax over the last dimension */
    int32_t input_multiplier;
    int input_left_shift;
    int32_t diff_min;
} sd_softmax_params;

/* patch: k_h * k_w * in_c bytes of scratch (unused, may be NULL, for a 1x1 stride-1 convolution). */
void sd_conv2d(const sd_conv_params *p, const int8_t *input, int8_t *output, int8_t *patch);
int sd_conv2d_is_pointwise(const sd_conv_params *p);
void sd_conv2d_pointwise_in_place(const sd_conv_params *p, int8_t *data, int8_t *pixel_buffer);
/* channel_buffer: padded_rows x padded_cols bytes; output may be input (in place) if depth_multiplier is 1. */
void sd_depthwise_conv2d(const sd_conv_params *p, const int8_t *input, int8_t *output, int8_t *channel_buffer);
int sd_depthwise_padded_rows(const sd_conv_params *p);
int sd_depthwise_padded_cols(const sd_conv_params *p);
void sd_fully_connected(const sd_fully_connected_params *p, const int8_t *input, int8_t *output);
void sd_add(const sd_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);
void sd_average_pool(const sd_pool_params *p, const int8_t *input, int8_t *output);
void sd_max_pool(const sd_pool_params *p, const int8_t *input, int8_t *output);
void sd_mean(const sd_mean_params *p, const int8_t *input, int8_t *output);
void sd_softmax(const sd_softmax_params *p, const int8_t *input, int8_t *output);
void sd_copy(int8_t *to, const int8_t *from, int size);

#endif
