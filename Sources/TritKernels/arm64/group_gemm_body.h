/* The group-scaled product's ARM body (docs/formats.md §8.7), included by group_gemm_neon.c (TK_ARM_DOT 0)
 * and group_gemm_dotprod.c (TK_ARM_DOT 1) with TK_ARM_TARGET and TK_ARM_NAME set.
 *
 * A tile's 64-byte chunk is four 16-byte vectors, vector v holding 4 codes of each of rows 4v..4v+3 in its
 * 4-byte lanes; one plane of it (a shift and a mask) against 4 activations in every lane is one dot product
 * for those rows, each i32 lane one row: sdot by lane (dotprod), or smlal / smlal2 into i16 lanes and a
 * pairwise add at the group's end (NEON; |c·q| ≤ 256, at most 32 products a lane a group). A pass takes half
 * a tile (8 rows, two vectors a chunk) so the accumulators of 4 tokens stay in registers. A group ends with
 * one conversion and one FMA per 4 rows in the scalar twin's order, and the output is acc / s: the same bits. */
#include <string.h>
#define PROMPT_TOKENS 4
#define PF_AHEAD 4096

/* 4 activations as one 32-bit lane value */
TK_ALWAYS_INLINE int32_t act4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* plane p of a vector: 2-bit codes (v >> 2p) & 3, or the 1-bit codes 2·((v >> p) & 1) */
TK_ALWAYS_INLINE TK_ARM_TARGET int8x16_t plane(uint8x16_t v, const int ONE_BIT, const int p) {
    if (ONE_BIT)
        return vreinterpretq_s8_u8(vandq_u8(p == 0 ? vshlq_n_u8(v, 1) : vshlq_u8(v, vdupq_n_s8((int8_t)(1 - p))),
                                            vdupq_n_u8(2)));
    return vreinterpretq_s8_u8(vandq_u8(p == 0 ? v : vshlq_u8(v, vdupq_n_s8((int8_t)(-2 * p))), vdupq_n_u8(3)));
}

/* 2-bit plane p kept in place (one op): (v & (3 << 2p)) is 4^p·code for p = 1, 2 (at most 32, a valid int8);
 * plane 3 is v >> 6. The chain of each factor is divided back exactly at the group's end. */
TK_ALWAYS_INLINE TK_ARM_TARGET int8x16_t plane_in_place(uint8x16_t v, const int p) {
    return vreinterpretq_s8_u8(p == 3 ? vshrq_n_u8(v, 6) : vandq_u8(v, vdupq_n_u8((uint8_t)(3 << (2 * p)))));
}

#if TK_ARM_DOT
/* sdot of the codes against lane `lane` (4 activations) of qv */
TK_ALWAYS_INLINE TK_ARM_TARGET int32x4_t dot_lane(int32x4_t acc, int8x16_t c, int8x16_t qv, const int lane) {
    return lane == 0 ? vdotq_laneq_s32(acc, c, qv, 0) : lane == 1 ? vdotq_laneq_s32(acc, c, qv, 1)
         : lane == 2 ? vdotq_laneq_s32(acc, c, qv, 2) : vdotq_laneq_s32(acc, c, qv, 3);
}
#endif

