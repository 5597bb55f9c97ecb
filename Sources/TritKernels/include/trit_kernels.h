/* trit_kernels.h — the hot loops of trit, in C (internal; not part of the public API).
 *
 * Runtime ternary layout ("packed rows"), the one every file format is converted to at load:
 *   - each row of K weights is padded with zero weights to Kp = ceil(K/128)*128;
 *   - a row is Kp/128 blocks of 32 bytes; block element j (0..127) sits in byte (j mod 32)
 *     at bit shift 6 - 2*(j div 32), as the 2-bit code w+1 (0 = -1, 1 = 0, 2 = +1);
 *   - one f32 scale (beta) per tensor.
 * This is bitnet.cpp's x86 I2_S layout, so a published I2_S file whose K is a multiple of
 * 128 is used in place (memory-mapped, no copy). Within a block, shift group g holds
 * elements 32g..32g+31 in order, so a 32-byte load serves 32 consecutive activations.
 *
 * BitLinear integer math (docs/formats.md §1.5): per activation row, s = 127/max(max|x|, 1e-5),
 * q = clamp(round_half_even(x*s), -128, 127); y = (sum(code*q) - sum(q)) / s * beta.
 */
#ifndef TRIT_KERNELS_H
#define TRIT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tk_pool tk_pool;   /* the thread pool, below */

#define TK_BLOCK 128          /* weights per packed block */
#define TK_BLOCK_BYTES 32     /* bytes per packed block */

/* Dense (non-ternary) matrix element types. The block types are ggml's, read in place (the output head
 * and the token embedding; docs/formats.md §9): a row of K weights is K / tk_dtype_block_elems blocks of
 * tk_dtype_block_bytes bytes, each weight a small integer code times its block's scales:
 *   Q4_0 (32 weights, 18 bytes): [f16 d][16 bytes]; weight j < 16 = d·((b[j] & 15) − 8), j + 16 = d·((b[j] >> 4) − 8).
 *   Q8_0 (32, 34): [f16 d][32 int8 q]; weight j = d·q[j].
 *   Q4_K (256, 144): [f16 d][f16 dmin][12 bytes: 8 six-bit scales sc, 8 six-bit mins m][128 bytes qs]; the 32 weights
 *     of sub-block s = 2c + h (c < 4, h < 2) are (d·sc_s)·nibble_h(qs[32c + l]) − (dmin·m_s), l < 32 (low nibble h=0).
 *   Q5_K (256, 176): as Q4_K with [32 bytes qh] before qs: the code is nibble + 16·bit (2c + h) of qh[l].
 *   Q6_K (256, 210): [128 bytes ql][64 bytes qh][16 int8 scales][f16 d]; weight 128a + 32j + l (a < 2, j < 4, l < 32)
 *     = (d·scale[8a + 2j + l/16])·(q − 32), q = low/high nibble (j ≥ 2) of ql[64a + 32(j & 1) + l] | (bits 2j..2j+1
 *     of qh[32a + l]) << 4.
 * Every weight becomes an f32 by those f32 operations in that order (a product and, for the K types with a min, one
 * difference; no FMA): the values a load-time F32 copy holds. */
typedef enum tk_dtype {
    TK_F32 = 0, TK_F16 = 1, TK_BF16 = 2,
    TK_Q4_0 = 16, TK_Q8_0 = 17, TK_Q4_K = 18, TK_Q5_K = 19, TK_Q6_K = 20
} tk_dtype;
static inline int tk_dtype_is_block(tk_dtype t) { return t >= TK_Q4_0 && t <= TK_Q6_K; }
/* Weights a block (1 for the element types). */
static inline int64_t tk_dtype_block_elems(tk_dtype t) {
    return t == TK_Q4_0 || t == TK_Q8_0 ? 32 : (tk_dtype_is_block(t) ? 256 : 1);
}
/* Bytes a block (or an element). */
static inline int64_t tk_dtype_block_bytes(tk_dtype t) {
    switch (t) {
    case TK_F32: return 4;
    case TK_Q4_0: return 18;
    case TK_Q8_0: return 34;
    case TK_Q4_K: return 144;
    case TK_Q5_K: return 176;
    case TK_Q6_K: return 210;
    default: return 2;
    }
}
/* Bytes a row of K weights (K a multiple of the block). */
static inline int64_t tk_dtype_row_bytes(tk_dtype t, int64_t K) {
    return K / tk_dtype_block_elems(t) * tk_dtype_block_bytes(t);
}
/* Rows [r0, r1) of a block-type matrix (K weights a row) as f32, row r at out + (r − r0)·K: the exact values. */
void tk_block_rows_to_f32(const void *w, tk_dtype t, int64_t K, int64_t r0, int64_t r1, float *out);

