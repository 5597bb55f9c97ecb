/* The int8 head product's ARM body, included by i8_gemm_neon.c (TK_ARM_DOT 0) and i8_gemm_dotprod.c
 * (TK_ARM_DOT 1). Integer sums, so any grouping gives generic/i8_gemm_scalar.c's values.
 *   dotprod: sdot, two accumulators a token (Kp is a multiple of 32: two 16-byte steps).
 *   NEON: smull + smlal2 (two products of |w|, |q| ≤ 127 fit an i16 lane: 32258) widened by sadalp. */

/* One row × tokens [0, NT) (NT ≤ 4); with prefetch, the row's bytes 12 KB ahead into L2 (the head streams
 * from memory once per call). */
TK_ALWAYS_INLINE TK_ARM_TARGET void i8_row(const int8_t *wr, const int8_t *q, int64_t Kp, int NT, int prefetch,
                                            int32_t *sums) {
    int32x4_t acc[4][2];
    for (int t = 0; t < NT; t++) acc[t][0] = acc[t][1] = vdupq_n_s32(0);
    for (int64_t k = 0; k < Kp; k += 32) {
        if (prefetch && (k & 63) == 0) __builtin_prefetch(wr + k + TK_ARM_PF_DIST, 0, 2);
        const int8x16_t w0 = vld1q_s8(wr + k), w1 = vld1q_s8(wr + k + 16);
        for (int t = 0; t < NT; t++) {
            const int8x16_t q0 = vld1q_s8(q + t * Kp + k), q1 = vld1q_s8(q + t * Kp + k + 16);
#if TK_ARM_DOT
            acc[t][0] = vdotq_s32(acc[t][0], w0, q0);
            acc[t][1] = vdotq_s32(acc[t][1], w1, q1);
#else
            acc[t][0] = vpadalq_s16(acc[t][0], vmlal_high_s8(vmull_s8(vget_low_s8(w0), vget_low_s8(q0)), w0, q0));
            acc[t][1] = vpadalq_s16(acc[t][1], vmlal_high_s8(vmull_s8(vget_low_s8(w1), vget_low_s8(q1)), w1, q1));
#endif
        }
    }
    for (int t = 0; t < NT; t++) sums[t] = vaddvq_s32(vaddq_s32(acc[t][0], acc[t][1]));
}

/* Rows outside (a row stays in L1 for every token), tokens in groups of 4 inside. */
TK_ARM_TARGET void TK_ARM_NAME(const int8_t *w, const float *wscale, int64_t Kp, int64_t r0, int64_t r1,
                               const int8_t *q, const float *s, int64_t n, float *out, int64_t ldo) {
    int32_t sums[4];
    for (int64_t r = r0; r < r1; r++) {
        const int8_t *wr = w + r * Kp;
        for (int64_t t0 = 0; t0 < n; t0 += 4) {
            const int8_t *qt = q + t0 * Kp;
            const int nt = n - t0 < 4 ? (int)(n - t0) : 4;
            switch (nt) {
            case 1: i8_row(wr, qt, Kp, 1, t0 == 0, sums); break;
            case 2: i8_row(wr, qt, Kp, 2, t0 == 0, sums); break;
            case 3: i8_row(wr, qt, Kp, 3, t0 == 0, sums); break;
            default: i8_row(wr, qt, Kp, 4, t0 == 0, sums); break;
            }
            for (int t = 0; t < nt; t++) out[(t0 + t) * ldo + r] = (float)sums[t] * wscale[r] / s[t0 + t];
        }
    }
}
