/* i8mm ternary product for token groups (prefill): smmla multiplies a 2×8 int8 matrix by an 8×2 one into a 2×2
 * i32 tile, 32 products an instruction against sdot's 16. Same integer sums as generic/ternary_gemm_scalar.c.
 *
 * A strip of a block (32 codes at one bit shift, weights 32g..32g+31 in order) is two 16-byte vectors per row;
 * zip1/zip2 on 64-bit lanes pair the same 8 weights of two rows (the 2×8 operand; the raw bytes are zipped once
 * and each strip decoded from them), and the same 8 activations of two tokens (the 8×2 one). A tile is 4 rows ×
 * 4 tokens: 4 accumulator tiles, each with two chains (the low and high 8 of a 16), so 8 smmla chains overlap.
 * Lane order of a tile (row-major 2×2): [row r · token t, row r · token t+1, row r+1 · token t, row r+1 · t+1].
 * The token pairs' zipped activations are made once a call (ZIP_MAX_KP bytes a token at most, on the stack), so
 * a tile's vector work is the rows' decode and zips and the smmla; a wider row zips them as it goes.
 * One token (decode), an odd last token and rows that do not fill a pair take the dotprod form: smmla would
 * compute a half of zeros there. */
#if defined(__aarch64__)
#include "simd_arm.h"
#include "../kernels_internal.h"

#define NR_MAX 4   /* rows a tile */
#define NP_MAX 2   /* token pairs a tile */
#define ZIP_MAX_KP 8192   /* the zipped activations of NP_MAX pairs: 32 KB of stack */

/* The 2-bit codes of strip g of a 16-byte half of a block (shift 6 − 2g, mask 3). */
TK_ALWAYS_INLINE TK_I8MM int8x16_t strip(uint8x16_t w, const int g) {
    const uint8x16_t m = vdupq_n_u8(3);
    return vreinterpretq_s8_u8(g == 0 ? vshrq_n_u8(w, 6)
                               : vandq_u8(g == 3 ? w : g == 2 ? vshrq_n_u8(w, 2) : vshrq_n_u8(w, 4), m));
}

/* Rows r..r+NR−1 × token pairs [0, NP) of qt (token stride kp): the integer sums into sums[row][token]. */
TK_ALWAYS_INLINE TK_I8MM void tile(const uint8_t *codes, int64_t row_bytes, int64_t r, const int8_t *qt, int64_t kp,
                                   const int8_t *zq, int64_t nblocks, const int NR, const int NP, const int ZIP,
                                   int prefetch, int32_t sums[NR_MAX][2 * NP_MAX]) {
    int32x4_t acc[NR_MAX / 2][NP_MAX][2];
    for (int i = 0; i < NR / 2; i++)
        for (int p = 0; p < NP; p++) acc[i][p][0] = acc[i][p][1] = vdupq_n_s32(0);
    for (int64_t b = 0; b < nblocks; b++) {
        uint8x16_t w[NR_MAX][2];
        for (int i = 0; i < NR; i++) {
            const uint8_t *blk = codes + (r + i) * row_bytes + b * TK_BLOCK_BYTES;
            if (prefetch) __builtin_prefetch(blk + TK_ARM_PF_DIST, 0, 2);
            w[i][0] = vld1q_u8(blk);
            w[i][1] = vld1q_u8(blk + 16);
        }
        /* the rows' bytes paired before the decode (bytewise, so the two commute): 2 zips a row pair and half
         * block, not 2 a strip */
        uint8x16_t zw[NR_MAX / 2][2][2];
        for (int i = 0; i < NR / 2; i++)
            for (int h = 0; h < 2; h++) {
                const uint64x2_t c0 = vreinterpretq_u64_u8(w[2 * i][h]), c1 = vreinterpretq_u64_u8(w[2 * i + 1][h]);
                zw[i][h][0] = vreinterpretq_u8_u64(vzip1q_u64(c0, c1));
                zw[i][h][1] = vreinterpretq_u8_u64(vzip2q_u64(c0, c1));
            }
        const int8_t *qb = qt + b * TK_BLOCK;
        for (int g = 0; g < 4; g++)
            for (int h = 0; h < 2; h++) {
                int64x2_t bq[NP_MAX][2];
                for (int p = 0; p < NP; p++) {
                    if (ZIP) {   /* pair p's 16 activations, zipped at the call's start */
                        const int8_t *z = zq + p * 2 * kp + 2 * (b * TK_BLOCK + 32 * g + 16 * h);
                        bq[p][0] = vreinterpretq_s64_s8(vld1q_s8(z));
                        bq[p][1] = vreinterpretq_s64_s8(vld1q_s8(z + 16));
                        continue;
                    }
                    const int64x2_t q0 = vreinterpretq_s64_s8(vld1q_s8(qb + (2 * p) * kp + 32 * g + 16 * h));
                    const int64x2_t q1 = vreinterpretq_s64_s8(vld1q_s8(qb + (2 * p + 1) * kp + 32 * g + 16 * h));
                    bq[p][0] = vzip1q_s64(q0, q1);
                    bq[p][1] = vzip2q_s64(q0, q1);
                }
                for (int i = 0; i < NR / 2; i++) {
                    const int8x16_t a0 = strip(zw[i][h][0], g), a1 = strip(zw[i][h][1], g);
                    for (int p = 0; p < NP; p++) {
                        acc[i][p][0] = vmmlaq_s32(acc[i][p][0], a0, vreinterpretq_s8_s64(bq[p][0]));
                        acc[i][p][1] = vmmlaq_s32(acc[i][p][1], a1, vreinterpretq_s8_s64(bq[p][1]));
                    }
                }
            }
    }
    for (int i = 0; i < NR / 2; i++)
        for (int p = 0; p < NP; p++) {
            int32_t v[4];
            vst1q_s32(v, vaddq_s32(acc[i][p][0], acc[i][p][1]));
            sums[2 * i][2 * p] = v[0];
            sums[2 * i][2 * p + 1] = v[1];
            sums[2 * i + 1][2 * p] = v[2];
            sums[2 * i + 1][2 * p + 1] = v[3];
        }
}

