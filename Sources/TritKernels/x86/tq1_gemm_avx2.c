/* AVX2 TQ1_0 in-place product (layout: trit_kernels.h; decode: x86/tq1_x86.h): the same integer sums as
 * generic/tq1_gemm_scalar.c. The codes meet the tile's NT ≤ 8 tokens by vpmaddubsw into i16 partial sums,
 * widened by one vpmaddwd every ACC16_BLOCKS blocks.
 *
 * Overflow: a code is ≤ 2 and q in [−128, 127], so a vpmaddubsw pair is in [−512, 508]; a block's eight
 * vectors add eight pairs to an i16 lane, and ACC16_BLOCKS = 8 blocks (64 pairs) stay in [−32768, 32512]. */
#if defined(__x86_64__)
#include <immintrin.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"
#include "tq1_x86.h"

#define ACC16_BLOCKS 8

TK_AVX2 TK_ALWAYS_INLINE void hsum4_i32(const __m256i *a, int nt, int32_t *sums) {
    const __m256i z = _mm256_setzero_si256();
    const __m256i h01 = _mm256_hadd_epi32(a[0], nt > 1 ? a[1] : z);
    const __m256i h23 = _mm256_hadd_epi32(nt > 2 ? a[2] : z, nt > 3 ? a[3] : z);
    const __m256i h = _mm256_hadd_epi32(h01, h23);
    _mm_storeu_si128((__m128i *)sums, _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)));
}

/* Codes c (weights 32i..32i+31 of the block) times the NT tokens' activations qb + 32i, into the i16 sums p. */
TK_AVX2 TK_ALWAYS_INLINE void dot(__m256i c, const int8_t *qb, int64_t kp, int i, int NT, __m256i *p) {
    for (int t = 0; t < NT; t++) {
        const __m256i qv = _mm256_loadu_si256((const __m256i *)(qb + t * kp + 32 * i));
        p[t] = _mm256_add_epi16(p[t], _mm256_maddubs_epi16(c, qv));
    }
}

/* One block (256 weights) times the NT tokens' activations qb (token stride kp). */
TK_AVX2 TK_ALWAYS_INLINE void block_tokens(const uint8_t *blk, const int8_t *qb, int64_t kp, int NT, __m256i *p) {
    __m256i y = tq1_head(blk);
    for (int d = 0; d < 5; d++) {
        if (d) y = tq1_times3(y);
        dot(tq1_codes(y), qb, kp, d, NT, p);
    }
    __m256i v5, v6, v7;
    tq1_tail(blk, &v5, &v6, &v7);
    dot(tq1_codes(v5), qb, kp, 5, NT, p);
    dot(tq1_codes(v6), qb, kp, 6, NT, p);
    dot(tq1_codes(v7), qb, kp, 7, NT, p);
}

/* One row × NT tokens: the NT integer sums Σ code·q into sums[0..NT). */
TK_AVX2 TK_ALWAYS_INLINE void row_tokens(const uint8_t *row, const int8_t *q, int64_t kp, int NT, int prefetch,
                                         int32_t *sums) {
    const __m256i ones16 = _mm256_set1_epi16(1);
    const int64_t nblocks = kp / TK_TQ1_BLOCK;
    __m256i acc[8], p[8];
    for (int t = 0; t < NT; t++) acc[t] = _mm256_setzero_si256();
    for (int64_t b0 = 0; b0 < nblocks; b0 += ACC16_BLOCKS) {
        const int64_t b1 = b0 + ACC16_BLOCKS < nblocks ? b0 + ACC16_BLOCKS : nblocks;
        for (int t = 0; t < NT; t++) p[t] = _mm256_setzero_si256();
        for (int64_t b = b0; b < b1; b++) {
            const uint8_t *blk = row + b * TK_TQ1_BLOCK_BYTES;
            if (prefetch) _mm_prefetch((const char *)(blk + TQ1_PF_DIST), _MM_HINT_T1);
            block_tokens(blk, q + b * TK_TQ1_BLOCK, kp, NT, p);
        }
        for (int t = 0; t < NT; t++) acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(p[t], ones16));
    }
    hsum4_i32(acc, NT < 4 ? NT : 4, sums);
    if (NT > 4) hsum4_i32(acc + 4, NT - 4, sums + 4);
}

TQ1_PASSES(TK_AVX2, tk_tq1_gemm_avx2)
#endif
