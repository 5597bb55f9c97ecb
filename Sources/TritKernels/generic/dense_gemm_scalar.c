/* Scalar dense product: f32 activations times f32/f16/bf16 weights, f32 accumulation.
 * Used for the output head, the embedding-as-head and the FP16 baseline's linears. */
#include "trit_kernels.h"
#include "../kernels_internal.h"

void tk_dense_gemm_scalar(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1,
                          const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo) {
    for (int64_t r = r0; r < r1; r++) {
        for (int64_t t = 0; t < n; t++) {
            const float *xt = x + t * ldx;
            /* 4 partial sums: the same summation shape as the vector variants. */
            float acc[4] = {0, 0, 0, 0};
            int64_t k = 0;
            for (; k + 4 <= K; k += 4)
                for (int i = 0; i < 4; i++) acc[i] += tk_dense_element(w, dtype, r * K + k + i) * xt[k + i];
            for (; k < K; k++) acc[0] += tk_dense_element(w, dtype, r * K + k) * xt[k];
            out[t * ldo + r] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        }
    }
}