/* out[t*ldo + r] = (sum_k code[r][k]*q[t][k] - qsum[t]) / s[t] * beta, r in [r0, r1), t < n.
 * codes: rows of row_bytes (= Kp/4) bytes; q: n rows of Kp int8 (stride Kp). */
typedef void (*tk_ternary_gemm_fn)(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                                   const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                                   float beta, float *out, int64_t ldo);

/* 5-trit rows ("trit5", 1.6 bits a weight): the decode form of a ternary matrix, made at load from packed rows
 * (tk_trit5_from_packed), for memory-bound decoding (20% fewer bytes a token than packed rows):
 *   - a row of Kp weights (Kp a multiple of 128, as above) is ceil(Kp/160) blocks of 32 bytes;
 *   - block element j (0..159) is trit n = j div 32 of byte j mod 32, as t = w + 1 (0, 1, 2); when Kp is not a
 *     multiple of 160 the row's last block holds (Kp mod 160)/32 trits a byte, the rest are 1 (weight 0);
 *   - a byte holds t0..t4 as ceil(v·256/243), v = Σ t_n·3^(4−n) (TQ1_0's packing, docs/formats.md §3.3), so
 *     trit n = (((byte·3^n) mod 256)·3) >> 8: a multiply by 3 and a compare against 86 and 171 a trit.
 * The product is the packed rows' (the same integer sums, the same f32 arithmetic): bit-identical to
 * tk_ternary_gemm_fn on the same weights. */
#define TK_T5_BLOCK 160
static inline int64_t tk_trit5_row_bytes(int64_t Kp) { return (Kp + TK_T5_BLOCK - 1) / TK_T5_BLOCK * 32; }
typedef void (*tk_trit5_gemm_fn)(const uint8_t *codes, int64_t Kp, int64_t r0, int64_t r1,
                                 const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                                 float beta, float *out, int64_t ldo);

/* TQ1_0 blocks read in place (ggml type 34, the file's bytes; docs/formats.md §3.3): a row of K weights (K a
 * multiple of 256, so Kp = K) is K/256 blocks of 54 bytes, rows back to back (row r at r·tk_tq1_row_bytes(K)):
 *   - qs[0..32): 5 trits a byte, byte m trit n = weight 32n + m (the 5-trit rows' block, above);
 *   - qs[32..48): 5 trits a byte, byte 32 + m trit n = weight 160 + 16n + m;
 *   - qh[48..52): 4 trits a byte, byte 48 + m trit n = weight 240 + 4n + m (its fifth trit is not read);
 *   - an f16 scale d (bytes 52..53), NOT read: the caller checked that every block has the one scale beta.
 * Trit n of a byte is the 5-trit rows' (((byte·3^n) mod 256)·3) >> 8, the code w + 1 (every byte decodes to
 * 0..2). The product is the packed rows' (the same integer sums, the same f32 arithmetic): bit-identical to
 * tk_ternary_gemm_fn on the same weights. */
#define TK_TQ1_BLOCK 256
#define TK_TQ1_BLOCK_BYTES 54
static inline int64_t tk_tq1_row_bytes(int64_t K) { return K / TK_TQ1_BLOCK * TK_TQ1_BLOCK_BYTES; }
typedef void (*tk_tq1_gemm_fn)(const uint8_t *blocks, int64_t K, int64_t r0, int64_t r1,
                               const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                               float beta, float *out, int64_t ldo);

/* out[t*ldo + r] = sum_k W[r][k] * x[t*ldx + k], r in [r0, r1), t < n; W row-major [rows][K]. */
typedef void (*tk_dense_gemm_fn)(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1,
                                 const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo);

/* The same product for the block types (tk_block_gemm_scalar defines it): each (row, token) is one chain of 8 f32
 * lanes, lane k mod 8, acc = fma(w_k, x_k, acc) over k in order with w_k the weight's exact f32 value, then the
 * lanes summed as ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)): the AVX2 dense kernel's arithmetic on a
 * load-time F32 copy, bit for bit (the AVX-512 form: its dense kernel's 16-lane chain and reduction). */
typedef tk_dense_gemm_fn tk_block_gemm_fn;

