/* RMSNorm, scalar (the twin of x86/rmsnorm_avx2.c): the sum of squares in double, in order, with no
 * contraction into FMAs, so it gives the same bits on every target. */
#pragma clang fp contract(off)
#include <math.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"

void tk_rmsnorm(const float *x, const float *g, int64_t n, float eps, float *y) {
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++) ss += (double)x[i] * (double)x[i];
    const float r = 1.0f / sqrtf((float)(ss / (double)n) + eps);
    for (int64_t i = 0; i < n; i++) y[i] = g[i] * (x[i] * r);
}
