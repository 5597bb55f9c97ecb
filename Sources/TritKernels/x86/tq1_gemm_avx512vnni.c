/* AVX-512 VNNI TQ1_0 in-place product (256-bit vectors, AVX512VL; decode: x86/tq1_x86.h): the AVX2 form with
 * the codes multiplied into i32 lanes by vpdpbusd (u8 code × s8 activation, four products a lane), so no i16
 * partial sums. vpdpbusd's latency makes one accumulator a token the limit for one or two tokens: those keep
 * NACC. Same integer sums as generic/tq1_gemm_scalar.c. */
#if defined(__x86_64__)
#include <immintrin.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"
#include "tq1_x86.h"

#define NACC(NT) ((NT) <= 2 ? 4 : 1)   /* accumulators a token */

TK_VNNI TK_ALWAYS_INLINE void hsum4_i32_vnni(const __m256i *a, int nt, int32_t *sums) {
    const __m256i z = _mm256_setzero_si256();
    const __m256i h01 = _mm256_hadd_epi32(a[0], nt > 1 ? a[1] : z);
    const __m256i h23 = _mm256_hadd_epi32(nt > 2 ? a[2] : z, nt > 3 ? a[3] : z);
    const __m256i h = _mm256_hadd_epi32(h01, h23);
    _mm_storeu_si128((__m128i *)sums, _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)));
}

/* Codes c (weights 32i..32i+31 of the block) times the NT tokens' activations qb + 32i, into the i32 sums acc. */
TK_VNNI TK_ALWAYS_INLINE void dot_vnni(__m256i c, const int8_t *qb, int64_t kp, int i, int NT, __m256i *acc) {
    for (int t = 0; t < NT; t++) {
        const __m256i qv = _mm256_loadu_si256((const __m256i *)(qb + t * kp + 32 * i));
        __m256i *a = &acc[t * NACC(NT) + i % NACC(NT)];
        *a = _mm256_dpbusd_epi32(*a, c, qv);
    }
}

TK_VNNI TK_ALWAYS_INLINE void block_tokens(const uint8_t *blk, const int8_t *qb, int64_t kp, int NT, __m256i *acc) {
    __m256i y = tq1_head(blk);
    for (int d = 0; d < 5; d++) {
        if (d) y = tq1_times3(y);
        dot_vnni(tq1_codes(y), qb, kp, d, NT, acc);
    }
    __m256i v5, v6, v7;
    tq1_tail(blk, &v5, &v6, &v7);
    dot_vnni(tq1_codes(v5), qb, kp, 5, NT, acc);
    dot_vnni(tq1_codes(v6), qb, kp, 6, NT, acc);
    dot_vnni(tq1_codes(v7), qb, kp, 7, NT, acc);
}

TK_VNNI TK_ALWAYS_INLINE void row_tokens(const uint8_t *row, const int8_t *q, int64_t kp, int NT, int prefetch,
                                         int32_t *sums) {
    const int64_t nblocks = kp / TK_TQ1_BLOCK;
    __m256i acc[8];
    for (int i = 0; i < NT * NACC(NT); i++) acc[i] = _mm256_setzero_si256();
    for (int64_t b = 0; b < nblocks; b++) {
        const uint8_t *blk = row + b * TK_TQ1_BLOCK_BYTES;
        if (prefetch) _mm_prefetch((const char *)(blk + TQ1_PF_DIST), _MM_HINT_T1);
        block_tokens(blk, q + b * TK_TQ1_BLOCK, kp, NT, acc);
    }
    if (NACC(NT) > 1) {
        for (int t = 0; t < NT; t++)
            for (int i = 1; i < NACC(NT); i++) acc[t * NACC(NT)] = _mm256_add_epi32(acc[t * NACC(NT)], acc[t * NACC(NT) + i]);
        for (int t = 1; t < NT; t++) acc[t] = acc[t * NACC(NT)];
    }
    hsum4_i32_vnni(acc, NT < 4 ? NT : 4, sums);
    if (NT > 4) hsum4_i32_vnni(acc + 4, NT - 4, sums + 4);
}

TQ1_PASSES(TK_VNNI, tk_tq1_gemm_avx512vnni)
#endif
