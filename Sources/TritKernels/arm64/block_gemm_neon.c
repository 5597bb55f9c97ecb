/* NEON block product: the output head (or tied embedding) in ggml's blocks (Q4_0, Q8_0, Q4_K, Q5_K, Q6_K), read
 * in place. Each block is decoded whole (128-bit integer steps) to int8 codes and the f32 scale (and min) of each
 * 16 weights; 8 at a time they become their exact f32 values (trit_kernels.h) and go into one FMA chain per
 * (row, token), 8 lanes as two vectors (k..k+3, k+4..k+7), k in order, then tk_sum8_f32: the scalar twin's
 * bits (as the AVX2 form), and the NEON dense kernel's on a load-time F32 copy.
 * One token (decode): 4 rows at once (4 chains), the 4 rows' contiguous span prefetched ahead.
 * Several tokens: a row at a time, each block decoded once for up to 4 tokens.
 * One form for the three ARM tables: the work is f32 FMAs, which dotprod and i8mm do not change. */
#if defined(__aarch64__)
#include <string.h>
#include "simd_arm.h"
#include "../kernels_internal.h"

/* dl·code − ml stays a product then a difference (two roundings), never an FMA, as in the twin. */
#pragma clang fp contract(off)

#define BLOCK_ROWS1 4

static inline float f16_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return tk_f16_to_f32(h);
}

/* 16 bytes of 5-bit codes: the nibbles v plus bit `bit` of h moved to bit 4 (Q5_K). */
TK_ALWAYS_INLINE uint8x16_t with_bit(uint8x16_t v, uint8x16_t h, int bit) {
    return vorrq_u8(v, vandq_u8(vshlq_u8(h, vdupq_n_s8((int8_t)(4 - bit))), vdupq_n_u8(16)));
}

/* A whole block's weights as int8 codes and the f32 scale (and min) of each 16: weight k = dl[k/16]·code[k]
 * (− ml[k/16]), the same f32 steps as the twin. Returns the codes: q, or the block's own bytes (Q8_0). */
