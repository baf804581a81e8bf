/* FULLY_CONNECTED, int8, bit-exact with TFLite's reference FullyConnected (per-tensor or per-channel scales):
 *   acc = bias[o] + sum_i filter[o][i] * (input[i] - input_zero_point), then requantize.
 * The zero point term is folded into folded_bias when compiling (see kernels.h). */
#include "fixedpoint.h"
#include "kernels.h"

void sd_fully_connected(const sd_fully_connected_params *p, const int8_t *input, int8_t *output) {
    for (int b = 0; b < p->batches; ++b) {
        const int8_t *in = input + b * p->in_depth;
        for (int o = 0; o < p->out_depth; ++o) {
            const int8_t *w = p->filter + o * p->in_depth;
            int32_t acc = p->folded_bias[o];
            for (int i = 0; i < p->in_depth; ++i) acc += (int32_t)w[i] * in[i];
            acc = sd_multiply_by_quantized_multiplier(acc, p->multiplier[o], p->shift[o]) + p->output_offset;
            output[b * p->out_depth + o] = (int8_t)sd_clamp(acc, p->act_min, p->act_max);
        }
    }
}
