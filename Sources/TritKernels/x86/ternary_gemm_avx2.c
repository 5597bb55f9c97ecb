/* AVX2 ternary product: vpmaddubsw (u8 code x s8 activation -> i16 pairs), vpmaddwd to i32.
 * Same loop shape as generic/ternary_gemm_scalar.c. A block's 32 bytes are decoded once into
 * four 32-code vectors and reused for up to 4 tokens (weight reuse in prompt processing).
 * Overflow: a code is <= 2 and |q| <= 128, so a vpmaddubsw pair is <= 512 and the sum of the
 * four groups of one block <= 2048 fits in i16 before widening. */
#if defined(__x86_64__)
#include <immintrin.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"

#define TK_AVX2 __attribute__((target("avx2,fma,f16c")))

TK_AVX2 static inline __m256i block_dot(__m256i c0, __m256i c1, __m256i c2, __m256i c3,
                                       const int8_t *qb, __m256i ones16) {
    __m256i p = _mm256_maddubs_epi16(c0, _mm256_loadu_si256((const __m256i *)(qb + 0)));
    p = _mm256_add_epi16(p, _mm256_maddubs_epi16(c1, _mm256_loadu_si256((const __m256i *)(qb + 32))));
    p = _mm256_add_epi16(p, _mm256_maddubs_epi16(c2, _mm256_loadu_si256((const __m256i *)(qb + 64))));
    p = _mm256_add_epi16(p, _mm256_maddubs_epi16(c3, _mm256_loadu_si256((const __m256i *)(qb + 96))));
    return _mm256_madd_epi16(p, ones16);
}

TK_AVX2 void tk_ternary_gemm_avx2(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                                 const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                                 float beta, float *out, int64_t ldo) {
    const int64_t nblocks = row_bytes / TK_BLOCK_BYTES;
    const int64_t kp = nblocks * TK_BLOCK;
    const __m256i mask = _mm256_set1_epi8(3);
    const __m256i ones16 = _mm256_set1_epi16(1);
    /* token groups outside, rows inside: the group's activations stay in L1 */
    for (int64_t t0 = 0; t0 < n; t0 += 4) {
        const int64_t nt = n - t0 < 4 ? n - t0 : 4;
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *row = codes + r * row_bytes;
            __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
            const int8_t *q0 = q + t0 * kp;
            for (int64_t b = 0; b < nblocks; b++) {
                /* rows are consecutive, so the weights stream linearly: prefetch well ahead (the
                 * hardware prefetcher alone loses much of the bandwidth on short rows) */
                _mm_prefetch((const char *)(row + b * TK_BLOCK_BYTES + 12288), _MM_HINT_T1);
                const __m256i w = _mm256_loadu_si256((const __m256i *)(row + b * TK_BLOCK_BYTES));
                const __m256i c0 = _mm256_and_si256(_mm256_srli_epi16(w, 6), mask);
                const __m256i c1 = _mm256_and_si256(_mm256_srli_epi16(w, 4), mask);
                const __m256i c2 = _mm256_and_si256(_mm256_srli_epi16(w, 2), mask);
                const __m256i c3 = _mm256_and_si256(w, mask);
                const int8_t *qb = q0 + b * TK_BLOCK;
                acc0 = _mm256_add_epi32(acc0, block_dot(c0, c1, c2, c3, qb, ones16));
                if (nt > 1) acc1 = _mm256_add_epi32(acc1, block_dot(c0, c1, c2, c3, qb + kp, ones16));
                if (nt > 2) acc2 = _mm256_add_epi32(acc2, block_dot(c0, c1, c2, c3, qb + 2 * kp, ones16));
                if (nt > 3) acc3 = _mm256_add_epi32(acc3, block_dot(c0, c1, c2, c3, qb + 3 * kp, ones16));
            }
            const __m256i accs[4] = {acc0, acc1, acc2, acc3};
            for (int64_t i = 0; i < nt; i++) {
                const int64_t t = t0 + i;
                out[t * ldo + r] = (float)(tk_hsum_i32(accs[i]) - qsum[t]) / s[t] * beta;
            }
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
