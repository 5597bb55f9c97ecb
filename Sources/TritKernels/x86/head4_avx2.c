/* The 4-bit certified head's product in AVX2 (docs/formats.md §7.1): the scalar twin's bits
 * (generic/head4.c). A group's 32 nibbles u = q + 8 (u8) times the int8 activations (s8) by maddubs,
 * paired to 8 i32 lanes, minus 8·Σa of each lane's 4 activations (corr): the exact integer sums of
 * q·a; each lane then one FMA with the group's scale. */
#if defined(__x86_64__)
#include <immintrin.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"

/* One row × tokens [0, NT) (NT ≤ 4): the row's nibbles unpacked once for all of them. */
TK_AVX2 TK_ALWAYS_INLINE void q4_row(const uint8_t *wr, const uint16_t *sr, int64_t Kp, const int8_t *q,
                                     const int32_t *corr, const float *gn, int NT, int prefetch,
                                     float *sums, float *errs) {
    const int64_t G = Kp / 32;
    const __m256i ones = _mm256_set1_epi16(1), low = _mm256_set1_epi8(0x0F);
    __m256 acc[4], eacc[4];
    for (int t = 0; t < NT; t++) acc[t] = eacc[t] = _mm256_setzero_ps();
    for (int64_t g0 = 0; g0 < G; g0 += 8) {
        if (prefetch) {
            _mm_prefetch((const char *)(wr + g0 * 16 + 8192), _MM_HINT_T1);
            _mm_prefetch((const char *)(wr + g0 * 16 + 8192 + 64), _MM_HINT_T1);
            if ((g0 & 31) == 0) _mm_prefetch((const char *)(sr + g0 + 1024), _MM_HINT_T1);
        }
        const __m256 sc8 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(sr + g0)));
        for (int t = 0; t < NT; t++)
            eacc[t] = _mm256_fmadd_ps(sc8, _mm256_loadu_ps(gn + t * G + g0), eacc[t]);
        for (int i = 0; i < 8; i++) {
            const int64_t g = g0 + i;
            const __m128i raw = _mm_loadu_si128((const __m128i *)(wr + g * 16));
            const __m256i wv = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), low);
            const __m256 c = _mm256_permutevar8x32_ps(sc8, _mm256_set1_epi32(i));
            for (int t = 0; t < NT; t++) {
                const __m256i a = _mm256_loadu_si256((const __m256i *)(q + t * Kp + g * 32));
                __m256i d = _mm256_madd_epi16(_mm256_maddubs_epi16(wv, a), ones);
                d = _mm256_sub_epi32(d, _mm256_loadu_si256((const __m256i *)(corr + t * (Kp / 4) + g * 8)));
                acc[t] = _mm256_fmadd_ps(c, _mm256_cvtepi32_ps(d), acc[t]);
            }
        }
    }
    for (int t = 0; t < NT; t++) {
        sums[t] = tk_hsum_ps(acc[t]);
        errs[t] = tk_hsum_ps(eacc[t]);
    }
}

TK_AVX2 void tk_q4_gemm_avx2(const uint8_t *w, const uint16_t *wscale, int64_t Kp, int64_t r0, int64_t r1,
                             const int8_t *q, const float *s, const int32_t *corr, const float *gn, int64_t n,
                             float *out, float *err, int64_t ldo) {
    const int64_t G = Kp / 32;
    float sums[4], errs[4];
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *wr = w + r * (Kp / 2);
        const uint16_t *sr = wscale + r * G;
        for (int64_t t0 = 0; t0 < n; t0 += 4) {
            const int8_t *qt = q + t0 * Kp;
            const int32_t *ct = corr + t0 * (Kp / 4);
            const float *gt = gn + t0 * G;
            const int nt = n - t0 < 4 ? (int)(n - t0) : 4;
            switch (nt) {
            case 1: q4_row(wr, sr, Kp, qt, ct, gt, 1, t0 == 0, sums, errs); break;
            case 2: q4_row(wr, sr, Kp, qt, ct, gt, 2, t0 == 0, sums, errs); break;
            case 3: q4_row(wr, sr, Kp, qt, ct, gt, 3, t0 == 0, sums, errs); break;
            default: q4_row(wr, sr, Kp, qt, ct, gt, 4, t0 == 0, sums, errs); break;
            }
            for (int t = 0; t < nt; t++) {
                out[(t0 + t) * ldo + r] = sums[t] / s[t0 + t];
                err[(t0 + t) * ldo + r] = errs[t];
            }
        }
    }
}
#endif
