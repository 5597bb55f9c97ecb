/* NEON forms of the quantizers (generic/quantize.c): the activations' per-token int8 quantization and the int8
 * head's per-row quantization at load. Bit for bit the scalar forms: the absmax is order-free (fmaxnm skips a
 * NaN as the scalar `a > m ? a : m` does), fcvtns rounds half to even as lrintf does and turns a NaN into 0 as
 * tk_quantize1 does, and the weight quotient is the same IEEE division. */
#if defined(__aarch64__)
#include <math.h>
#include <string.h>
#include "simd_arm.h"
#include "../kernels_internal.h"

/* max |x[k]| over [0, K): 4 a step, then the scalar rest. */
static inline float absmax(const float *x, int64_t K) {
    float32x4_t m = vdupq_n_f32(0);
    int64_t k = 0;
    for (; k + 4 <= K; k += 4) m = vmaxnmq_f32(vabsq_f32(vld1q_f32(x + k)), m);
    float mv = vmaxnmvq_f32(m);
    for (; k < K; k++) { const float a = fabsf(x[k]); mv = a > mv ? a : mv; }
    return mv;
}

/* 4 activations → 4 rounded, clamped i32 (NaN → 0: fmax/fmin keep it, fcvtns makes it 0). */
static inline int32x4_t quantize4(const float *x, float32x4_t scale) {
    const float32x4_t v = vmulq_f32(vld1q_f32(x), scale);
    return vcvtnq_s32_f32(vminq_f32(vmaxq_f32(v, vdupq_n_f32(-128.0f)), vdupq_n_f32(127.0f)));
}

void tk_quantize_rows_neon(const float *x, int64_t ldx, int64_t K, int64_t n, int8_t *q, int64_t Kp, float *s,
                           int32_t *qsum) {
    const int64_t K16 = K / 16 * 16;
    for (int64_t t = 0; t < n; t++) {
        const float *xt = x + t * ldx;
        int8_t *qt = q + t * Kp;
        float m = absmax(xt, K);
        if (!(m > 1e-5f)) m = 1e-5f;   /* also maps NaN to the floor */
        const float scale = 127.0f / m;
        const float32x4_t sv = vdupq_n_f32(scale);
        int32x4_t sum = vdupq_n_s32(0);
        int64_t k = 0;
        for (; k < K16; k += 16) {
            const int32x4_t i0 = quantize4(xt + k, sv), i1 = quantize4(xt + k + 4, sv);
            const int32x4_t i2 = quantize4(xt + k + 8, sv), i3 = quantize4(xt + k + 12, sv);
            sum = vaddq_s32(vaddq_s32(sum, vaddq_s32(i0, i1)), vaddq_s32(i2, i3));
            const int16x8_t h0 = vcombine_s16(vmovn_s32(i0), vmovn_s32(i1));
            const int16x8_t h1 = vcombine_s16(vmovn_s32(i2), vmovn_s32(i3));
            vst1q_s8(qt + k, vcombine_s8(vmovn_s16(h0), vmovn_s16(h1)));
        }
        qsum[t] = tk_quantize_tail(xt, k, K, scale, qt, Kp, vaddvq_s32(sum));
        s[t] = scale;
    }
}

/* Elements i..i+3 of a dense matrix as f32 (exact conversions). */
static inline float32x4_t dense4(const void *w, tk_dtype dtype, int64_t i) {
    if (dtype == TK_F16) return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t *)w + i)));
    if (dtype == TK_BF16) return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16((const uint16_t *)w + i), 16));
    return vld1q_f32((const float *)w + i);
}

void tk_quantize_weight_rows_neon(const void *w, tk_dtype dtype, int64_t K, int64_t rows, int8_t *out, int64_t Kp,
                                  float *scale) {
    const int64_t K4 = K / 4 * 4;
    for (int64_t r = 0; r < rows; r++) {
        float32x4_t mv = vdupq_n_f32(0);
        for (int64_t k = 0; k < K4; k += 4) mv = vmaxnmq_f32(vabsq_f32(dense4(w, dtype, r * K + k)), mv);
        float m = vmaxnmvq_f32(mv);
        for (int64_t k = K4; k < K; k++) {
            const float a = fabsf(tk_dense_element(w, dtype, r * K + k));
            m = a > m ? a : m;
        }
        const float sc = m > 0.0f ? m / 127.0f : 1.0f;
        const float32x4_t scv = vdupq_n_f32(sc);
        int8_t *o = out + r * Kp;
        for (int64_t k = 0; k < K4; k += 4) {
            const int32x4_t i = vcvtnq_s32_f32(vdivq_f32(dense4(w, dtype, r * K + k), scv));
            const int16x4_t h = vmovn_s32(i);
            const int8x8_t b = vmovn_s16(vcombine_s16(h, h));
            memcpy(o + k, &b, 4);
        }
        for (int64_t k = K4; k < K; k++) o[k] = (int8_t)lrintf(tk_dense_element(w, dtype, r * K + k) / sc);
        if (Kp > K) memset(o + K, 0, (size_t)(Kp - K));
        scale[r] = sc;
    }
}
#endif
