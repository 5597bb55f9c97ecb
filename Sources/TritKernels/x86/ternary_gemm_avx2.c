/* AVX2 ternary product: vpmaddubsw (u8 code x s8 activation -> i16 pairs), the i16 sums of up to
 * ACC16_BLOCKS blocks widened to i32 by one vpmaddwd. Same integer sums as
 * generic/ternary_gemm_scalar.c (integer adds are exact in any order).
 *
 * A block's 32 bytes hold 4 strips of 32 codes (strip g at bit shift 6-2g); each strip is decoded
 * (shift, and) when it is used and multiplied into the tile's NT <= 8 tokens: per 128 weights and
 * token 4 vpmaddubsw and 4 i16 adds (the old per-block vpmaddwd and i32 add are gone), the decode
 * shared by the tokens. One row a tile: a 2-row × 4-token tile needs more than the 16 ymm registers
 * once the compiler interleaves the strips, and spilled.
 *
 * Overflow: a code is <= 2 and q is in [-128, 127], so a vpmaddubsw pair is in [-512, 508] (no
 * saturation), a block's four strips add [-2048, 2032] to an i16 lane, and ACC16_BLOCKS = 16 blocks
 * stay in [-32768, 32512]: the most that fit (17 would not; the extreme-sums test checks it). */
#if defined(__x86_64__)
#include <immintrin.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"

#define ACC16_BLOCKS 16
/* Bytes ahead of the current weight position prefetched into L2 while a tile's rows are read from
 * memory (decode, and a prompt's first token group): rows are consecutive, so the weights stream
 * linearly (the hardware prefetcher alone loses much of the bandwidth on short rows). */
#define PF_DIST 12288

/* One row × tokens [0, NT) of q (token stride kp, NT <= 8): the NT i32 lane vectors whose lanes add up
 * to Σ code·q into acc[0..NT). */
TK_AVX2 TK_ALWAYS_INLINE void row_tokens(const uint8_t *row, const int8_t *q, int64_t kp, int64_t nblocks, int NT,
                                         int prefetch, __m256i *acc) {
    const __m256i mask = _mm256_set1_epi8(3), ones16 = _mm256_set1_epi16(1);
    for (int t = 0; t < NT; t++) acc[t] = _mm256_setzero_si256();
    for (int64_t b0 = 0; b0 < nblocks; b0 += ACC16_BLOCKS) {
        const int64_t b1 = b0 + ACC16_BLOCKS < nblocks ? b0 + ACC16_BLOCKS : nblocks;
        __m256i p[8];
        for (int t = 0; t < NT; t++) p[t] = _mm256_setzero_si256();
        for (int64_t b = b0; b < b1; b++) {
            const uint8_t *blk = row + b * TK_BLOCK_BYTES;
            if (prefetch) _mm_prefetch((const char *)(blk + PF_DIST), _MM_HINT_T1);
            const __m256i w = _mm256_loadu_si256((const __m256i *)blk);
            const int8_t *qb = q + b * TK_BLOCK;
            for (int g = 0; g < 4; g++) {
                const __m256i c = _mm256_and_si256(g == 3 ? w : _mm256_srli_epi16(w, 6 - 2 * g), mask);
                for (int t = 0; t < NT; t++) {
                    const __m256i qv = _mm256_loadu_si256((const __m256i *)(qb + t * kp + 32 * g));
                    p[t] = _mm256_add_epi16(p[t], _mm256_maddubs_epi16(c, qv));
                }
            }
        }
        for (int t = 0; t < NT; t++) acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(p[t], ones16));
    }
}

/* The lane sums of v[0..8) as one vector (lane i: the sum of v[i]'s lanes; integer sums are exact in
 * any order). */
TK_AVX2 TK_ALWAYS_INLINE __m256i hsum8_i32(const __m256i *v) {
    const __m256i h0 = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
    const __m256i h1 = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(h0, h1, 0x20), _mm256_permute2x128_si256(h0, h1, 0x31));
}

/* Rows [r0, r1) × NT tokens from t0, 8 rows at a time: each row's lane vectors are kept (acc, 2 KB),
 * then a token's 8 row sums are added up as one vector and scaled by one division, in the scalar twin's
 * order ((float)(sum - qsum) / s · beta, the same rounding lane by lane), and stored as 8 floats. */
TK_AVX2 TK_ALWAYS_INLINE void rows_tokens(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                                          const int8_t *q, const float *s, const int32_t *qsum, int64_t t0, int NT,
                                          int prefetch, float beta, float *out, int64_t ldo) {
    const int64_t nblocks = row_bytes / TK_BLOCK_BYTES, kp = nblocks * TK_BLOCK;
    const int8_t *qt = q + t0 * kp;
    __m256i acc[8][8];   /* [token][row of the 8] */
    __m256i a[8];
    const __m256 vbeta = _mm256_set1_ps(beta);
    for (int64_t r8 = r0; r8 < r1; r8 += 8) {
        const int nr = r1 - r8 < 8 ? (int)(r1 - r8) : 8;
        for (int i = 0; i < 8; i++) {
            if (i < nr) row_tokens(codes + (r8 + i) * row_bytes, qt, kp, nblocks, NT, prefetch, a);
            for (int t = 0; t < NT; t++) acc[t][i] = i < nr ? a[t] : _mm256_setzero_si256();
        }
        for (int t = 0; t < NT; t++) {
            const __m256i sum = _mm256_sub_epi32(hsum8_i32(acc[t]), _mm256_set1_epi32(qsum[t0 + t]));
            const __m256 y = _mm256_mul_ps(_mm256_div_ps(_mm256_cvtepi32_ps(sum), _mm256_set1_ps(s[t0 + t])), vbeta);
            float *o = out + (t0 + t) * ldo + r8;
            if (nr == 8) _mm256_storeu_ps(o, y);
            else {
                float tmp[8];
                _mm256_storeu_ps(tmp, y);
                for (int i = 0; i < nr; i++) o[i] = tmp[i];
            }
        }
    }
}

/* Tokens a group: 8 (the decode of a block shared by 8) while the group's activations fit in L1
 * with the weights going past (K <= 3072: 24 KB), else 4 (8 tokens of a wide product, such as
 * 2B4T's FFN down at K = 6912, read their activations from L2 and gained nothing). */
#define GROUP_MAX_KP 3072

TK_AVX2 void tk_ternary_gemm_avx2(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                                  const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                                  float beta, float *out, int64_t ldo) {
    /* token groups outside, rows inside: the group's activations stay in L1 while the call's rows
     * (a chunk sized for L2 by parallel.c) stream past; the first group reads them from memory */
    const int64_t group = row_bytes / TK_BLOCK_BYTES * TK_BLOCK <= GROUP_MAX_KP ? 8 : 4;
    for (int64_t t0 = 0; t0 < n; t0 += group) {
        const int pf = t0 == 0;
        switch (n - t0 < group ? n - t0 : group) {
        case 1: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 1, pf, beta, out, ldo); break;
        case 2: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 2, pf, beta, out, ldo); break;
        case 3: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 3, pf, beta, out, ldo); break;
        case 4: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 4, pf, beta, out, ldo); break;
        case 5: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 5, pf, beta, out, ldo); break;
        case 6: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 6, pf, beta, out, ldo); break;
        case 7: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 7, pf, beta, out, ldo); break;
        default: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 8, pf, beta, out, ldo); break;
        }
    }
}
#endif
