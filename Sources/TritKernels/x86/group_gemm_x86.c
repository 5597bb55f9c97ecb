/* Group-scaled product with int8 activations, AVX2 and AVX-512 VNNI (docs/formats.md §8.7): the
 * file's 2-bit blocks in place, the token's activations permuted into bit planes, and the lane
 * structure of generic/group_gemm_scalar.c (16 lanes of 4 consecutive permuted products per 64
 * weights, the −1 of each code taken off with the lane's activation sum, one FMA a lane and group,
 * the same final tree), so the outputs equal the scalar twin's bit for bit. A group costs one code
 * load, the shifts that expose its planes, the dot products, a conversion and an FMA; no horizontal
 * sum. Q1_0's 1-bit blocks are read as the codes 0 / 2 (a shuffle spreads the bit bytes, a 16-entry
 * table per plane maps their nibbles to codes; AVX-512 tests the spread bytes bit by bit).
 * Decode takes 2 rows (AVX2) or 4 rows (AVX-512) at a time: independent FMA chains. Prompts take 4
 * tokens at a time, token groups outside and rows inside, so a chunk's weights stay in L2 while the
 * tokens' activations stay in L1. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>
#include "simd_x86.h"
#include "../kernels_internal.h"

#define TK_AVX2F __attribute__((target("avx2,fma,f16c")))
#define TK_VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

/* Every 4 blocks (72 bytes of 18-byte blocks, or 136), their lines `ahead` bytes on: the same block
 * of the next tile. A tile's rows are read side by side, so a fixed distance ahead of one row lands
 * in a row being read already once rows are longer than it (measured, one core, 4096 × 196608 Q2_0:
 * 1536 bytes ahead 13-15 GB/s, the next tile 25-27 GB/s). */
#define TK_ALWAYS static inline __attribute__((always_inline))
TK_ALWAYS void prefetch_ahead(const uint8_t *blk, int64_t ahead, const int G, const int ONE_BIT) {
    _mm_prefetch((const char *)blk + ahead, _MM_HINT_T0);
    _mm_prefetch((const char *)blk + ahead + 64, _MM_HINT_T0);
    if (G == 128 && !ONE_BIT) _mm_prefetch((const char *)blk + ahead + 128, _MM_HINT_T0);
}

/* The 16 lanes of one group and token as two vectors (lanes 0..7, 8..15): exact i32 sums of
 * (c - 1)·qp, as generic/group_gemm_scalar.c defines them. G = 64: the 16 code bytes broadcast to
 * both halves, shifted 0/2 (planes 0, 1) and 4/6 (planes 2, 3). G = 128: planes k = (v >> 2k) & 3 of
 * 32 code bytes (or the codes of Q1_0's 16 bit bytes), planes 0+2 and 1+3 added in i32. */
TK_AVX2F TK_ALWAYS void group_codes(const uint8_t *blk, const int G, const int ONE_BIT, __m256i c[4]) {
    const __m256i m3 = _mm256_set1_epi8(3);
    if (ONE_BIT) {
        /* plane k, byte i: element 4i + k = bit 4(i%2) + k of code byte i/2. Each 16-bit word of the
         * spread bytes holds code byte b twice; its low byte becomes b's low nibble, its high byte b's
         * high nibble, and a 16-entry table per plane maps a nibble to the code (0 or 2) of its bit k */
        const __m256i x = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(blk + 2)));
        const __m256i w = _mm256_shuffle_epi8(x, _mm256_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7,
                                                                   8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15));
        const __m256i nib = _mm256_or_si256(_mm256_and_si256(w, _mm256_set1_epi16(0x000f)),
                                            _mm256_and_si256(_mm256_srli_epi16(w, 4), _mm256_set1_epi16(0x0f00)));
        for (int k = 0; k < 4; k++) {
            const char b[16] = {0, 2 * (1 >> k & 1), 2 * (2 >> k & 1), 2 * (3 >> k & 1), 2 * (4 >> k & 1), 2 * (5 >> k & 1),
                                2 * (6 >> k & 1), 2 * (7 >> k & 1), 2 * (8 >> k & 1), 2 * (9 >> k & 1), 2 * (10 >> k & 1),
                                2 * (11 >> k & 1), 2 * (12 >> k & 1), 2 * (13 >> k & 1), 2 * (14 >> k & 1), 2 * (15 >> k & 1)};
            const __m256i lut = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)b));
            c[k] = _mm256_shuffle_epi8(lut, nib);
        }
    } else if (G == 64) {
        const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(blk + 2)));
        c[0] = _mm256_and_si256(_mm256_srlv_epi32(v, _mm256_setr_epi32(0, 0, 0, 0, 2, 2, 2, 2)), m3);
        c[1] = _mm256_and_si256(_mm256_srlv_epi32(v, _mm256_setr_epi32(4, 4, 4, 4, 6, 6, 6, 6)), m3);
    } else {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(blk + 2));
        c[0] = _mm256_and_si256(v, m3);
        c[1] = _mm256_and_si256(_mm256_srli_epi16(v, 2), m3);
        c[2] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m3);
        c[3] = _mm256_and_si256(_mm256_srli_epi16(v, 6), m3);
    }
}

