/* Group-scaled product with int8 activations, AVX2 and AVX-512 VNNI (docs/formats.md §8.7): the
 * file's 2-bit blocks in place, the token's activations permuted into bit planes, and the lane
 * structure of generic/group_gemm_scalar.c (16 lanes of 4 consecutive permuted products per 64
 * weights, the −1 of each code taken off with the lane's activation sum, one FMA a lane and group,
 * the same final tree), so the outputs equal the scalar twin's bit for bit. A group costs one code
 * load, the shifts that expose its planes, the dot products, a conversion and an FMA; no horizontal
 * sum. Rows outside, up to 4 tokens inside. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>
#include "simd_x86.h"
#include "../kernels_internal.h"

#define NT 4
#define PF_AHEAD 1536   /* bytes of blocks prefetched ahead in the weights' stream (measured: 3.7 → 4.8 t/s, 8B tg) */
#define TK_AVX2F __attribute__((target("avx2,fma,f16c")))
#define TK_VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

TK_AVX2F static inline float scale_f16c(const uint8_t *blk) {
    uint16_t h;
    memcpy(&h, blk, 2);
    return _cvtsh_ss(h);
}

TK_AVX2F void tk_group_gemm_avx2(const uint8_t *blocks, int64_t bb, int64_t group, int64_t n_groups, int64_t r0,
                                int64_t r1, const int8_t *qp, int64_t Kp, const int32_t *lsum, const float *s,
                                int64_t n, float *out, int64_t ldo) {
    const __m256i ones = _mm256_set1_epi16(1), m3 = _mm256_set1_epi8(3);
    const __m256i sh01 = _mm256_setr_epi32(0, 0, 0, 0, 2, 2, 2, 2), sh23 = _mm256_setr_epi32(4, 4, 4, 4, 6, 6, 6, 6);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = blocks + r * n_groups * bb;
        for (int64_t t0 = 0; t0 < n; t0 += NT) {
            const int64_t nt = n - t0 < NT ? n - t0 : NT;
            __m256 lo[NT], hi[NT];
            for (int t = 0; t < NT; t++) { lo[t] = _mm256_setzero_ps(); hi[t] = _mm256_setzero_ps(); }
            for (int64_t g = 0; g < n_groups; g++) {
                const uint8_t *blk = row + g * bb;
                _mm_prefetch((const char *)blk + PF_AHEAD, _MM_HINT_T0);
                const __m256 d = _mm256_set1_ps(scale_f16c(blk));
                if (group == 64) {
                    /* 16 code bytes; planes 0,1 in one register, 2,3 in the other (32 permuted positions each) */
                    const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(blk + 2)));
                    const __m256i c01 = _mm256_and_si256(_mm256_srlv_epi32(v, sh01), m3);
                    const __m256i c23 = _mm256_and_si256(_mm256_srlv_epi32(v, sh23), m3);
                    for (int64_t t = 0; t < nt; t++) {
                        const int8_t *qg = qp + (t0 + t) * Kp + g * 64;
                        const int32_t *ls = lsum + ((t0 + t) * n_groups + g) * 16;
                        const __m256i a = _mm256_sub_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(c01, _mm256_loadu_si256((const __m256i *)qg)), ones),
                                                           _mm256_loadu_si256((const __m256i *)ls));
                        const __m256i b = _mm256_sub_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(c23, _mm256_loadu_si256((const __m256i *)(qg + 32))), ones),
                                                           _mm256_loadu_si256((const __m256i *)(ls + 8)));
                        lo[t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(a), lo[t]);
                        hi[t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(b), hi[t]);
                    }
                } else {
                    /* 32 code bytes: plane k = (v >> 2k) & 3, 32 permuted positions each; positions
                     * 0..63 are planes 0,1 and 64..127 planes 2,3, whose lanes add */
                    const __m256i v = _mm256_loadu_si256((const __m256i *)(blk + 2));
                    __m256i c[4];
                    c[0] = _mm256_and_si256(v, m3);
                    c[1] = _mm256_and_si256(_mm256_srli_epi16(v, 2), m3);
                    c[2] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m3);
                    c[3] = _mm256_and_si256(_mm256_srli_epi16(v, 6), m3);
                    for (int64_t t = 0; t < nt; t++) {
                        const int8_t *qg = qp + (t0 + t) * Kp + g * 128;
                        __m256i e[4];
                        for (int k = 0; k < 4; k++)
                            e[k] = _mm256_madd_epi16(_mm256_maddubs_epi16(c[k], _mm256_loadu_si256((const __m256i *)(qg + 32 * k))), ones);
                        const int32_t *ls = lsum + ((t0 + t) * n_groups + g) * 16;
                        const __m256i a = _mm256_sub_epi32(_mm256_add_epi32(e[0], e[2]), _mm256_loadu_si256((const __m256i *)ls));
                        const __m256i b = _mm256_sub_epi32(_mm256_add_epi32(e[1], e[3]), _mm256_loadu_si256((const __m256i *)(ls + 8)));
                        lo[t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(a), lo[t]);
                        hi[t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(b), hi[t]);
                    }
                }
            }
            for (int64_t t = 0; t < nt; t++) {
                float a[16];
                _mm256_storeu_ps(a, lo[t]);
                _mm256_storeu_ps(a + 8, hi[t]);
                out[(t0 + t) * ldo + r] = tk_sum16(a) / s[t0 + t];
            }
        }
    }
}

