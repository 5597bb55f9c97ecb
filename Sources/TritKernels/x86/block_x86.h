/* The block types' codes (trit_kernels.h), 16 at a time, for the x86 block products (AVX2 and AVX-512). */
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

/* The integer codes of weights 16g .. 16g+15 of the block at b (int8 lanes), with the f32 scale d and, for
 * Q4_K/Q5_K, the min m of their group: weight i = d·q_i (− m), each step rounded to f32. */
TK_AVX2 TK_ALWAYS_INLINE __m128i tk_block_codes16(const uint8_t *b, tk_dtype T, int g, float *d, float *m) {
    *m = 0;
    switch (T) {
    case TK_Q4_0:
        *d = tk_f16_at(b);
        return _mm_sub_epi8(tk_nibbles(_mm_loadu_si128((const __m128i *)(b + 2)), g), _mm_set1_epi8(8));
    case TK_Q8_0:
        *d = tk_f16_at(b);
        return _mm_loadu_si128((const __m128i *)(b + 2 + 16 * g));
    case TK_Q4_K:
    case TK_Q5_K: {
        const int s = g >> 1, c = s >> 1, l0 = (g & 1) * 16;
        const uint8_t *qs = b + (T == TK_Q5_K ? 48 : 16);
        __m128i q = tk_nibbles(_mm_loadu_si128((const __m128i *)(qs + 32 * c + l0)), s & 1);
        if (T == TK_Q5_K) {
            const __m128i h = _mm_loadu_si128((const __m128i *)(b + 16 + l0));
            const __m128i bit = _mm_and_si128(_mm_srl_epi16(h, _mm_cvtsi32_si128(s)), _mm_set1_epi8(1));
            q = _mm_or_si128(q, _mm_slli_epi16(bit, 4));
        }
        int sc, mn;
        tk_k_scale_min(b + 4, s, &sc, &mn);
        *d = tk_f16_at(b) * (float)sc;
        *m = tk_f16_at(b + 2) * (float)mn;
        return q;
    }
    case TK_Q6_K: {
        const int a = g >> 3, e = (g & 7) * 16, j = e >> 5, l0 = e & 31;
        const __m128i lo = tk_nibbles(_mm_loadu_si128((const __m128i *)(b + 64 * a + 32 * (j & 1) + l0)), j >= 2);
        const __m128i h = _mm_loadu_si128((const __m128i *)(b + 128 + 32 * a + l0));
        const __m128i hb = _mm_and_si128(_mm_srl_epi16(h, _mm_cvtsi32_si128(2 * j)), _mm_set1_epi8(3));
        *d = tk_f16_at(b + 208) * (float)(int8_t)b[192 + 8 * a + 2 * j + l0 / 16];
        return _mm_sub_epi8(_mm_or_si128(lo, _mm_slli_epi16(hb, 4)), _mm_set1_epi8(32));
    }
    default:
        *d = 0;
        return _mm_setzero_si128();
    }
}
#endif
