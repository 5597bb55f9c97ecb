/* AVX-512 VNNI ternary product, 512-bit form: vpdpbusd multiplies u8 codes by s8 activations and
 * adds groups of four into i32 lanes, 64 products per instruction.
 *
 * Decoding a packed block (32 bytes = 128 weights, shift group g holds elements 32g..32g+31 at bit
 * shift 6-2g): the block is broadcast into both halves of a zmm and masked, without shifting, by
 * (0xC0 | 0x30) for elements 0..63 and (0x0C | 0x03) for 64..127, in the order of the activations
 * (plain 64-byte loads, no shuffle). Each code is then multiplied by 64, 16, 4 or 1 (at most
 * 2·64 = 128, still a u8); every zmm half accumulates one scale, and the scales come off exactly at
 * the end (each lane is a multiple of its scale; |sum| stays far below 2^31). A block costs one
 * load, two ands and two vpdpbusd.
 *
 * Tiles: decode (one token) runs 4 rows at once so each activation load serves 4 rows, with a
 * software prefetch that walks the weights linearly (a 4-row tile reads 4 consecutive rows, one
 * contiguous span, so prefetching PF_DIST bytes past the current position of row 0 covers
 * everything: the hardware prefetcher alone loses much of the bandwidth on short rows). Prompts run
 * PT_ROWS rows × PT_TOK tokens, token groups outside and rows inside, so the group's activations
 * stay in L1 while the call's rows (a chunk sized for L2 by parallel.c) stream past. */
#if defined(__x86_64__)
#include <immintrin.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"

/* Bytes ahead of the current weight position that decode prefetches into L2 (PF_DIST), and again
 * into L1 (PF_NEAR): both together stream faster than either alone. */
#define PF_DIST 12288
#define PF_NEAR 4096

/* The masks of elements 0..63 and 64..127 of a broadcast block. */
#define MASK01 _mm512_mask_blend_epi64(0xF0, _mm512_set1_epi8((char)0xC0), _mm512_set1_epi8(0x30))
#define MASK23 _mm512_mask_blend_epi64(0xF0, _mm512_set1_epi8(0x0C), _mm512_set1_epi8(0x03))

/* The two lines of a 4-row tile's block blk (4 rows × 32 bytes) PF_DIST and PF_NEAR ahead. */
TK_VNNI static inline void prefetch_block(const char *span, int64_t blk) {
    _mm_prefetch(span + blk * 128 + PF_DIST, _MM_HINT_T1);
    _mm_prefetch(span + blk * 128 + 64 + PF_DIST, _MM_HINT_T1);
    _mm_prefetch(span + blk * 128 + PF_NEAR, _MM_HINT_T0);
    _mm_prefetch(span + blk * 128 + 64 + PF_NEAR, _MM_HINT_T0);
}

TK_VNNI static inline __m512i load_block(const uint8_t *block) {
    return _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)block));
}

/* The sum of the products, from the accumulators of the 0..63 (scales 64 | 16) and 64..127
 * (scales 4 | 1) halves. */
TK_VNNI static inline int32_t unscale(__m512i acc01, __m512i acc23) {
    const __m512i sh = _mm512_mask_blend_epi32(0xFF00, _mm512_set1_epi32(6), _mm512_set1_epi32(4));
    const __m512i sl = _mm512_mask_blend_epi32(0xFF00, _mm512_set1_epi32(2), _mm512_setzero_si512());
    return _mm512_reduce_add_epi32(_mm512_add_epi32(_mm512_srav_epi32(acc01, sh), _mm512_srav_epi32(acc23, sl)));
}

