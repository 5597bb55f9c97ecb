/* The read-bandwidth probe's loop, AVX2 (see generic/read_bandwidth.c and TK_PROBE_PF). */
#if defined(__x86_64__)
#include <immintrin.h>
#include "../kernels_internal.h"
#include "simd_x86.h"

TK_AVX2 uint64_t tk_read_avx2(const char *p, size_t n) {
    __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        _mm_prefetch(p + i + TK_PROBE_PF, _MM_HINT_T1);
        _mm_prefetch(p + i + 64 + TK_PROBE_PF, _MM_HINT_T1);
        _mm_prefetch(p + i + TK_PROBE_NEAR, _MM_HINT_T0);
        _mm_prefetch(p + i + 64 + TK_PROBE_NEAR, _MM_HINT_T0);
        a = _mm256_xor_si256(a, _mm256_loadu_si256((const __m256i *)(p + i)));
        b = _mm256_xor_si256(b, _mm256_loadu_si256((const __m256i *)(p + i + 32)));
        c = _mm256_xor_si256(c, _mm256_loadu_si256((const __m256i *)(p + i + 64)));
        d = _mm256_xor_si256(d, _mm256_loadu_si256((const __m256i *)(p + i + 96)));
    }
    __m256i x = _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d));
    uint64_t out[4];
    _mm256_storeu_si256((__m256i *)out, x);
    return out[0] ^ out[1] ^ out[2] ^ out[3];
}
#endif
