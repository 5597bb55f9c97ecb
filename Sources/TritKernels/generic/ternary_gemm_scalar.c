/* The scalar reference of the ternary product: the definition every ISA variant is tested
 * against (bit for bit on the integer sums). Layout: see trit_kernels.h. */
#include "trit_kernels.h"
#include "../kernels_internal.h"

void tk_ternary_gemm_scalar(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                            const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                            float beta, float *out, int64_t ldo) {
    const int64_t nblocks = row_bytes / TK_BLOCK_BYTES;
    const int64_t kp = nblocks * TK_BLOCK;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = codes + r * row_bytes;
        for (int64_t t = 0; t < n; t++) {
            const int8_t *qt = q + t * kp;
            int32_t acc = 0;
            for (int64_t b = 0; b < nblocks; b++) {
                const uint8_t *blk = row + b * TK_BLOCK_BYTES;
                const int8_t *qb = qt + b * TK_BLOCK;
                for (int j = 0; j < TK_BLOCK; j++) {
                    int code = (blk[j & 31] >> (6 - 2 * (j >> 5))) & 3;
                    acc += code * (int32_t)qb[j];
                }
            }
            out[t * ldo + r] = (float)(acc - qsum[t]) / s[t] * beta;
        }
    }
}
