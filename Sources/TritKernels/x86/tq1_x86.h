/* The decode of a TQ1_0 block (layout: trit_kernels.h) shared by the x86 variants of the in-place product
 * (x86/tq1_gemm_avx2.c, x86/tq1_gemm_avx512vnni.c): eight vectors of 32 codes, vector i the block's weights
 * 32i..32i+31, so each meets 32 consecutive activations.
 *
 * As the 5-trit rows' kernels: y = byte ^ 0x80 (signed bytes), y ← 3y by two byte adds (an odd multiplier keeps
 * the 0x80 bias: 3(y + 128) ≡ 3y + 128 mod 256), code = (y ≥ 86) + (y ≥ 171) as −(cmpgt(y, −43) + cmpgt(y, 42)).
 * qs[0..32) gives vectors 0..4 (trit n = vector n). qs[32..48) trit n holds weights 160 + 16n + m: the 16 bytes
 * times 3^n in the low lane and times 3^(n+1) in the high lane give weights 160 + 16n .. 191 + 16n, so vectors
 * 5 and 6 are [x | 3x] and [9x | 27x]; vector 7 is [81x | h] with h the four qh bytes, dword n times 3^n
 * (qh byte m trit n is weight 240 + 4n + m). */
#ifndef TRIT_TQ1_X86_H
#define TRIT_TQ1_X86_H
#include <string.h>
#include "simd_x86.h"

TK_AVX2 TK_ALWAYS_INLINE __m256i tq1_times3(__m256i y) {
    y = _mm256_add_epi8(y, _mm256_add_epi8(y, y));
    __asm__("" : "+x"(y));   /* keeps the compiler from turning the adds into multiplies */
    return y;
}

/* The codes 0..2 of 32 biased bytes. */
TK_AVX2 TK_ALWAYS_INLINE __m256i tq1_codes(__m256i y) {
    const __m256i lo = _mm256_set1_epi8(-43), hi = _mm256_set1_epi8(42);
    return _mm256_abs_epi8(_mm256_add_epi8(_mm256_cmpgt_epi8(y, lo), _mm256_cmpgt_epi8(y, hi)));
}

/* qs[0..32) biased: trit n is tq1_codes of it times 3^n. */
TK_AVX2 TK_ALWAYS_INLINE __m256i tq1_head(const uint8_t *blk) {
    return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)blk), _mm256_set1_epi8((char)0x80));
}

/* The biased vectors 5, 6 and 7 of the block (weights 160..255), from qs[32..48) and qh: X = [x | h h h h] (h
 * the four qh bytes in each dword of the high lane) times 1, 3, 9, 27, 81 by one chain of byte adds, then the
 * lanes gathered: [x | 3x], [9x | 27x], [81x | h·1, h·3, h·9, h·27 by dword]. */
TK_AVX2 TK_ALWAYS_INLINE void tq1_tail(const uint8_t *blk, __m256i *v5, __m256i *v6, __m256i *v7) {
    int32_t qh;
    memcpy(&qh, blk + 48, 4);
    const __m256i x1 = _mm256_xor_si256(
        _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(blk + 32))),
                                _mm_set1_epi32(qh), 1),
        _mm256_set1_epi8((char)0x80));
    const __m256i x3 = tq1_times3(x1), x9 = tq1_times3(x3), x27 = tq1_times3(x9), x81 = tq1_times3(x27);
    *v5 = _mm256_permute2x128_si256(x1, x3, 0x20);
    *v6 = _mm256_permute2x128_si256(x9, x27, 0x20);
    const __m256i h = _mm256_blend_epi32(_mm256_blend_epi32(x1, x3, 0x20), _mm256_blend_epi32(x9, x27, 0x80), 0xC0);
    *v7 = _mm256_blend_epi32(x81, h, 0xF0);
}

/* The bytes ahead each row's blocks are prefetched into L2 (as the 5-trit rows' kernel), and the widths whose
 * activations fit L1 for 8 tokens a pass (else 4). */
#define TQ1_PF_DIST 12288
#define TQ1_GROUP_MAX_KP 3072

/* The passes shared by the variants (ATTR: their target attribute; row_tokens(row, q, kp, NT, prefetch, sums),
 * the NT integer sums of one row, defined by each): token groups outside, rows inside, as the packed rows'
 * kernel; each sum becomes (sum − qsum) / s · beta, the scalar twin's epilogue. */
#define TQ1_PASSES(ATTR, NAME)                                                                                    \
ATTR TK_ALWAYS_INLINE void rows_tokens(const uint8_t *blocks, int64_t kp, int64_t r0, int64_t r1, const int8_t *q, \
                                       const float *s, const int32_t *qsum, int64_t t0, int NT, int prefetch,     \
                                       float beta, float *out, int64_t ldo) {                                    \
    const int64_t row_bytes = tk_tq1_row_bytes(kp);                                                            \
    const int8_t *qt = q + t0 * kp;                                                                            \
    int32_t sums[8];                                                                                           \
    for (int64_t r = r0; r < r1; r++) {                                                                        \
        row_tokens(blocks + r * row_bytes, qt, kp, NT, prefetch, sums);                                        \
        for (int t = 0; t < NT; t++) out[(t0 + t) * ldo + r] = (float)(sums[t] - qsum[t0 + t]) / s[t0 + t] * beta; \
    }                                                                                                          \
}                                                                                                              \
ATTR void NAME(const uint8_t *blocks, int64_t K, int64_t r0, int64_t r1, const int8_t *q, const float *s,       \
               const int32_t *qsum, int64_t n, float beta, float *out, int64_t ldo) {                         \
    const int64_t group = K <= TQ1_GROUP_MAX_KP ? 8 : 4;                                                       \
    for (int64_t t0 = 0; t0 < n; t0 += group) {                                                                \
        const int pf = t0 == 0;                                                                                \
        switch (n - t0 < group ? n - t0 : group) {                                                             \
        case 1: rows_tokens(blocks, K, r0, r1, q, s, qsum, t0, 1, pf, beta, out, ldo); break;                  \
        case 2: rows_tokens(blocks, K, r0, r1, q, s, qsum, t0, 2, pf, beta, out, ldo); break;                  \
        case 3: rows_tokens(blocks, K, r0, r1, q, s, qsum, t0, 3, pf, beta, out, ldo); break;                  \
        case 4: rows_tokens(blocks, K, r0, r1, q, s, qsum, t0, 4, pf, beta, out, ldo); break;                  \
        case 5: rows_tokens(blocks, K, r0, r1, q, s, qsum, t0, 5, pf, beta, out, ldo); break;                  \
        case 6: rows_tokens(blocks, K, r0, r1, q, s, qsum, t0, 6, pf, beta, out, ldo); break;                  \
        case 7: rows_tokens(blocks, K, r0, r1, q, s, qsum, t0, 7, pf, beta, out, ldo); break;                  \
        default: rows_tokens(blocks, K, r0, r1, q, s, qsum, t0, 8, pf, beta, out, ldo); break;                 \
        }                                                                                                      \
    }                                                                                                          \
}

#endif