/* NT tokens × rows 8·half .. 8·half + 7 of one tile (nvalid of them written). */
TK_ALWAYS_INLINE TK_ARM_TARGET void half_tile(const uint8_t *tile, const int half, const int G, const int ONE_BIT,
                                               int64_t n_groups, const int8_t *q, int64_t Kp, const int32_t *nsum,
                                               const float *s, const int NT, float *out, int64_t ldo, int nvalid) {
    const int64_t tb = tk_group_tile_bytes(G, ONE_BIT);
    const int planes = ONE_BIT ? 8 : 4, chunks = ONE_BIT ? G / 32 : G / 16, step = ONE_BIT ? 32 : 16;
    float32x4_t f[PROMPT_TOKENS][2];
    for (int t = 0; t < NT; t++) f[t][0] = f[t][1] = vdupq_n_f32(0);
    for (int64_t g = 0; g < n_groups; g++) {
        const uint8_t *blk = tile + g * tb;
        if (half == 0)
            for (int64_t o = 0; o < tb; o += 64) __builtin_prefetch(blk + PF_AHEAD + o, 0, 3);
#if TK_ARM_DOT
        /* 2-bit codes for one or two tokens: planes kept in place, a chain a factor (1, 4, 16); more tokens
         * (their accumulators would not fit the registers) and 1-bit codes: plane(), one chain */
        const int IN_PLACE = !ONE_BIT && NT <= 2, CL = IN_PLACE ? 3 : 1;
        int32x4_t acc[PROMPT_TOKENS][2][3];
        for (int t = 0; t < NT; t++)
            for (int k = 0; k < CL; k++) acc[t][0][k] = acc[t][1][k] = vdupq_n_s32(0);
#else
        int16x8_t lo[PROMPT_TOKENS][2], hi[PROMPT_TOKENS][2];
        for (int t = 0; t < NT; t++) lo[t][0] = lo[t][1] = hi[t][0] = hi[t][1] = vdupq_n_s16(0);
#endif
        for (int c = 0; c < chunks; c++) {
            const uint8x16_t v0 = vld1q_u8(blk + 32 + 64 * c + 32 * half);
            const uint8x16_t v1 = vld1q_u8(blk + 48 + 64 * c + 32 * half);
#if TK_ARM_DOT
            int8x16_t qv[PROMPT_TOKENS][2];
            for (int t = 0; t < NT; t++)
                for (int k = 0; k < planes / 4; k++) qv[t][k] = vld1q_s8(q + t * Kp + g * G + step * c + 16 * k);
#endif
            for (int p = 0; p < planes; p++) {
#if TK_ARM_DOT
                const int8x16_t c0 = IN_PLACE ? plane_in_place(v0, p) : plane(v0, ONE_BIT, p);
                const int8x16_t c1 = IN_PLACE ? plane_in_place(v1, p) : plane(v1, ONE_BIT, p);
                const int k = IN_PLACE && (p == 1 || p == 2) ? p : 0;
#else
                const int8x16_t c0 = plane(v0, ONE_BIT, p), c1 = plane(v1, ONE_BIT, p);
#endif
                for (int t = 0; t < NT; t++) {
#if TK_ARM_DOT
                    acc[t][0][k] = dot_lane(acc[t][0][k], c0, qv[t][p / 4], p % 4);
                    acc[t][1][k] = dot_lane(acc[t][1][k], c1, qv[t][p / 4], p % 4);
#else
                    const int8x16_t a = vreinterpretq_s8_s32(vdupq_n_s32(act4(q + t * Kp + g * G + step * c + 4 * p)));
                    lo[t][0] = vmlal_s8(lo[t][0], vget_low_s8(c0), vget_low_s8(a));
                    hi[t][0] = vmlal_high_s8(hi[t][0], c0, a);
                    lo[t][1] = vmlal_s8(lo[t][1], vget_low_s8(c1), vget_low_s8(a));
                    hi[t][1] = vmlal_high_s8(hi[t][1], c1, a);
#endif
                }
            }
        }
        const float32x4_t d0 = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t *)(blk + 16 * half))));
        const float32x4_t d1 = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t *)(blk + 16 * half + 8))));
        for (int t = 0; t < NT; t++) {
            const int32x4_t ns = vdupq_n_s32(nsum[t * n_groups + g]);
#if TK_ARM_DOT
            int32x4_t i0 = vaddq_s32(acc[t][0][0], ns), i1 = vaddq_s32(acc[t][1][0], ns);
            if (IN_PLACE) {
                i0 = vaddq_s32(i0, vaddq_s32(vshrq_n_s32(acc[t][0][1], 2), vshrq_n_s32(acc[t][0][2], 4)));
                i1 = vaddq_s32(i1, vaddq_s32(vshrq_n_s32(acc[t][1][1], 2), vshrq_n_s32(acc[t][1][2], 4)));
            }
#else
            const int32x4_t i0 = vaddq_s32(vpaddlq_s16(vpaddq_s16(lo[t][0], hi[t][0])), ns);
            const int32x4_t i1 = vaddq_s32(vpaddlq_s16(vpaddq_s16(lo[t][1], hi[t][1])), ns);
#endif
            f[t][0] = vfmaq_f32(f[t][0], d0, vcvtq_f32_s32(i0));
            f[t][1] = vfmaq_f32(f[t][1], d1, vcvtq_f32_s32(i1));
        }
    }
    for (int t = 0; t < NT; t++) {
        float y[8];
        const float32x4_t st = vdupq_n_f32(s[t]);
        vst1q_f32(y, vdivq_f32(f[t][0], st));
        vst1q_f32(y + 4, vdivq_f32(f[t][1], st));
        memcpy(out + t * ldo, y, sizeof(float) * (size_t)nvalid);
    }
}