/* One token, rows [r, r+4). */
TK_VNNI static void rows4_token1(const uint8_t *codes, int64_t row_bytes, int64_t r, const int8_t *q,
                                 int64_t nblocks, int32_t out[4]) {
    const __m512i m01 = MASK01, m23 = MASK23;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    __m512i b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    const uint8_t *w0 = codes + r * row_bytes, *w1 = w0 + row_bytes, *w2 = w1 + row_bytes, *w3 = w2 + row_bytes;
#define BLOCK_ROW(w, a, bb)                                                                        \
    {                                                                                              \
        const __m512i x = load_block((w) + b * 32);                                                \
        a = _mm512_dpbusd_epi32(a, _mm512_and_si512(x, m01), q01);                                 \
        bb = _mm512_dpbusd_epi32(bb, _mm512_and_si512(x, m23), q23);                               \
    }
    for (int64_t b = 0; b < nblocks; b++) {
        /* 4 rows × 32 bytes are consumed per block: prefetch two lines of the span ahead, twice */
        prefetch_block((const char *)w0, b);
        const __m512i q01 = _mm512_loadu_si512(q + b * TK_BLOCK);
        const __m512i q23 = _mm512_loadu_si512(q + b * TK_BLOCK + 64);
        BLOCK_ROW(w0, a0, b0) BLOCK_ROW(w1, a1, b1) BLOCK_ROW(w2, a2, b2) BLOCK_ROW(w3, a3, b3)
    }
#undef BLOCK_ROW
    out[0] = unscale(a0, b0); out[1] = unscale(a1, b1); out[2] = unscale(a2, b2); out[3] = unscale(a3, b3);
}

/* Two tokens, rows [r, r+4): batched decode of two sequences, still memory-bound, so it streams
 * and prefetches like the one-token tile (the 3×4 prompt tile would do half its work for nothing). */
TK_VNNI static void rows4_tokens2(const uint8_t *codes, int64_t row_bytes, int64_t r, const int8_t *q0,
                                  const int8_t *q1, int64_t nblocks, int32_t out[4][2]) {
    const __m512i m01 = MASK01, m23 = MASK23;
    __m512i a[4][2], bb[4][2];
    for (int j = 0; j < 4; j++)
        for (int t = 0; t < 2; t++) { a[j][t] = _mm512_setzero_si512(); bb[j][t] = a[j][t]; }
    const uint8_t *w0 = codes + r * row_bytes;
    for (int64_t b = 0; b < nblocks; b++) {
        prefetch_block((const char *)w0, b);
        const __m512i x01 = _mm512_loadu_si512(q0 + b * TK_BLOCK), x23 = _mm512_loadu_si512(q0 + b * TK_BLOCK + 64);
        const __m512i y01 = _mm512_loadu_si512(q1 + b * TK_BLOCK), y23 = _mm512_loadu_si512(q1 + b * TK_BLOCK + 64);
        for (int j = 0; j < 4; j++) {
            const __m512i x = load_block(w0 + j * row_bytes + b * 32);
            const __m512i c01 = _mm512_and_si512(x, m01), c23 = _mm512_and_si512(x, m23);
            a[j][0] = _mm512_dpbusd_epi32(a[j][0], c01, x01); bb[j][0] = _mm512_dpbusd_epi32(bb[j][0], c23, x23);
            a[j][1] = _mm512_dpbusd_epi32(a[j][1], c01, y01); bb[j][1] = _mm512_dpbusd_epi32(bb[j][1], c23, y23);
        }
    }
    for (int j = 0; j < 4; j++)
        for (int t = 0; t < 2; t++) out[j][t] = unscale(a[j][t], bb[j][t]);
}

/* One row, one token (the remainder rows of decode). */
TK_VNNI static int32_t row1_token1(const uint8_t *row, const int8_t *q, int64_t nblocks) {
    const __m512i m01 = MASK01, m23 = MASK23;
    __m512i a = _mm512_setzero_si512(), b2 = a;
    for (int64_t b = 0; b < nblocks; b++) {
        const __m512i x = load_block(row + b * 32);
        a = _mm512_dpbusd_epi32(a, _mm512_and_si512(x, m01), _mm512_loadu_si512(q + b * TK_BLOCK));
        b2 = _mm512_dpbusd_epi32(b2, _mm512_and_si512(x, m23), _mm512_loadu_si512(q + b * TK_BLOCK + 64));
    }
    return unscale(a, b2);
}

/* The prompt tile: 3 rows × 4 tokens, the fastest of the shapes that fit the registers with the loop
 * order below (and faster than a shift-and-mask decode). */
