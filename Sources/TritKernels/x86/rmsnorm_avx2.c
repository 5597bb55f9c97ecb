/* RMSNorm, AVX2: the sum of squares in double, 8 values a step in two chains, so it sums in a
 * different order than its twin (generic/rmsnorm.c): equal within float rounding, not bit for bit. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"
#include "simd_x86.h"

TK_AVX2 void tk_rmsnorm_avx2(const float *x, const float *g, int64_t n, float eps, float *y) {
    __m256d s0 = _mm256_setzero_pd(), s1 = s0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256d lo = _mm256_cvtps_pd(_mm_loadu_ps(x + i)), hi = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4));
        s0 = _mm256_fmadd_pd(lo, lo, s0);
        s1 = _mm256_fmadd_pd(hi, hi, s1);
    }
    const __m256d s = _mm256_add_pd(s0, s1);
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    double ss = _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
    for (; i < n; i++) ss += (double)x[i] * (double)x[i];
    const float r = 1.0f / sqrtf((float)(ss / (double)n) + eps);
    const __m256 rv = _mm256_set1_ps(r);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(g + i), _mm256_mul_ps(_mm256_loadu_ps(x + i), rv)));
    for (; i < n; i++) y[i] = g[i] * (x[i] * r);
}
#endif
