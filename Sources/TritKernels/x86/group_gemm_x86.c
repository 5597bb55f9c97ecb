/* Group-scaled product with int8 activations, AVX2 and AVX-512 VNNI (docs/formats.md §8.7): the
 * lane structure of generic/group_gemm_scalar.c (16 lanes of 4 consecutive products per 64
 * weights, one FMA a lane and group, the same final tree), so the outputs equal the scalar twin's
 * bit for bit. No horizontal sum per group: a group costs a dot, a conversion and an FMA. Rows
 * outside, up to 4 tokens inside (a row's codes are decoded once per 4 tokens). */
#if defined(__x86_64__)
#include <immintrin.h>
#include "simd_x86.h"
#include "../kernels_internal.h"

#define NT 4
#define TK_AVX2F __attribute__((target("avx2,fma")))
#define TK_VNNI __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni")))

/* The four shift groups of one 32-byte block as bytes 0..3: c[i] holds elements 32i..32i+31. */
TK_AVX2F static inline void decode_block(const uint8_t *b, __m256i c[4]) {
    const __m256i v = _mm256_loadu_si256((const __m256i *)b), m = _mm256_set1_epi8(3);
    c[0] = _mm256_and_si256(_mm256_srli_epi16(v, 6), m);
    c[1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m);
    c[2] = _mm256_and_si256(_mm256_srli_epi16(v, 2), m);
    c[3] = _mm256_and_si256(v, m);
}

/* The −1 term (tk_group_offset) with 8-lane halves: lanes g mod 16. */
TK_AVX2F static float offset_avx2(const float *sc, const int32_t *gs, int64_t ng) {
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    int64_t g = 0;
    for (; g + 16 <= ng; g += 16) {
        lo = _mm256_fmadd_ps(_mm256_loadu_ps(sc + g), _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(gs + g))), lo);
        hi = _mm256_fmadd_ps(_mm256_loadu_ps(sc + g + 8), _mm256_cvtepi32_ps(_mm256_loadu_si256((const __m256i *)(gs + g + 8))), hi);
    }
    float off[16];
    _mm256_storeu_ps(off, lo);
    _mm256_storeu_ps(off + 8, hi);
    for (int64_t i = 0; g + i < ng; i++) off[i] = fmaf(sc[g + i], (float)gs[g + i], off[i]);
    return tk_sum16(off);
}

TK_AVX2F void tk_group_gemm_avx2(const uint8_t *codes, int64_t row_bytes, const float *scales, int64_t group,
                                int64_t n_groups, int64_t r0, int64_t r1, const int8_t *q, int64_t Kp,
                                const int32_t *gsum, const float *s, int64_t n, float *out, int64_t ldo) {
    const __m256i ones = _mm256_set1_epi16(1);
    const int64_t K = group * n_groups, blocks = (K + 127) / 128;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = codes + r * row_bytes;
        const float *sc = scales + r * n_groups;
        for (int64_t t0 = 0; t0 < n; t0 += NT) {
            const int64_t nt = n - t0 < NT ? n - t0 : NT;
            __m256 lo[NT], hi[NT];
            for (int t = 0; t < NT; t++) { lo[t] = _mm256_setzero_ps(); hi[t] = _mm256_setzero_ps(); }
            for (int64_t b = 0; b < blocks; b++) {
                __m256i c[4];
                decode_block(row + b * 32, c);
                for (int64_t t = 0; t < nt; t++) {
                    const int8_t *qb = q + (t0 + t) * Kp + b * 128;
                    __m256i d[4];   /* lanes of 4 consecutive products: elements 32i + 4l .. + 3 */
                    for (int i = 0; i < 4; i++)
                        d[i] = _mm256_madd_epi16(_mm256_maddubs_epi16(c[i], _mm256_loadu_si256((const __m256i *)(qb + 32 * i))), ones);
                    if (group == 64) {
                        const int64_t g = 2 * b;
                        const __m256 s0 = _mm256_set1_ps(sc[g]);
                        lo[t] = _mm256_fmadd_ps(s0, _mm256_cvtepi32_ps(d[0]), lo[t]);
                        hi[t] = _mm256_fmadd_ps(s0, _mm256_cvtepi32_ps(d[1]), hi[t]);
                        if (g + 1 < n_groups) {
                            const __m256 s1 = _mm256_set1_ps(sc[g + 1]);
                            lo[t] = _mm256_fmadd_ps(s1, _mm256_cvtepi32_ps(d[2]), lo[t]);
                            hi[t] = _mm256_fmadd_ps(s1, _mm256_cvtepi32_ps(d[3]), hi[t]);
                        }
                    } else {   /* 128: lanes add the block's two 64-halves */
                        const __m256 s0 = _mm256_set1_ps(sc[b]);
                        lo[t] = _mm256_fmadd_ps(s0, _mm256_cvtepi32_ps(_mm256_add_epi32(d[0], d[2])), lo[t]);
                        hi[t] = _mm256_fmadd_ps(s0, _mm256_cvtepi32_ps(_mm256_add_epi32(d[1], d[3])), hi[t]);
                    }
                }
            }
            for (int64_t t = 0; t < nt; t++) {
                float a[16];
                _mm256_storeu_ps(a, lo[t]);
                _mm256_storeu_ps(a + 8, hi[t]);
                out[(t0 + t) * ldo + r] = (tk_sum16(a) - offset_avx2(sc, gsum + (t0 + t) * n_groups, n_groups)) / s[t0 + t];
            }
        }
    }
}

