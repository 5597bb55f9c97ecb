/* AVX-512 block product: as block_gemm_avx2.c, with each group of 16 weights decoded into one 512-bit vector
 * and one FMA chain of 16 lanes per (row, token), k in steps of 16, then _mm512_reduce_add_ps: the AVX-512
 * dense kernel's arithmetic (row1_f32 and its tiles) on a load-time F32 copy, bit for bit. Its order differs
 * from the 8-lane twin's, so it equals the twin within the dense kernels' tolerance (as tk_dense_gemm_avx512
 * equals tk_dense_gemm_scalar). Compiled everywhere; run only where dispatch.c finds AVX-512. */
#if defined(__x86_64__)
#include <immintrin.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"
#include "block_x86.h"

#pragma clang fp contract(off)

#define BLOCK_ROWS1 4
#define BLOCK_PF_MIN 12288

/* Weights 16g .. 16g+15 of the block at b. */
TK_AVX512 static inline __m512 group16_512(const uint8_t *b, tk_dtype T, int g) {
    float d, m;
    const __m128i q = tk_block_codes16(b, T, g, &d, &m);
    const __m512 v = _mm512_mul_ps(_mm512_set1_ps(d), _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)));
    return T == TK_Q4_K || T == TK_Q5_K ? _mm512_sub_ps(v, _mm512_set1_ps(m)) : v;
}

/* Rows [r0, r1) × NT tokens (stride ldx, out stride ldo); one token takes BLOCK_ROWS1 rows at a time. */
#define BLOCK_TYPE(NAME, T)                                                                               \
TK_AVX512 static void NAME(const uint8_t *w, int64_t K, int64_t r0, int64_t r1, const float *x, int64_t ldx, \
                           int64_t n, float *out, int64_t ldo) {                                           \
    const int64_t BE = tk_dtype_block_elems(T), BB = tk_dtype_block_bytes(T), nb = K / BE, rb = nb * BB;  \
    const int G = (int)(BE / 16);                                                                          \
    int64_t r = r0;                                                                                        \
    if (n == 1)                                                                                            \
        for (; r + BLOCK_ROWS1 <= r1; r += BLOCK_ROWS1) {                                                  \
            const uint8_t *span = w + r * rb;                                                              \
            const int64_t dist = BLOCK_ROWS1 * rb > BLOCK_PF_MIN ? BLOCK_ROWS1 * rb : BLOCK_PF_MIN;        \
            __m512 a[BLOCK_ROWS1];                                                                         \
            for (int i = 0; i < BLOCK_ROWS1; i++) a[i] = _mm512_setzero_ps();                              \
            for (int64_t blk = 0; blk < nb; blk++) {                                                       \
                for (int64_t o = BLOCK_ROWS1 * blk * BB; o < BLOCK_ROWS1 * (blk + 1) * BB; o += 64)        \
                    _mm_prefetch((const char *)span + dist + o, _MM_HINT_T1);                              \
                for (int g = 0; g < G; g++) {                                                              \
                    const __m512 xv = _mm512_loadu_ps(x + blk * BE + 16 * g);                             \
                    for (int i = 0; i < BLOCK_ROWS1; i++)                                                  \
                        a[i] = _mm512_fmadd_ps(group16_512(span + i * rb + blk * BB, T, g), xv, a[i]);     \
                }                                                                                          \
            }                                                                                              \
            for (int i = 0; i < BLOCK_ROWS1; i++) out[r + i] = _mm512_reduce_add_ps(a[i]);                 \
        }                                                                                                  \
    for (; r < r1; r++)                                                                                    \
        for (int64_t t0 = 0; t0 < n; t0 += 4) {                                                            \
            const int nt = n - t0 < 4 ? (int)(n - t0) : 4;                                                 \
            __m512 a[4];                                                                                   \
            for (int t = 0; t < nt; t++) a[t] = _mm512_setzero_ps();                                       \
            for (int64_t blk = 0; blk < nb; blk++)                                                         \
                for (int g = 0; g < G; g++) {                                                              \
                    const __m512 wv = group16_512(w + r * rb + blk * BB, T, g);                            \
                    for (int t = 0; t < nt; t++)                                                           \
                        a[t] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + (t0 + t) * ldx + blk * BE + 16 * g), a[t]); \
                }                                                                                          \
            for (int t = 0; t < nt; t++) out[(t0 + t) * ldo + r] = _mm512_reduce_add_ps(a[t]);             \
        }                                                                                                  \
}
BLOCK_TYPE(block_q4_0, TK_Q4_0)
BLOCK_TYPE(block_q8_0, TK_Q8_0)
BLOCK_TYPE(block_q4_k, TK_Q4_K)
BLOCK_TYPE(block_q5_k, TK_Q5_K)
BLOCK_TYPE(block_q6_k, TK_Q6_K)

TK_AVX512 void tk_block_gemm_avx512(const void *w, tk_dtype t, int64_t K, int64_t r0, int64_t r1,
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
