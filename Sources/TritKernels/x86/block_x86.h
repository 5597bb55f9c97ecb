/* The block types' codes (trit_kernels.h), a block at a time, for the x86 block products (AVX2 and AVX-512). */
#ifndef TRIT_BLOCK_X86_H
#define TRIT_BLOCK_X86_H
#include <immintrin.h>
#include <string.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"

TK_AVX2 TK_ALWAYS_INLINE float tk_f16_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/* The low (hi = 0) or high nibbles of 16 bytes. */
TK_AVX2 TK_ALWAYS_INLINE __m128i tk_nibbles(__m128i v, int hi) {
    return _mm_and_si128(hi ? _mm_srli_epi16(v, 4) : v, _mm_set1_epi8(15));
}

/* Q4_K/Q5_K: the 8 sub-blocks' scales d·sc_s and mins dmin·m_s (tk_k_scale_min's 6-bit fields, unpacked 32 bits at
 * a time as ggml does), each an f32 product as in the twin. */
TK_AVX2 TK_ALWAYS_INLINE void tk_k_scales8(const uint8_t *b, __m256 *dl, __m256 *ml) {
    uint32_t u[3];
    memcpy(u, b + 4, 12);
    const uint32_t m6 = 0x3f3f3f3f, m4 = 0x0f0f0f0f, m2 = 0x03030303;
    const uint32_t sc0 = u[0] & m6, sc1 = (u[2] & m4) | (((u[0] >> 6) & m2) << 4);
    const uint32_t mn0 = u[1] & m6, mn1 = ((u[2] >> 4) & m4) | (((u[1] >> 6) & m2) << 4);
    const __m128i sc = _mm_set_epi32(0, 0, (int)sc1, (int)sc0), mn = _mm_set_epi32(0, 0, (int)mn1, (int)mn0);
    *dl = _mm256_mul_ps(_mm256_set1_ps(tk_f16_at(b)), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(sc)));
    *ml = _mm256_mul_ps(_mm256_set1_ps(tk_f16_at(b + 2)), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(mn)));
}

/* A whole block's weights (256-bit steps) as int8 codes and the f32 scale (and min) of each 16: weight k =
 * dl[k/16]·code[k] (− ml[k/16]), the same f32 steps as the twin. Returns the codes: q, or the block's own
 * bytes (Q8_0). */
TK_AVX2 TK_ALWAYS_INLINE const int8_t *tk_block_decode(const uint8_t *b, tk_dtype T, int8_t *q, float *dl, float *ml) {
    const __m256i m4 = _mm256_set1_epi8(15);
    switch (T) {
    case TK_Q8_0:
        dl[0] = dl[1] = tk_f16_at(b);
        return (const int8_t *)(b + 2);
    case TK_Q4_0: {
        const __m128i v = _mm_loadu_si128((const __m128i *)(b + 2)), e = _mm_set1_epi8(8);
        _mm_storeu_si128((__m128i *)q, _mm_sub_epi8(tk_nibbles(v, 0), e));
        _mm_storeu_si128((__m128i *)(q + 16), _mm_sub_epi8(tk_nibbles(v, 1), e));
        dl[0] = dl[1] = tk_f16_at(b);
        return q;
    }
    case TK_Q4_K:
    case TK_Q5_K: {
        const uint8_t *qs = b + (T == TK_Q5_K ? 48 : 16);
        const __m256i h = T == TK_Q5_K ? _mm256_loadu_si256((const __m256i *)(b + 16)) : _mm256_setzero_si256();
        const __m256i one = _mm256_set1_epi8(1);
        for (int c = 0; c < 4; c++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
            __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
            if (T == TK_Q5_K) {   /* bit s = 2c (low nibbles) or 2c + 1 of qh[l], as 16 */
                const __m256i bl = _mm256_and_si256(_mm256_srl_epi16(h, _mm_cvtsi32_si128(2 * c)), one);
                const __m256i bh = _mm256_and_si256(_mm256_srl_epi16(h, _mm_cvtsi32_si128(2 * c + 1)), one);
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(bl, 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(bh, 4));
            }
            _mm256_storeu_si256((__m256i *)(q + 64 * c), lo);
            _mm256_storeu_si256((__m256i *)(q + 64 * c + 32), hi);
        }
        __m256 d8, m8;
        tk_k_scales8(b, &d8, &m8);
        const __m256i lo = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3), hi = _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7);
        _mm256_storeu_ps(dl, _mm256_permutevar8x32_ps(d8, lo));
        _mm256_storeu_ps(dl + 8, _mm256_permutevar8x32_ps(d8, hi));
        _mm256_storeu_ps(ml, _mm256_permutevar8x32_ps(m8, lo));
        _mm256_storeu_ps(ml + 8, _mm256_permutevar8x32_ps(m8, hi));
        return q;
    }
    case TK_Q6_K: {
        const __m256i off = _mm256_set1_epi8(32);
        for (int a = 0; a < 2; a++) {
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)(b + 64 * a));
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(b + 64 * a + 32));
            const __m256i h = _mm256_loadu_si256((const __m256i *)(b + 128 + 32 * a));
            /* j = 0..3: weights 128a + 32j + l; high 2 bits = bits 2j, 2j + 1 of qh moved to bits 4, 5 */
            const __m256i q0 = _mm256_or_si256(_mm256_and_si256(l0, m4),
                                               _mm256_slli_epi16(_mm256_and_si256(h, _mm256_set1_epi8(3)), 4));
            const __m256i q1 = _mm256_or_si256(_mm256_and_si256(l1, m4),
                                               _mm256_slli_epi16(_mm256_and_si256(h, _mm256_set1_epi8(12)), 2));
            const __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                               _mm256_and_si256(h, _mm256_set1_epi8(48)));
            const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                               _mm256_srli_epi16(_mm256_and_si256(h, _mm256_set1_epi8((char)192)), 2));
            _mm256_storeu_si256((__m256i *)(q + 128 * a), _mm256_sub_epi8(q0, off));
            _mm256_storeu_si256((__m256i *)(q + 128 * a + 32), _mm256_sub_epi8(q1, off));
            _mm256_storeu_si256((__m256i *)(q + 128 * a + 64), _mm256_sub_epi8(q2, off));
            _mm256_storeu_si256((__m256i *)(q + 128 * a + 96), _mm256_sub_epi8(q3, off));
        }
        const __m256 d = _mm256_set1_ps(tk_f16_at(b + 208));
        const __m128i sc = _mm_loadu_si128((const __m128i *)(b + 192));
        _mm256_storeu_ps(dl, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sc))));
        _mm256_storeu_ps(dl + 8, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(sc, 8)))));
        return q;
    }
    default:
        return q;
    }
}

#endif
