/* AVX-512 VNNI ternary product, 512-bit form: vpdpbusd multiplies u8 codes by s8 activations and
 * adds groups of four into i32 lanes, 64 products per instruction.
 *
 * Decoding a packed block (32 bytes = 128 weights, shift group g holds elements 32g..32g+31): the
 * block is broadcast into both halves of a zmm and shifted per 16-bit lane by (6 | 4) and (2 | 0),
 * so one register holds groups 0-1 (elements 0..63) and the other groups 2-3 (64..127), in the
 * order of the activations: both activation loads are plain 64-byte loads, no shuffle. A block
 * costs one load, two shifts, two ands and two vpdpbusd, half the work of the 256-bit form.
 *
 * Tiles: decode (one token) runs 4 rows at once so each activation load serves 4 rows, with a
 * software prefetch that walks the weights linearly (a 4-row tile reads 4 consecutive rows, one
 * contiguous span, so prefetching PF_DIST bytes past the current position of row 0 covers
 * everything: the hardware prefetcher alone loses ~40% on rows as short as 640 bytes). Prompts
 * run 4 rows × 4 tokens so each decoded block serves 4 tokens and each activation load 4 rows
 * (16 accumulators + 8 decoded + 2 activation registers of the 32). */
#if defined(__x86_64__)
#include <immintrin.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"

#define TK_VNNI __attribute__((target("avx2,avx512f,avx512vl,avx512bw,avx512vnni")))

/* Bytes ahead of the current weight position that decode prefetches (measured: 1 KB 9.0 GB/s,
 * 2 KB 10.5, 4-16 KB 12.2-12.5 on one core of the 2B4T shape). */
#ifndef PF_DIST
#define PF_DIST 12288
#endif
#ifndef PF_HINT
#define PF_HINT _MM_HINT_T1
#endif

typedef struct { __m512i sh01, sh23, mask; } decoder;

TK_VNNI static inline decoder make_decoder(void) {
    decoder d;
    d.sh01 = _mm512_mask_blend_epi16(0xFFFF0000u, _mm512_set1_epi16(6), _mm512_set1_epi16(4));
    d.sh23 = _mm512_mask_blend_epi16(0xFFFF0000u, _mm512_set1_epi16(2), _mm512_setzero_si512());
    d.mask = _mm512_set1_epi8(3);
    return d;
}

/* The codes of one block: *c01 = elements 0..63, *c23 = elements 64..127. */
TK_VNNI static inline void decode_block(const decoder *d, const uint8_t *block, __m512i *c01, __m512i *c23) {
    const __m512i x = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)block));
    *c01 = _mm512_and_si512(_mm512_srlv_epi16(x, d->sh01), d->mask);
    *c23 = _mm512_and_si512(_mm512_srlv_epi16(x, d->sh23), d->mask);
}

/* Decode skips the shifts: masking the broadcast block with (0xC0 | 0x30) and (0x0C | 0x03) leaves
 * each code multiplied by 64, 16, 4 or 1 depending on its group (at most 2·64 = 128, still a u8).
 * Each zmm half then accumulates one scale, and the scales come off exactly at the end (every lane
 * is a multiple of its scale). Two instructions per block less than shift-and-mask, which matters
 * because decode must run well ahead of memory to keep the prefetcher busy. */
TK_VNNI static inline int32_t unscale(__m512i acc01, __m512i acc23) {
    const __m512i sh = _mm512_mask_blend_epi32(0xFF00, _mm512_set1_epi32(6), _mm512_set1_epi32(4));
    const __m512i sl = _mm512_mask_blend_epi32(0xFF00, _mm512_set1_epi32(2), _mm512_setzero_si512());
    return _mm512_reduce_add_epi32(_mm512_add_epi32(_mm512_srav_epi32(acc01, sh), _mm512_srav_epi32(acc23, sl)));
}

