/* Declarations shared by the kernel variants and the dispatcher (dispatch.c): the scalar twins, the
 * inline arithmetic the variants share, and the x86 variants. Not seen by Swift (trit_kernels.h is). */
#ifndef TRIT_KERNELS_INTERNAL_H
#define TRIT_KERNELS_INTERNAL_H
#include <math.h>
#include "trit_kernels.h"

/* ---- the scalar twins (generic/): the definition every variant of a table slot is checked against ----
 * The quantizers' scalar forms, tk_quantize_rows and tk_quantize_weight_rows, are declared in
 * trit_kernels.h: the engine calls them by name too. */
void tk_ternary_gemm_scalar(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                            const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                            float beta, float *out, int64_t ldo);
void tk_trit5_gemm_scalar(const uint8_t *codes, int64_t Kp, int64_t r0, int64_t r1,
                          const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                          float beta, float *out, int64_t ldo);
void tk_tq1_gemm_scalar(const uint8_t *blocks, int64_t K, int64_t r0, int64_t r1,
                        const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                        float beta, float *out, int64_t ldo);
void tk_dense_gemm_scalar(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1,
                          const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo);
void tk_i8_gemm_scalar(const int8_t *w, const float *wscale, int64_t Kp, int64_t r0, int64_t r1,
                       const int8_t *q, const float *s, int64_t n, float *out, int64_t ldo);
void tk_group_gemm_scalar(const uint8_t *tiles, int64_t group, int one_bit, int64_t n_groups, int64_t r0, int64_t r1,
                          const int8_t *q, int64_t Kp, const int32_t *nsum, const float *s, int64_t n, float *out,
                          int64_t ldo);
void tk_attention_scalar(const float *q, int64_t n_q, const uint8_t *k, const uint8_t *v, int64_t k_row_bytes,
                         int64_t v_row_bytes, int32_t k_type, int32_t v_type, int64_t j0, int64_t j1, int64_t hd,
                         float scale, float *scratch, float *out, float *partial);
/* The opt-in int8 attention over a Q8_0 key cache (generic/attention_q8.c defines its arithmetic). */
void tk_attention_q8_scalar(const float *q, int64_t n_q, const uint8_t *k, const uint8_t *v, int64_t k_row_bytes,
                            int64_t v_row_bytes, int32_t k_type, int32_t v_type, int64_t j0, int64_t j1, int64_t hd,
                            float scale, float *scratch, float *out, float *partial);
/* y = x / sqrt(mean(x^2) + eps) * g, n values. x and y may alias. */
void tk_rmsnorm(const float *x, const float *g, int64_t n, float eps, float *y);
void tk_delta_step_scalar(float *S, const float *q, const float *k, const float *v, float decay, float beta,
                          float *out, float *delta, int64_t dk, int64_t dv);
void tk_q4_gemm_scalar(const uint8_t *w, const uint16_t *wscale, int64_t Kp, int64_t r0, int64_t r1,
                       const int8_t *q, const float *s, const int32_t *corr, const float *gn, int64_t n,
                       float *out, float *err, int64_t ldo);
int64_t tk_head_bounds_scalar(const float *l, const float *a, const float *b, float norm, float eps,
                              float rel, int64_t n, float *lo, float *hi);
float tk_kth_largest_scalar(const float *v, int64_t n, int64_t k, float *top);
int64_t tk_collect_at_least_scalar(const float *v, int64_t n, float t, int32_t *idx);
void tk_block_gemm_scalar(const void *w, tk_dtype t, int64_t K, int64_t r0, int64_t r1,
                          const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo);
/* One block of a block type as its exact f32 weights (32 or 256 of them), and the pieces the vector forms
 * share with it: a Q4_K/Q5_K sub-block's 6-bit scale and min, the twin's sum of 8 lanes. */
void tk_block_dequant(const uint8_t *b, tk_dtype t, float *y);
static inline void tk_k_scale_min(const uint8_t *q, int s, int *sc, int *m) {
    if (s < 4) {
        *sc = q[s] & 63;
        *m = q[s + 4] & 63;
    } else {
        *sc = (q[s + 4] & 15) | ((q[s - 4] >> 6) << 4);
        *m = (q[s + 4] >> 4) | ((q[s] >> 6) << 4);
    }
}
float tk_sum8(const float *a);
void tk_head_row_bounds_scalar(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1,
                               const int8_t *q, int64_t Kp, const float *scale, float *a, float *b);

