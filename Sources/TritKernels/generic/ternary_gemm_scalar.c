/* The scalar reference of the ternary product: the definition every ISA variant is tested
 * against (bit for bit on the integer sums); and the packed codes' check at load. Layout: see
 * trit_kernels.h. */
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

/* Index of the first byte of 2-bit codes that holds the code 3 (both bits of a field set), or -1.
 * I2_S never stores 3 (docs/formats.md §3.4), so a 3 means the bytes are not I2_S. */
int64_t tk_find_code3(const uint8_t *codes, int64_t n) {
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {   /* a branch per 64 bytes; the inner loop vectorizes */
        uint8_t any = 0;
        for (int k = 0; k < 64; k++) any |= codes[i + k] & (codes[i + k] >> 1) & 0x55;
        if (any) break;
    }
    for (; i < n; i++)
        if (codes[i] & (codes[i] >> 1) & 0x55) return i;
    return -1;
}
