/* Group-scaled product with int8 activations, scalar: the definition the vector variants are
 * checked against bit for bit (docs/formats.md §8.7), and the load-time tiling it reads.
 *
 * Tiles (trit_kernels.h): 16 rows, a group's 16 fp16 scales then its codes in 64-byte chunks whose
 * byte 4i + b holds row i's codes of the weights 16t + 4s + b (2-bit, s the 2-bit field) or
 * 32t + 4s + b (1-bit, s the bit). Activations in natural order.
 * Arithmetic: per row and group the exact integer isum = −Σ q + Σ c·q (c the code; the 1-bit code
 * is 2·bit, so c − 1 = ±1), then acc = fma(d, (float)isum, acc) over the groups in order and
 * out = acc / s. |isum| ≤ 2·127·128 < 2^24, so (float)isum is exact. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"

/* The code of row i's weight w in one tile group (its chunks at `codes`). */
static inline int tile_code(const uint8_t *codes, int one_bit, int i, int64_t w) {
    if (one_bit) {
        const int64_t t = w / 32, s = (w % 32) / 4, b = w % 4;
        return ((codes[64 * t + 4 * i + b] >> s) & 1) * 2;
    }
    const int64_t t = w / 16, s = (w % 16) / 4, b = w % 4;
    return (codes[64 * t + 4 * i + b] >> (2 * s)) & 3;
}

void tk_group_gemm_scalar(const uint8_t *tiles, int64_t group, int one_bit, int64_t n_groups, int64_t r0, int64_t r1,
                          const int8_t *q, int64_t Kp, const int32_t *nsum, const float *s, int64_t n, float *out,
                          int64_t ldo) {
    const int64_t tb = tk_group_tile_bytes(group, one_bit);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *tile = tiles + (r / 16) * n_groups * tb;
        const int i = (int)(r % 16);
        for (int64_t t = 0; t < n; t++) {
            float acc = 0;
            for (int64_t g = 0; g < n_groups; g++) {
                const uint8_t *blk = tile + g * tb;
                const int8_t *qg = q + t * Kp + g * group;
                int32_t isum = nsum[t * n_groups + g];
                for (int64_t w = 0; w < group; w++) isum += tile_code(blk + 32, one_bit, i, w) * qg[w];
                acc = fmaf(tk_group_scale(blk + 2 * i), (float)isum, acc);
            }
            out[t * ldo + r] = acc / s[t];
        }
    }
}

void tk_group_sums(const int8_t *q, int64_t Kp, int64_t n, int64_t group, int64_t n_groups, int32_t *nsum) {
    for (int64_t t = 0; t < n; t++)
        for (int64_t g = 0; g < n_groups; g++) {
            const int8_t *qg = q + t * Kp + g * group;
            int32_t sum = 0;
            for (int64_t j = 0; j < group; j++) sum += qg[j];
            nsum[t * n_groups + g] = -sum;
        }
}

/* ---- load: the file's blocks to tiles ---- */

