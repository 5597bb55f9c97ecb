/* AVX-512 dense product for one token: the F16 (or BF16/F32) output head in decode, the largest
 * single read of a token (656 MB for 2B4T). Memory-bound, so the work is in the streaming:
 * 4 rows at once (each activation load serves 4 rows), 2 accumulators per row (8 FMA chains),
 * and a software prefetch that walks the 4-row span linearly at least one span ahead. Several
 * tokens (prompt logits) go to the AVX2 form, which reuses each weight vector across tokens. */
#if defined(__x86_64__)
#include <immintrin.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"

#define TK_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")))

/* Bytes prefetched ahead into L2 (at least one 4-row span), and into L1; see
 * ternary_gemm_avx512vnni.c. */
#define PF_MIN 12288
#define PF_NEAR 4096

TK_AVX512 static inline __m512 load16(const void *w, tk_dtype dtype, int64_t i) {
    switch (dtype) {
    case TK_F16:
        return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)w + i)));
    case TK_BF16: {
        const __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)w + i));
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    default:
        return _mm512_loadu_ps((const float *)w + i);
    }
}

/* One dtype per instantiation, so the conversion is not re-decided in the inner loop. */
#define ROWS4_TOKEN1(NAME, DTYPE, ESZ)                                                               \
TK_AVX512 static void NAME(const void *w, int64_t K, int64_t r, const float *x, float out[4]) {     \
    const int64_t K32 = K / 32 * 32, K16 = K / 16 * 16;                                              \
    const char *span = (const char *)w + r * K * ESZ;                                                \
    const int64_t dist = 4 * K * ESZ > PF_MIN ? 4 * K * ESZ : PF_MIN;                                \
    __m512 a[4][2];                                                                                  \
    for (int i = 0; i < 4; i++) { a[i][0] = _mm512_setzero_ps(); a[i][1] = _mm512_setzero_ps(); }   \
    int64_t k = 0;                                                                                   \
    for (; k < K32; k += 32) {                                                                       \
        /* 4 rows × 32 elements consumed: prefetch as many lines of the span ahead */               \
        const char *pf = span + 4 * k * ESZ + dist;                                                  \
        for (int l = 0; l < 2 * ESZ; l++) _mm_prefetch(pf + 64 * l, _MM_HINT_T1);                   \
        for (int l = 0; l < 2 * ESZ; l++) _mm_prefetch(span + 4 * k * ESZ + PF_NEAR + 64 * l, _MM_HINT_T0); \
        const __m512 x0 = _mm512_loadu_ps(x + k), x1 = _mm512_loadu_ps(x + k + 16);                  \
        for (int i = 0; i < 4; i++) {                                                                \
            a[i][0] = _mm512_fmadd_ps(load16(w, DTYPE, (r + i) * K + k), x0, a[i][0]);               \
            a[i][1] = _mm512_fmadd_ps(load16(w, DTYPE, (r + i) * K + k + 16), x1, a[i][1]);          \
        }                                                                                            \
    }                                                                                                \
    for (; k < K16; k += 16) {                                                                       \
        const __m512 x0 = _mm512_loadu_ps(x + k);                                                    \
        for (int i = 0; i < 4; i++) a[i][0] = _mm512_fmadd_ps(load16(w, DTYPE, (r + i) * K + k), x0, a[i][0]); \
    }                                                                                                \
    for (int i = 0; i < 4; i++) {                                                                    \
        float sum = _mm512_reduce_add_ps(_mm512_add_ps(a[i][0], a[i][1]));                           \
        for (int64_t kk = K16; kk < K; kk++) sum += tk_dense_element(w, DTYPE, (r + i) * K + kk) * x[kk];       \
        out[i] = sum;                                                                                \
    }                                                                                                \
}
ROWS4_TOKEN1(rows4_f16, TK_F16, 2)
ROWS4_TOKEN1(rows4_bf16, TK_BF16, 2)
ROWS4_TOKEN1(rows4_f32, TK_F32, 4)

TK_AVX512 static float row1(const void *w, tk_dtype dtype, int64_t K, int64_t r, const float *x) {
    const int64_t K16 = K / 16 * 16;
    __m512 a = _mm512_setzero_ps();
    for (int64_t k = 0; k < K16; k += 16) a = _mm512_fmadd_ps(load16(w, dtype, r * K + k), _mm512_loadu_ps(x + k), a);
    float sum = _mm512_reduce_add_ps(a);
    for (int64_t kk = K16; kk < K; kk++) sum += tk_dense_element(w, dtype, r * K + kk) * x[kk];
    return sum;
}

TK_AVX512 void tk_dense_gemm_avx512(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1,
                                    const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo) {
    if (n != 1) {
        tk_dense_gemm_avx2(w, dtype, K, r0, r1, x, ldx, n, out, ldo);
        return;
    }
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) {
        if (dtype == TK_F16) rows4_f16(w, K, r, x, out + r);
        else if (dtype == TK_BF16) rows4_bf16(w, K, r, x, out + r);
        else rows4_f32(w, K, r, x, out + r);
    }
    for (; r < r1; r++) out[r] = row1(w, dtype, K, r, x);
}
#endif