#define PT_ROWS 3
#define PT_TOK 4
/* Up to this many tokens, rows go outside the token groups (see the end of the kernel). */
#define SMALL_BATCH 64
/* The wide tiles (below) serve rows up to WIDE_KP columns (2560 here: q, k, v, gate, up), for batches
 * of up to WIDE_TOKENS tokens (128 × 2560 = 320 KB of activations, in L2). Wider rows (down, 6912)
 * keep the 3 × 4 tiles: the loop is long enough that their scalar epilogue costs little, and 8 tokens
 * of their activations outgrow L1 (one kernel_ab.sh run, Zen 4: 2 × 8 at K = 6912 was 5% slower). */
/* (From 4 tokens: for 3 the 3-row tiles are faster.) */
#define WIDE_KP 3072
#define WIDE_TOKENS 128

/* ROWS rows from r × TOK tokens qt[0..TOK), with the mask-only decode: two accumulators (scales
 * 64|16 and 4|1) per row and token. With `stream`
 * (the first token group of a batch of decode rows, which reads the rows from memory) it
 * prefetches as the one-token tile does, two lines a block PF_DIST and PF_NEAR past the position
 * in the tile's span, so the next tiles' lines arrive while this one computes. */
#define TILE(ROWS, TOK)                                                                                \
TK_VNNI static void rows##ROWS##_tokens##TOK(const uint8_t *codes, int64_t row_bytes, int64_t r,      \
                                             const int8_t *const *qt, int64_t nblocks,                 \
                                             int32_t out[][PT_TOK], int stream) {                      \
    const __m512i m01 = MASK01, m23 = MASK23;                                                          \
    __m512i a[ROWS][TOK], b[ROWS][TOK];                                                                \
    const char *span = (const char *)codes + r * row_bytes;                                            \
    for (int j = 0; j < ROWS; j++)                                                                     \
        for (int i = 0; i < TOK; i++) { a[j][i] = _mm512_setzero_si512(); b[j][i] = a[j][i]; }        \
    for (int64_t blk = 0; blk < nblocks; blk++) {                                                      \
        if (stream) prefetch_block(span, blk);                                                         \
        __m512i c01[ROWS], c23[ROWS];                                                                  \
        for (int j = 0; j < ROWS; j++) {                                                               \
            const __m512i x = load_block(codes + (r + j) * row_bytes + blk * 32);                      \
            c01[j] = _mm512_and_si512(x, m01);                                                         \
            c23[j] = _mm512_and_si512(x, m23);                                                         \
        }                                                                                              \
        for (int i = 0; i < TOK; i++) {                                                                \
            const __m512i q01 = _mm512_loadu_si512(qt[i] + blk * TK_BLOCK);                            \
            const __m512i q23 = _mm512_loadu_si512(qt[i] + blk * TK_BLOCK + 64);                       \
            for (int j = 0; j < ROWS; j++) {                                                           \
                a[j][i] = _mm512_dpbusd_epi32(a[j][i], c01[j], q01);                                   \
                b[j][i] = _mm512_dpbusd_epi32(b[j][i], c23[j], q23);                                   \
            }                                                                                          \
        }                                                                                              \
    }                                                                                                  \
    for (int j = 0; j < ROWS; j++) for (int i = 0; i < TOK; i++) out[j][i] = unscale(a[j][i], b[j][i]); \
}
/* PT_ROWS × PT_TOK and the remainder rows, each also for a tail of 1-3 tokens (a batch of 5 decode
 * rows costs 5 tokens' products, not 8) */
TILE(3, 1) TILE(3, 2) TILE(3, 3) TILE(3, 4)
TILE(1, 1) TILE(1, 2) TILE(1, 3) TILE(1, 4)
_Static_assert(PT_ROWS == 3 && PT_TOK == 4, "the tiles instantiated above");
typedef void (*tile_fn)(const uint8_t *, int64_t, int64_t, const int8_t *const *, int64_t, int32_t[][PT_TOK], int);
static const tile_fn tiles3[PT_TOK] = {rows3_tokens1, rows3_tokens2, rows3_tokens3, rows3_tokens4};
static const tile_fn tiles1[PT_TOK] = {rows1_tokens1, rows1_tokens2, rows1_tokens3, rows1_tokens4};