/* The optional int8 output head: W[r][k] ≈ w[r][k]·wscale[r] (per-row absmax int8, rows padded
 * with zeros to Kp), activations int8 per token as in BitLinear (|q| ≤ 127 since s = 127/max|x|).
 * out[t*ldo + r] = (sum_k w[r][k]·q[t][k]) · wscale[r] / s[t]. */
typedef void (*tk_i8_gemm_fn)(const int8_t *w, const float *wscale, int64_t Kp, int64_t r0, int64_t r1,
                              const int8_t *q, const float *s, int64_t n, float *out, int64_t ldo);

/* Per-token absmax int8 quantization (see tk_quantize_rows, the scalar form). */
typedef void (*tk_quantize_fn)(const float *x, int64_t ldx, int64_t K, int64_t n,
                               int8_t *q, int64_t Kp, float *s, int32_t *qsum);
/* KV cache element types (ggml's type ids). A cache row holds the KV heads of one position, each
 * head vector of hd values stored as tk_kv_head_bytes(type, hd) bytes:
 *   F32: hd floats; F16: hd IEEE halves; Q8_0: ceil(hd/32) blocks [fp16 d][32 int8 q] along the
 *   head (value = q·d; a last short block is zero padded), d = max|x|/127, q = round(x/d) as
 *   llama.cpp's quantize_row_q8_0. Every stored value becomes an f32 exactly when read. */
typedef enum tk_kv_type { TK_KV_F32 = 0, TK_KV_F16 = 1, TK_KV_Q8_0 = 8 } tk_kv_type;
int64_t tk_kv_head_bytes(int32_t type, int64_t hd);   /* 0 for an unknown type */
/* n head vectors of hd floats (src, consecutive) stored as `type` into dst (n · head bytes). The
 * only writer of the cache: one plain C function, so every variant stores the same bytes. */
void tk_kv_store(int32_t type, const float *src, int64_t n, int64_t hd, uint8_t *dst);
/* The reverse: n stored head vectors as floats (exact). */
void tk_kv_load(int32_t type, const uint8_t *src, int64_t n, int64_t hd, float *dst);

/* Attention of n_q query heads that read one KV head (GQA), one query, over cache positions
 * [j0, j1): streamed in tiles of TK_ATT_TILE positions with an online softmax (no buffer of
 * n_kv scores). k, v: the KV head's bytes in cache row 0 (row j at + j·k_row_bytes, j·v_row_bytes), of k_type /
 * v_type. q: n_q head vectors of hd floats. out: the n_q normalised head outputs (hd floats
 * each) when partial is NULL; else partial receives, per head m at m·tk_att_partial_floats(hd),
 * the chunk's unnormalised sums [O: hdp][L: 16 lanes][M], to be combined by tk_attention_merge.
 * scratch: tk_att_scratch_floats(n_q, hd) floats. The float order is defined by
 * generic/attention.c (16 lanes, explicit FMAs, a fixed final tree, one exp polynomial), so
 * every variant gives the same bits. */
#define TK_ATT_TILE 32
#define TK_ATT_CHUNK 1024     /* positions per work item; a fixed constant, so results never depend on threads */
typedef void (*tk_attention_fn)(const float *q, int64_t n_q, const uint8_t *k, const uint8_t *v, int64_t k_row_bytes, int64_t v_row_bytes,
                                int32_t k_type, int32_t v_type, int64_t j0, int64_t j1, int64_t hd, float scale,
                                float *scratch, float *out, float *partial);
int64_t tk_att_scratch_floats(int64_t n_q, int64_t hd);
int64_t tk_att_partial_floats(int64_t hd);
/* Combines n_chunks partials of one head (consecutive chunks, `stride` floats apart) into its
 * normalised output of hd floats. Plain C (mul and add, no FMA): the same bits everywhere. */
void tk_attention_merge(const float *partials, int64_t n_chunks, int64_t stride, int64_t hd, float *out);
/* The exp of the attention kernels (x ≤ 0 in use; clamped to [-87.33, 0]); scalar form of the
 * vector polynomial every variant uses. */
float tk_att_exp(float x);
/* RMSNorm of n values: y = x / sqrt(mean(x^2) + eps) * g; x and y may alias. */
typedef void (*tk_rmsnorm_fn)(const float *x, const float *g, int64_t n, float eps, float *y);
/* Per-row int8 quantization of a dense matrix (see tk_quantize_weight_rows). */
typedef void (*tk_weight_quantize_fn)(const void *w, tk_dtype dtype, int64_t K, int64_t rows,
                                      int8_t *out, int64_t Kp, float *scale);

