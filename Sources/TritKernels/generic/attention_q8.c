/* The opt-in int8 attention over a Q8_0 key cache (the scalar twin, which defines the arithmetic its
 * variants repeat bit for bit). As llama.cpp's vec_dot_q8_0_q8_0 for a Q8_0 K cache: the query is
 * quantized per 32-value block along the head (tk_att_q8_query) and a score is
 *     scale · Σ_b (dk_b · dq_b) · Σ_i k_i·q_i     (the inner sums in int32: exact, any order),
 * the block terms accumulated by fmaf in block order from +0 (the float epilogue every variant repeats).
 * The values side is generic/attention.c's unchanged (V read as exact f32, probabilities in f32), as
 * llama.cpp's CPU flash attention converts V to float. */
#pragma clang fp contract(off)
#include <math.h>
#include <string.h>
#include "trit_kernels.h"
#include "../kernels_internal.h"

void tk_att_q8_query(const float *q, int64_t n_q, int64_t hd, const tk_att_q8 *s) {
    const int64_t nb = (hd + 31) / 32;
    for (int64_t m = 0; m < n_q; m++) {
        for (int64_t b = 0; b < nb; b++) {
            const float *x = q + m * hd + 32 * b;
            const int64_t bl = hd - 32 * b < 32 ? hd - 32 * b : 32;
            float amax = 0.0f;
            for (int64_t i = 0; i < bl; i++) { const float a = fabsf(x[i]); amax = a > amax ? a : amax; }
            const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
            int8_t *o = s->q + (m * nb + b) * 32;
            int32_t sum = 0;
            for (int64_t i = 0; i < 32; i++) {
                const float v = i < bl ? roundf(x[i] * id) : 0.0f;   /* |v| ≤ 127 (NaN: 0) */
                o[i] = (int8_t)(v > 127.0f ? 127 : v < -127.0f ? -127 : v == v ? (int)v : 0);
                sum += o[i];
            }
            s->d[m * nb + b] = d;
            s->qs[m * nb + b] = sum;
        }
    }
}

void tk_attention_q8_scalar(const float *q, int64_t n_q, const uint8_t *k, const uint8_t *v, int64_t k_row_bytes,
                            int64_t v_row_bytes, int32_t k_type, int32_t v_type, int64_t j0, int64_t j1, int64_t hd,
                            float scale, float *scratch, float *out, float *partial) {
    if (k_type != TK_KV_Q8_0) {   /* the callers refuse this; the float form is the safe answer */
        tk_attention_scalar(q, n_q, k, v, k_row_bytes, v_row_bytes, k_type, v_type, j0, j1, hd, scale, scratch, out,
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
                    const int8_t *kq = (const int8_t *)(kb + t * k_row_bytes + 34 * b + 2), *qq = s.q + (m * nb + b) * 32;
                    int32_t isum = 0;
                    for (int i = 0; i < 32; i++) isum += (int32_t)kq[i] * (int32_t)qq[i];
                    acc = fmaf((float)isum, s.dk[b * TK_ATT_TILE + t] * s.d[m * nb + b], acc);
                }
                a.p[m * TK_ATT_TILE + t] = acc * scale;
            }
        tk_att_tile_rest(&a, n_q, v, v_row_bytes, v_type, j, nt, hd, hdp);
    }
    tk_att_finish(&a, n_q, hd, hdp, out, partial);
}
