/* The certified head's selection steps in NEON (docs/formats.md §7): the same bits as the scalar forms in
 * generic/head_select.c. The bound is the same f32 operations in the same order (no FMA); the k-th largest and
 * the collection skip 4 values at a time that cannot qualify and take the others in order with the scalar test;
 * the row constants are the scalar arithmetic 4 columns at a time (max and integer sums are exact; each
 * |W − c·q| is one FMA, as fmaf). */
#if defined(__aarch64__)
#include <float.h>
#include <math.h>
#include "simd_arm.h"
#include "../kernels_internal.h"

#pragma STDC FP_CONTRACT OFF

int64_t tk_head_bounds_neon(const float *l, const float *a, const float *b, float norm, float eps, float rel,
                            int64_t n, float *lo, float *hi) {
    const float32x4_t inf = vdupq_n_f32(INFINITY);
    uint32x4_t bad = vdupq_n_u32(0);
    int64_t r = 0;
    for (; r + 4 <= n; r += 4) {
        const float32x4_t v = vld1q_f32(l + r), av = vabsq_f32(v);
        bad = vsubq_u32(bad, vmvnq_u32(vcltq_f32(av, inf)));   /* not finite: |v| not < inf (NaN too) */
        float32x4_t e = vmulq_n_f32(vld1q_f32(a + r), norm);
        e = vaddq_f32(e, vmulq_n_f32(vld1q_f32(b + r), eps));
        e = vaddq_f32(e, vmulq_f32(vdupq_n_f32(rel), av));
        e = vaddq_f32(e, vdupq_n_f32(TK_HEAD_ABS));
        vst1q_f32(lo + r, vsubq_f32(v, e));
        vst1q_f32(hi + r, vaddq_f32(v, e));
    }
    int64_t nbad = vaddvq_u32(bad);
    if (r < n) nbad += tk_head_bounds_scalar(l + r, a + r, b + r, norm, eps, rel, n - r, lo + r, hi + r);
    return nbad;
}

float tk_kth_largest_neon(const float *v, int64_t n, int64_t k, float *top) {
    for (int64_t i = 0; i < k; i++) top[i] = -INFINITY;
    float kth = -INFINITY;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        if (vmaxvq_u32(vcgtq_f32(vld1q_f32(v + i), vdupq_n_f32(kth))) == 0) continue;
        for (int j = 0; j < 4; j++)
            if (v[i + j] > kth) kth = tk_kth_insert(top, k, v[i + j]);
    }
    for (; i < n; i++)
        if (v[i] > kth) kth = tk_kth_insert(top, k, v[i]);
    return n >= k ? kth : -INFINITY;
}

int64_t tk_collect_at_least_neon(const float *v, int64_t n, float t, int32_t *idx) {
    const float32x4_t vt = vdupq_n_f32(t);
    int64_t c = 0, r = 0;
    for (; r + 4 <= n; r += 4) {
        if (vmaxvq_u32(vcgeq_f32(vld1q_f32(v + r), vt)) == 0) continue;
        for (int j = 0; j < 4; j++)
            if (v[r + j] >= t) idx[c++] = (int32_t)(r + j);
    }
    for (; r < n; r++)
        if (v[r] >= t) idx[c++] = (int32_t)r;
    return c;
}

/* Elements i..i+3 of a dense matrix as f32 (exact conversions). */
static inline float32x4_t dense4(const void *w, tk_dtype dtype, int64_t i) {
    if (dtype == TK_F16) return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t *)w + i)));
    if (dtype == TK_BF16) return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16((const uint16_t *)w + i), 16));
    return vld1q_f32((const float *)w + i);
}

void tk_head_row_bounds_neon(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1, const int8_t *q,
                             int64_t Kp, const float *scale, float *a, float *b) {
    const float32x4_t fmax = vdupq_n_f32(FLT_MAX);
    const int64_t K8 = K / 8 * 8;
    for (int64_t r = r0; r < r1; r++) {
        const int8_t *qr = q + r * Kp;
        const float sc = scale[r];
        const float32x4_t nsc = vdupq_n_f32(-sc);
        float32x4_t ev = vdupq_n_f32(0), mv = vdupq_n_f32(0);
        uint32x4_t badv = vdupq_n_u32(0);
        int32x4_t lv = vdupq_n_s32(0);
        for (int64_t k = 0; k < K8; k += 8) {
            const int16x8_t q16 = vmovl_s8(vld1_s8(qr + k));
            const float32x4_t qf[2] = {vcvtq_f32_s32(vmovl_s16(vget_low_s16(q16))),
                                       vcvtq_f32_s32(vmovl_high_s16(q16))};
            for (int h = 0; h < 2; h++) {
                const float32x4_t x = dense4(w, dtype, r * K + k + 4 * h);
                const float32x4_t d = vabsq_f32(vfmaq_f32(x, nsc, qf[h])), ax = vabsq_f32(x);
                /* not finite: not <= FLT_MAX (NaN compares false) */
                badv = vorrq_u32(badv, vmvnq_u32(vcleq_f32(d, fmax)));
                badv = vorrq_u32(badv, vmvnq_u32(vcleq_f32(ax, fmax)));
                ev = vmaxnmq_f32(ev, d);
                mv = vmaxnmq_f32(mv, ax);
            }
            lv = vpadalq_s16(lv, vabsq_s16(q16));
        }
        tk_head_row_rest(w, dtype, K, r, K8, qr, sc, vmaxnmvq_f32(ev), vmaxnmvq_f32(mv), vaddvq_s32(lv),
                         vmaxvq_u32(badv) != 0, &a[r], &b[r]);
    }
}
#endif