/* The activations of np token pairs from q (token stride kp) as smmla's 8×2 operands: for each 16 of a pair,
 * (token 0's first 8, token 1's first 8) then (the second 8s); pair p at zq + p·2·kp. */
TK_ALWAYS_INLINE TK_I8MM const int8_t *zip_pairs(const int8_t *q, int64_t kp, int np, int8_t *zq) {
    for (int p = 0; p < np; p++)
        for (int64_t k = 0; k < kp; k += 16) {
            const int64x2_t q0 = vreinterpretq_s64_s8(vld1q_s8(q + 2 * p * kp + k));
            const int64x2_t q1 = vreinterpretq_s64_s8(vld1q_s8(q + (2 * p + 1) * kp + k));
            vst1q_s8(zq + p * 2 * kp + 2 * k, vreinterpretq_s8_s64(vzip1q_s64(q0, q1)));
            vst1q_s8(zq + p * 2 * kp + 2 * k + 16, vreinterpretq_s8_s64(vzip2q_s64(q0, q1)));
        }
    return zq;
}

/* Rows [r0, r1) of an even count (a multiple of NR) × 2·NP tokens from t0. */
TK_ALWAYS_INLINE TK_I8MM void rows_pairs(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                                         const int8_t *q, const int8_t *zq, const float *s, const int32_t *qsum,
                                         int64_t t0, const int NR, const int NP, const int ZIP, int prefetch,
                                         float beta, float *out, int64_t ldo) {
    const int64_t nblocks = row_bytes / TK_BLOCK_BYTES, kp = nblocks * TK_BLOCK;
    int32_t sums[NR_MAX][2 * NP_MAX];
    for (int64_t r = r0; r < r1; r += NR) {
        tile(codes, row_bytes, r, q + t0 * kp, kp, zq, nblocks, NR, NP, ZIP, prefetch, sums);
        for (int i = 0; i < NR; i++)
            for (int t = 0; t < 2 * NP; t++)
                out[(t0 + t) * ldo + r + i] = (float)(sums[i][t] - qsum[t0 + t]) / s[t0 + t] * beta;
    }
}

/* Token groups outside (their activations stay in L1 while the rows stream past), rows inside. */
TK_I8MM void tk_ternary_gemm_i8mm(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                                  const int8_t *q, const float *s, const int32_t *qsum, int64_t n, float beta,
                                  float *out, int64_t ldo) {
    const int64_t kp = row_bytes / TK_BLOCK_BYTES * TK_BLOCK;
    const int64_t pairs = n / 2, r4 = r0 + (r1 - r0) / 4 * 4, r2 = r0 + (r1 - r0) / 2 * 2;
    int8_t zbuf[kp <= ZIP_MAX_KP && pairs > 0 ? NP_MAX * 2 * kp : 1] __attribute__((aligned(16)));
    for (int64_t p0 = 0; p0 < pairs; p0 += NP_MAX) {
        const int np = pairs - p0 < NP_MAX ? 1 : NP_MAX, pf = p0 == 0;
        const int64_t t0 = 2 * p0;
        const int8_t *zq = kp <= ZIP_MAX_KP ? zip_pairs(q + t0 * kp, kp, np, zbuf) : NULL;
#define PAIRS(NP, ZIP)                                                                                  \
    do {                                                                                                \
        rows_pairs(codes, row_bytes, r0, r4, q, zq, s, qsum, t0, 4, NP, ZIP, pf, beta, out, ldo);       \
        rows_pairs(codes, row_bytes, r4, r2, q, zq, s, qsum, t0, 2, NP, ZIP, pf, beta, out, ldo);       \
    } while (0)
        if (zq) {
            if (np == 2) PAIRS(2, 1); else PAIRS(1, 1);
        } else {
            if (np == 2) PAIRS(2, 0); else PAIRS(1, 0);
        }
#undef PAIRS
        if (r2 < r1)   /* the last row of an odd count */
            tk_ternary_gemm_dotprod(codes, row_bytes, r2, r1, q + t0 * kp, s + t0, qsum + t0, 2 * np, beta,
                                    out + t0 * ldo, ldo);
    }
    if (n % 2)   /* the odd last token (or the one token of a decode step) */
        tk_ternary_gemm_dotprod(codes, row_bytes, r0, r1, q + (n - 1) * kp, s + n - 1, qsum + n - 1, 1, beta,
                                out + (n - 1) * ldo, ldo);
}
#endif