/* ---- steps of the scalar twins that the vector forms reuse for their tails (generic/head_select.c) ---- */
void tk_head_row_finish(float err, float m, int64_t l1, double K, float sc, float *a, float *b);
/* The scalar step over columns [k0, K) of row r, from the running max |W − c·q|, max |W|, Σ|q| and the
 * non-finite flag, then the finish (the scalar form and the vector forms' tails). */
void tk_head_row_rest(const void *w, tk_dtype dtype, int64_t K, int64_t r, int64_t k0, const int8_t *qr, float sc,
                      float err, float m, int64_t l1, int bad, float *a, float *b);
/* Inserts v into the k largest (descending) in top; returns the new k-th. */
float tk_kth_insert(float *top, int64_t k, float v);

/* ---- inline arithmetic every variant shares ---- */
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

/* ---- attention: what every variant shares (generic/attention.c defines the arithmetic) ---- */
#define TK_ATT_LANES 16
static inline int64_t tk_att_hdp(int64_t hd) { return (hd + TK_ATT_LANES - 1) / TK_ATT_LANES * TK_ATT_LANES; }
/* Scratch layout of tk_attention_fn, in floats: q padded [n_q][hdp], K tile [TILE][hdp],
 * V tile [TILE][hdp], scores/probabilities [n_q][TILE], O [n_q][hdp], L [n_q][16], M [n_q]. */
typedef struct { float *q, *kt, *vt, *p, *o, *l, *m; } tk_att_scratch;
static inline tk_att_scratch tk_att_layout(float *s, int64_t n_q, int64_t hdp) {
    tk_att_scratch a;
    a.q = s; a.kt = a.q + n_q * hdp; a.vt = a.kt + TK_ATT_TILE * hdp; a.p = a.vt + TK_ATT_TILE * hdp;
    a.o = a.p + n_q * TK_ATT_TILE; a.l = a.o + n_q * hdp; a.m = a.l + n_q * TK_ATT_LANES;
    return a;
}
/* Before the first tile: q padded to hdp, O and L zero, M = −∞. */
static inline void tk_att_init(const tk_att_scratch *a, const float *q, int64_t n_q, int64_t hd, int64_t hdp) {
    for (int64_t m = 0; m < n_q; m++) {
        for (int64_t i = 0; i < hdp; i++) { a->q[m * hdp + i] = i < hd ? q[m * hd + i] : 0.0f; a->o[m * hdp + i] = 0.0f; }
        for (int l = 0; l < TK_ATT_LANES; l++) a->l[m * TK_ATT_LANES + l] = 0.0f;
        a->m[m] = -INFINITY;
    }
}
/* The int8 attention (tk_attention_q8_*, a Q8_0 key cache): its scratch after tk_att_layout's, from float
 * tk_att_base_floats on: the query's int8 blocks [n_q][nb][32] (nb = ceil(hd/32), a short last block zero
 * padded as the cache's), their f32 scales d and int sums qs [n_q][nb], the tile's key scales dk [nb][TILE]. */
typedef struct { int8_t *q; float *d; int32_t *qs; float *dk; } tk_att_q8;
static inline int64_t tk_att_base_floats(int64_t n_q, int64_t hdp) {
    return n_q * hdp * 2 + 2 * TK_ATT_TILE * hdp + n_q * (TK_ATT_TILE + TK_ATT_LANES + 1) + 16;
}
static inline int64_t tk_att_q8_floats(int64_t n_q, int64_t hd) {
    const int64_t nb = (hd + 31) / 32;
    return n_q * nb * 10 + nb * TK_ATT_TILE + 16;
}
static inline tk_att_q8 tk_att_q8_layout(float *s, int64_t n_q, int64_t hd) {
    const int64_t nb = (hd + 31) / 32;
    float *b = s + tk_att_base_floats(n_q, tk_att_hdp(hd));
    tk_att_q8 r;
    r.q = (int8_t *)b; r.d = b + n_q * nb * 8; r.qs = (int32_t *)(r.d + n_q * nb); r.dk = (float *)(r.qs + n_q * nb);
    return r;
}
/* The query heads quantized per 32-value block (generic/attention_q8.c; plain C, so every variant reads the same
 * bytes): as llama.cpp's quantize_row_q8_0, q = round(x/d), d = max|x|/127, but d kept in f32. */
