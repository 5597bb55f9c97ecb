/* Small helpers shared by the x86 kernel variants (compiled into each with its own target). */
#ifndef TRIT_SIMD_X86_H
#define TRIT_SIMD_X86_H
#include <immintrin.h>

/* Sum of the eight i32 lanes. */
__attribute__((target("avx2"))) static inline int32_t tk_hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}
#endif
