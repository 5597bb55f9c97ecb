/* Group-scaled product with int8 activations, AVX-512 VNNI (docs/formats.md §8.7), on the 16-row
 * tiles of trit_kernels.h: a tile's 64-byte chunk is one vector of 16 rows, 4 codes of a row in each
 * byte lane, so one plane of it (a shift and a mask) against 4 activations broadcast to every lane is
 * one vpdpbusd for the 16 rows, each lane one row. A group ends with one conversion and one FMA, in
 * the scalar twin's order (generic/group_gemm_scalar.c), so the bits are the same. The passes over
 * the tiles are the AVX2 form's (group_gemm_x86.h). */
#if defined(__x86_64__)
#include <immintrin.h>
#include "simd_x86.h"
#include "group_gemm_x86.h"
#include "../kernels_internal.h"

TK_VNNI TK_ALWAYS_INLINE __m512i plane512(__m512i v, const int ONE_BIT, const int s) {
    if (ONE_BIT) {
        const __m512i two = _mm512_set1_epi8(2);
        return s == 0 ? _mm512_and_si512(_mm512_slli_epi16(v, 1), two)
                      : _mm512_and_si512(_mm512_srli_epi16(v, s - 1), two);
    }
    return _mm512_and_si512(s == 0 ? v : _mm512_srli_epi16(v, 2 * s), _mm512_set1_epi8(3));
}

/* NT tokens × one tile; each token's sum in two chains (even and odd planes) so the dot products'
 * latency is hidden; the chains start from nsum (the −1 of c − 1) and 0. */
TK_VNNI TK_ALWAYS_INLINE void tile512(const uint8_t *tile, const int G, const int ONE_BIT, int64_t n_groups,
                                      const int8_t *q, int64_t Kp, const int32_t *nsum, const float *s, const int NT,
                                      float *out, int64_t ldo, int nvalid) {
    const int64_t tb = tk_group_tile_bytes(G, ONE_BIT);
    const int planes = ONE_BIT ? 8 : 4, chunks = ONE_BIT ? G / 32 : G / 16, step = ONE_BIT ? 32 : 16;
    __m512 f[4];
    for (int t = 0; t < NT; t++) f[t] = _mm512_setzero_ps();
    if (!ONE_BIT && NT == 1) {
        /* One token (decode), 2-bit codes: plane p is masked in place (code · 4^p, at most 192: still an
         * unsigned byte) into its own sum, so the loop has no shifts; the group's end divides plane p's sum
         * by 4^p (exact: every term is a multiple) and adds the planes (nsum seeds plane 0). The same
         * integer as the scalar twin's, in fewer vector ops: 1.24x in L2 (scripts/kernel_ab.sh group,
         * Zen 4); with 2-4 tokens the four sums a token cost more than they save. */
        const __m512i m0 = _mm512_set1_epi8(0x03), m1 = _mm512_set1_epi8(0x0C), m2 = _mm512_set1_epi8(0x30),
                      m3 = _mm512_set1_epi8((char)0xC0);
        for (int64_t g = 0; g < n_groups; g++) {
            const uint8_t *blk = tile + g * tb;
            for (int64_t o = 0; o < tb; o += 64) _mm_prefetch((const char *)blk + PF_AHEAD + o, _MM_HINT_T0);
            __m512i a0 = _mm512_set1_epi32(nsum[g]), a1 = _mm512_setzero_si512(), a2 = a1, a3 = a1;
            for (int c = 0; c < chunks; c++) {
                const __m512i v = _mm512_loadu_si512(blk + 32 + 64 * c);
                const int8_t *a = q + g * G + 16 * c;
                a0 = _mm512_dpbusd_epi32(a0, _mm512_and_si512(v, m0), _mm512_set1_epi32(act4(a)));
                a1 = _mm512_dpbusd_epi32(a1, _mm512_and_si512(v, m1), _mm512_set1_epi32(act4(a + 4)));
                a2 = _mm512_dpbusd_epi32(a2, _mm512_and_si512(v, m2), _mm512_set1_epi32(act4(a + 8)));
                a3 = _mm512_dpbusd_epi32(a3, _mm512_and_si512(v, m3), _mm512_set1_epi32(act4(a + 12)));
            }
            const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
            const __m512i lo = _mm512_add_epi32(a0, _mm512_srai_epi32(a1, 2));
            const __m512i hi = _mm512_add_epi32(_mm512_srai_epi32(a2, 4), _mm512_srai_epi32(a3, 6));
            f[0] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(_mm512_add_epi32(lo, hi)), f[0]);
        }
    } else
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

TK_VNNI TK_ALWAYS_INLINE void gemm512(const uint8_t *tiles, const int G, const int ONE_BIT, int64_t n_groups,
                                      int64_t r0, int64_t r1, const int8_t *q, int64_t Kp, const int32_t *nsum,
                                      const float *s, int64_t n, float *out, int64_t ldo) {
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