void tk_att_q8_query(const float *q, int64_t n_q, int64_t hd, const tk_att_q8 *s);
/* The twin's tile after its scores (a->p): the online-softmax update and the weighted V sum. */
void tk_att_tile_rest(const tk_att_scratch *a, int64_t n_q, const uint8_t *v, int64_t v_row_bytes, int32_t v_type,
                      int64_t j, int64_t nt, int64_t hd, int64_t hdp);
/* exp's polynomial: x clamped to [-87.33, 0] (NaN to the low end), n = floor(x·log2 e + 1/2),
 * r = x − n·ln2 (two FMAs, Cody-Waite), degree-7 Taylor series by Horner's rule, times 2^n. */
#define TK_EXP_LO (-87.33f)
#define TK_EXP_LOG2E 1.44269504f
#define TK_EXP_LN2_HI 0.693145751953125f
#define TK_EXP_LN2_LO 1.42860682e-06f
#define TK_EXP_C7 1.98412701e-04f
#define TK_EXP_C6 1.38888892e-03f
#define TK_EXP_C5 8.33333377e-03f
#define TK_EXP_C4 4.16666679e-02f
#define TK_EXP_C3 1.66666672e-01f
/* Sum of 16 lanes: (l, l+8), then (l, l+4), (l, l+2), (0, 1); as tk_hsum_ps after adding halves. */
static inline float tk_att_tree16(const float *a) {
    float s8[8], s4[4];
    for (int l = 0; l < 8; l++) s8[l] = a[l] + a[l + 8];
    for (int l = 0; l < 4; l++) s4[l] = s8[l] + s8[l + 4];
    const float s0 = s4[0] + s4[2], s1 = s4[1] + s4[3];
    return s0 + s1;
}
/* After the last tile: the normalised outputs O·(1/tree16(L)), or the chunk's (O, L, M) partial. */
static inline void tk_att_finish(const tk_att_scratch *a, int64_t n_q, int64_t hd, int64_t hdp, float *out, float *partial) {
    for (int64_t m = 0; m < n_q; m++) {
        if (partial) {
            float *r = partial + m * tk_att_partial_floats(hd);
            for (int64_t i = 0; i < hdp; i++) r[i] = a->o[m * hdp + i];
            for (int l = 0; l < TK_ATT_LANES; l++) r[hdp + l] = a->l[m * TK_ATT_LANES + l];
            r[hdp + TK_ATT_LANES] = a->m[m];
        } else {
            const float inv = 1.0f / tk_att_tree16(a->l + m * TK_ATT_LANES);
            for (int64_t i = 0; i < hd; i++) out[m * hd + i] = a->o[m * hdp + i] * inv;
        }
    }
}

#if defined(__x86_64__)
/* ---- the x86 variants (x86/, one file per kernel family and instruction set) ---- */
/* Whether this CPU has the features of simd_x86.h's TK_AVX2 (avx2, fma, f16c) and TK_AVX512 (those
 * and avx512f, avx512bw, avx512vl); dispatch.c. */
int tk_cpu_has_avx2(void);
int tk_cpu_has_avx512(void);

void tk_ternary_gemm_avx2(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                          const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                          float beta, float *out, int64_t ldo);
void tk_ternary_gemm_avx512vnni(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                                const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                                float beta, float *out, int64_t ldo);
void tk_trit5_gemm_avx2(const uint8_t *codes, int64_t Kp, int64_t r0, int64_t r1,
                        const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                        float beta, float *out, int64_t ldo);
void tk_trit5_gemm_avx512vnni(const uint8_t *codes, int64_t Kp, int64_t r0, int64_t r1,
                              const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                              float beta, float *out, int64_t ldo);
void tk_tq1_gemm_avx2(const uint8_t *blocks, int64_t K, int64_t r0, int64_t r1,
                      const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                      float beta, float *out, int64_t ldo);
void tk_tq1_gemm_avx512vnni(const uint8_t *blocks, int64_t K, int64_t r0, int64_t r1,
                            const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                            float beta, float *out, int64_t ldo);
void tk_dense_gemm_avx2(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1,
                        const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo);
void tk_dense_gemm_avx512(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1,
                          const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo);
void tk_block_gemm_avx2(const void *w, tk_dtype t, int64_t K, int64_t r0, int64_t r1,
                        const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo);
void tk_block_gemm_avx512(const void *w, tk_dtype t, int64_t K, int64_t r0, int64_t r1,
                          const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo);