/* The certified head (docs/formats.md §7): each exact logit lies in [lo, hi] around the int8 one.
 * lo[r] = l[r] - e[r], hi[r] = l[r] + e[r] with e[r] = a[r]*norm + b[r]*eps + rel*|l[r]| + TK_HEAD_ABS
 * (each step rounded to f32 in that order, no FMA, so every variant gives the same bits).
 * Returns how many l[r] are not finite (then lo/hi mean nothing). */
typedef int64_t (*tk_head_bounds_fn)(const float *l, const float *a, const float *b, float norm, float eps,
                                     float rel, int64_t n, float *lo, float *hi);
/* The k-th largest of v[0..n) counting repeats (1 ≤ k ≤ min(n, TK_HEAD_MAX_K)); v has no NaN.
 * scratch: k floats. A value, so every method of finding it gives the same bits. */
typedef float (*tk_kth_largest_fn)(const float *v, int64_t n, int64_t k, float *scratch);
/* The indices r (ascending) with v[r] >= t, written to idx; returns how many. */
typedef int64_t (*tk_collect_fn)(const float *v, int64_t n, float t, int32_t *idx);
/* The certified head's per-row constants (see tk_head_row_bounds_par). */
typedef void (*tk_head_row_bounds_fn)(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1,
                                      const int8_t *q, int64_t Kp, const float *scale, float *a, float *b);
#define TK_HEAD_ABS 1e-30f      /* covers underflow in the int8 logit's two f32 operations */
#define TK_HEAD_MAX_K 256

/* The group-scaled types with int8 activations (docs/formats.md §8.7) run on tiles made at load
 * (tk_group_tile): rows in tiles of 16 (the last one padded with rows of scale 0), each tile's groups
 * in order, tk_group_tile_bytes(G, one_bit) bytes a group:
 *   [16 fp16 scales d, rows 16T..16T+15][64-byte chunks]
 *   2-bit (weight (c − 1)·d, so code 3 is +2): G/16 chunks; chunk t, byte 4i + b, bits 2s..2s+1 hold
 *     the code of row i's weight 16t + 4s + b of the group;
 *   1-bit (Q1_0, weight ±d, read as the code c = 2·bit): G/32 chunks; chunk t, byte 4i + b, bit s
 *     holds row i's weight 32t + 4s + b.
 * So the 4 codes of a row in one byte lane meet 4 consecutive activations, the same 4 for the 16 rows
 * of the tile: one broadcast and one 512-bit dot product take 64 weights of 16 rows, and each lane of
 * the result is one row's (no horizontal sum).
 * q: n rows of Kp int8 activations in natural order; nsum[t·n_groups + g] = −Σ q over group g of token
 * t (tk_group_sums: the −1 of c − 1). Rows [r0, r1), r0 a multiple of 16 (r1 too unless it is the
 * last row):
 *   out[t·ldo + r] = acc / s[t], acc = fma(d_{r,g}, (float)isum_{r,g}, acc) over the groups in order,
 *   isum the exact integer nsum + Σ_{j∈g} c_j·q_j; every variant gives the same bits. */
static inline int64_t tk_group_tile_bytes(int64_t group, int one_bit) { return 32 + (one_bit ? 2 : 4) * group; }
typedef void (*tk_group_gemm_fn)(const uint8_t *tiles, int64_t group, int one_bit, int64_t n_groups,
                                 int64_t r0, int64_t r1, const int8_t *q, int64_t Kp, const int32_t *nsum,
                                 const float *s, int64_t n, float *out, int64_t ldo);

/* The 4-bit certified head (docs/formats.md §7.1): a row is Kp/2 bytes of nibbles u = q + 8 (q in
 * [-7, 7]; group g's 16 bytes hold elements g·32 + i low and g·32 + 16 + i high) and Kp/32 f16 scales
 * (one a group of 32 columns); Kp is a multiple of 256. For rows [r0, r1) and tokens t < n (q, s as
 * tk_quantize_rows made them with ld Kp; corr, gn as tk_head4_act made them):
 *   out[t·ldo + r] = Σ_g c_g·(Σ_k∈g q_k·a_k) / s[t]   and   err[t·ldo + r] = Σ_g c_g·gn[g]
 * in f32, summed in 8 lanes (lane j: elements 4j..4j+3 of each group; err: groups g ≡ j mod 8), the
 * lanes added as tk_hsum_ps does: every variant gives the scalar twin's bits. */