TK_AVX2F TK_ALWAYS void group_lanes(const __m256i c[4], const int G, const int8_t *qg, const int32_t *ls,
                                    __m256 d, __m256 *lo, __m256 *hi) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i a, b;
    if (G == 64) {
        a = _mm256_madd_epi16(_mm256_maddubs_epi16(c[0], _mm256_loadu_si256((const __m256i *)qg)), ones);
        b = _mm256_madd_epi16(_mm256_maddubs_epi16(c[1], _mm256_loadu_si256((const __m256i *)(qg + 32))), ones);
    } else {
        __m256i e[4];
        for (int k = 0; k < 4; k++)
            e[k] = _mm256_madd_epi16(_mm256_maddubs_epi16(c[k], _mm256_loadu_si256((const __m256i *)(qg + 32 * k))), ones);
        a = _mm256_add_epi32(e[0], e[2]);
        b = _mm256_add_epi32(e[1], e[3]);
    }
    a = _mm256_add_epi32(a, _mm256_loadu_si256((const __m256i *)ls));   /* ls = −Σ qp of the lane */
    b = _mm256_add_epi32(b, _mm256_loadu_si256((const __m256i *)(ls + 8)));
    *lo = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(a), *lo);
    *hi = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(b), *hi);
}

TK_AVX2F TK_ALWAYS __m256 group_scale8(const uint8_t *blk) {
    return _mm256_cvtph_ps(_mm_set1_epi16((short)(blk[0] | blk[1] << 8)));
}

/* tk_sum16 of the 16 lanes (lo = 0..7, hi = 8..15) in registers: a[i] + a[i+8], then +4, +2, +1 */
TK_AVX2F TK_ALWAYS float finish(__m256 lo, __m256 hi) {
    return tk_hsum_ps(_mm256_add_ps(lo, hi));
}

/* NR rows × NTOK tokens; every (row, token) is its own pair of FMA chains, so the chains of the tile
 * hide the FMA latency that one row's sequential sum over its groups would expose. */
TK_AVX2F TK_ALWAYS void group_tile(const uint8_t *blocks, int64_t bb, const int G, const int ONE_BIT, int64_t n_groups, int64_t r,
                                   const int NR, const int8_t *qp, int64_t Kp, const int32_t *lsum,
                                   const float *s, int64_t t0, const int NTOK, float *out, int64_t ldo) {
    __m256 lo[4][4], hi[4][4];
    for (int i = 0; i < NR; i++)
        for (int t = 0; t < NTOK; t++) { lo[i][t] = _mm256_setzero_ps(); hi[i][t] = _mm256_setzero_ps(); }
    const uint8_t *row0 = blocks + r * n_groups * bb;
    const int64_t ahead = NR * n_groups * bb;   /* the next tile's rows (prefetch_ahead) */
    for (int64_t g = 0; g < n_groups; g++) {
        for (int i = 0; i < NR; i++) {
            const uint8_t *blk = row0 + (i * n_groups + g) * bb;
            if ((g & 3) == 0) prefetch_ahead(blk, ahead, G, ONE_BIT);
            const __m256 d = group_scale8(blk);
            __m256i c[4];
            group_codes(blk, G, ONE_BIT, c);
            for (int t = 0; t < NTOK; t++)
                group_lanes(c, G, qp + (t0 + t) * Kp + g * G, lsum + ((t0 + t) * n_groups + g) * 16, d,
                            &lo[i][t], &hi[i][t]);
        }
    }
    for (int i = 0; i < NR; i++)
        for (int t = 0; t < NTOK; t++) out[(t0 + t) * ldo + r + i] = finish(lo[i][t], hi[i][t]) / s[t0 + t];
}

