/* Declarations shared by the kernel variants and the dispatcher. */
#ifndef TRIT_KERNELS_INTERNAL_H
#define TRIT_KERNELS_INTERNAL_H
#include <math.h>
#include "trit_kernels.h"

void tk_ternary_gemm_scalar(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                            const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                            float beta, float *out, int64_t ldo);
void tk_dense_gemm_scalar(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1,
                          const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo);
void tk_i8_gemm_scalar(const int8_t *w, const float *wscale, int64_t Kp, int64_t r0, int64_t r1,
                       const int8_t *q, const float *s, int64_t n, float *out, int64_t ldo);
/* One activation quantized: clamp(round_half_even(x*scale), -128, 127), NaN → 0 (lrintf rounds
 * half to even in the default mode; clamping first keeps it from overflowing). */
static inline int32_t tk_quantize1(float x, float scale) {
    float v = x * scale;
    v = v < -128.0f ? -128.0f : (v > 127.0f ? 127.0f : v);
    return v != v ? 0 : (int32_t)lrintf(v);
}

/* Quantizes x[k0..K) into q (as tk_quantize1), zero pads q[K..Kp), and returns sum + their sum. */
static inline int32_t tk_quantize_tail(const float *x, int64_t k0, int64_t K, float scale, int8_t *q,
                                       int64_t Kp, int32_t sum) {
    for (int64_t k = k0; k < K; k++) {
        const int32_t iv = tk_quantize1(x[k], scale);
        q[k] = (int8_t)iv;
        sum += iv;
    }
    for (int64_t k = K; k < Kp; k++) q[k] = 0;
    return sum;
}

/* The fp16 scale that starts a group block, as f32. */
static inline float tk_group_scale(const uint8_t *blk) {
    uint16_t h;
    __builtin_memcpy(&h, blk, 2);
    return tk_f16_to_f32(h);
}

/* Element i of a dense matrix, as f32. */
static inline float tk_dense_element(const void *w, tk_dtype dtype, int64_t i) {
    if (dtype == TK_F16) return tk_f16_to_f32(((const uint16_t *)w)[i]);
    if (dtype == TK_BF16) return tk_bf16_to_f32(((const uint16_t *)w)[i]);
    return ((const float *)w)[i];
}

int64_t tk_head_bounds_scalar(const float *l, const float *a, const float *b, float norm, float eps,
                              float rel, int64_t n, float *lo, float *hi);
float tk_kth_largest_scalar(const float *v, int64_t n, int64_t k, float *top);
int64_t tk_collect_at_least_scalar(const float *v, int64_t n, float t, int32_t *idx);
void tk_head_row_bounds_scalar(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1,
                               const int8_t *q, int64_t Kp, const float *scale, float *a, float *b);
void tk_head_row_finish(float err, float m, int64_t l1, double K, float sc, float *a, float *b);
/* The scalar step over columns [k0, K) of row r, from the running max |W − c·q|, max |W|, Σ|q| and the
 * non-finite flag, then the finish (the scalar form and the vector forms' tails). */
void tk_head_row_rest(const void *w, tk_dtype dtype, int64_t K, int64_t r, int64_t k0, const int8_t *qr, float sc,
                      float err, float m, int64_t l1, int bad, float *a, float *b);
void tk_group_gemm_scalar(const uint8_t *blocks, int64_t block_bytes, int64_t group, int64_t n_groups,
                          int64_t r0, int64_t r1, const int8_t *qp, int64_t Kp, const int32_t *lsum, const float *s,
                          int64_t n, float *out, int64_t ldo);
/* The group kernels' fixed sum of 16 lanes (group_gemm_scalar.c). */
float tk_sum16(const float *a);
/* Inserts v into the k largest (descending) in top; returns the new k-th. */
float tk_kth_insert(float *top, int64_t k, float v);

#if defined(__x86_64__)
int64_t tk_head_bounds_avx2(const float *l, const float *a, const float *b, float norm, float eps,
                            float rel, int64_t n, float *lo, float *hi);
float tk_kth_largest_avx2(const float *v, int64_t n, int64_t k, float *top);
int64_t tk_collect_at_least_avx2(const float *v, int64_t n, float t, int32_t *idx);
void tk_group_gemm_avx2(const uint8_t *blocks, int64_t block_bytes, int64_t group, int64_t n_groups,
                        int64_t r0, int64_t r1, const int8_t *qp, int64_t Kp, const int32_t *lsum, const float *s,
                        int64_t n, float *out, int64_t ldo);
void tk_group_gemm_avx512vnni(const uint8_t *blocks, int64_t block_bytes, int64_t group, int64_t n_groups,
                              int64_t r0, int64_t r1, const int8_t *qp, int64_t Kp, const int32_t *lsum, const float *s,
                              int64_t n, float *out, int64_t ldo);
void tk_head_row_bounds_avx2(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1,
                             const int8_t *q, int64_t Kp, const float *scale, float *a, float *b);
void tk_quantize_weight_rows_avx2(const void *w, tk_dtype dtype, int64_t K, int64_t rows,
                                  int8_t *out, int64_t Kp, float *scale);
void tk_i8_gemm_avx2(const int8_t *w, const float *wscale, int64_t Kp, int64_t r0, int64_t r1,
                     const int8_t *q, const float *s, int64_t n, float *out, int64_t ldo);
void tk_i8_gemm_avx512vnni(const int8_t *w, const float *wscale, int64_t Kp, int64_t r0, int64_t r1,
                           const int8_t *q, const float *s, int64_t n, float *out, int64_t ldo);
void tk_ternary_gemm_avx2(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                          const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                          float beta, float *out, int64_t ldo);
void tk_dense_gemm_avx2(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1,
                        const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo);
void tk_quantize_rows_avx2(const float *x, int64_t ldx, int64_t K, int64_t n,
                           int8_t *q, int64_t Kp, float *s, int32_t *qsum);
void tk_attention_heads_avx2(const float *q, int64_t n_q, const float *k, const float *v, int64_t stride,
                             int64_t n_kv, int64_t hd, float scale, float *scores, float *out);
void tk_rmsnorm_avx2(const float *x, const float *g, int64_t n, float eps, float *y);
void tk_dense_gemm_avx512(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1,
                          const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo);
void tk_ternary_gemm_avx512vnni(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                                const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                                float beta, float *out, int64_t ldo);
#endif
#endif