typedef void (*tk_q4_gemm_fn)(const uint8_t *w, const uint16_t *wscale, int64_t Kp, int64_t r0, int64_t r1,
                              const int8_t *q, const float *s, const int32_t *corr, const float *gn, int64_t n,
                              float *out, float *err, int64_t ldo);

/* One decode row of the gated delta rule on one value head's state S [dk][dv] (tk_delta_job below): S ←
 * decay·S; δ = β(v − Sᵀk); S ← S + k⊗δ; out = Sᵀq. delta: dv floats of scratch. Bit-identical in every
 * variant (each element's products and sums in the scalar form's order, never fused). */
typedef void (*tk_delta_step_fn)(float *S, const float *q, const float *k, const float *v, float decay,
                                 float beta, float *out, float *delta, int64_t dk, int64_t dv);

/* A set of kernels for one instruction set. */
typedef struct tk_kernels {
    const char *name;
    tk_ternary_gemm_fn ternary_gemm;
    tk_dense_gemm_fn dense_gemm;
    tk_i8_gemm_fn i8_gemm;
    tk_quantize_fn quantize_rows;   /* bit-identical in every variant */
    tk_attention_fn attention;       /* the query heads of one KV head */
    tk_rmsnorm_fn rmsnorm;
    tk_weight_quantize_fn quantize_weight_rows;  /* bit-identical in every variant; at load */
    tk_head_bounds_fn head_bounds;   /* the certified head's three steps: bit-identical in every variant */
    tk_kth_largest_fn kth_largest;
    tk_collect_fn collect_at_least;
    tk_head_row_bounds_fn head_row_bounds;   /* at load */
    tk_group_gemm_fn group_gemm;
    tk_block_gemm_fn block_gemm;     /* the head and embedding in ggml's blocks (Q4_0, Q8_0, Q4_K, Q5_K, Q6_K) */
    tk_trit5_gemm_fn trit5_gemm;     /* 5-trit rows */
    tk_q4_gemm_fn q4_gemm;           /* the 4-bit certified head's product: bit-identical in every variant */
    tk_delta_step_fn delta_step;     /* qwen35's recurrent state update: bit-identical in every variant */
    tk_tq1_gemm_fn tq1_gemm;         /* TQ1_0 blocks in place */
    /* `attention` with int8 scores over a Q8_0 key cache (the query quantized per 32-value block, integer dots;
     * generic/attention_q8.c): opt-in, bit-identical in every variant, not the float form's numbers */
    tk_attention_fn attention_q8;
} tk_kernels;

/* The variant named `name` ("scalar"; "avx2", "avx512vnni" on x86-64; "neon", "dotprod", "i8mm" on ARM64),
 * or NULL when this CPU (or this build) lacks it. */
const tk_kernels *tk_kernels_named(const char *name);
/* The fastest variant this CPU supports. Never NULL. */
const tk_kernels *tk_kernels_best(void);

/* Quantize n rows of x (row stride ldx, K values) to int8 rows of Kp bytes (zero padded),
 * writing s[t] = 127/max(max|x|,1e-5) and qsum[t] = sum of the row's q. Exact (no ISA variants
 * differ: round-half-even by lrintf in the default rounding mode). */
void tk_quantize_rows(const float *x, int64_t ldx, int64_t K, int64_t n,
                      int8_t *q, int64_t Kp, float *s, int32_t *qsum);

/* The int8 output head at load: row r of the dense matrix W (K values) becomes
 * out[r*Kp + k] = round_half_even(W[r][k] / scale[r]), scale[r] = max_k |W[r][k]| / 127 (1 for a
 * zero row), zero padded to Kp. The scalar form; the table's quantize_weight_rows is the same. */
void tk_quantize_weight_rows(const void *w, tk_dtype dtype, int64_t K, int64_t rows,
                             int8_t *out, int64_t Kp, float *scale);

/* The certified head's per-row constants, at load, from the dense head W (K values a row) and its
 * int8 form (q, Kp, scale as tk_quantize_weight_rows made them), for rows [r0, r1):
 *   a[r] ≥ max_k |W[r][k] - scale[r]·q[r][k]| + γ_K · max_k |W[r][k]|   (γ_K = K·u/(1-K·u), u = 2^-24)
 *   b[r] ≥ scale[r] · sum_k |q[r][k]|
 * each difference rounded once (an FMA), then rounded up with a margin (docs/formats.md §7); a row
 * with a non-finite weight gets FLT_MAX (always a candidate). Bit-identical in every variant. */
