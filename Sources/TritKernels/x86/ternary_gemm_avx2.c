/* AVX2 ternary product: vpmaddubsw (u8 code x s8 activation -> i16 pairs), the i16 sums of up to
 * ACC16_BLOCKS blocks widened to i32 by one vpmaddwd. Same integer sums as
 * generic/ternary_gemm_scalar.c (integer adds are exact in any order).
 *
 * A block's 32 bytes hold 4 strips of 32 codes (strip g at bit shift 6-2g); each strip is decoded
 * (shift, and) when it is used and multiplied into the tile's NT <= 4 tokens: per 128 weights and
 * token 4 vpmaddubsw and 4 i16 adds (the old per-block vpmaddwd and i32 add are gone), the decode
 * shared by the tokens. One row a tile: a 2-row × 4-token tile needs more than the 16 ymm registers
 * once the compiler interleaves the strips, and spilled (1.3× slower on Zen 3).
 *
 * Overflow: a code is <= 2 and q is in [-128, 127], so a vpmaddubsw pair is in [-512, 508] (no
 * saturation), a block's four strips add [-2048, 2032] to an i16 lane, and ACC16_BLOCKS = 16 blocks
 * stay in [-32768, 32512]: the most that fit (17 would not; the extreme-sums test checks it). */
#if defined(__x86_64__)
#include <immintrin.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"

#define TK_AVX2 __attribute__((target("avx2,fma,f16c")))
#define TK_AVX2_INLINE __attribute__((target("avx2,fma,f16c"), always_inline)) static inline

#define ACC16_BLOCKS 16
/* Bytes ahead of the current weight position prefetched into L2 while a tile's rows are read from
 * memory (decode, and a prompt's first token group): rows are consecutive, so the weights stream
 * linearly (the hardware prefetcher alone loses much of the bandwidth on short rows). */
#define PF_DIST 12288

/* The lane sums of a[0..nt) as the low lanes of one vector (hadd pairs lanes; integer sums are
 * exact in any order). */
TK_AVX2_INLINE __m128i hsum4_i32(const __m256i *a, int nt) {
    const __m256i z = _mm256_setzero_si256();
    const __m256i h01 = _mm256_hadd_epi32(a[0], nt > 1 ? a[1] : z), h23 = _mm256_hadd_epi32(nt > 2 ? a[2] : z, nt > 3 ? a[3] : z);
    const __m256i h = _mm256_hadd_epi32(h01, h23);
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

/* One row × tokens [0, NT) of q (token stride kp): the NT integer sums Σ code·q. */
TK_AVX2_INLINE __m128i row_tokens(const uint8_t *row, const int8_t *q, int64_t kp, int64_t nblocks, int NT,
                                  int prefetch) {
    const __m256i mask = _mm256_set1_epi8(3), ones16 = _mm256_set1_epi16(1);
    __m256i acc[4];
    for (int t = 0; t < NT; t++) acc[t] = _mm256_setzero_si256();
    for (int64_t b0 = 0; b0 < nblocks; b0 += ACC16_BLOCKS) {
        const int64_t b1 = b0 + ACC16_BLOCKS < nblocks ? b0 + ACC16_BLOCKS : nblocks;
        __m256i p[4];
        for (int t = 0; t < NT; t++) p[t] = _mm256_setzero_si256();
        for (int64_t b = b0; b < b1; b++) {
            const uint8_t *blk = row + b * TK_BLOCK_BYTES;
            if (prefetch) _mm_prefetch((const char *)(blk + PF_DIST), _MM_HINT_T1);
            const __m256i w = _mm256_loadu_si256((const __m256i *)blk);
            const int8_t *qb = q + b * TK_BLOCK;
            for (int g = 0; g < 4; g++) {
                const __m256i c = _mm256_and_si256(g == 3 ? w : _mm256_srli_epi16(w, 6 - 2 * g), mask);
                for (int t = 0; t < NT; t++)
                    p[t] = _mm256_add_epi16(p[t], _mm256_maddubs_epi16(c, _mm256_loadu_si256((const __m256i *)(qb + t * kp + 32 * g))));
            }
        }
        for (int t = 0; t < NT; t++) acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(p[t], ones16));
    }
    return hsum4_i32(acc, NT);
}

/* Rows [r0, r1) × NT tokens from t0. */
TK_AVX2_INLINE void rows_tokens(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                                const int8_t *q, const float *s, const int32_t *qsum, int64_t t0, int NT,
                                int prefetch, float beta, float *out, int64_t ldo) {
    const int64_t nblocks = row_bytes / TK_BLOCK_BYTES, kp = nblocks * TK_BLOCK;
    const int8_t *qt = q + t0 * kp;
    int32_t sums[4];
    for (int64_t r = r0; r < r1; r++) {
        _mm_storeu_si128((__m128i *)sums, row_tokens(codes + r * row_bytes, qt, kp, nblocks, NT, prefetch));
        for (int t = 0; t < NT; t++) out[(t0 + t) * ldo + r] = (float)(sums[t] - qsum[t0 + t]) / s[t0 + t] * beta;
    }
}

TK_AVX2 void tk_ternary_gemm_avx2(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                                 const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                                 float beta, float *out, int64_t ldo) {
    /* token groups outside, rows inside: the group's activations stay in L1 while the call's rows
     * (a chunk sized for L2 by parallel.c) stream past; the first group reads them from memory */
    for (int64_t t0 = 0; t0 < n; t0 += 4) {
        const int64_t nt = n - t0 < 4 ? n - t0 : 4;
        const int pf = t0 == 0;
        switch (nt) {
        case 1: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 1, pf, beta, out, ldo); break;
        case 2: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 2, pf, beta, out, ldo); break;
        case 3: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 3, pf, beta, out, ldo); break;
        default: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 4, pf, beta, out, ldo); break;
        }
    }
}