void tk_i8_gemm_avx2(const int8_t *w, const float *wscale, int64_t Kp, int64_t r0, int64_t r1,
                     const int8_t *q, const float *s, int64_t n, float *out, int64_t ldo);
void tk_q4_gemm_avx2(const uint8_t *w, const uint16_t *wscale, int64_t Kp, int64_t r0, int64_t r1,
                     const int8_t *q, const float *s, const int32_t *corr, const float *gn, int64_t n,
                     float *out, float *err, int64_t ldo);
void tk_i8_gemm_avx512vnni(const int8_t *w, const float *wscale, int64_t Kp, int64_t r0, int64_t r1,
                           const int8_t *q, const float *s, int64_t n, float *out, int64_t ldo);
void tk_group_gemm_avx2(const uint8_t *tiles, int64_t group, int one_bit, int64_t n_groups, int64_t r0, int64_t r1,
                        const int8_t *q, int64_t Kp, const int32_t *nsum, const float *s, int64_t n, float *out,
                        int64_t ldo);
void tk_group_gemm_avx512vnni(const uint8_t *tiles, int64_t group, int one_bit, int64_t n_groups, int64_t r0,
                              int64_t r1, const int8_t *q, int64_t Kp, const int32_t *nsum, const float *s, int64_t n,
                              float *out, int64_t ldo);
void tk_attention_avx2(const float *q, int64_t n_q, const uint8_t *k, const uint8_t *v, int64_t k_row_bytes,
                       int64_t v_row_bytes, int32_t k_type, int32_t v_type, int64_t j0, int64_t j1, int64_t hd,
                       float scale, float *scratch, float *out, float *partial);
void tk_attention_avx512(const float *q, int64_t n_q, const uint8_t *k, const uint8_t *v, int64_t k_row_bytes,
                         int64_t v_row_bytes, int32_t k_type, int32_t v_type, int64_t j0, int64_t j1, int64_t hd,
                         float scale, float *scratch, float *out, float *partial);
void tk_attention_q8_avx2(const float *q, int64_t n_q, const uint8_t *k, const uint8_t *v, int64_t k_row_bytes,
                          int64_t v_row_bytes, int32_t k_type, int32_t v_type, int64_t j0, int64_t j1, int64_t hd,
                          float scale, float *scratch, float *out, float *partial);
void tk_attention_q8_avx512vnni(const float *q, int64_t n_q, const uint8_t *k, const uint8_t *v, int64_t k_row_bytes,
                                int64_t v_row_bytes, int32_t k_type, int32_t v_type, int64_t j0, int64_t j1,
                                int64_t hd, float scale, float *scratch, float *out, float *partial);
void tk_quantize_rows_avx2(const float *x, int64_t ldx, int64_t K, int64_t n,
                           int8_t *q, int64_t Kp, float *s, int32_t *qsum);
void tk_quantize_weight_rows_avx2(const void *w, tk_dtype dtype, int64_t K, int64_t rows,
                                  int8_t *out, int64_t Kp, float *scale);
void tk_rmsnorm_avx2(const float *x, const float *g, int64_t n, float eps, float *y);
void tk_delta_step_avx2(float *S, const float *q, const float *k, const float *v, float decay, float beta,
                        float *out, float *delta, int64_t dk, int64_t dv);
void tk_delta_step_avx512(float *S, const float *q, const float *k, const float *v, float decay, float beta,
                          float *out, float *delta, int64_t dk, int64_t dv);
int64_t tk_head_bounds_avx2(const float *l, const float *a, const float *b, float norm, float eps,
                            float rel, int64_t n, float *lo, float *hi);
float tk_kth_largest_avx2(const float *v, int64_t n, int64_t k, float *top);
int64_t tk_collect_at_least_avx2(const float *v, int64_t n, float t, int32_t *idx);
void tk_head_row_bounds_avx2(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1,
                             const int8_t *q, int64_t Kp, const float *scale, float *a, float *b);

/* The read-bandwidth probe's loops over n bytes at p, returning a checksum: they prefetch as the
 * decode kernels do, TK_PROBE_PF bytes ahead into L2 and TK_PROBE_NEAR into L1, so the probe
 * measures what this machine can stream, not what a naive loop can. */
#define TK_PROBE_PF 12288
#define TK_PROBE_NEAR 4096
uint64_t tk_read_avx2(const char *p, size_t n);
uint64_t tk_read_avx512(const char *p, size_t n);
float tk_fma_probe_avx2(int64_t iters);
float tk_fma_probe_avx512(int64_t iters);
#endif