void tk_head_row_bounds_par(tk_pool *pool, tk_head_row_bounds_fn fn, const void *w, tk_dtype dtype, int64_t K,
                            int64_t rows, const int8_t *q, int64_t Kp, const float *scale, float *a, float *b);
/* The certified head's per-token numbers for one activation row h (K values) and its int8 form
 * (q, s as tk_quantize_rows made them): *norm ≥ sum_k |h[k]|, *eps ≥ max_k |h[k] - q[k]/s|,
 * computed in double and rounded up. Returns 0 when h is not finite. */
int tk_head_act_bounds(const float *h, int64_t K, const int8_t *q, float s, float *norm, float *eps);

/* The 4-bit certified head at load, rows [0, rows) of the dense head W (K values a row), on the
 * pool's threads (pool may be NULL): nib and sc as tk_q4_gemm_fn reads them (c_g = max|W_g|/7.5
 * rounded up to an f16, q = round(W/c) clamped to [-7, 7]), and per row
 *   b[r] ≥ Σ_g c_g Σ_k∈g |q_k|  (rounded up with the margin),
 *   t[r] ≥ max_k |W_k − c_g q_k| / c_g + γ_Kp · max_k |W_k| / c_g  (rounded up),
 *   bad[r] = 1 when the row has a weight that is not finite or a scale beyond f16 (its nibbles and
 *   scales are then zero: the caller makes it always a candidate). */
void tk_q4_quantize_par(tk_pool *pool, const void *w, tk_dtype dtype, int64_t K, int64_t rows, uint8_t *nib,
                        uint16_t *sc, int64_t Kp, float *b, float *t, uint8_t *bad);
/* The scalar factor α of the 4-bit head's weight term from max_r t[r]: α ≥ tmax / (1 − γ_Kp), with
 * the margin, so that α·err[r] bounds the weight rounding plus exact mode's own rounding. */
float tk_head4_alpha(float tmax, int64_t Kp);
/* The 4-bit head's per-token numbers for one activation row h (K values; q, s as tk_quantize_rows
 * made them, ld Kp): corr[j] = 8·Σ_{i<4} q[4j+i] (j < Kp/4), gn[g] ≥ Σ_k∈g |h_k| (g < Kp/32, rounded
 * up), *eps ≥ max_k |h_k − q_k/s| + γ_Kp·127/s (rounded up). Returns 0 when h is not finite. */
int tk_head4_act(const float *h, int64_t K, const int8_t *q, int64_t Kp, float s, int32_t *corr, float *gn,
                 float *eps);
void tk_q4_gemm_par(tk_pool *pool, tk_q4_gemm_fn fn, const uint8_t *w, const uint16_t *wscale, int64_t Kp,
                    int64_t rows, const int8_t *q, const float *s, const int32_t *corr, const float *gn, int64_t n,
                    float *out, float *err, int64_t ldo);

/* nsum[t·n_groups + g] = −Σ_{j<group} q[t·Kp + g·group + j], for the group kernels. */
void tk_group_sums(const int8_t *q, int64_t Kp, int64_t n, int64_t group, int64_t n_groups, int32_t *nsum);
void tk_group_gemm_par(tk_pool *pool, tk_group_gemm_fn fn, const uint8_t *tiles, int64_t group, int one_bit,
                       int64_t n_groups, int64_t rows, const int8_t *q, int64_t Kp, const int32_t *nsum,
                       const float *s, int64_t n, float *out, int64_t ldo);
/* The file's blocks of a rows × (n_groups·group) tensor (row-major blocks) to the kernels' tiles (dst:
 * ceil(rows/16)·n_groups·tk_group_tile_bytes bytes), on the pool's threads (pool may be NULL).
 * src_kind: TK_GROUP_2BIT ([fp16 d][group/4 code bytes]: Q2_0, legacy id 42, PQ2_0), TK_GROUP_Q1_0
 * ([fp16 d][16 bit bytes], group 128), TK_GROUP_PTQ1_0 (28 bytes, base-3 trits, scale last, group 128).
 * Returns the first block (in file order) whose scale is inf or NaN, or -1. */
#define TK_GROUP_2BIT 0
#define TK_GROUP_Q1_0 1
#define TK_GROUP_PTQ1_0 2
int64_t tk_group_tile(tk_pool *pool, const uint8_t *src, int src_kind, int64_t group, int64_t rows, int64_t n_groups,
                      uint8_t *dst);