TK_VNNI static float offset_avx512(const float *sc, const int32_t *gs, int64_t ng) {
    __m512 off = _mm512_setzero_ps();
    for (int64_t g = 0; g < ng; g += 16) {
        const __mmask16 m = ng - g >= 16 ? 0xFFFF : (__mmask16)((1u << (ng - g)) - 1);
        /* masked-off lanes: fma(0, 0, off) = off exactly */
        off = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, sc + g), _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(m, gs + g)), off);
    }
    float a[16];
    _mm512_storeu_ps(a, off);
    return tk_sum16(a);
}

TK_VNNI void tk_group_gemm_avx512vnni(const uint8_t *codes, int64_t row_bytes, const float *scales, int64_t group,
                                      int64_t n_groups, int64_t r0, int64_t r1, const int8_t *q, int64_t Kp,
                                      const int32_t *gsum, const float *s, int64_t n, float *out, int64_t ldo) {
    const int64_t K = group * n_groups, blocks = (K + 127) / 128;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = codes + r * row_bytes;
        const float *sc = scales + r * n_groups;
        if (r + 1 < r1) _mm_prefetch((const char *)(row + row_bytes), _MM_HINT_T0);
        for (int64_t t0 = 0; t0 < n; t0 += NT) {
            const int64_t nt = n - t0 < NT ? n - t0 : NT;
            __m512 acc[NT];
            for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
            for (int64_t b = 0; b < blocks; b++) {
                __m256i c[4];
                decode_block(row + b * 32, c);
                /* elements 0..63 and 64..127 of the block, in order, as 64 code bytes each */
                const __m512i lo = _mm512_inserti64x4(_mm512_castsi256_si512(c[0]), c[1], 1);
                const __m512i hi = _mm512_inserti64x4(_mm512_castsi256_si512(c[2]), c[3], 1);
                for (int64_t t = 0; t < nt; t++) {
                    const int8_t *qb = q + (t0 + t) * Kp + b * 128;
                    const __m512i a = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, _mm512_loadu_si512(qb));
                    const __m512i h = _mm512_dpbusd_epi32(_mm512_setzero_si512(), hi, _mm512_loadu_si512(qb + 64));
                    if (group == 64) {
                        const int64_t g = 2 * b;
                        acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(sc[g]), _mm512_cvtepi32_ps(a), acc[t]);
                        if (g + 1 < n_groups) acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(sc[g + 1]), _mm512_cvtepi32_ps(h), acc[t]);
                    } else {
                        acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(sc[b]), _mm512_cvtepi32_ps(_mm512_add_epi32(a, h)), acc[t]);
                    }
                }
            }
            for (int64_t t = 0; t < nt; t++) {
                float a[16];
                _mm512_storeu_ps(a, acc[t]);
                out[(t0 + t) * ldo + r] = (tk_sum16(a) - offset_avx512(sc, gsum + (t0 + t) * n_groups, n_groups)) / s[t0 + t];
            }
        }
    }
}
#endif
