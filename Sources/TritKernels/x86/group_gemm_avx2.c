/* Group-scaled product with int8 activations, AVX2 (docs/formats.md §8.7), on the 16-row tiles of
 * trit_kernels.h: a 64-byte chunk holds 4 codes of each of 16 rows in its byte lanes, so one plane of
 * it (a shift and a mask) against 4 activations broadcast to every lane is one dot product for the
 * rows, each lane one row (the chunk's two 32-byte halves are 8 rows each). A group ends with one
 * conversion and one FMA per 8 rows, in the scalar twin's order (generic/group_gemm_scalar.c), so the
 * bits are the same. Decode reads one tile at a time (the matrix streams in order); prompts take 4
 * tokens a tile, token groups outside and tiles inside, so a chunk's tiles stay in L2 while the
 * tokens stay in L1. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>
#include "simd_x86.h"
#include "group_gemm_x86.h"
#include "../kernels_internal.h"

/* plane s of a half chunk: 2-bit codes (v >> 2s) & 3, or the 1-bit codes 2·((v >> s) & 1) */
TK_AVX2 TK_ALWAYS_INLINE __m256i plane256(__m256i v, const int ONE_BIT, const int s) {
    if (ONE_BIT) {
        const __m256i two = _mm256_set1_epi8(2);
        return s == 0 ? _mm256_and_si256(_mm256_slli_epi16(v, 1), two)
                      : _mm256_and_si256(_mm256_srli_epi16(v, s - 1), two);
    }
    return _mm256_and_si256(s == 0 ? v : _mm256_srli_epi16(v, 2 * s), _mm256_set1_epi8(3));
}

/* NT tokens × one tile: i16 sums of maddubs over the group (|c·q| pairs ≤ 762, at most 32 of them a
 * group, so no i16 overflows and maddubs never saturates), widened once a group. */
TK_AVX2 TK_ALWAYS_INLINE void tile256(const uint8_t *tile, const int G, const int ONE_BIT, int64_t n_groups,
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

TK_AVX2 TK_ALWAYS_INLINE void gemm256(const uint8_t *tiles, const int G, const int ONE_BIT, int64_t n_groups,
                                      int64_t r0, int64_t r1, const int8_t *q, int64_t Kp, const int32_t *nsum,
                                      const float *s, int64_t n, float *out, int64_t ldo) {
    GROUP_PASSES(tile256)
}

TK_AVX2 void tk_group_gemm_avx2(const uint8_t *tiles, int64_t group, int one_bit, int64_t n_groups, int64_t r0,
                                int64_t r1, const int8_t *q, int64_t Kp, const int32_t *nsum, const float *s, int64_t n,
                                float *out, int64_t ldo) {
    if (one_bit) gemm256(tiles, 128, 1, n_groups, r0, r1, q, Kp, nsum, s, n, out, ldo);
    else if (group == 64) gemm256(tiles, 64, 0, n_groups, r0, r1, q, Kp, nsum, s, n, out, ldo);
    else gemm256(tiles, 128, 0, n_groups, r0, r1, q, Kp, nsum, s, n, out, ldo);
}
#endif
