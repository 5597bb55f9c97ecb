/* AVX-512 VNNI 5-trit product (256-bit vectors, AVX512VL): the AVX2 form (x86/trit5_gemm_avx2.c) with the
 * trits multiplied into i32 lanes by vpdpbusd (u8 trit × s8 activation, four products a lane), so no i16
 * partial sums and no widening. The decode is the AVX2 form's (the compares into mask registers, a masked
 * move and a masked add, measured slower on Zen 4). vpdpbusd's latency makes one accumulator a token the
 * limit for one or two tokens: those keep one a trit (NACC). Same integer sums as generic/trit5_gemm_scalar.c. 256-bit: the loop is memory-bound, and a 32-byte block is the layout's unit. */
#if defined(__x86_64__)
#include <immintrin.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"

#define PF_DIST 12288
#define NACC(NT) ((NT) <= 2 ? 5 : 1)   /* accumulators a token */

TK_VNNI TK_ALWAYS_INLINE void hsum4_i32_vnni(const __m256i *a, int nt, int32_t *sums) {
    const __m256i z = _mm256_setzero_si256();
    const __m256i h01 = _mm256_hadd_epi32(a[0], nt > 1 ? a[1] : z);
    const __m256i h23 = _mm256_hadd_epi32(nt > 2 ? a[2] : z, nt > 3 ? a[3] : z);
    const __m256i h = _mm256_hadd_epi32(h01, h23);
    _mm_storeu_si128((__m128i *)sums, _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)));
}

/* The trits ND (≤ 5) of block blk times the NT tokens' activations qb (token stride kp), into the i32 sums acc. */
TK_VNNI TK_ALWAYS_INLINE void block_tokens(const uint8_t *blk, const int8_t *qb, int64_t kp, int ND, int NT,
                                           __m256i *acc) {
    const __m256i bias = _mm256_set1_epi8((char)0x80), lo = _mm256_set1_epi8(-43), hi = _mm256_set1_epi8(42);
    __m256i y = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)blk), bias);
    for (int d = 0; d < ND; d++) {
        if (d) {   /* 3y as two byte adds (the barrier keeps the compiler from turning it into multiplies) */
            y = _mm256_add_epi8(y, _mm256_add_epi8(y, y));
            __asm__("" : "+x"(y));
        }
        const __m256i c = _mm256_abs_epi8(_mm256_add_epi8(_mm256_cmpgt_epi8(y, lo), _mm256_cmpgt_epi8(y, hi)));
        for (int t = 0; t < NT; t++) {
            const __m256i qv = _mm256_loadu_si256((const __m256i *)(qb + t * kp + 32 * d));
            acc[t * NACC(NT) + d % NACC(NT)] = _mm256_dpbusd_epi32(acc[t * NACC(NT) + d % NACC(NT)], c, qv);
        }
    }
}

/* One row × NT tokens: the NT integer sums Σ t·q into sums[0..NT). */
TK_VNNI TK_ALWAYS_INLINE void row_tokens(const uint8_t *row, const int8_t *q, int64_t kp, int NT, int prefetch,
                                         int32_t *sums) {
    const int64_t nfull = kp / TK_T5_BLOCK;
    const int tail = (int)(kp % TK_T5_BLOCK / 32);
    __m256i acc[10];
    for (int i = 0; i < NT * NACC(NT); i++) acc[i] = _mm256_setzero_si256();
    for (int64_t b = 0; b < nfull; b++) {
        if (prefetch) _mm_prefetch((const char *)(row + b * 32 + PF_DIST), _MM_HINT_T1);
        block_tokens(row + b * 32, q + b * TK_T5_BLOCK, kp, 5, NT, acc);
    }
    if (tail) {
        const uint8_t *blk = row + nfull * 32;
        const int8_t *qb = q + nfull * TK_T5_BLOCK;
        switch (tail) {
        case 1: block_tokens(blk, qb, kp, 1, NT, acc); break;
        case 2: block_tokens(blk, qb, kp, 2, NT, acc); break;
        case 3: block_tokens(blk, qb, kp, 3, NT, acc); break;
        default: block_tokens(blk, qb, kp, 4, NT, acc); break;
        }
    }
    if (NACC(NT) > 1)
        for (int t = 0; t < NT; t++)
            for (int i = 1; i < NACC(NT); i++) acc[t * NACC(NT)] = _mm256_add_epi32(acc[t * NACC(NT)], acc[t * NACC(NT) + i]);
    if (NACC(NT) > 1)
        for (int t = 1; t < NT; t++) acc[t] = acc[t * NACC(NT)];
    hsum4_i32_vnni(acc, NT < 4 ? NT : 4, sums);
    if (NT > 4) hsum4_i32_vnni(acc + 4, NT - 4, sums + 4);
}

TK_VNNI TK_ALWAYS_INLINE void rows_tokens(const uint8_t *codes, int64_t kp, int64_t r0, int64_t r1, const int8_t *q,
                                          const float *s, const int32_t *qsum, int64_t t0, int NT, int prefetch,
                                          float beta, float *out, int64_t ldo) {
    const int64_t row_bytes = tk_trit5_row_bytes(kp);
    const int8_t *qt = q + t0 * kp;
    int32_t sums[8];
    for (int64_t r = r0; r < r1; r++) {
        row_tokens(codes + r * row_bytes, qt, kp, NT, prefetch, sums);
        for (int t = 0; t < NT; t++) out[(t0 + t) * ldo + r] = (float)(sums[t] - qsum[t0 + t]) / s[t0 + t] * beta;
    }
}

#define GROUP_MAX_KP 3072

TK_VNNI void tk_trit5_gemm_avx512vnni(const uint8_t *codes, int64_t Kp, int64_t r0, int64_t r1,
                                      const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                                      float beta, float *out, int64_t ldo) {
    const int64_t group = Kp <= GROUP_MAX_KP ? 8 : 4;
    for (int64_t t0 = 0; t0 < n; t0 += group) {
        const int pf = t0 == 0;
        switch (n - t0 < group ? n - t0 : group) {
        case 1: rows_tokens(codes, Kp, r0, r1, q, s, qsum, t0, 1, pf, beta, out, ldo); break;
        case 2: rows_tokens(codes, Kp, r0, r1, q, s, qsum, t0, 2, pf, beta, out, ldo); break;
        case 3: rows_tokens(codes, Kp, r0, r1, q, s, qsum, t0, 3, pf, beta, out, ldo); break;
        case 4: rows_tokens(codes, Kp, r0, r1, q, s, qsum, t0, 4, pf, beta, out, ldo); break;
        case 5: rows_tokens(codes, Kp, r0, r1, q, s, qsum, t0, 5, pf, beta, out, ldo); break;
        case 6: rows_tokens(codes, Kp, r0, r1, q, s, qsum, t0, 6, pf, beta, out, ldo); break;
        case 7: rows_tokens(codes, Kp, r0, r1, q, s, qsum, t0, 7, pf, beta, out, ldo); break;
        default: rows_tokens(codes, Kp, r0, r1, q, s, qsum, t0, 8, pf, beta, out, ldo); break;
        }
    }
}
#endif