/* One token, rows [r, r+4). */
TK_VNNI static void rows4_token1(const uint8_t *codes, int64_t row_bytes, int64_t r, const int8_t *q,
                                 int64_t nblocks, int32_t out[4]) {
    const __m512i m01 = _mm512_mask_blend_epi64(0xF0, _mm512_set1_epi8((char)0xC0), _mm512_set1_epi8(0x30));
    const __m512i m23 = _mm512_mask_blend_epi64(0xF0, _mm512_set1_epi8(0x0C), _mm512_set1_epi8(0x03));
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    __m512i b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    const uint8_t *w0 = codes + r * row_bytes, *w1 = w0 + row_bytes, *w2 = w1 + row_bytes, *w3 = w2 + row_bytes;
#define BLOCK_ROW(w, a, bb)                                                                        \
    {                                                                                              \
        const __m512i x = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)((w) + b * 32))); \
        a = _mm512_dpbusd_epi32(a, _mm512_and_si512(x, m01), q01);                                 \
        bb = _mm512_dpbusd_epi32(bb, _mm512_and_si512(x, m23), q23);                               \
    }
    for (int64_t b = 0; b < nblocks; b++) {
        /* 4 rows × 32 bytes are consumed per block: prefetch two lines of the span ahead */
        _mm_prefetch((const char *)(w0 + b * 128 + PF_DIST), PF_HINT);
        _mm_prefetch((const char *)(w0 + b * 128 + 64 + PF_DIST), PF_HINT);
        const __m512i q01 = _mm512_loadu_si512(q + b * TK_BLOCK);
        const __m512i q23 = _mm512_loadu_si512(q + b * TK_BLOCK + 64);
        BLOCK_ROW(w0, a0, b0) BLOCK_ROW(w1, a1, b1) BLOCK_ROW(w2, a2, b2) BLOCK_ROW(w3, a3, b3)
    }
#undef BLOCK_ROW
    out[0] = unscale(a0, b0); out[1] = unscale(a1, b1); out[2] = unscale(a2, b2); out[3] = unscale(a3, b3);
}

/* One row, one token (the remainder rows of decode). */
TK_VNNI static int32_t row1_token1(const uint8_t *row, const int8_t *q, int64_t nblocks) {
    const decoder d = make_decoder();
    __m512i a = _mm512_setzero_si512(), b2 = a;
    for (int64_t b = 0; b < nblocks; b++) {
        __m512i c01, c23;
        decode_block(&d, row + b * 32, &c01, &c23);
        a = _mm512_dpbusd_epi32(a, c01, _mm512_loadu_si512(q + b * TK_BLOCK));
        b2 = _mm512_dpbusd_epi32(b2, c23, _mm512_loadu_si512(q + b * TK_BLOCK + 64));
    }
    return _mm512_reduce_add_epi32(_mm512_add_epi32(a, b2));
}

/* ROWS rows from r × tokens qt[0..3] (token pointers may repeat for a short tail). */
#define TILE_TOKENS4(ROWS)                                                                              \
TK_VNNI static void rows##ROWS##_tokens4(const uint8_t *codes, int64_t row_bytes, int64_t r,           \
                                         const int8_t *const qt[4], int64_t nblocks,                   \
                                         int32_t out[4][4]) {                                          \
    const decoder d = make_decoder();                                                                  \
    __m512i acc[ROWS][4];                                                                              \
    for (int j = 0; j < ROWS; j++) for (int i = 0; i < 4; i++) acc[j][i] = _mm512_setzero_si512();     \
    for (int64_t b = 0; b < nblocks; b++) {                                                            \
        __m512i c01[ROWS], c23[ROWS];                                                                  \
        for (int j = 0; j < ROWS; j++) decode_block(&d, codes + (r + j) * row_bytes + b * 32, &c01[j], &c23[j]); \
        for (int i = 0; i < 4; i++) {                                                                  \
            const __m512i q01 = _mm512_loadu_si512(qt[i] + b * TK_BLOCK);                              \
            const __m512i q23 = _mm512_loadu_si512(qt[i] + b * TK_BLOCK + 64);                         \
            for (int j = 0; j < ROWS; j++) {                                                           \
                acc[j][i] = _mm512_dpbusd_epi32(acc[j][i], c01[j], q01);                               \
                acc[j][i] = _mm512_dpbusd_epi32(acc[j][i], c23[j], q23);                               \
            }                                                                                          \
        }                                                                                              \
    }                                                                                                  \
    for (int j = 0; j < ROWS; j++) for (int i = 0; i < 4; i++) out[j][i] = _mm512_reduce_add_epi32(acc[j][i]); \
}
TILE_TOKENS4(4)
TILE_TOKENS4(1)

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
    for (int64_t r = r0; r < r1;) {
        const int rows = r + 4 <= r1 ? 4 : 1;
        for (int64_t t0 = 0; t0 < n; t0 += 4) {
            const int64_t nt = n - t0 < 4 ? n - t0 : 4;
            const int8_t *qt[4];
            for (int i = 0; i < 4; i++) qt[i] = q + (t0 + (i < nt ? i : 0)) * kp;
            int32_t acc[4][4];
            if (rows == 4) rows4_tokens4(codes, row_bytes, r, qt, nblocks, acc);
            else rows1_tokens4(codes, row_bytes, r, qt, nblocks, acc);
            for (int j = 0; j < rows; j++)
                for (int64_t i = 0; i < nt; i++) {
                    const int64_t t = t0 + i;
                    out[t * ldo + r + j] = (float)(acc[j][i] - qsum[t]) / s[t] * beta;
                }
        }
        r += rows;
    }
}
#endif