/* Dense product. One token (decode, the output head): 4 rows at once with 2 accumulators each,
 * so 8 independent FMA chains hide the FMA latency (one chain per row ran ~4× slower); a row's
 * logit does not depend on the rows computed with it (the certified head recomputes single rows). Several
 * tokens: 2 rows × 4 tokens, each weight vector loaded once for 4 tokens. */
TK_AVX2 void tk_dense_gemm_avx2(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1,
                               const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo) {
    const int64_t K8 = K / 8 * 8, K16 = K / 16 * 16;
    if (n == 1) {
        int64_t r = r0;
        for (; r + 4 <= r1; r += 4) {
            __m256 a[4][2];
            for (int i = 0; i < 4; i++) { a[i][0] = _mm256_setzero_ps(); a[i][1] = _mm256_setzero_ps(); }
            int64_t k = 0;
            const int64_t esz = dtype == TK_F32 ? 4 : 2;
            /* the head is streamed once per token: the 4 rows are one contiguous span, prefetched
             * linearly at least one span ahead (4 rows × 16 elements consumed per step) */
            const char *span = (const char *)w + r * K * esz;
            const int64_t dist = 4 * K * esz > 12288 ? 4 * K * esz : 12288;
            for (; k < K16; k += 16) {
                for (int64_t l = 0; l < esz; l++) _mm_prefetch(span + 4 * k * esz + dist + 64 * l, _MM_HINT_T1);
                const __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8);
                for (int i = 0; i < 4; i++) {
                    a[i][0] = _mm256_fmadd_ps(tk_dense8(w, dtype, (r + i) * K + k), x0, a[i][0]);
                    a[i][1] = _mm256_fmadd_ps(tk_dense8(w, dtype, (r + i) * K + k + 8), x1, a[i][1]);
                }
            }
            for (; k < K8; k += 8) {
                const __m256 x0 = _mm256_loadu_ps(x + k);
                for (int i = 0; i < 4; i++) a[i][0] = _mm256_fmadd_ps(tk_dense8(w, dtype, (r + i) * K + k), x0, a[i][0]);
            }
            for (int i = 0; i < 4; i++) {
                float sum = tk_hsum_ps(_mm256_add_ps(a[i][0], a[i][1]));
                for (int64_t kk = K8; kk < K; kk++) sum += tk_dense_element(w, dtype, (r + i) * K + kk) * x[kk];
                out[r + i] = sum;
            }
        }
        for (; r < r1; r++) {   /* a row alone: the same arithmetic as in a 4-row tile (row-invariant) */
            __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
            int64_t k = 0;
            for (; k < K16; k += 16) {
                a0 = _mm256_fmadd_ps(tk_dense8(w, dtype, r * K + k), _mm256_loadu_ps(x + k), a0);
                a1 = _mm256_fmadd_ps(tk_dense8(w, dtype, r * K + k + 8), _mm256_loadu_ps(x + k + 8), a1);
            }
            for (; k < K8; k += 8) a0 = _mm256_fmadd_ps(tk_dense8(w, dtype, r * K + k), _mm256_loadu_ps(x + k), a0);
            float sum = tk_hsum_ps(_mm256_add_ps(a0, a1));
            for (int64_t kk = K8; kk < K; kk++) sum += tk_dense_element(w, dtype, r * K + kk) * x[kk];
            out[r] = sum;
        }
        return;
    }
    for (int64_t r = r0; r < r1; r += 2) {
        const int rows = r + 2 <= r1 ? 2 : 1;
        for (int64_t t0 = 0; t0 < n; t0 += 4) {
            const int64_t nt = n - t0 < 4 ? n - t0 : 4;
            __m256 a[2][4];
            for (int j = 0; j < 2; j++) for (int i = 0; i < 4; i++) a[j][i] = _mm256_setzero_ps();
            const float *x0 = x + t0 * ldx;
            /* the first token group reads the 2 rows from memory: prefetch their span ahead (2 rows
             * × 32 elements a line per 32 / 8 steps for F16), as the one-token loop does */
            const int64_t esz = dtype == TK_F32 ? 4 : 2;
            const char *span = (const char *)w + r * K * esz;
            const int64_t dist = 2 * K * esz > 12288 ? 2 * K * esz : 12288;
            for (int64_t k = 0; k < K8; k += 8) {
                if (t0 == 0 && (k & 31) == 0)
                    for (int64_t l = 0; l < esz; l++) _mm_prefetch(span + 2 * k * esz + dist + 64 * l, _MM_HINT_T1);
                const __m256 w0 = tk_dense8(w, dtype, r * K + k);
                const __m256 w1 = rows == 2 ? tk_dense8(w, dtype, (r + 1) * K + k) : w0;
                for (int64_t i = 0; i < nt; i++) {
                    const __m256 xv = _mm256_loadu_ps(x0 + i * ldx + k);
                    a[0][i] = _mm256_fmadd_ps(w0, xv, a[0][i]);
                    a[1][i] = _mm256_fmadd_ps(w1, xv, a[1][i]);
                }
            }
            for (int j = 0; j < rows; j++) {
                for (int64_t i = 0; i < nt; i++) {
                    float sum = tk_hsum_ps(a[j][i]);
                    for (int64_t kk = K8; kk < K; kk++) sum += tk_dense_element(w, dtype, (r + j) * K + kk) * x0[i * ldx + kk];
                    out[(t0 + i) * ldo + r + j] = sum;
                }
            }
        }
    }
}
#endif
