/* ADD, int8 (TFLite's reference Add): the two inputs have different scales, so each is
 * first shifted up by left_shift = 20 bits (headroom for precision), rescaled to a common
 * scale (twice the larger input scale), summed, and the sum rescaled to the output scale.
 * Element-wise: output may be the same buffer as an input. */
#include "fixedpoint.h"
#include "kernels.h"

void sd_add(const sd_add_params *p, const int8_t *input1, const int8_t *input2, int8_t *output) {
    for (int i = 0; i < p->size; ++i) {
        const int32_t a = ((int32_t)input1[i] + p->input1_offset) * (1 << p->left_shift);
        const int32_t b = ((int32_t)input2[i] + p->input2_offset) * (1 << p->left_shift);
        const int32_t scaled_a = sd_multiply_by_quantized_multiplier(a, p->input1_multiplier, p->input1_shift);
        const int32_t scaled_b = sd_multiply_by_quantized_multiplier(b, p->input2_multiplier, p->input2_shift);
        const int32_t sum = scaled_a + scaled_b;
        const int32_t out = sd_multiply_by_quantized_multiplier(sum, p->output_multiplier, p->output_shift)
                            + p->output_offset;
        output[i] = (int8_t)sd_clamp(out, p->act_min, p->act_max);
    }
}
