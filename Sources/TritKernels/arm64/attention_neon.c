/* NEON attention over the F32/F16/Q8_0 caches: generic/attention.c's arithmetic (its scalar twin) with the
 * heavy parts in 4-float registers, equal bit for bit. The 16 lanes of a dot are four registers (lanes 0-3,
 * 4-7, 8-11, 12-15), one FMA per element; their tree is tk_att_tree16's: (a0 + a2, a1 + a3), the halves added,
 * then (0 + 2) + (1 + 3). O's rescale and its FMAs with the probabilities run over hdp in the twin's order of
 * positions; the per-position steps (maximum, exp, L's lanes) are the twin's scalar code. Keys and values
 * become f32 exactly (fcvtl; an int8 times an fp16 scale), as load_head does. */
#if defined(__aarch64__)
#pragma clang fp contract(off)
#include <math.h>
#include <string.h>
#include "simd_arm.h"
#include "../kernels_internal.h"

/* nt stored head vectors (row_bytes apart) as rows of hdp floats, zero padded. */
static void load_tile(int32_t type, const uint8_t *src, int64_t row_bytes, int64_t nt, int64_t hd, int64_t hdp,
                      float *dst) {
    for (int64_t t = 0; t < nt; t++) {
        const uint8_t *s = src + t * row_bytes;
        float *d = dst + t * hdp;
        int64_t i = 0;
        if (type == TK_KV_F32) {
            memcpy(d, s, (size_t)(4 * hd));
            i = hd;
        } else if (type == TK_KV_F16) {
            for (; i + 4 <= hd; i += 4) {
                uint16x4_t h;
                memcpy(&h, s + 2 * i, 8);
                vst1q_f32(d + i, vcvt_f32_f16(vreinterpret_f16_u16(h)));
            }
            for (; i < hd; i++) { uint16_t b; memcpy(&b, s + 2 * i, 2); d[i] = tk_f16_to_f32(b); }
        } else {
            for (int64_t b0 = 0; b0 < hd; b0 += 32, s += 34) {
                uint16_t dh;
                memcpy(&dh, s, 2);
                const float sc = tk_f16_to_f32(dh);
                const int64_t bl = hd - b0 < 32 ? hd - b0 : 32;
                int64_t e = 0;
                for (; e + 8 <= bl; e += 8) {
                    const int16x8_t w = vmovl_s8(vld1_s8((const int8_t *)s + 2 + e));
                    vst1q_f32(d + b0 + e, vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(w))), sc));
                    vst1q_f32(d + b0 + e + 4, vmulq_n_f32(vcvtq_f32_s32(vmovl_high_s16(w)), sc));
                }
                for (; e < bl; e++) d[b0 + e] = (float)(int8_t)s[2 + e] * sc;
            }
            i = hd;
        }
        for (; i < hdp; i++) d[i] = 0.0f;
    }
}

/* The twin's dot16: 16 lanes, lane l the elements ≡ l mod 16, then tk_att_tree16. */
static inline float dot16(const float *a, const float *b, int64_t hdp) {
    float32x4_t acc[4] = {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)};
    for (int64_t i = 0; i < hdp; i += 16)
        for (int j = 0; j < 4; j++) acc[j] = vfmaq_f32(acc[j], vld1q_f32(a + i + 4 * j), vld1q_f32(b + i + 4 * j));
    const float32x4_t s8lo = vaddq_f32(acc[0], acc[2]), s8hi = vaddq_f32(acc[1], acc[3]);
    const float32x4_t s4 = vaddq_f32(s8lo, s8hi);
    const float32x2_t s01 = vadd_f32(vget_low_f32(s4), vget_high_f32(s4));   /* s4[0] + s4[2], s4[1] + s4[3] */
    return vget_lane_f32(s01, 0) + vget_lane_f32(s01, 1);
}

void tk_attention_neon(const float *q, int64_t n_q, const uint8_t *k, const uint8_t *v, int64_t k_row_bytes,
                       int64_t v_row_bytes, int32_t k_type, int32_t v_type, int64_t j0, int64_t j1, int64_t hd,
                       float scale, float *scratch, float *out, float *partial) {
    const int64_t hdp = tk_att_hdp(hd);
    const tk_att_scratch a = tk_att_layout(scratch, n_q, hdp);
    tk_att_init(&a, q, n_q, hd, hdp);
    for (int64_t j = j0; j < j1; j += TK_ATT_TILE) {
        const int64_t nt = j1 - j < TK_ATT_TILE ? j1 - j : TK_ATT_TILE;
        load_tile(k_type, k + j * k_row_bytes, k_row_bytes, nt, hd, hdp, a.kt);
        for (int64_t m = 0; m < n_q; m++)
            for (int64_t t = 0; t < nt; t++) a.p[m * TK_ATT_TILE + t] = dot16(a.q + m * hdp, a.kt + t * hdp, hdp) * scale;
        tk_att_tile_rest_neon(&a, n_q, v + j * v_row_bytes, v_row_bytes, v_type, nt, hd, hdp);
    }
    tk_att_finish(&a, n_q, hd, hdp, out, partial);
}

/* The tile after its scores (a->p), as the twin's tk_att_tile_rest: the softmax update per head, then O's FMAs
 * with the probabilities over V's rows (vb: the tile's first row) in position order. */
void tk_att_tile_rest_neon(const tk_att_scratch *ap, int64_t n_q, const uint8_t *vb, int64_t v_row_bytes,
                           int32_t v_type, int64_t nt, int64_t hd, int64_t hdp) {
    const tk_att_scratch a = *ap;
    for (int64_t m = 0; m < n_q; m++) {
        float *p = a.p + m * TK_ATT_TILE, *o = a.o + m * hdp, *l = a.l + m * TK_ATT_LANES;
        float tmax = p[0];
        for (int64_t t = 1; t < nt; t++) tmax = p[t] > tmax ? p[t] : tmax;
        const float mnew = tmax > a.m[m] ? tmax : a.m[m];
        const float alpha = tk_att_exp(a.m[m] - mnew);
        a.m[m] = mnew;
        for (int i = 0; i < TK_ATT_LANES; i++) l[i] *= alpha;
        for (int64_t i = 0; i < hdp; i += 4) vst1q_f32(o + i, vmulq_n_f32(vld1q_f32(o + i), alpha));
        for (int64_t t = 0; t < nt; t++) { p[t] = tk_att_exp(p[t] - mnew); l[t % TK_ATT_LANES] += p[t]; }
    }
    load_tile(v_type, vb, v_row_bytes, nt, hd, hdp, a.vt);
    for (int64_t m = 0; m < n_q; m++) {
        const float *p = a.p + m * TK_ATT_TILE;
        float *o = a.o + m * hdp;
        for (int64_t i = 0; i < hdp; i += 8) {   /* each element's FMAs over the positions in order */
            float32x4_t o0 = vld1q_f32(o + i), o1 = vld1q_f32(o + i + 4);
            for (int64_t t = 0; t < nt; t++) {
                o0 = vfmaq_n_f32(o0, vld1q_f32(a.vt + t * hdp + i), p[t]);
                o1 = vfmaq_n_f32(o1, vld1q_f32(a.vt + t * hdp + i + 4), p[t]);
            }
            vst1q_f32(o + i, o0);
            vst1q_f32(o + i + 4, o1);
        }
    }
}
#endif
