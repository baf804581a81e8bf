/* MEAN over contiguous axes, int8, as TensorFlow Lite Micro computes it (QuantizedMeanOrSum).
 *
 * The input is viewed as [outer][reduced][inner] and summed over `reduced` (count values);
 * the division by count is folded into the output multiplier when compiling:
 *   output = multiply_by_quantized_multiplier(sum - count * input_zero_point, m', s') + output_zero_point
 * with m' = (m << k) / count and s' = s - k, k = floor(log2(count)), where (m, s) stands for
 * input_scale / output_scale. (TFLite Micro does this even when the two scales are equal.)
 */
#include "fixedpoint.h"
#include "kernels.h"

void sd_mean(const sd_mean_params *p, const int8_t *input, int8_t *output) {
    for (int o = 0; o < p->outer; ++o) {
        for (int i = 0; i < p->inner; ++i) {
            int32_t sum = 0;
            for (int r = 0; r < p->reduced; ++r) sum += input[(o * p->reduced + r) * p->inner + i];
            const int32_t out = sd_multiply_by_quantized_multiplier(sum - p->input_zero_point * p->reduced,
                                                                    p->multiplier, p->shift) + p->output_zero_point;
            output[o * p->inner + i] = (int8_t)sd_clamp(out, -128, 127);
        }
    }
}
