/* AVX2 5-trit product (layout: trit_kernels.h): the same integer sums as generic/trit5_gemm_scalar.c.
 *
 * Decode of a 32-byte block (160 weights): y = byte ^ 0x80 once (signed bytes), then per trit n: y ← 3y
 * (two vpaddb; the multiply by 3 mod 256 commutes with the ^0x80 bias: 3(y+128) ≡ 3y + 128 mod 256),
 * t = (y ≥ 86) + (y ≥ 171) as −(cmpgt(y, −43) + cmpgt(y, 42)) (two vpcmpgtb, a vpaddb, a vpabsb): 6 ops a
 * trit against the packed rows' 2 (shift, and). The trits meet the tile's NT ≤ 8 tokens by vpmaddubsw into
 * i16 partial sums, widened by one vpmaddwd every ACC16_BLOCKS blocks.
 *
 * Overflow: t ≤ 2 and q in [−128, 127], so a vpmaddubsw pair is in [−512, 508], a block's five trits add
 * [−2560, 2540] to an i16 lane, and ACC16_BLOCKS = 12 blocks stay in [−30720, 30480] (13 would not). */
#if defined(__x86_64__)
#include <immintrin.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"

#define ACC16_BLOCKS 12
#define PF_DIST 12288   /* bytes ahead prefetched into L2 (as the packed rows' kernel) */

TK_AVX2 TK_ALWAYS_INLINE void hsum4_i32(const __m256i *a, int nt, int32_t *sums) {
    const __m256i z = _mm256_setzero_si256();
    const __m256i h01 = _mm256_hadd_epi32(a[0], nt > 1 ? a[1] : z);
    const __m256i h23 = _mm256_hadd_epi32(nt > 2 ? a[2] : z, nt > 3 ? a[3] : z);
    const __m256i h = _mm256_hadd_epi32(h01, h23);
    _mm_storeu_si128((__m128i *)sums, _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)));
}

/* The trits ND (≤ 5) of block blk times the NT tokens' activations qb (token stride kp), into the i16 sums p. */
TK_AVX2 TK_ALWAYS_INLINE void block_tokens(const uint8_t *blk, const int8_t *qb, int64_t kp, int ND, int NT,
                                           __m256i *p) {
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
            p[t] = _mm256_add_epi16(p[t], _mm256_maddubs_epi16(c, qv));
        }
    }
}

/* One row × NT tokens: the NT integer sums Σ t·q into sums[0..NT). */
TK_AVX2 TK_ALWAYS_INLINE void row_tokens(const uint8_t *row, const int8_t *q, int64_t kp, int NT, int prefetch,
                                         int32_t *sums) {
    const __m256i ones16 = _mm256_set1_epi16(1);
    const int64_t nfull = kp / TK_T5_BLOCK;
    const int tail = (int)(kp % TK_T5_BLOCK / 32);
    __m256i acc[8], p[8];
    for (int t = 0; t < NT; t++) acc[t] = _mm256_setzero_si256();
    for (int64_t b0 = 0; b0 < nfull; b0 += ACC16_BLOCKS) {
        const int64_t b1 = b0 + ACC16_BLOCKS < nfull ? b0 + ACC16_BLOCKS : nfull;
        for (int t = 0; t < NT; t++) p[t] = _mm256_setzero_si256();
        for (int64_t b = b0; b < b1; b++) {
            if (prefetch) _mm_prefetch((const char *)(row + b * 32 + PF_DIST), _MM_HINT_T1);
            block_tokens(row + b * 32, q + b * TK_T5_BLOCK, kp, 5, NT, p);
        }
        for (int t = 0; t < NT; t++) acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(p[t], ones16));
    }
    if (tail) {
        for (int t = 0; t < NT; t++) p[t] = _mm256_setzero_si256();
        const uint8_t *blk = row + nfull * 32;
        const int8_t *qb = q + nfull * TK_T5_BLOCK;
        switch (tail) {
        case 1: block_tokens(blk, qb, kp, 1, NT, p); break;
        case 2: block_tokens(blk, qb, kp, 2, NT, p); break;
        case 3: block_tokens(blk, qb, kp, 3, NT, p); break;
        default: block_tokens(blk, qb, kp, 4, NT, p); break;
        }
        for (int t = 0; t < NT; t++) acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(p[t], ones16));
    }
    hsum4_i32(acc, NT < 4 ? NT : 4, sums);
    if (NT > 4) hsum4_i32(acc + 4, NT - 4, sums + 4);
}

TK_AVX2 TK_ALWAYS_INLINE void rows_tokens(const uint8_t *codes, int64_t kp, int64_t r0, int64_t r1, const int8_t *q,
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

/* Token groups outside, rows inside, as the packed rows' kernel (8 tokens while their activations fit L1). */
#define GROUP_MAX_KP 3072

TK_AVX2 void tk_trit5_gemm_avx2(const uint8_t *codes, int64_t Kp, int64_t r0, int64_t r1,
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
