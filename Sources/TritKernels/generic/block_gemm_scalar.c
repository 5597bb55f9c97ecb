/* ggml's block types read in place (the output head and the token embedding): the exact decoders and
 * the scalar twin of the block product (trit_kernels.h states the arithmetic; the vector forms give its bits). */
#include <math.h>
#include <string.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"

/* A weight is its code times the block's scales in these f32 steps; contracted into an FMA the
 * K types' "product minus min" would round once instead of twice and differ from the F32 copy. */
#pragma clang fp contract(off)

static float f16_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return tk_f16_to_f32(h);
}

void tk_block_dequant(const uint8_t *b, tk_dtype t, float *y) {
    switch (t) {
    case TK_Q4_0: {
        const float d = f16_at(b);
        for (int j = 0; j < 16; j++) {
            y[j] = (float)((b[2 + j] & 15) - 8) * d;
            y[j + 16] = (float)((b[2 + j] >> 4) - 8) * d;
        }
        break;
    }
    case TK_Q8_0: {
        const float d = f16_at(b);
        for (int j = 0; j < 32; j++) y[j] = d * (float)(int8_t)b[2 + j];
        break;
    }
    case TK_Q4_K:
    case TK_Q5_K: {
        const float d = f16_at(b), dmin = f16_at(b + 2);
        const uint8_t *qh = b + 16, *qs = b + (t == TK_Q5_K ? 48 : 16);
        for (int s = 0; s < 8; s++) {
            int sc, m;
            tk_k_scale_min(b + 4, s, &sc, &m);
            const float dl = d * (float)sc, ml = dmin * (float)m;
            const int c = s / 2, shift = (s & 1) * 4;
            for (int l = 0; l < 32; l++) {
                int q = (qs[32 * c + l] >> shift) & 15;
                if (t == TK_Q5_K) q += ((qh[l] >> s) & 1) << 4;
                y[32 * s + l] = dl * (float)q - ml;
            }
        }
        break;
    }
    case TK_Q6_K: {
        const float d = f16_at(b + 208);
        for (int a = 0; a < 2; a++)
            for (int j = 0; j < 4; j++)
                for (int l = 0; l < 32; l++) {
                    const uint8_t lo = b[64 * a + 32 * (j & 1) + l], hi = b[128 + 32 * a + l];
                    const int q = ((j >= 2 ? lo >> 4 : lo & 15) | (((hi >> (2 * j)) & 3) << 4)) - 32;
                    const float dl = d * (float)(int8_t)b[192 + 8 * a + 2 * j + l / 16];
                    y[128 * a + 32 * j + l] = dl * (float)q;
                }
        break;
    }
    default:
        break;
    }
}

void tk_block_rows_to_f32(const void *w, tk_dtype t, int64_t K, int64_t r0, int64_t r1, float *out) {
    const int64_t be = tk_dtype_block_elems(t), bb = tk_dtype_block_bytes(t), nb = K / be;
    for (int64_t r = r0; r < r1; r++)
        for (int64_t i = 0; i < nb; i++)
            tk_block_dequant((const uint8_t *)w + (r * nb + i) * bb, t, out + (r - r0) * K + i * be);
}

/* The 8 lanes summed as tk_hsum_ps does: ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)). */
float tk_sum8(const float *a) {
    const float s0 = a[0] + a[4], s1 = a[1] + a[5], s2 = a[2] + a[6], s3 = a[3] + a[7];
    return (s0 + s2) + (s1 + s3);
}

void tk_block_gemm_scalar(const void *w, tk_dtype t, int64_t K, int64_t r0, int64_t r1,
                          const float *x, int64_t ldx, int64_t n, float *out, int64_t ldo) {
    const int64_t be = tk_dtype_block_elems(t), bb = tk_dtype_block_bytes(t), nb = K / be;
    float wb[256];
    for (int64_t r = r0; r < r1; r++)
        for (int64_t tok = 0; tok < n; tok++) {
            const float *xt = x + tok * ldx;
            float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            for (int64_t i = 0; i < nb; i++) {
                tk_block_dequant((const uint8_t *)w + (r * nb + i) * bb, t, wb);
                for (int64_t k = 0; k < be; k++) acc[k & 7] = fmaf(wb[k], xt[i * be + k], acc[k & 7]);
            }
            out[tok * ldo + r] = tk_sum8(acc);
        }
}