/* One PTQ1_0 block of 128 (scale last) to a 34-byte 2-bit block. Returns 0 if the scale is not finite. */
static int ptq1_block(const uint8_t *src, uint8_t *dst) {
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

/* 2-bit: the 16 codes of 4 file bytes (weight 4j + b at byte j, bits 2b) to the tile's 4 bytes (byte b,
 * bits 2j): a transpose of a 4 × 4 matrix of 2-bit fields, field (j, b) at bit 8j + 2b, by two
 * delta swaps (the 2 × 2 corners of each 2 × 2 block, then the off-diagonal 2 × 2 blocks). */
static inline uint32_t transpose_2bit(uint32_t x) {
    uint32_t t = ((x >> 6) ^ x) & 0x00CC00CCu;
    x ^= t ^ (t << 6);
    t = ((x >> 12) ^ x) & 0x0000F0F0u;
    return x ^ t ^ (t << 12);
}

/* 1-bit: the 32 bits of 4 file bytes (weight 4s + b at bit 4s + b) to the tile's 4 bytes (byte b, bit s). */
static inline uint32_t transpose_1bit(uint32_t x) {
    uint32_t y = 0;
    for (int s = 0; s < 8; s++)
        for (int b = 0; b < 4; b++) y |= ((x >> (4 * s + b)) & 1u) << (8 * b + s);
    return y;
}

static int64_t src_block_bytes(int kind, int64_t group) {
    return kind == TK_GROUP_Q1_0 ? 2 + group / 8 : kind == TK_GROUP_PTQ1_0 ? 28 : 2 + group / 4;
}

/* Tile T of the tensor; returns the first bad block of the tile in file order (row by row), or -1. */
static int64_t tile_one(const uint8_t *src, int kind, int64_t group, int64_t rows, int64_t n_groups, int64_t T,
                        uint8_t *dst) {
    const int one_bit = kind == TK_GROUP_Q1_0;
    const int64_t tb = tk_group_tile_bytes(group, one_bit), sb = src_block_bytes(kind, group);
    uint8_t tmp[34];
    int64_t bad = -1;
    for (int64_t g = 0; g < n_groups; g++) {
        uint8_t *o = dst + (T * n_groups + g) * tb;
        for (int i = 0; i < 16; i++) {
            if (T * 16 + i >= rows) {   /* a padding row: scale 0, codes 0 */
                memset(o + 2 * i, 0, 2);
                for (int64_t t = 0; t < (one_bit ? group / 32 : group / 16); t++) memset(o + 32 + 64 * t + 4 * i, 0, 4);
                continue;
            }
            const int64_t blk = (T * 16 + i) * n_groups + g;
            const uint8_t *b = src + blk * sb;
            if (kind == TK_GROUP_PTQ1_0) {
                if (!ptq1_block(b, tmp)) { if (bad < 0 || blk < bad) bad = blk; continue; }
                b = tmp;
            } else if ((b[1] & 0x7c) == 0x7c) {   /* fp16 exponent all ones: inf or NaN */
                if (bad < 0 || blk < bad) bad = blk;
                continue;
            }
            o[2 * i] = b[0];
            o[2 * i + 1] = b[1];
            for (int64_t t = 0; t < (one_bit ? group / 32 : group / 16); t++) {
                uint32_t x;
                memcpy(&x, b + 2 + 4 * t, 4);
                const uint32_t y = one_bit ? transpose_1bit(x) : transpose_2bit(x);
                memcpy(o + 32 + 64 * t + 4 * i, &y, 4);
            }
        }
    }
    return bad;
}

typedef struct {
    const uint8_t *src; int kind; int64_t group, rows, n_groups; uint8_t *dst;
    _Atomic int64_t next, bad;
} tile_job;

static void tile_worker(void *p, int ith, int nth) {
    tile_job *j = p;
    (void)ith; (void)nth;
    const int64_t n_tiles = (j->rows + 15) / 16, step = 16;
    for (int64_t t0; (t0 = atomic_fetch_add(&j->next, step)) < n_tiles;) {
        const int64_t t1 = t0 + step < n_tiles ? t0 + step : n_tiles;
        for (int64_t T = t0; T < t1; T++) {
            const int64_t b = tile_one(j->src, j->kind, j->group, j->rows, j->n_groups, T, j->dst);
            if (b < 0) continue;
            int64_t cur = atomic_load(&j->bad);
            while ((cur < 0 || b < cur) && !atomic_compare_exchange_weak(&j->bad, &cur, b)) {}
            return;
        }
    }
}

int64_t tk_group_tile(tk_pool *pool, const uint8_t *src, int src_kind, int64_t group, int64_t rows, int64_t n_groups,
                      uint8_t *dst) {
    tile_job j = {src, src_kind, group, rows, n_groups, dst, 0, -1};
    tk_pool_run(pool, tile_worker, &j);
    return atomic_load(&j.bad);
}