TK_ALWAYS_INLINE const int8_t *block_decode(const uint8_t *b, const tk_dtype T, int8_t *q, float *dl, float *ml) {
    const uint8x16_t m4 = vdupq_n_u8(15);
    switch (T) {
    case TK_Q8_0:
        dl[0] = dl[1] = f16_at(b);
        return (const int8_t *)(b + 2);
    case TK_Q4_0: {
        const uint8x16_t v = vld1q_u8(b + 2);
        const int8x16_t e = vdupq_n_s8(8);
        vst1q_s8(q, vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v, m4)), e));
        vst1q_s8(q + 16, vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v, 4)), e));
        dl[0] = dl[1] = f16_at(b);
        return q;
    }
    case TK_Q4_K:
    case TK_Q5_K: {
        const uint8_t *qs = b + (T == TK_Q5_K ? 48 : 16);
        uint8x16_t h[2] = {vdupq_n_u8(0), vdupq_n_u8(0)};
        if (T == TK_Q5_K) {
            h[0] = vld1q_u8(b + 16);
            h[1] = vld1q_u8(b + 32);
        }
        for (int c = 0; c < 4; c++)   /* sub-blocks 2c (low nibbles) and 2c + 1 (high) of bytes qs[32c .. 32c+32) */
            for (int half = 0; half < 2; half++) {
                const uint8x16_t v = vld1q_u8(qs + 32 * c + 16 * half);
                uint8x16_t lo = vandq_u8(v, m4), hi = vshrq_n_u8(v, 4);
                if (T == TK_Q5_K) {
                    lo = with_bit(lo, h[half], 2 * c);
                    hi = with_bit(hi, h[half], 2 * c + 1);
                }
                vst1q_s8(q + 64 * c + 16 * half, vreinterpretq_s8_u8(lo));
                vst1q_s8(q + 64 * c + 32 + 16 * half, vreinterpretq_s8_u8(hi));
            }
        const float d = f16_at(b), dmin = f16_at(b + 2);
        for (int s = 0; s < 8; s++) {
            int sc, mn;
            tk_k_scale_min(b + 4, s, &sc, &mn);
            dl[2 * s] = dl[2 * s + 1] = d * (float)sc;
            ml[2 * s] = ml[2 * s + 1] = dmin * (float)mn;
        }
        return q;
    }
    case TK_Q6_K: {
        const int8x16_t off = vdupq_n_s8(32);
        for (int a = 0; a < 2; a++)
            for (int half = 0; half < 2; half++) {
                /* j = 0..3: weights 128a + 32j + 16half + l; high 2 bits = bits 2j, 2j + 1 of qh, at bits 4, 5 */
                const uint8x16_t l0 = vld1q_u8(b + 64 * a + 16 * half), l1 = vld1q_u8(b + 64 * a + 32 + 16 * half);
                const uint8x16_t h = vld1q_u8(b + 128 + 32 * a + 16 * half);
                const uint8x16_t q0 = vorrq_u8(vandq_u8(l0, m4), vshlq_n_u8(vandq_u8(h, vdupq_n_u8(3)), 4));
                const uint8x16_t q1 = vorrq_u8(vandq_u8(l1, m4), vshlq_n_u8(vandq_u8(h, vdupq_n_u8(12)), 2));
                const uint8x16_t q2 = vorrq_u8(vshrq_n_u8(l0, 4), vandq_u8(h, vdupq_n_u8(48)));
                const uint8x16_t q3 = vorrq_u8(vshrq_n_u8(l1, 4), vshrq_n_u8(vandq_u8(h, vdupq_n_u8(192)), 2));
                int8_t *o = q + 128 * a + 16 * half;
                vst1q_s8(o, vsubq_s8(vreinterpretq_s8_u8(q0), off));
                vst1q_s8(o + 32, vsubq_s8(vreinterpretq_s8_u8(q1), off));
                vst1q_s8(o + 64, vsubq_s8(vreinterpretq_s8_u8(q2), off));
                vst1q_s8(o + 96, vsubq_s8(vreinterpretq_s8_u8(q3), off));
            }
        const float32x4_t d = vdupq_n_f32(f16_at(b + 208));
        const int8x16_t sc = vld1q_s8((const int8_t *)(b + 192));
        const int16x8_t s0 = vmovl_s8(vget_low_s8(sc)), s1 = vmovl_high_s8(sc);
        vst1q_f32(dl, vmulq_f32(d, vcvtq_f32_s32(vmovl_s16(vget_low_s16(s0)))));
        vst1q_f32(dl + 4, vmulq_f32(d, vcvtq_f32_s32(vmovl_high_s16(s0))));
        vst1q_f32(dl + 8, vmulq_f32(d, vcvtq_f32_s32(vmovl_s16(vget_low_s16(s1)))));
        vst1q_f32(dl + 12, vmulq_f32(d, vcvtq_f32_s32(vmovl_high_s16(s1))));
        return q;
    }
    default:
        return q;
    }
}

/* Weights k .. k+7 of a decoded block (k a multiple of 8, so one scale): dl·code (− ml), the twin's f32 steps. */
TK_ALWAYS_INLINE void block_w8(const int8_t *q, const float *dl, const float *ml, int k, int has_min,
                               float32x4_t *w0, float32x4_t *w1) {
    const int16x8_t c = vmovl_s8(vld1_s8(q + k));
    const float32x4_t s = vdupq_n_f32(dl[k >> 4]);
    *w0 = vmulq_f32(s, vcvtq_f32_s32(vmovl_s16(vget_low_s16(c))));
    *w1 = vmulq_f32(s, vcvtq_f32_s32(vmovl_high_s16(c)));
    if (has_min) {
        const float32x4_t m = vdupq_n_f32(ml[k >> 4]);
        *w0 = vsubq_f32(*w0, m);
        *w1 = vsubq_f32(*w1, m);
    }
}

