/* Group-scaled product with int8 activations, AVX2 and AVX-512 VNNI (docs/formats.md §8.7), on the
 * 16-row tiles of trit_kernels.h: a 64-byte chunk holds 4 codes of each of 16 rows in its byte lanes,
 * so one plane of it (a shift and a mask) against 4 activations broadcast to every lane is one dot
 * product for 16 rows, each lane one row. A group ends with one conversion and one FMA per 16 rows
 * (8 in AVX2), in the scalar twin's order (generic/group_gemm_scalar.c), so the bits are the same.
 * Measured on one Zen 4 core, 4096 × 256 Q2_0 in L2: 0.22 ns a row and group, against 0.59 for the
 * former layout (file blocks in place, activations permuted into planes, 16 lanes a row). The AVX2
 * form forced on the same VM (TRIT_KERNEL=avx2, Bonsai-8B Q2_0, 2 threads): pp128 20.2-20.7 ->
 * 39.2-39.9 t/s, tg32 10.7-11.0 -> 17.4-17.6.
 * Decode reads one tile at a time (the matrix streams in order); prompts take 4 tokens a tile,
 * token groups outside and tiles inside, so a chunk's tiles stay in L2 while the tokens stay in L1. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>
#include "simd_x86.h"
#include "../kernels_internal.h"

#define TK_AVX2F __attribute__((target("avx2,fma,f16c")))
#define TK_VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
#define TK_ALWAYS static inline __attribute__((always_inline))
/* The tiles stream in order: each group's lines are prefetched 4 KB ahead (measured, one Zen 4 VM,
 * 2 threads over 1 GB of tiles: within noise of a plain read loop with or without it, 0-5% above
 * it at 4 KB, worse at 8 KB) */
#define PF_AHEAD 4096

/* 4 activations as one 32-bit lane value */
TK_ALWAYS int32_t act4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* ---- AVX2: a tile is two halves of 8 rows (the chunk's low and high 32 bytes) ---- */

/* plane s of a half chunk: 2-bit codes (v >> 2s) & 3, or the 1-bit codes 2·((v >> s) & 1) */
TK_AVX2F TK_ALWAYS __m256i plane256(__m256i v, const int ONE_BIT, const int s) {
    if (ONE_BIT) {
        const __m256i two = _mm256_set1_epi8(2);
        return s == 0 ? _mm256_and_si256(_mm256_slli_epi16(v, 1), two)
                      : _mm256_and_si256(_mm256_srli_epi16(v, s - 1), two);
    }
    return _mm256_and_si256(s == 0 ? v : _mm256_srli_epi16(v, 2 * s), _mm256_set1_epi8(3));
}

/* NT tokens × one tile: i16 sums of maddubs over the group (|c·q| pairs ≤ 762, at most 32 of them a
 * group, so no i16 overflows and maddubs never saturates), widened once a group. */
TK_AVX2F TK_ALWAYS void tile256(const uint8_t *tile, const int G, const int ONE_BIT, int64_t n_groups,
                                const int8_t *q, int64_t Kp, const int32_t *nsum, const float *s, const int NT,
                                float *out, int64_t ldo, int nvalid) {
    const int64_t tb = tk_group_tile_bytes(G, ONE_BIT);
    const int planes = ONE_BIT ? 8 : 4, chunks = ONE_BIT ? G / 32 : G / 16, step = ONE_BIT ? 32 : 16;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 f[4][2];
    for (int t = 0; t < NT; t++) f[t][0] = f[t][1] = _mm256_setzero_ps();
    for (int64_t g = 0; g < n_groups; g++) {
        const uint8_t *blk = tile + g * tb;
        for (int64_t o = 0; o < tb; o += 64) _mm_prefetch((const char *)blk + PF_AHEAD + o, _MM_HINT_T0);
        __m256i a16[4][2];
        for (int t = 0; t < NT; t++) a16[t][0] = a16[t][1] = _mm256_setzero_si256();
        for (int c = 0; c < chunks; c++) {
            const __m256i v0 = _mm256_loadu_si256((const __m256i *)(blk + 32 + 64 * c));
            const __m256i v1 = _mm256_loadu_si256((const __m256i *)(blk + 64 + 64 * c));
            for (int p = 0; p < planes; p++) {
                const __m256i c0 = plane256(v0, ONE_BIT, p), c1 = plane256(v1, ONE_BIT, p);
                for (int t = 0; t < NT; t++) {
                    const __m256i a = _mm256_set1_epi32(act4(q + t * Kp + g * G + step * c + 4 * p));
                    a16[t][0] = _mm256_add_epi16(a16[t][0], _mm256_maddubs_epi16(c0, a));
                    a16[t][1] = _mm256_add_epi16(a16[t][1], _mm256_maddubs_epi16(c1, a));
                }
            }
        }
        const __m256 d0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk));
        const __m256 d1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16)));
        for (int t = 0; t < NT; t++) {
            const __m256i ns = _mm256_set1_epi32(nsum[t * n_groups + g]);
            const __m256i i0 = _mm256_add_epi32(_mm256_madd_epi16(a16[t][0], ones), ns);
            const __m256i i1 = _mm256_add_epi32(_mm256_madd_epi16(a16[t][1], ones), ns);
            f[t][0] = _mm256_fmadd_ps(d0, _mm256_cvtepi32_ps(i0), f[t][0]);
            f[t][1] = _mm256_fmadd_ps(d1, _mm256_cvtepi32_ps(i1), f[t][1]);
        }
    }
    for (int t = 0; t < NT; t++) {
        float y[16];
        const __m256 st = _mm256_set1_ps(s[t]);
        _mm256_storeu_ps(y, _mm256_div_ps(f[t][0], st));
        _mm256_storeu_ps(y + 8, _mm256_div_ps(f[t][1], st));
        memcpy(out + t * ldo, y, sizeof(float) * (size_t)nvalid);
    }
}