/* NT tokens × one tile of nvalid rows. */
TK_ALWAYS_INLINE TK_ARM_TARGET void tile16(const uint8_t *tile, const int G, const int ONE_BIT, int64_t n_groups,
                                            const int8_t *q, int64_t Kp, const int32_t *nsum, const float *s,
                                            const int NT, float *out, int64_t ldo, int nvalid) {
    half_tile(tile, 0, G, ONE_BIT, n_groups, q, Kp, nsum, s, NT, out, ldo, nvalid < 8 ? nvalid : 8);
    if (nvalid > 8) half_tile(tile, 1, G, ONE_BIT, n_groups, q, Kp, nsum, s, NT, out + 8, ldo, nvalid - 8);
}

/* Prompts PROMPT_TOKENS tokens a pass over the tiles, then the last 1-3 tokens of a batch in one pass. */
TK_ALWAYS_INLINE TK_ARM_TARGET void gemm(const uint8_t *tiles, const int G, const int ONE_BIT, int64_t n_groups,
                                          int64_t r0, int64_t r1, const int8_t *q, int64_t Kp, const int32_t *nsum,
                                          const float *s, int64_t n, float *out, int64_t ldo) {
    const int64_t tb = tk_group_tile_bytes(G, ONE_BIT);
    int64_t t0 = 0;
    for (; t0 + PROMPT_TOKENS <= n; t0 += PROMPT_TOKENS)
        for (int64_t r = r0; r < r1; r += 16)
            tile16(tiles + (r / 16) * n_groups * tb, G, ONE_BIT, n_groups, q + t0 * Kp, Kp, nsum + t0 * n_groups,
                   s + t0, PROMPT_TOKENS, out + t0 * ldo + r, ldo, r1 - r < 16 ? (int)(r1 - r) : 16);
    const int64_t rest = n - t0;
    for (int64_t r = r0; rest > 0 && r < r1; r += 16) {
        const uint8_t *tile = tiles + (r / 16) * n_groups * tb;
        const int nv = r1 - r < 16 ? (int)(r1 - r) : 16;
        const int8_t *qt = q + t0 * Kp;
        const int32_t *nt = nsum + t0 * n_groups;
        float *o = out + t0 * ldo + r;
        if (rest == 1) tile16(tile, G, ONE_BIT, n_groups, qt, Kp, nt, s + t0, 1, o, ldo, nv);
        else if (rest == 2) tile16(tile, G, ONE_BIT, n_groups, qt, Kp, nt, s + t0, 2, o, ldo, nv);
        else tile16(tile, G, ONE_BIT, n_groups, qt, Kp, nt, s + t0, 3, o, ldo, nv);
    }
}

TK_ARM_TARGET void TK_ARM_NAME(const uint8_t *tiles, int64_t group, int one_bit, int64_t n_groups, int64_t r0,
                               int64_t r1, const int8_t *q, int64_t Kp, const int32_t *nsum, const float *s, int64_t n,
                               float *out, int64_t ldo) {
    if (one_bit) gemm(tiles, 128, 1, n_groups, r0, r1, q, Kp, nsum, s, n, out, ldo);
    else if (group == 64) gemm(tiles, 64, 0, n_groups, r0, r1, q, Kp, nsum, s, n, out, ldo);
    else gemm(tiles, 128, 0, n_groups, r0, r1, q, Kp, nsum, s, n, out, ldo);
}
