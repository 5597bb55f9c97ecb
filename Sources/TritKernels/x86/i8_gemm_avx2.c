/* int8 head product, AVX2. There is no u8 × s8 product of signed weights, so it multiplies |w| (u8)
 * by sign(q, w) (s8): a pair sum is at most 2·127·127 = 32258, no i16 overflow (|q| ≤ 127 because
 * s = 127/max|x|). */
#if defined(__x86_64__)
#include <immintrin.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"

/* One row × tokens [0, NT) (NT <= 4): |w| once a step for the tokens, each token's sum in its own
 * i32 lanes (integer sums, so any grouping of tokens gives the same values). With prefetch, the
 * row's bytes 12 KB ahead into L2: the head streams from memory once per call (rows are
 * consecutive). */
TK_AVX2 TK_ALWAYS_INLINE void i8_row(const int8_t *wr, const int8_t *q, int64_t Kp, int NT, int prefetch,
                                     int32_t *sums) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc[4];
    for (int t = 0; t < NT; t++) acc[t] = _mm256_setzero_si256();
    for (int64_t k = 0; k < Kp; k += 32) {
        if (prefetch && (k & 63) == 0) _mm_prefetch((const char *)(wr + k + 12288), _MM_HINT_T1);
        const __m256i wv = _mm256_loadu_si256((const __m256i *)(wr + k)), aw = _mm256_abs_epi8(wv);
        for (int t = 0; t < NT; t++) {
            const __m256i qv = _mm256_loadu_si256((const __m256i *)(q + t * Kp + k));
            const __m256i p = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(qv, wv));
            acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(p, ones));
        }
    }
    for (int t = 0; t < NT; t++) sums[t] = tk_hsum_i32(acc[t]);
}

/* Rows outside (a row stays in L1 for every token), tokens in groups of 4 inside, so a row's |w|
 * serves 4 tokens. (Token groups outside, which keep a large batch's activations in L1, measured no
 * better.) */
TK_AVX2 void tk_i8_gemm_avx2(const int8_t *w, const float *wscale, int64_t Kp, int64_t r0, int64_t r1,
                             const int8_t *q, const float *s, int64_t n, float *out, int64_t ldo) {
    int32_t sums[4];
    for (int64_t r = r0; r < r1; r++) {
        const int8_t *wr = w + r * Kp;
        for (int64_t t0 = 0; t0 < n; t0 += 4) {
            const int8_t *qt = q + t0 * Kp;
            const int nt = n - t0 < 4 ? (int)(n - t0) : 4;
            switch (nt) {
            case 1: i8_row(wr, qt, Kp, 1, t0 == 0, sums); break;
            case 2: i8_row(wr, qt, Kp, 2, t0 == 0, sums); break;
            case 3: i8_row(wr, qt, Kp, 3, t0 == 0, sums); break;
            default: i8_row(wr, qt, Kp, 4, t0 == 0, sums); break;
            }
            for (int t = 0; t < nt; t++) out[(t0 + t) * ldo + r] = (float)sums[t] * wscale[r] / s[t0 + t];
        }
    }
}
#endif