TK_AVX2F TK_ALWAYS void group_gemm_g(const uint8_t *blocks, int64_t bb, const int G, const int ONE_BIT, int64_t n_groups, int64_t r0,
                                  int64_t r1, const int8_t *qp, int64_t Kp, const int32_t *lsum, const float *s,
                                  int64_t n, float *out, int64_t ldo) {
    if (n == 1) {   /* decode: 2 rows at a time */
        int64_t r = r0;
        for (; r + 2 <= r1; r += 2) group_tile(blocks, bb, G, ONE_BIT, n_groups, r, 2, qp, Kp, lsum, s, 0, 1, out, ldo);
        for (; r < r1; r++) group_tile(blocks, bb, G, ONE_BIT, n_groups, r, 1, qp, Kp, lsum, s, 0, 1, out, ldo);
        return;
    }
    /* prompts: token groups outside, rows inside, so a chunk's weights stay in L2 across the token groups */
    int64_t t0 = 0;
    for (; t0 + 4 <= n; t0 += 4)
        for (int64_t r = r0; r < r1; r++) group_tile(blocks, bb, G, ONE_BIT, n_groups, r, 1, qp, Kp, lsum, s, t0, 4, out, ldo);
    for (; t0 < n; t0++)
        for (int64_t r = r0; r < r1; r++) group_tile(blocks, bb, G, ONE_BIT, n_groups, r, 1, qp, Kp, lsum, s, t0, 1, out, ldo);
}

TK_AVX2F void tk_group_gemm_avx2(const uint8_t *blocks, int64_t bb, int64_t group, int64_t n_groups, int64_t r0,
                                int64_t r1, const int8_t *qp, int64_t Kp, const int32_t *lsum, const float *s,
                                int64_t n, float *out, int64_t ldo) {
    if (group == 64) group_gemm_g(blocks, bb, 64, 0, n_groups, r0, r1, qp, Kp, lsum, s, n, out, ldo);
    else if (tk_group_one_bit(group, bb)) group_gemm_g(blocks, bb, 128, 1, n_groups, r0, r1, qp, Kp, lsum, s, n, out, ldo);
    else group_gemm_g(blocks, bb, 128, 0, n_groups, r0, r1, qp, Kp, lsum, s, n, out, ldo);
}
/* AVX-512 VNNI: the 16 lanes of a group and token are one vector; one vpdpbusd takes 64 codes.
 * G = 64: the 16 code bytes in each 128-bit lane, shifted 0/2/4/6 (planes 0..3). G = 128: planes 0|1
 * and 2|3, 32 code bytes a 256-bit half (2-bit), or Q1_0's bit bytes spread by a shuffle and tested
 * bit by bit into codes 0 / 2 (a mask, one masked move). Lanes 0..7 then hold planes 0 + 2 and lanes
 * 8..15 planes 1 + 3, as in the AVX2 form. */
TK_VNNI TK_ALWAYS void group_codes512(const uint8_t *blk, const int G, const int ONE_BIT, __m512i c[2]) {
    const __m512i m3 = _mm512_set1_epi8(3);
    if (ONE_BIT) {
        /* 128-bit lane j holds plane bytes i = 16(j&1) + i', i' = 0..15: code byte i/2, bit 4(i'&1) + k,
         * k = plane 0 or 2 in lanes 0..1 and plane 1 or 3 in lanes 2..3 */
        const __m512i x = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(blk + 2)));
        const __m128i lo8 = _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
        const __m128i hi8 = _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
        const __m512i idx = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(hi8, lo8)),
                                               _mm256_set_m128i(hi8, lo8), 1);
        const __m512i w = _mm512_shuffle_epi8(x, idx);
        const __m512i two = _mm512_set1_epi8(2);
        const __m512i b01 = _mm512_set_epi32(0x20022002, 0x20022002, 0x20022002, 0x20022002, 0x20022002, 0x20022002,
                                             0x20022002, 0x20022002, 0x10011001, 0x10011001, 0x10011001, 0x10011001,
                                             0x10011001, 0x10011001, 0x10011001, 0x10011001);
        const __m512i b23 = _mm512_slli_epi16(b01, 2);
        c[0] = _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(w, b01), two);
        c[1] = _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(w, b23), two);
    } else if (G == 64) {
        const __m512i v = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(blk + 2)));
        c[0] = _mm512_and_si512(_mm512_srlv_epi32(v, _mm512_setr_epi32(0, 0, 0, 0, 2, 2, 2, 2, 4, 4, 4, 4, 6, 6, 6, 6)), m3);
    } else {
        const __m512i v = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(blk + 2)));
        c[0] = _mm512_and_si512(_mm512_srlv_epi32(v, _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2)), m3);
        c[1] = _mm512_and_si512(_mm512_srlv_epi32(v, _mm512_setr_epi32(4, 4, 4, 4, 4, 4, 4, 4, 6, 6, 6, 6, 6, 6, 6, 6)), m3);
    }
}

TK_VNNI TK_ALWAYS void group_lanes512(const __m512i c[2], const int G, const int8_t *qg, const int32_t *ls,
                                      __m512 d, __m512 *acc) {
    /* the lanes start from −Σ qp (the −1 of c − 1), so the sums need no subtraction */
    __m512i a = _mm512_dpbusd_epi32(_mm512_loadu_si512(ls), c[0], _mm512_loadu_si512(qg));
    if (G == 128) a = _mm512_dpbusd_epi32(a, c[1], _mm512_loadu_si512(qg + 64));
    *acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(a), *acc);
}

