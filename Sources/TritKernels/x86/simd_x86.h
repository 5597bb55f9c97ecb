/* Small helpers shared by the x86 kernel variants (compiled into each with its own target). */
#ifndef TRIT_SIMD_X86_H
#define TRIT_SIMD_X86_H
#include <immintrin.h>
#include "trit_kernels.h"

/* The target of each x86 variant: the features its code may use, which dispatch.c checks before it
 * hands out the variant's table. Every x86 function carries one (no -m flags: the rest of the library
 * stays baseline x86-64); the wider variants call AVX2 functions (tk_attention_avx2, the helpers
 * below), whose features are a subset of theirs. */
#define TK_AVX2 __attribute__((target("avx2,fma,f16c")))
#define TK_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl")))
#define TK_VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
/* A helper whose constant arguments specialise it where it is inlined. */
#define TK_ALWAYS_INLINE static inline __attribute__((always_inline))

/* How far ahead the attention kernels prefetch the K and V rows they stream, in positions, and
 * into L2 (T1): a tile ahead into L1 instead pushed out the tile being read; 64 to 192 positions
 * into L2 are equally fast. */
#define TK_ATT_PREFETCH_POS 96

/* The byte offset in a cache row whose line the attention kernels prefetch while they read its
 * elements i..i+15, or -1: every 64-byte line of an F16 or F32 row once; a Q8_0 row (34-byte blocks)
 * at 0, 64, 128, ... */
static inline int64_t tk_att_pf_offset(int32_t type, int64_t i, int64_t row_bytes) {
    const int64_t off = type == TK_KV_Q8_0 ? i / 16 * 64 : i * (type == TK_KV_F16 ? 2 : 4);
    return off % 64 == 0 && off < row_bytes ? off : -1;
}

/* Sum of the eight i32 lanes. */
TK_AVX2 static inline int32_t tk_hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}
/* Sum and maximum of the eight f32 lanes. */
TK_AVX2 static inline float tk_hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

TK_AVX2 static inline float tk_hmax_ps(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* Elements i..i+7 of a dense F32/F16/BF16 matrix as f32 (the vector form of tk_dense_element). */
TK_AVX2 static inline __m256 tk_dense8(const void *w, tk_dtype dtype, int64_t i) {
    if (dtype == TK_F16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + i)));
    if (dtype == TK_BF16)
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + i))), 16));
    return _mm256_loadu_ps((const float *)w + i);
}
#endif