/* One token: rows [r0, r1), BLOCK_ROWS1 at a time (each row's block decoded whole into codes and scales, then
 * the rows' chains advanced 8 weights at a time), then single rows (the certified head's exact rows) with
 * the same chain. */
TK_ALWAYS_INLINE void block_one(const uint8_t *w, const tk_dtype T, int64_t K, int64_t r0, int64_t r1,
                                const float *x, float *out) {
    const int64_t BE = tk_dtype_block_elems(T), BB = tk_dtype_block_bytes(T), nb = K / BE, rb = nb * BB;
    const int has_min = T == TK_Q4_K || T == TK_Q5_K;
    int64_t r = r0;
    for (; r + BLOCK_ROWS1 <= r1; r += BLOCK_ROWS1) {
        const uint8_t *span = w + r * rb;
        const int64_t dist = BLOCK_ROWS1 * rb > TK_ARM_PF_DIST ? BLOCK_ROWS1 * rb : TK_ARM_PF_DIST;
        float32x4_t lo[BLOCK_ROWS1], hi[BLOCK_ROWS1];
        for (int i = 0; i < BLOCK_ROWS1; i++) lo[i] = hi[i] = vdupq_n_f32(0);
        for (int64_t blk = 0; blk < nb; blk++) {
            /* the span's bytes ahead, at the rate the 4 rows are read */
            for (int64_t o = BLOCK_ROWS1 * blk * BB; o < BLOCK_ROWS1 * (blk + 1) * BB; o += 64)
                __builtin_prefetch(span + dist + o, 0, 2);
            _Alignas(16) int8_t qb[BLOCK_ROWS1][256];
            float dl[BLOCK_ROWS1][16], ml[BLOCK_ROWS1][16];
            const int8_t *q[BLOCK_ROWS1];
            for (int i = 0; i < BLOCK_ROWS1; i++) q[i] = block_decode(span + i * rb + blk * BB, T, qb[i], dl[i], ml[i]);
            const float *xb = x + blk * BE;
            for (int k = 0; k < BE; k += 8) {
                const float32x4_t x0 = vld1q_f32(xb + k), x1 = vld1q_f32(xb + k + 4);
                for (int i = 0; i < BLOCK_ROWS1; i++) {
                    float32x4_t w0, w1;
                    block_w8(q[i], dl[i], ml[i], k, has_min, &w0, &w1);
                    lo[i] = vfmaq_f32(lo[i], w0, x0);
                    hi[i] = vfmaq_f32(hi[i], w1, x1);
                }
            }
        }
        for (int i = 0; i < BLOCK_ROWS1; i++) out[r + i] = tk_sum8_f32(lo[i], hi[i]);
    }
    for (; r < r1; r++) {
        float32x4_t lo = vdupq_n_f32(0), hi = vdupq_n_f32(0);
        for (int64_t blk = 0; blk < nb; blk++) {
            _Alignas(16) int8_t qb[256];
            float dl[16], ml[16];
            const int8_t *q = block_decode(w + r * rb + blk * BB, T, qb, dl, ml);
            for (int k = 0; k < BE; k += 8) {
                float32x4_t w0, w1;
                block_w8(q, dl, ml, k, has_min, &w0, &w1);
                lo = vfmaq_f32(lo, w0, vld1q_f32(x + blk * BE + k));
                hi = vfmaq_f32(hi, w1, vld1q_f32(x + blk * BE + k + 4));
            }
        }
        out[r] = tk_sum8_f32(lo, hi);
    }
}

