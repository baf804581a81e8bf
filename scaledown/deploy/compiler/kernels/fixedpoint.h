/* TFLite's integer arithmetic, as gemmlowp defines it.
 *
 * A real multiplier M (e.g. input_scale * filter_scale / output_scale) is stored as
 * a Q31 number m in [2^30, 2^31) and a power of two: M = m / 2^31 * 2^shift.
 * Multiplying an int32 accumulator by M is then two integer steps:
 *   1. SaturatingRoundingDoublingHighMul(x, m) = round(x * m / 2^31)
 *   2. RoundingDivideByPOT(y, -shift)          = round(y / 2^-shift), ties away from zero
 * Every kernel that requantizes uses sd_multiply_by_quantized_multiplier.
 */
#ifndef SD_FIXEDPOINT_H
#define SD_FIXEDPOINT_H

#include <stdint.h>

/* round(a * b / 2^31), rounding halves up, for any a and b but a = b = INT32_MIN (which overflows).
 * gemmlowp adds a nudge of 2^30 (1 - 2^30 if a * b < 0) and divides, truncating toward zero. For a
 * negative product, truncating (ab + 1 - 2^30) / 2^31 toward zero is rounding it up, which equals
 * rounding (ab + 2^30) / 2^31 down: so one nudge and one arithmetic shift give the same result in
 * both cases, without a 64-bit division (CMSIS-NN computes it this way too). */
static inline int32_t sd_rounding_doubling_high_mul(int32_t a, int32_t b) {
    return (int32_t)(((int64_t)a * b + (1 << 30)) >> 31);
}

/* The same, saturating the one case that overflows (a = b = INT32_MIN): gemmlowp's
 * SaturatingRoundingDoublingHighMul. */
static inline int32_t sd_saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    return sd_rounding_doubling_high_mul(a, b);
}

/* round(x / 2^exponent), ties away from zero, for 0 <= exponent <= 31. */
static inline int32_t sd_rounding_divide_by_pot(int32_t x, int exponent) {
    int32_t mask = (int32_t)((1u << exponent) - 1u);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * M for M = multiplier / 2^31 * 2^shift (TFLite's MultiplyByQuantizedMultiplier).
 * The compiler's multipliers lie in [2^30, 2^31) (or are 0), never INT32_MIN, so the saturating
 * case of the high multiply cannot happen: it is left out, as CMSIS-NN leaves it out, which saves
 * a few instructions per output value. */
static inline int32_t sd_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift) {
    int left_shift = shift > 0 ? shift : 0;
    int right_shift = shift > 0 ? 0 : -shift;
    return sd_rounding_divide_by_pot(
        sd_rounding_doubling_high_mul((int32_t)((uint32_t)x << left_shift), multiplier), right_shift);
}

/* The same result in fewer instructions, for the kernels' inner loops. For shift = -r < 0 (M < 1/2,
 * the usual case) the two roundings in a row,
 *     y = floor((x * m + 2^30) / 2^31)                    (the high multiply)
 *     round(y / 2^r), ties away from zero  = floor((y + 2^(r-1) - [y < 0]) / 2^r)
 * nest into one 64-bit multiply-add, whose high word is then shifted by r - 1:
 *     floor((x * m + 2^30 + 2^(30+r) - [x < 0] * 2^31) / 2^(31+r)),
 * where [y < 0] may be read as [x < 0] because m >= 0 (if x < 0 but y = 0, both give 0). */
static inline int32_t sd_multiply_by_quantized_multiplier_fast(int32_t x, int32_t multiplier, int shift) {
    if (shift >= 0) return sd_rounding_doubling_high_mul((int32_t)((uint32_t)x << shift), multiplier);
    const int r = -shift;
    const uint32_t nudge = 1u + (1u << r); /* 2^30 + 2^(30+r) = nudge * 2^30 */
    const int64_t t = (int64_t)x * multiplier + ((int64_t)nudge << 30) - (x < 0 ? ((int64_t)1 << 31) : 0);
    return (int32_t)(t >> 32) >> (r - 1);
}

static inline int32_t sd_clamp(int32_t x, int32_t low, int32_t high) {
    return x < low ? low : (x > high ? high : x);
}

#ifdef SD_USE_DSP
/* The Cortex-M4's DSP instructions (built with -DSD_USE_DSP; plain C otherwise): four int8 taps per
 * word. SXTB16 sign-extends bytes 0 and 2 of a word into two int16 halves (with ROR #8: bytes 1
 * and 3); SMLAD multiplies the two halves of two words pairwise and adds both products to an
 * accumulator. So sd_dot4(w, x, acc) = acc + sum_k w[k] * x[k] for the 4 bytes of each word, in 5
 * instructions instead of 8 loads and multiply-accumulates. */
static inline uint32_t sd_read4(const int8_t *p) { /* 4 bytes, any alignment (the M4 allows it for LDR) */
    uint32_t word;
    __builtin_memcpy(&word, p, 4);
    return word;
}

static inline uint32_t sd_sxtb16(uint32_t x) {
    uint32_t r;
    __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(x));
    return r;
}

static inline uint32_t sd_sxtb16_ror8(uint32_t x) {
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

static inline int32_t sd_smlad(uint32_t a, uint32_t b, int32_t acc) {
    int32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
#endif

#endif
