/* AVX2 forms of the quantizers (generic/quantize.c): the activations' per-token int8 quantization
 * and the int8 head's per-row quantization at load. Both are bit-identical to the scalar forms: the
 * absmax is order-free, and vcvtps2dq rounds by MXCSR, half to even in the default mode, as lrintf
 * does. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include <string.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"

/* 8 floats → 8 rounded, clamped i32; NaN → 0 (as the scalar form). */
TK_AVX2 static inline __m256i quantize8(const float *x, __m256 scale) {
    const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x), scale);
    const __m256 c = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-128.0f)), _mm256_set1_ps(127.0f));
    const __m256i ordered = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_ORD_Q));
    return _mm256_and_si256(_mm256_cvtps_epi32(c), ordered);
}

TK_AVX2 void tk_quantize_rows_avx2(const float *x, int64_t ldx, int64_t K, int64_t n,
                                   int8_t *q, int64_t Kp, float *s, int32_t *qsum) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    const __m256i ones16 = _mm256_set1_epi16(1);
    const int64_t K32 = K / 32 * 32;
    for (int64_t t = 0; t < n; t++) {
        const float *xt = x + t * ldx;
        int8_t *qt = q + t * Kp;
        __m256 mv = _mm256_setzero_ps();
        int64_t k = 0;
        /* max_ps(a, m) keeps m when a is NaN, as the scalar `a > m ? a : m` does */
        for (; k + 8 <= K; k += 8) mv = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(xt + k), absmask), mv);
        float m = tk_hmax_ps(mv);
        for (; k < K; k++) { const float a = fabsf(xt[k]); m = a > m ? a : m; }
        if (!(m > 1e-5f)) m = 1e-5f;
        const float scale = 127.0f / m;
        const __m256 sv = _mm256_set1_ps(scale);
        __m256i sum = _mm256_setzero_si256();
        for (k = 0; k < K32; k += 32) {
            const __m256i i0 = quantize8(xt + k, sv), i1 = quantize8(xt + k + 8, sv);
            const __m256i i2 = quantize8(xt + k + 16, sv), i3 = quantize8(xt + k + 24, sv);
            const __m256i p01 = _mm256_packs_epi32(i0, i1), p23 = _mm256_packs_epi32(i2, i3);
            sum = _mm256_add_epi32(sum, _mm256_madd_epi16(_mm256_add_epi16(p01, p23), ones16));
            const __m256i b = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p01, p23), order);
            _mm256_storeu_si256((__m256i *)(qt + k), b);
        }
        qsum[t] = tk_quantize_tail(xt, k, K, scale, qt, Kp, tk_hsum_i32(sum));
        s[t] = scale;
    }
}

/* tk_quantize_weight_rows, 8 at a time: vcvtps2dq rounds half to even in the default mode, as
 * lrintf does, and the quotient is formed by the same division, so the result equals the scalar. */
TK_AVX2 void tk_quantize_weight_rows_avx2(const void *w, tk_dtype dtype, int64_t K, int64_t rows,
                                          int8_t *out, int64_t Kp, float *scale) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const int64_t K8 = K / 8 * 8;
    for (int64_t r = 0; r < rows; r++) {
        __m256 mv = _mm256_setzero_ps();
        for (int64_t k = 0; k < K8; k += 8) mv = _mm256_max_ps(_mm256_and_ps(tk_dense8(w, dtype, r * K + k), absmask), mv);
        float m = tk_hmax_ps(mv);
        for (int64_t k = K8; k < K; k++) { const float a = fabsf(tk_dense_element(w, dtype, r * K + k)); m = a > m ? a : m; }
        const float sc = m > 0.0f ? m / 127.0f : 1.0f;
        const __m256 scv = _mm256_set1_ps(sc);
        int8_t *o = out + r * Kp;
        for (int64_t k = 0; k < K8; k += 8) {
            const __m256i i32 = _mm256_cvtps_epi32(_mm256_div_ps(tk_dense8(w, dtype, r * K + k), scv));
            const __m128i i16 = _mm_packs_epi32(_mm256_castsi256_si128(i32), _mm256_extracti128_si256(i32, 1));
            _mm_storel_epi64((__m128i *)(o + k), _mm_packs_epi16(i16, i16));
        }
        for (int64_t k = K8; k < K; k++) o[k] = (int8_t)lrintf(tk_dense_element(w, dtype, r * K + k) / sc);
        if (Kp > K) memset(o + K, 0, (size_t)(Kp - K));
        scale[r] = sc;
    }
}
#endif