TK_VNNI TK_ALWAYS float finish512(__m512 acc) {
    return tk_hsum_ps(_mm256_add_ps(_mm512_castps512_ps256(acc), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1))));
}

TK_VNNI TK_ALWAYS void group_tile512(const uint8_t *blocks, int64_t bb, const int G, const int ONE_BIT, int64_t n_groups,
                                     int64_t r, const int NR, const int8_t *qp, int64_t Kp, const int32_t *lsum,
                                     const float *s, int64_t t0, const int NTOK, float *out, int64_t ldo) {
    __m512 acc[4][4];
    for (int i = 0; i < NR; i++)
        for (int t = 0; t < NTOK; t++) acc[i][t] = _mm512_setzero_ps();
    const uint8_t *row0 = blocks + r * n_groups * bb;
    const int64_t ahead = NR * n_groups * bb;   /* the next tile's rows (prefetch_ahead) */
    for (int64_t g = 0; g < n_groups; g++) {
        for (int i = 0; i < NR; i++) {
            const uint8_t *blk = row0 + (i * n_groups + g) * bb;
            if ((g & 3) == 0) prefetch_ahead(blk, ahead, G, ONE_BIT);
            short h;
            memcpy(&h, blk, 2);
            const __m512 d = _mm512_cvtph_ps(_mm256_set1_epi16(h));   /* broadcast, then one conversion */
            __m512i c[2];
            group_codes512(blk, G, ONE_BIT, c);
            for (int t = 0; t < NTOK; t++)
                group_lanes512(c, G, qp + (t0 + t) * Kp + g * G, lsum + ((t0 + t) * n_groups + g) * 16, d, &acc[i][t]);
        }
    }
    for (int i = 0; i < NR; i++)
        for (int t = 0; t < NTOK; t++) out[(t0 + t) * ldo + r + i] = finish512(acc[i][t]) / s[t0 + t];
}

#define DEC_ROWS 4
TK_VNNI TK_ALWAYS void group_gemm512_g(const uint8_t *blocks, int64_t bb, const int G, const int ONE_BIT, int64_t n_groups,
                                       int64_t r0, int64_t r1, const int8_t *qp, int64_t Kp, const int32_t *lsum,
                                       const float *s, int64_t n, float *out, int64_t ldo) {
    if (n == 1) {   /* decode: 4 rows at a time, then the tail row by row */
        int64_t r = r0;
        for (; r + DEC_ROWS <= r1; r += DEC_ROWS)
            group_tile512(blocks, bb, G, ONE_BIT, n_groups, r, DEC_ROWS, qp, Kp, lsum, s, 0, 1, out, ldo);
        for (; r < r1; r++) group_tile512(blocks, bb, G, ONE_BIT, n_groups, r, 1, qp, Kp, lsum, s, 0, 1, out, ldo);
        return;
    }
    /* prompts: token groups outside, rows inside (2 at a time), as the AVX2 form */
    int64_t t0 = 0;
    for (; t0 + 4 <= n; t0 += 4) {
        int64_t r = r0;
        for (; r + 2 <= r1; r += 2) group_tile512(blocks, bb, G, ONE_BIT, n_groups, r, 2, qp, Kp, lsum, s, t0, 4, out, ldo);
        for (; r < r1; r++) group_tile512(blocks, bb, G, ONE_BIT, n_groups, r, 1, qp, Kp, lsum, s, t0, 4, out, ldo);
    }
    for (; t0 < n; t0++)
        for (int64_t r = r0; r < r1; r++) group_tile512(blocks, bb, G, ONE_BIT, n_groups, r, 1, qp, Kp, lsum, s, t0, 1, out, ldo);
}

TK_VNNI void tk_group_gemm_avx512vnni(const uint8_t *blocks, int64_t bb, int64_t group, int64_t n_groups, int64_t r0,
                                      int64_t r1, const int8_t *qp, int64_t Kp, const int32_t *lsum, const float *s,
                                      int64_t n, float *out, int64_t ldo) {
    if (group == 64) group_gemm512_g(blocks, bb, 64, 0, n_groups, r0, r1, qp, Kp, lsum, s, n, out, ldo);
    else if (tk_group_one_bit(group, bb)) group_gemm512_g(blocks, bb, 128, 1, n_groups, r0, r1, qp, Kp, lsum, s, n, out, ldo);
    else group_gemm512_g(blocks, bb, 128, 0, n_groups, r0, r1, qp, Kp, lsum, s, n, out, ldo);
}
#endif