#if defined(__aarch64__)
/* ---- the ARM64 variants (arm64/, one file per kernel family and instruction set) ---- */
void tk_trit5_gemm_neon(const uint8_t *codes, int64_t Kp, int64_t r0, int64_t r1,
                        const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                        float beta, float *out, int64_t ldo);
void tk_trit5_gemm_dotprod(const uint8_t *codes, int64_t Kp, int64_t r0, int64_t r1,
                           const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                           float beta, float *out, int64_t ldo);
void tk_ternary_gemm_neon(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                          const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                          float beta, float *out, int64_t ldo);
void tk_ternary_gemm_dotprod(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                             const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                             float beta, float *out, int64_t ldo);
void tk_ternary_gemm_i8mm(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                          const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                          float beta, float *out, int64_t ldo);
void tk_group_gemm_neon(const uint8_t *tiles, int64_t group, int one_bit, int64_t n_groups, int64_t r0, int64_t r1,
                        const int8_t *q, int64_t Kp, const int32_t *nsum, const float *s, int64_t n, float *out,
                        int64_t ldo);
void tk_group_gemm_dotprod(const uint8_t *tiles, int64_t group, int one_bit, int64_t n_groups, int64_t r0,
                           int64_t r1, const int8_t *q, int64_t Kp, const int32_t *nsum, const float *s, int64_t n,
                           float *out, int64_t ldo);
void tk_dense_gemm_neon(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1,
                        const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo);
void tk_block_gemm_neon(const void *w, tk_dtype t, int64_t K, int64_t r0, int64_t r1,
                        const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo);
void tk_quantize_rows_neon(const float *x, int64_t ldx, int64_t K, int64_t n, int8_t *q, int64_t Kp, float *s,
                           int32_t *qsum);
void tk_quantize_weight_rows_neon(const void *w, tk_dtype dtype, int64_t K, int64_t rows, int8_t *out, int64_t Kp,
                                  float *scale);
void tk_rmsnorm_neon(const float *x, const float *g, int64_t n, float eps, float *y);
void tk_attention_neon(const float *q, int64_t n_q, const uint8_t *k, const uint8_t *v, int64_t k_row_bytes,
                       int64_t v_row_bytes, int32_t k_type, int32_t v_type, int64_t j0, int64_t j1, int64_t hd,
                       float scale, float *scratch, float *out, float *partial);
/* The NEON tile tail after its scores (attention_neon.c; the twin's tk_att_tile_rest, bit for bit): vb is the
 * tile's first V row. */
void tk_att_tile_rest_neon(const tk_att_scratch *a, int64_t n_q, const uint8_t *vb, int64_t v_row_bytes,
                           int32_t v_type, int64_t nt, int64_t hd, int64_t hdp);
void tk_attention_q8_neon(const float *q, int64_t n_q, const uint8_t *k, const uint8_t *v, int64_t k_row_bytes,
                          int64_t v_row_bytes, int32_t k_type, int32_t v_type, int64_t j0, int64_t j1, int64_t hd,
                          float scale, float *scratch, float *out, float *partial);
void tk_attention_q8_dotprod(const float *q, int64_t n_q, const uint8_t *k, const uint8_t *v, int64_t k_row_bytes,
                             int64_t v_row_bytes, int32_t k_type, int32_t v_type, int64_t j0, int64_t j1, int64_t hd,
                             float scale, float *scratch, float *out, float *partial);
int64_t tk_head_bounds_neon(const float *l, const float *a, const float *b, float norm, float eps, float rel,
                            int64_t n, float *lo, float *hi);
float tk_kth_largest_neon(const float *v, int64_t n, int64_t k, float *top);
int64_t tk_collect_at_least_neon(const float *v, int64_t n, float t, int32_t *idx);
void tk_head_row_bounds_neon(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1, const int8_t *q,
                             int64_t Kp, const float *scale, float *a, float *b);
void tk_i8_gemm_neon(const int8_t *w, const float *wscale, int64_t Kp, int64_t r0, int64_t r1,
                     const int8_t *q, const float *s, int64_t n, float *out, int64_t ldo);
void tk_i8_gemm_dotprod(const int8_t *w, const float *wscale, int64_t Kp, int64_t r0, int64_t r1,
                        const int8_t *q, const float *s, int64_t n, float *out, int64_t ldo);
#endif
#endif