/* Element conversions. */
float tk_f16_to_f32(uint16_t h);
uint16_t tk_f32_to_f16(float f);
float tk_bf16_to_f32(uint16_t h);

/* Index of the first byte of 2-bit codes holding the code 3, or -1 (I2_S validation at load). */
int64_t tk_find_code3(const uint8_t *codes, int64_t n);

/* ---- thread pool (persistent workers; bounded spin, then block) ---- */
/* A job is called as fn(ctx, thread_index, n_threads) on the caller (index 0) and on every worker
 * that joins before the caller has finished its own call; a job must therefore take its work
 * from a shared counter or scheduler, so that any subset of the threads (the caller alone
 * included) completes it. Each index runs at most once per job. */
typedef void (*tk_job_fn)(void *ctx, int ith, int nth);
/* A private pool. Returns NULL on failure (errno set). n_threads >= 1 (1 = no extra threads). */
tk_pool *tk_pool_create(int n_threads);
/* The process's shared pool of n_threads threads (made on first use, reference counted). */
tk_pool *tk_pool_shared(int n_threads);
/* Releases a pool from tk_pool_create or one reference to a shared pool. */
void tk_pool_free(tk_pool *pool);
int tk_pool_size(const tk_pool *pool);
/* Runs fn as described above and returns when it is complete. Thread-safe: while another
 * thread's job runs on the pool, the caller runs its job alone. */
void tk_pool_run(tk_pool *pool, tk_job_fn fn, void *ctx);

/* Row-parallel forms of the two products, over all `rows` output rows. pool may be NULL. */
void tk_ternary_gemm_par(tk_pool *pool, tk_ternary_gemm_fn fn, const uint8_t *codes, int64_t row_bytes,
                         int64_t rows, const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                         float beta, float *out, int64_t ldo);
void tk_trit5_gemm_par(tk_pool *pool, tk_trit5_gemm_fn fn, const uint8_t *codes, int64_t Kp,
                       int64_t rows, const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                       float beta, float *out, int64_t ldo);
void tk_tq1_gemm_par(tk_pool *pool, tk_tq1_gemm_fn fn, const uint8_t *blocks, int64_t K,
                     int64_t rows, const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                     float beta, float *out, int64_t ldo);
/* Packed rows (Kp/4 bytes a row) to 5-trit rows (dst: rows × tk_trit5_row_bytes(Kp) bytes), on the pool's
 * threads (pool may be NULL). The packed codes must be 0..2 (tk_find_code3). */
void tk_trit5_from_packed(tk_pool *pool, const uint8_t *codes, int64_t Kp, int64_t rows, uint8_t *dst);
void tk_dense_gemm_par(tk_pool *pool, tk_dense_gemm_fn fn, const void *w, tk_dtype dtype, int64_t K,
                       int64_t rows, const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo);

void tk_i8_gemm_par(tk_pool *pool, tk_i8_gemm_fn fn, const int8_t *w, const float *wscale, int64_t Kp,
                    int64_t rows, const int8_t *q, const float *s, int64_t n, float *out, int64_t ldo);

/* Attention of n query rows × n_heads heads. Work items are (row, KV head, chunk of
 * TK_ATT_CHUNK positions), taken from a shared counter by the pool's threads; a row whose
 * n_kv[t] fits one chunk is written to out directly, longer ones go through `partials`
 * (chunk-major: [chunk][row][head] × tk_att_partial_floats(hd)) and are merged in a second pass.
 * Row t reads the layer's cache at k[t] / v[t]: KV head g's positions start at g·k_head_stride
 * (v_head_stride) bytes and lie k_row_bytes (v_row_bytes) apart (head-major, so one head's
 * positions stream contiguously); query heads [g*group, (g+1)*group) read KV head g. q and out rows have
 * stride q_stride floats. scratch: n_threads × scratch_stride floats
 * (scratch_stride ≥ tk_att_scratch_floats(group, hd)); partials: room for
 * ceil(max n_kv / TK_ATT_CHUNK) chunks of max_rows rows when any row is longer than a chunk. */
