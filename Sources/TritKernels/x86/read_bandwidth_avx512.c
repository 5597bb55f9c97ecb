/* The read-bandwidth probe's loop, AVX-512 (see generic/read_bandwidth.c and TK_PROBE_PF). */
#if defined(__x86_64__)
#include <immintrin.h>
#include "../kernels_internal.h"
#include "simd_x86.h"

TK_AVX512 uint64_t tk_read_avx512(const char *p, size_t n) {
    __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
    size_t i = 0;
    for (; i + 256 <= n; i += 256) {
        for (int l = 0; l < 4; l++) _mm_prefetch(p + i + 64 * l + TK_PROBE_PF, _MM_HINT_T1);
        for (int l = 0; l < 4; l++) _mm_prefetch(p + i + 64 * l + TK_PROBE_NEAR, _MM_HINT_T0);
        a = _mm512_xor_si512(a, _mm512_loadu_si512(p + i));
        b = _mm512_xor_si512(b, _mm512_loadu_si512(p + i + 64));
        c = _mm512_xor_si512(c, _mm512_loadu_si512(p + i + 128));
        d = _mm512_xor_si512(d, _mm512_loadu_si512(p + i + 192));
    }
    return (uint64_t)_mm512_reduce_add_epi64(_mm512_xor_si512(_mm512_xor_si512(a, b), _mm512_xor_si512(c, d)));
}
#endif
