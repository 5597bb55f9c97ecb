/* RMSNorm, NEON: the sum of squares in double, 4 values a step in two chains, so it sums in another order than
 * its twin (generic/rmsnorm.c): equal within float rounding, not bit for bit (as the AVX2 form). */
#if defined(__aarch64__)
#include <math.h>
#include "simd_arm.h"
#include "../kernels_internal.h"

void tk_rmsnorm_neon(const float *x, const float *g, int64_t n, float eps, float *y) {
    float64x2_t s0 = vdupq_n_f64(0), s1 = s0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t v = vld1q_f32(x + i);
        const float64x2_t lo = vcvt_f64_f32(vget_low_f32(v)), hi = vcvt_high_f64_f32(v);
        s0 = vfmaq_f64(s0, lo, lo);
        s1 = vfmaq_f64(s1, hi, hi);
    }
    double ss = vaddvq_f64(vaddq_f64(s0, s1));
    for (; i < n; i++) ss += (double)x[i] * (double)x[i];
    const float r = 1.0f / sqrtf((float)(ss / (double)n) + eps);
    const float32x4_t rv = vdupq_n_f32(r);
    for (i = 0; i + 4 <= n; i += 4) vst1q_f32(y + i, vmulq_f32(vld1q_f32(g + i), vmulq_f32(vld1q_f32(x + i), rv)));
    for (; i < n; i++) y[i] = g[i] * (x[i] * r);
}
#endif
