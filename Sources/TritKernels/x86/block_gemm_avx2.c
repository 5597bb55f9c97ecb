/* AVX2 block product: the output head (or tied embedding) in ggml's blocks, read in place. Each block is
 * decoded whole (256-bit integer steps) to int8 codes and the f32 scale (and min) of each 16 weights; 8 at
 * a time they become their exact f32 values (trit_kernels.h) and go into one FMA chain per (row, token),
 * 8 lanes, k in order, then tk_hsum_ps: the scalar twin's bits, and the AVX2 dense kernel's on a load-time
 * F32 copy (so exact mode's logits are what they were with the copy).
 * One token (decode): 4 rows at once (4 chains), the 4 rows' contiguous span prefetched linearly ahead.
 * Several tokens: a row at a time, each block decoded once for up to 4 tokens. */
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

/* Weights k .. k+7 of a decoded block: dl·code (− ml), the twin's f32 steps. */
TK_AVX2 TK_ALWAYS_INLINE __m256 block_w8(const int8_t *q, const float *dl, const float *ml, int k, int has_min) {
    const __m256i c = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(q + k)));
    const __m256 wv = _mm256_mul_ps(_mm256_broadcast_ss(&dl[k >> 4]), _mm256_cvtepi32_ps(c));
    return has_min ? _mm256_sub_ps(wv, _mm256_broadcast_ss(&ml[k >> 4])) : wv;
}

/* One token: rows [r0, r1), BLOCK_ROWS1 at a time (each row's block decoded whole into codes and scales, then
 * the rows' chains advanced 8 weights at a time), then single rows (the certified head's exact rows) with
 * the same chain. */
TK_AVX2 TK_ALWAYS_INLINE void block_one(const uint8_t *w, tk_dtype T, int64_t K, int64_t r0, int64_t r1,
                                        const float *x, float *out) {
    const int64_t BE = tk_dtype_block_elems(T), BB = tk_dtype_block_bytes(T), nb = K / BE, rb = nb * BB;
    const int has_min = T == TK_Q4_K || T == TK_Q5_K;
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
            _Alignas(32) int8_t qb[BLOCK_ROWS1][256];
            float dl[BLOCK_ROWS1][16], ml[BLOCK_ROWS1][16];
            const int8_t *q[BLOCK_ROWS1];
            for (int i = 0; i < BLOCK_ROWS1; i++)
                q[i] = tk_block_decode(span + i * rb + blk * BB, T, qb[i], dl[i], ml[i]);
            const float *xb = x + blk * BE;
            for (int k = 0; k < BE; k += 16) {   /* 16 a step: one scale index (k / 16) for both halves */
                const __m256 xv = _mm256_loadu_ps(xb + k), xw = _mm256_loadu_ps(xb + k + 8);
                for (int i = 0; i < BLOCK_ROWS1; i++)
                    a[i] = _mm256_fmadd_ps(block_w8(q[i], dl[i], ml[i], k, has_min), xv, a[i]);
                for (int i = 0; i < BLOCK_ROWS1; i++)
                    a[i] = _mm256_fmadd_ps(block_w8(q[i], dl[i], ml[i], k + 8, has_min), xw, a[i]);
            }
        }
        for (int i = 0; i < BLOCK_ROWS1; i++) out[r + i] = tk_hsum_ps(a[i]);
    }
    for (; r < r1; r++) {
        __m256 a = _mm256_setzero_ps();
        for (int64_t blk = 0; blk < nb; blk++) {
            _Alignas(32) int8_t qb[256];
            float dl[16], ml[16];
            const int8_t *q = tk_block_decode(w + r * rb + blk * BB, T, qb, dl, ml);
            for (int k = 0; k < BE; k += 8)
                a = _mm256_fmadd_ps(block_w8(q, dl, ml, k, has_min), _mm256_loadu_ps(x + blk * BE + k), a);
        }
        out[r] = tk_hsum_ps(a);
    }
}

/* Row r × NT tokens from x (stride ldx) into out (stride ldo), each block decoded once for NT tokens. */
TK_AVX2 TK_ALWAYS_INLINE void block_row_tokens(const uint8_t *w, tk_dtype T, int64_t K, int64_t r, const float *x,
                                               int64_t ldx, int NT, float *out, int64_t ldo) {
    const int64_t BE = tk_dtype_block_elems(T), BB = tk_dtype_block_bytes(T), nb = K / BE;
    const int has_min = T == TK_Q4_K || T == TK_Q5_K;
    __m256 a[4];
    for (int t = 0; t < NT; t++) a[t] = _mm256_setzero_ps();
    for (int64_t blk = 0; blk < nb; blk++) {
        _Alignas(32) int8_t qb[256];
        float dl[16], ml[16];
        const int8_t *q = tk_block_decode(w + (r * nb + blk) * BB, T, qb, dl, ml);
        for (int k = 0; k < BE; k += 8) {
            const __m256 wv = block_w8(q, dl, ml, k, has_min);
            for (int t = 0; t < NT; t++)
                a[t] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + t * ldx + blk * BE + k), a[t]);
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
