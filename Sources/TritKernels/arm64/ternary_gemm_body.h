/* The ternary product's ARM body, included by ternary_gemm_neon.c (TK_ARM_DOT 0) and ternary_gemm_dotprod.c
 * (TK_ARM_DOT 1) with TK_ARM_TARGET and TK_ARM_NAME set. Same integer sums as generic/ternary_gemm_scalar.c.
 *
 * A block's 32 bytes are two 16-byte vectors; strip g (bit shift 6 − 2g) of vector h holds the codes of the
 * weights 32g + 16h + 0..15, which meet one 16-byte load of each token's activations. The strips are decoded
 * (shift, and) once and used for the tile's NT ≤ 4 tokens.
 *   dotprod: sdot (4 code·q products into each i32 lane), a chain a strip so the sdot chains overlap; a strip
 *     is decoded by one mask in place (below).
 *   NEON: smlal / smlal2 (code·q into i16 lanes), two i16 accumulators a token widened into i32 (sadalp) every
 *     ACC16_BLOCKS blocks: a block adds 8 products of [−256, 254] to each i16 lane of each accumulator, so 16
 *     blocks stay in [−32768, 32512] (the extreme-sums check is at that bound). */
#define ACC16_BLOCKS 16
#define NT_MAX 4

TK_ALWAYS_INLINE TK_ARM_TARGET void row_tokens(const uint8_t *row, const int8_t *q, int64_t kp, int64_t nblocks,
                                                int NT, int prefetch, int32_t *sums) {
#if TK_ARM_DOT
    /* One op decodes a strip: strip g keeps its bits in place (and 0x30 / 0x0C leave 16·code / 4·code, at most
     * 32, a valid int8), so the chains of strips 1 and 2 sum 16· and 4· the products, divided back exactly at
     * the end (each sum is a multiple of its factor: an arithmetic shift is exact; |16·code·q| ≤ 4096, so a
     * lane stays in i32 for K below 2^21). Chains a token: one a strip
     * and half for one or two tokens (no chain takes two sdots of a block in a row); strips 0 and 3 (factor 1)
     * share one for more tokens, so the accumulators and the masks stay in registers. */
    enum { H_MAX = 2 };
    const int H = NT <= 2 ? 2 : 1, S = NT <= 2 ? 4 : 3;
    int32x4_t acc[NT_MAX][4][H_MAX];
    for (int t = 0; t < NT; t++)
        for (int g = 0; g < S; g++)
            for (int h = 0; h < H; h++) acc[t][g][h] = vdupq_n_s32(0);
    for (int64_t b = 0; b < nblocks; b++) {
        const uint8_t *blk = row + b * TK_BLOCK_BYTES;
        if (prefetch) __builtin_prefetch(blk + TK_ARM_PF_DIST, 0, 2);
        const uint8x16_t w[2] = {vld1q_u8(blk), vld1q_u8(blk + 16)};
        const int8_t *qb = q + b * TK_BLOCK;
        for (int g = 0; g < 4; g++)
            for (int h = 0; h < 2; h++) {
                const uint8x16_t c = g == 0 ? vshrq_n_u8(w[h], 6)
                                            : vandq_u8(w[h], vdupq_n_u8((uint8_t)(3 << (6 - 2 * g))));
                const int sl = g == 3 && S == 3 ? 0 : g;
                for (int t = 0; t < NT; t++)
                    acc[t][sl][h % H] = vdotq_s32(acc[t][sl][h % H], vreinterpretq_s8_u8(c),
                                                  vld1q_s8(qb + t * kp + 32 * g + 16 * h));
            }
    }
    int32x4_t tot[NT_MAX];
    for (int t = 0; t < NT; t++) {
        int32x4_t a[4];
        for (int g = 0; g < S; g++) a[g] = H == 2 ? vaddq_s32(acc[t][g][0], acc[t][g][1]) : acc[t][g][0];
        const int32x4_t ones = S == 4 ? vaddq_s32(a[0], a[3]) : a[0];
        tot[t] = vaddq_s32(ones, vaddq_s32(vshrq_n_s32(a[1], 4), vshrq_n_s32(a[2], 2)));
    }
#else
    const uint8x16_t mask = vdupq_n_u8(3);
    int32x4_t tot[NT_MAX];
    for (int t = 0; t < NT; t++) tot[t] = vdupq_n_s32(0);
    for (int64_t b0 = 0; b0 < nblocks; b0 += ACC16_BLOCKS) {
        const int64_t b1 = b0 + ACC16_BLOCKS < nblocks ? b0 + ACC16_BLOCKS : nblocks;
        int16x8_t p[NT_MAX][2];
        for (int t = 0; t < NT; t++) p[t][0] = p[t][1] = vdupq_n_s16(0);
        for (int64_t b = b0; b < b1; b++) {
            const uint8_t *blk = row + b * TK_BLOCK_BYTES;
            if (prefetch) __builtin_prefetch(blk + TK_ARM_PF_DIST, 0, 2);
            const uint8x16_t w[2] = {vld1q_u8(blk), vld1q_u8(blk + 16)};
            const int8_t *qb = q + b * TK_BLOCK;
            for (int g = 0; g < 4; g++)
                for (int h = 0; h < 2; h++) {
                    const int8x16_t c = vreinterpretq_s8_u8(
                        g == 0 ? vshrq_n_u8(w[h], 6)
                               : vandq_u8(g == 3 ? w[h] : g == 2 ? vshrq_n_u8(w[h], 2) : vshrq_n_u8(w[h], 4), mask));
                    for (int t = 0; t < NT; t++) {
                        const int8x16_t qv = vld1q_s8(qb + t * kp + 32 * g + 16 * h);
                        p[t][h] = vmlal_s8(p[t][h], vget_low_s8(c), vget_low_s8(qv));
                        p[t][h] = vmlal_high_s8(p[t][h], c, qv);
                    }
                }
        }
        for (int t = 0; t < NT; t++) tot[t] = vpadalq_s16(vpadalq_s16(tot[t], p[t][0]), p[t][1]);
    }
#endif
    const int32x4_t z = vdupq_n_s32(0);
    vst1q_s32(sums, tk_hsum4_s32(tot[0], NT > 1 ? tot[1] : z, NT > 2 ? tot[2] : z, NT > 3 ? tot[3] : z));
}

