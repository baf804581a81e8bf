/* MEAN over contiguous axes, int8, as TensorFlow Lite Micro computes it.
 *
 * The input is viewed as [outer][reduced][inner] and summed over `reduced` (count values).
 * - Same scale and zero point in and out: output = sum / count (C division, truncating).
 * - Otherwise the division is folded into the output multiplier (TFLite's QuantizedMeanOrSum):
 *   output = multiply_by_quantized_multiplier(sum - count * input_zero_point, m', s') + output_zero_point
 *   with m' = (m << k) / count and s' = s - k, k = floor(log2(count)) (computed when compiling).
 */
#include "fixedpoint.h"
#include "kernels.h"

void sd_mean(const sd_mean_params *p, const int8_t *input, int8_t *output) {
    for (int o = 0; o < p->outer; ++o) {
        for (int i = 0; i < p->inner; ++i) {
            int32_t sum = 0;
            for (int r = 0; r < p->reduced; ++r) sum += input[(o * p->reduced + r) * p->inner + i];
            int32_t out;
            if (p->same_quantization) {
                out = sum / p->reduced;
            } else {
                out = sd_multiply_by_quantized_multiplier(sum - p->input_zero_point * p->reduced, p->multiplier,
                                                          p->shift) + p->output_zero_point;
                out = sd_clamp(out, -128, 127);
            }
            output[o * p->inner + i] = (int8_t)out;
        }
    }
}