/* The passes over the tiles of both forms (TILE: tile256 or tile512): prompts PROMPT_TOKENS tokens a
 * pass, then the last 1-3 tokens of a batch in one pass (two decode rows read the weights once, not
 * twice). VNNI on Zen 4, Bonsai-1.7B, `trit bench -p 128 -b B -n 0 -t 2`, builds alternating: Q2_0
 * B=2 94-96 → 109-117 t/s, B=3 100-107 → 137-157; Q1_0 B=2 133-136 → 181-190, B=3 138-142 → 202.
 * AVX2 on Zen 3 (2026-12-06), against 2-token passes and tails one token a pass: Q2_0 pp128
 * 92.7-97.5 -> 106.4-108.8 t/s, -b 3 95.9-98.6 -> 115.9-117.4; Q1_0 111.8-123.3 -> 114.4-131.3. */
#define PROMPT_TOKENS 4
#define GROUP_PASSES(TILE)                                                                                      \
    const int64_t tb = tk_group_tile_bytes(G, ONE_BIT);                                                        \
    int64_t t0 = 0;                                                                                            \
    for (; t0 + PROMPT_TOKENS <= n; t0 += PROMPT_TOKENS)                                                       \
        for (int64_t r = r0; r < r1; r += 16)                                                                  \
            TILE(tiles + (r / 16) * n_groups * tb, G, ONE_BIT, n_groups, q + t0 * Kp, Kp, nsum + t0 * n_groups, \
                 s + t0, PROMPT_TOKENS, out + t0 * ldo + r, ldo, r1 - r < 16 ? (int)(r1 - r) : 16);            \
    const int64_t rest = n - t0;                                                                               \
    for (int64_t r = r0; rest > 0 && r < r1; r += 16) {                                                        \
        const uint8_t *tile = tiles + (r / 16) * n_groups * tb;                                                \
        const int nv = r1 - r < 16 ? (int)(r1 - r) : 16;                                                       \
        const int8_t *qt = q + t0 * Kp;                                                                        \
        const int32_t *nt = nsum + t0 * n_groups;                                                              \
        float *o = out + t0 * ldo + r;                                                                         \
        if (rest == 1) TILE(tile, G, ONE_BIT, n_groups, qt, Kp, nt, s + t0, 1, o, ldo, nv);                    \
        else if (rest == 2) TILE(tile, G, ONE_BIT, n_groups, qt, Kp, nt, s + t0, 2, o, ldo, nv);               \
        else TILE(tile, G, ONE_BIT, n_groups, qt, Kp, nt, s + t0, 3, o, ldo, nv);                              \
    }

TK_AVX2F TK_ALWAYS void gemm256(const uint8_t *tiles, const int G, const int ONE_BIT, int64_t n_groups, int64_t r0,
                                int64_t r1, const int8_t *q, int64_t Kp, const int32_t *nsum, const float *s, int64_t n,
                                float *out, int64_t ldo) {
    GROUP_PASSES(tile256)
}