/* The wide tiles: ROWS rows × up to WT_TOK tokens with ONE accumulator per row and token. The
 * upper fields of a block (elements 64..127) are shifted left by 4 bits (vpsllw: a word's low byte
 * spills into the high byte's bits 0..3, which the mask clears) and masked like the lower ones, so
 * both halves carry the scales 64 | 16 and add into the same lanes: a block costs a row one more op
 * (the shift) but half the accumulators, so twice the tokens share each decoded block (the ands,
 * shifts and broadcasts compete with vpdpbusd for the vector pipes). */
#define WT_TOK 8
TK_VNNI static inline int32_t unscale1(__m512i acc) {
    const __m512i sh = _mm512_mask_blend_epi32(0xFF00, _mm512_set1_epi32(6), _mm512_set1_epi32(4));
    return _mm512_reduce_add_epi32(_mm512_srav_epi32(acc, sh));
}
#define WTILE(ROWS, TOK)                                                                               \
TK_VNNI static void wrows##ROWS##_tokens##TOK(const uint8_t *codes, int64_t row_bytes, int64_t r,     \
                                              const int8_t *const *qt, int64_t nblocks,                \
                                              int32_t out[][WT_TOK], int stream) {                     \
    const __m512i m = MASK01;                                                                          \
    __m512i a[ROWS][TOK];                                                                              \
    const char *span = (const char *)codes + r * row_bytes;                                            \
    for (int j = 0; j < ROWS; j++)                                                                     \
        for (int i = 0; i < TOK; i++) a[j][i] = _mm512_setzero_si512();                                \
    for (int64_t blk = 0; blk < nblocks; blk++) {                                                      \
        if (stream) prefetch_block(span, blk);                                                         \
        __m512i c01[ROWS], c23[ROWS];                                                                  \
        for (int j = 0; j < ROWS; j++) {                                                               \
            const __m512i x = load_block(codes + (r + j) * row_bytes + blk * 32);                      \
            c01[j] = _mm512_and_si512(x, m);                                                           \
            c23[j] = _mm512_and_si512(_mm512_slli_epi16(x, 4), m);                                     \
        }                                                                                              \
        for (int i = 0; i < TOK; i++) {                                                                \
            const __m512i q01 = _mm512_loadu_si512(qt[i] + blk * TK_BLOCK);                            \
            const __m512i q23 = _mm512_loadu_si512(qt[i] + blk * TK_BLOCK + 64);                       \
            for (int j = 0; j < ROWS; j++) {                                                           \
                a[j][i] = _mm512_dpbusd_epi32(a[j][i], c01[j], q01);                                   \
                a[j][i] = _mm512_dpbusd_epi32(a[j][i], c23[j], q23);                                   \
            }                                                                                          \
        }                                                                                              \
    }                                                                                                  \
    for (int j = 0; j < ROWS; j++) for (int i = 0; i < TOK; i++) out[j][i] = unscale1(a[j][i]);       \
}
WTILE(2, 1) WTILE(2, 2) WTILE(2, 3) WTILE(2, 4) WTILE(2, 5) WTILE(2, 6) WTILE(2, 7)
WTILE(1, 1) WTILE(1, 2) WTILE(1, 3) WTILE(1, 4) WTILE(1, 5) WTILE(1, 6) WTILE(1, 7) WTILE(1, 8)
typedef void (*wtile_fn)(const uint8_t *, int64_t, int64_t, const int8_t *const *, int64_t, int32_t[][WT_TOK], int);
/* 8 tokens: wrows2_tokens8_out (1 row: wrows1_tokens8) */
static const wtile_fn wtiles2[WT_TOK] = {wrows2_tokens1, wrows2_tokens2, wrows2_tokens3, wrows2_tokens4,
                                         wrows2_tokens5, wrows2_tokens6, wrows2_tokens7, NULL};
static const wtile_fn wtiles1[WT_TOK] = {wrows1_tokens1, wrows1_tokens2, wrows1_tokens3, wrows1_tokens4,
                                         wrows1_tokens5, wrows1_tokens6, wrows1_tokens7, wrows1_tokens8};


