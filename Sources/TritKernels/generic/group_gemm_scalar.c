/* Group-scaled product with int8 activations, scalar: the definition the vector variants are
 * checked against bit for bit (docs/formats.md §8.7).
 *
 * Weights: the 2-bit blocks of Q2_0 / PQ2_0 as the file stores them (used in place), [fp16 d][G/4
 * code bytes], element e at byte e/4, bits 2·(e%4), weight (c − 1)·d; a row is K/G blocks. The 1-bit
 * blocks of Q1_0 in place too (G = 128, block_bytes 18 = 2 + G/8): element e is bit e%8 of byte e/8,
 * read as the code c = 2·bit (so the weight is ±d, and the sums are those of the same weights in
 * 2-bit blocks). PTQ1_0 is converted to 2-bit blocks (G = 128) at load (tk_group_convert).
 * Activations: each token's int8 row permuted per group into bit planes (tk_group_permute):
 * qp[g·G + k·G/4 + i] = q[g·G + 4i + k], so plane k of a group meets the codes (byte i >> 2k) & 3.
 * The arithmetic, in the lanes of one 512-bit VNNI register so that every variant does the same
 * float operations in the same order:
 *   lane L (0..15) of group g: the exact integer Σ_{b<4} (c − 1)·qp over permuted positions
 *     64h + 4L + b, summed over the group's 64-position halves h (computed as nlsum + Σ c·qp, nlsum
 *     minus the token's sum of qp over the lane's positions, from tk_group_permute);
 *   acc[L] = fma(d_g, (float)lane_L, acc[L]) over the groups in order;
 *   y = sum16(acc) / s, sum16 a fixed tree: a[i] + a[i+8], then +4, +2, +1. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"

float tk_sum16(const float *a) {
    float b[8], c[4], d[2];
    for (int i = 0; i < 8; i++) b[i] = a[i] + a[i + 8];
    for (int i = 0; i < 4; i++) c[i] = b[i] + b[i + 4];
    for (int i = 0; i < 2; i++) d[i] = c[i] + c[i + 2];
    return d[0] + d[1];
}

void tk_group_gemm_scalar(const uint8_t *blocks, int64_t block_bytes, int64_t group, int64_t n_groups,
                          int64_t r0, int64_t r1, const int8_t *qp, int64_t Kp, const int32_t *lsum, const float *s,
                          int64_t n, float *out, int64_t ldo) {
    const int64_t plane = group / 4;
    const int one_bit = tk_group_one_bit(group, block_bytes);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = blocks + r * n_groups * block_bytes;
        for (int64_t t = 0; t < n; t++) {
            const int8_t *qt = qp + t * Kp;
            float acc[16] = {0};
            for (int64_t g = 0; g < n_groups; g++) {
                const uint8_t *blk = row + g * block_bytes;
                const float d = tk_group_scale(blk);
                for (int L = 0; L < 16; L++) {
                    int32_t lane = lsum[(t * n_groups + g) * 16 + L];   /* −Σ qp: the −1 of c − 1 */
                    for (int64_t h = 0; h < group; h += 64)
                        for (int b = 0; b < 4; b++) {
                            const int64_t p = h + 4 * L + b, k = p / plane, i = p % plane, e = 4 * i + k;
                            const int c = one_bit ? ((blk[2 + e / 8] >> (e % 8)) & 1) * 2 : (blk[2 + i] >> (2 * k)) & 3;
                            lane += c * qt[g * group + p];
                        }
                    acc[L] = fmaf(d, (float)lane, acc[L]);
                }
            }
            out[t * ldo + r] = tk_sum16(acc) / s[t];
        }
    }
}

void tk_group_permute(const int8_t *q, int64_t Kp, int64_t n, int64_t group, int64_t n_groups, int8_t *qp, int32_t *lsum) {
    const int64_t plane = group / 4;
    for (int64_t t = 0; t < n; t++)
        for (int64_t g = 0; g < n_groups; g++) {
            const int8_t *src = q + t * Kp + g * group;
            int8_t *dst = qp + t * Kp + g * group;
            for (int64_t i = 0; i < plane; i++)
                for (int k = 0; k < 4; k++) dst[k * plane + i] = src[4 * i + k];
            int32_t *ls = lsum + (t * n_groups + g) * 16;
            for (int L = 0; L < 16; L++) {
                int32_t sum = 0;
                for (int64_t h = 0; h < group; h += 64)
                    for (int b = 0; b < 4; b++) sum += dst[h + 4 * L + b];
                ls[L] = -sum;   /* negated: a VNNI lane starts from it (vpdpbusd's accumulator) */
            }
        }
}

/* ---- load ---- */

int64_t tk_group_check_scales(const uint8_t *blocks, int64_t block_bytes, int64_t n_blocks) {
    for (int64_t b = 0; b < n_blocks; b++) {
        uint16_t h;
        memcpy(&h, blocks + b * block_bytes, 2);
        if ((h & 0x7c00) == 0x7c00) return b;   /* exponent all ones: inf or NaN */
    }
    return -1;
}

/* One PTQ1_0 block of 128 (scale last) to a 34-byte 2-bit block. Returns 0 if the scale is not finite. */
static int convert_block(const uint8_t *src, uint8_t *dst) {
    static const uint8_t pow3[5] = {1, 3, 9, 27, 81};
    uint16_t h;
    memcpy(&h, src + 26, 2);
    if ((h & 0x7c00) == 0x7c00) return 0;
    memcpy(dst, &h, 2);
    memset(dst + 2, 0, 32);
    for (int e = 0; e < 128; e++) {
        int byte, nth;
        if (e < 80) { byte = e % 16; nth = e / 16; }
        else if (e < 120) { byte = 16 + (e - 80) % 8; nth = (e - 80) / 8; }
        else { byte = 24 + (e - 120) % 2; nth = (e - 120) / 2; }
        const uint8_t v = (uint8_t)(src[byte] * pow3[nth]);
        const uint8_t c = (uint8_t)(((uint16_t)v * 3) >> 8);   /* trit + 1 */
        dst[2 + e / 4] |= (uint8_t)(c << (2 * (e % 4)));
    }
    return 1;
}

typedef struct {
    const uint8_t *src; int64_t src_bytes, n_blocks; uint8_t *dst;
    _Atomic int64_t next, bad;
} convert_job;

static void convert_worker(void *p, int ith, int nth) {
    convert_job *j = p;
    (void)ith; (void)nth;
    const int64_t step = 4096;
    for (int64_t b0; (b0 = atomic_fetch_add(&j->next, step)) < j->n_blocks;) {
        const int64_t b1 = b0 + step < j->n_blocks ? b0 + step : j->n_blocks;
        for (int64_t b = b0; b < b1; b++)
            if (!convert_block(j->src + b * j->src_bytes, j->dst + b * 34)) {
                int64_t cur = atomic_load(&j->bad);
                while ((cur < 0 || b < cur) && !atomic_compare_exchange_weak(&j->bad, &cur, b)) {}
                break;
            }
    }
}

int64_t tk_group_convert(tk_pool *pool, const uint8_t *src, int64_t src_block_bytes, int64_t n_blocks, uint8_t *dst) {
    convert_job j = {src, src_block_bytes, n_blocks, dst, 0, -1};
    tk_pool_run(pool, convert_worker, &j);
    return atomic_load(&j.bad);
}