typedef struct tk_attention_job {
    tk_attention_fn fn;
    const float *q; float *out; int64_t q_stride;
    const uint8_t *const *k; const uint8_t *const *v; const int64_t *n_kv; int64_t k_row_bytes, v_row_bytes;
    int64_t k_head_stride, v_head_stride;
    int32_t k_type, v_type;
    int64_t n_heads, group, hd; float scale;
    float *scratch; int64_t scratch_stride;
    float *partials; int64_t max_rows;
    int64_t n_kv_rows;               /* set by tk_attention_par */
    int64_t n_items, max_chunks;     /* set by tk_attention_par */
    int64_t next_item;               /* the next work item; atomic, set by tk_attention_par */
} tk_attention_job;
void tk_attention_par(tk_pool *pool, tk_attention_job *job, int64_t n);

/* The gated delta rule (qwen35 Gated DeltaNet) of n rows, parallel over value heads (delta_rule.c):
 * for each value head h and row t in order, on state[t] + h·dk·dv ([dk][dv]): S ← decay·S;
 * δ = β(v − Sᵀk); S ← S + k⊗δ; out = Sᵀq. Row t's q, k, v are at qkv + t·row_stride (+0, +key_dim,
 * +2·key_dim; key head key_head[h] of dk, value head h of dv); decay and beta [n][n_heads]; out
 * [n][n_heads·dv]. dv ≤ TK_DELTA_MAX_DV. */
#define TK_DELTA_MAX_DV 1024
/* Chunked form (prompts): a run of ≥ chunk_min consecutive rows on one state (one sequence's rows in
 * order) is evaluated TK_DELTA_CHUNK rows at a time from the run's first row (delta_rule_chunked.c):
 * equal to the recurrent form up to rounding. It needs log_decay (the decay's logarithm, [n][n_heads])
 * and work: tk_delta_work_floats(dk, dv) floats per pool thread, and dv a multiple of 8. chunk_min 0:
 * recurrent form only. */
#define TK_DELTA_CHUNK 64
typedef struct tk_delta_job {
    float *const *state;
    const float *qkv; int64_t row_stride, key_dim;
    const float *decay, *beta;
    float *out;
    const int32_t *key_head;
    int64_t n, n_heads, dk, dv;
    int64_t next_head;               /* atomic, set by tk_delta_rule_par */
    const float *log_decay;          /* chunked form: log of decay (NULL: recurrent only) */
    float *work;                     /* chunked form: tk_delta_work_floats floats per pool thread */
    int64_t chunk_min;               /* runs of at least this many rows are chunked (0: none) */
    tk_delta_step_fn step;           /* a decode row: the kernel table's delta_step (NULL: the scalar form) */
} tk_delta_job;
int64_t tk_delta_work_floats(int64_t dk, int64_t dv);
/* Rows [t0, t0 + c) of value head h (c ≤ TK_DELTA_CHUNK), all on state S (that head's [dk][dv]). */
void tk_delta_chunk(const tk_delta_job *j, int64_t h, int64_t t0, int64_t c, float *S, float *work);
void tk_delta_rule_par(tk_pool *pool, tk_delta_job *job);

/* Element-wise activations over the pool (generic/activations.c), bit for bit the one-thread loops;
 * pool may be NULL. g[i] ← g[i]·σ(g[i])·u[i] (SiLU-gated FFN); o[i] ← o[i]·(z[i]·σ(z[i])) (the gated
 * norm's gate); the Gated DeltaNet's depthwise causal conv1d + SiLU of n rows of x (row stride
 * row_stride, channels in place), row t with its sequence's conv state state[t] ([K − 1][channels],
 * oldest first, updated), w [channels][K]. */
void tk_silu_mul_par(tk_pool *pool, float *g, const float *u, int64_t n);
void tk_silu_gate_par(tk_pool *pool, float *o, const float *z, int64_t n);
void tk_causal_conv_silu_par(tk_pool *pool, float *x, int64_t row_stride, int64_t n, float *const *state,
                             const float *w, int64_t K, int64_t channels);

/* Reads `bytes` bytes of buf on all pool threads (each its share) and returns a checksum, so
 * the read cannot be optimised away: the memory read-bandwidth probe of `trit bench`. */
uint64_t tk_read_memory(tk_pool *pool, const void *buf, size_t bytes);
/* The f32 multiply-add probe: every thread of the pool runs iters steps of 12 FMA chains of the
 * widest vectors this CPU has; returns the multiply-adds (lanes) done on all threads together, for a
 * caller that times the call (`trit bench --concurrency`). sink: a value that keeps the chains. */
int64_t tk_fma_probe(tk_pool *pool, int64_t iters, float *sink);

#ifdef __cplusplus
}
#endif
#endif
