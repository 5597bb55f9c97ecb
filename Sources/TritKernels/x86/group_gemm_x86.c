/* Group-scaled product with int8 activations, AVX2 and AVX-512 VNNI: each group's integer dot
 * (exact) with vector instructions, then the scalar twin's float combination in its order, so the
 * outputs equal tk_group_gemm_scalar's bit for bit. Rows outside, up to 4 tokens inside: a row's
 * codes are decoded once per 4 tokens. (docs/formats.md §8.7) */
#if defined(__x86_64__)
#include <immintrin.h>
#include "simd_x86.h"
#include "../kernels_internal.h"

#pragma STDC FP_CONTRACT OFF

#define NT 4

/* The four shift groups of one 32-byte block as bytes 0..3: c[i] holds elements 32i..32i+31. */
__attribute__((target("avx2"))) static inline void decode_block(const uint8_t *b, __m256i c[4]) {
    const __m256i v = _mm256_loadu_si256((const __m256i *)b), m = _mm256_set1_epi8(3);
    c[0] = _mm256_and_si256(_mm256_srli_epi16(v, 6), m);
    c[1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m);
    c[2] = _mm256_and_si256(_mm256_srli_epi16(v, 2), m);
    c[3] = _mm256_and_si256(v, m);
}

/* The float step of the scalar twin for group g of token t. */
static inline void combine(float p[4], int64_t g, float scale, int32_t dot, int32_t gs) {
    const float v = scale * (float)(dot - gs);
    p[g & 3] = p[g & 3] + v;
}

__attribute__((target("avx2"))) void tk_group_gemm_avx2(const uint8_t *codes, int64_t row_bytes, const float *scales,
                                                       int64_t group, int64_t n_groups, int64_t r0, int64_t r1,
                                                       const int8_t *q, int64_t Kp, const int32_t *gsum, const float *s,
                                                       int64_t n, float *out, int64_t ldo) {
    const __m256i ones = _mm256_set1_epi16(1);
    const int64_t K = group * n_groups, blocks = (K + 127) / 128;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = codes + r * row_bytes;
        const float *sc = scales + r * n_groups;
        for (int64_t t0 = 0; t0 < n; t0 += NT) {
            const int64_t nt = n - t0 < NT ? n - t0 : NT;
            float p[NT][4] = {{0}};
            for (int64_t b = 0; b < blocks; b++) {
                __m256i c[4];
                decode_block(row + b * 32, c);
                for (int64_t t = 0; t < nt; t++) {
                    const int8_t *qb = q + (t0 + t) * Kp + b * 128;
                    const int32_t *gs = gsum + (t0 + t) * n_groups;
                    __m256i m[4];
                    for (int i = 0; i < 4; i++) m[i] = _mm256_maddubs_epi16(c[i], _mm256_loadu_si256((const __m256i *)(qb + 32 * i)));
                    if (group == 64) {
                        const int64_t g = 2 * b;
                        combine(p[t], g, sc[g], tk_hsum_i32(_mm256_madd_epi16(_mm256_add_epi16(m[0], m[1]), ones)), gs[g]);
                        if (g + 1 < n_groups)
                            combine(p[t], g + 1, sc[g + 1], tk_hsum_i32(_mm256_madd_epi16(_mm256_add_epi16(m[2], m[3]), ones)), gs[g + 1]);
                    } else {   /* 128: one group a block (|each maddubs lane| ≤ 768: four fit i16) */
                        const __m256i a = _mm256_add_epi16(_mm256_add_epi16(m[0], m[1]), _mm256_add_epi16(m[2], m[3]));
                        combine(p[t], b, sc[b], tk_hsum_i32(_mm256_madd_epi16(a, ones)), gs[b]);
                    }
                }
            }
            for (int64_t t = 0; t < nt; t++) out[(t0 + t) * ldo + r] = ((p[t][0] + p[t][1]) + (p[t][2] + p[t][3])) / s[t0 + t];
        }
    }
}

#define TK_VNNI __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vnni")))

TK_VNNI void tk_group_gemm_avx512vnni(const uint8_t *codes, int64_t row_bytes, const float *scales, int64_t group,
                                      int64_t n_groups, int64_t r0, int64_t r1, const int8_t *q, int64_t Kp,
                                      const int32_t *gsum, const float *s, int64_t n, float *out, int64_t ldo) {
    const int64_t K = group * n_groups, blocks = (K + 127) / 128;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = codes + r * row_bytes;
        const float *sc = scales + r * n_groups;
        for (int64_t t0 = 0; t0 < n; t0 += NT) {
            const int64_t nt = n - t0 < NT ? n - t0 : NT;
            float p[NT][4] = {{0}};
            for (int64_t b = 0; b < blocks; b++) {
                __m256i c[4];
                decode_block(row + b * 32, c);
                /* elements 0..63 and 64..127 of the block, in order, as 64 code bytes each */
                const __m512i lo = _mm512_inserti64x4(_mm512_castsi256_si512(c[0]), c[1], 1);
                const __m512i hi = _mm512_inserti64x4(_mm512_castsi256_si512(c[2]), c[3], 1);
                for (int64_t t = 0; t < nt; t++) {
                    const int8_t *qb = q + (t0 + t) * Kp + b * 128;
                    const int32_t *gs = gsum + (t0 + t) * n_groups;
                    const __m512i a = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, _mm512_loadu_si512(qb));
                    const __m512i h = _mm512_dpbusd_epi32(_mm512_setzero_si512(), hi, _mm512_loadu_si512(qb + 64));
                    if (group == 64) {
                        const int64_t g = 2 * b;
                        combine(p[t], g, sc[g], _mm512_reduce_add_epi32(a), gs[g]);
                        if (g + 1 < n_groups) combine(p[t], g + 1, sc[g + 1], _mm512_reduce_add_epi32(h), gs[g + 1]);
                    } else {
                        combine(p[t], b, sc[b], _mm512_reduce_add_epi32(_mm512_add_epi32(a, h)), gs[b]);
                    }
                }
            }
            for (int64_t t = 0; t < nt; t++) out[(t0 + t) * ldo + r] = ((p[t][0] + p[t][1]) + (p[t][2] + p[t][3])) / s[t0 + t];
        }
    }
}
#endif
