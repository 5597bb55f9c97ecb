/* The 5-trit product's ARM body (layout: trit_kernels.h), included by trit5_gemm_neon.c (TK_ARM_DOT 0) and
 * trit5_gemm_dotprod.c (TK_ARM_DOT 1) with TK_ARM_TARGET and TK_ARM_NAME set. Same integer sums as
 * generic/trit5_gemm_scalar.c.
 *
 * A block's 32 bytes are two 16-byte vectors; trit d of vector h holds the weights 32d + 16h + 0..15. Decode
 * per trit: y ← 3y (one vmul, mod 256), n = (y > 85) + (y > 170) as two unsigned compares (−1 each) and an
 * add: n = −t, so the products are subtracted (smlsl) or summed negated (sdot, negated at the end; exact).
 *   NEON: two i16 accumulators a token, a trit adds two products of [−256, 254] to a lane, a block ten, so
 *     ACC16_BLOCKS = 12 blocks stay in [−30720, 30720] before sadalp widens them.
 *   dotprod: one i32 chain a trit and half for one token, a half for more. */
#define ACC16_BLOCKS 12
#define NT_MAX 4

TK_ALWAYS_INLINE TK_ARM_TARGET void t5_block(const uint8_t *blk, const int8_t *qb, int64_t kp, int ND, int NT,
#if TK_ARM_DOT
                                             int32x4_t acc[NT_MAX][2]
#else
                                             int16x8_t p[NT_MAX][2]
#endif
) {
    uint8x16_t y[2] = {vld1q_u8(blk), vld1q_u8(blk + 16)};
    for (int d = 0; d < ND; d++)
        for (int h = 0; h < 2; h++) {
            if (d) y[h] = vmulq_u8(y[h], vdupq_n_u8(3));
            const int8x16_t n = vreinterpretq_s8_u8(vaddq_u8(vcgtq_u8(y[h], vdupq_n_u8(85)),
                                                             vcgtq_u8(y[h], vdupq_n_u8(170))));
            for (int t = 0; t < NT; t++) {
                const int8x16_t qv = vld1q_s8(qb + t * kp + 32 * d + 16 * h);
#if TK_ARM_DOT
                acc[t][(d + h) & 1] = vdotq_s32(acc[t][(d + h) & 1], n, qv);
#else
                p[t][h] = vmlsl_s8(p[t][h], vget_low_s8(n), vget_low_s8(qv));
                p[t][h] = vmlsl_high_s8(p[t][h], n, qv);
#endif
            }
        }
}

TK_ALWAYS_INLINE TK_ARM_TARGET void t5_row_tokens(const uint8_t *row, const int8_t *q, int64_t kp, int NT,
                                                   int prefetch, int32_t *sums) {
    const int64_t nfull = kp / TK_T5_BLOCK;
    const int tail = (int)(kp % TK_T5_BLOCK / 32);
    int32x4_t tot[NT_MAX];
#if TK_ARM_DOT
    int32x4_t acc[NT_MAX][2];
    for (int t = 0; t < NT; t++) acc[t][0] = acc[t][1] = vdupq_n_s32(0);
    for (int64_t b = 0; b < nfull; b++) {
        if (prefetch) __builtin_prefetch(row + b * 32 + TK_ARM_PF_DIST, 0, 2);
        t5_block(row + b * 32, q + b * TK_T5_BLOCK, kp, 5, NT, acc);
    }
    if (tail) t5_block(row + nfull * 32, q + nfull * TK_T5_BLOCK, kp, tail, NT, acc);
    for (int t = 0; t < NT; t++) tot[t] = vnegq_s32(vaddq_s32(acc[t][0], acc[t][1]));
#else
    int16x8_t p[NT_MAX][2];
    for (int t = 0; t < NT; t++) tot[t] = vdupq_n_s32(0);
    for (int64_t b0 = 0; b0 < nfull; b0 += ACC16_BLOCKS) {
        const int64_t b1 = b0 + ACC16_BLOCKS < nfull ? b0 + ACC16_BLOCKS : nfull;
        for (int t = 0; t < NT; t++) p[t][0] = p[t][1] = vdupq_n_s16(0);
        for (int64_t b = b0; b < b1; b++) {
            if (prefetch) __builtin_prefetch(row + b * 32 + TK_ARM_PF_DIST, 0, 2);
            t5_block(row + b * 32, q + b * TK_T5_BLOCK, kp, 5, NT, p);
        }
        for (int t = 0; t < NT; t++) tot[t] = vpadalq_s16(vpadalq_s16(tot[t], p[t][0]), p[t][1]);
    }
    if (tail) {   /* at most 4 trits: 8 products a lane */
        for (int t = 0; t < NT; t++) p[t][0] = p[t][1] = vdupq_n_s16(0);
        t5_block(row + nfull * 32, q + nfull * TK_T5_BLOCK, kp, tail, NT, p);
        for (int t = 0; t < NT; t++) tot[t] = vpadalq_s16(vpadalq_s16(tot[t], p[t][0]), p[t][1]);
    }
#endif
    const int32x4_t z = vdupq_n_s32(0);
    vst1q_s32(sums, tk_hsum4_s32(tot[0], NT > 1 ? tot[1] : z, NT > 2 ? tot[2] : z, NT > 3 ? tot[3] : z));
}

TK_ALWAYS_INLINE TK_ARM_TARGET void t5_rows_tokens(const uint8_t *codes, int64_t kp, int64_t r0, int64_t r1,
                                                    const int8_t *q, const float *s, const int32_t *qsum, int64_t t0,
                                                    int NT, int prefetch, float beta, float *out, int64_t ldo) {
    const int64_t row_bytes = tk_trit5_row_bytes(kp);
    const int8_t *qt = q + t0 * kp;
    int32_t sums[4];
    for (int64_t r = r0; r < r1; r++) {
        t5_row_tokens(codes + r * row_bytes, qt, kp, NT, prefetch, sums);
        for (int t = 0; t < NT; t++) out[(t0 + t) * ldo + r] = (float)(sums[t] - qsum[t0 + t]) / s[t0 + t] * beta;
    }
}

TK_ARM_TARGET void TK_ARM_NAME(const uint8_t *codes, int64_t Kp, int64_t r0, int64_t r1, const int8_t *q,
                               const float *s, const int32_t *qsum, int64_t n, float beta, float *out, int64_t ldo) {
    for (int64_t t0 = 0; t0 < n; t0 += NT_MAX) {
        const int pf = t0 == 0;
        switch (n - t0 < NT_MAX ? n - t0 : NT_MAX) {
        case 1: t5_rows_tokens(codes, Kp, r0, r1, q, s, qsum, t0, 1, pf, beta, out, ldo); break;
        case 2: t5_rows_tokens(codes, Kp, r0, r1, q, s, qsum, t0, 2, pf, beta, out, ldo); break;
        case 3: t5_rows_tokens(codes, Kp, r0, r1, q, s, qsum, t0, 3, pf, beta, out, ldo); break;
        default: t5_rows_tokens(codes, Kp, r0, r1, q, s, qsum, t0, 4, pf, beta, out, ldo); break;
        }
    }
}
