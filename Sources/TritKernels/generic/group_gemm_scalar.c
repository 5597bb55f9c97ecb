/* Group-scaled product with int8 activations, scalar: the definition the vector variants are
 * checked against bit for bit (docs/formats.md §8.7).
 *
 * The arithmetic, in the lane structure of one 512-bit VNNI register so that every variant does
 * the same float operations in the same order:
 *   lane i (0..15) of group g: the exact integer Σ_{k<4} c[4i+k]·q[4i+k] over the group's first 64
 *     elements (for 128-groups, plus the same over the second 64);
 *   acc[i] = fma(d_g, (float)lane_i, acc[i]) over the groups in order;
 *   off[g mod 16] = fma(d_g, (float)gsum_g, off[g mod 16]) over the groups in order (the −1 of c−1);
 *   y = (sum16(acc) − sum16(off)) / s, sum16 a fixed tree: a[i] + a[i+8], then +4, +2, +1. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"

/* Code of element j of a packed row (trit_kernels.h: byte j % 32 of block j / 128, shift 6 - 2·(j % 128 / 32)). */
static inline int32_t code_at(const uint8_t *row, int64_t j) {
    return (row[(j >> 7) * 32 + (j & 31)] >> (6 - 2 * ((j & 127) >> 5))) & 3;
}

float tk_sum16(const float *a) {
    float b[8], c[4], d[2];
    for (int i = 0; i < 8; i++) b[i] = a[i] + a[i + 8];
    for (int i = 0; i < 4; i++) c[i] = b[i] + b[i + 4];
    for (int i = 0; i < 2; i++) d[i] = c[i] + c[i + 2];
    return d[0] + d[1];
}

/* The −1 term of one row and token: Σ_g d_g·gsum_g in 16 lanes (g mod 16), then sum16. */
float tk_group_offset(const float *sc, const int32_t *gs, int64_t n_groups) {
    float off[16] = {0};
    for (int64_t g = 0; g < n_groups; g++) off[g & 15] = fmaf(sc[g], (float)gs[g], off[g & 15]);
    return tk_sum16(off);
}

void tk_group_gemm_scalar(const uint8_t *codes, int64_t row_bytes, const float *scales, int64_t group, int64_t n_groups,
                          int64_t r0, int64_t r1, const int8_t *q, int64_t Kp, const int32_t *gsum, const float *s,
                          int64_t n, float *out, int64_t ldo) {
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *row = codes + r * row_bytes;
        const float *sc = scales + r * n_groups;
        for (int64_t t = 0; t < n; t++) {
            const int8_t *qt = q + t * Kp;
            float acc[16] = {0};
            for (int64_t g = 0; g < n_groups; g++) {
                const int64_t j0 = g * group;
                for (int i = 0; i < 16; i++) {
                    int32_t lane = 0;
                    for (int64_t h = 0; h < group; h += 64)
                        for (int k = 0; k < 4; k++) lane += code_at(row, j0 + h + 4 * i + k) * qt[j0 + h + 4 * i + k];
                    acc[i] = fmaf(sc[g], (float)lane, acc[i]);
                }
            }
            out[t * ldo + r] = (tk_sum16(acc) - tk_group_offset(sc, gsum + t * n_groups, n_groups)) / s[t];
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

/* ---- load: the file's blocks to the packed-row layout (GroupScaled.grouped) ---- */

/* Code c = w/d + 1 (0..3) of element e of one file block. kind: 0 Q1_0, 1 two-bit (Q2_0, PQ2_0, the
 * early 42), 2 PTQ1_0. */
static inline uint8_t file_code(const uint8_t *blk, int kind, int64_t e) {
    if (kind == 0) return ((blk[2 + e / 8] >> (e % 8)) & 1) ? 2 : 0;
    if (kind == 1) return (blk[2 + e / 4] >> (2 * (e % 4))) & 3;
    static const uint8_t pow3[5] = {1, 3, 9, 27, 81};
    int64_t byte, nth;
    if (e < 80) { byte = e % 16; nth = e / 16; }
    else if (e < 120) { byte = 16 + (e - 80) % 8; nth = (e - 80) / 8; }
    else { byte = 24 + (e - 120) % 2; nth = (e - 120) / 2; }
    const uint8_t v = (uint8_t)(blk[byte] * pow3[nth]);
    return (uint8_t)(((uint16_t)v * 3) >> 8);   /* trit + 1 */
}

int64_t tk_group_pack(const uint8_t *src, int kind, int64_t group, int64_t block_bytes, int64_t r0, int64_t r1,
                      int64_t cols, uint8_t *codes, int64_t row_bytes, float *scales) {
    const int64_t ng = cols / group;
    for (int64_t r = r0; r < r1; r++) {
        uint8_t *row = codes + r * row_bytes;
        for (int64_t i = 0; i < row_bytes; i++) row[i] = 0x55;   /* padding: code 1, weight 0 */
        for (int64_t g = 0; g < ng; g++) {
            const uint8_t *blk = src + (r * ng + g) * block_bytes;
            uint16_t bits;
            memcpy(&bits, blk + (kind == 2 ? 26 : 0), 2);
            const float d = tk_f16_to_f32(bits);
            if (!isfinite(d)) return r * ng + g;
            scales[r * ng + g] = d;
            for (int64_t k = 0; k < group; k++) {
                const int64_t j = g * group + k;
                uint8_t *dst = row + (j >> 7) * 32 + (j & 31);
                const int shift = 6 - 2 * (int)((j & 127) >> 5);
                *dst = (uint8_t)((*dst & ~(3 << shift)) | (file_code(blk, kind, k) << shift));
            }
        }
    }
    return -1;
}

typedef struct {
    const uint8_t *src; int kind; int64_t group, block_bytes, rows, cols; uint8_t *codes; int64_t row_bytes;
    float *scales;
    _Atomic int64_t next, bad;
} pack_job;

static void pack_worker(void *p, int ith, int nth) {
    pack_job *j = p;
    (void)ith; (void)nth;
    const int64_t step = 64;
    for (int64_t r0; (r0 = atomic_fetch_add(&j->next, step)) < j->rows;) {
        const int64_t r1 = r0 + step < j->rows ? r0 + step : j->rows;
        const int64_t b = tk_group_pack(j->src, j->kind, j->group, j->block_bytes, r0, r1, j->cols, j->codes, j->row_bytes, j->scales);
        if (b >= 0) {   /* keep the smallest bad block */
            int64_t cur = atomic_load(&j->bad);
            while ((cur < 0 || b < cur) && !atomic_compare_exchange_weak(&j->bad, &cur, b)) {}
        }
    }
}

int64_t tk_group_pack_par(tk_pool *pool, const uint8_t *src, int kind, int64_t group, int64_t block_bytes, int64_t rows,
                          int64_t cols, uint8_t *codes, int64_t row_bytes, float *scales) {
    pack_job j = {src, kind, group, block_bytes, rows, cols, codes, row_bytes, scales, 0, -1};
    tk_pool_run(pool, pack_worker, &j);
    return atomic_load(&j.bad);
}
