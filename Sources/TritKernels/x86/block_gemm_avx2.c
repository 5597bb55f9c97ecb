/* AVX2 block product: the output head (or tied embedding) in ggml's blocks, read in place. Each 16 weights
 * are decoded in registers to their exact f32 values (trit_kernels.h) and go into one FMA chain per
 * (row, token), 8 lanes, k in order, then tk_hsum_ps: the scalar twin's bits, and the AVX2 dense kernel's
 * on a load-time F32 copy (so exact mode's logits are what they were with the copy).
 * One token (decode): 4 rows at once (4 chains; the decode, not the FMA latency, is the limit), the 4 rows'
 * contiguous span prefetched linearly ahead. Several tokens: a row at a time, decoded once per group of
 * up to 4 tokens. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"
#include "block_x86.h"

#pragma clang fp contract(off)

#define BLOCK_ROWS1 4
#define BLOCK_PF_MIN 12288   /* bytes ahead into L2, at least one 4-row span (as the dense kernel) */

/* 16 int8 codes as two vectors of 8 weights: d·q, minus m when has_min (two roundings, as the twin). */
TK_AVX2 TK_ALWAYS_INLINE void scale16(__m128i q, float d, float m, int has_min, __m256 w[2]) {
    const __m256 dv = _mm256_set1_ps(d);
    w[0] = _mm256_mul_ps(dv, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)));
    w[1] = _mm256_mul_ps(dv, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_unpackhi_epi64(q, q))));
    if (has_min) {
        const __m256 mv = _mm256_set1_ps(m);
        w[0] = _mm256_sub_ps(w[0], mv);
        w[1] = _mm256_sub_ps(w[1], mv);
    }
}

/* Weights 16g .. 16g+15 of the block at b. */
TK_AVX2 TK_ALWAYS_INLINE void group16(const uint8_t *b, tk_dtype T, int g, __m256 w[2]) {
    float d, m;
    const __m128i q = tk_block_codes16(b, T, g, &d, &m);
    scale16(q, d, m, T == TK_Q4_K || T == TK_Q5_K, w);
}

/* One token: rows [r0, r1), BLOCK_ROWS1 at a time, then single rows (the certified head's exact rows)
 * with the same chain. */
TK_AVX2 TK_ALWAYS_INLINE void block_one(const uint8_t *w, tk_dtype T, int64_t K, int64_t r0, int64_t r1,
                                        const float *x, float *out) {
    const int64_t BE = tk_dtype_block_elems(T), BB = tk_dtype_block_bytes(T), nb = K / BE, rb = nb * BB;
    const int G = (int)(BE / 16);
    int64_t r = r0;
    for (; r + BLOCK_ROWS1 <= r1; r += BLOCK_ROWS1) {
        const uint8_t *span = w + r * rb;
        const int64_t dist = BLOCK_ROWS1 * rb > BLOCK_PF_MIN ? BLOCK_ROWS1 * rb : BLOCK_PF_MIN;
        __m256 a[BLOCK_ROWS1];
        for (int i = 0; i < BLOCK_ROWS1; i++) a[i] = _mm256_setzero_ps();
        for (int64_t blk = 0; blk < nb; blk++) {
            /* the span's bytes ahead, at the rate the 4 rows are read */
            for (int64_t o = BLOCK_ROWS1 * blk * BB; o < BLOCK_ROWS1 * (blk + 1) * BB; o += 64)
                _mm_prefetch((const char *)span + dist + o, _MM_HINT_T1);
            for (int g = 0; g < G; g++) {
                const float *xk = x + blk * BE + 16 * g;
                const __m256 x0 = _mm256_loadu_ps(xk), x1 = _mm256_loadu_ps(xk + 8);
                for (int i = 0; i < BLOCK_ROWS1; i++) {
                    __m256 wv[2];
                    group16(span + i * rb + blk * BB, T, g, wv);
                    a[i] = _mm256_fmadd_ps(wv[0], x0, a[i]);
                    a[i] = _mm256_fmadd_ps(wv[1], x1, a[i]);
                }
            }
        }
        for (int i = 0; i < BLOCK_ROWS1; i++) out[r + i] = tk_hsum_ps(a[i]);
    }
    for (; r < r1; r++) {
        __m256 a = _mm256_setzero_ps();
        for (int64_t blk = 0; blk < nb; blk++)
            for (int g = 0; g < G; g++) {
                __m256 wv[2];
                group16(w + r * rb + blk * BB, T, g, wv);
                a = _mm256_fmadd_ps(wv[0], _mm256_loadu_ps(x + blk * BE + 16 * g), a);
                a = _mm256_fmadd_ps(wv[1], _mm256_loadu_ps(x + blk * BE + 16 * g + 8), a);
            }
        out[r] = tk_hsum_ps(a);
    }
}