TK_VNNI void tk_group_gemm_avx512vnni(const uint8_t *blocks, int64_t bb, int64_t group, int64_t n_groups, int64_t r0,
                                      int64_t r1, const int8_t *qp, int64_t Kp, const int32_t *lsum, const float *s,
                                      int64_t n, float *out, int64_t ldo) {
    const __m512i m3 = _mm512_set1_epi8(3);
    const __m512i sh64 = _mm512_setr_epi32(0, 0, 0, 0, 2, 2, 2, 2, 4, 4, 4, 4, 6, 6, 6, 6);
    const __m512i sh01 = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2);
    const __m512i sh23 = _mm512_setr_epi32(4, 4, 4, 4, 4, 4, 4, 4, 6, 6, 6, 6, 6, 6, 6, 6);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = blocks + r * n_groups * bb;
        for (int64_t t0 = 0; t0 < n; t0 += NT) {
            const int64_t nt = n - t0 < NT ? n - t0 : NT;
            __m512 acc[NT];
            for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
            for (int64_t g = 0; g < n_groups; g++) {
                const uint8_t *blk = row + g * bb;
                _mm_prefetch((const char *)blk + PF_AHEAD, _MM_HINT_T0);   /* the stream, ahead of use */
                const __m512 d = _mm512_set1_ps(scale_f16c(blk));
                if (group == 64) {
                    /* the 16 code bytes in each 128-bit lane, shifted by 0, 2, 4, 6: planes 0..3 */
                    const __m512i v = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(blk + 2)));
                    const __m512i c = _mm512_and_si512(_mm512_srlv_epi32(v, sh64), m3);
                    for (int64_t t = 0; t < nt; t++) {
                        const __m512i neg = _mm512_sub_epi32(_mm512_setzero_si512(),
                                                             _mm512_loadu_si512(lsum + ((t0 + t) * n_groups + g) * 16));
                        const __m512i a = _mm512_dpbusd_epi32(neg, c, _mm512_loadu_si512(qp + (t0 + t) * Kp + g * 64));
                        acc[t] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(a), acc[t]);
                    }
                } else {
                    /* 32 code bytes in each 256-bit half: planes 0,1 then planes 2,3 */
                    const __m512i v = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(blk + 2)));
                    const __m512i c01 = _mm512_and_si512(_mm512_srlv_epi32(v, sh01), m3);
                    const __m512i c23 = _mm512_and_si512(_mm512_srlv_epi32(v, sh23), m3);
                    for (int64_t t = 0; t < nt; t++) {
                        const int8_t *qg = qp + (t0 + t) * Kp + g * 128;
                        const __m512i neg = _mm512_sub_epi32(_mm512_setzero_si512(),
                                                             _mm512_loadu_si512(lsum + ((t0 + t) * n_groups + g) * 16));
                        __m512i a = _mm512_dpbusd_epi32(neg, c01, _mm512_loadu_si512(qg));
                        a = _mm512_dpbusd_epi32(a, c23, _mm512_loadu_si512(qg + 64));
                        acc[t] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(a), acc[t]);
                    }
                }
            }
            for (int64_t t = 0; t < nt; t++) {
                float a[16];
                _mm512_storeu_ps(a, acc[t]);
                out[(t0 + t) * ldo + r] = tk_sum16(a) / s[t0 + t];
            }
        }
    }
}
#endif
