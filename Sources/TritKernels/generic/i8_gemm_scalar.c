/* Scalar int8 head product (the definition the vector variants are checked against). */
#include "trit_kernels.h"
#include "../kernels_internal.h"

void tk_i8_gemm_scalar(const int8_t *w, const float *wscale, int64_t Kp, int64_t r0, int64_t r1,
                       const int8_t *q, const float *s, int64_t n, float *out, int64_t ldo) {
    for (int64_t r = r0; r < r1; r++) {
        const int8_t *wr = w + r * Kp;
        for (int64_t t = 0; t < n; t++) {
            const int8_t *qt = q + t * Kp;
            int32_t acc = 0;
            for (int64_t k = 0; k < Kp; k++) acc += (int32_t)wr[k] * (int32_t)qt[k];
            out[t * ldo + r] = (float)acc * wscale[r] / s[t];
        }
    }
}
