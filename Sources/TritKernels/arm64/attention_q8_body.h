/* The int8 attention over a Q8_0 key cache on ARM64 (generic/attention_q8.c is its twin, equal bit for bit):
 * each block's 32 int8 products summed in int32 (exact in any order) by smull + sadalp (NEON) or sdot
 * (dotprod), then the twin's float epilogue and tk_att_tile_rest_neon for the values. Included by
 * attention_q8_neon.c / attention_q8_dotprod.c with TK_ARM_DOT, TK_ARM_TARGET and TK_ARM_NAME set. */
#pragma clang fp contract(off)
#include <math.h>
#include <string.h>

/* Σ a[i]·b[i] over 32 int8 values. */
TK_ARM_TARGET static inline int32_t dot32(const int8_t *a, const int8_t *b) {
    const int8x16_t a0 = vld1q_s8(a), a1 = vld1q_s8(a + 16), b0 = vld1q_s8(b), b1 = vld1q_s8(b + 16);
#if TK_ARM_DOT
    const int32x4_t acc = vdotq_s32(vdotq_s32(vdupq_n_s32(0), a0, b0), a1, b1);
#else   /* int8 products fit int16 (≤ 127·128); pairs added into int32 */
    int32x4_t acc = vpaddlq_s16(vmull_s8(vget_low_s8(a0), vget_low_s8(b0)));
    acc = vpadalq_s16(acc, vmull_high_s8(a0, b0));
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a1), vget_low_s8(b1)));
    acc = vpadalq_s16(acc, vmull_high_s8(a1, b1));
#endif
    return vaddvq_s32(acc);
}

TK_ARM_TARGET void TK_ARM_NAME(const float *q, int64_t n_q, const uint8_t *k, const uint8_t *v, int64_t k_row_bytes,
                               int64_t v_row_bytes, int32_t k_type, int32_t v_type, int64_t j0, int64_t j1,
                               int64_t hd, float scale, float *scratch, float *out, float *partial) {
    if (k_type != TK_KV_Q8_0) {   /* as the twin */
        tk_attention_neon(q, n_q, k, v, k_row_bytes, v_row_bytes, k_type, v_type, j0, j1, hd, scale, scratch, out,
                          partial);
        return;
    }
    const int64_t hdp = tk_att_hdp(hd), nb = (hd + 31) / 32;
    const tk_att_scratch a = tk_att_layout(scratch, n_q, hdp);
    const tk_att_q8 s = tk_att_q8_layout(scratch, n_q, hd);
    tk_att_init(&a, q, n_q, hd, hdp);
    tk_att_q8_query(q, n_q, hd, &s);
    for (int64_t j = j0; j < j1; j += TK_ATT_TILE) {
        const int64_t nt = j1 - j < TK_ATT_TILE ? j1 - j : TK_ATT_TILE;
        const uint8_t *kb = k + j * k_row_bytes;
        for (int64_t t = 0; t < nt; t++)
            for (int64_t b = 0; b < nb; b++) {
                uint16_t dh;
                memcpy(&dh, kb + t * k_row_bytes + 34 * b, 2);
                s.dk[b * TK_ATT_TILE + t] = tk_f16_to_f32(dh);
            }
        for (int64_t m = 0; m < n_q; m++)
            for (int64_t t = 0; t < nt; t++) {
                float acc = 0.0f;
                for (int64_t b = 0; b < nb; b++) {
                    const int32_t isum = dot32((const int8_t *)(kb + t * k_row_bytes + 34 * b + 2), s.q + (m * nb + b) * 32);
                    acc = fmaf((float)isum, s.dk[b * TK_ATT_TILE + t] * s.d[m * nb + b], acc);
                }
                a.p[m * TK_ATT_TILE + t] = acc * scale;
            }
        tk_att_tile_rest_neon(&a, n_q, v + j * v_row_bytes, v_row_bytes, v_type, nt, hd, hdp);
    }
    tk_att_finish(&a, n_q, hd, hdp, out, partial);
}