/* The full wide tile, 2 rows × 8 tokens, with its epilogue in vectors: the 16 accumulators are summed
 * by a transposing tree (unpack within 128-bit lanes, then across them; lanes of one scale meet
 * before the shift), so a tile ends in ~50 ops instead of 16 scalar reductions, and the outputs
 * (acc - qsum) / s · beta are computed 16 at a time (the same IEEE operations as the scalar form).
 * With K = 2560 a tile's loop is only 20 blocks: the scalar epilogue cost a fifth of the time. */
TK_VNNI static inline __m512i pair_sum(__m512i x, __m512i y, int hi64) {
    return hi64 ? _mm512_add_epi32(_mm512_unpacklo_epi64(x, y), _mm512_unpackhi_epi64(x, y))
                : _mm512_add_epi32(_mm512_unpacklo_epi32(x, y), _mm512_unpackhi_epi32(x, y));
}
/* lane k of the result: the sum of v[k]'s lanes, each lane unscaled (lanes 0..7 by 64, 8..15 by 16) */
TK_VNNI static inline __m512i reduce16(const __m512i v[16]) {
    __m512i t[8], u[4], w[2];
    for (int i = 0; i < 8; i++) t[i] = pair_sum(v[2 * i], v[2 * i + 1], 0);
    for (int i = 0; i < 4; i++) u[i] = pair_sum(t[2 * i], t[2 * i + 1], 1);
    /* u[i], 128-bit lane L: the partial sums of v[4i..4i+3] over lane L; lanes 0, 1 have scale 64, 2, 3 scale 16 */
    const __m512i sh = _mm512_set_epi32(4, 4, 4, 4, 6, 6, 6, 6, 4, 4, 4, 4, 6, 6, 6, 6);
    for (int i = 0; i < 2; i++) {
        const __m512i a = _mm512_shuffle_i32x4(u[2 * i], u[2 * i + 1], 0x88);   /* lanes 0, 2 of each */
        const __m512i b = _mm512_shuffle_i32x4(u[2 * i], u[2 * i + 1], 0xDD);   /* lanes 1, 3 of each */
        /* [v(8i..8i+3) @64, @16, v(8i+4..8i+7) @64, @16] */
        w[i] = _mm512_srav_epi32(_mm512_add_epi32(a, b), sh);
    }
    /* pairs of 128-bit lanes of one group of 4 vectors: (0, 1) of w0, (2, 3) of w0, (0, 1) of w1, ... */
    const __m512i a = _mm512_shuffle_i32x4(w[0], w[1], 0x88), b = _mm512_shuffle_i32x4(w[0], w[1], 0xDD);
    return _mm512_add_epi32(a, b);
}

/* 2 rows × NT tokens (NT ≤ 8), stored: lane 8j + i of the reduced sums is row j, token i (the lanes
 * of tokens NT..7 reduce zeros and are not stored). */