/* Rows [r0, r1) × NT tokens from t0. */
TK_ALWAYS_INLINE TK_ARM_TARGET void rows_tokens(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1,
                                                 const int8_t *q, const float *s, const int32_t *qsum, int64_t t0,
                                                 int NT, int prefetch, float beta, float *out, int64_t ldo) {
    const int64_t nblocks = row_bytes / TK_BLOCK_BYTES, kp = nblocks * TK_BLOCK;
    const int8_t *qt = q + t0 * kp;
    int32_t sums[4];
    for (int64_t r = r0; r < r1; r++) {
        row_tokens(codes + r * row_bytes, qt, kp, nblocks, NT, prefetch, sums);
        for (int t = 0; t < NT; t++) out[(t0 + t) * ldo + r] = (float)(sums[t] - qsum[t0 + t]) / s[t0 + t] * beta;
    }
}

/* Token groups of 4 outside (their activations stay in L1 while the call's rows stream past), rows inside. */
TK_ARM_TARGET void TK_ARM_NAME(const uint8_t *codes, int64_t row_bytes, int64_t r0, int64_t r1, const int8_t *q,
                               const float *s, const int32_t *qsum, int64_t n, float beta, float *out, int64_t ldo) {
    for (int64_t t0 = 0; t0 < n; t0 += NT_MAX) {
        const int pf = t0 == 0;
        switch (n - t0 < NT_MAX ? n - t0 : NT_MAX) {
        case 1: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 1, pf, beta, out, ldo); break;
        case 2: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 2, pf, beta, out, ldo); break;
        case 3: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 3, pf, beta, out, ldo); break;
        default: rows_tokens(codes, row_bytes, r0, r1, q, s, qsum, t0, 4, pf, beta, out, ldo); break;
        }
    }
}
