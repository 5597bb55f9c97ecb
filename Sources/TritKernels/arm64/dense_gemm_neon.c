/* NEON dense product (f32 activations × F32/F16/BF16 weights, f32 sums): the output head, the embedding as
 * head, the FP16 baseline's linears. Every (row, token) is the same two FMA chains (weights k..k+3 and
 * k+4..k+7 over k in steps of 8), the 8 lanes summed in the order of the block twin and AVX2 (tk_sum8_f32: the
 * NEON block head is this kernel on an F32 copy, bit for bit), then the scalar tail in order, whatever the tile:
 * a row's value does not depend on the rows computed with it (the certified head recomputes single rows) nor a
 * token's on its batch (the engine's batch invariance, bit for bit). Against the
 * scalar twin it agrees within the dense tolerance (another summation order), as the x86 forms do.
 * F16 → f32 is fcvtl and BF16 → f32 a 16-bit left shift (both exact, baseline ARMv8-A).
 * Tiles: one token (decode) 4 rows (8 chains hide the FMA latency); several tokens 2 rows × 4 tokens, each
 * weight vector converted once for 4 tokens. */
#if defined(__aarch64__)
#include "simd_arm.h"
#include "../kernels_internal.h"

/* Weights i..i+3 of w as f32. */
TK_ALWAYS_INLINE float32x4_t dense4(const void *w, const tk_dtype DT, int64_t i) {
    if (DT == TK_F16) return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t *)w + i)));
    if (DT == TK_BF16) return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16((const uint16_t *)w + i), 16));
    return vld1q_f32((const float *)w + i);
}

/* The end of one (row, token) sum: the chains, the lanes, the tail [K8, K) in order. */
TK_ALWAYS_INLINE float dense_end(float32x4_t lo, float32x4_t hi, const void *w, tk_dtype DT, int64_t wi,
                                 const float *x, int64_t K8, int64_t K) {
    float sum = tk_sum8_f32(lo, hi);
    for (int64_t k = K8; k < K; k++) sum += tk_dense_element(w, DT, wi + k) * x[k];
    return sum;
}

/* Rows r..r+NR−1 × tokens [0, NT) of x into out (NR · NT ≤ 8 pairs of chains). */
TK_ALWAYS_INLINE void dense_tile(const void *w, const tk_dtype DT, int64_t K, int64_t r, const int NR,
                                 const float *x, int64_t ldx, const int NT, int prefetch, float *out, int64_t ldo) {
    const int64_t K8 = K / 8 * 8, esz = DT == TK_F32 ? 4 : 2;
    float32x4_t lo[4][4], hi[4][4];
    for (int i = 0; i < NR; i++)
        for (int t = 0; t < NT; t++) lo[i][t] = hi[i][t] = vdupq_n_f32(0);
    for (int64_t k = 0; k < K8; k += 8) {
        if (prefetch && (k * esz & 63) == 0)
            for (int i = 0; i < NR; i++)
                __builtin_prefetch((const char *)w + ((r + i) * K + k) * esz + TK_ARM_PF_DIST, 0, 2);
        float32x4_t w0[4], w1[4];
        for (int i = 0; i < NR; i++) {
            w0[i] = dense4(w, DT, (r + i) * K + k);
            w1[i] = dense4(w, DT, (r + i) * K + k + 4);
        }
        for (int t = 0; t < NT; t++) {
            const float32x4_t x0 = vld1q_f32(x + t * ldx + k), x1 = vld1q_f32(x + t * ldx + k + 4);
            for (int i = 0; i < NR; i++) {
                lo[i][t] = vfmaq_f32(lo[i][t], w0[i], x0);
                hi[i][t] = vfmaq_f32(hi[i][t], w1[i], x1);
            }
        }
    }
    for (int i = 0; i < NR; i++)
        for (int t = 0; t < NT; t++)
            out[t * ldo + r + i] = dense_end(lo[i][t], hi[i][t], w, DT, (r + i) * K, x + t * ldx, K8, K);
}

TK_ALWAYS_INLINE void dense(const void *w, const tk_dtype DT, int64_t K, int64_t r0, int64_t r1, const float *x,
                            int64_t ldx, int64_t n, float *out, int64_t ldo) {
    if (n == 1) {
        int64_t r = r0;
        for (; r + 4 <= r1; r += 4) dense_tile(w, DT, K, r, 4, x, ldx, 1, 1, out, ldo);
        for (; r < r1; r++) dense_tile(w, DT, K, r, 1, x, ldx, 1, 0, out, ldo);
        return;
    }
    /* token groups of 4 outside, row pairs inside (the group's activations stay in cache as the rows pass) */
    for (int64_t t0 = 0; t0 < n; t0 += 4) {
        const float *xt = x + t0 * ldx;
        float *ot = out + t0 * ldo;
        const int nt = n - t0 < 4 ? (int)(n - t0) : 4, pf = t0 == 0;
        for (int64_t r = r0; r < r1; r += 2) {
            const int nr = r + 1 < r1 ? 2 : 1;
#define DENSE_CASE(NR, NT) dense_tile(w, DT, K, r, NR, xt, ldx, NT, pf, ot, ldo)
            if (nr == 2) {
                if (nt == 4) DENSE_CASE(2, 4); else if (nt == 3) DENSE_CASE(2, 3);
                else if (nt == 2) DENSE_CASE(2, 2); else DENSE_CASE(2, 1);
            } else {
                if (nt == 4) DENSE_CASE(1, 4); else if (nt == 3) DENSE_CASE(1, 3);
                else if (nt == 2) DENSE_CASE(1, 2); else DENSE_CASE(1, 1);
            }
#undef DENSE_CASE
        }
    }
}

void tk_dense_gemm_neon(const void *w, tk_dtype dtype, int64_t K, int64_t r0, int64_t r1, const float *x,
                        int64_t ldx, int64_t n, float *out, int64_t ldo) {
    if (dtype == TK_F16) dense(w, TK_F16, K, r0, r1, x, ldx, n, out, ldo);
    else if (dtype == TK_BF16) dense(w, TK_BF16, K, r0, r1, x, ldx, n, out, ldo);
    else dense(w, TK_F32, K, r0, r1, x, ldx, n, out, ldo);
}
#endif