/* Row r × NT tokens from x (stride ldx) into out (stride ldo), each 16 weights decoded once for NT tokens. */
TK_AVX2 TK_ALWAYS_INLINE void block_row_tokens(const uint8_t *w, tk_dtype T, int64_t K, int64_t r, const float *x,
                                               int64_t ldx, int NT, float *out, int64_t ldo) {
    const int64_t BE = tk_dtype_block_elems(T), BB = tk_dtype_block_bytes(T), nb = K / BE;
    const int G = (int)(BE / 16);
    __m256 a[4];
    for (int t = 0; t < NT; t++) a[t] = _mm256_setzero_ps();
    for (int64_t blk = 0; blk < nb; blk++)
        for (int g = 0; g < G; g++) {
            __m256 wv[2];
            group16(w + (r * nb + blk) * BB, T, g, wv);
            for (int t = 0; t < NT; t++) {
                const float *xk = x + t * ldx + blk * BE + 16 * g;
                a[t] = _mm256_fmadd_ps(wv[0], _mm256_loadu_ps(xk), a[t]);
                a[t] = _mm256_fmadd_ps(wv[1], _mm256_loadu_ps(xk + 8), a[t]);
            }
        }
    for (int t = 0; t < NT; t++) out[t * ldo + r] = tk_hsum_ps(a[t]);
}

TK_AVX2 TK_ALWAYS_INLINE void block_multi(const uint8_t *w, tk_dtype T, int64_t K, int64_t r0, int64_t r1,
                                          const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo) {
    for (int64_t r = r0; r < r1; r++)
        for (int64_t t0 = 0; t0 < n; t0 += 4) {
            const float *xt = x + t0 * ldx;
            float *ot = out + t0 * ldo;
            switch (n - t0 < 4 ? n - t0 : 4) {
            case 1: block_row_tokens(w, T, K, r, xt, ldx, 1, ot, ldo); break;
            case 2: block_row_tokens(w, T, K, r, xt, ldx, 2, ot, ldo); break;
            case 3: block_row_tokens(w, T, K, r, xt, ldx, 3, ot, ldo); break;
            default: block_row_tokens(w, T, K, r, xt, ldx, 4, ot, ldo); break;
            }
        }
}

/* One instantiation per type, so the inner loops have no type switch. */
#define BLOCK_TYPE(NAME, T)                                                                               \
TK_AVX2 static void NAME(const uint8_t *w, int64_t K, int64_t r0, int64_t r1, const float *x, int64_t ldx,  \
                         int64_t n, float *out, int64_t ldo) {                                            \
    if (n == 1) block_one(w, T, K, r0, r1, x, out);                                                       \
    else block_multi(w, T, K, r0, r1, x, ldx, n, out, ldo);                                               \
}
BLOCK_TYPE(block_q4_0, TK_Q4_0)
BLOCK_TYPE(block_q8_0, TK_Q8_0)
BLOCK_TYPE(block_q4_k, TK_Q4_K)
BLOCK_TYPE(block_q5_k, TK_Q5_K)
BLOCK_TYPE(block_q6_k, TK_Q6_K)

TK_AVX2 void tk_block_gemm_avx2(const void *w, tk_dtype t, int64_t K, int64_t r0, int64_t r1,
                                const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo) {
    const uint8_t *b = w;
    switch (t) {
    case TK_Q4_0: block_q4_0(b, K, r0, r1, x, ldx, n, out, ldo); break;
    case TK_Q8_0: block_q8_0(b, K, r0, r1, x, ldx, n, out, ldo); break;
    case TK_Q4_K: block_q4_k(b, K, r0, r1, x, ldx, n, out, ldo); break;
    case TK_Q5_K: block_q5_k(b, K, r0, r1, x, ldx, n, out, ldo); break;
    case TK_Q6_K: block_q6_k(b, K, r0, r1, x, ldx, n, out, ldo); break;
    default: tk_block_gemm_scalar(w, t, K, r0, r1, x, ldx, n, out, ldo); break;
    }
}
#endif
