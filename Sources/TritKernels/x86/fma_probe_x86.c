/* The f32 multiply-add probe's loops (generic/fma_probe.c): 12 independent FMA chains, enough to
 * cover the FMA latency (4 cycles) on two pipes, so the loop runs at the pipes' rate. */
#if defined(__x86_64__)
#include <immintrin.h>
#include "../kernels_internal.h"
#include "simd_x86.h"

#define FMA12(FMA)                                                                                \
    for (int64_t i = 0; i < iters; i++)                                                              \
        for (int c = 0; c < 12; c++) acc[c] = FMA(acc[c], m, a);

TK_AVX512 float tk_fma_probe_avx512(int64_t iters) {
    __m512 acc[12];
    const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
    for (int c = 0; c < 12; c++) acc[c] = _mm512_set1_ps((float)c);
    FMA12(_mm512_fmadd_ps)
    __m512 s = acc[0];
    for (int c = 1; c < 12; c++) s = _mm512_add_ps(s, acc[c]);
    return _mm512_reduce_add_ps(s);
}

TK_AVX2 float tk_fma_probe_avx2(int64_t iters) {
    __m256 acc[12];
    const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
    for (int c = 0; c < 12; c++) acc[c] = _mm256_set1_ps((float)c);
    FMA12(_mm256_fmadd_ps)
    __m256 s = acc[0];
    for (int c = 1; c < 12; c++) s = _mm256_add_ps(s, acc[c]);
    float v[8];
    _mm256_storeu_ps(v, s);
    return v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
}
#endif
