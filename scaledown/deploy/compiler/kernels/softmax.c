/* SOFTMAX, int8 in and int8 out (scale 1/256, zero point -128), bit-exact with TensorFlow
 * Lite Micro's reference kernel, which computes exp() in gemmlowp's fixed point:
 *
 *   diff   = x - max(row)                    (<= 0)
 *   scaled = diff * beta * input_scale        as Q5.26 (5 integer bits)
 *   e      = exp(scaled)                     as Q0.31, by exp_on_negative_values
 *   sum    = sum of e                        as Q12.19
 *   out    = e / sum * 256 - 128             via a fixed-point reciprocal of sum
 *
 * A value Qm.n is an int32 raw with m integer bits: real = raw / 2^n (n = 31 - m).
 * Products of two fixed-point numbers use sd_saturating_rounding_doubling_high_mul
 * (the integer bits add up); additions are plain int32 additions.
 */
#include "fixedpoint.h"
#include "kernels.h"

#define Q0_ONE INT32_MAX        /* 1.0 in Q0.31 (saturated) */

static int32_t mul(int32_t a, int32_t b) { return sd_saturating_rounding_doubling_high_mul(a, b); }

/* x * 2^exponent with rounding (exponent < 0) or saturation (exponent > 0). */
static int32_t saturating_rounding_multiply_by_pot(int32_t x, int exponent) {
    if (exponent < 0) return sd_rounding_divide_by_pot(x, -exponent);
    if (exponent == 0) return x;
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold) return INT32_MAX;
    if (x < -threshold) return INT32_MIN;
    return (int32_t)((uint32_t)x << exponent);
}

/* exp(a) for a in [-1/4, 0), a and the result in Q0.31: a Taylor series around -1/8. */
static int32_t exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a) {
    const int32_t constant_term = 1895147668;     /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883;  /* 1/3 */
    const int32_t x = a + (1 << 28);              /* a + 1/8 */
    const int32_t x2 = mul(x, x);
    const int32_t x3 = mul(x2, x);
    const int32_t x4 = mul(x2, x2);
    const int32_t x4_over_4 = saturating_rounding_multiply_by_pot(x4, -2);
    const int32_t x4_over_24_plus_x3_over_6_plus_x2_over_2 =
        saturating_rounding_multiply_by_pot(mul(x4_over_4 + x3, constant_1_over_3) + x2, -1);
    return constant_term + mul(constant_term, x + x4_over_24_plus_x3_over_6_plus_x2_over_2);
}

/* exp(a) for a <= 0, a in Q5.26, the result in Q0.31: exp of a's remainder modulo 1/4 from the
 * series, then one factor exp(-2^k) for each bit k of the multiple of 1/4 (a barrel shifter). */
static int32_t exp_on_negative_values(int32_t a) {
    enum { FRACTIONAL_BITS = 26 };
    static const int32_t exp_of_minus_pot[7] = {  /* exp(-2^k) in Q0.31 for k = -2 .. 4 */
        1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t one_quarter = 1 << (FRACTIONAL_BITS - 2);
    const int32_t a_mod_quarter_minus_one_quarter = (a & (one_quarter - 1)) - one_quarter;
    int32_t result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        saturating_rounding_multiply_by_pot(a_mod_quarter_minus_one_quarter, 5));  /* Q5.26 -> Q0.31 */
    const int32_t remainder = a_mod_quarter_minus_one_quarter - a;
    for (int k = -2; k <= 4; ++k) {
        if (remainder & (1 << (FRACTIONAL_BITS + k))) result = mul(result, exp_of_minus_pot[k + 2]);
    }
    return a == 0 ? Q0_ONE : result;
}

/* 1 / (1 + x) for x in [0, 1), x in Q0.31, the result in Q0.31: Newton-Raphson, three steps. */
static int32_t one_over_one_plus_x_for_x_in_0_1(int32_t a) {
    const int64_t sum = (int64_t)a + Q0_ONE;                  /* rounding half sum (a + 1) / 2 */
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t constant_48_over_17 = 1515870810;           /* Q2.29 */
    const int32_t constant_neg_32_over_17 = -1010580540;      /* Q2.29 */
    const int32_t q2_one = 1 << 29;
    int32_t x = constant_48_over_17 + mul(half_denominator, constant_neg_32_over_17);
    for (int i = 0; i < 3; ++i) {
        const int32_t half_denominator_times_x = mul(half_denominator, x);
        const int32_t one_minus_half_denominator_times_x = q2_one - half_denominator_times_x;
        x = x + saturating_rounding_multiply_by_pot(mul(x, one_minus_half_denominator_times_x), 2);  /* Q4 -> Q2 */
    }
    return saturating_rounding_multiply_by_pot(x, 1);         /* x / 2 is x's raw read as Q1.30; to Q0.31 */
}

static int count_leading_zeros(uint32_t x) {
    int n = 0;
    if (x == 0) return 32;
    while (!(x & 0x80000000u)) { x <<= 1; ++n; }
    return n;
}

void sd_softmax(const sd_softmax_params *p, const int8_t *input, int8_t *output) {
    for (int r = 0; r < p->rows; ++r) {
        const int8_t *in = input + r * p->depth;
        int8_t *out = output + r * p->depth;
        int32_t max_in_row = -128;
        for (int c = 0; c < p->depth; ++c) if (in[c] > max_in_row) max_in_row = in[c];

        int32_t sum_of_exps = 0;  /* Q12.19 */
        for (int c = 0; c < p->depth; ++c) {
            const int32_t diff = in[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t scaled = mul((int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
                sum_of_exps += sd_rounding_divide_by_pot(exp_on_negative_values(scaled), 12);  /* Q0 -> Q12 */
            }
        }

        /* 1 / sum: scale sum into [1, 2), take 1 / (1 + x), remember the power of two. */
        const int headroom_plus_one = count_leading_zeros((uint32_t)sum_of_exps);
        const int num_bits_over_unit = 12 - headroom_plus_one;
        const int32_t shifted_sum_minus_one = (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - (1u << 31));
        const int32_t shifted_scale = one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);

        for (int c = 0; c < p->depth; ++c) {
            const int32_t diff = in[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t scaled = mul((int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
                const int32_t e = exp_on_negative_values(scaled);
                const int32_t unsaturated = sd_rounding_divide_by_pot(mul(shifted_scale, e), num_bits_over_unit + 31 - 8);
                out[c] = (int8_t)sd_clamp(unsaturated - 128, -128, 127);
            } else {
                out[c] = -128;
            }
        }
    }
}