#define WTILE_OUT(NT)                                                                                  \
TK_VNNI static void wrows2_tokens##NT##_out(const uint8_t *codes, int64_t row_bytes, int64_t r,       \
        const int8_t *const *qt, int64_t nblocks, int stream, const int32_t *qsum, const float *s,     \
        float beta, float *out, int64_t ldo) {                                                         \
    const __m512i m = MASK01;                                                                          \
    __m512i a[2][8];                                                                                   \
    const char *span = (const char *)codes + r * row_bytes;                                            \
    for (int j = 0; j < 2; j++)                                                                        \
        for (int i = 0; i < 8; i++) a[j][i] = _mm512_setzero_si512();                                  \
    for (int64_t blk = 0; blk < nblocks; blk++) {                                                      \
        if (stream) prefetch_block(span, blk);                                                         \
        __m512i c01[2], c23[2];                                                                        \
        for (int j = 0; j < 2; j++) {                                                                  \
            const __m512i x = load_block(codes + (r + j) * row_bytes + blk * 32);                      \
            c01[j] = _mm512_and_si512(x, m);                                                           \
            c23[j] = _mm512_and_si512(_mm512_slli_epi16(x, 4), m);                                     \
        }                                                                                              \
        for (int i = 0; i < NT; i++) {                                                                 \
            const __m512i q01 = _mm512_loadu_si512(qt[i] + blk * TK_BLOCK);                            \
            const __m512i q23 = _mm512_loadu_si512(qt[i] + blk * TK_BLOCK + 64);                       \
            for (int j = 0; j < 2; j++) {                                                              \
                a[j][i] = _mm512_dpbusd_epi32(a[j][i], c01[j], q01);                                   \
                a[j][i] = _mm512_dpbusd_epi32(a[j][i], c23[j], q23);                                   \
            }                                                                                          \
        }                                                                                              \
    }                                                                                                  \
    const __mmask8 k = (__mmask8)((1u << NT) - 1);                                                     \
    const __m512i acc = reduce16(&a[0][0]);                                                            \
    const __m512i qs = _mm512_broadcast_i64x4(_mm256_maskz_loadu_epi32(k, qsum));                     \
    const __m512 sc = _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_castps_pd(                        \
        _mm256_mask_loadu_ps(_mm256_set1_ps(1), k, s))));                                              \
    const __m512 y = _mm512_mul_ps(_mm512_div_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc, qs)), sc),   \
                                   _mm512_set1_ps(beta));                                              \
    float v[16];                                                                                       \
    _mm512_storeu_ps(v, y);                                                                            \
    for (int i = 0; i < NT; i++) { out[i * ldo + r] = v[i]; out[i * ldo + r + 1] = v[8 + i]; }        \
}
WTILE_OUT(4) WTILE_OUT(5) WTILE_OUT(6) WTILE_OUT(7) WTILE_OUT(8)
typedef void (*wout_fn)(const uint8_t *, int64_t, int64_t, const int8_t *const *, int64_t, int, const int32_t *,
                        const float *, float, float *, int64_t);
/* 2 rows × 4-8 tokens with the vector epilogue (fewer tokens: the scalar one, see wtiles2) */
static const wout_fn wouts2[WT_TOK] = {NULL, NULL, NULL, wrows2_tokens4_out, wrows2_tokens5_out,
                                       wrows2_tokens6_out, wrows2_tokens7_out, wrows2_tokens8_out};

