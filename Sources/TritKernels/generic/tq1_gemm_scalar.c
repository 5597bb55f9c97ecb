/* The scalar reference of the TQ1_0 in-place product (layout: trit_kernels.h), the definition its variants are
 * tested against bit for bit. */
#include "trit_kernels.h"
#include "../kernels_internal.h"

/* Trit n (0..4) of a base-3 byte: TQ1_0's decode, the code w + 1. */
static inline int tq1_trit(uint8_t byte, int n) {
    static const uint8_t pow3[5] = {1, 3, 9, 27, 81};
    const uint8_t y = (uint8_t)(byte * pow3[n]);
    return (y * 3) >> 8;
}

/* Σ code·q over one 256-weight block (q: the block's 256 activations). */
static int32_t block_sum(const uint8_t *b, const int8_t *q) {
    int32_t acc = 0;
    for (int n = 0; n < 5; n++)
        for (int m = 0; m < 32; m++) acc += tq1_trit(b[m], n) * (int32_t)q[32 * n + m];
    for (int n = 0; n < 5; n++)
        for (int m = 0; m < 16; m++) acc += tq1_trit(b[32 + m], n) * (int32_t)q[160 + 16 * n + m];
    for (int n = 0; n < 4; n++)
        for (int m = 0; m < 4; m++) acc += tq1_trit(b[48 + m], n) * (int32_t)q[240 + 4 * n + m];
    return acc;
}

void tk_tq1_gemm_scalar(const uint8_t *blocks, int64_t K, int64_t r0, int64_t r1,
                        const int8_t *q, const float *s, const int32_t *qsum, int64_t n,
                        float beta, float *out, int64_t ldo) {
    const int64_t row_bytes = tk_tq1_row_bytes(K), nblocks = K / TK_TQ1_BLOCK;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = blocks + r * row_bytes;
        for (int64_t t = 0; t < n; t++) {
            const int8_t *qt = q + t * K;
            int32_t acc = 0;
            for (int64_t b = 0; b < nblocks; b++)
                acc += block_sum(row + b * TK_TQ1_BLOCK_BYTES, qt + b * TK_TQ1_BLOCK);
            out[t * ldo + r] = (float)(acc - qsum[t]) / s[t] * beta;
        }
    }
}
