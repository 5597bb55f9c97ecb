/* AVX-512 VNNI ternary product, 256-bit form (AVX512VL): vpdpbusd multiplies u8 codes by s8
 * activations and adds groups of four into i32 lanes in one instruction. On Zen 4 512-bit
 * operations are issued as two 256-bit halves, so the 256-bit form loses nothing and keeps
 * the packed block (32 bytes) aligned with 32 consecutive activations, like the AVX2 variant. */
#if defined(__x86_64__)
#include <immintrin.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"

#define TK_VNNI __attribute__((target("avx2,avx512f,avx512vl,avx512bw,avx512vnni")))

TK_VNNI static inline int32_t hsum_i32_vnni(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

TK_VNNI static inline __m256i block_dot_vnni(__m256i acc, __m256i c0, __m256i c1, __m256i c2,
                                            __m256i c3, const int8_t *qb) {
    acc = _mm256_dpbusd_epi32(acc, c0, _mm256_loadu_si256((const __m256i *)(qb + 0)));
    acc = _mm256_dpbusd_epi32(acc, c1, _mm256_loadu_si256((const __m256i *)(qb + 32)));
    acc = _mm256_dpbusd_epi32(acc, c2, _mm256_loadu_si256((const __m256i *)(qb + 64)));
    acc = _mm256_dpbusd_epi32(acc, c3, _mm256_loadu_si256((const __m256i *)(qb + 96)));
    return acc;
}

TK_VNNI void tk_ternary_gemm_avx512vnni(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                                       const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                                       float beta, float *out, int64_t ldo) {
    const int64_t nblocks = row_bytes / TK_BLOCK_BYTES;
    const int64_t kp = nblocks * TK_BLOCK;
    const __m256i mask = _mm256_set1_epi8(3);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = codes + r * row_bytes;
        for (int64_t t0 = 0; t0 < n; t0 += 4) {
            const int64_t nt = n - t0 < 4 ? n - t0 : 4;
            __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
            const int8_t *q0 = q + t0 * kp;
            for (int64_t b = 0; b < nblocks; b++) {
                const __m256i w = _mm256_loadu_si256((const __m256i *)(row + b * TK_BLOCK_BYTES));
                const __m256i c0 = _mm256_and_si256(_mm256_srli_epi16(w, 6), mask);
                const __m256i c1 = _mm256_and_si256(_mm256_srli_epi16(w, 4), mask);
                const __m256i c2 = _mm256_and_si256(_mm256_srli_epi16(w, 2), mask);
                const __m256i c3 = _mm256_and_si256(w, mask);
                const int8_t *qb = q0 + b * TK_BLOCK;
                acc0 = block_dot_vnni(acc0, c0, c1, c2, c3, qb);
                if (nt > 1) acc1 = block_dot_vnni(acc1, c0, c1, c2, c3, qb + kp);
                if (nt > 2) acc2 = block_dot_vnni(acc2, c0, c1, c2, c3, qb + 2 * kp);
                if (nt > 3) acc3 = block_dot_vnni(acc3, c0, c1, c2, c3, qb + 3 * kp);
            }
            const __m256i accs[4] = {acc0, acc1, acc2, acc3};
            for (int64_t i = 0; i < nt; i++) {
                const int64_t t = t0 + i;
                out[t * ldo + r] = (float)(hsum_i32_vnni(accs[i]) - qsum[t]) / s[t] * beta;
            }
        }
    }
}
#endif