TK_VNNI void tk_ternary_gemm_avx512vnni(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                                        const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                                        float beta, float *out, int64_t ldo) {
    const int64_t nblocks = row_bytes / TK_BLOCK_BYTES;
    const int64_t kp = nblocks * TK_BLOCK;
    if (n == 1) {
        int64_t r = r0;
        for (; r + 4 <= r1; r += 4) {
            int32_t acc[4];
            rows4_token1(codes, row_bytes, r, q, nblocks, acc);
            for (int i = 0; i < 4; i++) out[r + i] = (float)(acc[i] - qsum[0]) / s[0] * beta;
        }
        for (; r < r1; r++) out[r] = (float)(row1_token1(codes + r * row_bytes, q, nblocks) - qsum[0]) / s[0] * beta;
        return;
    }
    if (n == 2) {
        int64_t r = r0;
        for (; r + 4 <= r1; r += 4) {
            int32_t acc[4][2];
            rows4_tokens2(codes, row_bytes, r, q, q + kp, nblocks, acc);
            for (int j = 0; j < 4; j++)
                for (int t = 0; t < 2; t++) out[t * ldo + r + j] = (float)(acc[j][t] - qsum[t]) / s[t] * beta;
        }
        for (; r < r1; r++)
            for (int t = 0; t < 2; t++)
                out[t * ldo + r] = (float)(row1_token1(codes + r * row_bytes, q + t * kp, nblocks) - qsum[t]) / s[t] * beta;
        return;
    }
    if (kp <= WIDE_KP && n >= 4 && n <= WIDE_TOKENS) {
        /* the wide tiles, rows outside and token groups inside: a pair of rows is read once (from
         * memory, prefetched by the first group) and serves every token from L1, the tokens'
         * activations coming from L1 or L2 (a prompt chunk's included) */
        const int8_t *qt[WIDE_TOKENS / WT_TOK][WT_TOK];
        const int64_t ng = (n + WT_TOK - 1) / WT_TOK;
        for (int64_t g = 0; g < ng; g++)
            for (int i = 0; i < WT_TOK; i++) qt[g][i] = q + (g * WT_TOK + (g * WT_TOK + i < n ? i : 0)) * kp;
        for (int64_t r = r0; r < r1;) {
            const int rows = r + 2 <= r1 ? 2 : 1;
            for (int64_t g = 0; g < ng; g++) {
                const int64_t t0 = g * WT_TOK, nt = n - t0 < WT_TOK ? n - t0 : WT_TOK;
                if (rows == 2 && nt >= 4) {
                    wouts2[nt - 1](codes, row_bytes, r, qt[g], nblocks, g == 0, qsum + t0, s + t0, beta,
                                   out + t0 * ldo, ldo);
                    continue;
                }
                int32_t acc[2][WT_TOK];
                (rows == 2 ? wtiles2 : wtiles1)[nt - 1](codes, row_bytes, r, qt[g], nblocks, acc, g == 0);
                for (int j = 0; j < rows; j++)
                    for (int64_t i = 0; i < nt; i++) {
                        const int64_t t = t0 + i;
                        out[t * ldo + r + j] = (float)(acc[j][i] - qsum[t]) / s[t] * beta;
                    }
            }
            r += rows;
        }
        return;
    }
    if (n <= SMALL_BATCH) {
        /* a few tokens (a batch of decode rows): rows outside, token groups inside, so each row is
         * read from memory once (prefetched by the first group as it goes) and serves every token
         * from L1 (prefetching the next tiles' lines in one burst before each tile instead stalled on
         * the full miss queue). */
        const int8_t *qt[SMALL_BATCH / PT_TOK][PT_TOK];
        const int64_t ng = (n + PT_TOK - 1) / PT_TOK;
        for (int64_t g = 0; g < ng; g++)
            for (int i = 0; i < PT_TOK; i++) qt[g][i] = q + (g * PT_TOK + (g * PT_TOK + i < n ? i : 0)) * kp;
        for (int64_t r = r0; r < r1;) {
            const int rows = r + PT_ROWS <= r1 ? PT_ROWS : 1;
            for (int64_t g = 0; g < ng; g++) {
                const int64_t t0 = g * PT_TOK, nt = n - t0 < PT_TOK ? n - t0 : PT_TOK;
                int32_t acc[PT_ROWS][PT_TOK];
                (rows == PT_ROWS ? tiles3 : tiles1)[nt - 1](codes, row_bytes, r, qt[g], nblocks, acc, g == 0);
                for (int j = 0; j < rows; j++)
                    for (int64_t i = 0; i < nt; i++) {
                        const int64_t t = t0 + i;
                        out[t * ldo + r + j] = (float)(acc[j][i] - qsum[t]) / s[t] * beta;
                    }
            }
            r += rows;
        }
        return;
    }
    /* token groups outside, rows inside: a group's activations (PT_TOK × Kp bytes) stay in L1
     * while the rows of this call (a chunk sized to fit L2) stream past them */
    for (int64_t t0 = 0; t0 < n; t0 += PT_TOK) {
        const int64_t nt = n - t0 < PT_TOK ? n - t0 : PT_TOK;
        const int8_t *qt[PT_TOK];
        for (int i = 0; i < PT_TOK; i++) qt[i] = q + (t0 + (i < nt ? i : 0)) * kp;
        for (int64_t r = r0; r < r1;) {
            const int rows = r + PT_ROWS <= r1 ? PT_ROWS : 1;
            int32_t acc[PT_ROWS][PT_TOK];
            (rows == PT_ROWS ? tiles3 : tiles1)[nt - 1](codes, row_bytes, r, qt, nblocks, acc, 0);
            for (int j = 0; j < rows; j++)
                for (int64_t i = 0; i < nt; i++) {
                    const int64_t t = t0 + i;
                    out[t * ldo + r + j] = (float)(acc[j][i] - qsum[t]) / s[t] * beta;
                }
            r += rows;
        }
    }
}
#endif
