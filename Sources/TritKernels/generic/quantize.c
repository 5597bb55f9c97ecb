/* The quantizers, scalar: per-token absmax int8 activations (docs/formats.md §1.5) and the int8 head's
 * per-row weights at load (the twins of x86/quantize_avx2.c); and the element conversions, in plain C
 * so that every CPU gives the same bits, here where the weight quantizer inlines them. */
#include <math.h>
#include <string.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"

void tk_quantize_rows(const float *x, int64_t ldx, int64_t K, int64_t n,
                      int8_t *q, int64_t Kp, float *s, int32_t *qsum) {
    for (int64_t t = 0; t < n; t++) {
        const float *xt = x + t * ldx;
        int8_t *qt = q + t * Kp;
        float m = 0.0f;
        for (int64_t k = 0; k < K; k++) {
            float a = fabsf(xt[k]);
            m = a > m ? a : m;
        }
        if (!(m > 1e-5f)) m = 1e-5f; /* also maps NaN to the floor */
        const float scale = 127.0f / m;
        qsum[t] = tk_quantize_tail(xt, 0, K, scale, qt, Kp, 0);
        s[t] = scale;
    }
}

float tk_f16_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    const uint32_t exp = (h >> 10) & 0x1f;
    const uint32_t man = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: value = man * 2^-24 */
            float f = (float)man * (1.0f / 16777216.0f);
            memcpy(&bits, &f, 4);
            bits |= sign;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t tk_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    const uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) return sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0);
    if (absx >= 0x477ff000u) return sign | 0x7c00; /* rounds to >= 65520: inf */
    if (absx < 0x38800000u) { /* subnormal or zero in f16: round x / 2^-24 to nearest even */
        float a;
        memcpy(&a, &absx, 4);
        return sign | (uint16_t)lrintf(a * 16777216.0f);
    }
    /* normal: round mantissa to 10 bits, half to even */
    uint32_t mant = absx + 0x00000fffu + ((absx >> 13) & 1);
    mant -= 0x38000000u; /* rebias 127 -> 15 */
    return sign | (uint16_t)(mant >> 13);
}

float tk_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

void tk_quantize_weight_rows(const void *w, tk_dtype dtype, int64_t K, int64_t rows,
                             int8_t *out, int64_t Kp, float *scale) {
    for (int64_t r = 0; r < rows; r++) {
        float m = 0.0f;
        for (int64_t k = 0; k < K; k++) {
            const float a = fabsf(tk_dense_element(w, dtype, r * K + k));
            m = a > m ? a : m;
        }
        const float sc = m > 0.0f ? m / 127.0f : 1.0f;
        int8_t *o = out + r * Kp;
        for (int64_t k = 0; k < K; k++) o[k] = (int8_t)lrintf(tk_dense_element(w, dtype, r * K + k) / sc);
        if (Kp > K) memset(o + K, 0, (size_t)(Kp - K));
        scale[r] = sc;
    }
}