/* Row r × NT tokens from x (stride ldx) into out (stride ldo), each block decoded once for NT tokens. */
TK_ALWAYS_INLINE void block_row_tokens(const uint8_t *w, const tk_dtype T, int64_t K, int64_t r, const float *x,
                                       int64_t ldx, const int NT, float *out, int64_t ldo) {
    const int64_t BE = tk_dtype_block_elems(T), BB = tk_dtype_block_bytes(T), nb = K / BE;
    const int has_min = T == TK_Q4_K || T == TK_Q5_K;
    float32x4_t lo[4], hi[4];
    for (int t = 0; t < NT; t++) lo[t] = hi[t] = vdupq_n_f32(0);
    for (int64_t blk = 0; blk < nb; blk++) {
        _Alignas(16) int8_t qb[256];
        float dl[16], ml[16];
        const int8_t *q = block_decode(w + (r * nb + blk) * BB, T, qb, dl, ml);
        for (int k = 0; k < BE; k += 8) {
            float32x4_t w0, w1;
            block_w8(q, dl, ml, k, has_min, &w0, &w1);
            for (int t = 0; t < NT; t++) {
                const float *xt = x + t * ldx + blk * BE + k;
                lo[t] = vfmaq_f32(lo[t], w0, vld1q_f32(xt));
                hi[t] = vfmaq_f32(hi[t], w1, vld1q_f32(xt + 4));
            }
        }
    }
    for (int t = 0; t < NT; t++) out[t * ldo + r] = tk_sum8_f32(lo[t], hi[t]);
}

TK_ALWAYS_INLINE void block_multi(const uint8_t *w, const tk_dtype T, int64_t K, int64_t r0, int64_t r1,
                                  const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo) {
    for (int64_t r = r0; r < r1; r++)
        for (int64_t t0 = 0; t0 < n; t0 += 4) {
            const float *xt = x + t0 * ldx;
            float *ot = out + t0 * ldo;
            switch (n - t0 < 4 ? n - t0 : 4) {
            case 1: block_row_tokens(w, T, K, r, xt, ldx, 1, ot, ldo); break;
            case 2: block_row_tokens(w, T, K, r, xt, ldx, 2, ot, ldo); break;
            case 3: block_row_tokens(w, T, K, r, xt, ldx, 3, ot, ldo); break;
            default: block_row_tokens(w, T, K, r, xt, ldx, 4, ot, ldo); break;
            }
        }
}

/* One instantiation per type, so the inner loops have no type switch. */
#define BLOCK_TYPE(NAME, T)                                                                                \
static void NAME(const uint8_t *w, int64_t K, int64_t r0, int64_t r1, const float *x, int64_t ldx, int64_t n, \
                 float *out, int64_t ldo) {                                                                \
    if (n == 1) block_one(w, T, K, r0, r1, x, out);                                                        \
    else block_multi(w, T, K, r0, r1, x, ldx, n, out, ldo);                                                \
}
BLOCK_TYPE(block_q4_0, TK_Q4_0)
BLOCK_TYPE(block_q8_0, TK_Q8_0)
BLOCK_TYPE(block_q4_k, TK_Q4_K)
BLOCK_TYPE(block_q5_k, TK_Q5_K)
BLOCK_TYPE(block_q6_k, TK_Q6_K)

void tk_block_gemm_neon(const void *w, tk_dtype t, int64_t K, int64_t r0, int64_t r1,
                        const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo) {
    const uint8_t *b = w;
    switch (t) {
    case TK_Q4_0: block_q4_0(b, K, r0, r1, x, ldx, n, out, ldo); break;
    case TK_Q8_0: block_q8_0(b, K, r0, r1, x, ldx, n, out, ldo); break;
    case TK_Q4_K: block_q4_k(b, K, r0, r1, x, ldx, n, out, ldo); break;
    case TK_Q5_K: block_q5_k(b, K, r0, r1, x, ldx, n, out, ldo); break;
    case TK_Q6_K: block_q6_k(b, K, r0, r1, x, ldx, n, out, ldo); break;
    default: tk_block_gemm_scalar(w, t, K, r0, r1, x, ldx, n, out, ldo); break;
    }
}
#endif