TK_AVX2F void tk_group_gemm_avx2(const uint8_t *tiles, int64_t group, int one_bit, int64_t n_groups, int64_t r0,
                                int64_t r1, const int8_t *q, int64_t Kp, const int32_t *nsum, const float *s, int64_t n,
                                float *out, int64_t ldo) {
    if (one_bit) gemm256(tiles, 128, 1, n_groups, r0, r1, q, Kp, nsum, s, n, out, ldo);
    else if (group == 64) gemm256(tiles, 64, 0, n_groups, r0, r1, q, Kp, nsum, s, n, out, ldo);
    else gemm256(tiles, 128, 0, n_groups, r0, r1, q, Kp, nsum, s, n, out, ldo);
}

/* ---- AVX-512 VNNI: a tile is one vector of 16 rows ---- */

TK_VNNI TK_ALWAYS __m512i plane512(__m512i v, const int ONE_BIT, const int s) {
    if (ONE_BIT) {
        const __m512i two = _mm512_set1_epi8(2);
        return s == 0 ? _mm512_and_si512(_mm512_slli_epi16(v, 1), two)
                      : _mm512_and_si512(_mm512_srli_epi16(v, s - 1), two);
    }
    return _mm512_and_si512(s == 0 ? v : _mm512_srli_epi16(v, 2 * s), _mm512_set1_epi8(3));
}

/* NT tokens × one tile; each token's sum in two chains (even and odd planes) so the dot products'
 * latency is hidden; the chains start from nsum (the −1 of c − 1) and 0. */
TK_VNNI TK_ALWAYS void tile512(const uint8_t *tile, const int G, const int ONE_BIT, int64_t n_groups,
                               const int8_t *q, int64_t Kp, const int32_t *nsum, const float *s, const int NT,
                               float *out, int64_t ldo, int nvalid) {
    const int64_t tb = tk_group_tile_bytes(G, ONE_BIT);
    const int planes = ONE_BIT ? 8 : 4, chunks = ONE_BIT ? G / 32 : G / 16, step = ONE_BIT ? 32 : 16;
    __m512 f[4];
    for (int t = 0; t < NT; t++) f[t] = _mm512_setzero_ps();
    for (int64_t g = 0; g < n_groups; g++) {
        const uint8_t *blk = tile + g * tb;
        for (int64_t o = 0; o < tb; o += 64) _mm_prefetch((const char *)blk + PF_AHEAD + o, _MM_HINT_T0);
        __m512i e[4], od[4];
        for (int t = 0; t < NT; t++) {
            e[t] = _mm512_set1_epi32(nsum[t * n_groups + g]);
            od[t] = _mm512_setzero_si512();
        }
        for (int c = 0; c < chunks; c++) {
            const __m512i v = _mm512_loadu_si512(blk + 32 + 64 * c);
            for (int p = 0; p < planes; p += 2) {
                const __m512i c0 = plane512(v, ONE_BIT, p), c1 = plane512(v, ONE_BIT, p + 1);
                for (int t = 0; t < NT; t++) {
                    const int8_t *a = q + t * Kp + g * G + step * c + 4 * p;
                    e[t] = _mm512_dpbusd_epi32(e[t], c0, _mm512_set1_epi32(act4(a)));
                    od[t] = _mm512_dpbusd_epi32(od[t], c1, _mm512_set1_epi32(act4(a + 4)));
                }
            }
        }
        const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
        for (int t = 0; t < NT; t++) f[t] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(_mm512_add_epi32(e[t], od[t])), f[t]);
    }
    const __mmask16 m = (__mmask16)((1u << nvalid) - 1);
    for (int t = 0; t < NT; t++) _mm512_mask_storeu_ps(out + t * ldo, m, _mm512_div_ps(f[t], _mm512_set1_ps(s[t])));
}

TK_VNNI TK_ALWAYS void gemm512(const uint8_t *tiles, const int G, const int ONE_BIT, int64_t n_groups, int64_t r0,
                               int64_t r1, const int8_t *q, int64_t Kp, const int32_t *nsum, const float *s, int64_t n,
                               float *out, int64_t ldo) {
    GROUP_PASSES(tile512)
}

TK_VNNI void tk_group_gemm_avx512vnni(const uint8_t *tiles, int64_t group, int one_bit, int64_t n_groups, int64_t r0,
                                      int64_t r1, const int8_t *q, int64_t Kp, const int32_t *nsum, const float *s,
                                      int64_t n, float *out, int64_t ldo) {
    if (one_bit) gemm512(tiles, 128, 1, n_groups, r0, r1, q, Kp, nsum, s, n, out, ldo);
    else if (group == 64) gemm512(tiles, 64, 0, n_groups, r0, r1, q, Kp, nsum, s, n, out, ldo);
    else gemm512(tiles, 128, 0, n_groups, r0, r1, q, Kp, nsum, s, n, out, ldo);
}
#endif
