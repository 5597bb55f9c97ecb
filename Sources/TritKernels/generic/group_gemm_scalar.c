/* Group-scaled product with int8 activations, scalar (the definition the vector variants are
 * checked against bit for bit): the Bonsai types in the packed-row layout with one scale per group
 * (docs/formats.md §8.7). */
#include "trit_kernels.h"
#include "../kernels_internal.h"

/* The float combination is separate multiplies and adds in this order in every variant. */
#pragma STDC FP_CONTRACT OFF

/* Code of element j of a packed row (trit_kernels.h: byte j % 32 of block j / 128, shift 6 - 2·(j % 128 / 32)). */
static inline int32_t code_at(const uint8_t *row, int64_t j) {
    return (row[(j >> 7) * 32 + (j & 31)] >> (6 - 2 * ((j & 127) >> 5))) & 3;
}

void tk_group_gemm_scalar(const uint8_t *codes, int64_t row_bytes, const float *scales, int64_t group, int64_t n_groups,
                          int64_t r0, int64_t r1, const int8_t *q, int64_t Kp, const int32_t *gsum, const float *s,
                          int64_t n, float *out, int64_t ldo) {
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = codes + r * row_bytes;
        const float *sc = scales + r * n_groups;
        for (int64_t t = 0; t < n; t++) {
            const int8_t *qt = q + t * Kp;
            float p[4] = {0, 0, 0, 0};
            for (int64_t g = 0; g < n_groups; g++) {
                int32_t dot = 0;
                for (int64_t j = g * group; j < (g + 1) * group; j++) dot += code_at(row, j) * qt[j];
                const float v = sc[g] * (float)(dot - gsum[t * n_groups + g]);
                p[g & 3] = p[g & 3] + v;
            }
            out[t * ldo + r] = ((p[0] + p[1]) + (p[2] + p[3])) / s[t];
        }
    }
}

void tk_group_sums(const int8_t *q, int64_t Kp, int64_t n, int64_t group, int64_t n_groups, int32_t *gsum) {
    for (int64_t t = 0; t < n; t++)
        for (int64_t g = 0; g < n_groups; g++) {
            int32_t sum = 0;
            for (int64_t j = g * group; j < (g + 1) * group; j++) sum += q[t * Kp + j];
            gsum[t * n_groups + g] = sum;
        }
}
